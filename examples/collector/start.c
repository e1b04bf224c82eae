// SPDX-License-Identifier: MIT
// start.c -- the collector's actors' start-up and peer look-up
// (start.h).

#include "start.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/time.h>

int
col_settings(arb_ctx *ctx, const void *arg, size_t len,
    void (*read)(arb_cfg *cfg, void *out), void *out)
{
	arb_cfg *cfg;
	int      rv;

	if ((rv = arb_cfg_alloc(&cfg, arg, len)) != ARB_OK) {
		return rv;
	}
	read(cfg, out);
	rv = arb_cfg_report(ctx, cfg);
	arb_cfg_free(cfg);
	return rv;
}

void
col_arm(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
		.tv_usec = (suseconds_t) (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

int
col_find(arb_ctx *ctx, const char *what, const char *path, arb_pid *pid,
    uint64_t *mon)
{
	char ev[48];
	int  rv;

	if ((rv = arb_whereis(ctx, path, pid)) != ARB_OK) {
		return rv;
	}
	if ((rv = arb_monitor(ctx, *pid, mon)) != ARB_OK) {
		*mon = 0;
		return rv;
	}
	snprintf(ev, sizeof(ev), "%s_found", what);
	arb_log(ctx, ARB_LOG_INFO, ev, "%s=%s pid=%" PRIu64, what, path,
	    pid->id);
	return ARB_OK;
}
