// SPDX-License-Identifier: MIT
// supervisor.c -- the supervisor runtime: jobs of start/stop steps driven
// by child events.
//
// A supervisor is a state machine on the node loop, not a thread.  Its
// work is a "job": an ordered list of STOP and START steps over its
// children (initial start, a strategy's restart, the final shutdown).
// Steps complete asynchronously when child events arrive (READY, EXIT,
// deadlines); arb__child_step (strategy.c) says what each event means for
// a child, arb__decide_exit what an exit means for the supervisor.
// Thread: node.

#include "../node/node_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

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
	arb_node      *node;
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
	size_t         nremoved;
};

static void sup_run(arb__sup *sup);
static void sup_shutdown(arb__sup *sup, const arb_exit *why);

// sup_parallel_stop: simple_one_for_one stops its children in parallel
// (OTP), and so does a brutal stop (no order is kept: everything ends at
// once).
static bool
sup_parallel_stop(const arb__sup *sup)
{
	return sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE || sup->brutal;
}

// ---------------------------------------------------------------------------
// Drivers: how each kind of child is run (driver.h).  A nested supervisor
// is a child too; its driver is here, where supervisors are.
// ---------------------------------------------------------------------------
static int
sup_drv_start(arb__child *c)
{
	int rv;

	if (c->child_sup != NULL) {
		arb__sup_free(c->child_sup);
		c->child_sup = NULL;
	}
	rv = arb__sup_open(&c->child_sup, c->node, c, c->spec.sup, c->path);
	if (rv == 0) {
		arb__sup_start(c->child_sup);
	}
	return rv;
}

static void
sup_drv_stop(arb__child *c)
{
	if (c->child_sup != NULL) {
		arb__sup_stop(c->child_sup);
	}
}

static void
sup_drv_kill(arb__child *c)
{
	if (c->child_sup != NULL) {
		arb__sup_brutal(c->child_sup);
	}
}

static void
sup_drv_close(arb__child *c)
{
	ARB_UNUSED(c); // the nested supervisor goes with the record
}

static void
sup_drv_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	ARB_UNUSED(hb);
	in->type     = "supervisor";
	in->strategy = c->spec.sup->strategy;
}

static const arb__driver sup_driver = {
	.name     = "supervisor",
	.pid_kind = ARB__KIND_NODE,
	.start    = sup_drv_start, // no start_timeout of its own
	.stop     = sup_drv_stop,
	.kill     = sup_drv_kill,
	.close    = sup_drv_close,
	.info     = sup_drv_info,
};

static const arb__driver *const drivers[] = {
	[ARB_THREAD]     = &arb__drv_thread,
	[ARB_PROCESS]    = &arb__drv_process,
	[ARB_EXEC]       = &arb__drv_exec,
	[ARB_SUPERVISOR] = &sup_driver,
};

void
arb__sup_drivers_idle(arb_node *node)
{
	size_t i;

	for (i = 0; i < ARB_ARRAY_SIZE(drivers); i++) {
		if (drivers[i]->idle != NULL) {
			drivers[i]->idle(node);
		}
	}
}

// ---------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------
static void
timer_cancel(struct event **evp)
{
	if (*evp != NULL) {
		event_free(*evp);
		*evp = NULL;
	}
}

static void child_timer_cb(evutil_socket_t fd, short what, void *arg);

// Timers are told apart by which field holds the event.
static void
timer_arm(arb__child *c, struct event **evp, int64_t ms)
{
	struct timeval tv;

	timer_cancel(evp);
	if ((*evp = evtimer_new(c->sup->node->base, child_timer_cb, c)) ==
	    NULL) {
		arb__panic("out of memory arming a timer");
	}
	tv.tv_sec  = (time_t) (ms / 1000);
	tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
	// Count from now, not from the loop turn's cached time: a deadline
	// (start_timeout, shutdown) must never expire early.
	event_base_update_cache_time(c->sup->node->base);
	evtimer_add(*evp, &tv);
}

static arb__child *
child_new(arb__sup *sup, const arb_child_spec *spec, const void *arg,
    size_t arg_len)
{
	arb__child *c;

	if ((c = arb__alloc(sizeof(*c))) == NULL) {
		return NULL;
	}
	if (arb__child_spec_copy(spec, &c->spec) != 0) {
		arb__free(c);
		return NULL;
	}
	if (arg != NULL) { // simple_one_for_one: per-child argument
		void *copy = arb__alloc(arg_len);
		if (copy == NULL) {
			arb__child_spec_fini(&c->spec);
			arb__free(c);
			return NULL;
		}
		memcpy(copy, arg, arg_len);
		arb__free((void *) c->spec.arg);
		c->spec.arg     = copy;
		c->spec.arg_len = arg_len;
	}
	c->sup    = sup;
	c->node   = sup->node;
	c->drv    = drivers[c->spec.isolation];
	c->pidfd  = -1;
	c->ctl_fd = -1;
	c->mbid   = arb__node_new_mbid(sup->node);
	arb__slot_new(c->mbid, c->spec.isolation == ARB_THREAD ? ARB__KIND_THREAD
	        : c->spec.isolation == ARB_PROCESS            ? ARB__KIND_PROCESS
	        : c->spec.isolation == ARB_EXEC               ? ARB__KIND_EXEC
	                                                      : ARB__KIND_NODE);
	if (arb__idmap_set(&sup->node->slots, c->mbid + 1ull, c) != 0) {
		arb__panic("out of memory adding a child slot");
	}
	snprintf(c->path, sizeof(c->path), "%.190s/%.63s", sup->path,
	    c->spec.name);
	return c;
}

// child_started_notify answers a waiting run-time start, once.
static void
child_started_notify(arb__child *c, int rv)
{
	arb__started_fn fn = c->started_fn;

	if (fn != NULL) {
		c->started_fn = NULL;
		fn(c->started_arg, rv, rv == ARB_OK ? c->pid : ARB_PID_NONE);
	}
}

