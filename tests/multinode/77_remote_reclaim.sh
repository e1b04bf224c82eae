#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 77_remote_reclaim.sh -- a generation its supervisor counted lost never
# runs on (issue 12, "Remote children"; docs/supervision.md "Orphans").  n1
# supervises w (temporary) and v (permanent), process actors on n2.  Each
# node dials the other through a relay beside it (lib.sh mn_relay), so each
# node's dials can be cut alone.  A pair holds one stream, the one the
# lower name dialled (docs/multinode.md "One stream per pair"): killing
# n1's relay ends it, and both nodes take the other DOWN -- never one side
# alone, which is what an orphan reclaim (a KEEP) needed between two
# nodes.
#
# A. n1's relay cut: both see the other lost; n1 counts w and v lost
#    (noconnection; w is temporary: not restarted), n2 keeps them as
#    orphans (grace 8 s).  n2's link is back at once and n1 sends on it
#    (it cannot dial): n1 STOPs the
#    generations it counted lost and n2 stops them (cause=requested), not
#    reclaimed and not left to the grace.  w takes 1 s to stop (a crasher,
#    stop: slow), so v, stopped meanwhile, ends while root/~agent is busy
#    with w's stop and its record cannot be deleted then: v's next START
#    must still run it (the agent deletes the leftover first; it was
#    refused as a duplicate name, for ever).  n1's relay mended, v runs
#    again with a newer generation.
# B. Both directions cut: n1 counts v lost, n2 keeps v as an orphan.  Both
#    back within the grace: that generation of v is stopped at once
#    (cause=requested: n1's STOP of a lost generation, and its answer to
#    n2's CLAIM; or superseded by n1's START of the next generation),
#    never reclaimed, not left to the grace; v runs again, once, with a
#    newer generation.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
mn_pair_tree 1 "$ck" 'root:
  intensity: 50
  period: 60s
  children:
    - {name: w, type: crasher, isolation: process, node: n2, restart: temporary,
       config: {stop: slow, stop_delay: 1s}}
    - {name: v, type: echo, isolation: process, node: n2,
       start_timeout: 20s, backoff: {min: 100ms, max: 200ms}}' "$(mn_relay_url 1)"
mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}' "$(mn_relay_url 2)" '  orphan_grace: 8s'
mn_relay 1 2
mn_relay 2 1
mn_start 2
mn_wait_up 2
mn_start 1
mn_wait_up 1

# on2 NAME: NAME's state and OS pid on n2 (nothing once it has ended).
on2() {
	mn_ctl 2 --timeout 2 status 2>/dev/null | awk -v n="$1" \
	    '$1 ~ "^root/~agent/rc-[0-9a-f]+-" n "$" && $4 != "stopped" { print $4, $5 }'
}
at1() {
	mn_ctl 1 --timeout 2 status 2>/dev/null | awk -v p="root/$1" '$1 == p { print $4 }'
}
# until_ CMD WANT S: until CMD prints WANT.
until_() {
	local end got
	end=$(mn_deadline "$3")
	while :; do
		got=$(eval "$1")
		[ "$got" = "$2" ] && return 0
		[ "$(mn_now)" -lt "$end" ] || mn_fail "$1 is '$got', not '$2' in time"
		sleep 0.05
	done
}
exits() { grep -c "root/$1 event=exit" "$MN_DIR/n1/log"; }

until_ 'at1 w' running 15
until_ 'at1 v' running 15
until_ 'on2 w | cut -d" " -f1' running 10
pid_w=$(on2 w | cut -d' ' -f2)
[ -n "$pid_w" ] && [ "$pid_w" -gt 0 ] || mn_fail "no OS pid for w on n2"

# A. The pair's stream cut: both see the other lost; n1 stops the lost
# generations on n2's stream.
mn_relay_cut 1
mn_wait_log 2 'event=peer_down peer=n1' 10
mn_wait_log 1 'event=peer_down peer=n2' 5
mn_wait_log 1 'root/w event=exit reason=noconnection' 5
mn_wait_log 1 'root/v event=exit reason=noconnection' 5
mn_wait_log 2 'event=orphan sup_node=n1 child=root/w ' 5
mn_wait_log 2 'event=agent_stop sup_node=n1 child=root/w generation=[0-9]+ cause=requested' 10
mn_wait_log 1 'root/w event=remote_stop_lost generation=' 5
until_ 'on2 w' '' 10
mn_wait_log 1 'event=link_adopted url=[^ ]* peer=n2' 5
mn_relay 1 2
until_ 'at1 v' running 15
until_ 'on2 v | cut -d" " -f1' running 10
! grep -q 'duplicate sibling name' "$MN_DIR/n1/log" \
    || mn_fail "n2 refused a START of v: $(grep -m1 'duplicate sibling name' "$MN_DIR/n1/log")"
! grep -q 'event=orphan_reclaimed' "$MN_DIR/n2/log" \
    || mn_fail "n2 reclaimed a generation n1 counted lost"
! grep -q 'event=orphan_stop' "$MN_DIR/n2/log" || mn_fail "n2 left an orphan to its grace"
[ "$(exits w)" = 1 ] || mn_fail "n1 counted $(exits w) exits of w"
[ "$(at1 w)" != running ] || mn_fail "n1 restarted w, a temporary child"

# B. Both cut: v lost at n1, an orphan on n2; both back: that generation
# of v stopped at once, a newer one runs.
gen=$(grep -o 'event=agent_start sup_node=n1 child=root/v generation=[0-9]*' \
    "$MN_DIR/n2/log" | tail -n 1 | sed 's/.*generation=//')
[ -n "$gen" ] || mn_fail "n2 never started v"
reclaims() { grep -c "event=orphan_reclaimed sup_node=n1 child=root/v generation=$gen\$" "$MN_DIR/n2/log"; }
r=$(reclaims)
mn_relay_cut 1
mn_relay_cut 2
mn_wait_log 1 'root/v event=exit reason=noconnection' 10
mn_wait_log 2 "event=orphan sup_node=n1 child=root/v generation=$gen " 10
mn_relay 1 2
mn_relay 2 1
# Stopped at once: by n1's STOP of the lost generation, or superseded by
# n1's START of the next one when that reaches n2 first (both are sent
# when n1 sees n2 back; seen once in five runs under TSan).
mn_wait_log 2 "event=agent_stop sup_node=n1 child=root/v generation=$gen cause=(requested|superseded)" 8
until_ 'at1 v' running 15
until_ 'on2 v | cut -d" " -f1' running 10
[ "$(reclaims)" = "$r" ] || mn_fail "n2 reclaimed v $gen, which n1 counted lost"
! grep -q 'event=orphan_stop' "$MN_DIR/n2/log" || mn_fail "n2 left v to its orphan grace"
echo "77_remote_reclaim: ok"
