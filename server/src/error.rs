//! The one error type every HTTP handler returns. It maps each failure to
//! plugNmeet's envelope and an HTTP status; internal details are logged with
//! `tracing` and never sent to the caller.

use axum::http::StatusCode as Http;
use axum::response::{IntoResponse, Response};
use axum::Json;
use quorum_shared::api::{Envelope, StatusCode};

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A required header is absent.
    #[error("missing required header {0}")]
    MissingHeader(&'static str),
    /// The `API-KEY` header does not match.
    #[error("invalid API key")]
    InvalidApiKey,
    /// The `HASH-SIGNATURE` does not match the body.
    #[error("invalid signature")]
    InvalidSignature,
    /// The join token is malformed, forged, expired or for someone else.
    #[error("{0}")]
    InvalidToken(String),
    /// The body is not valid JSON or a field is invalid; names the field.
    #[error("{0}")]
    InvalidParameters(String),
    /// A required field is absent; names the field.
    #[error("{0} is required")]
    MissingParameter(&'static str),
    /// The room is not running.
    #[error("room {0} is not active")]
    RoomNotActive(String),
    /// The room does not exist (for token requests, plugNmeet's code).
    #[error("room {0} not found or not active")]
    RoomNotFound(String),
    /// No join token was ever issued for this user.
    #[error("user {0} was not invited to this room")]
    UserNotFound(String),
    /// The user is already connected from elsewhere.
    #[error("user {0} is already in this meeting")]
    AlreadyOnline(String),
    /// A generic "nothing matched" (plugNmeet's `NOT_FOUND`).
    #[error("{0}")]
    NotFound(String),
    /// No endpoint at this method and path (HTTP 404); names them.
    #[error("no such endpoint: {0}")]
    NoSuchEndpoint(String),
    /// A file to download is gone (HTTP 404); names it.
    #[error("{0} not found")]
    FileNotFound(String),
    /// The user was blocked from this room.
    #[error("user {0} is blocked from this room")]
    UserBlocked(String),
    /// The room has reached `max_participants`.
    #[error("room {0} is full")]
    RoomFull(String),
    /// A moderator locked the room: nobody new may join.
    #[error("the meeting {0} is locked: a moderator has closed it to new participants")]
    RoomLocked(String),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The `HASH-TIMESTAMP` header is malformed or outside the accepted
    /// window; says which.
    #[error("{0}")]
    BadTimestamp(String),
    /// A timestamped, correctly signed request that was already accepted.
    #[error("replayed request")]
    Replayed,
    /// The request body exceeds the configured limit (in bytes).
    #[error("request body too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// The caller exceeded a rate limit; answered with `Retry-After`.
    #[error("too many requests, retry in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until a request would be accepted again.
        retry_after_secs: u64,
    },
    /// Something broke on our side; the reason is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// Wraps an internal failure, keeping its text for the log only.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    fn parts(&self) -> (Http, StatusCode) {
        match self {
            Self::MissingHeader(_) => (Http::UNAUTHORIZED, StatusCode::MissingRequiredParameter),
            Self::InvalidApiKey => (Http::UNAUTHORIZED, StatusCode::InvalidApiKey),
            Self::InvalidSignature
            | Self::InvalidToken(_)
            | Self::BadTimestamp(_)
            | Self::Replayed => (Http::UNAUTHORIZED, StatusCode::InvalidTokenOrSignature),
            // plugNmeet has no rate-limit code; the HTTP status and the
            // message say what happened.
            Self::TooManyRequests { .. } => (Http::TOO_MANY_REQUESTS, StatusCode::PermissionDenied),
            Self::PayloadTooLarge(_) => (Http::PAYLOAD_TOO_LARGE, StatusCode::InvalidParameters),
            // plugNmeet answers validation failures with HTTP 200 and
            // `status:false`; SDKs rely on reading the envelope.
            Self::InvalidParameters(_) => (Http::OK, StatusCode::InvalidParameters),
            Self::MissingParameter(_) => (Http::OK, StatusCode::MissingRequiredParameter),
            Self::RoomNotActive(_) => (Http::OK, StatusCode::RoomNotActive),
            Self::RoomNotFound(_) => (Http::OK, StatusCode::RoomNotFound),
            Self::UserNotFound(_) => (Http::OK, StatusCode::UserNotFound),
            Self::AlreadyOnline(_) => (Http::OK, StatusCode::Conflict),
            Self::NotFound(_) => (Http::OK, StatusCode::NotFound),
            Self::NoSuchEndpoint(_) | Self::FileNotFound(_) => {
                (Http::NOT_FOUND, StatusCode::NotFound)
            }
            Self::UserBlocked(_) => (Http::OK, StatusCode::UserBlocked),
            Self::RoomFull(_) | Self::RoomLocked(_) | Self::PermissionDenied(_) => {
                (Http::OK, StatusCode::PermissionDenied)
            }
            Self::Internal(_) => (Http::INTERNAL_SERVER_ERROR, StatusCode::InternalServerError),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (http, code) = self.parts();
        match &self {
            Self::Internal(detail) => tracing::error!(%detail, "request failed"),
            // One line per refused request would let a flood (of bad
            // signatures, bogus tokens, unknown paths, or requests over
            // the limit) fill the log: those are debug.
            _ if matches!(
                http,
                Http::UNAUTHORIZED | Http::NOT_FOUND | Http::TOO_MANY_REQUESTS
            ) =>
            {
                tracing::debug!(reason = %self, "request refused")
            }
            other => tracing::info!(reason = %other, "request refused"),
        }
        let mut res = (http, Json(Envelope::failure(code, self.to_string()))).into_response();
        if let Self::TooManyRequests { retry_after_secs } = self {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        res
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::tokens::TokenError> for ApiError {
    /// A refused token; the reason (expired, forged…) is the message.
    fn from(e: crate::tokens::TokenError) -> Self {
        Self::InvalidToken(e.to_string())
    }
}

impl From<jsonwebtoken::errors::Error> for ApiError {
    /// Signing a token failed: ours to fix, not the caller's.
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Self::internal(e)
    }
}

impl From<hmac::digest::InvalidLength> for ApiError {
    fn from(e: hmac::digest::InvalidLength) -> Self {
        Self::internal(e)
    }
}

/// Parses a JSON body, naming the offending field on failure. The body is
/// one JSON value, optionally surrounded by whitespace: anything after it
/// is refused, so what we act on is exactly what was signed.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let invalid = |what: String| ApiError::InvalidParameters(format!("invalid request: {what}"));
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        invalid(if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })?;
    de.end().map_err(|e| invalid(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct T {
        #[allow(dead_code)]
        room_id: quorum_shared::ids::RoomId,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let ApiError::InvalidParameters(m) = parse_json::<T>(br#"{"room_id":"a b"}"#).unwrap_err()
        else {
            panic!()
        };
        assert!(m.contains("room_id"), "{m}");
        assert!(parse_json::<T>(b"{").is_err());
    }

    #[test]
    fn parse_refuses_trailing_garbage_but_not_whitespace() {
        let ApiError::InvalidParameters(m) =
            parse_json::<T>(br#"{"room_id":"x"} junk"#).unwrap_err()
        else {
            panic!()
        };
        assert!(m.contains("trailing characters"), "{m}");
        assert!(parse_json::<T>(br#"{"room_id":"x"}{"room_id":"y"}"#).is_err());
        assert!(parse_json::<T>(b"{\"room_id\":\"x\"}\n").is_ok());
        assert!(parse_json::<T>(b" \t{\"room_id\":\"x\"} \r\n").is_ok());
    }
}
