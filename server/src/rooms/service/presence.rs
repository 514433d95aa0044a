//! Presence: a participant's connection authorized by the callout,
//! announced by nats-server, and closed. Reconnects within the grace
//! period are coalesced (see the module above).

use quorum_shared::events::{PresenceState, SystemEvent};
use quorum_shared::subjects::{self, Access};
use quorum_shared::webhook::EventName;

use super::{RoomService, CHECKED_KEPT};
use crate::rooms::{ParticipantState, Presence, RoomState, RoomsError};

impl RoomService {
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
}
