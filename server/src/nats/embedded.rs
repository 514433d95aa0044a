//! The embedded default: write a nats-server config (JetStream, WebSocket,
//! auth callout) and spawn, supervise and finally stop nats-server.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{watch, Mutex};

use super::NatsError;
use crate::config::Config;
use crate::secrets::Secrets;

/// Name of the service user the app server connects as.
pub const SERVICE_USER: &str = "quorum";
/// Name of the system-account user used for presence advisories.
pub const SYSTEM_USER: &str = "sys";

/// Ports and paths of the running embedded nats-server.
#[derive(Debug, Clone)]
pub struct EmbeddedNats {
    /// `nats://127.0.0.1:{port}`.
    pub client_url: String,
    /// WebSocket port browsers connect to.
    pub ws_port: u16,
    stop: watch::Sender<bool>,
    child: Arc<Mutex<Option<Child>>>,
}

/// Finds the nats-server binary: the configured path, then `PATH`, then the
/// project's own venv (`.tools/venv/bin`) in the working directory or next
/// to the executable's ancestors.
pub fn find_binary(configured: &str) -> Result<PathBuf, NatsError> {
    if !configured.is_empty() {
        return Ok(PathBuf::from(configured));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nats-server"))
                .collect()
        })
        .unwrap_or_default();
    let mut roots = vec![std::env::current_dir().unwrap_or_default()];
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    candidates.extend(roots.iter().map(|r| r.join(".tools/venv/bin/nats-server")));
    candidates
        .into_iter()
        .find(|c| c.is_file())
        .ok_or(NatsError::BinaryNotFound)
}

fn free_port_or(port: u16) -> Result<u16, NatsError> {
    // Binding tells us both "is this port free" and, for 0, "which one is".
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|e| NatsError::PortInUse(port, e.to_string()))?;
    Ok(l.local_addr()
        .map_err(|e| NatsError::Io(e.to_string()))?
        .port())
}

fn render_config(cfg: &Config, s: &Secrets, dir: &Path, port: u16, ws_port: u16) -> String {
    let issuer = s.issuer().map(|k| k.public_key()).unwrap_or_default();
    let xkey = s.xkey().map(|k| k.public_key()).unwrap_or_default();
    let account = &cfg.nats.account;
    format!(
        r#"# Written by quorum at every start; edits are overwritten.
server_name: quorum
listen: "127.0.0.1:{port}"
max_payload: 1MB
ping_interval: "10s"
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 4GB
}}
websocket {{
  listen: "{ws_host}:{ws_port}"
  no_tls: true
  compression: true
}}
accounts {{
  {account} {{
    jetstream: enabled
    users: [ {{ user: "{svc}", password: "{svc_pw}" }} ]
  }}
  SYS {{
    users: [ {{ user: "{sys}", password: "{sys_pw}" }} ]
  }}
}}
system_account: SYS
authorization {{
  auth_callout {{
    issuer: "{issuer}"
    auth_users: [ "{svc}", "{sys}" ]
    account: {account}
    xkey: "{xkey}"
  }}
}}
"#,
        store = dir.join("jetstream").display(),
        ws_host = cfg.nats.ws_host,
        svc = SERVICE_USER,
        svc_pw = s.service_password,
        sys = SYSTEM_USER,
        sys_pw = s.system_password,
    )
}

impl EmbeddedNats {
    /// Writes the config, starts nats-server, waits until it accepts
    /// connections and keeps it running until [`EmbeddedNats::stop`].
    pub async fn start(cfg: &Config, secrets: &Secrets) -> Result<Self, NatsError> {
        let binary = find_binary(&cfg.nats.binary)?;
        let dir = cfg.data_dir.join("nats");
        std::fs::create_dir_all(&dir).map_err(|e| NatsError::Io(e.to_string()))?;
        let port = free_port_or(cfg.nats.port)?;
        let ws_port = free_port_or(cfg.nats.ws_port)?;
        let conf = dir.join("nats.conf");
        std::fs::write(&conf, render_config(cfg, secrets, &dir, port, ws_port))
            .map_err(|e| NatsError::Io(e.to_string()))?;

        let child = spawn(&binary, &conf)?;
        let (stop, stop_rx) = watch::channel(false);
        let me = Self {
            client_url: format!("nats://127.0.0.1:{port}"),
            ws_port,
            stop,
            child: Arc::new(Mutex::new(Some(child))),
        };
        wait_ready(port, &me.child).await?;
        tokio::spawn(supervise(binary, conf, port, me.child.clone(), stop_rx));
        tracing::info!(port, ws_port, "embedded nats-server is up");
        Ok(me)
    }

    /// Stops nats-server: SIGTERM, then SIGKILL after 5 s.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let mut guard = self.child.lock().await;
        if let Some(mut child) = guard.take() {
            if let Some(pid) = child.id() {
                // Ask politely so JetStream flushes; std has no SIGTERM API.
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
            tracing::info!("embedded nats-server stopped");
        }
    }
}

fn spawn(binary: &Path, conf: &Path) -> Result<Child, NatsError> {
    let mut child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| NatsError::Spawn(binary.display().to_string(), e.to_string()))?;
    // Forward nats-server's log into ours so operators see one stream.
    if let Some(out) = child.stderr.take() {
        tokio::spawn(forward(BufReader::new(out)));
    }
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(BufReader::new(out)));
    }
    Ok(child)
}

async fn forward<R: tokio::io::AsyncRead + Unpin>(r: BufReader<R>) {
    let mut lines = r.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("[ERR]") || line.contains("[FTL]") {
            tracing::warn!(target: "nats_server", "{line}");
        } else {
            tracing::debug!(target: "nats_server", "{line}");
        }
    }
}

async fn wait_ready(port: u16, child: &Mutex<Option<Child>>) -> Result<(), NatsError> {
    for _ in 0..200 {
        if let Some(c) = child.lock().await.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                return Err(NatsError::Exited(status.to_string()));
            }
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(NatsError::Timeout)
}

async fn supervise(
    binary: PathBuf,
    conf: PathBuf,
    port: u16,
    child: Arc<Mutex<Option<Child>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        // Poll rather than hold the lock across wait(), so stop() can take it.
        let exited = {
            let mut g = child.lock().await;
            match g.as_mut() {
                None => return,
                Some(c) => c.try_wait().ok().flatten(),
            }
        };
        match exited {
            None => {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(Duration::from_millis(250)) => continue,
                }
            }
            Some(status) => {
                if *stop.borrow() {
                    return;
                }
                tracing::error!(%status, ?backoff, "nats-server exited; restarting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                match spawn(&binary, &conf) {
                    Ok(c) => {
                        *child.lock().await = Some(c);
                        if wait_ready(port, &child).await.is_ok() {
                            backoff = Duration::from_millis(500);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot restart nats-server"),
                }
            }
        }
    }
}
