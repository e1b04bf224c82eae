// SPDX-License-Identifier: MIT
// childspec.c -- child and supervisor specs: defaults, the spec checker
// and deep copies.
//
// The checker reports every problem of a spec tree, one line each, naming
// the child path and the field, so a user fixes a spec in one round.  It
// follows OTP's validity rules (e.g. significant children) and adds
// arbor's own fields.  Copies own every byte they point to, so a
// supervisor never depends on the caller's spec after it started.
// Nothing here touches the OS.  Thread: any.

#include "sup_int.h"

#include <stdio.h>
#include <string.h>

// OTP defaults, and arbor's own.
#define SHUTDOWN_DEFAULT      5000 // workers; supervisors: infinity
#define START_TIMEOUT_DEFAULT 5000
#define BACKOFF_MAX_DEFAULT   30000
#define STABLE_DEFAULT        10000
#define INTENSITY_DEFAULT     1    // OTP: 1 restart ...
#define PERIOD_DEFAULT        5000 // ... in 5 s

// SUP_DEPTH_MAX bounds the nesting of supervisor specs.  Specs are plain
// C structs, so a nested spec can point back at an ancestor; the bound
// turns such a cycle into a spec error instead of endless recursion.
#define SUP_DEPTH_MAX 32

// PATH_BUF holds "<path>/<child>/..." for SUP_DEPTH_MAX levels of
// ARB__NAME_MAX names, with room for the caller's own path.
#define PATH_BUF ((SUP_DEPTH_MAX + 4) * (ARB__NAME_MAX + 1))

int
arb__child_shutdown_ms(const arb_child_spec *c)
{
	if (c->shutdown_ms != 0) {
		return c->shutdown_ms;
	}
	return c->isolation == ARB_SUPERVISOR ? ARB_SHUTDOWN_INFINITY
	                                      : SHUTDOWN_DEFAULT;
}

int
arb__child_start_timeout_ms(const arb_child_spec *c)
{
	return c->start_timeout_ms != 0 ? c->start_timeout_ms
	                                : START_TIMEOUT_DEFAULT;
}

int
arb__child_backoff_max_ms(const arb_child_spec *c)
{
	return c->backoff_max_ms != 0 ? c->backoff_max_ms
	                              : BACKOFF_MAX_DEFAULT;
}

int
arb__child_stable_ms(const arb_child_spec *c)
{
	return c->stable_ms != 0 ? c->stable_ms : STABLE_DEFAULT;
}

// With both intensity and period 0 the supervisor takes OTP's defaults; a
// lone intensity 0 with a period set means "no restart at all".
int
arb__sup_intensity(const arb_sup_spec *s)
{
	if (s->intensity == 0 && s->period_ms == 0) {
		return INTENSITY_DEFAULT;
	}
	return s->intensity;
}

int
arb__sup_period_ms(const arb_sup_spec *s)
{
	if (s->intensity == 0 && s->period_ms == 0) {
		return PERIOD_DEFAULT;
	}
	return s->period_ms;
}

// --- Checking --------------------------------------------------------------

typedef struct check_ctx {
	char  *buf;  // may be NULL
	size_t len;  // size of buf
	size_t used; // bytes written, not counting the NUL
	int    nerr;
	// Inside a remote subtree (a supervisor child with `node`): that
	// node's name; NULL: here.
	const char *remote;
} check_ctx;

static void
check_vappend(check_ctx *cx, const char *fmt, va_list ap)
{
	size_t room;
	int    n;

	if (cx->buf == NULL || cx->len == 0 || cx->used + 1 >= cx->len) {
		return; // nowhere to write, or already full
	}
	room = cx->len - cx->used;
	n = vsnprintf(cx->buf + cx->used, room, fmt, ap);
	if (n < 0) {
		cx->buf[cx->used] = '\0';
		return;
	}
	if ((size_t) n >= room) {
		cx->used = cx->len - 1; // truncated; vsnprintf wrote the NUL
	} else {
		cx->used += (size_t) n;
	}
}

