#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 64_remote_pool.sh -- a remote simple_one_for_one pool (issue 12, OTP's
# supervisor:start_child({Pool, Node}, Args); docs/multinode.md "Remote
# pools"): n1 (central) has a child `pool` with `node: n2` that is a
# simple_one_for_one supervisor (intensity 1 in 30 s) of process actors
# (type echo); n2's agent runs it as root/~agent/rc-HASH-pool.  Checked:
# arborctl start-child root/pool on n1 is relayed to n2's agent and
# answered with the new child's path there (@n2), which n2 runs; a send
# to that address reaches it; its SIGKILL is handled on n2 (restarted by
# the pool there, n1 sees nothing); a second one within the period makes
# the pool give up, which n1 sees as root/pool's exit
# (reached_max_restart_intensity) and starts it again, empty; start-child
# of a path that is no pool in the subtree, or while the pool is stopped,
# is refused at once, saying why; n2 frozen (SIGSTOP): a start-child is
# answered at the pool's start_timeout (ARB_ETIMEDOUT), never a hang; n2
# killed while one waits: answered with n2's loss (ARB_ECHILD "node n2
# lost") at once.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 2
MN_CK=$(mn_cookie mesh)
mn_pair_tree 1 "$MN_CK" "root:
  intensity: 10
  period: 10s
  children:
    - name: pool
      node: n2
      start_timeout: 5s
      backoff: {min: 100ms, max: 500ms}
      supervisor:
        strategy: simple_one_for_one
        intensity: 1
        period: 30s
        children:
          - {name: w, type: echo, isolation: process}
    - name: deep
      node: n2
      supervisor:
        strategy: one_for_one
        children:
          - name: inner
            supervisor:
              strategy: simple_one_for_one
              children:
                - {name: t, type: echo}" "" '  heartbeat: {interval: 1s, misses: 20}'
mn_remote_pair

n1_restarts() { mn_ctl 1 status | awk '$1 == "root/pool" { print $7 }'; }
# pool_kids: n2's running children of the pool (path ospid), one a line.
pool_kids() { mn_rows 2 '^root/~agent/rc-[0-9a-f]+-pool/' | awk '$2 == "running" { print $1, $3 }'; }

mn_wait_row 1 root/pool "supervisor@n2 running" 15
mn_wait_row 1 root/deep "supervisor@n2 running" 15
there=$(mn_rows 2 '^root/~agent/rc-[0-9a-f]+-pool$' | awk '{ print $1 }')
[ -n "$there" ] || mn_fail "n2 does not run the pool: $(mn_rows 2 '^root/~agent/')"
[ -z "$(pool_kids)" ] || mn_fail "the pool on n2 has children before any start-child: $(pool_kids)"

# start-child from n1: answered with the child's path on n2.
out=$(mn_ctl 1 --timeout 10 start-child root/pool '{}' 2>&1) \
    || mn_fail "arborctl start-child root/pool on n1: $out"
case $out in
"$there/"*"@n2: running") ;;
*) mn_fail "start-child root/pool on n1 said: $out (expected $there/...@n2: running)" ;;
esac
child=${out%@n2: running}
read -r p ospid <<<"$(pool_kids)"
[ "$p" = "$child" ] && [ -n "$ospid" ] && [ "$ospid" -gt 0 ] \
    || mn_fail "n2 runs '$p' ($ospid), not the child n1 was answered ($child)"
mn_wait_log 2 "event=agent_start_child sup_node=n1 child=root/pool generation=[0-9]+ ref=[0-9]+ result=ARB_OK" 5

# A start-child into the nested pool of root/deep (a path inside the
# remote subtree): answered the same way.
out=$(mn_ctl 1 --timeout 10 start-child root/deep/inner '{}' 2>&1) \
    || mn_fail "arborctl start-child root/deep/inner on n1: $out"
case $out in
root/~agent/rc-*-deep/inner/*"@n2: running") ;;
*) mn_fail "start-child root/deep/inner on n1 said: $out" ;;
esac

# The address it answered reaches the child.
mn_ctl 1 --timeout 5 send "$child@n2" 1 '{"n": 1}' >/dev/null \
    || mn_fail "arborctl send $child@n2 on n1: $(mn_ctl 1 send "$child@n2" 1 '{"n": 1}' 2>&1)"
end=$(mn_deadline 10)
until [ "$(mn_ctl 2 status | awk -v p="$child" '$1 == p { split($8, io, "/"); print (io[1] > 0) }')" = 1 ]; do
	[ "$(mn_now)" -lt "$end" ] || mn_fail "n2's $child never counted the message n1 sent it"
	sleep 0.05
done

# Paths that are no pool there, and a send or stop aimed at the pool's
# child through n1's path: refused at once, saying why.
out=$(mn_ctl 1 --timeout 5 start-child root/pool/nope '{}' 2>&1) \
    && mn_fail "start-child root/pool/nope succeeded: $out"
case $out in *"no such supervisor: root/pool/nope"*) ;; *) mn_fail "start-child root/pool/nope said: $out" ;; esac
out=$(mn_ctl 1 --timeout 5 start-child root/deep 2>&1) \
    && mn_fail "start-child root/deep succeeded: $out"
case $out in *"start-child is relayed to another node only for a simple_one_for_one pool"*) ;; *) mn_fail "start-child root/deep said: $out" ;; esac
name=${child##*/}
out=$(mn_ctl 1 --timeout 5 send "root/pool/$name" 1 '{}' 2>&1) \
    && mn_fail "send root/pool/$name on n1 succeeded: $out"
