// SPDX-License-Identifier: MIT
// reload.c -- applying a new spec to a running supervisor as a diff
// (arb_node_reload): children are matched by name; unchanged ones keep
// running, changed ones are replaced, removed ones stopped, new ones
// started, nested supervisors reloaded recursively.  The diff is one job
// of the supervisor.  Thread: node.

#include "sup_job.h"

#include <string.h>

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

// remote_spec: s runs on another node (its agent's, src/node/remote_agent.c).
static bool
remote_spec(const arb__sup *sup, const arb_child_spec *s)
{
	return s->node != NULL
	    && arb__node_id(s->node) != sup->tree->addr->node_id;
}

// subtree_eq compares two remote subtrees by their wire form (what their
// node's agent would run).
static bool
subtree_eq(const arb_sup_spec *a, const arb_sup_spec *b)
{
	arb__buf ba = { 0 }, bb = { 0 };
	bool     eq;

	eq = arb__sup_spec_encode(&ba, a) == ARB_OK
	    && arb__sup_spec_encode(&bb, b) == ARB_OK && ba.len == bb.len
	    && memcmp(ba.data, bb.data, ba.len) == 0;
	arb__buf_fini(&ba);
	arb__buf_fini(&bb);
	return eq;
}

static bool
worker_spec_eq(const arb_child_spec *a, const arb_child_spec *b)
{
	size_t i;

	if (a->isolation != b->isolation || !str_eq(a->type, b->type) ||
	    !str_eq(a->exe, b->exe) || !str_eq(a->node, b->node) ||
	    a->arg_len != b->arg_len ||
	    (a->arg_len > 0 && memcmp(a->arg, b->arg, a->arg_len) != 0) ||
	    a->restart != b->restart || a->shutdown_ms != b->shutdown_ms ||
	    a->start_timeout_ms != b->start_timeout_ms ||
	    a->backoff_min_ms != b->backoff_min_ms ||
	    a->backoff_max_ms != b->backoff_max_ms ||
	    a->stable_ms != b->stable_ms || a->watchdog_ms != b->watchdog_ms ||
	    a->significant != b->significant) {
		return false;
	}
	if ((a->argv == NULL) != (b->argv == NULL)) {
		return false;
	}
	for (i = 0; a->argv != NULL; i++) {
		if (!str_eq(a->argv[i], b->argv[i])) {
			return false;
		}
		if (a->argv[i] == NULL) {
			break;
		}
	}
	return true;
}

static arb__child *
child_by_name(arb__sup *sup, const char *name)
{
	size_t i;

	for (i = 0; i < sup->n; i++) {
		if (strcmp(sup->children[i]->spec.name, name) == 0) {
			return sup->children[i];
		}
	}
	return NULL;
}

int
arb__sup_reload(arb__sup *sup, const arb_sup_spec *spec)
{
	arb_sup_spec  *copy;
	arb__child   **next, **gone;
	step          *s;
	size_t         i, nn = 0, ng = 0, k = 0;
	int            rv;

	if (sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE ||
	    spec->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
		// Run-time children have no names in the file: only the
		// supervisor's own settings and template change.
		if (spec->strategy != sup->spec->strategy) {
			return ARB_ENOTSUP;
		}
		if ((rv = arb__sup_spec_copy(spec, &copy)) != 0) {
			return rv;
		}
		arb__sup_spec_free(sup->spec);
		sup->spec = copy;
		return ARB_OK;
	}
	if ((rv = arb__sup_spec_copy(spec, &copy)) != 0) {
		return rv;
	}
	next = arb__alloc(sizeof(*next) * (spec->nchildren + sup->n + 1));
	gone = arb__alloc(sizeof(*gone) * (sup->n + 1));
	s    = arb__alloc(sizeof(*s) * (sup->n + 2 * spec->nchildren + 1));
	if (next == NULL || gone == NULL || s == NULL) {
		arb__free(next);
		arb__free(gone);
		arb__free(s);
		arb__sup_spec_free(copy);
		return ARB_ENOMEM;
	}
	// Pinned children (arb__sup_pin_child) first, as they were: the
	// spec does not list them.
	for (i = 0; i < sup->n; i++) {
		if (sup->children[i]->pinned) {
			next[nn++] = sup->children[i];
		}
	}
	// Children in the new order: kept, changed (new record) or added.
	for (i = 0; i < copy->nchildren; i++) {
		const arb_child_spec *ns  = &copy->children[i];
		arb__child           *old = child_by_name(sup, ns->name);
		arb__child           *c;

		if (old != NULL && old->spec.isolation == ARB_SUPERVISOR
		    && ns->isolation == ARB_SUPERVISOR
		    && !remote_spec(sup, &old->spec) && !remote_spec(sup, ns)
		    && (old->spec.sup->strategy == ARB_SIMPLE_ONE_FOR_ONE)
		        == (ns->sup->strategy == ARB_SIMPLE_ONE_FOR_ONE)) {
			// Same kind of nested supervisor: recurse, keep it
			// running.  One that turns into (or out of) a
			// simple_one_for_one pool cannot be diffed: it is
			// replaced below like a changed worker.
			arb_child_spec keep;
			if (arb__child_spec_copy(ns, &keep) == 0) {
				arb__child_spec_fini(&old->spec);
				old->spec = keep;
			}
			// A stopped one (operator, or ended for good) starts
			// nothing now: it takes the new spec at its next
			// start.
			if (old->child_sup != NULL &&
			    old->child_sup->state == SUP_RUNNING) {
				arb__sup_reload(old->child_sup, ns->sup);
			}
			next[nn++] = old;
			continue;
		}
		if (old != NULL && worker_spec_eq(&old->spec, ns)
		    && (ns->isolation != ARB_SUPERVISOR
		        || (remote_spec(sup, ns)
		            && subtree_eq(old->spec.sup, ns->sup)))) {
			// (A remote subtree is one child here: changed, it is
			// started again there, whole.)
			next[nn++] = old; // untouched: keeps running
			continue;
		}
		if ((c = arb__child_new(sup, ns, NULL, 0)) == NULL) {
			arb__panic("out of memory during reload");
		}
		if (old != NULL) {
			// Changed: the old incarnation goes, the new one keeps
			// the name (and its registered path).
			old->removing = true;
			arb__log(ARB_LOG_INFO, old->path,
			    "event=reload action=restart");
		} else {
			arb__log(
			    ARB_LOG_INFO, c->path, "event=reload action=add");
			c->added = true; // a failed start leaves it out
		}
		next[nn++] = c;
	}
	for (i = 0; i < sup->n; i++) {
		arb__child *c = sup->children[i];
		size_t      j;
		bool        kept = false;

		for (j = 0; j < nn; j++) {
			kept = kept || next[j] == c;
		}
		if (!kept) {
			if (!c->removing) {
				arb__log(ARB_LOG_INFO, c->path,
				    "event=reload action=remove");
			}
			c->removing = true;
			gone[ng++]  = c;
		}
	}
	// Stop what goes (reverse of the old order), start what is new.
	for (i = ng; i > 0; i--) {
		s[k].kind = STEP_STOP;
		s[k++].c  = gone[i - 1];
	}
	for (i = 0; i < nn; i++) {
		if (next[i]->state == ARB__CS_STOPPED
		    && !next[i]->has_last_exit && next[i]->restarts == 0
		    && next[i]->pid.id == 0) {
			s[k].kind = STEP_START;
			s[k++].c  = next[i];
		}
	}
	arb__free(sup->children);
	sup->children = next;
	sup->n        = nn;
	sup->cap      = nn;
	sup->removed  = gone;
	sup->nremoved = ng;
	// The supervisor's own settings.
	if (copy->intensity != sup->spec->intensity ||
	    copy->period_ms != sup->spec->period_ms) {
		arb__intensity_fini(&sup->win);
		arb__intensity_init(&sup->win, arb__sup_intensity(copy),
		    arb__sup_period_ms(copy));
	}
	arb__sup_spec_free(sup->spec);
	sup->spec = copy;
	arb__sup_job_set(sup, JOB_RELOAD, s, k);
	arb__sup_run(sup);
	return ARB_OK;
}

