// SPDX-License-Identifier: MIT
// harness_test.c -- tests of the process harness in tests/support
// (arb_test.c) against real helper processes: finding lines, timeouts,
// exit codes, the state a helper starts with, the cleanup that every
// other process test relies on, helpers that end with a test process
// that dies; ARB_WAIT_UNTIL; linkpeer's lp_connect_from.  It does not
// link libarbor, so it must not use ARB_PASS or ARB_FAIL.  Thread: main
// only.

#include "arb_test.h"
#include "linkpeer.h"

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// TIMEOUT_MS bounds waits that should finish at once: generous for
// loaded CI machines running under ASan, and still well inside CTest's 10 s.
#define TIMEOUT_MS 5000

// --- Helpers (run in the child) ----------------------------------------

// block_forever waits for signals until one kills the process.
static _Noreturn void
block_forever(void)
{
	for (;;) {
		pause();
	}
}

// echo prints its arguments one per line on stdout.
static int
helper_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		printf("%s\n", argv[i]);
	}
	return (0);
}

static int
helper_exit7(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return (7);
}

// block waits for a signal forever; the test must kill it.
static int
helper_block(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	arb_test_emit("blocking");
	block_forever();
}

// spawn_grandchild forks a child that reports its pid and then blocks, and
// says "ready" only once the grandchild has reported, so the test sees the
// two lines in that order.
static int
helper_spawn_grandchild(int argc, char **argv)
{
	int   sync[2];
	char  c;
	pid_t pid;

	(void) argc;
	(void) argv;
	if (pipe(sync) != 0) {
		arb_test_emit("pipe: %s", strerror(errno));
		return (1);
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		arb_test_emit("fork: %s", strerror(errno));
		return (1);
	}
	if (pid == 0) {
		close(sync[0]);
		arb_test_emit("grandchild pid=%d", (int) getpid());
		(void) write(sync[1], "x", 1);
		close(sync[1]);
		block_forever();
	}
	close(sync[1]);
	// Bounded: if the grandchild dies, read returns 0.
	if (read(sync[0], &c, 1) != 1) {
		arb_test_emit("grandchild died");
		return (1);
	}
	close(sync[0]);
	arb_test_emit("ready child=%d", (int) pid);
	block_forever();
}

// late prints "late" after 300 ms (a poll timeout, to make a test wait).
static int
helper_late(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	arb_test_emit("started");
	(void) poll(NULL, 0, 300);
	arb_test_emit("late");
	return (0);
}

// dir prints its ARB_TEST_DIR and tag, and leaves a file in a subdir of
// the dir, so that fini has a tree to remove.
static int
helper_dir(int argc, char **argv)
{
	char  path[512];
	FILE *f;

	(void) argc;
	(void) argv;
	snprintf(path, sizeof(path), "%s/sub", arb_test_dir());
	if (mkdir(path, 0700) != 0) {
		arb_test_emit("mkdir %s: %s", path, strerror(errno));
		return (1);
	}
	snprintf(path, sizeof(path), "%s/sub/file", arb_test_dir());
	f = fopen(path, "w");
	if (f == NULL) {
		arb_test_emit("fopen %s: %s", path, strerror(errno));
		return (1);
	}
	fputs("hello\n", f);
	fclose(f);
	arb_test_emit("dir=%s", arb_test_dir());
	arb_test_emit("tag=%s", getenv("ARB_TEST_TAG"));
	return (0);
}

// nest starts a helper of its own, reports it, and once the test has
// killed it, reaps and finalises it (which removes its temp dir).
static int
helper_nest(int argc, char **argv)
{
	arb_test_proc q;
	int           code;

	(void) argc;
	(void) argv;
	arb_test_spawn(&q, "block", NULL);
	arb_test_emit("inner pid=%d tag=%s", (int) q.pid, q.tag);
	arb_test_emit("inner dir=%s", q.dir);
	code = arb_test_exit_code(arb_test_wait_exit(&q, TIMEOUT_MS));
	arb_test_proc_fini(&q);
	arb_test_emit("inner code=%d", code);
	return (0);
}

