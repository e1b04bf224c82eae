// SPDX-License-Identifier: MIT
// process.c -- the child side of a process actor: arb_actor_main.
//
// The node starts "<exe> --arb-actor TYPE PARENTPID" with the control
// channel on fd 3.  This file reads INIT from it, runs the actor on the
// process's main thread (actor.c), and speaks for the actor over the
// channel: READY, ignore, failure, exit reason, heartbeats and service
// requests.  If the node dies (its pidfd, watched by the guard, or EOF on
// fd 3) the actor's descendants and the actor die at once (guard.c): no
// actor nor anything it started outlives its node (SPEC 12).

#include "ctl.h"
#include "typecheck.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define CTL_FD 3

typedef struct proc_state {
	struct event *ctl_ev;
	struct event *sig_ev[2];
	bool          stop_pending;
	bool          kill_pending;
	bool          reason_sent; // the node has our FAIL or EXIT
	arb_exit      kill_why;
} proc_state;

static proc_state ps;

// PROC_LOG_MS bounds the wait for the actor's last log lines at its end
// (the log's writer thread; a reader of stderr that stopped reading must
// not hold up a restart for long).
#define PROC_LOG_MS 200

// proc_exit ends the process at once (atexit handlers do not run): its
// log lines and stdio buffers are written first.  In a ThreadSanitizer
// build the status is 0 once the node has our exit reason (it reads the
// reason, not the status, then): TSan's _exit turns only a 0 into its
// exitcode when it reported a race, and the node's reap fails the node's
// process on that (core/sanitizer.c), after an abnormal end too.
static _Noreturn void
proc_exit(int status)
{
	arb__log_flush(PROC_LOG_MS);
	fflush(NULL);
	if (ARB__TSAN && ps.reason_sent) {
		status = 0;
	}
	_exit(status);
}

static void
host_ready(arb_ctx *ctx)
{
	ARB_UNUSED(ctx);
	arb__ctl_send_op(CTL_FD, ARB__CTL_READY);
}

static void
host_ignore(arb_ctx *ctx)
{
	ARB_UNUSED(ctx);
	arb__ctl_send_op(CTL_FD, ARB__CTL_IGNORE);
}

// ctl_send_exit sends op (FAIL, EXIT) with an exit reason.
static void
ctl_send_exit(arb__ctl_op op, const arb_exit *why)
{
	arb__ctl_msg m;

	m.op   = op;
	m.exit = *why;
	if (arb__ctl_send(CTL_FD, &m) == 0) {
		ps.reason_sent = true;
	}
}

static void
host_init_failed(arb_ctx *ctx, int code, const char *text)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = code };

	ARB_UNUSED(ctx);
	snprintf(e.text, sizeof(e.text), "%s", text);
	ctl_send_exit(ARB__CTL_FAIL, &e);
}

static void host_heartbeat(arb_ctx *ctx);

static void
host_exited(arb_ctx *ctx, const arb_exit *why)
{
	int64_t t0 = arb__now_ms();
	int64_t left;

	// The process ends right after this report: its last messages must
	// be out first, handed on and then written by their links, and what
	// it received acknowledged (500 ms at most in all); then its metrics'
	// last values.
	arb__outq_linger(ctx->outq, 500);
	left = 500 - (arb__now_ms() - t0);
	arb__tp_linger(left > 0 ? (int) left : 0);
	if (arb__metrics_dirty(ctx->metrics)) {
		host_heartbeat(ctx);
	}
	ctl_send_exit(ARB__CTL_EXIT, why);
}

// host_heartbeat sends the stats, and the actor's metrics when they
// changed since the last beat (metric.c).
static void
host_heartbeat(arb_ctx *ctx)
{
	static arb__buf mbuf; // the process's one actor: kept for reuse
	arb__ctl_msg    m;

	m.op          = ARB__CTL_HB;
	m.metrics     = NULL;
	m.metrics_len = 0;
	arb_stats_get(ctx, &m.stats);
	if (arb__metrics_dirty(ctx->metrics) &&
	    arb__metrics_encode(ctx->metrics, &mbuf) == ARB_OK) {
		m.metrics     = mbuf.data;
		m.metrics_len = mbuf.len;
	}
	arb__ctl_send(CTL_FD, &m);
}

