//! Delivering one event to one target: signed at each attempt, retried
//! with bounded, doubling waits, and sent only to the addresses
//! [`super::target`] vetted.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quorum_shared::webhook::{self, SIGNATURE_HEADER};
use reqwest::header::CONTENT_TYPE;
use reqwest::redirect::Policy;
use reqwest::Client;

use super::target::{vet_target, PinnedResolver};
use super::{Delivery, Settings};

/// One attempt (DNS, connect, TLS, request, response head) may take this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// No single retry delay exceeds this, whatever the base.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Sent as `User-Agent`, so receivers can tell our calls apart.
const USER_AGENT: &str = concat!("quorum-webhooks/", env!("CARGO_PKG_VERSION"));

/// Why one attempt did not succeed.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// The target is not allowed; retrying cannot help.
    Refused(String),
    /// Network trouble, a timeout or a non-2xx answer; worth retrying.
    Failed(String),
}

/// Delivers one event to one target, retrying with backoff. Never panics;
/// outcomes are logged.
pub(super) async fn deliver(
    settings: &Settings,
    sid: &str,
    target: &str,
    shown: &str,
    d: &Delivery,
) {
    let attempts = settings.attempts.max(1);
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(backoff(settings.backoff_base, attempt - 1)).await;
        }
        let outcome =
            match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt_once(settings, target, d)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(AttemptError::Failed(format!(
                    "timed out after {} s",
                    ATTEMPT_TIMEOUT.as_secs()
                ))),
            };
        match outcome {
            Ok(status) => {
                tracing::debug!(
                    room_sid = %sid, target = %shown, event_id = %d.event_id,
                    event = ?d.event, attempt, status = status.as_u16(),
                    "webhook delivered"
                );
                return;
            }
            Err(AttemptError::Refused(reason)) => {
                tracing::warn!(
                    room_sid = %sid, target = %shown, event_id = %d.event_id,
                    event = ?d.event, %reason,
                    "webhook target refused; not retried"
                );
                crate::metrics::webhook_failed();
                return;
            }
            Err(AttemptError::Failed(reason)) => {
                tracing::warn!(
                    room_sid = %sid, target = %shown, event_id = %d.event_id,
                    event = ?d.event, attempt, attempts, %reason,
                    "webhook delivery attempt failed"
                );
            }
        }
    }
    tracing::warn!(
        room_sid = %sid, target = %shown, event_id = %d.event_id,
        event = ?d.event, attempts,
        "webhook given up"
    );
    crate::metrics::webhook_failed();
}

/// The wait before retry number `retry` (1-based): `base · 2^(retry-1)`,
/// capped.
pub(super) fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 1u32 << retry.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// One signed POST to a vetted address.
async fn attempt_once(
    settings: &Settings,
    target: &str,
    d: &Delivery,
) -> Result<reqwest::StatusCode, AttemptError> {
    let vetted = vet_target(target, settings.allow_private).await?;
    let client = Client::builder()
        .redirect(Policy::none())
        // A proxy would resolve the name itself, undoing the vetting.
        .no_proxy()
        .user_agent(USER_AGENT)
        .timeout(ATTEMPT_TIMEOUT)
        // Any name this client looks up gets only the vetted addresses;
        // IP-literal URLs were vetted as they are.
        .dns_resolver(Arc::new(PinnedResolver(vetted.addrs)))
        .build()
        .map_err(|e| AttemptError::Failed(format!("HTTP client: {}", error_chain(&e))))?;

    // Signed now, so every retry carries its own fresh timestamp.
    let signature = webhook::sign(&settings.secret, &d.body, unix_now());
    let response = client
        .post(vetted.url)
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| AttemptError::Failed(error_chain(&e.without_url())))?;
    let status = response.status();
    if status.is_success() {
        Ok(status)
    } else {
        Err(AttemptError::Failed(format!("answered HTTP {status}")))
    }
}

/// An error and its causes on one line (reqwest's own message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
