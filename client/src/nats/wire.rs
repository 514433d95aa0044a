//! What arrives on and leaves through the sockets: socket events, the
//! server's ops, the handshake, keep-alive pings, and writes. The other
//! half of [`Conn`] (its life cycle, reconnects and swaps) is in `conn.rs`.

use quorum_shared::nats_proto::{encode, ClientOp, ServerOp};

use super::conn::{with_conn, Action, After, Conn};
use super::link::{handshake_frame, Phase};
use super::policy::{is_auth_violation, is_sub_denied, AUTH_RETRIES, MAX_MISSED_PONGS};
use super::ws::WsEvent;
use super::{ConnFailure, ConnState, PublishError, Ready, Sub};
use crate::util::next_task;

/// Messages handed on per task. During a flood nats-server packs
/// thousands into one socket frame; taking them all in at once would be
/// one long task that freezes the page. The rest waits for the next task
/// (new frames queue behind it, in order), so the page paints and answers
/// input in between.
const MSGS_PER_TASK: usize = 64;

impl Conn {
    pub(super) fn on_event(&mut self, generation: u64, ev: WsEvent, after: &mut After) {
        match ev {
            WsEvent::Data(bytes) => self.feed(generation, &bytes, after),
            WsEvent::Closed { code, reason } => self.link_failed(
                generation,
                &format!("socket closed ({code} {reason})"),
                after,
            ),
        }
    }

    fn feed(&mut self, generation: u64, bytes: &[u8], after: &mut After) {
        let Some(link) = self.link_mut(generation) else {
            return;
        };
        link.push(bytes);
        if link.feed_later {
            // Behind what a later task takes in, in order.
            return;
        }
        let mut delivered = 0;
        // Stop as soon as an op ends this socket; its remaining bytes are moot.
        loop {
            let Some(link) = self.link_mut(generation) else {
                return;
            };
            if delivered == MSGS_PER_TASK {
                link.feed_later = true;
                let me = self.me.clone();
                next_task(move || {
                    with_conn(&me, |c, after| {
                        if let Some(link) = c.link_mut(generation) {
                            link.feed_later = false;
                            c.feed(generation, &[], after);
                        }
                    })
                });
                return;
            }
            match link.next_op() {
                Ok(Some(op)) => {
                    delivered += usize::from(matches!(op, ServerOp::Msg(_)));
                    self.handle(generation, op, after);
                }
                Ok(None) => return,
                Err(e) => {
                    web_sys::console::error_1(&format!("nats: protocol error: {e}").into());
                    return self.link_failed(generation, "protocol error", after);
                }
            }
        }
    }

    fn handle(&mut self, generation: u64, op: ServerOp, after: &mut After) {
        let Some(phase) = self.link_mut(generation).map(|l| l.phase) else {
            return;
        };
        match op {
            ServerOp::Info(_) if phase == Phase::Opening => {
                if !self.ever_ready {
                    // The socket is open and the server spoke: what is
                    // left of connecting is our CONNECT and its callout.
                    crate::perf::mark("nats-info");
                }
                self.handshake(generation, after)
            }
            // Later INFOs announce cluster changes; we connect by URL list.
            ServerOp::Info(_) | ServerOp::Ok => {}
            ServerOp::Ping => self.write_to(generation, &ClientOp::Pong, after),
            ServerOp::Pong => {
                if let Some(link) = self.link_mut(generation) {
                    link.missed_pongs = 0;
                    if phase == Phase::AwaitingPong {
                        link.phase = Phase::Ready;
                        self.became_ready(generation, after);
                    }
                }
            }
            ServerOp::Err(text) if is_auth_violation(&text) => {
                web_sys::console::error_1(&format!("nats: {text}").into());
                // Before any success the link itself is bad. After one, a
                // refusal is usually the auth service catching up with a
                // restarted nats-server: retry a while before giving up.
                let retry = self.ever_ready && self.auth_refusals < AUTH_RETRIES;
                if self.is_primary(generation) && !retry {
                    self.fail(ConnFailure::NotAuthorized, after);
                } else {
                    if self.is_primary(generation) {
                        self.auth_refusals += 1;
                        // The owner may learn why (over HTTP) sooner than
                        // the retries run out. Not for a token swap's
                        // standby: the socket in use carries on.
                        for h in &self.on_error {
                            after.0.push(Action::Error(h.clone(), text.clone()));
                        }
                    }
                    self.link_failed(generation, &text, after);
                }
            }
            ServerOp::Err(text)
                if phase == Phase::AwaitingPong
                    && is_sub_denied(&text, &self.session.join.subjects.chat_subscribe) =>
            {
                // Expected in the waiting room; not worth a warning.
                if let Some(link) = self.link_mut(generation) {
                    link.chat_denied = true;
                }
            }
            ServerOp::Err(text)
                if phase == Phase::AwaitingPong
                    && is_sub_denied(&text, &self.session.join.subjects.dm_subscribe) =>
            {
                // Private chat is refused in the waiting room too; the
                // chat refusal above already marks the socket as waiting.
            }
            ServerOp::Err(text) => {
                // E.g. a "Permissions Violation" for one subject: the socket
                // stays up, and the server closes it itself when fatal.
                web_sys::console::warn_1(&format!("nats: -ERR {text}").into());
                for h in &self.on_error {
                    after.0.push(Action::Error(h.clone(), text.clone()));
                }
            }
            ServerOp::Msg(m) if m.sid == Sub::Inbox.sid() => self.inbox.route(generation, m),
            ServerOp::Msg(m) => {
                if let Some(h) = self.handlers.get(&m.sid) {
                    after.0.push(Action::Deliver(h.clone(), m));
                }
            }
        }
    }

