//! Integration tests: a room session really ends, and identity is bound to
//! the session. `endRoom` drops every connection before the state goes and
//! answers the truth (an end whose cleanup fails is reported and can be
//! retried); a token of one session can't act in the next of the same room
//! id; `max_participants` holds at the callout, not only at verifyToken;
//! hidden participants are announced to moderators only; participants
//! can't join the server's queue groups; chat bursts are counted exactly.
//! Also `/metrics`. Run with
//! `cargo test -p quorum-server --test sessions`.

mod common;

use common::{rid, TestServer, STEP};
use serde_json::json;

const END: &str = "/auth/room/endRoom";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_drops_every_connection_and_the_next_session_is_apart() {
    let ts = TestServer::start().await;
    ts.create_room("s1").await;
    let t1 = ts.join_token("s1", "spy", false).await;
    let mut spy = ts.nats_connect(Some(&t1)).await.expect("spy");
    ts.wait_kickable("s1", "spy").await;
    let (code, v) = ts.signed_post(END, &json!({ "room_id": "s1" })).await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &json!(true)), "{v}");
    // By the time endRoom answered, the connection was kicked.
    assert!(
        spy.closed_within(STEP).await.is_some(),
        "a connection outlived endRoom"
    );
    // The next session of the same room id: the old token is refused
    // everywhere, even though the user is invited again.
    ts.create_room("s1").await;
    ts.join_token("s1", "spy", false).await;
    let (_, v) = ts.verify(&t1).await;
    assert_eq!(v["status"], json!(false), "verify: {v}");
    assert_eq!(
        ts.nats_connect(Some(&t1)).await.err().as_deref(),
        Some("Authorization Violation")
    );
    let renewed = ts.renew(&t1).await.1;
    assert_eq!(renewed["status"], json!(false), "renew: {renewed}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_being_ended_admits_and_keeps_nobody() {
    let ts = TestServer::start().await;
    ts.create_room("e1").await;
    let t = ts.join_token("e1", "late", false).await;
    // Claimed for ending (as an instance would while it cleans up).
    ts.state
        .rooms
        .kv
        .update_room(&rid("e1"), |r| {
            r.ending = Some(common::now() as i64);
            true
        })
        .await
        .unwrap();
    assert_eq!(
        ts.nats_connect(Some(&t)).await.err().as_deref(),
        Some("Authorization Violation"),
        "a room being ended admitted a connection"
    );
    let (_, v) = ts.verify(&t).await;
    assert_eq!(v["status"], json!(false), "verify: {v}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_end_is_reported_and_a_retry_finishes_it() {
    let ts = TestServer::start().await;
    ts.create_room("f1").await;
    let db = ts.data_dir().join("quorum.db");
    // Break the history database behind the server's back.
    let sql = |q: &str| {
        let c = rusqlite::Connection::open(&db).expect("open db");
        c.execute_batch(q).expect("sql");
    };
    sql("ALTER TABLE room_sessions RENAME TO room_sessions_away");
    let (code, v) = ts.signed_post(END, &json!({ "room_id": "f1" })).await;
    assert_eq!(code.as_u16(), 500, "a failed end answered {code}: {v}");
    assert_eq!(v["status"], json!(false));
    // Still running, not claimed for a minute: a retry may go ahead.
    let r = ts
        .state
        .rooms
        .kv
        .room(&rid("f1"))
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(r.ending, None, "the claim was not given back");
    sql("ALTER TABLE room_sessions_away RENAME TO room_sessions");
    let (code, v) = ts.signed_post(END, &json!({ "room_id": "f1" })).await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &json!(true)), "{v}");
    assert!(ts.state.rooms.kv.room(&rid("f1")).await.unwrap().is_none());
    // And once more: not running, said so.
    let (_, v) = ts.signed_post(END, &json!({ "room_id": "f1" })).await;
    assert_eq!(v["status_code"], "ROOM_NOT_ACTIVE", "{v}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_creation_leaves_nothing_half_made() {
    let ts = TestServer::start().await;
    let db = ts.data_dir().join("quorum.db");
    let sql = |q: &str| {
        let c = rusqlite::Connection::open(&db).expect("open db");
        c.execute_batch(q).expect("sql");
    };
    // The history row can't be written: the room must not run without it.
    sql("ALTER TABLE room_sessions RENAME TO room_sessions_away");
    let body = json!({ "room_id": "half", "metadata": { "room_title": "Half",
        "room_features": { "end_to_end_encryption_features": { "is_enabled": true } } } });
    let (code, v) = ts.signed_post("/auth/room/create", &body).await;
    assert_eq!(code.as_u16(), 500, "{v}");
    assert!(ts
        .state
        .rooms
        .kv
        .room(&rid("half"))
        .await
        .unwrap()
        .is_none());
    let js = async_nats::jetstream::new(ts.state.nats.client.clone());
    assert!(
        js.get_stream("QR_half").await.is_err(),
        "its stream was left"
    );
    let secrets = js.get_key_value("quorum-room-secrets").await.unwrap();
    let left: Vec<String> = futures::TryStreamExt::try_collect(secrets.keys().await.unwrap())
        .await
        .unwrap();
    assert!(left.is_empty(), "a room secret was left: {left:?}");
    // Once the database is back, the same request makes the whole room.
    sql("ALTER TABLE room_sessions_away RENAME TO room_sessions");
    let (code, v) = ts.signed_post("/auth/room/create", &body).await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &json!(true)), "{v}");
    let sid = v["room_info"]["sid"].as_str().unwrap().to_owned();
    assert!(ts.state.rooms.kv.room_secret(&sid).await.unwrap().is_some());
    assert!(ts.state.store.session(sid).await.unwrap().is_some());
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_participants_holds_at_the_callout() {
    let ts = TestServer::start_with(|c| c.presence_offline_secs = 1).await;
    let (code, v) = ts
        .signed_post(
            "/auth/room/create",
            &json!({ "room_id": "cap", "max_participants": 1, "metadata": { "room_title": "One" } }),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{v}");
    let a = ts.join_token("cap", "ann", false).await;
    let b = ts.join_token("cap", "bob", false).await;
    let ann = ts.nats_connect(Some(&a)).await.expect("ann");
    // Bob skips verifyToken and goes straight to NATS: refused.
    assert_eq!(
        ts.nats_connect(Some(&b)).await.err().as_deref(),
        Some("Authorization Violation")
    );
    // Ann's own reconnect is not counted against her.
    let ann2 = ts.nats_connect(Some(&a)).await.expect("ann again");
    drop(ann);
    ann2.close().await;
    // Once she is gone, bob gets the seat.
    assert!(
        ts.wait_presence("cap", "ann", quorum_server::rooms::Presence::Offline)
            .await
    );
    ts.nats_connect(Some(&b)).await.expect("bob once ann left");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_participants_are_announced_to_moderators_only() {
    let ts = TestServer::start().await;
    ts.create_room("h1").await;
    let m = ts.join_token("h1", "mod", true).await;
    let mut moderator = ts.nats_connect(Some(&m)).await.expect("mod");
    moderator
        .sub("qr.h1.private.mod")
        .await
        .expect("own private");
    let mut public = ts
        .nats_connect(Some(&ts.join_token("h1", "pat", false).await))
        .await
        .expect("pat");
    public.sub("qr.h1.public").await.expect("public");
    let (code, v) = ts
        .signed_post(
            "/auth/room/getJoinToken",
            &json!({ "room_id": "h1", "user_info": { "user_id": "ghost", "name": "Ghost",
                "is_admin": false, "is_hidden": true } }),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{v}");
    let ghost = ts
        .nats_connect(Some(v["token"].as_str().unwrap()))
        .await
        .expect("ghost");
    // The moderator hears of the ghost…
    let (subject, ev) = loop {
        let (s, ev) = common::next_json_raw(&mut moderator, STEP)
            .await
            .expect("an event");
        if ev["user_id"] == "ghost" {
            break (s, ev);
        }
    };
    assert_eq!(subject, "qr.h1.private.mod");
    assert_eq!(ev["state"], "online", "{ev}");
    // …the room does not: the next public event is a marker.
    ts.publish_marker("qr.h1.public", "after ghost").await;
    loop {
        let (_, ev) = common::next_json_raw(&mut public, STEP)
            .await
            .expect("an event");
        assert_ne!(ev["user_id"], "ghost", "the room was told of a hidden user");
        if ev == common::marker("after ghost") {
            break;
        }
    }
    // The integrator still sees everyone.
    let (_, info) = ts
        .signed_post("/auth/room/getActiveRoomInfo", &json!({ "room_id": "h1" }))
        .await;
    let ids: Vec<&str> = info["room"]["participants_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["identity"].as_str())
        .collect();
    assert!(ids.contains(&"ghost"), "{info}");
    ghost.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_cannot_join_the_servers_queue_groups() {
    let ts = TestServer::start().await;
    ts.create_room_with(
        "q1",
        json!({ "room_title": "Counted", "room_features": { "enable_analytics": true } }),
    )
    .await;
    let t = ts.join_token("q1", "eve", false).await;
    let mut eve = ts.nats_connect(Some(&t)).await.expect("eve");
    for queue in ["quorum-meter", "quorum-analytics", "anything"] {
        let err = eve
            .sub_queue("qr.q1.chat.*", queue)
            .await
            .expect_err("a participant joined a queue group");
        assert!(err.contains("Permissions Violation"), "{err}");
    }
    // Plain subscriptions still work, and chat is counted.
    let mut eve = ts.nats_connect(Some(&t)).await.expect("eve again");
    eve.sub("qr.q1.chat.*").await.expect("plain sub");
    for i in 0..3 {
        eve.publish("qr.q1.chat.eve", format!("m{i}").as_bytes())
            .await
            .expect("chat");
    }
    let counted = messages_sent(&ts, "q1", &["eve"], 3).await;
    assert_eq!(counted, [3], "chat not counted");
    ts.stop().await;
}

/// The messages `users` have sent in `room`'s session by the analytics
/// count, once each is `want` (or as last seen when that never comes).
async fn messages_sent(ts: &TestServer, room: &str, users: &[&str], want: u32) -> Vec<u32> {
    let sid = ts
        .state
        .rooms
        .kv
        .room(&rid(room))
        .await
        .unwrap()
        .unwrap()
        .sid;
    let last = std::cell::RefCell::new(Vec::new());
    common::eventually(STEP, || async {
        let c = ts.state.rooms.analytics.counts(&sid).await;
        let sent = |u: &&str| {
            c.as_ref()
                .and_then(|c| c.users.get(*u))
                .map_or(0, |u| u.messages_sent)
        };
        *last.borrow_mut() = users.iter().map(sent).collect();
        last.borrow().iter().all(|&n| n == want)
    })
    .await;
    last.into_inner()
}

/// The meter hands chat to a counting task that adds each sender's queued
/// messages up in one KV update: two senders' whole bursts, interleaved,
/// are each counted exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_chat_are_counted_exactly() {
    let ts = TestServer::start().await;
    ts.create_room_with(
        "q2",
        json!({ "room_title": "Counted", "room_features": { "enable_analytics": true } }),
    )
    .await;
    let mut senders = Vec::new();
    for user in ["eve", "fay"] {
        let t = ts.join_token("q2", user, false).await;
        senders.push((user, ts.nats_connect(Some(&t)).await.expect(user)));
    }
    // The whole burst each may send (`chat_burst`), in turns.
    for i in 0..20 {
        for (user, conn) in &mut senders {
            conn.publish(&format!("qr.q2.chat.{user}"), format!("m{i}").as_bytes())
                .await
                .expect("chat");
        }
    }
    let counted = messages_sent(&ts, "q2", &["eve", "fay"], 20).await;
    assert_eq!(counted, [20, 20], "counted (eve, fay)");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_describe_the_server() {
    let ts = TestServer::start_with(|c| c.metrics_token = "scrape-me".into()).await;
    ts.create_room("m1").await;
    let t = ts.join_token("m1", "ann", false).await;
    let _ann = ts.nats_connect(Some(&t)).await.expect("ann");
    assert_eq!(ts.get("/metrics").await.status().as_u16(), 401);
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", ts.base_url))
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status().as_u16(), 200);
    let text = res.text().await.unwrap();
    for name in [
        "quorum_rooms ",
        "quorum_participants{state=\"online\"}",
        "quorum_callout_decisions_total{outcome=\"authorized\"}",
        "quorum_jetstream_storage_bytes",
        "quorum_http_requests_total{",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    ts.stop().await;
    // Without a configured token the endpoint does not exist.
    let ts = TestServer::start().await;
    assert_eq!(ts.get("/metrics").await.status().as_u16(), 404);
    ts.stop().await;
}
