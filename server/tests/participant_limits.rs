//! Integration tests: one participant can't hurt the others. What a
//! participant may publish is bounded in size (nats-server enforces the user
//! JWT's `payload`) and rate (the server throttles a flooder: chat denied by
//! nats-server for a while, visibly), room streams are bounded in bytes,
//! state buckets have their own reserved budgets, and the server answers
//! "busy" rather than queueing without bound. Every test shows that another
//! room keeps working. Run with
//! `cargo test -p quorum-server --test participant_limits`.

mod common;

use common::{connect, rid, TestServer, STEP};
use quorum_shared::limits::MAX_PARTICIPANT_PAYLOAD;
use quorum_shared::worker::WorkerRequest;
use serde_json::json;

/// Another room works from start to chat: create, getJoinToken, connect,
/// and a message goes from one participant to another.
async fn another_room_works(ts: &TestServer, room: &str) {
    ts.create_room(room).await;
    let a = ts.join_token(room, "ann", false).await;
    let b = ts.join_token(room, "ben", false).await;
    let mut ann = connect(ts, &a, "ann").await;
    let mut ben = connect(ts, &b, "ben").await;
    ben.sub(&format!("qr.{room}.chat.*"))
        .await
        .expect("ben hears");
    ann.publish(&format!("qr.{room}.chat.ann"), b"still fine")
        .await
        .expect("ann speaks");
    let m = ben.next_msg(STEP).await.unwrap().expect("ben gets it");
    assert_eq!(m.payload, b"still fine");
    ann.close().await;
    ben.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_by_nats_server() {
    let ts = TestServer::start().await;
    ts.create_room("big").await;
    let t = ts.join_token("big", "eve", false).await;
    let mut eve = connect(&ts, &t, "eve").await;
    // Just within the limit: fine.
    eve.publish("qr.big.chat.eve", &vec![b'a'; MAX_PARTICIPANT_PAYLOAD])
        .await
        .expect("a message at the limit is fine");
    // One byte over: nats-server refuses it and closes the connection.
    let res = eve
        .publish("qr.big.chat.eve", &vec![b'a'; MAX_PARTICIPANT_PAYLOAD + 1])
        .await;
    let err = res.expect_err("an oversized message went through");
    assert!(err.contains("Maximum Payload"), "{err}");
    another_room_works(&ts, "big2").await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_streams_and_state_have_byte_budgets() {
    let ts = TestServer::start_with(|c| c.limits.room_stream_bytes = 256 * 1024).await;
    ts.create_room("full").await;
    let js = async_nats::jetstream::new(ts.state.nats.client.clone());
    let mut stream = js.get_stream("QR_full").await.expect("room stream");
    let cfg = stream.info().await.expect("info").config.clone();
    assert_eq!(cfg.max_bytes, 256 * 1024);
    assert!(cfg.max_message_size as usize > MAX_PARTICIPANT_PAYLOAD);
    assert_eq!(
        cfg.discard,
        async_nats::jetstream::stream::DiscardPolicy::Old
    );
    // A moderator (never throttled) sends twenty times the budget: the
    // stream keeps its newest messages within budget, and the room's
    // history still answers.
    let t = ts.join_token("full", "mod", true).await;
    let mut m = connect(&ts, &t, "mod").await;
    let chunk = vec![b'x'; 30 * 1024];
    for _ in 0..(20 * 256 / 30) {
        m.publish("qr.full.chat.mod", &chunk)
            .await
            .expect("publish");
    }
    m.publish("qr.full.chat.mod", b"the newest")
        .await
        .expect("last");
    let kept = common::eventually(STEP, || async {
        let info = js
            .get_stream("QR_full")
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .clone();
        info.state.bytes <= 256 * 1024
            && stream
                .direct_get_last_for_subject("qr.full.chat.mod")
                .await
                .is_ok_and(|msg| msg.payload.as_ref() == b"the newest")
    })
    .await;
    assert!(kept, "the stream grew past its budget or lost the newest");
    // State buckets reserve their own budgets, so room streams can't take
    // their space.
    for bucket in ["quorum-rooms", "quorum-participants", "quorum-conns"] {
        let kv = js.get_key_value(bucket).await.expect("bucket");
        let status = kv.status().await.expect("status");
        assert!(status.info.config.max_bytes > 0, "{bucket} has no budget");
    }
    another_room_works(&ts, "full2").await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooder_is_throttled_visibly_and_others_are_unaffected() {
    let ts = TestServer::start_with(|c| {
        c.limits.chat_per_sec = 2.0;
        c.limits.chat_burst = 5.0;
        c.limits.throttle_secs = 3;
    })
    .await;
    ts.create_room("fl").await;
    let (e, b) = (
        ts.join_token("fl", "eve", false).await,
        ts.join_token("fl", "bob", false).await,
    );
    let mut eve = connect(&ts, &e, "eve").await;
    eve.sub("qr.fl.private.eve").await.expect("own private");
    ts.wait_kickable("fl", "eve").await;
    let mut bob = connect(&ts, &b, "bob").await;
    bob.sub("qr.fl.chat.*").await.expect("bob hears");
    // Eve floods; she hears why, and nats-server drops her connection
    // (she reconnects without chat permission).
    for i in 0..50 {
        if eve
            .publish("qr.fl.chat.eve", format!("spam {i}").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    let (subject, ev) = common::next_json(&mut eve, STEP).await.expect("told");
    assert_eq!(subject, "qr.fl.private.eve");
    assert_eq!(ev, json!({ "type": "throttled", "seconds": 3 }));
    assert!(
        eve.closed_within(STEP).await.is_some(),
        "eve kept her connection"
    );
    let p = ts.participant("fl", "eve").await.unwrap();
    assert!(p.throttled_until.is_some(), "{p:?}");
    let mut eve = connect(&ts, &e, "eve again").await;
    let refused = eve.publish("qr.fl.chat.eve", b"more").await;
    assert_eq!(
        refused.expect_err("throttled chat went through"),
        "Permissions Violation for Publish to \"qr.fl.chat.eve\""
    );
    // Bob was not throttled, and another room works meanwhile.
    let mut bob_pub = connect(&ts, &b, "bob").await;
    bob_pub
        .publish("qr.fl.chat.bob", b"i am fine")
        .await
        .expect("bob speaks");
    another_room_works(&ts, "fl2").await;
    // When the pause is over she is told and moved to chat again.
    eve.sub("qr.fl.private.eve").await.expect("own private");
    ts.wait_kickable("fl", "eve").await;
    let (_, ev) = common::next_json(&mut eve, STEP)
        .await
        .expect("unthrottled");
    assert_eq!(
        (&ev["type"], &ev["chat_locked"]),
        (&json!("locks_changed"), &json!(false)),
        "{ev}"
    );
    assert!(eve.closed_within(STEP).await.is_some(), "not moved");
    let mut eve = connect(&ts, &e, "eve, later").await;
    eve.publish("qr.fl.chat.eve", b"sorry")
        .await
        .expect("chat is back");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_requests_have_a_budget_per_participant() {
    let ts = TestServer::start_with(|c| {
        c.limits.worker_per_sec = 1.0;
        c.limits.worker_burst = 3.0;
    })
    .await;
    ts.create_room("wk").await;
    let t = ts.join_token("wk", "eve", false).await;
    let mut eve = connect(&ts, &t, "eve").await;
    let mut refused = 0;
    for _ in 0..10 {
        let r = common::worker_request(&mut eve, "wk", "eve", &WorkerRequest::RaiseHand)
            .await
            .expect("an answer");
        if !r.ok {
            assert_eq!(
                r.error.as_deref(),
                Some("too many requests; try again in a moment")
            );
            refused += 1;
        }
    }
    assert!(refused >= 6, "only {refused} of 10 refused");
    // Someone else's budget is their own.
    let t = ts.join_token("wk", "bob", false).await;
    let mut bob = connect(&ts, &t, "bob").await;
    let r = common::worker_request(&mut bob, "wk", "bob", &WorkerRequest::RaiseHand)
        .await
        .expect("an answer");
    assert!(r.ok, "{r:?}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_answered_busy_not_queued() {
    // One request at a time: concurrent connects beyond it are refused
    // (and retried by clients), never queued without bound.
    let ts = TestServer::start_with(|c| c.limits.concurrency = 1).await;
    ts.create_room("ov").await;
    let mut tokens = Vec::new();
    for i in 0..30 {
        tokens.push(ts.join_token("ov", &format!("u{i}"), false).await);
    }
    let attempts = tokens.iter().map(|t| ts.nats_connect(Some(t)));
    let results = futures::future::join_all(attempts).await;
    let refused = results.iter().filter(|r| r.is_err()).count();
    assert!(
        refused > 0,
        "30 simultaneous connects, none refused as busy"
    );
    assert!(refused < 30, "every connect refused");
    // Afterwards, one at a time, everyone gets in.
    for (i, t) in tokens.iter().enumerate() {
        ts.nats_connect(Some(t))
            .await
            .unwrap_or_else(|e| panic!("u{i} after the rush: {e}"));
    }
    assert!(ts.state.rooms.kv.room(&rid("ov")).await.unwrap().is_some());
    drop(results);
    ts.stop().await;
}
