// SPDX-License-Identifier: MIT
// actor.c -- the actor runtime shared by thread and process actors.
//
// Runs init, the loop, message dispatch (handlers, replies, DOWN for
// gathers), stop requests with shields, and the orderly end (terminate,
// flush, dead-letter count, report).  Everything here runs on the actor's
// loop thread; the host (thread.c / process.c) carries words to the node.

#include "actor_int.h"

#include <event2/event.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Pending requests: calls and gathers, keyed by ref.
// ---------------------------------------------------------------------------
typedef struct gather gather;

typedef enum pend_kind {
	PEND_CALL = 1,
	PEND_GATHER,      // reply to one request of a gather
	PEND_GATHER_DOWN, // DOWN of a gather's monitor
	PEND_DOWN_GONE,   // that DOWN, sent before the gather demonitored
} pend_kind;

typedef struct pending {
	pend_kind     kind;
	uint64_t      ref;
	arb_ctx      *ctx;
	// PEND_CALL
	arb_call_cb   cb;
	void         *arg;
	arb_pid       to;
	struct event *timer;
	int64_t       t_us; // when it was sent (another node's actor)
	// PEND_GATHER / PEND_GATHER_DOWN (PEND_DOWN_GONE: none)
	gather       *g;
	size_t        idx;
} pending;

struct gather {
	arb_ctx        *ctx;
	arb_gather_cb   cb;
	void           *arg;
	arb_gather_mode mode;
	size_t          n;
	size_t          outstanding;
	size_t          nerrors;
	arb_result     *results;
	arb_msg       **replies;
	uint64_t       *refs;  // request refs
	uint64_t       *mrefs; // monitor refs
	bool           *done;
	struct event   *timer;
	struct event   *finish_ev; // end-of-turn completion
	bool            finishing;
	int64_t         t_us; // when it was sent
	gather         *prev, *next; // ctx->gathers
};

// ctx_new_ref gives a call or gather request its ref.  Refs need only be
// unique per actor incarnation (ctx->pending is its own); each
// incarnation starts at a random value (arb__ctx_open) rather than 1, so
// they are not there to be guessed (a reply is taken only from where its
// call went, reply_from_target, so a guessed ref gets nothing; still).
// They wrap below the top bit, DOWN_KEY's, and skip 0, the idmap's
// empty key: ARB__CALL_REF_MAX is followed by 1.
static uint64_t
ctx_new_ref(arb_ctx *ctx)
{
	ctx->next_ref
	    = ctx->next_ref >= ARB__CALL_REF_MAX ? 1 : ctx->next_ref + 1;
	return ctx->next_ref;
}

// DOWN_KEY is the ctx->pending key of a gather's monitor.  Monitor refs
// come from the node's counter (from 1) and request refs from ours, so
// the same number can be both; the top bit (never set in a call ref:
// ARB__CALL_REF_MAX) keeps the two apart.
#define DOWN_KEY(mref) ((mref) | (1ull << 63))

// ---------------------------------------------------------------------------
// Exit
// ---------------------------------------------------------------------------
void
arb_actor_exit(arb_ctx *ctx, const arb_exit *why)
{
	if (ctx->exiting) {
		return; // the first reason wins
	}
	ctx->exiting = true;
	ctx->why     = *why;
	event_base_loopbreak(ctx->base);
}

void
arb_actor_exit_error(arb_ctx *ctx, int code, const char *text)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = code };

	snprintf(e.text, sizeof(e.text), "%s", text ? text : "");
	arb_actor_exit(ctx, &e);
}

static void
ctx_do_stop(arb_ctx *ctx)
{
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	if (ctx->ops->stop != NULL) {
		ctx->ops->stop(ctx, ctx->state);
	} else {
		arb_actor_exit(ctx, &e);
	}
}

void
arb__ctx_on_stop(arb_ctx *ctx)
{
	if (ctx->stop_requested || ctx->exiting) {
		return;
	}
	ctx->stop_requested = true;
	if (ctx->shield > 0) {
		ctx->stop_deferred = true; // arb_shield_end finishes it
		return;
	}
	ctx_do_stop(ctx);
}

void
arb__ctx_on_exit_signal(arb_ctx *ctx, const arb_exit *why)
{
	arb_actor_exit(ctx, why);
}

void
arb_shield_begin(arb_ctx *ctx)
{
	ctx->shield++;
}

void
arb_shield_end(arb_ctx *ctx)
{
	assert(ctx->shield > 0);
	if (--ctx->shield == 0 && ctx->stop_deferred) {
		ctx->stop_deferred = false;
		ctx_do_stop(ctx);
	}
}

void
arb_ready(arb_ctx *ctx)
{
	if (ctx->ready_sent) {
		return;
	}
	ctx->ready_sent = true;
	ctx->host->ready(ctx);
}

// ---------------------------------------------------------------------------
// Identity and stats
// ---------------------------------------------------------------------------
arb_pid
arb_self(arb_ctx *ctx)
{
	return ctx->self;
}

const char *
arb_path(arb_ctx *ctx)
{
	return ctx->path;
}

struct event_base *
arb_base(arb_ctx *ctx)
{
	return ctx->base;
}

arb_isolation
arb_actor_isolation(arb_ctx *ctx)
{
	return ctx->host->isolation;
}

