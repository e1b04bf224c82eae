#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 20_kill_detect.sh -- a SIGKILLed node is detected at its peer, and a
# restarted one comes back with a new incarnation (SPEC 31; issue 12,
# "Failure detection", "Incarnations"): three rounds of SIGKILL n2, time
# until n1's `arborctl peers` says down (at most 3 s, the issue's p99
# goal, scaled under sanitizers), restart n2, time until up again; each
# round n2's incarnation at n1 is new and n1 counts one more down; the
# tree document (status --json, /api/tree) shows the same peer.
# Prints each detection time (the p50/p99 over 20+ kills is
# bench/multinode_detect.sh's).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
mn_mesh 'root:
  children:
    - {name: e, type: echo}'
mn_wait_peer 1 n2 up 10
inc=$(mn_peer 1 n2 incarnation)
[ -n "$inc" ] && [ "$inc" != - ] || mn_fail "no incarnation for n2 at n1"
# The same figures in the tree document (/api/tree, status --json).
mn_ctl 1 status --json | grep -q "\"listen\":\"$(mn_url 1)\",\"peers\":\[{\"name\":\"n2\",\"url\":\"$(mn_url 2)\",\"state\":\"up\",\"incarnation\":$inc," \
    || mn_fail "n1's tree document: no peer n2 up with incarnation $inc: $(mn_ctl 1 status --json | head -c 400)"
times=
for round in 1 2 3; do
	mn_kill 2
	mn_wait_peer 1 n2 lost 10
	[ "$MN_WAITED" -le $((3000 * MN_SCALE)) ] \
	    || mn_fail "round $round: n2's death seen after $MN_WAITED ms"
	times="$times $MN_WAITED"
	[ "$(mn_peer 1 n2 downs)" = "$round" ] \
	    || mn_fail "round $round: n1 counts $(mn_peer 1 n2 downs) downs"
	mn_start 2
	mn_wait_up 2
	mn_wait_peer 1 n2 up 10
	new=$(mn_peer 1 n2 incarnation)
	[ "$new" != "$inc" ] && [ "$new" != - ] \
	    || mn_fail "round $round: n2 restarted with incarnation $new (was $inc)"
	inc=$new
done
echo "20_kill_detect: ok, detection ms:$times"
