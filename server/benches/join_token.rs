//! Benchmark: signed `/auth/room/getJoinToken` requests per second through
//! real HTTP, a real embedded nats-server (KV writes) and real SQLite.
//! Run: `cargo bench -p quorum-server --bench join_token`
//! (env `BENCH_REQUESTS`, default 5000, and `BENCH_CONCURRENCY`, default 32).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quorum_server::api::signature::sign;
use quorum_server::config::{Config, NatsConfig, RateLimitConfig};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let requests = env_or("BENCH_REQUESTS", 5000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config {
        data_dir: dir.path().join("data"),
        client_dir: dir.path().join("none"),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        demo_room: false,
        // The bench measures the request path, not the limiter.
        rate_limit: RateLimitConfig {
            per_key_per_sec: 1_000_000,
            per_key_burst: 1_000_000,
            per_ip_per_sec: 1_000_000,
            per_ip_burst: 1_000_000,
        },
        nats: NatsConfig {
            port: 0,
            ws_port: 0,
            ..NatsConfig::default()
        },
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = quorum_server::start(cfg, addr).await.expect("start");
    let (key, secret) = (
        state.secrets.api_key.clone(),
        state.secrets.api_secret.clone(),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(quorum_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let post = |path: &'static str, body: String| {
        let sig = sign(&secret, body.as_bytes());
        http.post(format!("{base}{path}"))
            .header("API-KEY", &key)
            .header("HASH-SIGNATURE", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let created = post(
        "/auth/room/create",
        r#"{"room_id":"bench","metadata":{"room_title":"Bench"}}"#.into(),
    )
    .await
    .expect("create");
    assert!(created.status().is_success());

    // Warm up connections and caches.
    for i in 0..50 {
        let body =
            format!(r#"{{"room_id":"bench","user_info":{{"user_id":"warm{i}","name":"W"}}}}"#);
        post("/auth/room/getJoinToken", body)
            .await
            .expect("warm-up");
    }

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, http, base, key, secret) = (
            next.clone(),
            http.clone(),
            base.clone(),
            key.clone(),
            secret.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    return lat;
                }
                let body = format!(
                    r#"{{"room_id":"bench","user_info":{{"user_id":"user{}","name":"U"}}}}"#,
                    i % 500
                );
                let t = Instant::now();
                let res = http
                    .post(format!("{base}/auth/room/getJoinToken"))
                    .header("API-KEY", &key)
                    .header("HASH-SIGNATURE", sign(&secret, body.as_bytes()))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                assert!(res.status().is_success(), "status {}", res.status());
                let _ = res.bytes().await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut lat: Vec<Duration> = Vec::with_capacity(requests);
    for w in workers {
        lat.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "getJoinToken (signed, HTTP + NATS KV): {requests} requests, concurrency {concurrency}, \
         {:.2} s, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    let _ = tx.send(());
    let _ = server.await;
}
