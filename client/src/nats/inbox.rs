//! Request/reply over NATS: a reply subject under this user's inbox per
//! request, replies routed from the inbox subscription to whoever waits,
//! and a timer future that clears its JS timeout when dropped.
//!
//! A request belongs to the socket it was sent on: replies arriving on the
//! other socket during a token swap are ignored (both are subscribed to the
//! same inbox, and a multi-reply answer must not be seen twice), and losing
//! that socket ends the request at once instead of waiting for a timeout.

use std::collections::HashMap;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use quorum_shared::nats_proto::{Message, ProtoError};

/// Why a request got no (further) answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No usable connection right now.
    #[error("not connected")]
    NotConnected,
    /// The subject or payload cannot be framed.
    #[error(transparent)]
    Encode(#[from] ProtoError),
    /// Nothing arrived in time.
    #[error("timed out")]
    Timeout,
    /// The socket the request went out on is gone.
    #[error("connection lost")]
    ConnectionLost,
    /// Nobody listens on the subject (status 503).
    #[error("no responders")]
    NoResponders,
}

struct Waiter {
    generation: u64,
    tx: UnboundedSender<Message>,
}

/// Requests in flight, by reply subject.
pub(super) struct Inbox {
    prefix: String,
    next: u64,
    waiters: HashMap<String, Waiter>,
}

impl Inbox {
    /// Reply subjects will be `{prefix}.{nonce}.{n}`: the nonce keeps a
    /// reply meant for an earlier page load of the same user from being
    /// taken for one of ours.
    pub(super) fn new(prefix: &str) -> Self {
        let nonce = crate::util::random_id();
        Self {
            prefix: format!("{prefix}.{}", &nonce[..8]),
            next: 0,
            waiters: HashMap::new(),
        }
    }

    /// A fresh reply subject for a request sent on socket `generation`.
    pub(super) fn register(&mut self, generation: u64) -> (String, UnboundedReceiver<Message>) {
        self.next += 1;
        let reply_to = format!("{}.{}", self.prefix, self.next);
        let (tx, rx) = unbounded();
        self.waiters
            .insert(reply_to.clone(), Waiter { generation, tx });
        (reply_to, rx)
    }

    /// Hands a reply that arrived on socket `generation` to its waiter.
    pub(super) fn route(&mut self, generation: u64, msg: Message) {
        let Some(w) = self.waiters.get(&msg.subject) else {
            return;
        };
        if w.generation != generation {
            return;
        }
        if w.tx.unbounded_send(msg).is_err() {
            // The waiter gave up; no need to keep its slot.
            self.waiters.retain(|_, w| !w.tx.is_closed());
        }
    }

    /// Stops routing to `reply_to`.
    pub(super) fn forget(&mut self, reply_to: &str) {
        self.waiters.remove(reply_to);
    }

    /// Ends every request sent on `generation` (its socket is gone).
    pub(super) fn drop_generation(&mut self, generation: u64) {
        self.waiters.retain(|_, w| w.generation != generation);
    }

    /// Ends every request not sent on `generation` (their socket is gone).
    pub(super) fn keep_only(&mut self, generation: u64) {
        self.waiters.retain(|_, w| w.generation == generation);
    }

    /// Ends every request.
    pub(super) fn clear(&mut self) {
        self.waiters.clear();
    }
}

/// Whether `msg` is the server's "no responders" status.
pub(super) fn is_no_responders(msg: &Message) -> bool {
    msg.headers.as_ref().and_then(|h| h.status) == Some(503) && msg.payload.is_empty()
}
