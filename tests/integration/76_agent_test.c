// SPDX-License-Identifier: MIT
// 76_agent_test.c -- the agent's fence (issue 12, "Remote children";
// docs/multinode.md, "The agent"): a thread actor of node "sup" (a helper
// of this test) speaks the agent protocol itself to the agent of node
// "gw" (the real arbor program, a tree file) over an authenticated link,
// with generations it chooses: START 5 runs (READY 5); START 4, older, is
// refused (FAIL 4, "older generation", event=agent_fenced) and the child
// of generation 5 keeps running; START 5 again is a repeat (answered READY
// 5 again, nothing started); START 6 supersedes 5: the agent stops 5
// (EXIT 5 shutdown) BEFORE it starts 6 (READY 6); STOP 6 ends it (EXIT 6
// shutdown).  The fencer ACKs every report, as a supervisor's node does.
// In its "flood" mode it ACKs nothing and sends FLOOD_N STARTs of
// distinct children of a type gw does not have: each is a failed start
// whose report gw keeps, and beyond 256 kept for one node gw drops the
// oldest (event=agent_report_dropped, counted).  In its "claim" mode it
// STARTs 5 only, and passes gw's CLAIM of that orphan (which gw sends to
// the START's sender) on to node sup's own agent, whose answer (sup's
// tree runs no root/x: STOP) it passes back to gw's agent.

#include "arb_test.h"
#include "httpc.h"
#include "nodes.h"
#include "tools.h"
#include "probe.h"

#include "core/arb_impl.h"
#include "transport/link.h"

#include <arbor/actor.h>

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS   10000
#define SECRET    "an-agent-test-cookie-0123456789"
#define TAG_START (ARB_TAG_SYSTEM + 0x100u)
#define TAG_STOP  (ARB_TAG_SYSTEM + 0x101u)
#define TAG_ACK   (ARB_TAG_SYSTEM + 0x102u)
#define TAG_READY (ARB_TAG_SYSTEM + 0x110u)
#define TAG_FAIL  (ARB_TAG_SYSTEM + 0x111u)
#define TAG_EXIT  (ARB_TAG_SYSTEM + 0x112u)
#define TAG_KEEP  (ARB_TAG_SYSTEM + 0x103u)
#define TAG_CLAIM (ARB_TAG_SYSTEM + 0x113u)
#define TAG_START_CHILD (ARB_TAG_SYSTEM + 0x104u)
#define TAG_CHILD       (ARB_TAG_SYSTEM + 0x114u)
#define TAG_HELLO       7u // the fencer to the pool's child: echoed
#define TAG_STRAY       (ARB_TAG_SYSTEM + 0x1FEu) // the agent's, unknown
#define FLOOD_N   300 // STARTs in flood mode: 300 - 256 reports dropped

// --- the fencer: node sup's actor that plays a supervisor ----------------
typedef struct fencer {
	arb_ctx      *ctx;
	arb_pid       agent;
	struct event *tick;
	int           step; // 0: START 5 not yet accepted by the link
	bool          repeated;
	bool          flood;  // flood mode: no ACK, FLOOD_N STARTs
	bool          claim;  // claim mode: START 5, CLAIMs to sup's agent
	bool          tree;   // tree mode: remote subtrees (send_tree)
	bool          pool;   // pool mode: a remote pool (send_pool)
	bool          stray;  // stray mode: unknown tags (send_stray)
	arb_pid       child;  // pool mode: the child gw started
	char          key[64]; // the last report's child
	size_t        keylen;
	int           sent;   // flood: STARTs sent so far
	int64_t       stray_t0; // stray: when the call went
	int           failed; // flood: distinct FAILs received
	bool          got[FLOOD_N];
} fencer;

static int send_start_of(
    fencer *f, const char *key, uint32_t gen, const char *type);

// send_flood sends the START of flood child i: root/fNNN, generation 1,
// of a type gw does not have.
static int
send_flood(fencer *f, int i)
{
	char key[32];

	snprintf(key, sizeof(key), "root/f%03d", i);
	return send_start_of(f, key, 1, "no-such-type");
}

// send_start_of sends the START of child key (generation gen, a thread
// actor of type type) to gw's agent.
static int
send_start_of(fencer *f, const char *key, uint32_t gen, const char *type)
{
	arb__buf b = { 0 };
	int      rv;

	rv = arb__mp_put_array(&b, 8) | arb__mp_put_str(&b, key, strlen(key))
	    | arb__mp_put_uint(&b, gen) | arb__mp_put_str(&b, "sup", 3)
	    | arb__mp_put_uint(&b, ARB_THREAD)
	    | arb__mp_put_str(&b, type, strlen(type))
	    | arb__mp_put_bin(&b, NULL, 0) | arb__mp_put_int(&b, 2000)
	    | arb__mp_put_int(&b, 0);
	if (rv == 0) {
		rv = arb_send_copy(f->ctx, f->agent, TAG_START, b.data, b.len);
	}
	arb__buf_fini(&b);
	return rv;
}

