// SPDX-License-Identifier: MIT
// spawn.c -- start, stop, kill and reap OS-process children.
//
// The only file (with reap in node.c) that calls fork/exec/kill/wait.  nng
// is not fork-safe, so nothing but exec follows a fork (SPEC 17).
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

static void
standby_spawn(arb_node *node)
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

static void    proc_ctl_cb(evutil_socket_t fd, short what, void *arg);
static ssize_t proc_ctl_read(arb__child *c);
static void    proc_ctl_reject(arb__child *c, int rv, size_t n);
static void    proc_ctl_handle(arb__child *c, const arb__ctl_msg *m);
static void proc_pidfd_cb(evutil_socket_t fd, short what, void *arg);

int
arb__proc_start(arb_node *node, arb__child *c)
{
	int           sv[2] = { -1, -1 };
	int           ep[2] = { -1, -1 };
	char          ppid[24];
	const char   *path;
	char *const  *argv;
	char         *pargv[5];
	pid_t         pid;
	int           e = 0;
	ssize_t       r;
	arb__ctl_msg  init;

	if (c->spec.isolation == ARB_PROCESS) {
		if (arb__actor_type_find(c->spec.type) == NULL &&
		    c->spec.exe == NULL) {
			return ARB_ENOENT;
		}
		r = 0; // posix_spawn reports an exec failure itself
		if (c->spec.exe == NULL && standby_take(node, c, &sv[0])) {
			pid = c->ospid;
		} else {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
			        0, sv) != 0) {
				return arb__err_from_errno(errno);
			}
			path = c->spec.exe ? c->spec.exe : node->self_exe;
			proc_argv(pargv, path, c->spec.type, ppid);
			if ((e = proc_spawn(&pid, path, pargv, sv[1])) != 0) {
				goto fail;
			}
		}
	} else {
		path = c->spec.argv[0];
		argv = (char *const *) c->spec.argv;
		if (pipe2(ep, O_CLOEXEC) != 0) {
			e = errno;
			goto fail;
		}
		pid = fork();
		if (pid < 0) {
			e = errno;
			goto fail;
		}
		if (pid == 0) {
			spawn_child(ep[1], getppid(), path, argv);
		}
		setpgid(pid, pid); // also here: the group exists before use
		close(ep[1]);
		ep[1] = -1;
		// EOF: exec succeeded; an int: it failed with that errno.
		do {
			r = read(ep[0], &e, sizeof(e));
		} while (r < 0 && errno == EINTR);
		close(ep[0]);
		ep[0] = -1;
	}
	c->ospid = pid;
	if (c->pidfd < 0) {
		c->pidfd = pidfd_open_(pid);
	}
	arb__idmap_set(&node->by_ospid, (uint64_t) pid, c);
	if (r == (ssize_t) sizeof(e)) {
		// The exec child is gone (exit 127): reap it now.
		arb__proc_close(c);
		return arb__err_from_errno(e);
	}
	if (c->pidfd >= 0) {
		// pidfd readability = the child exited: reap without relying on
		// SIGCHLD alone.
		c->pidfd_ev = event_new(
		    node->base, c->pidfd, EV_READ, proc_pidfd_cb, node);
		if (c->pidfd_ev != NULL) {
			event_add(c->pidfd_ev, NULL);
		}
	}
	if (c->spec.isolation == ARB_PROCESS) {
		if (sv[1] >= 0) {
			close(sv[1]);
		}
		c->ctl_fd = sv[0];
		c->ctl_ev = event_new(node->base, c->ctl_fd,
		    EV_READ | EV_PERSIST, proc_ctl_cb, c);
		if (c->ctl_ev == NULL || event_add(c->ctl_ev, NULL) != 0) {
			arb__proc_close(c);
			return ARB_ENOMEM;
		}
		memset(&init, 0, sizeof(init));
		init.op             = ARB__CTL_INIT;
		init.init.pid       = c->pid;
		init.init.max_msg   = (uint32_t) node->max_msg;
		init.init.log_level = arb__log_level();
		init.init.hb_ms     = arb__hb_ms(c->spec.watchdog_ms);
		init.init.addr      = node->addr;
		init.init.addr.in_node = false;
		init.init.arg       = c->spec.arg;
		init.init.arg_len   = c->spec.arg_len;
		snprintf(init.init.path, sizeof(init.init.path), "%s", c->path);
		snprintf(init.init.type, sizeof(init.init.type), "%s",
		    c->spec.type);
		if (arb__ctl_send(c->ctl_fd, &init) != 0) {
			arb__proc_close(c);
			return ARB_ECLOSED;
		}
	} else {
		// An exec child is READY once exec succeeded.
		arb__child_event(c, ARB__CE_READY, NULL);
	}
	return ARB_OK;
