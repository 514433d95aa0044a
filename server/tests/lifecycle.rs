//! Integration tests of the room life cycle (`lifecycle_tick_ms = 100`): the
//! maximum duration, the empty timeout counted from when the room emptied,
//! timers surviving a restart, and one end with two instances on one
//! nats-server. Run: `cargo test -p quorum-server --test lifecycle`.

mod common;

use std::time::Duration;

use common::{rid, session_ended, uid, TestServer, STEP};
use futures::StreamExt;
use quorum_server::config::Config;
use quorum_server::rooms::Presence;
use quorum_server::store::HistoryQuery;
use quorum_shared::ids::RoomId;
use serde_json::{json, Value};

/// Rooms must end within ~2 s of becoming due; the budget allows
/// for a machine busy with builds.
const DUE_WITHIN: Duration = Duration::from_secs(5);

fn fast(c: &mut Config) {
    c.lifecycle_tick_ms = 100;
    // A dropped participant is "disconnected" for this long before offline.
    c.presence_offline_secs = 1;
}

async fn create(ts: &TestServer, body: Value) -> String {
    let (code, v) = ts.signed_post("/auth/room/create", &body).await;
    assert_eq!(code, reqwest::StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    v["room_info"]["sid"].as_str().unwrap().to_owned()
}

async fn running(ts: &TestServer, room: &str) -> bool {
    ts.state.rooms.kv.room(&rid(room)).await.unwrap().is_some()
}

/// Waits until the room has left KV (the event goes out first, cleanup
/// follows).
async fn wait_gone(ts: &TestServer, room: &str) {
    let gone = common::eventually(STEP, || async { !running(ts, room).await }).await;
    assert!(gone, "{room} still in KV after its end");
}

/// Shifts a room's clock fields in KV.
async fn age(
    ts: &TestServer,
    room: &str,
    f: impl FnMut(&mut quorum_server::rooms::RoomState) -> bool,
) {
    ts.state
        .rooms
        .kv
        .update_room(&rid(room), f)
        .await
        .unwrap()
        .expect("room is running");
}

/// The next `session_ended` reason on a service subscription.
async fn next_end(sub: &mut async_nats::Subscriber, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = tokio::time::timeout_at(deadline, sub.next()).await.ok()??;
        let v: Value = serde_json::from_slice(&m.payload).expect("event JSON");
        // Presence changes share the room subject; only the end matters here.
        if v["type"] != "presence" {
            return Some(v);
        }
    }
}

/// Runs a timer pass on `ts` and checks that it left `room` running: not
/// removed, no end claimed, and nothing announced on the service
/// subscription `sub` (to `qr.{room}.public`), where a marker published
/// after the pass must be the next event. A pass of the background timer
/// sees the same state, so it would have ended the room too.
async fn pass_keeps_running(ts: &TestServer, room: &str, sub: &mut async_nats::Subscriber) {
    ts.timer_pass().await;
    let r = ts
        .state
        .rooms
        .kv
        .room(&rid(room))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{room} ended"));
    assert_eq!(r.ending, None, "{room}: an end was claimed");
    ts.publish_marker(&format!("qr.{room}.public"), "after the pass")
        .await;
    assert_eq!(
        next_end(sub, STEP).await,
        Some(common::marker("after the pass")),
        "{room}"
    );
}

