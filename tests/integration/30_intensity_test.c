// SPDX-License-Identifier: MIT
// 30_intensity_test.c -- restart intensity, escalation, failed restarts,
// backoff, significant children and auto_shutdown, ignore, and the spec
// checker, with real thread and process children.  SPEC 3 (more than
// `intensity` restarts in `period`: stop the children in reverse order,
// exit `shutdown`, the parent applies its strategy; OTP default 1 in 5 s;
// a failed restart is retried, counts and never crashes the supervisor),
// 6 (backoff: jitter above the min floor, cap, reset after `stable`,
// visible "restarting" state), 7 (significant, auto_shutdown, invalid
// specs named by field), 9 (init answers ignore) and 10 (exit codes 0,
// 70, 78).
//
// Each test runs a node in a helper process (this binary re-executed) and
// reads its log lines.  Two actor types are defined here: "driver" takes
// commands from a FIFO so that the test decides when a child crashes, and
// "ticker" lives a scripted time per incarnation and prints monotonic
// timestamps, so restart spacing is measured on the node's side, not by
// when the test happened to read a line.  Nothing here sleeps to
// synchronise.

#include "arb_test.h"
#include "cmdfifo.h"
#include "probe.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// --- the driver actor (runs in the node) ------------------------------------
//
// At init it creates $ARB_TEST_DIR/<name>.fifo and prints "driver path=P
// event=listening".  A line "crash PATH KIND" written to the FIFO sends
// PROBE_CRASH with body KIND to the actor at PATH and prints "driver
// event=sent target=PATH kind=KIND rv=NAME".

typedef struct driver {
	arb_ctx          *ctx;
	arb_test_cmdfifo *fifo;
} driver;

static void
driver_exec(void *arg, const char *line)
{
	driver *d = arg;
	char    a1[128] = "";
	char    a2[128] = "";
	arb_pid pid = ARB_PID_NONE;
	int     rv;

	if (sscanf(line, "crash %127s %127s", a1, a2) != 2) {
		arb_test_emit("driver event=bad_command line=%s", line);
		return;
	}
	if ((rv = arb_whereis(d->ctx, a1, &pid)) == ARB_OK) {
		rv = arb_send_copy(d->ctx, pid, PROBE_CRASH, a2, strlen(a2));
	}
	arb_test_emit("driver event=sent target=%s kind=%s rv=%s", a1, a2,
	    arb_err_name(rv));
}

static int
driver_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	driver *d = calloc(1, sizeof(*d));
	char    path[256];
	int     err;

	(void) arg;
	(void) len;
	if (d == NULL) {
		return ARB_ENOMEM;
	}
	d->ctx = ctx;
	snprintf(path, sizeof(path), "%s/%s.fifo", arb_test_dir(),
	    strrchr(arb_path(ctx), '/') + 1);
	err = arb_test_cmdfifo_open(&d->fifo, arb_base(ctx), path,
	    driver_exec, d);
	if (err != 0) {
		free(d);
		return ARB_ESYSERR | err;
	}
	*statep = d;
	arb_test_emit("driver path=%s event=listening", arb_path(ctx));
	return ARB_OK;
}

static void
driver_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	driver *d = state;

	(void) ctx;
	(void) why;
	arb_test_cmdfifo_close(d->fifo);
	free(d);
}

static const arb_actor_ops driver_ops = {
	.type = "driver",
	.init = driver_init,
	.terminate = driver_terminate,
};

// --- the ticker actor
// ----------------------------------------------------------
//
// Its arg is "lives=MS[,MS...]": incarnation k (counted in
// $ARB_TEST_DIR/<name>.n, so it survives restarts) exits with
// error{code=1,text="tick"} after lives[(k - 1) % n] ms.  It prints
//   ticker path=P event=init n=K life=MS t_ms=T
//   ticker path=P event=exit n=K life=MS t_ms=T
// with T on CLOCK_MONOTONIC (system-wide, so comparable between lines).

typedef struct ticker {
	arb_ctx      *ctx;
	struct event *ev;
	int           n;
	int           life;
} ticker;

static void
ticker_cb(evutil_socket_t fd, short what, void *arg)
{
	ticker *t = arg;

	(void) fd;
	(void) what;
	arb_test_emit("ticker path=%s event=exit n=%d life=%d t_ms=%lld",
	    arb_path(t->ctx), t->n, t->life, (long long) arb_test_now_ms());
	arb_actor_exit_error(t->ctx, 1, "tick");
}

