// SPDX-License-Identifier: MIT
// control.c -- the control socket of a served node, which `arborctl`
// talks to (SPEC 23, 25): one msgpack request and one msgpack reply per
// exchange (docs/control.md), over the transport of ctl_link.c.
//
// Security is the file system's: the socket lives in a directory only
// the node's user can enter (0700, checked at start: an existing
// directory that group or others can reach, or that another user owns,
// is refused), and the socket itself is 0600.  Every request is also
// checked against the peer's uid (SO_PEERCRED, through nng): only the node's
// own user, or root, is served.  HTTP (http.c) is read-only; everything
// that changes the tree goes through here.
//
// Every request runs on the node thread, between two events of the
// supervision tree, and may call every arb_node_* function.  Operations
// that change the tree are asynchronous in the library (they return once
// queued).  A reload, and a start or restart asked for with `wait`, are
// answered later, with their outcome (the child's start error, as OTP's
// restart_child answers); other requests are read and answered meanwhile
// (at most ARB__CTLSOCK_LATER answers are owed at once).  A stop is
// answered once queued: `arborctl` watches `status` for its effect.
// Thread: node.

#include "control.h"
#include "../node/node_int.h"

#include "ctl_sock.h"
#include "pathcheck.h"
#include "paths.h"
#include "treejson.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_PATH_MAX 512         // longest child path accepted in a request
#define CTL_SLACK    (64 * 1024) // request bytes beyond a message body
#define CTL_SPEC_MAX (32 * 1024) // longest child spec for start-child

typedef struct arb__control {
	arb__serve   *run;
	arb__ctlsock *sock;
	int           lock_fd; // flock on PATH.lock, held while serving
	char          path[ARB__SOCK_PATH_MAX];
	char          lock[ARB__SOCK_PATH_MAX + 8];
	// The answers owed (a reload's, a waited start's or restart's): at
	// most ARB__CTLSOCK_LATER at once, one per ticket.
	struct ctl_wait {
		struct arb__control *ctl;
		arb__buf            *now; // the handler's reply, while it runs
		unsigned             ticket;
		bool                 used;
		char                 op[16]; // start, restart, start-child
		char                 path[CTL_PATH_MAX];
		arb__buf             later; // the answer, once it is late
	} waits[ARB__CTLSOCK_LATER];
} arb__control;

// One decoded request: op, path and level are NUL-terminated copies, body
// points into the request message.
typedef struct ctl_req {
	char        op[16];
	char        path[CTL_PATH_MAX];
	char        level[16];
	bool        has_path;
	bool        has_tag;
	bool        wait; // start, restart: answer once it runs or failed
	uint64_t    tag;
	const char *body;
	size_t      body_len;
	const char *spec; // start-child: a child spec, YAML or JSON text
	size_t      spec_len;
} ctl_req;

// A reply being packed: out of memory sends a short one instead.
typedef struct ctl_reply {
	arb__buf *b;
	int       rv; // ARB_ENOMEM once a write failed
} ctl_reply;

// --- Replies ----------------------------------------------------------------

static void
pk_str(ctl_reply *r, const char *s)
{
	r->rv |= arb__mp_put_str(r->b, s, strlen(s));
}

static void
pk_kv_str(ctl_reply *r, const char *k, const char *v)
{
	pk_str(r, k);
	pk_str(r, v);
}

// pk_text packs an error text, which may hold outside text (a path as
// arborctl sent it, an actor's exit text, a line of the tree file cut
// short): its control bytes and the bytes that are not UTF-8 are written
// as \xNN (core/escape.c), so the reply's str is UTF-8 (msgpack says so)
// and the one line arborctl prints is one line.
static void
pk_text(ctl_reply *r, const char *v)
{
	char esc[2048];

	arb__escape(v, strlen(v), esc, sizeof(esc));
	pk_str(r, esc);
}

// reply_begin starts a reply map of n entries (ok included) and packs
// ok.
static void
reply_begin(ctl_reply *r, size_t n, bool ok)
{
	arb__buf_reset(r->b);
	r->rv = arb__mp_put_map(r->b, (uint32_t) n);
	pk_str(r, "ok");
	r->rv |= arb__mp_put_bool(r->b, ok);
}

