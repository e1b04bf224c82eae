// SPDX-License-Identifier: MIT
// strategy.c -- the pure decisions of supervision: the child state x event
// table (s6-supervise style), OTP's restart decision on exit, what a
// failed start and an ignore mean, the siblings a restart strategy
// affects and how (temporary ones are not started again), the state
// introspection shows, and what a reaped process's end means.
//
// Nothing here touches the OS, a clock or a loop; the supervisor feeds
// events in and carries out the returned actions.  Thread: any.

#include "sup_int.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

// T(next, action) is one cell of the table.  Every (state, event) pair is
// written out below, so the table itself is the documentation: an
// ARB__CA_INVALID cell keeps `next` equal to its own row's state.
#define T(next, action)                                                       \
	{                                                                     \
		ARB__CS_##next, ARB__CA_##action                              \
	}

// Three kinds of events feed the table, and that decides how forgiving a
// cell is:
//  - START, STOP, BACKOFF come from the supervisor itself, which knows the
//    state it asks from.  An impossible one is an arbor bug: INVALID.
//  - DEADLINE and DUE are timers armed on entering STOPPING / BACKOFF and
//    disarmed on leaving them, so they too are INVALID elsewhere (except
//    STOPPED+DUE, see below).
//  - READY, IGNORE, FAIL and EXIT come from the child (its notification
//    fd, its mailbox, SIGCHLD).  They can arrive late or out of order, and a
//    misbehaving child must never crash its supervisor, so they are never
//    INVALID: where they mean nothing they are NONE.
static const arb__ctrans actions[ARB__CS_N][ARB__CE_N] = {
	[ARB__CS_STOPPED] = {
	    [ARB__CE_START] = T(STARTING, SPAWN),
	    // A READY / IGNORE / FAIL of an incarnation that was already
	    // reaped (SIGCHLD handled before its queued notification): stale.
	    [ARB__CE_READY] = T(STOPPED, NONE),
	    [ARB__CE_IGNORE] = T(STOPPED, NONE),
	    [ARB__CE_FAIL] = T(STOPPED, NONE),
	    // START_FAILED kills what is left of a failed start; its reap
	    // arrives after the child already counts as stopped.
	    [ARB__CE_EXIT] = T(STOPPED, NONE),
	    [ARB__CE_STOP] = T(STOPPED, NONE), // already stopped: idempotent
	    [ARB__CE_DEADLINE] = T(STOPPED, INVALID), // no stop pending
	    [ARB__CE_BACKOFF] = T(BACKOFF, ARM_BACKOFF),
	    // The backoff timer fired although the pending restart was
	    // cancelled (BACKOFF+STOP) in the same loop turn: a stopped child
	    // stays stopped, it is never resurrected by a stale timer.
	    [ARB__CE_DUE] = T(STOPPED, NONE),
	},
	[ARB__CS_STARTING] = {
	    // The supervisor starts only stopped, backed-off or ignored
	    // children.
	    [ARB__CE_START] = T(STARTING, INVALID),
	    [ARB__CE_READY] = T(RUNNING, STARTED),
	    [ARB__CE_IGNORE] = T(IGNORED, IGNORED),
	    [ARB__CE_FAIL] = T(STOPPED, START_FAILED),
	    [ARB__CE_EXIT] = T(STOPPED, START_FAILED), // died before READY
	    [ARB__CE_STOP] = T(STOPPING, REQUEST_STOP),
	    [ARB__CE_DEADLINE] = T(STARTING, INVALID), // no stop pending
	    [ARB__CE_BACKOFF] = T(STARTING, INVALID), // only from stopped
	    [ARB__CE_DUE] = T(STARTING, INVALID), // DUE itself got us here
	},
	[ARB__CS_RUNNING] = {
	    [ARB__CE_START] = T(RUNNING, INVALID), // a restart stops first
	    // The child said READY twice: it is running, nothing changes.
	    [ARB__CE_READY] = T(RUNNING, NONE),
	    // ignore / an init error can only answer init, which READY
	    // already did: a confused child keeps running; if it dies, EXIT
	    // follows and decides.
	    [ARB__CE_IGNORE] = T(RUNNING, NONE),
	    [ARB__CE_FAIL] = T(RUNNING, NONE),
	    [ARB__CE_EXIT] = T(STOPPED, EXITED),
	    [ARB__CE_STOP] = T(STOPPING, REQUEST_STOP),
	    [ARB__CE_DEADLINE] = T(RUNNING, INVALID), // no stop pending
	    [ARB__CE_BACKOFF] = T(RUNNING, INVALID),  // only from stopped
	    [ARB__CE_DUE] = T(RUNNING, INVALID),      // no backoff pending
	},
	[ARB__CS_STOPPING] = {
	    // A restart waits for the stop to complete before it starts.
	    [ARB__CE_START] = T(STOPPING, INVALID),
	    // The child got READY / answered ignore / failed its init before
	    // it saw the stop request (stop asked while STARTING).  Its EXIT,
	    // or the shutdown deadline, still follows: keep waiting.
	    [ARB__CE_READY] = T(STOPPING, NONE),
	    [ARB__CE_IGNORE] = T(STOPPING, NONE),
	    [ARB__CE_FAIL] = T(STOPPING, NONE),
	    [ARB__CE_EXIT] = T(STOPPED, STOPPED),
	    // Asked again (e.g. the node's stop after a strategy's stop):
	    // the deadline already armed bounds it.
	    [ARB__CE_STOP] = T(STOPPING, NONE),
	    [ARB__CE_DEADLINE] = T(STOPPING, KILL), // EXIT follows the kill
	    [ARB__CE_BACKOFF] = T(STOPPING, INVALID), // only from stopped
	    [ARB__CE_DUE] = T(STOPPING, INVALID), // cancelled on leaving
	                                          // BACKOFF
	},
	[ARB__CS_BACKOFF] = {
	    // Already scheduled to start: the delay is honoured (starting at
	    // once would defeat backoff); DUE spawns it.
	    [ARB__CE_START] = T(BACKOFF, NONE),
	    // Stale notifications of the incarnation that died, and the late
	    // reap of a failed start's remains (see STOPPED).
	    [ARB__CE_READY] = T(BACKOFF, NONE),
	    [ARB__CE_IGNORE] = T(BACKOFF, NONE),
	    [ARB__CE_FAIL] = T(BACKOFF, NONE),
	    [ARB__CE_EXIT] = T(BACKOFF, NONE),
	    [ARB__CE_STOP] = T(STOPPED, CANCEL_BACKOFF),
	    [ARB__CE_DEADLINE] = T(BACKOFF, INVALID), // no stop pending
	    [ARB__CE_BACKOFF] = T(BACKOFF, INVALID),  // already armed
	    [ARB__CE_DUE] = T(STARTING, SPAWN),
	},
	[ARB__CS_IGNORED] = {
	    // A re-start asked by an operator.
	    [ARB__CE_START] = T(STARTING, SPAWN),
	    // Stale or repeated answers of the child that said ignore.
	    [ARB__CE_READY] = T(IGNORED, NONE),
	    [ARB__CE_IGNORE] = T(IGNORED, NONE),
	    [ARB__CE_FAIL] = T(IGNORED, NONE),
	    // The thread / process that answered ignore ends after its
	    // answer: reaped, nothing else to do.
	    [ARB__CE_EXIT] = T(IGNORED, NONE),
	    [ARB__CE_STOP] = T(IGNORED, NONE), // nothing runs: idempotent
	    [ARB__CE_DEADLINE] = T(IGNORED, INVALID), // no stop pending
	    // OTP: an ignored child is kept but never restarted.
	    [ARB__CE_BACKOFF] = T(IGNORED, INVALID),
	    [ARB__CE_DUE] = T(IGNORED, INVALID), // no backoff pending
	},
};

