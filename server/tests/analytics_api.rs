//! Integration tests of plugNmeet's analytics API over the files an
//! `enable_analytics` session leaves in `data/analytics/`: `fetch`,
//! `getDownloadToken` (also as `/auth/analytics/download`), the signed,
//! expiring `GET /download/analytics/{token}`, and `delete`; bad, expired
//! and foreign tokens, deleted files and path traversal. Real server on
//! 127.0.0.1:0 with a real nats-server and SQLite.
//! Run: `cargo test -p quorum-server --test analytics_api`.

mod common;

use common::{assert_failure, assert_keys, now, TestServer};
use quorum_server::tokens::{DownloadTokens, DOWNLOAD_TOKEN_TTL_SECS};
use reqwest::StatusCode;
use serde_json::{json, Value};

const FETCH: &str = "/auth/analytics/fetch";
const TOKEN: &str = "/auth/analytics/getDownloadToken";
const DELETE: &str = "/auth/analytics/delete";

/// Creates `room` with analytics on, ends it, and returns its session id
/// and analytics file id.
async fn ended_analytics_room(ts: &TestServer, room: &str) -> (String, String) {
    let sid = ts
        .create_room_with(
            room,
            json!({ "room_title": "Stats", "room_features": { "enable_analytics": true } }),
        )
        .await;
    let (code, v) = ts
        .signed_post("/auth/room/endRoom", &json!({ "room_id": room }))
        .await;
    assert_eq!((code, &v["status"]), (StatusCode::OK, &json!(true)), "{v}");
    let (_, v) = ts
        .signed_post("/auth/room/fetchPastRooms", &json!({ "room_ids": [room] }))
        .await;
    let file_id = v["result"]["rooms_list"][0]["analytics_file_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!file_id.is_empty(), "no analytics file for {room}: {v}");
    (sid, file_id)
}

/// `GET /download/analytics/{token}`: status, headers and body text.
async fn download(
    ts: &TestServer,
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = ts.get(&format!("/download/analytics/{token}")).await;
    let code = res.status();
    let headers = res.headers().clone();
    (code, headers, res.text().await.expect("body"))
}

/// A download that must fail: HTTP `http`, envelope `code`.
#[track_caller]
fn assert_download_refused(
    got: (StatusCode, reqwest::header::HeaderMap, String),
    http: StatusCode,
    code: &str,
) -> String {
    let (status, _, text) = got;
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"));
    assert_failure(&(status, v.clone()), http, code);
    v["msg"].as_str().unwrap().to_owned()
}

async fn token_for(ts: &TestServer, path: &str, file_id: &str) -> String {
    let (code, v) = ts.signed_post(path, &json!({ "file_id": file_id })).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_eq!(v["status_code"], "SUCCESS", "{v}");
    assert_keys(&v, &["status", "msg", "status_code", "token"]);
    v["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_lists_the_files_written() {
    let ts = TestServer::start().await;
    // Nothing yet: plugNmeet's "nothing found".
    let got = ts.signed_post(FETCH, &json!({})).await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");

    let (sid1, f1) = ended_analytics_room(&ts, "st1").await;
    let (_, f2) = ended_analytics_room(&ts, "st2").await;
    // A room without analytics is not listed.
    ts.create_room("plain").await;
    ts.signed_post("/auth/room/endRoom", &json!({ "room_id": "plain" }))
        .await;

    let (code, v) = ts.signed_post(FETCH, &json!({})).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], true, "{v}");
    assert_keys(&v, &["status", "msg", "status_code", "result"]);
    let r = &v["result"];
    assert_keys(
        r,
        &[
            "total_analytics",
            "from",
            "limit",
            "order_by",
            "analytics_list",
        ],
    );
    assert_eq!(r["total_analytics"], "2");
    assert_eq!(
        (r["from"].clone(), r["limit"].clone()),
        (json!(0), json!(20))
    );
    assert_eq!(r["order_by"], "DESC");
    let list = r["analytics_list"].as_array().unwrap();
    // Newest first.
    assert_eq!(list[0]["file_id"], f2.as_str());
    assert_eq!(list[1]["file_id"], f1.as_str());
    let a = &list[1];
    assert_keys(
        a,
        &[
            "room_id",
            "file_id",
            "file_name",
            "file_size",
            "creation_time",
            "room_creation_time",
        ],
    );
    assert_eq!(a["room_id"], "st1");
    assert_eq!(a["file_name"], format!("{f1}.json"));
    assert!(f1.contains(&sid1), "{f1} names session {sid1}");
    let on_disk = std::fs::metadata(ts.data_dir().join("analytics").join(format!("{f1}.json")))
        .unwrap()
        .len();
    assert_eq!(a["file_size"], on_disk.to_string());
    let created: i64 = a["room_creation_time"].as_str().unwrap().parse().unwrap();
    let written: i64 = a["creation_time"].as_str().unwrap().parse().unwrap();
    assert!(created <= written && written <= now() as i64 + 1, "{a}");

    // Filter, order and paging (camelCase accepted, numbers as strings).
    let (_, v) = ts
        .signed_post(
            FETCH,
            &json!({ "roomIds": ["st1"], "orderBy": "asc", "limit": "5" }),
        )
        .await;
    assert_eq!(v["result"]["total_analytics"], "1", "{v}");
    assert_eq!(v["result"]["order_by"], "ASC", "{v}");
    assert_eq!(v["result"]["limit"], 5, "{v}");
    let (_, v) = ts
        .signed_post(FETCH, &json!({ "from": 1, "limit": 1, "order_by": "ASC" }))
        .await;
    assert_eq!(
        v["result"]["analytics_list"][0]["file_id"],
        f2.as_str(),
        "{v}"
    );
    let got = ts
        .signed_post(FETCH, &json!({ "room_ids": ["plain"] }))
        .await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    let got = ts
        .signed_post(FETCH, &json!({ "order_by": "SIDEWAYS" }))
        .await;
    assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");

    // Signed like everything under /auth.
    let got = ts
        .post_with(FETCH, b"{}", Some(&ts.api_key()), Some(&"0".repeat(64)))
        .await;
    assert_failure(&got, StatusCode::UNAUTHORIZED, "INVALID_TOKEN_OR_SIGNATURE");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_token_fetches_the_file() {
    let ts = TestServer::start().await;
    let (sid, file_id) = ended_analytics_room(&ts, "dl1").await;
    let token = token_for(&ts, TOKEN, &file_id).await;

    let (code, headers, text) = download(&ts, &token).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"{file_id}.json\"").as_str()
    );
    let on_disk = std::fs::read_to_string(
        ts.data_dir()
            .join("analytics")
            .join(format!("{file_id}.json")),
    )
    .unwrap();
    assert_eq!(text, on_disk);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["room_id"].as_str(), v["sid"].as_str()),
        (Some("dl1"), Some(sid.as_str()))
    );
    // Usable more than once while it lasts.
    assert_eq!(download(&ts, &token).await.0, StatusCode::OK);

    // The name our earlier documentation used issues the same kind of token.
    let other = token_for(&ts, "/auth/analytics/download", &file_id).await;
    assert_eq!(download(&ts, &other).await.0, StatusCode::OK);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_expired_and_foreign_tokens_are_refused() {
    let ts = TestServer::start().await;
    let (_, file_id) = ended_analytics_room(&ts, "bt1").await;
    let key = ts.api_key();

    // Garbage, and a good token with its payload altered.
    let msg = assert_download_refused(
        download(&ts, "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    assert!(msg.contains("download token"), "{msg}");
    let good = token_for(&ts, TOKEN, &file_id).await;
    let tampered = common::tamper_claims(&good, |c| c["exp"] = json!(now() + 86_400));
    assert_download_refused(
        download(&ts, &tampered).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );

    // Expired: issued by the server's own signer, long enough ago.
    let signer = DownloadTokens::new(&key, &ts.api_secret());
    let old = signer
        .issue_at(&file_id, now() - DOWNLOAD_TOKEN_TTL_SECS - 60)
        .unwrap();
    let msg = assert_download_refused(
        download(&ts, &old).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    assert!(msg.contains("expired"), "{msg}");
    // The same, fresh, works: only the time was wrong.
    let fresh = signer.issue_at(&file_id, now()).unwrap();
    assert_eq!(download(&ts, &fresh).await.0, StatusCode::OK);

    // Another server's secret; a join token (another kind, another key).
    let foreign = DownloadTokens::new(&key, "not-the-secret")
        .issue(&file_id)
        .unwrap();
    assert_download_refused(
        download(&ts, &foreign).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    ts.create_room("bt2").await;
    let join = ts.join_token("bt2", "alice", true).await;
    assert_download_refused(
        download(&ts, &join).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_TOKEN_OR_SIGNATURE",
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_ids_never_leave_the_analytics_directory() {
    let ts = TestServer::start().await;
    let (_, file_id) = ended_analytics_room(&ts, "pt1").await;
    for bad in [
        "../secrets.json",
        "../secrets",
        "analytics-../../secrets",
        "/etc/passwd",
        "analytics-00000000-0000-4000-8000-000000000000/../../secrets",
        &format!("{file_id}.json"),
        &file_id.to_uppercase(),
    ] {
        for path in [TOKEN, DELETE] {
            let got = ts.signed_post(path, &json!({ "file_id": bad })).await;
            assert_failure(&got, StatusCode::OK, "INVALID_PARAMETERS");
        }
    }
    let got = ts.signed_post(TOKEN, &json!({})).await;
    assert_failure(&got, StatusCode::OK, "MISSING_REQUIRED_PARAMETER");
    // Well-formed but unknown.
    let unknown = format!("analytics-{}", uuid::Uuid::new_v4());
    for path in [TOKEN, DELETE] {
        let got = ts.signed_post(path, &json!({ "file_id": unknown })).await;
        assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    }
    // Even a token we signed ourselves can't name a path outside.
    let signer = DownloadTokens::new(&ts.api_key(), &ts.api_secret());
    for bad in [
        "../secrets.json",
        "../quorum.db",
        "analytics-x/../../secrets",
    ] {
        let t = signer.issue(bad).unwrap();
        let (code, _, text) = download(&ts, &t).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{bad}: {text}");
        assert!(!text.contains("api_secret"), "{text}");
    }
    // Encoded separators in the URL reach the token check and stop there.
    for raw in ["..%2F..%2Fsecrets.json", "..%2fquorum.db"] {
        let (code, _, text) = download(&ts, raw).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{raw}: {text}");
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_file_and_its_tokens_stop_working() {
    let ts = TestServer::start().await;
    let (_, file_id) = ended_analytics_room(&ts, "del1").await;
    let (_, keep) = ended_analytics_room(&ts, "del2").await;
    let token = token_for(&ts, TOKEN, &file_id).await;
    let path = ts
        .data_dir()
        .join("analytics")
        .join(format!("{file_id}.json"));
    assert!(path.is_file());

    let (code, v) = ts.signed_post(DELETE, &json!({ "fileId": file_id })).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(
        (v["status"].clone(), v["status_code"].clone()),
        (json!(true), json!("SUCCESS")),
        "{v}"
    );
    assert_keys(&v, &["status", "msg", "status_code"]);
    assert!(!path.exists(), "file still on disk");

    // A token issued before: the file is gone (404, in the envelope).
    let msg = assert_download_refused(
        download(&ts, &token).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert!(msg.contains(&file_id), "{msg}");
    // No new token, no second delete, not listed, not in the history.
    for p in [TOKEN, DELETE] {
        let got = ts.signed_post(p, &json!({ "file_id": file_id })).await;
        assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    }
    let (_, v) = ts.signed_post(FETCH, &json!({})).await;
    assert_eq!(v["result"]["total_analytics"], "1", "{v}");
    assert_eq!(
        v["result"]["analytics_list"][0]["file_id"],
        keep.as_str(),
        "{v}"
    );
    let (_, v) = ts
        .signed_post(
            "/auth/room/fetchPastRooms",
            &json!({ "room_ids": ["del1"] }),
        )
        .await;
    assert_eq!(v["result"]["rooms_list"][0]["analytics_file_id"], "", "{v}");

    // A file removed behind our back: listed with size 0, download 404,
    // delete still clears it.
    let kept_path = ts.data_dir().join("analytics").join(format!("{keep}.json"));
    let token = token_for(&ts, TOKEN, &keep).await;
    std::fs::remove_file(&kept_path).unwrap();
    let (_, v) = ts.signed_post(FETCH, &json!({})).await;
    assert_eq!(v["result"]["analytics_list"][0]["file_size"], "0", "{v}");
    assert_download_refused(
        download(&ts, &token).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    let got = ts.signed_post(TOKEN, &json!({ "file_id": keep })).await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    let (_, v) = ts.signed_post(DELETE, &json!({ "file_id": keep })).await;
    assert_eq!(v["status"], true, "{v}");
    let got = ts.signed_post(FETCH, &json!({})).await;
    assert_failure(&got, StatusCode::OK, "NOT_FOUND");
    ts.stop().await;
}
