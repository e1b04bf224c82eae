// SPDX-License-Identifier: MIT
// drv_process.c -- the child driver of process actors (driver.h).
//
// A process actor is the node's program (or spec.exe) run with
// --arb-actor: spawned (or taken from the standby) by spawn.c, then told
// who it is by an INIT on its control channel (actor/ctl.c).  Orders go
// down that channel (STOP, KILLSIG), signals back it up; reports come up
// it (READY, IGNORE, FAIL, EXIT, heartbeats, service requests), each one
// checked before it is believed.  Its end is the reap of its process.
// Thread: node.

#include "sup_rt.h"
#include "../actor/typecheck.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void    proc_ctl_cb(evutil_socket_t fd, short what, void *arg);
static ssize_t proc_ctl_read(arb__child *c);
static void    proc_ctl_reject(arb__child *c, int rv, size_t n);
static void    proc_ctl_handle(arb__child *c, const arb__ctl_msg *m);

static int
process_start(arb__child *c)
{
	arb__stree  *tree = c->tree;
	arb__ctl_msg init;
	int          rv;

	// Known, not loaded: the node never runs this type itself (its
	// module, and what it links, stay out of the node's memory).
	if (c->spec.exe == NULL
	    && arb__actor_type_known(c->spec.type, NULL, 0) != ARB_OK) {
		return ARB_ENOENT;
	}
	if ((rv = arb__proc_spawn_actor(tree, c, &c->ctl_fd)) != 0) {
		return rv;
	}
	arb__proc_watch(tree, c);
	c->ctl_ev = event_new(
	    tree->base, c->ctl_fd, EV_READ | EV_PERSIST, proc_ctl_cb, c);
	if (c->ctl_ev == NULL || event_add(c->ctl_ev, NULL) != 0) {
		arb__proc_close(c);
		return ARB_ENOMEM;
	}
	memset(&init, 0, sizeof(init));
	init.op             = ARB__CTL_INIT;
	init.init.pid       = c->pid;
	init.init.max_msg   = (uint32_t) tree->max_msg;
	init.init.log_level = arb__log_level();
	init.init.hb_ms     = arb__hb_ms(c->spec.watchdog_ms);
	init.init.addr      = *tree->addr;
	init.init.addr.in_node = false;
	init.init.arg       = c->spec.arg;
	init.init.arg_len   = c->spec.arg_len;
	snprintf(init.init.path, sizeof(init.init.path), "%s", c->path);
	snprintf(init.init.type, sizeof(init.init.type), "%s", c->spec.type);
	if (arb__ctl_send(c->ctl_fd, &init) != 0) {
		arb__proc_close(c);
		return ARB_ECLOSED;
	}
	if (c->spec.exe == NULL) {
		// The next start of our program takes a standby spawned now,
		// which loads while this actor runs its init: spawned at READY
		// it was still loading when a restart loop's next crash came
		// (restart_process, docs/performance.md).
		arb__proc_standby_spawn(tree);
	}
	return ARB_OK;
}

static void
process_stop(arb__child *c)
{
	if (c->ospid <= 0) {
		return;
	}
	if (c->ctl_fd >= 0
	    && arb__ctl_send_op(c->ctl_fd, ARB__CTL_STOP) == 0) {
		return;
	}
	arb__proc_signal(c, SIGTERM);
}

static void
process_exit_signal(arb__child *c, const arb_exit *why)
{
	if (c->ctl_fd >= 0) {
		arb__ctl_msg m;

		m.op   = ARB__CTL_KILLSIG;
		m.exit = *why;
		arb__ctl_send(c->ctl_fd, &m);
	} else {
		arb__proc_signal(c, SIGTERM);
	}
}

static void
process_reaped(arb__child *c, int status)
{
	pid_t ospid = c->ospid;

	// The actor's last control messages (its exit reason) may still sit
	// in the channel: the reap can be dispatched before the channel's
	// event.  Read them first, in order.
	while (c->ctl_fd >= 0 && c->ospid == ospid && proc_ctl_read(c) > 0) {
	}
	if (c->ospid != ospid) {
		// A start failure in those messages already closed this
		// process, and the restart it caused may have spawned the
		// next one at once: this status is not the new process's.
		return;
	}
	// A ThreadSanitizer build: its report fails this process too.
	(void) arb__san_child_ended(c->path, (int) ospid, status);
	// Its counters as the process left them, whatever ended it: what
	// was still queued in its mailbox counts as dead letters.
	(void) arb__slot_rec_final(c->pid, &c->stats);
	(void) arb__slot_rec_tp(c->pid, &c->tree->ended_tp);
	arb__proc_ended(c, status);
}

static void
process_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	arb__mview *v = arb__stree_mview(c->tree);

	in->type  = c->spec.type;
	in->stats = c->stats;
	// Malformed control messages are rejected frames too.
	in->stats.rejected += c->ctl_rejected;
	*hb = c->last_hb_ms;
	if (v != NULL) {
		in->nmetrics =
		    arb__mview_decode(v, c->metrics.data, c->metrics.len);
		in->metrics = v->info;
	}
}

// process_end ends the standby: the tree stops.
static void
process_end(arb__stree *tree)
{
	arb__proc_standby_end(tree, false);
}

const arb__driver arb__drv_process = {
	.name        = "process",
	.pid_kind    = ARB__KIND_PROCESS,
	.timed_start = true,
	.heartbeat   = true,
	.watchdog    = true,
	.start       = process_start,
	.stop        = process_stop,
	.kill        = arb__proc_kill,
	.exit_signal = process_exit_signal,
	.close       = arb__proc_close,
	.reaped      = process_reaped,
	.info        = process_info,
	.end         = process_end,
};

