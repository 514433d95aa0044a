//! Small things every layer uses: random ids, a timer future, a way to
//! continue in the next task, and times as shown. The lowest layer of the
//! client: of ours it imports only the pure `quorum-client-core`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use quorum_client_core::clock;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// 16 random bytes as 32 lowercase hex characters.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // Ids only need to be unique, not secret; this path is for
        // exotic environments without Web Crypto.
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where [`tab_id`] is kept on `window`.
const TAB_KEY: &str = "quorumTab";

/// This page's id for "Use this tab instead" (see
/// `quorum_shared::api::TAKE_OVER_HEADER`): made once per page and kept on
/// `window`, since the shell and the room are separate modules (a Rust
/// static would differ between them); never in storage, which a
/// duplicated tab would copy.
pub fn tab_id() -> String {
    let Some(w) = web_sys::window() else {
        return random_id();
    };
    if let Some(id) = js_sys::Reflect::get(&w, &TAB_KEY.into())
        .ok()
        .and_then(|v| v.as_string())
    {
        return id;
    }
    new_tab_id()
}

/// Gives this page a new [`tab_id`]: after the server refused the old one
/// (the meeting was taken to another tab while this one was away), so
/// that choosing to come back here is a new tab's choice.
pub fn new_tab_id() -> String {
    let id = random_id();
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &TAB_KEY.into(), &id.as_str().into());
    }
    id
}

/// Runs `f` in a task of its own, as soon as the browser gets to it: after
/// input and a due frame, but without the 4 ms that a chain of
/// `setTimeout(0)`s is held to. For long work split into slices.
pub fn next_task(f: impl FnOnce() + 'static) {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        // No MessageChannel (never in a browser we support): a timer.
        if let Some(w) = web_sys::window() {
            let cb = Closure::once_into_js(f);
            let _ = w.set_timeout_with_callback(cb.unchecked_ref());
        }
        return;
    };
    let port = channel.port1();
    let keep = port.clone();
    let cb = Closure::once_into_js(move || {
        keep.set_onmessage(None);
        f();
    });
    port.set_onmessage(Some(cb.unchecked_ref()));
    let _ = channel.port2().post_message(&JsValue::NULL);
}

/// Runs `f` once: when the returned function is called, or at the next
/// animation frame, whichever comes first. For our own new private message
/// in an E2EE room, drawn once it is sealed and written (drawn first, it would
/// hold up the sealed bytes, which come back in a task of their own), yet
/// never later than the frame it would have shown in if sealing waits.
pub fn now_or_next_frame(f: impl FnOnce() + 'static) -> impl Fn() + Clone + 'static {
    let f = std::rc::Rc::new(std::cell::Cell::new(Some(f)));
    let run = move || {
        if let Some(f) = f.take() {
            f();
        }
    };
    let at_frame = run.clone();
    leptos::prelude::request_animation_frame(at_frame);
    run
}

/// A future that resolves after a delay; dropping it clears the timeout,
/// so an answered request leaves no timer behind.
pub struct Sleep {
    fut: JsFuture,
    id: Option<i32>,
}

impl Sleep {
    /// Resolves after `d` (or never, without a `window`).
    pub fn new(d: Duration) -> Self {
        let ms = d.as_millis().min(i32::MAX as u128) as i32;
        let mut id = None;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            id = web_sys::window().and_then(|w| {
                w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
                    .ok()
            });
        });
        Self {
            fut: JsFuture::from(promise),
            id,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.fut).poll(cx) {
            Poll::Ready(_) => {
                self.id = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(id), Some(w)) = (self.id.take(), web_sys::window()) {
            w.clear_timeout_with_handle(id);
        }
    }
}

/// `HH:MM` in the browser's time zone.
pub fn format_hhmm(ms: u64) -> String {
    clock::hhmm(ms, offset_ms(ms))
}

/// ISO 8601 for `<time datetime>`; empty if `ms` is not a valid date.
pub fn iso_time(ms: u64) -> String {
    clock::iso_utc(ms)
}

/// [`iso_time`] and [`format_hhmm`] together (a chat message's `<time>`).
pub fn time_texts(ms: u64) -> (String, String) {
    (iso_time(ms), format_hhmm(ms))
}

/// How far (ms) the browser's clock is behind UTC at `ms` (it changes
/// with daylight saving time): the one thing about a time the strings
/// above need from JS, and a number, so nothing to convert.
fn offset_ms(ms: u64) -> i64 {
    let minutes = js_sys::Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset();
    if minutes.is_finite() {
        (minutes * 60_000.0).round() as i64
    } else {
        0
    }
}

#[wasm_bindgen(inline_js = "export function import_module(url) { return import(url); }")]
extern "C" {
    /// A dynamic `import()` of the module at `url` (Rust can't write one
    /// itself): the media bundle, and the room module after pre-join.
    #[wasm_bindgen(catch)]
    pub fn import_module(url: &str) -> Result<js_sys::Promise, JsValue>;
}
