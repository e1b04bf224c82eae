#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 77_remote_reclaim.sh -- a short cut does not restart a healthy remote
# child, and a generation its supervisor counted lost never runs on
# (issue 12, "Remote children"; docs/supervision.md "Orphans").  n1
# supervises w (temporary) and v (permanent), process actors on n2.  Each node dials
# the other through a relay beside it (lib.sh mn_relay), so each
# direction can be cut alone: killing n2's relay cuts n2's link to n1
# (n2 sees n1 lost, n1 sees nothing), killing n1's cuts n1's link to n2.
#
# A. n2's direction cut: w is an orphan on n2 (event=orphan; grace 8 s).
#    The link is back well within the grace: n2's agent CLAIMs w, n1 still
#    runs that generation and answers KEEP: the grace is cancelled
#    (event=orphan_reclaimed, the run no longer an orphan in status
#    --json), w keeps its OS pid, n1 counts no exit.  (Before: the grace
#    ran out and w was stopped and restarted.)
# C. n1's direction cut: n1 counts w and v lost (noconnection; w is
#    temporary: not restarted) while n2 sees nothing wrong (no orphan
#    grace).  The link is back: n1 STOPs the generations it counted lost
#    and n2 stops w (cause=requested).  (Before: w ran on n2 for ever,
#    unsupervised.)  w takes 1 s to stop (a crasher, stop: slow), so v,
#    stopped meanwhile, ends while root/~agent is busy with w's stop and
#    its record cannot be deleted then: v's next START must still run it
#    (the agent deletes the leftover first; it was refused as a
#    duplicate name, for ever).
# B. Both directions cut: n1 counts v lost, n2 keeps v as an orphan.  Both
#    back within the grace: that generation of v is stopped at once
#    (cause=requested: n1's STOP of a lost generation, and its answer to
#    n2's CLAIM), never reclaimed, not left to the grace; v runs again,
#    once, with a newer generation.
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

# A. n2 -> n1 cut, then back within the grace: w reclaimed.
mn_relay_cut 2
mn_wait_log 2 'event=orphan sup_node=n1 child=root/w ' 10
mn_relay 2 1
mn_wait_log 2 'event=orphan_reclaimed sup_node=n1 child=root/w ' 10
mn_wait_log 1 'root/w event=remote_claim node=n2 generation=[0-9]+ answer=keep' 5
mn_wait_log 2 'event=orphan_reclaimed sup_node=n1 child=root/v ' 10
mn_ctl 2 status --json | grep -q '"orphans_stopped":0,' \
    || mn_fail "n2 stopped an orphan"
mn_ctl 2 status --json | grep -q '"orphans_reclaimed":2,' \
    || mn_fail "n2 does not count 2 orphans reclaimed: $(mn_ctl 2 status --json | grep -o '"agent":{[^[]*')"
mn_ctl 2 status --json | grep -q '"child":"root/w",[^}]*"orphan":false' \
    || mn_fail "n2 still counts w as an orphan: $(mn_ctl 2 status --json | grep -o '"runs":.*')"
[ "$(on2 w)" = "running $pid_w" ] || mn_fail "w on n2 is '$(on2 w)', not running $pid_w"
[ "$(at1 w)" = running ] || mn_fail "n1: w is '$(at1 w)'"
! grep -q 'event=peer_down peer=n2' "$MN_DIR/n1/log" \
    || mn_fail "n1 lost n2: both directions were cut, not one"
[ "$(exits w)" = 0 ] || mn_fail "n1 counted $(exits w) exits of w"
! grep -q 'event=orphan_stop' "$MN_DIR/n2/log" || mn_fail "n2 stopped an orphan"

# C. n1 -> n2 cut: n1 counts w lost; back: n1 stops that generation.
orphans() { grep -c 'event=orphan sup_node=n1' "$MN_DIR/n2/log"; }
o=$(orphans)
mn_relay_cut 1
mn_wait_log 1 'root/w event=exit reason=noconnection' 10
[ "$(on2 w)" = "running $pid_w" ] || mn_fail "w on n2 is '$(on2 w)' while only n1's link is down"
[ "$(orphans)" = "$o" ] || mn_fail "n2 saw n1 lost: both directions were cut, not one"
mn_relay 1 2
mn_wait_log 2 'event=agent_stop sup_node=n1 child=root/w generation=[0-9]+ cause=requested' 10
mn_wait_log 1 'root/w event=remote_stop_lost generation=' 5
until_ 'on2 w' '' 10
until_ 'at1 v' running 15
until_ 'on2 v | cut -d" " -f1' running 10
! grep -q 'duplicate sibling name' "$MN_DIR/n1/log" \
    || mn_fail "n2 refused a START of v: $(grep -m1 'duplicate sibling name' "$MN_DIR/n1/log")"

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
mn_wait_log 2 "event=agent_stop sup_node=n1 child=root/v generation=$gen cause=requested" 8
until_ 'at1 v' running 15
until_ 'on2 v | cut -d" " -f1' running 10
[ "$(reclaims)" = "$r" ] || mn_fail "n2 reclaimed v $gen, which n1 counted lost"
! grep -q 'event=orphan_stop' "$MN_DIR/n2/log" || mn_fail "n2 left v to its orphan grace"
echo "77_remote_reclaim: ok"
