// SPDX-License-Identifier: MIT
// config.c -- loading a tree file into a struct arb_tree (config.h):
// the top level, node settings and plugins here, the supervision tree in
// tree.c, then the library's spec checker over the result.
//
// The tree is built even when parts of it are wrong, so that one run
// reports every problem.  A field whose value is wrong gets a value the
// library's spec checker rejects for the same field (an unknown enum, a
// negative duration), and the checker's lines ("root/x: field: what")
// are mapped back to YAML positions through a table of child paths; a
// line about a field that was already reported is dropped, so each
// problem is reported once, where the user wrote it.  Thread: the
// caller's.

#include "config.h"

#include "pathcheck.h"
#include "http.h"
#include "loader.h"
#include "plugin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK_BUF (64 * 1024)

static const char *const top_keys[] = { "node", "plugins", "root", NULL };
static const char *const      node_keys[] = { "name", "control", "http",
	     "max_msg_size", "log_level", "log_time", "run_dir", "listen",
	     "peers", "cookie", "insecure", "tls", "heartbeat", "orphan_grace",
	     "standby", "watch_max", "max_unproven", NULL };
static const arb__doc_word    log_levels[] = { { "error", ARB_LOG_ERROR },
	   { "warn", ARB_LOG_WARN }, { "info", ARB_LOG_INFO },
	   { "debug", ARB_LOG_DEBUG }, { NULL, 0 } };
static const arb__doc_word    log_times[] = { { "auto", ARB_LOG_TIME_AUTO },
	   { "on", ARB_LOG_TIME_ON }, { "off", ARB_LOG_TIME_OFF },
	   { NULL, 0 } };

// --- Sites ------------------------------------------------------------------

static size_t
site_find(loader *ld, const char *path)
{
	size_t i;

	for (i = 0; i < ld->nsites; i++) {
		if (!ld->sites[i].retired
		    && strcmp(ld->sites[i].path, path) == 0) {
			return i;
		}
	}
	return SIZE_MAX;
}

// --- node: and plugins: -----------------------------------------------------

static void
load_http(loader *ld, yaml_node_t *v)
{
	arb__doc   *d = &ld->d;
	const char *s;
	char        host[64], why[256];
	int         port;

	if (!arb__doc_scalar(d, v, "node.http", &s, NULL)) {
		return;
	}
	if (arb__http_addr(s, host, sizeof(host), &port, why, sizeof(why))
	    != ARB_OK) {
		arb__doc_err(d, v, "node.http", "%s", why);
		return;
	}
	ld->cfg->http_host = arb__arena_strdup(d->arena, host);
	ld->cfg->http_port = port;
}

static void
load_node(loader *ld, yaml_node_t *map)
{
	arb__doc         *d = &ld->d;
	arb_tree      *cfg = ld->cfg;
	yaml_node_t       *v;
	const char        *s;
	long long          n;
	int                lvl;
	bool               standby;
	struct sockaddr_un sun;

	if (!arb__doc_map_check(d, map, "node", node_keys)) {
		return;
	}
	if ((v = arb__doc_get(d, map, "name", NULL)) != NULL
	    && arb__doc_string(d, v, "node.name", &s)) {
		if (!arb__loader_name_ok(s)) {
			arb__doc_err(d, v, "node.name",
			    "\"%s\": 1 to 63 characters from A-Z a-z 0-9 _ . "
			    "-",
			    s);
		} else {
			cfg->name = s;
		}
	}
	if ((v = arb__doc_get(d, map, "control", NULL)) != NULL
	    && arb__doc_string(d, v, "node.control", &s)) {
		s = arb__loader_resolve(ld, s);
		if (strlen(s) >= sizeof(sun.sun_path)) {
			arb__doc_err(d, v, "node.control",
			    "socket path longer than %zu bytes: %s",
			    sizeof(sun.sun_path) - 1, s);
		} else {
			cfg->control = s;
		}
	}
	if ((v = arb__doc_get(d, map, "http", NULL)) != NULL) {
		load_http(ld, v);
	}
	if ((v = arb__doc_get(d, map, "max_msg_size", NULL)) != NULL
	    && arb__doc_int(
	        d, v, "node.max_msg_size", 1024, 256LL << 20, &n)) {
		cfg->max_msg_size = (size_t) n;
	}
	if ((v = arb__doc_get(d, map, "log_level", NULL)) != NULL
	    && arb__doc_enum(d, v, "node.log_level", log_levels, &lvl)) {
		cfg->log_level = lvl;
	}
	if ((v = arb__doc_get(d, map, "log_time", NULL)) != NULL
	    && arb__doc_enum(d, v, "node.log_time", log_times, &lvl)) {
		cfg->log_time = lvl;
	}
	if ((v = arb__doc_get(d, map, "run_dir", NULL)) != NULL
	    && arb__doc_string(d, v, "node.run_dir", &s)) {
		cfg->run_dir = arb__loader_resolve(ld, s);
	}
	if ((v = arb__doc_get(d, map, "standby", NULL)) != NULL
	    && arb__doc_bool(d, v, "node.standby", &standby)) {
		cfg->no_standby = !standby;
	}
	arb__loader_links(ld, map); // after name: a peer may not be this node
}

