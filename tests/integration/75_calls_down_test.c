// SPDX-License-Identifier: MIT
// 75_calls_down_test.c -- calls and gathers waiting on a node that goes
// down end at its DOWN (docs/multinode.md, "Calls to a node that goes
// down"), as Erlang's gen_server:call to a server on a node that goes
// down fails at once (noconnection), not at its timeout.
//
// Three real nodes on loopback: n1 runs a thread and a process "caller",
// n2 and n3 each a "holder" that keeps the requests it gets unanswered
// until it is told to release them.  Each caller calls hold@n2 and
// hold@n3 and gathers both twice (FIRST_EXCEPTION and ALL_COMPLETED),
// 30 s timeouts; n2 is SIGKILLed: what waits on n2 ends within the DOWN
// budget (ARB_ENOENT, exit noconnection), a call and a gather made while
// n2 is down are answered at once, and what waits on n3 is untouched
// (answered when n3's holder releases it).  Also: requests still queued
// for n2 when it goes down end with it and their late answers are only
// counted; a notice read late ends only the calls sent before the DOWN.

#include "arb_test.h"
#include "core/arb_impl.h" // arb__alloc_fail_after
#include "httpc.h"
#include "nodes.h"
#include "probe.h"

#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 10000
#define HB_MS   200 // the nodes' heartbeat period
#define HB_MISS 3   // periods of silence before a DOWN
// What the code promises: a peer is DOWN within HB_MS * HB_MISS of its
// silence (a SIGKILLed one at once: its stream closes), and what waits on
// it ends at the DOWN.  STALL_MS is the machine's (the VM is not run for
// up to 4 s at times), not the code's.
#define DOWN_BUDGET_MS (HB_MS * HB_MISS)
#define STALL_MS       4000
#define CALL_MS        30000 // the held calls' timeout: far past the budget

#define TAG_PING    0x1000u // call: answered at once, the body echoed
#define TAG_HOLD    0x1001u // call: answered when released
#define TAG_RELEASE 0x1002u // send: answer the sender's held requests

// --- the holder: keeps requests until told ----------------------------------
#define HOLD_MAX 64

typedef struct holder_st {
	arb_msg *held[HOLD_MAX];
	int      n;
} holder_st;

static int
holder_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	*statep = calloc(1, sizeof(holder_st));
	arb_test_emit("holder register=%s",
	    arb_err_name(arb_register(ctx, "hold")));
	return *statep != NULL ? ARB_OK : ARB_ENOMEM;
}

static void
holder_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	holder_st *st = state;
	int        i, n;

	if (arb_msg_tag(m) == TAG_PING && arb_msg_is_request(m)) {
		arb_reply(ctx, m, TAG_PING, arb_msg_body(m), arb_msg_len(m));
	} else if (arb_msg_tag(m) == TAG_HOLD && arb_msg_is_request(m)
	    && st->n < HOLD_MAX) {
		if (arb_msg_dup(&st->held[st->n], m) == ARB_OK) {
			st->n++;
			arb_test_emit("holder held n=%d", st->n);
		}
	} else if (arb_msg_tag(m) == TAG_RELEASE) {
		// The sender's own requests (each caller's ends apart).
		for (i = 0, n = 0; i < st->n; i++) {
			if (arb_pid_eq(arb_msg_from(st->held[i]),
			        arb_msg_from(m))) {
				arb_reply(ctx, st->held[i], TAG_HOLD, "ok", 2);
				arb_msg_free(st->held[i]);
				st->held[i] = NULL;
				n++;
			}
		}
		for (i = 0; i < st->n; i++) {
			if (st->held[i] == NULL) {
				memmove(&st->held[i], &st->held[i + 1],
				    sizeof(st->held[0])
				        * (size_t) (st->n - i - 1));
				st->n--;
				i--;
			}
		}
		arb_test_emit("holder released n=%d", n);
	}
}

static void
holder_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	holder_st *st = state;
	int        i;

	(void) ctx;
	(void) why;
	for (i = 0; i < st->n; i++) {
		arb_msg_free(st->held[i]);
	}
	free(st);
}

static const arb_actor_ops holder_ops = {
	.type = "holder",
	.init = holder_init,
	.handle = holder_handle,
	.terminate = holder_terminate,
};

// --- the caller: waits on n2 and n3 -----------------------------------------
typedef struct caller_st {
	arb_test_ticked t;     // first (nodes.h)
	arb_pid         to[2]; // hold@n2, hold@n3
	bool            pong[2];
	int             phase;    // 0: resolve and ping, 1: pinging, 2: armed
	int64_t         down_ms;  // when the down gather was made
	int             n2_ended; // its n2 call and FIRST_EXCEPTION gather
} caller_st;

static const char *
iso(arb_ctx *ctx)
{
	return arb_actor_isolation(ctx) == ARB_PROCESS ? "process" : "thread";
}

static void
n3call_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	(void) arg;
	arb_test_emit("caller n3call iso=%s status=%s", iso(ctx),
	    arb_err_name(r->status));
}

static void
downcall_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	(void) arg;
	arb_test_emit("caller downcall_cb iso=%s status=%s", iso(ctx),
	    arb_err_name(r->status));
}

static void
downgather_cb(arb_ctx *ctx, void *arg, const arb_result *res, size_t n,
    size_t nerrors)
{
	caller_st *st = arg;

	(void) n;
	(void) nerrors;
	arb_test_emit("caller downgather iso=%s status=%s kind=%d ms=%lld",
	    iso(ctx), arb_err_name(res[0].status), (int) res[0].exit.kind,
	    (long long) (arb_test_now_ms() - st->down_ms));
}

