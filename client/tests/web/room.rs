//! Room widgets: participants, the hand toggle, pending and locked chat,
//! the "Connection lost" page, and giving up on a dead server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::components::participants::ParticipantList;
use quorum_client::nats::ConnFailure;
use quorum_client::pages::error::{ErrorPage, PageError};
use quorum_client::pages::goodbye::Goodbye;
use quorum_client::pages::room::RoomPage;
use quorum_client::state::chat::ChatContext;
use quorum_client::state::participants::{Roster, RosterEvent};
use quorum_client::state::session::provide_session_state;
use quorum_shared::events::PresenceState;
use quorum_shared::peer::ChatMessage;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::events::{attr, click, eventually, text};
use super::session::{offline_session, wait_attr};
use super::{container, entry, one_frame};

/// `r` as a participant list in a fresh container, with its signal; the
/// handle unmounts it when dropped.
fn mount_roster(r: Roster) -> (impl Drop, RwSignal<Roster>, web_sys::Element) {
    let roster = RwSignal::new(r);
    let root = container();
    let app = mount_to(
        root.clone(),
        move || view! { <ParticipantList roster=roster /> },
    );
    (app, roster, root.into())
}

#[wasm_bindgen_test]
async fn participants_show_state_role_hand_and_you() {
    let mut r = Roster::new("me", "Me", false);
    r.apply(RosterEvent::Presence {
        user_id: "bob".into(),
        name: "Bob".into(),
        is_admin: true,
        state: PresenceState::Online,
    });
    let (_app, roster, root) = mount_roster(r);
    // The rows are drawn by an effect, at the first tick after the list
    // mounts (before the first paint; see `kept_rows`).
    tick().await;

    let bob = "li.participant[data-user=bob]";
    assert_eq!(attr(&root, bob, "data-state").as_deref(), Some("online"));
    assert_eq!(attr(&root, bob, "data-hand").as_deref(), Some("down"));
    assert_eq!(
        text(&root, &format!("{bob} .badge-moderator")).as_deref(),
        Some("moderator")
    );
    assert!(root
        .query_selector("li.participant.me[data-user=me] .you")
        .unwrap()
        .is_some());
    assert!(root
        .query_selector("li[data-user=me] .badge-moderator")
        .unwrap()
        .is_none());

    roster.update(|r| {
        r.apply(RosterEvent::Hand {
            user_id: "bob".into(),
            raised: true,
        });
    });
    tick().await;
    assert_eq!(attr(&root, bob, "data-hand").as_deref(), Some("raised"));
    assert!(root
        .query_selector(&format!("{bob} .hand"))
        .unwrap()
        .is_some());

    roster.update(|r| {
        r.apply(RosterEvent::Presence {
            user_id: "bob".into(),
            name: "Bob".into(),
            is_admin: true,
            state: PresenceState::Disconnected,
        });
    });
    tick().await;
    assert_eq!(
        attr(&root, bob, "data-state").as_deref(),
        Some("disconnected")
    );
    assert_eq!(
        root.query_selector_all("li.participant").unwrap().length(),
        2
    );
}

#[wasm_bindgen_test]
async fn a_room_of_600_draws_a_page_of_the_list_at_a_time() {
    let mut r = Roster::new("me", "Me", false);
    for n in 0..600 {
        r.apply(RosterEvent::Presence {
            user_id: format!("u{n:03}"),
            name: format!("Person {n:03}"),
            is_admin: false,
            state: PresenceState::Online,
        });
    }
    assert_eq!(r.present(), 601);
    let (_app, roster, root) = mount_roster(r);
    tick().await;
    let rows = || root.query_selector_all("li.participant").unwrap().length();
    assert_eq!(rows(), 100, "one page, not 601 rows");
    assert_eq!(
        text(&root, ".participant-range").as_deref(),
        Some("1–100 of 601")
    );
    assert!(attr(&root, "#participants-previous", "disabled").is_some());
    // In the listing order: "Me", then "Person 000" on.
    assert!(root.query_selector("li[data-user=u000]").unwrap().is_some());
    assert!(attr(&root, "#participants-next", "disabled").is_none());
    click(&root, "#participants-next");
    tick().await;
    assert_eq!(rows(), 100);
    assert_eq!(
        text(&root, ".participant-range").as_deref(),
        Some("101–200 of 601")
    );
    assert!(root.query_selector("li[data-user=u100]").unwrap().is_some());
    assert!(root.query_selector("li[data-user=u000]").unwrap().is_none());
    // Somebody far down the list, by name: the search starts at page one.
    let input: web_sys::HtmlInputElement = root
        .query_selector("#participant-search")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value("person 59");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    tick().await;
    assert_eq!(rows(), 10, "Person 590 to 599");
    assert!(root.query_selector(".participant-pager").unwrap().is_none());
    // People leaving while a late page is shown: it never stays past the end.
    input.set_value("");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    tick().await;
    for _ in 0..6 {
        click(&root, "#participants-next");
        tick().await;
    }
    assert_eq!(
        text(&root, ".participant-range").as_deref(),
        Some("601–601 of 601")
    );
    roster.update(|r| {
        r.apply(RosterEvent::Presence {
            user_id: "u599".into(),
            name: "Person 599".into(),
            is_admin: false,
            state: PresenceState::Left,
        });
    });
    tick().await;
    tick().await;
    assert_eq!(
        text(&root, ".participant-range").as_deref(),
        Some("501–600 of 600")
    );
    assert_eq!(rows(), 100);
}