// reply_error makes the reply {ok: false, code: NAME, error: TEXT}.
static void reply_error(ctl_reply *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(ctl_reply *r, int err, const char *fmt, ...)
{
	char    text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply_begin(r, 3, false);
	pk_kv_str(r, "code", arb_err_name(err));
	pk_str(r, "error");
	pk_text(r, text);
}

static void
reply_ok(ctl_reply *r)
{
	reply_begin(r, 1, true);
}

// --- Requests ---------------------------------------------------------------

static bool
obj_is(const arb__val *o, const char *s)
{
	return o->type == ARB__V_STR && o->n == strlen(s) &&
	    memcmp(o->via.s, s, o->n) == 0;
}

// obj_copy copies a string object into buf; false when it is not a
// string or does not fit.
static bool
obj_copy(const arb__val *o, char *buf, size_t len)
{
	if (o->type != ARB__V_STR || o->n >= len || strlen(o->via.s) != o->n) {
		return false;
	}
	memcpy(buf, o->via.s, o->n + 1);
	return true;
}

// req_decode fills q from the request map; on a malformed request it
// writes the error reply and returns false.  q's body points into the
// request bytes.
static bool
req_decode(const arb__val *o, ctl_req *q, ctl_reply *r)
{
	const arb__val *k, *v;
	uint32_t        i;

	memset(q, 0, sizeof(*q));
	if (o->type != ARB__V_MAP) {
		reply_error(r, ARB_EBADMSG, "the request is not a map");
		return false;
	}
	for (i = 0; i < o->n; i++) {
		k = &o->via.v[2 * i];
		v = &o->via.v[2 * i + 1];
		if (obj_is(k, "op")) {
			if (!obj_copy(v, q->op, sizeof(q->op))) {
				reply_error(r, ARB_EBADMSG,
				    "op: not a known "
				    "operation");
				return false;
			}
		} else if (obj_is(k, "path")) {
			if (!obj_copy(v, q->path, sizeof(q->path))) {
				reply_error(r, ARB_EBADMSG,
				    "path: not a string of at most %d bytes",
				    CTL_PATH_MAX - 1);
				return false;
			}
			q->has_path = true;
		} else if (obj_is(k, "level")) {
			if (!obj_copy(v, q->level, sizeof(q->level))) {
				reply_error(r, ARB_EBADMSG,
				    "level: expected error, warn, info or "
				    "debug");
				return false;
			}
		} else if (obj_is(k, "tag")) {
			if (v->type != ARB__V_UINT) {
				reply_error(r, ARB_EBADMSG,
				    "tag: not a non-negative integer");
				return false;
			}
			q->tag     = v->via.u;
			q->has_tag = true;
		} else if (obj_is(k, "spec")) {
			if (v->type != ARB__V_STR || v->n > CTL_SPEC_MAX) {
				reply_error(r, ARB_EBADMSG,
				    "spec: expected a child spec (YAML or "
				    "JSON text of at most %d bytes)",
				    CTL_SPEC_MAX);
				return false;
			}
			q->spec     = v->via.s;
			q->spec_len = v->n;
		} else if (obj_is(k, "wait")) {
			if (v->type != ARB__V_BOOL) {
				reply_error(r, ARB_EBADMSG,
				    "wait: expected true or false");
				return false;
			}
			q->wait = v->via.b;
		} else if (obj_is(k, "body")) {
			if (v->type == ARB__V_BIN) {
				// The bytes, in the request itself (raw is
				// the bin's header and bytes).
				q->body     = (const char *) v->raw +
				    (v->rawlen - v->n);
				q->body_len = v->n;
			} else if (v->type != ARB__V_NIL) {
				reply_error(r, ARB_EBADMSG,
				    "body: expected bin (msgpack bytes)");
				return false;
			}
		}
		// Other keys are ignored: newer clients may send more.
	}
	if (q->op[0] == '\0') {
		reply_error(r, ARB_EBADMSG, "op: missing");
		return false;
	}
	return true;
}

// --- Operations -------------------------------------------------------------

typedef struct find_walk {
	const char     *path;
	bool            found;
	arb_child_state state;
	bool            ended; // a temporary child that ended
	bool            pool;  // a simple_one_for_one supervisor
	bool            sup;   // a supervisor
} find_walk;

static void
find_cb(const arb_child_info *in, void *arg)
{
	find_walk *w = arg;

	if (!w->found && strcmp(in->path, w->path) == 0) {
		w->found = true;
		w->state = in->state;
		w->ended = in->restart == ARB_TEMPORARY &&
		    in->state == ARB_STATE_STOPPED && in->has_last_exit;
		w->sup  = in->isolation == ARB_SUPERVISOR;
		w->pool = w->sup && in->strategy == ARB_SIMPLE_ONE_FOR_ONE;
	}
}

// remote_walk finds the remote child (its node: another node) that is at
// path or holds path in its subtree (arb_node_walk; status shows it).
typedef struct remote_walk {
	const char *path;
	bool        found;
	bool        sup;      // the remote child is a supervisor
	char        at[256];  // its path here
	char        node[64]; // the node it runs on
} remote_walk;

static void
remote_cb(const arb_child_info *in, void *arg)
{
	remote_walk *w = arg;
	size_t       n = strlen(in->path);

	if (!w->found && in->node != NULL && strncmp(in->path, w->path, n) == 0
	    && (w->path[n] == '\0' || w->path[n] == '/')) {
		w->found = true;
		w->sup = in->isolation == ARB_SUPERVISOR;
		snprintf(w->at, sizeof(w->at), "%s", in->path);
		snprintf(w->node, sizeof(w->node), "%s", in->node);
	}
}

// reply_remote answers an operation op on path, which is at or under the
// remote child w->at (arb_node_* said ARB_ENOTSUP): it runs on w->node,
// which supervises what is in it; this node starts, stops and restarts
// the remote child as a whole, and relays no other operation.  Names the
// path the agent gives it there.
static void
reply_remote(arb__control *ctl, ctl_reply *r, const char *op, const char *path,
    const remote_walk *w)
{
	char lname[64];

	arb__remote_lname(ctl->run->name, w->at, lname, sizeof(lname));
	if (strcmp(op, "start-child") == 0 && !w->sup) {
		reply_error(r, ARB_ENOTSUP,
		    "cannot start a child of %s: %s is no supervisor but an "
		    "actor that runs on node %s (node: %s)",
		    path, w->at, w->node, w->node);
	} else if (strcmp(op, "start-child") == 0) {
		reply_error(r, ARB_ENOTSUP,
		    "cannot start a child of %s: it runs on node %s (%s is a "
		    "remote subtree, node: %s), and start-child is relayed "
		    "to another node only for a simple_one_for_one pool; add "
		    "the child under %s in this node's tree file and reload "
		    "(%s starts again on %s, whole)",
		    path, w->node, w->at, w->node, path, w->at, w->node);
	} else if (strcmp(op, "delete-child") == 0) {
		reply_error(r, ARB_ENOTSUP,
		    "cannot delete %s: it runs on node %s, in the remote "
		    "subtree %s (node: %s); take it out of this node's tree "
		    "file and reload (%s starts again on %s, whole)",
		    path, w->node, w->at, w->node, w->at, w->node);
	} else {
		reply_error(r, ARB_ENOTSUP,
		    "cannot %s %s: it runs on node %s, in the remote subtree "
		    "%s (node: %s), whose supervisor there restarts it; here "
		    "%s is stopped, started or restarted as a whole "
		    "(arborctl %s %s), or on node %s: arborctl %s %s/%s%s",
		    op, path, w->node, w->at, w->node, w->at, op, w->at,
		    w->node, op, ARB__AGENT_PATH, lname, path + strlen(w->at));
	}
}

// remote_at fills w for path; true when path is at or under a remote
// child.
static bool
remote_at(arb__control *ctl, const char *path, remote_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->path = path;
	arb_node_walk(ctl->run->node, remote_cb, w);
	return w->found;
}

static void
op_status(arb__control *ctl, ctl_reply *r)
{
	arb__text b = { 0 };

	arb__live_json(ctl->run, &b);
	reply_begin(r, 2, true);
	pk_str(r, "json");
	r->rv |= arb__mp_put_str(r->b, b.p, b.len);
	arb__text_fini(&b);
}

static void reply_oom(arb__buf *reply);

// wait_reply is where an owed answer is packed: the handler's reply while
// it runs (answered at once), else w's own buffer, sent by wait_answered.
static arb__buf *
wait_reply(struct ctl_wait *w)
{
	if (w->now != NULL) {
		return w->now;
	}
	arb__buf_reset(&w->later);
	return &w->later;
}

// wait_answered ends the wait of w, whose answer r holds: sent with its
// ticket unless the handler that asked still runs (it returns it).
static void
wait_answered(struct ctl_wait *w, ctl_reply *r)
{
	if (r->rv != ARB_OK) {
		reply_oom(r->b);
	}
	w->used = false;
	if (w->now == NULL) {
		arb__ctlsock_reply(
		    w->ctl->sock, w->ticket, w->later.data, w->later.len);
		arb__buf_fini(&w->later);
	}
}

// child_done receives the outcome of the start or restart op_child asked
// for with wait: into the handler's reply while it runs, else sent with
// its ticket.  A failed start answers with the child's reason (OTP's
// restart_child answers {error, Reason}).
static void
child_done(void *arg, int rv, const char *why)
{
	struct ctl_wait *w = arg;
	ctl_reply        r = { wait_reply(w), 0 };

	arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, "control",
	    "op=%s path=%s result=%s%s%s", w->op, w->path,
	    rv == ARB_OK ? "done" : arb_err_name(rv),
	    rv == ARB_OK ? "" : " why=", rv == ARB_OK ? "" : why);
	if (rv == ARB_OK) {
		reply_ok(&r);
	} else if (rv == ARB_ECHILD) {
		reply_error(&r, rv,
		    "cannot %s %s: its start failed: %s; it is left stopped",
		    w->op, w->path, why);
	} else {
		reply_error(&r, rv, "cannot %s %s: %s", w->op, w->path, why);
	}
	wait_answered(w, &r);
}

