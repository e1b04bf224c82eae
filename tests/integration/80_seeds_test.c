// SPDX-License-Identifier: MIT
// 80_seeds_test.c -- the four field reports arbor was created from
// (shared/seeds/), replayed against real nodes, each test named after its
// seed:
//  - 000: a collector whose MQTT part keeps failing must exit non-zero (70)
//    and say which child failed and why, so Restart=on-failure works.
//    SPEC 3, 9, 10.
//  - 001: at shutdown every child is reaped (grandchildren too), a task
//    that never ends is killed after its timeout, and a task that tries to
//    start tasks while the tree stops gets ARB_ESHUTDOWN.  SPEC 5, 12, 13.
//  - 002: a background task that fails is never silent: its failure is
//    logged exactly once, with the decision, and it is restarted.  SPEC 9.
//  - 003: a gather over many actors names every failing actor with its
//    error, and FIRST_EXCEPTION cancels what is outstanding; late replies
//    are counted, not leaked.  SPEC 15.
//
// Each test runs a node in a helper process (this binary re-executed) and
// reads its log lines; arb_test_proc_fini checks that no process tagged
// for the test is left, alive or zombie.

#include "arb_test.h"
#include "probe.h"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// --- "flaky": a background task of seed 002 ---------------------------------
//
// Its arg is a delay in ms (as a string).  After the delay its first
// incarnation fails with error{code=5,text="background task failed"}
// (a marker file in ARB_TEST_DIR remembers it); later incarnations print
// "flaky path=P event=steady" and keep running.

typedef struct flaky {
	arb_ctx      *ctx;
	struct event *ev;
} flaky;

static void
flaky_cb(evutil_socket_t fd, short what, void *arg)
{
	flaky      *f = arg;
	char        mark[512];
	struct stat st;
	FILE       *fp;

	(void) fd;
	(void) what;
	snprintf(mark, sizeof(mark), "%s/flaky-%s", arb_test_dir(),
	    strrchr(arb_path(f->ctx), '/') + 1);
	if (stat(mark, &st) == 0) {
		arb_test_emit("flaky path=%s event=steady", arb_path(f->ctx));
		return;
	}
	if ((fp = fopen(mark, "w")) != NULL) {
		fclose(fp);
	}
	arb_test_emit("flaky path=%s event=failing", arb_path(f->ctx));
	arb_actor_exit_error(f->ctx, 5, "background task failed");
}

static int
flaky_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	flaky         *f = calloc(1, sizeof(*f));
	char           cfg[32] = { 0 };
	int            ms;
	struct timeval tv;

	if (f == NULL) {
		return ARB_ENOMEM;
	}
	memcpy(cfg, arg, len < sizeof(cfg) ? len : sizeof(cfg) - 1);
	ms         = atoi(cfg);
	tv.tv_sec  = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	f->ctx     = ctx;
	if ((f->ev = evtimer_new(arb_base(ctx), flaky_cb, f)) == NULL) {
		free(f);
		return ARB_ENOMEM;
	}
	evtimer_add(f->ev, &tv);
	arb_test_emit("flaky path=%s event=init ospid=%d", arb_path(ctx),
	    (int) getpid());
	*statep = f;
	return ARB_OK;
}

static void
flaky_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	flaky *f = state;

	(void) ctx;
	(void) why;
	event_free(f->ev);
	free(f);
}

static const arb_actor_ops flaky_ops = {
	.type      = "flaky",
	.init      = flaky_init,
	.terminate = flaky_terminate,
};

// --- "spawner": starts a pool child at init, and tries again at stop ------
//
// It prints "spawner path=P event=start_child phase=init|stop rv=NAME".

static int
spawner_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_pid pid;
	int     rv;

	(void) arg;
	(void) len;
	*statep = NULL;
	rv = arb_start_child(ctx, "root/pool", "init=ok", sizeof("init=ok"),
	    &pid);
	arb_test_emit("spawner path=%s event=start_child phase=init rv=%s",
	    arb_path(ctx), arb_err_name(rv));
	return ARB_OK;
}

