//! `GET /metrics` (Prometheus text, behind the configured bearer token)
//! and the middleware that counts every HTTP request by route and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// `GET /metrics`: 404 when no token is configured, 401 without it.
pub async fn scrape(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let want = &st.config.metrics_token;
    if want.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    use subtle::ConstantTimeEq;
    if !bool::from(given.as_bytes().ct_eq(want.as_bytes())) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match crate::metrics::render(&st).await {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Counts the request under its route pattern (never the raw path, so
/// made-up paths can't create new series) and status.
pub async fn count(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    crate::metrics::http_request(&route, res.status().as_u16(), started.elapsed());
    res
}
