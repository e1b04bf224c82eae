// SPDX-License-Identifier: MIT
// inbox.c -- reports of thread actors to the node loop.
//
// A mutex-guarded list plus event_active() on the node's base: any
// thread posts, the loop drains the whole list per wakeup and hands each
// item to the handler its owner gave (the thread driver).  A service
// request is synchronous for its poster, which waits on a condition
// variable (bounded) until the loop answered; one that gave up waiting
// leaves the item to the loop.  Thread: post any, the rest the loop.

#include "thread.h"

#include <errno.h>
#include <event2/event.h>
#include <time.h>

struct arb__inbox {
	struct event   *ev;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	arb__item      *head;
	arb__item      *tail;
	arb__inbox_fn   fn;
	void           *arg;
};

static void
inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__inbox *ib = arg;
	arb__item  *it, *next;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	pthread_mutex_lock(&ib->mtx);
	it       = ib->head;
	ib->head = ib->tail = NULL;
	pthread_mutex_unlock(&ib->mtx);
	for (; it != NULL; it = next) {
		next = it->next;
		if (it->kind == ARB__IT_REQ) {
			bool gone;

			pthread_mutex_lock(&ib->mtx);
			gone = it->req == NULL; // the asker gave up
			pthread_mutex_unlock(&ib->mtx);
			if (gone) {
				arb__free(it);
				continue;
			}
			// The handler runs on the loop while the asker waits,
			// so reading and writing *it->req is safe there.
		}
		ib->fn(ib->arg, it);
	}
}

int
arb__inbox_open(arb__inbox **ibp, struct event_base *base, arb__inbox_fn fn,
    void *arg)
{
	arb__inbox *ib;

	if ((ib = arb__alloc(sizeof(*ib))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((ib->ev = event_new(base, -1, 0, inbox_cb, ib)) == NULL) {
		arb__free(ib);
		return ARB_ENOMEM;
	}
	pthread_mutex_init(&ib->mtx, NULL);
	pthread_cond_init(&ib->cv, NULL);
	ib->fn  = fn;
	ib->arg = arg;
	*ibp    = ib;
	return ARB_OK;
}

void
arb__inbox_close(arb__inbox *ib)
{
	arb__item *it, *next;

	if (ib == NULL) {
		return;
	}
	event_free(ib->ev);
	for (it = ib->head; it != NULL; it = next) {
		next = it->next;
		arb__free(it);
	}
	pthread_mutex_destroy(&ib->mtx);
	pthread_cond_destroy(&ib->cv);
	arb__free(ib);
}

int
arb__inbox_post(arb__inbox *ib, arb__item *it)
{
	struct timespec dl;
	int             rv   = ARB_OK;
	bool            wait = it->kind == ARB__IT_REQ;

	pthread_mutex_lock(&ib->mtx);
	it->next = NULL;
	if (ib->tail != NULL) {
		ib->tail->next = it;
	} else {
		ib->head = it;
	}
	ib->tail = it;
	event_active(ib->ev, 0, 0);
	if (wait) {
		// A run-time start waits for READY, bounded by start
		// timeouts (default 5 s); everything else is one loop turn.
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += it->req->op == ARB__REQ_START_CHILD ? 120 : 5;
		while (!it->done) {
			if (pthread_cond_timedwait(&ib->cv, &ib->mtx, &dl) ==
			    ETIMEDOUT) {
				rv = ARB_ETIMEDOUT;
				break;
			}
		}
		if (it->done) {
			arb__free(it);
		} else {
			it->req = NULL; // the loop frees it when it gets there
		}
	}
	pthread_mutex_unlock(&ib->mtx);
	return rv;
}

void
arb__inbox_answer(arb__inbox *ib, arb__item *it, int rv, arb_pid pid)
{
	pthread_mutex_lock(&ib->mtx);
	if (it->req == NULL) { // the asker gave up waiting
		pthread_mutex_unlock(&ib->mtx);
		arb__free(it);
		return;
	}
	it->req->rv  = rv;
	it->req->pid = pid;
	it->done     = true;
	pthread_cond_broadcast(&ib->cv);
	pthread_mutex_unlock(&ib->mtx); // the asker frees it
}
