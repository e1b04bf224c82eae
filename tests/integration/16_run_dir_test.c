// SPDX-License-Identifier: MIT
// 16_run_dir_test.c -- run directories (issue 8): the run directory of
// a SIGKILLed node, or of one that exited 71, with its socket files, is
// removed by the next node that starts in the same base; a live node's
// never (rundir.c).

#include "arb_test.h"
#include "probe.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// --- helpers (run in the child) -------------------------------------------

// h_node: a node whose run directory is made under argv[1].
static int
h_node(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("t", ARB_THREAD, "init=ok"),
		PROBE_CHILD("p", ARB_PROCESS, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	if (argc < 2) {
		return 99;
	}
	setenv("XDG_RUNTIME_DIR", argv[1], 1);
	return arb_test_node_main(&s);
}

// h_abandon: a node under argv[1] whose thread actor never answers its
// stop: abandoned, exit 71, its run directory left (threads may use it).
static int
h_abandon(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("p", ARB_PROCESS, "init=ok"),
		{ .name = "t", .isolation = ARB_THREAD, .type = "probe",
		    .arg = "stop=never", .arg_len = sizeof("stop=never"),
		    .shutdown_ms = 200 },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	if (argc < 2) {
		return 99;
	}
	setenv("XDG_RUNTIME_DIR", argv[1], 1);
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "node", h_node },
	{ "abandon", h_abandon },
};

// --- the tests --------------------------------------------------------------

// start runs helper's node in base and copies its run directory into dir.
static void
start_helper(arb_test_proc *p, const char *helper, const char *base,
    char *dir, size_t len)
{
	const char *const args[] = { base, NULL };
	const char       *l, *d;

	arb_test_spawn(p, helper, args);
	l = arb_test_expect(p, "event=node_start", 10000);
	d = strstr(l, "run_dir=") + 8;
	snprintf(dir, len, "%.*s", (int) strcspn(d, " \n"), d);
	arb_test_expect(p, "event=tree_up", 10000);
}

static void
start(arb_test_proc *p, const char *base, char *dir, size_t len)
{
	start_helper(p, "node", base, dir, len);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
test_next_start_removes_a_killed_nodes_run_dir(void **state)
{
	arb_test_proc live, killed, next;
	char          base[128], dlive[512], dkilled[512], dnext[512];
	char          old[256], other[256], needle[600];

	(void) state;
	arb_test_mkdtemp(base, sizeof(base), "rundir");
	// A directory of a live process that holds no lock (a node of an
	// older arbor): its pid lives, it stays.  Not one of ours: stays.
	snprintf(old, sizeof(old), "%s/arbor-%d-abcdef", base, (int) getpid());
	snprintf(other, sizeof(other), "%s/arbor-x", base);
	assert_int_equal(mkdir(old, 0700), 0);
	assert_int_equal(mkdir(other, 0700), 0);
	start(&live, base, dlive, sizeof(dlive));
	start(&killed, base, dkilled, sizeof(dkilled));
	kill(killed.pid, SIGKILL);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&killed, 10000)),
	    128 + SIGKILL);
	assert_true(exists(dkilled)); // with its socket files
	arb_test_proc_fini(&killed);
	start(&next, base, dnext, sizeof(dnext));
	snprintf(needle, sizeof(needle), "event=run_dir_cleaned dir=%s ", dkilled);
	assert_int_equal(arb_test_count(&next, needle), 1);
	assert_false(exists(dkilled));
	assert_int_equal(arb_test_count(&next, "event=run_dir_cleaned"), 1);
	assert_true(exists(dlive));
	assert_true(exists(old));
	assert_true(exists(other));
	// The live node is untouched: it stops cleanly, removing its own.
	kill(live.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&live, 10000)), 0);
	assert_false(exists(dlive));
	kill(next.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&next, 10000)), 0);
	assert_false(exists(dnext));
	arb_test_proc_fini(&live);
	arb_test_proc_fini(&next);
	assert_int_equal(rmdir(old), 0);
	assert_int_equal(rmdir(other), 0);
	assert_int_equal(rmdir(base), 0);
}

// $XDG_RUNTIME_DIR naming no directory (a file) is not the base of the
// run directory, as it is not the control socket's (paths.c): /tmp is.
// A writable file stopped the node ("cannot open the node: Not a
// directory", exit 70); arbor check had said ok.
static void
test_xdg_runtime_dir_that_is_no_directory(void **state)
{
	arb_test_proc p;
	char          base[128], file[192], dir[512];
	FILE         *f;

	(void) state;
	arb_test_mkdtemp(base, sizeof(base), "rundir");
	snprintf(file, sizeof(file), "%s/file", base);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	start(&p, file, dir, sizeof(dir));
	if (strncmp(dir, "/tmp/arbor-", 11) != 0) {
		fail_msg("XDG_RUNTIME_DIR=%s: run_dir=%s", file, dir);
	}
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_false(exists(dir));
	arb_test_proc_fini(&p);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(base), 0);
}

static void
test_next_start_removes_an_abandoning_nodes_run_dir(void **state)
{
	arb_test_proc ab, next;
	char          base[128], dab[512], dnext[512], needle[600];

	(void) state;
	arb_test_mkdtemp(base, sizeof(base), "rundir");
	start_helper(&ab, "abandon", base, dab, sizeof(dab));
	kill(ab.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&ab, 10000)),
	    ARB_EXIT_UNCLEAN);
	assert_true(exists(dab));
	arb_test_proc_fini(&ab);
	start(&next, base, dnext, sizeof(dnext));
	snprintf(needle, sizeof(needle), "event=run_dir_cleaned dir=%s ", dab);
	assert_int_equal(arb_test_count(&next, needle), 1);
	assert_false(exists(dab));
	kill(next.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&next, 10000)), 0);
	assert_false(exists(dnext));
	arb_test_proc_fini(&next);
	assert_int_equal(rmdir(base), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_next_start_removes_a_killed_nodes_run_dir),
	cmocka_unit_test(test_next_start_removes_an_abandoning_nodes_run_dir),
	cmocka_unit_test(test_xdg_runtime_dir_that_is_no_directory),
};

ARB_TEST_MAIN("integration.run_dir", tests, helpers)