static void
child_free(arb__child *c)
{
	child_started_notify(c, ARB_ESHUTDOWN);
	timer_cancel(&c->start_timer);
	timer_cancel(&c->stop_timer);
	timer_cancel(&c->backoff_timer);
	timer_cancel(&c->watchdog_timer);
	c->drv->close(c);
	// Gone from the tree for good: its path stops naming it (a running
	// entry, if any, still goes down when its actor ends).
	if (c->node->reg != NULL && c->pid.id != 0) {
		arb__reg_release(c->node->reg, c->path, c->pid);
	}
	arb__node_count_ended(c->node, &c->stats);
	// Whatever still waited in the slot's mailbox dies with the slot.
	c->node->dead_letters += arb__slot_remove(c->mbid);
	if (arb__idmap_get(&c->node->slots, c->mbid + 1ull) == c) {
		arb__idmap_del(&c->node->slots, c->mbid + 1ull);
	}
	if (c->child_sup != NULL) {
		arb__sup_free(c->child_sup);
	}
	arb__child_spec_fini(&c->spec);
	arb__buf_fini(&c->metrics);
	arb__free(c);
}

static void
child_log_exit(arb__child *c, const arb_exit *why, const char *decision)
{
	char reason[200];
	int  level = arb_exit_abnormal(why) ? ARB_LOG_ERROR : ARB_LOG_INFO;

	// A permanent child is never meant to end on its own: a normal exit
	// that it is restarted for (or given up on) is a warning, so a child
	// that exits 0 in a loop shows (OTP reports it as child_terminated).
	if (level == ARB_LOG_INFO && c->spec.restart == ARB_PERMANENT
	    && (strncmp(decision, "restart", 7) == 0
	        || strcmp(decision, "give_up") == 0)) {
		level = ARB_LOG_WARN;
	}
	arb_exit_format(why, reason, sizeof(reason));
	arb__log(level, c->path, "event=exit reason=%s decision=%s restarts=%u",
	    reason, decision, c->restarts);
}

static int
child_spawn(arb__child *c)
{
	arb_node *node = c->sup->node;
	int       rv;

	c->pid       = arb__node_new_pid(node, c->drv->pid_kind, c->mbid);
	c->reported  = false;
	c->stop_sent = false;
	c->killed    = false;
	c->hung      = false;
	c->brutal    = false;
	// Heartbeat and stats belong to one incarnation: a predecessor's
	// old heartbeat would make the new one look stuck (arb_node_live).
	c->last_hb_ms = 0;
	arb__node_count_ended(node, &c->stats); // the last incarnation's
	memset(&c->stats, 0, sizeof(c->stats));
	arb__buf_reset(&c->metrics);
	c->ctl_rejected = 0;
	rv = c->drv->start(c);
	// (An exec child is READY before its start returns: no deadline.)
	if (rv == 0 && c->drv->timed_start && c->state == ARB__CS_STARTING) {
		timer_arm(c, &c->start_timer, arb__child_start_timeout_ms(&c->spec));
	}
	return rv;
}

static void
child_kill(arb__child *c)
{
	c->drv->kill(c);
}

int
arb__child_stop_ms(const arb__child *c)
{
	int ms = arb__child_shutdown_ms(&c->spec);

	if (c->brutal && (ms <= 0 || ms > ARB__BRUTAL_GRACE_MS)) {
		ms = ARB__BRUTAL_GRACE_MS; // infinity included
	}
	return ms;
}

// child_request_stop asks c to stop (SPEC 5): its stop, then its kill at
// the shutdown deadline; a brutal_kill child is killed at once.  In a
// brutal stop, what can be killed is killed at once, and what cannot (a
// thread) is asked with ARB__BRUTAL_GRACE_MS to end.
static void
child_request_stop(arb__child *c)
{
	int ms;

	c->stop_sent = true;
	c->brutal    = c->sup->brutal;
	ms           = arb__child_stop_ms(c);
	if (ms == ARB_SHUTDOWN_BRUTAL_KILL ||
	    (c->brutal && !c->drv->kill_abandons)) {
		child_kill(c);
		return;
	}
	c->drv->stop(c);
	if (ms > 0 && c->state == ARB__CS_STOPPING) {
		timer_arm(c, &c->stop_timer, ms);
	}
}

// child_brutal: c was asked to stop before the stop turned brutal.
static void
child_brutal(arb__child *c)
{
	if (c->state != ARB__CS_STOPPING || c->brutal) {
		return;
	}
	c->brutal = true;
	if (!c->drv->kill_abandons) {
		child_kill(c);
	} else if (c->stop_timer != NULL) {
		// From now on at most the grace.
		int ms = arb__child_stop_ms(c);
		if (ms > 0) {
			timer_arm(c, &c->stop_timer, ms);
		}
	}
}

static void
child_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__child *c = arg;
	arb_exit    e = { .kind = ARB_EXIT_ERROR, .code = ARB_ETIMEDOUT };

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	// Find which timer fired: the one that is no longer pending.
	if (c->start_timer != NULL && !evtimer_pending(c->start_timer, NULL)) {
		timer_cancel(&c->start_timer);
		snprintf(e.text, sizeof(e.text),
		    "start_timeout: no READY within %d ms",
		    arb__child_start_timeout_ms(&c->spec));
		arb__child_event(c, ARB__CE_FAIL, &e);
	} else if (c->stop_timer != NULL &&
	    !evtimer_pending(c->stop_timer, NULL)) {
		timer_cancel(&c->stop_timer);
		if (c->brutal) {
			arb__log(ARB_LOG_WARN, c->path,
			    "event=stop_deadline grace_ms=%d stop=brutal "
			    "action=kill",
			    arb__child_stop_ms(c));
		} else {
			arb__log(ARB_LOG_WARN, c->path,
			    "event=stop_deadline shutdown_ms=%d action=kill",
			    arb__child_stop_ms(c));
		}
		arb__child_event(c, ARB__CE_DEADLINE, NULL);
	} else if (c->backoff_timer != NULL &&
	    !evtimer_pending(c->backoff_timer, NULL)) {
		timer_cancel(&c->backoff_timer);
		arb__child_event(c, ARB__CE_DUE, NULL);
	} else if (c->watchdog_timer != NULL &&
	    !evtimer_pending(c->watchdog_timer, NULL)) {
		timer_cancel(&c->watchdog_timer);
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=watchdog watchdog_ms=%d action=kill",
		    c->spec.watchdog_ms);
		c->hung = true;
		c->drv->kill(c);
	}
}

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------
static void
job_set(arb__sup *sup, job_kind kind, step *steps, size_t n)
{
	arb__free(sup->steps);
	sup->job    = kind;
	sup->steps  = steps;
	sup->nsteps = n;
	sup->cur    = 0;
}

static bool
child_gone(const arb__child *c)
{
	// A temporary child that has ended is never started again.
	return c->spec.restart == ARB_TEMPORARY && c->has_last_exit &&
	    c->state == ARB__CS_STOPPED;
}

