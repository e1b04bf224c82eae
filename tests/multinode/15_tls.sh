#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 15_tls.sh -- node links over tls+tcp:// with certificates (issue 12,
# "Authentication ON by default ... or use TLS"; docs/multinode.md, "TLS"):
# one CA signs n1's and n2's certificates (each names its node); n3's is
# signed by another CA (n3 trusts the first: only n1's listener can keep
# it out); n4 presents n2's certificate.  No node has a
# cookie: TLS alone authenticates.
#   - n1 and n2 come up with each other, both ways, heartbeats answered;
#   - n3 is refused by n1, both when n1 dials it and when it dials n1
#     (its certificate is not the CA's): never up on either side, logged;
#   - n1 never takes n4 up: the certificate n4 answers with names n2, not
#     the node n1 dials (logged as such).
set -u
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || mn_skip "no openssl to make certificates"
mn_setup 4
pki="$MN_DIR/pki"
mkdir -p "$pki"
ossl() { openssl "$@" >>"$pki/openssl.log" 2>&1 || mn_fail "openssl $1 failed: $(tail -3 "$pki/openssl.log")"; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
# ca NAME: a self-signed CA; cert NAME CA: NAME's key and certificate,
# CN=NAME and DNS:NAME, signed by CA.
ca() { ossl req -x509 "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.pem" -days 2 -subj "/CN=$1"; }
cert() {
	ossl req "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$1"
	printf 'subjectAltName=DNS:%s\n' "$1" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
	    -CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
	chmod 600 "$pki/$1.key"
}
ca ca
ca rogue-ca
cert n1 ca
cert n2 ca
cert n3 rogue-ca
tls_url() { echo "tls+tcp://$(mn_host "$1"):$(mn_port "$1")"; }
tls_keys() { # tls_keys CERT CA: node.tls with CERT's key
	printf '  tls: {cert: %s, key: %s, ca: %s}' "$pki/$1.pem" "$pki/$1.key" "$pki/$2.pem"
}
root='root:
  children:
    - {name: e, type: echo}'
mn_tree 1 "  listen: $(tls_url 1)
$(tls_keys n1 ca)
  peers:
    - {name: n2, url: \"$(tls_url 2)\"}
    - {name: n3, url: \"$(tls_url 3)\"}
    - {name: n4, url: \"$(tls_url 4)\"}" "$root"
mn_tree 2 "  listen: $(tls_url 2)
$(tls_keys n2 ca)
  peers:
    - {name: n1, url: \"$(tls_url 1)\"}" "$root"
mn_tree 3 "  listen: $(tls_url 3)
$(tls_keys n3 ca)
  peers:
    - {name: n1, url: \"$(tls_url 1)\"}" "$root"
mn_tree 4 "  listen: $(tls_url 4)
$(tls_keys n2 ca)
  peers:
    - {name: n1, url: \"$(tls_url 1)\"}" "$root"
mn_in 1 "$ARBOR_BIN" check "$MN_DIR/n1/tree.yaml" >"$MN_DIR/check.out" 2>&1 \
    || mn_fail "arbor check refused a good TLS tree: $(cat "$MN_DIR/check.out")"
for i in 1 2 3 4; do mn_start "$i"; done
for i in 1 2 3 4; do mn_wait_up "$i"; done
mn_wait_log 1 "event=peer_listen url=tls\+tcp://.* auth=tls" 10
mn_wait_peer 1 n2 up 10
mn_wait_peer 2 n1 up 10
# Heartbeats cross both TLS streams: each side measured a round trip.
end=$(mn_deadline 5)
until mn_ctl 1 peers | grep -Eq '^n2 .* up .*ms ago'; do
	[ "$(mn_now)" -lt "$end" ] \
	    || mn_fail "n1 has no heartbeat answer from n2: $(mn_ctl 1 peers)"
	sleep 0.05
done
# n3 (another CA) and n4 (n2's certificate): refused, logged, counted.
for i in 3 4; do
	mn_wait_log 1 "event=link_refused url=$(tls_url $i | sed 's/+/\\+/') peer=n$i reason=\"TLS handshake failed: its certificate is not our CA's, has expired or does not name the node dialled" 10
done
mn_wait_log 1 'event=link_refused listener=tls\+tcp://.*TLS handshake failed' 10
mn_wait_log 3 'event=link_refused url=tls\+tcp://.*TLS' 10
end=$(mn_deadline 2)
while [ "$(mn_now)" -lt "$end" ]; do
	[ "$(mn_peer 1 n3 state)" = up ] && mn_fail "n1 took n3 (another CA)"
	[ "$(mn_peer 3 n1 state)" = up ] && mn_fail "n3 sees n1 up (another CA)"
	[ "$(mn_peer 1 n4 state)" = up ] && mn_fail "n1 took n4 (n2's certificate)"
	sleep 0.1
done
for p in n3 n4; do
	[ "$(mn_peer 1 $p ups)" = 0 ] || mn_fail "n1 counts $p up $(mn_peer 1 $p ups) times"
done
# (n2's count is not checked: a machine loaded enough to silence
# heartbeats for 2 s makes a peer flap, which is not this test's point.)
echo "15_tls: ok"
