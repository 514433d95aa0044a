#!/usr/bin/env bash
# Benchmarks the browser's E2EE layer (client/tests/crypto_bench.rs) in
# headless Chromium, release build: RoomKey::derive at 600k PBKDF2 rounds
# against a bare crypto.subtle.deriveBits, and seal/open of 1 KB messages.
# `--nocapture` makes wasm-bindgen-test-runner copy the page's console.log
# (the figures) to this terminal. Needs `scripts/setup.sh --test` first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_TIMEOUT=300 \
  cargo test --release -p quorum-client --target wasm32-unknown-unknown \
    --test crypto_bench -- --nocapture