static void check_append(check_ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
check_append(check_ctx *cx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vappend(cx, fmt, ap);
	va_end(ap);
}

// check_problem records one problem as the line
// "<path>[/<child>]: <field>: <message>\n".  child is NULL for the
// supervisor's own fields.
static void check_problem(check_ctx *cx, const char *path, const char *child,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
check_problem(check_ctx *cx, const char *path, const char *child,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	cx->nerr++;
	if (child != NULL) {
		check_append(cx, "%s/%s: %s: ", path, child, field);
	} else {
		check_append(cx, "%s: %s: ", path, field);
	}
	va_start(ap, fmt);
	check_vappend(cx, fmt, ap);
	va_end(ap);
	check_append(cx, "\n");
}

// name_problem returns what is wrong with a child's name, or NULL.
static const char *
name_problem(const char *name)
{
	const char *p;

	if (name == NULL) {
		return "missing (NULL)";
	}
	if (*name == '\0') {
		return "empty";
	}
	if (strlen(name) > ARB__NAME_MAX) {
		return "longer than 63 characters";
	}
	for (p = name; *p != '\0'; p++) {
		unsigned char ch = (unsigned char) *p;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
		        || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
		        || ch == '-')) {
			return "invalid character (allowed: A-Z a-z 0-9 _ . "
			       "-)";
		}
	}
	return NULL;
}

static void check_sup(check_ctx *cx, const arb_sup_spec *spec, char *path,
    size_t cap, int depth);

