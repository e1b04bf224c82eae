// SPDX-License-Identifier: MIT
// unproven_test.c -- unit tests of a TCP listener's bound on unproven
// connections (tp_lsn.c; docs/multinode.md, "Bad input from peers"):
// strangers are plain TCP sockets bound to other loopback addresses
// (127.0.0.2, .3, ...: each its own source) that connect and say
// nothing; the good peer is a real link (arb__link_open) from 127.0.0.1.
// The node's defaults (arb__peers_unproven) are checked too.

#include "arb_test.h"

#include "transport/link.h"
#include "transport/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// The strangers stay until closed: far past any wait here.
#define HOLD_MS 60000

typedef struct sink {
	pthread_mutex_t mtx;
	uint64_t        frames;
} sink;

static int
sink_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	(void) arg;
	(void) c;
	(void) h;
	return ARB_OK;
}

static bool
sink_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	sink *s = arg;

	(void) c;
	pthread_mutex_lock(&s->mtx);
	s->frames++;
	pthread_mutex_unlock(&s->mtx);
	arb__chunk_free(ch);
	return false;
}

static uint64_t
sink_frames(sink *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mtx);
	n = s->frames;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

static const arb__lsn_ops sink_ops = {
	.hello = sink_hello,
	.data = sink_data,
};

typedef struct fix {
	arb__tp_stats    lst;     // the listener's
	arb__tp_stats    kst;     // the link's
	_Atomic uint64_t refused; // the listener's unproven_refused
	arb__link_cfg    lcfg;
	arb__link_cfg    kcfg;
	sink             s;
	arb__lsn        *l;
	int              port;
	char             url[64];
	int              fds[16];
	size_t           nfds;
} fix;

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->s.mtx, NULL);
	arb__link_cfg_defaults(&f->lcfg);
	arb__link_cfg_defaults(&f->kcfg);
	f->lcfg.stats = &f->lst;
	f->kcfg.stats = &f->kst;
	f->lcfg.hello_ms = HOLD_MS;
	f->lcfg.max_unproven = 4;
	f->lcfg.max_unproven_src = 2;
	f->lcfg.unproven_refused = &f->refused;
	snprintf(f->lcfg.self.name, sizeof(f->lcfg.self.name), "acceptor");
	f->lcfg.self.node_id = arb__node_id("acceptor");
	f->lcfg.self.max_frame = (uint32_t) f->lcfg.max_frame;
	snprintf(f->kcfg.self.name, sizeof(f->kcfg.self.name), "dialer");
	f->kcfg.self.node_id = arb__node_id("dialer");
	f->kcfg.self.max_frame = (uint32_t) f->kcfg.max_frame;
	ARB_PASS(arb__lsn_open(
	    &f->l, "tcp://127.0.0.1:0", 0, &sink_ops, &f->s, &f->lcfg));
	f->port = arb__lsn_port(f->l);
	assert_true(f->port > 0);
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", f->port);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix   *f = *state;
	size_t i;

	for (i = 0; i < f->nfds; i++) {
		if (f->fds[i] >= 0) {
			close(f->fds[i]);
		}
	}
	arb__lsn_close(f->l);
	pthread_mutex_destroy(&f->s.mtx);
	free(f);
	return 0;
}

// stranger connects from 127.0.0.<host> and says nothing; its fd is
// closed by the teardown.  Returns its index in f->fds.
static size_t
stranger(fix *f, int host)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(f->nfds < ARB_ARRAY_SIZE(f->fds));
	src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t) host);
	dst.sin_addr.s_addr = htonl(0x7f000001u);
	dst.sin_port = htons((uint16_t) f->port);
	if (bind(fd, (struct sockaddr *) &src, sizeof(src)) != 0
	    || connect(fd, (struct sockaddr *) &dst, sizeof(dst)) != 0) {
		fail_msg("127.0.0.%d -> port %d: %s", host, f->port,
		    strerror(errno));
	}
	f->fds[f->nfds] = fd;
	return f->nfds++;
}

// closed_by_listener: the listener closed stranger i's connection (EOF
// or a reset) within ms.
static bool
closed_by_listener(fix *f, size_t i, int ms)
{
	struct pollfd p = { .fd = f->fds[i], .events = POLLIN };
	char          b;

	if (poll(&p, 1, ms) != 1) {
		return false;
	}
	return read(f->fds[i], &b, 1) <= 0;
}

