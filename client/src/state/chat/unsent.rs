//! Our messages the server has not confirmed: shown "Sending…" while
//! they wait, "Not sent" once refused (a chat lock), with Retry and
//! Discard; kept in the session cache either way, so a reload loses none.
//!
//! Public chat is refused as a whole: a lock fails everything queued.
//! Private chat is written at once and never echoed, so a refusal is
//! matched to what it refers to: nats-server answers PUBs in the order
//! they were written, and a socket refuses from its first PUB on (a lock
//! moves us to a new socket), so the oldest private message written to
//! that subject on this socket is the one refused.

use leptos::prelude::*;
use quorum_client_core::outbox::Unsent;
use quorum_shared::e2ee::{dm_party, Kind};
use quorum_shared::peer::ChatMessage;
use quorum_shared::subjects;

use super::{accept_incoming, accept_incoming_private, now_ms, ChatContext, ChatEntry, Delivery};
use crate::state::chat_log::EntryKey;
use crate::state::persist::SavedUnsent;

/// Private messages remembered per socket for matching refusals: more
/// than anyone sends between a lock and its refusal.
const MAX_DM_SENT: usize = 32;
/// Unconfirmed messages the session cache keeps at most (the newest).
const MAX_SAVED: usize = 500;

/// What someone does with a message that was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsentAction {
    /// Send it again.
    Retry,
    /// Forget it.
    Discard,
}

/// A private message as written, so that it can be shown "Not sent",
/// kept, and written again.
#[derive(Debug, Clone)]
pub(crate) struct PrivateOut {
    /// The message's id.
    pub id: String,
    /// `qr.{room}.dm.{to}.{me}`.
    pub subject: String,
    /// What was written.
    pub wire: Vec<u8>,
    /// The recipient's name as shown.
    pub to_name: String,
}

impl ChatContext {
    /// Sets how far our message `key` got, as its list item shows it.
    pub(super) fn set_mark(&self, key: EntryKey, d: Delivery) {
        self.marks.try_update_value(|m| {
            if d == Delivery::Sent {
                if let Some(mark) = m.remove(&key) {
                    mark.set(d);
                }
            } else if let Some(mark) = m.get(&key) {
                mark.set(d);
            } else {
                m.insert(key, ArcRwSignal::new(d));
            }
        });
    }

    /// The server has our message `id` (its echo, or the room's history).
    pub(super) fn confirm(&self, id: &str) {
        if self.outbox.try_update_value(|o| o.confirm(id)) == Some(true) {
            self.unsent_changed(false);
        }
    }

    /// Our unconfirmed chat changed; the cache keeps it (see
    /// [`crate::state::persist::PersistContext::unsent_changed`]).
    pub(super) fn unsent_changed(&self, now: bool) {
        if let Some(p) = self.persist {
            p.unsent_changed(now);
        }
    }

    /// A lock: whatever waits to go out is refused, and shown so.
    pub(super) fn fail_unsent(&self) {
        let failed = self.outbox.try_update_value(|o| o.fail_all());
        let Some(ids) = failed.filter(|f| !f.is_empty()) else {
            return;
        };
        for id in ids {
            self.set_mark((false, id), Delivery::NotSent);
        }
        self.unsent_changed(true);
    }

    /// Remembers private message `out`, just written, for a refusal.
    pub(crate) fn private_written(&self, out: PrivateOut) {
        self.dm_sent.try_update_value(|q| {
            q.push_back(out);
            if q.len() > MAX_DM_SENT {
                q.pop_front();
            }
        });
    }

    /// nats-server refused a PUB to `subject`: if it is a private message
    /// of ours, the oldest written there on this socket is not sent.
    pub(super) fn private_refused(&self, subject: &str) {
        let refused = self.dm_sent.try_update_value(|q| {
            let at = q.iter().position(|o| o.subject == subject)?;
            q.remove(at)
        });
        let Some(out) = refused.flatten() else {
            return;
        };
        self.set_mark((false, out.id.clone()), Delivery::NotSent);
        self.private_unsent.try_update_value(|p| p.push(out));
        self.unsent_changed(true);
    }

