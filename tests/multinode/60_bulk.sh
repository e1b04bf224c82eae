#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 60_bulk.sh -- bulk transfer at full speed with no false DOWN (issue 12):
# two nodes (network namespaces as root, loopback otherwise) with the
# default heartbeats (500 ms x 4); after MN_BULK_IDLE seconds of an idle
# link (default 2), a thread actor of n1 sends 64 B messages to one of n2
# as fast as the link takes them for MN_BULK_SECONDS (default 10;
# bench/multinode_bulk.sh runs 60).  The nodes are arb-mn-bulk
# (tests/multinode/mn_bulk.c).  Checked:
# - the link was saturated: in at least 80 % of the seconds the sender
#   found it full (ARB_EAGAIN) at least once (not under TSan, where the
#   sender is the bottleneck); messages/s printed;
# - no false DOWN: no event=peer_down on either node, downs 0 and
#   hb_timeouts 0 on both, both still up after the bulk;
# - every message arrived, in order;
# - heartbeats do not queue behind the bulk: n1's median heartbeat round
#   trip during the bulk is shorter than the median time its data waits
#   one way, its longest is under half the detection budget (1 s of
#   500 ms x 4), and at least one heartbeat a second was answered.  (Not
#   p99 against p99: a heartbeat can still wait behind what the kernel's
#   socket buffers hold, and under ASan one waited 547 ms against a data
#   p99 of 524 ms, with no DOWN.)
set -u
. "$(dirname "$0")/lib.sh"
BULK=${MN_BULK_SECONDS:-10}
IDLE=${MN_BULK_IDLE:-2}
[ -n "${MN_BULK_BIN:-}" ] && [ -x "$MN_BULK_BIN" ] \
    || mn_skip "MN_BULK_BIN is not set to arb-mn-bulk"
mn_setup 2
ck=$(mn_cookie bulk)

# field LINE KEY: the value of KEY=VALUE in LINE.
field() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<" $1"; }

mn_bulk_start 2 "$(mn_url 1)" "$ck" sink
mn_out_wait 2 '^sink slot=' 20
slot=$(field "$(grep '^sink slot=' "$MN_DIR/n2/out")" slot)
mn_bulk_start 1 "$(mn_url 2)" "$ck" source "$slot" "$IDLE" "$BULK"
mn_out_wait 1 '^source end' $((IDLE + BULK + 30))
mn_out_wait 2 '^sink end' 30
# One more watch line of n1 after the end (its figures are cumulative).
mn_out_wait 1 '^watch phase=2' 10

src=$(grep '^source end' "$MN_DIR/n1/out")
snk=$(grep '^sink end' "$MN_DIR/n2/out")
w1=$(grep '^watch phase=2' "$MN_DIR/n1/out" | tail -n 1)
w2=$(grep '^watch ' "$MN_DIR/n2/out" | tail -n 1)
grep '^source second' "$MN_DIR/n1/out" | tr '\n' ' ' >&2
echo >&2
secs=$(field "$src" seconds)
sat=$(field "$src" saturated_seconds)
sent=$(field "$src" sent)
echo "60_bulk ($([ "$MN_NS" = 1 ] && echo netns || echo loopback), ${BULK} s, load $(cut -d' ' -f1 /proc/loadavg)):" \
    "$(field "$src" rate) msgs/s, saturated $sat of $secs s;" \
    "peer_down n1 $(grep -c 'event=peer_down' "$MN_DIR/n1/log") n2 $(grep -c 'event=peer_down' "$MN_DIR/n2/log");" \
    "heartbeat RTT us n1 idle p50 $(field "$w1" idle_p50_us) p99 $(field "$w1" idle_p99_us)," \
    "bulk p50 $(field "$w1" bulk_p50_us) p99 $(field "$w1" bulk_p99_us) max $(field "$w1" bulk_max_us) (n $(field "$w1" bulk_n));" \
    "longest silence $(field "$w1" silence_max_ms) ms;" \
    "data one way us p50 $(field "$snk" lat_p50_us) p99 $(field "$snk" lat_p99_us)"

for i in 1 2; do
	n=$(grep -c 'event=peer_down' "$MN_DIR/n$i/log")
	[ "$n" = 0 ] || mn_fail "n$i logged $n peer_down during the bulk"
done
for w in "$w1" "$w2"; do
	[ "$(field "$w" downs)" = 0 ] || mn_fail "a false DOWN: $w"
	[ "$(field "$w" hb_timeouts)" = 0 ] || mn_fail "a heartbeat timeout: $w"
	[ "$(field "$w" ups)" = 1 ] && [ "$(field "$w" state)" = up ] \
	    || mn_fail "not up once and up still: $w"
done
[ "$secs" = "$BULK" ] || mn_fail "the bulk lasted $secs s, not $BULK: $src"
# Under TSan (MN_SCALE 3) the sender's own sends are the bottleneck (some
# 95 k msgs/s, the link full in 4-5 s of 10): saturation is not asserted
# there, the rest is.
if [ "$MN_SCALE" -lt 3 ]; then
	[ $((sat * 10)) -ge $((secs * 8)) ] \
	    || mn_fail "not saturated: the link was full in $sat of $secs s"
else
	mn_log "saturation not asserted under TSan: the link was full in $sat of $secs s"
fi
[ "$(field "$snk" got)" = "$sent" ] && [ "$(field "$snk" disorder)" = 0 ] \
    || mn_fail "not every message arrived in order: sent $sent, $snk"
[ "$(field "$w1" bulk_n)" -ge "$BULK" ] \
    || mn_fail "fewer than one heartbeat answered a second: $w1"
[ "$(field "$w1" bulk_p50_us)" -lt "$(field "$snk" lat_p50_us)" ] \
    || mn_fail "heartbeats waited as long as the data: $w1 / $snk"
[ "$(field "$w1" bulk_max_us)" -lt 1000000 ] \
    || mn_fail "a heartbeat round trip took over 1 s during the bulk: $w1"
echo "60_bulk: ok"
