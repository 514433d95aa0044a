//! Checks that `shared/vectors/e2ee.json` is exactly what the independent
//! Python script `scripts/e2ee_vectors.py` computes, so the vectors the
//! Rust and WebCrypto code are tested against can be reproduced by anyone.
//! Run with `cargo test -p quorum-shared --test vectors_script`.
//!
//! The script needs Python's `cryptography`. Where it is missing the test
//! says so and passes, unless `QUORUM_REQUIRE_VECTOR_SCRIPT=1` (set by
//! `scripts/test.sh`, whose setup installs it), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's own Python (scripts/setup.sh's venv) if present.
fn python() -> PathBuf {
    let venv = root().join(".tools/venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn has_cryptography(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import cryptography.hazmat.primitives.ciphers.aead"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_committed_vectors_are_what_the_script_computes() {
    let python = python();
    if !has_cryptography(&python) {
        let required = std::env::var("QUORUM_REQUIRE_VECTOR_SCRIPT").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{} cannot import `cryptography`: run scripts/setup.sh --test",
            python.display()
        );
        eprintln!(
            "skipped: {} has no `cryptography` (scripts/setup.sh --test installs it)",
            python.display()
        );
        return;
    }
    let out = Command::new(&python)
        .arg(root().join("scripts/e2ee_vectors.py"))
        .output()
        .expect("run scripts/e2ee_vectors.py");
    assert!(
        out.status.success(),
        "the script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let computed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/e2ee.json")).expect("vectors parse");
    assert_eq!(
        computed, committed,
        "shared/vectors/e2ee.json differs from scripts/e2ee_vectors.py's output"
    );
    // Byte for byte too, so regenerating the file is a no-op.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        include_str!("../vectors/e2ee.json")
    );
}
