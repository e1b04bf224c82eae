#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 16_tls_mismatch.sh -- a peer that fails TLS is refused and logged,
# saying why, on both sides (issue 12; docs/multinode.md, "TLS"):
#   - n2 dials n1's tls+tcp:// listener at a tcp:// URL: n2 logs that n1
#     closed before its HELLO reply (is it a tls+tcp:// listener?), names
#     n1 and counts it (links_refused); n1's line names a plain peer;
#   - n3 dials n4's tcp:// listener at a tls+tcp:// URL: n4 logs a TLS
#     ClientHello at a tcp:// listener; n3 that n4 closed before its
#     HELLO reply (is it a tcp:// listener?);
#   - n3's certificate has expired: n3 names the expiry when it dials n5
#     and when n1 dials it; n1's line on its dial names n3 (peer=n3);
#   - arborctl peers and status --json show each dialler's last refusal
#     of its peer (why, briefly, and when).
# Each listener has one failing dialler: a listener backs off the
# address of a refused one (penalty.c), all 127.0.0.1 on loopback, and
# closes its next dials at once, before any TLS.  Nothing comes up.
set -u
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || mn_skip "no openssl to make certificates"
mn_setup 5
pki="$MN_DIR/pki"
mkdir -p "$pki"
ossl() { openssl "$@" >>"$pki/openssl.log" 2>&1 || mn_fail "openssl $1 failed: $(tail -3 "$pki/openssl.log")"; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
# cert NAME DAYS: NAME's key and certificate (CN and DNS NAME), signed by
# the CA, valid for DAYS from now (-1: it expired a day ago).
cert() {
	ossl req "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$1"
	printf 'subjectAltName=DNS:%s\n' "$1" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
	    -CAcreateserial -days "$2" -extfile "$pki/$1.ext" -out "$pki/$1.pem"
	chmod 600 "$pki/$1.key"
}
ossl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj "/CN=ca"
cert n1 2
cert n3 -1
cert n5 2
ck=$(mn_cookie plain)
tls_url() { echo "tls+tcp://$(mn_host "$1"):$(mn_port "$1")"; }
tcp_url() { echo "tcp://$(mn_host "$1"):$(mn_port "$1")"; }
tls_keys() { printf '  tls: {cert: %s, key: %s, ca: %s}' "$pki/$1.pem" "$pki/$1.key" "$pki/ca.pem"; }
root='root:
  children:
    - {name: e, type: echo}'
mn_tree 1 "  listen: $(tls_url 1)
$(tls_keys n1)
  peers:
    - {name: n3, url: \"$(tls_url 3)\"}" "$root"
mn_tree 2 "  listen: $(tcp_url 2)
  cookie: $ck
  peers:
    - {name: n1, url: \"$(tcp_url 1)\"}" "$root"
mn_tree 3 "  listen: $(tls_url 3)
$(tls_keys n3)
  peers:
    - {name: n4, url: \"$(tls_url 4)\"}
    - {name: n5, url: \"$(tls_url 5)\"}" "$root"
mn_tree 4 "  listen: $(tcp_url 4)
  cookie: $ck" "$root"
mn_tree 5 "  listen: $(tls_url 5)
$(tls_keys n5)" "$root"
for i in 1 2 3 4 5; do mn_start "$i"; done
for i in 1 2 3 4 5; do mn_wait_up "$i"; done
q() { printf '%s' "$1" | sed 's/[+.]/\\&/g'; } # a URL in a regex
# A plain peer at a TLS listener: both sides say so.
mn_wait_log 2 "event=link_refused url=$(q "$(tcp_url 1)") peer=n1 reason=\"it closed before its HELLO reply \(is it a tls\+tcp:// listener\?" 10
mn_wait_log 1 "event=link_refused listener=$(q "$(tls_url 1)") reason=\"TLS handshake failed: .*a plain tcp:// peer" 10
js=$(mn_ctl 2 status --json) || mn_fail "n2: arborctl status --json failed"
nr=$(printf '%s' "$js" | sed -n 's/.*"links_refused":\([0-9]*\).*/\1/p')
[ -n "$nr" ] && [ "$nr" -ge 1 ] || mn_fail "n2: links_refused is '$nr', not >= 1"
# ... and its peer table tells it from a peer never reached.
printf '%s' "$js" | grep -Eq '"name":"n1",[^}]*"last_refusal":"closed before HELLO","last_refusal_ms":[0-9]+' \
    || mn_fail "n2: no last_refusal for n1 in status --json: $js"
mn_ctl 2 peers | grep -Eq '^n1 .* closed before HELLO, [0-9][0-9a-z.]* ago +0 +0$' \
    || mn_fail "n2: arborctl peers shows no refusal of n1: $(mn_ctl 2 peers)"
# A TLS peer at a tcp:// listener: both sides say so.
mn_wait_log 4 "event=link_refused listener=$(q "$(tcp_url 4)") reason=\"a TLS ClientHello: this listener is tcp://\"" 10
mn_wait_log 3 "event=link_refused url=$(q "$(tls_url 4)") peer=n4 reason=\"it closed before its HELLO reply \(is it a tcp:// listener\?" 10
# n3's expired certificate: named by n3 when it dials (n5) and when it
# is dialled (by n1); n1 names the node it dialled and shows why.
mn_wait_log 3 "event=link_refused url=$(q "$(tls_url 5)") peer=n5 reason=\"TLS handshake failed: our certificate expired at 20[0-9-]+T[0-9:]+Z\"" 10
mn_wait_log 3 "event=link_refused listener=$(q "$(tls_url 3)") reason=\"TLS handshake failed: our certificate expired at " 10
mn_wait_log 1 "event=link_refused url=$(q "$(tls_url 3)") peer=n3 reason=\"TLS handshake failed: its certificate is not our CA's, has expired" 10
mn_ctl 1 peers | grep -Eq '^n3 .* TLS handshake failed, [0-9][0-9a-z.]* ago +0 +0$' \
    || mn_fail "n1: arborctl peers shows no refusal of n3: $(mn_ctl 1 peers)"
for p in "1 n3" "2 n1" "3 n4" "3 n5"; do
	set -- $p
	[ "$(mn_peer "$1" "$2" ups)" = 0 ] || mn_fail "n$1 took $2 up"
done
echo "16_tls_mismatch: ok"
