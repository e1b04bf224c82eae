// SPDX-License-Identifier: MIT
// strategy_test.c -- table-driven tests of the child state machine, OTP's
// exit decision, the strategies' affected ranges and what a reaped
// process's end means.
//
// The expectations are written here independently of strategy.c: the
// state table as a list of rows, the exit decision as a reference that
// follows OTP's supervisor.erl clause by clause.  No processes.

#include "arb_test.h"

#include "supervisor/sup_int.h"

#include <signal.h>
#include <string.h>

// --- Child state machine -------------------------------------------------

#define S(x) ARB__CS_##x
#define E(x) ARB__CE_##x
#define A(x) ARB__CA_##x

typedef struct step_case {
	arb__cstate  state;
	arb__cevent  ev;
	arb__cstate  next;
	arb__caction action;
} step_case;

// Every one of the 6 x 9 pairs, once.
static const step_case step_cases[] = {
	// stopped
	{ S(STOPPED), E(START), S(STARTING), A(SPAWN) },
	{ S(STOPPED), E(READY), S(STOPPED), A(NONE) },
	{ S(STOPPED), E(IGNORE), S(STOPPED), A(NONE) },
	{ S(STOPPED), E(FAIL), S(STOPPED), A(NONE) },
	{ S(STOPPED), E(EXIT), S(STOPPED), A(NONE) },
	{ S(STOPPED), E(STOP), S(STOPPED), A(NONE) },
	{ S(STOPPED), E(DEADLINE), S(STOPPED), A(INVALID) },
	{ S(STOPPED), E(BACKOFF), S(BACKOFF), A(ARM_BACKOFF) },
	{ S(STOPPED), E(DUE), S(STOPPED), A(NONE) },
	// starting
	{ S(STARTING), E(START), S(STARTING), A(INVALID) },
	{ S(STARTING), E(READY), S(RUNNING), A(STARTED) },
	{ S(STARTING), E(IGNORE), S(IGNORED), A(IGNORED) },
	{ S(STARTING), E(FAIL), S(STOPPED), A(START_FAILED) },
	{ S(STARTING), E(EXIT), S(STOPPED), A(START_FAILED) },
	{ S(STARTING), E(STOP), S(STOPPING), A(REQUEST_STOP) },
	{ S(STARTING), E(DEADLINE), S(STARTING), A(INVALID) },
	{ S(STARTING), E(BACKOFF), S(STARTING), A(INVALID) },
	{ S(STARTING), E(DUE), S(STARTING), A(INVALID) },
	// running
	{ S(RUNNING), E(START), S(RUNNING), A(INVALID) },
	{ S(RUNNING), E(READY), S(RUNNING), A(NONE) },
	{ S(RUNNING), E(IGNORE), S(RUNNING), A(NONE) },
	{ S(RUNNING), E(FAIL), S(RUNNING), A(NONE) },
	{ S(RUNNING), E(EXIT), S(STOPPED), A(EXITED) },
	{ S(RUNNING), E(STOP), S(STOPPING), A(REQUEST_STOP) },
	{ S(RUNNING), E(DEADLINE), S(RUNNING), A(INVALID) },
	{ S(RUNNING), E(BACKOFF), S(RUNNING), A(INVALID) },
	{ S(RUNNING), E(DUE), S(RUNNING), A(INVALID) },
	// stopping
	{ S(STOPPING), E(START), S(STOPPING), A(INVALID) },
	{ S(STOPPING), E(READY), S(STOPPING), A(NONE) },
	{ S(STOPPING), E(IGNORE), S(STOPPING), A(NONE) },
	{ S(STOPPING), E(FAIL), S(STOPPING), A(NONE) },
	{ S(STOPPING), E(EXIT), S(STOPPED), A(STOPPED) },
	{ S(STOPPING), E(STOP), S(STOPPING), A(NONE) },
	{ S(STOPPING), E(DEADLINE), S(STOPPING), A(KILL) },
	{ S(STOPPING), E(BACKOFF), S(STOPPING), A(INVALID) },
	{ S(STOPPING), E(DUE), S(STOPPING), A(INVALID) },
	// backoff
	{ S(BACKOFF), E(START), S(BACKOFF), A(NONE) },
	{ S(BACKOFF), E(READY), S(BACKOFF), A(NONE) },
	{ S(BACKOFF), E(IGNORE), S(BACKOFF), A(NONE) },
	{ S(BACKOFF), E(FAIL), S(BACKOFF), A(NONE) },
	{ S(BACKOFF), E(EXIT), S(BACKOFF), A(NONE) },
	{ S(BACKOFF), E(STOP), S(STOPPED), A(CANCEL_BACKOFF) },
	{ S(BACKOFF), E(DEADLINE), S(BACKOFF), A(INVALID) },
	{ S(BACKOFF), E(BACKOFF), S(BACKOFF), A(INVALID) },
	{ S(BACKOFF), E(DUE), S(STARTING), A(SPAWN) },
	// ignored
	{ S(IGNORED), E(START), S(STARTING), A(SPAWN) },
	{ S(IGNORED), E(READY), S(IGNORED), A(NONE) },
	{ S(IGNORED), E(IGNORE), S(IGNORED), A(NONE) },
	{ S(IGNORED), E(FAIL), S(IGNORED), A(NONE) },
	{ S(IGNORED), E(EXIT), S(IGNORED), A(NONE) },
	{ S(IGNORED), E(STOP), S(IGNORED), A(NONE) },
	{ S(IGNORED), E(DEADLINE), S(IGNORED), A(INVALID) },
	{ S(IGNORED), E(BACKOFF), S(IGNORED), A(INVALID) },
	{ S(IGNORED), E(DUE), S(IGNORED), A(INVALID) },
};

