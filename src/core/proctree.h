// SPDX-License-Identifier: MIT
// proctree.h -- the descendants of a process, read from /proc.
//
// Shared by the node (supervisor/spawn.c: what is left when the tree has
// stopped), process actors (actor/guard.c: what an actor leaves when its
// node dies) and arbor-shim (src/shim/shim.c: what an exec child left
// behind), so it needs nothing but libc.  Thread: any (no shared state).

#ifndef ARB_PROCTREE_H
#define ARB_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

// arb__proctree_list stores in *pidsp (malloc'd, the caller frees it) the
// pids of every process whose parent chain reaches root, except the
// subtrees of the pids in skip[0..nskip) (which are left out with all
// their descendants), and their number in *np.  A snapshot: processes
// may start or end meanwhile.  Returns 0, or an errno value (*pidsp NULL
// and *np 0).
int arb__proctree_list(pid_t root, const pid_t *skip, size_t nskip,
    pid_t **pidsp, size_t *np);

// arb__proctree_ppid reads pid's parent from /proc/PID/stat (-1: gone).
pid_t arb__proctree_ppid(pid_t pid);

// arb__proctree_comm writes pid's command name (/proc/PID/comm, without
// its newline) into buf; "?" when it is gone.
void arb__proctree_comm(pid_t pid, char *buf, size_t len);

#endif // ARB_PROCTREE_H
