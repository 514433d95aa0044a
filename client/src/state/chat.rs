//! Public chat: the context that ties the log ([`ChatLog`]) and the queue of unconfirmed messages
//! ([`Outbox`]) to NATS. System messages (`broadcastToRoom`) join the same
//! log through [`ChatContext::add`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::e2ee::Kind;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::{chat_len, ChatMessage, MAX_CHAT_LEN};
use quorum_shared::subjects;

use crate::cache::ChatRecord;
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
use crate::state::persist::{chat_key, PersistContext};
use crate::util::random_id;

mod unreadable;
mod unsent;
use unreadable::Unreadable;
pub(crate) use unsent::PrivateOut;
pub use unsent::UnsentAction;

/// Why a message could not be sent. The composer keeps the text.
#[derive(Debug, thiserror::Error)]
pub enum SendChatError {
    /// Nothing but whitespace.
    #[error("the message is empty")]
    Empty,
    /// Over [`MAX_CHAT_LEN`] characters.
    #[error("the message is too long")]
    TooLong,
    /// A moderator locked the chat for this participant.
    #[error("chat is locked")]
    Locked,
    /// Private messages are not queued: they need a connection now.
    #[error("not connected")]
    Offline,
}

/// The text to send, trimmed, or why it can't be sent.
pub(crate) fn checked_text(text: &str, locked: bool) -> Result<&str, SendChatError> {
    // Surrounding blank lines are accidents; leading spaces may be
    // deliberate indentation.
    let text = text.trim_end().trim_start_matches(['\r', '\n']);
    if text.is_empty() {
        return Err(SendChatError::Empty);
    }
    if chat_len(text) > MAX_CHAT_LEN {
        return Err(SendChatError::TooLong);
    }
    if locked {
        return Err(SendChatError::Locked);
    }
    Ok(text)
}

/// How a message was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Written to the connection; shown pending until echoed.
    Now,
    /// Queued until the connection is back; shown pending meanwhile.
    Queued,
}

/// A new message of ours with `text`, and how we show it (to
/// `private_to`, for a private one).
pub(crate) fn own_message(
    session: &Session,
    text: &str,
    private_to: Option<String>,
) -> (ChatMessage, ChatEntry) {
    let join = &session.join;
    let msg = ChatMessage {
        id: random_id(),
        name: join.name.clone(),
        text: text.to_string(),
        sent_at_ms: now_ms(),
    };
    let entry = ChatEntry {
        id: msg.id.clone(),
        sender: Sender::User(join.user_id.clone()),
        name: msg.name.clone(),
        text: msg.text.clone(),
        shown_at_ms: msg.sent_at_ms,
        mine: true,
        private_to,
        kind: EntryKind::Message,
    };
    (msg, entry)
}

