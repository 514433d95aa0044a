//! Private events (messages to one user, approvals, locks, removals) are
//! kept per user, so one sent while the user's socket was down is delivered
//! after the reconnect, and nobody can read anyone else's. Real nats-server,
//! real server, raw NATS client. Run:
//! `cargo test -p quorum-server --test private_events`.

mod common;

use common::raw_nats::RawNats;
use common::{TestServer, STEP};
use serde_json::{json, Value};

const BROADCAST: &str = "/auth/room/broadcastToRoom";

/// Sends a notification to `user` alone through the server API.
async fn notify(ts: &TestServer, room: &str, user: &str, text: &str) {
    let (code, v) = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": room, "to_user_id": user,
                "notification_msg": { "text": text, "type": "INFO" } }),
        )
        .await;
    assert_eq!((code.as_u16(), &v["status"]), (200, &true.into()), "{v}");
}

/// Every stored private event the caller gets for a batch request from
/// `seq`, as (subject, JSON), until the end-of-batch status.
async fn fetch_private(
    conn: &mut RawNats,
    room: &str,
    user: &str,
    body: &str,
) -> Vec<(String, Value)> {
    let reply = format!("_INBOX.{room}.{user}.mine");
    conn.publish_with_reply(&format!("qr.{room}.mine.{user}"), &reply, body.as_bytes())
        .await
        .expect("her own private-history subject");
    let mut out = Vec::new();
    loop {
        let m = conn
            .next_msg_on(&reply, STEP)
            .await
            .expect("connection")
            .expect("a reply");
        let h = m.headers.expect("direct get answers with headers");
        match h.status {
            Some(204) | Some(404) => return out,
            None => out.push((
                h.get("Nats-Subject").expect("subject").to_owned(),
                serde_json::from_slice(&m.payload).expect("JSON event"),
            )),
            Some(other) => panic!("status {other}: {h:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_private_events_are_replayed_to_their_owner_only() {
    let ts = TestServer::start().await;
    ts.create_room("p1").await;
    let alice_t = ts.join_token("p1", "alice", false).await;
    let bob_t = ts.join_token("p1", "bob", false).await;

    // Sent while alice is not connected at all: live delivery is impossible.
    notify(&ts, "p1", "alice", "for alice, missed").await;
    notify(&ts, "p1", "bob", "for bob only").await;

    let mut alice = ts.nats_connect(Some(&alice_t)).await.expect("alice");
    alice.sub("_INBOX.p1.alice.mine").await.expect("her inbox");
    let mut got = Vec::new();
    // The stream stores asynchronously: poll briefly.
    for _ in 0..50 {
        got = fetch_private(&mut alice, "p1", "alice", r#"{"seq":1,"batch":10}"#).await;
        if !got.is_empty() {
            break;
        }
        // Polling until the message is stored, not waiting for silence.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "qr.p1.private.alice");
    assert_eq!(got[0].1["text"], "for alice, missed", "{got:?}");

    // Asking for bob's subject, or all of them, still yields only hers.
    for body in [
        r#"{"seq":1,"batch":10,"next_by_subj":"qr.p1.private.bob"}"#,
        r#"{"seq":1,"batch":10,"next_by_subj":"qr.p1.private.*"}"#,
        r#"{"seq":1,"batch":10,"multi_last":["qr.p1.private.bob"]}"#,
    ] {
        let got = fetch_private(&mut alice, "p1", "alice", body).await;
        assert!(
            got.iter().all(|(s, _)| s == "qr.p1.private.alice"),
            "{body}: {got:?}"
        );
        assert!(
            got.iter().all(|(_, v)| v["text"] != "for bob only"),
            "{body}: {got:?}"
        );
    }
    let m = alice
        .request(
            "qr.p1.mine.alice",
            br#"{"last_by_subj":"qr.p1.private.bob"}"#,
            STEP,
        )
        .await
        .expect("last of hers");
    let h = m.headers.expect("headers");
    assert_eq!(h.get("Nats-Subject"), Some("qr.p1.private.alice"), "{h:?}");

    // Another user's private-history subject is not hers to publish on,
    // and an answer aimed at bob's inbox is never sent.
    let refused = alice
        .publish_with_reply("qr.p1.mine.bob", "_INBOX.p1.alice.x", b"{\"seq\":1}")
        .await;
    assert_eq!(
        refused,
        Err("Permissions Violation for Publish to \"qr.p1.mine.bob\"".to_owned())
    );
    let mut bob = ts.nats_connect(Some(&bob_t)).await.expect("bob");
    bob.sub("_INBOX.p1.bob.>").await.expect("bob's inbox");
    alice
        .publish_with_reply(
            "qr.p1.mine.alice",
            "_INBOX.p1.bob.stolen",
            b"{\"seq\":1,\"batch\":10}",
        )
        .await
        .expect("her subject, someone else's inbox");
    // The forwarder handles requests one at a time, in order, and JetStream
    // answers the direct gets it forwards in that order: once her next
    // request is answered, an answer aimed at bob's inbox would be out
    // already (a forwarder that passes any reply subject on fails here).
    alice
        .request(
            "qr.p1.mine.alice",
            br#"{"last_by_subj":"qr.p1.private.alice"}"#,
            STEP,
        )
        .await
        .expect("her own request, answered after the stolen one");
    let stolen = bob.drain().await.expect("bob's connection");
    assert!(
        stolen.is_empty(),
        "a private history answer reached bob's inbox: {stolen:?}"
    );

    // Ending the room removes the stream with it.
    ts.signed_post("/auth/room/endRoom", &json!({ "room_id": "p1" }))
        .await;
    let js = async_nats::jetstream::new(ts.state.nats.client.clone());
    assert!(
        js.get_stream("QRP_p1").await.is_err(),
        "private stream left behind"
    );

    alice.close().await;
    bob.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_is_bound_to_its_sender_and_recipient() {
    let ts = TestServer::start().await;
    ts.create_room_with(
        "p2",
        json!({ "room_title": "DMs", "room_features": {
            "waiting_room_features": { "is_active": true } } }),
    )
    .await;
    let alice_t = ts.join_token("p2", "alice", true).await;
    let bob_t = ts.join_token("p2", "bob", true).await;
    let walt_t = ts.join_token("p2", "walt", false).await;
    let mut alice = ts.nats_connect(Some(&alice_t)).await.expect("alice");
    let mut bob = ts.nats_connect(Some(&bob_t)).await.expect("bob");
    bob.sub("qr.p2.dm.bob.*")
        .await
        .expect("bob's own private chat");

    // Alice writes to bob as herself: delivered, sender in the subject.
    alice
        .publish("qr.p2.dm.bob.alice", b"hi bob")
        .await
        .expect("her own sender token");
    let m = bob
        .next_msg(STEP)
        .await
        .expect("connection")
        .expect("the DM");
    assert_eq!(
        (m.subject.as_str(), m.payload.as_slice()),
        ("qr.p2.dm.bob.alice", &b"hi bob"[..])
    );

    // She can't speak as someone else, nor read anyone else's.
    for subject in ["qr.p2.dm.bob.walt", "qr.p2.dm.bob.*", "qr.p3.dm.bob.alice"] {
        assert_eq!(
            alice.publish(subject, b"x").await,
            Err(format!(
                "Permissions Violation for Publish to \"{subject}\""
            )),
            "{subject}"
        );
    }
    for subject in ["qr.p2.dm.bob.*", "qr.p2.dm.*.*", "qr.p2.dm.>"] {
        assert_eq!(
            alice.sub(subject).await,
            Err(format!(
                "Permissions Violation for Subscription to \"{subject}\""
            )),
            "{subject}"
        );
    }

    // A waiting participant may neither send nor receive private chat.
    let mut walt = ts.nats_connect(Some(&walt_t)).await.expect("walt waits");
    assert_eq!(
        walt.publish("qr.p2.dm.bob.walt", b"let me in").await,
        Err("Permissions Violation for Publish to \"qr.p2.dm.bob.walt\"".to_owned())
    );
    assert_eq!(
        walt.sub("qr.p2.dm.walt.*").await,
        Err("Permissions Violation for Subscription to \"qr.p2.dm.walt.*\"".to_owned())
    );

    for c in [alice, bob, walt] {
        c.close().await;
    }
    ts.stop().await;
}
