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

// arb__control_path_check checks, changing nothing, that a node could
// serve its control socket at path: the directory exists and is private
// (a directory, not a symbolic link, this user's, no access for group or
// others, files can be created in it) or can be created; path is missing
// or a socket (a stale one is removed at start); PATH.lock is missing or
// a regular file.  Returns 0, or ARB_EXIT_CONFIG with the reason in why:
// what `arbor run` refuses with 78, found by `arbor check`.  A path in
// use by a running node is no problem here.  Thread: any.
int arb__control_path_check(const char *path, char *why, size_t len);

// ARB__RUN_DIR_MAX is the longest run directory: the mailbox sockets in
// it, "RUN_DIR/4294967295.link" (route.c), must fit in sun_path.
#define ARB__RUN_DIR_MAX (ARB__SOCK_PATH_MAX - 1 - 16)

// arb__run_dir_check checks, changing nothing, that a node could use dir
// as its run directory (arb_node_opts.run_dir): at most
// ARB__RUN_DIR_MAX bytes, a directory (or a symbolic link to one) this
// user can create files in, or missing and creatable.  Returns 0, or
// ARB_EXIT_CONFIG with the reason in why.  Thread: any.
int arb__run_dir_check(const char *dir, char *why, size_t len);

// arb__control_stop closes the socket (nng removes its file) and
// releases everything.  Call after arb_node_run returned and before
// arb_node_close.  Calling it when nothing is served is a harmless
// no-op.  Thread: node.
void arb__control_stop(arb__serve *run);

#endif // ARBOR_TOOL_CONTROL_H
