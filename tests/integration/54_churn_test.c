// SPDX-License-Identifier: MIT
// 54_churn_test.c -- messages between a thread actor and a process actor
// that restarts over and over (orderly exits and SIGKILLs) for a bounded
// time: the node never crashes, and every message accepted by a send is,
// once nothing is in flight, either handled or counted as a dead letter
// or as lost (arb_node_stats_get; SPEC 19, 20).
//
// The pump (thread) sends numbered batches to the flaky actor's slot
// address every millisecond; the flaky actor (process) echoes each one to
// the pump's slot and ends itself after a random number of messages,
// one incarnation with an error exit, the next with SIGKILL (its mailbox
// and queues die with it).  The pump goes on for at least PUMP_MS and
// until it heard from MIN_INCS incarnations.  A node hook prints the node's
// counters every tick; the test waits until they stop moving and checks the
// conservation of messages.

#include "arb_test.h"
#include "probe.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T_SEQ = 200, T_ECHO };

// Under a sanitizer everything is several times slower: the flaky actor
// ends after fewer messages, so the loop still restarts it often.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifdef SLOW_BUILD
#define PUMP_MS    2000
#define FLAKY_MIN  10
#define FLAKY_SPAN 60
#else
#define PUMP_MS    2000
#define FLAKY_MIN  50
#define FLAKY_SPAN 400
#endif
#define PUMP_BURST 20 // messages per millisecond
#define MIN_INCS   4  // flaky incarnations the pump must hear from

// --- pump: thread actor
// ------------------------------------------------------
typedef struct pump {
	arb_ctx      *ctx;
	struct event *tick;
	arb_pid       flaky;
	arb_pid       last_from; // the flaky incarnation that echoed last
	int64_t       until;     // at least this long ...
	int64_t       cap;       // ... and at most this long
	uint64_t      seq, sent, refused, enoent, echoes, incarnations;
} pump;

static void
pump_tick(evutil_socket_t fd, short what, void *arg)
{
	pump          *p = arg;
	struct timeval tv = { 0, 1000 };
	int            i, rv;

	(void) fd;
	(void) what;
	// Pump for PUMP_MS, and on until echoes came from MIN_INCS
	// incarnations (a loaded machine starts processes slowly).
	if (arb_test_now_ms() >= p->cap
	    || (arb_test_now_ms() >= p->until
	        && p->incarnations >= MIN_INCS)) {
		arb_test_emit("pump event=done sent=%llu refused=%llu "
		              "enoent=%llu incarnations=%llu",
		    (unsigned long long) p->sent,
		    (unsigned long long) p->refused,
		    (unsigned long long) p->enoent,
		    (unsigned long long) p->incarnations);
		return;
	}
	for (i = 0; i < PUMP_BURST; i++) {
		rv = arb_send_copy(
		    p->ctx, p->flaky, T_SEQ, &p->seq, sizeof(p->seq));
		if (rv == ARB_OK) {
			p->seq++;
			p->sent++;
		} else if (rv == ARB_ENOENT) {
			p->enoent++; // never for a slot address that exists
		} else {
			p->refused++; // ARB_EAGAIN: the caller keeps it
		}
	}
	evtimer_add(p->tick, &tv);
}

static int
pump_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	pump          *p = calloc(1, sizeof(*p));
	struct timeval tv = { 0, 1000 };

	(void) arg;
	(void) len;
	if (p == NULL) {
		return ARB_ENOMEM;
	}
	p->ctx = ctx;
	if (arb_whereis(ctx, "root/flaky", &p->flaky) != ARB_OK) {
		free(p);
		return ARB_ENOENT;
	}
	p->until = arb_test_now_ms() + PUMP_MS;
	p->cap = arb_test_now_ms() + 60000;
	p->tick = evtimer_new(arb_base(ctx), pump_tick, p);
	evtimer_add(p->tick, &tv);
	*statep = p;
	return ARB_OK;
}

static void
pump_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	pump *p = state;

	(void) ctx;
	if (arb_msg_tag(m) == T_ECHO) {
		p->echoes++;
		if (!arb_pid_eq(arb_msg_from(m), p->last_from)) {
			p->last_from = arb_msg_from(m);
			p->incarnations++;
		}
	}
}

static void
pump_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	pump *p = state;

	(void) ctx;
	(void) why;
	event_free(p->tick);
	free(p);
}

static const arb_actor_ops pump_ops = { .type = "pump",
	.init = pump_init,
	.handle = pump_handle,
	.terminate = pump_terminate };

// --- flaky: process actor that echoes and ends itself
// ------------------------
typedef struct flaky {
	unsigned left; // messages before it ends
	bool     kill; // by SIGKILL, else an error exit
} flaky;

static int
flaky_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	flaky *f = calloc(1, sizeof(*f));

	(void) arg;
	(void) len;
	if (f == NULL) {
		return ARB_ENOMEM;
	}
	srand((unsigned) getpid());
	f->left = FLAKY_MIN + (unsigned) (rand() % FLAKY_SPAN);
	// Incarnations are numbered one after the other (only this child
	// restarts): they alternate between the two kinds of end.
	f->kill = (arb_self(ctx).id & 1) != 0;
	*statep = f;
	return ARB_OK;
}

