//! The demo room, created at start only when `demo_room` is on (off by
//! default; `scripts/run.sh` turns it on): made through our own signed
//! `/auth/room/create` and `/auth/room/getJoinToken`, exactly as an
//! integrator would, so the printed links prove the whole path works.
//!
//! The links carry moderator and participant tokens: `main.rs` prints them
//! to stdout with `println!` (the operator's own terminal), never through
//! `tracing`, and nothing here logs them.

use axum::body::Body;
use axum::http::Request;
use quorum_shared::api::{CreateRoomRes, GenerateTokenRes};
use serde_json::json;
use tower::ServiceExt;

use crate::api::signature::sign;
use crate::AppState;

/// Room id of the demo room.
pub const DEMO_ROOM: &str = "demo";

/// Join links for the demo room.
#[derive(Debug, Clone)]
pub struct DemoLinks {
    /// Link for a moderator.
    pub moderator: String,
    /// Link for a participant.
    pub participant: String,
}

async fn call<T: serde::de::DeserializeOwned>(
    st: &AppState,
    path: &str,
    body: serde_json::Value,
) -> Result<T, String> {
    let body = body.to_string();
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("API-KEY", &st.secrets.api_key)
        .header(
            "HASH-SIGNATURE",
            sign(&st.secrets.api_secret, body.as_bytes()),
        )
        .body(Body::from(body))
        .map_err(|e| e.to_string())?;
    let res = crate::app(st.clone())
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&bytes)))
}

async fn token(st: &AppState, user_id: &str, name: &str, is_admin: bool) -> Result<String, String> {
    let res: GenerateTokenRes = call(
        st,
        "/auth/room/getJoinToken",
        json!({ "room_id": DEMO_ROOM, "user_info": { "user_id": user_id, "name": name, "is_admin": is_admin } }),
    )
    .await?;
    res.token.ok_or(res.envelope.msg)
}

/// Creates (or reuses) the demo room and returns fresh join links.
pub async fn create(st: &AppState) -> Result<DemoLinks, String> {
    let res: CreateRoomRes = call(
        st,
        "/auth/room/create",
        json!({ "room_id": DEMO_ROOM, "metadata": { "room_title": "Quorum demo room" } }),
    )
    .await?;
    if !res.envelope.status {
        return Err(res.envelope.msg);
    }
    let link = |t: String| format!("{}/?access_token={t}", st.public_url);
    Ok(DemoLinks {
        moderator: link(token(st, "host", "Host", true).await?),
        participant: link(token(st, "guest", "Guest", false).await?),
    })
}
