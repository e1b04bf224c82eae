// SPDX-License-Identifier: MIT
// 10_spawn_reap_test.c -- real child processes: start, stop in order, exit
// reasons, kill after the shutdown timeout, start failures, reaping
// (children, grandchildren, SIGKILL of the node).  SPEC 4, 5, 9, 12, 13,
// 17.
//
// Each test runs a node in a helper process (this binary re-executed) and
// reads its log lines; arb_test_proc_fini checks that no process tagged
// for the test is left, alive or zombie.

#include "arb_test.h"
#include "probe.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// --- helpers (run in the child) -------------------------------------------

static int
h_basic(int argc, char **argv)
{
	static const char *const sleeper[] = { "/bin/sleep", "1000", NULL };
	const arb_child_spec     c[]       = {
                PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
                PROBE_CHILD("b", ARB_THREAD, "init=ok"),
                { .name = "c", .isolation = ARB_EXEC, .argv = sleeper },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_grandchild(int argc, char **argv)
{
	// The shell leaves a grandchild behind in its process group and
	// exits 3: error{code=3}; the grandchild must be killed and reaped.
	static const char *const sh[] = { "/bin/sh", "-c",
		"sleep 1000 & echo gc=$!; exit 3", NULL };
	const arb_child_spec     c[]  = {
                { .name = "sh", .isolation = ARB_EXEC, .argv = sh,
                    .restart = ARB_TEMPORARY },
                PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_reasons(int argc, char **argv)
{
	static const char *const t[]   = { "/bin/true", NULL };
	static const char *const e5[]  = { "/bin/sh", "-c", "exit 5", NULL };
	static const char *const seg[] = { "/bin/sh", "-c", "kill -SEGV $$",
		NULL };
	const arb_child_spec     c[]   = {
                { .name = "ok", .isolation = ARB_EXEC, .argv = t,
                    .restart = ARB_TEMPORARY },
                { .name = "five", .isolation = ARB_EXEC, .argv = e5,
                    .restart = ARB_TEMPORARY },
                { .name = "segv", .isolation = ARB_EXEC, .argv = seg,
                    .restart = ARB_TEMPORARY },
                { .name = "pcrash", .isolation = ARB_PROCESS, .type = "probe",
                    .arg = "exit_after=30;exit=crash:6",
                    .arg_len = sizeof("exit_after=30;exit=crash:6"),
                    .restart = ARB_TEMPORARY },
                { .name = "perr", .isolation = ARB_PROCESS, .type = "probe",
                    .arg = "exit_after=30;exit=error:9",
                    .arg_len = sizeof("exit_after=30;exit=error:9"),
                    .restart = ARB_TEMPORARY },
                PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 6 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_stubborn(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"trap '' TERM; echo trapped; while :; do sleep 1; done", NULL };
	const arb_child_spec     c[]  = {
                { .name = "pnever", .isolation = ARB_PROCESS, .type = "probe",
                    .arg = "stop=never", .arg_len = sizeof("stop=never"),
                    .shutdown_ms = 300 },
                { .name = "shell", .isolation = ARB_EXEC, .argv = sh,
                    .shutdown_ms = 300 },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_never_ready(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("first", ARB_PROCESS, "init=ok"),
		{ .name = "sleepy", .isolation = ARB_PROCESS, .type = "probe",
		    .arg = "init=never", .arg_len = sizeof("init=never"),
		    .start_timeout_ms = 300 },
		PROBE_CHILD("never_started", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_missing_exe(int argc, char **argv)
{
	static const char *const nx[] = { "/nonexistent/arbor-test", NULL };
	const arb_child_spec     c[]  = {
                { .name = "ghost", .isolation = ARB_EXEC, .argv = nx },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 1 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_slow_start(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("first", ARB_THREAD, "init=ok"),
		{ .name = "slow", .isolation = ARB_PROCESS, .type = "probe",
		    .arg = "init=late:30000", .arg_len = sizeof("init=late:30000"),
		    .start_timeout_ms = 60000 },
		PROBE_CHILD("never_started", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// A node whose `changed` hook stalls the node thread once, right after
// the child's first restart was spawned: the new process fails its init
// and exits during the stall, so the reap loop (still running for the
// first exit) collects it before its control channel was read.
static bool stalled;

static void
stall_walk(const arb_child_info *in, void *arg)
{
	(void) arg;
	if (strcmp(in->name, "c") == 0 && in->state == ARB_STATE_STARTING &&
	    in->restarts == 1 && !stalled) {
		struct timespec ts = { 0, 300 * 1000 * 1000 };

		stalled = true;
		arb_test_emit("stall begins");
		nanosleep(&ts, NULL); // the injected fault, not a wait
	}
}

static void
stall_changed(arb_node *node, void *arg)
{
	(void) arg;
	arb_node_walk(node, stall_walk, NULL);
}

static int
h_reap_race(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "c", .isolation = ARB_PROCESS, .type = "probe",
		    .arg = "init=fail_after_first;exit_after=30",
		    .arg_len = sizeof("init=fail_after_first;exit_after=30") },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 1,
		.intensity = 4, .period_ms = 60000 };
	arb_node_hooks     hooks = { .changed = stall_changed };
	arb_node_opts      o     = { .name = "test" };
	arb_node          *node;
	int                code = -1;

	(void) argc;
	(void) argv;
	if (arb_node_open(&node, &o) != 0) {
		return 99;
	}
	arb_node_set_hooks(node, &hooks, NULL);
	arb_node_run(node, &s, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d", code);
	return code;
}

static const arb_test_helper helpers[] = {
	{ "slow_start", h_slow_start },
	{ "basic", h_basic },
	{ "grandchild", h_grandchild },
	{ "reasons", h_reasons },
	{ "stubborn", h_stubborn },
	{ "never_ready", h_never_ready },
	{ "missing_exe", h_missing_exe },
	{ "reap_race", h_reap_race },
};

// --- tests ---------------------------------------------------------------

static void
test_sigterm_stops_in_reverse_order_and_exits_0(void **state)
{
	arb_test_proc p;
	const char   *l;
	size_t        a, b, c;

	(void) state;
	arb_test_spawn(&p, "basic", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	l = strstr(p.out, "root/c event=stopped");
	assert_non_null(l);
	c = (size_t) (l - p.out);
	l = strstr(p.out, "root/b event=stopped");
	assert_non_null(l);
	b = (size_t) (l - p.out);
	l = strstr(p.out, "root/a event=stopped");
	assert_non_null(l);
	a = (size_t) (l - p.out);
	assert_true(c < b && b < a); // reverse start order
	assert_non_null(strstr(p.out, "node exit_code=0"));
	arb_test_proc_fini(&p);
}

static void
test_sigkill_of_node_kills_children(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "basic", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	assert_true(arb_test_tagged(p.tag, NULL) >= 3); // node, a, c
	kill(p.pid, SIGKILL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 128 + SIGKILL);
	// PDEATHSIG (and EOF on the control channel) take the children.
	assert_int_equal(arb_test_wait_tagged(p.tag, 0, 5000), 0);
	arb_test_proc_fini(&p);
}

static void
test_exec_grandchild_killed_and_reaped(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          gc;
	char          path[64];
	struct stat   st;
	int           i;

	(void) state;
	arb_test_spawn(&p, "grandchild", NULL);
	l  = arb_test_expect(&p, "gc=", 10000);
	gc = strtol(strstr(l, "gc=") + 3, NULL, 10);
	assert_true(gc > 0);
	arb_test_expect(&p, "root/sh event=exit reason=error{code=3", 10000);
	snprintf(path, sizeof(path), "/proc/%ld", gc);
	// Killed with its process group and reaped by the subreaper node:
	// no /proc entry left, not even a zombie.
	for (i = 0; i < 500 && stat(path, &st) == 0; i++) {
		arb_test_try_expect(&p, "\x01never", 10);
	}
	assert_int_not_equal(stat(path, &st), 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static void
test_exit_reasons_are_structured(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "reasons", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0; // some exits come before the tree is up
	arb_test_expect(&p, "root/ok event=exit reason=normal", 10000);
	p.mark = 0;
	arb_test_expect(&p, "root/five event=exit reason=error{code=5", 10000);
	p.mark = 0;
	arb_test_expect(
	    &p, "root/segv event=exit reason=crashed{signal=SIGSEGV}", 10000);
	p.mark = 0;
	arb_test_expect(
	    &p, "root/pcrash event=exit reason=crashed{signal=SIGABRT}", 10000);
	p.mark = 0;
	arb_test_expect(&p, "root/perr event=exit reason=error{code=9", 10000);
	// Every abnormal exit is logged exactly once, with the decision.
	assert_int_equal(arb_test_count(&p, "root/five event=exit"), 1);
	assert_int_equal(arb_test_count(&p, "root/pcrash event=exit"), 1);
	assert_int_equal(
	    arb_test_count(&p, "root/perr event=exit reason=error{code=9,"
	                       "text=\"probe error\"} decision=remove"),
	    1);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static void
test_children_ignoring_stop_are_killed_after_timeout(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "stubborn", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p, "trapped", 10000); // the shell ignores TERM now
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "root/shell event=stop_deadline shutdown_ms=300",
	    5000);
	arb_test_expect(&p, "root/shell event=stopped reason=killed", 5000);
	arb_test_expect(&p, "root/pnever event=stop_deadline", 5000);
	arb_test_expect(&p, "root/pnever event=stopped reason=killed", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static void
test_child_never_ready_fails_the_start(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "never_ready", NULL);
	arb_test_expect(&p, "root/sleepy event=start_failed reason=error{"
	                    "code=7,text=\"start_timeout",
	    10000);
	// The started child is stopped, the later one never started.
	arb_test_expect(&p, "root/first event=stopped", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_SOFTWARE);
	assert_int_equal(arb_test_count(&p, "never_started event=init"), 0);
	arb_test_proc_fini(&p);
}

static void
test_missing_executable_fails_the_start(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "missing_exe", NULL);
	arb_test_expect(&p, "root/ghost event=start_failed", 10000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_SOFTWARE);
	arb_test_proc_fini(&p);
}

static void
test_stop_requested_during_start_exits_0(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "slow_start", NULL);
	// The tree is not up yet: "slow" is still in its init.
	arb_test_expect(&p, "probe path=root/slow event=init", 10000);
	kill(p.pid, SIGTERM);
	// A requested stop is a requested stop, even during the start: the
	// starting child is stopped, the rest never starts, exit 0.
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	assert_int_equal(arb_test_count(&p, "event=tree_up"), 0);
	assert_int_equal(arb_test_count(&p, "never_started event=init"), 0);
	assert_non_null(strstr(p.out, "root/first event=stopped"));
	arb_test_proc_fini(&p);
}

static void
test_reap_before_control_keeps_the_restarted_process(void **state)
{
	arb_test_proc p;
	const char   *l, *end;
	int           fails = 0;

	(void) state;
	arb_test_spawn(&p, "reap_race", NULL);
	arb_test_expect(&p, "stall begins", 10000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 20000)),
	    ARB_EXIT_SOFTWARE);
	// Every failed start after the first exit is the probe's own init
	// failure (read from its control channel): a new process was never
	// taken for the one reaped before it (which killed it unseen).
	for (l = strstr(p.out, "event=start_failed"); l != NULL;
	     l = strstr(end, "event=start_failed")) {
		end = strchr(l, '\n');
		assert_non_null(end);
		if (memmem(l, (size_t) (end - l), "init: ", 6) == NULL) {
			fail_msg("a start failed for another reason: %.*s",
			    (int) (end - l), l);
		}
		fails++;
	}
	assert_true(fails >= 1); // (repeated lines are folded in the log)
	// Five processes ran their init: the first, then one per restart
	// until the fifth restart exceeds intensity 4.
	assert_int_equal(arb_test_count(&p, "probe path=root/c event=init "), 5);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_stop_requested_during_start_exits_0),
	cmocka_unit_test(test_sigterm_stops_in_reverse_order_and_exits_0),
	cmocka_unit_test(test_sigkill_of_node_kills_children),
	cmocka_unit_test(test_exec_grandchild_killed_and_reaped),
	cmocka_unit_test(test_exit_reasons_are_structured),
	cmocka_unit_test(test_children_ignoring_stop_are_killed_after_timeout),
	cmocka_unit_test(test_child_never_ready_fails_the_start),
	cmocka_unit_test(test_missing_executable_fails_the_start),
	cmocka_unit_test(test_reap_before_control_keeps_the_restarted_process),
};

ARB_TEST_MAIN("integration.spawn_reap", tests, helpers)
