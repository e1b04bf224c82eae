#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multinode_detect.sh -- how fast a node sees a SIGKILLed peer (issue 12,
# "Failure detection": p99 <= 3 s with the defaults), over KILLS kills:
# two nodes (network namespaces as root, loopback otherwise; the helpers
# of tests/multinode/lib.sh), n1 watching n2; each round SIGKILLs n2,
# polls n1's `arborctl peers` every 20 ms until n2 is down, restarts n2
# and waits until it is up again.  Prints every time, then p50, p99 and
# max.  The poll adds up to ~20 ms plus arborctl's own start to each
# figure: the floor is printed beside them (the same poll of a peer that
# is already down, median of 20).
#
#   bench/multinode_detect.sh BUILD_DIR [KILLS (default 20)] [kill|partition|loss]
#
# "partition" cuts n2's cable instead of killing it (namespaces only):
# then only the heartbeats can tell (interval x misses).
#
# NETEM="DELAY_MS JITTER_MS LOSS_PCT" (namespaces only; BUILD_DIR built
# with -DARB_BUILD_BENCH=ON) links the two nodes through
# bench/netem_tun.c instead: a TUN device in each namespace (10.78.0.1 and
# .2) and a user-space forwarder that delays every packet by DELAY_MS +/-
# JITTER_MS and drops LOSS_PCT % of them, each direction (this machine's
# kernel has no sch_netem).  "loss" then drops every packet both ways
# (the forwarder's SIGUSR1, as netem's "loss 100%") until n1 sees n2
# lost, and restores the configured link (SIGUSR2).  The load average is
# printed at the start and at the end.
#
# BULK=1 (with NETEM and "loss"): the two nodes are arb-mn-bulk
# (tests/multinode/mn_bulk.c, default heartbeats) and n1 streams 64 B
# messages to n2 as fast as the link takes them all along, so each cut
# comes while the link is saturated: detection under bulk traffic and
# delay/loss together.  These nodes have no control socket: detection is
# read from n1's log (its peer_down line's time minus the cut), and the
# floor is that of the log (none).  Each cut comes 1.0-2.0 s (random)
# after the link came back up, so that the bulk fills it again first.
# The bulk's last second and its heartbeat figures are printed.
set -u
BUILD=$(cd "${1:?usage: multinode_detect.sh BUILD_DIR [KILLS] [kill|partition|loss]}" && pwd)
KILLS=${2:-20}
HOW=${3:-kill}
NETEM=${NETEM:-}
export ARBOR_BIN=$BUILD/src/tools/arbor/arbor
export ARBORCTL_BIN=$BUILD/src/tools/arborctl/arborctl
. "$(dirname "$0")/../tests/multinode/lib.sh"
if [ "$HOW" = kill ] && [ -z "$NETEM" ]; then mn_setup 2; else mn_setup 2 netns; fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
root='root:
  children:
    - {name: e, type: echo}'
