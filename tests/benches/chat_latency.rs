//! Benchmark: chat between two headless Chromium pages through the real
//! `quorum` binary and its nats-server's WebSocket port on loopback, in a
//! plain and an E2EE room, against a raw NATS WebSocket message between
//! the same two pages.
//!
//! Run: `cargo bench -p quorum-e2e --bench chat_latency`, after
//! `trunk build --release` and `cargo build -p quorum-server` (the harness
//! runs `$CARGO_TARGET_DIR/debug/quorum`, or `QUORUM_BIN`).
//! Env: `BENCH_MESSAGES` (latency samples per room, default 200),
//! `BENCH_BURST` (sender burst, default 2000), `BENCH_SPACING_MS` (pause
//! between samples, default 20); `BENCH_TRACE` set prints where pages A
//! and B spent their main thread's CPU time during the sender burst, by
//! trace event (layout, style, paint, script; see `quorum_e2e::trace`);
//! `BENCH_PROFILE` set prints where pages A
//! and B spent their CPU time during the latency samples (DevTools' sampling
//! profiler, self time by function), `BENCH_PROFILE_BURST` the same
//! during the sender burst.
//!
//! **Latency.** Page A (moderator) sends through the real composer: in-page
//! JS sets `#chat-input` and fires `input` (typing the draft), then takes
//! `performance.timeOrigin + performance.now()` and fires an Enter
//! `keydown` (the send action), so neither WebDriver typing speed nor the
//! typing itself is measured (it is printed, not counted). The text
//! carries `lat:<n>:<typed>`; on page B a MutationObserver on `#chat-list`
//! takes the same clock when the message is in B's DOM (publish,
//! nats-server, delivery, decoding, opening, insertion; not the paint
//! after it). B starts waiting before A sends, so the bench's own script
//! on B never starts up as the message arrives. **Baseline:** right
//! after each such sample, page A publishes `raw:<n>:<sent>` on a
//! second, raw NATS WebSocket connection (its own join token) that page
//! B's raw connection subscribes to, and B takes the time in its
//! `onmessage`: the transport alone, same pages, same moment. A
//! private-chat subject is used, which no real client in the room
//! listens to.
//!
//! **Sender burst.** A sends `BENCH_BURST` messages, each Enter in its own
//! task as fast as the page schedules them; the bench prints how long that
//! took, whether B took in every one exactly once, and both pages' longest
//! main-thread task (`PerformanceObserver` `longtask`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fantoccini::Client;
use quorum_e2e::{env_or, join, profile, trace, Chromedriver, Quorum};
use quorum_shared::ids::{RoomId, UserId};
use serde_json::{json, Value};

/// Messages sent (and discarded) before measuring.
const WARMUP: u64 = 10;
/// First marker number of the burst, apart from the latency samples.
const BURST_FROM: u64 = 1_000_000;
/// Installed on both pages (see the file's header).
const PAGE: &str = include_str!("chat_latency/page.js");
/// The benches' raw NATS WebSocket client, for the baseline (installs
/// `window.__rawNats`, which [`PAGE`] uses).
const RAW_NATS: &str = include_str!("raw_nats.js");

async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

async fn js_async(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute_async(script, args)
        .await
        .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
}

