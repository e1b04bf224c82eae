#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 00_lib.sh -- lib.sh itself, so that the scenarios stand on firm ground:
# three nodes, each with its own tree file, control socket and run dir
# (and, as root, its own network namespace and address), come up and
# answer arborctl; as root, a cut cable really stops traffic between two
# namespaces and a mended one carries it again; SIGKILL and SIGTERM reap
# with the right status; and on exit -- a passing script and a failing
# one alike -- the trap leaves no node, no process actor, no namespace
# and no file behind.  A sanitizer's report in a node's log (rehearsed:
# a line appended) is printed with that log, and fails a passing script.
# A script SIGKILLed (as ctest does at its timeout: no trap runs) leaves
# no node running: its node and the node's process actor end within 10 s
# (mn_guard's setpriv --pdeathsig).  The scenario runs in a child bash
# (this file with the argument "inner"), so its clean-up is checked from
# outside.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = inner ]; then
	mode=$2
	. "$here/lib.sh"
	if [ "$mode" = orphaned ]; then
		# One node with a process actor, up; then this shell waits
		# (read -t: a builtin, no child of its own to leave behind)
		# for the SIGKILL from outside.
		mn_setup 1
		mn_tree 1 "" 'root:
  children:
    - {name: p, type: echo, isolation: process}'
		mn_start 1
		mn_wait_up 1
		mkfifo "$MN_DIR/hold" || mn_fail "mkfifo"
		printf 'dir %s\nnode %s\nready\n' "$MN_DIR" "${MN_PID[1]}" >>"$OUT"
		read -r -t $((60 * MN_SCALE)) _ <>"$MN_DIR/hold"
		mn_fail "not killed in 60 s"
	fi
	mn_setup 3
	root='root:
  children:
    - {name: e, type: echo}
    - {name: p, type: echo, isolation: process}'
	for i in 1 2 3; do
		mn_tree "$i" "" "$root"
		mn_start "$i"
	done
	for i in 1 2 3; do
		mn_wait_up "$i"
		out=$(mn_ctl "$i" status) || mn_fail "n$i: arborctl status failed"
		case $out in
		*"node n$i "*"root/p "*running*) ;;
		*) mn_fail "n$i: unexpected status: $out" ;;
		esac
	done
	if [ "$MN_NS" = 1 ]; then
		for i in 1 2 3; do
			mn_in "$i" ip -4 addr show dev eth0 | grep -q "10.77.0.$i/24" \
			    || mn_fail "n$i has no address 10.77.0.$i"
		done
		mn_reachable 1 2 || mn_fail "n1 does not reach n2"
		mn_partition 2
		if mn_reachable 1 2; then mn_fail "n1 reaches n2 through a cut cable"; fi
		mn_reachable 1 3 || mn_fail "n1 lost n3 when n2's cable was cut"
		mn_heal 2
		end=$(mn_deadline 5)
		until mn_reachable 1 2; do
			[ "$(mn_now)" -lt "$end" ] || mn_fail "n2 unreachable after heal"
		done
		echo netns >>"$OUT"
	fi
	# mn_guard's words end a program whose parent is not the shell
	# that took them (as when that shell died before setpriv ran; here
	# the parent is a $(...) subshell), with 128+SIGTERM, unrun.
	mn_guard
	if [ "$MN_PDEATH" = 1 ]; then
		out=$("${MN_GUARD[@]}" echo ran; echo "rc $?")
		[ "$out" = "rc 143" ] \
		    || mn_fail "mn_guard under another parent: '$out', not 'rc 143'"
	fi
	mn_kill 3
	[ "$MN_RC" = 137 ] || mn_fail "SIGKILLed n3 ended with $MN_RC, not 137"
	mn_alive 3 && mn_fail "n3 still alive"
	mn_stop 1
	[ "$MN_RC" = 0 ] || mn_fail "n1 stopped with $MN_RC, not 0"
	echo "dir $MN_DIR" >>"$OUT"
	# n2 (with its process actor) is left for the trap.
	[ "$mode" = fail ] && mn_fail "a failure, rehearsed"
	if [ "$mode" = sanitized ]; then
		echo "==1==WARNING: ThreadSanitizer: data race (rehearsed)" \
		    >>"$MN_DIR/n2/log"
	fi
	exit 0
fi