static void
flaky_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	flaky *f = state;

	if (arb_msg_tag(m) != T_SEQ) {
		return;
	}
	// Echo to the sender's slot (it does not restart here).
	(void) arb_send_copy(ctx, arb_pid_slot(arb_msg_from(m)), T_ECHO,
	    arb_msg_body(m), arb_msg_len(m));
	if (f->left > 0 && --f->left == 0) {
		if (f->kill) {
			raise(SIGKILL); // everything it held dies with it
		}
		arb_actor_exit_error(ctx, 3, "churn");
	}
}

static const arb_actor_ops flaky_ops
    = { .type = "flaky", .init = flaky_init, .handle = flaky_handle };

static const arb_actor_ops *const types[] = { &pump_ops, &flaky_ops, NULL };

// --- helper: the node, printing its counters every tick
// ----------------------
static void
tick_hook(arb_node *node, void *arg)
{
	arb_node_stats st;

	(void) arg;
	arb_node_stats_get(node, &st);
	arb_test_emit("stats in=%llu out=%llu dead=%llu lost=%llu stale=%llu "
	              "gaps=%llu links_lost=%llu",
	    (unsigned long long) st.msgs_in, (unsigned long long) st.msgs_out,
	    (unsigned long long) st.dead_letters, (unsigned long long) st.lost,
	    (unsigned long long) st.stale, (unsigned long long) st.link_gaps,
	    (unsigned long long) st.links_lost);
}

static int
h_churn(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "flaky",
		    .isolation = ARB_PROCESS,
		    .type = "flaky",
		    .watchdog_ms = 2000 }, // heartbeats every 500 ms
		{ .name = "pump",
		    .isolation = ARB_THREAD,
		    .type = "pump",
		    .restart = ARB_TEMPORARY },
	};
	const arb_sup_spec   s = { .children = c,
		  .nchildren = 2,
		  .intensity = 1000000,
		  .period_ms = 1000 };
	const arb_node_hooks hooks = { .tick = tick_hook };
	arb_node_opts        o = { .name = "test" };
	arb_node            *node;
	int                  code = -1;

	(void) argc;
	(void) argv;
	if (arb_node_open(&node, &o) != ARB_OK) {
		return 99;
	}
	arb_node_set_hooks(node, &hooks, NULL);
	arb_node_run(node, &s, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d", code);
	return code;
}

static const arb_test_helper helpers[] = {
	{ "churn", h_churn },
};

// --- test
// --------------------------------------------------------------------
static void
stats_of(const char *l, long *in, long *out, long *dead, long *lost)
{
	*in = arb_test_field(l, "in");
	*out = arb_test_field(l, "out");
	*dead = arb_test_field(l, "dead");
	*lost = arb_test_field(l, "lost");
}

static void
test_restart_loop_loses_nothing_uncounted(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          in, out, dead, lost, in2, out2, dead2, lost2;
	long          kills, exits;
	int           i;

	(void) state;
	arb_test_spawn(&p, "churn", NULL);
	l = arb_test_expect(&p, "pump event=done", 60000 + 20000);
	assert_int_equal(arb_test_field(l, "enoent"), 0);
	assert_true(arb_test_field(l, "incarnations") >= MIN_INCS);
	// Wait until the counters stop moving: everything has settled.
	l = arb_test_expect(&p, "stats in=", 5000);
	stats_of(l, &in, &out, &dead, &lost);
	for (i = 0; i < 20; i++) {
		l = arb_test_expect(&p, "stats in=", 5000);
		stats_of(l, &in2, &out2, &dead2, &lost2);
		if (in2 == in && out2 == out && dead2 == dead
		    && lost2 == lost) {
			break;
		}
		in = in2;
		out = out2;
		dead = dead2;
		lost = lost2;
	}
	assert_true(i < 20);
	kills = arb_test_count(&p, "reason=crashed{signal=SIGKILL}");
	exits = arb_test_count(&p, "reason=error{code=3,text=\"churn\"}");
	// The restart loop ran: both kinds of end, several times (a process
	// start takes a good part of a second under TSan).
	if (kills < 1 || exits < 1 || kills + exits < 3) {
		fail_msg(
		    "too few restarts: kills=%ld exits=%ld", kills, exits);
	}
	// Conservation: every message accepted by a send was handled or
	// counted (dead or lost; a loss may be counted on both sides).
	if (out - in > dead + lost) {
		fail_msg("lost without being counted: out=%ld in=%ld dead=%ld "
		         "lost=%ld (%s)",
		    out, in, dead, lost, l);
	}
	// And losses did happen (the SIGKILLs take queues with them).
	assert_true(out > in);
	assert_true(dead + lost > 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	assert_int_equal(arb_test_count(&p, "root/pump event=exit"), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_restart_loop_loses_nothing_uncounted),
};

ARB_TEST_MAIN_TYPES("integration.churn", tests, helpers, types)
