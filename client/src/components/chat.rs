//! The chat panel: message list and composer.

use std::sync::Arc;

use leptos::html::Ul;
use leptos::prelude::*;
use quorum_shared::peer::MAX_CHAT_LEN;
use wasm_bindgen::JsValue;

use crate::nats::{use_nats, ConnState};
use crate::state::chat::{use_chat, ChatContext, ChatEntry, ChatLog, SendChatError};

/// Distance from the bottom (px) within which the list keeps following new
/// messages; further up, the user is reading history and is left alone.
const STICK_THRESHOLD_PX: i32 = 48;

/// The room's chat: heading, messages, composer.
#[component]
pub fn ChatPanel() -> impl IntoView {
    let chat = use_chat();
    let nats = use_nats();
    view! {
        <aside class="chat-panel" aria-labelledby="chat-heading">
            <h2 id="chat-heading" class="panel-title">"Chat"</h2>
            <ChatList log=chat.log() />
            <Composer chat=chat state=nats.state() />
        </aside>
    }
}

/// `HH:MM` in the browser's time zone.
pub fn format_hhmm(ms: u64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// ISO 8601 for `<time datetime>`; empty if `ms` is not a valid date
/// (`toISOString` would throw).
pub fn iso_time(ms: u64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    if d.get_time().is_nan() {
        return String::new();
    }
    d.to_iso_string().into()
}

/// `<ul id="chat-list">`, following new messages while scrolled to the
/// bottom (and always after sending).
#[component]
pub fn ChatList(#[prop(into)] log: Signal<ChatLog>) -> impl IntoView {
    // -- signals -- //
    let list_ref = NodeRef::<Ul>::new();
    let stick = StoredValue::new(true);
    let frame = StoredValue::new(None::<AnimationFrameRequestHandle>);

    // -- effects -- //
    Effect::new(move || {
        let mine = log.with(|l| {
            let _ = l.revision(); // re-run for every new message
            l.last().is_some_and(|e| e.mine)
        });
        if !(mine || stick.get_value()) {
            return;
        }
        // Scroll after the browser laid out the new item, not before.
        if let Some(h) = frame.get_value() {
            h.cancel();
        }
        let handle = request_animation_frame_with_handle(move || {
            frame.try_set_value(None);
            if let Some(ul) = list_ref.try_get_untracked().flatten() {
                ul.set_scroll_top(ul.scroll_height());
            }
        });
        frame.set_value(handle.ok());
    });
    on_cleanup(move || {
        if let Some(h) = frame.try_get_value().flatten() {
            h.cancel();
        }
    });

    let on_scroll = move |_| {
        if let Some(ul) = list_ref.get_untracked() {
            let from_bottom = ul.scroll_height() - ul.scroll_top() - ul.client_height();
            stick.set_value(from_bottom <= STICK_THRESHOLD_PX);
        }
    };

    view! {
        <div class="chat-body">
            <Show when=move || log.with(ChatLog::is_empty)>
                <p class="chat-empty">"No messages yet"</p>
            </Show>
            // Focusable so keyboard users can scroll the history.
            <ul
                id="chat-list"
                class="chat-list"
                node_ref=list_ref
                role="log"
                aria-live="polite"
                aria-label="Messages"
                tabindex="0"
                on:scroll=on_scroll
            >
                <For
                    each=move || log.with(|l| l.entries().cloned().collect::<Vec<_>>())
                    key=|e| e.key()
                    children=|e| view! { <ChatItem entry=e /> }
                />
            </ul>
        </div>
    }
}

/// One `<li class="chat-message">`, with `mine` for our own messages and
/// `system` for the server's (whose sender reads "System").
#[component]
pub fn ChatItem(entry: Arc<ChatEntry>) -> impl IntoView {
    view! {
        <li
            class="chat-message"
            class:mine=entry.mine
            class:system=entry.is_system()
            data-id=entry.id.clone()
        >
            <span class="sender">{entry.name.clone()}</span>
            " "
            <time class="time" datetime=iso_time(entry.shown_at_ms)>
                {format_hhmm(entry.shown_at_ms)}
            </time>
            <p class="text">{entry.text.clone()}</p>
        </li>
    }
}

/// The message box. Typing stays possible while disconnected; only sending
/// waits, and unsent text is never thrown away.
#[component]
pub fn Composer(chat: ChatContext, #[prop(into)] state: Signal<ConnState>) -> impl IntoView {
    // -- signals -- //
    let draft = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<String>);
    let connected = Memo::new(move |_| state.with(ConnState::is_connected));
    let can_send = move || connected.get() && draft.with(|d| !d.trim().is_empty());

    // -- actions -- //
    let send = move || match chat.send(&draft.get_untracked()) {
        Ok(()) => {
            draft.set(String::new());
            notice.set(None);
        }
        Err(SendChatError::Empty) => {}
        Err(SendChatError::TooLong) => notice.set(Some(format!(
            "Messages are limited to {MAX_CHAT_LEN} bytes; please shorten it."
        ))),
        Err(SendChatError::NotConnected) => notice.set(Some(
            "Not connected right now. Your message is kept; send it once reconnected.".into(),
        )),
        Err(SendChatError::Publish(e)) => {
            web_sys::console::warn_1(&format!("chat: send failed: {e}").into());
            notice.set(Some(
                "Could not send. Your message is kept; try again.".into(),
            ));
        }
    };

    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <label for="chat-input" class="visually-hidden">
                "Message"
            </label>
            <textarea
                id="chat-input"
                rows="2"
                maxlength=MAX_CHAT_LEN.to_string()
                aria-describedby="chat-notice"
                placeholder=move || {
                    if connected.get() { "Write a message…" } else { "Reconnecting…" }
                }
                prop:value=move || draft.get()
                on:input:target=move |ev| {
                    draft.set(ev.target().value());
                    notice.set(None);
                }
                on:keydown=move |ev| {
                    // Enter sends, Shift+Enter is a newline; never interrupt
                    // an IME composition (e.g. Japanese input confirms with Enter).
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button id="chat-send" type="submit" class="btn btn-primary" disabled=move || !can_send()>
                "Send"
            </button>
            <p id="chat-notice" class="chat-notice" aria-live="polite">
                {move || notice.get()}
            </p>
        </form>
    }
}
