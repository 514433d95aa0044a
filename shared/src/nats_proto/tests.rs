//! Unit tests of the codec.

use super::encode::push_num;
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
    // One byte over may still be the line's `\r`; two can't be.
    d.push(b"a");
    assert_eq!(d.next_op(), Ok(None));
    d.push(b"a");
    assert_eq!(d.next_op(), Err(ProtoError::ControlLineTooLong));
    let mut long = vec![b'a'; MAX_CONTROL_LINE + 1];
    long.extend_from_slice(b"\r\n");
    assert!(matches!(first_err(&long), ProtoError::ControlLineTooLong));
}

#[test]
fn full_length_line_is_accepted_however_it_is_split() {
    // Found by the fuzzer: a line of exactly the limit whose `\r` came in
    // a chunk before its `\n` was refused.
    let mut line = b"-ERR '".to_vec();
    line.resize(MAX_CONTROL_LINE - 1, b'x');
    line.push(b'\'');
    assert_eq!(line.len(), MAX_CONTROL_LINE);
    let mut d = Decoder::new();
    d.push(&line);
    assert_eq!(d.next_op(), Ok(None));
    d.push(b"\r");
    assert_eq!(d.next_op(), Ok(None));
    d.push(b"\n");
    assert!(matches!(d.next_op(), Ok(Some(ServerOp::Err(_)))));
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