    /// Retries or discards our message `key`, shown "Not sent".
    pub fn unsent(&self, key: &EntryKey, action: UnsentAction) {
        if action == UnsentAction::Retry && self.locked.get_untracked() {
            // It would only wait: the item offers Retry once unlocked.
            return;
        }
        let id = key.1.as_str();
        let private = self.private_unsent.try_update_value(|p| {
            let at = p.iter().position(|o| o.id == id)?;
            Some(p.remove(at))
        });
        match (action, private.flatten()) {
            (UnsentAction::Discard, _) => {
                self.outbox.try_update_value(|o| o.discard(id));
                self.log.try_update(|l| l.remove(key));
                self.set_mark(key.clone(), Delivery::Sent);
            }
            (UnsentAction::Retry, Some(out)) => {
                // Out at once, or refused again just as before.
                let written = self.nats.publish(&out.subject, &out.wire).is_ok();
                if written {
                    self.set_mark(key.clone(), Delivery::Sent);
                    self.private_written(out);
                } else {
                    self.private_unsent.try_update_value(|p| p.push(out));
                }
            }
            (UnsentAction::Retry, None) => {
                if self.outbox.try_update_value(|o| o.retry(id)) == Some(true) {
                    self.set_mark(key.clone(), Delivery::Sending);
                    self.flush_due();
                }
            }
        }
        self.unsent_changed(true);
    }

    /// What the session cache keeps of our unconfirmed chat.
    pub(super) fn saved_unsent(&self) -> Option<Vec<SavedUnsent>> {
        let public = self
            .session
            .try_with_value(|s| s.join.subjects.chat_publish.clone())?;
        let queued = self.outbox.try_with_value(|o| o.saved(MAX_SAVED))?;
        let mut out: Vec<SavedUnsent> = queued
            .into_iter()
            .map(|Unsent { id, wire, failed }| SavedUnsent {
                id,
                subject: public.clone(),
                wire,
                failed,
                to_name: None,
            })
            .collect();
        self.private_unsent.try_with_value(|p| {
            out.extend(p.iter().map(|o| SavedUnsent {
                id: o.id.clone(),
                subject: o.subject.clone(),
                wire: o.wire.clone(),
                failed: true,
                to_name: Some(o.to_name.clone()),
            }))
        })?;
        Some(out)
    }

    /// Puts back what the session cache kept: each is opened like one
    /// received (decrypted in an E2EE room) and shown again as it was,
    /// unless the chat restored meanwhile shows it was sent after all.
    pub fn restore_unsent(&self, saved: Vec<SavedUnsent>) {
        for s in saved {
            let this = *self;
            let (party, kind) = match subjects::parse_dm(&s.subject) {
                Some((_, to, from)) => (dm_party(from.as_str(), to.as_str()), Kind::PrivateChat),
                None => (self.session().join.user_id.to_string(), Kind::Chat),
            };
            let Some(c) = self.crypt else {
                let wire = s.wire.clone();
                this.put_back(s, &wire);
                continue;
            };
            let wire = s.wire.clone();
            c.e2ee.open(party, kind, wire, move |plain| match plain {
                Some(p) => this.put_back(s, &p),
                None => web_sys::console::warn_1(&"chat: a kept message did not open".into()),
            });
        }
    }

    fn put_back(&self, s: SavedUnsent, plain: &[u8]) {
        let session = self.session();
        let join = &session.join;
        let entry = match &s.to_name {
            None => accept_incoming(&join.room_id, &join.user_id, &s.subject, plain, now_ms()),
            Some(name) => accept_incoming_private(&join.user_id, plain, now_ms()).map(|mut e| {
                e.mine = true;
                e.private_to = Some(name.clone());
                e
            }),
        };
        let entry: ChatEntry = match entry {
            Ok(e) if e.id == s.id => e,
            _ => return web_sys::console::warn_1(&"chat: a kept message is not ours".into()),
        };
        let key = entry.key();
        let msg = ChatMessage {
            id: entry.id.clone(),
            name: entry.name.clone(),
            text: entry.text.clone(),
            sent_at_ms: entry.shown_at_ms,
        };
        self.flush_incoming();
        // Private ones are never echoed, so never pending in the log: the
        // mark alone says they were not sent.
        let private = s.to_name.is_some();
        let shown = self.log.try_update(|l| {
            if private {
                l.insert(entry, None)
            } else {
                l.push_pending(entry)
            }
        });
        // A public one already shown was sent after all. A private one is
        // cached as written, refused or not, so it shows either way.
        if shown.is_none() || (shown == Some(false) && !private) {
            return;
        }
        let failed = s.failed;
        self.set_mark(
            key,
            if failed {
                Delivery::NotSent
            } else {
                Delivery::Sending
            },
        );
        match s.to_name {
            None => {
                self.outbox
                    .try_update_value(|o| o.restore(msg, s.wire, failed));
                self.flush_due();
            }
            Some(to_name) => {
                self.private_unsent.try_update_value(|p| {
                    p.push(PrivateOut {
                        id: s.id,
                        subject: s.subject,
                        wire: s.wire,
                        to_name,
                    })
                });
            }
        }
    }
}
