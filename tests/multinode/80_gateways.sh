#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 80_gateways.sh -- examples/multinode as its README runs it (issue 12,
# "three nodes (two gateways, one central) pass readings"): run.sh starts
# a central node and two collector gateways on loopback ports, each
# gateway's uplink publishing through root/upstream@central (name@node,
# calls answered across the links).  A few seconds in, central is
# SIGKILLed; run.sh starts it again 3 s later (a new incarnation).
# Checked: both gateways' readings reached the upstream broker through
# central, with no gap and in order (duplicates are allowed: at-least-once
# across central's death), including what the gateways stored while
# central was away; every live line adds up (stored - published =
# backlog); every node's last stop was clean; nothing left.
set -u
build=$(cd "$(dirname "$ARBOR_BIN")/../../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
run="$here/../../examples/multinode/run.sh"
[ -x "$build/examples/collector/collector-verify" ] \
    || { echo "no collector programs in $build: skipped"; exit 77; }
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] \
    || { echo "no mosquitto: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/arbor-mn70-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAILED: $*"; echo "--- run.sh printed:"; cat "$tmp/out"; exit 1; }
scale=${ARB_TEST_TIMEOUT_SCALE:-1}
secs=$((14 * scale))
# wait_for RE S: until run.sh printed a line matching RE (bounded).
wait_for() {
	local i
	for ((i = 0; i < $2 * 20 * scale; i++)); do
		grep -Eqs -- "$1" "$tmp/out" && return 0
		kill -0 "$rp" 2>/dev/null || fail "run.sh ended waiting for /$1/"
		sleep 0.05
	done
	fail "no /$1/ in $2 s"
}
# run.sh (through timeout, which passes a SIGTERM on to it) ends with
# this script, its trap then stops its nodes and brokers: a script
# killed outright (ctest's SIGKILL at its timeout) runs no trap of its own.
guard=()
setpriv --pdeathsig TERM true 2>/dev/null && guard=(setpriv --pdeathsig TERM)
TMPDIR=$tmp "${guard[@]}" timeout -s INT $((secs + 60)) "$run" --build "$build" \
    --seconds "$secs" --rate 50 >"$tmp/out" 2>&1 &
rp=$!
wait_for "^nodes up: central \(pid [0-9]+\)" 30
central=$(sed -n 's/^nodes up: central (pid \([0-9]*\)).*/\1/p' "$tmp/out")
wait_for "gw2 stored +[1-9][0-9]* published +[1-9]" 20
kill -KILL "$central"
wait_for "central ended on its own \(status 137\)" 10
wait_for "central started again \(pid [0-9]+\)" 10
wait "$rp"
rc=$?
[ "$rc" = 0 ] || fail "run.sh exited $rc"
for n in gw1 gw2 central; do
	grep -q "^$n exited 0 " "$tmp/out" || fail "$n did not stop cleanly"
done
for g in gw1 gw2; do
	line=$(grep "verify event=stream gw=$g " "$tmp/out") \
	    || fail "no reading of $g reached upstream"
	unique=$(sed -n 's/.* unique=\([0-9]*\) .*/\1/p' <<<"$line")
	[ "${unique:-0}" -ge 200 ] || fail "$g: only ${unique:-0} readings upstream"
	case $line in
	*" first=1 last=$unique "*" gaps=0 order_violations=0"*) ;;
	*) fail "$g: $line" ;;
	esac
done
grep -q "event=total .* result=ok" "$tmp/out" || fail "the verifier"
# The live lines: a gateway's stored, published and backlog are its
# store's, of one moment, so stored - published = backlog on every line
# (a line of two actors' counters, each as of its own heartbeat, showed
# published ahead of stored).
bad=$(awk '/ gw1 stored / {
	for (i = 1; i + 6 <= NF; i++)
		if ($i ~ /^gw[12]$/ && $(i + 1) == "stored" && $(i + 2) - $(i + 4) != $(i + 6))
			print
}' "$tmp/out")
[ -z "$bad" ] || fail "a live line's stored - published is not its backlog: $bad"
# Nothing left: no process with the run's temp dir in its environment or
# command line, and run.sh removed its work dir.
for p in /proc/[0-9]*; do
	if grep -qs "$tmp" "$p/environ" "$p/cmdline"; then
		fail "left behind: $(tr '\0' ' ' <"$p/cmdline")"
	fi
done
[ -z "$(ls "$tmp" | grep -v '^out$')" ] || fail "left in $tmp: $(ls "$tmp")"
echo "80_gateways: ok"
