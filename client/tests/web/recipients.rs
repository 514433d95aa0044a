//! The composer's "Send to" in a big room: a bounded number of people at
//! once, a search for the others, and the chosen one always offered.

use leptos::task::tick;
use quorum_client::components::recipient_picker::OFFERED_AT_ONCE;
use quorum_client::state::participants::{use_roster, RosterEvent};
use quorum_shared::events::PresenceState;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::container;
use super::session::mount_offline_room;

/// The options of `#chat-to`: value, whether disabled, text.
fn options(root: &web_sys::Element) -> Vec<(String, bool, String)> {
    let list = root.query_selector_all("#chat-to option").unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|o| o.unchecked_into::<web_sys::Element>())
        .map(|o| {
            let value = o.get_attribute("value").unwrap_or_default();
            (
                value,
                o.has_attribute("disabled"),
                o.text_content().unwrap_or_default(),
            )
        })
        .collect()
}

fn set_and_fire(root: &web_sys::Element, css: &str, value: &str, event: &str) {
    let el = root.query_selector(css).unwrap().expect(css);
    js_sys::Reflect::set(&el, &"value".into(), &value.into()).unwrap();
    el.dispatch_event(&web_sys::Event::new(event).unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_big_room_offers_a_few_people_at_once_and_finds_the_others() {
    let root = container();
    let (_app, roster) = mount_offline_room(&root, use_roster);
    let root: web_sys::Element = root.into();

    // A few people: all offered, no search.
    let join = |n: usize| {
        roster.apply(RosterEvent::Presence {
            user_id: format!("p{n:03}"),
            name: format!("Person {n:03}"),
            is_admin: false,
            state: PresenceState::Online,
        })
    };
    for n in 0..5 {
        join(n);
    }
    tick().await;
    assert_eq!(options(&root).len(), 1 + 5);
    assert!(root.query_selector("#chat-to-find").unwrap().is_none());

    // 500: the first few, then how many more, which can't be chosen.
    for n in 5..500 {
        join(n);
    }
    tick().await;
    let shown = options(&root);
    assert_eq!(shown.len(), 1 + OFFERED_AT_ONCE + 1, "{shown:?}");
    assert_eq!(shown[0].0, "", "Everyone first");
    assert_eq!(shown[1].0, "p000");
    let (value, disabled, text) = &shown[OFFERED_AT_ONCE + 1];
    assert!(value.is_empty() && *disabled, "{shown:?}");
    assert!(text.contains("450 more"), "{text}");

    // Typing narrows them.
    set_and_fire(&root, "#chat-to-find", "person 42", "input");
    tick().await;
    let values: Vec<String> = options(&root).into_iter().map(|o| o.0).collect();
    assert_eq!(values.len(), 1 + 10, "{values:?}");
    assert_eq!(values[1], "p420");

    // One chosen stays offered, and chosen, once the search is cleared.
    set_and_fire(&root, "#chat-to", "p425", "change");
    tick().await;
    set_and_fire(&root, "#chat-to-find", "", "input");
    tick().await;
    let shown = options(&root);
    assert_eq!(shown.len(), 1 + OFFERED_AT_ONCE + 1 + 1, "{shown:?}");
    assert_eq!(shown[OFFERED_AT_ONCE + 1].0, "p425");
    let select: web_sys::HtmlSelectElement = root
        .query_selector("#chat-to")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(select.value(), "p425");
    assert!(
        root.query_selector("#private-bar").unwrap().is_some(),
        "the composer is not writing privately"
    );
}
