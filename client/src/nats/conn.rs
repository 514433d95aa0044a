//! The connection state machine behind [`super::NatsClient`]: handshake,
//! keep-alive, reconnect with backoff until giving up, and token swaps
//! without a visible reconnect.
//!
//! Normally there is one socket (the primary [`Link`]). To swap tokens, a
//! standby link is opened with the new token; once the server has accepted
//! its CONNECT and SUBs, it becomes the primary and the old one is closed,
//! so the user never sees "Reconnecting…". Messages arriving on either
//! socket meanwhile are delivered (receivers de-duplicate), and the history
//! catch-up after every switch fills any gap.
//!
//! It lives in an `Rc<RefCell<Conn>>`; every JS callback (socket events,
//! timers, window listeners) holds only a `Weak` and enters through
//! [`with_conn`], so dropping the owner frees everything. This file is its
//! life cycle; `wire.rs` is what it reads from and writes to the sockets.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Weak;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;

pub(super) use super::deferred::{with_conn, Action, After, ErrorHook, Handler, ReadyHook};
use super::inbox::Inbox;
use super::link::Link;
use super::policy::{backoff_delay, should_give_up, PING_INTERVAL};
use super::{ConnFailure, ConnState};
use crate::join::{JoinToken, Session};

/// A failed token swap is retried this much later, while the old socket
/// still works.
const SWAP_RETRY: Duration = Duration::from_secs(5);

/// One session's connection, across all its sockets.
pub(super) struct Conn {
    pub(super) me: Weak<RefCell<Conn>>,
    pub(super) session: Arc<Session>,
    /// The newest join token; every CONNECT uses it.
    pub(super) token: JoinToken,
    pub(super) state: WriteSignal<ConnState>,
    pub(super) waiting: WriteSignal<bool>,
    /// Mirrors of the signals, so transitions can be compared without
    /// reading them inside the borrow.
    pub(super) current: ConnState,
    pub(super) waiting_now: bool,
    pub(super) primary: Option<Link>,
    pub(super) standby: Option<Link>,
    pub(super) generation: u64,
    /// Bumped whenever a socket becomes the usable one.
    pub(super) epoch: u64,
    pub(super) attempt: u32,
    pub(super) next_url: usize,
    pub(super) give_up: Duration,
    pub(super) lost_since: Option<f64>,
    pub(super) reconnect_timer: Option<TimeoutHandle>,
    pub(super) swap_timer: Option<TimeoutHandle>,
    pub(super) give_up_timer: Option<TimeoutHandle>,
    pub(super) keepalive: Option<IntervalHandle>,
    pub(super) net_listeners: Vec<WindowListenerHandle>,
    pub(super) handlers: HashMap<u64, Handler>,
    pub(super) on_ready: Vec<ReadyHook>,
    pub(super) on_error: Vec<ErrorHook>,
    pub(super) inbox: Inbox,
    pub(super) stopped: bool,
    /// Some socket passed its handshake this session.
    pub(super) ever_ready: bool,
    /// Consecutive refusals of our credentials since the last success.
    pub(super) auth_refusals: u32,
}

impl Conn {
    pub(super) fn new(
        me: Weak<RefCell<Conn>>,
        session: Arc<Session>,
        signals: (WriteSignal<ConnState>, WriteSignal<bool>),
        give_up: Duration,
    ) -> Self {
        Self {
            me,
            token: session.token.clone(),
            inbox: Inbox::new(&session.join.subjects.inbox_prefix),
            session,
            state: signals.0,
            waiting: signals.1,
            current: ConnState::Connecting,
            waiting_now: false,
            primary: None,
            standby: None,
            generation: 0,
            epoch: 0,
            attempt: 0,
            next_url: 0,
            give_up,
            lost_since: None,
            reconnect_timer: None,
            swap_timer: None,
            give_up_timer: None,
            keepalive: None,
            net_listeners: Vec::new(),
            handlers: HashMap::new(),
            on_ready: Vec::new(),
            on_error: Vec::new(),
            stopped: false,
            ever_ready: false,
            auth_refusals: 0,
        }
    }

