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
#   bench/multinode_detect.sh BUILD_DIR [KILLS (default 20)] [partition]
#
# "partition" cuts n2's cable instead of killing it (namespaces only):
# then only the heartbeats can tell (interval x misses).
set -u
BUILD=$(cd "${1:?usage: multinode_detect.sh BUILD_DIR [KILLS] [partition]}" && pwd)
KILLS=${2:-20}
HOW=${3:-kill}
export ARBOR_BIN=$BUILD/src/tools/arbor/arbor
export ARBORCTL_BIN=$BUILD/src/tools/arborctl/arborctl
. "$(dirname "$0")/../tests/multinode/lib.sh"
if [ "$HOW" = partition ]; then mn_setup 2 netns; else mn_setup 2; fi
mn_mesh 'root:
  children:
    - {name: e, type: echo}'
mn_wait_peer 1 n2 up 10
times=()
for ((k = 1; k <= KILLS; k++)); do
	if [ "$HOW" = partition ]; then
		mn_partition 2
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		mn_heal 2
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
[ "$HOW" = partition ] && mn_partition 2 || mn_kill 2
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
echo "detection ms ($HOW, $KILLS rounds, $([ "$MN_NS" = 1 ] && echo netns || echo loopback)): ${times[*]}"
echo "p50 $(pct 50 "${times[@]}") ms  p99 $(pct 99 "${times[@]}") ms  max $(pct 100 "${times[@]}") ms  (poll floor p50 $(pct 50 "${floor[@]}") ms)"
