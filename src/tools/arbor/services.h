// SPDX-License-Identifier: MIT
// services.h -- what a running `arbor run` offers to its services: the
// control socket (control.c) and the HTTP endpoint (http.c).
//
// main.c opens the node, starts the services on the node's loop
// (arb_node_base) just before arb_node_run, and stops them after it
// returns.  Services run on the node thread, so they may call every
// arb_node_* function, and arbor_run_reload for `arborctl reload`.
// Thread: node.

#ifndef ARBOR_TOOL_SERVICES_H
#define ARBOR_TOOL_SERVICES_H

#include "config.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

struct arbor_control;
struct arbor_http;

typedef struct arbor_run {
	arb_node     *node;
	arbor_config *cfg;     // as loaded at start: node.* settings live here
	const char   *file;    // the tree file, re-read by a reload
	unsigned      reloads; // applied so far
	struct arbor_control *control; // control.c, NULL when not serving
	struct arbor_http    *http;    // http.c, NULL when off
} arbor_run;

// arbor_run_reload re-reads the tree file and applies it to the running
// tree as a diff (arb_node_reload).  On ARB_ESPEC errs holds every
// problem (the same lines as `arbor check`) and the tree is untouched.
// Other results are arb_node_reload's (ARB_EAGAIN: a restart is under
// way, try again; ARB_ESHUTDOWN: the node is stopping), with its text in
// errs.  node.* settings are read only at start (a change is logged and
// ignored), except node.log_level, which applies at once; new plugins
// need a restart (rejected with ARB_ESPEC).  Thread: node.
int arbor_run_reload(arbor_run *run, arbor_errs *errs);

// arbor_run_reload_logged is arbor_run_reload that also logs the outcome,
// one line per problem (event=reload_error FILE:LINE:COLUMN: ...), then
// event=reload_applied or event=reload_rejected; by says who asked
// ("sighup", "control").  SIGHUP and `arborctl reload` both use it.
// Thread: node.
int arbor_run_reload_logged(arbor_run *run, arbor_errs *errs, const char *by);

#endif // ARBOR_TOOL_SERVICES_H
