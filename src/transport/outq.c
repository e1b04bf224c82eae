// SPDX-License-Identifier: MIT
// outq.c -- an actor's outbound queue: one batch per destination, handed
// on at the end of the loop turn.
//
// arb_send encodes the envelope at once into the batch (a chunk) being
// filled for its destination, so the caller's message can be freed or
// reused.  When the turn ends (the flush event has the loop's lowest
// priority, so libevent runs it only when nothing else is active), and
// right after each mailbox drain, every batch goes to its endpoint:
// a mailbox of this process or a link (route.c).  A batch that reaches
// ARB__OUTQ_BATCH_FLUSH bytes is handed on at once.  A refused batch
// (full mailbox, full or paused link) stays here; the endpoint wakes the
// flush event when it may take it, and arb_send gives ARB_EAGAIN once a
// destination's backlog reaches ARB__OUTQ_BACKLOG_MAX (a node's notice,
// arb__outq_notice, goes past it).  Thread: the owning loop.

#include "transport.h"

#include <event2/event.h>
#include <poll.h>

#define OUTQ_CHUNK_MIN 512 // first allocation of a batch

typedef struct outq_peer {
	uint32_t           mbid;
	const arb__tp_ops *ops;
	void              *ep;
	arb__chunk        *fill; // the batch being filled
	arb__chunk        *head; // full batches waiting, in order
	arb__chunk        *tail;
	size_t             bytes;
	size_t             hint; // recent batch size: a new batch's capacity
	struct outq_peer  *next_dirty;
	bool               dirty;
	bool               waiting; // registered as a waiter at ep
} outq_peer;

struct arb__outq {
	struct event_base *base;
	struct event      *flush_ev; // end of the turn (lowest priority)
	struct event      *wake_ev;  // an endpoint may take more: the waiter
	                             // (default priority: a sender whose loop
	                             // never idles must still hear it)
	arb__idmap   peers;          // mbid + 1 -> outq_peer
	outq_peer   *dirty;
	size_t       max_msg;
	size_t       backlog;
	uint64_t     batches;
	arb__origin *origin;
	void (*on_flush)(void *arg); // arb__outq_on_flush (NULL: none)
	void *on_flush_arg;
};

static void outq_flush_cb(evutil_socket_t fd, short what, void *arg);

int
arb__outq_open(arb__outq **qp, struct event_base *base, size_t max_msg)
{
	arb__outq *q;

	if ((q = arb__alloc(sizeof(*q))) == NULL) {
		return ARB_ENOMEM;
	}
	q->base = base;
	q->max_msg = max_msg;
	q->origin = arb__origin_new();
	q->flush_ev = event_new(base, -1, 0, outq_flush_cb, q);
	q->wake_ev = event_new(base, -1, 0, outq_flush_cb, q);
	if (q->flush_ev == NULL || q->wake_ev == NULL || q->origin == NULL) {
		arb__outq_close(q);
		return ARB_ENOMEM;
	}
	// The loop has 3 priorities (loop.c): 1 is the default, 2 runs only
	// when nothing else is active, i.e. at the end of a turn.
	event_priority_set(q->flush_ev, event_base_get_npriorities(base) - 1);
	*qp = q;
	return ARB_OK;
}

// peer_answer answers each request in the batches list, which its
// destination will never take (a removed actor's mailbox, a sealed one,
// a link gone for good), and frees the list counting every envelope a
// dead letter, as before.  The answer is the one a local call to it
// gets: ARB_ENOENT, exit noproc (a noproc reply, ARB__F_NOPROC), pushed
// on this queue to the caller, from the pid the request was sent to.
// Without it the caller waited for its whole timeout.
static void
peer_answer(arb__outq *q, arb__chunk *list)
{
	arb__chunk  *ch, *next;
	arb__decoder d;
	arb_msg      m, ans;
	arb__buf     b = { 0 };

	for (ch = list; ch != NULL; ch = next) {
		next = ch->next;
		arb__decoder_init(&d, ch->data, ch->len, q->max_msg);
		while (arb__codec_next(&d, &m) == ARB_OK) {
			arb__buf_reset(&b);
			if (arb__codec_noproc(&m, ARB_ENOENT,
			        "noproc: no actor runs there", &b, &ans)) {
				ans.from = m.to;
				// Refused (the caller gone, its queue full):
				// the caller gets its timeout.
				(void) arb__outq_push(q, &ans);
			}
		}
		arb__chunk_drop(ch, arb__tp_counters());
	}
	arb__buf_fini(&b);
}

