//! Join token handling: take it out of the link, and read what
//! `POST /api/verifyToken` answers (the call itself is in `api.rs`).
//!
//! The token is a bearer credential, so it leaves the address bar as soon as
//! it is read (it would otherwise end up in history, bookmarks and
//! screenshots) and its `Debug` output is redacted.

use quorum_shared::api::{JoinSession, StatusCode, VerifyTokenRes};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Url;

use crate::i18n::{td_string, Locale};
use crate::join::JoinToken;

/// Query parameter that carries the join token, as in plugNmeet links.
pub const TOKEN_PARAM: &str = "access_token";

/// Splits `href` into the join token and the address to show instead: the
/// same path, the other query parameters and the fragment, without the
/// token. `cleaned` is `None` when the link has no token parameter at all,
/// so there is nothing to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSplit {
    /// The token, if the parameter was present and not blank.
    pub token: Option<JoinToken>,
    /// Same-origin path + query + fragment without the token parameter.
    pub cleaned: Option<String>,
}

/// See [`TokenSplit`]. Errors only if `href` is not an absolute URL.
pub fn split_token(href: &str) -> Result<TokenSplit, JsValue> {
    let url = Url::new(href)?;
    let params = url.search_params();
    if !params.has(TOKEN_PARAM) {
        return Ok(TokenSplit {
            token: None,
            cleaned: None,
        });
    }
    let token = params.get(TOKEN_PARAM).and_then(JoinToken::new);
    // Deletes every occurrence, so a duplicated parameter cannot linger.
    params.delete(TOKEN_PARAM);
    let cleaned = format!("{}{}{}", url.pathname(), url.search(), url.hash());
    Ok(TokenSplit {
        token,
        cleaned: Some(cleaned),
    })
}

/// Reads the token from the current address and removes it from the address
/// bar (and from this history entry) without reloading.
pub fn take_token_from_location() -> Option<JoinToken> {
    let window = web_sys::window()?;
    let href = window.location().href().ok()?;
    let split = split_token(&href).ok()?;
    if let Some(cleaned) = &split.cleaned {
        let replaced = window
            .history()
            .and_then(|h| h.replace_state_with_url(&JsValue::NULL, "", Some(cleaned)));
        if let Err(e) = replaced {
            web_sys::console::warn_2(&"could not remove the token from the URL".into(), &e);
        }
    }
    split.token
}

/// Why joining failed before the room could open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The link carried no `access_token`.
    #[error("no join token in the link")]
    NoToken,
    /// The server refused the token.
    #[error("{msg}")]
    Rejected {
        /// The server's machine-readable reason.
        code: StatusCode,
        /// The server's human-readable reason.
        msg: String,
    },
    /// The request did not complete (offline, DNS, timeout, CORS…).
    #[error("network error: {0}")]
    Network(String),
    /// The server answered, but not with a response we understand.
    #[error("unexpected response (HTTP {status}): {detail}")]
    BadResponse {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
}

impl JoinError {
    /// What went wrong, as people say it: the server's code (and, where
    /// one code covers two cases, a word of its message), never its text.
    pub fn refusal(&self) -> Option<Refusal> {
        let Self::Rejected { code, msg } = self else {
            return None;
        };
        let has = |w: &str| msg.to_ascii_lowercase().contains(w);
        Some(match code {
            StatusCode::InvalidTokenOrSignature if has("expired") => Refusal::Expired,
            StatusCode::InvalidTokenOrSignature => Refusal::Invalid,
            StatusCode::UserNotActive | StatusCode::Conflict => Refusal::AlreadyIn,
            StatusCode::RoomNotActive | StatusCode::RoomNotFound => Refusal::NotRunning,
            StatusCode::UserNotFound => Refusal::NotInvited,
            StatusCode::UserBlocked => Refusal::Blocked,
            StatusCode::PermissionDenied if has("full") => Refusal::Full,
            StatusCode::PermissionDenied if has("locked") => Refusal::Locked,
            StatusCode::PermissionDenied => Refusal::Denied,
            StatusCode::InternalServerError => Refusal::ServerFault,
            _ => Refusal::Other,
        })
    }

