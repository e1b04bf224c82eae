# SPDX-License-Identifier: MIT
# lib.sh -- start and drive several arbor nodes for the multi-node test
# scripts (tests/multinode/NN_*.sh; SPEC 32, issue 12).  Sourced by bash.
#
# Each node I (1..N) has its own directory $MN_DIR/nI (tree file, control
# socket, run dir, log) and, when the script runs as root and `ip netns`
# works, its own network namespace with one address, 10.77.0.I, on a veth
# pair whose other end sits in a hub namespace's bridge: `mn_partition I`
# cuts that cable, `mn_heal I` mends it, `mn_netem I ARGS` shapes it.
# Otherwise (not root, or MN_NETNS=0) every node shares the loopback
# interface, on its own port.  Namespaces are named after the script's
# process (arbmn-ID-...), so parallel runs never meet.
#
# A trap cleans up on every exit: the nodes (by PID: SIGTERM, then SIGKILL
# after a bounded wait, each reaped), the namespaces, the directory.  A
# script killed outright (ctest's SIGKILL at its timeout) runs no trap:
# its nodes, relays and arb-mn-bulk then end by themselves, each started
# through `setpriv --pdeathsig TERM` (mn_guard), so the kernel sends it
# SIGTERM when the shell that started it ends (the namespaces and the
# directory stay).  Without setpriv a note says they would run on.  In a
# sanitizer build, a node's log with a report is printed whole first, and
# a script that passed exits 1 (mn_sanitized).
# Every wait is bounded; the bounds grow with ARB_TEST_TIMEOUT_SCALE (set
# by ctest for sanitizer builds).  A script that cannot run (no binaries,
# no namespaces where it needs them) exits 77: ctest's SKIP_RETURN_CODE.
#
#   ARBOR_BIN, ARBORCTL_BIN   the programs (set by tests/CMakeLists.txt)
#   MN_NETNS                  1 / 0 force or forbid namespaces (default:
#                             use them when root)
#   MN_ID                     the name's unique part (default: $$)
#
# Functions (I is a node's number):
#   mn_setup N [netns]   N nodes; "netns": skip (77) without namespaces
#   mn_mesh ROOT         every node linked with every other (one cookie),
#                        started and up
#   mn_tree I NODE ROOT  write nI's tree file: node.name nI, its control
#                        socket and run dir, then the lines NODE (more
#                        node: keys, indented 2) and ROOT (the root:)
#   mn_pair_tree I COOKIE ROOT [PEER_URL [LINES]]
#                        nI's tree for a pair: listens on mn_url I, COOKIE,
#                        node LINES, its one peer n(3-I) at PEER_URL
#   mn_start I           run `arbor run` for nI in the background
#   mn_wait_up I         until arborctl answers (bounded)
#   mn_ctl I ARGS...     arborctl against nI
#   mn_kill I [SIG]      signal nI (default KILL), reap it (status: MN_RC)
#   mn_stop I            SIGTERM, reap (its exit status: MN_RC)
#   mn_alive I           true while nI runs
#   mn_wait_log I RE [S] until nI's log matches the regexp (bounded)
#   mn_host I / mn_url I the address / tcp:// URL nI listens on
#   mn_partition I / mn_heal I   cut / mend nI's cable (netns only)
#   mn_etc I FILE TEXT   nI's own /etc/FILE (netns only)
#   mn_relay I J / mn_mute I     a relay nI dials nJ through / a mute
#                        peer beside nI (at mn_relay_url I)
#   mn_fail MSG / mn_skip MSG    end the script (1 with the logs / 77)

set -u

MN_SCALE=${ARB_TEST_TIMEOUT_SCALE:-1}
MN_ID=${MN_ID:-$$}
MN_N=0
MN_DIR=
MN_NS=0
MN_HUB=
MN_PORT_BASE=
MN_RC=
declare -a MN_PID=()
declare -a MN_RELAY=()

mn_log() { printf 'multinode: %s\n' "$*" >&2; }