static int
ticker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	ticker        *t = calloc(1, sizeof(*t));
	char           cfg[256] = "";
	char           file[512];
	int            lives[16];
	int            nlives = 0;
	char          *s, *end;
	FILE          *f;
	struct timeval tv;

	if (t == NULL) {
		return ARB_ENOMEM;
	}
	t->ctx = ctx;
	if (arg != NULL) {
		memcpy(cfg, arg, len < sizeof(cfg) ? len : sizeof(cfg) - 1);
	}
	if (strncmp(cfg, "lives=", 6) == 0) {
		for (s = cfg + 6; nlives < 16; s = end + 1) {
			lives[nlives++] = (int) strtol(s, &end, 10);
			if (*end != ',') {
				break;
			}
		}
	}
	if (nlives == 0) {
		lives[nlives++] = 100;
	}
	snprintf(file, sizeof(file), "%s/%s.n", arb_test_dir(),
	    strrchr(arb_path(ctx), '/') + 1);
	if ((f = fopen(file, "r")) != NULL) {
		if (fscanf(f, "%d", &t->n) != 1) {
			t->n = 0;
		}
		fclose(f);
	}
	t->n++;
	if ((f = fopen(file, "w")) != NULL) {
		fprintf(f, "%d\n", t->n);
		fclose(f);
	}
	t->life = lives[(t->n - 1) % nlives];
	t->ev = evtimer_new(arb_base(ctx), ticker_cb, t);
	if (t->ev == NULL) {
		free(t);
		return ARB_ENOMEM;
	}
	tv.tv_sec = t->life / 1000;
	tv.tv_usec = (t->life % 1000) * 1000;
	evtimer_add(t->ev, &tv);
	*statep = t;
	arb_test_emit("ticker path=%s event=init n=%d life=%d t_ms=%lld",
	    arb_path(ctx), t->n, t->life, (long long) arb_test_now_ms());
	return ARB_OK;
}

static void
ticker_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	ticker *t = state;

	(void) ctx;
	(void) why;
	event_free(t->ev);
	free(t);
}

static const arb_actor_ops ticker_ops = {
	.type = "ticker",
	.init = ticker_init,
	.terminate = ticker_terminate,
};

// --- the ignorer actor ----------------------------------------------------
//
// Its init prints "probe path=P event=init ospid=N" (the probe's format)
// and answers ignore.  The probe's own init=ignore would do, except that
// it allocates its state before answering, and since terminate is not
// called after an init that did not start the actor, that state leaks
// (LeakSanitizer then changes the node's exit code).

static int
ignorer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) statep;
	(void) arg;
	(void) len;
	arb_test_emit("probe path=%s event=init ospid=%d", arb_path(ctx),
	    (int) getpid());
	return ARB_EIGNORE;
}

static const arb_actor_ops ignorer_ops = {
	.type = "ignorer",
	.init = ignorer_init,
};

static const arb_actor_ops *const types[]
    = { &driver_ops, &ticker_ops, &ignorer_ops, NULL };

#define CHILD(n, iso, a, ...)                                                 \
	{                                                                     \
		.name = (n), .isolation = (iso), .type = "probe", .arg = (a), \
		.arg_len = sizeof(a), __VA_ARGS__                             \
	}

// --- helpers (run in the child) -------------------------------------------

