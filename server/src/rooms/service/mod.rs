//! The room service: room state plus everything that reacts to its
//! changes. This module holds the side effects every part uses (events to
//! participants, webhooks); `presence.rs` a connection authorized,
//! announced by nats-server, closed; `kicks.rs` dropping connections.
//! Creating, inviting and ending live in `lifecycle`, what falls due in
//! `timers`.
//!
//! Reconnects are coalesced: a participant who drops and comes back within
//! the grace period (a network blip, a token swap, a reconnect loop) causes
//! no presence event, webhook or analytics count; only joining after being
//! away, and going offline once the grace has run out, do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use quorum_shared::events::{EndReason, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;
use quorum_shared::webhook::{EventName, WebhookEvent, WebhookParticipant, WebhookRoom};

use super::analytics::Analytics;
use super::index::{Grace, Index};
use super::meter::{Buckets, Limits};
use super::{ParticipantState, RoomState, Rooms, RoomsError};
use crate::store::Store;
use crate::tokens::now_secs;
use crate::webhooks::Webhooks;

mod kicks;
mod presence;

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
}