static void
test_every_state_event_pair(void **state)
{
	int    seen[ARB__CS_N][ARB__CE_N];
	size_t k;
	int    s;
	int    e;

	(void) state;
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < ARB_ARRAY_SIZE(step_cases); k++) {
		const step_case *c = &step_cases[k];
		arb__ctrans      t = arb__child_step(c->state, c->ev);

		seen[c->state][c->ev]++;
		if (t.next != c->next || t.action != c->action) {
			fail_msg("%s + event %d: got %s/%d, want %s/%d",
			    arb__cstate_name(c->state), (int) c->ev,
			    arb__cstate_name(t.next), (int) t.action,
			    arb__cstate_name(c->next), (int) c->action);
		}
	}
	// The expected table covers every pair exactly once.
	assert_int_equal(ARB_ARRAY_SIZE(step_cases), ARB__CS_N * ARB__CE_N);
	for (s = 0; s < ARB__CS_N; s++) {
		for (e = 0; e < ARB__CE_N; e++) {
			assert_int_equal(seen[s][e], 1);
		}
	}
}

static void
test_invalid_keeps_state(void **state)
{
	int s;
	int e;

	(void) state;
	for (s = 0; s < ARB__CS_N; s++) {
		for (e = 0; e < ARB__CE_N; e++) {
			arb__ctrans t = arb__child_step(
			    (arb__cstate) s, (arb__cevent) e);
			if (t.action == ARB__CA_INVALID) {
				assert_int_equal(t.next, s);
			}
			assert_true((unsigned) t.next < ARB__CS_N);
		}
	}
}

// A full life: start, ready, crash, backoff, due, ready, stop, deadline,
// reaped.  Walking the table proves the states chain up.
static void
test_walk_life_cycle(void **state)
{
	static const step_case walk[] = {
		{ S(STOPPED), E(START), S(STARTING), A(SPAWN) },
		{ S(STARTING), E(READY), S(RUNNING), A(STARTED) },
		{ S(RUNNING), E(EXIT), S(STOPPED), A(EXITED) },
		{ S(STOPPED), E(BACKOFF), S(BACKOFF), A(ARM_BACKOFF) },
		{ S(BACKOFF), E(DUE), S(STARTING), A(SPAWN) },
		{ S(STARTING), E(READY), S(RUNNING), A(STARTED) },
		{ S(RUNNING), E(STOP), S(STOPPING), A(REQUEST_STOP) },
		{ S(STOPPING), E(DEADLINE), S(STOPPING), A(KILL) },
		{ S(STOPPING), E(EXIT), S(STOPPED), A(STOPPED) },
	};
	arb__cstate cur = ARB__CS_STOPPED;
	size_t      k;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(walk); k++) {
		arb__ctrans t;

		assert_int_equal(cur, walk[k].state);
		t = arb__child_step(cur, walk[k].ev);
		assert_int_equal(t.next, walk[k].next);
		assert_int_equal(t.action, walk[k].action);
		cur = t.next;
	}
}

