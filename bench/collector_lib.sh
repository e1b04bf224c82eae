# collector_lib.sh -- what the collector's bench scripts share
# (collector_e2e.sh, collector_footprint.sh; sourced, not run): the
# gateway started with examples/collector/run.sh and stopped with its
# Ctrl-C path, and a process tree read from /proc.

# collector_start BUILD RATE: run.sh in a process group of its own, its
# output in $tmp/out; sets pid (run.sh) and gw (the gateway's pid), or
# exits 1 when the gateway does not come up.
collector_start() {
  local i
  : >"$tmp/out" # before run.sh's own redirection: sed below may come first
  set -m
  "$here/../examples/collector/run.sh" --build "$1" --rate "$2" "${@:3}" \
    >"$tmp/out" 2>&1 &
  pid=$!
  set +m
  gw=""
  for ((i = 0; i < 300; i++)); do
    gw=$(sed -n 's/.* is up (pid \([0-9]*\)).*/\1/p' "$tmp/out")
    [ -n "$gw" ] && return 0
    sleep 0.1
  done
  cat "$tmp/out"
  echo "the gateway did not start" >&2
  exit 1
}

# collector_stop: run.sh's Ctrl-C (it stops everything it started, in
# order), then its exit.
collector_stop() {
  if [ -n "$pid" ]; then
    kill -INT -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}

# tree PID: PID and its descendants.
tree() {
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    tree "$c"
  done
}
