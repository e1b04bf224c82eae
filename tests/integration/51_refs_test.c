// SPDX-License-Identifier: MIT
// 51_refs_test.c -- call refs (src/actor/actor.c ctx_new_ref): each actor
// incarnation starts its refs at a random value, so they are not
// guessed from 1, and they wrap below the top bit, which the pending
// table keeps for a gather's monitors (DOWN_KEY), skipping 0.
//
// A node (a helper) runs an echo that answers each request with the ref
// it came with, and two callers, a and b.  Each makes one call (its
// first ref, reported), then is set (white-box: ctx->next_ref) two short
// of ARB__CALL_REF_MAX and makes a call, a gather of three (across the
// wrap: MAX, 1, 2) and a call again (3), each answered with its ref.  a's
// first incarnation then exits with an error and its second one does the
// same, so there are three first refs to compare (two actors, two
// incarnations of one).

#include "arb_test.h"
#include "probe.h"

#include "actor/actor_int.h"

#include <arbor/actor.h>

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000
#define T_REF   200u // request: answered with its ref (8 bytes)

// --- the echo: answers a request with its ref ------------------------------
static void
refecho_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	uint64_t ref = arb_msg_ref(m);

	(void) state;
	if (arb_msg_is_request(m)) {
		arb_reply(ctx, m, T_REF, &ref, sizeof(ref));
	}
}

static int
refecho_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*statep = NULL;
	return ARB_OK;
}

static const arb_actor_ops refecho_ops = {
	.type = "refecho",
	.init = refecho_init,
	.handle = refecho_handle,
};

// --- a caller --------------------------------------------------------------
typedef struct caller {
	arb_ctx      *ctx;
	struct event *go;
	arb_pid       echo;
	int           step;
} caller;

static int runs_of_a; // a's incarnations so far (thread actors: one process)

// ref_of is the ref an answer names (0: not an answer of the echo).
static uint64_t
ref_of(const arb_msg *m)
{
	uint64_t ref = 0;

	if (m != NULL && arb_msg_len(m) == sizeof(ref)) {
		memcpy(&ref, arb_msg_body(m), sizeof(ref));
	}
	return ref;
}

static void caller_next(caller *c, const char *what, uint64_t ref);

static void
caller_called(arb_ctx *ctx, void *arg, const arb_result *r)
{
	caller *c = arg;

	(void) ctx;
	if (r->status != ARB_OK) {
		arb_test_emit("caller failed step=%d status=%s", c->step,
		    arb_err_name(r->status));
		return;
	}
	caller_next(c, "call", ref_of(r->reply));
}

static void
caller_gathered(arb_ctx *ctx, void *arg, const arb_result *results,
    size_t n, size_t nerrors)
{
	caller *c = arg;
	char    line[128];
	size_t  i;
	int     off = 0;

	(void) ctx;
	for (i = 0; i < n && off < (int) sizeof(line); i++) {
		off += snprintf(line + off, sizeof(line) - (size_t) off,
		    "%s%s:%" PRIu64, i > 0 ? "," : "",
		    arb_err_name(results[i].status),
		    ref_of(results[i].reply));
	}
	arb_test_emit("caller %s gather errors=%zu refs=%s;",
	    strrchr(c->ctx->path, '/') + 1, nerrors, line);
	caller_next(c, "gather", 0);
}

// caller_next reports what answered (what: call or gather, ref: the
// call's) and takes the next step: 0 the first call; 1 next_ref set two
// short of the top, a call (MAX - 1); 2 a gather of three (MAX, 1, 2);
// 3 a call (3); 4 done (a's first incarnation then exits).
static void
caller_next(caller *c, const char *what, uint64_t ref)
{
	const char *name = strrchr(c->ctx->path, '/') + 1;
	arb_pid     three[3] = { c->echo, c->echo, c->echo };
	int         rv = ARB_OK;

	if (strcmp(what, "call") == 0) {
		arb_test_emit("caller %s step=%d ref=%" PRIu64 ";", name,
		    c->step, ref);
	}
	switch (c->step++) {
	case 0:
		rv = arb_call(c->ctx, c->echo, T_REF, NULL, 0, WAIT_MS,
		    caller_called, c);
		break;
	case 1:
		c->ctx->next_ref = ARB__CALL_REF_MAX - 2; // white-box
		rv = arb_call(c->ctx, c->echo, T_REF, NULL, 0, WAIT_MS,
		    caller_called, c);
		break;
	case 2:
		rv = arb_gather(c->ctx, three, 3, T_REF, NULL, 0, WAIT_MS,
		    ARB_ALL_COMPLETED, caller_gathered, c);
		break;
	case 3:
		rv = arb_call(c->ctx, c->echo, T_REF, NULL, 0, WAIT_MS,
		    caller_called, c);
		break;
	default:
		arb_test_emit("caller %s done", name);
		if (strcmp(name, "a") == 0 && runs_of_a == 1) {
			arb_actor_exit_error(c->ctx, 1, "again");
		}
		break;
	}
	if (rv != ARB_OK) {
		arb_test_emit("caller %s step=%d rv=%s", name, c->step,
		    arb_err_name(rv));
	}
}

