//! Webhook payloads and their signatures.
//!
//! Pure: no I/O and no clock (the time is passed in), so the same code
//! signs on the server and can verify anywhere, wasm included. The scheme:
//! header `X-Signature: t=<unix>,v1=<lowercase hex HMAC-SHA256(secret,
//! "<t>.<body>")>`, accepted within ±[`TOLERANCE_SECS`] of the receiver's
//! clock so that a captured delivery cannot be replayed later.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventName {
    /// Room created by the API.
    RoomCreated,
    /// First participant joined.
    RoomStarted,
    /// A participant connected.
    ParticipantJoined,
    /// A participant left.
    ParticipantLeft,
    /// The session ended (for participants).
    SessionEnded,
    /// The room is finished and its state removed.
    RoomFinished,
}

/// The room a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRoom {
    /// Session id.
    pub sid: String,
    /// Room id.
    pub room_id: String,
    /// Title.
    pub room_title: String,
    /// Unix seconds.
    pub creation_time: i64,
    /// Participants online now.
    pub num_participants: u32,
}

/// The participant a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookParticipant {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// A moderator.
    pub is_admin: bool,
}

/// One webhook delivery body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Unique id of this event.
    pub id: String,
    /// What happened.
    pub event: EventName,
    /// Unix seconds.
    pub created_at: i64,
    /// The room.
    pub room: WebhookRoom,
    /// The participant, for participant events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<WebhookParticipant>,
    /// Why, for `session_ended` / `room_finished`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// -- construction -- //

impl WebhookEvent {
    /// An event with every field given; `created_at` is Unix seconds
    /// (passed in, so this stays pure and usable from wasm).
    pub fn new(
        event: EventName,
        room: WebhookRoom,
        participant: Option<WebhookParticipant>,
        reason: Option<String>,
        id: String,
        created_at: i64,
    ) -> Self {
        Self {
            id,
            event,
            created_at,
            room,
            participant,
            reason,
        }
    }
}

// -- signatures -- //

/// The request header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// How far (seconds, either direction) a signature's timestamp may be from
/// the receiver's clock. Older deliveries are treated as replays.
pub const TOLERANCE_SECS: i64 = 300;

/// Length of a `v1=` value: lowercase hex of a 32-byte HMAC-SHA256.
const V1_HEX_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookVerifyError {
    /// The header is not `t=<unix>,v1=<hex>[,v1=<hex>…]`.
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    /// Authentic, but signed too long ago (a replay) or too far ahead.
    #[error(
        "signature timestamp {timestamp} is outside the ±{TOLERANCE_SECS} s window around {now}"
    )]
    OutsideWindow {
        /// The header's `t=`.
        timestamp: i64,
        /// The receiver's clock.
        now: i64,
    },
    /// No `v1=` value matches the body under this secret.
    #[error("signature does not match")]
    BadSignature,
}

/// The MAC over `"<t>.<body>"`; `t` is the exact decimal text of the
/// timestamp, so signer and verifier hash the same bytes.
fn mac(secret: &[u8], t: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Signature` value for `body` sent at `unix_time`:
/// `t=<unix>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &[u8], body: &[u8], unix_time: i64) -> String {
    let t = unix_time.to_string();
    let tag = mac(secret, &t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(tag))
}

/// Checks an `X-Signature` `header` for `body` at the receiver's time
/// `now_unix`.
///
/// Parsing is tolerant: parts may come in any order with spaces around
/// them, unknown keys are ignored, and several `v1=` values may be given
/// (e.g. while a secret is being rotated); any one matching suffices. A
/// `v1=` value that is not 64 lowercase hex digits never matches. The tag
/// is compared in constant time, and the timestamp must be within
/// [`TOLERANCE_SECS`] of `now_unix`.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), WebhookVerifyError> {
    let parsed = parse_header(header)?;

    let base = mac(secret, parsed.t, body);
    let matched = parsed
        .v1
        .iter()
        .filter_map(|v| decode_lower_hex(v))
        .any(|tag| base.clone().verify_slice(&tag).is_ok());
    if !matched {
        return Err(WebhookVerifyError::BadSignature);
    }

    // Checked after the MAC so that `OutsideWindow` always means "genuine
    // but stale", which is the useful thing to log for a replay.
    if parsed.timestamp.abs_diff(now_unix) > TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookVerifyError::OutsideWindow {
            timestamp: parsed.timestamp,
            now: now_unix,
        });
    }
    Ok(())
}

