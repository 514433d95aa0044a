//! Consecutive messages from one sender read as one block: the name and
//! time are shown once, over the first of them. The list asks, per drawn
//! message, whether it continues the one before it in the log.

use std::borrow::Borrow;

use crate::chat_log::{ChatEntry, EntryKey, EntryKind};

/// How far apart (ms) two messages may be and still read as one block: a
/// pause longer than this starts a new one, with its own time.
pub const GROUP_GAP_MS: u64 = 5 * 60 * 1000;

/// Whether `next` continues `prev` (drawn right before it): both real
/// messages from the same sender, said the same way (both public, or both
/// private to the same person), and close in time. Lines standing for an
/// unreadable message or a presence change always stand alone, as does
/// what follows them.
pub fn continues(prev: &ChatEntry, next: &ChatEntry) -> bool {
    prev.kind == EntryKind::Message
        && next.kind == EntryKind::Message
        && prev.sender == next.sender
        && prev.mine == next.mine
        && prev.name == next.name
        && prev.private_to == next.private_to
        && next.shown_at_ms >= prev.shown_at_ms
        && next.shown_at_ms - prev.shown_at_ms <= GROUP_GAP_MS
}

/// One line of the drawn chat: the "New messages" divider, or a message
/// with whether it continues the one drawn before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row<T> {
    /// "New messages": what follows came while the reader was away.
    Divider,
    /// A message, and whether it continues its sender's run.
    Message(T, bool),
}

impl<T> Row<T> {
    /// The same row over `f` of its message.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Row<U> {
        match self {
            Row::Divider => Row::Divider,
            Row::Message(e, cont) => Row::Message(f(e), cont),
        }
    }
}

/// The lines to draw for `entries`, each message with whether it
/// continues the one before it ([`continues`]), and the divider before
/// the entry `divider` names. A run the divider cuts starts afresh below
/// it, with its name and time. The divider is a line of its own rather
/// than a part of every message, so a message is drawn without asking
/// whether it is the first new one.
///
/// `before` is the entry just before `entries` in the log, not drawn: the
/// first drawn continues it like any other, so a window sliding along the
/// log never has to draw a message again because it became the first. The
/// list shows the first drawn message's name and time however it groups.
pub fn rows<'a, T, I>(
    before: Option<&'a T>,
    entries: I,
    divider: Option<&EntryKey>,
) -> Vec<Row<&'a T>>
where
    T: Borrow<ChatEntry> + 'a,
    I: IntoIterator<Item = &'a T>,
{
    let is_first_new =
        |e: &ChatEntry| divider.is_some_and(|(system, id)| e.is_system() == *system && e.id == *id);
    let mut prev: Option<&ChatEntry> = before.map(Borrow::borrow);
    let mut out = Vec::new();
    for e in entries {
        let entry: &ChatEntry = e.borrow();
        if is_first_new(entry) {
            out.push(Row::Divider);
            out.push(Row::Message(e, false));
        } else {
            let cont = prev.is_some_and(|p| continues(p, entry));
            out.push(Row::Message(e, cont));
        }
        prev = Some(entry);
    }
    out
}

