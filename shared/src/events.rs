//! System events the server publishes to participants: room-wide on
//! `subjects::public(room)`, or to one user on `subjects::private(room, user)`.
//! Only the server can publish there (users have no publish permission), so
//! these are trusted by construction.

use serde::{Deserialize, Serialize};

use crate::api::LockSettings;
use crate::moderation::{PersonSettings, RoomSettings};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// A moderator or the integrator ended it (`endRoom`).
    EndedByModerator,
    /// `room_duration` ran out.
    DurationExceeded,
    /// The room stayed empty for `empty_timeout`.
    EmptyTimeout,
}

impl EndReason {
    /// A sentence to show the participant.
    pub fn describe(self) -> &'static str {
        match self {
            Self::EndedByModerator => "The meeting was ended by a moderator.",
            Self::DurationExceeded => "The meeting reached its maximum duration.",
            Self::EmptyTimeout => "The meeting ended because it was empty.",
        }
    }
}

/// Kind of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    /// Informational.
    #[default]
    Info,
    /// Something went well.
    Success,
    /// Needs attention.
    Warning,
    /// Something failed.
    Error,
}

/// Where a participant is, as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    /// Connected.
    Online,
    /// The connection dropped moments ago; may come back.
    Disconnected,
    /// Gone (after the grace period).
    Offline,
    /// Cleaned up: offline long enough to leave the participant list.
    Left,
}

/// A system event. The JSON carries a `type` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemEvent {
    /// The session is over; the client deletes its cache and says goodbye.
    SessionEnded {
        /// Why.
        reason: EndReason,
    },
    /// A chat message from the integrator or server (`broadcastToRoom`).
    SystemChat {
        /// Unique id, for de-duplication.
        id: String,
        /// The text.
        message: String,
        /// Unix milliseconds.
        sent_at_ms: u64,
    },
    /// A notification to show as a toast (`broadcastToRoom`).
    Notification {
        /// Unique id, for de-duplication.
        id: String,
        /// The text.
        text: String,
        /// Its kind.
        #[serde(default)]
        kind: NotificationType,
        /// Play a sound.
        #[serde(default)]
        with_sound: bool,
    },
    /// Room-wide: someone's presence changed.
    Presence {
        /// Who.
        user_id: String,
        /// Display name.
        name: String,
        /// A moderator.
        is_admin: bool,
        /// Now.
        state: PresenceState,
    },
    /// Room-wide: a hand went up or down.
    Hand {
        /// Whose.
        user_id: String,
        /// Up.
        raised: bool,
    },
    /// Private: a moderator let you in. Carries a fresh join token: the
    /// server then drops your waiting-room connection so you reconnect with
    /// full permissions.
    Approved {
        /// Your new join token.
        token: String,
    },
    /// Private: a moderator turned you away, or removed you.
    Removed {
        /// You may not come back.
        blocked: bool,
    },
    /// Private: you chose "Use this tab instead" in tab `tab`: every other
    /// tab of yours ends its session there, without reconnecting (which
    /// would take the meeting back).
    MovedToTab {
        /// The id of the tab that has the meeting now.
        tab: String,
    },
    /// Private: your locks changed; the server reconnects you so nats-server
    /// enforces them.
    LocksChanged {
        /// Chat publishing is locked.
        chat_locked: bool,
        /// All of your locks now (absent from older servers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locks: Option<LockSettings>,
    },
    /// Private: you sent more than the server accepts from one person in a
    /// short time; you may not send chat for `seconds` (nats-server enforces
    /// it: the server reconnects you without chat permission). A
    /// `LocksChanged` follows when the pause is over.
    Throttled {
        /// How long the pause lasts.
        seconds: u64,
    },
    /// Private, to moderators: someone is waiting to be let in, or no
    /// longer is (admitted, turned away, or gone).
    Waiting {
        /// Who.
        user_id: String,
        /// Display name.
        name: String,
        /// Waiting since (unix milliseconds).
        since_ms: u64,
        /// Still waiting.
        waiting: bool,
    },
    /// Private: you were made a moderator, or are one no more. The server
    /// reconnects you with the matching permissions.
    RoleChanged {
        /// A moderator now.
        is_admin: bool,
    },
    /// Private, to moderators: a participant's locks or microphone changed.
    PersonChanged {
        /// The participant's settings now.
        person: PersonSettings,
    },
    /// Private, to moderators: the room's settings changed.
    RoomSettingsChanged {
        /// The settings now.
        settings: RoomSettings,
    },
    /// Private, to people waiting: the waiting-room message changed.
    WaitingMessage {
        /// The message.
        text: String,
    },
    /// Private: a moderator muted your microphone (`muted`), or asks you
    /// to unmute (`ask_unmute`).
    Microphone {
        /// Muted by a moderator.
        muted: bool,
        /// Asked to unmute.
        ask_unmute: bool,
    },
    /// Room-wide: someone reacted. The sender comes from the server.
    Reaction {
        /// Who.
        user_id: String,
        /// One of [`crate::moderation::REACTIONS`], or its envelope.
        payload: String,
        /// Unix milliseconds.
        sent_at_ms: u64,
    },
}

impl SystemEvent {
    /// Payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a payload.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_json_round_trip() {
        let e = SystemEvent::SessionEnded {
            reason: EndReason::EmptyTimeout,
        };
        let s = String::from_utf8(e.encode()).unwrap();
        assert_eq!(s, r#"{"type":"session_ended","reason":"empty_timeout"}"#);
        assert_eq!(SystemEvent::decode(s.as_bytes()).unwrap(), e);
        assert!(SystemEvent::decode(b"{\"type\":\"nope\"}").is_err());
    }
}