#undef T

arb__ctrans
arb__child_step(arb__cstate state, arb__cevent ev)
{
	assert((unsigned) state < ARB__CS_N);
	assert((unsigned) ev < ARB__CE_N);
	if ((unsigned) state >= ARB__CS_N || (unsigned) ev >= ARB__CE_N) {
		arb__ctrans bad = { state, ARB__CA_INVALID };
		return bad;
	}
	return actions[state][ev];
}

static const char *const cstate_names[] = {
	[ARB__CS_STOPPED] = "stopped",
	[ARB__CS_STARTING] = "starting",
	[ARB__CS_RUNNING] = "running",
	[ARB__CS_STOPPING] = "stopping",
	[ARB__CS_BACKOFF] = "backoff",
	[ARB__CS_IGNORED] = "ignored",
};

const char *
arb__cstate_name(arb__cstate s)
{
	if ((unsigned) s >= ARB_ARRAY_SIZE(cstate_names)) {
		return "unknown";
	}
	return cstate_names[s];
}

// not_restarted is OTP's del_child_and_maybe_shutdown: a child that ended
// and is not restarted ends the supervisor when it is significant and
// auto_shutdown says so.  `otherwise` is what happens to a child that does
// not end the supervisor (temporary: removed; transient: left stopped).
static arb__decision
not_restarted(const arb__exit_event *ev, arb__decision otherwise)
{
	if (!ev->significant) {
		return otherwise;
	}
	switch (ev->auto_shutdown) {
	case ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT:
		return ARB__DECIDE_AUTO_SHUTDOWN;
	case ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT:
		return ev->any_significant_left ? otherwise
		                                : ARB__DECIDE_AUTO_SHUTDOWN;
	case ARB_AUTO_SHUTDOWN_NEVER:
	default:
		// The spec checker rejects significant under `never`; OTP
		// ignores the flag there.
		return otherwise;
	}
}