/// History rows of `room`.
async fn history(ts: &TestServer, room: &str) -> Vec<quorum_server::store::RoomRecord> {
    let (total, rows) = ts
        .state
        .store
        .history(HistoryQuery {
            room_ids: vec![room.into()],
            from: 0,
            limit: 100,
            descending: false,
        })
        .await
        .unwrap();
    assert_eq!(total as usize, rows.len());
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_duration_ends_the_room() {
    let ts = TestServer::start_with(fast).await;
    let sid = create(
        &ts,
        json!({ "room_id": "d1", "metadata": { "room_title": "One minute",
            "room_features": { "room_duration": 1 } } }),
    )
    .await;
    let token = ts.join_token("d1", "alice", false).await;
    let mut alice = ts.nats_connect(Some(&token)).await.expect("alice");
    alice.sub("qr.d1.public").await.expect("sub");

    // Not yet: a timer pass now leaves it running and claims no end...
    ts.timer_pass().await;
    let r = ts.state.rooms.kv.room(&rid("d1")).await.unwrap();
    assert_eq!(r.expect("still running").ending, None);
    // ...and tells alice nothing: the first event after it is the marker.
    ts.publish_marker("qr.d1.public", "not yet").await;
    let (_, ev) = common::next_json(&mut alice, STEP)
        .await
        .expect("the marker");
    assert_eq!(ev, common::marker("not yet"));

    age(&ts, "d1", |r| {
        r.created_at -= 61;
        true
    })
    .await;
    let t0 = tokio::time::Instant::now();
    let (subject, ev) = common::next_json(&mut alice, DUE_WITHIN)
        .await
        .expect("session_ended in time");
    eprintln!("duration end after {:?}", t0.elapsed());
    assert_eq!(subject, "qr.d1.public");
    assert_eq!(ev, session_ended("duration_exceeded"));
    wait_gone(&ts, "d1").await;
    let row = ts.state.store.session(sid).await.unwrap().unwrap();
    assert!(row.ended.is_some(), "{row:?}");
    assert_eq!(row.joined_participants, 1);
    alice.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_timeout_counts_from_when_the_room_emptied() {
    let ts = TestServer::start_with(fast).await;
    let sid = create(
        &ts,
        json!({ "room_id": "e1", "empty_timeout": 120, "metadata": { "room_title": "Empty" } }),
    )
    .await;
    let id = rid("e1");
    let room = ts.state.rooms.kv.room(&id).await.unwrap().unwrap();
    assert_eq!(room.empty_timeout, 120);
    assert!(room.empty_since.is_some(), "an unused room is empty");
    let mut ended = ts.service_subscribe("qr.e1.public".into()).await;

    // Someone joins: not empty any more.
    let token = ts.join_token("e1", "alice", false).await;
    let alice = ts.nats_connect(Some(&token)).await.expect("alice");
    let occupied = common::eventually(STEP, || async {
        ts.state
            .rooms
            .kv
            .room(&id)
            .await
            .unwrap()
            .unwrap()
            .empty_since
            .is_none()
    })
    .await;
    assert!(occupied, "empty_since not cleared on join");

    // Old enough to be over by plugNmeet's rule (counted from creation),
    // but occupied: it must keep running.
    age(&ts, "e1", |r| {
        r.created_at -= 1000;
        true
    })
    .await;
    pass_keeps_running(&ts, "e1", &mut ended).await;

    // The last one leaves: the clock starts now.
    let left_at = common::now() as i64;
    alice.close().await;
    let emptied = common::eventually(STEP, || async {
        ts.state
            .rooms
            .kv
            .room(&id)
            .await
            .unwrap()
            .unwrap()
            .empty_since
            .is_some()
    })
    .await;
    assert!(emptied, "empty_since not set on leave");
    let since = ts
        .state
        .rooms
        .kv
        .room(&id)
        .await
        .unwrap()
        .unwrap()
        .empty_since
        .unwrap();
    assert!(
        since >= left_at - 1,
        "measured from the leave: {since} vs {left_at}"
    );
    assert_eq!(
        ts.state
            .rooms
            .kv
            .participant(&id, &uid("alice"))
            .await
            .unwrap()
            .unwrap()
            .presence,
        Presence::Offline
    );

    // Empty for 100 s of 120: still running.
    age(&ts, "e1", |r| {
        r.empty_since = r.empty_since.map(|s| s - 100);
        true
    })
    .await;
    pass_keeps_running(&ts, "e1", &mut ended).await;

    // Empty for 121 s: over.
    age(&ts, "e1", |r| {
        r.empty_since = r.empty_since.map(|s| s - 21);
        true
    })
    .await;
    let t0 = tokio::time::Instant::now();
    let ev = next_end(&mut ended, DUE_WITHIN)
        .await
        .expect("ended in time");
    eprintln!("empty-timeout end after {:?}", t0.elapsed());
    assert_eq!(ev, session_ended("empty_timeout"));
    wait_gone(&ts, "e1").await;
    let row = ts.state.store.session(sid).await.unwrap().unwrap();
    assert!(row.ended.is_some(), "{row:?}");
    assert_eq!(row.joined_participants, 1);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    let d = data.clone();
    let a = TestServer::start_with(move |c| {
        fast(c);
        c.data_dir = d;
    })
    .await;
    let sid = create(
        &a,
        json!({ "room_id": "r1", "empty_timeout": 120, "metadata": { "room_title": "Restart" } }),
    )
    .await;
    // Half-way through its empty timeout when the server goes down.
    age(&a, "r1", |r| {
        r.empty_since = r.empty_since.map(|s| s - 100);
        true
    })
    .await;
    let before = a.state.rooms.kv.room(&rid("r1")).await.unwrap().unwrap();
    let a_nats = a.nats_url.clone();
    a.stop().await;

    let d = data.clone();
    let b = TestServer::start_with(move |c| {
        fast(c);
        c.data_dir = d;
    })
    .await;
    eprintln!("nats before {a_nats}, after {}", b.nats_url);
    let after = b
        .state
        .rooms
        .kv
        .room(&rid("r1"))
        .await
        .unwrap()
        .expect("the room survived the restart");
    assert_eq!(after, before);
    let mut ended = b.service_subscribe("qr.r1.public".into()).await;
    pass_keeps_running(&b, "r1", &mut ended).await;

    age(&b, "r1", |r| {
        r.empty_since = r.empty_since.map(|s| s - 30);
        true
    })
    .await;
    let ev = next_end(&mut ended, DUE_WITHIN).await.expect("B ends it");
    assert_eq!(ev, session_ended("empty_timeout"));
    wait_gone(&b, "r1").await;
    let row = b
        .state
        .store
        .session(sid)
        .await
        .unwrap()
        .expect("history kept");
    assert!(row.ended.is_some(), "{row:?}");
    b.stop().await;
}

/// `fast`, but the background timer passes only once, at start: the test
/// runs every later pass itself, so it knows when each has finished.
fn test_driven_timers(c: &mut Config) {
    fast(c);
    c.lifecycle_tick_ms = 24 * 3600 * 1000;
}

/// One timer pass on each instance at the same moment; both have finished
/// when this returns.
async fn both_pass(a: &TestServer, b: &TestServer) {
    tokio::join!(a.timer_pass(), b.timer_pass());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_end_a_room_exactly_once() {
    let a = TestServer::start_with(test_driven_timers).await;
    // B shares A's nats-server (external mode) and A's data directory, so
    // both have the same keys and the same history database.
    let (nats, data) = (a.external_nats_config(), a.data_dir());
    let b = TestServer::start_with(move |c| {
        test_driven_timers(c);
        c.nats = nats;
        c.data_dir = data;
    })
    .await;
    assert!(b.state.nats.embedded.is_none());

    let rooms = ["m1", "m2", "m3"];
    let mut subs = Vec::new();
    for (i, room) in rooms.iter().enumerate() {
        // Alternate which instance creates the room and issues the token.
        let (creator, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        create(
            creator,
            json!({ "room_id": room, "metadata": { "room_title": "Shared",
                "room_features": { "room_duration": 1, "enable_analytics": true } } }),
        )
        .await;
        assert!(running(other, room).await, "{room} visible on both");
        let token = other.join_token(room, "alice", false).await;
        let mut conn = a.nats_connect(Some(&token)).await.expect("alice");
        conn.sub(&format!("qr.{room}.public")).await.expect("sub");
        subs.push(conn);
    }

    // Both instances follow disconnect advisories: bob's leave must still
    // be counted once.
    let token = b.join_token("m1", "bob", false).await;
    let bob = a.nats_connect(Some(&token)).await.expect("bob");
    bob.close().await;
    let dropped = common::eventually(STEP, || async {
        a.state
            .rooms
            .kv
            .participant(&rid("m1"), &uid("bob"))
            .await
            .unwrap()
            .is_some_and(|p| p.presence == Presence::Disconnected)
    })
    .await;
    assert!(dropped, "bob's disconnect was never recorded");
    // Past his grace period (1 s) at once, then both instances run a pass
    // at the same moment: both see him due to go offline, one may do it.
    // When both passes have returned, a second count would be in KV.
    a.state
        .rooms
        .kv
        .update_participant(&rid("m1"), &uid("bob"), |p| {
            p.presence_since -= 5;
            true
        })
        .await
        .unwrap()
        .expect("bob");
    both_pass(&a, &b).await;
    let bob_now = a.state.rooms.kv.participant(&rid("m1"), &uid("bob")).await;
    assert_eq!(bob_now.unwrap().unwrap().presence, Presence::Offline);

    // Make all three due at once, then again a pass on each instance at
    // the same moment: both race to end every room.
    for room in rooms {
        age(&a, room, |r| {
            r.created_at -= 61;
            true
        })
        .await;
    }
    both_pass(&a, &b).await;
    // The end is announced, then every connection of the room dropped:
    // anything a second end announced would come before the close.
    for (room, conn) in rooms.iter().zip(subs.iter_mut()) {
        let (_, ev) = common::next_json(conn, STEP)
            .await
            .unwrap_or_else(|| panic!("{room} never ended"));
        assert_eq!(ev, session_ended("duration_exceeded"), "{room}");
        assert!(
            conn.closed_within(STEP).await.is_some(),
            "{room}: the connection outlived the end"
        );
        if let Ok(Some(m)) = conn.next_msg(std::time::Duration::ZERO).await {
            panic!("{room}: more after the end: {m:?}");
        }
    }
    for room in rooms {
        let id: RoomId = rid(room);
        // Each instance's index learns of the end from its KV watch, so
        // the one that did not end the room may hear of it a moment later.
        for (name, t) in [("a", &a), ("b", &b)] {
            let gone = common::eventually(STEP, || async {
                t.state.rooms.kv.room(&id).await.unwrap().is_none()
            })
            .await;
            assert!(gone, "{room} still running on instance {name}");
        }
        let rows = history(&a, room).await;
        assert_eq!(rows.len(), 1, "{room}: {rows:?}");
        assert!(rows[0].ended.is_some(), "{room}: {rows:?}");
        // Peak online at once: alice, plus bob in m1.
        let peak = if room == "m1" { 2 } else { 1 };
        assert_eq!(rows[0].joined_participants, peak, "{room}: {rows:?}");
        // One analytics file per session, with one join.
        let file_id = rows[0].analytics_file_id.clone().expect("analytics file");
        let path = a
            .data_dir()
            .join("analytics")
            .join(format!("{file_id}.json"));
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("analytics file")).unwrap();
        assert_eq!(file["users"]["alice"]["joins"], 1, "{room}: {file}");
        if room == "m1" {
            let bob = &file["users"]["bob"];
            assert_eq!(
                (&bob["joins"], &bob["leaves"]),
                (&json!(1), &json!(1)),
                "{file}"
            );
        }
    }
    for c in subs {
        c.close().await;
    }
    b.stop().await;
    a.stop().await;
}

/// Disconnects that happen while no instance is running are never seen as
/// advisories; after a restart, presence is reconciled against the
/// connections nats-server still holds (CONNZ), so a participant who was
/// online is not stuck "online" (which would block the empty timeout and
/// the user's own rejoin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_forgets_connections_that_died_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let d = data.clone();
    let a = TestServer::start_with(move |c| {
        fast(c);
        c.data_dir = d;
    })
    .await;
    create(
        &a,
        json!({ "room_id": "r2", "empty_timeout": 120, "metadata": { "room_title": "R" } }),
    )
    .await;
    let token = a.join_token("r2", "alice", false).await;
    let conn = a.nats_connect(Some(&token)).await.expect("alice");
    let online = common::eventually(STEP, || async {
        a.state
            .rooms
            .kv
            .room(&rid("r2"))
            .await
            .unwrap()
            .unwrap()
            .empty_since
            .is_none()
    })
    .await;
    assert!(online);
    // Known to nats-server (its connect advisory is in), then gone.
    a.wait_kickable("r2", "alice").await;
    a.stop().await;
    drop(conn);

    let d = data.clone();
    let b = TestServer::start_with(move |c| {
        fast(c);
        c.data_dir = d;
    })
    .await;
    let reconciled = common::eventually(STEP, || async {
        b.state
            .rooms
            .kv
            .participant(&rid("r2"), &uid("alice"))
            .await
            .unwrap()
            .is_some_and(|p| p.presence != Presence::Online)
    })
    .await;
    assert!(reconciled, "alice is still online after the restart");
    let (_, v) = b.verify(&token).await;
    assert_eq!(v["status"], true, "{v}");
    b.stop().await;
}

/// Every writer of a participant (callout, advisories, timers, moderator
/// requests, the API) changes it with compare-and-set: changes made at the
/// same moment are all kept, none silently undoes another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_participant_changes_are_all_kept() {
    let ts = TestServer::start().await;
    ts.create_room("cas").await;
    ts.join_token("cas", "pat", false).await;
    type Set = fn(&mut quorum_server::rooms::ParticipantState);
    let changes: [Set; 9] = [
        |p| p.lock_settings.lock_microphone = Some(true),
        |p| p.lock_settings.lock_webcam = Some(true),
        |p| p.lock_settings.lock_screen_sharing = Some(true),
        |p| p.lock_settings.lock_chat = Some(true),
        |p| p.lock_settings.lock_chat_send_message = Some(true),
        |p| p.lock_settings.lock_chat_file_share = Some(true),
        |p| p.lock_settings.lock_private_chat = Some(true),
        |p| p.lock_settings.lock_whiteboard = Some(true),
        |p| p.hand_raised = true,
    ];
    let tasks: Vec<_> = changes
        .into_iter()
        .map(|set| {
            let rooms = ts.state.rooms.kv.clone();
            tokio::spawn(async move {
                rooms
                    .update_participant(&rid("cas"), &uid("pat"), |p| {
                        set(p);
                        true
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        let (_, changed) = t.await.unwrap().unwrap().expect("pat exists");
        assert!(changed);
    }
    let p = ts.participant("cas", "pat").await.unwrap();
    let l = &p.lock_settings;
    for (name, v) in [
        ("mic", l.lock_microphone),
        ("webcam", l.lock_webcam),
        ("screen", l.lock_screen_sharing),
        ("chat", l.lock_chat),
        ("send", l.lock_chat_send_message),
        ("files", l.lock_chat_file_share),
        ("private", l.lock_private_chat),
        ("whiteboard", l.lock_whiteboard),
    ] {
        assert_eq!(v, Some(true), "the {name} lock was lost: {p:?}");
    }
    assert!(p.hand_raised, "the hand was lost: {p:?}");
    // A new join token for the same user keeps what the session knows.
    ts.join_token("cas", "pat", false).await;
    let p = ts.participant("cas", "pat").await.unwrap();
    assert!(p.hand_raised, "{p:?}");
    assert_eq!(p.lock_settings.lock_chat, Some(true), "{p:?}");
    ts.stop().await;
}

/// Callouts run concurrently: of two logins of one user, the later one
/// holds the participant even if the earlier one's write comes last, and
/// the one replaced is named exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_login_never_replaces_a_newer_one() {
    let ts = TestServer::start().await;
    ts.create_room("lg").await;
    ts.join_token("lg", "pat", false).await;
    let kv = &ts.state.rooms.kv;
    let who = ts.participant("lg", "pat").await.unwrap();
    let access = Default::default();
    let login = |conn: &'static str, at: i64| {
        let who = who.clone();
        async move {
            let o = kv
                .set_online(&who, conn, None, access, at)
                .await
                .unwrap()
                .unwrap();
            (o.participant, o.replaced)
        }
    };
    let (p, replaced) = login("first", 1_000).await;
    assert_eq!((p.conn.as_deref(), replaced), (Some("first"), None));
    let (p, replaced) = login("newest", 3_000).await;
    assert_eq!(p.conn.as_deref(), Some("newest"));
    assert_eq!(replaced.as_deref(), Some("first"));
    // Begun before "newest", written after it: changes nothing.
    let (p, replaced) = login("slow", 2_000).await;
    assert_eq!((p.conn.as_deref(), replaced), (Some("newest"), None));
    ts.stop().await;
}
