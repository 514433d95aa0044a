//! Harness for the end-to-end tests in `tests/tests/`: runs the real
//! `quorum` binary (with its embedded nats-server) and drives real headless
//! Chromium through chromedriver. Run with `cargo test -p quorum-e2e` after
//! `trunk build --release` (scripts/test.sh does both).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use hmac::{Hmac, Mac};
use sha2::Sha256;

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

/// A running `quorum` process and what it printed.
pub struct Quorum {
    child: Child,
    /// Everything the process wrote to stdout and stderr so far.
    pub output: Arc<Mutex<String>>,
    /// The printed moderator link.
    pub moderator_link: String,
    /// The printed participant link.
    pub participant_link: String,
    data: Arc<tempfile::TempDir>,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("QUORUM_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("debug/quorum")
}

impl Quorum {
    /// Starts `quorum` exactly as an operator would (Command 1's last
    /// step), on free ports with a fresh data directory, and waits for the
    /// two printed join links.
    pub fn start() -> Self {
        Self::start_with(Arc::new(tempfile::tempdir().expect("temp dir")), &[])
    }

    /// Like [`Quorum::start`], with extra environment settings (e.g. a
    /// short `QUORUM_TOKEN_TTL_SECS` for a test of real expiry).
    pub fn start_env(env: &[(&str, String)]) -> Self {
        Self::start_with(Arc::new(tempfile::tempdir().expect("temp dir")), env)
    }

    /// Like [`Quorum::start`], in the data directory `data` (which several
    /// instances may share), with extra environment settings.
    pub fn start_with(data: Arc<tempfile::TempDir>, env: &[(&str, String)]) -> Self {
        let bin = binary();
        assert!(
            bin.is_file(),
            "{} is missing: build it with `cargo build -p quorum-server`",
            bin.display()
        );
        let dist = root().join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "dist/index.html is missing: run `trunk build --release` first"
        );
        let mut cmd = Command::new(&bin);
        // Its own process group: if it hangs or dies, its nats-server is
        // still stopped with it.
        process::own_group(&mut cmd);
        // Free ports unless the caller pins them.
        cmd.env("QUORUM_NATS_PORT", "0")
            .env("QUORUM_NATS_WS_PORT", "0")
            // The harness reads the demo room's printed links (off by default).
            .env("QUORUM_DEMO_ROOM", "true");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd
            .env("QUORUM_DATA_DIR", data.path())
            .env("QUORUM_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("QUORUM_CLIENT_DIR", &dist)
            .env("QUORUM_LOG", "debug")
            // Plain log lines, for tests that read them.
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn quorum");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (out, tx) = (output.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut o) = out.lock() {
                        o.push_str(&line);
                        o.push('\n');
                    }
                    let _ = tx.send(line);
                }
            });
        }
        let (mut moderator, mut participant) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while moderator.is_none() || participant.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                process::stop_group(&mut child, Duration::from_secs(10));
                panic!(
                    "quorum printed no links; output:\n{}",
                    output.lock().unwrap()
                );
            };
            if let Some(l) = line.strip_prefix("Moderator link:") {
                moderator = Some(l.trim().to_owned());
            }
            if let Some(l) = line.strip_prefix("Participant link:") {
                participant = Some(l.trim().to_owned());
            }
        }
        Self {
            child,
            output,
            moderator_link: moderator.unwrap_or_default(),
            participant_link: participant.unwrap_or_default(),
            data,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The shared handle to the data directory, for a second instance.
    pub fn data_handle(&self) -> Arc<tempfile::TempDir> {
        self.data.clone()
    }

    /// The base URL (the links without their query).
    pub fn base_url(&self) -> String {
        self.moderator_link
            .split("/?")
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The server API's `(api_key, api_secret)`, from the generated
    /// `secrets.json` in the data directory.
    pub fn secrets(&self) -> (String, String) {
        let path = self.data.path().join("secrets.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let v: serde_json::Value = serde_json::from_str(&text).expect("secrets.json is JSON");
        let field = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("secrets.json has no {k}"))
                .to_owned()
        };
        (field("api_key"), field("api_secret"))
    }

    /// Calls the signed server API as an integrator would: POSTs `body` to
    /// `path` (e.g. `/auth/room/endRoom`) with `API-KEY` and
    /// `HASH-SIGNATURE` (lowercase hex HMAC-SHA256 of the raw body), and
    /// returns the JSON answer whatever the HTTP status.
    pub async fn api(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (key, secret) = self.secrets();
        let raw = serde_json::to_vec(&body).expect("JSON body");
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length works");
        mac.update(&raw);
        let signature = hex::encode(mac.finalize().into_bytes());
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.base_url()))
            .header("Content-Type", "application/json")
            .header("API-KEY", key)
            .header("HASH-SIGNATURE", signature)
            .body(raw)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST {path}: HTTP {status}, not JSON ({e}): {text}"))
    }

    /// Process ids of this server's direct children (its nats-server).
    pub fn children(&self) -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.child.id().to_string()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Stops (`SIGSTOP`, `paused`) or continues the server process itself,
    /// not its nats-server: connections stay up, and nothing the server
    /// handles (history, worker requests) is answered meanwhile.
    pub fn set_paused(&self, paused: bool) {
        let signal = if paused { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} the server");
    }

    /// Sends `signal` (e.g. "INT" for Ctrl-C) and waits up to 15 s for the
    /// process to exit. Returns whether it exited successfully.
    pub fn signal_and_wait(&mut self, signal: &str) -> bool {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Returns once everything the server logged before this call is in
    /// [`Quorum::output`]: it creates a room with a fresh id and waits for
    /// a line naming it (the server logs "room created" while handling
    /// the request), which comes after any earlier line. The positive signal before asserting that something
    /// is *not* in the log.
    pub async fn sync_log(&self) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = format!(
            "log-sync-{}",
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let res = self
            .api(
                "/auth/room/create",
                serde_json::json!({ "room_id": id, "metadata": { "room_title": "log sync" } }),
            )
            .await;
        assert_eq!(res["status"], serde_json::json!(true), "create {id}: {res}");
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while !self.output().contains(&id) {
            assert!(Instant::now() < deadline, "the server never logged {id}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A copy of the output so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // A test that failed while the server was paused: continued first,
        // so it can stop at once rather than at the grace period's end.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        // SIGTERM lets quorum stop its nats-server child; the group kill
        // after the grace period catches both if it does not.
        process::stop_group(&mut self.child, Duration::from_secs(10));
    }
}

pub mod axe;
pub mod browser;
pub mod cluster;
pub mod livekit;
pub mod netcut;
mod process;
pub mod profile;
pub mod publisher;
pub mod raw_nats;
pub mod rooms;
pub mod screens;

pub use rooms::{click, leave};

pub use browser::Chromedriver;

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

/// Browser tests take turns within a test binary: two cores don't run
/// several servers and browsers at once reliably.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
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
