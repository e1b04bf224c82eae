// SPDX-License-Identifier: MIT
// watch.c -- monitors and links across nodes: the node's service mailbox.
//
// A monitor or link of another node's actor binds, here, to a registry
// entry standing for it (supervisor/service.c).  When that entry is made
// the node asks the actor's node to watch it: WATCH(target) to that
// node's service mailbox (ARB__MBID_SVC).  The node watched makes a
// registry monitor of the target whose watcher is its own service pid;
// when it fires (the actor's end, or noproc at once for one that is not
// running) it answers DOWN(target as asked, the real reason) -- for a
// slot address asked, SLOT_DOWN(the incarnation watched) -- and the
// asking node takes the entry down with that reason: its monitors fire
// once, its links propagate as locally, and the entry is gone, so node
// loss (noconnection) never fires it again.  Each WATCH names its watch
// in the envelope's ref (the asking entry's arb__reg_watch_id) and every
// answer echoes it, so the asking node takes an entry down only with the
// answer to the watch it asked for now: the answer to an earlier watch of
// the same target (demonitored and monitored again while it was on its
// way) is stale and dropped.  A link is made on both
// nodes (LINK / UNLINK): each side watches the other's actor and applies
// trap_exit to its own, so exit signals cross both ways and node loss
// signals noconnection on both sides.
//
// All of it is ordinary envelopes on the node links, to a mailbox the
// node loop owns (docs/wire.md): nothing on the data path.  The state a
// peer can make here is bounded: one watch per (peer, target) (a second
// WATCH of the same target is a no-op), at most watch_max per peer
// (beyond it the WATCH is refused, counted and logged, and answered with
// a DOWN whose reason says so), and none for an actor not running (noproc
// at once).  A peer's watches are dropped when it is lost.  Thread: node.

#include "node_int.h"

#include <stdio.h>
#include <string.h>

// One watch: peer's service (asker) asked for target (asked, echoed in
// the DOWN) with the watch id wid (echoed as the DOWN's ref); ref is the
// registry monitor's.
typedef struct arb__watch {
	uint64_t ref;
	uint64_t wid;
	uint64_t key;
	arb_pid  asker;
	arb_pid  asked;
	arb_pid  bound; // the incarnation watched
	size_t   peer; // the peer's index
	uint64_t gen;  // its link's ups count when the watch was made
} arb__watch;

static arb_pid
svc_pid(uint32_t node, uint32_t creation)
{
	arb_pid p = arb__pid_make(ARB__KIND_NODE, ARB__MBID_SVC, 0);

	if (node != 0) {
		p.node = node;
		p.creation = creation;
	}
	return p;
}

// watch_key hashes (peer, asked) (FNV-1a over the three words; never 0).
static uint64_t
watch_key(uint32_t peer, arb_pid asked)
{
	uint64_t w[3] = { peer, asked.id, asked.creation };
	uint64_t h = 14695981039346656037ull;
	size_t   i, j;

	for (i = 0; i < 3; i++) {
		for (j = 0; j < 8; j++) {
			h ^= (w[i] >> (8 * j)) & 0xFFu;
			h *= 1099511628211ull;
		}
	}
	return h != 0 ? h : 1;
}

// peer_index finds node_id among the node's peers (-1: none).
static int
peer_index(const arb_node *node, uint32_t node_id)
{
	size_t i;

	for (i = 0; i < node->npeers; i++) {
		if (arb__peers_node_id(i) == node_id) {
			return (int) i;
		}
	}
	return -1;
}

// svc_send sends one service message (an exit reason body, who wide;
// ref: the watch id it asks for or answers, else 0).  What cannot leave
// (the peer is lost, its backlog is full) is counted as a dead letter of
// the node.
static int
svc_send(arb_node *node, arb_pid from, arb_pid to, uint32_t tag, uint64_t ref,
    arb_pid who, const arb_exit *why)
{
	arb__buf b = { 0 };
	arb_msg  m = { 0 };
	int      rv;

	if ((rv = arb__codec_encode_exit_wide(&b, who, why)) == ARB_OK) {
		m.from = from;
		m.to = to;
		m.tag = tag;
		m.ref = ref;
		m.body = b.data;
		m.len = b.len;
		rv = arb__outq_push(node->outq, &m);
	}
	arb__buf_fini(&b);
	if (rv != ARB_OK) {
		node->tree.dead_letters++;
	}
	return rv;
}

