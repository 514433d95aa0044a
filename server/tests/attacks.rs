//! Attack suite for the real-time layer: a native raw NATS client (the shared
//! codec over TCP) tries what a malicious participant would (speaking as
//! someone else, renewing their token, chatting while waiting or locked,
//! moderator actions, JetStream beyond its room's history, and aiming replies
//! at other subjects), and each refusal by nats-server or the server is
//! asserted. Run: `cargo test -p quorum-server --test attacks`.

mod common;

use std::time::Duration;

use common::raw_nats::RawNats;
use common::{ask, connect, next_json, now, rid, uid, worker_request, TestServer, STEP};
use quorum_shared::api::LockSettings;
use quorum_shared::worker::{WorkerReply, WorkerRequest, RENEW_GRACE_SECS};
use serde_json::{json, Value};

/// How long we listen where no later message can prove that something
/// did *not* arrive (see `replies_cannot_be_aimed_at_other_subjects`).
const QUIET: Duration = Duration::from_millis(500);
/// A kicked connection must close within this.
const KICKED_WITHIN: Duration = Duration::from_secs(5);

/// Asserts nats-server's exact refusal of a publish to `subject`.
#[track_caller]
fn assert_pub_refused<T: std::fmt::Debug>(res: Result<T, String>, subject: &str) {
    match res {
        Ok(v) => panic!("PUB {subject} was allowed: {v:?}"),
        Err(e) => assert_eq!(
            e,
            format!("Permissions Violation for Publish to \"{subject}\""),
            "PUB {subject}"
        ),
    }
}

/// Asserts nats-server's exact refusal of a subscription to `subject`.
#[track_caller]
fn assert_sub_refused(res: Result<(), String>, subject: &str) {
    match res {
        Ok(()) => panic!("SUB {subject} was allowed"),
        Err(e) => assert_eq!(
            e,
            format!("Permissions Violation for Subscription to \"{subject}\""),
            "SUB {subject}"
        ),
    }
}

/// Asserts a worker refusal whose reason contains `why`.
#[track_caller]
fn assert_refused(reply: &WorkerReply, why: &str) {
    assert!(!reply.ok, "{reply:?}");
    assert!(reply.token.is_none(), "{reply:?}");
    let err = reply.error.as_deref().unwrap_or_default();
    assert!(err.contains(why), "expected {why:?} in {reply:?}");
}

/// Stores a chat lock for `user` without kicking or telling anyone: a
/// change whose kick was lost, or the state a later request builds on.
async fn lock_chat_behind_its_back(ts: &TestServer, room: &str, user: &str) {
    ts.state
        .rooms
        .kv
        .update_participant(&rid(room), &uid(user), |p| {
            p.lock_settings.lock_chat = Some(true);
            true
        })
        .await
        .expect("kv")
        .expect("a participant");
}

