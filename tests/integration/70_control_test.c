// SPDX-License-Identifier: MIT
// 70_control_test.c -- introspection and control of a running node, end to
// end: arb_node_walk (tree order, states, backoff, stats snapshots),
// operator stop / start / restart (arb_node_child_*), arb_node_send, reload
// as a diff (arb_node_reload, and SIGHUP through the reload hook), liveness
// from heartbeats, readiness, uptime, give-ups and the node hooks.
// SPEC 6, 16, 23, 25.
//
// Each test runs a node in a helper process (this binary re-executed) with
// its own node main that installs hooks.  The ready hook opens a FIFO in
// the helper's ARB_TEST_DIR on the node loop; the test writes one command
// per line to it ("walk", "stop root/a", "await root/a running", ...) and
// the driver answers with lines carrying the command's sequence number, so
// an answer is never mistaken for an older one.  Waiting for an effect is
// a bounded polling timer on the node loop ("await"), never a sleep.
// arb_test_proc_fini checks that nothing tagged for the test is left,
// alive or zombie.

#include "arb_test.h"
#include "cmdfifo.h"
#include "probe.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DRV_POLL_MS  20    // await polling period on the node loop
#define DRV_AWAIT_MS 15000 // an await gives up (ok=0) after this
#define T_LINE_MS    20000 // the test's deadline for one answer line

// --- the driver (runs on the node thread of a helper) ---------------------

typedef struct drv_spec {
	const char         *name;
	const arb_sup_spec *spec;
} drv_spec;

typedef enum await_kind {
	AW_NONE = 0,
	AW_STATE, // a child reaches a state ("gone": not in the walk)
	AW_LIVE,  // arb_node_live becomes aw_live
	AW_MSGS,  // a child's stats snapshot shows msgs_in > 0
} await_kind;

typedef struct drv {
	arb_node       *node;
	const drv_spec *specs; // ends with { NULL, NULL }
	const char     *hup;   // spec the reload hook applies, or NULL
	const char     *probe; // path the stopping hook tries ops on
	arb_test_cmdfifo *fifo;
	struct event   *poll_ev;
	int             seq;
	int             nready;
	int             nstopping;
	int             nticks;
	unsigned long   nchanged;
	await_kind      aw;
	int             aw_seq;
	char            aw_path[128];
	char            aw_state[32];
	long            aw_not_ospid;
	bool            aw_live;
	char            aw_then[256];
	int64_t         aw_t0;
	int64_t         hang_t0;
} drv;

static drv the_drv;

static const char *
iso_name(arb_isolation i)
{
	switch (i) {
	case ARB_THREAD:
		return "thread";
	case ARB_PROCESS:
		return "process";
	case ARB_EXEC:
		return "exec";
	default:
		return "supervisor";
	}
}

static const char *
restart_name(arb_restart r)
{
	return r == ARB_PERMANENT ? "permanent"
	    : r == ARB_TRANSIENT  ? "transient"
	                          : "temporary";
}

static const char *
strategy_name(arb_strategy s)
{
	switch (s) {
	case ARB_ONE_FOR_ONE:
		return "one_for_one";
	case ARB_ONE_FOR_ALL:
		return "one_for_all";
	case ARB_REST_FOR_ONE:
		return "rest_for_one";
	default:
		return "simple_one_for_one";
	}
}

typedef struct walk_out {
	int seq;
	int n;
} walk_out;

// walk_cb prints one line per node of the tree.  `state` comes right after
// the path so that "walk seq=N path=P state=" names exactly one line.
static void
walk_cb(const arb_child_info *in, void *arg)
{
	walk_out *w = arg;
	char      ex[160] = "none";

	if (in->has_last_exit) {
		arb_exit_format(&in->last_exit, ex, sizeof(ex));
	}
	arb_test_emit("walk seq=%d path=%s state=%s depth=%d name=%s type=%s "
	              "iso=%s restart=%s strategy=%s ospid=%d pid=%llu "
	              "restarts=%u last_exit=%s next_in=%lld live=%d "
	              "hb_age=%lld uptime=%lld msgs_in=%llu",
	    w->seq, in->path, arb_child_state_name(in->state), in->depth,
	    in->name, in->type, iso_name(in->isolation),
	    restart_name(in->restart),
	    in->isolation == ARB_SUPERVISOR ? strategy_name(in->strategy)
	                                    : "-",
	    in->ospid, (unsigned long long) in->pid.id, in->restarts, ex,
	    (long long) in->next_attempt_in_ms, in->live ? 1 : 0,
	    (long long) in->heartbeat_age_ms, (long long) in->uptime_ms,
	    (unsigned long long) in->stats.msgs_in);
	w->n++;
}

typedef struct snap_out {
	char   s[2048];
	size_t len;
} snap_out;

// snap_cb sums the tree up in one line: what must not change when a
// reload is rejected (states, OS pids, incarnations).
static void
snap_cb(const arb_child_info *in, void *arg)
{
	snap_out *o = arg;
	int       n;

	n = snprintf(o->s + o->len, sizeof(o->s) - o->len, "%s:%s:%d:%llu;",
	    in->path, arb_child_state_name(in->state), in->ospid,
	    (unsigned long long) in->pid.id);
	if (n > 0 && (size_t) n < sizeof(o->s) - o->len) {
		o->len += (size_t) n;
	}
}

typedef struct find {
	const char     *path;
	bool            found;
	arb_child_state state;
	int             ospid;
	uint64_t        pid;
	int64_t         next_in;
	uint64_t        msgs_in;
	unsigned        restarts;
	bool            live;
	int64_t         hb_age;
} find;

static void
find_cb(const arb_child_info *in, void *arg)
{
	find *f = arg;

	if (strcmp(in->path, f->path) != 0) {
		return;
	}
	f->found = true;
	f->state = in->state;
	f->ospid = in->ospid;
	f->pid = in->pid.id;
	f->next_in = in->next_attempt_in_ms;
	f->msgs_in = in->stats.msgs_in;
	f->restarts = in->restarts;
	f->live = in->live;
	f->hb_age = in->heartbeat_age_ms;
}

static void drv_cmd(drv *d, char *line, int seq);

