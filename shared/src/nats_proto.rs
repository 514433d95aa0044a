//! Sans-IO codec for the NATS client protocol.
//!
//! The server (over TCP) and the browser client (over WebSocket) both speak
//! NATS, so the framing lives here once, free of any transport: callers feed
//! received bytes into a [`Decoder`] and write whatever [`encode`] appends.
//! Nothing in this module does I/O or reads a clock, which keeps it usable on
//! `wasm32-unknown-unknown` and trivially testable.

use serde::{Deserialize, Serialize};

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

/// Incremental decoder: feed arbitrary chunks (partial frames, several ops
/// per chunk, a message split across many chunks) and pull complete ops.
///
/// Errors are sticky: once the stream is out of sync there is no reliable
/// way back, so every later call returns the same error and the caller
/// should drop the connection.
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of the unread bytes; consumed bytes stay until compaction so
    /// that each op does not shift the whole buffer.
    pos: usize,
    /// Bytes after `pos` already searched for a line end, so a control line
    /// trickling in byte by byte is not rescanned from its start.
    scanned: usize,
    pending: Option<PendingMsg>,
    max_payload: usize,
    failed: Option<ProtoError>,
}

impl std::fmt::Debug for Decoder {
    // Hand-written so logging a decoder does not dump megabytes of payload.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("buffered", &(self.buf.len() - self.pos))
            .field("pending", &self.pending)
            .field("max_payload", &self.max_payload)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// Decoder with the [`DEFAULT_MAX_PAYLOAD`] ceiling.
    pub fn new() -> Self {
        Self::with_max_payload(DEFAULT_MAX_PAYLOAD)
    }

    /// Decoder that rejects messages larger than `max` bytes (headers
    /// included) with [`ProtoError::TooLarge`].
    pub fn with_max_payload(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            pending: None,
            max_payload: max,
            failed: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= COMPACT_THRESHOLD && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Next complete op, `Ok(None)` if more bytes are needed.
    pub fn next_op(&mut self) -> Result<Option<ServerOp>, ProtoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.step();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn step(&mut self) -> Result<Option<ServerOp>, ProtoError> {
        while self.pending.is_none() {
            let avail = &self.buf[self.pos..];
            let Some(i) = avail[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = avail.len();
                if avail.len() > MAX_CONTROL_LINE {
                    return Err(ProtoError::ControlLineTooLong);
                }
                return Ok(None);
            };
            let end = self.scanned + i;
            let line = avail[..end].strip_suffix(b"\r").unwrap_or(&avail[..end]);
            if line.len() > MAX_CONTROL_LINE {
                return Err(ProtoError::ControlLineTooLong);
            }
            let parsed = if line.iter().all(|b| b.is_ascii_whitespace()) {
                None // tolerate stray blank lines between ops
            } else {
                Some(parse_control(line, self.max_payload)?)
            };
            self.pos += end + 1;
            self.scanned = 0;
            match parsed {
                None => {}
                Some(Control::Op(op)) => return Ok(Some(op)),
                Some(Control::Msg(p)) => self.pending = Some(p),
            }
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        // Payload plus its trailing CRLF.
        let need = p.total_len.saturating_add(2);
        let have = self.buf.len() - self.pos;
        if have < need {
            // Reserving up front spares a big message arriving in many chunks
            // repeated reallocation. It is only an optimisation: if a huge
            // configured limit makes it fail, the buffer just grows as bytes
            // arrive, so the error is deliberately ignored.
            let _ = self.buf.try_reserve(need - have);
            self.pending = Some(p);
            return Ok(None);
        }
        let frame = &self.buf[self.pos..self.pos + need];
        if &frame[p.total_len..] != b"\r\n" {
            return Err(ProtoError::Malformed("payload not followed by CRLF"));
        }
        let hlen = p.header_len.unwrap_or(0);
        let headers = match p.header_len {
            Some(h) => Some(parse_headers(&frame[..h])?),
            None => None,
        };
        let payload = frame[hlen..p.total_len].to_vec();
        self.pos += need;
        Ok(Some(ServerOp::Msg(Message {
            subject: p.subject,
            sid: p.sid,
            reply_to: p.reply_to,
            headers,
            payload,
        })))
    }
}

fn is_sep(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Digits only (no sign, unlike `str::parse`); a digit string too long for
/// `u64` saturates, so an absurd size still reports as too large.
fn parse_num(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| s.parse().unwrap_or(u64::MAX))
}

fn parse_size(s: &str, max: usize) -> Result<usize, ProtoError> {
    let size = parse_num(s).ok_or(ProtoError::Malformed("size is not a number"))?;
    match usize::try_from(size) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(ProtoError::TooLarge { size, max }),
    }
}

fn parse_control(line: &[u8], max: usize) -> Result<Control, ProtoError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| ProtoError::Malformed("control line is not UTF-8"))?
        .trim_matches(is_sep);
    let (op, rest) = line.split_once(is_sep).unwrap_or((line, ""));
    let rest = rest.trim_matches(is_sep);
    let no_args = |op: ServerOp| {
        if rest.is_empty() {
            Ok(Control::Op(op))
        } else {
            Err(ProtoError::Malformed("unexpected arguments"))
        }
    };
    let upper = op.to_ascii_uppercase();
    match upper.as_str() {
        "PING" => no_args(ServerOp::Ping),
        "PONG" => no_args(ServerOp::Pong),
        "+OK" => no_args(ServerOp::Ok),
        "-ERR" => {
            let msg = rest
                .strip_prefix('\'')
                .and_then(|m| m.strip_suffix('\''))
                .unwrap_or(rest);
            Ok(Control::Op(ServerOp::Err(msg.to_string())))
        }
        "INFO" => serde_json::from_str::<ServerInfo>(rest)
            .map(|i| Control::Op(ServerOp::Info(Box::new(i))))
            .map_err(|e| ProtoError::Json(e.to_string())),
        "MSG" | "HMSG" => {
            let hdr = upper == "HMSG";
            let args: Vec<&str> = rest.split(is_sep).filter(|a| !a.is_empty()).collect();
            let sizes = if hdr { 2 } else { 1 };
            let reply_to = match args.len() - sizes.min(args.len()) {
                2 => None,
                3 => Some(args[2].to_string()),
                _ => return Err(ProtoError::Malformed("wrong number of MSG arguments")),
            };
            let sid = parse_num(args[1]).ok_or(ProtoError::Malformed("sid is not a number"))?;
            let total_len = parse_size(args[args.len() - 1], max)?;
            let header_len = if hdr {
                let h = parse_size(args[args.len() - 2], max)?;
                if h > total_len {
                    return Err(ProtoError::Malformed("header size exceeds total size"));
                }
                Some(h)
            } else {
                None
            };
            Ok(Control::Msg(PendingMsg {
                subject: args[0].to_string(),
                sid,
                reply_to,
                header_len,
                total_len,
            }))
        }
        _ => Err(ProtoError::UnknownOp(op.chars().take(32).collect())),
    }
}