// nest_abort starts a helper of its own, waits until it runs, reports
// it, and dies of SIGABRT (no core file) with it still running: a test
// process that dies outright, as at an assertion in C code or ctest's
// kill at its timeout, with no cleanup of its helpers.
static int
helper_nest_abort(int argc, char **argv)
{
	arb_test_proc q;
	struct rlimit none = { 0, 0 };

	(void) argc;
	(void) argv;
	arb_test_spawn(&q, "block", NULL);
	arb_test_expect(&q, "blocking", TIMEOUT_MS);
	arb_test_emit("inner pid=%d tag=%s", (int) q.pid, q.tag);
	(void) setrlimit(RLIMIT_CORE, &none);
	abort();
}

// parent_gone runs the helper "block" in this process, as a helper whose
// ARB_TEST_PARENT names a process other than its parent: the one that
// spawned it ended before the helper asked to end with it.
static int
helper_parent_gone(int argc, char **argv)
{
	char *const args[] = { (char *) "self", (char *) "--arb-helper",
		(char *) "block", NULL };

	(void) argc;
	(void) argv;
	if (setenv("ARB_TEST_PARENT", "1", 1) != 0) {
		arb_test_emit("setenv: %s", strerror(errno));
		return (1);
	}
	execv("/proc/self/exe", args);
	arb_test_emit("exec: %s", strerror(errno));
	return (1);
}

// status_hex returns the hex value of a "Name:\t<hex>" line of
// /proc/self/status, or ~0 if it is missing.
static unsigned long long
status_hex(const char *name)
{
	char               line[256];
	size_t             nlen = strlen(name);
	unsigned long long v = ~0ULL;
	FILE              *f = fopen("/proc/self/status", "r");

	if (f == NULL) {
		return (v);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, nlen) == 0 && line[nlen] == ':') {
			v = strtoull(line + nlen + 1, NULL, 16);
			break;
		}
	}
	fclose(f);
	return (v);
}

// state reports the process state a helper starts with.
static int
helper_state(int argc, char **argv)
{
	char    c;
	ssize_t n = read(STDIN_FILENO, &c, 1);
	int     fds = 0;
	int     fd;

	(void) argc;
	(void) argv;
	// Count open fds above stderr (fcntl, so no fd of our own is open).
	for (fd = STDERR_FILENO + 1; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			fds++;
		}
	}
	arb_test_emit("pid=%d pgid=%d", (int) getpid(), (int) getpgid(0));
	arb_test_emit("stdin=%zd", n);
	arb_test_emit("sigblk=%llx sigign=%llx", status_hex("SigBlk"),
	    status_hex("SigIgn"));
	arb_test_emit("extrafds=%d", fds);
	return (0);
}

// wait_never waits with ARB_WAIT_UNTIL, for argv[1] ms, on a condition
// that never holds, outside a cmocka test: its failure ends the process.
static int
helper_wait_never(int argc, char **argv)
{
	int polls = 0;

	(void) argc;
	ARB_WAIT_UNTIL(++polls < 0, atoi(argv[1]));
	printf("returned after %d polls\n", polls);
	return (0);
}

// connect_bad gives lp_connect_from a source that is no address, then a
// port that is none.
static int
helper_connect_bad(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	printf("rv=%d\n", lp_connect_from("127.0.0.300", 1));
	printf("rv=%d\n", lp_connect_from("127.0.0.7", 0));
	return (0);
}

// run_group runs a group of two tests with arb_test_run, its argument
// (if any) the filter: what a test binary's main does.
static void
group_test_one(void **state)
{
	(void) state;
}

static void
group_test_two(void **state)
{
	(void) state;
}

static int
helper_run_group(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_test_one),
		cmocka_unit_test(group_test_two),
	};

	return (ARB_TEST_RUN("support.filtered", tests, argc, argv));
}

