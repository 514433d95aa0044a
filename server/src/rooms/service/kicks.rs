//! Dropping NATS connections (nats-server's KICK): one, a whole room's,
//! or a participant's after its permissions changed.

use quorum_shared::events::SystemEvent;
use quorum_shared::ids::RoomId;

use super::{RoomService, KICKS_AT_ONCE, KICK_TIMEOUT};
use crate::rooms::ParticipantState;

impl RoomService {
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
