// SPDX-License-Identifier: MIT
// backoff_test.c -- the reopen delay (actors/serial/backoff.h): the cap
// doubles from min up to max and stays there, without overflow; the delay
// covers [0, cap] and nothing outside it.

#include "arb_test.h"

#include "backoff.h"

#include <stdlib.h>

static void
test_cap_doubles_up_to_max(void **state)
{
	(void) state;
	assert_int_equal(serial_backoff_cap(100, 5000, 0), 100);
	assert_int_equal(serial_backoff_cap(100, 5000, 1), 200);
	assert_int_equal(serial_backoff_cap(100, 5000, 5), 3200);
	assert_int_equal(serial_backoff_cap(100, 5000, 6), 5000);
	assert_int_equal(serial_backoff_cap(100, 5000, 4000000000u), 5000);
	assert_int_equal(serial_backoff_cap(60000, 60000, 0), 60000);
	// The largest settings (a day) never overflow.
	assert_int_equal(serial_backoff_cap(86400000, 86400000, 99), 86400000);
	assert_int_equal(serial_backoff_cap(1, 86400000, 200), 86400000);
}

static void
test_full_jitter_covers_zero_to_cap(void **state)
{
	unsigned seed = 7;
	int64_t  lo = 1000, hi = -1, d;
	int      i;

	(void) state;
	for (i = 0; i < 100000; i++) {
		d = serial_backoff_ms(400, (uint32_t) rand_r(&seed));
		assert_true(d >= 0 && d <= 400);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 400);
	assert_int_equal(serial_backoff_ms(400, UINT32_MAX), UINT32_MAX % 401);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_doubles_up_to_max),
		cmocka_unit_test(test_full_jitter_covers_zero_to_cap),
	};

	return ARB_TEST_RUN("serial.backoff", tests, argc, argv);
}
