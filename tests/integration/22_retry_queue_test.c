// SPDX-License-Identifier: MIT
// 22_retry_queue_test.c -- restarts that arrive while a supervisor's job
// runs wait in its retry queue and run when the job ends.  When several
// are queued and the first one's restart completes at once (an exec child
// is READY as soon as exec succeeded), the nested end of that job drains
// the rest of the queue: the outer loop must notice.  It did not, and the
// node died of a memmove of (0 - 1) entries: the SIGSEGV of issue 8's
// crash hunt (found by tests/stress/restart_ops.sh under ASan).
//
// Each test runs a node in a helper process (this binary re-executed) and
// reads its log lines; arb_test_proc_fini checks that no process tagged
// for the test is left, alive or zombie.

#include "arb_test.h"
#include "probe.h"

#include <signal.h>
#include <string.h>

// --- helpers (run in the child) -------------------------------------------

// Two exec children that exit 150 ms after each start, and a thread child
// whose READY comes 600 ms after its start: the two exits arrive while the
// initial start job waits for it, so both restarts are queued, and both
// complete synchronously when that job ends.
static int
h_two_queued(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"sleep 0.15; exit 3", NULL };
	const arb_child_spec     c[]  = {
                { .name = "e1", .isolation = ARB_EXEC, .argv = sh },
                { .name = "e2", .isolation = ARB_EXEC, .argv = sh },
                PROBE_CHILD("slow", ARB_THREAD, "init=late:600"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3,
		.intensity = 100, .period_ms = 1000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "two_queued", h_two_queued },
};

// --- tests -------------------------------------------------------------------

// wait_count reads the helper's output until needle has appeared n times
// (at most timeout_ms), and fails the test otherwise.
static void
wait_count(arb_test_proc *p, const char *needle, int n, int timeout_ms)
{
	int64_t dl = arb_test_now_ms() + timeout_ms;

	while (arb_test_count(p, needle) < n && arb_test_now_ms() < dl &&
	    p->fd >= 0) {
		arb_test_try_expect(p, "\x01never", 10);
	}
	if (arb_test_count(p, needle) < n) {
		fail_msg("\"%s\" seen %d times, not %d; output:\n%s", needle,
		    arb_test_count(p, needle), n, p->out);
	}
}

static void
test_queued_restarts_completing_at_once_are_all_run(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "two_queued", NULL);
	// Both exits arrive during the start job and are queued; when it
	// ends, both restart, the second from inside the end of the first
	// one's job.
	wait_count(&p, "root/e1 event=exit reason=error{code=3", 1, 5000);
	wait_count(&p, "root/e2 event=exit reason=error{code=3", 1, 5000);
	wait_count(&p, "root/e1 event=started isolation=exec", 2, 5000);
	wait_count(&p, "root/e2 event=started isolation=exec", 2, 5000);
	wait_count(&p, "root event=tree_up", 1, 5000);
	kill(p.pid, SIGTERM);
	if (arb_test_exit_code(arb_test_wait_exit(&p, 10000)) != 0) {
		fail_msg("the node ended with status %d; output:\n%s",
		    arb_test_exit_code(p.status), p.out);
	}
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_queued_restarts_completing_at_once_are_all_run),
};

ARB_TEST_MAIN("integration.22_retry_queue", tests, helpers)
