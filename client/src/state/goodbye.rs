//! Why a session is over: the server ended it, a moderator removed or
//! turned us away, or we left. The goodbye page says it in words.

use leptos::prelude::StoredValue;
use quorum_shared::events::EndReason;
use serde::{Deserialize, Serialize};

use crate::join::JoinToken;

/// Why the session is over; the page says it in the app's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The user took the meeting to another tab ("Use this tab instead").
    Moved,
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

/// `sessionStorage` key of the goodbye this tab showed last, so that a
/// reload of the goodbye page shows it again (not "No join token").
const FAREWELL_KEY: &str = "quorum.goodbye";

/// The goodbye page as this tab showed it: why, and what it offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Farewell {
    /// Why the session is over.
    pub goodbye: Goodbye,
    /// The newest token, kept only after leaving by choice (or moving to
    /// another tab): **Rejoin**
    /// uses it while it is valid. In session storage (this tab only), never
    /// in the address bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Where the room sends people after leaving (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
}

impl Farewell {
    /// The goodbye for a session that ended as `goodbye`, with `token` (the
    /// newest) and the room's `logout_url`.
    pub fn new(goodbye: Goodbye, token: Option<&JoinToken>, logout_url: Option<String>) -> Self {
        Self {
            goodbye,
            // Rejoining after a move takes the meeting back, by the same
            // "Use this tab instead".
            token: matches!(goodbye, Goodbye::Left | Goodbye::Moved)
                .then(|| token.map(|t| t.expose().to_owned()))
                .flatten(),
            logout_url: logout_url.filter(|u| quorum_shared::api::is_web_url(u)),
        }
    }

    /// The token to rejoin with, if there is one still valid at `now_secs`.
    pub fn rejoin_token(&self, now_secs: f64) -> Option<JoinToken> {
        let t = JoinToken::new(self.token.clone()?)?;
        crate::state::token::still_valid(&t, now_secs).then_some(t)
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps `farewell` for a reload of the goodbye page.
pub fn remember_farewell(farewell: &Farewell) {
    if let (Some(s), Ok(json)) = (session_storage(), serde_json::to_string(farewell)) {
        let _ = s.set_item(FAREWELL_KEY, &json);
    }
}

/// The goodbye this tab showed last, if any.
pub fn recall_farewell() -> Option<Farewell> {
    let json = session_storage()?.get_item(FAREWELL_KEY).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

/// Forgets it: a new link, or a rejoin.
pub fn forget_farewell() {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(FAREWELL_KEY);
    }
}

/// One line of the chat as it stood when the meeting ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// When it was sent (unix ms).
    pub at_ms: u64,
    /// Who sent it, as shown.
    pub name: String,
    /// What it said, as shown (decrypted in an E2EE room: this stays in
    /// the page's memory and, if saved, on the user's own device).
    pub text: String,
}

/// The chat when the meeting ended, for the goodbye page to show and
/// save; memory only, gone with the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript(pub Vec<TranscriptLine>);

impl Transcript {
    /// The chat as plain text, a line per message: `[HH:MM] Name: text`.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|l| {
                format!(
                    "[{}] {}: {}\n",
                    crate::util::format_hhmm(l.at_ms),
                    l.name,
                    l.text
                )
            })
            .collect()
    }
}

/// Where the room leaves its [`Transcript`] for the goodbye page.
#[derive(Clone, Copy)]
pub struct TranscriptSlot(pub StoredValue<Option<Transcript>>);
