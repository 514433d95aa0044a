//! Where the user stopped reading: the count of unread messages, the
//! "New messages" divider in the list, and the position kept in a real
//! IndexedDB session cache so that a reload puts the divider back.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::cache::{SessionCache, KEY_LAST_READ};
use quorum_client::components::chat::ChatList;
use quorum_client::pages::room::RoomPage;
use quorum_client::state::chat::{now_ms, use_chat, ChatContext, ChatLog, EntryKey};
use quorum_client::state::persist::Stored;
use quorum_client::state::session::provide_session_state;
use quorum_client::state::unread::{first_missed, unread_after};
use wasm_bindgen_test::*;

use super::events::eventually;
use super::session::offline_session;
use super::{container, entry, fresh_cache};

/// The ids of the list's items, with `|` for the divider.
fn rendered(root: &web_sys::Element) -> Vec<String> {
    let items = root
        .query_selector_all("#chat-list > li:not(.chat-earlier)")
        .unwrap();
    (0..items.length())
        .map(|i| {
            let li: web_sys::Element = wasm_bindgen::JsCast::unchecked_into(items.item(i).unwrap());
            if li.class_list().contains("chat-divider") {
                "|".to_string()
            } else {
                li.query_selector(".text")
                    .unwrap()
                    .unwrap()
                    .text_content()
                    .unwrap()
            }
        })
        .collect()
}

#[wasm_bindgen_test]
fn unread_counts_what_others_sent_after_the_position() {
    let mut log = ChatLog::new();
    for (id, mine) in [("a", false), ("b", false), ("c", true), ("d", false)] {
        log.push(entry(id, if mine { "me" } else { "bob" }, mine));
    }
    let key = |id: &str| -> EntryKey { (false, id.to_string()) };
    assert_eq!(
        unread_after(&log, None),
        3,
        "nothing read yet: all of theirs"
    );
    assert_eq!(unread_after(&log, Some(&key("a"))), 2, "b and d; c is ours");
    assert_eq!(unread_after(&log, Some(&key("d"))), 0);
    assert_eq!(
        unread_after(&log, Some(&key("gone"))),
        3,
        "trimmed: all of theirs"
    );
    // After a reload: the first of theirs after the position, sent before
    // the reload (these entries were all sent at 0).
    assert_eq!(first_missed(&log, &key("a"), 10), Some(key("b")));
    assert_eq!(
        first_missed(&log, &key("b"), 10),
        Some(key("d")),
        "c is ours"
    );
    assert_eq!(first_missed(&log, &key("d"), 10), None);
    let mut late = entry("e", "bob", false);
    late.shown_at_ms = 20;
    log.push(late);
    assert_eq!(
        first_missed(&log, &key("d"), 10),
        None,
        "sent after: read live"
    );
}

#[wasm_bindgen_test]
async fn the_divider_sits_before_the_first_unread_message() {
    let log = RwSignal::new(ChatLog::new());
    let divider = RwSignal::new(None::<EntryKey>);
    let root = container();
    let _app = mount_to(root.clone(), move || {
        view! { <ChatList log=log divider=divider /> }
    });
    let el: web_sys::Element = root.into();
    log.update(|l| {
        l.push(entry("a", "bob", false));
        l.push(entry("b", "me", true));
        l.push(entry("c", "bob", false));
    });
    tick().await;
    assert_eq!(rendered(&el), ["text a", "text b", "text c"]);
    // c was missed.
    divider.set(Some((false, "c".into())));
    tick().await;
    assert_eq!(rendered(&el), ["text a", "text b", "|", "text c"]);
    // It stays put while more arrives.
    log.update(|l| {
        l.push(entry("d", "bob", false));
    });
    tick().await;
    assert_eq!(rendered(&el), ["text a", "text b", "|", "text c", "text d"]);
    divider.set(None);
    tick().await;
    assert_eq!(rendered(&el), ["text a", "text b", "text c", "text d"]);
}

fn mount_room(
    root: &web_sys::HtmlElement,
    cache: Rc<SessionCache>,
    last_read: Option<EntryKey>,
) -> (UnmountHandle<impl Mountable>, ChatContext) {
    let slot = StoredValue::new_local(None::<ChatContext>);
    let session = offline_session();
    let stored = Stored {
        cache: Some(cache),
        last_read,
        ..Stored::default()
    };
    let app = mount_to(root.clone(), move || {
        provide_session_state(session, None, stored, Callback::new(|_| {}));
        slot.set_value(Some(use_chat()));
        view! { <RoomPage /> }
    });
    (app, slot.get_value().expect("chat provided"))
}

#[wasm_bindgen_test]
async fn the_read_position_is_kept_and_a_reload_puts_the_divider_back() {
    let cache = fresh_cache().await;
    let root = container();
    let (app, chat) = mount_room(&root, cache.clone(), None);
    let el: web_sys::Element = root.clone().into();
    // In view (the test page is visible): read as it comes, no divider.
    chat.add(entry("one", "bob", false));
    chat.add(entry("two", "bob", false));
    tick().await;
    assert!(el.query_selector(".chat-divider").unwrap().is_none());
    let want = Some(serde_json::json!([false, "two"]));
    assert!(eventually(|| async { cache.get_session(KEY_LAST_READ).await.unwrap() == want }).await);
    let kept = cache.get_session(KEY_LAST_READ).await.unwrap();
    drop(app);

    // The reload: what was read comes back, then what was missed (sent
    // before the reload), then what comes live: only the missed is new.
    let root = container();
    let last: EntryKey = serde_json::from_value(kept.unwrap()).unwrap();
    let (app, chat) = mount_room(&root, cache.clone(), Some(last));
    let el: web_sys::Element = root.clone().into();
    chat.add(entry("one", "bob", false));
    chat.add(entry("two", "bob", false));
    chat.add(entry("three", "bob", false));
    tick().await;
    assert_eq!(rendered(&el), ["text one", "text two", "|", "text three"]);
    let mut live = entry("four", "bob", false);
    live.shown_at_ms = now_ms() + 60_000;
    chat.add(live);
    tick().await;
    assert_eq!(
        rendered(&el),
        ["text one", "text two", "|", "text three", "text four"],
        "the divider stays where it was"
    );
    let want = Some(serde_json::json!([false, "four"]));
    assert!(
        eventually(|| async { cache.get_session(KEY_LAST_READ).await.unwrap() == want }).await,
        "read on"
    );
    drop(app);
}
