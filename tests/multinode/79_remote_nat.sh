#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 79_remote_nat.sh -- a central supervisor runs a remote child on a
# gateway it cannot dial (issue 12, "Node links": one-way reachability, the
# gateway behind NAT; docs/multinode.md "One stream per pair").  n1
# (central) lists n2 at an address where nothing listens; n2 dials n1.
# n1 sends on n2's stream (event=link_adopted; STREAMS accepted, UP):
# n1's START reaches n2's agent, w (a process actor of type echo) runs on
# n2, a SIGKILL of its OS process is reported to n1, whose supervisor
# restarts it there; SIGKILL of n2 itself: w exits with noconnection at
# n1, and when n2 is back (it dials n1 again), w runs there again.
# Before duplex streams n1 never had a stream to send on: n2 stayed DOWN
# for it and w never started.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
# n1's URL for n2: its relay's, which is never started (refused).
mn_pair_tree 1 "$ck" 'root:
  intensity: 10
  period: 10s
  children:
    - {name: w, type: echo, isolation: process, node: n2,
       backoff: {min: 100ms, max: 500ms}}' "$(mn_relay_url 1)"
mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}' "" '  orphan_grace: 1s'
mn_start 1
mn_wait_up 1
mn_start 2
mn_wait_up 2

# wait_w STATE [S]: until n1 shows w in STATE (bounded).
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

# w_pid: the OS pid of the one running rc-*-w on n2.
w_pid() {
	local rows n
	rows=$(mn_ctl 2 --timeout 2 status 2>/dev/null \
	    | awk '$1 ~ /^root\/~agent\/rc-[0-9a-f]+-w$/ && $4 == "running" { print $5 }')
	n=$(printf '%s\n' "$rows" | grep -c .)
	[ "$n" = 1 ] || mn_fail "n2 runs $n copies of w: $rows"
	printf '%s\n' "$rows"
}

mn_wait_peer 1 n2 up 15
mn_wait_log 1 'event=link_adopted url=[^ ]* peer=n2' 5
s=$(mn_ctl 1 --timeout 2 peers 2>/dev/null | awk '$1 == "n2" { print $5 }')
[ "$s" = accepted ] || mn_fail "n1: STREAMS '$s', not accepted"
wait_w "process@n2 running" 15
pid1=$(w_pid)

# The actor killed on the gateway: n1 learns it and restarts it there.
kill -KILL "$pid1"
mn_wait_log 1 'root/w.*crashed' 10
wait_w "process@n2 running" 10
end=$(mn_deadline 10)
while :; do
	pid2=$(w_pid)
	[ "$pid2" != "$pid1" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "w not restarted on n2"
	sleep 0.05
done

# The gateway dies: noconnection at n1 (its stream ends), then w runs on
# n2's next incarnation, which dials n1 again.
mn_kill 2
mn_wait_log 1 'root/w.*noconnection' 5
mn_start 2
mn_wait_up 2
wait_w "process@n2 running" 20
w_pid >/dev/null
n=$(grep -c 'event=link_adopted url=[^ ]* peer=n2' "$MN_DIR/n1/log")
[ "$n" = 2 ] || mn_fail "n1 adopted $n streams of n2, not 2"
echo "79_remote_nat: ok"