// reply_pinned answers an operator's stop, start, restart or delete of a
// child the node pinned (arb__sup_pin_child: the agent's supervisor).
static void
reply_pinned(ctl_reply *r, const char *op, const char *path)
{
	reply_error(r, ARB_EPERM,
	    "cannot %s %s: it is the node agent's supervisor, which runs the "
	    "children other nodes supervise here; the node manages it "
	    "(docs/supervision.md, \"Remote children\")",
	    op, path);
}

// reply_agent_run refuses op of path when it is one of the children the
// agent runs here for another node's supervisor (root/~agent/rc-HASH-NAME,
// docs/supervision.md "Remote children") and says where to ask: that
// supervisor decides its restarts, so a stop here was undone at once
// ("stopped and deleted", then running again) and a restart here said
// "answered ignore (not kept)" while the supervisor's node restarted it.
// What runs inside such a child (a remote subtree's workers) is this
// node's to stop, start and restart.  Returns false when path is not one.
static bool
reply_agent_run(
    arb__control *ctl, ctl_reply *r, const char *op, const char *path)
{
	enum { MAX = 256 };
	arb_agent_child *v;
	size_t           i, n, plen = strlen(ARB__AGENT_PATH);
	bool             found = false;

	if (strncmp(path, ARB__AGENT_PATH "/", plen + 1) != 0
	    || strchr(path + plen + 1, '/') != NULL
	    || (v = calloc(MAX, sizeof(*v))) == NULL) {
		return false;
	}
	n = arb_node_agent_children(ctl->run->node, v, MAX);
	for (i = 0; i < n && i < MAX && !found; i++) {
		if (strcmp(v[i].path, path) != 0) {
			continue;
		}
		found = true;
		reply_error(r, ARB_ENOTSUP,
		    "cannot %s %s: it is %s of node %s, which supervises it "
		    "(this node's agent runs it for that node); %s it "
		    "there: arborctl --node %s %s %s%s",
		    op, path, v[i].child, v[i].sup_node, op, v[i].sup_node,
		    op, v[i].child,
		    v[i].orphan ? " (that node is lost now: the agent stops "
		                  "it when node.orphan_grace runs out)"
		                : "");
	}
	free(v);
	return found;
}

