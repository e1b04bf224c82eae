// SPDX-License-Identifier: MIT
// process.c -- the child side of a process actor: arb_actor_main.
//
// The node starts "<exe> --arb-actor TYPE PARENTPID" with the control
// channel on fd 3.  This file reads INIT from it, runs the actor on the
// process's main thread (actor.c), and speaks for the actor over the
// channel: READY, ignore, failure, exit reason, heartbeats and service
// requests.  If the node dies (PDEATHSIG, or EOF on fd 3) the actor dies
// at once: no actor outlives its node (SPEC 12).

#include "../node/node_int.h"

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
	arb_exit      kill_why;
} proc_state;

static proc_state ps;

static void
host_ready(arb_ctx *ctx)
{
	ARB_UNUSED(ctx);
	arb__ctl_send(CTL_FD, ARB__CTL_READY, NULL, 0, NULL, 0);
}

static void
host_ignore(arb_ctx *ctx)
{
	ARB_UNUSED(ctx);
	arb__ctl_send(CTL_FD, ARB__CTL_IGNORE, NULL, 0, NULL, 0);
}

static void
host_init_failed(arb_ctx *ctx, int code, const char *text)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = code };

	ARB_UNUSED(ctx);
	snprintf(e.text, sizeof(e.text), "%s", text);
	arb__ctl_send(CTL_FD, ARB__CTL_FAIL, &e, sizeof(e), NULL, 0);
}

static void
host_exited(arb_ctx *ctx, const arb_exit *why)
{
	// The process ends right after this report: its last messages must
	// be out first.
	arb__outq_linger(ctx->outq, 500);
	arb__ctl_send(CTL_FD, ARB__CTL_EXIT, why, sizeof(*why), NULL, 0);
}

static void
host_reach(arb_ctx *ctx, arb_pid to)
{
	ARB_UNUSED(ctx);
	arb__ctl_send(CTL_FD, ARB__CTL_LISTEN, &to, sizeof(to), NULL, 0);
}

static void
host_heartbeat(arb_ctx *ctx)
{
	arb_stats st;

	arb_stats_get(ctx, &st);
	arb__ctl_send(CTL_FD, ARB__CTL_HB, &st, sizeof(st), NULL, 0);
}

// ctl_take handles one control message; returns false on EOF.
static bool
ctl_take(const uint8_t *buf, ssize_t n, arb__req *rep, bool *got_rep)
{
	switch ((arb__ctl_op) buf[0]) {
	case ARB__CTL_STOP:
		ps.stop_pending = true;
		break;
	case ARB__CTL_KILLSIG:
		if ((size_t) n >= 8 + sizeof(arb_exit)) {
			memcpy(&ps.kill_why, buf + 8, sizeof(arb_exit));
			ps.kill_why.text[ARB_EXIT_TEXT_MAX - 1] = '\0';
			ps.kill_pending = true;
		}
		break;
	case ARB__CTL_REP:
		if (rep != NULL && (size_t) n >= 8 + sizeof(*rep)) {
			memcpy(rep, buf + 8, sizeof(*rep));
			*got_rep = true;
		}
		break;
	default:
		break;
	}
	return true;
}

