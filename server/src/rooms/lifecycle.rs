//! A room session's life: creation (atomic: nothing is left half made),
//! invitation (a participant record and its locks), and the end (every
//! connection dropped, then state removed; retried until it is really
//! gone, and only then reported done).

use quorum_shared::api::{LockSettings, RoomMetadata};
use quorum_shared::events::{EndReason, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::webhook::EventName;

use super::service::{now, RoomService};
use super::{features, locks, ParticipantState, Presence, RoomState, RoomsError};
use crate::store::RoomRecord;

/// Why creating or ending a room failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// KV failed.
    #[error(transparent)]
    Rooms(#[from] RoomsError),
    /// The history database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// nats-server could not be asked to drop a connection.
    #[error("kick: {0}")]
    Kick(String),
}

/// What the integrator asked for in `create`.
pub struct NewRoom {
    /// The id.
    pub room_id: RoomId,
    /// Seconds it may stay empty.
    pub empty_timeout: u64,
    /// 0 = unlimited.
    pub max_participants: u64,
    /// Title, features (defaults not yet filled in), locks…
    pub metadata: RoomMetadata,
}

/// What [`RoomService::end_room`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// This call ended it: every connection was dropped and its state is
    /// gone.
    Now,
    /// Not running (never, or already ended).
    NotRunning,
    /// Another call is ending it right now.
    InProgress,
}

/// An invitation: who, and what the integrator set for them.
pub struct Invite<'a> {
    /// The room.
    pub room: &'a RoomState,
    /// The user.
    pub user_id: &'a UserId,
    /// Display name.
    pub name: &'a str,
    /// A moderator.
    pub is_admin: bool,
    /// Hidden from the participant list (moderators still see them).
    pub is_hidden: bool,
    /// Locks the integrator set for this user, if any.
    pub locks: Option<&'a LockSettings>,
}

/// An end claim older than this was abandoned (its instance died, or its
/// cleanup failed) and may be taken over.
pub const STALE_CLAIM_SECS: i64 = 60;

