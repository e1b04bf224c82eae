#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 60_remote_child.sh -- a remote child on a gateway restarted by a central
# supervisor (issue 12, "Remote children"; docs/supervision.md): n1
# (central) has a child `w` with `node: n2`, a process actor of type echo;
# n2's agent runs it as root/~agent/rc-HASH-w.  Checked: arborctl on n1 shows
# root/w running on n2 (process@n2); SIGKILL of the actor's OS process on
# n2 is reported to n1 (crashed, signal 9) and n1's supervisor restarts it
# there (a new OS process, one restart on n1, still exactly one such child
# on n2); an operator's stop on n1 ends it on n2 and a start brings it
# back; SIGKILL of n2 itself: w exits with noconnection at n1, and when
# n2 is back, w runs there again (a new incarnation of n2).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
mn_pair_tree 1 "$ck" 'root:
  intensity: 10
  period: 10s
  children:
    - {name: w, type: echo, isolation: process, node: n2,
       backoff: {min: 100ms, max: 500ms}}'
mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}' "" '  orphan_grace: 1s'
mn_in 1 "$ARBOR_BIN" check "$MN_DIR/n1/tree.yaml" >/dev/null \
    || mn_fail "arbor check refuses n1's tree: $(mn_in 1 "$ARBOR_BIN" check "$MN_DIR/n1/tree.yaml" 2>&1)"
mn_start 2
mn_wait_up 2
mn_start 1
mn_wait_up 1

# remote_rows I: the agent's children on nI (path state pid).
remote_rows() {
	mn_ctl "$1" --timeout 2 status 2>/dev/null \
	    | awk '$1 ~ /^root\/~agent\/rc-[0-9a-f]+-w$/ { print $1, $4, $5 }'
}

# wait_w_running I STATE [S]: until n1 shows w in STATE (bounded).
wait_w() {
	local want=$1 end st
	end=$(mn_deadline "${2:-10}")
	while :; do
		st=$(mn_ctl 1 --timeout 2 status 2>/dev/null \
		    | awk '$1 == "root/w" { print $3, $4 }')
		[ "$st" = "$want" ] && return 0
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n1: root/w is '$st', not '$want', in time"
		sleep 0.05
	done
}

# one_on_n2: exactly one running rc-*-w on n2; prints its OS pid.
one_on_n2() {
	local rows n
	rows=$(remote_rows 2)
	n=$(printf '%s\n' "$rows" | grep -c running)
	[ "$n" = 1 ] || mn_fail "n2 runs $n copies of w: $rows"
	printf '%s\n' "$rows" | awk '$2 == "running" { print $3 }'
}

wait_w "process@n2 running" 15
mn_ctl 1 status --json | grep -q '"path":"root/w",[^}]*"node":"n2"' \
    || mn_fail "n1's status --json has no node n2 for root/w"
pid1=$(one_on_n2)
[ -n "$pid1" ] && [ "$pid1" -gt 0 ] || mn_fail "no OS pid for w on n2"

# SIGKILL the actor on the gateway: n1 learns it and restarts it there.
kill -KILL "$pid1"
mn_wait_log 1 'root/w.*crashed' 10
wait_w "process@n2 running" 10
end=$(mn_deadline 10)
while :; do
	pid2=$(one_on_n2)
	[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "w not restarted on n2 (pid $pid2)"
	sleep 0.05
done
restarts=$(mn_ctl 1 status | awk '$1 == "root/w" { print $7 }')
[ "$restarts" = 1 ] || mn_fail "n1 counts $restarts restarts of w, not 1"

# An operator's stop at n1 ends it on n2; a start brings it back.
mn_ctl 1 stop root/w >/dev/null || mn_fail "arborctl stop root/w"
wait_w "process@n2 stopped" 10
end=$(mn_deadline 10)
while [ -n "$(remote_rows 2)" ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "w still on n2 after its stop: $(remote_rows 2)"
	sleep 0.05
done
mn_ctl 1 start root/w >/dev/null || mn_fail "arborctl start root/w"
wait_w "process@n2 running" 10
one_on_n2 >/dev/null

# The gateway dies: w exits with noconnection at n1 and runs again on
# n2's next incarnation.
mn_kill 2
mn_wait_log 1 'root/w.*noconnection' 10
mn_start 2
mn_wait_up 2
wait_w "process@n2 running" 20
one_on_n2 >/dev/null
echo "60_remote_child: ok"
