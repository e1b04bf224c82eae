// SPDX-License-Identifier: MIT
// 52_send_errors_test.c -- arb_send's error contract (SPEC 18): a pid that
// never had a mailbox, an exec child, the node itself and a
// simple_one_for_one child that ended for good give ARB_ENOENT at once,
// and the message stays the caller's; a call to a child that ended and
// will not be restarted (transient ended normally, temporary) is refused
// at once too, and a call waiting in its mailbox when it ended is
// answered noproc (docs/supervision.md, the mailbox of a child that will
// not be restarted).

#include "arb_test.h"
#include "probe.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static arb_pid       ended;
static arb_ctx      *ended_ctx;
static struct event *retry_ev;
static int           tries;

// "sender" tries every bad destination once READY and prints the codes.
static int
sender_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_pid  made_up = { .id = ((uint64_t) 1 << 62) | ((uint64_t) 900000 << 32) | 7 };
	arb_pid  node    = { 0 };
	arb_pid  exec, gone;
	arb_msg *m;
	int      rv;

	(void) arg;
	(void) len;
	*statep = NULL;
	if (arb_msg_alloc(&m, 1, "x", 1) != ARB_OK) {
		return ARB_ENOMEM;
	}
	rv = arb_send(ctx, made_up, m);
	arb_test_emit("sender event=made_up rv=%s", arb_err_name(rv));
	rv = arb_send(ctx, node, m);
	arb_test_emit("sender event=node rv=%s", arb_err_name(rv));
	if (arb_whereis(ctx, "root/sleeper", &exec) == ARB_OK) {
		rv = arb_send(ctx, exec, m);
		arb_test_emit("sender event=exec rv=%s", arb_err_name(rv));
	}
	// A run-time child that answers ignore is removed for good.
	rv = arb_start_child(ctx, "root/pool", "init=ignore",
	    sizeof("init=ignore"), &gone);
	arb_test_emit("sender event=start_ignored rv=%s", arb_err_name(rv));
	rv = arb_start_child(ctx, "root/pool", "exit_after=50;exit=normal",
	    sizeof("exit_after=50;exit=normal"), &gone);
	arb_test_emit("sender event=started rv=%s", arb_err_name(rv));
	if (rv == ARB_OK) {
		uint64_t ref;
		ended     = gone;
		ended_ctx = ctx;
		arb_monitor(ctx, gone, &ref);
	}
	// The message is still ours after every failure: free it.
	arb_msg_free(m);
	return ARB_OK;
}

// After the temporary run-time child ended, its slot is removed: sends to
// it fail with ARB_ENOENT.  The DOWN can overtake the removal by a hair
// (it is sent first), so retry a bounded number of times.
static void
sender_retry(evutil_socket_t fd, short what, void *arg)
{
	int            rv = arb_send_copy(ended_ctx, ended, 1, "y", 1);
	struct timeval tv = { 0, 10000 };

	(void) fd;
	(void) what;
	(void) arg;
	if (rv == ARB_ENOENT || ++tries == 100) {
		arb_test_emit("sender event=ended_child rv=%s tries=%d",
		    arb_err_name(rv), tries);
		event_free(retry_ev);
		return;
	}
	evtimer_add(retry_ev, &tv);
}

static void
sender_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	(void) state;
	if (arb_msg_tag(msg) == ARB_TAG_DOWN) {
		retry_ev = evtimer_new(arb_base(ctx), sender_retry, NULL);
		sender_retry(-1, 0, NULL);
	}
}

static const arb_actor_ops sender_ops = {
	.type   = "sender",
	.init   = sender_init,
	.handle = sender_handle,
};

// "caller" (arg: a child path) makes the child hang 300 ms, end normally
// and, 100 ms later (the child still hanging), calls it (5 s timeout):
// that call waits in the child's mailbox when it ends.  With arg "PATH
// same" it asks the child to end and calls it in one batch, 100 ms after
// its init: the child takes the call with the batch and ends before
// reading it.  The call's answer and a call made once both that answer
// and the DOWN of its monitor of the child came are printed with how long
// each took.
#define CALLER_TIMEOUT_MS 5000