# mn_guard: MN_GUARD, the words to put before a program this shell starts
# in the background, so that the program ends (SIGTERM) when this shell
# does, whether or not its trap runs.  PR_SET_PDEATHSIG fires when the
# thread that forked the process ends (bash has one thread; an exec of
# the shell is no end) and lasts across exec: bash forks for `PROG &` and
# execs PROG in the child (through `ip netns exec`, which execs too), so
# the parent is this shell ($BASHPID: a subshell's own, when a subshell
# calls this).  It is set after the fork, by setpriv: a shell that died
# in between has left the child to another parent, which the sh checks
# ($PPID) before it execs the program, ending as the signal would have.
# Without setpriv (util-linux), MN_GUARD is empty and a note says so.
MN_PDEATH=
mn_guard() {
	if [ -z "$MN_PDEATH" ]; then
		MN_PDEATH=0
		if setpriv --pdeathsig TERM true 2>/dev/null; then
			MN_PDEATH=1
		else
			mn_log "note: no 'setpriv --pdeathsig' here: a script killed outright leaves its nodes running"
		fi
	fi
	MN_GUARD=()
	[ "$MN_PDEATH" = 1 ] || return 0
	# shellcheck disable=SC2016 # $PPID, $0 and $@ are the sh's
	MN_GUARD=(setpriv --pdeathsig TERM -- sh -c \
	    '[ "$PPID" = "$0" ] || exit 143; exec "$@"' "$BASHPID")
}

mn_skip() {
	mn_log "SKIP: $*"
	exit 77
}

mn_fail() {
	local i
	mn_log "FAIL: $*"
	for ((i = 1; i <= MN_N; i++)); do
		if [ -s "$MN_DIR/n$i/log" ]; then
			mn_log "--- n$i log (last 40 lines)"
			tail -n 40 "$MN_DIR/n$i/log" >&2
		fi
	done
	exit 1
}

# mn_deadline SECONDS: an absolute deadline in ms, scaled.
mn_deadline() {
	echo $(($(date +%s%3N) + $1 * 1000 * MN_SCALE))
}

mn_now() { date +%s%3N; }

# mn_running PID: true while PID runs (a zombie, ended but not yet
# reaped, does not).
mn_running() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

mn_ns() { echo "arbmn-$MN_ID-$1"; }

# mn_in I CMD...: run CMD in nI's namespace (or here).
mn_in() {
	local i=$1
	shift
	if [ "$MN_NS" = 1 ]; then
		ip netns exec "$(mn_ns "$i")" "$@"
	else
		"$@"
	fi
}

# mn_sanitized: every node's log that holds a sanitizer's report (a
# ThreadSanitizer, AddressSanitizer or UBSan build; a node's process
# actors write to its log too), printed whole; false when there is none.
# The logs are about to go with MN_DIR.
mn_sanitized() {
	local i found=1
	for ((i = 1; i <= MN_N; i++)); do
		grep -Eqs 'WARNING: ThreadSanitizer|ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer|: runtime error: ' \
		    "$MN_DIR/n$i/log" || continue
		mn_log "n$i's log holds a sanitizer report; the whole log:"
		cat "$MN_DIR/n$i/log" >&2
		mn_log "(end of n$i's log)"
		found=0
	done
	return $found
}

