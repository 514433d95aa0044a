//! Integration tests of the server's abuse resistance, against a real server
//! on 127.0.0.1:0 with a real nats-server: rate limits per API key and per
//! client IP (429 with the envelope and `Retry-After`), `X-Forwarded-For`
//! trusted only when configured, oversize bodies (413 with the envelope),
//! and replay protection with the optional `HASH-TIMESTAMP` header.
//! Run: `cargo test -p quorum-server --test abuse`.

mod common;

use std::time::Duration;

use common::{assert_failure, now, TestServer, STEP};
use quorum_server::api::signature::{sign, sign_with_timestamp};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Status, JSON body and headers of one response.
struct Reply {
    code: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Reply {
    fn pair(&self) -> (StatusCode, Value) {
        (self.code, self.body.clone())
    }

    fn is_limited(&self) -> bool {
        self.code == StatusCode::TOO_MANY_REQUESTS
    }

    /// Asserts the 429 envelope and returns `Retry-After` in seconds.
    #[track_caller]
    fn assert_limited(&self) -> u64 {
        assert_failure(
            &self.pair(),
            StatusCode::TOO_MANY_REQUESTS,
            "PERMISSION_DENIED",
        );
        let msg = self.body["msg"].as_str().unwrap();
        assert!(msg.starts_with("too many requests, retry in "), "{msg}");
        let secs: u64 = self
            .headers
            .get(RETRY_AFTER)
            .expect("Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=5).contains(&secs), "Retry-After {secs}");
        assert!(msg.contains(&format!("retry in {secs} s")), "{msg}");
        secs
    }
}

/// POSTs `body` to `path` with extra `headers`.
async fn post(ts: &TestServer, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", ts.base_url))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = tokio::time::timeout(STEP, req.send())
        .await
        .expect("request timed out")
        .expect("request");
    let code = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("response body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response ({code}) is not JSON: {e}: {text:?}"));
    Reply {
        code,
        body,
        headers,
    }
}

/// A signed (no timestamp) POST with the right key.
async fn signed(ts: &TestServer, path: &str, body: &[u8]) -> Reply {
    let sig = sign(&ts.api_secret(), body);
    let key = ts.api_key();
    post(
        ts,
        path,
        body,
        &[("API-KEY", &key), ("HASH-SIGNATURE", &sig)],
    )
    .await
}

/// A POST with `HASH-TIMESTAMP: ts_header` and the given signature.
async fn timestamped(ts: &TestServer, body: &[u8], ts_header: &str, sig: &str) -> Reply {
    let key = ts.api_key();
    post(
        ts,
        "/auth/room/create",
        body,
        &[
            ("API-KEY", &key),
            ("HASH-SIGNATURE", sig),
            ("HASH-TIMESTAMP", ts_header),
        ],
    )
    .await
}

fn create_body(room_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "room_id": room_id, "metadata": { "room_title": "Abuse" } }))
        .unwrap()
}

/// `/api/verifyToken` with a token that is not one: 401 unless limited.
async fn verify_bogus(ts: &TestServer, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("Authorization", "Bearer not-a-token")];
    headers.extend_from_slice(extra);
    post(ts, "/api/verifyToken", b"", &headers).await
}

#[track_caller]
fn assert_ok(r: &Reply) {
    assert_eq!(r.code, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], true, "{}", r.body);
}

