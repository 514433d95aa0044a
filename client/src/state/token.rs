//! The current join token and its renewal.
//!
//! nats-server closes the connection exactly when the token's `exp` passes
//! (the user JWT the callout signs expires with it), so the token is
//! renewed over the worker subject well before that, and the connection
//! swaps to the new one without a visible reconnect. Without a usable
//! connection (waiting room, outage) it is renewed over HTTP instead. The newest token is
//! kept in a context at the app level, where Retry (and, later, the
//! session cache) pick it up.

use std::time::Duration;

use base64::Engine;
use leptos::prelude::*;
use quorum_shared::worker::WorkerRequest;
use serde::Deserialize;

use crate::api::renew_token_http;
use crate::join::{JoinToken, Session};
use crate::nats::NatsClient;
use crate::state::persist::PersistContext;
use crate::worker::WorkerError;

/// Never renew sooner than this after the last attempt: protects the
/// server from a tight loop when the local clock is far off.
pub const MIN_RENEW_DELAY: Duration = Duration::from_secs(5);
/// Renew at least this long before the token ends: a busy server may take
/// seconds to answer and to authorize the new socket.
pub const RENEW_MARGIN: Duration = Duration::from_secs(15);
/// Wait before trying again after a failed renewal.
pub const RENEW_RETRY: Duration = Duration::from_secs(15);
/// How long to wait for the server's answer.
const RENEW_TIMEOUT: Duration = Duration::from_secs(10);
/// `setTimeout` takes an `i32` of milliseconds; a longer-lived token is
/// simply looked at again after a day.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The validity window of a token, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TokenTimes {
    /// Not before (when it was issued), if present.
    #[serde(default)]
    pub nbf: Option<u64>,
    /// Expiry.
    pub exp: u64,
}

/// Reads `nbf`/`exp` from a JWT's payload. The signature is not checked:
/// the server does that; this only decides when to renew.
pub fn token_times(token: &str) -> Option<TokenTimes> {
    token_payload(token)
}

/// Reads claims from a JWT's payload without checking its signature:
/// only for local decisions (when to renew, which cached session a link
/// belongs to); the server verifies every token it is given.
pub fn token_payload<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `token` is still valid by our clock (with a little margin), or
/// unreadable (then the server decides).
pub fn still_valid(token: &JoinToken, now_s: f64) -> bool {
    token_times(token.expose()).is_none_or(|t| t.exp as f64 > now_s + 5.0)
}

/// How long to wait before renewing: two thirds of the remaining
/// lifetime, but at least [`RENEW_MARGIN`] before it ends, so a short
/// token opened late still leaves time to renew and move over. `fresh` means the server issued it just now, so its whole
/// lifetime (`exp - nbf`) is left whatever our clock says; otherwise the
/// remaining time is `exp - now` by our clock (a link may be opened long
/// after it was issued).
pub fn renew_delay(now_s: f64, times: TokenTimes, fresh: bool) -> Duration {
    let lifetime = times.nbf.map(|nbf| times.exp.saturating_sub(nbf) as f64);
    let by_clock = times.exp as f64 - now_s;
    let remaining = match (fresh, lifetime) {
        (true, Some(l)) => l,
        (_, Some(l)) => by_clock.min(l),
        (_, None) => by_clock,
    };
    let secs = (remaining * 2.0 / 3.0)
        .min(remaining - RENEW_MARGIN.as_secs_f64())
        .max(0.0);
    Duration::from_secs_f64(secs).clamp(MIN_RENEW_DELAY, MAX_DELAY)
}

/// The newest join token, shared through context by the app.
#[derive(Clone, Copy)]
pub struct TokenContext(RwSignal<Option<JoinToken>>);

impl TokenContext {
    /// The newest token.
    pub fn get(&self) -> Option<JoinToken> {
        self.0.get_untracked()
    }

    /// Replaces it.
    pub fn set(&self, token: JoinToken) {
        self.0.try_set(Some(token));
    }
}

/// Provides the token from the link as the current one.
pub fn provide_token_context(initial: Option<JoinToken>) -> TokenContext {
    let ctx = TokenContext(RwSignal::new(initial));
    provide_context(ctx);
    ctx
}

/// The token provided by [`provide_token_context`], if any (tests mount
/// parts of the app without it).
pub fn use_token() -> Option<TokenContext> {
    use_context::<TokenContext>()
}

