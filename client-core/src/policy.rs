//! Pure timing policy of the connection: keep-alive, reconnect backoff and
//! when to give up. Kept apart from the state machine so it can be tested
//! without a socket.

use std::time::Duration;

/// Keep-alive period ([`quorum_shared::limits::CLIENT_PING_SECS`]). The
/// server pings only idle connections, less often; ours notices a dead
/// path (sleeping laptop, NAT timeout) within a minute. A socket that
/// closes, or the browser going offline, is noticed at once without
/// waiting for a ping.
pub const PING_INTERVAL: Duration = Duration::from_secs(quorum_shared::limits::CLIENT_PING_SECS);
/// PINGs that may go unanswered before the connection is declared dead.
pub const MAX_MISSED_PONGS: u8 = 2;
/// Shortest reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest reconnect delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How long to keep retrying after the connection was lost before showing
/// "Connection lost": long enough for a server restart or a train tunnel,
/// short enough that nobody stares at "Reconnecting…" forever.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(5 * 60);
/// Query parameter that overrides [`GIVE_UP_AFTER`] (whole seconds), so
/// tests need not wait five minutes.
pub const GIVE_UP_PARAM: &str = "give_up_secs";

/// Delay before reconnect attempt `attempt` (0-based): exponential from
/// [`BACKOFF_MIN`], capped at [`BACKOFF_MAX`], then scaled into its upper
/// half by `jitter` in `[0, 1]` so that a room full of clients dropped at
/// once does not reconnect in lockstep.
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let min = BACKOFF_MIN.as_millis() as f64;
    let max = BACKOFF_MAX.as_millis() as f64;
    let exp = (min * 2f64.powi(attempt.min(16) as i32)).min(max);
    let ms = exp * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    Duration::from_millis(ms.clamp(min, max) as u64)
}

/// The give-up time from a location's query string (`?a=1&give_up_secs=5`):
/// the parameter if it is a positive whole number, else [`GIVE_UP_AFTER`].
pub fn give_up_after_from(search: &str) -> Duration {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == GIVE_UP_PARAM)
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(GIVE_UP_AFTER, Duration::from_secs)
}

/// Whether to stop retrying: the connection has been down since
/// `lost_since_ms` and it is now `now_ms`.
pub fn should_give_up(lost_since_ms: f64, now_ms: f64, limit: Duration) -> bool {
    now_ms - lost_since_ms >= limit.as_millis() as f64
}

/// Consecutive "Authorization Violation"s tolerated while reconnecting
/// after a success, before showing "Not authorized": with the backoff
/// above, about a minute for the app server's auth service to come back
/// after nats-server restarted. (A removed participant or an ended meeting
/// is told so by an event first, and never gets here.)
pub const AUTH_RETRIES: u32 = 8;

/// nats-server's wording when the auth callout refuses a CONNECT (or does
/// not answer). On a first connect, retrying with the same token cannot
/// succeed, unlike every other `-ERR`.
pub fn is_auth_violation(err: &str) -> bool {
    err.to_ascii_lowercase().contains("authorization violation")
}

/// Whether `err` is nats-server refusing a SUB on `subject` (the text is
/// `Permissions Violation for Subscription to "subject"`).
pub fn is_sub_denied(err: &str, subject: &str) -> bool {
    err.starts_with("Permissions Violation for Subscription to")
        && err.contains(&format!("\"{subject}\""))
}

/// Whether `err` is nats-server refusing a PUB on `subject`.
pub fn is_pub_denied(err: &str, subject: &str) -> bool {
    denied_publish(err) == Some(subject)
}

/// The subject of a PUB nats-server refused, if `err` says that.
pub fn denied_publish(err: &str) -> Option<&str> {
    let rest = err.strip_prefix("Permissions Violation for Publish to")?;
    let (_, quoted) = rest.split_once('"')?;
    quoted.split_once('"').map(|(subject, _)| subject)
}