static void
test_state_names(void **state)
{
	static const struct {
		arb__cstate s;
		const char *name;
	} cases[] = {
		{ ARB__CS_STOPPED, "stopped" },
		{ ARB__CS_STARTING, "starting" },
		{ ARB__CS_RUNNING, "running" },
		{ ARB__CS_STOPPING, "stopping" },
		{ ARB__CS_BACKOFF, "backoff" },
		{ ARB__CS_IGNORED, "ignored" },
		{ ARB__CS_N, "unknown" },
	};
	size_t k;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(cases); k++) {
		assert_string_equal(
		    arb__cstate_name(cases[k].s), cases[k].name);
	}
}

// --- Exit decision -------------------------------------------------------

// ref_decide is OTP's supervisor.erl, written as its clauses read:
//   do_restart(permanent, Reason, ...)     -> restart
//   do_restart(_, normal | shutdown, ...)   -> del_child_and_maybe_shutdown
//   do_restart(transient, Reason, ...)     -> restart
//   do_restart(temporary, Reason, ...)     -> del_child_and_maybe_shutdown
// del_child_and_maybe_shutdown: a significant child under any_significant
// shuts the supervisor down; under all_significant only when no
// significant child is left; otherwise the child is forgotten (temporary)
// or left stopped (transient).  A supervisor already stopping restarts
// nothing and decides nothing.
static arb__decision
ref_decide(arb_restart restart, arb_exit_kind kind, bool significant,
    arb_auto_shutdown as, bool stopping, bool left)
{
	bool clean = kind == ARB_EXIT_NORMAL || kind == ARB_EXIT_SHUTDOWN;

	if (stopping) {
		return ARB__DECIDE_NONE;
	}
	if (restart == ARB_PERMANENT) {
		return ARB__DECIDE_RESTART;
	}
	if (!clean && restart == ARB_TRANSIENT) {
		return ARB__DECIDE_RESTART;
	}
	// del_child_and_maybe_shutdown
	if (significant && as == ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT) {
		return ARB__DECIDE_AUTO_SHUTDOWN;
	}
	if (significant && as == ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT && !left) {
		return ARB__DECIDE_AUTO_SHUTDOWN;
	}
	return restart == ARB_TEMPORARY ? ARB__DECIDE_REMOVE
	                                : ARB__DECIDE_NONE;
}

