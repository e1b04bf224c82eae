// SPDX-License-Identifier: MIT
// sup_job.h -- a supervisor and its jobs, inside src/supervisor/: shared by
// supervisor.c, which runs them, child.c, which keeps the child records,
// and the files that build jobs (operator.c, reload.c) or read
// supervisors (walk.c).  Thread: node.

#ifndef ARB_SUP_JOB_H
#define ARB_SUP_JOB_H

#include "sup_rt.h"

#include <event2/event.h>

// A job is an ordered list of steps over the supervisor's children.
typedef enum step_kind { STEP_STOP, STEP_START } step_kind;

typedef struct step {
	step_kind   kind;
	arb__child *c;
} step;

typedef enum job_kind {
	JOB_NONE = 0,
	JOB_INIT,     // first start, in spec order
	JOB_RESTART,  // a strategy's restart
	JOB_SHUTDOWN, // final stop, in reverse order
	JOB_OPERATOR, // arborctl stop/start/restart of one child
	JOB_RELOAD,   // a reload's diff: stop removed/changed, start new
} job_kind;

typedef enum sup_state {
	SUP_IDLE = 0,
	SUP_STARTING,
	SUP_RUNNING,
	SUP_STOPPING,
	SUP_STOPPED,
} sup_state;

struct arb__sup {
	arb__stree    *tree;
	arb__child    *slot; // our own slot in the parent (or root slot)
	arb_sup_spec  *spec; // deep copy
	char           path[256];
	arb__child   **children; // start order
	size_t         n;
	size_t         cap;
	arb__intensity win;
	sup_state      state;
	job_kind       job;
	step          *steps;
	size_t         nsteps;
	size_t         cur;
	arb__child   **retry; // children waiting for a restart after the job
	size_t         nretry;
	arb_exit       exit_reason; // reported to the parent when stopped
	bool           start_failed;
	bool           brutal; // the stop is brutal: kill now, all at once
	struct event  *report_ev; // deferred report to the parent
	arb__cevent    report_what;
	bool           in_run;
	arb__child   **removed; // reload: stopped, then freed after the job
	size_t         nremoved; // (also children dropped during a job)
	bool           tracked;  // the job belongs to a tracked operation
	bool           adding;   // arb__sup_start_dynamic is starting a child
	// A significant child ended for good after a failure
	// (child_failed): the auto_shutdown it brings is a failure too.
	bool           significant_failed;
	// It ended as a failure: gave up, or shut down on its own after a
	// significant child failed.  Read by the parent at its exit.
	bool           ended_failed;
};

// --- child.c: child records ------------------------------------------------
// arb__child_new makes a record for spec (deep-copied; arg/arg_len, when
// arg is not NULL, replace the spec's argument: a run-time child's) in
// sup, with its mailbox slot.  NULL when out of memory.
arb__child *arb__child_new(arb__sup *sup, const arb_child_spec *spec,
    const void *arg, size_t arg_len);
// arb__child_free answers a run-time start still waiting (ARB_ESHUTDOWN),
// closes what the record holds (timers, its driver's leftovers, the
// slot's mailbox), releases its path in the registry (arb__reg_release)
// and frees it.
void arb__child_free(arb__child *c);
// arb__child_started_notify answers a waiting run-time start, once.
void arb__child_started_notify(arb__child *c, int rv);
// arb__child_timer_arm (re)arms the timer in *evp to call cb(c) in ms,
// counted from now; arb__child_timer_cancel frees it (NULL: no-op).
void arb__child_timer_arm(arb__child *c, struct event **evp, int64_t ms,
    void (*cb)(evutil_socket_t, short, void *));
void arb__child_timer_cancel(struct event **evp);

// --- supervisor.c: running jobs -----------------------------------------
// arb__sup_steps allocates n steps (panics when out of memory);
// arb__sup_job_set makes them sup's job (steps taken over); arb__sup_run
// runs the job as far as it can go now; arb__sup_fire feeds a
// supervisor's own event (START, STOP) to one of its children.
// arb__child_gone: a temporary child that ended is never started again.
bool  arb__child_gone(const arb__child *c);
step *arb__sup_steps(size_t n);
void  arb__sup_job_set(arb__sup *sup, job_kind kind, step *steps, size_t n);
void  arb__sup_run(arb__sup *sup);
void  arb__sup_fire(arb__child *c, arb__cevent ev);

#endif // ARB_SUP_JOB_H