// OTP's do_restart: permanent always restarts; any other child is not
// restarted after normal or shutdown; transient restarts after anything
// else; temporary never restarts.
arb__decision
arb__decide_exit(const arb__exit_event *ev)
{
	assert(ev != NULL && ev->why != NULL);
	if (ev->sup_stopping) {
		return ARB__DECIDE_NONE;
	}
	switch (ev->restart) {
	case ARB_PERMANENT:
		return ARB__DECIDE_RESTART;
	case ARB_TRANSIENT:
		if (arb_exit_abnormal(ev->why)) {
			return ARB__DECIDE_RESTART;
		}
		return not_restarted(ev, ARB__DECIDE_NONE);
	case ARB_TEMPORARY:
	default:
		// An out-of-range restart type never passes the spec
		// checker; never restarting is the safe reading.
		return not_restarted(ev, ARB__DECIDE_REMOVE);
	}
}

arb__fail_decision
arb__decide_start_failure(arb__start_cause cause, bool sup_stopping)
{
	if (sup_stopping) {
		return ARB__FAIL_NONE;
	}
	switch (cause) {
	case ARB__START_INIT:
		return ARB__FAIL_ABORT_START;
	case ARB__START_OPERATOR:
	case ARB__START_ADD:
		// restart_child and start_child answer {error, Reason} and
		// leave the supervisor as it was.
		return ARB__FAIL_REPORT;
	case ARB__START_RESTART:
	default:
		return ARB__FAIL_RETRY;
	}
}

arb__ignore_decision
arb__decide_ignore(arb_restart restart, bool dynamic)
{
	if (dynamic || restart == ARB_TEMPORARY) {
		return ARB__IGNORE_REMOVE;
	}
	return ARB__IGNORE_KEEP;
}

