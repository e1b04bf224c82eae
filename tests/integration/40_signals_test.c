// SPDX-License-Identifier: MIT
// 40_signals_test.c -- signals and stops with real processes: a terminal's
// Ctrl-C (SIGINT to the node's whole process group) reaches only the node,
// whose children hear the orderly cascade alone; SIGTERM stops the tree in
// reverse start order, nested supervisors included; a second SIGTERM makes
// a slow stop brutal; the watchdog kills and restarts a hung process actor;
// a thread actor that ignores its stop is abandoned (exit code 71);
// brutal_kill children are killed at once; shielded sections delay a stop
// up to the shutdown timeout, and no longer.  SPEC 5, 9, 10, 11, 12, 13,
// 14, 16.
//
// Each test runs a node in a helper process (this binary re-executed) and
// reads its log lines; arb_test_proc_fini checks that no process tagged
// for the test is left, alive or zombie.  Order is checked by comparing
// the positions of log lines in the helper's output (one pipe, one
// write(2) per line, so positions follow real time).

#include "arb_test.h"
#include "probe.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// --- "sender": a driver actor of this test ---------------------------------
//
// Its arg is "PATH TAG BODY": once its loop runs, it resolves PATH with
// arb_whereis and sends it one message (TAG, BODY as bytes), then prints
// "sender path=P event=sent to=PATH rv=NAME" and idles.  It sends only
// once per incarnation.

typedef struct sender {
	arb_ctx      *ctx;
	char          to[128];
	unsigned      tag;
	char          body[64];
	struct event *ev;
} sender;

static void
sender_cb(evutil_socket_t fd, short what, void *arg)
{
	sender *s = arg;
	arb_pid pid;
	int     rv;

	(void) fd;
	(void) what;
	rv = arb_whereis(s->ctx, s->to, &pid);
	if (rv == ARB_OK) {
		rv = arb_send_copy(
		    s->ctx, pid, s->tag, s->body, strlen(s->body));
	}
	arb_test_emit("sender path=%s event=sent to=%s rv=%s",
	    arb_path(s->ctx), s->to, arb_err_name(rv));
}

static int
sender_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	sender        *s = calloc(1, sizeof(*s));
	char           cfg[256] = { 0 };
	struct timeval now      = { 0, 0 };

	if (s == NULL) {
		return ARB_ENOMEM;
	}
	memcpy(cfg, arg, len < sizeof(cfg) ? len : sizeof(cfg) - 1);
	if (sscanf(cfg, "%127s %u %63s", s->to, &s->tag, s->body) != 3) {
		free(s);
		return ARB_EINVAL;
	}
	s->ctx = ctx;
	s->ev  = evtimer_new(arb_base(ctx), sender_cb, s);
	if (s->ev == NULL) {
		free(s);
		return ARB_ENOMEM;
	}
	evtimer_add(s->ev, &now);
	*statep = s;
	return ARB_OK;
}

static void
sender_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	sender *s = state;

	(void) ctx;
	(void) why;
	event_free(s->ev);
	free(s);
}

static const arb_actor_ops sender_ops = {
	.type      = "sender",
	.init      = sender_init,
	.terminate = sender_terminate,
};

static const arb_actor_ops *const types[] = { &sender_ops, NULL };

// --- helpers (run in the child) -------------------------------------------

