//! Integration tests of how the server keeps its secrets apart and private,
//! against a real server on 127.0.0.1:0 with a real nats-server (and, for
//! the demo room, the real `quorum` binary):
//!
//! * join tokens are signed with a key derived from the API secret, so a
//!   token's signature is not an API signature and the API secret alone
//!   does not sign tokens;
//! * webhooks are signed with their own secret, kept in `secrets.json` or
//!   configured;
//! * the data directory is 0700 and the files holding secrets 0600, also
//!   when an older version left them open;
//! * the demo room is off by default, and tokens never reach the log.
//!
//! Run: `cargo test -p quorum-server --test secrets_and_keys`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::{assert_failure, craft_token, craft_token_with_key, now, TestServer, STEP};
use quorum_shared::webhook::{verify, SIGNATURE_HEADER};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

// -- join tokens and API signatures -- //

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_tokens_signature_is_not_an_api_signature() {
    let ts = TestServer::start().await;
    let token = ts.room_and_token("k1", "alice").await;

    // The attack: the token's signed part as a request body, its signature
    // hex-encoded as HASH-SIGNATURE. With one key for both, it passed.
    let (signed_part, sig_b64) = token.rsplit_once('.').expect("a JWS");
    let sig_hex = hex::encode(B64.decode(sig_b64).expect("base64url signature"));
    for path in [
        "/auth/room/create",
        "/auth/room/isRoomActive",
        "/auth/room/endRoom",
        "/auth/room/getJoinToken",
    ] {
        let got = ts
            .post_with(
                path,
                signed_part.as_bytes(),
                Some(&ts.api_key()),
                Some(&sig_hex),
            )
            .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    }

    // The other way round: HS256 under the raw API secret (what an API
    // signature over `header.payload` is) is not a join token.
    let t = now();
    let raw = craft_token_with_key(
        &ts.api_key(),
        ts.api_secret().as_bytes(),
        "k1",
        "alice",
        t,
        t + 600,
    );
    let got = ts.verify(&raw).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    assert!(ts.nats_connect(Some(&raw)).await.is_err(), "NATS took it");

    // Under the derived key (what the server itself issues), it is one.
    let derived = craft_token(&ts.api_key(), &ts.api_secret(), "k1", "alice", t, t + 600);
    let (code, v) = ts.verify(&derived).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    // And the server's own tokens are signed with that key.
    let (header_payload, _) = token.rsplit_once('.').unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(
        &quorum_server::tokens::join_token_key(&ts.api_secret()),
    )
    .unwrap();
    hmac::Mac::update(&mut mac, header_payload.as_bytes());
    let expected = hmac::Mac::finalize(mac).into_bytes();
    assert_eq!(B64.decode(sig_b64).unwrap(), expected.to_vec());
    ts.stop().await;
}

// -- webhook secret -- //

/// A webhook receiver: every request's `X-Signature` and body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Bytes)>) {
    async fn hook(
        State(tx): State<mpsc::UnboundedSender<(String, Bytes)>>,
        headers: HeaderMap,
        body: Bytes,
    ) {
        let sig = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = tx.send((sig, body));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route("/hook", post(hook)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}/hook"), rx)
}