static void
sup_report_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__sup *sup = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	if (sup->slot == NULL) {
		return;
	}
	if (sup->slot == sup->node->root_slot) {
		if (sup->report_what == ARB__CE_READY) {
			sup->slot->state = ARB__CS_RUNNING;
			arb__log(ARB_LOG_INFO, sup->path, "event=tree_up");
			arb__node_tree_ready(sup->node);
		} else {
			arb__node_root_exited(sup->node, &sup->exit_reason);
		}
		return;
	}
	arb__child_event(sup->slot, sup->report_what, &sup->exit_reason);
}

// sup_report tells the parent, from a fresh stack (the parent may free or
// restart this supervisor while handling it).
static void
sup_report(arb__sup *sup, arb__cevent what)
{
	sup->report_what = what;
	event_active(sup->report_ev, 0, 0);
}

static void
sup_remove_gone_dynamic(arb__sup *sup)
{
	size_t i, j = 0;

	if (sup->job != JOB_NONE) {
		return;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		if (c->dynamic && c->state == ARB__CS_STOPPED &&
		    c->has_last_exit && !c->restart_pending) {
			child_free(c);
		} else {
			sup->children[j++] = c;
		}
	}
	sup->n = j;
}

static void sup_restart(arb__sup *sup, arb__child *c);

// sup_queue_retry remembers that c must restart once the current job ends.
static void
sup_queue_retry(arb__sup *sup, arb__child *c)
{
	if (c->restart_pending) {
		return;
	}
	c->restart_pending = true;
	sup->retry = arb__realloc(sup->retry, (sup->nretry + 1) * sizeof(*sup->retry));
	if (sup->retry == NULL) {
		arb__panic("out of memory queueing a restart");
	}
	sup->retry[sup->nretry++] = c;
}

static void
job_done(arb__sup *sup)
{
	job_kind done = sup->job;
	size_t   i, n;

	job_set(sup, JOB_NONE, NULL, 0);
	arb__sup_drivers_idle(sup->node); // no start follows in this job
	switch (done) {
	case JOB_INIT:
		sup->state = SUP_RUNNING;
		sup_report(sup, ARB__CE_READY);
		break;
	case JOB_RESTART:
	case JOB_OPERATOR:
		sup->state = SUP_RUNNING;
		break;
	case JOB_RELOAD:
		sup->state = SUP_RUNNING;
		for (i = 0; i < sup->nremoved; i++) {
			child_free(sup->removed[i]);
		}
		arb__free(sup->removed);
		sup->removed  = NULL;
		sup->nremoved = 0;
		break;
	case JOB_SHUTDOWN:
		sup->state = SUP_STOPPED;
		sup_report(sup, sup->start_failed ? ARB__CE_FAIL : ARB__CE_EXIT);
		return;
	case JOB_NONE:
		break;
	}
	sup_remove_gone_dynamic(sup);
	// Restarts that arrived while a job ran (at most those queued now: a
	// restart that fails again is queued again, and waits for the next
	// job's end).  A restart that completes at once ends its job inside
	// sup_restart, and that nested job_done takes the rest of the queue:
	// look at nretry again every time.
	n = sup->nretry;
	for (i = 0; i < n && sup->nretry > 0 && sup->job == JOB_NONE &&
	     sup->state == SUP_RUNNING;
	     i++) {
		arb__child *c = sup->retry[0];
		memmove(sup->retry, sup->retry + 1,
		    (sup->nretry - 1) * sizeof(*sup->retry));
		sup->nretry--;
		c->restart_pending = false;
		if (c->state == ARB__CS_STOPPED && !c->held) {
			sup_restart(sup, c); // not if an operator stopped it
		}
	}
}

static void
child_fire(arb__child *c, arb__cevent ev)
{
	arb__child_event(c, ev, NULL);
}

// sup_prepare_next: while a child starts, have what the next thread child
// of the job needs made in parallel (its mailbox, a thread with a loop),
// so the sequential start (SPEC 4) waits only for init and READY.
static void
sup_prepare_next(arb__sup *sup)
{
	size_t i;

	for (i = sup->cur + 1; i < sup->nsteps; i++) {
		arb__child *c = sup->steps[i].c;

		if (sup->steps[i].kind != STEP_START || child_gone(c) ||
		    c->held || c->state != ARB__CS_STOPPED) {
			continue;
		}
		if (c->drv->prepare != NULL &&
		    c->next_attempt_ms <= arb__now_ms()) {
			c->drv->prepare(c);
		}
		return;
	}
}

static void
sup_run(arb__sup *sup)
{
	bool waiting = false;
	size_t i;

	if (sup->in_run || sup->job == JOB_NONE) {
		return;
	}
	sup->in_run = true;
	while (sup->cur < sup->nsteps) {
		step       *s = &sup->steps[sup->cur];
		arb__child *c = s->c;

		if (s->kind == STEP_STOP) {
			if (c->state == ARB__CS_STOPPED ||
			    c->state == ARB__CS_IGNORED) {
				sup->cur++;
				continue;
			}
			if (c->state == ARB__CS_BACKOFF ||
			    c->state == ARB__CS_STARTING ||
			    c->state == ARB__CS_RUNNING) {
				child_fire(c, ARB__CE_STOP);
				continue; // re-examine the new state
			}
			// STOPPING
			if (sup_parallel_stop(sup)) {
				sup->cur++;
				continue;
			}
			waiting = true;
			break;
		}
		// STEP_START
		if (child_gone(c) || c->held || c->state == ARB__CS_RUNNING ||
		    c->state == ARB__CS_IGNORED) {
			sup->cur++;
			continue;
		}
		if (c->state == ARB__CS_STOPPED) {
			int64_t now = arb__now_ms();
			if (c->next_attempt_ms > now) {
				child_fire(c, ARB__CE_BACKOFF);
			} else {
				child_fire(c, ARB__CE_START);
			}
			if (sup->job == JOB_NONE) {
				break; // the event ended this job
			}
			continue;
		}
		if (c->state == ARB__CS_STARTING) {
			sup_prepare_next(sup);
		}
		waiting = true; // STARTING, BACKOFF or STOPPING
		break;
	}
	sup->in_run = false;
	if (waiting || sup->job == JOB_NONE) {
		return;
	}
	for (i = 0; i < sup->n; i++) {
		if (sup->children[i]->state == ARB__CS_STOPPING) {
			return; // parallel stops still running
		}
	}
	job_done(sup);
}

