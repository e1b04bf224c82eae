// SPDX-License-Identifier: MIT
// diag.h -- what the diagnostic actor types (echo.c, crasher.c,
// ticker.c) share (common.c).  Private to this folder.  Thread: the
// actor's loop unless noted.
//
// They print one line per lifecycle event to stderr, "TYPE path=P
// ospid=N event=E ...", in one write(2) so lines of many actors never
// interleave; tests and users read them.

#ifndef ARBOR_ACTORS_DIAG_H
#define ARBOR_ACTORS_DIAG_H

#include <arbor/actor.h>

#include <event2/event.h>
#include <stdbool.h>

// diag_in_process is true in a process actor, false in a thread of the
// node (where a crasher must not really _exit or raise a signal).
bool diag_in_process(arb_ctx *ctx);

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

#endif // ARBOR_ACTORS_DIAG_H
