// SPDX-License-Identifier: MIT
// route.c -- this process's transport: its listener, the mailboxes it
// hosts, the links it dialled, the table of child slots, and the routing
// step that picks how a batch reaches its destination.
//
// One transport per OS process.  In the node process it hosts the
// mailboxes of the thread actors and listens on <run_dir>/node.link; in a
// process actor it hosts that actor's mailbox and listens on
// <run_dir>/<mbid>.link.  Routing is an ops table chosen by the
// destination's address scheme (nng's transports work the same way):
// "inproc" puts the batch straight into a mailbox of this process,
// "ipc" puts it on the link to the process that hosts it.  "tcp" and
// "tls+tcp" are the same stream code for the multi-node issue, which adds
// peers and a routing step for other nodes on top.
//
// The slot table is a file in the run directory that the node writes and
// every process maps read-only: one word per mailbox id saying whether the
// child slot exists, its kind and its current incarnation, so that a
// process actor too gets ARB_ENOENT for a removed child or an ended
// incarnation.  Thread: any (a mutex guards the tables; slots are
// atomics).

#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Slot word: state (2 bits) | kind (2 bits) | SLOT_UNCHECKED |
// SLOT_CLOSED | zeros | incarnation (32).
#define SLOT_NONE    0u // never existed
#define SLOT_ACTOR   1u // a thread or process actor's slot
#define SLOT_REMOVED 2u
#define SLOT_OTHER   3u         // a supervisor or exec child: no mailbox
// An actor slot no incarnation will read (arb__slot_close): the actor is
// not running and will not be restarted.
#define SLOT_CLOSED (1ull << 58)
// The word slot_get makes up for a mailbox id it has no slot for (past
// SLOT_MAX, or no table mapped): an actor's, never stored in the table.
// Nothing about that id is known, so nothing is refused (arb__slot_check)
// and nothing is marked (arb__slot_close).
#define SLOT_UNCHECKED (1ull << 59)
#define SLOT_MAX     (1u << 20) // mailbox ids past this are not checked
#define SLOT_TOPICS  0u         // word 0: the topic table's generation
#define TOPICS_MASK  ((1ull << 59) - 1) // its state bits stay SLOT_NONE
#define SLOTS_LEN    ((size_t) SLOT_MAX * sizeof(uint64_t))
#define RECS_LEN     ((size_t) SLOT_MAX * sizeof(arb__slot_rec))
#define PEERS_LEN    ((size_t) 4096) // after the records: one word a peer
_Static_assert(ARB_NODE_PEERS_MAX * sizeof(uint64_t) <= PEERS_LEN,
    "the peers' words fit their page");

typedef struct tp_state {
	pthread_mutex_t   mtx;
	// Read without the lock by nng's callbacks (a delivery) and senders:
	// set last by arb__tp_open, so one that sees it true sees the rest.
	_Atomic bool      open;
	arb__addr         addr;
	arb_pid           self;
	arb__link_cfg     cfg;
	arb__tp_stats     stats;
	arb__lsn         *lsn;
	arb__idmap        mboxes; // mbid + 1 -> arb__mbox (one reference)
	arb__idmap        links;  // process mbid + 1 -> arb__link (node: 1)
	_Atomic uint64_t *slots;  // SLOT_MAX words, shared with the node
	bool              slots_rw;
	arb__slot_rec    *recs; // SLOT_MAX records, after the words
	_Atomic uint64_t *peers; // ARB_NODE_PEERS_MAX words, after them
} tp_state;

static tp_state tp = { .mtx = PTHREAD_MUTEX_INITIALIZER };

// Other nodes (peer.c's, while its peers are open).
static const arb__tp_remote *_Atomic tp_remote;

void
arb__tp_set_remote(const arb__tp_remote *r)
{
	atomic_store(&tp_remote, r);
}

// ---------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------
static inline uint64_t
slot_word(unsigned state, unsigned kind, uint32_t inc)
{
	return ((uint64_t) state << 62) | ((uint64_t) kind << 60) | inc;
}

static inline uint64_t
slot_get(uint32_t mbid)
{
	if (tp.slots == NULL || mbid >= SLOT_MAX) {
		return slot_word(SLOT_ACTOR, 0, 0) | SLOT_UNCHECKED;
	}
	return atomic_load_explicit(&tp.slots[mbid], memory_order_acquire);
}

