//! Benchmark: what a new participant downloads, and how long joining
//! takes, with the real `quorum` binary and headless Chromium on loopback.
//!
//! Run: `cargo bench -p quorum-e2e --bench first_load`, after
//! `trunk build --release` and `cargo build -p quorum-server`.
//! Env: `BENCH_LOADS` (visits measured of each kind, default 5),
//! `BENCH_SETTLE_MS` (how long an open browser is left before the link
//! is opened, default 2000), `BENCH_HISTORY` (chat messages in the room
//! before the first visit, default 0: with them, each join also loads the
//! newest 200 from the room's history, as a late joiner's does),
//! `BENCH_TRACE` (set: each first visit's main-thread CPU by trace event,
//! from the shell's start to the pre-join page and from Join to chat
//! ready; CPU beside the wall time tells work from waiting;
//! `BENCH_TRACE=timeline` also lists the main thread's tasks from page
//! open to chat ready, among the page's marks, so the gaps show where the
//! page waited and for what), `BENCH_PROFILE` (set: each first visit's
//! functions with the most self time from Join to chat ready, by
//! DevTools' sampling profiler; a directory: the whole profiles written
//! there too; names need a build that keeps them).
//!
//! 1. **Transfer:** every file the first page load fetches (from the
//!    browser's resource timing; the API calls aside), fetched again with
//!    `Accept-Encoding: br`: the bytes on the wire by file, and the total
//!    against the 250 KB budget, with the browser's own `transferSize`
//!    (headers included) beside each.
//! 2. **Join:** a new user (a new browser profile: nothing of ours cached
//!    or stored) opens the link, in two kinds of visit:
//!    - **browser already open**, as a person's is: the browser has
//!      visited another site (another origin and cache partition) and
//!      been left `BENCH_SETTLE_MS` to finish starting up;
//!    - **browser started for the link**: the link opens the moment the
//!      browser is up, so the page shares the cores with the browser's
//!      own start-up (its UI, its network service, a new disk cache).
//!
//!    From the client's `quorum:*` performance marks (`client/src/perf.rs`):
//!    page open → pre-join page shown, then Join pressed → chat ready
//!    (pressed as soon as the page shows, so the room module, loaded from
//!    then on, may still be on its way);
//!    their sum is page open → chat ready without the time a person
//!    spends on the pre-join page. Then, in the open browser, a reload,
//!    which a joined session takes straight back into the room: page open
//!    → chat ready. Medians over `BENCH_LOADS`, with the breakdown.

use std::collections::BTreeMap;
use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::publisher::Publisher;
use quorum_e2e::{env_or, trace, wait_for, Chromedriver, Quorum};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);
/// The marks of a first visit, in order.
const FIRST: &[&str] = &[
    "start",
    "verified",
    "prejoin",
    "room-loaded",
    "cache-cleaned",
    "cache-found",
    "join",
    "room-start",
    "joining",
    "nats-info",
    "connected",
    "chat-ready",
];
/// The marks of a reload into the room.
const RELOAD: &[&str] = &[
    "start",
    "room-loaded",
    "room-start",
    "cache-cleaned",
    "cache-found",
    "verified",
    "joining",
    "nats-info",
    "connected",
    "chat-ready",
];

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// The first time (ms since navigation start) of each `quorum:` mark.
async fn marks(c: &Client) -> BTreeMap<String, f64> {
    let v = js(
        c,
        "const out = {};
         for (const m of performance.getEntriesByType('mark')) {
           if (m.name.startsWith('quorum:') && !(m.name.slice(7) in out)) out[m.name.slice(7)] = m.startTime;
         }
         // The API calls of the join path, as the browser timed them.
         for (const e of performance.getEntriesByType('resource')) {
           const p = new URL(e.name).pathname;
           if (!p.startsWith('/api/')) continue;
           const k = p.slice(5);
           if (!((k + ' sent') in out)) { out[k + ' sent'] = e.fetchStart; out[k + ' done'] = e.responseEnd; }
         }
         return out;",
    )
    .await;
    serde_json::from_value(v).unwrap_or_default()
}

