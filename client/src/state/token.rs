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

use leptos::prelude::*;
use quorum_shared::worker::WorkerRequest;

pub use quorum_client_core::renewal::{
    renew_delay, token_payload, token_times, TokenTimes, MAX_DELAY, MIN_RENEW_DELAY, RENEW_MARGIN,
    RENEW_RETRY,
};

use crate::api::renew_token_http;
use crate::join::{JoinToken, Session};
use crate::nats::NatsClient;
use crate::state::persist::PersistContext;
use crate::worker::WorkerError;

/// How long to wait for the server's answer.
const RENEW_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `token` is still valid by our clock (with a little margin), or
/// unreadable (then the server decides).
pub fn still_valid(token: &JoinToken, now_s: f64) -> bool {
    token_times(token.expose()).is_none_or(|t| t.exp as f64 > now_s + 5.0)
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
