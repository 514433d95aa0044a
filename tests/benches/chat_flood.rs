//! Benchmark: a flood of chat into one page. A bench-side participant
//! (our raw NATS client over the same WebSocket port the browser uses,
//! with its own join token) publishes `BENCH_FLOOD` valid chat messages
//! (default 20,000) as fast as it can into a room where one headless
//! Chromium page sits, first in a plain room, then in an E2EE room with
//! envelopes sealed as a browser seals them; the server's chat limits are
//! raised for the run.
//!
//! Run: `cargo bench -p quorum-e2e --bench chat_flood`, after
//! `trunk build --release` and `cargo build -p quorum-server` (or with
//! `QUORUM_BIN` set to a release build).
//!
//! **Baseline:** just before each flood, the same payloads from the same
//! publisher go to a raw NATS WebSocket connection in the same page (its
//! own join token, a private-chat subject that no client's chat takes
//! in), which only counts them: the transport's rate on this machine, in
//! this run, and the chat's rate as a ratio to it.
//!
//! Prints, from the page's own clock: messages taken in per second (from
//! the first shown until the last one published is shown; the list renders
//! only the newest, so most pass through without a DOM node), the longest main-thread task while they came
//! (`PerformanceObserver` `longtask`), the chat list's DOM node count at
//! the end, and how many of the messages the list still holds. With
//! `BENCH_TASKS` set, each long task is listed with the animation frames it
//! falls in, which tells a long script from a long rendering step. With
//! `BENCH_TRACE` set, where the page's main thread spent its CPU time
//! during the flood, by trace event (the browser's own work included,
//! which a profile lumps together as "(program)"), and per message; the
//! browser's trace buffer fills before 20,000 messages are through, so
//! trace a smaller flood (`BENCH_FLOOD=4000`).

use std::time::Duration;

use quorum_e2e::publisher::Publisher;
use quorum_e2e::{env_or, join, trace, Chromedriver, Quorum};
use quorum_shared::ids::{RoomId, UserId};
use serde_json::{json, Value};

/// The benches' raw NATS WebSocket client (installs `window.__rawNats`).
const RAW_NATS: &str = include_str!("raw_nats.js");
/// Installed on the page for the baseline, after [`RAW_NATS`]: a raw
/// connection with its own join token, subscribed to `arguments[2]`,
/// counting the messages that come (`window.__raw`: how many, when the
/// first and the latest came, and the longest animation frame from the
/// first on: what a WebSocket flood alone does to this page's frames).
/// Calls back once connected.
const RAW: &str = r#"
const [url, token, subject, done] = arguments;
const s = window.__raw = { n: 0, first: null, last: null, ws: null, frame: 0, frames: null };
const taken = (_, t) => { if (s.first === null) { s.first = t; } s.n++; s.last = t; };
try {
  s.frames = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      if (s.first !== null && e.startTime + e.duration >= s.first) s.frame = Math.max(s.frame, e.duration);
    }
  });
  s.frames.observe({ type: 'long-animation-frame' });
} catch (e) {}
window.__rawNats(url, token, subject, true, taken).then((c) => {
  if (typeof c === 'string') { done(c); } else { s.ws = c.ws; done('ok'); }
});
"#;

