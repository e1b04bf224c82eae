#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 30_partition.sh -- partition and heal (SPEC 31, 32; issue 12): with
# n2's cable cut (network namespaces; skipped without them) no byte
# passes, so only the heartbeats can tell: both sides see the other down
# within interval x misses plus one interval (3 s at the defaults,
# scaled), exactly once; after the heal both are up again within 5 s,
# with the SAME incarnation (nothing restarted), and nothing was counted
# twice.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2 netns
mn_mesh 'root:
  children:
    - {name: e, type: echo}'
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10
inc=$(mn_peer 1 n2 incarnation)
mn_partition 2
mn_wait_peer 1 n2 lost 10
[ "$MN_WAITED" -le $((3000 * MN_SCALE)) ] \
    || mn_fail "partition seen at n1 after $MN_WAITED ms"
t1=$MN_WAITED
mn_wait_peer 2 n1 lost 10
mn_heal 2
mn_wait_peer 1 n2 up 5
mn_wait_peer 2 n1 up 5
[ "$(mn_peer 1 n2 incarnation)" = "$inc" ] \
    || mn_fail "n2's incarnation changed across a partition"
[ "$(mn_peer 1 n2 downs)" = 1 ] || mn_fail "n1 counts $(mn_peer 1 n2 downs) downs, not 1"
[ "$(grep -c 'event=peer_down peer=n2' "$MN_DIR/n1/log")" = 1 ] \
    || mn_fail "n1 logged n2 down $(grep -c 'event=peer_down peer=n2' "$MN_DIR/n1/log") times"
echo "30_partition: ok, partition seen in $t1 ms"
