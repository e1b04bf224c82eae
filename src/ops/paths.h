// SPDX-License-Identifier: MIT
// paths.h -- the default control socket path, shared by `arbor run`
// (which listens there) and `arborctl` (which connects there), so that
// the two always agree.  See paths.c.

#ifndef ARBOR_TOOL_PATHS_H
#define ARBOR_TOOL_PATHS_H

#include <stddef.h>

// ARB__SOCK_PATH_MAX is the size of sockaddr_un.sun_path on Linux: a
// socket path is at most ARB__SOCK_PATH_MAX - 1 bytes.
#define ARB__SOCK_PATH_MAX 108

// arb__control_default writes the default control socket path of the
// node called name into buf: "$XDG_RUNTIME_DIR/arbor/NAME.sock" when
// $XDG_RUNTIME_DIR is an absolute path to a directory, else
// "/tmp/arbor-UID/NAME.sock" (UID the effective uid).  Returns 0, or -1
// when the path does not fit in len bytes or in a socket address (buf
// then holds the truncated path, for messages).  Thread: any (reads the
// environment).
int arb__control_default(const char *name, char *buf, size_t len);

#endif // ARBOR_TOOL_PATHS_H
