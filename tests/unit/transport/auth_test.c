// SPDX-License-Identifier: MIT
// auth_test.c -- node links' authentication (src/transport/auth.c): the
// cookie file's checks, and proofs that verify only for the same cookie,
// direction, challenge and names.

#include "arb_test.h"

#include "transport/link.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_HAS(text, s)                                                   \
	do {                                                                  \
		if (strstr((text), (s)) == NULL) {                            \
			fail_msg("\"%s\" does not say \"%s\"", (text), (s));   \
		}                                                             \
	} while (0)

static char dir[128];

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "auth");
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	assert_int_equal(arb_test_rmtree(dir), 0);
	return 0;
}

static void
put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_cookie_file_checks(void **state)
{
	arb__cookie ck;
	char        path[200], link[200], err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/cookie", dir);
	put_file(path, "0123456789abcdef0123456789abcdef\n", 0600);
	ARB_PASS(arb__cookie_load(&ck, path, err, sizeof(err)));
	assert_int_equal(ck.len, 32); // the newline is not the secret
	assert_memory_equal(ck.key, "0123456789abcdef", 16);
	arb__cookie_clear(&ck);
	assert_int_equal(ck.len, 0);

	// Others may read it: refused, saying how to mend it.
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(arb__cookie_load(&ck, path, err, sizeof(err)),
	    ARB_EPERM);
	ASSERT_HAS(err, "mode 640 lets others read it (chmod 600)");
	assert_int_equal(chmod(path, 0600), 0);

	// Not the node's own file (only root can give a file away).
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(
		    arb__cookie_load(&ck, path, err, sizeof(err)), ARB_EPERM);
		ASSERT_HAS(err, "owned by uid 4242");
		assert_int_equal(chown(path, geteuid(), getegid()), 0);
	}

	// A symbolic link, a directory, a missing file.
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(arb__cookie_load(&ck, link, err, sizeof(err)),
	    ARB_EINVAL);
	ASSERT_HAS(err, "is a symbolic link");
	assert_int_equal(arb__cookie_load(&ck, dir, err, sizeof(err)),
	    ARB_EINVAL);
	ASSERT_HAS(err, "not a regular file");
	snprintf(link, sizeof(link), "%s/none", dir);
	assert_int_equal(arb__cookie_load(&ck, link, err, sizeof(err)),
	    ARB_EINVAL);
	ASSERT_HAS(err, "No such file");

	// Too short to be a secret; too long.
	put_file(path, "short\n", 0600);
	assert_int_equal(arb__cookie_load(&ck, path, err, sizeof(err)),
	    ARB_EINVAL);
	ASSERT_HAS(err, "a cookie has at least 16");
	{
		char big[400];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		put_file(path, big, 0600);
	}
	assert_int_equal(arb__cookie_load(&ck, path, err, sizeof(err)),
	    ARB_EINVAL);
	ASSERT_HAS(err, "longer than 256 bytes");
}

static void
mkcookie(arb__cookie *ck, const char *secret)
{
	memset(ck, 0, sizeof(*ck));
	ck->len = strlen(secret);
	memcpy(ck->key, secret, ck->len);
}

static void
test_proofs_bind_cookie_direction_challenge_and_names(void **state)
{
	arb__cookie ck, other;
	uint8_t     nd[ARB__AUTH_NONCE], na[ARB__AUTH_NONCE];
	uint8_t     pa[ARB__AUTH_MAC], pd[ARB__AUTH_MAC], n2[ARB__AUTH_NONCE];

	(void) state;
	mkcookie(&ck, "a shared secret of the site");
	mkcookie(&other, "another site's secret......");
	ARB_PASS(arb__auth_nonce(nd));
	ARB_PASS(arb__auth_nonce(na));
	assert_memory_not_equal(nd, na, ARB__AUTH_NONCE);

	// The acceptor "central" answers the dialer "gw1"'s challenge nd.
	arb__auth_proof(&ck, true, na, nd, "central", "gw1", pa);
	assert_true(arb__auth_check(&ck, true, nd, na, "gw1", "central", pa));
	// The dialer answers the acceptor's challenge na.
	arb__auth_proof(&ck, false, nd, na, "gw1", "central", pd);
	assert_true(arb__auth_check(&ck, false, na, nd, "central", "gw1", pd));
	assert_memory_not_equal(pa, pd, ARB__AUTH_MAC);

	// Another cookie: refused both ways.
	assert_false(
	    arb__auth_check(&other, true, nd, na, "gw1", "central", pa));
	assert_false(
	    arb__auth_check(&other, false, na, nd, "central", "gw1", pd));
	// Reflection: the acceptor's proof sent back as the dialer's.
	assert_false(arb__auth_check(&ck, false, na, nd, "central", "gw1", pa));
	// Replay: another connection's challenge.
	ARB_PASS(arb__auth_nonce(n2));
	assert_false(arb__auth_check(&ck, true, n2, na, "gw1", "central", pa));
	// Names: a proof made for gw1 does not pass for gw2.
	assert_false(arb__auth_check(&ck, true, nd, na, "gw2", "central", pa));
	assert_false(arb__auth_check(&ck, true, nd, na, "gw1", "gw2", pa));
	// One bit off.
	pa[31] ^= 1;
	assert_false(arb__auth_check(&ck, true, nd, na, "gw1", "central", pa));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_cookie_file_checks, setup, teardown),
		cmocka_unit_test(
		    test_proofs_bind_cookie_direction_challenge_and_names),
	};

	return ARB_TEST_RUN("transport.auth", tests, argc, argv);
}