// run_tidy runs a group whose first test, a tidy one (ARB_TEST_TIDY),
// makes its directory, starts a helper with a grandchild and fails; the
// second prints what the first left ("after tagged=N dir=PATH").
static char tidy_tag[64], tidy_dir[64];

static void
tidy_fails(void **state)
{
	arb_test_proc p;

	snprintf(tidy_dir, sizeof(tidy_dir), "%s",
	    arb_test_tidy_dir(state, "tidy"));
	arb_test_spawn(&p, "spawn_grandchild", NULL);
	arb_test_expect(&p, "ready", TIMEOUT_MS);
	memcpy(tidy_tag, p.tag, sizeof(tidy_tag));
	fail_msg("fails on purpose, its helper running");
}

static void
tidy_after(void **state)
{
	(void) state;
	arb_test_emit("after tagged=%d dir=%s",
	    arb_test_tagged(tidy_tag, NULL), tidy_dir);
}

static int
helper_run_tidy(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		ARB_TEST_TIDY(tidy_fails),
		cmocka_unit_test(tidy_after),
	};

	return (ARB_TEST_RUN("support.tidy", tests, argc, argv));
}

static const arb_test_helper helpers[] = {
	{ "echo", helper_echo },
	{ "exit7", helper_exit7 },
	{ "block", helper_block },
	{ "spawn_grandchild", helper_spawn_grandchild },
	{ "late", helper_late },
	{ "dir", helper_dir },
	{ "state", helper_state },
	{ "nest", helper_nest },
	{ "nest_abort", helper_nest_abort },
	{ "parent_gone", helper_parent_gone },
	{ "wait_never", helper_wait_never },
	{ "connect_bad", helper_connect_bad },
	{ "run_group", helper_run_group },
	{ "run_tidy", helper_run_tidy },
};

// --- Test utilities ----------------------------------------------------

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

// open_fds counts the test process's open fds.
static int
open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			n++;
		}
	}
	return (n);
}

// pid_gone_or_zombie is true if pid no longer exists or is a zombie
// (reparented to init, which reaps it on its own schedule).
static bool
pid_gone_or_zombie(pid_t pid)
{
	char  path[64];
	char  buf[512];
	char *rp;
	FILE *f;
	bool  z;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return (true);
	}
	z = fgets(buf, sizeof(buf), f) != NULL
	    && (rp = strrchr(buf, ')')) != NULL
	    && (rp[2] == 'Z' || rp[2] == 'X');
	fclose(f);
	return (z);
}

// wait_zombie waits (at most timeout_ms) until our child pid has exited,
// without reaping it: a pidfd becomes readable when its process exits.
static bool
wait_zombie(pid_t pid, int timeout_ms)
{
	struct pollfd pfd;
	int           rv;

	pfd.fd = (int) syscall(SYS_pidfd_open, pid, 0);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	rv = poll(&pfd, 1, timeout_ms);
	close(pfd.fd);
	return (rv == 1);
}

// --- Tests -------------------------------------------------------------

static void
test_expect_finds_lines_in_order(void **state)
{
	const char *const args[] = { "alpha", "bravo", "charlie", NULL };
	arb_test_proc     p;
	const char       *line;
	size_t            mark;

	(void) state;
	arb_test_spawn(&p, "echo", args);
	line = arb_test_expect(&p, "alpha", TIMEOUT_MS);
	assert_ptr_equal(line, p.out);
	assert_int_equal(strncmp(line, "alpha\n", 6), 0);
	assert_int_equal(p.mark, 6);
	line = arb_test_expect(&p, "charlie", TIMEOUT_MS);
	assert_int_equal(strncmp(line, "charlie\n", 8), 0);
	assert_int_equal(p.mark, strlen("alpha\nbravo\ncharlie\n"));
	// bravo came before the mark: it is not found again, and at EOF
	// try_expect doesn't wait out its timeout.
	assert_int_equal(arb_test_wait_exit(&p, TIMEOUT_MS), 0);
	mark = p.mark;
	assert_null(arb_test_try_expect(&p, "bravo", TIMEOUT_MS));
	assert_int_equal(p.mark, mark);
	// count looks at all output, from the start.
	assert_int_equal(arb_test_count(&p, "bravo"), 1);
	assert_int_equal(arb_test_count(&p, "a"), 3);
	assert_int_equal(arb_test_count(&p, "delta"), 0);
	assert_string_equal(p.out, "alpha\nbravo\ncharlie\n");
	arb_test_proc_fini(&p);
}