// send_tree sends the START of a supervisor child key, generation 1, with
// a subtree [one_for_one, 1 in 30 s, never, [w (thread echo), then
// `second`: another thread echo, or an exec child (isolation 2: no agent
// may run one)]] in its wire form (arb__sup_spec_encode's, by hand: the
// encoder itself refuses an exec child).
static int
send_tree(fencer *f, const char *key, bool exec)
{
	arb__buf b = { 0 }, t = { 0 };
	int      rv = 0, i;

	rv |= arb__mp_put_array(&t, 5) | arb__mp_put_uint(&t, ARB_ONE_FOR_ONE)
	    | arb__mp_put_int(&t, 1) | arb__mp_put_int(&t, 30000)
	    | arb__mp_put_uint(&t, 0) | arb__mp_put_array(&t, 2);
	for (i = 0; i < 2; i++) {
		bool x = exec && i == 1;

		rv |= arb__mp_put_array(&t, 13)
		    | arb__mp_put_str(&t, i == 0 ? "w" : "v", 1)
		    | arb__mp_put_uint(&t, x ? ARB_EXEC : ARB_THREAD)
		    | arb__mp_put_str(&t, x ? "" : "echo", x ? 0 : 4)
		    | arb__mp_put_bin(&t, NULL, 0)
		    | arb__mp_put_uint(&t, ARB_PERMANENT);
		rv |= arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
		    | arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
		    | arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
		    | arb__mp_put_bool(&t, false) | arb__mp_put_array(&t, 0);
	}
	rv |= arb__mp_put_array(&b, 9) | arb__mp_put_str(&b, key, strlen(key))
	    | arb__mp_put_uint(&b, 1) | arb__mp_put_str(&b, "sup", 3)
	    | arb__mp_put_uint(&b, ARB_SUPERVISOR)
	    | arb__mp_put_str(&b, "supervisor", 10)
	    | arb__mp_put_bin(&b, NULL, 0) | arb__mp_put_int(&b, 0)
	    | arb__mp_put_int(&b, 0) | arb__mp_put_bin(&b, t.data, t.len);
	if (rv == 0) {
		rv = arb_send_copy(f->ctx, f->agent, TAG_START, b.data, b.len);
	}
	arb__buf_fini(&t);
	arb__buf_fini(&b);
	return rv;
}

// send_pool sends the START of root/p, generation 5: a simple_one_for_one
// supervisor of thread echos (its subtree's wire form by hand).
static int
send_pool(fencer *f)
{
	arb__buf b = { 0 }, t = { 0 };
	int      rv = 0;

	rv |= arb__mp_put_array(&t, 5)
	    | arb__mp_put_uint(&t, ARB_SIMPLE_ONE_FOR_ONE)
	    | arb__mp_put_int(&t, 1) | arb__mp_put_int(&t, 30000)
	    | arb__mp_put_uint(&t, 0) | arb__mp_put_array(&t, 1);
	rv |= arb__mp_put_array(&t, 13) | arb__mp_put_str(&t, "w", 1)
	    | arb__mp_put_uint(&t, ARB_THREAD) | arb__mp_put_str(&t, "echo", 4)
	    | arb__mp_put_bin(&t, NULL, 0) | arb__mp_put_uint(&t, ARB_TEMPORARY)
	    | arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
	    | arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
	    | arb__mp_put_int(&t, 0) | arb__mp_put_int(&t, 0)
	    | arb__mp_put_bool(&t, false) | arb__mp_put_array(&t, 0);
	rv |= arb__mp_put_array(&b, 9) | arb__mp_put_str(&b, "root/p", 6)
	    | arb__mp_put_uint(&b, 5) | arb__mp_put_str(&b, "sup", 3)
	    | arb__mp_put_uint(&b, ARB_SUPERVISOR)
	    | arb__mp_put_str(&b, "supervisor", 10)
	    | arb__mp_put_bin(&b, NULL, 0) | arb__mp_put_int(&b, 0)
	    | arb__mp_put_int(&b, 0) | arb__mp_put_bin(&b, t.data, t.len);
	if (rv == 0) {
		rv = arb_send_copy(f->ctx, f->agent, TAG_START, b.data, b.len);
	}
	arb__buf_fini(&t);
	arb__buf_fini(&b);
	return rv;
}

// send_start_child sends START_CHILD [root/p, gen, "", ref, arg] to gw's
// agent: a child for the pool that is the remote child root/p.
static void
send_start_child(fencer *f, uint32_t gen, uint64_t ref)
{
	arb__buf b = { 0 };

	if ((arb__mp_put_array(&b, 5) | arb__mp_put_str(&b, "root/p", 6)
	        | arb__mp_put_uint(&b, gen) | arb__mp_put_str(&b, "", 0)
	        | arb__mp_put_uint(&b, ref) | arb__mp_put_bin(&b, NULL, 0))
	    == 0) {
		arb_send_copy(
		    f->ctx, f->agent, TAG_START_CHILD, b.data, b.len);
	}
	arb__buf_fini(&b);
}

// pool_child: gw's CHILD [path, gen, ref, code, pid, text]: ref 1 (a
// stale generation, 4) must be refused, then ref 2 (the one running, 5)
// started, its child sent TAG_HELLO at the pid gw answered (gw's node id
// and incarnation), and once echoed ref 3 (a newer one, 6) refused.
static void
pool_child(fencer *f, const arb_msg *m)
{
	arb__mp_rd     r = { arb_msg_body(m), arb_msg_len(m) };
	uint32_t       n;
	uint64_t       gen, ref, id;
	int64_t        code;
	const uint8_t *key, *txt;
	size_t         nk, nt;

	if (!arb__mp_get_array(&r, &n) || n != 6
	    || !arb__mp_get_str(&r, &key, &nk)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)
	    || !arb__mp_get_uint(&r, UINT64_MAX, &ref)
	    || !arb__mp_get_int(&r, INT32_MIN, INT32_MAX, &code)
	    || !arb__mp_get_uint(&r, UINT64_MAX, &id)
	    || !arb__mp_get_str(&r, &txt, &nt)) {
		arb_test_emit("fencer bad child");
		return;
	}
	arb_test_emit("fencer child %.*s gen=%u ref=%u code=%s pid=%s text=%.*s",
	    (int) nk, (const char *) key, (unsigned) gen, (unsigned) ref,
	    arb_err_name((int) code), id != 0 ? "yes" : "no", (int) nt,
	    (const char *) txt);
	if (ref == 1) {
		send_start_child(f, 5, 2);
	} else if (ref == 2 && code == ARB_OK) {
		f->child.id = id;
		f->child.node = arb_msg_from(m).node;
		f->child.creation = arb_msg_from(m).creation;
		arb_send_copy(f->ctx, f->child, TAG_HELLO, "hi", 2);
	}
}

