// SPDX-License-Identifier: MIT
// transport.h -- the message path: mailboxes, outbound queues, routing.
//
// Each OS process (the node, each process actor) has one transport
// (route.c): one link listener at its address, the mailboxes it hosts,
// the links it dialled, and a view of the node's table of child slots.
// A mailbox (mbox.c) is an in-memory queue of batches (chunks, link.h)
// with a mutex, drained by its actor's loop after an event_active(): a
// whole batch crosses threads at a time, never a single message.  An
// outbound queue (outq.c) belongs to one actor loop and keeps, per
// destination, the batch being filled; envelopes produced in one loop turn
// leave as one batch when the turn ends (a lowest-priority event), so a
// lone message is not delayed and a stream pays one hand-off per batch.
//
// Routing (route.c) chooses how a batch reaches its destination through
// an ops table chosen by address scheme, as nng does with its transports:
// "inproc" hands it to a mailbox of this process; "ipc" (and, for the
// multi-node issue, "tcp" and "tls+tcp") puts it on a link to the process
// that hosts the destination (docs/design.md, "Messages").

#ifndef ARB_TRANSPORT_H
#define ARB_TRANSPORT_H

#include "../core/arb_impl.h"
#include "link.h"

struct event;
struct event_base;

// Where this node's transport lives (copied into every process actor's
// INIT).
typedef struct arb__addr {
	char     run_dir[160];
	bool     in_node;  // the node process (hosts the thread actors)
	char     node[64]; // the node's name
	uint32_t node_id;  // arb__node_id(node)
	uint32_t creation; // the node's incarnation (random, never 0)
} arb__addr;

// Bytes of envelopes per batch before a batch is handed on early, and a
// destination's backlog at which arb_send gives ARB_EAGAIN.
#define ARB__OUTQ_BATCH_FLUSH (64u * 1024u)
#define ARB__OUTQ_BACKLOG_MAX (1024u * 1024u)
// The largest batch: a full one, or one envelope of max_msg (+ header).
#define ARB__BATCH_MAX(max_msg) ((max_msg) + ARB__OUTQ_BATCH_FLUSH + 64u)

