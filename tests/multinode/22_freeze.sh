#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 22_freeze.sh -- a stall of the whole machine is no peer's silence
# (issue 12, "ZERO false DOWNs"; docs/multinode.md "A stall of this
# node"): both nodes are stopped at once (SIGSTOP, as when a VM's host
# pauses it or a machine far past its cores runs neither for seconds) for
# two heartbeat budgets (4 s at the defaults, 500 ms x 4), then continued
# at once, twice.  Neither counts a DOWN; a node logs
# event=heartbeat_stall (its timer ran late: that time is not the
# peer's).  Before, both took the other DOWN the moment they ran again:
# the timer read its own stall as the peer's silence (multinode.20, 40 and
# 78 failed so on a machine at load 5).  Then n2 alone is stopped for
# two budgets: n1, which ran all along, takes it DOWN as before.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
mn_mesh 'root:
  children:
    - {name: e, type: echo}'
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10

# freeze S PID...: the processes stopped for S seconds, then continued
# (the stall is the stimulus: its length is fixed, not waited for).
freeze() {
	local s=$1
	shift
	kill -STOP "$@"
	sleep "$s"
	kill -CONT "$@"
}

for round in 1 2; do
	freeze 4 "${MN_PID[1]}" "${MN_PID[2]}"
	# Up for a budget and a half after it (a DOWN and redial could
	# hide between two polls: the downs count says).
	end=$(mn_deadline 3)
	while [ "$(mn_now)" -lt "$end" ]; do
		for i in 1 2; do
			st=$(mn_peer "$i" "n$((3 - i))" state)
			[ "$st" = up ] \
			    || mn_fail "round $round: n$i: peer '$st' after it"
		done
		sleep 0.2
	done
	for i in 1 2; do
		d=$(mn_peer "$i" "n$((3 - i))" downs)
		[ "$d" = 0 ] \
		    || mn_fail "round $round: n$i counts $d downs after it"
	done
done
grep -q 'event=heartbeat_stall ' "$MN_DIR/n1/log" "$MN_DIR/n2/log" \
    || mn_fail "no node logged event=heartbeat_stall"
! grep -q 'event=peer_down' "$MN_DIR/n1/log" "$MN_DIR/n2/log" \
    || mn_fail "a peer_down line after stalls of both"

# A real silence is still one: n2 alone stopped, n1 takes it DOWN.
kill -STOP "${MN_PID[2]}"
start=$(mn_now)
end=$(mn_deadline 5)
lost=
while [ "$(mn_now)" -lt "$end" ]; do
	st=$(mn_peer 1 n2 state)
	if [ "$st" = down ] || [ "$st" = connecting ]; then
		lost=$(($(mn_now) - start))
		break
	fi
	sleep 0.05
done
kill -CONT "${MN_PID[2]}"
[ -n "$lost" ] || mn_fail "n2 stopped: n1 did not take it DOWN within 5 s"
[ "$lost" -le $((3500 * MN_SCALE)) ] \
    || mn_fail "n2 stopped: n1 took it DOWN after $lost ms (budget 2000)"
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10
echo "22_freeze: ok, no DOWN after two stalls of both nodes;" \
    "n2 alone stopped seen DOWN in $lost ms"