static void
slot_set(uint32_t mbid, uint64_t w)
{
	if (tp.slots != NULL && tp.slots_rw && mbid < SLOT_MAX) {
		atomic_store_explicit(
		    &tp.slots[mbid], w, memory_order_release);
	}
}

void
arb__slot_new(uint32_t mbid, unsigned kind)
{
	bool actor = kind == ARB__KIND_THREAD || kind == ARB__KIND_PROCESS;

	slot_set(mbid, slot_word(actor ? SLOT_ACTOR : SLOT_OTHER, kind, 0));
}

static arb__mbox *tp_mbox_get(uint32_t mbid, bool make);

// slot_unseal lets a closed slot's mailbox take puts again.
static void
slot_unseal(uint32_t mbid)
{
	arb__mbox *mb;

	pthread_mutex_lock(&tp.mtx);
	mb = tp_mbox_get(mbid, false);
	pthread_mutex_unlock(&tp.mtx);
	if (mb != NULL) {
		(void) arb__mbox_seal(mb, false);
		arb__mbox_rele(mb);
	}
}

void
arb__slot_run(uint32_t mbid, uint32_t inc)
{
	uint64_t w = slot_get(mbid);

	if ((w >> 62) == SLOT_ACTOR) {
		w &= ~0xFFFFFFFFull;
		if (inc != 0 && (w & SLOT_CLOSED) != 0) {
			// An incarnation reads it again: its mailbox takes
			// puts first, then its senders' checks pass.
			slot_unseal(mbid);
			w &= ~SLOT_CLOSED;
		}
		slot_set(mbid, w | inc);
	}
}

// tp_to_noproc hands the batches list (a mailbox's, taken) to the node's
// noproc mailbox when there is one (names.c reads it: each envelope a
// dead letter, each request answered noproc); returns the envelopes
// dropped instead.
static size_t
tp_to_noproc(arb__chunk *list)
{
	arb__mbox  *nb;
	arb__chunk *next;
	size_t      dead = 0;

	pthread_mutex_lock(&tp.mtx);
	nb = tp_mbox_get(ARB__MBID_NOPROC, false);
	pthread_mutex_unlock(&tp.mtx);
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = NULL;
		if (nb != NULL) {
			list->dst = ARB__MBID_NOPROC;
			(void) arb__mbox_put_link(
			    nb, list, tp.cfg.stats, NULL);
		} else {
			dead += list->nenv;
			arb__chunk_free(list);
		}
	}
	arb__mbox_rele(nb);
	return dead;
}

// tp_answer_here answers, into this process's own mailbox, each request
// in ch that this process actor sent (noproc, from the pid it was sent
// to), and frees ch counting its envelopes as dead letters.
static void
tp_answer_here(arb__chunk *ch)
{
	arb__decoder d;
	arb_msg      m, ans;
	arb__buf     b = { 0 };
	arb__chunk  *a;

	arb__decoder_init(&d, ch->data, ch->len, tp.cfg.max_frame);
	while (arb__codec_next(&d, &m) == ARB_OK) {
		arb__buf_reset(&b);
		if (!arb__pid_local(m.from)
		    || arb__pid_mbid(m.from) != arb__pid_mbid(tp.self)
		    || !arb__codec_noproc(&m, ARB_ENOENT,
		        "noproc: no actor runs there", &b, &ans)) {
			continue;
		}
		ans.from = m.to;
		if ((a = arb__chunk_alloc(arb__codec_size(&ans))) != NULL) {
			a->len = arb__codec_put(a->data, &ans);
			a->nenv = 1;
			a->dst = arb__pid_mbid(tp.self);
			(void) arb__tp_deliver(a);
		}
	}
	arb__buf_fini(&b);
	arb__chunk_drop(ch, tp.cfg.stats);
}

// tp_unreached takes what a link's queue held when its destination went
// for good (a removed process actor, link_gone): each request in it is
// answered at once, not left to its caller's timeout.  In the node the
// noproc mailbox answers them (names.c; every envelope a dead letter of
// the node, as what a removed slot's mailbox held); in a process actor,
// whose links carry only its own envelopes, tp_answer_here.  Called
// under the link's lock: tp.mtx and a mailbox's come after it.
static void
tp_unreached(arb__chunk *list)
{
	arb__chunk *ch, *next;

	for (ch = list; ch != NULL; ch = next) {
		next = ch->next;
		ch->next = NULL;
		if (!tp.addr.in_node) {
			tp_answer_here(ch);
			continue;
		}
		if (ch->origin != NULL) {
			// No longer its sender's: counted by the node.
			arb__origin_settle(ch->origin, ch->nenv);
			arb__origin_rele(ch->origin);
			ch->origin = NULL;
		}
		atomic_fetch_add(&tp.cfg.stats->dead, tp_to_noproc(ch));
	}
}

