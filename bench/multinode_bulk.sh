#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multinode_bulk.sh -- the 60 s run of "bulk transfer at full speed with no
# false DOWN" (issue 12): tests/multinode/60_bulk.sh (two nodes in network
# namespaces as root, default heartbeats 500 ms x 4) with a bulk of
# SECONDS (default 60) instead of the test's 10.  Prints the script's
# line of figures: messages/s, seconds the link was saturated, the count
# of peer_down (false DOWNs) on each node, n1's heartbeat round trip
# while idle and during the bulk (p50, p99, max), the longest time
# without a heartbeat answer, and the data's one-way wait (p50, p99);
# then the script's verdict.  ROUNDS runs (default 1).
#
#   bench/multinode_bulk.sh BUILD_DIR [SECONDS] [ROUNDS]
#
# BUILD_DIR: a build with the tests (arbor, arborctl, arb-mn-bulk).
set -u
BUILD=$(cd "${1:?usage: multinode_bulk.sh BUILD_DIR [SECONDS] [ROUNDS]}" && pwd)
export ARBOR_BIN=$BUILD/src/tools/arbor/arbor
export ARBORCTL_BIN=$BUILD/src/tools/arborctl/arborctl
export MN_BULK_BIN=$BUILD/tests/arb-mn-bulk
export MN_BULK_SECONDS=${2:-60}
export MN_BULK_IDLE=5
ROUNDS=${3:-1}
err=$(mktemp /tmp/arbor-bulk-bench.XXXXXX)
trap 'rm -f "$err"' EXIT
rc=0
for ((r = 1; r <= ROUNDS; r++)); do
	if ! bash "$(dirname "$0")/../tests/multinode/60_bulk.sh" 2>"$err"; then
		grep -E 'FAIL|SKIP' "$err" >&2
		rc=1
	fi
done
exit $rc
