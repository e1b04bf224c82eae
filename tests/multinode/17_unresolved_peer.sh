#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 17_unresolved_peer.sh -- a peer whose host does not resolve is named,
# not redialled in silence (issue 12; docs/multinode.md, "Security
# model"):
#   - n1 lists gw2 at tcp://nonexistent.invalid:7 (.invalid never
#     resolves: RFC 6761): its log says `peer=gw2 reason="host
#     nonexistent.invalid could not be resolved (<the resolver's
#     reason>)"`, again rate-limited (a later line counts the redials it
#     left out: suppressed=N), and gw2's row in arborctl peers and
#     status --json says `host not resolved`, and when;
#   - n3 is listed at an address that resolves where nothing listens:
#     never named unresolved; its dials are refused, and said so
#     (multinode.19_silent_dials).
# In namespaces the resolver cannot be reached (Temporary failure in
# name resolution: nng's NNG_EAGAIN); on loopback it says the name does
# not exist (nng's NNG_EADDRINVAL): the script runs both ways (ctest runs
# it as root; MN_NETNS=0 by hand).
set -u
. "$(dirname "$0")/lib.sh"
mn_setup 1
ck=$(mn_cookie one)
bad="tcp://nonexistent.invalid:7"
# n3 is never started: its address resolves (an IP address), nothing
# answers there.
mn_tree 1 "  listen: $(mn_url 1)
  cookie: $ck
  peers:
    - {name: gw2, url: \"$bad\"}
    - {name: n3, url: \"tcp://$(mn_host 1):$(($(mn_port 1) + 2))\"}" 'root:
  children:
    - {name: e, type: echo}'
mn_start 1
mn_wait_up 1
line="event=link_refused url=tcp://nonexistent\.invalid:7 peer=gw2 reason=\"host nonexistent\.invalid could not be resolved \([A-Za-z][^)]*\)\""
mn_wait_log 1 "$line" 20
# Named again as the redials go on, at most a line a second: a later line
# counts the ones left out.
mn_wait_log 1 "$line suppressed=[1-9]" 20
mn_ctl 1 peers | grep -Eq '^gw2 +tcp://nonexistent\.invalid:7 .* host not resolved, [0-9][0-9a-z.]* ago +0 +0$' \
    || mn_fail "n1: arborctl peers shows no 'host not resolved' for gw2: $(mn_ctl 1 peers)"
js=$(mn_ctl 1 status --json) || mn_fail "n1: arborctl status --json failed"
printf '%s' "$js" | grep -Eq '"name":"gw2",[^}]*"last_refusal":"host not resolved","last_refusal_ms":[0-9]+' \
    || mn_fail "n1: no last_refusal for gw2 in status --json: $js"
# A peer whose address resolves where nothing listens is refused, not
# unresolved.
printf '%s' "$js" | grep -Eq '"name":"n3",[^}]*"last_refusal":"connection refused","last_refusal_ms":[0-9]+' \
    || mn_fail "n1: n3 (nothing listens) shows no connection refused: $js"
! grep -q 'peer=n3 .*resolved' "$MN_DIR/n1/log" || mn_fail "n1 said n3 unresolved: $(grep 'peer=n3 ' "$MN_DIR/n1/log")"
echo "17_unresolved_peer: ok"
