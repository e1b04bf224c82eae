#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 63_remote_subtree.sh -- a nested supervisor as a remote child (issue 12,
# "Remote children"; docs/supervision.md): n1 (central) has a child `sub`
# with `node: n2` that is a supervisor (one_for_one, intensity 1 in 30 s)
# of two process actors w1 and w2 (type echo); n2's agent runs the whole
# subtree as root/~agent/rc-HASH-sub with w1 and w2 under it.  Checked:
# arborctl on n1 shows root/sub as supervisor@n2, running; SIGKILL of w1's
# OS process on n2 is handled there (the nested supervisor restarts w1,
# n1 logs nothing about sub and counts no restart); a second SIGKILL
# within the period makes the nested supervisor give up, which n1 sees
# as sub's exit (reached_max_restart_intensity) and restarts the subtree
# there (one restart, new w1 and w2); SIGKILL of n2 itself: sub exits
# with noconnection at n1, and when n2 is back the subtree runs there
# again, exactly once.  Between: a reload of n1 that leaves the subtree
# alone keeps it running, one that changes it starts it again on n2,
# once.  With namespaces, before the SIGKILL: n2 partitioned
# away, sub exits with noconnection at n1 (once), n2 stops the orphaned
# subtree after the grace (its workers reaped), and after the heal the
# subtree runs on n2 again, exactly once.  Last, arborctl on n1 aimed
# into the subtree (stop, start, restart, start-child, delete-child of
# root/sub/w1, start-child of root/sub) is refused with n2, the remote
# subtree and what to do instead (the path it names on n2 works there);
# a send to root/sub/w1 names the address on n2, which reaches w1;
# root/sub itself stops and starts from n1, and on n2 a stop, start or
# restart of the subtree's own supervisor (the remote child) is refused,
# naming n1 and root/sub.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
MN_CK=$(mn_cookie mesh)
# n1_tree INTENSITY [EXTRA]: n1's tree, the nested supervisor's
# intensity INTENSITY (in 30 s), EXTRA more children of n1's root.
n1_tree() {
	mn_pair_tree 1 "$MN_CK" "root:
  intensity: 10
  period: 10s
  children:${2:-}
    - name: sub
      node: n2
      backoff: {min: 100ms, max: 500ms}
      supervisor:
        strategy: one_for_one
        intensity: $1
        period: 30s
        children:
          - {name: w1, type: echo, isolation: process}
          - {name: w2, type: echo, isolation: process}"
}
n1_tree 1
mn_remote_pair

rows() { mn_rows "$@"; }
# wait_sub STATE [S]: until n1 shows root/sub as STATE (bounded).
wait_sub() { mn_wait_row 1 root/sub "$@"; }

# subtree_up [S]: until n2 runs exactly one subtree with w1 and w2
# running (bounded); prints "W1PID W2PID".
subtree_up() {
	local end s w1 w2
	end=$(mn_deadline "${1:-10}")
	while :; do
		s=$(rows 2 '^root/~agent/rc-[0-9a-f]+-sub$' | grep -c running)
		w1=$(rows 2 '^root/~agent/rc-[0-9a-f]+-sub/w1$' | awk '$2 == "running" { print $3 }')
		w2=$(rows 2 '^root/~agent/rc-[0-9a-f]+-sub/w2$' | awk '$2 == "running" { print $3 }')
		if [ "$s" = 1 ] && [ "$(printf '%s\n' "$w1" | grep -c .)" = 1 ] \
		    && [ "$(printf '%s\n' "$w2" | grep -c .)" = 1 ]; then
			echo "$w1 $w2"
			return 0
		fi
		[ "$s" -le 1 ] || mn_fail "n2 runs $s copies of the subtree: $(rows 2 '^root/~agent/')"
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n2: no one subtree with w1 and w2 running in time: $(rows 2 '^root/~agent/')"
		sleep 0.05
	done
}

n1_restarts() { mn_ctl 1 status | awk '$1 == "root/sub" { print $7 }'; }

wait_sub "supervisor@n2 running" 15
mn_ctl 1 status --json | grep -q '"path":"root/sub",[^}]*"node":"n2"' \
    || mn_fail "n1's status --json has no node n2 for root/sub"
read -r w1 w2 <<<"$(subtree_up 10)"
[ -n "$w1" ] && [ "$w1" -gt 0 ] && [ -n "$w2" ] || mn_fail "no OS pids for w1, w2 on n2"

