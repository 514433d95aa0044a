//! Entering the connection from JS callbacks: every socket event, timer
//! and window listener holds a `Weak` to it and comes in through
//! [`with_conn`], which borrows it, lets the callback record what the app
//! must hear ([`After`]), and only then, with the borrow released, tells
//! the app, in order.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use leptos::prelude::*;
use quorum_shared::nats_proto::Message;

use super::{ConnState, Ready};

/// A message handler registered through [`super::NatsClient::set_handler`].
pub(super) type Handler = Rc<dyn Fn(Message)>;
/// Called whenever a socket becomes the usable one.
pub(super) type ReadyHook = Rc<dyn Fn(Ready)>;
/// Called with every non-fatal `-ERR` text.
pub(super) type ErrorHook = Rc<dyn Fn(String)>;

/// Work to do once the `RefCell` borrow is released, in order: it runs
/// Leptos and component code, which may call back into the connection
/// (e.g. a chat handler publishing, or a state change unmounting us). The
/// order matters: a socket's "ready" must reach the app before the
/// messages that followed it on the wire.
pub(super) enum Action {
    State(WriteSignal<ConnState>, ConnState),
    Waiting(WriteSignal<bool>, bool),
    Deliver(Handler, Message),
    Ready(ReadyHook, Ready),
    Error(ErrorHook, String),
}

/// See [`Action`].
#[derive(Default)]
pub(super) struct After(pub(super) Vec<Action>);

/// Runs `f` on the connection, then the deferred work.
pub(super) fn with_conn<C>(weak: &Weak<RefCell<C>>, f: impl FnOnce(&mut C, &mut After)) {
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
    for action in after.0 {
        match action {
            Action::State(s, v) => {
                s.try_set(v);
            }
            Action::Waiting(s, v) => {
                s.try_set(v);
            }
            Action::Deliver(h, m) => h(m),
            Action::Ready(h, r) => h(r),
            Action::Error(h, e) => h(e),
        }
    }
}
