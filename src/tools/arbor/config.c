// SPDX-License-Identifier: MIT
// config.c -- the schema of a tree file: node settings, plugins and the
// supervision tree, built into a struct arbor_config (config.h).
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

#include "diag.h"
#include "doc.h"
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

#define BAD_ENUM     99  // any value the spec checker rejects as unknown
#define BAD_SHUTDOWN (-99)
#define BAD_MS       (-1)
#define NAME_MAX_LEN 63 // the library's limit for child names
#define CHECK_BUF    (64 * 1024)

// A site is a child (or the root) by the path the spec checker uses.
typedef struct site {
	const char  *path;
	yaml_node_t *child;   // the child's mapping; NULL for the root
	yaml_node_t *sup;     // its supervisor mapping; NULL for workers
	bool         retired; // an earlier sibling of the same name
} site;

typedef struct seen {
	size_t      site;
	const char *field;
} seen;

typedef struct loader {
	arbor_doc     d;
	arbor_config *cfg;
	site         *sites;
	size_t        nsites;
	seen         *seen;
	size_t        nseen;
} loader;

static const char *const top_keys[]  = { "node", "plugins", "root", NULL };
static const char *const node_keys[] = { "name", "control", "http",
	"max_msg_size", "log_level", "run_dir", NULL };
static const char *const sup_keys[]  = { "strategy", "intensity", "period",
	"auto_shutdown", "children", NULL };
static const char *const child_keys[] = { "name", "type", "isolation",
	"command", "supervisor", "restart", "shutdown", "start_timeout",
	"backoff", "watchdog", "significant", "config", NULL };
static const char *const backoff_keys[] = { "min", "max", "stable", NULL };

static const doc_word strategies[] = { { "one_for_one", ARB_ONE_FOR_ONE },
	{ "one_for_all", ARB_ONE_FOR_ALL }, { "rest_for_one", ARB_REST_FOR_ONE },
	{ "simple_one_for_one", ARB_SIMPLE_ONE_FOR_ONE }, { NULL, 0 } };
static const doc_word restarts[] = { { "permanent", ARB_PERMANENT },
	{ "transient", ARB_TRANSIENT }, { "temporary", ARB_TEMPORARY },
	{ NULL, 0 } };
static const doc_word isolations[] = { { "thread", ARB_THREAD },
	{ "process", ARB_PROCESS }, { "exec", ARB_EXEC }, { NULL, 0 } };
static const doc_word auto_shutdowns[] = {
	{ "never", ARB_AUTO_SHUTDOWN_NEVER },
	{ "any_significant", ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT },
	{ "all_significant", ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT }, { NULL, 0 } };
static const doc_word shutdown_words[] = {
	{ "brutal_kill", ARB_SHUTDOWN_BRUTAL_KILL },
	{ "infinity", ARB_SHUTDOWN_INFINITY }, { NULL, 0 } };
static const doc_word off_words[]  = { { "off", 0 }, { NULL, 0 } };
static const doc_word log_levels[] = { { "error", ARB_LOG_ERROR },
	{ "warn", ARB_LOG_WARN }, { "info", ARB_LOG_INFO },
	{ "debug", ARB_LOG_DEBUG }, { NULL, 0 } };

// --- Sites and reported fields ---------------------------------------------

static size_t
site_add(loader *ld, const char *path, yaml_node_t *child, yaml_node_t *sup)
{
	site *v = realloc(ld->sites, (ld->nsites + 1) * sizeof(*v));

	if (v == NULL) {
		fprintf(stderr, "arbor: out of memory\n");
		exit(ARB_EXIT_SOFTWARE);
	}
	ld->sites                = v;
	ld->sites[ld->nsites]    = (site) { path, child, sup, false };
	return ld->nsites++;
}

static size_t
site_find(loader *ld, const char *path)
{
	size_t i;

	for (i = 0; i < ld->nsites; i++) {
		if (!ld->sites[i].retired &&
		    strcmp(ld->sites[i].path, path) == 0) {
			return i;
		}
	}
	return SIZE_MAX;
}

static void
mark_seen(loader *ld, size_t si, const char *field)
{
	seen *v = realloc(ld->seen, (ld->nseen + 1) * sizeof(*v));

	if (v == NULL) {
		fprintf(stderr, "arbor: out of memory\n");
		exit(ARB_EXIT_SOFTWARE);
	}
	ld->seen               = v;
	ld->seen[ld->nseen++] = (seen) { si, field };
}

