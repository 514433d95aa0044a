//! What happens when something falls due: a room's duration or empty
//! timeout (it ends), a disconnected participant's grace (offline, and the
//! room may become empty), an offline one's cleanup (dropped from the
//! list), a throttle's end (chat comes back). The due times come from the
//! [`super::index::Index`], which recomputes them whenever a room or
//! participant changes, so the work follows what happens: an idle room
//! costs nothing until its deadline, however many there are.
//!
//! Every instance runs the same timers; each action is a compare-and-set
//! on the value as stored, so exactly one instance makes each change and
//! announces it.

use std::time::Duration;

use futures::StreamExt;
use quorum_shared::events::{PresenceState, SystemEvent};
use quorum_shared::webhook::EventName;

use super::index::Due;
use super::lifecycle::STALE_CLAIM_SECS;
use super::service::{now, RoomService};
use super::{ParticipantState, Presence};

/// A failed action is tried again this much later.
const RETRY_SECS: i64 = 5;
/// How many due actions run at once.
const CONCURRENCY: usize = 16;

impl RoomService {
    /// Runs the timers until the process ends: sleeps until the earliest
    /// due time (or until the index says one moved earlier), then handles
    /// everything due.
    pub fn spawn_timers(self) {
        tokio::spawn(async move {
            self.index().wait_loaded().await;
            let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
            loop {
                let wait = match self.index().next_due() {
                    Some(at) => {
                        let ms = (at - now()).max(0) as u64 * 1000;
                        // Due times are whole seconds: wake just after.
                        Duration::from_millis(ms + 20)
                    }
                    None => Duration::from_secs(3600),
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {
                        // Each action on its own, so one slow end never holds
                        // up the others; at most CONCURRENCY at once.
                        let t = now();
                        for d in self.index().take_due(t) {
                            let Ok(permit) = permits.clone().acquire_owned().await else {
                                return;
                            };
                            let me = self.clone();
                            tokio::spawn(async move {
                                me.act(d, t).await;
                                drop(permit);
                            });
                        }
                    }
                    _ = self.index().changed() => {}
                }
            }
        });
    }

    /// Handles everything due now and returns when it is done (the timer
    /// task does the same without waiting; tests call this to know a pass
    /// has happened).
    pub async fn run_due(&self) {
        let t = now();
        let due = self.index().take_due(t);
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |d| self.act(d, t))
            .await;
    }

    /// One due action; a failure is tried again [`RETRY_SECS`] later.
    async fn act(&self, d: Due, t: i64) {
        if let Err(e) = self.handle(&d, t).await {
            tracing::warn!(error = %e, ?d, "timer action failed; retrying");
            self.index().retry_at(d, t + RETRY_SECS);
        }
    }

    async fn handle(&self, due: &Due, t: i64) -> Result<(), String> {
        match due {
            Due::Room(id) => {
                let Some(r) = self.kv.room(id).await.map_err(|e| e.to_string())? else {
                    return Ok(());
                };
                let stale_claim = r.ending.is_some_and(|at| t - at >= STALE_CLAIM_SECS);
                let mut reason = Self::due(&r, t);
                if reason == Some(quorum_shared::events::EndReason::EmptyTimeout)
                    && self.index().present_count(id) > 0
                {
                    // Not empty after all (someone came back): it is not.
                    reason = None;
                    self.kv
                        .update_room(id, |r| r.empty_since.take().is_some())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                match (reason, stale_claim) {
                    (Some(reason), _) => self.end_room(id, reason).await.map(drop),
                    // A claim whose instance died mid-way: finish its work.
                    (None, true) => self
                        .end_room(id, quorum_shared::events::EndReason::EndedByModerator)
                        .await
                        .map(drop),
                    (None, false) => Ok(()),
                }
                .map_err(|e| e.to_string())
            }
            Due::Participant(room, user) => {
                let Some(p) = self
                    .kv
                    .participant(room, user)
                    .await
                    .map_err(|e| e.to_string())?
                else {
                    return Ok(());
                };
                self.participant_due(&p, t).await.map_err(|e| e.to_string())
            }
        }
    }

    async fn participant_due(&self, p: &ParticipantState, t: i64) -> Result<(), super::RoomsError> {
        if p.throttled_until.is_some_and(|until| t >= until) {
            self.unthrottle(p, t).await?;
        }
        match p.presence {
            Presence::Disconnected if t - p.presence_since >= self.grace.offline_secs => {
                self.went_offline(p, t).await
            }
            Presence::Offline
                if !p.cleaned_up && t - p.presence_since >= self.grace.cleanup_secs =>
            {
                self.clean_up(p, t).await
            }
            _ => Ok(()),
        }
    }

    /// A disconnected participant's grace ran out: offline for real. Only
    /// the instance whose compare-and-set makes the change announces it, so
    /// a leave counts once.
    async fn went_offline(&self, p: &ParticipantState, t: i64) -> Result<(), super::RoomsError> {
        let grace = self.grace.offline_secs;
        let updated = self
            .kv
            .update_participant(&p.room_id, &p.user_id, |p| {
                // Re-checked on the stored value: it may have come back.
                if p.presence != Presence::Disconnected || t - p.presence_since < grace {
                    return false;
                }
                p.presence = Presence::Offline;
                p.presence_since = t;
                true
            })
            .await?;
        let Some((p, true)) = updated else {
            return Ok(());
        };
        self.announce_presence(&p, PresenceState::Offline).await;
        let online = self.index().online_count(&p.room_id);
        // Someone dropped within their grace is still in the room.
        let present = self.index().present_count(&p.room_id);
        let r = self
            .kv
            .update_room(&p.room_id, |r| {
                if present == 0 && r.empty_since.is_none() {
                    r.empty_since = Some(t);
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

    /// Offline long enough: dropped from everyone's list.
    async fn clean_up(&self, p: &ParticipantState, t: i64) -> Result<(), super::RoomsError> {
        let cleanup = self.grace.cleanup_secs;
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
        Ok(())
    }

    /// A throttle is over: chat comes back, on a new connection.
    async fn unthrottle(&self, p: &ParticipantState, t: i64) -> Result<(), super::RoomsError> {
        let updated = self
            .kv
            .update_participant(&p.room_id, &p.user_id, |p| {
                let over = p.throttled_until.is_some_and(|until| t >= until);
                if over {
                    p.throttled_until = None;
                }
                over
            })
            .await?;
        if let Some((p, true)) = updated {
            let ev = SystemEvent::LocksChanged {
                chat_locked: p.access_at(t).chat_locked,
                locks: Some(p.lock_settings.clone()),
            };
            self.enforce(&p, &ev).await;
        }
        Ok(())
    }
}
