//! System events from the server, on the room-wide public subject and this
//! user's private one: decoding, and routing each to the chat, the toasts,
//! the participant list, the session (end, removal, approval, locks). The
//! public subject is wired up in `sync.rs` (it is also replayed from the
//! room's history); the private one here.
//!
//! Only the server may publish on these subjects (nats-server enforces
//! it), so events are trusted; they are still validated, and a malformed
//! one is logged and dropped, never fatal.

use leptos::prelude::*;
use quorum_shared::api::LockSettings;
use quorum_shared::events::SystemEvent;
use quorum_shared::ids::UserId;
use quorum_shared::moderation::WaitingEntry;

use crate::join::JoinToken;
use crate::state::chat::{shown_at, valid_id, ChatEntry, EntryKind, Sender};
use crate::state::goodbye::Goodbye;
use crate::state::moderation::{ModerationEvent, ReactionEvent};
use crate::state::participants::RosterEvent;
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
    /// A change to the participant list.
    Roster(RosterEvent),
    /// We were let in from the waiting room, with a new token.
    Approved(JoinToken),
    /// We were removed (or turned away); `true` if for good.
    Removed(bool),
    /// Our chat lock changed; `true` if locked (and all our locks, from
    /// servers that send them).
    Locks(bool, Option<LockSettings>),
    /// Roles, the waiting room, room settings, microphones, reactions.
    Moderation(ModerationEvent),
    /// We sent too fast: chat is paused for this many seconds.
    Throttled(u64),
    /// Nothing to do here.
    Nothing,
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
    /// An approval without a token.
    #[error("approval without a token")]
    NoToken,
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
                private_to: None,
                kind: EntryKind::Message,
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
        SystemEvent::Presence {
            user_id,
            name,
            is_admin,
            state,
        } => Routed::Roster(RosterEvent::Presence {
            user_id,
            name,
            is_admin,
            state,
        }),
        SystemEvent::Hand { user_id, raised } => {
            Routed::Roster(RosterEvent::Hand { user_id, raised })
        }
        // Never logged: the token is a credential (`JoinToken`'s Debug
        // is redacted).
        SystemEvent::Approved { token } => {
            Routed::Approved(JoinToken::new(token).ok_or(EventError::NoToken)?)
        }
        SystemEvent::Removed { blocked } => Routed::Removed(blocked),
        SystemEvent::LocksChanged { chat_locked, locks } => Routed::Locks(chat_locked, locks),
        SystemEvent::Waiting {
            user_id,
            name,
            since_ms,
            waiting,
        } => {
            let user_id = UserId::parse(user_id).map_err(|_| EventError::BadId)?;
            Routed::Moderation(ModerationEvent::Waiting(
                WaitingEntry {
                    user_id,
                    name,
                    since_ms,
                },
                waiting,
            ))
        }
        SystemEvent::RoleChanged { is_admin } => {
            Routed::Moderation(ModerationEvent::Role(is_admin))
        }
        SystemEvent::PersonChanged { person } => {
            Routed::Moderation(ModerationEvent::Person(person))
        }
        SystemEvent::RoomSettingsChanged { settings } => {
            Routed::Moderation(ModerationEvent::Settings(settings))
        }
        SystemEvent::WaitingMessage { text } => {
            Routed::Moderation(ModerationEvent::WaitingMessage(text))
        }
        SystemEvent::Microphone { muted, ask_unmute } => {
            Routed::Moderation(ModerationEvent::Microphone { muted, ask_unmute })
        }
        SystemEvent::Reaction {
            user_id,
            payload,
            sent_at_ms,
        } => Routed::Moderation(ModerationEvent::Reaction(ReactionEvent {
            user_id,
            payload,
            sent_at_ms: shown_at(sent_at_ms, now_ms),
            seq: 0,
        })),
        SystemEvent::Throttled { seconds } => Routed::Throttled(seconds),
        // Our own take-over (a later tab of ours replaying it) is nothing.
        SystemEvent::MovedToTab { tab } if tab == crate::util::tab_id() => Routed::Nothing,
        SystemEvent::MovedToTab { .. } => Routed::End(Goodbye::Moved),
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
    /// Updates the participant list.
    pub roster: Callback<RosterEvent>,
    /// Switches to the token we were approved with.
    pub approved: Callback<JoinToken>,
    /// Applies a new chat lock.
    pub locks: Callback<bool>,
    /// Pauses our chat for this many seconds (we sent too fast).
    pub throttled: Callback<u64>,
    /// Roles, the waiting room, room settings, microphones, reactions.
    pub moderation: Callback<ModerationEvent>,
}

/// Routes one received event to `sinks`; a bad one is logged and dropped,
/// and so is one arriving after the sinks were disposed (a message in the
/// same batch as the end of the session).
pub fn deliver(sinks: &EventSinks, subject: &str, payload: &[u8], now_ms: u64) {
    let delivered = match route_event(payload, now_ms) {
        Ok(Routed::End(goodbye)) => sinks.end.try_run(goodbye),
        Ok(Routed::Chat(entry)) => sinks.chat.try_run(entry),
        Ok(Routed::Toast(toast)) => sinks.toast.try_run(toast),
        Ok(Routed::Roster(ev)) => sinks.roster.try_run(ev),
        Ok(Routed::Approved(token)) => sinks.approved.try_run(token),
        Ok(Routed::Removed(blocked)) => sinks.end.try_run(Goodbye::removed(blocked)),
        Ok(Routed::Locks(locked, locks)) => {
            if let Some(l) = locks {
                let _ = sinks.moderation.try_run(ModerationEvent::MyLocks(l));
            }
            sinks.locks.try_run(locked)
        }
        Ok(Routed::Moderation(ev)) => sinks.moderation.try_run(ev),
        Ok(Routed::Throttled(secs)) => sinks.throttled.try_run(secs),
        Ok(Routed::Nothing) => Some(()),
        Err(e) => {
            let text = format!("events: dropped one on {subject}: {e}");
            return web_sys::console::warn_1(&text.into());
        }
    };
    if delivered.is_none() {
        web_sys::console::debug_1(&"events: session already gone; dropped one".into());
    }
}
