// SPDX-License-Identifier: MIT
// spawn.c -- the OS processes of the tree: spawning, the standby,
// signalling, watching and reaping one child's process.
//
// The only file that calls fork/exec/kill/wait, the reap loop included.
// nng is not fork-safe, so nothing but exec follows a fork (SPEC 17).
// The process and exec drivers (drv_process.c, drv_exec.c) build their
// children on what is here.
//
// Process actors (arbor programs) start with posix_spawn (glibc: a vfork
// style clone, no copy of the node's page tables): their own process
// group, default signal dispositions, an empty signal mask, the control
// channel on fd 3 and every other fd closed.  arb_actor_main guards
// itself against the node's death (actor/guard.c), and exits if the node
// died before it could.
//
// Exec children (any program) cannot do that, so they are forked and the
// child does only async-signal-safe work before exec: the same as above
// plus PDEATHSIG.  An exec failure comes back over a CLOEXEC pipe.
// Thread: node.

#include "../core/proctree.h"
#include "sup_rt.h"
#include "../actor/typecheck.h"
#include "../core/spawnctl.h"

#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
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
		return (int) syscall(
		    SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
	}
	return c->ospid > 0 ? kill(c->ospid, sig) : -1;
}

// exec_child runs in the child forked for an exec child, between fork and
// exec: async-signal-safe calls only.  It becomes the shim (shim.c), the
// channel on fd 3, the output pipes on fds 1 and 2.
static _Noreturn void
exec_child(int errpipe, pid_t parent, const char *shim, char *const argv[],
    int chan, int out, int err)
{
	sigset_t         none;
	struct sigaction dfl;
	int              sig, e;

	setpgid(0, 0); // own group: a terminal's Ctrl-C reaches only the node
	// The shim takes it on its signalfd: the node died, end everything.
	prctl(PR_SET_PDEATHSIG, SIGTERM);
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
	// Above every target first (any of them may be 0-3), then in place
	// (dup2 leaves the new fd open across exec).
	chan = fcntl(chan, F_DUPFD, 10);
	out  = fcntl(out, F_DUPFD, 10);
	err  = fcntl(err, F_DUPFD, 10);
	if (chan < 0 || out < 0 || err < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0 || dup2(chan, 3) < 0) {
		e = errno;
		goto fail;
	}
	// Everything above 3 is closed at exec; errpipe stays open until
	// exec succeeds.
	if (syscall(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		int fd;
		for (fd = 4; fd < 1024; fd++) {
			if (fd != errpipe) {
				close(fd);
			}
		}
	}
	fcntl(errpipe, F_SETFD, FD_CLOEXEC);
	execve(shim, argv, environ);
	e = errno;
fail:
	if (write(errpipe, &e, sizeof(e)) < 0) {
		// nothing more we can do
	}
	_exit(127);
}

// PROC_ARGV is the size of proc_argv's array.
#define PROC_ARGV (5 + ARB__STANDBY_ROOM)

// proc_argv fills argv to run a process actor of type `type` from path;
// ppid receives the node's pid as text.  A standby's ends in
// ARB__STANDBY_ROOM empty arguments: the room that its type, once known,
// takes in place of "-" (process.c).
static void
proc_argv(char *argv[PROC_ARGV], const char *path, const char *type,
    char ppid[24])
{
	int n = 0;

	snprintf(ppid, 24, "%d", (int) getpid());
	argv[n++] = (char *) path;
	argv[n++] = (char *) ARB__ACTOR_ARGV_FLAG;
	argv[n++] = (char *) type;
	argv[n++] = ppid;
	if (strcmp(type, ARB__STANDBY_TYPE) == 0) {
		while (n < 4 + ARB__STANDBY_ROOM) {
			argv[n++] = (char *) "";
		}
	}
	argv[n] = NULL;
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
// it, and the node spawns the next standby as soon as that actor has its
// INIT (drv_process.c), so the standby loads while the actor runs its
// init.  Spawned at READY instead, it had only microseconds before a
// restart loop's next crash (the next child of a sequential start
// likewise) and was still loading, ~1.2 ms quiet, 3 ms loaded, on the
// restart's path; the two now share the CPUs during the init.  A
// standby is a child like the others (own process group, default
// signals, its guard); it ends when the node stops
// (EOF on fd 3, then SIGKILL) and is always reaped.  A node opened with
// no_standby (a tree's node.standby: false) never spawns one: a process
// less, each start pays the spawn and the loading.

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
arb__proc_standby_spawn(arb__stree *tree)
{
	int   sv[2];
	char  ppid[24];
	char *argv[PROC_ARGV];
	pid_t pid;

	if (tree->standby_pid > 0 || tree->stop_begun || tree->no_standby) {
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		return; // the next start spawns as usual
	}
	proc_argv(argv, tree->self_exe, ARB__STANDBY_TYPE, ppid);
	if (arb__spawn_ctl(&pid, tree->self_exe, argv, sv[1]) != 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[1]);
	tree->standby_env   = env_hash();
	tree->standby_pid   = pid;
	tree->standby_ctl   = sv[0];
	tree->standby_pidfd = pidfd_open_(pid);
	arb__log(ARB_LOG_INFO, NULL, "event=standby ospid=%d", (int) pid);
}

void
arb__proc_standby_end(arb__stree *tree, bool reaped)
{
	int st;

	if (tree->standby_pid <= 0) {
		return;
	}
	close(tree->standby_ctl); // EOF: it exits by itself
	if (!reaped) {
		if (tree->standby_pidfd >= 0) {
			syscall(SYS_pidfd_send_signal, tree->standby_pidfd,
			    SIGKILL, NULL, 0);
		} else {
			kill(tree->standby_pid, SIGKILL);
		}
		while (waitpid(tree->standby_pid, &st, 0) < 0
		    && errno == EINTR) {
		}
	}
	if (tree->standby_pidfd >= 0) {
		close(tree->standby_pidfd);
	}
	tree->standby_pid   = 0;
	tree->standby_pidfd = -1;
	tree->standby_ctl   = -1;
}

// standby_take gives the standby, if alive, to c: its pid and pidfd, and
// its control channel in *ctl.
static bool
standby_take(arb__stree *tree, arb__child *c, int *ctl)
{
	struct pollfd pfd = { .fd = tree->standby_pidfd, .events = POLLIN };

	if (tree->standby_pid <= 0) {
		return false;
	}
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 0 ||
	    tree->standby_env != env_hash()) {
		// It died, or the environment changed since it was spawned.
		arb__proc_standby_end(tree, false);
		return false;
	}
	c->ospid            = tree->standby_pid;
	c->pidfd            = tree->standby_pidfd;
	*ctl                = tree->standby_ctl;
	tree->standby_pid   = 0;
	tree->standby_pidfd = -1;
	tree->standby_ctl   = -1;
	return true;
}

// ---------------------------------------------------------------------------
// Spawning
// ---------------------------------------------------------------------------
int
arb__proc_spawn_actor(arb__stree *tree, arb__child *c, int *ctlp)
{
	int   sv[2];
	char  ppid[24];
	char *pargv[PROC_ARGV];
	const char *path;
	pid_t pid;
	int   e;

	if (c->spec.exe == NULL && standby_take(tree, c, ctlp)) {
		return ARB_OK;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		return arb__err_from_errno(errno);
	}
	path = c->spec.exe ? c->spec.exe : tree->self_exe;
	proc_argv(pargv, path, c->spec.type, ppid);
	// posix_spawn reports an exec failure itself.
	if ((e = arb__spawn_ctl(&pid, path, pargv, sv[1])) != 0) {
		close(sv[0]);
		close(sv[1]);
		return arb__err_from_errno(e);
	}
	close(sv[1]);
	c->ospid = pid;
	*ctlp    = sv[0];
	return ARB_OK;
}

// shim_hello reads the shim's first words on its channel fd within
// timeout_ms: "X PID" (the program runs) or "E ERRNO" (it could not
// start), after "C ERRNO" if the program could not join its cgroup cg (it
// runs without: logged once per node).  Returns 0 with *prog set, an
// errno value from "E", or -1 (no answer: the shim died, or garbage).
static int
shim_hello(arb__stree *tree, const char *cg, int fd, int timeout_ms,
    pid_t *prog)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char          buf[64];
	ssize_t       n;
	int           v, r;
	int64_t       dl = arb__now_ms() + timeout_ms, left;

	for (;;) {
		// A signal (SIGCHLD of another child) interrupts the wait, it
		// does not end it.
		do {
			left = dl - arb__now_ms();
			r    = poll(&pfd, 1, left > 0 ? (int) left : 0);
		} while (r < 0 && errno == EINTR);
		if (r != 1) {
			return -1;
		}
		do {
			n = recv(fd, buf, sizeof(buf) - 1, 0);
		} while (n < 0 && errno == EINTR);
		if (n <= 2) {
			return -1;
		}
		buf[n] = '\0';
		if (sscanf(buf + 2, "%d", &v) != 1 || v <= 0) {
			return -1;
		}
		if (buf[0] != 'C') {
			break;
		}
		arb__cg_join_failed(tree, cg, v);
	}
	if (buf[0] == 'X') {
		*prog = (pid_t) v;
		return 0;
	}
	return buf[0] == 'E' ? v : -1;
}