static int
send_start(fencer *f, uint32_t gen)
{
	return send_start_of(f, "root/x", gen, "echo");
}

static void
send_stop(fencer *f, uint32_t gen)
{
	arb__buf b = { 0 };

	if ((arb__mp_put_array(&b, 2) | arb__mp_put_str(&b, "root/x", 6)
	        | arb__mp_put_uint(&b, gen))
	    == 0) {
		arb_send_copy(f->ctx, f->agent, TAG_STOP, b.data, b.len);
	}
	arb__buf_fini(&b);
}

static void
send_ack(fencer *f, const uint8_t *key, size_t len, uint64_t gen,
    uint32_t tag)
{
	arb__buf b = { 0 };

	if ((arb__mp_put_array(&b, 3)
	        | arb__mp_put_str(&b, (const char *) key, len)
	        | arb__mp_put_uint(&b, gen) | arb__mp_put_uint(&b, tag))
	    == 0) {
		arb_send_copy(f->ctx, f->agent, TAG_ACK, b.data, b.len);
	}
	arb__buf_fini(&b);
}

// stray_answer: the answer to the call of an unknown tag (stray mode),
// with how long it took.
static void
stray_answer(arb_ctx *ctx, void *arg, const arb_result *r)
{
	fencer *f = arg;

	(void) ctx;
	arb_test_emit("fencer stray answer status=%s code=%s from=%s "
	              "ms=%lld text=%s",
	    arb_err_name(r->status), arb_err_name(r->code),
	    r->pid.node == arb__node_id("gw") ? "gw" : "other",
	    (long long) (arb_test_now_ms() - f->stray_t0), r->text);
}

// send_stray sends gw's agent a tag it does not know twice: a plain
// message, then a call (a request: answered at once, not at its 60 s
// timeout).
static int
send_stray(fencer *f)
{
	int rv = ARB_OK;

	if (f->step == 0
	    && (rv = arb_send_copy(f->ctx, f->agent, TAG_STRAY, "x", 1))
	        == ARB_OK) {
		f->step = 1;
	}
	if (f->step == 1) {
		f->stray_t0 = arb_test_now_ms();
		rv = arb_call(f->ctx, f->agent, TAG_STRAY + 1, "y", 1, 60000,
		    stray_answer, f);
		if (rv == ARB_OK) {
			f->step = 2;
		}
	}
	return rv;
}

static void
fencer_tick(evutil_socket_t fd, short what, void *arg)
{
	fencer *f = arg;

	(void) fd;
	(void) what;
	if (f->stray) {
		if (f->step < 2) {
			send_stray(f);
		}
		return;
	}
	if (f->flood) {
		int k;

		// 25 each tick at most: the link's queue is bounded.
		for (k = 0; k < 25 && f->sent < FLOOD_N; k++) {
			if (send_flood(f, f->sent) != ARB_OK) {
				break;
			}
			f->sent++;
		}
		return;
	}
	if (f->pool) {
		if (f->step == 0 && send_pool(f) == ARB_OK) {
			f->step = 1;
		}
		return;
	}
	if (f->tree) {
		// root/bad first (refused), then root/s (runs).
		if (f->step == 0 && send_tree(f, "root/bad", true) == ARB_OK) {
			f->step = 1;
		}
		return;
	}
	if (f->step == 0 && send_start(f, 5) == ARB_OK) {
		f->step = 1;
	}
}

