//! The chat log as shown: messages from the live subscription and from the
//! room stream's history, merged in stream order and de-duplicated by id,
//! with our own unconfirmed messages marked pending. Pure: no NATS, no DOM.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

pub use crate::chat_entry::{ChatEntry, Delivery, EntryKey, EntryKind, Sender};

/// Messages kept at most, so the whole of a long meeting can be read back
/// (the list draws only a window of them). Memory stays bounded: the
/// oldest go first past this count or past [`MAX_LOG_BYTES`].
pub const MAX_LOG: usize = 20_000;
/// Bytes of text (ids, names and messages) kept at most: 2,048 messages of
/// the longest kind, 20,000 of a flood's one-liners.
pub const MAX_LOG_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
struct Slot {
    entry: Arc<ChatEntry>,
    /// Position in the room stream, once known (history tells it; live
    /// delivery does not).
    seq: Option<u64>,
}

/// Messages in stream order, each [`ChatEntry::key`] at most once.
///
/// Entries with a stream sequence are kept in sequence order; live ones
/// (sequence unknown) stay where they arrived. A history entry goes right
/// after the last entry with a smaller sequence, so older history lands
/// before whatever arrived live meanwhile, and a gap filled after a
/// reconnect lands before what was typed or received since.
#[derive(Debug, Clone)]
pub struct ChatLog {
    slots: VecDeque<Slot>,
    seen: HashSet<EntryKey>,
    pending: HashSet<EntryKey>,
    cap: usize,
    max_bytes: usize,
    /// The [`ChatEntry::weight`] of everything held.
    bytes: usize,
    revision: u64,
    /// How many entries left the front (the cap): with the count held,
    /// how many the session has taken in.
    dropped: u64,
    /// Entries put in another's place under a new key (`old`, `new`),
    /// newest last: a read mark or a window's start on a placeholder still
    /// finds the message that took its place ([`Self::current_key`]).
    renamed: VecDeque<(EntryKey, EntryKey)>,
}

/// Renames remembered: as many as placeholders are kept for another try.
const MAX_RENAMED: usize = 512;

impl Default for ChatLog {
    fn default() -> Self {
        Self::with_cap(MAX_LOG)
    }
}

impl ChatLog {
    /// An empty log holding at most [`MAX_LOG`] messages and
    /// [`MAX_LOG_BYTES`] of text.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log holding at most `cap` (≥ 1) messages.
    pub fn with_cap(cap: usize) -> Self {
        Self::with_limits(cap, MAX_LOG_BYTES)
    }

    /// An empty log holding at most `cap` (≥ 1) messages and `max_bytes`
    /// of text (the newest is always kept).
    pub fn with_limits(cap: usize, max_bytes: usize) -> Self {
        Self {
            slots: VecDeque::new(),
            seen: HashSet::new(),
            pending: HashSet::new(),
            cap: cap.max(1),
            max_bytes,
            renamed: VecDeque::new(),
            bytes: 0,
            revision: 0,
            dropped: 0,
        }
    }

    /// Appends a live `entry` unless its key is already present (our own
    /// messages are shown on send and come back through the subscription;
    /// a reconnect can replay too). Returns whether it was added.
    pub fn push(&mut self, entry: ChatEntry) -> bool {
        self.insert(entry, None)
    }

    /// Shows our own `entry` at once, marked pending until the server
    /// echoes it back. Returns whether it was added.
    pub fn push_pending(&mut self, entry: ChatEntry) -> bool {
        let key = entry.key();
        let added = self.insert(entry, None);
        if added {
            self.pending.insert(key);
        }
        added
    }

