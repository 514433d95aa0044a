//! The KV buckets behind room state: `quorum-rooms` (key `{room_id}`),
//! `quorum-participants` (key `{room_id}.{user_id}`), `quorum-conns` (key:
//! the one-off user nkey of a NATS connection) and `quorum-room-secrets`
//! (key: session id). Every write is a compare-and-set (or an atomic
//! create) and is applied to the [`Index`] at once; reads come from the
//! index, falling back to KV for a key it does not know yet.
//!
//! Each bucket has its own byte budget, which JetStream reserves from the
//! server's storage, so room streams (which have budgets of their own) can
//! never fill the disk under room state.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use quorum_shared::ids::{RoomId, UserId};

use super::index::{Bucket, Index};
use super::{RoomState, RoomsError};

mod conns;
mod participants;

pub use conns::Online;

fn kv_err(e: impl std::fmt::Display) -> RoomsError {
    RoomsError::Kv(e.to_string())
}

/// Handle to the buckets and the index that mirrors them. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    rooms: kv::Store,
    participants: kv::Store,
    conns: kv::Store,
    secrets: kv::Store,
    /// The in-memory view of the first three buckets.
    pub index: Index,
}

const MIB: i64 = 1024 * 1024;

/// Opens (or creates) a state bucket with a byte budget. Room and
/// participant records have no age limit: a meeting may run for days, and
/// every room ends by its own timers (an empty room by its empty timeout),
/// which remove its records. Connection records (`max_age`) only need to
/// outlive their connection, which is renewed every few minutes.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    max_bytes: i64,
    max_age: Duration,
) -> Result<kv::Store, RoomsError> {
    let config = kv::Config {
        bucket: name.to_owned(),
        history: 1,
        max_age,
        max_bytes,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match js.create_key_value(config.clone()).await {
        Ok(s) => Ok(s),
        // A bucket made by an older version with other limits: bring them
        // up to date (the stream is updated in place).
        Err(_) => {
            let store = js.get_key_value(name).await.map_err(kv_err)?;
            let mut stream = store.stream.clone();
            let info = stream.info().await.map_err(kv_err)?;
            if info.config.max_bytes != max_bytes || info.config.max_age != max_age {
                let mut c = info.config.clone();
                c.max_bytes = max_bytes;
                c.max_age = max_age;
                js.update_stream(&c).await.map_err(kv_err)?;
            }
            Ok(store)
        }
    }
}

/// No age limit.
const FOREVER: Duration = Duration::ZERO;

fn decode<T: serde::de::DeserializeOwned>(key: &str, b: &[u8]) -> Result<T, RoomsError> {
    serde_json::from_slice(b).map_err(|e| RoomsError::Corrupt(key.to_owned(), e))
}

fn encode<T: serde::Serialize>(v: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

fn pkey(room: &RoomId, user: &UserId) -> String {
    format!("{room}.{user}")
}

/// Compare-and-set attempts before giving up on a hot key.
const CAS_ATTEMPTS: usize = 20;

fn contention(key: &str) -> RoomsError {
    RoomsError::Kv(format!("too much contention updating {key}"))
}

/// One compare-and-set update: `f` edits the value (false: leave it).
/// Returns the stored value, its revision and whether `f` changed it;
/// `None` if there is no value.
async fn update_entry<T: serde::Serialize + serde::de::DeserializeOwned>(
    store: &kv::Store,
    key: &str,
    mut f: impl FnMut(&mut T) -> bool,
) -> Result<Option<(T, u64, bool)>, RoomsError> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(entry) = store.entry(key).await.map_err(kv_err)? else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let mut value: T = decode(key, &entry.value)?;
        if !f(&mut value) {
            return Ok(Some((value, entry.revision, false)));
        }
        match store.update(key, encode(&value), entry.revision).await {
            Ok(rev) => return Ok(Some((value, rev, true))),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(e) => return Err(kv_err(e)),
        }
    }
    Err(contention(key))
}

/// Byte budgets of the state buckets.
pub struct Budgets {
    /// `quorum-rooms`.
    pub rooms: i64,
    /// `quorum-participants`.
    pub participants: i64,
    /// `quorum-conns`.
    pub conns: i64,
    /// `quorum-room-secrets`.
    pub secrets: i64,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            rooms: 64 * MIB,
            participants: 256 * MIB,
            conns: 64 * MIB,
            secrets: 16 * MIB,
        }
    }
}

impl Rooms {
    /// Opens (creating if needed) the buckets and starts mirroring them
    /// into `index`.
    pub async fn open(
        js: &jetstream::Context,
        index: Index,
        b: &Budgets,
    ) -> Result<Self, RoomsError> {
        let me = Self {
            rooms: bucket(js, "quorum-rooms", b.rooms, FOREVER).await?,
            participants: bucket(js, "quorum-participants", b.participants, FOREVER).await?,
            conns: bucket(js, "quorum-conns", b.conns, Duration::from_secs(24 * 3600)).await?,
            secrets: bucket(js, "quorum-room-secrets", b.secrets, FOREVER).await?,
            index,
        };
        me.index.follow(me.rooms.clone(), Bucket::Rooms);
        me.index
            .follow(me.participants.clone(), Bucket::Participants);
        me.index.follow(me.conns.clone(), Bucket::Conns);
        Ok(me)
    }

