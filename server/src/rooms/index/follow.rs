//! Keeping the [`Index`] in step with one KV bucket: its content when
//! the watch starts (replacing whatever the index held, so deletions
//! missed while not watching are caught), then every change.

use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt;
use quorum_shared::ids::{RoomId, UserId};

use super::{Due, Index};

/// How long a watch's replay may stay silent before it counts as complete.
const INITIAL_QUIET: Duration = Duration::from_secs(2);

impl Index {
    /// Mirrors one bucket into this index until the process ends: the
    /// current content first (replacing whatever was there, so deletions
    /// missed while not watching are caught), then every change. The watch
    /// is started again after an error.
    pub fn follow(&self, store: kv::Store, bucket: Bucket) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.follow_once(&store, bucket).await {
                    tracing::warn!(error = %e, ?bucket, "kv watch ended; restarting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn follow_once(&self, store: &kv::Store, bucket: Bucket) -> Result<(), String> {
        // The content as of now ends at this sequence: the watch's replay
        // of the latest value per key is complete once it has passed it.
        let state = store.status().await.map_err(|e| e.to_string())?.info.state;
        let last = state.last_sequence;
        let mut watch = store
            .watch_with_history(">")
            .await
            .map_err(|e| e.to_string())?;
        // The current content is gathered apart and swapped in whole once
        // complete, so a restarted watch also forgets deleted keys.
        let mut initial: Vec<kv::Entry> = Vec::new();
        let mut live = state.messages == 0;
        if live {
            self.replace(bucket, Vec::new());
        }
        loop {
            let next = if live {
                watch.next().await
            } else {
                // Keys removed (expiry, purge) between the status and the
                // watch may never be replayed: quiet means complete.
                match tokio::time::timeout(INITIAL_QUIET, watch.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.replace(bucket, std::mem::take(&mut initial));
                        live = true;
                        continue;
                    }
                }
            };
            let Some(entry) = next else {
                return Err("watch closed".into());
            };
            let entry = entry.map_err(|e| e.to_string())?;
            if live {
                self.apply_entry(bucket, &entry);
                continue;
            }
            let complete = entry.delta == 0 || entry.revision >= last;
            initial.push(entry);
            if complete {
                self.replace(bucket, std::mem::take(&mut initial));
                live = true;
            }
        }
    }

    fn replace(&self, bucket: Bucket, entries: Vec<kv::Entry>) {
        match bucket {
            Bucket::Rooms => self.write(|s| {
                s.rooms.clear();
                s.by_sid.clear();
                s.schedule.retain(|(_, d)| !matches!(d, Due::Room(_)));
                s.due_at.retain(|d, _| !matches!(d, Due::Room(_)));
            }),
            Bucket::Participants => self.write(|s| {
                s.participants.clear();
                s.schedule
                    .retain(|(_, d)| !matches!(d, Due::Participant(..)));
                s.due_at.retain(|d, _| !matches!(d, Due::Participant(..)));
            }),
            Bucket::Conns => self.write(|s| {
                s.conns.clear();
                s.conns_by_room.clear();
            }),
        }
        for e in &entries {
            self.apply_entry(bucket, e);
        }
        self.loaded.send_modify(|l| match bucket {
            Bucket::Rooms => l.rooms = true,
            Bucket::Participants => l.participants = true,
            Bucket::Conns => l.conns = true,
        });
        self.changed.notify_one();
    }

    fn apply_entry(&self, bucket: Bucket, e: &kv::Entry) {
        let put = e.operation == kv::Operation::Put;
        match bucket {
            Bucket::Rooms => {
                let Ok(id) = RoomId::parse(e.key.clone()) else {
                    return tracing::warn!(key = %e.key, "room key is not a room id: skipped");
                };
                self.apply_room(
                    &id,
                    e.revision,
                    put.then(|| decode(&e.key, &e.value)).flatten(),
                );
            }
            Bucket::Participants => {
                let Some((room, user)) = e.key.split_once('.') else {
                    return tracing::warn!(key = %e.key, "participant key: skipped");
                };
                let (Ok(room), Ok(user)) = (RoomId::parse(room), UserId::parse(user)) else {
                    return tracing::warn!(key = %e.key, "participant key: skipped");
                };
                let p = put.then(|| decode(&e.key, &e.value)).flatten();
                self.apply_participant(&room, &user, e.revision, p);
            }
            Bucket::Conns => {
                let info = put.then(|| decode(&e.key, &e.value)).flatten();
                self.apply_conn(&e.key, e.revision, info);
            }
        }
    }
}

/// Which bucket a watch mirrors.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    /// `quorum-rooms`.
    Rooms,
    /// `quorum-participants`.
    Participants,
    /// `quorum-conns`.
    Conns,
}

/// A value that no longer parses is skipped (and logged), never fatal:
/// one bad entry must not stop every other room's timers.
fn decode<T: serde::de::DeserializeOwned>(key: &str, b: &[u8]) -> Option<T> {
    match serde_json::from_slice(b) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(key, error = %e, "unreadable kv value: skipped");
            None
        }
    }
}