static step *
steps_alloc(size_t n)
{
	step *s = arb__alloc(sizeof(step) * (n ? n : 1));

	if (s == NULL) {
		arb__panic("out of memory building a supervisor job");
	}
	return s;
}

static void
sup_shutdown(arb__sup *sup, const arb_exit *why)
{
	step  *s;
	size_t i;

	if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED) {
		return;
	}
	sup->state       = SUP_STOPPING;
	sup->exit_reason = *why;
	if (sup->slot == sup->node->root_slot) {
		// The node stops, whatever the cause (requested, give-up,
		// auto_shutdown, failed start): not ready, `stopping` hook.
		arb__node_stop_began(sup->node);
	}
	s = steps_alloc(sup->n + sup->nremoved);
	for (i = 0; i < sup->n; i++) {
		s[i].kind = STEP_STOP;
		s[i].c    = sup->children[sup->n - 1 - i];
	}
	for (i = 0; i < sup->nremoved; i++) {
		s[sup->n + i].kind = STEP_STOP;
		s[sup->n + i].c    = sup->removed[i];
	}
	sup->nretry = 0;
	job_set(sup, JOB_SHUTDOWN, s, sup->n + sup->nremoved);
	sup_run(sup);
}

static void
sup_give_up(arb__sup *sup, arb__child *c)
{
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	arb__log(ARB_LOG_ERROR, sup->path,
	    "event=give_up reason=reached_max_restart_intensity child=%s "
	    "intensity=%d period_ms=%d action=escalate",
	    c->spec.name, sup->win.intensity, (int) sup->win.period_ms);
	snprintf(e.text, sizeof(e.text), "reached_max_restart_intensity");
	if (sup->slot == sup->node->root_slot) {
		sup->node->gave_up = true; // sup_shutdown runs the hook
	}
	sup->node->give_ups++;
	sup_shutdown(sup, &e);
}

static size_t
child_index(const arb__sup *sup, const arb__child *c)
{
	size_t i;

	for (i = 0; i < sup->n; i++) {
		if (sup->children[i] == c) {
			return i;
		}
	}
	arb__panic("child %s not in its supervisor", c->path);
}

static void
child_plan_backoff(arb__child *c)
{
	int64_t now = arb__now_ms();
	int64_t d;

	if (c->spec.backoff_min_ms <= 0) {
		c->next_attempt_ms = 0;
		return;
	}
	if (c->started_at_ms > 0 &&
	    now - c->started_at_ms >= arb__child_stable_ms(&c->spec)) {
		c->backoff_attempt = 0; // it stayed up: forgive the past
	}
	d = arb__backoff_delay(c->spec.backoff_min_ms,
	    arb__child_backoff_max_ms(&c->spec), c->backoff_attempt++,
	    arb__random());
	c->next_attempt_ms = now + d;
}

// sup_restart builds the strategy's job for c (already counted against
// intensity).
static void
sup_restart(arb__sup *sup, arb__child *c)
{
	size_t lo, hi, i, k = 0, idx;
	step  *s;

	if (sup->job != JOB_NONE) {
		if (!c->restart_pending) {
			c->restart_pending = true;
			sup->retry = arb__realloc(
			    sup->retry, (sup->nretry + 1) * sizeof(*sup->retry));
			if (sup->retry == NULL) {
				arb__panic("out of memory queueing a restart");
			}
			sup->retry[sup->nretry++] = c;
		}
		return;
	}
	idx = child_index(sup, c);
	arb__strategy_range(sup->spec->strategy, sup->n, idx, &lo, &hi);
	s = steps_alloc(2 * (hi - lo));
	for (i = hi; i > lo; i--) {
		if (sup->children[i - 1] != c) {
			s[k].kind = STEP_STOP;
			s[k++].c  = sup->children[i - 1];
		}
	}
	for (i = lo; i < hi; i++) {
		arb__child *x = sup->children[i];
		// Siblings taken down by this restart: temporary ones are not
		// started again (OTP).
		if (x != c && x->spec.restart == ARB_TEMPORARY) {
			continue;
		}
		s[k].kind = STEP_START;
		s[k++].c  = x;
	}
	sup->state = SUP_RUNNING;
	job_set(sup, JOB_RESTART, s, k);
	sup_run(sup);
}

static bool
sup_any_significant_running(const arb__sup *sup, const arb__child *except)
{
	size_t i;

	for (i = 0; i < sup->n; i++) {
		const arb__child *x = sup->children[i];
		if (x != except && x->spec.significant &&
		    x->state != ARB__CS_STOPPED && x->state != ARB__CS_IGNORED) {
			return true;
		}
	}
	return false;
}

// A running child ended on its own.
static void
sup_child_exited(arb__sup *sup, arb__child *c, const arb_exit *why)
{
	arb__exit_event ev = { 0 };
	arb__decision   d;
	arb_exit        e = { .kind = ARB_EXIT_SHUTDOWN };

	c->exits[why->kind & 7]++;
	if (c->removing || c->held) {
		// Being removed by a reload, or stopped by an operator: the
		// exit is reported, no restart decision applies.
		child_log_exit(c, why, "none(operator)");
		sup_run(sup);
		return;
	}
	ev.restart       = c->spec.restart;
	ev.significant   = c->spec.significant;
	ev.auto_shutdown = sup->spec->auto_shutdown;
	ev.sup_stopping  = sup->state == SUP_STOPPING ||
	    sup->state == SUP_STOPPED;
	ev.any_significant_left = sup_any_significant_running(sup, c);
	ev.why                  = why;
	d                       = arb__decide_exit(&ev);
	switch (d) {
	case ARB__DECIDE_NONE:
		child_log_exit(c, why, ev.sup_stopping ? "none(stopping)"
		                                       : "none");
		break;
	case ARB__DECIDE_REMOVE:
		child_log_exit(c, why, "remove(temporary)");
		break;
	case ARB__DECIDE_AUTO_SHUTDOWN:
		child_log_exit(c, why, "auto_shutdown");
		snprintf(e.text, sizeof(e.text), "auto_shutdown");
		sup_shutdown(sup, &e);
		return;
	case ARB__DECIDE_RESTART:
		if (!arb__intensity_add(&sup->win, arb__now_ms())) {
			child_log_exit(c, why, "give_up");
			sup_give_up(sup, c);
			return;
		}
		child_plan_backoff(c);
		child_log_exit(c, why,
		    c->next_attempt_ms > 0 ? "restart(backoff)" : "restart");
		c->restarts++;
		sup_restart(sup, c);
		return;
	}
	sup_run(sup); // a job may have waited for this child
	sup_remove_gone_dynamic(sup);
}