static void
test_decide_exit_cross_product(void **state)
{
	static const arb_restart restarts[] = {
		ARB_PERMANENT,
		ARB_TRANSIENT,
		ARB_TEMPORARY,
	};
	static const arb_exit_kind kinds[] = {
		ARB_EXIT_NORMAL,
		ARB_EXIT_SHUTDOWN,
		ARB_EXIT_ERROR,
		ARB_EXIT_CRASHED,
		ARB_EXIT_KILLED,
		ARB_EXIT_HUNG,
		ARB_EXIT_NOCONNECTION,
		ARB_EXIT_NOPROC,
	};
	static const arb_auto_shutdown shutdowns[] = {
		ARB_AUTO_SHUTDOWN_NEVER,
		ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
	};
	const size_t nr = ARB_ARRAY_SIZE(restarts);
	const size_t nk = ARB_ARRAY_SIZE(kinds);
	const size_t na = ARB_ARRAY_SIZE(shutdowns);
	size_t       idx;
	int          n = 0;

	(void) state;
	// One index walks the whole cross product, decoded digit by digit:
	// restart x kind x significant x auto_shutdown x stopping x left.
	for (idx = 0; idx < nr * nk * 2 * na * 2 * 2; idx++) {
		size_t          v = idx;
		bool            left = v % 2;
		bool            stop = (v /= 2) % 2;
		size_t          a = (v /= 2) % na;
		bool            sig = (v /= na) % 2;
		size_t          k = (v /= 2) % nk;
		size_t          r = (v /= nk) % nr;
		arb_exit        why = { .kind = kinds[k] };
		arb__exit_event ev = {
			.restart = restarts[r],
			.significant = sig,
			.auto_shutdown = shutdowns[a],
			.sup_stopping = stop,
			.any_significant_left = left,
			.why = &why,
		};
		arb__decision want = ref_decide(
		    restarts[r], kinds[k], sig, shutdowns[a], stop, left);
		arb__decision got = arb__decide_exit(&ev);

		if (got != want) {
			fail_msg("%s exit=%s significant=%d auto_shutdown=%d "
			         "stopping=%d left=%d: got %d, want %d",
			    arb__restart_name(restarts[r]),
			    arb_exit_kind_name(kinds[k]), sig,
			    (int) shutdowns[a], stop, left, (int) got,
			    (int) want);
		}
		n++;
	}
	assert_int_equal(n, 3 * 8 * 2 * 3 * 2 * 2);
}

// Hand-picked rows, in case the reference and the code share a mistake.
static void
test_decide_exit_spot_checks(void **state)
{
	static const struct {
		arb_restart       r;
		arb_exit_kind     k;
		bool              sig;
		arb_auto_shutdown as;
		bool              stopping;
		bool              left;
		arb__decision     want;
	} cases[] = {
		{ ARB_PERMANENT, ARB_EXIT_NORMAL, false, 0, false, false,
		    ARB__DECIDE_RESTART },
		{ ARB_PERMANENT, ARB_EXIT_CRASHED, false, 0, true, false,
		    ARB__DECIDE_NONE },
		{ ARB_TRANSIENT, ARB_EXIT_NORMAL, false, 0, false, false,
		    ARB__DECIDE_NONE },
		{ ARB_TRANSIENT, ARB_EXIT_SHUTDOWN, false, 0, false, false,
		    ARB__DECIDE_NONE },
		{ ARB_TRANSIENT, ARB_EXIT_KILLED, false, 0, false, false,
		    ARB__DECIDE_RESTART },
		{ ARB_TRANSIENT, ARB_EXIT_ERROR, true,
		    ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT, false, false,
		    ARB__DECIDE_RESTART },
		{ ARB_TRANSIENT, ARB_EXIT_NORMAL, true,
		    ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT, false, true,
		    ARB__DECIDE_AUTO_SHUTDOWN },
		{ ARB_TRANSIENT, ARB_EXIT_NORMAL, true,
		    ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT, false, true,
		    ARB__DECIDE_NONE },
		{ ARB_TRANSIENT, ARB_EXIT_SHUTDOWN, true,
		    ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT, false, false,
		    ARB__DECIDE_AUTO_SHUTDOWN },
		{ ARB_TEMPORARY, ARB_EXIT_NORMAL, false, 0, false, false,
		    ARB__DECIDE_REMOVE },
		{ ARB_TEMPORARY, ARB_EXIT_HUNG, false,
		    ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT, false, false,
		    ARB__DECIDE_REMOVE },
		{ ARB_TEMPORARY, ARB_EXIT_CRASHED, true,
		    ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT, false, true,
		    ARB__DECIDE_AUTO_SHUTDOWN },
		{ ARB_TEMPORARY, ARB_EXIT_CRASHED, true,
		    ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT, false, true,
		    ARB__DECIDE_REMOVE },
		{ ARB_TEMPORARY, ARB_EXIT_NOPROC, true,
		    ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT, false, false,
		    ARB__DECIDE_AUTO_SHUTDOWN },
		{ ARB_TEMPORARY, ARB_EXIT_NORMAL, true,
		    ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT, true, false,
		    ARB__DECIDE_NONE },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		arb_exit        why = { .kind = cases[i].k };
		arb__exit_event ev = {
			.restart = cases[i].r,
			.significant = cases[i].sig,
			.auto_shutdown = cases[i].as,
			.sup_stopping = cases[i].stopping,
			.any_significant_left = cases[i].left,
			.why = &why,
		};
		if (arb__decide_exit(&ev) != cases[i].want) {
			fail_msg("spot check %zu: got %d, want %d", i,
			    (int) arb__decide_exit(&ev), (int) cases[i].want);
		}
	}
}