fail:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (ep[0] >= 0) {
		close(ep[0]);
		close(ep[1]);
	}
	return arb__err_from_errno(e);
}

static void
proc_pidfd_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__node_reap(arg);
}

void
arb__proc_stop(arb_node *node, arb__child *c)
{
	ARB_UNUSED(node);
	if (c->ospid <= 0) {
		return;
	}
	if (c->spec.isolation == ARB_PROCESS && c->ctl_fd >= 0) {
		if (arb__ctl_send_op(c->ctl_fd, ARB__CTL_STOP) == 0) {
			return;
		}
	}
	pidfd_kill(c, SIGTERM);
}

void
arb__proc_kill(arb_node *node, arb__child *c)
{
	ARB_UNUSED(node);
	if (c->ospid <= 0) {
		return;
	}
	pidfd_kill(c, SIGKILL);
	kill(-c->ospid, SIGKILL); // and whatever it left in its group
}

void
arb__proc_exit_signal(arb__child *c, const arb_exit *why)
{
	if (c->ctl_fd >= 0) {
		arb__ctl_msg m;

		m.op   = ARB__CTL_KILLSIG;
		m.exit = *why;
		arb__ctl_send(c->ctl_fd, &m);
	} else if (c->ospid > 0) {
		pidfd_kill(c, SIGTERM);
	}
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
arb__proc_reaped(arb_node *node, arb__child *c, int status)
{
	arb_exit e     = { 0 };
	pid_t    ospid = c->ospid;

	// The actor's last control messages (its exit reason) may still sit
	// in the channel: the reap can be dispatched before the channel's
	// event.  Read them first, in order.
	while (c->ctl_fd >= 0 && c->ospid == ospid && proc_ctl_read(c) > 0) {
	}
	if (c->ospid != ospid) {
		// A start failure in those messages already closed this
		// process, and the restart it caused may have spawned the
		// next one at once: this status is not the new process's.
		return;
	}
	if (c->hung) {
		e.kind = ARB_EXIT_HUNG;
		snprintf(e.text, sizeof(e.text), "watchdog %d ms",
		    c->spec.watchdog_ms);
	} else if (c->killed) {
		e.kind = ARB_EXIT_KILLED;
	} else if (c->reported) {
		e = c->report;
	} else if (WIFSIGNALED(status)) {
		if (c->stop_sent && WTERMSIG(status) == SIGTERM) {
			e.kind = ARB_EXIT_SHUTDOWN;
		} else {
			e.kind = ARB_EXIT_CRASHED;
			e.code = WTERMSIG(status);
		}
	} else if (c->stop_sent) {
		e.kind = ARB_EXIT_SHUTDOWN;
	} else if (WEXITSTATUS(status) == 0) {
		e.kind = ARB_EXIT_NORMAL;
	} else {
		e.kind = ARB_EXIT_ERROR;
		e.code = WEXITSTATUS(status);
		snprintf(e.text, sizeof(e.text), "exit status %d",
		    WEXITSTATUS(status));
	}
	arb__idmap_del(&node->by_ospid, (uint64_t) c->ospid);
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

// A process actor's run-time start answered once the child is READY.
typedef struct proc_waiter {
	arb_node *node;
	pid_t     ospid;
	arb_pid   requester;
	arb__req  req;
} proc_waiter;

static void
proc_started(void *arg, int rv, arb_pid pid)
{
	proc_waiter *w = arg;

	w->req.rv  = rv;
	w->req.pid = pid;
	arb__node_reply_ctl(w->node, w->ospid, w->requester, &w->req);
	arb__free(w);
}

// proc_ctl_read reads and handles one datagram of c's actor: > 0 when
// one was read (handled, or rejected as malformed), 0 on EOF, < 0 when
// none was there (errno).
static ssize_t
proc_ctl_read(arb__child *c)
{
	uint8_t        buf[ARB__CTL_MAX];
	arb__ctl_msg   m;
	ssize_t        n;
	int            rv;

	n = arb__ctl_recv(c->ctl_fd, buf, sizeof(buf));
	if (n < 0 && errno == EMSGSIZE) {
		proc_ctl_reject(c, ARB_EMSGSIZE, 0);
		return 1; // discarded: on to the next
	}
	if (n <= 0) {
		return n;
	}
	if ((rv = arb__ctl_decode(&m, buf, (size_t) n, ARB__CTL_TO_NODE)) !=
	    0) {
		proc_ctl_reject(c, rv, (size_t) n);
		return n;
	}
	proc_ctl_handle(c, &m);
	return n;
}

// Control messages from a process actor.
static void
proc_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__child *c = arg;
	ssize_t     n;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	n = proc_ctl_read(c);
	if (n <= 0) {
		// EOF: the actor is gone or closed its channel; the reap
		// delivers the exit.
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			event_del(c->ctl_ev);
		}
	}
}

