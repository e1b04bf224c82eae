#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 62_remote_mutual.sh -- two nodes whose roots each supervise a child on
# the other, and a reload of a node that runs children for another
# (issue 12, "Remote children"; docs/supervision.md).
# 1. n1's root has w on n2, n2's root has v on n1; both nodes are started
#    together.  Each agent runs what the other asks under its own
#    supervisor, root/~agent, which is up before the root starts its own
#    children: both trees come up (event=tree_up) well within the
#    children's start_timeout, and each side shows its remote child
#    running (the agent once added them to its root, which is busy until
#    its own start is done: both starts waited until start_timeout and
#    both nodes exited 70).
# 2. n2's tree file gains a child and n2 reloads it: the reload applies
#    (the new child runs) and leaves what n2's agent runs for n1 alone --
#    the same OS pid, no exit reported to n1 (w still running there, no
#    restart) -- and n2's own remote child v keeps running (a reload once
#    stopped the agent's children: the file does not list them).
# 3. n2's root is one_for_all: SIGKILL of `extra` restarts its siblings,
#    never root/~agent (w for n1 keeps its pid, n1 sees no exit); an
#    operator cannot stop or delete root/~agent (refused, still running).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
ck=$(mn_cookie mesh)
mn_pair_tree 1 "$ck" 'root:
  children:
    - {name: w, type: echo, isolation: process, node: n2,
       start_timeout: 8s}'
tree2() {
	mn_pair_tree 2 "$ck" "root:
  strategy: one_for_all
  intensity: 10
  period: 10s
  children:
    - {name: v, type: echo, node: n1, start_timeout: 8s}
$1"
}
tree2 ''
mn_start 1
mn_start 2
t0=$(mn_now)
mn_wait_log 1 'event=tree_up' 15
mn_wait_log 2 'event=tree_up' 15
took=$(($(mn_now) - t0))
# Both starts would wait out their 8 s start_timeout if either waited for
# the other's root; allow a loaded machine half of it.
[ "$took" -lt 4000 ] || mn_fail "the two trees took $took ms to come up"
mn_alive 1 || mn_fail "n1 exited"
mn_alive 2 || mn_fail "n2 exited"

# state I PATH: PATH's isolation and state on nI.
state() {
	mn_ctl "$1" --timeout 2 status 2>/dev/null \
	    | awk -v p="$2" '$1 == p { print $3, $4 }'
}
# hosted I NAME: the OS pid of the running child NAME nI's agent runs.
hosted() {
	mn_ctl "$1" --timeout 2 status 2>/dev/null | awk -v n="$2" \
	    '$1 ~ "^root/~agent/rc-[0-9a-f]+-" n "$" && $4 == "running" { print $5 }'
}
[ "$(state 1 root/w)" = "process@n2 running" ] \
    || mn_fail "n1: root/w is '$(state 1 root/w)'"
[ "$(state 2 root/v)" = "thread@n1 running" ] \
    || mn_fail "n2: root/v is '$(state 2 root/v)'"
pid_w=$(hosted 2 w)
[ -n "$pid_w" ] && [ "$pid_w" -gt 0 ] || mn_fail "n2 runs no w for n1"
[ -n "$(hosted 1 v)" ] || mn_fail "n1 runs no v for n2"

# A reload of n2 (its file gained `extra`) applies and stops nothing of
# what its agent runs.
tree2 '    - {name: extra, type: echo, isolation: process}'
mn_ctl 2 --timeout 5 reload >/dev/null || mn_fail "arborctl reload on n2"
end=$(mn_deadline 10)
until [ "$(state 2 root/extra)" = "process running" ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "n2: root/extra is '$(state 2 root/extra)' after the reload"
	sleep 0.05
done
# w_untouched WHEN: n1's w still runs on n2 as it did (the same OS pid),
# and n1 counts no restart of it.
w_untouched() {
	local restarts
	[ "$(hosted 2 w)" = "$pid_w" ] \
	    || mn_fail "n2's w for n1 is '$(hosted 2 w)', not $pid_w, after $1"
	[ "$(state 1 root/w)" = "process@n2 running" ] \
	    || mn_fail "n1: root/w is '$(state 1 root/w)' after $1"
	restarts=$(mn_ctl 1 status | awk '$1 == "root/w" { print $7 }')
	[ "$restarts" = 0 ] || mn_fail "n1 counts $restarts restarts of w after $1"
}
w_untouched "n2's reload"
grep -Eq 'root/w .*event=(exit|exited)' "$MN_DIR/n1/log" \
    && mn_fail "n1 saw w exit: $(grep -E 'root/w .*event=exit' "$MN_DIR/n1/log")"
[ "$(state 2 root/v)" = "thread@n1 running" ] \
    || mn_fail "n2: root/v is '$(state 2 root/v)' after its reload"

# pid I PATH: PATH's OS pid on nI.
pid() {
	mn_ctl "$1" --timeout 2 status 2>/dev/null \
	    | awk -v p="$2" '$1 == p && $4 == "running" { print $5 }'
}
pid_x=$(pid 2 root/extra)
[ -n "$pid_x" ] && [ "$pid_x" -gt 0 ] || mn_fail "no OS pid for n2's extra"
kill -KILL "$pid_x"
mn_wait_log 2 'root/extra .*crashed' 10
end=$(mn_deadline 10)
until [ -n "$(pid 2 root/extra)" ] && [ "$(pid 2 root/extra)" != "$pid_x" ] \
    && [ "$(state 2 root/v)" = "thread@n1 running" ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n2's one_for_all did not restart extra and v"
	sleep 0.05
done
w_untouched "n2's one_for_all restart"

# Operators cannot take the agent's supervisor away.
out=$(mn_ctl 2 stop root/~agent 2>&1) \
    && mn_fail "arborctl stop root/~agent was not refused"
case $out in
*"cannot stop root/~agent: it is the node agent's supervisor"*) ;;
*) mn_fail "arborctl stop root/~agent said: $out" ;;
esac
mn_ctl 2 delete-child root/~agent >/dev/null 2>&1 \
    && mn_fail "arborctl delete-child root/~agent was not refused"
[ "$(hosted 2 w)" = "$pid_w" ] || mn_fail "w for n1 went with an operator's stop"
echo "62_remote_mutual: ok"
