// SPDX-License-Identifier: MIT
// health.h -- what the node's probes say (health.c): ready, degraded
// (with the paths of the children that make it so), shared by HTTP
// (/readyz, /metrics, the page), the tree document (/api/tree, `arborctl
// status`) and systemd's STATUS line, so that none of them can say
// something the others do not.  Thread: node.

#ifndef ARB_OPS_HEALTH_H
#define ARB_OPS_HEALTH_H

#include "text.h"

#include <arbor/arbor.h>

// One child that makes the node degraded.
typedef struct arb__down {
	char           *path;
	arb_child_state state;
} arb__down;

// arb__health is the node's health at one moment.  A zeroed one is
// empty; arb__health_fini releases it.
typedef struct arb__health {
	bool started;    // arb_node_ready: the whole tree reported READY
	                 // once, and no stop began
	arb__down *down; // permanent or significant children not running
	size_t     ndown;
	size_t     cap;
	int        skip; // walk state: depth of the last child listed
} arb__health;

// arb__health_read fills h (zeroed or finished) from the live tree: a
// child is down when it is permanent or significant and its state is
// not running (starting, restarting, stopping, stopped); an ignored one
// (its init answered ignore) is not down.  Below a child that is down
// nothing more is listed (a supervisor that is down takes its children
// with it).  Out of memory ends the program (exit 70).  Thread: node.
void arb__health_read(arb_node *node, arb__health *h);

// arb__health_fini releases h and leaves it zeroed.
void arb__health_fini(arb__health *h);

// arb__health_ready is what /readyz answers: the tree is up and nothing
// is down.
bool arb__health_ready(const arb__health *h);

// arb__health_text appends "root/a (restarting), root/b (stopped)" to b:
// at most max children, then "and N more".
void arb__health_text(const arb__health *h, arb__text *b, size_t max);

#endif // ARB_OPS_HEALTH_H
