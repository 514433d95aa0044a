//! Browser tests for the client's logic and widgets, run in headless
//! Chromium by wasm-bindgen-test-runner. From the repo root:
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=60 \
//!   cargo test -p quorum-client --target wasm32-unknown-unknown
//! ```
//!
//! Browser flags come from `client/webdriver.json`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::components::chat::{format_hhmm, iso_time, ChatList};
use quorum_client::components::conn_badge::ConnBadge;
use quorum_client::i18n::Locale;
use quorum_client::join::JoinToken;
use quorum_client::nats::ConnState;
use quorum_client::pages::error::{ErrorPage, PageError};
use quorum_client::state::chat::{accept_incoming, ChatEntry, ChatLog, EntryKind, Sender};
use quorum_client::util::random_id;
use quorum_client::verify::{
    parse_verify_response, split_token, take_token_from_location, JoinError,
};
use quorum_shared::api::StatusCode;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::ChatMessage;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "web/cache.rs"]
mod cache;
// What a cache handle keeps in memory instead of reading it per write.
#[path = "web/cache_book.rs"]
mod cache_book;
#[path = "web/chat_window.rs"]
mod chat_window;
#[path = "web/crypto.rs"]
mod crypto;
// System events and toasts; goodbye and Leave.
#[path = "web/events.rs"]
mod events;
// The shell's handoff to the room module.
#[path = "web/handoff.rs"]
mod handoff;
#[path = "web/i18n.rs"]
mod i18n;
// Lists whose items stay put as others come and go.
#[path = "web/kept.rs"]
mod kept;
#[path = "web/media.rs"]
mod media;
#[path = "web/notices.rs"]
mod notices;
#[path = "web/session.rs"]
mod session;
// Reconnects, the queue, history, token renewal, participants.
// "Send to" in a big room.
#[path = "web/recipients.rs"]
mod recipients;
#[path = "web/reconnect.rs"]
mod reconnect;
#[path = "web/room.rs"]
mod room;
// Our own messages: when they are drawn.
#[path = "web/sending.rs"]
mod sending;
#[path = "web/unread.rs"]
mod unread;

// ---------- helpers ---------- //

/// Waits for one animation frame (our own new messages are drawn at it).
async fn one_frame() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window().unwrap().request_animation_frame(&resolve);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container in <body>, so tests do not see each other's DOM.
fn container() -> web_sys::HtmlElement {
    let div = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

/// A chat list over a fresh log, mounted in a fresh container: the log,
/// the container, and the handle that keeps the list mounted.
fn mount_list() -> (RwSignal<ChatLog>, web_sys::Element, impl Sized) {
    let log = RwSignal::new(ChatLog::new());
    let root = container();
    let app = mount_to(root.clone(), move || view! { <ChatList log=log /> });
    (log, root.into(), app)
}

/// A session database of its own (a room no other test uses).
async fn fresh_cache() -> std::rc::Rc<quorum_client::cache::SessionCache> {
    let room = format!("room-{}", random_id());
    let cache = quorum_client::cache::SessionCache::open(&room, "u").await;
    std::rc::Rc::new(cache.unwrap())
}

fn entry(id: &str, sender: &str, mine: bool) -> ChatEntry {
    ChatEntry {
        id: id.to_string(),
        sender: Sender::User(UserId::parse(sender).unwrap()),
        name: sender.to_uppercase(),
        text: format!("text {id}"),
        shown_at_ms: 0,
        mine,
        private_to: None,
        kind: EntryKind::Message,
    }
}

fn chat_payload(id: &str, sent_at_ms: u64) -> Vec<u8> {
    ChatMessage {
        id: id.to_string(),
        name: "Bob".to_string(),
        text: "hello\nworld".to_string(),
        sent_at_ms,
    }
    .encode()
}

// ---------- join token ---------- //

#[wasm_bindgen_test]
fn token_is_split_off_keeping_path_params_and_fragment() {
    let s = split_token("https://q.example/join/x?lang=de&access_token=abc.def&b=2#top").unwrap();
    assert_eq!(s.token, JoinToken::new("abc.def"));
    assert_eq!(s.cleaned.as_deref(), Some("/join/x?lang=de&b=2#top"));

    let s = split_token("https://q.example/?access_token=t").unwrap();
    assert_eq!(s.token.unwrap().expose(), "t");
    assert_eq!(s.cleaned.as_deref(), Some("/"));

    // Every copy goes, and a blank token is no token but is still removed.
    let s = split_token("https://q.example/p?access_token=&access_token=x").unwrap();
    assert_eq!(s.token, None);
    assert_eq!(s.cleaned.as_deref(), Some("/p"));

    let s = split_token("https://q.example/p?x=1").unwrap();
    assert_eq!((s.token, s.cleaned), (None, None));
}

#[wasm_bindgen_test]
fn token_is_taken_from_the_address_bar() {
    let history = web_sys::window().unwrap().history().unwrap();
    let location = web_sys::window().unwrap().location();
    let original = location.href().unwrap();
    history
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some("?access_token=sekret&keep=1"),
        )
        .unwrap();

    let token = take_token_from_location();

    assert_eq!(token.as_ref().map(JoinToken::expose), Some("sekret"));
    assert_eq!(location.search().unwrap(), "?keep=1");
    assert!(!location.href().unwrap().contains("sekret"));
    assert_eq!(format!("{:?}", token.unwrap()), "JoinToken(<redacted>)");
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&original))
        .unwrap();
}

