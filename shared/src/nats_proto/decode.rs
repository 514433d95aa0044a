//! Incremental parsing of server ops.

use super::*;

/// Incremental decoder: feed arbitrary chunks (partial frames, several ops
/// per chunk, a message split across many chunks) and pull complete ops.
///
/// Errors are sticky: once the stream is out of sync there is no reliable
/// way back, so every later call returns the same error and the caller
/// should drop the connection.
pub struct Decoder {
    pub(super) buf: Vec<u8>,
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
                // One byte of slack: a full-length line's `\r` may arrive
                // before its `\n`; the complete line is checked below.
                if avail.len() > MAX_CONTROL_LINE + 1 {
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

/// First token of every header block.
pub(super) const HEADER_VERSION: &str = "NATS/1.0";

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
