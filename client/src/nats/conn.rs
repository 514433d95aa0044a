//! The connection state machine behind [`super::NatsClient`]: one socket
//! at a time, handshake, keep-alive, and reconnect with backoff.
//!
//! It lives in an `Rc<RefCell<Conn>>`; every JS callback (socket events,
//! timers, window listeners) holds only a `Weak` and enters through
//! [`with_conn`], so dropping the owner frees everything.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Weak;
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::nats_proto::{encode, ClientOp, ConnectOptions, Decoder, Message, ServerOp};

use super::ws::{WsEvent, WsTransport};
use super::{
    backoff_delay, is_auth_violation, ConnState, PublishError, Sub, MAX_MISSED_PONGS,
    NOT_AUTHORIZED, PING_INTERVAL,
};
use crate::verify::Session;

/// A message handler registered through [`super::NatsClient::set_handler`].
pub(super) type Handler = std::rc::Rc<dyn Fn(Message)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// No socket; a reconnect may be scheduled.
    Idle,
    /// Socket opening; waiting for the server's INFO.
    Opening,
    /// CONNECT, SUBs and PING sent; the PONG confirms all of them.
    AwaitingPong,
    /// Usable.
    Ready,
}

/// Work to do once the `RefCell` borrow is released: it runs Leptos and
/// component code, which may call back into the connection (e.g. a chat
/// handler publishing, or a state change unmounting us).
#[derive(Default)]
pub(super) struct After {
    state: Option<(WriteSignal<ConnState>, ConnState)>,
    deliver: Vec<(Handler, Message)>,
}

/// Runs `f` on the connection, then the deferred work.
pub(super) fn with_conn(weak: &Weak<RefCell<Conn>>, f: impl FnOnce(&mut Conn, &mut After)) {
    let Some(rc) = weak.upgrade() else {
        return;
    };
    let mut after = After::default();
    match rc.try_borrow_mut() {
        Ok(mut c) => f(&mut c, &mut after),
        Err(_) => {
            // Only reachable through a re-entrant call; dropping one event
            // beats a panic that would kill the whole app.
            web_sys::console::error_1(&"nats: re-entrant call ignored".into());
            return;
        }
    }
    drop(rc);
    if let Some((signal, value)) = after.state {
        signal.try_set(value);
    }
    for (handler, msg) in after.deliver {
        handler(msg);
    }
}

/// One session's connection, across all its sockets.
pub(super) struct Conn {
    me: Weak<RefCell<Conn>>,
    session: Arc<Session>,
    state: WriteSignal<ConnState>,
    /// Mirror of `state`, so transitions can be compared without reading
    /// the signal inside the borrow.
    current: ConnState,
    ws: Option<WsTransport>,
    /// Bumped for every socket, so a late event of a replaced one is ignored.
    generation: u64,
    decoder: Decoder,
    pub(super) phase: Phase,
    missed_pongs: u8,
    attempt: u32,
    next_url: usize,
    reconnect_timer: Option<TimeoutHandle>,
    keepalive: Option<IntervalHandle>,
    net_listeners: Vec<WindowListenerHandle>,
    pub(super) handlers: HashMap<u64, Handler>,
    stopped: bool,
}

impl Conn {
    pub(super) fn new(
        me: Weak<RefCell<Conn>>,
        session: Arc<Session>,
        state: WriteSignal<ConnState>,
    ) -> Self {
        Self {
            me,
            session,
            state,
            current: ConnState::Connecting,
            ws: None,
            generation: 0,
            decoder: Decoder::new(),
            phase: Phase::Idle,
            missed_pongs: 0,
            attempt: 0,
            next_url: 0,
            reconnect_timer: None,
            keepalive: None,
            net_listeners: Vec::new(),
            handlers: HashMap::new(),
            stopped: false,
        }
    }

    fn set_state(&mut self, s: ConnState, after: &mut After) {
        if self.current != s {
            self.current = s.clone();
            after.state = Some((self.state, s));
        }
    }

