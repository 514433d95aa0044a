//! Integration tests: LiveKit up to the wire. No LiveKit server can run
//! here, so (1) the media tokens the worker hands out are checked by
//! LiveKit's own `TokenVerifier` (npm `livekit-server-sdk`, run with
//! node), (2) a listener on 127.0.0.1 stands in for LiveKit's API and
//! records the Twirp calls moderators' actions make, and (3) webhooks are
//! checked by `livekit-api`'s receiver. Run with
//! `cargo test -p quorum-server --test livekit` (after `npm ci`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{ask, connect, eventually, TestServer, STEP};
use livekit_api::access_token::{AccessToken, TokenVerifier};
use livekit_protocol as proto;
use prost::Message;
use quorum_shared::api::LockSettings;
use quorum_shared::ids::UserId;
use quorum_shared::worker::WorkerRequest;
use serde_json::json;

const KEY: &str = "quorum-test-key";
const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";

/// A server with LiveKit at `url` (nothing need listen there).
async fn server(url: &str) -> TestServer {
    let url = url.to_owned();
    TestServer::start_with(move |c| {
        c.livekit.url = url;
        c.livekit.api_key = KEY.into();
        c.livekit.api_secret = SECRET.into();
    })
    .await
}

/// A join token for `user` with `user_info` fields merged in.
async fn token_with(ts: &TestServer, room: &str, user: &str, extra: serde_json::Value) -> String {
    let mut info = json!({ "user_id": user, "name": format!("User {user}"), "is_admin": false });
    for (k, v) in extra.as_object().expect("an object") {
        info[k] = v.clone();
    }
    let (code, v) = ts
        .signed_post(
            "/auth/room/getJoinToken",
            &json!({ "room_id": room, "user_info": info }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    v["token"].as_str().expect("a token").to_owned()
}

fn livekit_verifies(cases: serde_json::Value) {
    quorum_e2e::livekit::assert_livekit_accepts(KEY, SECRET, cases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_tokens_carry_the_grants_livekit_reads() {
    let ts = server("ws://127.0.0.1:9").await;
    let sid = ts.create_room("lk").await;
    let all = ["microphone", "camera", "screen_share", "screen_share_audio"];
    let people = [
        ("mod", json!({ "is_admin": true })),
        ("pat", json!({})),
        ("ghost", json!({ "is_hidden": true })),
        (
            "nocam",
            json!({ "user_metadata": { "lock_settings": { "lock_webcam": true } } }),
        ),
    ];
    let mut tokens = Vec::new();
    for (user, extra) in people {
        let join = token_with(&ts, "lk", user, extra).await;
        let mut conn = connect(&ts, &join, user).await;
        let r = ask(&mut conn, "lk", user, WorkerRequest::MediaToken).await;
        assert!(r.ok, "{user}: {r:?}");
        let media = r.media.expect("media access");
        assert_eq!(media.url, "ws://127.0.0.1:9");
        tokens.push(media.token);
    }
    let ttl = ts.state.config.token_ttl_secs + 5;
    let case = |label: &str, token: &str, video: serde_json::Value| {
        json!({ "label": label, "token": token, "expect": {
            "sub": label, "name": format!("User {label}"), "maxTtlSecs": ttl, "video": video } })
    };
    livekit_verifies(json!([
        case(
            "mod",
            &tokens[0],
            json!({ "room": sid, "roomJoin": true, "roomAdmin": true,
            "hidden": null, "canPublish": true, "canPublishData": false, "canSubscribe": true,
            "canPublishSources": all })
        ),
        case(
            "pat",
            &tokens[1],
            json!({ "room": sid, "roomJoin": true, "roomAdmin": null,
            "hidden": null, "canPublishSources": all })
        ),
        case(
            "ghost",
            &tokens[2],
            json!({ "room": sid, "roomAdmin": null, "hidden": true })
        ),
        case(
            "nocam",
            &tokens[3],
            json!({ "room": sid, "roomAdmin": null,
            "canPublishSources": ["microphone", "screen_share", "screen_share_audio"] })
        ),
    ]));

    // Someone still waiting gets nothing: nats-server does not even let
    // them ask.
    let (code, v) = ts
        .signed_post(
            "/auth/room/create",
            &json!({ "room_id": "lkw", "metadata": { "room_title": "W",
                "room_features": { "waiting_room_features": { "is_active": true } } } }),
        )
        .await;
    assert_eq!((code, &v["status"]), (StatusCode::OK, &json!(true)), "{v}");
    let join = ts.join_token("lkw", "early", false).await;
    let mut conn = connect(&ts, &join, "early").await;
    let req = serde_json::to_vec(&WorkerRequest::MediaToken).expect("JSON");
    let refused = conn.request("qr.lkw.worker.early", &req, STEP).await;
    assert!(
        refused.is_err(),
        "a waiting user got an answer: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_livekit_there_is_no_media() {
    let ts = TestServer::start().await;
    let config: serde_json::Value = ts.get("/api/config").await.json().await.expect("JSON");
    assert_eq!(config["media"], json!(false), "{config}");
    ts.create_room("plain").await;
    let join = ts.join_token("plain", "pat", false).await;
    let mut conn = connect(&ts, &join, "pat").await;
    let r = ask(&mut conn, "plain", "pat", WorkerRequest::MediaToken).await;
    assert!(!r.ok && r.media.is_none(), "{r:?}");
    let hook = ts.http_post("/livekit/webhook", "{}", "x").await;
    assert_eq!(hook, StatusCode::NOT_FOUND);
}

/// One request LiveKit's API received.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    auth: String,
    body: Bytes,
}

type Calls = Arc<Mutex<Vec<Call>>>;

/// Stands in for LiveKit's RoomService: records each call and answers as
/// LiveKit would (a participant with one microphone track, `TR_mic`).
async fn twirp(
    State(calls): State<Calls>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    calls.lock().expect("calls").push(Call {
        method: method.clone(),
        auth,
        body,
    });
    let mic = proto::TrackInfo {
        sid: "TR_mic".into(),
        source: proto::TrackSource::Microphone as i32,
        ..Default::default()
    };
    let reply = match method.as_str() {
        "GetParticipant" => proto::ParticipantInfo {
            identity: "pat".into(),
            tracks: vec![mic],
            ..Default::default()
        }
        .encode_to_vec(),
        "MutePublishedTrack" => proto::MuteRoomTrackResponse { track: Some(mic) }.encode_to_vec(),
        _ => Vec::new(),
    };
    (
        StatusCode::OK,
        [("content-type", "application/protobuf")],
        reply,
    )
}

async fn livekit_stand_in() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let app = Router::new()
        .route("/twirp/livekit.RoomService/{method}", post(twirp))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("ws://{addr}"), calls)
}

/// The first recorded call of `method`, once it came.
async fn call_of(calls: &Calls, method: &str) -> Call {
    let found = eventually(STEP, || async {
        calls
            .lock()
            .expect("calls")
            .iter()
            .any(|c| c.method == method)
    })
    .await;
    assert!(
        found,
        "no {method} call; got {:?}",
        calls.lock().map(|c| c.clone())
    );
    let c = calls.lock().expect("calls");
    c.iter()
        .find(|c| c.method == method)
        .expect("found")
        .clone()
}

/// The call's token is ours and lets it administer exactly `room`.
fn assert_admin_of(call: &Call, room: &str) {
    let claims = claims_of(call);
    assert!(claims.video.room_admin, "{}: no roomAdmin", call.method);
    assert_eq!(claims.video.room, room, "{}", call.method);
}

/// The claims of the call's token, which must be ours.
fn claims_of(call: &Call) -> livekit_api::access_token::Claims {
    let token = call.auth.strip_prefix("Bearer ").expect("a bearer token");
    TokenVerifier::with_api_key(KEY, SECRET)
        .verify(token)
        .unwrap_or_else(|e| panic!("{}: token not ours: {e}", call.method))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_actions_reach_livekit_as_room_service_calls() {
    let (url, calls) = livekit_stand_in().await;
    let ts = server(&url).await;
    let sid = ts.create_room("ctl").await;
    let mut m = connect(&ts, &ts.join_token("ctl", "mod", true).await, "mod").await;
    let _pat = connect(&ts, &ts.join_token("ctl", "pat", false).await, "pat").await;
    let pat = UserId::parse("pat").expect("id");

    // A camera lock: LiveKit takes the camera away at once.
    let locks = LockSettings {
        lock_webcam: Some(true),
        ..LockSettings::default()
    };
    let r = ask(
        &mut m,
        "ctl",
        "mod",
        WorkerRequest::SetLocks {
            user_id: pat.clone(),
            locks,
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let c = call_of(&calls, "UpdateParticipant").await;
    assert_admin_of(&c, &sid);
    let req = proto::UpdateParticipantRequest::decode(c.body).expect("protobuf");
    assert_eq!(
        (req.room.as_str(), req.identity.as_str()),
        (sid.as_str(), "pat")
    );
    let perm = req.permission.expect("a permission");
    let (cam, mic) = (
        proto::TrackSource::Camera as i32,
        proto::TrackSource::Microphone as i32,
    );
    assert!(!perm.can_publish_sources.contains(&cam), "{perm:?}");
    assert!(perm.can_publish_sources.contains(&mic), "{perm:?}");

    // Mute: the microphone track LiveKit reports is muted.
    let r = ask(
        &mut m,
        "ctl",
        "mod",
        WorkerRequest::Mute {
            user_id: pat.clone(),
        },
    )
    .await;
    assert!(r.ok, "{r:?}");
    let c = call_of(&calls, "MutePublishedTrack").await;
    assert_admin_of(&c, &sid);
    let req = proto::MuteRoomTrackRequest::decode(c.body).expect("protobuf");
    assert_eq!(
        (
            req.room.as_str(),
            req.identity.as_str(),
            req.track_sid.as_str(),
            req.muted
        ),
        (sid.as_str(), "pat", "TR_mic", true)
    );

    // Remove, then end the meeting.
    let remove = WorkerRequest::Remove {
        user_id: pat,
        block: false,
    };
    assert!(ask(&mut m, "ctl", "mod", remove).await.ok);
    let c = call_of(&calls, "RemoveParticipant").await;
    assert_admin_of(&c, &sid);
    let req = proto::RoomParticipantIdentity::decode(c.body).expect("protobuf");
    assert_eq!(
        (req.room.as_str(), req.identity.as_str()),
        (sid.as_str(), "pat")
    );

    assert!(ask(&mut m, "ctl", "mod", WorkerRequest::EndRoom).await.ok);
    // LiveKit wants roomCreate (not roomAdmin) to delete a room.
    let c = call_of(&calls, "DeleteRoom").await;
    assert!(claims_of(&c).video.room_create, "DeleteRoom: no roomCreate");
    let req = proto::DeleteRoomRequest::decode(c.body).expect("protobuf");
    assert_eq!(req.room, sid);
}

/// A webhook body about `user`'s camera in LiveKit room `sid`, and its
/// signature with `secret`.
fn webhook(sid: &str, user: &str, event: &str, secret: &str) -> (String, String) {
    webhook_about(sid, user, event, proto::TrackSource::Camera, 0, secret)
}

/// A webhook body about `user`'s track from `source`, stamped `at`.
fn webhook_about(
    sid: &str,
    user: &str,
    event: &str,
    source: proto::TrackSource,
    at: i64,
    secret: &str,
) -> (String, String) {
    let ev = proto::WebhookEvent {
        event: event.into(),
        id: format!("EV_{event}_{at}"),
        created_at: at,
        room: Some(proto::Room {
            name: sid.into(),
            ..Default::default()
        }),
        participant: Some(proto::ParticipantInfo {
            identity: user.into(),
            ..Default::default()
        }),
        track: Some(proto::TrackInfo {
            sid: format!("TR_{}", source as i32),
            source: source as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = serde_json::to_string(&ev).expect("JSON");
    let sum = {
        use sha2::Digest;
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            sha2::Sha256::digest(body.as_bytes()),
        )
    };
    let auth = AccessToken::with_api_key(KEY, secret)
        .with_sha256(&sum)
        .with_ttl(Duration::from_secs(60))
        .to_jwt()
        .expect("sign");
    (body, auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livekit_webhooks_are_verified_before_anything_changes() {
    let ts = server("ws://127.0.0.1:9").await;
    let sid = ts.create_room("hook").await;
    let _pat = connect(&ts, &ts.join_token("hook", "pat", false).await, "pat").await;
    let publishing = || {
        ts.state
            .rooms
            .index()
            .participant(
                &"hook".parse().expect("id"),
                &UserId::parse("pat").expect("id"),
            )
            .map(|p| p.publishing)
    };

    // Signed with someone else's secret: refused, nothing recorded.
    let (body, forged) = webhook(
        &sid,
        "pat",
        "track_published",
        "not-our-secret-not-our-secret-!!",
    );
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &forged).await,
        StatusCode::UNAUTHORIZED
    );
    // A genuine signature over another body: refused too.
    let (_, genuine) = webhook(&sid, "pat", "track_unpublished", SECRET);
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &genuine).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(publishing(), Some(Vec::new()));

    let (body, auth) = webhook(&sid, "pat", "track_published", SECRET);
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &auth).await,
        StatusCode::OK
    );
    assert!(
        eventually(STEP, || async {
            publishing() == Some(vec!["camera".to_owned()])
        })
        .await
    );
    let (body, auth) = webhook(&sid, "pat", "participant_left", SECRET);
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &auth).await,
        StatusCode::OK
    );
    assert!(eventually(STEP, || async { publishing() == Some(Vec::new()) }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_time_counts_the_time_a_microphone_was_published() {
    let ts = server("ws://127.0.0.1:9").await;
    let sid = ts
        .create_room_with(
            "talk",
            json!({ "room_title": "Talk", "room_features": { "enable_analytics": true } }),
        )
        .await;
    let _pat = connect(&ts, &ts.join_token("talk", "pat", false).await, "pat").await;
    let t0 = 1_790_000_000;
    let mic = proto::TrackSource::Microphone;
    for (event, source, at) in [
        ("track_published", mic, t0),
        // A camera is not talking.
        ("track_published", proto::TrackSource::Camera, t0 + 5),
        ("track_unpublished", mic, t0 + 42),
        ("track_published", mic, t0 + 100),
        // Leaving closes what is still open.
        ("participant_left", proto::TrackSource::Unknown, t0 + 130),
    ] {
        let (body, auth) = webhook_about(&sid, "pat", event, source, at, SECRET);
        assert_eq!(
            ts.http_post("/livekit/webhook", &body, &auth).await,
            StatusCode::OK,
            "{event}"
        );
    }
    // Each webhook is applied before it is answered.
    let counts = ts.state.rooms.analytics.counts(&sid).await.expect("counts");
    let pat = &counts.users["pat"];
    assert_eq!(pat.talk_time_secs, 42 + 30, "{pat:?}");
    assert_eq!(pat.microphone_since, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admitted_people_stay_in_the_media_room() {
    let (url, calls) = livekit_stand_in().await;
    let ts = server(&url).await;
    let sid = ts.create_room("gate").await;
    let mut m = connect(&ts, &ts.join_token("gate", "mod", true).await, "mod").await;
    let _pat = connect(&ts, &ts.join_token("gate", "pat", false).await, "pat").await;

    // Someone LiveKit let in with a token but who is not in the meeting.
    let (body, auth) = webhook(&sid, "stranger", "participant_joined", SECRET);
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &auth).await,
        StatusCode::OK
    );
    let c = call_of(&calls, "RemoveParticipant").await;
    let req = proto::RoomParticipantIdentity::decode(c.body).expect("protobuf");
    assert_eq!(
        (req.room.as_str(), req.identity.as_str()),
        (sid.as_str(), "stranger")
    );

    // An admitted participant gets the permissions of now.
    let (body, auth) = webhook(&sid, "pat", "participant_joined", SECRET);
    assert_eq!(
        ts.http_post("/livekit/webhook", &body, &auth).await,
        StatusCode::OK
    );
    let c = call_of(&calls, "UpdateParticipant").await;
    let req = proto::UpdateParticipantRequest::decode(c.body).expect("protobuf");
    assert_eq!(req.identity, "pat");

    // A demoted moderator leaves the media room (their token had
    // roomAdmin, which LiveKit can't take from a live participant).
    let pat = UserId::parse("pat").expect("id");
    assert!(
        ask(
            &mut m,
            "gate",
            "mod",
            WorkerRequest::Promote {
                user_id: pat.clone()
            }
        )
        .await
        .ok
    );
    calls.lock().expect("calls").clear();
    assert!(
        ask(
            &mut m,
            "gate",
            "mod",
            WorkerRequest::Demote { user_id: pat }
        )
        .await
        .ok
    );
    let c = call_of(&calls, "RemoveParticipant").await;
    let req = proto::RoomParticipantIdentity::decode(c.body).expect("protobuf");
    assert_eq!(req.identity, "pat");
}
