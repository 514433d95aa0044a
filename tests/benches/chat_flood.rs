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
//! Prints, from the page's own clock: messages taken in per second (from
//! the first shown until the last one published is shown; the list renders
//! only the newest, so most pass through without a DOM node), the longest main-thread task while they came
//! (`PerformanceObserver` `longtask`), the chat list's DOM node count at
//! the end, and how many of the messages the list still holds.

use std::time::Duration;

use quorum_e2e::raw_nats::RawNats;
use quorum_e2e::{env_or, join, Chromedriver, Quorum};
use quorum_shared::e2ee::{aad, Kind, RoomKeys, IV_LEN, PBKDF2_ITERATIONS};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::ChatMessage;
use quorum_shared::worker::{WorkerReply, WorkerRequest};
use serde_json::{json, Value};

/// Installed on the page: arrival times of `flood:<n>` messages, and the
/// longest task.
const INSTALL: &str = r#"
const list = document.getElementById('chat-list');
if (!list) { return 'no #chat-list'; }
const re = /flood:(\d+)/;
const s = window.__flood = { seen: new Set(), first: null, last: null, longest: 0, tasks: 0, max: -1 };
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) { s.tasks++; s.longest = Math.max(s.longest, e.duration); }
}).observe({ type: 'longtask' });
// What ran in the longest animation frame (for BENCH_PROFILE).
s.loaf = null;
try {
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      if (!s.loaf || e.duration > s.loaf.duration) {
        s.loaf = { duration: e.duration, render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
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

/// Seals chat for an E2EE room the way a browser does: the room secret
/// from the server (`WorkerRequest::RoomKey`), PBKDF2 into the room keys,
/// AES-GCM with the sender in the AAD.
struct Sealer {
    keys: RoomKeys,
    sid: String,
}

impl Sealer {
    async fn fetch(raw: &mut RawNats, room: &RoomId, user: &UserId, sid: &str) -> Self {
        let req = serde_json::to_vec(&WorkerRequest::RoomKey).expect("JSON");
        let msg = raw
            .request(
                &quorum_shared::subjects::worker(room, user),
                &req,
                Duration::from_secs(10),
            )
            .await
            .expect("the room key");
        let reply: WorkerReply = serde_json::from_slice(&msg.payload).expect("a worker reply");
        let secret = reply.key.expect("an E2EE room's secret");
        Self {
            keys: RoomKeys::derive(&secret, sid, PBKDF2_ITERATIONS),
            sid: sid.to_owned(),
        }
    }

    fn seal(&self, n: u64, plain: &[u8]) -> Vec<u8> {
        // Unique per message under this room's fresh key.
        let mut iv = [0u8; IV_LEN];
        iv[..8].copy_from_slice(&n.to_be_bytes());
        self.keys
            .seal_with_iv(iv, plain, &aad(&self.sid, "flooder", Kind::Chat))
    }
}

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
    let r = page.execute(INSTALL, vec![]).await.expect("install");
    assert_eq!(r, json!("ok"), "{r}");
    let profiling = std::env::var_os("BENCH_PROFILE").is_some();
    if profiling {
        quorum_e2e::profile::start(&page).await;
    }

    let token = q.token(room_id, "flooder", false).await;
    let verified = q.verify(&token).await;
    let url = verified["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    let sid = verified["session"]["room_sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let mut raw = RawNats::connect(&url, Some(&token))
        .await
        .expect("the flooder connects");
    let room = RoomId::parse(room_id).expect("room id");
    let user = UserId::parse("flooder").expect("user id");
    let sealer = if e2ee {
        Some(Sealer::fetch(&mut raw, &room, &user, &sid).await)
    } else {
        None
    };
    let subject = quorum_shared::subjects::chat(&room, &user);
    let sent_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|n| {
            let plain = ChatMessage {
                id: format!("flood-{n}"),
                name: "Flooder".into(),
                text: format!("flood:{n} the quick brown fox jumps over the lazy dog"),
                sent_at_ms,
            }
            .encode();
            match &sealer {
                Some(s) => s.seal(n, &plain),
                None => plain,
            }
        })
        .collect();
    for p in &payloads {
        raw.publish(&subject, p).await.expect("publish");
    }
    raw.ping().await.expect("flushed");

    // Until the last one shows (or nothing new for 10 s).
    let mut last_seen = 0;
    let mut quiet_since = tokio::time::Instant::now();
    let state = loop {
        let v: Value = page
            .execute(
                "const s = window.__flood; return { seen: s.seen.size, first: s.first, last: s.last,
                   longest: s.longest, tasks: s.tasks,
                   nodes: document.querySelectorAll('#chat-list *').length,
                   all: document.getElementsByTagName('*').length,
                   kept: +document.getElementById('chat-list').dataset.kept,
                   items: document.querySelectorAll('#chat-list li.chat-message').length,
                   max: s.max, lastShown: s.seen.has(String(arguments[0] - 1)) };",
                vec![json!(count)],
            )
            .await
            .expect("read");
        let seen = v["seen"].as_u64().unwrap_or(0);
        if seen != last_seen {
            last_seen = seen;
            quiet_since = tokio::time::Instant::now();
        }
        if v["lastShown"] == json!(true) || quiet_since.elapsed() > Duration::from_secs(10) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen = state["seen"].as_f64().unwrap_or(0.0);
    let span = state["last"].as_f64().unwrap_or(0.0) - state["first"].as_f64().unwrap_or(0.0);
    let newest = state["max"].as_u64().map_or(0, |m| m + 1);
    let kind = if e2ee { "E2EE" } else { "plain" };
    println!("chat flood into one page, {kind} room: {count} messages published");
    println!(
        "  taken in: up to message {newest} in {span:.0} ms from the first shown: {:.0} messages/s \
         (target ≥ 5,000/s); {seen} of them were ever in the DOM",
        newest as f64 / (span / 1000.0).max(1e-3)
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
        let loaf = page
            .execute("return window.__flood.loaf;", vec![])
            .await
            .unwrap_or_default();
        println!("  the longest animation frame: {loaf:#}");
    }
    println!(
        "  reachable by scrolling back: {} messages kept in the page (all {count}: {})",
        state["kept"],
        state["kept"].as_u64() >= Some(count)
    );
    raw.close().await;
    page.close().await.ok();
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
