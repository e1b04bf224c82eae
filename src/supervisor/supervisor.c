// SPDX-License-Identifier: MIT
// supervisor.c -- the supervisor's state machine: child events in, OTP's
// decisions, jobs of start/stop steps out.
//
// A supervisor is a state machine on the node loop, not a thread.  Its
// work is a "job": an ordered list of STOP and START steps over its
// children (initial start, a strategy's restart, the final shutdown).
// Steps complete asynchronously when child events arrive (READY, EXIT,
// deadlines); arb__child_step (strategy.c) says what each event means for
// a child, arb__decide_exit what an exit means for the supervisor.
// Events, decisions and jobs call each other (an event ends a step, a
// step fires events), so they live together here;
// the rest of a supervisor's work is around it: child records
// (child.c), children run by their drivers (driver.h), reading the tree
// (walk.c), operator commands (operator.c), reloads (reload.c) and the
// services actors ask for (service.c).  Thread: node.

#include "sup_job.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

static void sup_shutdown(arb__sup *sup, const arb_exit *why);
static void child_timer_cb(evutil_socket_t fd, short what, void *arg);

// sup_parallel_stop: simple_one_for_one stops its children in parallel
// (OTP), and so does a brutal stop (no order is kept: everything ends at
// once).
static bool
sup_parallel_stop(const arb__sup *sup)
{
	return sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE || sup->brutal;
}

// sup_drivers_idle: no start follows in this job: every driver lets go of
// what it prepared ahead.
static void
sup_drivers_idle(arb__stree *tree)
{
	size_t i;

	for (i = 0; i < ARB__ISOLATIONS; i++) {
		if (tree->drivers[i]->idle != NULL) {
			tree->drivers[i]->idle(tree);
		}
	}
}

void
arb__sup_stop_began(arb__stree *tree)
{
	size_t i;

	if (tree->stop_begun) {
		return; // e.g. a SIGTERM while the root gives up: one stop
	}
	tree->stop_begun = true;
	for (i = 0; i < ARB__ISOLATIONS; i++) {
		if (tree->drivers[i]->end != NULL) {
			tree->drivers[i]->end(tree);
		}
	}
	if (tree->hooks.stop_began != NULL) {
		tree->hooks.stop_began(tree->hook_arg);
	}
}

// ---------------------------------------------------------------------------
// Orders to children (through their drivers)
// ---------------------------------------------------------------------------
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
	arb__log(level, c->path,
	    "event=exit reason=%s decision=%s restarts=%u", reason, decision,
	    c->restarts);
}

