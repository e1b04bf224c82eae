// SPDX-License-Identifier: MIT
// diag.h -- the built-in diagnostic actor types of the arbor program:
// `echo`, `crasher` and `ticker` (docs/config.md, "Built-in actor
// types").
//
// They let a user rehearse every failure of a tree without writing code:
// start failures, late or missing READY, exits with any reason, stop
// requests that are honoured slowly or never, and message traffic.  They
// work in thread and process isolation.  Each prints its lifecycle to
// stderr as one line per event, e.g.
//     crasher path=root/c event=init ospid=4242 isolation=process init=ok
// Thread: diag_register and diag_set_node_pid on main; the actors on
// their own loops.

#ifndef ARBOR_TOOL_DIAG_H
#define ARBOR_TOOL_DIAG_H

#include <stddef.h>
#include <sys/types.h>

// diag_register registers the three types.  Call it before
// arb_actor_main.  This function can't fail.
void diag_register(void);

// diag_set_node_pid tells the actors which OS process is the node, so a
// crasher knows whether it runs in its own process (where it may really
// _exit or raise a signal) or in a thread of the node (where it reports
// the same reasons without taking the node down).
void diag_set_node_pid(pid_t pid);

#endif // ARBOR_TOOL_DIAG_H
