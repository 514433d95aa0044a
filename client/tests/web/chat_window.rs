//! The chat list's window: the newest while following, more as the
//! reader scrolls back, and how it slides while messages keep coming.

use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::events::eventually;
use super::{entry, one_frame};

/// The chat list's DOM: the messages rendered, by id.
fn rendered_ids(root: &web_sys::Element) -> Vec<String> {
    let items = root.query_selector_all("li.chat-message").unwrap();
    (0..items.length())
        .filter_map(|i| items.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .filter_map(|e| e.get_attribute("data-id"))
        .collect()
}

#[wasm_bindgen_test]
async fn the_list_renders_the_newest_and_more_as_the_reader_scrolls_back() {
    use quorum_client::components::chat::{READ_SPAN, WINDOW};
    let (log, root, _app) = super::mount_list();
    let ul: web_sys::HtmlElement = root
        .query_selector("#chat-list")
        .unwrap()
        .unwrap()
        .unchecked_into();
    // Short enough to scroll, as in the room (no style sheet here).
    ul.style().set_property("height", "300px").unwrap();
    ul.style().set_property("overflow-y", "auto").unwrap();
    log.update(|l| {
        for i in 0..500 {
            l.push(entry(&format!("m{i}"), "bob", false));
        }
    });
    tick().await;
    // Following the newest: only the window is in the DOM.
    let ids = rendered_ids(&root);
    assert_eq!(ids.len(), WINDOW);
    assert_eq!(ids.last().map(String::as_str), Some("m499"));
    assert!(
        root.query_selector_all("#chat-list *").unwrap().length() <= 300,
        "the list's DOM stays small"
    );

    // The reader scrolls to the top: older messages come in above, one
    // step of the window.
    scroll_by_reader(&ul, 0);
    // A new message before the frame that puts the reader's view back
    // (the scroll position is still at the top until then) adds below and
    // moves nothing: no second step.
    log.update(|l| {
        l.push(entry("late", "bob", false));
    });
    assert!(
        eventually(|| {
            let n = rendered_ids(&root).len();
            async move { n > WINDOW }
        })
        .await,
        "no older messages"
    );
    sleep_frame().await;
    let ids = rendered_ids(&root);
    let first = ids[0].clone();
    // The window and one step (a step is a window's worth).
    assert_eq!(first, format!("m{}", 500 - 2 * WINDOW), "one step back");
    assert_eq!(ids.last().map(String::as_str), Some("late"));
    // More new messages while reading back add below and take nothing away.
    log.update(|l| {
        l.push(entry("later", "bob", false));
    });
    tick().await;
    sleep_frame().await;
    let ids = rendered_ids(&root);
    assert_eq!(ids[0], first, "what is being read stays");
    assert_eq!(ids.last().map(String::as_str), Some("later"));

    // Further back, step by step: the page never holds more than the
    // reading span, and what is in view stays put.
    let mut oldest = first;
    for _ in 0..4 {
        let seen_before = rendered_ids(&root)[0].clone();
        scroll_by_reader(&ul, 0);
        assert!(
            eventually(|| {
                let now = rendered_ids(&root)[0].clone();
                let moved = now != seen_before;
                async move { moved }
            })
            .await,
            "no older messages"
        );
        let ids = rendered_ids(&root);
        assert!(ids.len() <= READ_SPAN, "{} messages in the page", ids.len());
        oldest = ids[0].clone();
    }
    let n: usize = oldest[1..].parse().unwrap();
    assert!(n < 500 - 4 * 60, "read back to {oldest}");

    // Back down to the newest: newer messages come in below, older go,
    // until the window follows the newest again.
    let mut back = false;
    for _ in 0..20 {
        scroll_by_reader(&ul, ul.scroll_height());
        let _ = eventually(|| {
            let n = rendered_ids(&root).len();
            async move { n <= READ_SPAN }
        })
        .await;
        sleep_frame().await;
        let ids = rendered_ids(&root);
        assert!(ids.len() <= READ_SPAN);
        if ids.len() == WINDOW && ids.last().map(String::as_str) == Some("later") {
            back = true;
            break;
        }
    }
    assert!(
        back,
        "the window did not come back: {:?}",
        rendered_ids(&root).last()
    );
}

/// Scrolls `ul` to `top` as the reader would (a wheel first, so the
/// list takes the scroll as theirs).
fn scroll_by_reader(ul: &web_sys::HtmlElement, top: i32) {
    ul.dispatch_event(&web_sys::Event::new("wheel").unwrap())
        .unwrap();
    ul.set_scroll_top(top);
    ul.dispatch_event(&web_sys::Event::new("scroll").unwrap())
        .unwrap();
}

/// Waits for two animation frames (what the list does after a change).
async fn sleep_frame() {
    one_frame().await;
    one_frame().await;
}

#[wasm_bindgen_test]
async fn a_burst_slides_the_window_now_and_then_and_it_settles_at_the_newest() {
    use quorum_client::components::chat::WINDOW;
    let (log, root, _app) = super::mount_list();
    log.update(|l| {
        for i in 0..100 {
            l.push(entry(&format!("m{i}"), "bob", false));
        }
    });
    tick().await;
    assert_eq!(rendered_ids(&root).len(), WINDOW);

    // One message a frame: each is drawn at once, on top of the window,
    // which slides every so often rather than at every frame.
    let mut most = 0;
    for i in 100..140 {
        log.update(|l| {
            l.push(entry(&format!("m{i}"), "bob", false));
        });
        tick().await;
        let ids = rendered_ids(&root);
        assert_eq!(ids.last(), Some(&format!("m{i}")), "drawn at once");
        most = most.max(ids.len());
        one_frame().await;
    }
    assert!(most > WINDOW + 1, "the window slid at every frame");
    assert!(
        most <= WINDOW + 12,
        "{most} drawn: more than a frame's batch over"
    );
    // Once nothing more comes, the window is the newest again.
    assert!(
        eventually(|| {
            let ids = rendered_ids(&root);
            let settled = ids.len() == WINDOW && ids.last().map(String::as_str) == Some("m139");
            async move { settled }
        })
        .await,
        "{} drawn",
        rendered_ids(&root).len()
    );
}

#[wasm_bindgen_test]
async fn a_flood_draws_half_the_window_until_it_is_over() {
    use quorum_client::components::chat::WINDOW;
    let root = super::container();
    let (_app, chat) = super::room::offline_room(&root);
    let root: web_sys::Element = root.into();
    // More in one batch than the list shows: a flood.
    for i in 0..(WINDOW as u32 + 40) {
        chat.receive(entry(&format!("f{i}"), "bob", false), None);
    }
    assert!(eventually(|| async { !rendered_ids(&root).is_empty() }).await);
    assert!(chat.flooding().get_untracked(), "a batch of 100 is a flood");
    let ids = rendered_ids(&root);
    assert_eq!(ids.len(), WINDOW / 2, "{ids:?}");
    assert_eq!(ids.last().map(String::as_str), Some("f99"));
    // No batch that big since: the flood is over, and the whole window
    // is drawn again, the newest still last.
    assert!(eventually(|| async { !chat.flooding().get_untracked() }).await);
    assert!(eventually(|| async { rendered_ids(&root).len() == WINDOW }).await);
    let ids = rendered_ids(&root);
    assert_eq!(ids.len(), WINDOW, "{ids:?}");
    assert_eq!(ids.last().map(String::as_str), Some("f99"));
    // A message on its own is no flood.
    chat.receive(entry("one", "bob", false), None);
    tick().await;
    assert!(!chat.flooding().get_untracked());
}
