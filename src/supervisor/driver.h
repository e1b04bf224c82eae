// SPDX-License-Identifier: MIT
// driver.h -- child drivers: how a supervisor starts, stops and watches a
// child of one kind.
//
// A supervisor decides (strategy.c, intensity.c, backoff.c) and orders
// (supervisor.c); a driver carries the order out for one isolation and
// reports what happens as child events (arb__child_event: READY, IGNORE,
// FAIL, EXIT).  One driver per isolation: thread actors (drv_thread.c),
// process actors (drv_process.c), exec children (drv_exec.c) and nested
// supervisors (supervisor.c).  The tree's owner (the node) gives the tree
// its drivers (arb__stree.drivers), so the supervisor reaches them only
// through this table; a child of another node (issue 12) is one more,
// the node's (arb__stree.remote, src/node/remote_driver.c).  Everything
// here runs on the node thread; no operation may block the node loop on an
// actor's cooperation.

#ifndef ARB_DRIVER_H
#define ARB_DRIVER_H

#include "../core/arb_impl.h"

typedef struct arb__child arb__child;
typedef struct arb__stree arb__stree;

typedef struct arb__driver {
	const char *name;     // the isolation's name in logs: "thread", ...
	unsigned    pid_kind; // ARB__KIND_* of its incarnations' pids
	bool        timed_start; // start_timeout applies to its starts
	bool        heartbeat;   // its actors beat: liveness is their age
	bool        watchdog;    // spec.watchdog_ms can end a hung one
	bool        kill_abandons; // kill cannot end it (a thread): a brutal
	                           // stop asks first, with a short grace

	// start begins a new incarnation of c (c->pid is already its pid).
	// ARB_OK means it is under way: READY, IGNORE, FAIL or EXIT follow as
	// child events, possibly before start returns (an exec child is
	// READY once exec succeeded).  Any other result means nothing was
	// started and no event follows.  Never waits for the child.
	int (*start)(arb__child *c);

	// stop asks the running incarnation to end: its actor's stop
	// callback (shields apply), SIGTERM, a nested supervisor's ordered
	// shutdown.  It does not wait: the end arrives as an EXIT event, or
	// the supervisor's shutdown deadline calls kill.
	void (*stop)(arb__child *c);

	// kill ends the incarnation without its cooperation: SIGKILL to the
	// process and its group, a nested supervisor's brutal stop.  A thread
	// cannot be killed: it is abandoned (it runs on, detached from the
	// child, until the process ends; ARB_EXIT_UNCLEAN) and its EXIT
	// (killed) is reported at once; c->brutal says whether a brutal stop's
	// grace ran out (else its shutdown timeout, or shutdown: brutal_kill).
	// Does not wait; a harmless no-op when nothing runs.
	void (*kill)(arb__child *c);

	// exit_signal delivers a linked actor's abnormal exit: c's actor does
	// not trap exits, so it must end with why (OTP).  Does not wait.
	// NULL for children that cannot be linked to (exec, supervisor).
	void (*exit_signal)(arb__child *c, const arb_exit *why);

	// close releases what an incarnation still holds, reporting nothing:
	// after a failed start, and before the child record is freed.  It is
	// idempotent (nothing left: a harmless no-op) and never waits for the
	// actor: a process is SIGKILLed with its group and reaped (the only
	// wait is the kernel's, bounded), a thread still running is abandoned
	// and told to exit.  A nested supervisor is freed with the record.
	void (*close)(arb__child *c);

	// reaped: c's OS process ended with wait status `status` (the reap
	// loop collected it).  The driver reads what the child said and is
	// still queued, then reports the exit (arb__proc_ended).  NULL for
	// children without a process of their own (thread, supervisor).
	void (*reaped)(arb__child *c, int status);

	// info fills the driver's part of c's description: in->type, and for
	// actors in->stats and in->metrics (valid until the next info on this
	// node) and *hb, the time of the last heartbeat (ms; 0: none yet).
	void (*info)(const arb__child *c, arb_child_info *in, int64_t *hb);

	// prepare readies, while another start is under way, what c's start
	// will need (a thread actor: its mailbox and a parked thread with its
	// loop).  May be NULL.
	void (*prepare)(arb__child *c);

	// idle lets go of what was prepared for a start that does not
	// follow (the job ended).  May be NULL.
	void (*idle)(arb__stree *tree);

	// end lets go of everything the driver keeps for later starts (the
	// thread made ahead, the standby process): the tree stops.  May be
	// NULL.
	void (*end)(arb__stree *tree);

	// fini releases what the driver keeps with the child record across
	// incarnations (a nested supervisor's object), as the record is
	// freed.  May be NULL.
	void (*fini)(arb__child *c);

	// start_child relays a run-time start (arb__stree_start_child) to
	// the simple_one_for_one pool at inner, a path below c ("" for c
	// itself), whose subtree runs elsewhere: the remote driver's (issue
	// 12).  ARB_OK: fn(fnarg, rv, pid) gets the outcome later, exactly
	// once; otherwise nothing was asked and fn is not called.  NULL for
	// every other driver.
	int (*start_child)(arb__child *c, const char *inner, const void *arg,
	    size_t len, void (*fn)(void *, int, arb_pid), void *fnarg);
} arb__driver;

extern const arb__driver arb__drv_thread;
extern const arb__driver arb__drv_process;
extern const arb__driver arb__drv_exec;
extern const arb__driver arb__drv_sup; // supervisor.c

#endif // ARB_DRIVER_H