void
arb_stats_get(arb_ctx *ctx, arb_stats *st)
{
	arb__origin *o = arb__outq_origin(ctx->outq);

	*st             = *ctx->st;
	st->batches_out = arb__outq_batches(ctx->outq);
	// What this actor sent and lost on a dying link, or dropped because
	// its destination went away for good (counted by the transport).
	st->lost = atomic_load(&o->lost) - ctx->lost0;
	st->dead_letters += atomic_load(&o->dead) - ctx->dead0;
	if (!ctx->addr.in_node && arb__tp_counters() != NULL) {
		// Batches for no mailbox of this process (its only actor's).
		st->dead_letters += atomic_load(&arb__tp_counters()->dead);
	}
}

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------
static int
ctx_push(arb_ctx *ctx, arb_msg *m)
{
	int rv;

	m->from = ctx->self;
	if ((rv = arb__outq_push(ctx->outq, m)) != 0) {
		if (rv == ARB_EAGAIN) {
			ctx->st->send_eagain++;
		}
		return rv;
	}
	ctx->st->msgs_out++;
	return ARB_OK;
}

int
arb_send(arb_ctx *ctx, arb_pid to, arb_msg *msg)
{
	int rv;

	if (msg == NULL) {
		return ARB_EINVAL;
	}
	msg->to    = to;
	msg->flags = 0;
	if ((rv = ctx_push(ctx, msg)) != 0) {
		return rv; // the caller still owns msg
	}
	// The envelope is encoded into the batch: the message itself is
	// no longer needed.
	arb_msg_free(msg);
	return ARB_OK;
}

int
arb_send_copy(arb_ctx *ctx, arb_pid to, uint32_t tag, const void *body,
    size_t len)
{
	arb_msg m = { 0 };

	if (len > 0 && body == NULL) {
		return ARB_EINVAL;
	}
	m.to   = to;
	m.tag  = tag;
	m.body = body;
	m.len  = len;
	return ctx_push(ctx, &m);
}

// reply_push sends a reply.  One refused ARB_ENOENT (its caller gone:
// ended, its slot removed, or on a node not reachable) reaches no one;
// actors often ignore arb_reply's answer, so it is counted a dead letter
// (arborctl status, /metrics), not lost in silence.
static int
reply_push(arb_ctx *ctx, arb_msg *m)
{
	int rv = ctx_push(ctx, m);

	if (rv == ARB_ENOENT) {
		ctx->st->dead_letters++;
	}
	return rv;
}

int
arb_reply(arb_ctx *ctx, const arb_msg *req, uint32_t tag, const void *body,
    size_t len)
{
	arb_msg m = { 0 };

	if (req == NULL || (req->flags & ARB__F_REQUEST) == 0) {
		return ARB_EINVAL;
	}
	m.to    = req->from;
	m.tag   = tag;
	m.ref   = req->ref;
	m.flags = ARB__F_REPLY;
	m.body  = body;
	m.len   = len;
	return reply_push(ctx, &m);
}

int
arb_reply_error(arb_ctx *ctx, const arb_msg *req, int code, const char *text)
{
	arb__buf b = { 0 };
	arb_msg  m;
	int      rv;

	if (req == NULL) {
		return ARB_EINVAL;
	}
	if ((rv = arb__codec_error_reply(req, code, text, 0, &b, &m))
	    == ARB_OK) {
		rv = reply_push(ctx, &m);
	}
	arb__buf_fini(&b);
	return rv;
}

static int
ctx_request(arb_ctx *ctx, arb_pid to, uint32_t tag, const void *body,
    size_t len, uint64_t ref)
{
	arb_msg m = { 0 };

	if (len > 0 && body == NULL) {
		return ARB_EINVAL;
	}
	m.to    = to;
	m.tag   = tag;
	m.ref   = ref;
	m.flags = ARB__F_REQUEST;
	m.body  = body;
	m.len   = len;
	return ctx_push(ctx, &m);
}

// ---------------------------------------------------------------------------
// call
// ---------------------------------------------------------------------------
static void
pending_free(pending *p)
{
	if (p->timer != NULL) {
		event_free(p->timer);
	}
	arb__free(p);
}

static void
call_timeout(evutil_socket_t fd, short what, void *arg)
{
	pending   *p = arg;
	arb_result r = { .pid = p->to, .status = ARB_ETIMEDOUT };

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__idmap_del(&p->ctx->pending, p->ref);
	p->cb(p->ctx, p->arg, &r);
	pending_free(p);
}

int
arb_call(arb_ctx *ctx, arb_pid to, uint32_t tag, const void *body,
    size_t len, int timeout_ms, arb_call_cb cb, void *arg)
{
	pending       *p;
	struct timeval tv;
	int            rv;

	if (cb == NULL || timeout_ms < 0) {
		return ARB_EINVAL;
	}
	if ((p = arb__alloc(sizeof(*p))) == NULL) {
		return ARB_ENOMEM;
	}
	p->kind  = PEND_CALL;
	p->ctx   = ctx;
	p->cb    = cb;
	p->arg   = arg;
	p->to    = to;
	p->ref   = ctx_new_ref(ctx);
	// Stamped for ctx_peer_lost: it ends a call to another node sent
	// before that node went down, never one sent after its return.
	p->t_us  = arb__pid_local(to) ? 0 : arb__now_us();
	p->timer = evtimer_new(ctx->base, call_timeout, p);
	if (p->timer == NULL) {
		pending_free(p);
		return ARB_ENOMEM;
	}
	if ((rv = arb__idmap_set(&ctx->pending, p->ref, p)) != 0) {
		pending_free(p);
		return rv;
	}
	if ((rv = ctx_request(ctx, to, tag, body, len, p->ref)) != 0) {
		arb__idmap_del(&ctx->pending, p->ref);
		pending_free(p);
		return rv;
	}
	tv.tv_sec  = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	// libevent measures timeouts from the time cached at the start of
	// the loop turn; a call made late in a long turn would expire early.
	event_base_update_cache_time(ctx->base);
	evtimer_add(p->timer, &tv);
	return ARB_OK;
}