fails=0
tmp=$(mktemp -d /tmp/arbor-mn00.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

check_clean() { # $1: the run's MN_ID
	local id=$1 dir p left
	if ip netns list 2>/dev/null | grep -q "arbmn-$id-"; then
		echo "FAIL: namespaces left: $(ip netns list | grep "arbmn-$id-")"
		fails=$((fails + 1))
	fi
	dir=$(sed -n 's/^dir //p' "$OUT")
	if [ -z "$dir" ] || [ -e "$dir" ]; then
		echo "FAIL: the run's directory '$dir' is left"
		fails=$((fails + 1))
	fi
	left=$(tagged "$id")
	if [ -n "$left" ]; then
		echo "FAIL: processes left:$left"
		fails=$((fails + 1))
	fi
}

# Can namespaces be made here (root, ip, CAP_SYS_ADMIN)?  Then lib.sh must
# use them, unless MN_NETNS=0 says not to.
netns_possible=0
if [ "${MN_NETNS:-1}" != 0 ] && [ "$(id -u)" = 0 ] \
    && ip netns add "arbmn-$$-probe" 2>/dev/null; then
	ip netns del "arbmn-$$-probe"
	netns_possible=1
fi
# The inner scripts end with this one (as lib.sh's nodes do: mn_guard):
# setpriv --pdeathsig TERM runs the inner's trap.
guard=()
setpriv --pdeathsig TERM true 2>/dev/null && guard=(setpriv --pdeathsig TERM)

# tagged ID: the pids of the processes whose environment holds
# ARB_MN_TAG=ID (a run's nodes and their process actors).
tagged() {
	local p out=
	for p in /proc/[0-9]*; do
		if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null \
		    | grep -qx "ARB_MN_TAG=$1"; then
			out="$out ${p#/proc/}"
		fi
	done
	echo "$out"
}

# orphaned: the inner script SIGKILLed once its node is up; the node
# (and its process actor) must end by itself within 10 s.  What the
# dead script's trap would have removed is removed here: whatever still
# runs (by pid, after the check), its namespaces, its directory.
orphaned() {
	local id=$1 inner end pid dir left ns p
	export OUT="$tmp/orphaned.out"
	: >"$OUT"
	MN_ID=$id "${guard[@]}" bash "$0" inner orphaned 2>"$tmp/orphaned.err" &
	inner=$!
	end=$(($(date +%s%3N) + 30000 * ${ARB_TEST_TIMEOUT_SCALE:-1}))
	until grep -qx ready "$OUT"; do
		if ! kill -0 "$inner" 2>/dev/null \
		    || [ "$(date +%s%3N)" -ge "$end" ]; then
			kill -KILL "$inner" 2>/dev/null
			wait "$inner"
			cat "$tmp/orphaned.err" >&2
			echo "FAIL: orphaned: the inner script's node did not come up"
			fails=$((fails + 1))
			break
		fi
		sleep 0.05
	done
	pid=$(sed -n 's/^node //p' "$OUT")
	dir=$(sed -n 's/^dir //p' "$OUT")
	if [ -n "$pid" ]; then
		kill -KILL "$inner"
		wait "$inner" 2>/dev/null
		end=$(($(date +%s%3N) + 10000 * ${ARB_TEST_TIMEOUT_SCALE:-1}))
		while left=$(tagged "$id") && [ -n "$left" ] \
		    && [ "$(date +%s%3N)" -lt "$end" ]; do
			sleep 0.05
		done
		if [ -n "$left" ]; then
			echo "FAIL: orphaned: the SIGKILLed script's node $pid left running (processes$left)"
			fails=$((fails + 1))
			for p in $left; do kill -KILL "$p" 2>/dev/null; done
		else
			echo "orphaned: node $pid and its process actor ended with the script"
		fi
	fi
	for ns in $(ip netns list 2>/dev/null | awk -v id="arbmn-$id-" \
	    'index($1, id) == 1 { print $1 }'); do
		ip netns del "$ns"
	done
	[ -n "$dir" ] && rm -rf "$dir"
}

for mode in ok fail sanitized orphaned; do
	id=$$$((RANDOM % 90 + 10))
	if [ "$mode" = orphaned ]; then
		if [ "${#guard[@]}" = 0 ]; then
			echo "note: no 'setpriv --pdeathsig' here: the orphaned run is skipped"
		else
			orphaned "$id"
			check_clean "$id"
		fi
		continue
	fi
	export OUT="$tmp/$mode.out"
	: >"$OUT"
	MN_ID=$id "${guard[@]}" bash "$0" inner "$mode" 2>"$tmp/$mode.err"
	rc=$?
	cat "$tmp/$mode.err" >&2
	if [ "$rc" = 77 ]; then
		exit 77
	fi
	want=0
	[ "$mode" = ok ] || want=1
	if [ "$rc" != "$want" ]; then
		echo "FAIL: the $mode run exited $rc, not $want"
		fails=$((fails + 1))
	fi
	# A sanitizer's report in a node's log fails a script that passed,
	# and that whole log is printed before it goes (only that one).
	if [ "$mode" = sanitized ] && { ! grep -q \
	    "n2's log holds a sanitizer report" "$tmp/$mode.err" \
	    || ! grep -q "^==1==WARNING: ThreadSanitizer: data race (rehearsed)" \
	    "$tmp/$mode.err" \
	    || grep -q "n[13]'s log holds" "$tmp/$mode.err"; }; then
		echo "FAIL: n2's log (and only it) was not printed with its report"
		fails=$((fails + 1))
	fi
	check_clean "$id"
	if [ "$netns_possible" = 1 ] && ! grep -qx netns "$OUT"; then
		echo "FAIL: namespaces can be made here, but the nodes had none"
		fails=$((fails + 1))
	fi
done
[ "$fails" = 0 ] && echo "00_lib: ok"
[ "$fails" = 0 ]
