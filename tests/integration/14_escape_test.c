// SPDX-License-Identifier: MIT
// 14_escape_test.c -- nothing escapes the tree (SPEC 12, issue 8): every
// descendant of an exec child or a process actor dies with the node, whether the node is
// SIGKILLed or stops in order, whatever the descendant does (a background
// job in the child's group, a double fork, setsid, SIGTERM ignored).
//
// Each scenario runs twice: with the node's cgroup v2 sub-cgroups
// (cgroup.kill) when the machine lets the node create one, and with
// ARBOR_CGROUP=off, where the exec children's shims and the process
// actors' guards find descendants through /proc.  A run says which path
// it took (the node's event=cgroup line); a machine without a usable
// cgroup2 runs the fallback twice.
// Checked in /proc: the escapee's /proc/PID is gone (no zombie either),
// and no process tagged for the test is left (arb_test_proc_fini).

#include "arb_test.h"
#include "probe.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// --- helpers (run in the child) -------------------------------------------

// cg_mode: argv[1] "on" (cgroups when the machine allows) or "off".
static void
cg_mode(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "off") == 0) {
		setenv("ARBOR_CGROUP", "off", 1);
	}
}

static int
h_background(int argc, char **argv)
{
	// The exec child's own shell waits on a background sleep in its
	// process group: the field report's `sh -c "sleep 1000 & wait"`.
	static const char *const sh[] = { "/bin/sh", "-c",
		"sleep 1000 & echo bg=$!; wait", NULL };
	const arb_child_spec     c[]  = {
                { .name = "sh", .isolation = ARB_EXEC, .argv = sh },
                PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	cg_mode(argc, argv);
	return arb_test_node_main(&s);
}

static int
h_daemon(int argc, char **argv)
{
	// A grandchild that double-forks, calls setsid and ignores SIGTERM
	// (SIG_IGN survives exec): re-parented to the shim (its subreaper),
	// in a session and group of its own.  The exec child itself waits.
	static const char *const sh[] = { "/bin/sh", "-c",
		"( trap '' TERM; setsid sh -c 'echo esc=$$; exec sleep 1000' & ); "
		"exec sleep 1000",
		NULL };
	const arb_child_spec c[] = {
		{ .name = "d", .isolation = ARB_EXEC, .argv = sh },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	cg_mode(argc, argv);
	return arb_test_node_main(&s);
}

static int
h_actor_daemon(int argc, char **argv)
{
	// A process actor (arbor code, no shim) that leaves a daemon behind.
	const arb_child_spec c[] = {
		PROBE_CHILD("p", ARB_PROCESS, "init=ok;daemon=1"),
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	cg_mode(argc, argv);
	return arb_test_node_main(&s);
}

static int
h_join_fails(int argc, char **argv)
{
	// Two exec children whose cgroup join fails: this helper's
	// $ARBOR_SHIM is a wrapper that hands the real shim a directory
	// that is no cgroup (what the node made stays unused), so each
	// program's join fails as it could after the cgroup was made.
	static const char *const sh[] = { "/bin/sh", "-c",
		"sleep 1000 & echo bg=$!; wait", NULL };
	const arb_child_spec     c[]  = {
                { .name = "a", .isolation = ARB_EXEC, .argv = sh },
                { .name = "b", .isolation = ARB_EXEC, .argv = sh },
                PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };
	char               text[8192], path[4096];

	(void) argc;
	(void) argv;
	snprintf(text, sizeof(text),
	    "#!/bin/sh\n"
	    "# test wrapper: the shim gets a cgroup path it cannot join\n"
	    "node=$1\n"
	    "shift 2\n"
	    "exec '%s' \"$node\" '%s' \"$@\"\n",
	    ARB_TEST_SHIM, arb_test_dir());
	arb_test_write_file(arb_test_dir(), "shim-wrap", text, path, sizeof(path));
	if (chmod(path, 0755) != 0) {
		return 1;
	}
	setenv("ARBOR_SHIM", path, 1);
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "background", h_background },
	{ "daemon", h_daemon },
	{ "actor_daemon", h_actor_daemon },
	{ "join_fails", h_join_fails },
};

// --- the tests --------------------------------------------------------------

// ppid_of reads pid's parent from /proc/PID/stat (-1: gone).
static pid_t
ppid_of(pid_t pid)
{
	char  path[64], buf[512], *q;
	FILE *f;
	int   ppid = -1;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((f = fopen(path, "re")) == NULL) {
		return -1;
	}
	n      = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if ((q = strrchr(buf, ')')) == NULL || sscanf(q + 1, " %*c %d", &ppid) != 1) {
		return -1;
	}
	return (pid_t) ppid;
}

// node_cgroup reads which path the node took from its event=cgroup line,
// says it, and stores the node's cgroup directory in dir ("" when off).
static void
node_cgroup(arb_test_proc *p, const char *asked, char *dir, size_t len)
{
	const char *l = arb_test_expect(p, "event=cgroup mode=", 10000);
	const char *end = strchr(l, '\n');
	const char *d;

	dir[0] = '\0';
	if (strncmp(strstr(l, "mode=") + 5, "on", 2) == 0) {
		d = strstr(l, "dir=") + 4;
		snprintf(dir, len, "%.*s", (int) strcspn(d, " \n"), d);
	}
	print_message("[ PATH     ] asked cgroup=%s: %.*s\n", asked,
	    (int) (end - l), l);
}

// cgroup_remove removes what a SIGKILLed node left of its cgroup (its
// sub-cgroups are empty once its processes are gone): nothing is left
// behind by a test.
static void
cgroup_remove(const char *dir)
{
	DIR           *d;
	struct dirent *de;
	char           sub[8192];

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type == DT_DIR && de->d_name[0] == 'c') {
			assert_true(snprintf(sub, sizeof(sub), "%s/%s", dir,
			                de->d_name) < (int) sizeof(sub));
			assert_int_equal(rmdir(sub), 0);
		}
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

// gone waits until /proc/pid is gone (not even a zombie) or deadline_ms
// (monotonic) passes.
static bool
gone(long pid, int64_t deadline_ms)
{
	char        path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	while (stat(path, &st) == 0) {
		if (arb_test_now_ms() >= deadline_ms) {
			return false;
		}
		usleep(2000); // polling /proc: there is no event to wait on
	}
	return true;
}

// sigkill_all SIGKILLs p's node and checks that within 1 s the pids
// in esc[0..n), and every process tagged for p, are gone from /proc
// (zombies included); then it removes what the node left of cgroup dir
// cg ("" none) and finalises p.
static void
sigkill_all(arb_test_proc *p, const long *esc, size_t n, const char *mode,
    const char *cg)
{
	int64_t t0 = arb_test_now_ms();
	size_t  i;
	int     left, own_ms = 1000;

#if defined(__SANITIZE_THREAD__)
	// Under TSan the node's own processes (a process actor, the
	// standby) were gone from /proc 1.02-1.03 s after the SIGKILL in
	// every run here (tens of ms without TSan): they get 3 s under TSan;
	// the escapees must still be gone within 1 s.
	own_ms = 3000;
#endif

	kill(p->pid, SIGKILL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(p, 1000)), 128 + SIGKILL);
	for (i = 0; i < n; i++) {
		assert_true(gone(esc[i], t0 + 1000));
	}
	left = arb_test_wait_tagged(p->tag, 0, (int) (t0 + own_ms - arb_test_now_ms()));
	if (left != 0) {
		fail_msg("%d processes of the node still alive %d ms after its "
		         "SIGKILL (cgroup %s)",
		    left, own_ms, mode);
	}
	print_message("[ TIME     ] all gone %lld ms after the SIGKILL\n",
	    (long long) (arb_test_now_ms() - t0));
	cgroup_remove(cg);
	arb_test_proc_fini(p);
}

static void
sigkill_background(const char *mode)
{
	const char *const args[] = { mode, NULL };
	arb_test_proc     p;
	char              cg[4096];
	long              bg;

	arb_test_spawn(&p, "background", args);
	node_cgroup(&p, mode, cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0; // the child's output may come before tree_up
	bg = arb_test_field(arb_test_expect(&p, "bg=", 10000), "bg");
	assert_true(bg > 0);
	// Within 1 s of the SIGKILL: the sleep, the shell and the shim are
	// gone from /proc, zombies included.
	sigkill_all(&p, &bg, 1, mode, cg);
}

static void
test_sigkill_kills_background_job_cgroup(void **state)
{
	(void) state;
	sigkill_background("on");
}

static void
test_sigkill_kills_background_job_nocgroup(void **state)
{
	(void) state;
	sigkill_background("off");
}

static void
stop_daemon(const char *mode)
{
	const char *const args[] = { mode, NULL };
	arb_test_proc     p;
	char              cg[4096], needle[96];
	long              esc;

	arb_test_spawn(&p, "daemon", args);
	node_cgroup(&p, mode, cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	esc = arb_test_field(arb_test_expect(&p, "esc=", 10000), "esc");
	assert_true(esc > 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Killed and logged, by pid, before the node said it stopped.
	snprintf(needle, sizeof(needle), "root/d event=killed_descendant ospid=%ld ",
	    esc);
	assert_int_equal(arb_test_count(&p, needle), 1);
	assert_true(strstr(p.out, needle) < strstr(p.out, "event=node_exit"));
	assert_non_null(strstr(p.out, "exit_code=0 requested=yes"));
	// The node reaped what its shim left: nothing, not even a zombie.
	assert_true(gone(esc, arb_test_now_ms() + 1000));
	if (cg[0] != '\0') {
		// An orderly stop removes the node's cgroups.
		struct stat st;
		assert_int_not_equal(stat(cg, &st), 0);
	}
	arb_test_proc_fini(&p);
}

static void
test_stop_kills_setsid_daemon_cgroup(void **state)
{
	(void) state;
	stop_daemon("on");
}

static void
test_stop_kills_setsid_daemon_nocgroup(void **state)
{
	(void) state;
	stop_daemon("off");
}

// shim_of waits until pid's parent is an arbor-shim (deadline_ms,
// monotonic) and returns it; -1 when it never was.
static long
shim_of(long pid, int64_t deadline_ms)
{
	char  path[64], comm[32] = "";
	FILE *f;
	pid_t pp;

	for (;;) {
		if ((pp = ppid_of((pid_t) pid)) > 0) {
			snprintf(path, sizeof(path), "/proc/%d/comm", (int) pp);
			if ((f = fopen(path, "re")) != NULL) {
				if (fgets(comm, sizeof(comm), f) == NULL) {
					comm[0] = '\0';
				}
				fclose(f);
			}
			if (strcmp(comm, "arbor-shim\n") == 0) {
				return (long) pp;
			}
		}
		if (arb_test_now_ms() >= deadline_ms) {
			return -1;
		}
		usleep(2000); // polling /proc: there is no event to wait on
	}
}

static void
test_stop_sweeps_what_a_killed_shim_left(void **state)
{
	const char *const args[] = { "off", NULL };
	arb_test_proc     p;
	char              cg[4096], needle[96];
	long              esc, shim;

	(void) state;
	// Without cgroups, a shim SIGKILLed itself cannot kill the daemon
	// it guarded: the daemon (another session) comes to the node, its
	// subreaper, which kills, reaps and logs it at the orderly stop.
	arb_test_spawn(&p, "daemon", args);
	node_cgroup(&p, "off", cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	esc = arb_test_field(arb_test_expect(&p, "esc=", 10000), "esc");
	assert_true(esc > 0);
	// Its parent is the shim once the subshell that forked it is gone.
	shim = shim_of(esc, arb_test_now_ms() + 5000);
	assert_true(shim > 0 && shim != p.pid);
	assert_int_equal(kill((pid_t) shim, SIGKILL), 0);
	// The child is restarted (a new daemon); the first one is the
	// node's now.
	arb_test_expect(&p, "root/d event=exit reason=crashed{signal=SIGKILL}", 10000);
	arb_test_expect(&p, "root/d event=started", 10000);
	arb_test_expect(&p, "esc=", 10000);
	assert_int_equal((long) ppid_of((pid_t) esc), (long) p.pid);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	snprintf(needle, sizeof(needle), "event=killed_leftover ospid=%ld ", esc);
	assert_int_equal(arb_test_count(&p, needle), 1);
	assert_true(strstr(p.out, needle) < strstr(p.out, "event=node_exit"));
	assert_true(gone(esc, arb_test_now_ms() + 1000));
	arb_test_proc_fini(&p);
}

static void
sigkill_actor_daemon(const char *mode)
{
	const char *const args[] = { mode, NULL };
	arb_test_proc     p;
	char              cg[4096];
	long              d;

	// A process actor has no shim (nor a cgroup of its own): it is a
	// subreaper itself, and its guard kills what it left, found through
	// /proc, when the node dies, with or without the node's cgroups.
	arb_test_spawn(&p, "actor_daemon", args);
	node_cgroup(&p, mode, cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	d = arb_test_need_field(
	    arb_test_expect(&p, "probe path=root/p event=daemon", 10000),
	    "daemon");
	assert_true(d > 0);
	// Within 1 s: the daemon, the actor and the standby are gone from
	// /proc, zombies included.
	sigkill_all(&p, &d, 1, mode, cg);
}

static void
test_sigkill_kills_process_actors_daemon_cgroup(void **state)
{
	(void) state;
	sigkill_actor_daemon("on");
}

static void
test_sigkill_kills_process_actors_daemon_nocgroup(void **state)
{
	(void) state;
	sigkill_actor_daemon("off");
}

static void
test_stop_sweeps_a_process_actors_daemon(void **state)
{
	arb_test_proc p;
	char          cg[4096], needle[96];
	long          d;

	(void) state;
	// A process actor's own daemon (another session, SIGTERM ignored)
	// comes to the node, its subreaper: the orderly stop kills, reaps and
	// logs it before the node says it stopped.
	arb_test_spawn(&p, "actor_daemon", NULL);
	node_cgroup(&p, "on", cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	d = arb_test_need_field(
	    arb_test_expect(&p, "probe path=root/p event=daemon", 10000),
	    "daemon");
	assert_true(d > 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	snprintf(needle, sizeof(needle), "event=killed_leftover ospid=%ld ", d);
	assert_int_equal(arb_test_count(&p, needle), 1);
	assert_true(strstr(p.out, needle) < strstr(p.out, "event=node_exit"));
	assert_true(gone(d, arb_test_now_ms() + 1000));
	arb_test_proc_fini(&p);
}

static void
test_unkillable_leftover_exits_71(void **state)
{
	const char *const args[] = { "off", NULL };
	arb_test_proc     p;
	char              cg[4096], needle[96];
	long              d;
	int               st;
	pid_t             w;

	(void) state;
	// A descendant that outlives its SIGKILL: a process traced by
	// someone outside the tree (this test, PTRACE_SEIZE) dies, but its
	// zombie is shown to the tracer only, so its parent (the node, once
	// the actor it escaped from has ended) cannot reap it and /proc
	// keeps it, as it would keep one stuck in the kernel.  The stop
	// must not be called clean: leftover_alive is logged, exit 71.
	arb_test_spawn(&p, "actor_daemon", args);
	node_cgroup(&p, "off", cg, sizeof(cg));
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	d = arb_test_need_field(
	    arb_test_expect(&p, "probe path=root/p event=daemon", 10000),
	    "daemon");
	assert_true(d > 0);
	if (ptrace(PTRACE_SEIZE, (pid_t) d, NULL, NULL) != 0) {
		int e = errno;
		kill(p.pid, SIGTERM);
		arb_test_wait_exit(&p, 10000);
		arb_test_proc_fini(&p);
		print_message("[ SKIP     ] this machine does not let the test "
		              "trace a process (ptrace: %s): the exit-71 path "
		              "is not tested here\n",
		    strerror(e));
		skip();
	}
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 71);
	snprintf(needle, sizeof(needle), "event=killed_leftover ospid=%ld ", d);
	assert_int_equal(arb_test_count(&p, needle), 1);
	snprintf(needle, sizeof(needle), "event=leftover_alive ospid=%ld ", d);
	assert_int_equal(arb_test_count(&p, needle), 1);
	assert_true(strstr(p.out, needle) < strstr(p.out, "event=node_exit"));
	assert_non_null(
	    strstr(p.out, "exit_code=71 requested=yes abandoned=0 "
	                  "leftovers_alive=yes"));
	assert_null(strstr(p.out, "exit_code=0"));
	// The tracer takes the zombie's status; then its parent (init, now
	// that the node is gone) reaps it.
	do {
		w = waitpid((pid_t) d, &st, __WALL);
	} while (w < 0 && errno == EINTR);
	assert_int_equal(w, (pid_t) d);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(gone(d, arb_test_now_ms() + 5000));
	arb_test_proc_fini(&p);
}

static void
test_failed_cgroup_join_falls_back(void **state)
{
	arb_test_proc p;
	long          bg[2];
	int           i;

	(void) state;
	// A program that cannot join the cgroup made for it starts anyway
	// (the failure said once per node), and its descendants are found
	// through /proc: they die with a SIGKILLed node as before.
	arb_test_spawn(&p, "join_fails", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	for (i = 0; i < 2; i++) {
		bg[i] = arb_test_field(arb_test_expect(&p, "bg=", 10000), "bg");
		assert_true(bg[i] > 0);
	}
	assert_int_equal(arb_test_count(&p, "event=cgroup_join_failed "), 1);
	assert_int_equal(arb_test_count(&p, "event=start_failed"), 0);
	sigkill_all(&p, bg, 2, "joins failed", "");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_sigkill_kills_background_job_cgroup),
	cmocka_unit_test(test_sigkill_kills_background_job_nocgroup),
	cmocka_unit_test(test_stop_kills_setsid_daemon_cgroup),
	cmocka_unit_test(test_stop_kills_setsid_daemon_nocgroup),
	cmocka_unit_test(test_stop_sweeps_what_a_killed_shim_left),
	cmocka_unit_test(test_stop_sweeps_a_process_actors_daemon),
	cmocka_unit_test(test_sigkill_kills_process_actors_daemon_cgroup),
	cmocka_unit_test(test_sigkill_kills_process_actors_daemon_nocgroup),
	cmocka_unit_test(test_unkillable_leftover_exits_71),
	cmocka_unit_test(test_failed_cgroup_join_falls_back),
};

ARB_TEST_MAIN("integration.escape", tests, helpers)
