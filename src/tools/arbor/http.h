// SPDX-License-Identifier: MIT
// http.h -- the read-only HTTP endpoint of `arbor run` (see http.c and
// docs/operations.md).

#ifndef ARBOR_TOOL_HTTP_H
#define ARBOR_TOOL_HTTP_H

#include "services.h"

// arbor_http_start serves HTTP on node.http (loopback only) on the node's
// loop and sets run->http.  Without node.http it does nothing and returns
// 0.  When the address can't be bound (in use, ...) it logs why and
// returns ARB_EXIT_SOFTWARE; 0 otherwise.  Call after arb_node_open,
// before arb_node_run.  Thread: node.
int arbor_http_start(arbor_run *run);

// arbor_http_stop closes the listener and every connection.  Call after
// arb_node_run returned, before arb_node_close.  Calling it when HTTP is
// off is a harmless no-op.  Thread: node.
void arbor_http_stop(arbor_run *run);

#endif // ARBOR_TOOL_HTTP_H
