// SPDX-License-Identifier: MIT
// names.c -- messages the node hands on: to "name@node" from other
// nodes, and from its process actors to other nodes.
//
// Another node's arb_whereis("name@thisnode") answers at once with a name
// address (arb__pid_name: the hash of the name, mailbox ARB__MBID_NAMES
// of this node, creation 0) and never asks us.  Its batches arrive here,
// on the node loop, where the name is resolved when each envelope comes
// (whichever actor holds the name or the child path now) and the envelope
// goes on to that actor through the node's outbound queue, with its
// sender, tag, ref and flags unchanged (so a call's reply goes straight
// back to the caller).  When that queue is full (the actor busy), the
// envelope and everything after it wait in the names mailbox
// (arb__nodembox_hold), which stops reading, fills and pauses the links
// that fill it, as a busy actor's own mailbox does; they are tried again
// after each flush of the node's queue, which the actor's drain wakes.
// Nothing is dropped for a busy actor, and order per sender and name is
// kept; the price is that every name of this node waits behind it
// (docs/multinode.md).  A name that resolves to nothing running here is a
// dead letter, counted in the node's dead_letters and logged (at most one
// line a second, with suppressed=N); a request (arb_call, arb_gather) is
// answered at once, to its sender only, with a noproc reply
// (ARB__F_NOPROC): the caller's result is ARB_ENOENT, as a local call to
// an actor that is not there is refused, within one round trip instead
// of its timeout (Erlang's call to {Name, Node} exits noproc).
//
// A process actor has no link to other nodes: its batches for them go on
// its link to the node, to the relay mailbox (ARB__MBID_RELAY), and the
// node sends each envelope on through its own outbound queue, unchanged
// (the sender stays the process actor, so replies go to it directly).
// What the node cannot send on (the peer is down, an incarnation that has
// ended, its backlog full) is a dead letter counted in its dead_letters
// and logged (event=relay_dropped, at most one line a second); a request
// among them is answered at once (a noproc reply: ARB_ENOENT, or
// ARB_EAGAIN for a full backlog), as the process actor's own arb_call
// would have been refused.  Peers cannot use the relay (route.c drops
// their batches for it).
//
// A peer's batch for a mailbox id that has no actor slot here (a removed
// child's, a supervisor's or exec child's, one never used) or whose slot
// is closed (its actor ended and will not be restarted: route.c's
// arb__slot_close), or for a process actor whose process is not there,
// has no mailbox to go to: route.c hands it to the noproc mailbox
// (ARB__MBID_NOPROC), where each envelope is a dead letter of the node
// and a request is answered noproc, as above; so is what a slot's mailbox
// held when it closed or was removed (its callers local or not).  A
// peer's batch for a process actor whose link from the node did not take
// it (full, or paused by the actor's mailbox) goes to the unsent mailbox
// (ARB__MBID_UNSENT): dead letters, requests answered ARB_EAGAIN.  (An
// ended incarnation of a slot that still has an actor is answered by the
// one running there: actor.c.)  Thread: node.

#include "node_int.h"

#include <stdio.h>
#include <string.h>

static void
names_unknown(arb_node *node, const arb_msg *m, int rv)
{
	int64_t now = arb__now_ms();

	node->tree.dead_letters++;
	node->names_dead++;
	if (now - node->names_log_ms < 1000) {
		node->names_suppressed++;
		return;
	}
	node->names_log_ms = now;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=name_unknown hash=%08x from_node=%08x tag=%u error=%s "
	    "dead_letters=%llu suppressed=%llu",
	    (unsigned) arb__pid_inc(m->to), (unsigned) m->from.node,
	    (unsigned) m->tag, arb_err_name(rv),
	    (unsigned long long) node->names_dead,
	    (unsigned long long) node->names_suppressed);
	node->names_suppressed = 0;
}

// noproc_from is the pid a noproc answer to a request sent to `to` comes
// from: `to` itself, but of this node's running incarnation when it named
// an earlier one -- a peer takes from its link only pids of the
// incarnation that link's HELLO named (docs/wire.md, "Envelopes from
// peers"), and a caller matches the answer by its ref alone.
static arb_pid
noproc_from(arb_pid to)
{
	if (!arb__pid_local(to) && to.node == arb__local.node) {
		return arb__pid_of(to.id);
	}
	return to;
}

// answer_noproc answers a request that was not delivered (nothing for
// other envelopes), from the pid it was sent to (noproc_from): code
// ARB_ENOENT (it reached no actor; "noproc: WHAT at node N") or
// ARB_EAGAIN.
static void
answer_noproc(arb_node *node, const arb_msg *m, int code, const char *what)
{
	arb__buf b = { 0 };
	arb_msg  ans;
	char     text[128];

	snprintf(text, sizeof(text), "%s: %s at node %s",
	    code == ARB_ENOENT ? "noproc" : "not sent", what, node->name);
	if (arb__codec_noproc(m, code, text, &b, &ans)) {
		ans.from = noproc_from(m->to);
		// Not sent (its backlog full): the caller gets its timeout.
		if (arb__outq_push(node->outq, &ans) != ARB_OK) {
			node->tree.dead_letters++;
		}
	}
	arb__buf_fini(&b);
}

// noproc_one takes one envelope of a peer's batch for a mailbox id with
// no actor slot here (route.c hands such batches to the noproc mailbox):
// a dead letter, and a request is answered noproc.
static void
noproc_one(arb_node *node, arb_msg *m)
{
	node->tree.dead_letters++;
	answer_noproc(node, m, ARB_ENOENT, "no actor runs there");
}

