// SPDX-License-Identifier: MIT
// http.h -- the read-only HTTP endpoint of `arbor run` (see http.c and
// docs/operations.md).

#ifndef ARBOR_TOOL_HTTP_H
#define ARBOR_TOOL_HTTP_H

#include "serve.h"

// arb__http_addr parses "PORT" or "HOST:PORT" (HOST an IPv4 loopback
// address, or localhost) into host and *portp.  ARB_EINVAL with a line
// in why otherwise.  Thread: any.
int arb__http_addr(const char *s, char *host, size_t hostlen, int *portp,
    char *why, size_t whylen);

// arb__http_start serves HTTP on node.http (loopback only) on the node's
// loop and sets run->http.  Without node.http it does nothing and returns
// 0.  When the address can't be bound (in use, ...) it logs why and
// returns ARB_EXIT_SOFTWARE; 0 otherwise.  Call after arb_node_open,
// before arb_node_run.  Thread: node.
int arb__http_start(arb__serve *run);

// arb__http_stop closes the listener and every connection.  Call after
// arb_node_run returned, before arb_node_close.  Calling it when HTTP is
// off is a harmless no-op.  Thread: node.
void arb__http_stop(arb__serve *run);

#endif // ARBOR_TOOL_HTTP_H
