// SPDX-License-Identifier: MIT
// thread.c -- thread actors: one pthread and one event_base per actor.
//
// The node thread starts the pthread (arb__thread_start) and sends it
// commands (stop, exit signal) through a mutex-guarded flag and
// event_active() on the actor's base.  The actor thread reports back
// (READY, ignore, failure, exit, service requests) through the node's
// inbox.  After its exit report the thread touches nothing shared; the
// node joins it and frees its context.

#include "../node/node_int.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
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
	arb__node_post(t->node, it);
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
	rv       = arb__node_post(t->node, it); // waits for the answer
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
	pthread_mutex_unlock(&t->mtx);
}

static const arb__host_ops thr_host = {
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

static void *
thr_main(void *arg)
{
	arb__thr *t = arg;
	arb_ctx  *ctx;
	arb_exit  e = { .kind = ARB_EXIT_ERROR, .code = ARB_ENOMEM };
	sigset_t  all;
	int       rv;

	// Signals belong to the node thread (it runs the evsignal events).
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	rv = arb__ctx_open(&ctx, t->ops, &thr_host, t, t->pid, t->path,
	    &t->node->addr, t->node->max_msg, ARB__HB_MS, t->mbox);
	if (rv == 0) {
		t->mbox = NULL; // the context has it now
	}
	if (rv != 0) {
		e.code = rv;
		snprintf(e.text, sizeof(e.text), "actor setup: %s",
		    arb_strerror(rv));
		thr_post(t, ARB__IT_FAIL, &e);
		thr_post(t, ARB__IT_EXIT, &e);
		thr_post(t, ARB__IT_DONE, NULL);
		return NULL;
	}
	ctx->cmd_ev = event_new(ctx->base, -1, 0, thr_cmd, t);
	if (ctx->cmd_ev == NULL) {
		arb__ctx_free(ctx);
		thr_post(t, ARB__IT_FAIL, &e);
		thr_post(t, ARB__IT_EXIT, &e);
		thr_post(t, ARB__IT_DONE, NULL);
		return NULL;
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
	pthread_mutex_unlock(&t->mtx);
	if (ctx->init_done && !ctx->exiting) {
		// Init failed or answered ignore: already reported.
		e.kind = ARB_EXIT_NORMAL;
	} else {
		e = ctx->why;
	}
	// Hand the mailbox back to the child slot and report: the supervisor
	// can start the next incarnation (which takes the mailbox over) while
	// this one tears down the rest.
	t->mbox = arb__ctx_take_mailbox(ctx);
	thr_post(t, ARB__IT_EXIT, &e);
	// Last words must not die with the sockets; the next incarnation
	// is already starting meanwhile.
	arb__outq_linger(ctx->outq, 500);
	arb__ctx_free(ctx);
	thr_post(t, ARB__IT_DONE, NULL); // last word: the node joins us
	return NULL;
}

int
arb__thread_start(arb_node *node, arb__child *c)
{
	arb__thr      *t;
	pthread_attr_t attr;
	int            rv;

	if (c->spec.type == NULL ||
	    arb__actor_type_find(c->spec.type) == NULL) {
		return ARB_ENOENT;
	}
	if ((t = arb__alloc(sizeof(*t))) == NULL) {
		return ARB_ENOMEM;
	}
	t->node    = node;
	t->child   = c;
	t->ops     = arb__actor_type_find(c->spec.type);
	t->pid     = c->pid;
	t->arg     = (void *) c->spec.arg;
	t->arg_len = c->spec.arg_len;
	t->mbox    = c->mbox; // the slot's mailbox, if an earlier run made one
	c->mbox    = NULL;
	snprintf(t->path, sizeof(t->path), "%s", c->path);
	if (t->arg_len > 0) {
		// The thread may outlive the child (abandoned): own a copy.
		if ((t->arg = arb__alloc(t->arg_len)) == NULL) {
			arb__free(t);
			return ARB_ENOMEM;
		}
		memcpy(t->arg, c->spec.arg, t->arg_len);
	}
	pthread_mutex_init(&t->mtx, NULL);
	pthread_attr_init(&attr);
	// Small stacks keep thousands of actors cheap; handlers that need
	// deep recursion belong in a process actor.
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rv = pthread_create(&t->tid, &attr, thr_main, t);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		c->mbox = t->mbox; // still the slot's
		pthread_mutex_destroy(&t->mtx);
		arb__free(t->arg);
		arb__free(t);
		return arb__err_from_errno(rv);
	}
	c->thr = t;
	node->threads++;
	return ARB_OK;
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
arb__thread_stop(arb__thr *t)
{
	thr_command(t, true, NULL);
}

void
arb__thread_exit_signal(arb__thr *t, const arb_exit *why)
{
	thr_command(t, false, why);
}

// arb__thread_inbox handles one report of a thread actor on the node loop.
void
arb__thread_inbox(arb_node *node, arb__item *it)
{
	arb__thr   *t = it->thr;
	arb__child *c = t->child;

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
		// The thread is still tearing down (ARB__IT_DONE follows);
		// the child slot is free for the next incarnation now, and
		// keeps the mailbox for it.
		if (c != NULL) {
			pthread_mutex_lock(&t->mtx);
			t->child = NULL;
			pthread_mutex_unlock(&t->mtx);
			c->thr = NULL;
			if (c->mbox == NULL) {
				c->mbox = t->mbox;
			} else {
				arb__mbox_close(t->mbox);
			}
			t->mbox = NULL;
			if (c->state == ARB__CS_RUNNING ||
			    c->state == ARB__CS_STOPPING) {
				arb__child_event(c, ARB__CE_EXIT, &it->why);
			}
		} else if (t->mbox != NULL) {
			arb__mbox_close(t->mbox);
			t->mbox = NULL;
		}
		if (c == NULL && t->abandoned) {
			node->abandoned--; // it ended after all
			arb__log(ARB_LOG_WARN, t->path,
			    "event=abandoned_thread_ended");
		}
		break;
	case ARB__IT_DONE:
		pthread_join(t->tid, NULL);
		arb__mbox_close(t->mbox); // setup failed before the context took it
		node->threads--;
		pthread_mutex_destroy(&t->mtx);
		arb__free(t->arg);
		arb__free(t);
		break;
	case ARB__IT_REQ:
		break; // handled by node.c
	}
	arb__free(it);
}
