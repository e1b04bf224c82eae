// SPDX-License-Identifier: MIT
// arb_test.h -- test support: cmocka includes, ARB_PASS/ARB_FAIL, and a
// harness for tests that run real processes (libuv's spawn_helper style:
// a test re-executes its own binary with a helper name).
//
// Every wait has a deadline; nothing here sleeps to synchronise.
// Thread: the test's main thread (the harness keeps unlocked process-wide
// state), except arb_test_emit and arb_test_dir, which are Thread: any.

#ifndef ARB_TEST_H
#define ARB_TEST_H

// cmocka.h requires these first.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

// ARB_PASS fails the test with the arbor error text unless expr is 0.
#define ARB_PASS(expr)                                                        \
	do {                                                                  \
		int arb__rv = (expr);                                         \
		if (arb__rv != 0) {                                           \
			fail_msg("%s: %s (%s)", #expr, arb_strerror(arb__rv), \
			    arb_err_name(arb__rv));                           \
		}                                                             \
	} while (0)

// ARB_FAIL fails the test unless expr returns exactly err.
#define ARB_FAIL(expr, err)                                                   \
	do {                                                                  \
		int arb__rv = (expr);                                         \
		if (arb__rv != (err)) {                                       \
			fail_msg("%s: expected %s, got %s", #expr,            \
			    arb_err_name(err), arb_err_name(arb__rv));        \
		}                                                             \
	} while (0)

// arb_test_now_ms reads CLOCK_MONOTONIC in milliseconds (for deadlines).
// Thread: any.
int64_t arb_test_now_ms(void);

