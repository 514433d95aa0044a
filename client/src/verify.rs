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
    /// The headline shown on the error page, in `locale`.
    pub fn title(&self, locale: Locale) -> &'static str {
        match self {
            Self::NoToken => td_string!(locale, join.no_token_title),
            Self::Rejected { code, .. } => match code {
                StatusCode::InvalidTokenOrSignature => td_string!(locale, join.invalid_title),
                StatusCode::UserNotActive | StatusCode::Conflict => {
                    td_string!(locale, join.already_in_title)
                }
                StatusCode::RoomNotActive | StatusCode::RoomNotFound => {
                    td_string!(locale, join.not_running_title)
                }
                StatusCode::UserBlocked => td_string!(locale, join.blocked_title),
                // Locked by a moderator, or full.
                StatusCode::PermissionDenied => td_string!(locale, join.denied_title),
                _ => td_string!(locale, join.refused_title),
            },
            Self::Network(_) => td_string!(locale, join.network_title),
            Self::BadResponse { .. } => td_string!(locale, join.bad_response_title),
        }
    }

    /// The explanation under the headline, in `locale`; the server's own
    /// reason for a refusal is shown as it sent it.
    pub fn reason(&self, locale: Locale) -> String {
        match self {
            Self::NoToken => td_string!(locale, join.no_token_reason).to_string(),
            Self::Rejected { msg, .. } if !msg.trim().is_empty() => sentence(msg.trim()),
            Self::Rejected { .. } => td_string!(locale, join.refused_reason).to_string(),
            Self::Network(_) => td_string!(locale, join.network_reason).to_string(),
            Self::BadResponse { status, .. } => {
                td_string!(locale, join.bad_response_reason, status = *status)
            }
        }
    }

    /// Whether trying again with the same token can help. A refusal is
    /// final (except a server fault); transport problems are not.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Network(_) | Self::BadResponse { .. } => true,
            Self::Rejected { code, .. } => *code == StatusCode::InternalServerError,
            Self::NoToken => false,
        }
    }
}

/// The server's lower-case message as a sentence.
fn sentence(msg: &str) -> String {
    let mut chars = msg.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    let mut out = first.unwrap_or_default() + chars.as_str();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
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