# mn_cleanup: the EXIT trap.  A script that passed fails (1) when a
# node's log holds a sanitizer report (mn_sanitized), whatever the
# node's exit status (its stop is not checked here).
mn_cleanup() {
	local rc=$? i pid end
	for i in "${!MN_RELAY[@]}"; do
		mn_relay_cut "$i"
	done
	for ((i = 1; i <= MN_N; i++)); do
		pid=${MN_PID[$i]:-}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 1; i <= MN_N; i++)); do
		pid=${MN_PID[$i]:-}
		[ -n "$pid" ] || continue
		end=$(($(mn_now) + 10000 * MN_SCALE))
		while mn_running "$pid" && [ "$(mn_now)" -lt "$end" ]; do
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		MN_PID[$i]=
	done
	if [ "$MN_NS" = 1 ]; then
		for ((i = 1; i <= MN_N; i++)); do
			ip netns del "$(mn_ns "$i")" 2>/dev/null
			rm -rf "/etc/netns/$(mn_ns "$i")"
		done
		rmdir /etc/netns 2>/dev/null
		ip netns del "$MN_HUB" 2>/dev/null
	fi
	if [ -n "$MN_DIR" ]; then
		if mn_sanitized && [ "$rc" = 0 ]; then
			mn_log "FAIL: a sanitizer report (above)"
			rc=1
		fi
		rm -rf "$MN_DIR"
	fi
	exit "$rc"
}

mn_setup() {
	local n=$1 need=${2:-} i ns want_ns=${MN_NETNS:-}
	[ -n "${ARBOR_BIN:-}" ] && [ -x "$ARBOR_BIN" ] \
	    || mn_skip "ARBOR_BIN is not set to the arbor program"
	[ -n "${ARBORCTL_BIN:-}" ] && [ -x "$ARBORCTL_BIN" ] \
	    || mn_skip "ARBORCTL_BIN is not set to arborctl"
	MN_N=$n
	# In every node's environment (and its process actors'): a test can
	# find what a run left behind.
	export ARB_MN_TAG=$MN_ID
	trap mn_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	MN_DIR=$(mktemp -d "/tmp/arbor-mn-$MN_ID.XXXXXX") || mn_fail "mktemp"
	for ((i = 1; i <= n; i++)); do
		mkdir -m 700 "$MN_DIR/n$i" "$MN_DIR/n$i/run" || mn_fail "mkdir"
	done
	if [ -z "$want_ns" ]; then
		want_ns=0
		[ "$(id -u)" = 0 ] && command -v ip >/dev/null && want_ns=1
	fi
	if [ "$want_ns" = 1 ]; then
		MN_HUB=$(mn_ns hub)
		if ip netns add "$MN_HUB" 2>/dev/null; then
			MN_NS=1
			ip -n "$MN_HUB" link add br0 type bridge \
			    && ip -n "$MN_HUB" link set br0 up \
			    || mn_fail "cannot make the hub's bridge"
			for ((i = 1; i <= n; i++)); do
				ns=$(mn_ns "$i")
				ip netns add "$ns" \
				    && ip -n "$MN_HUB" link add "n$i" type veth \
				        peer name eth0 netns "$ns" \
				    && ip -n "$MN_HUB" link set "n$i" master br0 \
				    && ip -n "$MN_HUB" link set "n$i" up \
				    && ip -n "$ns" addr add "10.77.0.$i/24" dev eth0 \
				    && ip -n "$ns" link set eth0 up \
				    && ip -n "$ns" link set lo up \
				    || mn_fail "cannot make namespace $ns"
			done
		fi
	fi
	if [ "$MN_NS" = 0 ] && [ "$need" = netns ]; then
		mn_skip "needs network namespaces (root and ip netns)"
	fi
	# Loopback: every node its own port, away from other runs'.
	MN_PORT_BASE=$((20000 + (MN_ID * 16) % 40000))
	mn_log "$n nodes in $MN_DIR, $([ "$MN_NS" = 1 ] && echo "namespaces $(mn_ns '*')" || echo "loopback ports $((MN_PORT_BASE + 1))...")"
}

# mn_etc I FILE TEXT: nI's namespace has its own /etc/FILE (resolv.conf,
# hosts), TEXT: `ip netns exec` binds /etc/netns/NS/FILE over it for the
# program it runs.  Namespaces only; before mn_start I; the EXIT trap
# removes it.
mn_etc() {
	local d="/etc/netns/$(mn_ns "$1")"
	[ "$MN_NS" = 1 ] || mn_fail "mn_etc needs namespaces (mn_setup N netns)"
	mkdir -p "$d" && printf '%s\n' "$3" >"$d/$2" \
	    || mn_fail "cannot write $d/$2"
}

