// SPDX-License-Identifier: MIT
// control.h -- the control socket of `arbor run` (see control.c and
// docs/control.md for the wire protocol).

#ifndef ARBOR_TOOL_CONTROL_H
#define ARBOR_TOOL_CONTROL_H

#include "paths.h"
#include "serve.h"

// arb__control_start listens on the node's control socket (node.control,
// or the default path of paths.h) on the node's loop and sets
// run->control.  Returns 0 when the socket is served, and also when the
// default path is already served by another node of the same name (then
// a warning is logged and the node runs without a control socket).
// Otherwise it logs why and returns the exit code for the program:
// ARB_EXIT_CONFIG when the socket's directory is not private (group or
// others have access, another owner, not a directory) or can't be
// created, or the path exists and is not a socket; ARB_EXIT_SOFTWARE
// when a configured path is in use by another node, or nng or libevent
// fail.  Call after arb_node_open, before arb_node_run.
// Thread: node.
int arb__control_start(arb__serve *run);

// arb__control_stop closes the socket (nng removes its file) and
// releases everything.  Call after arb_node_run returned and before
// arb_node_close.  Calling it when nothing is served is a harmless
// no-op.  Thread: node.
void arb__control_stop(arb__serve *run);

#endif // ARBOR_TOOL_CONTROL_H
