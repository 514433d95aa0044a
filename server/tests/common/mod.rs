//! Shared setup for the server's integration tests: a [`TestServer`] running
//! the real library (`start` + `serve`) on 127.0.0.1:0 with a real embedded
//! nats-server and a real SQLite database in a temporary directory.
//!
//! Tests using [`TestServer`] must run on the multi-threaded runtime
//! (`#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`) so that
//! dropping a server (also when a test panics) can wait for nats-server to
//! stop instead of leaking it.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub(crate) use quorum_e2e::raw_nats;

use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use quorum_server::config::{Config, NatsConfig};
use quorum_server::AppState;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::token::JoinClaims;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use raw_nats::RawNats;

/// How long any single step may take; generous because the machine may be
/// busy with other builds.
pub(crate) const STEP: Duration = Duration::from_secs(20);

/// A running server plus its embedded nats-server, stopped on [`stop`] or
/// on drop.
///
/// [`stop`]: TestServer::stop
pub(crate) struct TestServer {
    /// `http://127.0.0.1:{port}`.
    pub(crate) base_url: String,
    /// The server's state (secrets, store, rooms, NATS links).
    pub(crate) state: AppState,
    /// `nats://127.0.0.1:{port}`: the embedded server's client port.
    pub(crate) nats_url: String,
    /// `ws://127.0.0.1:{port}`: the WebSocket URL browsers are given.
    pub(crate) ws_url: String,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    // Declared last: removed only after the server has stopped.
    _dir: tempfile::TempDir,
}