void
arb__slot_close(uint32_t mbid)
{
	uint64_t   w = slot_get(mbid);
	arb__mbox *mb;

	if ((w >> 62) != SLOT_ACTOR || (w & SLOT_UNCHECKED) != 0) {
		return;
	}
	slot_set(mbid, w | SLOT_CLOSED);
	pthread_mutex_lock(&tp.mtx);
	mb = tp_mbox_get(mbid, false);
	pthread_mutex_unlock(&tp.mtx);
	if (mb != NULL) {
		// Requests that waited for an incarnation that will not come;
		// a put after this is refused (sealed: a local sender's
		// outbound queue answers it noproc, a link's batch goes to
		// the noproc mailbox, arb__tp_deliver), so a request that
		// passed its sender's check before the slot closed does not
		// wait in it for its timeout.
		(void) tp_to_noproc(arb__mbox_seal(mb, true));
		arb__mbox_rele(mb);
	}
}

void
arb__tp_topics_set(uint64_t gen)
{
	slot_set(SLOT_TOPICS, gen & TOPICS_MASK);
}

uint64_t
arb__tp_topics_gen(void)
{
	if (tp.slots == NULL) {
		return UINT64_MAX;
	}
	return atomic_load_explicit(
	    &tp.slots[SLOT_TOPICS], memory_order_acquire);
}

size_t
arb__slot_remove(uint32_t mbid)
{
	arb__mbox *mb;
	size_t     dead = 0;

	slot_set(mbid, slot_word(SLOT_REMOVED, 0, 0));
	pthread_mutex_lock(&tp.mtx);
	mb = arb__idmap_del(&tp.mboxes, (uint64_t) mbid + 1);
	pthread_mutex_unlock(&tp.mtx);
	if (mb != NULL) {
		// No more puts; what it held goes to the noproc mailbox (the
		// caller counts what could not).
		dead = tp_to_noproc(arb__mbox_take(mb, true));
		arb__mbox_rele(mb);
	}
	return dead;
}

arb__slot_rec *
arb__slot_rec_get(uint32_t mbid)
{
	return tp.recs != NULL && mbid < SLOT_MAX ? &tp.recs[mbid] : NULL;
}

// Counters of this process's other link listeners (the control socket):
// they live as long as the process, open or not.
static arb__tp_stats tp_side;

static void
tp_totals_add(arb__tp_totals *t, arb__tp_stats *s)
{
	t->lost += atomic_load(&s->lost);
	t->dead += atomic_load(&s->dead);
	t->gaps += atomic_load(&s->gaps);
	t->conns += atomic_load(&s->conns);
	t->refused += atomic_load(&s->refused);
	t->bad_frames += atomic_load(&s->bad_frames);
	t->links_lost += atomic_load(&s->links_lost);
	t->dials += atomic_load(&s->dials);
	t->auth_failed += atomic_load(&s->auth_failed);
	t->hb_timeouts += atomic_load(&s->hb_timeouts);
	t->backoff_refused += atomic_load(&s->backoff_refused);
	t->backoff_evicted += atomic_load(&s->backoff_evicted);
	t->replaced += atomic_load(&s->replaced);
}

bool
arb__slot_rec_tp(arb_pid pid, arb__tp_totals *t)
{
	arb__slot_rec *r = arb__slot_rec_get(arb__pid_mbid(pid));

	if (r == NULL || atomic_load(&r->pid) != pid.id) {
		return false;
	}
	tp_totals_add(t, &r->tp);
	return true;
}

bool
arb__slot_rec_final(arb_pid pid, arb_stats *st)
{
	arb__slot_rec *r = arb__slot_rec_get(arb__pid_mbid(pid));

	if (r == NULL || atomic_load(&r->pid) != pid.id) {
		return false;
	}
	*st = r->stats;
	st->lost = atomic_load(&r->origin.lost);
	// Accepted by its arb_send and never settled: in its queues, or
	// written and not acknowledged, when the process ended.
	if (atomic_load(&r->origin.pending) > 0) {
		st->lost += (uint64_t) atomic_load(&r->origin.pending);
	}
	st->dead_letters += atomic_load(&r->origin.dead)
	    + atomic_load(&r->tp.dead) + atomic_load(&r->queued);
	return true;
}

