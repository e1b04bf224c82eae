#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 65_remote_fresh_links.sh -- nothing sent to a node at its links' first
# UP is lost (issue 12, "Remote children"): n1 supervises w, a thread actor
# on n2; n2 is SIGKILLed and started again 15 times.  n1 sends w's START
# the moment its link to the new n2 is up, which is as soon as n2's
# listener answers.  Each time w runs again and n2 counted no dead letter
# (status --json node_dead_letters): a node used to open its peer links
# before its agent's mailbox existed, and dropped a START that came in
# between (counted as a dead letter; the 500 ms resend hid it, a start
# took half a second instead of tens of ms, one fresh n2 in 3-4 here).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
mn_pair_tree 1 "$ck" 'root:
  intensity: 1000
  period: 10s
  children:
    - {name: w, type: echo, node: n2, start_timeout: 10s,
       backoff: {min: 10ms, max: 20ms}}'
mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}'
mn_start 2
mn_wait_up 2
mn_start 1
mn_wait_up 1

w1() { mn_ctl 1 --timeout 2 status 2>/dev/null | awk '$1 == "root/w" { print $4 }'; }
dead2() {
	mn_ctl 2 --timeout 2 status --json 2>/dev/null \
	    | grep -o '"node_dead_letters":[0-9]*' | cut -d: -f2
}
until_w1_running() {
	local end
	end=$(mn_deadline 10)
	until [ "$(w1)" = running ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: w is not running in time ($1)"
		sleep 0.02
	done
}
lost() { grep -c 'root/w event=exit reason=noconnection' "$MN_DIR/n1/log"; }

until_w1_running start
for ((k = 1; k <= 15; k++)); do
	before=$(lost)
	mn_kill 2
	end=$(mn_deadline 10)
	until [ "$(lost)" -gt "$before" ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n1 did not lose n2 in time (round $k)"
		sleep 0.02
	done
	mn_start 2
	mn_wait_up 2
	until_w1_running "round $k"
	d=$(dead2)
	[ "$d" = 0 ] || mn_fail "round $k: the new n2 dropped $d envelopes (dead letters) at its links' first UP"
done
echo "65_remote_fresh_links: ok (15 fresh links)"
