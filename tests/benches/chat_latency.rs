//! Benchmark: chat latency between two headless Chromium clients through
//! the real `quorum` binary and its nats-server's WebSocket port on
//! loopback, and how many messages per second one client sustains.
//!
//! Run: `cargo bench -p quorum-e2e --bench chat_latency`, after
//! `trunk build --release` and `cargo build -p quorum-server` (the harness
//! runs `$CARGO_TARGET_DIR/debug/quorum`, or `QUORUM_BIN`).
//! Env: `BENCH_MESSAGES` (latency samples, default 200), `BENCH_BURST`
//! (burst size, default 500), `BENCH_SPACING_MS` (pause between latency
//! samples, default 20); `BENCH_DUMP` set prints every latency sample.
//!
//! Page A (moderator) sends through the real composer: in-page JS sets
//! `#chat-input`, fires `input` (the composer's draft) and an Enter
//! `keydown` (its send), so WebDriver typing speed is not measured. Each
//! text carries `lat:<n>:<sent>`, `sent` being `performance.timeOrigin +
//! performance.now()` taken right before the send. On page B a
//! MutationObserver on `#chat-list` records, for each new
//! `li.chat-message`, the same clock minus `sent`: publish, nats-server,
//! delivery, decoding and insertion into B's DOM (not the paint after it).
//! The same observer on A records when A's own copy stops being pending,
//! i.e. the server's echo: a single-clock round trip as a cross-check.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use fantoccini::Client;
use quorum_e2e::{env_or, join, Chromedriver, Quorum};
use serde_json::{json, Value};

/// Messages sent (and discarded) before measuring.
const WARMUP: u64 = 10;
/// First marker number of the burst, apart from the latency samples.
const BURST_FROM: u64 = 1_000_000;
/// The client keeps (and renders) this many messages; more would evict.
const CLIENT_LOG_CAP: u64 = 1000;

/// Installed on both pages: the clock, the observer and the stall monitor.
const INSTALL: &str = r#"
const list = document.getElementById('chat-list');
if (!list) { return 'no #chat-list'; }
const now = () => performance.timeOrigin + performance.now();
const re = /lat:(\d+):(\d+\.\d+)/;
const s = window.__bench = {
  now,
  added: {},      // n -> arrival time (first time the item was in the DOM)
  lat: {},        // n -> arrival - sent
  ord: {},        // n -> arrival rank
  inserts: {},    // n -> how many times an <li> for n was inserted
  confirmed: {},  // n -> first time seen without `pending`, minus sent
  confirmedAt: {}, // n -> that time
  seq: 0,
  waiters: [],
  maxGap: 0,
  lastTick: now(),
};
const look = (li, t) => {
  const m = re.exec(li.textContent || '');
  if (!m) { return; }
  const n = m[1];
  const sent = parseFloat(m[2]);
  if (!(n in s.added)) {
    s.added[n] = t;
    s.lat[n] = t - sent;
    s.ord[n] = s.seq++;
  }
  if (!li.classList.contains('pending') && !(n in s.confirmed)) {
    s.confirmed[n] = t - sent;
    s.confirmedAt[n] = t;
  }
};
new MutationObserver((records) => {
  const t = now();
  const items = new Set();
  for (const r of records) {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    const owner = el && el.closest('li.chat-message');
    if (owner) { items.add(owner); }
    for (const node of r.addedNodes) {
      if (node.nodeType !== 1) { continue; }
      const lis = node.matches('li.chat-message')
        ? [node] : Array.from(node.querySelectorAll('li.chat-message'));
      for (const li of lis) {
        items.add(li);
        const m = re.exec(li.textContent || '');
        if (m) { s.inserts[m[1]] = (s.inserts[m[1]] || 0) + 1; }
      }
    }
  }
  for (const li of items) { look(li, t); }
  for (const w of s.waiters.slice()) { w(); }
}).observe(list, {
  childList: true, subtree: true, characterData: true,
  attributes: true, attributeFilter: ['class'],
});
// The longest gap between 10 ms timer ticks: how long the main thread
// was busy (or throttled) at a stretch.
setInterval(() => {
  const t = now();
  s.maxGap = Math.max(s.maxGap, t - s.lastTick);
  s.lastTick = t;
}, 10);
s.wait = (pred, ms) => new Promise((resolve) => {
  if (pred()) { resolve(true); return; }
  let timer;
  const done = (v) => {
    clearTimeout(timer);
    s.waiters = s.waiters.filter((x) => x !== check);
    resolve(v);
  };
  const check = () => { if (pred()) { done(true); } };
  timer = setTimeout(() => done(pred()), ms);
  s.waiters.push(check);
});
// Sends one marked message through the composer, as a user would: the
// `input` event sets the draft, Enter sends it.
s.send = (n) => {
  const input = document.getElementById('chat-input');
  const t = now();
  input.value = 'lat:' + n + ':' + t.toFixed(3);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.dispatchEvent(new KeyboardEvent('keydown', {
    key: 'Enter', code: 'Enter', bubbles: true, cancelable: true,
  }));
  return t;
};
return 'ok';
"#;

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

