//! Consecutive messages from one sender read as one block: the name and
//! time are shown once, over the first of them. The list asks, per drawn
//! message, whether it continues the one drawn just before it.

use std::borrow::Borrow;

use crate::chat_log::{ChatEntry, EntryKind};

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

/// Pairs each entry with whether it continues the one before it in the
/// same run (the first never does: it is drawn with its header).
pub fn grouped<'a, T, I>(entries: I) -> Vec<(&'a T, bool)>
where
    T: Borrow<ChatEntry> + 'a,
    I: IntoIterator<Item = &'a T>,
{
    let mut out: Vec<(&T, bool)> = Vec::new();
    for e in entries {
        let cont = out
            .last()
            .is_some_and(|(p, _)| continues((*p).borrow(), e.borrow()));
        out.push((e, cont));
    }
    out
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
        grouped(entries).into_iter().map(|(_, c)| c).collect()
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
    fn out_of_order_times_never_join() {
        let log = [msg("ann", 100), msg("ann", 50)];
        assert_eq!(flags(&log), [false, false]);
    }
}
