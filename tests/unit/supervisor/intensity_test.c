// SPDX-License-Identifier: MIT
// intensity_test.c -- table-driven tests of the restart intensity window:
// OTP's "more than intensity restarts within period => give up", with the
// window (now - period, now].
//
// Times are passed in, so no test sleeps.

#include "arb_test.h"

#include "supervisor/sup_int.h"

#define MAX_STEPS 12

typedef struct window_case {
	const char *what;
	int         intensity;
	int64_t     period_ms;
	size_t      n;
	int64_t     times[MAX_STEPS];
	bool        ok[MAX_STEPS]; // what arb__intensity_add must answer
} window_case;

static const window_case window_cases[] = {
	{ "defaults: second restart within 5 s gives up", 1, 5000, 2,
	    { 0, 1000 }, { true, false } },
	{ "defaults: second restart after 5 s is fine", 1, 5000, 2,
	    { 0, 5001 }, { true, true } },
	{ "defaults: a restart exactly 5 s old no longer counts", 1, 5000, 2,
	    { 0, 5000 }, { true, true } },
	{ "defaults: 1 ms inside the period still counts", 1, 5000, 2,
	    { 0, 4999 }, { true, false } },
	{ "defaults: slow steady restarts", 1, 5000, 5,
	    { 0, 5000, 10000, 15000, 20000 },
	    { true, true, true, true, true } },
	{ "intensity 0: the first restart already exceeds", 0, 5000, 1,
	    { 100 }, { false } },
	{ "intensity 0: even after a long time", 0, 1000, 1, { 1000000 },
	    { false } },
	{ "intensity 3: the fourth in a burst gives up", 3, 1000, 4,
	    { 0, 100, 200, 300 }, { true, true, true, false } },
	{ "intensity 3: same millisecond", 3, 1000, 4, { 7, 7, 7, 7 },
	    { true, true, true, false } },
	{ "intensity 3: the window slides", 3, 1000, 6,
	    { 0, 100, 200, 1000, 1100, 1200 },
	    { true, true, true, true, true, true } },
	{ "intensity 3: boundary at the period, then one too many", 3, 1000, 5,
	    { 0, 500, 999, 1000, 1001 }, { true, true, true, true, false } },
	{ "intensity 3: quiet spell resets everything", 3, 1000, 8,
	    { 0, 1, 2, 5000, 5001, 5002, 9000, 9001 },
	    { true, true, true, true, true, true, true, true } },
	{ "intensity 2, period 1: only equal times collide", 2, 1, 5,
	    { 0, 1, 2, 3, 3 }, { true, true, true, true, true } },
	{ "intensity 2, period 1: three at once", 2, 1, 3, { 5, 5, 5 },
	    { true, true, false } },
	{ "near INT64_MAX: no overflow", 1, 5000, 3,
	    { INT64_MAX - 20000, INT64_MAX - 10000, INT64_MAX - 9999 },
	    { true, true, false } },
	{ "negative times", 1, 5000, 3, { -20000, -15000, -14999 },
	    { true, true, false } },
};

static void
test_window_table(void **state)
{
	size_t k;
	size_t i;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(window_cases); k++) {
		const window_case *c = &window_cases[k];
		arb__intensity     w = { 0 };

		ARB_PASS(arb__intensity_init(&w, c->intensity, c->period_ms));
		for (i = 0; i < c->n; i++) {
			bool ok = arb__intensity_add(&w, c->times[i]);
			if (ok != c->ok[i]) {
				arb__intensity_fini(&w);
				fail_msg("%s: restart %zu at %lld: got %d",
				    c->what, i, (long long) c->times[i], ok);
			}
		}
		arb__intensity_fini(&w);
	}
}

// The zeroed spec gives OTP's 1 restart in 5000 ms.
static void
test_otp_defaults(void **state)
{
	arb_sup_spec   spec = { 0 };
	arb__intensity w = { 0 };

	(void) state;
	assert_int_equal(arb__sup_intensity(&spec), 1);
	assert_int_equal(arb__sup_period_ms(&spec), 5000);
	ARB_PASS(arb__intensity_init(
	    &w, arb__sup_intensity(&spec), arb__sup_period_ms(&spec)));
	assert_true(arb__intensity_add(&w, 1000));
	assert_false(arb__intensity_add(&w, 5999));
	arb__intensity_fini(&w);

	ARB_PASS(arb__intensity_init(
	    &w, arb__sup_intensity(&spec), arb__sup_period_ms(&spec)));
	assert_true(arb__intensity_add(&w, 1000));
	assert_true(arb__intensity_add(&w, 6000));
	assert_false(arb__intensity_add(&w, 6001));
	arb__intensity_fini(&w);
}

typedef struct run_case {
	int     intensity;
	int64_t period_ms;
	int64_t step_ms;
	long    restarts;
	long    gives_up_at; // index of the first false, -1 for never
} run_case;

// Long runs: restarts spaced so that exactly `intensity` fit into the
// window never give up; a millisecond closer and they do, as soon as the
// ring is full.
static const run_case run_cases[] = {
	{ 1, 5000, 5001, 10000, -1 },
	{ 1, 5000, 5000, 10000, -1 },
	{ 1, 5000, 4999, 10000, 1 },
	{ 3, 1000, 1001, 10000, -1 },
	{ 3, 1000, 334, 10000, -1 },
	{ 3, 1000, 333, 10000, 3 },
	{ 10, 60000, 6000, 10000, -1 },
	{ 10, 60000, 5999, 10000, 10 },
	{ 0, 1000, 100000, 10, 0 },
};

static void
test_long_runs(void **state)
{
	size_t k;
	long   i;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(run_cases); k++) {
		const run_case *c = &run_cases[k];
		arb__intensity  w = { 0 };
		long            first = -1;

		ARB_PASS(arb__intensity_init(&w, c->intensity, c->period_ms));
		for (i = 0; i < c->restarts && first < 0; i++) {
			if (!arb__intensity_add(
			        &w, 1000000 + i * c->step_ms)) {
				first = i;
			}
		}
		arb__intensity_fini(&w);
		if (first != c->gives_up_at) {
			fail_msg(
			    "case %zu (%d in %lld, every %lld ms): gave up "
			    "at %ld, want %ld",
			    k, c->intensity, (long long) c->period_ms,
			    (long long) c->step_ms, first, c->gives_up_at);
		}
	}
}

static void
test_fini_safe_on_zeroed(void **state)
{
	arb__intensity w = { 0 };

	(void) state;
	arb__intensity_fini(&w);
	arb__intensity_fini(&w);
	ARB_PASS(arb__intensity_init(&w, 2, 100));
	arb__intensity_fini(&w);
	arb__intensity_fini(&w); // twice is harmless
	assert_null(w.stamps);
}

static void
test_init_out_of_memory(void **state)
{
	arb__intensity w = { 0 };

	(void) state;
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__intensity_init(&w, 3, 1000), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	arb__intensity_fini(&w);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_table),
		cmocka_unit_test(test_otp_defaults),
		cmocka_unit_test(test_long_runs),
		cmocka_unit_test(test_fini_safe_on_zeroed),
		cmocka_unit_test(test_init_out_of_memory),
	};

	return ARB_TEST_RUN("supervisor.intensity", tests, argc, argv);
}
