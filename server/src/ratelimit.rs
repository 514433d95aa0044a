//! Abuse limits on the HTTP APIs: request rates (token buckets per client IP
//! and per API key) and the request-body size.
//!
//! * **Per client IP**, first: every request under `/auth/`, `/api/` and
//!   `/download/` takes a token from its client's bucket
//!   (`rate_limit.per_ip_per_sec`, burst `rate_limit.per_ip_burst`) before
//!   anything else is looked at. Static files and `/healthz` are not counted.
//!   The client is the TCP peer; `X-Forwarded-For` (its rightmost entry, the
//!   one our own proxy appended) or else `X-Real-IP` replaces it only when
//!   `trust_forwarded_for` is set. IPv6 clients are counted per /64, the
//!   smallest block a single host usually gets. A request without a peer
//!   address (an in-process call such as the demo room's) is not counted.
//! * **Per API key**, after the signature: a server-API request takes a
//!   token from the key's bucket (`rate_limit.per_key_per_sec`, burst
//!   `rate_limit.per_key_burst`) only once its signature has been verified
//!   ([`RateLimiter::check_key`], called by the `Signed` extractor in
//!   `api/signature.rs`). The key is public (every join token names it),
//!   so counting unverified requests against it would let anyone drain the
//!   integrator's bucket with bogus signatures; those are limited per IP
//!   only. Only a digest of the key is kept.
//! * A `*_per_sec` of 0 disables that limit; a burst below 1 counts as 1.
//!
//! Over the limit, the answer is HTTP 429 with plugNmeet's envelope
//! (`PERMISSION_DENIED`, there is no dedicated code) and `Retry-After`.
//!
//! Memory is bounded: each table holds at most [`MAX_ENTRIES`] buckets, and
//! buckets that have refilled completely (so forgetting them changes
//! nothing) are swept out once a minute, or sooner when a table is full.
//! If a table is still full after a sweep, new clients are let through
//! uncounted until room frees up: failing open there keeps an attacker who
//! controls that many addresses from locking out everyone else.
//!
//! Bodies larger than `max_body_bytes` are refused with HTTP 413 and the
//! envelope ([`limit_body`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use crate::AppState;

/// Most buckets kept per table (per IP, per key).
pub const MAX_ENTRIES: usize = 100_000;

/// How often fully refilled buckets are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Least time between two sweeps of a full table, so that a table kept full
/// by an attacker does not cost a full scan per request.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Tokens the bucket would hold at `now`.
    fn level(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}

/// A rate: tokens per second and bucket size, or `None` when disabled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_sec: f64,
    burst: f64,
}

impl Rate {
    /// `per_sec` tokens a second, `burst` at most; `None` if `per_sec` is 0.
    pub fn new(per_sec: u32, burst: u32) -> Option<Self> {
        (per_sec > 0).then(|| Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
        })
    }
}

/// A bounded table of token buckets keyed by `K`.
#[derive(Debug)]
pub struct Buckets<K> {
    inner: Mutex<Table<K>>,
    max_entries: usize,
}

#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Bucket>,
    last_sweep: Option<Instant>,
    warned: bool,
}

impl<K: Hash + Eq> Buckets<K> {
    /// An empty table holding at most `max_entries` buckets.
    pub fn new(max_entries: usize) -> Self {
        Self {
            inner: Mutex::new(Table {
                map: HashMap::new(),
                last_sweep: None,
                warned: false,
            }),
            max_entries,
        }
    }

