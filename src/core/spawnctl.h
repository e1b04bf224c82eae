// SPDX-License-Identifier: MIT
// spawnctl.h -- starting a process of ours with a control channel on its
// fd 3 (spawnctl.c): process actors and the standby (supervisor/spawn.c),
// the tree loader's config checks (actor/typecheck.c).  Thread: any.

#ifndef ARB_SPAWNCTL_H
#define ARB_SPAWNCTL_H

#include <sys/types.h>

// arb__spawn_ctl starts path with argv by posix_spawn (nng is not
// fork-safe): ctl becomes its fd 3 and every other fd above 2 is closed,
// it gets its own process group (a terminal's Ctrl-C reaches only the
// node), default signal dispositions and an empty signal mask.  Returns
// 0 (*pidp set), or an errno value (the exec's own failure included).
int arb__spawn_ctl(pid_t *pidp, const char *path, char *const argv[], int ctl);

#endif // ARB_SPAWNCTL_H