static void
fencer_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	fencer        *f = state;
	arb__mp_rd     r = { arb_msg_body(m), arb_msg_len(m) };
	uint32_t       n;
	uint64_t       gen, kind = 0;
	int64_t        code = 0;
	const uint8_t *s;
	size_t         len;
	char           text[128] = "";

	if (f->pool && arb_msg_tag(m) == TAG_HELLO) {
		// The echo of the pool's child, from the pid gw answered.
		arb_test_emit("fencer echo %.*s from=%s",
		    (int) arb_msg_len(m), (const char *) arb_msg_body(m),
		    arb_pid_eq(arb_msg_from(m), f->child) ? "child" : "other");
		send_start_child(f, 6, 3); // newer than what runs: refused
		return;
	}
	if (f->pool && arb_msg_tag(m) == TAG_CHILD) {
		pool_child(f, m);
		return;
	}
	if (!arb__mp_get_array(&r, &n) || !arb__mp_get_str(&r, &s, &len)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)) {
		arb_test_emit("fencer bad reply tag=%08x", arb_msg_tag(m));
		return;
	}
	if (f->claim && arb_msg_tag(m) == TAG_CLAIM) {
		// gw's agent: is its orphan still wanted?  Node sup answers.
		arb_pid sup_agent = arb__pid_make(ARB__KIND_THREAD, 1, 0);

		arb_test_emit("fencer claim gen=%u", (unsigned) gen);
		arb_send_copy(ctx, sup_agent, TAG_CLAIM, arb_msg_body(m),
		    arb_msg_len(m));
		return;
	}
	if (f->claim && (arb_msg_tag(m) == TAG_STOP
	        || arb_msg_tag(m) == TAG_KEEP)) {
		// Node sup's answer: on to gw's agent.
		arb_test_emit("fencer answer %s gen=%u",
		    arb_msg_tag(m) == TAG_STOP ? "stop" : "keep", (unsigned) gen);
		arb_send_copy(ctx, f->agent, arb_msg_tag(m), arb_msg_body(m),
		    arb_msg_len(m));
		return;
	}
	if (f->flood) {
		int i;

		if (arb_msg_tag(m) == TAG_FAIL && len == 9
		    && sscanf((const char *) s + 6, "%3d", &i) == 1 && i >= 0
		    && i < FLOOD_N && !f->got[i]) {
			f->got[i] = true;
			if (++f->failed == FLOOD_N) {
				arb_test_emit(
				    "flood: %d failed starts", FLOOD_N);
			}
		}
		return; // no ACK: gw keeps every report
	}
	send_ack(f, s, len, gen, arb_msg_tag(m));
	f->keylen = len < sizeof(f->key) ? len : sizeof(f->key);
	memcpy(f->key, s, f->keylen);
	if (n >= 5 && arb__mp_get_uint(&r, 100, &kind)
	    && arb__mp_get_int(&r, INT32_MIN, INT32_MAX, &code)
	    && arb__mp_get_str(&r, &s, &len)) {
		snprintf(text, sizeof(text), "%.*s", (int) len, (const char *) s);
	}
	if (f->tree) {
		arb_test_emit("fencer %s %.*s gen=%u text=%s",
		    arb_msg_tag(m) == TAG_READY      ? "ready"
		        : arb_msg_tag(m) == TAG_FAIL ? "fail"
		        : arb_msg_tag(m) == TAG_EXIT ? "exit"
		                                     : "other",
		    (int) f->keylen, f->key, (unsigned) gen, text);
		if (arb_msg_tag(m) == TAG_FAIL && f->step == 1) {
			f->step = 2;
			send_tree(f, "root/s", false);
		}
		return;
	}
	if (f->pool) {
		arb_test_emit("fencer %s %.*s gen=%u",
		    arb_msg_tag(m) == TAG_READY ? "ready" : "report",
		    (int) f->keylen, f->key, (unsigned) gen);
		if (arb_msg_tag(m) == TAG_READY) {
			send_start_child(f, 4, 1); // stale: refused
		}
		return;
	}
	switch (arb_msg_tag(m)) {
	case TAG_READY:
		arb_test_emit("fencer ready gen=%u", (unsigned) gen);
		if (f->claim) {
			break; // 5 runs on
		}
		if (gen == 5 && !f->repeated) {
			send_start(f, 4); // older: refused
		} else if (gen == 5) {
			send_start(f, 6); // newer: supersedes
		} else if (gen == 6) {
			send_stop(f, 6);
		}
		break;
	case TAG_FAIL:
		arb_test_emit("fencer fail gen=%u text=%s", (unsigned) gen, text);
		if (gen == 4) {
			f->repeated = true;
			send_start(f, 5); // a repeat: READY 5 again
		}
		break;
	case TAG_EXIT:
		arb_test_emit("fencer exit gen=%u kind=%s", (unsigned) gen,
		    arb_exit_kind_name((arb_exit_kind) kind));
		break;
	default:
		break;
	}
}

static int
fencer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	fencer *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return ARB_ENOMEM;
	}
	f->flood = len == 5 && memcmp(arg, "flood", 5) == 0;
	f->claim = len == 5 && memcmp(arg, "claim", 5) == 0;
	f->tree = len == 4 && memcmp(arg, "tree", 4) == 0;
	f->pool = len == 4 && memcmp(arg, "pool", 4) == 0;
	f->stray = len == 5 && memcmp(arg, "stray", 5) == 0;
	f->ctx = ctx;
	// gw's agent: child slot 1 of every node, whichever incarnation.
	f->agent = arb__pid_make(ARB__KIND_THREAD, 1, 0);
	f->agent.node = arb__node_id("gw");
	f->agent.creation = 0;
	f->tick = arb_test_tick_new(ctx, fencer_tick, f, 20);
	if (f->tick == NULL) {
		free(f);
		return ARB_ENOMEM;
	}
	*statep = f;
	return ARB_OK;
}

static void
fencer_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	fencer *f = state;

	(void) ctx;
	(void) why;
	event_free(f->tick);
	free(f);
}

static const arb_actor_ops fencer_ops = {
	.type = "fencer",
	.init = fencer_init,
	.handle = fencer_handle,
	.terminate = fencer_terminate,
};

// --- the asker: an actor of node sup that starts a child of root/p, a
// pool that runs on gw (node sup's remote child), and writes to it ------
typedef struct asker {
	arb_ctx      *ctx;
	struct event *tick;
	arb_pid       child;
	bool          started;
	int           last_rv;
} asker;