bool
arb__watch_ask(arb_node *node, arb_pid target, bool on)
{
	arb_exit none = { .kind = ARB_EXIT_NORMAL };
	int      rv;

	// A WATCH names its watch (the entry's id); an UNWATCH names the
	// target only (the entry is gone; the other node has one watch per
	// target and asker, and takes WATCH and UNWATCH in order).
	rv = svc_send(node, svc_pid(0, 0),
	    svc_pid(target.node, target.creation),
	    on ? ARB__TAG_NODE_WATCH : ARB__TAG_NODE_UNWATCH,
	    on ? arb__reg_watch_id(node->reg, target) : 0, target, &none);
	arb__outq_flush(node->outq);
	return rv == ARB_OK;
}

void
arb__watch_link(arb_node *node, arb_pid self, arb_pid target, bool on)
{
	arb_exit none = { .kind = ARB_EXIT_NORMAL };

	// From the local actor itself: the other node links it.
	svc_send(node, self, svc_pid(target.node, target.creation),
	    on ? ARB__TAG_NODE_LINK : ARB__TAG_NODE_UNLINK, 0, target, &none);
	arb__outq_flush(node->outq);
}

static void
watch_free(arb_node *node, arb__watch *w)
{
	arb__idmap_del(&node->watch_by_ref, w->ref);
	arb__idmap_del(&node->watch_by_key, w->key);
	node->watch_n[w->peer]--;
	node->watches--;
	arb__free(w);
}

bool
arb__watch_fired(arb_node *node, arb_pid to, uint64_t ref, const arb_exit *why)
{
	arb__watch *w;

	if (!arb__pid_local(to) || arb__pid_kind(to) != ARB__KIND_NODE
	    || arb__pid_mbid(to) != ARB__MBID_SVC) {
		return false; // not ours
	}
	if ((w = arb__idmap_get(&node->watch_by_ref, ref)) != NULL) {
		// A slot address asked: SLOT_DOWN naming the incarnation that
		// was watched, as a local monitor's DOWN does -- its own tag,
		// so the asker takes down its slot address's entry and never
		// guesses from the pid (a plain DOWN of that incarnation, a
		// late answer to a watch of it, must not).  Otherwise DOWN
		// naming the target as asked (a name address, the name:
		// Erlang's {Name, Node}).  Either names the watch it answers.
		if (arb_pid_is_slot(w->asked)) {
			svc_send(node, svc_pid(0, 0), w->asker,
			    ARB__TAG_NODE_SLOT_DOWN, w->wid, w->bound, why);
		} else {
			svc_send(node, svc_pid(0, 0), w->asker,
			    ARB__TAG_NODE_DOWN, w->wid, w->asked, why);
		}
		watch_free(node, w);
	}
	return true;
}

static void
watch_refused(arb_node *node, const arb_msg *m, arb_pid asked, size_t peer)
{
	arb_exit why = { .kind = ARB_EXIT_ERROR, .code = ARB_ENOSPC };
	int64_t  now = arb__now_ms();

	snprintf(why.text, sizeof(why.text),
	    "watch limit reached at node %s (%zu per peer)", node->name,
	    node->watch_max);
	svc_send(node, svc_pid(0, 0), m->from, ARB__TAG_NODE_DOWN, m->ref,
	    asked, &why);
	node->watch_refused++;
	if (now - node->watch_log_ms < 1000) {
		node->watch_suppressed++;
		return;
	}
	node->watch_log_ms = now;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=watch_refused from_node=%08x watches=%zu limit=%zu "
	    "refused=%llu suppressed=%llu",
	    (unsigned) m->from.node, node->watch_n[peer], node->watch_max,
	    (unsigned long long) node->watch_refused,
	    (unsigned long long) node->watch_suppressed);
	node->watch_suppressed = 0;
}

// watch_target is the incarnation a WATCH of asked binds to: asked's
// (a slot address: the one holding the slot now), or for a name address
// the one holding the name now (ARB_PID_NONE: none).
static arb_pid
watch_target(arb_node *node, arb_pid asked)
{
	arb_pid to = asked;

	if (arb__pid_is_name(asked)
	    && arb__reg_whereis_hash(node->reg, arb__pid_inc(asked), &to)
	        != ARB_OK) {
		return ARB_PID_NONE;
	}
	return arb__reg_current(node->reg, to);
}

