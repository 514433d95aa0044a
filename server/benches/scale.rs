//! Benchmark: the server at scale, as an operator runs it. Starts the real
//! `quorum` binary (release build, embedded nats-server) and drives it
//! with the signed API and bench-side NATS WebSocket clients, then prints:
//!
//! 1. 1,000 idle rooms: CPU of quorum and nats-server over `BENCH_IDLE_SECS`
//!    (default 30, after `BENCH_SETTLE_SECS`, default 10) as a share of one
//!    core, and JetStream consumers before and after;
//! 2. 100 rooms × 20 connected participants (pinging like browsers do):
//!    the same;
//! 3. 500 participants joining one room with `max_participants` set
//!    (getJoinToken, verifyToken, NATS connect, 32 at a time): total time,
//!    joins/s over the first and the last 50, and how long one chat
//!    message takes to reach all 500.
//!
//! Run: `cargo bench -p quorum-server --bench scale` (after
//! `scripts/setup.sh`, for nats-server).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use quorum_server::api::signature::sign;
use quorum_shared::nats_proto::{encode, ClientOp, ConnectOptions, Decoder, ServerOp};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret-with-enough-entropy-0123456789";
const METRICS: &str = "bench-metrics";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The running `quorum` process; stopped (with its nats-server) on drop.
struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let nats = root.join(".tools/venv/bin/nats-server");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
        cmd.process_group(0)
            .env("QUORUM_DATA_DIR", dir.path())
            .env("QUORUM_LISTEN", format!("127.0.0.1:{port}"))
            .env("QUORUM_CLIENT_DIR", dir.path().join("none"))
            .env("QUORUM_NATS_PORT", "0")
            .env("QUORUM_NATS_WS_PORT", "0")
            .env("QUORUM_API_KEY", KEY)
            .env("QUORUM_API_SECRET", SECRET)
            .env("QUORUM_METRICS_TOKEN", METRICS)
            .env("QUORUM_LOG", "warn")
            .env("QUORUM_RATE_LIMIT_PER_KEY_PER_SEC", "1000000")
            .env("QUORUM_RATE_LIMIT_PER_KEY_BURST", "1000000")
            .env("QUORUM_RATE_LIMIT_PER_IP_PER_SEC", "1000000")
            .env("QUORUM_RATE_LIMIT_PER_IP_BURST", "1000000")
            .stdout(Stdio::null());
        if nats.is_file() {
            cmd.env("QUORUM_NATS_BINARY", &nats);
        }
        let child = cmd.spawn().expect("spawn quorum");
        let me = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = me.http.get(format!("{}/healthz", me.base)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return me;
            }
            assert!(Instant::now() < deadline, "quorum did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn api(&self, path: &str, body: Value) -> Value {
        let raw = body.to_string();
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("API-KEY", KEY)
            .header("HASH-SIGNATURE", sign(SECRET, raw.as_bytes()))
            .header("Content-Type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("api call");
        res.json().await.expect("json")
    }

    async fn token(&self, room: &str, user: &str) -> String {
        let v = self
            .api(
                "/auth/room/getJoinToken",
                json!({ "room_id": room, "user_info": { "user_id": user, "name": user } }),
            )
            .await;
        v["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_owned()
    }

    async fn verify(&self, token: &str) -> Value {
        self.http
            .post(format!("{}/api/verifyToken", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("verify")
            .json()
            .await
            .expect("json")
    }

    /// Our pid and nats-server's.
    fn pids(&self) -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.child.id().to_string()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let mut pids = vec![self.child.id()];
        pids.extend(out.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        pids
    }

    async fn consumers(&self) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("quorum_jetstream_consumers "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    }
}

/// CPU seconds used so far by `pid` (utime + stime).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // After ')': state(0) ppid … utime(11) stime(12); ticks of 1/100 s.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

/// Prints quorum's and nats-server's CPU over `secs` as % of one core,
/// after `BENCH_SETTLE_SECS` (default 10) for the work the setup caused
/// (connect advisories, KV writes) to finish: steady state, not its tail.
async fn idle_cpu(s: &Server, what: &str, secs: u64) {
    tokio::time::sleep(Duration::from_secs(env_or("BENCH_SETTLE_SECS", 10))).await;
    let pids = s.pids();
    let before: Vec<f64> = pids.iter().map(|p| cpu_secs(*p)).collect();
    let c0 = s.consumers().await;
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let el = t.elapsed().as_secs_f64();
    let used: Vec<f64> = pids
        .iter()
        .zip(before)
        .map(|(p, b)| (cpu_secs(*p) - b) / el * 100.0)
        .collect();
    let c1 = s.consumers().await;
    println!(
        "{what}: over {secs} s quorum {:.2} % and nats-server {:.2} % of one core (target < 5 % together: {:.2} %); JetStream consumers {c0} → {c1}",
        used.first().copied().unwrap_or(0.0),
        used.get(1).copied().unwrap_or(0.0),
        used.iter().sum::<f64>()
    );
}

/// A bench-side participant: a NATS WebSocket connection subscribed to its
/// room's chat, answering the server's PINGs, reporting each message's
/// arrival time on `arrivals`.
async fn participant(
    url: &str,
    token: &str,
    room: &str,
    arrivals: mpsc::UnboundedSender<Instant>,
) -> Result<mpsc::UnboundedSender<Vec<u8>>, String> {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    let opts = ConnectOptions {
        auth_token: Some(token.to_owned()),
        ..ConnectOptions::default()
    };
    let mut out = Vec::new();
    let chat = format!("qr.{room}.chat.*");
    for op in [
        ClientOp::Connect(&opts),
        ClientOp::Sub {
            subject: &chat,
            queue_group: None,
            sid: 1,
        },
        ClientOp::Ping,
    ] {
        encode(&op, &mut out).map_err(|e| e.to_string())?;
    }
    sink.send(WsMessage::Binary(out.into()))
        .await
        .map_err(|e| e.to_string())?;
    let mut dec = Decoder::new();
    // Until the PONG: connected (or refused).
    'wait: loop {
        let Some(Ok(m)) = stream.next().await else {
            return Err("closed".into());
        };
        dec.push(&m.into_data());
        while let Ok(Some(op)) = dec.next_op() {
            match op {
                ServerOp::Pong => break 'wait,
                ServerOp::Err(e) => return Err(e),
                _ => {}
            }
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    // Like the browser client: a PING every CLIENT_PING_SECS, first at a
    // random point of the period (browsers don't join in step).
    let period = Duration::from_secs(quorum_shared::limits::CLIENT_PING_SECS);
    let offset = Duration::from_millis(rand::random::<u64>() % period.as_millis() as u64);
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = keepalive.tick() => {
                    let _ = sink.send(WsMessage::Binary(b"PING\r\n".to_vec().into())).await;
                }
                frame = rx.recv() => match frame {
                    Some(b) => { let _ = sink.send(WsMessage::Binary(b.into())).await; }
                    None => return,
                },
                m = stream.next() => {
                    let Some(Ok(m)) = m else { return };
                    dec.push(&m.into_data());
                    while let Ok(Some(op)) = dec.next_op() {
                        match op {
                            ServerOp::Ping => {
                                let _ = sink.send(WsMessage::Binary(b"PONG\r\n".to_vec().into())).await;
                            }
                            ServerOp::Msg(_) => { let _ = arrivals.send(Instant::now()); }
                            _ => {}
                        }
                    }
                }
            }
        }
    });
    Ok(tx)
}

