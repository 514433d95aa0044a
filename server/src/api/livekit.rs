//! `POST /livekit/webhook`: LiveKit's webhooks, checked with its own
//! receiver (a token signed with our LiveKit API secret over the body's
//! SHA-256). A bad signature is a 401 and changes nothing; without media
//! configured the path does not exist.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};

use crate::AppState;

/// Applies one LiveKit webhook.
pub async fn webhook(State(st): State<AppState>, headers: HeaderMap, body: String) -> StatusCode {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let event = match st.rooms.media.receive(&body, auth) {
        None => return StatusCode::NOT_FOUND,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "LiveKit webhook refused");
            return StatusCode::UNAUTHORIZED;
        }
        Some(Ok(ev)) => ev,
    };
    match st.rooms.media_event(&event).await {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            // LiveKit retries a failed delivery.
            tracing::error!(error = %e, event = %event.event, "LiveKit webhook not applied");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
