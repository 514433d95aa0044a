#!/usr/bin/env bash
# Browser benchmarks in headless Chromium, release build:
# - client/tests/crypto_bench.rs: RoomKey::derive at 600k PBKDF2 rounds
#   against a bare crypto.subtle.deriveBits, and seal/open of 1 KB messages;
# - client/tests/cache_bench.rs: restoring 1,000 cached chat messages after
#   a reload (plain and E2EE rooms).
# `--nocapture` makes wasm-bindgen-test-runner copy the page's console.log
# (the figures) to this terminal. Needs `scripts/setup.sh --test` first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/leaks.sh
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_TIMEOUT=300 \
  cargo test --release -p quorum-client --target wasm32-unknown-unknown \
    --test crypto_bench --test cache_bench -- --nocapture
leak_check