arb__group_role
arb__group_role_of(arb_strategy s, size_t n, size_t i, size_t j,
    arb_restart rj, bool held)
{
	size_t lo, hi;

	arb__strategy_range(s, n, i, &lo, &hi);
	if (j < lo || j >= hi) {
		return ARB__ROLE_NONE;
	}
	if (j == i) {
		return ARB__ROLE_RESTART; // the decision to restart it is made
	}
	if (held) {
		return ARB__ROLE_NONE; // stopped by an operator: stays stopped
	}
	return rj == ARB_TEMPORARY ? ARB__ROLE_STOP : ARB__ROLE_RESTART;
}

arb_child_state
arb__public_state(arb__cstate s, bool retry_queued)
{
	switch (s) {
	case ARB__CS_STARTING:
		return ARB_STATE_STARTING;
	case ARB__CS_RUNNING:
		return ARB_STATE_RUNNING;
	case ARB__CS_STOPPING:
		return ARB_STATE_STOPPING;
	case ARB__CS_BACKOFF:
		return ARB_STATE_RESTARTING;
	case ARB__CS_IGNORED:
		return ARB_STATE_IGNORED;
	case ARB__CS_STOPPED:
	default:
		return retry_queued ? ARB_STATE_RESTARTING : ARB_STATE_STOPPED;
	}
}

void
arb__strategy_range(arb_strategy s, size_t n, size_t i, size_t *lo, size_t *hi)
{
	assert(i < n);
	switch (s) {
	case ARB_ONE_FOR_ALL:
		*lo = 0;
		*hi = n;
		break;
	case ARB_REST_FOR_ONE:
		*lo = i;
		*hi = n;
		break;
	case ARB_ONE_FOR_ONE:
	case ARB_SIMPLE_ONE_FOR_ONE:
	default: // out of range never passes the spec checker
		*lo = i;
		*hi = i + 1;
		break;
	}
}

static const char *const strategy_names[] = {
	[ARB_ONE_FOR_ONE] = "one_for_one",
	[ARB_ONE_FOR_ALL] = "one_for_all",
	[ARB_REST_FOR_ONE] = "rest_for_one",
	[ARB_SIMPLE_ONE_FOR_ONE] = "simple_one_for_one",
};

const char *
arb__strategy_name(arb_strategy s)
{
	if ((unsigned) s >= ARB_ARRAY_SIZE(strategy_names)) {
		return "unknown";
	}
	return strategy_names[s];
}

static const char *const restart_names[] = {
	[ARB_PERMANENT] = "permanent",
	[ARB_TRANSIENT] = "transient",
	[ARB_TEMPORARY] = "temporary",
};

const char *
arb__restart_name(arb_restart r)
{
	if ((unsigned) r >= ARB_ARRAY_SIZE(restart_names)) {
		return "unknown";
	}
	return restart_names[r];
}

void
arb__proc_reason(const arb__proc_end *end, arb_exit *e)
{
	int st = end->status;

	memset(e, 0, sizeof(*e));
	if (end->hung) {
		e->kind = ARB_EXIT_HUNG;
		snprintf(e->text, sizeof(e->text), "watchdog %d ms",
		    end->watchdog_ms);
	} else if (end->killed) {
		e->kind = ARB_EXIT_KILLED;
	} else if (end->reported != NULL) {
		*e = *end->reported;
	} else if (WIFSIGNALED(st)) {
		if (end->stop_sent && WTERMSIG(st) == SIGTERM) {
			e->kind = ARB_EXIT_SHUTDOWN;
		} else {
			e->kind = ARB_EXIT_CRASHED;
			e->code = WTERMSIG(st);
		}
	} else if (end->stop_sent) {
		e->kind = ARB_EXIT_SHUTDOWN;
	} else if (WEXITSTATUS(st) == 0) {
		e->kind = ARB_EXIT_NORMAL;
	} else {
		e->kind = ARB_EXIT_ERROR;
		e->code = WEXITSTATUS(st);
		snprintf(e->text, sizeof(e->text), "exit status %d",
		    WEXITSTATUS(st));
	}
}