    /// Adds `entry`, received live (`seq` `None`) or from history. A copy
    /// of a known entry adds nothing, but confirms it if it was pending and
    /// records its sequence. Returns whether anything visible changed.
    pub fn insert(&mut self, entry: ChatEntry, seq: Option<u64>) -> bool {
        let key = entry.key();
        if self.seen.contains(&key) {
            if let Some(s) = seq {
                if let Some(slot) = self.slots.iter_mut().find(|x| x.entry.key() == key) {
                    slot.seq.get_or_insert(s);
                }
            }
            let confirmed = self.pending.remove(&key);
            if confirmed {
                self.revision += 1;
            }
            return confirmed;
        }
        let at = match seq {
            None => self.slots.len(),
            Some(s) => self.position_for(s),
        };
        let full = self.slots.len() == self.cap || self.bytes + entry.weight() > self.max_bytes;
        if full && at == 0 && !self.slots.is_empty() {
            // Older than everything kept in a full log: it would be the
            // first to go.
            return false;
        }
        self.seen.insert(key);
        self.bytes += entry.weight();
        let slot = Slot {
            entry: Arc::new(entry),
            seq,
        };
        self.slots.insert(at, slot);
        while self.slots.len() > self.cap || (self.bytes > self.max_bytes && self.slots.len() > 1) {
            let Some(old) = self.slots.pop_front() else {
                break;
            };
            self.dropped += 1;
            self.bytes -= old.entry.weight();
            let old_key = old.entry.key();
            self.seen.remove(&old_key);
            self.pending.remove(&old_key);
        }
        self.revision += 1;
        true
    }

    /// Index right after the last entry with a sequence below `seq`.
    fn position_for(&self, seq: u64) -> usize {
        self.slots
            .iter()
            .rposition(|x| x.seq.is_some_and(|t| t < seq))
            .map_or(0, |i| i + 1)
    }

    /// Takes the entry with `key` out (one of ours, discarded unsent).
    /// Returns whether it was there.
    pub fn remove(&mut self, key: &EntryKey) -> bool {
        if !self.seen.remove(key) {
            return false;
        }
        self.pending.remove(key);
        if let Some(at) = self.slots.iter().position(|x| &x.entry.key() == key) {
            if let Some(old) = self.slots.remove(at) {
                self.bytes -= old.entry.weight();
            }
        }
        self.revision += 1;
        true
    }

    /// Puts `entry` where the entry with `old` is (a placeholder whose
    /// message could be read after all, or a line rewritten under its own
    /// key), or just drops `old` if `entry` is already shown elsewhere. Returns whether anything changed.
    pub fn replace(&mut self, old: &EntryKey, entry: ChatEntry) -> bool {
        let key = entry.key();
        if &key != old && self.seen.contains(&key) {
            let removed = self.remove(old);
            if removed {
                self.renamed_to(old, &key);
            }
            return removed;
        }
        let Some(at) = self.slots.iter().position(|x| &x.entry.key() == old) else {
            return false;
        };
        if &key != old {
            self.renamed_to(old, &key);
        }
        self.seen.remove(old);
        self.pending.remove(old);
        self.seen.insert(key);
        self.bytes = self.bytes - self.slots[at].entry.weight() + entry.weight();
        self.slots[at].entry = Arc::new(entry);
        self.revision += 1;
        true
    }

    fn renamed_to(&mut self, old: &EntryKey, new: &EntryKey) {
        self.renamed.push_back((old.clone(), new.clone()));
        if self.renamed.len() > MAX_RENAMED {
            self.renamed.pop_front();
        }
    }

    /// The key the entry once keyed `key` has now: itself, unless it was
    /// replaced under another ([`Self::replace`]).
    pub fn current_key(&self, key: &EntryKey) -> EntryKey {
        let mut key = key.clone();
        // Oldest first, each rename once: a chain is followed to its end,
        // and no cycle can loop.
        for (old, new) in &self.renamed {
            if old == &key {
                key = new.clone();
            }
        }
        key
    }

    /// Whether the entry with `key` is ours and not yet confirmed.
    pub fn is_pending(&self, key: &EntryKey) -> bool {
        self.pending.contains(key)
    }

    /// Our messages not yet confirmed.
    pub fn pending(&self) -> &HashSet<EntryKey> {
        &self.pending
    }

