//! The chat's lines about who came and went ("Bob joined", "Ann, Bob and
//! 3 others left"): which presence changes deserve one, and how a burst of
//! them is told as one line in a big room. Pure; the client words it.

use quorum_shared::events::PresenceState;

/// Names a coalesced line spells out before "and N others".
pub const NAMED: usize = 2;
/// Changes this close (ms) to the line before join it, if it is still the
/// newest in the chat.
pub const COALESCE_MS: u64 = 10_000;

/// Which way someone went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Went {
    /// Came in.
    Joined,
    /// Left, or gone offline for good.
    Left,
}

/// The line a change from `before` (`None`: not listed) to `now` deserves,
/// if any: a brief disconnection, or a reconnection within the grace, says
/// nothing.
pub fn went(before: Option<PresenceState>, now: PresenceState) -> Option<Went> {
    use PresenceState::*;
    let was_in = matches!(before, Some(Online | Disconnected));
    match now {
        Online if !was_in => Some(Went::Joined),
        Left | Offline if was_in => Some(Went::Left),
        _ => None,
    }
}

/// A line being built: who went one way, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Which way.
    pub went: Went,
    /// Who, in the order they went (each once).
    pub names: Vec<String>,
    /// When the line was last changed (ms).
    pub at_ms: u64,
}

impl Line {
    /// Adds `name` going `went` at `at_ms`, if it joins this line (same
    /// way, soon enough). Returns whether it did.
    pub fn absorb(&mut self, went: Went, name: &str, at_ms: u64) -> bool {
        if went != self.went || at_ms.saturating_sub(self.at_ms) > COALESCE_MS {
            return false;
        }
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_owned());
        }
        self.at_ms = at_ms;
        true
    }

    /// The names to spell out, and how many more there are.
    pub fn shown(&self) -> (&[String], usize) {
        if self.names.len() <= NAMED + 1 {
            (&self.names, 0)
        } else {
            (&self.names[..NAMED], self.names.len() - NAMED)
        }
    }
}
