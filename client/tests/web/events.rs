//! System events: routing, system chat messages and toasts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::components::chat::ChatList;
use quorum_client::components::toasts::ToastRegion;
use quorum_client::i18n::Locale;
use quorum_client::join::JoinToken;
use quorum_client::pages::goodbye::Goodbye;
use quorum_client::state::chat::{ChatLog, Sender};
use quorum_client::state::events::{deliver, route_event, EventSinks, Routed};
use quorum_client::state::participants::RosterEvent;
use quorum_client::state::toasts::{Toast, ToastQueue, MAX_TOASTS};
use quorum_shared::events::{EndReason, NotificationType, PresenceState, SystemEvent};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::{container, entry};

const NOW: u64 = 1_700_000_000_000;

pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Polls `check` every 20 ms for up to 5 s; true as soon as it holds.
/// For waiting on a state, never as proof that something did not happen.
pub(crate) async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..250 {
        if check().await {
            return true;
        }
        sleep(20).await;
    }
    false
}

/// A toast region over a fresh queue, mounted in a fresh container, its
/// toasts up for `ttl`: the queue, the container, and the handle that
/// keeps the region mounted.
pub(crate) fn mount_toasts(
    ttl: Duration,
) -> (RwSignal<ToastQueue>, web_sys::HtmlElement, impl Sized) {
    let queue = RwSignal::new(ToastQueue::new());
    let on_dismiss = Callback::new(move |id: String| {
        queue.update(|q| {
            q.dismiss(&id);
        })
    });
    let root = container();
    let app = mount_to(root.clone(), move || {
        view! { <ToastRegion toasts=queue on_dismiss=on_dismiss ttl=ttl /> }
    });
    (queue, root, app)
}

pub(crate) fn toast(id: &str, kind: NotificationType) -> Toast {
    Toast {
        id: id.to_string(),
        text: format!("note {id}"),
        kind,
        with_sound: false,
    }
}

fn system_chat(id: &str) -> Vec<u8> {
    SystemEvent::SystemChat {
        id: id.to_string(),
        message: "Recording starts soon".to_string(),
        sent_at_ms: NOW - 10,
    }
    .encode()
}

pub(crate) fn attr(root: &web_sys::Element, css: &str, name: &str) -> Option<String> {
    root.query_selector(css).unwrap()?.get_attribute(name)
}

pub(crate) fn text(root: &web_sys::Element, css: &str) -> Option<String> {
    root.query_selector(css).unwrap()?.text_content()
}

pub(crate) fn click(root: &web_sys::Element, css: &str) {
    let el: web_sys::HtmlElement = root.query_selector(css).unwrap().unwrap().unchecked_into();
    el.click();
}