static void
sup_start_failed(arb__sup *sup, arb__child *c, const arb_exit *why)
{
	char reason[200];

	arb_exit_format(why, reason, sizeof(reason));
	if (sup->job == JOB_INIT) {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=abort_start", reason);
		sup->start_failed = true;
		sup->exit_reason  = *why;
		snprintf(sup->exit_reason.text, sizeof(sup->exit_reason.text),
		    "child %s failed to start: %.60s", c->spec.name, why->text);
		sup->state = SUP_STARTING; // allow sup_shutdown
		{
			arb_exit keep = sup->exit_reason;
			sup_shutdown(sup, &keep);
		}
		return;
	}
	if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED) {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=none(stopping)",
		    reason);
		sup_run(sup);
		return;
	}
	if (c->dynamic && c->restarts == 0 && !c->has_last_exit) {
		// A run-time child that never started: its caller learns it.
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=remove", reason);
		c->has_last_exit = true;
		c->last_exit     = *why;
		sup_run(sup);
		sup_remove_gone_dynamic(sup);
		return;
	}
	// A failed restart is retried and counts toward intensity (OTP
	// try_again_restart); it never crashes the supervisor.
	if (!arb__intensity_add(&sup->win, arb__now_ms())) {
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=give_up", reason);
		sup_give_up(sup, c);
		return;
	}
	child_plan_backoff(c);
	arb__log(ARB_LOG_ERROR, c->path,
	    "event=start_failed reason=%s decision=retry", reason);
	c->restarts++;
	c->has_last_exit = true;
	c->last_exit     = *why;
	// Continue the current job; the failed child is retried after it.
	sup_queue_retry(sup, c);
	if (sup->job != JOB_NONE) {
		sup->cur++; // skip the failed step
		sup_run(sup);
	} else {
		job_done(sup);
	}
}

// ---------------------------------------------------------------------------
// Child events
// ---------------------------------------------------------------------------
static void child_event(arb__child *c, arb__cevent ev, const arb_exit *why);

void
arb__child_event(arb__child *c, arb__cevent ev, const arb_exit *why)
{
	arb_node *node = c->node;

	child_event(c, ev, why);
	arb__node_changed(node); // c may be gone now
}

static void
child_event(arb__child *c, arb__cevent ev, const arb_exit *why)
{
	arb__sup   *sup = c->sup;
	arb__ctrans t   = arb__child_step(c->state, ev);
	arb_exit    e   = { .kind = ARB_EXIT_ERROR, .code = ARB_ECHILD };
	int         rv;

	if (t.action == ARB__CA_INVALID) {
		arb__log(ARB_LOG_DEBUG, c->path,
		    "event=ignored_event state=%s ev=%d",
		    arb__cstate_name(c->state), (int) ev);
		return;
	}
	c->state = t.next;
	switch (t.action) {
	case ARB__CA_INVALID:
	case ARB__CA_NONE:
		return;
	case ARB__CA_SPAWN:
		if ((rv = child_spawn(c)) != 0) {
			snprintf(e.text, sizeof(e.text), "spawn: %s",
			    arb_strerror(rv));
			arb__child_event(c, ARB__CE_FAIL, &e);
		}
		return;
	case ARB__CA_STARTED:
		timer_cancel(&c->start_timer);
		c->started_at_ms = arb__now_ms();
		arb__node_actor_up(sup->node, c);
		arb__log(ARB_LOG_INFO, c->path,
		    "event=started isolation=%s ospid=%d pid=%llu restarts=%u",
		    c->drv->name, (int) arb__child_ospid(c),
		    (unsigned long long) c->pid.id,
		    c->restarts);
		if (c->spec.watchdog_ms > 0 && c->drv->watchdog) {
			timer_arm(c, &c->watchdog_timer, c->spec.watchdog_ms);
		}
		child_started_notify(c, ARB_OK);
		sup_run(sup);
		return;
	case ARB__CA_IGNORED:
		timer_cancel(&c->start_timer);
		arb__log(ARB_LOG_INFO, c->path, "event=ignored");
		child_started_notify(c, ARB_EIGNORE);
		sup_run(sup);
		return;
	case ARB__CA_START_FAILED:
		child_started_notify(c, ARB_ECHILD);
		timer_cancel(&c->start_timer);
		timer_cancel(&c->watchdog_timer);
		c->drv->close(c); // what is left of the failed start
		sup_start_failed(sup, c, why ? why : &e);
		return;
	case ARB__CA_EXITED:
		timer_cancel(&c->watchdog_timer);
		timer_cancel(&c->stop_timer);
		c->has_last_exit = true;
		c->last_exit     = *why;
		arb__node_actor_down(sup->node, c, why);
		sup_child_exited(sup, c, why);
		return;
	case ARB__CA_REQUEST_STOP:
		child_started_notify(c, ARB_ESHUTDOWN);
		timer_cancel(&c->start_timer);
		child_request_stop(c);
		return;
	case ARB__CA_STOPPED:
		c->exits[why->kind & 7]++;
		timer_cancel(&c->stop_timer);
		timer_cancel(&c->watchdog_timer);
		c->has_last_exit = true;
		c->last_exit     = *why;
		arb__node_actor_down(sup->node, c, why);
		{
			char reason[200];
			arb_exit_format(why, reason, sizeof(reason));
			arb__log(ARB_LOG_INFO, c->path,
			    "event=stopped reason=%s", reason);
		}
		sup_run(sup);
		return;
	case ARB__CA_KILL:
		child_kill(c);
		return;
	case ARB__CA_ARM_BACKOFF: {
		int64_t d = c->next_attempt_ms - arb__now_ms();
		if (d < 0) {
			d = 0;
		}
		arb__log(ARB_LOG_WARN, c->path,
		    "event=restarting next_attempt_in_ms=%lld attempt=%u",
		    (long long) d, c->backoff_attempt);
		timer_arm(c, &c->backoff_timer, d);
		return;
	}
	case ARB__CA_CANCEL_BACKOFF:
		timer_cancel(&c->backoff_timer);
		c->next_attempt_ms = 0;
		return;
	}
}