/// Waits until the page has marked `name`.
async fn wait_mark(c: &Client, name: &str) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if marks(c).await.contains_key(name) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no quorum:{name} mark; page: {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Prints each mark's median time and the step from the one before, and
/// the API calls' own timing beside them.
fn breakdown(title: &str, order: &[&str], runs: &[BTreeMap<String, f64>]) {
    println!("{title}");
    let at = |name: &str| {
        let times: Vec<f64> = runs.iter().filter_map(|r| r.get(name).copied()).collect();
        (!times.is_empty()).then(|| median(times))
    };
    let mut before = 0.0;
    for name in order {
        let Some(t) = at(name) else { continue };
        println!("  {name:<14} {t:>7.1} ms  (+{:>6.1})", t - before);
        before = t;
    }
    for call in ["config", "verifyToken", "renewToken"] {
        if let (Some(sent), Some(done)) = (at(&format!("{call} sent")), at(&format!("{call} done")))
        {
            println!("  /api/{call:<12} sent at {sent:>7.1} ms, answered at {done:>7.1} ms");
        }
    }
}

/// The room module, which the shell imports once the pre-join page is up.
fn is_lazy(path: &str) -> bool {
    path.starts_with("/quorum-room-")
}

/// Files of the first load: same origin, not the API.
async fn first_load_files(c: &Client) -> Vec<(String, f64)> {
    let v = js(
        c,
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
           .filter(e => new URL(e.name).origin === location.origin && !new URL(e.name).pathname.startsWith('/api/'))
           .map(e => [new URL(e.name).pathname, e.transferSize])
           .filter(([p], i, all) => all.findIndex(([q]) => q === p) === i);",
    )
    .await;
    serde_json::from_value(v).unwrap_or_default()
}

/// How a visit's browser was started.
#[derive(Clone, Copy, PartialEq)]
enum Browser {
    /// Left to settle after visiting another site.
    Open,
    /// The link opened as soon as the browser was up.
    Started,
}

/// One new user's first visit in a new browser, pressing Join as soon as
/// the pre-join page shows: its marks, then (in an open browser) a
/// reload's; the first-load files if `files` asks for them.
async fn visit(
    driver: &mut Chromedriver,
    quorum: &Quorum,
    user: &str,
    kind: Browser,
    files: Option<&mut Vec<(String, f64)>>,
) -> (BTreeMap<String, f64>, Option<BTreeMap<String, f64>>) {
    let link = quorum.join_link("bench", user, false).await;
    let c = driver.browser().await;
    if kind == Browser::Open {
        // Another site: its own origin, process and cache partition, so
        // nothing of ours is cached or stored for the visit measured.
        let elsewhere = quorum.base_url().replace("127.0.0.1", "localhost");
        c.goto(&format!("{elsewhere}/api/config"))
            .await
            .expect("another site");
        // What a browser does once, at start-up, is not this page's
        // doing; nothing in a page says when it is over.
        tokio::time::sleep(Duration::from_millis(env_or("BENCH_SETTLE_MS", 2000))).await;
    }
    c.goto(&link).await.expect("open");
    assert!(wait_for(&c, "#join-button", T).await, "no pre-join page");
    if let Some(files) = files {
        *files = first_load_files(&c).await;
    }
    let profiling = std::env::var_os("BENCH_PROFILE").is_some();
    if profiling {
        quorum_e2e::profile::start(&c).await;
    }
    c.find(fantoccini::Locator::Css("#join-button"))
        .await
        .expect("Join")
        .click()
        .await
        .expect("press Join");
    wait_mark(&c, "chat-ready").await;
    if profiling {
        quorum_e2e::profile::stop_and_print(&c, "Join → chat ready").await;
    }
    // Between the page's own marks: the trace holds the whole visit.
    if trace::enabled() {
        let events = trace::take(&c).await;
        let what = match kind {
            Browser::Open => "browser already open",
            Browser::Started => "browser started for the link",
        };
        trace::print_between(
            &format!("start → pre-join, {what}"),
            &events,
            "quorum:start",
            "quorum:prejoin",
        );
        trace::print_between(
            &format!("Join → chat ready, {what}"),
            &events,
            "quorum:join",
            "quorum:chat-ready",
        );
        if std::env::var("BENCH_TRACE").is_ok_and(|v| v == "timeline") {
            trace::print_timeline(
                &format!("{what}, page open → chat ready"),
                &events,
                "access_token=",
                "quorum:chat-ready",
            );
        }
    }
    let first = marks(&c).await;
    let reload = if kind == Browser::Open {
        c.refresh().await.expect("reload");
        wait_mark(&c, "chat-ready").await;
        Some(marks(&c).await)
    } else {
        None
    };
    c.close().await.ok();
    (first, reload)
}

/// Prints a kind of first visit's breakdown and its headline figures.
fn first_visits(title: &str, runs: &[BTreeMap<String, f64>]) {
    breakdown(title, FIRST, runs);
    let open_to_prejoin = median(
        runs.iter()
            .filter_map(|r| r.get("prejoin").copied())
            .collect(),
    );
    let join_to_ready = median(
        runs.iter()
            .filter_map(|r| Some(r.get("chat-ready")? - r.get("join")?))
            .collect(),
    );
    println!(
        "  page open → pre-join {open_to_prejoin:.1} ms; Join → chat ready {join_to_ready:.1} ms; \
         together {:.1} ms (target < 300)",
        open_to_prejoin + join_to_ready
    );
}

#[tokio::main]
async fn main() {
    let loads = env_or("BENCH_LOADS", 5).max(1);
    let history = env_or("BENCH_HISTORY", 0);
    // The earlier chat goes in at once, beyond a participant's rate.
    let unlimited = "1000000".to_owned();
    let quorum = Quorum::start_env(&[
        ("QUORUM_LIMITS_CHAT_PER_SEC", unlimited.clone()),
        ("QUORUM_LIMITS_CHAT_BURST", unlimited),
    ]);
    quorum
        .create_room("bench", json!({ "room_title": "Bench" }))
        .await;
    if history > 0 {
        let mut earlier = Publisher::join(&quorum, "bench", "earlier", "Earlier", false).await;
        let payloads: Vec<Vec<u8>> = (0..history)
            .map(|n| earlier.payload(n, &format!("earlier-{n}"), &format!("earlier message {n}")))
            .collect();
        earlier.publish_all(&payloads).await;
        earlier.close().await;
    }
    let mut driver = Chromedriver::start();

    let mut open = Vec::new();
    let mut started = Vec::new();
    let mut reloads = Vec::new();
    let mut files = Vec::new();
    // Alternated, so both kinds see the same machine.
    for i in 0..loads {
        let wanted = (i == 0).then_some(&mut files);
        let (first, reload) = visit(
            &mut driver,
            &quorum,
            &format!("open{i}"),
            Browser::Open,
            wanted,
        )
        .await;
        open.push(first);
        reloads.extend(reload);
        let (first, _) = visit(
            &mut driver,
            &quorum,
            &format!("started{i}"),
            Browser::Started,
            None,
        )
        .await;
        started.push(first);
    }

    // -- transfer -- //
    let http = reqwest::Client::new();
    let base = quorum.base_url();
    let mut total = 0usize;
    let mut lazy_total = 0usize;
    let mut browser_total = 0.0;
    println!("first load, by file (bytes on the wire with Accept-Encoding: br):");
    let mut rows = Vec::new();
    for (path, in_browser) in &files {
        let res = quorum_e2e::get_br(&http, &format!("{base}{path}")).await;
        let encoding = res
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        let bytes = res.bytes().await.expect("body").len();
        if is_lazy(path) {
            lazy_total += bytes;
        } else {
            total += bytes;
            browser_total += in_browser;
        }
        rows.push((bytes, path.clone(), encoding, *in_browser));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (bytes, path, encoding, in_browser) in rows {
        let lazy = if is_lazy(&path) {
            "  [after the pre-join page shows]"
        } else {
            ""
        };
        println!(
            "  {:>9.1} kB  {encoding:<8} {path}  (browser: {:.1} kB){lazy}",
            bytes as f64 / 1000.0,
            in_browser / 1000.0
        );
    }
    println!(
        "  total {:.1} kB with br (budget 250 kB: {:.2}×); the browser over plain HTTP: {:.1} kB",
        total as f64 / 1000.0,
        total as f64 / 250_000.0,
        browser_total / 1000.0
    );
    println!(
        "  loaded while the pre-join page shows (not in the budget): {:.1} kB with br",
        lazy_total as f64 / 1000.0
    );

    // -- join -- //
    let room = match history {
        0 => String::new(),
        n => format!(", in a room with {n} earlier chat messages"),
    };
    println!("join, medians of {loads} new users each{room} (ms since the page opened):");
    first_visits("first visit, browser already open:", &open);
    first_visits("first visit, browser started for the link:", &started);
    breakdown("reload into the room:", RELOAD, &reloads);
    let reload_ready = median(
        reloads
            .iter()
            .filter_map(|r| r.get("chat-ready").copied())
            .collect(),
    );
    println!("  page open → chat ready {reload_ready:.1} ms (target < 300)");
}
