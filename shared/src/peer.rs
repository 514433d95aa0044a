//! Payloads that participants send each other through NATS.
//!
//! The sender's identity is never read from these payloads: receivers take it
//! from the subject, which nats-server only lets the real sender publish on.

use serde::{Deserialize, Serialize};

/// Longest chat message we send or show, in characters (Unicode scalar
/// values, what a person counts; an emoji is one). Even at the worst case
/// (every character a control character, six bytes once JSON-escaped) a
/// message fits [`crate::limits::MAX_PARTICIPANT_PAYLOAD`] sealed.
pub const MAX_CHAT_LEN: usize = 4096;

/// A text's length as [`MAX_CHAT_LEN`] counts it.
pub fn chat_len(text: &str) -> usize {
    text.chars().count()
}

/// A public chat message, published on `subjects::chat(room, sender)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique id chosen by the sender (used to drop duplicates).
    pub id: String,
    /// The sender's display name at the time of sending.
    pub name: String,
    /// The message text.
    pub text: String,
    /// When it was sent, unix milliseconds (sender's clock).
    pub sent_at_ms: u64,
}

/// Why a received chat payload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChatDecodeError {
    /// Not JSON of the right shape.
    #[error("malformed chat message: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Longer than [`MAX_CHAT_LEN`].
    #[error("chat message too long")]
    TooLong,
}

impl ChatMessage {
    /// Parses a received payload, refusing oversize text.
    pub fn decode(bytes: &[u8]) -> Result<Self, ChatDecodeError> {
        let m: Self = serde_json::from_slice(bytes)?;
        if chat_len(&m.text) > MAX_CHAT_LEN {
            return Err(ChatDecodeError::TooLong);
        }
        Ok(m)
    }

    /// The payload bytes to publish.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let m = ChatMessage {
            id: "1".into(),
            name: "A".into(),
            text: "hi".into(),
            sent_at_ms: 5,
        };
        assert_eq!(ChatMessage::decode(&m.encode()).unwrap(), m);
        assert!(ChatMessage::decode(b"{").is_err());
        // Characters, not bytes: 4096 four-byte emoji are within the limit.
        let emoji = ChatMessage {
            text: "\u{1F600}".repeat(MAX_CHAT_LEN),
            ..m.clone()
        };
        assert_eq!(ChatMessage::decode(&emoji.encode()).unwrap(), emoji);
        // The worst case still fits one participant's payload, sealed
        // (IV and tag) with a long name.
        let worst = ChatMessage {
            name: "n".repeat(256),
            text: "\u{1}".repeat(MAX_CHAT_LEN),
            ..m.clone()
        };
        let sealed = worst.encode().len() + 12 + 16;
        assert!(sealed < crate::limits::MAX_PARTICIPANT_PAYLOAD, "{sealed}");
        let long = ChatMessage {
            text: "x".repeat(MAX_CHAT_LEN + 1),
            ..m
        };
        assert!(matches!(
            ChatMessage::decode(&long.encode()),
            Err(ChatDecodeError::TooLong)
        ));
    }
}
