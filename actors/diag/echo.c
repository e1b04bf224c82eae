// SPDX-License-Identifier: MIT
// echo.c -- the diagnostic actor type "echo": sends every message back to
// its sender (answers every request with its own body), optionally
// logging each one.  Config: {log: bool}.  Thread: the actor's loop.

#include "diag.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	    diag_in_process(ctx) ? "process" : "thread");
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

// arbor_plugin_init registers the type when the module is loaded.
int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&echo_ops);
}