static void
check_child(check_ctx *cx, const arb_sup_spec *spec, size_t i, char *path,
    size_t cap, int depth)
{
	const arb_child_spec *c = &spec->children[i];
	char                  label[ARB__NAME_MAX + 1];
	const char           *why;
	size_t                j;
	size_t                plen;
	int                   n;
	bool                  iso_ok;
	bool                  restart_ok;

	// A child with a bad name is named by its index: "root/#2".
	if ((why = name_problem(c->name)) != NULL) {
		snprintf(label, sizeof(label), "#%zu", i);
		check_problem(cx, path, label, "name", "%s", why);
	} else {
		snprintf(label, sizeof(label), "%s", c->name);
		for (j = 0; j < i; j++) {
			const char *other = spec->children[j].name;
			if (other != NULL && strcmp(other, c->name) == 0) {
				check_problem(cx, path, label, "name",
				    "duplicate sibling name (also child #%zu)",
				    j);
				break;
			}
		}
	}

	iso_ok = (unsigned) c->isolation <= ARB_SUPERVISOR;
	if (!iso_ok) {
		check_problem(cx, path, label, "isolation",
		    "unknown isolation %d", (int) c->isolation);
	}
	if ((c->isolation == ARB_THREAD || c->isolation == ARB_PROCESS)
	    && (c->type == NULL || c->type[0] == '\0')) {
		check_problem(cx, path, label, "type",
		    "thread and process actors need an actor type");
	}
	if (c->isolation == ARB_EXEC
	    && (c->argv == NULL || c->argv[0] == NULL
	        || c->argv[0][0] == '\0')) {
		check_problem(cx, path, label, "argv",
		    "exec children need argv, with argv[0] the program");
	}
	if (c->isolation == ARB_SUPERVISOR && c->sup == NULL) {
		check_problem(cx, path, label, "sup",
		    "supervisor children need a nested supervisor spec");
	}
	if (iso_ok && c->isolation != ARB_SUPERVISOR && c->sup != NULL) {
		check_problem(cx, path, label, "sup",
		    "only supervisor children have a nested supervisor spec");
	}

	restart_ok = (unsigned) c->restart <= ARB_TEMPORARY;
	if (!restart_ok) {
		check_problem(cx, path, label, "restart",
		    "unknown restart type %d", (int) c->restart);
	}
	if (c->shutdown_ms < ARB_SHUTDOWN_INFINITY) {
		check_problem(cx, path, label, "shutdown",
		    "must be > 0 ms, 0 (default), -1 (brutal_kill) or -2 "
		    "(infinity), not %d",
		    c->shutdown_ms);
	}
	if (c->start_timeout_ms < 0) {
		check_problem(cx, path, label, "start_timeout",
		    "must be >= 0, not %d", c->start_timeout_ms);
	}
	if (c->backoff_min_ms < 0) {
		check_problem(cx, path, label, "backoff_min",
		    "must be >= 0, not %d", c->backoff_min_ms);
	}
	if (c->backoff_max_ms < 0) {
		check_problem(cx, path, label, "backoff_max",
		    "must be >= 0, not %d", c->backoff_max_ms);
	} else if (c->backoff_max_ms > 0
	    && c->backoff_max_ms < c->backoff_min_ms) {
		// Named so in a tree file (backoff: {min, max}) and in C
		// (backoff_min_ms) alike.
		check_problem(cx, path, label, "backoff_max",
		    "smaller than the backoff's min (%d ms < %d ms)",
		    c->backoff_max_ms, c->backoff_min_ms);
	}
	if (c->stable_ms < 0) {
		check_problem(cx, path, label, "stable",
		    "must be >= 0, not %d", c->stable_ms);
	}
	if (c->watchdog_ms < 0) {
		check_problem(cx, path, label, "watchdog",
		    "must be >= 0, not %d", c->watchdog_ms);
	} else if (c->watchdog_ms > 0 && iso_ok
	    && c->isolation != ARB_PROCESS) {
		check_problem(cx, path, label, "watchdog",
		    "only process actors have a watchdog");
	}

	// A remote child (docs/supervision.md, "Remote children"): an
	// actor of a type the other node knows, started by its agent.
	if (c->node != NULL) {
		size_t k, nl = strlen(c->node);
		bool   name_ok = nl > 0 && nl < 64;

		for (k = 0; name_ok && k < nl; k++) {
			name_ok = c->node[k] > 0x20 && c->node[k] < 0x7f;
		}
		if (!name_ok) {
			check_problem(cx, path, label, "node",
			    "not a node name (1-63 printable characters)");
		} else if (cx->remote != NULL
		    && strcmp(c->node, cx->remote) != 0) {
			check_problem(cx, path, label, "node",
			    "a child of a supervisor on %s runs on %s: it "
			    "cannot name another node (put that child beside "
			    "the remote supervisor instead)",
			    cx->remote, cx->remote);
		} else if (iso_ok && c->isolation == ARB_EXEC) {
			check_problem(cx, path, label, "node",
			    "only thread and process actors and supervisors "
			    "can run on another node (not exec children)");
		} else if (c->exe != NULL) {
			check_problem(cx, path, label, "node",
			    "a remote process actor runs the other node's "
			    "program (no exe)");
		} else if (spec->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
			check_problem(cx, path, label, "node",
			    "a simple_one_for_one template cannot be remote "
			    "(not supported)");
		}
	}
	// A child of a remote supervisor runs on that node, started by its
	// agent, which runs only code its node installed: no command lines.
	if (cx->remote != NULL && c->node == NULL) {
		if (iso_ok && c->isolation == ARB_EXEC) {
			check_problem(cx, path, label, "isolation",
			    "an exec child cannot run under a supervisor on "
			    "another node (%s): its agent runs only the types "
			    "its node installed",
			    cx->remote);
		} else if (c->exe != NULL) {
			check_problem(cx, path, label, "exe",
			    "a process actor under a supervisor on another "
			    "node (%s) runs that node's program (no exe)",
			    cx->remote);
		}
	}

	// OTP's validSignificant: significant needs auto_shutdown other
	// than never, and a restart type other than permanent.  OTP stops
	// at the first; both are reported here.
	if (c->significant && c->restart == ARB_PERMANENT) {
		check_problem(cx, path, label, "significant",
		    "a permanent child cannot be significant");
	}
	if (c->significant && spec->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
		check_problem(cx, path, label, "significant",
		    "a simple_one_for_one child cannot be significant (its "
		    "siblings come and go independently)");
	} else if (c->significant
	    && spec->auto_shutdown == ARB_AUTO_SHUTDOWN_NEVER) {
		check_problem(cx, path, label, "significant",
		    "requires auto_shutdown any_significant or "
		    "all_significant");
	}
	if (c->arg_len > 0 && c->arg == NULL) {
		check_problem(cx, path, label, "arg", "NULL with arg_len %zu",
		    c->arg_len);
	} else if (c->isolation == ARB_PROCESS && c->arg_len > ARB__ARG_MAX) {
		// Its start would fail: the argument travels in one control
		// message.
		check_problem(cx, path, label, "arg",
		    "%zu bytes: a process actor's argument is at most %d "
		    "bytes",
		    c->arg_len, ARB__ARG_MAX);
	}

	if (c->isolation != ARB_SUPERVISOR || c->sup == NULL) {
		return;
	}
	if (depth + 1 >= SUP_DEPTH_MAX) {
		check_problem(cx, path, label, "sup",
		    "supervisors nested more than %d deep (a cycle?)",
		    SUP_DEPTH_MAX);
		return;
	}
	plen = strlen(path);
	n = snprintf(path + plen, cap - plen, "/%s", label);
	if (n < 0) {
		path[plen] = '\0';
	}
	{
		const char *was = cx->remote;

		if (c->node != NULL && cx->remote == NULL) {
			cx->remote = c->node; // its subtree runs there
		}
		check_sup(cx, c->sup, path, cap, depth + 1);
		cx->remote = was;
	}
	path[plen] = '\0';
}