/// Installed on the page: arrival times of `flood:<n>` messages, and the
/// longest task.
const INSTALL: &str = r#"
const list = document.getElementById('chat-list');
if (!list) { return 'no #chat-list'; }
const re = /flood:(\d+)/;
const s = window.__flood = { seen: new Set(), first: null, last: null, longest: 0, tasks: 0, max: -1, longs: [], loafs: [] };
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    s.tasks++; s.longest = Math.max(s.longest, e.duration);
    if (s.longs.length < 50) s.longs.push([e.startTime, e.duration]);
  }
}).observe({ type: 'longtask' });
// What ran in the longest animation frame.
s.loaf = null;
try {
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      // Every frame, for BENCH_TASKS (bounded: it only explains long tasks).
      if (s.loafs.length < 300) {
        s.loafs.push({ start: e.startTime, dur: e.duration, render: e.renderStart, layout: e.styleAndLayoutStart,
          scripts: e.scripts.map((x) => [x.invoker, x.startTime, x.duration, x.forcedStyleAndLayoutDuration]) });
      }
      if (!s.loaf || e.duration > s.loaf.duration) {
        s.loaf = { at: s.first === null ? null : e.startTime - s.first, duration: e.duration, render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
          layout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
          scripts: e.scripts.map((x) => ({ invoker: x.invoker, fn: x.sourceFunctionName, src: (x.sourceURL || '').split('/').pop(),
            duration: x.duration, forced: x.forcedStyleAndLayoutDuration })) };
      }
    }
  }).observe({ type: 'long-animation-frame' });
} catch (e) {}
new MutationObserver((records) => {
  const t = performance.now();
  for (const r of records) {
    for (const node of r.addedNodes) {
      if (node.nodeType !== 1) continue;
      const m = re.exec(node.textContent || '');
      if (!m || s.seen.has(m[1])) continue;
      s.seen.add(m[1]);
      if (s.first === null) s.first = t;
      // The list shows the newest: once the highest number is in, every
      // message before it has been taken in (shown, or passed over by a
      // list that only renders what fits).
      if (+m[1] > s.max) { s.max = +m[1]; s.last = t; }
    }
  }
}).observe(list, { childList: true, subtree: true });
return 'ok';
"#;

/// Floods room `room_id` (E2EE if `e2ee`) with `count` messages and prints
/// what one page made of them.
async fn flood(q: &Quorum, driver: &mut Chromedriver, room_id: &str, e2ee: bool, count: u64) {
    q.create_room_titled(room_id, "Flood", e2ee).await;
    let page = driver.browser().await;
    join(&page, &q.join_link(room_id, "reader", false).await).await;
    assert!(
        quorum_e2e::wait_for(
            &page,
            "#chat-list[aria-busy=false]",
            Duration::from_secs(30)
        )
        .await
    );
    let mut publisher = Publisher::join(q, room_id, "flooder", "Flooder", e2ee).await;
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|n| {
            let text = format!("flood:{n} the quick brown fox jumps over the lazy dog");
            publisher.payload(n, &format!("flood-{n}"), &text)
        })
        .collect();
    let raw = raw_baseline(q, &page, &mut publisher, room_id, &payloads).await;

    let r = page.execute(INSTALL, vec![]).await.expect("install");
    assert_eq!(r, json!("ok"), "{r}");
    let profiling = std::env::var_os("BENCH_PROFILE").is_some();
    if profiling {
        quorum_e2e::profile::start(&page).await;
    }
    let tracing = trace::enabled();
    if tracing {
        page.execute(trace::MARK_START, vec![])
            .await
            .expect("trace mark");
    }
    publisher.publish_all(&payloads).await;

    // Until the last one shows (or nothing new for 10 s).
    let state = poll_until(
        &page,
        "const s = window.__flood; return { seen: s.seen.size, first: s.first, last: s.last,
           longest: s.longest, tasks: s.tasks,
           nodes: document.querySelectorAll('#chat-list *').length,
           all: document.getElementsByTagName('*').length,
           kept: +document.getElementById('chat-list').dataset.kept,
           items: document.querySelectorAll('#chat-list li.chat-message').length,
           max: s.max, lastShown: s.seen.has(String(arguments[0] - 1)) };",
        vec![json!(count)],
        |v| v["seen"].as_u64().unwrap_or(0),
        |v| v["lastShown"] == json!(true),
    )
    .await;
    let seen = state["seen"].as_f64().unwrap_or(0.0);
    let span = state["last"].as_f64().unwrap_or(0.0) - state["first"].as_f64().unwrap_or(0.0);
    let newest = state["max"].as_u64().map_or(0, |m| m + 1);
    let kind = if e2ee { "E2EE" } else { "plain" };
    let rate = newest as f64 / (span / 1000.0).max(1e-3);
    println!("chat flood into one page, {kind} room: {count} messages published");
    println!(
        "  taken in: up to message {newest} in {span:.0} ms from the first shown: {rate:.0} messages/s \
         (target ≥ 5,000/s); {seen} of them were ever in the DOM"
    );
    println!(
        "  baseline, the same payloads to a raw NATS WebSocket in the same page: {} in {:.0} ms: \
         {:.0} messages/s; the chat took them in at {:.2}x that rate; its longest animation frame \
         {:.0} ms",
        raw.count,
        raw.span_ms,
        raw.rate(),
        rate / raw.rate().max(1e-3),
        raw.frame_ms
    );
    println!(
        "  longest main-thread task: {:.0} ms over {} long tasks (target ≤ 50 ms)",
        state["longest"].as_f64().unwrap_or(0.0),
        state["tasks"]
    );
    println!(
        "  chat list at the end: {} DOM nodes (target ≤ 300), {} messages in it; {} elements in the page",
        state["nodes"], state["items"], state["all"]
    );
    if profiling {
        quorum_e2e::profile::stop_and_print(&page, "the page's CPU during the flood").await;
    }
    if tracing {
        page.execute(trace::MARK_END, vec![])
            .await
            .expect("trace mark");
        let events = trace::take(&page).await;
        let cpu = trace::print("the page during the flood", &events);
        println!(
            "    {:.0} µs of main-thread CPU per message",
            cpu * 1000.0 / newest.max(1) as f64
        );
    }
    let loaf = page
        .execute("return window.__flood.loaf;", vec![])
        .await
        .unwrap_or_default();
    println!("  the longest animation frame: {}", frame_summary(&loaf));
    if std::env::var_os("BENCH_TASKS").is_some() {
        let v = page
            .execute(
                "const s = window.__flood; return { longs: s.longs, loafs: s.loafs };",
                vec![],
            )
            .await
            .unwrap_or_default();
        print_long_tasks(&v);
    }
    println!(
        "  reachable by scrolling back: {} messages kept in the page (all {count}: {})",
        state["kept"],
        state["kept"].as_u64() >= Some(count)
    );
    publisher.close().await;
    page.close().await.ok();
}

