#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 75_remote_oneway.sh -- a remote child's exit is never lost while its
# supervisor's node is alive (issue 12, "Remote children"; docs/supervision.md
# "Reports"): n1 supervises w, a transient thread actor on n2.  Each node
# dials the other through a relay (lib.sh mn_relay): killing n1's relay
# cuts n1's way to n2 only, killing both cuts the pair.  A pair holds one
# stream, the one the lower name (n1) dialled (docs/multinode.md "One
# stream per pair"): killing n1's relay ends it, and both nodes take the
# other DOWN.
#
# 1. One direction cut: n2 counts n1 lost and n1 counts n2 lost (w's exit,
#    noconnection, once: a transient child is restarted).  n2's link is
#    back first, and n1, whose own dials fail, sends on n2's stream
#    (event=link_adopted; docs/multinode.md "One stream per pair"): both
#    are UP again, n1 STOPs the generation it counted lost and STARTs the
#    next, n2's reports reach n1 at once (pending 0; the stopped
#    generation's EXIT is old news there: no second exit counted), and w
#    runs on n2 with a new generation.  (Before duplex streams, n1's STOP
#    and START waited until its own link was mended.)
# 2. Both directions cut: w's generation stopped again, and its report
#    waits at n2 (agent_reports_pending 1); n1 restarts meanwhile (a new
#    incarnation).  Mended: n2 drops the report for the ended incarnation
#    (event=agent_report_stale, agent_reports_stale 1; more when n1's
#    STARTs for its next generations reached n2 first) and runs w for the
#    new n1, which counts no exit.
# Loopback ports or namespaces, whichever lib.sh uses.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)

mn_pair_tree 2 "$ck" 'root:
  children:
    - {name: local, type: echo}' "$(mn_relay_url 2)" "  orphan_grace: 1s"
mn_pair_tree 1 "$ck" 'root:
  intensity: 50
  period: 60s
  children:
    - {name: w, type: echo, node: n2, restart: transient,
       backoff: {min: 100ms, max: 200ms}}' "$(mn_relay_url 1)"
mn_relay 2 1
mn_relay 1 2
mn_start 2
mn_wait_up 2
mn_start 1
mn_wait_up 1

# w_at I: w's state at n1 (I=1) or of its copy at n2 (none: '').
w_at() {
	if [ "$1" = 1 ]; then
		mn_ctl 1 --timeout 2 status 2>/dev/null \
		    | awk '$1 == "root/w" { print $4 }'
	else
		mn_ctl 2 --timeout 2 status 2>/dev/null \
		    | awk '$1 ~ /^root\/~agent\/rc-[0-9a-f]+-w$/ && $4 != "stopped" { print $4 }'
	fi
}

# until_w I WANT S: until w_at I prints WANT (a glob).
until_w() {
	local end got
	end=$(mn_deadline "$3")
	while :; do
		got=$(w_at "$1")
		# shellcheck disable=SC2053
		[[ $got == $2 ]] && break
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n$1: w is '$got', not '$2' in time"
		sleep 0.05
	done
	W=$got
}

# agent N KEY: n2's agent counter KEY (arborctl status --json).
agent() {
	mn_ctl 2 --timeout 2 status --json 2>/dev/null \
	    | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# until_agent KEY VALUE S
until_agent() {
	local end got
	end=$(mn_deadline "$3")
	until [ "$(agent "$1")" = "$2" ]; do
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n2: agent $1 is '$(agent "$1")', not $2 in time"
		sleep 0.05
	done
}

exits() { grep -c 'root/w event=exit' "$MN_DIR/n1/log"; }

until_w 2 running 15
until_w 1 running 10

# 1. n1's way to n2 cut: both sides see the other lost, then n1 sends on
#    n2's stream.
mn_relay_cut 1
mn_wait_log 2 'event=peer_down peer=n1' 10
mn_wait_log 1 'event=peer_down peer=n2' 5
mn_wait_log 1 'root/w event=exit reason=noconnection' 5
mn_wait_log 1 'event=link_adopted url=[^ ]* peer=n2' 10
mn_wait_log 2 'event=(orphan_stop|agent_stop) sup_node=n1 child=root/w' 10
end=$(mn_deadline 10)
until [ "$(grep -c 'event=agent_start sup_node=n1 child=root/w' \
    "$MN_DIR/n2/log")" = 2 ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n2 did not start w again"
	sleep 0.05
done
until_w 2 running 10
until_w 1 running 10
until_agent reports_pending 0 10
[ "$(exits)" = 1 ] || mn_fail "n1 counted $(exits) exits of w for one"
n=$(grep -c 'event=peer_down peer=n1' "$MN_DIR/n2/log")
[ "$n" = 1 ] || mn_fail "n2 took n1 DOWN $n times, not once"
mn_relay 1 2

# 2. Both ways cut; the report waits for an incarnation of n1 that ends.
mn_relay_cut 1
mn_relay_cut 2
end=$(mn_deadline 10)
until [ "$(exits)" = 2 ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1 counted $(exits) exits of w, not 2"
	sleep 0.05
done
until_w 2 '' 10
until_agent reports_pending 1 10
mn_stop 1
: >"$MN_DIR/n1/log"
mn_start 1
mn_wait_up 1
mn_relay 2 1
mn_relay 1 2
mn_wait_log 2 'event=agent_report_stale sup_node=n1 child=root/w' 10
until_agent reports_pending 0 10
# The EXIT of w's stopped generation; and the answers to the STARTs n1
# sent for its next ones, those that reached n2 before n1 stopped.
[ "$(agent reports_stale)" -ge 1 ] \
    || mn_fail "n2: agent reports_stale is '$(agent reports_stale)', not 1 or more"
until_w 2 running 15
until_w 1 running 10
[ "$(exits)" = 0 ] || mn_fail "the new n1 counted an exit of its w: $(grep 'root/w event=exit' "$MN_DIR/n1/log")"
echo "75_remote_oneway: ok"
