// SPDX-License-Identifier: MIT
// notify.h -- systemd notification for the arbor program (see notify.c).

#ifndef ARBOR_NOTIFY_H
#define ARBOR_NOTIFY_H

#include <arbor/actor.h>

// arb__notify_init arms the watchdog timer when systemd asked for one
// (WATCHDOG_USEC).  Call it before arb_node_run.  Thread: node.
void arb__notify_init(arb_node *node);
// Call from the node hooks of the same names.  Thread: node.
void arb__notify_ready(arb_node *node);
void arb__notify_stopping(arb_node *node);
void arb__notify_changed(arb_node *node);
// arb__notify_fini releases the timer (before arb_node_close).
void arb__notify_fini(void);

#endif // ARBOR_NOTIFY_H
