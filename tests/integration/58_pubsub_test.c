// SPDX-License-Identifier: MIT
// 58_pubsub_test.c -- pub/sub topics across thread and process actors
// (SPEC 21): every publish reaches every live subscriber, in this process
// or another; subscriptions die with the subscriber (a crash, a SIGKILL),
// and a restarted subscriber hears nothing until it subscribes again; a
// publish nobody hears is counted; a subscriber that cannot take more
// costs dead letters, counted, and what was accepted arrives.
//
// The conductor (thread actor) drives everything with messages and
// checks each step's outcome as an event: subscribers report UP from
// init, SUBBED after subscribing, GOT for every round they hear, and a
// PONG with the number of rounds their incarnation heard (a ping follows
// a publish to the same destination, so it arrives after it).  The
// subscribers are a thread actor (st) and a process actor (sp); sp also
// publishes once, to st and to itself.  The node serves its control
// socket and HTTP: the publishes and the unheard one show in /metrics and
// in `arborctl status` (ARBORCTL_BIN, tests/CMakeLists.txt).

#include "arb_test.h"
#include "httpc.h"
#include "probe.h"
#include "tools.h"

#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	T_UP = 300, // subscriber -> conductor: an incarnation is up
	T_SUB,      // conductor -> subscriber: subscribe to "news"
	T_SUBBED,   // subscriber -> conductor
	T_NEWS,     // a publish on "news" (body: the round)
	T_GOT,      // subscriber -> conductor: heard a round (body: round)
	T_PING,     // conductor -> subscriber
	T_PONG,     // subscriber -> conductor (body: rounds heard)
	T_DIE,      // conductor -> subscriber: st exits, sp SIGKILLs
	T_PUB,      // conductor -> sp: publish a round on "news"
	T_BLOCK,    // conductor -> st: subscribe to "flood", block the loop
	T_FLOOD,    // a publish on "flood"
};

#define FLOOD_N    400
#define FLOOD_SIZE (16 * 1024)

// st blocks its loop on this pipe while the conductor floods it (thread
// actors share the node's address space).
static int         block_pipe[2] = { -1, -1 };
static atomic_bool st_blocked;

// --- subscribers ------------------------------------------------------------
typedef struct sub {
	arb_pid  conductor;
	uint64_t heard; // rounds this incarnation heard
	uint64_t flood; // flood messages handled
} sub;

static int
sub_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	sub    *s = calloc(1, sizeof(*s));
	int     rv;
	uint8_t iso = (uint8_t) arb_actor_isolation(ctx);

	(void) arg;
	(void) len;
	if (s == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_whereis(ctx, "root/conductor", &s->conductor)) != 0) {
		free(s);
		return rv;
	}
	*statep = s;
	return arb_send_copy(ctx, s->conductor, T_UP, &iso, 1);
}

static void
sub_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	sub     *s = state;
	uint64_t round;
	uint8_t  iso = (uint8_t) arb_actor_isolation(ctx);
	char     c;
	int      rv;

	switch (arb_msg_tag(m)) {
	case T_SUB:
		rv = arb_subscribe(ctx, "news");
		arb_send_copy(ctx, s->conductor, T_SUBBED, &rv, sizeof(rv));
		break;
	case T_NEWS:
		memcpy(&round, arb_msg_body(m), sizeof(round));
		s->heard++;
		arb_send_copy(ctx, s->conductor, T_GOT, &round, sizeof(round));
		break;
	case T_PING: // body 0: rounds heard, 1: flood messages handled
		memcpy(&round, arb_msg_body(m), sizeof(round));
		arb_send_copy(ctx, s->conductor, T_PONG,
		    round == 0 ? &s->heard : &s->flood, sizeof(s->heard));
		break;
	case T_PUB:
		memcpy(&round, arb_msg_body(m), sizeof(round));
		rv = arb_publish(ctx, "news", T_NEWS, &round, sizeof(round));
		if (rv != 0) {
			arb_test_emit("sub event=publish_failed rv=%s",
			    arb_err_name(rv));
		}
		break;
	case T_DIE:
		if (iso == ARB_PROCESS) {
			raise(SIGKILL);
		}
		arb_actor_exit_error(ctx, 7, "told to die");
		break;
	case T_BLOCK:
		// Subscribed, then stuck until the conductor lets go: what
		// it publishes meanwhile piles up for this one subscriber.
		// (A message would wait for the end of this turn: the
		// conductor watches st_blocked instead.)
		rv = arb_subscribe(ctx, "flood");
		arb_test_emit("st event=blocking subscribe=%d", rv);
		atomic_store(&st_blocked, true);
		{
			struct pollfd pfd = { block_pipe[0], POLLIN, 0 };
			// Bounded: the conductor writes within seconds.
			if (poll(&pfd, 1, 30000) == 1) {
				(void) !read(block_pipe[0], &c, 1);
			}
		}
		break;
	case T_FLOOD:
		s->flood++;
		break;
	}
}

