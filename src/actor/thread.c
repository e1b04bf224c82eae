// SPDX-License-Identifier: MIT
// thread.c -- thread actors: one pthread and one event_base per actor.
//
// The thread driver (supervisor/drv_thread.c) gives a thread record its
// incarnations and sends it commands (stop, exit signal) through
// a mutex-guarded flag and event_active() on the actor's base; the actor
// thread reports back (READY, ignore, failure, exit, service requests)
// through the inbox the record was made with (inbox.c).
//
// A thread outlives its actor: after the EXIT report it tears the
// incarnation down and parks (thr_park).  The node handles the report at
// once; if the supervisor restarts a thread child in that same turn, the
// start gives the parked thread the next incarnation, with the loop and
// outbound queue kept when the old incarnation left nothing armed on them
// (thr_keep_loop).  Otherwise the driver retires the thread; it reports
// DONE and is joined.  That takes thread creation and loop setup off the
// restart path.  The record's lock is taken here only.

#include "thread.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

static void
thr_post(arb__thr *t, arb__item_kind kind, const arb_exit *why)
{
	arb__item *it = arb__alloc(sizeof(*it));

	if (it == NULL) {
		arb__panic("out of memory reporting from a thread actor");
	}
	it->kind = kind;
	it->thr  = t;
	if (why != NULL) {
		it->why = *why;
	}
	arb__inbox_post(t->inbox, it);
}

static void
host_ready(arb_ctx *ctx)
{
	thr_post(ctx->host_arg, ARB__IT_READY, NULL);
}

static void
host_ignore(arb_ctx *ctx)
{
	thr_post(ctx->host_arg, ARB__IT_IGNORE, NULL);
}

static void
host_init_failed(arb_ctx *ctx, int code, const char *text)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = code };

	snprintf(e.text, sizeof(e.text), "%s", text);
	thr_post(ctx->host_arg, ARB__IT_FAIL, &e);
}

static void
host_exited(arb_ctx *ctx, const arb_exit *why)
{
	ARB_UNUSED(ctx);
	ARB_UNUSED(why);
	// Reported by thr_main after the loop is torn down.
}

static int
host_request(arb_ctx *ctx, arb__req *req)
{
	arb__thr  *t = ctx->host_arg;
	arb__item *it;
	int        rv;

	if ((it = arb__alloc(sizeof(*it))) == NULL) {
		return ARB_ENOMEM;
	}
	it->kind = ARB__IT_REQ;
	it->thr  = t;
	it->req  = req;
	rv       = arb__inbox_post(t->inbox, it); // waits for the answer
	return rv;
}

static void
host_heartbeat(arb_ctx *ctx)
{
	arb__thr *t = ctx->host_arg;
	arb_stats st;

	arb_stats_get(ctx, &st);
	pthread_mutex_lock(&t->mtx);
	t->snap    = st;
	t->last_hb = arb__now_ms();
	if (arb__metrics_dirty(ctx->metrics)) {
		// A failure leaves the snapshot empty until the next beat.
		arb__metrics_encode(ctx->metrics, &t->msnap);
	}
	pthread_mutex_unlock(&t->mtx);
}

static const arb__host_ops thr_host = {
	.isolation   = ARB_THREAD,
	.ready       = host_ready,
	.ignore      = host_ignore,
	.init_failed = host_init_failed,
	.exited      = host_exited,
	.request     = host_request,
	.heartbeat   = host_heartbeat,
};

static void
thr_cmd(evutil_socket_t fd, short what, void *arg)
{
	arb__thr *t = arg;
	bool      stop, ex;
	arb_exit  why;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	pthread_mutex_lock(&t->mtx);
	stop        = t->cmd_stop;
	ex          = t->cmd_exit;
	why         = t->cmd_why;
	t->cmd_stop = false;
	t->cmd_exit = false;
	pthread_mutex_unlock(&t->mtx);
	if (ex) {
		arb__ctx_on_exit_signal(t->ctx, &why);
	}
	if (stop) {
		arb__ctx_on_stop(t->ctx);
	}
}

// Orders to a thread whose actor has ended (t->order, set under t->mtx).
enum { THR_NONE = 0, THR_RUN, THR_RETIRE };

// thr_foreign_event counts an event that is neither libevent's own nor the
// outbound queue's (event_base_foreach_event callback).
static int
thr_foreign_event(const struct event_base *base, const struct event *ev,
    void *arg)
{
	// libevent's own wakeup event has the base as its argument; the
	// queue's events are harmless to keep (they serve the same queue).
	if (event_get_callback_arg(ev) != (void *) base
	    && !arb__outq_owns(ev)) {
		(*(int *) arg)++;
	}
	return 0;
}