// caller_n2_ended: once its n2 call and its FIRST_EXCEPTION gather have
// ended, what waits on n3 is released (not before: a gather completes at
// the end of its loop turn, and an n3 answer taken before would be in it).
static void
caller_n2_ended(caller_st *st)
{
	if (++st->n2_ended == 2) {
		arb_send_copy(st->t.ctx, st->to[1], TAG_RELEASE, NULL, 0);
	}
}

static void
n2call_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	caller_st *st = arg;
	int        rv;

	arb_test_emit("caller n2call iso=%s status=%s kind=%d text=%s",
	    iso(ctx), arb_err_name(r->status), (int) r->exit.kind, r->text);
	// n2 is down now: a call to it is refused at once, a gather's
	// entry for it answered at once.
	rv = arb_call(ctx, st->to[0], TAG_PING, "?", 1, CALL_MS, downcall_cb,
	    st);
	arb_test_emit("caller downcall iso=%s rv=%s", iso(ctx),
	    arb_err_name(rv));
	st->down_ms = arb_test_now_ms();
	rv = arb_gather(ctx, &st->to[0], 1, TAG_PING, "?", 1, CALL_MS,
	    ARB_ALL_COMPLETED, downgather_cb, st);
	if (rv != ARB_OK) {
		arb_test_emit("caller downgather iso=%s rv=%s", iso(ctx),
		    arb_err_name(rv));
	}
	caller_n2_ended(st);
}

static void
gather_print(arb_ctx *ctx, const char *what, const arb_result *res)
{
	arb_test_emit("caller %s iso=%s n2=%s n2kind=%d n3=%s text=%s", what,
	    iso(ctx), arb_err_name(res[0].status), (int) res[0].exit.kind,
	    arb_err_name(res[1].status), res[0].text);
}

static void
gfirst_cb(arb_ctx *ctx, void *arg, const arb_result *res, size_t n,
    size_t nerrors)
{
	(void) n;
	(void) nerrors;
	gather_print(ctx, "gfirst", res);
	caller_n2_ended(arg);
}

static void
gall_cb(arb_ctx *ctx, void *arg, const arb_result *res, size_t n,
    size_t nerrors)
{
	(void) arg;
	(void) n;
	(void) nerrors;
	gather_print(ctx, "gall", res);
}

static void
caller_arm(caller_st *st)
{
	arb_ctx *ctx = st->t.ctx;
	int      rv[4];

	st->phase = 2;
	rv[0] = arb_call(ctx, st->to[0], TAG_HOLD, "c2", 2, CALL_MS,
	    n2call_cb, st);
	rv[1] = arb_call(ctx, st->to[1], TAG_HOLD, "c3", 2, CALL_MS,
	    n3call_cb, st);
	rv[2] = arb_gather(ctx, st->to, 2, TAG_HOLD, "gf", 2, CALL_MS,
	    ARB_FIRST_EXCEPTION, gfirst_cb, st);
	rv[3] = arb_gather(ctx, st->to, 2, TAG_HOLD, "ga", 2, CALL_MS,
	    ARB_ALL_COMPLETED, gall_cb, st);
	arb_test_emit("caller armed iso=%s rv=%s,%s,%s,%s", iso(ctx),
	    arb_err_name(rv[0]), arb_err_name(rv[1]), arb_err_name(rv[2]),
	    arb_err_name(rv[3]));
}

static void
ping_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	bool *pong = arg;

	(void) ctx;
	*pong = r->status == ARB_OK;
}

static void
caller_tick(evutil_socket_t fd, short what, void *arg)
{
	caller_st *st = arg;
	int        i;

	(void) fd;
	(void) what;
	if (st->phase == 2) {
		return;
	}
	if (st->pong[0] && st->pong[1]) {
		caller_arm(st);
		return;
	}
	// Both links up: a ping each answered (asked again each tick).
	if (arb_whereis(st->t.ctx, "hold@n2", &st->to[0]) != ARB_OK
	    || arb_whereis(st->t.ctx, "hold@n3", &st->to[1]) != ARB_OK) {
		return;
	}
	for (i = 0; i < 2; i++) {
		if (!st->pong[i]) {
			(void) arb_call(st->t.ctx, st->to[i], TAG_PING, "?", 1,
			    1000, ping_cb, &st->pong[i]);
		}
	}
}

static int
caller_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	return arb_test_ticked_init(
	    ctx, statep, sizeof(caller_st), caller_tick, 50);
}

static void
caller_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	arb_stats as;

	arb_stats_get(ctx, &as);
	arb_test_emit("caller end iso=%s late_replies=%llu", iso(ctx),
	    (unsigned long long) as.late_replies);
	arb_test_ticked_terminate(ctx, state, why);
}

static const arb_actor_ops caller_ops = {
	.type = "caller",
	.init = caller_init,
	.terminate = caller_terminate,
};

// --- the queuer: requests still queued for n2 when it goes down ------------
// Pings hold@n2 every tick (100 ms timeout); the first ping that times
// out (the test stopped n2: SIGSTOP) makes it call hold@n2 with
// QUEUE_BYTES bodies (30 s timeout) until a call is refused with
// ARB_EAGAIN: its queue and its link's are full, so requests wait there,
// never written, when n2 goes down.  Each ends at the DOWN; once n2 is
// back (a ping answered), it makes CHECKS calls, each with a body of its
// own that the reply must echo, and prints its late replies.
#define QUEUE_BYTES 16384
#define QUEUE_MAX   4096
#define CHECKS      20