// unsent_one takes one envelope of a peer's batch for a process actor of
// this node that the node's link to its process did not take (route.c):
// a dead letter, and a request is answered ARB_EAGAIN.
static void
unsent_one(arb_node *node, arb_msg *m)
{
	node->tree.dead_letters++;
	answer_noproc(
	    node, m, ARB_EAGAIN, "the process actor's link is full");
}

static void
relay_dropped(arb_node *node, const arb_msg *m, int rv)
{
	int64_t now = arb__now_ms();

	node->tree.dead_letters++;
	node->relay_dead++;
	if (now - node->relay_log_ms < 1000) {
		node->relay_suppressed++;
		return;
	}
	node->relay_log_ms = now;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=relay_dropped from=%llu to_node=%08x to_creation=%u tag=%u "
	    "error=%s dead_letters=%llu suppressed=%llu",
	    (unsigned long long) m->from.id, (unsigned) m->to.node,
	    (unsigned) m->to.creation, (unsigned) m->tag, arb_err_name(rv),
	    (unsigned long long) node->relay_dead,
	    (unsigned long long) node->relay_suppressed);
	node->relay_suppressed = 0;
}

// relay_one sends on one envelope of a process actor for another node.
static void
relay_one(arb_node *node, arb_msg *m)
{
	int rv;

	// Only other nodes' actors (a name address of another node
	// included): what is this node's goes to it directly.
	rv = arb__pid_local(m->to) ? ARB_EINVAL
	                           : arb__outq_push(node->outq, m);
	if (rv != ARB_OK) {
		relay_dropped(node, m, rv);
		// A request's caller learns it at once, as it would from
		// its own arb_call: no room (ARB_EAGAIN), or nowhere to go
		// (the peer lost, an ended incarnation of it: ARB_ENOENT).
		answer_noproc(node, m,
		    rv == ARB_EAGAIN ? ARB_EAGAIN : ARB_ENOENT,
		    rv == ARB_EAGAIN
		        ? "the relay's backlog towards its node is full"
		        : "its node is not reachable");
	}
}

// names_refused answers a request the names mailbox could not hand on:
// noproc when nobody holds the name, an error reply with the code
// otherwise (ARB_EEXIST: two names here hash to the name's id, so it is
// refused, never guessed).  (A full queue towards its actor is no
// refusal: names_one holds it.)
static void
names_refused(arb_node *node, const arb_msg *m, int rv)
{
	arb__buf b = { 0 };
	arb_msg  ans;
	char     text[160];

	if (rv == ARB_ENOENT) {
		answer_noproc(node, m, rv, "no actor holds that name");
		return;
	}
	snprintf(text, sizeof(text),
	    rv == ARB_EEXIST ? "ambiguous name: two names at node %s hash to "
	                       "its id %08x; address the actor by pid"
	                     : "not delivered at node %s (name id %08x)",
	    node->name, (unsigned) arb__pid_inc(m->to));
	if (arb__codec_error_reply(m, rv, text, 0, &b, &ans) == ARB_OK) {
		ans.from = m->to;
		if (arb__outq_push(node->outq, &ans) != ARB_OK) {
			node->tree.dead_letters++;
		}
	}
	arb__buf_fini(&b);
}

// names_one hands one envelope for "name@thisnode" to the name's actor.
static void
names_one(arb_node *node, arb_msg *m)
{
	arb_pid to, asked;
	int     rv;

	if (!arb__pid_is_name(m->to)) {
		names_unknown(node, m, ARB_EINVAL);
		return;
	}
	// A child path gives its slot address (a restarting child's mailbox
	// keeps it, SPEC 19), a registered name its exact pid (refused by the
	// queue once that incarnation has ended).
	rv = arb__reg_whereis_hash(node->reg, arb__pid_inc(m->to), &to);
	if (rv == ARB_OK) {
		asked = m->to;
		m->to = to;
		rv    = arb__outq_push(node->outq, m);
		m->to = asked;
	}
	if (rv == ARB_EAGAIN) {
		// Its actor's queue is full: this envelope and all after it
		// wait (the names mailbox fills and pauses the links that
		// fill it), tried again when the node's queue has room.
		arb__nodembox_hold(&node->names_nb);
		return;
	}
	if (rv != ARB_OK) {
		names_unknown(node, m, rv);
		names_refused(node, m, rv);
	}
}

// names_flushed tries again what the names mailbox holds (the node's
// outbound queue flushed: the held envelope's actor may have room).
static void
names_flushed(void *arg)
{
	arb_node *node = arg;

	arb__nodembox_retry(&node->names_nb);
}

int
arb__names_open(arb_node *node)
{
	int rv;

	rv = arb__nodembox_open(
	    &node->names_nb, node, ARB__MBID_NAMES, "names", names_one);
	if (rv != ARB_OK) {
		return rv;
	}
	arb__outq_on_flush(node->outq, names_flushed, node);
	rv = arb__nodembox_open(
	    &node->relay_nb, node, ARB__MBID_RELAY, "relay", relay_one);
	if (rv != ARB_OK) {
		return rv;
	}
	rv = arb__nodembox_open(
	    &node->noproc_nb, node, ARB__MBID_NOPROC, "noproc", noproc_one);
	if (rv != ARB_OK) {
		return rv;
	}
	return arb__nodembox_open(
	    &node->unsent_nb, node, ARB__MBID_UNSENT, "unsent", unsent_one);
}

void
arb__names_close(arb_node *node)
{
	if (node->outq != NULL) {
		arb__outq_on_flush(node->outq, NULL, NULL);
	}
	arb__nodembox_close(&node->names_nb);
	arb__nodembox_close(&node->relay_nb);
	arb__nodembox_close(&node->noproc_nb);
	arb__nodembox_close(&node->unsent_nb);
}