// op_child: stop, start or restart the child at q->path.  A start or a
// restart with q->wait is answered once the child runs or its start
// failed; returns false when that answer comes later (with ticket).
static bool
op_child(arb__control *ctl, const ctl_req *q, ctl_reply *r, unsigned ticket)
{
	arb_node        *node = ctl->run->node;
	find_walk        w = { q->path, false, ARB_STATE_STOPPED, false, false,
		       false };
	struct ctl_wait *cw = &ctl->waits[ticket];
	remote_walk      rw;
	bool             waited = false;
	int              rv;

	if (!q->has_path || q->path[0] == '\0') {
		reply_error(r, ARB_EINVAL, "%s: path: missing", q->op);
		return true;
	}
	if (strcmp(q->path, "root") == 0) {
		reply_error(r, ARB_EINVAL,
		    "root is the root supervisor: it is not stopped, started "
		    "or restarted on its own; stop the node instead (SIGTERM, "
		    "systemctl stop)");
		return true;
	}
	if (reply_agent_run(ctl, r, q->op, q->path)) {
		arb_log(NULL, ARB_LOG_WARN, "control",
		    "op=%s path=%s result=ARB_ENOTSUP why=agent_run", q->op,
		    q->path);
		return true;
	}
	if (strcmp(q->op, "stop") == 0) {
		rv = arb_node_child_stop(node, q->path);
	} else if (q->wait) {
		cw->ctl    = ctl;
		cw->now    = r->b;
		cw->ticket = ticket;
		cw->used   = true;
		snprintf(cw->op, sizeof(cw->op), "%s", q->op);
		snprintf(cw->path, sizeof(cw->path), "%s", q->path);
		rv = arb_node_child_start_then(node, q->path,
		    strcmp(q->op, "restart") == 0, child_done, cw);
		cw->now = NULL;
		waited  = rv == ARB_OK;
		if (!waited) {
			cw->used = false;
		}
	} else if (strcmp(q->op, "start") == 0) {
		rv = arb_node_child_start(node, q->path);
	} else {
		rv = arb_node_child_restart(node, q->path);
	}
	arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, "control",
	    "op=%s path=%s result=%s", q->op, q->path,
	    rv == ARB_OK ? "accepted" : arb_err_name(rv));
	if (waited) {
		return !cw->used; // answered by child_done
	}
	switch (rv) {
	case ARB_OK:
		reply_ok(r);
		break;
	case ARB_ENOENT:
		reply_error(r, rv, "no such child: %s", q->path);
		break;
	case ARB_ENOTSUP:
		if (remote_at(ctl, q->path, &rw)) {
			reply_remote(ctl, r, q->op, q->path, &rw);
		} else if (strcmp(q->op, "restart") == 0) {
			reply_error(r, rv,
			    "cannot restart %s: a simple_one_for_one child is "
			    "not restarted on its own (OTP's restart_child); "
			    "its stop deletes it, start-child of its pool adds "
			    "a new one",
			    q->path);
		} else {
			reply_error(r, rv, "cannot %s %s: %s", q->op, q->path,
			    arb_strerror(rv));
		}
		break;
	case ARB_EPERM:
		reply_pinned(r, q->op, q->path);
		break;
	case ARB_ESTATE:
		arb_node_walk(node, find_cb, &w);
		if (w.ended && strcmp(q->op, "stop") != 0) {
			reply_error(r, rv,
			    "cannot %s %s: a temporary child that ended is "
			    "never started again (restart: temporary); a "
			    "reload that leaves it out and adds it back "
			    "starts it anew",
			    q->op, q->path);
			break;
		}
		reply_error(r, rv, "cannot %s %s: it is %s", q->op, q->path,
		    w.found ? arb_child_state_name(w.state) : "busy");
		break;
	case ARB_ESHUTDOWN:
		reply_error(r, rv,
		    "cannot %s %s: the node, or a supervisor above it, is "
		    "stopping",
		    q->op, q->path);
		break;
	case ARB_EAGAIN:
		reply_error(r, rv,
		    "cannot %s %s now: its supervisor is busy with a restart, "
		    "a reload or another command; try again",
		    q->op, q->path);
		break;
	default:
		reply_error(r, rv, "cannot %s %s: %s", q->op, q->path,
		    arb_strerror(rv));
		break;
	}
	return true;
}

// start_answered answers a start-child with the outcome of the start it
// asked for: into the handler's reply while it runs, else sent with its
// ticket.  pool: w->path is a pool supervisor's and why, on success, the
// new child's path; else w->path is the added child's.
static void
start_answered(struct ctl_wait *w, int rv, const char *why, bool pool)
{
	ctl_reply   r = { wait_reply(w), 0 };
	const char *of = pool ? "a child of " : "";

	arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, "control",
	    "op=start-child %s=%s result=%s%s%s", pool ? "path" : "child",
	    w->path, rv == ARB_OK ? "started" : arb_err_name(rv),
	    rv != ARB_OK ? " why=" : pool ? " child=" : "",
	    rv != ARB_OK || pool ? why : "");
	if (rv == ARB_OK) {
		reply_begin(&r, 2, true);
		pk_kv_str(&r, "path", pool ? why : w->path);
	} else if (rv == ARB_ECHILD) {
		reply_error(&r, rv,
		    "cannot start %s%s: its start failed: %s; it is not added",
		    of, w->path, why);
	} else if (rv == ARB_EIGNORE && pool) {
		reply_error(&r, rv,
		    "the new child of %s answered ignore: it is not kept",
		    w->path);
	} else {
		reply_error(&r, rv, "cannot start %s%s: %s", of, w->path, why);
	}
	wait_answered(w, &r);
}

// added_done receives the outcome of the start op_start_child asked for.
static void
added_done(void *arg, int rv, const char *why)
{
	start_answered(arg, rv, why, true);
}

// spec_load reads the child spec text q->spec as the tree file's children
// are read and checked (arb__serve_spec_load).  Returns the tree (its
// root's one child is the spec) or NULL with the reply written.
static arb_tree *
spec_load(arb__control *ctl, const ctl_req *q, ctl_reply *r)
{
	arb_tree *cfg = NULL;
	char      text[1024], *copy = NULL;
	int       rv;

	if (ctl->run->file != NULL) {
		copy = arb__xstrdup(ctl->run->file);
	}
	rv = arb__serve_spec_load(ctl->path,
	    copy != NULL ? dirname(copy) : NULL, q->spec, q->spec_len, &cfg,
	    text, sizeof(text));
	free(copy);
	if (rv != ARB_OK) {
		reply_error(r, rv,
		    "start-child %s: the child spec is not valid: %s", q->path,
		    text);
		return NULL;
	}
	return cfg;
}

// child_added receives the outcome of the start op_add_child asked for.
static void
child_added(void *arg, int rv, const char *why)
{
	start_answered(arg, rv, why, false);
}

