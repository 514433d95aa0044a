//! Who is in the room: the roster ([`Roster`], pure and natively tested in
//! `quorum-client-core`) and the context that shares it.

use std::sync::Arc;

use leptos::prelude::*;

pub use quorum_client_core::roster::{state_key, Participant, Roster, RosterEvent};

use crate::join::Session;

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
