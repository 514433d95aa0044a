//! System events from the server, on the room-wide public subject and this
//! user's private one: decoding, routing each to the chat, the toasts or
//! the end of the session, and the wiring to NATS.
//!
//! Only the server may publish on these subjects (nats-server enforces
//! it), so events are trusted; they are still validated, and a malformed
//! one is logged and dropped, never fatal.

use leptos::prelude::*;
use quorum_shared::events::SystemEvent;

use crate::nats::{NatsClient, Sub};
use crate::pages::goodbye::Goodbye;
use crate::state::chat::{now_ms, shown_at, valid_id, ChatEntry, Sender};
use crate::state::toasts::Toast;

/// The name shown for system messages in the chat.
pub const SYSTEM_NAME: &str = "System";

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The session is over: say goodbye.
    End(Goodbye),
    /// A system message for the chat.
    Chat(ChatEntry),
    /// A notification for the toasts.
    Toast(Toast),
    /// A valid event this client does not act on (yet).
    Unhandled,
}

/// Why an event was dropped.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or not a known event.
    #[error("malformed event: {0}")]
    Decode(#[from] serde_json::Error),
    /// The event id is empty or absurdly long.
    #[error("bad event id")]
    BadId,
}

/// Decodes `payload` and decides where it goes. Pure.
pub fn route_event(payload: &[u8], now_ms: u64) -> Result<Routed, EventError> {
    Ok(match SystemEvent::decode(payload)? {
        SystemEvent::SessionEnded { reason } => Routed::End(Goodbye::ended(reason)),
        SystemEvent::SystemChat {
            id,
            message,
            sent_at_ms,
        } => {
            if !valid_id(&id) {
                return Err(EventError::BadId);
            }
            Routed::Chat(ChatEntry {
                id,
                sender: Sender::System,
                name: SYSTEM_NAME.to_string(),
                text: message,
                shown_at_ms: shown_at(sent_at_ms, now_ms),
                mine: false,
            })
        }
        SystemEvent::Notification {
            id,
            text,
            kind,
            with_sound,
        } => {
            if !valid_id(&id) {
                return Err(EventError::BadId);
            }
            Routed::Toast(Toast {
                id,
                text,
                kind,
                with_sound,
            })
        }
        // Presence, hands, the waiting room, locks: later issues. Never
        // logged in full: some carry credentials (e.g. a fresh join token).
        _ => Routed::Unhandled,
    })
}

/// What routed events are handed to.
#[derive(Clone, Copy)]
pub struct EventSinks {
    /// Adds a system message to the chat.
    pub chat: Callback<ChatEntry>,
    /// Shows a toast.
    pub toast: Callback<Toast>,
    /// Ends the session.
    pub end: Callback<Goodbye>,
}

/// Routes one received event to `sinks`; a bad one is logged and dropped,
/// and so is one arriving after the sinks were disposed (a message in the
/// same batch as the end of the session).
pub fn deliver(sinks: &EventSinks, subject: &str, payload: &[u8], now_ms: u64) {
    let delivered = match route_event(payload, now_ms) {
        Ok(Routed::End(goodbye)) => sinks.end.try_run(goodbye),
        Ok(Routed::Chat(entry)) => sinks.chat.try_run(entry),
        Ok(Routed::Toast(toast)) => sinks.toast.try_run(toast),
        Ok(Routed::Unhandled) => Some(()),
        Err(e) => {
            let text = format!("events: dropped one on {subject}: {e}");
            return web_sys::console::warn_1(&text.into());
        }
    };
    if delivered.is_none() {
        web_sys::console::debug_1(&"events: session already gone; dropped one".into());
    }
}

/// Handles the public and private subjects until the calling component
/// is unmounted.
pub fn handle_system_events(nats: NatsClient, sinks: EventSinks) {
    for sub in [Sub::Public, Sub::Private] {
        nats.set_handler(sub, move |m| {
            deliver(&sinks, &m.subject, &m.payload, now_ms())
        });
        on_cleanup(move || nats.clear_handler(sub));
    }
}