fn init_tracing() {
    // Quiet unless RUST_LOG is set, e.g. RUST_LOG=quorum_server=debug.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

impl TestServer {
    /// A server with the default test configuration.
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `tweak` may adjust first.
    pub(crate) async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Config {
            data_dir: dir.path().join("data"),
            client_dir: dir.path().join("no-client-built"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_room: false,
            nats: NatsConfig {
                port: 0,
                ws_port: 0,
                ..NatsConfig::default()
            },
            ..Config::default()
        };
        tweak(&mut cfg);

        let listener = TcpListener::bind(cfg.listen).await.expect("bind http");
        let addr = listener.local_addr().expect("local addr");
        let state = tokio::time::timeout(STEP, quorum_server::start(cfg, addr))
            .await
            .expect("server start timed out")
            .expect("server start");
        let nats_url = state
            .nats
            .embedded
            .as_ref()
            .map_or_else(|| state.config.nats.url.clone(), |e| e.client_url.clone());
        let ws_url = state.nats.ws_urls[0].clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(quorum_server::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Self {
            base_url: format!("http://{addr}"),
            state,
            nats_url,
            ws_url,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// The API key the server expects.
    pub(crate) fn api_key(&self) -> String {
        self.state.secrets.api_key.clone()
    }

    /// The API secret: the HMAC key of the server API. Join tokens are
    /// signed with a key derived from it (see [`craft_token`]).
    pub(crate) fn api_secret(&self) -> String {
        self.state.secrets.api_secret.clone()
    }

    /// Stops the HTTP server and nats-server and waits for both.
    pub(crate) async fn stop(mut self) {
        if let Err(e) = self.stop_inner().await {
            panic!("{e}");
        }
    }

    async fn stop_inner(&mut self) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STEP, task).await {
            Ok(Ok(res)) => res.map_err(|e| format!("serve returned an error: {e}")),
            Ok(Err(e)) => Err(format!("serve task failed: {e}")),
            Err(_) => {
                // serve() did not finish (a client kept a connection
                // open); stop nats-server ourselves.
                self.state.nats.shutdown().await;
                Err("serve did not stop in time".into())
            }
        }
    }

    /// POSTs `body` with the given (possibly absent or wrong) credentials.
    pub(crate) async fn post_with(
        &self,
        path: &str,
        body: &[u8],
        api_key: Option<&str>,
        signature: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(k) = api_key {
            req = req.header("API-KEY", k);
        }
        if let Some(s) = signature {
            req = req.header("HASH-SIGNATURE", s);
        }
        let res = tokio::time::timeout(STEP, req.send())
            .await
            .expect("request timed out")
            .expect("request");
        read_json(res).await
    }

    /// POSTs raw `body` signed correctly.
    pub(crate) async fn signed_post_bytes(&self, path: &str, body: &[u8]) -> (StatusCode, Value) {
        let sig = quorum_server::api::signature::sign(&self.api_secret(), body);
        self.post_with(path, body, Some(&self.api_key()), Some(&sig))
            .await
    }

    /// POSTs `body` as JSON, signed correctly.
    pub(crate) async fn signed_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let bytes = serde_json::to_vec(body).expect("json");
        self.signed_post_bytes(path, &bytes).await
    }

    /// Creates (or finds running) room `room_id`; returns its session id.
    pub(crate) async fn create_room(&self, room_id: &str) -> String {
        let (code, v) = self
            .signed_post(
                "/auth/room/create",
                &json!({ "room_id": room_id, "metadata": { "room_title": format!("Room {room_id}") } }),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        assert_eq!(v["status"], true, "{v}");
        v["room_info"]["sid"]
            .as_str()
            .expect("room_info.sid")
            .to_owned()
    }

    /// Issues a join token for `user_id` in an existing room.
    pub(crate) async fn join_token(&self, room_id: &str, user_id: &str, is_admin: bool) -> String {
        let (code, v) = self
            .signed_post(
                "/auth/room/getJoinToken",
                &json!({
                    "room_id": room_id,
                    "user_info": { "name": format!("User {user_id}"), "user_id": user_id, "is_admin": is_admin }
                }),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        assert_eq!(v["status"], true, "{v}");
        v["token"].as_str().expect("token").to_owned()
    }

    /// Creates the room (if needed) and issues a participant token.
    pub(crate) async fn room_and_token(&self, room_id: &str, user_id: &str) -> String {
        self.create_room(room_id).await;
        self.join_token(room_id, user_id, false).await
    }

    /// `POST /api/verifyToken` with `authorization` as the header value
    /// (`None`: no header).
    pub(crate) async fn verify_raw(&self, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}/api/verifyToken", self.base_url));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        let res = tokio::time::timeout(STEP, req.send())
            .await
            .expect("request timed out")
            .expect("request");
        read_json(res).await
    }

    /// `POST /api/verifyToken` with `Authorization: Bearer {token}`.
    pub(crate) async fn verify(&self, token: &str) -> (StatusCode, Value) {
        self.verify_raw(Some(&format!("Bearer {token}"))).await
    }

    /// `POST /api/renewToken` with `Authorization: Bearer {token}`.
    pub(crate) async fn renew(&self, token: &str) -> (StatusCode, Value) {
        let req = self
            .http
            .post(format!("{}/api/renewToken", self.base_url))
            .header("Authorization", format!("Bearer {token}"));
        let res = tokio::time::timeout(STEP, req.send())
            .await
            .expect("request timed out")
            .expect("request");
        read_json(res).await
    }

    /// GET `path`, returning the whole response.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        tokio::time::timeout(
            STEP,
            self.http.get(format!("{}{path}", self.base_url)).send(),
        )
        .await
        .expect("request timed out")
        .expect("request")
    }

    /// POST `body` to `path` with `authorization` as the header value;
    /// the status.
    pub(crate) async fn http_post(
        &self,
        path: &str,
        body: &str,
        authorization: &str,
    ) -> StatusCode {
        let req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("Authorization", authorization)
            .body(body.to_owned());
        tokio::time::timeout(STEP, req.send())
            .await
            .expect("request timed out")
            .expect("request")
            .status()
    }

    /// A raw NATS connection over TCP authenticated by `token`.
    pub(crate) async fn nats_connect(&self, token: Option<&str>) -> Result<RawNats, String> {
        RawNats::connect(&self.nats_url, token).await
    }

    /// A raw NATS connection over the browser WebSocket port.
    pub(crate) async fn ws_connect(&self, token: Option<&str>) -> Result<RawNats, String> {
        RawNats::connect(&self.ws_url, token).await
    }

    /// A join token signed by us, not the server: any claims, under the
    /// join-token key derived from `secret` (an API secret, ours or not).
    pub(crate) fn craft_token(
        &self,
        secret: &str,
        room_id: &str,
        user_id: &str,
        nbf: u64,
        exp: u64,
    ) -> String {
        craft_token(&self.api_key(), secret, room_id, user_id, nbf, exp)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.task.is_none() {
            return;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Wait for nats-server to stop when the runtime allows blocking;
        // otherwise the child is killed when its handle drops with the
        // runtime (it is spawned with kill_on_drop).
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                // Never panic here: this may run while a test unwinds.
                if let Err(e) = tokio::task::block_in_place(|| handle.block_on(self.stop_inner())) {
                    eprintln!("TestServer drop: {e}");
                }
            }
        }
    }
}

