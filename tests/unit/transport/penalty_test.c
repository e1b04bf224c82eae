// SPDX-License-Identifier: MIT
// penalty_test.c -- the sources a TCP listener backs off
// (src/transport/penalty.c): each failure doubles the backoff from
// 100 ms up to 5 s, a proven peer clears its address, an address quiet
// for 30 s starts again from 100 ms, and a full table makes room by
// dropping the entry whose last failure is oldest; a failure after a
// HELLO backs off the node it claimed at that address, not the others
// there, unless the address tries several names.

#include "arb_test.h"

#include "transport/link.h"

#include <stdio.h>
#include <string.h>

static void
addr(uint8_t a[ARB__PENALTY_ADDR], uint8_t last)
{
	memset(a, 0, ARB__PENALTY_ADDR);
	a[10] = a[11] = 0xff;
	a[12] = 127;
	a[15] = last;
}

static void
test_backoff_doubles_to_its_cap_and_clears(void **state)
{
	arb__penalty p;
	uint8_t      a[ARB__PENALTY_ADDR], b[ARB__PENALTY_ADDR];
	bool         ev;
	int64_t      t = 1000000, want = ARB__PENALTY_FIRST_MS;
	int          i;

	(void) state;
	ARB_PASS(arb__penalty_init(&p, 8));
	addr(a, 2);
	addr(b, 3);
	assert_int_equal(arb__penalty_left(&p, a, NULL, t), 0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(arb__penalty_fail(&p, a, NULL, t, &ev), want);
		assert_false(ev);
		// Closed until it ends; another address is never delayed.
		assert_int_equal(
		    arb__penalty_left(&p, a, NULL, t + 1), want - 1);
		assert_int_equal(arb__penalty_left(&p, a, NULL, t + want), 0);
		assert_int_equal(arb__penalty_left(&p, b, NULL, t + 1), 0);
		t += want;
		want = want * 2 > ARB__PENALTY_MAX_MS ? ARB__PENALTY_MAX_MS
		                                       : want * 2;
	}
	assert_int_equal(want, ARB__PENALTY_MAX_MS);
	assert_int_equal(arb__penalty_count(&p, t - 1), 1);
	// A peer proved itself from it: the next failure starts again.
	arb__penalty_clear(&p, a, NULL);
	assert_int_equal(arb__penalty_left(&p, a, NULL, t - 1), 0);
	assert_int_equal(
	    arb__penalty_fail(&p, a, NULL, t, &ev), ARB__PENALTY_FIRST_MS);
	assert_int_equal(
	    arb__penalty_fail(&p, a, NULL, t, &ev), 2 * ARB__PENALTY_FIRST_MS);
	// No failure for ARB__PENALTY_FORGET_MS: from the first step again.
	t += ARB__PENALTY_FORGET_MS + 1;
	assert_int_equal(
	    arb__penalty_fail(&p, a, NULL, t, &ev), ARB__PENALTY_FIRST_MS);
	arb__penalty_fini(&p);
}

static void
test_full_table_evicts_the_oldest(void **state)
{
	arb__penalty p;
	uint8_t      a[ARB__PENALTY_ADDR];
	bool         ev;
	int64_t      t = 5000;
	int          i;

	(void) state;
	ARB_PASS(arb__penalty_init(&p, 4));
	for (i = 1; i <= 4; i++) {
		addr(a, (uint8_t) i);
		arb__penalty_fail(&p, a, NULL, t + i, &ev);
		assert_false(ev);
	}
	// .1 failed again last: .2 is now the oldest.
	addr(a, 1);
	arb__penalty_fail(&p, a, NULL, t + 10, &ev);
	assert_false(ev);
	addr(a, 5);
	arb__penalty_fail(&p, a, NULL, t + 11, &ev);
	assert_true(ev);
	addr(a, 2);
	assert_int_equal(arb__penalty_left(&p, a, NULL, t + 12), 0);
	for (i = 1; i <= 5; i++) {
		addr(a, (uint8_t) i);
		if (i != 2) {
			assert_true(
			    arb__penalty_left(&p, a, NULL, t + 12) > 0);
		}
	}
	assert_int_equal(arb__penalty_count(&p, t + 12), 4);
	arb__penalty_fini(&p);
}

// A node that fails after its HELLO (a wrong cookie) is backed off under
// its claimed name: another node at that address (the same machine, a
// NAT) is not, nor is the address when accepted; the address's own
// entry (garbage before a HELLO) holds every name.  A proof clears the
// prover's name and the address's own, not another name's.  The
// ARB__PENALTY_NAMES-th name backed off at once is the whole address's.
static void
test_names_are_backed_off_apart(void **state)
{
	arb__penalty p;
	uint8_t      a[ARB__PENALTY_ADDR];
	bool         ev;
	int64_t      t = 1000000;
	char         name[16];
	int          i;

	(void) state;
	ARB_PASS(arb__penalty_init(&p, 16));
	addr(a, 1);
	assert_int_equal(
	    arb__penalty_fail(&p, a, "bad", t, &ev), ARB__PENALTY_FIRST_MS);
	assert_int_equal(arb__penalty_fail(&p, a, "bad", t, &ev),
	    2 * ARB__PENALTY_FIRST_MS);
	assert_int_equal(arb__penalty_left(&p, a, "bad", t + 1),
	    2 * ARB__PENALTY_FIRST_MS - 1);
	assert_int_equal(arb__penalty_left(&p, a, NULL, t + 1), 0);
	assert_int_equal(arb__penalty_left(&p, a, "good", t + 1), 0);
	// Garbage from the address: every name waits.
	assert_int_equal(
	    arb__penalty_fail(&p, a, NULL, t, &ev), ARB__PENALTY_FIRST_MS);
	assert_int_equal(
	    arb__penalty_left(&p, a, NULL, t + 1), ARB__PENALTY_FIRST_MS - 1);
	assert_int_equal(arb__penalty_left(&p, a, "good", t + 1),
	    ARB__PENALTY_FIRST_MS - 1);
	assert_int_equal(arb__penalty_left(&p, a, "bad", t + 1),
	    2 * ARB__PENALTY_FIRST_MS - 1);
	// "good" proves itself: its name and the address are clear, "bad"
	// is not.
	arb__penalty_clear(&p, a, "good");
	assert_int_equal(arb__penalty_left(&p, a, "good", t + 1), 0);
	assert_int_equal(arb__penalty_left(&p, a, "bad", t + 1),
	    2 * ARB__PENALTY_FIRST_MS - 1);
	assert_int_equal(arb__penalty_count(&p, t + 1), 1);
	// Names in turn: "bad" and two more backed off, the fourth name's
	// failure backs off the address.
	for (i = 0; i < ARB__PENALTY_NAMES - 2; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		arb__penalty_fail(&p, a, name, t, &ev);
		assert_int_equal(arb__penalty_left(&p, a, NULL, t + 1), 0);
	}
	arb__penalty_fail(&p, a, "n9", t, &ev);
	assert_int_equal(
	    arb__penalty_left(&p, a, NULL, t + 1), ARB__PENALTY_FIRST_MS - 1);
	assert_int_equal(arb__penalty_left(&p, a, "good", t + 1),
	    ARB__PENALTY_FIRST_MS - 1);
	arb__penalty_fini(&p);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_to_its_cap_and_clears),
		cmocka_unit_test(test_full_table_evicts_the_oldest),
		cmocka_unit_test(test_names_are_backed_off_apart),
	};

	return ARB_TEST_RUN("transport.penalty", tests, argc, argv);
}