#[wasm_bindgen_test]
fn events_route_to_goodbye_chat_and_toasts() {
    let end = SystemEvent::SessionEnded {
        reason: EndReason::EndedByModerator,
    };
    let Routed::End(g) = route_event(&end.encode(), NOW).unwrap() else {
        panic!("not an end");
    };
    assert_eq!(g, Goodbye::ended(EndReason::EndedByModerator));
    assert_eq!(g.title(Locale::en), "The meeting has ended");
    let reason = g.reason(Locale::en);
    assert!(reason.contains("ended by a moderator"), "{reason}");
    assert_eq!(g.title(Locale::de), "Das Meeting ist beendet");

    let Routed::Chat(e) = route_event(&system_chat("s1"), NOW).unwrap() else {
        panic!("not a chat");
    };
    assert_eq!((e.id.as_str(), e.name.as_str()), ("s1", "System"));
    assert_eq!((e.sender, e.mine), (Sender::System, false));
    assert_eq!(
        (e.text.as_str(), e.shown_at_ms),
        ("Recording starts soon", NOW - 10)
    );

    // A server clock far off is replaced by ours, as for peers.
    let skewed = br#"{"type":"system_chat","id":"s2","message":"m","sent_at_ms":5}"#;
    let Ok(Routed::Chat(e)) = route_event(skewed, NOW) else {
        panic!("not a chat");
    };
    assert_eq!(e.shown_at_ms, NOW);

    // `kind` and `with_sound` default, as the server may omit them.
    let note = br#"{"type":"notification","id":"n1","text":"Hi"}"#;
    assert_eq!(
        route_event(note, NOW).unwrap(),
        Routed::Toast(Toast {
            id: "n1".into(),
            text: "Hi".into(),
            kind: NotificationType::Info,
            with_sound: false,
        })
    );
    let note =
        br#"{"type":"notification","id":"n2","text":"x","kind":"WARNING","with_sound":true}"#;
    let Ok(Routed::Toast(t)) = route_event(note, NOW) else {
        panic!("not a toast");
    };
    assert_eq!((t.class(), t.with_sound), ("toast toast-warning", true));

    // Hands, presence, approval, removal and locks each have their place.
    let hand = br#"{"type":"hand","user_id":"bob","raised":true}"#;
    assert_eq!(
        route_event(hand, NOW).unwrap(),
        Routed::Roster(RosterEvent::Hand {
            user_id: "bob".into(),
            raised: true
        })
    );
    let presence =
        br#"{"type":"presence","user_id":"bob","name":"Bob","is_admin":false,"state":"disconnected"}"#;
    assert!(matches!(
        route_event(presence, NOW).unwrap(),
        Routed::Roster(RosterEvent::Presence {
            state: PresenceState::Disconnected,
            ..
        })
    ));
    let approved = br#"{"type":"approved","token":"a.b.c"}"#;
    let Ok(Routed::Approved(t)) = route_event(approved, NOW) else {
        panic!("not an approval");
    };
    assert_eq!(t.expose(), "a.b.c");
    assert!(
        !format!("{:?}", Routed::Approved(t)).contains("a.b.c"),
        "the token must not show in logs"
    );
    let removed = br#"{"type":"removed","blocked":true}"#;
    assert_eq!(route_event(removed, NOW).unwrap(), Routed::Removed(true));
    let locks = br#"{"type":"locks_changed","chat_locked":true}"#;
    assert_eq!(route_event(locks, NOW).unwrap(), Routed::Locks(true, None));

    let long_id = format!(
        r#"{{"type":"system_chat","id":"{}","message":"m","sent_at_ms":0}}"#,
        "x".repeat(200)
    );
    for bad in [
        &b"not json"[..],
        b"{}",
        br#"{"type":"nope"}"#,
        br#"{"type":"session_ended","reason":"bored"}"#,
        br#"{"type":"system_chat","id":"","message":"m","sent_at_ms":0}"#,
        br#"{"type":"notification","id":"","text":"t"}"#,
        br#"{"type":"approved","token":"  "}"#,
        long_id.as_bytes(),
    ] {
        assert!(
            route_event(bad, NOW).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[wasm_bindgen_test]
fn deliver_hands_each_event_to_one_sink_and_drops_bad_ones() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
    let (d, e, f) = (seen.clone(), seen.clone(), seen.clone());
    let owner = Owner::new();
    owner.with(|| {
        let sinks = EventSinks {
            chat: Callback::new(move |e: quorum_client::state::chat::ChatEntry| {
                a.lock().unwrap().push(format!("chat {}", e.id))
            }),
            toast: Callback::new(move |t: Toast| b.lock().unwrap().push(format!("toast {}", t.id))),
            end: Callback::new(move |g: Goodbye| {
                c.lock()
                    .unwrap()
                    .push(format!("end {}", g.title(Locale::en)))
            }),
            roster: Callback::new(move |ev: RosterEvent| d.lock().unwrap().push(format!("{ev:?}"))),
            approved: Callback::new(move |t: JoinToken| {
                e.lock().unwrap().push(format!("approved {}", t.expose()))
            }),
            locks: Callback::new(move |l: bool| f.lock().unwrap().push(format!("locked {l}"))),
            throttled: Callback::new(|_| {}),
            moderation: Callback::new(|_| {}),
        };
        let s = "qr.r.public";
        deliver(&sinks, s, &system_chat("c1"), NOW);
        deliver(&sinks, s, b"{\"type\":", NOW);
        deliver(
            &sinks,
            s,
            br#"{"type":"notification","id":"t1","text":"x"}"#,
            NOW,
        );
        deliver(
            &sinks,
            "qr.r.private.u",
            br#"{"type":"session_ended","reason":"empty_timeout"}"#,
            NOW,
        );
        let p = "qr.r.private.u";
        deliver(
            &sinks,
            s,
            br#"{"type":"hand","user_id":"u","raised":false}"#,
            NOW,
        );
        deliver(&sinks, p, br#"{"type":"approved","token":"t2"}"#, NOW);
        deliver(
            &sinks,
            p,
            br#"{"type":"locks_changed","chat_locked":false}"#,
            NOW,
        );
        deliver(&sinks, p, br#"{"type":"removed","blocked":false}"#, NOW);
    });
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "chat c1",
            "toast t1",
            "end The meeting has ended",
            "Hand { user_id: \"u\", raised: false }",
            "approved t2",
            "locked false",
            "end You were removed from the meeting",
        ]
    );
}

#[wasm_bindgen_test]
fn system_messages_share_the_log_but_not_the_id_space() {
    let Ok(Routed::Chat(sys)) = route_event(&system_chat("x"), NOW) else {
        panic!("not a chat");
    };
    let mut log = ChatLog::new();
    assert!(log.push(entry("x", "bob", false)));
    assert!(log.push(sys.clone()), "a peer cannot pre-empt a system id");
    assert!(!log.push(sys), "a replayed system message is dropped");
    assert!(!log.push(entry("x", "bob", false)));
    let kinds: Vec<_> = log.entries().map(|e| e.is_system()).collect();
    assert_eq!(kinds, [false, true]);
}

#[wasm_bindgen_test]
async fn chat_list_marks_system_messages() {
    let log = RwSignal::new(ChatLog::new());
    let root = container();
    let _app = mount_to(root.clone(), move || view! { <ChatList log=log /> });
    let Ok(Routed::Chat(sys)) = route_event(&system_chat("s1"), NOW) else {
        panic!("not a chat");
    };
    log.update(|l| {
        l.push(entry("s1", "bob", false));
        l.push(sys);
    });
    tick().await;

    let root: web_sys::Element = root.into();
    let css = "#chat-list li.chat-message.system";
    assert_eq!(
        attr(&root, css, "class").as_deref(),
        Some("chat-message system")
    );
    assert_eq!(attr(&root, css, "data-id").as_deref(), Some("s1"));
    assert_eq!(
        text(&root, &format!("{css} .sender")).as_deref(),
        Some("System")
    );
    assert_eq!(
        text(&root, &format!("{css} p.text")).as_deref(),
        Some("Recording starts soon")
    );
    assert!(root
        .query_selector(&format!("{css} time.time"))
        .unwrap()
        .is_some());
    assert_eq!(
        root.query_selector_all("li.chat-message").unwrap().length(),
        2
    );
}

#[wasm_bindgen_test]
fn toast_queue_dedups_caps_and_dismisses() {
    let mut q = ToastQueue::new();
    assert!(q.push(toast("a", NotificationType::Info)));
    assert!(!q.push(toast("a", NotificationType::Error)), "duplicate id");
    for i in 0..MAX_TOASTS {
        q.push(toast(&format!("n{i}"), NotificationType::Success));
    }
    assert_eq!(q.len(), MAX_TOASTS);
    assert_eq!(q.toasts().next().unwrap().id, "n0", "the oldest went first");
    assert!(
        !q.push(toast("a", NotificationType::Info)),
        "still remembered"
    );
    assert!(q.dismiss("n0"));
    assert!(!q.dismiss("n0"));
    assert_eq!(q.len(), MAX_TOASTS - 1);
}

#[wasm_bindgen_test]
async fn toasts_render_close_and_time_out() {
    let (queue, root, _app) = mount_toasts(Duration::from_millis(300));
    let root: web_sys::Element = root.into();
    assert_eq!(
        attr(&root, "#toasts", "aria-live").as_deref(),
        Some("polite")
    );

    queue.update(|q| {
        q.push(toast("w", NotificationType::Warning));
        q.push(toast("e", NotificationType::Error));
    });
    tick().await;
    // Its kind in a word, not only a colour.
    assert_eq!(
        text(&root, "#toasts .toast.toast-warning .toast-kind").as_deref(),
        Some("Warning")
    );
    assert_eq!(
        text(&root, "#toasts .toast.toast-warning .toast-text").as_deref(),
        Some("Warning note w")
    );
    assert_eq!(
        attr(&root, ".toast-error", "class").as_deref(),
        Some("toast toast-error")
    );

    // The close button (a real button, so keyboard users can reach it).
    click(&root, ".toast-error button.toast-close");
    tick().await;
    assert!(root.query_selector(".toast-error").unwrap().is_none());
    assert!(root.query_selector(".toast-warning").unwrap().is_some());

    assert!(
        eventually(|| async { root.query_selector(".toast").unwrap().is_none() }).await,
        "timed out"
    );
    assert!(
        root.query_selector("#toasts").unwrap().is_some(),
        "region stays"
    );
}

#[wasm_bindgen_test]
async fn a_hovered_toast_stays_up() {
    let (queue, root, _app) = mount_toasts(Duration::from_millis(200));
    // Two toasts with the same life; only the first is hovered.
    queue.update(|q| {
        q.push(toast("h", NotificationType::Info));
        q.push(toast("u", NotificationType::Warning));
    });
    tick().await;
    let el = root.query_selector(".toast-info").unwrap().unwrap();
    el.dispatch_event(&web_sys::Event::new("mouseenter").unwrap())
        .unwrap();
    // The unhovered one timing out shows that the hovered one's time is
    // up too: it is still there only because it is held.
    assert!(
        eventually(|| async { root.query_selector(".toast-warning").unwrap().is_none() }).await,
        "the unhovered toast never timed out"
    );
    assert!(
        root.query_selector(".toast-info").unwrap().is_some(),
        "held while hovered"
    );
    el.dispatch_event(&web_sys::Event::new("mouseleave").unwrap())
        .unwrap();
    assert!(
        eventually(|| async { root.query_selector(".toast").unwrap().is_none() }).await,
        "gone after leaving"
    );
}
