//! Who is in the room: a pure reducer over the server's `presence` and
//! `hand` events (replayed from the room's history for late joiners, then
//! live), and the context that shares it.
//!
//! Every event sets a state rather than changing it, so applying a tail of
//! the event sequence again (history and live overlap after a reconnect)
//! ends in the same state as applying it once.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::events::PresenceState;

use crate::join::Session;

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

/// The participants, by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    by_id: BTreeMap<String, Participant>,
    me: String,
    /// Counts hands going up, for their order.
    hands: u64,
}

impl Roster {
    /// A list holding only us, online.
    pub fn new(me: &str, name: &str, is_admin: bool) -> Self {
        let mut by_id = BTreeMap::new();
        by_id.insert(
            me.to_string(),
            Participant {
                id: me.to_string(),
                name: name.to_string(),
                is_admin,
                state: PresenceState::Online,
                hand: false,
                me: true,
                hand_order: 0,
            },
        );
        Self {
            by_id,
            me: me.to_string(),
            hands: 0,
        }
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
                    return !me && self.by_id.remove(&user_id).is_some();
                }
                let p = self
                    .by_id
                    .entry(user_id.clone())
                    .or_insert_with(|| Participant {
                        id: user_id,
                        name: String::new(),
                        is_admin,
                        state,
                        hand: false,
                        me,
                        hand_order: 0,
                    });
                let name = match name.trim() {
                    "" => p.id.clone(),
                    n => n.to_string(),
                };
                let next = Participant {
                    name,
                    is_admin,
                    state,
                    ..p.clone()
                };
                let changed = *p != next;
                *p = next;
                changed
            }
            // Hands of people we have not heard of are dropped: their
            // presence always comes first in the room's event order.
            RosterEvent::Hand { user_id, raised } => match self.by_id.get_mut(&user_id) {
                Some(p) if p.hand != raised => {
                    p.hand = raised;
                    p.hand_order = if raised {
                        self.hands += 1;
                        self.hands
                    } else {
                        0
                    };
                    true
                }
                _ => false,
            },
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
    pub fn sorted(&self) -> Vec<Participant> {
        let mut all: Vec<Participant> = self.by_id.values().cloned().collect();
        all.sort_by_cached_key(|p| {
            let hand = if p.hand { p.hand_order } else { u64::MAX };
            (
                p.state == PresenceState::Offline,
                !p.is_admin,
                hand,
                p.name.to_lowercase(),
                p.id.clone(),
            )
        });
        all
    }

    /// Number of people not offline.
    pub fn present(&self) -> usize {
        self.by_id
            .values()
            .filter(|p| p.state != PresenceState::Offline)
            .count()
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

/// The participant list, shared through context.
#[derive(Clone, Copy)]
pub struct RosterContext {
    roster: RwSignal<Roster>,
}

impl RosterContext {
    /// The list.
    pub fn roster(&self) -> ReadSignal<Roster> {
        self.roster.read_only()
    }

    /// Applies `ev`, notifying the view only if something changed.
    pub fn apply(&self, ev: RosterEvent) {
        self.roster.try_maybe_update(|r| (r.apply(ev), ()));
    }
}

/// Provides a list holding only us.
pub fn provide_roster_context(session: &Arc<Session>) -> RosterContext {
    let join = &session.join;
    let roster = Roster::new(join.user_id.as_str(), &join.name, join.is_admin);
    let ctx = RosterContext {
        roster: RwSignal::new(roster),
    };
    provide_context(ctx);
    ctx
}

/// The list provided by [`provide_roster_context`], if any (widget tests
/// mount parts of the room without it).
pub fn use_roster_opt() -> Option<RosterContext> {
    use_context::<RosterContext>()
}

/// The participants provided by [`provide_roster_context`].
pub fn use_roster() -> RosterContext {
    expect_context::<RosterContext>()
}
