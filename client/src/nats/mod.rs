//! NATS over WebSocket for the browser: handshake, keep-alive, reconnect
//! with backoff, token swaps, request/reply, and the [`NatsClient`]
//! context components use.
//!
//! The protocol itself is `quorum_shared::nats_proto` (sans-IO); `ws`
//! moves its bytes; `link` is one socket's handshake; `conn` is the state
//! machine between them (`wire` its socket-facing half); `inbox` routes
//! replies; `policy` holds the pure timing rules. This file is the public face: connection state,
//! subscriptions and the context handle.

mod conn;
mod deferred;
mod inbox;
mod link;
mod policy;
mod wire;
mod ws;

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{select, Either};
use futures::StreamExt;
use leptos::prelude::*;
use quorum_shared::nats_proto::{encode, ClientOp, Message, ProtoError};
use quorum_shared::subjects::UserSubjects;
use send_wrapper::SendWrapper;

use crate::join::{JoinToken, Session};
use crate::util::Sleep;
use conn::{with_conn, Conn, Handler};
pub use inbox::RequestError;
pub use policy::{
    backoff_delay, denied_publish, give_up_after, give_up_after_from, is_auth_violation,
    is_pub_denied, is_sub_denied, should_give_up, AUTH_RETRIES, BACKOFF_MAX, BACKOFF_MIN,
    GIVE_UP_AFTER, GIVE_UP_PARAM, MAX_MISSED_PONGS, PING_INTERVAL,
};

/// Why the connection failed for good; the error page says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnFailure {
    /// The server refused our credentials.
    NotAuthorized,
    /// Gave up reconnecting.
    Lost,
    /// The connection could not be set up at all.
    CannotConnect,
}

/// Connection state as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// First attempt, not yet confirmed by the server.
    Connecting,
    /// Handshake done and subscriptions active.
    Connected,
    /// Lost (or never got) the connection; retrying with backoff.
    Reconnecting,
    /// Given up for good.
    Failed(ConnFailure),
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
    /// Replies to this user's requests (`{inbox_prefix}.>`).
    Inbox,
    /// Private chat to this user.
    Dm,
}

impl Sub {
    /// Every subscription, in the order they are sent.
    pub const ALL: [Sub; 5] = [Sub::Chat, Sub::Public, Sub::Private, Sub::Inbox, Sub::Dm];

    /// The subscription id used on the wire.
    pub fn sid(self) -> u64 {
        match self {
            Self::Chat => 1,
            Self::Public => 2,
            Self::Private => 3,
            Self::Inbox => 4,
            Self::Dm => 5,
        }
    }

    /// The subject this subscription listens on (for [`Sub::Inbox`], the
    /// prefix: the SUB itself adds `.>`).
    pub fn subject(self, s: &UserSubjects) -> &str {
        match self {
            Self::Chat => &s.chat_subscribe,
            Self::Public => &s.public,
            Self::Private => &s.private,
            Self::Inbox => &s.inbox_prefix,
            Self::Dm => &s.dm_subscribe,
        }
    }
}

/// A socket became the one in use, with its subscriptions in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// Increases with every such switch (reconnects and token swaps).
    pub epoch: u64,
    /// The server refused the chat subscription: the participant is in
    /// the waiting room.
    pub waiting: bool,
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
    waiting: ReadSignal<bool>,
    conn: StoredValue<Rc<RefCell<Conn>>, LocalStorage>,
}

impl NatsClient {
    /// The connection state.
    pub fn state(&self) -> ReadSignal<ConnState> {
        self.state
    }

    /// Whether the socket in use was refused the chat: the participant is
    /// in the waiting room.
    pub fn waiting(&self) -> ReadSignal<bool> {
        self.waiting
    }

    fn weak(&self) -> Option<Weak<RefCell<Conn>>> {
        self.conn.try_with_value(Rc::downgrade)
    }

    /// Publishes `payload` on `subject`; fails fast when not connected
    /// rather than queueing (the chat keeps its own queue).
    pub fn publish(&self, subject: &str, payload: &[u8]) -> Result<(), PublishError> {
        let mut frame = Vec::new();
        let op = ClientOp::Pub {
            subject,
            reply_to: None,
            payload,
        };
        encode(&op, &mut frame)?;
        let weak = self.weak().ok_or(PublishError::NotConnected)?;
        let mut result = Err(PublishError::NotConnected);
        with_conn(&weak, |c, after| result = c.write(&frame, after));
        result
    }