// still_held: stranger i's connection is open (nothing to read, no EOF).
static bool
still_held(fix *f, size_t i)
{
	struct pollfd p = { .fd = f->fds[i], .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

static uint64_t
refused(fix *f)
{
	return atomic_load(&f->refused);
}

// link_delivers: a link from 127.0.0.1 gets a frame through within ms.
static bool
link_delivers(fix *f, arb__link *k, int ms)
{
	uint64_t    n = sink_frames(&f->s);
	int64_t     dl = arb_test_now_ms() + ms;
	arb__chunk *ch = arb__chunk_alloc(16);

	assert_non_null(ch);
	memset(ch->data, 0, 16);
	ch->len = 16;
	ch->nenv = 1;
	ch->dst = 1;
	ARB_PASS(arb__link_put(k, ch, NULL));
	while (sink_frames(&f->s) == n) {
		if (arb_test_now_ms() > dl) {
			return false;
		}
		poll(NULL, 0, 5);
	}
	return true;
}

// One source holds at most its share (2 here): its further connections
// are closed at once and counted, its first two stay; a good peer from
// another address links meanwhile.
static void
test_one_source_holds_its_share_at_most(void **state)
{
	fix       *f = *state;
	arb__link *k;
	size_t     i;

	for (i = 0; i < 2; i++) {
		stranger(f, 2);
	}
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 2, 5000);
	for (i = 2; i < 5; i++) {
		stranger(f, 2);
	}
	ARB_WAIT_UNTIL(refused(f) == 3, 5000);
	for (i = 2; i < 5; i++) {
		if (!closed_by_listener(f, i, 5000)) {
			fail_msg("127.0.0.2's connection %zu (over its share) "
			         "is still open",
			    i);
		}
	}
	assert_true(still_held(f, 0));
	assert_true(still_held(f, 1));
	assert_int_equal(arb__lsn_conns(f->l), 2);
	// The good peer, from 127.0.0.1, while .2 holds its share.
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	assert_true(link_delivers(f, k, 10000));
	assert_int_equal(refused(f), 3);
	assert_true(still_held(f, 0));
	assert_true(still_held(f, 1));
	arb__link_rele(k);
}

// A full listener (4 unproven, two sources holding two each) makes room
// for a source that holds fewer: the oldest connection of the busiest
// source is closed; the good peer links; a proven connection no longer
// counts (nor is it ever the one closed).
static void
test_full_listener_makes_room_for_another_source(void **state)
{
	fix       *f = *state;
	arb__link *k;
	size_t     a0, a1, b0, b1, c0;

	a0 = stranger(f, 2);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 1, 5000);
	a1 = stranger(f, 2);
	b0 = stranger(f, 3);
	b1 = stranger(f, 3);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 4, 5000);
	assert_int_equal(refused(f), 0);
	// The good peer: its connection takes the place of .2's oldest.
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	if (!link_delivers(f, k, 10000)) {
		fail_msg("the good peer did not link while strangers filled "
		         "the listener (unproven_refused %llu)",
		    (unsigned long long) refused(f));
	}
	assert_true(closed_by_listener(f, a0, 5000));
	assert_int_equal(refused(f), 1);
	assert_true(still_held(f, a1));
	assert_true(still_held(f, b0));
	assert_true(still_held(f, b1));
	// 3 unproven now (a1, b0, b1), the link proven: a fourth source
	// gets the free slot, and a fifth closes .3's oldest (b0; .3 holds
	// the most), not the link.
	c0 = stranger(f, 4);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 5, 5000);
	assert_int_equal(refused(f), 1);
	stranger(f, 5);
	assert_true(closed_by_listener(f, b0, 5000));
	assert_int_equal(refused(f), 2);
	assert_true(still_held(f, a1));
	assert_true(still_held(f, b1));
	assert_true(still_held(f, c0));
	// A source holding no more than the others gets nothing: .4's next
	// one is closed itself (every source holds 1).
	stranger(f, 4);
	assert_true(closed_by_listener(f, f->nfds - 1, 5000));
	assert_int_equal(refused(f), 3);
	assert_true(still_held(f, c0));
	assert_true(link_delivers(f, k, 10000));
	arb__link_rele(k);
}

// The node's bounds (arb__peers_unproven): a quarter of the hard fd
// limit, at most 256; a source an eighth, at least 4 (or all of a
// smaller bound).  Checked in a child, which lowers its limit.
static void
test_node_bounds_follow_the_fd_limit(void **state)
{
	int   total, src, st;
	pid_t pid;

	(void) state;
	arb__peers_unproven(9, &total, &src);
	assert_int_equal(total, 9);
	assert_int_equal(src, 4);
	arb__peers_unproven(256, &total, &src);
	assert_int_equal(src, 32);
	arb__peers_unproven(2, &total, &src);
	assert_int_equal(src, 2);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 40, 40 };
		int           bad = 0;

		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			_exit(2);
		}
		arb__peers_unproven(0, &total, &src);
		bad |= total != 10 || src != 4;
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	// This process's own limit: at most 256.
	arb__peers_unproven(0, &total, &src);
	assert_true(total >= 1 && total <= 256);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_one_source_holds_its_share_at_most, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_full_listener_makes_room_for_another_source, setup,
		    teardown),
		cmocka_unit_test(test_node_bounds_follow_the_fd_limit),
	};

	signal(SIGPIPE, SIG_IGN);
	return ARB_TEST_RUN("transport.unproven", tests, argc, argv);
}
