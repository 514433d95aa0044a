//! An operator's own nats-server, for end-to-end tests that must stop and
//! restart NATS or the app servers independently (external NATS mode).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::process::{kill_group, own_group};
use crate::{root, Quorum};

/// A nats-server started from the callout-configured config that `quorum`
/// writes in its data directory.
pub struct ExternalNats {
    child: Option<Child>,
    conf: PathBuf,
    /// Client port.
    pub client_port: u16,
    /// WebSocket port.
    pub ws_port: u16,
    /// `QUORUM_*` settings that point a `quorum` at this server.
    pub env: Vec<(&'static str, String)>,
}

fn nats_binary() -> PathBuf {
    let venv = root().join(".tools/venv/bin/nats-server");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("nats-server")
    }
}

impl ExternalNats {
    /// Runs `quorum` once in `data` so it generates its secrets and writes a
    /// nats-server config (with the ports it got), stops it, and starts
    /// nats-server from that config on its own.
    pub fn bootstrap(data: Arc<tempfile::TempDir>) -> Self {
        let mut first = Quorum::start_with(data.clone(), &[]);
        assert!(
            first.signal_and_wait("TERM"),
            "bootstrap quorum did not stop cleanly: {}",
            first.output()
        );
        let dir = data.path();
        let conf = dir.join("nats/nats.conf");
        let text = std::fs::read_to_string(&conf).expect("nats.conf written by quorum");
        // The first `port:` is the client port, the second the WebSocket's.
        let ports: Vec<u16> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("port:"))
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        assert_eq!(ports.len(), 2, "client and websocket ports in {text}");
        let secrets: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("secrets.json")).expect("secrets.json"))
                .expect("secrets JSON");
        let s = |k: &str| secrets[k].as_str().unwrap_or_default().to_owned();
        let env = vec![
            ("QUORUM_NATS_MODE", "external".to_owned()),
            ("QUORUM_NATS_URL", format!("nats://127.0.0.1:{}", ports[0])),
            ("QUORUM_NATS_USER", "quorum".to_owned()),
            ("QUORUM_NATS_PASSWORD", s("service_password")),
            ("QUORUM_NATS_SYS_USER", "sys".to_owned()),
            ("QUORUM_NATS_SYS_PASSWORD", s("system_password")),
            (
                "QUORUM_NATS_WS_PUBLIC_URLS",
                format!("ws://127.0.0.1:{}", ports[1]),
            ),
        ];
        let mut me = Self {
            child: None,
            conf,
            client_port: ports[0],
            ws_port: ports[1],
            env,
        };
        me.start();
        me
    }

    /// Starts nats-server (again) on the same ports and data.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = own_group(
            Command::new(nats_binary())
                .arg("-c")
                .arg(&self.conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .spawn()
        .expect("spawn nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.client_port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills nats-server abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&mut c);
        }
    }
}

impl Drop for ExternalNats {
    fn drop(&mut self) {
        self.kill();
    }
}
