//! `/auth/recording/*`, `/auth/analytics/*` and `/auth/artifact/*`: not
//! built yet. They answer honestly in the envelope (an empty list or
//! `NOT_FOUND`), after the same signature check, never with a 404 page.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::signature::Signed;
use crate::AppState;

/// Any `/auth/{recording,analytics,artifact}/{action}` call.
pub async fn not_yet(
    State(_st): State<AppState>,
    Path((group, action)): Path<(String, String)>,
    Signed(_body): Signed,
) -> Json<Value> {
    let lists = matches!(
        action.as_str(),
        "fetch" | "fetchRecordings" | "fetchAnalytics" | "fetchArtifacts"
    );
    if lists {
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
