// SPDX-License-Identifier: MIT
// driver_test.c -- the child drivers keep the contract of driver.h.
//
// Every driver fills the operations a supervisor calls without checking
// (start, stop, kill, close, info); the optional ones are there exactly
// where the isolation needs them (reaped for children with a process of
// their own, exit_signal for actors that can be linked to, prepare and
// idle for thread actors); each names its isolation and its pids' kind.
// What a driver does with a real child is tested by the integration
// tests (10_spawn_reap, 20_strategies, 40_signals, 50_messages).

#include "arb_test.h"

#include "supervisor/sup_rt.h"

#include <string.h>

typedef struct want {
	const arb__driver *d;
	const char        *name;
	unsigned           kind;
	bool               timed_start, heartbeat, watchdog;
	bool               reaped, exit_signal, prepare, idle, end;
} want;

static void
test_drivers_fill_their_table(void **state)
{
	const want wants[] = {
		{ &arb__drv_thread, "thread", ARB__KIND_THREAD, true, true,
		    false, false, true, true, true, true },
		{ &arb__drv_process, "process", ARB__KIND_PROCESS, true, true,
		    true, true, true, false, false, true },
		{ &arb__drv_exec, "exec", ARB__KIND_EXEC, true, false, false,
		    true, false, false, false, false },
		// A nested supervisor: no deadline of its own, no actor.
		{ &arb__drv_sup, "supervisor", ARB__KIND_NODE, false, false,
		    false, false, false, false, false, false },
	};
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const arb__driver *d = wants[i].d;

		assert_string_equal(d->name, wants[i].name);
		assert_int_equal(d->pid_kind, wants[i].kind);
		assert_int_equal(d->timed_start, wants[i].timed_start);
		assert_int_equal(d->heartbeat, wants[i].heartbeat);
		assert_int_equal(d->watchdog, wants[i].watchdog);
		assert_non_null(d->start);
		assert_non_null(d->stop);
		assert_non_null(d->kill);
		assert_non_null(d->close);
		assert_non_null(d->info);
		assert_int_equal(d->reaped != NULL, wants[i].reaped);
		assert_int_equal(d->exit_signal != NULL, wants[i].exit_signal);
		assert_int_equal(d->prepare != NULL, wants[i].prepare);
		assert_int_equal(d->idle != NULL, wants[i].idle);
		assert_int_equal(d->end != NULL, wants[i].end);
		assert_int_equal(d->fini != NULL, d == &arb__drv_sup);
		// A watchdog needs heartbeats to feed it.
		assert_true(!d->watchdog || d->heartbeat);
	}
}

static void
test_close_and_kill_of_nothing_are_harmless(void **state)
{
	static const char *const argv[] = { "/bin/true", NULL };
	const arb__driver *const ds[]   = { &arb__drv_thread, &arb__drv_process,
		  &arb__drv_exec };
	arb__child     c;
	arb_child_info in;
	int64_t        hb = -1;
	size_t         i;

	(void) state;
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.pidfd  = -1;
		c.ctl_fd = -1;
		c.drv    = ds[i];
		// Nothing was started: close twice, kill, stop change nothing.
		ds[i]->close(&c);
		ds[i]->close(&c);
		ds[i]->kill(&c);
		ds[i]->stop(&c);
		assert_int_equal(c.ospid, 0);
		assert_int_equal(c.pidfd, -1);
		assert_int_equal(c.ctl_fd, -1);
		assert_null(c.thr);
	}
	// An exec child is described by its program.
	memset(&c, 0, sizeof(c));
	memset(&in, 0, sizeof(in));
	c.spec.argv = argv;
	arb__drv_exec.info(&c, &in, &hb);
	assert_string_equal(in.type, "/bin/true");
	assert_int_equal(hb, -1); // no heartbeat
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drivers_fill_their_table),
		cmocka_unit_test(test_close_and_kill_of_nothing_are_harmless),
	};

	return ARB_TEST_RUN("supervisor.driver", tests, argc, argv);
}
