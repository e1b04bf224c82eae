// SPDX-License-Identifier: MIT
// alog.c -- arb_log: an actor's (or the node's own) log line, in the
// layout, level filter and rate limit of the library's lines (log.c).
// Thread: loop (with ctx), any (ctx NULL).

#include "actor_int.h"

void
arb_logv(
    arb_ctx *ctx, int level, const char *event, const char *fmt, va_list ap)
{
	arb__logv(level, ctx != NULL ? ctx->path : NULL,
	    event != NULL ? event : "log", fmt, ap);
}

void
arb_log(arb_ctx *ctx, int level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	arb_logv(ctx, level, event, fmt, ap);
	va_end(ap);
}