static void
caller_go(evutil_socket_t fd, short what, void *arg)
{
	caller *c = arg;

	(void) fd;
	(void) what;
	if (arb_whereis(c->ctx, "root/e", &c->echo) != ARB_OK) {
		arb_test_emit("caller: no root/e");
		return;
	}
	caller_next(c, "start", 0);
}

static int
caller_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	caller        *c = calloc(1, sizeof(*c));
	struct timeval now = { 0, 0 };

	(void) arg;
	(void) len;
	if (c == NULL) {
		return ARB_ENOMEM;
	}
	if (strcmp(strrchr(ctx->path, '/'), "/a") == 0) {
		runs_of_a++;
	}
	c->ctx = ctx;
	c->go = event_new(arb_base(ctx), -1, 0, caller_go, c);
	if (c->go == NULL) {
		free(c);
		return ARB_ENOMEM;
	}
	event_add(c->go, &now);
	*statep = c;
	return ARB_OK;
}

static void
caller_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	caller *c = state;

	(void) ctx;
	(void) why;
	event_free(c->go);
	free(c);
}

// (Its answers come to callbacks: nothing else is sent to it.)
static void
caller_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	(void) ctx;
	(void) state;
	arb_test_emit("caller: unexpected tag=%u", arb_msg_tag(m));
}

static const arb_actor_ops caller_ops = {
	.type = "refcaller",
	.init = caller_init,
	.handle = caller_handle,
	.terminate = caller_terminate,
};

static const arb_actor_ops *const types[] = { &refecho_ops, &caller_ops,
	NULL };

static int
h_refs(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "e", .isolation = ARB_THREAD, .type = "refecho" },
		{ .name = "a", .isolation = ARB_THREAD, .type = "refcaller",
		    .restart = ARB_TRANSIENT },
		{ .name = "b", .isolation = ARB_THREAD, .type = "refcaller",
		    .restart = ARB_TRANSIENT },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 3,
		.intensity = 5, .period_ms = 5000 };

	(void) argc;
	(void) argv;
	return arb_test_node_main(&s);
}

static const arb_test_helper helpers[] = {
	{ "refs", h_refs },
};

// first_ref is the ref of caller name's first call in its n-th
// incarnation (from 1), read from p's output.
static uint64_t
first_ref(arb_test_proc *p, const char *name, int n)
{
	char        needle[64];
	const char *at = p->out;
	int         i;

	snprintf(needle, sizeof(needle), "caller %s step=1 ref=", name);
	for (i = 0; i < n; i++) {
		at = strstr(at, needle);
		assert_non_null(at);
		at += strlen(needle);
	}
	return strtoull(at, NULL, 10);
}

// Each incarnation's first ref is its own random start (not 1, below the
// top bit, two actors' and two incarnations' not the same), and calls
// and a gather work across the wrap: MAX - 1, then MAX, 1, 2 (never 0 or
// a ref with the top bit, a DOWN key's), then 3.
static void
test_refs_start_at_random_and_wrap(void **state)
{
	const char   *args[] = { NULL };
	arb_test_proc p;
	char          want[160];
	uint64_t      a1, a2, b1;
	const char   *who[] = { "a", "b" };
	size_t        i;

	(void) state;
	arb_test_spawn(&p, "refs", args);
	// a twice (its first incarnation exits, then the second runs), b
	// once (any time: not read yet, it is after the mark).
	arb_test_expect(&p, "caller a done", WAIT_MS);
	arb_test_expect(&p, "caller a done", WAIT_MS);
	if (arb_test_count(&p, "caller b done") == 0) {
		arb_test_expect(&p, "caller b done", WAIT_MS);
	}
	a1 = first_ref(&p, "a", 1);
	a2 = first_ref(&p, "a", 2);
	b1 = first_ref(&p, "b", 1);
	print_message("first refs: a %" PRIu64 ", a again %" PRIu64
	              ", b %" PRIu64 "\n",
	    a1, a2, b1);
	assert_true(a1 != a2 && a1 != b1 && a2 != b1);
	assert_true(a1 > 1 && a2 > 1 && b1 > 1);
	assert_true(a1 <= ARB__CALL_REF_MAX && a2 <= ARB__CALL_REF_MAX
	    && b1 <= ARB__CALL_REF_MAX);
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "caller %s step=2 ref=%" PRIu64 ";",
		    who[i], (uint64_t) (ARB__CALL_REF_MAX - 1));
		assert_int_equal(arb_test_count(&p, want), i == 0 ? 2 : 1);
		snprintf(want, sizeof(want), "caller %s step=4 ref=3;",
		    who[i]);
		assert_int_equal(arb_test_count(&p, want), i == 0 ? 2 : 1);
	}
	snprintf(want, sizeof(want),
	    " gather errors=0 refs=ARB_OK:%" PRIu64 ",ARB_OK:1,ARB_OK:2;",
	    (uint64_t) ARB__CALL_REF_MAX);
	assert_int_equal(arb_test_count(&p, want), 3);
	assert_int_equal(arb_test_count(&p, "caller failed"), 0);
	assert_int_equal(arb_test_count(&p, " rv="), 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_refs_start_at_random_and_wrap),
};

ARB_TEST_MAIN_TYPES("integration.refs", tests, helpers, types)
