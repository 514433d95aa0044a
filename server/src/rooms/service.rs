//! The room service: room state plus everything that reacts to its
//! changes. This file is presence (a connection authorized, announced by
//! nats-server, closed) and the side effects every part uses: events to
//! participants, kicks, webhooks. Creating, inviting and ending live in
//! `lifecycle`, what falls due in `timers`.
//!
//! Reconnects are coalesced: a participant who drops and comes back within
//! the grace period (a network blip, a token swap, a reconnect loop) causes
//! no presence event, webhook or analytics count; only joining after being
//! away, and going offline once the grace has run out, do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use quorum_shared::events::{EndReason, PresenceState, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects::{self, Access};
use quorum_shared::webhook::{EventName, WebhookEvent, WebhookParticipant, WebhookRoom};

use super::analytics::Analytics;
use super::index::{Grace, Index};
use super::meter::{Buckets, Limits};
use super::{ParticipantState, Presence, RoomState, Rooms, RoomsError};
use crate::store::Store;
use crate::tokens::now_secs;
use crate::webhooks::Webhooks;

/// Room state plus everything that reacts to its changes. Cheap to clone.
#[derive(Clone)]
pub struct RoomService {
    /// The KV state and its index.
    pub kv: Rooms,
    /// History.
    pub store: Store,
    /// Outgoing webhooks.
    pub webhooks: Webhooks,
    /// The service NATS connection (to notify participants).
    pub nats: async_nats::Client,
    /// Per-session counters.
    pub analytics: Analytics,
    /// JetStream, for the per-room streams.
    pub js: async_nats::jetstream::Context,
    /// System-account connection, to kick connections (absent in external
    /// mode without system credentials).
    pub system: Option<async_nats::Client>,
    /// Presence timings.
    pub grace: Grace,
    /// What one participant may send.
    pub limits: Arc<Limits>,
    /// LiveKit (tokens and room control), if configured.
    pub media: crate::livekit::Media,
    /// Rate-limit buckets per participant.
    pub(crate) buckets: Arc<Buckets>,
    /// Sessions whose streams this instance has made sure of.
    streams: Arc<Mutex<HashSet<String>>>,
    /// One admission at a time per room with a participant cap, so two
    /// connections can't both take the last seat (on this instance).
    admission: Arc<Mutex<HashMap<RoomId, Arc<tokio::sync::Mutex<()>>>>>,
    /// The latest connections whose connect advisory this instance has
    /// fully handled (bounded), so tests can wait for that.
    checked: Arc<Mutex<std::collections::VecDeque<String>>>,
}

/// How many handled connections [`RoomService::connect_checked`] remembers.
const CHECKED_KEPT: usize = 1024;
/// How long nats-server has to answer a kick.
const KICK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Kicks in flight at once when a room ends.
const KICKS_AT_ONCE: usize = 32;

pub(crate) fn now() -> i64 {
    now_secs() as i64
}

/// The webhook view of a room.
pub fn webhook_room(r: &RoomState, online: u32) -> WebhookRoom {
    WebhookRoom {
        sid: r.sid.clone(),
        room_id: r.room_id.to_string(),
        room_title: r.metadata.room_title.clone(),
        creation_time: r.created_at,
        num_participants: online,
    }
}

fn webhook_participant(p: &ParticipantState) -> WebhookParticipant {
    WebhookParticipant {
        user_id: p.user_id.to_string(),
        name: p.name.clone(),
        is_admin: p.is_admin,
    }
}

/// Everything [`RoomService::new`] needs.
pub struct Parts {
    /// The KV state and its index.
    pub kv: Rooms,
    /// History.
    pub store: Store,
    /// Outgoing webhooks.
    pub webhooks: Webhooks,
    /// The service connection.
    pub nats: async_nats::Client,
    /// Counters.
    pub analytics: Analytics,
    /// The system-account connection, if any.
    pub system: Option<async_nats::Client>,
    /// Presence timings.
    pub grace: Grace,
    /// Limits.
    pub limits: Limits,
    /// LiveKit, if configured.
    pub media: crate::livekit::Media,
}

