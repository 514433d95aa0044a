//! Public chat: the pure message log (de-duplication, arrival order, size
//! cap), validation of received messages, and the context that ties the
//! log to NATS. System messages (`broadcastToRoom`) join the same log
//! through [`ChatContext::add`].

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::{ChatDecodeError, ChatMessage, MAX_CHAT_LEN};
use quorum_shared::subjects;

use crate::nats::{NatsClient, PublishError, Sub};
use crate::verify::Session;

/// Messages kept (and rendered). A long meeting must not grow the DOM and
/// memory without bound; the oldest messages go first.
pub const MAX_LOG: usize = 1000;

/// Longest message id we accept; ids are ours (32 hex chars) or a peer's.
const MAX_ID_LEN: usize = 128;

/// A sender's timestamp further than this from our clock is not trusted
/// for display: clocks drift and peers can lie.
const MAX_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A participant, taken from the chat subject.
    User(UserId),
    /// The server or the integrator, on a system-event subject that only
    /// the server may publish to.
    System,
}

/// One message as shown in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEntry {
    /// The sender's unique id for this message.
    pub id: String,
    /// Who sent it, taken from the subject (never from the payload).
    pub sender: Sender,
    /// Display name from the payload.
    pub name: String,
    /// The text, at most [`MAX_CHAT_LEN`] bytes.
    pub text: String,
    /// When to display it as sent, unix ms.
    pub shown_at_ms: u64,
    /// Sent by this user.
    pub mine: bool,
}

impl ChatEntry {
    /// Sent by the server or integrator rather than a participant.
    pub fn is_system(&self) -> bool {
        self.sender == Sender::System
    }

    /// What de-duplicates (and keys the rendered list): the id, with system
    /// and participant ids apart, so a peer cannot suppress a system
    /// message by sending its id first.
    pub fn key(&self) -> (bool, String) {
        (self.is_system(), self.id.clone())
    }
}

/// Messages in arrival order, each [`ChatEntry::key`] at most once.
#[derive(Debug, Clone)]
pub struct ChatLog {
    entries: VecDeque<Arc<ChatEntry>>,
    seen: HashSet<(bool, String)>,
    cap: usize,
    revision: u64,
}

impl Default for ChatLog {
    fn default() -> Self {
        Self::with_cap(MAX_LOG)
    }
}

impl ChatLog {
    /// An empty log holding at most [`MAX_LOG`] messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log holding at most `cap` (≥ 1) messages.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            seen: HashSet::new(),
            cap: cap.max(1),
            revision: 0,
        }
    }

    /// Appends `entry` unless its id is already present (our own messages
    /// are shown on send and come back through the subscription; a
    /// reconnect can replay too). Returns whether it was added.
    pub fn push(&mut self, entry: ChatEntry) -> bool {
        if !self.seen.insert(entry.key()) {
            return false;
        }
        if self.entries.len() == self.cap {
            if let Some(old) = self.entries.pop_front() {
                self.seen.remove(&old.key());
            }
        }
        self.entries.push_back(Arc::new(entry));
        self.revision += 1;
        true
    }

    /// The messages, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Arc<ChatEntry>> {
        self.entries.iter()
    }

    /// The newest message.
    pub fn last(&self) -> Option<&Arc<ChatEntry>> {
        self.entries.back()
    }

    /// Number of messages held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Increases with every added message (the length stops changing once
    /// the cap is reached), e.g. to trigger scrolling.
    pub fn revision(&self) -> u64 {
        self.revision
    }
}

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
        mine: &sender == me,
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

/// Now, unix milliseconds.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Why a message could not be sent. The composer keeps the text.
#[derive(Debug, thiserror::Error)]
pub enum SendChatError {
    /// Nothing but whitespace.
    #[error("the message is empty")]
    Empty,
    /// Over [`MAX_CHAT_LEN`] bytes.
    #[error("the message is too long")]
    TooLong,
    /// The connection is down or not ready yet.
    #[error("not connected")]
    NotConnected,
    /// The publish failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The chat, shared through context.
#[derive(Clone, Copy)]
pub struct ChatContext {
    log: RwSignal<ChatLog>,
    nats: NatsClient,
    session: StoredValue<Arc<Session>>,
}

impl ChatContext {
    /// The messages.
    pub fn log(&self) -> ReadSignal<ChatLog> {
        self.log.read_only()
    }

    /// Publishes `text` and shows it at once.
    pub fn send(&self, text: &str) -> Result<(), SendChatError> {
        // Surrounding blank lines are accidents; leading spaces may be
        // deliberate indentation.
        let text = text.trim_end().trim_start_matches(['\r', '\n']);
        if text.is_empty() {
            return Err(SendChatError::Empty);
        }
        if text.len() > MAX_CHAT_LEN {
            return Err(SendChatError::TooLong);
        }
        if !self.nats.state().get_untracked().is_connected() {
            return Err(SendChatError::NotConnected);
        }
        let session = self.session.get_value();
        let join = &session.join;
        let msg = ChatMessage {
            id: random_id(),
            name: join.name.clone(),
            text: text.to_string(),
            sent_at_ms: now_ms(),
        };
        self.nats
            .publish(&join.subjects.chat_publish, &msg.encode())?;
        self.log.maybe_update(|log| {
            log.push(ChatEntry {
                id: msg.id,
                sender: Sender::User(join.user_id.clone()),
                name: msg.name,
                text: msg.text,
                shown_at_ms: msg.sent_at_ms,
                mine: true,
            })
        });
        Ok(())
    }

    /// Adds a received entry (e.g. a system message) unless its key is
    /// already present. Returns whether it was added.
    pub fn add(&self, entry: ChatEntry) -> bool {
        let mut added = false;
        self.log.maybe_update(|log| {
            added = log.push(entry);
            added
        });
        added
    }
}

/// Starts collecting the room's chat into a log that outlives any single
/// chat widget, so nothing is missed between connecting and rendering.
pub fn provide_chat_context(session: Arc<Session>, nats: NatsClient) -> ChatContext {
    let log = RwSignal::new(ChatLog::new());
    let (room, me) = (session.join.room_id.clone(), session.join.user_id.clone());
    nats.set_handler(Sub::Chat, move |m| {
        match accept_incoming(&room, &me, &m.subject, &m.payload, now_ms()) {
            // Only notify the view when something was actually added.
            Ok(entry) => log.maybe_update(|l| l.push(entry)),
            Err(e) => web_sys::console::warn_1(&format!("chat: dropped a message: {e}").into()),
        }
    });
    on_cleanup(move || nats.clear_handler(Sub::Chat));
    let ctx = ChatContext {
        log,
        nats,
        session: StoredValue::new(session),
    };
    provide_context(ctx);
    ctx
}

/// The chat provided by [`provide_chat_context`].
pub fn use_chat() -> ChatContext {
    expect_context::<ChatContext>()
}
