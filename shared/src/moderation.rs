//! What moderators see and set about a room, beyond one participant: the
//! room's own settings, who is waiting, and why the server refused a
//! request (so the client can say it in words people understand).

use serde::{Deserialize, Serialize};

use crate::api::LockSettings;
use crate::ids::UserId;

/// Room-wide settings a moderator controls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// No new joiners while set (people already in may come back).
    pub locked: bool,
    /// Locks for every participant who is not a moderator, now and later.
    pub room_locks: LockSettings,
    /// The message shown to people in the waiting room.
    #[serde(default)]
    pub waiting_message: String,
}

/// Someone in the waiting room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingEntry {
    /// Who.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Waiting since (unix milliseconds).
    pub since_ms: u64,
}

/// What a moderator may set for one participant, as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSettings {
    /// Who.
    pub user_id: UserId,
    /// Their locks.
    pub locks: LockSettings,
    /// Muted by a moderator.
    pub muted: bool,
}

/// The room as one participant may see it, asked for at join and after a
/// reconnect (`WorkerRequest::Snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    /// Whether the caller is a moderator now.
    pub is_admin: bool,
    /// The caller's own locks.
    pub my_locks: LockSettings,
    /// Room-wide settings (moderators only; default for others).
    #[serde(default)]
    pub settings: RoomSettings,
    /// Who is waiting (moderators only; empty for others).
    #[serde(default)]
    pub waiting: Vec<WaitingEntry>,
    /// The caller's microphone was muted by a moderator.
    #[serde(default)]
    pub muted: bool,
    /// Every participant's locks and microphone (moderators only).
    #[serde(default)]
    pub people: Vec<PersonSettings>,
}

/// Why a request was refused, for the client to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Only a moderator may do this (or the caller's role changed).
    NotAllowed,
    /// The person or thing it names is not (or no longer) here.
    NotFound,
    /// Too many requests; try again in a moment.
    RateLimited,
    /// The server is busy; try again in a moment.
    Busy,
    /// The request itself is not acceptable (e.g. demoting the last
    /// moderator); the text says why.
    Invalid,
    /// Something broke on the server.
    Internal,
}

/// Reactions a participant may send: a small fixed set.
pub const REACTIONS: [&str; 6] = [
    "thumbs_up",
    "clap",
    "laugh",
    "party",
    "heart",
    "raised_hand",
];

/// Largest reaction payload (a name, or its E2EE envelope in base64).
pub const MAX_REACTION_LEN: usize = 256;