typedef struct queuer_st {
	arb_test_ticked t; // first (nodes.h)
	arb_pid         to;
	bool            busy, up, flooded, back;
	int             calls, ended, checks, checked, bad;
	uint64_t        late;
	char            body[QUEUE_BYTES];
} queuer_st;

static void
queuer_ended_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	queuer_st *st = arg;

	(void) ctx;
	if (r->status != ARB_ENOENT || r->exit.kind != ARB_EXIT_NOCONNECTION) {
		arb_test_emit("queuer call status=%s kind=%d",
		    arb_err_name(r->status), (int) r->exit.kind);
	}
	if (++st->ended == st->calls) {
		arb_test_emit("queuer ended n=%d", st->ended);
	}
}

static void
queuer_check_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	queuer_st *st = arg;
	char       want[16];
	int        n = snprintf(want, sizeof(want), "check-%d", st->checked);

	(void) ctx;
	if (r->status != ARB_OK || arb_msg_len(r->reply) != (size_t) n
	    || memcmp(arb_msg_body(r->reply), want, (size_t) n) != 0) {
		st->bad++;
	}
	st->checked++;
	st->busy = false;
}

static void
queuer_ping_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	queuer_st *st = arg;

	(void) ctx;
	st->busy = false;
	if (r->status == ARB_OK && !st->up) {
		st->up = true;
		arb_test_emit("queuer up");
	} else if (r->status == ARB_OK && st->ended == st->calls
	    && st->flooded) {
		st->back = true;
	} else if (r->status == ARB_ETIMEDOUT && st->up && !st->flooded) {
		int rv = ARB_OK;

		st->flooded = true;
		while (st->calls < QUEUE_MAX
		    && (rv = arb_call(ctx, st->to, TAG_PING, st->body,
		            sizeof(st->body), CALL_MS, queuer_ended_cb, st))
		        == ARB_OK) {
			st->calls++;
		}
		arb_test_emit("queuer flooded calls=%d rv=%s", st->calls,
		    arb_err_name(rv));
	}
}

static void
queuer_tick(evutil_socket_t fd, short what, void *arg)
{
	queuer_st *st = arg;
	arb_stats  as;
	char       b[16];
	int        n;

	(void) fd;
	(void) what;
	if (st->busy) {
		return;
	}
	if (!st->back) {
		if (arb_whereis(st->t.ctx, "hold@n2", &st->to) == ARB_OK) {
			st->busy = arb_call(st->t.ctx, st->to, TAG_PING, "?",
			               1, 100, queuer_ping_cb, st)
			    == ARB_OK;
		}
		return;
	}
	if (st->checks < CHECKS) {
		n = snprintf(b, sizeof(b), "check-%d", st->checks);
		st->busy = arb_call(st->t.ctx, st->to, TAG_PING, b, (size_t) n,
		               CALL_MS, queuer_check_cb, st)
		    == ARB_OK;
		st->checks += st->busy;
		return;
	}
	arb_stats_get(st->t.ctx, &as);
	if (as.late_replies != st->late) {
		st->late = as.late_replies;
		arb_test_emit(
		    "queuer back checked=%d bad=%d late_replies=%llu",
		    st->checked, st->bad, (unsigned long long) st->late);
	}
}

static int
queuer_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	return arb_test_ticked_init(
	    ctx, statep, sizeof(queuer_st), queuer_tick, 20);
}

static const arb_actor_ops queuer_ops = {
	.type = "queuer",
	.init = queuer_init,
	.terminate = arb_test_ticked_terminate,
};

// --- the sleeper: reads a DOWN after the node's return ----------------------
// Once hold@n2 answers a ping, calls it (TAG_HOLD: never answered, 30 s
// timeout) and blocks its loop until the test creates the file "go" in
// its node's test dir (at most GO_MS): meanwhile n2 is killed and started
// again, so the node's notice of that DOWN waits in its mailbox.  Then,
// still in the same turn, it calls the new n2 (TAG_PING), and only then
// reads its mailbox: the notice must end the first call, not the second.
#define GO_MS 30000

typedef struct sleeper_st {
	arb_test_ticked t; // first (nodes.h)
	arb_pid         to;
	bool            busy, armed;
	bool            monitor; // the msleeper: monitors hold@n2 too
	uint64_t        mref;    // its monitor's ref
	int64_t         t0;      // when it called the new n2
} sleeper_st;

static void
sleeper_old_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	arb__alloc_fail_after(0); // (test_the_notice_needs_no_memory's)
	(void) ctx;
	(void) arg;
	arb_test_emit("sleeper old status=%s kind=%d", arb_err_name(r->status),
	    (int) r->exit.kind);
}

static void
sleeper_new_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	sleeper_st *st = arg;

	(void) ctx;
	arb_test_emit("sleeper new status=%s kind=%d ms=%lld",
	    arb_err_name(r->status), (int) r->exit.kind,
	    (long long) (arb_test_now_ms() - st->t0));
}

static void
sleeper_newg_cb(arb_ctx *ctx, void *arg, const arb_result *res, size_t n,
    size_t nerrors)
{
	(void) ctx;
	(void) arg;
	(void) n;
	(void) nerrors;
	arb_test_emit("sleeper gather-new status=%s kind=%d",
	    arb_err_name(res[0].status), (int) res[0].exit.kind);
}

