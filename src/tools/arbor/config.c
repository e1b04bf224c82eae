// SPDX-License-Identifier: MIT
// config.c -- loading a tree file into a struct arbor_config (config.h):
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

#include "loader.h"
#include "plugin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK_BUF (64 * 1024)

static const char *const top_keys[] = { "node", "plugins", "root", NULL };
static const char *const node_keys[] = { "name", "control", "http",
	"max_msg_size", "log_level", "run_dir", NULL };
static const doc_word    log_levels[] = { { "error", ARB_LOG_ERROR },
	   { "warn", ARB_LOG_WARN }, { "info", ARB_LOG_INFO },
	   { "debug", ARB_LOG_DEBUG }, { NULL, 0 } };

// --- Sites and reported fields ----------------------------------------------

size_t
loader_site_add(
    loader *ld, const char *path, yaml_node_t *child, yaml_node_t *sup)
{
	site *v = realloc(ld->sites, (ld->nsites + 1) * sizeof(*v));

	if (v == NULL) {
		fprintf(stderr, "arbor: out of memory\n");
		exit(ARB_EXIT_SOFTWARE);
	}
	ld->sites = v;
	ld->sites[ld->nsites] = (site) { path, child, sup, false };
	return ld->nsites++;
}

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

void
loader_mark_seen(loader *ld, size_t si, const char *field)
{
	seen *v = realloc(ld->seen, (ld->nseen + 1) * sizeof(*v));

	if (v == NULL) {
		fprintf(stderr, "arbor: out of memory\n");
		exit(ARB_EXIT_SOFTWARE);
	}
	ld->seen = v;
	ld->seen[ld->nseen++] = (seen) { si, field };
}

bool
loader_was_seen(loader *ld, size_t si, const char *field)
{
	size_t i;

	for (i = 0; i < ld->nseen; i++) {
		if (ld->seen[i].site == si
		    && strcmp(ld->seen[i].field, field) == 0) {
			return true;
		}
	}
	return false;
}

// got returns ok, remembering a failed field of site si as reported.
bool
loader_got(loader *ld, size_t si, const char *field, bool ok)
{
	if (!ok) {
		loader_mark_seen(ld, si, field);
	}
	return ok;
}

const char *
loader_resolve(loader *ld, const char *p)
{
	return p[0] == '/'
	    ? p
	    : arbor_arena_printf(ld->d.arena, "%s/%s", ld->cfg->dir, p);
}

// name_ok mirrors the library's rule for child names, so labels (and
// thus paths) are the ones its checker prints.
bool
loader_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= NAME_MAX_LEN
	    && strspn(s,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789_.-")
	    == n;
}

// --- node: and plugins: -----------------------------------------------------

static void
load_http(loader *ld, yaml_node_t *v)
{
	arbor_doc     *d = &ld->d;
	const char    *s, *colon, *port;
	char           host[64];
	struct in_addr a;
	long long      p;
	char          *end;

	if (!doc_scalar(d, v, "node.http", &s, NULL)) {
		return;
	}
	colon = strrchr(s, ':');
	port = colon != NULL ? colon + 1 : s;
	snprintf(host, sizeof(host), "%.*s",
	    colon != NULL ? (int) (colon - s) : 9,
	    colon != NULL ? s : "127.0.0.1");
	p = strtoll(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || p < 1
	    || p > 65535) {
		doc_err(d, v, "node.http",
		    "\"%s\": expected \"PORT\" or \"127.0.0.1:PORT\" with a "
		    "port from 1 to 65535",
		    s);
		return;
	}
	if (strcmp(host, "localhost") == 0) {
		snprintf(host, sizeof(host), "127.0.0.1");
	}
	if (inet_pton(AF_INET, host, &a) != 1) {
		doc_err(d, v, "node.http",
		    "\"%s\": the host must be an IPv4 address such as "
		    "127.0.0.1",
		    host);
		return;
	}
	if ((ntohl(a.s_addr) >> 24) != 127) {
		doc_err(d, v, "node.http",
		    "\"%s\": HTTP is served on loopback only (127.0.0.0/8)",
		    host);
		return;
	}
	ld->cfg->http_host = arbor_arena_strdup(d->arena, host);
	ld->cfg->http_port = (int) p;
}

static void
load_node(loader *ld, yaml_node_t *map)
{
	arbor_doc         *d = &ld->d;
	arbor_config      *cfg = ld->cfg;
	yaml_node_t       *v;
	const char        *s;
	long long          n;
	int                lvl;
	struct sockaddr_un sun;

	if (!doc_map_check(d, map, "node", node_keys)) {
		return;
	}
	if ((v = doc_get(d, map, "name", NULL)) != NULL
	    && doc_string(d, v, "node.name", &s)) {
		if (!loader_name_ok(s)) {
			doc_err(d, v, "node.name",
			    "\"%s\": 1 to 63 characters from A-Z a-z 0-9 _ . "
			    "-",
			    s);
		} else {
			cfg->name = s;
		}
	}
	if ((v = doc_get(d, map, "control", NULL)) != NULL
	    && doc_string(d, v, "node.control", &s)) {
		s = loader_resolve(ld, s);
		if (strlen(s) >= sizeof(sun.sun_path)) {
			doc_err(d, v, "node.control",
			    "socket path longer than %zu bytes: %s",
			    sizeof(sun.sun_path) - 1, s);
		} else {
			cfg->control = s;
		}
	}
	if ((v = doc_get(d, map, "http", NULL)) != NULL) {
		load_http(ld, v);
	}
	if ((v = doc_get(d, map, "max_msg_size", NULL)) != NULL
	    && doc_int(d, v, "node.max_msg_size", 1024, 256LL << 20, &n)) {
		cfg->max_msg_size = (size_t) n;
	}
	if ((v = doc_get(d, map, "log_level", NULL)) != NULL
	    && doc_enum(d, v, "node.log_level", log_levels, &lvl)) {
		cfg->log_level = lvl;
	}
	if ((v = doc_get(d, map, "run_dir", NULL)) != NULL
	    && doc_string(d, v, "node.run_dir", &s)) {
		cfg->run_dir = loader_resolve(ld, s);
	}
}

