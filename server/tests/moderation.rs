//! Integration tests: moderators' actions over the worker subject, each
//! enforced by the server (a participant asking gets a typed refusal):
//! promote and demote (never the last moderator), room-wide locks for
//! present and later participants, locking the room, the waiting room
//! (events, snapshot, admit and deny all, the live message), microphones,
//! lowering every hand, ending the meeting, and reactions (known names,
//! locks, a budget). Run with `cargo test -p quorum-server --test moderation`.

mod common;

use common::raw_nats::RawNats;
use common::{ask, connect, next_json_raw, TestServer, STEP};
use quorum_shared::api::LockSettings;
use quorum_shared::ids::UserId;
use quorum_shared::moderation::Refusal;
use quorum_shared::worker::WorkerRequest;
use serde_json::{json, Value};

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

/// The next event on `conn` that is not presence, within STEP.
async fn next_event(conn: &mut RawNats) -> Value {
    loop {
        let (_, ev) = next_json_raw(conn, STEP).await.expect("an event");
        if ev["type"] != "presence" {
            return ev;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_get_typed_refusals_and_moderators_promote_and_demote() {
    let ts = TestServer::start().await;
    ts.create_room("m1").await;
    let mut m = connect(&ts, &ts.join_token("m1", "mod", true).await, "mod").await;
    let mut pat = connect(&ts, &ts.join_token("m1", "pat", false).await, "pat").await;
    pat.sub("qr.m1.private.pat").await.unwrap();
    let r = ask(&mut pat, "m1", "pat", WorkerRequest::EndRoom).await;
    assert_eq!((r.ok, r.code), (false, Some(Refusal::NotAllowed)), "{r:?}");
    // The last moderator stays one.
    let r = ask(
        &mut m,
        "m1",
        "mod",
        WorkerRequest::Demote {
            user_id: uid("mod"),
        },
    )
    .await;
    assert_eq!(r.code, Some(Refusal::Invalid), "{r:?}");
    // Promote pat: told, and now the server takes her orders.
    let r = ask(
        &mut m,
        "m1",
        "mod",
        WorkerRequest::Promote {
            user_id: uid("pat"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    assert_eq!(
        next_event(&mut pat).await,
        json!({ "type": "role_changed", "is_admin": true })
    );
    let r = ask(&mut pat, "m1", "pat", WorkerRequest::LowerAllHands).await;
    assert!(r.ok, "{r:?}");
    // Demote her again (two moderators: allowed): her orders are refused.
    let r = ask(
        &mut m,
        "m1",
        "mod",
        WorkerRequest::Demote {
            user_id: uid("pat"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let mut pat = connect(&ts, &ts.join_token("m1", "pat", false).await, "pat again").await;
    let r = ask(&mut pat, "m1", "pat", WorkerRequest::LowerAllHands).await;
    assert_eq!(r.code, Some(Refusal::NotAllowed), "{r:?}");
    // Acting on someone gone is a clear "not found".
    let r = ask(
        &mut m,
        "m1",
        "mod",
        WorkerRequest::Promote {
            user_id: uid("ghost"),
        },
    )
    .await;
    assert_eq!(r.code, Some(Refusal::NotFound), "{r:?}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_wide_locks_apply_now_and_to_later_joiners_but_not_moderators() {
    let ts = TestServer::start().await;
    ts.create_room("m2").await;
    let mut m = connect(&ts, &ts.join_token("m2", "mod", true).await, "mod").await;
    let t = ts.join_token("m2", "ann", false).await;
    let mut ann = connect(&ts, &t, "ann").await;
    ann.sub("qr.m2.private.ann").await.unwrap();
    ts.wait_kickable("m2", "ann").await;
    let locks = LockSettings {
        lock_chat: Some(true),
        ..Default::default()
    };
    let r = ask(&mut m, "m2", "mod", WorkerRequest::SetRoomLocks { locks }).await;
    assert!(r.ok, "{r:?}");
    let ev = next_event(&mut ann).await;
    assert_eq!(
        (&ev["type"], &ev["chat_locked"]),
        (&json!("locks_changed"), &json!(true))
    );
    assert!(
        ann.closed_within(STEP).await.is_some(),
        "not moved to locked access"
    );
    let mut ann = connect(&ts, &t, "ann again").await;
    assert!(
        ann.publish("qr.m2.chat.ann", b"x").await.is_err(),
        "ann still chats"
    );
    // Someone joining later is locked too; the moderator is not.
    let mut bob = connect(&ts, &ts.join_token("m2", "bob", false).await, "bob").await;
    assert!(
        bob.publish("qr.m2.chat.bob", b"x").await.is_err(),
        "bob chats"
    );
    m.publish("qr.m2.chat.mod", b"ok")
        .await
        .expect("the moderator chats");
    // The snapshot says so.
    let r = ask(&mut m, "m2", "mod", WorkerRequest::Snapshot).await;
    let snap = r.snapshot.expect("a snapshot");
    assert_eq!(snap.settings.room_locks.lock_chat, Some(true));
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_room_takes_nobody_new() {
    let ts = TestServer::start().await;
    ts.create_room("m3").await;
    let mut m = connect(&ts, &ts.join_token("m3", "mod", true).await, "mod").await;
    let was_in = ts.join_token("m3", "ann", false).await;
    connect(&ts, &was_in, "ann").await.close().await;
    let r = ask(
        &mut m,
        "m3",
        "mod",
        WorkerRequest::LockRoom { locked: true },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let new = ts.join_token("m3", "newbie", false).await;
    let (_, v) = ts.verify(&new).await;
    assert_eq!(v["status"], json!(false), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("locked"), "{v}");
    assert!(ts.nats_connect(Some(&new)).await.is_err(), "newbie got in");
    // Someone who was in may come back.
    assert!(
        ts.wait_presence("m3", "ann", quorum_server::rooms::Presence::Disconnected)
            .await
    );
    connect(&ts, &was_in, "ann back").await;
    let r = ask(
        &mut m,
        "m3",
        "mod",
        WorkerRequest::LockRoom { locked: false },
    )
    .await;
    assert!(r.ok, "{r:?}");
    connect(&ts, &new, "newbie, once open").await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_run_the_waiting_room() {
    let ts = TestServer::start().await;
    ts.create_room_with(
        "m4",
        json!({ "room_title": "W", "room_features": { "waiting_room_features": { "is_active": true } } }),
    )
    .await;
    let mut m = connect(&ts, &ts.join_token("m4", "mod", true).await, "mod").await;
    m.sub("qr.m4.private.mod").await.unwrap();
    let mut waiters = Vec::new();
    for who in ["w1", "w2", "w3"] {
        let mut c = connect(&ts, &ts.join_token("m4", who, false).await, who).await;
        c.sub(&format!("qr.m4.private.{who}")).await.unwrap();
        let ev = next_event(&mut m).await;
        assert_eq!(
            (&ev["type"], &ev["user_id"], &ev["waiting"]),
            (&json!("waiting"), &json!(who), &json!(true))
        );
        waiters.push(c);
    }
    let snap = ask(&mut m, "m4", "mod", WorkerRequest::Snapshot)
        .await
        .snapshot
        .unwrap();
    let names: Vec<&str> = snap.waiting.iter().map(|w| w.user_id.as_str()).collect();
    assert_eq!(names, ["w1", "w2", "w3"]);
    // The message, live, to those waiting.
    let r = ask(
        &mut m,
        "m4",
        "mod",
        WorkerRequest::SetWaitingMessage {
            text: "Five minutes".into(),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    for c in &mut waiters {
        assert_eq!(
            next_event(c).await,
            json!({ "type": "waiting_message", "text": "Five minutes" })
        );
    }
    let r = ask(
        &mut m,
        "m4",
        "mod",
        WorkerRequest::Approve { user_id: uid("w1") },
    )
    .await;
    assert!(r.ok, "{r:?}");
    assert_eq!(next_event(&mut waiters[0]).await["type"], "approved");
    let r = ask(&mut m, "m4", "mod", WorkerRequest::RejectAll).await;
    assert!(r.ok, "{r:?}");
    for c in &mut waiters[1..] {
        assert_eq!(
            next_event(c).await,
            json!({ "type": "removed", "blocked": false })
        );
    }
    let snap = ask(&mut m, "m4", "mod", WorkerRequest::Snapshot)
        .await
        .snapshot
        .unwrap();
    assert!(snap.waiting.is_empty(), "{:?}", snap.waiting);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microphones_hands_and_the_end() {
    let ts = TestServer::start().await;
    ts.create_room("m5").await;
    let mut m = connect(&ts, &ts.join_token("m5", "mod", true).await, "mod").await;
    let mut ann = connect(&ts, &ts.join_token("m5", "ann", false).await, "ann").await;
    ann.sub("qr.m5.private.ann").await.unwrap();
    ann.sub("qr.m5.public").await.unwrap();
    ask(
        &mut m,
        "m5",
        "mod",
        WorkerRequest::Mute {
            user_id: uid("ann"),
        },
    )
    .await;
    assert_eq!(
        next_event(&mut ann).await,
        json!({ "type": "microphone", "muted": true, "ask_unmute": false })
    );
    ask(
        &mut m,
        "m5",
        "mod",
        WorkerRequest::AskToUnmute {
            user_id: uid("ann"),
        },
    )
    .await;
    assert_eq!(
        next_event(&mut ann).await,
        json!({ "type": "microphone", "muted": false, "ask_unmute": true })
    );
    assert!(
        ask(&mut ann, "m5", "ann", WorkerRequest::RaiseHand)
            .await
            .ok
    );
    assert_eq!(
        next_event(&mut ann).await,
        json!({ "type": "hand", "user_id": "ann", "raised": true })
    );
    assert!(
        ask(&mut m, "m5", "mod", WorkerRequest::LowerAllHands)
            .await
            .ok
    );
    assert_eq!(
        next_event(&mut ann).await,
        json!({ "type": "hand", "user_id": "ann", "raised": false })
    );
    assert!(ask(&mut m, "m5", "mod", WorkerRequest::EndRoom).await.ok);
    let ev = next_event(&mut ann).await;
    assert_eq!(ev["type"], "session_ended", "{ev}");
    // The end drops every connection once announced, then the state goes.
    assert!(
        ann.closed_within(STEP).await.is_some(),
        "ann outlived the end"
    );
    let gone = common::eventually(STEP, || async {
        ts.state
            .rooms
            .kv
            .room(&common::rid("m5"))
            .await
            .unwrap()
            .is_none()
    })
    .await;
    assert!(gone, "the room outlived the end");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_known_lockable_and_budgeted() {
    let ts = TestServer::start().await;
    ts.create_room("m6").await;
    let mut m = connect(&ts, &ts.join_token("m6", "mod", true).await, "mod").await;
    let mut ann = connect(&ts, &ts.join_token("m6", "ann", false).await, "ann").await;
    m.sub("qr.m6.public").await.unwrap();
    let r = ask(
        &mut ann,
        "m6",
        "ann",
        WorkerRequest::React {
            payload: "clap".into(),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let ev = next_event(&mut m).await;
    assert_eq!(
        (&ev["type"], &ev["user_id"], &ev["payload"]),
        (&json!("reaction"), &json!("ann"), &json!("clap"))
    );
    let r = ask(
        &mut ann,
        "m6",
        "ann",
        WorkerRequest::React {
            payload: "<script>".into(),
        },
    )
    .await;
    assert_eq!(r.code, Some(Refusal::Invalid), "{r:?}");
    let mut limited = None;
    for _ in 0..10 {
        let r = ask(
            &mut ann,
            "m6",
            "ann",
            WorkerRequest::React {
                payload: "heart".into(),
            },
        )
        .await;
        if !r.ok {
            limited = r.code;
            break;
        }
    }
    assert_eq!(limited, Some(Refusal::RateLimited));
    let locks = LockSettings {
        lock_reactions: Some(true),
        ..Default::default()
    };
    let r = ask(
        &mut m,
        "m6",
        "mod",
        WorkerRequest::SetLocks {
            user_id: uid("ann"),
            locks,
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let mut ann = connect(&ts, &ts.join_token("m6", "ann", false).await, "ann again").await;
    let r = ask(
        &mut ann,
        "m6",
        "ann",
        WorkerRequest::React {
            payload: "party".into(),
        },
    )
    .await;
    assert_eq!(r.code, Some(Refusal::NotAllowed), "{r:?}");
    ts.stop().await;
}