static void
result_from_reply(arb_result *r, const arb_msg *reply)
{
	if ((reply->flags & ARB__F_ERROR) != 0) {
		r->status = ARB_EREMOTE;
		if (arb__codec_decode_error(reply->body, reply->len, &r->code,
		        r->text, sizeof(r->text)) != 0) {
			r->code = ARB_EBADMSG;
			snprintf(r->text, sizeof(r->text), "malformed error");
		}
		if ((reply->flags & ARB__F_NOPROC) != 0) {
			// Not delivered: it reached no actor on another node
			// (noproc), or the node's relay had no room for it. As
			// a local call is refused.
			r->status
			    = r->code == ARB_EAGAIN ? ARB_EAGAIN : ARB_ENOENT;
			if (r->status == ARB_ENOENT) {
				r->exit.kind = ARB_EXIT_NOPROC;
			}
		}
	} else {
		r->status = ARB_OK;
		r->reply  = reply;
	}
}

// ---------------------------------------------------------------------------
// gather
// ---------------------------------------------------------------------------
static void
gather_free(gather *g)
{
	size_t i;

	if (g->prev != NULL) {
		g->prev->next = g->next;
	} else if (g->ctx->gathers == g) {
		g->ctx->gathers = g->next;
	}
	if (g->next != NULL) {
		g->next->prev = g->prev;
	}
	for (i = 0; i < g->n; i++) {
		arb_msg_free(g->replies[i]);
	}
	if (g->timer != NULL) {
		event_free(g->timer);
	}
	if (g->finish_ev != NULL) {
		event_free(g->finish_ev);
	}
	arb__free(g->results);
	arb__free(g->replies);
	arb__free(g->refs);
	arb__free(g->mrefs);
	arb__free(g->done);
	arb__free(g);
}

// gather_forget drops request i's entries and its monitor.  A monitor
// that had fired already (the node answers the DEMONITOR ARB_ENOENT: the
// target was gone when it was asked, its node unreachable, or it ended
// after it answered) has its DOWN on the way, or in the mailbox behind
// this turn: its entry stays, as PEND_DOWN_GONE, and dispatch_down
// swallows that DOWN when it comes (Erlang's demonitor(Ref, [flush])) --
// the actor's handle never sees a monitor it did not ask for.  One that
// had not fired is removed, entry and all: nothing stays per gather.
// (A DEMONITOR that could not be asked keeps the entry too: the monitor
// may still fire.)  A DOWN the node never delivers (its actor gone) leaves
// its entry until the actor ends (arb__ctx_free).
static void
gather_forget(gather *g, size_t i)
{
	arb_ctx *ctx = g->ctx;
	pending *p;
	arb__req req = { .op = ARB__REQ_DEMONITOR };

	if ((p = arb__idmap_del(&ctx->pending, g->refs[i])) != NULL) {
		pending_free(p);
	}
	if (g->mrefs[i] != 0) {
		req.self = ctx->self;
		req.ref  = g->mrefs[i];
		p = arb__idmap_get(&ctx->pending, DOWN_KEY(g->mrefs[i]));
		if (ctx->host->request(ctx, &req) == ARB_OK
		    && req.rv == ARB_OK) {
			if (p != NULL) {
				arb__idmap_del(
				    &ctx->pending, DOWN_KEY(g->mrefs[i]));
				pending_free(p);
			}
		} else if (p != NULL) {
			p->kind = PEND_DOWN_GONE;
			p->g = NULL;
		}
		g->mrefs[i] = 0;
	}
}

static void
gather_complete(gather *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (!g->done[i]) {
			g->results[i].status = ARB_ECANCELED;
			g->done[i]           = true;
		}
		gather_forget(g, i);
	}
	g->cb(g->ctx, g->arg, g->results, g->n, g->nerrors);
	gather_free(g);
}

static void
gather_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	gather_complete(arg);
}

static void
gather_timeout(evutil_socket_t fd, short what, void *arg)
{
	gather *g = arg;
	size_t  i;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	for (i = 0; i < g->n; i++) {
		if (!g->done[i]) {
			g->results[i].status = ARB_ETIMEDOUT;
			g->done[i]           = true;
			g->nerrors++;
		}
	}
	g->outstanding = 0;
	gather_complete(g);
}

// gather_settle records result i.  Completion runs at the end of the loop
// turn so that errors arriving in the same batch are reported together.
static void
gather_settle(gather *g, size_t i)
{
	g->done[i] = true;
	g->outstanding--;
	if (g->results[i].status != ARB_OK) {
		g->nerrors++;
	}
	if (g->finishing) {
		return;
	}
	if (g->outstanding == 0 ||
	    (g->mode == ARB_FIRST_EXCEPTION && g->nerrors > 0)) {
		g->finishing = true;
		event_active(g->finish_ev, 0, 0);
	}
}

