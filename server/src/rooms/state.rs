//! The values kept in KV: a room session, its participants, and what is
//! known of each NATS connection.

use quorum_shared::api::{LockSettings, RoomMetadata};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects::Access;
use serde::{Deserialize, Serialize};

use super::takeover::Tabs;

/// A running room session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// The room id.
    pub room_id: RoomId,
    /// The session id (UUIDv4), fresh per session.
    pub sid: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds the room may stay empty.
    pub empty_timeout: u64,
    /// 0 = unlimited.
    pub max_participants: u64,
    /// The metadata as created, defaults filled in (never holds secrets).
    pub metadata: RoomMetadata,
    /// When the room last became empty (unix seconds); `None` while
    /// someone is online. Starts at creation: an unused room is empty.
    #[serde(default)]
    pub empty_since: Option<i64>,
    /// Most participants online at once.
    #[serde(default)]
    pub peak_participants: u64,
    /// Someone has joined (for the `room_started` webhook).
    #[serde(default)]
    pub started: bool,
    /// Users refused at token and verify.
    #[serde(default)]
    pub blocked: Vec<UserId>,
    /// Set (unix seconds) by the one instance that claimed ending it.
    #[serde(default)]
    pub ending: Option<i64>,
    /// Locked by a moderator: no new joiners.
    #[serde(default)]
    pub locked: bool,
}

impl RoomState {
    /// When the empty timeout runs out, if the room is empty.
    pub fn empty_until(&self) -> Option<i64> {
        let timeout = i64::try_from(self.empty_timeout).unwrap_or(i64::MAX);
        self.empty_since.map(|t| t.saturating_add(timeout))
    }

    /// When `room_duration` runs out, if set.
    pub fn ends_at(&self) -> Option<i64> {
        match self.metadata.room_features.room_duration {
            // Saturating: an absurd duration means "never", not a wrap.
            Some(m) if m > 0 => {
                let secs = i64::try_from(m).unwrap_or(i64::MAX).saturating_mul(60);
                Some(self.created_at.saturating_add(secs))
            }
            _ => None,
        }
    }
}

/// Where a participant is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// A join token was issued; never connected yet.
    Invited,
    /// Connected to NATS now.
    Online,
    /// The connection dropped; within the grace period it may come back.
    Disconnected,
    /// Was connected, is not now.
    Offline,
}

/// What we know about one NATS connection of a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// The room.
    pub room_id: RoomId,
    /// The user.
    pub user_id: UserId,
    /// nats-server's client id, from the connect advisory (for kicks).
    #[serde(default)]
    pub cid: Option<u64>,
    /// The server holding the connection, from the connect advisory.
    #[serde(default)]
    pub server_id: Option<String>,
    /// What the callout granted this connection. nats-server keeps these
    /// allow-lists for the connection's life, so a change that could not
    /// kick it yet (see [`service::RoomService::connected`]) is caught by
    /// comparing them with [`ParticipantState::access`].
    #[serde(default)]
    pub granted: Option<Access>,
    /// When the connect advisory came (unix seconds): from then on the
    /// connection shows in nats-server's connection lists.
    #[serde(default)]
    pub connected_at: Option<i64>,
    /// The room session it was authorized for: a connection never acts in
    /// a later session of the same room id.
    #[serde(default)]
    pub sid: String,
}

/// One participant of a room session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantState {
    /// The room.
    pub room_id: RoomId,
    /// The room session it was invited to; a record of an earlier session
    /// of the same room id counts as absent.
    #[serde(default)]
    pub sid: String,
    /// The user.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// A moderator.
    pub is_admin: bool,
    /// Hidden from the participant list.
    pub is_hidden: bool,
    /// Effective locks.
    pub lock_settings: LockSettings,
    /// Waiting-room approval pending.
    pub wait_for_approval: bool,
    /// Presence.
    pub presence: Presence,
    /// The user nkey of the current NATS connection, if online.
    pub conn: Option<String>,
    /// When the callout that authorized `conn` began (unix ms): callouts
    /// run concurrently, and a slower, older one never replaces a newer.
    #[serde(default)]
    pub conn_at_ms: i64,
    /// Hand raised.
    #[serde(default)]
    pub hand_raised: bool,
    /// When the presence last changed (unix seconds), for the grace timers.
    #[serde(default)]
    pub presence_since: i64,
    /// Offline long enough to be dropped from the participant list.
    #[serde(default)]
    pub cleaned_up: bool,
    /// Sent too much: may not publish chat until then (unix seconds).
    #[serde(default)]
    pub throttled_until: Option<i64>,
    /// Microphone muted by a moderator.
    #[serde(default)]
    pub muted: bool,
    /// What LiveKit says this participant publishes (its webhooks):
    /// `microphone`, `camera`, `screen_share`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishing: Vec<String>,
    /// Which tab holds the meeting, and which it was taken from.
    #[serde(default, skip_serializing_if = "Tabs::is_empty")]
    pub tabs: Tabs,
}

impl ParticipantState {
    /// What this participant may do now, as the callout grants it.
    pub fn access(&self) -> Access {
        self.access_at(crate::tokens::now_secs() as i64)
    }

    /// What this participant may do at unix time `now`.
    pub fn access_at(&self, now: i64) -> Access {
        Access {
            waiting: self.wait_for_approval,
            chat_locked: self.chat_locked_by_moderator() || self.throttled_at(now),
            private_locked: !self.is_admin && self.lock_settings.private_chat_locked(),
        }
    }

    /// Locked out of chat by the room's or a moderator's lock.
    pub fn chat_locked_by_moderator(&self) -> bool {
        !self.is_admin && self.lock_settings.chat_locked()
    }

    /// Throttled for flooding at unix time `now`.
    pub fn throttled_at(&self, now: i64) -> bool {
        self.throttled_until.is_some_and(|t| now < t)
    }
}