// thr_keep_loop decides whether the loop and the outbound queue can serve
// the next incarnation: only when nothing of the old one is still armed
// on them (an event the actor left behind must never fire into its
// successor).  Otherwise they go now and the next incarnation makes its
// own.
static void
thr_keep_loop(arb__thr *t)
{
	int foreign = 0;

	if (t->base == NULL) {
		return;
	}
	event_base_foreach_event(t->base, thr_foreign_event, &foreign);
	if (!arb__outq_idle(t->outq) || foreign != 0) {
		arb__outq_close(t->outq);
		arb__loop_free(t->base);
		t->outq = NULL;
		t->base = NULL;
	}
}

// thr_setup_failed reports an incarnation that could not be set up.
static void
thr_setup_failed(arb__thr *t, int rv)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = rv };

	snprintf(e.text, sizeof(e.text), "actor setup: %s", arb_strerror(rv));
	thr_post(t, ARB__IT_FAIL, &e);
	thr_post(t, ARB__IT_EXIT, &e);
}

// thr_loop_setup makes the loop and the outbound queue if t has none.
static int
thr_loop_setup(arb__thr *t)
{
	int rv;

	if (t->base != NULL) {
		return ARB_OK;
	}
	if ((t->base = arb__loop_new()) == NULL) {
		return ARB_ENOMEM;
	}
	rv = arb__outq_open(&t->outq, t->base, t->max_msg);
	if (rv != 0) {
		arb__loop_free(t->base);
		t->base = NULL;
	}
	return rv;
}

// thr_incarnation runs one incarnation of the actor assigned to t, from
// setup to its EXIT report and teardown.  It returns true when the actor
// was asked to stop (no restart is expected then).
static bool
thr_incarnation(arb__thr *t)
{
	arb_ctx *ctx;
	arb_exit e;
	bool     stopped;
	int      rv;

	if ((rv = thr_loop_setup(t)) != 0) {
		thr_setup_failed(t, rv);
		return false;
	}
	rv = arb__ctx_open(&ctx, t->ops, &thr_host, t, t->pid, t->path,
	    t->addr, t->max_msg, ARB__HB_MS, t->base, t->outq);
	if (rv != 0) {
		thr_setup_failed(t, rv);
		return false;
	}
	ctx->cmd_ev = event_new(ctx->base, -1, 0, thr_cmd, t);
	if (ctx->cmd_ev == NULL) {
		arb__ctx_take_mailbox(ctx);
		arb__ctx_free(ctx);
		thr_keep_loop(t);
		thr_setup_failed(t, ARB_ENOMEM);
		return false;
	}
	pthread_mutex_lock(&t->mtx);
	t->ctx    = ctx;
	t->cmd_ev = ctx->cmd_ev;
	if (t->cmd_stop || t->cmd_exit) {
		event_active(t->cmd_ev, 0, 0);
	}
	pthread_mutex_unlock(&t->mtx);

	arb__ctx_run(ctx, t->arg, t->arg_len);

	pthread_mutex_lock(&t->mtx);
	t->cmd_ev = NULL;
	if (arb__metrics_dirty(ctx->metrics)) {
		arb__metrics_encode(ctx->metrics, &t->msnap); // last values
	}
	pthread_mutex_unlock(&t->mtx);
	if (ctx->init_done && !ctx->exiting) {
		// Init failed or answered ignore: already reported.
		memset(&e, 0, sizeof(e));
		e.kind = ARB_EXIT_NORMAL;
	} else {
		e = ctx->why;
	}
	// Leave the mailbox to the child slot and report: the supervisor
	// decides at once, and may give this very thread the next
	// incarnation (thr_park) while it finishes here.
	stopped = ctx->stop_requested;
	arb__ctx_take_mailbox(ctx);
	host_heartbeat(ctx); // its final counters, for the node's totals
	thr_post(t, ARB__IT_EXIT, &e);
	// Last words must not die with the sockets.
	arb__outq_linger(t->outq, 500);
	pthread_mutex_lock(&t->mtx);
	t->ctx = NULL;
	pthread_mutex_unlock(&t->mtx);
	arb__ctx_free(ctx);
	thr_keep_loop(t);
	return stopped;
}

// thr_park waits for the node's order after an EXIT report: run the next
// incarnation (true) or end (false).  The node decides within the loop
// turn that handles the report, usually within tens of microseconds, so
// the thread spins briefly before it sleeps: a sleeping thread costs a
// cross-CPU wakeup (~60 us here) on the restart path.
static bool
thr_park(arb__thr *t, int spin_us)
{
	int64_t until = arb__now_us() + spin_us;
	int     order;

	while (atomic_load_explicit(&t->order, memory_order_acquire) ==
	        THR_NONE &&
	    arb__now_us() < until) {
	}
	pthread_mutex_lock(&t->mtx);
	while ((order = atomic_load(&t->order)) == THR_NONE) {
		pthread_cond_wait(&t->cv, &t->mtx);
	}
	atomic_store(&t->order, THR_NONE);
	pthread_mutex_unlock(&t->mtx);
	return order == THR_RUN;
}