static void
sub_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	free(state);
}

static const arb_actor_ops sub_ops = { .type = "sub",
	.init = sub_init,
	.handle = sub_handle,
	.terminate = sub_terminate };

// --- conductor --------------------------------------------------------------
// Steps, each waiting for its event.
typedef enum step {
	S_UP,       // both subscribers up
	S_SUBBED,   // both subscribed
	S_ROUND1,   // both heard round 1
	S_REUP,     // both restarted (new incarnations up)
	S_SILENT,   // round 2 published: both PONG with 0 rounds heard
	S_RESUBBED, // subscribed again
	S_ROUND3,   // both heard round 3
	S_ROUND4,   // sp published round 4: both heard it
	S_BLOCKED,  // st subscribed to flood and is blocked (st_blocked)
	S_FLOODED,  // st unblocked, reports what it handled
	S_DONE,
} step;

typedef struct conductor {
	arb_ctx      *ctx;
	step          step;
	arb_pid       st, sp;         // current incarnations
	arb_pid       st_old, sp_old; // before the deaths
	int           acks;           // events of this step so far
	struct event *poll;           // S_BLOCKED: waits for st_blocked
	arb_stats     before;         // counters before the flood
	uint64_t      accepted;       // flood messages handed on
} conductor;

static void
say(conductor *c, arb_pid to, uint32_t tag, uint64_t v)
{
	int rv = arb_send_copy(c->ctx, to, tag, &v, sizeof(v));

	if (rv != 0) {
		arb_test_emit("conductor event=send_failed tag=%u rv=%s",
		    (unsigned) tag, arb_err_name(rv));
	}
}

static void
publish(conductor *c, uint64_t round)
{
	int rv = arb_publish(c->ctx, "news", T_NEWS, &round, sizeof(round));

	if (rv != 0) {
		arb_test_emit(
		    "conductor event=publish_failed rv=%s", arb_err_name(rv));
	}
}

static void
next(conductor *c, step s)
{
	c->step = s;
	c->acks = 0;
}

static void
flood(conductor *c)
{
	static uint8_t body[FLOOD_SIZE];
	arb_stats      st;
	int            i, rv;

	arb_stats_get(c->ctx, &c->before);
	// One loop turn: nothing is handed on to st's mailbox after it
	// fills, and st does not drain while it is blocked.
	for (i = 0; i < FLOOD_N; i++) {
		rv = arb_publish(c->ctx, "flood", T_FLOOD, body, sizeof(body));
		if (rv != 0) {
			arb_test_emit("conductor event=flood_failed rv=%s",
			    arb_err_name(rv));
		}
	}
	arb_stats_get(c->ctx, &st);
	c->accepted = st.msgs_out - c->before.msgs_out;
	arb_test_emit("conductor event=flooded accepted=%llu dead=%llu "
	              "published=%llu",
	    (unsigned long long) c->accepted,
	    (unsigned long long) (st.dead_letters - c->before.dead_letters),
	    (unsigned long long) (st.published - c->before.published));
	if (write(block_pipe[1], "x", 1) != 1) {
		arb_test_emit("conductor event=unblock_failed");
	}
	// A ping behind the accepted messages (same destination, so it
	// arrives after them) once the backlog has room again: poll_cb.
	next(c, S_FLOODED);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	conductor     *c = arg;
	struct timeval tv = { 0, 1000 };

	(void) fd;
	(void) what;
	if (c->step == S_BLOCKED && atomic_load(&st_blocked)) {
		flood(c);
	} else if (c->step == S_FLOODED) {
		uint64_t one = 1;

		if (arb_send_copy(c->ctx, c->st, T_PING, &one, sizeof(one))
		    != ARB_EAGAIN) {
			return; // sent (or failed: the test sees no pong)
		}
	}
	evtimer_add(c->poll, &tv);
}

