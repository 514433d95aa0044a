//! Integration tests of the browser API (`/api/verifyToken`, `/api/renewToken`), presence from
//! real NATS connections, security headers and `/healthz`, against a real
//! server with a real nats-server. Run: `cargo test -p quorum-server --test verify_token`.

mod common;

use std::time::Duration;

use common::{assert_failure, eventually, now, tamper_claims, TestServer};
use quorum_server::rooms::Presence;
use quorum_shared::ids::{RoomId, UserId};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_token_returns_the_session() {
    let ts = TestServer::start().await;
    let sid = ts.create_room("r1").await;
    let token = ts.join_token("r1", "alice", false).await;

    let (code, v) = ts.verify(&token).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["status_code"], "SUCCESS", "{v}");
    let s = &v["session"];
    assert_eq!(s["room_id"], "r1", "{v}");
    assert_eq!(s["user_id"], "alice", "{v}");
    assert_eq!(s["room_sid"], sid.as_str(), "{v}");
    assert_eq!(s["room_title"], "Room r1", "{v}");
    assert_eq!(s["is_admin"], false, "{v}");
    assert_eq!(s["e2ee_self_key"], false, "{v}");
    assert_eq!(s["server_version"], quorum_server::VERSION, "{v}");
    let urls = s["nats_ws_urls"].as_array().expect("nats_ws_urls");
    assert!(!urls.is_empty(), "{v}");
    assert_eq!(urls[0], ts.ws_url.as_str(), "{v}");

    let want = quorum_shared::subjects::UserSubjects::new(
        &RoomId::parse("r1").unwrap(),
        &UserId::parse("alice").unwrap(),
    );
    assert_eq!(s["subjects"], serde_json::to_value(&want).unwrap(), "{v}");
    assert_eq!(s["subjects"]["chat_publish"], "qr.r1.chat.alice", "{v}");
    assert_eq!(s["subjects"]["private"], "qr.r1.private.alice", "{v}");

    // The raw token without "Bearer " works too.
    let (code, v) = ts.verify_raw(Some(&token)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");

    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused() {
    let ts = TestServer::start().await;
    let token = ts.room_and_token("r1", "alice").await;

    // No header, or an empty one.
    let got = ts.verify_raw(None).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
    let got = ts.verify_raw(Some("")).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
    // "Bearer" with nothing after it (HTTP trims the trailing space).
    let (code, v) = ts.verify_raw(Some("Bearer ")).await;
    assert_eq!(
        (code, &v["status"]),
        (StatusCode::UNAUTHORIZED, &false.into()),
        "{v}"
    );

    // Claims rewritten to another identity, signature kept.
    let forged = tamper_claims(&token, |c| {
        c["user_id"] = "mallory".into();
        c["sub"] = "mallory".into();
    });
    let got = ts.verify(&forged).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Promoted to moderator.
    let forged = tamper_claims(&token, |c| c["is_admin"] = true.into());
    let got = ts.verify(&forged).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Signature bytes altered.
    let (head, sig) = token.rsplit_once('.').unwrap();
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (5, 'A') => 'B',
            (5, _) => 'A',
            _ => c,
        })
        .collect();
    let got = ts.verify(&format!("{head}.{flipped}")).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Not a token at all.
    let got = ts.verify("not-a-jwt").await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Expired well beyond the 5 s leeway, correctly signed.
    let t = now();
    let expired = ts.craft_token(&ts.api_secret(), "r1", "alice", t - 3600, t - 60);
    let got = ts.verify(&expired).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    assert!(
        got.1["msg"].as_str().unwrap().contains("expired"),
        "{}",
        got.1
    );
    // Not valid yet.
    let future = ts.craft_token(&ts.api_secret(), "r1", "alice", t + 600, t + 1200);
    let got = ts.verify(&future).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Signed with another secret.
    let foreign = ts.craft_token("not-the-secret", "r1", "alice", t, t + 600);
    let got = ts.verify(&foreign).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Issued under another API key.
    let other_iss = common::craft_token("other-key", &ts.api_secret(), "r1", "alice", t, t + 600);
    let got = ts.verify(&other_iss).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Validly signed, but the room never existed.
    let ghost = ts.craft_token(&ts.api_secret(), "ghost-room", "alice", t, t + 600);
    let got = ts.verify(&ghost).await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_ACTIVE");

    // Validly signed for a running room, but no join token was ever issued
    // for this user.
    let uninvited = ts.craft_token(&ts.api_secret(), "r1", "stranger", t, t + 600);
    let got = ts.verify(&uninvited).await;
    assert_failure(&got, StatusCode::OK, "USER_NOT_FOUND");

    ts.stop().await;
}

