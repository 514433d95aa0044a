//! The built client is served the way a CDN would: the precompressed
//! brotli or gzip copy the build leaves beside each file, chosen by the
//! browser's `Accept-Encoding`; hashed files cached for good, the page
//! and unhashed files revalidated; large API answers compressed too.

mod common;

use common::TestServer;
use reqwest::header;

const WASM: &str = "/quorum-client-0123456789abcdef_bg.wasm";

/// A client directory as the build leaves it (contents made up: only the
/// choice of file is under test).
fn client_dir(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("dist");
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let write = |p: &str, b: &[u8]| std::fs::write(dir.join(p.trim_start_matches('/')), b).unwrap();
    write("/index.html", b"<!doctype html><title>Quorum</title>");
    write("/index.html.br", b"index in brotli");
    write(WASM, b"\0asm raw");
    write(&format!("{WASM}.br"), b"wasm in brotli");
    write(&format!("{WASM}.gz"), b"wasm in gzip");
    write("/media/media.js", b"export const x = 1;");
    dir
}

async fn get(ts: &TestServer, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{}{path}", ts.base_url));
    if let Some(a) = accept {
        req = req.header(header::ACCEPT_ENCODING, a);
    }
    req.send().await.expect("request")
}

fn h(res: &reqwest::Response, name: header::HeaderName) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_is_served_precompressed_and_cached_by_its_hash() {
    let root = tempfile::tempdir().unwrap();
    let dir = client_dir(root.path());
    let ts = TestServer::start_with(|c| {
        c.client_dir = dir;
        c.metrics_token = "scrape-me".into();
    })
    .await;

    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), "br", &b"wasm in brotli"[..]),
        (Some("gzip"), "gzip", b"wasm in gzip"),
        (None, "", b"\0asm raw"),
    ] {
        let res = get(&ts, WASM, accept).await;
        assert_eq!(res.status(), 200, "{accept:?}");
        assert_eq!(h(&res, header::CONTENT_ENCODING), encoding, "{accept:?}");
        assert_eq!(h(&res, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(
            h(&res, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert!(h(&res, header::VARY)
            .to_ascii_lowercase()
            .contains("accept-encoding"));
        // The security headers still apply.
        assert_eq!(h(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(res.bytes().await.unwrap(), body, "{accept:?}");
    }

    // The page is revalidated, on its own path and as the fallback of any
    // other (a stale hashed name included: never cached for good).
    for path in ["/", "/room/x", "/old-0123456789abcdef.js"] {
        let res = get(&ts, path, Some("br")).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(h(&res, header::CACHE_CONTROL), "no-cache", "{path}");
        assert_eq!(h(&res, header::CONTENT_ENCODING), "br", "{path}");
        assert_eq!(res.bytes().await.unwrap(), &b"index in brotli"[..]);
    }
    // The media module's name carries no hash.
    let res = get(&ts, "/media/media.js", Some("br")).await;
    assert_eq!(h(&res, header::CACHE_CONTROL), "no-cache");
    assert_eq!(h(&res, header::CONTENT_ENCODING), "");

    // A large API answer is compressed for whoever accepts it; a small
    // one is not worth it.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", ts.base_url))
        .bearer_auth("scrape-me")
        .header(header::ACCEPT_ENCODING, "gzip");
    let res = metrics.send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(h(&res, header::CONTENT_ENCODING), "gzip");
    let res = get(&ts, "/healthz", Some("gzip")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(h(&res, header::CONTENT_ENCODING), "");

    ts.stop().await;
}