// ---------------------------------------------------------------------------
// The process's transport (route.c)
// ---------------------------------------------------------------------------
// arb__tp_open starts this process's transport: the slot table (the node
// creates <run_dir>/slots; a process maps it read-only) and the listener
// (the node on <run_dir>/node.link, a process actor on
// <run_dir>/<mbid>.link).  self is the node's pid (kind node, mbid 0) or
// the process actor's pid.  Thread: the process's first thread, once.
int arb__tp_open(const arb__addr *a, arb_pid self, size_t max_msg);
// arb__tp_close closes the listener and every link (what they still hold
// is counted) and releases the rest.  Must not be called from a callback.
void arb__tp_close(void);
// arb__tp_warm starts nng's threads ahead of arb__tp_open (a standby).
void arb__tp_warm(void);
// arb__tp_linger waits (at most ms) until every link has written what it
// holds, and sends pending acknowledgements: a process actor's last words
// before _exit.  Blocks.
void arb__tp_linger(int ms);
// arb__tp_stats_get copies this process's transport counters.
// Thread: any.
typedef struct arb__tp_totals {
	uint64_t lost;       // envelopes possibly lost on links that died
	uint64_t dead;       // envelopes dropped at a known-gone destination
	uint64_t gaps;       // DATA frames missing from a link's sequence
	uint64_t conns;      // link connections accepted (after HELLO)
	uint64_t refused;    // connections refused before or at HELLO
	uint64_t bad_frames; // connections closed on a malformed frame
	uint64_t links_lost; // dialled links that died
	uint64_t dials;      // dial attempts
	uint64_t auth_failed; // node link handshakes refused (either side)
	uint64_t hb_timeouts; // node links closed on heartbeats unanswered
	uint64_t backoff_refused; // connections closed at once: their source
	                          // is backed off (penalty.c)
	uint64_t backoff_evicted; // backed-off sources dropped from a full
	                          // table
	uint64_t replaced; // accepted node data streams closed: a newer one
	                   // of that node authenticated
} arb__tp_totals;
void arb__tp_stats_get(arb__tp_totals *t);
// arb__tp_counters returns the process's live counters (NULL before
// arb__tp_open).  Thread: any.
arb__tp_stats *arb__tp_counters(void);
// arb__tp_side_counters returns the counters of the process's other link
// listeners (the control socket), valid at any time and added to
// arb__tp_stats_get's totals.  Thread: any.
arb__tp_stats *arb__tp_side_counters(void);
// arb__tp_deliver hands a batch that arrived on a link to the mailbox
// ch->dst of this process (ownership passes; no such mailbox: counted as
// a dead letter).  Returns true when that mailbox is over its high-water
// mark (the link then pauses it).  Thread: any (link callbacks).
bool arb__tp_deliver(arb__chunk *ch);
// How routing reaches other nodes: peer.c gives these while its peers
// are open (route.c calls nothing of peer.c by name).  reachable: ARB_OK
// when `to` (a pid of another node) can be sent to now: its node is a
// peer whose link is up, and `to` names the peer's current incarnation
// (or creation 0); ARB_ENOENT otherwise.  link: a reference to the link
// to to's node (released with arb__link_rele), ARB_ENOENT for no peer.
// Thread: any.
typedef struct arb__tp_remote {
	int (*reachable)(arb_pid to);
	int (*link)(arb_pid to, arb__link **kp);
	// resume: mailbox mbid (paused by a peer's batch) has room again:
	// RESUME on every accepted node link that paused it.  Thread: any.
	void (*resume)(uint32_t mbid);
} arb__tp_remote;
// arb__tp_set_remote installs r (NULL: other nodes are unreachable).
void arb__tp_set_remote(const arb__tp_remote *r);
// arb__tp_deliver_remote is arb__tp_deliver for a batch from another
// node, in the node process: a process actor's batch is forwarded on the
// link to its process (dropped and counted when that link is full).
bool arb__tp_deliver_remote(arb__chunk *ch);
// arb__tp_mbox_full: mailbox mbid of this process is still over its high
// mark (the listeners' question after recording a PAUSE).  Thread: any.
bool arb__tp_mbox_full(uint32_t mbid);
// arb__tp_url writes the address of the process hosting pid's mailbox.
void arb__tp_url(const arb__addr *a, arb_pid pid, char *buf, size_t len);

// --- the table of child slots (route.c) ------------------------------------
// One 64-bit word per mailbox id, written by the node, read by every
// process: whether the slot exists, its kind, and the incarnation that
// holds it now (0: none running).  arb_send gives ARB_ENOENT from it for a
// slot that never existed or was removed and for an exact pid whose
// incarnation is no longer the slot's.  Thread: any.
void arb__slot_new(uint32_t mbid, unsigned kind); // kind: ARB__KIND_*
// arb__slot_run records the incarnation inc that holds the slot now (0:
// none); a new incarnation opens a closed slot again.
void arb__slot_run(uint32_t mbid, uint32_t inc);
// arb__slot_close says no incarnation will read the slot's mailbox (its
// actor ended and will not be restarted: a transient child that ended
// normally, a temporary one, a child stopped by an operator or with its
// supervisor; docs/actors.md): sends to its slot address give ARB_ENOENT
// until an incarnation runs there again, and what its mailbox in this
// process holds goes to the node's noproc mailbox (ARB__MBID_NOPROC),
// which answers each request in it noproc and counts every envelope as a
// dead letter, as what arrives for the slot from then on.
void arb__slot_close(uint32_t mbid);
// arb__slot_remove marks the slot removed and closes its mailbox in this
// process, whose batches go to the noproc mailbox as above when the node
// has one; returns the envelopes dropped instead (dead letters).
size_t arb__slot_remove(uint32_t mbid);
// arb__slot_check returns ARB_OK when `to` may have a mailbox now.  For
// another node's pid in a process actor: when its node's view of that
// peer (below) says it is up in to's incarnation (or creation 0).
int    arb__slot_check(arb_pid to);
// arb__slot_peer_set publishes the node's peer idx to its process actors
// (the same file, after the records): node_id up in incarnation creation
// (0: down).  peer.c calls it, in the node, when the peer's link comes up
// or goes down.  Thread: any.
void   arb__slot_peer_set(size_t idx, uint32_t node_id, uint32_t creation);

