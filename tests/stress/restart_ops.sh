#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# restart_ops.sh -- the restart/operator stress loop (issue 8's crash hunt).
#
# Runs `arbor run` on a tree whose children restart in a loop (process,
# thread and exec children that crash, raise SIGSEGV, exit, leave
# grandchildren behind; tickers calling echoes across the process boundary
# while both restart; nested one_for_all / rest_for_one supervisors) and,
# meanwhile, a bounded random stream of operator commands: arborctl
# restart / stop / start / status / send / reload (two tree files
# alternate, so children are added, removed and changed) and SIGHUP.
# Each round ends with SIGTERM.  A round fails when the node dies of a
# signal, exits other than 0, prints a sanitizer report, leaves a process
# behind, or a core file appears.  Everything is bounded: ROUNDS rounds of
# SECONDS seconds each.
#
#   tests/stress/restart_ops.sh BUILD_DIR [ROUNDS [SECONDS]]
#
# Core files: run it with `ulimit -c unlimited` and a core_pattern of your
# choice; a node killed by a signal is reported with its log kept in
# $KEEP (default /tmp/arbor-stress-<pid>).  The bounded ctest version is
# stress.restart_ops (2 rounds of 8 s).
set -u
BUILD=${1:?usage: restart_ops.sh BUILD_DIR [ROUNDS [SECONDS]]}
ROUNDS=${2:-3}
SECONDS_PER_ROUND=${3:-20}
BUILD=$(cd "$BUILD" && pwd)
ARBOR=$BUILD/src/tools/arbor/arbor
CTL=$BUILD/src/tools/arborctl/arborctl
KEEP=${KEEP:-/tmp/arbor-stress-$$}
mkdir -p "$KEEP"
work=$(mktemp -d /tmp/arbor-stress-run.XXXXXX)
node_pid=
cleanup() {
	if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
		kill -KILL "$node_pid" 2>/dev/null
		wait "$node_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
export ARBOR_STATE_DIR=$work
# The tag (in the node's environment only) lets the leak check find
# everything the node started.
TAG=stress-$$
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

tree() { # $1: variant a|b
	local extra
	if [ "$1" = a ]; then
		extra='
    - {name: late, type: echo, isolation: process}'
	else
		extra='
    - {name: late, type: echo, isolation: thread}
    - {name: added, type: crasher, isolation: process, backoff: {min: 0ms},
       config: {exit: {after: 40ms, reason: error, code: 9}}}'
	fi
	cat <<YAML
node:
  name: stress$$
  control: $work/ctl/node.sock
  log_level: info
root:
  intensity: 100000
  period: 1s
  children:
    - {name: e1, type: echo, isolation: thread}
    - {name: e2, type: echo, isolation: process}
    - {name: pcrash, type: crasher, isolation: process, backoff: {min: 0ms},
       config: {exit: {after: 30ms, reason: error, code: 3}}}
    - {name: psegv, type: crasher, isolation: process, backoff: {min: 0ms},
       config: {exit: {after: 50ms, signal: SIGSEGV}}}
    - {name: tcrash, type: crasher, isolation: thread, backoff: {min: 0ms},
       config: {exit: {after: 20ms, reason: error, code: 4}}}
    - {name: t1, type: ticker, isolation: thread,
       config: {target: root/e2, interval: 2ms, call: true, timeout: 200ms}}
    - {name: t2, type: ticker, isolation: process,
       config: {target: root/e1, interval: 2ms, call: true, timeout: 200ms}}
    - {name: t3, type: ticker, isolation: process, backoff: {min: 0ms},
       config: {target: root/g/pe, interval: 1ms}}
    - name: sh
      isolation: exec
      backoff: {min: 0ms}
      command: [/bin/sh, -c, "sleep 0.0\$\$ 2>/dev/null; (sleep 30 &) ; exit 3"]
    - name: g
      backoff: {min: 0ms}
      supervisor:
        strategy: one_for_all
        intensity: 100000
        period: 1s
        children:
          - {name: pe, type: echo, isolation: process}
          - {name: te, type: echo, isolation: thread}
          - {name: c, type: crasher, isolation: process, backoff: {min: 0ms},
             config: {exit: {after: 80ms, reason: error, code: 5}}}
          - {name: tk, type: ticker, isolation: thread,
             config: {target: root/g/pe, interval: 1ms, call: true, timeout: 100ms}}
    - name: r
      supervisor:
        strategy: rest_for_one
        intensity: 100000
        period: 1s
        children:
          - {name: a, type: crasher, isolation: thread, backoff: {min: 0ms},
             config: {exit: {after: 60ms, reason: error, code: 6}}}
          - {name: b, type: echo, isolation: process}
          - {name: c, type: ticker, isolation: process,
             config: {target: root/r/b, interval: 1ms, call: true, timeout: 100ms}}$extra
YAML
}

paths=(root/e1 root/e2 root/pcrash root/psegv root/tcrash root/t1 root/t2
	root/t3 root/sh root/g root/g/pe root/g/te root/g/c root/g/tk root/r
	root/r/a root/r/b root/r/c root/late)

ctl() { timeout 15 "$CTL" --socket "$work/ctl/node.sock" --timeout 2 "$@" \
	>>"$work/ctl.log" 2>&1; }

fail=0
for round in $(seq 1 "$ROUNDS"); do
	mkdir -p "$work/ctl" && chmod 700 "$work/ctl"
	tree a >"$work/tree.yaml"
	: >"$work/ctl.log"
	ARB_STRESS_TAG=$TAG "$ARBOR" run "$work/tree.yaml" >"$work/node.log" 2>&1 &
	node_pid=$!
	# Wait (bounded) for the control socket.
	for _ in $(seq 1 200); do
		[ -S "$work/ctl/node.sock" ] && break
		sleep 0.05
	done
	end=$(( $(date +%s) + SECONDS_PER_ROUND ))
	# A second operator polls status and sends while the first acts.
	( while [ "$(date +%s)" -lt "$end" ] && kill -0 "$node_pid" 2>/dev/null
	  do
		ctl --timeout 1 status --json
		ctl send "${paths[RANDOM % ${#paths[@]}]}" 2 '"poll"'
	  done ) &
	poller=$!
	variant=a
	n=0
	while [ "$(date +%s)" -lt "$end" ] && kill -0 "$node_pid" 2>/dev/null; do
		p=${paths[RANDOM % ${#paths[@]}]}
		case $((RANDOM % 10)) in
		0|1) ctl restart "$p" ;;
		2) ctl stop "$p" ;;
		3) ctl start "$p" ;;
		4) ctl --timeout 1 status --json ;;
		5) ctl send "$p" 1 '{"x": 1}' ;;
		6) ctl restart --no-wait "$p"; ctl stop --no-wait "$p";
		   ctl start --no-wait "$p" ;;
		7) if [ $variant = a ]; then variant=b; else variant=a; fi
		   tree $variant >"$work/tree.yaml.new" &&
		   mv "$work/tree.yaml.new" "$work/tree.yaml"
		   ctl reload ;;
		8) kill -HUP "$node_pid" 2>/dev/null ;;
		9) ctl status ;;
		esac
		n=$((n + 1))
	done
	wait "$poller"
	kill -TERM "$node_pid" 2>/dev/null
	code=
	for _ in $(seq 1 600); do
		if ! kill -0 "$node_pid" 2>/dev/null; then break; fi
		sleep 0.05
	done
	if kill -0 "$node_pid" 2>/dev/null; then
		echo "round $round: node did not stop within 30 s; SIGKILL"
		kill -KILL "$node_pid"
	fi
	wait "$node_pid"
	code=$?
	node_pid=
	bad=
	[ "$code" -ne 0 ] && bad="exit status $code"
	grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
		-e 'WARNING: ThreadSanitizer' -e 'LeakSanitizer' "$work/node.log" \
		&& bad="$bad sanitizer report"
	# Anything of this run still alive?
	left=$(grep -l "ARB_STRESS_TAG=$TAG" /proc/[0-9]*/environ 2>/dev/null \
		| wc -l)
	[ "$left" -gt 0 ] && bad="$bad $left process(es) left"
	restarts=$(grep -c 'decision=restart' "$work/node.log")
	echo "round $round: ${SECONDS_PER_ROUND}s, $n commands, $restarts restarts, exit $code${bad:+, FAILED: $bad}"
	if [ -n "$bad" ] || [ -n "${KEEP_ALL:-}" ]; then
		[ -n "$bad" ] && fail=1
		cp "$work/node.log" "$KEEP/node.$round.log"
		cp "$work/ctl.log" "$KEEP/ctl.$round.log"
		echo "  logs kept in $KEEP/node.$round.log"
	fi
	rm -rf "$work/ctl"
done
[ $fail = 0 ] && [ -z "${KEEP_ALL:-}" ] && rm -rf "$KEEP"
exit $fail
