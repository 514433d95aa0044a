//! Whom the chat's composer writes to, shared between the composer and
//! the messages (whose **Reply privately** chooses their sender).

use leptos::prelude::*;

/// Empty for everyone, else the user id of a private recipient; provided
/// by the chat panel.
#[derive(Clone, Copy)]
pub struct PrivateTarget(pub RwSignal<String>);

/// Puts the focus in the message box.
pub fn focus_composer() {
    if let Some(el) = document().get_element_by_id("chat-input") {
        let el: web_sys::HtmlElement = wasm_bindgen::JsCast::unchecked_into(el);
        let _ = el.focus();
    }
}