static bool
was_seen(loader *ld, size_t si, const char *field)
{
	size_t i;

	for (i = 0; i < ld->nseen; i++) {
		if (ld->seen[i].site == si &&
		    strcmp(ld->seen[i].field, field) == 0) {
			return true;
		}
	}
	return false;
}

// got returns ok, remembering a failed field of site si as reported.
static bool
got(loader *ld, size_t si, const char *field, bool ok)
{
	if (!ok) {
		mark_seen(ld, si, field);
	}
	return ok;
}

static const char *
resolve(loader *ld, const char *p)
{
	return p[0] == '/' ? p : arbor_arena_printf(ld->d.arena, "%s/%s",
	                             ld->cfg->dir, p);
}

// name_ok mirrors the library's rule for child names, so labels (and
// thus paths) are the ones its checker prints.
static bool
name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= NAME_MAX_LEN &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	              "0123456789_.-") == n;
}

// --- node: and plugins: ----------------------------------------------------

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
	port  = colon != NULL ? colon + 1 : s;
	snprintf(host, sizeof(host), "%.*s",
	    colon != NULL ? (int) (colon - s) : 9, colon != NULL ? s : "127.0.0.1");
	p = strtoll(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || p < 1 ||
	    p > 65535) {
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
	arbor_doc          *d   = &ld->d;
	arbor_config       *cfg = ld->cfg;
	yaml_node_t        *v;
	const char         *s;
	long long           n;
	int                 lvl;
	struct sockaddr_un  sun;

	if (!doc_map_check(d, map, "node", node_keys)) {
		return;
	}
	if ((v = doc_get(d, map, "name", NULL)) != NULL &&
	    doc_string(d, v, "node.name", &s)) {
		if (!name_ok(s)) {
			doc_err(d, v, "node.name",
			    "\"%s\": 1 to 63 characters from A-Z a-z 0-9 _ . -",
			    s);
		} else {
			cfg->name = s;
		}
	}
	if ((v = doc_get(d, map, "control", NULL)) != NULL &&
	    doc_string(d, v, "node.control", &s)) {
		s = resolve(ld, s);
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
	if ((v = doc_get(d, map, "max_msg_size", NULL)) != NULL &&
	    doc_int(d, v, "node.max_msg_size", 1024, 256LL << 20, &n)) {
		cfg->max_msg_size = (size_t) n;
	}
	if ((v = doc_get(d, map, "log_level", NULL)) != NULL &&
	    doc_enum(d, v, "node.log_level", log_levels, &lvl)) {
		cfg->log_level = lvl;
	}
	if ((v = doc_get(d, map, "run_dir", NULL)) != NULL &&
	    doc_string(d, v, "node.run_dir", &s)) {
		cfg->run_dir = resolve(ld, s);
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
		s = resolve(ld, s);
		if (arbor_plugin_load(s, err, sizeof(err)) != 0) {
			doc_err(d, it, "plugins", "cannot load: %s", err);
			continue;
		}
		v[ld->cfg->nplugins++] = s;
	}
	ld->cfg->plugins = v;
}

// --- The tree ------------------------------------------------------------------

static arb_sup_spec *load_sup(loader *ld, yaml_node_t *map, const char *path,
    size_t si);

// which finds an executable on $PATH, as a shell would.
static const char *
which(loader *ld, const char *prog)
{
	const char *path = getenv("PATH");
	char       *copy, *dir, *save = NULL;
	const char *found = NULL;
	char        buf[PATH_MAX];

	copy = arbor_xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, prog);
		if (access(buf, X_OK) == 0) {
			found = arbor_arena_strdup(ld->d.arena, buf);
			break;
		}
	}
	free(copy);
	return found;
}