// Word 0 of the table (mailbox id 0 is the node's, which has no slot)
// holds the generation of the node's topic table (pub/sub): the node
// sets it after every change of a subscription; a publisher that keeps a
// topic's subscribers asks the node again when it differs from the one
// its copy came with.  arb__tp_topics_gen returns UINT64_MAX without a
// table (ask every time).  Thread: any.
void     arb__tp_topics_set(uint64_t gen);
uint64_t arb__tp_topics_gen(void);

// Each slot also has a record in the same file, written by the process
// actor that holds the slot and read by the node: its counters live there
// (so the node has them after a crash too) with the number of envelopes
// waiting in its mailbox.  Process actors only; 64-bit fields, each
// written by one thread.
typedef struct arb__slot_rec {
	_Atomic uint64_t pid;    // pid.id of the incarnation writing it
	_Atomic uint64_t queued; // envelopes in its mailbox now
	arb_stats        stats;  // its counters (the actor's loop writes)
	arb__origin      origin; // its outbound queue's losses
	arb__tp_stats    tp;     // its process's transport counters
	uint8_t          pad[256 - 16 - sizeof(arb_stats) -
	             sizeof(arb__origin) - sizeof(arb__tp_stats)];
} arb__slot_rec;
// arb__slot_rec_final returns the counters of the process actor `pid` as
// its record holds them once the process has ended (its queued
// envelopes counted as dead letters); false when the record is someone
// else's (or there is none).  Node thread.
bool arb__slot_rec_final(arb_pid pid, arb_stats *st);
// arb__slot_rec_tp adds the transport counters of the process actor pid
// (its listener and links) to *t; false when the record is not its.
bool arb__slot_rec_tp(arb_pid pid, arb__tp_totals *t);
// arb__slot_rec returns mbid's record, or NULL without a table.
arb__slot_rec *arb__slot_rec_get(uint32_t mbid);

// ---------------------------------------------------------------------------
// Mailboxes (mbox.c)
// ---------------------------------------------------------------------------
typedef struct arb__mbox     arb__mbox;
typedef struct arb__mbox_att arb__mbox_att;
typedef void (*arb__batch_cb)(void *arg, const void *data, size_t len);

// arb__mbox_open returns a reference to the mailbox of child slot mbid in
// this process, making it (detached) if needed.  The mailbox belongs to
// the slot: it passes from one incarnation to the next and lives until
// the slot is removed (arb__slot_remove), so what was queued during a
// restart is delivered to the new incarnation.  Thread: any.
int arb__mbox_open(arb__mbox **mbp, uint32_t mbid);
// arb__mbox_rele drops a reference.  NULL is a harmless no-op.
void arb__mbox_rele(arb__mbox *mb);
// arb__mbox_attach delivers the mailbox's batches to cb on base's loop
// from now on (an earlier attachment stops receiving); drained (may be
// NULL) runs after each wakeup's batches, so replies produced while
// draining leave as one batch even if the loop never goes idle.
// arb__mbox_detach takes it off the loop (on that loop's thread) without
// losing what is queued, and frees *att.  arb__mbox_pause stops delivery
// (the actor is exiting; the node's names mailbox while a named actor's
// queue is full, names.c); arb__mbox_unpause starts it again (what came
// meanwhile is delivered, and a link it paused is resumed once it drains).
int  arb__mbox_attach(arb__mbox *mb, struct event_base *base, arb__batch_cb cb,
     void (*drained)(void *arg), void *arg, arb__mbox_att **attp);
