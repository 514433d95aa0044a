//! Server-API authentication: `API-KEY` plus `HASH-SIGNATURE`, the lowercase
//! hex HMAC-SHA256 of the raw body under the API secret. As an extractor, a
//! handler that takes [`Signed`] cannot run unauthenticated.
//!
//! # Signing rule
//!
//! Every request carries `API-KEY: <api key>` and
//! `HASH-SIGNATURE: <lowercase hex HMAC-SHA256(key = api secret, message)>`.
//!
//! * **Without `HASH-TIMESTAMP`** (plugNmeet's SDKs): `message` is the raw
//!   request body bytes, exactly as sent (an empty body is the empty
//!   string).
//! * **With `HASH-TIMESTAMP: <ts>`** (replay protection, optional unless
//!   `require_signature_timestamp` is set): `<ts>` is the current unix time
//!   in whole seconds, written as ASCII decimal digits only (no sign, no
//!   spaces, no fraction, at most 20 digits). `message` is the header
//!   value's bytes immediately followed by the raw body bytes, with nothing
//!   in between: `message = ts || body`. For `ts = 1700000000` and the body
//!   `{"room_id":"r"}`, the signed message is
//!   `1700000000{"room_id":"r"}`. The request is accepted only if `<ts>` is
//!   within ±300 s ([`TIMESTAMP_WINDOW_SECS`]) of the server's clock, and
//!   only once: an exact repeat (same timestamp, same body, hence same
//!   signature) is refused while that timestamp is still inside the window.
//!   A request that must be retried is signed again with a fresh timestamp.
//!
//! Failures, all HTTP 401: a missing `API-KEY` or `HASH-SIGNATURE` (or a
//! missing `HASH-TIMESTAMP` when it is required) → `MISSING_REQUIRED_PARAMETER`;
//! a wrong key → `INVALID_API_KEY`; a wrong signature, a malformed, stale or
//! future timestamp, or a replay → `INVALID_TOKEN_OR_SIGNATURE`, with a
//! message saying which. Should the replay cache be full of live entries
//! ([`MAX_REPLAY_ENTRIES`]), a timestamped request gets HTTP 429 with
//! `Retry-After` rather than being let through unrecorded.
//!
//! # Rate limit per API key
//!
//! The API key is public (it is the `iss` of every join token), so the
//! per-key bucket (`rate_limit.per_key_*`) is charged here, only once a
//! request has proved it holds the secret: a correct signature (and, when
//! timestamped, a fresh timestamp not seen before). Requests with a wrong
//! key or signature never touch it; they only spend their sender's per-IP
//! bucket, charged before anything else (`ratelimit.rs`). A flood of bogus
//! signatures therefore can't push the integrator's own calls into 429.
//!
//! Replay protection is complete only with `require_signature_timestamp`.
//! While it is off, requests without the header are accepted as before (and
//! can be replayed, as with plugNmeet). A captured timestamped request could
//! then also be resent without the header, with `ts || body` as its body:
//! that is not valid JSON, so every handler that parses its body refuses
//! it, but one that ignores its body (`getActiveRoomsInfo`, read-only) would
//! answer.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;

/// How far (seconds) `HASH-TIMESTAMP` may be from the server's clock, either
/// way.
pub const TIMESTAMP_WINDOW_SECS: u64 = 300;

/// Most signatures the replay cache holds at once.
pub const MAX_REPLAY_ENTRIES: usize = 100_000;

/// Name of the optional timestamp header.
pub const TIMESTAMP_HEADER: &str = "HASH-TIMESTAMP";

/// The verified raw body of a signed server-API request.
pub struct Signed(pub Bytes);

/// Checks a request's key and signature against ours, for a request
/// without `HASH-TIMESTAMP` (the signature covers the body alone).
pub fn check(
    api_key: &str,
    api_secret: &str,
    got_key: Option<&str>,
    got_sig: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    check_message(api_key, api_secret, got_key, got_sig, &[body]).map(|_| ())
}