typedef struct caller_st {
	arb_ctx      *ctx;
	char          path[64];
	arb_pid       to; // the child's slot address
	struct event *ev;
	int64_t       t0;
	int           step;
	bool          same; // the end and the call in one batch
	bool          down; // its monitor of the child fired
} caller_st;

static void caller_call(caller_st *st);

static void
caller_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	caller_st *st = arg;

	(void) ctx;
	arb_test_emit("caller %s %s status=%s exit=%d ms=%lld text=%s",
	    st->path, st->step == 1 ? "queued" : "after",
	    arb_err_name(r->status), (int) r->exit.kind,
	    (long long) (arb_test_now_ms() - st->t0), r->text);
	if (st->step++ == 1 && st->down) {
		caller_call(st); // the slot is closed by now
	}
}

static void
caller_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	caller_st *st = state;

	(void) ctx;
	if (arb_msg_tag(m) == ARB_TAG_DOWN && !st->down) {
		st->down = true;
		if (st->step == 2) {
			caller_call(st);
		}
	}
}

static void
caller_call(caller_st *st)
{
	int rv;

	st->t0 = arb_test_now_ms();
	rv = arb_call(st->ctx, st->to, PROBE_ECHO, "hi", 2, CALLER_TIMEOUT_MS,
	    caller_cb, st);
	if (rv != ARB_OK) {
		arb_test_emit("caller %s after status=%s exit=0 ms=0 text=refused",
		    st->path, arb_err_name(rv));
	}
}

static void
caller_tick(evutil_socket_t fd, short what, void *arg)
{
	caller_st *st = arg;

	(void) fd;
	(void) what;
	st->step = 1;
	if (st->same) {
		ARB_PASS(arb_send_copy(
		    st->ctx, st->to, PROBE_CRASH, "normal", 7));
	}
	caller_call(st);
}

static int
caller_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	caller_st     *st = calloc(1, sizeof(*st));
	struct timeval tv = { 0, 100000 };
	uint64_t       ref;

	if (st == NULL) {
		return ARB_ENOMEM;
	}
	*statep = st;
	st->ctx = ctx;
	snprintf(st->path, sizeof(st->path), "%.*s", (int) len,
	    (const char *) arg);
	if (strchr(st->path, ' ') != NULL) {
		*strchr(st->path, ' ') = '\0';
		st->same = true;
	}
	if (arb_whereis(ctx, st->path, &st->to) != ARB_OK) {
		return ARB_ENOENT;
	}
	ARB_PASS(arb_monitor(ctx, st->to, &ref)); // this incarnation's
	st->to = arb_pid_slot(st->to);
	if (!st->same) {
		ARB_PASS(arb_send_copy(ctx, st->to, PROBE_HANG, "300", 4));
		ARB_PASS(
		    arb_send_copy(ctx, st->to, PROBE_CRASH, "normal", 7));
	}
	st->ev = evtimer_new(arb_base(ctx), caller_tick, st);
	if (st->ev == NULL) {
		return ARB_ENOMEM;
	}
	evtimer_add(st->ev, &tv);
	return ARB_OK;
}

static void
caller_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	caller_st *st = state;

	(void) ctx;
	(void) why;
	if (st->ev != NULL) {
		event_free(st->ev);
	}
	free(st);
}

static const arb_actor_ops caller_ops = {
	.type      = "caller",
	.init      = caller_init,
	.handle    = caller_handle,
	.terminate = caller_terminate,
};

// "freezer", a process actor, stops its own process (SIGSTOP) on
// TAG_FREEZE: nothing reads the node's link to it any more.
#define TAG_FREEZE 0x5102u

static int
freezer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	*statep = NULL;
	arb_test_emit("freezer path=%s event=init ospid=%d", arb_path(ctx),
	    (int) getpid());
	return ARB_OK;
}

static void
freezer_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	(void) ctx;
	(void) state;
	if (arb_msg_tag(m) == TAG_FREEZE) {
		raise(SIGSTOP);
	}
}