mn_host() {
	if [ "$MN_NS" = 1 ]; then echo "10.77.0.$1"; else echo 127.0.0.1; fi
}

mn_port() {
	if [ "$MN_NS" = 1 ]; then echo 7400; else echo $((MN_PORT_BASE + $1)); fi
}

mn_url() { echo "tcp://$(mn_host "$1"):$(mn_port "$1")"; }

mn_tree() {
	local i=$1 node=$2 root=$3 d="$MN_DIR/n$1"
	{
		printf 'node:\n  name: n%s\n  control: %s/ctl.sock\n' "$i" "$d"
		printf '  run_dir: %s/run\n' "$d"
		[ -n "$node" ] && printf '%s\n' "$node"
		printf '%s\n' "$root"
	} >"$d/tree.yaml"
}

# mn_pair_tree I COOKIE ROOT [PEER_URL [LINES]]: nI's tree for a pair of
# nodes (n1 and n2): it listens on mn_url I with COOKIE, has the node
# lines LINES if given (e.g. "  orphan_grace: 1s"), and lists its one peer
# n(3-I) at PEER_URL (default mn_url of that node; a relay's URL cuts one
# direction, mn_relay_url), with ROOT as its tree's root:.
mn_pair_tree() {
	local i=$1 ck=$2 root=$3 j=$((3 - $1)) url=${4:-} lines=${5:-}
	[ -n "$url" ] || url=$(mn_url "$j")
	mn_tree "$i" "  listen: $(mn_url "$i")
  cookie: $ck${lines:+
$lines}
  peers:
    - {name: n$j, url: \"$url\"}" "$root"
}

mn_start() {
	local i=$1 d="$MN_DIR/n$1"
	mn_guard
	if [ "$MN_NS" = 1 ]; then
		# ip netns exec execs the program (as do setpriv and sh): $!
		# is the node itself.
		ip netns exec "$(mn_ns "$i")" "${MN_GUARD[@]}" "$ARBOR_BIN" run \
		    "$d/tree.yaml" >>"$d/log" 2>&1 &
	else
		"${MN_GUARD[@]}" "$ARBOR_BIN" run "$d/tree.yaml" >>"$d/log" 2>&1 &
	fi
	MN_PID[$i]=$!
}

mn_ctl() {
	local i=$1
	shift
	"$ARBORCTL_BIN" --socket "$MN_DIR/n$i/ctl.sock" "$@"
}

mn_alive() {
	local pid=${MN_PID[$1]:-}
	[ -n "$pid" ] && mn_running "$pid"
}

mn_wait_up() {
	local i=$1 end
	end=$(mn_deadline "${2:-20}")
	until mn_ctl "$i" --timeout 1 status >/dev/null 2>&1; do
		mn_alive "$i" || mn_fail "n$i exited before it was up"
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n$i not up in time"
		sleep 0.05
	done
}

# mn_reap I: wait for nI (bounded) and reap it; its exit status in
# MN_RC.  Never call these in $(...): a subshell cannot reap the node.
mn_reap() {
	local i=$1 pid=${MN_PID[$1]:-} end
	[ -n "$pid" ] || mn_fail "n$i was not started"
	end=$(mn_deadline 15)
	while mn_running "$pid"; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n$i did not end in time"
		sleep 0.02
	done
	wait "$pid" 2>/dev/null # no "Killed" line from bash
	MN_RC=$?
	MN_PID[$i]=
}

mn_kill() {
	kill -"${2:-KILL}" "${MN_PID[$1]}" 2>/dev/null
	mn_reap "$1"
}

mn_stop() {
	kill -TERM "${MN_PID[$1]}" 2>/dev/null
	mn_reap "$1"
}

mn_wait_log() {
	local i=$1 re=$2 end
	end=$(mn_deadline "${3:-10}")
	until grep -Eq -- "$re" "$MN_DIR/n$i/log" 2>/dev/null; do
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n$i: no log line matching /$re/ in time"
		sleep 0.05
	done
}

# mn_relay I J: nI dials nJ through a TCP relay beside nI (arb-mn-relay,
# MN_RELAY_BIN), at mn_relay_url I: give nI that URL for nJ.  mn_relay_cut
# I ends the relay (SIGKILL): nI's stream to nJ closes and cannot be
# dialled again, while nJ's stream to nI does not pass the relay: one
# direction cut (both nodes then see the other DOWN once, one link:
# docs/multinode.md; nJ's redial gets through, nI's does not).
# MN_RELAY[I] is the relay's pid (kill -STOP silences it).  mn_relay I J
# again mends it.
mn_relay_port() {
	if [ "$MN_NS" = 1 ]; then echo 7401; else echo $((MN_PORT_BASE + 8 + $1)); fi
}

mn_relay_url() { echo "tcp://127.0.0.1:$(mn_relay_port "$1")"; }

mn_relay() {
	local i=$1 j=$2 f="$MN_DIR/n$1/relay.out" end
	[ -n "${MN_RELAY_BIN:-}" ] && [ -x "$MN_RELAY_BIN" ] \
	    || mn_skip "MN_RELAY_BIN is not set to arb-mn-relay"
	: >"$f"
	mn_guard
	if [ "$MN_NS" = 1 ]; then
		ip netns exec "$(mn_ns "$i")" "${MN_GUARD[@]}" "$MN_RELAY_BIN" \
		    127.0.0.1 "$(mn_relay_port "$i")" "$(mn_host "$j")" \
		    "$(mn_port "$j")" >"$f" 2>&1 &
	else
		"${MN_GUARD[@]}" "$MN_RELAY_BIN" 127.0.0.1 "$(mn_relay_port "$i")" \
		    "$(mn_host "$j")" "$(mn_port "$j")" >"$f" 2>&1 &
	fi
	MN_RELAY[$i]=$!
	end=$(mn_deadline 10)
	until grep -q 'relay ready' "$f" 2>/dev/null; do
		mn_running "${MN_RELAY[$i]}" \
		    || mn_fail "the relay beside n$i ended: $(cat "$f")"
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "the relay beside n$i is not ready in time"
		sleep 0.02
	done
}

# mn_mute I: a mute peer beside nI (arb-mn-relay --mute) at mn_relay_url
# I: it accepts and never says a word; its output ("accepted N",
# "closed N": the connections it took, those the other end closed) goes
# to nI/mute.out (mn_mute_count I accepted|closed).  MN_RELAY[I] is its
# pid; mn_relay_cut I ends it.
mn_mute() {
	local i=$1 f="$MN_DIR/n$1/mute.out" end
	[ -n "${MN_RELAY_BIN:-}" ] && [ -x "$MN_RELAY_BIN" ] \
	    || mn_skip "MN_RELAY_BIN is not set to arb-mn-relay"
	: >"$f"
	if [ "$MN_NS" = 1 ]; then
		ip netns exec "$(mn_ns "$i")" "$MN_RELAY_BIN" --mute 127.0.0.1 \
		    "$(mn_relay_port "$i")" >"$f" 2>&1 &
	else
		"$MN_RELAY_BIN" --mute 127.0.0.1 "$(mn_relay_port "$i")" \
		    >"$f" 2>&1 &
	fi
	MN_RELAY[$i]=$!
	end=$(mn_deadline 10)
	until grep -q 'relay ready' "$f" 2>/dev/null; do
		mn_running "${MN_RELAY[$i]}" \
		    || mn_fail "the mute peer beside n$i ended: $(cat "$f")"
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "the mute peer beside n$i is not ready in time"
		sleep 0.02
	done
}

# mn_mute_count I accepted|closed: how many connections nI's mute peer
# took, or saw closed by the other end.
mn_mute_count() {
	grep -c "^$2 " "$MN_DIR/n$1/mute.out" 2>/dev/null
}

mn_relay_cut() {
	local pid=${MN_RELAY[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	MN_RELAY[$1]=
}

mn_need_ns() {
	[ "$MN_NS" = 1 ] || mn_fail "$1 needs namespaces (mn_setup N netns)"
}

mn_partition() {
	mn_need_ns mn_partition
	ip -n "$MN_HUB" link set "n$1" down || mn_fail "cannot cut n$1"
}

mn_heal() {
	mn_need_ns mn_heal
	ip -n "$MN_HUB" link set "n$1" up || mn_fail "cannot mend n$1"
}

# mn_netem I ARGS...: netem on nI's cable, hub side ("delay 50ms",
# "loss 100%"); mn_netem I off removes it.
mn_netem() {
	local i=$1
	shift
	mn_need_ns mn_netem
	if [ "$1" = off ]; then
		tc -n "$MN_HUB" qdisc del dev "n$i" root 2>/dev/null
	else
		tc -n "$MN_HUB" qdisc replace dev "n$i" root netem "$@" \
		    || mn_fail "tc netem $* on n$i"
	fi
}

# mn_reachable I J: true when nI reaches nJ's address (a TCP connection
# to a closed port is refused, not lost), within a bounded 2 s.
mn_reachable() {
	local out
	out=$(mn_in "$1" timeout 2 bash -c \
	    "exec 3<>/dev/tcp/$(mn_host "$2")/9" 2>&1)
	case $out in
	*"Connection refused"*) return 0 ;;
	*) return 1 ;;
	esac
}

# mn_peer I PEER FIELD: FIELD of PEER in `arborctl peers` of nI (state,
# incarnation, ups, downs; "" when nI does not answer or lists no PEER).
mn_peer() {
	local col
	# Counted from the right for ups and downs: LAST HEARTBEAT may be
	# two words ("312ms ago") or one ("never").
	case $3 in
	url) col=2 ;;
	state) col=3 ;;
	incarnation) col=4 ;;
	ups) col=-1 ;;
	downs) col=0 ;;
	*) mn_fail "mn_peer: unknown field $3" ;;
	esac
	mn_ctl "$1" --timeout 2 peers 2>/dev/null \
	    | awk -v p="$2" -v c="$col" \
	        '$1 == p { print (c > 0 ? $c : $(NF + c)); exit }'
}