/// Checks a request carrying `HASH-TIMESTAMP: got_ts`: key, signature over
/// `got_ts || body`, and the timestamp window around `now` (unix seconds).
/// Returns the timestamp and the signature bytes, for the replay cache.
pub fn check_timestamped(
    api_key: &str,
    api_secret: &str,
    got_key: Option<&str>,
    got_sig: Option<&str>,
    got_ts: &[u8],
    body: &[u8],
    now: u64,
) -> Result<(u64, [u8; 32]), ApiError> {
    // Headers first, so a missing one is named before anything else.
    let got_key = got_key.ok_or(ApiError::MissingHeader("API-KEY"))?;
    let got_sig = got_sig.ok_or(ApiError::MissingHeader("HASH-SIGNATURE"))?;
    let ts = parse_timestamp(got_ts)?;
    let sig = check_message(
        api_key,
        api_secret,
        Some(got_key),
        Some(got_sig),
        &[got_ts, body],
    )?;
    if ts.saturating_add(TIMESTAMP_WINDOW_SECS) < now {
        return Err(ApiError::BadTimestamp(format!(
            "{TIMESTAMP_HEADER} {ts} is too old: more than {TIMESTAMP_WINDOW_SECS} s before server time {now}"
        )));
    }
    if ts > now.saturating_add(TIMESTAMP_WINDOW_SECS) {
        return Err(ApiError::BadTimestamp(format!(
            "{TIMESTAMP_HEADER} {ts} is in the future: more than {TIMESTAMP_WINDOW_SECS} s after server time {now}"
        )));
    }
    Ok((ts, sig))
}

/// Digits only, 1 to 20 of them, fitting a `u64`.
fn parse_timestamp(raw: &[u8]) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::BadTimestamp(format!(
            "{TIMESTAMP_HEADER} must be unix time in seconds, as decimal digits"
        ))
    };
    if raw.is_empty() || raw.len() > 20 || !raw.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// Checks key and signature over the concatenation of `parts`; returns the
/// signature bytes.
fn check_message(
    api_key: &str,
    api_secret: &str,
    got_key: Option<&str>,
    got_sig: Option<&str>,
    parts: &[&[u8]],
) -> Result<[u8; 32], ApiError> {
    let got_key = got_key.ok_or(ApiError::MissingHeader("API-KEY"))?;
    let got_sig = got_sig.ok_or(ApiError::MissingHeader("HASH-SIGNATURE"))?;
    // Constant time even for the key, so it can't be guessed byte by byte.
    if !bool::from(got_key.as_bytes().ct_eq(api_key.as_bytes())) {
        return Err(ApiError::InvalidApiKey);
    }
    // The SDKs send lowercase hex; anything else is not a signature we made.
    if got_sig.len() != 64
        || !got_sig
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::InvalidSignature);
    }
    let mut sig = [0u8; 32];
    hex::decode_to_slice(got_sig, &mut sig).map_err(|_| ApiError::InvalidSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(api_secret.as_bytes())?;
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(&sig)
        .map_err(|_| ApiError::InvalidSignature)?;
    Ok(sig)
}

/// Lowercase hex HMAC-SHA256 of `body` under `secret`, as a caller signs a
/// request without `HASH-TIMESTAMP`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    sign_parts(secret, &[body])
}

/// The `HASH-SIGNATURE` for a request sent with `HASH-TIMESTAMP: {ts}`:
/// lowercase hex HMAC-SHA256 of `ts`'s decimal digits followed by `body`.
pub fn sign_with_timestamp(secret: &str, ts: u64, body: &[u8]) -> String {
    sign_parts(secret, &[ts.to_string().as_bytes(), body])
}

