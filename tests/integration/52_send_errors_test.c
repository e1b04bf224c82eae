// SPDX-License-Identifier: MIT
// 52_send_errors_test.c -- arb_send's error contract (SPEC 18): a pid that
// never had a mailbox, an exec child, the node itself and a
// simple_one_for_one child that ended for good give ARB_ENOENT at once,
// and the message stays the caller's.

#include "arb_test.h"
#include "probe.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static arb_pid       ended;
static arb_ctx      *ended_ctx;
static struct event *retry_ev;
static int           tries;

// "sender" tries every bad destination once READY and prints the codes.
static int
sender_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_pid  made_up = { .id = ((uint64_t) 1 << 62) | ((uint64_t) 900000 << 32) | 7 };
	arb_pid  node    = { 0 };
	arb_pid  exec, gone;
	arb_msg *m;
	int      rv;

	(void) arg;
	(void) len;
	*statep = NULL;
	if (arb_msg_alloc(&m, 1, "x", 1) != ARB_OK) {
		return ARB_ENOMEM;
	}
	rv = arb_send(ctx, made_up, m);
	arb_test_emit("sender event=made_up rv=%s", arb_err_name(rv));
	rv = arb_send(ctx, node, m);
	arb_test_emit("sender event=node rv=%s", arb_err_name(rv));
	if (arb_whereis(ctx, "root/sleeper", &exec) == ARB_OK) {
		rv = arb_send(ctx, exec, m);
		arb_test_emit("sender event=exec rv=%s", arb_err_name(rv));
	}
	// A run-time child that answers ignore is removed for good.
	rv = arb_start_child(ctx, "root/pool", "init=ignore",
	    sizeof("init=ignore"), &gone);
	arb_test_emit("sender event=start_ignored rv=%s", arb_err_name(rv));
	rv = arb_start_child(ctx, "root/pool", "exit_after=50;exit=normal",
	    sizeof("exit_after=50;exit=normal"), &gone);
	arb_test_emit("sender event=started rv=%s", arb_err_name(rv));
	if (rv == ARB_OK) {
		uint64_t ref;
		ended     = gone;
		ended_ctx = ctx;
		arb_monitor(ctx, gone, &ref);
	}
	// The message is still ours after every failure: free it.
	arb_msg_free(m);
	return ARB_OK;
}

// After the temporary run-time child ended, its slot is removed: sends to
// it fail with ARB_ENOENT.  The DOWN can overtake the removal by a hair
// (it is sent first), so retry a bounded number of times.
static void
sender_retry(evutil_socket_t fd, short what, void *arg)
{
	int            rv = arb_send_copy(ended_ctx, ended, 1, "y", 1);
	struct timeval tv = { 0, 10000 };

	(void) fd;
	(void) what;
	(void) arg;
	if (rv == ARB_ENOENT || ++tries == 100) {
		arb_test_emit("sender event=ended_child rv=%s tries=%d",
		    arb_err_name(rv), tries);
		event_free(retry_ev);
		return;
	}
	evtimer_add(retry_ev, &tv);
}

static void
sender_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	(void) state;
	if (arb_msg_tag(msg) == ARB_TAG_DOWN) {
		retry_ev = evtimer_new(arb_base(ctx), sender_retry, NULL);
		sender_retry(-1, 0, NULL);
	}
}

static const arb_actor_ops sender_ops = {
	.type   = "sender",
	.init   = sender_init,
	.handle = sender_handle,
};

static const arb_actor_ops *const types[] = { &sender_ops, NULL };

static const arb_child_spec pool_tmpl[] = {
	{ .name = "w", .isolation = ARB_THREAD, .type = "probe",
	    .restart = ARB_TEMPORARY },
};
static const arb_sup_spec pool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	.children = pool_tmpl, .nchildren = 1 };

static int
h_send_errors(int argc, char **argv)
{
	static const char *const sleeper[] = { "/bin/sleep", "1000", NULL };
	const arb_child_spec     c[]       = {
                { .name = "sleeper", .isolation = ARB_EXEC, .argv = sleeper },
                { .name = "pool", .isolation = ARB_SUPERVISOR, .sup = &pool },
                { .name = "sender", .isolation = ARB_THREAD, .type = "sender" },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "send_errors", h_send_errors },
};

static void
test_bad_destinations_give_enoent(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "send_errors", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p, "sender event=made_up rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=node rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=exec rv=ARB_ENOENT", 5000);
	arb_test_expect(&p, "sender event=start_ignored rv=ARB_EIGNORE", 5000);
	arb_test_expect(&p, "sender event=started rv=ARB_OK", 5000);
	arb_test_expect(&p, "sender event=ended_child rv=ARB_ENOENT", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bad_destinations_give_enoent),
};

ARB_TEST_MAIN_TYPES("integration.send_errors", tests, helpers, types)