// http_bindable is what `arbor run` would meet binding node.http: a port
// this user may not bind (below 1024 without the capability) or an
// address the machine does not have.  A port in use is no problem here:
// it may be this very node's, and it is a question of the moment.
static void
check_http(loader *ld, yaml_node_t *at)
{
	struct sockaddr_in sin;
	int                fd, one = 1;

	if (ld->cfg->http_port == 0) {
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) ld->cfg->http_port);
	if (inet_pton(AF_INET, ld->cfg->http_host, &sin.sin_addr) != 1
	    || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return;
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0
	    && errno != EADDRINUSE) {
		arb__doc_err(&ld->d, at, "node.http",
		    "cannot bind %s:%d: %s%s", ld->cfg->http_host,
		    ld->cfg->http_port, strerror(errno),
		    errno == EACCES ? " (a port below 1024 needs root or "
		                      "CAP_NET_BIND_SERVICE)"
		                    : "");
	}
	close(fd);
}

// check_node_paths finds what `arbor run` would refuse before starting
// (exit 78) or fail on at once: a control socket whose directory is open
// to others, is not a directory, or belongs to another user, a path that
// is a regular file (arb__control_path_check, the run's own check), and
// a run directory that cannot be used; also node.http (check_http).
static void
check_node_paths(loader *ld, yaml_node_t *top)
{
	arb__doc    *d = &ld->d;
	yaml_node_t *node, *key, *at;
	char         path[ARB__SOCK_PATH_MAX + 64], why[600];

	node = arb__doc_get(d, top, "node", &key);
	if (ld->cfg->control != NULL) {
		at = arb__doc_get(d, node, "control", NULL);
		if (arb__control_path_check(ld->cfg->control, why, sizeof(why))
		    != 0) {
			arb__doc_err(d, at, "node.control", "%s: %s",
			    ld->cfg->control, why);
		}
	} else if (arb__control_default(ld->cfg->name, path, sizeof(path)) == 0
	    && arb__control_path_check(path, why, sizeof(why)) != 0) {
		// Not in the file, but where the file's node would serve.
		at = arb__doc_get(d, node, "name", NULL);
		arb__doc_err(d,
		    at != NULL        ? at
		        : key != NULL ? key
		                      : top,
		    "node.control",
		    "the default control socket %s: %s (or set node.control "
		    "to a path in a private directory)",
		    path, why);
	}
	if (ld->cfg->run_dir != NULL
	    && arb__run_dir_check(ld->cfg->run_dir, why, sizeof(why)) != 0) {
		arb__doc_err(d, arb__doc_get(d, node, "run_dir", NULL),
		    "node.run_dir", "%s: %s", ld->cfg->run_dir, why);
	}
	if (node != NULL) {
		check_http(ld, arb__doc_get(d, node, "http", NULL));
	}
}

