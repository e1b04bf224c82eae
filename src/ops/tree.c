// SPDX-License-Identifier: MIT
// tree.c -- the supervision tree of a tree file: supervisors (strategy,
// intensity, period, auto_shutdown, children) and children (kind,
// restart, shutdown, backoff, watchdog, significant, config, node), built into
// arb_sup_spec / arb_child_spec in the configuration's arena.
//
// A child's kind follows from its keys: `supervisor:` makes a nested
// supervisor, `isolation:` says thread, process or exec, and otherwise
// `command:` alone means exec and `type:` means thread.  Actor types are
// checked against the types registered in this process (built-in and
// plugins), and each child's config by its type's check hook.
// Thread: the caller's.

#include "loader.h"
#include "plugin.h"
#include "../actor/typecheck.h"

#include <arbor/actor.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const sup_keys[]
    = { "strategy", "intensity", "period", "auto_shutdown", "children", NULL };
static const char *const child_keys[] = { "name", "type", "isolation",
	"command", "supervisor", "restart", "shutdown", "start_timeout",
	"backoff", "watchdog", "significant", "config", "node", NULL };
static const char *const backoff_keys[] = { "min", "max", "stable", NULL };

static const arb__doc_word strategies[]
    = { { "one_for_one", ARB_ONE_FOR_ONE }, { "one_for_all", ARB_ONE_FOR_ALL },
	      { "rest_for_one", ARB_REST_FOR_ONE },
	      { "simple_one_for_one", ARB_SIMPLE_ONE_FOR_ONE }, { NULL, 0 } };
static const arb__doc_word restarts[]
    = { { "permanent", ARB_PERMANENT }, { "transient", ARB_TRANSIENT },
	      { "temporary", ARB_TEMPORARY }, { NULL, 0 } };
static const arb__doc_word isolations[] = { { "thread", ARB_THREAD },
	{ "process", ARB_PROCESS }, { "exec", ARB_EXEC }, { NULL, 0 } };
static const arb__doc_word auto_shutdowns[]
    = { { "never", ARB_AUTO_SHUTDOWN_NEVER },
	      { "any_significant", ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT },
	      { "all_significant", ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT },
	      { NULL, 0 } };
static const arb__doc_word shutdown_words[]
    = { { "brutal_kill", ARB_SHUTDOWN_BRUTAL_KILL },
	      { "infinity", ARB_SHUTDOWN_INFINITY }, { NULL, 0 } };
static const arb__doc_word off_words[] = { { "off", 0 }, { NULL, 0 } };

// runnable is true when prog is a file this user may execute (a regular
// file, or a symbolic link to one, with execute permission), as execve
// needs: a directory or a file without x is not.
static bool
runnable(const char *prog)
{
	struct stat st;

	return stat(prog, &st) == 0 && S_ISREG(st.st_mode)
	    && faccessat(AT_FDCWD, prog, X_OK, AT_EACCESS) == 0;
}

// binfmt_handlers is true when the kernel has binfmt_misc handlers
// (qemu, Java, Wine...), which may run files of any other format.
static bool
binfmt_handlers(void)
{
	DIR           *dir = opendir("/proc/sys/fs/binfmt_misc");
	struct dirent *e;
	bool           any = false;

	if (dir == NULL) {
		return false;
	}
	while (!any && (e = readdir(dir)) != NULL) {
		any = e->d_name[0] != '.' && strcmp(e->d_name, "register") != 0
		    && strcmp(e->d_name, "status") != 0;
	}
	closedir(dir);
	return any;
}

