// SPDX-License-Identifier: MIT
// diag.c -- the built-in diagnostic actor types echo and ticker, what
// all of them share, and their registration (crasher is crasher.c).
//
// Each type decodes its msgpack config in init with the same reader that
// `arbor check` uses (diag_config_check), so a config that passed the
// check cannot fail there.  They print one line per lifecycle event to
// stderr, "TYPE path=P ospid=N event=E ...", in one write(2) so lines
// from many actors never interleave.  All callbacks run on the actor's
// own loop thread.

#include "diag.h"

#include "diag_int.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t node_pid; // 0 in a process actor: never set there

void
diag_set_node_pid(pid_t pid)
{
	node_pid = pid;
}

bool
diag_in_process(void)
{
	return node_pid != getpid();
}

void
diag_emit(const char *fmt, ...)
{
	char    line[1024];
	va_list ap;
	int     n;
	ssize_t w;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t) n > sizeof(line) - 2) {
		n = (int) sizeof(line) - 2;
	}
	line[n++] = '\n';
	do {
		w = write(STDERR_FILENO, line, (size_t) n);
	} while (w < 0 && errno == EINTR);
}

void
diag_timer_arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

void
diag_timer_free(struct event **evp)
{
	if (*evp != NULL) {
		event_free(*evp);
		*evp = NULL;
	}
}

void
diag_dur(arb_cfg *c, const char *key, int *ms)
{
	int64_t v;

	if (arb_cfg_dur(c, key, 0, INT_MAX, &v) == ARB_OK) {
		*ms = (int) v;
	}
}

static const struct {
	const char *name;
	int         sig;
} signals[] = {
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },
	{ "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },
	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
	{ "SYS", SIGSYS },
};

void
diag_signal(arb_cfg *c, const char *key, int *sig)
{
	const char *s, *p;
	int64_t     v;
	size_t      i;

	if (arb_cfg_type_of(c, key) == ARB_CFG_INT) {
		if (arb_cfg_int(c, key, 1, 31, &v) == ARB_OK) {
			*sig = (int) v;
		}
		return;
	}
	if (arb_cfg_str(c, key, 0, &s) != ARB_OK) {
		return; // absent, or recorded
	}
	p = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(p, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return;
		}
	}
	arb_cfg_err(c, key,
	    "unknown signal \"%.20s\" (SIGSEGV, SIGABRT, SIGKILL, "
	    "SIGTERM, ... or a number)",
	    s);
}

// ---------------------------------------------------------------------------
// echo
// ---------------------------------------------------------------------------
typedef struct echo {
	bool log;
} echo;

static void
echo_parse(arb_cfg *c, echo *e)
{
	static const char *const keys[] = { "log", NULL };

	memset(e, 0, sizeof(*e));
	arb_cfg_keys(c, keys);
	arb_cfg_bool(c, "log", &e->log);
}

static void
echo_check(arb_cfg *c)
{
	echo e;

	echo_parse(c, &e);
}

static int
echo_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_cfg *c;
	echo    *e;
	int      rv;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&c, arg, len)) != ARB_OK) {
		free(e);
		return rv;
	}
	echo_parse(c, e);
	rv = arb_cfg_report(ctx, c);
	arb_cfg_free(c);
	if (rv != ARB_OK) {
		free(e);
		return rv;
	}
	diag_emit("echo path=%s ospid=%d event=init isolation=%s",
	    arb_path(ctx), (int) getpid(),
	    diag_in_process() ? "process" : "thread");
	*statep = e;
	return ARB_OK;
}

static void
echo_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	echo    *e = state;
	uint32_t tag = arb_msg_tag(msg);
	char     body[256];

	if (e->log) {
		diag_render(
		    arb_msg_body(msg), arb_msg_len(msg), body, sizeof(body));
		diag_emit("echo path=%s ospid=%d event=msg tag=%u len=%zu "
		          "request=%s body=%s",
		    arb_path(ctx), (int) getpid(), tag, arb_msg_len(msg),
		    arb_msg_is_request(msg) ? "yes" : "no", body);
	}
	if (tag >= ARB_TAG_SYSTEM) {
		return;
	}
	if (arb_msg_is_request(msg)) {
		arb_reply(ctx, msg, tag, arb_msg_body(msg), arb_msg_len(msg));
	} else {
		// Back to the sender; the node itself (a control command)
		// has no mailbox, and then this is a harmless ARB_ENOENT.
		arb_send_copy(ctx, arb_msg_from(msg), tag, arb_msg_body(msg),
		    arb_msg_len(msg));
	}
}

