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
    /// The connection (epoch) it was last written to.
    sent_in: Option<u64>,
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    items: VecDeque<Queued>,
}

impl Outbox {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `msg` behind the others, sent as plain JSON.
    pub fn push(&mut self, msg: ChatMessage) {
        let wire = Some(msg.encode());
        self.items.push_back(Queued {
            msg,
            wire,
            sent_in: None,
        });
    }

    /// Queues `msg` behind the others; it waits (and so does everything
    /// behind it) until [`Outbox::sealed`] gives its encrypted bytes.
    pub fn push_unsealed(&mut self, msg: ChatMessage) {
        self.items.push_back(Queued {
            msg,
            wire: None,
            sent_in: None,
        });
    }

    /// The encrypted bytes of `id` are ready.
    pub fn sealed(&mut self, id: &str, wire: Vec<u8>) {
        if let Some(q) = self.items.iter_mut().find(|q| q.msg.id == id) {
            q.wire = Some(wire);
        }
    }

    /// The server has `id`: forget it. Returns whether it was queued.
    pub fn confirm(&mut self, id: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|q| q.msg.id != id);
        self.items.len() != before
    }

    /// Messages to write on connection `epoch`, oldest first: those not
    /// yet written on it.
    pub fn due(&self, epoch: u64) -> Vec<ChatMessage> {
        self.items
            .iter()
            .filter(|q| q.sent_in != Some(epoch))
            .map(|q| q.msg.clone())
            .collect()
    }

    /// What to write on connection `epoch`, oldest first, as (id, bytes):
    /// those not yet written on it, up to the first still being encrypted,
    /// so that messages never overtake each other.
    pub fn due_wire(&self, epoch: u64) -> Vec<(String, Vec<u8>)> {
        self.items
            .iter()
            .filter(|q| q.sent_in != Some(epoch))
            .map_while(|q| Some((q.msg.id.clone(), q.wire.clone()?)))
            .collect()
    }

    /// `id` was written on connection `epoch`.
    pub fn mark_sent(&mut self, id: &str, epoch: u64) {
        if let Some(q) = self.items.iter_mut().find(|q| q.msg.id == id) {
            q.sent_in = Some(epoch);
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
