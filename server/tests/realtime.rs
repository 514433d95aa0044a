//! Integration tests of the real-time layer's life cycle on a real
//! nats-server: NATS user JWTs expiring with the join token (and a token
//! already expired refused without leaving a phantom), a second login
//! replacing the first, presence (online → disconnected → offline, and
//! reconnecting within the grace period), and, with two server instances,
//! worker requests answered once and no disconnect lost.
//! Run: `cargo test -p quorum-server --test realtime`.

mod common;

use std::time::{Duration, Instant};

use common::{connect, next_json, worker_request, TestServer, STEP};
use futures::StreamExt;
use quorum_server::config::Config;
use quorum_server::rooms::Presence;
use quorum_shared::worker::WorkerRequest;
use serde_json::{json, Value};

/// A kicked connection must close within this.
const KICKED_WITHIN: Duration = Duration::from_secs(5);
/// nats-server's auth timeout (`authorization.timeout`, 2 s unless set; the
/// embedded config leaves it): how long it waits for the callout's answer
/// before refusing a connection on its own.
const NATS_AUTH_TIMEOUT: Duration = Duration::from_secs(2);

/// The next event on a service subscription, presence included.
async fn next_event(sub: &mut async_nats::Subscriber, within: Duration) -> Option<Value> {
    let m = tokio::time::timeout(within, sub.next()).await.ok()??;
    Some(serde_json::from_slice(&m.payload).expect("event JSON"))
}

/// The presence event `user` (a non-moderator named "User {user}") in `state`.
fn presence(user: &str, state: &str) -> Value {
    json!({ "type": "presence", "user_id": user, "name": format!("User {user}"),
        "is_admin": false, "state": state })
}

