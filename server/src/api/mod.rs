//! HTTP routes: the signed server API (`/auth/*`), the browser API
//! (`/api/*`) and the health check.

pub mod browser;
pub mod features;
pub mod manage;
pub mod rooms;
pub mod signature;
pub mod unimplemented;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// Routes for the APIs (static files are added by `web`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/room/create", post(rooms::create))
        .route("/auth/room/getJoinToken", post(rooms::join_token))
        .route("/auth/room/isRoomActive", post(manage::is_active))
        .route("/auth/room/getActiveRoomInfo", post(manage::active_info))
        .route("/auth/room/getActiveRoomsInfo", post(manage::active_infos))
        .route("/auth/room/endRoom", post(manage::end))
        .route("/auth/room/fetchPastRooms", post(manage::past))
        .route("/auth/room/broadcastToRoom", post(manage::broadcast))
        .route("/auth/{group}/{action}", post(unimplemented::not_yet))
        .route("/api/verifyToken", post(browser::verify_token))
        .route("/api/renewToken", post(browser::renew_token))
        .route("/api/config", get(browser::client_config))
        .route("/healthz", get(health))
}

/// `GET /healthz`: database and NATS status; 503 when either is down.
async fn health(State(st): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let db = st.store.ping().await.is_ok();
    let nats = st.nats.client.connection_state() == async_nats::connection::State::Connected;
    let code = if db && nats {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "down" };
    (
        code,
        Json(
            json!({ "status": word(db && nats), "database": word(db), "nats": word(nats), "version": crate::VERSION }),
        ),
    )
}