/// Received entries waiting for the next frame beyond this are applied at
/// once (a bound on the queue, whatever arrives).
const MAX_INCOMING: usize = 5000;
/// Received entries within this long (ms) of the last applied wait for
/// the next frame; after a quiet spell they are applied at once.
const BUSY_MS: f64 = 16.0;
/// How soon received entries are applied when no frame comes (hidden tab).
const HIDDEN_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);
/// A batch bigger than this is a flood: more than the list shows at once
/// arrived within a frame, and nobody reads that fast.
const FLOOD_BATCH: usize = 60;
/// During a flood the list takes in what arrived this often instead of
/// every frame, so most frames are left for the browser to draw and for
/// input (the newest are still shown within this time).
const FLOOD_FLUSH: std::time::Duration = std::time::Duration::from_millis(250);
/// Received entries a frame takes in itself. More go in by a task of their
/// own just after the frame: the browser's rendering step, which lays out
/// and paints whatever changed, must not also build a screenful of items,
/// or together they make one long task that holds up input.
const FRAME_BATCH: usize = 12;

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
    /// When received entries last joined the log (ms): within a frame of
    /// it, the next wait for the next frame.
    last_flush: StoredValue<f64>,
    /// How many entries the last batch applied (a flood: more than
    /// [`FLOOD_BATCH`]).
    last_batch: StoredValue<usize>,
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

    /// Shows `text` at once (pending) and sends it now, or as soon as the
    /// connection is back; queued messages go out in the order typed.
    pub fn send(&self, text: &str) -> Result<Sent, SendChatError> {
        let text = checked_text(text, self.locked.get_untracked())?;
        let session = self.session.get_value();
        let join = &session.join;
        let (msg, entry) = own_message(&session, text, None);
        let key = entry.key();
        if self.log.try_update(|log| log.push_pending(entry)) == Some(true) {
            self.set_mark(key, Delivery::Sending);
        }
        let id = msg.id.clone();
        match self.crypt {
            None => {
                self.outbox.update_value(|o| o.push(msg));
                self.unsent_changed(false);
            }
            Some(c) => {
                // Shown and queued now; goes out once sealed, in order.
                let me = join.user_id.clone();
                self.outbox.update_value(|o| o.push_unsealed(msg.clone()));
                let this = *self;
                wasm_bindgen_futures::spawn_local(async move {
                    match c.e2ee.seal(me.as_str(), Kind::Chat, &msg.encode()).await {
                        Ok(wire) => {
                            this.outbox.try_update_value(|o| o.sealed(&msg.id, wire));
                            this.unsent_changed(false);
                            this.flush_due();
                        }
                        Err(e) => {
                            // Never let one failure hold back the others.
                            web_sys::console::error_1(
                                &format!("chat: could not encrypt: {e}").into(),
                            );
                            this.outbox.try_update_value(|o| o.confirm(&msg.id));
                            this.flush_due();
                        }
                    }
                });
            }
        }
        self.flush_due();
        // Still queued but no longer due on the live connection: written.
        // In an E2EE room it goes out as soon as it is sealed, which is
        // only a moment away when the connection is live.
        let written = self.live.get_value().is_some_and(|epoch| {
            self.crypt.is_some() || !self.outbox.with_value(|o| o.is_due(epoch, &id))
        });
        Ok(if written { Sent::Now } else { Sent::Queued })
    }

    /// Takes a received entry: live (`seq` `None`) or from the room's
    /// history. A copy of one of ours confirms it at once; the entry joins
    /// the log with the others of this frame ([`Self::flush_incoming`]).
    pub fn receive(&self, entry: ChatEntry, seq: Option<u64>) {
        if entry.mine {
            self.confirm(&entry.id);
        }
        let queued = self.incoming.try_update_value(|q| {
            q.push((entry, seq));
            q.len()
        });
        match queued {
            Some(n) if n >= MAX_INCOMING => self.flush_incoming(),
            Some(1) => {
                let this = *self;
                let idle = self
                    .last_flush
                    .try_get_value()
                    .is_some_and(|t| js_sys::Date::now() - t > BUSY_MS);
                let flood = self
                    .last_batch
                    .try_get_value()
                    .is_some_and(|n| n > FLOOD_BATCH);
                if idle {
                    // A message after a quiet spell shows at once (with
                    // whatever came in the same task).
                    queue_microtask(move || this.flush_incoming());
                } else if flood {
                    set_timeout(move || this.flush_incoming(), FLOOD_FLUSH);
                } else {
                    // Many in a row: together, once per frame.
                    request_animation_frame(move || this.flush_in_frame());
                    // A hidden tab gets no frames, but its unread count (in
                    // the title) still needs the messages.
                    set_timeout(move || this.flush_incoming(), HIDDEN_FLUSH);
                }
            }
            _ => {}
        }
    }

    /// Takes in what waits at a frame: a few at once, more in a task of
    /// their own right after it ([`FRAME_BATCH`]).
    fn flush_in_frame(&self) {
        if self.incoming.try_with_value(Vec::len).unwrap_or(0) > FRAME_BATCH {
            let this = *self;
            set_timeout(move || this.flush_incoming(), std::time::Duration::ZERO);
        } else {
            self.flush_incoming();
        }
    }

    /// Puts every received entry waiting into the log, in one update.
    pub fn flush_incoming(&self) {
        let batch = self.incoming.try_update_value(std::mem::take);
        let Some(batch) = batch.filter(|b| !b.is_empty()) else {
            return;
        };
        self.last_flush.try_set_value(js_sys::Date::now());
        self.last_batch.try_set_value(batch.len());
        let mut mine = Vec::new();
        self.log.maybe_update(|log| {
            batch.into_iter().fold(false, |changed, (entry, seq)| {
                if entry.mine {
                    mine.push(entry.key());
                }
                log.insert(entry, seq) | changed
            })
        });
        self.settle(mine);
    }

    /// Takes a chat message as received on `subject` (live, or stored
    /// with `seq`): decrypted first in an E2EE room, with the sender from
    /// the subject in the AAD.
    pub fn receive_wire(&self, subject: &str, payload: &[u8], seq: Option<u64>) {
        self.take_wire(subject, payload, seq, true);
    }

    /// Like [`Self::receive_wire`], for a message restored from the
    /// session cache (so not written back to it).
    pub fn restore_wire(&self, subject: &str, payload: &[u8], seq: Option<u64>) {
        self.take_wire(subject, payload, seq, false);
    }

    fn take_wire(&self, subject: &str, payload: &[u8], seq: Option<u64>, keep: bool) {
        let (room, me) = self
            .session
            .with_value(|s| (s.join.room_id.clone(), s.join.user_id.clone()));
        let wire = payload.to_vec();
        let Some(c) = self.crypt else {
            return self.accept(&room, &me, subject, payload, seq, keep.then_some(wire));
        };
        let Some((_, sender)) = subjects::parse_chat(subject) else {
            return web_sys::console::warn_1(
                &format!("chat: not a chat subject: {subject}").into(),
            );
        };
        let (this, subject) = (*self, subject.to_string());
        c.e2ee.open(
            sender.to_string(),
            Kind::Chat,
            wire.clone(),
            move |plain| match plain {
                Some(p) => {
                    c.e2ee.decrypted(sender.as_str());
                    this.accept(&room, &me, &subject, &p, seq, keep.then_some(wire))
                }
                None => {
                    c.undecryptable.try_run(sender.clone());
                    this.unreadable(sender, subject, wire, seq);
                }
            },
        );
    }

    /// Shows an opened message and, given its `wire` bytes, keeps them in
    /// the session cache (ciphertext in an E2EE room, never the plaintext).
    fn accept(
        &self,
        room: &RoomId,
        me: &UserId,
        subject: &str,
        payload: &[u8],
        seq: Option<u64>,
        wire: Option<Vec<u8>>,
    ) {
        match accept_incoming(room, me, subject, payload, now_ms()) {
            Ok(entry) => {
                if let Some(wire) = wire {
                    self.record(subject, &entry.id, seq, wire);
                }
                self.receive(self.named(entry), seq);
            }
            Err(e) => web_sys::console::warn_1(&format!("chat: dropped a message: {e}").into()),
        }
    }

    /// Keeps a received message's `wire` bytes in the session cache.
    pub(crate) fn record(&self, subject: &str, id: &str, seq: Option<u64>, wire: Vec<u8>) {
        if let Some(p) = self.persist {
            p.record_chat(ChatRecord {
                id: chat_key(subject, id),
                seq,
                subject: subject.to_string(),
                payload: wire,
                received_ms: now_ms(),
            });
        }
    }

    /// `entry` with its sender's name as the server knows it, when the
    /// participant list has them: the payload's name is the sender's own
    /// claim, and could be anybody's.
    pub(crate) fn named(&self, mut entry: ChatEntry) -> ChatEntry {
        if let (Sender::User(u), Some(r)) = (&entry.sender, self.roster) {
            if let Some(name) = r
                .roster()
                .try_with_untracked(|r| r.get(u.as_str()).map(|p| p.name.clone()))
                .flatten()
            {
                entry.name = name;
            }
        }
        entry
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

    fn flush_due(&self) {
        let Some(Some(epoch)) = self.live.try_get_value() else {
            return;
        };
        if self.locked.get_untracked() {
            return;
        }
        let subject = self
            .session
            .with_value(|s| s.join.subjects.chat_publish.clone());
        for (id, wire) in self.outbox.with_value(|o| o.due_wire(epoch)) {
            match self.nats.publish(&subject, &wire) {
                Ok(()) => self.outbox.update_value(|o| o.mark_sent(&id, epoch)),
                // Keep the order: nothing after a failed one goes out.
                Err(e) => {
                    web_sys::console::warn_1(&format!("chat: held back: {e}").into());
                    break;
                }
            }
        }
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
        last_flush: StoredValue::new(f64::NEG_INFINITY),
        last_batch: StoredValue::new(0),
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