    pub(super) fn set_state(&mut self, s: ConnState, after: &mut After) {
        if self.current != s {
            self.current = s.clone();
            after.0.push(Action::State(self.state, s));
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
                    if c.primary.is_some() || c.standby.is_some() {
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

    /// Stops for good: sockets, timers and listeners are released, and
    /// requests in flight end.
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        self.primary = None;
        self.standby = None;
        for t in [
            self.reconnect_timer.take(),
            self.swap_timer.take(),
            self.give_up_timer.take(),
        ]
        .into_iter()
        .flatten()
        {
            t.clear();
        }
        if let Some(t) = self.keepalive.take() {
            t.clear();
        }
        for l in self.net_listeners.drain(..) {
            l.remove();
        }
        self.handlers.clear();
        self.on_ready.clear();
        self.on_error.clear();
        self.inbox.clear();
    }

    /// Stopped, with no socket, timer or listener left (see
    /// [`super::NatsClient::is_released`]).
    pub(super) fn is_released(&self) -> bool {
        self.stopped
            && self.primary.is_none()
            && self.standby.is_none()
            && self.reconnect_timer.is_none()
            && self.swap_timer.is_none()
            && self.give_up_timer.is_none()
            && self.keepalive.is_none()
            && self.net_listeners.is_empty()
    }

    /// Stops for good on purpose, and says so.
    pub(super) fn close(&mut self, after: &mut After) {
        self.stop();
        self.set_state(ConnState::Closed, after);
    }

    pub(super) fn fail(&mut self, reason: ConnFailure, after: &mut After) {
        self.stop();
        self.set_state(ConnState::Failed(reason), after);
    }

    /// Uses `token` for every later CONNECT.
    pub(super) fn set_token(&mut self, token: JoinToken) {
        self.token = token;
    }

    /// Opens a new primary socket on the next URL.
    fn open(&mut self, after: &mut After) {
        if self.stopped {
            return;
        }
        let urls = &self.session.join.nats_ws_urls;
        if urls.is_empty() {
            web_sys::console::error_1(&"nats: the session lists no WebSocket URL".into());
            return self.fail(ConnFailure::CannotConnect, after);
        }
        // Rotate through the listed servers, one per attempt.
        let index = self.next_url % urls.len();
        let url = urls[index].clone();
        self.generation += 1;
        match Link::open(&self.me, &url, index, self.generation) {
            Ok(link) => self.primary = Some(link),
            Err(e) => {
                web_sys::console::error_2(&format!("nats: cannot open {url}").into(), &e);
                self.lost("could not open the WebSocket", after);
            }
        }
    }

    /// Swaps to the current token without dropping the connection: opens a
    /// standby socket and switches once the server accepted it. Without a
    /// usable socket, reconnects now instead. A standby still opening is
    /// replaced: it may have been authorized before whatever asked for this
    /// swap (a lock change), and would keep the old permissions.
    pub(super) fn swap(&mut self, after: &mut After) {
        if self.stopped {
            return;
        }
        if let Some(t) = self.swap_timer.take() {
            t.clear();
        }
        let Some(index) = self.primary.as_ref().map(|p| p.url_index) else {
            // A standby carrying on alone (the old socket is gone) is the
            // connection now: keep it. The server moves it if it is stale.
            if self.standby.is_some() {
                return;
            }
            return self.retry_now(after);
        };
        self.standby = None;
        let url = self.session.join.nats_ws_urls[index].clone();
        self.generation += 1;
        match Link::open(&self.me, &url, index, self.generation) {
            Ok(link) => self.standby = Some(link),
            Err(_) => self.schedule_swap_retry(),
        }
    }

    fn schedule_swap_retry(&mut self) {
        let me = self.me.clone();
        let retry = move || {
            with_conn(&me, |c, after| {
                c.swap_timer = None;
                c.swap(after);
            })
        };
        self.swap_timer = set_timeout_with_handle(retry, SWAP_RETRY).ok();
    }

    /// Every socket is gone: show it, and schedule the next attempt unless
    /// it has been down for too long.
    fn lost(&mut self, why: &str, after: &mut After) {
        self.primary = None;
        self.standby = None;
        self.inbox.clear();
        if self.stopped {
            return;
        }
        web_sys::console::warn_1(&format!("nats: connection lost: {why}").into());
        self.set_state(ConnState::Reconnecting, after);
        let now = js_sys::Date::now();
        let since = *self.lost_since.get_or_insert(now);
        // The timer below is the normal path; this check covers a
        // background tab whose timers the browser throttled.
        if should_give_up(since, now, self.give_up) {
            return self.fail(ConnFailure::Lost, after);
        }
        if self.give_up_timer.is_none() {
            let me = self.me.clone();
            let left =
                Duration::from_millis((since + self.give_up.as_millis() as f64 - now) as u64);
            let give_up = move || with_conn(&me, |c, after| c.fail(ConnFailure::Lost, after));
            self.give_up_timer = set_timeout_with_handle(give_up, left).ok();
        }
        if self.reconnect_timer.is_some() {
            return;
        }
        let delay = backoff_delay(self.attempt, js_sys::Math::random());
        self.attempt = self.attempt.saturating_add(1);
        self.next_url = self.next_url.wrapping_add(1);
        let me = self.me.clone();
        let reconnect = move || {
            with_conn(&me, |c, after| {
                c.reconnect_timer = None;
                c.open(after);
            })
        };
        self.reconnect_timer = set_timeout_with_handle(reconnect, delay).ok();
    }

    /// Skips the backoff wait, e.g. when the network comes back.
    pub(super) fn retry_now(&mut self, after: &mut After) {
        if self.stopped || self.primary.is_some() {
            return;
        }
        if let Some(t) = self.reconnect_timer.take() {
            t.clear();
        }
        self.attempt = 0;
        self.open(after);
    }

    pub(super) fn is_primary(&self, generation: u64) -> bool {
        self.primary
            .as_ref()
            .is_some_and(|l| l.generation == generation)
    }

    pub(super) fn link_mut(&mut self, generation: u64) -> Option<&mut Link> {
        [self.primary.as_mut(), self.standby.as_mut()]
            .into_iter()
            .flatten()
            .find(|l| l.generation == generation)
    }

    /// Socket `generation` is dead.
    pub(super) fn link_failed(&mut self, generation: u64, why: &str, after: &mut After) {
        if self.is_primary(generation) {
            self.primary = None;
            self.inbox.drop_generation(generation);
            if self.standby.is_none() {
                return self.lost(why, after);
            }
            // E.g. the server dropped the old socket as soon as the new one
            // authenticated; the standby carries on.
            web_sys::console::info_1(&format!("nats: old socket closed: {why}").into());
        } else if self
            .standby
            .as_ref()
            .is_some_and(|l| l.generation == generation)
        {
            self.standby = None;
            if self.primary.is_none() {
                return self.lost(why, after);
            }
            web_sys::console::warn_1(&format!("nats: token swap failed: {why}").into());
            self.schedule_swap_retry();
        }
    }
}