const HEADER_VERSION: &str = "NATS/1.0";

fn parse_headers(block: &[u8]) -> Result<Headers, ProtoError> {
    let text =
        std::str::from_utf8(block).map_err(|_| ProtoError::Malformed("headers are not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines
        .next()
        .and_then(|l| l.strip_prefix(HEADER_VERSION))
        .ok_or(ProtoError::Malformed(
            "headers lack the NATS/1.0 version line",
        ))?;
    let mut h = Headers::new();
    if !status_line.is_empty() {
        if !status_line.starts_with(is_sep) {
            return Err(ProtoError::Malformed("bad header version line"));
        }
        let s = status_line.trim_matches(is_sep);
        let (code, desc) = s.split_once(is_sep).unwrap_or((s, ""));
        let code = parse_num(code).and_then(|c| u16::try_from(c).ok());
        h.status = Some(code.ok_or(ProtoError::Malformed("bad header status code"))?);
        let desc = desc.trim_matches(is_sep);
        h.description = (!desc.is_empty()).then(|| desc.to_string());
    }
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once(':')
            .ok_or(ProtoError::Malformed("header line without ':'"))?;
        let k = k.trim_matches(is_sep);
        if k.is_empty() {
            return Err(ProtoError::Malformed("empty header name"));
        }
        h.entries
            .push((k.to_string(), v.trim_matches(is_sep).to_string()));
    }
    Ok(h)
}

/// CONNECT options, serialized as JSON with `None` fields omitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectOptions {
    /// Ask the server to `+OK` every op (we never want that round trip).
    pub verbose: bool,
    /// Ask the server for strict checking (e.g. of publish subjects).
    pub pedantic: bool,
    /// Client implementation language.
    pub lang: String,
    /// Client version.
    pub version: String,
    /// Protocol level; 1 enables async INFO updates.
    pub protocol: u8,
    /// Whether we understand HMSG.
    pub headers: bool,
    /// Get a 503 status message instead of silence when a request has no responders.
    pub no_responders: bool,
    /// Whether we receive our own publishes.
    pub echo: bool,
    /// Connection name shown in server monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Token authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// User for user/password authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Password for user/password authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            verbose: false,
            pedantic: false,
            lang: "rust".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: 1,
            headers: true,
            no_responders: true,
            echo: true,
            name: None,
            auth_token: None,
            user: None,
            pass: None,
        }
    }
}