#[wasm_bindgen_test]
async fn pending_messages_are_marked_until_confirmed() {
    let (log, root, _app) = super::mount_list();
    log.update(|l| {
        l.push_pending(entry("p1", "alice", true));
    });
    tick().await;
    assert_eq!(
        attr(&root, "li[data-id=p1]", "class").as_deref(),
        Some("chat-message mine pending")
    );
    log.update(|l| {
        l.insert(entry("p1", "alice", true), None);
    });
    tick().await;
    assert_eq!(
        attr(&root, "li[data-id=p1]", "class").as_deref(),
        Some("chat-message mine")
    );
    assert_eq!(
        root.query_selector_all("li.chat-message").unwrap().length(),
        1
    );
}

#[wasm_bindgen_test]
async fn connection_lost_offers_reload() {
    let reloaded = Arc::new(AtomicUsize::new(0));
    let counter = reloaded.clone();
    let on_retry = Callback::new(move |()| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let error = PageError::connection_failed(ConnFailure::Lost);
    let root = container();
    let _app = mount_to(
        root.clone(),
        move || view! { <ErrorPage error=error on_retry=on_retry /> },
    );
    let root: web_sys::Element = root.into();
    assert_eq!(
        text(&root, "#error-page .error-title").as_deref(),
        Some("Connection lost")
    );
    assert!(root.query_selector("#retry").unwrap().is_none());
    click(&root, "#error-page button#reload");
    assert_eq!(reloaded.load(Ordering::SeqCst), 1);
}

/// Mounts the room for a session whose server never answers. The handle
/// unmounts it when dropped.
pub(super) fn offline_room(root: &web_sys::HtmlElement) -> (Box<dyn std::any::Any>, ChatContext) {
    offline_room_for(root, offline_session())
}

/// [`offline_room`] for `session`.
pub(super) fn offline_room_for(
    root: &web_sys::HtmlElement,
    session: Arc<quorum_client::join::Session>,
) -> (Box<dyn std::any::Any>, ChatContext) {
    let on_over = Callback::new(|_: Goodbye| {});
    let chat = Arc::new(Mutex::new(None));
    let slot = chat.clone();
    let app = mount_to(root.clone(), move || {
        let st = provide_session_state(session, None, Default::default(), on_over);
        *slot.lock().unwrap() = Some(st.chat);
        view! { <RoomPage /> }
    });
    let chat = chat.lock().unwrap().expect("mounted synchronously");
    (Box::new(app), chat)
}

#[wasm_bindgen_test]
async fn offline_chat_is_queued_and_shown_pending() {
    let root = container();
    let (_app, _) = offline_room(&root);
    let root: web_sys::Element = root.into();
    assert!(wait_attr(&root, "#conn-state", "data-state", "reconnecting").await);
    assert!(
        attr(&root, "#hand", "disabled").is_some(),
        "no hand changes without a connection"
    );

    let input: web_sys::HtmlTextAreaElement = root
        .query_selector("#chat-input")
        .unwrap()
        .unwrap()
        .unchecked_into();
    for text_in in ["first", "second"] {
        input.set_value(text_in);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        tick().await;
        click(&root, "#chat-send");
        tick().await;
    }
    // Drawn at the next frame.
    one_frame().await;
    tick().await;
    let items = root
        .query_selector_all("#chat-list li.chat-message.mine.pending")
        .unwrap();
    assert_eq!(items.length(), 2);
    let texts: Vec<String> = (0..items.length())
        .map(|i| {
            let li: web_sys::Element = items.item(i).unwrap().unchecked_into();
            li.query_selector(".text")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect();
    assert_eq!(texts, ["first", "second"]);
    assert!(
        eventually(|| async { text(&root, "#chat-notice").is_some_and(|t| t.contains("offline")) })
            .await
    );
    // The composer empties itself once the message is queued.
    eventually(|| async { input.value().is_empty() }).await;
    assert_eq!(input.value(), "", "the draft went into the queue");
}

#[wasm_bindgen_test]
async fn each_sent_message_stays_pending_until_its_own_echo() {
    let root = container();
    let (_app, chat) = offline_room(&root);
    let root: web_sys::Element = root.into();
    for text_in in ["one", "two", "three"] {
        assert!(chat.send(text_in).is_ok());
    }
    one_frame().await;
    tick().await;
    let ids: Vec<String> = {
        let items = root
            .query_selector_all("#chat-list li.chat-message.pending")
            .unwrap();
        (0..items.length())
            .map(|i| {
                let li: web_sys::Element = items.item(i).unwrap().unchecked_into();
                li.get_attribute("data-id").unwrap()
            })
            .collect()
    };
    assert_eq!(ids.len(), 3);
    assert_eq!(
        attr(&root, "#chat-list", "data-pending").as_deref(),
        Some("3")
    );
    // The server's copy of the second one (what a live echo or the
    // room's history hands to the context).
    assert!(
        chat.add(entry(&ids[1], "u", true)),
        "the echo is a visible change"
    );
    tick().await;
    // (A run of one sender's messages is grouped: not what this is about.)
    let class = |id: &str| {
        attr(&root, &format!("li[data-id='{id}']"), "class").map(|c| c.replace(" continued", ""))
    };
    assert_eq!(class(&ids[0]).as_deref(), Some("chat-message mine pending"));
    assert_eq!(class(&ids[1]).as_deref(), Some("chat-message mine"));
    assert_eq!(class(&ids[2]).as_deref(), Some("chat-message mine pending"));
    assert_eq!(
        attr(&root, "#chat-list", "data-pending").as_deref(),
        Some("2")
    );
    assert_eq!(chat.unconfirmed(), 2);
    // A second copy changes nothing.
    assert!(!chat.add(entry(&ids[1], "u", true)));
}

#[wasm_bindgen_test]
async fn a_chat_lock_disables_the_composer() {
    let root = container();
    let (_app, chat) = offline_room(&root);
    let root: web_sys::Element = root.into();
    assert!(attr(&root, "#chat-input", "disabled").is_none());
    // What a LocksChanged event (or a refused publish) does.
    chat.set_locked(true);
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_some());
    assert_eq!(
        text(&root, "#chat-notice").as_deref(),
        Some("Chat is locked by a moderator")
    );
    assert!(chat.send("hi").is_err(), "nothing is queued while locked");
    chat.set_locked(false);
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_none());
    assert_eq!(text(&root, "#chat-notice").as_deref(), Some(""));
    // A moderator's word applies at once, both ways (a message typed right
    // after an unlock goes out again on the new socket if the old one
    // refuses it).
    chat.lock_changed(true);
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_some());
    chat.lock_changed(false);
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_none());
    assert!(chat.send("after the unlock").is_ok());
}