static void
test_try_expect_returns_null_at_deadline(void **state)
{
	arb_test_proc p;
	int64_t       t0;
	int64_t       dt;

	(void) state;
	arb_test_spawn(&p, "late", NULL);
	arb_test_expect(&p, "started", TIMEOUT_MS);
	t0 = now_ms();
	assert_null(arb_test_try_expect(&p, "late", 200));
	dt = now_ms() - t0;
	assert_in_range(dt, 100, 2000);
	// The helper is still fine and the line does come.
	assert_non_null(arb_test_expect(&p, "late", TIMEOUT_MS));
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);
	arb_test_proc_fini(&p);
}

// A filter runs the tests it selects; one that selects none fails the
// run, naming the filter and the tests there are, and runs nothing.
static void
test_filter_selecting_nothing_fails(void **state)
{
	arb_test_proc      p;
	const char *const  two[] = { "group_test_t*o", NULL };
	const char *const  renamed[] = { "group_test_renamed", NULL };

	(void) state;
	arb_test_spawn(&p, "run_group", two);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);
	assert_int_equal(arb_test_count(&p, "[       OK ] group_test_two"), 1);
	assert_int_equal(arb_test_count(&p, "group_test_one"), 0);
	arb_test_proc_fini(&p);

	arb_test_spawn(&p, "run_group", renamed);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 1);
	assert_int_equal(arb_test_count(&p,
	                     "arb_test: the filter 'group_test_renamed' "
	                     "(argument) selects none of the 2 tests of "
	                     "support.filtered:"),
	    1);
	assert_int_equal(arb_test_count(&p, "  group_test_one"), 1);
	assert_int_equal(arb_test_count(&p, "[ RUN"), 0);
	arb_test_proc_fini(&p);

	// The same from the environment, with no argument.
	assert_int_equal(setenv("ARB_TEST_FILTER", "*renamed*", 1), 0);
	arb_test_spawn(&p, "run_group", NULL);
	assert_int_equal(unsetenv("ARB_TEST_FILTER"), 0);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 1);
	assert_int_equal(
	    arb_test_count(&p, "the filter '*renamed*' (ARB_TEST_FILTER)"),
	    1);
	arb_test_proc_fini(&p);
}

static void
test_exit_code_is_reported(void **state)
{
	arb_test_proc p;
	int           st;

	(void) state;
	arb_test_spawn(&p, "exit7", NULL);
	st = arb_test_wait_exit(&p, TIMEOUT_MS);
	assert_true(p.exited);
	assert_int_equal(st, p.status);
	assert_true(WIFEXITED(st));
	assert_int_equal(arb_test_exit_code(st), 7);
	arb_test_proc_fini(&p);
}

static void
test_exit_code_of_signal_is_128_plus_signo(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "block", NULL);
	arb_test_expect(&p, "blocking", TIMEOUT_MS);
	assert_int_equal(kill(p.pid, SIGTERM), 0);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)),
	    128 + SIGTERM);
	arb_test_proc_fini(&p);
}

static void
test_unknown_helper_exits_99(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "no_such_helper", NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 99);
	assert_non_null(arb_test_expect(&p, "unknown helper", 0));
	arb_test_proc_fini(&p);
}

