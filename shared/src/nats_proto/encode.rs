//! Writing client ops.

use serde::Serialize;

use super::decode::HEADER_VERSION;
use super::*;

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
pub(super) fn push_num(out: &mut Vec<u8>, n: u64) {
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