fn sign_parts(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac accepts any key length");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Signatures of timestamped requests already accepted, each kept until its
/// timestamp leaves the window (after which the request is refused as
/// stale anyway). Holds at most [`MAX_REPLAY_ENTRIES`].
#[derive(Debug, Default)]
pub struct ReplayCache {
    inner: Mutex<ReplayTable>,
}

#[derive(Debug, Default)]
struct ReplayTable {
    seen: HashSet<[u8; 32]>,
    /// (last second the entry matters, signature), oldest first.
    by_expiry: BTreeSet<(u64, [u8; 32])>,
}

impl ReplayCache {
    /// Records `sig` as used until `expires` (unix seconds), refusing it if
    /// already recorded. When the cache is full of live entries the request
    /// is refused with 429 rather than let through unrecorded.
    pub fn admit(&self, sig: [u8; 32], expires: u64, now: u64) -> Result<(), ApiError> {
        let mut t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&(exp, old)) = t.by_expiry.first() {
            if exp >= now {
                break;
            }
            t.by_expiry.pop_first();
            t.seen.remove(&old);
        }
        if t.seen.contains(&sig) {
            return Err(ApiError::Replayed);
        }
        if t.seen.len() >= MAX_REPLAY_ENTRIES {
            let first = t.by_expiry.first().map_or(now, |e| e.0);
            return Err(ApiError::TooManyRequests {
                retry_after_secs: first.saturating_sub(now).saturating_add(1),
            });
        }
        t.seen.insert(sig);
        t.by_expiry.insert((expires, sig));
        Ok(())
    }

    /// Number of signatures held.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    /// Whether no signature is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (key, sig, ts) = {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            // Raw bytes: a non-ASCII value is a bad timestamp, not a
            // missing one.
            let ts = req
                .headers()
                .get(TIMESTAMP_HEADER)
                .map(|v| v.as_bytes().to_vec());
            (header("API-KEY"), header("HASH-SIGNATURE"), ts)
        };
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.config.max_body_bytes)
            } else {
                ApiError::InvalidParameters(format!("cannot read body: {e}"))
            }
        })?;
        let s = &state.secrets;
        match ts {
            Some(ts) => {
                let now = crate::tokens::now_secs();
                let (ts, sig) = check_timestamped(
                    &s.api_key,
                    &s.api_secret,
                    key.as_deref(),
                    sig.as_deref(),
                    &ts,
                    &body,
                    now,
                )?;
                state
                    .replay_cache
                    .admit(sig, ts.saturating_add(TIMESTAMP_WINDOW_SECS), now)?;
            }
            None if state.config.require_signature_timestamp => {
                key.ok_or(ApiError::MissingHeader("API-KEY"))?;
                sig.ok_or(ApiError::MissingHeader("HASH-SIGNATURE"))?;
                return Err(ApiError::MissingHeader(TIMESTAMP_HEADER));
            }
            None => check(
                &s.api_key,
                &s.api_secret,
                key.as_deref(),
                sig.as_deref(),
                &body,
            )?,
        }
        // Only now, with the secret proved, does the request count against
        // the key's bucket.
        state
            .rate_limiter
            .check_key(
                &state.config.rate_limit,
                s.api_key.as_bytes(),
                std::time::Instant::now(),
            )
            .map_err(|retry_after_secs| {
                tracing::debug!(retry_after_secs, "rate limited per API key");
                ApiError::TooManyRequests { retry_after_secs }
            })?;
        Ok(Signed(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_exact_lowercase_signature() {
        let body = br#"{"room_id":"r"}"#;
        let sig = sign("s", body);
        assert!(check("k", "s", Some("k"), Some(&sig), body).is_ok());
        assert!(matches!(
            check("k", "s", Some("x"), Some(&sig), body),
            Err(ApiError::InvalidApiKey)
        ));
        assert!(matches!(
            check("k", "s", Some("k"), Some(&sig.to_uppercase()), body),
            Err(ApiError::InvalidSignature)
        ));
        assert!(matches!(
            check("k", "s", Some("k"), Some(&sig), b"{}"),
            Err(ApiError::InvalidSignature)
        ));
        assert!(matches!(
            check("k", "s", None, Some(&sig), body),
            Err(ApiError::MissingHeader("API-KEY"))
        ));
        assert!(matches!(
            check("k", "s", Some("k"), None, body),
            Err(ApiError::MissingHeader("HASH-SIGNATURE"))
        ));
    }

    #[test]
    fn timestamped_signature_covers_ts_then_body() {
        let body = br#"{"room_id":"r"}"#;
        let now = 1_700_000_000;
        let sig = sign_with_timestamp("s", now, body);
        // The documented rule, spelled out.
        assert_eq!(sig, sign("s", br#"1700000000{"room_id":"r"}"#));
        let ts = now.to_string();
        let (got_ts, raw) =
            check_timestamped("k", "s", Some("k"), Some(&sig), ts.as_bytes(), body, now).unwrap();
        assert_eq!(got_ts, now);
        assert_eq!(hex::encode(raw), sig);
        // The body-only signature is not accepted with a timestamp, nor the
        // timestamped one without.
        let plain = sign("s", body);
        assert!(matches!(
            check_timestamped("k", "s", Some("k"), Some(&plain), ts.as_bytes(), body, now),
            Err(ApiError::InvalidSignature)
        ));
        assert!(matches!(
            check("k", "s", Some("k"), Some(&sig), body),
            Err(ApiError::InvalidSignature)
        ));
        // A different timestamp with the same signature fails.
        let other = (now + 1).to_string();
        assert!(matches!(
            check_timestamped("k", "s", Some("k"), Some(&sig), other.as_bytes(), body, now),
            Err(ApiError::InvalidSignature)
        ));
    }

    #[test]
    fn timestamp_window_and_format() {
        let body = b"{}";
        let now = 1_700_000_000u64;
        let at = |ts: u64| {
            let sig = sign_with_timestamp("s", ts, body);
            check_timestamped(
                "k",
                "s",
                Some("k"),
                Some(&sig),
                ts.to_string().as_bytes(),
                body,
                now,
            )
        };
        assert!(at(now - TIMESTAMP_WINDOW_SECS).is_ok());
        assert!(at(now + TIMESTAMP_WINDOW_SECS).is_ok());
        let Err(ApiError::BadTimestamp(m)) = at(now - TIMESTAMP_WINDOW_SECS - 1) else {
            panic!("stale accepted")
        };
        assert!(m.contains("too old"), "{m}");
        let Err(ApiError::BadTimestamp(m)) = at(now + TIMESTAMP_WINDOW_SECS + 1) else {
            panic!("future accepted")
        };
        assert!(m.contains("future"), "{m}");
        for bad in [
            &b""[..],
            b"-5",
            b"+1700000000",
            b" 1700000000",
            b"1700000000.5",
            b"99999999999999999999999",
            b"18446744073709551616",
        ] {
            let sig = sign("s", &[bad, &body[..]].concat());
            assert!(
                matches!(
                    check_timestamped("k", "s", Some("k"), Some(&sig), bad, body, now),
                    Err(ApiError::BadTimestamp(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn replay_cache_refuses_repeats_until_expiry() {
        let c = ReplayCache::default();
        let a = [1u8; 32];
        let b = [2u8; 32];
        c.admit(a, 100, 50).unwrap();
        assert!(matches!(c.admit(a, 100, 60), Err(ApiError::Replayed)));
        c.admit(b, 200, 60).unwrap();
        // At 100 `a` still matters; after it, it is forgotten.
        assert!(matches!(c.admit(a, 100, 100), Err(ApiError::Replayed)));
        assert_eq!(c.len(), 2);
        c.admit(a, 400, 101).unwrap();
        assert!(matches!(c.admit(b, 200, 150), Err(ApiError::Replayed)));
    }

    #[test]
    fn replay_cache_is_bounded() {
        let c = ReplayCache::default();
        for i in 0..MAX_REPLAY_ENTRIES {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i as u64).to_le_bytes());
            c.admit(s, 1000, 10).unwrap();
        }
        let Err(ApiError::TooManyRequests { retry_after_secs }) = c.admit([9; 32], 1000, 10) else {
            panic!("cache grew past its bound")
        };
        assert_eq!(retry_after_secs, 991);
        // Once the old entries expire there is room again.
        c.admit([9; 32], 2000, 1001).unwrap();
        assert_eq!(c.len(), 1);
    }
}