    /// Socket `generation` passed its handshake: it becomes the one in use.
    fn became_ready(&mut self, generation: u64, after: &mut After) {
        if !self.is_primary(generation) {
            // The swap: the old socket closes as it is dropped, and its
            // requests end (their replies would come on it).
            self.primary = self.standby.take();
            self.inbox.keep_only(generation);
        }
        let waiting = self.primary.as_ref().is_some_and(|l| l.chat_denied);
        self.ever_ready = true;
        self.auth_refusals = 0;
        self.attempt = 0;
        self.lost_since = None;
        if let Some(t) = self.give_up_timer.take() {
            t.clear();
        }
        self.epoch += 1;
        let ready = Ready {
            epoch: self.epoch,
            waiting,
        };
        // The hooks first: they send the catch-up's requests (in tasks
        // queued now), and the state change then draws the room while the
        // server answers. The other way round, a first join drew the whole
        // room before asking for its history.
        for h in &self.on_ready {
            after.0.push(Action::Ready(h.clone(), ready));
        }
        self.set_state(ConnState::Connected, after);
        if self.waiting_now != waiting {
            self.waiting_now = waiting;
            after.0.push(Action::Waiting(self.waiting, waiting));
        }
    }

    fn handshake(&mut self, generation: u64, after: &mut After) {
        let frame = match handshake_frame(&self.token, &self.session.join) {
            Ok(f) => f,
            Err(e) => {
                // Our own subjects are unusable: retrying cannot help.
                web_sys::console::error_1(&format!("nats: bad handshake: {e}").into());
                return self.fail(ConnFailure::CannotConnect, after);
            }
        };
        if self.send_to(generation, &frame, after).is_ok() {
            if let Some(link) = self.link_mut(generation) {
                link.phase = Phase::AwaitingPong;
            }
        }
    }

    pub(super) fn keepalive_tick(&mut self, after: &mut After) {
        let gens: Vec<u64> = [&self.primary, &self.standby]
            .into_iter()
            .flatten()
            .map(|l| l.generation)
            .collect();
        for generation in gens {
            let Some(link) = self.link_mut(generation) else {
                continue;
            };
            if link.missed_pongs >= MAX_MISSED_PONGS {
                self.link_failed(generation, "keep-alive timed out", after);
                continue;
            }
            link.missed_pongs += 1;
            // No INFO yet: nothing to ping, but a hung opening times out too.
            if link.phase != Phase::Opening {
                self.write_to(generation, &ClientOp::Ping, after);
            }
        }
    }

    fn write_to(&mut self, generation: u64, op: &ClientOp<'_>, after: &mut After) {
        let mut frame = Vec::new();
        match encode(op, &mut frame) {
            Ok(()) => {
                let _ = self.send_to(generation, &frame, after);
            }
            Err(e) => web_sys::console::error_1(&format!("nats: cannot encode: {e}").into()),
        }
    }

    fn send_to(
        &mut self,
        generation: u64,
        frame: &[u8],
        after: &mut After,
    ) -> Result<(), PublishError> {
        let link = self
            .link_mut(generation)
            .ok_or(PublishError::NotConnected)?;
        link.send(frame).map_err(|e| {
            let text = crate::verify::js_error_text(&e);
            self.link_failed(generation, &format!("send failed: {text}"), after);
            PublishError::Send(text)
        })
    }

    /// The socket to publish on, if it passed its handshake.
    pub(super) fn ready_generation(&self) -> Option<u64> {
        self.primary
            .as_ref()
            .filter(|l| l.phase == Phase::Ready)
            .map(|l| l.generation)
    }

    /// Writes `frame` on the usable socket.
    pub(super) fn write(&mut self, frame: &[u8], after: &mut After) -> Result<(), PublishError> {
        let generation = self.ready_generation().ok_or(PublishError::NotConnected)?;
        self.send_to(generation, frame, after)
    }
}