// op_add_child adds the child spec q->spec to the static supervisor at
// q->path (OTP's start_child(Sup, ChildSpec)); answered once it runs or
// its start failed.  Returns false when that answer comes later.
static bool
op_add_child(arb__control *ctl, const ctl_req *q, ctl_reply *r,
    unsigned ticket)
{
	struct ctl_wait *w = &ctl->waits[ticket];
	remote_walk      rw;
	arb_tree        *cfg;
	char             errbuf[1024], name[80];
	int              rv;

	if ((cfg = spec_load(ctl, q, r)) == NULL) {
		return true;
	}
	snprintf(name, sizeof(name), "%s", cfg->root->children[0].name);
	w->ctl    = ctl;
	w->now    = r->b;
	w->ticket = ticket;
	w->used   = true;
	snprintf(w->op, sizeof(w->op), "start-child");
	if (strlen(q->path) + 1 + strlen(name) >= sizeof(w->path)) {
		arb__tree_free(cfg);
		w->used = false;
		reply_error(r, ARB_EINVAL,
		    "start-child %s: the path is too long", q->path);
		return true;
	}
	memcpy(w->path, q->path, strlen(q->path));
	w->path[strlen(q->path)] = '/';
	memcpy(w->path + strlen(q->path) + 1, name, strlen(name) + 1);
	rv = arb_node_add_child_then(ctl->run->node, q->path,
	    &cfg->root->children[0], errbuf, sizeof(errbuf), child_added, w);
	arb__tree_free(cfg);
	w->now = NULL;
	if (rv == ARB_OK) {
		return !w->used;
	}
	w->used = false;
	arb_log(NULL, ARB_LOG_WARN, "control",
	    "op=start-child path=%s child=%s result=%s", q->path, name,
	    arb_err_name(rv));
	if (rv == ARB_ESPEC) {
		char *e = errbuf + strlen(errbuf);
		while (e > errbuf && e[-1] == '\n') {
			*--e = '\0';
		}
		reply_error(r, rv, "start-child %s: %s", q->path, errbuf);
	} else if (rv == ARB_EAGAIN) {
		reply_error(r, rv,
		    "cannot start a child of %s now: a restart, a reload or "
		    "another command is under way; try again",
		    q->path);
	} else if (rv == ARB_ENOTSUP && remote_at(ctl, q->path, &rw)) {
		reply_remote(ctl, r, "start-child", q->path, &rw);
	} else {
		reply_error(r, rv, "cannot start a child of %s: %s", q->path,
		    arb_strerror(rv));
	}
	return true;
}

// op_delete_child takes the stopped child at q->path out of its
// supervisor's spec (OTP's delete_child).
static void
op_delete_child(arb__control *ctl, const ctl_req *q, ctl_reply *r)
{
	remote_walk rw;
	int         rv;

	if (!q->has_path || q->path[0] == '\0') {
		reply_error(r, ARB_EINVAL, "delete-child: path: missing");
		return;
	}
	rv = arb_node_delete_child(ctl->run->node, q->path);
	arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, "control",
	    "op=delete-child path=%s result=%s", q->path,
	    rv == ARB_OK ? "deleted" : arb_err_name(rv));
	switch (rv) {
	case ARB_OK:
		reply_ok(r);
		break;
	case ARB_ENOENT:
		reply_error(r, rv, "no such child: %s", q->path);
		break;
	case ARB_ESTATE:
		reply_error(r, rv,
		    "cannot delete %s: it is not stopped (arborctl stop it "
		    "first)",
		    q->path);
		break;
	case ARB_EPERM:
		reply_pinned(r, "delete", q->path);
		break;
	case ARB_ENOTSUP:
		if (remote_at(ctl, q->path, &rw)) {
			reply_remote(ctl, r, "delete-child", q->path, &rw);
			break;
		}
		reply_error(r, rv,
		    "cannot delete %s: it is a simple_one_for_one child, "
		    "which its stop deletes",
		    q->path);
		break;
	case ARB_EAGAIN:
		reply_error(r, rv,
		    "cannot delete %s now: its supervisor is busy; try again",
		    q->path);
		break;
	default:
		reply_error(r, rv, "cannot delete %s: %s", q->path,
		    arb_strerror(rv));
		break;
	}
}

// What a send's path names in the tree, when no actor took the message.
typedef struct what_walk {
	const char     *path;
	bool            found;
	arb_isolation   isolation;
	arb_child_state state;
} what_walk;

static void
what_cb(const arb_child_info *in, void *arg)
{
	what_walk *w = arg;

	if (!w->found && strcmp(in->path, w->path) == 0) {
		w->found     = true;
		w->isolation = in->isolation;
		w->state     = in->state;
	}
}

// reply_not_an_actor says why a send to path, a child of this tree that
// took no message, found no actor: a supervisor or an exec child is none,
// an actor not running has no mailbox.  False when path is no child.
static bool
reply_not_an_actor(arb__control *ctl, ctl_reply *r, const char *path)
{
	what_walk w = { .path = path };

	arb_node_walk(ctl->run->node, what_cb, &w);
	if (!w.found) {
		return false;
	}
	if (w.isolation == ARB_SUPERVISOR) {
		reply_error(r, ARB_ENOENT,
		    "%s is a supervisor, not an actor: it takes no messages "
		    "(send to one of its actors)",
		    path);
	} else if (w.isolation == ARB_EXEC) {
		reply_error(r, ARB_ENOENT,
		    "%s is an exec child (a program, not an actor): it takes "
		    "no messages",
		    path);
	} else if (w.state != ARB_STATE_RUNNING) {
		reply_error(r, ARB_ENOENT,
		    "%s is %s, not running: nothing was sent", path,
		    arb_child_state_name(w.state));
	} else {
		return false;
	}
	return true;
}

// reply_no_actor says why a send found no actor at path: for NAME@NODE,
// an empty NAME or NODE, a NODE that is not one of this node's peers, a
// peer whose link is not up (nothing is queued for a node that is away),
// else no actor of that name.
static void
reply_no_actor(arb__control *ctl, ctl_reply *r, const char *path)
{
	const char    *at = strrchr(path, '@');
	arb_peer_info *peers;
	remote_walk    rw;
	char           lname[64];
	size_t         n, i;

	if (at != NULL && (at == path || at[1] == '\0')) {
		reply_error(r, ARB_EINVAL,
		    "%s: expected NAME@NODE with neither part empty", path);
		return;
	}
	if (at == NULL && remote_at(ctl, path, &rw)
	    && (!rw.sup || strcmp(path, rw.at) != 0)) {
		// In a remote subtree (or a remote actor): it runs there.
		arb__remote_lname(ctl->run->name, rw.at, lname, sizeof(lname));
		reply_error(r, ARB_ENOENT,
		    "%s runs on node %s (%s has node: %s), not here: send to "
		    "%s/%s%s@%s",
		    path, rw.node, rw.at, rw.node, ARB__AGENT_PATH, lname,
		    path + strlen(rw.at), rw.node);
		return;
	}
	if (at == NULL && reply_not_an_actor(ctl, r, path)) {
		return;
	}
	if (at == NULL || strcmp(at + 1, ctl->run->name) == 0) {
		reply_error(r, ARB_ENOENT, "no such running actor: %s", path);
		return;
	}
	n     = arb_node_peers(ctl->run->node, NULL, 0);
	peers = n > 0 ? calloc(n, sizeof(*peers)) : NULL;
	n     = peers != NULL ? arb_node_peers(ctl->run->node, peers, n) : 0;
	for (i = 0; i < n && strcmp(peers[i].name, at + 1) != 0; i++) {
	}
	if (i == n) {
		reply_error(r, ARB_ENOENT,
		    "%s: %s is not a peer of node %s (node.peers; arborctl "
		    "peers)",
		    path, at + 1, ctl->run->name);
	} else if (peers[i].state != ARB_PEER_UP) {
		reply_error(r, ARB_ENOENT,
		    "%s: node %s is %s, nothing was sent (arborctl peers)",
		    path, at + 1, arb_peer_state_name(peers[i].state));
	} else {
		reply_error(r, ARB_ENOENT, "no such running actor: %s", path);
	}
	free(peers);
}

