// SPDX-License-Identifier: MIT
// node_int.h -- private header of src/node/ (and of the operator layer,
// src/ops/, which sits above the node): the node object.
//
// The node owns the supervision tree (supervisor/sup_rt.h) and everything
// around it: the loop, signals, the registry's way out (the node's
// outbound queue), hooks and the operator layer's services.  Nothing
// below the node includes this header.  Everything here runs on the node
// thread (the thread inside arb_node_run) unless it says otherwise.

#ifndef ARB_NODE_INT_H
#define ARB_NODE_INT_H

#include "../supervisor/sup_rt.h"

#include <limits.h>
#include <stdatomic.h>

struct event;
struct event_base;

// A service of the node (the operator layer, src/ops/): hooks of its own
// beside the program's (arb_node_set_hooks), and a close callback that
// arb_node_close runs first, while the loop and the tree still exist.
#define ARB__SERVICES_MAX 4
typedef struct arb__service {
	arb_node_hooks hooks;
	void          *arg;
	void (*close)(arb_node *node, void *arg);
} arb__service;

// arb__node_service_add registers svc (copied).  ARB_ENOSPC when
// ARB__SERVICES_MAX are registered.  Thread: node (before arb_node_run).
int arb__node_service_add(arb_node *node, const arb__service *svc);

// A mailbox the node loop owns at a reserved mailbox id (nodembox.c):
// cb gets each envelope of its batches (the body is valid during the
// call); an unreadable rest of a batch is counted in the node's
// dead_letters and logged (event=rejected_frame mailbox=name), and the
// node's outbound queue is flushed when the batches are drained.
//
// A cb that cannot take its envelope now calls arb__nodembox_hold: that
// envelope and everything after it (the rest of the batch, the batches
// the wakeup took, and what comes next) wait, in order; the mailbox
// stops delivering, so it fills and the links that fill it are paused
// (PAUSE, as for an actor's mailbox).  arb__nodembox_retry reads what
// waits again from that envelope on, and once all of it was taken
// the mailbox delivers again (and resumes those links as it drains).
typedef void (*arb__nodembox_cb)(arb_node *node, arb_msg *m);
typedef struct arb__nodembox_held arb__nodembox_held;
typedef struct arb__nodembox {
	arb_node           *node;
	const char         *name; // for the log (static)
	arb__nodembox_cb    cb;
	arb__mbox          *mb;
	arb__mbox_att      *att;
	arb__nodembox_held *held; // taken but not read yet, in order
	arb__nodembox_held *held_tail;
	bool                hold;   // cb asked to hold its envelope
	bool                paused; // holding: its mailbox is paused
} arb__nodembox;
// arb__nodembox_open opens mailbox mbid and attaches it to node's loop;
// arb__nodembox_close detaches it (a closed or never opened one: no-op,
// when zeroed; what it held is counted as dead letters).  ARB_ENOMEM.
int  arb__nodembox_open(arb__nodembox *nb, arb_node *node, uint32_t mbid,
     const char *name, arb__nodembox_cb cb);
void arb__nodembox_close(arb__nodembox *nb);
// arb__nodembox_hold (from nb's cb only) holds the envelope cb was given
// and what follows it; arb__nodembox_retry reads them again (nothing
// held: a no-op).  ARB_ENOMEM copying what is held counts it a dead
// letter (logged event=rejected_frame).
void arb__nodembox_hold(arb__nodembox *nb);
void arb__nodembox_retry(arb__nodembox *nb);

// The node.
struct arb_node {
	struct event_base *base;
	arb__addr          addr;
	size_t             max_msg;
	char               name[64];
	char               self_exe[PATH_MAX];
	bool               own_run_dir;
	bool               signals;
	struct event      *sig_ev[4];
	struct event      *stop_ev;
	atomic_int         stop_requests;
	int                stops_handled;
	arb__stree         tree; // the supervision tree
	bool               running;
	bool               done;
	int                exit_code;
	arb__reg          *reg;      // names, monitors, links (running actors)
	arb__outq         *outq;
	bool               tree_ready;
	arb_node_hooks     hooks;
	void              *hook_arg;
	arb__service       services[ARB__SERVICES_MAX]; // the operator layer
	int                nservices;
	int                run_lock; // flock'd node.lock in the run dir
	struct event      *tick_ev;
	// Peers (src/transport/peer.c): woken by their link threads, the
	// node compares each peer's up/down counts with the ones it saw.
	struct event      *peer_ev;
	size_t             npeers;
	uint64_t           peer_ups[ARB_NODE_PEERS_MAX];
	uint64_t           peer_downs[ARB_NODE_PEERS_MAX];
	// Messages to "name@node" from other nodes (names.c).
	arb__nodembox      names_nb;
	uint64_t           names_dead; // envelopes for no name here
	uint64_t           names_suppressed;
	int64_t            names_log_ms;
	// Batches of process actors for other nodes (names.c).
	arb__nodembox      relay_nb;
	uint64_t           relay_dead; // envelopes it could not send on
	uint64_t           relay_suppressed;
	int64_t            relay_log_ms;
	// Peers' batches for a mailbox with no actor slot here (names.c).
	arb__nodembox      noproc_nb;
	// Peers' batches its process actors' links did not take (names.c).
	arb__nodembox      unsent_nb;
	// Monitors and links across nodes (watch.c).
	arb__nodembox      svc_nb;
	arb__idmap         watch_by_ref; // registry monitor ref -> watch
	arb__idmap         watch_by_key; // (peer, target) -> watch
	size_t             watch_n[ARB_NODE_PEERS_MAX]; // per peer
	size_t             watches;
	size_t             watch_max;    // per peer
	uint64_t           watch_refused;
	uint64_t           watch_suppressed;
	int64_t            watch_log_ms;
};

