//! The receiving side of the chat: what arrives (live, from the room's
//! history or from the session cache) is opened in an E2EE room, checked,
//! and joins the log in batches, never one reactive update per message.

use leptos::prelude::*;
use quorum_shared::e2ee::Kind;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;

use super::{accept_incoming, now_ms, ChatContext, ChatEntry, Sender};
use crate::cache::ChatRecord;
use crate::state::persist::chat_key;
use crate::util::next_task;

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
/// A flood is over once no batch bigger than [`FLOOD_BATCH`] came for this
/// long (twice the time between a flood's batches).
const FLOOD_QUIET: std::time::Duration = std::time::Duration::from_millis(500);
/// Received entries a frame takes in itself. More go in by a task of their
/// own just after the frame: the browser's rendering step, which lays out
/// and paints whatever changed, must not also build a screenful of items,
/// or together they make one long task that holds up input.
pub(crate) const FRAME_BATCH: usize = 12;

/// Runs `f` now, at a frame, for up to [`FRAME_BATCH`] entries `waiting`;
/// for more, in a task of its own right after the frame.
pub(super) fn in_frame_or_next_task(waiting: Option<usize>, f: impl FnOnce() + 'static) {
    if waiting.unwrap_or(0) > FRAME_BATCH {
        next_task(f);
    } else {
        f();
    }
}

impl ChatContext {
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
        let this = *self;
        in_frame_or_next_task(self.incoming.try_with_value(Vec::len), move || {
            this.flush_incoming()
        });
    }

    /// Puts every received entry waiting into the log, in one update.
    pub fn flush_incoming(&self) {
        let batch = self.incoming.try_update_value(std::mem::take);
        let Some(batch) = batch.filter(|b| !b.is_empty()) else {
            return;
        };
        let now = js_sys::Date::now();
        self.last_flush.try_set_value(now);
        self.last_batch.try_set_value(batch.len());
        if batch.len() > FLOOD_BATCH {
            self.last_flood.try_set_value(now);
            if self.flood.try_get_untracked() == Some(false) {
                self.flood.set(true);
                self.end_flood_when_quiet();
            }
        }
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

    /// Ends the flood once no batch that big came for [`FLOOD_QUIET`] (one
    /// timer at a time while it lasts).
    fn end_flood_when_quiet(&self) {
        let this = *self;
        set_timeout(
            move || {
                let Some(last) = this.last_flood.try_get_value() else {
                    return;
                };
                if js_sys::Date::now() - last >= FLOOD_QUIET.as_millis() as f64 {
                    this.flood.try_set(false);
                } else {
                    this.end_flood_when_quiet();
                }
            },
            FLOOD_QUIET,
        );
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
}