// drv_await_check tests the pending await; it prints the outcome when
// the condition holds or the deadline passed, then runs the chained
// command ("... then CMD"), in the same loop turn.
static void
drv_await_check(drv *d)
{
	find    f = { .path = d->aw_path };
	int64_t now = arb_test_now_ms();
	bool    ok = false;
	char    stuck[128] = "";
	char    then[256];
	bool    live = false;

	switch (d->aw) {
	case AW_NONE:
		return;
	case AW_STATE:
		arb_node_walk(d->node, find_cb, &f);
		if (strcmp(d->aw_state, "gone") == 0) {
			ok = !f.found;
		} else {
			ok = f.found
			    && strcmp(
			           arb_child_state_name(f.state), d->aw_state)
			        == 0
			    && (f.state != ARB_STATE_RESTARTING
			        || f.next_in > 0)
			    && (d->aw_not_ospid < 0
			        || (f.ospid > 0
			            && f.ospid != d->aw_not_ospid));
		}
		break;
	case AW_LIVE:
		live = arb_node_live(d->node, stuck, sizeof(stuck));
		ok = live == d->aw_live;
		break;
	case AW_MSGS:
		arb_node_walk(d->node, find_cb, &f);
		ok = f.found && f.msgs_in > 0;
		break;
	}
	if (!ok && now - d->aw_t0 < DRV_AWAIT_MS) {
		return;
	}
	event_del(d->poll_ev);
	if (d->aw == AW_LIVE) {
		arb_test_emit("drv seq=%d op=await_live want=%d ok=%d live=%d "
		              "stuck=%s since_cmd_ms=%lld since_hang_ms=%lld",
		    d->aw_seq, d->aw_live ? 1 : 0, ok ? 1 : 0, live ? 1 : 0,
		    stuck[0] ? stuck : "-", (long long) (now - d->aw_t0),
		    (long long) (d->hang_t0 > 0 ? now - d->hang_t0 : -1));
	} else {
		arb_test_emit(
		    "drv seq=%d op=await path=%s want=%s ok=%d "
		    "found=%d state=%s ospid=%d pid=%llu next_in=%lld "
		    "restarts=%u msgs_in=%llu live=%d hb_age=%lld "
		    "elapsed_ms=%lld",
		    d->aw_seq, d->aw_path,
		    d->aw == AW_MSGS ? "msgs" : d->aw_state, ok ? 1 : 0,
		    f.found ? 1 : 0, arb_child_state_name(f.state), f.ospid,
		    (unsigned long long) f.pid, (long long) f.next_in,
		    f.restarts, (unsigned long long) f.msgs_in, f.live ? 1 : 0,
		    (long long) f.hb_age, (long long) (now - d->aw_t0));
	}
	d->aw = AW_NONE;
	if (d->aw_then[0] != '\0') {
		snprintf(then, sizeof(then), "%s", d->aw_then);
		d->aw_then[0] = '\0';
		drv_cmd(d, then, d->aw_seq);
	}
}

static void
drv_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	drv_await_check(arg);
}

static void
drv_await_start(drv *d, await_kind kind, int seq)
{
	struct timeval tv = { 0, DRV_POLL_MS * 1000 };

	d->aw = kind;
	d->aw_seq = seq;
	d->aw_t0 = arb_test_now_ms();
	event_add(d->poll_ev, &tv);
	drv_await_check(d); // it may hold already
}

static const arb_sup_spec *
drv_find_spec(drv *d, const char *name)
{
	const drv_spec *s;

	for (s = d->specs; s != NULL && s->name != NULL; s++) {
		if (strcmp(s->name, name) == 0) {
			return s->spec;
		}
	}
	return NULL;
}

static void
drv_reload(drv *d, const char *name, int seq)
{
	const arb_sup_spec *spec = drv_find_spec(d, name);
	char                err[1024] = "";
	char               *c;
	int                 rv = ARB_EINVAL;

	if (spec != NULL) {
		rv = arb_node_reload(d->node, spec, err, sizeof(err));
	}
	for (c = err; *c != '\0'; c++) {
		if (*c == '\n') {
			*c = '|';
		}
	}
	arb_test_emit("drv seq=%d op=reload spec=%s rv=%s err=%s", seq, name,
	    arb_err_name(rv), err);
}

static void
drv_send(drv *d, char **argv, int argc, int seq)
{
	const char *body = argc > 3 ? argv[3] : "";
	uint32_t    tag = PROBE_ECHO;
	int         rv;

	if (strcmp(argv[2], "crash") == 0) {
		tag = PROBE_CRASH;
	} else if (strcmp(argv[2], "whereis") == 0) {
		tag = PROBE_WHEREIS;
	} else if (strcmp(argv[2], "hang") == 0) {
		tag = PROBE_HANG;
		d->hang_t0 = arb_test_now_ms();
	}
	rv = arb_node_send(d->node, argv[1], tag, body, strlen(body));
	arb_test_emit("drv seq=%d op=send path=%s kind=%s rv=%s", seq, argv[1],
	    argv[2], arb_err_name(rv));
}

// drv_cmd runs one command line (see the tests for the words).
static void
drv_cmd(drv *d, char *line, int seq)
{
	char *argv[8];
	int   argc = 0;
	char *save = NULL, *tok, *then;
	int   rv;

	if ((then = strstr(line, " then ")) != NULL) {
		*then = '\0';
		snprintf(d->aw_then, sizeof(d->aw_then), "%s", then + 6);
	}
	for (tok = strtok_r(line, " ", &save); tok != NULL && argc < 8;
	     tok = strtok_r(NULL, " ", &save)) {
		argv[argc++] = tok;
	}
	if (argc == 0) {
		return;
	}
	if (strcmp(argv[0], "walk") == 0) {
		walk_out w = { seq, 0 };
		arb_test_emit("walk seq=%d begin", seq);
		arb_node_walk(d->node, walk_cb, &w);
		arb_test_emit("walk seq=%d end n=%d", seq, w.n);
	} else if (strcmp(argv[0], "snap") == 0) {
		snap_out o = { .len = 0 };
		o.s[0] = '\0';
		arb_node_walk(d->node, snap_cb, &o);
		arb_test_emit("drv seq=%d op=snap tree=%s", seq, o.s);
	} else if (argc == 2
	    && (strcmp(argv[0], "stop") == 0 || strcmp(argv[0], "start") == 0
	        || strcmp(argv[0], "restart") == 0)) {
		if (argv[0][2] == 'o') {
			rv = arb_node_child_stop(d->node, argv[1]);
		} else if (argv[0][0] == 's') {
			rv = arb_node_child_start(d->node, argv[1]);
		} else {
			rv = arb_node_child_restart(d->node, argv[1]);
		}
		arb_test_emit("drv seq=%d op=%s path=%s rv=%s", seq, argv[0],
		    argv[1], arb_err_name(rv));
	} else if (strcmp(argv[0], "send") == 0 && argc >= 3) {
		drv_send(d, argv, argc, seq);
	} else if (strcmp(argv[0], "reload") == 0 && argc == 2) {
		drv_reload(d, argv[1], seq);
	} else if (strcmp(argv[0], "live") == 0) {
		char stuck[128] = "";
		bool live = arb_node_live(d->node, stuck, sizeof(stuck));
		arb_test_emit("drv seq=%d op=live live=%d stuck=%s", seq,
		    live ? 1 : 0, stuck[0] ? stuck : "-");
	} else if (strcmp(argv[0], "status") == 0) {
		arb_test_emit("drv seq=%d op=status ready=%d uptime_ms=%lld "
		              "give_ups=%llu changed=%lu",
		    seq, arb_node_ready(d->node) ? 1 : 0,
		    (long long) arb_node_uptime_ms(d->node),
		    (unsigned long long) arb_node_give_ups(d->node),
		    d->nchanged);
	} else if (strcmp(argv[0], "await") == 0 && argc >= 3) {
		snprintf(d->aw_path, sizeof(d->aw_path), "%s", argv[1]);
		snprintf(d->aw_state, sizeof(d->aw_state), "%s", argv[2]);
		d->aw_not_ospid = argc > 3 ? atol(argv[3]) : -1;
		drv_await_start(d, AW_STATE, seq);
	} else if (strcmp(argv[0], "await_live") == 0 && argc == 2) {
		d->aw_live = atoi(argv[1]) != 0;
		drv_await_start(d, AW_LIVE, seq);
	} else if (strcmp(argv[0], "await_msgs") == 0 && argc == 2) {
		snprintf(d->aw_path, sizeof(d->aw_path), "%s", argv[1]);
		drv_await_start(d, AW_MSGS, seq);
	} else {
		arb_test_emit("drv seq=%d op=unknown", seq);
	}
}

static void
drv_line(void *arg, const char *line)
{
	drv *d = arg;
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", line); // drv_cmd cuts it up
	drv_cmd(d, buf, ++d->seq);
}