/// Client ops to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientOp<'a> {
    /// Handshake options; must be the first op sent.
    Connect(&'a ConnectOptions),
    /// Publish without headers.
    Pub {
        /// Destination subject.
        subject: &'a str,
        /// Subject for replies.
        reply_to: Option<&'a str>,
        /// Message body.
        payload: &'a [u8],
    },
    /// Publish with headers.
    Hpub {
        /// Destination subject.
        subject: &'a str,
        /// Subject for replies.
        reply_to: Option<&'a str>,
        /// Message headers.
        headers: &'a Headers,
        /// Message body.
        payload: &'a [u8],
    },
    /// Subscribe; wildcards allowed.
    Sub {
        /// Subject pattern.
        subject: &'a str,
        /// Queue group for load-balanced delivery.
        queue_group: Option<&'a str>,
        /// Our id for this subscription, echoed in MSG.
        sid: u64,
    },
    /// Unsubscribe, now or after `max_msgs` more messages.
    Unsub {
        /// Subscription id.
        sid: u64,
        /// Auto-unsubscribe after this many messages.
        max_msgs: Option<u64>,
    },
    /// Keep-alive probe.
    Ping,
    /// Answer to the server's PING.
    Pong,
}

/// A token that could not be parsed back (empty, or containing a byte that
/// separates arguments or lines) would desynchronise the stream.
fn check_subject(s: &str) -> Result<(), ProtoError> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ProtoError::InvalidSubject(s.to_string()));
    }
    Ok(())
}

