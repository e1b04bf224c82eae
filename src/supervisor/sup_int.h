// SPDX-License-Identifier: MIT
// sup_int.h -- module-private header of src/supervisor/ (sqlite *Int.h).
//
// The pure parts of supervision live behind this header: the child state x
// event table, the exit decision, the strategy's affected range, the
// intensity window, backoff delays, and spec checking/copying.  None of
// them touches the OS, a clock or a loop: callers pass `now` and random
// numbers in, so they are tested table-driven without processes.

#ifndef ARB_SUP_INT_H
#define ARB_SUP_INT_H

#include "../core/arb_impl.h"

// --- Child state machine (s6 style: actions[state][event]) -------------
typedef enum arb__cstate {
	ARB__CS_STOPPED = 0, // not running (never started, or exited)
	ARB__CS_STARTING,    // spawned, waiting for READY / start_timeout
	ARB__CS_RUNNING,     // READY received
	ARB__CS_STOPPING,    // stop requested, waiting for exit / deadline
	ARB__CS_BACKOFF,     // restart scheduled at a later time
	ARB__CS_IGNORED,     // init answered ignore: kept, not restarted
	ARB__CS_N
} arb__cstate;

typedef enum arb__cevent {
	ARB__CE_START = 0, // supervisor wants the child started
	ARB__CE_READY,     // child reported READY
	ARB__CE_IGNORE,    // child's init answered ignore
	ARB__CE_FAIL,      // start failed (init error, exec error, timeout)
	ARB__CE_EXIT,      // the child exited (reaped / thread ended)
	ARB__CE_STOP,      // supervisor wants the child stopped
	ARB__CE_DEADLINE,  // shutdown timeout passed while stopping
	ARB__CE_BACKOFF,   // supervisor schedules a delayed restart
	ARB__CE_DUE,       // the backoff delay has passed
	ARB__CE_N
} arb__cevent;

typedef enum arb__caction {
	ARB__CA_INVALID = 0, // this event cannot happen in this state (bug)
	ARB__CA_NONE,        // nothing to do
	ARB__CA_SPAWN,       // start the child (arm start_timeout)
	ARB__CA_STARTED,     // count it started; arm the `stable` timer
	ARB__CA_IGNORED,     // record ignore; supervisor goes on
	ARB__CA_START_FAILED,// kill what is left, report the start failure
	ARB__CA_EXITED,      // running child ended on its own: supervisor
	                     // decides (arb__decide_exit)
	ARB__CA_REQUEST_STOP,// ask nicely (or kill at once for brutal_kill),
	                     // arm the shutdown deadline
	ARB__CA_STOPPED,     // a requested stop completed
	ARB__CA_KILL,        // deadline passed: SIGKILL / abandon thread
	ARB__CA_ARM_BACKOFF, // arm the backoff timer
	ARB__CA_CANCEL_BACKOFF, // drop the pending restart
} arb__caction;

typedef struct arb__ctrans {
	arb__cstate  next;
	arb__caction action;
} arb__ctrans;

// arb__child_step returns the transition for (state, event).  For
// ARB__CA_INVALID, next equals state.  This function can't fail.
arb__ctrans arb__child_step(arb__cstate state, arb__cevent ev);
const char *arb__cstate_name(arb__cstate s); // "stopped", "starting", ...

// --- Exit decision ------------------------------------------------------
typedef enum arb__decision {
	ARB__DECIDE_NONE = 0, // leave the child stopped (e.g. transient
	                      // normal exit, supervisor already stopping)
	ARB__DECIDE_REMOVE,   // temporary child: forget it (never restarted)
	ARB__DECIDE_RESTART,  // restart per strategy (then check intensity)
	ARB__DECIDE_AUTO_SHUTDOWN, // significant child ended: supervisor
	                           // stops all children, exits `shutdown`
} arb__decision;

typedef struct arb__exit_event {
	arb_restart       restart;
	bool              significant;
	arb_auto_shutdown auto_shutdown;
	bool              sup_stopping;   // supervisor already stopping
	bool              any_significant_left; // another significant child
	                                        // is still running
	const arb_exit   *why;
} arb__exit_event;

// arb__decide_exit applies OTP's restart-type rules (permanent: always;
// transient: only abnormal; temporary: never) and auto_shutdown
// (any_significant: a significant child that is not restarted ends the
// supervisor; all_significant: only when it was the last one).
// This function can't fail.
arb__decision arb__decide_exit(const arb__exit_event *ev);

