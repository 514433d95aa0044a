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
use quorum_shared::subjects::Access;

use super::index::{Bucket, Index};
use super::{ConnInfo, ParticipantState, Presence, RoomState, RoomsError};

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

    // -- participants -- //

    async fn current_sid(&self, room: &RoomId) -> Result<Option<String>, RoomsError> {
        Ok(self.room(room).await?.map(|r| r.sid))
    }

    /// Like [`Rooms::update_room`], for a participant of the room's current
    /// session: every writer (the callout, advisories, timers, moderator
    /// requests, the API) goes through here, so none undoes another's
    /// change. Returns the stored participant and whether `f` changed it.
    pub async fn update_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        mut f: impl FnMut(&mut ParticipantState) -> bool,
    ) -> Result<Option<(ParticipantState, bool)>, RoomsError> {
        let Some(sid) = self.current_sid(room).await? else {
            return Ok(None);
        };
        let mut stale = false;
        let updated = update_entry(
            &self.participants,
            &pkey(room, user),
            |p: &mut ParticipantState| {
                stale = p.sid != sid;
                !stale && f(p)
            },
        )
        .await?;
        if stale {
            return Ok(None);
        }
        Ok(updated.map(|(p, rev, changed)| {
            self.index
                .apply_participant(room, user, rev, Some(p.clone()));
            (p, changed)
        }))
    }

    /// Updates the participant with `update`, or creates it with `create`
    /// if there is none in this session, without losing a concurrent write.
    pub async fn upsert_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        mut update: impl FnMut(&mut ParticipantState),
        create: impl Fn() -> ParticipantState,
    ) -> Result<ParticipantState, RoomsError> {
        let key = pkey(room, user);
        for _ in 0..CAS_ATTEMPTS {
            let updated = self
                .update_participant(room, user, |p| {
                    update(p);
                    true
                })
                .await?;
            if let Some((p, _)) = updated {
                return Ok(p);
            }
            let p = create();
            // A record of an earlier session is overwritten, not updated.
            let existing = self.participants.entry(&key).await.map_err(kv_err)?;
            let written = match existing {
                Some(e) if e.operation == kv::Operation::Put => {
                    let old: Option<ParticipantState> = serde_json::from_slice(&e.value).ok();
                    if old.is_some_and(|o| o.sid == p.sid) {
                        continue;
                    }
                    self.participants
                        .update(&key, encode(&p), e.revision)
                        .await
                        .ok()
                }
                _ => match self.participants.create(&key, encode(&p)).await {
                    Ok(rev) => Some(rev),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => None,
                    Err(e) => return Err(kv_err(e)),
                },
            };
            if let Some(rev) = written {
                self.index
                    .apply_participant(room, user, rev, Some(p.clone()));
                return Ok(p);
            }
        }
        Err(contention(&key))
    }

    /// Every participant of the room's current session.
    pub fn participants_of(&self, room: &RoomId) -> Vec<ParticipantState> {
        self.index.participants_of(room)
    }

    /// One participant of the room's current session, if known.
    pub async fn participant(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Option<ParticipantState>, RoomsError> {
        if let Some(p) = self.index.participant(room, user) {
            return Ok(Some(p));
        }
        let Some(sid) = self.current_sid(room).await? else {
            return Ok(None);
        };
        let key = pkey(room, user);
        match self.participants.entry(&key).await.map_err(kv_err)? {
            Some(e) if e.operation == kv::Operation::Put => {
                let p: ParticipantState = decode(&key, &e.value)?;
                if p.sid != sid {
                    return Ok(None);
                }
                self.index
                    .apply_participant(room, user, e.revision, Some(p.clone()));
                Ok(Some(p))
            }
            _ => Ok(None),
        }
    }

    /// Forgets a participant (removed or turned away).
    pub async fn remove_participant(&self, room: &RoomId, user: &UserId) -> Result<(), RoomsError> {
        let key = pkey(room, user);
        self.participants.purge(&key).await.map_err(kv_err)?;
        let rev = self.removed_at(&self.participants, &key).await;
        self.index.apply_participant(room, user, rev, None);
        Ok(())
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

    // -- connections -- //

    /// Marks a participant online on the NATS connection `conn`, which was
    /// granted `granted` by a callout begun at `at_ms`. Returns the
    /// participant as stored, its presence before, and the connection
    /// `conn` replaced, if any. If a newer authorization already holds the
    /// participant, nothing changes: the returned participant's `conn` is
    /// not `conn`.
    pub async fn set_online(
        &self,
        p: &ParticipantState,
        conn: &str,
        tab: Option<&str>,
        granted: Access,
        at_ms: i64,
    ) -> Result<Option<Online>, RoomsError> {
        let info = ConnInfo {
            room_id: p.room_id.clone(),
            user_id: p.user_id.clone(),
            cid: None,
            server_id: None,
            granted: Some(granted),
            connected_at: None,
            sid: p.sid.clone(),
        };
        let rev = self.conns.put(conn, encode(&info)).await.map_err(kv_err)?;
        self.index.apply_conn(conn, rev, Some(info));
        let now = crate::tokens::now_secs() as i64;
        // Decided on the stored value, so two logins at once can't both
        // think they replaced the same older one.
        let (mut replaced, mut before, mut moved) = (None, Presence::Invited, false);
        let stored = self
            .update_participant(&p.room_id, &p.user_id, |p| {
                replaced = None;
                before = p.presence;
                // Checked again on the stored value: a take-over may have
                // landed since the callout looked.
                moved = tab.is_some_and(|t| p.tabs.is_moved(t));
                if moved {
                    return false;
                }
                let other = p.conn.as_deref().is_some_and(|c| c != conn);
                if other && p.conn_at_ms > at_ms {
                    return false;
                }
                replaced = p.conn.take().filter(|c| c != conn);
                p.presence = Presence::Online;
                p.presence_since = now;
                p.cleaned_up = false;
                p.conn = Some(conn.to_owned());
                p.conn_at_ms = at_ms;
                p.tabs.hold(tab);
                true
            })
            .await?;
        if moved {
            return Err(RoomsError::MovedAway);
        }
        Ok(stored.map(|(participant, _)| Online {
            participant,
            before,
            replaced,
        }))
    }

    /// Records nats-server's client id and server for connection `conn`
    /// (from the connect advisory), so the server can kick it later.
    /// Returns what is now known of the connection, if it is ours.
    pub async fn record_connect(
        &self,
        conn: &str,
        cid: u64,
        server_id: &str,
    ) -> Result<Option<ConnInfo>, RoomsError> {
        let now = crate::tokens::now_secs() as i64;
        let updated = update_entry(&self.conns, conn, |info: &mut ConnInfo| {
            info.cid = Some(cid);
            info.server_id = Some(server_id.to_owned());
            info.connected_at = Some(now);
            true
        })
        .await;
        match updated {
            Ok(Some((info, rev, _))) => {
                self.index.apply_conn(conn, rev, Some(info.clone()));
                Ok(Some(info))
            }
            Ok(None) | Err(RoomsError::Corrupt(..)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What we know about connection `conn`.
    pub async fn conn_info(&self, conn: &str) -> Result<Option<ConnInfo>, RoomsError> {
        if let Some(info) = self.index.conn(conn) {
            if info.cid.is_some() {
                return Ok(Some(info));
            }
        }
        match self.conns.entry(conn).await.map_err(kv_err)? {
            Some(e) if e.operation == kv::Operation::Put => {
                let info: ConnInfo = decode(conn, &e.value)?;
                self.index.apply_conn(conn, e.revision, Some(info.clone()));
                Ok(Some(info))
            }
            _ => Ok(None),
        }
    }

    /// Marks "disconnected" whoever was on connection `conn`, unless that
    /// user has since reconnected on another connection. Returns the
    /// participant if this call made the change.
    pub async fn set_offline_by_conn(
        &self,
        conn: &str,
    ) -> Result<Option<ParticipantState>, RoomsError> {
        // Only the caller whose compare-and-set purge wins handles a
        // disconnect, so a leave counts once. A lost race is re-read: the
        // entry may have been purged (handled elsewhere), or only updated by
        // the connect advisory (`record_connect`, possibly on another
        // instance), in which case the disconnect is still ours.
        let mut attempts = 0;
        let entry = loop {
            let Some(entry) = self.conns.entry(conn).await.map_err(kv_err)? else {
                return Ok(None);
            };
            if entry.operation != kv::Operation::Put {
                return Ok(None);
            }
            match self
                .conns
                .purge_expect_revision(conn, Some(entry.revision))
                .await
            {
                Ok(()) => break entry,
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision && attempts < 10 => {
                    attempts += 1;
                }
                Err(e) => return Err(kv_err(e)),
            }
        };
        self.index.apply_conn(conn, u64::MAX, None);
        let Ok(info) = decode::<ConnInfo>(conn, &entry.value) else {
            return Ok(None);
        };
        let now = crate::tokens::now_secs() as i64;
        let updated = self
            .update_participant(&info.room_id, &info.user_id, |p| {
                if p.conn.as_deref() != Some(conn) {
                    // Since reconnected on another connection.
                    return false;
                }
                // Not offline yet: the grace timer decides (see service).
                p.presence = Presence::Disconnected;
                p.presence_since = now;
                p.conn = None;
                true
            })
            .await?;
        Ok(updated.and_then(|(p, changed)| changed.then_some(p)))
    }
}

/// What [`Rooms::set_online`] did.
pub struct Online {
    /// The participant as stored.
    pub participant: ParticipantState,
    /// Its presence before.
    pub before: Presence,
    /// The connection this one replaced.
    pub replaced: Option<String>,
}