// ctl_take handles one datagram from the node: STOP and KILLSIG are
// noted for proc_apply, a REP is copied to rep (when a request waits).
// A malformed datagram is counted and logged, and changes nothing.
static void
ctl_take(arb_ctx *ctx, const uint8_t *buf, size_t n, arb__req *rep,
    bool *got_rep)
{
	arb__ctl_msg m;
	int          rv;

	if ((rv = arb__ctl_decode(&m, buf, n, ARB__CTL_TO_ACTOR)) != 0) {
		ctx->st->rejected++;
		arb__log(ARB_LOG_WARN, ctx->path,
		    "event=bad_control_message bytes=%zu", n);
		return;
	}
	switch (m.op) {
	case ARB__CTL_STOP:
		ps.stop_pending = true;
		break;
	case ARB__CTL_KILLSIG:
		ps.kill_why     = m.exit;
		ps.kill_pending = true;
		break;
	case ARB__CTL_REP:
		if (rep != NULL) {
			*rep     = m.req;
			*got_rep = true;
		}
		break;
	default: // a second INIT: the node never sends one
		ctx->st->rejected++;
		arb__log(ARB_LOG_WARN, ctx->path,
		    "event=bad_control_message op=%u", (unsigned) m.op);
		break;
	}
}

// ctl_recv_one reads one datagram; -1 when nothing is (or was) usable
// now, 0 on EOF.  An oversized datagram is counted as rejected.
static ssize_t
ctl_recv_one(arb_ctx *ctx, uint8_t *buf, size_t len)
{
	ssize_t n = arb__ctl_recv(CTL_FD, buf, len);

	if (n < 0 && errno == EMSGSIZE) {
		ctx->st->rejected++;
		arb__log(ARB_LOG_WARN, ctx->path,
		    "event=bad_control_message error=oversized");
		errno = EBADMSG; // discarded: try the next one
	}
	return n;
}

static int
host_request(arb_ctx *ctx, arb__req *req)
{
	uint8_t        buf[ARB__CTL_MAX];
	struct pollfd  pfd = { .fd = CTL_FD, .events = POLLIN };
	// A run-time start waits for the child's READY (start timeouts).
	int64_t deadline = arb__now_ms() +
	    (req->op == ARB__REQ_START_CHILD ? 120000 : 5000);
	bool           got = false;
	arb__ctl_msg   m;
	arb__req       rep;
	int            rv;
	ssize_t        n;

	m.op  = ARB__CTL_REQ;
	m.req = *req;
	if ((rv = arb__ctl_send(CTL_FD, &m)) != 0) {
		return rv;
	}
	while (!got) {
		int64_t left = deadline - arb__now_ms();
		if (left <= 0) {
			return ARB_ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int) left) < 0 && errno != EINTR) {
			return arb__err_from_errno(errno);
		}
		n = ctl_recv_one(ctx, buf, sizeof(buf));
		if (n == 0) {
			arb__guard_fire(); // node gone
		}
		if (n < 0) {
			continue;
		}
		ctl_take(ctx, buf, (size_t) n, &rep, &got);
	}
	req->rv  = rep.rv;
	req->pid = rep.pid;
	req->ref = rep.ref;
	if (rep.nlist > 0) {
		// Borrowed from buf: the asker gets its own copy.
		if ((req->list = arb__alloc(rep.nlist * 8)) == NULL) {
			req->rv = ARB_ENOMEM;
		} else {
			memcpy(req->list, rep.list, rep.nlist * 8);
			req->nlist = rep.nlist;
		}
	}
	if (ps.stop_pending || ps.kill_pending) {
		event_active(ps.ctl_ev, EV_READ, 0); // apply after this call
	}
	return ARB_OK;
}

