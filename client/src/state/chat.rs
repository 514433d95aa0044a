//! Public chat: the context that ties the log ([`ChatLog`]) and the queue of unconfirmed messages
//! ([`Outbox`]) to NATS. System messages (`broadcastToRoom`) join the same
//! log through [`ChatContext::add`]. Sending is in `outgoing`, receiving in
//! `incoming`, refused messages in `unsent` and undecryptable ones in
//! `unreadable`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::ids::UserId;

use crate::join::Session;
use crate::nats::{denied_publish, is_pub_denied, NatsClient, Sub};
pub use crate::state::chat_in::{
    accept_incoming, accept_incoming_private, now_ms, shown_at, valid_id, IncomingChatError,
};
pub use crate::state::chat_log::{
    ChatEntry, ChatLog, Delivery, EntryKey, EntryKind, Sender, MAX_LOG,
};
use crate::state::e2ee::E2eeContext;
use crate::state::outbox::Outbox;
use crate::state::participants::RosterContext;
use crate::state::persist::PersistContext;

mod incoming;
pub(crate) use incoming::FRAME_BATCH;
mod outgoing;
mod unreadable;
mod unsent;
pub(crate) use outgoing::{checked_text, own_message};
pub use outgoing::{SendChatError, Sent};
use unreadable::Unreadable;
pub(crate) use unsent::PrivateOut;
pub use unsent::UnsentAction;

/// The chat, shared through context.
#[derive(Clone, Copy)]
pub struct ChatContext {
    log: RwSignal<ChatLog>,
    /// Our messages not confirmed, each with the state its list item
    /// reads (sending, or not sent): an echo changes one item's state,
    /// rather than making every item in the list look again.
    marks: StoredValue<HashMap<EntryKey, ArcRwSignal<Delivery>>>,
    nats: NatsClient,
    session: StoredValue<Arc<Session>>,
    outbox: StoredValue<Outbox>,
    /// Private messages written on the connection in use, oldest first:
    /// nats-server refuses (a lock) in the order they were written.
    dm_sent: StoredValue<VecDeque<PrivateOut>>,
    /// Private messages refused, until retried or discarded.
    private_unsent: StoredValue<Vec<PrivateOut>>,
    /// Messages that did not decrypt (the newest), to try again with a
    /// key typed anew.
    unreadable: StoredValue<std::collections::VecDeque<Unreadable>>,
    /// Received entries not in the log yet: applied together once per
    /// frame, so a flood costs one update of the list per frame rather
    /// than one per message.
    incoming: StoredValue<Vec<(ChatEntry, Option<u64>)>>,
    /// Our new messages, drawn (pending) at the next frame.
    showing: StoredValue<Vec<ChatEntry>>,
    /// When received entries last joined the log (ms): within a frame of
    /// it, the next wait for the next frame.
    last_flush: StoredValue<f64>,
    /// How many entries the last batch applied (a flood: more than
    /// [`FLOOD_BATCH`]).
    last_batch: StoredValue<usize>,
    /// Whether a flood is on (see [`ChatContext::flooding`]), and when its
    /// last big batch came (ms).
    flood: RwSignal<bool>,
    last_flood: StoredValue<f64>,
    /// The connection (epoch) whose catch-up is done, so queued messages
    /// may go out on it; `None` while (re)connecting or catching up.
    live: StoredValue<Option<u64>>,
    /// Whether the connection in use has caught up with the room's
    /// history: the list is `aria-busy` until then (and tests wait on it).
    caught_up: RwSignal<bool>,
    locked: RwSignal<bool>,
    /// Paused by the server for sending too fast (part of `locked`).
    throttled: RwSignal<bool>,
    /// The lock as a moderator last set it (`None`: never told). It is the
    /// truth; a refused publish only says the socket is older than it.
    told: StoredValue<Option<bool>>,
    /// Encryption, in an E2EE room.
    crypt: Option<ChatCrypt>,
    /// The session cache, if there is one.
    persist: Option<PersistContext>,
    /// The participant list, whose names (from the server) win over the
    /// name a sender put in its payload.
    roster: Option<RosterContext>,
}