// peer_take takes everything a peer still holds (a list by next, in
// order) and clears its backlog.
static arb__chunk *
peer_take(outq_peer *p, arb__outq *q)
{
	arb__chunk *ch, *list;

	if (p->fill != NULL) {
		p->fill->next = NULL;
		if (p->tail != NULL) {
			p->tail->next = p->fill;
		} else {
			p->head = p->fill;
		}
		p->fill = NULL;
	}
	list = p->head;
	for (ch = list; ch != NULL; ch = ch->next) {
		q->backlog -= ch->len;
	}
	p->head = p->tail = NULL;
	p->bytes = 0;
	return list;
}

// peer_drop counts everything a peer still holds as dead letters.
static void
peer_drop(outq_peer *p, arb__outq *q)
{
	arb__chunk *ch, *next;

	for (ch = peer_take(p, q); ch != NULL; ch = next) {
		next = ch->next;
		arb__chunk_drop(ch, arb__tp_counters());
	}
}

// peer_send hands p's batches on, in order.  Returns false when the
// endpoint refused one (it stays; the flush event will be woken).
static bool
peer_send(arb__outq *q, outq_peer *p)
{
	arb__chunk *ch;
	size_t      len;
	int         rv;

	if (p->fill != NULL) {
		p->fill->next = NULL;
		if (p->tail != NULL) {
			p->tail->next = p->fill;
		} else {
			p->head = p->fill;
		}
		p->tail = p->fill;
		p->fill = NULL;
	}
	while ((ch = p->head) != NULL) {
		uint32_t     nenv = ch->nenv;
		arb__origin *o = ch->origin;

		len = ch->len;
		p->head = ch->next;
		p->waiting = false;
		if ((rv = p->ops->put(p->ep, ch, q->wake_ev)) != ARB_OK) {
			p->head = ch; // still ours
			if (rv == ARB_EAGAIN) {
				p->waiting = true;
				return false;
			}
			// The destination is gone for good: its requests
			// are answered here (they may add to this queue).
			peer_answer(q, peer_take(p, q));
			return true;
		}
		if (p->head == NULL) {
			p->tail = NULL;
		}
		if (p->ops->settles) {
			arb__origin_settle(o, nenv); // in a mailbox: delivered
		}
		p->bytes -= len;
		q->backlog -= len;
		q->batches++;
		p->hint = len > p->hint ? len : p->hint / 2 + len / 2;
	}
	return true;
}

void
arb__outq_flush(arb__outq *q)
{
	outq_peer *p, *next, *list = q->dirty;

	// The list is taken first: a peer made dirty meanwhile (a noproc
	// answer, peer_answer) joins q->dirty, its flush event active.
	q->dirty = NULL;
	for (p = list; p != NULL; p = next) {
		next = p->next_dirty;
		if (peer_send(q, p)) {
			p->dirty = false;
			p->next_dirty = NULL;
		} else {
			p->next_dirty = q->dirty;
			q->dirty = p;
		}
	}
}

static void
outq_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__outq *q = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__outq_flush(q);
	if (q->on_flush != NULL) {
		q->on_flush(q->on_flush_arg);
	}
}

void
arb__outq_on_flush(arb__outq *q, void (*cb)(void *arg), void *arg)
{
	q->on_flush = cb;
	q->on_flush_arg = arg;
}

static outq_peer *
outq_peer_get(arb__outq *q, arb_pid to, int *rvp)
{
	outq_peer *p;
	uint32_t   mbid = arb__pid_mbid(to);
	// A mailbox of another node is keyed by its node too (bit 63 set;
	// mailbox ids have 30 bits): its batches go on that peer's link.
	uint64_t key = arb__pid_local(to)
	    ? (uint64_t) mbid + 1
	    : (1ull << 63) | ((uint64_t) to.node << 30) | mbid;
	int rv;

	if ((p = arb__idmap_get(&q->peers, key)) != NULL) {
		return p;
	}
	if ((p = arb__alloc(sizeof(*p))) == NULL) {
		*rvp = ARB_ENOMEM;
		return NULL;
	}
	p->mbid = arb__route_dst(to);
	if ((rv = arb__route(to, &p->ops, &p->ep)) != 0) {
		arb__free(p);
		*rvp = rv;
		return NULL;
	}
	if ((rv = arb__idmap_set(&q->peers, key, p)) != 0) {
		p->ops->rele(p->ep);
		arb__free(p);
		*rvp = rv;
		return NULL;
	}
	return p;
}