// op_start_child adds a child to the simple_one_for_one supervisor at
// q->path, its init given q->body (OTP's start_child); answered once it
// runs or failed.  Returns false when that answer comes later.
static bool
op_start_child(arb__control *ctl, const ctl_req *q, ctl_reply *r,
    unsigned ticket)
{
	struct ctl_wait *w = &ctl->waits[ticket];
	remote_walk      rw;
	int              rv;

	find_walk        f = { q->path, false, ARB_STATE_STOPPED, false, false,
		       false };

	if (!q->has_path || q->path[0] == '\0') {
		reply_error(r, ARB_EINVAL, "start-child: path: missing");
		return true;
	}
	arb_node_walk(ctl->run->node, find_cb, &f);
	if (f.found && f.sup && !f.pool
	    && (q->spec != NULL || !remote_at(ctl, q->path, &rw))) {
		if (q->spec == NULL) {
			reply_error(r, ARB_EINVAL,
			    "start-child %s: a static supervisor needs the "
			    "child's spec (YAML or JSON, as a child in the "
			    "tree file)",
			    q->path);
			return true;
		}
		return op_add_child(ctl, q, r, ticket);
	}
	if (f.found && f.pool && q->spec != NULL && q->body == NULL) {
		reply_error(r, ARB_EINVAL,
		    "start-child %s: a simple_one_for_one child takes "
		    "JSON (its init argument), not a child spec",
		    q->path);
		return true;
	}
	w->ctl    = ctl;
	w->now    = r->b;
	w->ticket = ticket;
	w->used   = true;
	snprintf(w->op, sizeof(w->op), "start-child");
	snprintf(w->path, sizeof(w->path), "%s", q->path);
	rv = arb_node_start_child_then(ctl->run->node, q->path,
	    q->body != NULL ? q->body : "", q->body_len, added_done, w);
	w->now = NULL;
	if (rv == ARB_OK) {
		return !w->used;
	}
	w->used = false;
	arb_log(NULL, ARB_LOG_WARN, "control",
	    "op=start-child path=%s result=%s", q->path, arb_err_name(rv));
	switch (rv) {
	case ARB_ENOENT:
		reply_error(r, rv, "no such supervisor: %s", q->path);
		break;
	case ARB_ENOTSUP:
		if (remote_at(ctl, q->path, &rw)) {
			reply_remote(ctl, r, "start-child", q->path, &rw);
		} else {
			reply_error(r, rv, "cannot start a child of %s: %s",
			    q->path, arb_strerror(rv));
		}
		break;
	case ARB_ESTATE:
		if (remote_at(ctl, q->path, &rw)) {
			find_walk at = { rw.at, false, ARB_STATE_STOPPED,
				false, false, false };

			arb_node_walk(ctl->run->node, find_cb, &at);
			reply_error(r, rv,
			    "cannot start a child of %s: it runs on node %s, "
			    "in the remote subtree %s, which is %s here now "
			    "(not running on node %s: nothing to ask; try "
			    "again once it runs)",
			    q->path, rw.node, rw.at,
			    arb_child_state_name(at.state), rw.node);
			break;
		}
		reply_error(r, rv,
		    "cannot start a child of %s: it is not a "
		    "simple_one_for_one supervisor (its children are in the "
		    "tree file: add one there and reload)",
		    q->path);
		break;
	case ARB_ESHUTDOWN:
		reply_error(r, rv,
		    "cannot start a child of %s: the node, or that "
		    "supervisor, is stopping",
		    q->path);
		break;
	default:
		reply_error(r, rv, "cannot start a child of %s: %s", q->path,
		    arb_strerror(rv));
		break;
	}
	return true;
}

static void
op_send(arb__control *ctl, const ctl_req *q, ctl_reply *r)
{
	int rv;

	if (!q->has_path || q->path[0] == '\0') {
		reply_error(r, ARB_EINVAL, "send: path: missing");
		return;
	}
	if (!q->has_tag || q->tag >= ARB_TAG_SYSTEM) {
		reply_error(r, ARB_EINVAL,
		    "send: tag: expected an integer from 0 to %u (tags from "
		    "%u up are arbor's own)",
		    ARB_TAG_SYSTEM - 1, ARB_TAG_SYSTEM);
		return;
	}
	rv = arb_node_send(
	    ctl->run->node, q->path, (uint32_t) q->tag, q->body, q->body_len);
	arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, "control",
	    "op=send path=%s tag=%u len=%zu result=%s", q->path,
	    (unsigned) q->tag, q->body_len,
	    rv == ARB_OK ? "sent" : arb_err_name(rv));
	if (rv == ARB_OK) {
		reply_ok(r);
	} else if (rv == ARB_ENOENT) {
		reply_no_actor(ctl, r, q->path);
	} else {
		reply_error(
		    r, rv, "cannot send to %s: %s", q->path, arb_strerror(rv));
	}
}