// --- One child at a time (OTP's start_child / delete_child) ---------------

int
arb__sup_add_child(arb__sup *sup, const arb_child_spec *spec, char *errbuf,
    size_t errlen)
{
	arb_sup_spec    tmp = *sup->spec;
	arb_child_spec *kids;
	int             rv;

	if (sup->spec->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
		return ARB_ESTATE; // its children come from its template
	}
	if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED) {
		return ARB_ESHUTDOWN;
	}
	if (arb__sup_busy(sup)) {
		return ARB_EAGAIN;
	}
	kids = arb__alloc(sizeof(*kids) * (tmp.nchildren + 1));
	if (kids == NULL) {
		return ARB_ENOMEM;
	}
	if (tmp.nchildren > 0) {
		memcpy(kids, tmp.children, sizeof(*kids) * tmp.nchildren);
	}
	kids[tmp.nchildren] = *spec;
	tmp.children        = kids;
	tmp.nchildren++;
	// The same checker as the tree file's (a name already used among
	// its siblings, among others); the rest of the tree is unchanged.
	rv = arb__sup_spec_check(&tmp, sup->path, errbuf, errlen);
	if (rv == ARB_OK) {
		arb__log(ARB_LOG_INFO, sup->path, "event=start_child name=%s",
		    spec->name);
		rv = arb__sup_reload(sup, &tmp);
	}
	arb__free(kids);
	return rv;
}

int
arb__sup_delete_child(arb__child *c)
{
	arb__sup       *sup = c->sup;
	arb_sup_spec    tmp = *sup->spec;
	arb_child_spec *kids;
	size_t          i, k = 0;
	int             rv;

	if (c->dynamic) {
		return ARB_ENOTSUP; // a pool's child is deleted by its stop
	}
	if (c->pinned) {
		return ARB_EPERM;
	}
	if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED) {
		return ARB_ESHUTDOWN;
	}
	if (c->state != ARB__CS_STOPPED && c->state != ARB__CS_IGNORED) {
		return ARB_ESTATE; // OTP's delete_child: {error, running}
	}
	if (arb__sup_busy(sup)) {
		return ARB_EAGAIN;
	}
	kids = arb__alloc(sizeof(*kids) * (tmp.nchildren + 1));
	if (kids == NULL) {
		return ARB_ENOMEM;
	}
	for (i = 0; i < tmp.nchildren; i++) {
		if (strcmp(tmp.children[i].name, c->spec.name) != 0) {
			kids[k++] = tmp.children[i];
		}
	}
	tmp.children  = kids;
	tmp.nchildren = k;
	arb__log(ARB_LOG_INFO, c->path, "event=delete_child");
	rv = arb__sup_reload(sup, &tmp);
	arb__free(kids);
	return rv;
}