static void
test_helper_starts_in_own_group_with_clean_state(void **state)
{
	arb_test_proc      p;
	const char        *line;
	struct sigaction   ign;
	struct sigaction   old_pipe;
	sigset_t           block;
	sigset_t           old_mask;
	unsigned long long blk;
	unsigned long long sigign;
	int                leak;

	(void) state;
	// Spawn from a test process that ignores SIGPIPE, blocks SIGTERM and
	// holds an fd without FD_CLOEXEC: none of it may reach the helper.
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	leak = open("/dev/null", O_RDONLY); // deliberately not O_CLOEXEC
	assert_true(leak >= 0);
	arb_test_spawn(&p, "state", NULL);
	close(leak);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old_mask, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &old_pipe, NULL), 0);

	line = arb_test_expect(&p, "pgid=", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "pid"), p.pid);
	assert_int_equal(arb_test_field(line, "pgid"), p.pid);
	line = arb_test_expect(&p, "stdin=", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "stdin"), 0); // /dev/null: EOF
	line = arb_test_expect(&p, "sigblk=", TIMEOUT_MS);
	assert_int_equal(
	    sscanf(line, "sigblk=%llx sigign=%llx", &blk, &sigign), 2);
	assert_true(blk == 0);
	assert_true((sigign & (1ULL << (SIGPIPE - 1))) == 0);
	line = arb_test_expect(&p, "extrafds=", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "extrafds"), 0);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);
	arb_test_proc_fini(&p);
}

static void
test_tagged_sees_helper_and_grandchild(void **state)
{
	arb_test_proc p;
	arb_test_proc q;
	int           zombies = -1;

	(void) state;
	arb_test_spawn(&p, "block", NULL);
	// posix_spawn returns after the exec, so the tag is visible at once.
	assert_true(arb_test_tagged(p.tag, &zombies) >= 1);
	assert_int_equal(zombies, 0);

	arb_test_spawn(&q, "spawn_grandchild", NULL);
	assert_string_not_equal(p.tag, q.tag);
	arb_test_expect(&q, "ready", TIMEOUT_MS);
	assert_int_equal(arb_test_tagged(q.tag, &zombies), 2);
	assert_int_equal(zombies, 0);
	// Each helper counts only for its own tag.
	assert_int_equal(arb_test_tagged(p.tag, NULL), 1);
	assert_int_equal(arb_test_tagged("no-such-tag", NULL), 0);

	// An exited but unreaped helper still counts, as a zombie, and only
	// for its own tag.
	assert_int_equal(kill(p.pid, SIGKILL), 0);
	assert_true(wait_zombie(p.pid, TIMEOUT_MS));
	assert_int_equal(arb_test_tagged(p.tag, &zombies), 1);
	assert_int_equal(zombies, 1);
	assert_int_equal(arb_test_tagged(q.tag, NULL), 2);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)),
	    128 + SIGKILL);
	assert_int_equal(arb_test_tagged(p.tag, NULL), 0);

	arb_test_proc_fini(&q);
	assert_int_equal(arb_test_tagged(q.tag, NULL), 0);
	arb_test_proc_fini(&p);
}

static void
test_nested_helper_carries_both_tags(void **state)
{
	arb_test_proc p;
	const char   *line;
	const char   *t;
	char          inner[sizeof(p.tag)];
	long          ipid;

	(void) state;
	arb_test_spawn(&p, "nest", NULL);
	line = arb_test_expect(&p, "inner pid=", TIMEOUT_MS);
	ipid = arb_test_field(line, "pid");
	assert_true(ipid > 0);
	t = strstr(line, "tag=");
	assert_non_null(t);
	t += 4;
	assert_true(strcspn(t, "\n") < sizeof(inner));
	snprintf(inner, sizeof(inner), "%.*s", (int) strcspn(t, "\n"), t);
	assert_string_not_equal(inner, p.tag);
	// The inner helper belongs to both tags, in its own group.
	assert_int_equal(arb_test_tagged(p.tag, NULL), 2);
	assert_int_equal(arb_test_tagged(inner, NULL), 1);
	assert_int_equal(getpgid((pid_t) ipid), (pid_t) ipid);
	// Its dir is inside ours, so our fini would remove it in any case.
	line = arb_test_expect(&p, "inner dir=", TIMEOUT_MS);
	assert_int_equal(strncmp(line + 10, p.dir, strlen(p.dir)), 0);
	assert_int_equal(line[10 + strlen(p.dir)], '/');
	assert_int_equal(kill((pid_t) ipid, SIGKILL), 0);
	line = arb_test_expect(&p, "inner code=", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "code"), 128 + SIGKILL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);
	arb_test_proc_fini(&p);
	assert_int_equal(arb_test_tagged(inner, NULL), 0);
}

