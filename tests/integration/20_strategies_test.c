// SPDX-License-Identifier: MIT
// 20_strategies_test.c -- restart strategies and restart types with real
// thread and process children.  SPEC 1 (one_for_one, one_for_all,
// rest_for_one, simple_one_for_one: children added at run time, restarted
// independently, stopped in parallel), 2 (permanent, transient, temporary,
// including a temporary sibling taken down by one_for_all or rest_for_one),
// 5 (stop in reverse start order) and 13 (starting a child while the
// supervisor or the node stops gives ARB_ESHUTDOWN).
//
// Each test runs a node in a helper process (this binary re-executed).
// The children under test are probes; a "driver" thread actor defined here
// reads commands from a FIFO in the helper's ARB_TEST_DIR, so the test
// decides when a child crashes or a child is added, each exactly once, and
// then reads the node's log lines.  Nothing here sleeps to synchronise.

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
#include <time.h>
#include <unistd.h>

// --- the driver actor (runs in the node) ------------------------------------
//
// Its arg is "" or "stop_start=SUP_PATH".  At init it creates
// $ARB_TEST_DIR/<name>.fifo and prints "driver path=P event=listening".
// Each line written to the FIFO is one command:
//   crash PATH KIND   send PROBE_CRASH with body KIND to the actor at PATH
//                     -> "driver event=sent target=PATH kind=KIND rv=NAME"
//   start SUP ARG     arb_start_child(SUP, ARG) (ARG "-" means "")
//   setenv NAME VALUE setenv in the node process
//                     -> "driver event=setenv name=NAME rv=NAME"
//                     -> "driver event=start_child sup=SUP rv=NAME pid=N"
// With stop_start set, its stop callback tries arb_start_child on SUP_PATH
// and prints "driver path=P event=stop_start_child sup=SUP rv=NAME" before
// it exits with `shutdown`.

typedef struct driver {
	arb_ctx          *ctx;
	arb_test_cmdfifo *fifo;
	char              stop_start[128];
} driver;

static void
driver_exec(void *arg, const char *line)
{
	driver *d = arg;
	char    cmd[16] = "";
	char    a1[128] = "";
	char    a2[256] = "";
	arb_pid pid = ARB_PID_NONE;
	int     rv;

	if (sscanf(line, "%15s %127s %255s", cmd, a1, a2) < 2) {
		arb_test_emit("driver event=bad_command line=%s", line);
		return;
	}
	if (strcmp(a2, "-") == 0) {
		a2[0] = '\0';
	}
	if (strcmp(cmd, "crash") == 0) {
		if ((rv = arb_whereis(d->ctx, a1, &pid)) == ARB_OK) {
			rv = arb_send_copy(
			    d->ctx, pid, PROBE_CRASH, a2, strlen(a2));
		}
		arb_test_emit("driver event=sent target=%s kind=%s rv=%s", a1,
		    a2, arb_err_name(rv));
	} else if (strcmp(cmd, "setenv") == 0) {
		// The node's environment changes (as when the arbor program
		// loads a plugin): children started from now on must see it.
		rv = setenv(a1, a2, 1) == 0 ? ARB_OK : ARB_ENOMEM;
		arb_test_emit("driver event=setenv name=%s rv=%s", a1,
		    arb_err_name(rv));
	} else if (strcmp(cmd, "start") == 0) {
		rv = arb_start_child(d->ctx, a1, a2, strlen(a2) + 1, &pid);
		arb_test_emit("driver event=start_child sup=%s rv=%s pid=%llu",
		    a1, arb_err_name(rv), (unsigned long long) pid.id);
	} else {
		arb_test_emit("driver event=bad_command line=%s", line);
	}
}

static int
driver_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	driver     *d = calloc(1, sizeof(*d));
	const char *cfg = arg;
	char        path[256];
	int         err;

	if (d == NULL) {
		return ARB_ENOMEM;
	}
	d->ctx = ctx;
	if (cfg != NULL && len > 11 && strncmp(cfg, "stop_start=", 11) == 0) {
		snprintf(d->stop_start, sizeof(d->stop_start), "%.*s",
		    (int) (len - 11), cfg + 11);
	}
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
driver_stop(arb_ctx *ctx, void *state)
{
	driver  *d = state;
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };
	arb_pid  pid = ARB_PID_NONE;
	int      rv;

	if (d->stop_start[0] != '\0') {
		rv = arb_start_child(
		    ctx, d->stop_start, "init=ok", sizeof("init=ok"), &pid);
		arb_test_emit("driver path=%s event=stop_start_child sup=%s "
		              "rv=%s",
		    arb_path(ctx), d->stop_start, arb_err_name(rv));
	}
	arb_actor_exit(ctx, &e);
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
	.stop = driver_stop,
	.terminate = driver_terminate,
};