// watch_taken says at debug level which watch a WATCH made (or renamed:
// a target watched already), by the id its answer will echo.
static void
watch_taken(const arb_msg *m, const arb__watch *w)
{
	arb__log(ARB_LOG_DEBUG, NULL,
	    "event=watch_taken from_node=%08x watch=%llu asked=%016llx "
	    "bound=%016llx",
	    (unsigned) m->from.node, (unsigned long long) w->wid,
	    (unsigned long long) w->asked.id,
	    (unsigned long long) w->bound.id);
}

// svc_watch answers a peer's WATCH of asked, an actor of this node (or
// a name here: the actor holding it now is watched, the DOWN names the
// name address as asked).
static void
svc_watch(arb_node *node, const arb_msg *m, arb_pid asked, size_t peer)
{
	arb_exit      noproc = { .kind = ARB_EXIT_NOPROC };
	arb_peer_info info[ARB_NODE_PEERS_MAX];
	arb__watch   *w;
	arb_pid       cur = watch_target(node, asked);
	uint64_t      key = watch_key(m->from.node, asked);

	if (!arb__pid_local(asked) || arb_pid_eq(cur, ARB_PID_NONE)
	    || !arb__reg_alive(node->reg, cur)) {
		// Not running (or another incarnation of this node's): DOWN
		// noproc at once, nothing kept.
		svc_send(node, svc_pid(0, 0), m->from, ARB__TAG_NODE_DOWN,
		    m->ref, asked, &noproc);
		return;
	}
	if ((w = arb__idmap_get(&node->watch_by_key, key)) != NULL) {
		if (arb_pid_eq(w->asked, asked) && w->peer == peer) {
			// Watched already: one DOWN, answering the latest
			// WATCH (the asker's entry of now).
			w->asker = m->from;
			w->wid = m->ref;
			watch_taken(m, w);
			return;
		}
		watch_refused(node, m, asked, peer); // a hash collision
		return;
	}
	if (arb__peers_info(info, ARB_NODE_PEERS_MAX) <= peer
	    || info[peer].downs >= info[peer].ups) {
		return; // its link is gone already: its loss says the rest
	}
	if (node->watch_n[peer] >= node->watch_max
	    || (w = arb__alloc(sizeof(*w))) == NULL) {
		watch_refused(node, m, asked, peer);
		return;
	}
	w->key = key;
	w->wid = m->ref;
	w->asker = m->from;
	w->asked = asked;
	w->bound = cur;
	w->peer = peer;
	// The link this WATCH came on (or a later one): its loss, counted
	// after it, drops the watch; an earlier loss still to be handled
	// does not.
	w->gen = info[peer].ups;
	if (arb__reg_monitor(node->reg, svc_pid(0, 0), cur, &w->ref) != ARB_OK
	    || arb__idmap_set(&node->watch_by_ref, w->ref, w) != 0) {
		arb__reg_demonitor(node->reg, svc_pid(0, 0), w->ref);
		arb__free(w);
		watch_refused(node, m, asked, peer);
		return;
	}
	if (arb__idmap_set(&node->watch_by_key, key, w) != 0) {
		arb__reg_demonitor(node->reg, svc_pid(0, 0), w->ref);
		arb__idmap_del(&node->watch_by_ref, w->ref);
		arb__free(w);
		watch_refused(node, m, asked, peer);
		return;
	}
	node->watch_n[peer]++;
	node->watches++;
	watch_taken(m, w);
}

// svc_unwatch: the peer no longer watches asked (nothing there monitors
// or links it any more).
static void
svc_unwatch(arb_node *node, const arb_msg *m, arb_pid asked, size_t peer)
{
	arb__watch *w = arb__idmap_get(
	    &node->watch_by_key, watch_key(m->from.node, asked));

	if (w != NULL && w->peer == peer && arb_pid_eq(w->asked, asked)) {
		arb__reg_demonitor(node->reg, svc_pid(0, 0), w->ref);
		watch_free(node, w);
	}
}

static void
svc_rejected(arb_node *node, const arb_msg *m, const char *what)
{
	node->tree.dead_letters++;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=rejected_message mailbox=service from_node=%08x tag=%u "
	    "error=\"%s\"",
	    (unsigned) m->from.node, (unsigned) m->tag, what);
}

