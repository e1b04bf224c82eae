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
		return ARB_ENOENT;
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

bool
arb__stree_service(
    arb__stree *tree, arb__req *req, arb__started_fn fn, void *fnarg)
{
	req->rv = ARB_OK;
	// Monitors and links bind to one incarnation: a slot address's
	// current one (or none: noproc).
	req->target = arb__reg_current(tree->reg, req->target);
	switch (req->op) {
	case ARB__REQ_REGISTER:
		req->rv = arb__reg_register(tree->reg, req->name, req->self);
		return false;
	case ARB__REQ_WHEREIS:
		req->rv = arb__reg_whereis(tree->reg, req->name, &req->pid);
		return false;
	case ARB__REQ_MONITOR:
		req->rv = arb__reg_monitor(
		    tree->reg, req->self, req->target, &req->ref);
		return false;
	case ARB__REQ_DEMONITOR:
		arb__reg_demonitor(tree->reg, req->self, req->ref);
		return false; // already fired or unknown: harmless
	case ARB__REQ_LINK:
		req->rv = arb__reg_link(tree->reg, req->self, req->target);
		return false;
	case ARB__REQ_UNLINK:
		arb__reg_unlink(tree->reg, req->self, req->target);
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