#[wasm_bindgen_test]
async fn a_throttle_pauses_the_composer_and_says_why() {
    let root = container();
    let (_app, chat) = offline_room(&root);
    let root: web_sys::Element = root.into();
    // What a Throttled event does.
    chat.throttle();
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_some());
    assert_eq!(
        text(&root, "#chat-notice").as_deref(),
        Some("You sent too many messages too fast; chat is paused for a moment")
    );
    assert!(chat.send("more").is_err(), "nothing is queued while paused");
    // The server ends the pause with a lock change.
    chat.lock_changed(false);
    tick().await;
    assert!(attr(&root, "#chat-input", "disabled").is_none());
    assert!(!chat.throttled().get_untracked());
}

#[wasm_bindgen_test]
async fn a_dead_server_ends_in_connection_lost() {
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("?give_up_secs=1"))
        .unwrap();
    let root = container();
    let (_app, _) = offline_room(&root);
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&original))
        .unwrap();
    let root: web_sys::Element = root.into();
    assert!(wait_attr(&root, "#conn-state", "data-state", "reconnecting").await);
    assert!(
        wait_attr(&root, "#conn-state", "data-state", "failed").await,
        "never gave up"
    );
}

#[wasm_bindgen_test]
async fn chat_shows_the_servers_name_for_a_sender_not_the_payloads() {
    let root = container();
    let on_over = Callback::new(|_: Goodbye| {});
    let session = offline_session();
    let state = Arc::new(Mutex::new(None));
    let slot = state.clone();
    let _app = mount_to(root.clone(), move || {
        *slot.lock().unwrap() = Some(provide_session_state(
            session,
            None,
            Default::default(),
            on_over,
        ));
        view! { <RoomPage /> }
    });
    let st = state.lock().unwrap().expect("mounted synchronously");
    st.roster.apply(RosterEvent::Presence {
        user_id: "bob".into(),
        name: "Bob Real".into(),
        is_admin: false,
        state: PresenceState::Online,
    });
    let claim = |id: &str| {
        ChatMessage {
            id: id.into(),
            name: "Alice (moderator)".into(),
            text: format!("text {id}"),
            sent_at_ms: 0,
        }
        .encode()
    };
    st.chat.receive_wire("qr.r.chat.bob", &claim("b1"), None);
    st.chat.receive_wire("qr.r.chat.carol", &claim("c1"), None);
    st.chat.flush_incoming();
    let names: Vec<String> = st
        .chat
        .log()
        .with_untracked(|l| l.entries().map(|e| e.name.clone()).collect());
    // Bob is known: his real name. Carol isn't (yet): her own claim.
    assert_eq!(names, ["Bob Real", "Alice (moderator)"]);
}
