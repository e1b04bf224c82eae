// SPDX-License-Identifier: MIT
// walk.c -- reading the tree: every supervisor and child described for
// arb_node_walk, and finding a supervisor or a child by its path.
//
// Nothing here changes the tree.  Thread: node.

#include "sup_job.h"

#include <string.h>

// in_restart_job: c is to be started by a later step of its supervisor's
// restart job (one_for_all, rest_for_one: while the siblings before it
// stop or start).
static bool
in_restart_job(const arb__child *c)
{
	const arb__sup *sup = c->sup;
	size_t          i;

	if (sup == NULL || sup->job != JOB_RESTART) {
		return false;
	}
	for (i = sup->cur; i < sup->nsteps; i++) {
		if (sup->steps[i].kind == STEP_START && sup->steps[i].c == c) {
			return true;
		}
	}
	return false;
}

// child_public_state: a stopped child whose restart waits behind the
// current job, or in it, is restarting too (arb__public_state).
static arb_child_state
child_public_state(const arb__child *c)
{
	return arb__public_state(c->state,
	    (c->restart_pending || in_restart_job(c)) && !c->held);
}

const char *
arb_child_state_name(arb_child_state s)
{
	static const char *const names[] = { "stopped", "starting", "running",
		"stopping", "restarting", "ignored" };

	return (unsigned) s < ARB_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void
child_info(const arb__child *c, int depth, arb_child_info *in)
{
	int64_t now = arb__now_ms();
	int64_t hb  = -1;

	memset(in, 0, sizeof(*in));
	in->path      = c->path;
	in->name      = c->spec.name;
	in->isolation = c->spec.isolation;
	in->restart   = c->spec.restart;
	in->significant = c->spec.significant;
	in->state     = child_public_state(c);
	in->depth     = depth;
	in->pid       = c->pid;
	in->ospid     = (int) arb__child_ospid(c);
	in->restarts  = c->restarts;
	in->has_last_exit = c->has_last_exit;
	in->last_exit     = c->last_exit;
	memcpy(in->exits, c->exits, sizeof(in->exits));
	c->drv->info(c, in, &hb);
	if (c->state == ARB__CS_RUNNING && c->started_at_ms > 0) {
		in->uptime_ms = now - c->started_at_ms;
	}
	if (c->state == ARB__CS_BACKOFF) {
		in->next_attempt_in_ms = c->next_attempt_ms - now;
	}
	if (c->state == ARB__CS_RUNNING && c->drv->heartbeat) {
		// A fresh actor has not beaten yet: count from READY.
		int64_t since = hb > 0 ? hb : c->started_at_ms;
		int64_t limit = c->spec.watchdog_ms > 0 ? c->spec.watchdog_ms
		                                        : 3 * ARB__HB_MS;
		in->heartbeat_age_ms = now - since;
		in->live             = in->heartbeat_age_ms <= limit;
	} else {
		in->heartbeat_age_ms = -1;
		in->live             = c->state == ARB__CS_RUNNING;
	}
}

void
arb__sup_walk(
    arb__sup *sup, arb__child *slot, int depth, arb_walk_cb cb, void *arg)
{
	arb_child_info in;
	size_t         i;

	if (slot != NULL && slot->sup != NULL) {
		child_info(slot, depth, &in);
	} else {
		// The root has no parent record: describe it from sup.
		memset(&in, 0, sizeof(in));
		in.path      = sup->path;
		in.name      = "root";
		in.type      = "supervisor";
		in.isolation = ARB_SUPERVISOR;
		in.strategy  = sup->spec->strategy;
		in.state     = sup->state == SUP_RUNNING ? ARB_STATE_RUNNING
		    : sup->state == SUP_STARTING         ? ARB_STATE_STARTING
		    : sup->state == SUP_STOPPING         ? ARB_STATE_STOPPING
		                                         : ARB_STATE_STOPPED;
		in.live      = sup->state == SUP_RUNNING;
		in.heartbeat_age_ms = -1;
		in.uptime_ms = arb__now_ms() - sup->tree->started_ms;
	}
	cb(&in, arg);
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		if (c->child_sup != NULL) {
			arb__sup_walk(c->child_sup, c, depth + 1, cb, arg);
		} else {
			child_info(c, depth + 1, &in);
			cb(&in, arg);
		}
	}
}

arb__child *
arb__sup_lookup(arb__sup *sup, const char *path)
{
	size_t i;

	if (sup == NULL) {
		return NULL;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c  = sup->children[i];
		size_t      pl = strlen(c->path);
		if (strcmp(c->path, path) == 0) {
			return c;
		}
		if (c->child_sup != NULL && strncmp(c->path, path, pl) == 0 &&
		    path[pl] == '/') {
			return arb__sup_lookup(c->child_sup, path);
		}
	}
	return NULL;
}

arb__child *
arb__sup_remote_at(arb__sup *sup, const char *path)
{
	size_t i;

	if (sup == NULL) {
		return NULL;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		size_t      pl = strlen(c->path);

		if (strncmp(c->path, path, pl) != 0
		    || (path[pl] != '\0' && path[pl] != '/')) {
			continue;
		}
		if (c->spec.node != NULL) {
			return c; // path is the remote child or in its subtree
		}
		return path[pl] == '/' ? arb__sup_remote_at(c->child_sup, path)
		                       : NULL;
	}
	return NULL;
}

arb__child *
arb__sup_lookup_inc(arb__sup *root, const char *path, uint32_t inc)
{
	arb__child *c = arb__sup_lookup(root, path);
	arb__sup   *p = c != NULL ? c->sup : NULL;
	size_t      i;

	if (c != NULL && arb__pid_inc(c->pid) == inc) {
		return c;
	}
	if (p == NULL) {
		// Not a child now (a reload is removing it): its parent's.
		char        parent[sizeof(c->path)];
		const char *slash = strrchr(path, '/');

		if (slash == NULL
		    || (size_t) (slash - path) >= sizeof(parent)) {
			return NULL;
		}
		memcpy(parent, path, (size_t) (slash - path));
		parent[slash - path] = '\0';
		if ((p = arb__sup_find(root, parent)) == NULL) {
			return NULL;
		}
	}
	for (i = 0; i < p->nremoved; i++) {
		arb__child *r = p->removed[i];

		if (strcmp(r->path, path) == 0
		    && arb__pid_inc(r->pid) == inc) {
			return r;
		}
	}
	return NULL;
}

arb__sup *
arb__sup_find(arb__sup *root, const char *path)
{
	size_t i;

	if (root == NULL) {
		return NULL;
	}
	if (strcmp(root->path, path) == 0) {
		return root;
	}
	for (i = 0; i < root->n; i++) {
		arb__sup *s = root->children[i]->child_sup;
		if (s != NULL && (s = arb__sup_find(s, path)) != NULL) {
			return s;
		}
	}
	return NULL;
}

bool
arb__sup_busy(const arb__sup *sup)
{
	size_t i;

	if (sup->job != JOB_NONE) {
		return true;
	}
	for (i = 0; i < sup->n; i++) {
		const arb__child *c = sup->children[i];
		if (c->child_sup != NULL && arb__sup_busy(c->child_sup)) {
			return true;
		}
	}
	return false;
}

bool
arb__sup_stopping(const arb__sup *sup)
{
	return sup->state == SUP_STOPPING || sup->state == SUP_STOPPED;
}