// exec_problem writes why execve(prog) would fail, or returns false: the
// program must exist, be a regular file this user may execute, and a
// script's interpreter ("#!/usr/bin/python3") must be one too, and any
// other file an ELF program (unless binfmt_misc has handlers).  That is
// what `arbor run` meets as a start failure (exit 70 once the root gives
// up, which Restart=on-failure retries for ever).
static bool
exec_problem(const char *prog, char *why, size_t len)
{
	struct stat st;
	char        head[256], *interp, *end;
	ssize_t     n;
	int         fd;

	if (stat(prog, &st) != 0) {
		snprintf(why, len, "\"%s\": %s", prog, strerror(errno));
		return true;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(
		    why, len, "\"%s\" is a directory, not a program", prog);
		return true;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "\"%s\" is not a regular file", prog);
		return true;
	}
	if (faccessat(AT_FDCWD, prog, X_OK, AT_EACCESS) != 0) {
		snprintf(why, len,
		    "\"%s\" is not executable (mode %04o; chmod +x it)", prog,
		    (unsigned) (st.st_mode & 07777));
		return true;
	}
	// A script: its interpreter must run too (execve says ENOENT).
	if ((fd = open(prog, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		return false; // execute-only: nothing more to see
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 0) {
		return false;
	}
	if (n >= 4 && memcmp(head, "\177ELF", 4) == 0) {
		if (n < 52) { // the smallest ELF header (32-bit)
			snprintf(why, len,
			    "\"%s\" is a truncated ELF file (%zd bytes)", prog,
			    n);
			return true;
		}
		return false;
	}
	if (n < 2 || head[0] != '#' || head[1] != '!') {
		if (binfmt_handlers()) {
			return false; // a handler may know the format
		}
		// execve says ENOEXEC; a shell would have run it with
		// /bin/sh, the node does not.
		snprintf(why, len,
		    "\"%s\" is neither a program (ELF) nor a script "
		    "starting with #! (execve: %s): add a line such as "
		    "#!/bin/sh",
		    prog, strerror(ENOEXEC));
		return true;
	}
	head[n] = '\0';
	interp = head + 2 + strspn(head + 2, " \t");
	end = interp + strcspn(interp, " \t\r\n");
	*end = '\0';
	if (interp[0] == '/' && !runnable(interp)) {
		snprintf(why, len,
		    "\"%s\" is a script whose interpreter %s %s", prog, interp,
		    access(interp, F_OK) != 0 ? "does not exist"
		                              : "is not an executable file");
		return true;
	}
	return false;
}

// which finds an executable on $PATH, as a shell would.
static const char *
which(loader *ld, const char *prog)
{
	const char *path = getenv("PATH");
	char       *copy, *dir, *save = NULL;
	const char *found = NULL;
	char        buf[PATH_MAX];

	copy = arb__xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, prog);
		if (runnable(buf)) {
			found = arb__arena_strdup(ld->d.arena, buf);
			break;
		}
	}
	free(copy);
	return found;
}

