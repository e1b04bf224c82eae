// SPDX-License-Identifier: MIT
// notify.c -- systemd readiness and watchdog of a served node (SPEC 16,
// Type=notify units): the sd_notify protocol, a datagram to the socket
// named by $NOTIFY_SOCKET (sd_notify(3); no libsystemd needed).
//
// READY=1 is sent only once the whole tree reported READY; STOPPING=1 when
// a stop begins; STATUS= carries a one-line summary; WATCHDOG=1 is sent
// every WatchdogSec/2 only while every actor loop is live, so a stuck loop
// lets systemd's watchdog fire.  Without $NOTIFY_SOCKET everything here is
// a harmless no-op.  Thread: node.

#include "notify.h"

#include "health.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct notify_state {
	arb_node     *node;
	struct event *pet;
	uint64_t      usec; // watchdog interval, 0 = off
	bool          ready_sent;
	bool          stuck_logged;
} notify_state;

static notify_state ns;

// notify_send sends one message to $NOTIFY_SOCKET (an absolute path, or
// an abstract name written with a leading '@').  Without it, a harmless
// no-op; a failure is not reported (systemd's watchdog or start timeout
// will say more than we could).
static void
notify_send(const char *fmt, ...)
{
	const char        *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	char               msg[512];
	size_t             n;
	va_list            ap;
	int                fd, len;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sa.sun_path)) {
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t) len >= sizeof(msg)) {
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		return;
	}
	(void) sendto(fd, msg, (size_t) len, MSG_NOSIGNAL,
	    (const struct sockaddr *) &sa,
	    (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

// notify_watchdog_usec returns WatchdogSec in microseconds when systemd
// asked this process for a watchdog ($WATCHDOG_USEC, and $WATCHDOG_PID
// unset or ours), else 0.
static uint64_t
notify_watchdog_usec(void)
{
	const char        *usec = getenv("WATCHDOG_USEC");
	const char        *pid = getenv("WATCHDOG_PID");
	char              *end;
	unsigned long long v;

	if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL) {
		return 0;
	}
	if (pid != NULL && strtol(pid, &end, 10) != (long) getpid()) {
		return 0;
	}
	v = strtoull(usec, &end, 10);
	return *end == '\0' ? (uint64_t) v : 0;
}

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

// notify_status sends STATUS=WHAT: counts; a running node that is
// degraded (health.c) says so, with the first paths that make it so.
static void
notify_status(arb_node *node, const char *what)
{
	count_walk  w = { 0, 0, 0 };
	arb__health h;
	arb__text   down = { 0 };

	arb_node_walk(node, notify_count, &w);
	arb__health_read(node, &h);
	if (strcmp(what, "running") == 0 && h.ndown > 0) {
		what = "degraded";
		arb__text_add(&down, "; down: ", 8);
		arb__health_text(&h, &down, 3);
	}
	notify_send("STATUS=%s: %d/%d actors running, %d restarting, "
	            "%llu give-ups%.300s",
	    what, w.running, w.total, w.restarting,
	    (unsigned long long) arb_node_give_ups(node),
	    down.p != NULL ? down.p : "");
	arb__text_fini(&down);
	arb__health_fini(&h);
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
		notify_send("WATCHDOG=1");
		ns.stuck_logged = false;
	} else if (!ns.stuck_logged) {
		// Not petting is the message: systemd's watchdog will act.
		arb_log(NULL, ARB_LOG_WARN, "watchdog_withheld", "stuck=%s",
		    stuck);
		ns.stuck_logged = true;
	}
}

void
arb__notify_init(arb_node *node)
{
	ns.node = node;
	if ((ns.usec = notify_watchdog_usec()) > 0) {
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
arb__notify_ready(arb_node *node)
{
	if (!ns.ready_sent) {
		ns.ready_sent = true;
		notify_send("READY=1");
	}
	notify_status(node, "running");
}

void
arb__notify_stopping(arb_node *node)
{
	notify_send("STOPPING=1");
	notify_status(node, "stopping");
}

void
arb__notify_changed(arb_node *node)
{
	if (ns.ready_sent) {
		notify_status(
		    node, arb_node_ready(node) ? "running" : "stopping");
	}
}

void
arb__notify_fini(void)
{
	if (ns.pet != NULL) {
		event_free(ns.pet);
		ns.pet = NULL;
	}
}
