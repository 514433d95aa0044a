//! LiveKit's own view of our tokens: `tests/node/verify_livekit_tokens.mjs`
//! runs npm `livekit-server-sdk`'s `TokenVerifier` (installed by
//! `scripts/setup.sh` with `npm ci`).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Checks each of `cases` (`{ label, token, expect: { sub, name,
/// maxTtlSecs, video: {…} } }`) with LiveKit's verifier for `key` and
/// `secret`; panics with its report unless every case holds.
pub fn assert_livekit_accepts(key: &str, secret: &str, cases: Value) {
    let root = crate::root();
    let mut child = Command::new("node")
        .arg(root.join("tests/node/verify_livekit_tokens.mjs"))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (scripts/setup.sh installs livekit-server-sdk with npm ci)");
    let input = json!({ "apiKey": key, "apiSecret": secret, "cases": cases });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write the cases");
    let out = child.wait_with_output().expect("node finishes");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "LiveKit's TokenVerifier disagrees:\n{report}"
    );
    let n = cases.as_array().map_or(0, Vec::len);
    assert_eq!(report.matches("ok ").count(), n, "{report}");
}

/// The `JoinRequest` a browser sent LiveKit in the `join_request` query
/// parameter of its `/rtc` upgrade (URL-safe base64 of a
/// `WrappedJoinRequest`, whose body may be gzipped). Panics with the reason
/// if it can't be read.
pub fn join_request(query: &str) -> livekit_protocol::JoinRequest {
    use base64::Engine;
    use livekit_protocol::wrapped_join_request::Compression;
    use prost::Message;
    use std::io::Read;

    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("join_request="))
        .unwrap_or_else(|| panic!("no join_request in {query}"));
    let text = percent_decode(raw);
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(text.trim())
        .expect("join_request is base64");
    let wrapped =
        livekit_protocol::WrappedJoinRequest::decode(&bytes[..]).expect("a WrappedJoinRequest");
    let body = if wrapped.compression == Compression::Gzip as i32 {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&wrapped.join_request[..])
            .read_to_end(&mut out)
            .expect("gzip");
        out
    } else {
        wrapped.join_request
    };
    livekit_protocol::JoinRequest::decode(&body[..]).expect("a JoinRequest")
}

/// `%XX` escapes decoded (a query value).
fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
