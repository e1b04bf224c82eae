// SPDX-License-Identifier: MIT
// notify.h -- systemd notification for the arbor program (see notify.c).

#ifndef ARBOR_NOTIFY_H
#define ARBOR_NOTIFY_H

#include <arbor/actor.h>

// arbor_notify_init arms the watchdog timer when systemd asked for one
// (WATCHDOG_USEC).  Call it before arb_node_run.  Thread: node.
void arbor_notify_init(arb_node *node);
// Call from the node hooks of the same names.  Thread: node.
void arbor_notify_ready(arb_node *node);
void arbor_notify_stopping(arb_node *node);
void arbor_notify_changed(arb_node *node);
// arbor_notify_fini releases the timer (before arb_node_close).
void arbor_notify_fini(void);

#endif // ARBOR_NOTIFY_H
