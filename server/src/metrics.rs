//! Prometheus metrics: counters and histograms recorded where things
//! happen, and gauges of the current state (rooms and participants by
//! state, timers, JetStream storage) read from the index when scraped.
//! Served as text on `GET /metrics` with the configured bearer token.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::rooms::meter::Kind;
use crate::rooms::Presence;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls reuse it).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// A NATS connection was kicked.
pub fn kick() {
    counter!("quorum_kicks_total").increment(1);
}

/// A room session ended.
pub fn room_ended() {
    counter!("quorum_rooms_ended_total").increment(1);
}

/// The callout decided (`authorized`, or why not).
pub fn callout_decision(outcome: &'static str) {
    counter!("quorum_callout_decisions_total", "outcome" => outcome).increment(1);
    if outcome == "authorized" {
        counter!("quorum_joins_total").increment(1);
    }
}

/// How long one callout answer took.
pub fn callout_latency(d: Duration) {
    histogram!("quorum_callout_seconds").record(d.as_secs_f64());
}

/// A worker request was answered.
pub fn worker_request(kind: &'static str, outcome: &'static str) {
    counter!("quorum_worker_requests_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// A participant went over a budget.
pub fn rate_limited(kind: Kind) {
    let kind = match kind {
        Kind::Chat => "chat",
        Kind::Worker => "worker",
        Kind::History => "history",
        Kind::Connect => "connect",
        Kind::Reaction => "reaction",
    };
    counter!("quorum_rate_limited_total", "kind" => kind).increment(1);
}

/// A participant was throttled.
pub fn throttled() {
    counter!("quorum_throttles_total").increment(1);
}

/// A chat message of `bytes` went by.
pub fn chat_message(bytes: usize) {
    counter!("quorum_chat_messages_total").increment(1);
    counter!("quorum_chat_bytes_total").increment(bytes as u64);
}

/// An HTTP request was answered.
pub fn http_request(route: &str, status: u16, d: Duration) {
    let (route, status) = (route.to_owned(), status.to_string());
    counter!("quorum_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    histogram!("quorum_http_request_seconds", "route" => route).record(d.as_secs_f64());
}

/// A webhook delivery was queued.
pub fn webhook_queued() {
    gauge!("quorum_webhook_queue_depth").increment(1.0);
}

/// A queued webhook delivery was dealt with (delivered or given up).
pub fn webhook_dequeued() {
    gauge!("quorum_webhook_queue_depth").decrement(1.0);
}

/// A webhook delivery was given up.
pub fn webhook_failed() {
    counter!("quorum_webhook_failures_total").increment(1);
}

/// Renders the text exposition, after refreshing the state gauges.
pub async fn render(st: &crate::AppState) -> Option<String> {
    let handle = install()?;
    let index = st.rooms.index();
    let rooms = index.rooms();
    gauge!("quorum_rooms").set(rooms.len() as f64);
    let mut by_state = [0u64; 4];
    for r in &rooms {
        for p in index.participants_of(&r.room_id) {
            let i = match p.presence {
                Presence::Invited => 0,
                Presence::Online => 1,
                Presence::Disconnected => 2,
                Presence::Offline => 3,
            };
            by_state[i] += 1;
        }
    }
    for (state, n) in ["invited", "online", "disconnected", "offline"]
        .into_iter()
        .zip(by_state)
    {
        gauge!("quorum_participants", "state" => state).set(n as f64);
    }
    gauge!("quorum_timers_scheduled").set(index.scheduled() as f64);
    match st.rooms.js.query_account().await {
        Ok(info) => {
            gauge!("quorum_jetstream_storage_bytes").set(info.storage as f64);
            gauge!("quorum_jetstream_streams").set(info.streams as f64);
            gauge!("quorum_jetstream_consumers").set(info.consumers as f64);
        }
        Err(e) => tracing::debug!(error = %e, "no jetstream account info"),
    }
    Some(handle.render())
}