static int
host_request(arb_ctx *ctx, arb__req *req)
{
	uint8_t       buf[ARB__CTL_MAX];
	struct pollfd pfd = { .fd = CTL_FD, .events = POLLIN };
	// A run-time start waits for the child's READY (start timeouts).
	int64_t deadline = arb__now_ms() +
	    (req->op == ARB__REQ_START_CHILD ? 120000 : 5000);
	bool          got = false;
	arb__req      rep;
	int           rv;
	ssize_t       n;

	rv = arb__ctl_send(CTL_FD, ARB__CTL_REQ, req, sizeof(*req), req->arg,
	    req->arg_len);
	if (rv != 0) {
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
		n = arb__ctl_recv(CTL_FD, buf, sizeof(buf));
		if (n == 0) {
			_exit(111); // node gone
		}
		if (n < 0) {
			continue;
		}
		ctl_take(buf, n, &rep, &got);
	}
	req->rv     = rep.rv;
	req->pid    = rep.pid;
	req->ref    = rep.ref;
	if (ps.stop_pending || ps.kill_pending) {
		event_active(ps.ctl_ev, EV_READ, 0); // apply after this call
	}
	ARB_UNUSED(ctx);
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
	.reach       = host_reach,
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
	arb_ctx *ctx = arg;
	uint8_t  buf[ARB__CTL_MAX];
	ssize_t  n;

	ARB_UNUSED(what);
	while ((n = arb__ctl_recv(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			continue; // malformed datagram: skip it
		}
		ctl_take(buf, n, NULL, NULL);
	}
	if (n == 0) {
		// The node is gone: an orphaned actor must not live on.
		_exit(111);
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

static int
proc_read_init(arb__ctl_init *init, uint8_t *buf, size_t len, size_t *argn,
    int timeout_ms)
{
	struct pollfd pfd = { .fd = CTL_FD, .events = POLLIN };
	ssize_t       n;
	int           rv;

	while ((rv = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
	}
	if (rv <= 0) {
		return -1;
	}
	n = arb__ctl_recv(CTL_FD, buf, len);
	if (n < (ssize_t) (8 + sizeof(*init)) || buf[0] != ARB__CTL_INIT) {
		return -1;
	}
	memcpy(init, buf + 8, sizeof(*init));
	init->path[sizeof(init->path) - 1] = '\0';
	init->type[sizeof(init->type) - 1] = '\0';
	if ((size_t) n - 8 - sizeof(*init) != init->arg_len) {
		return -1;
	}
	*argn = init->arg_len;
	return 0;
}

int
arb_actor_main(int argc, char **argv)
{
	static uint8_t       buf[ARB__CTL_MAX];
	arb__ctl_init        init;
	const arb_actor_ops *ops;
	arb_ctx             *ctx;
	size_t               argn = 0;
	arb_pid              pid;
	arb_exit             why;
	bool                 standby;
	int                  rv;

	if (argc < 4 || strcmp(argv[1], ARB__ACTOR_ARGV_FLAG) != 0) {
		return 0;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t) atoi(argv[3])) {
		_exit(111);
	}
	signal(SIGPIPE, SIG_IGN);
	standby = strcmp(argv[2], ARB__STANDBY_TYPE) == 0;
	if (standby) {
		// Spawned ahead (spawn.c): have nng's threads up now, then
		// wait as long as it takes for a role.
		arb__transport_warm();
	}
	if (proc_read_init(&init, buf, sizeof(buf), &argn, standby ? -1 : 10000)
	    != 0) {
		if (standby) {
			_exit(0); // the node stopped before it needed us
		}
		fprintf(stderr, "arbor: actor %s: no INIT on fd 3\n", argv[2]);
		_exit(111);
	}
	arb__log_set_level(init.log_level); // the node's level
	if ((ops = arb__actor_type_find(init.type)) == NULL) {
		char text[128];
		snprintf(text, sizeof(text), "unknown actor type '%s'",
		    init.type);
		host_init_failed(NULL, ARB_ENOENT, text);
		_exit(100);
	}
	pid.id = init.pid;
	rv = arb__ctx_open(&ctx, ops, &proc_host, NULL, pid, init.path,
	    &init.addr, init.max_msg, init.hb_ms, NULL, NULL, NULL);
	if (rv != 0) {
		char text[128];
		snprintf(text, sizeof(text), "actor setup: %s",
		    arb_strerror(rv));
		host_init_failed(NULL, rv, text);
		_exit(111);
	}
	ps.ctl_ev = event_new(
	    ctx->base, CTL_FD, EV_READ | EV_PERSIST, proc_ctl_cb, ctx);
	ps.sig_ev[0] = evsignal_new(ctx->base, SIGTERM, proc_sig_cb, ctx);
	ps.sig_ev[1] = evsignal_new(ctx->base, SIGINT, proc_sig_cb, ctx);
	if (ps.ctl_ev == NULL || ps.sig_ev[0] == NULL || ps.sig_ev[1] == NULL ||
	    event_add(ps.ctl_ev, NULL) != 0 ||
	    event_add(ps.sig_ev[0], NULL) != 0 ||
	    event_add(ps.sig_ev[1], NULL) != 0) {
		host_init_failed(NULL, ARB_ENOMEM, "actor setup: events");
		_exit(111);
	}
	arb__ctx_run(ctx, argn ? buf + 8 + sizeof(init) : NULL, argn);
	// The node has the reason and the last words are out (host_exited):
	// nothing left here is worth a teardown.  Closing every nng socket
	// and joining nng's threads took ~1.5 ms, all of it on the restart
	// path, so the process ends now and the kernel releases the rest.
	// atexit handlers do not run (terminate is the actor's cleanup);
	// stdio buffers are flushed.  The status only says whether it was a
	// clean end (skarnet: 0 ok, 111 temporary failure).
	why = ctx->why;
	fflush(NULL);
	_exit(arb_exit_abnormal(&why) ? 111 : 0);
}