static void
cond_event(conductor *c, const arb_msg *m)
{
	uint32_t       tag = arb_msg_tag(m);
	arb_pid        from = arb_msg_from(m);
	uint64_t       v = 0;
	arb_stats      st;
	struct timeval tv = { 0, 1000 };

	if (arb_msg_len(m) == sizeof(v)) {
		memcpy(&v, arb_msg_body(m), sizeof(v));
	}
	switch (c->step) {
	case S_UP:
	case S_REUP:
		if (tag != T_UP) {
			break;
		}
		if (*(const uint8_t *) arb_msg_body(m) == ARB_THREAD) {
			c->st = from;
		} else {
			c->sp = from;
		}
		if (c->st.id != 0 && c->sp.id != 0
		    && !arb_pid_eq(c->st, c->st_old)
		    && !arb_pid_eq(c->sp, c->sp_old)) {
			if (c->step == S_UP) {
				arb_test_emit("conductor event=up");
				next(c, S_SUBBED);
				say(c, c->st, T_SUB, 0);
				say(c, c->sp, T_SUB, 0);
			} else {
				arb_test_emit("conductor event=reup");
				// Neither new incarnation subscribed: round 2
				// reaches nobody, and is counted as unheard.
				next(c, S_SILENT);
				arb_stats_get(c->ctx, &c->before);
				publish(c, 2);
				arb_stats_get(c->ctx, &st);
				arb_test_emit(
				    "conductor event=round2 unheard=%llu",
				    (unsigned long long) (st.unheard
				        - c->before.unheard));
				say(c, c->st, T_PING, 0);
				say(c, c->sp, T_PING, 0);
			}
		}
		break;
	case S_SUBBED:
	case S_RESUBBED:
		if (tag != T_SUBBED || ++c->acks < 2) {
			break;
		}
		arb_test_emit("conductor event=subscribed");
		if (c->step == S_SUBBED) {
			next(c, S_ROUND1);
			publish(c, 1);
		} else {
			next(c, S_ROUND3);
			publish(c, 3);
		}
		break;
	case S_ROUND1:
	case S_ROUND3:
	case S_ROUND4:
		if (tag != T_GOT) {
			break;
		}
		arb_test_emit("conductor event=got round=%llu from=%s",
		    (unsigned long long) v,
		    arb_pid_eq(from, c->st) ? "st" : "sp");
		if (++c->acks < 2) {
			break;
		}
		if (c->step == S_ROUND1) {
			arb_test_emit("conductor event=round1_done");
			// Both die: st by an error exit, sp by SIGKILL.
			c->st_old = c->st;
			c->sp_old = c->sp;
			next(c, S_REUP);
			say(c, c->st, T_DIE, 0);
			say(c, c->sp, T_DIE, 0);
		} else if (c->step == S_ROUND3) {
			arb_test_emit("conductor event=round3_done");
			// The process actor publishes: to st and to itself.
			next(c, S_ROUND4);
			say(c, c->sp, T_PUB, 4);
		} else {
			arb_test_emit("conductor event=round4_done");
			next(c, S_BLOCKED);
			say(c, c->st, T_BLOCK, 0);
			evtimer_add(c->poll, &tv);
		}
		break;
	case S_SILENT:
		if (tag != T_PONG) {
			break;
		}
		arb_test_emit("conductor event=pong from=%s heard=%llu",
		    arb_pid_eq(from, c->st) ? "st" : "sp",
		    (unsigned long long) v);
		if (++c->acks == 2) {
			next(c, S_RESUBBED);
			say(c, c->st, T_SUB, 0);
			say(c, c->sp, T_SUB, 0);
		}
		break;
	case S_BLOCKED:
		break;
	case S_FLOODED:
		if (tag == T_PONG) {
			// st's flood count, handled before the ping.
			arb_test_emit(
			    "conductor event=flood_handled handled=%llu "
			    "accepted=%llu",
			    (unsigned long long) v,
			    (unsigned long long) c->accepted);
			next(c, S_DONE);
			arb_stats_get(c->ctx, &st);
			arb_test_emit("conductor event=done published=%llu "
			              "unheard=%llu",
			    (unsigned long long) st.published,
			    (unsigned long long) st.unheard);
		}
		break;
	case S_DONE:
		break;
	}
}

