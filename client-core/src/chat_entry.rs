//! One chat entry as the log keeps it and the list draws it: who sent
//! it, what it is, its key, and how far one of ours got.

use quorum_shared::ids::UserId;

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
    /// The text, at most `MAX_CHAT_LEN` characters.
    pub text: String,
    /// When to display it as sent, unix ms.
    pub shown_at_ms: u64,
    /// Sent by this user.
    pub mine: bool,
    /// A private message: the recipient's name as shown ("you" for one to
    /// us); `None` for the room's public chat.
    pub private_to: Option<String>,
    /// What the entry is: a message, or a line standing for one.
    pub kind: EntryKind,
}

/// What a chat entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryKind {
    /// A message, with its text.
    #[default]
    Message,
    /// Stands for a message from the sender that did not decrypt here (an
    /// E2EE room, probably a different key): no text, only that it came.
    Unreadable,
    /// A line about who came or went (its text says it); from this page,
    /// not from anyone.
    Presence,
}

impl ChatEntry {
    /// What it counts against [`crate::chat_log::MAX_LOG_BYTES`].
    pub(crate) fn weight(&self) -> usize {
        self.id.len()
            + self.name.len()
            + self.text.len()
            + self.private_to.as_ref().map_or(0, String::len)
    }
}

/// How far one of our messages got, as its list item shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Confirmed by the server (or not ours).
    #[default]
    Sent,
    /// Waiting for the server (or for the connection).
    Sending,
    /// Refused (a lock): kept until retried or discarded.
    NotSent,
}

/// What de-duplicates an entry (and keys the rendered list).
pub type EntryKey = (bool, String);

impl ChatEntry {
    /// Sent by the server or integrator rather than a participant.
    pub fn is_system(&self) -> bool {
        self.sender == Sender::System
    }

    /// What de-duplicates (and keys the rendered list): the id, with system
    /// and participant ids apart, so a peer cannot suppress a system
    /// message by sending its id first.
    pub fn key(&self) -> EntryKey {
        (self.is_system(), self.id.clone())
    }
}