static void
asker_tick(evutil_socket_t fd, short what, void *arg)
{
	asker  *a = arg;
	arb_pid pid = ARB_PID_NONE;
	int     rv;

	(void) fd;
	(void) what;
	if (a->started) {
		return;
	}
	// ARB_ESTATE until root/p runs on gw.
	rv = arb_start_child(a->ctx, "root/p", NULL, 0, &pid);
	if (rv != ARB_OK) {
		if (rv != a->last_rv) {
			arb_test_emit("asker start_child %s", arb_err_name(rv));
		}
		a->last_rv = rv;
		return;
	}
	a->started = true;
	a->child = pid;
	arb_test_emit("asker started node=%s creation=%s",
	    pid.node == arb__node_id("gw") ? "gw" : "other",
	    pid.creation != 0 ? "set" : "none");
	arb_send_copy(a->ctx, pid, TAG_HELLO, "hi", 2);
}

static void
asker_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	asker *a = state;

	(void) ctx;
	if (arb_msg_tag(m) == TAG_HELLO) {
		arb_test_emit("asker echo from=%s",
		    arb_pid_eq(arb_msg_from(m), a->child) ? "child" : "other");
	}
}

static int
asker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	asker *a = calloc(1, sizeof(*a));

	(void) arg;
	(void) len;
	if (a == NULL) {
		return ARB_ENOMEM;
	}
	a->ctx = ctx;
	a->tick = arb_test_tick_new(ctx, asker_tick, a, 50);
	if (a->tick == NULL) {
		free(a);
		return ARB_ENOMEM;
	}
	*statep = a;
	return ARB_OK;
}

static void
asker_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	asker *a = state;

	(void) ctx;
	(void) why;
	event_free(a->tick);
	free(a);
}

static const arb_actor_ops asker_ops = {
	.type = "asker",
	.init = asker_init,
	.handle = asker_handle,
	.terminate = asker_terminate,
};

// args: port peer_port [flood|claim|tree|pool|stray|asker]: node "sup" (its
// cookie SECRET, as gw's) with the fencer (asker: with the asker and
// root/p, a simple_one_for_one pool of thread echos on gw, instead).
static int
sup_main(int argc, char **argv)
{
	char              gw[32];
	arb_test_node_cfg cfg;
	arb_node_opts     o = { 0 };
	arb_node         *node;
	arb_child_spec c = { .name = "f", .isolation = ARB_THREAD,
		.type = "fencer" };
	arb_sup_spec   sp = { .strategy = ARB_ONE_FOR_ONE, .children = &c,
		  .nchildren = 1 };
	arb_child_spec tmpl = { .name = "w", .isolation = ARB_THREAD,
		.type = "echo", .restart = ARB_TEMPORARY };
	arb_sup_spec   pool = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
		  .children = &tmpl, .nchildren = 1 };
	arb_child_spec ask[2] = {
		{ .name = "a", .isolation = ARB_THREAD, .type = "asker" },
		{ .name = "p", .isolation = ARB_SUPERVISOR, .node = "gw",
		    .sup = &pool },
	};
	int            code = -1, rv;

	if (argc < 3) {
		return 64;
	}
	if (argc > 3
	    && (strcmp(argv[3], "flood") == 0 || strcmp(argv[3], "claim") == 0
	        || strcmp(argv[3], "tree") == 0
	        || strcmp(argv[3], "pool") == 0
	        || strcmp(argv[3], "stray") == 0)) {
		c.arg = argv[3];
		c.arg_len = strlen(argv[3]);
	}
	snprintf(gw, sizeof(gw), "gw:%s", argv[2]);
	rv = arb_test_node_opts(&cfg, &o, NULL, "sup", argv[1], gw, SECRET);
	if (rv != 0) {
		return rv;
	}
	arb_actor_type_register(&fencer_ops);
	arb_actor_type_register(&asker_ops);
	if (argc > 3 && strcmp(argv[3], "asker") == 0) {
		sp.children = ask;
		sp.nchildren = 2;
	}
	if ((rv = arb_node_open(&node, &o)) != 0) {
		arb_test_emit("open failed: %s", arb_strerror(rv));
		return 1;
	}
	rv = arb_node_run(node, &sp, &code);
	arb_node_close(node);
	return code;
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
	{ "sup", sup_main },
};

// line_of returns the offset of the first line of p's output holding s.
static long
line_of(arb_test_proc *p, const char *s)
{
	const char *at = strstr(p->out, s);

	assert_non_null(at);
	return at - p->out;
}

// A pair: gw (the arbor program, its tree file in dir) and sup (this
// test's helper, its fencer speaking to gw's agent).
typedef struct pair {
	char          dir[64], cookie[200];
	int           pport, gport;
	arb_test_proc gw, sup;
} pair;

// start_gw writes gw's tree file (with the node lines `extra`) into the
// test's directory (tag: its name's) and starts gw; returns gw's
// event=peer_listen line.  Without the arbor program: the test is
// skipped.
static const char *
start_gw(void **state, pair *p, const char *tag, const char *extra)
{
	char        tree[1024], path[200];
	const char *gw_args[] = { "--", "run", path, NULL };

#ifndef ARBOR_BIN
	skip();
#endif
	p->pport = arb_test_free_port();
	p->gport = arb_test_free_port();
	snprintf(p->dir, sizeof(p->dir), "%s", arb_test_tidy_dir(state, tag));
	arb_test_write_file(
	    p->dir, "cookie", SECRET "\n", p->cookie, sizeof(p->cookie));
	assert_int_equal(chmod(p->cookie, 0600), 0);
	snprintf(tree, sizeof(tree),
	    "node:\n  name: gw\n  control: %s/ctl.sock\n  run_dir: %s\n"
	    "  listen: tcp://127.0.0.1:%d\n  cookie: %s\n%s"
	    "  peers:\n    - {name: sup, url: \"tcp://127.0.0.1:%d\"}\n"
	    "root:\n  children:\n    - {name: local, type: echo}\n",
	    p->dir, p->dir, p->gport, p->cookie, extra, p->pport);
	arb_test_write_file(p->dir, "gw.yaml", tree, path, sizeof(path));
	return arb_test_node_start(&p->gw, "arbor", gw_args, WAIT_MS);
}

