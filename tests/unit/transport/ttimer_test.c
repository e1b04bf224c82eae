// SPDX-License-Identifier: MIT
// ttimer_test.c -- the transport's timers (src/transport/ttimer.c): each
// arm fires once, not before its deadline, in deadline order; a cancel
// fires at once.  (What they cost is measured in bench/, not here.)

#include "arb_test.h"

#include "transport/link.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rec {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             fired;
	int64_t         at_ms;
	int             order[8];
	int             n;
} rec;

static rec r = { .mtx = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER };

typedef struct tmr {
	arb__ttimer t;
	int         id;
} tmr;

static void
on_fire(void *arg)
{
	tmr *t = arg;

	pthread_mutex_lock(&r.mtx);
	r.fired++;
	r.at_ms = arb__now_ms();
	if (r.n < 8) {
		r.order[r.n++] = t->id;
	}
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mtx);
}

static void
reset(void)
{
	pthread_mutex_lock(&r.mtx);
	r.fired = 0;
	r.n     = 0;
	pthread_mutex_unlock(&r.mtx);
}

// wait_fired waits (with a deadline) until n calls were made.
static bool
wait_fired(int n, int ms)
{
	struct timespec dl;
	bool            ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long) (ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r.mtx);
	while (r.fired < n
	    && pthread_cond_timedwait(&r.cv, &r.mtx, &dl) == 0) { }
	ok = r.fired >= n;
	pthread_mutex_unlock(&r.mtx);
	return ok;
}

static void
test_fires_once_not_early(void **state)
{
	tmr     t = { .id = 1 };
	int64_t t0;

	(void) state;
	reset();
	ARB_PASS(arb__ttimer_init(&t.t, on_fire, &t));
	t0 = arb__now_ms();
	arb__ttimer_arm(&t.t, 20);
	arb__ttimer_arm(&t.t, 1); // already armed: left as it is
	assert_true(wait_fired(1, 5000));
	assert_true(r.at_ms - t0 >= 20);
	// Fired once: a later arm is a new one.
	assert_false(wait_fired(2, 60));
	arb__ttimer_arm(&t.t, 1);
	assert_true(wait_fired(2, 5000));
}

static void
test_deadline_order(void **state)
{
	tmr a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };

	(void) state;
	reset();
	ARB_PASS(arb__ttimer_init(&a.t, on_fire, &a));
	ARB_PASS(arb__ttimer_init(&b.t, on_fire, &b));
	ARB_PASS(arb__ttimer_init(&c.t, on_fire, &c));
	arb__ttimer_arm(&a.t, 60);
	arb__ttimer_arm(&b.t, 10);
	arb__ttimer_arm(&c.t, 30);
	assert_true(wait_fired(3, 5000));
	assert_int_equal(r.order[0], 2);
	assert_int_equal(r.order[1], 3);
	assert_int_equal(r.order[2], 1);
}

static void
test_cancel_fires_at_once(void **state)
{
	tmr     t = { .id = 7 };
	int64_t t0;

	(void) state;
	reset();
	ARB_PASS(arb__ttimer_init(&t.t, on_fire, &t));
	arb__ttimer_cancel(&t.t); // not armed: nothing happens
	assert_false(wait_fired(1, 30));
	t0 = arb__now_ms();
	arb__ttimer_arm(&t.t, 60000);
	arb__ttimer_cancel(&t.t);
	assert_true(wait_fired(1, 5000));
	assert_true(r.at_ms - t0 < 30000);
	assert_int_equal(r.order[0], 7);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires_once_not_early),
		cmocka_unit_test(test_deadline_order),
		cmocka_unit_test(test_cancel_fires_at_once),
	};

	return ARB_TEST_RUN("transport.ttimer", tests, argc, argv);
}