/// Tiny limits: at most `burst` at once, one more per second.
fn tiny_ip_limit(cfg: &mut quorum_server::config::Config) {
    cfg.rate_limit.per_ip_per_sec = 1;
    cfg.rate_limit.per_ip_burst = 3;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_limit_answers_429_then_recovers() {
    let ts = TestServer::start_with(|c| {
        c.rate_limit.per_key_per_sec = 1;
        c.rate_limit.per_key_burst = 3;
    })
    .await;
    let body = create_body("keyed");

    let mut replies = Vec::new();
    for _ in 0..10 {
        replies.push(signed(&ts, "/auth/room/create", &body).await);
    }
    // The burst passes; the rest (10 requests take far less than 7 s) is
    // refused with the envelope and Retry-After.
    for r in &replies[..3] {
        assert_ok(r);
    }
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.is_limited()).collect();
    assert!(!limited.is_empty(), "no request was limited");
    let mut wait = 1;
    for r in &limited {
        wait = r.assert_limited();
    }
    for r in replies.iter().filter(|r| !r.is_limited()) {
        assert_ok(r);
    }

    // Another API-KEY value has its own bucket: a guesser does not drain
    // the integrator's, and gets the usual 401.
    let sig = sign(&ts.api_secret(), &body);
    let wrong = post(
        &ts,
        "/auth/room/create",
        &body,
        &[("API-KEY", "guess"), ("HASH-SIGNATURE", &sig)],
    )
    .await;
    assert_failure(&wrong.pair(), StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    // The browser API is not limited per key.
    let v = verify_bogus(&ts, &[]).await;
    assert_failure(
        &v.pair(),
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );

    // After Retry-After the key works again. (A real wait for the bucket
    // to refill, followed by a positive check, not a wait for silence.)
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    assert_ok(&signed(&ts, "/auth/room/create", &body).await);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_limit_on_verify_token() {
    let ts = TestServer::start_with(tiny_ip_limit).await;

    let mut replies = Vec::new();
    for _ in 0..10 {
        replies.push(verify_bogus(&ts, &[]).await);
    }
    for r in &replies[..3] {
        assert_failure(
            &r.pair(),
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN_OR_SIGNATURE",
        );
    }
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.is_limited()).collect();
    assert!(!limited.is_empty(), "no request was limited");
    for r in &limited {
        r.assert_limited();
    }

    // The server API from the same IP is limited too (the bucket is empty;
    // it refills one token a second).
    let mut wait = None;
    for _ in 0..10 {
        let r = signed(&ts, "/auth/room/create", &create_body("ip")).await;
        if r.is_limited() {
            wait = Some(r.assert_limited());
            break;
        }
    }
    let wait = wait.expect("the server API was not limited per IP");

    // Health checks and static files are never limited.
    for _ in 0..5 {
        assert_eq!(ts.get("/healthz").await.status(), StatusCode::OK);
        assert_ne!(ts.get("/").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    // A real wait for the bucket to refill, followed by a positive check,
    // not a wait for silence.
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let again = verify_bogus(&ts, &[]).await;
    assert_failure(
        &again.pair(),
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_by_default() {
    let ts = TestServer::start_with(tiny_ip_limit).await;
    let mut limited = 0;
    for i in 0..10 {
        let xff = format!("203.0.113.{i}");
        let r = verify_bogus(&ts, &[("X-Forwarded-For", &xff), ("X-Real-IP", &xff)]).await;
        if r.is_limited() {
            r.assert_limited();
            limited += 1;
        }
    }
    assert!(limited > 0, "claimed addresses escaped the per-IP limit");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_honoured_when_trusted() {
    let ts = TestServer::start_with(|c| {
        tiny_ip_limit(c);
        c.trust_forwarded_for = true;
    })
    .await;

    // Each forwarded address has its own bucket.
    for i in 0..10 {
        let xff = format!("203.0.113.{i}");
        let r = verify_bogus(&ts, &[("X-Forwarded-For", &xff)]).await;
        assert!(!r.is_limited(), "{xff} limited: {}", r.body);
    }
    // X-Real-IP is used when there is no X-Forwarded-For.
    for i in 0..10 {
        let ip = format!("198.51.100.{i}");
        let r = verify_bogus(&ts, &[("X-Real-IP", &ip)]).await;
        assert!(!r.is_limited(), "{ip} limited: {}", r.body);
    }
    // One forwarded address is still limited...
    let mut limited = 0;
    for _ in 0..10 {
        let r = verify_bogus(&ts, &[("X-Forwarded-For", "192.0.2.1")]).await;
        if r.is_limited() {
            r.assert_limited();
            limited += 1;
        }
    }
    assert!(limited > 0, "a single forwarded address was not limited");
    // ...and only the rightmost entry (our proxy's) counts: what the client
    // put to its left does not open new buckets.
    let mut limited = 0;
    for i in 0..10 {
        let xff = format!("10.9.8.{i}, 192.0.2.2");
        let r = verify_bogus(&ts, &[("X-Forwarded-For", &xff)]).await;
        if r.is_limited() {
            limited += 1;
        }
    }
    assert!(limited > 0, "spoofed left-hand entries escaped the limit");
    ts.stop().await;
}

/// A chunked POST (no Content-Length) over a raw connection; returns the
/// status and the JSON body.
async fn chunked_post(
    ts: &TestServer,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let addr = ts.base_url.trim_start_matches("http://");
    let mut s = tokio::time::timeout(STEP, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut raw = req.into_bytes();
    for chunk in body.chunks(256) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&raw).await.expect("write request");
    // The server may close before reading everything; keep what arrived.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(STEP, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("response timed out"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let (head, rest) = text.split_once("\r\n\r\n").expect("response head");
    let code: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let v = serde_json::from_str(rest)
        .unwrap_or_else(|e| panic!("response ({code}) is not JSON: {e}: {text:?}"));
    (StatusCode::from_u16(code).unwrap(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_get_413_envelope() {
    let ts = TestServer::start_with(|c| c.max_body_bytes = 1024).await;
    let big = serde_json::to_vec(&json!({
        "room_id": "big",
        "metadata": { "room_title": "x".repeat(2000) }
    }))
    .unwrap();
    let check = |got: &(StatusCode, Value)| {
        assert_failure(got, StatusCode::PAYLOAD_TOO_LARGE, "INVALID_PARAMETERS");
        assert_eq!(
            got.1["msg"], "request body too large (limit 1024 bytes)",
            "{}",
            got.1
        );
    };

    // Declared length, on the signed API and on the browser API (whose
    // handler never reads the body).
    check(&signed(&ts, "/auth/room/create", &big).await.pair());
    check(
        &post(
            &ts,
            "/api/verifyToken",
            &big,
            &[("Authorization", "Bearer x")],
        )
        .await
        .pair(),
    );
    // Even unsigned: the size is checked before anything else.
    check(&post(&ts, "/auth/room/create", &big, &[]).await.pair());

    // No declared length: the signed extractor's limit answers the same.
    let sig = sign(&ts.api_secret(), &big);
    let key = ts.api_key();
    check(
        &chunked_post(
            &ts,
            "/auth/room/create",
            &big,
            &[("API-KEY", &key), ("HASH-SIGNATURE", &sig)],
        )
        .await,
    );
    // A chunked body within the limit still works.
    let small = create_body("small");
    let sig = sign(&ts.api_secret(), &small);
    let (code, v) = chunked_post(
        &ts,
        "/auth/room/create",
        &small,
        &[("API-KEY", &key), ("HASH-SIGNATURE", &sig)],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_timestamp_protects_against_replay() {
    let ts = TestServer::start().await;
    let secret = ts.api_secret();
    let body = create_body("stamped");

    // Valid: signed over ts || body.
    let t = now();
    let sig = sign_with_timestamp(&secret, t, &body);
    assert_ok(&timestamped(&ts, &body, &t.to_string(), &sig).await);

    // The exact same request again is a replay.
    let again = timestamped(&ts, &body, &t.to_string(), &sig).await;
    assert_failure(
        &again.pair(),
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    assert_eq!(again.body["msg"], "replayed request", "{}", again.body);

    // Re-signed with a new timestamp, the same body is fine.
    let t2 = t + 1;
    let sig2 = sign_with_timestamp(&secret, t2, &body);
    assert_ok(&timestamped(&ts, &body, &t2.to_string(), &sig2).await);

    // Stale and future timestamps, correctly signed.
    for (stamp, word) in [(now() - 600, "too old"), (now() + 600, "future")] {
        let sig = sign_with_timestamp(&secret, stamp, &body);
        let r = timestamped(&ts, &body, &stamp.to_string(), &sig).await;
        assert_failure(
            &r.pair(),
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN_OR_SIGNATURE",
        );
        let msg = r.body["msg"].as_str().unwrap();
        assert!(
            msg.contains("HASH-TIMESTAMP") && msg.contains(word),
            "{msg}"
        );
    }

    // A timestamp sent with a signature of the body alone.
    let t3 = now();
    let r = timestamped(&ts, &body, &t3.to_string(), &sign(&secret, &body)).await;
    assert_failure(
        &r.pair(),
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    assert_eq!(r.body["msg"], "invalid signature", "{}", r.body);

    // A malformed timestamp, "signed" as if it were one.
    let bad = "soon";
    let sig = sign(&secret, &[bad.as_bytes(), &body].concat());
    let r = timestamped(&ts, &body, bad, &sig).await;
    assert_failure(
        &r.pair(),
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    assert!(
        r.body["msg"].as_str().unwrap().contains("HASH-TIMESTAMP"),
        "{}",
        r.body
    );

    // Without the header (plugNmeet's SDKs) nothing changes, replays
    // included: that is what the header is for.
    assert_ok(&signed(&ts, "/auth/room/create", &body).await);
    assert_ok(&signed(&ts, "/auth/room/create", &body).await);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_timestamp_can_be_required() {
    let ts = TestServer::start_with(|c| c.require_signature_timestamp = true).await;
    let body = create_body("required");

    let r = signed(&ts, "/auth/room/create", &body).await;
    assert_failure(
        &r.pair(),
        StatusCode::UNAUTHORIZED,
        "MISSING_REQUIRED_PARAMETER",
    );
    assert!(
        r.body["msg"].as_str().unwrap().contains("HASH-TIMESTAMP"),
        "{}",
        r.body
    );

    let t = now();
    let sig = sign_with_timestamp(&ts.api_secret(), t, &body);
    assert_ok(&timestamped(&ts, &body, &t.to_string(), &sig).await);
    ts.stop().await;
}
