//! Presence from nats-server's connect and disconnect advisories (system
//! account). A queue group makes each advisory handled by one instance.

use futures::StreamExt;
use serde::Deserialize;

use crate::rooms::service::RoomService;

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
                    .record_connect(&adv.client.user, adv.client.id, &adv.server.id)
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
