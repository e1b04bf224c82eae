// SPDX-License-Identifier: MIT
// ttimer_test.c -- the transport's timers (src/transport/ttimer.c): each
// arm fires once, not before its deadline, in deadline order; a cancel
// fires at once.  (What they cost is measured in bench/, not here.)  And
// a peer's silence judged by a heartbeat timer that may run late
// (arb__silence_judge): the time this process did not run is not the
// peer's.

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

// judge: arb__silence_judge with a budget of 300 ms and a grace of 100.
static bool
judge(arb__silence *s, int64_t now, int64_t due, int64_t heard,
    int64_t *next)
{
	return arb__silence_judge(s, now, due, heard, 300, 100, next);
}

// A heartbeat timer's judgement of a peer's silence (arb__silence_judge;
// docs/multinode.md, "A stall of this node"): budget 300 ms, grace 100.
static void
test_silence_less_stalls(void **state)
{
	arb__silence s;
	int64_t      next = 0, now, due;
	int          i;

	(void) state;
	// On time: DOWN only past the budget, judged again at its end.
	memset(&s, 0, sizeof(s));
	assert_false(judge(&s, 1100, 1100, 1000, &next));
	assert_int_equal(next, 1301);
	assert_true(judge(&s, 1301, 1301, 1000, &next));
	// A run 2 s late (a stall) is no DOWN: the 2 s are not the peer's.
	// Heard from since, it is not DOWN; not, it is at its budget.
	memset(&s, 0, sizeof(s));
	assert_false(judge(&s, 3100, 1100, 1000, &next));
	assert_int_equal(next, 3301);
	assert_false(judge(&s, 3301, 3301, 3105, &next));
	assert_int_equal(next, 3406);
	memset(&s, 0, sizeof(s));
	assert_false(judge(&s, 3100, 1100, 1000, &next));
	assert_true(judge(&s, 3301, 3301, 1000, &next));
	// A deadline that passed while the process did not run: the peer
	// gets the grace after it; silent still at its end, it is DOWN.
	memset(&s, 0, sizeof(s));
	assert_false(judge(&s, 2301, 1301, 1000, &next));
	assert_int_equal(next, 2401);
	assert_false(judge(&s, 2401, 2401, 2310, &next));
	memset(&s, 0, sizeof(s));
	assert_false(judge(&s, 2301, 1301, 1000, &next));
	assert_true(judge(&s, 2401, 2401, 1000, &next));
	// Late by no more than a quarter of the grace: on time.
	memset(&s, 0, sizeof(s));
	assert_true(judge(&s, 1325, 1301, 1000, &next));
	// A process late at every run (starved for good) still takes a
	// silent peer DOWN: at most budget + grace of the time it ran.
	memset(&s, 0, sizeof(s));
	now = 1000;
	for (i = 0; i < 20; i++) {
		due = now + 100;
		now = due + 150;
		if (judge(&s, now, due, 1000, &next)) {
			break;
		}
	}
	assert_true(i < 20);
	assert_true(now - 1000 - s.stalled > 300);
	assert_true(now - 1000 - s.stalled <= 300 + 100 + 100);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires_once_not_early),
		cmocka_unit_test(test_deadline_order),
		cmocka_unit_test(test_cancel_fires_at_once),
		cmocka_unit_test(test_silence_less_stalls),
	};

	return ARB_TEST_RUN("transport.ttimer", tests, argc, argv);
}