/// The classes of a drawn message's `<li>` that never change:
/// `chat-message`, then `mine`, `continued`, `system`, `private` and
/// `unreadable` as they apply. One attribute, set once: only how far one
/// of ours got (`pending`, `not-sent`) is watched, and only on ours.
pub fn item_class(e: &ChatEntry, continued: bool) -> String {
    let mut class = String::from("chat-message");
    for (name, on) in [
        ("mine", e.mine),
        ("continued", continued),
        ("system", e.is_system()),
        ("private", e.private_to.is_some()),
        ("unreadable", e.kind == EntryKind::Unreadable),
    ] {
        if on {
            class.push(' ');
            class.push_str(name);
        }
    }
    class
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_log::Sender;
    use quorum_shared::ids::UserId;

    fn msg(from: &str, at_s: u64) -> ChatEntry {
        ChatEntry {
            id: format!("{from}-{at_s}"),
            sender: Sender::User(UserId::parse(from).expect("user id")),
            name: from.to_uppercase(),
            text: "hi".into(),
            shown_at_ms: at_s * 1000,
            mine: false,
            private_to: None,
            kind: EntryKind::Message,
        }
    }

    fn flags(entries: &[ChatEntry]) -> Vec<bool> {
        rows(None, entries, None)
            .into_iter()
            .map(|r| matches!(r, Row::Message(_, true)))
            .collect()
    }

    #[test]
    fn one_senders_run_is_one_block_until_someone_else_speaks() {
        let log = [
            msg("ann", 0),
            msg("ann", 10),
            msg("bob", 20),
            msg("ann", 30),
        ];
        assert_eq!(flags(&log), [false, true, false, false]);
    }

    #[test]
    fn a_long_pause_starts_a_new_block() {
        let gap = GROUP_GAP_MS / 1000;
        let log = [msg("ann", 0), msg("ann", gap), msg("ann", 2 * gap + 1)];
        assert_eq!(flags(&log), [false, true, false]);
    }

    #[test]
    fn private_messages_unreadable_lines_and_renames_stand_apart() {
        let private = ChatEntry {
            private_to: Some("Bob".into()),
            ..msg("ann", 1)
        };
        let unreadable = ChatEntry {
            kind: EntryKind::Unreadable,
            ..msg("ann", 2)
        };
        let renamed = ChatEntry {
            name: "Annie".into(),
            ..msg("ann", 4)
        };
        let system = ChatEntry {
            sender: Sender::System,
            ..msg("ann", 5)
        };
        let log = [
            msg("ann", 0),
            private,
            unreadable,
            msg("ann", 3),
            renamed,
            system,
        ];
        assert_eq!(flags(&log), [false; 6]);
    }

    #[test]
    fn the_divider_is_a_line_of_its_own_and_cuts_a_run() {
        let log = [msg("ann", 0), msg("ann", 10), msg("ann", 20)];
        let drawn = |divider: Option<&EntryKey>| -> Vec<Row<&str>> {
            rows(None, &log, divider)
                .into_iter()
                .map(|r| r.map(|e| e.id.as_str()))
                .collect()
        };
        assert_eq!(
            drawn(Some(&log[1].key())),
            [
                Row::Message("ann-0", false),
                Row::Divider,
                Row::Message("ann-10", false),
                Row::Message("ann-20", true),
            ]
        );
        // None, or a key not drawn: no divider, the run whole.
        let whole = [
            Row::Message("ann-0", false),
            Row::Message("ann-10", true),
            Row::Message("ann-20", true),
        ];
        assert_eq!(drawn(None), whole);
        assert_eq!(drawn(Some(&(false, "gone".into()))), whole);
        // A system message with the same id is another entry.
        assert_eq!(drawn(Some(&(true, "ann-10".into()))), whole);
    }

    #[test]
    fn the_first_drawn_continues_the_entry_before_it() {
        let log = [msg("ann", 0), msg("ann", 10), msg("bob", 20)];
        let drawn: Vec<Row<&str>> = rows(Some(&log[0]), &log[1..], None)
            .into_iter()
            .map(|r| r.map(|e| e.id.as_str()))
            .collect();
        assert_eq!(
            drawn,
            [Row::Message("ann-10", true), Row::Message("bob-20", false)]
        );
    }

    #[test]
    fn out_of_order_times_never_join() {
        let log = [msg("ann", 100), msg("ann", 50)];
        assert_eq!(flags(&log), [false, false]);
    }

    #[test]
    fn an_item_class_names_what_applies_in_a_fixed_order() {
        let plain = msg("ann", 1);
        assert_eq!(item_class(&plain, false), "chat-message");
        let mine_private = ChatEntry {
            mine: true,
            private_to: Some("Ben".into()),
            ..msg("ann", 2)
        };
        assert_eq!(
            item_class(&mine_private, true),
            "chat-message mine continued private"
        );
        let system = ChatEntry {
            sender: Sender::System,
            ..msg("ann", 3)
        };
        assert_eq!(item_class(&system, false), "chat-message system");
        let unreadable = ChatEntry {
            kind: EntryKind::Unreadable,
            ..msg("ann", 4)
        };
        assert_eq!(item_class(&unreadable, false), "chat-message unreadable");
    }
}