async fn read_json(res: reqwest::Response) -> (StatusCode, Value) {
    let code = res.status();
    let text = res.text().await.expect("response body");
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response ({code}) is not JSON: {e}: {text:?}"));
    (code, v)
}

/// Current unix time in seconds.
pub(crate) fn now() -> u64 {
    quorum_server::tokens::now_secs()
}

/// Signs a join token with plugNmeet's claims the way the server does:
/// under the join-token key it derives from the API secret `secret`
/// (`quorum_server::tokens::join_token_key`).
pub(crate) fn craft_token(
    api_key: &str,
    secret: &str,
    room_id: &str,
    user_id: &str,
    nbf: u64,
    exp: u64,
) -> String {
    let key = quorum_server::tokens::join_token_key(secret);
    craft_token_with_key(api_key, &key, room_id, user_id, nbf, exp)
}

/// Signs a join token with plugNmeet's claims under the raw HS256 `key`.
pub(crate) fn craft_token_with_key(
    api_key: &str,
    key: &[u8],
    room_id: &str,
    user_id: &str,
    nbf: u64,
    exp: u64,
) -> String {
    let claims = JoinClaims {
        iss: api_key.to_owned(),
        sub: user_id.to_owned(),
        nbf,
        exp,
        name: format!("User {user_id}"),
        user_id: UserId::parse(user_id).expect("user id"),
        room_id: RoomId::parse(room_id).expect("room id"),
        is_admin: false,
        is_hidden: false,
        sid: String::new(),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign token")
}

/// `token` with its claims rewritten by `edit` but the original signature
/// kept: what an attacker who wants another identity would send.
pub(crate) fn tamper_claims(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWS: {token}");
    let mut claims: Value =
        serde_json::from_slice(&B64.decode(parts[1]).expect("base64 claims")).expect("claims");
    edit(&mut claims);
    let payload = B64.encode(serde_json::to_vec(&claims).expect("json"));
    assert_ne!(payload, parts[1], "the edit changed nothing");
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Asserts a failure envelope: HTTP status, `status:false` and the code.
#[track_caller]
pub(crate) fn assert_failure(got: &(StatusCode, Value), http: StatusCode, code: &str) {
    let (status, v) = got;
    assert_eq!(*status, http, "{v}");
    assert_eq!(v["status"], false, "{v}");
    assert_eq!(v["status_code"], code, "{v}");
    assert!(v["msg"].is_string(), "{v}");
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
pub(crate) async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- Helpers for the room API and life-cycle tests (additive) ----

/// A room id known to be valid.
pub(crate) fn rid(s: &str) -> RoomId {
    RoomId::parse(s).expect("room id")
}

/// A user id known to be valid.
pub(crate) fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("user id")
}

/// The keys of a JSON object, sorted.
#[track_caller]
pub(crate) fn keys_of(v: &Value) -> Vec<String> {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {v}"));
    let mut k: Vec<String> = obj.keys().cloned().collect();
    k.sort();
    k
}

/// Asserts that `v` is an object with exactly the keys `expected`.
#[track_caller]
pub(crate) fn assert_keys(v: &Value, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(keys_of(v), want, "key set of {v}");
}

/// The claims of a compact JWS, decoded without verifying the signature.
pub(crate) fn token_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWS payload");
    serde_json::from_slice(&B64.decode(payload).expect("base64 claims")).expect("claims JSON")
}

/// A `session_ended` event with `reason`, as participants receive it.
pub(crate) fn session_ended(reason: &str) -> Value {
    json!({ "type": "session_ended", "reason": reason })
}

impl TestServer {
    /// The data directory in force (secrets, SQLite, JetStream, analytics).
    pub(crate) fn data_dir(&self) -> std::path::PathBuf {
        self.state.config.data_dir.clone()
    }

    /// POSTs `body` as JSON, signed, returning the raw response text (to
    /// search it for things that must never appear).
    pub(crate) async fn signed_post_text(&self, path: &str, body: &Value) -> (StatusCode, String) {
        let bytes = serde_json::to_vec(body).expect("json");
        let sig = quorum_server::api::signature::sign(&self.api_secret(), &bytes);
        let res = tokio::time::timeout(
            STEP,
            self.http
                .post(format!("{}{path}", self.base_url))
                .header("content-type", "application/json")
                .header("API-KEY", self.api_key())
                .header("HASH-SIGNATURE", sig)
                .body(bytes)
                .send(),
        )
        .await
        .expect("request timed out")
        .expect("request");
        let code = res.status();
        (code, res.text().await.expect("response body"))
    }

    /// Settings for a second server instance that uses this server's
    /// nats-server in external mode (same service and system users).
    pub(crate) fn external_nats_config(&self) -> NatsConfig {
        use quorum_server::nats::embedded::{SERVICE_USER, SYSTEM_USER};
        NatsConfig {
            mode: quorum_server::config::NatsMode::External,
            url: self.nats_url.clone(),
            user: SERVICE_USER.into(),
            password: self.state.secrets.service_password.clone(),
            sys_user: SYSTEM_USER.into(),
            sys_password: self.state.secrets.system_password.clone(),
            ws_public_urls: vec![self.ws_url.clone()],
            ..NatsConfig::default()
        }
    }

    /// Subscribes the server's own NATS connection to `subject` (no
    /// participant involved, so room presence is untouched).
    pub(crate) async fn service_subscribe(&self, subject: String) -> async_nats::Subscriber {
        let sub = self
            .state
            .nats
            .client
            .subscribe(subject)
            .await
            .expect("service subscribe");
        self.state.nats.client.flush().await.expect("flush");
        sub
    }
}

/// The next message on `conn` as JSON with its subject, `None` when nothing
/// arrives within `timeout`.
/// The next JSON message within `timeout`, skipping presence events (which
/// every join and leave publishes to the room and most tests don't watch).
pub(crate) async fn next_json(conn: &mut RawNats, timeout: Duration) -> Option<(String, Value)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let m = conn.next_msg(left).await.expect("connection")?;
        let v: Value = serde_json::from_slice(&m.payload)
            .unwrap_or_else(|e| panic!("payload on {} is not JSON: {e}", m.subject));
        if v["type"] != "presence" {
            return Some((m.subject, v));
        }
    }
}