static void
load_command(loader *ld, size_t si, yaml_node_t *v, arb_child_spec *c)
{
	arb__doc   *d = &ld->d;
	const char **argv;
	const char  *s;
	char        *copy, *tok, *save = NULL;
	char         why[PATH_MAX + 128];
	size_t       i, n = 0;

	if (v->type == YAML_SCALAR_NODE) {
		// A string is split on blanks; use a list for anything else.
		if (!arb__loader_got(ld, si, "command",
		        arb__doc_string(d, v, "command", &s))) {
			return;
		}
		copy = arb__arena_strdup(d->arena, s);
		argv = arb__arena_alloc(
		    d->arena, (strlen(s) / 2 + 2) * sizeof(*argv));
		for (tok = strtok_r(copy, " \t\n", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			argv[n++] = tok;
		}
	} else if (v->type == YAML_SEQUENCE_NODE) {
		argv = arb__arena_alloc(
		    d->arena, (arb__doc_len(v) + 1) * sizeof(*argv));
		for (i = 0; i < arb__doc_len(v); i++) {
			if (!arb__loader_got(ld, si, "command",
			        arb__doc_scalar(d, arb__doc_item(d, v, i),
			            "command", &argv[n], NULL))) {
				return;
			}
			n++;
		}
	} else {
		arb__doc_err(d, v, "command",
		    "expected a list of strings (program and arguments), got "
		    "%s",
		    arb__doc_kind(v));
		arb__loader_mark_seen(ld, si, "command");
		return;
	}
	if (n == 0 || argv[0][0] == '\0') {
		arb__doc_err(d, v, "command", "the program is missing");
		arb__loader_mark_seen(ld, si, "command");
		return;
	}
	if (strchr(argv[0], '/') == NULL) {
		if ((s = which(ld, argv[0])) == NULL) {
			arb__doc_err(d, v, "command",
			    "\"%s\" not found in $PATH", argv[0]);
			arb__loader_mark_seen(ld, si, "command");
			return;
		}
		argv[0] = s;
	} else {
		argv[0] = arb__loader_resolve(ld, argv[0]);
	}
	if (exec_problem(argv[0], why, sizeof(why))) {
		arb__doc_err(d, v, "command", "%s", why);
		arb__loader_mark_seen(ld, si, "command");
		return;
	}
	c->argv = argv;
}

// load_config packs the actor's settings; its type's check hook
// (arb_actor_ops.check, built-in or from a module) reads them once the
// whole file is known (arb__loader_checks).
static void
load_config(
    loader *ld, size_t si, yaml_node_t *map, yaml_node_t *v, arb_child_spec *c)
{
	arb__doc     *d = &ld->d;
	void         *buf = NULL;
	size_t        len = 0;
	pending_check *p;

	if (v != NULL) {
		if (!arb__loader_got(ld, si, "config",
		        arb__doc_pack(d, v, "config", &buf, &len))) {
			return;
		}
		c->arg = buf;
		c->arg_len = len;
	}
	if (c->type == NULL) {
		return;
	}
	if (ld->nchecks == ld->capchecks) {
		ld->capchecks = ld->capchecks ? 2 * ld->capchecks : 16;
		if ((p = realloc(ld->checks, ld->capchecks * sizeof(*p)))
		    == NULL) {
			arb__oom();
		}
		ld->checks = p;
	}
	ld->checks[ld->nchecks++] = (pending_check) { .site = si,
		.map = map,
		.config = v,
		.spec = c };
}

// check_here is true when this process will run type itself: it is
// registered (built in, or a plugin loaded by path), or a thread child
// of this node has it.
static bool
check_here(loader *ld, const char *type)
{
	const arb_child_spec *c;
	size_t                i;

	if (arb__actor_type_is_registered(type)) {
		return true;
	}
	for (i = 0; i < ld->nchecks; i++) {
		c = ld->checks[i].spec;
		if (c->isolation == ARB_THREAD && strcmp(c->type, type) == 0
		    && (c->node == NULL
		        || strcmp(c->node, ld->cfg->name) == 0)) {
			return true;
		}
	}
	return false;
}

// check_report maps a check's outcome onto the file: a type that did not
// load at its type: key, each problem at the YAML key it names.
static void
check_report(loader *ld, pending_check *p, const arb__tcheck *t)
{
	arb__doc      *d = &ld->d;
	arb_child_spec *c = p->spec;
	yaml_node_t    *at, *v = p->config, *map = p->map;
	const char     *key;
	bool            exact;
	size_t          i;

	if (t->rv != ARB_OK) {
		// Its module does not load (dlopen's reason), or its check
		// died.
		at = arb__doc_get(d, map, "type", NULL);
		arb__doc_err(d, at != NULL ? at : map, "type", "%s", t->why);
		arb__loader_mark_seen(ld, p->site, "type");
		c->type = NULL;
		return;
	}
	if (t->total > 0) {
		arb__loader_mark_seen(ld, p->site, "config");
	}
	for (i = 0; i < t->n; i++) {
		key = t->keys[i];
		// The key's line, or config: itself when the key is absent.
		at = v != NULL && key[0] != '\0'
		    ? arb__doc_find(d, v, key, &exact)
		    : NULL;
		if (at == NULL || at == v) {
			arb__doc_get(d, map, "config", &at);
		}
		arb__doc_err(d, at != NULL ? at : map,
		    key[0] != '\0'
		        ? arb__arena_printf(d->arena, "config.%s", key)
		        : "config",
		    "%s: %s", c->type, t->texts[i]);
	}
	if (t->total > i) {
		arb__doc_get(d, map, "config", &at);
		arb__doc_err(d, at != NULL ? at : map, "config",
		    "%s: %zu more problems", c->type, t->total - i);
	}
}

void
arb__loader_checks(loader *ld)
{
	arb__tcheck *t;
	size_t      *away, i, naway = 0;

	if (ld->nchecks == 0) {
		return;
	}
	t = arb__xalloc(ld->nchecks * sizeof(*t));
	away = arb__xalloc(ld->nchecks * sizeof(*away));
	for (i = 0; i < ld->nchecks; i++) {
		const arb_child_spec *c = ld->checks[i].spec;

		memset(&t[i], 0, sizeof(t[i]));
		t[i].type = c->type;
		t[i].cfg = c->arg;
		t[i].cfg_len = c->arg_len;
		if (check_here(ld, c->type)) {
			arb__tcheck_here(&t[i]);
		} else {
			away[naway] = i;
			naway++;
		}
	}
	// The others in one child of this program: their modules (an MQTT
	// actor's links OpenSSL, which never unloads) stay out of this
	// process.  A program that cannot (no arb_actor_main) checks here.
	if (naway > 0) {
		arb__tcheck *a = arb__xalloc(naway * sizeof(*a));

		for (i = 0; i < naway; i++) {
			a[i] = t[away[i]];
		}
		if (arb__tcheck_away(a, naway, CHECK_TIMEOUT_MS) != ARB_OK) {
			for (i = 0; i < naway; i++) {
				arb__tcheck_here(&a[i]);
			}
		}
		for (i = 0; i < naway; i++) {
			t[away[i]] = a[i];
		}
		free(a);
	}
	for (i = 0; i < ld->nchecks; i++) {
		check_report(ld, &ld->checks[i], &t[i]);
		arb__tcheck_fini(&t[i]);
	}
	free(away);
	free(t);
}

static void
load_backoff(loader *ld, size_t si, yaml_node_t *v, arb_child_spec *c)
{
	arb__doc   *d = &ld->d;
	yaml_node_t *x;

	if (!arb__doc_map_check(d, v, "backoff", backoff_keys)) {
		arb__loader_mark_seen(ld, si, "backoff.min");
		return;
	}
	if ((x = arb__doc_get(d, v, "min", NULL)) != NULL
	    && !arb__loader_got(ld, si, "backoff.min",
	        arb__doc_duration(d, x, "backoff.min", 0, INT_MAX, off_words,
	            &c->backoff_min_ms))) {
		c->backoff_min_ms = BAD_MS;
	}
	if ((x = arb__doc_get(d, v, "max", NULL)) != NULL
	    && !arb__loader_got(ld, si, "backoff.max",
	        arb__doc_duration(d, x, "backoff.max", 1, INT_MAX, NULL,
	            &c->backoff_max_ms))) {
		c->backoff_max_ms = BAD_MS;
	}
	if ((x = arb__doc_get(d, v, "stable", NULL)) != NULL
	    && !arb__loader_got(ld, si, "backoff.stable",
	        arb__doc_duration(d, x, "backoff.stable", 1, INT_MAX, NULL,
	            &c->stable_ms))) {
		c->stable_ms = BAD_MS;
	}
}

// load_kind sets the isolation, type, command and nested supervisor.
static void
load_kind(loader *ld, size_t si, yaml_node_t *map, arb_child_spec *c)
{
	arb__doc   *d = &ld->d;
	yaml_node_t *iso = arb__doc_get(d, map, "isolation", NULL);
	yaml_node_t *type = arb__doc_get(d, map, "type", NULL);
	yaml_node_t *cmd = arb__doc_get(d, map, "command", NULL);
	yaml_node_t *sup = arb__doc_get(d, map, "supervisor", NULL);
	yaml_node_t *key;
	int          v;

	if (sup != NULL) {
		c->isolation = ARB_SUPERVISOR;
		if (iso != NULL) {
			arb__doc_get(d, map, "isolation", &key);
			arb__doc_err(d, key, "isolation",
			    "a nested supervisor has no isolation (it runs on "
			    "the node)");
		}
	} else if (iso != NULL) {
		if (arb__loader_got(ld, si, "isolation",
		        arb__doc_enum(d, iso, "isolation", isolations, &v))) {
			c->isolation = (arb_isolation) v;
		} else {
			c->isolation = (arb_isolation) BAD_ENUM;
			arb__loader_mark_seen(ld, si, "type");
			arb__loader_mark_seen(ld, si, "command");
		}
	} else {
		// A command alone means exec; a type means thread.
		c->isolation
		    = cmd != NULL && type == NULL ? ARB_EXEC : ARB_THREAD;
	}

	if (c->isolation == ARB_THREAD || c->isolation == ARB_PROCESS) {
		const char *s;
		if (type == NULL) {
			arb__doc_err(d, map, "type",
			    "missing: thread and process children need an "
			    "actor type (the project's: echo, crasher, "
			    "ticker, ...; yours: plugins:)");
			arb__loader_mark_seen(ld, si, "type");
		} else if (arb__loader_got(ld, si, "type",
		               arb__doc_string(d, type, "type", &s))) {
			char why[1024];
			// Known, not loaded: its module loads once the file
			// says where it runs (arb__loader_checks).
			if (arb__actor_type_known(s, why, sizeof(why))
			    != ARB_OK) {
				arb__doc_err(d, type, "type", "%s", why);
				arb__loader_mark_seen(ld, si, "type");
			} else {
				c->type = s;
			}
		}
	} else if (type != NULL) {
		arb__doc_get(d, map, "type", &key);
		arb__doc_err(d, key, "type",
		    "only thread and process children have an actor type");
	}

	if (c->isolation == ARB_EXEC) {
		if (cmd == NULL) {
			arb__doc_err(d, map, "command",
			    "missing: an exec child needs the program to run "
			    "(command: [/path/prog, arg, ...])");
			arb__loader_mark_seen(ld, si, "command");
		} else {
			load_command(ld, si, cmd, c);
		}
	} else if (cmd != NULL && c->isolation != (arb_isolation) BAD_ENUM) {
		arb__doc_get(d, map, "command", &key);
		arb__doc_err(d, key, "command",
		    "only exec children have a command (add isolation: exec)");
	}

	if (sup != NULL) {
		c->sup = arb__loader_sup(ld, sup, ld->sites[si].path, si);
		if (c->sup == NULL) {
			arb__loader_mark_seen(ld, si, "supervisor");
		}
	}
}

// load_node reads a child's `node:`: this node's own name means here; any
// other must be a peer the file lists (node.peers).  Whether the child's
// kind can run elsewhere is the library's spec checker's (childspec.c).
static void
load_node(loader *ld, size_t si, yaml_node_t *map, arb_child_spec *c)
{
	arb__doc   *d = &ld->d;
	yaml_node_t *v;
	const char  *s;
	size_t       i;

	if ((v = arb__doc_get(d, map, "node", NULL)) == NULL) {
		return;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		// Alternative nodes are not supported: two copies could run
		// after a one-way cut (docs/supervision.md).
		arb__doc_err(d, v, "node",
		    "a list of alternative nodes is not supported: a remote "
		    "child runs on the one node it names "
		    "(docs/supervision.md, \"No alternative nodes\")");
		arb__loader_mark_seen(ld, si, "node");
		return;
	}
	if (!arb__loader_got(
	        ld, si, "node", arb__doc_scalar(d, v, "node", &s, NULL))) {
		return;
	}
	if (strcmp(s, ld->cfg->name) == 0) {
		return; // this node: a local child
	}
	for (i = 0; i < ld->cfg->npeers; i++) {
		// A peer whose name was refused (missing, malformed, this
		// node's own, a duplicate) has none: its problem is told at
		// node.peers.
		if (ld->cfg->peers[i].name != NULL
		    && strcmp(ld->cfg->peers[i].name, s) == 0) {
			c->node = s;
			return;
		}
	}
	arb__doc_err(d, v, "node",
	    "unknown peer \"%s\": a remote child runs on a node listed in "
	    "node.peers (this node is \"%s\")",
	    s, ld->cfg->name);
	arb__loader_mark_seen(ld, si, "node");
}

static void
load_child(loader *ld, yaml_node_t *map, const char *parent, size_t index,
    arb_child_spec *c, size_t *sip)
{
	arb__doc   *d = &ld->d;
	yaml_node_t *v, *key;
	const char  *name = NULL;
	size_t       si;
	int          e;

	// The site first: every problem below is recorded against it.
	if ((v = arb__doc_get(d, map, "name", NULL)) != NULL) {
		arb__doc_scalar(d, v, "name", &name, NULL);
	}
	si = arb__loader_site_add(ld,
	    arb__loader_name_ok(name)
	        ? arb__arena_printf(d->arena, "%s/%s", parent, name)
	        : arb__arena_printf(d->arena, "%s/#%zu", parent, index),
	    map, NULL);
	*sip = si;
	arb__doc_map_check(d, map, NULL, child_keys);
	if (v == NULL) {
		arb__doc_err(
		    d, map, "name", "missing: every child needs a name");
		arb__loader_mark_seen(ld, si, "name");
	} else if (name == NULL) {
		// arb__doc_scalar said why.
		arb__loader_mark_seen(ld, si, "name");
	}
	c->name = name;

	load_kind(ld, si, map, c);
	load_node(ld, si, map, c);

	if ((v = arb__doc_get(d, map, "restart", NULL)) != NULL) {
		c->restart = arb__loader_got(ld, si, "restart",
		                 arb__doc_enum(d, v, "restart", restarts, &e))
		    ? (arb_restart) e
		    : (arb_restart) BAD_ENUM;
	}
	if ((v = arb__doc_get(d, map, "shutdown", NULL)) != NULL
	    && !arb__loader_got(ld, si, "shutdown",
	        arb__doc_duration(d, v, "shutdown", 1, INT_MAX, shutdown_words,
	            &c->shutdown_ms))) {
		c->shutdown_ms = BAD_SHUTDOWN;
	}
	if ((v = arb__doc_get(d, map, "start_timeout", NULL)) != NULL
	    && !arb__loader_got(ld, si, "start_timeout",
	        arb__doc_duration(d, v, "start_timeout", 1, INT_MAX, NULL,
	            &c->start_timeout_ms))) {
		c->start_timeout_ms = BAD_MS;
	}
	if ((v = arb__doc_get(d, map, "backoff", NULL)) != NULL) {
		load_backoff(ld, si, v, c);
	}
	if ((v = arb__doc_get(d, map, "watchdog", NULL)) != NULL
	    && !arb__loader_got(ld, si, "watchdog",
	        arb__doc_duration(d, v, "watchdog", 0, INT_MAX, off_words,
	            &c->watchdog_ms))) {
		c->watchdog_ms = BAD_MS;
	}
	if ((v = arb__doc_get(d, map, "significant", NULL)) != NULL) {
		arb__loader_got(ld, si, "significant",
		    arb__doc_bool(d, v, "significant", &c->significant));
	}
	v = arb__doc_get(d, map, "config", &key);
	if (v != NULL
	    && (c->isolation == ARB_EXEC || c->isolation == ARB_SUPERVISOR)) {
		arb__doc_err(d, key, "config",
		    "only thread and process actors take a config");
	} else {
		load_config(ld, si, map, v, c);
	}
}

static arb_sup_spec *loader_sup(
    loader *ld, yaml_node_t *map, const char *path, size_t si);

arb_sup_spec *
arb__loader_sup(loader *ld, yaml_node_t *map, const char *path, size_t si)
{
	arb_sup_spec *s;

	if (ld->depth >= LOADER_SUP_DEPTH) {
		arb__doc_err(&ld->d, map, "supervisor",
		    "supervisors nested more than %d deep (is a supervisor an "
		    "alias of one of its own ancestors?)",
		    LOADER_SUP_DEPTH);
		return NULL;
	}
	ld->depth++;
	s = loader_sup(ld, map, path, si);
	ld->depth--;
	return s;
}

static arb_sup_spec *
loader_sup(loader *ld, yaml_node_t *map, const char *path, size_t si)
{
	arb__doc      *d = &ld->d;
	arb_sup_spec   *s;
	arb_child_spec *kids;
	yaml_node_t    *v, *list, *key, *item;
	size_t         *sis, i, j, n = 0;
	long long       k;
	int             e;

	if (map->type != YAML_MAPPING_NODE) {
		arb__doc_err(d, map,
		    ld->sites[si].child == NULL ? "root" : "supervisor",
		    "expected a supervisor mapping (strategy, intensity, "
		    "period, auto_shutdown, children), got %s",
		    arb__doc_kind(map));
		return NULL;
	}
	arb__doc_map_check(d, map, NULL, sup_keys);
	ld->sites[si].sup = map;
	s = arb__arena_alloc(d->arena, sizeof(*s));
	if ((v = arb__doc_get(d, map, "strategy", NULL)) != NULL) {
		s->strategy
		    = arb__loader_got(ld, si, "strategy",
		          arb__doc_enum(d, v, "strategy", strategies, &e))
		    ? (arb_strategy) e
		    : (arb_strategy) BAD_ENUM;
	}
	if ((v = arb__doc_get(d, map, "intensity", NULL)) != NULL) {
		if (arb__loader_got(ld, si, "intensity",
		        arb__doc_int(d, v, "intensity", 0, 1000000, &k))) {
			s->intensity = (int) k;
		} else {
			s->intensity = -1;
			arb__loader_mark_seen(
			    ld, si, "period"); // "needs a period" follows
		}
	}
	if ((v = arb__doc_get(d, map, "period", NULL)) != NULL
	    && !arb__loader_got(ld, si, "period",
	        arb__doc_duration(
	            d, v, "period", 1, INT_MAX, NULL, &s->period_ms))) {
		s->period_ms = BAD_MS;
	}
	if ((v = arb__doc_get(d, map, "auto_shutdown", NULL)) != NULL) {
		s->auto_shutdown = arb__loader_got(ld, si, "auto_shutdown",
		                       arb__doc_enum(d, v, "auto_shutdown",
		                           auto_shutdowns, &e))
		    ? (arb_auto_shutdown) e
		    : (arb_auto_shutdown) BAD_ENUM;
	}
	if ((list = arb__doc_get(d, map, "children", &key)) == NULL) {
		return s; // an empty supervisor is valid (OTP)
	}
	if (list->type != YAML_SEQUENCE_NODE) {
		if (!(list->type == YAML_SCALAR_NODE
		        && list->data.scalar.length == 0)) {
			arb__doc_err(d, list, "children",
			    "expected a list of children (- name: ...), got "
			    "%s",
			    arb__doc_kind(list));
			arb__loader_mark_seen(ld, si, "children");
		}
		return s;
	}
	kids = arb__arena_alloc(
	    d->arena, (arb__doc_len(list) + 1) * sizeof(*kids));
	sis = arb__xalloc((arb__doc_len(list) + 1) * sizeof(*sis));
	for (i = 0; i < arb__doc_len(list); i++) {
		item = arb__doc_item(d, list, i);
		if (++ld->nchildren > LOADER_CHILDREN_MAX) {
			if (!ld->too_many) {
				arb__doc_err(d, item, "children",
				    "more than %d children in one file "
				    "(aliases "
				    "of supervisors?)",
				    LOADER_CHILDREN_MAX);
				ld->too_many = true;
			}
			arb__loader_mark_seen(ld, si, "children");
			break;
		}
		if (item->type != YAML_MAPPING_NODE) {
			arb__doc_err(d, item, "children",
			    "each child is a mapping (name: ..., type: ...), "
			    "not %s",
			    arb__doc_kind(item));
			continue;
		}
		load_child(ld, item, path, n, &kids[n], &sis[n]);
		// Duplicates are reported here, at the second one, with
		// both lines; the checker's own line is then dropped.
		for (j = 0; kids[n].name != NULL && j < n; j++) {
			if (kids[j].name != NULL
			    && strcmp(kids[j].name, kids[n].name) == 0) {
				arb__doc_err(d,
				    arb__doc_get(d, item, "name", NULL),
				    "name",
				    "duplicate name \"%s\" (also at line %d)",
				    kids[n].name,
				    arb__doc_line(ld->sites[sis[j]].child));
				arb__loader_mark_seen(ld, sis[j], "name");
				arb__loader_mark_seen(ld, sis[n], "name");
				break;
			}
		}
		n++;
	}
	free(sis);
	s->children = kids;
	s->nchildren = n;
	return s;
}