// A test process that dies outright takes its helpers with it: they end
// by SIGTERM when the process that spawned them ends (the kernel's
// parent-death signal), with nothing left to finalise them.
static void
test_helper_ends_with_a_test_that_dies(void **state)
{
	arb_test_proc p;
	const char   *line;
	const char   *t;
	char          inner[sizeof(p.tag)];

	(void) state;
	arb_test_spawn(&p, "nest_abort", NULL);
	line = arb_test_expect(&p, "inner pid=", TIMEOUT_MS);
	assert_true(arb_test_field(line, "pid") > 0);
	t = strstr(line, "tag=");
	assert_non_null(t);
	t += 4;
	assert_true(strcspn(t, "\n") < sizeof(inner));
	snprintf(inner, sizeof(inner), "%.*s", (int) strcspn(t, "\n"), t);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)),
	    128 + SIGABRT);
	// Its helper, now another process's child, ends too.
	assert_int_equal(arb_test_wait_tagged(inner, 0, TIMEOUT_MS), 0);
	arb_test_proc_fini(&p);
}

// A helper whose spawner is gone before it could ask to end with it
// ends at once, as the signal would have ended it.
static void
test_helper_whose_spawner_is_gone_ends(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "parent_gone", NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)),
	    128 + SIGTERM);
	assert_int_equal(arb_test_count(&p, "blocking"), 0);
	arb_test_proc_fini(&p);
}

static void
test_fini_kills_helper_and_grandchild(void **state)
{
	arb_test_proc p;
	char          tag[sizeof(p.tag)];
	const char   *line;
	long          gpid;
	int           zombies = -1;
	int           fds = open_fds();

	(void) state;
	arb_test_spawn(&p, "spawn_grandchild", NULL);
	line = arb_test_expect(&p, "grandchild pid=", TIMEOUT_MS);
	gpid = arb_test_field(line, "pid");
	assert_true(gpid > 0);
	line = arb_test_expect(&p, "ready", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "child"), gpid);
	assert_int_equal(getpgid((pid_t) gpid), p.pid);
	assert_int_equal(arb_test_tagged(p.tag, NULL), 2);
	memcpy(tag, p.tag, sizeof(tag));

	arb_test_proc_fini(&p); // neither ever exits by itself
	assert_int_equal(arb_test_tagged(tag, &zombies), 0);
	assert_int_equal(zombies, 0);
	assert_true(p.exited);
	assert_int_equal(arb_test_exit_code(p.status), 128 + SIGKILL);
	assert_true(pid_gone_or_zombie((pid_t) gpid));
	assert_null(p.out);
	assert_int_equal(p.fd, -1);
	assert_int_equal(open_fds(), fds);
	arb_test_proc_fini(&p); // harmless no-op
}

static void
test_wait_tagged_sees_group_go(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "spawn_grandchild", NULL);
	arb_test_expect(&p, "ready", TIMEOUT_MS);
	// Still two after a short wait: it returns the count at the deadline.
	assert_int_equal(arb_test_wait_tagged(p.tag, 0, 50), 2);
	assert_int_equal(kill(-p.pid, SIGKILL), 0);
	arb_test_wait_exit(&p, TIMEOUT_MS);
	assert_int_equal(arb_test_wait_tagged(p.tag, 0, TIMEOUT_MS), 0);
	arb_test_proc_fini(&p);
}

