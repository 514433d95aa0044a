//! The session cache: one IndexedDB database per session (room and user),
//! so a reload restores the renewed token, display settings, chat and
//! notifications without waiting for the server.
//!
//! It is only a cache. Every function returns a [`CacheError`] instead of
//! panicking: without IndexedDB (private mode, storage blocked, quota used
//! up) the app shows a small notice and carries on without it.
//!
//! `session` is an open database ([`SessionCache`]); `cleanup` lists,
//! ages out and deletes databases; `error` sorts browser failures into the
//! few kinds the app tells apart; `js` converts our types to and from the
//! JS values IndexedDB stores.
//!
//! Only databases named with [`DB_PREFIX`] are ours. Anything else on the
//! origin belongs to someone else and is never opened, let alone deleted.

mod cleanup;
mod error;
mod js;
mod session;

pub use cleanup::{cleanup_stale, database_names, delete_session, CleanupReport, DELETE_TIMEOUT};
pub use error::CacheError;
pub use session::{ChatRecord, SessionCache};

/// The start of every database name this module creates. It is how
/// cleanup recognises our databases among the origin's others.
pub const DB_PREFIX: &str = "quorum-session:";

/// The IndexedDB version of our databases. Raise it when a store or an
/// index is added: opening at a higher version runs the upgrade, which
/// creates the stores and indexes that are missing and keeps those that
/// exist (2: the chat store's [`INDEX_CHAT_WRITE`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The chat store's index by write number: the oldest written are found
/// (and pruned) by reading keys only.
pub const INDEX_CHAT_WRITE: &str = "by_write";

/// Store of bookkeeping values, keyed by name: [`LAST_ACCESSED`] and the
/// chat write counter.
pub const STORE_METADATA: &str = "metadata";
/// Store of key/value session records ([`KEY_TOKEN`], [`KEY_DISPLAY`],
/// [`KEY_LAST_READ`] and whatever else the app puts there).
pub const STORE_SESSION: &str = "session";
/// Store of chat messages as received on the wire, keyed by message id.
pub const STORE_CHAT: &str = "chat";
/// Chat records kept at most; past it the oldest half goes (see
/// `SessionCache::put_chat`). Twice what the chat list shows.
pub const MAX_CHAT_RECORDS: u32 = 2000;
/// Store of notifications, keyed by id, each an opaque JSON value.
pub const STORE_NOTIFICATIONS: &str = "notifications";

/// Metadata key of the last write, unix ms (a number). Cleanup deletes a
/// database whose last write is older than its cut-off.
pub const LAST_ACCESSED: &str = "lastAccessed";

/// Session key of the current (renewed) join token.
pub const KEY_TOKEN: &str = "token";
/// Session key of the display settings (a JSON value the app defines).
pub const KEY_DISPLAY: &str = "display";
/// Session key of the microphone and camera chosen before joining.
pub const KEY_MEDIA: &str = "media";
/// Session key of the last-read chat position (a message id or sequence).
pub const KEY_LAST_READ: &str = "lastRead";
/// Our chat messages not yet confirmed: waiting, or refused ("Not sent").
pub const KEY_UNSENT: &str = "unsent";

/// The database name of one session: [`DB_PREFIX`], the room's session id
/// and the user id. One per session, so leaving a room or ageing it out
/// deletes one database and touches no other session.
pub fn db_name(room_sid: &str, user_id: &str) -> String {
    format!("{DB_PREFIX}{room_sid}:{user_id}")
}

/// Whether `name` is one of our databases (and so may be aged out).
pub fn is_ours(name: &str) -> bool {
    name.starts_with(DB_PREFIX)
}