// --- Strategy ranges -----------------------------------------------------

// affected is the definition from OTP's supervisor(3), child by child:
// one_for_one and simple_one_for_one touch only the failed child,
// one_for_all every child, rest_for_one the failed one and those started
// after it.
static bool
affected(arb_strategy s, size_t i, size_t j)
{
	switch (s) {
	case ARB_ONE_FOR_ALL:
		return true;
	case ARB_REST_FOR_ONE:
		return j >= i;
	default:
		return j == i;
	}
}

static void
test_strategy_range_every_child(void **state)
{
	static const arb_strategy strategies[] = {
		ARB_ONE_FOR_ONE,
		ARB_ONE_FOR_ALL,
		ARB_REST_FOR_ONE,
		ARB_SIMPLE_ONE_FOR_ONE,
	};
	size_t k, n, i, j;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(strategies); k++) {
		for (n = 1; n <= 5; n++) {
			for (i = 0; i < n; i++) {
				size_t lo = 99, hi = 99;

				arb__strategy_range(
				    strategies[k], n, i, &lo, &hi);
				assert_true(lo <= i && i < hi && hi <= n);
				for (j = 0; j < n; j++) {
					bool in = j >= lo && j < hi;
					if (in
					    != affected(strategies[k], i, j)) {
						fail_msg(
						    "%s n=%zu i=%zu: "
						    "[%zu,%zu) wrong at %zu",
						    arb__strategy_name(
						        strategies[k]),
						    n, i, lo, hi, j);
					}
				}
			}
		}
	}
}

static void
test_names(void **state)
{
	static const struct {
		bool        strategy; // else a restart type
		int         v;
		const char *want;
	} cases[] = {
		{ true, ARB_ONE_FOR_ONE, "one_for_one" },
		{ true, ARB_ONE_FOR_ALL, "one_for_all" },
		{ true, ARB_REST_FOR_ONE, "rest_for_one" },
		{ true, ARB_SIMPLE_ONE_FOR_ONE, "simple_one_for_one" },
		{ true, 42, "unknown" },
		{ false, ARB_PERMANENT, "permanent" },
		{ false, ARB_TRANSIENT, "transient" },
		{ false, ARB_TEMPORARY, "temporary" },
		{ false, 42, "unknown" },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		const char *got = cases[i].strategy
		    ? arb__strategy_name((arb_strategy) cases[i].v)
		    : arb__restart_name((arb_restart) cases[i].v);
		assert_string_equal(got, cases[i].want);
	}
}

// --- Start failures, ignore, group roles, public state -------------------

// ref_start_failure is OTP's supervisor.erl, clause by clause:
//   init_children: start_children fails -> the supervisor's start fails
//   restart_child: do_start_child -> {reply, Error, State} (untouched)
//   handle_start_child / start_child of a simple_one_for_one child:
//     {error, What} -> the child is not stored
//   restart/2 (one_for_one, rest_for_one, one_for_all, simple): the start
//     fails -> {try_again, Id}: counted by add_restart, retried later
// A supervisor that is stopping starts nothing and decides nothing.
static arb__fail_decision
ref_start_failure(arb__start_cause cause, bool stopping)
{
	if (stopping) {
		return ARB__FAIL_NONE;
	}
	if (cause == ARB__START_INIT) {
		return ARB__FAIL_ABORT_START;
	}
	if (cause == ARB__START_RESTART) {
		return ARB__FAIL_RETRY;
	}
	return ARB__FAIL_REPORT;
}