// root with OTP defaults { a: process, b: thread crashing every 300 ms,
// c: process }.
static int
h_default_intensity(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("b", ARB_THREAD, "exit_after=300;exit=error:4"),
		PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// root { mid { crasher, sib }, keep }, all with OTP defaults.
static int
h_escalate(int argc, char **argv)
{
	static const arb_child_spec ic[] = {
		PROBE_CHILD(
		    "crasher", ARB_THREAD, "exit_after=400;exit=error:2"),
		PROBE_CHILD("sib", ARB_PROCESS, "init=ok"),
	};
	static const arb_sup_spec inner = { .children = ic, .nchildren = 2 };
	const arb_child_spec      c[] = {
		     { .name = "mid", .isolation = ARB_SUPERVISOR, .sup = &inner },
		     PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// f crashes once, then every restart fails its init.
static int
h_failed_restart(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
		PROBE_CHILD("f", ARB_PROCESS,
		    "init=fail_after_first;exit_after=200;exit=error:1"),
	};
	const arb_sup_spec s = { .intensity = 3,
		.period_ms = 10000,
		.children = c,
		.nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// f fails its init while $ARB_TEST_DIR/block exists; restarts back off.
static int
h_retry_recovers(int argc, char **argv)
{
	static char          arg[512];
	const arb_child_spec c[] = {
		{ .name = "f",
		    .isolation = ARB_PROCESS,
		    .type = "probe",
		    .arg = arg,
		    .backoff_min_ms = 100,
		    .backoff_max_ms = 200 },
		{ .name = "driver",
		    .isolation = ARB_THREAD,
		    .type = "driver" },
	};
	arb_child_spec     cc[2];
	const arb_sup_spec s = { .intensity = 20,
		.period_ms = 10000,
		.children = cc,
		.nchildren = 2 };

	(void) argc;
	(void) argv;
	snprintf(
	    arg, sizeof(arg), "init=fail_if_file:%s/block", arb_test_dir());
	memcpy(cc, c, sizeof(cc));
	cc[0].arg_len = strlen(arg) + 1;
	return arb_test_node_main(&s);
}

static int
run_ticker(const char *arg, int stable_ms)
{
	const arb_child_spec c[] = {
		{ .name = "t",
		    .isolation = ARB_THREAD,
		    .type = "ticker",
		    .arg = arg,
		    .arg_len = strlen(arg) + 1,
		    .backoff_min_ms = 100,
		    .backoff_max_ms = 400,
		    .stable_ms = stable_ms },
		PROBE_CHILD("keep", ARB_PROCESS, "init=ok"),
	};
	const arb_sup_spec s = { .intensity = 100,
		.period_ms = 5000,
		.children = c,
		.nchildren = 2 };

	return arb_test_node_main(&s);
}

static int
h_backoff(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return run_ticker("lives=40", 0);
}

static int
h_stable(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return run_ticker("lives=30,30,900", 400);
}

// root(any_significant) { inner(any_significant, transient, significant)
// { w, s: ends normally after 500 ms }, keep }.
static int
h_any_significant(int argc, char **argv)
{
	static const arb_child_spec ic[] = {
		PROBE_CHILD("w", ARB_THREAD, "init=ok"),
		CHILD("s", ARB_PROCESS, "exit_after=500;exit=normal",
		    .restart = ARB_TRANSIENT, .significant = true),
	};
	static const arb_sup_spec inner = {
		.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		.children = ic,
		.nchildren = 2,
	};
	const arb_child_spec c[] = {
		{ .name = "inner",
		    .isolation = ARB_SUPERVISOR,
		    .sup = &inner,
		    .restart = ARB_TRANSIENT,
		    .significant = true },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s
	    = { .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		      .children = c,
		      .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// As any_significant, but s is temporary and fails (error 3): seed 000's
// collector that died of a bug and exited 0.
static int
h_significant_fails(int argc, char **argv)
{
	static const arb_child_spec ic[] = {
		PROBE_CHILD("w", ARB_THREAD, "init=ok"),
		CHILD("s", ARB_PROCESS, "exit_after=300;exit=error:3",
		    .restart = ARB_TEMPORARY, .significant = true),
	};
	static const arb_sup_spec inner = {
		.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		.children = ic,
		.nchildren = 2,
	};
	const arb_child_spec c[] = {
		{ .name = "inner",
		    .isolation = ARB_SUPERVISOR,
		    .sup = &inner,
		    .restart = ARB_TRANSIENT,
		    .significant = true },
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s
	    = { .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		      .children = c,
		      .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// all_significant: s1 (temporary) fails first, s2 ends normally last.
static int
h_all_significant_one_fails(int argc, char **argv)
{
	const arb_child_spec c[] = {
		CHILD("s1", ARB_THREAD, "exit_after=200;exit=error:4",
		    .restart = ARB_TEMPORARY, .significant = true),
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
		CHILD("s2", ARB_THREAD, "exit_after=600;exit=normal",
		    .restart = ARB_TRANSIENT, .significant = true),
	};
	const arb_sup_spec s
	    = { .auto_shutdown = ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
		      .children = c,
		      .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_all_significant(int argc, char **argv)
{
	const arb_child_spec c[] = {
		CHILD("s1", ARB_THREAD, "exit_after=300;exit=normal",
		    .restart = ARB_TRANSIENT, .significant = true),
		PROBE_CHILD("keep", ARB_THREAD, "init=ok"),
		CHILD("s2", ARB_PROCESS, "exit_after=900;exit=normal",
		    .restart = ARB_TRANSIENT, .significant = true),
	};
	const arb_sup_spec s
	    = { .auto_shutdown = ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
		      .children = c,
		      .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_ignore(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("a", ARB_THREAD, "init=ok"),
		{ .name = "ig", .isolation = ARB_PROCESS, .type = "ignorer" },
		{ .name = "tig", .isolation = ARB_THREAD, .type = "ignorer" },
		PROBE_CHILD("b", ARB_PROCESS, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 4 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_child_spec bad_inner_c[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
	CHILD("sig", ARB_THREAD, "init=ok", .significant = true),
};
static const arb_sup_spec bad_inner = {
	.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
	.children = bad_inner_c,
	.nchildren = 2,
};
static const arb_child_spec bad_c[] = {
	PROBE_CHILD("ok", ARB_THREAD, "init=ok"),
	{ .name = "inner", .isolation = ARB_SUPERVISOR, .sup = &bad_inner },
};
static const arb_sup_spec bad_spec = { .children = bad_c, .nchildren = 2 };

static int
h_invalid_spec(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return arb_test_node_main(&bad_spec);
}

static const arb_test_helper helpers[] = {
	{ "default_intensity", h_default_intensity },
	{ "escalate", h_escalate },
	{ "failed_restart", h_failed_restart },
	{ "retry_recovers", h_retry_recovers },
	{ "backoff", h_backoff },
	{ "stable", h_stable },
	{ "any_significant", h_any_significant },
	{ "all_significant", h_all_significant },
	{ "significant_fails", h_significant_fails },
	{ "all_significant_one_fails", h_all_significant_one_fails },
	{ "ignore", h_ignore },
	{ "invalid_spec", h_invalid_spec },
};

// --- test-side utilities ----------------------------------------------------

// find returns the offset in p->out of the first complete line at or after
// `from` containing a (and b, unless NULL), or -1.
static long
find(const arb_test_proc *p, size_t from, const char *a, const char *b)
{
	const char *s = p->out + from;
	const char *nl;

	while ((nl = strchr(s, '\n')) != NULL) {
		size_t n = (size_t) (nl - s);
		if (memmem(s, n, a, strlen(a)) != NULL
		    && (b == NULL || memmem(s, n, b, strlen(b)) != NULL)) {
			return (long) (s - p->out);
		}
		s = nl + 1;
	}
	return -1;
}

// count counts complete lines at or after `from` containing a and b.
static int
count(const arb_test_proc *p, size_t from, const char *a, const char *b)
{
	long off;
	int  n = 0;

	while ((off = find(p, from, a, b)) >= 0) {
		n++;
		from = (size_t) (strchr(p->out + off, '\n') - p->out) + 1;
	}
	return n;
}

// at returns the offset of the first line at or after `from` containing
// a and b; the line must exist.
static long
at(const arb_test_proc *p, size_t from, const char *a, const char *b)
{
	long off = find(p, from, a, b);

	if (off < 0) {
		fail_msg("no line with \"%s\"%s%s%s after offset %zu in:\n%s",
		    a, b ? " and \"" : "", b ? b : "", b ? "\"" : "", from,
		    p->out);
	}
	return off;
}

static void
cmd(arb_test_proc *p, const char *line)
{
	arb_test_cmdfifo_write(p, "driver.fifo", line);
}

// exited waits for the helper and checks its exit code and the node's own
// report of it.
static void
exited(arb_test_proc *p, int code)
{
	char needle[64];

	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(p, 15000)), code);
	if (code != ARB_EXIT_CONFIG) { // else the tree never ran
		assert_true(find(p, 0, "event=node_exit ", NULL) >= 0);
	}
	snprintf(needle, sizeof(needle), "node exit_code=%d ", code);
	assert_true(find(p, 0, needle, NULL) >= 0);
}

// --- tests ---------------------------------------------------------------

static void
test_default_intensity_second_crash_gives_up(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          first, second, give_up;

	(void) state;
	arb_test_spawn(&p, "default_intensity", NULL);
	l = arb_test_expect(
	    &p, "root/b event=exit reason=error{code=4", 10000);
	assert_non_null(strstr(l, "decision=restart restarts=0"));
	first = l - p.out;
	l = arb_test_expect(
	    &p, "root/b event=exit reason=error{code=4", 10000);
	assert_non_null(strstr(l, "decision=give_up restarts=1"));
	second = l - p.out;
	l = arb_test_expect(&p, "root event=give_up", 10000);
	assert_non_null(strstr(l, "reason=reached_max_restart_intensity"));
	assert_non_null(strstr(l, "child=b intensity=1 period_ms=5000"));
	give_up = l - p.out;
	exited(&p, ARB_EXIT_SOFTWARE);
	assert_true(first < second && second < give_up);
	assert_int_equal(count(&p, 0, "event=give_up", NULL), 1);
	// The others are stopped in reverse start order, after the give up.
	assert_true(give_up < at(&p, 0, "root/c event=stopped", NULL));
	assert_true(at(&p, 0, "root/c event=stopped", NULL)
	    < at(&p, 0, "root/a event=stopped", NULL));
	assert_int_equal(count(&p, 0, "root/b event=stopped", NULL), 0);
	assert_int_equal(
	    count(&p, 0, "probe path=root/b event=init", NULL), 2);
	assert_int_equal(
	    count(&p, 0, "probe path=root/a event=init", NULL), 1);
	assert_non_null(strstr(p.out,
	    "event=node_exit reason=shutdown{text="
	    "\"reached_max_restart_intensity\"} "
	    "exit_code=70 requested=no"));
	arb_test_proc_fini(&p);
}

static void
test_escalation_through_two_levels(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          g1, g2, gr;

	(void) state;
	arb_test_spawn(&p, "escalate", NULL);
	// Inner supervisor gives up: sib is stopped, mid exits `shutdown`.
	l = arb_test_expect(&p, "root/mid event=give_up", 10000);
	g1 = l - p.out;
	arb_test_expect(
	    &p, "root/mid/sib event=stopped reason=shutdown", 10000);
	l = arb_test_expect(&p, "root/mid event=exit reason=shutdown", 10000);
	assert_non_null(strstr(l, "decision=restart restarts=0"));
	// The outer restarts it, with its children.
	l = arb_test_expect(
	    &p, "root/mid event=started isolation=supervisor", 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 1);
	// Second round: the outer's intensity is exhausted too.
	l = arb_test_expect(&p, "root/mid event=give_up", 10000);
	g2 = l - p.out;
	l = arb_test_expect(&p, "root/mid event=exit reason=shutdown", 10000);
	assert_non_null(strstr(l, "decision=give_up restarts=1"));
	l = arb_test_expect(&p, "root event=give_up", 10000);
	assert_non_null(strstr(l, "child=mid"));
	gr = l - p.out;
	arb_test_expect(&p, "root/keep event=stopped", 10000);
	exited(&p, ARB_EXIT_SOFTWARE);
	assert_true(g1 < g2 && g2 < gr);
	assert_int_equal(count(&p, 0, "root/mid event=give_up", NULL), 2);
	assert_int_equal(count(&p, 0, "root event=give_up", NULL), 1);
	assert_int_equal(
	    count(&p, 0, "probe path=root/mid/sib event=init", NULL), 2);
	assert_int_equal(
	    count(&p, 0, "probe path=root/mid/crasher event=init", NULL), 4);
	assert_int_equal(
	    count(&p, 0, "probe path=root/keep event=init", NULL), 1);
	arb_test_proc_fini(&p);
}

// retries counts start failures of path with decision=retry, including
// those the log's rate limit folded into "event=repeated count=N".
static int
retries(const arb_test_proc *p, const char *path)
{
	char        needle[128];
	const char *s = p->out;
	const char *nl;
	int         n = 0;

	snprintf(needle, sizeof(needle), "%s event=start_failed", path);
	while ((nl = strchr(s, '\n')) != NULL) {
		size_t len = (size_t) (nl - s);
		if (memmem(s, len, needle, strlen(needle)) != NULL
		    && memmem(s, len, "decision=retry", 14) != NULL) {
			if (memmem(s, len, "event=repeated count=", 21)
			    != NULL) {
				n += (int) arb_test_field(s, "count");
			} else {
				n++;
			}
		}
		s = nl + 1;
	}
	return n;
}

static void
test_failed_restart_is_retried_and_counts(void **state)
{
	arb_test_proc p;
	const char   *l;

	(void) state;
	arb_test_spawn(&p, "failed_restart", NULL);
	l = arb_test_expect(
	    &p, "root/f event=exit reason=error{code=1", 10000);
	assert_non_null(strstr(l, "decision=restart restarts=0"));
	// Restart 1 was the crash; 2 and 3 are failed starts, retried; the
	// third failed start is the fourth restart within the period.
	arb_test_expect(&p, "root/f event=start_failed", 10000);
	l = arb_test_expect(&p, "decision=give_up", 10000);
	assert_non_null(strstr(l, "root/f event=start_failed"));
	arb_test_expect(&p, "root event=give_up", 10000);
	arb_test_expect(&p, "root/keep event=stopped", 10000);
	exited(&p, ARB_EXIT_SOFTWARE);
	assert_int_equal(retries(&p, "root/f"), 2);
	assert_int_equal(
	    count(&p, 0, "probe path=root/f event=init", NULL), 4);
	assert_int_equal(count(&p, 0, "root/f event=started", NULL), 1);
	assert_int_equal(count(&p, 0, "root event=give_up", NULL), 1);
	arb_test_proc_fini(&p);
}

static void
test_failed_restart_retried_until_it_works(void **state)
{
	arb_test_proc p;
	const char   *l;
	char          block[128];
	int           fd;

	(void) state;
	arb_test_spawn(&p, "retry_recovers", NULL);
	arb_test_expect(&p, "root event=tree_up", 10000);
	snprintf(block, sizeof(block), "%s/block", p.dir);
	fd = open(block, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	cmd(&p, "crash root/f error:1\n");
	l = arb_test_expect(
	    &p, "root/f event=exit reason=error{code=1", 10000);
	assert_non_null(strstr(l, "decision=restart(backoff)"));
	l = arb_test_expect(&p, "root/f event=start_failed", 10000);
	assert_non_null(strstr(l, "decision=retry"));
	assert_int_equal(unlink(block), 0);
	l = arb_test_expect(&p, "root/f event=started", 10000);
	assert_true(arb_test_field(l, "restarts") >= 2);
	kill(p.pid, SIGTERM);
	exited(&p, 0);
	assert_int_equal(count(&p, 0, "event=give_up", NULL), 0);
	assert_int_equal(count(&p, 0, "root/f event=started", NULL), 2);
	assert_true(retries(&p, "root/f") >= 1);
	arb_test_proc_fini(&p);
}

// tick is one line of a ticker run, in output order.
typedef struct tick {
	char kind; // 'i' init, 'x' exit, 'r' restarting
	long n, life, t, delay, attempt;
} tick;

// ticks parses the ticker's and the supervisor's lines about root/t.
static size_t
ticks(const arb_test_proc *p, tick *out, size_t max)
{
	const char *s = p->out;
	const char *nl;
	size_t      k = 0;

	while ((nl = strchr(s, '\n')) != NULL && k < max) {
		size_t n = (size_t) (nl - s);
		tick   t = { 0 };
		if (memmem(s, n, "ticker path=root/t event=init", 29)) {
			t.kind = 'i';
		} else if (memmem(s, n, "ticker path=root/t event=exit", 29)) {
			t.kind = 'x';
		} else if (memmem(s, n, "root/t event=restarting", 23)) {
			t.kind = 'r';
		}
		if (t.kind != 0) {
			t.n = arb_test_field(s, "n");
			t.life = arb_test_field(s, "life");
			t.t = arb_test_field(s, "t_ms");
			t.delay = arb_test_field(s, "next_attempt_in_ms");
			t.attempt = arb_test_field(s, "attempt");
			out[k++] = t;
		}
		s = nl + 1;
	}
	return k;
}

static void
test_backoff_delays_are_capped_and_honoured(void **state)
{
	arb_test_proc p;
	tick          tk[256];
	size_t        n, i;
	long          exit_t = -1, delay = -1, last_attempt = 0;
	long          cap;
	int           nr = 0, checked = 0;

	(void) state;
	arb_test_spawn(&p, "backoff", NULL);
	for (i = 0; i < 6; i++) {
		arb_test_expect(&p, "root/t event=restarting", 15000);
	}
	kill(p.pid, SIGTERM);
	exited(&p, 0);
	assert_true(
	    count(&p, 0, "root/t event=exit", "decision=restart(backoff)")
	    >= 6);
	n = ticks(&p, tk, 256);
	for (i = 0; i < n; i++) {
		switch (tk[i].kind) {
		case 'x':
			exit_t = tk[i].t;
			delay = -1;
			break;
		case 'r':
			// Jitter above the floor: [min, min(max, min <<
			// attempt)] (the log shows the attempt already
			// counted: attempt n waited for min << n at most).
			nr++;
			assert_true(tk[i].attempt >= 1);
			assert_true(tk[i].attempt > last_attempt);
			last_attempt = tk[i].attempt;
			cap = tk[i].attempt > 2 ? 400 : 100L << tk[i].attempt;
			// (The line gives what is left of the delay when the
			// restart job reaches the child: at most the draw.)
			assert_true(tk[i].delay >= 0 && tk[i].delay <= cap);
			delay = tk[i].delay;
			break;
		case 'i':
			// The restart waited at least the announced delay
			// after the exit (a few ms of clock rounding).
			// And never sooner than min (100 ms): min is a floor.
			if (delay >= 0 && exit_t >= 0) {
				assert_true(tk[i].t - exit_t >= delay - 5);
				assert_true(tk[i].t - exit_t >= 100 - 5);
				checked++;
			}
			delay = -1;
			break;
		}
	}
	assert_true(nr >= 6);
	assert_true(checked >= 5);
	arb_test_proc_fini(&p);
}

static void
test_backoff_resets_after_a_stable_run(void **state)
{
	arb_test_proc p;
	tick          tk[256];
	size_t        n, i;
	long          life = -1;
	int           after_long = 0, grown = 0;

	(void) state;
	arb_test_spawn(&p, "stable", NULL);
	// Incarnations 3 and 6 live 900 ms, longer than stable_ms (400).
	arb_test_expect(&p, "ticker path=root/t event=init n=8 ", 15000);
	kill(p.pid, SIGTERM);
	exited(&p, 0);
	n = ticks(&p, tk, 256);
	for (i = 0; i < n; i++) {
		if (tk[i].kind == 'x') {
			life = tk[i].life;
		} else if (tk[i].kind == 'r' && life == 900) {
			// The run was stable: the backoff starts over.
			assert_int_equal(tk[i].attempt, 1);
			assert_true(tk[i].delay <= 200);
			after_long++;
		} else if (tk[i].kind == 'r' && life == 30
		    && tk[i].attempt >= 2) {
			grown++;
		}
	}
	assert_true(after_long >= 1);
	assert_true(grown >= 1);
	arb_test_proc_fini(&p);
}

static void
test_any_significant_shuts_down_two_levels(void **state)
{
	arb_test_proc p;
	long          s_exit, w_stop, inner_exit, keep_stop;

	(void) state;
	arb_test_spawn(&p, "any_significant", NULL);
	exited(&p, 0);
	s_exit = at(&p, 0, "root/inner/s event=exit reason=normal",
	    "decision=auto_shutdown");
	w_stop = at(&p, 0, "root/inner/w event=stopped reason=shutdown", NULL);
	inner_exit = at(&p, 0,
	    "root/inner event=exit reason=shutdown{text=\"auto_shutdown\"}",
	    "decision=auto_shutdown");
	keep_stop = at(&p, 0, "root/keep event=stopped reason=shutdown", NULL);
	assert_true(
	    s_exit < w_stop && w_stop < inner_exit && inner_exit < keep_stop);
	assert_true(at(&p, 0, "root event=tree_up", NULL) < s_exit);
	assert_non_null(strstr(p.out, "exit_code=0 requested=no"));
	assert_int_equal(count(&p, 0, "event=give_up", NULL), 0);
	assert_int_equal(
	    count(&p, 0, "probe path=root/inner/s event=init", NULL), 1);
	arb_test_proc_fini(&p);
}

// An auto_shutdown that follows a significant child's failure is no
// requested stop: exit 70, so Restart=on-failure restarts the node (it
// exited 0).  Through a nested supervisor too (OTP's `shutdown` reason
// of the nested one's own auto_shutdown), and with all_significant when
// the failed one was not the last.
static void
test_auto_shutdown_after_a_failure_exits_70(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "significant_fails", NULL);
	exited(&p, ARB_EXIT_SOFTWARE);
	assert_true(find(&p, 0, "root/inner/s event=exit reason=error{code=3",
	                "decision=auto_shutdown")
	    >= 0);
	assert_true(find(&p, 0,
	                "root/inner event=exit reason=shutdown{text=\"auto_"
	                "shutdown after a significant child failed\"}",
	                "decision=auto_shutdown")
	    >= 0);
	assert_non_null(strstr(p.out, "exit_code=70 requested=no"));
	assert_int_equal(count(&p, 0, "event=give_up", NULL), 0);
	arb_test_proc_fini(&p);

	arb_test_spawn(&p, "all_significant_one_fails", NULL);
	exited(&p, ARB_EXIT_SOFTWARE);
	assert_true(
	    find(&p, 0, "root/s1 event=exit reason=error{code=4", NULL) >= 0);
	assert_true(find(&p, 0, "root/s2 event=exit reason=normal",
	                "decision=auto_shutdown")
	    >= 0);
	assert_non_null(strstr(p.out, "exit_code=70 requested=no"));
	arb_test_proc_fini(&p);
}

static void
test_all_significant_waits_for_the_last(void **state)
{
	arb_test_proc p;
	long          none, last, keep_stop;

	(void) state;
	arb_test_spawn(&p, "all_significant", NULL);
	exited(&p, 0);
	// The first significant child to end is left stopped; the second
	// ends the supervisor.
	none = at(&p, 0, "event=exit reason=normal decision=none", NULL);
	last = at(
	    &p, 0, "event=exit reason=normal decision=auto_shutdown", NULL);
	keep_stop = at(&p, 0, "root/keep event=stopped reason=shutdown", NULL);
	assert_true(none < last && last < keep_stop);
	assert_int_equal(count(&p, 0, "decision=auto_shutdown", NULL), 1);
	assert_int_equal(count(&p, 0, "decision=none", NULL), 1);
	assert_true(find(&p, (size_t) none, "root/s1 ", NULL) == none
	    || find(&p, (size_t) none, "root/s2 ", NULL) == none);
	assert_non_null(strstr(p.out, "exit_code=0 requested=no"));
	arb_test_proc_fini(&p);
}

static void
test_ignore_is_kept_not_started_not_restarted(void **state)
{
	arb_test_proc p;
	long          ig, up;

	(void) state;
	arb_test_spawn(&p, "ignore", NULL);
	up = arb_test_expect(&p, "root event=tree_up", 10000) - p.out;
	ig = at(&p, 0, "root/ig event=ignored", NULL);
	assert_true(ig < at(&p, 0, "root/b event=started", NULL));
	assert_true(at(&p, 0, "root/tig event=ignored", NULL)
	    < at(&p, 0, "root/b event=started", NULL));
	assert_true(at(&p, 0, "root/a event=started", NULL) < up);
	kill(p.pid, SIGTERM);
	exited(&p, 0);
	assert_int_equal(
	    count(&p, 0, "probe path=root/ig event=init", NULL), 1);
	assert_int_equal(
	    count(&p, 0, "probe path=root/tig event=init", NULL), 1);
	assert_int_equal(count(&p, 0, " root/ig event=", NULL), 1);
	assert_int_equal(count(&p, 0, " root/tig event=", NULL), 1);
	assert_int_equal(count(&p, 0, "event=start_failed", NULL), 0);
	assert_true(at(&p, 0, "root/b event=stopped", NULL)
	    < at(&p, 0, "root/a event=stopped", NULL));
	arb_test_proc_fini(&p);
}

static void
test_invalid_spec_is_rejected_with_exit_78(void **state)
{
	arb_test_proc p;
	char          err[1024] = "";

	(void) state;
	// In-process: the checker names the path and the field.
	ARB_FAIL(arb_sup_spec_check(&bad_spec, err, sizeof(err)), ARB_ESPEC);
	assert_non_null(strstr(err,
	    "root/inner/sig: significant: a permanent "
	    "child cannot be significant"));
	// A node refuses to run it: nothing starts, exit 78.
	arb_test_spawn(&p, "invalid_spec", NULL);
	exited(&p, ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out,
	    "event=bad_spec root/inner/sig: "
	    "significant: a permanent child cannot "
	    "be significant"));
	assert_non_null(strstr(p.out, "node exit_code=78 rv=ARB_ESPEC"));
	assert_null(strstr(p.out, "event=init"));
	assert_null(strstr(p.out, "event=started"));
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_default_intensity_second_crash_gives_up),
	cmocka_unit_test(test_escalation_through_two_levels),
	cmocka_unit_test(test_failed_restart_is_retried_and_counts),
	cmocka_unit_test(test_failed_restart_retried_until_it_works),
	cmocka_unit_test(test_backoff_delays_are_capped_and_honoured),
	cmocka_unit_test(test_backoff_resets_after_a_stable_run),
	cmocka_unit_test(test_any_significant_shuts_down_two_levels),
	cmocka_unit_test(test_all_significant_waits_for_the_last),
	cmocka_unit_test(test_auto_shutdown_after_a_failure_exits_70),
	cmocka_unit_test(test_ignore_is_kept_not_started_not_restarted),
	cmocka_unit_test(test_invalid_spec_is_rejected_with_exit_78),
};

ARB_TEST_MAIN_TYPES("integration.intensity", tests, helpers, types)