void arb__mbox_detach(arb__mbox_att *att);  // NULL is a no-op
void arb__mbox_pause(arb__mbox_att *att);   // NULL is a no-op
void arb__mbox_unpause(arb__mbox_att *att); // NULL is a no-op
// arb__mbox_drop empties the queue and returns the envelopes it held
// (an exiting process counts them as dead letters).
size_t arb__mbox_drop(arb__mbox *mb);
// arb__mbox_publish keeps *count equal to the envelopes queued (a process
// actor's slot record, for the node to count after a crash).
void arb__mbox_publish(arb__mbox *mb, _Atomic uint64_t *count);

// Internal to the transport (route.c and mbox.c).  arb__mbox_new makes
// a mailbox (refs 1); resume(mbid) is called when it drained below its
// low-water mark after a link was told to PAUSE it (route.c tells the
// links: given, not called by name, so mbox.c calls nothing of route.c).
typedef void (*arb__mbox_resume_fn)(uint32_t mbid);
int    arb__mbox_new(
       arb__mbox **mbp, uint32_t mbid, arb__mbox_resume_fn resume);
int    arb__mbox_put(arb__mbox *mb, arb__chunk *ch, struct event *waiter);
void   arb__mbox_unwait(arb__mbox *mb, struct event *waiter);
// arb__mbox_put_link takes ch from a link (never refused for room: true
// means over the high mark, PAUSE the link); a closed mailbox drops it,
// counted.  With sealed not NULL, a sealed mailbox does not take it
// (*sealed true: the caller hands it on).
bool arb__mbox_put_link(
    arb__mbox *mb, arb__chunk *ch, arb__tp_stats *st, bool *sealed);
bool   arb__mbox_still_full(arb__mbox *mb);
size_t arb__mbox_close(arb__mbox *mb); // no more puts; returns dropped
// arb__mbox_take empties the queue and returns its batches (a list by
// next, the caller's), waking refused producers and resuming a paused
// link; with close, no more puts (as arb__mbox_close).  A slot nothing
// will read again hands them to the node's noproc mailbox (route.c),
// whose requests are answered.
arb__chunk *arb__mbox_take(arb__mbox *mb, bool close);
// arb__mbox_seal (on) refuses every later put with ARB_ENOENT (a
// sender's outbound queue answers its requests noproc, outq.c) and
// returns what the mailbox held, as arb__mbox_take: its slot is closed,
// nothing will read it (arb__slot_close).  Off: it takes puts again (a
// new incarnation runs there, arb__slot_run).
arb__chunk *arb__mbox_seal(arb__mbox *mb, bool on);
void   arb__mbox_ref(arb__mbox *mb);

// ---------------------------------------------------------------------------
// Routing (route.c): how a batch reaches a destination mailbox.
// ---------------------------------------------------------------------------
typedef struct arb__tp_ops {
	const char *scheme;  // "inproc", "ipc", "tcp", "tls+tcp"
	bool        settles; // a put's success means delivered (a mailbox)
	// put hands ch over (ARB_OK), or refuses it: ARB_EAGAIN (full or
	// paused; waiter is made active when that may change), ARB_ENOENT
	// (gone for good).
	int (*put)(void *ep, arb__chunk *ch, struct event *waiter);
	void (*unwait)(void *ep, struct event *waiter);
	void (*rele)(void *ep);
} arb__tp_ops;

// arb__route finds the endpoint for `to` (a reference in *epp, released
// with (*opsp)->rele).  ARB_ENOENT when `to` cannot have a mailbox.
int arb__route(arb_pid to, const arb__tp_ops **opsp, void **epp);
// arb__route_dst is the mailbox id a batch for `to` names on its first
// hop: to's own, or in a process actor for another node's pid the node's
// relay mailbox (ARB__MBID_RELAY).  Thread: any.
uint32_t arb__route_dst(arb_pid to);