case $out in *"runs on node n2"*"send to $child@n2"*) ;; *) mn_fail "send root/pool/$name on n1 said: $out" ;; esac
out=$(mn_ctl 1 --timeout 5 stop "root/pool/$name" 2>&1) \
    && mn_fail "stop root/pool/$name on n1 succeeded: $out"
case $out in *"on node n2: arborctl stop $child"*) ;; *) mn_fail "stop root/pool/$name on n1 said: $out" ;; esac

# The child crashes: the pool restarts it on n2; n1 sees nothing.
kill -KILL "$ospid"
mn_wait_log 2 "$child event=exit .*crashed.*decision=restart" 10
end=$(mn_deadline 10)
while :; do
	read -r p2 ospid2 <<<"$(pool_kids)"
	[ "$p2" = "$child" ] && [ -n "$ospid2" ] && [ "$ospid2" != "$ospid" ] && break
	[ "$(mn_now)" -lt "$end" ] || mn_fail "the pool's child not restarted on n2: $(pool_kids)"
	sleep 0.05
done
[ "$(n1_restarts)" = 0 ] || mn_fail "n1 counts $(n1_restarts) restarts of root/pool, not 0"

# Again within the period: the pool gives up; n1 sees root/pool exit and
# starts it again, empty (as OTP's restarted pool).
kill -KILL "$ospid2"
mn_wait_log 2 'rc-[0-9a-f]+-pool event=give_up' 10
mn_wait_log 1 'root/pool event=exit .*reached_max_restart_intensity.*decision=restart' 10
mn_wait_row 1 root/pool "supervisor@n2 running" 10
[ "$(n1_restarts)" = 1 ] || mn_fail "n1 counts $(n1_restarts) restarts of root/pool, not 1"
[ -z "$(pool_kids)" ] || mn_fail "the restarted pool is not empty: $(pool_kids)"

# The pool stopped from n1: a start-child is refused at once, saying so.
mn_ctl 1 --timeout 5 stop root/pool >/dev/null || mn_fail "arborctl stop root/pool on n1"
mn_wait_row 1 root/pool "supervisor@n2 stopped" 10
out=$(mn_ctl 1 --timeout 5 start-child root/pool '{}' 2>&1) \
    && mn_fail "start-child of the stopped pool succeeded: $out"
case $out in *"in the remote subtree root/pool, which is stopped here now (not running on node n2: "*) ;; *) mn_fail "start-child of the stopped pool said: $out" ;; esac
mn_ctl 1 --timeout 5 start root/pool >/dev/null || mn_fail "arborctl start root/pool on n1"
mn_wait_row 1 root/pool "supervisor@n2 running" 10

# n2 frozen (SIGSTOP; n1 counts it lost only after 20 missed 1 s
# heartbeats): the start-child is answered at the pool's start_timeout
# (5 s), ARB_ETIMEDOUT, not a hang (arborctl would wait 15 s).
kill -STOP "${MN_PID[2]}"
t0=$(mn_now)
out=$(mn_ctl 1 --timeout 15 start-child root/pool '{}' 2>&1) \
    && { kill -CONT "${MN_PID[2]}"; mn_fail "start-child to a frozen n2 succeeded: $out"; }
t1=$(mn_now)
kill -CONT "${MN_PID[2]}"
case $out in
*"no answer from node n2 within the start_timeout of root/pool"*) ;;
*) mn_fail "start-child to a frozen n2 said: $out" ;;
esac
mn_log "frozen n2: start-child answered in $((t1 - t0)) ms: $out"

# n2 frozen again, a start-child waiting, then n2 killed (its links
# close at once): the start-child is answered with n2's loss, long before
# the timeout.
mn_wait_row 1 root/pool "supervisor@n2 running" 10
kill -STOP "${MN_PID[2]}"
mn_ctl 1 --timeout 15 start-child root/pool '{}' >"$MN_DIR/lost.out" 2>&1 &
ctl=$!
n=$(grep -c 'root/pool event=remote_start_child ' "$MN_DIR/n1/log")
end=$(mn_deadline 10)
until [ "$(grep -c 'root/pool event=remote_start_child ' "$MN_DIR/n1/log")" -gt "$n" ]; do
	[ "$(mn_now)" -lt "$end" ] || { kill -CONT "${MN_PID[2]}"; mn_fail "n1 sent no START_CHILD"; }
	sleep 0.05
done
mn_kill 2
wait "$ctl" && mn_fail "start-child to a killed n2 succeeded: $(cat "$MN_DIR/lost.out")"
out=$(cat "$MN_DIR/lost.out")
case $out in
*"cannot start a child of root/pool: its start failed: node n2 lost"*) ;;
*) mn_fail "start-child to a killed n2 said: $out" ;;
esac
echo "64_remote_pool: ok"
