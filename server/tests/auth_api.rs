//! Integration tests of the signed server API (`/auth/room/*`): HMAC
//! authentication, validation, idempotent create and SQLite history, against
//! a real server with a real nats-server. Run: `cargo test -p quorum-server --test auth_api`.

mod common;

use common::{assert_failure, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const CREATE: &str = "/auth/room/create";
const TOKEN: &str = "/auth/room/getJoinToken";

fn create_body(room_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "room_id": room_id, "metadata": { "room_title": "Title" } }))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_authentication() {
    let ts = TestServer::start().await;
    let (key, secret) = (ts.api_key(), ts.api_secret());
    let body = create_body("hmac-room");
    let sig = quorum_server::api::signature::sign(&secret, &body);

    // Correct key and signature.
    let (code, v) = ts.post_with(CREATE, &body, Some(&key), Some(&sig)).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["status_code"], "SUCCESS", "{v}");
    let info = &v["room_info"];
    assert_eq!(info["room_id"], "hmac-room", "{v}");
    assert_eq!(info["room_title"], "Title", "{v}");
    assert_eq!(info["is_running"], true, "{v}");
    let sid = uuid::Uuid::parse_str(info["sid"].as_str().expect("sid")).expect("sid is a UUID");
    assert_eq!(sid.get_version_num(), 4, "sid must be a random UUID");

    // Wrong API key (the signature is right).
    let got = ts
        .post_with(CREATE, &body, Some("not-our-key"), Some(&sig))
        .await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_API_KEY");

    // Wrong signature: well-formed hex, wrong value.
    let wrong = quorum_server::api::signature::sign("some-other-secret", &body);
    let got = ts.post_with(CREATE, &body, Some(&key), Some(&wrong)).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // The right signature in UPPERCASE hex is not what the SDKs send.
    let upper = sig.to_uppercase();
    assert_ne!(upper, sig);
    let got = ts.post_with(CREATE, &body, Some(&key), Some(&upper)).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Garbage signature.
    let got = ts.post_with(CREATE, &body, Some(&key), Some("zz")).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");

    // Missing headers.
    let got = ts.post_with(CREATE, &body, None, Some(&sig)).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
    assert!(
        got.1["msg"].as_str().unwrap().contains("API-KEY"),
        "{}",
        got.1
    );
    let got = ts.post_with(CREATE, &body, Some(&key), None).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");
    assert!(
        got.1["msg"].as_str().unwrap().contains("HASH-SIGNATURE"),
        "{}",
        got.1
    );
    let got = ts.post_with(CREATE, &body, None, None).await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "MISSING_REQUIRED_PARAMETER");

    // A signature over a different body: the body was modified in transit.
    let modified = create_body("hmac-room-evil");
    let got = ts
        .post_with(CREATE, &modified, Some(&key), Some(&sig))
        .await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    // ... and the modified request created nothing.
    let (code, v) = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "hmac-room-evil", "user_info": { "name": "A", "user_id": "a" } }),
        )
        .await;
    assert_eq!(
        (code, &v["status_code"]),
        (StatusCode::OK, &json!("ROOM_NOT_FOUND")),
        "{v}"
    );

    // Refused requests also carry the security headers.
    let res = reqwest::Client::new()
        .post(format!("{}{CREATE}", ts.base_url))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");

    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field() {
    let ts = TestServer::start().await;

    // Malformed JSON, correctly signed: HTTP 200 with INVALID_PARAMETERS.
    let got = ts.signed_post_bytes(CREATE, b"{\"room_id\": ").await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    let got = ts.signed_post_bytes(CREATE, b"").await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");

    // Invalid room ids.
    for bad in ["bad room", "user_x", "a.b", "x-FIELD_y", ""] {
        let got = ts
            .signed_post(
                CREATE,
                &json!({ "room_id": bad, "metadata": { "room_title": "T" } }),
            )
            .await;
        assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
        let msg = got.1["msg"].as_str().unwrap();
        assert!(msg.contains("room_id"), "{bad:?}: {msg}");
    }
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "bad room", "user_info": { "name": "A", "user_id": "a" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
    assert!(
        got.1["msg"].as_str().unwrap().contains("room_id"),
        "{}",
        got.1
    );

    // Invalid user ids in getJoinToken.
    ts.create_room("valid-room").await;
    for bad in ["user_x", "bad user", "a*", "x-FIELD_y"] {
        let got = ts
            .signed_post(
                TOKEN,
                &json!({ "room_id": "valid-room", "user_info": { "name": "A", "user_id": bad } }),
            )
            .await;
        assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
        let msg = got.1["msg"].as_str().unwrap();
        assert!(msg.contains("user_id"), "{bad:?}: {msg}");
    }

    // Missing required parts.
    let got = ts
        .signed_post(CREATE, &json!({ "room_id": "no-meta" }))
        .await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    assert!(
        got.1["msg"].as_str().unwrap().contains("metadata"),
        "{}",
        got.1
    );
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "valid-room", "user_info": { "name": " ", "user_id": "a" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    assert!(got.1["msg"].as_str().unwrap().contains("name"), "{}", got.1);

    // A token for a room that is not running.
    let got = ts
        .signed_post(
            TOKEN,
            &json!({ "room_id": "nowhere", "user_info": { "name": "A", "user_id": "a" } }),
        )
        .await;
    assert_failure(&got, StatusCode::OK, "ROOM_NOT_FOUND");

    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_idempotent_accepts_camel_case_and_records_history() {
    let ts = TestServer::start().await;

    let (code, first) = ts.signed_post_bytes(CREATE, &create_body("idem")).await;
    assert_eq!(code, StatusCode::OK, "{first}");
    assert_eq!(first["status"], true, "{first}");
    let sid = first["room_info"]["sid"].as_str().unwrap().to_owned();

    // Same room again while it runs: the running session, no new sid.
    let (code, second) = ts.signed_post_bytes(CREATE, &create_body("idem")).await;
    assert_eq!(code, StatusCode::OK, "{second}");
    assert_eq!(second["status"], true, "{second}");
    assert_eq!(second["room_info"]["sid"], sid.as_str(), "{second}");
    assert_eq!(
        first["room_info"]["creation_time"], second["room_info"]["creation_time"],
        "{second}"
    );

    // The session is in the SQLite history, once.
    let rec = ts
        .state
        .store
        .session(sid.clone())
        .await
        .unwrap()
        .expect("history row for the session");
    assert_eq!(rec.room_id, "idem");
    assert_eq!(rec.sid, sid);
    assert_eq!(rec.title, "Title");
    assert_eq!(rec.ended, None);
    assert!(rec.created > 0);

    // lowerCamelCase names and string integers, as protobuf-JSON allows;
    // unknown fields are ignored.
    let (code, v) = ts
        .signed_post(
            CREATE,
            &json!({
                "roomId": "camel",
                "emptyTimeout": "300",
                "maxParticipants": 5,
                "somethingNew": true,
                "metadata": {
                    "roomTitle": "Camel Case",
                    "roomFeatures": { "allowWebcams": false },
                    "defaultLockSettings": { "lockChat": true }
                }
            }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["room_info"]["room_id"], "camel", "{v}");
    assert_eq!(v["room_info"]["room_title"], "Camel Case", "{v}");
    let camel_sid = v["room_info"]["sid"].as_str().unwrap();
    assert_ne!(camel_sid, sid);
    assert!(ts
        .state
        .store
        .session(camel_sid.to_owned())
        .await
        .unwrap()
        .is_some());

    // getJoinToken with camelCase too.
    let (code, v) = ts
        .signed_post(
            TOKEN,
            &json!({ "roomId": "camel", "userInfo": { "name": "Bob", "userId": "bob", "isAdmin": true } }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["token"].as_str().unwrap().split('.').count(), 3, "{v}");

    ts.stop().await;
}
