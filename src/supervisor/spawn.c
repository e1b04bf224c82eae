// SPDX-License-Identifier: MIT
// spawn.c -- the OS processes of the tree: spawning, the standby,
// signalling, watching and reaping one child's process.
//
// The only file (with the reap loop in node.c) that calls
// fork/exec/kill/wait.  nng is not fork-safe, so nothing but exec follows
// a fork (SPEC 17).  The process and exec drivers (drv_process.c,
// drv_exec.c) build their children on what is here.
//
// Process actors (arbor programs) start with posix_spawn (glibc: a vfork
// style clone, no copy of the node's page tables): their own process
// group, default signal dispositions, an empty signal mask, the control
// channel on fd 3 and every other fd closed.  arb_actor_main sets
// PDEATHSIG itself, and exits if the node died before it could.
//
// Exec children (any program) cannot do that, so they are forked and the
// child does only async-signal-safe work before exec: the same as above
// plus PDEATHSIG.  An exec failure comes back over a CLOEXEC pipe.
// Thread: node.

#include "../node/node_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int
pidfd_open_(pid_t pid)
{
	return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int
pidfd_kill(arb__child *c, int sig)
{
	if (c->pidfd >= 0) {
		return (int) syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
	}
	return c->ospid > 0 ? kill(c->ospid, sig) : -1;
}

// Runs in an exec child between fork and exec: async-signal-safe calls
// only.
static _Noreturn void
spawn_child(int errpipe, pid_t parent, const char *path, char *const argv[])
{
	sigset_t         none;
	struct sigaction dfl;
	int              sig, e;

	setpgid(0, 0); // own group: a terminal's Ctrl-C reaches only the node
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) {
		_exit(111); // the node died before we could notice
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &dfl, NULL); // fails harmlessly for KILL/STOP
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	// Everything above 2 is closed at exec; errpipe stays open until
	// exec succeeds.
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		int fd;
		for (fd = 3; fd < 1024; fd++) {
			if (fd != errpipe) {
				close(fd);
			}
		}
	}
	fcntl(errpipe, F_SETFD, FD_CLOEXEC);
	execve(path, argv, environ);
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0) {
		// nothing more we can do
	}
	_exit(127);
}

// proc_spawn starts a process actor with posix_spawn, ctl on its fd 3.
// Returns 0 or an errno value (the exec's own failure included).
// proc_spawn starts a process actor with posix_spawn, ctl on its fd 3.
// Returns 0 or an errno value (the exec's own failure included).
static int
proc_spawn(pid_t *pidp, const char *path, char *const argv[], int ctl)
{
	posix_spawnattr_t          at;
	posix_spawn_file_actions_t fa;
	sigset_t                   all, none;
	int                        e, fd = ctl;

	if (ctl == 3 && (fd = fcntl(ctl, F_DUPFD_CLOEXEC, 10)) < 0) {
		return errno; // dup2(3, 3) would leave it close-on-exec
	}
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	        POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&at, 0); // own group: Ctrl-C reaches the node
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

// proc_argv fills argv (5 slots) to run a process actor of type `type`
// from path; ppid receives the node's pid as text.
static void
proc_argv(char *argv[5], const char *path, const char *type, char ppid[24])
{
	snprintf(ppid, 24, "%d", (int) getpid());
	argv[0] = (char *) path;
	argv[1] = (char *) ARB__ACTOR_ARGV_FLAG;
	argv[2] = (char *) type;
	argv[3] = ppid;
	argv[4] = NULL;
}

// ---------------------------------------------------------------------------
// Standby
// ---------------------------------------------------------------------------
// A process actor of the node's own program costs a spawn, the dynamic
// loading of libarbor, nng, libevent and msgpack, and the start of nng's
// threads before its init can run: ~3 ms here, against ~0.6 ms for a
// posix_spawn of /bin/true.  So the node keeps one standby: its program
// spawned ahead (type ARB__STANDBY_TYPE), loaded, nng started, waiting on
// fd 3 for an INIT.  The next process actor of the node's program takes
// it, and the node spawns the next standby once that actor is READY (not
// before: it would compete with the actor's start for the CPU), before
// the supervisor goes on, so a sequential start's next child can take it.  A
// standby is a child like the others (own process group, default
// signals, PDEATHSIG set by arb_actor_main); it ends when the node stops
// (EOF on fd 3, then SIGKILL) and is always reaped.