// reload_answer packs a reload's outcome.
static void
reload_answer(arb__control *ctl, ctl_reply *r, int rv, const arb__errs *errs)
{
	size_t i;

	if (rv == ARB_OK) {
		reply_begin(r, 3, true);
		pk_str(r, "reloads");
		r->rv |= arb__mp_put_uint(r->b, ctl->run->reloads);
		pk_kv_str(r, "ignored", ctl->run->reload_ignored);
	} else {
		char text[1024];

		if (rv == ARB_ESPEC) {
			snprintf(text, sizeof(text),
			    "%s: %zu problem%s: reload rejected, the running "
			    "tree is unchanged",
			    ctl->run->file, errs->n + errs->more,
			    errs->n + errs->more == 1 ? "" : "s");
		} else if (rv == ARB_ECHILD) {
			// Applied but for the children that failed to
			// start (each in problems): never "not applied".
			snprintf(text, sizeof(text),
			    "reload of %s applied (%u reloads applied so "
			    "far), but a child it added or changed failed to "
			    "start: left out (added) or stopped (changed)",
			    ctl->run->file, ctl->run->reloads);
		} else {
			snprintf(text, sizeof(text),
			    "reload of %s not applied: %s", ctl->run->file,
			    arb_strerror(rv));
		}
		reply_begin(r, 4, false);
		pk_kv_str(r, "code", arb_err_name(rv));
		pk_str(r, "error");
		pk_text(r, text);
		pk_str(r, "problems");
		r->rv |= arb__mp_put_array(r->b, (uint32_t) errs->n);
		for (i = 0; i < errs->n; i++) {
			pk_text(r, errs->v[i].text);
		}
	}
}

// reload_done receives the outcome of the reload op_reload asked for:
// into the handler's reply while it runs, else sent with its ticket.
static void
reload_done(int rv, const arb__errs *errs, void *arg)
{
	struct ctl_wait *w = arg;
	ctl_reply        r = { wait_reply(w), 0 };

	reload_answer(w->ctl, &r, rv, errs);
	wait_answered(w, &r);
}

// op_reload asks for a reload; its answer comes when the file was read
// and applied (reload.c reads it off the loop), while other requests are
// answered.  Returns false when the answer will come later.
static bool
op_reload(arb__control *ctl, ctl_reply *r, unsigned ticket)
{
	struct ctl_wait *w = &ctl->waits[ticket];

	w->ctl = ctl;
	w->now = r->b;
	w->ticket = ticket;
	w->used = true;
	arb__serve_reload_request(ctl->run, "control", reload_done, w);
	w->now = NULL;
	return !w->used;
}
static void
op_log_level(const arb__control *ctl, const ctl_req *q, ctl_reply *r)
{
	static const char *const names[]
	    = { "error", "warn", "info", "debug" };
	int i;

	for (i = 0; i < 4; i++) {
		if (strcmp(q->level, names[i]) == 0) {
			break;
		}
	}
	if (i == 4) {
		reply_error(r, ARB_EINVAL,
		    "log-level: \"%s\": expected error, warn, info or debug",
		    q->level);
		return;
	}
	// Logged at info under the more verbose of the two levels: after a
	// change to info or debug, before a change to warn or error (so that
	// it leaves a trace unless neither level shows info lines).
	if (ARB_LOG_ERROR + i >= ARB_LOG_INFO) {
		arb_node_set_log_level(ctl->run->node, ARB_LOG_ERROR + i);
	}
	arb_log(NULL, ARB_LOG_INFO, "control", "op=log-level level=%s",
	    names[i]);
	arb_node_set_log_level(ctl->run->node, ARB_LOG_ERROR + i);
	reply_ok(r);
}

// peer_ok is true when the request comes from the node's own user or
// from root.  The directory's permissions already keep others out; this
// also covers a directory someone loosened after the start.
static bool
peer_ok(uint64_t uid, bool known, ctl_reply *r)
{
	if (!known) {
		reply_error(r, ARB_EPERM,
		    "permission denied: cannot read the peer's credentials");
		return false;
	}
	if (uid != (uint64_t) geteuid() && uid != 0) {
		arb_log(NULL, ARB_LOG_WARN, "control_refused", "peer_uid=%llu",
		    (unsigned long long) uid);
		reply_error(r, ARB_EPERM,
		    "permission denied: uid %llu may not control this node "
		    "(only its owner, uid %u, and root may)",
		    (unsigned long long) uid, (unsigned) geteuid());
		return false;
	}
	return true;
}

// reply_oom replaces a reply that could not be packed by a fixed one,
// which needs no memory beyond what reply holds.
static void
reply_oom(arb__buf *reply)
{
	// {ok: false, code: "ARB_ENOMEM", error: "out of memory"}
	static const char oom[] = { '\x83', '\xa2', 'o', 'k', '\xc2', '\xa4',
		'c', 'o', 'd', 'e', '\xaa', 'A', 'R', 'B', '_', 'E', 'N', 'O',
		'M', 'E', 'M', '\xa5', 'e', 'r', 'r', 'o', 'r', '\xad', 'o',
		'u', 't', ' ', 'o', 'f', ' ', 'm', 'e', 'm', 'o', 'r', 'y' };

	arb__buf_reset(reply);
	arb__buf_append(reply, oom, sizeof(oom));
}

// control_handle answers one request (ctl_sock.h); false when the answer
// comes later (a reload, a waited start or restart).
static bool
control_handle(void *arg, const void *req, size_t len, uint64_t uid,
    bool known, arb__buf *reply, unsigned ticket)
{
	arb__control *ctl = arg;
	ctl_reply     r   = { reply, ARB_OK };
	arb__val     *v   = NULL;
	ctl_req       q;
	bool          now = true;
	int           rv;

	if (!peer_ok(uid, known, &r)) {
		goto out;
	}
	if ((rv = arb__val_decode(req, len, &v)) != ARB_OK) {
		reply_error(&r, rv,
		    rv == ARB_ENOMEM ? "out of memory"
		                     : "the request is not msgpack");
	} else if (req_decode(v, &q, &r)) {
		if (strcmp(q.op, "status") == 0) {
			op_status(ctl, &r);
		} else if (strcmp(q.op, "stop") == 0 ||
		    strcmp(q.op, "start") == 0 ||
		    strcmp(q.op, "restart") == 0) {
			now = op_child(ctl, &q, &r, ticket);
		} else if (strcmp(q.op, "start-child") == 0) {
			now = op_start_child(ctl, &q, &r, ticket);
		} else if (strcmp(q.op, "delete-child") == 0) {
			op_delete_child(ctl, &q, &r);
		} else if (strcmp(q.op, "send") == 0) {
			op_send(ctl, &q, &r);
		} else if (strcmp(q.op, "reload") == 0) {
			now = op_reload(ctl, &r, ticket);
		} else if (strcmp(q.op, "log-level") == 0) {
			op_log_level(ctl, &q, &r);
		} else {
			reply_error(&r, ARB_ENOTSUP,
			    "unknown op \"%s\" (status, stop, start, "
			    "restart, start-child, delete-child, send, "
			    "reload, log-level)",
			    q.op);
		}
	}
	arb__free(v);
out:
	if (now && r.rv != ARB_OK) {
		reply_oom(reply);
	}
	return now;
}

