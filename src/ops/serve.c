// SPDX-License-Identifier: MIT
// serve.c -- the operator layer's public face: tree files (arb_tree_*)
// and the operator surface of a node by one call (arb_node_serve).
//
// arb_node_serve gathers the settings (the program's arb_serve_opts, else
// the tree's node.*, else the defaults), starts the control socket
// (control.c), HTTP (http.c) and systemd notification (notify.c) on the
// node's loop, and registers them as a node service: their hooks (READY,
// STOPPING, STATUS, reload on SIGHUP) run beside the program's own, and
// arb_node_close stops them first.  This layer sits above the node and
// calls it only through its API (and arb__node_service_add).
// Thread: node (arb_node_serve, the services); any (arb_tree_*).

#include "serve.h"

#include "../node/node_int.h"
#include "control.h"
#include "doc.h"
#include "http.h"
#include "notify.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- Tree files -------------------------------------------------------------

int
arb_tree_load(const char *path, arb_tree **treep)
{
	arb__errs   errs = { 0 };
	arb__arena *a;
	arb_tree   *t;
	int         rv;

	*treep = NULL;
	if (path == NULL) {
		return ARB_EINVAL;
	}
	if ((rv = arb__tree_load(path, -1, &t, &errs)) == ARB_OK) {
		*treep = t;
		return ARB_OK;
	}
	// Invalid: a tree that holds only the problems.
	a = arb__arena_open();
	t = arb__arena_alloc(a, sizeof(*t));
	t->arena = a;
	t->file = arb__arena_strdup(a, path);
	t->name = "arbor";
	t->errs = arb__arena_alloc(a, sizeof(*t->errs));
	*t->errs = errs; // the texts are freed by arb_tree_free
	*treep = t;
	return rv;
}

void
arb_tree_free(arb_tree *tree)
{
	if (tree == NULL) {
		return;
	}
	if (tree->errs != NULL) {
		arb__errs_fini(tree->errs);
	}
	arb__tree_free(tree);
}

size_t
arb_tree_errors(const arb_tree *tree)
{
	return tree != NULL && tree->errs != NULL
	    ? tree->errs->n + tree->errs->more
	    : 0;
}

const char *
arb_tree_error(const arb_tree *tree, size_t i)
{
	return tree != NULL && tree->errs != NULL && i < tree->errs->n
	    ? tree->errs->v[i].text
	    : NULL;
}

const arb_sup_spec *
arb_tree_spec(const arb_tree *tree)
{
	return tree != NULL && tree->errs == NULL ? tree->root : NULL;
}

void
arb_tree_node_opts(const arb_tree *tree, arb_node_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	if (tree == NULL || tree->errs != NULL) {
		return;
	}
	opts->name = tree->name;
	opts->run_dir = tree->run_dir;
	opts->max_msg_size = tree->max_msg_size;
	opts->log_level = tree->log_level;
	opts->log_time = tree->log_time;
	opts->listen = tree->listen;
	opts->peers = tree->peers;
	opts->npeers = tree->npeers;
	opts->cookie_file = tree->cookie;
	opts->insecure = tree->insecure;
	opts->tls_cert = tree->tls_cert;
	opts->tls_key = tree->tls_key;
	opts->tls_ca = tree->tls_ca;
	opts->hb_interval_ms = tree->heartbeat_ms;
	opts->hb_miss = tree->heartbeat_misses;
	opts->orphan_grace_ms = tree->orphan_grace_ms;
	opts->watch_max = tree->watch_max;
	opts->max_unproven = tree->max_unproven;
	opts->no_standby = tree->no_standby;
}

// --- Serving ----------------------------------------------------------------

static arb__serve *the_serve; // at most one node per process

static void
serve_ready(arb_node *node, void *arg)
{
	arb__serve *s = arg;

	if (s->notify) {
		arb__notify_ready(node);
	}
}

static void
serve_stopping(arb_node *node, void *arg)
{
	arb__serve *s = arg;

	if (s->notify) {
		arb__notify_stopping(node);
	}
}

static void
serve_changed(arb_node *node, void *arg)
{
	arb__serve *s = arg;

	if (s->notify) {
		arb__notify_changed(node);
	}
}