# mn_wait_peer I PEER STATE [S]: until nI sees PEER in STATE (bounded);
# MN_WAITED: how long it took, in ms.  STATE "lost" is down or
# connecting: a lost peer is redialled at once, so its state may go from
# down to connecting faster than a poll can see.
mn_wait_peer() {
	local i=$1 p=$2 want=$3 start end st
	start=$(mn_now)
	end=$(mn_deadline "${4:-10}")
	while :; do
		st=$(mn_peer "$i" "$p" state)
		[ "$st" = "$want" ] && break
		[ "$want" = lost ] && { [ "$st" = down ] || [ "$st" = connecting ]; } \
		    && break
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n$i: peer $p is '${st:-?}', not $want, in time"
		sleep 0.02
	done
	MN_WAITED=$(($(mn_now) - start))
}

# mn_mesh ROOT: every node listens, shares one cookie and lists every
# other node as a peer, with ROOT as its tree's root:; all are started
# and answer arborctl (their links may still be coming up).
mn_mesh() {
	local root=$1 i j peers ck
	ck=$(mn_cookie mesh)
	for ((i = 1; i <= MN_N; i++)); do
		peers=
		for ((j = 1; j <= MN_N; j++)); do
			[ "$j" = "$i" ] && continue
			peers="$peers
    - {name: n$j, url: \"$(mn_url "$j")\"}"
		done
		mn_tree "$i" "  listen: $(mn_url "$i")
  cookie: $ck
  peers:$peers" "$root"
	done
	for ((i = 1; i <= MN_N; i++)); do mn_start "$i"; done
	for ((i = 1; i <= MN_N; i++)); do mn_wait_up "$i"; done
}

# mn_cookie NAME: a cookie file (owner-only) in the run's directory; the
# same NAME gives the same secret.  Prints its path.
mn_cookie() {
	local f="$MN_DIR/$1.cookie"
	if [ ! -e "$f" ]; then
		(umask 077 && head -c 32 /dev/urandom | base64 >"$f") \
		    || mn_fail "cannot write $f"
	fi
	echo "$f"
}

# --- arb-mn-bulk (MN_BULK_BIN, tests/multinode/mn_bulk.c) ---------------
# mn_bulk_start I PEER_URL COOKIE ARGS...: nI (of two) runs arb-mn-bulk
# with ARGS, its peer nJ at PEER_URL (mn_url J, or a relay's URL); its
# output goes to $MN_DIR/nI/out, its log to nI's log.  Its PID is the
# program's own (ip netns exec and mn_guard's words exec it), so that
# mn_cleanup ends and reaps it.
mn_bulk_start() {
	local i=$1 j=$((3 - $1)) url=$2 ck=$3 ns=()
	shift 3
	[ "$MN_NS" = 1 ] && ns=(ip netns exec "$(mn_ns "$i")")
	mn_guard
	"${ns[@]}" "${MN_GUARD[@]}" "$MN_BULK_BIN" "n$i" "$(mn_url "$i")" "n$j" "$url" \
	    "$ck" "$@" >"$MN_DIR/n$i/out" 2>>"$MN_DIR/n$i/log" &
	MN_PID[$i]=$!
}

# mn_out_wait I RE SECONDS: until nI's output (mn_bulk_start's) has a
# line matching RE; fails if nI ends first or SECONDS pass.
mn_out_wait() {
	local end
	end=$(mn_deadline "$3")
	until grep -Eq -- "$2" "$MN_DIR/n$1/out" 2>/dev/null; do
		mn_alive "$1" || mn_fail "n$1 ended (waiting for /$2/)"
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n$1: no /$2/ in time"
		sleep 0.05
	done
}

# --- A remote child (issue 12): n1 supervises a child that runs on n2 -----
# mn_remote_pair [N2ROOT]: after mn_setup 2 and n1's tree (mn_pair_tree 1
# "$MN_CK" ROOT, MN_CK from mn_cookie mesh): n2's tree (N2ROOT, default
# one local echo; orphan_grace 1s), n1's tree passed by arbor check, n2
# then n1 started and up.
mn_remote_pair() {
	local root2='root:
  children:
    - {name: local, type: echo}'
	[ -n "${1:-}" ] && root2=$1
	mn_pair_tree 2 "$MN_CK" "$root2" "" '  orphan_grace: 1s'
	mn_in 1 "$ARBOR_BIN" check "$MN_DIR/n1/tree.yaml" >/dev/null \
	    || mn_fail "arbor check refuses n1's tree: $(mn_in 1 "$ARBOR_BIN" check "$MN_DIR/n1/tree.yaml" 2>&1)"
	mn_start 2
	mn_wait_up 2
	mn_start 1
	mn_wait_up 1
}

# mn_rows I RE: nI's status rows whose path matches RE (path state pid).
mn_rows() {
	mn_ctl "$1" --timeout 2 status 2>/dev/null \
	    | awk -v re="$2" '$1 ~ re { print $1, $4, $5 }'
}

# mn_wait_row I PATH WANT [S]: until nI shows PATH's type and state as
# WANT (e.g. "supervisor@n2 running"), bounded.
mn_wait_row() {
	local i=$1 path=$2 want=$3 end st
	end=$(mn_deadline "${4:-10}")
	while :; do
		st=$(mn_ctl "$i" --timeout 2 status 2>/dev/null \
		    | awk -v p="$path" '$1 == p { print $3, $4 }')
		[ "$st" = "$want" ] && return 0
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "n$i: $path is '$st', not '$want', in time"
		sleep 0.05
	done
}