static const arb_actor_ops *const types[] = { &driver_ops, NULL };

#define DRIVER_CHILD(a)                                                       \
	{                                                                     \
		.name = "driver", .isolation = ARB_THREAD, .type = "driver",  \
		.arg = (a), .arg_len = sizeof(a) - 1                          \
	}

// --- helpers (run in the child) -------------------------------------------

// Every strategy tree is root(one_for_one) { sub(strategy), driver }, so
// the driver is never touched by the strategy under test.
static int
run_sub(const arb_child_spec *kids, size_t n, arb_strategy strategy)
{
	const arb_sup_spec   sub = { .strategy = strategy,
		  .intensity = 5,
		  .period_ms = 5000,
		  .children = kids,
		  .nchildren = n };
	const arb_child_spec c[] = {
		{ .name = "sub", .isolation = ARB_SUPERVISOR, .sup = &sub },
		DRIVER_CHILD(""),
	};
	const arb_sup_spec root = { .children = c, .nchildren = 2 };

	return arb_test_node_main(&root);
}

static int
h_one_for_one(int argc, char **argv)
{
	const arb_child_spec k[] = {
		PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("b", ARB_THREAD, "init=ok"),
		PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("d", ARB_THREAD, "init=ok"),
	};

	(void) argc;
	(void) argv;
	return run_sub(k, 4, ARB_ONE_FOR_ONE);
}

static int
h_one_for_all(int argc, char **argv)
{
	const arb_child_spec k[] = {
		PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("b", ARB_THREAD, "init=ok"),
		{ .name = "c",
		    .isolation = ARB_PROCESS,
		    .type = "probe",
		    .arg = "init=ok",
		    .arg_len = sizeof("init=ok"),
		    .restart = ARB_TRANSIENT },
		{ .name = "d",
		    .isolation = ARB_THREAD,
		    .type = "probe",
		    .arg = "init=ok",
		    .arg_len = sizeof("init=ok"),
		    .restart = ARB_TEMPORARY },
	};

	(void) argc;
	(void) argv;
	return run_sub(k, 4, ARB_ONE_FOR_ALL);
}

static int
h_rest_for_one(int argc, char **argv)
{
	const arb_child_spec k[] = {
		PROBE_CHILD("a", ARB_THREAD, "init=ok"),
		PROBE_CHILD("b", ARB_PROCESS, "init=ok"),
		{ .name = "c",
		    .isolation = ARB_THREAD,
		    .type = "probe",
		    .arg = "init=ok",
		    .arg_len = sizeof("init=ok"),
		    .restart = ARB_TRANSIENT },
		{ .name = "d",
		    .isolation = ARB_PROCESS,
		    .type = "probe",
		    .arg = "init=ok",
		    .arg_len = sizeof("init=ok"),
		    .restart = ARB_TEMPORARY },
	};

	(void) argc;
	(void) argv;
	return run_sub(k, 4, ARB_REST_FOR_ONE);
}

static int
h_restart_types(int argc, char **argv)
{
#define TYPED(n, iso, r)                                                      \
	{                                                                     \
		.name = (n), .isolation = (iso), .type = "probe",             \
		.arg = "init=ok", .arg_len = sizeof("init=ok"),               \
		.restart = (r)                                                \
	}
	const arb_child_spec k[] = {
		TYPED("perm", ARB_THREAD, ARB_PERMANENT),
		TYPED("tn", ARB_PROCESS, ARB_TRANSIENT),
		TYPED("ts", ARB_THREAD, ARB_TRANSIENT),
		TYPED("te", ARB_PROCESS, ARB_TRANSIENT),
		TYPED("tmp", ARB_THREAD, ARB_TEMPORARY),
	};
#undef TYPED
	const arb_sup_spec   sub = { .strategy = ARB_ONE_FOR_ONE,
		  .intensity = 20,
		  .period_ms = 5000,
		  .children = k,
		  .nchildren = 5 };
	const arb_child_spec c[] = {
		{ .name = "sub", .isolation = ARB_SUPERVISOR, .sup = &sub },
		DRIVER_CHILD(""),
	};
	const arb_sup_spec root = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&root);
}

// root { pool(simple_one_for_one of process probes), driver }.  The pool
// gives up at its first restart when argv[1] is "fragile".
static int
h_pool(int argc, char **argv)
{
	bool fragile = argc > 1 && strcmp(argv[1], "fragile") == 0;
	const arb_child_spec tmpl[] = {
		PROBE_CHILD("w", ARB_PROCESS, "init=ok"),
	};
	const arb_sup_spec   pool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
		  .intensity = fragile ? 0 : 5,
		  .period_ms = 5000,
		  .children = tmpl,
		  .nchildren = 1 };
	const arb_child_spec c[] = {
		{ .name = "pool", .isolation = ARB_SUPERVISOR, .sup = &pool },
		DRIVER_CHILD("stop_start=root/pool"),
	};
	const arb_sup_spec root = { .intensity = 5,
		.period_ms = 5000,
		.children = c,
		.nchildren = 2 };

	return arb_test_node_main(&root);
}