/// Keeps the session's token fresh; see the module docs.
#[derive(Clone, Copy)]
pub struct TokenRenewal {
    nats: NatsClient,
    worker: StoredValue<String>,
    current: StoredValue<JoinToken>,
    shared: Option<TokenContext>,
    persist: Option<PersistContext>,
    timer: StoredValue<Option<TimeoutHandle>>,
}

impl TokenRenewal {
    /// Adopts `token` (renewed, or handed over on approval): later
    /// connects use it, the connection swaps to it without a visible
    /// reconnect, and the next renewal is planned from it.
    pub fn adopt(&self, token: JoinToken) {
        self.current.set_value(token.clone());
        if let Some(shared) = self.shared {
            shared.set(token.clone());
        }
        // A reload rejoins with it, even once the link's token expired.
        if let Some(p) = self.persist {
            p.save_token(token.clone());
        }
        self.nats.set_token(token.clone());
        self.nats.swap();
        self.plan(&token, true);
    }

    fn plan(&self, token: &JoinToken, fresh: bool) {
        let delay = match token_times(token.expose()) {
            Some(times) => renew_delay(js_sys::Date::now() / 1000.0, times, fresh),
            None => {
                // Not a JWT we can read (e.g. a test token): nothing to plan.
                web_sys::console::warn_1(&"token: no readable expiry; not renewing".into());
                return;
            }
        };
        self.schedule(delay);
    }

    fn schedule(&self, delay: Duration) {
        let this = *self;
        let handle = set_timeout_with_handle(
            move || {
                this.timer.try_set_value(None);
                wasm_bindgen_futures::spawn_local(async move { this.renew().await });
            },
            delay,
        )
        .ok();
        if let Some(Some(previous)) = self
            .timer
            .try_update_value(|t| std::mem::replace(t, handle))
        {
            previous.clear();
        } else if self.timer.is_disposed() {
            // Unmounted meanwhile: nobody would clear it later.
            if let Some(h) = handle {
                h.clear();
            }
        }
    }

    async fn renew(self) {
        let Some(token) = self.current.try_get_value() else {
            return;
        };
        let waiting = self.nats.waiting().try_get_untracked().unwrap_or(false);
        let connected = self
            .nats
            .state()
            .try_get_untracked()
            .is_some_and(|s| s.is_connected());
        // The waiting room may not publish, not even to the worker, and
        // without a connection there is nothing to publish on: both renew
        // over HTTP. The server accepts an expired token there only while
        // its owner is disconnected, so an outage longer than the token's
        // life still ends in a rejoin.
        let fresh = if waiting || !connected {
            renew_token_http(&token).await
        } else {
            match self.renew_over_nats(&token).await {
                Err(WorkerError::Offline) => renew_token_http(&token).await,
                other => other.map_err(|e| e.to_string()),
            }
        };
        match fresh {
            Ok(t) if !self.timer.is_disposed() => self.adopt(t),
            Ok(_) => {}
            Err(why) => {
                web_sys::console::warn_1(&format!("token: renewal failed: {why}").into());
                self.schedule(RENEW_RETRY);
            }
        }
    }
}

impl TokenRenewal {
    /// Asks the worker for a fresh token.
    async fn renew_over_nats(&self, token: &JoinToken) -> Result<JoinToken, WorkerError> {
        let worker = self.worker.try_get_value().unwrap_or_default();
        let req = WorkerRequest::RenewToken {
            token: token.expose().to_string(),
        };
        let reply = crate::worker::call_with(self.nats, &worker, &req, RENEW_TIMEOUT).await?;
        reply
            .token
            .and_then(JoinToken::new)
            .ok_or_else(|| WorkerError::BadReply("no token".to_string()))
    }
}

/// Starts renewing `session`'s token until the calling component is
/// unmounted; `shared` (if any) always holds the newest one.
pub fn start_token_renewal(
    nats: NatsClient,
    session: &Session,
    shared: Option<TokenContext>,
    persist: Option<PersistContext>,
) -> TokenRenewal {
    let initial = shared
        .and_then(|s| s.get())
        .unwrap_or(session.token.clone());
    let renewal = TokenRenewal {
        nats,
        worker: StoredValue::new(session.join.subjects.worker.clone()),
        current: StoredValue::new(initial.clone()),
        shared,
        persist,
        timer: StoredValue::new(None),
    };
    renewal.plan(&initial, false);
    let timer = renewal.timer;
    on_cleanup(move || {
        if let Some(Some(h)) = timer.try_update_value(Option::take) {
            h.clear();
        }
    });
    renewal
}