impl RoomService {
    /// Assembles the service.
    pub fn new(p: Parts) -> Self {
        Self {
            js: async_nats::jetstream::new(p.nats.clone()),
            kv: p.kv,
            store: p.store,
            webhooks: p.webhooks,
            nats: p.nats,
            analytics: p.analytics,
            system: p.system,
            grace: p.grace,
            limits: Arc::new(p.limits),
            media: p.media,
            buckets: Arc::default(),
            streams: Arc::default(),
            admission: Arc::default(),
            checked: Arc::default(),
        }
    }

    /// The in-memory view of room state.
    pub fn index(&self) -> &Index {
        &self.kv.index
    }

    /// Sends one webhook event about `room`.
    pub fn notify(
        &self,
        room: &RoomState,
        event: EventName,
        online: u32,
        participant: Option<&ParticipantState>,
        reason: Option<EndReason>,
    ) {
        self.webhooks.send(
            room.metadata.webhook_url.as_deref(),
            WebhookEvent {
                id: uuid::Uuid::new_v4().to_string(),
                event,
                created_at: now(),
                room: webhook_room(room, online),
                participant: participant.map(webhook_participant),
                reason: reason.map(|r| format!("{r:?}")),
            },
        );
    }

    /// Makes sure the session's history streams exist (once per session
    /// on this instance).
    pub async fn ensure_stream(&self, room: &RoomState) -> Result<(), RoomsError> {
        let known = self
            .streams
            .lock()
            .map(|s| s.contains(&room.sid))
            .unwrap_or(false);
        if known {
            return Ok(());
        }
        super::stream::ensure(&self.js, &room.room_id, &self.limits).await?;
        if let Ok(mut s) = self.streams.lock() {
            s.insert(room.sid.clone());
        }
        Ok(())
    }

    /// Forgets per-room bookkeeping of an ended session.
    pub(crate) fn forget(&self, room: &RoomState) {
        if let Ok(mut s) = self.streams.lock() {
            s.remove(&room.sid);
        }
        if let Ok(mut a) = self.admission.lock() {
            a.remove(&room.room_id);
        }
    }

    /// The admission lock of a room with a participant cap.
    pub fn admission(&self, room: &RoomId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.admission.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(room.clone()).or_default().clone()
    }

    /// A participant's NATS connection was authorized with `granted`.
    pub async fn joined(
        &self,
        room: &RoomState,
        p: &ParticipantState,
        conn: &str,
        tab: Option<&str>,
        granted: Access,
        at_ms: i64,
    ) -> Result<(), RoomsError> {
        self.ensure_stream(room).await?;
        let Some(online) = self.kv.set_online(p, conn, tab, granted, at_ms).await? else {
            return Ok(());
        };
        let p = online.participant;
        if p.conn.as_deref() != Some(conn) {
            // A newer login of this user won; this connection is dropped
            // at its connect advisory (see `connected`).
            return Ok(());
        }
        // A second login of the same user replaces the first cleanly.
        if let Some(old) = online.replaced {
            self.kick(&old).await;
        }
        if matches!(online.before, Presence::Online | Presence::Disconnected) {
            // Back within the grace period, or a replaced login: to the
            // others nothing changed. The room is not empty, though (it
            // may have been marked so while the grace ran).
            if self
                .index()
                .room(&room.room_id)
                .is_none_or(|r| r.empty_since.is_some())
            {
                self.kv
                    .update_room(&room.room_id, |r| r.empty_since.take().is_some())
                    .await?;
            }
            return Ok(());
        }
        self.announce_presence(&p, PresenceState::Online).await;
        let count = self.index().online_count(&room.room_id);
        let mut first_start = false;
        let current = self.index().room(&room.room_id);
        let needs_write = current.as_ref().is_none_or(|r| {
            !r.started || r.empty_since.is_some() || u64::from(count) > r.peak_participants
        });
        let r = if needs_write {
            self.kv
                .update_room(&room.room_id, |r| {
                    first_start = !r.started;
                    let peak = r.peak_participants.max(u64::from(count));
                    let change =
                        first_start || r.empty_since.is_some() || peak != r.peak_participants;
                    r.started = true;
                    r.empty_since = None;
                    r.peak_participants = peak;
                    change
                })
                .await?
        } else {
            current
        };
        let Some(r) = r else {
            return Ok(());
        };
        if first_start {
            self.notify(&r, EventName::RoomStarted, count, None, None);
        }
        self.notify(&r, EventName::ParticipantJoined, count, Some(&p), None);
        self.analytics.record_join(&r, &p.user_id).await;
        Ok(())
    }

