#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 19_silent_dials.sh -- a dial that fails without a word from the peer is
# named, once per change of reason, not once per redial, and is the
# peer's LAST REFUSAL (docs/multinode.md, "Security model"):
#   - n2 is listed at an address of n1's where nothing listens (each dial
#     refused at once): `event=link_dial_failed ... peer=n2 reason=
#     "connection refused: ..."`, one line while it is redialled every
#     50-500 ms;
#   - n3 at an address whose packets vanish (a neighbour entry to a MAC
#     nobody has: as a firewall that drops SYNs): `reason="no answer to
#     the connect within 5000 ms ..."` (nng's dial timeout, NNG_ETIMEDOUT);
#   - n4 at a host name whose resolver does not answer (n1's namespace
#     has a resolv.conf whose server's packets vanish, timeout 9 s): nng
#     resolves within the dial's 5 s and says only NNG_ETIMEDOUT: the
#     node's own lookup names it, `reason="host slow.arbor.test: the
#     resolver has not answered in N ms ..."`, from n4's second dial on.
# n2 and n4 are redialled and fail again after their line: still one line
# each.  (n3's redials are not waited for: nng 1.5.2 may call such a
# dial connected, and the link gives it up as no HELLO reply --
# docs/multinode.md, "Links between nodes".)  Namespaces only (a
# neighbour entry, a resolv.conf of its own).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 1 netns
ck=$(mn_cookie one)
# 10.77.0.250 (n3) and .251 (the resolver): a MAC nobody has.
for a in 250 251; do
	ip -n "$(mn_ns 1)" neigh add "10.77.0.$a" \
	    lladdr "02:00:00:00:00:$(printf %x "$a")" dev eth0 nud permanent \
	    || mn_fail "cannot add a neighbour"
done
mn_etc 1 resolv.conf "nameserver 10.77.0.251
options timeout:9 attempts:1"
mn_tree 1 "  listen: $(mn_url 1)
  cookie: $ck
  peers:
    - {name: n2, url: \"tcp://$(mn_host 1):7401\"}
    - {name: n3, url: \"tcp://10.77.0.250:7400\"}
    - {name: n4, url: \"tcp://slow.arbor.test:7400\"}" 'root:
  children:
    - {name: e, type: echo}'
mn_start 1
mn_wait_up 1
log="$MN_DIR/n1/log"
# row P BRIEF: P's row of arborctl peers has the last refusal BRIEF.
row() {
	local out
	out=$(mn_ctl 1 peers) || mn_fail "arborctl peers failed"
	printf '%s\n' "$out" | grep -Eq "^$1 .* $2, [0-9][0-9a-z.]* ago +0 +0\$" \
	    || mn_fail "n1: arborctl peers shows no '$2' for $1: $out"
}
mn_wait_log 1 "event=link_dial_failed url=tcp://10\.77\.0\.1:7401 peer=n2 reason=\"connection refused: nothing listens there" 10
row n2 "connection refused"
mn_wait_log 1 "event=link_dial_failed url=tcp://10\.77\.0\.250:7400 peer=n3 reason=\"no answer to the connect within 5000 ms" 20
row n3 "connect timed out"
# The resolver's first silence is n4's first dial's timeout: the node's
# own lookup, started then, is still unanswered at the next one.
mn_wait_log 1 "event=link_dial_failed url=tcp://slow\.arbor\.test:7400 peer=n4 reason=\"host slow\.arbor\.test: the resolver has not answered in [0-9]+ ms" 30
row n4 "resolver timed out"
# n2 and n4 fail again after their line (their last refusal is newer
# than the moment n4's line was seen).
seen=$(mn_now)
age() {
	mn_ctl 1 status --json 2>/dev/null \
	    | sed -n "s/.*\"name\":\"$1\",[^}]*\"last_refusal_ms\":\(-\{0,1\}[0-9]*\).*/\1/p"
}
for p in n2 n4; do
	end=$(mn_deadline 20)
	while :; do
		t=$(mn_now)
		a=$(age "$p")
		[ -n "$a" ] && [ "$a" -ge 0 ] && [ "$a" -lt "$((t - seen))" ] && break
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n1: $p not redialled (last refusal ${a:-?} ms ago)"
		sleep 0.1
	done
done
for p in n2 n3 n4; do
	c=$(grep -c "event=link_dial_failed .* peer=$p " "$log")
	[ "$c" = 1 ] || mn_fail "n1 logged $c lines for $p's failed dials, not 1: $(grep "peer=$p " "$log")"
done
echo "19_silent_dials: ok"
