#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multinode_stream.sh -- arbor-bench between two nodes (bench/bench_node.c;
# issue 12, "Bench") over a veth pair between two network namespaces: the
# case (node a, and the raw floors' dialling side) runs in one namespace,
# its peer (node b, the raw floors' listening side) in the other, each
# with its own address.  ROUNDS rounds of the three cases, each case a
# fresh pair of processes; the load average is printed before each round.
# "loopback" runs the same cases on 127.0.0.1 instead (no root needed).
#
#   bench/multinode_stream.sh BUILD_DIR [ROUNDS (default 3)] [loopback]
#
# NETEM="DELAY_MS JITTER_MS LOSS_PCT" links the namespaces through
# bench/netem_tun.c (a TUN device in each, same addresses, a user-space
# forwarder that delays, jitters and drops each direction's packets: this
# machine's kernel has no sch_netem) instead of the veth pair;
# CASES="node_raw_tcp node_call_tcp" picks the cases; ARB_BENCH_NODE_N
# and ARB_BENCH_NODE_CALLS (bench/bench_node.c) scale them down for a
# slow link.
#
# BUILD_DIR is a build with -DARB_BUILD_BENCH=ON.  The namespaces are
# named after this script's process and removed on exit.
set -u
BUILD=$(cd "${1:?usage: multinode_stream.sh BUILD_DIR [ROUNDS] [loopback]}" && pwd)
ROUNDS=${2:-3}
WHERE=${3:-netns}
BENCH=$BUILD/bench/arbor-bench
[ -x "$BENCH" ] || { echo "no $BENCH (configure with -DARB_BUILD_BENCH=ON)" >&2; exit 64; }
NSA=arbnb-$$-a
NSB=arbnb-$$-b
NT_PID=
cleanup() {
	if [ -n "$NT_PID" ]; then
		kill "$NT_PID" 2>/dev/null
		wait "$NT_PID"
	fi
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
if [ "$WHERE" = netns ]; then
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null \
	    || { echo "namespaces need root and ip (iproute2); try: $0 $1 $ROUNDS loopback" >&2; exit 77; }
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	ip netns add "$NSA" && ip netns add "$NSB" \
	    && ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up \
	    || { echo "cannot make the namespaces" >&2; exit 1; }
	if [ -n "${NETEM:-}" ]; then
		[ -x "$BUILD/bench/netem-tun" ] || { echo "no $BUILD/bench/netem-tun" >&2; exit 64; }
		# shellcheck disable=SC2086 # NETEM is three numbers
		"$BUILD/bench/netem-tun" "$NSA" "$NSB" mnt0 $NETEM >"/tmp/netem-tun-$$.out" 2>&1 &
		NT_PID=$!
		for ((i = 0; i < 50; i++)); do
			grep -q ready "/tmp/netem-tun-$$.out" 2>/dev/null && break
			sleep 0.1
		done
		ip -n "$NSA" addr add 10.79.0.1 peer 10.79.0.2 dev mnt0 \
		    && ip -n "$NSB" addr add 10.79.0.2 peer 10.79.0.1 dev mnt0 \
		    && ip -n "$NSA" link set mnt0 up && ip -n "$NSB" link set mnt0 up \
		    || { echo "cannot set up netem-tun's devices" >&2; exit 1; }
	else
		ip link add va type veth peer name vb netns "$NSB" \
		    && ip link set va netns "$NSA" \
		    && ip -n "$NSA" addr add 10.79.0.1/24 dev va \
		    && ip -n "$NSB" addr add 10.79.0.2/24 dev vb \
		    && ip -n "$NSA" link set va up && ip -n "$NSB" link set vb up \
		    || { echo "cannot set up the veth pair" >&2; exit 1; }
	fi
fi
run() {
	if [ "$WHERE" = netns ]; then
		ip netns exec "$NSA" env ARB_BENCH_NODE_HOSTS="10.79.0.1 10.79.0.2" \
		    ARB_BENCH_NODE_PORTS="7101 7102" ARB_BENCH_PEER_NETNS="$NSB" \
		    timeout 180 "$BENCH" --case "$1"
	else
		timeout 180 "$BENCH" --case "$1"
	fi
}
echo "arbor-bench between two nodes over $([ "$WHERE" = netns ] && { [ -n "${NETEM:-}" ] && echo "netem-tun (delay/jitter/loss $NETEM each way)" || echo "a veth pair (namespaces)"; } || echo "TCP loopback"), $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	for c in ${CASES:-node_raw_tcp node_stream_tcp node_call_tcp}; do
		run "$c" | sed 's/^R /  /'
	done
done
if [ -n "$NT_PID" ]; then
	kill "$NT_PID" 2>/dev/null
	wait "$NT_PID"
	NT_PID=
	cat "/tmp/netem-tun-$$.out"
	rm -f "/tmp/netem-tun-$$.out"
fi
