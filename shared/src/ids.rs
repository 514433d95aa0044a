//! Validated identifiers. They are parsed once at the boundary (API body,
//! token claims, subject tokens) so the rest of the code can trust them.
//!
//! The character set matches plugNmeet (`^[a-zA-Z0-9_-]+$`), which also
//! guarantees the id is a single, wildcard-free NATS subject token.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest id we accept. plugNmeet sets no limit; an unbounded id would let a
/// caller grow subjects, KV keys and SQLite rows without end.
pub const MAX_ID_LEN: usize = 128;

/// Why an id was refused. The message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id was empty.
    #[error("must not be empty")]
    Empty,
    /// The id was longer than [`MAX_ID_LEN`].
    #[error("must be at most {MAX_ID_LEN} characters")]
    TooLong,
    /// The id held a character outside `[a-zA-Z0-9_-]`.
    #[error("may only contain letters, digits, '_' and '-'")]
    BadChar,
    /// The id started with the reserved prefix `user_`.
    #[error("must not start with 'user_'")]
    ReservedPrefix,
    /// The id contained the reserved marker `-FIELD_`.
    #[error("must not contain '-FIELD_'")]
    ReservedMarker,
}

fn check(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(IdError::BadChar);
    }
    if s.starts_with("user_") {
        return Err(IdError::ReservedPrefix);
    }
    if s.contains("-FIELD_") {
        return Err(IdError::ReservedMarker);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an id.
            pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check(&s)?;
                Ok(Self(s))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A room id chosen by the integrator, e.g. `math-101`.
    RoomId
);
id_type!(
    /// A user id chosen by the integrator (or generated), e.g. `alice`.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ids() {
        for ok in ["a", "room-1", "A_b-9", &"x".repeat(MAX_ID_LEN)] {
            assert_eq!(RoomId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_each_rule() {
        assert_eq!(UserId::parse(""), Err(IdError::Empty));
        assert_eq!(UserId::parse("x".repeat(129)), Err(IdError::TooLong));
        for bad in ["a b", "a.b", "a*", ">", "é", "a\n"] {
            assert_eq!(UserId::parse(bad), Err(IdError::BadChar), "{bad:?}");
        }
        assert_eq!(UserId::parse("user_1"), Err(IdError::ReservedPrefix));
        assert_eq!(RoomId::parse("a-FIELD_b"), Err(IdError::ReservedMarker));
    }

    #[test]
    fn deserialize_validates() {
        let r: Result<RoomId, _> = serde_json::from_str("\"a.b\"");
        assert!(r.is_err());
        let ok: RoomId = serde_json::from_str("\"ab\"").unwrap();
        assert_eq!(ok.to_string(), "ab");
    }
}
