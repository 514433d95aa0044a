//! The join token and the session it verifies to: the credentials every
//! layer passes around. The token is a bearer credential, so its `Debug`
//! output is redacted.

use std::fmt;

use quorum_shared::api::JoinSession;

/// The join token from the link.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken(String);

impl JoinToken {
    /// Wraps a token; `None` if it is blank.
    pub fn new(s: impl Into<String>) -> Option<Self> {
        let s = s.into();
        let s = s.trim();
        (!s.is_empty()).then(|| Self(s.to_string()))
    }

    /// The secret itself, for the `Authorization` header and NATS CONNECT.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinToken(<redacted>)")
    }
}

/// A verified join: the token (NATS authenticates with it too) and what the
/// server told us about the room and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The join token.
    pub token: JoinToken,
    /// Room, user and connection details.
    pub join: JoinSession,
}
