// SPDX-License-Identifier: MIT
// serve.h -- the operator layer's state for one served node (serve.c):
// what its services share, the control socket (control.c), the HTTP
// endpoint (http.c), systemd notification (notify.c) and reload
// (reload.c).
//
// arb_node_serve starts the services on the node's loop (arb_node_base)
// before arb_node_run; arb_node_close stops them (a node service's close
// callback).  Services run on the node thread, so they may call every
// arb_node_* function, and arb__serve_reload for `arborctl reload`.
// Thread: node.

#ifndef ARB_OPS_SERVE_H
#define ARB_OPS_SERVE_H

#include "config.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

struct arb__control;
struct arb__http;

typedef struct arb__serve {
	arb_node       *node;
	const arb_tree *cfg;  // the tree as loaded at start, or NULL
	const char     *file; // its file, re-read by a reload; or NULL
	// Settings (from arb_serve_opts, else the tree, else defaults).
	const char *name;         // the node's name
	const char *control;      // socket path; NULL: the default path
	bool        no_control;
	char        http_host[64]; // "" when HTTP is off
	int         http_port;
	size_t      max_msg_size; // 0: the library's default
	bool        notify;       // speak the systemd protocol
	int (*reload)(arb_node *node, void *arg, char *errbuf, size_t len);
	void    *reload_arg;
	unsigned reloads; // applied so far
	struct arb__control *control_srv; // control.c, NULL when not serving
	struct arb__http    *http;        // http.c, NULL when off
} arb__serve;

// arb__serve_reload re-reads the tree file and applies it to the running
// tree as a diff (arb_node_reload).  On ARB_ESPEC errs holds every
// problem (the same lines as `arbor check`) and the tree is untouched.
// Other results are arb_node_reload's (ARB_EAGAIN: a restart is under
// way, try again; ARB_ESHUTDOWN: the node is stopping), with its text in
// errs.  node.* settings are read only at start (a change is logged and
// ignored), except node.log_level, which applies at once; new plugins
// need a restart (rejected with ARB_ESPEC).  Thread: node.
int arb__serve_reload(arb__serve *run, arb__errs *errs);

// arb__serve_reload_logged is arb__serve_reload that also logs the outcome,
// one line per problem (event=reload_error FILE:LINE:COLUMN: ...), then
// event=reload_applied or event=reload_rejected; by says who asked
// ("sighup", "control").  SIGHUP and `arborctl reload` both use it.
// Thread: node.
int arb__serve_reload_logged(arb__serve *run, arb__errs *errs, const char *by);

#endif // ARB_OPS_SERVE_H
