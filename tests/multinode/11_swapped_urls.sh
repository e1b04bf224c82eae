#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 11_swapped_urls.sh -- two peers' URLs swapped in a node's tree file
# are said as such on both sides, not as a wrong cookie (docs/multinode.md,
# "Security model"): n1, n2 and n3 share a cookie; n1 lists n2 at n3's
# URL and n3 at n2's, n2 and n3 list n1 right.
#   - n1, which dials: `peer=X reason="expected node X at <Y's URL>,
#     found node Y (it has the cookie ..."`, X's LAST REFUSAL `another
#     node answers`;
#   - Y, which cannot know whom n1 meant: n1's AUTH proves the cookie and
#     says that Y is not the node meant (docs/wire.md): `node n1 has the
#     cookie but dialled this address for another node`, n1's row LAST
#     REFUSAL `dials here for another node` -- never "wrong cookie" nor
#     "closed after our HELLO reply, before its AUTH" -- and n1's source
#     is not backed off.
# n1 starts last, so that its links dial before n2's and n3's streams
# reach it (a link that adopts its peer's stream dials no more: one of
# the two may); one line of either is waited for.
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 3
ck=$(mn_cookie one)
root='root:
  children:
    - {name: e, type: echo}'
mn_tree 1 "  listen: $(mn_url 1)
  cookie: $ck
  peers:
    - {name: n2, url: \"$(mn_url 3)\"}
    - {name: n3, url: \"$(mn_url 2)\"}" "$root"
for i in 2 3; do
	mn_tree "$i" "  listen: $(mn_url "$i")
  cookie: $ck
  peers:
    - {name: n1, url: \"$(mn_url 1)\"}" "$root"
done
for i in 2 3 1; do
	mn_start "$i"
	mn_wait_up "$i"
done
re() { printf '%s' "$1" | sed 's/[.]/\\./g'; }
mn_wait_log 1 "event=link_refused url=tcp://[^ ]* peer=n[23] reason=\"expected node n[23] at tcp://[^ ]*, found node n[23] \(it has the cookie" 15
line=$(grep -E -m1 'reason="expected node n[23] at' "$MN_DIR/n1/log")
x=$(printf '%s' "$line" | sed -n 's/.* peer=\(n[23]\) .*/\1/p')
y=$((5 - ${x#n}))
u=$(re "$(mn_url "$y")")
printf '%s' "$line" | grep -Eq "url=$u peer=$x reason=\"expected node $x at $u, found node n$y \(it has the cookie: " \
    || mn_fail "n1: not the node expected, the URL and the node found: $line"
mn_wait_log "$y" "event=link_refused listener=$u reason=\"node n1 has the cookie but dialled this address for another node .*\" source=" 15
! grep -E 'wrong cookie|before its AUTH|failed authentication' "$MN_DIR/n$y/log" \
    || mn_fail "n$y: n1's dial read as a cookie failure"
grep -q 'event=link_backoff' "$MN_DIR/n$y/log" \
    && mn_fail "n$y backed n1 off: $(grep 'event=link_backoff' "$MN_DIR/n$y/log")"
mn_ctl "$y" peers | grep -Eq '^n1 .* dials here for another node, [0-9][0-9a-z.]* ago +[0-9]+ +[0-9]+$' \
    || mn_fail "n$y: arborctl peers shows no 'dials here for another node' for n1: $(mn_ctl "$y" peers)"
mn_ctl 1 peers | grep -Eq "^$x .* another node answers, [0-9][0-9a-z.]* ago +[0-9]+ +[0-9]+\$" \
    || mn_fail "n1: arborctl peers shows no 'another node answers' for $x: $(mn_ctl 1 peers)"
echo "11_swapped_urls: ok"