/// A split-up signature header, borrowing from it.
struct ParsedHeader<'a> {
    /// The `t=` text exactly as sent.
    t: &'a str,
    /// `t` as a number.
    timestamp: i64,
    /// Every `v1=` value, undecoded.
    v1: Vec<&'a str>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, WebhookVerifyError> {
    use WebhookVerifyError::Malformed;

    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or(Malformed("a part has no `=`"))?;
        match key.trim() {
            "t" if t.is_some() => return Err(Malformed("more than one `t=`")),
            "t" => t = Some(value.trim()),
            "v1" => v1.push(value.trim()),
            // Room for future schemes (`v2=`…) without breaking receivers.
            _ => {}
        }
    }

    let t = t.ok_or(Malformed("no `t=`"))?;
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed("`t=` is not a Unix time in decimal digits"));
    }
    let timestamp = t
        .parse()
        .map_err(|_| Malformed("`t=` is not a Unix time in decimal digits"))?;
    if v1.is_empty() {
        return Err(Malformed("no `v1=`"));
    }
    Ok(ParsedHeader { t, timestamp, v1 })
}

/// Decodes exactly 64 lowercase hex digits; anything else is `None`.
fn decode_lower_hex(s: &str) -> Option<Vec<u8>> {
    let lower = s.len() == V1_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if lower {
        hex::decode(s).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"an-api-secret-the-integrator-holds";
    const BODY: &[u8] = br#"{"id":"e1","event":"room_started"}"#;
    const NOW: i64 = 1_760_000_000;

    fn v1_of(header: &str) -> &str {
        header.split_once(",v1=").unwrap().1
    }

    #[test]
    fn round_trip() {
        let header = sign(SECRET, BODY, NOW);
        assert!(header.starts_with(&format!("t={NOW},v1=")));
        assert_eq!(v1_of(&header).len(), 64);
        assert_eq!(verify(SECRET, &header, BODY, NOW), Ok(()));
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // Independent recomputation, so the format is pinned for integrators.
        let mut m = HmacSha256::new_from_slice(b"key").unwrap();
        m.update(b"42.{}");
        let expected = hex::encode(m.finalize().into_bytes());
        assert_eq!(sign(b"key", b"{}", 42), format!("t=42,v1={expected}"));
    }

    #[test]
    fn altered_body_fails() {
        let header = sign(SECRET, BODY, NOW);
        let altered = br#"{"id":"e1","event":"room_finished"}"#;
        assert_eq!(
            verify(SECRET, &header, altered, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_fails() {
        let header = sign(SECRET, BODY, NOW);
        assert_eq!(
            verify(b"another-secret", &header, BODY, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
    }

    #[test]
    fn altered_timestamp_fails() {
        let header = sign(SECRET, BODY, NOW);
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(
            verify(SECRET, &moved, BODY, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
        // Leading zeros are a different signed text, not the same time.
        let padded = header.replace(&format!("t={NOW}"), &format!("t=0{NOW}"));
        assert_eq!(
            verify(SECRET, &padded, BODY, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
    }

    #[test]
    fn window_edges_pass() {
        let header = sign(SECRET, BODY, NOW);
        assert_eq!(verify(SECRET, &header, BODY, NOW + TOLERANCE_SECS), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, NOW - TOLERANCE_SECS), Ok(()));
    }

    #[test]
    fn outside_window_fails_both_directions() {
        let header = sign(SECRET, BODY, NOW);
        // A replay, received later than allowed.
        assert_eq!(
            verify(SECRET, &header, BODY, NOW + TOLERANCE_SECS + 1),
            Err(WebhookVerifyError::OutsideWindow {
                timestamp: NOW,
                now: NOW + TOLERANCE_SECS + 1
            })
        );
        // Signed too far in the receiver's future.
        assert_eq!(
            verify(SECRET, &header, BODY, NOW - TOLERANCE_SECS - 1),
            Err(WebhookVerifyError::OutsideWindow {
                timestamp: NOW,
                now: NOW - TOLERANCE_SECS - 1
            })
        );
        // Extremes do not overflow.
        assert!(matches!(
            verify(SECRET, &header, BODY, i64::MIN),
            Err(WebhookVerifyError::OutsideWindow { .. })
        ));
        assert!(matches!(
            verify(SECRET, &header, BODY, i64::MAX),
            Err(WebhookVerifyError::OutsideWindow { .. })
        ));
    }

    #[test]
    fn tolerant_parsing() {
        let header = sign(SECRET, BODY, NOW);
        let v1 = v1_of(&header);
        let other = "0".repeat(64);
        for variant in [
            format!("v1={v1},t={NOW}"),
            format!(" t = {NOW} , v1 = {v1} "),
            format!("t={NOW},v1={other},v1={v1}"),
            format!("v1={v1},v1={other},t={NOW}"),
            format!("t={NOW},v0=legacy,v1={v1},"),
        ] {
            assert_eq!(verify(SECRET, &variant, BODY, NOW), Ok(()), "{variant}");
        }
    }

    #[test]
    fn several_v1_none_matching_fails() {
        let header = format!("t={NOW},v1={},v1={}", "0".repeat(64), "f".repeat(64));
        assert_eq!(
            verify(SECRET, &header, BODY, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
    }

    #[test]
    fn uppercase_hex_is_refused() {
        let header = sign(SECRET, BODY, NOW);
        let upper = format!("t={NOW},v1={}", v1_of(&header).to_ascii_uppercase());
        assert_eq!(
            verify(SECRET, &upper, BODY, NOW),
            Err(WebhookVerifyError::BadSignature)
        );
    }

    #[test]
    fn badly_encoded_v1_is_refused() {
        let header = sign(SECRET, BODY, NOW);
        let v1 = v1_of(&header);
        for bad in [&v1[..62], &format!("{v1}00"), "", "zz"] {
            let h = format!("t={NOW},v1={bad}");
            assert_eq!(
                verify(SECRET, &h, BODY, NOW),
                Err(WebhookVerifyError::BadSignature),
                "{h}"
            );
        }
    }

    #[test]
    fn malformed_headers() {
        let v1 = "0".repeat(64);
        for header in [
            String::new(),
            ",".to_owned(),
            "garbage".to_owned(),
            format!("v1={v1}"),
            format!("t={NOW}"),
            format!("t={NOW},v1"),
            format!("t=,v1={v1}"),
            format!("t=-5,v1={v1}"),
            format!("t=+5,v1={v1}"),
            format!("t=12a,v1={v1}"),
            format!("t=99999999999999999999,v1={v1}"),
            format!("t={NOW},t={NOW},v1={v1}"),
        ] {
            assert!(
                matches!(
                    verify(SECRET, &header, BODY, NOW),
                    Err(WebhookVerifyError::Malformed(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn event_json_shape() {
        let room = WebhookRoom {
            sid: "s1".into(),
            room_id: "r1".into(),
            room_title: "Standup".into(),
            creation_time: NOW,
            num_participants: 0,
        };
        let event = WebhookEvent::new(EventName::RoomCreated, room, None, None, "e1".into(), NOW);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "room_created");
        assert_eq!(json["room"]["sid"], "s1");
        assert!(json.get("participant").is_none());
        assert!(json.get("reason").is_none());
        let back: WebhookEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
