//! Messages that did not decrypt here (an E2EE room, probably a different
//! key): each shows as a placeholder naming its sender, so nobody's words
//! vanish without a trace, and is kept (the newest few hundred) to be
//! opened again once the key is typed anew.

use leptos::prelude::*;
use quorum_shared::e2ee::{dm_party, Kind, IV_LEN};
use quorum_shared::ids::UserId;
use quorum_shared::subjects;

use super::{
    accept_incoming, accept_incoming_private, now_ms, ChatContext, ChatEntry, EntryKey, EntryKind,
    Sender,
};

/// Undecryptable messages kept for another try.
const MAX_UNREADABLE: usize = 500;

/// One message that did not open, as received.
pub(crate) struct Unreadable {
    subject: String,
    wire: Vec<u8>,
    seq: Option<u64>,
    /// Its placeholder in the log.
    key: EntryKey,
}

/// The placeholder's id: the sender and the envelope's IV (unique per
/// message), so the same message received twice (live and from history)
/// shows once.
fn placeholder_id(sender: &UserId, wire: &[u8]) -> String {
    let iv = wire.get(1..=IV_LEN).unwrap_or(wire);
    let hex: String = iv.iter().map(|b| format!("{b:02x}")).collect();
    format!("~{sender}~{hex}")
}

impl ChatContext {
    /// `sender`'s message on `subject` (public chat, or a private message
    /// to us) did not decrypt: shown as a placeholder, and kept for
    /// [`Self::retry_unreadable`].
    pub(crate) fn unreadable(
        &self,
        sender: UserId,
        subject: String,
        wire: Vec<u8>,
        seq: Option<u64>,
    ) {
        let entry = ChatEntry {
            id: placeholder_id(&sender, &wire),
            name: sender.to_string(),
            sender: Sender::User(sender),
            text: String::new(),
            shown_at_ms: now_ms(),
            mine: false,
            // A private one looks private, so nobody answers it in public.
            private_to: subjects::parse_dm(&subject).map(|_| "you".to_string()),
            kind: EntryKind::Unreadable,
        };
        let key = entry.key();
        let known = self
            .unreadable
            .try_with_value(|u| u.iter().any(|x| x.key == key))
            .unwrap_or(true);
        if !known {
            self.keep_unreadable(Unreadable {
                subject,
                wire,
                seq,
                key,
            });
        }
        self.receive(self.named(entry), seq);
    }

    /// The key was typed anew: every kept message that did not decrypt
    /// is opened again, and one that opens takes its placeholder's place
    /// (one that still does not stays as it is, kept for another try).
    pub fn retry_unreadable(&self) {
        let Some(c) = self.crypt else {
            return;
        };
        let kept = self
            .unreadable
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        for u in kept {
            let Some((party, kind, sender)) = opener(&u.subject) else {
                continue;
            };
            let this = *self;
            let wire = u.wire.clone();
            c.e2ee.open(party, kind, wire, move |plain| {
                let Some(p) = plain else {
                    return this.keep_unreadable(u);
                };
                c.e2ee.decrypted(sender.as_str());
                let session = this.session();
                let join = &session.join;
                let entry = if kind == Kind::PrivateChat {
                    accept_incoming_private(&sender, &p, now_ms())
                } else {
                    accept_incoming(&join.room_id, &join.user_id, &u.subject, &p, now_ms())
                };
                match entry {
                    Ok(entry) => {
                        this.record(&u.subject, &entry.id, u.seq, u.wire);
                        let entry = this.named(entry);
                        this.log.try_update(|l| l.replace(&u.key, entry));
                    }
                    Err(e) => web_sys::console::warn_1(&format!("chat: dropped: {e}").into()),
                }
            });
        }
    }

    fn keep_unreadable(&self, u: Unreadable) {
        self.unreadable.try_update_value(|list| {
            list.push_back(u);
            if list.len() > MAX_UNREADABLE {
                list.pop_front();
            }
        });
    }
}

/// How a kept message on `subject` is opened: the party its envelope names,
/// its kind, and its sender.
fn opener(subject: &str) -> Option<(String, Kind, UserId)> {
    if let Some((_, to, from)) = subjects::parse_dm(subject) {
        return Some((
            dm_party(from.as_str(), to.as_str()),
            Kind::PrivateChat,
            from,
        ));
    }
    let (_, sender) = subjects::parse_chat(subject)?;
    Some((sender.to_string(), Kind::Chat, sender))
}
