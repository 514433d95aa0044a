//! Lines in the chat about who came and went, from the participant list's
//! presence events once the chat has caught up (the history's replay at
//! joining, or after a reconnect, says nothing). A burst in a big room is
//! one line ("Ann, Bob and 3 others joined"), rewritten in place while it
//! is the newest in the chat.

use leptos::prelude::*;
pub use quorum_client_core::presence_lines::{went, Line, Went};

use crate::i18n::{td_string, Locale};
use crate::state::chat::{now_ms, ChatContext, ChatEntry, EntryKey, EntryKind, Sender};
use crate::state::participants::{RosterContext, RosterEvent};

/// Applies roster events to `roster` and says the comings and goings of
/// others in `chat`, in `locale`.
pub fn presence_sink(
    chat: ChatContext,
    roster: RosterContext,
    me: String,
    locale: Locale,
) -> Callback<RosterEvent> {
    // The line being written, and its entry's key.
    let current = StoredValue::new(None::<(Line, EntryKey)>);
    let counter = StoredValue::new(0u64);
    Callback::new(move |ev: RosterEvent| {
        let change = match &ev {
            RosterEvent::Presence {
                user_id,
                name,
                state,
                ..
            } if *user_id != me => {
                let before = roster
                    .roster()
                    .with_untracked(|r| r.get(user_id).map(|p| p.state));
                went(before, *state).map(|w| (w, name.clone()))
            }
            _ => None,
        };
        roster.apply(ev);
        let Some((w, name)) = change else {
            return;
        };
        if !chat.caught_up().get_untracked() {
            return;
        }
        let now = now_ms();
        let newest = chat.log().with_untracked(|l| l.last().map(|e| e.key()));
        let mut line = current.get_value();
        let grown = match &mut line {
            Some((l, key)) if Some(&*key) == newest.as_ref() => l.absorb(w, &name, now),
            _ => false,
        };
        counter.update_value(|n| *n += 1);
        // A new key for every wording: the list redraws an item only when
        // its key changes.
        let id = format!("~presence-{}", counter.get_value());
        if grown {
            if let Some((l, key)) = &mut line {
                let entry = entry_for(id, l, locale, now);
                let new_key = entry.key();
                chat.replace(key, entry);
                *key = new_key;
            }
        } else {
            let l = Line {
                went: w,
                names: vec![name],
                at_ms: now,
            };
            let entry = entry_for(id, &l, locale, now);
            line = Some((l, entry.key()));
            chat.add(entry);
        }
        current.set_value(line);
    })
}

/// The chat entry saying `line`.
fn entry_for(id: String, line: &Line, locale: Locale, now: u64) -> ChatEntry {
    ChatEntry {
        id,
        sender: Sender::System,
        name: String::new(),
        text: say(line, locale),
        shown_at_ms: now,
        mine: false,
        private_to: None,
        kind: EntryKind::Presence,
    }
}

/// "Bob joined", "Ann and Bob left", "Ann, Bob and 3 others joined".
fn say(line: &Line, locale: Locale) -> String {
    let (named, more) = line.shown();
    let joined = line.went == Went::Joined;
    match (named, more) {
        ([one], 0) if joined => td_string!(locale, presence.joined_one, name = one.as_str()),
        ([one], 0) => td_string!(locale, presence.left_one, name = one.as_str()),
        (names, 0) => {
            let (last, rest) = names
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
            let first = rest.join(", ");
            if joined {
                td_string!(
                    locale,
                    presence.joined_two,
                    first = first.as_str(),
                    last = last
                )
            } else {
                td_string!(
                    locale,
                    presence.left_two,
                    first = first.as_str(),
                    last = last
                )
            }
        }
        (names, count) => {
            let first = names.join(", ");
            if joined {
                td_string!(locale, presence.joined_many, first = first.as_str(), count)
            } else {
                td_string!(locale, presence.left_many, first = first.as_str(), count)
            }
        }
    }
}