static const arb_actor_ops freezer_ops = {
	.type = "freezer",
	.init = freezer_init,
	.handle = freezer_handle,
};

// "stuffer" starts a freezer in root/ppool (temporary), makes it stop
// its process and floods it with 32 KiB sends until arb_send gives
// ARB_EAGAIN: the link to it full (nothing reads it), its own queue
// towards it full.  Then it tells "asker" the actor's pid; asker calls it
// (5 s timeout): its own queue takes the call, the full link refuses it,
// so the call waits in asker's queue.  The test kills the process: the
// actor is removed and the link gone, and asker's queue answers the call.
// (A process that still read its link could take the call into its
// mailbox, which dies with it: a crash shows as a timeout, arb_call.)
#define FLOOD_LEN   (32 * 1024)
#define TAG_STUFFED 0x5101u

typedef struct stuffer_st {
	arb_ctx      *ctx;
	arb_pid       w;
	struct event *ev;
	char         *body;
	unsigned      sent;
} stuffer_st;

static void
stuffer_tick(evutil_socket_t fd, short what, void *arg)
{
	stuffer_st    *st = arg;
	struct timeval tv = { 0, 1000 };
	arb_pid        asker;
	int            rv = ARB_OK, i;

	(void) fd;
	(void) what;
	for (i = 0; i < 16 && rv == ARB_OK; i++) {
		if ((rv = arb_send_copy(
		         st->ctx, st->w, PROBE_SILENT, st->body, FLOOD_LEN))
		    == ARB_OK) {
			st->sent++;
		}
	}
	if (rv == ARB_OK) {
		evtimer_add(st->ev, &tv); // the next turn: its queue flushed
		return;
	}
	arb_test_emit(
	    "stuffer event=full rv=%s sent=%u", arb_err_name(rv), st->sent);
	if (rv == ARB_EAGAIN
	    && arb_whereis(st->ctx, "root/asker", &asker) == ARB_OK) {
		ARB_PASS(arb_send_copy(
		    st->ctx, asker, TAG_STUFFED, &st->w, sizeof(st->w)));
	}
}

static int
stuffer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	stuffer_st    *st = calloc(1, sizeof(*st));
	struct timeval tv = { 0, 1000 };
	int            rv;

	(void) arg;
	(void) len;
	if (st == NULL || (st->body = calloc(1, FLOOD_LEN)) == NULL) {
		free(st);
		return ARB_ENOMEM;
	}
	*statep = st;
	st->ctx = ctx;
	rv = arb_start_child(ctx, "root/ppool", "", 1, &st->w);
	arb_test_emit("stuffer event=started rv=%s", arb_err_name(rv));
	if (rv != ARB_OK) {
		return rv;
	}
	ARB_PASS(arb_send_copy(ctx, st->w, TAG_FREEZE, "", 0));
	if ((st->ev = evtimer_new(arb_base(ctx), stuffer_tick, st)) == NULL) {
		return ARB_ENOMEM;
	}
	evtimer_add(st->ev, &tv);
	return ARB_OK;
}

static void
stuffer_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	stuffer_st *st = state;

	(void) ctx;
	(void) why;
	if (st->ev != NULL) {
		event_free(st->ev);
	}
	free(st->body);
	free(st);
}

static const arb_actor_ops stuffer_ops = {
	.type = "stuffer",
	.init = stuffer_init,
	.terminate = stuffer_terminate,
};

static int64_t asker_t0;

static void
asker_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	(void) ctx;
	(void) arg;
	arb_test_emit("asker event=answer status=%s exit=%d ms=%lld text=%s",
	    arb_err_name(r->status), (int) r->exit.kind,
	    (long long) (arb_test_now_ms() - asker_t0), r->text);
}

