// SPDX-License-Identifier: MIT
// health.c -- readiness and degradation of a served node (health.h).
//
// Liveness (/healthz, the systemd watchdog) is the library's
// arb_node_live: every running actor's loop ticks.  Readiness is more:
// the tree came up (arb_node_ready) and every child that is meant to run
// does.  A permanent child is always meant to run (OTP restarts it
// whatever its exit), and a significant one is what its supervisor lives
// for; one of them in backoff, stopped by an operator, or starting again
// after a crash is a node that does less than its tree says, which a
// load balancer or a monitor must be told: the node is degraded.
// Transient and temporary children that ended are not: ending is what
// they may do.  Thread: node.

#include "health.h"

#include "config.h"

#include <stdlib.h>
#include <string.h>

static void
health_cb(const arb_child_info *in, void *arg)
{
	arb__health *h = arg;
	arb__down   *v;

	if (h->skip >= 0 && in->depth > h->skip) {
		return; // below a child already listed
	}
	h->skip = -1;
	if (in->depth == 0
	    || (in->restart != ARB_PERMANENT && !in->significant)
	    || in->state == ARB_STATE_RUNNING
	    || in->state == ARB_STATE_IGNORED) {
		return;
	}
	if (h->ndown == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 8;
		if ((v = realloc(h->down, h->cap * sizeof(*v))) == NULL) {
			arb__oom();
		}
		h->down = v;
	}
	h->down[h->ndown].path = arb__xstrdup(in->path);
	h->down[h->ndown++].state = in->state;
	h->skip = in->depth;
}

void
arb__health_read(arb_node *node, arb__health *h)
{
	memset(h, 0, sizeof(*h));
	h->skip = -1;
	h->started = arb_node_ready(node);
	arb_node_walk(node, health_cb, h);
}

void
arb__health_fini(arb__health *h)
{
	size_t i;

	for (i = 0; i < h->ndown; i++) {
		free(h->down[i].path);
	}
	free(h->down);
	memset(h, 0, sizeof(*h));
}

bool
arb__health_ready(const arb__health *h)
{
	return h->started && h->ndown == 0;
}

void
arb__health_text(const arb__health *h, arb__text *b, size_t max)
{
	size_t i;

	for (i = 0; i < h->ndown && i < max; i++) {
		arb__text_printf(b, "%s%s (%s)", i ? ", " : "",
		    h->down[i].path, arb_child_state_name(h->down[i].state));
	}
	if (h->ndown > max) {
		arb__text_printf(b, " and %zu more", h->ndown - max);
	}
}
