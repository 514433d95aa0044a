//! What one participant may make the server and the room do: rate limits
//! per participant (chat and private chat, worker requests, history
//! requests) and the chat count for analytics (handed to a task of its
//! own, `Analytics::message_counter`, that adds a sender's burst up in
//! one KV update).
//!
//! The meter hears every chat and private-chat message of every room on
//! one queue-group subscription (subject and size only; the payload is
//! never read, and in E2EE rooms it is ciphertext anyway). Participants
//! can't join that queue group to take messages away from it: the callout
//! denies them any queue subscription. A participant who sends faster than
//! the limit is throttled: chat is denied by nats-server (its connection
//! is moved to allow-lists without chat) for [`THROTTLE_SECS`], it is told
//! why, and the room never notices.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use futures::StreamExt;
use quorum_shared::events::SystemEvent;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;

use super::service::{now, RoomService};

/// The meter's queue group (participants may join none).
const QUEUE: &str = "quorum-meter";

/// Rates and budgets; see the README's "Limits".
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Chat and private messages per second, sustained.
    pub chat_per_sec: f64,
    /// … and in a burst.
    pub chat_burst: f64,
    /// Worker requests per second, sustained, and burst.
    pub worker_per_sec: f64,
    /// Worker burst.
    pub worker_burst: f64,
    /// History requests per second, sustained, and burst.
    pub history_per_sec: f64,
    /// History burst.
    pub history_burst: f64,
    /// Bytes one room's stream keeps (oldest dropped first).
    pub room_stream_bytes: i64,
    /// Bytes one room's private-events stream keeps.
    pub private_stream_bytes: i64,
    /// Worker requests and callouts handled at once; beyond, "busy".
    pub concurrency: usize,
    /// Seconds a participant who sent too fast may not send chat.
    pub throttle_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            chat_per_sec: 5.0,
            chat_burst: 20.0,
            worker_per_sec: 10.0,
            worker_burst: 30.0,
            history_per_sec: 20.0,
            history_burst: 60.0,
            room_stream_bytes: 4 * 1024 * 1024,
            private_stream_bytes: 1024 * 1024,
            concurrency: 256,
            throttle_secs: 30,
        }
    }
}

/// Which budget a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Chat and private chat.
    Chat,
    /// Worker requests.
    Worker,
    /// History requests.
    History,
    /// NATS logins (reconnects).
    Connect,
    /// Reactions.
    Reaction,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per participant and kind. Bounded: past [`MAX_BUCKETS`]
/// entries, the full ones (idle senders) are dropped.
#[derive(Default)]
pub struct Buckets {
    map: Mutex<HashMap<(RoomId, UserId, Kind), Bucket>>,
}

const MAX_BUCKETS: usize = 100_000;

impl Buckets {
    /// Takes one token for `(room, user, kind)` at `rate` per second with
    /// `burst`; false when empty.
    pub fn take(&self, room: &RoomId, user: &UserId, kind: Kind, rate: f64, burst: f64) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_BUCKETS {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = map
            .entry((room.clone(), user.clone(), kind))
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl RoomService {
    /// Takes one request of `kind` from `user`'s budget; false when over.
    pub fn allow(&self, room: &RoomId, user: &UserId, kind: Kind) -> bool {
        let l = &self.limits;
        let (rate, burst) = match kind {
            Kind::Chat => (l.chat_per_sec, l.chat_burst),
            Kind::Worker => (l.worker_per_sec, l.worker_burst),
            Kind::History => (l.history_per_sec, l.history_burst),
            // Logins come every few minutes (token swaps, blips); a loop
            // is slowed to two a second.
            Kind::Connect => (2.0, 30.0),
            // Five in ten seconds.
            Kind::Reaction => (0.5, 5.0),
        };
        let ok = self.buckets.take(room, user, kind, rate, burst);
        if !ok {
            crate::metrics::rate_limited(kind);
        }
        ok
    }

    /// Follows every room's chat and private chat until the connection
    /// closes: counts chat for analytics and throttles whoever floods.
    pub async fn run_meter(self) {
        let mut subs = Vec::new();
        for subject in [subjects::CHAT_ALL, subjects::DM_ALL] {
            match self.nats.queue_subscribe(subject, QUEUE.to_owned()).await {
                Ok(s) => subs.push(s),
                Err(e) => return tracing::error!(error = %e, "cannot meter chat"),
            }
        }
        let mut all = futures::stream::select_all(subs);
        // Counting goes on beside the meter: its KV round trips must not
        // hold up the next message, whose sender may be flooding.
        let counter = self.analytics.message_counter();
        while let Some(msg) = all.next().await {
            let subject = msg.subject.as_str();
            let (room, sender, public) = match subjects::parse_chat(subject) {
                Some((r, u)) => (r, u, true),
                None => match subjects::parse_dm(subject) {
                    Some((r, _to, from)) => (r, from, false),
                    None => continue,
                },
            };
            crate::metrics::chat_message(msg.payload.len());
            if !self.allow(&room, &sender, Kind::Chat) {
                self.throttle(&room, &sender).await;
                continue;
            }
            if public {
                if let Some(r) = self.index().room(&room) {
                    counter.record(&r, &sender).await;
                }
            }
        }
    }

    /// Stops `user` sending chat for `throttle_secs`: recorded (so the
    /// callout grants no chat), told, and moved to a connection without
    /// chat permission. Once per throttle, however much more arrives
    /// before nats-server enforces it.
    pub async fn throttle(&self, room: &RoomId, user: &UserId) {
        let t = now();
        let until = t + self.limits.throttle_secs as i64;
        let updated = self
            .kv
            .update_participant(room, user, |p| {
                if p.throttled_at(t) || p.is_admin {
                    return false;
                }
                p.throttled_until = Some(until);
                true
            })
            .await;
        match updated {
            Ok(Some((p, true))) => {
                tracing::info!(%room, %user, "sending too fast: chat paused");
                crate::metrics::throttled();
                let ev = SystemEvent::Throttled {
                    seconds: self.limits.throttle_secs,
                };
                self.enforce(&p, &ev).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, %room, %user, "cannot throttle"),
        }
    }
}