/// Waits in the page until `pred` (a JS expression over `s` = the bench
/// state and `a` = `arg`) holds, re-checking on every change it sees.
async fn wait_in_page(c: &Client, pred: &str, arg: Value, timeout: Duration) -> bool {
    let script = format!(
        "const cb = arguments[arguments.length - 1]; const a = arguments[0];\
         const s = window.__bench;\
         s.wait(() => ({pred}), arguments[1]).then(cb);"
    );
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Under WebDriver's 30 s script timeout.
        let slice = left.min(Duration::from_secs(20)).as_millis() as u64;
        if js_async(c, &script, vec![arg.clone(), json!(slice)])
            .await
            .as_bool()
            == Some(true)
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// `n -> value` from one of the page's maps, for markers in `range`.
async fn read_map(c: &Client, map: &str, range: std::ops::Range<u64>) -> BTreeMap<u64, f64> {
    let v = js(
        c,
        "const m = window.__bench[arguments[0]]; const out = {};\
         for (const k in m) { if (+k >= arguments[1] && +k < arguments[2]) out[k] = m[k]; }\
         return out;",
        vec![json!(map), json!(range.start), json!(range.end)],
    )
    .await;
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The chat list's counter `data-{name}` (`total`: messages the session
/// took in; `pending`: ours the server has not confirmed).
async fn list_count(c: &Client, name: &str) -> u64 {
    js(
        c,
        "return +document.getElementById('chat-list').dataset[arguments[0]];",
        vec![json!(name)],
    )
    .await
    .as_u64()
    .unwrap_or(0)
}

/// When (page clock) the list's counter `data-{name}` first compares
/// `op` to `value`; `None` if not within 60 s.
async fn list_reaches(c: &Client, name: &str, op: &str, value: u64) -> Option<f64> {
    let script = format!(
        "const cb = arguments[arguments.length - 1];
         const list = document.getElementById('chat-list');
         const done = () => +list.dataset[arguments[0]] {op} arguments[1];
         if (done()) {{ cb(window.__bench.now()); return; }}
         const mo = new MutationObserver(() => {{
           if (done()) {{ mo.disconnect(); clearTimeout(t); cb(window.__bench.now()); }}
         }});
         mo.observe(list, {{ attributes: true }});
         const t = setTimeout(() => {{ mo.disconnect(); cb(null); }}, 25000);"
    );
    for _ in 0..3 {
        if let Some(t) = js_async(c, &script, vec![json!(name), json!(value)])
            .await
            .as_f64()
        {
            return Some(t);
        }
    }
    None
}

fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn summary(v: &[f64]) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms (min {:.2}, max {:.2}, n={})",
        percentile(v, 50.0),
        percentile(v, 99.0),
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
        v.len(),
    )
}

/// Connects page `c`'s raw NATS connection for `user` in `room`.
async fn raw_connect(q: &Quorum, c: &Client, room: &str, user: &str, subject: &str, sub: bool) {
    let token = q.token(room, user, true).await;
    let verified = q.verify(&token).await;
    let url = verified["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    let r = js_async(
        c,
        "const cb = arguments[arguments.length - 1];\
         window.__bench.rawConnect(arguments[0], arguments[1], arguments[2], arguments[3]).then(cb);",
        vec![json!(url), json!(token), json!(subject), json!(sub)],
    )
    .await;
    assert_eq!(r, json!("ok"), "raw NATS for {user}: {r}");
}

