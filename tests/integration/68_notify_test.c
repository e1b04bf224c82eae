// SPDX-License-Identifier: MIT
// 68_notify_test.c -- the arbor program speaks systemd's notify protocol
// (SPEC 16, Type=notify): READY=1 only after the whole tree is up,
// WATCHDOG=1 only while every actor loop is live, STOPPING=1 at stop.
//
// The test plays systemd: it binds its own NOTIFY_SOCKET (a unix datagram
// socket in a temp dir), sets WATCHDOG_USEC, runs the real `arbor` and
// reads what it says, with deadlines.

#include "arb_test.h"
#include "probe.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
h_arbor(int argc, char **argv)
{
#ifdef ARBOR_BIN
	char *args[4] = { (char *) ARBOR_BIN, (char *) "run", NULL, NULL };

	args[2] = argc > 1 ? argv[1] : NULL;
	execv(ARBOR_BIN, args);
	fprintf(stderr, "exec %s: %s\n", ARBOR_BIN, strerror(errno));
#else
	(void) argc;
	(void) argv;
#endif
	return 127;
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
};

// next_notify waits (bounded) for a datagram containing needle, while
// draining the helper's output; it counts WATCHDOG=1 pings on the way.
static bool
next_notify(int fd, arb_test_proc *p, const char *needle, int timeout_ms,
    int *pets)
{
	int64_t end = arb_test_now_ms() + timeout_ms;
	char    buf[1024];

	while (arb_test_now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t       n;

		if (poll(&pfd, 1, 50) == 1) {
			n = recv(fd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				if (pets != NULL && strstr(buf, "WATCHDOG=1")) {
					(*pets)++;
				}
				if (strstr(buf, needle) != NULL) {
					return true;
				}
			}
		}
		arb_test_try_expect(p, "\x01never", 1); // keep reading output
	}
	return false;
}

// pets_during counts the WATCHDOG=1 pings received within ms.
static int
pets_during(int fd, arb_test_proc *p, int ms)
{
	int pets = 0;

	next_notify(fd, p, "\x01never", ms, &pets);
	return pets;
}

static void
test_ready_watchdog_stopping(void **state)
{
	char               dir[] = "/tmp/arb-notify-XXXXXX";
	char               sock[256], yaml[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	arb_test_proc      p;
	const char        *args[2] = { yaml, NULL };
	FILE              *f;
	int                fd, pets;
	int64_t            t_spawn;

	(void) state;
#ifndef ARBOR_BIN
	skip();
#endif
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/notify.sock", dir);
	snprintf(yaml, sizeof(yaml), "%s/tree.yaml", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	// A slow starter (READY after 800 ms) and an actor that blocks its
	// own loop for 4 s once the tree has run for a while.
	f = fopen(yaml, "w");
	assert_non_null(f);
	fprintf(f, "node: {name: notify-test, run_dir: %s/run}\n"
	           "root:\n"
	           "  children:\n"
	           "    - {name: slow, type: crasher,"
	           " config: {ready: late, ready_delay: 800ms}}\n"
	           "    - {name: stuck, type: crasher, isolation: process,"
	           " config: {hang: {after: 2500ms, for: 6s}}}\n",
	    dir);
	fclose(f);
	setenv("NOTIFY_SOCKET", sock, 1);
	setenv("WATCHDOG_USEC", "400000", 1); // pet every 200 ms
	t_spawn = arb_test_now_ms();
	arb_test_spawn(&p, "arbor", args);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	// READY=1 comes only once the whole tree is up (after the slow one).
	assert_true(next_notify(fd, &p, "READY=1", 10000, NULL));
	// The slow starter cannot be READY before 800 ms: a READY=1 earlier
	// than that would be a lie.
	assert_true(arb_test_now_ms() - t_spawn >= 800);
	arb_test_expect(&p, "root event=tree_up", 5000);
	// ... which the slow starter's late READY preceded.
	p.mark = 0;
	arb_test_expect(&p, "root/slow event=started", 5000);
	// Live: the watchdog is petted.
	assert_true(pets_during(fd, &p, 800) >= 2);
	// The stuck actor's loop blocks: petting stops while it is stuck
	// (heartbeats older than 3 s), then resumes when it unblocks.
	arb_test_expect(&p, "event=hang", 10000);
	// Within 6 s (the hang's length) a whole 600 ms window must pass
	// without a single pet: the loop's heartbeat is older than 3 s.
	{
		int64_t end = arb_test_now_ms() + 6000;
		pets        = -1;
		while (arb_test_now_ms() < end && pets != 0) {
			pets = pets_during(fd, &p, 600);
		}
		assert_int_equal(pets, 0);
	}
	arb_test_expect(&p, "event=unhung", 10000);
	assert_true(next_notify(fd, &p, "WATCHDOG=1", 3000, NULL));
	// A requested stop says STOPPING=1 and exits 0.
	kill(p.pid, SIGTERM);
	assert_true(next_notify(fd, &p, "STOPPING=1", 10000, NULL));
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	arb_test_proc_fini(&p);
	close(fd);
	// Everything under dir: the socket, the tree file and the node's
	// run_dir (a configured run_dir is the operator's, so the node
	// leaves the directory itself in place).
	assert_int_equal(arb_test_rmtree(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

// A permanent child that cannot come back makes STATUS= say "degraded",
// with its path, which `systemctl status` shows.
static void
test_status_says_degraded(void **state)
{
	char               dir[] = "/tmp/arb-notify-XXXXXX";
	char               sock[256], yaml[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	arb_test_proc      p;
	const char        *args[2] = { yaml, NULL };
	FILE              *f;
	int                fd;

	(void) state;
#ifndef ARBOR_BIN
	skip();
#endif
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/notify.sock", dir);
	snprintf(yaml, sizeof(yaml), "%s/tree.yaml", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	// c runs once, ends after 300 ms, and every start after the first
	// fails: it stays down, retried with a backoff.
	f = fopen(yaml, "w");
	assert_non_null(f);
	fprintf(f,
	    "node: {name: notify-deg, run_dir: %s/run}\n"
	    "root:\n"
	    "  intensity: 1000\n"
	    "  period: 10s\n"
	    "  children:\n"
	    "    - {name: e, type: echo}\n"
	    "    - name: c\n"
	    "      type: crasher\n"
	    "      backoff: {min: 100ms, max: 200ms}\n"
	    "      config: {init: fail_after_first, state_dir: %s,"
	    " exit: {after: 300ms, reason: error}}\n",
	    dir, dir);
	fclose(f);
	setenv("NOTIFY_SOCKET", sock, 1);
	arb_test_spawn(&p, "arbor", args);
	unsetenv("NOTIFY_SOCKET");
	assert_true(next_notify(
	    fd, &p, "STATUS=running: 2/2 actors running", 10000, NULL));
	assert_true(next_notify(fd, &p, "; down: root/c (", 10000, NULL));
	assert_true(next_notify(
	    fd, &p, "STATUS=degraded: 1/2 actors running", 10000, NULL));
	kill(p.pid, SIGTERM);
	assert_true(next_notify(fd, &p, "STOPPING=1", 10000, NULL));
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	arb_test_proc_fini(&p);
	close(fd);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_ready_watchdog_stopping),
	cmocka_unit_test(test_status_says_degraded),
};

ARB_TEST_MAIN("integration.notify", tests, helpers)
