//! What counts as new to a reader of the chat: someone else's message (or
//! the line standing for one that did not decrypt), never our own and
//! never a line this page wrote about who came or went. The unread count
//! in the tab's title, the "New messages" divider and the phone's Chat tab
//! all count the same things.

use crate::chat_log::{ChatEntry, ChatLog, EntryKey, EntryKind};

/// Whether `entry` is news to the reader (see the module docs).
pub fn is_news(entry: &ChatEntry) -> bool {
    !entry.mine && entry.kind != EntryKind::Presence
}

/// The newest entry that is news: where a reader who saw everything
/// stopped. A mark that only news can be, so it is never our own message,
/// which may be discarded and leave the mark pointing nowhere.
pub fn newest_news(log: &ChatLog) -> Option<EntryKey> {
    log.entries().rev().find(|e| is_news(e)).map(|e| e.key())
}

/// How many entries after `last` are news. Counted from the newest back,
/// so the work follows what is unread, not the log's length; a page of
/// older history, which goes before `last`, is never counted. All of the
/// log's news if `last` is `None` (nothing read yet) or no longer held.
pub fn news_after(log: &ChatLog, last: Option<&EntryKey>) -> usize {
    // A placeholder read and later opened is the same message read.
    let last = last.map(|k| log.current_key(k));
    let mut n = 0;
    for e in log.entries().rev() {
        if last.as_ref().is_some_and(|k| &e.key() == k) {
            break;
        }
        n += usize::from(is_news(e));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_log::Sender;
    use quorum_shared::ids::UserId;

    fn said(id: &str, mine: bool, kind: EntryKind) -> ChatEntry {
        ChatEntry {
            id: id.into(),
            sender: Sender::User(UserId::parse("bob").expect("user id")),
            name: "bob".into(),
            text: id.into(),
            shown_at_ms: 0,
            mine,
            private_to: None,
            kind,
        }
    }

    fn key(id: &str) -> EntryKey {
        (false, id.into())
    }

    #[test]
    fn only_others_messages_after_the_mark_are_news() {
        let mut log = ChatLog::new();
        log.push(said("a", false, EntryKind::Message));
        log.push(said("joined", false, EntryKind::Presence));
        log.push(said("mine", true, EntryKind::Message));
        log.push(said("b", false, EntryKind::Unreadable));
        log.push(said("c", false, EntryKind::Message));
        assert_eq!(newest_news(&log), Some(key("c")));
        assert_eq!(news_after(&log, None), 3, "a, b and c");
        assert_eq!(news_after(&log, Some(&key("a"))), 2, "b and c");
        assert_eq!(news_after(&log, Some(&key("c"))), 0);
        assert_eq!(news_after(&log, Some(&key("gone"))), 3, "trimmed: all");
    }

    #[test]
    fn a_mark_on_a_placeholder_follows_the_message_that_replaced_it() {
        let mut log = ChatLog::new();
        log.push(said("a", false, EntryKind::Message));
        log.push(said("~b~iv", false, EntryKind::Unreadable));
        let mark = newest_news(&log);
        assert_eq!(mark, Some(key("~b~iv")));
        // The key is typed again: the message opens under its own id.
        assert!(log.replace(&key("~b~iv"), said("b", false, EntryKind::Message)));
        assert_eq!(news_after(&log, mark.as_ref()), 0, "nothing new");
        assert_eq!(log.position(&key("~b~iv")), Some(1));
        log.push(said("c", false, EntryKind::Message));
        assert_eq!(news_after(&log, mark.as_ref()), 1, "c only");
    }

    #[test]
    fn older_history_is_not_news() {
        let mut log = ChatLog::new();
        log.insert(said("h5", false, EntryKind::Message), Some(5));
        let mark = newest_news(&log);
        // A page of older messages comes in, then one new message.
        for seq in 1..5 {
            log.insert(
                said(&format!("h{seq}"), false, EntryKind::Message),
                Some(seq),
            );
        }
        log.push(said("new", false, EntryKind::Message));
        assert_eq!(news_after(&log, mark.as_ref()), 1);
    }

    #[test]
    fn a_log_of_only_our_own_and_presence_has_no_mark() {
        let mut log = ChatLog::new();
        log.push(said("mine", true, EntryKind::Message));
        log.push(said("left", false, EntryKind::Presence));
        assert_eq!(newest_news(&log), None);
        assert_eq!(news_after(&log, None), 0);
    }
}