static void
check_sup(
    check_ctx *cx, const arb_sup_spec *spec, char *path, size_t cap, int depth)
{
	size_t i;

	if (spec == NULL) {
		check_problem(cx, path, NULL, "spec", "missing (NULL)");
		return;
	}
	if ((unsigned) spec->strategy > ARB_SIMPLE_ONE_FOR_ONE) {
		check_problem(cx, path, NULL, "strategy",
		    "unknown strategy %d", (int) spec->strategy);
	}
	if (spec->intensity < 0) {
		check_problem(cx, path, NULL, "intensity",
		    "must be >= 0, not %d", spec->intensity);
	}
	// Both 0 take OTP's defaults; otherwise the period must be set.
	if (spec->period_ms < 0
	    || (spec->period_ms == 0 && spec->intensity != 0)) {
		check_problem(cx, path, NULL, "period",
		    "must be > 0, not %d (0 for both intensity and period "
		    "gives OTP's 1 in 5000 ms)",
		    spec->period_ms);
	}
	if ((unsigned) spec->auto_shutdown
	    > ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT) {
		check_problem(cx, path, NULL, "auto_shutdown",
		    "unknown auto_shutdown %d", (int) spec->auto_shutdown);
	}
	// OTP's maintainers deem auto_shutdown meaningless for a pool (there
	// is no "last" child when more may come: erlang/otp#8230), and
	// Elixir's DynamicSupervisor refuses it.
	if (spec->strategy == ARB_SIMPLE_ONE_FOR_ONE
	    && spec->auto_shutdown != ARB_AUTO_SHUTDOWN_NEVER
	    && (unsigned) spec->auto_shutdown
	        <= ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT) {
		check_problem(cx, path, NULL, "auto_shutdown",
		    "a simple_one_for_one supervisor takes no auto_shutdown "
		    "(its children come and go: there is no last one)");
	}
	// A simple_one_for_one pool may run on another node (the remote
	// child itself, or inside its subtree): its children are started
	// by calls its node's agent relays (docs/multinode.md, "Remote
	// pools").
	if (spec->children == NULL && spec->nchildren > 0) {
		check_problem(cx, path, NULL, "children",
		    "NULL with nchildren %zu", spec->nchildren);
		return;
	}
	if (spec->strategy == ARB_SIMPLE_ONE_FOR_ONE && spec->nchildren != 1) {
		check_problem(cx, path, NULL, "children",
		    "simple_one_for_one needs exactly one child (the "
		    "template), not %zu",
		    spec->nchildren);
	}
	for (i = 0; i < spec->nchildren; i++) {
		check_child(cx, spec, i, path, cap, depth);
	}
}

