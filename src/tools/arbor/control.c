// SPDX-License-Identifier: MIT
// control.c -- the control socket of `arbor run`, which `arborctl` talks
// to (SPEC 23, 25): an nng REP socket on ipc://PATH, one msgpack request
// and one msgpack reply per exchange (docs/control.md).
//
// Security is the file system's: the socket lives in a directory only
// the node's user can enter (0700, checked at start: an existing
// directory that group or others can reach, or that another user owns,
// is refused), and the socket itself is 0600.  Every request is also
// checked against the peer's uid (NNG_OPT_IPC_PEER_UID): only the node's
// own user, or root, is served.  HTTP (http.c) is read-only; everything
// that changes the tree goes through here.
//
// The socket's receive fd (NNG_OPT_RECVFD) is watched on the node's own
// loop, so every request runs on the node thread, between two events of
// the supervision tree, and may call every arb_node_* function; requests
// are drained without blocking.  Operations that change the tree are
// asynchronous in the library (they return once queued): the reply says
// the command was accepted, `arborctl` then watches `status` for the
// effect.  Thread: node.

#include "control.h"

#include "paths.h"
#include "treejson.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <libgen.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_PATH_MAX 512         // longest child path accepted in a request
#define CTL_SLACK    (64 * 1024) // request bytes beyond a message body

typedef struct arbor_control {
	arbor_run    *run;
	nng_socket    sock;
	struct event *ev;
	int           lock_fd; // flock on PATH.lock, held while serving
	char          path[ARBOR_SOCK_PATH_MAX];
	char          lock[ARBOR_SOCK_PATH_MAX + 8];
} arbor_control;

// One decoded request: op, path and level are NUL-terminated copies, body
// points into the request message.
typedef struct ctl_req {
	char        op[16];
	char        path[CTL_PATH_MAX];
	char        level[16];
	bool        has_path;
	bool        has_tag;
	uint64_t    tag;
	const char *body;
	size_t      body_len;
} ctl_req;

typedef struct ctl_reply {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
} ctl_reply;

// --- Logging ----------------------------------------------------------------

static void ctl_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_log(const char *level, const char *fmt, ...)
{
	char    line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "arbor[%d]: %s - %s\n", (int) getpid(), level, line);
}

// --- Replies ----------------------------------------------------------------

static void
pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pk_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	pk_str(pk, k);
	pk_str(pk, v);
}

// reply_begin starts a reply map of n entries (ok included) and packs
// ok.
static void
reply_begin(ctl_reply *r, size_t n, bool ok)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&r->pk, n);
	pk_str(&r->pk, "ok");
	if (ok) {
		msgpack_pack_true(&r->pk);
	} else {
		msgpack_pack_false(&r->pk);
	}
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
	pk_kv_str(&r->pk, "code", arb_err_name(err));
	pk_kv_str(&r->pk, "error", text);
}

static void
reply_ok(ctl_reply *r)
{
	reply_begin(r, 1, true);
}

// --- Requests ---------------------------------------------------------------

static bool
obj_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
	    && memcmp(o->via.str.ptr, s, n) == 0;
}

// obj_copy copies a string object into buf; false when it is not a
// string or does not fit.
static bool
obj_copy(const msgpack_object *o, char *buf, size_t len)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= len
	    || memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		return false;
	}
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return true;
}

