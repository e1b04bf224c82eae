#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 50_garbage.sh -- a stranger that sends garbage to a node's listener is
# disconnected and backed off without harming the node (issue 12: "a
# peer that sends garbage is disconnected and backed off without harming
# the node"): ROUNDS connections from a third address (namespace n3, no
# node there; on loopback every address is 127.0.0.1) each write random
# bytes (the first a HELLO-sized burst of zeros) to n1's listener; n1
# refuses and logs the first (rate-limited), backs the address off and
# closes the next ones at once (event=link_backoff with the address,
# counted in status --json's link_backoff_refused, the same counter as
# /metrics' arbor_node_link_backoff_refused_total); every connection ends
# (the writer sees it end, bounded); n1 keeps running and answering
# arborctl, and its link with n2 stays up all along (no down counted on
# either side).
set -u
. "$(dirname "$0")/lib.sh"
ROUNDS=10
mn_setup 3
# n1 and n2 are nodes; n3 is only the stranger's address.
ck=$(mn_cookie mesh)
for i in 1 2; do
	mn_tree "$i" "  listen: $(mn_url "$i")
  cookie: $ck
  peers:
    - {name: n$((3 - i)), url: \"$(mn_url $((3 - i)))\"}" 'root:
  children:
    - {name: e, type: echo}'
	mn_start "$i"
done
for i in 1 2; do mn_wait_up "$i"; done
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10
host=$(mn_host 1)
port=$(mn_port 1)
for ((k = 1; k <= ROUNDS; k++)); do
	# From n3's namespace (or here): write garbage, then wait (bounded)
	# until n1 closes the connection: a read that ends.
	if [ "$k" = 1 ]; then src=/dev/zero; else src=/dev/urandom; fi
	# A reset is an end too; only the timeout (124) means still open.
	mn_in 3 timeout $((5 * MN_SCALE)) bash -c \
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
# The rounds came one right after the other: the first one backed the
# address off (100 ms), so the next were closed at once.
mn_wait_log 1 "event=link_backoff .*source=$(mn_host 3) left_ms=" 5
js=$(mn_ctl 1 status --json) || mn_fail "n1: arborctl status --json failed"
bo=$(printf '%s' "$js" | sed -n 's/.*"link_backoff_refused":\([0-9]*\).*/\1/p')
[ -n "$bo" ] && [ "$bo" -ge 1 ] || mn_fail "n1: link_backoff_refused is '$bo', not >= 1"
mn_ctl 1 --timeout 5 status >/dev/null || mn_fail "n1 no longer answers arborctl"
[ "$(mn_peer 1 n2 state)" = up ] || mn_fail "n1 lost n2: $(mn_peer 1 n2 state)"
[ "$(mn_peer 1 n2 downs)" = 0 ] || mn_fail "n1 counts $(mn_peer 1 n2 downs) downs of n2"
[ "$(mn_peer 2 n1 downs)" = 0 ] || mn_fail "n2 counts $(mn_peer 2 n1 downs) downs of n1"
echo "50_garbage: ok, n1 logged $(grep -cE 'event=link_(refused|bad_frame)' "$MN_DIR/n1/log") refusals, closed $bo connections at once"