# A worker dies: the nested supervisor restarts it on n2; n1 sees nothing.
kill -KILL "$w1"
mn_wait_log 2 'rc-[0-9a-f]+-sub/w1 event=exit .*crashed.*decision=restart' 10
end=$(mn_deadline 10)
while :; do
	read -r w1b w2b <<<"$(subtree_up 10)"
	[ "$w1b" != "$w1" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "w1 not restarted on n2"
	sleep 0.05
done
[ "$w2b" = "$w2" ] || mn_fail "w2 was restarted too ($w2 -> $w2b): one_for_one"
wait_sub "supervisor@n2 running" 5
[ "$(n1_restarts)" = 0 ] || mn_fail "n1 counts $(n1_restarts) restarts of sub, not 0"
grep -q 'root/sub event=exit' "$MN_DIR/n1/log" \
    && mn_fail "n1 saw an exit of sub: $(grep 'root/sub event=exit' "$MN_DIR/n1/log")"

# Again within the period: the nested supervisor gives up; n1 sees sub
# exit and starts the subtree again.
kill -KILL "$w1b"
mn_wait_log 2 'rc-[0-9a-f]+-sub event=give_up' 10
mn_wait_log 1 'root/sub event=exit .*reached_max_restart_intensity.*decision=restart' 10
wait_sub "supervisor@n2 running" 10
read -r w1c w2c <<<"$(subtree_up 10)"
[ "$w1c" != "$w1b" ] && [ "$w2c" != "$w2" ] \
    || mn_fail "the subtree was not started again ($w1b $w2 -> $w1c $w2c)"
[ "$(n1_restarts)" = 1 ] || mn_fail "n1 counts $(n1_restarts) restarts of sub, not 1"

# A reload of n1 that leaves sub's subtree as it was keeps it running on
# n2 (no new start there); one that changes it (the nested intensity)
# starts it again there, whole, once.
starts() { grep -c 'event=agent_start sup_node=n1 child=root/sub ' "$MN_DIR/n2/log"; }
s0=$(starts)
n1_tree 1 '
    - {name: extra, type: echo}'
mn_ctl 1 --timeout 5 reload >/dev/null || mn_fail "arborctl reload on n1"
mn_wait_log 1 'root/extra event=started' 10
read -r w1d w2d <<<"$(subtree_up 10)"
[ "$w1d $w2d" = "$w1c $w2c" ] || mn_fail "an unchanged subtree was restarted by n1's reload ($w1c $w2c -> $w1d $w2d)"
[ "$(starts)" = "$s0" ] || mn_fail "n2 started the unchanged subtree again"
n1_tree 2 '
    - {name: extra, type: echo}'
mn_ctl 1 --timeout 5 reload >/dev/null || mn_fail "arborctl reload on n1 (intensity 2)"
end=$(mn_deadline 10)
while :; do
	read -r w1c w2c <<<"$(subtree_up 10)"
	[ "$w1c" != "$w1d" ] && [ "$w2c" != "$w2d" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "the changed subtree was not started again on n2"
	sleep 0.05
done
[ "$(starts)" = $((s0 + 1)) ] || mn_fail "n2 started the changed subtree $(($(starts) - s0)) times, not once"
wait_sub "supervisor@n2 running" 10

# Partitioned (namespaces only): n1 counts sub exited with noconnection,
# once; n2 stops the orphaned subtree after its grace (1 s), its workers
# reaped; healed, the subtree runs again on n2, exactly once.
if [ "$MN_NS" = 1 ]; then
	mn_partition 2
	mn_wait_log 1 'root/sub event=exit .*noconnection' 10
	mn_wait_log 2 'rc-[0-9a-f]+-sub event=orphan_stop sup_node=n1 child=root/sub' 10
	end=$(mn_deadline 10)
	while [ -e "/proc/$w1c" ] || [ -e "/proc/$w2c" ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "the orphan's workers $w1c $w2c not reaped"
		sleep 0.05
	done
	mn_heal 2
	wait_sub "supervisor@n2 running" 20
	subtree_up 10 >/dev/null
	n=$(grep -c 'root/sub event=exit .*noconnection' "$MN_DIR/n1/log")
	[ "$n" = 1 ] || mn_fail "n1 counted $n noconnection exits of sub for one partition"
fi

# The gateway dies: sub exits with noconnection at n1 and runs again, once,
# on n2's next incarnation.
before=$(grep -c 'root/sub event=exit .*noconnection' "$MN_DIR/n1/log")
mn_kill 2
end=$(mn_deadline 10)
until [ "$(grep -c 'root/sub event=exit .*noconnection' "$MN_DIR/n1/log")" -gt "$before" ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: no noconnection exit of sub after n2's SIGKILL"
	sleep 0.05
done
mn_start 2
mn_wait_up 2
wait_sub "supervisor@n2 running" 20
read -r w1 w2 <<<"$(subtree_up 10)"

# arborctl on n1 aimed into the subtree (which runs on n2, and no command
# is relayed there): each is refused at once, naming n2, the remote
# subtree and what to do instead -- never 'no such child'; the path it
# names on n2 works there; root/sub itself stops and starts from n1.
# ctl_err ARGS...: arborctl on n1 must fail within its timeout; prints
# what it said.
ctl_err() {
	local out
	if out=$(mn_ctl 1 --timeout 5 "$@" 2>&1); then
		mn_fail "arborctl $* on n1 succeeded: $out"
	fi
	printf '%s\n' "$out"
}
there=$(rows 2 '^root/~agent/rc-[0-9a-f]+-sub$' | awk '{ print $1 }')
for op in stop start restart; do
	out=$(ctl_err "$op" root/sub/w1)
	case $out in
	*"cannot $op root/sub/w1: it runs on node n2, in the remote subtree root/sub (node: n2)"*"(arborctl $op root/sub)"*"on node n2: arborctl $op $there/w1"*) ;;
	*) mn_fail "arborctl $op root/sub/w1 on n1 said: $out" ;;
	esac
done
for arg in '{name: w3, type: echo}' ''; do
	out=$(ctl_err start-child root/sub ${arg:+"$arg"})
	case $out in
	*"cannot start a child of root/sub: it runs on node n2"*"start-child is relayed to another node only for a simple_one_for_one pool; add the child under root/sub in this node's tree file and reload"*) ;;
	*) mn_fail "arborctl start-child root/sub${arg:+ '$arg'} on n1 said: $out" ;;
	esac
