#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multinode_detect.sh -- how fast a node sees a SIGKILLed peer (issue 12,
# "Failure detection": p99 <= 3 s with the defaults), over KILLS kills:
# two nodes (network namespaces as root, loopback otherwise; the helpers
# of tests/multinode/lib.sh), n1 watching n2; each round SIGKILLs n2,
# polls n1's `arborctl peers` every 20 ms until n2 is down, restarts n2
# and waits until it is up again.  Prints every time, then p50, p99 and
# max.  The poll adds up to ~20 ms plus arborctl's own start to each
# figure: the floor is printed beside them (the same poll of a peer that
# is already down, median of 20).
#
#   bench/multinode_detect.sh BUILD_DIR [KILLS (default 20)] [kill|partition|loss]
#
# "partition" cuts n2's cable instead of killing it (namespaces only):
# then only the heartbeats can tell (interval x misses).
#
# NETEM="DELAY_MS JITTER_MS LOSS_PCT" (namespaces only; BUILD_DIR built
# with -DARB_BUILD_BENCH=ON) links the two nodes through
# bench/netem_tun.c instead: a TUN device in each namespace (10.78.0.1 and
# .2) and a user-space forwarder that delays every packet by DELAY_MS +/-
# JITTER_MS and drops LOSS_PCT % of them, each direction (this machine's
# kernel has no sch_netem).  "loss" then drops every packet both ways
# (the forwarder's SIGUSR1, as netem's "loss 100%") until n1 sees n2
# lost, and restores the configured link (SIGUSR2).  The load average is
# printed at the start and at the end.
set -u
BUILD=$(cd "${1:?usage: multinode_detect.sh BUILD_DIR [KILLS] [kill|partition|loss]}" && pwd)
KILLS=${2:-20}
HOW=${3:-kill}
NETEM=${NETEM:-}
export ARBOR_BIN=$BUILD/src/tools/arbor/arbor
export ARBORCTL_BIN=$BUILD/src/tools/arborctl/arborctl
. "$(dirname "$0")/../tests/multinode/lib.sh"
if [ "$HOW" = kill ] && [ -z "$NETEM" ]; then mn_setup 2; else mn_setup 2 netns; fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
root='root:
  children:
    - {name: e, type: echo}'
NT_PID=
if [ -n "$NETEM" ]; then
	NT=$BUILD/bench/netem-tun
	[ -x "$NT" ] || mn_fail "no $NT (configure with -DARB_BUILD_BENCH=ON)"
	# shellcheck disable=SC2086 # NETEM is three numbers
	"$NT" "$(mn_ns 1)" "$(mn_ns 2)" mnt0 $NETEM >"$MN_DIR/netem.out" 2>&1 &
	NT_PID=$!
	trap 'kill "$NT_PID" 2>/dev/null; wait "$NT_PID"; cat "$MN_DIR/netem.out"; mn_cleanup' EXIT
	end=$(mn_deadline 5)
	until grep -q ready "$MN_DIR/netem.out" 2>/dev/null; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "netem-tun did not start"
		sleep 0.05
	done
	for i in 1 2; do
		ip -n "$(mn_ns "$i")" addr add "10.78.0.$i" peer "10.78.0.$((3 - i))" dev mnt0 \
		    && ip -n "$(mn_ns "$i")" link set mnt0 up \
		    || mn_fail "cannot set up mnt0 in n$i"
	done
	ck=$(mn_cookie mesh)
	for i in 1 2; do
		mn_tree "$i" "  listen: tcp://10.78.0.$i:7400
  cookie: $ck
  peers:
    - {name: n$((3 - i)), url: \"tcp://10.78.0.$((3 - i)):7400\"}" "$root"
		mn_start "$i"
	done
	for i in 1 2; do mn_wait_up "$i"; done
else
	mn_mesh "$root"
fi
mn_wait_peer 1 n2 up 10
times=()
for ((k = 1; k <= KILLS; k++)); do
	if [ "$HOW" = partition ]; then
		mn_partition 2
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		mn_heal 2
	elif [ "$HOW" = loss ]; then
		[ -n "$NT_PID" ] || mn_fail "loss needs NETEM"
		kill -USR1 "$NT_PID"
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		kill -USR2 "$NT_PID"
	else
		mn_kill 2
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		mn_start 2
		mn_wait_up 2
	fi
	mn_wait_peer 1 n2 up 20
done
# The floor: the same poll, answered at once.
case $HOW in
partition) mn_partition 2 ;;
loss) kill -USR1 "$NT_PID" ;;
*) mn_kill 2 ;;
esac
mn_wait_peer 1 n2 lost 20
floor=()
for ((k = 1; k <= 20; k++)); do
	mn_wait_peer 1 n2 lost 5
	floor+=("$MN_WAITED")
done
pct() { # $1: percentile, then the values
	local p=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v p="$p" \
	    '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
echo "detection ms ($HOW, $KILLS rounds, $([ "$MN_NS" = 1 ] && echo netns || echo loopback)${NETEM:+, netem-tun delay/jitter/loss $NETEM each way}): ${times[*]}"
echo "p50 $(pct 50 "${times[@]}") ms  p99 $(pct 99 "${times[@]}") ms  max $(pct 100 "${times[@]}") ms  (poll floor p50 $(pct 50 "${floor[@]}") ms)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
