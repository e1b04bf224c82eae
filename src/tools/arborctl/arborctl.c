// SPDX-License-Identifier: MIT
// arborctl.c -- the operator's command line for a running `arbor run`
// node (SPEC 23, 25): show the live tree, stop / start / restart a
// child, send it a message, reload the tree file, change the log level.
//
// It talks to the node's control socket (docs/control.md): arbor's link
// protocol on ipc://PATH (linkc.c), one msgpack request, one msgpack
// reply.  The
// node answers start / restart once the child runs or its start failed
// (with the child's reason, as OTP's restart_child answers); it queues a
// stop and answers at once, and arborctl then re-reads the tree until
// the child is stopped (or --timeout passes).  --no-wait returns once the
// command is queued.  Exit codes follow sysexits.h: 0 done, 1 the node
// refused (no such child, wrong state) or the child's start failed, 64
// usage, 69 no node running, 75 still not done at the deadline, 77
// permission denied, 78 an invalid tree file on reload.
// Single-threaded.

#include "json.h"
#include "linkc.h"
#include "paths.h"

#include <errno.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EX_OK          0
#define EX_REFUSED     1
#define EX_USAGE       64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_TEMPFAIL    75
#define EX_NOPERM      77
#define EX_CONFIG      78

#define POLL_MS 50 // between two looks at the tree while waiting
// A retry or another look is made only with at least this much of the
// timeout left for its exchange, so the command ends with what it last
// heard (busy, not done yet), not with a lost exchange (no answer).
#define EXCHANGE_MIN_MS 500

static const char usage_text[]
    = "usage: arborctl [--socket PATH | --node NAME] [--timeout SECONDS] "
      "COMMAND ...\n"
      "\n"
      "commands:\n"
      "  status [--json]         the live tree: state, pid, uptime, "
      "restarts,\n"
      "                          last exit, message counters\n"
      "  stop PATH               stop a child and keep it stopped\n"
      "  start PATH              start a stopped (or ignored) child\n"
      "  restart PATH            stop a child and start it again\n"
      "  start-child SUP [ARG]   add a child: a pool's (ARG: JSON init "
      "argument),\n"
      "                          a static supervisor's (ARG: child spec)\n"
      "  delete-child PATH       remove a stopped child from its "
      "supervisor\n"
      "  send PATH[@NODE] TAG JSON  send a message (JSON becomes its "
      "msgpack body)\n"
      "  reload                  re-read the tree file and apply the changes\n"
      "  log-level LEVEL         error | warn | info | debug\n"
      "  peers                   the nodes this one links to: state,\n"
      "                          incarnation, round trip, last heartbeat\n"
      "\n"
      "options:\n"
      "  --socket PATH   the node's control socket (default: $ARBOR_SOCKET, "
      "else\n"
      "                  the default path of node NAME)\n"
      "  --node NAME     node.name of the node (default: arbor): its socket "
      "is\n"
      "                  $XDG_RUNTIME_DIR/arbor/NAME.sock or "
      "/tmp/arbor-UID/NAME.sock\n"
      "  --timeout SEC   how long to wait for the node (default 10); "
      "given, it\n"
      "                  also waits for a node that is starting up\n"
      "  --help          this text; COMMAND --help: the command's own\n"
      "\n"
      "exit status: 0 done, 1 refused by the node (no such child, wrong "
      "state),\n"
      "64 usage, 69 no node running, 75 not done within the timeout, 77 "
      "permission\n"
      "denied, 78 invalid tree file (reload).  Arguments are checked "
      "before the\n"
      "node is asked: a usage error is 64 whether a node runs or not.\n";

static const struct {
	const char *cmd;
	const char *help;
} cmd_help[] = {
	{ "status",
	    "usage: arborctl status [--json]\n"
	    "\n"
	    "Prints the live tree, one line per child, indented by depth:\n"
	    "path, type, isolation, state (starting, running, restarting in\n"
	    "Xs, stopping, stopped, ignored), OS pid or \"thread\", uptime,\n"
	    "restart count, messages in/out, dead letters, rejected frames\n"
	    "and the last exit reason.  Message counters are the actor's "
	    "last\n"
	    "heartbeat snapshot; arbor has no exact mailbox depth.  --json\n"
	    "prints the node's tree document instead (the same as HTTP\n"
	    "/api/tree, see docs/operations.md).\n" },
	{ "stop",
	    "usage: arborctl stop [--no-wait] PATH\n"
	    "\n"
	    "Stops the child at PATH (e.g. root/uplink/tick) within its\n"
	    "shutdown time and keeps its spec: it is not restarted until\n"
	    "`arborctl start PATH` (OTP terminate_child).  Waits until it is\n"
	    "stopped unless --no-wait.\n" },
	{ "start",
	    "usage: arborctl start [--no-wait] PATH\n"
	    "\n"
	    "Starts a stopped or ignored child (OTP restart_child).  Waits\n"
	    "until it runs unless --no-wait.  A start that fails exits 1 at\n"
	    "once with the child's reason; the child stays stopped and the\n"
	    "failure does not count toward its supervisor's intensity.\n" },
	{ "restart",
	    "usage: arborctl restart [--no-wait] PATH\n"
	    "\n"
	    "Stops the child at PATH and starts it again.  Waits until the "
	    "new\n"
	    "incarnation runs unless --no-wait.  A start that fails exits 1\n"
	    "at once with the child's reason; the child stays stopped.\n" },
	{ "start-child",
	    "usage: arborctl start-child SUPPATH [ARG]\n"
	    "\n"
	    "Adds a child to the supervisor at SUPPATH and starts it (OTP\n"
	    "start_child).  A simple_one_for_one supervisor: its template's\n"
	    "init gets ARG, JSON converted to msgpack (an empty argument\n"
	    "without ARG); `arborctl stop PATH` of such a child stops and\n"
	    "deletes it.  A static supervisor: ARG is the child's spec, YAML\n"
	    "or JSON, as a child in the tree file, checked the same way\n"
	    "(problems as spec:LINE:COLUMN: ..., exit 78); a reload of the\n"
	    "tree file drops it again unless the file has it.  Prints the\n"
	    "new child's path once it runs; a start that fails exits 1 with\n"
	    "the child's reason and adds nothing.  ARG must be UTF-8 text:\n"
	    "other bytes are refused (exit 64), at their offset in ARG.  A\n"
	    "simple_one_for_one pool that runs on another node (node: in\n"
	    "the tree file) is asked through that node's agent: prints the\n"
	    "child's path there with @NODE (what send takes); no answer\n"
	    "within the pool's start_timeout, or that node lost, exits 1\n"
	    "saying so.  Any other supervisor there is refused, exit 1.\n"
	    "  arborctl start-child root/pool '{\"port\": 7}'\n"
	    "  arborctl start-child root '{name: e2, type: echo}'\n" },
	{ "delete-child",
	    "usage: arborctl delete-child PATH\n"
	    "\n"
	    "Removes the stopped child at PATH from its supervisor's spec\n"
	    "(OTP delete_child): stop it first.  Until a reload of the tree\n"
	    "file, which applies the file again.\n" },
	{ "send",
	    "usage: arborctl send PATH TAG JSON\n"
	    "\n"
	    "Sends one message from the node to the actor at PATH: TAG is an\n"
	    "integer below 0xFFFF0000 (decimal or 0x...), JSON any JSON "
	    "value,\n"
	    "converted to msgpack for the body (objects become maps, "
	    "integers\n"
	    "integers, other numbers floats).  Its strings must be UTF-8:\n"
	    "other bytes are refused (exit 64), at their offset in JSON.\n"
	    "PATH@NODE is the actor at PATH (or registered as PATH) on the\n"
	    "peer node NODE, resolved there.\n"
	    "Examples:\n"
	    "  arborctl send root/echo 1 '{\"cmd\": \"ping\", \"n\": 3}'\n"
	    "  arborctl send root/sink@central 1 '\"hello\"'\n" },
	{ "reload",
	    "usage: arborctl reload\n"
	    "\n"
	    "Re-reads the node's tree file and applies it as a diff, as "
	    "SIGHUP\n"
	    "does: added children start, removed ones stop, changed ones\n"
	    "restart, the others keep running.  An invalid file is rejected:\n"
	    "every problem is printed as FILE:LINE:COLUMN: field: ..., the\n"
	    "tree is unchanged and the exit status is 78.\n" },
	{ "peers",
	    "usage: arborctl peers\n"
	    "\n"
	    "Prints where the node listens for other nodes and, one line per\n"
	    "peer of its tree file (node.peers): its name and URL, the\n"
	    "link's state (up, connecting, down), the peer's incarnation (a\n"
	    "new one after each restart of it; - never seen), the last\n"
	    "heartbeat's round trip, how long ago the last heartbeat was\n"
	    "answered, and how often the link came up and was lost.  The\n"
	    "same figures are in `arborctl status --json` and HTTP /api/tree\n"
	    "(\"listen\", \"peers\"; docs/operations.md).\n" },
	{ "log-level",
	    "usage: arborctl log-level LEVEL\n"
	    "\n"
	    "Sets the node's log level at once: error, warn, info or debug.\n"
	    "Process actors started afterwards inherit it.\n" },
};

