//! What the first-load shell hands the room module (`handoff.rs`): the
//! JSON that crosses between the two wasm modules, the pre-join token kept
//! for a reload, and where `index.html` says the room module is.

use quorum_client::handoff::{
    forget_prejoin, prejoin_token, remember_prejoin, room_module_url, Handoff, Joined,
};
use quorum_client::join::JoinToken;
use quorum_client::state::media::MediaChoices;
use wasm_bindgen_test::*;

use super::session::offline_session;

#[wasm_bindgen_test]
fn a_handoff_crosses_as_json_whole() {
    let session = offline_session();
    let choices = MediaChoices {
        microphone_id: Some("mic-2".into()),
        camera_id: None,
        microphone: true,
        camera: false,
    };
    let sent = Handoff {
        token: Some(session.token.expose().to_owned()),
        joined: Some(Joined {
            join: session.join.clone(),
            choices: Some(choices.clone()),
        }),
    };
    let got = Handoff::from_json(&sent.to_json());
    assert_eq!(got, sent);
    assert_eq!(got.session().as_ref(), Some(&*session));
    assert_eq!(got.joined.and_then(|j| j.choices), Some(choices));
}

#[wasm_bindgen_test]
fn a_handoff_without_join_carries_only_the_links_token() {
    let got = Handoff::from_json(r#"{"token":"abc","joined":null}"#);
    assert_eq!(got.join_token(), JoinToken::new("abc"));
    assert_eq!(got.session(), None, "nothing verified: the room verifies");
    // A blank token is no token.
    assert_eq!(
        Handoff::from_json(r#"{"token":"  ","joined":null}"#).join_token(),
        None
    );
}

#[wasm_bindgen_test]
fn a_garbled_handoff_keeps_nothing() {
    for text in ["", "not json", r#"{"token":5}"#, r#"{"joined":{"join":1}}"#] {
        assert_eq!(Handoff::from_json(text), Handoff::default(), "{text:?}");
    }
}

#[wasm_bindgen_test]
fn the_prejoin_token_is_kept_until_the_room_has_it() {
    forget_prejoin();
    assert_eq!(prejoin_token(), None);
    let token = JoinToken::new("eyJ.pre.join").unwrap();
    remember_prejoin(&token);
    assert_eq!(prejoin_token(), Some(token));
    forget_prejoin();
    assert_eq!(prejoin_token(), None);
}

#[wasm_bindgen_test]
fn the_room_module_is_found_where_index_html_names_it() {
    let doc = web_sys::window().unwrap().document().unwrap();
    assert_eq!(room_module_url(), None, "the test page names none");
    let meta = doc.create_element("meta").unwrap();
    meta.set_attribute("name", "quorum-room").unwrap();
    meta.set_attribute("content", "/quorum-room-0123456789abcdef.js")
        .unwrap();
    doc.head().unwrap().append_child(&meta).unwrap();
    let found = room_module_url();
    meta.remove();
    assert_eq!(found.as_deref(), Some("/quorum-room-0123456789abcdef.js"));
}