static void *
thr_main(void *arg)
{
	arb__thr *t = arg;
	sigset_t  all;
	bool      stopped;

	// Signals belong to the node thread (it runs the evsignal events).
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (t->prepared) {
		// Made ahead of its first start: set up while the previous
		// child starts, then wait (without spinning: the CPU is
		// that child's) for an actor.  A failed setup is retried by
		// the incarnation, which reports it.
		(void) thr_loop_setup(t);
		if (!thr_park(t, 0)) {
			goto out;
		}
	}
	do {
		// A crash is usually restarted at once: wait for the order
		// spinning.  A stopped actor is not: sleep at once.
		stopped = thr_incarnation(t);
	} while (thr_park(t, stopped ? 0 : 100));
out:
	arb__outq_close(t->outq);
	arb__loop_free(t->base);
	thr_post(t, ARB__IT_DONE, NULL); // last word: the node joins us
	return NULL;
}

// thr_order gives a parked (or parking) thread its order.  Node thread.
static void
thr_order(arb__thr *t, int order)
{
	pthread_mutex_lock(&t->mtx);
	atomic_store_explicit(&t->order, order, memory_order_release);
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mtx);
}

arb__thr *
arb__thr_new(arb__inbox *ib, const arb__addr *addr, size_t max_msg)
{
	arb__thr *t = arb__alloc(sizeof(*t));

	if (t != NULL) {
		pthread_mutex_init(&t->mtx, NULL);
		pthread_cond_init(&t->cv, NULL);
		t->inbox   = ib;
		t->addr    = addr;
		t->max_msg = max_msg;
	}
	return t;
}

void
arb__thr_free(arb__thr *t)
{
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mtx);
	arb__buf_fini(&t->msnap);
	arb__free(t->arg);
	arb__free(t);
}

int
arb__thr_spawn(arb__thr *t)
{
	pthread_attr_t attr;
	int            rv;

	pthread_attr_init(&attr);
	// Small stacks keep thousands of actors cheap; handlers that need
	// deep recursion belong in a process actor.
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rv = pthread_create(&t->tid, &attr, thr_main, t);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		return arb__err_from_errno(rv);
	}
	t->tid_set = true;
	return ARB_OK;
}

int
arb__thr_start(arb__thr *t, const arb__thr_inc *inc)
{
	if (t->tid_set) {
		pthread_mutex_lock(&t->mtx);
	}
	arb__free(t->arg);
	t->arg        = inc->arg;
	t->arg_len    = inc->arg_len;
	t->owner      = inc->owner;
	t->ops        = inc->ops;
	t->pid        = inc->pid;
	t->cmd_stop   = false;
	t->cmd_exit   = false;
	t->abandoned  = false;
	t->last_hb    = 0;
	memset(&t->snap, 0, sizeof(t->snap));
	arb__buf_reset(&t->msnap); // metrics belong to one incarnation
	snprintf(t->path, sizeof(t->path), "%s", inc->path);
	if (t->tid_set) {
		atomic_store_explicit(
		    &t->order, THR_RUN, memory_order_release);
		pthread_cond_signal(&t->cv);
		pthread_mutex_unlock(&t->mtx);
		return ARB_OK;
	}
	return arb__thr_spawn(t);
}

void
arb__thr_retire(arb__thr *t)
{
	thr_order(t, THR_RETIRE);
}

void
arb__thr_join(arb__thr *t)
{
	pthread_join(t->tid, NULL);
}

static void
thr_command(arb__thr *t, bool stop, const arb_exit *why)
{
	pthread_mutex_lock(&t->mtx);
	if (stop) {
		t->cmd_stop = true;
	} else {
		t->cmd_exit = true;
		t->cmd_why  = *why;
	}
	if (t->cmd_ev != NULL) {
		event_active(t->cmd_ev, 0, 0);
	}
	pthread_mutex_unlock(&t->mtx);
}

void
arb__thr_stop(arb__thr *t)
{
	thr_command(t, true, NULL);
}

void
arb__thr_exit_signal(arb__thr *t, const arb_exit *why)
{
	thr_command(t, false, why);
}

void
arb__thr_set_owner(arb__thr *t, void *owner)
{
	pthread_mutex_lock(&t->mtx);
	t->owner = owner;
	pthread_mutex_unlock(&t->mtx);
}

void
arb__thr_abandon(arb__thr *t)
{
	pthread_mutex_lock(&t->mtx);
	t->owner     = NULL;
	t->abandoned = true;
	pthread_mutex_unlock(&t->mtx);
}

void
arb__thr_snapshot(arb__thr *t, arb_stats *st, int64_t *hb, arb__mview *v)
{
	pthread_mutex_lock(&t->mtx);
	*st = t->snap;
	*hb = t->last_hb;
	if (v != NULL) {
		arb__mview_copy(v, t->msnap.data, t->msnap.len);
	}
	pthread_mutex_unlock(&t->mtx);
}
