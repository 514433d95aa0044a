//! Integration tests of NATS access control as nats-server really enforces
//! it: the auth callout admits only valid join tokens for running rooms and
//! gives each user allow-lists for its own room and identity, over TCP and
//! over the browser WebSocket port. Run: `cargo test -p quorum-server --test nats_permissions`.

mod common;

use common::raw_nats::RawNats;
use common::{now, tamper_claims, TestServer};

#[track_caller]
fn assert_violation(res: Result<(), String>, what: &str) {
    match res {
        Ok(()) => panic!("{what}: was allowed"),
        Err(e) => assert!(e.contains("Permissions Violation"), "{what}: {e}"),
    }
}

#[track_caller]
fn assert_refused<T>(res: Result<T, String>, what: &str) {
    match res {
        Ok(_) => panic!("{what}: connection was accepted"),
        Err(e) => assert!(e.contains("Authorization Violation"), "{what}: {e}"),
    }
}

/// Rooms r1 (alice, bob) and r2 (carol); returns alice's and bob's tokens.
async fn setup(ts: &TestServer) -> (String, String) {
    ts.create_room("r1").await;
    ts.create_room("r2").await;
    let alice = ts.join_token("r1", "alice", false).await;
    let bob = ts.join_token("r1", "bob", false).await;
    ts.join_token("r2", "carol", false).await;
    (alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participant_is_confined_to_its_room_and_identity() {
    let ts = TestServer::start().await;
    let (alice_token, bob_token) = setup(&ts).await;

    let mut alice = ts
        .nats_connect(Some(&alice_token))
        .await
        .expect("alice connects");
    let mut bob = ts
        .nats_connect(Some(&bob_token))
        .await
        .expect("bob connects");

    // Allowed subscriptions: the room's chat, public events, own private.
    alice.sub("qr.r1.chat.*").await.expect("own room chat");
    alice.sub("qr.r1.public").await.expect("room public");
    alice.sub("qr.r1.private.alice").await.expect("own private");
    alice.sub("_INBOX.r1.alice.x1").await.expect("own inbox");
    bob.sub("qr.r1.chat.*").await.expect("bob: room chat");
    // So that forged server events addressed to bob would show up too.
    bob.sub("qr.r1.public").await.expect("bob: room public");
    bob.sub("qr.r1.private.bob")
        .await
        .expect("bob: own private");

    // Alice's chat reaches bob intact, under her name.
    let payload = b"\x00hello \xffbob\r\n".to_vec();
    alice
        .publish("qr.r1.chat.alice", &payload)
        .await
        .expect("own chat");
    let m = bob
        .next_msg(common::STEP)
        .await
        .expect("bob's connection")
        .expect("bob receives alice's chat");
    assert_eq!(m.subject, "qr.r1.chat.alice");
    assert_eq!(m.payload, payload);
    // Alice also receives her own message (echo), proving her sub works.
    let m = alice.next_msg(common::STEP).await.unwrap().expect("echo");
    assert_eq!(m.subject, "qr.r1.chat.alice");

    // Refused subscriptions.
    for subject in [
        "qr.r2.chat.*",       // another room
        "qr.r2.public",       // another room's events
        "qr.r1.private.bob",  // another user's private events
        "qr.r1.private.*",    // everybody's private events
        "_INBOX.r1.bob.>",    // another user's replies
        ">",                  // everything
        "$SYS.>",             // the system account
        "$SYS.REQ.USER.AUTH", // the auth callout itself
        "qr.r1.>",            // wider than granted
        "qr.*.chat.*",        // every room's chat
    ] {
        assert_violation(alice.sub(subject).await, &format!("SUB {subject}"));
    }

    // Refused publishes, none of which may reach bob.
    for subject in [
        "qr.r1.chat.bob",     // as another user
        "qr.r2.chat.alice",   // into another room
        "qr.r1.public",       // as the server
        "qr.r1.private.bob",  // into another user's private events
        "$SYS.REQ.USER.AUTH", // at the auth callout
        "qr.r1.chat.*",       // wildcard publish
    ] {
        assert_violation(
            alice.publish(subject, b"forged").await,
            &format!("PUB {subject}"),
        );
    }
    // The connection is still usable, and the next message bob gets is
    // this marker: nothing refused above was delivered before it.
    alice
        .publish("qr.r1.chat.alice", b"marker")
        .await
        .expect("marker");
    let m = bob.next_msg(common::STEP).await.unwrap().expect("marker");
    assert_eq!(
        (m.subject.as_str(), m.payload.as_slice()),
        ("qr.r1.chat.alice", &b"marker"[..])
    );
    let more = bob.drain().await.expect("bob's connection");
    assert!(more.is_empty(), "bob got more: {more:?}");

    // Bob cannot speak as alice either.
    assert_violation(
        bob.publish("qr.r1.chat.alice", b"forged").await,
        "bob PUB as alice",
    );
    // Alice's own view: the echo of her marker (already buffered, it came
    // before the PONG), and nothing forged: the next thing after it is
    // bob's own marker, sent after his refused publish.
    bob.publish("qr.r1.chat.bob", b"bob's marker")
        .await
        .expect("bob's own chat");
    let echo = alice.next_msg(common::STEP).await.unwrap().expect("echo");
    assert_eq!(echo.payload, b"marker");
    let m = alice.next_msg(common::STEP).await.unwrap().expect("bob's");
    assert_eq!(
        (m.subject.as_str(), m.payload.as_slice()),
        ("qr.r1.chat.bob", &b"bob's marker"[..])
    );
    let more = alice.drain().await.expect("alice's connection");
    assert!(more.is_empty(), "alice got more: {more:?}");

    alice.close().await;
    bob.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tokens_are_refused_at_connect() {
    let ts = TestServer::start().await;
    let (alice_token, _) = setup(&ts).await;
    let secret = ts.api_secret();
    let t = now();

    let forged = tamper_claims(&alice_token, |c| c["room_id"] = "r2".into());
    assert_refused(ts.nats_connect(Some(&forged)).await, "tampered claims");
    let mut sig_flipped = alice_token.clone();
    let i = sig_flipped.len() - 10;
    let c = if &sig_flipped[i..=i] == "A" { "B" } else { "A" };
    sig_flipped.replace_range(i..=i, c);
    assert_refused(
        ts.nats_connect(Some(&sig_flipped)).await,
        "tampered signature",
    );

    let expired = ts.craft_token(&secret, "r1", "alice", t - 3600, t - 60);
    assert_refused(ts.nats_connect(Some(&expired)).await, "expired");
    let wrong_secret = ts.craft_token("not-the-secret", "r1", "alice", t, t + 600);
    assert_refused(ts.nats_connect(Some(&wrong_secret)).await, "wrong secret");
    let ghost = ts.craft_token(&secret, "ghost-room", "alice", t, t + 600);
    assert_refused(ts.nats_connect(Some(&ghost)).await, "room not active");
    let uninvited = ts.craft_token(&secret, "r1", "stranger", t, t + 600);
    assert_refused(ts.nats_connect(Some(&uninvited)).await, "never invited");
    assert_refused(ts.nats_connect(None).await, "no token");
    assert_refused(ts.nats_connect(Some("")).await, "empty token");
    assert_refused(ts.nats_connect(Some("garbage")).await, "garbage token");

    // The genuine token still works after all that.
    let ok = ts
        .nats_connect(Some(&alice_token))
        .await
        .expect("genuine token");
    ok.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_are_under_the_same_callout() {
    let ts = TestServer::start().await;
    let (alice_token, bob_token) = setup(&ts).await;
    assert!(ts.ws_url.starts_with("ws://"), "{}", ts.ws_url);

    let mut alice: RawNats = ts.ws_connect(Some(&alice_token)).await.expect("ws connect");
    alice.sub("qr.r1.chat.*").await.expect("own room chat");
    assert_violation(alice.sub("qr.r2.chat.*").await, "ws SUB other room");
    assert_violation(alice.sub(">").await, "ws SUB >");
    assert_violation(
        alice.publish("qr.r1.chat.bob", b"forged").await,
        "ws PUB as bob",
    );

    // A browser (WS) and a TCP client share the room's chat.
    let mut bob = ts.nats_connect(Some(&bob_token)).await.expect("bob tcp");
    bob.sub("qr.r1.chat.*").await.unwrap();
    alice
        .publish("qr.r1.chat.alice", b"from the browser")
        .await
        .unwrap();
    let m = bob
        .next_msg(common::STEP)
        .await
        .unwrap()
        .expect("bob receives");
    assert_eq!(
        (m.subject.as_str(), m.payload.as_slice()),
        ("qr.r1.chat.alice", &b"from the browser"[..])
    );

    let t = now();
    let expired = ts.craft_token(&ts.api_secret(), "r1", "alice", t - 3600, t - 60);
    assert_refused(ts.ws_connect(Some(&expired)).await, "ws expired");
    let ghost = ts.craft_token(&ts.api_secret(), "ghost-room", "alice", t, t + 600);
    assert_refused(ts.ws_connect(Some(&ghost)).await, "ws room not active");
    assert_refused(ts.ws_connect(None).await, "ws no token");

    alice.close().await;
    bob.close().await;
    ts.stop().await;
}
