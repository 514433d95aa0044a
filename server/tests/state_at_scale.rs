//! Integration tests: room state at scale. Timers, presence and queries
//! read an in-memory index that KV watches keep in step, so the number of
//! JetStream consumers stays the same however many rooms and people there
//! are and however often they are read; reconnect storms are coalesced;
//! one unreadable KV value skips only itself. Run with
//! `cargo test -p quorum-server --test state_at_scale`.

mod common;

use std::time::Duration;

use common::{TestServer, STEP};
use futures::StreamExt;
use quorum_server::rooms::Presence;
use serde_json::json;

/// The next system event on `sub`, as `(subject, JSON)`.
async fn next_event(
    sub: &mut async_nats::Subscriber,
    within: Duration,
) -> Option<(String, serde_json::Value)> {
    let m = tokio::time::timeout(within, sub.next()).await.ok()??;
    Some((
        m.subject.to_string(),
        serde_json::from_slice(&m.payload).expect("event JSON"),
    ))
}

async fn consumers(ts: &TestServer) -> usize {
    async_nats::jetstream::new(ts.state.nats.client.clone())
        .query_account()
        .await
        .expect("account info")
        .consumers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rooms_and_reads_create_no_consumers() {
    let ts = TestServer::start_with(|c| c.presence_offline_secs = 1).await;
    let before = consumers(&ts).await;
    // The first twenty with a cap: verifyToken and the callout count who
    // is online there.
    for i in 0..100 {
        let cap = if i < 20 { 50 } else { 0 };
        let (code, v) = ts
            .signed_post(
                "/auth/room/create",
                &json!({ "room_id": format!("r{i}"), "max_participants": cap,
                    "metadata": { "room_title": "Many" } }),
            )
            .await;
        assert_eq!(code.as_u16(), 200, "{v}");
    }
    // Participants in some rooms, a join each through verifyToken and the
    // callout.
    let mut conns = Vec::new();
    for i in 0..20 {
        let t = ts.join_token(&format!("r{i}"), "ann", false).await;
        let (code, v) = ts.verify(&t).await;
        assert_eq!(code.as_u16(), 200, "{v}");
        conns.push(ts.nats_connect(Some(&t)).await.expect("connect"));
    }
    // Reads that used to list whole buckets, many times over.
    for _ in 0..20 {
        let (code, v) = ts
            .signed_post("/auth/room/getActiveRoomsInfo", &json!({}))
            .await;
        assert_eq!(code.as_u16(), 200, "{v}");
        assert_eq!(v["rooms"].as_array().map(Vec::len), Some(100));
        ts.timer_pass().await;
    }
    let after = consumers(&ts).await;
    assert!(
        after <= before + 2,
        "consumers grew from {before} to {after} with the number of rooms and reads"
    );
    // Ending still works.
    let (code, v) = ts
        .signed_post("/auth/room/endRoom", &json!({ "room_id": "r0" }))
        .await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &json!(true)), "{v}");
    drop(conns);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_is_coalesced() {
    let ts = TestServer::start_with(|c| c.presence_offline_secs = 30).await;
    ts.create_room_with(
        "st",
        json!({ "room_title": "Storm", "room_features": { "enable_analytics": true } }),
    )
    .await;
    let token = ts.join_token("st", "eve", false).await;
    let mut public = ts.service_subscribe("qr.st.public".into()).await;
    let first = ts.nats_connect(Some(&token)).await.expect("eve");
    let (_, ev) = next_event(&mut public, STEP).await.expect("online");
    assert_eq!(ev["state"], "online");
    first.close().await;
    // Twenty reconnects in a row, each dropped at once.
    for i in 0..20 {
        assert!(
            ts.wait_presence("st", "eve", Presence::Disconnected).await,
            "drop {i}"
        );
        let c = ts.nats_connect(Some(&token)).await.expect("reconnect");
        assert!(
            ts.wait_presence("st", "eve", Presence::Online).await,
            "back {i}"
        );
        c.close().await;
    }
    assert!(ts.wait_presence("st", "eve", Presence::Disconnected).await);
    // Nothing was announced for any of them: the next event is a marker.
    ts.publish_marker("qr.st.public", "after the storm").await;
    assert_eq!(
        next_event(&mut public, STEP).await.map(|e| e.1),
        Some(common::marker("after the storm"))
    );
    // And the analytics count one join, not twenty-one.
    let sid = ts
        .state
        .rooms
        .kv
        .room(&common::rid("st"))
        .await
        .unwrap()
        .unwrap()
        .sid;
    let counts = ts.state.rooms.analytics.counts(&sid).await.expect("counts");
    assert_eq!(counts.users["eve"].joins, 1, "{counts:?}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_room_value_skips_only_itself() {
    let ts = TestServer::start().await;
    let js = async_nats::jetstream::new(ts.state.nats.client.clone());
    let rooms = js.get_key_value("quorum-rooms").await.expect("bucket");
    rooms
        .put("junk", "{ not a room".into())
        .await
        .expect("put junk");
    ts.create_room_with(
        "short",
        json!({ "room_title": "Short", "room_features": { "room_duration": 1 } }),
    )
    .await;
    let mut public = ts.service_subscribe("qr.short.public".into()).await;
    // The junk is skipped: queries answer, and the other room's timer ends
    // it when due.
    let (code, v) = ts
        .signed_post("/auth/room/getActiveRoomsInfo", &json!({}))
        .await;
    assert_eq!(code.as_u16(), 200, "{v}");
    assert_eq!(v["rooms"].as_array().map(Vec::len), Some(1), "{v}");
    ts.state
        .rooms
        .kv
        .update_room(&common::rid("short"), |r| {
            r.created_at -= 61;
            true
        })
        .await
        .unwrap();
    let (_, ev) = next_event(&mut public, Duration::from_secs(10))
        .await
        .expect("the due room ended");
    assert_eq!(ev, common::session_ended("duration_exceeded"));
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_not_empty_while_someone_is_coming_back() {
    let ts = TestServer::start_with(|c| c.presence_offline_secs = 10).await;
    ts.create_room("gap").await;
    let (a, b) = (
        ts.join_token("gap", "ann", false).await,
        ts.join_token("gap", "ben", false).await,
    );
    let ann = ts.nats_connect(Some(&a)).await.expect("ann");
    let ben = ts.nats_connect(Some(&b)).await.expect("ben");
    assert!(ts.wait_presence("gap", "ben", Presence::Online).await);
    // Ben drops (a blip); Ann leaves for good while he is away.
    ben.close().await;
    assert!(ts.wait_presence("gap", "ben", Presence::Disconnected).await);
    ann.close().await;
    assert!(ts.wait_presence("gap", "ann", Presence::Disconnected).await);
    // Ann's grace is over (as if she had left long ago); Ben's is not.
    ts.state
        .rooms
        .kv
        .update_participant(&common::rid("gap"), &common::uid("ann"), |p| {
            p.presence_since -= 60;
            true
        })
        .await
        .unwrap();
    ts.timer_pass().await;
    assert!(ts.wait_presence("gap", "ann", Presence::Offline).await);
    let r = ts
        .state
        .rooms
        .kv
        .room(&common::rid("gap"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.empty_since, None,
        "empty while ben was coming back: {r:?}"
    );
    // He is back: still not empty, and a timer pass ends nothing.
    let _ben = ts.nats_connect(Some(&b)).await.expect("ben back");
    assert!(ts.wait_presence("gap", "ben", Presence::Online).await);
    ts.timer_pass().await;
    let r = ts.state.rooms.kv.room(&common::rid("gap")).await.unwrap();
    assert!(
        r.is_some_and(|r| r.empty_since.is_none()),
        "the room was ended or emptied"
    );
    ts.stop().await;
}