static void
sleeper_block(sleeper_st *st)
{
	char    go[400], nomem[400];
	int64_t end = arb_test_now_ms() + GO_MS;
	int     rv;

	snprintf(go, sizeof(go), "%s/go", arb_test_dir());
	arb_test_emit("sleeper blocked");
	while (access(go, F_OK) != 0 && arb_test_now_ms() < end) {
		poll(NULL, 0, 5);
	}
	snprintf(nomem, sizeof(nomem), "%s/nomem", arb_test_dir());
	if (access(nomem, F_OK) == 0) {
		// The next allocation of this process fails: the first is
		// the notice's, read next (its mailbox holds nothing else),
		// if it needs any.  sleeper_old_cb turns it off.
		arb_test_emit("sleeper unblocked nomem");
		arb__alloc_fail_after(1);
		return;
	}
	st->t0 = arb_test_now_ms();
	rv = arb_call(st->t.ctx, st->to, TAG_PING, "new", 3, CALL_MS,
	    sleeper_new_cb, st);
	arb_test_emit("sleeper unblocked go=%d rv=%s", access(go, F_OK) == 0,
	    arb_err_name(rv));
	// A gather too: its time is stamped as the call's (arb_gather).
	rv = arb_gather(st->t.ctx, &st->to, 1, TAG_PING, "newg", 4, CALL_MS,
	    ARB_ALL_COMPLETED, sleeper_newg_cb, st);
	arb_test_emit("sleeper gathered rv=%s", arb_err_name(rv));
}

static void
sleeper_ping_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	sleeper_st *st = arg;

	st->busy = false;
	if (r->status != ARB_OK || st->armed) {
		return;
	}
	st->armed = true;
	if (st->monitor) {
		arb_test_emit("sleeper monitor rv=%s",
		    arb_err_name(arb_monitor(ctx, st->to, &st->mref)));
	}
	arb_test_emit("sleeper armed rv=%s",
	    arb_err_name(arb_call(ctx, st->to, TAG_HOLD, "old", 3, CALL_MS,
	        sleeper_old_cb, st)));
}

static void
sleeper_tick(evutil_socket_t fd, short what, void *arg)
{
	sleeper_st *st = arg;

	(void) fd;
	(void) what;
	if (st->armed) {
		// The held call is out (this is the next turn): block.
		event_del(st->t.tick);
		sleeper_block(st);
		return;
	}
	if (!st->busy
	    && arb_whereis(st->t.ctx, "hold@n2", &st->to) == ARB_OK) {
		st->busy = arb_call(st->t.ctx, st->to, TAG_PING, "?", 1, 1000,
		               sleeper_ping_cb, st)
		    == ARB_OK;
	}
}

static int
sleeper_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	int rv;

	(void) arg;
	(void) len;
	rv = arb_test_ticked_init(
	    ctx, statep, sizeof(sleeper_st), sleeper_tick, 20);
	if (rv == ARB_OK) {
		// (The flooder's address: sleeper@n1.)
		arb_test_emit("sleeper register=%s",
		    arb_err_name(arb_register(ctx, "sleeper")));
	}
	return rv;
}

static const arb_actor_ops sleeper_ops = {
	.type = "sleeper",
	.init = sleeper_init,
	.terminate = arb_test_ticked_terminate,
};

// The msleeper is the sleeper that also monitors hold@n2 when it arms
// and says each DOWN it reads ("sleeper down").
static int
msleeper_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	int rv = sleeper_init(ctx, statep, arg, len);

	if (rv == ARB_OK) {
		((sleeper_st *) *statep)->monitor = true;
	}
	return rv;
}

static void
msleeper_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	sleeper_st *st = state;
	arb_pid     who;
	arb_exit    e;

	(void) ctx;
	if (arb_msg_tag(m) == ARB_TAG_DOWN
	    && arb_decode_exit(m, &who, &e) == ARB_OK) {
		arb_test_emit("sleeper down mine=%d kind=%d text=%s",
		    arb_msg_ref(m) == st->mref, (int) e.kind, e.text);
	}
}

static const arb_actor_ops msleeper_ops = {
	.type = "msleeper",
	.init = msleeper_init,
	.handle = msleeper_handle,
	.terminate = arb_test_ticked_terminate,
};

// --- the flooder: fills the blocked sleeper's queues ------------------------
// Once the test creates the file "flood" in its node's test dir, sends
// FLOOD_BYTES bodies to sleeper@n1 each tick until refused (its own
// queue full).  n1's node hands each on to the sleeper through its
// outbound queue (names.c): the blocked sleeper's mailbox fills (1 MiB),
// then the node's backlog towards it (1 MiB); then n1's names mailbox
// holds the rest and fills, and n1 PAUSEs it on n2's stream, so the
// flooder's queue stays full.  Once it has sent FLOOD_MIN bodies (more
// than the mailbox and the backlog hold) and every send was refused for
// STUCK_MS, it says so, once ("flooder stuck").
#define FLOOD_BYTES 1024
#define FLOOD_MIN   3072 // 3 MiB
#define STUCK_MS    1000

typedef struct flooder_st {
	arb_test_ticked t; // first (nodes.h)
	int             sent;
	// since when every send was refused (0: not)
	int64_t         refused_ms;
	bool            stuck;
	char            body[FLOOD_BYTES];
} flooder_st;