// ---------- verifyToken response ---------- //

#[wasm_bindgen_test]
fn verify_response_body_decides_not_http_status() {
    let ok = r#"{"status":true,"msg":"ok","status_code":"SUCCESS","session":{
        "nats_ws_urls":["ws://h/ws"],
        "subjects":{"chat_publish":"qr.r.chat.u","chat_subscribe":"qr.r.chat.*",
            "public":"qr.r.public","private":"qr.r.private.u","worker":"qr.r.worker.u",
            "inbox_prefix":"_INBOX.r.u","direct_get":"qr.r.history.u",
            "private_history":"qr.r.mine.u","dm_publish":"qr.r.dm.*.u","dm_subscribe":"qr.r.dm.u.*"},
        "room_id":"r","room_sid":"sid","room_title":"T","user_id":"u","name":"U",
        "is_admin":true,"e2ee_self_key":false,"server_version":"0"}}"#;
    let s = parse_verify_response(200, ok).unwrap();
    assert_eq!((s.room_title.as_str(), s.is_admin), ("T", true));

    let refused =
        r#"{"status":false,"msg":"token expired","status_code":"INVALID_TOKEN_OR_SIGNATURE"}"#;
    let e = parse_verify_response(401, refused).unwrap_err();
    assert_eq!(
        e,
        JoinError::Rejected {
            code: StatusCode::InvalidTokenOrSignature,
            msg: "token expired".into()
        }
    );
    assert_eq!(e.title(Locale::en), "This link has expired");
    assert_eq!(e.title(Locale::de), "Dieser Link ist abgelaufen");
    // Our own sentence with a next step, never the server's wording.
    assert!(e
        .reason(Locale::en)
        .contains("Ask the person who invited you for a new link"));
    assert!(!e.reason(Locale::de).contains("token expired"));
    assert!(!e.retryable());
    let bad =
        r#"{"status":false,"msg":"bad signature","status_code":"INVALID_TOKEN_OR_SIGNATURE"}"#;
    assert_eq!(
        parse_verify_response(401, bad)
            .unwrap_err()
            .title(Locale::en),
        "This link doesn't work"
    );
    // A room that is locked or full may open again: Retry is offered.
    let locked = r#"{"status":false,"msg":"the meeting r is locked: a moderator has closed it to new participants","status_code":"PERMISSION_DENIED"}"#;
    let e = parse_verify_response(200, locked).unwrap_err();
    assert_eq!(e.title(Locale::en), "This meeting is locked");
    assert!(e.retryable());
    let gone = r#"{"status":false,"msg":"room ended1796162556186 is not active","status_code":"ROOM_NOT_ACTIVE"}"#;
    let e = parse_verify_response(200, gone).unwrap_err();
    assert!(
        !e.reason(Locale::en).contains("ended1796162556186"),
        "{}",
        e.reason(Locale::en)
    );

    let busy = r#"{"status":false,"msg":"m","status_code":"USER_NOT_ACTIVE"}"#;
    assert_eq!(
        parse_verify_response(409, busy)
            .unwrap_err()
            .title(Locale::en),
        "You are already in this meeting in another tab or device"
    );

    let e = parse_verify_response(502, "<html>Bad Gateway</html>").unwrap_err();
    assert!(matches!(e, JoinError::BadResponse { status: 502, .. }));
    assert!(e.retryable());

    let e = parse_verify_response(200, r#"{"status":true,"msg":"","status_code":"SUCCESS"}"#);
    assert!(matches!(e, Err(JoinError::BadResponse { .. })));
}

