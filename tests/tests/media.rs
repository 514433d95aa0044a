//! End to end: media up to the wire. No LiveKit server can run here, so a
//! listener on 127.0.0.1 stands in for it and records what the browser
//! sends. The pre-join page lists, previews and meters the (fake)
//! microphone and camera and passes axe; entering a room with media loads
//! the media module (and not before), dials LiveKit with a token LiveKit's
//! own verifier accepts and subscription left to us, and in an E2EE room
//! sets the media key and enables encryption before it connects; a
//! browser that can't encrypt media gets none there. When LiveKit is unreachable the room says so within seconds
//! and chat goes on; without LiveKit nothing is offered or dialled. Run
//! with `cargo test -p quorum-e2e --test media` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::{join, send_chat, wait_for, wait_for_text, Chromedriver, Quorum};
use serde_json::json;

const T: Duration = Duration::from_secs(30);
const KEY: &str = "quorum-e2e-key";
const SECRET: &str = "an-e2e-secret-of-at-least-thirty-two-bytes";

/// Stands in for LiveKit: records each request line and refuses it.
fn livekit_stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head);
            if let Some(line) = text.lines().next() {
                log.lock().expect("log").push(line.to_owned());
            }
            let _ = conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

fn with_livekit(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("QUORUM_LIVEKIT_URL", url.to_owned()),
        ("QUORUM_LIVEKIT_API_KEY", KEY.to_owned()),
        ("QUORUM_LIVEKIT_API_SECRET", SECRET.to_owned()),
    ]
}

/// Whether the page has fetched the media module.
async fn media_loaded(c: &Client) -> bool {
    let v = c
        .execute(
            "return performance.getEntriesByType('resource')
                .some(e => new URL(e.name).pathname === '/media/media.js')",
            vec![],
        )
        .await
        .expect("resource timing");
    v == json!(true)
}