static void
flooder_tick(evutil_socket_t fd, short what, void *arg)
{
	flooder_st *st = arg;
	char        flood[400];
	arb_pid     to;
	int64_t     now = arb_test_now_ms();
	int         n = 0;

	(void) fd;
	(void) what;
	snprintf(flood, sizeof(flood), "%s/flood", arb_test_dir());
	if (st->stuck || access(flood, F_OK) != 0
	    || arb_whereis(st->t.ctx, "sleeper@n1", &to) != ARB_OK) {
		return;
	}
	while (
	    arb_send_copy(st->t.ctx, to, TAG_PING, st->body, sizeof(st->body))
	    == ARB_OK) {
		n++;
	}
	st->sent += n;
	if (n > 0 || st->refused_ms == 0) {
		st->refused_ms = now;
	} else if (st->sent >= FLOOD_MIN && now - st->refused_ms >= STUCK_MS) {
		st->stuck = true;
		arb_test_emit("flooder stuck sent=%d", st->sent);
	}
}

static int
flooder_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	return arb_test_ticked_init(
	    ctx, statep, sizeof(flooder_st), flooder_tick, 20);
}

static const arb_actor_ops flooder_ops = {
	.type = "flooder",
	.init = flooder_init,
	.terminate = arb_test_ticked_terminate,
};

static const arb_actor_ops *const types[] = { &holder_ops, &caller_ops,
	&queuer_ops, &sleeper_ops, &msleeper_ops, &flooder_ops,
	NULL };