static int
cond_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	conductor *c = calloc(1, sizeof(*c));

	(void) arg;
	(void) len;
	if (c == NULL) {
		return ARB_ENOMEM;
	}
	c->ctx = ctx;
	c->poll = evtimer_new(arb_base(ctx), poll_cb, c);
	*statep = c;
	return ARB_OK;
}

static void
cond_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	(void) ctx;
	cond_event(state, m);
}

static void
cond_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	conductor *c = state;

	(void) ctx;
	(void) why;
	event_free(c->poll);
	free(c);
}

static const arb_actor_ops cond_ops = { .type = "conductor",
	.init = cond_init,
	.handle = cond_handle,
	.terminate = cond_terminate };

static const arb_actor_ops *const types[] = { &cond_ops, &sub_ops, NULL };

// --- helper: the node -------------------------------------------------------
static int
h_pubsub(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "conductor",
		    .isolation = ARB_THREAD,
		    .type = "conductor",
		    .restart = ARB_TEMPORARY },
		{ .name = "st", .isolation = ARB_THREAD, .type = "sub" },
		{ .name = "sp", .isolation = ARB_PROCESS, .type = "sub" },
	};
	const arb_sup_spec s = { .children = c,
		.nchildren = 3,
		.intensity = 100,
		.period_ms = 1000 };
	arb_node_opts      o = { .name = "test" };
	arb_serve_opts     so = { .no_notify = true };
	arb_node          *node;
	char               sock[256], http[32];
	int                code = -1;

	if (pipe2(block_pipe, O_CLOEXEC) != 0
	    || arb_node_open(&node, &o) != ARB_OK) {
		return 99;
	}
	// The control socket and HTTP on the port the test chose (taken
	// meanwhile: exit 70, and the test tries another).
	snprintf(sock, sizeof(sock), "%s/ctl.sock", arb_test_dir());
	snprintf(http, sizeof(http), "127.0.0.1:%s", argc > 1 ? argv[1] : "0");
	so.control = sock;
	so.http = http;
	if (arb_node_serve(node, &so) != ARB_OK) {
		arb_node_close(node);
		return 70;
	}
	arb_node_run(node, &s, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d", code);
	return code;
}

static const arb_test_helper helpers[] = {
	{ "pubsub", h_pubsub },
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
};

// metrics_wait GETs /metrics until it holds every line of want (thread
// actors' counters are as of their last heartbeat), 10 s at most.
static void
metrics_wait(int port, const char *const *want, size_t n)
{
	arb_test_http_resp r;
	char               host[32];
	int64_t            dl, now;
	size_t             i;

	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	dl = arb_test_now_ms() + 10000;
	for (;;) {
		arb_test_http(port, "GET", "/metrics", host, 10000, &r);
		assert_int_equal(r.status, 200);
		for (i = 0; i < n && strstr(r.body, want[i]) != NULL; i++) {
		}
		now = arb_test_now_ms();
		if (i == n) {
			free(r.body);
			return;
		}
		if (now >= dl) {
			fail_msg("no \"%s\" in /metrics:\n%s", want[i], r.body);
		}
		free(r.body);
		poll(NULL, 0, 100); // the next heartbeat
	}
}