#[wasm_bindgen_test]
fn incoming_chat_trusts_the_subject_not_the_payload() {
    let room = RoomId::parse("r1").unwrap();
    let me = UserId::parse("alice").unwrap();
    let now = 1_700_000_000_000;

    let e = accept_incoming(
        &room,
        &me,
        "qr.r1.chat.bob",
        &chat_payload("m1", now - 5),
        now,
    )
    .unwrap();
    assert_eq!(e.sender, Sender::User(UserId::parse("bob").unwrap()));
    assert_eq!((e.name.as_str(), e.mine), ("Bob", false));
    assert_eq!((e.text.as_str(), e.shown_at_ms), ("hello\nworld", now - 5));

    let e = accept_incoming(
        &room,
        &me,
        "qr.r1.chat.alice",
        &chat_payload("m2", now),
        now,
    )
    .unwrap();
    assert!(e.mine);

    // A wildly wrong sender clock is replaced by ours.
    let e = accept_incoming(&room, &me, "qr.r1.chat.bob", &chat_payload("m3", 5), now).unwrap();
    assert_eq!(e.shown_at_ms, now);

    for (subject, payload) in [
        ("qr.r2.chat.bob", chat_payload("x", now)),
        ("qr.r1.public", chat_payload("x", now)),
        ("qr.r1.chat.bob", b"{not json".to_vec()),
        ("qr.r1.chat.bob", chat_payload("", now)),
    ] {
        assert!(
            accept_incoming(&room, &me, subject, &payload, now).is_err(),
            "{subject}"
        );
    }
}