static void
spawner_stop(arb_ctx *ctx, void *state)
{
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };
	arb_pid  pid;
	int      rv;

	(void) state;
	// A task that starts more tasks while the tree stops (seed 001).
	rv = arb_start_child(ctx, "root/pool", "init=ok", sizeof("init=ok"),
	    &pid);
	arb_test_emit("spawner path=%s event=start_child phase=stop rv=%s",
	    arb_path(ctx), arb_err_name(rv));
	arb_actor_exit(ctx, &e);
}

static const arb_actor_ops spawner_ops = {
	.type = "spawner",
	.init = spawner_init,
	.stop = spawner_stop,
};

// --- "worker" and "gatherer": seed 003 --------------------------------------
//
// A worker's arg says how it answers a WORK request: "ok" replies with its
// path, "fail" answers arb_reply_error(7, "<path>: disk full"), "crash"
// dies of SIGABRT (process workers only), "gated" (thread workers only)
// blocks its loop until the gatherer's gather that sent its N-th WORK has
// ended, then replies: always late, whatever the load.  (It was
// "slow:2500" against a 1500 ms gather: w5 was late for sure, but under
// TSan at load 14 the process worker w3's answer and w4's crash were too,
// and the test failed 1 run in 7.)  PING is answered at once, after
// whatever came before it.

enum {
	TAG_WORK = 100,
	TAG_PING,
};

// How many of the gatherer's gathers have ended (the "gated" worker's
// gate); both run on threads of the node.
static pthread_mutex_t gate_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  gate_cv = PTHREAD_COND_INITIALIZER;
static int             gate_ended;

static void
gate_open(void)
{
	pthread_mutex_lock(&gate_mtx);
	gate_ended++;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mtx);
}

// gate_wait blocks until n gathers have ended (at most 30 s).
static void
gate_wait(int n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&gate_mtx);
	while (gate_ended < n
	    && pthread_cond_timedwait(&gate_cv, &gate_mtx, &dl) == 0) {
	}
	pthread_mutex_unlock(&gate_mtx);
}

static int
worker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	char *mode = calloc(1, 32);

	if (mode == NULL) {
		return ARB_ENOMEM;
	}
	memcpy(mode, arg, len < 32 ? len : 31);
	arb_test_emit("worker path=%s event=init mode=%s ospid=%d",
	    arb_path(ctx), mode, (int) getpid());
	*statep = mode;
	return ARB_OK;
}

static void
worker_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	char       *mode = state;
	const char *path = arb_path(ctx);
	char        text[96];

	if (!arb_msg_is_request(msg)) {
		return;
	}
	if (arb_msg_tag(msg) == TAG_PING) {
		arb_reply(ctx, msg, TAG_PING, NULL, 0);
		return;
	}
	if (arb_msg_tag(msg) != TAG_WORK) {
		return;
	}
	if (strcmp(mode, "fail") == 0) {
		snprintf(text, sizeof(text), "%s: disk full", path);
		arb_reply_error(ctx, msg, 7, text);
		return;
	}
	if (strcmp(mode, "crash") == 0) {
		struct rlimit none = { 0, 0 };

		arb_test_emit("worker path=%s event=crashing", path);
		setrlimit(RLIMIT_CORE, &none); // no core file for this one
		signal(SIGABRT, SIG_DFL);
		raise(SIGABRT);
		return;
	}
	if (strncmp(mode, "gated", 5) == 0) {
		mode[5]++; // "gated" counts its WORKs in the byte after it
		gate_wait((int) mode[5]);
	}
	arb_reply(ctx, msg, TAG_WORK, path, strlen(path));
}

static void
worker_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	free(state);
}

static const arb_actor_ops worker_ops = {
	.type      = "worker",
	.init      = worker_init,
	.handle    = worker_handle,
	.terminate = worker_terminate,
};

// The gatherer resolves root/w1..w5, gathers WORK from all five in
// ALL_COMPLETED mode (6000 ms), then from w1, w2, w3, w5 in FIRST_EXCEPTION
// mode, then pings w5 (its answer comes after its late WORK replies) and
// prints its late_replies count.  One line per result:
//   gather mode=all|first i=N path=P status=NAME code=C text=T exit=E
//   reply=R
// and "gather mode=M done n=N nerrors=K".
#define NWORKERS 5

