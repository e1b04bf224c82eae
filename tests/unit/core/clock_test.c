// SPDX-License-Identifier: MIT
// clock_test.c -- arb_clock.h, the clocks of the library and of the actor
// types: each helper reads its own clock in its own unit, checked against
// clock_gettime read just before and just after it.  Single-threaded.

#include "arb_test.h"

#include "core/arb_clock.h"

#include <time.h>

static int64_t
ref_ns(clockid_t id)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(id, &ts), 0);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// CLOCK_MONOTONIC never goes back: each reading lies between the two
// around it, to its unit.
static void
test_monotonic_in_ms_and_us(void **state)
{
	int64_t a, ms, us, b;

	(void) state;
	a = ref_ns(CLOCK_MONOTONIC);
	ms = arb__now_ms();
	us = arb__now_us();
	b = ref_ns(CLOCK_MONOTONIC);
	assert_true(a / 1000000 <= ms && ms <= b / 1000000);
	assert_true(a / 1000 <= us && us <= b / 1000);
	assert_true(ms <= us / 1000);
}

// CLOCK_REALTIME may be stepped by a second or so between two readings
// (NTP): the bound allows it, and still tells the epoch's clock from any
// other (CLOCK_MONOTONIC counts from boot).
static void
test_wall_in_ms_and_ns(void **state)
{
	const int64_t slack = 5000000000; // ns
	int64_t       a, ms, b;
	uint64_t      ns;

	(void) state;
	a = ref_ns(CLOCK_REALTIME);
	ms = arb__wall_ms();
	ns = arb__wall_ns();
	b = ref_ns(CLOCK_REALTIME);
	assert_true(
	    (a - slack) / 1000000 <= ms && ms <= (b + slack) / 1000000);
	assert_true(
	    (uint64_t) (a - slack) <= ns && ns <= (uint64_t) (b + slack));
	assert_true(ms > (int64_t) 1700000000 * 1000); // after 2023-11
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic_in_ms_and_us),
		cmocka_unit_test(test_wall_in_ms_and_ns),
	};

	return ARB_TEST_RUN("core.clock", tests, argc, argv);
}
