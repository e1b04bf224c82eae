// SPDX-License-Identifier: MIT
// tp_nng.c -- mailboxes and batching outbound queues over nng.
//
// The one file that includes <nng/nng.h> (with arb__err_from_nng).  Every
// object here belongs to one actor loop and runs on its thread: nng's
// own threads never call into arbor (we use NNG_OPT_RECVFD, not aio
// callbacks), so no lock is needed.

#include "transport.h"

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int
arb__err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return ARB_OK;
	case NNG_ENOMEM:
		return ARB_ENOMEM;
	case NNG_EAGAIN:
		return ARB_EAGAIN;
	case NNG_ETIMEDOUT:
		return ARB_ETIMEDOUT;
	case NNG_ECLOSED:
		return ARB_ECLOSED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return ARB_EINVAL;
	case NNG_EMSGSIZE:
		return ARB_EMSGSIZE;
	case NNG_ENOENT:
	case NNG_ECONNREFUSED:
		return ARB_ENOENT;
	case NNG_EPERM:
		return ARB_EPERM;
	case NNG_EADDRINUSE:
		return ARB_EEXIST;
	default:
		if (rv & NNG_ESYSERR) {
			return ARB_ESYSERR | (rv & ~NNG_ESYSERR);
		}
		return ARB_EINVAL;
	}
}

void
arb__transport_warm(void)
{
	nng_socket s;

	// nng starts its threads with its first socket.
	if (nng_pull0_open(&s) == 0) {
		nng_close(s);
	}
}

void
arb__addr_url(
    const arb__addr *a, arb_pid pid, bool inproc, char *buf, size_t len)
{
	if (inproc) {
		snprintf(buf, len, "inproc://arb-%s-%u", a->token,
		    (unsigned) arb__pid_mbid(pid));
	} else {
		snprintf(buf, len, "ipc://%s/%u.mbox", a->run_dir,
		    (unsigned) arb__pid_mbid(pid));
	}
}

// ---------------------------------------------------------------------------
// Mailbox
// ---------------------------------------------------------------------------
struct arb__mbox {
	nng_socket    sock;
	nng_aio      *aio; // reused for every receive (see tp_recv)
	struct event *ev;
	arb__batch_cb cb;
	void        (*drained)(void *);
	void         *arg;
	size_t        max_batch;
	bool          paused;
	int           fd; // NNG_OPT_RECVFD
	char          ipc_url[256]; // not yet listening when non-empty
};

// tp_recv / tp_send are nng_recvmsg / nng_sendmsg with NNG_FLAG_NONBLOCK
// on an aio made once per mailbox or queue: nng_recvmsg allocates and
// frees an aio per call, and nng 1.5.2 draws a random number from the
// kernel for each new aio (a getrandom syscall).  A round trip costs six
// of these calls.  On a zero timeout nng completes at once, on this
// thread (no callback is set).
static int
tp_recv(nng_socket s, nng_aio *aio, nng_msg **mp)
{
	int rv;

	nng_recv_aio(s, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) == 0) {
		*mp = nng_aio_get_msg(aio);
		nng_aio_set_msg(aio, NULL);
	}
	return rv;
}

