#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (the NATS decoder and the E2EE
# envelope), each for FUZZ_SECS seconds (default 60), and prints one summary
# line per target. Not part of CI: fuzzing needs nightly and minutes of CPU.
#   scripts/fuzz.sh                     every target
#   FUZZ_SECS=600 scripts/fuzz.sh e2ee_open
# Corpora persist in fuzz/corpus/, crash inputs land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
SECS=${FUZZ_SECS:-60}
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Build everything first so the timed runs measure fuzzing, not compiling.
say "building fuzz targets"
cargo +nightly fuzz build

# One field of libFuzzer's final status line, e.g. `field exec/s`.
field() { sed -n "s|.* $1: \([^ ]*\).*|\1|p" <<<"$done_line"; }

# Full logs stay beside the build output (ignored by git) for a look at
# coverage or a backtrace afterwards.
logdir=fuzz/target/fuzz-logs
mkdir -p "$logdir"
failed=0
summary=()
for t in "${targets[@]}"; do
  extra=()
  # A dictionary of protocol keywords gets the decoder past "unknown op"
  # within seconds instead of minutes.
  case $t in
    nats_decode) extra+=("-dict=$PWD/fuzz/dict/nats.dict") ;;
  esac
  log="$logdir/$t.log"
  say "fuzzing $t for ${SECS}s"
  if cargo +nightly fuzz run "$t" -- -max_total_time="$SECS" "${extra[@]}" >"$log" 2>&1; then
    # libFuzzer's closing lines: "#N DONE cov: C ft: F corp: ... exec/s: E"
    # and "Done N runs in S second(s)".
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 || true)
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n1)
    summary+=("$t: no crash, ${runs:-? runs}, $(field exec/s) exec/s, cov $(field cov), ft $(field ft), corpus $(field corp)")
  else
    tail -n 60 "$log"
    echo "(full log: $log)"
    summary+=("$t: FAILED (crash input and backtrace above; inputs in fuzz/artifacts/$t/)")
    failed=1
  fi
done

say "summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
