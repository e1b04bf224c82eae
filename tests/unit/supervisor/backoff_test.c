// SPDX-License-Identifier: MIT
// backoff_test.c -- table-driven tests of the restart backoff delay:
// exponential, full jitter, capped, never overflowing.
//
// Random numbers come from a fixed-seed generator in the test, so every
// run checks the same samples.

#include "arb_test.h"

#include "supervisor/sup_int.h"

#include <limits.h>

// splitmix64 with a fixed seed: reproducible "random" samples.
static uint64_t
test_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

// ceiling is the largest delay allowed before attempt n, computed by
// doubling (not shifting) and stopping at the cap: min(cap, min * 2^n).
// max <= 0 means the 30000 ms default.
static int64_t
ceiling(int min, int max, unsigned attempt)
{
	int64_t  cap = max > 0 ? max : 30000;
	int64_t  c = min;
	unsigned i;

	for (i = 0; i < attempt && c < cap; i++) {
		c *= 2;
	}
	return c < cap ? c : cap;
}

static void
test_off_when_min_is_zero(void **state)
{
	static const struct {
		int      min, max;
		unsigned attempt;
		uint64_t rnd;
	} cases[] = {
		{ 0, 0, 0, 0 },
		{ 0, 30000, 0, 12345 },
		{ 0, 30000, 5, UINT64_MAX },
		{ 0, INT_MAX, 1000, UINT64_MAX },
		{ -1, 1000, 3, 999 },
		{ INT_MIN, INT_MAX, UINT_MAX, UINT64_MAX },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		assert_int_equal(arb__backoff_delay(cases[i].min, cases[i].max,
		                     cases[i].attempt, cases[i].rnd),
		    0);
	}
}

typedef struct range_case {
	int min;
	int max;
} range_case;

static const range_case range_cases[] = {
	{ 100, 30000 },
	{ 100, 0 }, // default cap 30000
	{ 1, 1 },
	{ 1, INT_MAX },
	{ 250, 10000 },
	{ 1000, -5 }, // default cap 30000
	{ 500, 100 }, // cap below min: the cap wins
	{ INT_MAX, INT_MAX },
	{ INT_MAX / 2 + 1, INT_MAX },
};

// For every attempt 0..70 and a spread of random numbers, the delay is
// exactly rnd % (ceiling + 1): in [0, ceiling], 0 for rnd 0, the ceiling
// itself reachable.
static void
test_range_bounds(void **state)
{
	uint64_t seed = 42;
	size_t   k;
	unsigned a;
	int      j;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(range_cases); k++) {
		const range_case *c = &range_cases[k];

		for (a = 0; a <= 70; a++) {
			int64_t  top = ceiling(c->min, c->max, a);
			uint64_t rnds[8];

			rnds[0] = 0;
			rnds[1] = UINT64_MAX;
			rnds[2] = (uint64_t) top;     // the ceiling itself
			rnds[3] = (uint64_t) top + 1; // wraps to 0
			for (j = 4; j < 8; j++) {
				rnds[j] = test_rand(&seed);
			}
			for (j = 0; j < 8; j++) {
				int64_t d = arb__backoff_delay(
				    c->min, c->max, a, rnds[j]);
				int64_t want = (int64_t) (rnds[j]
				    % ((uint64_t) top + 1));

				if (d < 0 || d > top || d != want) {
					fail_msg("min=%d max=%d attempt=%u "
					         "rnd=%llu: %lld, want %lld "
					         "(ceiling %lld)",
					    c->min, c->max, a,
					    (unsigned long long) rnds[j],
					    (long long) d, (long long) want,
					    (long long) top);
				}
			}
			assert_int_equal(arb__backoff_delay(c->min, c->max, a,
			                     (uint64_t) top),
			    top);
		}
	}
}

// The exponential part: 100 ms doubles to 200, 400, ... until the cap.
static void
test_doubling_then_cap(void **state)
{
	static const struct {
		unsigned attempt;
		int64_t  ceiling;
	} cases[] = {
		{ 0, 100 },
		{ 1, 200 },
		{ 2, 400 },
		{ 3, 800 },
		{ 8, 25600 },
		{ 9, 30000 },
		{ 10, 30000 },
		{ 31, 30000 },
		{ 32, 30000 },
		{ 63, 30000 },
		{ 64, 30000 },
		{ 1000, 30000 },
		{ UINT_MAX, 30000 },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		// rnd equal to the ceiling, or to it plus a multiple of
		// ceiling + 1, gives exactly the ceiling.
		uint64_t top = (uint64_t) cases[i].ceiling;

		assert_int_equal(
		    arb__backoff_delay(100, 30000, cases[i].attempt, top),
		    cases[i].ceiling);
		assert_int_equal(arb__backoff_delay(100, 30000,
		                     cases[i].attempt, top + 5 * (top + 1)),
		    cases[i].ceiling);
		assert_true(arb__backoff_delay(
		                100, 30000, cases[i].attempt, UINT64_MAX)
		    <= cases[i].ceiling);
	}
}

static void
test_no_overflow_at_attempt_1000(void **state)
{
	static const unsigned attempts[]
	    = { 31, 32, 33, 62, 63, 64, 65, 127, 128, 1000, 100000, UINT_MAX };
	uint64_t seed = 7;
	size_t   i;
	int      j;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(attempts); i++) {
		for (j = 0; j < 100; j++) {
			uint64_t r = test_rand(&seed);
			int64_t  d = arb__backoff_delay(
			     INT_MAX, INT_MAX, attempts[i], r);

			assert_true(d >= 0 && d <= INT_MAX);
			d = arb__backoff_delay(1, 0, attempts[i], r);
			assert_true(d >= 0 && d <= 30000);
		}
		assert_int_equal(
		    arb__backoff_delay(1, 5000, attempts[i], 5000), 5000);
	}
}

// Full jitter is uniform over [0, ceiling]: the mean of many samples is
// near half the ceiling and both ends of the range get used.
static void
test_distribution(void **state)
{
	static const struct {
		int      min, max;
		unsigned attempt;
	} cases[] = {
		{ 100, 10000, 20 },
		{ 100, 30000, 3 },
		{ 1000, 0, 1000 },
	};
	enum { SAMPLES = 200000 };
	uint64_t seed = 1;
	size_t   k;
	long     i;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(cases); k++) {
		int64_t top
		    = ceiling(cases[k].min, cases[k].max, cases[k].attempt);
		double  sum = 0;
		int64_t low = top;
		int64_t high = 0;
		double  mean;

		for (i = 0; i < SAMPLES; i++) {
			int64_t d = arb__backoff_delay(cases[k].min,
			    cases[k].max, cases[k].attempt, test_rand(&seed));
			sum += (double) d;
			low = d < low ? d : low;
			high = d > high ? d : high;
		}
		mean = sum / SAMPLES;
		if (mean < 0.48 * (double) top || mean > 0.52 * (double) top) {
			fail_msg("case %zu: mean %.1f, ceiling %lld", k, mean,
			    (long long) top);
		}
		assert_true(low < top / 100);
		assert_true(high > top - top / 100);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_when_min_is_zero),
		cmocka_unit_test(test_range_bounds),
		cmocka_unit_test(test_doubling_then_cap),
		cmocka_unit_test(test_no_overflow_at_attempt_1000),
		cmocka_unit_test(test_distribution),
	};

	return cmocka_run_group_tests_name(
	    "supervisor.backoff", tests, NULL, NULL);
}
