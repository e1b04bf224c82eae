#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 61_remote_orphans.sh -- remote children left without their supervisor
# (issue 12, "Remote children"; docs/supervision.md, "Orphans"): n1
# supervises w1 to w5, thread actors on n2 (its orphan_grace 1s), and s,
# a crasher there whose stop takes 2 s.  n1 dies (SIGKILL): after the
# grace n2's agent stops the six orphans at once; w1-w5 end while the
# agent's supervisor is busy with s's stop, and each leaves n2's tree as
# it ends all the same -- `arborctl status` on
# n2 lists no rc-* child, stopped or not (OTP: a child its supervisor
# gave up is removed, as a temporary child's end removes it), while
# root/local runs on.  Loopback ports or namespaces alike.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
MN_CK=$(mn_cookie mesh)
mn_pair_tree 1 "$MN_CK" 'root:
  children:
    - {name: w1, type: echo, node: n2}
    - {name: w2, type: echo, node: n2}
    - {name: w3, type: echo, node: n2}
    - {name: w4, type: echo, node: n2}
    - {name: w5, type: echo, node: n2}
    - {name: s, type: crasher, node: n2, shutdown: 10s,
       config: {stop: slow, stop_delay: 2s}}'
mn_remote_pair

rc_rows() { mn_rows 2 '^root/~agent/rc-'; }

end=$(mn_deadline 20)
until [ "$(rc_rows | grep -c ' running ')" = 6 ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n2 does not run w1-w5 and s: $(rc_rows)"
	sleep 0.05
done

mn_kill 1
for w in w1 w2 w3 w4 w5 s; do
	mn_wait_log 2 "event=orphan_stop sup_node=n1 child=root/$w " 15
done
# Stopped, each leaves the tree (w1-w5 once s's stop is over: the
# agent's supervisor takes no delete while it runs).
end=$(mn_deadline 10)
while [ -n "$(rc_rows)" ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "orphans still in n2's tree after their stop: $(rc_rows | tr '\n' ';')"
	sleep 0.05
done
[ "$(mn_rows 2 '^root/local$' | awk '{ print $2 }')" = running ] \
    || mn_fail "root/local on n2 is not running: $(mn_rows 2 '^root/local$')"
echo "61_remote_orphans: ok"