typedef struct ctl {
	const char *sock_path;
	int         timeout_ms;
	char        timeout_txt[24]; // timeout_ms as said: "10 s", "0.5 s"
	int64_t     deadline;  // now_ms() + timeout_ms at the command's start
	bool        wait_node; // --timeout given: wait for a starting node
	linkc      *link;
	const char *awaited; // "start PATH": the node answers when it is done
} ctl;

// A reply: the unpacked map (its strings point into buf) and its fields.
typedef struct reply {
	char                 *buf;
	size_t                len;
	msgpack_unpacked      up;
	bool                  ok;
	char                  code[32];
	char                  error[1024];
	const msgpack_object *data; // the whole map
} reply;

// --- Small helpers ----------------------------------------------------------

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// left_ms is what remains of the command's --timeout (at least 1 ms: a
// last exchange may still be tried).
static int
left_ms(const ctl *c)
{
	int64_t left = c->deadline - now_ms();

	return left < 1 ? 1 : (int) left;
}

// time_for_another: a pause and one more exchange fit before the
// command's deadline.
static bool
time_for_another(const ctl *c)
{
	return now_ms() + POLL_MS + EXCHANGE_MIN_MS <= c->deadline;
}

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "arborctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(arborctl --help for usage)\n");
	return EX_USAGE;
}

static const char *
help_for(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmd_help) / sizeof(cmd_help[0]); i++) {
		if (strcmp(cmd_help[i].cmd, cmd) == 0) {
			return cmd_help[i].help;
		}
	}
	return NULL;
}

// --- msgpack objects --------------------------------------------------------

static const msgpack_object *
mp_get(const msgpack_object *map, const char *key)
{
	size_t   n = strlen(key);
	uint32_t i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
		return NULL;
	}
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
		    && memcmp(k->via.str.ptr, key, n) == 0) {
			return &map->via.map.ptr[i].val;
		}
	}
	return NULL;
}

// mp_str copies the string under key into buf ("" when absent or not a
// string) and returns buf.
static const char *
mp_str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
	const msgpack_object *o = mp_get(map, key);

	if (o != NULL && o->type == MSGPACK_OBJECT_STR) {
		snprintf(
		    buf, len, "%.*s", (int) o->via.str.size, o->via.str.ptr);
	} else {
		snprintf(buf, len, "%s", "");
	}
	return buf;
}

static int64_t
mp_int(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = mp_get(map, key);

	if (o == NULL) {
		return 0;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return o->via.u64 > INT64_MAX ? INT64_MAX
		                              : (int64_t) o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return o->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return (int64_t) o->via.f64;
	default:
		return 0;
	}
}

static bool
mp_bool(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = mp_get(map, key);

	return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN
	    && o->via.boolean;
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

// --- Talking to the node ----------------------------------------------------

// ctl_try_open connects to the socket once.  Returns 0 or an exit code
// with its message in msg; *absent: no node listens there (yet): no
// socket, or one nobody accepts on (a stale one).
static int
ctl_try_open(ctl *c, char *msg, size_t len, bool *absent)
{
	struct stat st;
	char        url[ARB__SOCK_PATH_MAX + 8];
	int         rv;

	*absent = false;
	if (stat(c->sock_path, &st) != 0) {
		if (errno == EACCES) {
			snprintf(msg, len,
			    "cannot connect to %s: permission denied (the "
			    "node's directory is private to its user)",
			    c->sock_path);
			return EX_NOPERM;
		}
		*absent = true;
		snprintf(msg, len, "cannot connect to %s: no node running",
		    c->sock_path);
		return EX_UNAVAILABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		// A directory or a file: no node could listen there (nng
		// would say "connection refused", read as a stale socket).
		snprintf(msg, len,
		    "cannot connect to %s: not a socket (a node's control "
		    "socket is)",
		    c->sock_path);
		return EX_UNAVAILABLE;
	}
	snprintf(url, sizeof(url), "ipc://%s", c->sock_path);
	if ((rv = linkc_open(&c->link, url, left_ms(c))) != 0) {
		if (rv == NNG_EPERM) {
			snprintf(msg, len,
			    "cannot connect to %s: permission denied",
			    c->sock_path);
			return EX_NOPERM;
		}
		if (rv == NNG_ECONNREFUSED || rv == NNG_ENOENT) {
			*absent = true;
			snprintf(msg, len,
			    "cannot connect to %s: no node running%s",
			    c->sock_path,
			    rv == NNG_ECONNREFUSED ? " (stale socket)" : "");
			return EX_UNAVAILABLE;
		}
		if (rv == NNG_EPROTO) {
			snprintf(msg, len,
			    "%s: not an arbor control socket (unexpected "
			    "reply; or another version of its protocol)",
			    c->sock_path);
			return EX_UNAVAILABLE;
		}
		if (rv == NNG_ECONNSHUT || rv == NNG_ECONNRESET) {
			snprintf(msg, len,
			    "%s: took the connection and closed it without "
			    "a reply (not an arbor control socket, or a node "
			    "that is stopping?)",
			    c->sock_path);
			return EX_UNAVAILABLE;
		}
		if (rv == NNG_ETIMEDOUT) {
			// The socket took the connection (a listener is
			// there) but nothing answered: not "cannot connect".
			snprintf(msg, len,
			    "%s: the node took the connection but did not "
			    "answer within %s (is it stopped or hung?)",
			    c->sock_path, c->timeout_txt);
			return EX_UNAVAILABLE;
		}
		snprintf(msg, len, "cannot connect to %s: %s", c->sock_path,
		    nng_strerror(rv));
		return EX_UNAVAILABLE;
	}
	return 0;
}

// ctl_open connects to the socket.  With --timeout given, a node not
// (yet) listening there is waited for until the timeout (a node that
// is starting up); without, that is an error at once.  Returns 0 or an
// exit code (after a message).
static int
ctl_open(ctl *c)
{
	char msg[ARB__SOCK_PATH_MAX + 160];
	bool absent, waited = false;
	int  code;

	while ((code = ctl_try_open(c, msg, sizeof(msg), &absent)) != 0
	    && absent && c->wait_node && time_for_another(c)) {
		if (!waited) {
			fprintf(stderr,
			    "arborctl: no node at %s yet: waiting for it "
			    "(--timeout %s)\n",
			    c->sock_path, c->timeout_txt);
			waited = true;
		}
		pause_ms(POLL_MS);
	}
	if (code != 0) {
		fprintf(stderr, "arborctl: %s%s\n", msg,
		    waited ? " (none came up within the timeout)" : "");
	}
	return code;
}

static void
ctl_close(ctl *c)
{
	linkc_close(c->link);
	c->link = NULL;
}

// reply_fini releases r.  Calling it twice is a harmless no-op.
static void
reply_fini(reply *r)
{
	msgpack_unpacked_destroy(&r->up);
	msgpack_unpacked_init(&r->up);
	free(r->buf);
	r->buf = NULL;
}

// ctl_call sends the request in sb and reads the reply into r (release
// it with reply_fini).  Returns 0 or an exit code (after a message).
static int
ctl_call(ctl *c, const msgpack_sbuffer *sb, reply *r)
{
	uint8_t *buf = NULL;
	size_t   len = 0, off = 0;
	int      rv;

	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&r->up);
	// After a failed exchange the connection is dropped (a late reply
	// must not answer the next request): connect again.
	if (c->link == NULL && (rv = ctl_open(c)) != 0) {
		return rv;
	}
	if ((rv = linkc_call(
	         c->link, sb->data, sb->size, &buf, &len, left_ms(c)))
	    != 0) {
		ctl_close(c);
		if (rv == NNG_ETIMEDOUT && c->awaited != NULL) {
			fprintf(stderr,
			    "arborctl: %s requested, but not done after %s "
			    "(the start is still under way)\n",
			    c->awaited, c->timeout_txt);
			return EX_TEMPFAIL;
		}
		if (rv == NNG_ETIMEDOUT) {
			fprintf(stderr,
			    "arborctl: %s: no answer within %s "
			    "(is the node stopping?)\n",
			    c->sock_path, c->timeout_txt);
		} else {
			fprintf(stderr, "arborctl: %s: %s\n", c->sock_path,
			    nng_strerror(rv));
		}
		return EX_UNAVAILABLE;
	}
	r->buf = (char *) buf;
	r->len = len;
	if (msgpack_unpack_next(&r->up, r->buf, len, &off)
	        != MSGPACK_UNPACK_SUCCESS
	    || r->up.data.type != MSGPACK_OBJECT_MAP) {
		fprintf(
		    stderr, "arborctl: %s: malformed reply\n", c->sock_path);
		reply_fini(r);
		return EX_SOFTWARE;
	}
	r->data = &r->up.data;
	r->ok = mp_bool(r->data, "ok");
	mp_str(r->data, "code", r->code, sizeof(r->code));
	mp_str(r->data, "error", r->error, sizeof(r->error));
	return 0;
}

