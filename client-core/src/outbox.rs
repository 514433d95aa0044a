//! Our chat messages not yet confirmed by the server, in the order they
//! were typed. Pure: the chat context publishes what [`Outbox::due`] says.
//!
//! A message leaves the queue only when it comes back (live echo or the
//! room's history), so one written to a socket that died before the server
//! saw it is sent again on the next connection. Each message goes out at
//! most once per connection, and receivers drop copies by id, so everybody
//! sees it exactly once.
//!
//! A message the server refused (a chat lock) is *failed*: it leaves the
//! queue for a list of its own, goes out again only when retried, and may
//! be discarded. Both lists are what the session cache keeps
//! ([`Outbox::saved`]), so a reload loses none of them.

use std::collections::VecDeque;

use quorum_shared::peer::ChatMessage;

#[derive(Debug, Clone)]
struct Queued {
    msg: ChatMessage,
    /// The bytes to publish; `None` while still being encrypted.
    wire: Option<Vec<u8>>,
}

/// See the module docs.
///
/// Messages go out in order and stop at the first that can't, so those
/// written on the current connection are always a prefix of the queue:
/// one count says which, and no operation walks the whole queue in the
/// usual case (a send, its echo, the next send), however many wait.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    items: VecDeque<Queued>,
    /// The connection (epoch) the first `written` items were written on.
    epoch: Option<u64>,
    written: usize,
    /// Refused by the server, oldest first: not sent until retried.
    failed: VecDeque<Queued>,
}

/// One message of ours not yet confirmed, as the session cache keeps it:
/// the bytes it goes out as (ciphertext in an E2EE room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    /// The message's id.
    pub id: String,
    /// Its wire bytes.
    pub wire: Vec<u8>,
    /// Refused by the server (shown "Not sent"), rather than waiting.
    pub failed: bool,
}

impl Outbox {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `msg` behind the others, sent as plain JSON.
    pub fn push(&mut self, msg: ChatMessage) {
        let wire = Some(msg.encode());
        self.items.push_back(Queued { msg, wire });
    }

    /// Queues `msg` behind the others; it waits (and so does everything
    /// behind it) until [`Outbox::sealed`] gives its encrypted bytes.
    pub fn push_unsealed(&mut self, msg: ChatMessage) {
        self.items.push_back(Queued { msg, wire: None });
    }

    /// Where `id` is, searching from the end (`newest`: the message just
    /// typed or sealed) or from the front (an echo, usually of the oldest).
    fn position(&self, id: &str, newest: bool) -> Option<usize> {
        if newest {
            self.items.iter().rposition(|q| q.msg.id == id)
        } else {
            self.items.iter().position(|q| q.msg.id == id)
        }
    }

    /// How many from the front are written on connection `epoch`.
    fn written_on(&self, epoch: u64) -> usize {
        if self.epoch == Some(epoch) {
            self.written
        } else {
            0
        }
    }

    /// The encrypted bytes of `id` are ready.
    pub fn sealed(&mut self, id: &str, wire: Vec<u8>) {
        if let Some(at) = self.position(id, true) {
            self.items[at].wire = Some(wire);
        } else if let Some(q) = self.failed.iter_mut().find(|q| q.msg.id == id) {
            q.wire = Some(wire);
        }
    }

    /// Puts back a message the session cache kept: queued behind the
    /// others, or among the failed.
    pub fn restore(&mut self, msg: ChatMessage, wire: Vec<u8>, failed: bool) {
        let q = Queued {
            msg,
            wire: Some(wire),
        };
        if failed {
            self.failed.push_back(q);
        } else {
            self.items.push_back(q);
        }
    }

    /// The server refuses our chat (a lock): everything queued fails, in
    /// order. Returns the ids that failed.
    pub fn fail_all(&mut self) -> Vec<String> {
        let ids = self.ids().map(str::to_owned).collect();
        self.failed.extend(self.items.drain(..));
        self.epoch = None;
        self.written = 0;
        ids
    }

    /// Queues failed `id` again, behind the others. Returns whether it was
    /// failed.
    pub fn retry(&mut self, id: &str) -> bool {
        let Some(at) = self.failed.iter().position(|q| q.msg.id == id) else {
            return false;
        };
        self.items.extend(self.failed.remove(at));
        true
    }

    /// Forgets failed `id` unsent. Returns whether it was failed.
    pub fn discard(&mut self, id: &str) -> bool {
        let at = self.failed.iter().position(|q| q.msg.id == id);
        at.and_then(|at| self.failed.remove(at)).is_some()
    }

    /// Whether `id` was refused and waits for a retry.
    pub fn is_failed(&self, id: &str) -> bool {
        self.failed.iter().any(|q| q.msg.id == id)
    }

    /// What the session cache keeps: the failed, then the queued, each
    /// once its bytes are ready (oldest first, at most `max`, the newest).
    pub fn saved(&self, max: usize) -> Vec<Unsent> {
        let failed = self.failed.iter().map(|q| (q, true));
        let queued = self.items.iter().map(|q| (q, false));
        let all: Vec<Unsent> = failed
            .chain(queued)
            .filter_map(|(q, failed)| {
                Some(Unsent {
                    id: q.msg.id.clone(),
                    wire: q.wire.clone()?,
                    failed,
                })
            })
            .collect();
        let skip = all.len().saturating_sub(max);
        all.into_iter().skip(skip).collect()
    }

    /// The server has `id`: forget it. Returns whether it was queued (or
    /// failed: a message refused on one socket may have gone out on an
    /// earlier one).
    pub fn confirm(&mut self, id: &str) -> bool {
        let Some(at) = self.position(id, false) else {
            return self.discard(id);
        };
        self.items.remove(at);
        if at < self.written {
            self.written -= 1;
        }
        true
    }

    /// Messages to write on connection `epoch`, oldest first: those not
    /// yet written on it.
    pub fn due(&self, epoch: u64) -> Vec<ChatMessage> {
        self.items
            .iter()
            .skip(self.written_on(epoch))
            .map(|q| q.msg.clone())
            .collect()
    }

    /// Whether `id` is queued and not yet written on connection `epoch`.
    pub fn is_due(&self, epoch: u64, id: &str) -> bool {
        self.position(id, true)
            .is_some_and(|at| at >= self.written_on(epoch))
    }

    /// What to write on connection `epoch`, oldest first, as (id, bytes):
    /// those not yet written on it, up to the first still being encrypted,
    /// so that messages never overtake each other.
    pub fn due_wire(&self, epoch: u64) -> Vec<(String, Vec<u8>)> {
        self.items
            .iter()
            .skip(self.written_on(epoch))
            .map_while(|q| Some((q.msg.id.clone(), q.wire.clone()?)))
            .collect()
    }

    /// `id` was written on connection `epoch` (and, messages going out in
    /// order, everything before it).
    pub fn mark_sent(&mut self, id: &str, epoch: u64) {
        if self.epoch != Some(epoch) {
            self.epoch = Some(epoch);
            self.written = 0;
        }
        let next = self.written;
        let at = match self.items.get(next) {
            Some(q) if q.msg.id == id => Some(next),
            _ => self.position(id, false),
        };
        if let Some(at) = at {
            self.written = self.written.max(at + 1);
        }
    }

    /// Ids still waiting for confirmation, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|q| q.msg.id.as_str())
    }

    /// Number of unconfirmed messages waiting to go out (not the failed).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits to go out (failed ones may remain).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