// ARB_WAIT_UNTIL polls cond every millisecond until it holds, and fails
// the test naming cond if it does not hold within ms milliseconds (on the
// monotonic clock): a bounded wait on state that other threads change
// without telling the test.  cond is evaluated at least once.
#define ARB_WAIT_UNTIL(cond, ms)                                              \
	do {                                                                  \
		int64_t arb__wu_dl = arb_test_now_ms() + (ms);                \
		while (!(cond)) {                                             \
			if (arb_test_now_ms() > arb__wu_dl) {                 \
				fail_msg("timed out waiting for %s", #cond);  \
			}                                                     \
			poll(NULL, 0, 1);                                     \
		}                                                             \
	} while (0)

// --- Child helpers --------------------------------------------------------

typedef int (*arb_test_helper_fn)(int argc, char **argv);

typedef struct arb_test_helper {
	const char        *name;
	arb_test_helper_fn fn;
} arb_test_helper;

// arb_test_helper_main runs a helper when argv is
// "<self> --arb-helper NAME [args...]": it calls the helper's function
// with (argc, argv) shifted so that argv[0] is NAME, flushes stdio and
// exits with its return value.  An unknown or missing NAME prints a line
// to stderr and exits 99.  Before the helper runs, it asks the kernel for
// SIGTERM when the process that spawned it ends (PR_SET_PDEATHSIG), and
// ends as that SIGTERM would if that process is gone already (its
// ARB_TEST_PARENT is not its parent): a test that dies outright -- an
// abort, ctest's kill at its timeout -- leaves no helper running.  The
// setting lasts across an exec (arb_test_exec), not into the helper's own
// children.  Otherwise it returns and the test binary continues.  Call
// it first thing in main().
void arb_test_helper_main(
    int argc, char **argv, const arb_test_helper *helpers, size_t n);

// arb_test_run runs the cmocka group `tests` (n of them) named group, or
// the tests of it that a filter selects, and returns what cmocka returns
// (the number of tests that failed).  Every test binary's main ends in it
// (through ARB_TEST_RUN).  The filter is argv[1] when argc > 1 (a ctest
// entry that runs some of a binary's tests: "test_frames_*"), else
// ARB_TEST_FILTER from the environment (to repeat one case of a group
// while hunting an intermittent failure); an empty one selects every
// test.  It is a shell pattern matched against the whole test name
// (fnmatch).  A filter that selects no test is an error, not a run of
// nothing that passes (a test renamed under a ctest entry that names
// it): arb_test_run then prints the filter and the group's test names to
// stderr and returns 1 without running anything.
int arb_test_run(const char *group, const struct CMUnitTest *tests,
    size_t n, int argc, char **argv);

#define ARB_TEST_RUN(group, tests, argc, argv)                                \
	arb_test_run(                                                         \
	    (group), (tests), sizeof(tests) / sizeof((tests)[0]), argc, argv)

// A running helper process.  Its stdout and stderr go to one pipe that the
// harness reads into `out` (NUL-terminated) as lines arrive.
typedef struct arb_test_proc {
	pid_t  pid;
	int    fd;      // read end of the output pipe, -1 after EOF
	char  *out;     // everything the helper printed so far
	size_t len;
	size_t cap;
	size_t mark;    // arb_test_expect searches from here
	bool   exited;
	int    status;  // raw wait status once exited
	char   tag[64]; // ARB_TEST_TAG=tag in the environment of the helper
	                // and of everything it starts
	char   dir[64]; // ARB_TEST_DIR of the helper (0700, under /tmp, or
	                // under the spawner's own ARB_TEST_DIR in a helper);
	                // still set after fini, when the dir is gone
} arb_test_proc;

// arb_test_spawn starts "<self> --arb-helper helper args..." in its own
// process group (so a test can play the terminal and send SIGINT to the
// group), with a unique ARB_TEST_TAG and ARB_TEST_DIR (a fresh private
// temp dir, removed by arb_test_proc_fini) and ARB_TEST_PARENT, the
// caller's pid (the helper ends with the caller: arb_test_helper_main).  args is NULL-terminated or
// NULL.  The helper's stdout and stderr are the pipe, its stdin is
// /dev/null, its signal mask is empty, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
// SIGPIPE and SIGCHLD are SIG_DFL, and it has no other fds.  *p needs no
// initialisation; on success p->out is an empty string.  Every successful
// spawn must be matched by arb_test_proc_fini.  Fails the test on error.
//
// Descendants are found through ARB_TEST_TAG, so whatever the helper starts
// must inherit its environment (a child given a fresh envp escapes the
// leak check).  /proc/PID/environ shows the environment a process was
// exec'd with, so unsetenv() in a helper hides nothing.  A helper's own
// arb_test_spawn helpers carry both its tag and their own (the new
// ARB_TEST_TAG entry comes first, so getenv returns it).
void arb_test_spawn(
    arb_test_proc *p, const char *helper, const char *const *args);

// arb_test_expect waits (at most timeout_ms, on the monotonic clock) until
// a complete line (one ending in '\n') containing needle appears at or
// after the mark, moves the mark past that line's '\n' and returns a
// pointer to the line's start inside p->out.  The line ends at its '\n',
// not at a NUL.  The pointer is valid only until the next call that reads
// output (every function here that takes p), because reading may realloc
// p->out: copy what you need, or parse it with arb_test_field first.
// On timeout, or when the output ends (EOF) without a match, it kills the
// helper's group and cleans up p as arb_test_proc_fini would (the test's
// own fini won't run after the failure), then fails the test with the
// needle and everything the helper printed.
const char *arb_test_expect(
    arb_test_proc *p, const char *needle, int timeout_ms);

// arb_test_try_expect is arb_test_expect that returns NULL, and leaves the
// mark and the helper alone, on timeout or EOF.  It returns at EOF without
// waiting out the timeout.
const char *arb_test_try_expect(
    arb_test_proc *p, const char *needle, int timeout_ms);

// arb_test_count counts complete lines containing needle in all output
// read so far, ignoring the mark.  It doesn't read.
int arb_test_count(arb_test_proc *p, const char *needle);

// arb_test_wait_exit waits (at most timeout_ms) for the helper to exit and
// reaps it, reading its output meanwhile, then reads until EOF for at most
// 500 ms more (within the same deadline; EOF can't come while a descendant
// holds the pipe, and arb_test_proc_fini reports such descendants).
// Returns the raw wait status, also in p->status.  If the helper has
// already been reaped it returns p->status.  On timeout it fails the test
// as arb_test_expect does.
int arb_test_wait_exit(arb_test_proc *p, int timeout_ms);

// arb_test_exit_code is WEXITSTATUS of an exited helper, or 128+signal for
// a killed one (the shell's convention), or -1 for any other status.
int arb_test_exit_code(int status);

// arb_test_proc_fini kills the helper's process group (and the helper)
// with SIGKILL if the helper hasn't been reaped, reaps it, closes the
// pipe and frees the output.  Then it waits at most 3 s until
// arb_test_tagged(p->tag) is 0, removes the temp dir and fails the test if
// anything was left: the helper couldn't be reaped, tagged processes
// remained (it prints their pids and command lines, SIGKILLs them and
// reaps those that are its children before failing), or the dir couldn't
// be removed.  Processes that left the helper's group are only killed in
// that failure path: a test that expects the helper to leave nothing
// behind should wait for its exit first.  pid, exited, status, tag and dir
// stay readable afterwards; calling it again is a harmless no-op.
void arb_test_proc_fini(arb_test_proc *p);

// arb_test_cleanup finalises every helper spawned and not finalised
// (a failed test's: its arb_test_proc went with the test's stack), as the
// exit handler does at exit: kills its group and its tagged descendants,
// reaps it and removes its dir, each named on stderr.  Returns how many.
// ARB_TEST_TIDY's teardown calls it.
int arb_test_cleanup(void);

// --- A tidy test: nothing left behind, pass or fail ------------------------
// A test listed as ARB_TEST_TIDY(test_x) leaves no helper and no
// directory of its own behind, even when it fails part-way (a failed
// assertion longjmps out of it, past its own clean-up, and its
// arb_test_procs go with its stack): cmocka runs the teardown after the
// test whether it passed or failed, and the teardown finalises every
// helper the test left (arb_test_cleanup) and removes the directory
// arb_test_tidy_dir made, each named on stderr.  Otherwise what a failed
// test left runs on through the next tests, until the binary exits, and
// its directory stays.
#define ARB_TEST_TIDY(f)                                                      \
	cmocka_unit_test_setup_teardown(                                      \
	    f, arb_test_tidy_setup, arb_test_tidy_teardown)

int arb_test_tidy_setup(void **state);
int arb_test_tidy_teardown(void **state);

// arb_test_tidy_dir makes the tidy test's own directory (arb_test_mkdtemp:
// "/tmp/arbor-TAG-XXXXXX"; one a test), which its teardown removes, and
// returns its path (valid until then).
const char *arb_test_tidy_dir(void **state, const char *tag);

// arb_test_tagged counts the processes, other than the caller, that belong
// to tag, and stores how many of them are zombies in *zombies unless it is
// NULL.  A process belongs to tag if:
//  - /proc/PID/environ holds exactly the entry "ARB_TEST_TAG=tag"; or
//  - it is a zombie (state Z or X; a zombie's environ reads as empty) and
//    either its parent is a process of the first kind (a tagged process
//    hasn't reaped its child), or its parent is the caller and it is not
//    a live arb_test_spawn helper of another tag.  So an unreaped zombie
//    child of the test that the harness didn't start counts for every tag.
// Zombies whose parent is init (or another subreaper) are not seen: the
// kernel reparents a dying process's children before it becomes a zombie,
// and that reaper, not the test, now owns them.  Processes whose environ
// can't be read (other users', or exiting) are not seen either.
// Fails the test if /proc can't be read.
int arb_test_tagged(const char *tag, int *zombies);

// arb_test_wait_tagged waits (at most timeout_ms, re-scanning /proc every
// 10 ms) until at most `want` processes belong to tag (zombies included,
// as counted by arb_test_tagged); returns the last count.
int arb_test_wait_tagged(const char *tag, int want, int timeout_ms);

// arb_test_field extracts the integer after "key=" in line (e.g.
// "ospid=1234" for key "ospid"), or -1 if there is none.  It looks only up
// to the end of the line ('\n' or NUL), the key must start at a word
// boundary (so key "ospid" doesn't match "notospid=5") and a digit must
// follow the '='.  The value is parsed with strtol (base 10); values are
// meant to be non-negative, since -1 means absent.
long arb_test_field(const char *line, const char *key);

// arb_test_line waits (at most timeout_ms) for a line containing needle
// anywhere in the helper's output so far (lines of different actors come
// in any order: the mark is reset first), moves the mark past it and
// copies it, without its '\n', into buf (cut to n - 1 bytes).  Returns
// buf.  On timeout or EOF it fails the test as arb_test_expect does.
char *arb_test_line(arb_test_proc *p, const char *needle, int timeout_ms,
    char *buf, size_t n);

// arb_test_need_field is arb_test_field that fails the test, naming the
// key and the line, when the line has no key=.
long arb_test_need_field(const char *line, const char *key);

// arb_test_emit writes one line (with '\n') to stderr in one write(2):
// actors in helper processes use it to tell the test what happened.
// Lines longer than PIPE_BUF - 1 bytes are truncated, so that the write
// stays atomic and lines from concurrent writers never interleave.
// Preserves errno.  Thread: any.
void arb_test_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// arb_test_cmdfifo_write writes line (a '\n' is added when missing) to the
// command FIFO `name` in p's directory, which the helper reads with
// arb_test_cmdfifo_open (cmdfifo.h).  Fails the test if it cannot.
void arb_test_cmdfifo_write(
    const arb_test_proc *p, const char *name, const char *line);

// arb_test_exec runs as a helper body for a program under test: argv is
// "NAME VAR=value... -- ARGS...": it sets the variables and execs bin with
// ARGS (a bin without '/' is looked up in PATH).  It returns 127 only if
// the exec failed (after printing why).
int arb_test_exec(const char *bin, int argc, char **argv);

// arb_test_mkdtemp makes a fresh private dir "/tmp/arbor-<tag>-XXXXXX"
// into buf (fails the test on error); arb_test_rmtree removes a dir and
// everything under it (0, or -1; a missing dir is success).
void arb_test_mkdtemp(char *buf, size_t len, const char *tag);
int  arb_test_rmtree(const char *dir);

// arb_test_write_file writes text as dir/name atomically (a running node
// never reads half a file) and returns the path, written into buf.  Fails
// the test on error.
const char *arb_test_write_file(const char *dir, const char *name,
    const char *text, char *buf, size_t len);

// arb_test_dir returns ARB_TEST_DIR in a helper (or "/tmp").  Thread: any.
const char *arb_test_dir(void);

#endif // ARB_TEST_H