// env_hash fingerprints the environment a child would get: a standby
// spawned before the node changed it (the arbor program exports the
// plugins it loads in $ARBOR_PLUGINS, a reload may add one) would not
// match a fresh spawn, so it is not used.
static uint64_t
env_hash(void)
{
	uint64_t h = 14695981039346656037ull; // FNV-1a
	char   **e;

	for (e = environ; e != NULL && *e != NULL; e++) {
		const unsigned char *p;

		for (p = (const unsigned char *) *e; *p != '\0'; p++) {
			h = (h ^ *p) * 1099511628211ull;
		}
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return h;
}

void
arb__proc_standby_spawn(arb_node *node)
{
	int   sv[2];
	char  ppid[24];
	char *argv[5];
	pid_t pid;

	if (node->standby_pid > 0 || node->stop_begun) {
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		return; // the next start spawns as usual
	}
	proc_argv(argv, node->self_exe, ARB__STANDBY_TYPE, ppid);
	if (proc_spawn(&pid, node->self_exe, argv, sv[1]) != 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[1]);
	node->standby_env   = env_hash();
	node->standby_pid   = pid;
	node->standby_ctl   = sv[0];
	node->standby_pidfd = pidfd_open_(pid);
	arb__log(ARB_LOG_INFO, NULL, "event=standby ospid=%d", (int) pid);
}

void
arb__proc_standby_end(arb_node *node, bool reaped)
{
	int st;

	if (node->standby_pid <= 0) {
		return;
	}
	close(node->standby_ctl); // EOF: it exits by itself
	if (!reaped) {
		if (node->standby_pidfd >= 0) {
			syscall(SYS_pidfd_send_signal, node->standby_pidfd,
			    SIGKILL, NULL, 0);
		} else {
			kill(node->standby_pid, SIGKILL);
		}
		while (waitpid(node->standby_pid, &st, 0) < 0 && errno == EINTR) {
		}
	}
	if (node->standby_pidfd >= 0) {
		close(node->standby_pidfd);
	}
	node->standby_pid   = 0;
	node->standby_pidfd = -1;
	node->standby_ctl   = -1;
}

// standby_take gives the standby, if alive, to c: its pid and pidfd, and
// its control channel in *ctl.
static bool
standby_take(arb_node *node, arb__child *c, int *ctl)
{
	struct pollfd pfd = { .fd = node->standby_pidfd, .events = POLLIN };

	if (node->standby_pid <= 0) {
		return false;
	}
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 0 ||
	    node->standby_env != env_hash()) {
		// It died, or the environment changed since it was spawned.
		arb__proc_standby_end(node, false);
		return false;
	}
	c->ospid            = node->standby_pid;
	c->pidfd            = node->standby_pidfd;
	*ctl                = node->standby_ctl;
	node->standby_pid   = 0;
	node->standby_pidfd = -1;
	node->standby_ctl   = -1;
	return true;
}

// ---------------------------------------------------------------------------
// Spawning
// ---------------------------------------------------------------------------
int
arb__proc_spawn_actor(arb_node *node, arb__child *c, int *ctlp)
{
	int   sv[2];
	char  ppid[24];
	char *pargv[5];
	const char *path;
	pid_t pid;
	int   e;

	if (c->spec.exe == NULL && standby_take(node, c, ctlp)) {
		return ARB_OK;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		return arb__err_from_errno(errno);
	}
	path = c->spec.exe ? c->spec.exe : node->self_exe;
	proc_argv(pargv, path, c->spec.type, ppid);
	// posix_spawn reports an exec failure itself.
	if ((e = proc_spawn(&pid, path, pargv, sv[1])) != 0) {
		close(sv[0]);
		close(sv[1]);
		return arb__err_from_errno(e);
	}
	close(sv[1]);
	c->ospid = pid;
	*ctlp    = sv[0];
	return ARB_OK;
}

