// SPDX-License-Identifier: MIT
// ticker.c -- the diagnostic actor type "ticker": sends (or calls) a
// message to a target every interval and logs what happens.  Config:
// {target, interval, tag, body, call, timeout, count, log}.  A call
// answered ARB_ENOENT (it reached no actor: another node's noproc, say
// a name not registered there yet) was not delivered: its number is
// sent again at a later tick, as an Erlang client retries on noproc.
// Thread: the actor's loop.

#include "diag.h"
#include "render.h"

#include <event2/event.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICKER_CALLS 64 // calls in flight (a tick with none free waits)

typedef struct ticker ticker;

// One call in flight: the reply callback's arg.
typedef struct ticker_call {
	ticker       *t;
	unsigned long seq;
	bool          used;
} ticker_call;

struct ticker {
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
	ticker_call   calls[TICKER_CALLS];
	unsigned long redo[TICKER_CALLS]; // numbers to call again (noproc)
	size_t        nredo;
};

static void
ticker_parse(arb_cfg *c, ticker *t)
{
	static const char *const keys[] = { "target", "interval", "tag",
		"body", "call", "timeout", "count", "log", NULL };
	const char              *s;
	int64_t                  v;

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
	ticker_call  *c = arg;
	ticker       *t = c->t;
	unsigned long seq = c->seq;
	char          body[256];

	c->used = false;
	if (r->status == ARB_ENOENT && t->nredo < TICKER_CALLS) {
		// Not delivered (noproc): this number again, later.
		t->redo[t->nredo++] = seq;
		diag_emit("ticker path=%s ospid=%d event=call_noproc seq=%lu "
		          "action=retry text=%s",
		    arb_path(ctx), (int) getpid(), seq, r->text);
		return;
	}
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
	ticker       *t = arg;
	arb_pid       to;
	int           rv;
	ticker_call  *c = NULL;
	unsigned long seq;
	size_t        i;

	(void) fd;
	(void) what;
	if (t->count > 0 && t->seq >= (unsigned long) t->count
	    && t->nredo == 0) {
		bool busy = false;

		for (i = 0; i < TICKER_CALLS; i++) {
			busy = busy || t->calls[i].used;
		}
		if (!busy) {
			return; // done: nothing in flight may come back noproc
		}
		diag_timer_arm(t->tick_ev, t->interval_ms);
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
	if (t->call) {
		for (i = 0; i < TICKER_CALLS && c == NULL; i++) {
			c = t->calls[i].used ? NULL : &t->calls[i];
		}
		if (c == NULL) {
			return; // TICKER_CALLS in flight: a later tick
		}
	}
	// A number answered noproc first, else the next one (below count:
	// checked above).
	seq = t->nredo > 0 ? t->redo[0] : t->seq + 1;
	if (t->call) {
		c->t = t;
		c->seq = seq;
		rv = arb_call(t->ctx, to, (uint32_t) t->tag, t->body,
		    t->body_len, t->timeout_ms, ticker_reply_cb, c);
		c->used = rv == ARB_OK;
	} else {
		rv = arb_send_copy(
		    t->ctx, to, (uint32_t) t->tag, t->body, t->body_len);
	}
	if (rv != ARB_OK) {
		if (!t->failing) {
			diag_emit("ticker path=%s ospid=%d event=send_failed "
			          "seq=%lu target=%s error=%s",
			    arb_path(t->ctx), (int) getpid(), seq, t->target,
			    arb_err_name(rv));
		}
		t->failing = true; // not sent: the next tick tries it again
		return;
	}
	t->failing = false;
	if (t->nredo > 0 && t->redo[0] == seq) {
		memmove(t->redo, t->redo + 1, --t->nredo * sizeof(t->redo[0]));
	} else {
		t->seq = seq;
	}
	if (t->log) {
		diag_emit(
		    "ticker path=%s ospid=%d event=sent seq=%lu target=%s "
		    "tag=%lld",
		    arb_path(t->ctx), (int) getpid(), seq, t->target, t->tag);
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
	    diag_in_process(ctx) ? "process" : "thread", t->target,
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

// arbor_plugin_init registers the type when the module is loaded.
int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&ticker_ops);
}