// root { sub(one_for_one) { a, c: process probes that print $ARB_T_ENV },
// driver }.
static int
h_env(int argc, char **argv)
{
	const arb_child_spec k[] = {
		PROBE_CHILD("a", ARB_PROCESS, "init=ok;env=ARB_T_ENV"),
		PROBE_CHILD("c", ARB_PROCESS, "init=ok;env=ARB_T_ENV"),
	};

	(void) argc;
	(void) argv;
	return run_sub(k, 2, ARB_ONE_FOR_ONE);
}

// root { sub(one_for_one) { t: a thread probe that leaves a 5 ms timer
// armed when it ends }, driver }.
static int
h_leaky(int argc, char **argv)
{
	const arb_child_spec k[] = {
		PROBE_CHILD("t", ARB_THREAD, "init=ok;tick=5"),
	};

	(void) argc;
	(void) argv;
	return run_sub(k, 1, ARB_ONE_FOR_ONE);
}

static const arb_test_helper helpers[] = {
	{ "leaky", h_leaky },
	{ "env", h_env },
	{ "one_for_one", h_one_for_one },
	{ "one_for_all", h_one_for_all },
	{ "rest_for_one", h_rest_for_one },
	{ "restart_types", h_restart_types },
	{ "pool", h_pool },
};

// --- test-side utilities ----------------------------------------------------

// cmd writes one command line to the driver's FIFO.
static void
cmd(arb_test_proc *p, const char *fmt, ...)
{
	char    line[512];
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t) n < sizeof(line) - 1);
	arb_test_cmdfifo_write(p, "driver.fifo", line);
}