static void
load_plugins(loader *ld, yaml_node_t *seq)
{
	arb__doc   *d = &ld->d;
	yaml_node_t *it;
	const char  *s;
	const char **v;
	char         err[512];
	size_t       i, n = arb__doc_len(seq);

	if (seq->type != YAML_SEQUENCE_NODE) {
		arb__doc_err(d, seq, "plugins",
		    "expected a list of shared object paths, got %s",
		    arb__doc_kind(seq));
		return;
	}
	v = arb__arena_alloc(d->arena, (n + 1) * sizeof(*v));
	for (i = 0; i < n; i++) {
		it = arb__doc_item(d, seq, i);
		if (!arb__doc_string(d, it, "plugins", &s)) {
			continue;
		}
		s = arb__loader_resolve(ld, s);
		if (arb__plugins_load(s, err, sizeof(err)) != 0) {
			arb__doc_err(d, it, "plugins", "cannot load: %s", err);
			continue;
		}
		v[ld->cfg->nplugins++] = s;
	}
	ld->cfg->plugins = v;
}

// --- The tree ---------------------------------------------------------------

// --- The library's checker --------------------------------------------------

// checker_field maps a spec field of the checker onto the YAML key; sup
// is set for the fields of a supervisor (looked up in its own mapping).
static const char *
checker_field(const char *f, bool *sup)
{
	static const struct {
		const char *spec, *yaml;
		bool        sup;
	} map[] = { { "argv", "command", false },
		{ "sup", "supervisor", false },
		{ "backoff_min", "backoff.min", false },
		{ "backoff_max", "backoff.max", false },
		{ "stable", "backoff.stable", false },
		{ "arg", "config", false }, { "strategy", "strategy", true },
		{ "intensity", "intensity", true },
		{ "period", "period", true },
		{ "auto_shutdown", "auto_shutdown", true },
		{ "children", "children", true },
		{ "spec", "supervisor", false } };
	size_t i;

	*sup = false;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(f, map[i].spec) == 0) {
			*sup = map[i].sup;
			return map[i].yaml;
		}
	}
	return f;
}

static void
check_line(loader *ld, char *line)
{
	arb__doc   *d = &ld->d;
	char        *f, *msg;
	const char  *yf;
	size_t       si;
	yaml_node_t *map, *at;
	bool         sup, exact;

	if ((f = strstr(line, ": ")) == NULL
	    || (msg = strstr(f + 2, ": ")) == NULL) {
		arb__doc_err(d, arb__doc_root(d), "root", "%s", line);
		return;
	}
	*f = '\0';
	*msg = '\0';
	f += 2;
	msg += 2;
	yf = checker_field(f, &sup);
	if ((si = site_find(ld, line)) == SIZE_MAX) {
		arb__doc_err(d, arb__doc_root(d), yf, "%s: %s", line, msg);
		return;
	}
	if (strcmp(yf, "name") == 0
	    && strncmp(msg, "duplicate sibling", 17) == 0) {
		// The checker names both siblings "root/x"; the lines after
		// this one are about the later sibling.
		ld->sites[si].retired = true;
		si = site_find(ld, line) != SIZE_MAX ? site_find(ld, line)
		                                     : si;
	}
	if (arb__loader_was_seen(ld, si, yf)) {
		return; // already reported by the schema, where it was written
	}
	map = sup || ld->sites[si].child == NULL ? ld->sites[si].sup
	                                         : ld->sites[si].child;
	at = arb__doc_find(d, map, yf, &exact);
	if (strcmp(yf, "period") == 0 && !exact) {
		// Only the intensity was given: point at it.
		yaml_node_t *in = arb__doc_find(d, map, "intensity", &exact);
		arb__doc_err(d, exact ? in : at, "period",
		    "missing: an intensity needs a period (e.g. period: 5s)");
		return;
	}
	arb__doc_err(d, at, yf, "%s", msg);
}

static void
run_checker(loader *ld)
{
	char *buf = arb__xalloc(CHECK_BUF);
	char *line, *save = NULL;

	if (arb_sup_spec_check(ld->cfg->root, buf, CHECK_BUF) == ARB_ESPEC) {
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			check_line(ld, line);
		}
	}
	free(buf);
}

