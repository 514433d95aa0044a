# Sourced by scripts/test.sh and scripts/bench-browser.sh: notes which of
# the processes a run may start are already running, so that `leak_check`
# at the end can fail the run if it left any of its own behind (a browser
# whose WebDriver session was never ended, a server a test did not stop).

# Process names (as `pgrep -x` sees them, at most 15 characters).
LEAK_NAMES='chromium|chrome|chrome_crashpad|chromedriver|quorum|nats-server'
# Zombies are left out: they are already dead, waiting to be reaped.
# Always succeeds: under `set -e -o pipefail`, a loop whose last test was
# false (the last process a zombie) ended test.sh at once, silently.
leak_pids() {
  local p state
  for p in $(pgrep -x "$LEAK_NAMES" 2>/dev/null); do
    state=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) || continue
    if [ -n "$state" ] && [ "$state" != Z ]; then
      echo "$p"
    fi
  done | sort
}
LEAK_BEFORE=$(leak_pids)

# Fails, naming them, if processes started since this file was sourced are
# still running. Processes that are just exiting get a few seconds.
leak_check() {
  local left deadline=$((SECONDS + 10))
  while :; do
    left=$(comm -13 <(printf '%s\n' "$LEAK_BEFORE") <(leak_pids) | tr '\n' ' ')
    [ -z "${left// /}" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.5
  done
  printf '\033[1;31mleft running by this run:\033[0m\n' >&2
  # shellcheck disable=SC2086 # a list of pids
  ps -o pid=,comm=,args= -p "$(echo $left | tr ' ' ',')" >&2 || true
  return 1
}