typedef struct gatherer {
	arb_ctx      *ctx;
	arb_pid       pids[NWORKERS];
	char          paths[NWORKERS][32];
	struct event *ev;
} gatherer;

static const char *
gatherer_path_of(gatherer *g, arb_pid pid)
{
	size_t i;

	for (i = 0; i < NWORKERS; i++) {
		if (arb_pid_eq(g->pids[i], pid)) {
			return g->paths[i];
		}
	}
	return "?";
}

static void
gatherer_emit(gatherer *g, const char *mode, const arb_result *results,
    size_t n, size_t nerrors)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const arb_result *r = &results[i];
		char              ex[160] = "-";
		char              reply[64] = "-";

		if (r->status == ARB_EEXITED) {
			arb_exit_format(&r->exit, ex, sizeof(ex));
		}
		if (r->status == ARB_OK && r->reply != NULL) {
			size_t len = arb_msg_len(r->reply);
			if (len >= sizeof(reply)) {
				len = sizeof(reply) - 1;
			}
			memcpy(reply, arb_msg_body(r->reply), len);
			reply[len] = '\0';
		}
		arb_test_emit("gather mode=%s i=%zu path=%s status=%s code=%d "
		              "text=%s exit=%s reply=%s",
		    mode, i, gatherer_path_of(g, r->pid),
		    arb_err_name(r->status), r->code,
		    r->text[0] ? r->text : "-", ex, reply);
	}
	arb_test_emit(
	    "gather mode=%s done n=%zu nerrors=%zu", mode, n, nerrors);
}

static void
gatherer_ping_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	arb_stats st;

	(void) arg;
	arb_stats_get(ctx, &st);
	arb_test_emit("gatherer event=stats ping=%s late_replies=%llu",
	    arb_err_name(r->status), (unsigned long long) st.late_replies);
}

static void
gatherer_first_cb(arb_ctx *ctx, void *arg, const arb_result *results,
    size_t n, size_t nerrors)
{
	gatherer *g = arg;
	int       rv;

	gate_open(); // w5 answers its second WORK: late
	gatherer_emit(g, "first", results, n, nerrors);
	rv = arb_call(
	    ctx, g->pids[4], TAG_PING, NULL, 0, 20000, gatherer_ping_cb, g);
	if (rv != ARB_OK) {
		arb_test_emit("gatherer event=ping rv=%s", arb_err_name(rv));
	}
}

static void
gatherer_all_cb(arb_ctx *ctx, void *arg, const arb_result *results,
    size_t n, size_t nerrors)
{
	gatherer *g = arg;
	arb_pid   some[4];
	int       rv;

	gate_open(); // w5 answers its first WORK: late
	gatherer_emit(g, "all", results, n, nerrors);
	// w4 is restarting after its crash: leave it out of the second
	// round.
	some[0] = g->pids[0];
	some[1] = g->pids[1];
	some[2] = g->pids[2];
	some[3] = g->pids[4];
	rv = arb_gather(ctx, some, 4, TAG_WORK, "first", 5, 10000,
	    ARB_FIRST_EXCEPTION, gatherer_first_cb, g);
	if (rv != ARB_OK) {
		arb_test_emit("gatherer event=gather mode=first rv=%s",
		    arb_err_name(rv));
	}
}

static void
gatherer_start_cb(evutil_socket_t fd, short what, void *arg)
{
	gatherer *g = arg;
	size_t    i;
	int       rv;

	(void) fd;
	(void) what;
	for (i = 0; i < NWORKERS; i++) {
		snprintf(g->paths[i], sizeof(g->paths[i]), "root/w%zu", i + 1);
		if ((rv = arb_whereis(g->ctx, g->paths[i], &g->pids[i])) != 0) {
			arb_test_emit("gatherer event=whereis path=%s rv=%s",
			    g->paths[i], arb_err_name(rv));
			return;
		}
	}
	rv = arb_gather(g->ctx, g->pids, NWORKERS, TAG_WORK, "all", 3, 6000,
	    ARB_ALL_COMPLETED, gatherer_all_cb, g);
	if (rv != ARB_OK) {
		arb_test_emit("gatherer event=gather mode=all rv=%s",
		    arb_err_name(rv));
	}
}