// --- Loading ----------------------------------------------------------------

static bool
is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE
	    && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
	    && arb__doc_word_in(
	        (const char *) n->data.scalar.value, arb__doc_null_words);
}

static void
sort_errs(arb__errs *errs, size_t from)
{
	size_t    i, j;
	arb__err t;

	// Insertion sort: stable, and the lists are short.
	for (i = from + 1; i < errs->n; i++) {
		t = errs->v[i];
		for (j = i; j > from
		     && (errs->v[j - 1].line > t.line
		         || (errs->v[j - 1].line == t.line
		             && errs->v[j - 1].col > t.col));
		     j--) {
			errs->v[j] = errs->v[j - 1];
		}
		errs->v[j] = t;
	}
}

// file_dir is dir (real when it can be), or without it file's directory.
static const char *
file_dir(arb__arena *a, const char *file, const char *dir)
{
	char       *copy = arb__xstrdup(file);
	char        real[PATH_MAX];
	const char *out;

	if (dir == NULL) {
		dir = dirname(copy);
	}
	out = realpath(dir, real) != NULL ? arb__arena_strdup(a, real)
	                                  : arb__arena_strdup(a, dir);
	free(copy);
	return out;
}

int
arb__tree_load(
    const char *file, int cancel_fd, arb_tree **cfgp, arb__errs *errs)
{
	return arb__tree_load_in(file, NULL, cancel_fd, cfgp, errs);
}

int
arb__tree_load_in(const char *file, const char *dir, int cancel_fd,
    arb_tree **cfgp, arb__errs *errs)
{
	loader        ld;
	arb_tree *cfg;
	arb__arena  *a = arb__arena_open();
	yaml_node_t  *top, *v, *key;
	size_t        first = errs->n;
	size_t        root_si;

	*cfgp = NULL;
	memset(&ld, 0, sizeof(ld));
	cfg = arb__arena_alloc(a, sizeof(*cfg));
	cfg->arena = a;
	cfg->file = arb__arena_strdup(a, file);
	cfg->dir = file_dir(a, file, dir);
	cfg->name = "arbor";
	cfg->log_level = ARB_LOG_DEFAULT;
	ld.cfg = cfg;
	if (arb__doc_open(&ld.d, cfg->file, cancel_fd, errs, a) != 0) {
		goto done;
	}
	top = arb__doc_root(&ld.d);
	if (!arb__doc_map_check(&ld.d, top, NULL, top_keys)) {
		goto done;
	}
	// "node:" or "plugins:" with nothing after them say nothing.
	if ((v = arb__doc_get(&ld.d, top, "node", NULL)) != NULL
	    && !is_null(v)) {
		load_node(&ld, v);
	}
	check_node_paths(&ld, top);
	if ((v = arb__doc_get(&ld.d, top, "plugins", NULL)) != NULL
	    && !is_null(v)) {
		load_plugins(&ld, v);
	}
	if ((v = arb__doc_get(&ld.d, top, "root", &key)) == NULL) {
		arb__doc_err(&ld.d, top, "root",
		    "missing: the root supervisor (root: {strategy: ..., "
		    "children: [...]})");
		goto done;
	}
	root_si = arb__loader_site_add(&ld, "root", NULL, v);
	cfg->root = arb__loader_sup(&ld, v, "root", root_si);
	arb__loader_checks(&ld);
	if (cfg->root != NULL) {
		run_checker(&ld);
	}
done:
	arb__doc_close(&ld.d);
	free(ld.checks);
	free(ld.sites);
	free(ld.seen);
	sort_errs(errs, first);
	if (ld.d.nerr > DOC_ERRS_MAX) {
		errs->more += (size_t) (ld.d.nerr - DOC_ERRS_MAX);
	}
	if (ld.d.nerr > 0) {
		arb__arena_close(a);
		return ARB_ESPEC;
	}
	*cfgp = cfg;
	return ARB_OK;
}

void
arb__tree_free(arb_tree *cfg)
{
	if (cfg != NULL) {
		arb__arena_close(cfg->arena); // cfg itself lives there
	}
}