    // -- rooms -- //

    /// Creates the room unless it is already running. Returns the running
    /// room and whether this call created it. KV `create` is atomic, so two
    /// concurrent creates (even on two servers) yield one session.
    pub async fn create_room(&self, state: RoomState) -> Result<(RoomState, bool), RoomsError> {
        let key = state.room_id.to_string();
        for _ in 0..2 {
            match self.rooms.create(&key, encode(&state)).await {
                Ok(rev) => {
                    self.index
                        .apply_room(&state.room_id, rev, Some(state.clone()));
                    return Ok((state, true));
                }
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    if let Some(existing) = self.room_from_kv(&state.room_id).await? {
                        return Ok((existing, false));
                    }
                    // Deleted between our create and get: try once more.
                }
                Err(e) => return Err(kv_err(e)),
            }
        }
        Err(contention(&key))
    }

    /// The running room, if any.
    pub async fn room(&self, id: &RoomId) -> Result<Option<RoomState>, RoomsError> {
        match self.index.room(id) {
            Some(r) => Ok(Some(r)),
            None => self.room_from_kv(id).await,
        }
    }

    /// The running room as KV has it now (and the index from then on).
    pub async fn room_from_kv(&self, id: &RoomId) -> Result<Option<RoomState>, RoomsError> {
        let key = id.to_string();
        match self.rooms.entry(&key).await.map_err(kv_err)? {
            Some(e) if e.operation == kv::Operation::Put => {
                let r: RoomState = decode(&key, &e.value)?;
                self.index.apply_room(id, e.revision, Some(r.clone()));
                Ok(Some(r))
            }
            _ => Ok(None),
        }
    }

    /// Every running room.
    pub fn rooms(&self) -> Vec<RoomState> {
        self.index.rooms()
    }

    /// Applies `f` to the room with compare-and-set, retrying on conflict,
    /// so concurrent updates from several instances never lose a write.
    /// `f` returns false to leave the room unchanged. Returns the stored
    /// room (or `None` if the room does not exist).
    pub async fn update_room(
        &self,
        id: &RoomId,
        f: impl FnMut(&mut RoomState) -> bool,
    ) -> Result<Option<RoomState>, RoomsError> {
        let updated = update_entry(&self.rooms, id.as_ref(), f).await?;
        match updated {
            Some((r, rev, _)) => {
                self.index.apply_room(id, rev, Some(r.clone()));
                Ok(Some(r))
            }
            None => {
                // Gone from KV: gone from the index too (up to the removal).
                let rev = self.removed_at(&self.rooms, id.as_ref()).await;
                self.index.apply_room(id, rev, None);
                Ok(None)
            }
        }
    }

    /// Removes a room session: its participants and its record. Connection
    /// records stay (until they close, or expire) so that a connection
    /// nats-server announces late can still be recognised and dropped.
    pub async fn remove_room(&self, room: &RoomState) -> Result<(), RoomsError> {
        for p in self.index.participants_of(&room.room_id) {
            self.participants
                .purge(pkey(&room.room_id, &p.user_id))
                .await
                .map_err(kv_err)?;
        }
        // Any the index did not know of, in one filtered purge.
        let filter = format!("{}{}.>", self.participants.prefix, room.room_id);
        if let Err(e) = self.participants.stream.purge().filter(filter).await {
            tracing::warn!(error = %e, room = %room.room_id, "participant sweep failed");
        }
        let _ = self.secrets.purge(&room.sid).await;
        let key = room.room_id.to_string();
        self.rooms.purge(&key).await.map_err(kv_err)?;
        let rev = self.removed_at(&self.rooms, &key).await;
        self.index.apply_room(&room.room_id, rev, None);
        Ok(())
    }

    /// The revision of `key`'s removal marker, so the index forgets only
    /// what came before it (never a newer value another writer put since);
    /// 0 if it can't be read, which removes nothing newer than that.
    async fn removed_at(&self, store: &kv::Store, key: &str) -> u64 {
        match store.entry(key).await {
            Ok(Some(e)) if e.operation != kv::Operation::Put => e.revision,
            _ => 0,
        }
    }

    // -- room secrets -- //

    /// Stores the server-generated E2EE secret of a session. It lives in its
    /// own bucket so no room or participant read can leak it into an API
    /// response or webhook.
    pub async fn put_room_secret(&self, sid: &str, secret: &str) -> Result<(), RoomsError> {
        self.secrets
            .put(sid, Bytes::from(secret.to_owned()))
            .await
            .map(drop)
            .map_err(kv_err)
    }

    /// Forgets a session's secret (a creation that did not complete).
    pub async fn remove_room_secret(&self, sid: &str) -> Result<(), RoomsError> {
        self.secrets.purge(sid).await.map_err(kv_err)
    }

    /// The E2EE secret of a session, if it has one.
    pub async fn room_secret(&self, sid: &str) -> Result<Option<String>, RoomsError> {
        Ok(self
            .secrets
            .get(sid)
            .await
            .map_err(kv_err)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}