static void
load_command(loader *ld, size_t si, yaml_node_t *v, arb_child_spec *c)
{
	arbor_doc   *d = &ld->d;
	const char **argv;
	const char  *s;
	char        *copy, *tok, *save = NULL;
	size_t       i, n = 0;

	if (v->type == YAML_SCALAR_NODE) {
		// A string is split on blanks; use a list for anything else.
		if (!got(ld, si, "command", doc_string(d, v, "command", &s))) {
			return;
		}
		copy = arbor_arena_strdup(d->arena, s);
		argv = arbor_arena_alloc(d->arena, (strlen(s) / 2 + 2) *
		                                       sizeof(*argv));
		for (tok = strtok_r(copy, " \t\n", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			argv[n++] = tok;
		}
	} else if (v->type == YAML_SEQUENCE_NODE) {
		argv = arbor_arena_alloc(d->arena, (doc_len(v) + 1) *
		                                       sizeof(*argv));
		for (i = 0; i < doc_len(v); i++) {
			if (!got(ld, si, "command",
			        doc_scalar(d, doc_item(d, v, i), "command",
			            &argv[n], NULL))) {
				return;
			}
			n++;
		}
	} else {
		doc_err(d, v, "command",
		    "expected a list of strings (program and arguments), got "
		    "%s",
		    doc_kind(v));
		mark_seen(ld, si, "command");
		return;
	}
	if (n == 0 || argv[0][0] == '\0') {
		doc_err(d, v, "command", "the program is missing");
		mark_seen(ld, si, "command");
		return;
	}
	if (strchr(argv[0], '/') == NULL) {
		if ((s = which(ld, argv[0])) == NULL) {
			doc_err(d, v, "command", "\"%s\" not found in $PATH",
			    argv[0]);
			mark_seen(ld, si, "command");
			return;
		}
		argv[0] = s;
	} else {
		argv[0] = resolve(ld, argv[0]);
	}
	c->argv = argv;
}

// load_config packs the actor's settings and lets a built-in type check
// them, mapping its "key: problem" lines onto the YAML keys.
static void
load_config(loader *ld, size_t si, yaml_node_t *map, yaml_node_t *v,
    arb_child_spec *c)
{
	arbor_doc   *d = &ld->d;
	void        *buf = NULL;
	size_t       len = 0;
	char         err[2048];
	char        *line, *save = NULL, *colon;
	yaml_node_t *at;
	bool         exact;

	if (v != NULL) {
		if (!got(ld, si, "config", doc_pack(d, v, "config", &buf, &len))) {
			return;
		}
		c->arg     = buf;
		c->arg_len = len;
	}
	if (c->type == NULL ||
	    diag_config_check(c->type, buf, len, err, sizeof(err)) !=
	        ARB_EINVAL) {
		return;
	}
	mark_seen(ld, si, "config");
	for (line = strtok_r(err, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		colon = strstr(line, ": ");
		if (colon == NULL) {
			continue;
		}
		*colon = '\0';
		at     = v != NULL ? doc_find(d, v, line, &exact) : NULL;
		if (at == NULL || (at == v && v->type != YAML_MAPPING_NODE)) {
			doc_get(d, map, "config", &at);
		}
		doc_err(d, at != NULL ? at : map,
		    line[0] != '\0' ? arbor_arena_printf(d->arena, "config.%s",
		                                         line)
		                    : "config",
		    "%s: %s", c->type, colon + 2);
	}
}

static void
load_backoff(loader *ld, size_t si, yaml_node_t *v, arb_child_spec *c)
{
	arbor_doc   *d = &ld->d;
	yaml_node_t *x;

	if (!doc_map_check(d, v, "backoff", backoff_keys)) {
		mark_seen(ld, si, "backoff.min");
		return;
	}
	if ((x = doc_get(d, v, "min", NULL)) != NULL &&
	    !got(ld, si, "backoff.min",
	        doc_duration(d, x, "backoff.min", 0, INT_MAX, off_words,
	            &c->backoff_min_ms))) {
		c->backoff_min_ms = BAD_MS;
	}
	if ((x = doc_get(d, v, "max", NULL)) != NULL &&
	    !got(ld, si, "backoff.max",
	        doc_duration(d, x, "backoff.max", 1, INT_MAX, NULL,
	            &c->backoff_max_ms))) {
		c->backoff_max_ms = BAD_MS;
	}
	if ((x = doc_get(d, v, "stable", NULL)) != NULL &&
	    !got(ld, si, "backoff.stable",
	        doc_duration(d, x, "backoff.stable", 1, INT_MAX, NULL,
	            &c->stable_ms))) {
		c->stable_ms = BAD_MS;
	}
}

// load_kind sets the isolation, type, command and nested supervisor.
static void
load_kind(loader *ld, size_t si, yaml_node_t *map, arb_child_spec *c)
{
	arbor_doc   *d    = &ld->d;
	yaml_node_t *iso  = doc_get(d, map, "isolation", NULL);
	yaml_node_t *type = doc_get(d, map, "type", NULL);
	yaml_node_t *cmd  = doc_get(d, map, "command", NULL);
	yaml_node_t *sup  = doc_get(d, map, "supervisor", NULL);
	yaml_node_t *key;
	int          v;

	if (sup != NULL) {
		c->isolation = ARB_SUPERVISOR;
		if (iso != NULL) {
			doc_get(d, map, "isolation", &key);
			doc_err(d, key, "isolation",
			    "a nested supervisor has no isolation (it runs on "
			    "the node)");
		}
	} else if (iso != NULL) {
		if (got(ld, si, "isolation",
		        doc_enum(d, iso, "isolation", isolations, &v))) {
			c->isolation = (arb_isolation) v;
		} else {
			c->isolation = (arb_isolation) BAD_ENUM;
			mark_seen(ld, si, "type");
			mark_seen(ld, si, "command");
		}
	} else {
		c->isolation = cmd != NULL ? ARB_EXEC : ARB_THREAD;
	}

	if (c->isolation == ARB_THREAD || c->isolation == ARB_PROCESS) {
		const char *s;
		if (type == NULL) {
			doc_err(d, map, "type",
			    "missing: thread and process children need an "
			    "actor type (built-in: echo, crasher, ticker)");
			mark_seen(ld, si, "type");
		} else if (got(ld, si, "type",
		               doc_string(d, type, "type", &s))) {
			if (!arbor_plugin_type_known(s)) {
				doc_err(d, type, "type",
				    "unknown actor type \"%s\" (built-in: "
				    "echo, crasher, ticker; others come from "
				    "plugins:)",
				    s);
				mark_seen(ld, si, "type");
			} else {
				c->type = s;
			}
		}
	} else if (type != NULL) {
		doc_get(d, map, "type", &key);
		doc_err(d, key, "type",
		    "only thread and process children have an actor type");
	}

	if (c->isolation == ARB_EXEC) {
		if (cmd == NULL) {
			doc_err(d, map, "command",
			    "missing: an exec child needs the program to run "
			    "(command: [/path/prog, arg, ...])");
			mark_seen(ld, si, "command");
		} else {
			load_command(ld, si, cmd, c);
		}
	} else if (cmd != NULL && c->isolation != (arb_isolation) BAD_ENUM) {
		doc_get(d, map, "command", &key);
		doc_err(d, key, "command",
		    "only exec children have a command (add isolation: exec)");
	}

	if (sup != NULL) {
		c->sup = load_sup(ld, sup, ld->sites[si].path, si);
		if (c->sup == NULL) {
			mark_seen(ld, si, "supervisor");
		}
	}
}

static void
load_child(loader *ld, yaml_node_t *map, const char *parent, size_t index,
    arb_child_spec *c, size_t *sip)
{
	arbor_doc   *d = &ld->d;
	yaml_node_t *v, *key;
	const char  *name = NULL;
	size_t       si;
	int          e;

	// The site first: every problem below is recorded against it.
	if ((v = doc_get(d, map, "name", NULL)) != NULL) {
		doc_scalar(d, v, "name", &name, NULL);
	}
	si = site_add(ld,
	    name_ok(name) ? arbor_arena_printf(d->arena, "%s/%s", parent, name)
	                  : arbor_arena_printf(d->arena, "%s/#%zu", parent,
	                        index),
	    map, NULL);
	*sip = si;
	doc_map_check(d, map, NULL, child_keys);
	if (v == NULL) {
		doc_err(d, map, "name", "missing: every child needs a name");
		mark_seen(ld, si, "name");
	} else if (name == NULL) {
		mark_seen(ld, si, "name"); // doc_scalar said why
	}
	c->name = name;

	load_kind(ld, si, map, c);

	if ((v = doc_get(d, map, "restart", NULL)) != NULL) {
		c->restart = got(ld, si, "restart",
		                 doc_enum(d, v, "restart", restarts, &e))
		    ? (arb_restart) e
		    : (arb_restart) BAD_ENUM;
	}
	if ((v = doc_get(d, map, "shutdown", NULL)) != NULL &&
	    !got(ld, si, "shutdown",
	        doc_duration(d, v, "shutdown", 1, INT_MAX, shutdown_words,
	            &c->shutdown_ms))) {
		c->shutdown_ms = BAD_SHUTDOWN;
	}
	if ((v = doc_get(d, map, "start_timeout", NULL)) != NULL &&
	    !got(ld, si, "start_timeout",
	        doc_duration(d, v, "start_timeout", 1, INT_MAX, NULL,
	            &c->start_timeout_ms))) {
		c->start_timeout_ms = BAD_MS;
	}
	if ((v = doc_get(d, map, "backoff", NULL)) != NULL) {
		load_backoff(ld, si, v, c);
	}
	if ((v = doc_get(d, map, "watchdog", NULL)) != NULL &&
	    !got(ld, si, "watchdog",
	        doc_duration(d, v, "watchdog", 0, INT_MAX, off_words,
	            &c->watchdog_ms))) {
		c->watchdog_ms = BAD_MS;
	}
	if ((v = doc_get(d, map, "significant", NULL)) != NULL) {
		got(ld, si, "significant",
		    doc_bool(d, v, "significant", &c->significant));
	}
	v = doc_get(d, map, "config", &key);
	if (v != NULL &&
	    (c->isolation == ARB_EXEC || c->isolation == ARB_SUPERVISOR)) {
		doc_err(d, key, "config",
		    "only thread and process actors take a config");
	} else {
		load_config(ld, si, map, v, c);
	}
}

static arb_sup_spec *
load_sup(loader *ld, yaml_node_t *map, const char *path, size_t si)
{
	arbor_doc      *d = &ld->d;
	arb_sup_spec   *s;
	arb_child_spec *kids;
	yaml_node_t    *v, *list, *key, *item;
	size_t         *sis, i, j, n = 0;
	long long       k;
	int             e;

	if (!doc_map_check(d, map, NULL, sup_keys)) {
		return NULL;
	}
	ld->sites[si].sup = map;
	s = arbor_arena_alloc(d->arena, sizeof(*s));
	if ((v = doc_get(d, map, "strategy", NULL)) != NULL) {
		s->strategy = got(ld, si, "strategy",
		                  doc_enum(d, v, "strategy", strategies, &e))
		    ? (arb_strategy) e
		    : (arb_strategy) BAD_ENUM;
	}
	if ((v = doc_get(d, map, "intensity", NULL)) != NULL) {
		if (got(ld, si, "intensity",
		        doc_int(d, v, "intensity", 0, 1000000, &k))) {
			s->intensity = (int) k;
		} else {
			s->intensity = -1;
			mark_seen(ld, si, "period"); // "needs a period" follows
		}
	}
	if ((v = doc_get(d, map, "period", NULL)) != NULL &&
	    !got(ld, si, "period",
	        doc_duration(d, v, "period", 1, INT_MAX, NULL, &s->period_ms))) {
		s->period_ms = BAD_MS;
	}
	if ((v = doc_get(d, map, "auto_shutdown", NULL)) != NULL) {
		s->auto_shutdown = got(ld, si, "auto_shutdown",
		                       doc_enum(d, v, "auto_shutdown",
		                           auto_shutdowns, &e))
		    ? (arb_auto_shutdown) e
		    : (arb_auto_shutdown) BAD_ENUM;
	}
	if ((list = doc_get(d, map, "children", &key)) == NULL) {
		return s; // an empty supervisor is valid (OTP)
	}
	if (list->type != YAML_SEQUENCE_NODE) {
		if (!(list->type == YAML_SCALAR_NODE &&
		        list->data.scalar.length == 0)) {
			doc_err(d, list, "children",
			    "expected a list of children (- name: ...), got %s",
			    doc_kind(list));
			mark_seen(ld, si, "children");
		}
		return s;
	}
	kids = arbor_arena_alloc(d->arena, (doc_len(list) + 1) * sizeof(*kids));
	sis  = arbor_xalloc((doc_len(list) + 1) * sizeof(*sis));
	for (i = 0; i < doc_len(list); i++) {
		item = doc_item(d, list, i);
		if (item->type != YAML_MAPPING_NODE) {
			doc_err(d, item, "children",
			    "each child is a mapping (name: ..., type: ...), "
			    "not %s",
			    doc_kind(item));
			continue;
		}
		load_child(ld, item, path, n, &kids[n], &sis[n]);
		// Duplicates are reported here, at the second one, with
		// both lines; the checker's own line is then dropped.
		for (j = 0; kids[n].name != NULL && j < n; j++) {
			if (kids[j].name != NULL &&
			    strcmp(kids[j].name, kids[n].name) == 0) {
				doc_err(d, doc_get(d, item, "name", NULL), "name",
				    "duplicate name \"%s\" (also at line %d)",
				    kids[n].name, doc_line(ld->sites[sis[j]].child));
				mark_seen(ld, sis[j], "name");
				mark_seen(ld, sis[n], "name");
				break;
			}
		}
		n++;
	}
	free(sis);
	s->children  = kids;
	s->nchildren = n;
	return s;
}

// --- The library's checker -----------------------------------------------------

// checker_field maps a spec field of the checker onto the YAML key; sup
// is set for the fields of a supervisor (looked up in its own mapping).
static const char *
checker_field(const char *f, bool *sup)
{
	static const struct {
		const char *spec, *yaml;
		bool        sup;
	} map[] = { { "argv", "command", false }, { "sup", "supervisor", false },
		{ "backoff_min", "backoff.min", false },
		{ "backoff_max", "backoff.max", false },
		{ "stable", "backoff.stable", false }, { "arg", "config", false },
		{ "strategy", "strategy", true },
		{ "intensity", "intensity", true }, { "period", "period", true },
		{ "auto_shutdown", "auto_shutdown", true },
		{ "children", "children", true }, { "spec", "supervisor", false } };
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

	if ((f = strstr(line, ": ")) == NULL ||
	    (msg = strstr(f + 2, ": ")) == NULL) {
		doc_err(d, doc_root(d), "root", "%s", line);
		return;
	}
	*f  = '\0';
	*msg = '\0';
	f += 2;
	msg += 2;
	yf = checker_field(f, &sup);
	if ((si = site_find(ld, line)) == SIZE_MAX) {
		doc_err(d, doc_root(d), yf, "%s: %s", line, msg);
		return;
	}
	if (strcmp(yf, "name") == 0 &&
	    strncmp(msg, "duplicate sibling", 17) == 0) {
		// The checker names both siblings "root/x"; the lines after
		// this one are about the later sibling.
		ld->sites[si].retired = true;
		si = site_find(ld, line) != SIZE_MAX ? site_find(ld, line) : si;
	}
	if (was_seen(ld, si, yf)) {
		return;
	}
	mark_seen(ld, si, yf);
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

// --- Loading -------------------------------------------------------------------

static void
sort_errs(arbor_errs *errs, size_t from)
{
	size_t    i, j;
	arbor_err t;

	// Insertion sort: stable, and the lists are short.
	for (i = from + 1; i < errs->n; i++) {
		t = errs->v[i];
		for (j = i; j > from && (errs->v[j - 1].line > t.line ||
		                            (errs->v[j - 1].line == t.line &&
		                                errs->v[j - 1].col > t.col));
		     j--) {
			errs->v[j] = errs->v[j - 1];
		}
		errs->v[j] = t;
	}
}

static const char *
file_dir(arbor_arena *a, const char *file)
{
	char *copy = arbor_xstrdup(file);
	char  real[PATH_MAX];
	char *dir  = dirname(copy);
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
	cfg            = arbor_arena_alloc(a, sizeof(*cfg));
	cfg->arena     = a;
	cfg->file      = arbor_arena_strdup(a, file);
	cfg->dir       = file_dir(a, file);
	cfg->name      = "arbor";
	cfg->log_level = ARB_LOG_DEFAULT;
	ld.cfg         = cfg;
	if (doc_open(&ld.d, cfg->file, errs, a) != 0) {
		goto done;
	}
	top = doc_root(&ld.d);
	if (!doc_map_check(&ld.d, top, NULL, top_keys)) {
		goto done;
	}
	if ((v = doc_get(&ld.d, top, "node", NULL)) != NULL) {
		load_node(&ld, v);
	}
	if ((v = doc_get(&ld.d, top, "plugins", NULL)) != NULL) {
		load_plugins(&ld, v);
	}
	if ((v = doc_get(&ld.d, top, "root", &key)) == NULL) {
		doc_err(&ld.d, top, "root",
		    "missing: the root supervisor (root: {strategy: ..., "
		    "children: [...]})");
		goto done;
	}
	root_si   = site_add(&ld, "root", NULL, v);
	cfg->root = load_sup(&ld, v, "root", root_si);
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