// A process actor's run-time start answered once the child is READY.
typedef struct proc_waiter {
	arb__stree *tree;
	pid_t       ospid;
	arb_pid     requester;
	arb__req    req;
} proc_waiter;

// proc_reply sends the answer to a service request to c's actor.
static void
proc_reply(arb__child *c, const arb__req *req)
{
	arb__ctl_msg m;

	m.op  = ARB__CTL_REP;
	m.req = *req;
	arb__ctl_send(c->ctl_fd, &m);
}

static void
proc_started(void *arg, int rv, arb_pid pid)
{
	proc_waiter *w = arg;
	arb__child  *c;

	w->req.rv  = rv;
	w->req.pid = pid;
	// The requester, found by OS pid (it may still be starting), if it
	// is still the same incarnation.
	c = arb__idmap_get(&w->tree->by_ospid, (uint64_t) w->ospid);
	if (c != NULL && arb_pid_eq(c->pid, w->requester) && c->ctl_fd >= 0) {
		proc_reply(c, &w->req);
	}
	arb__free(w);
}

// proc_ctl_read reads and handles one datagram of c's actor: > 0 when
// one was read (handled, or rejected as malformed), 0 on EOF, < 0 when
// none was there (errno).
static ssize_t
proc_ctl_read(arb__child *c)
{
	uint8_t        buf[ARB__CTL_MAX];
	arb__ctl_msg   m;
	ssize_t        n;
	int            rv;

	n = arb__ctl_recv(c->ctl_fd, buf, sizeof(buf));
	if (n < 0 && errno == EMSGSIZE) {
		proc_ctl_reject(c, ARB_EMSGSIZE, 0);
		return 1; // discarded: on to the next
	}
	if (n <= 0) {
		return n;
	}
	if ((rv = arb__ctl_decode(&m, buf, (size_t) n, ARB__CTL_TO_NODE)) !=
	    0) {
		proc_ctl_reject(c, rv, (size_t) n);
		return n;
	}
	proc_ctl_handle(c, &m);
	return n;
}

// Control messages from a process actor.
static void
proc_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__child *c = arg;
	ssize_t     n;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	n = proc_ctl_read(c);
	if (n <= 0) {
		// EOF: the actor is gone or closed its channel; the reap
		// delivers the exit.
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			event_del(c->ctl_ev);
		}
	}
}

// proc_ctl_reject counts and logs a malformed control message: it is
// never acted on.  The count shows in the actor's `rejected` statistic.
static void
proc_ctl_reject(arb__child *c, int rv, size_t n)
{
	c->ctl_rejected++;
	arb__log(ARB_LOG_WARN, c->path,
	    "event=bad_control_message error=%s bytes=%zu%s rejected=%llu",
	    arb_err_name(rv), n > 0 ? n : (size_t) ARB__CTL_MAX,
	    n > 0 ? "" : "+", (unsigned long long) c->ctl_rejected);
}

// proc_ctl_handle acts on one well-formed control message of c's actor.
static void
proc_ctl_handle(arb__child *c, const arb__ctl_msg *m)
{
	arb__stree  *tree = c->tree;
	arb__req     req;

	switch (m->op) {
	case ARB__CTL_READY:
		arb__child_event(c, ARB__CE_READY, NULL);
		break;
	case ARB__CTL_IGNORE:
		arb__child_event(c, ARB__CE_IGNORE, NULL);
		break;
	case ARB__CTL_FAIL:
		c->reported = true;
		c->report   = m->exit;
		arb__child_event(c, ARB__CE_FAIL, &m->exit);
		break;
	case ARB__CTL_EXIT:
		c->report   = m->exit;
		c->reported = true;
		break;
	case ARB__CTL_HB:
		c->last_hb_ms = arb__now_ms();
		c->stats      = m->stats;
		if (m->metrics != NULL) {
			// Kept as sent; decoded, and checked, when a tool
			// asks (arb_node_walk).  A copy that fails keeps the
			// last one.
			arb__buf_reset(&c->metrics);
			if (arb__buf_append(&c->metrics, m->metrics,
			        m->metrics_len) != ARB_OK) {
				arb__buf_reset(&c->metrics);
			}
		}
		if (c->watchdog_timer != NULL && c->spec.watchdog_ms > 0) {
			struct timeval tv = { c->spec.watchdog_ms / 1000,
				(c->spec.watchdog_ms % 1000) * 1000 };
			evtimer_add(c->watchdog_timer, &tv);
		}
		break;
	case ARB__CTL_REQ:
		req      = m->req; // its arg points into the datagram
		req.self = c->pid; // who asks is known, never claimed
		{
			proc_waiter *w = arb__alloc(sizeof(*w));
			if (w == NULL) {
				req.rv = ARB_ENOMEM;
			} else {
				w->tree      = tree;
				w->requester = c->pid;
				w->ospid     = c->ospid;
				w->req       = req;
				w->req.arg   = NULL;
			}
			if (w != NULL &&
			    arb__stree_service(tree, &req, proc_started, w)) {
				break; // answered at READY
			}
			arb__free(w);
		}
		proc_reply(c, &req);
		arb__free(req.list); // subscribers: encoded, no longer needed
		break;
	default: // only actor -> node ops decode here
		break;
	}
}