// svc_answered: a DOWN or SLOT_DOWN answered a watch this node no longer
// holds under that id (stale: the same target watched again since) --
// dropped, said at debug level; as for a late answer (no entry at all),
// nothing is counted.
static void
svc_answered(const arb_msg *m, arb_pid who, arb__reg_answer r)
{
	if (r == ARB__REG_ANSWER_STALE) {
		arb__log(ARB_LOG_DEBUG, NULL,
		    "event=stale_down from_node=%08x tag=%u watch=%llu "
		    "who=%016llx",
		    (unsigned) m->from.node, (unsigned) m->tag,
		    (unsigned long long) m->ref, (unsigned long long) who.id);
	}
}

static void
svc_one(arb_node *node, arb_msg *m)
{
	arb_pid  who;
	arb_exit why;
	int      peer = peer_index(node, m->from.node);

	if (peer < 0 || m->from.node == arb__local.node) {
		svc_rejected(node, m, "not from a peer");
		return;
	}
	if (arb__codec_decode_exit(m->body, m->len, &who, &why) != ARB_OK) {
		svc_rejected(node, m, "bad body");
		return;
	}
	switch (m->tag) {
	case ARB__TAG_NODE_WATCH:
		svc_watch(node, m, who, (size_t) peer);
		return;
	case ARB__TAG_NODE_UNWATCH:
		svc_unwatch(node, m, who, (size_t) peer);
		return;
	case ARB__TAG_NODE_DOWN:
		// A node reports only its own actors' ends.
		if (who.node != m->from.node) {
			svc_rejected(node, m, "DOWN of another node's actor");
			return;
		}
		svc_answered(
		    m, who, arb__reg_watch_down(node->reg, who, m->ref, &why));
		return;
	case ARB__TAG_NODE_SLOT_DOWN:
		// Names the incarnation that held the watched slot.
		if (who.node != m->from.node) {
			svc_rejected(node, m, "DOWN of another node's actor");
			return;
		}
		if (arb__pid_is_name(who) || arb_pid_is_slot(who)) {
			svc_rejected(
			    node, m, "slot DOWN naming no incarnation");
			return;
		}
		svc_answered(
		    m, who, arb__reg_slot_down(node->reg, who, m->ref, &why));
		return;
	case ARB__TAG_NODE_LINK:
	case ARB__TAG_NODE_UNLINK:
		if (!arb__pid_local(who)) {
			svc_rejected(node, m, "LINK of another node's actor");
			return;
		}
		arb__stree_remote_link(
		    &node->tree, who, m->from, m->tag == ARB__TAG_NODE_LINK);
		return;
	}
	svc_rejected(node, m, "unknown tag");
}

int
arb__watch_open(arb_node *node, size_t watch_max)
{
	node->watch_max = watch_max > 0 ? watch_max : ARB__WATCH_MAX;
	return arb__nodembox_open(
	    &node->svc_nb, node, ARB__MBID_SVC, "service", svc_one);
}

typedef struct watch_walk {
	size_t       peer;
	uint64_t     gen;
	arb__watch **out;
	size_t       n;
} watch_walk;

static void
watch_walk_cb(uint64_t key, void *val, void *arg)
{
	watch_walk *ww = arg;
	arb__watch *w = val;

	ARB_UNUSED(key);
	if (w->peer == ww->peer && w->gen <= ww->gen) {
		ww->out[ww->n++] = w;
	}
}

size_t
arb__watch_peer_lost(arb_node *node, size_t peer, uint64_t downs)
{
	watch_walk ww = { .peer = peer, .gen = downs };
	size_t     i;

	if (peer >= ARB_NODE_PEERS_MAX || node->watch_n[peer] == 0) {
		return 0;
	}
	ww.out = arb__alloc(sizeof(*ww.out) * node->watch_n[peer]);
	if (ww.out == NULL) {
		arb__panic("out of memory dropping a lost peer's watches");
	}
	arb__idmap_each(&node->watch_by_ref, watch_walk_cb, &ww);
	for (i = 0; i < ww.n; i++) {
		arb__reg_demonitor(node->reg, svc_pid(0, 0), ww.out[i]->ref);
		watch_free(node, ww.out[i]);
	}
	arb__free(ww.out);
	return ww.n;
}

static void
watch_free_cb(uint64_t key, void *val, void *arg)
{
	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	arb__free(val);
}

void
arb__watch_close(arb_node *node)
{
	arb__nodembox_close(&node->svc_nb);
	arb__idmap_each(&node->watch_by_ref, watch_free_cb, NULL);
	arb__idmap_fini(&node->watch_by_ref);
	arb__idmap_fini(&node->watch_by_key);
	memset(node->watch_n, 0, sizeof(node->watch_n));
	node->watches = 0;
}
