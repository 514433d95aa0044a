//! The notification centre: the pure log (de-duplication, time order on
//! restore, the cap), and in a mounted room with a real IndexedDB session
//! cache: the bell's unread count, the panel (newest first, Escape closes
//! it and gives focus back, the sound switch), and a reload restoring what
//! was kept.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::cache::{SessionCache, KEY_DISPLAY};
use quorum_client::pages::room::RoomPage;
use quorum_client::state::notices::{use_notices, Notice, NoticeLog, NoticesContext, MAX_NOTICES};
use quorum_client::state::persist::{DisplaySettings, Stored};
use quorum_client::state::session::provide_session_state;
use quorum_client::state::toasts::Toast;
use quorum_shared::events::NotificationType;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::events::{attr, click, eventually, text};
use super::session::offline_session;
use super::{container, fresh_cache};

fn notice(id: &str, at_ms: u64) -> Notice {
    Notice {
        id: id.to_string(),
        text: format!("note {id}"),
        kind: NotificationType::Warning,
        at_ms,
        read: false,
    }
}

fn toast(id: &str) -> Toast {
    Toast {
        id: id.to_string(),
        text: format!("note {id}"),
        kind: NotificationType::Info,
        with_sound: false,
    }
}

/// The id of the element that has the focus.
fn focused_id() -> Option<String> {
    web_sys::window()?
        .document()?
        .active_element()
        .map(|e| e.id())
}

fn ids(log: &NoticeLog) -> Vec<String> {
    log.newest_first().map(|n| n.id.clone()).collect()
}

#[wasm_bindgen_test]
fn the_log_dedups_orders_by_time_and_keeps_the_newest() {
    let mut log = NoticeLog::new();
    assert_eq!(log.add(notice("b", 20)), (true, None));
    // Restored out of order: placed by time.
    assert_eq!(log.add(notice("a", 10)), (true, None));
    assert_eq!(log.add(notice("c", 30)), (true, None));
    assert_eq!(log.add(notice("b", 99)), (false, None), "a replay");
    assert_eq!(ids(&log), ["c", "b", "a"]);
    assert_eq!(log.unread(), 3);

    let changed = log.mark_all_read();
    assert_eq!(changed.len(), 3);
    assert!(changed.iter().all(|n| n.read));
    assert_eq!(log.unread(), 0);
    assert!(log.mark_all_read().is_empty(), "nothing left to mark");

    for i in 0..MAX_NOTICES {
        log.add(notice(&format!("n{i}"), 100 + i as u64));
    }
    // a, b and c (the oldest) made room.
    assert_eq!(log.len(), MAX_NOTICES);
    assert_eq!(ids(&log).last().map(String::as_str), Some("n0"));
    let (added, dropped) = log.add(notice("newest", 10_000));
    assert!(added);
    assert_eq!(dropped.as_deref(), Some("n0"), "the oldest goes");
    assert_eq!(log.clear().len(), MAX_NOTICES);
    assert!(log.is_empty());
}

/// Mounts a room whose session cache is `cache`, restoring `restored`;
/// returns its notification centre.
fn mount_room(
    root: &web_sys::HtmlElement,
    cache: Rc<SessionCache>,
    restored: Vec<Notice>,
    display: DisplaySettings,
) -> (UnmountHandle<impl Mountable>, NoticesContext) {
    let slot = StoredValue::new_local(None::<NoticesContext>);
    let session = offline_session();
    let stored = Stored {
        cache: Some(cache),
        notices: restored,
        display,
        ..Stored::default()
    };
    let app = mount_to(root.clone(), move || {
        provide_session_state(session, None, stored, Callback::new(|_| {}));
        slot.set_value(Some(use_notices()));
        view! { <RoomPage /> }
    });
    let ctx = slot.get_value().expect("notices provided");
    (app, ctx)
}

async fn cached(cache: &SessionCache) -> Vec<Notice> {
    let mut v: Vec<Notice> = cache
        .notifications()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).unwrap())
        .collect();
    v.sort_by_key(|n| n.at_ms);
    v
}

