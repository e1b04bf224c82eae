// SPDX-License-Identifier: MIT
// reload.c -- applying a changed tree file to a running node (SIGHUP,
// and `arborctl reload` through the control socket): SPEC 25.
//
// The file is read and checked exactly as `arbor check` does; an invalid
// file is rejected and the running tree stays as it is.  A valid one is
// handed to arb_node_reload, which touches only the children that were
// added, removed or changed.  The new configuration is released once the
// library has copied the spec: services keep reading the configuration
// the node started with.  Thread: node.

#include "plugin.h"
#include "services.h"

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
    const arbor_config *a, const arbor_config *b, char *buf, size_t len)
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
#undef CHANGED
}

// new_plugin returns the first plugin of b that a did not load.
static const char *
new_plugin(const arbor_config *a, const arbor_config *b)
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

int
arbor_run_reload(arbor_run *run, arbor_errs *errs)
{
	arbor_config *cfg;
	char         *buf, *line, *save = NULL;
	const char   *p;
	int           rv;

	if ((rv = arbor_config_load(run->file, &cfg, errs)) != ARB_OK) {
		return rv;
	}
	if ((p = new_plugin(run->cfg, cfg)) != NULL) {
		// Process actors learn plugins from the environment, which
		// can't be changed safely while actor threads run.
		buf = arbor_xalloc(1024);
		snprintf(buf, 1024,
		    "%s: plugins: %s is new; plugins are loaded at start only "
		    "(restart the node)",
		    run->file, p);
		arbor_errs_add(errs, 0, 0, buf);
		free(buf);
		arbor_config_free(cfg);
		return ARB_ESPEC;
	}
	buf = arbor_xalloc(RELOAD_ERRBUF);
	node_changes(run->cfg, cfg, buf, 512);
	if (buf[0] != '\0') {
		fprintf(stderr,
		    "arbor[%d]: warn - event=reload_ignored fields=%s "
		    "reason=\"read at start only; restart the node\"\n",
		    (int) getpid(), buf);
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
			arbor_errs_add(errs, 0, 0, line);
		}
	}
	free(buf);
	arbor_config_free(cfg); // the library copied the spec
	return rv;
}

int
arbor_run_reload_logged(arbor_run *run, arbor_errs *errs, const char *by)
{
	size_t from = errs->n;
	size_t i;
	int    rv;

	rv = arbor_run_reload(run, errs);
	for (i = from; i < errs->n; i++) {
		fprintf(stderr, "arbor[%d]: error - event=reload_error %s\n",
		    (int) getpid(), errs->v[i].text);
	}
	if (rv == ARB_OK) {
		fprintf(stderr,
		    "arbor[%d]: info - event=reload_applied file=%s "
		    "reloads=%u by=%s\n",
		    (int) getpid(), run->file, run->reloads, by);
	} else {
		fprintf(stderr,
		    "arbor[%d]: error - event=reload_rejected file=%s "
		    "problems=%zu error=%s action=keep_tree by=%s\n",
		    (int) getpid(), run->file, errs->n - from,
		    arb_err_name(rv), by);
	}
	return rv;
}
