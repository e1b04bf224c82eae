// SPDX-License-Identifier: MIT
// start.h -- what the collector's two actor types (collector_parse,
// collector_uplink) both do to start and to find their peers: read and
// report their settings, arm a timer in milliseconds, find an actor by
// path and monitor it.  Thread: the calling actor's loop.

#ifndef COLLECTOR_START_H
#define COLLECTOR_START_H

#include <arbor/actor.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

// col_settings reads the actor's config (its start argument, arg/len)
// into *out with read (which records each problem on the arb_cfg) and
// reports them all (arb_cfg_report): ARB_OK, or the error that stops the
// start.
int col_settings(arb_ctx *ctx, const void *arg, size_t len,
    void (*read)(arb_cfg *cfg, void *out), void *out);

// col_arm (re)arms a timer event to fire in ms milliseconds.
void col_arm(struct event *ev, int64_t ms);

// col_find resolves path (a child path or a registered name) to its slot
// address and monitors the incarnation holding it now (while it
// restarts, that is the dead one or none, and the DOWN comes at once):
// *pid and *mon, and an event=<what>_found line.  ARB_OK, or the error of
// the look-up or the monitor (nothing is monitored then).
int col_find(arb_ctx *ctx, const char *what, const char *path, arb_pid *pid,
    uint64_t *mon);

#endif // COLLECTOR_START_H