int
arb__sup_spec_check(
    const arb_sup_spec *spec, const char *path, char *errbuf, size_t len)
{
	check_ctx cx = { errbuf, len, 0, 0, NULL };
	char      pbuf[PATH_BUF];

	if (errbuf != NULL && len > 0) {
		errbuf[0] = '\0';
	}
	snprintf(pbuf, sizeof(pbuf), "%s", path != NULL ? path : "root");
	check_sup(&cx, spec, pbuf, sizeof(pbuf), 0);
	return cx.nerr == 0 ? ARB_OK : ARB_ESPEC;
}

int
arb_sup_spec_check(const arb_sup_spec *spec, char *errbuf, size_t errlen)
{
	return arb__sup_spec_check(spec, "root", errbuf, errlen);
}

// --- Copies ----------------------------------------------------------------

static int sup_copy(const arb_sup_spec *spec, arb_sup_spec **copyp, int depth);

// child_copy fills *out only on success; on failure *out is untouched and
// everything allocated on the way is freed again.
static int
child_copy(const arb_child_spec *c, arb_child_spec *out, int depth)
{
	arb_child_spec t;
	size_t         n;
	size_t         i;
	char         **argv;
	void          *arg;
	int            rv;

	// Scalars first; every pointer starts NULL so that fini on t frees
	// exactly what was copied so far.
	t = *c;
	t.name = NULL;
	t.type = NULL;
	t.arg = NULL;
	t.exe = NULL;
	t.node = NULL;
	t.argv = NULL;
	t.sup = NULL;
	if (c->arg == NULL || c->arg_len == 0) {
		t.arg_len = 0;
	}

	if ((c->name != NULL && (t.name = arb__strdup(c->name)) == NULL)
	    || (c->type != NULL && (t.type = arb__strdup(c->type)) == NULL)
	    || (c->exe != NULL && (t.exe = arb__strdup(c->exe)) == NULL)
	    || (c->node != NULL && (t.node = arb__strdup(c->node)) == NULL)) {
		goto nomem;
	}
	if (t.arg_len > 0) {
		if ((arg = arb__alloc(t.arg_len)) == NULL) {
			goto nomem;
		}
		memcpy(arg, c->arg, t.arg_len);
		t.arg = arg;
	}
	if (c->argv != NULL) {
		for (n = 0; c->argv[n] != NULL; n++) { }
		if (n + 1 > SIZE_MAX / sizeof(char *)) {
			goto nomem;
		}
		if ((argv = arb__alloc((n + 1) * sizeof(char *))) == NULL) {
			goto nomem;
		}
		t.argv = (const char *const *) argv; // zeroed: NULL-terminated
		for (i = 0; i < n; i++) {
			if ((argv[i] = arb__strdup(c->argv[i])) == NULL) {
				goto nomem;
			}
		}
	}
	if (c->sup != NULL) {
		arb_sup_spec *sub;
		if ((rv = sup_copy(c->sup, &sub, depth + 1)) != ARB_OK) {
			arb__child_spec_fini(&t);
			return rv;
		}
		t.sup = sub;
	}
	*out = t;
	return ARB_OK;

nomem:
	arb__child_spec_fini(&t);
	return ARB_ENOMEM;
}