// --- Start failures (OTP's start_children, restart_child, start_child) ----
// Why a child is being started: it decides what its start failure means.
typedef enum arb__start_cause {
	ARB__START_INIT = 0, // the supervisor's own start (init_children)
	ARB__START_RESTART,  // the supervisor restarts it after an exit, a
	                     // sibling's exit or a failed start (restart/2)
	ARB__START_OPERATOR, // an operator's start or restart (restart_child)
	ARB__START_ADD,      // a child being added: start_child of a spec or
	                     // of a simple_one_for_one child, a reload
} arb__start_cause;

typedef enum arb__fail_decision {
	// The supervisor is stopping: nothing more.
	ARB__FAIL_NONE = 0,
	// The supervisor's start fails: the children already started are
	// stopped, the failing child and its reason are reported up.
	ARB__FAIL_ABORT_START,
	// The error goes back to whoever asked and the tree stays as it was
	// (an added child is not added); no retry, not counted toward
	// intensity.
	ARB__FAIL_REPORT,
	// Counted toward intensity and retried once the current job ends
	// (try_again_restart); the job's later starts are not made
	// (start_children stops at the first failure); shown as restarting.
	ARB__FAIL_RETRY,
} arb__fail_decision;

// arb__decide_start_failure says what a failed start (an init error, a
// spawn error, start_timeout) means.  This function can't fail.
arb__fail_decision arb__decide_start_failure(
    arb__start_cause cause, bool sup_stopping);

// What becomes of a child whose init answered ignore.
typedef enum arb__ignore_decision {
	ARB__IGNORE_KEEP = 0, // kept in the spec, not running, not restarted
	ARB__IGNORE_REMOVE,   // dropped from the spec
} arb__ignore_decision;

// arb__decide_ignore follows OTP: a temporary child that answers ignore
// is dropped (start_children, handle_start_child), a simple_one_for_one
// child too (it is not stored); any other child is kept.  This function
// can't fail.
arb__ignore_decision arb__decide_ignore(arb_restart restart, bool dynamic);

// --- Group restarts (OTP's restart/2 for one_for_all and rest_for_one) --
typedef enum arb__group_role {
	ARB__ROLE_NONE = 0, // untouched by this restart
	ARB__ROLE_RESTART,  // stopped (if running), then started again in
	                    // start order: the child that ended, and every
	                    // other non-temporary child of the range
	ARB__ROLE_STOP,     // stopped and not started again: a temporary
	                    // sibling (OTP's terminate_children drops it)
} arb__group_role;

// arb__group_role_of gives the role of child j (its restart type rj;
// held: an operator stopped it) when child i of n must restart under
// strategy s.  A held sibling stays stopped (ARB__ROLE_NONE).  This
// function can't fail.
arb__group_role arb__group_role_of(arb_strategy s, size_t n, size_t i,
    size_t j, arb_restart rj, bool held);

// arb__public_state maps a child's state to what introspection shows:
// backoff is `restarting`, and so is a stopped child whose restart is
// queued behind the current job (OTP's {restarting, Pid}).  This function
// can't fail.
arb_child_state arb__public_state(arb__cstate s, bool retry_queued);

// --- How a child's process ended -------------------------------------------
typedef struct arb__proc_end {
	int             status;    // its wait status
	bool            hung;      // the watchdog killed it
	bool            killed;    // its supervisor SIGKILLed it
	bool            stop_sent; // a stop was asked for
	const arb_exit *reported;  // a process actor's own report, or NULL
	int             watchdog_ms;
} arb__proc_end;

// arb__proc_reason says what the end of a reaped process means, first
// rule that applies: the watchdog's kill is `hung`, the supervisor's kill
// `killed`, a process actor's own report is its reason, SIGTERM after a
// stop and any exit after a stop are `shutdown`, another signal is
// crashed{signal}, status 0 `normal`, any other status error{status}.
// This function can't fail.
void arb__proc_reason(const arb__proc_end *end, arb_exit *e);

// arb__strategy_range gives the children affected when child i of n (in
// start order) must restart: one_for_one and simple_one_for_one [i, i+1),
// one_for_all [0, n), rest_for_one [i, n).  Affected siblings are stopped
// in reverse order, then all of them restarted in start order.
void arb__strategy_range(
    arb_strategy s, size_t n, size_t i, size_t *lo, size_t *hi);