// req_decode fills q from the request map; on a malformed request it
// writes the error reply and returns false.
static bool
req_decode(const msgpack_object *o, ctl_req *q, ctl_reply *r)
{
	const msgpack_object_kv *kv;
	uint32_t                 i;

	memset(q, 0, sizeof(*q));
	if (o->type != MSGPACK_OBJECT_MAP) {
		reply_error(r, ARB_EBADMSG, "the request is not a map");
		return false;
	}
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (obj_is(&kv->key, "op")) {
			if (!obj_copy(&kv->val, q->op, sizeof(q->op))) {
				reply_error(r, ARB_EBADMSG,
				    "op: not a known "
				    "operation");
				return false;
			}
		} else if (obj_is(&kv->key, "path")) {
			if (!obj_copy(&kv->val, q->path, sizeof(q->path))) {
				reply_error(r, ARB_EBADMSG,
				    "path: not a string of at most %d bytes",
				    CTL_PATH_MAX - 1);
				return false;
			}
			q->has_path = true;
		} else if (obj_is(&kv->key, "level")) {
			if (!obj_copy(&kv->val, q->level, sizeof(q->level))) {
				reply_error(r, ARB_EBADMSG,
				    "level: expected error, warn, info or "
				    "debug");
				return false;
			}
		} else if (obj_is(&kv->key, "tag")) {
			if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
				reply_error(r, ARB_EBADMSG,
				    "tag: not a non-negative integer");
				return false;
			}
			q->tag = kv->val.via.u64;
			q->has_tag = true;
		} else if (obj_is(&kv->key, "body")) {
			if (kv->val.type == MSGPACK_OBJECT_BIN) {
				q->body = kv->val.via.bin.ptr;
				q->body_len = kv->val.via.bin.size;
			} else if (kv->val.type != MSGPACK_OBJECT_NIL) {
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
} find_walk;

static void
find_cb(const arb_child_info *in, void *arg)
{
	find_walk *w = arg;

	if (!w->found && strcmp(in->path, w->path) == 0) {
		w->found = true;
		w->state = in->state;
	}
}

static void
op_status(arbor_control *ctl, ctl_reply *r)
{
	arbor_buf b = { 0 };

	arbor_tree_json(ctl->run, &b);
	reply_begin(r, 2, true);
	pk_str(&r->pk, "json");
	msgpack_pack_str(&r->pk, b.len);
	msgpack_pack_str_body(&r->pk, b.p, b.len);
	arbor_buf_fini(&b);
}

// op_child: stop, start or restart the child at q->path.
static void
op_child(arbor_control *ctl, const ctl_req *q, ctl_reply *r)
{
	arb_node *node = ctl->run->node;
	find_walk w = { q->path, false, ARB_STATE_STOPPED };
	int       rv;

	if (!q->has_path || q->path[0] == '\0') {
		reply_error(r, ARB_EINVAL, "%s: path: missing", q->op);
		return;
	}
	if (strcmp(q->path, "root") == 0) {
		reply_error(r, ARB_EINVAL,
		    "root is the root supervisor: it is not stopped, started "
		    "or restarted on its own; stop the node instead (SIGTERM, "
		    "systemctl stop)");
		return;
	}
	if (strcmp(q->op, "stop") == 0) {
		rv = arb_node_child_stop(node, q->path);
	} else if (strcmp(q->op, "start") == 0) {
		rv = arb_node_child_start(node, q->path);
	} else {
		rv = arb_node_child_restart(node, q->path);
	}
	ctl_log(rv == ARB_OK ? "info" : "warn",
	    "event=control op=%s path=%s result=%s", q->op, q->path,
	    rv == ARB_OK ? "accepted" : arb_err_name(rv));
	switch (rv) {
	case ARB_OK:
		reply_ok(r);
		break;
	case ARB_ENOENT:
		reply_error(r, rv, "no such child: %s", q->path);
		break;
	case ARB_ESTATE:
		arb_node_walk(node, find_cb, &w);
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
}

static void
op_send(arbor_control *ctl, const ctl_req *q, ctl_reply *r)
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
	ctl_log(rv == ARB_OK ? "info" : "warn",
	    "event=control op=send path=%s tag=%u len=%zu result=%s", q->path,
	    (unsigned) q->tag, q->body_len,
	    rv == ARB_OK ? "sent" : arb_err_name(rv));
	if (rv == ARB_OK) {
		reply_ok(r);
	} else if (rv == ARB_ENOENT) {
		reply_error(r, rv, "no such running actor: %s", q->path);
	} else {
		reply_error(
		    r, rv, "cannot send to %s: %s", q->path, arb_strerror(rv));
	}
}

static void
op_reload(arbor_control *ctl, ctl_reply *r)
{
	arbor_errs errs = { 0 };
	size_t     i;
	int        rv;

	rv = arbor_run_reload_logged(ctl->run, &errs, "control");
	if (rv == ARB_OK) {
		reply_begin(r, 2, true);
		pk_str(&r->pk, "reloads");
		msgpack_pack_unsigned_int(&r->pk, ctl->run->reloads);
	} else {
		char text[1024];

		if (rv == ARB_ESPEC) {
			snprintf(text, sizeof(text),
			    "%s: %zu problem%s: reload rejected, the running "
			    "tree is unchanged",
			    ctl->run->file, errs.n, errs.n == 1 ? "" : "s");
		} else {
			snprintf(text, sizeof(text),
			    "reload of %s not applied: %s", ctl->run->file,
			    arb_strerror(rv));
		}
		reply_begin(r, 4, false);
		pk_kv_str(&r->pk, "code", arb_err_name(rv));
		pk_kv_str(&r->pk, "error", text);
		pk_str(&r->pk, "problems");
		msgpack_pack_array(&r->pk, errs.n);
		for (i = 0; i < errs.n; i++) {
			pk_str(&r->pk, errs.v[i].text);
		}
	}
	arbor_errs_fini(&errs);
}

static void
op_log_level(const arbor_control *ctl, const ctl_req *q, ctl_reply *r)
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
	// Logged before the change, so that even "error" leaves a trace.
	ctl_log("info", "event=control op=log-level level=%s", names[i]);
	arb_node_set_log_level(ctl->run->node, ARB_LOG_ERROR + i);
	reply_ok(r);
}