/// The next message on `conn` as JSON, whatever its subject.
async fn next_event(conn: &mut RawNats, within: Duration) -> Option<(String, Value)> {
    next_json(conn, within).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_as_another_user_is_refused() {
    let ts = TestServer::start().await;
    ts.create_room("a1").await;
    let alice_t = ts.join_token("a1", "alice", false).await;
    let bob_t = ts.join_token("a1", "bob", false).await;
    let mut alice = connect(&ts, &alice_t, "alice").await;
    let mut bob = connect(&ts, &bob_t, "bob").await;
    bob.sub("qr.a1.chat.*").await.expect("bob: room chat");

    assert_pub_refused(
        alice.publish("qr.a1.chat.bob", b"forged").await,
        "qr.a1.chat.bob",
    );
    // The connection survives the refusal; the first thing bob hears is
    // alice's genuine marker, under her own name.
    alice
        .publish("qr.a1.chat.alice", b"marker")
        .await
        .expect("own chat");
    let m = bob.next_msg(STEP).await.unwrap().expect("marker");
    assert_eq!(
        (m.subject.as_str(), m.payload.as_slice()),
        ("qr.a1.chat.alice", &b"marker"[..])
    );
    let more = bob.drain().await.expect("bob's connection");
    assert!(more.is_empty(), "bob got more: {more:?}");

    alice.close().await;
    bob.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_renewal_is_bound_to_the_caller() {
    let ts = TestServer::start().await;
    ts.create_room("a2").await;
    let alice_t = ts.join_token("a2", "alice", false).await;
    let bob_t = ts.join_token("a2", "bob", false).await;
    let mut alice = connect(&ts, &alice_t, "alice").await;

    // Bob's genuine, valid token sent on alice's own worker subject.
    let r = ask(
        &mut alice,
        "a2",
        "alice",
        WorkerRequest::RenewToken {
            token: bob_t.clone(),
        },
    )
    .await;
    assert_refused(&r, "does not belong");
    // Speaking on bob's worker subject is refused by nats-server itself.
    let res = worker_request(
        &mut alice,
        "a2",
        "bob",
        &WorkerRequest::RenewToken { token: bob_t },
    )
    .await;
    assert_pub_refused(res, "qr.a2.worker.bob");

    // Her own token, expired a minute ago: renewed.
    let secret = ts.api_secret();
    let t = now();
    let expired = ts.craft_token(&secret, "a2", "alice", t - 120, t - 60);
    assert!(
        ts.state.tokens.verify(&expired).is_err(),
        "crafted as expired"
    );
    let r = ask(
        &mut alice,
        "a2",
        "alice",
        WorkerRequest::RenewToken { token: expired },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let fresh = r.token.expect("renewed token");
    let claims = ts
        .state
        .tokens
        .verify(&fresh)
        .expect("renewed token verifies");
    assert_eq!(
        (claims.room_id.as_str(), claims.user_id.as_str()),
        ("a2", "alice")
    );
    assert!(claims.exp > now(), "{claims:?}");
    assert!(!claims.is_admin, "renewal never promotes: {claims:?}");

    // Expired beyond the grace period: refused.
    let stale = ts.craft_token(
        &secret,
        "a2",
        "alice",
        t - RENEW_GRACE_SECS - 120,
        t - RENEW_GRACE_SECS - 60,
    );
    let r = ask(
        &mut alice,
        "a2",
        "alice",
        WorkerRequest::RenewToken { token: stale },
    )
    .await;
    assert_refused(&r, "expired");
    // Signed with another secret: refused.
    let forged = ts.craft_token("not-the-secret", "a2", "alice", t - 10, t + 600);
    let r = ask(
        &mut alice,
        "a2",
        "alice",
        WorkerRequest::RenewToken { token: forged },
    )
    .await;
    assert_refused(&r, "invalid");

    alice.close().await;
    ts.stop().await;
}

fn waiting_room() -> Value {
    json!({ "room_title": "Waiting",
        "room_features": { "waiting_room_features": { "is_active": true } } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_user_can_only_wait_until_approved() {
    let ts = TestServer::start().await;
    ts.create_room_with("a3", waiting_room()).await;
    let mod_t = ts.join_token("a3", "mod", true).await;
    let wendy_t = ts.join_token("a3", "wendy", false).await;
    assert!(
        ts.participant("a3", "wendy")
            .await
            .unwrap()
            .wait_for_approval
    );

    let mut wendy = connect(&ts, &wendy_t, "wendy").await;
    wendy
        .sub("qr.a3.private.wendy")
        .await
        .expect("own private subject");
    wendy.sub("_INBOX.a3.wendy.x").await.expect("own inbox");
    assert_pub_refused(
        wendy.publish("qr.a3.chat.wendy", b"hi").await,
        "qr.a3.chat.wendy",
    );
    assert_sub_refused(wendy.sub("qr.a3.chat.*").await, "qr.a3.chat.*");
    assert_sub_refused(wendy.sub("qr.a3.public").await, "qr.a3.public");
    assert_pub_refused(
        worker_request(&mut wendy, "a3", "wendy", &WorkerRequest::RaiseHand).await,
        "qr.a3.worker.wendy",
    );
    assert_pub_refused(
        wendy.publish("$JS.API.DIRECT.GET.QR_a3", b"{}").await,
        "$JS.API.DIRECT.GET.QR_a3",
    );

    let mut moderator = connect(&ts, &mod_t, "mod").await;
    ts.wait_kickable("a3", "wendy").await;
    let r = ask(
        &mut moderator,
        "a3",
        "mod",
        WorkerRequest::Approve {
            user_id: uid("wendy"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");

    // The approval (with a fresh token) arrives, then the connection drops.
    let (subject, ev) = next_event(&mut wendy, STEP).await.expect("approved event");
    assert_eq!(subject, "qr.a3.private.wendy");
    assert_eq!(ev["type"], "approved", "{ev}");
    let token = ev["token"].as_str().expect("token").to_owned();
    let claims = ts.state.tokens.verify(&token).expect("token verifies");
    assert_eq!(
        (claims.room_id.as_str(), claims.user_id.as_str()),
        ("a3", "wendy")
    );
    let why = wendy.closed_within(KICKED_WITHIN).await;
    assert!(why.is_some(), "wendy's waiting connection was not kicked");
    assert!(
        !ts.participant("a3", "wendy")
            .await
            .unwrap()
            .wait_for_approval
    );

    // Reconnected with the new token: full permissions.
    let mut wendy = connect(&ts, &token, "wendy again").await;
    wendy.sub("qr.a3.chat.*").await.expect("room chat now");
    wendy
        .publish("qr.a3.chat.wendy", b"hello")
        .await
        .expect("chat now");
    let m = wendy.next_msg(STEP).await.unwrap().expect("own echo");
    assert_eq!(m.subject, "qr.a3.chat.wendy");

    wendy.close().await;
    moderator.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_locked_user_cannot_chat() {
    let ts = TestServer::start().await;

    // Locked by the room's defaults; moderators are never locked.
    ts.create_room_with(
        "a4",
        json!({ "room_title": "Locked", "default_lock_settings": { "lock_chat": true } }),
    )
    .await;
    let lara_t = ts.join_token("a4", "lara", false).await;
    let mod_t = ts.join_token("a4", "mod", true).await;
    let mut lara = connect(&ts, &lara_t, "lara").await;
    let mut moderator = connect(&ts, &mod_t, "mod").await;
    assert_pub_refused(
        lara.publish("qr.a4.chat.lara", b"hi").await,
        "qr.a4.chat.lara",
    );
    // Still a participant otherwise: hears chat, may use the worker.
    lara.sub("qr.a4.chat.*")
        .await
        .expect("locked user still hears");
    let r = ask(&mut lara, "a4", "lara", WorkerRequest::RaiseHand).await;
    assert!(r.ok, "{r:?}");
    moderator
        .publish("qr.a4.chat.mod", b"moderator speaks")
        .await
        .expect("moderator is not locked");
    let m = lara
        .next_msg(STEP)
        .await
        .unwrap()
        .expect("moderator's chat");
    assert_eq!(m.subject, "qr.a4.chat.mod");
    lara.close().await;

    // Locked live: the target hears it, is kicked, and reconnects locked.
    ts.create_room("a4b").await;
    let leo_t = ts.join_token("a4b", "leo", false).await;
    let mod_t = ts.join_token("a4b", "mod", true).await;
    let mut leo = connect(&ts, &leo_t, "leo").await;
    leo.sub("qr.a4b.private.leo").await.expect("own private");
    leo.publish("qr.a4b.chat.leo", b"free")
        .await
        .expect("not locked yet");
    let mut moderator = connect(&ts, &mod_t, "mod").await;
    ts.wait_kickable("a4b", "leo").await;
    let locks = LockSettings {
        lock_chat: Some(true),
        ..LockSettings::default()
    };
    let r = ask(
        &mut moderator,
        "a4b",
        "mod",
        WorkerRequest::SetLocks {
            user_id: uid("leo"),
            locks,
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let (subject, ev) = next_event(&mut leo, STEP).await.expect("locks_changed");
    assert_eq!(subject, "qr.a4b.private.leo");
    assert_eq!(
        (&ev["type"], &ev["chat_locked"]),
        (&json!("locks_changed"), &json!(true)),
        "{ev}"
    );
    assert_eq!(ev["locks"]["lock_chat"], json!(true), "{ev}");
    assert!(
        leo.closed_within(KICKED_WITHIN).await.is_some(),
        "leo was not kicked"
    );
    let stored = ts.participant("a4b", "leo").await.unwrap();
    assert_eq!(stored.lock_settings.lock_chat, Some(true));

    let mut leo = connect(&ts, &leo_t, "leo again").await;
    assert_pub_refused(
        leo.publish("qr.a4b.chat.leo", b"hi").await,
        "qr.a4b.chat.leo",
    );

    leo.close().await;
    moderator.close().await;
    ts.stop().await;
}

/// A lock (or approval, or newer login) that lands between the callout and
/// nats-server's connect advisory cannot kick the connection yet: its client
/// id is not known. The advisory must catch it up, or the connection would
/// keep its old allow-lists while the UI says otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_that_missed_the_connection_is_enforced_once_it_is_known() {
    let ts = TestServer::start().await;
    ts.create_room("a4c").await;
    let lia_t = ts.join_token("a4c", "lia", false).await;
    let mut lia = connect(&ts, &lia_t, "lia").await;
    ts.wait_kickable("a4c", "lia").await;
    let conn = ts.participant("a4c", "lia").await.unwrap().conn.unwrap();
    let info = ts.state.rooms.kv.conn_info(&conn).await.unwrap().unwrap();
    let (cid, server) = (info.cid.unwrap(), info.server_id.unwrap());
    let advisory = || ts.state.rooms.connected(&conn, cid, &server);

    // Up to date: the advisory leaves it alone. A kick would have been
    // carried out (nats-server answers KICK after closing) before the
    // advisory returns, so the connection must still answer a PING.
    advisory().await.expect("advisory");
    lia.ping()
        .await
        .unwrap_or_else(|e| panic!("an up-to-date connection was kicked: {e}"));

    // The lock is stored but its kick was lost: the old allow-list holds...
    lock_chat_behind_its_back(&ts, "a4c", "lia").await;
    lia.publish("qr.a4c.chat.lia", b"old allow-list")
        .await
        .expect("still the old allow-list");
    // ...until the advisory compares it with what lia may do now.
    advisory().await.expect("advisory");
    assert!(
        lia.closed_within(KICKED_WITHIN).await.is_some(),
        "the out-of-date connection was not kicked"
    );
    let mut lia = connect(&ts, &lia_t, "lia again").await;
    assert_pub_refused(
        lia.publish("qr.a4c.chat.lia", b"hi").await,
        "qr.a4c.chat.lia",
    );
    lia.close().await;
    ts.stop().await;
}

/// A fresh join token for someone already in the session keeps the locks
/// a moderator set since; one that sets locks itself applies them to the
/// live connection, as a moderator's change does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_join_token_keeps_a_moderators_lock_unless_it_sets_one() {
    let ts = TestServer::start().await;
    ts.create_room("a4d").await;
    let token = ts.join_token("a4d", "lia", false).await;
    let mut lia = connect(&ts, &token, "lia").await;
    lia.sub("qr.a4d.private.lia").await.expect("own private");
    ts.wait_kickable("a4d", "lia").await;
    lock_chat_behind_its_back(&ts, "a4d", "lia").await;

    ts.join_token("a4d", "lia", false).await;
    let p = ts.participant("a4d", "lia").await.unwrap();
    assert_eq!(p.lock_settings.lock_chat, Some(true), "the lock was undone");
    // Nothing changed: the API answers only after telling and kicking, so
    // by now lia would have the event and be gone.
    let events = ts.settled_events(&mut lia).await;
    assert!(events.is_empty(), "nothing changed: {events:?}");

    let (code, v) = ts
        .signed_post(
            "/auth/room/getJoinToken",
            &json!({ "room_id": "a4d", "user_info": { "user_id": "lia", "name": "Lia",
                "is_admin": false, "user_metadata": { "lock_settings": { "lock_chat": false } } } }),
        )
        .await;
    assert!(code.is_success(), "{v}");
    let p = ts.participant("a4d", "lia").await.unwrap();
    assert_eq!(p.lock_settings.lock_chat, Some(false));
    let (subject, ev) = next_event(&mut lia, STEP).await.expect("locks_changed");
    assert_eq!(subject, "qr.a4d.private.lia");
    assert_eq!(
        (&ev["type"], &ev["chat_locked"]),
        (&json!("locks_changed"), &json!(false)),
        "{ev}"
    );
    assert!(
        lia.closed_within(KICKED_WITHIN).await.is_some(),
        "the connection kept its old allow-lists"
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_moderators_lower_someone_elses_hand() {
    let ts = TestServer::start().await;
    ts.create_room("a5").await;
    let alice_t = ts.join_token("a5", "alice", false).await;
    let bob_t = ts.join_token("a5", "bob", false).await;
    let mod_t = ts.join_token("a5", "mod", true).await;
    let mut alice = connect(&ts, &alice_t, "alice").await;
    let mut bob = connect(&ts, &bob_t, "bob").await;
    let mut moderator = connect(&ts, &mod_t, "mod").await;
    let mut watcher = connect(&ts, &ts.join_token("a5", "watcher", false).await, "w").await;
    watcher.sub("qr.a5.public").await.expect("public");
    let hand =
        |user: &str, raised: bool| json!({ "type": "hand", "user_id": user, "raised": raised });
    let hand_raised = |user: &'static str| {
        let ts = &ts;
        async move { ts.participant("a5", user).await.unwrap().hand_raised }
    };

    let r = ask(&mut bob, "a5", "bob", WorkerRequest::RaiseHand).await;
    assert!(r.ok, "{r:?}");
    let (_, ev) = next_event(&mut watcher, STEP).await.expect("hand event");
    assert_eq!(ev, hand("bob", true));
    let r = ask(&mut alice, "a5", "alice", WorkerRequest::RaiseHand).await;
    assert!(r.ok, "{r:?}");
    let (_, ev) = next_event(&mut watcher, STEP).await.expect("hand event");
    assert_eq!(ev, hand("alice", true));

    let r = ask(
        &mut alice,
        "a5",
        "alice",
        WorkerRequest::LowerHand {
            user_id: uid("bob"),
        },
    )
    .await;
    assert_refused(&r, "only moderators");
    assert!(hand_raised("bob").await, "bob's hand was lowered");
    // The worker publishes a request's events before its reply, on the
    // same connection: any event of the refused request is out already.
    let events = ts.settled_events(&mut watcher).await;
    assert!(events.is_empty(), "{events:?}");

    // Her own hand: fine.
    let r = ask(
        &mut alice,
        "a5",
        "alice",
        WorkerRequest::LowerHand {
            user_id: uid("alice"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let (_, ev) = next_event(&mut watcher, STEP).await.expect("hand event");
    assert_eq!(ev, hand("alice", false));
    assert!(!hand_raised("alice").await);

    // A moderator may lower bob's.
    let r = ask(
        &mut moderator,
        "a5",
        "mod",
        WorkerRequest::LowerHand {
            user_id: uid("bob"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let (_, ev) = next_event(&mut watcher, STEP).await.expect("hand event");
    assert_eq!(ev, hand("bob", false));
    assert!(!hand_raised("bob").await);

    for c in [alice, bob, moderator, watcher] {
        c.close().await;
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_cannot_act_as_moderators() {
    let ts = TestServer::start().await;
    ts.create_room_with("a6", waiting_room()).await;
    let mod_t = ts.join_token("a6", "mod", true).await;
    let mut moderator = connect(&ts, &mod_t, "mod").await;
    // Alice and bob were let in; carol still waits.
    for user in ["alice", "bob"] {
        ts.join_token("a6", user, false).await;
        let r = ask(
            &mut moderator,
            "a6",
            "mod",
            WorkerRequest::Approve { user_id: uid(user) },
        )
        .await;
        assert!(r.ok, "{r:?}");
    }
    let alice_t = ts.join_token("a6", "alice", false).await;
    let bob_t = ts.join_token("a6", "bob", false).await;
    let carol_t = ts.join_token("a6", "carol", false).await;
    let mut alice = connect(&ts, &alice_t, "alice").await;
    let mut bob = connect(&ts, &bob_t, "bob").await;
    let mut carol = connect(&ts, &carol_t, "carol").await;
    bob.sub("qr.a6.private.bob").await.expect("bob private");
    carol
        .sub("qr.a6.private.carol")
        .await
        .expect("carol private");
    // Make sure a kick, if one were (wrongly) sent, would land.
    ts.wait_kickable("a6", "bob").await;
    ts.wait_kickable("a6", "carol").await;
    let bob_before = ts.participant("a6", "bob").await.unwrap();
    let carol_before = ts.participant("a6", "carol").await.unwrap();
    assert!(!bob_before.wait_for_approval && carol_before.wait_for_approval);

    let attempts = [
        WorkerRequest::SetLocks {
            user_id: uid("bob"),
            locks: LockSettings {
                lock_chat: Some(true),
                ..LockSettings::default()
            },
        },
        WorkerRequest::Approve {
            user_id: uid("carol"),
        },
        WorkerRequest::Reject {
            user_id: uid("carol"),
        },
        WorkerRequest::Remove {
            user_id: uid("bob"),
            block: true,
        },
        WorkerRequest::Remove {
            user_id: uid("carol"),
            block: false,
        },
    ];
    for req in attempts {
        let r = ask(&mut alice, "a6", "alice", req.clone()).await;
        assert_refused(&r, "only moderators");
    }

    // Nothing changed: same state, no event, no kick.
    assert_eq!(
        ts.participant("a6", "bob").await.as_ref(),
        Some(&bob_before)
    );
    assert_eq!(
        ts.participant("a6", "carol").await.as_ref(),
        Some(&carol_before)
    );
    let room = ts
        .state
        .rooms
        .kv
        .room(&common::rid("a6"))
        .await
        .unwrap()
        .unwrap();
    assert!(room.blocked.is_empty(), "{:?}", room.blocked);
    // The worker tells and kicks before it replies: by the time alice had
    // her refusals, any event is out and any kick done.
    for (name, conn) in [("bob", &mut bob), ("carol", &mut carol)] {
        let events = conn
            .drain()
            .await
            .unwrap_or_else(|e| panic!("{name} was kicked: {e}"));
        assert!(events.is_empty(), "{name} got an event: {events:?}");
    }
    bob.publish("qr.a6.chat.bob", b"still free")
        .await
        .expect("bob is not locked");

    // The same requests from the moderator take effect: removed for good,
    // turned away, each told, kicked, and refused on reconnect.
    let r = ask(
        &mut moderator,
        "a6",
        "mod",
        WorkerRequest::Remove {
            user_id: uid("bob"),
            block: true,
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let r = ask(
        &mut moderator,
        "a6",
        "mod",
        WorkerRequest::Reject {
            user_id: uid("carol"),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    for (name, conn, token, blocked) in [
        ("bob", &mut bob, &bob_t, true),
        ("carol", &mut carol, &carol_t, false),
    ] {
        let (subject, ev) = next_event(conn, STEP).await.expect("removed event");
        assert_eq!(subject, format!("qr.a6.private.{name}"));
        assert_eq!(ev, json!({ "type": "removed", "blocked": blocked }));
        assert!(
            conn.closed_within(KICKED_WITHIN).await.is_some(),
            "{name} was not kicked"
        );
        assert!(
            ts.participant("a6", name).await.is_none(),
            "{name} still in"
        );
        let again = ts.nats_connect(Some(token)).await.err();
        assert_eq!(again.as_deref(), Some("Authorization Violation"), "{name}");
    }
    let room = ts
        .state
        .rooms
        .kv
        .room(&common::rid("a6"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(room.blocked, vec![uid("bob")]);

    for c in [alice, bob, carol, moderator] {
        c.close().await;
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_access_is_read_only_and_room_scoped() {
    let ts = TestServer::start().await;
    ts.create_room("a7").await;
    ts.create_room("a7x").await;
    let alice_t = ts.join_token("a7", "alice", false).await;
    let carol_t = ts.join_token("a7x", "carol", false).await;
    // Carol's join creates the other room's stream, so refusals below are
    // about permissions, not a missing stream.
    let mut carol = connect(&ts, &carol_t, "carol").await;
    carol
        .publish("qr.a7x.chat.carol", b"other room secret")
        .await
        .expect("carol chats");
    // Her history subject is the one /api/verifyToken hands out.
    let (code, v) = ts.verify(&alice_t).await;
    assert_eq!(code, reqwest::StatusCode::OK, "{v}");
    let history = v["session"]["subjects"]["direct_get"]
        .as_str()
        .expect("direct_get")
        .to_owned();
    assert_eq!(history, "qr.a7.history.alice", "{v}");
    let mut alice = connect(&ts, &alice_t, "alice").await;
    alice
        .publish("qr.a7.chat.alice", b"hello history")
        .await
        .expect("chat");

    // A direct get of the first message of her room's stream.
    let m = alice
        .request(&history, br#"{"seq":1}"#, STEP)
        .await
        .expect("direct get by sequence");
    let h = m.headers.as_ref().expect("direct get answers with headers");
    assert_eq!(h.status, None, "{h:?}");
    assert_eq!(h.get("Nats-Stream"), Some("QR_a7"), "{h:?}");
    assert_eq!(h.get("Nats-Sequence"), Some("1"), "{h:?}");
    assert!(
        h.get("Nats-Subject")
            .is_some_and(|s| s.starts_with("qr.a7.")),
        "{h:?}"
    );
    // And her chat message by subject (the stream stores it asynchronously).
    let deadline = tokio::time::Instant::now() + STEP;
    let m = loop {
        let m = alice
            .request(&history, br#"{"last_by_subj":"qr.a7.chat.alice"}"#, STEP)
            .await
            .expect("direct get by subject");
        if m.headers.as_ref().is_some_and(|h| h.status.is_none()) {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chat message never reached the room stream: {m:?}"
        );
        // Polling until the message is stored, not waiting for silence.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(m.payload, b"hello history");
    let h = m.headers.unwrap();
    assert_eq!(h.get("Nats-Subject"), Some("qr.a7.chat.alice"), "{h:?}");
    // A batch (as the client pages history): every message, then the
    // end-of-batch status, all on her inbox.
    alice
        .publish_with_reply(&history, "_INBOX.a7.alice.batch", br#"{"seq":1,"batch":5}"#)
        .await
        .expect("batch request");
    let mut seqs = Vec::new();
    loop {
        let m = alice
            .next_msg_on("_INBOX.a7.alice.batch", STEP)
            .await
            .expect("connection")
            .expect("batch reply");
        let h = m.headers.expect("headers");
        if h.status == Some(204) {
            break;
        }
        assert_eq!(h.status, None, "{h:?}");
        seqs.push(h.get("Nats-Sequence").expect("sequence").to_owned());
    }
    assert!(seqs.len() >= 2 && seqs[..2] == ["1", "2"], "{seqs:?}");
    // Another room's stream through her history subject: not there.
    let m = alice
        .request(&history, br#"{"last_by_subj":"qr.a7x.chat.carol"}"#, STEP)
        .await
        .expect("direct get of a foreign subject");
    assert_eq!(
        m.headers.as_ref().and_then(|h| h.status),
        Some(404),
        "{m:?}"
    );
    assert!(m.payload.is_empty(), "{m:?}");

    // JetStream itself is closed, even the direct get of her own room.
    for subject in [
        "$JS.API.DIRECT.GET.QR_a7",
        "$JS.API.DIRECT.GET.QR_a7x",
        "$JS.API.DIRECT.GET.QR_a7.qr.a7.chat.alice",
        "$JS.API.STREAM.LIST",
        "$JS.API.STREAM.INFO.QR_a7",
        "$JS.API.CONSUMER.CREATE.QR_a7",
        "$JS.API.STREAM.PURGE.QR_a7",
        "$JS.API.STREAM.MSG.DELETE.QR_a7",
        "$JS.API.STREAM.DELETE.QR_a7",
        "$KV.quorum-participants.a7.alice",
        "qr.a7x.history.alice",
        "qr.a7.history.bob",
    ] {
        assert_pub_refused(alice.request(subject, br#"{"seq":1}"#, STEP).await, subject);
    }
    alice
        .ping()
        .await
        .expect("connection survives the refusals");

    alice.close().await;
    carol.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_cannot_be_aimed_at_other_subjects() {
    let ts = TestServer::start().await;
    ts.create_room("a8").await;
    let alice_t = ts.join_token("a8", "alice", false).await;
    let bob_t = ts.join_token("a8", "bob", false).await;
    let mod_t = ts.join_token("a8", "mod", true).await;
    let mut alice = connect(&ts, &alice_t, "alice").await;
    let mut moderator = connect(&ts, &mod_t, "mod").await;
    let mut bob = connect(&ts, &bob_t, "bob").await;
    for s in [
        "qr.a8.chat.*",
        "qr.a8.public",
        "qr.a8.private.bob",
        "_INBOX.a8.bob.>",
    ] {
        bob.sub(s).await.expect(s);
    }
    moderator.sub("_INBOX.a8.mod.>").await.expect("mod inbox");
    ts.wait_kickable("a8", "bob").await;

    // Alice stores a moderator command (and a fake end of session) in the
    // room's history as ordinary chat.
    let command = serde_json::to_vec(&WorkerRequest::Remove {
        user_id: uid("bob"),
        block: true,
    })
    .unwrap();
    alice
        .publish("qr.a8.chat.alice", &command)
        .await
        .expect("chat");
    let (_, echo) = next_event(&mut bob, STEP).await.expect("bob hears alice");
    assert_eq!(echo["type"], "remove", "{echo}");

    // Reflect it (or anything) off JetStream or the worker onto someone
    // else's subject: every such request is dropped by the server.
    let targets = [
        "qr.a8.chat.bob",
        "qr.a8.public",
        "qr.a8.private.bob",
        "qr.a8.worker.mod",
        "_INBOX.a8.bob.r1",
        "_INBOX.a8.mod.r1",
        "_INBOX.a8.alice",
    ];
    for reply in targets {
        for body in [
            &br#"{"last_by_subj":"qr.a8.chat.alice"}"#[..],
            br#"{"last_by_subj":"qr.a8.chat.alice","no_hdr":true}"#,
        ] {
            alice
                .publish_with_reply("qr.a8.history.alice", reply, body)
                .await
                .expect("her own history subject");
        }
        alice
            .publish_with_reply("qr.a8.worker.alice", reply, br#"{"type":"raise_hand"}"#)
            .await
            .expect("her own worker subject");
    }
    // Without a reply the worker does nothing either.
    alice
        .publish("qr.a8.worker.alice", br#"{"type":"raise_hand"}"#)
        .await
        .expect("her own worker subject");
    // Nor does it act on a bare message that shows up on a moderator's
    // worker subject, as a reflected one would.
    ts.state
        .nats
        .client
        .publish("qr.a8.worker.mod", command.clone().into())
        .await
        .expect("service publish");
    ts.state.nats.client.flush().await.expect("flush");

    // The history forwarder handles requests one at a time, in order, and
    // JetStream answers the direct gets it forwards in that order: once
    // alice has the answer to her own request, every reflected one was
    // dropped (or answered, wrongly, before hers: a forwarder that passes
    // any reply subject on fails right here).
    let m = alice
        .request(
            "qr.a8.history.alice",
            br#"{"last_by_subj":"qr.a8.chat.alice"}"#,
            STEP,
        )
        .await
        .expect("history on her own inbox");
    assert_eq!(m.payload, command);
    let show = |m: &quorum_shared::nats_proto::Message| {
        format!("{}: {:?}", m.subject, String::from_utf8_lossy(&m.payload))
    };
    for (who, conn) in [("bob", &mut bob), ("mod", &mut moderator)] {
        let got = conn.drain().await.unwrap_or_else(|e| panic!("{who}: {e}"));
        assert!(
            got.is_empty(),
            "{who} got {:?}",
            got.iter().map(show).collect::<Vec<_>>()
        );
    }
    // The worker, though, runs each request in a task of its own: no later
    // reply is ordered after a dropped request's work, so for those,
    // listening a while is the only check left.
    if let Some(m) = bob.next_msg(QUIET).await.unwrap() {
        panic!("bob got {}", show(&m));
    }
    for (who, conn) in [("bob", &mut bob), ("mod", &mut moderator)] {
        let got = conn
            .drain()
            .await
            .unwrap_or_else(|e| panic!("{who} was kicked: {e}"));
        assert!(
            got.is_empty(),
            "{who} got {:?}",
            got.iter().map(show).collect::<Vec<_>>()
        );
    }
    let p = ts.participant("a8", "bob").await.expect("bob is still in");
    assert!(!p.hand_raised);
    assert!(!ts.participant("a8", "alice").await.unwrap().hand_raised);
    let room = ts
        .state
        .rooms
        .kv
        .room(&common::rid("a8"))
        .await
        .unwrap()
        .unwrap();
    assert!(room.blocked.is_empty(), "{:?}", room.blocked);

    // Her own inbox still works for the worker too.
    let r = ask(&mut alice, "a8", "alice", WorkerRequest::RaiseHand).await;
    assert!(r.ok, "{r:?}");

    for c in [alice, bob, moderator] {
        c.close().await;
    }
    ts.stop().await;
}