NT_PID=
if [ -n "$NETEM" ]; then
	NT=$BUILD/bench/netem-tun
	[ -x "$NT" ] || mn_fail "no $NT (configure with -DARB_BUILD_BENCH=ON)"
	# shellcheck disable=SC2086 # NETEM is three numbers
	"$NT" "$(mn_ns 1)" "$(mn_ns 2)" mnt0 $NETEM >"$MN_DIR/netem.out" 2>&1 &
	NT_PID=$!
	trap 'kill "$NT_PID" 2>/dev/null; wait "$NT_PID"; cat "$MN_DIR/netem.out"; mn_cleanup' EXIT
	end=$(mn_deadline 5)
	until grep -q ready "$MN_DIR/netem.out" 2>/dev/null; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "netem-tun did not start"
		sleep 0.05
	done
	for i in 1 2; do
		ip -n "$(mn_ns "$i")" addr add "10.78.0.$i" peer "10.78.0.$((3 - i))" dev mnt0 \
		    && ip -n "$(mn_ns "$i")" link set mnt0 up \
		    || mn_fail "cannot set up mnt0 in n$i"
	done
	ck=$(mn_cookie mesh)
	if [ "${BULK:-0}" = 1 ]; then
		[ "$HOW" = loss ] || mn_fail "BULK=1 needs loss"
		MN_BULK_BIN=${MN_BULK_BIN:-$BUILD/tests/arb-mn-bulk}
		[ -x "$MN_BULK_BIN" ] || mn_fail "no $MN_BULK_BIN"
		# bulk_start I ROLE [ARGS...] (as tests/multinode/60_bulk.sh)
		bulk_start() {
			local i=$1 j=$((3 - $1))
			shift
			ip netns exec "$(mn_ns "$i")" "$MN_BULK_BIN" "n$i" "tcp://10.78.0.$i:7400" \
			    "n$j" "tcp://10.78.0.$j:7400" "$ck" "$@" >"$MN_DIR/n$i/out" 2>>"$MN_DIR/n$i/log" &
			MN_PID[$i]=$!
		}
		mkdir -p "$MN_DIR/n1" "$MN_DIR/n2"
		bulk_start 2 sink
		end=$(mn_deadline 20)
		until grep -q '^sink slot=' "$MN_DIR/n2/out" 2>/dev/null; do
			[ "$(mn_now)" -lt "$end" ] || mn_fail "no sink slot"
			sleep 0.1
		done
		slot=$(sed -n 's/^sink slot=\([0-9]*\).*/\1/p' "$MN_DIR/n2/out")
		bulk_start 1 source "$slot" 1 $((KILLS * 8 + 30))
		end=$(mn_deadline 30)
		until grep -q '^source second=2 ' "$MN_DIR/n1/out" 2>/dev/null; do
			[ "$(mn_now)" -lt "$end" ] || mn_fail "the bulk did not start"
			sleep 0.1
		done
	else
	for i in 1 2; do
		mn_tree "$i" "  listen: tcp://10.78.0.$i:7400
  cookie: $ck
  peers:
    - {name: n$((3 - i)), url: \"tcp://10.78.0.$((3 - i)):7400\"}" "$root"
		mn_start "$i"
	done
	for i in 1 2; do mn_wait_up "$i"; done
	fi
else
	mn_mesh "$root"
fi
# bulk_wait_log I RE N SECONDS: until nI's log has N lines matching RE;
# MN_WAITED: how long it took, in ms.
bulk_wait_log() {
	local start end
	start=$(mn_now)
	end=$(mn_deadline "$4")
	until [ "$(grep -c -- "$2" "$MN_DIR/n$1/log")" -ge "$3" ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n$1: fewer than $3 /$2/ lines in time"
		sleep 0.01
	done
	MN_WAITED=$(($(mn_now) - start))
}
if [ "${BULK:-0}" = 1 ]; then
	bulk_wait_log 1 'event=peer_up peer=n2' 1 10
else
	mn_wait_peer 1 n2 up 10
fi
times=()
parts=()
# log_ms LINE: the wall-clock ms of a log line (its ISO time, UTC).
log_ms() { date -u -d "$(cut -d' ' -f1 <<<"$1" | sed 's/Z$//; s/T/ /')" +%s%3N; }
# where_ms K CUT_MS WAITED: where round K's time went, from n1's log: its
# K-th heartbeat_timeout (timer thread; silent_ms) and peer_down (node
# loop) lines.  Prints "echo=A timer_late=B loop=C poll=D": the last echo
# A ms before the cut (negative: after it, an echo already on its way),
# the timer B ms after the deadline (last echo + interval x misses), the
# node loop's peer_down C ms after the timer, and the bench's poll seeing
# it D ms after that.
where_ms() {
	local k=$1 cut=$2 waited=$3 hb pd t_hb t_pd silent budget
	hb=$(grep 'event=heartbeat_timeout' "$MN_DIR/n1/log" | sed -n "${k}p")
	pd=$(grep 'event=peer_down peer=n2' "$MN_DIR/n1/log" | sed -n "${k}p")
	[ -n "$hb" ] && [ -n "$pd" ] || { echo "echo=? timer_late=? loop=? poll=?"; return; }
	t_hb=$(log_ms "$hb")
	t_pd=$(log_ms "$pd")
	silent=$(sed -n 's/.*silent_ms=\([0-9]*\).*/\1/p' <<<"$hb")
	budget=$((${MN_HB_MS:-500} * ${MN_HB_MISS:-4}))
	echo "echo=$((cut - (t_hb - silent))) timer_late=$((silent - budget)) loop=$((t_pd - t_hb)) poll=$((cut + waited - t_pd))"
}
for ((k = 1; k <= KILLS; k++)); do
	if [ "$HOW" = partition ]; then
		mn_partition 2
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		mn_heal 2
	elif [ "$HOW" = loss ]; then
		[ -n "$NT_PID" ] || mn_fail "loss needs NETEM"
		cut_ms=$(mn_now)
		kill -USR1 "$NT_PID"
		if [ "${BULK:-0}" = 1 ]; then
			bulk_wait_log 1 'event=peer_down peer=n2' "$k" 20
			pd=$(grep 'event=peer_down peer=n2' "$MN_DIR/n1/log" | sed -n "${k}p")
			MN_WAITED=$(($(log_ms "$pd") - cut_ms))
		else
			mn_wait_peer 1 n2 lost 20
		fi
		times+=("$MN_WAITED")
		parts+=("$(where_ms "$k" "$cut_ms" "$MN_WAITED")")
		kill -USR2 "$NT_PID"
	else
		mn_kill 2
		mn_wait_peer 1 n2 lost 20
		times+=("$MN_WAITED")
		mn_start 2
		mn_wait_up 2
	fi
	if [ "${BULK:-0}" = 1 ]; then
		bulk_wait_log 1 'event=peer_up peer=n2' $((k + 1)) 20
		# Let the bulk fill the new link again, and cut at a random
		# point of the heartbeat interval (right after the link comes
		# up, its last "echo" would always be the greeting).
		sleep "1.$(printf '%03d' $((RANDOM % 1000)))"
	else
		mn_wait_peer 1 n2 up 20
	fi
done
if [ "${BULK:-0}" = 1 ]; then
	echo "detection ms (loss under bulk, $KILLS rounds, netns, netem-tun delay/jitter/loss $NETEM each way, from n1's log): ${times[*]}"
	echo "bulk: $(grep '^source second' "$MN_DIR/n1/out" | tail -n 1), $(tail -n 1 "$MN_DIR/n1/out")"
fi
pct() { # $1: percentile, then the values
	local p=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v p="$p" \
	    '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
where_list() {
	if [ "${#parts[@]}" -gt 0 ]; then
		echo "where the time went, each round (ms): detection = interval x misses - echo + timer_late + loop + poll"
		for ((k = 0; k < ${#parts[@]}; k++)); do
			echo "  round $((k + 1)): ${times[$k]} ms: ${parts[$k]}"
		done
	fi
}
if [ "${BULK:-0}" = 1 ]; then
	echo "p50 $(pct 50 "${times[@]}") ms  p99 $(pct 99 "${times[@]}") ms  max $(pct 100 "${times[@]}") ms  (poll: none, from the log)"
	where_list
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
# The floor: the same poll, answered at once.
case $HOW in
partition) mn_partition 2 ;;
loss) kill -USR1 "$NT_PID" ;;
*) mn_kill 2 ;;
esac
mn_wait_peer 1 n2 lost 20
floor=()
for ((k = 1; k <= 20; k++)); do
	mn_wait_peer 1 n2 lost 5
	floor+=("$MN_WAITED")
done
echo "detection ms ($HOW, $KILLS rounds, $([ "$MN_NS" = 1 ] && echo netns || echo loopback)${NETEM:+, netem-tun delay/jitter/loss $NETEM each way}): ${times[*]}"
echo "p50 $(pct 50 "${times[@]}") ms  p99 $(pct 99 "${times[@]}") ms  max $(pct 100 "${times[@]}") ms  (poll floor p50 $(pct 50 "${floor[@]}") ms)"
where_list
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
