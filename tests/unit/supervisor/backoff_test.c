// SPDX-License-Identifier: MIT
// backoff_test.c -- table-driven tests of the restart backoff delay:
// exponential, jittered above the `min` floor, capped, never overflowing.
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
// doubling (not shifting) and stopping at the cap: min(cap, min * 2^(n+1)).
// max <= 0 means the 30000 ms default.
static int64_t
ceiling(int min, int max, unsigned attempt)
{
	int64_t  cap = max > 0 ? max : 30000;
	int64_t  c = (int64_t) min * 2;
	unsigned i;

	for (i = 0; i < attempt && c < cap; i++) {
		c *= 2;
	}
	return c < cap ? c : cap;
}

// lowest is the floor: min, or the cap when it is below min.
static int64_t
lowest(int min, int max)
{
	int64_t cap = max > 0 ? max : 30000;

	return min < cap ? min : cap;
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
// exactly floor + rnd % (ceiling - floor + 1): in [floor, ceiling], the
// floor for rnd 0, the ceiling itself reachable.
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
			int64_t  low = lowest(c->min, c->max);
			uint64_t span = (uint64_t) (top - low);
			uint64_t rnds[8];

			rnds[0] = 0;
			rnds[1] = UINT64_MAX;
			rnds[2] = span;     // the ceiling itself
			rnds[3] = span + 1; // wraps to the floor
			for (j = 4; j < 8; j++) {
				rnds[j] = test_rand(&seed);
			}
			for (j = 0; j < 8; j++) {
				int64_t d = arb__backoff_delay(
				    c->min, c->max, a, rnds[j]);
				int64_t want = low + (int64_t) (rnds[j]
				    % (span + 1));

				if (d < low || d > top || d != want) {
					fail_msg("min=%d max=%d attempt=%u "
					         "rnd=%llu: %lld, want %lld "
					         "(ceiling %lld)",
					    c->min, c->max, a,
					    (unsigned long long) rnds[j],
					    (long long) d, (long long) want,
					    (long long) top);
				}
			}
			assert_int_equal(
			    arb__backoff_delay(c->min, c->max, a, span), top);
			assert_int_equal(
			    arb__backoff_delay(c->min, c->max, a, 0), low);
		}
	}
}

// The exponential part: with min 100 ms the ceiling is 200, 400, 800, ...
// until the cap; the floor stays 100.
static void
test_doubling_then_cap(void **state)
{
	static const struct {
		unsigned attempt;
		int64_t  ceiling;
	} cases[] = {
		{ 0, 200 },
		{ 1, 400 },
		{ 2, 800 },
		{ 3, 1600 },
		{ 7, 25600 },
		{ 8, 30000 },
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
		// rnd equal to the span (ceiling - floor), or to it plus a
		// multiple of span + 1, gives exactly the ceiling.
		uint64_t span = (uint64_t) cases[i].ceiling - 100;
		int64_t  d;

		assert_int_equal(
		    arb__backoff_delay(100, 30000, cases[i].attempt, span),
		    cases[i].ceiling);
		assert_int_equal(arb__backoff_delay(100, 30000,
		                     cases[i].attempt, span + 5 * (span + 1)),
		    cases[i].ceiling);
		d = arb__backoff_delay(100, 30000, cases[i].attempt, UINT64_MAX);
		assert_true(d >= 100 && d <= cases[i].ceiling);
	}
}

// min is a floor: no delay is ever shorter, whatever the attempt and the
// random number (full jitter over [0, ceiling] let min 50 ms retry 20-28
// times a second); a cap below min makes every delay the cap.
static void
test_min_is_a_floor(void **state)
{
	static const struct {
		int      min, max;
		unsigned attempt;
		uint64_t rnd;
		int64_t  want;
	} cases[] = {
		{ 50, 30000, 0, 0, 50 },
		{ 50, 30000, 0, 50, 100 },  // attempt 0: [50, 100]
		{ 50, 30000, 0, 51, 50 },   // wraps to the floor
		{ 50, 30000, 0, 25, 75 },
		{ 50, 30000, 1, 150, 200 }, // attempt 1: [50, 200]
		{ 50, 30000, 1, 0, 50 },
		{ 50, 30000, 20, 0, 50 },
		{ 50, 30000, 20, 29950, 30000 },
		{ 50, 30000, UINT_MAX, 29951, 50 },
		{ 1000, 1500, 0, 500, 1500 }, // the cap bounds the ceiling
		{ 1000, 1500, 0, 501, 1000 },
		{ 500, 100, 0, 0, 100 }, // cap below min: always the cap
		{ 500, 100, 7, UINT64_MAX, 100 },
		{ 30000, 0, 0, 0, 30000 }, // default cap 30000 below 2 * min
		{ 30000, 0, 3, UINT64_MAX, 30000 },
	};
	uint64_t seed = 3;
	size_t   i;
	unsigned a;
	int      j;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		int64_t d = arb__backoff_delay(cases[i].min, cases[i].max,
		    cases[i].attempt, cases[i].rnd);

		if (d != cases[i].want) {
			fail_msg("case %zu: min=%d max=%d attempt=%u: %lld, "
			         "want %lld",
			    i, cases[i].min, cases[i].max, cases[i].attempt,
			    (long long) d, (long long) cases[i].want);
		}
	}
	// A child that fails at once, again and again, with min 50 ms: at
	// most 20 attempts in any second, whatever the random numbers.
	for (a = 0; a < 40; a++) {
		for (j = 0; j < 1000; j++) {
			assert_true(arb__backoff_delay(50, 30000, a,
			                test_rand(&seed)) >= 50);
		}
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
		    arb__backoff_delay(1, 5000, attempts[i], 4999), 5000);
	}
}

// The jitter is uniform over [floor, ceiling]: the mean of many samples
// is near the middle and both ends of the range get used.
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
		int64_t floor = lowest(cases[k].min, cases[k].max);
		double  mid = (double) (floor + top) / 2;
		double  span = (double) (top - floor);
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
		if (mean < mid - 0.02 * span || mean > mid + 0.02 * span) {
			fail_msg("case %zu: mean %.1f, floor %lld, ceiling %lld",
			    k, mean, (long long) floor, (long long) top);
		}
		assert_true(low >= floor && low < floor + (top - floor) / 100);
		assert_true(high <= top && high > top - (top - floor) / 100);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_when_min_is_zero),
		cmocka_unit_test(test_range_bounds),
		cmocka_unit_test(test_doubling_then_cap),
		cmocka_unit_test(test_no_overflow_at_attempt_1000),
		cmocka_unit_test(test_min_is_a_floor),
		cmocka_unit_test(test_distribution),
	};

	return ARB_TEST_RUN("supervisor.backoff", tests, argc, argv);
}