/// Waits in the page until `pred` (a JS expression over `s` = the bench
/// state and `a` = `arg`) holds, re-checking on every DOM change.
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
/// `op` to `value`; `None` if not within 25 s.
async fn list_reaches(c: &Client, name: &str, op: &str, value: u64) -> Option<f64> {
    let script = format!(
        "const cb = arguments[arguments.length - 1];
         const list = document.getElementById('chat-list');
         const done = () => +list.dataset[arguments[0]] {op} arguments[1];
         if (done()) {{ cb(window.__bench.now()); return; }}
         const mo = new MutationObserver(() => {{
           if (done()) {{ mo.disconnect(); cb(window.__bench.now()); }}
         }});
         mo.observe(list, {{ attributes: true }});
         setTimeout(() => {{ mo.disconnect(); cb(null); }}, 25000);"
    );
    js_async(c, &script, vec![json!(name), json!(value)])
        .await
        .as_f64()
}

fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
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
        "median={:.2} ms p99={:.2} ms (min {:.2}, max {:.2})",
        median(v),
        percentile(v, 99.0),
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let samples = env_or("BENCH_MESSAGES", 200).max(1);
    let burst = env_or("BENCH_BURST", 500).max(1);
    let spacing = Duration::from_millis(env_or("BENCH_SPACING_MS", 20));
    if WARMUP + samples + burst > CLIENT_LOG_CAP {
        eprintln!(
            "warning: {} messages exceed the client's {CLIENT_LOG_CAP}-message log; \
             the oldest are evicted from the DOM during the run",
            WARMUP + samples + burst
        );
    }

    // dist/ may be rebuilt between runs: say which client was measured.
    let index =
        std::fs::read_to_string(quorum_e2e::root().join("dist/index.html")).unwrap_or_default();
    let wasm = index
        .split(['"', '\''])
        .find(|s| s.ends_with(".wasm") && s.contains("quorum-client"))
        .map_or("?", |s| s.trim_start_matches('/'))
        .to_owned();
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let a = driver.browser().await;
    let b = driver.browser().await;
    join(&a, &quorum.moderator_link).await;
    join(&b, &quorum.participant_link).await;
    for (name, c) in [("A", &a), ("B", &b)] {
        let r = js(c, INSTALL, vec![]).await;
        assert_eq!(r, json!("ok"), "installing on page {name}: {r}");
    }

    // -- latency: one message at a time, the next after it arrived -- //
    let mut latencies = Vec::new();
    for n in 0..WARMUP + samples {
        js(
            &a,
            "return window.__bench.send(arguments[0]);",
            vec![json!(n)],
        )
        .await;
        let lat = js_async(
            &b,
            "const cb = arguments[arguments.length - 1]; const n = arguments[0];\
             const s = window.__bench;\
             s.wait(() => n in s.lat, 10000).then((ok) => cb(ok ? s.lat[n] : null));",
            vec![json!(n)],
        )
        .await;
        let Some(lat) = lat.as_f64() else {
            panic!(
                "message {n} never reached page B; A's composer: {}",
                js(
                    &a,
                    "const i = document.getElementById('chat-input');\
                     return i ? i.value : 'missing';",
                    vec![]
                )
                .await
            );
        };
        if n >= WARMUP {
            latencies.push(lat);
        }
        tokio::time::sleep(spacing).await;
    }
    let latencies = sorted(latencies);
    // A's own copies confirmed by the server's echo (one clock).
    let measured = WARMUP..WARMUP + samples;
    wait_in_page(
        &a,
        "Object.keys(s.confirmed).filter((k) => +k >= a[0] && +k < a[1]).length >= a[1] - a[0]",
        json!([measured.start, measured.end]),
        Duration::from_secs(20),
    )
    .await;
    let echo_map = read_map(&a, "confirmed", measured).await;
    if std::env::var_os("BENCH_DUMP").is_some() {
        let lat_map = read_map(&b, "lat", WARMUP..WARMUP + samples).await;
        eprintln!("n\tA->B ms\tA echo ms");
        for (n, l) in &lat_map {
            eprintln!(
                "{n}\t{l:.1}\t{:.1}",
                echo_map.get(n).copied().unwrap_or(f64::NAN)
            );
        }
    }
    let echoes = sorted(echo_map.into_values());

    // -- throughput: one JS loop on A sends the whole burst -- //
    let range = BURST_FROM..BURST_FROM + burst;
    for c in [&a, &b] {
        js(c, "window.__bench.maxGap = 0;", vec![]).await;
    }
    let b_total0 = list_count(&b, "total").await;
    let sent = js(
        &a,
        "const s = window.__bench; const from = arguments[0], count = arguments[1];\
         const t0 = s.now();\
         for (let i = 0; i < count; i++) { s.send(from + i); }\
         return [t0, s.now()];",
        vec![json!(range.start), json!(burst)],
    )
    .await;
    let (t0, loop_end) = (
        sent[0].as_f64().expect("burst start"),
        sent[1].as_f64().expect("burst end"),
    );
    // The list draws only the newest messages, so what B took in and
    // what A still waits for are read from the list's own counters.
    let b_done = list_reaches(&b, "total", ">=", b_total0 + burst).await;
    let a_done = list_reaches(&a, "pending", "<=", 0).await;
    let all_arrived = b_done.is_some();
    let all_echoed = a_done.is_some();
    // Anything late or duplicated would show up shortly after.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b_taken = list_count(&b, "total").await.saturating_sub(b_total0);

    let arrived = read_map(&b, "added", range.clone()).await;
    let burst_lat = sorted(read_map(&b, "lat", range.clone()).await.into_values());
    let order = read_map(&b, "ord", range.clone()).await;
    let inserts = read_map(&b, "inserts", range.clone()).await;
    let a_confirmed = read_map(&a, "confirmedAt", range.clone()).await;
    let a_shown = read_map(&a, "added", range.clone()).await;
    let dom = js(
        &b,
        "return Array.from(document.querySelectorAll('#chat-list li.chat-message'))\
           .map((li) => /lat:(\\d+):/.exec(li.textContent || ''))\
           .filter((m) => m).map((m) => +m[1]);",
        vec![],
    )
    .await;
    let dom: Vec<u64> = dom
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let gap_a = js(&a, "return window.__bench.maxGap;", vec![]).await;
    let gap_b = js(&b, "return window.__bench.maxGap;", vec![]).await;
    let (gap_a, gap_b) = (
        gap_a.as_f64().unwrap_or(f64::NAN),
        gap_b.as_f64().unwrap_or(f64::NAN),
    );

    if std::env::var_os("BENCH_DUMP").is_some() {
        eprintln!("burst #\tB arrival ms\tA echo ms (after the first send)");
        for (i, n) in range.clone().enumerate() {
            if i % 50 == 49 || i == 0 {
                let at = |m: &BTreeMap<u64, f64>| m.get(&n).map_or(f64::NAN, |t| t - t0);
                eprintln!("{}\t{:.0}\t{:.0}", i + 1, at(&arrived), at(&a_confirmed));
            }
        }
    }

    // -- analysis -- //
    let last_arrival = b_done.unwrap_or(f64::NAN);
    let elapsed_s = (last_arrival - t0) / 1000.0;
    let dom_burst: Vec<u64> = dom.iter().copied().filter(|n| range.contains(n)).collect();
    let dom_distinct: HashSet<u64> = dom_burst.iter().copied().collect();
    let dom_dupes = dom_burst.len() - dom_distinct.len();
    let reinserted = inserts.values().filter(|&&k| k > 1.0).count();
    let lost = burst.saturating_sub(b_taken);
    // Arrival order against send order: messages that arrived after one
    // sent later than them.
    let mut by_arrival: Vec<(f64, u64)> = order.iter().map(|(&n, &o)| (o, n)).collect();
    by_arrival.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut highest = 0;
    let mut out_of_order = 0;
    for (_, n) in &by_arrival {
        if *n < highest {
            out_of_order += 1;
        }
        highest = highest.max(*n);
    }
    let dom_in_order = dom_burst.windows(2).all(|w| w[0] < w[1]);
    let last_echo = a_done.unwrap_or(f64::NAN) - t0;
    let a_render = a_shown.values().copied().fold(f64::NAN, f64::max) - t0;

    println!("client: dist/{wasm}");
    println!(
        "chat latency over NATS WebSocket (loopback, 2 headless Chromium): n={} {}",
        latencies.len(),
        summary(&latencies)
    );
    println!(
        "  cross-check, A's own echo (A -> nats -> A, one clock): n={} {}",
        echoes.len(),
        summary(&echoes)
    );
    let verdict = if lost == 0 && b_taken == burst && dom_dupes == 0 {
        "all delivered exactly once".to_string()
    } else {
        format!("B took in {b_taken} of {burst} ({lost} lost), {dom_dupes} duplicated in its list")
    };
    println!(
        "throughput: {burst} messages in {elapsed_s:.2} s = {:.0} msg/s, {verdict}; \
         {} of them drawn in B's list as they came, {} there at the end",
        b_taken as f64 / elapsed_s,
        arrived.len(),
        dom_burst.len()
    );
    println!(
        "  A's send loop took {:.1} ms ({:.0} sends/s); A rendered its copies {:.0} ms \
         after the first send; last echo back to A {:.0} ms after it{}",
        loop_end - t0,
        burst as f64 / ((loop_end - t0) / 1000.0),
        a_render,
        last_echo,
        if all_echoed {
            String::new()
        } else {
            format!(
                " (NOT all echoed: {} still pending)",
                list_count(&a, "pending").await
            )
        },
    );
    println!(
        "  B per-message latency during the burst: {}",
        summary(&burst_lat)
    );
    println!(
        "  B arrival order: {out_of_order} out of send order; B's list {}; \
         re-inserted <li>s: {reinserted}; longest main-thread stall: A {gap_a:.0} ms, B {gap_b:.0} ms",
        if dom_in_order {
            "in send order"
        } else {
            "NOT in send order"
        },
    );
    if !all_arrived {
        println!("  WARNING: B did not take in the whole burst within 25 s");
    }

    a.close().await.ok();
    b.close().await.ok();
    drop(driver);
    drop(quorum);
}