static int
gatherer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	gatherer      *g   = calloc(1, sizeof(*g));
	struct timeval now = { 0, 0 };

	(void) arg;
	(void) len;
	if (g == NULL) {
		return ARB_ENOMEM;
	}
	g->ctx = ctx;
	if ((g->ev = evtimer_new(arb_base(ctx), gatherer_start_cb, g)) ==
	    NULL) {
		free(g);
		return ARB_ENOMEM;
	}
	evtimer_add(g->ev, &now);
	*statep = g;
	return ARB_OK;
}

static void
gatherer_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	gatherer *g = state;

	(void) ctx;
	(void) why;
	event_free(g->ev);
	free(g);
}

static const arb_actor_ops gatherer_ops = {
	.type      = "gatherer",
	.init      = gatherer_init,
	.terminate = gatherer_terminate,
};

static const arb_actor_ops *const types[] = { &flaky_ops, &spawner_ops,
	&worker_ops, &gatherer_ops, NULL };

// --- helpers (run in the child) -------------------------------------------

// Seed 000: the serial part is fine, the MQTT part fails over and over.
static int
h_collector(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("serial", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("mqtt", ARB_PROCESS, "exit_after=100;exit=error:3"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2,
		.intensity = 2, .period_ms = 10000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Seed 000 with the MQTT part an external program (as the Python
// collector was) that fails with status 1.
static int
h_collector_exec(int argc, char **argv)
{
	static const char *const mqtt[] = { "/bin/sh", "-c",
		"echo 'mqtt: client bug' >&2; exit 1", NULL };
	const arb_child_spec     c[]    = {
                PROBE_CHILD("serial", ARB_PROCESS, "init=ok"),
                { .name = "mqtt", .isolation = ARB_EXEC, .argv = mqtt },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Seed 001: a task that never ends and an external task with a child of
// its own.
static int
h_reap(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"sleep 1000 & echo gc=$!; wait", NULL };
	const arb_child_spec     c[]  = {
                { .name = "forever", .isolation = ARB_PROCESS, .type = "probe",
                    .arg = "stop=never", .arg_len = sizeof("stop=never"),
                    .shutdown_ms = 300 },
                { .name = "task", .isolation = ARB_EXEC, .argv = sh },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Seed 001: tasks that start tasks, also while the tree stops.
static int
h_spawn_in_stop(int argc, char **argv)
{
	const arb_child_spec tmpl[] = {
		PROBE_CHILD("job", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec   pool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
                  .children = tmpl, .nchildren = 1 };
	const arb_child_spec c[]  = {
                { .name = "pool", .isolation = ARB_SUPERVISOR, .sup = &pool },
                { .name = "spawner_t", .isolation = ARB_THREAD,
                    .type = "spawner" },
                { .name = "spawner_p", .isolation = ARB_PROCESS,
                    .type = "spawner" },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Seed 002: background tasks (a thread and a process) that fail once.
static int
h_background(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("main", ARB_THREAD, "init=ok"),
		{ .name = "bg_t", .isolation = ARB_THREAD, .type = "flaky",
		    .arg = "100", .arg_len = sizeof("100") },
		{ .name = "bg_p", .isolation = ARB_PROCESS, .type = "flaky",
		    .arg = "100", .arg_len = sizeof("100") },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3,
		.intensity = 5, .period_ms = 5000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Seed 003: five workers and a gatherer.
static int
h_gather(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "w1", .isolation = ARB_THREAD, .type = "worker",
		    .arg = "ok", .arg_len = sizeof("ok") },
		{ .name = "w2", .isolation = ARB_THREAD, .type = "worker",
		    .arg = "fail", .arg_len = sizeof("fail") },
		{ .name = "w3", .isolation = ARB_PROCESS, .type = "worker",
		    .arg = "ok", .arg_len = sizeof("ok") },
		{ .name = "w4", .isolation = ARB_PROCESS, .type = "worker",
		    .arg = "crash", .arg_len = sizeof("crash") },
		{ .name = "w5", .isolation = ARB_THREAD, .type = "worker",
		    .arg = "gated", .arg_len = sizeof("gated") },
		{ .name = "gatherer", .isolation = ARB_THREAD,
		    .type = "gatherer" },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 6,
		.intensity = 5, .period_ms = 5000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "collector", h_collector },
	{ "collector_exec", h_collector_exec },
	{ "reap", h_reap },
	{ "spawn_in_stop", h_spawn_in_stop },
	{ "background", h_background },
	{ "gather", h_gather },
};

// --- utilities -------------------------------------------------------------

// count2 counts the lines of everything the helper printed that contain
// both a and b.
static int
count2(arb_test_proc *p, const char *a, const char *b)
{
	const char *l = p->out;
	int         n = 0;

	while (l != NULL && *l != '\0') {
		const char *end = strchr(l, '\n');
		size_t      len = end ? (size_t) (end - l) : strlen(l);
		char        line[1024];

		if (len >= sizeof(line)) {
			len = sizeof(line) - 1;
		}
		memcpy(line, l, len);
		line[len] = '\0';
		if (strstr(line, a) != NULL && strstr(line, b) != NULL) {
			n++;
		}
		l = end ? end + 1 : NULL;
	}
	return n;
}

// expect_line waits for a line with needle (from the mark) and copies it.
static void
expect_line(arb_test_proc *p, const char *needle, int timeout_ms, char *buf,
    size_t len)
{
	const char *l = arb_test_expect(p, needle, timeout_ms);
	size_t      n = strcspn(l, "\n");

	if (n >= len) {
		n = len - 1;
	}
	memcpy(buf, l, n);
	buf[n] = '\0';
}

// --- tests: seed 000 ---------------------------------------------------------

static void
test_seed000_failing_mqtt_exits_nonzero(void **state)
{
	arb_test_proc p;
	const char   *l;

	(void) state;
	arb_test_spawn(&p, "collector", NULL);
	arb_test_expect(&p, "root/mqtt event=exit reason=error{code=3,text=\""
	                    "probe error\"} decision=restart",
	    10000);
	arb_test_expect(&p, "root/mqtt event=exit reason=error{code=3,text=\""
	                    "probe error\"} decision=restart",
	    10000);
	arb_test_expect(&p, "root/mqtt event=exit reason=error{code=3,text=\""
	                    "probe error\"} decision=give_up",
	    10000);
	arb_test_expect(&p, "root event=give_up reason=reached_max_restart_"
	                    "intensity child=mqtt intensity=2 period_ms=10000",
	    5000);
	arb_test_expect(&p, "root/serial event=stopped reason=shutdown", 5000);
	l = arb_test_expect(&p, "event=node_exit", 5000);
	assert_true(arb_test_field(l, "exit_code") == ARB_EXIT_SOFTWARE);
	assert_non_null(strstr(l, "requested=no"));
	// Not 0: systemd's Restart=on-failure restarts the collector.
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_SOFTWARE);
	assert_int_equal(arb_test_count(&p, "root/mqtt event=exit"), 3);
	arb_test_proc_fini(&p);
}

static void
test_seed000_failing_mqtt_program_exits_nonzero(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "collector_exec", NULL);
	arb_test_expect(&p, "root/mqtt event=exit reason=error{code=1,text=\""
	                    "exit status 1\"} decision=restart",
	    10000);
	arb_test_expect(&p, "root/mqtt event=exit reason=error{code=1,text=\""
	                    "exit status 1\"} decision=give_up",
	    10000);
	arb_test_expect(
	    &p, "root event=give_up reason=reached_max_restart_intensity "
	        "child=mqtt",
	    5000);
	arb_test_expect(&p, "root/serial event=stopped reason=shutdown", 5000);
	arb_test_expect(&p, "event=node_exit reason=shutdown{text=\"reached_"
	                    "max_restart_intensity\"} exit_code=70 "
	                    "requested=no",
	    5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_SOFTWARE);
	assert_int_equal(arb_test_count(&p, "mqtt: client bug"), 2);
	arb_test_proc_fini(&p);
}

// --- tests: seed 001 ---------------------------------------------------------

static void
test_seed001_everything_reaped_at_shutdown(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          gc;
	char          proc[64];
	struct stat   st;
	int           i, zombies = -1;

	(void) state;
	arb_test_spawn(&p, "reap", NULL);
	l  = arb_test_expect(&p, "gc=", 10000);
	gc = arb_test_field(l, "gc");
	assert_true(gc > 0);
	p.mark = 0;
	arb_test_expect(&p, "event=tree_up", 10000);
	snprintf(proc, sizeof(proc), "/proc/%ld", gc);
	assert_int_equal(stat(proc, &st), 0);
	kill(p.pid, SIGTERM);
	// The external task first (reverse order): its shell dies of the
	// SIGTERM, and its own child is killed with its process group.
	arb_test_expect(&p, "root/task event=stopped reason=shutdown", 5000);
	// Reaped by the node (subreaper): not even a zombie is left.
	for (i = 0; i < 500 && stat(proc, &st) == 0; i++) {
		arb_test_try_expect(&p, "\x01never", 10);
	}
	assert_int_not_equal(stat(proc, &st), 0);
	// The task that never ends is killed after its timeout.
	arb_test_expect(&p, "path=root/forever event=stop_requested stop=never",
	    5000);
	arb_test_expect(&p, "root/forever event=stop_deadline shutdown_ms=300 "
	                    "action=kill",
	    5000);
	arb_test_expect(&p, "root/forever event=stopped reason=killed", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_int_equal(arb_test_wait_tagged(p.tag, 0, 3000), 0);
	assert_int_equal(arb_test_tagged(p.tag, &zombies), 0);
	assert_int_equal(zombies, 0);
	arb_test_proc_fini(&p);
}

static void
test_seed001_no_task_started_after_stop_began(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "spawn_in_stop", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	// Each spawner started one job while the tree was up.
	assert_int_equal(
	    count2(&p, "spawner path=", "phase=init rv=ARB_OK"), 2);
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "spawner path=root/spawner_p event=start_child "
	                    "phase=stop rv=ARB_ESHUTDOWN",
	    5000);
	arb_test_expect(&p, "spawner path=root/spawner_t event=start_child "
	                    "phase=stop rv=ARB_ESHUTDOWN",
	    5000);
	arb_test_expect(&p, "root/pool event=stopped reason=shutdown", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Two jobs started, both stopped; nothing started after the stop.
	assert_int_equal(count2(&p, "path=root/pool/job.", "event=init"), 2);
	assert_int_equal(
	    count2(&p, "root/pool/job.", "event=stopped reason=shutdown"), 2);
	assert_int_equal(count2(&p, "root/pool/job.", "event=started"), 2);
	arb_test_proc_fini(&p);
}

// --- tests: seed 002 ---------------------------------------------------------

static void
background_check(arb_test_proc *p, const char *name)
{
	char   needle[160];
	char   line[512];
	size_t after_exit;

	p->mark = 0; // the two tasks fail in any order
	snprintf(needle, sizeof(needle), "flaky path=root/%s event=failing",
	    name);
	arb_test_expect(p, needle, 10000);
	snprintf(needle, sizeof(needle), "root/%s event=exit reason=", name);
	expect_line(p, needle, 5000, line, sizeof(line));
	after_exit = p->mark;
	// Logged at error level, with the reason and the decision.
	assert_non_null(strstr(line, ": error root/"));
	assert_non_null(strstr(line, "reason=error{code=5,text=\"background "
	                             "task failed\"} decision=restart"));
	snprintf(needle, sizeof(needle), "root/%s event=started", name);
	expect_line(p, needle, 10000, line, sizeof(line));
	assert_int_equal(arb_test_field(line, "restarts"), 1);
	// The new incarnation says steady 100 ms after its init: on a loaded
	// machine that can come before the node's "started" line (it did,
	// under ASan), so it is looked for from the exit on.
	p->mark = after_exit;
	snprintf(needle, sizeof(needle), "flaky path=root/%s event=steady",
	    name);
	arb_test_expect(p, needle, 10000);
}

static void
test_seed002_background_failure_logged_once_and_restarted(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "background", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	background_check(&p, "bg_t");
	background_check(&p, "bg_p");
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Exactly one line per failure; the steady sibling never noticed.
	assert_int_equal(arb_test_count(&p, "root/bg_t event=exit"), 1);
	assert_int_equal(arb_test_count(&p, "root/bg_p event=exit"), 1);
	assert_int_equal(arb_test_count(&p, "event=exit reason="), 2);
	assert_int_equal(arb_test_count(&p, "path=root/main event=init"), 1);
	assert_int_equal(count2(&p, "event=stopped reason=shutdown", "root/"),
	    3);
	arb_test_proc_fini(&p);
}

// --- tests: seed 003 ---------------------------------------------------------

static void
test_seed003_gather_names_every_failure(void **state)
{
	arb_test_proc p;
	char          line[512];
	long          late;

	(void) state;
	arb_test_spawn(&p, "gather", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	// ALL_COMPLETED: every result, in request order, each error with the
	// actor that raised it.
	arb_test_expect(&p, "gather mode=all i=0 path=root/w1 status=ARB_OK "
	                    "code=0 text=- exit=- reply=root/w1",
	    15000);
	arb_test_expect(&p, "gather mode=all i=1 path=root/w2 "
	                    "status=ARB_EREMOTE code=7 text=root/w2: disk full",
	    5000);
	arb_test_expect(&p, "gather mode=all i=2 path=root/w3 status=ARB_OK "
	                    "code=0 text=- exit=- reply=root/w3",
	    5000);
	arb_test_expect(&p, "gather mode=all i=3 path=root/w4 "
	                    "status=ARB_EEXITED code=0 text=- "
	                    "exit=crashed{signal=SIGABRT}",
	    5000);
	arb_test_expect(&p, "gather mode=all i=4 path=root/w5 "
	                    "status=ARB_ETIMEDOUT",
	    5000);
	arb_test_expect(&p, "gather mode=all done n=5 nerrors=3", 5000);
	// FIRST_EXCEPTION: w2's error ends it; w5 (still busy) is cancelled.
	// w1 and w3 may have answered first or been cancelled too.
	expect_line(&p, "gather mode=first i=0 path=root/w1 ", 10000, line,
	    sizeof(line));
	assert_true(strstr(line, "status=ARB_OK") != NULL ||
	    strstr(line, "status=ARB_ECANCELED") != NULL);
	arb_test_expect(&p, "gather mode=first i=1 path=root/w2 "
	                    "status=ARB_EREMOTE code=7 text=root/w2: disk full",
	    5000);
	expect_line(&p, "gather mode=first i=2 path=root/w3 ", 5000, line,
	    sizeof(line));
	assert_true(strstr(line, "status=ARB_OK") != NULL ||
	    strstr(line, "status=ARB_ECANCELED") != NULL);
	arb_test_expect(&p, "gather mode=first i=3 path=root/w5 "
	                    "status=ARB_ECANCELED",
	    5000);
	arb_test_expect(&p, "gather mode=first done n=4 nerrors=1", 5000);
	// w5's answers to the timed-out and the cancelled request came
	// before its answer to the ping: dropped and counted.
	expect_line(&p, "gatherer event=stats ping=ARB_OK", 15000, line,
	    sizeof(line));
	late = arb_test_field(line, "late_replies");
	assert_true(late >= 2);
	// The crash itself was logged once, with its decision.
	assert_int_equal(arb_test_count(&p, "root/w4 event=exit reason="
	                                    "crashed{signal=SIGABRT} "
	                                    "decision=restart"),
	    1);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_seed000_failing_mqtt_exits_nonzero),
	cmocka_unit_test(test_seed000_failing_mqtt_program_exits_nonzero),
	cmocka_unit_test(test_seed001_everything_reaped_at_shutdown),
	cmocka_unit_test(test_seed001_no_task_started_after_stop_began),
	cmocka_unit_test(
	    test_seed002_background_failure_logged_once_and_restarted),
	cmocka_unit_test(test_seed003_gather_names_every_failure),
};

ARB_TEST_MAIN_TYPES("integration.seeds", tests, helpers, types)