// peer_ok is true when the request comes from the node's own user or
// from root.  The directory's permissions already keep others out; this
// also covers a directory someone loosened after the start.
static bool
peer_ok(nng_msg *msg, ctl_reply *r)
{
	nng_pipe p = nng_msg_get_pipe(msg);
	uint64_t uid;
	int      rv;

	if ((rv = nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid)) != 0) {
		reply_error(r, ARB_EPERM,
		    "permission denied: cannot read the peer's credentials "
		    "(%s)",
		    nng_strerror(rv));
		return false;
	}
	if (uid != (uint64_t) geteuid() && uid != 0) {
		ctl_log("warn", "event=control_refused peer_uid=%llu",
		    (unsigned long long) uid);
		reply_error(r, ARB_EPERM,
		    "permission denied: uid %llu may not control this node "
		    "(only its owner, uid %u, and root may)",
		    (unsigned long long) uid, (unsigned) geteuid());
		return false;
	}
	return true;
}

static void
control_handle(arbor_control *ctl, nng_msg *msg, ctl_reply *r)
{
	msgpack_unpacked up;
	ctl_req          q;
	size_t           off = 0;

	if (!peer_ok(msg, r)) {
		return;
	}
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, nng_msg_body(msg), nng_msg_len(msg), &off)
	    != MSGPACK_UNPACK_SUCCESS) {
		reply_error(r, ARB_EBADMSG, "the request is not msgpack");
	} else if (req_decode(&up.data, &q, r)) {
		if (strcmp(q.op, "status") == 0) {
			op_status(ctl, r);
		} else if (strcmp(q.op, "stop") == 0
		    || strcmp(q.op, "start") == 0
		    || strcmp(q.op, "restart") == 0) {
			op_child(ctl, &q, r);
		} else if (strcmp(q.op, "send") == 0) {
			op_send(ctl, &q, r);
		} else if (strcmp(q.op, "reload") == 0) {
			op_reload(ctl, r);
		} else if (strcmp(q.op, "log-level") == 0) {
			op_log_level(ctl, &q, r);
		} else {
			reply_error(r, ARB_ENOTSUP,
			    "unknown op \"%s\" (status, stop, start, restart, "
			    "send, reload, log-level)",
			    q.op);
		}
	}
	msgpack_unpacked_destroy(&up);
}