static void
asker_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	arb_pid w;
	int     rv;

	(void) state;
	if (arb_msg_tag(m) != TAG_STUFFED || arb_msg_len(m) != sizeof(w)) {
		return;
	}
	memcpy(&w, arb_msg_body(m), sizeof(w));
	asker_t0 = arb_test_now_ms();
	rv = arb_call(
	    ctx, w, PROBE_ECHO, "hi", 2, CALLER_TIMEOUT_MS, asker_cb, NULL);
	arb_test_emit("asker event=called rv=%s", arb_err_name(rv));
}

static int
asker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*statep = NULL;
	return ARB_OK;
}

static const arb_actor_ops asker_ops = {
	.type = "asker",
	.init = asker_init,
	.handle = asker_handle,
};

// "racer" calls root/rt (5 s timeout) while it runs, then in the same
// loop turn polls the child's slot address with sends until they give
// ARB_ENOENT: the child ended (exit_after) and its supervisor closed its
// slot.  The call, which passed its check before the slot closed, leaves
// only when the turn ends: its put finds the slot closed.  The answer's
// ms counts from the close.
static int64_t racer_t0;

static void
racer_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	(void) ctx;
	(void) arg;
	arb_test_emit("racer event=answer status=%s exit=%d ms=%lld text=%s",
	    arb_err_name(r->status), (int) r->exit.kind,
	    (long long) (arb_test_now_ms() - racer_t0), r->text);
}

static void
racer_tick(evutil_socket_t fd, short what, void *arg)
{
	arb_ctx        *ctx = arg;
	arb_pid         to;
	struct timespec nap = { 0, 1000000 };
	int             rv, polls = 0;
	int64_t         deadline;

	(void) fd;
	(void) what;
	if (arb_whereis(ctx, "root/rt", &to) != ARB_OK) {
		arb_test_emit("racer event=whereis_failed");
		return;
	}
	to = arb_pid_slot(to);
	rv = arb_call(
	    ctx, to, PROBE_ECHO, "hi", 2, CALLER_TIMEOUT_MS, racer_cb, NULL);
	arb_test_emit("racer event=called rv=%s", arb_err_name(rv));
	deadline = arb_test_now_ms() + 3000;
	while ((rv = arb_send_copy(ctx, to, PROBE_SILENT, "", 0)) == ARB_OK
	    && arb_test_now_ms() < deadline) {
		polls++;
		nanosleep(&nap, NULL); // the child's end: on its own thread
	}
	racer_t0 = arb_test_now_ms();
	arb_test_emit(
	    "racer event=closed rv=%s polls=%d", arb_err_name(rv), polls);
}

static int
racer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	struct event  *ev;
	struct timeval tv = { 0, 100000 };

	(void) arg;
	(void) len;
	if ((ev = evtimer_new(arb_base(ctx), racer_tick, ctx)) == NULL) {
		return ARB_ENOMEM;
	}
	*statep = ev;
	evtimer_add(ev, &tv);
	return ARB_OK;
}

static void
racer_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	event_free(state);
}

static const arb_actor_ops racer_ops = {
	.type = "racer",
	.init = racer_init,
	.terminate = racer_terminate,
};

static const arb_actor_ops *const types[] = { &sender_ops, &caller_ops,
	&freezer_ops, &stuffer_ops, &asker_ops, &racer_ops, NULL };

static const arb_child_spec pool_tmpl[] = {
	{ .name = "w", .isolation = ARB_THREAD, .type = "probe",
	    .restart = ARB_TEMPORARY },
};
static const arb_sup_spec pool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	.children = pool_tmpl, .nchildren = 1 };

