//! The `quorum` binary under test: started as an operator would, on free
//! ports with a fresh data directory, and stopped with its nats-server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{process, root, PAGE_TIMEOUT};

/// A running `quorum` process and what it printed.
pub struct Quorum {
    child: Child,
    /// Everything the process wrote to stdout and stderr so far.
    pub output: Arc<Mutex<String>>,
    /// The printed moderator link.
    pub moderator_link: String,
    /// The printed participant link.
    pub participant_link: String,
    data: Arc<tempfile::TempDir>,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("QUORUM_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("debug/quorum")
}

impl Quorum {
    /// Starts `quorum` exactly as an operator would (Command 1's last
    /// step), on free ports with a fresh data directory, and waits for the
    /// two printed join links.
    pub fn start() -> Self {
        Self::start_with(Arc::new(tempfile::tempdir().expect("temp dir")), &[])
    }

    /// Like [`Quorum::start`], with extra environment settings (e.g. a
    /// short `QUORUM_TOKEN_TTL_SECS` for a test of real expiry).
    pub fn start_env(env: &[(&str, String)]) -> Self {
        Self::start_with(Arc::new(tempfile::tempdir().expect("temp dir")), env)
    }

    /// Like [`Quorum::start`], in the data directory `data` (which several
    /// instances may share), with extra environment settings.
    pub fn start_with(data: Arc<tempfile::TempDir>, env: &[(&str, String)]) -> Self {
        let bin = binary();
        assert!(
            bin.is_file(),
            "{} is missing: build it with `cargo build -p quorum-server`",
            bin.display()
        );
        let dist = root().join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "dist/index.html is missing: run `trunk build --release` first"
        );
        let mut cmd = Command::new(&bin);
        // Its own process group: if it hangs or dies, its nats-server is
        // still stopped with it.
        process::own_group(&mut cmd);
        // Free ports unless the caller pins them.
        cmd.env("QUORUM_NATS_PORT", "0")
            .env("QUORUM_NATS_WS_PORT", "0")
            // The harness reads the demo room's printed links (off by default).
            .env("QUORUM_DEMO_ROOM", "true");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd
            .env("QUORUM_DATA_DIR", data.path())
            // Port 0: the server binds a free port itself and prints it in
            // the links, so no other process can take it between a probe
            // and the bind.
            .env("QUORUM_LISTEN", "127.0.0.1:0")
            .env("QUORUM_CLIENT_DIR", &dist)
            .env("QUORUM_LOG", "debug")
            // Plain log lines, for tests that read them.
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn quorum");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (out, tx) = (output.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut o) = out.lock() {
                        o.push_str(&line);
                        o.push('\n');
                    }
                    let _ = tx.send(line);
                }
            });
        }
        let (mut moderator, mut participant) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while moderator.is_none() || participant.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                process::stop_group(&mut child, Duration::from_secs(10));
                panic!(
                    "quorum printed no links; output:\n{}",
                    output.lock().unwrap()
                );
            };
            if let Some(l) = line.strip_prefix("Moderator link:") {
                moderator = Some(l.trim().to_owned());
            }
            if let Some(l) = line.strip_prefix("Participant link:") {
                participant = Some(l.trim().to_owned());
            }
        }
        Self {
            child,
            output,
            moderator_link: moderator.unwrap_or_default(),
            participant_link: participant.unwrap_or_default(),
            data,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The shared handle to the data directory, for a second instance.
    pub fn data_handle(&self) -> Arc<tempfile::TempDir> {
        self.data.clone()
    }

    /// The base URL (the links without their query).
    pub fn base_url(&self) -> String {
        self.moderator_link
            .split("/?")
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The server API's `(api_key, api_secret)`, from the generated
    /// `secrets.json` in the data directory.
    pub fn secrets(&self) -> (String, String) {
        let path = self.data.path().join("secrets.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let v: serde_json::Value = serde_json::from_str(&text).expect("secrets.json is JSON");
        let field = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("secrets.json has no {k}"))
                .to_owned()
        };
        (field("api_key"), field("api_secret"))
    }

    /// Calls the signed server API as an integrator would: POSTs `body` to
    /// `path` (e.g. `/auth/room/endRoom`) with `API-KEY` and
    /// `HASH-SIGNATURE` (lowercase hex HMAC-SHA256 of the raw body), and
    /// returns the JSON answer whatever the HTTP status.
    pub async fn api(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (key, secret) = self.secrets();
        let raw = serde_json::to_vec(&body).expect("JSON body");
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length works");
        mac.update(&raw);
        let signature = hex::encode(mac.finalize().into_bytes());
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.base_url()))
            .header("Content-Type", "application/json")
            .header("API-KEY", key)
            .header("HASH-SIGNATURE", signature)
            .body(raw)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST {path}: HTTP {status}, not JSON ({e}): {text}"))
    }

    /// Process ids of this server's direct children (its nats-server).
    pub fn children(&self) -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.child.id().to_string()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Stops (`SIGSTOP`, `paused`) or continues the server process itself,
    /// not its nats-server: connections stay up, and nothing the server
    /// handles (history, worker requests) is answered meanwhile.
    pub fn set_paused(&self, paused: bool) {
        let signal = if paused { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} the server");
    }

    /// Sends `signal` (e.g. "INT" for Ctrl-C) and waits up to 15 s for the
    /// process to exit. Returns whether it exited successfully.
    pub fn signal_and_wait(&mut self, signal: &str) -> bool {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Returns once everything the server logged before this call is in
    /// [`Quorum::output`]: it creates a room with a fresh id and waits for
    /// a line naming it (the server logs "room created" while handling
    /// the request), which comes after any earlier line. The positive signal before asserting that something
    /// is *not* in the log.
    pub async fn sync_log(&self) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = format!(
            "log-sync-{}",
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let res = self
            .api(
                "/auth/room/create",
                serde_json::json!({ "room_id": id, "metadata": { "room_title": "log sync" } }),
            )
            .await;
        assert_eq!(res["status"], serde_json::json!(true), "create {id}: {res}");
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while !self.output().contains(&id) {
            assert!(Instant::now() < deadline, "the server never logged {id}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The WebSocket port the embedded nats-server chose, from the line
    /// the server logs once it is up (before the links are printed).
    pub fn nats_ws_port(&self) -> u16 {
        let out = self.output();
        out.lines()
            .filter(|l| l.contains("embedded nats-server is up"))
            .find_map(|l| {
                l.split("ws_port=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("the server logged no nats-server ws_port; output:\n{out}"))
    }

    /// A copy of the output so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // A test that failed while the server was paused: continued first,
        // so it can stop at once rather than at the grace period's end.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        // SIGTERM lets quorum stop its nats-server child; the group kill
        // after the grace period catches both if it does not.
        process::stop_group(&mut self.child, Duration::from_secs(10));
    }
}