static void
test_start_failure_every_cause(void **state)
{
	static const arb__start_cause causes[] = {
		ARB__START_INIT,
		ARB__START_RESTART,
		ARB__START_OPERATOR,
		ARB__START_ADD,
	};
	size_t k;
	int    stop;

	(void) state;
	for (k = 0; k < ARB_ARRAY_SIZE(causes); k++) {
		for (stop = 0; stop < 2; stop++) {
			arb__fail_decision got
			    = arb__decide_start_failure(causes[k], stop);
			arb__fail_decision want
			    = ref_start_failure(causes[k], stop);
			if (got != want) {
				fail_msg("cause %d stopping %d: got %d, "
				         "want %d",
				    (int) causes[k], stop, (int) got,
				    (int) want);
			}
		}
	}
}

// Hand-picked: what issue 8 was about.  An operator's start and a
// reload's never count toward intensity (they are reported, not retried);
// a restart's failure is retried.
static void
test_start_failure_spot_checks(void **state)
{
	(void) state;
	assert_int_equal(
	    arb__decide_start_failure(ARB__START_OPERATOR, false),
	    ARB__FAIL_REPORT);
	assert_int_equal(arb__decide_start_failure(ARB__START_ADD, false),
	    ARB__FAIL_REPORT);
	assert_int_equal(arb__decide_start_failure(ARB__START_RESTART, false),
	    ARB__FAIL_RETRY);
	assert_int_equal(arb__decide_start_failure(ARB__START_INIT, false),
	    ARB__FAIL_ABORT_START);
	assert_int_equal(arb__decide_start_failure(ARB__START_RESTART, true),
	    ARB__FAIL_NONE);
	assert_int_equal(arb__decide_start_failure(ARB__START_INIT, true),
	    ARB__FAIL_NONE);
}

static void
test_ignore_decision(void **state)
{
	static const struct {
		arb_restart          r;
		bool                 dynamic;
		arb__ignore_decision want;
	} cases[] = {
		// start_children: {ok, undefined} when temporary -> remove
		{ ARB_PERMANENT, false, ARB__IGNORE_KEEP },
		{ ARB_TRANSIENT, false, ARB__IGNORE_KEEP },
		{ ARB_TEMPORARY, false, ARB__IGNORE_REMOVE },
		// simple_one_for_one: an ignoring child is never stored
		{ ARB_PERMANENT, true, ARB__IGNORE_REMOVE },
		{ ARB_TRANSIENT, true, ARB__IGNORE_REMOVE },
		{ ARB_TEMPORARY, true, ARB__IGNORE_REMOVE },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		assert_int_equal(arb__decide_ignore(cases[i].r, cases[i].dynamic),
		    cases[i].want);
	}
}

// ref_role follows OTP's restart/2: one_for_one touches only the child
// that ended; rest_for_one terminates it and the children after it,
// one_for_all every child; terminate_children removes temporary ones
// (they are not started again); the child that ended is restarted
// whatever its type (do_restart decided so).  arbor's one addition: a
// sibling an operator stopped stays stopped.
static arb__group_role
ref_role(arb_strategy s, size_t i, size_t j, arb_restart rj, bool held)
{
	bool in = j == i || s == ARB_ONE_FOR_ALL
	    || (s == ARB_REST_FOR_ONE && j > i);

	if (!in) {
		return ARB__ROLE_NONE;
	}
	if (j == i) {
		return ARB__ROLE_RESTART;
	}
	if (held) {
		return ARB__ROLE_NONE;
	}
	return rj == ARB_TEMPORARY ? ARB__ROLE_STOP : ARB__ROLE_RESTART;
}

