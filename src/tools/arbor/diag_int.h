// SPDX-License-Identifier: MIT
// diag_int.h -- what the built-in actor types (diag.c, crasher.c) share.
// Private to those files.  Thread: the actor's loop unless noted.

#ifndef ARBOR_TOOL_DIAG_INT_H
#define ARBOR_TOOL_DIAG_INT_H

#include "render.h"
#include "diag.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <event2/event.h>
#include <stdbool.h>

// diag_in_process is true in a process actor (not in the node process).
// Thread: any.
bool diag_in_process(void);

// diag_emit writes one line (a '\n' is added) to stderr in one write(2).
// Thread: any.
void diag_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// diag_timer_arm adds ev to fire once after ms.
void diag_timer_arm(struct event *ev, int ms);
// diag_timer_free frees *evp (NULL is fine) and clears it.
void diag_timer_free(struct event **evp);

// diag_dur reads a duration of at least 0 ms that fits an int.
void diag_dur(arb_cfg *c, const char *key, int *ms);
// diag_signal reads a signal: "SIGSEGV", "SEGV" or a number 1-31.
void diag_signal(arb_cfg *c, const char *key, int *sig);

// The crasher (crasher.c).
extern const arb_actor_ops diag_crasher_ops;

#endif // ARBOR_TOOL_DIAG_INT_H