async fn join(
    s: &Server,
    room: &str,
    user: &str,
    arrivals: mpsc::UnboundedSender<Instant>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let token = s.token(room, user).await;
    let v = s.verify(&token).await;
    let url = v["session"]["nats_ws_urls"][0]
        .as_str()
        .unwrap_or_else(|| panic!("verify: {v}"))
        .to_owned();
    participant(&url, &token, room, arrivals)
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"))
}

#[tokio::main]
async fn main() {
    let idle = env_or("BENCH_IDLE_SECS", 30);
    let s = Arc::new(Server::start().await);

    // 1. A thousand idle rooms.
    let t = Instant::now();
    futures::stream::iter(0..1000)
        .for_each_concurrent(16, |i| {
            let s = s.clone();
            async move {
                let v = s
                    .api(
                        "/auth/room/create",
                        json!({ "room_id": format!("idle{i}"), "metadata": { "room_title": "Idle" } }),
                    )
                    .await;
                assert_eq!(v["status"], json!(true), "{v}");
            }
        })
        .await;
    println!("created 1,000 rooms in {:.1} s", t.elapsed().as_secs_f64());
    idle_cpu(&s, "1,000 idle rooms", idle).await;

    // 2. 100 of them with 20 participants each.
    let (sink_tx, _sink_rx) = mpsc::unbounded_channel();
    let t = Instant::now();
    let people: Vec<_> = futures::stream::iter(0..2000)
        .map(|i| {
            let (s, tx) = (s.clone(), sink_tx.clone());
            async move { join(&s, &format!("idle{}", i / 20), &format!("p{}", i % 20), tx).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    println!(
        "connected 100 rooms × 20 participants in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    idle_cpu(&s, "100 rooms × 20 connected participants", idle).await;
    drop(people);

    // 3. 500 joining one room with a cap.
    let v = s
        .api(
            "/auth/room/create",
            json!({ "room_id": "big", "max_participants": 600, "metadata": { "room_title": "Big" } }),
        )
        .await;
    assert_eq!(v["status"], json!(true), "{v}");
    let (arr_tx, mut arr_rx) = mpsc::unbounded_channel();
    let t = Instant::now();
    let mut done: Vec<f64> = Vec::new();
    let mut senders = Vec::new();
    let mut joins = futures::stream::iter(0..500)
        .map(|i| {
            let (s, tx) = (s.clone(), arr_tx.clone());
            async move { (i, join(&s, "big", &format!("u{i}"), tx).await) }
        })
        .buffer_unordered(32);
    let mut u0 = None;
    while let Some((i, tx)) = joins.next().await {
        done.push(t.elapsed().as_secs_f64());
        if i == 0 {
            u0 = Some(tx.clone());
        }
        senders.push(tx);
    }
    let total = t.elapsed().as_secs_f64();
    let rate = |a: usize, b: usize| 50.0 / (done[b] - done[a]).max(1e-9);
    let (first, last) = (rate(0, 49), rate(449, 499));
    println!(
        "500 joins into one room (max_participants 600): {total:.2} s (target < 5 s); joins/s first 50: {first:.0}, last 50: {last:.0} (ratio {:.2}, target ≥ 0.8)",
        last / first
    );
    // One message to all 500 (each also gets its own echo: count 500).
    while arr_rx.try_recv().is_ok() {}
    let mut frame = Vec::new();
    encode(
        &ClientOp::Pub {
            subject: "qr.big.chat.u0",
            reply_to: None,
            payload: b"hello everyone",
        },
        &mut frame,
    )
    .expect("encode");
    let sent = Instant::now();
    u0.expect("u0 joined").send(frame).expect("send");
    let mut last_arrival = sent;
    for n in 0..500 {
        match tokio::time::timeout(Duration::from_secs(10), arr_rx.recv()).await {
            Ok(Some(at)) => last_arrival = at,
            _ => {
                println!("only {n} of 500 got the message");
                break;
            }
        }
    }
    println!(
        "one chat message reached all 500 in {:.1} ms (target < 100 ms)",
        last_arrival.duration_since(sent).as_secs_f64() * 1000.0
    );
}