    /// Takes one token for `key` at `now`. `Err` carries how long until a
    /// token is available.
    pub fn take(&self, key: K, rate: Rate, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update;
        // the buckets are still usable.
        let mut t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let due = match t.last_sweep {
            None => t.map.len() >= self.max_entries,
            Some(at) => {
                let since = now.saturating_duration_since(at);
                since >= SWEEP_EVERY
                    || (t.map.len() >= self.max_entries && since >= FULL_SWEEP_EVERY)
            }
        };
        if due {
            // A full bucket is the same as a fresh one: forget it.
            t.map
                .retain(|_, b| b.level(now, rate.per_sec, rate.burst) < rate.burst);
            t.last_sweep = Some(now);
            t.warned = false;
        }
        if t.map.len() >= self.max_entries && !t.map.contains_key(&key) {
            if !t.warned {
                // Once per sweep, not once per request.
                t.warned = true;
                tracing::warn!(
                    max = self.max_entries,
                    "rate-limit table full; new clients are not counted"
                );
            }
            return Ok(());
        }
        let bucket = t.map.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let level = bucket.level(now, rate.per_sec, rate.burst);
        bucket.last = now;
        if level >= 1.0 {
            bucket.tokens = level - 1.0;
            Ok(())
        } else {
            bucket.tokens = level;
            Err(Duration::from_secs_f64((1.0 - level) / rate.per_sec))
        }
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The server's rate limiters. Kept in [`AppState`]; limits are read from
/// the configuration on each request.
#[derive(Debug)]
pub struct RateLimiter {
    per_ip: Buckets<IpAddr>,
    per_key: Buckets<[u8; 32]>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            per_ip: Buckets::new(MAX_ENTRIES),
            per_key: Buckets::new(MAX_ENTRIES),
        }
    }
}

/// Whole seconds to wait, at least 1.
fn retry_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

impl RateLimiter {
    /// Counts one request from `ip` (if known) against `limits`. `Err`
    /// carries the seconds to wait.
    pub fn check_ip(
        &self,
        limits: &RateLimitConfig,
        ip: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), u64> {
        match (ip, Rate::new(limits.per_ip_per_sec, limits.per_ip_burst)) {
            (Some(ip), Some(rate)) => self.per_ip.take(ip_key(ip), rate, now).map_err(retry_secs),
            _ => Ok(()),
        }
    }

    /// Counts one request under `api_key` against `limits`. Call it only
    /// for a request whose signature was verified. `Err` carries the
    /// seconds to wait.
    pub fn check_key(
        &self,
        limits: &RateLimitConfig,
        api_key: &[u8],
        now: Instant,
    ) -> Result<(), u64> {
        match Rate::new(limits.per_key_per_sec, limits.per_key_burst) {
            Some(rate) => {
                let digest: [u8; 32] = Sha256::digest(api_key).into();
                self.per_key.take(digest, rate, now).map_err(retry_secs)
            }
            None => Ok(()),
        }
    }
}

/// The bucket key for a client address: IPv4 as is (also when mapped into
/// IPv6), IPv6 reduced to its /64.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Parses one address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`,
/// `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            s.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })
}

/// The client address of a request: the TCP `peer`, or, when `trust` is
/// set, the rightmost `X-Forwarded-For` entry (appended by our proxy; the
/// entries left of it are whatever the client claimed) or else `X-Real-IP`.
/// Unparseable forwarded values fall back to the peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust: bool) -> Option<IpAddr> {
    if trust {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').map(str::trim).find(|s| !s.is_empty()))
            .and_then(parse_addr);
        let real = || {
            headers
                .get("x-real-ip")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_addr)
        };
        if let Some(ip) = forwarded.or_else(real) {
            return Some(ip);
        }
    }
    peer
}

/// Whether `path` is `prefix` or below it (`prefix` without trailing `/`).
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Middleware: the per-IP limit on `/auth/*`, `/api/*` and `/download/*`.
/// (The per-key limit comes after the signature check, in `Signed`.)
pub async fn rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !["/auth", "/api", "/download"]
        .iter()
        .any(|prefix| under(path, prefix))
    {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // No peer: an in-process call (e.g. the demo room), not a network client.
    let ip = peer.and_then(|p| client_ip(req.headers(), Some(p), st.config.trust_forwarded_for));
    if let Err(retry_after_secs) =
        st.rate_limiter
            .check_ip(&st.config.rate_limit, ip, Instant::now())
    {
        let path = crate::web::loggable_path(path);
        tracing::debug!(?ip, %path, retry_after_secs, "rate limited");
        return ApiError::TooManyRequests { retry_after_secs }.into_response();
    }
    next.run(req).await
}

