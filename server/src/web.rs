//! Serving the built client (SPA fallback) and the security headers every
//! response carries, including a CSP the wasm app works under.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;

/// The built client and the CSP derived from it.
#[derive(Debug, Clone)]
pub struct ClientAssets {
    /// Trunk's output directory, if it holds an `index.html`.
    pub dir: Option<PathBuf>,
    /// The `Content-Security-Policy` value.
    pub csp: HeaderValue,
}

/// `'sha256-…'` sources for every inline `<script>` in `html`. Trunk emits
/// one inline module script that boots the wasm; hashing it lets us keep
/// `unsafe-inline` out of the policy.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            out.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &rest[body_start + close..];
    }
    out
}

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

impl ClientAssets {
    /// Reads `dir/index.html` (if present) and builds the CSP allowing the
    /// NATS WebSocket and LiveKit origins.
    pub fn load(dir: &Path, connect_urls: &[String]) -> Self {
        let index = std::fs::read_to_string(dir.join("index.html")).ok();
        if index.is_none() {
            tracing::warn!(dir = %dir.display(), "client not built; only the APIs are served");
        }
        let hashes = index
            .as_deref()
            .map(inline_script_hashes)
            .unwrap_or_default();
        let connect: Vec<String> = connect_urls.iter().filter_map(|u| origin_of(u)).collect();
        let csp = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; \
             img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; \
             connect-src 'self' {}; worker-src 'self' blob:; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            hashes.join(" "),
            connect.join(" ")
        );
        Self {
            dir: index.map(|_| dir.to_owned()),
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
        }
    }
}

/// Adds the security headers to every response.
pub async fn security_headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, st.assets.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
        ),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// A request span for `tower_http::trace::TraceLayer::make_span_with`:
/// the method and [`loggable_path`] only. tower-http's default span logs
/// the whole URI, and join links carry `?access_token=…` in the query, so
/// with it every page load would put a join token in the log (at debug).
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
    )
}

/// `path` as it may be logged: a download token in it is elided. (The
/// query, where join links carry their token, is never part of it.)
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/download/analytics/") {
        Some(token) if !token.is_empty() => "/download/analytics/…".into(),
        _ => path.into(),
    }
}

/// Static files with an SPA fallback to `index.html`, or a clear 503 page
/// when the client has not been built.
pub async fn static_files(State(st): State<AppState>, req: Request) -> Response {
    let Some(dir) = st.assets.dir.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The Quorum web client is not built. Run scripts/run.sh (or trunk build --release).",
        )
            .into_response();
    };
    let path = req.uri().path().to_owned();
    // The build leaves a `.br` and a `.gz` beside each file
    // (scripts/precompress.mjs): sent to whoever accepts them.
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let svc = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    let mut res = match tower::ServiceExt::oneshot(svc, req).await {
        Ok(r) => r.map(Body::new),
        Err(e) => match e {},
    };
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let cache = if res.status().is_success() && is_hashed(&path) && !is_html {
        // The name changes with the content: keep it for good.
        "public, max-age=31536000, immutable"
    } else {
        // The page (also what an unknown path falls back to) and unhashed
        // files (the media module): ask every time; a 304 costs little.
        "no-cache"
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// Whether `path` names a build output whose name carries its content
/// hash, as Trunk writes them (`base-7c074a4cf5914b35.css`,
/// `quorum-client-ea4e…_bg.wasm`, `snippets/quorum-client-ea4e…/inline0.js`).
pub fn is_hashed(path: &str) -> bool {
    path.split('/').any(|segment| {
        let stem = segment.split('.').next().unwrap_or("");
        let stem = stem.strip_suffix("_bg").unwrap_or(stem);
        stem.rsplit_once('-').is_some_and(|(name, hash)| {
            !name.is_empty()
                && (12..=16).contains(&hash.len())
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<script src="/a.js"></script><script type="module">boot()</script>"#;
        let h = inline_script_hashes(html);
        assert_eq!(h.len(), 1);
        let want = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"boot()"));
        assert_eq!(h[0], format!("'sha256-{want}'"));
    }

    #[test]
    fn hashed_names_are_told_apart() {
        for hashed in [
            "/base-7c074a4cf5914b35.css",
            "/header-c12f14c6967bba6.css",
            "/quorum-client-ea4ed57ba5de5e2c_bg.wasm",
            "/quorum-client-ea4ed57ba5de5e2c.js",
            "/snippets/quorum-client-ea4ed57ba5de5e2c/inline0.js",
        ] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/media/media.js",
            "/media/e2ee-worker.js",
            "/room/some-room-name",
            "/x-notahexhashatall.css",
            "/-7c074a4cf5914b35.css",
        ] {
            assert!(!is_hashed(plain), "{plain}");
        }
    }

    #[test]
    fn origin_strips_path() {
        assert_eq!(origin_of("ws://h:1/x").as_deref(), Some("ws://h:1"));
    }

    #[test]
    fn logged_paths_hold_no_token() {
        assert_eq!(loggable_path("/auth/room/create"), "/auth/room/create");
        assert_eq!(
            loggable_path("/download/analytics/eyJhbGciOi.x.y"),
            "/download/analytics/…"
        );
        let req = axum::http::Request::get("/?access_token=eyJhbGciOi.x.y")
            .body(())
            .unwrap();
        // The span is built from the path alone.
        let _span = request_span(&req);
        assert_eq!(loggable_path(req.uri().path()), "/");
    }
}
