//! Per-session analytics: counts only, never content. Counters live in KV
//! (`quorum-analytics`, key = session id) so every instance adds to the same
//! numbers; at the end of an `enable_analytics` session they are written to
//! `{data_dir}/analytics/{file_id}.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use quorum_shared::ids::UserId;
use serde::{Deserialize, Serialize};

use super::{RoomState, Rooms, RoomsError};

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
    /// Seconds of talking (no media yet: always 0).
    pub talk_time_secs: u64,
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

/// Handle to the analytics counters. Cheap to clone.
#[derive(Clone)]
pub struct Analytics {
    kv: kv::Store,
    dir: PathBuf,
}

fn enabled(r: &RoomState) -> bool {
    r.metadata.room_features.enable_analytics == Some(true)
}

/// The analytics file id of a session.
pub fn file_id(sid: &str) -> String {
    format!("analytics-{sid}")
}

impl Analytics {
    /// Opens the counters bucket; files go to `dir`.
    pub async fn open(js: &jetstream::Context, dir: PathBuf) -> Result<Self, RoomsError> {
        let kv = js
            .create_key_value(kv::Config {
                bucket: "quorum-analytics".into(),
                history: 1,
                max_age: Duration::from_secs(48 * 3600),
                ..Default::default()
            })
            .await
            .map_err(|e| RoomsError::Kv(e.to_string()))?;
        Ok(Self { kv, dir })
    }

    async fn bump(&self, r: &RoomState, user: &UserId, f: impl Fn(&mut UserCounts)) {
        if !enabled(r) {
            return;
        }
        for _ in 0..20 {
            let entry = match self.kv.entry(&r.sid).await {
                Ok(e) => e,
                Err(e) => return tracing::warn!(error = %e, "analytics read failed"),
            };
            let (mut counts, rev) = match entry {
                Some(e) if e.operation == kv::Operation::Put => (
                    serde_json::from_slice::<SessionCounts>(&e.value).unwrap_or_default(),
                    Some(e.revision),
                ),
                _ => (SessionCounts::default(), None),
            };
            counts.room_id = r.room_id.to_string();
            counts.sid = r.sid.clone();
            f(counts.users.entry(user.to_string()).or_default());
            let bytes = Bytes::from(serde_json::to_vec(&counts).unwrap_or_default());
            let done = match rev {
                Some(rev) => self.kv.update(&r.sid, bytes, rev).await.is_ok(),
                None => self.kv.create(&r.sid, bytes).await.is_ok(),
            };
            if done {
                return;
            }
        }
        tracing::warn!(sid = %r.sid, "analytics update gave up after contention");
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

    /// Counts a chat message.
    pub async fn record_message(&self, r: &RoomState, user: &UserId) {
        self.bump(r, user, |c| c.messages_sent += 1).await;
    }

    /// At session end: writes the file (if enabled) and returns its id.
    pub async fn finish(&self, r: &RoomState) -> Option<String> {
        if !enabled(r) {
            return None;
        }
        let counts = match self.kv.get(&r.sid).await {
            Ok(Some(b)) => serde_json::from_slice(&b).unwrap_or_default(),
            _ => SessionCounts {
                room_id: r.room_id.to_string(),
                sid: r.sid.clone(),
                users: BTreeMap::new(),
            },
        };
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
        let _ = self.kv.purge(&r.sid).await;
        Some(id)
    }

    /// Counts chat messages by sender for analytics rooms. Reads only the
    /// subject (who sent), never the payload. A queue group makes each
    /// message count once across instances.
    pub async fn count_chat(self, client: async_nats::Client, rooms: Rooms) {
        let mut sub = match client
            .queue_subscribe("qr.*.chat.*", "quorum-analytics".to_owned())
            .await
        {
            Ok(s) => s,
            Err(e) => return tracing::error!(error = %e, "cannot count chat"),
        };
        while let Some(msg) = sub.next().await {
            let Some((room, user)) = quorum_shared::subjects::parse_chat(msg.subject.as_str())
            else {
                continue;
            };
            if let Ok(Some(r)) = rooms.room(&room).await {
                self.record_message(&r, &user).await;
            }
        }
    }
}
