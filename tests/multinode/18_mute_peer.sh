#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 18_mute_peer.sh -- a peer that accepts the connection and never says a
# word (a hung node whose kernel still accepts, a middlebox holding the
# connection) is given up at the HELLO reply's deadline, named, and
# dialled again; nothing leaks (docs/multinode.md, "Links between
# nodes"):
#   - n1 lists gw2 at a mute peer beside it (arb-mn-relay --mute): its
#     log says `peer=gw2 reason="no HELLO reply within 5000 ms (...)"`
#     5 s after each connection, gw2's row in arborctl peers and
#     status --json says `no HELLO reply`, and when;
#   - each connection given up is closed by n1 before it dials the
#     next one (the mute peer sees it closed), and n1 holds as many
#     descriptors after its second one as after its first;
#   - n1 stops cleanly (SIGTERM: exit status 0).
# Before hstimeout, n1's dial waited in its handshake for good: one
# connection, no line, no refusal (unit.transport.duplex
# test_dial_without_hello_reply_is_abandoned tests the link itself).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 1
ck=$(mn_cookie one)
mn_mute 1
url=$(mn_relay_url 1)
mn_tree 1 "  listen: $(mn_url 1)
  cookie: $ck
  peers:
    - {name: gw2, url: \"$url\"}" 'root:
  children:
    - {name: e, type: echo}'
mn_start 1
mn_wait_up 1
pid=${MN_PID[1]}
re_url=${url//./\\.}
line="event=link_refused url=$re_url peer=gw2 reason=\"no HELLO reply within 5000 ms \(it accepted the connection and said nothing"

# mute_wait ACCEPTED CLOSED: until the mute peer took ACCEPTED
# connections and saw CLOSED of them closed (bounded).
mute_wait() {
	local end
	end=$(mn_deadline 20)
	until [ "$(mn_mute_count 1 accepted)" -ge "$1" ] \
	    && [ "$(mn_mute_count 1 closed)" -ge "$2" ]; do
		mn_alive 1 || mn_fail "n1 ended"
		[ "$(mn_now)" -lt "$end" ] \
		    || mn_fail "the mute peer took $(mn_mute_count 1 accepted) connections, $(mn_mute_count 1 closed) closed; not $1 and $2 in time"
		sleep 0.05
	done
	# Never more open than the one n1 dials now.
	[ $(($(mn_mute_count 1 accepted) - $(mn_mute_count 1 closed))) -le 1 ] \
	    || mn_fail "n1 holds $(($(mn_mute_count 1 accepted) - $(mn_mute_count 1 closed))) connections to the mute peer"
}

mn_wait_log 1 "$line" 20
# The connection given up is closed; n1 dials again.
mute_wait 2 1
fds1=$(ls "/proc/$pid/fd" | wc -l)
mute_wait 3 2
fds2=$(ls "/proc/$pid/fd" | wc -l)
[ "$fds2" -le "$fds1" ] \
    || mn_fail "n1 held $fds1 descriptors after its first connection given up, $fds2 after its second"
[ "$(grep -Ec -- "$line" "$MN_DIR/n1/log")" -ge 2 ] \
    || mn_fail "n1 named one connection given up, not two: $(grep -E -- "peer=gw2" "$MN_DIR/n1/log")"

mn_ctl 1 peers | grep -q '^PEER .* LAST REFUSAL ' \
    || mn_fail "n1: arborctl peers has no LAST REFUSAL column: $(mn_ctl 1 peers)"
mn_ctl 1 peers | grep -Eq "^gw2 +$re_url .* no HELLO reply, [0-9][0-9a-z.]* ago +0 +0\$" \
    || mn_fail "n1: arborctl peers shows no 'no HELLO reply' for gw2: $(mn_ctl 1 peers)"
js=$(mn_ctl 1 status --json) || mn_fail "n1: arborctl status --json failed"
printf '%s' "$js" | grep -Eq '"name":"gw2",[^}]*"last_refusal":"no HELLO reply","last_refusal_ms":[0-9]+' \
    || mn_fail "n1: no last_refusal for gw2 in status --json: $js"

mn_stop 1
[ "$MN_RC" = 0 ] || mn_fail "n1 exited $MN_RC on SIGTERM"
mute_wait 3 3
echo "18_mute_peer: ok"
