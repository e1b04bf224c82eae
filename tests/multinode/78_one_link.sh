#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 78_one_link.sh -- a pair of nodes holds one link, one data stream and
# its heartbeat channel, seen the same on both sides (issue 12, "Node
# links"; docs/multinode.md "Links between nodes", "One stream per
# pair"): each node dials the other through a relay (lib.sh mn_relay), so
# a script can end or silence one node's dialled stream alone.  Default
# heartbeats (500 ms x 4: a 2 s budget).
#
# 0. Both dial at once: n2 (the higher name) retires its own stream for
#    n1's (event=link_merged), so the pair holds two TCP connections, both
#    through n1's relay: n1's data stream and its heartbeat channel.
# 1. The pair's stream ends (n1's relay killed): both take the other DOWN
#    at once, well within the budget, once each.  n1's dials fail; n2's
#    get through, and n1 sends on n2's stream (event=link_adopted), and
#    keeps it after its relay is mended: still one data stream.
# 2. No ping-pong: both stay UP for three budgets, each counted one DOWN
#    and logged one peer_down; /api/tree (status --json) shows
#    link_closed_with_peer and link_replaced.  `arborctl peers` STREAMS:
#    accepted at n1, dialled at n2; n1's listener holds n2's two
#    connections, n2's none of n1's.
# 3. A partition that never heals (both relays stopped: no byte passes,
#    no close arrives): n2 takes n1 DOWN on its heartbeats, and n1 closes
#    the stream it adopted when n2's heartbeats stop (side=acceptor):
#    neither holds a connection of the other.  Healed (relays continued),
#    both are UP again on one stream.
# 4. One-way reachability (n1's relay gone: n1 cannot dial n2, n2 still
#    reaches n1): n1 sends on n2's stream, UP with STREAMS accepted, n2
#    dialled.  Then n2's relay stopped: n1, with no link of its own to
#    n2, closes n2's two connections by itself within the budget
#    (event=heartbeat_timeout ... side=acceptor; docs/multinode.md "The
#    acceptor times its peer's heartbeats too") and takes n2 DOWN.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
root='root:
  children:
    - {name: e, type: echo}'
mn_pair_tree 1 "$ck" "$root" "$(mn_relay_url 1)"
mn_pair_tree 2 "$ck" "$root" "$(mn_relay_url 2)"
mn_relay 1 2
mn_relay 2 1
mn_start 1
mn_start 2
mn_wait_up 1
mn_wait_up 2
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10

# accepted I: established connections nI's listener accepted (all of them
# its peer's, through the peer's relay).
accepted() {
	mn_in "$1" ss -Htn state established "( sport = :$(mn_port "$1") )" \
	    | wc -l
}