// status_line runs `arborctl status` on sock and returns (in out) the
// table's line of path, or fails.
static void
status_line(const char *sock, const char *path, char *out, size_t len)
{
	const char   *args[] = { "--", "--socket", sock, "status", NULL };
	arb_test_proc p;
	char          needle[128];
	const char   *l, *e;

	arb_test_spawn(&p, "arborctl", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	snprintf(needle, sizeof(needle), "  %s ", path);
	if ((l = strstr(p.out, needle)) == NULL) {
		fail_msg("no %s in:\n%s", path, p.out);
	}
	e = strchr(l, '\n');
	snprintf(out, len, "%.*s", e != NULL ? (int) (e - l) : (int) strlen(l),
	    l);
	arb_test_proc_fini(&p);
}

// --- test -------------------------------------------------------------------
static void
test_publish_reaches_live_subscribers_only(void **state)
{
	arb_test_proc p;
	const char   *l;
	long          accepted, dead, handled, published;
	char          port_s[16], sock[256], want[2][160], line[512], cell[64];
	const char   *args[] = { port_s, NULL };
	const char   *wantv[4];
	int           port = 0, tries;

	(void) state;
	for (tries = 0; tries < 5; tries++) {
		port = arb_test_free_port();
		snprintf(port_s, sizeof(port_s), "%d", port);
		arb_test_spawn(&p, "pubsub", args);
		if (arb_test_try_expect(&p, "event=http_listen", 10000) != NULL) {
			break;
		}
		arb_test_wait_exit(&p, 10000); // the port was taken
		arb_test_proc_fini(&p);
	}
	assert_true(tries < 5);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", p.dir);
	arb_test_expect(&p, "conductor event=up", 20000);
	arb_test_expect(&p, "conductor event=subscribed", 10000);
	// Round 1 reaches the thread and the process subscriber.
	arb_test_expect(&p, "conductor event=round1_done", 10000);
	assert_int_equal(arb_test_count(&p, "event=got round=1 from=st"), 1);
	assert_int_equal(arb_test_count(&p, "event=got round=1 from=sp"), 1);
	// Both die (an error exit, a SIGKILL) and come back unsubscribed:
	// round 2 reaches nobody and is counted as unheard.
	arb_test_expect(&p, "conductor event=reup", 20000);
	l = arb_test_expect(&p, "conductor event=round2", 10000);
	assert_int_equal(arb_test_field(l, "unheard"), 1);
	l = arb_test_expect(&p, "conductor event=pong", 10000);
	assert_int_equal(arb_test_field(l, "heard"), 0);
	l = arb_test_expect(&p, "conductor event=pong", 10000);
	assert_int_equal(arb_test_field(l, "heard"), 0);
	// Subscribed again, they hear round 3; sp's own publish (round 4)
	// reaches st and sp itself.
	arb_test_expect(&p, "conductor event=round3_done", 10000);
	arb_test_expect(&p, "conductor event=round4_done", 10000);
	assert_int_equal(arb_test_count(&p, "event=got round=3"), 2);
	assert_int_equal(arb_test_count(&p, "event=got round=4 from=st"), 1);
	assert_int_equal(arb_test_count(&p, "event=got round=4 from=sp"), 1);
	assert_int_equal(arb_test_count(&p, "event=got round=2"), 0);
	assert_int_equal(arb_test_count(&p, "publish_failed"), 0);
	// A subscriber that cannot keep up: what did not fit is counted as
	// the publisher's dead letters, and what was accepted arrives.
	l = arb_test_expect(&p, "st event=blocking", 10000);
	assert_int_equal(arb_test_field(l, "subscribe"), 0);
	l = arb_test_expect(&p, "conductor event=flooded", 10000);
	accepted = arb_test_field(l, "accepted");
	dead = arb_test_field(l, "dead");
	assert_int_equal(arb_test_field(l, "published"), FLOOD_N);
	assert_int_equal(accepted + dead, FLOOD_N);
	assert_true(dead > 0);
	assert_true(accepted > 0);
	l = arb_test_expect(&p, "conductor event=flood_handled", 20000);
	handled = arb_test_field(l, "handled");
	assert_int_equal(handled, accepted);
	l = arb_test_expect(&p, "conductor event=done", 5000);
	published = arb_test_field(l, "published");
	assert_int_equal(arb_test_field(l, "unheard"), 1);
	assert_true(published >= 3 + FLOOD_N);
	// The counters on /metrics (the conductor's publishes and the one
	// nobody heard; sp's one publish, in another process) ...
	snprintf(want[0], sizeof(want[0]),
	    "arbor_actor_published_total{path=\"root/conductor\"} %ld\n",
	    published);
	snprintf(want[1], sizeof(want[1]),
	    "arbor_actor_unheard_total{path=\"root/conductor\"} 1\n");
	wantv[0] = want[0];
	wantv[1] = want[1];
	wantv[2] = "arbor_actor_published_total{path=\"root/sp\"} 1\n";
	wantv[3] = "arbor_actor_unheard_total{path=\"root/sp\"} 0\n";
	metrics_wait(port, wantv, 4);
	// ... and in arborctl status's PUB/UNHEARD column.
	status_line(sock, "root/conductor", line, sizeof(line));
	snprintf(cell, sizeof(cell), " %ld/1 ", published);
	if (strstr(line, cell) == NULL) {
		fail_msg("no \"%s\" in: %s", cell, line);
	}
	status_line(sock, "root/sp", line, sizeof(line));
	if (strstr(line, " 1/0 ") == NULL) {
		fail_msg("no \" 1/0 \" in: %s", line);
	}
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 15000)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_publish_reaches_live_subscribers_only),
};

ARB_TEST_MAIN_TYPES("integration.pubsub", tests, helpers, types)