    /// nats-server's connect advisory for `conn`: from now on it can be
    /// kicked. A kick aimed at it before this was lost (a lock or an
    /// approval between the callout and this advisory, a newer login, or
    /// the end of its session), so it is caught up here: a connection that
    /// is no longer its participant's current one, of an earlier session,
    /// or whose allow-lists no longer match what the participant may do,
    /// is dropped (and reconnects under the new ones, if it still may).
    pub async fn connected(&self, conn: &str, cid: u64, server_id: &str) -> Result<(), RoomsError> {
        let Some(info) = self.kv.record_connect(conn, cid, server_id).await? else {
            return Ok(());
        };
        let room = self.kv.room(&info.room_id).await?;
        let p = self.kv.participant(&info.room_id, &info.user_id).await?;
        let stale = match (&room, &p) {
            (Some(r), Some(p)) => {
                r.sid != info.sid
                    || r.ending.is_some()
                    || p.conn.as_deref() != Some(conn)
                    || info.granted.is_some_and(|g| g != p.access())
            }
            _ => true,
        };
        if stale {
            tracing::info!(user = %info.user_id, cid, "connection is out of date: kicking");
            self.kick(conn).await;
        }
        if let Ok(mut c) = self.checked.lock() {
            if c.len() >= CHECKED_KEPT {
                c.pop_front();
            }
            c.push_back(conn.to_owned());
        }
        Ok(())
    }

    /// Whether this instance has fully handled `conn`'s connect advisory
    /// (recorded it and checked it against its participant), among the
    /// latest ones.
    pub fn connect_checked(&self, conn: &str) -> bool {
        self.checked
            .lock()
            .is_ok_and(|c| c.iter().any(|x| x == conn))
    }

    /// The NATS connection `conn` closed: the participant is "disconnected"
    /// now, and goes offline (announced then) after the grace period unless
    /// it comes back.
    pub async fn left(&self, conn: &str) -> Result<(), RoomsError> {
        self.kv.set_offline_by_conn(conn).await.map(drop)
    }

    /// Publishes a presence change: to the room, or for a hidden
    /// participant to its moderators only.
    pub(crate) async fn announce_presence(&self, p: &ParticipantState, state: PresenceState) {
        if p.wait_for_approval {
            // Not in the room yet: moderators hear of them as waiting.
            let ev = SystemEvent::Waiting {
                user_id: p.user_id.to_string(),
                name: p.name.clone(),
                since_ms: u64::try_from(p.presence_since).unwrap_or(0) * 1000,
                waiting: state == PresenceState::Online,
            };
            for m in self.index().moderators(&p.room_id) {
                self.tell(&p.room_id, &m, &ev).await;
            }
            return;
        }
        let ev = SystemEvent::Presence {
            user_id: p.user_id.to_string(),
            name: p.name.clone(),
            is_admin: p.is_admin,
            state,
        };
        if !p.is_hidden {
            return self.publish(&subjects::public(&p.room_id), &ev).await;
        }
        for m in self.index().moderators(&p.room_id) {
            if m != p.user_id {
                self.publish(&subjects::private(&p.room_id, &m), &ev).await;
            }
        }
    }

