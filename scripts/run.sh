#!/usr/bin/env bash
# Sets up, builds the client in release mode and starts the server. It
# prints a moderator and a participant link; Ctrl-C stops everything.
# Arguments go to the server, e.g. scripts/run.sh --config quorum.toml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
trunk build --release
exec cargo run --release --locked -p quorum-server --bin quorum -- "$@"