static void
test_group_roles_every_child(void **state)
{
	static const arb_strategy strategies[] = {
		ARB_ONE_FOR_ONE,
		ARB_ONE_FOR_ALL,
		ARB_REST_FOR_ONE,
		ARB_SIMPLE_ONE_FOR_ONE,
	};
	static const arb_restart restarts[] = {
		ARB_PERMANENT,
		ARB_TRANSIENT,
		ARB_TEMPORARY,
	};
	const size_t n = 4;
	size_t       idx;
	int          cases = 0;

	(void) state;
	// One index walks strategy x i x j x restart of j x held.
	for (idx = 0; idx < 4 * n * n * 3 * 2; idx++) {
		size_t          v = idx;
		bool            held = v % 2;
		size_t          r = (v /= 2) % 3;
		size_t          j = (v /= 3) % n;
		size_t          i = (v /= n) % n;
		size_t          k = (v /= n) % 4;
		arb__group_role got = arb__group_role_of(
		    strategies[k], n, i, j, restarts[r], held);
		arb__group_role want
		    = ref_role(strategies[k], i, j, restarts[r], held);

		cases++;
		if (got != want) {
			fail_msg("%s i=%zu j=%zu %s held=%d: got %d, want %d",
			    arb__strategy_name(strategies[k]), i, j,
			    arb__restart_name(restarts[r]), held, (int) got,
			    (int) want);
		}
	}
	assert_int_equal(cases, 4 * 4 * 4 * 3 * 2);
}

// The cases, spelled out: under rest_for_one with [a, b, c], b's
// restart leaves a alone, restarts b and c; a temporary c is stopped and
// not started again; under one_for_all a temporary a too.
static void
test_group_roles_spot_checks(void **state)
{
	(void) state;
	assert_int_equal(arb__group_role_of(ARB_REST_FOR_ONE, 3, 1, 0,
	                     ARB_PERMANENT, false),
	    ARB__ROLE_NONE);
	assert_int_equal(arb__group_role_of(ARB_REST_FOR_ONE, 3, 1, 2,
	                     ARB_PERMANENT, false),
	    ARB__ROLE_RESTART);
	assert_int_equal(arb__group_role_of(ARB_REST_FOR_ONE, 3, 1, 2,
	                     ARB_TEMPORARY, false),
	    ARB__ROLE_STOP);
	assert_int_equal(arb__group_role_of(ARB_ONE_FOR_ALL, 3, 1, 0,
	                     ARB_TEMPORARY, false),
	    ARB__ROLE_STOP);
	assert_int_equal(arb__group_role_of(ARB_ONE_FOR_ALL, 3, 1, 1,
	                     ARB_TEMPORARY, false),
	    ARB__ROLE_RESTART);
	assert_int_equal(arb__group_role_of(ARB_ONE_FOR_ALL, 3, 2, 0,
	                     ARB_PERMANENT, true),
	    ARB__ROLE_NONE);
	assert_int_equal(arb__group_role_of(ARB_ONE_FOR_ONE, 3, 1, 2,
	                     ARB_PERMANENT, false),
	    ARB__ROLE_NONE);
}

static void
test_public_state(void **state)
{
	static const struct {
		arb__cstate     s;
		bool            queued;
		arb_child_state want;
	} cases[] = {
		{ ARB__CS_STOPPED, false, ARB_STATE_STOPPED },
		// A retry queued behind another child's restart (OTP's
		// {restarting, Pid} in which_children).
		{ ARB__CS_STOPPED, true, ARB_STATE_RESTARTING },
		{ ARB__CS_STARTING, false, ARB_STATE_STARTING },
		{ ARB__CS_STARTING, true, ARB_STATE_STARTING },
		{ ARB__CS_RUNNING, false, ARB_STATE_RUNNING },
		{ ARB__CS_STOPPING, true, ARB_STATE_STOPPING },
		{ ARB__CS_BACKOFF, false, ARB_STATE_RESTARTING },
		{ ARB__CS_IGNORED, false, ARB_STATE_IGNORED },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		arb_child_state got
		    = arb__public_state(cases[i].s, cases[i].queued);
		if (got != cases[i].want) {
			fail_msg("%s queued=%d: got %s, want %s",
			    arb__cstate_name(cases[i].s), cases[i].queued,
			    arb_child_state_name(got),
			    arb_child_state_name(cases[i].want));
		}
	}
}

// --- What a reaped process's end means -------------------------------------

// Wait statuses as the kernel builds them (exit code in bits 8-15; a
// signal in bits 0-6).
#define EXITED(code) ((code) << 8)
#define SIGNALED(sig) (sig)

