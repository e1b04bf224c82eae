// SPDX-License-Identifier: MIT
// service.c -- what actors ask of the supervision tree: names, monitors,
// links, trap_exit and topics (the registry), and children started at
// run time.
//
// Thread actors ask through the inbox (drv_thread.c), process actors over
// their control channel (drv_process.c); the answer is immediate except
// for a run-time start, which answers once the child is READY (or failed).
// Thread: node.

#include "sup_rt.h"

#include <stdio.h>
#include <string.h>

int
arb__stree_start_child(arb__stree *tree, const char *sup_path,
    const void *arg, size_t len, arb_pid *pidp, arb__started_fn fn,
    void *fnarg)
{
	arb__sup *sup;

	if (tree->stop_begun) {
		return ARB_ESHUTDOWN;
	}
	if ((sup = arb__sup_find(tree->root, sup_path)) == NULL) {
		// At or under a remote child: that supervisor runs there, and
		// the start is relayed to its node's agent, answered through
		// fn (docs/multinode.md, "Remote pools").  Without fn (the
		// answer due at once) it cannot be.
		arb__child *rc = arb__sup_remote_at(tree->root, sup_path);
		size_t      pl;

		if (rc == NULL) {
			return ARB_ENOENT;
		}
		if (fn == NULL || rc->drv->start_child == NULL) {
			return ARB_ENOTSUP;
		}
		pl = strlen(rc->path);
		return rc->drv->start_child(rc,
		    sup_path[pl] == '/' ? sup_path + pl + 1 : "", arg, len, fn,
		    fnarg);
	}
	return arb__sup_start_dynamic(sup, arg, len, pidp, fn, fnarg);
}

// stree_subscribers answers with topic req->name's subscribers (a list
// the asker frees) and the topic table's generation they belong to.
static int
stree_subscribers(arb__stree *tree, arb__req *req)
{
	arb_pid pids[64], *p = pids;
	size_t  n, i;

	req->ref   = arb__reg_topics_gen(tree->reg);
	req->list  = NULL;
	req->nlist = 0;
	n = arb__reg_subscribers(tree->reg, req->name, pids, 64);
	if (n == 0) {
		return ARB_OK;
	}
	if (n > 64) {
		if ((p = arb__alloc(n * sizeof(*p))) == NULL) {
			return ARB_ENOMEM;
		}
		arb__reg_subscribers(tree->reg, req->name, p, n);
	}
	if ((req->list = arb__alloc(n * 8)) != NULL) {
		for (i = 0; i < n; i++) {
			arb__put_be64(req->list + 8 * i, p[i].id);
		}
		req->nlist = n;
	}
	if (p != pids) {
		arb__free(p);
	}
	return req->list != NULL ? ARB_OK : ARB_ENOMEM;
}

// An entry for an actor of another node stands for it in the registry
// (monitors, links) until its node reports the actor's end (the watch
// hook asked it to: docs/multinode.md) or the node is lost
// (arb__stree_peer_lost: noconnection).  A link with it is made on both
// nodes (the link hook), so each node hears of the other actor's end from
// its own watch and applies trap_exit to its own actor: an exit signal to
// it here is nothing to do.
static const arb__reg_ops remote_reg_ops = { .exit_signal = NULL };

// stree_remote_up makes sure a monitor or link of target, an actor of
// another node, has an entry to bind to, standing for it while its node
// is reachable; *ask is set when the entry is new and its node must be
// asked to watch it (stree_remote_ask, once the monitor or link is made:
// the WATCH names the first monitor's ref, arb__reg_watch_id).  Returns
// false when the node is not reachable (or that incarnation of it has
// ended): the caller then takes the entry down with noconnection once
// the monitor or link is made, as Erlang does.
static bool
stree_remote_up(arb__stree *tree, arb_pid target, bool *ask)
{
	void *key = (void *) (uintptr_t) target.node;

	*ask = false;
	if (arb__reg_alive(tree->reg, target)) {
		return true; // its node was asked already
	}
	if (arb__slot_check(target) != ARB_OK) {
		// Unreachable: an entry to take down at once.
		return arb__reg_up(tree->reg, target, "", &remote_reg_ops, key)
		    != 0;
	}
	if (arb__reg_up(tree->reg, target, "", &remote_reg_ops, key) != 0) {
		return true; // no memory: no entry, the monitor says noproc
	}
	*ask = true;
	return true;
}

// stree_remote_ask asks target's node to watch it (its new entry's
// watch); false when it could not be asked (then as unreachable).
static bool
stree_remote_ask(arb__stree *tree, arb_pid target)
{
	return tree->hooks.watch == NULL
	    || tree->hooks.watch(tree->hook_arg, target, true);
}

// stree_remote_unbound: a monitor or link of target went; when target is
// another node's actor nothing here refers to any more, its entry goes
// and its node stops watching it (bounded state on both nodes).
static void
stree_remote_unbound(arb__stree *tree, arb_pid target)
{
	if (!arb__pid_local(target) && !arb_pid_eq(target, ARB_PID_NONE)
	    && arb__reg_forget_unbound(tree->reg, target)
	    && tree->hooks.watch != NULL) {
		tree->hooks.watch(tree->hook_arg, target, false);
	}
}

static void
stree_remote_unreachable(arb__stree *tree, arb_pid target)
{
	arb_exit why = { .kind = ARB_EXIT_NOCONNECTION };

	snprintf(why.text, sizeof(why.text), "node unreachable");
	arb__reg_down(tree->reg, target, &why);
}