# json I KEY: KEY's number in nI's tree document.
json() {
	mn_ctl "$1" --timeout 2 status --json 2>/dev/null \
	    | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# until_downs I N S: until nI counts N downs of its peer (bounded); a
# lost peer may be up again faster than a poll of its state can see.
# MN_WAITED: how long it took, in ms.
until_downs() {
	local start end j=$((3 - $1))
	start=$(mn_now)
	end=$(mn_deadline "$3")
	until [ "$(mn_peer "$1" "n$j" downs)" = "$2" ]; do
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n$1 counts $(mn_peer "$1" "n$j" downs) downs of n$j, not $2, in time"
		sleep 0.01
	done
	MN_WAITED=$(($(mn_now) - start))
}

# 0. One stream for the pair: n1's, with its channel.
mn_wait_log 2 'event=link_merged url=[^ ]* peer=n1 creation=[0-9]+ kept=peer unacked=0' 10
end=$(mn_deadline 10)
until [ "$(accepted 2)" = 2 ] && [ "$(accepted 1)" = 0 ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "merged: n1 holds $(accepted 1) connections of n2 (not 0), n2 $(accepted 2) of n1 (not 2)"
	sleep 0.05
done

# 1. The pair's stream ends with n1's relay.
mn_relay_cut 1
until_downs 1 1 10
until_downs 2 1 10
t1=$MN_WAITED
[ "$t1" -le $((1000 * MN_SCALE)) ] \
    || mn_fail "n2 saw n1 lost $t1 ms after the stream ended (budget 2000)"
mn_wait_log 1 'event=link_adopted url=[^ ]* peer=n2' 10
mn_relay 1 2
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10

# 2. Up for three budgets, one DOWN each.
end=$(mn_deadline 6)
while [ "$(mn_now)" -lt "$end" ]; do
	for i in 1 2; do
		st=$(mn_peer "$i" "n$((3 - i))" state)
		[ "$st" = up ] || mn_fail "n$i: peer is '$st' after the mend"
	done
	sleep 0.2
done
for i in 1 2; do
	j=$((3 - i))
	[ "$(mn_peer "$i" "n$j" downs)" = 1 ] \
	    || mn_fail "n$i counts $(mn_peer "$i" "n$j" downs) downs of n$j, not 1"
	n=$(grep -c "event=peer_down peer=n$j" "$MN_DIR/n$i/log")
	[ "$n" = 1 ] || mn_fail "n$i logged n$j down $n times, not once"
done
for i in 1 2; do
	[ "$(json "$i" link_closed_with_peer)" -le 1 ] \
	    || mn_fail "n$i: link_closed_with_peer '$(json "$i" link_closed_with_peer)'"
	[ -n "$(json "$i" link_replaced)" ] \
	    || mn_fail "n$i: no link_replaced in the tree document"
done

# One data stream, n2's: n1 sends on it (its STREAMS: accepted).
s1=$(mn_ctl 1 --timeout 2 peers 2>/dev/null | awk '$1 == "n2" { print $5 }')
s2=$(mn_ctl 2 --timeout 2 peers 2>/dev/null | awk '$1 == "n1" { print $5 }')
[ "$s1" = accepted ] && [ "$s2" = dialled ] \
    || mn_fail "one stream: STREAMS n1 '$s1' (not accepted), n2 '$s2' (not dialled)"
[ "$(accepted 1)" = 2 ] || mn_fail "n1 holds $(accepted 1) connections of n2, not 2"
[ "$(accepted 2)" = 0 ] || mn_fail "n2 holds $(accepted 2) connections of n1, not 0"

# 3. A partition that never heals: nothing passes either way.
a1=$(grep -c 'side=acceptor' "$MN_DIR/n1/log")
kill -STOP "${MN_RELAY[1]}" "${MN_RELAY[2]}"
until_downs 1 2 10
until_downs 2 2 10
end=$(mn_deadline 5)
until [ "$(accepted 1)" = 0 ] && [ "$(accepted 2)" = 0 ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "partitioned, n1 still holds $(accepted 1) connections of n2, n2 $(accepted 2) of n1"
	sleep 0.05
done
mn_wait_log 1 'event=heartbeat_timeout listener=.* peer=n2 .*side=acceptor' 5
[ "$(grep -c 'side=acceptor' "$MN_DIR/n1/log")" = $((a1 + 1)) ] \
    || mn_fail "n1 logged $(($(grep -c 'side=acceptor' "$MN_DIR/n1/log") - a1)) acceptor timeouts, not 1"
kill -CONT "${MN_RELAY[1]}" "${MN_RELAY[2]}"
mn_wait_peer 1 n2 up 15
mn_wait_peer 2 n1 up 15

# 4. One-way reachability, then silence: n1 can no longer dial n2 (its
#    relay gone), n2 still reaches n1.  When n2's path falls silent
#    (its relay stopped), n1, which has no link of its own to n2 to
#    time it, closes n2's data stream and heartbeat channel by itself
#    within the budget (side=acceptor).  Meanwhile n1 sends on n2's
#    stream (whichever stream the pair had after the heal, the one
#    through n1's relay is gone).
mn_relay_cut 1
end=$(mn_deadline 10)
until [ "$(mn_peer 1 n2 state)" = up ] && [ "$(mn_peer 2 n1 state)" = up ] \
    && [ "$(mn_ctl 1 --timeout 2 peers 2>/dev/null | awk '$1 == "n2" { print $5 }')" = accepted ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "one-way: n1 is not up on n2's stream in time"
	sleep 0.05
done
d1=$(mn_peer 1 n2 downs)
# Both of n2's connections, and its channel through: n1 knows the round
# trip of its heartbeats on it (RTT not '-'), so n2's first heartbeat,
# which goes before any echo, has come (until then n1 gives n2's stream
# its own budget plus the hello timeout, 7 s: the test stopped the relay
# once before that, at load 5, and waited 6.7 s).
end=$(mn_deadline 10)
until [ "$(accepted 1)" = 2 ] \
    && [ "$(mn_ctl 1 --timeout 2 peers 2>/dev/null | awk '$1 == "n2" { print $6 }')" != - ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "one-way: n1 holds $(accepted 1) connections of n2 (not 2), or no round trip on n2's channel"
	sleep 0.05
done
# arborctl peers says so: n1 has only n2's stream (UP on it), n2 only
# its own.
s1=$(mn_ctl 1 --timeout 2 peers 2>/dev/null | awk '$1 == "n2" { print $5 }')
s2=$(mn_ctl 2 --timeout 2 peers 2>/dev/null | awk '$1 == "n1" { print $5 }')
[ "$s1" = accepted ] && [ "$s2" = dialled ] \
    || mn_fail "one-way: STREAMS n1 '$s1' (not accepted), n2 '$s2' (not dialled)"
a0=$(grep -c 'side=acceptor' "$MN_DIR/n1/log")
kill -STOP "${MN_RELAY[2]}"
start=$(mn_now)
end=$(mn_deadline 10)
until [ "$(accepted 1)" = 0 ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "one-way, silent: n1 still holds $(accepted 1) connections of n2"
	sleep 0.05
done
t4=$(($(mn_now) - start))
until_downs 1 $((d1 + 1)) 5
[ "$t4" -le $((3500 * MN_SCALE)) ] \
    || mn_fail "one-way, silent: n1 closed n2's streams $t4 ms after the silence (budget 2000)"
mn_wait_log 1 'event=heartbeat_timeout listener=.* peer=n2 .*side=acceptor' 5
[ "$(grep -c 'side=acceptor' "$MN_DIR/n1/log")" = $((a0 + 1)) ] \
    || mn_fail "n1 logged $(($(grep -c 'side=acceptor' "$MN_DIR/n1/log") - a0)) acceptor timeouts, not 1"
kill -CONT "${MN_RELAY[2]}"
mn_relay 1 2
mn_wait_peer 1 n2 up 15
mn_wait_peer 2 n1 up 15
echo "78_one_link: ok, one-sided failure seen at the other side in $t1 ms; a silent peer n1 cannot dial dropped in $t4 ms"
