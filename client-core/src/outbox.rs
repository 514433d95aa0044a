//! Our chat messages not yet confirmed by the server, in the order they
//! were typed. Pure: the chat context publishes what [`Outbox::due`] says.
//!
//! A message leaves the queue only when it comes back (live echo or the
//! room's history), so one written to a socket that died before the server
//! saw it is sent again on the next connection. Each message goes out at
//! most once per connection, and receivers drop copies by id, so everybody
//! sees it exactly once.

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
        }
    }

    /// The server has `id`: forget it. Returns whether it was queued.
    pub fn confirm(&mut self, id: &str) -> bool {
        let Some(at) = self.position(id, false) else {
            return false;
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

    /// Number of unconfirmed messages.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether everything was confirmed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