// request packs {op, path?} (extra entries are added by the caller,
// which states their number in extra).
static void
request_begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *op,
    const char *path, size_t extra)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, 1 + (path != NULL) + extra);
	pk_str(pk, "op");
	pk_str(pk, op);
	if (path != NULL) {
		pk_str(pk, "path");
		pk_str(pk, path);
	}
}

// refused prints the node's error and maps its code to an exit status.
static int
refused(const reply *r)
{
	fprintf(stderr, "arborctl: %s\n", r->error[0] ? r->error : r->code);
	if (strcmp(r->code, "ARB_EPERM") == 0) {
		return EX_NOPERM;
	}
	if (strcmp(r->code, "ARB_EAGAIN") == 0) {
		return EX_TEMPFAIL;
	}
	if (strcmp(r->code, "ARB_ESPEC") == 0) {
		return EX_CONFIG;
	}
	return EX_REFUSED;
}

// call_retry is ctl_call that retries, until the timeout, a request the
// node answered with ARB_EAGAIN (its tree is busy with a restart, a
// reload or another command: nothing was done).
static int
call_retry(ctl *c, const msgpack_sbuffer *sb, reply *r)
{
	int code;

	for (;;) {
		if ((code = ctl_call(c, sb, r)) != 0) {
			return code;
		}
		if (r->ok || strcmp(r->code, "ARB_EAGAIN") != 0
		    || !time_for_another(c)) {
			return 0;
		}
		reply_fini(r);
		pause_ms(POLL_MS);
	}
}

// call_and_say sends the request in sb (and frees it), through call_retry
// when retry is set, and prints done if the node did it.  Returns 0 or an
// exit code.
static int
call_and_say(ctl *c, msgpack_sbuffer *sb, bool retry, const char *done)
{
	reply r;
	int   code;

	code = retry ? call_retry(c, sb, &r) : ctl_call(c, sb, &r);
	msgpack_sbuffer_destroy(sb);
	if (code != 0) {
		return code;
	}
	if (!r.ok) {
		code = refused(&r);
	} else {
		printf("%s\n", done);
	}
	reply_fini(&r);
	return code;
}

// --- The tree document ------------------------------------------------------

// The node's tree document, converted to msgpack (u's strings point into
// doc) and, for --json, as text.
typedef struct tree {
	msgpack_sbuffer  doc;
	msgpack_unpacked u;
	char            *json;
} tree;

static void
tree_fini(tree *t)
{
	msgpack_unpacked_destroy(&t->u);
	msgpack_sbuffer_destroy(&t->doc);
	free(t->json);
	t->json = NULL;
}

// tree_fetch asks for status and converts the JSON document to msgpack
// in t (release with tree_fini; only on success).  Returns 0 or an exit
// code.
static int
tree_fetch(ctl *c, tree *t)
{
	msgpack_sbuffer       sb;
	msgpack_packer        pk;
	reply                 r;
	const msgpack_object *o;
	char                  err[200];
	size_t                off = 0;
	int                   code;

	request_begin(&sb, &pk, "status", NULL, 0);
	code = ctl_call(c, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (code != 0) {
		return code;
	}
	if (!r.ok) {
		code = refused(&r);
		reply_fini(&r);
		return code;
	}
	if ((o = mp_get(r.data, "json")) == NULL
	    || o->type != MSGPACK_OBJECT_STR) {
		fprintf(stderr, "arborctl: malformed status reply\n");
		reply_fini(&r);
		return EX_SOFTWARE;
	}
	msgpack_sbuffer_init(&t->doc);
	msgpack_unpacked_init(&t->u);
	t->json = NULL;
	// The node writes its JSON as UTF-8 (bytes that are not become
	// U+FFFD there): a document that is not is malformed.
	if (json_to_msgpack(o->via.str.ptr, o->via.str.size, &t->doc,
	        JSON_UTF8, err, sizeof(err))
	        != 0
	    || msgpack_unpack_next(&t->u, t->doc.data, t->doc.size, &off)
	        != MSGPACK_UNPACK_SUCCESS
	    || (t->json = strndup(o->via.str.ptr, o->via.str.size)) == NULL) {
		fprintf(
		    stderr, "arborctl: malformed tree document: %s\n", err);
		tree_fini(t);
		reply_fini(&r);
		return EX_SOFTWARE;
	}
	reply_fini(&r);
	return 0;
}

// tree_find returns the entry at path in the (sub)tree t, or NULL.
static const msgpack_object *
tree_find(const msgpack_object *t, const char *path)
{
	const msgpack_object *kids, *hit;
	char                  p[512];
	uint32_t              i;

	if (t == NULL || t->type != MSGPACK_OBJECT_MAP) {
		return NULL;
	}
	if (strcmp(mp_str(t, "path", p, sizeof(p)), path) == 0) {
		return t;
	}
	kids = mp_get(t, "children");
	if (kids == NULL || kids->type != MSGPACK_OBJECT_ARRAY) {
		return NULL;
	}
	for (i = 0; i < kids->via.array.size; i++) {
		if ((hit = tree_find(&kids->via.array.ptr[i], path)) != NULL) {
			return hit;
		}
	}
	return NULL;
}

static void
fmt_dur(char *buf, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 1000) {
		snprintf(buf, len, "%lldms", (long long) ms);
	} else if (s < 60) {
		snprintf(buf, len, "%.1fs", (double) ms / 1000.0);
	} else if (s < 3600) {
		snprintf(buf, len, "%lldm%02llds", (long long) (s / 60),
		    (long long) (s % 60));
	} else if (s < 86400) {
		snprintf(buf, len, "%lldh%02lldm", (long long) (s / 3600),
		    (long long) (s % 3600 / 60));
	} else {
		snprintf(buf, len, "%lldd%02lldh", (long long) (s / 86400),
		    (long long) (s % 86400 / 3600));
	}
}