static int
tp_send(nng_socket s, nng_aio *aio, nng_msg *m)
{
	int rv;

	nng_aio_set_msg(aio, m);
	nng_send_aio(s, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	nng_aio_set_msg(aio, NULL); // on failure m is still the caller's
	return rv;
}

static int
tp_aio(nng_aio **aiop)
{
	int rv;

	if ((rv = nng_aio_alloc(aiop, NULL, NULL)) == 0) {
		nng_aio_set_timeout(*aiop, NNG_DURATION_ZERO);
	}
	return rv;
}

static void
mbox_readable(evutil_socket_t fd, short what, void *arg)
{
	arb__mbox *mb = arg;
	nng_msg   *m;
	int        budget = 64; // batches per wakeup, then yield to timers

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	while (!mb->paused && budget-- > 0) {
		if (tp_recv(mb->sock, mb->aio, &m) != 0) {
			break;
		}
		mb->cb(mb->arg, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	}
	if (mb->drained != NULL) {
		mb->drained(mb->arg);
	}
	// More may be queued: the RECVFD stays readable and the event is
	// level-triggered, so it fires again on the next loop turn.
}

static void
mbox_free(arb__mbox *mb)
{
	nng_close(mb->sock);
	if (mb->aio != NULL) {
		nng_aio_free(mb->aio);
	}
	arb__free(mb);
}

int
arb__mbox_open(arb__mbox **mbp, struct event_base *base, const arb__addr *a,
    arb_pid pid, size_t max_batch, arb__batch_cb cb,
    void (*drained)(void *arg), void *arg)
{
	arb__mbox *mb;
	char       url[256];
	int        rv, fd;

	if ((mb = arb__alloc(sizeof(*mb))) == NULL) {
		return ARB_ENOMEM;
	}
	mb->cb        = cb;
	mb->drained   = drained;
	mb->arg       = arg;
	mb->max_batch = max_batch;
	if ((rv = nng_pull0_open(&mb->sock)) != 0) {
		arb__free(mb);
		return arb__err_from_nng(rv);
	}
	if ((rv = tp_aio(&mb->aio)) != 0) {
		goto fail;
	}
	nng_socket_set_size(mb->sock, NNG_OPT_RECVMAXSZ, max_batch);
	nng_socket_set_int(mb->sock, NNG_OPT_RECVBUF, 64);
	if (a->in_node && arb__pid_kind(pid) == ARB__KIND_THREAD) {
		arb__addr_url(a, pid, true, url, sizeof(url));
		if ((rv = nng_listen(mb->sock, url, NULL, 0)) != 0) {
			goto fail;
		}
	}
	arb__addr_url(a, pid, false, url, sizeof(url));
	if (a->in_node && arb__pid_kind(pid) == ARB__KIND_THREAD) {
		// In-node senders use inproc; the ipc address is opened by
		// arb__mbox_listen_ipc when a process needs it.
		snprintf(mb->ipc_url, sizeof(mb->ipc_url), "%s", url);
	} else if ((rv = nng_listen(mb->sock, url, NULL, 0)) != 0) {
		goto fail;
	}
	if ((rv = nng_socket_get_int(mb->sock, NNG_OPT_RECVFD, &fd)) != 0) {
		goto fail;
	}
	mb->fd = fd;
	if (base == NULL) {
		mb->paused = true; // detached: a loop attaches it later
	} else if ((rv = arb__mbox_attach(mb, base, cb, drained, arg)) != 0) {
		mbox_free(mb);
		return rv;
	}
	*mbp = mb;
	return ARB_OK;
fail:
	mbox_free(mb);
	return arb__err_from_nng(rv);
}

int
arb__mbox_attach(arb__mbox *mb, struct event_base *base, arb__batch_cb cb,
    void (*drained)(void *arg), void *arg)
{
	mb->cb      = cb;
	mb->drained = drained;
	mb->arg     = arg;
	mb->paused  = false;
	mb->ev = event_new(base, mb->fd, EV_READ | EV_PERSIST, mbox_readable, mb);
	if (mb->ev == NULL || event_add(mb->ev, NULL) != 0) {
		if (mb->ev != NULL) {
			event_free(mb->ev);
			mb->ev = NULL;
		}
		return ARB_ENOMEM;
	}
	return ARB_OK;
}

int
arb__mbox_listen_ipc(arb__mbox *mb)
{
	int rv;

	if (mb == NULL || mb->ipc_url[0] == '\0') {
		return ARB_OK;
	}
	if ((rv = nng_listen(mb->sock, mb->ipc_url, NULL, 0)) != 0) {
		return arb__err_from_nng(rv);
	}
	mb->ipc_url[0] = '\0';
	return ARB_OK;
}

void
arb__mbox_detach(arb__mbox *mb)
{
	if (mb != NULL && mb->ev != NULL) {
		event_free(mb->ev);
		mb->ev     = NULL;
		mb->paused = true;
	}
}

void
arb__mbox_pause(arb__mbox *mb)
{
	if (mb != NULL && !mb->paused) {
		mb->paused = true;
		event_del(mb->ev);
	}
}

size_t
arb__mbox_close(arb__mbox *mb)
{
	nng_msg     *m;
	size_t       dead   = 0;
	int          budget = 256; // batches
	arb__decoder d;
	arb_msg      v;

	if (mb == NULL) {
		return 0;
	}
	arb__mbox_detach(mb);
	// Count what is queued now, as dead letters; bounded, because a
	// sender that keeps sending would otherwise keep this loop (and the
	// exiting actor, or the node removing a child) going forever.
	while (budget-- > 0 && tp_recv(mb->sock, mb->aio, &m) == 0) {
		arb__decoder_init(
		    &d, nng_msg_body(m), nng_msg_len(m), mb->max_batch);
		while (arb__codec_next(&d, &v) == ARB_OK) {
			dead++;
		}
		nng_msg_free(m);
	}
	mbox_free(mb);
	return dead;
}

// ---------------------------------------------------------------------------
// Outbound queue
// ---------------------------------------------------------------------------
// A peer's PUSH socket is unbuffered (NNG_OPT_SENDBUF 0): nng accepts a
// batch only when the pipe is free, so NNG_OPT_SENDFD is readable exactly
// when the previous batch has left (handed to the peer's pipe, or written
// to the kernel for ipc).  That is what lets an exiting actor wait until
// its last words are out (arb__outq_linger) and what wakes a blocked
// sender without a timer.
typedef struct outq_peer {
	uint32_t          mbid;
	arb_pid           to;
	nng_socket        sock;
	_Atomic int       npipes;   // connected pipes (nng's pipe callbacks)
	struct event     *redial_ev; // blocked with no pipe: dial anew
	int               redial_ms;
	arb__buf          pending;
	struct outq_peer *next_dirty; // on the dirty list when pending.len>0
	bool              dirty;
	bool              inflight; // sent; SENDFD not yet seen readable
	bool              blocked;  // a send was refused: wait for SENDFD
	int               sendfd;
	struct event     *wev;      // SENDFD readable: flush again
	struct arb__outq *q;
} outq_peer;

struct arb__outq {
	arb__addr          addr;
	struct event_base *base;
	struct event      *flush_ev; // lowest priority: end of the loop turn
	arb__idmap         peers;    // mbid+1 -> outq_peer
	outq_peer         *dirty;
	size_t             max_msg;
	size_t             backlog;
	uint64_t           batches;
	nng_aio           *aio; // reused for every send (tp_send)
	arb__outq_reach_fn reach; // a new peer is reached over ipc
	void              *reach_arg;
};

// One byte per mailbox id: 0 never existed, 1 exists, 2 removed.  Ids are
// handed out in sequence by the node; ids past the table are not checked.
#define MBID_TABLE (1u << 20)
static _Atomic uint8_t mbid_state[MBID_TABLE];

void
arb__mbid_set(uint32_t mbid, bool exists)
{
	if (mbid < MBID_TABLE) {
		atomic_store_explicit(
		    &mbid_state[mbid], exists ? 1 : 2, memory_order_release);
	}
}

bool
arb__mbid_gone(uint32_t mbid)
{
	return mbid < MBID_TABLE &&
	    atomic_load_explicit(&mbid_state[mbid], memory_order_acquire) != 1;
}

static void outq_flush_cb(evutil_socket_t fd, short what, void *arg);

int
arb__outq_open(arb__outq **qp, struct event_base *base, const arb__addr *a,
    size_t max_msg)
{
	arb__outq *q;
	int        nprio;

	if ((q = arb__alloc(sizeof(*q))) == NULL) {
		return ARB_ENOMEM;
	}
	q->addr    = *a;
	q->base    = base;
	q->max_msg = max_msg;
	q->flush_ev = event_new(base, -1, 0, outq_flush_cb, q);
	if (q->flush_ev == NULL || tp_aio(&q->aio) != 0) {
		arb__outq_close(q);
		return ARB_ENOMEM;
	}
	// The loop is created with 3 priorities (loop.c): 1 is the default,
	// 2 runs only when nothing else is active, i.e. at the end of a turn.
	nprio = event_base_get_npriorities(base);
	event_priority_set(q->flush_ev, nprio - 1);
	*qp = q;
	return ARB_OK;
}

static void
outq_writable(evutil_socket_t fd, short what, void *arg)
{
	outq_peer *p = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	p->inflight = false;
	p->blocked  = false;
	if (p->redial_ev != NULL) {
		evtimer_del(p->redial_ev);
		p->redial_ms = 0;
	}
	arb__outq_flush(p->q);
}

// outq_peer_sendfd fetches NNG_OPT_SENDFD the first time it is needed (a
// refused send, or the exit linger).  Until then nng keeps "writable" as a
// flag; once the fd exists every send costs a read and a write on it, so
// the common path never creates it.
static int
outq_peer_sendfd(outq_peer *p)
{
	if (p->sendfd >= 0) {
		return ARB_OK;
	}
	if (nng_socket_get_int(p->sock, NNG_OPT_SENDFD, &p->sendfd) != 0) {
		p->sendfd = -1;
		return ARB_ENOMEM;
	}
	p->wev = event_new(p->q->base, p->sendfd, EV_READ, outq_writable, p);
	return p->wev != NULL ? ARB_OK : ARB_ENOMEM;
}

static void
outq_pipe_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	outq_peer *p = arg; // on an nng thread: touch only the counter

	ARB_UNUSED(pipe);
	atomic_fetch_add(&p->npipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

static bool
outq_inproc(const arb__outq *q, arb_pid to)
{
	return q->addr.in_node && arb__pid_kind(to) == ARB__KIND_THREAD;
}

// outq_peer_dial opens p's PUSH socket and dials p->to (in the background:
// nng redials by itself while the destination is away).
static int
outq_peer_dial(outq_peer *p)
{
	char url[256];
	int  rv;

	if ((rv = nng_push0_open(&p->sock)) != 0) {
		return arb__err_from_nng(rv);
	}
	p->sendfd = -1; // fetched on first need: see outq_peer_sendfd
	atomic_store(&p->npipes, 0);
	nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, outq_pipe_cb, p);
	nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, outq_pipe_cb, p);
	// Messages wait in `pending` while the destination restarts (SPEC
	// 19), and nng redials 20-50 ms after a pipe is lost.  Not sooner:
	// with 2 ms, a node whose process actors restarted back to back
	// crashed inside nng 1.5.2 (a PUSH pipe torn down while starting,
	// nng#1653) in 4 of 250 bench runs; with 20 ms, in none of 350.
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMAXT, 50);
	arb__addr_url(&p->q->addr, p->to, outq_inproc(p->q, p->to), url,
	    sizeof(url));
	if ((rv = nng_dial(p->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(p->sock);
		p->sock = (nng_socket) NNG_SOCKET_INITIALIZER;
		return arb__err_from_nng(rv);
	}
	return ARB_OK;
}

static outq_peer *
outq_peer_get(arb__outq *q, arb_pid to, int *rvp)
{
	outq_peer *p;
	uint32_t   mbid = arb__pid_mbid(to);
	int        rv;

	if ((p = arb__idmap_get(&q->peers, (uint64_t) mbid + 1)) != NULL) {
		return p;
	}
	if ((p = arb__alloc(sizeof(*p))) == NULL) {
		*rvp = ARB_ENOMEM;
		return NULL;
	}
	p->mbid = mbid;
	p->to   = to;
	p->q    = q;
	if ((rv = outq_peer_dial(p)) != 0) {
		arb__free(p);
		*rvp = rv;
		return NULL;
	}
	if ((rv = arb__idmap_set(&q->peers, (uint64_t) mbid + 1, p)) != 0) {
		nng_close(p->sock);
		arb__free(p);
		*rvp = rv;
		return NULL;
	}
	if (!outq_inproc(q, to) && q->reach != NULL) {
		q->reach(q->reach_arg, to);
	}
	return p;
}

// A blocked peer with no connected pipe is dialled anew after a while
// (100 ms, doubling up to 2 s while it lasts).  nng 1.5.2's dialer was seen
// to stop redialling an ipc address whose listener went away and came
// back within a few milliseconds (a process actor restarted from the
// standby): without this, its messages would wait forever.
#define OUTQ_REDIAL_MIN_MS 100
#define OUTQ_REDIAL_MAX_MS 2000

static void outq_redial_cb(evutil_socket_t fd, short what, void *arg);

static void
outq_redial_arm(outq_peer *p)
{
	struct timeval tv;

	if (p->redial_ev == NULL) {
		p->redial_ev = evtimer_new(p->q->base, outq_redial_cb, p);
		if (p->redial_ev == NULL) {
			return; // nng's own redial is all there is
		}
	}
	if (evtimer_pending(p->redial_ev, NULL)) {
		return;
	}
	if (p->redial_ms == 0) {
		p->redial_ms = OUTQ_REDIAL_MIN_MS;
	}
	tv.tv_sec  = p->redial_ms / 1000;
	tv.tv_usec = (p->redial_ms % 1000) * 1000;
	evtimer_add(p->redial_ev, &tv);
}

static void
outq_redial_cb(evutil_socket_t fd, short what, void *arg)
{
	outq_peer *p = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	if (!p->blocked || p->pending.len == 0) {
		p->redial_ms = 0;
		return;
	}
	// Back off first: the flush below re-arms when it blocks again.
	p->redial_ms = p->redial_ms * 2 > OUTQ_REDIAL_MAX_MS
	    ? OUTQ_REDIAL_MAX_MS
	    : p->redial_ms * 2;
	if (atomic_load(&p->npipes) == 0) {
		if (p->wev != NULL) {
			event_free(p->wev);
			p->wev = NULL;
		}
		nng_close(p->sock);
		if (outq_peer_dial(p) == ARB_OK) {
			p->blocked  = false;
			p->inflight = false;
			arb__outq_flush(p->q); // blocks again until connected
		}
	}
	if (p->blocked) {
		outq_redial_arm(p); // a no-op if the flush re-armed it
	}
}

// outq_peer_send hands the pending batch to nng.  Returns false if nng's
// queue is full (the batch stays pending).
static bool
outq_peer_send(arb__outq *q, outq_peer *p)
{
	nng_msg *m;
	int      rv;

	if (p->pending.len == 0) {
		return true;
	}
	if (p->blocked) {
		// The pipe refused the last batch and has not said it is free
		// again: copying the batch into a message only to have it
		// refused would churn up to a backlog's worth per attempt.
		return false;
	}
	if (nng_msg_alloc(&m, 0) != 0) {
		return false;
	}
	if (nng_msg_append(m, p->pending.data, p->pending.len) != 0) {
		nng_msg_free(m);
		return false;
	}
	if ((rv = tp_send(p->sock, q->aio, m)) != 0) {
		nng_msg_free(m);
		// The pipe is busy or not connected: SENDFD wakes us.
		p->blocked = true;
		if (outq_peer_sendfd(p) == ARB_OK &&
		    !event_pending(p->wev, EV_READ, NULL)) {
			event_add(p->wev, NULL);
		}
		outq_redial_arm(p);
		return false;
	}
	p->inflight = true;
	q->backlog -= p->pending.len;
	q->batches++;
	arb__buf_reset(&p->pending);
	if (p->pending.cap > 4 * ARB__OUTQ_BATCH_FLUSH) {
		arb__buf_fini(&p->pending); // do not pin a burst's memory
	}
	return true;
}

void
arb__outq_flush(arb__outq *q)
{
	outq_peer *p, *next, *blocked = NULL;

	for (p = q->dirty; p != NULL; p = next) {
		next = p->next_dirty;
		if (outq_peer_send(q, p)) {
			p->dirty      = false;
			p->next_dirty = NULL;
		} else {
			p->next_dirty = blocked;
			blocked       = p;
		}
	}
	q->dirty = blocked;
}

static void
outq_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__outq_flush(arg);
}

int
arb__outq_push(arb__outq *q, const arb_msg *m)
{
	outq_peer *p;
	size_t     before;
	int        rv = ARB_OK;

	if (m->len > q->max_msg) {
		return ARB_EMSGSIZE;
	}
	if (arb__pid_kind(m->to) == ARB__KIND_EXEC ||
	    (arb__pid_kind(m->to) == ARB__KIND_NODE &&
	        arb__pid_mbid(m->to) == 0)) {
		return ARB_ENOENT;
	}
	if (q->addr.in_node && arb__mbid_gone(arb__pid_mbid(m->to))) {
		return ARB_ENOENT; // no such child slot (never, or removed)
	}
	if ((p = outq_peer_get(q, m->to, &rv)) == NULL) {
		return rv;
	}
	if (p->pending.len >= ARB__OUTQ_BACKLOG_MAX) {
		return ARB_EAGAIN;
	}
	before = p->pending.len;
	if ((rv = arb__codec_encode(&p->pending, m)) != 0) {
		return rv;
	}
	q->backlog += p->pending.len - before;
	if (!p->dirty) {
		p->dirty      = true;
		p->next_dirty = q->dirty;
		q->dirty      = p;
		event_active(q->flush_ev, 0, 0);
	}
	// Big turn: do not wait for its end.  Try once each time the batch
	// grows past another ARB__OUTQ_BATCH_FLUSH bytes, not on every push:
	// while the pipe is busy each attempt copies the whole batch, which
	// made a storm quadratic.  A refused attempt arms the SENDFD event.
	if (p->pending.len / ARB__OUTQ_BATCH_FLUSH !=
	    before / ARB__OUTQ_BATCH_FLUSH) {
		outq_peer_send(q, p);
	}
	return ARB_OK;
}

size_t
arb__outq_backlog(const arb__outq *q)
{
	return q->backlog;
}

void
arb__outq_set_reach(arb__outq *q, arb__outq_reach_fn fn, void *arg)
{
	q->reach     = fn;
	q->reach_arg = arg;
}

bool
arb__outq_idle(const arb__outq *q)
{
	return q->dirty == NULL && q->backlog == 0;
}

bool
arb__outq_owns(const struct event *ev)
{
	event_callback_fn cb = event_get_callback(ev);

	return cb == outq_flush_cb || cb == outq_writable ||
	    cb == outq_redial_cb;
}

uint64_t
arb__outq_batches(const arb__outq *q)
{
	return q->batches;
}

static void
outq_peer_free(uint64_t key, void *val, void *arg)
{
	outq_peer *p = val;

	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	if (p->wev != NULL) {
		event_free(p->wev);
	}
	if (p->redial_ev != NULL) {
		event_free(p->redial_ev);
	}
	nng_close(p->sock);
	arb__buf_fini(&p->pending);
	arb__free(p);
}

typedef struct linger_set {
	struct pollfd *fds;
	size_t         n;
} linger_set;

static void
outq_linger_collect(uint64_t key, void *val, void *arg)
{
	outq_peer  *p = val;
	linger_set *ls = arg;

	ARB_UNUSED(key);
	if ((p->pending.len > 0 || p->inflight) && outq_peer_sendfd(p) == 0) {
		// (a blocked peer is waited for through the same fd)
		ls->fds[ls->n].fd     = p->sendfd;
		ls->fds[ls->n].events = POLLIN;
		ls->n++;
	}
}

static void
outq_linger_settle(uint64_t key, void *val, void *arg)
{
	outq_peer     *p = val;
	struct pollfd  pfd = { .fd = p->sendfd, .events = POLLIN };

	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	if ((p->inflight || p->blocked) && outq_peer_sendfd(p) == ARB_OK &&
	    (pfd.fd = p->sendfd, poll(&pfd, 1, 0) == 1)) {
		p->inflight = false; // the last batch has left
		p->blocked  = false; // and the pipe takes the next
	}
}

void
arb__outq_linger(arb__outq *q, int ms)
{
	int64_t    deadline = arb__now_ms() + ms;
	linger_set ls;

	if (q == NULL || q->peers.count == 0) {
		return;
	}
	ls.fds = arb__alloc(sizeof(struct pollfd) * q->peers.count);
	if (ls.fds == NULL) {
		return;
	}
	for (;;) {
		int64_t left = deadline - arb__now_ms();

		// Unblock peers whose pipe is free, send, then see what is
		// still in flight.
		arb__idmap_each(&q->peers, outq_linger_settle, NULL);
		arb__outq_flush(q);
		arb__idmap_each(&q->peers, outq_linger_settle, NULL);
		ls.n = 0;
		arb__idmap_each(&q->peers, outq_linger_collect, &ls);
		if (ls.n == 0 || left <= 0) {
			break;
		}
		poll(ls.fds, (nfds_t) ls.n, left > 20 ? 20 : (int) left);
	}
	arb__free(ls.fds);
}

void
arb__outq_close(arb__outq *q)
{
	if (q == NULL) {
		return;
	}
	arb__outq_flush(q);
	if (q->flush_ev != NULL) {
		event_free(q->flush_ev);
	}
	arb__idmap_each(&q->peers, outq_peer_free, NULL);
	arb__idmap_fini(&q->peers);
	if (q->aio != NULL) {
		nng_aio_free(q->aio);
	}
	arb__free(q);
}