// control_cb drains every request that is ready; each is answered before
// the next is read (REP).  A reply that can't be sent at once is dropped:
// the client times out rather than the node thread blocking.
static void
control_cb(evutil_socket_t fd, short what, void *arg)
{
	arbor_control *ctl = arg;
	ctl_reply      r;
	nng_msg       *msg;
	int            rv;

	(void) fd;
	(void) what;
	for (;;) {
		rv = nng_recvmsg(ctl->sock, &msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN) {
			return;
		}
		if (rv != 0) {
			ctl_log("error",
			    "event=control_error op=recv error=\"%s\"",
			    nng_strerror(rv));
			return;
		}
		control_handle(ctl, msg, &r);
		nng_msg_clear(msg);
		if ((rv = nng_msg_append(msg, r.sb.data, r.sb.size)) != 0
		    || (rv = nng_sendmsg(ctl->sock, msg, NNG_FLAG_NONBLOCK))
		        != 0) {
			ctl_log("warn",
			    "event=control_error op=reply error=\"%s\"",
			    nng_strerror(rv));
			nng_msg_free(msg);
		}
		msgpack_sbuffer_destroy(&r.sb);
	}
}

// --- Start and stop ---------------------------------------------------------

// control_dir makes sure the directory of path is private: created 0700
// when missing; refused when it is not a directory, belongs to another
// user, or group or others may enter it.  Returns 0 or an exit code.
static int
control_dir(const char *path)
{
	char        copy[ARBOR_SOCK_PATH_MAX];
	const char *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"cannot create "
		    "%s: %s\"",
		    path, dir, strerror(errno));
		return ARB_EXIT_CONFIG;
	}
	if (lstat(dir, &st) != 0) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"%s: %s\"",
		    path, dir, strerror(errno));
		return ARB_EXIT_CONFIG;
	}
	if (!S_ISDIR(st.st_mode)) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"%s is not a "
		    "directory (a symbolic link is refused)\"",
		    path, dir);
		return ARB_EXIT_CONFIG;
	}
	if (st.st_uid != geteuid()) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"%s belongs to "
		    "uid %u, not to this node's uid %u\"",
		    path, dir, (unsigned) st.st_uid, (unsigned) geteuid());
		return ARB_EXIT_CONFIG;
	}
	if ((st.st_mode & 077) != 0) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"%s has mode "
		    "%04o: group and others must have no access (chmod 700 "
		    "%s, or use a private directory)\"",
		    path, dir, (unsigned) (st.st_mode & 07777), dir);
		return ARB_EXIT_CONFIG;
	}
	return 0;
}

// control_lock takes PATH.lock (flock, exclusive) so that one node at a
// time owns the socket path.  A second node must learn that the path is
// taken WITHOUT connecting to the socket: nng 1.5.2's listener stops
// accepting for good when a peer disconnects during the SP handshake
// (nanomsg/nng#1518, fixed after 1.5.2), which is exactly what nng's own
// stale-socket probe, or any connect-and-close, does to a running node.
// Holding the lock, an existing socket file is stale and is removed here,
// so nng never probes.  The lock file is checked to be the one locked
// (it is unlinked at stop).  Returns 0, 1 when another node holds it, or
// -1 (errno set).
static int
control_lock(arbor_control *ctl)
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
control_unlock(arbor_control *ctl)
{
	if (ctl->lock_fd >= 0) {
		unlink(ctl->lock); // still ours: we hold the lock
		close(ctl->lock_fd);
		ctl->lock_fd = -1;
	}
}

