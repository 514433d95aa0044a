//! Live room and participant state, kept only in NATS JetStream KV so any
//! server instance on the same NATS sees the same rooms.
//!
//! Buckets: `quorum-rooms` (key `{room_id}`), `quorum-participants`
//! (key `{room_id}.{user_id}`) and `quorum-conns` (key: the one-off user
//! nkey of a NATS connection, value `{room_id}.{user_id}`), used to map
//! disconnect advisories back to a participant.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
pub mod analytics;
pub mod service;
pub mod stream;
pub mod worker;

use quorum_shared::api::{LockSettings, RoomMetadata};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects::Access;
use serde::{Deserialize, Serialize};

/// A KV failure.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    /// JetStream or KV reported an error.
    #[error("nats kv: {0}")]
    Kv(String),
    /// A stored value no longer parses.
    #[error("corrupt kv value for {0}: {1}")]
    Corrupt(String, serde_json::Error),
}

fn kv_err(e: impl std::fmt::Display) -> RoomsError {
    RoomsError::Kv(e.to_string())
}

/// A running room session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// The room id.
    pub room_id: RoomId,
    /// The session id (UUIDv4), fresh per session.
    pub sid: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds the room may stay empty.
    pub empty_timeout: u64,
    /// 0 = unlimited.
    pub max_participants: u64,
    /// The metadata as created, defaults filled in (never holds secrets).
    pub metadata: RoomMetadata,
    /// When the room last became empty (unix seconds); `None` while
    /// someone is online. Starts at creation: an unused room is empty.
    #[serde(default)]
    pub empty_since: Option<i64>,
    /// Most participants online at once.
    #[serde(default)]
    pub peak_participants: u64,
    /// Someone has joined (for the `room_started` webhook).
    #[serde(default)]
    pub started: bool,
    /// Users refused at token and verify.
    #[serde(default)]
    pub blocked: Vec<UserId>,
    /// Set (unix seconds) by the one instance that claimed ending it.
    #[serde(default)]
    pub ending: Option<i64>,
}

impl RoomState {
    /// When `room_duration` runs out, if set.
    pub fn ends_at(&self) -> Option<i64> {
        match self.metadata.room_features.room_duration {
            Some(m) if m > 0 => Some(self.created_at + (m as i64) * 60),
            _ => None,
        }
    }
}

/// Where a participant is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// A join token was issued; never connected yet.
    Invited,
    /// Connected to NATS now.
    Online,
    /// The connection dropped; within the grace period it may come back.
    Disconnected,
    /// Was connected, is not now.
    Offline,
}

/// What we know about one NATS connection of a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// The room.
    pub room_id: RoomId,
    /// The user.
    pub user_id: UserId,
    /// nats-server's client id, from the connect advisory (for kicks).
    #[serde(default)]
    pub cid: Option<u64>,
    /// The server holding the connection, from the connect advisory.
    #[serde(default)]
    pub server_id: Option<String>,
    /// What the callout granted this connection. nats-server keeps these
    /// allow-lists for the connection's life, so a change that could not
    /// kick it yet (see [`service::RoomService::connected`]) is caught by
    /// comparing them with [`ParticipantState::access`].
    #[serde(default)]
    pub granted: Option<Access>,
    /// When the connect advisory came (unix seconds): from then on the
    /// connection shows in nats-server's connection lists.
    #[serde(default)]
    pub connected_at: Option<i64>,
}

/// One participant of a room session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantState {
    /// The room.
    pub room_id: RoomId,
    /// The user.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// A moderator.
    pub is_admin: bool,
    /// Hidden from the participant list.
    pub is_hidden: bool,
    /// Effective locks.
    pub lock_settings: LockSettings,
    /// Waiting-room approval pending.
    pub wait_for_approval: bool,
    /// Presence.
    pub presence: Presence,
    /// The user nkey of the current NATS connection, if online.
    pub conn: Option<String>,
    /// When the callout that authorized `conn` began (unix ms): callouts
    /// run concurrently, and a slower, older one never replaces a newer.
    #[serde(default)]
    pub conn_at_ms: i64,
    /// Hand raised.
    #[serde(default)]
    pub hand_raised: bool,
    /// When the presence last changed (unix seconds), for the grace timers.
    #[serde(default)]
    pub presence_since: i64,
    /// Offline long enough to be dropped from the participant list.
    #[serde(default)]
    pub cleaned_up: bool,
}

impl ParticipantState {
    /// What this participant may do now, as the callout grants it.
    pub fn access(&self) -> Access {
        Access {
            waiting: self.wait_for_approval,
            chat_locked: !self.is_admin
                && (self.lock_settings.lock_chat == Some(true)
                    || self.lock_settings.lock_chat_send_message == Some(true)),
        }
    }
}