    /// The headline shown on the error page, in `locale`.
    pub fn title(&self, locale: Locale) -> &'static str {
        match self {
            Self::NoToken => td_string!(locale, join.no_token_title),
            Self::Rejected { .. } => match self.refusal().unwrap_or(Refusal::Other) {
                Refusal::Expired => td_string!(locale, join.expired_title),
                Refusal::Invalid => td_string!(locale, join.invalid_title),
                Refusal::AlreadyIn => td_string!(locale, join.already_in_title),
                Refusal::NotRunning => td_string!(locale, join.not_running_title),
                Refusal::NotInvited => td_string!(locale, join.not_invited_title),
                Refusal::Blocked => td_string!(locale, join.blocked_title),
                Refusal::Full => td_string!(locale, join.full_title),
                Refusal::Locked => td_string!(locale, join.locked_title),
                Refusal::Denied => td_string!(locale, join.denied_title),
                Refusal::ServerFault | Refusal::Other => td_string!(locale, join.refused_title),
            },
            Self::Network(_) => td_string!(locale, join.network_title),
            Self::BadResponse { .. } => td_string!(locale, join.bad_response_title),
        }
    }

    /// The explanation under the headline, with what to do next, in
    /// `locale` (the server's own wording stays in the console).
    pub fn reason(&self, locale: Locale) -> String {
        match self {
            Self::NoToken => td_string!(locale, join.no_token_reason).to_string(),
            Self::Rejected { .. } => match self.refusal().unwrap_or(Refusal::Other) {
                Refusal::Expired => td_string!(locale, join.expired_reason),
                Refusal::Invalid => td_string!(locale, join.invalid_reason),
                Refusal::AlreadyIn => td_string!(locale, join.already_in_reason),
                Refusal::NotRunning => td_string!(locale, join.not_running_reason),
                Refusal::NotInvited => td_string!(locale, join.not_invited_reason),
                Refusal::Blocked => td_string!(locale, join.blocked_reason),
                Refusal::Full => td_string!(locale, join.full_reason),
                Refusal::Locked => td_string!(locale, join.locked_reason),
                Refusal::Denied => td_string!(locale, join.denied_reason),
                Refusal::ServerFault => td_string!(locale, join.server_fault_reason),
                Refusal::Other => td_string!(locale, join.refused_reason),
            }
            .to_string(),
            Self::Network(_) => td_string!(locale, join.network_reason).to_string(),
            Self::BadResponse { status, .. } => {
                td_string!(locale, join.bad_response_reason, status = *status)
            }
        }
    }

    /// Whether trying again with the same token can help: transport
    /// problems, a server fault, and a room that is full or locked now
    /// (it may not be in a moment). Other refusals are final.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Network(_) | Self::BadResponse { .. } => true,
            Self::Rejected { .. } => matches!(
                self.refusal(),
                Some(Refusal::ServerFault | Refusal::Full | Refusal::Locked)
            ),
            Self::NoToken => false,
        }
    }
}

/// Why the server refused a join, as the error page explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The link's token expired.
    Expired,
    /// The token is malformed, forged, or for another server.
    Invalid,
    /// The user is connected from another tab or device.
    AlreadyIn,
    /// The meeting ended, or never started.
    NotRunning,
    /// The token names someone the room never invited.
    NotInvited,
    /// A moderator blocked this user.
    Blocked,
    /// At `max_participants`.
    Full,
    /// A moderator locked the room.
    Locked,
    /// Refused for another reason.
    Denied,
    /// The server failed.
    ServerFault,
    /// A code we don't know.
    Other,
}

/// Interprets a `/api/verifyToken` answer. The body is authoritative, not
/// the HTTP status: failures come back as 4xx with the envelope explaining
/// why, and a 200 without a session is still a failure.
pub fn parse_verify_response(http_status: u16, body: &str) -> Result<JoinSession, JoinError> {
    let res: VerifyTokenRes = serde_json::from_str(body).map_err(|e| JoinError::BadResponse {
        status: http_status,
        detail: e.to_string(),
    })?;
    match (res.envelope.status, res.session) {
        (true, Some(session)) => Ok(session),
        (true, None) => Err(JoinError::BadResponse {
            status: http_status,
            detail: "success without a session".to_string(),
        }),
        (false, _) => Err(JoinError::Rejected {
            code: res.envelope.status_code,
            msg: res.envelope.msg,
        }),
    }
}

/// A short description of a thrown JS value, for logs and error variants.
pub(crate) fn js_error_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