// ---- Positive signals instead of waiting for silence (additive) ----

/// The marker event [`TestServer::publish_marker`] sends.
pub(crate) fn marker(name: &str) -> Value {
    json!({ "type": "test_marker", "marker": name })
}

impl TestServer {
    /// Publishes [`marker`]`(name)` on `subject` from the server's own NATS
    /// connection and flushes it. Everything the server published earlier
    /// (on the same connection: timers, callout, worker, API) reaches each
    /// subscriber first, so "the next event is the marker" proves that
    /// nothing else was published before it.
    pub(crate) async fn publish_marker(&self, subject: &str, name: &str) {
        let client = &self.state.nats.client;
        client
            .publish(subject.to_owned(), marker(name).to_string().into())
            .await
            .expect("publish marker");
        client.flush().await.expect("flush marker");
    }

    /// Runs one pass of the room timers here and now (what the background
    /// timer runs every `lifecycle_tick_ms`): when it returns, whatever that
    /// pass would end, announce or count has been done.
    pub(crate) async fn timer_pass(&self) {
        self.state.rooms.run_due().await;
    }

    /// The JSON events (presence left out) that reached `conn` from
    /// everything published so far, whoever published it: the server's own
    /// connection is flushed first (its earlier publishes, e.g. a broadcast
    /// the API already answered, have reached nats-server), then `conn` is
    /// drained (see [`RawNats::drain`]). Panics if `conn` is gone.
    pub(crate) async fn settled_events(&self, conn: &mut RawNats) -> Vec<(String, Value)> {
        self.state.nats.client.flush().await.expect("flush");
        conn.drain()
            .await
            .unwrap_or_else(|e| panic!("connection gone: {e}"))
            .into_iter()
            .map(|m| {
                let v: Value = serde_json::from_slice(&m.payload)
                    .unwrap_or_else(|e| panic!("payload on {} is not JSON: {e}", m.subject));
                (m.subject, v)
            })
            .filter(|(_, v)| v["type"] != "presence")
            .collect()
    }
}

