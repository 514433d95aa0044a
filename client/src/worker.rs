//! The one typed client of the server's worker protocol
//! (`shared::worker`): a request goes out on the participant's own worker
//! subject, the reply comes back on its own inbox, and every refusal is a
//! [`WorkerError`] people can read. Everything that asks the server for
//! something (hands, renewals, the room key, moderators' actions,
//! reactions) goes through [`call`].

use std::time::Duration;

use quorum_shared::moderation::Refusal;
use quorum_shared::worker::{WorkerReply, WorkerRequest};

use crate::i18n::{td_string, Locale};
use crate::nats::{NatsClient, RequestError};

/// How long the server has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// Only a moderator may do this (or the caller's role changed).
    #[error("{0}")]
    NotAllowed(String),
    /// The person it names is not (or no longer) in the room.
    #[error("{0}")]
    NotFound(String),
    /// Too many requests in a short time.
    #[error("{0}")]
    RateLimited(String),
    /// The server is busy.
    #[error("the server is busy")]
    Busy,
    /// The request is not acceptable; the server says why.
    #[error("{0}")]
    Invalid(String),
    /// The server failed.
    #[error("the server could not do it")]
    Internal,
    /// No connection right now.
    #[error("not connected")]
    Offline,
    /// No answer in time.
    #[error("no answer from the server")]
    Timeout,
    /// An answer we could not read.
    #[error("unreadable answer: {0}")]
    BadReply(String),
}

impl WorkerError {
    /// A sentence to show, in `locale`: what happened and, where it
    /// helps, what to do. The server's own reason is shown as it sent it.
    pub fn message(&self, locale: Locale) -> String {
        let text = match self {
            Self::NotAllowed(why) | Self::RateLimited(why) | Self::Invalid(why) => {
                return capitalise(why);
            }
            Self::NotFound(_) => td_string!(locale, worker.not_found),
            Self::Busy => td_string!(locale, worker.busy),
            Self::Internal => td_string!(locale, worker.internal),
            Self::Offline => td_string!(locale, worker.offline),
            Self::Timeout => td_string!(locale, worker.timeout),
            Self::BadReply(_) => td_string!(locale, worker.bad_reply),
        };
        text.to_string()
    }

    /// The refusal a reply carries, mapped to our error.
    pub fn from_reply(reply: WorkerReply) -> Self {
        let why = reply.error.unwrap_or_else(|| "refused".to_string());
        match reply.code {
            Some(Refusal::NotAllowed) => Self::NotAllowed(why),
            Some(Refusal::NotFound) => Self::NotFound(why),
            Some(Refusal::RateLimited) => Self::RateLimited(why),
            Some(Refusal::Busy) => Self::Busy,
            Some(Refusal::Internal) => Self::Internal,
            Some(Refusal::Invalid) | None => Self::Invalid(why),
        }
    }
}

impl From<RequestError> for WorkerError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Timeout => Self::Timeout,
            RequestError::NoResponders => Self::Busy,
            RequestError::NotConnected | RequestError::ConnectionLost => Self::Offline,
            RequestError::Encode(e) => Self::BadReply(e.to_string()),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    let mut out: String = c
        .next()
        .map(|f| f.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(c.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Parses a reply: the reply itself if the server carried the request
/// out, the refusal otherwise.
pub fn parse_reply(payload: &[u8]) -> Result<WorkerReply, WorkerError> {
    let reply: WorkerReply =
        serde_json::from_slice(payload).map_err(|e| WorkerError::BadReply(e.to_string()))?;
    if reply.ok {
        Ok(reply)
    } else {
        Err(WorkerError::from_reply(reply))
    }
}

/// Sends `req` on `worker` (the caller's own worker subject) and waits up
/// to `timeout` for the server's verdict.
pub async fn call_with(
    nats: NatsClient,
    worker: &str,
    req: &WorkerRequest,
    timeout: Duration,
) -> Result<WorkerReply, WorkerError> {
    let body = serde_json::to_vec(req).map_err(|e| WorkerError::BadReply(e.to_string()))?;
    let reply = nats.request(worker, &body, timeout).await?;
    parse_reply(&reply.payload)
}

/// [`call_with`] and the usual [`TIMEOUT`].
pub async fn call(
    nats: NatsClient,
    worker: &str,
    req: &WorkerRequest,
) -> Result<WorkerReply, WorkerError> {
    call_with(nats, worker, req, TIMEOUT).await
}

#[cfg(test)]
mod tests {
    use super::*;
    // In the browser: plain `#[test]`s would not run under wasm-bindgen-test.
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn refusals_become_sentences() {
        let r = parse_reply(
            br#"{"ok":false,"error":"only moderators may remove","code":"not_allowed"}"#,
        );
        assert_eq!(
            r,
            Err(WorkerError::NotAllowed("only moderators may remove".into()))
        );
        assert_eq!(
            r.unwrap_err().message(Locale::en),
            "Only moderators may remove."
        );
        let r =
            parse_reply(br#"{"ok":false,"error":"bob is not in this room","code":"not_found"}"#);
        let e = r.unwrap_err();
        assert_eq!(
            e.message(Locale::en),
            "That person is no longer in the meeting."
        );
        assert_eq!(
            e.message(Locale::de),
            "Diese Person ist nicht mehr im Meeting."
        );
        // An older server sends no code: its text is shown as it is.
        let r = parse_reply(br#"{"ok":false,"error":"no"}"#);
        assert_eq!(r, Err(WorkerError::Invalid("no".into())));
        assert!(parse_reply(br#"{"ok":true}"#).is_ok());
        assert!(matches!(
            parse_reply(b"nope"),
            Err(WorkerError::BadReply(_))
        ));
    }
}
