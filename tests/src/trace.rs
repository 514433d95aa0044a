//! DevTools traces for benches (`BENCH_TRACE`): where a page's main
//! thread spent its CPU time, by trace event (layout, style, paint,
//! script…), the browser's own work included, which the sampling
//! profiler ([`crate::profile`]) lumps together as "(program)". Thread
//! CPU time, not wall time: on a busy machine the main thread is often
//! waiting for a core, and wall time would count that as work.
//!
//! Chromedriver records the trace (`perfLoggingPrefs.traceCategories`)
//! from the session's start and hands it over, once, with the first
//! performance log asked for. So what is measured is marked in the page
//! ([`MARK_START`], [`MARK_END`], user timing marks, which are traced),
//! the log taken once at the end ([`take`]), and only what lies between
//! the marks counted ([`print`]).

use std::collections::BTreeMap;

use fantoccini::Client;
use serde_json::{json, Value};

use crate::browser::SessionPost;

/// One complete trace event: start and wall duration (µs), its thread's
/// CPU time, name.
struct Span<'a> {
    ts: f64,
    dur: f64,
    cpu: f64,
    name: &'a str,
}

/// Self CPU time (µs) and count, by event name.
type SelfTimes<'a> = BTreeMap<&'a str, (f64, usize)>;

/// Run in the page where what is measured starts.
pub const MARK_START: &str = "performance.mark('quorum-trace-start');";
/// Run in the page where what is measured ends.
pub const MARK_END: &str = "performance.mark('quorum-trace-end');";

/// Whether benches trace their pages (`BENCH_TRACE` set).
pub fn enabled() -> bool {
    std::env::var_os("BENCH_TRACE").is_some()
}

/// The capabilities that make chromedriver record the trace: added to
/// `caps`, and to `chrome` (its `goog:chromeOptions`).
pub fn capabilities(caps: &mut serde_json::Map<String, Value>, chrome: &mut Value) {
    caps.insert("goog:loggingPrefs".into(), json!({ "performance": "ALL" }));
    chrome["perfLoggingPrefs"] = json!({
        "enableNetwork": false,
        "enablePage": false,
        "traceCategories": "devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing"
    });
}

/// The trace events recorded for page `c` since the session's start (the
/// first call only: chromedriver does not trace again after it).
pub async fn take(c: &Client) -> Vec<Value> {
    let log = c
        .issue_cmd(SessionPost {
            path: "se/log",
            body: json!({ "type": "performance" }),
        })
        .await
        .unwrap_or_else(|e| panic!("the performance log: {e}"));
    let mut events = Vec::new();
    for entry in log.as_array().into_iter().flatten() {
        let Some(m) = entry["message"]
            .as_str()
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
        else {
            continue;
        };
        if m["message"]["method"] != "Tracing.dataCollected" {
            continue;
        }
        let params = &m["message"]["params"];
        match params["value"].as_array() {
            Some(batch) => events.extend(batch.iter().cloned()),
            None => events.push(params.clone()),
        }
    }
    events
}

/// Prints, for the busiest renderer main thread in `events`, between the
/// marks (with the trace events under way at the first), its CPU time and
/// the trace events with the most self time (their own, less what ran
/// inside them), as `what`; returns that CPU time (ms).
pub fn print(what: &str, events: &[Value]) -> f64 {
    print_between(what, events, "quorum-trace-start", "quorum-trace-end")
}

/// Like [`print`], between the first user timing marks named `start` and
/// `end` (e.g. the page's own `quorum:start` and `quorum:prejoin`).
pub fn print_between(what: &str, events: &[Value], start: &str, end: &str) -> f64 {
    let (Some(from), Some(to)) = (mark_ts(events, start), mark_ts(events, end)) else {
        println!("  {what}: the trace has no marks {start} and {end} (is chromedriver recording?)");
        return 0.0;
    };
    let names: BTreeMap<(u64, u64), &str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .filter_map(|e| {
            Some((
                (e["pid"].as_u64()?, e["tid"].as_u64()?),
                e["args"]["name"].as_str()?,
            ))
        })
        .collect();
    // Complete events on renderer main threads, by thread.
    let mut threads: BTreeMap<(u64, u64), Vec<Span>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let (Some(pid), Some(tid)) = (e["pid"].as_u64(), e["tid"].as_u64()) else {
            continue;
        };
        if names.get(&(pid, tid)) != Some(&"CrRendererMain") {
            continue;
        }
        let (Some(ts), Some(dur)) = (e["ts"].as_f64(), e["dur"].as_f64()) else {
            continue;
        };
        // Overlapping the span counts, whole: a page marks its start
        // inside the task that does the work (the app's start, a click's
        // handler), which began a moment before the mark.
        if ts + dur <= from || ts > to {
            continue;
        }
        let cpu = e["tdur"].as_f64().unwrap_or(dur);
        let name = e["name"].as_str().unwrap_or("?");
        threads
            .entry((pid, tid))
            .or_default()
            .push(Span { ts, dur, cpu, name });
    }
    let mut best: Option<(f64, SelfTimes)> = None;
    for mut evs in threads.into_values() {
        // Parents before their children: by start, the longer first.
        evs.sort_by(|a, b| a.ts.total_cmp(&b.ts).then(b.dur.total_cmp(&a.dur)));
        let mut own = SelfTimes::new();
        let mut stack: Vec<(f64, &str)> = Vec::new();
        let mut busy = 0.0;
        for &Span { ts, dur, cpu, name } in &evs {
            while stack.last().is_some_and(|&(end, _)| end <= ts) {
                stack.pop();
            }
            match stack.last() {
                Some(&(_, parent)) => own.entry(parent).or_default().0 -= cpu,
                None => busy += cpu,
            }
            let slot = own.entry(name).or_default();
            slot.0 += cpu;
            slot.1 += 1;
            stack.push((ts + dur, name));
        }
        if best.as_ref().is_none_or(|(b, _)| busy > *b) {
            best = Some((busy, own));
        }
    }
    let Some((busy, own)) = best else {
        println!("  {what}: no trace events (is chromedriver recording?)");
        return 0.0;
    };
    let mut top: Vec<_> = own.into_iter().collect();
    top.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!(
        "  {what}: {:.0} ms of main-thread CPU; most self time:",
        busy / 1000.0
    );
    for (name, (us, n)) in top.into_iter().take(12) {
        println!("    {:>8.1} ms  {name} ({n})", us / 1000.0);
    }
    busy / 1000.0
}

