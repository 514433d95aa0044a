//! Who is in the room: a pure reducer over the server's `presence` and
//! `hand` events (replayed from the room's history for late joiners, then
//! live). The client shares it through a context.
//!
//! Every event sets a state rather than changing it, so applying a tail of
//! the event sequence again (history and live overlap after a reconnect)
//! ends in the same state as applying it once.

use std::collections::{BTreeMap, BTreeSet};

use quorum_shared::events::PresenceState;

/// The ids the server sends are user ids; anything longer is not one.
const MAX_USER_ID_LEN: usize = 128;

/// One participant as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// A moderator.
    pub is_admin: bool,
    /// Connection state as the server sees it.
    pub state: PresenceState,
    /// Hand raised.
    pub hand: bool,
    /// This is us.
    pub me: bool,
    /// When the hand went up, in the order hands went up (0: down).
    pub hand_order: u64,
}

/// Stable machine value for `data-state`.
pub fn state_key(s: PresenceState) -> &'static str {
    match s {
        PresenceState::Online => "online",
        PresenceState::Disconnected => "disconnected",
        PresenceState::Offline => "offline",
        PresenceState::Left => "left",
    }
}

/// A change to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterEvent {
    /// Someone's presence.
    Presence {
        /// Who.
        user_id: String,
        /// Display name.
        name: String,
        /// A moderator.
        is_admin: bool,
        /// Now.
        state: PresenceState,
    },
    /// A hand went up or down.
    Hand {
        /// Whose.
        user_id: String,
        /// Up.
        raised: bool,
    },
}

/// Where a participant is listed (see [`Roster::listed`]).
type ListKey = (bool, bool, u64, String, String);

fn list_key(p: &Participant) -> ListKey {
    let hand = if p.hand { p.hand_order } else { u64::MAX };
    (
        p.state == PresenceState::Offline,
        !p.is_admin,
        hand,
        p.name.to_lowercase(),
        p.id.clone(),
    )
}

/// The participants, by user id.
///
/// The listing order and the count of people present are kept in step
/// with every change, so an event costs the same in a room of 1,000 as in
/// a room of 10, and a list that shows a page reads only that page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    by_id: BTreeMap<String, Participant>,
    order: BTreeSet<ListKey>,
    present: usize,
    me: String,
    /// Counts hands going up, for their order.
    hands: u64,
}

impl Roster {
    /// A list holding only us, online.
    pub fn new(me: &str, name: &str, is_admin: bool) -> Self {
        let mut roster = Self {
            by_id: BTreeMap::new(),
            order: BTreeSet::new(),
            present: 0,
            me: me.to_string(),
            hands: 0,
        };
        roster.put(Participant {
            id: me.to_string(),
            name: name.to_string(),
            is_admin,
            state: PresenceState::Online,
            hand: false,
            me: true,
            hand_order: 0,
        });
        roster
    }

    /// Removes `user_id` and its place in the order and count.
    fn take(&mut self, user_id: &str) -> Option<Participant> {
        let p = self.by_id.remove(user_id)?;
        self.order.remove(&list_key(&p));
        if p.state != PresenceState::Offline {
            self.present -= 1;
        }
        Some(p)
    }

    /// Adds `p` (not listed yet) with its place in the order and count.
    fn put(&mut self, p: Participant) {
        self.order.insert(list_key(&p));
        if p.state != PresenceState::Offline {
            self.present += 1;
        }
        self.by_id.insert(p.id.clone(), p);
    }

    /// Applies `ev`. Returns whether the list changed.
    pub fn apply(&mut self, ev: RosterEvent) -> bool {
        match ev {
            RosterEvent::Presence {
                user_id,
                name,
                is_admin,
                state,
            } => {
                if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN {
                    return false;
                }
                let me = user_id == self.me;
                // Cleaned up by the server: off the list (never ourselves).
                if state == PresenceState::Left {
                    return !me && self.take(&user_id).is_some();
                }
                let name = match name.trim() {
                    "" => user_id.clone(),
                    n => n.to_string(),
                };
                let before = self.by_id.get(&user_id);
                let next = Participant {
                    name,
                    is_admin,
                    state,
                    ..before.cloned().unwrap_or(Participant {
                        id: user_id.clone(),
                        name: String::new(),
                        is_admin,
                        state,
                        hand: false,
                        me,
                        hand_order: 0,
                    })
                };
                if before == Some(&next) {
                    return false;
                }
                self.take(&user_id);
                self.put(next);
                true
            }
            // Hands of people we have not heard of are dropped: their
            // presence always comes first in the room's event order.
            RosterEvent::Hand { user_id, raised } => {
                match self.by_id.get(&user_id) {
                    Some(p) if p.hand != raised => {}
                    _ => return false,
                }
                let Some(mut p) = self.take(&user_id) else {
                    return false;
                };
                p.hand = raised;
                p.hand_order = if raised {
                    self.hands += 1;
                    self.hands
                } else {
                    0
                };
                self.put(p);
                true
            }
        }
    }

    /// Whether `user_id` has a hand up.
    pub fn hand_raised(&self, user_id: &str) -> bool {
        self.by_id.get(user_id).is_some_and(|p| p.hand)
    }

    /// Our own entry.
    pub fn me(&self) -> Option<&Participant> {
        self.by_id.get(&self.me)
    }

    /// One participant.
    pub fn get(&self, user_id: &str) -> Option<&Participant> {
        self.by_id.get(user_id)
    }

    /// Everybody, as listed: present people before those who left;
    /// among them moderators first, then raised hands in the order they
    /// went up, then everyone else; then by name (case-insensitive), then
    /// by id.
    pub fn listed(&self) -> impl Iterator<Item = &Participant> {
        self.order.iter().filter_map(|k| self.by_id.get(&k.4))
    }

    /// Up to `limit` people from number `from` on, in the listing order,
    /// of those whose name contains `query` (lowercase; empty: everybody),
    /// and how many match in all.
    pub fn page(&self, query: &str, from: usize, limit: usize) -> (Vec<Participant>, usize) {
        if query.is_empty() {
            let rows = self.listed().skip(from).take(limit).cloned().collect();
            return (rows, self.len());
        }
        let matching = || {
            self.order
                .iter()
                .filter(|k| k.3.contains(query))
                .filter_map(|k| self.by_id.get(&k.4))
        };
        let rows = matching().skip(from).take(limit).cloned().collect();
        (rows, matching().count())
    }

    /// Number of people not offline.
    pub fn present(&self) -> usize {
        self.present
    }

    /// Number of people listed.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Never true: we are always listed.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