// proc_ctl_reject counts and logs a malformed control message: it is
// never acted on.  The count shows in the actor's `rejected` statistic.
static void
proc_ctl_reject(arb__child *c, int rv, size_t n)
{
	c->ctl_rejected++;
	arb__log(ARB_LOG_WARN, c->path,
	    "event=bad_control_message error=%s bytes=%zu%s rejected=%llu",
	    arb_err_name(rv), n > 0 ? n : (size_t) ARB__CTL_MAX,
	    n > 0 ? "" : "+", (unsigned long long) c->ctl_rejected);
}

// proc_ctl_handle acts on one well-formed control message of c's actor.
static void
proc_ctl_handle(arb__child *c, const arb__ctl_msg *m)
{
	arb_node    *node = c->node;
	arb__req     req;
	arb__ctl_msg reply;

	switch (m->op) {
	case ARB__CTL_READY:
		if (c->spec.exe == NULL) {
			// For the next start of our program, which may follow
			// at once (the next child of a sequential start).
			standby_spawn(node);
		}
		arb__child_event(c, ARB__CE_READY, NULL);
		break;
	case ARB__CTL_IGNORE:
		arb__child_event(c, ARB__CE_IGNORE, NULL);
		break;
	case ARB__CTL_FAIL:
		c->reported = true;
		c->report   = m->exit;
		arb__child_event(c, ARB__CE_FAIL, &m->exit);
		break;
	case ARB__CTL_EXIT:
		c->report   = m->exit;
		c->reported = true;
		break;
	case ARB__CTL_LISTEN:
		arb__thread_listen(node, m->pid);
		break;
	case ARB__CTL_HB:
		c->last_hb_ms = arb__now_ms();
		c->stats      = m->stats;
		if (m->metrics != NULL) {
			// Kept as sent; decoded, and checked, when a tool
			// asks (arb_node_walk).  A copy that fails keeps the
			// last one.
			arb__buf_reset(&c->metrics);
			if (arb__buf_append(&c->metrics, m->metrics,
			        m->metrics_len) != ARB_OK) {
				arb__buf_reset(&c->metrics);
			}
		}
		if (c->watchdog_timer != NULL && c->spec.watchdog_ms > 0) {
			struct timeval tv = { c->spec.watchdog_ms / 1000,
				(c->spec.watchdog_ms % 1000) * 1000 };
			evtimer_add(c->watchdog_timer, &tv);
		}
		break;
	case ARB__CTL_REQ:
		req      = m->req; // its arg points into the datagram
		req.self = c->pid; // who asks is known, never claimed
		{
			proc_waiter *w = arb__alloc(sizeof(*w));
			if (w == NULL) {
				req.rv = ARB_ENOMEM;
			} else {
				w->node      = node;
				w->requester = c->pid;
				w->ospid     = c->ospid;
				w->req       = req;
				w->req.arg   = NULL;
			}
			if (w != NULL &&
			    arb__node_service(node, &req, proc_started, w)) {
				break; // answered at READY
			}
			arb__free(w);
		}
		reply.op  = ARB__CTL_REP;
		reply.req = req;
		arb__ctl_send(c->ctl_fd, &reply);
		break;
	default: // only actor -> node ops decode here
		break;
	}
}
