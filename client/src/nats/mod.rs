//! NATS over WebSocket for the browser: handshake, keep-alive, reconnect
//! with backoff, and the [`NatsClient`] context components use.
//!
//! The protocol itself is `quorum_shared::nats_proto` (sans-IO); `ws`
//! moves its bytes; `conn` is the state machine between them. This file is
//! the public face: connection state, subscriptions, backoff policy and the
//! context handle.

mod conn;
mod ws;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use quorum_shared::nats_proto::{encode, ClientOp, Message, ProtoError};
use quorum_shared::subjects::UserSubjects;
use send_wrapper::SendWrapper;

use crate::verify::Session;
use conn::{with_conn, Conn, Handler, Phase};

/// Keep-alive period. The server pings too, but only every few minutes;
/// ours notices a dead path (sleeping laptop, NAT timeout) within ~30 s.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// PINGs that may go unanswered before the connection is declared dead.
pub const MAX_MISSED_PONGS: u8 = 2;
/// Shortest reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest reconnect delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Title of the error page when the server refuses our credentials.
pub const NOT_AUTHORIZED: &str = "Not authorized to join this meeting";

/// Connection state as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// First attempt, not yet confirmed by the server.
    Connecting,
    /// Handshake done and subscriptions active.
    Connected,
    /// Lost (or never got) the connection; retrying with backoff.
    Reconnecting,
    /// Given up for good; the text is the user-facing reason.
    Failed(String),
    /// Closed on purpose (the user left, or the session ended); never
    /// reconnects.
    Closed,
}

impl ConnState {
    /// Stable machine value for `data-state`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Failed(_) => "failed",
            Self::Closed => "closed",
        }
    }

    /// Human text for the badge.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Connected => "Connected",
            Self::Reconnecting => "Reconnecting…",
            Self::Failed(_) | Self::Closed => "Disconnected",
        }
    }

    /// Whether messages can be sent right now.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected)
    }
}

/// The session's subscriptions. Their sids are fixed, so handlers stay
/// keyed correctly across reconnects, which re-send the same SUBs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sub {
    /// Everybody's public chat in the room.
    Chat,
    /// Room-wide system events.
    Public,
    /// This user's private system events.
    Private,
}

impl Sub {
    /// Every subscription, in the order they are sent.
    pub const ALL: [Sub; 3] = [Sub::Chat, Sub::Public, Sub::Private];

    /// The subscription id used on the wire.
    pub fn sid(self) -> u64 {
        match self {
            Self::Chat => 1,
            Self::Public => 2,
            Self::Private => 3,
        }
    }

    /// The subject this subscription listens on.
    pub fn subject(self, s: &UserSubjects) -> &str {
        match self {
            Self::Chat => &s.chat_subscribe,
            Self::Public => &s.public,
            Self::Private => &s.private,
        }
    }
}

/// Delay before reconnect attempt number `attempt` (0-based): doubling from
/// [`BACKOFF_MIN`] up to [`BACKOFF_MAX`], then scaled by 50–100 % with
/// `jitter` in `[0, 1)`, so that everybody dropped by one server restart
/// does not come back in the same instant.
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let min = BACKOFF_MIN.as_millis() as f64;
    let max = BACKOFF_MAX.as_millis() as f64;
    let exp = (min * 2f64.powi(attempt.min(16) as i32)).min(max);
    let ms = exp * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    Duration::from_millis(ms.clamp(min, max) as u64)
}

/// nats-server's wording when the auth callout refuses a CONNECT. Retrying
/// with the same token cannot succeed, unlike every other `-ERR`.
pub fn is_auth_violation(err: &str) -> bool {
    err.to_ascii_lowercase().contains("authorization violation")
}

/// Why a publish did not go out.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Not connected (or the handshake is still running).
    #[error("not connected")]
    NotConnected,
    /// The subject or payload cannot be framed.
    #[error(transparent)]
    Encode(#[from] ProtoError),
    /// The socket refused the bytes; a reconnect is under way.
    #[error("send failed: {0}")]
    Send(String),
}

/// Handle to the session's NATS connection, shared through context.
#[derive(Clone, Copy)]
pub struct NatsClient {
    state: ReadSignal<ConnState>,
    conn: StoredValue<Rc<RefCell<Conn>>, LocalStorage>,
}

impl NatsClient {
    /// The connection state.
    pub fn state(&self) -> ReadSignal<ConnState> {
        self.state
    }

    /// Publishes `payload` on `subject`; fails fast when not connected
    /// rather than queueing, so the UI can keep the unsent text.
    pub fn publish(&self, subject: &str, payload: &[u8]) -> Result<(), PublishError> {
        let mut frame = Vec::new();
        encode(
            &ClientOp::Pub {
                subject,
                reply_to: None,
                payload,
            },
            &mut frame,
        )?;
        let rc = self
            .conn
            .try_get_value()
            .ok_or(PublishError::NotConnected)?;
        let mut result = Err(PublishError::NotConnected);
        with_conn(&Rc::downgrade(&rc), |c, after| {
            if c.phase == Phase::Ready {
                result = c.write(&frame, after);
            }
        });
        result
    }

    /// Routes messages of `sub` to `handler`, replacing any previous one.
    pub fn set_handler(&self, sub: Sub, handler: impl Fn(Message) + 'static) {
        let handler: Handler = Rc::new(handler);
        self.conn.try_with_value(|rc| match rc.try_borrow_mut() {
            Ok(mut c) => {
                c.handlers.insert(sub.sid(), handler);
            }
            Err(_) => web_sys::console::error_1(&"nats: set_handler re-entered".into()),
        });
    }

    /// Closes the connection for good: the socket, timers and listeners go,
    /// and nothing reconnects. Idempotent. Messages already received in
    /// the same batch may still reach their handlers.
    pub fn close(&self) {
        if let Some(rc) = self.conn.try_get_value() {
            with_conn(&Rc::downgrade(&rc), Conn::close);
        }
    }

    /// Stops routing messages of `sub`.
    pub fn clear_handler(&self, sub: Sub) {
        self.conn.try_with_value(|rc| {
            if let Ok(mut c) = rc.try_borrow_mut() {
                c.handlers.remove(&sub.sid());
            }
        });
    }
}

/// Starts connecting for `session` and provides the client to descendants.
/// Everything (socket, timers, window listeners) stops when the calling
/// component is unmounted.
pub fn provide_nats_context(session: Arc<Session>) -> NatsClient {
    let (state, set_state) = signal(ConnState::Connecting);
    let rc = Rc::new_cyclic(|me| RefCell::new(Conn::new(me.clone(), session, set_state)));
    with_conn(&Rc::downgrade(&rc), Conn::start);
    let client = NatsClient {
        state,
        conn: StoredValue::new_local(rc.clone()),
    };
    // Cleanups must be Send; the Rc never leaves this thread.
    let guard = SendWrapper::new(rc);
    on_cleanup(move || with_conn(&Rc::downgrade(&guard), |c, _| c.stop()));
    provide_context(client);
    client
}

/// The client provided by an ancestor's [`provide_nats_context`].
pub fn use_nats() -> NatsClient {
    expect_context::<NatsClient>()
}