    /// Sends a request whose replies (one or many) come back through the
    /// returned [`Replies`].
    pub fn request_many(&self, subject: &str, payload: &[u8]) -> Result<Replies, RequestError> {
        let weak = self.weak().ok_or(RequestError::NotConnected)?;
        let mut result = Err(RequestError::NotConnected);
        with_conn(&weak, |c, after| {
            let Some(generation) = c.ready_generation() else {
                return;
            };
            let (reply_to, rx) = c.inbox.register(generation);
            let mut frame = Vec::new();
            let op = ClientOp::Pub {
                subject,
                reply_to: Some(&reply_to),
                payload,
            };
            let sent = encode(&op, &mut frame)
                .map_err(RequestError::from)
                .and_then(|()| {
                    c.write(&frame, after)
                        .map_err(|_| RequestError::NotConnected)
                });
            result = match sent {
                Ok(()) => Ok(Replies {
                    rx,
                    reply_to,
                    conn: weak.clone(),
                }),
                Err(e) => {
                    c.inbox.forget(&reply_to);
                    Err(e)
                }
            };
        });
        result
    }

    /// Sends a request and waits up to `timeout` for its one reply.
    pub async fn request(
        &self,
        subject: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        self.request_many(subject, payload)?.next(timeout).await
    }

    /// Uses `token` for every later CONNECT.
    pub fn set_token(&self, token: JoinToken) {
        if let Some(weak) = self.weak() {
            with_conn(&weak, |c, _| c.set_token(token));
        }
    }

    /// Moves to the current token without a visible reconnect (or
    /// reconnects now if there is no connection to keep).
    pub fn swap(&self) {
        if let Some(weak) = self.weak() {
            with_conn(&weak, Conn::swap);
        }
    }

    /// Also calls `hook` whenever a socket becomes the one in use, before
    /// any message that arrived on it after its subscriptions took effect.
    /// Hooks run in the order added, and live as long as the connection.
    pub fn on_ready(&self, hook: impl Fn(Ready) + 'static) {
        self.conn.try_with_value(|rc| {
            if let Ok(mut c) = rc.try_borrow_mut() {
                c.on_ready.push(Rc::new(hook));
            }
        });
    }

    /// Also calls `hook` with the text of every non-fatal `-ERR` (e.g. a
    /// refused publish), and of every refused reconnect that will be
    /// retried (`Authorization Violation`; not a token swap's standby).
    pub fn on_error(&self, hook: impl Fn(String) + 'static) {
        self.conn.try_with_value(|rc| {
            if let Ok(mut c) = rc.try_borrow_mut() {
                c.on_error.push(Rc::new(hook));
            }
        });
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

    /// Stops routing messages of `sub`.
    pub fn clear_handler(&self, sub: Sub) {
        self.conn.try_with_value(|rc| {
            if let Ok(mut c) = rc.try_borrow_mut() {
                c.handlers.remove(&sub.sid());
            }
        });
    }

    /// Whether the connection holds nothing that could act later: no
    /// socket, no timer, no window listener. True once it was closed (or
    /// gave up, or its owner went away), so nothing can reconnect; tests
    /// check this instead of waiting to see that nothing happens.
    pub fn is_released(&self) -> bool {
        self.conn
            .try_with_value(|rc| rc.try_borrow().is_ok_and(|c| c.is_released()))
            .unwrap_or(true)
    }

    /// Closes the connection for good: the sockets, timers and listeners
    /// go, and nothing reconnects. Idempotent. Messages already received
    /// in the same batch may still reach their handlers.
    pub fn close(&self) {
        if let Some(weak) = self.weak() {
            with_conn(&weak, Conn::close);
        }
    }
}

/// The replies to one request, in arrival order.
pub struct Replies {
    rx: UnboundedReceiver<Message>,
    reply_to: String,
    conn: Weak<RefCell<Conn>>,
}

impl Replies {
    /// The next reply, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<Message, RequestError> {
        match select(self.rx.next(), Sleep::new(timeout)).await {
            Either::Left((Some(m), _)) if inbox::is_no_responders(&m) => {
                Err(RequestError::NoResponders)
            }
            Either::Left((Some(m), _)) => Ok(m),
            Either::Left((None, _)) => Err(RequestError::ConnectionLost),
            Either::Right(_) => Err(RequestError::Timeout),
        }
    }
}

impl Drop for Replies {
    fn drop(&mut self) {
        // Not through `with_conn`: a drop may happen while the connection
        // is busy, and then the socket's loss cleans up instead.
        if let Some(rc) = self.conn.upgrade() {
            if let Ok(mut c) = rc.try_borrow_mut() {
                c.inbox.forget(&self.reply_to);
            }
        }
    }
}

/// Starts connecting for `session` and provides the client to descendants.
/// Everything (sockets, timers, window listeners) stops when the calling
/// component is unmounted.
pub fn provide_nats_context(session: Arc<Session>) -> NatsClient {
    let (state, set_state) = signal(ConnState::Connecting);
    let (waiting, set_waiting) = signal(false);
    let give_up = give_up_after();
    let rc = Rc::new_cyclic(|me| {
        RefCell::new(Conn::new(
            me.clone(),
            session,
            (set_state, set_waiting),
            give_up,
        ))
    });
    with_conn(&Rc::downgrade(&rc), Conn::start);
    let client = NatsClient {
        state,
        waiting,
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
