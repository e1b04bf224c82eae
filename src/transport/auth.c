// SPDX-License-Identifier: MIT
// auth.c -- how two nodes prove they share a secret (docs/wire.md,
// "Authentication"): a cookie file readable by its owner only, and an
// HMAC-SHA256 challenge-response in both directions; the secret never
// crosses the wire and proofs are compared in constant time.  mbedTLS's
// libmbedcrypto does the HMAC: Debian's libnng is built with mbedTLS, so
// it is in every arbor process already and costs no new mapping (OpenSSL's
// libcrypto would add one to every node); nonces come from getrandom(2).
// Behind this one file.  Thread: any.
//
// A proof binds its direction, both nonces and both node names:
//   acceptor: HMAC(cookie, "arbor-link-1 A" | nd | na | acceptor | dialer)
//   dialer:   HMAC(cookie, "arbor-link-1 D" | na | nd | dialer | acceptor)
// nd / na are the dialer's / acceptor's fresh 16-byte nonces, so a proof
// cannot be replayed on another connection nor reflected back to its
// sender (the label differs by direction).

#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char AUTH_LABEL[] = "arbor-link-1 ";

int
arb__cookie_load(arb__cookie *ck, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int         fd;
	ssize_t     n;
	uint8_t     buf[ARB__COOKIE_MAX + 2];

	memset(ck, 0, sizeof(*ck));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cookie file %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return ARB_EINVAL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cookie file %s: not a regular file",
		    path);
		close(fd);
		return ARB_EINVAL;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
		    "cookie file %s: owned by uid %u, not by this node's "
		    "uid %u",
		    path, (unsigned) st.st_uid, (unsigned) geteuid());
		close(fd);
		return ARB_EPERM;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "cookie file %s: mode %03o lets others read it "
		    "(chmod 600)",
		    path, (unsigned) (st.st_mode & 0777));
		close(fd);
		return ARB_EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cookie file %s: %s", path,
		    strerror(errno));
		return ARB_EINVAL;
	}
	// One line; a trailing newline is not part of the secret.
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
		n--;
	}
	if (n > ARB__COOKIE_MAX) {
		snprintf(err, errlen, "cookie file %s: longer than %d bytes",
		    path, ARB__COOKIE_MAX);
		return ARB_EINVAL;
	}
	if (n < ARB__COOKIE_MIN) {
		snprintf(err, errlen,
		    "cookie file %s: %zd bytes; a cookie has at least %d "
		    "(e.g. `head -c 32 /dev/urandom | base64 > FILE`)",
		    path, n, ARB__COOKIE_MIN);
		return ARB_EINVAL;
	}
	memcpy(ck->key, buf, (size_t) n);
	ck->len = (size_t) n;
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return ARB_OK;
}

void
arb__cookie_clear(arb__cookie *ck)
{
	mbedtls_platform_zeroize(ck, sizeof(*ck));
}

int
arb__auth_nonce(uint8_t nonce[ARB__AUTH_NONCE])
{
	ssize_t n;

	while ((n = getrandom(nonce, ARB__AUTH_NONCE, 0)) < 0
	    && errno == EINTR) {
	}
	return n == ARB__AUTH_NONCE ? ARB_OK : (ARB_ESYSERR | EIO);
}

void
arb__auth_proof(const arb__cookie *ck, bool acceptor,
    const uint8_t mine[ARB__AUTH_NONCE], const uint8_t theirs[ARB__AUTH_NONCE],
    const char *me, const char *peer, uint8_t out[ARB__AUTH_MAC])
{
	uint8_t      msg[sizeof(AUTH_LABEL) + 1 + 2 * ARB__AUTH_NONCE
            + 2 * (ARB__NODE_NAME_MAX + 1)];
	size_t       n = 0, l;

	memcpy(msg, AUTH_LABEL, sizeof(AUTH_LABEL) - 1);
	n += sizeof(AUTH_LABEL) - 1;
	msg[n++] = acceptor ? 'A' : 'D';
	// The dialer's nonce first in the acceptor's proof and the other way
	// round: each side signs the challenge it was given, then its own.
	memcpy(msg + n, theirs, ARB__AUTH_NONCE);
	n += ARB__AUTH_NONCE;
	memcpy(msg + n, mine, ARB__AUTH_NONCE);
	n += ARB__AUTH_NONCE;
	l = strnlen(me, ARB__NODE_NAME_MAX);
	msg[n++] = (uint8_t) l;
	memcpy(msg + n, me, l);
	n += l;
	l = strnlen(peer, ARB__NODE_NAME_MAX);
	msg[n++] = (uint8_t) l;
	memcpy(msg + n, peer, l);
	n += l;
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	        ck->key, ck->len, msg, n, out) != 0) {
		// Never a valid proof: a failed HMAC refuses the peer.
		memset(out, 0, ARB__AUTH_MAC);
	}
}

bool
arb__auth_check(const arb__cookie *ck, bool peer_acceptor,
    const uint8_t mine[ARB__AUTH_NONCE], const uint8_t theirs[ARB__AUTH_NONCE],
    const char *me, const char *peer, const uint8_t proof[ARB__AUTH_MAC])
{
	uint8_t          want[ARB__AUTH_MAC];
	volatile uint8_t diff = 0;
	size_t           i;

	// The proof the peer made: its role, its nonce last, its name first.
	arb__auth_proof(ck, peer_acceptor, theirs, mine, peer, me, want);
	// In constant time: every byte is compared whatever the first
	// difference.
	for (i = 0; i < ARB__AUTH_MAC; i++) {
		diff |= want[i] ^ proof[i];
	}
	mbedtls_platform_zeroize(want, sizeof(want));
	return diff == 0;
}