#[wasm_bindgen_test]
fn random_ids_are_32_hex_and_distinct() {
    let (a, b) = (random_id(), random_id());
    assert_eq!(a.len(), 32);
    assert!(a
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(a, b);
}

/// The times a chat item shows, written in Rust, against what the
/// browser's own `Date` says for the same moments: days across four
/// centuries (leap rules), the daylight-saving changes of the runner's
/// time zone, and the far end of what a `Date` holds.
#[wasm_bindgen_test]
fn times_match_the_browsers_date() {
    let mut moments = vec![
        0,
        253_402_300_799_999,
        253_402_300_800_000,
        8_640_000_000_000_000,
    ];
    // Every ~97 days from 1970 into the 2300s, at odd times of day.
    let mut ms: u64 = 7_654_321;
    while ms < 12_000_000_000_000 {
        moments.push(ms);
        ms += 8_388_607_777;
    }
    // Each hour of 2026, which holds the runner's daylight-saving changes
    // if its time zone has them.
    moments.extend((0..24 * 365).map(|h| 1_767_225_600_000 + h * 3_600_000 + 1_234));
    for ms in moments {
        let d = js_sys::Date::new(&(ms as f64).into());
        let iso: String = d.to_iso_string().into();
        let hhmm = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
        assert_eq!(iso_time(ms), iso, "{ms}");
        assert_eq!(format_hhmm(ms), hhmm, "{ms}");
    }
    assert_eq!(iso_time(8_640_000_000_000_001), "");
}

// ---------- widgets ---------- //

#[wasm_bindgen_test]
async fn conn_badge_follows_state() {
    let state = RwSignal::new(ConnState::Connecting);
    let root = container();
    let _app = mount_to(root.clone(), move || view! { <ConnBadge state=state /> });

    let badge = root.query_selector("#conn-state").unwrap().unwrap();
    assert_eq!(
        badge.get_attribute("data-state").as_deref(),
        Some("connecting")
    );
    assert_eq!(badge.text_content().as_deref(), Some("Connecting…"));
    assert_eq!(badge.get_attribute("aria-live").as_deref(), Some("polite"));

    state.set(ConnState::Reconnecting);
    tick().await;
    assert_eq!(
        badge.get_attribute("data-state").as_deref(),
        Some("reconnecting")
    );
    assert_eq!(badge.text_content().as_deref(), Some("Reconnecting…"));

    state.set(ConnState::Connected);
    tick().await;
    assert_eq!(
        badge.get_attribute("data-state").as_deref(),
        Some("connected")
    );
}

#[wasm_bindgen_test]
async fn chat_list_renders_messages_in_order_with_mine_marked() {
    let log = RwSignal::new(ChatLog::new());
    let root = container();
    let _app = mount_to(root.clone(), move || view! { <ChatList log=log /> });

    assert!(root.query_selector(".chat-empty").unwrap().is_some());
    assert_eq!(
        root.query_selector_all("li.chat-message").unwrap().length(),
        0
    );

    log.update(|l| {
        l.push(entry("m1", "bob", false));
        l.push(entry("m2", "alice", true));
        l.push(entry("m1", "bob", false));
    });
    tick().await;

    assert!(root.query_selector(".chat-empty").unwrap().is_none());
    let items = root
        .query_selector_all("#chat-list li.chat-message")
        .unwrap();
    assert_eq!(items.length(), 2);
    let first: web_sys::Element = items.item(0).unwrap().unchecked_into();
    let second: web_sys::Element = items.item(1).unwrap().unchecked_into();
    assert_eq!(first.get_attribute("data-id").as_deref(), Some("m1"));
    assert_eq!(
        first.get_attribute("class").as_deref(),
        Some("chat-message")
    );
    assert_eq!(
        second.get_attribute("class").as_deref(),
        Some("chat-message mine")
    );
    let sender = first.query_selector(".sender").unwrap().unwrap();
    assert_eq!(sender.text_content().as_deref(), Some("BOB"));
    let text = first.query_selector("p.text").unwrap().unwrap();
    assert_eq!(text.text_content().as_deref(), Some("text m1"));
    assert!(first.query_selector("time.time").unwrap().is_some());
}

#[wasm_bindgen_test]
async fn error_page_offers_retry_only_when_it_can_help() {
    let retried = Arc::new(AtomicUsize::new(0));
    let root = container();
    let counter = retried.clone();
    let on_retry = Callback::new(move |()| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let error = PageError::from(&JoinError::Network("offline".into()));
    let _app = mount_to(
        root.clone(),
        move || view! { <ErrorPage error=error on_retry=on_retry /> },
    );

    let title = root
        .query_selector("#error-page h1.error-title")
        .unwrap()
        .unwrap();
    assert_eq!(
        title.text_content().as_deref(),
        Some("Can't reach the server")
    );
    assert!(root
        .query_selector("#error-page p.error-reason")
        .unwrap()
        .is_some());
    let button: web_sys::HtmlElement = root
        .query_selector("#retry")
        .unwrap()
        .unwrap()
        .unchecked_into();
    button.click();
    assert_eq!(retried.load(Ordering::SeqCst), 1);

    let root = container();
    let error = PageError::from(&JoinError::NoToken);
    let _app2 = mount_to(
        root.clone(),
        move || view! { <ErrorPage error=error on_retry=|()| {} /> },
    );
    assert!(root.query_selector("#retry").unwrap().is_none());
}
