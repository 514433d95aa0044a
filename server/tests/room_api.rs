//! Integration tests of the plugNmeet-compatible server API: every `/auth/*`
//! endpoint over real HTTP with a real nats-server, both request spellings,
//! exact JSON shapes and every failure code.
//! Run: `cargo test -p quorum-server --test room_api`.

mod common;

use common::raw_nats::RawNats;
use common::{assert_failure, assert_keys, next_json, rid, token_claims, uid, TestServer, STEP};
use quorum_server::rooms::Presence;
use quorum_server::store::HistoryQuery;
use quorum_shared::ids::UserId;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CREATE: &str = "/auth/room/create";
const TOKEN: &str = "/auth/room/getJoinToken";
const IS_ACTIVE: &str = "/auth/room/isRoomActive";
const INFO: &str = "/auth/room/getActiveRoomInfo";
const INFOS: &str = "/auth/room/getActiveRoomsInfo";
const END: &str = "/auth/room/endRoom";
const PAST: &str = "/auth/room/fetchPastRooms";
const BROADCAST: &str = "/auth/room/broadcastToRoom";

const ENVELOPE: [&str; 3] = ["status", "msg", "status_code"];
const ROOM_INFO: [&str; 12] = [
    "room_title",
    "room_id",
    "sid",
    "joined_participants",
    "is_running",
    "is_recording",
    "is_active_rtmp",
    "webhook_url",
    "is_breakout_room",
    "parent_room_id",
    "creation_time",
    "metadata",
];
const PARTICIPANT_INFO: [&str; 8] = [
    "sid",
    "identity",
    "state",
    "metadata",
    "joined_at",
    "name",
    "version",
    "is_publisher",
];
const PAST_ROOM: [&str; 8] = [
    "room_title",
    "room_id",
    "room_sid",
    "joined_participants",
    "webhook_url",
    "created",
    "ended",
    "analytics_file_id",
];