#[wasm_bindgen_test]
async fn the_bell_counts_lists_and_survives_a_reload() {
    let cache = fresh_cache().await;
    let root = container();
    let (app, notices) = mount_room(&root, cache.clone(), Vec::new(), DisplaySettings::default());
    let el: web_sys::Element = root.clone().into();

    assert!(el.query_selector("#notices-unread").unwrap().is_none());
    assert_eq!(
        attr(&el, "#notices-toggle", "aria-label").as_deref(),
        Some("Notifications")
    );
    assert!(notices.record(&toast("first"), 1_000));
    assert!(notices.record(&toast("second"), 2_000));
    assert!(!notices.record(&toast("first"), 3_000), "a replay is known");
    tick().await;
    assert_eq!(text(&el, "#notices-unread").as_deref(), Some("2"));
    assert_eq!(
        attr(&el, "#notices-toggle", "aria-label").as_deref(),
        Some("Notifications, 2 unread")
    );
    assert_eq!(
        attr(&el, "#notices-toggle", "aria-expanded").as_deref(),
        Some("false")
    );

    // Opening lists them newest first and reads them.
    click(&el, "#notices-toggle");
    tick().await;
    assert_eq!(
        attr(&el, "#notices-toggle", "aria-expanded").as_deref(),
        Some("true")
    );
    let listed: Vec<String> = (0..2)
        .map(|i| {
            let items = el.query_selector_all("#notices-list li.notice").unwrap();
            let li: web_sys::Element = items.item(i).unwrap().unchecked_into();
            li.get_attribute("data-id").unwrap()
        })
        .collect();
    assert_eq!(listed, ["second", "first"]);
    assert!(el.query_selector("#notices-unread").unwrap().is_none());

    // The beep is on until turned off, which is kept too.
    let sound: web_sys::HtmlInputElement = el
        .query_selector("#notices-sound")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(sound.checked());
    assert!(notices.sound().get_untracked());
    sound.click();
    tick().await;
    assert!(!notices.sound().get_untracked());

    // Escape closes it and gives the focus back to the bell.
    let panel = el.query_selector("#notices-panel").unwrap().unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let esc = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    panel.dispatch_event(&esc).unwrap();
    tick().await;
    assert!(attr(&el, "#notices-panel", "hidden").is_some(), "closed");
    assert_eq!(focused_id().as_deref(), Some("notices-toggle"));

    // Kept in the session cache, read, for the reload.
    assert!(
        eventually(|| async {
            let kept = cached(&cache).await;
            kept.len() == 2 && kept.iter().all(|n| n.read)
        })
        .await,
        "the read notifications never reached the cache"
    );
    let kept = cached(&cache).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|n| n.read), "{kept:?}");
    let display = cache.get_session(KEY_DISPLAY).await.unwrap();
    assert_eq!(display, Some(serde_json::json!({ "sound": false })));
    let display: DisplaySettings = serde_json::from_value(display.unwrap()).unwrap();
    drop(app);

    let root = container();
    let (app, notices) = mount_room(&root, cache.clone(), kept, display);
    let el: web_sys::Element = root.clone().into();
    tick().await;
    assert!(el.query_selector("#notices-unread").unwrap().is_none());
    assert!(!notices.sound().get_untracked(), "the choice is restored");
    assert!(
        !notices.record(&toast("second"), 4_000),
        "restored, not new"
    );
    click(&el, "#notices-toggle");
    tick().await;
    assert_eq!(
        el.query_selector_all("#notices-list li.notice")
            .unwrap()
            .length(),
        2
    );

    // Clear all empties the panel and the cache.
    click(&el, "#notices-clear");
    tick().await;
    assert_eq!(
        text(&el, "#notices-panel .notices-empty").as_deref(),
        Some("No notifications yet.")
    );
    // The button disabled itself; the focus went back to the bell.
    assert!(attr(&el, "#notices-clear", "disabled").is_some());
    assert_eq!(focused_id().as_deref(), Some("notices-toggle"));
    assert!(eventually(|| async { cached(&cache).await.is_empty() }).await);
    drop(app);
}
