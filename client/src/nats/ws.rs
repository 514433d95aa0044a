//! Thin `web_sys::WebSocket` adapter: bytes in and out, events to one
//! callback. All NATS knowledge lives in `quorum_shared::nats_proto`; this
//! file only owns the JS handles and guarantees they are released.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// What the socket reported.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// Received bytes (binary or text frame; NATS may send either).
    Data(Vec<u8>),
    /// The socket closed or failed; it will deliver nothing more.
    Closed {
        /// WebSocket close code (1006 when the connection just dropped).
        code: u16,
        /// Close reason, often empty.
        reason: String,
    },
}

type Callbacks = (
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(CloseEvent)>,
    Closure<dyn FnMut(Event)>,
);

/// An open (or opening) WebSocket. Dropping it detaches the handlers and
/// closes the socket, so a replaced connection can never call back.
pub(crate) struct WsTransport {
    ws: WebSocket,
    callbacks: Option<Callbacks>,
}

impl WsTransport {
    /// Starts connecting to `url`. Fails synchronously only for a malformed
    /// URL; everything later arrives through `on_event`.
    pub(crate) fn connect(
        url: &str,
        on_event: impl FnMut(WsEvent) + 'static,
    ) -> Result<Self, JsValue> {
        let ws = WebSocket::new(url)?;
        // The default is Blob, which can only be read asynchronously and
        // would let frames be processed out of order.
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_event = Rc::new(RefCell::new(on_event));

        let sink = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            let bytes = if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
                Uint8Array::new(buf).to_vec()
            } else if let Some(text) = data.as_string() {
                text.into_bytes()
            } else {
                web_sys::console::warn_2(
                    &"ignoring a WebSocket frame of unknown type".into(),
                    &data,
                );
                return;
            };
            (sink.borrow_mut())(WsEvent::Data(bytes));
        });
        let sink = on_event.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            (sink.borrow_mut())(WsEvent::Closed {
                code: e.code(),
                reason: e.reason(),
            });
        });
        // `error` carries no detail and is always followed by `close`, but a
        // browser that skips the close must not leave us waiting forever;
        // the owner treats a second `Closed` for a dead socket as a no-op.
        let sink = on_event;
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            (sink.borrow_mut())(WsEvent::Closed {
                code: 1006,
                reason: "WebSocket error".to_string(),
            });
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            callbacks: Some((on_message, on_close, on_error)),
        })
    }

    /// Sends one binary frame. Errors if the socket is not open yet; bytes
    /// sent to a closing socket are silently dropped by the browser, which
    /// the keep-alive then notices.
    pub(crate) fn send(&self, bytes: &[u8]) -> Result<(), JsValue> {
        self.ws.send_with_u8_array(bytes)
    }
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        if self.ws.ready_state() <= WebSocket::OPEN {
            // 1000 "normal closure": we chose to leave or replace it.
            let _ = self.ws.close_with_code(1000);
        }
        // This drop often runs inside one of these very closures (e.g. a
        // fatal `-ERR` handled in `onmessage`). Free them on a later tick so
        // no closure is destroyed while it is still executing.
        if let Some(callbacks) = self.callbacks.take() {
            wasm_bindgen_futures::spawn_local(async move { drop(callbacks) });
        }
    }
}