// --- hooks -----------------------------------------------------------------

static void
hook_ready(arb_node *node, void *arg)
{
	drv *d = arg;
	char path[512];
	int  err;

	d->nready++;
	arb_test_emit("hook=ready n=%d ready=%d live=%d", d->nready,
	    arb_node_ready(node) ? 1 : 0,
	    arb_node_live(node, NULL, 0) ? 1 : 0);
	if (d->fifo != NULL) {
		return;
	}
	snprintf(path, sizeof(path), "%s/ctl", arb_test_dir());
	err = arb_test_cmdfifo_open(
	    &d->fifo, arb_node_base(node), path, drv_line, d);
	if (err != 0) {
		arb_test_emit("drv fifo open failed errno=%d", err);
		return;
	}
	d->poll_ev
	    = event_new(arb_node_base(node), -1, EV_PERSIST, drv_poll_cb, d);
	arb_test_emit("drv fifo=ready");
}

// hook_stopping tries every control operation: once a stop began they
// must all answer ARB_ESHUTDOWN.
static void
hook_stopping(arb_node *node, void *arg)
{
	drv        *d = arg;
	char        err[256];
	const char *p = d->probe != NULL ? d->probe : "root/none";
	int         stop, start, restart, reload;

	d->nstopping++;
	stop = arb_node_child_stop(node, p);
	start = arb_node_child_start(node, p);
	restart = arb_node_child_restart(node, p);
	reload = arb_node_reload(node, d->specs[0].spec, err, sizeof(err));
	arb_test_emit("hook=stopping n=%d ready=%d give_ups=%llu stop=%s "
	              "start=%s restart=%s reload=%s",
	    d->nstopping, arb_node_ready(node) ? 1 : 0,
	    (unsigned long long) arb_node_give_ups(node), arb_err_name(stop),
	    arb_err_name(start), arb_err_name(restart), arb_err_name(reload));
}

static void
hook_changed(arb_node *node, void *arg)
{
	drv *d = arg;

	(void) node;
	d->nchanged++;
}

static void
hook_tick(arb_node *node, void *arg)
{
	drv *d = arg;

	d->nticks++;
	arb_test_emit("hook=tick n=%d uptime_ms=%lld ready=%d", d->nticks,
	    (long long) arb_node_uptime_ms(node),
	    arb_node_ready(node) ? 1 : 0);
}

static void
hook_reload(arb_node *node, void *arg)
{
	drv *d = arg;

	(void) node;
	drv_reload(d, d->hup, 0);
}

// drv_main runs the node of a helper: specs[0] is the tree it starts
// with; hup (may be NULL) names the spec the SIGHUP reload hook applies.
static int
drv_main(const drv_spec *specs, const char *hup, const char *probe)
{
	drv           *d = &the_drv;
	arb_node      *node;
	arb_node_opts  o = { .name = "test" };
	arb_node_hooks h = { hook_ready, hook_stopping, hook_changed,
		hook_tick, hup != NULL ? hook_reload : NULL };
	int            code = -1;
	int            rv;

	d->specs = specs;
	d->hup = hup;
	d->probe = probe;
	if ((rv = arb_node_open(&node, &o)) != ARB_OK) {
		fprintf(stderr, "node open: %s\n", arb_strerror(rv));
		return 99;
	}
	d->node = node;
	arb_node_set_hooks(node, &h, d);
	rv = arb_node_run(node, specs[0].spec, &code);
	// Our events live on the node's base: free them before it goes.
	arb_test_cmdfifo_close(d->fifo);
	if (d->poll_ev != NULL) {
		event_free(d->poll_ev);
	}
	arb_node_close(node);
	arb_test_emit(
	    "node exit_code=%d rv=%s stopping_hooks=%d ready_hooks=%d", code,
	    arb_err_name(rv), d->nstopping, d->nready);
	return code;
}

// --- trees -----------------------------------------------------------------

static const char *const sleeper[] = { "/bin/sleep", "1000", NULL };
static const char *const sleeper2[] = { "/bin/sleep", "1000", NULL };

// walk: every kind of child, a nested supervisor and one in backoff.
static const arb_child_spec walk_s_kids[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec walk_s = {
	.strategy = ARB_ONE_FOR_ALL,
	.children = walk_s_kids,
	.nchildren = 1,
};
static const arb_child_spec walk_kids[] = {
	PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("b", ARB_THREAD, "init=ok"),
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &walk_s },
	{ .name = "e", .isolation = ARB_EXEC, .argv = sleeper },
	// Crashes 200 ms after each start; its restart waits up to 20 s.
	{ .name = "r",
	    .isolation = ARB_PROCESS,
	    .type = "probe",
	    .arg = "exit_after=200;exit=error:3",
	    .arg_len = sizeof("exit_after=200;exit=error:3"),
	    .backoff_min_ms = 20000,
	    .backoff_max_ms = 20000 },
};
static const arb_sup_spec walk_v1 = {
	.intensity = 20,
	.period_ms = 10000,
	.children = walk_kids,
	.nchildren = 5,
};
static const drv_spec walk_specs[] = { { "v1", &walk_v1 }, { NULL, NULL } };

