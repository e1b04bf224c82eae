#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 10_cookie.sh -- a peer with the wrong cookie is refused (issue 12,
# "Authentication ON by default"): n1 and n3 share a cookie, n2 has
# another.  n3 comes up with n1 (both ways); n2 is refused by n1 and
# logged there (event=link_refused), and stays not up on both sides
# while it keeps redialling for several backoff rounds; each side's
# `arborctl peers` shows why (wrong cookie).  n4 (the wrong cookie too)
# dials n1, which cannot dial it (nothing listens at the URL n1 has for
# it): n1's row for n4 says wrong cookie all the same, from its
# listener.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 5
good=$(mn_cookie good)
bad=$(mn_cookie bad)
root='root:
  children:
    - {name: e, type: echo}'
mn_tree 1 "  listen: $(mn_url 1)
  cookie: $good
  peers:
    - {name: n2, url: \"$(mn_url 2)\"}
    - {name: n3, url: \"$(mn_url 3)\"}
    - {name: n4, url: \"$(mn_url 5)\"}" "$root"
mn_tree 2 "  listen: $(mn_url 2)
  cookie: $bad
  peers:
    - {name: n1, url: \"$(mn_url 1)\"}" "$root"
mn_tree 3 "  listen: $(mn_url 3)
  cookie: $good
  peers:
    - {name: n1, url: \"$(mn_url 1)\"}" "$root"
mn_tree 4 "  listen: $(mn_url 4)
  cookie: $bad
  peers:
    - {name: n1, url: \"$(mn_url 1)\"}" "$root"
for i in 1 2 3 4; do mn_start "$i"; done
for i in 1 2 3 4; do mn_wait_up "$i"; done
mn_wait_peer 1 n3 up 10
mn_wait_peer 3 n1 up 10
mn_wait_log 1 "event=link_refused" 10
# Several redials of n2 (backoff up to 500 ms): never up, either side.
end=$(mn_deadline 3)
while [ "$(mn_now)" -lt "$end" ]; do
	[ "$(mn_peer 1 n2 state)" = up ] && mn_fail "n1 took n2 (wrong cookie)"
	[ "$(mn_peer 2 n1 state)" = up ] && mn_fail "n2 sees n1 up (wrong cookie)"
	sleep 0.1
done
[ "$(mn_peer 1 n2 ups)" = 0 ] || mn_fail "n1 counts n2 up $(mn_peer 1 n2 ups) times"
grep -q "event=peer_up peer=n2" "$MN_DIR/n1/log" && mn_fail "n1 logged n2 up"
# The refusals are counted on both sides (arborctl status --json, the
# same arb_node_stats as /metrics' arbor_node_link_auth_failed_total).
for i in 1 2; do
	js=$(mn_ctl "$i" status --json) || mn_fail "n$i: arborctl status --json failed"
	af=$(printf '%s' "$js" | sed -n 's/.*"link_auth_failed":\([0-9]*\).*/\1/p')
	[ -n "$af" ] && [ "$af" -ge 1 ] || mn_fail "n$i: link_auth_failed is '$af', not >= 1"
done
# Each side's peer table says why: a wrong cookie (not a peer never
# reached, nor one closed without a word: the listener backs the
# refused address off, closing its next dials at once).
mn_wait_log 1 "event=link_refused listener=.* reason=\"node n4 (failed authentication|closed after our HELLO reply)" 10
for p in "1 n2" "2 n1" "1 n4"; do
	set -- $p
	mn_ctl "$1" peers | grep -Eq "^$2 .* wrong cookie, [0-9][0-9a-z.]* ago +0 +0\$" \
	    || mn_fail "n$1: arborctl peers shows no wrong cookie for $2: $(mn_ctl "$1" peers)"
done
echo "10_cookie: ok"
