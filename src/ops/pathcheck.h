// SPDX-License-Identifier: MIT
// pathcheck.h -- whether a node could use its control socket's path and
// its run directory, checked without changing anything: by `arbor check`
// (config.c) and by `arbor run` before it listens (control.c), so the
// two refuse the same files.  See pathcheck.c.

#ifndef ARBOR_TOOL_PATHCHECK_H
#define ARBOR_TOOL_PATHCHECK_H

#include "paths.h"

#include <stddef.h>

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

#endif // ARBOR_TOOL_PATHCHECK_H
