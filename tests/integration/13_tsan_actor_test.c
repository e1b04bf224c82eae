// SPDX-License-Identifier: MIT
// 13_tsan_actor_test.c -- in a ThreadSanitizer build, a race report in a
// process actor fails the node's process, as one in the node does
// (core/sanitizer.c, docs/design.md "Known limitations"): the actor ends
// with TSan's exit status 66, after a normal end and after an abnormal
// one alike (actor/process.c), and the node logs event=sanitizer_report
// and exits 66 although its tree stopped cleanly.  Other builds skip it.
//
// The actor type "racer" races on purpose in init: a thread of its own
// writes a variable and raises a relaxed flag, which orders nothing, and
// the actor's loop thread then reads the variable (as tests/ci/
// tsan_race.c does).  Its stop request ends it with shutdown ("normal")
// or error{5} ("error").

#include "arb_test.h"
#include "probe.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD 1
#endif
#endif
#ifndef TSAN_BUILD
#define TSAN_BUILD 0
#endif

// --- the racer actor (runs in the actor's process) --------------------------

static int        racy;    // the racing variable
static atomic_int written; // relaxed only: no happens-before

static void *
racer_thread(void *arg)
{
	racy = 1;
	atomic_store_explicit(&written, 1, memory_order_relaxed);
	return arg;
}

static int
racer_init(arb_ctx *ctx, void **statep, const void *arg, size_t arg_len)
{
	pthread_t t;
	int64_t   deadline = arb_test_now_ms() + 10000;
	int       seen;

	(void) ctx;
	(void) arg_len;
	*statep = (void *) (strcmp(arg, "error") == 0 ? "error" : "normal");
	if (pthread_create(&t, NULL, racer_thread, NULL) != 0) {
		return ARB_ENOMEM;
	}
	while (atomic_load_explicit(&written, memory_order_relaxed) == 0
	    && arb_test_now_ms() < deadline) {
		sched_yield();
	}
	seen = racy; // races with racer_thread's store
	pthread_join(t, NULL);
	return seen == 1 ? ARB_OK : ARB_ETIMEDOUT;
}

static void
racer_stop(arb_ctx *ctx, void *state)
{
	if (strcmp(state, "error") == 0) {
		arb_actor_exit_error(ctx, 5, "an abnormal end, rehearsed");
	} else {
		const arb_exit why = { .kind = ARB_EXIT_SHUTDOWN };
		arb_actor_exit(ctx, &why);
	}
}

static const arb_actor_ops racer_ops = {
	.type = "racer",
	.init = racer_init,
	.stop = racer_stop,
};

static const arb_actor_ops *const types[] = { &racer_ops, NULL };

// --- helpers (run in the child) -------------------------------------------

static int
h_racers(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "normal",
		    .isolation = ARB_PROCESS,
		    .type = "racer",
		    .arg = "normal",
		    .arg_len = sizeof("normal") },
		{ .name = "error",
		    .isolation = ARB_PROCESS,
		    .type = "racer",
		    .arg = "error",
		    .arg_len = sizeof("error") },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "racers", h_racers },
};

// --- tests ---------------------------------------------------------------

static void
test_race_in_process_actor_fails_the_node(void **state)
{
	arb_test_proc p;

	(void) state;
	if (!TSAN_BUILD) {
		skip(); // only ThreadSanitizer reports races
	}
	arb_test_spawn(&p, "racers", NULL);
	arb_test_expect(&p, "event=tree_up", 30000);
	kill(p.pid, SIGTERM);
	// The tree stopped cleanly; the process's status is TSan's.
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, 30000)), 66);
	assert_non_null(strstr(p.out, "node exit_code=0"));
	assert_non_null(strstr(p.out, "WARNING: ThreadSanitizer: data race"));
	assert_int_equal(arb_test_count(&p, "event=sanitizer_report"), 2);
	assert_int_equal(
	    arb_test_count(&p, "root/normal event=sanitizer_report"), 1);
	assert_int_equal(
	    arb_test_count(&p, "root/error event=sanitizer_report"), 1);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_race_in_process_actor_fails_the_node),
};

ARB_TEST_MAIN_TYPES("integration.tsan_actor", tests, helpers, types)