/// What the chat needs in an E2EE room: the keys, and whom to tell when a
/// sender's message does not open.
#[derive(Clone, Copy)]
pub struct ChatCrypt {
    /// The session's encryption.
    pub e2ee: E2eeContext,
    /// Called with the sender of a message that did not decrypt.
    pub undecryptable: Callback<UserId>,
}

impl ChatContext {
    /// The messages.
    pub fn log(&self) -> ReadSignal<ChatLog> {
        self.log.read_only()
    }

    /// Whether the connection in use has caught up with what was missed.
    pub fn caught_up(&self) -> ReadSignal<bool> {
        self.caught_up.read_only()
    }

    /// Whether a flood is on: more came in a batch than the list shows,
    /// and nobody reads that fast, so the list draws fewer meanwhile. It
    /// ends once no batch that big came for a while.
    pub fn flooding(&self) -> ReadSignal<bool> {
        self.flood.read_only()
    }

    /// Whether a moderator locked the chat for us.
    pub fn locked(&self) -> ReadSignal<bool> {
        self.locked.read_only()
    }

    /// Whether the server paused our chat for sending too fast.
    pub fn throttled(&self) -> ReadSignal<bool> {
        self.throttled.read_only()
    }

    /// The server paused our chat for sending too fast; a lock change
    /// (`LocksChanged`) ends the pause. nats-server refuses our chat
    /// meanwhile, so queued messages wait.
    pub fn throttle(&self) {
        self.throttled.try_set(true);
        self.set_locked(true);
    }

    /// Locks or unlocks sending (the server enforces it either way). A
    /// lock, unless it is only a pause for sending too fast, fails what
    /// waits to go out: it is shown "Not sent" until retried.
    pub fn set_locked(&self, locked: bool) {
        self.locked.try_set(locked);
        if locked && self.throttled.try_get_untracked() == Some(false) {
            self.fail_unsent();
        }
    }

    /// A moderator changed our lock (the server then moves us to a new
    /// socket with the new permissions). It applies at once: a message
    /// sent before the move is refused on the old socket and, being
    /// unconfirmed, goes out again on the new one.
    pub fn lock_changed(&self, locked: bool) {
        self.told.try_set_value(Some(locked));
        self.throttled.try_set(false);
        self.set_locked(locked);
        if !locked {
            self.flush_due();
        }
    }

    /// The session this chat belongs to.
    pub(crate) fn session(&self) -> Arc<Session> {
        self.session.get_value()
    }

    /// The connection it sends on.
    pub(crate) fn nats(&self) -> NatsClient {
        self.nats
    }

    /// Encryption, in an E2EE room.
    pub(crate) fn crypt(&self) -> Option<ChatCrypt> {
        self.crypt
    }

    /// The session cache, if there is one.
    pub(crate) fn persist(&self) -> Option<PersistContext> {
        self.persist
    }

    /// How far the message with `key` got, if it is ours (for its list
    /// item: only its own state changes).
    pub fn delivery(&self, key: &EntryKey) -> Signal<Delivery> {
        match self.marks.with_value(|m| m.get(key).cloned()) {
            Some(mark) => mark.into(),
            None => Signal::stored(Delivery::Sent),
        }
    }

    /// Clears the marks of `mine` (keys of our messages that just came
    /// back) that the log no longer holds pending.
    fn settle(&self, mine: Vec<EntryKey>) {
        if mine.is_empty() {
            return;
        }
        let log = self.log;
        self.marks.try_update_value(|marks| {
            log.with_untracked(|l| {
                for key in mine {
                    if !l.is_pending(&key) {
                        if let Some(mark) = marks.remove(&key) {
                            mark.set(Delivery::Sent);
                        }
                    }
                }
                // Pending messages the log let go of (only in a very long
                // outage): their marks go too, now and then.
                if marks.len() > MAX_LOG {
                    marks.retain(|k, _| l.is_pending(k));
                }
            })
        });
    }

    /// Number of our messages the server has not confirmed yet.
    pub fn unconfirmed(&self) -> usize {
        self.outbox.with_value(Outbox::len)
    }