void
arb__slot_peer_set(size_t idx, uint32_t node_id, uint32_t creation)
{
	if (tp.peers != NULL && tp.slots_rw && idx < ARB_NODE_PEERS_MAX) {
		atomic_store(&tp.peers[idx],
		    ((uint64_t) node_id << 32) | creation);
	}
}

// peer_word_check is peer.c's reachable for a process actor: from the
// words its node keeps for its peers.
static int
peer_word_check(arb_pid to)
{
	size_t   i;
	uint64_t w;

	for (i = 0; tp.peers != NULL && i < ARB_NODE_PEERS_MAX; i++) {
		w = atomic_load(&tp.peers[i]);
		if ((uint32_t) (w >> 32) == to.node) {
			return (uint32_t) w != 0
			        && (to.creation == 0
			            || to.creation == (uint32_t) w)
			    ? ARB_OK
			    : ARB_ENOENT;
		}
	}
	return ARB_ENOENT; // not a peer of its node
}

int
arb__slot_check(arb_pid to)
{
	uint32_t mbid = arb__pid_mbid(to);
	unsigned kind = arb__pid_kind(to);
	uint32_t inc = arb__pid_inc(to);
	uint64_t w;

	if (!arb__pid_local(to)) {
		// Another node: reachable while its link is up, and only
		// the incarnation it has now (or creation 0: any).
		const arb__tp_remote *r = atomic_load(&tp_remote);

		if (r != NULL) {
			return r->reachable(to);
		}
		// A process actor's node relays its batch: the node's view
		// of its peers, shared (what the relay cannot send on after
		// all is a dead letter counted there).
		return tp.open && !tp.addr.in_node ? peer_word_check(to)
		                                   : ARB_ENOENT;
	}
	if (kind != ARB__KIND_THREAD && kind != ARB__KIND_PROCESS) {
		return ARB_ENOENT; // the node, an exec child, a supervisor
	}
	w = slot_get(mbid);
	if ((w >> 62) != SLOT_ACTOR) {
		return ARB_ENOENT;
	}
	if ((w & SLOT_UNCHECKED) != 0) {
		return ARB_OK; // past the table: not checked
	}
	if (((w >> 60) & 3u) != kind) {
		return ARB_ENOENT;
	}
	if (inc != 0 && inc != (uint32_t) w) {
		return ARB_ENOENT; // an incarnation that has ended
	}
	if ((w & SLOT_CLOSED) != 0) {
		return ARB_ENOENT; // nothing will read it (arb__slot_close)
	}
	return ARB_OK;
}

// slots_map maps the node's table of slots (read-only in a process
// actor) and the records after it (read-write everywhere: a process
// writes its own).  The node makes the file; it is sparse, so only the
// pages of ids in use take memory.
static int
slots_map(const arb__addr *a)
{
	char  path[200];
	int   fd, e;
	void *m, *r, *pw;
	int   flags = a->in_node ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR;

	snprintf(path, sizeof(path), "%s/slots", a->run_dir);
	if ((fd = open(path, flags | O_CLOEXEC, 0600)) < 0) {
		return arb__err_from_errno(errno);
	}
	if (a->in_node
	    && ftruncate(fd, (off_t) (SLOTS_LEN + RECS_LEN + PEERS_LEN))
	        != 0) {
		e = errno;
		close(fd);
		return arb__err_from_errno(e);
	}
	if (!a->in_node) {
		// A short file would fault when touched: refuse it instead.
		struct stat sb;
		if (fstat(fd, &sb) != 0
		    || (size_t) sb.st_size
		        < SLOTS_LEN + RECS_LEN + PEERS_LEN) {
			close(fd);
			return ARB_EINVAL;
		}
	}
	m = mmap(NULL, SLOTS_LEN,
	    a->in_node ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
	    0);
	r = mmap(NULL, RECS_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t) SLOTS_LEN);
	pw = mmap(NULL, PEERS_LEN,
	    a->in_node ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
	    (off_t) (SLOTS_LEN + RECS_LEN));
	e = errno;
	close(fd);
	if (m == MAP_FAILED || r == MAP_FAILED || pw == MAP_FAILED) {
		if (m != MAP_FAILED) {
			munmap(m, SLOTS_LEN);
		}
		if (r != MAP_FAILED) {
			munmap(r, RECS_LEN);
		}
		if (pw != MAP_FAILED) {
			munmap(pw, PEERS_LEN);
		}
		return arb__err_from_errno(e);
	}
	tp.slots = m;
	tp.recs = r;
	tp.peers = pw;
	tp.slots_rw = a->in_node;
	return ARB_OK;
}