/// The first webhook that reaches `rx`.
async fn first_hook(rx: &mut mpsc::UnboundedReceiver<(String, Bytes)>) -> (String, Bytes) {
    tokio::time::timeout(STEP, rx.recv())
        .await
        .expect("no webhook arrived")
        .expect("receiver gone")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_with_their_own_secret() {
    let (url, mut rx) = receiver().await;
    let ts = TestServer::start_with(|c| {
        c.webhook_url = url;
        c.webhook_allow_private = true;
    })
    .await;
    let webhook_secret = ts.state.secrets.webhook_secret.clone();
    assert_eq!(webhook_secret.len(), 64, "a generated 32-byte secret");
    assert_ne!(webhook_secret, ts.api_secret());
    // Kept in secrets.json, where integrators find it.
    let file: Value = serde_json::from_slice(
        &std::fs::read(ts.data_dir().join("secrets.json")).expect("secrets.json"),
    )
    .expect("secrets JSON");
    assert_eq!(file["webhook_secret"], webhook_secret.as_str());

    ts.create_room("w1").await;
    let (sig, body) = first_hook(&mut rx).await;
    let t = now() as i64;
    assert_eq!(verify(webhook_secret.as_bytes(), &sig, &body, t), Ok(()));
    // The API secret no longer verifies it: a receiver holds nothing that
    // signs API calls or join tokens.
    assert!(verify(ts.api_secret().as_bytes(), &sig, &body, t).is_err());
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_webhook_secret_wins() {
    let (url, mut rx) = receiver().await;
    let ts = TestServer::start_with(|c| {
        c.webhook_url = url;
        c.webhook_allow_private = true;
        c.webhook_secret = "configured-webhook-secret".into();
    })
    .await;
    ts.create_room("w2").await;
    let (sig, body) = first_hook(&mut rx).await;
    let t = now() as i64;
    assert_eq!(verify(b"configured-webhook-secret", &sig, &body, t), Ok(()));
    assert!(verify(ts.api_secret().as_bytes(), &sig, &body, t).is_err());
    ts.stop().await;
}

// -- file modes -- //

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Asserts the data directory's layout is private.
#[cfg(unix)]
#[track_caller]
fn assert_private(data: &Path) {
    for dir in ["", "nats", "analytics"] {
        let p = data.join(dir);
        assert_eq!(mode(&p), 0o700, "{}", p.display());
    }
    for file in ["secrets.json", "quorum.db", "nats/nats.conf"] {
        let p = data.join(file);
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // SQLite's side files, when present.
    for file in ["quorum.db-wal", "quorum.db-shm"] {
        let p = data.join(file);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_and_secret_files_are_private() {
    let ts = TestServer::start().await;
    let data = ts.data_dir();
    assert_private(&data);
    assert!(data.join("quorum.db-wal").exists(), "WAL mode expected");
    // The NATS config holds both NATS passwords.
    let conf = std::fs::read_to_string(data.join("nats/nats.conf")).unwrap();
    assert!(conf.contains(&ts.state.secrets.service_password));
    ts.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_left_open_by_older_versions_are_fixed_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    let mut old_analytics = None;
    let ts = TestServer::start_with(|c| {
        // What an older version left behind: everything world-readable.
        let data = c.data_dir.clone();
        for dir in ["nats", "analytics"] {
            std::fs::create_dir_all(data.join(dir)).unwrap();
            set(&data.join(dir), 0o755).unwrap();
        }
        set(&data, 0o755).unwrap();
        let db = data.join("quorum.db");
        std::fs::write(&db, b"").unwrap();
        set(&db, 0o644).unwrap();
        std::fs::write(data.join("nats/nats.conf"), b"# old\n").unwrap();
        set(&data.join("nats/nats.conf"), 0o644).unwrap();
        let file = data
            .join("analytics")
            .join(format!("analytics-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&file, b"{}").unwrap();
        set(&file, 0o644).unwrap();
        old_analytics = Some(file);
    })
    .await;
    let data = ts.data_dir();
    assert_private(&data);
    assert_eq!(mode(&old_analytics.unwrap()), 0o600);
    ts.stop().await;
}

// -- the demo room and logs -- //

/// A `quorum` binary running in a temporary data directory, its stdout and
/// stderr collected line by line.
struct Quorum {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    data: tempfile::TempDir,
    base_url: String,
}

const API_KEY: &str = "demo-test-key";
const API_SECRET: &str = "demo-test-secret";

impl Quorum {
    /// Starts the binary with no `QUORUM_*` setting from our environment
    /// except `env`, and waits until it is serving.
    fn start(env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
        for (k, _) in std::env::vars() {
            if k.starts_with("QUORUM_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("QUORUM_DATA_DIR", data.path().join("data"))
            .env("QUORUM_CLIENT_DIR", data.path().join("no-client"))
            .env("QUORUM_LISTEN", "127.0.0.1:0")
            .env("QUORUM_NATS_PORT", "0")
            .env("QUORUM_NATS_WS_PORT", "0")
            .env("QUORUM_API_KEY", API_KEY)
            .env("QUORUM_API_SECRET", API_SECRET)
            // Everything the server logs, to search it.
            .env("QUORUM_LOG", "debug")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn quorum");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let pipes: Vec<Box<dyn std::io::Read + Send>> = vec![
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for pipe in pipes {
            let (lines, tx) = (lines.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let mut me = Self {
            child,
            lines,
            data,
            base_url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                me.stop();
                panic!("quorum never got ready:\n{}", me.output());
            };
            if let Some((_, url)) = line.split_once(" is running at ") {
                me.base_url = url.trim().to_owned();
            }
            if line.contains("Press Ctrl-C to stop.") {
                break;
            }
        }
        assert!(
            me.base_url.starts_with("http://127.0.0.1:"),
            "{}",
            me.output()
        );
        me
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// SIGTERM (as `docker stop` sends), then waits for a clean exit.
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STEP;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("quorum did not stop on SIGTERM:\n{}", self.output());
    }

    /// Every session the history recorded (read after [`Quorum::stop`]).
    async fn sessions(&self) -> Vec<quorum_server::store::RoomRecord> {
        let store =
            quorum_server::store::Store::open(&self.data.path().join("data/quorum.db")).unwrap();
        store
            .history(quorum_server::store::HistoryQuery {
                room_ids: Vec::new(),
                from: 0,
                limit: 100,
                descending: false,
            })
            .await
            .unwrap()
            .1
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_demo_room_and_no_link_by_default() {
    let mut q = Quorum::start(&[]);
    // It serves: the signed API answers.
    let body = br#"{"room_id":"demo"}"#;
    let res = reqwest::Client::new()
        .post(format!("{}/auth/room/isRoomActive", q.base_url))
        .header("API-KEY", API_KEY)
        .header(
            "HASH-SIGNATURE",
            quorum_server::api::signature::sign(API_SECRET, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["is_active"], false, "{v}");
    q.stop();
    let out = q.output();
    assert!(!out.contains("access_token"), "{out}");
    assert!(!out.contains("Moderator link"), "{out}");
    assert!(!out.contains("Participant link"), "{out}");
    // No JWS anywhere ("eyJ" starts every base64url JSON header).
    assert!(!out.contains("eyJ"), "{out}");
    assert_eq!(q.sessions().await, Vec::new(), "a room was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_links_go_to_stdout_only_and_tokens_never_to_the_log() {
    let mut q = Quorum::start(&[("QUORUM_DEMO_ROOM", "true")]);
    let out = q.output();
    let token_of = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|l| l.split_once("access_token="))
            .map(|(_, t)| t.trim().to_owned())
            .unwrap_or_else(|| panic!("no {prefix} line:\n{out}"))
    };
    let tokens = [token_of("Moderator link:"), token_of("Participant link:")];
    // Use them the way a browser does: the page with the token in its
    // query, then the browser API with it in a header.
    let http = reqwest::Client::new();
    for t in &tokens {
        let _ = http
            .get(format!("{}/?access_token={t}", q.base_url))
            .send()
            .await
            .unwrap();
        let res = http
            .post(format!("{}/api/verifyToken", q.base_url))
            .header("Authorization", format!("Bearer {t}"))
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], true, "{v}");
    }
    q.stop();
    let out = q.output();
    for t in &tokens {
        for line in out.lines().filter(|l| l.contains(t.as_str())) {
            assert!(
                line.starts_with("Moderator link:") || line.starts_with("Participant link:"),
                "a token reached the log: {line}"
            );
        }
    }
    // Nothing else that looks like a JWS either.
    for line in out.lines().filter(|l| l.contains("eyJ")) {
        assert!(
            line.starts_with("Moderator link:") || line.starts_with("Participant link:"),
            "a JWS reached the log: {line}"
        );
    }
    let sessions = q.sessions().await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].room_id, "demo");
}

/// A signed server-API call to the binary; the JSON answer.
async fn api(q: &Quorum, path: &str, body: Value) -> Value {
    let raw = serde_json::to_vec(&body).unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}{path}", q.base_url))
        .header("API-KEY", API_KEY)
        .header(
            "HASH-SIGNATURE",
            quorum_server::api::signature::sign(API_SECRET, &raw),
        )
        .body(raw)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_tokens_never_reach_the_log() {
    let mut q = Quorum::start(&[]);
    let v = api(
        &q,
        "/auth/room/create",
        serde_json::json!({ "room_id": "stats", "metadata": { "room_title": "Stats",
            "room_features": { "enable_analytics": true } } }),
    )
    .await;
    assert_eq!(v["status"], true, "{v}");
    let v = api(
        &q,
        "/auth/room/endRoom",
        serde_json::json!({ "room_id": "stats" }),
    )
    .await;
    assert_eq!(v["status"], true, "{v}");
    let v = api(
        &q,
        "/auth/room/fetchPastRooms",
        serde_json::json!({ "room_ids": ["stats"] }),
    )
    .await;
    let file_id = v["result"]["rooms_list"][0]["analytics_file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = api(
        &q,
        "/auth/analytics/getDownloadToken",
        serde_json::json!({ "file_id": file_id }),
    )
    .await;
    let token = v["token"].as_str().expect("token").to_owned();
    // The token travels in the URL path (plugNmeet's route).
    let res = reqwest::get(format!("{}/download/analytics/{token}", q.base_url))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::get(format!("{}/download/analytics/{token}x", q.base_url))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    q.stop();
    let out = q.output();
    assert!(
        !out.contains(&token[..token.len() - 4]),
        "a download token reached the log:\n{out}"
    );
    assert!(!out.contains("eyJ"), "a JWS reached the log:\n{out}");
}
