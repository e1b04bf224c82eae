// SPDX-License-Identifier: MIT
// ttimer.c -- the transport's own timers (link.h): one thread per process
// that calls a function when a deadline passes.  Thread: any.
//
// Why not nng_sleep_aio: nng 1.5.2's expire thread wakes at a timer's
// millisecond, finds it not yet expired (it compares `expire < now`), and
// spins on the clock until the next millisecond, about 0.7 ms of CPU for
// every timer that fires (measured: 200 sleeps of 5 ms cost 0.14 s of
// CPU).  A link's delayed ACK fires up to 200 times a second per busy
// connection, so that spin took a sixth of a core under load.  Here a
// timer that fires costs one wake-up of this thread.
//
// A timer is armed at most once at a time; its function runs on the
// timer thread without any lock of ours held, exactly once per arm,
// early if the timer is cancelled (as an nng aio's callback runs when
// the aio is cancelled), so its owner's bookkeeping stays in one place.

#include "link.h"

#include <pthread.h>
#include <time.h>

typedef struct tq {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	arb__ttimer    *head; // by due time, earliest first
} tq;

static tq             q = { .mtx = PTHREAD_MUTEX_INITIALIZER };
static pthread_once_t q_once = PTHREAD_ONCE_INIT;
static bool           q_ok;

static void *
tq_main(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&q.mtx);
	for (;;) {
		arb__ttimer    *t = q.head;
		int64_t         now = arb__now_ms();
		struct timespec ts;

		if (t == NULL) {
			pthread_cond_wait(&q.cv, &q.mtx);
			continue;
		}
		if (t->due_ms > now) {
			ts.tv_sec  = (time_t) (t->due_ms / 1000);
			ts.tv_nsec = (long) (t->due_ms % 1000) * 1000000;
			pthread_cond_timedwait(&q.cv, &q.mtx, &ts);
			continue;
		}
		q.head = t->next;
		t->next   = NULL;
		t->queued = false;
		pthread_mutex_unlock(&q.mtx);
		t->fn(t->arg); // may free t's owner: t is not touched after
		pthread_mutex_lock(&q.mtx);
	}
	return NULL;
}

static void
tq_start(void)
{
	pthread_condattr_t a;
	pthread_attr_t     ta;
	pthread_t          th;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&q.cv, &a);
	pthread_condattr_destroy(&a);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&ta, 64 * 1024);
	q_ok = pthread_create(&th, &ta, tq_main, NULL) == 0;
	pthread_attr_destroy(&ta);
}

int
arb__ttimer_init(arb__ttimer *t, arb__ttimer_fn fn, void *arg)
{
	pthread_once(&q_once, tq_start);
	t->fn     = fn;
	t->arg    = arg;
	t->next   = NULL;
	t->queued = false;
	return q_ok ? ARB_OK : ARB_ENOMEM;
}

// tq_insert puts t in due order and wakes the thread when t is now the
// earliest.  Under q.mtx.
static void
tq_insert(arb__ttimer *t)
{
	arb__ttimer **pp = &q.head;

	while (*pp != NULL && (*pp)->due_ms <= t->due_ms) {
		pp = &(*pp)->next;
	}
	t->next   = *pp;
	*pp       = t;
	t->queued = true;
	if (q.head == t) {
		pthread_cond_signal(&q.cv);
	}
}

static bool
tq_remove(arb__ttimer *t)
{
	arb__ttimer **pp = &q.head;

	while (*pp != NULL && *pp != t) {
		pp = &(*pp)->next;
	}
	if (*pp == NULL) {
		return false;
	}
	*pp     = t->next;
	t->next = NULL;
	return true;
}

void
arb__ttimer_arm(arb__ttimer *t, int ms)
{
	pthread_mutex_lock(&q.mtx);
	if (!t->queued) {
		t->due_ms = arb__now_ms() + (ms > 0 ? ms : 0);
		tq_insert(t);
	}
	pthread_mutex_unlock(&q.mtx);
}

void
arb__ttimer_cancel(arb__ttimer *t)
{
	pthread_mutex_lock(&q.mtx);
	if (t->queued && tq_remove(t)) {
		t->due_ms = 0; // due now: its function runs at once
		tq_insert(t);
	}
	pthread_mutex_unlock(&q.mtx);
}

bool
arb__silence_judge(arb__silence *s, int64_t now, int64_t due, int64_t heard,
    int64_t budget, int64_t grace, int64_t *next)
{
	int64_t blame, t;

	if (s->heard != heard) {
		s->heard = heard; // heard since: the count starts again
		s->stalled = 0;
		s->woke = 0;
	}
	if (now - due > grace / 4) {
		s->stalled += now - due;
		s->woke = now;
	}
	blame = now - heard - s->stalled;
	if (blame > budget
	    && (s->woke == 0 || now - s->woke >= grace
	        || blame > budget + grace)) {
		return true;
	}
	t = heard + s->stalled + budget + 1;
	if (s->woke != 0 && t < s->woke + grace) {
		// Due, but just awake: the grace, or the bound on it.
		t = s->woke + grace < t + grace ? s->woke + grace : t + grace;
	}
	*next = t;
	return false;
}
