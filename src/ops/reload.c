// SPDX-License-Identifier: MIT
// reload.c -- applying a changed tree file to a running node (SIGHUP,
// and `arborctl reload` through the control socket): SPEC 25.  A node
// served without a tree file reloads through the program's callback.
//
// The file is read and checked exactly as `arbor check` does; an invalid
// file is rejected and the running tree stays as it is.  A valid one is
// handed to arb_node_reload, which touches only the children that were
// added, removed or changed.  The new configuration is released once the
// library has copied the spec: services keep reading the configuration
// the node started with.  Thread: node.

#include "plugin.h"
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELOAD_ERRBUF (64 * 1024)

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL)
	    || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

// node_changes lists the node.* settings that differ and need a restart.
static void
node_changes(
    const arb_tree *a, const arb_tree *b, char *buf, size_t len)
{
	size_t used = 0;
	int    n;

	buf[0] = '\0';
#define CHANGED(cond, name)                                                   \
	if ((cond) && used < len) {                                           \
		n = snprintf(                                                 \
		    buf + used, len - used, "%s%s", used ? "," : "", name);   \
		used += n > 0 ? (size_t) n : 0;                               \
	}
	CHANGED(!same_str(a->name, b->name), "node.name")
	CHANGED(!same_str(a->control, b->control), "node.control")
	CHANGED(!same_str(a->http_host, b->http_host)
	        || a->http_port != b->http_port,
	    "node.http")
	CHANGED(a->max_msg_size != b->max_msg_size, "node.max_msg_size")
	CHANGED(!same_str(a->run_dir, b->run_dir), "node.run_dir")
	CHANGED(a->log_time != b->log_time, "node.log_time")
#undef CHANGED
}

// new_plugin returns the first plugin of b that a did not load.
static const char *
new_plugin(const arb_tree *a, const arb_tree *b)
{
	size_t i, j;

	for (i = 0; i < b->nplugins; i++) {
		for (j = 0; j < a->nplugins; j++) {
			if (strcmp(a->plugins[j], b->plugins[i]) == 0) {
				break;
			}
		}
		if (j == a->nplugins) {
			return b->plugins[i];
		}
	}
	return NULL;
}

// serve_reload_cb reloads through the program's own reload callback (a
// node served without a tree file).
static int
serve_reload_cb(arb__serve *run, arb__errs *errs)
{
	char buf[1024];
	int  rv;

	if (run->reload == NULL) {
		arb__errs_add(errs, 0, 0,
		    "this node has no tree file and no reload callback: "
		    "nothing to reload");
		return ARB_ENOTSUP;
	}
	buf[0] = '\0';
	if ((rv = run->reload(run->node, run->reload_arg, buf, sizeof(buf)))
	    == ARB_OK) {
		run->reloads++;
	} else {
		arb__errs_add(errs, 0, 0, buf[0] != '\0' ? buf : arb_strerror(rv));
	}
	return rv;
}

int
arb__serve_reload(arb__serve *run, arb__errs *errs)
{
	arb_tree   *cfg;
	char       *buf, *line, *save = NULL;
	const char *p;
	int         rv;

	if (run->file == NULL) {
		return serve_reload_cb(run, errs);
	}
	if ((rv = arb__tree_load(run->file, -1, &cfg, errs)) != ARB_OK) {
		return rv;
	}
	if ((p = new_plugin(run->cfg, cfg)) != NULL) {
		// Process actors learn plugins from the environment, which
		// can't be changed safely while actor threads run.
		buf = arb__xalloc(1024);
		snprintf(buf, 1024,
		    "%s: plugins: %s is new; plugins are loaded at start only "
		    "(restart the node)",
		    run->file, p);
		arb__errs_add(errs, 0, 0, buf);
		free(buf);
		arb__tree_free(cfg);
		return ARB_ESPEC;
	}
	buf = arb__xalloc(RELOAD_ERRBUF);
	node_changes(run->cfg, cfg, buf, 512);
	if (buf[0] != '\0') {
		arb_log(NULL, ARB_LOG_WARN, "reload_ignored",
		    "fields=%s reason=\"read at start only; restart the "
		    "node\"",
		    buf);
	}
	if (cfg->log_level != run->cfg->log_level) {
		arb_node_set_log_level(run->node,
		    cfg->log_level != ARB_LOG_DEFAULT ? cfg->log_level
		                                      : ARB_LOG_INFO);
	}
	rv = arb_node_reload(run->node, cfg->root, buf, RELOAD_ERRBUF);
	if (rv == ARB_OK) {
		run->reloads++;
	} else {
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			arb__errs_add(errs, 0, 0, line);
		}
	}
	free(buf);
	arb__tree_free(cfg); // the library copied the spec
	return rv;
}

int
arb__serve_reload_logged(arb__serve *run, arb__errs *errs, const char *by)
{
	size_t from = errs->n;
	size_t i;
	int    rv;

	rv = arb__serve_reload(run, errs);
	for (i = from; i < errs->n; i++) {
		arb_log(NULL, ARB_LOG_ERROR, "reload_error", "%s",
		    errs->v[i].text);
	}
	if (rv == ARB_OK) {
		arb_log(NULL, ARB_LOG_INFO, "reload_applied",
		    "file=%s reloads=%u by=%s",
		    run->file != NULL ? run->file : "-", run->reloads, by);
	} else {
		arb_log(NULL, ARB_LOG_ERROR, "reload_rejected",
		    "file=%s problems=%zu error=%s action=keep_tree by=%s",
		    run->file != NULL ? run->file : "-",
		    errs->n - from + errs->more, arb_err_name(rv), by);
	}
	return rv;
}