// start_sup starts node sup with the fencer (mode: NULL, "flood",
// "claim", "tree", "pool", "stray") or the asker ("asker").
static void
start_sup(pair *p, const char *mode)
{
	char        ps[16], pg[16];
	const char *sup_args[] = { ps, pg, mode, NULL };

	snprintf(ps, sizeof(ps), "%d", p->pport);
	snprintf(pg, sizeof(pg), "%d", p->gport);
	arb_test_spawn(&p->sup, "sup", sup_args);
}

// start_pair starts gw (tree tag, node lines extra), waits for its tree,
// then starts sup (mode as start_sup).
static void
start_pair(void **state, pair *p, const char *tag, const char *extra,
    const char *mode)
{
	start_gw(state, p, tag, extra);
	arb_test_expect(&p->gw, "event=tree_up", WAIT_MS);
	start_sup(p, mode);
}

// stop_pair ends both nodes (SIGTERM) and removes the pair's directory.
static void
stop_pair(pair *p)
{
	arb_test_node_stop(
	    (arb_test_proc *[]){ &p->sup, &p->gw }, 2, false, WAIT_MS);
	assert_int_equal(arb_test_rmtree(p->dir), 0);
}

static void
test_agent_fences_generations(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;
	const char    *line;

	// node.watch_max and node.max_unproven reach the node
	// (docs/config.md; the latter's per-source bound: at least 4).
	line = start_gw(
	    state, &p, "t76", "  watch_max: 7\n  max_unproven: 9\n");
	assert_int_equal(arb_test_need_field(line, "watch_max"), 7);
	assert_int_equal(arb_test_need_field(line, "max_unproven"), 9);
	assert_int_equal(arb_test_need_field(line, "max_unproven_source"), 4);
	arb_test_expect(gw, "event=tree_up", WAIT_MS);
	start_sup(&p, NULL);

	arb_test_expect(sup, "fencer ready gen=5", WAIT_MS);
	// Older: refused, counted and logged; 5 runs on.
	arb_test_expect(
	    sup, "fencer fail gen=4 text=fenced: an older", WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_fenced sup_node=sup child=root/x "
	    "generation=4 running=5",
	    WAIT_MS);
	// A repeat of 5: answered READY again, nothing started.
	arb_test_expect(sup, "fencer exit gen=5 kind=shutdown", WAIT_MS);
	assert_int_equal(arb_test_count(sup, "fencer ready gen=5"), 2);
	assert_int_equal(arb_test_count(gw,
	                     "event=agent_start sup_node=sup "
	                     "child=root/x generation=5"),
	    1);
	// 6 supersedes 5: 5 ended before 6 started.
	arb_test_expect(sup, "fencer ready gen=6", WAIT_MS);
	assert_true(line_of(sup, "fencer exit gen=5")
	    < line_of(sup, "fencer ready gen=6"));
	arb_test_expect(gw, "generation=5 cause=superseded", WAIT_MS);
	// (gw's output is read as it comes: wait for the line before its
	// place is compared)
	arb_test_expect(gw,
	    "event=agent_start sup_node=sup child=root/x generation=6", WAIT_MS);
	assert_true(line_of(gw,
	                "event=agent_exit sup_node=sup child=root/x "
	                "generation=5")
	    < line_of(gw,
	        "event=agent_start sup_node=sup child=root/x "
	        "generation=6"));
	arb_test_expect(sup, "fencer exit gen=6 kind=shutdown", WAIT_MS);
	assert_int_equal(arb_test_count(sup, "fencer bad reply"), 0);

	stop_pair(&p);
}

// test_reports_beyond_256_drop_the_oldest: a supervisor's node that ACKs
// nothing (the fencer's flood mode) and FLOOD_N failed starts of distinct
// children: gw keeps 256 reports for it and drops the oldest beyond
// that, each logged (event=agent_report_dropped, the child named):
// exactly FLOOD_N - 256, root/f000 to root/f043, none after.
static void
test_reports_beyond_256_drop_the_oldest(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;
	char           last[96], next[96];

	start_pair(state, &p, "t76r", "", "flood");

	// Every report was sent once (the dropped ones too) ...
	arb_test_expect(sup, "flood: 300 failed starts", WAIT_MS);
	// ... and the oldest FLOOD_N - 256 were dropped, in order.
	snprintf(last, sizeof(last),
	    "event=agent_report_dropped sup_node=%08x child=root/f%03d ",
	    (unsigned) arb__node_id("sup"), FLOOD_N - 256 - 1);
	snprintf(next, sizeof(next),
	    "event=agent_report_dropped sup_node=%08x child=root/f%03d ",
	    (unsigned) arb__node_id("sup"), FLOOD_N - 256);
	arb_test_expect(gw, last, WAIT_MS);
	assert_int_equal(
	    arb_test_count(gw, "event=agent_report_dropped "), FLOOD_N - 256);
	assert_true(line_of(gw,
	                "child=root/f000 generation=1 reason=\"more "
	                "than 256 reports waiting\"")
	    < line_of(gw, last));
	assert_int_equal(arb_test_count(gw, next), 0);

	stop_pair(&p);
}