const char *arb__strategy_name(arb_strategy s); // "one_for_one", ...
const char *arb__restart_name(arb_restart r);   // "permanent", ...

// --- Intensity window (intensity.c) -----------------------------------------
// OTP: if more than `intensity` restarts happen within `period`, the
// supervisor gives up.
typedef struct arb__intensity {
	int      intensity;
	int64_t  period_ms;
	int64_t *stamps; // ring of up to intensity + 1 restart times
	size_t   n;      // stamps in use
	size_t   head;
} arb__intensity;

// arb__intensity_init: intensity >= 0, period_ms > 0.  ARB_ENOMEM.
int  arb__intensity_init(arb__intensity *w, int intensity, int64_t period_ms);
void arb__intensity_fini(arb__intensity *w); // safe on zeroed memory
// arb__intensity_add records a restart at now_ms and returns true while at
// most `intensity` restarts fall within (now_ms - period_ms, now_ms];
// false means the limit is exceeded and the supervisor must give up.
bool arb__intensity_add(arb__intensity *w, int64_t now_ms);

// --- Backoff (backoff.c) -------------------------------------------------
// arb__backoff_delay returns the delay in ms before restart attempt
// `attempt` (0 for the first restart after a stable run), jittered above
// a floor: with floor = min(min_ms, max_ms) and ceiling = min(max_ms,
// min_ms << (attempt + 1)), floor + rnd % (ceiling - floor + 1).  0 when
// min_ms is 0 (backoff off).  Never overflows for any attempt.  This
// function can't fail.
int64_t arb__backoff_delay(
    int min_ms, int max_ms, unsigned attempt, uint64_t rnd);

// --- Specs (childspec.c) -------------------------------------------------
#define ARB__NAME_MAX 63

// Effective values after defaults.
int arb__child_shutdown_ms(const arb_child_spec *c); // >0, or special
int arb__child_start_timeout_ms(const arb_child_spec *c);
int arb__child_backoff_max_ms(const arb_child_spec *c);
int arb__child_stable_ms(const arb_child_spec *c);
int arb__sup_intensity(const arb_sup_spec *s);
int arb__sup_period_ms(const arb_sup_spec *s);

// arb__sup_spec_check validates spec recursively; `path` names spec's own
// supervisor (e.g. "root").  Each problem appends one line
// "<path>/<child>: <field>: <what is wrong>\n" (or "<path>: <field>: ..."
// for the supervisor's own fields) to errbuf (truncated safely, may be
// NULL).  Returns ARB_OK or ARB_ESPEC.
int arb__sup_spec_check(
    const arb_sup_spec *spec, const char *path, char *errbuf, size_t len);

// arb__sup_spec_copy deep-copies spec (names, types, args, exe, argv,
// nested specs) into one heap object tree.  arb__sup_spec_free releases
// it; NULL is a harmless no-op.
int  arb__sup_spec_copy(const arb_sup_spec *spec, arb_sup_spec **copyp);
void arb__sup_spec_free(arb_sup_spec *spec);
// arb__sup_spec_remove takes the child spec named name out of a copy made
// by arb__sup_spec_copy (none of that name: nothing).
void arb__sup_spec_remove(arb_sup_spec *spec, const char *name);
int  arb__child_spec_copy(const arb_child_spec *c, arb_child_spec *out);
void arb__child_spec_fini(arb_child_spec *c);

// arb__sup_spec_encode appends spec, a remote subtree, to b in its wire
// form (docs/wire.md, the agent's START): thread and process actors and
// supervisors only (ARB_ESPEC for an exec child or an exe; a child's
// node is not sent: the whole subtree runs on one node).
// arb__sup_spec_decode reads it back into a heap tree for
// arb__sup_spec_free (ARB_EPERM: an exec child; ARB_EBADMSG: malformed,
// too deep or too wide; *out NULL then and err, if not NULL, says why).
// Neither checks the spec: arb__sup_spec_check.
int arb__sup_spec_encode(arb__buf *b, const arb_sup_spec *spec);
int arb__sup_spec_decode(
    const void *p, size_t len, arb_sup_spec **out, char *err, size_t errlen);

#endif // ARB_SUP_INT_H
