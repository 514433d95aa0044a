#!/usr/bin/env bash
# The whole test suite: formatting, lints (native and wasm32), unit tests,
# server integration tests against a real nats-server, browser tests in
# headless Chromium, and the end-to-end tests. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
. scripts/env.sh
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all --check
step "clippy (native)"
cargo clippy --locked --workspace --exclude quorum-client --all-targets -- -D warnings
step "clippy (client, wasm32)"
cargo clippy --locked -p quorum-client --target wasm32-unknown-unknown --all-targets -- -D warnings
step "building the client"
trunk build --release
step "client tests in headless Chromium"
CHROMEDRIVER=$(command -v chromedriver) \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --locked -p quorum-client --target wasm32-unknown-unknown
step "unit, integration and end-to-end tests"
cargo test --locked --workspace --exclude quorum-client