// find returns the offset in p->out of the first line at or after `from`
// containing a (and b, unless NULL), or -1.
static long
find(const arb_test_proc *p, size_t from, const char *a, const char *b)
{
	const char *s = p->out + from;
	const char *nl;

	while ((nl = strchr(s, '\n')) != NULL) {
		const char *hit = memmem(s, (size_t) (nl - s), a, strlen(a));
		if (hit != NULL
		    && (b == NULL
		        || memmem(s, (size_t) (nl - s), b, strlen(b)))) {
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

// inits counts "probe path=PATH event=init" lines.
static int
inits(const arb_test_proc *p, const char *path)
{
	char needle[400];

	snprintf(needle, sizeof(needle), "probe path=%s event=init", path);
	return count(p, 0, needle, NULL);
}

// at returns the offset of "<path> <event>" at or after from; it must exist.
static long
at(const arb_test_proc *p, size_t from, const char *path, const char *ev)
{
	char needle[400];
	long off;

	snprintf(needle, sizeof(needle), "%s %s", path, ev);
	off = find(p, from, needle, NULL);
	if (off < 0) {
		fail_msg("no \"%s\" after offset %zu in:\n%s", needle, from,
		    p->out);
	}
	return off;
}

// ospid_at is the ospid= of the "<path> event=started" line at or after
// from.
static long
ospid_at(const arb_test_proc *p, size_t from, const char *path)
{
	return arb_test_field(
	    p->out + at(p, from, path, "event=started"), "ospid");
}

// actor_args returns the arguments of process ospid after its program,
// as /proc/PID/cmdline shows them now (what ps and pkill -f read),
// joined by spaces, empty ones left out.
static const char *
actor_args(long ospid)
{
	static char out[512];
	char        path[64], buf[1024];
	size_t      len, o = 0, i;
	FILE       *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", ospid);
	assert_non_null(f = fopen(path, "r"));
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	out[0]   = '\0';
	for (i = strlen(buf) + 1; i < len; i += strlen(buf + i) + 1) {
		if (buf[i] != '\0') {
			o += (size_t) snprintf(out + o, sizeof(out) - o, "%s%s",
			    o > 0 ? " " : "", buf + i);
			assert_true(o < sizeof(out));
		}
	}
	return out;
}

// start_tree spawns helper and waits until its tree is up and the driver
// listens.
static void
start_tree(arb_test_proc *p, const char *helper, const char *const *args)
{
	arb_test_spawn(p, helper, args);
	arb_test_expect(p, "root event=tree_up", 15000);
	assert_true(
	    find(p, 0, "driver path=root/driver event=listening", NULL) >= 0);
}

// stop_tree sends SIGTERM and checks the clean exit (SPEC 10); it returns
// the offset of the node's stop line, before which every line was written
// by the running tree.
static long
stop_tree(arb_test_proc *p)
{
	long off;

	kill(p->pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(p, 15000)), 0);
	off = find(p, 0, "event=stop_requested action=orderly_stop", NULL);
	assert_true(off >= 0);
	assert_true(find(p, 0, "node exit_code=0", NULL) >= 0);
	return off;
}

// --- tests ---------------------------------------------------------------

static void
test_one_for_one_restarts_only_the_failed_child(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          a_os, c_os, crash_b, crash_c, stop, standby, off;
	char          want[64];

	(void) state;
	start_tree(&p, "one_for_one", NULL);
	a_os = ospid_at(&p, 0, "root/sub/a");
	c_os = ospid_at(&p, 0, "root/sub/c");
	assert_true(a_os > 0 && c_os > 0 && a_os != c_os);

	cmd(&p, "crash root/sub/b error:5");
	l = arb_test_expect(
	    &p, "root/sub/b event=exit reason=error{code=5", 10000);
	assert_non_null(strstr(l, "decision=restart restarts=0"));
	crash_b = l - p.out;
	l = arb_test_expect(&p, "root/sub/b event=started", 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 1);

	// A standby process is spawned ahead each time a process child
	// starts: c took the one made when a started, and a new one waits.
	assert_int_equal(count(&p, 0, "event=standby ospid=", NULL), 2);
	off     = find(&p, 0, "event=standby ospid=", NULL);
	assert_int_equal(arb_test_field(p.out + off, "ospid"), c_os);
	off     = find(&p, (size_t) (strchr(p.out + off, '\n') - p.out) + 1,
	        "event=standby ospid=", NULL);
	standby = arb_test_field(p.out + off, "ospid");
	assert_true(standby > 0 && standby != a_os && standby != c_os);
	cmd(&p, "crash root/sub/c error:6"); // a process child this time
	l = arb_test_expect(
	    &p, "root/sub/c event=exit reason=error{code=6", 10000);
	assert_non_null(strstr(l, "decision=restart"));
	crash_c = l - p.out;
	l = arb_test_expect(&p, "root/sub/c event=started", 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 1);
	assert_true(arb_test_field(l, "ospid") != c_os); // a new process ...
	// ... the standby: it became c, and a new standby replaces it
	// (spawned as c got its INIT, so logged before "started").
	assert_int_equal(arb_test_field(l, "ospid"), standby);
	off = find(&p, (size_t) crash_c, "event=standby ospid=", NULL);
	assert_true(off >= 0);
	assert_true(arb_test_field(p.out + off, "ospid") != standby);
	// Every incarnation's argv names its type, as a (the first, spawned
	// for its type) does; c's was the standby's "-" (ps, pkill -f).  The
	// new standby's is "-" until its INIT.
	snprintf(want, sizeof(want), "--arb-actor probe %d", (int) p.pid);
	assert_string_equal(actor_args(a_os), want);
	assert_string_equal(actor_args(standby), want);
	snprintf(want, sizeof(want), "--arb-actor - %d", (int) p.pid);
	assert_string_equal(
	    actor_args(arb_test_field(p.out + off, "ospid")), want);

	stop = stop_tree(&p);
	// Only the failed child was restarted, each exactly once.
	assert_int_equal(inits(&p, "root/sub/a"), 1);
	assert_int_equal(inits(&p, "root/sub/b"), 2);
	assert_int_equal(inits(&p, "root/sub/c"), 2);
	assert_int_equal(inits(&p, "root/sub/d"), 1);
	assert_int_equal(count(&p, 0, "root/sub/a event=started", NULL), 1);
	assert_int_equal(count(&p, 0, "root/sub/d event=started", NULL), 1);
	// No sibling was stopped by a restart: their only stop is the final
	// one.
	assert_true(at(&p, 0, "root/sub/a", "event=stopped") > stop);
	assert_true(at(&p, 0, "root/sub/d", "event=stopped") > stop);
	assert_true(
	    at(&p, (size_t) crash_b, "root/sub/c", "event=stopped") > stop);
	assert_true(at(&p, 0, "root/sub/b", "event=stopped") > stop);
	assert_true(crash_b < crash_c && crash_c < stop);
	// The final stop runs in reverse start order.
	assert_true(at(&p, (size_t) stop, "root/sub/d", "event=stopped")
	    < at(&p, (size_t) stop, "root/sub/c", "event=stopped"));
	assert_true(at(&p, (size_t) stop, "root/sub/c", "event=stopped")
	    < at(&p, (size_t) stop, "root/sub/b", "event=stopped"));
	assert_true(at(&p, (size_t) stop, "root/sub/b", "event=stopped")
	    < at(&p, (size_t) stop, "root/sub/a", "event=stopped"));
	arb_test_proc_fini(&p);
}

static void
test_one_for_all_restarts_all_but_temporary(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          a_os, c_os, crash, stop, sd, sc, sa, ra, rb, rc;

	(void) state;
	start_tree(&p, "one_for_all", NULL);
	a_os = ospid_at(&p, 0, "root/sub/a");
	c_os = ospid_at(&p, 0, "root/sub/c");

	cmd(&p, "crash root/sub/b error:5");
	l = arb_test_expect(
	    &p, "root/sub/b event=exit reason=error{code=5", 10000);
	assert_non_null(strstr(l, "decision=restart"));
	crash = l - p.out;
	// c is the last child restarted (d is temporary: not restarted).
	arb_test_expect(&p, "root/sub/c event=started", 10000);

	stop = stop_tree(&p);
	// The siblings were stopped in reverse start order (d, c, a; b had
	// exited), then a, b, c started again in start order.
	sd = at(
	    &p, (size_t) crash, "root/sub/d", "event=stopped reason=shutdown");
	sc = at(
	    &p, (size_t) crash, "root/sub/c", "event=stopped reason=shutdown");
	sa = at(
	    &p, (size_t) crash, "root/sub/a", "event=stopped reason=shutdown");
	ra = at(&p, (size_t) crash, "root/sub/a", "event=started");
	rb = at(&p, (size_t) crash, "root/sub/b", "event=started");
	rc = at(&p, (size_t) crash, "root/sub/c", "event=started");
	assert_true(sd < sc && sc < sa && sa < ra && ra < rb && rb < rc);
	assert_true(rc < stop);
	assert_true(
	    find(&p, (size_t) crash, "root/sub/b event=stopped", NULL) > stop);
	// Process children really are new processes.
	assert_true(ospid_at(&p, (size_t) crash, "root/sub/a") != a_os);
	assert_true(ospid_at(&p, (size_t) crash, "root/sub/c") != c_os);
	assert_int_equal(inits(&p, "root/sub/a"), 2);
	assert_int_equal(inits(&p, "root/sub/b"), 2);
	assert_int_equal(inits(&p, "root/sub/c"), 2); // transient: restarted
	// SPEC 2: a temporary child taken down by a sibling's failure is
	// never restarted.
	assert_int_equal(inits(&p, "root/sub/d"), 1);
	assert_int_equal(count(&p, 0, "root/sub/d event=started", NULL), 1);
	assert_int_equal(count(&p, 0, "root/sub/d event=stopped", NULL), 1);
	// One failure, one decision logged.
	assert_int_equal(count(&p, 0, "root/sub/", "event=exit"), 1);
	arb_test_proc_fini(&p);
}

static void
test_rest_for_one_restarts_the_later_siblings(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          b_os, d_os, crash, stop, sd, sc, rb, rc;

	(void) state;
	start_tree(&p, "rest_for_one", NULL);
	b_os = ospid_at(&p, 0, "root/sub/b");
	d_os = ospid_at(&p, 0, "root/sub/d");
	assert_true(b_os > 0 && d_os > 0);

	cmd(&p, "crash root/sub/b error:7"); // b is a process
	l = arb_test_expect(
	    &p, "root/sub/b event=exit reason=error{code=7", 10000);
	assert_non_null(strstr(l, "decision=restart"));
	crash = l - p.out;
	arb_test_expect(&p, "root/sub/c event=started", 10000);

	stop = stop_tree(&p);
	// d then c stopped (reverse order), b then c restarted; a, before
	// the failed child, untouched.
	sd = at(
	    &p, (size_t) crash, "root/sub/d", "event=stopped reason=shutdown");
	sc = at(
	    &p, (size_t) crash, "root/sub/c", "event=stopped reason=shutdown");
	rb = at(&p, (size_t) crash, "root/sub/b", "event=started");
	rc = at(&p, (size_t) crash, "root/sub/c", "event=started");
	assert_true(sd < sc && sc < rb && rb < rc && rc < stop);
	assert_true(ospid_at(&p, (size_t) crash, "root/sub/b") != b_os);
	assert_true(at(&p, 0, "root/sub/a", "event=stopped") > stop);
	assert_int_equal(inits(&p, "root/sub/a"), 1);
	assert_int_equal(count(&p, 0, "root/sub/a event=started", NULL), 1);
	assert_int_equal(inits(&p, "root/sub/b"), 2);
	assert_int_equal(inits(&p, "root/sub/c"), 2);
	// The temporary d went down with b and stays down (SPEC 2).
	assert_int_equal(inits(&p, "root/sub/d"), 1);
	assert_int_equal(count(&p, 0, "root/sub/d event=started", NULL), 1);
	assert_int_equal(count(&p, 0, "root/sub/d event=stopped", NULL), 1);
	assert_int_equal(count(&p, 0, "root/sub/", "event=exit"), 1);
	arb_test_proc_fini(&p);
}

// crash_expect makes path exit with kind and waits for its exit line, which
// must carry the decision.
static void
crash_expect(arb_test_proc *p, const char *path, const char *kind,
    const char *reason, const char *decision)
{
	char        needle[400];
	const char *l;

	cmd(p, "crash %s %s", path, kind);
	snprintf(
	    needle, sizeof(needle), "%s event=exit reason=%s", path, reason);
	l = arb_test_expect(p, needle, 10000);
	snprintf(needle, sizeof(needle), "decision=%s restarts=", decision);
	if (memmem(l, (size_t) (strchr(l, '\n') - l), needle, strlen(needle))
	    == NULL) {
		fail_msg("expected %s on: %.*s", needle,
		    (int) (strchr(l, '\n') - l), l);
	}
}

static void
test_restart_types(void **state)
{
	arb_test_proc p;

	(void) state;
	start_tree(&p, "restart_types", NULL);
	// permanent: restarted after normal, shutdown and error exits.
	crash_expect(&p, "root/sub/perm", "normal", "normal", "restart");
	arb_test_expect(&p, "root/sub/perm event=started", 10000);
	crash_expect(&p, "root/sub/perm", "shutdown", "shutdown", "restart");
	arb_test_expect(&p, "root/sub/perm event=started", 10000);
	crash_expect(
	    &p, "root/sub/perm", "error:1", "error{code=1", "restart");
	arb_test_expect(&p, "root/sub/perm event=started", 10000);
	// transient: only after an abnormal exit.
	crash_expect(&p, "root/sub/tn", "normal", "normal", "none");
	crash_expect(&p, "root/sub/ts", "shutdown", "shutdown", "none");
	crash_expect(&p, "root/sub/te", "error:2", "error{code=2", "restart");
	arb_test_expect(&p, "root/sub/te event=started", 10000);
	// temporary: never.
	crash_expect(&p, "root/sub/tmp", "error:3", "error{code=3",
	    "remove(temporary)");
	// A last round trip through the node: any restart decided above has
	// been carried out (spawned) by the time this exit is handled.
	crash_expect(
	    &p, "root/sub/perm", "error:4", "error{code=4", "restart");
	arb_test_expect(&p, "root/sub/perm event=started", 10000);

	stop_tree(&p);
	assert_int_equal(inits(&p, "root/sub/perm"), 5);
	assert_int_equal(inits(&p, "root/sub/tn"), 1);
	assert_int_equal(inits(&p, "root/sub/ts"), 1);
	assert_int_equal(inits(&p, "root/sub/te"), 2);
	assert_int_equal(inits(&p, "root/sub/tmp"), 1);
	// Children that were not restarted are not stopped again at the end.
	assert_int_equal(count(&p, 0, "root/sub/tn event=stopped", NULL), 0);
	assert_int_equal(count(&p, 0, "root/sub/tmp event=stopped", NULL), 0);
	arb_test_proc_fini(&p);
}

// pool_children starts n pool children with probe config arg and returns
// their paths (each path buffer holds 64 bytes).
static void
pool_children(arb_test_proc *p, int n, const char *arg, char (*paths)[64])
{
	size_t      mark = p->mark;
	const char *l;
	int         i;

	for (i = 0; i < n; i++) {
		cmd(p, "start root/pool %s", arg);
		l = arb_test_expect(
		    p, "driver event=start_child sup=root/pool", 10000);
		assert_non_null(strstr(l, "rv=ARB_OK"));
		assert_true(arb_test_field(l, "pid") > 0);
	}
	p->mark = mark;
	for (i = 0; i < n; i++) {
		size_t k;
		l = arb_test_expect(p, "probe path=root/pool/", 10000);
		assert_non_null(strstr(l, " event=init "));
		l += strlen("probe path=");
		k = strcspn(l, " ");
		assert_true(k < 64);
		memcpy(paths[i], l, k);
		paths[i][k] = '\0';
	}
	p->mark = mark;
	for (i = 0; i < n; i++) {
		arb_test_expect(p, "event=started isolation=process", 10000);
	}
}

static void
test_simple_one_for_one(void **state)
{
	arb_test_proc p;
	char          w[5][64];
	char          needle[400];
	const char   *l;
	const char   *args[] = { "sturdy", NULL };
	long          stop, first_stopped;
	int           i, j;

	(void) state;
	start_tree(&p, "pool", args);
	assert_int_equal(count(&p, 0, "probe path=root/pool/", NULL), 0);
	pool_children(&p, 5, "stop=slow:400", w);
	for (i = 0; i < 5; i++) {
		for (j = 0; j < i; j++) {
			assert_string_not_equal(w[i], w[j]);
		}
	}

	// Each child restarts on its own.
	cmd(&p, "crash %s error:3", w[1]);
	snprintf(
	    needle, sizeof(needle), "%s event=exit reason=error{code=3", w[1]);
	l = arb_test_expect(&p, needle, 10000);
	assert_non_null(strstr(l, "decision=restart"));
	snprintf(needle, sizeof(needle), "%s event=started", w[1]);
	l = arb_test_expect(&p, needle, 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(inits(&p, w[i]), i == 1 ? 2 : 1);
	}

	// Stopped in parallel (each child takes 400 ms to stop): every stop
	// request went out before the first child had stopped.  Sequential
	// stops would interleave request, stop, request, stop.  (No
	// wall-clock assertion: timing belongs in bench/.)
	stop = stop_tree(&p);
	first_stopped = find(&p, (size_t) stop, "root/pool/", "event=stopped");
	assert_true(first_stopped > stop);
	for (i = 0; i < 5; i++) {
		snprintf(needle, sizeof(needle),
		    "probe path=%s event=stop_requested", w[i]);
		l = strstr(p.out + stop, needle);
		assert_non_null(l);
		assert_true(l - p.out < first_stopped);
		snprintf(needle, sizeof(needle),
		    "%s event=stopped reason=shutdown", w[i]);
		assert_true(find(&p, (size_t) stop, needle, NULL) > 0);
	}
	// SPEC 13: starting a child once the node is stopping is refused,
	// and nothing was started after the stop began.
	assert_true(find(&p, (size_t) stop,
	                "driver path=root/driver event=stop_start_child "
	                "sup=root/pool rv=ARB_ESHUTDOWN",
	                NULL)
	    > stop);
	assert_int_equal(
	    count(&p, 0, "probe path=root/pool/", "event=init"), 6);
	assert_int_equal(
	    count(&p, (size_t) stop, "root/pool/", "event=started"), 0);
	arb_test_proc_fini(&p);
}

// SPEC 13 at the supervisor level: the node runs on, but the pool itself is
// stopping (it gave up) when the driver asks it for a child.
static void
test_start_child_while_pool_stops(void **state)
{
	arb_test_proc p;
	char          w[2][64];
	char          needle[400];
	const char   *l;
	const char   *args[] = { "fragile", NULL };
	long          give_up;

	(void) state;
	start_tree(&p, "pool", args);
	// w[0] stops at once, w[1] takes 3 s to stop: the pool stays in its
	// stop long enough for the driver's request.
	pool_children(&p, 1, "-", w);
	pool_children(&p, 1, "stop=slow:3000", w + 1);
	cmd(&p, "crash %s error:3", w[0]);
	snprintf(
	    needle, sizeof(needle), "%s event=exit reason=error{code=3", w[0]);
	l = arb_test_expect(&p, needle, 10000);
	assert_non_null(strstr(l, "decision=give_up"));
	l = arb_test_expect(&p, "root/pool event=give_up", 10000);
	give_up = l - p.out;
	snprintf(needle, sizeof(needle), "probe path=%s event=stop_requested",
	    w[1]);
	arb_test_expect(&p, needle, 10000);
	cmd(&p, "start root/pool -");
	l = arb_test_expect(
	    &p, "driver event=start_child sup=root/pool", 10000);
	assert_non_null(strstr(l, "rv=ARB_ESHUTDOWN"));
	// The slow child is stopped, the pool exits `shutdown` and its
	// parent restarts it (empty: run-time children are not in the spec).
	snprintf(needle, sizeof(needle), "%s event=stopped", w[1]);
	arb_test_expect(&p, needle, 10000);
	l = arb_test_expect(&p, "root/pool event=exit reason=shutdown", 10000);
	assert_non_null(strstr(l, "decision=restart"));
	arb_test_expect(&p, "root/pool event=started", 10000);
	// The pool works again.
	cmd(&p, "start root/pool -");
	l = arb_test_expect(
	    &p, "driver event=start_child sup=root/pool", 10000);
	assert_non_null(strstr(l, "rv=ARB_OK"));

	stop_tree(&p);
	assert_int_equal(
	    count(&p, 0, "probe path=root/pool/", "event=init"), 3);
	assert_true(give_up > 0);
	arb_test_proc_fini(&p);
}

// A restarted thread actor may run on its predecessor's thread (and its
// loop, when clean), but nothing the old incarnation left armed on that
// loop may fire into the new one: the old incarnation's timer never ticks
// again once the new one is up.
static void
test_restart_leaves_nothing_of_the_old_incarnation(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          old, new_pid;
	int           fresh = 0;

	(void) state;
	start_tree(&p, "leaky", NULL);
	l   = arb_test_expect(&p, "probe path=root/sub/t event=tick", 10000);
	old = arb_test_field(l, "inc");
	assert_true(old > 0);
	cmd(&p, "crash root/sub/t error:3");
	l = arb_test_expect(&p, "root/sub/t event=started", 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 1);
	new_pid = arb_test_field(l, "pid");
	assert_true(new_pid > 0 && new_pid != old);
	// Twenty periods of the new timer: the old one would have ticked
	// about as often.
	while (fresh < 20) {
		l = arb_test_expect(
		    &p, "probe path=root/sub/t event=tick", 10000);
		assert_int_equal(arb_test_field(l, "inc"), new_pid);
		fresh++;
	}
	stop_tree(&p);
	arb_test_proc_fini(&p);
}

// A standby process (spawned ahead for the next process start) is not used
// once the node's environment changed: the restarted child is a fresh
// process that sees the new value.  Without a change it is the standby.
static void
test_standby_is_not_used_after_an_env_change(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          standby, off;

	(void) state;
	unsetenv("ARB_T_ENV");
	start_tree(&p, "env", NULL);
	assert_true(find(&p, 0, "probe path=root/sub/c event=env",
	                "ARB_T_ENV=(unset)") >= 0);
	// The standby spawned when c was READY (a's went to c).
	off = find(&p, 0, "event=standby ospid=", NULL);
	off = find(&p, (size_t) (strchr(p.out + off, '\n') - p.out) + 1,
	    "event=standby ospid=", NULL);
	assert_true(off >= 0);
	standby = arb_test_field(p.out + off, "ospid");
	cmd(&p, "setenv ARB_T_ENV two");
	arb_test_expect(&p, "driver event=setenv name=ARB_T_ENV rv=ARB_OK",
	    10000);
	cmd(&p, "crash root/sub/c error:3");
	l = arb_test_expect(&p, "root/sub/c event=exit", 10000);
	off = l - p.out;
	l = arb_test_expect(&p, "probe path=root/sub/c event=env", 10000);
	assert_non_null(strstr(l, "ARB_T_ENV=two"));
	assert_true(arb_test_field(l, "ospid") != standby);
	// With the environment unchanged since, the next standby (spawned
	// as the new c got its INIT, before "started") is used.
	arb_test_expect(&p, "root/sub/c event=started", 10000);
	off = find(&p, (size_t) off, "event=standby ospid=", NULL);
	assert_true(off >= 0);
	standby = arb_test_field(p.out + off, "ospid");
	cmd(&p, "crash root/sub/a error:3");
	l = arb_test_expect(&p, "probe path=root/sub/a event=env", 10000);
	assert_non_null(strstr(l, "ARB_T_ENV=two"));
	assert_int_equal(arb_test_field(l, "ospid"), standby);
	stop_tree(&p);
	arb_test_proc_fini(&p);
}

// The next standby is spawned as soon as a process child has its INIT,
// not when it is READY: it loads while the child runs its init, so a
// restart right after READY (a crash loop) finds it loaded.  Here the
// child's init takes 1.5 s; the standby is there long before its READY.
static void
test_standby_is_spawned_during_the_init(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          sb, ready;

	(void) state;
	start_tree(&p, "pool", NULL);
	assert_true(find(&p, 0, "event=standby ospid=", NULL) < 0);
	cmd(&p, "start root/pool init=late:1500");
	l = arb_test_expect(&p, "event=standby ospid=", 10000);
	sb = l - p.out;
	// The child's init ends 1.5 s after it began: then it is READY
	// and the driver's start returns.
	l = arb_test_expect(&p, "driver event=start_child sup=root/pool",
	    10000);
	assert_non_null(strstr(l, "rv=ARB_OK"));
	ready = find(&p, 0, "event=late_ready", NULL);
	assert_true(ready >= 0);
	assert_true(sb < ready);
	stop_tree(&p);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_standby_is_spawned_during_the_init),
	cmocka_unit_test(test_standby_is_not_used_after_an_env_change),
	cmocka_unit_test(test_restart_leaves_nothing_of_the_old_incarnation),
	cmocka_unit_test(test_one_for_one_restarts_only_the_failed_child),
	cmocka_unit_test(test_one_for_all_restarts_all_but_temporary),
	cmocka_unit_test(test_rest_for_one_restarts_the_later_siblings),
	cmocka_unit_test(test_restart_types),
	cmocka_unit_test(test_simple_one_for_one),
	cmocka_unit_test(test_start_child_while_pool_stops),
};

ARB_TEST_MAIN_TYPES("integration.strategies", tests, helpers, types)