void
arb__stree_remote_link(
    arb__stree *tree, arb_pid self, arb_pid other, bool on)
{
	bool ask;

	self = arb__reg_current(tree->reg, self);
	if (!on) {
		arb__reg_unlink(tree->reg, self, other);
		stree_remote_unbound(tree, other);
		return;
	}
	if (!arb__reg_alive(tree->reg, self)) {
		return; // the other node's watch of self answers noproc
	}
	if (!stree_remote_up(tree, other, &ask)
	    || (ask && !stree_remote_ask(tree, other))) {
		arb__reg_link(tree->reg, self, other);
		stree_remote_unreachable(tree, other);
		return;
	}
	arb__reg_link(tree->reg, self, other);
}

void
arb__stree_peer_lost(arb__stree *tree, uint32_t node_id)
{
	arb_exit why = { .kind = ARB_EXIT_NOCONNECTION };

	snprintf(why.text, sizeof(why.text), "node lost");
	arb__reg_lost(tree->reg, (void *) (uintptr_t) node_id, &why);
}

int
arb__stree_whereis(arb__stree *tree, const char *name, arb_pid *pidp)
{
	const char *at = strrchr(name, '@');
	char        local[256];
	uint32_t    node;

	if (at == NULL) {
		return arb__reg_whereis(tree->reg, name, pidp);
	}
	if (at == name || at[1] == '\0'
	    || (size_t) (at - name) >= sizeof(local)) {
		return ARB_EINVAL; // "@node" or "name@"
	}
	snprintf(local, sizeof(local), "%.*s", (int) (at - name), name);
	if (arb__name_hash(at + 1) == arb__local.node) {
		return arb__reg_whereis(tree->reg, local, pidp); // this node
	}
	if ((node = arb__peers_find(at + 1)) == 0) {
		return ARB_ENOENT; // not one of this node's peers
	}
	// Resolved by that node when a message arrives (no round trip).
	*pidp = arb__pid_name(node, arb__name_hash(local));
	return ARB_OK;
}

bool
arb__stree_service(
    arb__stree *tree, arb__req *req, arb__started_fn fn, void *fnarg)
{
	bool reach, ask = false;

	req->rv = ARB_OK;
	// Monitors and links bind to one incarnation: a slot address's
	// current one (or none: noproc).
	req->target = arb__reg_current(tree->reg, req->target);
	switch (req->op) {
	case ARB__REQ_REGISTER:
		req->rv = arb__reg_register(tree->reg, req->name, req->self);
		return false;
	case ARB__REQ_WHEREIS:
		req->rv = arb__stree_whereis(tree, req->name, &req->pid);
		return false;
	case ARB__REQ_MONITOR:
		// Another node's name address: its node watches the actor
		// holding the name when the WATCH arrives (Erlang's
		// monitor(process, {Name, Node})); the DOWN names the name
		// address.  One of this node's names no one actor here.
		if (arb__pid_is_name(req->target)
		    && arb__pid_local(req->target)) {
			req->rv = ARB_ENOTSUP;
			return false;
		}
		reach = arb__pid_local(req->target)
		    || stree_remote_up(tree, req->target, &ask);
		req->rv = arb__reg_monitor(
		    tree->reg, req->self, req->target, &req->ref);
		if (ask) {
			reach = stree_remote_ask(tree, req->target);
		}
		if (!reach) {
			stree_remote_unreachable(tree, req->target);
		}
		return false;
	case ARB__REQ_DEMONITOR: {
		// Already fired or unknown: harmless to arb_demonitor, which
		// answers ARB_OK; a gather's end needs to know (its monitor's
		// DOWN is then on its way: actor.c, gather_forget).
		arb_pid was
		    = arb__reg_demonitor(tree->reg, req->self, req->ref);

		req->rv = arb_pid_eq(was, ARB_PID_NONE) ? ARB_ENOENT : ARB_OK;
		stree_remote_unbound(tree, was);
		return false;
	}
	case ARB__REQ_LINK:
		// A link needs a pid, as in Erlang (link({Name, Node}) is
		// badarg): link the pid a reply or DOWN came from.
		if (arb__pid_is_name(req->target)) {
			req->rv = ARB_ENOTSUP;
			return false;
		}
		reach = arb__pid_local(req->target)
		    || (stree_remote_up(tree, req->target, &ask)
		        && (!ask || stree_remote_ask(tree, req->target)));
		req->rv = arb__reg_link(tree->reg, req->self, req->target);
		if (!reach) {
			stree_remote_unreachable(tree, req->target);
		} else if (req->rv == ARB_OK && !arb__pid_local(req->target)
		    && tree->hooks.link != NULL) {
			// The other node links its actor to ours too.
			tree->hooks.link(
			    tree->hook_arg, req->self, req->target, true);
		}
		return false;
	case ARB__REQ_UNLINK:
		arb__reg_unlink(tree->reg, req->self, req->target);
		if (!arb__pid_local(req->target) && tree->hooks.link != NULL) {
			tree->hooks.link(
			    tree->hook_arg, req->self, req->target, false);
		}
		stree_remote_unbound(tree, req->target);
		return false;
	case ARB__REQ_TRAP_EXIT:
		req->rv = arb__reg_trap_exit(tree->reg, req->self, req->flag);
		return false;
	case ARB__REQ_START_CHILD:
		req->rv = arb__stree_start_child(tree, req->name, req->arg,
		    req->arg_len, &req->pid, fn, fnarg);
		return req->rv == ARB_OK && fn != NULL;
	case ARB__REQ_SUBSCRIBE:
		req->rv = arb__reg_subscribe(tree->reg, req->name, req->self);
		return false;
	case ARB__REQ_UNSUBSCRIBE:
		arb__reg_unsubscribe(tree->reg, req->name, req->self);
		return false;
	case ARB__REQ_SUBSCRIBERS:
		req->rv = stree_subscribers(tree, req);
		return false;
	}
	req->rv = ARB_EINVAL;
	return false;
}
