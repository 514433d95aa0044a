//! Everything NATS: the embedded server, the connections the app server
//! holds, the auth callout and the presence listener.

pub mod callout;
pub mod embedded;
pub mod jwt;
pub mod presence;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::{Config, NatsMode};
use crate::secrets::Secrets;
use embedded::EmbeddedNats;

/// A NATS setup failure.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// No nats-server binary was found.
    #[error(
        "nats-server not found: set nats.binary or QUORUM_NATS_BINARY, or run scripts/setup.sh"
    )]
    BinaryNotFound,
    /// A configured port is taken.
    #[error("port {0} is not free: {1}")]
    PortInUse(u16, String),
    /// The process could not be started.
    #[error("cannot start {0}: {1}")]
    Spawn(String, String),
    /// The process exited during start-up.
    #[error("nats-server exited during start-up ({0}); see its log above")]
    Exited(String),
    /// The process never accepted connections.
    #[error("nats-server did not become ready in time")]
    Timeout,
    /// Filesystem trouble.
    #[error("nats setup: {0}")]
    Io(String),
    /// Connecting failed.
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
}

/// The connections the app server holds.
#[derive(Clone)]
pub struct NatsLink {
    /// Service connection (in the app account): callout, KV, publishing.
    pub client: async_nats::Client,
    /// System-account connection for presence advisories, if configured.
    pub system: Option<async_nats::Client>,
    /// The embedded server, when we run one.
    pub embedded: Option<EmbeddedNats>,
    /// WebSocket URLs handed to browsers.
    pub ws_urls: Vec<String>,
    /// Notified whenever the system connection is (re-)established.
    pub reconnected: Arc<Notify>,
}

async fn connect(
    url: &str,
    user: &str,
    pass: &str,
    name: &str,
) -> Result<async_nats::Client, NatsError> {
    connect_watched(url, user, pass, name, None).await
}

/// Like [`connect`]; `reconnected` is notified whenever the connection is
/// (re-)established, so what may have been missed meanwhile (presence
/// advisories) can be caught up.
async fn connect_watched(
    url: &str,
    user: &str,
    pass: &str,
    name: &str,
    reconnected: Option<Arc<Notify>>,
) -> Result<async_nats::Client, NatsError> {
    let mut opts = async_nats::ConnectOptions::new();
    if let Some(n) = reconnected {
        opts = opts.event_callback(move |ev| {
            let n = n.clone();
            async move {
                if matches!(ev, async_nats::Event::Connected) {
                    n.notify_one();
                }
            }
        });
    }
    opts.user_and_password(user.to_owned(), pass.to_owned())
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        // Keep retrying forever: the supervisor restarts nats-server.
        .max_reconnects(None)
        .connect(url)
        .await
        .map_err(|e| NatsError::Connect(e.to_string()))
}

fn host_of(public_url: &str) -> String {
    let rest = public_url.split("://").nth(1).unwrap_or(public_url);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_owned(),
        _ => authority.to_owned(),
    }
}

impl NatsLink {
    /// Starts (embedded) or reaches (external) NATS and connects.
    pub async fn start(
        cfg: &Config,
        secrets: &Secrets,
        public_url: &str,
    ) -> Result<Self, NatsError> {
        let reconnected = Arc::new(Notify::new());
        match cfg.nats.mode {
            NatsMode::Embedded => {
                let emb = EmbeddedNats::start(cfg, secrets).await?;
                let client = connect(
                    &emb.client_url,
                    embedded::SERVICE_USER,
                    &secrets.service_password,
                    "quorum",
                )
                .await?;
                let system = connect_watched(
                    &emb.client_url,
                    embedded::SYSTEM_USER,
                    &secrets.system_password,
                    "quorum-sys",
                    Some(reconnected.clone()),
                )
                .await?;
                let ws_urls = if cfg.nats.ws_public_urls.is_empty() {
                    let scheme = if public_url.starts_with("https") {
                        "wss"
                    } else {
                        "ws"
                    };
                    vec![format!(
                        "{scheme}://{}:{}",
                        host_of(public_url),
                        emb.ws_port
                    )]
                } else {
                    cfg.nats.ws_public_urls.clone()
                };
                Ok(Self {
                    client,
                    system: Some(system),
                    embedded: Some(emb),
                    ws_urls,
                    reconnected,
                })
            }
            NatsMode::External => {
                let client =
                    connect(&cfg.nats.url, &cfg.nats.user, &cfg.nats.password, "quorum").await?;
                let system = if cfg.nats.sys_user.is_empty() {
                    None
                } else {
                    Some(
                        connect_watched(
                            &cfg.nats.url,
                            &cfg.nats.sys_user,
                            &cfg.nats.sys_password,
                            "quorum-sys",
                            Some(reconnected.clone()),
                        )
                        .await?,
                    )
                };
                Ok(Self {
                    client,
                    system,
                    embedded: None,
                    ws_urls: cfg.nats.ws_public_urls.clone(),
                    reconnected,
                })
            }
        }
    }

    /// Drains connections and stops the embedded server.
    pub async fn shutdown(&self) {
        let _ = self.client.drain().await;
        if let Some(s) = &self.system {
            let _ = s.drain().await;
        }
        if let Some(e) = &self.embedded {
            e.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_of_strips_scheme_port_and_path() {
        assert_eq!(super::host_of("http://127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(
            super::host_of("https://meet.example.org"),
            "meet.example.org"
        );
    }
}