static void
fmt_pid(char *buf, size_t len, const msgpack_object *e)
{
	char iso[32];

	mp_str(e, "isolation", iso, sizeof(iso));
	if (strcmp(iso, "thread") == 0) {
		snprintf(buf, len, "thread");
	} else if (strcmp(iso, "supervisor") == 0 || mp_int(e, "ospid") <= 0) {
		snprintf(buf, len, "-");
	} else {
		snprintf(buf, len, "%lld", (long long) mp_int(e, "ospid"));
	}
}

static void
fmt_state(char *buf, size_t len, const msgpack_object *e)
{
	char st[32], d[32];

	mp_str(e, "state", st, sizeof(st));
	if (strcmp(st, "restarting") == 0) {
		fmt_dur(d, sizeof(d), mp_int(e, "next_attempt_in_ms"));
		snprintf(buf, len, "restarting in %s", d);
	} else {
		snprintf(buf, len, "%s", st);
	}
}

// --- status -----------------------------------------------------------------

enum {
	COL_PATH,
	COL_TYPE,
	COL_ISO,
	COL_STATE,
	COL_PID,
	COL_UP,
	COL_RST,
	COL_IO,
	COL_PUB,
	COL_DEAD,
	COL_REJ,
	COL_EXIT,
	NCOLS
};

static const char *const col_names[NCOLS]
    = { "PATH", "TYPE", "ISOLATION", "STATE", "PID", "UPTIME", "RESTARTS",
	      "MSGS IN/OUT", "PUB/UNHEARD", "DEAD", "REJECTED", "LAST EXIT" };

typedef struct table {
	char (*cells)[NCOLS][160];
	size_t n;
	size_t cap;
	int    width[NCOLS];
} table;

static void
table_row(table *t, const msgpack_object *e)
{
	const msgpack_object *stats = mp_get(e, "stats");
	char(*row)[160];
	char st[32], iso[32], path[512], exitbuf[160], node[64];
	int  depth = (int) mp_int(e, "depth"), k;
	bool sup;

	if (t->n == t->cap) {
		void *v;

		t->cap = t->cap ? t->cap * 2 : 16;
		if ((v = realloc(t->cells, t->cap * sizeof(*t->cells)))
		    == NULL) {
			fprintf(stderr, "arborctl: out of memory\n");
			exit(EX_SOFTWARE);
		}
		t->cells = v;
	}
	row = t->cells[t->n++];
	mp_str(e, "state", st, sizeof(st));
	mp_str(e, "isolation", iso, sizeof(iso));
	sup = strcmp(iso, "supervisor") == 0;
	snprintf(row[COL_PATH], 160, "%*s%.150s", depth > 20 ? 40 : depth * 2,
	    "", mp_str(e, "path", path, sizeof(path)));
	mp_str(e, "type", row[COL_TYPE], 160);
	if (mp_str(e, "node", node, sizeof(node))[0] != '\0') {
		// A remote child: its isolation on that node.
		snprintf(row[COL_ISO], 160, "%s@%s", iso, node);
	} else {
		snprintf(row[COL_ISO], 160, "%s", iso);
	}
	fmt_state(row[COL_STATE], 160, e);
	fmt_pid(row[COL_PID], 160, e);
	if (strcmp(st, "running") == 0) {
		fmt_dur(row[COL_UP], 160, mp_int(e, "uptime_ms"));
	} else {
		snprintf(row[COL_UP], 160, "-");
	}
	snprintf(row[COL_RST], 160, "%lld", (long long) mp_int(e, "restarts"));
	if (sup) {
		snprintf(row[COL_IO], 160, "-");
		snprintf(row[COL_PUB], 160, "-");
		snprintf(row[COL_DEAD], 160, "-");
		snprintf(row[COL_REJ], 160, "-");
	} else {
		snprintf(row[COL_IO], 160, "%lld/%lld",
		    (long long) mp_int(stats, "msgs_in"),
		    (long long) mp_int(stats, "msgs_out"));
		snprintf(row[COL_PUB], 160, "%lld/%lld",
		    (long long) mp_int(stats, "published"),
		    (long long) mp_int(stats, "unheard"));
		snprintf(row[COL_DEAD], 160, "%lld",
		    (long long) mp_int(stats, "dead_letters"));
		snprintf(row[COL_REJ], 160, "%lld",
		    (long long) mp_int(stats, "rejected"));
	}
	mp_str(e, "last_exit", exitbuf, sizeof(exitbuf));
	snprintf(row[COL_EXIT], 160, "%s", exitbuf[0] ? exitbuf : "-");
	for (k = 0; k < NCOLS; k++) {
		int w = (int) strlen(row[k]);

		if (w > t->width[k]) {
			t->width[k] = w;
		}
	}
}

static void
table_walk(table *t, const msgpack_object *e)
{
	const msgpack_object *kids;
	uint32_t              i;

	if (e == NULL || e->type != MSGPACK_OBJECT_MAP) {
		return;
	}
	table_row(t, e);
	kids = mp_get(e, "children");
	if (kids != NULL && kids->type == MSGPACK_OBJECT_ARRAY) {
		for (i = 0; i < kids->via.array.size; i++) {
			table_walk(t, &kids->via.array.ptr[i]);
		}
	}
}

static void
table_line(const table *t, const char *const *cells)
{
	int k;

	for (k = 0; k < NCOLS - 1; k++) {
		printf("%-*s  ", t->width[k], cells[k]);
	}
	printf("%s\n", cells[NCOLS - 1]);
}

// --- The actors' own metrics (status) --------------------------------------

// mp_num reads a number (integer or float) under key; 0 when absent.
static double
mp_num(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = mp_get(map, key);

	if (o == NULL) {
		return 0;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return (double) o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (double) o->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return o->via.f64;
	default:
		return 0;
	}
}

typedef struct mrow {
	char path[256];
	char name[256];
	char value[80];
} mrow;

typedef struct mtable {
	mrow  *rows;
	size_t n;
	size_t cap;
	int    wpath;
	int    wname;
} mtable;

