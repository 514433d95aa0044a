//! Per-session analytics: counts only, never content. Counters live in KV
//! (`quorum-analytics`, key `{sid}.{user}`: one small value per person, so
//! a big room neither makes one large value nor one hot key) so every
//! instance adds to the same numbers; at the end of an `enable_analytics`
//! session they are written to `{data_dir}/analytics/{file_id}.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use quorum_shared::ids::UserId;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{RoomState, RoomsError};

/// Counters of one user in one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCounts {
    /// Times the user connected.
    pub joins: u32,
    /// Times the user disconnected.
    pub leaves: u32,
    /// Public chat messages sent.
    pub messages_sent: u32,
    /// Hands raised.
    pub hands_raised: u32,
    /// Seconds with a microphone published in the media room, from
    /// LiveKit's webhooks (which don't say when someone speaks or mutes:
    /// this is the time they could be heard).
    pub talk_time_secs: u64,
    /// Since when (LiveKit's event time, Unix seconds) a microphone has
    /// been published; closed by its unpublishing, leaving, or the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone_since: Option<i64>,
}

/// No single stretch counts for more than this (a lost
/// `track_unpublished` must not make a day of talking).
const MAX_STRETCH_SECS: i64 = 24 * 3600;

impl UserCounts {
    /// A microphone published (`true`) or gone at `at`.
    fn microphone(&mut self, on: bool, at: i64) {
        match (on, self.microphone_since) {
            (true, None) => self.microphone_since = Some(at),
            (false, Some(since)) => {
                let secs = at.saturating_sub(since).clamp(0, MAX_STRETCH_SECS);
                self.talk_time_secs += u64::try_from(secs).unwrap_or(0);
                self.microphone_since = None;
            }
            _ => {}
        }
    }
}

/// The file written at the end of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounts {
    /// Room id.
    pub room_id: String,
    /// Session id.
    pub sid: String,
    /// Counters by user id.
    pub users: BTreeMap<String, UserCounts>,
}

/// Chat messages handed to the counting task and not yet counted; when
/// that many wait, the meter waits too (nothing is dropped).
const MESSAGE_QUEUE: usize = 4096;

/// The meter's end of the chat message count ([`Analytics::message_counter`]).
pub struct MessageCounter {
    tx: mpsc::Sender<(String, UserId)>,
}

impl MessageCounter {
    /// Counts a public chat message of `user` in `r` (if its session
    /// keeps analytics). Returns at once unless the count is far behind.
    pub async fn record(&self, r: &RoomState, user: &UserId) {
        if enabled(r) {
            // Fails only once the counting task is gone: nothing to count.
            let _ = self.tx.send((r.sid.clone(), user.clone())).await;
        }
    }
}

/// Handle to the analytics counters. Cheap to clone.
#[derive(Clone)]
pub struct Analytics {
    kv: kv::Store,
    dir: PathBuf,
}

fn enabled(r: &RoomState) -> bool {
    r.metadata.room_features.enable_analytics == Some(true)
}

fn unix_now() -> i64 {
    i64::try_from(crate::tokens::now_secs()).unwrap_or(i64::MAX)
}

/// The analytics file id of a session.
pub fn file_id(sid: &str) -> String {
    format!("analytics-{sid}")
}

impl Analytics {
    /// Opens the counters bucket; files go to `dir`.
    pub async fn open(js: &jetstream::Context, dir: PathBuf) -> Result<Self, RoomsError> {
        let config = kv::Config {
            bucket: "quorum-analytics".into(),
            history: 1,
            max_age: Duration::from_secs(48 * 3600),
            // Reserved from JetStream's budget, like the state buckets.
            max_bytes: 64 * 1024 * 1024,
            ..Default::default()
        };
        let kv = match js.create_key_value(config).await {
            Ok(kv) => kv,
            // Made by an older version (other settings): use it as it is.
            Err(_) => js
                .get_key_value("quorum-analytics")
                .await
                .map_err(|e| RoomsError::Kv(e.to_string()))?,
        };
        Ok(Self { kv, dir })
    }

    /// Applies `f` to `user`'s counters (written only if it changed them).
    async fn bump(&self, r: &RoomState, user: &UserId, f: impl Fn(&mut UserCounts)) {
        if enabled(r) {
            self.bump_key(&r.sid, user, f).await;
        }
    }

    /// Applies `f` to the counters of `user` in session `sid`.
    async fn bump_key(&self, sid: &str, user: &UserId, f: impl Fn(&mut UserCounts)) {
        let key = format!("{sid}.{user}");
        for _ in 0..20 {
            let entry = match self.kv.entry(&key).await {
                Ok(e) => e,
                Err(e) => return tracing::warn!(error = %e, "analytics read failed"),
            };
            let (mut counts, rev) = match entry {
                Some(e) if e.operation == kv::Operation::Put => (
                    serde_json::from_slice::<UserCounts>(&e.value).unwrap_or_default(),
                    Some(e.revision),
                ),
                _ => (UserCounts::default(), None),
            };
            let before = counts.clone();
            f(&mut counts);
            if counts == before {
                return;
            }
            let bytes = Bytes::from(serde_json::to_vec(&counts).unwrap_or_default());
            let done = match rev {
                Some(rev) => self.kv.update(&key, bytes, rev).await.is_ok(),
                None => self.kv.create(&key, bytes).await.is_ok(),
            };
            if done {
                return;
            }
        }
        tracing::warn!(%sid, "analytics update gave up after contention");
    }