static const arb__host_ops proc_host = {
	.isolation   = ARB_PROCESS,
	.ready       = host_ready,
	.ignore      = host_ignore,
	.init_failed = host_init_failed,
	.exited      = host_exited,
	.request     = host_request,
	.heartbeat   = host_heartbeat,
};

static void
proc_apply(arb_ctx *ctx)
{
	if (ps.kill_pending) {
		ps.kill_pending = false;
		arb__ctx_on_exit_signal(ctx, &ps.kill_why);
	}
	if (ps.stop_pending) {
		ps.stop_pending = false;
		arb__ctx_on_stop(ctx);
	}
}

static void
proc_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t        buf[ARB__CTL_MAX];
	arb_ctx       *ctx = arg;
	ssize_t        n;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	while ((n = ctl_recv_one(ctx, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			continue; // discarded datagram: on to the next
		}
		ctl_take(ctx, buf, (size_t) n, NULL, NULL);
	}
	if (n == 0) {
		// The node is gone: an orphaned actor must not live on, nor
		// what it started.
		arb__guard_fire();
	}
	proc_apply(ctx);
}

static void
proc_sig_cb(evutil_socket_t sig, short what, void *arg)
{
	ARB_UNUSED(sig);
	ARB_UNUSED(what);
	arb__ctx_on_stop(arg); // a direct SIGTERM is a stop request too
}

// proc_read_init waits (timeout_ms, -1 forever) for the INIT datagram
// and decodes it into init (its arg borrowed from buf).
static int
proc_read_init(arb__ctl_init *init, uint8_t *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = CTL_FD, .events = POLLIN };
	arb__ctl_msg  m;
	ssize_t       n;
	int           rv;

	while ((rv = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
	}
	if (rv <= 0) {
		return -1;
	}
	n = arb__ctl_recv(CTL_FD, buf, len);
	if (n <= 0 ||
	    arb__ctl_decode(&m, buf, (size_t) n, ARB__CTL_TO_ACTOR) != 0 ||
	    m.op != ARB__CTL_INIT) {
		return -1;
	}
	*init = m.init;
	return 0;
}

// proc_retitle makes a standby's arguments read like those of a process
// spawned for its type, "--arb-actor TYPE NODEPID" (ps, pkill -f and
// /proc/PID/cmdline show the bytes of the arguments as they are now):
// written from argv[2] on, over "-", NODEPID and the empty arguments
// spawn.c left after them as room; what room is left stays NUL bytes
// (empty arguments).  Arguments not laid out one after the other, or a
// type longer than the room, leave them as they are.
static void
proc_retitle(int argc, char **argv, const char *type)
{
	char   node[24];
	char  *at = argv[2], *end;
	size_t tl = strlen(type), nl;
	int    i;

	for (i = 2; i < argc - 1; i++) {
		if (argv[i] + strlen(argv[i]) + 1 != argv[i + 1]) {
			return;
		}
	}
	end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	nl  = (size_t) snprintf(node, sizeof(node), "%s", argv[3]);
	if (nl >= sizeof(node) || tl + 1 + nl + 1 > (size_t) (end - at)) {
		return;
	}
	memset(at, 0, (size_t) (end - at));
	memcpy(at, type, tl);
	memcpy(at + tl + 1, node, nl);
	argv[3] = at + tl + 1;
	for (i = 4; i < argc; i++) {
		argv[i] = end - 1; // ""
	}
}

