//! Fuzzes the sans-IO NATS decoder with arbitrary server bytes.
//!
//! The decoder faces whatever a (possibly hostile or broken) server or
//! WebSocket relay sends, so beyond "never panics" we check the properties
//! callers rely on:
//!
//! * Chunking is invisible: feeding the stream in fuzzer-chosen pieces
//!   (including empty pushes, a byte at a time, and enough data to trigger
//!   buffer compaction) yields exactly the ops, and the error, of feeding it
//!   in one piece.
//! * Errors are sticky: after the first error every later call, even after
//!   more bytes arrive, returns that same error.
//! * Round trip: every decoded op that the client-side encoder can express
//!   (PING, PONG, and MSG/HMSG via PUB/HPUB) re-encodes to bytes that decode
//!   back to the identical op.
//!
//! Input layout (kept byte-oriented so libFuzzer's mutations and the
//! dictionary land mostly in the protocol text):
//!
//! ```text
//! flags [ceiling] cut_len* stream
//! flags bits 0-3  number of cut_len bytes that follow
//!       bits 4-5  the stream is repeated 1, 2, 4 or 16 times
//!       bit  6    after the cuts, trickle the rest one byte at a time
//!       bit  7    a ceiling byte follows: use it as the max payload
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum_shared::nats_proto::{
    encode, ClientOp, Decoder, ProtoError, ServerOp, DEFAULT_MAX_PAYLOAD, MAX_CONTROL_LINE,
};

/// How a run of the decoder ended: the ops it produced, then either the
/// error that stopped it or `None` if it was simply waiting for more bytes.
#[derive(Debug, PartialEq)]
struct Outcome {
    ops: Vec<ServerOp>,
    error: Option<ProtoError>,
}

/// Pulls ops until the decoder needs more bytes or fails. Returns `false`
/// once it has failed so the caller can check stickiness.
fn drain(dec: &mut Decoder, out: &mut Outcome) -> bool {
    if let Some(e) = &out.error {
        // Sticky: a failed decoder must keep reporting the same error.
        assert_eq!(dec.next_op().as_ref(), Err(e), "error was not sticky");
        return false;
    }
    loop {
        match dec.next_op() {
            Ok(Some(op)) => out.ops.push(op),
            Ok(None) => return true,
            Err(e) => {
                out.error = Some(e);
                return false;
            }
        }
    }
}

fn decode_chunks<'a>(max: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut dec = Decoder::with_max_payload(max);
    let mut out = Outcome {
        ops: Vec::new(),
        error: None,
    };
    for chunk in chunks {
        dec.push(chunk);
        drain(&mut dec, &mut out);
    }
    // Draining once more after the last push must not invent anything.
    let before = out.ops.len();
    drain(&mut dec, &mut out);
    assert_eq!(out.ops.len(), before, "op appeared without new bytes");
    out
}

/// Server-side wire bytes for `op` built with the client encoder, or `None`
/// when the encoder has no way to express it.
fn reencode(op: &ServerOp) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match op {
        // PING and PONG are spelled the same in both directions.
        ServerOp::Ping => encode(&ClientOp::Ping, &mut out).ok()?,
        ServerOp::Pong => encode(&ClientOp::Pong, &mut out).ok()?,
        ServerOp::Msg(m) => {
            let client_op = match &m.headers {
                None => ClientOp::Pub {
                    subject: &m.subject,
                    reply_to: m.reply_to.as_deref(),
                    payload: &m.payload,
                },
                Some(headers) => ClientOp::Hpub {
                    subject: &m.subject,
                    reply_to: m.reply_to.as_deref(),
                    headers,
                    payload: &m.payload,
                },
            };
            // The decoder is lenient (e.g. any non-space byte in a subject);
            // what the encoder refuses is simply out of scope here.
            encode(&client_op, &mut out).ok()?;
            // PUB/HPUB and MSG/HMSG share the size fields and the body; the
            // server form just renames the verb and adds the sid after the
            // subject. Splicing them in keeps the encoder's own sizes and
            // header block under test. Tokens are validated free of CR/LF, so
            // the first CRLF ends the control line.
            let eol = out
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("encoded op has a control line");
            let line = std::str::from_utf8(&out[..eol]).expect("control line is UTF-8");
            let mut words = line.split(' ');
            let verb = match words.next() {
                Some("PUB") => "MSG",
                Some("HPUB") => "HMSG",
                other => panic!("unexpected verb {other:?}"),
            };
            assert_eq!(words.next(), Some(m.subject.as_str()));
            let rest: Vec<&str> = words.collect();
            let mut wire =
                format!("{verb} {} {} {}\r\n", m.subject, m.sid, rest.join(" ")).into_bytes();
            wire.extend_from_slice(&out[eol + 2..]);
            return Some(wire);
        }
        // INFO, -ERR and +OK only ever travel server to client.
        ServerOp::Info(_) | ServerOp::Err(_) | ServerOp::Ok => return None,
    }
    Some(out)
}

fn check_round_trip(op: &ServerOp) {
    let Some(wire) = reencode(op) else { return };
    // The default ceiling: the re-encoded header block may be a little longer
    // than the original ("k:v\n" becomes "k: v\r\n").
    let mut dec = Decoder::with_max_payload(DEFAULT_MAX_PAYLOAD);
    dec.push(&wire);
    assert_eq!(
        dec.next_op().as_ref(),
        Ok(&Some(op.clone())),
        "round trip changed the op; wire = {:?}",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(dec.next_op(), Ok(None), "round trip left extra ops");
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut max = DEFAULT_MAX_PAYLOAD;
    if flags & 0x80 != 0 {
        // A tiny ceiling reaches the TooLarge paths with short inputs.
        let Some((&c, r)) = rest.split_first() else {
            return;
        };
        max = usize::from(c);
        rest = r;
    }
    let ncuts = usize::from(flags & 0x0f).min(rest.len());
    let (cuts, tail) = rest.split_at(ncuts);
    let repeats = [1, 2, 4, 16][usize::from((flags >> 4) & 0x3)];
    // Repeating drives the read position past the compaction threshold
    // without needing the fuzzer to grow huge inputs.
    let stream = tail.repeat(repeats);
    let trickle = flags & 0x40 != 0;

    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut pos = 0;
    for &c in cuts {
        let end = (pos + usize::from(c)).min(stream.len());
        chunks.push(&stream[pos..end]);
        pos = end;
    }
    if trickle {
        chunks.extend(stream[pos..].chunks(1));
    } else {
        chunks.push(&stream[pos..]);
    }

    let chunked = decode_chunks(max, chunks.iter().copied());

    // While waiting for a line end the decoder checks the limit against
    // everything buffered, CR included, so a line of exactly
    // MAX_CONTROL_LINE bytes passes in one piece but fails when its CR
    // arrives before its LF. Streams no longer than the limit cannot reach
    // that corner, and for them chunking must make no difference.
    if stream.len() <= MAX_CONTROL_LINE {
        let whole = decode_chunks(max, [stream.as_slice()]);
        assert_eq!(chunked, whole, "chunking changed the decoded stream");
    }

    for op in &chunked.ops {
        check_round_trip(op);
    }
});
