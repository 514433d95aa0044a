//! HTTP routes: the signed server API (`/auth/*`), the browser API
//! (`/api/*`), analytics downloads (`/download/analytics/*`), LiveKit's
//! webhooks (`/livekit/webhook`) and the health check.

pub mod analytics;
pub mod browser;
pub mod livekit;
pub mod manage;
pub mod metrics;
pub mod rooms;
pub mod signature;
pub mod unimplemented;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// Routes for the APIs (static files are added by `web`).
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/auth/room/create", post(rooms::create))
        .route("/auth/room/getJoinToken", post(rooms::join_token))
        .route("/auth/room/isRoomActive", post(manage::is_active))
        .route("/auth/room/getActiveRoomInfo", post(manage::active_info))
        .route("/auth/room/getActiveRoomsInfo", post(manage::active_infos))
        .route("/auth/room/endRoom", post(manage::end))
        .route("/auth/room/fetchPastRooms", post(manage::past))
        .route("/auth/room/broadcastToRoom", post(manage::broadcast))
        .route("/auth/analytics/fetch", post(analytics::fetch))
        .route(
            "/auth/analytics/getDownloadToken",
            post(analytics::download_token),
        )
        // The name our earlier documentation used for the same call.
        .route("/auth/analytics/download", post(analytics::download_token))
        .route("/auth/analytics/delete", post(analytics::delete))
        .route("/download/analytics/{token}", get(analytics::download))
        .route("/api/verifyToken", post(browser::verify_token))
        .route("/api/renewToken", post(browser::renew_token))
        .route("/api/config", get(browser::client_config))
        .route("/livekit/webhook", post(livekit::webhook))
        .route("/healthz", get(health));
    for path in unimplemented::PLACEHOLDERS {
        router = router.route(path, post(unimplemented::not_yet));
    }
    // Every other path under /auth: a 404 in the envelope, not the client
    // app's fallback page.
    router
        .route("/auth", any(unimplemented::no_such_endpoint))
        .route("/auth/", any(unimplemented::no_such_endpoint))
        .route("/auth/{*rest}", any(unimplemented::no_such_endpoint))
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