// mtable_row adds the line of one series m of the actor at path.
static void
mtable_row(mtable *t, const char *path, const msgpack_object *m)
{
	const msgpack_object *label = mp_get(m, "label");
	char                  name[64], type[16], key[64], val[96];
	mrow                 *r;
	int                   w;

	if (t->n == t->cap) {
		void *v;

		t->cap = t->cap ? t->cap * 2 : 16;
		if ((v = realloc(t->rows, t->cap * sizeof(*t->rows)))
		    == NULL) {
			fprintf(stderr, "arborctl: out of memory\n");
			exit(EX_SOFTWARE);
		}
		t->rows = v;
	}
	r = &t->rows[t->n++];
	snprintf(r->path, sizeof(r->path), "%s", path);
	mp_str(m, "name", name, sizeof(name));
	mp_str(m, "type", type, sizeof(type));
	if (label != NULL && label->type == MSGPACK_OBJECT_MAP &&
	    label->via.map.size == 1 &&
	    label->via.map.ptr[0].key.type == MSGPACK_OBJECT_STR &&
	    label->via.map.ptr[0].val.type == MSGPACK_OBJECT_STR) {
		const msgpack_object_kv *kv = &label->via.map.ptr[0];
		snprintf(key, sizeof(key), "%.*s", (int) kv->key.via.str.size,
		    kv->key.via.str.ptr);
		snprintf(val, sizeof(val), "%.*s", (int) kv->val.via.str.size,
		    kv->val.via.str.ptr);
		snprintf(r->name, sizeof(r->name), "%.63s{%.63s=\"%.95s\"}",
		    name, key, val);
	} else {
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	if (strcmp(type, "histogram") == 0) {
		snprintf(r->value, sizeof(r->value), "count %lld  sum %.6g",
		    (long long) mp_int(m, "count"), mp_num(m, "value"));
	} else {
		snprintf(
		    r->value, sizeof(r->value), "%.15g", mp_num(m, "value"));
	}
	if ((w = (int) strlen(r->path)) > t->wpath) {
		t->wpath = w;
	}
	if ((w = (int) strlen(r->name)) > t->wname) {
		t->wname = w;
	}
}

static void
mtable_walk(mtable *t, const msgpack_object *e)
{
	const msgpack_object *ms, *kids;
	char                  path[256];
	uint32_t              i;

	if (e == NULL || e->type != MSGPACK_OBJECT_MAP) {
		return;
	}
	ms = mp_get(e, "metrics");
	if (ms != NULL && ms->type == MSGPACK_OBJECT_ARRAY) {
		mp_str(e, "path", path, sizeof(path));
		for (i = 0; i < ms->via.array.size; i++) {
			mtable_row(t, path, &ms->via.array.ptr[i]);
		}
	}
	kids = mp_get(e, "children");
	if (kids != NULL && kids->type == MSGPACK_OBJECT_ARRAY) {
		for (i = 0; i < kids->via.array.size; i++) {
			mtable_walk(t, &kids->via.array.ptr[i]);
		}
	}
}

// metrics_print prints the actors' own metrics below the tree, one line
// per series: PATH  NAME{LABEL}  VALUE (nothing when no actor has any).
static void
metrics_print(const msgpack_object *root)
{
	mtable t = { NULL, 0, 0, 4, 6 };
	size_t i;

	mtable_walk(&t, root);
	if (t.n > 0) {
		printf("\n%-*s  %-*s  %s\n", t.wpath, "PATH", t.wname,
		    "METRIC", "VALUE");
		for (i = 0; i < t.n; i++) {
			printf("%-*s  %-*s  %s\n", t.wpath, t.rows[i].path,
			    t.wname, t.rows[i].name, t.rows[i].value);
		}
	}
	free(t.rows);
}

// ready_word writes the node's readiness: "ready", "not ready", or
// "degraded: root/a, root/b" (the permanent or significant children that
// are not running, from the document's "degraded").
static const char *
ready_word(const msgpack_object *doc, char *buf, size_t len)
{
	const msgpack_object *d = mp_get(doc, "degraded");
	size_t                used;
	uint32_t              i;
	int                   n;

	if (mp_bool(doc, "ready")) {
		return "ready";
	}
	if (d == NULL || d->type != MSGPACK_OBJECT_ARRAY
	    || d->via.array.size == 0) {
		return "not ready";
	}
	used = (size_t) snprintf(buf, len, "degraded:");
	for (i = 0; i < d->via.array.size && used < len; i++) {
		const msgpack_object *p = &d->via.array.ptr[i];

		if (p->type == MSGPACK_OBJECT_STR) {
			n = snprintf(buf + used, len - used, "%s %.*s",
			    i ? "," : "", (int) p->via.str.size,
			    p->via.str.ptr);
			used += n > 0 ? (size_t) n : 0;
		}
	}
	return buf;
}

// peers_line prints "peers: gw1 up, gw2 down" when the node has peers.
static void
peers_line(const msgpack_object *doc)
{
	const msgpack_object *ps = mp_get(doc, "peers");
	char                  name[64], state[32];
	uint32_t              i;

	if (ps == NULL || ps->type != MSGPACK_OBJECT_ARRAY
	    || ps->via.array.size == 0) {
		return;
	}
	printf("peers:");
	for (i = 0; i < ps->via.array.size; i++) {
		printf("%s %s %s", i ? "," : "",
		    mp_str(&ps->via.array.ptr[i], "name", name, sizeof(name)),
		    mp_str(
		        &ps->via.array.ptr[i], "state", state, sizeof(state)));
	}
	printf("  (arborctl peers)\n");
}

static int
cmd_status(ctl *c, bool json)
{
	tree                  tr;
	const msgpack_object *doc;
	table                 t = { 0 };
	char                  name[128], up[32], stuck[256], ready[512];
	const char           *cells[NCOLS];
	size_t                i;
	int                   code, k;

	if ((code = tree_fetch(c, &tr)) != 0) {
		return code;
	}
	if (json) {
		printf("%s\n", tr.json);
		tree_fini(&tr);
		return EX_OK;
	}
	doc = &tr.u.data;
	fmt_dur(up, sizeof(up), mp_int(doc, "uptime_ms"));
	mp_str(doc, "stuck", stuck, sizeof(stuck));
	printf("node %s  pid %lld  up %s  %s  %s%s  give-ups %lld  reloads "
	       "%lld\n",
	    mp_str(doc, "node", name, sizeof(name)),
	    (long long) mp_int(doc, "pid"), up,
	    ready_word(doc, ready, sizeof(ready)),
	    mp_bool(doc, "live") ? "live" : "stuck: ", stuck,
	    (long long) mp_int(doc, "give_ups"),
	    (long long) mp_int(doc, "reloads"));
	if (mp_int(doc, "log_dropped") > 0) {
		printf("log lines dropped: %lld (the node's stderr was not "
		       "read)\n",
		    (long long) mp_int(doc, "log_dropped"));
	}
	if (mp_int(doc, "link_forged") > 0) {
		printf("envelopes refused from peers: %lld (not from the peer "
		       "that sent them, or a tag only this node sends; the "
		       "log's event=forged_envelope names the peer)\n",
		    (long long) mp_int(doc, "link_forged"));
	}
	peers_line(doc);
	for (k = 0; k < NCOLS; k++) {
		t.width[k] = (int) strlen(col_names[k]);
	}
	table_walk(&t, mp_get(doc, "tree"));
	table_line(&t, col_names);
	for (i = 0; i < t.n; i++) {
		for (k = 0; k < NCOLS; k++) {
			cells[k] = t.cells[i][k];
		}
		table_line(&t, cells);
	}
	free(t.cells);
	metrics_print(mp_get(doc, "tree"));
	tree_fini(&tr);
	return EX_OK;
}

// --- peers ------------------------------------------------------------------

static int
cmd_peers(ctl *c)
{
	static const char *const names[]
	    = { "PEER", "URL", "STATE", "INCARNATION", "STREAMS", "RTT",
		      "LAST HEARTBEAT", "LAST REFUSAL", "UPS", "DOWNS" };
	enum { NPC = 10 };
	tree                  tr;
	const msgpack_object *doc, *ps, *p;
	char                  cell[NPC][320], listen[300], ago[32];
	int                   w[NPC], code, k;
	uint32_t              i, pass;

	if ((code = tree_fetch(c, &tr)) != 0) {
		return code;
	}
	doc = &tr.u.data;
	ps = mp_get(doc, "peers");
	mp_str(doc, "listen", listen, sizeof(listen));
	printf("listen %s\n", listen[0] != '\0' ? listen : "(none)");
	if (ps == NULL || ps->type != MSGPACK_OBJECT_ARRAY
	    || ps->via.array.size == 0) {
		printf("no peers\n");
		tree_fini(&tr);
		return EX_OK;
	}
	for (k = 0; k < NPC; k++) {
		w[k] = (int) strlen(names[k]);
	}
	// Two passes: the widths, then the lines.
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (k = 0; k < NPC; k++) {
				printf("%-*s%s", k == NPC - 1 ? 0 : w[k],
				    names[k], k == NPC - 1 ? "\n" : "  ");
			}
		}
		for (i = 0; i < ps->via.array.size; i++) {
			p = &ps->via.array.ptr[i];
			mp_str(p, "name", cell[0], sizeof(cell[0]));
			mp_str(p, "url", cell[1], sizeof(cell[1]));
			mp_str(p, "state", cell[2], sizeof(cell[2]));
			if (mp_int(p, "incarnation") > 0) {
				snprintf(cell[3], sizeof(cell[3]), "%lld",
				    (long long) mp_int(p, "incarnation"));
			} else {
				snprintf(cell[3], sizeof(cell[3]), "-");
			}
			// Which streams: the one it dialled (what it sends
			// on), those the peer dialled into it (what it
			// receives on); "accepted" alone: the peer reaches
			// this node, this node does not reach it.
			snprintf(cell[4], sizeof(cell[4]), "%s",
			    mp_bool(p, "dialled")
			        ? (mp_int(p, "accepted") > 0
			                ? "dialled+accepted"
			                : "dialled")
			        : (mp_int(p, "accepted") > 0 ? "accepted"
			                                     : "-"));
			if (mp_int(p, "rtt_us") >= 0) {
				snprintf(cell[5], sizeof(cell[5]), "%.2fms",
				    (double) mp_int(p, "rtt_us") / 1000.0);
			} else {
				snprintf(cell[5], sizeof(cell[5]), "-");
			}
			if (mp_int(p, "last_heartbeat_ms") >= 0) {
				fmt_dur(ago, sizeof(ago),
				    mp_int(p, "last_heartbeat_ms"));
				snprintf(
				    cell[6], sizeof(cell[6]), "%s ago", ago);
			} else {
				snprintf(cell[6], sizeof(cell[6]), "never");
			}
			// Why this node's link to it was last refused, and
			// when ("-": never; the log has the whole reason).
			mp_str(p, "last_refusal", cell[7], sizeof(cell[7]));
			if (cell[7][0] != '\0'
			    && mp_int(p, "last_refusal_ms") >= 0) {
				fmt_dur(ago, sizeof(ago),
				    mp_int(p, "last_refusal_ms"));
				snprintf(cell[7] + strlen(cell[7]),
				    sizeof(cell[7]) - strlen(cell[7]),
				    ", %s ago", ago);
			} else {
				snprintf(cell[7], sizeof(cell[7]), "-");
			}
			snprintf(cell[8], sizeof(cell[8]), "%lld",
			    (long long) mp_int(p, "ups"));
			snprintf(cell[9], sizeof(cell[9]), "%lld",
			    (long long) mp_int(p, "downs"));
			for (k = 0; k < NPC; k++) {
				if (pass == 0
				    && (int) strlen(cell[k]) > w[k]) {
					w[k] = (int) strlen(cell[k]);
				} else if (pass == 1) {
					printf("%-*s%s",
					    k == NPC - 1 ? 0 : w[k], cell[k],
					    k == NPC - 1 ? "\n" : "  ");
				}
			}
		}
	}
	tree_fini(&tr);
	return EX_OK;
}

