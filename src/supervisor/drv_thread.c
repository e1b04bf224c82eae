// SPDX-License-Identifier: MIT
// drv_thread.c -- the child driver of thread actors (driver.h): the node's
// side of them.
//
// A start gives an incarnation to a thread (actor/thread.c): the parked
// thread of the incarnation that just ended, one made ahead while the
// previous child started (prepare), or a new one.  Orders go to it
// through thread.c; its reports come back through the tree's inbox and
// are handled here (arb__thread_inbox), on the node loop.  A thread
// cannot be killed: a kill, or a start that failed while the thread may
// still sit in its actor's init, abandons it.  Thread: node.

#include "sup_rt.h"

#include <stdio.h>
#include <string.h>

// thread_new makes a thread record whose reports come to the tree's
// inbox (opened with the first thread).
static arb__thr *
thread_new(arb__stree *tree)
{
	if (tree->inbox == NULL
	    && arb__inbox_open(
	           &tree->inbox, tree->base, arb__thread_inbox, tree)
	        != 0) {
		return NULL;
	}
	return arb__thr_new(tree->inbox, tree->addr, tree->max_msg);
}

static int
thread_start(arb__child *c)
{
	arb__stree  *tree = c->tree;
	arb__thr    *t;
	arb__thr_inc inc  = { 0 };
	int          rv;

	if (c->spec.type == NULL ||
	    (inc.ops = arb__actor_type_find(c->spec.type)) == NULL) {
		return ARB_ENOENT;
	}
	if (c->spec.arg_len > 0) {
		// The thread may outlive the child (abandoned): own a copy.
		if ((inc.arg = arb__alloc(c->spec.arg_len)) == NULL) {
			return ARB_ENOMEM;
		}
		memcpy(inc.arg, c->spec.arg, c->spec.arg_len);
	}
	if ((t = tree->spare_thr) != NULL || (t = tree->ready_thr) != NULL) {
		// The thread of an actor that just ended, or one made ahead:
		// run this incarnation on it (no thread creation, and its
		// loop and outbound queue are reused when clean).
		if (t == tree->spare_thr) {
			tree->spare_thr = NULL;
		} else {
			tree->ready_thr = NULL;
		}
	} else if ((t = thread_new(tree)) == NULL) {
		arb__free(inc.arg);
		return ARB_ENOMEM;
	}
	inc.arg_len = c->spec.arg_len;
	inc.pid     = c->pid;
	inc.path    = c->path;
	inc.owner   = c;
	c->thr      = t;
	if (t->tid_set) {
		return arb__thr_start(t, &inc);
	}
	if ((rv = arb__thr_start(t, &inc)) != 0) {
		c->thr = NULL;
		arb__thr_free(t);
		return rv;
	}
	tree->threads++;
	return ARB_OK;
}

static void
thread_stop(arb__child *c)
{
	if (c->thr != NULL) {
		arb__thr_stop(c->thr);
	}
}

// thread_abandon lets c's thread go (it cannot be killed): it runs on
// until the process ends, and the node's exit code says so
// (ARB_EXIT_UNCLEAN) unless it ends after all.
static void
thread_abandon(arb__child *c)
{
	c->tree->abandoned++;
	arb__thr_abandon(c->thr);
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
		arb__thr_exit_signal(c->thr, why);
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
	arb__thr_exit_signal(c->thr, &k);
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
	v = arb__stree_mview(c->tree);
	arb__thr_snapshot(c->thr, &in->stats, hb, v);
	if (v != NULL) {
		in->nmetrics = arb__mview_decode(v, NULL, 0);
		in->metrics  = v->info;
	}
}

// thread_prepare readies, while a start is under way, what c's start will
// need: a parked thread with its loop set up (its mailbox is the slot's,
// made on demand by the transport, cheaply).
static void
thread_prepare(arb__child *c)
{
	arb__stree *tree = c->tree;
	arb__thr   *t;

	if (tree->ready_thr != NULL || tree->stop_begun ||
	    (t = thread_new(tree)) == NULL) {
		return;
	}
	t->prepared = true;
	if (arb__thr_spawn(t) != 0) {
		arb__thr_free(t);
		return; // the start makes its own thread
	}
	tree->threads++;
	tree->ready_thr = t;
}

// thread_idle lets the thread made ahead go when no start follows.
static void
thread_idle(arb__stree *tree)
{
	if (tree->ready_thr != NULL) {
		arb__thr_retire(tree->ready_thr);
		tree->ready_thr = NULL;
	}
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
	.idle        = thread_idle,
	.end         = thread_idle,
};

// thread_answer completes a thread actor's service request (maybe
// deferred: a run-time start answers at READY).
static void
thread_answer(void *arg, int rv, arb_pid pid)
{
	arb__item *it = arg;

	arb__inbox_answer(it->thr->inbox, it, rv, pid);
}

// thread_exited handles the EXIT report of c's thread t: the record
// keeps the incarnation's final counters and the supervisor decides; the
// thread waits to be given the next incarnation, or ends.
static void
thread_exited(
    arb__stree *tree, arb__thr *t, arb__child *c, const arb_exit *why)
{
	int64_t hb;

	// The thread is still tearing down (ARB__IT_DONE follows); the child
	// slot is free for the next incarnation now (the slot's mailbox,
	// detached, keeps what arrives meanwhile).
	if (c != NULL) {
		arb__thr_set_owner(t, NULL);
		// Its final counters (its last heartbeat, sent before the
		// report) stay visible.
		arb__thr_snapshot(t, &c->stats, &hb, NULL);
		c->thr = NULL;
		// While the supervisor handles the exit, a start may take
		// this thread for the next incarnation.
		tree->spare_thr = t;
		if (c->state == ARB__CS_RUNNING
		    || c->state == ARB__CS_STOPPING) {
			arb__child_event(c, ARB__CE_EXIT, why);
		}
	}
	if (c == NULL && t->abandoned) {
		tree->abandoned--; // it ended after all
		arb__log(
		    ARB_LOG_WARN, t->path, "event=abandoned_thread_ended");
	}
	if (tree->spare_thr == t || c == NULL) {
		// No start took the thread (or it was never offered): it ends.
		// Otherwise it got its next incarnation.
		tree->spare_thr = NULL;
		arb__thr_retire(t);
	}
}

void
arb__thread_inbox(void *arg, arb__item *it)
{
	arb__stree *tree = arg;
	arb__thr   *t    = it->thr;
	arb__child *c    = t->owner;

	switch (it->kind) {
	case ARB__IT_READY:
		if (c != NULL) {
			arb__child_event(c, ARB__CE_READY, NULL);
		}
		break;
	case ARB__IT_IGNORE:
		if (c != NULL) {
			arb__child_event(c, ARB__CE_IGNORE, NULL);
		}
		break;
	case ARB__IT_FAIL:
		if (c != NULL) {
			arb__child_event(c, ARB__CE_FAIL, &it->why);
		}
		break;
	case ARB__IT_EXIT:
		thread_exited(tree, t, c, &it->why);
		break;
	case ARB__IT_DONE:
		arb__thr_join(t);
		tree->threads--;
		arb__thr_free(t);
		break;
	case ARB__IT_REQ:
		// Its `self` is the asker's own pid (thread actors share the
		// node's address space: nothing to check).
		if (!arb__stree_service(tree, it->req, thread_answer, it)) {
			thread_answer(it, it->req->rv, it->req->pid);
		}
		return; // answered: the asker (or the inbox) frees it
	}
	arb__free(it);
}