static void
slots_unmap(void)
{
	if (tp.slots != NULL) {
		munmap((void *) tp.slots, SLOTS_LEN);
		munmap(tp.recs, RECS_LEN);
		munmap((void *) tp.peers, PEERS_LEN);
		tp.slots = NULL;
		tp.recs = NULL;
		tp.peers = NULL;
	}
}

// ---------------------------------------------------------------------------
// Mailboxes of this process
// ---------------------------------------------------------------------------
static void tp_resume(uint32_t mbid);

// tp_mbox_get returns a reference to mbid's mailbox; with make, it makes
// the mailbox of an existing actor slot.  Under tp.mtx.
static arb__mbox *
tp_mbox_get(uint32_t mbid, bool make)
{
	arb__mbox *mb = arb__idmap_get(&tp.mboxes, (uint64_t) mbid + 1);

	if (mb == NULL && make && (slot_get(mbid) >> 62) == SLOT_ACTOR
	    && arb__mbox_new(&mb, mbid, tp_resume) == 0) {
		if (arb__idmap_set(&tp.mboxes, (uint64_t) mbid + 1, mb) != 0) {
			arb__mbox_rele(mb);
			return NULL;
		}
	}
	if (mb != NULL) {
		arb__mbox_ref(mb);
	}
	return mb;
}

int
arb__mbox_open(arb__mbox **mbp, uint32_t mbid)
{
	pthread_mutex_lock(&tp.mtx);
	*mbp = tp_mbox_get(mbid, true);
	pthread_mutex_unlock(&tp.mtx);
	return *mbp != NULL ? ARB_OK : ARB_ENOENT;
}

// ---------------------------------------------------------------------------
// Listener: batches from other processes
// ---------------------------------------------------------------------------
static int
tp_on_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	ARB_UNUSED(arg);
	ARB_UNUSED(c);
	// Only processes of this node incarnation talk here.
	if (h->role != ARB__ROLE_PEER || h->node_id != tp.addr.node_id
	    || h->creation != tp.addr.creation) {
		return ARB_EPERM;
	}
	return ARB_OK;
}

static bool
tp_on_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	ARB_UNUSED(arg);
	ARB_UNUSED(c);
	return arb__tp_deliver(ch);
}

bool
arb__tp_deliver_remote(arb__chunk *ch)
{
	const arb__tp_ops *ops;
	void              *ep;
	uint64_t           w = slot_get(ch->dst);
	arb_pid            to;
	int                rv;

	if (ch->dst == ARB__MBID_RELAY) {
		// Only this node's processes may have the node relay.
		arb__chunk_drop(ch, tp.cfg.stats);
		return false;
	}
	if (tp.open && tp.addr.in_node
	    && ((w >> 62) != SLOT_ACTOR || (w & SLOT_CLOSED) != 0)) {
		// No actor slot, or one nothing will read: no mailbox to
		// take it.  The node's noproc mailbox reads it (its requests
		// are answered noproc, every envelope counted as a dead
		// letter of the node); never a PAUSE (that mailbox's drain
		// would not resume dst).
		ch->dst = ARB__MBID_NOPROC;
		(void) arb__tp_deliver(ch);
		return false;
	}
	if (!tp.open || !tp.addr.in_node
	    || ((w >> 60) & 3u) != ARB__KIND_PROCESS) {
		return arb__tp_deliver(ch); // a thread actor's
	}
	// A process actor's mailbox lives in its process: forward the batch
	// on the node's link to it (never blocking a link callback).  What
	// that link does not take goes to the node's noproc mailbox (down:
	// its requests answered noproc) or unsent mailbox (full or paused:
	// answered ARB_EAGAIN), every envelope a dead letter of the node.
	to = arb__pid_make(ARB__KIND_PROCESS, ch->dst, 0);
	if ((rv = arb__route(to, &ops, &ep)) == ARB_OK) {
		rv = ops->put(ep, ch, NULL);
		ops->rele(ep);
	}
	if (rv != ARB_OK) {
		ch->dst = rv == ARB_EAGAIN ? ARB__MBID_UNSENT
		                           : ARB__MBID_NOPROC;
		(void) arb__tp_deliver(ch);
	}
	return false;
}