static void
echo_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	char text[160];

	arb_exit_format(why, text, sizeof(text));
	diag_emit("echo path=%s ospid=%d event=terminate reason=%s",
	    arb_path(ctx), (int) getpid(), text);
	free(state);
}

static const arb_actor_ops echo_ops = {
	.type = "echo",
	.init = echo_init,
	.handle = echo_handle,
	.terminate = echo_terminate,
	.check = echo_check,
};

// ---------------------------------------------------------------------------
// ticker
// ---------------------------------------------------------------------------
typedef struct ticker {
	arb_ctx      *ctx;
	char          target[256];
	int           interval_ms;
	int           timeout_ms;
	long long     tag;
	long long     count; // 0: no limit
	bool          call;
	bool          log;
	void         *body;
	size_t        body_len;
	struct event *tick_ev;
	unsigned long seq;
	bool          missing; // target not found at the last tick
	bool          failing; // the last send failed
} ticker;

static void
ticker_parse(arb_cfg *c, ticker *t)
{
	static const char *const keys[] = { "target", "interval", "tag",
		"body", "call", "timeout", "count", "log", NULL };
	const char *s;
	int64_t     v;

	t->interval_ms = 1000;
	t->timeout_ms = 1000;
	t->tag = 1;
	arb_cfg_keys(c, keys);
	switch (arb_cfg_str(c, "target", sizeof(t->target) - 1, &s)) {
	case ARB_OK:
		snprintf(t->target, sizeof(t->target), "%s", s);
		break;
	case ARB_ENOENT:
		arb_cfg_err(c, "target",
		    "required: the path (root/x) or "
		    "registered name to send to");
		break;
	default:
		break;
	}
	if (arb_cfg_dur(c, "interval", 1, INT_MAX, &v) == ARB_OK) {
		t->interval_ms = (int) v;
	}
	if (arb_cfg_int(c, "tag", 0, (int64_t) ARB_TAG_SYSTEM - 1, &v)
	    == ARB_OK) {
		t->tag = v;
	}
	arb_cfg_bool(c, "call", &t->call);
	if (arb_cfg_dur(c, "timeout", 1, INT_MAX, &v) == ARB_OK) {
		t->timeout_ms = (int) v;
	}
	if (arb_cfg_int(c, "count", 0, 1000000000LL, &v) == ARB_OK) {
		t->count = v;
	}
	arb_cfg_bool(c, "log", &t->log);
}

static void
ticker_check(arb_cfg *c)
{
	ticker t;

	memset(&t, 0, sizeof(t));
	ticker_parse(c, &t);
}

static void
ticker_reply_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	unsigned long seq = (unsigned long) (uintptr_t) arg;
	char          body[256];

	if (r->status == ARB_OK) {
		diag_render(arb_msg_body(r->reply), arb_msg_len(r->reply),
		    body, sizeof(body));
		diag_emit("ticker path=%s ospid=%d event=reply seq=%lu tag=%u "
		          "body=%s",
		    arb_path(ctx), (int) getpid(), seq, arb_msg_tag(r->reply),
		    body);
	} else {
		diag_emit("ticker path=%s ospid=%d event=call_failed seq=%lu "
		          "error=%s",
		    arb_path(ctx), (int) getpid(), seq,
		    arb_err_name(r->status));
	}
}

