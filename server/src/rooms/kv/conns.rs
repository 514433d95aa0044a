//! Connections in `quorum-conns` (key: the one-off user nkey of a NATS
//! connection), and a participant's presence as they come and go.

use async_nats::jetstream::kv;
use quorum_shared::subjects::Access;

use super::{decode, encode, kv_err, update_entry, Rooms};
use crate::rooms::{ConnInfo, ParticipantState, Presence, RoomsError};

impl Rooms {
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