static int
h_send_errors(int argc, char **argv)
{
	static const char *const sleeper[] = { "/bin/sleep", "1000", NULL };
	const arb_child_spec     c[]       = {
                { .name = "sleeper", .isolation = ARB_EXEC, .argv = sleeper },
                { .name = "pool", .isolation = ARB_SUPERVISOR, .sup = &pool },
                { .name = "sender", .isolation = ARB_THREAD, .type = "sender" },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Children that end and will not be restarted, each with a caller; a
// permanent one too (its call waits for the next incarnation, SPEC 19).
static int
h_ended(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "tr", .isolation = ARB_THREAD, .type = "probe",
		    .restart = ARB_TRANSIENT },
		{ .name = "tmp", .isolation = ARB_THREAD, .type = "probe",
		    .restart = ARB_TEMPORARY },
		{ .name = "perm", .isolation = ARB_THREAD, .type = "probe" },
		{ .name = "tr2", .isolation = ARB_THREAD, .type = "probe",
		    .restart = ARB_TRANSIENT },
		{ .name = "ptr", .isolation = ARB_PROCESS, .type = "probe",
		    .restart = ARB_TRANSIENT },
		{ .name = "c1", .isolation = ARB_THREAD, .type = "caller",
		    .arg = "root/tr", .arg_len = 7 },
		{ .name = "c2", .isolation = ARB_THREAD, .type = "caller",
		    .arg = "root/tmp", .arg_len = 8 },
		{ .name = "c3", .isolation = ARB_THREAD, .type = "caller",
		    .arg = "root/perm", .arg_len = 9 },
		{ .name = "c4", .isolation = ARB_THREAD, .type = "caller",
		    .arg = "root/tr2 same", .arg_len = 13 },
		{ .name = "c5", .isolation = ARB_THREAD, .type = "caller",
		    .arg = "root/ptr", .arg_len = 8 },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 10,
		.intensity = 10, .period_ms = 5000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_child_spec ppool_tmpl[] = {
	{ .name = "w",
	    .isolation = ARB_PROCESS,
	    .type = "freezer",
	    .restart = ARB_TEMPORARY },
};
static const arb_sup_spec ppool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	.children = ppool_tmpl,
	.nchildren = 1 };

// A process actor that will be removed with calls queued towards it.
static int
h_removed(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "ppool",
		    .isolation = ARB_SUPERVISOR,
		    .sup = &ppool },
		{ .name = "asker", .isolation = ARB_THREAD, .type = "asker" },
		{ .name = "stuffer",
		    .isolation = ARB_THREAD,
		    .type = "stuffer" },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// A transient child that ends normally while racer's call to it waits
// in racer's own queue.
static int
h_race(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("rt", ARB_THREAD, "exit_after=1000;exit=normal"),
		{ .name = "racer", .isolation = ARB_THREAD, .type = "racer" },
	};
	arb_child_spec cc[2];
	arb_sup_spec   s = { .children = cc, .nchildren = 2 };

	(void) argc;
	(void) argv;
	memcpy(cc, c, sizeof(c));
	cc[0].restart = ARB_TRANSIENT;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "send_errors", h_send_errors },
	{ "ended", h_ended },
	{ "removed", h_removed },
	{ "race", h_race },
};

static void
test_bad_destinations_give_enoent(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "send_errors", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p, "sender event=made_up rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=node rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=exec rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=start_ignored rv=ARB_EIGNORE", 5000);
	arb_test_expect(&p, "sender event=started rv=ARB_OK", 5000);
	arb_test_expect(&p, "sender event=ended_child rv=ARB_ENOENT", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

// expect_refused checks caller line NEEDLE: ARB_ENOENT, exit noproc (or
// refused at send), within 1 s of the call's 5 s timeout.
static void
expect_refused(arb_test_proc *p, const char *needle)
{
	char line[512];

	arb_test_line(p, needle, 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "status=ARB_ENOENT "));
	assert_true(arb_test_need_field(line, "exit") == ARB_EXIT_NOPROC
	    || strstr(line, "text=refused") != NULL);
	assert_true(arb_test_need_field(line, "ms") < 1000);
}