fn with_envelope(extra: &[&'static str]) -> Vec<&'static str> {
    ENVELOPE.iter().chain(extra).copied().collect()
}

#[track_caller]
fn assert_success(got: &(StatusCode, Value)) {
    let (code, v) = got;
    assert_eq!(*code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["status_code"], "SUCCESS", "{v}");
    assert!(v["msg"].is_string(), "{v}");
}

/// A 64-bit integer encoded as a decimal string, as protobuf-JSON does.
#[track_caller]
fn int_str(v: &Value) -> i64 {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string-encoded integer, got {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// `room_info.metadata`, parsed.
#[track_caller]
fn metadata(room_info: &Value) -> Value {
    serde_json::from_str(room_info["metadata"].as_str().expect("metadata string"))
        .expect("metadata is JSON")
}

async fn create(ts: &TestServer, body: Value) -> Value {
    let got = ts.signed_post(CREATE, &body).await;
    assert_success(&got);
    got.1
}

async fn end(ts: &TestServer, room: &str) {
    assert_success(&ts.signed_post(END, &json!({ "room_id": room })).await);
}

/// Connects `token` over raw NATS and subscribes to the room's public
/// subject and the user's private one.
async fn participant(ts: &TestServer, room: &str, user: &str, token: &str) -> RawNats {
    let mut c = ts.nats_connect(Some(token)).await.expect("connect");
    c.sub(&format!("qr.{room}.public"))
        .await
        .expect("sub public");
    c.sub(&format!("qr.{room}.private.{user}"))
        .await
        .expect("sub private");
    c
}

async fn presence(ts: &TestServer, room: &str, user: &str) -> Option<Presence> {
    ts.state
        .rooms
        .kv
        .participant(&rid(room), &uid(user))
        .await
        .expect("kv")
        .map(|p| p.presence)
}

async fn wait_presence(ts: &TestServer, room: &str, user: &str, want: Presence) {
    assert!(
        common::eventually(STEP, || async {
            presence(ts, room, user).await == Some(want)
        })
        .await,
        "{user} never became {want:?} in {room}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_returns_full_room_info_and_applies_the_rules() {
    let ts = TestServer::start().await;
    let before = common::now() as i64;

    // snake_case, every room_info field present with protobuf-JSON types.
    let v = create(
        &ts,
        json!({
            "room_id": "c1",
            "empty_timeout": 119,
            "max_participants": 5,
            "metadata": {
                "room_title": "Snake",
                "webhook_url": "https://hooks.example.com/q",
                "room_features": { "allow_webcams": false }
            }
        }),
    )
    .await;
    assert_keys(&v, &with_envelope(&["room_info"]));
    let info = &v["room_info"];
    assert_keys(info, &ROOM_INFO);
    assert_eq!(info["room_title"], "Snake");
    assert_eq!(info["room_id"], "c1");
    assert_eq!(info["joined_participants"], "0");
    assert_eq!(info["is_running"], true);
    assert_eq!(info["is_recording"], false);
    assert_eq!(info["is_active_rtmp"], false);
    assert_eq!(info["webhook_url"], "https://hooks.example.com/q");
    assert_eq!(info["is_breakout_room"], false);
    assert_eq!(info["parent_room_id"], "");
    let created = int_str(&info["creation_time"]);
    assert!(
        (before..=common::now() as i64).contains(&created),
        "{created}"
    );
    let sid = info["sid"].as_str().expect("sid").to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&sid).expect("uuid").get_version_num(),
        4
    );
    // An explicit false beats a default true; unset features get defaults.
    let md = metadata(info);
    assert_eq!(md["room_title"], "Snake");
    assert_eq!(md["room_features"]["allow_webcams"], false, "{md}");
    assert_eq!(md["room_features"]["allow_screen_share"], true, "{md}");
    assert_eq!(md["room_features"]["mute_on_start"], false, "{md}");
    assert_eq!(
        md["room_features"]["chat_features"]["is_allow"], true,
        "{md}"
    );
    // Below 120 s the empty timeout becomes 1800 s.
    let stored = ts.state.rooms.kv.room(&rid("c1")).await.unwrap().unwrap();
    assert_eq!(stored.empty_timeout, 1800);
    assert_eq!(stored.max_participants, 5);

    // Idempotent while running: the same session, nothing new recorded,
    // whatever the second request says.
    let again = create(
        &ts,
        json!({ "room_id": "c1", "metadata": { "room_title": "Other" } }),
    )
    .await;
    assert_eq!(again["room_info"]["sid"], sid.as_str());
    assert_eq!(again["room_info"]["room_title"], "Snake");
    let (total, _) = ts
        .state
        .store
        .history(HistoryQuery {
            room_ids: vec!["c1".into()],
            from: 0,
            limit: 10,
            descending: true,
        })
        .await
        .unwrap();
    assert_eq!(total, 1);

    // lowerCamelCase, 64-bit integers as strings, unknown fields ignored.
    let v = create(
        &ts,
        json!({
            "roomId": "c2",
            "emptyTimeout": "300",
            "maxParticipants": "0",
            "futureField": { "x": 1 },
            "metadata": {
                "roomTitle": "Camel",
                "roomFeatures": {
                    "allowScreenShare": false,
                    "roomDuration": "45",
                    "chatFeatures": { "isAllow": false }
                },
                "defaultLockSettings": { "lockChat": true }
            }
        }),
    )
    .await;
    let info = &v["room_info"];
    assert_keys(info, &ROOM_INFO);
    assert_eq!(info["room_title"], "Camel");
    assert_eq!(info["webhook_url"], "");
    let md = metadata(info);
    assert_eq!(md["room_features"]["allow_screen_share"], false, "{md}");
    assert_eq!(md["room_features"]["allow_webcams"], true, "{md}");
    assert_eq!(md["room_features"]["room_duration"], 45, "{md}");
    assert_eq!(
        md["room_features"]["chat_features"]["is_allow"], false,
        "{md}"
    );
    assert_eq!(md["default_lock_settings"]["lock_chat"], true, "{md}");
    let stored = ts.state.rooms.kv.room(&rid("c2")).await.unwrap().unwrap();
    assert_eq!(stored.empty_timeout, 300);
    // Exactly 120 is kept; a missing value becomes 1800.
    create(
        &ts,
        json!({ "room_id": "c3", "empty_timeout": 120, "metadata": { "room_title": "T" } }),
    )
    .await;
    create(
        &ts,
        json!({ "room_id": "c4", "metadata": { "room_title": "T" } }),
    )
    .await;
    let t = |id: &'static str| {
        let ts = &ts;
        async move {
            ts.state
                .rooms
                .kv
                .room(&rid(id))
                .await
                .unwrap()
                .unwrap()
                .empty_timeout
        }
    };
    assert_eq!((t("c3").await, t("c4").await), (120, 1800));

    // Validation.
    let got = ts.signed_post(CREATE, &json!({ "room_id": "c5" })).await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    assert!(
        got.1["msg"].as_str().unwrap().contains("metadata"),
        "{}",
        got.1
    );
    assert_keys(&got.1, &ENVELOPE);
    let got = ts
        .signed_post(CREATE, &json!({ "room_id": "c5", "metadata": {} }))
        .await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    assert!(
        got.1["msg"].as_str().unwrap().contains("room_title"),
        "{}",
        got.1
    );
    let got = ts
        .signed_post(
            CREATE,
            &json!({ "room_id": "c5", "metadata": { "room_title": "   " } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    for bad in ["has space", "user_x", "a-FIELD_b", ""] {
        let got = ts
            .signed_post(
                CREATE,
                &json!({ "room_id": bad, "metadata": { "room_title": "T" } }),
            )
            .await;
        assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
        assert!(
            got.1["msg"].as_str().unwrap().contains("room_id"),
            "{}",
            got.1
        );
    }
    let got = ts
        .signed_post(
            CREATE,
            &json!({ "room_id": "c5", "empty_timeout": "soon", "metadata": { "room_title": "T" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    assert!(ts.state.rooms.kv.room(&rid("c5")).await.unwrap().is_none());
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2ee_secret_never_appears_in_responses() {
    let ts = TestServer::start().await;

    // Server-generated key.
    let v = create(
        &ts,
        json!({
            "room_id": "e1",
            "metadata": {
                "room_title": "Server key",
                "room_features": {
                    "end_to_end_encryption_features": { "is_enabled": true },
                    "sip_dial_in_features": { "is_allow": true }
                }
            }
        }),
    )
    .await;
    let sid = v["room_info"]["sid"].as_str().unwrap().to_owned();
    let secret = ts
        .state
        .rooms
        .kv
        .room_secret(&sid)
        .await
        .unwrap()
        .expect("a server-key E2EE room has a secret");
    assert!(secret.len() >= 32, "{secret}");
    let md = metadata(&v["room_info"]);
    // SIP needs plaintext media: off under any E2EE.
    assert_eq!(
        md["room_features"]["sip_dial_in_features"]["is_allow"],
        false
    );
    assert_eq!(
        md["room_features"]["end_to_end_encryption_features"]["is_enabled"],
        true
    );

    let mut texts = Vec::new();
    let create_again = json!({ "room_id": "e1", "metadata": { "room_title": "x" } });
    for (path, body) in [
        (CREATE, create_again),
        (INFO, json!({ "room_id": "e1" })),
        (INFOS, json!({})),
        (PAST, json!({})),
        (IS_ACTIVE, json!({ "room_id": "e1" })),
    ] {
        texts.push((path, ts.signed_post_text(path, &body).await));
    }
    // The key goes to verified participants only, and not through verify.
    let token = ts.join_token("e1", "alice", false).await;
    let (_, verified) = ts.verify(&token).await;
    texts.push(("verify", (StatusCode::OK, verified.to_string())));
    end(&ts, "e1").await;
    texts.push(("past", ts.signed_post_text(PAST, &json!({})).await));
    for (path, (code, text)) in &texts {
        assert_eq!(*code, StatusCode::OK, "{path}: {text}");
        assert!(text.contains("\"status\":true"), "{path}: {text}");
        assert!(!text.contains(&secret), "{path} leaks the E2EE secret");
    }
    assert_eq!(ts.state.rooms.kv.room_secret(&sid).await.unwrap(), None);

    // Self-inserted key: the server keeps nothing and refuses everything
    // that needs plaintext, even when asked for it.
    let v = create(
        &ts,
        json!({
            "roomId": "e2",
            "metadata": {
                "roomTitle": "Self key",
                "roomFeatures": {
                    "recordingFeatures": { "isAllow": true, "isAllowCloud": true, "enableAutoCloudRecording": true },
                    "externalBroadcastingFeatures": { "isAllow": true, "isAllowRtmp": true },
                    "sipDialInFeatures": { "isAllow": true },
                    "speechToTextTranslationFeatures": { "isAllow": true },
                    "endToEndEncryptionFeatures": { "isEnabled": true, "enabledSelfInsertEncryptionKey": true }
                }
            }
        }),
    )
    .await;
    let sid = v["room_info"]["sid"].as_str().unwrap();
    assert_eq!(ts.state.rooms.kv.room_secret(sid).await.unwrap(), None);
    let f = &metadata(&v["room_info"])["room_features"];
    assert_eq!(f["recording_features"]["is_allow_cloud"], false, "{f}");
    assert_eq!(
        f["recording_features"]["enable_auto_cloud_recording"], false,
        "{f}"
    );
    assert_eq!(
        f["external_broadcasting_features"]["is_allow"], false,
        "{f}"
    );
    assert_eq!(
        f["external_broadcasting_features"]["is_allow_rtmp"], false,
        "{f}"
    );
    assert_eq!(f["sip_dial_in_features"]["is_allow"], false, "{f}");
    assert_eq!(
        f["speech_to_text_translation_features"]["is_allow"], false,
        "{f}"
    );
    assert_eq!(
        f["end_to_end_encryption_features"]["enabled_self_insert_encryption_key"], true,
        "{f}"
    );
    // Without E2EE, nothing is forced off and no secret is made.
    let v = create(
        &ts,
        json!({ "room_id": "e3", "metadata": { "room_title": "Plain",
            "room_features": { "external_broadcasting_features": { "is_allow_rtmp": true } } } }),
    )
    .await;
    let sid = v["room_info"]["sid"].as_str().unwrap();
    assert_eq!(ts.state.rooms.kv.room_secret(sid).await.unwrap(), None);
    let f = &metadata(&v["room_info"])["room_features"];
    assert_eq!(f["external_broadcasting_features"]["is_allow_rtmp"], true);
    assert_eq!(f["recording_features"]["is_allow_cloud"], true);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_make_exactly_one_session() {
    let ts = TestServer::start().await;
    let body = json!({ "room_id": "race", "metadata": { "room_title": "Race" } });
    let replies = futures::future::join_all((0..20).map(|_| ts.signed_post(CREATE, &body))).await;
    let mut sids: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_success(r);
            r.1["room_info"]["sid"].as_str().expect("sid").to_owned()
        })
        .collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 1, "several sessions: {sids:?}");
    let (total, rows) = ts
        .state
        .store
        .history(HistoryQuery {
            room_ids: vec!["race".into()],
            from: 0,
            limit: 100,
            descending: true,
        })
        .await
        .unwrap();
    assert_eq!(total, 1, "{rows:?}");
    assert_eq!(rows[0].sid, sids[0]);
    let kv = ts.state.rooms.kv.room(&rid("race")).await.unwrap().unwrap();
    assert_eq!(kv.sid, sids[0]);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_tokens_apply_locks_waiting_room_blocks_and_generated_ids() {
    let ts = TestServer::start().await;
    create(
        &ts,
        json!({
            "roomId": "j1",
            "metadata": {
                "roomTitle": "Locked",
                "defaultLockSettings": { "lockChat": true, "lockWebcam": true },
                "roomFeatures": { "waitingRoomFeatures": { "isActive": true } }
            }
        }),
    )
    .await;

    // Moderator: locks cleared, never waits. camelCase request.
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "roomId": "j1", "userInfo": { "name": "Mo", "userId": "mod", "isAdmin": true } }),
        )
        .await;
    assert_success(&got);
    assert_keys(&got.1, &with_envelope(&["token"]));
    let p = ts
        .state
        .rooms
        .kv
        .participant(&rid("j1"), &uid("mod"))
        .await
        .unwrap()
        .unwrap();
    assert!(p.is_admin);
    assert_eq!(p.lock_settings, Default::default());
    assert!(!p.wait_for_approval);
    assert_eq!(p.presence, Presence::Invited);

    // Participant: inherits the room's locks and waits. snake_case request.
    ts.join_token("j1", "alice", false).await;
    let p = ts
        .state
        .rooms
        .kv
        .participant(&rid("j1"), &uid("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.lock_settings.lock_chat, Some(true));
    assert_eq!(p.lock_settings.lock_webcam, Some(true));
    assert_eq!(p.lock_settings.lock_microphone, None);
    assert!(p.wait_for_approval);

    // The integrator's per-user locks win over the room defaults.
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j1", "user_info": { "name": "Bob", "user_id": "bob",
                "user_metadata": { "lock_settings": { "lock_chat": false, "lock_microphone": true } } } }),
        )
        .await;
    assert_success(&got);
    let claims = token_claims(got.1["token"].as_str().unwrap());
    assert_eq!(claims["user_id"], "bob");
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["room_id"], "j1");
    assert_eq!(claims["iss"], ts.api_key());
    let p = ts
        .state
        .rooms
        .kv
        .participant(&rid("j1"), &uid("bob"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            p.lock_settings.lock_chat,
            p.lock_settings.lock_webcam,
            p.lock_settings.lock_microphone
        ),
        (Some(false), Some(true), Some(true))
    );

    // Blocked users get no token.
    ts.state
        .rooms
        .kv
        .update_room(&rid("j1"), |r| {
            r.blocked.push(uid("mallory"));
            true
        })
        .await
        .unwrap()
        .expect("room");
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j1", "user_info": { "name": "M", "user_id": "mallory" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "USER_BLOCKED");
    assert_keys(&got.1, &ENVELOPE);

    // Missing or invalid user info.
    let got = ts.signed_post(TOKEN, &json!({ "room_id": "j1" })).await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j1", "user_info": { "name": "", "user_id": "x" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j1", "user_info": { "name": "X", "user_id": "user_1" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");

    // auto_gen_user_id: the server picks a valid id of its own.
    create(
        &ts,
        json!({ "room_id": "j2", "metadata": { "room_title": "Auto",
            "room_features": { "auto_gen_user_id": true } } }),
    )
    .await;
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j2", "user_info": { "name": "Zed", "user_id": "zed" } }),
        )
        .await;
    assert_success(&got);
    let claims = token_claims(got.1["token"].as_str().unwrap());
    let generated = claims["user_id"].as_str().unwrap().to_owned();
    assert_ne!(generated, "zed");
    assert_eq!(claims["sub"], generated.as_str());
    let generated = UserId::parse(generated).expect("generated id is valid");
    assert!(ts
        .state
        .rooms
        .kv
        .participant(&rid("j2"), &generated)
        .await
        .unwrap()
        .is_some());
    assert!(ts
        .state
        .rooms
        .kv
        .participant(&rid("j2"), &uid("zed"))
        .await
        .unwrap()
        .is_none());
    // Each request gets its own id.
    let again = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "j2", "user_info": { "name": "Zed", "user_id": "zed" } }),
        )
        .await;
    assert_ne!(
        token_claims(again.1["token"].as_str().unwrap())["user_id"],
        generated.as_str()
    );

    // Inactive rooms: ended and never created.
    end(&ts, "j2").await;
    for room in ["j2", "never"] {
        let got = ts
            .signed_post(
                TOKEN,
                &json!({ "room_id": room, "user_info": { "name": "A", "user_id": "a" } }),
            )
            .await;
        assert_failure(&got, StatusCode::OK, "ROOM_NOT_FOUND");
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_room_active_reports_all_three_states() {
    let ts = TestServer::start().await;
    ts.create_room("a1").await;
    let got = ts.signed_post(IS_ACTIVE, &json!({ "room_id": "a1" })).await;
    assert_success(&got);
    assert_keys(&got.1, &with_envelope(&["is_active"]));
    assert_eq!(got.1["is_active"], true);

    end(&ts, "a1").await;
    let (code, v) = ts.signed_post(IS_ACTIVE, &json!({ "roomId": "a1" })).await;
    assert_eq!(code, StatusCode::OK);
    assert_keys(&v, &with_envelope(&["is_active"]));
    assert_eq!(
        (&v["status"], &v["is_active"], &v["status_code"]),
        (&json!(true), &json!(false), &json!("ROOM_NOT_ACTIVE")),
        "{v}"
    );

    let (code, v) = ts
        .signed_post(IS_ACTIVE, &json!({ "room_id": "nope" }))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (&v["status"], &v["is_active"], &v["status_code"]),
        (&json!(true), &json!(false), &json!("ROOM_NOT_FOUND")),
        "{v}"
    );

    let got = ts.signed_post(IS_ACTIVE, &json!({})).await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_room_info_follows_presence() {
    let ts = TestServer::start().await;

    // Nothing running yet.
    let (code, v) = ts.signed_post(INFOS, &json!({})).await;
    assert_eq!(code, StatusCode::OK);
    assert_keys(&v, &with_envelope(&["rooms"]));
    assert_eq!(
        (&v["status"], &v["status_code"], &v["rooms"]),
        (&json!(false), &json!("NOT_FOUND"), &json!([])),
        "{v}"
    );

    ts.create_room("i1").await;
    ts.create_room("i2").await;
    let token = ts.join_token("i1", "alice", false).await;
    ts.join_token("i1", "mod", true).await;

    let got = ts.signed_post(INFO, &json!({ "room_id": "i1" })).await;
    assert_success(&got);
    assert_keys(&got.1, &with_envelope(&["room"]));
    let room = &got.1["room"];
    assert_keys(room, &["room_info", "participants_info"]);
    assert_keys(&room["room_info"], &ROOM_INFO);
    assert_eq!(room["room_info"]["joined_participants"], "0");
    let ps = room["participants_info"].as_array().unwrap();
    assert_eq!(ps.len(), 2, "{room}");
    for p in ps {
        assert_keys(p, &PARTICIPANT_INFO);
        assert_eq!(p["state"], "JOINING", "{p}");
        let md: Value = serde_json::from_str(p["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(md["is_admin"], p["identity"] == "mod", "{p}");
    }

    // Connected over NATS: ACTIVE and counted.
    let conn = ts.nats_connect(Some(&token)).await.expect("alice connects");
    wait_presence(&ts, "i1", "alice", Presence::Online).await;
    let got = ts.signed_post(INFO, &json!({ "roomId": "i1" })).await;
    assert_success(&got);
    let room = &got.1["room"];
    assert_eq!(room["room_info"]["joined_participants"], "1", "{room}");
    let alice = room["participants_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["identity"] == "alice")
        .expect("alice listed")
        .clone();
    assert_eq!(alice["state"], "ACTIVE", "{alice}");
    assert_eq!(alice["name"], "User alice");
    // Create while running returns the running room, as it is now.
    let again = create(
        &ts,
        json!({ "room_id": "i1", "metadata": { "room_title": "x" } }),
    )
    .await;
    assert_eq!(again["room_info"]["joined_participants"], "1", "{again}");
    assert_eq!(again["room_info"], room["room_info"]);

    let got = ts.signed_post(INFOS, &json!({})).await;
    assert_success(&got);
    let rooms = got.1["rooms"].as_array().unwrap();
    let mut ids: Vec<&str> = rooms
        .iter()
        .map(|r| {
            assert_keys(r, &["room_info", "participants_info"]);
            assert_keys(&r["room_info"], &ROOM_INFO);
            r["room_info"]["room_id"].as_str().unwrap()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["i1", "i2"]);

    // Gone: DISCONNECTED.
    conn.close().await;
    wait_presence(&ts, "i1", "alice", Presence::Offline).await;
    let got = ts.signed_post(INFO, &json!({ "room_id": "i1" })).await;
    let alice = got.1["room"]["participants_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["identity"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(alice["state"], "DISCONNECTED");
    assert_eq!(got.1["room"]["room_info"]["joined_participants"], "0");

    let got = ts.signed_post(INFO, &json!({ "room_id": "unknown" })).await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_FOUND");
    assert_keys(&got.1, &ENVELOPE);
    end(&ts, "i2").await;
    let got = ts.signed_post(INFO, &json!({ "room_id": "i2" })).await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_ACTIVE");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_room_tells_everyone_and_closes_the_session() {
    let ts = TestServer::start().await;
    let sid = ts.create_room("x1").await;
    let token = ts.join_token("x1", "alice", false).await;
    let mut alice = participant(&ts, "x1", "alice", &token).await;
    wait_presence(&ts, "x1", "alice", Presence::Online).await;

    let got = ts.signed_post(END, &json!({ "roomId": "x1" })).await;
    assert_success(&got);
    assert_keys(&got.1, &ENVELOPE);
    let (subject, ev) = next_json(&mut alice, STEP).await.expect("session_ended");
    assert_eq!(subject, "qr.x1.public");
    assert_eq!(ev, common::session_ended("ended_by_moderator"));

    assert!(ts.state.rooms.kv.room(&rid("x1")).await.unwrap().is_none());
    // Gone from KV itself, not only from this instance's view of it.
    let participants = async_nats::jetstream::new(ts.state.nats.client.clone())
        .get_key_value("quorum-participants")
        .await
        .unwrap();
    let left: Vec<String> = futures::TryStreamExt::try_collect(participants.keys().await.unwrap())
        .await
        .unwrap();
    assert!(
        left.iter().all(|k| !k.starts_with("x1.")),
        "participants left behind: {left:?}"
    );
    let row = ts.state.store.session(sid.clone()).await.unwrap().unwrap();
    let ended = row.ended.expect("history row closed");
    assert!(ended >= row.created, "{row:?}");
    assert_eq!(row.joined_participants, 1, "peak participants");

    // Ending again, or a room that never existed.
    let got = ts.signed_post(END, &json!({ "room_id": "x1" })).await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_ACTIVE");
    let got = ts.signed_post(END, &json!({ "room_id": "x9" })).await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_FOUND");
    let got = ts.signed_post(END, &json!({ "room": "x1" })).await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");

    // A new session of the same room id gets a new sid.
    let sid2 = ts.create_room("x1").await;
    assert_ne!(sid, sid2);
    alice.close().await;
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_past_rooms_pages_orders_and_filters() {
    let ts = TestServer::start().await;
    let mut sids = Vec::new();
    for i in 1..=5 {
        sids.push(ts.create_room(&format!("p{i}")).await);
    }
    for i in [1, 2, 4] {
        end(&ts, &format!("p{i}")).await;
    }
    let ids = |v: &Value| -> Vec<String> {
        v["result"]["rooms_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["room_id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Defaults: newest first, 20 per page.
    let got = ts.signed_post(PAST, &json!({})).await;
    assert_success(&got);
    assert_keys(&got.1, &with_envelope(&["result"]));
    let result = &got.1["result"];
    assert_keys(
        result,
        &["total_rooms", "from", "limit", "order_by", "rooms_list"],
    );
    assert_eq!(result["total_rooms"], "5");
    assert_eq!(result["from"], 0);
    assert_eq!(result["limit"], 20);
    assert_eq!(result["order_by"], "DESC");
    assert_eq!(ids(&got.1), ["p5", "p4", "p3", "p2", "p1"]);
    let time_re = |s: &str| {
        let b = s.as_bytes();
        s.len() == 19
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b' ',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    for r in result["rooms_list"].as_array().unwrap() {
        assert_keys(r, &PAST_ROOM);
        let id = r["room_id"].as_str().unwrap();
        let i: usize = id[1..].parse().unwrap();
        assert_eq!(r["room_sid"], sids[i - 1].as_str());
        assert_eq!(r["room_title"], format!("Room {id}"));
        assert_eq!(r["joined_participants"], "0");
        assert_eq!(r["webhook_url"], "");
        assert_eq!(r["analytics_file_id"], "");
        assert!(time_re(r["created"].as_str().unwrap()), "{r}");
        let ended = r["ended"].as_str().unwrap();
        if [1, 2, 4].contains(&i) {
            assert!(time_re(ended), "{r}");
        } else {
            assert_eq!(ended, "", "{r}");
        }
        let row = ts
            .state
            .store
            .session(sids[i - 1].clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r["created"],
            quorum_server::api::manage::format_time(row.created)
        );
    }

    // Ascending, paged, integers as strings, camelCase, lower-case order.
    let got = ts
        .signed_post(
            PAST,
            &json!({ "from": "1", "limit": "2", "orderBy": "asc" }),
        )
        .await;
    assert_success(&got);
    assert_eq!(ids(&got.1), ["p2", "p3"]);
    assert_eq!(got.1["result"]["total_rooms"], "5");
    assert_eq!(got.1["result"]["from"], 1);
    assert_eq!(got.1["result"]["limit"], 2);
    assert_eq!(got.1["result"]["order_by"], "ASC");
    let got = ts
        .signed_post(PAST, &json!({ "from": 4, "limit": 2, "order_by": "DESC" }))
        .await;
    assert_eq!(ids(&got.1), ["p1"]);

    // Filter by room ids (both spellings).
    let got = ts
        .signed_post(PAST, &json!({ "room_ids": ["p2", "p4", "zz"] }))
        .await;
    assert_eq!(ids(&got.1), ["p4", "p2"]);
    assert_eq!(got.1["result"]["total_rooms"], "2");
    let got = ts
        .signed_post(PAST, &json!({ "roomIds": ["p3"], "order_by": "" }))
        .await;
    assert_eq!(ids(&got.1), ["p3"]);
    assert_eq!(got.1["result"]["order_by"], "DESC");

    // No rows.
    let got = ts.signed_post(PAST, &json!({ "room_ids": ["zz"] })).await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    assert_keys(&got.1, &ENVELOPE);
    let got = ts.signed_post(PAST, &json!({ "from": 50 })).await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");

    // Invalid parameters.
    for bad in [
        json!({ "order_by": "sideways" }),
        json!({ "limit": "many" }),
        json!({ "from": -1 }),
        json!({ "room_ids": ["bad id"] }),
    ] {
        let got = ts.signed_post(PAST, &bad).await;
        assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    }

    // limit: 0 means the default, and at most 100 rows come back.
    let got = ts.signed_post(PAST, &json!({ "limit": 0 })).await;
    assert_eq!(got.1["result"]["limit"], 20);
    for i in 0..105 {
        ts.state
            .store
            .insert_session(quorum_server::store::RoomRecord {
                room_id: format!("bulk{i}"),
                sid: format!("bulk-sid-{i}"),
                title: "Bulk".into(),
                created: 1_700_000_000 + i,
                ended: Some(1_700_000_100 + i),
                joined_participants: i,
                webhook_url: String::new(),
                analytics_file_id: None,
            })
            .await
            .unwrap();
    }
    let got = ts.signed_post(PAST, &json!({ "limit": 1000 })).await;
    assert_success(&got);
    assert_eq!(got.1["result"]["limit"], 100);
    assert_eq!(got.1["result"]["total_rooms"], "110");
    assert_eq!(got.1["result"]["rooms_list"].as_array().unwrap().len(), 100);
    let got = ts
        .signed_post(PAST, &json!({ "room_ids": ["bulk7"] }))
        .await;
    let r = &got.1["result"]["rooms_list"][0];
    assert_eq!(r["joined_participants"], "7");
    assert_eq!(r["created"], "2023-11-14 22:13:27");
    assert_eq!(r["ended"], "2023-11-14 22:15:07");
    ts.stop().await;
}

/// The analytics counters of a session, as the server keeps them in KV.
async fn counts(ts: &TestServer, sid: &str) -> Option<Value> {
    let c = ts.state.rooms.analytics.counts(sid).await?;
    serde_json::to_value(c).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_file_holds_counts_but_no_content() {
    let ts = TestServer::start().await;
    let v = create(
        &ts,
        json!({ "roomId": "an1", "metadata": { "roomTitle": "Stats",
            "roomFeatures": { "enableAnalytics": true } } }),
    )
    .await;
    let sid = v["room_info"]["sid"].as_str().unwrap().to_owned();
    let token = ts.join_token("an1", "alice", false).await;
    let mut alice = ts.nats_connect(Some(&token)).await.expect("alice");
    wait_presence(&ts, "an1", "alice", Presence::Online).await;
    const MARKER: &str = "SECRET-CHAT-MARKER-7f3a";
    alice
        .publish("qr.an1.chat.alice", format!("hello {MARKER}").as_bytes())
        .await
        .expect("chat");
    let counted = common::eventually(STEP, || async {
        counts(&ts, &sid)
            .await
            .is_some_and(|c| c["users"]["alice"]["messages_sent"] == 1)
    })
    .await;
    assert!(counted, "{:?}", counts(&ts, &sid).await);
    alice.close().await;
    wait_presence(&ts, "an1", "alice", Presence::Offline).await;
    let left = common::eventually(STEP, || async {
        counts(&ts, &sid)
            .await
            .is_some_and(|c| c["users"]["alice"]["leaves"] == 1)
    })
    .await;
    assert!(left, "{:?}", counts(&ts, &sid).await);

    // A room without analytics, for contrast.
    let plain_sid = ts.create_room("an2").await;
    end(&ts, "an2").await;
    end(&ts, "an1").await;

    let got = ts.signed_post(PAST, &json!({ "room_ids": ["an1"] })).await;
    assert_success(&got);
    let row = &got.1["result"]["rooms_list"][0];
    let file_id = row["analytics_file_id"].as_str().unwrap().to_owned();
    assert!(!file_id.is_empty(), "{row}");
    assert_eq!(row["joined_participants"], "1");
    let path = ts
        .data_dir()
        .join("analytics")
        .join(format!("{file_id}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!text.contains(MARKER), "chat text leaked into {text}");
    assert!(!text.contains("hello"), "chat text leaked into {text}");
    let file: Value = serde_json::from_str(&text).expect("analytics JSON");
    assert_eq!(file["room_id"], "an1");
    assert_eq!(file["sid"], sid.as_str());
    let alice = &file["users"]["alice"];
    assert_eq!(alice["joins"], 1, "{file}");
    assert_eq!(alice["leaves"], 1, "{file}");
    assert_eq!(alice["messages_sent"], 1, "{file}");
    // Counts only: every value of a user's entry is a number.
    for (k, v) in alice.as_object().unwrap() {
        assert!(v.is_u64(), "{k} = {v} is not a count");
    }
    assert_eq!(counts(&ts, &sid).await, None, "counters dropped after end");

    let got = ts.signed_post(PAST, &json!({ "room_ids": ["an2"] })).await;
    assert_eq!(got.1["result"]["rooms_list"][0]["analytics_file_id"], "");
    let files: Vec<_> = std::fs::read_dir(ts.data_dir().join("analytics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, [format!("{file_id}.json")]);
    assert!(!files[0].contains(&plain_sid));
    ts.stop().await;
}

/// Asserts that none of `conns` has received anything more (presence
/// aside) from what was published so far: the API publishes before it
/// answers, and [`TestServer::settled_events`] flushes that through.
async fn assert_silent(ts: &TestServer, conns: &mut [(&str, &mut RawNats)]) {
    for (who, c) in conns.iter_mut() {
        let got = ts.settled_events(c).await;
        assert!(got.is_empty(), "{who} unexpectedly got {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_exactly_its_audience() {
    let ts = TestServer::start().await;
    ts.create_room("b1").await;
    let (tm, ta, tb) = (
        ts.join_token("b1", "mod", true).await,
        ts.join_token("b1", "alice", false).await,
        ts.join_token("b1", "bob", false).await,
    );
    let mut m = participant(&ts, "b1", "mod", &tm).await;
    let mut a = participant(&ts, "b1", "alice", &ta).await;
    let mut b = participant(&ts, "b1", "bob", &tb).await;

    // Chat to everybody.
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "chat_msg": { "message": "hello all" } }),
        )
        .await;
    assert_success(&got);
    assert_keys(&got.1, &ENVELOPE);
    for (who, c) in [("mod", &mut m), ("alice", &mut a), ("bob", &mut b)] {
        let (subject, ev) = next_json(c, STEP).await.unwrap_or_else(|| panic!("{who}"));
        assert_eq!(subject, "qr.b1.public", "{who}");
        assert_eq!(ev["type"], "system_chat", "{ev}");
        assert_eq!(ev["message"], "hello all", "{ev}");
        assert!(ev["id"].is_string() && ev["sent_at_ms"].is_u64(), "{ev}");
    }

    // A notification to alice only.
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "to_user_id": "alice",
                "notification_msg": { "text": "just you", "type": "WARNING", "with_sound": true } }),
        )
        .await;
    assert_success(&got);
    let (subject, ev) = next_json(&mut a, STEP).await.expect("alice");
    assert_eq!(subject, "qr.b1.private.alice");
    assert_eq!(ev["type"], "notification");
    assert_eq!(ev["text"], "just you");
    assert_eq!(ev["kind"], "WARNING");
    assert_eq!(ev["with_sound"], true);
    assert_silent(
        &ts,
        &mut [("mod", &mut m), ("bob", &mut b), ("alice", &mut a)],
    )
    .await;

    // The SDK's shape (protocol >= 1.x): camelCase, `toUserId` inside the
    // message. It must reach bob only, never the whole room.
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "roomId": "b1",
                "notificationMsg": { "text": "for bob", "type": "INFO", "withSound": false, "toUserId": "bob" } }),
        )
        .await;
    assert_success(&got);
    let (subject, ev) = next_json(&mut b, STEP).await.expect("bob");
    assert_eq!(subject, "qr.b1.private.bob");
    assert_eq!(ev["text"], "for bob");
    assert_silent(
        &ts,
        &mut [("mod", &mut m), ("alice", &mut a), ("bob", &mut b)],
    )
    .await;
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "chat_msg": { "message": "psst", "to_user_id": "alice" } }),
        )
        .await;
    assert_success(&got);
    let (subject, ev) = next_json(&mut a, STEP).await.expect("alice");
    assert_eq!(
        (subject.as_str(), &ev["message"]),
        ("qr.b1.private.alice", &json!("psst"))
    );
    assert_silent(
        &ts,
        &mut [("mod", &mut m), ("bob", &mut b), ("alice", &mut a)],
    )
    .await;

    // Moderators only.
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "roomId": "b1", "onlyToAdmins": true, "chatMsg": { "message": "mods" } }),
        )
        .await;
    assert_success(&got);
    let (subject, ev) = next_json(&mut m, STEP).await.expect("mod");
    assert_eq!(subject, "qr.b1.private.mod");
    assert_eq!(ev["message"], "mods");
    assert_silent(
        &ts,
        &mut [("alice", &mut a), ("bob", &mut b), ("mod", &mut m)],
    )
    .await;

    // Refusals.
    for body in [
        json!({ "room_id": "b1" }),
        json!({ "room_id": "b1", "chat_msg": { "message": "  " } }),
        json!({ "room_id": "b1", "notification_msg": { "text": "" } }),
    ] {
        let got = ts.signed_post(BROADCAST, &body).await;
        assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    }
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "to_user_id": "ghost", "chat_msg": { "message": "boo" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "USER_NOT_FOUND");
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "notification_msg": { "text": "x", "type": "LOUD" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "nowhere", "chat_msg": { "message": "hi" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_FOUND");
    assert_silent(
        &ts,
        &mut [("mod", &mut m), ("alice", &mut a), ("bob", &mut b)],
    )
    .await;

    end(&ts, "b1").await;
    let got = ts
        .signed_post(
            BROADCAST,
            &json!({ "room_id": "b1", "chat_msg": { "message": "late" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_ACTIVE");
    for c in [m, a, b] {
        c.close().await;
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbuilt_features_answer_in_the_envelope_and_everything_is_signed() {
    let ts = TestServer::start().await;
    for path in [
        "/auth/recording/fetch",
        "/auth/analytics/fetch",
        "/auth/artifact/fetch",
        "/auth/recording/delete",
        "/auth/recording/getDownloadToken",
        "/auth/artifact/delete",
        "/auth/artifact/info",
    ] {
        let (code, v) = ts.signed_post(path, &json!({ "room_ids": [] })).await;
        assert_eq!(code, StatusCode::OK, "{path}: {v}");
        assert_eq!(v["status"], false, "{path}: {v}");
        assert_eq!(v["status_code"], "NOT_FOUND", "{path}: {v}");
        assert!(v["msg"].is_string(), "{path}: {v}");

        let body = br#"{"room_ids":[]}"#;
        let got = ts.post_with(path, body, None, None).await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
        let sig = quorum_server::api::signature::sign(&ts.api_secret(), body);
        let got = ts
            .post_with(path, body, Some("wrong-key"), Some(&sig))
            .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
        let got = ts
            .post_with(path, body, Some(&ts.api_key()), Some(&"0".repeat(64)))
            .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    }

    // Every room endpoint checks the signature before anything else.
    ts.create_room("s1").await;
    for path in [CREATE, TOKEN, IS_ACTIVE, INFO, INFOS, END, PAST, BROADCAST] {
        let body = br#"{"room_id":"s1"}"#;
        let got = ts.post_with(path, body, None, None).await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
        let sig = quorum_server::api::signature::sign(&ts.api_secret(), body);
        let got = ts
            .post_with(path, body, Some("wrong-key"), Some(&sig))
            .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
        let forged = quorum_server::api::signature::sign("not-the-secret", body);
        let got = ts
            .post_with(path, body, Some(&ts.api_key()), Some(&forged))
            .await;
        assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    }
    // None of that ended the room.
    assert!(ts.state.rooms.kv.room(&rid("s1")).await.unwrap().is_some());

    // Malformed JSON is a parameter problem, in the envelope.
    let got = ts.signed_post_bytes(PAST, b"{not json").await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    ts.stop().await;
}