// ---------------------------------------------------------------------------
// Supervisor objects
// ---------------------------------------------------------------------------
int
arb__sup_open(arb__sup **supp, arb_node *node, arb__child *slot,
    const arb_sup_spec *spec, const char *path)
{
	arb__sup *sup;
	size_t    i;
	int       rv;

	if ((sup = arb__alloc(sizeof(*sup))) == NULL) {
		return ARB_ENOMEM;
	}
	sup->node = node;
	sup->slot = slot;
	snprintf(sup->path, sizeof(sup->path), "%s", path);
	if ((rv = arb__sup_spec_copy(spec, &sup->spec)) != 0) {
		arb__free(sup);
		return rv;
	}
	if ((rv = arb__intensity_init(&sup->win, arb__sup_intensity(spec),
	         arb__sup_period_ms(spec))) != 0) {
		arb__sup_free(sup);
		return rv;
	}
	sup->report_ev = event_new(node->base, -1, 0, sup_report_cb, sup);
	if (sup->report_ev == NULL) {
		arb__sup_free(sup);
		return ARB_ENOMEM;
	}
	if (spec->strategy != ARB_SIMPLE_ONE_FOR_ONE) {
		sup->children = arb__alloc(
		    sizeof(arb__child *) * (spec->nchildren ? spec->nchildren : 1));
		if (sup->children == NULL) {
			arb__sup_free(sup);
			return ARB_ENOMEM;
		}
		sup->cap = spec->nchildren;
		for (i = 0; i < spec->nchildren; i++) {
			arb__child *c =
			    child_new(sup, &sup->spec->children[i], NULL, 0);
			if (c == NULL) {
				arb__sup_free(sup);
				return ARB_ENOMEM;
			}
			sup->children[sup->n++] = c;
		}
	}
	*supp = sup;
	return ARB_OK;
}

void
arb__sup_free(arb__sup *sup)
{
	size_t i;

	if (sup == NULL) {
		return;
	}
	for (i = 0; i < sup->n; i++) {
		child_free(sup->children[i]);
	}
	for (i = 0; i < sup->nremoved; i++) {
		child_free(sup->removed[i]);
	}
	arb__free(sup->removed);
	if (sup->report_ev != NULL) {
		event_free(sup->report_ev);
	}
	arb__free(sup->children);
	arb__free(sup->steps);
	arb__free(sup->retry);
	arb__intensity_fini(&sup->win);
	arb__sup_spec_free(sup->spec);
	arb__free(sup);
}

void
arb__sup_start(arb__sup *sup)
{
	step  *s = steps_alloc(sup->n);
	size_t i;

	sup->state = SUP_STARTING;
	for (i = 0; i < sup->n; i++) {
		s[i].kind = STEP_START;
		s[i].c    = sup->children[i];
	}
	job_set(sup, JOB_INIT, s, sup->n);
	sup_run(sup);
	if (sup->job == JOB_NONE && sup->state == SUP_STARTING) {
		job_done(sup);
	}
}

void
arb__sup_stop(arb__sup *sup)
{
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	sup_shutdown(sup, &e);
}

void
arb__sup_brutal(arb__sup *sup)
{
	size_t i;

	if (sup->brutal) {
		return;
	}
	sup->brutal = true;
	// Children asked to stop before: killed now, or (threads) their
	// deadline cut to the grace.  The others are asked by the stop job,
	// which from now on goes on in parallel (sup_parallel_stop).
	for (i = 0; i < sup->n; i++) {
		child_brutal(sup->children[i]);
	}
	for (i = 0; i < sup->nremoved; i++) {
		child_brutal(sup->removed[i]);
	}
	arb__sup_stop(sup); // begins the stop if it had not begun
	sup_run(sup);
}

bool
arb__sup_stopping(const arb__sup *sup)
{
	return sup->state == SUP_STOPPING || sup->state == SUP_STOPPED;
}

arb__sup *
arb__sup_find(arb__sup *root, const char *path)
{
	size_t i;

	if (root == NULL) {
		return NULL;
	}
	if (strcmp(root->path, path) == 0) {
		return root;
	}
	for (i = 0; i < root->n; i++) {
		arb__sup *s = root->children[i]->child_sup;
		if (s != NULL && (s = arb__sup_find(s, path)) != NULL) {
			return s;
		}
	}
	return NULL;
}

int
arb__sup_start_dynamic(arb__sup *sup, const void *arg, size_t len,
    arb_pid *pidp, arb__started_fn fn, void *fnarg)
{
	arb__child    *c;
	arb_child_spec tmpl;
	char           name[ARB__NAME_MAX + 1];
	static unsigned seq;

	if (sup->spec->strategy != ARB_SIMPLE_ONE_FOR_ONE) {
		return ARB_ESTATE;
	}
	if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED ||
	    sup->node->stopping) {
		return ARB_ESHUTDOWN;
	}
	tmpl = sup->spec->children[0];
	snprintf(name, sizeof(name), "%s.%u", tmpl.name, ++seq);
	tmpl.name = name;
	if ((c = child_new(sup, &tmpl, arg ? arg : "", arg ? len : 0)) ==
	    NULL) {
		return ARB_ENOMEM;
	}
	c->dynamic = true;
	if (sup->n == sup->cap) {
		size_t       ncap = sup->cap ? sup->cap * 2 : 8;
		arb__child **nc   = arb__realloc(
                    sup->children, ncap * sizeof(*nc));
		if (nc == NULL) {
			child_free(c);
			return ARB_ENOMEM;
		}
		sup->children = nc;
		sup->cap      = ncap;
	}
	sup->children[sup->n++] = c;
	child_fire(c, ARB__CE_START);
	if (c->state != ARB__CS_STARTING && c->state != ARB__CS_RUNNING) {
		sup_remove_gone_dynamic(sup);
		return ARB_ECHILD; // failed at once: fn is not called
	}
	*pidp = c->pid;
	if (fn != NULL) {
		if (c->state == ARB__CS_RUNNING) {
			fn(fnarg, ARB_OK, c->pid);
		} else {
			c->started_fn  = fn;
			c->started_arg = fnarg;
		}
	}
	return ARB_OK;
}

// ---------------------------------------------------------------------------
// Introspection (arb_node_walk)
// ---------------------------------------------------------------------------
static arb_child_state
child_public_state(const arb__child *c)
{
	switch (c->state) {
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
	default:
		return ARB_STATE_STOPPED;
	}
}

