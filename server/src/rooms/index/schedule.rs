//! The due times derived from the index: when each room and participant
//! must be looked at next, in one ordered schedule the timer task reads.

use quorum_shared::ids::{RoomId, UserId};

use super::{Grace, Index, State};
use crate::rooms::{ParticipantState, Presence, RoomState};

/// Something that falls due at a time: a room's end, or a participant's
/// presence (grace, cleanup) or throttle expiry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    /// A room's duration, empty timeout, or an abandoned end claim.
    Room(RoomId),
    /// A participant's grace, cleanup or throttle.
    Participant(RoomId, UserId),
}

impl Index {
    /// Schedules `due` again at `at` (e.g. a retry after a failure).
    pub fn retry_at(&self, due: Due, at: i64) {
        if self.write(|s| s.reschedule(due, Some(at))) {
            self.changed.notify_one();
        }
    }

    // -- the schedule -- //

    /// The earliest due time, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.read(|s| s.schedule.first().map(|(at, _)| *at))
    }

    /// Removes and returns everything due at or before `now`.
    pub fn take_due(&self, now: i64) -> Vec<Due> {
        self.write(|s| {
            let mut out = Vec::new();
            while let Some((at, _)) = s.schedule.first() {
                if *at > now {
                    break;
                }
                if let Some((_, due)) = s.schedule.pop_first() {
                    s.due_at.remove(&due);
                    out.push(due);
                }
            }
            out
        })
    }

    /// Resolves when a due time may have moved earlier.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

impl State {
    pub(super) fn unschedule(&mut self, due: &Due) {
        if let Some(at) = self.due_at.remove(due) {
            self.schedule.remove(&(at, due.clone()));
        }
    }

    /// Moves `due` to `at` (or off the schedule); true if it is now due
    /// earlier than before, so the timer task must look again.
    pub(super) fn reschedule(&mut self, due: Due, at: Option<i64>) -> bool {
        let before = self.due_at.get(&due).copied();
        if before == at {
            return false;
        }
        self.unschedule(&due);
        if let Some(at) = at {
            self.due_at.insert(due.clone(), at);
            self.schedule.insert((at, due));
        }
        let first = self.schedule.first().map(|(t, _)| *t);
        at.is_some_and(|at| first == Some(at))
    }
}

/// When a room must be looked at next: its duration, its empty timeout,
/// or the moment an end claim counts as abandoned.
pub fn room_due(r: &RoomState, g: &Grace) -> Option<i64> {
    let empty = r.empty_until();
    let claim = r.ending.map(|t| t.saturating_add(g.stale_claim_secs));
    [r.ends_at(), empty, claim].into_iter().flatten().min()
}

/// When a participant must be looked at next: the end of its grace while
/// disconnected, its cleanup while offline, or the end of a throttle.
pub fn participant_due(p: &ParticipantState, g: &Grace) -> Option<i64> {
    let presence = match p.presence {
        Presence::Disconnected => Some(p.presence_since.saturating_add(g.offline_secs)),
        Presence::Offline if !p.cleaned_up => Some(p.presence_since.saturating_add(g.cleanup_secs)),
        _ => None,
    };
    [presence, p.throttled_until].into_iter().flatten().min()
}
