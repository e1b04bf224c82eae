// SPDX-License-Identifier: MIT
// drv_thread.c -- the child driver of thread actors (driver.h).
//
// Orders go to the actor's thread through thread.c (a flag under the
// thread's lock and a wakeup of its loop); reports come back through the
// node's inbox.  A thread cannot be killed: a kill, or a start that
// failed while the thread may still sit in its actor's init, abandons
// it.  Thread: node.

#include "../node/node_int.h"

#include <stdio.h>

static int
thread_start(arb__child *c)
{
	return arb__thread_start(c->node, c);
}

static void
thread_stop(arb__child *c)
{
	if (c->thr != NULL) {
		arb__thread_stop(c->thr);
	}
}

// thread_abandon lets c's thread go (it cannot be killed): it runs on
// until the process ends, and the node's exit code says so
// (ARB_EXIT_UNCLEAN) unless it ends after all.
static void
thread_abandon(arb__child *c)
{
	c->node->abandoned++;
	arb__thread_abandon(c->thr);
}

static void
thread_kill(arb__child *c)
{
	arb_exit e = { .kind = ARB_EXIT_KILLED };

	if (c->thr == NULL) {
		return;
	}
	if (c->brutal) {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=abandoned reason=\"it did not end within the %d ms "
		    "grace of a brutal stop (stop requested twice); a thread "
		    "cannot be killed\"",
		    arb__child_stop_ms(c));
	} else if (arb__child_shutdown_ms(&c->spec) ==
	    ARB_SHUTDOWN_BRUTAL_KILL) {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=abandoned reason=\"its shutdown is brutal_kill and "
		    "a thread cannot be killed\"");
	} else {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=abandoned reason=\"it did not end within its "
		    "shutdown timeout of %d ms; a thread cannot be killed\"",
		    arb__child_stop_ms(c));
	}
	thread_abandon(c);
	c->thr = NULL;
	snprintf(e.text, sizeof(e.text), "abandoned thread");
	arb__child_event(c, ARB__CE_EXIT, &e);
}

static void
thread_exit_signal(arb__child *c, const arb_exit *why)
{
	if (c->thr != NULL) {
		arb__thread_exit_signal(c->thr, why);
	}
}

static void
thread_close(arb__child *c)
{
	arb_exit k = { .kind = ARB_EXIT_KILLED };

	if (c->thr == NULL) {
		return;
	}
	// Maybe stuck in its init: abandon it, and have it exit as soon as
	// its init returns.
	thread_abandon(c);
	arb__thread_exit_signal(c->thr, &k);
	c->thr = NULL;
}

static void
thread_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	arb__mview *v;

	in->type = c->spec.type;
	if (c->thr == NULL) {
		in->stats = c->stats; // its last incarnation's final counters
		return;
	}
	v = arb__node_mview(c->node);
	arb__thread_snapshot(c->thr, &in->stats, hb, v);
	if (v != NULL) {
		in->nmetrics = arb__mview_decode(v, NULL, 0);
		in->metrics  = v->info;
	}
}

static void
thread_prepare(arb__child *c)
{
	arb__thread_prepare(c->node, c);
}

const arb__driver arb__drv_thread = {
	.name        = "thread",
	.pid_kind    = ARB__KIND_THREAD,
	.timed_start = true,
	.heartbeat   = true,
	.watchdog    = false,
	.kill_abandons = true,
	.start       = thread_start,
	.stop        = thread_stop,
	.kill        = thread_kill,
	.exit_signal = thread_exit_signal,
	.close       = thread_close,
	.info        = thread_info,
	.prepare     = thread_prepare,
	.idle        = arb__thread_unprepare,
};
