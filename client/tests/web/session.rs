//! The end of a session: the goodbye page, Leave, and the notification
//! beep that must never fail.

use std::sync::{Arc, Mutex};

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::i18n::Locale;
use quorum_client::join::{JoinToken, Session};
use quorum_client::nats::{use_nats, NatsClient};
use quorum_client::pages::goodbye::{Goodbye, GoodbyePage};
use quorum_client::pages::room::RoomPage;
use quorum_client::sound::Beeper;
use quorum_client::state::goodbye::Farewell;
use quorum_client::state::persist::Stored;
use quorum_client::state::session::provide_session_state;
use quorum_client::verify::parse_verify_response;
use quorum_shared::events::EndReason;
use wasm_bindgen_test::*;

use super::container;
use super::events::{attr, click, sleep, text};

/// Polls `css`'s `name` attribute for up to 5 s until it is `want`.
pub(crate) async fn wait_attr(root: &web_sys::Element, css: &str, name: &str, want: &str) -> bool {
    for _ in 0..100 {
        if attr(root, css, name).as_deref() == Some(want) {
            return true;
        }
        sleep(50).await;
    }
    false
}

#[wasm_bindgen_test]
async fn goodbye_page_says_why() {
    let root = container();
    let _app = mount_to(root.clone(), move || {
        let farewell = Farewell::new(Goodbye::ended(EndReason::DurationExceeded), None, None);
        view! { <GoodbyePage farewell=farewell /> }
    });
    tick().await;
    let root: web_sys::Element = root.into();
    let title = "#goodbye-page h1.goodbye-title";
    assert_eq!(text(&root, title).as_deref(), Some("The meeting has ended"));
    assert_eq!(
        text(&root, "#goodbye-page p.goodbye-reason").as_deref(),
        Some(EndReason::DurationExceeded.describe())
    );
    let focused = super::document().active_element().unwrap();
    assert_eq!(
        focused.class_name(),
        "goodbye-title",
        "the title takes focus"
    );
}

#[wasm_bindgen_test]
async fn goodbye_after_leaving_offers_rejoin_and_only_a_web_address() {
    // A token valid for an hour (the page only reads its `exp`).
    let exp = (js_sys::Date::now() / 1000.0) as u64 + 3600;
    let payload = base64_url(&format!(r#"{{"iat":{},"exp":{exp}}}"#, exp - 7200));
    let token = JoinToken::new(format!("e30.{payload}.sig")).unwrap();
    let root = container();
    let _app = mount_to(root.clone(), move || {
        let f = Farewell::new(
            Goodbye::left(),
            Some(&token),
            Some("https://lms.example.org/c/1".into()),
        );
        view! { <GoodbyePage farewell=f /> }
    });
    tick().await;
    let root: web_sys::Element = root.into();
    assert_eq!(text(&root, "#rejoin").as_deref(), Some("Rejoin"));
    assert_eq!(
        attr(&root, "#logout-link", "href").as_deref(),
        Some("https://lms.example.org/c/1")
    );
    // Removed: no rejoin; a script address is never offered.
    let f = Farewell::new(
        Goodbye::removed(false),
        None,
        Some("javascript:alert(1)".into()),
    );
    assert_eq!((f.token, f.logout_url), (None, None));
}

fn base64_url(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

#[wasm_bindgen_test]
async fn beeping_never_fails_even_without_a_gesture() {
    let b = Beeper::new();
    assert!(!b.is_open(), "no audio context before the first beep");
    // No user gesture here: the context starts suspended and the beep is
    // skipped or deferred, never an error.
    b.beep();
    b.beep();
    assert!(b.is_open(), "one context, created by the first beep");
    b.close();
    assert!(!b.is_open(), "closing lets the context go");
    b.close();
    assert!(!b.is_open(), "closing twice is harmless");
    b.beep();
    assert!(b.is_open(), "a beep after closing opens a new one");
    drop(b);
}

/// A room page mounted in `root` for an offline session, and the context
/// `pick` takes from inside it (the roster, moderation…).
pub(crate) fn mount_offline_room<C: Clone + 'static>(
    root: &web_sys::HtmlElement,
    pick: fn() -> C,
) -> (impl Sized, C) {
    let slot = StoredValue::new_local(None::<C>);
    let session = offline_session();
    let app = mount_to(root.clone(), move || {
        provide_session_state(session, None, Stored::default(), Callback::new(|_| {}));
        slot.set_value(Some(pick()));
        view! { <RoomPage /> }
    });
    (app, slot.get_value().expect("the context, provided"))
}

pub(crate) fn offline_session() -> Arc<Session> {
    // Port 9 (discard) refuses: the connection keeps trying to reconnect.
    let body = r#"{"status":true,"msg":"ok","status_code":"SUCCESS","session":{
        "nats_ws_urls":["ws://127.0.0.1:9/"],
        "subjects":{"chat_publish":"qr.r.chat.u","chat_subscribe":"qr.r.chat.*",
            "public":"qr.r.public","private":"qr.r.private.u","worker":"qr.r.worker.u",
            "inbox_prefix":"_INBOX.r.u","direct_get":"qr.r.history.u",
            "private_history":"qr.r.mine.u","dm_publish":"qr.r.dm.*.u","dm_subscribe":"qr.r.dm.u.*"},
        "room_id":"r","room_sid":"sid","room_title":"Standup","user_id":"u","name":"Ann",
        "is_admin":false,"e2ee_self_key":false,"server_version":"0"}}"#;
    Arc::new(Session {
        token: JoinToken::new("t").unwrap(),
        join: parse_verify_response(200, body).unwrap(),
    })
}

