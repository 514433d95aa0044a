#!/usr/bin/env bash
# The whole test suite: formatting, lints (native and wasm32), unit tests,
# server integration tests against a real nats-server, browser tests in
# headless Chromium, and the end-to-end tests, and a check that no
# browser, chromedriver, server or nats-server the run started is still
# running at the end. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
. scripts/env.sh
. scripts/leaks.sh
# The independent computation of the E2EE test vectors must run here.
export QUORUM_REQUIRE_VECTOR_SCRIPT=1
# A one-off build gains nothing from incremental state, which would add
# gigabytes to target/ (CI's disk is not large).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all --check
step "clippy (native)"
cargo clippy --locked --workspace --exclude quorum-client --all-targets -- -D warnings
step "clippy (client, wasm32)"
cargo clippy --locked -p quorum-client --target wasm32-unknown-unknown --all-targets -- -D warnings
step "building the client"
trunk build --release
log=$(mktemp)
# On failure too, name whatever the run left running.
trap 'status=$?; rm -f "$log"; [ "$status" = 0 ] || leak_check || true' EXIT
step "client tests in headless Chromium"
CHROMEDRIVER=$(command -v chromedriver) \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --locked -p quorum-client --target wasm32-unknown-unknown 2>&1 | tee -a "$log"
step "unit, integration and end-to-end tests"
cargo test --locked --workspace --exclude quorum-client 2>&1 | tee -a "$log"

step "nothing left running"
leak_check
echo "no chromium, chromedriver, quorum or nats-server left behind"

# One closing line over every test binary (the last cargo line is often an
# empty doc-test run, which would read as "no tests").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1) } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
