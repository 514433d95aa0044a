//! Integration: the server side of end-to-end encryption — the room secret
//! reaches only admitted participants over their own inbox and never any
//! API response, and features needing plaintext are refused by the server.
//! Run with `cargo test -p quorum-server --test e2ee`.

mod common;

use common::{worker_request, TestServer};
use quorum_shared::worker::{Feature, WorkerRequest};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_key_reaches_only_admitted_participants() {
    let ts = TestServer::start().await;
    let sid = ts
        .create_room_with(
            "enc",
            json!({ "room_title": "E", "room_features": {
                "end_to_end_encryption_features": { "is_enabled": true } } }),
        )
        .await;
    let secret = ts
        .state
        .rooms
        .kv
        .room_secret(&sid)
        .await
        .unwrap()
        .expect("server-generated secret");
    assert!(secret.len() >= 43, "32 random bytes, encoded");

    let token = ts.join_token("enc", "alice", false).await;
    let (_, verified) = ts.verify(&token).await;
    assert_eq!(verified["session"]["e2ee"], true);
    assert_eq!(verified["session"]["e2ee_self_key"], false);
    assert!(
        !verified.to_string().contains(&secret),
        "secret in verifyToken"
    );

    let mut alice = ts.nats_connect(Some(&token)).await.expect("alice");
    let reply = worker_request(&mut alice, "enc", "alice", &WorkerRequest::RoomKey)
        .await
        .expect("reply");
    assert!(reply.ok, "{reply:?}");
    assert_eq!(reply.key.as_deref(), Some(secret.as_str()));

    // A plain room has no secret to hand out.
    ts.create_room("plain").await;
    let t = ts.join_token("plain", "bob", false).await;
    let mut bob = ts.nats_connect(Some(&t)).await.expect("bob");
    let r = worker_request(&mut bob, "plain", "bob", &WorkerRequest::RoomKey)
        .await
        .expect("reply");
    assert!(!r.ok && r.key.is_none(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_key_rooms_refuse_plaintext_features_and_hold_no_secret() {
    let ts = TestServer::start().await;
    let sid = ts
        .create_room_with(
            "self",
            json!({ "room_title": "S", "room_features": {
                "recording_features": { "is_allow": true, "is_allow_cloud": true },
                "sip_dial_in_features": { "is_allow": true },
                "end_to_end_encryption_features": {
                    "is_enabled": true, "enabled_self_insert_encryption_key": true } } }),
        )
        .await;
    assert_eq!(ts.state.rooms.kv.room_secret(&sid).await.unwrap(), None);

    let token = ts.join_token("self", "host", true).await;
    let (_, verified) = ts.verify(&token).await;
    assert_eq!(verified["session"]["e2ee_self_key"], true);
    let mut host = ts.nats_connect(Some(&token)).await.expect("host");
    for feature in [
        Feature::CloudRecording,
        Feature::Rtmp,
        Feature::Sip,
        Feature::Transcription,
    ] {
        let r = worker_request(&mut host, "self", "host", &WorkerRequest::Start { feature })
            .await
            .expect("reply");
        assert!(!r.ok, "{feature:?} must be refused");
        assert!(
            r.error
                .as_deref()
                .unwrap_or_default()
                .contains("end-to-end encrypted"),
            "{r:?}"
        );
    }
    let r = worker_request(&mut host, "self", "host", &WorkerRequest::RoomKey)
        .await
        .expect("reply");
    assert!(!r.ok && r.key.is_none(), "{r:?}");
}