// --- stop / start / restart -------------------------------------------------

// child_look reads the child's state and incarnation ("pid") and its
// line for messages.  Returns 0, 1 when the child is not in the tree, or
// an exit code (> 1).
static int
child_look(ctl *c, const char *path, char *state, char *pid, char *desc,
    size_t desclen)
{
	tree                  tr;
	const msgpack_object *e;
	char                  st[64], p[64], ex[160];
	int                   code;

	if ((code = tree_fetch(c, &tr)) != 0) {
		return code;
	}
	if ((e = tree_find(mp_get(&tr.u.data, "tree"), path)) == NULL) {
		tree_fini(&tr);
		return 1;
	}
	mp_str(e, "state", state, 32);
	mp_str(e, "pid", pid, 32);
	fmt_state(st, sizeof(st), e);
	fmt_pid(p, sizeof(p), e);
	mp_str(e, "last_exit", ex, sizeof(ex));
	snprintf(desc, desclen, "%.60s (pid %.40s%s%.150s)", st, p,
	    ex[0] ? ", last exit " : "", ex);
	tree_fini(&tr);
	return 0;
}

static int
cmd_child(ctl *c, const char *op, const char *path, bool wait)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	reply           r;
	char            state[32], pid[32], desc[512], what[600];
	int             code;
	bool            awaited = wait && strcmp(op, "stop") != 0;

	// A start or restart waited for is answered by the node once the
	// child runs (or answered ignore), or with its start's error.
	request_begin(&sb, &pk, op, path, awaited ? 1 : 0);
	if (awaited) {
		pk_str(&pk, "wait");
		msgpack_pack_true(&pk);
		snprintf(what, sizeof(what), "%s: %s", path, op);
		c->awaited = what;
	}
	code = call_retry(c, &sb, &r);
	c->awaited = NULL;
	msgpack_sbuffer_destroy(&sb);
	if (code != 0) {
		return code;
	}
	if (!r.ok) {
		code = refused(&r);
		reply_fini(&r);
		return code;
	}
	reply_fini(&r);
	if (!wait) {
		printf("%s: %s requested\n", path, op);
		return EX_OK;
	}
	if (awaited) {
		code = child_look(c, path, state, pid, desc, sizeof(desc));
		if (code > 1) {
			return code;
		}
		printf("%s: %s\n", path,
		    code == 1 ? "answered ignore (not kept)" : desc);
		return EX_OK;
	}
	for (;;) {
		code = child_look(c, path, state, pid, desc, sizeof(desc));
		if (code > 1) {
			return code;
		}
		if (code == 1 && strcmp(op, "stop") == 0) {
			// A simple_one_for_one child is deleted by its stop
			// (OTP's terminate_child).
			printf("%s: stopped and deleted\n", path);
			return EX_OK;
		}
		if (code == 1) {
			fprintf(stderr,
			    "arborctl: %s: no longer in the tree\n", path);
			return EX_REFUSED;
		}
		if (strcmp(state, "stopped") == 0) {
			break;
		}
		if (!time_for_another(c)) {
			fprintf(stderr,
			    "arborctl: %s: %s requested, but after %s it "
			    "is %s\n",
			    path, op, c->timeout_txt, desc);
			return EX_TEMPFAIL;
		}
		pause_ms(POLL_MS);
	}
	printf("%s: %s\n", path, desc);
	return EX_OK;
}

// --- send, reload, log-level ------------------------------------------------

static bool node_name_ok(const char *s);

