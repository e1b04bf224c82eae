// SPDX-License-Identifier: MIT
// hello.c -- two actors ping-pong under a one_for_one supervisor.
//
// "pinger" is a thread actor; "ponger" is a process actor (its own OS
// process) that crashes on purpose every --crash-every pongs, so you can
// watch the supervisor restart it while the pinger carries on.  Stop it
// with Ctrl-C (exit status 0) or let --seconds end it.

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_PING = 1, TAG_PONG = 2 };

static int crash_every = 5;

typedef struct pinger {
	arb_ctx      *ctx;
	struct event *tick;
	unsigned      sent;
	unsigned      pongs;
} pinger;

static void
pinger_tick(evutil_socket_t fd, short what, void *arg)
{
	pinger *p = arg;
	arb_pid ponger;

	(void) fd;
	(void) what;
	if (arb_whereis(p->ctx, "root/ponger", &ponger) == ARB_OK &&
	    arb_send_copy(p->ctx, ponger, TAG_PING, &p->sent,
	        sizeof(p->sent)) == ARB_OK) {
		p->sent++;
	}
}

static int
pinger_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	pinger        *p  = calloc(1, sizeof(*p));
	struct timeval tv = { 0, 200 * 1000 };

	(void) arg;
	(void) len;
	if (p == NULL) {
		return ARB_ENOMEM;
	}
	p->ctx  = ctx;
	p->tick = event_new(arb_base(ctx), -1, EV_PERSIST, pinger_tick, p);
	event_add(p->tick, &tv);
	*statep = p;
	return ARB_OK;
}

static void
pinger_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	pinger  *p = state;
	unsigned n = 0;

	if (arb_msg_tag(msg) == TAG_PONG && arb_msg_len(msg) == sizeof(n)) {
		memcpy(&n, arb_msg_body(msg), sizeof(n));
		p->pongs++;
		printf("%s: pong %u (%u pongs so far)\n", arb_path(ctx), n,
		    p->pongs);
		fflush(stdout);
	}
}

static void
pinger_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	pinger *p = state;

	(void) ctx;
	(void) why;
	event_free(p->tick);
	free(p);
}

static const arb_actor_ops pinger_ops = {
	.type      = "pinger",
	.init      = pinger_init,
	.handle    = pinger_handle,
	.terminate = pinger_terminate,
};

static int
ponger_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*statep = calloc(1, sizeof(unsigned));
	return *statep ? ARB_OK : ARB_ENOMEM;
}

static void
ponger_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	unsigned *count = state;

	if (arb_msg_tag(msg) != TAG_PING) {
		return;
	}
	arb_send_copy(ctx, arb_msg_from(msg), TAG_PONG, arb_msg_body(msg),
	    arb_msg_len(msg));
	if (crash_every > 0 && ++*count % (unsigned) crash_every == 0) {
		arb_actor_exit_error(ctx, 42, "ponger crashes on purpose");
	}
}

static const arb_actor_ops ponger_ops = {
	.type   = "ponger",
	.init   = ponger_init,
	.handle = ponger_handle,
};

static arb_node *node;

static void
on_alarm(int sig)
{
	(void) sig;
	arb_node_stop(node); // async-signal-safe
}

int
main(int argc, char **argv)
{
	int seconds = 0, code = 0, i;

	arb_actor_type_register(&pinger_ops);
	arb_actor_type_register(&ponger_ops);
	arb_actor_main(argc, argv); // returns unless we are a process actor

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--crash-every") == 0 &&
		    i + 1 < argc) {
			crash_every = atoi(argv[++i]);
		} else {
			fprintf(stderr,
			    "usage: %s [--seconds N] [--crash-every N]\n",
			    argv[0]);
			return ARB_EXIT_USAGE;
		}
	}

	const arb_child_spec children[] = {
		{ .name = "ponger", .isolation = ARB_PROCESS, .type = "ponger" },
		{ .name = "pinger", .isolation = ARB_THREAD, .type = "pinger" },
	};
	const arb_sup_spec root = {
		.strategy  = ARB_ONE_FOR_ONE,
		.intensity = 10,
		.period_ms = 10000,
		.children  = children,
		.nchildren = 2,
	};

	if (arb_node_open(&node, NULL) != ARB_OK) {
		return ARB_EXIT_SOFTWARE;
	}
	if (seconds > 0) {
		signal(SIGALRM, on_alarm);
		alarm((unsigned) seconds);
	}
	arb_node_run(node, &root, &code);
	arb_node_close(node);
	return code;
}
