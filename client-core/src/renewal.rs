//! When to renew the join token: read its validity window (without
//! checking the signature; the server does that) and pick the moment.
//! Pure: the client's token context sets the timers.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

/// Never renew sooner than this after the last attempt: protects the
/// server from a tight loop when the local clock is far off.
pub const MIN_RENEW_DELAY: Duration = Duration::from_secs(5);
/// Renew at least this long before the token ends: a busy server may take
/// seconds to answer and to authorize the new socket.
pub const RENEW_MARGIN: Duration = Duration::from_secs(15);
/// Wait before trying again after a failed renewal.
pub const RENEW_RETRY: Duration = Duration::from_secs(15);
/// `setTimeout` takes an `i32` of milliseconds; a longer-lived token is
/// simply looked at again after a day.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The validity window of a token, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TokenTimes {
    /// Not before (when it was issued), if present.
    #[serde(default)]
    pub nbf: Option<u64>,
    /// Expiry.
    pub exp: u64,
}

/// Reads `nbf`/`exp` from a JWT's payload. The signature is not checked:
/// the server does that; this only decides when to renew.
pub fn token_times(token: &str) -> Option<TokenTimes> {
    token_payload(token)
}

/// Reads claims from a JWT's payload without checking its signature:
/// only for local decisions (when to renew, which cached session a link
/// belongs to); the server verifies every token it is given.
pub fn token_payload<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How long to wait before renewing: two thirds of the remaining
/// lifetime, but at least [`RENEW_MARGIN`] before it ends, so a short
/// token opened late still leaves time to renew and move over. `fresh` means the server issued it just now, so its whole
/// lifetime (`exp - nbf`) is left whatever our clock says; otherwise the
/// remaining time is `exp - now` by our clock (a link may be opened long
/// after it was issued).
pub fn renew_delay(now_s: f64, times: TokenTimes, fresh: bool) -> Duration {
    let lifetime = times.nbf.map(|nbf| times.exp.saturating_sub(nbf) as f64);
    let by_clock = times.exp as f64 - now_s;
    let remaining = match (fresh, lifetime) {
        (true, Some(l)) => l,
        (_, Some(l)) => by_clock.min(l),
        (_, None) => by_clock,
    };
    let secs = (remaining * 2.0 / 3.0)
        .min(remaining - RENEW_MARGIN.as_secs_f64())
        .max(0.0);
    Duration::from_secs_f64(secs).clamp(MIN_RENEW_DELAY, MAX_DELAY)
}
