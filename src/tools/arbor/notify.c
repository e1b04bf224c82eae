// SPDX-License-Identifier: MIT
// notify.c -- systemd readiness and watchdog for the arbor program
// (SPEC 16, Type=notify units), through libsystemd's sd_notify.
//
// READY=1 is sent only once the whole tree reported READY; STOPPING=1 when
// a stop begins; STATUS= carries a one-line summary; WATCHDOG=1 is sent
// every WatchdogSec/2 only while every actor loop is live, so a stuck loop
// lets systemd's watchdog fire.  Without $NOTIFY_SOCKET everything here is
// a harmless no-op.  Thread: node.

#include "notify.h"

#include <event2/event.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

typedef struct notify_state {
	arb_node     *node;
	struct event *pet;
	uint64_t      usec; // watchdog interval, 0 = off
	bool          ready_sent;
	bool          stuck_logged;
} notify_state;

static notify_state ns;

typedef struct count_walk {
	int running;
	int total;
	int restarting;
} count_walk;

static void
notify_count(const arb_child_info *in, void *arg)
{
	count_walk *w = arg;

	if (in->depth == 0 || in->isolation == ARB_SUPERVISOR) {
		return;
	}
	w->total++;
	if (in->state == ARB_STATE_RUNNING) {
		w->running++;
	} else if (in->state == ARB_STATE_RESTARTING) {
		w->restarting++;
	}
}

static void
notify_status(arb_node *node, const char *what)
{
	count_walk w = { 0, 0, 0 };

	arb_node_walk(node, notify_count, &w);
	sd_notifyf(0, "STATUS=%s: %d/%d actors running, %d restarting, "
	              "%llu give-ups",
	    what, w.running, w.total, w.restarting,
	    (unsigned long long) arb_node_give_ups(node));
}

static void
notify_pet(evutil_socket_t fd, short what, void *arg)
{
	char stuck[256] = "";

	(void) fd;
	(void) what;
	(void) arg;
	if (!ns.ready_sent) {
		return; // systemd counts the watchdog from READY=1
	}
	if (arb_node_live(ns.node, stuck, sizeof(stuck))) {
		sd_notify(0, "WATCHDOG=1");
		ns.stuck_logged = false;
	} else if (!ns.stuck_logged) {
		// Not petting is the message: systemd's watchdog will act.
		fprintf(stderr,
		    "arbor: warn - event=watchdog_withheld stuck=%s\n", stuck);
		ns.stuck_logged = true;
	}
}

void
arbor_notify_init(arb_node *node)
{
	ns.node = node;
	if (sd_watchdog_enabled(0, &ns.usec) > 0 && ns.usec > 0) {
		struct timeval tv = { (time_t) (ns.usec / 2 / 1000000),
			(suseconds_t) (ns.usec / 2 % 1000000) };
		ns.pet = event_new(arb_node_base(node), -1, EV_PERSIST,
		    notify_pet, NULL);
		if (ns.pet != NULL) {
			event_add(ns.pet, &tv);
		}
	}
}

void
arbor_notify_ready(arb_node *node)
{
	if (!ns.ready_sent) {
		ns.ready_sent = true;
		sd_notify(0, "READY=1");
	}
	notify_status(node, "running");
}

void
arbor_notify_stopping(arb_node *node)
{
	sd_notify(0, "STOPPING=1");
	notify_status(node, "stopping");
}

void
arbor_notify_changed(arb_node *node)
{
	if (ns.ready_sent) {
		notify_status(node, arb_node_ready(node) ? "running" : "stopping");
	}
}

void
arbor_notify_fini(void)
{
	if (ns.pet != NULL) {
		event_free(ns.pet);
		ns.pet = NULL;
	}
}