/// Whether the JavaScript expression `expr` becomes true within T.
async fn eventually_js(c: &Client, expr: &str) -> bool {
    let deadline = tokio::time::Instant::now() + T;
    while tokio::time::Instant::now() < deadline {
        let v = c
            .execute(&format!("return Boolean({expr})"), vec![])
            .await
            .expect("evaluate");
        if v == json!(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The query of the first request to LiveKit's `/rtc`, once made.
async fn dialled(seen: &Arc<Mutex<Vec<String>>>) -> String {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let found = seen.lock().expect("log").iter().find_map(|line| {
            let path = line.split_whitespace().nth(1)?;
            let (route, query) = path.split_once('?')?;
            route.starts_with("/rtc").then(|| query.to_owned())
        });
        if let Some(q) = found {
            return q;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "LiveKit was never dialled; requests: {:?}",
            seen.lock().map(|l| l.clone())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Parameter `key` of `query`.
fn param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// A server dialling the LiveKit stand-in, with E2EE room `room`; what
/// the stand-in records.
async fn e2ee_room_with_livekit(room: &str) -> (Quorum, Arc<Mutex<Vec<String>>>) {
    let (url, seen) = livekit_stand_in();
    let q = Quorum::start_env(&with_livekit(&url));
    q.create_room(
        room,
        json!({ "room_title": "Secret", "room_features": {
            "end_to_end_encryption_features": { "is_enabled": true } } }),
    )
    .await;
    (q, seen)
}

/// LiveKit's own `TokenVerifier` accepts `token` for `user` in LiveKit
/// room `sid`.
fn livekit_accepts(token: &str, user: &str, sid: &str) {
    let case = json!({ "label": user, "token": token, "expect": { "sub": user,
        "video": { "room": sid, "roomJoin": true } } });
    quorum_e2e::livekit::assert_livekit_accepts(KEY, SECRET, json!([case]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entering_loads_media_lazily_and_dials_livekit_with_a_valid_token() {
    let _turn = quorum_e2e::serial().await;
    let (url, seen) = livekit_stand_in();
    let q = Quorum::start_env(&with_livekit(&url));
    q.create_room("av", json!({ "room_title": "AV" })).await;
    let token = q.token("av", "ann", false).await;
    let sid = q.verify(&token).await["session"]["room_sid"]
        .as_str()
        .expect("room_sid")
        .to_owned();
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    c.goto(&q.link(&token)).await.expect("open");
    assert!(wait_for(&c, "#join-button", T).await);
    // The microphone and camera are picked and previewed here, without
    // the media module.
    assert!(
        wait_for(&c, "#prejoin-microphone option", T).await,
        "no microphones listed"
    );
    assert!(
        wait_for(&c, "#prejoin-camera option", T).await,
        "no cameras listed"
    );
    let playing = "document.getElementById('prejoin-preview').videoWidth > 0";
    assert!(
        eventually_js(&c, playing).await,
        "the camera preview never played"
    );
    let loud = "Number(document.getElementById('prejoin-level').value) > 0";
    assert!(eventually_js(&c, loud).await, "the level meter never moved");
    quorum_e2e::axe::assert_clean(&c, "the pre-join page with devices").await;
    quorum_e2e::screens::capture(
        &c,
        "prejoin-devices",
        &[quorum_e2e::screens::DESKTOP],
        &[quorum_e2e::axe::ColorScheme::Light],
        "",
    )
    .await;
    assert!(
        !media_loaded(&c).await,
        "the pre-join page loaded the media module"
    );
    quorum_e2e::click(&c, "#prejoin-camera-on").await;
    quorum_e2e::click(&c, "#join-button").await;
    assert!(wait_for(&c, "#room-page #conn-state[data-state=connected]", T).await);
    // The choices are kept for the session (a reload joins the same way).
    let mut kept = String::new();
    for _ in 0..100 {
        kept = quorum_e2e::cache_dump(&c).await;
        if kept.contains(r#""camera":true"#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        kept.contains(r#""camera":true"#),
        "choices not cached: {kept}"
    );
    let query = dialled(&seen).await;
    livekit_accepts(param(&query, "access_token").expect("a token"), "ann", &sid);
    // Nothing is received unless asked for: only what the grid shows.
    let settings = quorum_e2e::livekit::join_request(&query).connection_settings;
    assert_eq!(settings.map(|s| s.auto_subscribe), Some(false), "{query}");
    assert!(
        media_loaded(&c).await,
        "entering did not load the media module"
    );
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_room_sets_the_media_key_before_connecting() {
    let _turn = quorum_e2e::serial().await;
    let (q, seen) = e2ee_room_with_livekit("sec").await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &q.join_link("sec", "bea", false).await).await;
    dialled(&seen).await;
    let calls = c
        .execute_async(
            "const done = arguments[0];
             import('/media/media.js').then(m => done(m.calls.slice()), e => done(String(e)));",
            vec![],
        )
        .await
        .expect("the façade's calls");
    let calls: Vec<String> =
        serde_json::from_value(calls.clone()).unwrap_or_else(|e| panic!("calls {calls}: {e}"));
    let at = |name: &str| {
        calls
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no {name} in {calls:?}"))
    };
    assert!(at("setKey") < at("setE2EEEnabled(true)"), "{calls:?}");
    assert!(
        at("setE2EEEnabled(true)") < at("connect:start"),
        "{calls:?}"
    );
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_cannot_encrypt_media_gets_none_in_an_e2ee_room() {
    let _turn = quorum_e2e::serial().await;
    let (q, seen) = e2ee_room_with_livekit("sec").await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    c.goto(&q.join_link("sec", "cy", false).await)
        .await
        .expect("open");
    assert!(wait_for(&c, "#join-button", T).await);
    // This browser now lacks both ways LiveKit encrypts frames.
    c.execute(
        "delete window.RTCRtpScriptTransform;
         delete RTCRtpSender.prototype.createEncodedStreams;",
        vec![],
    )
    .await
    .expect("remove encoded transforms");
    quorum_e2e::click(&c, "#join-button").await;
    assert!(
        wait_for(
            &c,
            "#room-page[data-media=unsupported] #media-unsupported h2",
            T
        )
        .await,
        "no explanation; page: {}",
        c.source().await.unwrap_or_default()
    );
    // Decided before any connect: LiveKit was never dialled, and there is
    // nothing to turn on.
    assert!(seen.lock().expect("log").is_empty());
    assert!(quorum_e2e::wait_gone(&c, "#media-bar", T).await);
    quorum_e2e::axe::assert_clean(&c, "the room without media encryption").await;
    send_chat(&c, "chat still works").await;
    assert!(wait_for_text(&c, "#chat-list", "chat still works", T).await);
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_livekit_leaves_the_meeting_working() {
    let _turn = quorum_e2e::serial().await;
    // A port nobody listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let q = Quorum::start_env(&with_livekit(&format!("ws://127.0.0.1:{closed}")));
    q.create_room("down", json!({ "room_title": "Down" })).await;
    let mut driver = Chromedriver::start();
    let (a, b) = (driver.browser().await, driver.browser().await);
    join(&a, &q.join_link("down", "ann", false).await).await;
    join(&b, &q.join_link("down", "bob", false).await).await;
    let banner = "#media-banner .media-banner-text[data-state=unavailable]";
    assert!(
        wait_for(&a, banner, Duration::from_secs(5)).await,
        "no banner within 5 s; page: {}",
        a.source().await.unwrap_or_default()
    );
    // The media bar (disabled meanwhile) and the banner pass axe.
    assert!(wait_for(&a, "#media-bar #media-devices", T).await);
    quorum_e2e::axe::assert_clean(&a, "the room with media unavailable").await;
    send_chat(&a, "can you hear me?").await;
    assert!(wait_for_text(&b, "#chat-list", "can you hear me?", T).await);
    send_chat(&b, "no, but I can read you").await;
    assert!(wait_for_text(&a, "#chat-list", "I can read you", T).await);
    quorum_e2e::leave(&a).await;
    assert!(
        wait_for(&a, "#goodbye-page", T).await,
        "Leave did not end cleanly"
    );
    a.close().await.ok();
    b.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_livekit_nothing_is_offered_or_dialled() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("plain", json!({ "room_title": "Plain" }))
        .await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &q.join_link("plain", "cy", false).await).await;
    // The server said "no media" (the room asks once, on entering).
    assert!(wait_for(&c, "#room-page[data-media=off] .stage-placeholder", T).await);
    assert!(quorum_e2e::wait_gone(&c, "#media-bar", T).await);
    assert!(!media_loaded(&c).await, "the media module was loaded");
    c.close().await.ok();
}