/// Middleware: refuses a declared `Content-Length` above `max_body_bytes`
/// with 413 and the envelope before any handler runs (also for handlers
/// that never read the body), and turns any other 413 produced further in
/// (axum's plain-text body-limit rejection) into the envelope. Bodies
/// without a length are cut off by `DefaultBodyLimit` when read.
pub async fn limit_body(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let max = st.config.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return ApiError::PayloadTooLarge(max).into_response();
    }
    let res = next.run(req).await;
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(res.headers()) {
        return ApiError::PayloadTooLarge(max).into_response();
    }
    res
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let b = Buckets::new(10);
        let rate = Rate::new(2, 3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.take("k", rate, t0).is_ok());
        }
        let wait = b.take("k", rate, t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert!(b.take("other", rate, t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(b.take("k", rate, t1).is_ok());
        assert!(b.take("k", rate, t1).is_err());
        // Refilling never exceeds the burst.
        let t2 = t1 + Duration::from_secs(100);
        for _ in 0..3 {
            assert!(b.take("k", rate, t2).is_ok());
        }
        assert!(b.take("k", rate, t2).is_err());
    }

    #[test]
    fn table_is_bounded_and_idle_buckets_are_swept() {
        let b = Buckets::new(3);
        let rate = Rate::new(1, 2).unwrap();
        let t0 = Instant::now();
        for k in 0..3 {
            b.take(k, rate, t0).unwrap();
        }
        // Full, nothing idle yet: a new key is let through uncounted.
        for _ in 0..5 {
            assert!(b.take(99, rate, t0).is_ok());
        }
        assert_eq!(b.len(), 3);
        // Two seconds later the old buckets are full again and swept out,
        // so the new key is counted.
        let t1 = t0 + Duration::from_secs(2);
        b.take(99, rate, t1).unwrap();
        assert_eq!(b.len(), 1);
        b.take(99, rate, t1).unwrap();
        assert!(b.take(99, rate, t1).is_err());
        // The periodic sweep drops refilled buckets even when not full.
        let t2 = t1 + SWEEP_EVERY + Duration::from_secs(5);
        b.take(7, rate, t2).unwrap();
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn zero_rate_disables_and_zero_burst_is_one() {
        assert_eq!(Rate::new(0, 10), None);
        let rate = Rate::new(1, 0).unwrap();
        let b = Buckets::new(10);
        let t0 = Instant::now();
        assert!(b.take(1, rate, t0).is_ok());
        assert!(b.take(1, rate, t0).is_err());
    }

    #[test]
    fn limiter_counts_ip_and_key_separately() {
        let limits = RateLimitConfig {
            per_key_per_sec: 1,
            per_key_burst: 1,
            per_ip_per_sec: 1,
            per_ip_burst: 2,
        };
        let l = RateLimiter::default();
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check_key(&limits, b"key", t0).is_ok());
        // The key's bucket is empty, whatever the IP.
        assert_eq!(l.check_key(&limits, b"key", t0), Err(1));
        // Another key is another bucket; IPs have their own.
        assert!(l.check_key(&limits, b"other", t0).is_ok());
        assert!(l.check_ip(&limits, Some(a), t0).is_ok());
        assert!(l.check_ip(&limits, Some(a), t0).is_ok());
        assert!(l.check_ip(&limits, Some(a), t0).is_err());
        // No IP (an in-process call) is not counted.
        for _ in 0..10 {
            assert!(l.check_ip(&limits, None, t0).is_ok());
        }
    }

    #[test]
    fn ipv6_counted_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        let m: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(m), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_headers_only_when_trusted_and_rightmost_wins() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        h.insert("x-real-ip", "198.51.100.1".parse().unwrap());
        assert_eq!(client_ip(&h, Some(peer), false), Some(peer));
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("203.0.113.9".parse().unwrap())
        );
        // A second header line is appended later: its last entry wins.
        h.append("x-forwarded-for", "[2001:db8::5]:443".parse().unwrap());
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("2001:db8::5".parse().unwrap())
        );
        h.remove("x-forwarded-for");
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("198.51.100.1".parse().unwrap())
        );
        h.insert("x-real-ip", "garbage".parse().unwrap());
        assert_eq!(client_ip(&h, Some(peer), true), Some(peer));
    }

    #[test]
    fn path_prefixes() {
        assert!(under("/auth/room/create", "/auth"));
        assert!(under("/auth", "/auth"));
        assert!(!under("/authx", "/auth"));
        assert!(under("/api/verifyToken", "/api"));
        assert!(under("/download/analytics/t", "/download"));
        assert!(!under("/healthz", "/api"));
        assert!(!under("/", "/api"));
    }
}
