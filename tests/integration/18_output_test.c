// SPDX-License-Identifier: MIT
// 18_output_test.c -- exec children's stdout and stderr become log lines
// of their path (issue 8, output.c): escaped, each stream on its own, a
// last line without "\n" kept; at a bounded rate, every line over it
// counted and reported; a child that writes more than the pipe holds
// is never stalled.

#include "arb_test.h"
#include "probe.h"

#include "node/node_int.h" // ARB__OUT_RATE, ARB__OUT_BURST

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD_LINES 400000 // `seq`: 2.7 MB, more than twice the pipe

// --- helpers (run in the child) -------------------------------------------

static int
h_lines(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"printf 'a\\tb\\001\\r\\nsecond\\n'; printf 'on stderr\\n' >&2; "
		"printf 'tail-without-newline'",
		NULL };
	const arb_child_spec c[] = {
		{ .name = "o", .isolation = ARB_EXEC, .argv = sh,
		    .restart = ARB_TEMPORARY },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_flood(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"seq 1 400000; exit 7", NULL };
	const arb_child_spec c[] = {
		{ .name = "flood", .isolation = ARB_EXEC, .argv = sh,
		    .restart = ARB_TEMPORARY },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_burst(int argc, char **argv)
{
	// A burst over the limit, then silence: the child lives on.
	static const char *const sh[] = { "/bin/sh", "-c",
		"seq 1 3000; exec sleep 1000", NULL };
	const arb_child_spec c[] = {
		{ .name = "burst", .isolation = ARB_EXEC, .argv = sh },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "lines", h_lines },
	{ "flood", h_flood },
	{ "burst", h_burst },
};

// --- the tests --------------------------------------------------------------

static void
test_lines_are_prefixed_and_escaped(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "lines", NULL);
	arb_test_expect(&p, "root/o event=exit reason=normal", 10000);
	assert_int_equal(
	    arb_test_count(&p, "root/o event=output stream=stdout | a\tb\\x01"),
	    1);
	assert_int_equal(
	    arb_test_count(&p, "root/o event=output stream=stdout | second"), 1);
	assert_int_equal(
	    arb_test_count(&p, "root/o event=output stream=stderr | on stderr"),
	    1);
	// Read to the end when the child ended: the last line has no "\n".
	assert_int_equal(arb_test_count(&p, "root/o event=output stream=stdout "
	                                    "| tail-without-newline"),
	    1);
	assert_int_equal(arb_test_count(&p, "event=output "), 4);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

// sum_dropped adds up the lines= of every output_dropped line of path.
static long
sum_dropped(arb_test_proc *p, const char *path, int *reports)
{
	char        needle[96];
	const char *l;
	long        sum = 0;

	snprintf(needle, sizeof(needle), "%s event=output_dropped ", path);
	*reports = 0;
	for (l = strstr(p->out, needle); l != NULL; l = strstr(l + 1, needle)) {
		sum += arb_test_need_field(l, "lines");
		(*reports)++;
	}
	return sum;
}

static void
test_flood_is_limited_counted_and_never_stalls(void **state)
{
	arb_test_proc p;
	int64_t       t0, ms;
	long          logged, dropped;
	int           reports;

	(void) state;
	arb_test_spawn(&p, "flood", NULL);
	arb_test_expect(&p, "root/flood event=started", 10000);
	t0 = arb_test_now_ms();
	// The child writes 2.7 MB and exits: it is never left blocked on a
	// full pipe.
	arb_test_expect(&p, "root/flood event=exit reason=error{code=7", 20000);
	ms = arb_test_now_ms() - t0;
	print_message("[ TIME     ] %d lines written and the child ended in "
	              "%lld ms\n",
	    FLOOD_LINES, (long long) ms);
	// In order, from the first.
	assert_non_null(strstr(p.out, "root/flood event=output stream=stdout | 1\n"));
	// At most the burst and the rate meanwhile are logged...
	logged = arb_test_count(&p, "root/flood event=output stream=stdout | ");
	assert_true(logged >= ARB__OUT_BURST);
	assert_true(logged <= ARB__OUT_BURST +
	                          ARB__OUT_RATE * (ms / 1000 + 2));
	// ...and every other line is counted: nothing is lost unsaid.
	dropped = sum_dropped(&p, "root/flood", &reports);
	print_message("[ COUNT    ] logged %ld, dropped and counted %ld\n",
	    logged, dropped);
	assert_int_equal(logged + dropped, FLOOD_LINES);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static void
test_drops_are_reported_while_the_child_is_quiet(void **state)
{
	arb_test_proc p;
	long          logged = 0, dropped = 0;
	int           reports = 0, i;

	(void) state;
	arb_test_spawn(&p, "burst", NULL);
	arb_test_expect(&p, "root/burst event=started", 10000);
	// Within a second of the drops (at most one report a second), though
	// nothing more comes: every line is logged or counted while the child
	// still runs.
	for (i = 0; i < 5 && logged + dropped < 3000; i++) {
		arb_test_expect(&p, "root/burst event=output_dropped ", 3000);
		dropped = sum_dropped(&p, "root/burst", &reports);
		logged  = arb_test_count(&p, "root/burst event=output stream=stdout | ");
	}
	assert_int_equal(logged + dropped, 3000);
	assert_int_equal(arb_test_count(&p, "root/burst event=exit"), 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Nothing was dropped since: no report more.
	sum_dropped(&p, "root/burst", &i);
	assert_int_equal(i, reports);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_lines_are_prefixed_and_escaped),
	cmocka_unit_test(test_flood_is_limited_counted_and_never_stalls),
	cmocka_unit_test(test_drops_are_reported_while_the_child_is_quiet),
};

ARB_TEST_MAIN("integration.output", tests, helpers)