/// When the first trace event named `name` (a user timing mark) was.
fn mark_ts(events: &[Value], name: &str) -> Option<f64> {
    events
        .iter()
        .filter(|e| e["name"] == name)
        .find_map(|e| e["ts"].as_f64())
}

/// A task on the page's main thread, for [`print_timeline`].
struct Task {
    /// Start (µs, the trace's clock) and wall duration (µs).
    ts: f64,
    dur: f64,
    /// Its thread's CPU time (µs).
    cpu: f64,
    /// What ran inside it for [`TIMELINE_CHILD_US`] or more: name, wall µs.
    inside: Vec<(String, f64)>,
}

/// Tasks with less CPU time than this (µs) are left out of the timeline.
const TIMELINE_TASK_US: f64 = 500.0;
/// What ran inside a task for this long (µs) or more is named beside it,
/// the first [`TIMELINE_CHILDREN`] of them.
const TIMELINE_CHILD_US: f64 = 1000.0;
const TIMELINE_CHILDREN: usize = 6;

/// Prints the page's main-thread tasks as `what`, from the navigation to
/// the address containing `page` (the link's) to the user timing mark
/// `end`, with the page's `quorum:` marks among them: each task's start
/// (ms since the navigation), wall and CPU time, and what ran inside it.
/// The gaps between tasks are the page waiting (for the network, the
/// server, a core), which CPU totals alone don't show.
pub fn print_timeline(what: &str, events: &[Value], page: &str, end: &str) {
    let from = events
        .iter()
        .filter(|e| e["name"] == "navigationStart")
        .filter(|e| {
            e["args"]["data"]["documentLoaderURL"]
                .as_str()
                .is_some_and(|u| u.contains(page))
        })
        .find_map(|e| e["ts"].as_f64());
    // The page's main thread: the one that marked `end`.
    let end_mark = events
        .iter()
        .find(|e| e["name"] == end)
        .and_then(|e| Some((e["ts"].as_f64()?, (e["pid"].as_u64()?, e["tid"].as_u64()?))));
    let (Some(from), Some((to, thread))) = (from, end_mark) else {
        println!("  {what}: the trace has no navigation to {page} or no mark {end}");
        return;
    };
    let mut spans: Vec<(f64, f64, f64, String)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .filter(|e| (e["pid"].as_u64(), e["tid"].as_u64()) == (Some(thread.0), Some(thread.1)))
        .filter_map(|e| {
            let (ts, dur) = (e["ts"].as_f64()?, e["dur"].as_f64()?);
            (ts + dur > from && ts <= to).then(|| {
                let cpu = e["tdur"].as_f64().unwrap_or(dur);
                (ts, dur, cpu, label(e))
            })
        })
        .collect();
    // Parents before their children: by start, the longer first.
    spans.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut tasks: Vec<Task> = Vec::new();
    for (ts, dur, cpu, name) in spans {
        match tasks.last_mut() {
            Some(t) if ts < t.ts + t.dur => {
                if dur >= TIMELINE_CHILD_US {
                    t.inside.push((name, dur));
                }
            }
            _ => tasks.push(Task {
                ts,
                dur,
                cpu,
                inside: Vec::new(),
            }),
        }
    }
    let mut rows: Vec<(f64, String)> = tasks
        .into_iter()
        .filter(|t| t.cpu >= TIMELINE_TASK_US)
        .map(|t| {
            let mut inside: Vec<String> = t
                .inside
                .iter()
                .take(TIMELINE_CHILDREN)
                .map(|(n, d)| format!("{n} {:.1}", d / 1000.0))
                .collect();
            if t.inside.len() > TIMELINE_CHILDREN {
                inside.push("…".to_owned());
            }
            let text = format!(
                "task {:.1} ms (CPU {:.1}){}{}",
                t.dur / 1000.0,
                t.cpu / 1000.0,
                if inside.is_empty() { "" } else { ": " },
                inside.join(", ")
            );
            (t.ts, text)
        })
        .collect();
    rows.extend(
        events
            .iter()
            .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("quorum:")))
            .filter_map(|e| Some((e["ts"].as_f64()?, e["name"].as_str()?)))
            .filter(|&(ts, _)| ts >= from && ts <= to)
            .map(|(ts, n)| (ts, format!("── {n}"))),
    );
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!("  {what}: the main thread's tasks (ms since the page opened):");
    for (ts, text) in rows {
        println!("    {:>7.1}  {text}", (ts - from) / 1000.0);
    }
}

/// A trace event's name, with what it ran where the trace says: the
/// event's type, or the function called and its file.
fn label(e: &Value) -> String {
    let name = e["name"].as_str().unwrap_or("?");
    let data = &e["args"]["data"];
    if let Some(kind) = data["type"].as_str() {
        return format!("{name}({kind})");
    }
    match data["functionName"].as_str().filter(|f| !f.is_empty()) {
        Some(f) => {
            let file = data["url"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            format!("{name}({f} in {file})")
        }
        None => name.to_owned(),
    }
}