static void
ticker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	ticker *t = arg;
	arb_pid to;
	int     rv;

	(void) fd;
	(void) what;
	if (t->count > 0 && t->seq >= (unsigned long) t->count) {
		return;
	}
	diag_timer_arm(t->tick_ev, t->interval_ms);
	if ((rv = arb_whereis(t->ctx, t->target, &to)) != ARB_OK) {
		if (!t->missing) {
			diag_emit("ticker path=%s ospid=%d event=no_target "
			          "target=%s error=%s",
			    arb_path(t->ctx), (int) getpid(), t->target,
			    arb_err_name(rv));
		}
		t->missing = true;
		return;
	}
	t->missing = false;
	t->seq++;
	if (t->call) {
		rv = arb_call(t->ctx, to, (uint32_t) t->tag, t->body,
		    t->body_len, t->timeout_ms, ticker_reply_cb,
		    (void *) (uintptr_t) t->seq);
	} else {
		rv = arb_send_copy(
		    t->ctx, to, (uint32_t) t->tag, t->body, t->body_len);
	}
	if (rv != ARB_OK) {
		if (!t->failing) {
			diag_emit("ticker path=%s ospid=%d event=send_failed "
			          "seq=%lu target=%s error=%s",
			    arb_path(t->ctx), (int) getpid(), t->seq,
			    t->target, arb_err_name(rv));
		}
		t->failing = true;
		return;
	}
	t->failing = false;
	if (t->log) {
		diag_emit(
		    "ticker path=%s ospid=%d event=sent seq=%lu target=%s "
		    "tag=%lld",
		    arb_path(t->ctx), (int) getpid(), t->seq, t->target,
		    t->tag);
	}
}

static int
ticker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_cfg    *c;
	const void *body;
	size_t      body_len;
	ticker     *t;
	int         rv;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&c, arg, len)) != ARB_OK) {
		free(t);
		return rv;
	}
	ticker_parse(c, t);
	if (arb_cfg_errors(c) == 0
	    && arb_cfg_raw(c, "body", &body, &body_len) == ARB_OK) {
		// The body is any value, sent as the message's msgpack body.
		if ((t->body = malloc(body_len)) == NULL) {
			arb_cfg_err(c, "body", "out of memory");
		} else {
			memcpy(t->body, body, body_len); // freed in terminate
			t->body_len = body_len;
		}
	}
	rv = arb_cfg_report(ctx, c);
	arb_cfg_free(c);
	if (rv != ARB_OK) {
		free(t->body);
		free(t);
		return rv;
	}
	t->ctx = ctx;
	t->tick_ev = evtimer_new(arb_base(ctx), ticker_tick_cb, t);
	if (t->tick_ev == NULL) {
		free(t->body);
		free(t);
		return ARB_ENOMEM;
	}
	diag_timer_arm(t->tick_ev, t->interval_ms);
	diag_emit("ticker path=%s ospid=%d event=init isolation=%s target=%s "
	          "interval_ms=%d tag=%lld",
	    arb_path(ctx), (int) getpid(),
	    diag_in_process() ? "process" : "thread", t->target,
	    t->interval_ms, t->tag);
	*statep = t;
	return ARB_OK;
}

static void
ticker_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	ticker *t = state;
	char    body[256];

	if (t->log) {
		diag_render(
		    arb_msg_body(msg), arb_msg_len(msg), body, sizeof(body));
		diag_emit("ticker path=%s ospid=%d event=msg tag=%u body=%s",
		    arb_path(ctx), (int) getpid(), arb_msg_tag(msg), body);
	}
}

static void
ticker_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	ticker *t = state;
	char    text[160];

	arb_exit_format(why, text, sizeof(text));
	diag_emit("ticker path=%s ospid=%d event=terminate reason=%s sent=%lu",
	    arb_path(ctx), (int) getpid(), text, t->seq);
	diag_timer_free(&t->tick_ev);
	free(t->body);
	free(t);
}

static const arb_actor_ops ticker_ops = {
	.type = "ticker",
	.init = ticker_init,
	.handle = ticker_handle,
	.terminate = ticker_terminate,
	.check = ticker_check,
};

// ---------------------------------------------------------------------------
// Registration and checking
// ---------------------------------------------------------------------------
void
diag_register(void)
{
	arb_actor_type_register(&echo_ops);
	arb_actor_type_register(&diag_crasher_ops);
	arb_actor_type_register(&ticker_ops);
}