bool
arb__tp_deliver(arb__chunk *ch)
{
	arb__mbox *mb;
	bool       over, sealed = false;

	if (!tp.open) {
		arb__chunk_free(ch);
		return false;
	}
	// The node hosts every thread actor's mailbox, a process actor its
	// own: made on the first delivery if need be (a process listens
	// before its actor has opened the mailbox, and a sender that
	// reconnects to a restarted process may already be there).
	pthread_mutex_lock(&tp.mtx);
	mb = tp_mbox_get(
	    ch->dst, tp.addr.in_node || ch->dst == arb__pid_mbid(tp.self));
	pthread_mutex_unlock(&tp.mtx);
	if (mb == NULL) {
		arb__chunk_drop(ch, tp.cfg.stats); // no such mailbox here
		return false;
	}
	over = arb__mbox_put_link(mb, ch, tp.cfg.stats, &sealed);
	arb__mbox_rele(mb);
	if (sealed) {
		// Its slot closed after the batch passed the check: the
		// noproc mailbox answers its requests (none: dropped).
		atomic_fetch_add(&tp.cfg.stats->dead, tp_to_noproc(ch));
		return false;
	}
	return over;
}

static bool
tp_on_full(void *arg, uint32_t mbid)
{
	ARB_UNUSED(arg);
	return arb__tp_mbox_full(mbid);
}

bool
arb__tp_mbox_full(uint32_t mbid)
{
	arb__mbox *mb;
	bool       full = false;

	pthread_mutex_lock(&tp.mtx);
	mb = tp_mbox_get(mbid, false);
	pthread_mutex_unlock(&tp.mtx);
	if (mb != NULL) {
		full = arb__mbox_still_full(mb);
		arb__mbox_rele(mb);
	}
	return full;
}

static const arb__lsn_ops tp_lsn_ops = {
	.hello = tp_on_hello,
	.data = tp_on_data,
	.full = tp_on_full,
};

// tp_resume tells the links that paused mailbox mbid that it has room
// again (each mailbox's resume function): this process's listener's and
// the node links' a peer dialled (the remote table's resume, peer.c;
// without it a mailbox filled from another node stayed paused for good).
// Thread: any.
static void
tp_resume(uint32_t mbid)
{
	const arb__tp_remote *r = atomic_load(&tp_remote);
	arb__lsn             *l;

	pthread_mutex_lock(&tp.mtx);
	l = tp.lsn;
	pthread_mutex_unlock(&tp.mtx);
	if (l != NULL) {
		arb__lsn_resume(l, mbid);
	}
	if (r != NULL && r->resume != NULL) {
		r->resume(mbid);
	}
}

// ---------------------------------------------------------------------------
// Routing: the ops tables
// ---------------------------------------------------------------------------
static int
inproc_put(void *ep, arb__chunk *ch, struct event *waiter)
{
	return arb__mbox_put(ep, ch, waiter);
}

static void
inproc_unwait(void *ep, struct event *waiter)
{
	arb__mbox_unwait(ep, waiter);
}

static void
inproc_rele(void *ep)
{
	arb__mbox_rele(ep);
}

static int
stream_put(void *ep, arb__chunk *ch, struct event *waiter)
{
	return arb__link_put(ep, ch, waiter);
}

static void
stream_unwait(void *ep, struct event *waiter)
{
	arb__link_unwait(ep, waiter);
}

static void
stream_rele(void *ep)
{
	arb__link_rele(ep);
}

static const arb__tp_ops tp_ops[] = {
	{ "inproc", true, inproc_put, inproc_unwait, inproc_rele },
	{ "ipc", false, stream_put, stream_unwait, stream_rele },
	{ "tcp", false, stream_put, stream_unwait, stream_rele },
	{ "tls+tcp", false, stream_put, stream_unwait, stream_rele },
};

static const arb__tp_ops *
tp_ops_for(const char *url)
{
	size_t i, n;

	for (i = 0; i < ARB_ARRAY_SIZE(tp_ops); i++) {
		n = strlen(tp_ops[i].scheme);
		if (strncmp(url, tp_ops[i].scheme, n) == 0
		    && strncmp(url + n, "://", 3) == 0) {
			return &tp_ops[i];
		}
	}
	return NULL;
}

