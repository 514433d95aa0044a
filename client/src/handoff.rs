//! How the first-load shell (`shell.rs`, binary `quorum-client`) passes a
//! join on to the room module (binary `quorum-room`, loaded after the
//! pre-join page shows): the link's token it took from the address bar
//! and, once Join is pressed, what it verified and what was chosen.
//!
//! The two are separate wasm modules, so this crosses as JSON text.
//!
//! The shell also keeps the link's token in this tab's session storage
//! while the pre-join page shows: the token has left the address bar,
//! and a reload there should show the pre-join page again rather than
//! "No join token". The room forgets it once it has its session (a
//! reload then resumes from the cache, where there is one).

use quorum_shared::api::JoinSession;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

use crate::join::{JoinToken, Session};
use crate::state::media::MediaChoices;

/// Session-storage key of the token of a pre-join page not yet left.
const PREJOIN_KEY: &str = "quorum.prejoin";
/// `<meta name=…>` in `index.html` naming the room module's script
/// (content-hashed at build time by `scripts/name-room.mjs`).
const ROOM_META: &str = "quorum-room";

/// What the shell hands the room module.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The link's token, which the shell took out of the address bar.
    pub token: Option<String>,
    /// Set when the shell verified `token` and the user pressed Join.
    pub joined: Option<Joined>,
}

/// A verified session the user chose to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// What `/api/verifyToken` answered for the token.
    pub join: JoinSession,
    /// The microphone and camera picked on the pre-join page, where the
    /// server has media.
    pub choices: Option<MediaChoices>,
}

// The token is a bearer credential: never in logs (see `JoinToken`).
impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("joined", &self.joined)
            .finish()
    }
}

impl Handoff {
    /// The token, if it is not blank.
    pub fn join_token(&self) -> Option<JoinToken> {
        self.token.clone().and_then(JoinToken::new)
    }

    /// The verified session, if Join was pressed.
    pub fn session(&self) -> Option<Session> {
        let token = self.join_token()?;
        let joined = self.joined.as_ref()?;
        Some(Session {
            token,
            join: joined.join.clone(),
        })
    }

    /// As JSON, for the room module's `enter`.
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and booleans: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// From the shell's JSON; a garbled handoff (never expected) keeps
    /// nothing, and the room then finds its session as after a reload.
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|e| {
            web_sys::console::warn_1(&format!("unreadable handoff: {e}").into());
            Self::default()
        })
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps `token` for a reload of the pre-join page.
pub fn remember_prejoin(token: &JoinToken) {
    if let Some(s) = session_storage() {
        let _ = s.set_item(PREJOIN_KEY, token.expose());
    }
}

/// The token of a pre-join page this tab showed and never left.
pub fn prejoin_token() -> Option<JoinToken> {
    session_storage()?
        .get_item(PREJOIN_KEY)
        .ok()
        .flatten()
        .and_then(JoinToken::new)
}

/// The room has the session now (its cache keeps the token).
pub fn forget_prejoin() {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(PREJOIN_KEY);
    }
}

/// Where the room module's script is served, from `index.html`.
pub fn room_module_url() -> Option<String> {
    let doc = web_sys::window()?.document()?;
    let meta = doc
        .query_selector(&format!("meta[name=\"{ROOM_META}\"]"))
        .ok()??;
    meta.dyn_into::<web_sys::Element>()
        .ok()?
        .get_attribute("content")
        .filter(|c| !c.is_empty())
}