static void
close_pair(int fds[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
}

static void
reap_blocking(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
}

int
arb__proc_spawn_exec(arb__child *c)
{
	arb__stree *tree = c->tree;
	arb__exec  *x;
	int         ep[2] = { -1, -1 }, sv[2] = { -1, -1 };
	int         out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char        cg[PATH_MAX], ppid[24];
	char      **argv;
	size_t      n, i;
	pid_t       pid, prog = 0;
	int         e = 0, rv = ARB_OK;
	ssize_t     r;

	if (tree->shim_path[0] == '\0') {
		return ARB_ENOENT; // exec_start says what is missing
	}
	if (arb__cg_child(tree, c->mbid, cg, sizeof(cg)) != ARB_OK) {
		snprintf(cg, sizeof(cg), "-");
	}
	snprintf(ppid, sizeof(ppid), "%d", (int) getpid());
	for (n = 0; c->spec.argv[n] != NULL; n++) {
	}
	if ((argv = arb__alloc((n + 4) * sizeof(*argv))) == NULL) {
		return ARB_ENOMEM;
	}
	argv[0] = tree->shim_path;
	argv[1] = ppid;
	argv[2] = cg;
	for (i = 0; i <= n; i++) {
		argv[3 + i] = (char *) c->spec.argv[i];
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0) {
		rv = arb__err_from_errno(errno);
		goto done;
	}
	// Room for bursts while the node is busy (best effort: above
	// /proc/sys/fs/pipe-max-size only root may ask).
	fcntl(out[1], F_SETPIPE_SZ, ARB__OUT_PIPE);
	fcntl(err[1], F_SETPIPE_SZ, ARB__OUT_PIPE);
	pid = fork();
	if (pid < 0) {
		rv = arb__err_from_errno(errno);
		goto done;
	}
	if (pid == 0) {
		exec_child(ep[1], getppid(), tree->shim_path, argv, sv[1],
		    out[1], err[1]);
	}
	setpgid(pid, pid); // also here: the group exists before use
	close(ep[1]);
	close(sv[1]);
	close(out[1]);
	close(err[1]);
	ep[1] = sv[1] = out[1] = err[1] = -1;
	// EOF: the shim runs; an int: its exec failed with that errno.
	do {
		r = read(ep[0], &e, sizeof(e));
	} while (r < 0 && errno == EINTR);
	if (r == (ssize_t) sizeof(e)) {
		reap_blocking(pid); // gone (exit 127)
		arb__log(ARB_LOG_ERROR, c->path,
		    "event=shim_failed shim=%s error=\"%s\"", tree->shim_path,
		    strerror(e));
		rv = arb__err_from_errno(e);
		goto done;
	}
	// The shim forks and execs the program, and says how it went.  Its
	// exec of the program is quick; the deadline is for a shim that
	// cannot even run.
	e = shim_hello(tree, cg, sv[0], 10000, &prog);
	if (e != 0) {
		if (e < 0) {
			kill(pid, SIGKILL);
		}
		reap_blocking(pid); // it exits 127 after "E"
		rv = e > 0 ? arb__err_from_errno(e) : ARB_ECHILD;
		goto done;
	}
	if ((x = arb__alloc(sizeof(*x))) == NULL) {
		// Closing the channel ends the shim and the program.
		kill(prog, SIGKILL);
		close_pair(sv);
		reap_blocking(pid);
		rv = ARB_ENOMEM;
		goto done;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	x->pid     = prog;
	x->pidfd   = pidfd_open_(prog);
	x->shim_fd = sv[0];
	x->out_fd  = out[0];
	x->err_fd  = err[0];
	sv[0] = out[0] = err[0] = -1;
	c->exec  = x;
	c->ospid = pid;
done:
	close_pair(ep);
	close_pair(sv);
	close_pair(out);
	close_pair(err);
	arb__free(argv);
	return rv;
}

void
arb__proc_exec_reports(arb__child *c)
{
	arb__exec *x = c->exec;
	char       buf[160], comm[64];
	ssize_t    n;
	int        pid;

	while (x != NULL && x->shim_fd >= 0 &&
	    (n = recv(x->shim_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (buf[0] == 'K'
		    && sscanf(buf + 1, "%d %63s", &pid, comm) == 2) {
			arb__log(ARB_LOG_WARN, c->path,
			    "event=killed_descendant ospid=%d comm=%s "
			    "(left behind by the program)",
			    pid, comm);
		}
	}
}

// exec_signal sends sig to c's program (not to its shim).
static void
exec_signal(arb__exec *x, int sig)
{
	if (x == NULL || x->pid <= 0) {
		return;
	}
	if (x->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, x->pidfd, sig, NULL, 0);
	} else {
		kill(x->pid, sig);
	}
}

void
arb__proc_exec_signal(arb__child *c, int sig)
{
	if (sig == SIGKILL) {
		c->killed = true;
	}
	exec_signal(c->exec, sig);
}

// exec_release lets go of what watched x, after its shim ended: the last
// reports, the output, then whatever might be left (the shim always kills
// its subtree; the backstops are for a shim that was SIGKILLed itself:
// the program's group, and everything in the child's cgroup).
static void
exec_release(arb__child *c)
{
	arb__exec *x = c->exec;

	if (x == NULL) {
		return;
	}
	arb__proc_exec_reports(c);
	if (x->pid > 0) {
		kill(-x->pid, SIGKILL); // (pid > 0: never our own group)
	}
	arb__cg_child_kill(c->tree, c->mbid);
	if (x->shim_ev != NULL) {
		event_free(x->shim_ev);
	}
	if (x->shim_fd >= 0) {
		close(x->shim_fd);
	}
	if (x->pidfd >= 0) {
		close(x->pidfd);
	}
	arb__output_close(x->out);
	if (x->out_fd >= 0) {
		close(x->out_fd);
	}
	if (x->err_fd >= 0) {
		close(x->err_fd);
	}
	arb__free(x);
	c->exec = NULL;
}

void
arb__proc_exec_close(arb__child *c)
{
	arb__exec *x = c->exec;
	int64_t    dl;
	int        st;

	if (x == NULL) {
		return;
	}
	// The program first; then EOF on the channel (the shim kills
	// everything that is left), and the shim is reaped.  A shim that
	// takes more than 2 s (a descendant stuck in the kernel) is killed
	// itself: what it left comes to the node, the subreaper.
	exec_signal(x, SIGKILL);
	if (x->shim_ev != NULL) {
		event_free(x->shim_ev);
		x->shim_ev = NULL;
	}
	if (x->shim_fd >= 0) {
		arb__proc_exec_reports(c);
		close(x->shim_fd);
		x->shim_fd = -1;
	}
	if (c->ospid > 0) {
		dl = arb__now_ms() + 2000;
		while (waitpid(c->ospid, &st, WNOHANG) == 0) {
			if (arb__now_ms() >= dl) {
				kill(c->ospid, SIGKILL);
				reap_blocking(c->ospid);
				break;
			}
			poll(NULL, 0, 2);
		}
		arb__idmap_del(&c->tree->by_ospid, (uint64_t) c->ospid);
		c->ospid = 0;
	}
	exec_release(c);
}

void
arb__proc_shim_find(arb__stree *tree)
{
	const char *env = getenv("ARBOR_SHIM");
	Dl_info     info;
	const char *slash;
	char       *p = tree->shim_path;
	size_t      len = sizeof(tree->shim_path);

	if (env != NULL && env[0] != '\0') {
		snprintf(p, len, "%s", env);
		if (access(p, X_OK) == 0) {
			return;
		}
	}
	if (dladdr((void *) arb__proc_shim_find, &info) != 0 &&
	    info.dli_fname != NULL &&
	    (slash = strrchr(info.dli_fname, '/')) != NULL &&
	    snprintf(p, len, "%.*s/arbor/arbor-shim",
	        (int) (slash - info.dli_fname), info.dli_fname) < (int) len &&
	    access(p, X_OK) == 0) {
		return;
	}
	snprintf(p, len, "%s", ARB_SHIM_PATH);
	if (access(p, X_OK) == 0) {
		return;
	}
	p[0] = '\0';
}

// ---------------------------------------------------------------------------
// The end: whatever is left
// ---------------------------------------------------------------------------
void
arb__proc_foreign_note(arb__stree *tree)
{
	pid_t *v;
	size_t n, i, k = 0;

	if (arb__proctree_list(getpid(), NULL, 0, &v, &n) != 0) {
		return;
	}
	// Only the process's own children: their descendants go with them.
	for (i = 0; i < n; i++) {
		if (arb__proctree_ppid(v[i]) == getpid()) {
			v[k++] = v[i];
		}
	}
	tree->foreign  = v;
	tree->nforeign = k;
}

int
arb__proc_sweep(arb__stree *tree)
{
	int64_t dl = arb__now_ms() + 2000;
	pid_t  *v, seen[64];
	size_t  n, i, j, nseen = 0;
	char    comm[64];

	for (;;) {
		arb__stree_reap(tree); // what has ended (reparented orphans)
		if (arb__proctree_list(getpid(), tree->foreign, tree->nforeign,
		        &v, &n) != 0) {
			return 0; // no /proc: nothing to look at
		}
		if (n == 0) {
			free(v);
			return 0;
		}
		if (arb__now_ms() >= dl) {
			for (i = 0; i < n; i++) {
				arb__proctree_comm(v[i], comm, sizeof(comm));
				arb__log(ARB_LOG_ERROR, NULL,
				    "event=leftover_alive ospid=%d comm=%s "
				    "(SIGKILLed, still not gone after 2 s)",
				    (int) v[i], comm);
			}
			free(v);
			return (int) n;
		}
		for (i = 0; i < n; i++) {
			for (j = 0; j < nseen && seen[j] != v[i]; j++) {
			}
			if (j == nseen) {
				arb__proctree_comm(v[i], comm, sizeof(comm));
				arb__log(ARB_LOG_WARN, NULL,
				    "event=killed_leftover ospid=%d comm=%s "
				    "(still alive when the tree had stopped)",
				    (int) v[i], comm);
				if (nseen < ARB_ARRAY_SIZE(seen)) {
					seen[nseen++] = v[i];
				}
			}
			kill(v[i], SIGKILL);
		}
		free(v);
		poll(NULL, 0, 5);
	}
}

// ---------------------------------------------------------------------------
// Watching, signalling, reaping
// ---------------------------------------------------------------------------
static void
proc_pidfd_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__stree_reap(arg);
}

void
arb__proc_watch(arb__stree *tree, arb__child *c)
{
	if (c->pidfd < 0) {
		c->pidfd = pidfd_open_(c->ospid);
	}
	arb__idmap_set(&tree->by_ospid, (uint64_t) c->ospid, c);
	if (c->pidfd >= 0) {
		// pidfd readability = the child exited: reap without relying
		// on SIGCHLD alone.
		c->pidfd_ev = event_new(
		    tree->base, c->pidfd, EV_READ, proc_pidfd_cb, tree);
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
	arb__idmap_del(&c->tree->by_ospid, (uint64_t) c->ospid);
	// Leftovers of the child's process group (grandchildren) die with
	// it; the subreaper collects them.  (ospid > 0: never signal our own
	// group.)  An exec child's shim has killed its program's subtree.
	assert(c->ospid > 0);
	kill(-c->ospid, SIGKILL);
	c->ospid = 0;
	proc_release_fds(c);
	exec_release(c);
	arb__child_event(c, ARB__CE_EXIT, &e);
}

// arb__proc_close kills and reaps what is left of c's process, without
// reporting anything.  Used on start failures and when freeing.
void
arb__proc_close(arb__child *c)
{
	arb__proc_exec_close(c); // an exec child: its shim ends it all
	if (c->ospid > 0) {
		arb__stree *tree = c->tree;
		int         st;

		pidfd_kill(c, SIGKILL);
		kill(-c->ospid, SIGKILL);
		while (waitpid(c->ospid, &st, 0) < 0 && errno == EINTR) {
		}
		arb__idmap_del(&tree->by_ospid, (uint64_t) c->ospid);
		c->ospid = 0;
	}
	proc_release_fds(c);
}

void
arb__stree_reap(arb__stree *tree)
{
	pid_t       pid;
	int         st;
	arb__child *c;

	// s6: on SIGCHLD, reap until nothing is left.  Children of the tree
	// go to their drivers; anything else is an orphaned grandchild that
	// the subreaper inherited.
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		c = arb__idmap_get(&tree->by_ospid, (uint64_t) pid);
		if (c != NULL) {
			c->drv->reaped(c, st);
		} else if (pid == tree->standby_pid) {
			arb__proc_standby_end(tree, true); // it died idle
		} else if (arb__tcheck_reaped(pid)) {
			// A reload's config check (typecheck.c): not ours.
		} else {
			tree->orphans_reaped++;
			arb__log(ARB_LOG_DEBUG, NULL,
			    "event=reaped_orphan ospid=%d", (int) pid);
		}
	}
}