// ---------------------------------------------------------------------------
// Outbound queues (outq.c)
// ---------------------------------------------------------------------------
typedef struct arb__outq arb__outq;

int arb__outq_open(arb__outq **qp, struct event_base *base, size_t max_msg);
// arb__outq_push encodes m for m->to.  Returns ARB_EAGAIN when that
// destination's backlog is full, ARB_EMSGSIZE over max_msg, ARB_ENOENT
// for a pid that cannot have a mailbox (now), ARB_ENOMEM.  m stays the
// caller's.
int arb__outq_push(arb__outq *q, const arb_msg *m);
// arb__outq_notice is arb__outq_push for the node's own notices to its
// actors (PEER_LOST, the registry's DOWN and EXIT): never ARB_EAGAIN, it
// goes past a full backlog.  A notice is one envelope per actor (per
// monitor or link) per event (a peer's DOWN, an exit), so what it
// adds is bounded; refused, it would be lost for good (its actor's calls
// would wait for their timeouts).
int arb__outq_notice(arb__outq *q, const arb_msg *m);
// arb__outq_flush hands every pending batch on now (non-blocking).
void arb__outq_flush(arb__outq *q);
// arb__outq_on_flush makes cb(arg) run after each flush the queue's own
// events run (the end of a turn, or an endpoint that refused a batch has
// room again): a producer arb__outq_push refused with ARB_EAGAIN may try
// again then (the node's names mailbox, names.c).  cb NULL: none.
void arb__outq_on_flush(arb__outq *q, void (*cb)(void *arg), void *arg);
// arb__outq_backlog returns the bytes not yet handed on.
size_t   arb__outq_backlog(const arb__outq *q);
uint64_t arb__outq_batches(const arb__outq *q);
// arb__outq_origin returns the queue's share of the loss counters;
// arb__outq_set_origin replaces it (a process actor's lives in its slot
// record) before anything was sent.
arb__origin *arb__outq_origin(const arb__outq *q);
void         arb__outq_set_origin(arb__outq *q, arb__origin *o);
// arb__outq_idle is true when nothing waits to be handed on (so none of
// the queue's events is armed).
bool arb__outq_idle(const arb__outq *q);
// arb__outq_owns is true when ev is one of an outbound queue's own events.
bool arb__outq_owns(const struct event *ev);
// arb__outq_linger flushes and waits (at most ms) until every pending
// batch has been handed on (to a mailbox or a link), so an exiting
// actor's last messages are not lost with it.  Blocks: call it on the
// actor's own thread as it ends, never on the node loop.
void arb__outq_linger(arb__outq *q, int ms);
// arb__outq_close hands on what it can; what is left is counted as dead
// letters.  NULL is a harmless no-op.
void arb__outq_close(arb__outq *q);

// ---------------------------------------------------------------------------
// Peers: links to the other nodes (peer.c, docs/multinode.md).  The node
// process only.
// ---------------------------------------------------------------------------
typedef struct arb__peers_cfg {
	const char          *listen; // tcp:// or tls+tcp:// URL, or NULL
	const arb_node_peer *peers;
	size_t               npeers;
	const char          *cookie_file;
	bool                 insecure;
	arb__tls_files       tls;     // tls+tcp:// (all three, or none)
	int                  hb_ms;   // 0: default
	int                  hb_miss; // 0: default
	// The listener's bound on unproven connections (tp_lsn.c): 0,
	// min(256, the hard fd limit / 4); its per-source bound is an
	// eighth of it, at least min(it, 4) (arb__peers_unproven).
	int max_unproven;
	// event tells the node that peer `idx` came up (with its creation)
	// or was lost.  Called on nng's or the timer's thread: it must only
	// record and wake the node's loop.
	void (*event)(void *arg, size_t idx, bool up, uint32_t creation);
	void *arg;
} arb__peers_cfg;