fn fast_presence(secs: u64) -> impl FnOnce(&mut Config) {
    move |c| {
        c.lifecycle_tick_ms = 100;
        c.presence_offline_secs = secs;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_connection_ends_when_the_join_token_expires() {
    let ts = TestServer::start_with(|c| c.token_ttl_secs = 3).await;
    ts.create_room("e1").await;
    let token = ts.join_token("e1", "alice", false).await;
    let exp = common::token_claims(&token)["exp"].as_u64().expect("exp");
    let started = Instant::now();
    let mut alice = connect(&ts, &token, "alice").await;
    alice.sub("qr.e1.chat.*").await.expect("usable at first");

    let why = alice
        .closed_within(Duration::from_secs(10))
        .await
        .expect("connection outlived its token");
    let after = started.elapsed();
    assert_eq!(why, "User Authentication Expired");
    assert!(
        after >= Duration::from_secs(1) && after <= Duration::from_secs(8),
        "closed after {after:?}"
    );
    assert!(common::now() + 1 >= exp, "closed before exp");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_just_expired_token_leaves_no_phantom_presence() {
    let ts = TestServer::start().await;
    ts.create_room("e2").await;
    ts.join_token("e2", "alice", false).await;
    // Expired 2 s ago: inside the join-token clock leeway, but nats-server
    // would refuse a user JWT with that `exp`.
    let t = common::now();
    let stale = ts.craft_token(&ts.api_secret(), "e2", "alice", t - 60, t - 2);
    let asked = Instant::now();
    let err = ts.nats_connect(Some(&stale)).await.err();
    assert_eq!(err.as_deref(), Some("Authorization Violation"));
    // Refused sooner than nats-server would give up on the callout: so the
    // refusal is the callout's answer, and the callout answers only after
    // recording any presence (`joined` is awaited before it replies). What
    // KV holds now is all this attempt will ever have written.
    let took = asked.elapsed();
    assert!(
        took < NATS_AUTH_TIMEOUT,
        "refused after {took:?}: maybe nats-server's own timeout, not the callout's answer"
    );
    let p = ts.participant("e2", "alice").await.unwrap();
    assert_eq!((p.presence, p.conn), (Presence::Invited, None));
    // So she is not locked out as "already in this meeting".
    let fresh = ts.join_token("e2", "alice", false).await;
    let (code, v) = ts.verify(&fresh).await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &json!(true)), "{v}");
    connect(&ts, &fresh, "alice").await.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_replaces_the_first() {
    let ts = TestServer::start_with(fast_presence(1)).await;
    ts.create_room("d1").await;
    let token = ts.join_token("d1", "alice", false).await;
    let mut public = ts.service_subscribe("qr.d1.public".into()).await;

    let mut first = connect(&ts, &token, "first login").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    ts.wait_kickable("d1", "alice").await;
    let first_conn = ts.participant("d1", "alice").await.unwrap().conn;

    // To the others nothing changes: she was online and still is.
    let mut second = connect(&ts, &token, "second login").await;
    let why = first.closed_within(KICKED_WITHIN).await;
    // A kick is a plain close: no -ERR first.
    assert_eq!(
        why.as_deref(),
        Some("connection closed by the server"),
        "first connection survived the second login"
    );

    // The new connection works, and the old one's disconnect does not make
    // alice "disconnected" (nor, later, offline).
    second.sub("qr.d1.chat.*").await.expect("second sub");
    second
        .publish("qr.d1.chat.alice", b"still here")
        .await
        .expect("second publish");
    let echo = second.next_msg(STEP).await.unwrap().expect("echo");
    assert_eq!(echo.payload, b"still here");
    // The signal that the old connection's disconnect has been handled:
    // nats-server announced it when it closed that connection, before bob
    // below even connects, and advisories are handled one at a time in
    // order. So once bob's own disconnect shows, alice's old one is done,
    // and anything it announced came first.
    let bob_t = ts.join_token("d1", "bob", false).await;
    connect(&ts, &bob_t, "bob").await.close().await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("bob", "online"))
    );
    let bob_dropped = common::eventually(STEP, || async {
        ts.participant("d1", "bob")
            .await
            .is_some_and(|p| matches!(p.presence, Presence::Disconnected | Presence::Offline))
    })
    .await;
    assert!(bob_dropped, "bob's disconnect was never handled");
    // Still online in KV, so no timer will take her offline either.
    let p = ts.participant("d1", "alice").await.unwrap();
    assert_eq!(p.presence, Presence::Online);
    assert!(p.conn.is_some() && p.conn != first_conn, "{p:?}");
    second.ping().await.expect("second still connected");
    ts.timer_pass().await;
    ts.publish_marker("qr.d1.public", "replaced").await;
    loop {
        let ev = next_event(&mut public, STEP).await.expect("the marker");
        if ev == common::marker("replaced") {
            break;
        }
        assert_ne!(ev["user_id"], "alice", "a replaced login announced {ev}");
    }

    second.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_goes_online_then_offline_after_the_grace() {
    let ts = TestServer::start_with(fast_presence(1)).await;
    ts.create_room("p1").await;
    let token = ts.join_token("p1", "alice", false).await;
    assert_eq!(
        ts.participant("p1", "alice").await.unwrap().presence,
        Presence::Invited
    );
    let mut public = ts.service_subscribe("qr.p1.public".into()).await;

    let alice = connect(&ts, &token, "alice").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    assert_eq!(
        ts.participant("p1", "alice").await.unwrap().presence,
        Presence::Online
    );

    // A drop is not announced: she may be back within the grace (a
    // network blip, a token swap), and then nothing changed for the others.
    alice.close().await;
    let closed = Instant::now();
    let dropped = common::eventually(STEP, || async {
        ts.participant("p1", "alice")
            .await
            .is_some_and(|p| matches!(p.presence, Presence::Disconnected | Presence::Offline))
    })
    .await;
    assert!(dropped, "the drop was never recorded");
    assert_eq!(ts.participant("p1", "alice").await.unwrap().conn, None);

    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "offline"))
    );
    assert!(
        closed.elapsed() < Duration::from_secs(10),
        "offline after {:?}",
        closed.elapsed()
    );
    assert_eq!(
        ts.participant("p1", "alice").await.unwrap().presence,
        Presence::Offline
    );
    // Nothing more: a timer pass now announces nothing (she is offline
    // already, her cleanup 30 s away), so the next event is the marker.
    ts.timer_pass().await;
    ts.publish_marker("qr.p1.public", "nothing more").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(common::marker("nothing more"))
    );

    // Coming back after going offline is an ordinary join.
    let alice = connect(&ts, &token, "alice again").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    assert!(ts.wait_presence("p1", "alice", Presence::Online).await);
    alice.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_within_the_grace_period_stays_online() {
    // Grace in whole seconds: 6 s means offline 5–6 s after the drop,
    // room enough for a reconnect on a busy machine.
    let ts = TestServer::start_with(fast_presence(6)).await;
    ts.create_room("p2").await;
    let token = ts.join_token("p2", "alice", false).await;
    let mut public = ts.service_subscribe("qr.p2.public".into()).await;

    let alice = connect(&ts, &token, "alice").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    alice.close().await;
    assert!(
        ts.wait_presence("p2", "alice", Presence::Disconnected)
            .await
    );
    // Her grace runs out 6 s after this, at the latest (whole seconds).
    let grace_over = common::now() + 6;
    // Back within the grace: nothing to announce (the marker after the
    // grace, below, is the next event).
    let mut alice = connect(&ts, &token, "alice back").await;
    assert!(ts.wait_presence("p2", "alice", Presence::Online).await);
    assert_eq!(
        ts.participant("p2", "alice").await.unwrap().presence,
        Presence::Online
    );
    // Past the grace period: never offline. Waiting for the clock to pass
    // the grace is the point of the test (the timer must see it expired),
    // not evidence of anything by itself; the evidence is a timer pass run
    // after it that announces nothing: the next event is the marker.
    let past = common::eventually(Duration::from_secs(10), || async {
        common::now() > grace_over
    })
    .await;
    assert!(past, "the clock never passed the grace period");
    ts.timer_pass().await;
    ts.publish_marker("qr.p2.public", "past the grace").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(common::marker("past the grace"))
    );
    let p = ts.participant("p2", "alice").await.unwrap();
    assert_eq!(p.presence, Presence::Online);
    assert!(p.conn.is_some());
    alice.ping().await.expect("still connected");

    alice.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_answer_each_worker_request_once() {
    let a = TestServer::start().await;
    let (nats, data) = (a.external_nats_config(), a.data_dir());
    let b = TestServer::start_with(move |c| {
        c.nats = nats;
        c.data_dir = data;
    })
    .await;
    assert!(b.state.nats.embedded.is_none());

    a.create_room("q1").await;
    let bob_t = b.join_token("q1", "bob", false).await;
    let watcher_t = a.join_token("q1", "watcher", false).await;
    let mut watcher = connect(&a, &watcher_t, "watcher").await;
    watcher.sub("qr.q1.public").await.expect("public");
    let mut bob = connect(&a, &bob_t, "bob").await;

    const ROUNDS: usize = 6;
    for i in 0..ROUNDS {
        let raise = i % 2 == 0;
        let req = if raise {
            WorkerRequest::RaiseHand
        } else {
            WorkerRequest::LowerHand {
                user_id: common::uid("bob"),
            }
        };
        let r = worker_request(&mut bob, "q1", "bob", &req)
            .await
            .unwrap_or_else(|e| panic!("round {i}: {e}"));
        assert!(r.ok, "round {i}: {r:?}");
        let (_, ev) = next_json(&mut watcher, STEP)
            .await
            .unwrap_or_else(|| panic!("round {i}: no hand event"));
        assert_eq!(
            ev,
            json!({ "type": "hand", "user_id": "bob", "raised": raise }),
            "round {i}"
        );
    }
    // No second reply (it would land in bob's inbox) and no second event.
    // Kept as a wait: each instance's worker runs every request in a task
    // of its own, and which instance gets a request is nats-server's
    // choice, so no later message is ordered after a second answer; only
    // listening a while can show there is none.
    let quiet = Duration::from_secs(1);
    if let Some(m) = bob.next_msg(quiet).await.expect("bob's connection") {
        panic!("bob got a second reply on {}: {:?}", m.subject, m.payload);
    }
    if let Some((s, ev)) = next_json(&mut watcher, quiet).await {
        panic!("second event on {s}: {ev}");
    }

    bob.close().await;
    watcher.close().await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_lose_a_quick_disconnect() {
    // Connect and drop at once: the connect advisory (recording the client
    // id) and the disconnect advisory are then handled concurrently, often
    // by different instances, on the same connection record.
    let a = TestServer::start().await;
    let (nats, data) = (a.external_nats_config(), a.data_dir());
    let b = TestServer::start_with(move |c| {
        c.nats = nats;
        c.data_dir = data;
    })
    .await;
    a.create_room("q2").await;
    for i in 0..15 {
        let user = format!("u{i}");
        let token = b.join_token("q2", &user, false).await;
        connect(&a, &token, &user).await.close().await;
        assert!(
            a.wait_presence("q2", &user, Presence::Disconnected).await
                || a.wait_presence("q2", &user, Presence::Offline).await,
            "{user}: disconnect lost: {:?}",
            a.participant("q2", &user).await
        );
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_participants_are_cleaned_up_later() {
    let ts = TestServer::start_with(|c| {
        c.lifecycle_tick_ms = 100;
        c.presence_offline_secs = 1;
        c.presence_cleanup_secs = 1;
    })
    .await;
    ts.create_room("p9").await;
    let token = ts.join_token("p9", "alice", false).await;
    let mut public = ts.service_subscribe("qr.p9.public".into()).await;
    let alice = connect(&ts, &token, "alice").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    alice.close().await;
    for state in ["offline", "left"] {
        assert_eq!(
            next_event(&mut public, STEP).await,
            Some(presence("alice", state)),
            "expected {state}"
        );
    }
    // Off the room's participant list, but may still come back.
    let (_, info) = ts
        .signed_post("/auth/room/getActiveRoomInfo", &json!({ "room_id": "p9" }))
        .await;
    assert_eq!(info["room"]["participants_info"], json!([]), "{info}");
    let again = connect(&ts, &token, "alice again").await;
    assert_eq!(
        next_event(&mut public, STEP).await,
        Some(presence("alice", "online"))
    );
    again.close().await;
    ts.stop().await;
}