    /// Counts a join.
    pub async fn record_join(&self, r: &RoomState, user: &UserId) {
        self.bump(r, user, |c| c.joins += 1).await;
    }

    /// Counts a leave.
    pub async fn record_leave(&self, r: &RoomState, user: &UserId) {
        self.bump(r, user, |c| c.leaves += 1).await;
    }

    /// Counts a raised hand.
    pub async fn record_hand(&self, r: &RoomState, user: &UserId) {
        self.bump(r, user, |c| c.hands_raised += 1).await;
    }

    /// Starts counting chat messages beside the caller (the meter), which
    /// hands them over without waiting for KV; the task ends when the
    /// returned counter is dropped.
    pub fn message_counter(&self) -> MessageCounter {
        let (tx, rx) = mpsc::channel(MESSAGE_QUEUE);
        tokio::spawn(self.clone().count_messages(rx));
        MessageCounter { tx }
    }

    /// Takes whatever messages have queued up, and adds them with one KV
    /// update per sender: under load a sender's burst costs one read and
    /// one write, however many messages it holds.
    async fn count_messages(self, mut rx: mpsc::Receiver<(String, UserId)>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, MESSAGE_QUEUE).await > 0 {
            let mut sums: HashMap<(String, UserId), u32> = HashMap::new();
            for key in batch.drain(..) {
                *sums.entry(key).or_default() += 1;
            }
            for ((sid, user), n) in sums {
                self.bump_key(&sid, &user, |c| {
                    c.messages_sent = c.messages_sent.saturating_add(n);
                })
                .await;
            }
        }
    }

    /// A microphone published (`on`) or gone at `at` (Unix seconds, as
    /// LiveKit stamped its event; now if it didn't): adds to the talk time.
    pub async fn record_microphone(&self, r: &RoomState, user: &UserId, on: bool, at: Option<i64>) {
        let at = at.unwrap_or_else(unix_now);
        self.bump(r, user, |c| c.microphone(on, at)).await;
    }

    /// The counters of session `sid` so far (one read of that session's
    /// keys: at the end, or for tests), if any.
    pub async fn counts(&self, sid: &str) -> Option<SessionCounts> {
        let mut watch = self.kv.watch_with_history(format!("{sid}.>")).await.ok()?;
        let mut users = BTreeMap::new();
        // Only this session's keys: a replay ends with `delta == 0`, or is
        // empty (then nothing comes: a moment's quiet says so).
        while let Ok(Some(Ok(e))) =
            tokio::time::timeout(Duration::from_millis(300), watch.next()).await
        {
            if e.operation == kv::Operation::Put {
                if let (Some(user), Ok(c)) = (
                    e.key.strip_prefix(&format!("{sid}.")),
                    serde_json::from_slice::<UserCounts>(&e.value),
                ) {
                    users.insert(user.to_owned(), c);
                }
            }
            if e.delta == 0 {
                break;
            }
        }
        (!users.is_empty()).then(|| SessionCounts {
            room_id: String::new(),
            sid: sid.to_owned(),
            users,
        })
    }

    /// At session end: writes the file (if enabled) and returns its id.
    pub async fn finish(&self, r: &RoomState) -> Option<String> {
        if !enabled(r) {
            return None;
        }
        let mut counts = self.counts(&r.sid).await.unwrap_or_default();
        // Microphones still published count until now.
        let now = unix_now();
        for c in counts.users.values_mut() {
            c.microphone(false, now);
        }
        counts.room_id = r.room_id.to_string();
        counts.sid = r.sid.clone();
        let id = file_id(&r.sid);
        let path = self.dir.join(format!("{id}.json"));
        let written = tokio::fs::create_dir_all(&self.dir).await.and(
            tokio::fs::write(
                &path,
                serde_json::to_vec_pretty(&counts).unwrap_or_default(),
            )
            .await,
        );
        if let Err(e) = written {
            tracing::error!(error = %e, path = %path.display(), "cannot write analytics");
            return None;
        }
        crate::secrets::restrict(&path, crate::secrets::FILE_MODE);
        // This session's counters, in one filtered purge.
        let filter = format!("{}{}.>", self.kv.prefix, r.sid);
        if let Err(e) = self.kv.stream.purge().filter(filter).await {
            tracing::warn!(error = %e, sid = %r.sid, "analytics counters not purged");
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_time_adds_up_published_stretches_and_ignores_repeats() {
        let mut c = UserCounts::default();
        c.microphone(true, 100);
        c.microphone(true, 130); // told twice: the first start stands
        c.microphone(false, 160);
        c.microphone(false, 170); // gone twice: counted once
        assert_eq!(c.talk_time_secs, 60);
        c.microphone(true, 200);
        c.microphone(false, 190); // a clock step back counts nothing
        assert_eq!(c.talk_time_secs, 60);
        c.microphone(true, 0);
        c.microphone(false, 10 * MAX_STRETCH_SECS);
        assert_eq!(c.talk_time_secs, 60 + 24 * 3600);
        assert_eq!(c.microphone_since, None);
    }
}