void
arb__tp_url(const arb__addr *a, arb_pid pid, char *buf, size_t len)
{
	if (arb__pid_kind(pid) == ARB__KIND_PROCESS) {
		snprintf(buf, len, "ipc://%s/%u.link", a->run_dir,
		    (unsigned) arb__pid_mbid(pid));
	} else {
		snprintf(buf, len, "ipc://%s/node.link", a->run_dir);
	}
}

// link_gone: a process actor's slot that was removed will never listen
// again, nor will a closed one (arb__slot_close) until an incarnation
// runs there: what its link queued is answered (tp_unreached), and the
// link takes puts again once the slot runs (arb__link_put asks again).
static bool
link_gone(void *arg)
{
	uint32_t mbid = (uint32_t) (uintptr_t) arg;
	uint64_t w;

	if (mbid == 0) {
		return false;
	}
	w = slot_get(mbid);
	return (w >> 62) != SLOT_ACTOR || (w & SLOT_CLOSED) != 0;
}

uint32_t
arb__route_dst(arb_pid to)
{
	if (!arb__pid_local(to) && tp.open && !tp.addr.in_node) {
		return ARB__MBID_RELAY; // a process actor's: through the node
	}
	return arb__pid_mbid(to);
}

int
arb__route(arb_pid to, const arb__tp_ops **opsp, void **epp)
{
	uint32_t   mbid = arb__pid_mbid(to);
	uint32_t   host; // mbid of the process that hosts it, 0: the node
	arb__mbox *mb;
	arb__link *k;
	char       url[300];
	int        rv = ARB_OK;

	if (!tp.open) {
		return ARB_ENOENT;
	}
	if (!arb__pid_local(to)) {
		// Another node's actor: on the link to that peer.
		const arb__tp_remote *r = atomic_load(&tp_remote);

		if (r != NULL || tp.addr.in_node) {
			rv = r != NULL ? r->link(to, &k) : ARB_ENOENT;
			if (rv == ARB_OK) {
				*opsp = tp_ops_for("tcp://");
				*epp = k;
			}
			return rv;
		}
		// A process actor: on its link to the node, which relays
		// (arb__route_dst names the relay mailbox).
		host = 0;
		to = arb__pid_make(ARB__KIND_NODE, 0, 0);
	} else {
		host = arb__pid_kind(to) == ARB__KIND_PROCESS ? mbid : 0;
	}
	pthread_mutex_lock(&tp.mtx);
	if ((host == 0 && tp.addr.in_node)
	    || (host != 0 && host == arb__pid_mbid(tp.self))) {
		// This process hosts it.
		if ((mb = tp_mbox_get(mbid, true)) == NULL) {
			rv = ARB_ENOENT;
		} else {
			*opsp = &tp_ops[0];
			*epp = mb;
		}
	} else if ((k = arb__idmap_get(&tp.links, (uint64_t) host + 1))
	    != NULL) {
		arb__link_ref(k);
		arb__tp_url(&tp.addr, to, url, sizeof(url));
		*opsp = tp_ops_for(url);
		*epp = k;
	} else {
		arb__tp_url(&tp.addr, to, url, sizeof(url));
		if ((*opsp = tp_ops_for(url)) == NULL) {
			rv = ARB_EINVAL;
		} else if ((rv = arb__link_open(&k, url, &tp.cfg, link_gone,
		                (void *) (uintptr_t) host))
		    == 0) {
			if ((rv = arb__idmap_set(
			         &tp.links, (uint64_t) host + 1, k))
			    != 0) {
				arb__link_rele(k);
			} else {
				arb__link_ref(
				    k); // one for the table, one for us
				*epp = k;
			}
		}
	}
	pthread_mutex_unlock(&tp.mtx);
	return rv;
}

// ---------------------------------------------------------------------------
// Open, close, linger, counters
// ---------------------------------------------------------------------------
void
arb__tp_warm(void)
{
	arb__stream_warm();
}

arb__tp_stats *
arb__tp_counters(void)
{
	return tp.open ? tp.cfg.stats : NULL;
}

