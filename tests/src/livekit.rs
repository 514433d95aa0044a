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
