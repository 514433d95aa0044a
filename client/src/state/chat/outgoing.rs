//! The sending side of the chat: a message of ours is checked, shown by
//! the next frame (pending), and written to the connection in the order
//! typed, sealed first in an E2EE room; what waits goes out when the
//! connection is back.

use leptos::prelude::*;
use quorum_shared::e2ee::Kind;
use quorum_shared::peer::{chat_len, ChatMessage, MAX_CHAT_LEN};

use super::incoming::in_frame_or_next_task;
use super::{now_ms, ChatContext, ChatEntry, Delivery, EntryKey, EntryKind, Sender};
use crate::join::Session;
use crate::util::random_id;

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

impl ChatContext {
    /// Shows `text` by the next frame (pending) and sends it now, or as
    /// soon as the connection is back; queued messages go out in the order
    /// typed.
    pub fn send(&self, text: &str) -> Result<Sent, SendChatError> {
        let text = checked_text(text, self.locked.get_untracked())?;
        let session = self.session.get_value();
        let join = &session.join;
        let (msg, entry) = own_message(&session, text, None);
        let id = msg.id.clone();
        self.show_at_frame(entry);
        match self.crypt {
            None => {
                self.outbox.update_value(|o| o.push(msg));
                self.unsent_changed(false);
            }
            Some(c) => {
                // Queued now; goes out once sealed, in order. By the frame
                // that draws it, it is sealed as a rule: that takes under a
                // millisecond, unless the key is still coming.
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

    /// Puts our new `entry` in the log as pending at the next frame, with
    /// the others sent before it: the soonest it can be seen anyway, and
    /// one update of the list for a burst. Drawn at once, it would be drawn
    /// just as the message crosses to the others and, on a busy machine,
    /// take the processor from the delivery.
    fn show_at_frame(&self, entry: ChatEntry) {
        let first = self.showing.try_update_value(|q| {
            q.push(entry);
            q.len() == 1
        });
        if first == Some(true) {
            let this = *self;
            // As for received ones: a frame draws a few itself, and more
            // in a task of their own right after it.
            request_animation_frame(move || {
                in_frame_or_next_task(this.showing.try_with_value(Vec::len), move || {
                    this.show_pending()
                });
            });
        }
    }

    /// Puts our new entries in the log as pending (an echo that came first
    /// already put one there, confirmed).
    fn show_pending(&self) {
        let Some(entries) = self.showing.try_update_value(std::mem::take) else {
            return;
        };
        let added = self.log.try_maybe_update(|log| {
            let added: Vec<EntryKey> = entries
                .into_iter()
                .filter_map(|e| {
                    let key = e.key();
                    log.push_pending(e).then_some(key)
                })
                .collect();
            (!added.is_empty(), added)
        });
        for key in added.into_iter().flatten() {
            self.set_mark(key, Delivery::Sending);
        }
    }

    /// Writes what is due on the live connection, in order, unless chat is
    /// locked.
    pub(super) fn flush_due(&self) {
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