// A call to a child that ended and will not run again is refused at once
// (ARB_ENOENT, as Erlang's gen_server:call to a dead name exits noproc),
// and one that waited in its mailbox is answered noproc when it ended:
// a transient child that ended normally, a temporary one; so is one the
// child took with the batch that ended it (the rest of that batch), and
// one waiting in a process actor's mailbox when its process ended.  A
// permanent
// child's waiting call is answered by its next incarnation (SPEC 19).
static void
test_calls_to_children_that_will_not_run(void **state)
{
	arb_test_proc p;
	char          line[512];

	(void) state;
	arb_test_spawn(&p, "ended", NULL);
	expect_refused(&p, "caller root/tr queued ");
	expect_refused(&p, "caller root/tr after ");
	expect_refused(&p, "caller root/tmp queued ");
	expect_refused(&p, "caller root/tmp after ");
	// Taken with the batch that ended it: answered by that incarnation.
	expect_refused(&p, "caller root/tr2 queued ");
	arb_test_line(&p, "caller root/tr2 queued ", 10000, line, sizeof(line));
	assert_non_null(strstr(line, "text=noproc: that incarnation has ended"));
	expect_refused(&p, "caller root/tr2 after ");
	// A process actor's: its mailbox dies with its process, which
	// answers what waited there as it ends.
	expect_refused(&p, "caller root/ptr queued ");
	arb_test_line(&p, "caller root/ptr queued ", 10000, line, sizeof(line));
	assert_non_null(strstr(line, "text=noproc: that incarnation has ended"));
	arb_test_line(&p, "caller root/ptr after ", 10000, line, sizeof(line));
	expect_refused(&p, "caller root/ptr after ");
	arb_test_line(&p, "caller root/perm queued ", 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "status=ARB_OK "));
	arb_test_line(&p, "caller root/perm after ", 10000, line, sizeof(line));
	assert_non_null(strstr(line, "status=ARB_OK "));
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

// A call that waits in its caller's own queue for a process actor's
// link (full) when that actor is removed is answered there at once,
// noproc, as a local call to a removed actor is refused (outq.c); it
// waited for its whole timeout.
static void
test_call_queued_for_a_removed_process_actor(void **state)
{
	arb_test_proc p;
	char          line[512];
	long          ospid;

	(void) state;
	arb_test_spawn(&p, "removed", NULL);
	arb_test_line(
	    &p, "freezer path=root/ppool/", 10000, line, sizeof(line));
	ospid = arb_test_need_field(line, "ospid");
	arb_test_line(&p, "stuffer event=full ", 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "rv=ARB_EAGAIN "));
	arb_test_expect(&p, "asker event=called rv=ARB_OK", 5000);
	assert_int_equal(kill((pid_t) ospid, SIGKILL), 0);
	arb_test_line(&p, "asker event=answer ", 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "status=ARB_ENOENT "));
	assert_int_equal(arb_test_need_field(line, "exit"), ARB_EXIT_NOPROC);
	assert_true(arb_test_need_field(line, "ms") < 1000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

// A call that passed its sender's check while the child ran, and left
// its sender's queue only after the child ended and its slot closed
// (transient, ended normally), is answered noproc at once (within 1 s of
// the close; the call's timeout is 5 s from ~900 ms before it): the
// closed slot's mailbox refuses it (sealed) and the sender's queue
// answers it.  Before, it waited in that mailbox for its timeout.
static void
test_call_that_passed_the_check_before_the_slot_closed(void **state)
{
	arb_test_proc p;
	char          line[512];

	(void) state;
	arb_test_spawn(&p, "race", NULL);
	arb_test_expect(&p, "racer event=called rv=ARB_OK", 10000);
	arb_test_line(&p, "racer event=closed ", 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "rv=ARB_ENOENT "));
	arb_test_line(&p, "racer event=answer ", 10000, line, sizeof(line));
	print_message("%s\n", line);
	assert_non_null(strstr(line, "status=ARB_ENOENT "));
	assert_int_equal(arb_test_need_field(line, "exit"), ARB_EXIT_NOPROC);
	assert_true(arb_test_need_field(line, "ms") < 1000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_call_queued_for_a_removed_process_actor),
	cmocka_unit_test(
	    test_call_that_passed_the_check_before_the_slot_closed),
	cmocka_unit_test(test_bad_destinations_give_enoent),
	cmocka_unit_test(test_calls_to_children_that_will_not_run),
};

ARB_TEST_MAIN_TYPES("integration.send_errors", tests, helpers, types)
