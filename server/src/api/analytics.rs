//! plugNmeet's analytics API, served from the files `rooms/analytics.rs`
//! writes to `{data_dir}/analytics/{file_id}.json` when an
//! `enable_analytics` session ends (counts only, never content), indexed
//! by the history rows' `analytics_file_id`.
//!
//! * `POST /auth/analytics/fetch` `{room_ids[], from, limit, order_by}` →
//!   `result:{total_analytics, from, limit, order_by, analytics_list}`;
//!   no files → `status:false`, `NOT_FOUND`.
//! * `POST /auth/analytics/getDownloadToken` `{file_id}` → `{token}`, a
//!   signed token valid for [`DOWNLOAD_TOKEN_TTL_SECS`] (`tokens.rs`);
//!   `/auth/analytics/download` is the same call under the name our
//!   earlier documentation used.
//! * `GET /download/analytics/{token}` (no API signature: the token is the
//!   credential, so a browser can follow the link) → the JSON file as an
//!   attachment. A bad or expired token → HTTP 401; a file deleted since →
//!   HTTP 404.
//! * `POST /auth/analytics/delete` `{file_id}` → removes the file and
//!   forgets it in the history.
//!
//! A file id is only ever used in a path after it has been checked to be
//! exactly `analytics-<UUID>` ([`valid_file_id`]) and found in the history,
//! so no request can name a file outside the analytics directory.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use quorum_shared::api::{lenient_u64, Envelope, StatusCode};
use serde::{Deserialize, Serialize};

use super::manage::Paging;
use super::signature::Signed;
use crate::error::{parse_json, ApiError};
use crate::store::{HistoryQuery, RoomRecord};
use crate::tokens::DownloadTokens;
use crate::AppState;

pub use crate::tokens::DOWNLOAD_TOKEN_TTL_SECS;

/// Prefix of every analytics file id (`rooms::analytics::file_id`).
const FILE_ID_PREFIX: &str = "analytics-";

/// `fetch` request (plugNmeet's `FetchAnalyticsReq`).
#[derive(Debug, Default, Deserialize)]
pub struct FetchAnalyticsReq {
    /// Only these rooms (empty = all).
    #[serde(default, alias = "roomIds")]
    pub room_ids: Vec<String>,
    /// Offset.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub from: Option<u64>,
    /// Page size (default 20, at most 100).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub limit: Option<u64>,
    /// `DESC` (default) or `ASC`.
    #[serde(default, alias = "orderBy")]
    pub order_by: Option<String>,
}

/// One analytics file (plugNmeet's `AnalyticsInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsInfo {
    /// The room.
    pub room_id: String,
    /// The file id, for `getDownloadToken` and `delete`.
    pub file_id: String,
    /// `{file_id}.json`.
    pub file_name: String,
    /// Bytes (64-bit, as a string); `"0"` if the file has gone missing.
    pub file_size: String,
    /// When the file was written (the session's end), unix seconds
    /// (64-bit, as a string).
    pub creation_time: String,
    /// When the session started, unix seconds (64-bit, as a string).
    pub room_creation_time: String,
}

/// The page of files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchAnalyticsResult {
    /// Files matching the filter (64-bit, as a string).
    pub total_analytics: String,
    /// Offset used.
    pub from: u32,
    /// Page size used.
    pub limit: u32,
    /// Order used.
    pub order_by: String,
    /// The files.
    pub analytics_list: Vec<AnalyticsInfo>,
}

/// `fetch` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchAnalyticsRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The page, when files exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<FetchAnalyticsResult>,
}

/// `getDownloadToken` and `delete` request.
#[derive(Debug, Default, Deserialize)]
pub struct FileIdReq {
    /// The file id from `fetch` (or `fetchPastRooms`' `analytics_file_id`).
    #[serde(default, alias = "fileId")]
    pub file_id: String,
}

/// `getDownloadToken` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadTokenRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The token for `GET /download/analytics/{token}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Whether `id` is exactly what `rooms::analytics::file_id` makes:
/// `analytics-` and a UUID in its lowercase hyphenated form. Nothing else
/// (no separators, dots or other characters) ever reaches a path.
pub fn valid_file_id(id: &str) -> bool {
    id.strip_prefix(FILE_ID_PREFIX)
        .and_then(|rest| {
            uuid::Uuid::parse_str(rest)
                .ok()
                .map(|u| u.hyphenated().to_string() == rest)
        })
        .unwrap_or(false)
}

/// The directory the analytics files are written to.
fn analytics_dir(st: &AppState) -> PathBuf {
    st.config.data_dir.join("analytics")
}

/// The path of a file id already checked by [`valid_file_id`].
fn file_path(st: &AppState, file_id: &str) -> PathBuf {
    debug_assert!(valid_file_id(file_id));
    analytics_dir(st).join(format!("{file_id}.json"))
}

/// Size of a regular file (not following symlinks), `None` if absent or
/// not a regular file.
async fn file_size(path: &std::path::Path) -> Option<u64> {
    tokio::fs::symlink_metadata(path)
        .await
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| m.len())
}

