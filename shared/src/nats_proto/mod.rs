//! Sans-IO codec for the NATS client protocol.
//!
//! The server (over TCP) and the browser client (over WebSocket) both speak
//! NATS, so the framing lives here once, free of any transport: callers feed
//! received bytes into a [`Decoder`] and write whatever [`encode`] appends.
//! Nothing in this module does I/O or reads a clock, which keeps it usable on
//! `wasm32-unknown-unknown` and trivially testable.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::Decoder;
pub use encode::{encode, ClientOp, ConnectOptions};

use serde::Deserialize;

/// Longest control line (everything up to CRLF) we accept. A peer that sends
/// more without a line break is broken or hostile, and buffering it would let
/// it grow our memory without bound.
pub const MAX_CONTROL_LINE: usize = 64 * 1024;

/// Default payload ceiling; far above any real NATS `max_payload`, it only
/// stops a corrupt length field from making us buffer gigabytes.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Compacting the buffer moves the unread tail to the front; waiting until
/// the consumed prefix is at least this big (and half the buffer) keeps the
/// copying amortised linear.
const COMPACT_THRESHOLD: usize = 4096;

/// Error for malformed server bytes, or for client ops that would produce a
/// broken frame.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProtoError {
    /// The control line starts with an operation we do not know.
    #[error("unknown protocol operation {0:?}")]
    UnknownOp(String),
    /// The bytes do not follow the protocol grammar.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// No CRLF within [`MAX_CONTROL_LINE`] bytes.
    #[error("control line longer than {MAX_CONTROL_LINE} bytes")]
    ControlLineTooLong,
    /// A message announces more bytes than the decoder's ceiling.
    #[error("payload of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Announced size (saturated to `u64::MAX` if it did not even parse).
        size: u64,
        /// The configured ceiling.
        max: usize,
    },
    /// INFO JSON could not be parsed, or CONNECT could not be serialized.
    #[error("bad JSON: {0}")]
    Json(String),
    /// A subject, reply-to or queue group is empty or has whitespace/control chars.
    #[error("invalid subject {0:?}")]
    InvalidSubject(String),
    /// A header name or value cannot be represented on the wire.
    #[error("invalid header: {0}")]
    InvalidHeader(String),
}

/// Server INFO. Only the fields we use; unknown ones are ignored so newer
/// servers keep working.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    /// Unique id of the server instance.
    pub server_id: String,
    /// Configured server name.
    pub server_name: String,
    /// Server version string.
    pub version: String,
    /// Largest payload the server accepts.
    pub max_payload: u64,
    /// Whether the server understands HPUB/HMSG.
    pub headers: bool,
    /// Whether CONNECT must carry credentials.
    pub auth_required: bool,
    /// Nonce to sign for nkey/JWT auth.
    pub nonce: Option<String>,
    /// Server-assigned client id.
    pub client_id: Option<u64>,
}

/// NATS headers: the status line (e.g. `NATS/1.0 503`) plus ordered
/// key/value pairs. Names keep their case on the wire but compare
/// case-insensitively, as in HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Status code from the version line, e.g. 503 for "no responders".
    pub status: Option<u16>,
    /// Text after the status code.
    pub description: Option<String>,
    /// Header entries in wire order; a name may repeat.
    pub entries: Vec<(String, String)>,
}

impl Headers {
    /// Empty header set with no status.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `k` to `v`, replacing every existing value of that name (map
    /// semantics, which is what callers of `insert` expect); see [`Self::append`]
    /// for multi-valued headers.
    pub fn insert(&mut self, k: impl Into<String>, v: impl Into<String>) {
        let k = k.into();
        self.entries.retain(|(ek, _)| !ek.eq_ignore_ascii_case(&k));
        self.entries.push((k, v.into()));
    }

    /// Adds another value for `k`, keeping existing ones.
    pub fn append(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.entries.push((k.into(), v.into()));
    }

    /// First value of `k`, compared case-insensitively.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(ek, _)| ek.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

/// One delivered message (MSG or HMSG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Subject the message was published to.
    pub subject: String,
    /// Subscription id it was delivered for.
    pub sid: u64,
    /// Reply subject, if the publisher asked for one.
    pub reply_to: Option<String>,
    /// `Some` exactly when the message arrived as HMSG.
    pub headers: Option<Headers>,
    /// Raw payload bytes.
    pub payload: Vec<u8>,
}

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerOp {
    /// Server information (boxed: much larger than the other variants).
    Info(Box<ServerInfo>),
    /// A delivered message.
    Msg(Message),
    /// Keep-alive probe; answer with PONG.
    Ping,
    /// Answer to our PING.
    Pong,
    /// Acknowledgement in verbose mode.
    Ok,
    /// Protocol error text, without the surrounding quotes.
    Err(String),
}

/// A parsed MSG/HMSG control line whose payload has not fully arrived yet.
#[derive(Debug)]
struct PendingMsg {
    subject: String,
    sid: u64,
    reply_to: Option<String>,
    header_len: Option<usize>,
    total_len: usize,
}

/// Result of parsing one control line.
enum Control {
    Op(ServerOp),
    Msg(PendingMsg),
}