const char *
arb_child_state_name(arb_child_state s)
{
	static const char *const names[] = { "stopped", "starting", "running",
		"stopping", "restarting", "ignored" };

	return (unsigned) s < ARB_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void
child_info(const arb__child *c, int depth, arb_child_info *in)
{
	int64_t now = arb__now_ms();
	int64_t hb  = -1;

	memset(in, 0, sizeof(*in));
	in->path      = c->path;
	in->name      = c->spec.name;
	in->isolation = c->spec.isolation;
	in->restart   = c->spec.restart;
	in->significant = c->spec.significant;
	in->state     = child_public_state(c);
	in->depth     = depth;
	in->pid       = c->pid;
	in->ospid     = (int) arb__child_ospid(c);
	in->restarts  = c->restarts;
	in->has_last_exit = c->has_last_exit;
	in->last_exit     = c->last_exit;
	memcpy(in->exits, c->exits, sizeof(in->exits));
	c->drv->info(c, in, &hb);
	if (c->state == ARB__CS_RUNNING && c->started_at_ms > 0) {
		in->uptime_ms = now - c->started_at_ms;
	}
	if (c->state == ARB__CS_BACKOFF) {
		in->next_attempt_in_ms = c->next_attempt_ms - now;
	}
	if (c->state == ARB__CS_RUNNING && c->drv->heartbeat) {
		// A fresh actor has not beaten yet: count from READY.
		int64_t since = hb > 0 ? hb : c->started_at_ms;
		int64_t limit = c->spec.watchdog_ms > 0 ? c->spec.watchdog_ms
		                                        : 3 * ARB__HB_MS;
		in->heartbeat_age_ms = now - since;
		in->live             = in->heartbeat_age_ms <= limit;
	} else {
		in->heartbeat_age_ms = -1;
		in->live             = c->state == ARB__CS_RUNNING;
	}
}

void
arb__sup_walk(
    arb__sup *sup, arb__child *slot, int depth, arb_walk_cb cb, void *arg)
{
	arb_child_info in;
	size_t         i;

	if (slot != NULL && slot->sup != NULL) {
		child_info(slot, depth, &in);
	} else {
		// The root has no parent record: describe it from sup.
		memset(&in, 0, sizeof(in));
		in.path      = sup->path;
		in.name      = "root";
		in.type      = "supervisor";
		in.isolation = ARB_SUPERVISOR;
		in.strategy  = sup->spec->strategy;
		in.state     = sup->state == SUP_RUNNING ? ARB_STATE_RUNNING
		    : sup->state == SUP_STARTING         ? ARB_STATE_STARTING
		    : sup->state == SUP_STOPPING         ? ARB_STATE_STOPPING
		                                         : ARB_STATE_STOPPED;
		in.live      = sup->state == SUP_RUNNING;
		in.heartbeat_age_ms = -1;
		in.uptime_ms = arb__now_ms() - sup->node->started_ms;
	}
	cb(&in, arg);
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		if (c->child_sup != NULL) {
			arb__sup_walk(c->child_sup, c, depth + 1, cb, arg);
		} else {
			child_info(c, depth + 1, &in);
			cb(&in, arg);
		}
	}
}

arb__child *
arb__sup_lookup(arb__sup *sup, const char *path)
{
	size_t i;

	if (sup == NULL) {
		return NULL;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c  = sup->children[i];
		size_t      pl = strlen(c->path);
		if (strcmp(c->path, path) == 0) {
			return c;
		}
		if (c->child_sup != NULL && strncmp(c->path, path, pl) == 0 &&
		    path[pl] == '/') {
			return arb__sup_lookup(c->child_sup, path);
		}
	}
	return NULL;
}

bool
arb__sup_busy(const arb__sup *sup)
{
	size_t i;

	if (sup->job != JOB_NONE) {
		return true;
	}
	for (i = 0; i < sup->n; i++) {
		const arb__child *c = sup->children[i];
		if (c->child_sup != NULL && arb__sup_busy(c->child_sup)) {
			return true;
		}
	}
	return false;
}

// ---------------------------------------------------------------------------
// Operator commands (arborctl stop/start/restart)
// ---------------------------------------------------------------------------
int
arb__sup_child_op(arb__child *c, int op)
{
	arb__sup *sup = c->sup;
	arb__sup *up;
	step     *s;
	size_t    k = 0;

	if (sup->node->stopping || sup->node->stop_begun) {
		return ARB_ESHUTDOWN;
	}
	// A supervisor above that stops (gave up, stopped by an operator)
	// takes this subtree down: nothing may start in it.
	for (up = sup; up != NULL;
	     up = up->slot != NULL ? up->slot->sup : NULL) {
		if (up->state == SUP_STOPPING || up->state == SUP_STOPPED) {
			return ARB_ESHUTDOWN;
		}
	}
	if (sup->job != JOB_NONE) {
		if (op != 0) {
			return ARB_EAGAIN; // a restart or reload is under way
		}
		// A stop needs no job of its own, so it works while one runs
		// (e.g. a restart waiting out this child's backoff, which can
		// last 30 s): hold the child and take it down now.  The job
		// skips held children at its START steps and waits for this
		// one like for any other stopping child.
		if (c->state == ARB__CS_STOPPED && c->held) {
			return ARB_ESTATE;
		}
		c->held = true;
		arb__log(ARB_LOG_INFO, c->path, "event=operator action=stop");
		child_fire(c, ARB__CE_STOP);
		sup_run(sup);
		return ARB_OK;
	}
	switch (op) {
	case 0: // stop
		if (c->state == ARB__CS_STOPPED && c->held) {
			return ARB_ESTATE;
		}
		c->held = true;
		break;
	case 1: // start
		if (c->state != ARB__CS_STOPPED && c->state != ARB__CS_IGNORED) {
			return ARB_ESTATE;
		}
		c->held = false;
		break;
	default: // restart: a requested stop never triggers a restart
		c->held = false; // decision, so no hold is needed
		break;
	}
	s = steps_alloc(2);
	if (op != 1) {
		s[k].kind = STEP_STOP;
		s[k++].c  = c;
	}
	if (c->state == ARB__CS_IGNORED && op != 0) {
		c->state = ARB__CS_STOPPED; // an operator may retry an ignore
	}
	if (op != 0) {
		s[k].kind = STEP_START;
		s[k++].c  = c;
	}
	arb__log(ARB_LOG_INFO, c->path, "event=operator action=%s",
	    op == 0 ? "stop" : op == 1 ? "start" : "restart");
	job_set(sup, JOB_OPERATOR, s, k);
	sup_run(sup);
	return ARB_OK;
}

