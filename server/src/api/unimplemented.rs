//! `/auth/recording/*` and `/auth/artifact/*`: not built yet. Each of
//! plugNmeet's own paths ([`PLACEHOLDERS`]) answers honestly in the envelope
//! (an empty list or `NOT_FOUND`), after the same signature check, never
//! with a 404 page. Any other path under `/auth` (a typo, an endpoint we
//! don't have) gets [`no_such_endpoint`]: HTTP 404 with the envelope
//! naming the method and path, so a mistake is not mistaken for "no data".

use axum::extract::State;
use axum::http::{Method, Uri};
use axum::Json;
use serde_json::{json, Value};

use super::signature::Signed;
use crate::error::ApiError;
use crate::AppState;

/// plugNmeet's recording and artifact endpoints, answered by [`not_yet`].
pub const PLACEHOLDERS: &[&str] = &[
    "/auth/recording/fetch",
    "/auth/recording/info",
    "/auth/recording/recordingInfo",
    "/auth/recording/updateMetadata",
    "/auth/recording/mergeRecordings",
    "/auth/recording/delete",
    "/auth/recording/getDownloadToken",
    "/auth/artifact/fetch",
    "/auth/artifact/info",
    "/auth/artifact/delete",
    "/auth/artifact/getDownloadToken",
];

/// One of [`PLACEHOLDERS`].
pub async fn not_yet(State(_st): State<AppState>, uri: Uri, Signed(_body): Signed) -> Json<Value> {
    let mut parts = uri.path().trim_start_matches("/auth/").splitn(2, '/');
    let group = parts.next().unwrap_or_default();
    let action = parts.next().unwrap_or_default();
    if action == "fetch" {
        return Json(json!({
            "status": false,
            "msg": format!("no {group} found"),
            "status_code": "NOT_FOUND",
            "result": { "total_items": "0", "from": 0, "limit": 20, "order_by": "DESC", "list": [] }
        }));
    }
    Json(json!({
        "status": false,
        "msg": format!("{group} {action}: not found"),
        "status_code": "NOT_FOUND"
    }))
}

/// Any other method and path under `/auth`: HTTP 404, `NOT_FOUND`.
pub async fn no_such_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::NoSuchEndpoint(format!("{method} {}", uri.path()))
}