static int
gather_pending(gather *g, size_t i, uint64_t ref, pend_kind kind)
{
	pending *p;
	int      rv;

	if ((p = arb__alloc(sizeof(*p))) == NULL) {
		return ARB_ENOMEM;
	}
	p->kind = kind;
	p->ref  = ref;
	p->ctx  = g->ctx;
	p->g    = g;
	p->idx  = i;
	if ((rv = arb__idmap_set(&g->ctx->pending, ref, p)) != 0) {
		arb__free(p);
	}
	return rv;
}

int
arb_gather(arb_ctx *ctx, const arb_pid *pids, size_t n, uint32_t tag,
    const void *body, size_t len, int timeout_ms, arb_gather_mode mode,
    arb_gather_cb cb, void *arg)
{
	gather        *g;
	size_t         i;
	struct timeval tv;
	int            rv;
	int            nprio = event_base_get_npriorities(ctx->base);

	if (cb == NULL || timeout_ms < 0 || (n > 0 && pids == NULL) ||
	    (mode != ARB_ALL_COMPLETED && mode != ARB_FIRST_EXCEPTION)) {
		return ARB_EINVAL;
	}
	if ((g = arb__alloc(sizeof(*g))) == NULL) {
		return ARB_ENOMEM;
	}
	g->ctx         = ctx;
	g->cb          = cb;
	g->arg         = arg;
	g->mode        = mode;
	g->n           = n;
	g->outstanding = n;
	g->results     = arb__alloc(sizeof(arb_result) * (n ? n : 1));
	g->replies     = arb__alloc(sizeof(arb_msg *) * (n ? n : 1));
	g->refs        = arb__alloc(sizeof(uint64_t) * (n ? n : 1));
	g->mrefs       = arb__alloc(sizeof(uint64_t) * (n ? n : 1));
	g->done        = arb__alloc(sizeof(bool) * (n ? n : 1));
	g->timer       = evtimer_new(ctx->base, gather_timeout, g);
	g->finish_ev   = event_new(ctx->base, -1, 0, gather_finish_cb, g);
	if (g->results == NULL || g->replies == NULL || g->refs == NULL ||
	    g->mrefs == NULL || g->done == NULL || g->timer == NULL ||
	    g->finish_ev == NULL) {
		gather_free(g);
		return ARB_ENOMEM;
	}
	// Listed until freed: an actor that ends in the middle of a gather
	// frees it with its ctx, whatever entries it still has.
	g->next = ctx->gathers;
	if (g->next != NULL) {
		g->next->prev = g;
	}
	ctx->gathers = g;
	event_priority_set(g->finish_ev, nprio - 1);
	// When it was sent, for a node's DOWN (see arb_call): read only when
	// a target is another node's actor (0: none is, nothing to stamp).
	for (i = 0; i < n; i++) {
		if (!arb__pid_local(pids[i])) {
			g->t_us = arb__now_us();
			break;
		}
	}
	for (i = 0; i < n; i++) {
		arb__req req = { .op = ARB__REQ_MONITOR };

		g->results[i].pid = pids[i];
		g->refs[i]        = ctx_new_ref(ctx);
		if ((rv = gather_pending(g, i, g->refs[i], PEND_GATHER))
		    != 0) {
			goto fail;
		}
		// Monitor the target so that a crash is reported with its
		// reason instead of a timeout.
		req.self   = ctx->self;
		req.target = pids[i];
		if (ctx->host->request(ctx, &req) == ARB_OK &&
		    req.rv == ARB_OK) {
			g->mrefs[i] = req.ref;
			if ((rv = gather_pending(g, i, DOWN_KEY(req.ref),
			         PEND_GATHER_DOWN)) != 0) {
				goto fail;
			}
		}
	}
	// Send only after every pending entry exists, so a failure above
	// leaves nothing in flight.
	for (i = 0; i < n; i++) {
		rv = ctx_request(ctx, pids[i], tag, body, len, g->refs[i]);
		if (rv != 0 && !g->done[i]) {
			g->results[i].status = rv;
			gather_settle(g, i);
		}
	}
	if (n == 0) {
		g->finishing = true;
		event_active(g->finish_ev, 0, 0);
	}
	tv.tv_sec  = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	event_base_update_cache_time(ctx->base); // see arb_call
	evtimer_add(g->timer, &tv);
	return ARB_OK;
fail:
	for (i = 0; i < n; i++) {
		gather_forget(g, i);
	}
	gather_free(g);
	return rv;
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------
// pid_node is the node of p, 0 standing for this node.
static uint32_t
pid_node(arb_pid p)
{
	return p.node != 0 ? p.node : arb__local.node;
}

// reply_from_target is true when a reply from `from` may answer a
// request sent to `to`.  Replies are matched by ref, and a ref can be
// guessed (not from 1: ctx_new_ref) or seen; a peer that holds the cookie may
// send from its own pids only (forged.c), so what must be checked here
// is that the answer comes from where the request went, as a local
// caller's does.  Every honest answer does: the actor's arb_reply and
// arb_reply_error come from its own pid (an incarnation of the slot
// asked, or of the same slot when an ended or later incarnation answers
// noproc: ctx_noproc), and the node's and transport's answers (noproc,
// not sent, the relay's, an ambiguous name) from the pid the request was
// sent to, this node's running incarnation for an earlier one's
// (names.c, outq.c, route.c).  So: the same node (its name hash: an
// incarnation that answers for an earlier one is the same node), and
// for an actor's pid the same child slot; for a name address (name@node)
// any pid of the node named, which resolves the name when it arrives.
static bool
reply_from_target(arb_pid to, arb_pid from)
{
	if (pid_node(to) != pid_node(from)) {
		return false;
	}
	return arb__pid_is_name(to) || (to.id >> 32) == (from.id >> 32);
}

// reply_refused drops a reply whose ref names a call or gather request
// of this actor but which comes from elsewhere (reply_from_target): a
// dead letter of this actor, logged at most once a second
// (suppressed=N: how many since the last line).  The request goes on
// waiting for its answer or its timeout.
static void
reply_refused(arb_ctx *ctx, const arb_msg *m, arb_pid to)
{
	int64_t now = arb__now_ms();

	ctx->st->dead_letters++;
	if (ctx->refused_log_ms != 0 && now - ctx->refused_log_ms < 1000) {
		ctx->refused_suppressed++;
		return;
	}
	ctx->refused_log_ms = now;
	arb__log(ARB_LOG_WARN, ctx->path,
	    "event=reply_refused why=\"not from the pid asked\" "
	    "from=[%llu,%u,%u] to=[%llu,%u,%u] ref=%llu tag=0x%08x "
	    "dead_letters=%llu suppressed=%llu",
	    (unsigned long long) m->from.id, (unsigned) m->from.node,
	    (unsigned) m->from.creation, (unsigned long long) to.id,
	    (unsigned) to.node, (unsigned) to.creation,
	    (unsigned long long) m->ref, (unsigned) m->tag,
	    (unsigned long long) ctx->st->dead_letters,
	    (unsigned long long) ctx->refused_suppressed);
	ctx->refused_suppressed = 0;
}

static void
dispatch_reply(arb_ctx *ctx, const arb_msg *m)
{
	pending   *p = arb__idmap_get(&ctx->pending, m->ref);
	arb_result r = { 0 };
	arb_pid    to;

	if (p == NULL || p->kind == PEND_GATHER_DOWN
	    || p->kind == PEND_DOWN_GONE) {
		ctx->st->late_replies++; // timed out or cancelled
		return;
	}
	to = p->kind == PEND_CALL ? p->to : p->g->results[p->idx].pid;
	if (!reply_from_target(to, m->from)) {
		reply_refused(ctx, m, to);
		return;
	}
	arb__idmap_del(&ctx->pending, m->ref);
	if (p->kind == PEND_CALL) {
		r.pid = p->to;
		result_from_reply(&r, m);
		p->cb(ctx, p->arg, &r);
		pending_free(p);
		return;
	}
	// PEND_GATHER
	{
		gather *g = p->g;
		size_t  i = p->idx;

		pending_free(p);
		if (g->done[i]) {
			ctx->st->late_replies++;
			return;
		}
		result_from_reply(&g->results[i], m);
		if (g->results[i].status == ARB_OK) {
			if (arb_msg_dup(&g->replies[i], m) == ARB_OK) {
				g->results[i].reply = g->replies[i];
			} else {
				g->results[i].status = ARB_ENOMEM;
				g->results[i].reply  = NULL;
			}
		}
		gather_settle(g, i);
	}
}

static bool
dispatch_down(arb_ctx *ctx, const arb_msg *m)
{
	pending *p = arb__idmap_get(&ctx->pending, DOWN_KEY(m->ref));
	gather  *g;
	size_t   i;
	arb_pid  who;

	if (p == NULL
	    || (p->kind != PEND_GATHER_DOWN && p->kind != PEND_DOWN_GONE)) {
		return false;
	}
	arb__idmap_del(&ctx->pending, DOWN_KEY(m->ref));
	if (p->kind == PEND_DOWN_GONE) {
		pending_free(p); // its gather ended: see gather_forget
		return true;
	}
	g = p->g;
	i = p->idx;
	pending_free(p);
	g->mrefs[i] = 0; // the node dropped the monitor when it fired
	if (g->done[i]) {
		return true;
	}
	g->results[i].status = ARB_EEXITED;
	if (arb__codec_decode_exit(m->body, m->len, &who,
	        &g->results[i].exit) != ARB_OK) {
		g->results[i].exit.kind = ARB_EXIT_NOPROC;
	}
	if ((g->results[i].exit.kind == ARB_EXIT_NOPROC
	        || g->results[i].exit.kind == ARB_EXIT_NOCONNECTION)
	    && !arb__pid_local(g->results[i].pid)) {
		// Another node's actor not there when the monitor reached
		// it: what its node answers the request too (ARB__F_NOPROC);
		// its node lost: what ctx_peer_lost gives -- whichever of
		// the two comes first.
		g->results[i].status = ARB_ENOENT;
	}
	snprintf(g->results[i].text, sizeof(g->results[i].text), "%s",
	    g->results[i].exit.text);
	gather_settle(g, i);
	return true;
}

// peer_lost_walk counts, or collects (at most PEER_LOST_BATCH at a
// time), the refs of the calls and gather requests that ctx_peer_lost
// ends: the map must not change while it is walked.  On the stack: the
// notice needs no memory, so it cannot fail for want of it.
#define PEER_LOST_BATCH 32

typedef struct peer_lost_walk {
	uint32_t node;
	uint32_t creation; // the lost incarnation (0: not known)
	int64_t  cut_us;   // sent at or before: sent to the lost one
	uint64_t refs[PEER_LOST_BATCH];
	size_t   n;    // collected in refs
	size_t   hits; // every one the walk saw
} peer_lost_walk;

static bool
peer_lost_hit(const peer_lost_walk *w, arb_pid to, int64_t t_us)
{
	// An exact pid names one incarnation of its node: a newer one's is
	// not lost.  A name address (creation 0) reaches whichever runs:
	// the time tells (a call sent after the node's return is sent
	// after the cut, stamped when the node counted the DOWN).
	return !arb__pid_local(to) && to.node == w->node && t_us <= w->cut_us
	    && (to.creation == 0 || w->creation == 0
	        || to.creation == w->creation);
}

static void
peer_lost_cb(uint64_t key, void *val, void *arg)
{
	peer_lost_walk *w = arg;
	pending        *p = val;

	if ((p->kind == PEND_CALL && peer_lost_hit(w, p->to, p->t_us))
	    || (p->kind == PEND_GATHER && !p->g->done[p->idx]
	        && peer_lost_hit(w, p->g->results[p->idx].pid, p->g->t_us))) {
		if (w->n < PEER_LOST_BATCH) {
			w->refs[w->n++] = key;
		}
		w->hits++;
	}
}

// peer_lost_end ends the calls and gather requests whose refs w
// collected, with why.
static void
peer_lost_end(arb_ctx *ctx, const peer_lost_walk *w, const arb_exit *why)
{
	arb_result r;
	pending   *p;
	size_t     i;

	for (i = 0; i < w->n; i++) {
		// Looked up again: a callback may have changed the map.
		if ((p = arb__idmap_get(&ctx->pending, w->refs[i])) == NULL) {
			continue;
		}
		if (p->kind == PEND_CALL) {
			arb__idmap_del(&ctx->pending, w->refs[i]);
			memset(&r, 0, sizeof(r));
			r.pid    = p->to;
			r.status = ARB_ENOENT;
			r.exit   = *why;
			snprintf(r.text, sizeof(r.text), "%s", why->text);
			p->cb(ctx, p->arg, &r);
			pending_free(p);
		} else if (p->kind == PEND_GATHER && !p->g->done[p->idx]) {
			// Its entry stays until the gather completes: a reply
			// after all is counted late (dispatch_reply).
			arb_result *gr = &p->g->results[p->idx];

			gr->status = ARB_ENOENT;
			gr->exit   = *why;
			snprintf(gr->text, sizeof(gr->text), "%s", why->text);
			gather_settle(p->g, p->idx);
		}
	}
}

// ctx_peer_lost reads the node's notice that a peer node is down
// (ARB__TAG_PEER_LOST, node.c): every call and gather request this actor
// still waits on there ends now with ARB_ENOENT, exit noconnection, as
// Erlang's gen_server:call to a node that goes down fails at once; a
// reply that comes after all (a request kept for the node's next link)
// is a late reply, dropped and counted.  Calls to other nodes and those
// sent after the node's return are untouched.  The pending map is walked
// once to count them, then again for each PEER_LOST_BATCH of them (one
// walk when there are fewer): an entry ended is no longer a hit (a call
// is removed, a gather's entry done), and the count bounds the work
// whatever a callback does to the map.
static void
ctx_peer_lost(arb_ctx *ctx, const arb_msg *m)
{
	peer_lost_walk w = { .cut_us = (int64_t) m->ref };
	arb_pid        lost;
	arb_exit       why;
	size_t         left;

	if (arb__codec_decode_exit(m->body, m->len, &lost, &why) != ARB_OK
	    || arb__pid_local(lost) || ctx->pending.count == 0) {
		return;
	}
	w.node     = lost.node;
	w.creation = lost.creation;
	arb__idmap_each(&ctx->pending, peer_lost_cb, &w);
	for (left = w.hits; left > 0 && w.n > 0;) {
		peer_lost_end(ctx, &w, &why);
		left -= w.n < left ? w.n : left;
		w.n = w.hits = 0;
		if (left > 0) {
			arb__idmap_each(&ctx->pending, peer_lost_cb, &w);
		}
	}
}

// ctx_noproc answers a request that reached an ended incarnation (see
// ctx_batch); nothing for other envelopes.
static void
ctx_noproc(arb_ctx *ctx, const arb_msg *req)
{
	arb__buf b = { 0 };
	arb_msg  ans;

	if (arb__codec_noproc(req, ARB_ENOENT,
	        "noproc: that incarnation has ended", &b, &ans)) {
		ctx_push(ctx, &ans); // not sent: the caller gets its timeout
	}
	arb__buf_fini(&b);
}

static void
ctx_batch(void *arg, const void *data, size_t len)
{
	arb_ctx     *ctx = arg;
	arb__decoder d;
	arb_msg      m;
	int          rv;

	arb__decoder_init(&d, data, len, ctx->max_msg);
	while ((rv = arb__codec_next(&d, &m)) == ARB_OK) {
		if (m.tag == ARB__TAG_PEER_LOST && arb__pid_local(m.from)
		    && arb__pid_kind(m.from) == ARB__KIND_NODE) {
			// The node's notice, whichever incarnation it was
			// addressed to (its calls' stamps tell): no message
			// of the actor's, never counted.
			if (!ctx->exiting) {
				ctx_peer_lost(ctx, &m);
			}
			continue;
		}
		if (ctx->exiting) {
			// The rest of a batch taken before the actor ended:
			// nothing will read it (a next incarnation reads the
			// mailbox, not this batch), so a request is answered
			// noproc, from this incarnation (its thread lingers
			// for its last words).
			ctx->st->dead_letters++;
			ctx_noproc(ctx, &m);
			continue;
		}
		if (!arb__pid_local(m.to)
		    || (!arb_pid_is_slot(m.to)
		        && !arb_pid_eq(m.to, ctx->self))) {
			// Sent to an earlier incarnation of this slot, or of
			// this node (from another node): never handed to its
			// successor (docs/api/core.md, Pids).  A request is
			// answered noproc at once: its caller (another node's,
			// whose send could not know) gets ARB_ENOENT, not its
			// timeout.
			ctx->st->dead_letters++;
			ctx->st->stale++;
			ctx_noproc(ctx, &m);
			continue;
		}
		ctx->st->msgs_in++;
		if ((m.flags & ARB__F_REPLY) != 0) {
			dispatch_reply(ctx, &m);
		} else if (m.tag == ARB_TAG_DOWN && dispatch_down(ctx, &m)) {
			continue;
		} else if (ctx->ops->handle != NULL) {
			ctx->ops->handle(ctx, ctx->state, &m);
		}
	}
	ctx->st->batches_in++;
	// An empty nng message holds no envelope: arbor never sends one
	// (the outbound queue skips empty batches), so it is malformed.
	if (len == 0 || rv != ARB_ENOENT || d.failed) {
		// A batch cannot be resynchronised: what follows the bad
		// envelope is lost with it, counted once.
		ctx->st->rejected++;
		arb__log(ARB_LOG_WARN, ctx->path,
		    "event=rejected_frame error=%s batch_bytes=%zu",
		    arb_err_name(rv == ARB_ENOENT ? ARB_EBADMSG : rv), len);
	}
}

static void
ctx_drained(void *arg)
{
	arb_ctx *ctx = arg;

	arb__outq_flush(ctx->outq);
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------
static void
ctx_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	arb_ctx *ctx = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	if (ctx->host->heartbeat != NULL) {
		ctx->host->heartbeat(ctx);
	}
	arb__heap_trim(arb__now_ms()); // between batches: a quiet moment
}

int
arb__ctx_open(arb_ctx **ctxp, const arb_actor_ops *ops,
    const arb__host_ops *host, void *host_arg, arb_pid self,
    const char *path, const arb__addr *addr, size_t max_msg, int hb_ms,
    struct event_base *base, arb__outq *outq)
{
	arb_ctx *ctx;
	int      rv;

	if ((ctx = arb__alloc(sizeof(*ctx))) == NULL) {
		return ARB_ENOMEM;
	}
	ctx->ops      = ops;
	ctx->host     = host;
	ctx->host_arg = host_arg;
	ctx->self     = self;
	ctx->next_ref = arb__random() & ARB__CALL_REF_MAX; // ctx_new_ref
	ctx->addr     = *addr;
	ctx->max_msg  = max_msg;
	ctx->hb_ms    = hb_ms;
	snprintf(ctx->path, sizeof(ctx->path), "%s", path);
	if (base != NULL) {
		// A loop and queue kept by the host from an earlier
		// incarnation (thread actors): they stay the host's.
		ctx->base = base;
		ctx->outq = outq;
	} else {
		ctx->own_loop = true;
		if ((ctx->base = arb__loop_new()) == NULL) {
			arb__free(ctx);
			return ARB_ENOMEM;
		}
		rv = arb__outq_open(&ctx->outq, ctx->base, max_msg);
		if (rv != 0) {
			arb__ctx_free(ctx);
			return rv;
		}
	}
	ctx->st = &ctx->stats;
	if (!addr->in_node && ctx->own_loop) {
		// A process actor: its counters, its losses and its mailbox's
		// queue live in its slot's record, which the node reads after
		// the process has ended, whatever ended it.
		arb__slot_rec *r = arb__slot_rec_get(arb__pid_mbid(self));

		if (r != NULL) {
			ctx->st = &r->stats;
			arb__outq_set_origin(ctx->outq, &r->origin);
		}
	}
	ctx->lost0 = atomic_load(&arb__outq_origin(ctx->outq)->lost);
	ctx->dead0 = atomic_load(&arb__outq_origin(ctx->outq)->dead);
	if ((rv = arb__mbox_open(&ctx->mbox, arb__pid_mbid(self))) != 0) {
		arb__ctx_free(ctx);
		return rv;
	}
	if (ctx->st != &ctx->stats) {
		arb__mbox_publish(ctx->mbox,
		    &arb__slot_rec_get(arb__pid_mbid(self))->queued);
	}
	if ((rv = arb__mbox_attach(ctx->mbox, ctx->base, ctx_batch,
	         ctx_drained, ctx, &ctx->mbox_att)) != 0) {
		arb__mbox_rele(ctx->mbox);
		ctx->mbox = NULL;
		arb__ctx_free(ctx);
		return rv;
	}
	if (hb_ms > 0) {
		struct timeval tv = { hb_ms / 1000, (hb_ms % 1000) * 1000 };

		ctx->hb_ev = event_new(
		    ctx->base, -1, EV_PERSIST, ctx_heartbeat, ctx);
		if (ctx->hb_ev == NULL || event_add(ctx->hb_ev, &tv) != 0) {
			arb__ctx_free(ctx);
			return ARB_ENOMEM;
		}
	}
	*ctxp = ctx;
	return ARB_OK;
}

static void
pending_cancel(uint64_t key, void *val, void *arg)
{
	pending *p = val;

	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	// Gathers own several entries, any of which may be gone already
	// (an answered request's, a fired monitor's) -- all of them when
	// the gather waits for its end of turn: they are freed from
	// ctx->gathers instead (arb__ctx_free).
	pending_free(p);
}

void
arb__ctx_free(arb_ctx *ctx)
{
	if (ctx == NULL) {
		return;
	}
	// Calls and gathers still in flight die with the actor: their
	// callbacks would run on a loop that no longer exists.
	arb__idmap_each(&ctx->pending, pending_cancel, NULL);
	arb__idmap_fini(&ctx->pending);
	while (ctx->gathers != NULL) {
		gather_free(ctx->gathers);
	}
	arb__metrics_free(ctx->metrics);
	arb__topics_free(ctx->topics);
	if (ctx->hb_ev != NULL) {
		event_free(ctx->hb_ev);
	}
	if (ctx->cmd_ev != NULL) {
		event_free(ctx->cmd_ev);
	}
	arb__ctx_release_mailbox(ctx);
	if (ctx->own_loop) {
		arb__outq_close(ctx->outq);
		arb__loop_free(ctx->base);
	}
	arb__free(ctx);
}

void
arb__ctx_take_mailbox(arb_ctx *ctx)
{
	arb__mbox_detach(ctx->mbox_att);
	ctx->mbox_att = NULL;
	arb__mbox_rele(ctx->mbox);
	ctx->mbox = NULL;
}

void
arb__ctx_release_mailbox(arb_ctx *ctx)
{
	if (ctx->mbox != NULL) {
		arb__mbox_detach(ctx->mbox_att);
		ctx->mbox_att = NULL;
		ctx->st->dead_letters += arb__mbox_drop(ctx->mbox);
		arb__mbox_rele(ctx->mbox);
		ctx->mbox = NULL;
	}
}

// ctx_answer_queued empties an exiting actor's mailbox through ctx_batch:
// every envelope a dead letter, every request answered noproc.
static void
ctx_answer_queued(arb_ctx *ctx)
{
	arb__chunk *ch = arb__mbox_take(ctx->mbox, false), *next;

	for (; ch != NULL; ch = next) {
		next = ch->next;
		ctx_batch(ctx, ch->data, ch->len);
		arb__chunk_free(ch);
	}
}

void
arb__ctx_run(arb_ctx *ctx, const void *arg, size_t arg_len)
{
	int  rv;
	char text[ARB_EXIT_TEXT_MAX];

	rv             = ctx->ops->init(ctx, &ctx->state, arg, arg_len);
	ctx->init_done = true;
	if (rv == ARB_EIGNORE) {
		ctx->host->ignore(ctx);
		return;
	}
	if (rv != ARB_OK && rv != ARB_EPENDING) {
		if (rv == ARB_EINVAL && ctx->init_text[0] != '\0') {
			snprintf(text, sizeof(text), "%s", ctx->init_text);
		} else {
			snprintf(text, sizeof(text), "init: %s",
			    arb_strerror(rv));
		}
		ctx->host->init_failed(ctx, rv, text);
		return;
	}
	if (ctx->exiting) {
		// init called arb_exit: report it as a start failure.
		arb_exit_format(&ctx->why, text, sizeof(text));
		ctx->host->init_failed(ctx, ARB_ECHILD, text);
		if (ctx->ops->terminate != NULL) {
			ctx->ops->terminate(ctx, ctx->state, &ctx->why);
		}
		return;
	}
	if (rv == ARB_OK) {
		arb_ready(ctx);
	}
	while (!ctx->exiting) {
		if (event_base_loop(ctx->base, 0) != 0 && !ctx->exiting) {
			arb_actor_exit_error(
			    ctx, ARB_ESTATE, "event loop failed");
		}
	}
	arb__mbox_pause(ctx->mbox_att);
	if (ctx->ops->terminate != NULL) {
		ctx->ops->terminate(ctx, ctx->state, &ctx->why);
	}
	if (!ctx->addr.in_node && ctx->mbox != NULL) {
		// A process actor's mailbox dies with its process: what
		// waits there is never read (a next incarnation has a
		// mailbox of its own), so each request in it is answered
		// noproc now, with the last words (ctx_batch, exiting).
		ctx_answer_queued(ctx);
	}
	arb__outq_flush(ctx->outq);
	// The host lingers until the last words (a reply, a report) are out
	// (arb__outq_linger): a process before it reports, a thread after,
	// off the restart path.
	ctx->host->exited(ctx, &ctx->why);
}