int
arbor_control_start(arbor_run *run)
{
	arbor_control *ctl;
	nng_listener   l;
	struct stat    st;
	char           url[ARBOR_SOCK_PATH_MAX + 8];
	bool           dflt = run->cfg->control == NULL;
	size_t         maxsz;
	int            rv, fd, code;

	ctl = arbor_xalloc(sizeof(*ctl));
	ctl->run = run;
	ctl->lock_fd = -1;
	if (dflt) {
		if (arbor_control_default(
		        run->cfg->name, ctl->path, sizeof(ctl->path))
		    != 0) {
			ctl_log("warn",
			    "event=control_unavailable path=%s reason=\"the "
			    "default path is too long; set node.control\"",
			    ctl->path);
			free(ctl);
			return 0;
		}
	} else {
		snprintf(
		    ctl->path, sizeof(ctl->path), "%s", run->cfg->control);
	}
	if ((code = control_dir(ctl->path)) != 0) {
		free(ctl);
		return code;
	}
	// Never remove a file that is not a socket (a typo in node.control).
	if (lstat(ctl->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"the "
		    "path exists and is not a socket\"",
		    ctl->path);
		free(ctl);
		return ARB_EXIT_CONFIG;
	}
	if ((rv = control_lock(ctl)) != 0) {
		if (rv == 1 && dflt) {
			// Another node of the same name: it keeps the socket.
			ctl_log("warn",
			    "event=control_unavailable path=%s "
			    "reason=\"in use by another running node named "
			    "%s; give this node another node.name or a "
			    "node.control path\"",
			    ctl->path, run->cfg->name);
			code = 0;
		} else if (rv == 1) {
			// 70, not 78: the other node may be on its way out.
			ctl_log("error",
			    "event=control_unavailable path=%s "
			    "reason=\"in use by another running node\"",
			    ctl->path);
			code = ARB_EXIT_SOFTWARE;
		} else {
			ctl_log("error",
			    "event=control_unavailable path=%s reason=\"%s: "
			    "%s\"",
			    ctl->path, ctl->lock, strerror(errno));
			code = ARB_EXIT_CONFIG;
		}
		free(ctl);
		return code;
	}
	if (unlink(ctl->path) == 0) {
		ctl_log(
		    "info", "event=control_stale_removed path=%s", ctl->path);
	}
	snprintf(url, sizeof(url), "ipc://%s", ctl->path);
	maxsz = run->cfg->max_msg_size ? run->cfg->max_msg_size : 1048576;
	if ((rv = nng_rep0_open(&ctl->sock)) != 0) {
		ctl_log("error", "event=control_unavailable reason=\"%s\"",
		    nng_strerror(rv));
		control_unlock(ctl);
		free(ctl);
		return ARB_EXIT_SOFTWARE;
	}
	if ((rv = nng_socket_set_size(
	         ctl->sock, NNG_OPT_RECVMAXSZ, maxsz + CTL_SLACK))
	        != 0
	    || (rv = nng_listener_create(&l, ctl->sock, url)) != 0
	    || (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600))
	        != 0
	    || (rv = nng_listener_start(l, 0)) != 0) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"%s\"",
		    ctl->path, nng_strerror(rv));
		nng_close(ctl->sock);
		control_unlock(ctl);
		free(ctl);
		return ARB_EXIT_SOFTWARE;
	}
	// nng made it 0600 between bind and listen; the directory kept
	// everybody else out meanwhile.  Check rather than trust.
	if (chmod(ctl->path, 0600) != 0 || stat(ctl->path, &st) != 0
	    || (st.st_mode & 077) != 0) {
		ctl_log("error",
		    "event=control_unavailable path=%s reason=\"cannot make "
		    "the socket 0600\"",
		    ctl->path);
		nng_close(ctl->sock);
		control_unlock(ctl);
		free(ctl);
		return ARB_EXIT_SOFTWARE;
	}
	if ((rv = nng_socket_get_int(ctl->sock, NNG_OPT_RECVFD, &fd)) != 0
	    || (ctl->ev = event_new(arb_node_base(run->node), fd,
	            EV_READ | EV_PERSIST, control_cb, ctl))
	        == NULL
	    || event_add(ctl->ev, NULL) != 0) {
		ctl_log("error",
		    "event=control_unavailable path=%s "
		    "reason=\"cannot watch the socket\"",
		    ctl->path);
		if (ctl->ev != NULL) {
			event_free(ctl->ev);
		}
		nng_close(ctl->sock);
		control_unlock(ctl);
		free(ctl);
		return ARB_EXIT_SOFTWARE;
	}
	ctl_log("info", "event=control_listen path=%s", ctl->path);
	run->control = ctl;
	return 0;
}

void
arbor_control_stop(arbor_run *run)
{
	arbor_control *ctl = run->control;

	if (ctl == NULL) {
		return;
	}
	event_free(ctl->ev);
	nng_close(ctl->sock); // also removes the socket file
	control_unlock(ctl);
	free(ctl);
	run->control = NULL;
}