async fn presence(ts: &TestServer, room: &str, user: &str) -> Presence {
    ts.state
        .rooms
        .kv
        .participant(&RoomId::parse(room).unwrap(), &UserId::parse(user).unwrap())
        .await
        .unwrap()
        .expect("participant")
        .presence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_user_conflicts_until_disconnected() {
    let ts = TestServer::start().await;
    let token = ts.room_and_token("r1", "alice").await;
    assert_eq!(presence(&ts, "r1", "alice").await, Presence::Invited);

    // Alice connects to NATS with her token: she is online now.
    let conn = ts.nats_connect(Some(&token)).await.expect("connect");
    assert_eq!(presence(&ts, "r1", "alice").await, Presence::Online);

    // A second verify for the same user is a duplicate.
    let got = ts.verify(&token).await;
    assert_failure(&got, StatusCode::OK, "CONFLICT");

    // Another user of the room is unaffected.
    let bob = ts.join_token("r1", "bob", false).await;
    let (code, v) = ts.verify(&bob).await;
    assert_eq!((code, &v["status"]), (StatusCode::OK, &true.into()), "{v}");

    // Once her connection closes, the disconnect advisory marks her offline.
    conn.close().await;
    let offline = eventually(Duration::from_secs(10), || async {
        presence(&ts, "r1", "alice").await == Presence::Offline
    })
    .await;
    assert!(
        offline,
        "alice still {:?}",
        presence(&ts, "r1", "alice").await
    );

    let (code, v) = ts.verify(&token).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");

    // And she can reconnect, going online again.
    let again = ts.nats_connect(Some(&token)).await.expect("reconnect");
    assert_eq!(presence(&ts, "r1", "alice").await, Presence::Online);
    assert_failure(&ts.verify(&token).await, StatusCode::OK, "CONFLICT");
    again.close().await;

    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_and_health() {
    let ts = TestServer::start().await;

    let res = ts.get("/api/config").await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "cache_max_age_secs": 6 * 3600, "media": false })
    );

    let res = ts.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["database"], "ok", "{v}");
    assert_eq!(v["nats"], "ok", "{v}");
    assert_eq!(v["version"], quorum_server::VERSION, "{v}");

    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    // The NATS WebSocket origin is allowed for connect-src.
    assert!(csp.contains(&ts.ws_url), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");

    // The same headers on API answers, and on the fallback page when the
    // client is not built.
    let res = reqwest::Client::new()
        .post(format!("{}/api/verifyToken", ts.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["content-security-policy"], csp);
    let res = ts.get("/some/page").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["content-security-policy"], csp);

    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_over_http_is_bound_to_the_token_and_presence() {
    let ts = TestServer::start().await;
    let token = ts.room_and_token("r1", "alice").await;
    let grace = quorum_shared::worker::RENEW_GRACE_SECS;
    let t = now();
    // Expired moments ago (as after an outage), and long ago (an old link
    // from the browser history).
    let expired = ts.craft_token(&ts.api_secret(), "r1", "alice", t - 630, t - 30);
    let stale = ts.craft_token(&ts.api_secret(), "r1", "alice", t - 1200, t - 600);

    // A link nobody joined with yet is not renewed: that would only
    // stretch a leaked link.
    let got = ts.renew(&token).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Once connected, a valid token is renewed for the same identity (a
    // waiting participant renews this way, since it may publish nothing).
    let conn = ts.nats_connect(Some(&token)).await.expect("connect");
    let (code, v) = ts.renew(&token).await;
    assert_eq!((code, &v["status"]), (StatusCode::OK, &true.into()), "{v}");
    let fresh = v["token"].as_str().expect("token").to_owned();
    let claims = ts.state.tokens.verify(&fresh).expect("a valid token");
    assert_eq!(
        (claims.room_id.as_str(), claims.user_id.as_str()),
        ("r1", "alice")
    );
    // An expired one is not while she is connected (that renewal goes
    // over NATS).
    let got = ts.renew(&expired).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // After a drop (an outage longer than the token's life), it is.
    conn.close().await;
    let dropped = eventually(Duration::from_secs(10), || async {
        presence(&ts, "r1", "alice").await != Presence::Online
    })
    .await;
    assert!(dropped, "alice still online");
    let (code, v) = ts.renew(&expired).await;
    assert_eq!((code, &v["status"]), (StatusCode::OK, &true.into()), "{v}");
    let again = v["token"].as_str().expect("token");
    ts.nats_connect(Some(again))
        .await
        .expect("reconnect with it")
        .close()
        .await;
    // But not a token that had lapsed long before she dropped.
    let got = ts.renew(&stale).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Never beyond the grace period, never a forged or foreign token.
    let ancient = ts.craft_token(
        &ts.api_secret(),
        "r1",
        "alice",
        t - grace - 1200,
        t - grace - 60,
    );
    let got = ts.renew(&ancient).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    let forged = tamper_claims(&token, |c| {
        c["user_id"] = "bob".into();
        c["sub"] = "bob".into();
    });
    let got = ts.renew(&forged).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    let foreign = ts.craft_token("not-the-secret", "r1", "alice", t, t + 600);
    let got = ts.renew(&foreign).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // Nor for someone never invited.
    let uninvited = ts.craft_token(&ts.api_secret(), "r1", "stranger", t, t + 600);
    let got = ts.renew(&uninvited).await;
    assert_failure(&got, StatusCode::OK, "USER_NOT_FOUND");

    ts.stop().await;
}