// test_claim_of_a_generation_not_run_is_stopped: an orphan whose
// supervisor's node does not run that generation (orphan reclaim,
// docs/supervision.md): gw runs root/x generation 5 for the fencer; sup
// is stopped (SIGSTOP) until gw counts it lost (x an orphan, grace 30 s)
// and continued: gw's agent CLAIMs x, node sup answers STOP (its tree
// runs no root/x; event=remote_claim ... answer=stop), and gw stops x at
// once (cause=requested), far within the grace, never at its end
// (event=orphan_stop).  (multinode.77_remote_reclaim's STOPs come from
// the supervisor's STOP of lost generations; between two real nodes a
// KEEP is now rare: a pair's streams are one link, docs/multinode.md.)
static void
test_claim_of_a_generation_not_run_is_stopped(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;
	const char    *line;
	int64_t        t0, ms;

	start_pair(state, &p, "t76c", "  orphan_grace: 30s\n", "claim");
	arb_test_expect(sup, "fencer ready gen=5", WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_start sup_node=sup child=root/x generation=5", WAIT_MS);
	// sup silent: gw loses it (heartbeats), x is an orphan.
	assert_int_equal(kill(sup->pid, SIGSTOP), 0);
	line = arb_test_expect(
	    gw, "event=orphan sup_node=sup child=root/x generation=5 ", WAIT_MS);
	assert_int_equal(arb_test_need_field(line, "grace_ms"), 30000);
	t0 = arb_test_now_ms();
	assert_int_equal(kill(sup->pid, SIGCONT), 0);
	arb_test_expect(sup, "fencer claim gen=5", WAIT_MS);
	arb_test_expect(
	    sup, "root/x event=remote_claim node=? generation=5 answer=stop",
	    WAIT_MS);
	arb_test_expect(sup, "fencer answer stop gen=5", WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_stop sup_node=sup child=root/x generation=5 "
	    "cause=requested",
	    WAIT_MS);
	ms = arb_test_now_ms() - t0;
	print_message("orphan stopped %lld ms after sup continued (grace "
	              "30000 ms)\n",
	    (long long) ms);
	assert_true(ms < 10000);
	assert_int_equal(arb_test_count(gw, "event=orphan_stop"), 0);
	assert_int_equal(arb_test_count(sup, "answer=keep"), 0);
	stop_pair(&p);
}

// test_agent_runs_a_subtree: a START of a supervisor child carries its
// subtree (docs/multinode.md, "The agent"): one with an exec child is
// refused (FAIL "subtree refused: v: an exec child ...",
// event=agent_bad_subtree; nothing started), one of two thread echos runs
// whole under gw's root/~agent (READY once both run there, no EXIT).
static void
test_agent_runs_a_subtree(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;

	start_pair(state, &p, "t76t", "", "tree");
	arb_test_expect(sup,
	    "fencer fail root/bad gen=1 text=subtree refused: v: an exec "
	    "child cannot run under a remote supervisor",
	    WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_bad_subtree sup_node=sup child=root/bad generation=1 "
	    "reason=\"v: an exec child cannot run under a remote supervisor",
	    WAIT_MS);
	arb_test_expect(sup, "fencer ready root/s gen=1", WAIT_MS);
	// Its children were up before the READY, under the nested one.
	// (gw's output is read as it comes: wait for the last line first.)
	arb_test_expect(gw, "-s event=started isolation=supervisor", WAIT_MS);
	assert_int_equal(arb_test_count(gw, "-bad"), 0);
	assert_true(
	    arb_test_count(gw, "-s/w event=started isolation=thread") == 1);
	assert_true(
	    arb_test_count(gw, "-s/v event=started isolation=thread") == 1);
	assert_true(line_of(gw, "-s/v event=started")
	    < line_of(gw, "-s event=started isolation=supervisor"));
	assert_int_equal(arb_test_count(sup, "fencer exit"), 0);
	stop_pair(&p);
}

// test_agent_relays_start_child_by_generation: a remote pool (issue 12,
// docs/multinode.md "Remote pools"): gw runs root/p generation 5, a
// simple_one_for_one pool, for the fencer; START_CHILD of generation 4
// (stale) is refused (CHILD ARB_ESTATE "fenced: ...", event=agent_fenced,
// nothing started), of 5 starts the pool's child and answers its pid and
// its path on gw; a message to that pid (gw's node id and incarnation)
// reaches it (the echo comes back from the same pid); START_CHILD of 6,
// newer than what runs, is refused too.
static void
test_agent_relays_start_child_by_generation(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;

	start_pair(state, &p, "t76p", "", "pool");
	arb_test_expect(sup, "fencer ready root/p gen=5", WAIT_MS);
	arb_test_expect(sup,
	    "fencer child root/p gen=4 ref=1 code=ARB_ESTATE pid=no "
	    "text=fenced: generation 4 of root/p is not the one running "
	    "here (5)",
	    WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_fenced op=start_child child=root/p generation=4",
	    WAIT_MS);
	arb_test_expect(sup,
	    "fencer child root/p gen=5 ref=2 code=ARB_OK pid=yes "
	    "text=root/~agent/rc-",
	    WAIT_MS);
	arb_test_expect(sup, "fencer echo hi from=child", WAIT_MS);
	arb_test_expect(sup,
	    "fencer child root/p gen=6 ref=3 code=ARB_ESTATE pid=no "
	    "text=fenced: generation 6 of root/p",
	    WAIT_MS);
	// One child started: the stale and newer ones started nothing.
	// (gw's output is read as it comes: wait for its last line first.)
	arb_test_expect(gw,
	    "event=agent_fenced op=start_child child=root/p generation=6",
	    WAIT_MS);
	assert_int_equal(arb_test_count(gw, "event=agent_start_child "), 1);
	assert_int_equal(arb_test_count(gw, "-p/w.1 event=started"), 1);
	assert_int_equal(arb_test_count(gw, "-p/w.2 event=started"), 0);
	assert_int_equal(arb_test_count(sup, "fencer bad"), 0);
	stop_pair(&p);
}

// test_start_child_of_a_remote_pool_answers_its_pid: node sup's tree has
// root/p, a simple_one_for_one pool with node: gw, and an actor that
// calls arb_start_child("root/p") (ARB_ESTATE until root/p runs on gw):
// answered with a pid of gw (its node id, an incarnation), which a
// message reaches (gw's echo answers from that pid).
static void
test_start_child_of_a_remote_pool_answers_its_pid(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;

	start_pair(state, &p, "t76a", "", "asker");
	arb_test_expect(sup, "asker started node=gw creation=set", WAIT_MS);
	arb_test_expect(sup, "asker echo from=child", WAIT_MS);
	arb_test_expect(gw,
	    "event=agent_start_child sup_node=sup child=root/p generation=",
	    WAIT_MS);
	stop_pair(&p);
}

// node_dead_letters is node_dead_letters of gw's `arborctl status
// --json` (its control socket in the pair's directory).
static long
node_dead_letters(pair *p)
{
	char          sock[128];
	const char   *args[] = { "--", "--socket", sock, "--timeout", "2",
                  "status", "--json", NULL };
	arb_test_proc ctl;
	const char   *at;
	long          n;

	snprintf(sock, sizeof(sock), "%s/ctl.sock", p->dir);
	arb_test_spawn(&ctl, "arborctl", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&ctl, WAIT_MS)), 0);
	at = strstr(ctl.out, "\"node_dead_letters\":");
	if (at == NULL) {
		fail_msg("no node_dead_letters in arborctl status --json: %s",
		    ctl.out);
	}
	n = strtol(at + 20, NULL, 10);
	arb_test_proc_fini(&ctl);
	return n;
}

