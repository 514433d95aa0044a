//! The room domain: live room and participant state, kept in NATS
//! JetStream KV so any server instance on the same NATS sees the same
//! rooms, and everything that follows from it (life cycle, presence,
//! timers, limits, participants' requests).
//!
//! - `state`: the values (room session, participant, connection);
//! - `kv`: the buckets, written by compare-and-set;
//! - `index`: the in-memory view the buckets' watches keep in step, with
//!   every timer's due time;
//! - `service`: presence and the side effects of changes (events, kicks,
//!   webhooks); `lifecycle`: creating, inviting and ending; `timers`: what
//!   happens when something falls due;
//! - `meter`: per-participant rate limits and chat counting;
//! - `worker`, `stream`, `analytics`: participants' requests, the room
//!   streams, counts.

pub mod analytics;
pub mod features;
pub mod index;
pub mod kv;
pub mod lifecycle;
pub mod locks;
pub mod media;
pub mod meter;
pub mod moderation;
pub mod service;
pub mod state;
pub mod stream;
pub mod takeover;
pub mod timers;
pub mod worker;

pub use kv::Rooms;
pub use state::{ConnInfo, ParticipantState, Presence, RoomState};

/// A KV failure.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    /// JetStream or KV reported an error.
    #[error("nats kv: {0}")]
    Kv(String),
    /// A stored value no longer parses.
    #[error("corrupt kv value for {0}: {1}")]
    Corrupt(String, serde_json::Error),
    /// The connection is from a tab the meeting was taken from
    /// (`takeover::Tabs`), found as its login was being recorded.
    #[error("the meeting was moved to another tab")]
    MovedAway,
}
