//! Wire types of the HTTP APIs: the plugNmeet-compatible server API under
//! `/auth/*` and the browser API under `/api/*`.
//!
//! Requests follow protobuf-JSON rules: `snake_case` or `lowerCamelCase`
//! names, unknown fields ignored, 64-bit integers as numbers or strings.
//! Responses are `snake_case` with every plain field present.

mod join;
mod query;
mod room;

pub use join::*;
pub use query::*;
pub use room::*;

use serde::{Deserialize, Deserializer, Serialize};

/// The `status_code` enum of plugNmeet's envelope, serialized by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum StatusCode {
    UnknownStatus,
    Success,
    PermissionDenied,
    NotFound,
    Conflict,
    InvalidTokenOrSignature,
    InvalidApiKey,
    InternalServerError,
    InvalidParameters,
    MissingRequiredParameter,
    RoomNotFound,
    UserNotFound,
    UserBlocked,
    UserNotActive,
    RoomNotActive,
}

/// The envelope every response starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `true` when the call did what was asked.
    pub status: bool,
    /// Human-readable outcome; names the problem on failure.
    pub msg: String,
    /// Machine-readable outcome.
    pub status_code: StatusCode,
}

impl Envelope {
    /// A success envelope.
    pub fn success(msg: impl Into<String>) -> Self {
        Self {
            status: true,
            msg: msg.into(),
            status_code: StatusCode::Success,
        }
    }

    /// A failure envelope.
    pub fn failure(code: StatusCode, msg: impl Into<String>) -> Self {
        Self {
            status: false,
            msg: msg.into(),
            status_code: code,
        }
    }
}

/// Accepts a 64-bit integer as a JSON number or a decimal string, as
/// protobuf-JSON allows.
pub fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) if s.is_empty() => Ok(None),
        Some(NumOrStr::Str(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}"))),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_snake_and_camel_and_string_ints() {
        let a: CreateRoomReq = serde_json::from_str(
            r#"{"room_id":"r","empty_timeout":"300","metadata":{"room_title":"T"}}"#,
        )
        .unwrap();
        let b: CreateRoomReq = serde_json::from_str(
            r#"{"roomId":"r","emptyTimeout":300,"metadata":{"roomTitle":"T","x":1},"y":2}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.empty_timeout, Some(300));
    }

    #[test]
    fn explicit_false_is_kept() {
        let r: RoomMetadata =
            serde_json::from_str(r#"{"room_title":"T","room_features":{"allow_webcams":false}}"#)
                .unwrap();
        assert_eq!(r.room_features.allow_webcams, Some(false));
        assert_eq!(r.room_features.mute_on_start, None);
    }

    #[test]
    fn envelope_uses_names() {
        let s = serde_json::to_string(&Envelope::failure(StatusCode::InvalidApiKey, "x")).unwrap();
        assert_eq!(
            s,
            r#"{"status":false,"msg":"x","status_code":"INVALID_API_KEY"}"#
        );
    }
}