int
arb__proc_spawn_exec(arb__child *c)
{
	int          ep[2];
	const char  *path = c->spec.argv[0];
	char *const *argv = (char *const *) c->spec.argv;
	pid_t        pid;
	int          e = 0, st;
	ssize_t      r;

	if (pipe2(ep, O_CLOEXEC) != 0) {
		return arb__err_from_errno(errno);
	}
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(ep[0]);
		close(ep[1]);
		return arb__err_from_errno(e);
	}
	if (pid == 0) {
		spawn_child(ep[1], getppid(), path, argv);
	}
	setpgid(pid, pid); // also here: the group exists before use
	close(ep[1]);
	// EOF: exec succeeded; an int: it failed with that errno.
	do {
		r = read(ep[0], &e, sizeof(e));
	} while (r < 0 && errno == EINTR);
	close(ep[0]);
	if (r == (ssize_t) sizeof(e)) {
		// The child is gone (exit 127): reap it now.
		kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
		}
		return arb__err_from_errno(e);
	}
	c->ospid = pid;
	return ARB_OK;
}

// ---------------------------------------------------------------------------
// Watching, signalling, reaping
// ---------------------------------------------------------------------------
static void
proc_pidfd_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__node_reap(arg);
}

void
arb__proc_watch(arb_node *node, arb__child *c)
{
	if (c->pidfd < 0) {
		c->pidfd = pidfd_open_(c->ospid);
	}
	arb__idmap_set(&node->by_ospid, (uint64_t) c->ospid, c);
	if (c->pidfd >= 0) {
		// pidfd readability = the child exited: reap without relying on
		// SIGCHLD alone.
		c->pidfd_ev = event_new(
		    node->base, c->pidfd, EV_READ, proc_pidfd_cb, node);
		if (c->pidfd_ev != NULL) {
			event_add(c->pidfd_ev, NULL);
		}
	}
}

void
arb__proc_signal(arb__child *c, int sig)
{
	if (c->ospid > 0) {
		pidfd_kill(c, sig);
	}
}

void
arb__proc_kill(arb__child *c)
{
	if (c->ospid <= 0) {
		return;
	}
	c->killed = true;
	pidfd_kill(c, SIGKILL);
	kill(-c->ospid, SIGKILL); // and whatever it left in its group
}

// proc_release_fds closes what watched a child process: pidfd, control
// channel and their events.
static void
proc_release_fds(arb__child *c)
{
	if (c->pidfd_ev != NULL) {
		event_free(c->pidfd_ev);
		c->pidfd_ev = NULL;
	}
	if (c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (c->ctl_ev != NULL) {
		event_free(c->ctl_ev);
		c->ctl_ev = NULL;
	}
	if (c->ctl_fd >= 0) {
		close(c->ctl_fd);
		c->ctl_fd = -1;
	}
}

void
arb__proc_ended(arb__child *c, int status)
{
	arb__proc_end end = { .status = status, .hung = c->hung,
		.killed = c->killed, .stop_sent = c->stop_sent,
		.reported = c->reported ? &c->report : NULL,
		.watchdog_ms = c->spec.watchdog_ms };
	arb_exit      e;

	arb__proc_reason(&end, &e);
	arb__idmap_del(&c->node->by_ospid, (uint64_t) c->ospid);
	// Leftovers of the child's process group (grandchildren) die with
	// it; the subreaper collects them.  (ospid > 0: never signal our own
	// group.)
	assert(c->ospid > 0);
	kill(-c->ospid, SIGKILL);
	c->ospid = 0;
	proc_release_fds(c);
	arb__child_event(c, ARB__CE_EXIT, &e);
}

// arb__proc_close kills and reaps what is left of c's process, without
// reporting anything.  Used on start failures and when freeing.
void
arb__proc_close(arb__child *c)
{
	if (c->ospid > 0) {
		arb_node *node = c->node;
		int       st;

		pidfd_kill(c, SIGKILL);
		kill(-c->ospid, SIGKILL);
		while (waitpid(c->ospid, &st, 0) < 0 && errno == EINTR) {
		}
		arb__idmap_del(&node->by_ospid, (uint64_t) c->ospid);
		c->ospid = 0;
	}
	proc_release_fds(c);
}