// --- remote*.c: remote children and the node's agent ----------------------
// The agent's mailbox: this child slot on every node (taken first).
#define ARB__AGENT_MBID 1u
// node.orphan_grace's default: a child whose supervisor's node is lost
// is stopped this long after (docs/supervision.md, "Remote children").
#define ARB__ORPHAN_GRACE_MS 5000
extern const arb__driver arb__drv_remote;
// arb__remote_open takes the agent's slot, opens its mailbox on the node
// loop and gives the tree the remote-child driver; right after
// arb__stree_init.  ARB_ENOMEM.
int  arb__remote_open(arb_node *node, int orphan_grace_ms);
void arb__remote_close(arb_node *node);
// arb__remote_host gives the root (opened, not started) the agent's own
// supervisor, root/~agent, pinned at its head (arb__sup_pin_child): the
// children the agent runs for other nodes go there, so they never wait
// for the root's own start or jobs and a reload never stops them.  Only
// a node with peers has one (no other node can ask it for a child).
// ARB_ENOMEM.
int  arb__remote_host(arb_node *node);
// arb__remote_peer_down: the node's peer node_id (name) is lost: our
// children there exit with noconnection, its children here are orphans.
void arb__remote_peer_down(arb_node *node, uint32_t node_id, const char *name);
// arb__remote_peer_up: the peer node_id is up: starts that wait for it
// are sent.
void arb__remote_peer_up(arb_node *node, uint32_t node_id);
// arb__remote_lname writes the name the agent gives the child at path
// that node sup_name supervises: rc-HASH-NAME, under ARB__AGENT_PATH on
// the agent's node.
#define ARB__AGENT_PATH "root/~agent"
void arb__remote_lname(
    const char *sup_name, const char *path, char *buf, size_t len);
// arb__remote_answer is, while a relayed start_child's answer is being
// delivered (its fn runs), the text that came with it: on success the
// child's path on its node and "@NODE" (its pid is that node's), else
// why it failed; NULL at any other time.  (arb_node_start_child_then.)
const char *arb__remote_answer(void);
// arb__remote_stats adds the agent's counters (the agent_* fields).
void arb__remote_stats(arb_node *node, arb_node_stats *st);

// --- rundir.c: run directories of live and dead nodes ---------------------
// arb__rundir_clean_stale removes the run directories that nodes now gone
// made in base (their lock free and their pid dead), logging each.
void arb__rundir_clean_stale(const char *base);
// arb__rundir_lock locks node's run directory for the node's life (in
// node->run_lock; a given one is first cleared of a dead node's socket
// files).  ARB_EEXIST when a live node holds it.
int  arb__rundir_lock(arb_node *node);

// --- names.c: messages the node hands on ----------------------------------
// arb__names_open attaches the node's loop to the mailbox where messages
// to "name@thisnode" from other nodes arrive (each name resolved on
// delivery), to the relay mailbox where its process actors' batches
// for other nodes arrive (sent on over the node's links) and to the
// noproc mailbox (peers' batches for a mailbox with no actor slot here);
// arb__names_close detaches them (NULL fields: no-op).
int  arb__names_open(arb_node *node);
void arb__names_close(arb_node *node);

// --- watch.c: monitors and links across nodes -----------------------------
// Tags of the node service messages (docs/wire.md), arbor's own range.
#define ARB__TAG_NODE_WATCH  0xFFFF0200u // report target's end to me
#define ARB__TAG_NODE_DOWN   0xFFFF0201u // target ended: why
#define ARB__TAG_NODE_LINK   0xFFFF0202u // link target with the sender
#define ARB__TAG_NODE_UNLINK 0xFFFF0203u // unlink them
#define ARB__TAG_NODE_UNWATCH 0xFFFF0204u // stop watching target
#define ARB__TAG_NODE_SLOT_DOWN 0xFFFF0205u // a slot watched: its holder ended
// The default of arb_node_opts.watch_max: watches one peer may hold here.
#define ARB__WATCH_MAX 4096
// arb__watch_open opens the service mailbox on the node loop (watch_max
// 0: ARB__WATCH_MAX); arb__watch_close closes it and drops every watch.
int  arb__watch_open(arb_node *node, size_t watch_max);
void arb__watch_close(arb_node *node);
// arb__watch_ask asks target's node to report target's end (on), or to
// stop watching it (the tree's watch hook).  false: the request could not
// leave (the peer is lost or its backlog is full): the entry goes down
// with noconnection at once.
bool arb__watch_ask(arb_node *node, arb_pid target, bool on);
// arb__watch_link asks target's node to link (on) or unlink target and
// self (the tree's link hook).
void arb__watch_link(arb_node *node, arb_pid self, arb_pid target, bool on);
// arb__watch_fired takes a registry notification: true (handled) when
// `to` is the service pid (a watch fired: DOWN to the peer that asked).
bool arb__watch_fired(
    arb_node *node, arb_pid to, uint64_t ref, const arb_exit *why);
// arb__watch_peer_lost drops the watches peer idx made on links up to its
// downs-th (that loss is being handled) and returns how many.
size_t arb__watch_peer_lost(arb_node *node, size_t peer, uint64_t downs);

#endif // ARB_NODE_INT_H
