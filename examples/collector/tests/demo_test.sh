#!/usr/bin/env bash
# demo_test.sh BUILD -- README.md's first command ends in run.sh: run it
# as a terminal would, wait for the live lines, press Ctrl-C (SIGINT to
# its whole process group, as a terminal does) and check that it stops
# everything in order, exits 0, reports a clean upstream, prints live
# lines that add up (stored - published = backlog) and leaves no process
# behind (nothing that still has its temp dir in its environment or
# command line).  Also demo.sh's take_port and
# demo_sanitized.
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/arbor-demo-XXXXXX)
pid=""
finish() {
  [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap finish EXIT
fail() {
  echo "FAILED: $*"
  echo "--- run.sh printed:"
  cat "$tmp/out"
  exit 1
}
# Everything run.sh starts inherits TMPDIR: that is how the leftovers
# are found.  Job control (set -m) makes run.sh a job of its own, with
# SIGINT not ignored (a non-interactive shell would start a background
# job with SIGINT ignored, and bash cannot trap a signal ignored at its
# entry): a process group a terminal's Ctrl-C would reach.
export TMPDIR=$tmp
# The demos' ports: never one an outgoing connection's own end can hold
# (the kernel's ephemeral range), never the same one twice in a run
# (nothing listens on them yet when a run picks them all).
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
ports=$(bash -c '. "$1"; for i in $(seq 400); do take_port p; echo "$p"; done' _ \
    "$here/../demo.sh") || fail "take_port"
[ "$(sort -u <<<"$ports" | wc -l)" = 400 ] || fail "take_port handed out a port twice"
while read -r p; do
  [ "$p" -ge 10000 ] && [ "$p" -lt "$low" ] || fail "take_port gave $p (ephemeral from $low)"
done <<<"$ports"
# A sanitizer's report in a program's log: demo_sanitized prints that
# log whole (run.sh then exits 1); a log without one prints nothing.
printf 'first line\n==7==WARNING: ThreadSanitizer: data race (rehearsed)\nlast line\n' \
    >"$tmp/san.log"
printf 'a log line\n' >"$tmp/clean.log"
san=$(bash -c '. "$1"; demo_sanitized gw1 "$2" && echo "gw1: true"
    demo_sanitized gw2 "$3" && echo "gw2: true"' _ "$here/../demo.sh" \
    "$tmp/san.log" "$tmp/clean.log" 2>&1)
[[ "$san" == *"gw1's log holds a sanitizer report"*"first line"*"(rehearsed)"*"last line"*"gw1: true"* ]] \
    && [[ "$san" != *gw2* ]] || fail "demo_sanitized printed: $san"
rm -f "$tmp/san.log" "$tmp/clean.log"
# A bad argument is refused before anything starts, naming it.
bad=$(timeout -s INT 20 "$here/../run.sh" --build "$build" --mqtt-rate fast 2>&1)
[ $? = 64 ] && [[ "$bad" == *"'fast' is not a number"* ]] ||
  fail "run.sh --mqtt-rate fast: $bad"
[ -z "$(ls "$tmp")" ] || fail "run.sh --mqtt-rate fast left $(ls "$tmp")"
set -m
"$here/../run.sh" --build "$build" --rate 20 >"$tmp/out" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 400; i++)); do
  [ "$(grep -c ' published ' "$tmp/out")" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || fail "run.sh ended early"
  sleep 0.1
done
[ "$(grep -c ' published ' "$tmp/out")" -ge 3 ] || fail "no live lines"
kill -INT -- "-$pid" # Ctrl-C
rc=0
for ((i = 0; i < 400; i++)); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
wait "$pid" || rc=$?
pid=""
cat "$tmp/out"
[ "$rc" = 0 ] || fail "run.sh exited $rc"
grep -q "^gateway exited 0 (a clean stop" "$tmp/out" || fail "the gateway's stop"
grep -q "event=total .* result=ok" "$tmp/out" || fail "the verifier"
# The live lines: stored, published and backlog are the store's, of one
# moment, so stored - published = backlog on every line (a line of the
# parser's and the uplink's counters, each as of its own heartbeat,
# showed published ahead of stored).
bad=$(awk '/ published / {
	for (i = 1; i + 5 <= NF; i++)
		if ($i == "stored" && $(i + 2) == "published" && $(i + 4) == "backlog" \
		    && $(i + 1) - $(i + 3) != $(i + 5))
			print
}' "$tmp/out")
[ -z "$bad" ] || fail "a live line's stored - published is not its backlog: $bad"
left=""
for ((i = 0; i < 50; i++)); do
  left=""
  for p in /proc/[0-9]*; do
    [ "$p" = "/proc/$$" ] && continue
    if grep -qs "$tmp" "$p/environ" "$p/cmdline"; then
      left="$left ${p#/proc/}"
    fi
  done
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "left running:$left"
leftdirs=$(ls "$tmp" | grep -v '^out$' || true)
[ -z "$leftdirs" ] || fail "left in TMPDIR: $leftdirs"
echo "run.sh: Ctrl-C stopped everything, exit 0, nothing left"