/// Checks `file_id` and finds its history row; `NOT_FOUND` when none
/// names it.
async fn known_file(st: &AppState, file_id: &str) -> Result<RoomRecord, ApiError> {
    if file_id.is_empty() {
        return Err(ApiError::MissingParameter("file_id"));
    }
    if !valid_file_id(file_id) {
        return Err(ApiError::InvalidParameters(
            "file_id: not an analytics file id".into(),
        ));
    }
    st.store
        .session_by_analytics_file(file_id.to_owned())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("analytics file {file_id} not found")))
}

/// `POST /auth/analytics/fetch`: paged list of analytics files.
pub async fn fetch(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<FetchAnalyticsRes>, ApiError> {
    let req: FetchAnalyticsReq = parse_json(&body)?;
    let Paging {
        from,
        limit,
        descending,
    } = Paging::parse(req.order_by.as_deref(), req.limit, req.from)?;
    let (total, rows) = st
        .store
        .analytics_history(HistoryQuery {
            room_ids: req.room_ids,
            from,
            limit,
            descending,
        })
        .await?;
    if rows.is_empty() {
        return Ok(Json(FetchAnalyticsRes {
            envelope: Envelope::failure(StatusCode::NotFound, "no analytics found"),
            result: None,
        }));
    }
    let mut analytics_list = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(file_id) = r.analytics_file_id.filter(|id| valid_file_id(id)) else {
            continue;
        };
        let size = file_size(&file_path(&st, &file_id)).await.unwrap_or(0);
        analytics_list.push(AnalyticsInfo {
            room_id: r.room_id,
            file_name: format!("{file_id}.json"),
            file_id,
            file_size: size.to_string(),
            creation_time: r.ended.unwrap_or(r.created).to_string(),
            room_creation_time: r.created.to_string(),
        });
    }
    Ok(Json(FetchAnalyticsRes {
        envelope: Envelope::success("success"),
        result: Some(FetchAnalyticsResult {
            total_analytics: total.to_string(),
            from,
            limit,
            order_by: if descending { "DESC" } else { "ASC" }.into(),
            analytics_list,
        }),
    }))
}

/// `POST /auth/analytics/getDownloadToken` (also `/auth/analytics/download`):
/// a short-lived token for one file.
pub async fn download_token(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<DownloadTokenRes>, ApiError> {
    let req: FileIdReq = parse_json(&body)?;
    let row = known_file(&st, &req.file_id).await?;
    let file_id = row.analytics_file_id.unwrap_or_default();
    if file_size(&file_path(&st, &file_id)).await.is_none() {
        return Err(ApiError::NotFound(format!(
            "analytics file {file_id} not found"
        )));
    }
    let token = DownloadTokens::new(&st.secrets.api_key, &st.secrets.api_secret).issue(&file_id)?;
    Ok(Json(DownloadTokenRes {
        envelope: Envelope::success("success"),
        token: Some(token),
    }))
}

/// `GET /download/analytics/{token}`: the file, if the token is good and
/// the file still exists.
pub async fn download(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let file_id = DownloadTokens::new(&st.secrets.api_key, &st.secrets.api_secret)
        .verify(&token)
        .map_err(|e| ApiError::InvalidToken(format!("download token refused: {e}")))?;
    // Signed by us, but checked like any input before it nears a path.
    if !valid_file_id(&file_id) {
        return Err(ApiError::InvalidToken(
            "download token refused: not an analytics file".into(),
        ));
    }
    let gone = || ApiError::FileNotFound(format!("analytics file {file_id}"));
    if st
        .store
        .session_by_analytics_file(file_id.clone())
        .await?
        .is_none()
    {
        return Err(gone());
    }
    let path = file_path(&st, &file_id);
    if file_size(&path).await.is_none() {
        return Err(gone());
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(gone()),
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", path.display()))),
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_id}.json\""))
        .map_err(ApiError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `POST /auth/analytics/delete`: removes the file and forgets it.
pub async fn delete(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<Envelope>, ApiError> {
    let req: FileIdReq = parse_json(&body)?;
    let row = known_file(&st, &req.file_id).await?;
    let file_id = row.analytics_file_id.unwrap_or_default();
    let path = file_path(&st, &file_id);
    match tokio::fs::remove_file(&path).await {
        // Already gone: forgetting it is all that is left to do.
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", path.display()))),
    }
    st.store.clear_analytics_file(file_id.clone()).await?;
    tracing::info!(%file_id, room = %row.room_id, "analytics file deleted");
    Ok(Json(Envelope::success("success")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_analytics_ids_are_valid() {
        let sid = uuid::Uuid::new_v4().to_string();
        assert!(valid_file_id(&format!("analytics-{sid}")));
        assert!(valid_file_id(&crate::rooms::analytics::file_id(&sid)));
        for bad in [
            String::new(),
            "analytics-".into(),
            sid.clone(),
            format!("analytics-{}", sid.to_uppercase()),
            format!("analytics-{}", uuid::Uuid::new_v4().simple()),
            format!("analytics-{sid}/../../secrets"),
            "../secrets".into(),
            "analytics-../../secrets.json".into(),
            format!("analytics-{sid}.json"),
            format!("analytics-{{{sid}}}"),
            format!("analytics-urn:uuid:{sid}"),
        ] {
            assert!(!valid_file_id(&bad), "{bad}");
        }
    }
}
