//! Integration tests of the server API's edges, against a real server on
//! 127.0.0.1:0 with a real nats-server: the per-key rate limit is charged
//! only after a valid signature (a flood of bogus signatures can't push the
//! integrator into 429), request bodies are exactly one JSON value, and a
//! path under `/auth` that is not an endpoint gets a 404 in the envelope.
//! Run: `cargo test -p quorum-server --test api_limits`.

mod common;

use common::{assert_failure, TestServer, STEP};
use quorum_server::api::signature::sign;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// POSTs `body` to `path` with `headers`; status and JSON answer.
async fn post(
    ts: &TestServer,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
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
    let text = res.text().await.expect("body");
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response ({code}) is not JSON: {e}: {text:?}"));
    (code, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_signatures_do_not_drain_the_keys_bucket() {
    // A small per-key bucket; forwarded addresses trusted so the flood can
    // come from several IPs, each well inside its own per-IP limit.
    let ts = TestServer::start_with(|c| {
        c.trust_forwarded_for = true;
        c.rate_limit.per_key_per_sec = 1;
        c.rate_limit.per_key_burst = 5;
        c.rate_limit.per_ip_per_sec = 100;
        c.rate_limit.per_ip_burst = 200;
    })
    .await;
    let key = ts.api_key();
    let body = br#"{"room_id":"flooded"}"#;

    // The key is public (it is every join token's `iss`): 60 requests with
    // the right key and a wrong signature, from six addresses.
    let bogus = "0".repeat(64);
    for i in 0..60 {
        let ip = format!("203.0.113.{}", i % 6);
        let got = post(
            &ts,
            "/auth/room/isRoomActive",
            body,
            &[
                ("API-KEY", &key),
                ("HASH-SIGNATURE", &bogus),
                ("X-Forwarded-For", &ip),
            ],
        )
        .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    }
    // Wrong keys and missing signatures don't count against it either.
    for _ in 0..10 {
        let got = post(
            &ts,
            "/auth/room/isRoomActive",
            body,
            &[("API-KEY", "guess"), ("X-Forwarded-For", "198.51.100.7")],
        )
        .await;
        assert_eq!(got.0, StatusCode::UNAUTHORIZED, "{}", got.1);
    }

    // The integrator's own signed calls all go through: its whole burst is
    // still there.
    let sig = sign(&ts.api_secret(), body);
    let signed = [
        ("API-KEY", key.as_str()),
        ("HASH-SIGNATURE", sig.as_str()),
        ("X-Forwarded-For", "192.0.2.10"),
    ];
    for i in 0..5 {
        let (code, v) = post(&ts, "/auth/room/isRoomActive", body, &signed).await;
        assert_eq!(code, StatusCode::OK, "signed request {i} refused: {v}");
        assert_eq!(v["status"], true, "{v}");
    }
    // And the per-key limit still holds for signed requests: the burst is
    // spent now (one token a second refills; these take far less).
    let mut limited = false;
    for _ in 0..5 {
        let got = post(&ts, "/auth/room/isRoomActive", body, &signed).await;
        if got.0 == StatusCode::TOO_MANY_REQUESTS {
            assert_failure(&got, StatusCode::TOO_MANY_REQUESTS, "PERMISSION_DENIED");
            limited = true;
            break;
        }
    }
    assert!(limited, "signed requests were never limited per key");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_signatures_are_limited_per_ip() {
    let ts = TestServer::start_with(|c| {
        c.rate_limit.per_ip_per_sec = 1;
        c.rate_limit.per_ip_burst = 3;
    })
    .await;
    let key = ts.api_key();
    let bogus = "0".repeat(64);
    let mut limited = 0;
    for _ in 0..10 {
        let got = post(
            &ts,
            "/auth/room/isRoomActive",
            b"{}",
            &[("API-KEY", &key), ("HASH-SIGNATURE", &bogus)],
        )
        .await;
        if got.0 == StatusCode::TOO_MANY_REQUESTS {
            assert_failure(&got, StatusCode::TOO_MANY_REQUESTS, "PERMISSION_DENIED");
            limited += 1;
        } else {
            assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
        }
    }
    assert!(limited >= 6, "only {limited} of 10 limited");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_is_one_json_value_and_nothing_after_it() {
    let ts = TestServer::start().await;
    ts.create_room("tail").await;
    // Trailing garbage after the value: refused like any malformed body.
    for body in [
        &br#"{"room_id":"tail"} junk"#[..],
        br#"{"room_id":"tail"}{"room_id":"other"}"#,
        br#"{"room_id":"tail"},"#,
    ] {
        let got = ts.signed_post_bytes("/auth/room/isRoomActive", body).await;
        assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
        let msg = got.1["msg"].as_str().unwrap();
        assert!(msg.contains("trailing characters"), "{msg}");
    }
    // Surrounding whitespace is fine.
    for body in [
        &b"{\"room_id\":\"tail\"}\n"[..],
        b"  {\"room_id\":\"tail\"} \r\n\t",
    ] {
        let (code, v) = ts.signed_post_bytes("/auth/room/isRoomActive", body).await;
        assert_eq!(code, StatusCode::OK, "{v}");
        assert_eq!(v["status"], true, "{v}");
        assert_eq!(v["is_active"], true, "{v}");
    }
    // The same for a handler of ours with its own request type.
    let got = ts
        .signed_post_bytes("/auth/analytics/fetch", br#"{"room_ids":[]} x"#)
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_auth_paths_are_a_404_in_the_envelope() {
    let ts = TestServer::start().await;
    for path in [
        "/auth/room/creat",
        "/auth/room/getJoinTokens",
        "/auth/recording/bogus",
        "/auth/analytics/list",
        "/auth/artifact/fetch/extra",
        "/auth/rooms/create",
        "/auth/nothing",
        "/auth",
    ] {
        // Signed or not, the answer is the same: there is no such endpoint.
        for got in [
            ts.signed_post(path, &json!({ "room_id": "x" })).await,
            ts.post_with(path, b"{}", None, None).await,
        ] {
            assert_failure(&got, StatusCode::NOT_FOUND, "NOT_FOUND");
            let msg = got.1["msg"].as_str().unwrap();
            assert!(
                msg.contains(&format!("POST {path}")),
                "{path}: message does not name it: {msg}"
            );
        }
    }
    // plugNmeet's own recording and artifact paths still get the honest
    // placeholder (HTTP 200, NOT_FOUND), after the signature check.
    for path in [
        "/auth/recording/fetch",
        "/auth/recording/info",
        "/auth/recording/recordingInfo",
        "/auth/recording/delete",
        "/auth/recording/getDownloadToken",
        "/auth/artifact/fetch",
        "/auth/artifact/info",
        "/auth/artifact/delete",
        "/auth/artifact/getDownloadToken",
    ] {
        let (code, v) = ts.signed_post(path, &json!({})).await;
        assert_eq!(code, StatusCode::OK, "{path}: {v}");
        assert_eq!(v["status"], false, "{path}: {v}");
        assert_eq!(v["status_code"], "NOT_FOUND", "{path}: {v}");
        let got = ts.post_with(path, b"{}", None, None).await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
    }
    let (_, v) = ts.signed_post("/auth/recording/fetch", &json!({})).await;
    assert_eq!(v["result"]["list"], json!([]), "{v}");
    ts.stop().await;
}
