#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 50_garbage.sh -- a stranger that sends garbage to a node's listener is
# disconnected without harming the node (issue 12: "a peer that sends
# garbage is disconnected and backed off without harming the node"):
# ROUNDS connections each write random bytes (and one a HELLO-sized burst
# of zeros) to n1's listener; n1 refuses and logs them (rate-limited),
# closes each connection (the writer sees it end, bounded), keeps running
# and answering arborctl, and its link with n2 stays up all along (no
# down counted on either side).
set -u
. "$(dirname "$0")/lib.sh"
ROUNDS=10
mn_setup 2
mn_mesh 'root:
  children:
    - {name: e, type: echo}'
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10
host=$(mn_host 1)
port=$(mn_port 1)
for ((k = 1; k <= ROUNDS; k++)); do
	# From n2's namespace (or here): write garbage, then wait (bounded)
	# until n1 closes the connection: a read that ends.
	if [ "$k" = 1 ]; then src=/dev/zero; else src=/dev/urandom; fi
	# A reset is an end too; only the timeout (124) means still open.
	mn_in 2 timeout $((5 * MN_SCALE)) bash -c \
	    "exec 3<>/dev/tcp/$host/$port || exit 2
	     head -c 4096 $src >&3 2>/dev/null
	     cat <&3 >/dev/null 2>&1
	     exit 0"
	rc=$?
	[ "$rc" = 124 ] && mn_fail "round $k: n1 kept a garbage connection open"
	[ "$rc" = 0 ] || mn_fail "round $k: cannot connect to n1 ($rc)"
	mn_alive 1 || mn_fail "n1 died of garbage (round $k)"
done
mn_wait_log 1 "event=link_(refused|bad_frame)" 5
mn_ctl 1 --timeout 5 status >/dev/null || mn_fail "n1 no longer answers arborctl"
[ "$(mn_peer 1 n2 state)" = up ] || mn_fail "n1 lost n2: $(mn_peer 1 n2 state)"
[ "$(mn_peer 1 n2 downs)" = 0 ] || mn_fail "n1 counts $(mn_peer 1 n2 downs) downs of n2"
[ "$(mn_peer 2 n1 downs)" = 0 ] || mn_fail "n2 counts $(mn_peer 2 n1 downs) downs of n1"
echo "50_garbage: ok, n1 logged $(grep -cE 'event=link_(refused|bad_frame)' "$MN_DIR/n1/log") refusals"