// ---------------------------------------------------------------------------
// Reload: apply a new spec as a diff
// ---------------------------------------------------------------------------
static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
worker_spec_eq(const arb_child_spec *a, const arb_child_spec *b)
{
	size_t i;

	if (a->isolation != b->isolation || !str_eq(a->type, b->type) ||
	    !str_eq(a->exe, b->exe) || a->arg_len != b->arg_len ||
	    (a->arg_len > 0 && memcmp(a->arg, b->arg, a->arg_len) != 0) ||
	    a->restart != b->restart || a->shutdown_ms != b->shutdown_ms ||
	    a->start_timeout_ms != b->start_timeout_ms ||
	    a->backoff_min_ms != b->backoff_min_ms ||
	    a->backoff_max_ms != b->backoff_max_ms ||
	    a->stable_ms != b->stable_ms || a->watchdog_ms != b->watchdog_ms ||
	    a->significant != b->significant) {
		return false;
	}
	if ((a->argv == NULL) != (b->argv == NULL)) {
		return false;
	}
	for (i = 0; a->argv != NULL; i++) {
		if (!str_eq(a->argv[i], b->argv[i])) {
			return false;
		}
		if (a->argv[i] == NULL) {
			break;
		}
	}
	return true;
}

static arb__child *
child_by_name(arb__sup *sup, const char *name)
{
	size_t i;

	for (i = 0; i < sup->n; i++) {
		if (strcmp(sup->children[i]->spec.name, name) == 0) {
			return sup->children[i];
		}
	}
	return NULL;
}

int
arb__sup_reload(arb__sup *sup, const arb_sup_spec *spec)
{
	arb_sup_spec  *copy;
	arb__child   **next, **gone;
	step          *s;
	size_t         i, nn = 0, ng = 0, k = 0;
	int            rv;

	if (sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE ||
	    spec->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
		// Run-time children have no names in the file: only the
		// supervisor's own settings and template change.
		if (spec->strategy != sup->spec->strategy) {
			return ARB_ENOTSUP;
		}
		if ((rv = arb__sup_spec_copy(spec, &copy)) != 0) {
			return rv;
		}
		arb__sup_spec_free(sup->spec);
		sup->spec = copy;
		return ARB_OK;
	}
	if ((rv = arb__sup_spec_copy(spec, &copy)) != 0) {
		return rv;
	}
	next = arb__alloc(sizeof(*next) * (spec->nchildren + 1));
	gone = arb__alloc(sizeof(*gone) * (sup->n + 1));
	s    = arb__alloc(sizeof(*s) * (sup->n + 2 * spec->nchildren + 1));
	if (next == NULL || gone == NULL || s == NULL) {
		arb__free(next);
		arb__free(gone);
		arb__free(s);
		arb__sup_spec_free(copy);
		return ARB_ENOMEM;
	}
	// Children in the new order: kept, changed (new record) or added.
	for (i = 0; i < copy->nchildren; i++) {
		const arb_child_spec *ns  = &copy->children[i];
		arb__child           *old = child_by_name(sup, ns->name);
		arb__child           *c;

		if (old != NULL && old->spec.isolation == ARB_SUPERVISOR &&
		    ns->isolation == ARB_SUPERVISOR &&
		    (old->spec.sup->strategy == ARB_SIMPLE_ONE_FOR_ONE) ==
		        (ns->sup->strategy == ARB_SIMPLE_ONE_FOR_ONE)) {
			// Same kind of nested supervisor: recurse, keep it
			// running.  One that turns into (or out of) a
			// simple_one_for_one pool cannot be diffed: it is
			// replaced below like a changed worker.
			arb_child_spec keep;
			if (arb__child_spec_copy(ns, &keep) == 0) {
				arb__child_spec_fini(&old->spec);
				old->spec = keep;
			}
			// A stopped one (operator, or ended for good) starts
			// nothing now: it takes the new spec at its next start.
			if (old->child_sup != NULL &&
			    old->child_sup->state == SUP_RUNNING) {
				arb__sup_reload(old->child_sup, ns->sup);
			}
			next[nn++] = old;
			continue;
		}
		if (old != NULL && worker_spec_eq(&old->spec, ns) &&
		    ns->isolation != ARB_SUPERVISOR) {
			next[nn++] = old; // untouched: keeps running
			continue;
		}
		if ((c = child_new(sup, ns, NULL, 0)) == NULL) {
			arb__panic("out of memory during reload");
		}
		if (old != NULL) {
			// Changed: the old incarnation goes, the new one keeps
			// the name (and its registered path).
			old->removing = true;
			arb__log(ARB_LOG_INFO, old->path,
			    "event=reload action=restart");
		} else {
			arb__log(ARB_LOG_INFO, c->path, "event=reload action=add");
		}
		next[nn++] = c;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		size_t      j;
		bool        kept = false;

		for (j = 0; j < nn; j++) {
			kept = kept || next[j] == c;
		}
		if (!kept) {
			if (!c->removing) {
				arb__log(ARB_LOG_INFO, c->path,
				    "event=reload action=remove");
			}
			c->removing = true;
			gone[ng++]  = c;
		}
	}
	// Stop what goes (reverse of the old order), start what is new.
	for (i = ng; i > 0; i--) {
		s[k].kind = STEP_STOP;
		s[k++].c  = gone[i - 1];
	}
	for (i = 0; i < nn; i++) {
		if (next[i]->state == ARB__CS_STOPPED && !next[i]->has_last_exit &&
		    next[i]->restarts == 0 && next[i]->pid.id == 0) {
			s[k].kind = STEP_START;
			s[k++].c  = next[i];
		}
	}
	arb__free(sup->children);
	sup->children = next;
	sup->n        = nn;
	sup->cap      = copy->nchildren;
	sup->removed  = gone;
	sup->nremoved = ng;
	// The supervisor's own settings.
	if (copy->intensity != sup->spec->intensity ||
	    copy->period_ms != sup->spec->period_ms) {
		arb__intensity_fini(&sup->win);
		arb__intensity_init(&sup->win, arb__sup_intensity(copy),
		    arb__sup_period_ms(copy));
	}
	arb__sup_spec_free(sup->spec);
	sup->spec = copy;
	job_set(sup, JOB_RELOAD, s, k);
	sup_run(sup);
	return ARB_OK;
}