static void
load_plugins(loader *ld, yaml_node_t *seq)
{
	arbor_doc   *d = &ld->d;
	yaml_node_t *it;
	const char  *s;
	const char **v;
	char         err[512];
	size_t       i, n = doc_len(seq);

	if (seq->type != YAML_SEQUENCE_NODE) {
		doc_err(d, seq, "plugins",
		    "expected a list of shared object paths, got %s",
		    doc_kind(seq));
		return;
	}
	v = arbor_arena_alloc(d->arena, (n + 1) * sizeof(*v));
	for (i = 0; i < n; i++) {
		it = doc_item(d, seq, i);
		if (!doc_string(d, it, "plugins", &s)) {
			continue;
		}
		s = loader_resolve(ld, s);
		if (arbor_plugin_load(s, err, sizeof(err)) != 0) {
			doc_err(d, it, "plugins", "cannot load: %s", err);
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
	arbor_doc   *d = &ld->d;
	char        *f, *msg;
	const char  *yf;
	size_t       si;
	yaml_node_t *map, *at;
	bool         sup, exact;

	if ((f = strstr(line, ": ")) == NULL
	    || (msg = strstr(f + 2, ": ")) == NULL) {
		doc_err(d, doc_root(d), "root", "%s", line);
		return;
	}
	*f = '\0';
	*msg = '\0';
	f += 2;
	msg += 2;
	yf = checker_field(f, &sup);
	if ((si = site_find(ld, line)) == SIZE_MAX) {
		doc_err(d, doc_root(d), yf, "%s: %s", line, msg);
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
	if (loader_was_seen(ld, si, yf)) {
		return; // already reported by the schema, where it was written
	}
	map = sup || ld->sites[si].child == NULL ? ld->sites[si].sup
	                                         : ld->sites[si].child;
	at = doc_find(d, map, yf, &exact);
	if (strcmp(yf, "period") == 0 && !exact) {
		// Only the intensity was given: point at it.
		yaml_node_t *in = doc_find(d, map, "intensity", &exact);
		doc_err(d, exact ? in : at, "period",
		    "missing: an intensity needs a period (e.g. period: 5s)");
		return;
	}
	doc_err(d, at, yf, "%s", msg);
}

static void
run_checker(loader *ld)
{
	char *buf = arbor_xalloc(CHECK_BUF);
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
	    && doc_word_in(
	        (const char *) n->data.scalar.value, doc_null_words);
}

static void
sort_errs(arbor_errs *errs, size_t from)
{
	size_t    i, j;
	arbor_err t;

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

static const char *
file_dir(arbor_arena *a, const char *file)
{
	char       *copy = arbor_xstrdup(file);
	char        real[PATH_MAX];
	char       *dir = dirname(copy);
	const char *out;

	out = realpath(dir, real) != NULL ? arbor_arena_strdup(a, real)
	                                  : arbor_arena_strdup(a, dir);
	free(copy);
	return out;
}

int
arbor_config_load(const char *file, arbor_config **cfgp, arbor_errs *errs)
{
	loader        ld;
	arbor_config *cfg;
	arbor_arena  *a = arbor_arena_open();
	yaml_node_t  *top, *v, *key;
	size_t        first = errs->n;
	size_t        root_si;

	*cfgp = NULL;
	memset(&ld, 0, sizeof(ld));
	cfg = arbor_arena_alloc(a, sizeof(*cfg));
	cfg->arena = a;
	cfg->file = arbor_arena_strdup(a, file);
	cfg->dir = file_dir(a, file);
	cfg->name = "arbor";
	cfg->log_level = ARB_LOG_DEFAULT;
	ld.cfg = cfg;
	if (doc_open(&ld.d, cfg->file, errs, a) != 0) {
		goto done;
	}
	top = doc_root(&ld.d);
	if (!doc_map_check(&ld.d, top, NULL, top_keys)) {
		goto done;
	}
	// "node:" or "plugins:" with nothing after them say nothing.
	if ((v = doc_get(&ld.d, top, "node", NULL)) != NULL && !is_null(v)) {
		load_node(&ld, v);
	}
	if ((v = doc_get(&ld.d, top, "plugins", NULL)) != NULL
	    && !is_null(v)) {
		load_plugins(&ld, v);
	}
	if ((v = doc_get(&ld.d, top, "root", &key)) == NULL) {
		doc_err(&ld.d, top, "root",
		    "missing: the root supervisor (root: {strategy: ..., "
		    "children: [...]})");
		goto done;
	}
	root_si = loader_site_add(&ld, "root", NULL, v);
	cfg->root = tree_load_sup(&ld, v, "root", root_si);
	if (cfg->root != NULL) {
		run_checker(&ld);
	}
done:
	doc_close(&ld.d);
	free(ld.sites);
	free(ld.seen);
	sort_errs(errs, first);
	if (ld.d.nerr > 0) {
		arbor_arena_close(a);
		return ARB_ESPEC;
	}
	*cfgp = cfg;
	return ARB_OK;
}

void
arbor_config_free(arbor_config *cfg)
{
	if (cfg != NULL) {
		arbor_arena_close(cfg->arena); // cfg itself lives there
	}
}
