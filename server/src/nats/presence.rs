//! Presence from nats-server's disconnect advisories (system account).
//! A participant goes offline when its authorized connection closes.

use futures::StreamExt;
use serde::Deserialize;

use crate::rooms::service::RoomService;

#[derive(Deserialize)]
struct Advisory {
    client: AdvisoryClient,
}

#[derive(Deserialize)]
struct AdvisoryClient {
    /// For callout-authorized users: the one-off user nkey we signed.
    #[serde(default)]
    user: String,
}

/// Follows disconnect advisories of `account` until the connection closes.
pub async fn run(system: async_nats::Client, account: String, rooms: RoomService) {
    let subject = format!("$SYS.ACCOUNT.{account}.DISCONNECT");
    let mut sub = match system.subscribe(subject).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot follow disconnect advisories");
            return;
        }
    };
    while let Some(msg) = sub.next().await {
        let Ok(adv) = serde_json::from_slice::<Advisory>(&msg.payload) else {
            continue;
        };
        if adv.client.user.is_empty() {
            continue;
        }
        if let Err(e) = rooms.left(&adv.client.user).await {
            tracing::warn!(error = %e, "cannot record disconnect");
        }
    }
}
