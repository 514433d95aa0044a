//! Lists whose items stay put: an update that drops the oldest and adds
//! new ones (a full toast stack, a full reaction feed, the waiting room
//! as people come and go) never takes an item that stays out of the
//! page. Leptos' `<For>` did: a moved item loses the keyboard focus inside
//! it, and in a live region is read out again.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::state::moderation::{use_moderation, ModerationEvent, ReactionEvent};
use quorum_client::state::toasts::{Toast, MAX_TOASTS};
use quorum_shared::events::NotificationType;
use quorum_shared::ids::UserId;
use quorum_shared::moderation::WaitingEntry;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::events::mount_toasts;
use super::session::mount_offline_room;
use super::{container, document};

/// Counts, from now on, the children of `list` that were in it already
/// and are inserted again (a move is a removal and an insertion).
fn count_moves(list: &web_sys::Element) -> impl Fn() -> u32 {
    let watch = js_sys::Function::new_with_args(
        "list",
        "const before = new Set(list.children); let moves = 0;
         const count = records => {
           for (const r of records) for (const n of r.addedNodes) if (before.has(n)) moves++;
         };
         const seen = new MutationObserver(count);
         seen.observe(list, { childList: true });
         return () => { count(seen.takeRecords()); return moves; };",
    );
    let read: js_sys::Function = watch
        .call1(&wasm_bindgen::JsValue::NULL, list)
        .unwrap()
        .unchecked_into();
    move || {
        read.call0(&wasm_bindgen::JsValue::NULL)
            .unwrap()
            .as_f64()
            .unwrap() as u32
    }
}

/// Asserts the keyboard focus is on `el`.
fn assert_focus_on(el: &web_sys::HtmlElement, what: &str) {
    let focused = document().active_element();
    assert!(
        focused.is_some_and(|f| f == *el.unchecked_ref::<web_sys::Element>()),
        "the focus left {what}"
    );
}

fn toast(id: &str) -> Toast {
    super::events::toast(id, NotificationType::Info)
}

#[wasm_bindgen_test]
async fn a_full_toast_stack_takes_new_ones_without_moving_the_others() {
    let (queue, root, _app) = mount_toasts(Duration::from_secs(600));
    queue.update(|q| {
        for n in 0..MAX_TOASTS {
            q.push(toast(&format!("t{n}")));
        }
    });
    tick().await;
    let region = root.query_selector("#toasts").unwrap().unwrap();
    assert_eq!(region.children().length() as usize, MAX_TOASTS);
    // A keyboard user on the newest toast's close button.
    let close: web_sys::HtmlElement = region
        .last_element_child()
        .unwrap()
        .query_selector("button.toast-close")
        .unwrap()
        .unwrap()
        .unchecked_into();
    close.focus().unwrap();
    let moves = count_moves(&region);

    // Two more at once (one socket read can carry several events): the
    // two oldest go, the new ones come last.
    queue.update(|q| {
        q.push(toast("new0"));
        q.push(toast("new"));
    });
    tick().await;
    let texts: Vec<String> = (0..region.children().length())
        .filter_map(|i| region.children().item(i))
        .filter_map(|e| e.query_selector(".toast-text").ok().flatten())
        .filter_map(|e| e.text_content())
        .collect();
    assert_eq!(texts.len(), MAX_TOASTS);
    assert!(texts[0].ends_with("note t2"), "{texts:?}");
    assert!(texts[MAX_TOASTS - 1].ends_with("note new"), "{texts:?}");
    assert_focus_on(&close, "the close button");
    assert_eq!(moves(), 0, "toasts that stayed were moved");
}

#[wasm_bindgen_test]
async fn a_wave_of_reactions_never_moves_those_still_shown() {
    let root = container();
    let (_app, moderation) = mount_offline_room(&root, use_moderation);
    let react = |n: u64| {
        moderation.apply(ModerationEvent::Reaction(ReactionEvent {
            user_id: format!("user{n}"),
            payload: "clap".to_string(),
            sent_at_ms: n,
            seq: 0,
        }))
    };
    // The feed full, then a wave: five more in one update, as one socket
    // read carries them.
    for n in 0..8 {
        react(n);
    }
    tick().await;
    let feed = root
        .query_selector("#reactions .reaction-feed")
        .unwrap()
        .unwrap();
    assert_eq!(feed.children().length(), 8);
    let moves = count_moves(&feed);
    for n in 8..13 {
        react(n);
    }
    tick().await;
    let who: Vec<String> = (0..feed.children().length())
        .filter_map(|i| feed.children().item(i))
        .filter_map(|e| e.text_content())
        .collect();
    assert_eq!(who.len(), 8, "{who:?}");
    assert!(who[0].starts_with("user5"), "{who:?}");
    assert!(who[7].starts_with("user12"), "{who:?}");
    assert_eq!(moves(), 0, "reactions still shown were moved");
}

#[wasm_bindgen_test]
async fn people_coming_and_going_leave_the_focus_on_the_admit_button() {
    let root = container();
    let (_app, moderation) = mount_offline_room(&root, use_moderation);
    moderation.apply(ModerationEvent::Role(true));
    let wait = |n: u64, waiting: bool| {
        let entry = WaitingEntry {
            user_id: UserId::parse(format!("guest{n}")).unwrap(),
            name: format!("Guest {n}"),
            since_ms: n,
        };
        moderation.apply(ModerationEvent::Waiting(entry, waiting));
    };
    for n in 1..=6 {
        wait(n, true);
    }
    tick().await;
    let list = root
        .query_selector("#waiting-panel .waiting-list")
        .unwrap()
        .unwrap();
    assert_eq!(list.children().length(), 6);
    // A moderator about to admit the last one.
    let admit: web_sys::HtmlElement = list
        .query_selector("[data-user=guest6] .admit")
        .unwrap()
        .unwrap()
        .unchecked_into();
    admit.focus().unwrap();
    let moves = count_moves(&list);
    // In one update (one socket read): three admitted by another
    // moderator, three more arriving.
    for n in 1..=3 {
        wait(n, false);
    }
    for n in 7..=9 {
        wait(n, true);
    }
    tick().await;
    let users: Vec<String> = (0..list.children().length())
        .filter_map(|i| list.children().item(i))
        .filter_map(|e| e.get_attribute("data-user"))
        .collect();
    assert_eq!(
        users,
        ["guest4", "guest5", "guest6", "guest7", "guest8", "guest9"]
    );
    assert_focus_on(&admit, "the Admit button");
    assert_eq!(moves(), 0, "people still waiting were moved");

    // Nobody left, then someone new: the list is drawn afresh.
    for n in 4..=9 {
        wait(n, false);
    }
    tick().await;
    assert!(root
        .query_selector("#waiting-panel .waiting-list")
        .unwrap()
        .is_none());
    wait(10, true);
    tick().await;
    let entries = root
        .query_selector_all("#waiting-panel .waiting-entry")
        .unwrap();
    let users: Vec<String> = (0..entries.length())
        .filter_map(|i| entries.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .filter_map(|e| e.get_attribute("data-user"))
        .collect();
    assert_eq!(users, ["guest10"]);
}
