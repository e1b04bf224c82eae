#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 70_remote_partition.sh -- a remote child across a partition (issue 12,
# "Remote children": fencing and orphans; docs/supervision.md): n1
# (central) supervises w, a process actor on n2 (gateway).  Namespaces
# only (a cut cable); exits 77 without them.  n2's `arborctl status` is
# polled all along and must never show two copies of w at once.
#
# 1. A long partition (n2's orphan_grace 1s): n1 counts w exited with
#    noconnection exactly once; n2 stops the orphan after the grace
#    (event=orphan_stop, no copy left); on heal n1 restarts w on n2.
# 2. A short partition (n2 restarted with orphan_grace 60s): healed while
#    the orphan still runs; n1 stops the generation it counted lost and
#    its restart supersedes it (n2 stops the old generation,
#    event=agent_stop ... cause=requested -- n1's STOP of a lost
#    generation, sent first at its UP -- or cause=superseded, then starts
#    the new one; never reclaimed): a new OS pid, never two.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2 netns
ck=$(mn_cookie mesh)

write_n2() {
	mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}' "" "  orphan_grace: $1"
}
mn_pair_tree 1 "$ck" 'root:
  intensity: 50
  period: 60s
  children:
    - {name: w, type: echo, isolation: process, node: n2,
       backoff: {min: 200ms, max: 500ms}}'
write_n2 1s
mn_start 2
mn_wait_up 2
mn_start 1
mn_wait_up 1

# copies: the running/starting/stopping copies of w on n2 (one line
# each: path state pid); fails the script when there are two.
copies() {
	local rows n
	rows=$(mn_ctl 2 --timeout 2 status 2>/dev/null \
	    | awk '$1 ~ /^root\/~agent\/rc-[0-9a-f]+-w$/ && $4 != "stopped" { print $1, $4, $5 }')
	n=$(printf '%s' "$rows" | grep -c .)
	[ "$n" -le 1 ] || mn_fail "n2 runs $n copies of w at once: $rows"
	printf '%s' "$rows"
}

# until_n2 COND S: poll copies until COND (running|none) holds.
until_n2() {
	local want=$1 end rows
	end=$(mn_deadline "$2")
	while :; do
		rows=$(copies) || exit 1
		case $want in
		running) [[ $rows == *" running "* ]] && break ;;
		none) [ -z "$rows" ] && break ;;
		esac
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n2: w is not $want in time ($rows)"
		sleep 0.05
	done
	W_PID=$(printf '%s' "$rows" | awk '{ print $3 }')
}

w_at_n1() {
	mn_ctl 1 --timeout 2 status 2>/dev/null | awk '$1 == "root/w" { print $4 }'
}

until_n2 running 15
pid0=$W_PID
# n1 counts it started (READY back) before the cable is cut: a start
# the partition interrupts would be the root's failed start.
end=$(mn_deadline 10)
until [ "$(w_at_n1)" = running ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: w not running in time"
	sleep 0.05
done

# 1. Long partition: the orphan is stopped after its grace.
mn_partition 2
mn_wait_log 1 'root/w event=exit reason=noconnection' 10
until_n2 none 10
mn_wait_log 2 'event=orphan_stop sup_node=n1 child=root/w' 1
[ "$(w_at_n1)" != running ] || mn_fail "n1 shows w running during the partition"
mn_heal 2
until_n2 running 20
pid1=$W_PID
[ "$pid1" != "$pid0" ] || mn_fail "w on n2 kept its pid $pid0 across the orphan stop"
end=$(mn_deadline 10)
until [ "$(w_at_n1)" = running ]; do
	copies >/dev/null || exit 1
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: w not running after the heal"
	sleep 0.05
done
n=$(grep -c 'root/w event=exit reason=noconnection' "$MN_DIR/n1/log")
[ "$n" = 1 ] || mn_fail "n1 counted w's noconnection exit $n times, not once"

# 2. Short partition: healed within the grace, the restart supersedes.
mn_stop 2
write_n2 60s
mn_start 2
mn_wait_up 2
until_n2 running 20
pid2=$W_PID
end=$(mn_deadline 10)
until [ "$(w_at_n1)" = running ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: w not running again in time"
	sleep 0.05
done
before=$(grep -c 'root/w event=exit reason=noconnection' "$MN_DIR/n1/log")
mn_partition 2
end=$(mn_deadline 10)
until [ "$(grep -c 'root/w event=exit reason=noconnection' "$MN_DIR/n1/log")" -gt "$before" ]; do
	copies >/dev/null || exit 1
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1 did not count w lost in time"
	sleep 0.05
done
mn_wait_log 2 'event=orphan sup_node=n1 child=root/w' 10
rows=$(copies) || exit 1
[[ $rows == *" running $pid2"* ]] || mn_fail "the orphan is not running in its grace: $rows"
mn_heal 2
mn_wait_log 2 'event=agent_stop sup_node=n1 child=root/w .*cause=(requested|superseded)' 20
end=$(mn_deadline 20)
while :; do
	until_n2 running 20
	[ "$W_PID" != "$pid2" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "w on n2 not replaced after the heal"
	sleep 0.05
done
n=$(grep -c 'root/w event=exit reason=noconnection' "$MN_DIR/n1/log")
[ "$n" = $((before + 1)) ] || mn_fail "n1 counted $((n - before)) noconnection exits of w for one loss"
! grep -q 'event=orphan_reclaimed' "$MN_DIR/n2/log" \
    || mn_fail "n2 reclaimed an orphan n1 had counted lost"
n=$(grep -c 'event=orphan_stop' "$MN_DIR/n2/log")
[ "$n" = 1 ] || mn_fail "n2 stopped $n orphans, not 1 (the first partition's)"
echo "70_remote_partition: ok (pids $pid0 -> $pid1, $pid2 -> $W_PID)"