done
out=$(ctl_err start-child root/sub/w1 '{}')
case $out in
*"cannot start a child of root/sub/w1: it runs on node n2 (root/sub is a remote subtree, node: n2)"*) ;;
*) mn_fail "arborctl start-child root/sub/w1 on n1 said: $out" ;;
esac
out=$(ctl_err delete-child root/sub/w2)
case $out in
*"cannot delete root/sub/w2: it runs on node n2, in the remote subtree root/sub (node: n2)"*) ;;
*) mn_fail "arborctl delete-child root/sub/w2 on n1 said: $out" ;;
esac
out=$(ctl_err send root/sub/w1 1 '{"n": 1}')
case $out in
*"root/sub/w1 runs on node n2 (root/sub has node: n2), not here: send to $there/w1@n2"*) ;;
*) mn_fail "arborctl send root/sub/w1 on n1 said: $out" ;;
esac
mn_ctl 1 --timeout 5 send "$there/w1@n2" 1 '{"n": 1}' >/dev/null \
    || mn_fail "arborctl send $there/w1@n2 on n1 (as n1 said): $(mn_ctl 1 send "$there/w1@n2" 1 '{"n": 1}' 2>&1)"
end=$(mn_deadline 10)
until [ "$(mn_ctl 2 status | awk -v p="$there/w1" '$1 == p { split($8, io, "/"); print (io[1] > 0) }')" = 1 ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n2's $there/w1 never counted the message n1 sent it"
	sleep 0.05
done
read -r w1b w2b <<<"$(subtree_up 5)"
[ "$w1b $w2b" = "$w1 $w2" ] || mn_fail "a refused command changed the subtree ($w1 $w2 -> $w1b $w2b)"
mn_ctl 2 --timeout 5 restart "$there/w1" >/dev/null \
    || mn_fail "arborctl restart $there/w1 on n2 (as n1 said)"
read -r w1b w2b <<<"$(subtree_up 5)"
[ "$w1b" != "$w1" ] && [ "$w2b" = "$w2" ] \
    || mn_fail "n2's restart of $there/w1: $w1 $w2 -> $w1b $w2b"
# On n2, the remote child itself (the subtree's supervisor the agent
# runs for n1) is n1's to stop, start and restart: each is refused,
# naming n1 and root/sub there, and changes nothing.  Before, a stop
# there said "stopped and deleted" and n1 restarted it at once, and a
# restart said "answered ignore (not kept)".
r0=$(n1_restarts)
for op in stop start restart; do
	if out=$(mn_ctl 2 --timeout 5 "$op" "$there" 2>&1); then
		mn_fail "arborctl $op $there on n2 succeeded: $out"
	fi
	case $out in
	*"cannot $op $there: it is root/sub of node n1, which supervises it"*"arborctl --node n1 $op root/sub"*) ;;
	*) mn_fail "arborctl $op $there on n2 said: $out" ;;
	esac
done
read -r w1c w2c <<<"$(subtree_up 5)"
[ "$w1c $w2c" = "$w1b $w2b" ] \
    || mn_fail "a refused command on n2 changed the subtree ($w1b $w2b -> $w1c $w2c)"
[ "$(n1_restarts)" = "$r0" ] \
    || mn_fail "n1 restarted sub after refused commands on n2 ($r0 -> $(n1_restarts))"
mn_ctl 1 --timeout 5 stop root/sub >/dev/null || mn_fail "arborctl stop root/sub on n1"
wait_sub "supervisor@n2 stopped" 10
end=$(mn_deadline 10)
while [ -n "$(rows 2 '^root/~agent/rc-')" ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n1 stopped root/sub, n2 still runs: $(rows 2 '^root/~agent/rc-')"
	sleep 0.05
done
mn_ctl 1 --timeout 5 start root/sub >/dev/null || mn_fail "arborctl start root/sub on n1"
wait_sub "supervisor@n2 running" 10
subtree_up 10 >/dev/null
echo "63_remote_subtree: ok"