/// Handle to the three buckets. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    rooms: kv::Store,
    participants: kv::Store,
    conns: kv::Store,
    secrets: kv::Store,
}

async fn bucket(js: &jetstream::Context, name: &str) -> Result<kv::Store, RoomsError> {
    js.create_key_value(kv::Config {
        bucket: name.to_owned(),
        history: 1,
        // A forgotten room must not live forever (plugNmeet: 24 h).
        max_age: Duration::from_secs(24 * 3600),
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(kv_err)
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, b: &[u8]) -> Result<T, RoomsError> {
    serde_json::from_slice(b).map_err(|e| RoomsError::Corrupt(key.to_owned(), e))
}

fn encode<T: Serialize>(v: &T) -> Bytes {
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

/// Applies `f` to the JSON value at `key` with compare-and-set, retrying
/// on conflict. `f` returns false to leave it unchanged. Returns the value
/// as stored and whether `f` changed it; `None` if there is no value.
async fn update_entry<T: Serialize + serde::de::DeserializeOwned>(
    store: &kv::Store,
    key: &str,
    mut f: impl FnMut(&mut T) -> bool,
) -> Result<Option<(T, bool)>, RoomsError> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(entry) = store.entry(key).await.map_err(kv_err)? else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let mut value: T = decode(key, &entry.value)?;
        if !f(&mut value) {
            return Ok(Some((value, false)));
        }
        match store.update(key, encode(&value), entry.revision).await {
            Ok(_) => return Ok(Some((value, true))),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(e) => return Err(kv_err(e)),
        }
    }
    Err(contention(key))
}

impl Rooms {
    /// Opens (creating if needed) the buckets.
    pub async fn open(js: &jetstream::Context) -> Result<Self, RoomsError> {
        Ok(Self {
            rooms: bucket(js, "quorum-rooms").await?,
            participants: bucket(js, "quorum-participants").await?,
            conns: bucket(js, "quorum-conns").await?,
            secrets: bucket(js, "quorum-room-secrets").await?,
        })
    }

    /// Creates the room unless it is already running. Returns the running
    /// room and whether this call created it. KV `create` is atomic, so two
    /// concurrent creates (even on two servers) yield one session.
    pub async fn create_room(&self, state: RoomState) -> Result<(RoomState, bool), RoomsError> {
        let key = state.room_id.to_string();
        match self.rooms.create(&key, encode(&state)).await {
            Ok(_) => Ok((state, true)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                match self.room(&state.room_id).await? {
                    Some(existing) => Ok((existing, false)),
                    // Deleted between our create and get: try once more.
                    None => self
                        .rooms
                        .create(&key, encode(&state))
                        .await
                        .map(|_| (state, true))
                        .map_err(kv_err),
                }
            }
            Err(e) => Err(kv_err(e)),
        }
    }

    /// The running room, if any.
    pub async fn room(&self, id: &RoomId) -> Result<Option<RoomState>, RoomsError> {
        let key = id.to_string();
        match self.rooms.get(&key).await.map_err(kv_err)? {
            Some(b) => decode(&key, &b).map(Some),
            None => Ok(None),
        }
    }

    /// Every running room.
    pub async fn list_rooms(&self) -> Result<Vec<RoomState>, RoomsError> {
        use futures::TryStreamExt;
        let keys: Vec<String> = self
            .rooms
            .keys()
            .await
            .map_err(kv_err)?
            .try_collect()
            .await
            .map_err(kv_err)?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Ok(id) = RoomId::parse(k) {
                if let Some(r) = self.room(&id).await? {
                    out.push(r);
                }
            }
        }
        Ok(out)
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
        Ok(update_entry(&self.rooms, id.as_ref(), f)
            .await?
            .map(|(room, _)| room))
    }

    /// Like [`Rooms::update_room`], for a participant: every writer (the
    /// callout, advisories, timers, moderator requests, the API) goes
    /// through here, so none undoes another's change. Returns the stored
    /// participant and whether `f` changed it.
    pub async fn update_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        f: impl FnMut(&mut ParticipantState) -> bool,
    ) -> Result<Option<(ParticipantState, bool)>, RoomsError> {
        update_entry(&self.participants, &pkey(room, user), f).await
    }

    /// Updates the participant with `update`, or creates it with `create`
    /// if there is none, without losing a concurrent write.
    pub async fn upsert_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        mut update: impl FnMut(&mut ParticipantState),
        create: impl Fn() -> ParticipantState,
    ) -> Result<ParticipantState, RoomsError> {
        let key = pkey(room, user);
        for _ in 0..CAS_ATTEMPTS {
            let updated = update_entry(&self.participants, &key, |p| {
                update(p);
                true
            })
            .await?;
            if let Some((p, _)) = updated {
                return Ok(p);
            }
            let p = create();
            match self.participants.create(&key, encode(&p)).await {
                Ok(_) => return Ok(p),
                // Created meanwhile: update that one instead.
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => continue,
                Err(e) => return Err(kv_err(e)),
            }
        }
        Err(contention(&key))
    }

    /// Every participant of a room.
    pub async fn participants_of(
        &self,
        room: &RoomId,
    ) -> Result<Vec<ParticipantState>, RoomsError> {
        use futures::TryStreamExt;
        let prefix = format!("{room}.");
        let keys: Vec<String> = self
            .participants
            .keys()
            .await
            .map_err(kv_err)?
            .try_filter(|k| futures::future::ready(k.starts_with(&prefix)))
            .try_collect()
            .await
            .map_err(kv_err)?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(b) = self.participants.get(&k).await.map_err(kv_err)? {
                out.push(decode(&k, &b)?);
            }
        }
        Ok(out)
    }

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

    /// The E2EE secret of a session, if it has one.
    pub async fn room_secret(&self, sid: &str) -> Result<Option<String>, RoomsError> {
        Ok(self
            .secrets
            .get(sid)
            .await
            .map_err(kv_err)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Removes a room and its participants from KV.
    pub async fn remove_room(&self, room: &RoomId) -> Result<(), RoomsError> {
        for p in self.participants_of(room).await? {
            if let Some(c) = &p.conn {
                let _ = self.conns.purge(c).await;
            }
            self.participants
                .purge(pkey(room, &p.user_id))
                .await
                .map_err(kv_err)?;
        }
        if let Some(r) = self.room(room).await? {
            let _ = self.secrets.purge(&r.sid).await;
        }
        self.rooms.purge(room.to_string()).await.map_err(kv_err)
    }

    /// Forgets a participant (removed or turned away).
    pub async fn remove_participant(&self, room: &RoomId, user: &UserId) -> Result<(), RoomsError> {
        self.participants
            .purge(pkey(room, user))
            .await
            .map_err(kv_err)
    }

    /// One participant, if known.
    pub async fn participant(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Option<ParticipantState>, RoomsError> {
        let key = pkey(room, user);
        match self.participants.get(&key).await.map_err(kv_err)? {
            Some(b) => decode(&key, &b).map(Some),
            None => Ok(None),
        }
    }

    /// Marks a participant online on the NATS connection `conn`, which was
    /// granted `granted` by a callout begun at `at_ms`. Returns the
    /// participant as stored and the connection `conn` replaced, if any.
    /// If a newer authorization already holds the participant, nothing
    /// changes: the returned participant's `conn` is not `conn`.
    pub async fn set_online(
        &self,
        room: &RoomId,
        user: &UserId,
        conn: &str,
        granted: Access,
        at_ms: i64,
    ) -> Result<Option<(ParticipantState, Option<String>)>, RoomsError> {
        if self.participant(room, user).await?.is_none() {
            return Ok(None);
        }
        let info = ConnInfo {
            room_id: room.clone(),
            user_id: user.clone(),
            cid: None,
            server_id: None,
            granted: Some(granted),
            connected_at: None,
        };
        self.conns.put(conn, encode(&info)).await.map_err(kv_err)?;
        let now = crate::tokens::now_secs() as i64;
        // Decided on the stored value, so two logins at once can't both
        // think they replaced the same older one.
        let mut replaced = None;
        let stored = self
            .update_participant(room, user, |p| {
                replaced = None;
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
                true
            })
            .await?;
        Ok(stored.map(|(p, _)| (p, replaced)))
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
        for _ in 0..CAS_ATTEMPTS {
            let Some(entry) = self.conns.entry(conn).await.map_err(kv_err)? else {
                return Ok(None);
            };
            let Ok(mut info) = decode::<ConnInfo>(conn, &entry.value) else {
                return Ok(None);
            };
            info.cid = Some(cid);
            info.server_id = Some(server_id.to_owned());
            info.connected_at = Some(crate::tokens::now_secs() as i64);
            match self.conns.update(conn, encode(&info), entry.revision).await {
                Ok(_) => return Ok(Some(info)),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(kv_err(e)),
            }
        }
        Err(contention(conn))
    }

    /// What we know about connection `conn`.
    pub async fn conn_info(&self, conn: &str) -> Result<Option<ConnInfo>, RoomsError> {
        match self.conns.get(conn).await.map_err(kv_err)? {
            Some(b) => decode(conn, &b).map(Some),
            None => Ok(None),
        }
    }

    /// Marks "disconnected" whoever was on connection `conn`, unless that
    /// user has since reconnected on another connection.
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
