// SPDX-License-Identifier: MIT
// services.c -- the actor API that needs the node: names, monitors, links,
// trap_exit and children started at run time.
//
// Each call is one bounded round trip to the node loop through the host
// (a locked queue for thread actors, the control channel for process
// actors).  Thread: loop.

#include "actor_int.h"

#include <stdio.h>
#include <string.h>

static int
svc(arb_ctx *ctx, arb__req *req)
{
	int rv;

	req->self = ctx->self;
	if ((rv = ctx->host->request(ctx, req)) != 0) {
		return rv;
	}
	return req->rv;
}

static int
svc_name(arb__req *req, const char *name)
{
	if (name == NULL || name[0] == '\0' ||
	    strlen(name) >= sizeof(req->name)) {
		return ARB_EINVAL;
	}
	snprintf(req->name, sizeof(req->name), "%s", name);
	return ARB_OK;
}

int
arb_register(arb_ctx *ctx, const char *name)
{
	arb__req req = { .op = ARB__REQ_REGISTER };

	if (svc_name(&req, name) != 0) {
		return ARB_EINVAL;
	}
	return svc(ctx, &req);
}

int
arb_whereis(arb_ctx *ctx, const char *name, arb_pid *pidp)
{
	arb__req req = { .op = ARB__REQ_WHEREIS };
	int      rv;

	if (pidp == NULL || svc_name(&req, name) != 0) {
		return ARB_EINVAL;
	}
	if ((rv = svc(ctx, &req)) == 0) {
		*pidp = req.pid;
	}
	return rv;
}

int
arb_monitor(arb_ctx *ctx, arb_pid target, uint64_t *refp)
{
	arb__req req = { .op = ARB__REQ_MONITOR, .target = target };
	int      rv;

	if (refp == NULL) {
		return ARB_EINVAL;
	}
	if ((rv = svc(ctx, &req)) == 0) {
		*refp = req.ref;
	}
	return rv;
}

int
arb_demonitor(arb_ctx *ctx, uint64_t ref)
{
	arb__req req = { .op = ARB__REQ_DEMONITOR, .ref = ref };
	int      rv;

	req.self = ctx->self;
	if ((rv = ctx->host->request(ctx, &req)) != 0) {
		return rv;
	}
	// The node answers ARB_ENOENT for a monitor that fired already or
	// that it does not know: harmless here (gather_forget needs it).
	return req.rv == ARB_ENOENT ? ARB_OK : req.rv;
}

int
arb_link(arb_ctx *ctx, arb_pid target)
{
	arb__req req = { .op = ARB__REQ_LINK, .target = target };

	return svc(ctx, &req);
}

int
arb_unlink(arb_ctx *ctx, arb_pid target)
{
	arb__req req = { .op = ARB__REQ_UNLINK, .target = target };

	return svc(ctx, &req);
}

void
arb_trap_exit(arb_ctx *ctx, bool on)
{
	arb__req req = { .op = ARB__REQ_TRAP_EXIT, .flag = on };

	ctx->trap_exit = on;
	svc(ctx, &req);
}

int
arb_start_child(arb_ctx *ctx, const char *sup_path, const void *arg,
    size_t arg_len, arb_pid *pidp)
{
	arb__req req = { .op = ARB__REQ_START_CHILD };
	int      rv;

	if (pidp == NULL || svc_name(&req, sup_path) != 0 ||
	    (arg_len > 0 && arg == NULL) || arg_len > ARB__REQ_ARG_MAX) {
		return ARB_EINVAL;
	}
	req.arg     = arg;
	req.arg_len = arg_len;
	if ((rv = svc(ctx, &req)) == 0) {
		*pidp = req.pid;
	}
	return rv;
}

int
arb_decode_exit(const arb_msg *msg, arb_pid *who, arb_exit *e)
{
	if (msg == NULL || e == NULL ||
	    (msg->tag != ARB_TAG_DOWN && msg->tag != ARB_TAG_EXIT)) {
		return ARB_EINVAL;
	}
	return arb__codec_decode_exit(msg->body, msg->len, who, e);
}