// Two process probes and an exec shell that reports the signals it gets.
static int
h_flat(int argc, char **argv)
{
	static const char *const sh[] = { "/bin/sh", "-c",
		"trap 'echo GOT_INT' INT; trap 'echo GOT_TERM; exit 0' TERM; "
		"echo armed; while :; do sleep 1; done",
		NULL };
	const arb_child_spec     c[]  = {
                PROBE_CHILD("p1", ARB_PROCESS, "init=ok"),
                PROBE_CHILD("p2", ARB_PROCESS, "init=ok"),
                { .name = "sh", .isolation = ARB_EXEC, .argv = sh },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// root: a, inner{x, y}, z.
static int
h_nested(int argc, char **argv)
{
	const arb_child_spec ic[] = {
		PROBE_CHILD("x", ARB_PROCESS, "init=ok"),
		PROBE_CHILD("y", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec   inner = { .children = ic, .nchildren = 2 };
	const arb_child_spec c[]   = {
                PROBE_CHILD("a", ARB_PROCESS, "init=ok"),
                { .name = "inner", .isolation = ARB_SUPERVISOR,
                    .sup = &inner },
                PROBE_CHILD("z", ARB_THREAD, "init=ok"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// Children that take 5 s to stop, with the default 5000 ms shutdown.
static int
h_slow(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("p1", ARB_PROCESS, "stop=slow:5000"),
		PROBE_CHILD("p2", ARB_PROCESS, "stop=slow:5000"),
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// A process probe with a 300 ms watchdog, and a sender that makes it hang
// for 3 s.  The intensity is raised so that a spurious watchdog on a
// loaded machine shows as an extra line, not as a give-up.
static int
h_watchdog(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "w", .isolation = ARB_PROCESS, .type = "probe",
		    .arg = "init=ok", .arg_len = sizeof("init=ok"),
		    .watchdog_ms = 300 },
		{ .name = "drv", .isolation = ARB_THREAD, .type = "sender",
		    .arg = "root/w 5 3000",
		    .arg_len = sizeof("root/w 5 3000") },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2,
		.intensity = 5, .period_ms = 5000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// The issue 8 case: a thread actor first in start order, so last in stop
// order, and two process children that take 5 s to stop.  argv[1] is the
// thread's stop behaviour ("prompt" or "never").
static int
h_slow_thread_last(int argc, char **argv)
{
	char                 cfg[32];
	const arb_child_spec c[] = {
		{ .name = "t", .isolation = ARB_THREAD, .type = "probe",
		    .arg = cfg },
		PROBE_CHILD("p1", ARB_PROCESS, "stop=slow:5000"),
		PROBE_CHILD("p2", ARB_PROCESS, "stop=slow:5000"),
	};
	arb_sup_spec s = { .children = c, .nchildren = 3 };

	if (argc < 2) {
		return 99;
	}
	snprintf(cfg, sizeof(cfg), "stop=%s", argv[1]);
	((arb_child_spec *) &c[0])->arg_len = strlen(cfg) + 1;
	return arb_test_node_main(&s);
}

// A thread actor that never answers its stop request.
static int
h_abandon(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("p", ARB_PROCESS, "init=ok"),
		{ .name = "t", .isolation = ARB_THREAD, .type = "probe",
		    .arg = "stop=never", .arg_len = sizeof("stop=never"),
		    .shutdown_ms = 200 },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static int
h_brutal_kill(int argc, char **argv)
{
	const arb_child_spec c[] = {
		PROBE_CHILD("keep", ARB_PROCESS, "init=ok"),
		{ .name = "bk", .isolation = ARB_PROCESS, .type = "probe",
		    .arg = "init=ok", .arg_len = sizeof("init=ok"),
		    .shutdown_ms = ARB_SHUTDOWN_BRUTAL_KILL },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 2 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

// "shield SHIELD_MS SHUTDOWN_MS": a process probe that a sender asks to
// shield a section of SHIELD_MS, under a shutdown timeout of SHUTDOWN_MS
// (0 = default).
static int
h_shield(int argc, char **argv)
{
	char           cfg[64];
	arb_child_spec c[2] = {
		PROBE_CHILD("s", ARB_PROCESS, "init=ok"),
		{ .name = "drv", .isolation = ARB_THREAD, .type = "sender" },
	};
	arb_sup_spec s = { .children = c, .nchildren = 2 };

	if (argc < 3) {
		return 99;
	}
	snprintf(cfg, sizeof(cfg), "root/s %d %s", PROBE_SHIELD, argv[1]);
	c[0].shutdown_ms = atoi(argv[2]);
	c[1].arg         = cfg;
	c[1].arg_len     = strlen(cfg) + 1;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "flat", h_flat },
	{ "nested", h_nested },
	{ "slow", h_slow },
	{ "slow_thread_last", h_slow_thread_last },
	{ "watchdog", h_watchdog },
	{ "abandon", h_abandon },
	{ "brutal_kill", h_brutal_kill },
	{ "shield", h_shield },
};

// --- utilities -------------------------------------------------------------

// seen waits for a line containing needle anywhere in the output so far
// (lines of actors stopped at once come in any order).
static void
seen(arb_test_proc *p, const char *needle, int timeout_ms)
{
	char line[512];

	arb_test_line(p, needle, timeout_ms, line, sizeof(line));
}

// pos is the offset of the first line containing needle in everything the
// helper printed; the test fails if there is none.
static size_t
pos(arb_test_proc *p, const char *needle)
{
	const char *l = strstr(p->out, needle);

	if (l == NULL) {
		fail_msg("no line with \"%s\" in:\n%s", needle, p->out);
	}
	return (size_t) (l - p->out);
}

// before asserts that the first a line comes before the first b line.
static void
before(arb_test_proc *p, const char *a, const char *b)
{
	size_t pa = pos(p, a);
	size_t pb = pos(p, b);

	if (pa >= pb) {
		fail_msg("\"%s\" should come before \"%s\" in:\n%s", a, b,
		    p->out);
	}
}

// flat_stop_test sends sig (to the helper, or to its whole group) and
// checks the cascade of the "flat" tree.
static void
flat_stop_test(int sig, bool group)
{
	arb_test_proc p;

	arb_test_spawn(&p, "flat", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0; // the shell may have armed its traps before tree_up
	arb_test_expect(&p, "armed", 10000);
	kill(group ? -p.pid : p.pid, sig);
	arb_test_expect(&p, sig == SIGINT ? "- event=signal signal=SIGINT"
	                                  : "- event=signal signal=SIGTERM",
	    5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	// The children heard only the cascade: the shell its SIGTERM, the
	// probes their stop requests, one at a time in reverse start order.
	assert_int_equal(arb_test_count(&p, "GOT_INT"), 0);
	assert_int_equal(arb_test_count(&p, "GOT_TERM"), 1);
	before(&p, "- event=stop_requested action=orderly_stop", "GOT_TERM");
	before(&p, "root/sh event=stopped reason=shutdown",
	    "path=root/p2 event=stop_requested");
	before(&p, "root/p2 event=stopped reason=shutdown",
	    "path=root/p1 event=stop_requested");
	before(&p, "root/p1 event=stopped reason=shutdown",
	    "event=node_exit reason=shutdown exit_code=0 requested=yes");
	assert_int_equal(arb_test_count(&p, "event=stop_requested stop="), 2);
	assert_int_equal(arb_test_count(&p, "event=exit reason="), 0);
	assert_int_equal(arb_test_count(&p, "node exit_code=0"), 1);
	arb_test_proc_fini(&p);
}

// --- tests ---------------------------------------------------------------

static void
test_ctrl_c_reaches_only_the_node(void **state)
{
	(void) state;
	flat_stop_test(SIGINT, true);
}

static void
test_sigterm_stops_in_reverse_order_and_exits_0(void **state)
{
	(void) state;
	flat_stop_test(SIGTERM, false);
}

static void
test_sigterm_stops_nested_supervisor_in_order(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "nested", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	// Start order a, inner{x, y}, z; stop order z, y, x, inner, a.
	before(&p, "root/z event=stopped", "path=root/inner/y event=stop_req");
	before(&p, "root/inner/y event=stopped",
	    "path=root/inner/x event=stop_req");
	before(&p, "root/inner/x event=stopped", "root/inner event=stopped");
	before(&p, "root/inner event=stopped", "path=root/a event=stop_req");
	before(&p, "root/a event=stopped reason=shutdown",
	    "event=node_exit reason=shutdown exit_code=0");
	assert_int_equal(
	    arb_test_count(&p, "event=stopped reason=shutdown"), 5);
	arb_test_proc_fini(&p);
}

static void
test_second_sigterm_makes_the_stop_brutal(void **state)
{
	arb_test_proc p;
	int64_t       t0, took;

	(void) state;
	arb_test_spawn(&p, "slow", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	t0 = arb_test_now_ms();
	kill(p.pid, SIGTERM);
	arb_test_expect(
	    &p, "path=root/p2 event=stop_requested stop=slow", 5000);
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "- event=stop_requested_again action=brutal_stop",
	    5000);
	// Both at once: in either order.
	seen(&p, "root/p2 event=stopped reason=killed", 5000);
	seen(&p, "root/p1 event=stopped reason=killed", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	took = arb_test_now_ms() - t0;
	if (took >= 3000) {
		fail_msg("the brutal stop took %lld ms", (long long) took);
	}
	// p1 was killed without being asked: the stop is brutal now.
	assert_int_equal(arb_test_count(&p, "path=root/p1 event=stop_req"), 0);
	assert_int_equal(arb_test_count(&p, "event=stop_deadline"), 0);
	assert_non_null(strstr(p.out, "event=node_exit reason=shutdown "
	                              "exit_code=0 requested=yes abandoned=0"));
	arb_test_proc_fini(&p);
}

// Issue 8: two Ctrl-C during a stop made the node exit 71, "thread actor
// overran its shutdown timeout", for a thread actor last in the stop order
// that was never asked to stop.  The second signal kills the processes at
// once and asks the thread at once; it ends, and the stop is clean.
static void
test_second_sigint_asks_threads_at_once(void **state)
{
	static const char *const args[] = { "prompt", NULL };
	arb_test_proc            p;
	int64_t                  t0, took;

	(void) state;
	arb_test_spawn(&p, "slow_thread_last", args);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGINT);
	arb_test_expect(
	    &p, "path=root/p2 event=stop_requested stop=slow", 5000);
	t0 = arb_test_now_ms();
	kill(p.pid, SIGINT);
	arb_test_expect(&p, "- event=stop_requested_again action=brutal_stop",
	    5000);
	seen(&p, "path=root/t event=stop_requested", 5000);
	seen(&p, "root/t event=stopped reason=shutdown", 5000);
	seen(&p, "root/p1 event=stopped reason=killed", 5000);
	seen(&p, "root/p2 event=stopped reason=killed", 5000);
	if (arb_test_exit_code(arb_test_wait_exit(&p, 10000)) != 0) {
		fail_msg("exit status %d; output:\n%s",
		    arb_test_exit_code(p.status), p.out);
	}
	took = arb_test_now_ms() - t0;
	if (took >= 2000) {
		fail_msg("the brutal stop took %lld ms", (long long) took);
	}
	assert_int_equal(arb_test_count(&p, "event=abandoned"), 0);
	assert_int_equal(arb_test_count(&p, "path=root/p1 event=stop_req"), 0);
	assert_non_null(strstr(p.out, "event=node_exit reason=shutdown "
	                              "exit_code=0 requested=yes abandoned=0 "
	                              "stop=brutal"));
	arb_test_proc_fini(&p);
}

// A thread that does not end within the brutal stop's grace is abandoned
// (exit 71), and the log says so: not a shutdown timeout it never had.
static void
test_second_sigterm_abandons_a_thread_after_the_grace(void **state)
{
	static const char *const args[] = { "never", NULL };
	arb_test_proc            p;
	int64_t                  t0, took;

	(void) state;
	arb_test_spawn(&p, "slow_thread_last", args);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGTERM);
	arb_test_expect(
	    &p, "path=root/p2 event=stop_requested stop=slow", 5000);
	t0 = arb_test_now_ms();
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "- event=stop_requested_again action=brutal_stop",
	    5000);
	seen(&p, "path=root/t event=stop_requested stop=never", 5000);
	seen(&p,
	    "root/t event=stop_deadline grace_ms=1000 stop=brutal action=kill",
	    5000);
	seen(&p,
	    "root/t event=abandoned reason=\"it did not end within the "
	    "1000 ms grace of a brutal stop (stop requested twice); a thread "
	    "cannot be killed\"",
	    5000);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 71);
	took = arb_test_now_ms() - t0;
	if (took < 900 || took >= 3000) {
		fail_msg("the brutal stop took %lld ms (grace 1000 ms)",
		    (long long) took);
	}
	assert_non_null(strstr(p.out, "event=node_exit reason=shutdown "
	                              "exit_code=71 requested=yes abandoned=1 "
	                              "stop=brutal"));
	arb_test_proc_fini(&p);
}

static void
test_watchdog_kills_and_restarts_hung_process(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          first, second;

	(void) state;
	arb_test_spawn(&p, "watchdog", NULL);
	l     = arb_test_expect(&p, "path=root/w event=init", 10000);
	first = arb_test_field(l, "ospid");
	assert_true(first > 0);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p,
	    "sender path=root/drv event=sent to=root/w rv=ARB_OK", 5000);
	arb_test_expect(&p, "path=root/w event=hang ms=3000", 5000);
	arb_test_expect(&p, "root/w event=watchdog watchdog_ms=300 action=kill",
	    5000);
	l = arb_test_expect(&p, "root/w event=exit reason=hung", 5000);
	assert_non_null(strstr(l, "decision=restart"));
	l      = arb_test_expect(&p, "path=root/w event=init", 10000);
	second = arb_test_field(l, "ospid");
	assert_true(second > 0);
	assert_int_not_equal(first, second);
	arb_test_expect(&p, "root/w event=started isolation=process", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_int_equal(
	    arb_test_count(&p, "root/w event=exit reason=hung"), 1);
	arb_test_proc_fini(&p);
}

static void
test_thread_ignoring_stop_is_abandoned_exit_71(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "abandon", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGTERM);
	arb_test_expect(
	    &p, "path=root/t event=stop_requested stop=never", 5000);
	arb_test_expect(&p, "root/t event=stop_deadline shutdown_ms=200", 5000);
	arb_test_expect(&p, "root/t event=abandoned", 5000);
	// The rest of the tree still stops in order.
	arb_test_expect(&p, "root/p event=stopped reason=shutdown", 5000);
	arb_test_expect(&p, "event=node_exit reason=shutdown exit_code=71 "
	                    "requested=yes abandoned=1",
	    5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_UNCLEAN);
	arb_test_proc_fini(&p);
}

static void
test_brutal_kill_child_is_killed_at_once(void **state)
{
	arb_test_proc p;

	(void) state;
	arb_test_spawn(&p, "brutal_kill", NULL);
	arb_test_expect(&p, "event=tree_up", 10000);
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "root/bk event=stopped reason=killed", 5000);
	arb_test_expect(&p, "path=root/keep event=stop_requested", 5000);
	arb_test_expect(&p, "root/keep event=stopped reason=shutdown", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Never asked, never waited for: killed at once.
	assert_int_equal(arb_test_count(&p, "path=root/bk event=stop_req"), 0);
	assert_int_equal(arb_test_count(&p, "path=root/bk event=terminate"), 0);
	assert_int_equal(arb_test_count(&p, "event=stop_deadline"), 0);
	arb_test_proc_fini(&p);
}

static void
test_shield_delays_the_stop(void **state)
{
	static const char *const args[] = { "1000", "0", NULL };
	arb_test_proc            p;

	(void) state;
	arb_test_spawn(&p, "shield", args);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p, "path=root/s event=shield_begin", 5000);
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "path=root/s event=shield_done", 5000);
	arb_test_expect(&p, "path=root/s event=stop_requested", 5000);
	arb_test_expect(&p, "root/s event=stopped reason=shutdown", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// The stop came while the section ran and waited for its end.
	before(&p, "- event=signal signal=SIGTERM",
	    "path=root/s event=shield_done");
	before(&p, "root/drv event=stopped", "path=root/s event=shield_done");
	assert_int_equal(arb_test_count(&p, "event=stop_deadline"), 0);
	assert_non_null(
	    strstr(p.out, "event=node_exit reason=shutdown exit_code=0"));
	arb_test_proc_fini(&p);
}

static void
test_shield_longer_than_shutdown_is_cut(void **state)
{
	static const char *const args[] = { "5000", "300", NULL };
	arb_test_proc            p;
	int64_t                  t0;

	(void) state;
	arb_test_spawn(&p, "shield", args);
	arb_test_expect(&p, "event=tree_up", 10000);
	p.mark = 0;
	arb_test_expect(&p, "path=root/s event=shield_begin", 5000);
	t0 = arb_test_now_ms();
	kill(p.pid, SIGTERM);
	arb_test_expect(&p, "root/s event=stop_deadline shutdown_ms=300 "
	                    "action=kill",
	    5000);
	arb_test_expect(&p, "root/s event=stopped reason=killed", 5000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	// Well before the shield's end.
	assert_true(arb_test_now_ms() - t0 < 4000);
	assert_int_equal(
	    arb_test_count(&p, "path=root/s event=shield_done"), 0);
	assert_int_equal(arb_test_count(&p, "path=root/s event=stop_req"), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_ctrl_c_reaches_only_the_node),
	cmocka_unit_test(test_sigterm_stops_in_reverse_order_and_exits_0),
	cmocka_unit_test(test_sigterm_stops_nested_supervisor_in_order),
	cmocka_unit_test(test_second_sigterm_makes_the_stop_brutal),
	cmocka_unit_test(test_second_sigint_asks_threads_at_once),
	cmocka_unit_test(
	    test_second_sigterm_abandons_a_thread_after_the_grace),
	cmocka_unit_test(test_watchdog_kills_and_restarts_hung_process),
	cmocka_unit_test(test_thread_ignoring_stop_is_abandoned_exit_71),
	cmocka_unit_test(test_brutal_kill_child_is_killed_at_once),
	cmocka_unit_test(test_shield_delays_the_stop),
	cmocka_unit_test(test_shield_longer_than_shutdown_is_cut),
};

ARB_TEST_MAIN_TYPES("integration.signals", tests, helpers, types)
