// SPDX-License-Identifier: MIT
// child.c -- a supervisor's child records: made from a spec with their
// mailbox slot, their timers, and freed with everything they hold.
//
// A record outlives its incarnations: its mailbox id, restart count and
// last exit stay while pids come and go.  What runs the child is its
// driver's (driver.h); what the events mean is supervisor.c's.
// Thread: node.

#include "sup_job.h"

#include <stdio.h>
#include <string.h>

void
arb__child_timer_cancel(struct event **evp)
{
	if (*evp != NULL) {
		event_free(*evp);
		*evp = NULL;
	}
}

void
arb__child_timer_arm(arb__child *c, struct event **evp, int64_t ms,
    void (*cb)(evutil_socket_t, short, void *))
{
	struct timeval tv;

	arb__child_timer_cancel(evp);
	if ((*evp = evtimer_new(c->tree->base, cb, c)) == NULL) {
		arb__panic("out of memory arming a timer");
	}
	tv.tv_sec  = (time_t) (ms / 1000);
	tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
	// Count from now, not from the loop turn's cached time: a deadline
	// (start_timeout, shutdown) must never expire early.
	event_base_update_cache_time(c->tree->base);
	evtimer_add(*evp, &tv);
}

arb__child *
arb__child_new(arb__sup *sup, const arb_child_spec *spec, const void *arg,
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
	c->tree   = sup->tree;
	c->drv    = sup->tree->drivers[c->spec.isolation];
	if (c->spec.node != NULL
	    && arb__node_id(c->spec.node) != sup->tree->addr->node_id) {
		// Another node's: its agent runs it (the owner's driver;
		// every node gives one).
		c->drv = sup->tree->remote;
	} else if (c->spec.node != NULL) {
		arb__free((void *) c->spec.node); // this node's own name
		c->spec.node = NULL;
	}
	c->pidfd  = -1;
	c->ctl_fd = -1;
	c->mbid   = arb__stree_new_mbid(sup->tree);
	arb__slot_new(c->mbid, c->drv->pid_kind);
	if (arb__idmap_set(&sup->tree->slots, c->mbid + 1ull, c) != 0) {
		arb__panic("out of memory adding a child slot");
	}
	snprintf(c->path, sizeof(c->path), "%.190s/%.63s", sup->path,
	    c->spec.name);
	return c;
}

void
arb__child_started_notify(arb__child *c, int rv)
{
	arb__started_fn fn = c->started_fn;

	if (fn != NULL) {
		c->started_fn = NULL;
		fn(c->started_arg, rv, rv == ARB_OK ? c->pid : ARB_PID_NONE);
	}
}

void
arb__child_free(arb__child *c)
{
	arb__child_started_notify(c, ARB_ESHUTDOWN);
	arb__child_timer_cancel(&c->start_timer);
	arb__child_timer_cancel(&c->stop_timer);
	arb__child_timer_cancel(&c->backoff_timer);
	arb__child_timer_cancel(&c->watchdog_timer);
	c->drv->close(c);
	// Gone from the tree for good: its path stops naming it (a running
	// entry, if any, still goes down when its actor ends).
	if (c->tree->reg != NULL && c->pid.id != 0) {
		arb__reg_release(c->tree->reg, c->path, c->pid);
	}
	arb__stree_count_ended(c->tree, &c->stats);
	// Whatever still waited in the slot's mailbox dies with the slot.
	c->tree->dead_letters += arb__slot_remove(c->mbid);
	if (arb__idmap_get(&c->tree->slots, c->mbid + 1ull) == c) {
		arb__idmap_del(&c->tree->slots, c->mbid + 1ull);
	}
	if (c->drv->fini != NULL) {
		c->drv->fini(c);
	}
	arb__child_spec_fini(&c->spec);
	arb__buf_fini(&c->metrics);
	arb__free(c);
}