// serve_sighup logs every problem of an invalid file (the lines `arbor
// check` prints) and keeps the tree; `arborctl reload` takes the same
// path through the control socket.
static void
serve_sighup(arb_node *node, void *arg)
{
	ARB_UNUSED(node);
	arb__serve_reload_request(arg, "sighup", NULL, NULL);
}

static void
serve_close(arb_node *node, void *arg)
{
	arb__serve *s = arg;

	ARB_UNUSED(node);
	arb__serve_reload_stop(s); // first: a waiting request may be the
	                           // control socket's
	arb__http_stop(s);
	arb__control_stop(s);
	if (s->notify) {
		arb__notify_fini();
	}
	if (the_serve == s) {
		the_serve = NULL;
	}
	free(s);
}

// serve_settings fills s from opts, then the tree, then the defaults.
static int
serve_settings(arb__serve *s, const arb_serve_opts *o)
{
	const arb_tree *t = o->tree;
	char            why[256];

	if (t != NULL && t->errs != NULL) {
		arb_log(NULL, ARB_LOG_ERROR, "serve_refused",
		    "file=%s reason=\"the tree has %zu problems\"", t->file,
		    arb_tree_errors(t));
		return ARB_ESPEC;
	}
	s->cfg = t;
	s->file = t != NULL ? t->file : NULL;
	s->name = arb_node_name(s->node);
	s->control = o->control != NULL ? o->control
	    : t != NULL                 ? t->control
	                                : NULL;
	s->no_control = o->no_control;
	s->max_msg_size = t != NULL ? t->max_msg_size : 0;
	s->notify = !o->no_notify;
	s->reload = o->reload;
	s->reload_arg = o->reload_arg;
	if (o->http != NULL) {
		if (arb__http_addr(o->http, s->http_host, sizeof(s->http_host),
		        &s->http_port, why, sizeof(why))
		    != ARB_OK) {
			arb_log(NULL, ARB_LOG_ERROR, "http_unavailable",
			    "reason=\"http: %s\"", why);
			return ARB_ESPEC;
		}
	} else if (t != NULL && t->http_port > 0) {
		snprintf(
		    s->http_host, sizeof(s->http_host), "%s", t->http_host);
		s->http_port = t->http_port;
	}
	return ARB_OK;
}

// serve_code maps a service's start result (an exit code, as the arbor
// program uses them) onto an error.
static int
serve_code(int code)
{
	return code == ARB_EXIT_CONFIG ? ARB_ESPEC : ARB_EEXIST;
}

int
arb_node_serve(arb_node *node, const arb_serve_opts *opts)
{
	static const arb_serve_opts dflt = { 0 };
	arb__service                svc;
	arb__serve                 *s;
	int                         rv, code;

	if (node == NULL) {
		return ARB_EINVAL;
	}
	if (the_serve != NULL || node->running) {
		return ARB_ESTATE;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	s->node = node;
	if ((rv = serve_settings(s, opts != NULL ? opts : &dflt)) != ARB_OK) {
		free(s);
		return rv;
	}
	// Process actors re-execute the program: they load the same
	// plugins (before the node starts its threads).
	if (s->cfg != NULL) {
		arb__plugins_export_env();
	}
	if (!s->no_control && (code = arb__control_start(s)) != 0) {
		free(s);
		return serve_code(code);
	}
	if ((code = arb__http_start(s)) != 0) {
		arb__control_stop(s);
		free(s);
		return serve_code(code);
	}
	memset(&svc, 0, sizeof(svc));
	svc.hooks.ready = serve_ready;
	svc.hooks.stopping = serve_stopping;
	svc.hooks.changed = serve_changed;
	if (s->file != NULL || s->reload != NULL) {
		svc.hooks.reload = serve_sighup;
	}
	svc.arg = s;
	svc.close = serve_close;
	if ((rv = arb__node_service_add(node, &svc)) != ARB_OK) {
		arb__http_stop(s);
		arb__control_stop(s);
		free(s);
		return rv;
	}
	if (s->notify) {
		arb__notify_init(node);
	}
	the_serve = s;
	return ARB_OK;
}
