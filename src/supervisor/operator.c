// SPDX-License-Identifier: MIT
// operator.c -- operator commands on one child (arborctl stop, start,
// restart; arb_node_child_*): each one is a job of its supervisor, and a
// stop needs none (it works while another job runs).  Thread: node.

#include "sup_job.h"

int
arb__sup_child_op(arb__child *c, int op)
{
	arb__sup *sup = c->sup;
	arb__sup *up;
	step     *s;
	size_t    k = 0;

	if (sup->tree->stopping || sup->tree->stop_begun) {
		return ARB_ESHUTDOWN;
	}
	if (c->pinned) {
		return ARB_EPERM; // arb__sup_pin_child's: not an operator's
	}
	// A supervisor above that stops (gave up, stopped by an operator)
	// takes this subtree down: nothing may start in it.
	for (up = sup; up != NULL;
	     up = up->slot != NULL ? up->slot->sup : NULL) {
		if (up->state == SUP_STOPPING || up->state == SUP_STOPPED) {
			return ARB_ESHUTDOWN;
		}
	}
	if (op == 0 &&
	    (c->state == ARB__CS_STOPPED || c->state == ARB__CS_IGNORED)) {
		// Already stopped: it stays so (OTP's terminate_child answers
		// ok), and a restart queued for it is not made.
		c->held = true;
		return ARB_OK;
	}
	if (op == 2 && c->dynamic) {
		// OTP's restart_child of a simple_one_for_one child:
		// {error, simple_one_for_one}.  Its stop deletes it, so the
		// start of a restart had nothing left to start: the child
		// was gone, silently.
		return ARB_ENOTSUP;
	}
	if (op != 0 && arb__child_gone(c)) {
		// A temporary child that ended (OTP: not_found).
		return ARB_ESTATE;
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
		c->held = true;
		arb__log(ARB_LOG_INFO, c->path, "event=operator action=stop");
		arb__sup_fire(c, ARB__CE_STOP);
		arb__sup_run(sup);
		return ARB_OK;
	}
	switch (op) {
	case 0: // stop
		c->held = true;
		break;
	case 1: // start
		if (c->state != ARB__CS_STOPPED
		    && c->state != ARB__CS_IGNORED) {
			return ARB_ESTATE;
		}
		c->held = false;
		break;
	default: // restart: a requested stop never triggers a restart
		c->held = false; // decision, so no hold is needed
		break;
	}
	s = arb__sup_steps(2);
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
	arb__sup_job_set(sup, JOB_OPERATOR, s, k);
	arb__sup_run(sup);
	return ARB_OK;
}