typedef struct end_case {
	int           status;
	bool          hung, killed, stop_sent, reported;
	arb_exit_kind kind;
	int           code;
	const char   *text;
} end_case;

static const end_case end_cases[] = {
	// On its own.
	{ EXITED(0), false, false, false, false, ARB_EXIT_NORMAL, 0, "" },
	{ EXITED(3), false, false, false, false, ARB_EXIT_ERROR, 3,
	    "exit status 3" },
	{ EXITED(111), false, false, false, false, ARB_EXIT_ERROR, 111,
	    "exit status 111" },
	{ SIGNALED(SIGSEGV), false, false, false, false, ARB_EXIT_CRASHED,
	    SIGSEGV, "" },
	{ SIGNALED(SIGTERM), false, false, false, false, ARB_EXIT_CRASHED,
	    SIGTERM, "" }, // nobody asked it to stop
	// After a stop was asked for.
	{ SIGNALED(SIGTERM), false, false, true, false, ARB_EXIT_SHUTDOWN, 0,
	    "" },
	{ SIGNALED(SIGSEGV), false, false, true, false, ARB_EXIT_CRASHED,
	    SIGSEGV, "" },
	{ EXITED(0), false, false, true, false, ARB_EXIT_SHUTDOWN, 0, "" },
	{ EXITED(7), false, false, true, false, ARB_EXIT_SHUTDOWN, 0, "" },
	// Its own report wins over the status, and loses to a kill.
	{ EXITED(111), false, false, false, true, ARB_EXIT_ERROR, 42,
	    "reported" },
	{ SIGNALED(SIGKILL), false, false, true, true, ARB_EXIT_ERROR, 42,
	    "reported" },
	{ SIGNALED(SIGKILL), false, true, false, true, ARB_EXIT_KILLED, 0, "" },
	{ SIGNALED(SIGKILL), false, true, true, false, ARB_EXIT_KILLED, 0, "" },
	// The watchdog's kill is `hung`, whatever else is true.
	{ SIGNALED(SIGKILL), true, true, true, true, ARB_EXIT_HUNG, 0,
	    "watchdog 250 ms" },
	{ EXITED(0), true, false, false, false, ARB_EXIT_HUNG, 0,
	    "watchdog 250 ms" },
};

static void
test_proc_reason_table(void **state)
{
	const arb_exit report = { .kind = ARB_EXIT_ERROR, .code = 42,
		.text = "reported" };
	size_t         i;

	(void) state;
	for (i = 0; i < sizeof(end_cases) / sizeof(end_cases[0]); i++) {
		const end_case *k   = &end_cases[i];
		arb__proc_end   end = { .status = k->status, .hung = k->hung,
			  .killed = k->killed, .stop_sent = k->stop_sent,
			  .reported = k->reported ? &report : NULL,
			  .watchdog_ms = 250 };
		arb_exit        e;

		memset(&e, 0x5a, sizeof(e));
		arb__proc_reason(&end, &e);
		if (e.kind != k->kind || e.code != k->code ||
		    strcmp(e.text, k->text) != 0) {
			fail_msg("case %zu: got kind=%d code=%d text=\"%s\"", i,
			    (int) e.kind, e.code, e.text);
		}
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_state_event_pair),
		cmocka_unit_test(test_invalid_keeps_state),
		cmocka_unit_test(test_walk_life_cycle),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_decide_exit_cross_product),
		cmocka_unit_test(test_decide_exit_spot_checks),
		cmocka_unit_test(test_strategy_range_every_child),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_start_failure_every_cause),
		cmocka_unit_test(test_start_failure_spot_checks),
		cmocka_unit_test(test_ignore_decision),
		cmocka_unit_test(test_group_roles_every_child),
		cmocka_unit_test(test_group_roles_spot_checks),
		cmocka_unit_test(test_public_state),
		cmocka_unit_test(test_proc_reason_table),
	};

	return ARB_TEST_RUN("supervisor.strategy", tests, argc, argv);
}