fn encode_headers(h: &Headers) -> Result<Vec<u8>, ProtoError> {
    let bad = |what: &str, s: &str| Err(ProtoError::InvalidHeader(format!("{what} {s:?}")));
    let mut out = HEADER_VERSION.as_bytes().to_vec();
    match (h.status, &h.description) {
        (Some(code), desc) => {
            out.push(b' ');
            push_num(&mut out, u64::from(code));
            if let Some(d) = desc {
                if d.chars().any(|c| c.is_control()) {
                    return bad("description", d);
                }
                out.push(b' ');
                out.extend_from_slice(d.as_bytes());
            }
        }
        (None, Some(d)) => return bad("description without status", d),
        (None, None) => {}
    }
    out.extend_from_slice(b"\r\n");
    for (k, v) in &h.entries {
        if k.is_empty()
            || k.chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            return bad("name", k);
        }
        if v.chars().any(|c| c == '\r' || c == '\n') {
            return bad("value", v);
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Decimal digits straight into the buffer; the encoder stays allocation-free
/// apart from the header block.
fn push_num(out: &mut Vec<u8>, n: u64) {
    if n >= 10 {
        push_num(out, n / 10);
    }
    out.push(b'0' + (n % 10) as u8);
}

/// Writes one control line: the present `words`, then the present `nums`,
/// space separated, then CRLF.
fn push_line(out: &mut Vec<u8>, words: &[Option<&str>], nums: &[Option<u64>]) {
    for (i, w) in words.iter().flatten().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(w.as_bytes());
    }
    for n in nums.iter().flatten() {
        out.push(b' ');
        push_num(out, *n);
    }
    out.extend_from_slice(b"\r\n");
}

/// Append the wire bytes of `op` to `out`.
///
/// Everything is validated before the first byte is written, so on error
/// `out` is untouched and no half frame can reach the server.
pub fn encode(op: &ClientOp<'_>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let (subject, extra) = match *op {
        ClientOp::Pub {
            subject, reply_to, ..
        }
        | ClientOp::Hpub {
            subject, reply_to, ..
        } => (Some(subject), reply_to),
        ClientOp::Sub {
            subject,
            queue_group,
            ..
        } => (Some(subject), queue_group),
        _ => (None, None),
    };
    for s in subject.into_iter().chain(extra) {
        check_subject(s)?;
    }
    match *op {
        ClientOp::Connect(opts) => {
            let json = serde_json::to_string(opts).map_err(|e| ProtoError::Json(e.to_string()))?;
            push_line(out, &[Some("CONNECT"), Some(&json)], &[]);
        }
        ClientOp::Pub {
            subject,
            reply_to,
            payload,
        } => {
            push_line(
                out,
                &[Some("PUB"), Some(subject), reply_to],
                &[Some(payload.len() as u64)],
            );
            out.extend_from_slice(payload);
            out.extend_from_slice(b"\r\n");
        }
        ClientOp::Hpub {
            subject,
            reply_to,
            headers,
            payload,
        } => {
            let hdr = encode_headers(headers)?;
            let sizes = [
                Some(hdr.len() as u64),
                Some((hdr.len() + payload.len()) as u64),
            ];
            push_line(out, &[Some("HPUB"), Some(subject), reply_to], &sizes);
            out.extend_from_slice(&hdr);
            out.extend_from_slice(payload);
            out.extend_from_slice(b"\r\n");
        }
        ClientOp::Sub {
            subject,
            queue_group,
            sid,
        } => {
            push_line(
                out,
                &[Some("SUB"), Some(subject), queue_group],
                &[Some(sid)],
            );
        }
        ClientOp::Unsub { sid, max_msgs } => {
            push_line(out, &[Some("UNSUB")], &[Some(sid), max_msgs])
        }
        ClientOp::Ping => push_line(out, &[Some("PING")], &[]),
        ClientOp::Pong => push_line(out, &[Some("PONG")], &[]),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(d: &mut Decoder) -> Result<Vec<ServerOp>, ProtoError> {
        let mut ops = Vec::new();
        while let Some(op) = d.next_op()? {
            ops.push(op);
        }
        Ok(ops)
    }

    fn decode(bytes: &[u8]) -> Result<Vec<ServerOp>, ProtoError> {
        let mut d = Decoder::new();
        d.push(bytes);
        decode_all(&mut d)
    }

    fn first_err(bytes: &[u8]) -> ProtoError {
        match decode(bytes) {
            Err(e) => e,
            Ok(ops) => panic!("{:?} decoded to {ops:?}", String::from_utf8_lossy(bytes)),
        }
    }

    fn msg(subject: &str, sid: u64, reply: Option<&str>, payload: &[u8]) -> ServerOp {
        ServerOp::Msg(Message {
            subject: subject.into(),
            sid,
            reply_to: reply.map(Into::into),
            headers: None,
            payload: payload.to_vec(),
        })
    }

    fn enc(op: ClientOp<'_>) -> Result<Vec<u8>, ProtoError> {
        let mut out = Vec::new();
        encode(&op, &mut out).map(|()| out)
    }

    const MIXED: &[u8] = b"INFO {\"server_id\":\"S1\",\"version\":\"2.15.1\",\"max_payload\":1048576,\"headers\":true,\"nonce\":\"abc\",\"client_id\":7,\"unknown\":[1]}\r\n\
PING\r\npong\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n\
MSG a.b 1 5\r\nhello\r\nmsg\ta.b\t 2  inbox.x 0\r\n\r\n\
HMSG a.c 3 26 28\r\nNATS/1.0\r\nK: v\r\nX:  y \r\n\r\nhi\r\n";

    fn mixed_expected() -> Vec<ServerOp> {
        let mut h = Headers::new();
        h.append("K", "v");
        h.append("X", "y");
        vec![
            ServerOp::Info(Box::new(ServerInfo {
                server_id: "S1".into(),
                version: "2.15.1".into(),
                max_payload: 1 << 20,
                headers: true,
                nonce: Some("abc".into()),
                client_id: Some(7),
                ..ServerInfo::default()
            })),
            ServerOp::Ping,
            ServerOp::Pong,
            ServerOp::Ok,
            ServerOp::Err("Unknown Protocol Operation".into()),
            msg("a.b", 1, None, b"hello"),
            msg("a.b", 2, Some("inbox.x"), b""),
            ServerOp::Msg(Message {
                subject: "a.c".into(),
                sid: 3,
                reply_to: None,
                headers: Some(h),
                payload: b"hi".to_vec(),
            }),
        ]
    }

    #[test]
    fn decodes_every_op_in_one_chunk() {
        assert_eq!(decode(MIXED).unwrap(), mixed_expected());
    }

    #[test]
    fn decodes_byte_by_byte() {
        let mut d = Decoder::new();
        let mut ops = Vec::new();
        for b in MIXED {
            d.push(std::slice::from_ref(b));
            ops.extend(decode_all(&mut d).unwrap());
        }
        assert_eq!(ops, mixed_expected());
        assert_eq!(d.next_op(), Ok(None));
    }

    #[test]
    fn decodes_at_every_split_point() {
        for split in 0..MIXED.len() {
            let mut d = Decoder::new();
            d.push(&MIXED[..split]);
            let mut ops = decode_all(&mut d).unwrap();
            d.push(&MIXED[split..]);
            ops.extend(decode_all(&mut d).unwrap());
            assert_eq!(ops, mixed_expected(), "split at {split}");
        }
    }

    #[test]
    fn payload_may_contain_crlf_and_op_names() {
        let ops = decode(b"MSG s 1 12\r\nPING\r\n\r\nMSG \r\nPONG\r\n").unwrap();
        assert_eq!(
            ops,
            vec![msg("s", 1, None, b"PING\r\n\r\nMSG "), ServerOp::Pong]
        );
    }

    #[test]
    fn hmsg_status_without_entries() {
        let ops = decode(b"HMSG _INBOX.a 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n").unwrap();
        let ServerOp::Msg(m) = &ops[0] else {
            panic!("{ops:?}")
        };
        let h = m.headers.as_ref().unwrap();
        assert_eq!((h.status, h.description.as_deref()), (Some(503), None));
        assert!(h.entries.is_empty() && m.payload.is_empty());
        let ops = decode(b"HMSG s 1 r 32 33\r\nNATS/1.0 408 Request Timeout\r\n\r\nx\r\n").unwrap();
        let ServerOp::Msg(m) = &ops[0] else {
            panic!("{ops:?}")
        };
        let h = m.headers.as_ref().unwrap();
        assert_eq!(h.status, Some(408));
        assert_eq!(h.description.as_deref(), Some("Request Timeout"));
        assert_eq!(
            (m.reply_to.as_deref(), &m.payload[..]),
            (Some("r"), &b"x"[..])
        );
    }

    #[test]
    fn headers_round_trip_through_hpub() {
        let mut h = Headers::new();
        h.status = Some(100);
        h.description = Some("Idle Heartbeat".into());
        h.insert("Nats-Msg-Id", "1");
        h.append("multi", "a");
        h.append("Multi", "b c");
        let payload = b"body\r\nwith crlf";
        let wire = enc(ClientOp::Hpub {
            subject: "s.t",
            reply_to: Some("r"),
            headers: &h,
            payload,
        })
        .unwrap();
        // The server relays HPUB as HMSG with the sid inserted after the subject.
        let rewritten = [b"HMSG s.t 42".as_slice(), &wire[b"HPUB s.t".len()..]].concat();
        let ops = decode(&rewritten).unwrap();
        assert_eq!(
            ops,
            vec![ServerOp::Msg(Message {
                subject: "s.t".into(),
                sid: 42,
                reply_to: Some("r".into()),
                headers: Some(h),
                payload: payload.to_vec(),
            })]
        );
    }

    #[test]
    fn headers_insert_replaces_and_get_ignores_case() {
        let mut h = Headers::new();
        h.insert("Key", "1");
        h.append("key", "2");
        assert_eq!(h.get("KEY"), Some("1"));
        h.insert("kEy", "3");
        assert_eq!(h.entries, vec![("kEy".to_string(), "3".to_string())]);
        assert_eq!(h.get("missing"), None);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        use ProtoError::*;
        let cases: &[(&[u8], ProtoError)] = &[
            (b"FOO bar\r\n", UnknownOp("FOO".into())),
            (b"MSG a 1\r\n", Malformed("wrong number of MSG arguments")),
            (b"MSG\r\n", Malformed("wrong number of MSG arguments")),
            (
                b"MSG a b c d e\r\n",
                Malformed("wrong number of MSG arguments"),
            ),
            (
                b"HMSG a 1 2\r\n",
                Malformed("wrong number of MSG arguments"),
            ),
            (b"MSG a x 1\r\nx\r\n", Malformed("sid is not a number")),
            (b"MSG a 1 -1\r\n", Malformed("size is not a number")),
            (b"MSG a 1 +1\r\n", Malformed("size is not a number")),
            (
                b"HMSG a 1 5 4\r\n",
                Malformed("header size exceeds total size"),
            ),
            (
                b"MSG a 1 2\r\nabcd\r\n",
                Malformed("payload not followed by CRLF"),
            ),
            (
                b"HMSG a 1 4 4\r\nNATS\r\n",
                Malformed("headers lack the NATS/1.0 version line"),
            ),
            (
                b"HMSG a 1 13 13\r\nNATS/1.0x\r\n\r\n\r\n",
                Malformed("bad header version line"),
            ),
            (
                b"HMSG a 1 16 16\r\nNATS/1.0 abc\r\n\r\n\r\n",
                Malformed("bad header status code"),
            ),
            (
                b"HMSG a 1 18 18\r\nNATS/1.0\r\nnoco\r\n\r\n\r\n",
                Malformed("header line without ':'"),
            ),
            (
                b"HMSG a 1 16 16\r\nNATS/1.0\r\n:v\r\n\r\n\r\n",
                Malformed("empty header name"),
            ),
            (
                b"HMSG a 1 15 15\r\nNATS/1.0\r\n\xff\r\n\r\n\r\n",
                Malformed("headers are not UTF-8"),
            ),
            (b"PING x\r\n", Malformed("unexpected arguments")),
            (b"\xff\xfe\r\n", Malformed("control line is not UTF-8")),
        ];
        for (input, want) in cases {
            assert_eq!(
                &first_err(input),
                want,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert!(matches!(first_err(b"INFO {not json\r\n"), Json(_)));
        assert!(matches!(first_err(b"INFO\r\n"), Json(_)));
    }

    #[test]
    fn errors_are_sticky() {
        let mut d = Decoder::new();
        d.push(b"BOGUS\r\nPING\r\n");
        let e = d.next_op().unwrap_err();
        d.push(b"PING\r\n");
        assert_eq!(d.next_op(), Err(e));
    }

    #[test]
    fn endless_control_line_is_bounded() {
        let mut d = Decoder::new();
        let junk = vec![b'a'; 1024];
        for _ in 0..64 {
            d.push(&junk);
            assert_eq!(d.next_op(), Ok(None));
        }
        d.push(b"a");
        assert_eq!(d.next_op(), Err(ProtoError::ControlLineTooLong));
        let mut long = vec![b'a'; MAX_CONTROL_LINE + 1];
        long.extend_from_slice(b"\r\n");
        assert!(matches!(first_err(&long), ProtoError::ControlLineTooLong));
    }

    #[test]
    fn oversize_payload_is_refused() {
        let mut d = Decoder::with_max_payload(10);
        d.push(b"MSG a 1 10\r\n0123456789\r\nMSG a 1 11\r\n");
        assert_eq!(d.next_op(), Ok(Some(msg("a", 1, None, b"0123456789"))));
        assert_eq!(d.next_op(), Err(ProtoError::TooLarge { size: 11, max: 10 }));
        let e = first_err(b"MSG a 1 99999999999999999999999\r\n");
        assert_eq!(
            e,
            ProtoError::TooLarge {
                size: u64::MAX,
                max: DEFAULT_MAX_PAYLOAD
            }
        );
    }

    #[test]
    fn large_message_in_small_chunks() {
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = b"MSG big 1 1000000\r\n".to_vec();
        wire.extend_from_slice(&payload);
        wire.extend_from_slice(b"\r\nPING\r\n");
        let mut d = Decoder::new();
        let mut ops = Vec::new();
        for chunk in wire.chunks(97) {
            d.push(chunk);
            ops.extend(decode_all(&mut d).unwrap());
        }
        assert_eq!(ops, vec![msg("big", 1, None, &payload), ServerOp::Ping]);
    }

    #[test]
    fn buffer_is_compacted() {
        let mut d = Decoder::new();
        for _ in 0..100_000 {
            // Leave a partial op behind each time so the buffer never empties.
            d.push(b"\r\nPING");
            while d.next_op().unwrap().is_some() {}
        }
        assert!(
            d.buf.len() < 4 * COMPACT_THRESHOLD,
            "buffer grew to {}",
            d.buf.len()
        );
    }

    #[test]
    fn encodes_every_op() {
        let opts = ConnectOptions {
            name: Some("n".into()),
            ..ConnectOptions::default()
        };
        let c = enc(ClientOp::Connect(&opts)).unwrap();
        let json = c
            .strip_prefix(b"CONNECT ")
            .unwrap()
            .strip_suffix(b"\r\n")
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(v["name"], "n");
        assert_eq!(v["protocol"], 1);
        assert_eq!(
            (v["headers"].as_bool(), v["verbose"].as_bool()),
            (Some(true), Some(false))
        );
        assert!(v.get("auth_token").is_none() && v.get("pass").is_none());

        let cases: &[(ClientOp<'_>, &[u8])] = &[
            (
                ClientOp::Pub {
                    subject: "a",
                    reply_to: None,
                    payload: b"hi",
                },
                b"PUB a 2\r\nhi\r\n",
            ),
            (
                ClientOp::Pub {
                    subject: "a",
                    reply_to: Some("r"),
                    payload: b"",
                },
                b"PUB a r 0\r\n\r\n",
            ),
            (
                ClientOp::Hpub {
                    subject: "a",
                    reply_to: None,
                    headers: &Headers::new(),
                    payload: b"x",
                },
                b"HPUB a 12 13\r\nNATS/1.0\r\n\r\nx\r\n",
            ),
            (
                ClientOp::Sub {
                    subject: "a.>",
                    queue_group: None,
                    sid: 1,
                },
                b"SUB a.> 1\r\n",
            ),
            (
                ClientOp::Sub {
                    subject: "a.*",
                    queue_group: Some("q"),
                    sid: 20,
                },
                b"SUB a.* q 20\r\n",
            ),
            (
                ClientOp::Unsub {
                    sid: 3,
                    max_msgs: None,
                },
                b"UNSUB 3\r\n",
            ),
            (
                ClientOp::Unsub {
                    sid: 3,
                    max_msgs: Some(10),
                },
                b"UNSUB 3 10\r\n",
            ),
            (ClientOp::Ping, b"PING\r\n"),
            (ClientOp::Pong, b"PONG\r\n"),
        ];
        for (op, want) in cases {
            assert_eq!(enc(*op).unwrap(), *want, "{op:?}");
        }
        let mut out = Vec::new();
        push_num(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn invalid_subjects_are_refused() {
        let h = Headers::new();
        for bad in ["", "a b", "a\tb", "a\r\nPING", "a\0", "a\u{7f}", "a\u{a0}b"] {
            let want = Err(ProtoError::InvalidSubject(bad.to_string()));
            let ops = [
                ClientOp::Pub {
                    subject: bad,
                    reply_to: None,
                    payload: b"",
                },
                ClientOp::Pub {
                    subject: "ok",
                    reply_to: Some(bad),
                    payload: b"",
                },
                ClientOp::Hpub {
                    subject: bad,
                    reply_to: None,
                    headers: &h,
                    payload: b"",
                },
                ClientOp::Hpub {
                    subject: "ok",
                    reply_to: Some(bad),
                    headers: &h,
                    payload: b"",
                },
                ClientOp::Sub {
                    subject: bad,
                    queue_group: None,
                    sid: 1,
                },
                ClientOp::Sub {
                    subject: "ok",
                    queue_group: Some(bad),
                    sid: 1,
                },
            ];
            for op in ops {
                let mut out = b"keep".to_vec();
                assert_eq!(encode(&op, &mut out), want, "{op:?}");
                assert_eq!(out, b"keep", "nothing written on error");
            }
        }
    }

    #[test]
    fn invalid_headers_are_refused() {
        let mut bad_headers = Vec::new();
        for (k, v) in [
            ("", "v"),
            ("a:b", "v"),
            ("a b", "v"),
            ("k", "v\r\nX: y"),
            ("k", "v\n"),
        ] {
            let mut h = Headers::new();
            h.append(k, v);
            bad_headers.push(h);
        }
        bad_headers.push(Headers {
            description: Some("no status".into()),
            ..Headers::new()
        });
        bad_headers.push(Headers {
            status: Some(503),
            description: Some("x\r\n".into()),
            ..Headers::new()
        });
        for h in &bad_headers {
            let mut out = Vec::new();
            let op = ClientOp::Hpub {
                subject: "s",
                reply_to: None,
                headers: h,
                payload: b"",
            };
            assert!(
                matches!(encode(&op, &mut out), Err(ProtoError::InvalidHeader(_))),
                "{h:?}"
            );
            assert!(out.is_empty());
        }
    }
}