int
arb_actor_main(int argc, char **argv)
{
	static uint8_t       buf[ARB__CTL_MAX];
	arb__ctl_init        init;
	const arb_actor_ops *ops;
	arb_ctx             *ctx;
	arb_pid              pid;
	arb_exit             why;
	bool                 standby;
	int                  rv;

	if (argc == 2 && strcmp(argv[1], ARB__CHECK_ARGV_FLAG) == 0) {
		// The tree loader checks here the configs of types the node
		// does not run itself (typecheck.c); it dies with its asker.
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		arb__tcheck_serve(CTL_FD);
		_exit(0);
	}
	if (argc < 4 || strcmp(argv[1], ARB__ACTOR_ARGV_FLAG) != 0) {
		// A program that serves process actors: its tree loader may
		// check configs in a child of it (--arb-check, above).
		arb__tcheck_main_seen();
		return 0;
	}
	// What the actor's code leaves behind stays its descendant, and
	// the guard ends it all when the node dies; a guard opened on a
	// pid the node no longer had sees the check below fail.
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (arb__guard_start((pid_t) atoi(argv[3])) != 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	if (getppid() != (pid_t) atoi(argv[3])) {
		proc_exit(111);
	}
	signal(SIGPIPE, SIG_IGN);
	// The modules the node loaded by path (a tree's plugins:), before
	// the type is looked up; types of the actor path load by name.
	arb__modules_load_env();
	standby = strcmp(argv[2], ARB__STANDBY_TYPE) == 0;
	if (standby) {
		// Spawned ahead (spawn.c): have nng's threads up now, then
		// wait as long as it takes for a role.
		arb__tp_warm();
	}
	if (proc_read_init(&init, buf, sizeof(buf), standby ? -1 : 10000) !=
	    0) {
		if (standby) {
			proc_exit(0); // the node stopped before it needed us
		}
		fprintf(stderr, "arbor: actor %s: no valid INIT on fd 3\n",
		    argv[2]);
		proc_exit(111);
	}
	if (standby) {
		proc_retitle(argc, argv, init.type);
	}
	arb__log_set_level(init.log_level); // the node's level
	if ((ops = arb__actor_type_find(init.type)) == NULL) {
		char text[128];
		snprintf(text, sizeof(text), "unknown actor type '%s'",
		    init.type);
		host_init_failed(NULL, ARB_ENOENT, text);
		proc_exit(100);
	}
	arb__local_set(init.addr.node_id, init.addr.creation);
	pid = arb__pid_of(init.pid.id);
	rv  = arb__tp_open(&init.addr, pid, init.max_msg);
	if (rv == 0) {
		rv = arb__ctx_open(&ctx, ops, &proc_host, NULL, pid, init.path,
		    &init.addr, init.max_msg, init.hb_ms, NULL, NULL);
	}
	if (rv != 0) {
		char text[128];
		snprintf(text, sizeof(text), "actor setup: %s",
		    arb_strerror(rv));
		host_init_failed(NULL, rv, text);
		proc_exit(111);
	}
	ps.ctl_ev = event_new(
	    ctx->base, CTL_FD, EV_READ | EV_PERSIST, proc_ctl_cb, ctx);
	ps.sig_ev[0] = evsignal_new(ctx->base, SIGTERM, proc_sig_cb, ctx);
	ps.sig_ev[1] = evsignal_new(ctx->base, SIGINT, proc_sig_cb, ctx);
	if (ps.ctl_ev == NULL || ps.sig_ev[0] == NULL || ps.sig_ev[1] == NULL
	    || event_add(ps.ctl_ev, NULL) != 0
	    || event_add(ps.sig_ev[0], NULL) != 0
	    || event_add(ps.sig_ev[1], NULL) != 0) {
		host_init_failed(NULL, ARB_ENOMEM, "actor setup: events");
		proc_exit(111);
	}
	arb__ctx_run(ctx, init.arg, init.arg_len);
	// The node has the reason and the last words are out (host_exited):
	// nothing left here is worth a teardown.  Closing every nng socket
	// and joining nng's threads took ~1.5 ms, all of it on the restart
	// path, so the process ends now and the kernel releases the rest.
	// atexit handlers do not run (terminate is the actor's cleanup);
	// log lines and stdio buffers are written (proc_exit).  The status
	// only says whether it was a clean end (skarnet: 0 ok, 111 temporary
	// failure).
	why = ctx->why;
	proc_exit(arb_exit_abnormal(&why) ? 111 : 0);
}
