//! Why a session is over: the server ended it, a moderator removed or
//! turned us away, or we left. The goodbye page says it in words.

use quorum_shared::events::EndReason;

/// Why the session is over; the page says it in the app's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goodbye {
    /// The server ended the session.
    Ended(EndReason),
    /// A moderator removed us; `blocked` if we may not come back.
    Removed {
        /// We may not come back.
        blocked: bool,
    },
    /// A moderator turned us away from the waiting room.
    Denied,
    /// The user pressed Leave.
    Left,
}

impl Goodbye {
    /// The server ended the session.
    pub fn ended(reason: EndReason) -> Self {
        Self::Ended(reason)
    }

    /// A moderator removed us; `blocked` if for good.
    pub fn removed(blocked: bool) -> Self {
        Self::Removed { blocked }
    }

    /// What a removal means for someone still waiting: not let in.
    pub fn while_waiting(self) -> Self {
        match self {
            Self::Removed { blocked: false } => Self::Denied,
            other => other,
        }
    }

    /// The user pressed Leave.
    pub fn left() -> Self {
        Self::Left
    }
}
