//! Room life cycle around the KV state: presence hooks (join, leave),
//! ending a session (API, duration, empty timeout) and the timers.
//!
//! Timers are not held in memory: every instance re-reads the rooms from KV
//! each tick, so they survive restarts. Ending is claimed with a KV
//! compare-and-set, so with several instances exactly one ends a room.

use std::ops::Deref;
use std::time::Duration;

use quorum_shared::events::{EndReason, PresenceState, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects::{self, Access};
use quorum_shared::webhook::{EventName, WebhookEvent, WebhookParticipant, WebhookRoom};

use super::analytics::Analytics;
use super::{ParticipantState, Presence, RoomState, Rooms, RoomsError};
use crate::store::Store;
use crate::tokens::now_secs;
use crate::webhooks::Webhooks;

/// A claim older than this is considered abandoned (its instance died).
const STALE_CLAIM_SECS: i64 = 60;

/// Room state plus everything that reacts to its changes. Cheap to clone.
#[derive(Clone)]
pub struct RoomService {
    /// The KV state.
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
    /// Seconds a dropped connection stays "disconnected" before "offline".
    pub offline_grace_secs: i64,
    /// Seconds an offline participant stays listed before it is cleaned up.
    pub cleanup_secs: i64,
}

impl Deref for RoomService {
    type Target = Rooms;
    fn deref(&self) -> &Rooms {
        &self.kv
    }
}

fn now() -> i64 {
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

impl RoomService {
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

    async fn online_count(&self, room: &RoomId) -> Result<u32, RoomsError> {
        Ok(self
            .kv
            .participants_of(room)
            .await?
            .iter()
            .filter(|p| p.presence == Presence::Online)
            .count() as u32)
    }

    /// Makes sure the room's history stream exists.
    pub async fn ensure_stream(&self, room: &RoomId) -> Result<(), RoomsError> {
        super::stream::ensure(&self.js, room).await
    }

    /// A participant's NATS connection was authorized with `granted`.
    pub async fn joined(
        &self,
        room: &RoomId,
        user: &UserId,
        conn: &str,
        granted: Access,
        at_ms: i64,
    ) -> Result<(), RoomsError> {
        // Cheap when it exists; recreates it if it was lost.
        self.ensure_stream(room).await?;
        let Some((p, replaced)) = self.kv.set_online(room, user, conn, granted, at_ms).await?
        else {
            return Ok(());
        };
        if p.conn.as_deref() != Some(conn) {
            // A newer login of this user won; this connection is dropped
            // at its connect advisory (see `connected`).
            return Ok(());
        }
        // A second login of the same user replaces the first cleanly.
        if let Some(old) = replaced {
            self.kick(&old).await;
        }
        self.announce_presence(&p, PresenceState::Online).await;
        let online = self.online_count(room).await?;
        let mut first_start = false;
        let Some(r) = self
            .kv
            .update_room(room, |r| {
                first_start = !r.started;
                r.started = true;
                r.empty_since = None;
                r.peak_participants = r.peak_participants.max(online as u64);
                true
            })
            .await?
        else {
            return Ok(());
        };
        if first_start {
            self.notify(&r, EventName::RoomStarted, online, None, None);
        }
        self.notify(&r, EventName::ParticipantJoined, online, Some(&p), None);
        self.analytics.record_join(&r, user).await;
        Ok(())
    }

    /// nats-server's connect advisory for `conn`: from now on it can be
    /// kicked. A kick aimed at it before this was lost (a lock or an
    /// approval between the callout and this advisory, or a newer login),
    /// so it is caught up here: a connection that is no longer its
    /// participant's current one, or whose allow-lists no longer match what
    /// the participant may do, is dropped and reconnects under the new ones.
    pub async fn connected(&self, conn: &str, cid: u64, server_id: &str) -> Result<(), RoomsError> {
        let Some(info) = self.kv.record_connect(conn, cid, server_id).await? else {
            return Ok(());
        };
        let p = self.kv.participant(&info.room_id, &info.user_id).await?;
        let stale = match &p {
            None => true,
            Some(p) => {
                p.conn.as_deref() != Some(conn) || info.granted.is_some_and(|g| g != p.access())
            }
        };
        if stale {
            tracing::info!(user = %info.user_id, cid, "connection is out of date: kicking");
            self.kick(conn).await;
        }
        Ok(())
    }

    /// The NATS connection `conn` closed: the participant is "disconnected"
    /// now and goes offline after the grace period unless it comes back.
    pub async fn left(&self, conn: &str) -> Result<(), RoomsError> {
        if let Some(p) = self.kv.set_offline_by_conn(conn).await? {
            self.announce_presence(&p, PresenceState::Disconnected)
                .await;
        }
        Ok(())
    }

    /// Publishes a presence change to the room.
    async fn announce_presence(&self, p: &ParticipantState, state: PresenceState) {
        let ev = SystemEvent::Presence {
            user_id: p.user_id.to_string(),
            name: p.name.clone(),
            is_admin: p.is_admin,
            state,
        };
        self.publish(&subjects::public(&p.room_id), &ev).await;
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

    /// Drops NATS connection `conn` (nats-server's KICK), e.g. so that it
    /// reconnects under new permissions, or because it was replaced.
    pub async fn kick(&self, conn: &str) {
        let Some(sys) = &self.system else {
            return tracing::warn!("no system connection: cannot kick");
        };
        let info = match self.kv.conn_info(conn).await {
            Ok(Some(i)) => i,
            _ => return,
        };
        let (Some(cid), Some(server)) = (info.cid, info.server_id) else {
            return tracing::warn!(user = %info.user_id, "connection not yet known to kick");
        };
        // nats-server's KickClientReq is `{"cid": …}`; it answers with an
        // `error` object (not a NATS error) when the id is unknown.
        let body = serde_json::json!({ "cid": cid }).to_string();
        let subject = format!("$SYS.REQ.SERVER.{server}.KICK");
        match sys.request(subject, body.into()).await {
            Ok(m) => match serde_json::from_slice::<serde_json::Value>(&m.payload) {
                Ok(v) if !v["error"].is_null() => {
                    tracing::info!(user = %info.user_id, cid, error = %v["error"], "kick refused")
                }
                _ => tracing::info!(user = %info.user_id, cid, "connection kicked"),
            },
            Err(e) => tracing::warn!(error = %e, cid, "kick failed"),
        }
    }

    /// A disconnected participant's grace ran out: offline for real. Only
    /// the instance whose compare-and-set makes the change announces it, so
    /// a leave counts once.
    async fn went_offline(&self, p: &ParticipantState, now: i64) -> Result<(), RoomsError> {
        let grace = self.offline_grace_secs;
        let updated = self
            .kv
            .update_participant(&p.room_id, &p.user_id, |p| {
                // Re-checked on the stored value: it may have come back.
                if p.presence != Presence::Disconnected || now - p.presence_since < grace {
                    return false;
                }
                p.presence = Presence::Offline;
                p.presence_since = now;
                true
            })
            .await?;
        let Some((p, true)) = updated else {
            return Ok(());
        };
        self.announce_presence(&p, PresenceState::Offline).await;
        let online = self.online_count(&p.room_id).await?;
        let r = self
            .kv
            .update_room(&p.room_id, |r| {
                if online == 0 && r.empty_since.is_none() {
                    r.empty_since = Some(now);
                    return true;
                }
                false
            })
            .await?;
        if let Some(r) = r {
            self.notify(&r, EventName::ParticipantLeft, online, Some(&p), None);
            self.analytics.record_leave(&r, &p.user_id).await;
        }
        Ok(())
    }

    /// Ends the session of `room` for everybody. Returns false if the room
    /// is not running or another instance is already ending it.
    pub async fn end_room(&self, room: &RoomId, reason: EndReason) -> Result<bool, RoomsError> {
        let t = now();
        let mut claimed = false;
        let Some(r) = self
            .kv
            .update_room(room, |r| {
                claimed = match r.ending {
                    Some(at) if t - at < STALE_CLAIM_SECS => false,
                    _ => {
                        r.ending = Some(t);
                        true
                    }
                };
                claimed
            })
            .await?
        else {
            return Ok(false);
        };
        if !claimed {
            return Ok(false);
        }
        let online = self.online_count(room).await.unwrap_or(0);
        // Participants first: they should hear it even if cleanup fails.
        let ev = SystemEvent::SessionEnded { reason };
        if let Err(e) = self
            .nats
            .publish(subjects::public(room), ev.encode().into())
            .await
        {
            tracing::warn!(error = %e, %room, "cannot announce session end");
        }
        let _ = self.nats.flush().await;
        self.notify(&r, EventName::SessionEnded, online, None, Some(reason));
        let analytics_id = self.analytics.finish(&r).await;
        if let Err(e) = self
            .store
            .end_session(r.sid.clone(), t, r.peak_participants as i64, analytics_id)
            .await
        {
            tracing::error!(error = %e, sid = %r.sid, "cannot close history row");
        }
        self.kv.remove_room(room).await?;
        super::stream::remove(&self.js, room).await;
        self.notify(&r, EventName::RoomFinished, 0, None, Some(reason));
        tracing::info!(%room, sid = %r.sid, ?reason, "room ended");
        Ok(true)
    }

    /// Why `r` should end now, if it should.
    pub fn due(r: &RoomState, now: i64) -> Option<EndReason> {
        if r.ends_at().is_some_and(|end| now >= end) {
            return Some(EndReason::DurationExceeded);
        }
        match r.empty_since {
            Some(since) if now - since >= r.empty_timeout as i64 => Some(EndReason::EmptyTimeout),
            _ => None,
        }
    }

    /// One pass over every room's timers.
    pub async fn tick(&self) -> Result<(), RoomsError> {
        let t = now();
        for r in self.kv.list_rooms().await? {
            if let Some(reason) = Self::due(&r, t) {
                self.end_room(&r.room_id, reason).await?;
                continue;
            }
            for p in self.kv.participants_of(&r.room_id).await? {
                if p.presence == Presence::Disconnected
                    && t - p.presence_since >= self.offline_grace_secs
                {
                    self.went_offline(&p, t).await?;
                } else if p.presence == Presence::Offline
                    && !p.cleaned_up
                    && t - p.presence_since >= self.cleanup_secs
                {
                    let cleanup = self.cleanup_secs;
                    let updated = self
                        .kv
                        .update_participant(&p.room_id, &p.user_id, |p| {
                            let due = p.presence == Presence::Offline
                                && !p.cleaned_up
                                && t - p.presence_since >= cleanup;
                            p.cleaned_up |= due;
                            due
                        })
                        .await?;
                    if let Some((p, true)) = updated {
                        self.announce_presence(&p, PresenceState::Left).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs [`RoomService::tick`] every `every` until the process ends.
    pub fn spawn_timers(self, every: Duration) {
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                iv.tick().await;
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "room timer pass failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_shared::api::RoomMetadata;

    fn room(duration_min: Option<u64>, empty_since: Option<i64>) -> RoomState {
        let mut metadata = RoomMetadata::default();
        metadata.room_features.room_duration = duration_min;
        RoomState {
            room_id: RoomId::parse("r").unwrap(),
            sid: "s".into(),
            created_at: 1000,
            empty_timeout: 120,
            max_participants: 0,
            metadata,
            empty_since,
            peak_participants: 0,
            started: false,
            blocked: vec![],
            ending: None,
        }
    }

    #[test]
    fn due_by_duration_or_emptiness() {
        assert_eq!(RoomService::due(&room(None, None), 1_000_000), None);
        assert_eq!(
            RoomService::due(&room(Some(1), None), 1060),
            Some(EndReason::DurationExceeded)
        );
        assert_eq!(RoomService::due(&room(Some(1), None), 1059), None);
        // Empty timeout counts from when the room became empty.
        assert_eq!(RoomService::due(&room(None, Some(5000)), 5119), None);
        assert_eq!(
            RoomService::due(&room(None, Some(5000)), 5120),
            Some(EndReason::EmptyTimeout)
        );
    }
}