    /// Adds a live entry (e.g. a system message) now, after whatever was
    /// received before it, unless its key is already present. Returns
    /// whether anything visible changed.
    pub fn add(&self, entry: ChatEntry) -> bool {
        self.flush_incoming();
        if entry.mine {
            self.confirm(&entry.id);
        }
        let mine = entry.mine.then(|| entry.key());
        let mut changed = false;
        self.log.maybe_update(|log| {
            changed = log.insert(entry, None);
            changed
        });
        self.settle(mine.into_iter().collect());
        changed
    }

    /// Rewrites the entry with `key` as `entry` in place (a line that grew).
    pub fn replace(&self, key: &EntryKey, entry: ChatEntry) {
        self.flush_incoming();
        self.log.try_update(|l| l.replace(key, entry));
    }

    /// A new connection is catching up: hold queued messages until
    /// [`Self::resume`], so that what it fetches can confirm them first.
    pub fn pause(&self) {
        self.live.try_set_value(None);
        // Refusals on the old socket are over; the new one starts afresh.
        self.dm_sent.try_update_value(VecDeque::clear);
        self.caught_up.try_set(false);
    }

    /// Connection `epoch` has caught up: send what is queued, in order.
    pub fn resume(&self, epoch: u64) {
        // What the catch-up fetched is shown before the list says so.
        self.flush_incoming();
        self.live.try_set_value(Some(epoch));
        self.caught_up.try_set(true);
        crate::perf::mark("chat-ready");
        self.flush_due();
    }
}

/// Starts collecting the room's chat into a log that outlives any single
/// chat widget, so nothing is missed between connecting and rendering.
pub fn provide_chat_context(
    session: Arc<Session>,
    nats: NatsClient,
    crypt: Option<ChatCrypt>,
    persist: Option<PersistContext>,
    roster: Option<RosterContext>,
) -> ChatContext {
    let ctx = ChatContext {
        log: RwSignal::new(ChatLog::new()),
        marks: StoredValue::new(HashMap::new()),
        nats,
        session: StoredValue::new(session.clone()),
        outbox: StoredValue::new(Outbox::new()),
        dm_sent: StoredValue::new(VecDeque::new()),
        private_unsent: StoredValue::new(Vec::new()),
        unreadable: StoredValue::new(VecDeque::new()),
        incoming: StoredValue::new(Vec::new()),
        showing: StoredValue::new(Vec::new()),
        last_flush: StoredValue::new(f64::NEG_INFINITY),
        last_batch: StoredValue::new(0),
        flood: RwSignal::new(false),
        last_flood: StoredValue::new(f64::NEG_INFINITY),
        live: StoredValue::new(None),
        caught_up: RwSignal::new(false),
        // Known from the join: a room locked before we came shows a locked
        // composer from the first frame.
        locked: RwSignal::new(session.join.locks.chat_locked()),
        throttled: RwSignal::new(false),
        told: StoredValue::new(None),
        crypt,
        persist,
        roster,
    };
    nats.set_handler(Sub::Chat, move |m| {
        ctx.receive_wire(&m.subject, &m.payload, None)
    });
    // A participant locked by the room's defaults is never told: it learns
    // from the refused publish. Once a moderator has said "unlocked", a
    // refusal only means this socket predates that, and the server is
    // moving us to a new one, where the refused message goes out again.
    let chat_subject = session.join.subjects.chat_publish.clone();
    nats.on_error(move |text| {
        let unlocked = ctx.told.try_get_value().flatten() == Some(false);
        if is_pub_denied(&text, &chat_subject) && !unlocked {
            ctx.set_locked(true);
        } else if let Some(subject) = denied_publish(&text) {
            ctx.private_refused(subject);
        }
    });
    if let Some(p) = persist {
        p.track_unsent(move || ctx.saved_unsent());
    }
    on_cleanup(move || nats.clear_handler(Sub::Chat));
    provide_context(ctx);
    ctx
}

/// The chat provided by [`provide_chat_context`].
pub fn use_chat() -> ChatContext {
    expect_context::<ChatContext>()
}