int
arb__tp_open(const arb__addr *a, arb_pid self, size_t max_msg)
{
	char url[300];
	int  rv;

	if (tp.open) {
		return ARB_ESTATE; // one transport per process
	}
	memset(&tp.stats, 0, sizeof(tp.stats));
	tp.addr = *a;
	tp.self = self;
	arb__link_cfg_defaults(&tp.cfg);
	tp.cfg.stats = &tp.stats;
	tp.cfg.unreached = tp_unreached;
	tp.cfg.max_frame = ARB__FR_DATA_HDR + ARB__BATCH_MAX(max_msg);
	tp.cfg.self.max_frame = (uint32_t) tp.cfg.max_frame;
	tp.cfg.self.node_id = a->node_id;
	tp.cfg.self.creation = a->creation;
	tp.cfg.self.sender = self.id;
	snprintf(tp.cfg.self.name, sizeof(tp.cfg.self.name), "%s", a->node);
	if ((rv = slots_map(a)) != 0) {
		return rv;
	}
	if (!a->in_node && arb__pid_mbid(self) < SLOT_MAX) {
		// A process actor's counters live in its slot's record, where
		// the node finds them even after a crash (route.c's own stats
		// then stay unused).
		arb__slot_rec *r = &tp.recs[arb__pid_mbid(self)];

		memset(r, 0, sizeof(*r));
		atomic_init(&r->origin.refs, 1); // the record's: never freed
		atomic_store(&r->pid, self.id);
		tp.cfg.stats = &r->tp;
	}
	arb__tp_url(a, a->in_node ? ARB_PID_NONE : self, url, sizeof(url));
	if ((rv = arb__lsn_open(
	         &tp.lsn, url, 0600, &tp_lsn_ops, NULL, &tp.cfg))
	    != 0) {
		slots_unmap();
		return rv;
	}
	tp.open = true;
	return ARB_OK;
}

static void
tp_link_rele(uint64_t key, void *val, void *arg)
{
	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	arb__link_rele(val);
}

static void
tp_mbox_close(uint64_t key, void *val, void *arg)
{
	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	atomic_fetch_add(&tp.cfg.stats->dead, arb__mbox_close(val));
	arb__mbox_rele(val);
}

void
arb__tp_close(void)
{
	arb__lsn  *l;
	arb__idmap links, mboxes;

	if (!tp.open) {
		return;
	}
	pthread_mutex_lock(&tp.mtx);
	tp.open = false;
	l = tp.lsn;
	tp.lsn = NULL;
	links = tp.links;
	mboxes = tp.mboxes;
	memset(&tp.links, 0, sizeof(tp.links));
	memset(&tp.mboxes, 0, sizeof(tp.mboxes));
	pthread_mutex_unlock(&tp.mtx);
	arb__lsn_close(l);
	arb__idmap_each(&links, tp_link_rele, NULL);
	arb__idmap_fini(&links);
	arb__idmap_each(&mboxes, tp_mbox_close, NULL);
	arb__idmap_fini(&mboxes);
	slots_unmap();
	tp.cfg.stats = NULL; // a record's counters went with the mapping
}

typedef struct linger_walk {
	arb__link **links;
	size_t      n;
} linger_walk;

static void
tp_link_collect(uint64_t key, void *val, void *arg)
{
	linger_walk *w = arg;

	ARB_UNUSED(key);
	arb__link_ref(val);
	w->links[w->n++] = val;
}

void
arb__tp_linger(int ms)
{
	int64_t     deadline = arb__now_ms() + ms;
	linger_walk w = { NULL, 0 };
	size_t      i;

	if (!tp.open) {
		return;
	}
	// Wait on each link in turn (they write in parallel): a completed
	// write wakes the waiter at once.
	pthread_mutex_lock(&tp.mtx);
	if (tp.links.count > 0
	    && (w.links = arb__alloc(tp.links.count * sizeof(*w.links)))
	        != NULL) {
		arb__idmap_each(&tp.links, tp_link_collect, &w);
	}
	pthread_mutex_unlock(&tp.mtx);
	for (i = 0; i < w.n; i++) {
		arb__link_wait_idle(w.links[i], deadline, true);
		arb__link_rele(w.links[i]);
	}
	arb__free(w.links);
	// Acknowledge what arrived, so senders do not count it as lost.
	arb__lsn_ack_all(tp.lsn);
}

void
arb__tp_stats_get(arb__tp_totals *t)
{
	memset(t, 0, sizeof(*t));
	if (tp.cfg.stats != NULL) {
		tp_totals_add(t, tp.cfg.stats);
	}
	tp_totals_add(t, &tp_side);
}

arb__tp_stats *
arb__tp_side_counters(void)
{
	return &tp_side;
}
