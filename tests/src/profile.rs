//! DevTools' sampling profiler for benches (`BENCH_PROFILE`): where a
//! page spent its CPU time, by function, idle time left out.

use std::collections::BTreeMap;

use fantoccini::Client;
use serde_json::{json, Value};

use crate::browser::cdp;

/// Starts sampling page `c` every 100 µs.
pub async fn start(c: &Client) {
    cdp(c, "Profiler.enable", json!({})).await;
    cdp(
        c,
        "Profiler.setSamplingInterval",
        json!({ "interval": 100 }),
    )
    .await;
    cdp(c, "Profiler.start", json!({})).await;
}

/// Stops sampling page `c` and prints the top of the profile as `what`.
pub async fn stop_and_print(c: &Client, what: &str) {
    let p = cdp(c, "Profiler.stop", json!({})).await;
    // The whole profile, for DevTools (Performance, "Load profile") or a
    // look at inclusive times: BENCH_PROFILE=<dir> writes one per run.
    if let Some(dir) =
        std::env::var_os("BENCH_PROFILE").filter(|d| std::path::Path::new(d).is_dir())
    {
        let name: String = what
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        // Numbered: a bench profiles a plain room, then an E2EE one.
        static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::path::Path::new(&dir).join(format!("{run:02}-{name}.cpuprofile"));
        if std::fs::write(&path, p["profile"].to_string()).is_ok() {
            println!("  profile written to {}", path.display());
        }
    }
    print(what, &p["profile"]);
}

/// Prints the functions with the most self time in a DevTools CPU
/// profile, idle time left out.
fn print(what: &str, profile: &Value) {
    let nodes = profile["nodes"].as_array().cloned().unwrap_or_default();
    let id_name: BTreeMap<u64, String> = nodes
        .iter()
        .filter_map(|n| {
            let f = &n["callFrame"];
            let name = f["functionName"].as_str().unwrap_or("");
            let url = f["url"].as_str().unwrap_or("");
            let file = url.rsplit('/').next().unwrap_or("");
            Some((n["id"].as_u64()?, format!("{name} ({file})")))
        })
        .collect();
    let samples = profile["samples"].as_array().cloned().unwrap_or_default();
    let deltas = profile["timeDeltas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut self_us: BTreeMap<String, f64> = BTreeMap::new();
    // A sample's time is the delta to the next one.
    for (i, s) in samples.iter().enumerate() {
        let dt = deltas.get(i + 1).and_then(Value::as_f64).unwrap_or(0.0);
        let name = s
            .as_u64()
            .and_then(|id| id_name.get(&id))
            .cloned()
            .unwrap_or_default();
        *self_us.entry(name).or_default() += dt;
    }
    let busy: f64 = self_us
        .iter()
        .filter(|(k, _)| !k.starts_with("(idle)"))
        .map(|(_, v)| v)
        .sum();
    let mut top: Vec<_> = self_us
        .into_iter()
        .filter(|(k, _)| !k.starts_with("(idle)"))
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("  {what}: {:.0} ms busy; most self time:", busy / 1000.0);
    for (name, us) in top.into_iter().take(25) {
        println!("    {:>8.1} ms  {name}", us / 1000.0);
    }
}