// send_args checks send's PATH (PATH@NODE: neither part empty, NODE a
// node name), reads its TAG and converts its JSON to the body's msgpack
// (in body, initialised by the caller).  Returns 0 or EX_USAGE (after a
// message).
static int
send_args(const char *path, const char *tagtext, const char *json,
    unsigned long long *tag, msgpack_sbuffer *body)
{
	const char *at = strrchr(path, '@');
	char        err[200], *end;

	// As the node reads it (the last '@'): said here, a usage error,
	// not asked of the node (which would refuse it, exit 1).
	if (path[0] == '\0' || (at != NULL && (at == path || at[1] == '\0'))) {
		return usage_error("send: PATH \"%s\": expected PATH or "
		                   "PATH@NODE with neither part empty",
		    path);
	}
	if (at != NULL && !node_name_ok(at + 1)) {
		return usage_error("send: PATH \"%s\": NODE after the '@' is "
		                   "not a node name (1 to 63 characters from "
		                   "A-Z a-z 0-9 _ . -)",
		    path);
	}
	errno = 0;
	*tag = strtoull(tagtext, &end, 0);
	if (tagtext[0] == '-' || tagtext[0] == '\0' || *end != '\0'
	    || errno != 0 || *tag >= 0xFFFF0000ull) {
		return usage_error(
		    "send: TAG \"%s\": expected an integer from "
		    "0 to 4294901759 (0xFFFEFFFF)",
		    tagtext);
	}
	// JSON's strings are UTF-8 (RFC 8259); the body's msgpack str
	// says so to its reader.
	if (json_to_msgpack(
	        json, strlen(json), body, JSON_UTF8, err, sizeof(err))
	    != 0) {
		fprintf(stderr, "arborctl: send: JSON: %s\n", err);
		return EX_USAGE;
	}
	return 0;
}

static int
cmd_send(ctl *c, const char *path, unsigned long long tag,
    const msgpack_sbuffer *body)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	reply           r;
	int             code;

	request_begin(&sb, &pk, "send", path, 2);
	pk_str(&pk, "tag");
	msgpack_pack_uint64(&pk, tag);
	pk_str(&pk, "body");
	msgpack_pack_bin(&pk, body->size);
	msgpack_pack_bin_body(&pk, body->data, body->size);
	code = call_retry(c, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (code != 0) {
		return code;
	}
	if (!r.ok) {
		code = refused(&r);
	} else {
		printf("%s: sent tag %llu, %zu bytes of msgpack\n", path, tag,
		    body->size);
	}
	reply_fini(&r);
	return code;
}

// start_child_arg checks start-child's ARG: UTF-8 text (a child spec,
// YAML or JSON, or a pool child's JSON argument), else EX_USAGE (after
// a message naming the offset of the first bad byte).  ARG that is JSON
// is also converted to msgpack in body (initialised by the caller), with
// *is_json set; otherwise err says why it is not JSON (the node decides
// whether it had to be).
static int
start_child_arg(const char *arg, msgpack_sbuffer *body, bool *is_json,
    char *err, size_t errlen)
{
	size_t n = strlen(arg), bad = utf8_invalid_at(arg, n);

	if (bad < n) {
		// As send says it when ARG is JSON but for its strings.
		if (json_to_msgpack(arg, n, body, 0, err, errlen) == 0
		    && json_to_msgpack(arg, n, body, JSON_UTF8, err, errlen)
		        != 0) {
			fprintf(stderr, "arborctl: start-child: JSON: %s\n",
			    err);
		} else {
			fprintf(stderr,
			    "arborctl: start-child: ARG: offset %zu: not "
			    "UTF-8 (byte 0x%02x; a child spec or a JSON "
			    "argument is UTF-8 text)\n",
			    bad, (unsigned char) arg[bad]);
		}
		return EX_USAGE;
	}
	*is_json = json_to_msgpack(arg, n, body, JSON_UTF8, err, errlen) == 0;
	return 0;
}

// cmd_start_child asks for a child of sup: spec is ARG (NULL: none) as
// it is, body its msgpack when it is JSON (NULL: it is not; jsonerr says
// why).
static int
cmd_start_child(ctl *c, const char *sup, const char *spec,
    const msgpack_sbuffer *body, const char *jsonerr)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	reply           r;
	char            path[512], what[600];
	int             code;

	// ARG is sent as it is (a static supervisor's child spec, YAML or
	// JSON) and, when it is JSON, also as msgpack (a pool child's init
	// argument): the node knows which supervisor it is.
	request_begin(&sb, &pk, "start-child", sup,
	    spec != NULL ? (body != NULL ? 2 : 1) : 0);
	if (spec != NULL) {
		pk_str(&pk, "spec");
		pk_str(&pk, spec);
	}
	if (body != NULL) {
		pk_str(&pk, "body");
		msgpack_pack_bin(&pk, body->size);
		msgpack_pack_bin_body(&pk, body->data, body->size);
	}
	snprintf(what, sizeof(what), "start-child %s", sup);
	c->awaited = what;
	code = call_retry(c, &sb, &r);
	c->awaited = NULL;
	msgpack_sbuffer_destroy(&sb);
	if (code != 0) {
		return code;
	}
	if (!r.ok) {
		code = refused(&r);
		if (spec != NULL && body == NULL
		    && strcmp(r.code, "ARB_EINVAL") == 0) {
			fprintf(stderr, "arborctl: start-child: JSON: %s\n",
			    jsonerr);
			code = EX_USAGE;
		}
	} else {
		mp_str(r.data, "path", path, sizeof(path));
		printf("%s: running\n", path);
	}
	reply_fini(&r);
	return code;
}

static int
cmd_delete_child(ctl *c, const char *path)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            done[600];

	request_begin(&sb, &pk, "delete-child", path, 0);
	snprintf(done, sizeof(done), "%s: deleted", path);
	return call_and_say(c, &sb, true, done);
}

static int
cmd_reload(ctl *c)
{
	msgpack_sbuffer       sb;
	msgpack_packer        pk;
	reply                 r;
	const msgpack_object *probs;
	uint32_t              i;
	int                   code;

	request_begin(&sb, &pk, "reload", NULL, 0);
	code = call_retry(c, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (code != 0) {
		return code;
	}
	if (r.ok) {
		const msgpack_object *ign = mp_get(r.data, "ignored");

		printf("reloaded (%lld reloads applied so far)\n",
		    (long long) mp_int(r.data, "reloads"));
		// Applied but for these: said here, where systemctl reload
		// shows it, not only in the node's log.
		if (ign != NULL && ign->type == MSGPACK_OBJECT_STR
		    && ign->via.str.size > 0) {
			fprintf(stderr,
			    "arborctl: not applied: %.*s changed, read at "
			    "start only (restart the node to apply)\n",
			    (int) ign->via.str.size, ign->via.str.ptr);
		}
		reply_fini(&r);
		return EX_OK;
	}
	probs = mp_get(r.data, "problems");
	if (probs != NULL && probs->type == MSGPACK_OBJECT_ARRAY) {
		for (i = 0; i < probs->via.array.size; i++) {
			const msgpack_object *o = &probs->via.array.ptr[i];

			if (o->type == MSGPACK_OBJECT_STR) {
				fprintf(stderr, "%.*s\n",
				    (int) o->via.str.size, o->via.str.ptr);
			}
		}
	}
	code = refused(&r);
	reply_fini(&r);
	return code;
}

static int
level_arg(const char *level)
{
	if (strcmp(level, "error") != 0 && strcmp(level, "warn") != 0
	    && strcmp(level, "info") != 0 && strcmp(level, "debug") != 0) {
		return usage_error("log-level: \"%s\": expected error, warn, "
		                   "info or debug",
		    level);
	}
	return 0;
}

static int
cmd_log_level(ctl *c, const char *level)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            done[64];

	request_begin(&sb, &pk, "log-level", NULL, 1);
	pk_str(&pk, "level");
	pk_str(&pk, level);
	snprintf(done, sizeof(done), "log level: %s", level);
	return call_and_say(c, &sb, false, done);
}