/// Latency samples and the sender burst in room `room` (E2EE if `e2ee`).
async fn run(q: &Quorum, driver: &mut Chromedriver, room: &str, e2ee: bool) {
    let samples = env_or("BENCH_MESSAGES", 200).max(1);
    let burst = env_or("BENCH_BURST", 2000).max(1);
    let spacing = Duration::from_millis(env_or("BENCH_SPACING_MS", 20));
    q.create_room_titled(room, "Latency", e2ee).await;
    let a = driver.browser().await;
    let b = driver.browser().await;
    join(&a, &q.join_link(room, "alice", true).await).await;
    join(&b, &q.join_link(room, "bob", false).await).await;
    for (name, c) in [("A", &a), ("B", &b)] {
        assert!(
            quorum_e2e::wait_for(c, "#chat-list[aria-busy=false]", Duration::from_secs(30)).await,
            "page {name} never caught up"
        );
        js(c, RAW_NATS, vec![]).await;
        let r = js(c, PAGE, vec![]).await;
        assert_eq!(r, json!("ok"), "installing on page {name}: {r}");
    }
    let room_id = RoomId::parse(room).expect("room id");
    let (ra, rb) = (
        UserId::parse("rawa").unwrap(),
        UserId::parse("rawb").unwrap(),
    );
    let subject = quorum_shared::subjects::dm(&room_id, &rb, &ra);
    raw_connect(
        q,
        &b,
        room,
        "rawb",
        &quorum_shared::subjects::dm_to(&room_id, &rb),
        true,
    )
    .await;
    raw_connect(q, &a, room, "rawa", &subject, false).await;

    let profiling = std::env::var_os("BENCH_PROFILE").is_some();
    if profiling {
        profile::start(&a).await;
        profile::start(&b).await;
    }

    // -- latency: one message at a time, then one raw message -- //
    for n in 0..WARMUP + samples {
        for (send, map) in [("send", "added"), ("rawSend", "raw")] {
            // B waits before A sends: the bench's own script on B must not
            // be starting up just as the message arrives.
            let pred = format!("a in s.{map}");
            let arrived = wait_in_page(&b, &pred, json!(n.to_string()), Duration::from_secs(10));
            let send = async {
                tokio::time::sleep(spacing).await;
                js(
                    &a,
                    &format!("return window.__bench.{send}(arguments[0]);"),
                    vec![json!(n)],
                )
                .await
            };
            let (arrived, _) = tokio::join!(arrived, send);
            assert!(arrived, "{map} message {n} never reached page B");
        }
    }
    if profiling {
        profile::stop_and_print(&a, "page A's CPU during the samples").await;
        profile::stop_and_print(&b, "page B's CPU during the samples").await;
    }
    let measured = WARMUP..WARMUP + samples;
    // From A's Enter (the send action) to B's list: the two pages' clocks
    // are one (`performance.timeOrigin`-based), as for the raw message.
    let sent_at = read_map(&a, "sentAt", measured.clone()).await;
    let added = read_map(&b, "added", measured.clone()).await;
    let stage = |from: &BTreeMap<u64, f64>, to: &BTreeMap<u64, f64>| {
        sorted(from.iter().filter_map(|(n, t)| Some(to.get(n)? - t)))
    };
    let latencies = stage(&sent_at, &added);
    let raw = sorted(read_map(&b, "raw", measured.clone()).await.into_values());
    wait_in_page(
        &a,
        "Object.keys(s.confirmed).filter((k) => +k >= a[0] && +k < a[1]).length >= a[1] - a[0]",
        json!([measured.start, measured.end]),
        Duration::from_secs(20),
    )
    .await;
    // Enter -> A's own item drawn without its pending mark. Ours is drawn
    // at the next frame (state/chat/outgoing.rs), so this is at least the
    // wait for that frame, however soon the echo came.
    let echoes = sorted(
        read_map(&a, "confirmed", measured.clone())
            .await
            .into_values(),
    );
    // Where the time goes (see page.js for how an E2EE room's frames are told).
    let typed_at = read_map(&a, "typedAt", measured.clone()).await;
    let app_send = read_map(&a, "appSend", measured.clone()).await;
    let app_recv = read_map(&b, "appRecv", measured).await;
    let breakdown = [
        (
            "(not counted) A: typing the text (input event)",
            stage(&typed_at, &sent_at),
        ),
        (
            "A: Enter -> written to A's socket",
            stage(&sent_at, &app_send),
        ),
        (
            "socket to socket (nats-server)",
            stage(&app_send, &app_recv),
        ),
        (
            "B: read from B's socket -> in B's list",
            stage(&app_recv, &added),
        ),
    ];

    // -- sender burst -- //
    for c in [&a, &b] {
        js(
            c,
            "window.__bench.longest = 0; window.__bench.tasks = 0; window.__bench.loaf = null;",
            vec![],
        )
        .await;
    }
    let b_total0 = list_count(&b, "total").await;
    let tracing = trace::enabled();
    if tracing {
        for c in [&a, &b] {
            js(c, trace::MARK_START, vec![]).await;
        }
    }
    let burst_profile = std::env::var_os("BENCH_PROFILE_BURST").is_some();
    if burst_profile {
        profile::start(&a).await;
        profile::start(&b).await;
    }
    // The UI paces a burst at about one send per frame: longer than one
    // WebDriver script may run, so it is started, then waited for.
    js(
        &a,
        "const s = window.__bench; s.burstDone = null;\
         s.burst(arguments[0], arguments[1]).then((r) => { s.burstDone = r; s.wake(); });",
        vec![json!(BURST_FROM), json!(burst)],
    )
    .await;
    let finished = wait_in_page(
        &a,
        "s.burstDone !== null",
        json!(null),
        Duration::from_secs(300),
    )
    .await;
    assert!(finished, "the burst never finished on page A");
    if burst_profile {
        profile::stop_and_print(&a, "page A's CPU during the burst").await;
        profile::stop_and_print(&b, "page B's CPU during the burst").await;
    }
    let sent = js(&a, "return window.__bench.burstDone;", vec![]).await;
    let (t0, loop_end) = (
        sent[0].as_f64().expect("burst start"),
        sent[1].as_f64().expect("burst end"),
    );
    let b_done = list_reaches(&b, "total", ">=", b_total0 + burst).await;
    let a_done = list_reaches(&a, "pending", "<=", 0).await;
    // A copy delivered twice would be counted by now (the echo of the last
    // message came back after every earlier one).
    let b_taken = list_count(&b, "total").await.saturating_sub(b_total0);
    let inserts = read_map(&b, "inserts", BURST_FROM..BURST_FROM + burst).await;
    let reinserted = inserts.values().filter(|&&k| k > 1.0).count();
    let longest = |c: &Client| {
        let c = c.clone();
        async move {
            let v = js(
                &c,
                "return [window.__bench.longest, window.__bench.tasks];",
                vec![],
            )
            .await;
            (
                v[0].as_f64().unwrap_or(f64::NAN),
                v[1].as_u64().unwrap_or(0),
            )
        }
    };
    let ((long_a, tasks_a), (long_b, tasks_b)) = (longest(&a).await, longest(&b).await);
    if tracing {
        for (name, c) in [("A", &a), ("B", &b)] {
            js(c, trace::MARK_END, vec![]).await;
            let events = trace::take(c).await;
            let cpu = trace::print(&format!("page {name} during the burst"), &events);
            println!(
                "    = {:.2} ms of page {name}'s main-thread CPU per message",
                cpu / burst as f64
            );
        }
    }
    if std::env::var_os("BENCH_PROFILE").is_some() {
        for (name, c) in [("A", &a), ("B", &b)] {
            let loaf = js(c, "return window.__bench.loaf;", vec![]).await;
            println!("  {name}'s longest animation frame during the burst: {loaf:#}");
        }
    }

    // -- report -- //
    let kind = if e2ee { "E2EE" } else { "plain" };
    let (p50, raw50) = (percentile(&latencies, 50.0), percentile(&raw, 50.0));
    println!("{kind} room, 2 headless Chromium pages, loopback:");
    println!("  chat A -> B:        {}", summary(&latencies));
    println!("  raw NATS A -> B:    {}", summary(&raw));
    println!(
        "  ratio at p50: {:.2}x the raw message (target ≤ 1.5x; p50 < 2 ms, p99 < 10 ms)",
        p50 / raw50
    );
    println!("  A's own echo, drawn: {}", summary(&echoes));
    for (what, v) in &breakdown {
        if !v.is_empty() {
            println!("    {what}: {}", summary(v));
        }
    }
    // B's log de-duplicates by id, so its count says whether each arrived
    // once; an <li> inserted again is the list moving a node it had.
    let verdict = if b_taken == burst {
        "every one taken in once".to_owned()
    } else {
        format!("B took in {b_taken} of {burst}")
    };
    let verdict = format!("{verdict} ({reinserted} of B's <li>s inserted again: moves)");
    println!(
        "  sender burst: {burst} sends in {:.0} ms ({:.0}/s); B had all {:.0} ms after the first, \
         {verdict}; A's last echo at {:.0} ms{}",
        loop_end - t0,
        burst as f64 / ((loop_end - t0) / 1000.0),
        b_done.map_or(f64::NAN, |t| t - t0),
        a_done.map_or(f64::NAN, |t| t - t0),
        if a_done.is_some() {
            String::new()
        } else {
            format!(
                " (NOT all echoed: {} pending)",
                list_count(&a, "pending").await
            )
        },
    );
    println!(
        "  longest main-thread task during the burst: A {long_a:.0} ms ({tasks_a} long tasks), \
         B {long_b:.0} ms ({tasks_b}) (target ≤ 50 ms)"
    );
    js(&a, "window.__bench.rawClose();", vec![]).await;
    js(&b, "window.__bench.rawClose();", vec![]).await;
    a.close().await.ok();
    b.close().await.ok();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // dist/ may be rebuilt between runs: say which client was measured.
    let index =
        std::fs::read_to_string(quorum_e2e::root().join("dist/index.html")).unwrap_or_default();
    let wasm = index
        .split(['"', '\''])
        .find(|s| s.ends_with(".wasm") && s.contains("quorum-client"))
        .map_or("?", |s| s.trim_start_matches('/'))
        .to_owned();
    println!("client: dist/{wasm}");
    // The burst goes well over the per-participant chat rate; that limit
    // has its own tests.
    let unlimited = "1000000".to_owned();
    let q = Quorum::start_env(&[
        ("QUORUM_LIMITS_CHAT_PER_SEC", unlimited.clone()),
        ("QUORUM_LIMITS_CHAT_BURST", unlimited),
    ]);
    let mut driver = Chromedriver::start();
    run(&q, &mut driver, "plain", false).await;
    run(&q, &mut driver, "sealed", true).await;
}