#[wasm_bindgen_test]
async fn leave_closes_the_connection_for_good_and_says_goodbye() {
    let over = Arc::new(Mutex::new(Vec::<Goodbye>::new()));
    let sink = over.clone();
    let on_over = Callback::new(move |g: Goodbye| sink.lock().unwrap().push(g));
    let session = offline_session();
    let root = container();
    let slot = StoredValue::new_local(None::<NatsClient>);
    let _app = mount_to(root.clone(), move || {
        provide_session_state(session, None, Default::default(), on_over);
        slot.set_value(Some(use_nats()));
        view! { <RoomPage /> }
    });
    let nats = slot.get_value().expect("nats provided");
    let root: web_sys::Element = root.into();
    assert!(wait_attr(&root, "#conn-state", "data-state", "reconnecting").await);
    assert!(!nats.is_released(), "a reconnect is scheduled");
    assert!(root
        .query_selector("#toasts[aria-live=polite]")
        .unwrap()
        .is_some());
    assert_eq!(
        attr(&root, "button#leave", "type").as_deref(),
        Some("button")
    );

    // Leave asks first; confirmed, the session ends.
    click(&root, "#leave");
    tick().await;
    assert!(over.lock().unwrap().is_empty(), "left without asking");
    click(&root, "#leave-confirm-confirm");
    tick().await;
    assert_eq!(*over.lock().unwrap(), [Goodbye::left()]);
    assert_eq!(
        attr(&root, "#conn-state", "data-state").as_deref(),
        Some("closed")
    );
    // Nothing is left that could reconnect: no socket, timer or listener.
    assert!(nats.is_released(), "something could still reconnect");
    assert_eq!(Goodbye::left().title(Locale::en), "You left the meeting");
    // Removed while waiting means "not let in"; blocked stays blocked.
    let denied = Goodbye::removed(false).while_waiting();
    assert_eq!(denied.title(Locale::en), "You were not let in");
    assert_eq!(
        Goodbye::removed(true).while_waiting(),
        Goodbye::removed(true)
    );
    assert_eq!(
        Goodbye::left().reason(Locale::en),
        "You can close this tab."
    );
}
