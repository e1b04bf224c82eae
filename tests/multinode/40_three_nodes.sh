#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 40_three_nodes.sh -- two gateways and a central node pass readings by
# name@node (SPEC 31; issue 12, "three nodes (two gateways, one central)
# pass readings"): on each gateway a ticker sends COUNT numbered messages
# to root/sink@n3 (its own tag per gateway) as calls; the central's echo
# sink logs each one and answers it.  Every message of both gateways
# arrives (tags counted at n3) and every call is answered across the
# link (replies counted at each gateway), none fails -- though the
# gateways start before n3 and their first sends find no link, and n3
# starts without root/sink: their calls to it then are answered noproc
# at once (ARB_ENOENT, not their 2 s timeout) and the ticker calls the
# same number again, as an Erlang client retries on noproc; n3's reload
# adds the sink.  (A sink not yet started when n3's links came up made
# a call time out: the flake "n3 got 19 of 20, call_failed seq=1
# ETIMEDOUT".)  The name is resolved by n3 when each message arrives
# (docs/multinode.md, "Addressing actors by name@node").
set -u
. "$(dirname "$0")/lib.sh"
COUNT=20
mn_setup 3
ck=$(mn_cookie c)
peers3="  peers:
    - {name: n1, url: \"$(mn_url 1)\"}
    - {name: n2, url: \"$(mn_url 2)\"}"
n3_tree() {
	mn_tree 3 "  listen: $(mn_url 3)
  cookie: $ck
$peers3" "root:
  children:
    - {name: other, type: echo}
$1"
}
n3_tree ""
for i in 1 2; do
	mn_tree "$i" "  listen: $(mn_url "$i")
  cookie: $ck
  peers:
    - {name: n3, url: \"$(mn_url 3)\"}" "root:
  children:
    - name: tick
      type: ticker
      config: {target: root/sink@n3, interval: 50ms, tag: 1$i, body: n$i,
               call: true, timeout: 2s, count: $COUNT, log: true}"
done
# The gateways start first: n3 is a peer that joins later, so their
# first sends fail (its link is not up) and are tried again at the next
# tick; once n3 is up, every one of the COUNT numbered messages arrives.
for i in 1 2; do mn_start "$i"; done
for i in 1 2; do mn_wait_up "$i"; done
for i in 1 2; do mn_wait_log "$i" "event=send_failed"; done
mn_start 3
mn_wait_up 3
# No root/sink on n3 yet: each gateway's calls are answered noproc at
# once (well within their timeout, so none is counted as failed) and
# tried again; then n3 gains the sink.
for i in 1 2; do mn_wait_log "$i" "event=call_noproc seq=1 action=retry"; done
n3_tree "    - {name: sink, type: echo, config: {log: true}}"
mn_ctl 3 --timeout 5 reload >/dev/null || mn_fail "arborctl reload on n3"
for i in 1 2; do
	end=$(mn_deadline 20)
	while [ "$(grep -c "event=msg tag=1$i " "$MN_DIR/n3/log")" -lt "$COUNT" ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n3 got $(grep -c "event=msg tag=1$i " "$MN_DIR/n3/log") of n$i's $COUNT messages"
		sleep 0.05
	done
	end=$(mn_deadline 10)
	while [ $(($(grep -c "event=reply" "$MN_DIR/n$i/log") + $(grep -c "event=call_failed" "$MN_DIR/n$i/log"))) -lt "$COUNT" ]; do
		[ "$(mn_now)" -lt "$end" ] || mn_fail "n$i: not every call ended"
		sleep 0.05
	done
done
for i in 1 2; do
	got=$(grep -c "event=msg tag=1$i " "$MN_DIR/n3/log")
	[ "$got" = "$COUNT" ] || mn_fail "n3 got $got messages of n$i, not $COUNT"
	replies=$(grep -c "event=reply" "$MN_DIR/n$i/log")
	failed=$(grep -c "event=call_failed" "$MN_DIR/n$i/log")
	[ "$failed" = 0 ] || mn_fail "n$i: $failed calls failed"
	[ "$replies" = "$COUNT" ] || mn_fail "n$i: $replies replies, not $COUNT"
	# Every number answered noproc was called again and answered.
	grep -q "event=reply seq=1 " "$MN_DIR/n$i/log" || mn_fail "n$i: seq 1 (noproc) never answered"
done
# arborctl send PATH@NODE: from n1's node to n3's sink, resolved at n3;
# a node that is not a peer of n1 is refused with a clear error.
mn_ctl 1 send root/sink@n3 77 '"ctl"' >/dev/null || mn_fail "arborctl send root/sink@n3 failed"
mn_wait_log 3 "event=msg tag=77 "
if out=$(mn_ctl 1 send root/sink@n9 77 '"x"' 2>&1); then
	mn_fail "arborctl send root/sink@n9 (no such peer) succeeded"
fi
case $out in
*"root/sink@n9: n9 is not a peer of node n1"*) ;;
*) mn_fail "arborctl send root/sink@n9: unexpected answer: $out" ;;
esac
echo "40_three_nodes: ok"