// --- the node helper ---------------------------------------------------
// args (after the helper's name): name port peers kids...: peers
// "NAME:PORT[,NAME:PORT]"; each kid a type, "p:TYPE" for a process actor
// (children w, w2...).
static int
run_main(int argc, char **argv)
{
	char              names[4][8];
	arb_test_node_cfg cfg;
	arb_node_opts     o = { 0 };
	arb_node         *node;
	arb_child_spec    c[4];
	arb_sup_spec      sp = { .strategy = ARB_ONE_FOR_ONE, .intensity = 10,
		     .period_ms = 5000 };
	int               code = -1, rv, i, n = 0;

	if (argc < 5) {
		return 64;
	}
	memset(c, 0, sizeof(c));
	rv = arb_test_node_opts(&cfg, &o, NULL, argv[1], argv[2], argv[3],
	    "0123456789abcdef-calls-down");
	if (rv != 0) {
		return rv;
	}
	o.hb_interval_ms = HB_MS;
	o.hb_miss = getenv("T75_HB_MISS") != NULL ? atoi(getenv("T75_HB_MISS"))
	                                          : HB_MISS;
	for (i = 4; i < argc && n < 4; i++, n++) {
		snprintf(names[n], sizeof(names[n]), n == 0 ? "w" : "w%d",
		    n + 1);
		c[n].name = names[n];
		c[n].isolation = ARB_THREAD;
		c[n].type = argv[i];
		if (strncmp(c[n].type, "p:", 2) == 0) {
			c[n].type += 2;
			c[n].isolation = ARB_PROCESS;
		}
	}
	sp.children = c;
	sp.nchildren = (size_t) n;
	if ((rv = arb_node_open(&node, &o)) != 0) {
		arb_test_emit("open failed: %s", arb_strerror(rv));
		return 1;
	}
	rv = arb_node_run(node, &sp, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d rv=%s", code, arb_err_name(rv));
	return code;
}

static const arb_test_helper helpers[] = {
	{ "run", run_main },
};

// --- helpers of the test -----------------------------------------------
static void
spawn_run(arb_test_proc *p, const char *name, int port, const char *peers,
    const char *kid1, const char *kid2)
{
	char        ps[16];
	const char *args[6] = { name, ps, peers, kid1, kid2, NULL };

	snprintf(ps, sizeof(ps), "%d", port);
	arb_test_node_start(p, "run", args, WAIT_MS);
}

// spawn_peer starts node name at port, its one peer n1 at p1, running
// kid and kid2 (may be NULL).
static void
spawn_peer(arb_test_proc *p, const char *name, int port, int p1,
    const char *kid, const char *kid2)
{
	char peers[32];

	snprintf(peers, sizeof(peers), "n1:%d", p1);
	spawn_run(p, name, port, peers, kid, kid2);
}

// spawn_pair takes two free ports (port[0] n1's, port[1] n2's), starts n2
// running kid2 and kid2b (may be NULL), then n1, its peer n2, running
// kid1.
static void
spawn_pair(arb_test_proc *n1, arb_test_proc *n2, int port[2], const char *kid1,
    const char *kid2, const char *kid2b)
{
	char peers[32];

	port[0] = arb_test_free_port();
	port[1] = arb_test_free_port();
	spawn_peer(n2, "n2", port[1], port[0], kid2, kid2b);
	snprintf(peers, sizeof(peers), "n2:%d", port[1]);
	spawn_run(n1, "n1", port[0], peers, kid1, NULL);
}

// sleeper_blocked waits until n1's sleeper has its call to hold@n2 held
// by n2's holder and has blocked its loop.
static void
sleeper_blocked(arb_test_proc *n1, arb_test_proc *n2)
{
	arb_test_expect(n1, "sleeper armed rv=ARB_OK", WAIT_MS);
	arb_test_expect(n1, "sleeper blocked", WAIT_MS);
	arb_test_expect(n2, "holder held n=1", WAIT_MS);
}

// kill_n2 SIGKILLs n2 and waits until n1 counts it DOWN.
static void
kill_n2(arb_test_proc *n1, arb_test_proc *n2)
{
	arb_test_node_kill(n2, WAIT_MS);
	arb_test_expect(n1, "event=peer_down peer=n2", WAIT_MS);
}

// touch creates the empty file name in p's test dir (what the sleeper and
// the flooder wait for).
static void
touch(const arb_test_proc *p, const char *name)
{
	char path[300];

	arb_test_write_file(p->dir, name, "", path, sizeof(path));
}

// wait_count reads p's output until want lines hold needle, at most ms.
static void
wait_count(arb_test_proc *p, const char *needle, int want, int ms)
{
	int64_t end = arb_test_now_ms() + ms;

	while (arb_test_count(p, needle) < want) {
		if (arb_test_now_ms() >= end) {
			fail_msg(
			    "no %d lines with \"%s\" within %d ms in:\n%s",
			    want, needle, ms, p->out);
		}
		arb_test_try_expect(p, "", 20);
	}
}

// check_lines checks that each line of p holding needle also holds want.
static void
check_lines(arb_test_proc *p, const char *needle, const char *want, int n)
{
	const char *l = p->out, *e;
	int         seen = 0;

	while ((l = strstr(l, needle)) != NULL) {
		e = strchr(l, '\n');
		assert_non_null(e);
		if (memmem(l, (size_t) (e - l), want, strlen(want)) == NULL) {
			fprintf(stderr, "%s\n", p->out);
			fail_msg("\"%.*s\" lacks \"%s\" (output above)",
			    (int) (e - l), l, want);
		}
		seen++;
		l = e;
	}
	assert_int_equal(seen, n);
}

// need_in fails the test, p's output printed, unless line (one of p's)
// holds want.
static void
need_in(arb_test_proc *p, const char *line, const char *want)
{
	if (strstr(line, want) == NULL) {
		fprintf(stderr, "%s\n", p->out);
		fail_msg("\"%s\" lacks %s (output above)", line, want);
	}
}

// stop ends node p (SIGTERM): a clean exit, nothing a sanitizer said.
static void
stop(arb_test_proc *p)
{
	arb_test_node_stop(&p, 1, true, WAIT_MS);
}

// --- tests ------------------------------------------------------------------
static void
test_calls_and_gathers_end_at_the_down(void **state)
{
	arb_test_proc n1, n2, n3;
	int           p1 = arb_test_free_port(), p2 = arb_test_free_port();
	int           p3 = arb_test_free_port();
	char          peers[64], noconn[32];
	int64_t       t0, took;

	(void) state;
	spawn_peer(&n2, "n2", p2, p1, "holder", NULL);
	spawn_peer(&n3, "n3", p3, p1, "holder", NULL);
	snprintf(peers, sizeof(peers), "n2:%d,n3:%d", p2, p3);
	spawn_run(&n1, "n1", p1, peers, "caller", "p:caller");
	// Both callers waiting on both holders: a call, two gathers each.
	wait_count(&n1, "caller armed", 2, WAIT_MS);
	check_lines(&n1, "caller armed", "rv=ARB_OK,ARB_OK,ARB_OK,ARB_OK", 2);
	wait_count(&n2, "holder held n=6", 1, WAIT_MS);
	wait_count(&n3, "holder held n=6", 1, WAIT_MS);

	t0 = arb_test_now_ms();
	arb_test_node_kill(&n2, WAIT_MS);
	// The call and the FIRST_EXCEPTION gather of each caller: ended at
	// the DOWN, not at their 30 s timeouts.
	wait_count(&n1, "caller n2call", 2, DOWN_BUDGET_MS + STALL_MS);
	wait_count(&n1, "caller gfirst", 2, DOWN_BUDGET_MS + STALL_MS);
	took = arb_test_now_ms() - t0;
	fprintf(stderr, "n2 SIGKILLed: its calls and gathers ended %lld ms "
	                "after (budget %d ms + %d ms of stalls)\n",
	    (long long) took, DOWN_BUDGET_MS, STALL_MS);
	snprintf(noconn, sizeof(noconn), "kind=%d", ARB_EXIT_NOCONNECTION);
	check_lines(&n1, "caller n2call", "status=ARB_ENOENT", 2);
	check_lines(&n1, "caller n2call", noconn, 2);
	check_lines(&n1, "caller n2call", "text=noconnection: node n2 is down",
	    2);
	snprintf(noconn, sizeof(noconn), "n2kind=%d", ARB_EXIT_NOCONNECTION);
	check_lines(&n1, "caller gfirst", "n2=ARB_ENOENT", 2);
	check_lines(&n1, "caller gfirst", noconn, 2);
	check_lines(&n1, "caller gfirst", "n3=ARB_ECANCELED", 2);
	wait_count(&n1, "caller n2call iso=thread", 1, 0);
	wait_count(&n1, "caller n2call iso=process", 1, 0);
	// Made while n2 is down: refused at once (the call), answered at
	// once (the gather's entry), well within the budget.
	wait_count(&n1, "caller downcall iso", 2, WAIT_MS);
	check_lines(&n1, "caller downcall iso", "rv=ARB_ENOENT", 2);
	wait_count(&n1, "caller downgather", 2, DOWN_BUDGET_MS + STALL_MS);
	check_lines(&n1, "caller downgather", "status=ARB_ENOENT", 2);
	// What waits on n3 is untouched: answered by its holder (released
	// by the callers once n2 was down), the ALL_COMPLETED gathers with
	// it.
	wait_count(&n3, "holder released n=3", 2, WAIT_MS);
	wait_count(&n1, "caller n3call", 2, WAIT_MS);
	check_lines(&n1, "caller n3call", "status=ARB_OK", 2);
	wait_count(&n1, "caller gall", 2, WAIT_MS);
	check_lines(&n1, "caller gall", "n2=ARB_ENOENT", 2);
	check_lines(&n1, "caller gall", noconn, 2);
	check_lines(&n1, "caller gall", "n3=ARB_OK", 2);
	check_lines(&n1, "caller downcall_cb", "", 0);
	stop(&n1);
	stop(&n3);
}

// A request still queued for n2 when it goes down (never written: the
// queue behind a stopped peer's full stream) ends at the DOWN like the
// others, and stays queued for n2's next link (docs/multinode.md): once
// n2 runs again, its answers come back to a caller that no longer waits
// for them, dropped and counted (late_replies), and the caller's next
// calls get their own answers, never one of those.  n2 is stopped
// (SIGSTOP), not killed, so a queue forms; HB_MISS_QUEUE periods give
// the queuer the time to fill it before the DOWN.
#define HB_MISS_QUEUE 10
static void
test_requests_queued_for_a_lost_node(void **state)
{
	arb_test_proc n1, n2;
	int           port[2];
	char          buf[256];
	int64_t       t0, took;
	long          calls;

	(void) state;
	setenv("T75_HB_MISS", "10", 1);
	spawn_pair(&n1, &n2, port, "queuer", "holder", NULL);
	unsetenv("T75_HB_MISS");
	arb_test_expect(&n1, "queuer up", WAIT_MS);
	t0 = arb_test_now_ms();
	kill(n2.pid, SIGSTOP);
	arb_test_line(&n1, "queuer flooded", WAIT_MS, buf, sizeof(buf));
	calls = arb_test_need_field(buf, "calls");
	assert_true(calls > 0);
	assert_non_null(strstr(buf, "rv=ARB_EAGAIN"));
	// All of them ended at the DOWN (each ARB_ENOENT, noconnection:
	// the queuer prints any other), within the DOWN budget.
	snprintf(buf, sizeof(buf), "queuer ended n=%ld", calls);
	wait_count(&n1, buf, 1, HB_MS * HB_MISS_QUEUE + STALL_MS);
	took = arb_test_now_ms() - t0;
	fprintf(stderr, "n2 stopped: %ld calls ended %lld ms after (budget "
	                "%d ms + %d ms of stalls)\n",
	    calls, (long long) took, HB_MS * HB_MISS_QUEUE, STALL_MS);
	assert_int_equal(arb_test_count(&n1, "queuer call status="), 0);
	assert_int_equal(arb_test_count(&n1, "event=peer_down peer=n2"), 1);
	// n2 runs again: the queued requests reach it, its answers are late.
	kill(n2.pid, SIGCONT);
	arb_test_line(&n1, "queuer back", WAIT_MS, buf, sizeof(buf));
	assert_int_equal(arb_test_need_field(buf, "checked"), CHECKS);
	assert_int_equal(arb_test_need_field(buf, "bad"), 0);
	assert_true(arb_test_need_field(buf, "late_replies") >= 1);
	// Never to the ended calls' callbacks (each was called once).
	assert_int_equal(arb_test_count(&n1, "queuer call status="), 0);
	fprintf(stderr, "late replies counted: %ld (of %ld calls ended)\n",
	    arb_test_need_field(buf, "late_replies"), calls);
	stop(&n1);
	stop(&n2);
}

// A DOWN read late (the actor's loop busy while its node counted n2 DOWN
// and n2 came back) ends only the calls sent before that DOWN: the
// notice carries the time of the DOWN, and a call to n2's next
// incarnation sent after its return (a name address: whichever runs) is
// answered, not ended.
static void
test_a_late_notice_spares_calls_sent_after_the_return(void **state)
{
	arb_test_proc n1, n2;
	int           port[2];
	char          buf[256];

	(void) state;
	spawn_pair(&n1, &n2, port, "sleeper", "holder", NULL);
	sleeper_blocked(&n1, &n2);
	kill_n2(&n1, &n2);
	spawn_peer(&n2, "n2", port[1], port[0], "holder", NULL);
	// Up both ways (its answer travels on its own link to n1).
	arb_test_expect(&n2, "holder register=ARB_OK", WAIT_MS);
	arb_test_node_up(&n2, "n1", 1, WAIT_MS);
	arb_test_node_up(&n1, "n2", 2, WAIT_MS);
	touch(&n1, "go");
	arb_test_line(&n1, "sleeper unblocked", WAIT_MS, buf, sizeof(buf));
	assert_int_equal(arb_test_need_field(buf, "go"), 1);
	assert_non_null(strstr(buf, "rv=ARB_OK"));
	// The call sent before the DOWN ends with it, the new one is
	// answered by the new n2.
	arb_test_line(&n1, "sleeper old", WAIT_MS, buf, sizeof(buf));
	assert_non_null(strstr(buf, "status=ARB_ENOENT"));
	assert_int_equal(
	    arb_test_need_field(buf, "kind"), ARB_EXIT_NOCONNECTION);
	n1.mark = 0;
	if (arb_test_try_expect(&n1, "sleeper new", WAIT_MS) == NULL) {
		arb_test_try_expect(&n2, "nothing", 10);
		fprintf(stderr, "n1:\n%s\nn2:\n%s\n", n1.out, n2.out);
		fail_msg("no \"sleeper new\" (output above)");
	}
	arb_test_line(&n1, "sleeper new", WAIT_MS, buf, sizeof(buf));
	need_in(&n1, buf, "status=ARB_OK");
	// So is the gather made then (its time stamped: a remote target).
	n1.mark = 0;
	arb_test_line(&n1, "sleeper gather-new", WAIT_MS, buf, sizeof(buf));
	need_in(&n1, buf, "status=ARB_OK");
	stop(&n1);
	stop(&n2);
}

// The node's notice reaches an actor whose queues are full: n1's
// sleeper waits on a call to hold@n2 and blocks its loop; n2's flooder
// fills the sleeper's mailbox and n1's backlog towards it (sends to
// sleeper@n1, which n1's node hands on) until n1 holds the rest and the
// flooder is refused for a second; n2 is SIGKILLed.  The node's
// PEER_LOST notice goes past the full backlog (arb__outq_notice): once
// the sleeper reads its mailbox, the call ends ARB_ENOENT noconnection,
// not ARB_ETIMEDOUT at its 30 s timeout.  The sleeper (an msleeper)
// also monitors hold@n2: its DOWN noconnection comes through the same
// full backlog, exactly once.
// Before, the notice was refused like a send (event=calls_down_unsent),
// and the DOWN was dropped, counted nowhere.
static void
test_a_full_queue_still_gets_the_notice(void **state)
{
	arb_test_proc n1, n2;
	int           port[2];
	char          buf[256];
	int64_t       t0;

	(void) state;
	spawn_pair(&n1, &n2, port, "msleeper", "holder", "flooder");
	arb_test_expect(&n1, "sleeper register=ARB_OK", WAIT_MS);
	arb_test_expect(&n1, "sleeper monitor rv=ARB_OK", WAIT_MS);
	sleeper_blocked(&n1, &n2);
	touch(&n2, "flood");
	// n1's backlog towards the sleeper is full: n1 holds the rest.
	arb_test_line(&n2, "flooder stuck", 3 * WAIT_MS, buf, sizeof(buf));
	fprintf(stderr, "n2: %s\n", buf);
	kill_n2(&n1, &n2);
	touch(&n1, "go");
	t0 = arb_test_now_ms();
	arb_test_line(&n1, "sleeper unblocked", WAIT_MS, buf, sizeof(buf));
	assert_int_equal(arb_test_need_field(buf, "go"), 1);
	arb_test_line(&n1, "sleeper old", WAIT_MS, buf, sizeof(buf));
	fprintf(stderr, "the held call ended %lld ms after the sleeper "
	                "went on: %s\n",
	    (long long) (arb_test_now_ms() - t0), buf);
	need_in(&n1, buf, "status=ARB_ENOENT");
	assert_int_equal(
	    arb_test_need_field(buf, "kind"), ARB_EXIT_NOCONNECTION);
	assert_int_equal(arb_test_count(&n1, "calls_down_unsent"), 0);
	// The DOWN of the monitor: once, noconnection (read behind the
	// flood the sleeper's mailbox and n1's backlog held).
	arb_test_line(&n1, "sleeper down mine=1", WAIT_MS, buf, sizeof(buf));
	assert_int_equal(
	    arb_test_need_field(buf, "kind"), ARB_EXIT_NOCONNECTION);
	assert_int_equal(arb_test_count(&n1, "notice_lost"), 0);
	assert_int_equal(arb_test_count(&n1, "sleeper down mine=1"), 1);
	stop(&n1);
}

// The notice needs no memory (ctx_peer_lost): n1's sleeper waits on a
// call to hold@n2 and blocks its loop; n2 is SIGKILLed and counted DOWN
// (the notice waits in the sleeper's mailbox); the sleeper goes on with
// the next allocation of its process set to fail, and the notice ends
// the call ARB_ENOENT noconnection.  Before, ctx_peer_lost allocated the
// list of the refs it ends: refused, it returned, and the call waited
// for its 30 s timeout, with nothing counted or logged.
static void
test_the_notice_needs_no_memory(void **state)
{
	arb_test_proc n1, n2;
	int           port[2];
	char          buf[256];

	(void) state;
	spawn_pair(&n1, &n2, port, "sleeper", "holder", NULL);
	sleeper_blocked(&n1, &n2);
	kill_n2(&n1, &n2);
	touch(&n1, "nomem");
	touch(&n1, "go");
	arb_test_expect(&n1, "sleeper unblocked nomem", WAIT_MS);
	arb_test_line(&n1, "sleeper old", WAIT_MS, buf, sizeof(buf));
	need_in(&n1, buf, "status=ARB_ENOENT");
	assert_int_equal(
	    arb_test_need_field(buf, "kind"), ARB_EXIT_NOCONNECTION);
	stop(&n1);
}

static const struct CMUnitTest tests[] = {
	ARB_TEST_TIDY(test_a_late_notice_spares_calls_sent_after_the_return),
	ARB_TEST_TIDY(test_requests_queued_for_a_lost_node),
	ARB_TEST_TIDY(test_calls_and_gathers_end_at_the_down),
	ARB_TEST_TIDY(test_a_full_queue_still_gets_the_notice),
	ARB_TEST_TIDY(test_the_notice_needs_no_memory),
};

ARB_TEST_MAIN_TYPES("integration.calls_down", tests, helpers, types)