// ---- Helpers for the real-time tests: worker requests, kicks, presence
// (additive) ----

impl TestServer {
    /// Creates room `room_id` with `metadata` (a plugNmeet metadata object);
    /// returns its session id.
    pub(crate) async fn create_room_with(&self, room_id: &str, metadata: Value) -> String {
        let (code, v) = self
            .signed_post(
                "/auth/room/create",
                &json!({ "room_id": room_id, "metadata": metadata }),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        assert_eq!(v["status"], true, "{v}");
        v["room_info"]["sid"]
            .as_str()
            .expect("room_info.sid")
            .to_owned()
    }

    /// The participant as stored in KV.
    pub(crate) async fn participant(
        &self,
        room: &str,
        user: &str,
    ) -> Option<quorum_server::rooms::ParticipantState> {
        self.state
            .rooms
            .kv
            .participant(&rid(room), &uid(user))
            .await
            .expect("participant lookup")
    }

    /// Waits until `user`'s presence in KV is `want`; false on timeout.
    pub(crate) async fn wait_presence(
        &self,
        room: &str,
        user: &str,
        want: quorum_server::rooms::Presence,
    ) -> bool {
        eventually(STEP, || async {
            self.participant(room, user)
                .await
                .is_some_and(|p| p.presence == want)
        })
        .await
    }

    /// Waits until the server has handled the connect advisory of `user`'s
    /// current connection (recorded nats-server's client id and checked
    /// the connection against the participant), i.e. until it can kick
    /// that connection and nothing about it is still in flight.
    pub(crate) async fn wait_kickable(&self, room: &str, user: &str) {
        let ok = eventually(STEP, || async {
            let Some(conn) = self.participant(room, user).await.and_then(|p| p.conn) else {
                return false;
            };
            self.state.rooms.connect_checked(&conn)
        })
        .await;
        assert!(ok, "{room}/{user}: connection never recorded for kicks");
    }
}

/// Sends `req` as `user` on `qr.{room}.worker.{user}` and decodes the reply.
/// `Err` carries nats-server's refusal (or a missing reply).
pub(crate) async fn worker_request(
    conn: &mut RawNats,
    room: &str,
    user: &str,
    req: &quorum_shared::worker::WorkerRequest,
) -> Result<quorum_shared::worker::WorkerReply, String> {
    let body = serde_json::to_vec(req).expect("request JSON");
    let m = conn
        .request(&format!("qr.{room}.worker.{user}"), &body, STEP)
        .await?;
    Ok(serde_json::from_slice(&m.payload)
        .unwrap_or_else(|e| panic!("reply is not a WorkerReply: {e}: {:?}", m.payload)))
}

/// The next message on `conn` as JSON (presence events included).
pub(crate) async fn next_json_raw(
    conn: &mut RawNats,
    timeout: Duration,
) -> Option<(String, Value)> {
    let m = conn.next_msg(timeout).await.expect("connection")?;
    let v: Value = serde_json::from_slice(&m.payload)
        .unwrap_or_else(|e| panic!("payload on {} is not JSON: {e}", m.subject));
    Some((m.subject, v))
}

/// A raw NATS connection with `token`; panics (naming `who`) if refused.
pub(crate) async fn connect(ts: &TestServer, token: &str, who: &str) -> RawNats {
    ts.nats_connect(Some(token))
        .await
        .unwrap_or_else(|e| panic!("{who} connects: {e}"))
}

/// Sends `req` as `user` and expects a reply (not a NATS refusal).
pub(crate) async fn ask(
    conn: &mut RawNats,
    room: &str,
    user: &str,
    req: quorum_shared::worker::WorkerRequest,
) -> quorum_shared::worker::WorkerReply {
    worker_request(conn, room, user, &req)
        .await
        .unwrap_or_else(|e| panic!("{user}: {req:?}: {e}"))
}
