//! Scrolling the chat list on our own account: to a place we choose, or
//! so that what the reader sees stays put while the list's window moves.
//! Our scrolls are noted, so the list can tell them from the reader's.

use leptos::html::Ul;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Changes the list's window with `change`, keeping what the reader sees
/// in place: the first message in view is found again once drawn, and the
/// list scrolled by however far it moved.
pub(crate) fn keep_in_view(
    list_ref: NodeRef<Ul>,
    ours: StoredValue<Option<i32>>,
    change: impl FnOnce(),
) {
    let anchor = list_ref.get_untracked().and_then(|ul| first_in_view(&ul));
    change();
    let Some((id, before)) = anchor else {
        return;
    };
    request_animation_frame(move || {
        let Some(ul) = list_ref.try_get_untracked().flatten() else {
            return;
        };
        if let Some(el) = message_items(&ul)
            .find(|el| el.get_attribute("data-id").as_deref() == Some(id.as_str()))
        {
            let moved = el.get_bounding_client_rect().top() - before;
            scroll_to(&ul, ul.scroll_top() + moved.round() as i32, ours);
        }
    });
}

/// Scrolls `ul` to `top` on our own account, noting where that left it in
/// `ours`: the scroll event it brings is not the reader's, however recently
/// they touched the list.
pub(crate) fn scroll_to(ul: &web_sys::HtmlUListElement, top: i32, ours: StoredValue<Option<i32>>) {
    if ul.scroll_top() != top {
        ul.set_scroll_top(top);
        ours.set_value(Some(ul.scroll_top()));
    }
}

/// The drawn messages of `ul`.
fn message_items(ul: &web_sys::HtmlUListElement) -> impl Iterator<Item = web_sys::Element> {
    let items = ul.query_selector_all("li.chat-message").ok();
    let n = items.as_ref().map_or(0, web_sys::NodeList::length);
    (0..n).filter_map(move |i| items.as_ref()?.item(i)?.dyn_into().ok())
}

/// The first message at least partly in view, by its id, with where its
/// top is on screen.
fn first_in_view(ul: &web_sys::HtmlUListElement) -> Option<(String, f64)> {
    let top = ul.get_bounding_client_rect().top();
    message_items(ul).find_map(|el| {
        let r = el.get_bounding_client_rect();
        if r.bottom() <= top {
            return None;
        }
        Some((el.get_attribute("data-id")?, r.top()))
    })
}