// --- Start and stop ---------------------------------------------------------

// control_dir creates the directory of path (0700) when it is missing,
// then checks the path as `arbor check` does (arb__control_path_check).
// Returns 0 or an exit code, after logging why.
static int
control_dir(const char *path)
{
	char        copy[ARB__SOCK_PATH_MAX], why[512];
	const char *dir;
	int         code;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		arb_log(NULL, ARB_LOG_ERROR, "control_unavailable",
		    "path=%s reason=\"cannot create %s: %s\"", path, dir,
		    strerror(errno));
		return ARB_EXIT_CONFIG;
	}
	if ((code = arb__control_path_check(path, why, sizeof(why))) != 0) {
		arb_log(NULL, ARB_LOG_ERROR, "control_unavailable",
		    "path=%s reason=\"%s\"", path, why);
	}
	return code;
}

// control_lock takes PATH.lock (flock, exclusive) so that one node at a
// time owns the socket path.  A second node must learn that the path is
// taken WITHOUT connecting to the socket (a probe would be one more
// refused peer in the running node's log; the SP listener of old went
// deaf for good on one, nanomsg/nng#1518).  Holding the lock, an
// existing socket file is stale and is removed here, so nng never
// probes.  The lock file is checked to be the one locked
// (it is unlinked at stop).  Returns 0, 1 when another node holds it, or
// -1 (errno set).
static int
control_lock(arb__control *ctl)
{
	struct stat a, b;
	int         tries, fd;

	snprintf(ctl->lock, sizeof(ctl->lock), "%s.lock", ctl->path);
	for (tries = 0; tries < 10; tries++) {
		fd = open(ctl->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd < 0) {
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;

			close(fd);
			errno = e;
			return e == EWOULDBLOCK ? 1 : -1;
		}
		if (fstat(fd, &a) == 0 && stat(ctl->lock, &b) == 0
		    && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			ctl->lock_fd = fd;
			return 0;
		}
		close(fd); // unlinked by its previous owner meanwhile: again
	}
	errno = EAGAIN;
	return -1;
}

static void
control_unlock(arb__control *ctl)
{
	if (ctl->lock_fd >= 0) {
		unlink(ctl->lock); // still ours: we hold the lock
		close(ctl->lock_fd);
		ctl->lock_fd = -1;
	}
}

int
arb__control_start(arb__serve *run)
{
	arb__control *ctl;
	char          why[256];
	bool          dflt = run->control == NULL;
	size_t        maxsz;
	int           rv, code;

	ctl = arb__xalloc(sizeof(*ctl));
	ctl->run = run;
	ctl->lock_fd = -1;
	if (dflt) {
		if (arb__control_default(
		        run->name, ctl->path, sizeof(ctl->path))
		    != 0) {
			arb_log(NULL, ARB_LOG_WARN, "control_unavailable",
			    "path=%s reason=\"the default path is too long; "
			    "set node.control\"",
			    ctl->path);
			free(ctl);
			return 0;
		}
	} else {
		snprintf(
		    ctl->path, sizeof(ctl->path), "%s", run->control);
	}
	if ((code = control_dir(ctl->path)) != 0) {
		free(ctl);
		return code;
	}
	if ((rv = control_lock(ctl)) != 0) {
		if (rv == 1 && dflt) {
			// Another node of the same name: it keeps the socket.
			arb_log(NULL, ARB_LOG_WARN, "control_unavailable",
			    "path=%s reason=\"in use by another running node "
			    "named %s; give this node another node.name or "
			    "a node.control path\"",
			    ctl->path, run->name);
			code = 0;
		} else if (rv == 1) {
			// 70, not 78: the other node may be on its way out.
			arb_log(NULL, ARB_LOG_ERROR, "control_unavailable",
			    "path=%s reason=\"in use by another running "
			    "node\"",
			    ctl->path);
			code = ARB_EXIT_SOFTWARE;
		} else {
			arb_log(NULL, ARB_LOG_ERROR, "control_unavailable",
			    "path=%s reason=\"%s: %s\"",
			    ctl->path, ctl->lock, strerror(errno));
			code = ARB_EXIT_CONFIG;
		}
		free(ctl);
		return code;
	}
	if (unlink(ctl->path) == 0) {
		arb_log(NULL, ARB_LOG_INFO, "control_stale_removed", "path=%s",
		    ctl->path);
	}
	maxsz = run->max_msg_size ? run->max_msg_size : 1048576;
	rv = arb__ctlsock_open(&ctl->sock, arb_node_base(run->node), ctl->path,
	    maxsz + CTL_SLACK, control_handle, ctl, why, sizeof(why));
	if (rv != ARB_OK) {
		arb_log(NULL, ARB_LOG_ERROR, "control_unavailable",
		    "path=%s reason=\"%s\"", ctl->path, why);
		control_unlock(ctl);
		free(ctl);
		return ARB_EXIT_SOFTWARE;
	}
	arb_log(NULL, ARB_LOG_INFO, "control_listen", "path=%s", ctl->path);
	run->control_srv = ctl;
	return 0;
}

void
arb__control_stop(arb__serve *run)
{
	arb__control *ctl = run->control_srv;

	if (ctl == NULL) {
		return;
	}
	arb__ctlsock_close(ctl->sock); // also removes the socket file
	control_unlock(ctl);
	free(ctl);
	run->control_srv = NULL;
}
