//! Harness for the end-to-end tests in `tests/tests/`: runs the real
//! `quorum` binary (with its embedded nats-server) and drives real headless
//! Chromium through chromedriver. Run with `cargo test -p quorum-e2e` after
//! `trunk build --release` (scripts/test.sh does both).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

pub mod axe;
pub mod browser;
pub mod cluster;
pub mod livekit;
pub mod netcut;
mod process;
pub mod profile;
pub mod publisher;
mod quorum;
pub mod raw_nats;
pub mod rooms;
pub mod screens;
pub mod trace;

pub use rooms::{click, leave};

pub use browser::Chromedriver;
pub use quorum::Quorum;

/// Waits until `css` matches an element whose text contains `needle`.
pub async fn wait_for_text(c: &Client, css: &str, needle: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(els) = c.find_all(Locator::Css(css)).await {
            for e in els {
                if e.text().await.is_ok_and(|t| t.contains(needle)) {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The visible text of the first element matching `css`, once it has
/// some: WebDriver reads nothing of an element still fading in from
/// transparent. `None` if it has none within `timeout`.
pub async fn visible_text(c: &Client, css: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            let text = el.text().await.unwrap_or_default();
            if !text.trim().is_empty() {
                return Some(text);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Like [`wait_for_text`], but reads the text a screen reader has too:
/// also that of an element hidden from sight (a phone's other panes).
pub async fn wait_for_content(c: &Client, css: &str, needle: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let js = "return [...document.querySelectorAll(arguments[0])]
                  .some(e => e.textContent.includes(arguments[1]))";
    while Instant::now() < deadline {
        let found = c.execute(js, vec![css.into(), needle.into()]).await;
        if found.is_ok_and(|v| v == serde_json::Value::Bool(true)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits until `css` matches at least one element.
pub async fn wait_for(c: &Client, css: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if c.find(Locator::Css(css)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits until `script` (run in the page) returns `true`.
pub async fn wait_js(c: &Client, script: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if c.execute(script, vec![])
            .await
            .is_ok_and(|v| v == serde_json::Value::Bool(true))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits until `css` matches no element.
pub async fn wait_gone(c: &Client, css: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if c.find_all(Locator::Css(css))
            .await
            .is_ok_and(|v| v.is_empty())
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Makes the page remember the text of every toast it shows, so that a
/// check coming after a toast went away by itself (they last ~6 s, and a
/// busy machine may take longer between two checks) still sees it.
pub async fn record_toasts(c: &Client) {
    const RECORD: &str = r#"
        window.__toasts = new Set();
        const note = () => document.querySelectorAll('#toasts .toast')
            .forEach(t => window.__toasts.add(t.textContent));
        new MutationObserver(note)
            .observe(document.body, { childList: true, subtree: true });
    "#;
    c.execute(RECORD, vec![]).await.expect("record toasts");
}

/// Waits until the page has shown a toast containing `needle` since
/// [`record_toasts`].
pub async fn wait_toast_shown(c: &Client, needle: &str, timeout: Duration) -> bool {
    const SHOWN: &str = "return [...(window.__toasts || [])].join('\\n')";
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(v) = c.execute(SHOWN, vec![]).await {
            if v.as_str().is_some_and(|t| t.contains(needle)) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// How long a page may take to reach a state in the end-to-end tests.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(40);

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser test's turn (see [`serial`]).
pub type Turn = tokio::sync::MutexGuard<'static, ()>;

/// Browser tests take turns within a test binary: two cores don't run
/// several servers and browsers at once reliably.
pub async fn serial() -> Turn {
    SERIAL.lock().await
}

/// Gives up `turn` while `wait` runs, then takes a turn again: for a real
/// wait on the clock (a meeting's end, a token's expiry) in which the test
/// does nothing but wait and its pages only keep themselves going, so the
/// binary's other browser tests run meanwhile rather than after it.
pub async fn while_waiting<F: std::future::Future>(turn: Turn, wait: F) -> (Turn, F::Output) {
    drop(turn);
    let out = wait.await;
    (serial().await, out)
}

/// Opens a join link and waits until the page is connected to NATS.
pub async fn join(c: &Client, link: &str) {
    c.goto(link).await.expect("open link");
    pass_prejoin(c).await;
    assert!(
        wait_for(c, "#conn-state[data-state=connected]", PAGE_TIMEOUT).await,
        "never connected; page: {}",
        c.source().await.unwrap_or_default()
    );
}

/// Once the page has settled after opening a link: if it is the pre-join
/// page, presses Join (a reload of a joined session skips that page).
pub async fn pass_prejoin(c: &Client) {
    const SETTLED: &str =
        "#join-button, #room-page, #waiting-page, #error-page, #goodbye-page, #key-page";
    assert!(
        wait_for(c, SETTLED, PAGE_TIMEOUT).await,
        "the page never settled; page: {}",
        c.source().await.unwrap_or_default()
    );
    if let Ok(b) = c.find(Locator::Css("#join-button")).await {
        b.click().await.expect("press Join");
    }
}

/// Types `text` into the composer and presses Send.
pub async fn send_chat(c: &Client, text: &str) {
    let input = c
        .find(Locator::Css("#chat-input"))
        .await
        .expect("chat input");
    input.send_keys(text).await.expect("type");
    c.find(Locator::Css("#chat-send"))
        .await
        .expect("send button")
        .click()
        .await
        .expect("click send");
}

/// The `exp` claim (unix seconds) of the join token in `link`'s
/// `access_token` query parameter (or of a bare token).
pub fn token_exp(link: &str) -> u64 {
    use base64::Engine;
    let token = link.rsplit("access_token=").next().unwrap_or(link);
    let token = token.split('&').next().unwrap_or(token);
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["exp"].as_u64().expect("exp")
}

/// Sleeps until the unix time `at` (seconds) has passed: a real wait for
/// a real deadline (a token's expiry), not evidence of anything.
pub async fn sleep_until_unix(at: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    let at = Duration::from_secs(at);
    if at > now {
        tokio::time::sleep(at - now).await;
    }
}

/// Everything the page has shown as a toast since [`record_toasts`], at
/// once (for asserting what was *not* shown, after a positive signal).
pub async fn toasts_shown(c: &Client) -> String {
    c.execute("return [...(window.__toasts || [])].join('\\n')", vec![])
        .await
        .expect("read the recorded toasts")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The chat list once the page has caught up with the room's history
/// after its last connect (the client marks it `aria-busy` until then).
pub const CAUGHT_UP: &str = "#chat-list[aria-busy=false]";

/// Sends a fresh marker (unique in this test binary) from `from` and waits
/// until every page in `pages` shows it and has caught up. That is the positive signal before counting
/// what a page shows: a re-sent message goes out before anything typed
/// after it, on the same connection, and a history replay is over once the
/// list is no longer busy, so nothing sent before the marker is still on
/// its way. Panics (naming the page) if that does not happen in time.
pub async fn settle(from: &Client, pages: &[&Client]) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let marker = &format!("settle-marker-{n}");
    send_chat(from, marker).await;
    for (i, c) in pages.iter().enumerate() {
        assert!(
            wait_for_text(c, "#chat-list .text", marker, PAGE_TIMEOUT).await,
            "page {i} never showed the marker {marker:?}"
        );
        assert!(
            wait_for(c, CAUGHT_UP, PAGE_TIMEOUT).await,
            "page {i} never caught up with the room"
        );
    }
}

/// The texts of the elements `css` matches, in page order. A WebDriver
/// error fails the test: it must never read as "nothing shown".
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    let found = c
        .find_all(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("looking up {css}: {e}"));
    for e in found {
        out.push(
            e.text()
                .await
                .unwrap_or_else(|e| panic!("reading the text of {css}: {e}")),
        );
    }
    out
}

/// How many elements `css` matches whose text is exactly `text`; a
/// WebDriver error fails the test.
pub async fn count_text(c: &Client, css: &str, text: &str) -> usize {
    texts(c, css).await.iter().filter(|t| *t == text).count()
}

/// Everything in every store of our databases, as text (binary payloads
/// decoded byte for byte), to look for plaintext.
const CACHE_DUMP: &str = r#"
    const done = arguments[0];
    (async () => {
        let out = '';
        for (const { name } of await indexedDB.databases()) {
            if (!name.startsWith('quorum-session:')) continue;
            const db = await new Promise((ok, no) => {
                const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
            });
            for (const store of db.objectStoreNames) {
                const all = await new Promise((ok, no) => {
                    const r = db.transaction(store).objectStore(store).getAll();
                    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
                });
                out += JSON.stringify(all, (k, v) =>
                    v instanceof Uint8Array ? String.fromCharCode(...v) : v);
            }
            db.close();
        }
        done(out);
    })().catch((e) => done('failed: ' + e));
"#;

/// Everything our session databases hold in `c`'s page, as text (binary
/// payloads decoded byte for byte, e.g. to look for plaintext); panics if
/// it can't be read.
pub async fn cache_dump(c: &Client) -> String {
    let dump = c.execute_async(CACHE_DUMP, vec![]).await.expect("dump");
    let dump = dump.as_str().unwrap_or_default().to_owned();
    assert!(!dump.starts_with("failed"), "{dump}");
    dump
}

/// The number in environment variable `name` (benches' knobs), or
/// `default` when it is unset or not a number.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// GETs `url` as a browser that accepts brotli would (the first-load
/// budget is counted in these bytes).
pub async fn get_br(http: &reqwest::Client, url: &str) -> reqwest::Response {
    http.get(url)
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}
