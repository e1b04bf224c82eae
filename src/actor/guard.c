// SPDX-License-Identifier: MIT
// guard.c -- a process actor's guard: when its node dies, however it
// dies, every descendant of the actor dies too, then the actor (SPEC 12).
//
// A process actor is a subreaper, so whatever its code leaves behind (a
// double fork, a setsid daemon, SIGTERM ignored) stays its descendant.  A
// thread of its own waits on a pidfd of the node; when the node is gone
// (or the control channel says so first: arb__guard_fire) it SIGKILLs
// every descendant it finds in /proc, again until no child is left to
// reap, and ends the process.  (No cgroup of its own: moving a process
// into a cgroup takes the kernel's cgroup threadgroup lock for writing
// and waits for an RCU grace period, ~1.5 ms here, holding back forks
// and thread starts meanwhile; paid on every process actor start, it
// made integration.collector.chaos fail 3 runs of 3.)
// Without a pidfd (Linux before 5.3) the actor falls back to PDEATHSIG
// SIGKILL: it dies with the node, its descendants are left to the node's
// subreaper chain.
// Thread: the guard's own, and the actor's main thread (arb__guard_fire).

#include "../core/proctree.h"
#include "actor_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	int        node_fd; // pidfd of the node
	atomic_int fired;
} guard = { .node_fd = -1 };

_Noreturn void
arb__guard_fire(void)
{
	int64_t dl = arb__now_ms() + 1000;
	pid_t   w;
	int     st;

	if (atomic_exchange(&guard.fired, 1) != 0) {
		for (;;) {
			pause(); // the other caller ends the process
		}
	}
	// Kill what the walk finds and reap it, until the walk finds none
	// (zombies are in /proc too), or a second passed (a descendant the
	// kernel holds cannot be waited for).  Not "until waitpid says
	// ECHILD": under TSan it did not within the second, with no child
	// left in /proc.
	for (;;) {
		pid_t *v;
		size_t n = 0, i;

		if (arb__proctree_list(getpid(), NULL, 0, &v, &n) == 0) {
			for (i = 0; i < n; i++) {
				kill(v[i], SIGKILL);
			}
			free(v);
		}
		while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		}
		if (n == 0 || arb__now_ms() >= dl) {
			break;
		}
		poll(NULL, 0, 2);
	}
	_exit(111);
}

static void *
guard_main(void *arg)
{
	struct pollfd pfd = { .fd = guard.node_fd, .events = POLLIN };

	ARB_UNUSED(arg);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
	}
	arb__guard_fire(); // the node's pidfd is readable: it is gone
	return NULL;
}

int
arb__guard_start(pid_t node)
{
	pthread_t t;
	sigset_t  all, old;
	int       e;

	guard.node_fd = (int) syscall(SYS_pidfd_open, node, 0);
	if (guard.node_fd < 0) {
		return -1; // (a pidfd is always close-on-exec)
	}
	// The guard takes no signal: the actor's own threads handle them.
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&t, NULL, guard_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		close(guard.node_fd);
		guard.node_fd = -1;
		return -1;
	}
	pthread_detach(t);
	return 0;
}