// test_agent_refuses_an_unknown_tag: what gw's agent does not know (a
// tag of its range no node sends, from a peer with the cookie) is a dead
// letter of gw (node_dead_letters), logged once a second naming the tag
// and the sender (event=rejected_message mailbox=agent, the second
// within the second suppressed); a call of such a tag is answered at
// once, ARB_ENOTSUP from the agent's slot, not left to its 60 s timeout.
static void
test_agent_refuses_an_unknown_tag(void **state)
{
	pair           p;
	arb_test_proc *gw = &p.gw, *sup = &p.sup;
	char           node[32];
	const char    *line;

	start_pair(state, &p, "t76u", "", "stray");
	line = arb_test_expect(sup, "fencer stray answer ", WAIT_MS);
	assert_non_null(strstr(
	    line, "status=ARB_EREMOTE code=ARB_ENOTSUP from=gw ms="));
	assert_non_null(strstr(
	    line, "text=the agent of node gw takes no tag 0xffff01ff"));
	assert_true(arb_test_need_field(line, "ms") < WAIT_MS);
	// The plain one first: logged; the call's within the second not.
	line = arb_test_expect(
	    gw, "event=rejected_message mailbox=agent from=[", WAIT_MS);
	snprintf(node, sizeof(node), ",%u,", (unsigned) arb__node_id("sup"));
	assert_non_null(strstr(line, node));
	assert_non_null(strstr(line,
	    " tag=0xffff01fe ref=0 request=no error=\"unknown tag\" "
	    "dead_letters=1 suppressed=0"));
	assert_int_equal(
	    arb_test_count(gw, "event=rejected_message mailbox=agent"), 1);
	assert_int_equal(node_dead_letters(&p), 2);
	stop_pair(&p);
}

// arb_node_open checks orphan_grace_ms as the tree file's checker does
// (10 ms to 24 h; 0: the default).
static void
test_orphan_grace_is_checked(void **state)
{
	arb_node_opts o = { 0 };
	arb_node     *node = NULL;
	const char   *dir = arb_test_tidy_dir(state, "t76g");
	char          run[128];
	int           bad[] = { -1, 5, 86400001 };
	size_t        i;

	snprintf(run, sizeof(run), "%s/run", dir);
	o.name = "g";
	o.run_dir = run;
	o.no_signals = true;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.orphan_grace_ms = bad[i];
		ARB_FAIL(arb_node_open(&node, &o), ARB_EINVAL);
	}
	o.orphan_grace_ms = 10;
	ARB_PASS(arb_node_open(&node, &o));
	arb_node_close(node);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

static const struct CMUnitTest tests[] = {
	ARB_TEST_TIDY(test_agent_fences_generations),
	ARB_TEST_TIDY(test_reports_beyond_256_drop_the_oldest),
	ARB_TEST_TIDY(test_claim_of_a_generation_not_run_is_stopped),
	ARB_TEST_TIDY(test_orphan_grace_is_checked),
	ARB_TEST_TIDY(test_agent_refuses_an_unknown_tag),
	ARB_TEST_TIDY(test_agent_runs_a_subtree),
	ARB_TEST_TIDY(test_agent_relays_start_child_by_generation),
	ARB_TEST_TIDY(test_start_child_of_a_remote_pool_answers_its_pid),
};

ARB_TEST_MAIN("integration.agent", tests, helpers)
