//! Received chat, validated: the sender from the subject (never the
//! payload), the id, the length and a plausible time. Also the small
//! helpers both directions use (ids, clock).

use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::{ChatDecodeError, ChatMessage};
use quorum_shared::subjects;

use crate::state::chat_log::{ChatEntry, EntryKind, Sender};

/// Longest message id we accept; ids are ours (32 hex chars) or a peer's.
const MAX_ID_LEN: usize = 128;

/// A sender's timestamp further than this from our clock is not trusted
/// for display: clocks drift and peers can lie.
const MAX_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;

/// Why a received chat message was dropped.
#[derive(Debug, thiserror::Error)]
pub enum IncomingChatError {
    /// The subject is not a chat subject with valid ids.
    #[error("not a chat subject: {0:?}")]
    NotChat(String),
    /// The subject belongs to another room.
    #[error("chat from another room: {0}")]
    OtherRoom(RoomId),
    /// The payload is malformed or too long.
    #[error(transparent)]
    Decode(#[from] ChatDecodeError),
    /// The message id is empty or absurdly long.
    #[error("bad message id")]
    BadId,
}

/// Validates a message received on the chat subscription. The sender comes
/// from the subject, which nats-server only lets the real sender use.
pub fn accept_incoming(
    room: &RoomId,
    me: &UserId,
    subject: &str,
    payload: &[u8],
    now_ms: u64,
) -> Result<ChatEntry, IncomingChatError> {
    let (msg_room, sender) =
        subjects::parse_chat(subject).ok_or_else(|| IncomingChatError::NotChat(subject.into()))?;
    if &msg_room != room {
        return Err(IncomingChatError::OtherRoom(msg_room));
    }
    let mut entry = entry_from(sender, payload, now_ms)?;
    entry.mine = matches!(&entry.sender, Sender::User(u) if u == me);
    Ok(entry)
}

/// Validates a private message to us from `sender` (taken from the
/// subject, which only the sender may publish on).
pub fn accept_incoming_private(
    sender: &UserId,
    payload: &[u8],
    now_ms: u64,
) -> Result<ChatEntry, IncomingChatError> {
    let mut entry = entry_from(sender.clone(), payload, now_ms)?;
    entry.private_to = Some("you".to_string());
    Ok(entry)
}

fn entry_from(sender: UserId, payload: &[u8], now_ms: u64) -> Result<ChatEntry, IncomingChatError> {
    let msg = ChatMessage::decode(payload)?;
    if !valid_id(&msg.id) {
        return Err(IncomingChatError::BadId);
    }
    let name = match msg.name.trim() {
        "" => sender.to_string(),
        n => n.to_string(),
    };
    Ok(ChatEntry {
        id: msg.id,
        mine: false,
        private_to: None,
        kind: EntryKind::Message,
        sender: Sender::User(sender),
        name,
        text: msg.text,
        shown_at_ms: shown_at(msg.sent_at_ms, now_ms),
    })
}

/// Whether `id` is usable as a message id: not empty, not absurdly long.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN
}

/// The time to display for a message stamped `sent_at_ms`: ours instead
/// when the sender's clock is too far off.
pub fn shown_at(sent_at_ms: u64, now_ms: u64) -> u64 {
    if sent_at_ms.abs_diff(now_ms) <= MAX_CLOCK_SKEW_MS {
        sent_at_ms
    } else {
        now_ms
    }
}

/// Now, unix milliseconds.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