fn new_room_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl RoomService {
    /// Creates the room unless it runs already. Returns the running room and
    /// whether this call created it. Everything a session needs besides its
    /// KV record (its streams, the E2EE secret, the history row) is made
    /// first; the KV create is the commit point, and if it finds a running
    /// room or fails, what was made is removed again. A server whose
    /// storage budget is spent refuses the room here, with nothing left
    /// behind.
    pub async fn create_room(&self, req: NewRoom) -> Result<(RoomState, bool), LifecycleError> {
        if let Some(r) = self.kv.room(&req.room_id).await? {
            return Ok((r, false));
        }
        let mut metadata = req.metadata;
        metadata.room_features = features::with_defaults(metadata.room_features);
        let t = now();
        let room = RoomState {
            room_id: req.room_id,
            sid: uuid::Uuid::new_v4().to_string(),
            created_at: t,
            empty_timeout: req.empty_timeout,
            max_participants: req.max_participants,
            metadata,
            empty_since: Some(t),
            peak_participants: 0,
            started: false,
            blocked: Vec::new(),
            ending: None,
            locked: false,
        };
        super::stream::ensure(&self.js, &room.room_id, &self.limits).await?;
        // An earlier session's history must not show in this one, even if
        // removing its streams failed back then.
        super::stream::purge(&self.js, &room.room_id).await?;
        let f = &room.metadata.room_features;
        let secret = features::e2ee_enabled(f) && !features::self_key(f);
        if secret {
            if let Err(e) = self.kv.put_room_secret(&room.sid, &new_room_secret()).await {
                self.undo_create(&room, false, true).await;
                return Err(e.into());
            }
        }
        let row = self.store.insert_session(RoomRecord {
            room_id: room.room_id.to_string(),
            sid: room.sid.clone(),
            title: room.metadata.room_title.clone(),
            created: room.created_at,
            ended: None,
            joined_participants: 0,
            webhook_url: room.metadata.webhook_url.clone().unwrap_or_default(),
            analytics_file_id: None,
        });
        let committed = match row.await {
            Ok(()) => self.kv.create_room(room.clone()).await.map_err(Into::into),
            Err(e) => Err(LifecycleError::from(e)),
        };
        match committed {
            Ok((r, true)) => {
                self.notify(&r, EventName::RoomCreated, 0, None, None);
                tracing::info!(room = %r.room_id, sid = %r.sid, "room created");
                Ok((r, true))
            }
            // The running room uses the same streams: they stay.
            Ok((running, false)) => {
                self.undo_create(&room, secret, false).await;
                Ok((running, false))
            }
            Err(e) => {
                self.undo_create(&room, secret, true).await;
                Err(e)
            }
        }
    }

    async fn undo_create(&self, room: &RoomState, secret: bool, streams: bool) {
        // Only if no session of this room id runs now (a concurrent create
        // may have committed one, and the streams are its own then).
        let running = self.kv.room_from_kv(&room.room_id).await.ok().flatten();
        if streams && running.is_none() {
            if let Err(e) = super::stream::remove(&self.js, &room.room_id).await {
                tracing::warn!(error = %e, room = %room.room_id, "cannot remove unused streams");
            }
        }
        if secret {
            if let Err(e) = self.kv.remove_room_secret(&room.sid).await {
                tracing::warn!(error = %e, sid = %room.sid, "cannot remove an unused room secret");
            }
        }
        if let Err(e) = self.store.delete_session(room.sid.clone()).await {
            tracing::warn!(error = %e, sid = %room.sid, "cannot remove an unused history row");
        }
    }

    /// Invites a user (or updates an invited one): a moderator is never
    /// locked; others start with the room's locks plus the integrator's,
    /// and one already in the session keeps what a moderator set since,
    /// unless the integrator sets locks again. A live connection whose
    /// permissions this changes is moved to new ones.
    pub async fn invite(&self, i: Invite<'_>) -> Result<ParticipantState, RoomsError> {
        let room = i.room;
        let f = &room.metadata.room_features;
        let waiting_room = f
            .waiting_room_features
            .as_ref()
            .is_some_and(|w| w.is_active == Some(true));
        let start_locks = locks::initial(i.is_admin, &room.metadata.default_lock_settings, i.locks);
        let mut before = None;
        let p = self
            .kv
            .upsert_participant(
                &room.room_id,
                i.user_id,
                |p| {
                    before = Some(p.access());
                    p.name = i.name.to_owned();
                    p.is_admin = i.is_admin;
                    p.is_hidden = i.is_hidden;
                    if i.is_admin {
                        p.lock_settings = LockSettings::default();
                    } else if let Some(u) = i.locks {
                        locks::merge(&mut p.lock_settings, u);
                    }
                    // Approved once, approved for the session.
                    p.wait_for_approval = !i.is_admin && waiting_room && p.wait_for_approval;
                },
                || ParticipantState {
                    room_id: room.room_id.clone(),
                    sid: room.sid.clone(),
                    user_id: i.user_id.clone(),
                    name: i.name.to_owned(),
                    is_admin: i.is_admin,
                    is_hidden: i.is_hidden,
                    lock_settings: start_locks.clone(),
                    wait_for_approval: !i.is_admin && waiting_room,
                    presence: Presence::Invited,
                    hand_raised: false,
                    presence_since: 0,
                    cleaned_up: false,
                    conn: None,
                    conn_at_ms: 0,
                    throttled_until: None,
                    muted: false,
                    publishing: Vec::new(),
                    tabs: Default::default(),
                },
            )
            .await?;
        if before.is_some_and(|b| b != p.access()) {
            let ev = SystemEvent::LocksChanged {
                chat_locked: p.access().chat_locked,
                locks: Some(p.lock_settings.clone()),
            };
            self.enforce(&p, &ev).await;
        }
        Ok(p)
    }

    /// Ends the session of `room` for everybody: participants hear why,
    /// every connection of the room is dropped (so none outlives its
    /// session, or listens in on the next one with the same room id), the
    /// history row is closed, and the state removed. Claimed by
    /// compare-and-set, so several instances end it once; a failed cleanup
    /// gives the claim back, so a retry (the caller's, or the timer's after
    /// [`STALE_CLAIM_SECS`]) finishes the job.
    pub async fn end_room(
        &self,
        room: &RoomId,
        reason: EndReason,
    ) -> Result<Ended, LifecycleError> {
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
            return Ok(Ended::NotRunning);
        };
        if !claimed {
            return Ok(Ended::InProgress);
        }
        match self.finish_end(&r, reason, t).await {
            Ok(()) => Ok(Ended::Now),
            Err(e) => {
                // Give the claim back so the next call retries at once.
                let released = self
                    .kv
                    .update_room(room, |r| {
                        let mine = r.ending == Some(t);
                        if mine {
                            r.ending = None;
                        }
                        mine
                    })
                    .await;
                if let Err(e2) = released {
                    tracing::warn!(error = %e2, %room, "end claim not released; the timer retries");
                }
                Err(e)
            }
        }
    }

    async fn finish_end(
        &self,
        r: &RoomState,
        reason: EndReason,
        t: i64,
    ) -> Result<(), LifecycleError> {
        let room = &r.room_id;
        let online = self.index().online_count(room);
        // Participants first: they should hear it even if cleanup fails.
        let ev = SystemEvent::SessionEnded { reason };
        self.publish(&quorum_shared::subjects::public(room), &ev)
            .await;
        // Every connection recorded for the room, not only the current
        // ones: a replaced or still-authorizing connection must go too. One
        // whose advisory comes while the room is ending is kicked there
        // (`connected`), and the callout admits nobody meanwhile; a second
        // pass once the state is gone catches the ones in between.
        self.kick_all(room).await.map_err(LifecycleError::Kick)?;
        let peak = r.peak_participants.max(self.index().peak(room));
        let analytics_id = self.analytics.finish(r).await;
        self.store
            .end_session(r.sid.clone(), t, peak as i64, analytics_id)
            .await?;
        // The streams go before the state: if that fails the end is
        // retried, so no later session of this room id finds old history.
        super::stream::remove(&self.js, room)
            .await
            .map_err(LifecycleError::Rooms)?;
        self.kv.remove_room(r).await?;
        self.kick_all(room).await.map_err(LifecycleError::Kick)?;
        self.media.delete_room(&r.sid);
        self.forget(r);
        self.notify(r, EventName::SessionEnded, online, None, Some(reason));
        self.notify(r, EventName::RoomFinished, 0, None, Some(reason));
        tracing::info!(%room, sid = %r.sid, ?reason, "room ended");
        crate::metrics::room_ended();
        Ok(())
    }

    /// Why `r` should end now, if it should.
    pub fn due(r: &RoomState, now: i64) -> Option<EndReason> {
        if r.ends_at().is_some_and(|end| now >= end) {
            return Some(EndReason::DurationExceeded);
        }
        match r.empty_until() {
            Some(until) if now >= until => Some(EndReason::EmptyTimeout),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            locked: false,
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
