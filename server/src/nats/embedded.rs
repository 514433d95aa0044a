//! The embedded default: write a nats-server config (JetStream, WebSocket,
//! auth callout) and spawn, supervise and finally stop nats-server.
//!
//! The config holds the service and system users' passwords, so it is
//! written 0600 in a 0700 directory (`data/nats`).

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

/// A configured port, or -1 ("any free one", chosen by nats-server itself,
/// which unlike probing first can't race another process for it).
fn port_setting(port: u16) -> i32 {
    if port == 0 {
        -1
    } else {
        i32::from(port)
    }
}

fn render_config(cfg: &Config, s: &Secrets, dir: &Path, port: i32, ws_port: i32) -> String {
    let issuer = s.issuer().map(|k| k.public_key()).unwrap_or_default();
    let xkey = s.xkey().map(|k| k.public_key()).unwrap_or_default();
    let account = &cfg.nats.account;
    format!(
        r#"# Written by quorum at every start; edits are overwritten.
server_name: quorum
host: "127.0.0.1"
port: {port}
ports_file_dir: "{ports_dir}"
# Nobody may publish more than a participant may (the callout's user
# JWTs say the same; nats-server applies this limit to every client).
max_payload: {max_payload}
ping_interval: "{ping}s"
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  # Room streams and state buckets reserve their byte budgets from this.
  max_file_store: {max_file_store}MB
}}
websocket {{
  host: "{ws_host}"
  port: {ws_port}
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
        max_payload = quorum_shared::limits::MAX_PARTICIPANT_PAYLOAD,
        max_file_store = cfg.nats.max_file_store_mb,
        ping = cfg.nats.ping_interval_secs,
        ports_dir = dir.display(),
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
        crate::secrets::create_private_dir(&dir).map_err(|e| NatsError::Io(e.to_string()))?;
        // Explicit ports are checked up front for a clear error.
        for p in [cfg.nats.port, cfg.nats.ws_port] {
            if p != 0 {
                free_port_or(p)?;
            }
        }
        let conf = dir.join("nats.conf");
        let write = |port: i32, ws_port: i32| {
            use std::io::Write;
            let text = render_config(cfg, secrets, &dir, port, ws_port);
            crate::secrets::open_private(&conf, false)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| NatsError::Io(format!("{}: {e}", conf.display())))
        };
        write(port_setting(cfg.nats.port), port_setting(cfg.nats.ws_port))?;

        let child = spawn(&binary, &conf)?;
        let pid = child.id().unwrap_or_default();
        let child = Arc::new(Mutex::new(Some(child)));
        let (port, ws_port) = read_ports(&dir, pid, &child).await?;
        // Restarts must come back on the same ports: clients reconnect there.
        write(i32::from(port), i32::from(ws_port))?;
        let (stop, stop_rx) = watch::channel(false);
        let me = Self {
            client_url: format!("nats://127.0.0.1:{port}"),
            ws_port,
            stop,
            child,
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

#[derive(serde::Deserialize)]
struct PortsFile {
    #[serde(default)]
    nats: Vec<String>,
    #[serde(default)]
    websocket: Vec<String>,
}

fn port_of(urls: &[String]) -> Option<u16> {
    urls.first()?
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// Waits for the ports file nats-server writes once it listens, and returns
/// the client and WebSocket ports it chose.
async fn read_ports(
    dir: &Path,
    pid: u32,
    child: &Mutex<Option<Child>>,
) -> Result<(u16, u16), NatsError> {
    let path = dir.join(format!("nats-server_{pid}.ports"));
    for _ in 0..200 {
        if let Some(c) = child.lock().await.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                return Err(NatsError::Exited(status.to_string()));
            }
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(p) = serde_json::from_str::<PortsFile>(&text) {
                if let (Some(a), Some(b)) = (port_of(&p.nats), port_of(&p.websocket)) {
                    return Ok((a, b));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(NatsError::Timeout)
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