    pub(super) fn start(&mut self, after: &mut After) {
        let me = self.me.clone();
        self.keepalive =
            set_interval_with_handle(move || with_conn(&me, Conn::keepalive_tick), PING_INTERVAL)
                .ok();
        // The browser knows about a lost network long before a PING times
        // out; use that to show "Reconnecting…" (and to retry) at once.
        let me = self.me.clone();
        self.net_listeners
            .push(window_event_listener(leptos::ev::offline, move |_| {
                with_conn(&me, |c, after| {
                    if c.ws.is_some() {
                        c.lost("the browser went offline", after);
                    }
                })
            }));
        let me = self.me.clone();
        self.net_listeners
            .push(window_event_listener(leptos::ev::online, move |_| {
                with_conn(&me, Conn::retry_now)
            }));
        self.open(after);
    }

    /// Stops for good: socket, timers and listeners are released.
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        self.ws = None;
        self.phase = Phase::Idle;
        if let Some(t) = self.reconnect_timer.take() {
            t.clear();
        }
        if let Some(t) = self.keepalive.take() {
            t.clear();
        }
        for l in self.net_listeners.drain(..) {
            l.remove();
        }
        self.handlers.clear();
    }

    /// Stops for good on purpose, and says so.
    pub(super) fn close(&mut self, after: &mut After) {
        self.stop();
        self.set_state(ConnState::Closed, after);
    }

    fn fail(&mut self, reason: &str, after: &mut After) {
        self.stop();
        self.set_state(ConnState::Failed(reason.to_string()), after);
    }

    fn open(&mut self, after: &mut After) {
        if self.stopped {
            return;
        }
        let urls = &self.session.join.nats_ws_urls;
        if urls.is_empty() {
            web_sys::console::error_1(&"nats: the session lists no WebSocket URL".into());
            return self.fail("Can't connect to the meeting", after);
        }
        // Rotate through the listed servers, one per attempt.
        let url = urls[self.next_url % urls.len()].clone();
        self.generation += 1;
        self.decoder = Decoder::new();
        self.missed_pongs = 0;
        let (me, generation) = (self.me.clone(), self.generation);
        let connected = WsTransport::connect(&url, move |ev| {
            with_conn(&me, |c, after| c.on_event(generation, ev, after))
        });
        match connected {
            Ok(ws) => {
                self.ws = Some(ws);
                self.phase = Phase::Opening;
            }
            Err(e) => {
                web_sys::console::error_2(&format!("nats: cannot open {url}").into(), &e);
                self.lost("could not open the WebSocket", after);
            }
        }
    }

    /// The connection is gone: show it and schedule the next attempt.
    fn lost(&mut self, why: &str, after: &mut After) {
        self.ws = None;
        self.phase = Phase::Idle;
        if self.stopped {
            return;
        }
        web_sys::console::warn_1(&format!("nats: connection lost: {why}").into());
        self.set_state(ConnState::Reconnecting, after);
        if self.reconnect_timer.is_some() {
            return;
        }
        let delay = backoff_delay(self.attempt, js_sys::Math::random());
        self.attempt = self.attempt.saturating_add(1);
        self.next_url = self.next_url.wrapping_add(1);
        let me = self.me.clone();
        self.reconnect_timer = set_timeout_with_handle(
            move || {
                with_conn(&me, |c, after| {
                    c.reconnect_timer = None;
                    c.open(after);
                })
            },
            delay,
        )
        .ok();
    }

    /// Skips the backoff wait, e.g. when the network comes back.
    fn retry_now(&mut self, after: &mut After) {
        if self.stopped || self.ws.is_some() {
            return;
        }
        if let Some(t) = self.reconnect_timer.take() {
            t.clear();
        }
        self.attempt = 0;
        self.open(after);
    }

    fn on_event(&mut self, generation: u64, ev: WsEvent, after: &mut After) {
        if generation != self.generation || self.ws.is_none() {
            return;
        }
        match ev {
            WsEvent::Data(bytes) => self.feed(&bytes, after),
            WsEvent::Closed { code, reason } => {
                self.lost(&format!("socket closed ({code} {reason})"), after)
            }
        }
    }

    fn feed(&mut self, bytes: &[u8], after: &mut After) {
        self.decoder.push(bytes);
        // Stop as soon as an op ends this socket; its remaining bytes are moot.
        while self.ws.is_some() {
            match self.decoder.next_op() {
                Ok(Some(op)) => self.handle(op, after),
                Ok(None) => break,
                Err(e) => {
                    web_sys::console::error_1(&format!("nats: protocol error: {e}").into());
                    self.lost("protocol error", after);
                }
            }
        }
    }

    fn handle(&mut self, op: ServerOp, after: &mut After) {
        match op {
            ServerOp::Info(_) if self.phase == Phase::Opening => self.handshake(after),
            // Later INFOs announce cluster changes; we connect by URL list.
            ServerOp::Info(_) | ServerOp::Ok => {}
            ServerOp::Ping => self.write_op(&ClientOp::Pong, after),
            ServerOp::Pong => {
                self.missed_pongs = 0;
                if self.phase == Phase::AwaitingPong {
                    self.phase = Phase::Ready;
                    self.attempt = 0;
                    self.set_state(ConnState::Connected, after);
                }
            }
            ServerOp::Err(text) if is_auth_violation(&text) => {
                web_sys::console::error_1(&format!("nats: {text}").into());
                self.fail(NOT_AUTHORIZED, after);
            }
            // E.g. a "Permissions Violation" for one subject: the connection
            // stays up, and the server closes it itself when an error is fatal.
            ServerOp::Err(text) => web_sys::console::warn_1(&format!("nats: -ERR {text}").into()),
            ServerOp::Msg(m) => {
                if let Some(h) = self.handlers.get(&m.sid) {
                    after.deliver.push((h.clone(), m));
                }
            }
        }
    }

    fn handshake(&mut self, after: &mut After) {
        let session = self.session.clone();
        let join = &session.join;
        let opts = ConnectOptions {
            auth_token: Some(session.token.expose().to_string()),
            name: Some(format!("{}/{}", join.room_id, join.user_id)),
            lang: "quorum-web".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            headers: true,
            echo: true,
            ..ConnectOptions::default()
        };
        let mut ops = vec![ClientOp::Connect(&opts)];
        ops.extend(Sub::ALL.map(|sub| ClientOp::Sub {
            subject: sub.subject(&join.subjects),
            queue_group: None,
            sid: sub.sid(),
        }));
        // The PONG to this PING proves CONNECT and every SUB were accepted.
        ops.push(ClientOp::Ping);
        let mut frame = Vec::new();
        for op in &ops {
            if let Err(e) = encode(op, &mut frame) {
                // Our own subjects are unusable: retrying cannot help.
                web_sys::console::error_1(&format!("nats: bad handshake: {e}").into());
                return self.fail("Can't connect to the meeting", after);
            }
        }
        if self.write(&frame, after).is_ok() {
            self.phase = Phase::AwaitingPong;
        }
    }

    fn keepalive_tick(&mut self, after: &mut After) {
        match self.phase {
            Phase::Idle => {}
            _ if self.missed_pongs >= MAX_MISSED_PONGS => self.lost("keep-alive timed out", after),
            // No INFO yet: nothing to ping, but a hung opening must time out too.
            Phase::Opening => self.missed_pongs += 1,
            Phase::AwaitingPong | Phase::Ready => {
                self.missed_pongs += 1;
                self.write_op(&ClientOp::Ping, after);
            }
        }
    }

    fn write_op(&mut self, op: &ClientOp<'_>, after: &mut After) {
        let mut frame = Vec::new();
        match encode(op, &mut frame) {
            Ok(()) => {
                let _ = self.write(&frame, after);
            }
            Err(e) => web_sys::console::error_1(&format!("nats: cannot encode: {e}").into()),
        }
    }

    pub(super) fn write(&mut self, frame: &[u8], after: &mut After) -> Result<(), PublishError> {
        let ws = self.ws.as_ref().ok_or(PublishError::NotConnected)?;
        ws.send(frame).map_err(|e| {
            let text = crate::verify::js_error_text(&e);
            self.lost(&format!("send failed: {text}"), after);
            PublishError::Send(text)
        })
    }
}