#define ARB__HB_MS_DEFAULT   500
#define ARB__UNPROVEN_MAX    256 // the default bound's ceiling
#define ARB__HB_MISS_DEFAULT 4

// arb__peers_check validates cfg (no I/O but the cookie file's checks);
// err gets a sentence naming what is wrong.
int arb__peers_check(const arb__peers_cfg *cfg, const char *self_name,
    char *err, size_t errlen);
// arb__peers_open listens on cfg->listen and keeps a link to every peer.
// Needs arb__tp_open first.  err as arb__peers_check's.
int arb__peers_open(const arb__peers_cfg *cfg, const arb__addr *self,
    size_t max_msg, char *err, size_t errlen);
// arb__peers_unproven: the node listener's bounds on unproven
// connections for max (arb__peers_cfg.max_unproven, 0: the default),
// in all (*total) and from one source address (*per_src).  This
// function can't fail.
void arb__peers_unproven(int max, int *total, int *per_src);
// arb__peers_unproven_refused: connections the node's listener closed at
// once for its bound on unproven connections.  Thread: any.
uint64_t arb__peers_unproven_refused(void);
// arb__peers_close closes the listener and every peer link.
void arb__peers_close(void);
// arb__peers_info: as arb_node_peers.  Thread: any.
size_t arb__peers_info(arb_peer_info *out, size_t max);
// arb__peers_closed_with_peer: the peers' data streams the listener
// closed because the node took that peer DOWN (peer.c; not in
// arb__tp_stats, whose size the slot records fix).  Thread: any.
uint64_t arb__peers_closed_with_peer(void);
// arb__peers_adopted, arb__peers_merged: arb_node_stats.link_adopted and
// link_merged (the links' counters, tp_link.c).  Thread: any.
uint64_t arb__peers_adopted(void);
uint64_t arb__peers_merged(void);
// arb__peers_forged: arb_node_stats.link_forged, the envelopes refused
// from peers (arb__forged_strip).  Thread: any.
uint64_t arb__peers_forged(void);
// arb__peers_port: the bound port of the listener (0: none).
int arb__peers_port(void);
// arb__peers_node_id gives peer idx's node id (0: no such peer).
uint32_t arb__peers_node_id(size_t idx);
// arb__peers_find gives the node id of the peer named name (0: none of
// this node's peers).  Thread: any.
uint32_t arb__peers_find(const char *name);

// The reserved tags that cross a link: the agent's (0xFFFF01xx) and the
// service mailbox's (0xFFFF02xx) node-to-node messages.  The rest of
// ARB_TAG_SYSTEM's range (DOWN, EXIT, PEER_LOST...) only this node sends
// to its own actors.
#define ARB__TAG_PEER_FIRST 0xFFFF0100u
#define ARB__TAG_PEER_LAST  0xFFFF02FFu

// What arb__forged_strip tells of the first envelope it refused.
typedef struct arb__forged {
	arb_pid     from;
	uint32_t    tag;
	const char *why; // a string constant
} arb__forged;

// arb__forged_strip removes from ch, a batch that arrived on a link of
// the peer node `node` of incarnation `creation`, every envelope that
// peer may not send (forged.c): a `from` that is not a pid of that node
// and incarnation (a bare id, read as a pid of this node, included), or
// a reserved tag outside ARB__TAG_PEER_FIRST..LAST.  The envelopes kept
// stay in order and ch->len and ch->nenv shrink to them; bytes the
// envelope decoder cannot read are kept as they are, for the mailbox's
// reader to reject (and count) as before.  Returns how many envelopes
// it removed (ch->len may be 0 then), and when some, *first (if not
// NULL) describes the first.  Copies nothing when it removes nothing.
// This function can't fail.  Thread: any.
uint32_t arb__forged_strip(
    arb__chunk *ch, uint32_t node, uint32_t creation, arb__forged *first);

#endif // ARB_TRANSPORT_H