static int
sup_copy(const arb_sup_spec *spec, arb_sup_spec **copyp, int depth)
{
	arb_sup_spec   *s;
	arb_child_spec *kids;
	size_t          i;
	int             rv;

	if (spec == NULL || (spec->children == NULL && spec->nchildren > 0)) {
		return ARB_EINVAL;
	}
	if (depth >= SUP_DEPTH_MAX) {
		return ARB_ESPEC; // a cycle; arb__sup_spec_check says so
	}
	if ((s = arb__alloc(sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	*s = *spec;
	s->children = NULL;
	s->nchildren = 0;
	if (spec->nchildren > 0) {
		if (spec->nchildren > SIZE_MAX / sizeof(*kids)
		    || (kids = arb__alloc(spec->nchildren * sizeof(*kids)))
		        == NULL) {
			arb__free(s);
			return ARB_ENOMEM;
		}
		// The zeroed array lets arb__sup_spec_free finish every
		// entry, copied or not.
		s->children = kids;
		s->nchildren = spec->nchildren;
		for (i = 0; i < spec->nchildren; i++) {
			rv = child_copy(&spec->children[i], &kids[i], depth);
			if (rv != ARB_OK) {
				arb__sup_spec_free(s);
				return rv;
			}
		}
	}
	*copyp = s;
	return ARB_OK;
}

int
arb__sup_spec_copy(const arb_sup_spec *spec, arb_sup_spec **copyp)
{
	return sup_copy(spec, copyp, 0);
}

void
arb__sup_spec_free(arb_sup_spec *spec)
{
	arb_child_spec *kids;
	size_t          i;

	if (spec == NULL) {
		return;
	}
	// The copy owns its children array; the const in the public struct
	// is for callers' specs.
	kids = (arb_child_spec *) spec->children;
	for (i = 0; kids != NULL && i < spec->nchildren; i++) {
		arb__child_spec_fini(&kids[i]);
	}
	arb__free(kids);
	arb__free(spec);
}

void
arb__sup_spec_remove(arb_sup_spec *spec, const char *name)
{
	arb_child_spec *kids = (arb_child_spec *) spec->children; // owned
	size_t          i, n = spec->nchildren;

	for (i = 0; i < n; i++) {
		if (strcmp(kids[i].name, name) == 0) {
			arb__child_spec_fini(&kids[i]);
			memmove(kids + i, kids + i + 1, (n - i - 1) * sizeof(*kids));
			spec->nchildren = n - 1;
			return;
		}
	}
}

int
arb__child_spec_copy(const arb_child_spec *c, arb_child_spec *out)
{
	return child_copy(c, out, 0);
}

void
arb__child_spec_fini(arb_child_spec *c)
{
	size_t i;

	if (c == NULL) {
		return;
	}
	if (c->argv != NULL) {
		for (i = 0; c->argv[i] != NULL; i++) {
			arb__free((void *) c->argv[i]);
		}
		arb__free((void *) c->argv);
	}
	arb__free((void *) c->name);
	arb__free((void *) c->type);
	arb__free((void *) c->arg);
	arb__free((void *) c->exe);
	arb__free((void *) c->node);
	arb__sup_spec_free((arb_sup_spec *) c->sup);
	memset(c, 0, sizeof(*c));
}

// --- The wire form of a remote subtree --------------------------------------
// (docs/wire.md, the agent's START; docs/multinode.md, "The agent").
//   sup   = [strategy, intensity, period_ms, auto_shutdown, [child...]]
//   child = [name, isolation, type, config(bin), restart, shutdown_ms,
//            start_timeout_ms, backoff_min_ms, backoff_max_ms, stable_ms,
//            watchdog_ms, significant, sup or []]
// Thread and process actors and supervisors only: an exec child, an exe
// or a node never travels (the agent runs only code its node installed,
// and every child of the subtree runs on the agent's node).

#define WIRE_CHILDREN_MAX 4096 // per supervisor, on decode

static int enc_sup(arb__buf *b, const arb_sup_spec *s, int depth);

static int
enc_child(arb__buf *b, const arb_child_spec *c, int depth)
{
	const char *type = c->type != NULL ? c->type : "";

	if (c->name == NULL || c->exe != NULL || c->argv != NULL
	    || (c->isolation != ARB_THREAD && c->isolation != ARB_PROCESS
	        && c->isolation != ARB_SUPERVISOR)
	    || (c->isolation == ARB_SUPERVISOR) != (c->sup != NULL)) {
		return ARB_ESPEC;
	}
	if ((arb__mp_put_array(b, 13)
	        | arb__mp_put_str(b, c->name, strlen(c->name))
	        | arb__mp_put_uint(b, (uint64_t) c->isolation)
	        | arb__mp_put_str(b, type, strlen(type))
	        | arb__mp_put_bin(b, c->arg, c->arg != NULL ? c->arg_len : 0)
	        | arb__mp_put_uint(b, (uint64_t) c->restart)
	        | arb__mp_put_int(b, c->shutdown_ms)
	        | arb__mp_put_int(b, c->start_timeout_ms)
	        | arb__mp_put_int(b, c->backoff_min_ms)
	        | arb__mp_put_int(b, c->backoff_max_ms)
	        | arb__mp_put_int(b, c->stable_ms)
	        | arb__mp_put_int(b, c->watchdog_ms)
	        | arb__mp_put_bool(b, c->significant))
	    != 0) {
		return ARB_ENOMEM;
	}
	if (c->sup != NULL) {
		return enc_sup(b, c->sup, depth + 1);
	}
	return arb__mp_put_array(b, 0) == 0 ? ARB_OK : ARB_ENOMEM;
}

static int
enc_sup(arb__buf *b, const arb_sup_spec *s, int depth)
{
	size_t i;
	int    rv;

	if (depth >= SUP_DEPTH_MAX || s->nchildren > WIRE_CHILDREN_MAX
	    || (s->children == NULL && s->nchildren > 0)) {
		return ARB_ESPEC;
	}
	if ((arb__mp_put_array(b, 5)
	        | arb__mp_put_uint(b, (uint64_t) s->strategy)
	        | arb__mp_put_int(b, s->intensity)
	        | arb__mp_put_int(b, s->period_ms)
	        | arb__mp_put_uint(b, (uint64_t) s->auto_shutdown)
	        | arb__mp_put_array(b, (uint32_t) s->nchildren))
	    != 0) {
		return ARB_ENOMEM;
	}
	for (i = 0; i < s->nchildren; i++) {
		if ((rv = enc_child(b, &s->children[i], depth)) != ARB_OK) {
			return rv;
		}
	}
	return ARB_OK;
}

int
arb__sup_spec_encode(arb__buf *b, const arb_sup_spec *spec)
{
	return spec == NULL ? ARB_ESPEC : enc_sup(b, spec, 0);
}

// dup_str copies n bytes of s as a string; NULL (and *bad) when s holds
// a NUL byte.
static char *
dup_str(const uint8_t *s, size_t n, bool *bad)
{
	char *d;

	if (memchr(s, '\0', n) != NULL) {
		*bad = true;
		return NULL;
	}
	if ((d = arb__alloc(n + 1)) != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

typedef struct dec_ctx {
	char  *err; // why a decode failed (may be NULL)
	size_t len;
} dec_ctx;

static int dec_sup(dec_ctx *dx, arb__mp_rd *r, arb_sup_spec **out, int depth);

// dec_child fills c (zeroed by the caller, which frees what it holds,
// on failure too).
static int
dec_child(dec_ctx *dx, arb__mp_rd *r, arb_child_spec *c, int depth)
{
	uint32_t       n;
	uint64_t       iso, restart;
	int64_t        v[6];
	const uint8_t *name, *type, *arg;
	size_t         nn, nt, na, i;
	bool           bad = false;
	void          *copy;

	if (!arb__mp_get_array(r, &n) || n != 13
	    || !arb__mp_get_str(r, &name, &nn) || nn == 0 || nn > ARB__NAME_MAX
	    || !arb__mp_get_uint(r, ARB_SUPERVISOR, &iso)) {
		return ARB_EBADMSG;
	}
	if (iso == ARB_EXEC) {
		if (dx->err != NULL) {
			snprintf(dx->err, dx->len,
			    "%.*s: an exec child cannot run under a remote "
			    "supervisor (an agent runs only the types its "
			    "node installed)",
			    (int) nn, (const char *) name);
		}
		return ARB_EPERM;
	}
	if (!arb__mp_get_str(r, &type, &nt) || nt > 127
	    || !arb__mp_get_bin(r, &arg, &na)
	    || !arb__mp_get_uint(r, ARB_TEMPORARY, &restart)) {
		return ARB_EBADMSG;
	}
	for (i = 0; i < 6; i++) {
		if (!arb__mp_get_int(r, INT32_MIN, INT32_MAX, &v[i])) {
			return ARB_EBADMSG;
		}
	}
	if (!arb__mp_get_bool(r, &c->significant)) {
		return ARB_EBADMSG;
	}
	c->isolation = (arb_isolation) iso;
	c->restart = (arb_restart) restart;
	c->shutdown_ms = (int) v[0];
	c->start_timeout_ms = (int) v[1];
	c->backoff_min_ms = (int) v[2];
	c->backoff_max_ms = (int) v[3];
	c->stable_ms = (int) v[4];
	c->watchdog_ms = (int) v[5];
	if ((c->name = dup_str(name, nn, &bad)) == NULL
	    || (nt > 0 && (c->type = dup_str(type, nt, &bad)) == NULL)) {
		return bad ? ARB_EBADMSG : ARB_ENOMEM;
	}
	if (na > 0) {
		if ((copy = arb__alloc(na)) == NULL) {
			return ARB_ENOMEM;
		}
		memcpy(copy, arg, na);
		c->arg = copy;
		c->arg_len = na;
	}
	if (c->isolation == ARB_SUPERVISOR) {
		arb_sup_spec *sub = NULL;
		int           rv = dec_sup(dx, r, &sub, depth + 1);

		c->sup = sub;
		return rv;
	}
	return arb__mp_get_array(r, &n) && n == 0 ? ARB_OK : ARB_EBADMSG;
}

static int
dec_sup(dec_ctx *dx, arb__mp_rd *r, arb_sup_spec **out, int depth)
{
	uint32_t        n, nk, i;
	uint64_t        strategy, autos;
	int64_t         intensity, period;
	arb_sup_spec   *s;
	arb_child_spec *kids;
	int             rv;

	*out = NULL;
	if (depth >= SUP_DEPTH_MAX || !arb__mp_get_array(r, &n) || n != 5
	    || !arb__mp_get_uint(r, ARB_SIMPLE_ONE_FOR_ONE, &strategy)
	    || !arb__mp_get_int(r, INT32_MIN, INT32_MAX, &intensity)
	    || !arb__mp_get_int(r, INT32_MIN, INT32_MAX, &period)
	    || !arb__mp_get_uint(r, ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT, &autos)
	    || !arb__mp_get_array(r, &nk) || nk > WIRE_CHILDREN_MAX
	    || nk > r->left) {
		return ARB_EBADMSG;
	}
	if ((s = arb__alloc(sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->strategy = (arb_strategy) strategy;
	s->intensity = (int) intensity;
	s->period_ms = (int) period;
	s->auto_shutdown = (arb_auto_shutdown) autos;
	*out = s;
	if (nk == 0) {
		return ARB_OK;
	}
	if ((kids = arb__alloc(nk * sizeof(*kids))) == NULL) {
		return ARB_ENOMEM;
	}
	memset(kids, 0, nk * sizeof(*kids));
	s->children = kids;
	s->nchildren = nk; // zeroed: arb__sup_spec_free finishes each
	for (i = 0; i < nk; i++) {
		if ((rv = dec_child(dx, r, &kids[i], depth)) != ARB_OK) {
			return rv;
		}
	}
	return ARB_OK;
}

int
arb__sup_spec_decode(
    const void *p, size_t len, arb_sup_spec **out, char *err, size_t errlen)
{
	arb__mp_rd r = { p, len };
	dec_ctx    dx = { err, errlen };
	int        rv;

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	rv = dec_sup(&dx, &r, out, 0);
	if (rv == ARB_OK && r.left != 0) {
		rv = ARB_EBADMSG; // bytes after the subtree
	}
	if (rv != ARB_OK) {
		if (err != NULL && errlen > 0 && err[0] == '\0') {
			snprintf(err, errlen, "%s",
			    rv == ARB_ENOMEM
			        ? "out of memory"
			        : "a malformed subtree (or deeper "
			          "than 32 levels, or more than "
			          "4096 children in a supervisor)");
		}
		arb__sup_spec_free(*out);
		*out = NULL;
	}
	return rv;
}
