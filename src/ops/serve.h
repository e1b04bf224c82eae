// SPDX-License-Identifier: MIT
// serve.h -- the operator layer's state for one served node (serve.c):
// what its services share, the control socket (control.c), the HTTP
// endpoint (http.c), systemd notification (notify.c) and reload
// (reload.c).
//
// arb_node_serve starts the services on the node's loop (arb_node_base)
// before arb_node_run; arb_node_close stops them (a node service's close
// callback).  Services run on the node thread, so they may call every
// arb_node_* function, and arb__serve_reload_request for `arborctl
// reload`.
// Thread: node.

#ifndef ARB_OPS_SERVE_H
#define ARB_OPS_SERVE_H

#include "config.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

struct arb__control;
struct arb__http;
struct arb__reload;

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
	// The node.* settings the last applied reload changed but which are
	// read at start only ("node.name,node.http"; "" none): told to
	// `arborctl reload` too, not only logged.
	char reload_ignored[512];
	struct arb__control *control_srv; // control.c, NULL when not serving
	struct arb__http    *http;        // http.c, NULL when off
	struct arb__reload  *reloader;    // reload.c, NULL until one
} arb__serve;

// arb__reload_done receives the outcome of a reload on the node thread:
// ARB_OK (applied), ARB_ESPEC (an invalid file: every problem in errs,
// the tree untouched), or arb_node_reload's errors (ARB_EAGAIN: a restart
// is under way, try again; ARB_ESHUTDOWN: the node is stopping) with
// their text in errs.  errs is borrowed for the call.
typedef void (*arb__reload_done)(int rv, const arb__errs *errs, void *arg);

// arb__serve_reload_request reloads, as SIGHUP (by "sighup") and
// `arborctl reload` (by "control") ask: the tree file is read and checked
// by arb__tree_load on a thread of its own, so a big or slow file never
// stalls the node's loop, then applied here by arb_node_reload (reload.c).
// node.* settings are read at start only (a change is logged and
// ignored), except node.log_level, which applies at once; new plugins
// need a restart (rejected with ARB_ESPEC).  The outcome is logged, one
// line per problem (event=reload_error FILE:LINE:COLUMN: ...), then
// event=reload_applied or event=reload_rejected with by=.  done (may be
// NULL) is then called exactly once on the node thread -- before this
// function returns when the node has no tree file (the program's reload
// callback answers at once).  A request while a read is under way is
// served by the next read.  Thread: node.
// arb__serve_spec_load reads one child spec, YAML or JSON text (len
// bytes at spec), as a child of the tree file is read and checked
// (config.c, through a private file named after near, removed at once;
// its relative paths are dir's, the tree file's directory, or with dir
// NULL the node's working directory's):
// ARB_OK with *cfgp (arb__tree_free it) whose root has that one child, or
// an error (ARB_ESPEC) with every problem in why as "spec:LINE:COLUMN:
// field: ...", LINE and COLUMN those of the text given.  Thread: node.
int arb__serve_spec_load(const char *near, const char *dir,
    const char *spec, size_t len, arb_tree **cfgp, char *why,
    size_t whylen);

void arb__serve_reload_request(
    arb__serve *run, const char *by, arb__reload_done done, void *arg);

// arb__serve_reload_stop stops a read under way (its thread is joined;
// the read ends at once) and forgets the requests waiting: their done is
// never called.  Calling it when nothing was reloaded is a harmless
// no-op.  Thread: node.
void arb__serve_reload_stop(arb__serve *run);

#endif // ARB_OPS_SERVE_H
