#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 76_merge_traffic.sh -- both nodes dialled, and the pair merges onto one
# data stream while messages stream both ways (issue 12: "both sides
# dialling at once ends with one link"; docs/multinode.md, "One stream
# per pair"): nothing is lost, duplicated or reordered by the merge.
#
# Each node dials the other through a relay (lib.sh mn_relay).  n1's
# relay is stopped first: n1's dial connects (the kernel takes it) and
# hangs in its handshake (for at most 5 s of n1's running time: then n1
# gives it up, counts it refused and adopts n2's stream -- no merge; the
# relay continues about a second after n1 starts, see below).  n2's dial
# gets through: n2 is UP on its own stream and streams to n1's sink on
# it.  n1 already streams too (its link's queue, then refused and tried
# again).  Once n2 has streamed for a second, n1's relay continues: n1's
# stream proves itself at n2, and n2, the higher name, retires its own
# stream for it (event=link_merged, kept=peer unacked=0) with both
# streams full.  Both sources stream 64 B messages (arb-mn-bulk both,
# tests/multinode/mn_bulk.c) for MN_MERGE_SECONDS (default 4).  Checked:
# - one merge, at n2, while n2 streamed (its source had sent some and
#   sent more after it) and n1's queue was full;
# - each sink got every message of the other's source, once and in order
#   (at least 20,000 each way);
# - no DOWN, no heartbeat timeout, nothing counted lost and no
#   connection refused on either side;
# - the pair then holds n1's stream and its heartbeat channel: n2's
#   listener two connections of n1, n1's none of n2.
set -u
. "$(dirname "$0")/lib.sh"
SECS=${MN_MERGE_SECONDS:-4}
[ -n "${MN_BULK_BIN:-}" ] && [ -x "$MN_BULK_BIN" ] \
    || mn_skip "MN_BULK_BIN is not set to arb-mn-bulk"
mn_setup 2
ck=$(mn_cookie merge)

# both_start I TARGET: nI runs arb-mn-bulk both, its peer through nI's
# relay, its source streaming to TARGET at once.
both_start() {
	mn_bulk_start "$1" "$(mn_relay_url "$1")" "$ck" both "$2" -1 "$SECS"
}

# field LINE KEY: the value of KEY=VALUE in LINE.
field() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<" $1"; }

# accepted I: established connections nI's listener accepted.
accepted() {
	mn_in "$1" ss -Htn state established "( sport = :$(mn_port "$1") )" \
	    | wc -l
}

mn_relay 1 2
mn_relay 2 1
kill -STOP "${MN_RELAY[1]}"
# n1 first: its sink runs before n2, which streams to it at once, starts.
# Both run the same tree: each streams to the slot of its own sink.
both_start 1 same
mn_out_wait 1 '^sink slot=' 20
both_start 2 same
mn_out_wait 2 '^sink slot=' 20
l1=$(grep '^sink slot=' "$MN_DIR/n1/out")
l2=$(grep '^sink slot=' "$MN_DIR/n2/out")
[ "$l1" = "$l2" ] || mn_fail "the sinks' slots differ: n1 $l1, n2 $l2"
mn_out_wait 2 '^source second=1 ' 20
kill -CONT "${MN_RELAY[1]}"
for i in 1 2; do mn_out_wait "$i" '^source end' $((SECS + 30)); done
for i in 1 2; do mn_out_wait "$i" '^sink end' 30; done

s1=$(grep '^source end' "$MN_DIR/n1/out")
s2=$(grep '^source end' "$MN_DIR/n2/out")
k1=$(grep '^sink end' "$MN_DIR/n1/out")
k2=$(grep '^sink end' "$MN_DIR/n2/out")
w1=$(grep '^watch ' "$MN_DIR/n1/out" | tail -n 1)
w2=$(grep '^watch ' "$MN_DIR/n2/out" | tail -n 1)
m2=$(field "$s2" merged_at)
echo "76_merge_traffic: n1 sent $(field "$s1" sent), n2 $(field "$s2" sent)" \
    "(the merge after $m2)"

for p in "$s1 $k2" "$s2 $k1"; do
	[ "$(field "$p" sent)" -ge 20000 ] \
	    || mn_fail "fewer than 20,000 sent: $p"
done
[ "$(field "$k2" got)" = "$(field "$s1" sent)" ] \
    && [ "$(field "$k2" disorder)" = 0 ] \
    || mn_fail "n1 -> n2: not every message once and in order: $s1 / $k2"
[ "$(field "$k1" got)" = "$(field "$s2" sent)" ] \
    && [ "$(field "$k1" disorder)" = 0 ] \
    || mn_fail "n2 -> n1: not every message once and in order: $s2 / $k1"
re='event=link_merged url=[^ ]* peer=n1 creation=[0-9]+ kept=peer'
n=$(grep -Ec "$re unacked=0" "$MN_DIR/n2/log")
[ "$n" = 1 ] || mn_fail "n2 logged $n clean merges, not 1"
n=$(grep -c 'event=link_merged' "$MN_DIR/n1/log")
[ "$n" = 0 ] || mn_fail "n1, the lower name, merged $n times"
[ "$m2" -gt 0 ] && [ "$m2" -lt "$(field "$s2" sent)" ] \
    || mn_fail "n2 did not merge while it streamed: $s2"
[ "$(field "$s1" merged_at)" = -1 ] || mn_fail "n1 merged: $s1"
# n1 streamed before its stream was up (its link's queue was full in its
# first second, all of it before n1's relay continued): its stream
# carried DATA from its first frame after the handshake, the merge's.
f1=$(grep '^source second=1 ' "$MN_DIR/n1/out")
[ "$(field "$f1" full)" -gt 0 ] || mn_fail "n1 did not stream at once: $f1"
for i in 1 2; do
	n=$(grep -c 'event=peer_down' "$MN_DIR/n$i/log")
	[ "$n" = 0 ] || mn_fail "n$i logged $n peer_down"
done
for w in "$w1" "$w2"; do
	[ "$(field "$w" downs)" = 0 ] && [ "$(field "$w" hb_timeouts)" = 0 ] \
	    && [ "$(field "$w" ups)" = 1 ] && [ "$(field "$w" state)" = up ] \
	    || mn_fail "not up once and up still: $w"
	[ "$(field "$w" lost)" = 0 ] && [ "$(field "$w" refused)" = 0 ] \
	    || mn_fail "lost or refused: $w"
done
end=$(mn_deadline 10)
until [ "$(accepted 2)" = 2 ] && [ "$(accepted 1)" = 0 ]; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "n1 holds $(accepted 1) connections of n2 (not 0)," \
	        "n2 $(accepted 2) of n1 (not 2)"
	sleep 0.05
done
echo "76_merge_traffic: ok"