// --- Command line -----------------------------------------------------------

// run_command checks the command's arguments (argv[0] is the command),
// connects, and runs it.
static int
run_command(ctl *c, int argc, char **argv)
{
	const char        *cmd = argv[0], *help = help_for(cmd);
	const char        *args[4];
	bool               json = false, wait = true, is_json = false;
	int                nargs = 0, want, i, code = 0;
	unsigned long long tag = 0;
	msgpack_sbuffer    body;
	char               jsonerr[200] = "";

	if (help == NULL) {
		return usage_error("unknown command %s", cmd);
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0
		    || strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			return EX_OK;
		}
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (nargs == 4) {
					return usage_error("%s: too many "
					                   "arguments",
					    cmd);
				}
				args[nargs++] = argv[i];
			}
			break;
		}
		if (strcmp(cmd, "status") == 0
		    && strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--no-wait") == 0
		    && (strcmp(cmd, "stop") == 0 || strcmp(cmd, "start") == 0
		        || strcmp(cmd, "restart") == 0)) {
			wait = false;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0'
		    && !(strcmp(cmd, "send") == 0 && nargs == 2)
		    && !(strcmp(cmd, "start-child") == 0 && nargs == 1)) {
			// (a JSON body may start with '-': -3)
			fprintf(stderr,
			    "arborctl: %s: unknown option %s\n\n%s", cmd,
			    argv[i], help);
			return EX_USAGE;
		} else if (nargs == 4) {
			return usage_error("%s: too many arguments", cmd);
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0
	    || strcmp(cmd, "peers") == 0) {
		want = 0;
	} else if (strcmp(cmd, "send") == 0) {
		want = 3;
	} else if (strcmp(cmd, "start-child") == 0) {
		want = nargs == 2 ? 2 : 1;
	} else {
		want = 1;
	}
	if (nargs != want) {
		fprintf(stderr,
		    "arborctl: %s: expected %d argument%s, got %d\n\n%s", cmd,
		    want, want == 1 ? "" : "s", nargs, help);
		return EX_USAGE;
	}
	// Every argument is checked before the node is asked: a usage
	// error is 64 whatever the node's state (none running: not 69).
	msgpack_sbuffer_init(&body);
	if (strcmp(cmd, "send") == 0) {
		code = send_args(args[0], args[1], args[2], &tag, &body);
	} else if (strcmp(cmd, "start-child") == 0 && nargs == 2) {
		code = start_child_arg(
		    args[1], &body, &is_json, jsonerr, sizeof(jsonerr));
	} else if (strcmp(cmd, "log-level") == 0) {
		code = level_arg(args[0]);
	}
	// A PATH of stop, start, restart, delete-child or start-child
	// (send's is send_args'): "" is none ("$CHILD" unset).
	if (code == 0 && want >= 1 && strcmp(cmd, "send") != 0
	    && strcmp(cmd, "log-level") != 0 && args[0][0] == '\0') {
		code = usage_error(
		    "%s: PATH \"\": expected a child's path (root/...)", cmd);
	}
	if (code != 0 || (code = ctl_open(c)) != 0) {
		ctl_close(c);
		msgpack_sbuffer_destroy(&body);
		return code;
	}
	if (strcmp(cmd, "status") == 0) {
		code = cmd_status(c, json);
	} else if (strcmp(cmd, "send") == 0) {
		code = cmd_send(c, args[0], tag, &body);
	} else if (strcmp(cmd, "start-child") == 0) {
		code = cmd_start_child(c, args[0], nargs == 2 ? args[1] : NULL,
		    is_json ? &body : NULL, jsonerr);
	} else if (strcmp(cmd, "delete-child") == 0) {
		code = cmd_delete_child(c, args[0]);
	} else if (strcmp(cmd, "reload") == 0) {
		code = cmd_reload(c);
	} else if (strcmp(cmd, "log-level") == 0) {
		code = cmd_log_level(c, args[0]);
	} else if (strcmp(cmd, "peers") == 0) {
		code = cmd_peers(c);
	} else {
		code = cmd_child(c, cmd, args[0], wait);
	}
	ctl_close(c);
	msgpack_sbuffer_destroy(&body);
	return code;
}

// node_name_ok is the rule of node.name (docs/config.md): --node names
// a file in the control socket directory, so "", "../x" or "a/b" would
// look elsewhere than any node listens.
static bool
node_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 63
	    && strspn(s,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789_.-")
	    == n;
}

int
main(int argc, char **argv)
{
	static char path[ARB__SOCK_PATH_MAX + 64];
	ctl         c = { .timeout_ms = 10000 };
	const char *node = "arbor", *sock = getenv("ARBOR_SOCKET");
	char       *end;
	double      secs;
	int         i;
	bool        by_socket = false, by_node = false;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0
		    || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (strcmp(argv[i], "--socket") == 0
		    || strcmp(argv[i], "--node") == 0
		    || strcmp(argv[i], "--timeout") == 0) {
			if (i + 1 >= argc) {
				return usage_error(
				    "%s needs a value", argv[i]);
			}
			if ((strcmp(argv[i], "--socket") == 0 && by_node)
			    || (strcmp(argv[i], "--node") == 0 && by_socket)) {
				return usage_error("--socket and --node both "
				                   "name the node: give one%s",
				    "");
			}
			if (strcmp(argv[i], "--socket") == 0) {
				sock = argv[++i];
				by_socket = true;
				// "--socket $SOCK" with SOCK unset is no
				// request for the default node.
				if (sock[0] == '\0') {
					return usage_error(
					    "--socket \"%s\": expected the path "
					    "of a node's control socket",
					    sock);
				}
				_Static_assert(ARB__SOCK_PATH_MAX == 108,
				    "the text below says 107");
				if (strlen(sock) >= ARB__SOCK_PATH_MAX) {
					return usage_error(
					    "--socket \"%.60s...\": longer "
					    "than 107 bytes, so no socket (a "
					    "socket path must fit in a socket "
					    "address)",
					    sock);
				}
			} else if (strcmp(argv[i], "--node") == 0) {
				node = argv[++i];
				sock = NULL;
				by_node = true;
				if (!node_name_ok(node)) {
					return usage_error(
					    "--node \"%s\": expected a node "
					    "name (node.name: 1 to 63 "
					    "characters from A-Z a-z 0-9 _ . "
					    "-)",
					    node);
				}
			} else {
				// Plain decimal seconds: strtod alone took
				// "0x10" as 16 and "1e1" as 10.
				secs = strtod(argv[++i], &end);
				if (*end != '\0' || !(secs >= 0.1)
				    || secs > 86400
				    || strspn(argv[i], "0123456789.")
				        != strlen(argv[i])) {
					return usage_error(
					    "--timeout \"%s\": expected "
					    "seconds (0.1 to 86400)",
					    argv[i]);
				}
				c.timeout_ms = (int) (secs * 1000);
				c.wait_node = true;
			}
			continue;
		}
		if (argv[i][0] == '-') {
			return usage_error("unknown option %s", argv[i]);
		}
		break;
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	if (sock == NULL || sock[0] == '\0') {
		if (arb__control_default(node, path, sizeof(path)) != 0) {
			return usage_error(
			    "the default socket path of node %s is "
			    "too long: use --socket",
			    node);
		}
		sock = path;
	}
	// In seconds, as --timeout takes it: "5 s", not "5000 ms".
	snprintf(c.timeout_txt, sizeof(c.timeout_txt), "%g s",
	    c.timeout_ms / 1000.0);
	c.sock_path = sock;
	c.deadline  = now_ms() + c.timeout_ms;
	return run_command(&c, argc - i, argv + i);
}
