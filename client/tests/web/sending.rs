//! Our own new messages are drawn pending at the next frame, whatever
//! their sealing waits for.

use std::sync::Arc;

use leptos::task::tick;
use wasm_bindgen_test::*;

use super::events::eventually;
use super::room::offline_room_for;
use super::session::offline_session;
use super::{container, one_frame};

#[wasm_bindgen_test]
async fn in_an_e2ee_room_ours_is_drawn_while_the_key_is_still_coming() {
    // A room with the server's key, from a server that never answers: the
    // key never comes, so nothing can be sealed.
    let mut session = (*offline_session()).clone();
    session.join.e2ee = true;
    let root = container();
    let (_app, chat) = offline_room_for(&root, Arc::new(session));
    let root: web_sys::Element = root.into();
    assert!(chat.send("typed before the key").is_ok());
    // Not yet: it is drawn at the frame, with whatever else was sent.
    assert!(root.query_selector("li.chat-message").unwrap().is_none());
    one_frame().await;
    tick().await;
    let pending = || {
        root.query_selector("#chat-list li.chat-message.mine.pending .text")
            .unwrap()
            .and_then(|t| t.text_content())
    };
    assert!(eventually(|| async { pending().is_some() }).await);
    assert_eq!(pending().as_deref(), Some("typed before the key"));
    assert_eq!(chat.unconfirmed(), 1, "it waits to be sealed and sent");
}
