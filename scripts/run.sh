#!/usr/bin/env bash
# Sets up, builds the client in release mode and starts the server. It
# prints a moderator and a participant link; Ctrl-C stops everything.
# Arguments go to the server, e.g. scripts/run.sh --config quorum.toml
# The demo room (and its links) is on here, for a local try-out; the server
# itself, the Docker image and --config deployments have it off unless
# QUORUM_DEMO_ROOM=true or `demo_room = true` is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
trunk build --release
export QUORUM_DEMO_ROOM="${QUORUM_DEMO_ROOM:-true}"
exec cargo run --release --locked -p quorum-server --bin quorum -- "$@"