/// How the baseline's messages came in.
struct Raw {
    count: u64,
    span_ms: f64,
    /// The longest animation frame while they came (ms).
    frame_ms: f64,
}

impl Raw {
    /// Messages per second, from the first to the last.
    fn rate(&self) -> f64 {
        self.count as f64 / (self.span_ms / 1000.0).max(1e-3)
    }
}

/// Runs `script` on `page` every 100 ms until `done` holds for its answer,
/// or `progress` (a count) has not moved for 10 s; the last answer.
async fn poll_until(
    page: &fantoccini::Client,
    script: &str,
    args: Vec<Value>,
    progress: impl Fn(&Value) -> u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let (mut last, mut quiet_since) = (None, tokio::time::Instant::now());
    loop {
        let v = page.execute(script, args.clone()).await.expect("read");
        let now = progress(&v);
        if last != Some(now) {
            (last, quiet_since) = (Some(now), tokio::time::Instant::now());
        }
        if done(&v) || quiet_since.elapsed() > Duration::from_secs(10) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The transport alone, just before the chat flood: the same `payloads`
/// from the same publisher on a private-chat subject that no client's chat
/// takes in, to a raw NATS WebSocket connection in `page` (its own join
/// token), which only counts them. Closed before the chat flood starts.
async fn raw_baseline(
    q: &Quorum,
    page: &fantoccini::Client,
    publisher: &mut Publisher,
    room_id: &str,
    payloads: &[Vec<u8>],
) -> Raw {
    let token = q.token(room_id, "rawreader", false).await;
    let verified = q.verify(&token).await;
    let url = verified["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    let room = RoomId::parse(room_id).expect("room id");
    let (to, from) = (
        UserId::parse("rawreader").expect("user id"),
        UserId::parse("flooder").expect("user id"),
    );
    let subject = quorum_shared::subjects::dm(&room, &to, &from);
    page.execute(RAW_NATS, vec![]).await.expect("install");
    let r = page
        .execute_async(RAW, vec![json!(url), json!(token), json!(subject)])
        .await
        .expect("raw connect");
    assert_eq!(r, json!("ok"), "raw NATS for the baseline: {r}");
    publisher.publish_all_on(&subject, payloads).await;
    let all = payloads.len() as u64;
    let v = poll_until(
        page,
        "const s = window.__raw; return { n: s.n, first: s.first, last: s.last, frame: s.frame };",
        vec![],
        |v| v["n"].as_u64().unwrap_or(0),
        |v| v["n"].as_u64().unwrap_or(0) >= all,
    )
    .await;
    page.execute(
        "window.__raw.ws.close(); if (window.__raw.frames) window.__raw.frames.disconnect();",
        vec![],
    )
    .await
    .expect("close");
    let ms = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Raw {
        count: v["n"].as_u64().unwrap_or(0),
        span_ms: ms("last") - ms("first"),
        frame_ms: ms("frame"),
    }
}

#[tokio::main]
async fn main() {
    let count = env_or("BENCH_FLOOD", 20_000).max(1);
    let unlimited = "1000000".to_owned();
    let q = Quorum::start_env(&[
        ("QUORUM_LIMITS_CHAT_PER_SEC", unlimited.clone()),
        ("QUORUM_LIMITS_CHAT_BURST", unlimited),
    ]);
    let mut driver = Chromedriver::start();
    flood(&q, &mut driver, "flood", false, count).await;
    flood(&q, &mut driver, "sealed", true, count).await;
}

/// Each long task (`BENCH_TASKS`), with the animation frames it falls in:
/// when their rendering step and its style and layout began, and the
/// scripts they ran (invoker, start, duration, forced layout), all in ms on
/// the page's clock. A long task that starts at a frame's `render` is the
/// browser's rendering step, frame callbacks included.
fn print_long_tasks(v: &Value) {
    let ms = |v: &Value| v.as_f64().unwrap_or(0.0);
    for task in v["longs"].as_array().into_iter().flatten() {
        let (start, duration) = (ms(&task[0]), ms(&task[1]));
        println!("  long task at {start:.0} ms for {duration:.0} ms");
        for f in v["loafs"].as_array().into_iter().flatten() {
            let (fs, fd) = (ms(&f["start"]), ms(&f["dur"]));
            if fs <= start + duration && start <= fs + fd {
                println!(
                    "    in the frame at {fs:.0} for {fd:.0} ms: render at {:.0}, style and layout at {:.0}; scripts {}",
                    ms(&f["render"]),
                    ms(&f["layout"]),
                    f["scripts"]
                );
            }
        }
    }
}

/// One line for a `long-animation-frame` entry as the page keeps it: when
/// (ms after the first message shown), how long, its scripts by what ran
/// them, and the browser's own rendering.
fn frame_summary(loaf: &Value) -> String {
    if loaf.is_null() {
        return "none over 50 ms".into();
    }
    let ms = |v: &Value| v.as_f64().unwrap_or(0.0);
    let scripts: Vec<String> = loaf["scripts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            format!(
                "{} {:.0} ms (forced layout {:.0})",
                x["invoker"].as_str().unwrap_or("?"),
                ms(&x["duration"]),
                ms(&x["forced"])
            )
        })
        .collect();
    format!(
        "{:.0} ms at {}; scripts: {}; the rendering step (frame callbacks on) {:.0} ms, style and layout {:.0} ms of it",
        ms(&loaf["duration"]),
        loaf["at"]
            .as_f64()
            .map_or("the start".into(), |t| format!("{t:.0} ms")),
        if scripts.is_empty() { "none".into() } else { scripts.join(", ") },
        ms(&loaf["render"]),
        ms(&loaf["layout"])
    )
}
