//! Presence from nats-server's connect and disconnect advisories (system
//! account). A queue group makes each advisory handled by one instance.

use futures::StreamExt;
use serde::Deserialize;

use crate::rooms::service::RoomService;
use crate::rooms::ConnInfo;

#[derive(Deserialize)]
struct Advisory {
    #[serde(default)]
    server: AdvisoryServer,
    client: AdvisoryClient,
}

#[derive(Deserialize, Default)]
struct AdvisoryServer {
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct AdvisoryClient {
    /// nats-server's connection id.
    #[serde(default)]
    id: u64,
    /// For callout-authorized users: the one-off user nkey we signed.
    #[serde(default)]
    user: String,
}

/// Follows connect and disconnect advisories of `account` until the
/// connection closes.
pub async fn run(system: async_nats::Client, account: String, rooms: RoomService) {
    let subject = format!("$SYS.ACCOUNT.{account}.*");
    let mut sub = match system
        .queue_subscribe(subject, "quorum-presence".to_owned())
        .await
    {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "cannot follow presence advisories"),
    };
    while let Some(msg) = sub.next().await {
        let kind = msg.subject.as_str().rsplit('.').next().unwrap_or_default();
        let Ok(adv) = serde_json::from_slice::<Advisory>(&msg.payload) else {
            continue;
        };
        if adv.client.user.is_empty() {
            continue;
        }
        let res = match kind {
            "CONNECT" => {
                rooms
                    .connected(&adv.client.user, adv.client.id, &adv.server.id)
                    .await
            }
            "DISCONNECT" => rooms.left(&adv.client.user).await,
            _ => Ok(()),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, kind, "cannot record presence");
        }
    }
}

#[derive(Deserialize)]
struct ConnzReply {
    #[serde(default)]
    data: ConnzData,
}

#[derive(Deserialize, Default)]
struct ConnzData {
    #[serde(default)]
    connections: Vec<ConnzConn>,
    #[serde(default)]
    total: usize,
}

#[derive(Deserialize)]
struct ConnzConn {
    /// The user JWT's name: the one-off user nkey we signed.
    #[serde(default)]
    authorized_user: String,
}

/// Names of every live connection of `account`, across all servers that
/// answer within a moment. `None` if no server answered (then nothing must
/// be concluded from silence).
async fn live_users(
    system: &async_nats::Client,
    account: &str,
) -> Option<std::collections::HashSet<String>> {
    let inbox = system.new_inbox();
    let mut replies = system.subscribe(inbox.clone()).await.ok()?;
    let filter = serde_json::json!({ "account": account, "auth": true, "limit": 100_000 });
    system
        .publish_with_reply(
            "$SYS.REQ.SERVER.PING.CONNZ",
            inbox,
            filter.to_string().into(),
        )
        .await
        .ok()?;
    let mut live = std::collections::HashSet::new();
    let mut answered = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(750);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let Ok(r) = serde_json::from_slice::<ConnzReply>(&msg.payload) else {
            continue;
        };
        answered = true;
        if r.data.total > r.data.connections.len() {
            // A partial list would wrongly declare people gone.
            return None;
        }
        live.extend(r.data.connections.into_iter().map(|c| c.authorized_user));
    }
    answered.then_some(live)
}

/// Marks "disconnected" every participant recorded online whose connection
/// no server knows any more: disconnects that happened while no instance
/// was listening (all app servers down, a restart, a lost NATS link) would
/// otherwise leave them online forever. Runs when it can have missed
/// something: at start (twice: the second pass catches participants marked
/// online in the second before the first snapshot) and after every
/// reconnect of the system connection, never on a timer.
pub async fn reconcile(
    system: async_nats::Client,
    account: String,
    rooms: RoomService,
    reconnected: std::sync::Arc<tokio::sync::Notify>,
) {
    rooms.index().wait_loaded().await;
    let mut passes_due = 2;
    loop {
        // Connections made after the snapshot was asked for are missing from
        // it; only participants online since before then are judged.
        let asked_at = crate::tokens::now_secs() as i64;
        if let Some(live) = live_users(&system, &account).await {
            if let Err(e) = reconcile_once(&rooms, &live, asked_at).await {
                tracing::warn!(error = %e, "presence reconciliation failed");
            }
        }
        passes_due -= 1;
        if passes_due > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            continue;
        }
        reconnected.notified().await;
        passes_due = 2;
    }
}

/// A connection the callout authorized but nats-server never announced
/// within this long is not coming.
const UNADVISED_SECS: i64 = 30;

async fn reconcile_once(
    rooms: &RoomService,
    live: &std::collections::HashSet<String>,
    asked_at: i64,
) -> Result<(), crate::rooms::RoomsError> {
    for r in rooms.kv.rooms() {
        for p in rooms.kv.participants_of(&r.room_id) {
            let Some(conn) = p.conn.as_deref() else {
                continue;
            };
            if p.presence != crate::rooms::Presence::Online || live.contains(conn) {
                continue;
            }
            // Only a connection nats-server had registered before the
            // snapshot can be missing from it: one whose connect advisory
            // came before (a second's margin: whole seconds). Without an
            // advisory yet, the callout may still be finishing; judge it
            // only once that is long past.
            // One unreadable value skips only its participant.
            let since = match rooms.kv.conn_info(conn).await {
                Ok(Some(ConnInfo {
                    connected_at: Some(t),
                    ..
                })) => t,
                Ok(_) => p.presence_since + UNADVISED_SECS,
                Err(e) => {
                    tracing::warn!(error = %e, user = %p.user_id, "presence check skipped");
                    continue;
                }
            };
            if since + 1 < asked_at {
                tracing::info!(room = %r.room_id, user = %p.user_id, "stale presence: connection gone");
                if let Err(e) = rooms.left(conn).await {
                    tracing::warn!(error = %e, user = %p.user_id, "stale presence not cleared");
                }
            }
        }
    }
    Ok(())
}