static void
test_field_parses_key_at_word_boundary(void **state)
{
	(void) state;
	assert_int_equal(arb_test_field("x ospid=123 y", "ospid"), 123);
	assert_int_equal(arb_test_field("ospid=9", "ospid"), 9);
	assert_int_equal(arb_test_field("x y", "ospid"), -1);
	assert_int_equal(arb_test_field("notospid=5", "ospid"), -1);
	assert_int_equal(arb_test_field("notospid=5 ospid=6", "ospid"), 6);
	assert_int_equal(arb_test_field("a,ospid=7,b", "ospid"), 7);
	assert_int_equal(arb_test_field("ospid=abc", "ospid"), -1);
	assert_int_equal(arb_test_field("ospid 3", "ospid"), -1);
	assert_int_equal(arb_test_field("ospid=", "ospid"), -1);
	// Only the first line is searched.
	assert_int_equal(arb_test_field("x\nospid=4\n", "ospid"), -1);
	assert_int_equal(arb_test_field("ospid=8\nospid=4\n", "ospid"), 8);
}

static void
test_temp_dir_exists_during_run_and_is_gone_after_fini(void **state)
{
	arb_test_proc p;
	const char   *line;
	char          dir[sizeof(p.dir)];
	char          path[sizeof(p.dir) + 16];
	struct stat   sb;

	(void) state;
	arb_test_spawn(&p, "dir", NULL);
	assert_true(strncmp(p.dir, "/tmp/", 5) == 0);
	line = arb_test_expect(&p, "dir=", TIMEOUT_MS);
	assert_int_equal(strncmp(line + 4, p.dir, strlen(p.dir)), 0);
	assert_int_equal(line[4 + strlen(p.dir)], '\n');
	line = arb_test_expect(&p, "tag=", TIMEOUT_MS);
	assert_int_equal(strncmp(line + 4, p.tag, strlen(p.tag)), 0);
	assert_int_equal(line[4 + strlen(p.tag)], '\n');
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);

	assert_int_equal(stat(p.dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/sub/file", p.dir);
	assert_int_equal(stat(path, &sb), 0);
	memcpy(dir, p.dir, sizeof(dir));

	arb_test_proc_fini(&p);
	assert_int_equal(stat(dir, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_tags_and_dirs_are_unique(void **state)
{
	arb_test_proc p;
	arb_test_proc q;

	(void) state;
	arb_test_spawn(&p, "exit7", NULL);
	arb_test_spawn(&q, "exit7", NULL);
	assert_string_not_equal(p.tag, q.tag);
	assert_string_not_equal(p.dir, q.dir);
	arb_test_wait_exit(&p, TIMEOUT_MS);
	arb_test_wait_exit(&q, TIMEOUT_MS);
	arb_test_proc_fini(&q);
	arb_test_proc_fini(&p);
}

// ARB_WAIT_UNTIL evaluates its condition until it holds, and no more;
// at least once, even with no time to wait.
static void
test_wait_until_returns_once_the_condition_holds(void **state)
{
	int n = 0;

	(void) state;
	ARB_WAIT_UNTIL(++n >= 5, TIMEOUT_MS);
	assert_int_equal(n, 5);
	ARB_WAIT_UNTIL(++n >= 0, 0);
	assert_int_equal(n, 6);
}

// ... and once ms have passed without it, fails the test naming it.
static void
test_wait_until_fails_naming_the_condition(void **state)
{
	arb_test_proc p;
	const char   *args[] = { "200", NULL };
	int64_t       t0 = arb_test_now_ms();

	(void) state;
	arb_test_spawn(&p, "wait_never", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 255);
	assert_true(arb_test_now_ms() - t0 >= 200);
	assert_int_equal(
	    arb_test_count(&p, "ERROR: timed out waiting for ++polls < 0"), 1);
	assert_int_equal(arb_test_count(&p, "returned"), 0);
	arb_test_proc_fini(&p);
}

// lp_connect_from connects from the source address it is given; -1 when
// nothing listens, and a line that names a bad address or port.
static void
test_connect_from_binds_the_source_address(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t          len = sizeof(a);
	arb_test_proc      p;
	int                l, c, s, port;

	(void) state;
	assert_true((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *) &a, &len), 0);
	port = ntohs(a.sin_port);
	assert_true((c = lp_connect_from("127.0.0.7", port)) >= 0);
	len = sizeof(a);
	assert_true((s = accept(l, (struct sockaddr *) &a, &len)) >= 0);
	assert_string_equal(inet_ntoa(a.sin_addr), "127.0.0.7");
	close(s);
	close(c);
	close(l);
	assert_int_equal(lp_connect_from("127.0.0.7", port), -1);

	arb_test_spawn(&p, "connect_bad", NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 0);
	assert_int_equal(arb_test_count(&p, "rv=-1"), 2);
	assert_int_equal(arb_test_count(&p,
	                     "lp_connect_from: bad address 127.0.0.300 or "
	                     "port 1"),
	    1);
	assert_int_equal(arb_test_count(&p,
	                     "lp_connect_from: bad address 127.0.0.7 or "
	                     "port 0"),
	    1);
	arb_test_proc_fini(&p);
}

// A tidy test (ARB_TEST_TIDY) that fails part-way leaves nothing behind
// for the tests after it: its helper and the helper's grandchild are
// killed and its directory is gone before the next test starts.
static void
test_a_tidy_test_that_fails_leaves_nothing(void **state)
{
	arb_test_proc p;
	const char   *line;
	char          dir[64] = "";
	bool          there;

	(void) state;
	arb_test_spawn(&p, "run_tidy", NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, TIMEOUT_MS)), 1);
	assert_int_equal(arb_test_count(&p, "[  FAILED  ] tidy_fails"), 2);
	line = arb_test_expect(&p, "after tagged=", TIMEOUT_MS);
	assert_int_equal(arb_test_field(line, "tagged"), 0);
	assert_int_equal(sscanf(strstr(line, " dir=") + 5, "%63s", dir), 1);
	assert_non_null(strstr(dir, "/tmp/arbor-tidy-"));
	there = access(dir, F_OK) == 0;
	assert_int_equal(arb_test_rmtree(dir), 0); // (if it was there)
	assert_false(there);
	assert_int_equal(arb_test_count(&p, "killing it after its test"), 1);
	assert_int_equal(arb_test_count(&p, "left by its test"), 1);
	arb_test_proc_fini(&p);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expect_finds_lines_in_order),
		cmocka_unit_test(test_try_expect_returns_null_at_deadline),
		cmocka_unit_test(test_exit_code_is_reported),
		cmocka_unit_test(test_filter_selecting_nothing_fails),
		cmocka_unit_test(test_exit_code_of_signal_is_128_plus_signo),
		cmocka_unit_test(test_unknown_helper_exits_99),
		cmocka_unit_test(
		    test_helper_starts_in_own_group_with_clean_state),
		cmocka_unit_test(test_tagged_sees_helper_and_grandchild),
		cmocka_unit_test(test_nested_helper_carries_both_tags),
		cmocka_unit_test(test_helper_ends_with_a_test_that_dies),
		cmocka_unit_test(test_helper_whose_spawner_is_gone_ends),
		cmocka_unit_test(test_fini_kills_helper_and_grandchild),
		cmocka_unit_test(test_wait_tagged_sees_group_go),
		cmocka_unit_test(test_field_parses_key_at_word_boundary),
		cmocka_unit_test(
		    test_temp_dir_exists_during_run_and_is_gone_after_fini),
		cmocka_unit_test(test_tags_and_dirs_are_unique),
		cmocka_unit_test(
		    test_wait_until_returns_once_the_condition_holds),
		cmocka_unit_test(test_wait_until_fails_naming_the_condition),
		cmocka_unit_test(test_connect_from_binds_the_source_address),
		cmocka_unit_test(test_a_tidy_test_that_fails_leaves_nothing),
	};

	arb_test_helper_main(
	    argc, argv, helpers, sizeof(helpers) / sizeof(helpers[0]));
	return (ARB_TEST_RUN("support.harness", tests, argc, argv));
}
