//! Payloads that participants send each other through NATS.
//!
//! The sender's identity is never read from these payloads: receivers take it
//! from the subject, which nats-server only lets the real sender publish on.

use serde::{Deserialize, Serialize};

/// Longest chat message we send or show, in bytes.
pub const MAX_CHAT_LEN: usize = 4096;

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
        if m.text.len() > MAX_CHAT_LEN {
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