// ops: one_for_all, so a crash restarts every child but a held one.
static const arb_child_spec ops_kids[] = {
	PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("b", ARB_THREAD, "init=ok"),
	PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("t", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec ops_v1 = {
	.strategy = ARB_ONE_FOR_ALL,
	.intensity = 10,
	.period_ms = 10000,
	.children = ops_kids,
	.nchildren = 4,
};
static const drv_spec ops_specs[] = { { "v1", &ops_v1 }, { NULL, NULL } };

// backoff: a crash-looping child whose restart waits out a long backoff.
static const arb_child_spec bo_kids[] = {
	{ .name = "r",
	    .isolation = ARB_THREAD,
	    .type = "probe",
	    .arg = "exit_after=100;exit=error:3",
	    .arg_len = sizeof("exit_after=100;exit=error:3"),
	    .backoff_min_ms = 20000,
	    .backoff_max_ms = 20000 },
	PROBE_CHILD("k", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec bo_v1 = {
	.intensity = 20,
	.period_ms = 10000,
	.children = bo_kids,
	.nchildren = 2,
};
static const drv_spec bo_specs[] = { { "v1", &bo_v1 }, { NULL, NULL } };

// reload: v1 -> v2 (a removed, b changed, c added, d untouched, s gains
// y), v3 invalid, v4 adds z, v5 adds w under s and q at the root.
// `l` is slow to start (800 ms): crashing it puts a restart under way.
#define RL_L                                                                  \
	{                                                                     \
		.name = "l", .isolation = ARB_THREAD, .type = "probe",        \
		.arg = "init=late:800", .arg_len = sizeof("init=late:800")    \
	}
static const arb_child_spec rl_s1_kids[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec   rl_s1 = { .children = rl_s1_kids, .nchildren = 1 };
static const arb_child_spec rl_s2_kids[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
	PROBE_CHILD("y", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec   rl_s2 = { .children = rl_s2_kids, .nchildren = 2 };
static const arb_child_spec rl_s5_kids[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
	PROBE_CHILD("y", ARB_THREAD, "init=ok"),
	PROBE_CHILD("w", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec   rl_s5 = { .children = rl_s5_kids, .nchildren = 3 };
static const arb_child_spec rl_v1_kids[] = {
	PROBE_CHILD("a", ARB_PROCESS, "init=ok;v=1"),
	PROBE_CHILD("b", ARB_PROCESS, "init=ok;v=1"),
	{ .name = "d", .isolation = ARB_EXEC, .argv = sleeper },
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &rl_s1 },
	RL_L,
};
static const arb_child_spec rl_v2_kids[] = {
	PROBE_CHILD("b", ARB_PROCESS, "init=ok;v=2"),
	PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
	{ .name = "d", .isolation = ARB_EXEC, .argv = sleeper2 },
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &rl_s2 },
	RL_L,
};
static const arb_child_spec rl_v3_kids[] = {
	PROBE_CHILD("b", ARB_PROCESS, "init=ok;v=2"),
	{ .name = "c",
	    .isolation = ARB_PROCESS,
	    .type = "probe",
	    .arg = "init=ok",
	    .arg_len = sizeof("init=ok"),
	    .significant = true }, // permanent + significant: invalid
	{ .name = "d", .isolation = ARB_EXEC, .argv = sleeper2 },
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &rl_s2 },
	RL_L,
};
static const arb_child_spec rl_v4_kids[] = {
	PROBE_CHILD("b", ARB_PROCESS, "init=ok;v=2"),
	PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
	{ .name = "d", .isolation = ARB_EXEC, .argv = sleeper2 },
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &rl_s2 },
	RL_L,
	PROBE_CHILD("z", ARB_THREAD, "init=ok"),
};
static const arb_child_spec rl_v5_kids[] = {
	PROBE_CHILD("b", ARB_PROCESS, "init=ok;v=2"),
	PROBE_CHILD("c", ARB_PROCESS, "init=ok"),
	{ .name = "d", .isolation = ARB_EXEC, .argv = sleeper2 },
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &rl_s5 },
	RL_L,
	PROBE_CHILD("z", ARB_THREAD, "init=ok"),
	PROBE_CHILD("q", ARB_THREAD, "init=ok"),
};
#define RL_SPEC(kids)                                                         \
	{                                                                     \
		.intensity = 10, .period_ms = 10000, .children = (kids),      \
		.nchildren = sizeof(kids) / sizeof((kids)[0])                 \
	}
static const arb_sup_spec rl_v1 = RL_SPEC(rl_v1_kids);
static const arb_sup_spec rl_v2 = RL_SPEC(rl_v2_kids);
static const arb_sup_spec rl_v3 = RL_SPEC(rl_v3_kids);
static const arb_sup_spec rl_v4 = RL_SPEC(rl_v4_kids);
static const arb_sup_spec rl_v5 = RL_SPEC(rl_v5_kids);
static const drv_spec     rl_specs[] = { { "v1", &rl_v1 }, { "v2", &rl_v2 },
	    { "v3", &rl_v3 }, { "v4", &rl_v4 }, { "v5", &rl_v5 }, { NULL, NULL } };

// pool: v1 has s as a one_for_one supervisor, v2 turns it into a
// simple_one_for_one pool, which cannot be diffed: it is replaced.
static const arb_child_spec pl_s1_kids[] = {
	PROBE_CHILD("x", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec   pl_s1 = { .children = pl_s1_kids, .nchildren = 1 };
static const arb_sup_spec   pl_s2 = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	  .children = pl_s1_kids, .nchildren = 1 };
static const arb_child_spec pl_v1_kids[] = {
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &pl_s1 },
	PROBE_CHILD("k", ARB_THREAD, "init=ok"),
};
static const arb_child_spec pl_v2_kids[] = {
	{ .name = "s", .isolation = ARB_SUPERVISOR, .sup = &pl_s2 },
	PROBE_CHILD("k", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec pl_v1 = RL_SPEC(pl_v1_kids);
static const arb_sup_spec pl_v2 = RL_SPEC(pl_v2_kids);
static const drv_spec     pl_specs[] = { { "v1", &pl_v1 }, { "v2", &pl_v2 },
	    { NULL, NULL } };

// hup: SIGHUP makes the reload hook apply v2.
static const arb_child_spec hup_v1_kids[] = {
	PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("b", ARB_THREAD, "init=ok"),
};
static const arb_child_spec hup_v2_kids[] = {
	PROBE_CHILD("b", ARB_THREAD, "init=ok"),
	PROBE_CHILD("c", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec hup_v1 = RL_SPEC(hup_v1_kids);
static const arb_sup_spec hup_v2 = RL_SPEC(hup_v2_kids);
static const drv_spec     hup_specs[]
    = { { "v1", &hup_v1 }, { "v2", &hup_v2 }, { NULL, NULL } };

// live: two process probes without a watchdog to hang, a nested
// supervisor that gives up at its first crash, a child slow to start (the
// tree is not ready before) and one slow to stop (ops during the stop).
static const arb_child_spec live_g_kids[] = {
	PROBE_CHILD("z", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec live_g = {
	.intensity = 0, // never restart: the first crash is a give-up
	.period_ms = 5000,
	.children = live_g_kids,
	.nchildren = 1,
};
static const arb_child_spec live_kids[] = {
	PROBE_CHILD("h", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("h2", ARB_PROCESS, "init=ok"),
	PROBE_CHILD("w", ARB_THREAD, "init=ok"),
	{ .name = "g", .isolation = ARB_SUPERVISOR, .sup = &live_g },
	PROBE_CHILD("late", ARB_THREAD, "init=late:1500"),
	PROBE_CHILD("slow", ARB_THREAD, "stop=slow:2500"),
};
static const arb_sup_spec live_v1 = RL_SPEC(live_kids);
static const drv_spec live_specs[] = { { "v1", &live_v1 }, { NULL, NULL } };

// giveup: the root gives up at the first crash while a slow child takes
// 2.5 s to stop; a SIGTERM arrives meanwhile.
static const arb_child_spec gu_kids[] = {
	PROBE_CHILD("slow", ARB_THREAD, "stop=slow:2500"),
	PROBE_CHILD("k", ARB_THREAD, "init=ok"),
};
static const arb_sup_spec gu_v1 = {
	.intensity = 0,
	.period_ms = 5000,
	.children = gu_kids,
	.nchildren = 2,
};
static const drv_spec gu_specs[] = { { "v1", &gu_v1 }, { NULL, NULL } };

// auto: a significant child's normal exit shuts the root down.
static const arb_child_spec auto_kids[] = {
	PROBE_CHILD("slow", ARB_THREAD, "stop=slow:2500"),
	{ .name = "sig",
	    .isolation = ARB_THREAD,
	    .type = "probe",
	    .arg = "init=ok",
	    .arg_len = sizeof("init=ok"),
	    .restart = ARB_TRANSIENT,
	    .significant = true },
};
static const arb_sup_spec auto_v1 = {
	.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
	.intensity = 10,
	.period_ms = 10000,
	.children = auto_kids,
	.nchildren = 2,
};
static const drv_spec auto_specs[] = { { "v1", &auto_v1 }, { NULL, NULL } };

// --- helpers (run in the child) -------------------------------------------

static int
h_walk(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(walk_specs, NULL, "root/a");
}

static int
h_ops(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(ops_specs, NULL, "root/b");
}

static int
h_backoff(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(bo_specs, NULL, "root/k");
}

static int
h_reload(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(rl_specs, NULL, "root/b");
}

static int
h_pool_reload(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(pl_specs, NULL, "root/k");
}

static int
h_hup(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(hup_specs, "v2", "root/b");
}

static int
h_live(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(live_specs, NULL, "root/w");
}

static int
h_giveup(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(gu_specs, NULL, "root/slow");
}

static int
h_auto(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return drv_main(auto_specs, NULL, "root/slow");
}

static const arb_test_helper helpers[] = {
	{ "walk", h_walk },
	{ "ops", h_ops },
	{ "backoff", h_backoff },
	{ "reload", h_reload },
	{ "pool_reload", h_pool_reload },
	{ "hup", h_hup },
	{ "live", h_live },
	{ "giveup", h_giveup },
	{ "auto", h_auto },
};

// --- test side -------------------------------------------------------------

typedef struct ctl {
	arb_test_proc p;
	int           fd;    // write end of the driver's FIFO
	int           seq;   // sequence number of the last command sent
	size_t        since; // output length when it was sent
	char          line[4096];
} ctl;

static void
ctl_start(ctl *t, const char *helper)
{
	char path[128];

	t->seq = 0;
	arb_test_spawn(&t->p, helper, NULL);
	arb_test_expect(&t->p, "drv fifo=ready", T_LINE_MS);
	snprintf(path, sizeof(path), "%s/ctl", t->p.dir);
	t->fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		fail_msg("open %s: errno %d", path, errno);
	}
}

static void
ctl_fini(ctl *t)
{
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	arb_test_proc_fini(&t->p);
}

// copy_line copies the line at l (up to its '\n') into t->line.
static const char *
copy_line(ctl *t, const char *l)
{
	size_t n = strcspn(l, "\n");

	if (n >= sizeof(t->line)) {
		n = sizeof(t->line) - 1;
	}
	memcpy(t->line, l, n);
	t->line[n] = '\0';
	return t->line;
}

// ctl_send writes one command line; it returns its sequence number.
static int ctl_send(ctl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ctl_send(ctl *t, const char *fmt, ...)
{
	char    buf[256];
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t) n < sizeof(buf) - 1);
	buf[n++] = '\n';
	t->since = t->p.len;
	assert_int_equal(write(t->fd, buf, (size_t) n), n);
	return ++t->seq;
}

// ask sends a command and returns a copy of the driver's answer line.
static const char *ask(ctl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
ask(ctl *t, const char *fmt, ...)
{
	char    cmd[256];
	char    needle[64];
	va_list ap;
	int     seq;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	seq = ctl_send(t, "%s", cmd);
	snprintf(needle, sizeof(needle), "drv seq=%d op=", seq);
	return copy_line(t, arb_test_expect(&t->p, needle, T_LINE_MS));
}

// answer waits for the answer `op` to command seq (a chained command
// answers with the sequence number of the await it follows).
static const char *
answer(ctl *t, int seq, const char *op)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "drv seq=%d op=%s ", seq, op);
	return copy_line(t, arb_test_expect(&t->p, needle, T_LINE_MS));
}

// has fails the test unless the copied line holds needle.
static void
has(const char *line, const char *needle)
{
	if (strstr(line, needle) == NULL) {
		fail_msg("expected \"%s\" in: %s", needle, line);
	}
}

// op runs stop/start/restart and checks the answer's error name.
static void
op(ctl *t, const char *what, const char *path, const char *rv)
{
	char want[64];

	snprintf(want, sizeof(want), " rv=%s", rv);
	has(ask(t, "%s %s", what, path), want);
}

// await waits for path to reach state, and returns the answer line.
static const char *
await(ctl *t, const char *path, const char *state)
{
	const char *l = ask(t, "await %s %s", path, state);

	has(l, " ok=1 ");
	return l;
}

// walk_begin asks for a walk; walk_line then returns the line of path,
// which must come after the previous one (depth-first start order).
static int
walk_begin(ctl *t)
{
	char needle[64];
	int  seq = ctl_send(t, "walk");

	snprintf(needle, sizeof(needle), "walk seq=%d begin", seq);
	arb_test_expect(&t->p, needle, T_LINE_MS);
	return seq;
}

static const char *
walk_line(ctl *t, int seq, const char *path)
{
	char needle[192];

	snprintf(
	    needle, sizeof(needle), "walk seq=%d path=%s state=", seq, path);
	return copy_line(t, arb_test_expect(&t->p, needle, T_LINE_MS));
}

static const char *
walk_end(ctl *t, int seq)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "walk seq=%d end", seq);
	return copy_line(t, arb_test_expect(&t->p, needle, T_LINE_MS));
}

// init_ospid waits for path's next init line and returns its OS pid.
static long
init_ospid(ctl *t, const char *path)
{
	char needle[160];

	snprintf(needle, sizeof(needle), "probe path=%s event=init ", path);
	return arb_test_field(
	    arb_test_expect(&t->p, needle, T_LINE_MS), "ospid");
}

static int
count_init(ctl *t, const char *path)
{
	char needle[160];

	snprintf(needle, sizeof(needle), "probe path=%s event=init ", path);
	return arb_test_count(&t->p, needle);
}

// after_cmd waits for needle in a line printed after the last command was
// sent: an actor's line may come before the driver's answer to the
// command that caused it.
static const char *
after_cmd(ctl *t, const char *needle)
{
	t->p.mark = t->since;
	return arb_test_expect(&t->p, needle, T_LINE_MS);
}

// expect_from waits for needle anywhere after position mark (the lines
// of concurrent events come in any order).
static void
expect_from(ctl *t, size_t mark, const char *needle)
{
	t->p.mark = mark;
	arb_test_expect(&t->p, needle, T_LINE_MS);
}

static void
stop_node(ctl *t, int code)
{
	kill(t->p.pid, SIGTERM);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&t->p, T_LINE_MS)), code);
}

// --- tests -----------------------------------------------------------------

static void
test_walk_shows_the_tree(void **state)
{
	ctl         t;
	const char *l;
	long        a_ospid, e_ospid;
	int         seq;
	char        needle[64];

	(void) state;
	ctl_start(&t, "walk");
	t.p.mark = 0;
	a_ospid = init_ospid(&t, "root/a");
	assert_true(a_ospid > 0);
	// A child in backoff is "restarting" with the time to its next try.
	// The walk runs in the loop turn that saw it restarting: the
	// backoff (a random delay) can't end in between.
	seq = ctl_send(&t, "await root/r restarting then walk");
	has(answer(&t, seq, "await"), " ok=1 ");
	assert_true(arb_test_field(t.line, "next_in") > 0);
	snprintf(needle, sizeof(needle), "walk seq=%d begin", seq);
	arb_test_expect(&t.p, needle, T_LINE_MS);
	l = walk_line(&t, seq, "root");
	has(l, " depth=0 name=root type=supervisor iso=supervisor ");
	has(l, " strategy=one_for_one ");
	has(l, "state=running ");
	l = walk_line(&t, seq, "root/a");
	has(l, "state=running depth=1 name=a type=probe iso=process ");
	has(l, " restarts=0 last_exit=none ");
	assert_int_equal(arb_test_field(l, "ospid"), a_ospid);
	assert_true(arb_test_field(l, "pid") > 0);
	l = walk_line(&t, seq, "root/b");
	has(l, "state=running depth=1 name=b type=probe iso=thread ");
	assert_int_equal(arb_test_field(l, "ospid"), 0);
	l = walk_line(&t, seq, "root/s");
	has(l, "state=running depth=1 name=s type=supervisor iso=supervisor ");
	has(l, " strategy=one_for_all ");
	l = walk_line(&t, seq, "root/s/x");
	has(l, "state=running depth=2 name=x type=probe iso=thread ");
	l = walk_line(&t, seq, "root/e");
	has(l, "state=running depth=1 name=e type=/bin/sleep iso=exec ");
	e_ospid = arb_test_field(l, "ospid");
	assert_true(e_ospid > 0);
	assert_int_equal(kill((pid_t) e_ospid, 0), 0); // a real process
	l = walk_line(&t, seq, "root/r");
	has(l, "state=restarting depth=1 name=r ");
	has(l, " last_exit=error{code=3,");
	assert_true(arb_test_field(l, "restarts") >= 1);
	assert_true(arb_test_field(l, "next_in") > 0);
	l = walk_end(&t, seq);
	has(l, " n=7");

	// Stats snapshots arrive with the heartbeats (about once a second),
	// for thread and process actors alike.
	has(ask(&t, "send root/a echo hello"), " rv=ARB_OK");
	has(ask(&t, "send root/b echo hello"), " rv=ARB_OK");
	l = ask(&t, "await_msgs root/a");
	has(l, " ok=1 ");
	assert_true(arb_test_field(l, "msgs_in") >= 1);
	l = ask(&t, "await_msgs root/b");
	has(l, " ok=1 ");
	assert_true(arb_test_field(l, "msgs_in") >= 1);

	stop_node(&t, 0);
	ctl_fini(&t);
}

static void
test_send_by_path(void **state)
{
	ctl t;

	(void) state;
	ctl_start(&t, "walk");
	has(ask(&t, "send root/a echo from-node"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/a event=msg tag=echo body=from-node");
	has(ask(&t, "send root/s/x echo nested"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/s/x event=msg tag=echo body=nested");
	// No such actor: an unknown path, a supervisor, an exec child.
	has(ask(&t, "send root/nope echo x"), " rv=ARB_ENOENT");
	has(ask(&t, "send root/s echo x"), " rv=ARB_ENOENT");
	has(ask(&t, "send root/e echo x"), " rv=ARB_ENOENT");
	stop_node(&t, 0);
	ctl_fini(&t);
}

static void
test_operator_stop_start_restart(void **state)
{
	ctl         t;
	const char *l;
	long        a1, a2, c1, c2, c3;
	int         seq, t_inits, b_inits, c_inits;
	size_t      mark;

	(void) state;
	ctl_start(&t, "ops");
	t.p.mark = 0;
	a1 = init_ospid(&t, "root/a");
	t.p.mark = 0;
	c1 = init_ospid(&t, "root/c");

	// stop: the child stops and stays stopped.
	op(&t, "stop", "root/a", "ARB_OK");
	after_cmd(&t, "root/a event=stopped reason=shutdown");
	await(&t, "root/a", "stopped");
	op(&t, "stop", "root/a", "ARB_OK"); // already stopped: stays so (OTP)
	has(ask(&t, "send root/a echo x"), " rv=ARB_ENOENT");

	// A sibling's crash restarts everything (one_for_all) but a.
	has(ask(&t, "send root/b crash error:5"), " rv=ARB_OK");
	after_cmd(&t, "root/b event=exit reason=error{code=5,");
	mark = t.p.mark;
	expect_from(&t, mark, "probe path=root/t event=terminate");
	expect_from(&t, mark, "probe path=root/c event=terminate");
	expect_from(&t, mark, "probe path=root/b event=init ");
	t.p.mark = mark;
	c2 = init_ospid(&t, "root/c");
	assert_true(c2 > 0 && c2 != c1);
	expect_from(&t, mark, "probe path=root/t event=init ");
	await(&t, "root/t", "running");
	seq = walk_begin(&t);
	l = walk_line(&t, seq, "root/a");
	has(l, "state=stopped ");
	has(l, " restarts=0 ");
	walk_end(&t, seq);
	assert_int_equal(count_init(&t, "root/a"), 1);

	// start brings it back, in a new OS process.
	op(&t, "start", "root/a", "ARB_OK");
	t.p.mark = t.since;
	a2 = init_ospid(&t, "root/a");
	assert_true(a2 > 0 && a2 != a1);
	l = await(&t, "root/a", "running");
	assert_int_equal(arb_test_field(l, "ospid"), a2);
	op(&t, "start", "root/a", "ARB_ESTATE"); // running already

	// restart of a thread probe re-inits it; siblings are untouched.
	t_inits = count_init(&t, "root/t");
	b_inits = count_init(&t, "root/b");
	c_inits = count_init(&t, "root/c");
	op(&t, "restart", "root/t", "ARB_OK");
	after_cmd(&t, "probe path=root/t event=terminate reason=shutdown");
	arb_test_expect(&t.p, "probe path=root/t event=init ", T_LINE_MS);
	await(&t, "root/t", "running");
	assert_int_equal(count_init(&t, "root/t"), t_inits + 1);

	// restart of a process probe gives it a new OS pid.
	op(&t, "restart", "root/c", "ARB_OK");
	t.p.mark = t.since;
	c3 = init_ospid(&t, "root/c");
	assert_true(c3 > 0 && c3 != c2);
	l = await(&t, "root/c", "running");
	assert_int_equal(arb_test_field(l, "ospid"), c3);
	assert_int_equal(count_init(&t, "root/b"), b_inits);
	assert_int_equal(count_init(&t, "root/c"), c_inits + 1);

	// Unknown paths (the root is not a child).
	op(&t, "stop", "root/nope", "ARB_ENOENT");
	op(&t, "start", "root/nope", "ARB_ENOENT");
	op(&t, "restart", "root/a/deeper", "ARB_ENOENT");
	op(&t, "restart", "root", "ARB_ENOENT");

	// Once the node stops, everything answers ARB_ESHUTDOWN.
	kill(t.p.pid, SIGTERM);
	l = copy_line(&t, arb_test_expect(&t.p, "hook=stopping", T_LINE_MS));
	has(l, "hook=stopping n=1 ready=0 ");
	has(l,
	    " stop=ARB_ESHUTDOWN start=ARB_ESHUTDOWN "
	    "restart=ARB_ESHUTDOWN reload=ARB_ESHUTDOWN");
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&t.p, T_LINE_MS)), 0);
	assert_int_equal(arb_test_count(&t.p, "hook=stopping"), 1);
	ctl_fini(&t);
}

static void
test_operator_stop_of_a_restarting_child(void **state)
{
	ctl         t;
	const char *l;
	int         seq, inits;

	(void) state;
	ctl_start(&t, "backoff");
	// The restart waits out the backoff: stop cancels it (in the loop
	// turn that saw it restarting), and the child stays stopped.
	seq = ctl_send(&t, "await root/r restarting then stop root/r");
	has(answer(&t, seq, "await"), " ok=1 ");
	has(answer(&t, seq, "stop"), " rv=ARB_OK");
	l = await(&t, "root/r", "stopped");
	inits = count_init(&t, "root/r");
	seq = walk_begin(&t);
	l = walk_line(&t, seq, "root/r");
	has(l, "state=stopped ");
	has(l, " next_in=0 ");
	has(l, " last_exit=error{code=3,");
	walk_end(&t, seq);
	// The supervisor is free again: other operations go through.
	op(&t, "restart", "root/k", "ARB_OK");
	after_cmd(&t, "probe path=root/k event=init ");
	await(&t, "root/k", "running");
	assert_int_equal(count_init(&t, "root/r"), inits);
	op(&t, "start", "root/r", "ARB_OK");
	after_cmd(&t, "probe path=root/r event=init ");
	stop_node(&t, 0);
	ctl_fini(&t);
}

// A nested supervisor that becomes a simple_one_for_one pool (or stops
// being one) is replaced, not half-diffed: its old child stops, and the
// new pool starts empty under the same path.
static void
test_reload_replaces_a_supervisor_that_becomes_a_pool(void **state)
{
	ctl         t;
	const char *l;
	size_t      mark;

	(void) state;
	ctl_start(&t, "pool_reload");
	await(&t, "root/s/x", "running");
	l = ask(&t, "reload v2");
	has(l, " rv=ARB_OK ");
	mark = t.since;
	expect_from(&t, mark, "root/s event=reload action=restart");
	expect_from(&t, mark, "root/s/x event=stopped");
	expect_from(&t, mark, "root/s event=started");
	await(&t, "root/s", "running");
	await(&t, "root/s/x", "gone");
	stop_node(&t, 0);
	ctl_fini(&t);
}

static void
test_reload_applies_a_diff(void **state)
{
	ctl         t;
	const char *l;
	long        a1, b1, b2, d1, c1;
	long        x_pid;
	int         seq, x_inits;
	size_t      mark;
	char        snap1[2048];

	(void) state;
	ctl_start(&t, "reload");
	await(&t, "root/l", "running");
	has(ask(&t, "send root/l whereis root/a"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/l event=whereis name=root/a rv=ARB_OK ");
	seq = walk_begin(&t);
	a1 = arb_test_field(walk_line(&t, seq, "root/a"), "ospid");
	b1 = arb_test_field(walk_line(&t, seq, "root/b"), "ospid");
	d1 = arb_test_field(walk_line(&t, seq, "root/d"), "ospid");
	x_pid = arb_test_field(walk_line(&t, seq, "root/s/x"), "pid");
	walk_end(&t, seq);
	assert_true(a1 > 0 && b1 > 0 && d1 > 0 && x_pid > 0);
	x_inits = count_init(&t, "root/s/x");

	// v2: a removed, b changed, c added, d untouched, s gains y.
	l = ask(&t, "reload v2");
	has(l, " rv=ARB_OK ");
	mark = t.since;
	expect_from(&t, mark, "root/a event=stopped");
	expect_from(&t, mark, "root/b event=stopped");
	expect_from(&t, mark, "probe path=root/c event=init ");
	expect_from(&t, mark, "probe path=root/s/y event=init ");
	t.p.mark = mark;
	b2 = init_ospid(&t, "root/b");
	assert_true(b2 > 0 && b2 != b1);
	await(&t, "root/a", "gone");
	l = await(&t, "root/b", "running");
	assert_int_equal(arb_test_field(l, "ospid"), b2);
	c1 = arb_test_field(await(&t, "root/c", "running"), "ospid");
	assert_true(c1 > 0);
	await(&t, "root/s/y", "running");
	seq = walk_begin(&t);
	walk_line(&t, seq, "root");
	assert_int_equal(
	    arb_test_field(walk_line(&t, seq, "root/b"), "ospid"), b2);
	assert_int_equal(
	    arb_test_field(walk_line(&t, seq, "root/c"), "ospid"), c1);
	l = walk_line(&t, seq, "root/d");
	has(l, "state=running ");
	assert_int_equal(arb_test_field(l, "ospid"), d1); // same process
	walk_line(&t, seq, "root/s");
	l = walk_line(&t, seq, "root/s/x");
	has(l, "state=running ");
	assert_int_equal(arb_test_field(l, "pid"), x_pid); // kept running
	has(walk_line(&t, seq, "root/s/y"), "state=running ");
	walk_line(&t, seq, "root/l");
	has(walk_end(&t, seq), " n=8");
	assert_int_equal(count_init(&t, "root/s/x"), x_inits);
	assert_int_equal(kill((pid_t) d1, 0), 0);
	has(ask(&t, "send root/a echo x"), " rv=ARB_ENOENT");
	// A removed child's path no longer resolves (it named the last
	// incarnation before); the changed one's names its new incarnation.
	has(ask(&t, "send root/l whereis root/a"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/l event=whereis name=root/a "
	              "rv=ARB_ENOENT ");
	has(ask(&t, "send root/l whereis root/b"), " rv=ARB_OK");
	l = after_cmd(&t, "probe path=root/l event=whereis name=root/b rv=");
	has(copy_line(&t, l), " rv=ARB_OK ");
	// A removed child's path no longer resolves (it named the last
	// incarnation before); the changed one's names its new incarnation.
	has(ask(&t, "send root/l whereis root/a"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/l event=whereis name=root/a "
	              "rv=ARB_ENOENT ");
	has(ask(&t, "send root/l whereis root/b"), " rv=ARB_OK");
	l = after_cmd(&t, "probe path=root/l event=whereis name=root/b rv=");
	has(copy_line(&t, l), " rv=ARB_OK ");

	// An invalid spec is rejected naming the field; nothing changes.
	l = ask(&t, "snap");
	snprintf(snap1, sizeof(snap1), "%s", strstr(l, " tree="));
	l = ask(&t, "reload v3");
	has(l, " rv=ARB_ESPEC ");
	has(l, "root/c: significant: a permanent child cannot be significant");
	l = ask(&t, "snap");
	assert_string_equal(strstr(l, " tree="), snap1);

	// A reload while a restart is under way changes nothing and says
	// so (ARB_EAGAIN); it goes through once the restart is done.
	has(ask(&t, "send root/l crash error:1"), " rv=ARB_OK");
	seq = ctl_send(&t, "await root/l starting then reload v4");
	has(answer(&t, seq, "await"), " ok=1 ");
	has(answer(&t, seq, "reload"), " rv=ARB_EAGAIN ");
	await(&t, "root/l", "running");
	seq = walk_begin(&t);
	l = walk_end(&t, seq);
	has(l, " n=8");
	assert_int_equal(count_init(&t, "root/z"), 0);
	has(ask(&t, "reload v4"), " rv=ARB_OK ");
	after_cmd(&t, "probe path=root/z event=init ");
	await(&t, "root/z", "running");

	// A stopped nested supervisor takes its new spec at its next start;
	// the reload starts nothing under it meanwhile.
	op(&t, "stop", "root/s", "ARB_OK");
	await(&t, "root/s", "stopped");
	has(ask(&t, "reload v5"), " rv=ARB_OK ");
	await(&t, "root/q", "running");
	seq = walk_begin(&t);
	has(walk_line(&t, seq, "root/s"), "state=stopped ");
	walk_end(&t, seq);
	{
		char needle[64];
		snprintf(
		    needle, sizeof(needle), "walk seq=%d path=root/s/w ", seq);
		assert_int_equal(arb_test_count(&t.p, needle), 0);
	}
	assert_int_equal(count_init(&t, "root/s/w"), 0);
	op(&t, "start", "root/s", "ARB_OK");
	after_cmd(&t, "probe path=root/s/w event=init ");
	await(&t, "root/s/w", "running");
	await(&t, "root/s/y", "running");

	stop_node(&t, 0);
	ctl_fini(&t);
}

static void
test_sighup_runs_the_reload_hook(void **state)
{
	ctl    t;
	long   a1;
	size_t mark;

	(void) state;
	ctl_start(&t, "hup");
	t.p.mark = 0;
	a1 = init_ospid(&t, "root/a");
	assert_true(a1 > 0);
	mark = t.p.len;
	kill(t.p.pid, SIGHUP);
	expect_from(&t, mark, "event=sighup action=reload");
	expect_from(&t, mark, "probe path=root/c event=init ");
	t.p.mark = mark;
	has(copy_line(
	        &t, arb_test_expect(&t.p, "op=reload spec=v2", T_LINE_MS)),
	    " rv=ARB_OK ");
	await(&t, "root/a", "gone");
	await(&t, "root/c", "running");
	assert_int_equal(count_init(&t, "root/b"), 1); // untouched
	stop_node(&t, 0);
	ctl_fini(&t);
}

// check_ticks: ticks before tree_up say not ready, later ones (until the
// stop) ready, and uptime grows.
static void
check_ticks(ctl *t)
{
	const char *up = strstr(t->p.out, "event=tree_up");
	const char *l = t->p.out;
	long        last = -1;
	int         n = 0;

	assert_non_null(up);
	while ((l = strstr(l, "hook=tick ")) != NULL) {
		long u = arb_test_field(l, "uptime_ms");
		long r = arb_test_field(l, "ready");
		if (l < up) {
			assert_int_equal(r, 0);
		}
		assert_true(u > last);
		last = u;
		n++;
		l++;
	}
	assert_true(n >= 3);
}

static void
test_live_ready_uptime_give_ups(void **state)
{
	ctl         t;
	const char *l;
	long        u1, h2;

	(void) state;
	ctl_start(&t, "live");
	t.p.mark = 0;
	l = copy_line(&t, arb_test_expect(&t.p, "hook=ready", T_LINE_MS));
	has(l, "hook=ready n=1 ready=1 live=1");
	l = ask(&t, "status");
	has(l, " ready=1 ");
	has(l, " give_ups=0 ");
	assert_true(arb_test_field(l, "changed") > 0);
	u1 = arb_test_field(l, "uptime_ms");
	assert_true(u1 >= 1000); // "late" took 1.5 s to start
	has(ask(&t, "live"), " live=1 stuck=-");
	// h2 is stopped during the hang below: stopped children don't count
	// for liveness, and its next incarnation must not inherit its old
	// heartbeat.
	h2 = arb_test_field(await(&t, "root/h2", "running"), "ospid");
	op(&t, "stop", "root/h2", "ARB_OK");
	await(&t, "root/h2", "stopped");

	// A process probe without a watchdog busy-loops 4 s: it is stuck
	// within 3 s of its last heartbeat, and live again after.
	has(ask(&t, "send root/h hang 4000"), " rv=ARB_OK");
	after_cmd(&t, "probe path=root/h event=hang ms=4000");
	l = ask(&t, "await_live 0");
	has(l, " ok=1 live=0 stuck=root/h ");
	assert_true(arb_test_field(l, "since_hang_ms") <= 3500);
	l = ask(&t, "await_live 1");
	has(l, " ok=1 live=1 stuck=- ");
	assert_true(arb_test_field(l, "since_hang_ms") >= 3000);
	// h2's new incarnation is live from READY on, although its
	// predecessor's last heartbeat is more than 3 s old.
	op(&t, "start", "root/h2", "ARB_OK");
	l = ask(&t, "await root/h2 running %ld", h2);
	has(l, " ok=1 ");
	has(l, " live=1 ");
	has(ask(&t, "live"), " live=1 stuck=-");

	// A nested supervisor gives up; the root restarts it.
	has(ask(&t, "send root/g/z crash error:1"), " rv=ARB_OK");
	after_cmd(&t, "root/g event=give_up");
	l = ask(&t, "status");
	has(l, " give_ups=1 ");
	has(l, " ready=1 ");
	assert_true(arb_test_field(l, "uptime_ms") >= u1 + 3000);
	await(&t, "root/g/z", "running");

	// SIGHUP without a reload hook is only logged.
	kill(t.p.pid, SIGHUP);
	arb_test_expect(&t.p, "event=sighup action=none", T_LINE_MS);
	has(ask(&t, "status"), " ready=1 ");

	// A stop: the hook runs once, not ready from then on; control
	// commands during the stop answer ARB_ESHUTDOWN.
	kill(t.p.pid, SIGTERM);
	l = copy_line(&t, arb_test_expect(&t.p, "hook=stopping", T_LINE_MS));
	has(l, "hook=stopping n=1 ready=0 give_ups=1 stop=ARB_ESHUTDOWN");
	arb_test_expect(
	    &t.p, "probe path=root/slow event=stop_requested", T_LINE_MS);
	l = ask(&t, "status");
	has(l, " ready=0 ");
	op(&t, "restart", "root/w", "ARB_ESHUTDOWN");
	has(ask(&t, "reload v1"), " rv=ARB_ESHUTDOWN ");
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&t.p, T_LINE_MS)), 0);
	assert_int_equal(arb_test_count(&t.p, "hook=stopping"), 1);
	assert_int_equal(arb_test_count(&t.p, "hook=ready"), 1);
	check_ticks(&t);
	ctl_fini(&t);
}

static void
test_root_give_up_is_one_stop(void **state)
{
	ctl         t;
	const char *l;

	(void) state;
	ctl_start(&t, "giveup");
	has(ask(&t, "send root/k crash error:1"), " rv=ARB_OK");
	l = copy_line(&t, after_cmd(&t, "hook=stopping"));
	has(l,
	    "hook=stopping n=1 ready=0 give_ups=1 stop=ARB_ESHUTDOWN "
	    "start=ARB_ESHUTDOWN restart=ARB_ESHUTDOWN "
	    "reload=ARB_ESHUTDOWN");
	arb_test_expect(
	    &t.p, "probe path=root/slow event=stop_requested", T_LINE_MS);
	has(ask(&t, "status"), " ready=0 ");
	has(ask(&t, "reload v1"), " rv=ARB_ESHUTDOWN ");
	// A SIGTERM during that stop is not a second stop.
	kill(t.p.pid, SIGTERM);
	arb_test_expect(&t.p, "event=signal signal=SIGTERM", T_LINE_MS);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&t.p, T_LINE_MS)),
	    ARB_EXIT_SOFTWARE);
	assert_int_equal(arb_test_count(&t.p, "hook=stopping"), 1);
	ctl_fini(&t);
}

static void
test_root_auto_shutdown_is_a_stop(void **state)
{
	ctl         t;
	const char *l;

	(void) state;
	ctl_start(&t, "auto");
	has(ask(&t, "status"), " ready=1 ");
	has(ask(&t, "send root/sig crash normal"), " rv=ARB_OK");
	after_cmd(
	    &t, "root/sig event=exit reason=normal decision=auto_shutdown");
	l = copy_line(&t, arb_test_expect(&t.p, "hook=stopping", T_LINE_MS));
	has(l, "hook=stopping n=1 ready=0 ");
	has(l,
	    " stop=ARB_ESHUTDOWN start=ARB_ESHUTDOWN "
	    "restart=ARB_ESHUTDOWN reload=ARB_ESHUTDOWN");
	arb_test_expect(
	    &t.p, "probe path=root/slow event=stop_requested", T_LINE_MS);
	has(ask(&t, "status"), " ready=0 ");
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&t.p, T_LINE_MS)), 0);
	assert_int_equal(arb_test_count(&t.p, "hook=stopping"), 1);
	ctl_fini(&t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_walk_shows_the_tree),
	cmocka_unit_test(test_send_by_path),
	cmocka_unit_test(test_operator_stop_start_restart),
	cmocka_unit_test(test_operator_stop_of_a_restarting_child),
	cmocka_unit_test(test_reload_applies_a_diff),
	cmocka_unit_test(test_reload_replaces_a_supervisor_that_becomes_a_pool),
	cmocka_unit_test(test_sighup_runs_the_reload_hook),
	cmocka_unit_test(test_live_ready_uptime_give_ups),
	cmocka_unit_test(test_root_give_up_is_one_stop),
	cmocka_unit_test(test_root_auto_shutdown_is_a_stop),
};

ARB_TEST_MAIN("integration.control", tests, helpers)