// outq_push: arb__outq_push, or with notice arb__outq_notice, which
// no backlog refuses.
static int
outq_push(arb__outq *q, const arb_msg *m, bool notice)
{
	outq_peer  *p;
	arb__chunk *ch;
	size_t      need, n;
	int         rv = ARB_OK;

	if (m->len > q->max_msg) {
		return ARB_EMSGSIZE;
	}
	if ((rv = arb__slot_check(m->to)) != 0) {
		return rv; // never existed, removed, or a stale incarnation
	}
	if ((p = outq_peer_get(q, m->to, &rv)) == NULL) {
		return rv;
	}
	if (p->bytes >= ARB__OUTQ_BACKLOG_MAX && !notice) {
		return ARB_EAGAIN;
	}
	need = arb__codec_size(m);
	if ((ch = p->fill) != NULL && ch->len > 0
	    && ch->len + need > ARB__OUTQ_BATCH_FLUSH) {
		// This one would overflow the batch: the batch is complete.
		peer_send(q, p);
		ch = NULL;
	}
	if (ch == NULL) {
		size_t cap = need > OUTQ_CHUNK_MIN ? need : OUTQ_CHUNK_MIN;

		if (cap < p->hint) {
			cap = p->hint < ARB__OUTQ_BATCH_FLUSH
			    ? p->hint
			    : ARB__OUTQ_BATCH_FLUSH;
			// never below the message itself (one over 64 KiB
			// after a bigger batch overflowed the cut hint)
			cap = cap < need ? need : cap;
		}

		if ((ch = arb__chunk_alloc(cap)) == NULL) {
			return ARB_ENOMEM;
		}
		ch->dst = p->mbid;
		arb__origin_ref(q->origin);
		ch->origin = q->origin;
		p->fill = ch;
	} else if (arb__chunk_grow(&p->fill, need) != 0) {
		return ARB_ENOMEM;
	}
	ch = p->fill;
	n = arb__codec_put(ch->data + ch->len, m);
	ch->len += n;
	ch->nenv++;
	atomic_fetch_add_explicit(
	    &q->origin->pending, 1, memory_order_relaxed);
	p->bytes += n;
	q->backlog += n;
	if (!p->dirty) {
		p->dirty = true;
		p->next_dirty = q->dirty;
		q->dirty = p;
		event_active(q->flush_ev, 0, 0);
	}
	if (ch->len >= ARB__OUTQ_BATCH_FLUSH) {
		// A big turn: do not wait for its end.
		peer_send(q, p);
	}
	return ARB_OK;
}

int
arb__outq_push(arb__outq *q, const arb_msg *m)
{
	return outq_push(q, m, false);
}

int
arb__outq_notice(arb__outq *q, const arb_msg *m)
{
	return outq_push(q, m, true);
}

size_t
arb__outq_backlog(const arb__outq *q)
{
	return q->backlog;
}

uint64_t
arb__outq_batches(const arb__outq *q)
{
	return q->batches;
}

arb__origin *
arb__outq_origin(const arb__outq *q)
{
	return q->origin;
}

void
arb__outq_set_origin(arb__outq *q, arb__origin *o)
{
	arb__origin_ref(o);
	arb__origin_rele(q->origin);
	q->origin = o;
}

bool
arb__outq_idle(const arb__outq *q)
{
	return q->dirty == NULL && q->backlog == 0;
}

bool
arb__outq_owns(const struct event *ev)
{
	return event_get_callback(ev) == outq_flush_cb;
}

void
arb__outq_linger(arb__outq *q, int ms)
{
	int64_t deadline = arb__now_ms() + ms;

	if (q == NULL) {
		return;
	}
	// Endpoints wake a refused queue through its flush event, but this
	// loop is not running any more: poll instead, briefly.
	for (;;) {
		arb__outq_flush(q);
		if (q->backlog == 0 || arb__now_ms() >= deadline) {
			break;
		}
		poll(NULL, 0, 1);
	}
}

static void
outq_peer_free(uint64_t key, void *val, void *arg)
{
	outq_peer  *p = val;
	arb__outq  *q = arg;
	arb__chunk *ch;

	ARB_UNUSED(key);
	if (p->waiting) {
		p->ops->unwait(p->ep, q->wake_ev);
	}
	// The queue closes after its actor's last count was taken: what it
	// still holds is counted in the process's own dead letters.
	if (p->fill != NULL) {
		arb__origin_settle(p->fill->origin, p->fill->nenv);
		arb__origin_rele(p->fill->origin);
		p->fill->origin = NULL;
	}
	for (ch = p->head; ch != NULL; ch = ch->next) {
		arb__origin_settle(ch->origin, ch->nenv);
		arb__origin_rele(ch->origin);
		ch->origin = NULL;
	}
	peer_drop(p, q);
	p->ops->rele(p->ep);
	arb__free(p);
}

void
arb__outq_close(arb__outq *q)
{
	if (q == NULL) {
		return;
	}
	if (q->flush_ev != NULL && q->wake_ev != NULL) {
		arb__outq_flush(q);
		arb__idmap_each(&q->peers, outq_peer_free, q);
	}
	if (q->flush_ev != NULL) {
		event_free(q->flush_ev);
	}
	if (q->wake_ev != NULL) {
		event_free(q->wake_ev);
	}
	arb__idmap_fini(&q->peers);
	arb__origin_rele(q->origin);
	arb__free(q);
}
