// SPDX-License-Identifier: MIT
// 72_log_stall_test.c -- a reader of the node's stderr that stops reading
// (a stalled journal, `arbor run | less` left alone) must not make the
// node deaf.  The real `arbor run`, its stderr a FIFO of one page that the test holds open and does not read, with a child in a
// failing-restart loop logging all the time: `arborctl status` and
// /healthz answer within their deadlines while lines are dropped and
// counted (status, /metrics); once the FIFO is read again, one
// "event=log_dropped count=N" line says how many were lost and every
// line is whole; a stop with the FIFO full again ends within its bound.
// The node's log buffer is made small ($ARB_LOG_BUFFER) so it fills in a
// fraction of a second.
//
// The binaries are ARBOR_BIN and ARBORCTL_BIN (tests/CMakeLists.txt).
// Every wait is bounded; nothing sleeps but the pauses between two polls.

#include "arb_test.h"
#include "httpc.h"
#include "probe.h"
#include "tools.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS   10000
#define PROMPT_MS 3000 // an answer of a node that is not deaf

// --- helpers (run in the child) ---------------------------------------------

// h_arbor_fifo: "arbor_fifo FIFO VAR=value... -- ARGS": the node with its
// stderr on FIFO (opened for writing; the test holds the reading end).
// Its stdout, where the diagnostic actors print, is /dev/null: an actor
// blocked in printf(3) would stop the restart loop that logs.
static int
h_arbor_fifo(int argc, char **argv)
{
	int fd, nul;

	if (argc < 2 || (fd = open(argv[1], O_WRONLY | O_CLOEXEC)) < 0
	    || (nul = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		perror("arbor_fifo: open");
		return 99;
	}
	if (dup2(nul, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		return 99;
	}
	return h_arbor(argc - 1, argv + 1);
}

static const arb_test_helper helpers[] = {
	{ "arbor_fifo", h_arbor_fifo },
	{ "arborctl", h_arborctl },
};

// --- test support -----------------------------------------------------------

static char          tmpdir[64];
static char          sock[160];
static arb_test_proc node; // when node_on
static bool          node_on;
static char ctl_out[64 * 1024]; // the last arborctl's output
static int  port;

// The FIFO's reading end, and what was read from it.
static int    rd = -1, wr = -1;
static char  *text;
static size_t tlen, tcap;

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t72");
	snprintf(sock, sizeof(sock), "%s/ctl.d/t72.sock", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	if (node_on) { // the test failed: nothing is left behind
		arb_test_proc_fini(&node);
		node_on = false;
	}
	if (rd >= 0) {
		close(rd);
		close(wr);
		rd = wr = -1;
	}
	free(text);
	text = NULL;
	tlen = tcap = 0;
	if (tmpdir[0] != '\0') {
		assert_int_equal(arb_test_rmtree(tmpdir), 0);
		tmpdir[0] = '\0';
	}
	return 0;
}

static void
need_binaries(void)
{
#if !defined(ARBOR_BIN) || !defined(ARBORCTL_BIN)
	skip(); // the programs are not built
#endif
}

static void
pause_ms(int ms)
{
	poll(NULL, 0, ms); // between two bounded polls of the node's state
}

// ctl runs `arborctl --socket sock --timeout 2 a0 [a1 a2 a3]`, which must
// end within PROMPT_MS; leaves its output in ctl_out and returns its
// exit code.
static int
ctl(const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char   *args[] = { "--", "--socket", sock, "--timeout", "2", a0,
                a1, a2, a3, NULL };
	arb_test_proc p;
	int           code;

	arb_test_spawn(&p, "arborctl", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, PROMPT_MS));
	snprintf(ctl_out, sizeof(ctl_out), "%s", p.out);
	arb_test_proc_fini(&p);
	return code;
}

// dropped is the node's log_dropped from `arborctl status --json`.
static long
dropped(void)
{
	int code = ctl("status", "--json", NULL, NULL);

	if (code != 0) {
		fail_msg("arborctl status --json: exit %d: %s", code, ctl_out);
	}
	const char *at = strstr(ctl_out, "\"log_dropped\":");

	if (at == NULL) {
		fail_msg("no log_dropped in arborctl status --json: %s", ctl_out);
	}
	return strtol(at + 14, NULL, 10);
}

// fifo_read reads what the FIFO holds now (without waiting); true at EOF.
static bool
fifo_read(void)
{
	char    b[4096];
	ssize_t n;

	while ((n = read(rd, b, sizeof(b))) > 0) {
		if (tlen + (size_t) n + 1 > tcap) {
			tcap = (tlen + (size_t) n + 1) * 2;
			assert_non_null(text = realloc(text, tcap));
		}
		memcpy(text + tlen, b, (size_t) n);
		tlen += (size_t) n;
		text[tlen] = '\0';
	}
	return n == 0;
}

// fifo_expect reads the FIFO until a line holding needle was read
// (at most WAIT_MS); returns that line.
static const char *
fifo_expect(const char *needle)
{
	int64_t       deadline = arb_test_now_ms() + WAIT_MS;
	struct pollfd pf = { .fd = rd, .events = POLLIN };
	const char   *at;

	for (;;) {
		bool eof = fifo_read();

		if (text != NULL && (at = strstr(text, needle)) != NULL
		    && strchr(at, '\n') != NULL) {
			while (at > text && at[-1] != '\n') {
				at--;
			}
			return at;
		}
		if (eof || arb_test_now_ms() >= deadline) {
			fail_msg("no \"%s\" on the node's stderr%s; it said:\n%.4000s",
			    needle, eof ? " (EOF)" : "",
			    text != NULL && tlen > 4000 ? text + tlen - 4000
			                                : (text ? text : ""));
		}
		(void) poll(&pf, 1, 100);
	}
}

// wait_dropped polls until the node counted more than `than` dropped
// lines (at most WAIT_MS), every status answered promptly.
static long
wait_dropped(long than)
{
	int64_t deadline = arb_test_now_ms() + WAIT_MS;
	long    d;

	while ((d = dropped()) <= than) {
		if (arb_test_now_ms() >= deadline) {
			fail_msg("the node dropped no log line (%ld) with its "
			         "stderr unread",
			    d);
		}
		pause_ms(50);
	}
	return d;
}

// --- the test ----------------------------------------------------------------

// root/x exits at once, again and again: a restart every few ms, each
// logged by the node.  No diagnostic actor: they print to stderr with
// write(2) themselves (not arb_log), and would block in it with the FIFO
// full (a thread actor stuck in its terminate holds up the stop).
static const char tree_fmt[]
    = "node: {name: t72, control: ctl.d/t72.sock, http: \"127.0.0.1:%d\"}\n"
      "root:\n"
      "  intensity: 1000000\n"
      "  period: 1s\n"
      "  children:\n"
      "    - name: x\n"
      "      command: [/bin/sh, -c, \"exec /bin/sh %s\"]\n"
      "      backoff: {min: 1ms, max: 2ms}\n";

static void
test_an_unread_stderr_never_makes_the_node_deaf(void **state)
{
	char                fifo[160], file[160], fail[160], yaml[1024];
	const char         *args[] = { fifo, "ARB_LOG_BUFFER=4096",
                "ARB_LOG_LEVEL=4", "--", "run", file, NULL };
	arb_test_proc      *p = &node;
	arb_test_http_resp  r;
	char                host[32];
	const char         *l, *e;
	long                d, d2, pid;
	int64_t             t0;

	(void) state;
	need_binaries();
	snprintf(fifo, sizeof(fifo), "%s/err.fifo", tmpdir);
	arb_test_write_file(tmpdir, "x.sh", "exec sleep 1000\n", fail, sizeof(fail));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_true((rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
	// A writer of our own: no EOF before the node opened it.
	assert_true((wr = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
	// One page: the FIFO is full after some 30 lines.
	assert_true(fcntl(rd, F_SETPIPE_SZ, 4096) >= 4096);
	port = arb_test_free_port();
	snprintf(yaml, sizeof(yaml), tree_fmt, port, fail);
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	arb_test_write_file(tmpdir, "tree.yaml", yaml, file, sizeof(file));
	arb_test_spawn(p, "arbor_fifo", args);
	node_on = true;
	fifo_expect("event=http_listen");
	fifo_expect("root event=tree_up");

	// From its restart on, root/x fails in a loop, and nobody reads
	// the FIFO.
	arb_test_write_file(tmpdir, "x.sh", "exit 3\n", fail, sizeof(fail));
	assert_int_equal(ctl("restart", "root/x", "--no-wait", NULL), 0);
	d = wait_dropped(0);

	// Deaf it is not: arborctl and HTTP answer at once, and say that
	// lines are lost.
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	assert_non_null(strstr(ctl_out, "log lines dropped: "));
	arb_test_http(port, "GET", "/healthz", host, PROMPT_MS, &r);
	assert_int_equal(r.status, 200);
	free(r.body);
	arb_test_http(port, "GET", "/metrics", host, PROMPT_MS, &r);
	assert_int_equal(r.status, 200);
	l = strstr(r.body, "\narbor_node_log_dropped_total ");
	assert_non_null(l);
	assert_true(atol(l + 30) >= d);
	free(r.body);
	assert_true(arb_test_now_ms() - t0 < 3 * PROMPT_MS);

	// Read again: one line counts what was lost, and every line is
	// whole ("[TIME ]arbor[PID]: LEVEL PATH ...", one "arbor[" a line).
	l = fifo_expect("event=log_dropped count=");
	assert_true(arb_test_field(l, "count") > 0);
	assert_non_null(strstr(l, "log lines dropped"));
	pid = p->pid;
	for (l = text; (e = strchr(l, '\n')) != NULL; l = e + 1) {
		char want[48];
		int  n = snprintf(want, sizeof(want), "arbor[%ld]: ", pid);

		const char *at = memmem(l, (size_t) (e - l), want, (size_t) n);

		if (at == NULL || at - l > 25
		    || memmem(at + 1, (size_t) (e - at - 1), "arbor[", 6)
		        != NULL) {
			fail_msg("a line that is not whole: %.*s", (int) (e - l),
			    l);
		}
	}

	// Unread again: a stop still ends, within its bound (the lines
	// left are given ARB__LOG_EXIT_MS, 1 s).
	d2 = wait_dropped(dropped());
	assert_true(d2 > d);
	t0 = arb_test_now_ms();
	kill(p->pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(p, 5000)), 0);
	assert_true(arb_test_now_ms() - t0 < 5000);
	node_on = false;
	arb_test_proc_fini(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_an_unread_stderr_never_makes_the_node_deaf, setup, teardown),
};

ARB_TEST_MAIN("integration.log_stall", tests, helpers)