static int
child_spawn(arb__child *c)
{
	arb__stree *tree = c->tree;
	int       rv;

	c->pid       = arb__stree_new_pid(tree, c->drv->pid_kind, c->mbid);
	c->reported  = false;
	c->stop_sent = false;
	c->killed    = false;
	c->hung      = false;
	c->brutal    = false;
	// Heartbeat and stats belong to one incarnation: a predecessor's
	// old heartbeat would make the new one look stuck (arb_node_live).
	c->last_hb_ms = 0;
	arb__stree_count_ended(c->tree, &c->stats); // the last incarnation's
	memset(&c->stats, 0, sizeof(c->stats));
	arb__buf_reset(&c->metrics);
	c->ctl_rejected = 0;
	rv = c->drv->start(c);
	// (An exec child is READY before its start returns: no deadline.)
	if (rv == 0 && c->drv->timed_start && c->state == ARB__CS_STARTING) {
		arb__child_timer_arm(c, &c->start_timer,
		    arb__child_start_timeout_ms(&c->spec), child_timer_cb);
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
		arb__child_timer_arm(c, &c->stop_timer, ms, child_timer_cb);
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
			arb__child_timer_arm(
			    c, &c->stop_timer, ms, child_timer_cb);
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
		arb__child_timer_cancel(&c->start_timer);
		snprintf(e.text, sizeof(e.text),
		    "start_timeout: no READY within %d ms",
		    arb__child_start_timeout_ms(&c->spec));
		arb__child_event(c, ARB__CE_FAIL, &e);
	} else if (c->stop_timer != NULL &&
	    !evtimer_pending(c->stop_timer, NULL)) {
		arb__child_timer_cancel(&c->stop_timer);
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
		arb__child_timer_cancel(&c->backoff_timer);
		arb__child_event(c, ARB__CE_DUE, NULL);
	} else if (c->watchdog_timer != NULL &&
	    !evtimer_pending(c->watchdog_timer, NULL)) {
		arb__child_timer_cancel(&c->watchdog_timer);
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
void
arb__sup_job_set(arb__sup *sup, job_kind kind, step *steps, size_t n)
{
	arb__stree *tree = sup->tree;

	arb__free(sup->steps);
	if (sup->tracked) {
		// Done, or replaced (a stop): the operation learns it.
		if (kind == JOB_SHUTDOWN && tree->track_rv == ARB_OK) {
			tree->track_rv = ARB_ESHUTDOWN;
			snprintf(tree->track_why, sizeof(tree->track_why),
			    "%.200s: the supervisor stopped first", sup->path);
		}
		sup->tracked = false;
		arb__stree_track_job_ended(tree);
	}
	if (tree->tracking && (kind == JOB_OPERATOR || kind == JOB_RELOAD)) {
		sup->tracked = true;
		tree->track_jobs++;
	}
	sup->job    = kind;
	sup->steps  = steps;
	sup->nsteps = n;
	sup->cur    = 0;
}

bool
arb__child_gone(const arb__child *c)
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
	if (sup->slot == sup->tree->root_slot) {
		if (sup->report_what == ARB__CE_READY) {
			sup->slot->state = ARB__CS_RUNNING;
			arb__log(ARB_LOG_INFO, sup->path, "event=tree_up");
			if (sup->tree->hooks.ready != NULL) {
				sup->tree->hooks.ready(sup->tree->hook_arg);
			}
		} else {
			if (sup->tree->hooks.exited != NULL) {
				sup->tree->hooks.exited(
				    sup->tree->hook_arg, &sup->exit_reason);
			}
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

	if (sup->job != JOB_NONE || sup->adding) {
		return; // (arb__sup_start_dynamic looks at its child after)
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		if (c->dynamic && c->state == ARB__CS_STOPPED &&
		    c->has_last_exit && !c->restart_pending) {
			arb__child_free(c);
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
	sup->retry = arb__realloc(
	    sup->retry, (sup->nretry + 1) * sizeof(*sup->retry));
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

	arb__sup_job_set(sup, JOB_NONE, NULL, 0);
	sup_drivers_idle(sup->tree); // no start follows in this job
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
		break;
	case JOB_SHUTDOWN:
		sup->state = SUP_STOPPED;
		sup_report(
		    sup, sup->start_failed ? ARB__CE_FAIL : ARB__CE_EXIT);
		return;
	case JOB_NONE:
		break;
	}
	// Children the job removed (a reload's, one left out or dropped).
	for (i = 0; i < sup->nremoved; i++) {
		arb__child_free(sup->removed[i]);
	}
	arb__free(sup->removed);
	sup->removed  = NULL;
	sup->nremoved = 0;
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

void
arb__sup_fire(arb__child *c, arb__cevent ev)
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

		if (sup->steps[i].kind != STEP_START || arb__child_gone(c) ||
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

void
arb__sup_run(arb__sup *sup)
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
				arb__sup_fire(c, ARB__CE_STOP);
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
		if (c->held && sup->job == JOB_RESTART) {
			// An operator stopped it while its restart waited (a
			// backoff, a sibling's stop): the restart ends there,
			// the children after it are not started (OTP drops a
			// try_again_restart of a terminated child).
			sup->cur = sup->nsteps;
			break;
		}
		if (arb__child_gone(c) || c->held
		    || c->state == ARB__CS_RUNNING
		    || c->state == ARB__CS_IGNORED) {
			sup->cur++;
			continue;
		}
		if (c->state == ARB__CS_STOPPED) {
			int64_t now = arb__now_ms();
			if (c->next_attempt_ms > now) {
				arb__sup_fire(c, ARB__CE_BACKOFF);
			} else {
				arb__sup_fire(c, ARB__CE_START);
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

step *
arb__sup_steps(size_t n)
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
	if (sup->slot == sup->tree->root_slot) {
		// The node stops, whatever the cause (requested, give-up,
		// auto_shutdown, failed start): not ready, `stopping` hook.
		arb__sup_stop_began(sup->tree);
	}
	s = arb__sup_steps(sup->n + sup->nremoved);
	for (i = 0; i < sup->n; i++) {
		s[i].kind = STEP_STOP;
		s[i].c    = sup->children[sup->n - 1 - i];
	}
	for (i = 0; i < sup->nremoved; i++) {
		s[sup->n + i].kind = STEP_STOP;
		s[sup->n + i].c    = sup->removed[i];
	}
	sup->nretry = 0;
	arb__sup_job_set(sup, JOB_SHUTDOWN, s, sup->n + sup->nremoved);
	arb__sup_run(sup);
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
	sup->ended_failed = true;
	if (sup->slot == sup->tree->root_slot) {
		sup->tree->gave_up = true; // sup_shutdown runs the hook
	}
	sup->tree->give_ups++;
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
			sup->retry = arb__realloc(sup->retry,
			    (sup->nretry + 1) * sizeof(*sup->retry));
			if (sup->retry == NULL) {
				arb__panic("out of memory queueing a restart");
			}
			sup->retry[sup->nretry++] = c;
		}
		return;
	}
	idx = child_index(sup, c);
	arb__strategy_range(sup->spec->strategy, sup->n, idx, &lo, &hi);
	s = arb__sup_steps(2 * (hi - lo));
	// Each sibling's role (arb__group_role_of): stopped in reverse start
	// order, then started again in start order, except temporary ones
	// (stopped only) and those an operator stopped (left alone).
	for (i = hi; i > lo; i--) {
		arb__child *x = sup->children[i - 1];
		if (x != c && arb__group_role_of(sup->spec->strategy, sup->n,
		                  idx, i - 1, x->spec.restart,
		                  x->held || x->pinned) !=
		        ARB__ROLE_NONE) {
			s[k].kind = STEP_STOP;
			s[k++].c  = x;
		}
	}
	for (i = lo; i < hi; i++) {
		arb__child *x = sup->children[i];
		if (arb__group_role_of(sup->spec->strategy, sup->n, idx, i,
		        x->spec.restart, x->held || x->pinned)
		    == ARB__ROLE_RESTART) {
			s[k].kind = STEP_START;
			s[k++].c  = x;
		}
	}
	sup->state = SUP_RUNNING;
	arb__sup_job_set(sup, JOB_RESTART, s, k);
	arb__sup_run(sup);
}

static bool
sup_any_significant_running(const arb__sup *sup, const arb__child *except)
{
	size_t i;

	for (i = 0; i < sup->n; i++) {
		const arb__child *x = sup->children[i];
		if (x != except && x->spec.significant
		    && x->state != ARB__CS_STOPPED
		    && x->state != ARB__CS_IGNORED) {
			return true;
		}
	}
	return false;
}

// child_failed: c ended (why) as a failure: an abnormal reason, or a
// nested supervisor that gave up or whose own auto_shutdown followed a
// failure (OTP reports both as `shutdown`).
static bool
child_failed(const arb__child *c, const arb_exit *why)
{
	return arb_exit_abnormal(why)
	    || (c->child_sup != NULL && c->child_sup->ended_failed);
}

// A running child ended on its own.  The slot is closed before its
// monitors' DOWN goes out (arb__stree_actor_down) when it is not to be
// restarted: a caller that calls again on that DOWN is refused, never
// queued for a process that will not come back.
static void
sup_child_exited(arb__sup *sup, arb__child *c, const arb_exit *why)
{
	arb__exit_event ev = { 0 };
	arb__decision   d;
	arb_exit        e = { .kind = ARB_EXIT_SHUTDOWN };

	c->exits[why->kind & 7]++;
	if (c->removing || c->held) {
		// Being removed by a reload, or stopped by an operator: the
		// exit is reported, no restart decision applies (nothing
		// reads its slot until an operator starts it again).
		arb__slot_close(c->mbid);
		arb__stree_actor_down(sup->tree, c, why);
		child_log_exit(c, why, "none(operator)");
		arb__sup_run(sup);
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
	if (ev.significant && d != ARB__DECIDE_RESTART && !ev.sup_stopping
	    && child_failed(c, why)) {
		sup->significant_failed = true;
	}
	if (d != ARB__DECIDE_RESTART) {
		// Not restarted: nothing will read its slot's mailbox (what
		// waits there, and what comes, is answered noproc; SPEC 19's
		// wait is for an actor that restarts).
		arb__slot_close(c->mbid);
	}
	arb__stree_actor_down(sup->tree, c, why);
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
		// Not a stop anyone asked for when a significant child
		// failed: the node must not exit 0 for it (SPEC 10).
		sup->ended_failed = sup->significant_failed;
		if (sup->ended_failed && sup->slot == sup->tree->root_slot) {
			sup->tree->auto_failed = true;
		}
		snprintf(e.text, sizeof(e.text), "%s",
		    sup->ended_failed
		        ? "auto_shutdown after a significant child failed"
		        : "auto_shutdown");
		sup_shutdown(sup, &e);
		return;
	case ARB__DECIDE_RESTART:
		if (!arb__intensity_add(&sup->win, arb__now_ms())) {
			arb__slot_close(c->mbid); // its supervisor stops
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
	arb__sup_run(sup); // a job may have waited for this child
	sup_remove_gone_dynamic(sup);
}

// sup_drop takes c out of sup's children: freed once the current job
// ends (the job's steps may still name it), or now if none runs.
static void
sup_drop(arb__sup *sup, arb__child *c)
{
	size_t i = child_index(sup, c);

	memmove(sup->children + i, sup->children + i + 1,
	    (sup->n - i - 1) * sizeof(*sup->children));
	sup->n--;
	if (sup->job == JOB_NONE) {
		arb__child_free(c);
		return;
	}
	sup->removed = arb__realloc(
	    sup->removed, (sup->nremoved + 1) * sizeof(*sup->removed));
	if (sup->removed == NULL) {
		arb__panic("out of memory dropping a child");
	}
	sup->removed[sup->nremoved++] = c;
}

// start_cause says why c was being started (arb__decide_start_failure).
static arb__start_cause
start_cause(const arb__sup *sup, const arb__child *c)
{
	if (c->dynamic && c->restarts == 0 && !c->has_last_exit) {
		return ARB__START_ADD; // start_child of a pool
	}
	switch (sup->job) {
	case JOB_INIT:
		return ARB__START_INIT;
	case JOB_OPERATOR:
		return ARB__START_OPERATOR;
	case JOB_RELOAD:
		return ARB__START_ADD; // added, or changed: a new record
	default:
		return ARB__START_RESTART;
	}
}

static void
sup_start_failed(arb__sup *sup, arb__child *c, const arb_exit *why)
{
	char     reason[200];
	arb_exit keep;
	bool     stopping = sup->state == SUP_STOPPING ||
	    sup->state == SUP_STOPPED;

	arb_exit_format(why, reason, sizeof(reason));
	switch (arb__decide_start_failure(start_cause(sup, c), stopping)) {
	case ARB__FAIL_ABORT_START:
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=abort_start",
		    reason);
		sup->start_failed = true;
		sup->exit_reason  = *why;
		snprintf(sup->exit_reason.text, sizeof(sup->exit_reason.text),
		    "child %s failed to start: %.60s", c->spec.name,
		    why->text);
		sup->state = SUP_STARTING; // allow sup_shutdown
		keep       = sup->exit_reason;
		sup_shutdown(sup, &keep);
		return;
	case ARB__FAIL_NONE:
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=start_failed reason=%s decision=none(stopping)",
		    reason);
		arb__sup_run(sup);
		return;
	case ARB__FAIL_REPORT:
		// OTP's start_child / restart_child answer {error, Reason}:
		// whoever asked learns it, the tree stays as it was, nothing
		// counts toward intensity.
		c->has_last_exit = true;
		c->last_exit     = *why;
		if (sup->tracked) {
			arb__stree_track_fail(sup->tree, c->path, why);
		}
		if (c->dynamic) {
			// A run-time child that never started: its caller
			// learns it.
			arb__log(ARB_LOG_ERROR, c->path,
			    "event=start_failed reason=%s decision=remove",
			    reason);
			arb__sup_run(sup);
			sup_remove_gone_dynamic(sup);
			return;
		}
		if (sup->job != JOB_NONE && sup->cur < sup->nsteps &&
		    sup->steps[sup->cur].c == c) {
			sup->cur++; // this step is over
		}
		if (c->added) {
			// Added by a reload: it is not added.
			arb__log(ARB_LOG_ERROR, c->path,
			    "event=start_failed reason=%s decision=not_added",
			    reason);
			// Nor is it in the spec: a later start_child of that
			// name is new, a reload of a file that has it adds it.
			arb__sup_spec_remove(sup->spec, c->spec.name);
			sup_drop(sup, c);
		} else {
			// It stays stopped until an operator starts it.
			arb__log(ARB_LOG_ERROR, c->path,
			    "event=start_failed reason=%s decision=report",
			    reason);
			c->held = true;
		}
		arb__sup_run(sup);
		return;
	case ARB__FAIL_RETRY:
		break;
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
	// Retried once the current job ended; the job's later starts are
	// not made (OTP's start_children stops at the first failure): the
	// retry restarts them in their turn.
	sup_queue_retry(sup, c);
	if (sup->job != JOB_NONE) {
		sup->cur = sup->nsteps;
		arb__sup_run(sup);
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
	arb__stree *tree = c->tree;

	child_event(c, ev, why);
	arb__stree_changed(tree); // c may be gone now
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
		arb__child_timer_cancel(&c->start_timer);
		c->added = false;
		c->started_at_ms = arb__now_ms();
		arb__stree_actor_up(sup->tree, c);
		arb__log(ARB_LOG_INFO, c->path,
		    "event=started isolation=%s ospid=%d pid=%llu restarts=%u",
		    c->drv->name, (int) arb__child_ospid(c),
		    (unsigned long long) c->pid.id,
		    c->restarts);
		if (c->spec.watchdog_ms > 0 && c->drv->watchdog) {
			arb__child_timer_arm(c, &c->watchdog_timer,
			    c->spec.watchdog_ms, child_timer_cb);
		}
		arb__child_started_notify(c, ARB_OK);
		arb__sup_run(sup);
		return;
	case ARB__CA_IGNORED:
		arb__child_timer_cancel(&c->start_timer);
		arb__child_started_notify(c, ARB_EIGNORE);
		c->added = false;
		if (arb__decide_ignore(c->spec.restart, c->dynamic) ==
		    ARB__IGNORE_KEEP) {
			arb__slot_close(c->mbid); // not started: nothing reads
			arb__log(ARB_LOG_INFO, c->path, "event=ignored");
			arb__sup_run(sup);
			return;
		}
		// A temporary or pool child that answers ignore is dropped
		// from the spec (OTP).
		arb__log(
		    ARB_LOG_INFO, c->path, "event=ignored decision=remove");
		if (c->dynamic) {
			c->state         = ARB__CS_STOPPED;
			c->has_last_exit = true;
			arb__sup_run(sup);
			sup_remove_gone_dynamic(sup);
			return;
		}
		if (sup->job != JOB_NONE && sup->cur < sup->nsteps &&
		    sup->steps[sup->cur].c == c) {
			sup->cur++;
		}
		sup_drop(sup, c);
		arb__sup_run(sup);
		return;
	case ARB__CA_START_FAILED:
		arb__stree_note_fail(sup->tree, c->path, why ? why : &e);
		arb__child_started_notify(c, ARB_ECHILD);
		arb__child_timer_cancel(&c->start_timer);
		arb__child_timer_cancel(&c->watchdog_timer);
		c->drv->close(c); // what is left of the failed start
		sup_start_failed(sup, c, why ? why : &e);
		return;
	case ARB__CA_EXITED:
		arb__child_timer_cancel(&c->watchdog_timer);
		arb__child_timer_cancel(&c->stop_timer);
		c->has_last_exit = true;
		c->last_exit     = *why;
		sup_child_exited(sup, c, why); // and arb__stree_actor_down
		return;
	case ARB__CA_REQUEST_STOP:
		arb__child_started_notify(c, ARB_ESHUTDOWN);
		arb__child_timer_cancel(&c->start_timer);
		child_request_stop(c);
		return;
	case ARB__CA_STOPPED:
		c->exits[why->kind & 7]++;
		arb__child_timer_cancel(&c->stop_timer);
		arb__child_timer_cancel(&c->watchdog_timer);
		c->has_last_exit = true;
		c->last_exit     = *why;
		arb__stree_actor_down(sup->tree, c, why);
		if (c->held || c->spec.restart == ARB_TEMPORARY
		    || sup->state == SUP_STOPPING
		    || sup->state == SUP_STOPPED) {
			// Stopped by an operator, with its supervisor (a
			// give-up, a shutdown) or for good (temporary): not
			// restarted, nothing reads its slot.  (Stopped to be
			// restarted: it waits.)
			arb__slot_close(c->mbid);
		}
		{
			char reason[200];
			arb_exit_format(why, reason, sizeof(reason));
			arb__log(ARB_LOG_INFO, c->path,
			    "event=stopped reason=%s", reason);
		}
		arb__sup_run(sup);
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
		arb__child_timer_arm(c, &c->backoff_timer, d, child_timer_cb);
		return;
	}
	case ARB__CA_CANCEL_BACKOFF:
		arb__child_timer_cancel(&c->backoff_timer);
		c->next_attempt_ms = 0;
		return;
	}
}

// ---------------------------------------------------------------------------
// Supervisor objects
// ---------------------------------------------------------------------------
int
arb__sup_open(arb__sup **supp, arb__stree *tree, arb__child *slot,
    const arb_sup_spec *spec, const char *path)
{
	arb__sup *sup;
	size_t    i;
	int       rv;

	if ((sup = arb__alloc(sizeof(*sup))) == NULL) {
		return ARB_ENOMEM;
	}
	sup->tree = tree;
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
	sup->report_ev = event_new(tree->base, -1, 0, sup_report_cb, sup);
	if (sup->report_ev == NULL) {
		arb__sup_free(sup);
		return ARB_ENOMEM;
	}
	if (spec->strategy != ARB_SIMPLE_ONE_FOR_ONE) {
		sup->children = arb__alloc(sizeof(arb__child *)
		    * (spec->nchildren ? spec->nchildren : 1));
		if (sup->children == NULL) {
			arb__sup_free(sup);
			return ARB_ENOMEM;
		}
		sup->cap = spec->nchildren;
		for (i = 0; i < spec->nchildren; i++) {
			arb__child *c = arb__child_new(
			    sup, &sup->spec->children[i], NULL, 0);
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

int
arb__sup_pin_child(arb__sup *sup, const arb_child_spec *spec, arb__child **cp)
{
	arb__child **v;
	arb__child  *c;

	if (sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE
	    || sup->state != SUP_IDLE) {
		return ARB_ESTATE;
	}
	if ((v = arb__realloc(sup->children, sizeof(*v) * (sup->n + 1)))
	    == NULL) {
		return ARB_ENOMEM;
	}
	sup->children = v;
	if ((c = arb__child_new(sup, spec, NULL, 0)) == NULL) {
		return ARB_ENOMEM;
	}
	memmove(v + 1, v, sizeof(*v) * sup->n);
	v[0]      = c;
	c->pinned = true;
	sup->n++;
	sup->cap = sup->n;
	*cp      = c;
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
		arb__child_free(sup->children[i]);
	}
	for (i = 0; i < sup->nremoved; i++) {
		arb__child_free(sup->removed[i]);
	}
	arb__free(sup->removed);
	arb__sup_job_set(sup, JOB_NONE, NULL, 0); // a tracked job ends
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
	step  *s = arb__sup_steps(sup->n);
	size_t i;

	sup->state = SUP_STARTING;
	for (i = 0; i < sup->n; i++) {
		s[i].kind = STEP_START;
		s[i].c    = sup->children[i];
	}
	arb__sup_job_set(sup, JOB_INIT, s, sup->n);
	arb__sup_run(sup);
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
	arb__sup_run(sup);
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
	    sup->tree->stopping) {
		return ARB_ESHUTDOWN;
	}
	tmpl = sup->spec->children[0];
	snprintf(name, sizeof(name), "%s.%u", tmpl.name, ++seq);
	tmpl.name = name;
	if ((c = arb__child_new(sup, &tmpl, arg ? arg : "", arg ? len : 0)) ==
	    NULL) {
		return ARB_ENOMEM;
	}
	c->dynamic = true;
	if (sup->n == sup->cap) {
		size_t       ncap = sup->cap ? sup->cap * 2 : 8;
		arb__child **nc   = arb__realloc(
                    sup->children, ncap * sizeof(*nc));
		if (nc == NULL) {
			arb__child_free(c);
			return ARB_ENOMEM;
		}
		sup->children = nc;
		sup->cap      = ncap;
	}
	sup->children[sup->n++] = c;
	sup->adding = true; // c is not freed before it is looked at
	arb__sup_fire(c, ARB__CE_START);
	sup->adding = false;
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