    /// Publishes a system event (never fails the caller; logged).
    pub async fn publish(&self, subject: &str, ev: &SystemEvent) {
        if let Err(e) = self
            .nats
            .publish(subject.to_owned(), ev.encode().into())
            .await
        {
            tracing::warn!(error = %e, subject, "cannot publish system event");
        }
    }

    /// Tells `user` privately.
    pub async fn tell(&self, room: &RoomId, user: &UserId, ev: &SystemEvent) {
        self.publish(&subjects::private(room, user), ev).await;
    }

    /// Drops NATS connection `conn` (nats-server's KICK), e.g. so that it
    /// reconnects under new permissions, or because it was replaced.
    /// Whatever this instance told the connection before arrives first.
    pub async fn kick(&self, conn: &str) {
        self.settle().await;
        // Logged inside; a lost kick is caught at the connect advisory or
        // by the access check when it reconnects.
        let _ = self.kick_now(conn).await;
    }

    /// Returns once nats-server has processed everything this instance
    /// published so far: a kick travels on another connection and could
    /// otherwise overtake an event sent just before it. (A flush only
    /// writes the socket; a request answered by the server is a round
    /// trip through it.)
    pub(crate) async fn settle(&self) {
        if let Err(e) = self.js.query_account().await {
            tracing::debug!(error = %e, "round trip before kick failed");
        }
    }

    /// [`RoomService::kick`] without the round trip (the caller did it).
    /// `Err` if nats-server could not be asked (the caller may retry); a
    /// connection not known yet (no advisory) or already gone is fine.
    pub(crate) async fn kick_now(&self, conn: &str) -> Result<(), String> {
        let Some(sys) = &self.system else {
            tracing::warn!("no system connection: cannot kick");
            return Ok(());
        };
        let info = match self.kv.conn_info(conn).await {
            Ok(Some(i)) => i,
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let (Some(cid), Some(server)) = (info.cid, info.server_id) else {
            // Its connect advisory will find it out of date (`connected`).
            tracing::debug!(user = %info.user_id, "connection not yet known to kick");
            return Ok(());
        };
        // nats-server's KickClientReq is `{"cid": …}`; it answers with an
        // `error` object (not a NATS error) when the id is unknown.
        let body = serde_json::json!({ "cid": cid }).to_string();
        let subject = format!("$SYS.REQ.SERVER.{server}.KICK");
        crate::metrics::kick();
        let asked = tokio::time::timeout(KICK_TIMEOUT, sys.request(subject, body.into())).await;
        match asked {
            Ok(Ok(m)) => match serde_json::from_slice::<serde_json::Value>(&m.payload) {
                Ok(v) if !v["error"].is_null() => {
                    tracing::debug!(user = %info.user_id, cid, error = %v["error"], "kick refused")
                }
                _ => tracing::info!(user = %info.user_id, cid, "connection kicked"),
            },
            Ok(Err(e)) => {
                tracing::warn!(error = %e, cid, "kick failed");
                return Err(e.to_string());
            }
            Err(_) => {
                tracing::warn!(cid, "kick timed out");
                return Err("kick timed out".into());
            }
        }
        Ok(())
    }

    /// Kicks every connection recorded for `room`, a few at a time.
    pub(crate) async fn kick_all(&self, room: &RoomId) -> Result<(), String> {
        use futures::StreamExt;
        self.settle().await;
        let failed = futures::stream::iter(self.index().conns_of(room))
            .map(|c| async move { self.kick_now(&c).await })
            .buffer_unordered(KICKS_AT_ONCE)
            .filter_map(|r| async move { r.err() })
            .count()
            .await;
        if failed > 0 {
            return Err(format!("{failed} connections could not be kicked"));
        }
        Ok(())
    }

    /// Moves a participant's live connection to its current permissions:
    /// tells it what changed, then drops it so it reconnects under new
    /// allow-lists.
    pub async fn enforce(&self, p: &ParticipantState, ev: &SystemEvent) {
        self.tell(&p.room_id, &p.user_id, ev).await;
        if let Some(c) = &p.conn {
            self.kick(c).await;
        }
    }
}