    /// The messages, in order.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Arc<ChatEntry>> + ExactSizeIterator {
        self.slots.iter().map(|s| &s.entry)
    }

    /// The stream sequence of the entry with `key`, if known.
    pub fn seq_of(&self, key: &EntryKey) -> Option<u64> {
        self.slots
            .iter()
            .find(|s| &s.entry.key() == key)
            .and_then(|s| s.seq)
    }

    /// Where the entry with `key` is in [`Self::entries`].
    pub fn position(&self, key: &EntryKey) -> Option<usize> {
        let key = &self.current_key(key);
        self.slots.iter().position(|s| {
            let e = &s.entry;
            e.is_system() == key.0 && e.id == key.1
        })
    }

    /// The key of entry `i` of [`Self::entries`].
    pub fn key_at(&self, i: usize) -> Option<EntryKey> {
        self.slots.get(i).map(|s| s.entry.key())
    }

    /// The smallest stream sequence of a participant's message: where the
    /// chat held begins in the room's stream. Entries with a sequence are
    /// in sequence order, so it is the first such one's. System messages
    /// don't count: every room event comes with the first load, however
    /// old, so one of them says nothing about where the chat held begins.
    pub fn oldest_seq(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter(|s| !s.entry.is_system())
            .find_map(|s| s.seq)
    }

    /// Whether an entry older than all would not be kept (the count or
    /// byte cap is reached).
    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.cap || self.bytes >= self.max_bytes
    }

    /// The newest message.
    pub fn last(&self) -> Option<&Arc<ChatEntry>> {
        self.slots.back().map(|s| &s.entry)
    }

    /// Number of messages held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many entries have left the front so far (the cap), so
    /// `dropped() + len()` is how many the session has taken in.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Increases with every visible change (the length stops changing once
    /// the cap is reached), e.g. to trigger scrolling.
    pub fn revision(&self) -> u64 {
        self.revision
    }
}

/// Which of the log's `len` entries a list draws, as (skip, take): the
/// newest `follow` while following (`start` `None`), or, while someone
/// reads back, at most `span` from entry `start` (found by
/// [`ChatLog::position`], so entries added before it or dropped from the
/// front never move what is being read), so reading back through a whole
/// meeting never puts more than `span` messages in the page.
pub fn window(len: usize, start: Option<usize>, follow: usize, span: usize) -> (usize, usize) {
    match start {
        None => {
            let skip = len.saturating_sub(follow);
            (skip, len - skip)
        }
        Some(at) => {
            let skip = at.min(len);
            (skip, span.min(len - skip))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_shared::ids::UserId;

    fn entry(id: &str) -> ChatEntry {
        ChatEntry {
            id: id.into(),
            sender: Sender::System,
            name: String::new(),
            text: id.into(),
            shown_at_ms: 0,
            mine: false,
            private_to: None,
            kind: EntryKind::Message,
        }
    }

    #[test]
    fn the_window_follows_the_newest_or_stays_where_someone_reads() {
        // Following: the newest 60, however long the log.
        assert_eq!(window(1000, None, 60, 180), (940, 60));
        assert_eq!(window(10, None, 60, 180), (0, 10));
        // Reading from entry 300: at most the span, even with 700 newer.
        assert_eq!(window(1000, Some(300), 60, 180), (300, 180));
        // Near the end: what there is.
        assert_eq!(window(1000, Some(900), 60, 180), (900, 100));
        assert_eq!(window(10, Some(50), 60, 180), (10, 0));
    }

    fn said(id: &str) -> ChatEntry {
        ChatEntry {
            sender: Sender::User(UserId::parse("bob").expect("user id")),
            ..entry(id)
        }
    }

    #[test]
    fn entries_are_found_by_key_and_the_oldest_sequence_is_known() {
        let mut log = ChatLog::with_cap(4);
        log.push(said("live"));
        assert_eq!(log.oldest_seq(), None);
        log.insert(said("h9"), Some(9));
        log.insert(said("h4"), Some(4));
        // An integrator's message from the room's start: not chat.
        log.insert(entry("sys"), Some(2));
        // Older history goes first; the live one stays after it.
        let ids: Vec<_> = log.entries().map(|e| e.id.clone()).collect();
        assert_eq!(ids, ["sys", "h4", "h9", "live"]);
        assert_eq!(log.oldest_seq(), Some(4), "the chat's, not the event's");
        assert_eq!(log.position(&said("h9").key()), Some(2));
        assert_eq!(log.key_at(3), Some(said("live").key()));
        assert_eq!(log.position(&(true, "h9".into())), None, "system ids apart");
        assert!(log.is_full());
        assert!(
            !log.insert(said("h1"), Some(1)),
            "older than all in a full log"
        );
    }

    #[test]
    fn dropped_counts_what_left_the_front() {
        let mut log = ChatLog::with_cap(3);
        for id in ["a", "b", "c", "d", "e"] {
            log.push(entry(id));
        }
        assert_eq!(log.dropped(), 2);
        let ids: Vec<_> = log.entries().map(|e| e.id.clone()).collect();
        assert_eq!(ids, ["c", "d", "e"]);
    }
}
