// SPDX-License-Identifier: MIT
// spawnctl.c -- posix_spawn of a process of ours with its control channel
// on fd 3 (spawnctl.h).  Thread: any (no shared state).

#include "spawnctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

int
arb__spawn_ctl(pid_t *pidp, const char *path, char *const argv[], int ctl)
{
	posix_spawnattr_t          at;
	posix_spawn_file_actions_t fa;
	sigset_t                   all, none;
	int                        e, fd = ctl;

	// dup2(fd, 3) clears close-on-exec, but dup2(3, 3) does nothing: a
	// ctl that is fd 3 already would stay close-on-exec.
	if (ctl == 3 && (fd = fcntl(ctl, F_DUPFD_CLOEXEC, 10)) < 0) {
		return errno;
	}
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at,
	    POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
	        | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(
	    &at, 0); // own group: Ctrl-C reaches the node
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawn_file_actions_init(&fa);
	e = posix_spawn_file_actions_adddup2(&fa, fd, 3);
	if (e == 0) {
		e = posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	}
	if (e == 0) {
		e = posix_spawn(pidp, path, &fa, &at, argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (fd != ctl) {
		close(fd);
	}
	return e;
}
