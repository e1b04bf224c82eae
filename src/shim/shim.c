// SPDX-License-Identifier: MIT
// shim.c -- arbor-shim: the guard of one exec child's process subtree.
//
//   arbor-shim NODEPID CGROUP|- PROGRAM [ARG...]
//
// A node runs every exec child under a shim of its own (SPEC 12): the
// node forks and execs the shim, the shim forks and execs PROGRAM.  The
// shim is a subreaper, so whatever PROGRAM leaves behind (a background
// job, a double fork, a setsid daemon) stays its descendant; it has
// PR_SET_PDEATHSIG and watches a channel to the node, so it learns of the
// node's death however the node died.  Its rules:
//   - when PROGRAM ends, every remaining descendant is SIGKILLed and
//     reaped; then the shim ends with PROGRAM's status (exit code, or the
//     same signal), so to the node it looks like PROGRAM itself;
//   - when the node dies (PDEATHSIG, or EOF on the channel), or the shim
//     gets SIGTERM/SIGINT/SIGHUP/SIGQUIT, PROGRAM and every descendant are
//     SIGKILLed and reaped, and the shim ends.
// With a CGROUP (a cgroup v2 directory made by the node for this child),
// PROGRAM joins it before exec and the subtree is killed with one write
// to its cgroup.kill (no fork can race it); in any case descendants are
// also found through /proc (the ppid chains that end at the shim),
// killed, and looked for again until the shim has no child left.  The node
// signals PROGRAM itself (its pid is reported); it never has to signal the
// shim.
//
// fd 3 is the channel: a SOCK_SEQPACKET socket to the node.  The shim
// sends one text datagram per event and never waits for the node:
//   "X PID"        PROGRAM was exec'd as PID
//   "C ERRNO"      PROGRAM could not join CGROUP: it runs without it,
//                  its descendants found through /proc (before "X")
//   "E ERRNO"      PROGRAM could not be started (its exec failed); the
//                  shim then exits 127
//   "K PID COMM"   a descendant left behind by PROGRAM was SIGKILLed
// fds 0-2 are PROGRAM's; the shim itself keeps only /dev/null there.
//
// Exit status: PROGRAM's; 100 for a usage error, 111 when the node was
// gone before PROGRAM started.  Not built with sanitizers (a sanitizer's
// signal handlers would get between PROGRAM's death and its relay).
// Thread: single-threaded program.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/proctree.h"

extern char **environ;

#define NODE_FD     3
#define REPORTED_MAX 256 // descendants reported once each

static pid_t       node_pid;
static pid_t       prog_pid;
static const char *cgroup; // NULL: find descendants through /proc
static int         sigfd = -1;
static pid_t       reported[REPORTED_MAX];
static size_t      nreported;

// say sends one datagram to the node; a node that is gone or slow loses
// it (the shim never blocks on the node).
static void
say(const char *fmt, ...)
{
	char    buf[128];
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0) {
		send(NODE_FD, buf,
		    (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

// report tells the node, once per pid, that a leftover descendant was
// killed (PROGRAM itself is not a leftover).
static void
report(pid_t pid)
{
	char   comm[32];
	size_t i;

	if (pid == prog_pid) {
		return;
	}
	for (i = 0; i < nreported; i++) {
		if (reported[i] == pid) {
			return;
		}
	}
	if (nreported < REPORTED_MAX) {
		reported[nreported++] = pid;
	}
	arb__proctree_comm(pid, comm, sizeof(comm));
	say("K %d %s", (int) pid, comm);
}

// write_file writes text to path; 0 or an errno value.
static int
write_file(const char *path, const char *text)
{
	int fd, e = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		return errno;
	}
	if (write(fd, text, strlen(text)) < 0) {
		e = errno;
	}
	close(fd);
	return e;
}

// kill_cgroup reports what the cgroup holds and kills all of it in one
// write.  False when the write failed.
static bool
kill_cgroup(void)
{
	char  path[4096];
	FILE *f;
	int   pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	if ((f = fopen(path, "re")) != NULL) {
		while (fscanf(f, "%d", &pid) == 1) {
			report((pid_t) pid);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/cgroup.kill", cgroup);
	return write_file(path, "1") == 0;
}

// kill_walk SIGKILLs every descendant of the shim found in /proc, PROGRAM
// too when all is set.
static void
kill_walk(bool all)
{
	pid_t *v;
	size_t n, i;

	if (arb__proctree_list(getpid(), NULL, 0, &v, &n) != 0) {
		return; // the kill of the next round finds them
	}
	for (i = 0; i < n; i++) {
		if (!all && v[i] == prog_pid) {
			continue;
		}
		report(v[i]);
		kill(v[i], SIGKILL);
	}
	free(v);
}

// reap collects every ended child; PROGRAM's status goes to *status and
// *prog_done.  Returns false once no child is left.
static bool
reap(int *status, bool *prog_done)
{
	pid_t w;
	int   st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == prog_pid && !*prog_done) {
			*prog_done = true;
			*status    = st;
		}
	}
	return !(w < 0 && errno == ECHILD);
}

// drain_signals empties the signalfd; true if a SIGCHLD was among them,
// *end set when one asks the shim to end everything.
static bool
drain_signals(bool *end)
{
	struct signalfd_siginfo si;
	bool                    chld = false;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			chld = true;
		} else if (si.ssi_signo != SIGPIPE) {
			*end = true;
		}
	}
	return chld;
}

// kill_all ends the subtree: every descendant (PROGRAM too when all),
// again and again until the shim has no child left.
static void
kill_all(bool all, int *status, bool *prog_done)
{
	bool end = false;

	for (;;) {
		struct pollfd pfd = { .fd = sigfd, .events = POLLIN };

		// The cgroup's kill is one write, and no fork can race it; the
		// walk still follows, for a descendant (root may) that moved
		// itself to another cgroup.
		if (cgroup != NULL) {
			kill_cgroup();
		}
		kill_walk(all);
		if (all && prog_pid > 0 && !*prog_done) {
			kill(prog_pid, SIGKILL);
		}
		if (!reap(status, prog_done)) {
			return;
		}
		// Wait for the next SIGCHLD (or 100 ms: a fork that raced the
		// kill has a new child to kill).
		if (poll(&pfd, 1, 100) > 0) {
			drain_signals(&end);
		}
		if (end) {
			all = true; // the node is gone: PROGRAM too
		}
	}
}

// relay ends the shim as PROGRAM ended: its exit code, or its signal
// (without a core dump: PROGRAM's own dump, if any, is already written).
static _Noreturn void
relay(int status)
{
	if (WIFSIGNALED(status)) {
		int      sig = WTERMSIG(status);
		sigset_t one;

		prctl(PR_SET_DUMPABLE, 0);
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		_exit(128 + sig); // a signal whose default is not to end
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 111);
}

// What the child between fork and exec tells the shim (start_program):
// the cgroup join failed (PROGRAM goes on without it), or the exec did.
enum { START_JOIN_FAILED = 1, START_EXEC_FAILED = 2 };

// start_program forks and execs PROGRAM (argv), in the cgroup if any: a
// join that fails is said ("C ERRNO") and PROGRAM runs without the
// cgroup, its descendants found through /proc.  Returns its pid, or -1
// with the errno sent to the node.
static pid_t
start_program(char **argv, const sigset_t *none)
{
	int     ep[2], e = 0, rec[2];
	pid_t   pid, self = getpid();
	ssize_t r;

	if (pipe2(ep, O_CLOEXEC) != 0) {
		say("E %d", errno);
		return -1;
	}
	if ((pid = fork()) < 0) {
		e = errno;
		close(ep[0]);
		close(ep[1]);
		say("E %d", e);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, none, NULL);
		// Its own group, as the node gives exec children.
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self) {
			_exit(111);
		}
		if (cgroup != NULL) {
			char path[4096];
			snprintf(
			    path, sizeof(path), "%s/cgroup.procs", cgroup);
			if ((e = write_file(path, "0")) != 0) {
				rec[0] = START_JOIN_FAILED;
				rec[1] = e;
				if (write(ep[1], rec, sizeof(rec)) < 0) {
					// the shim keeps its cgroup: harmless
				}
			}
		}
		execve(argv[0], argv, environ);
		rec[0] = START_EXEC_FAILED;
		rec[1] = errno;
		if (write(ep[1], rec, sizeof(rec)) < 0) {
			// the shim learns it from the exit status
		}
		_exit(127);
	}
	close(ep[1]);
	// Records until EOF (the exec closed the pipe) or an exec failure.
	for (;;) {
		do {
			r = read(ep[0], rec, sizeof(rec));
		} while (r < 0 && errno == EINTR);
		if (r != (ssize_t) sizeof(rec)) {
			break; // EOF: PROGRAM runs
		}
		if (rec[0] == START_JOIN_FAILED) {
			say("C %d", rec[1]);
			cgroup = NULL; // the /proc walk finds its descendants
			continue;
		}
		close(ep[0]);
		while (waitpid(pid, &rec[0], 0) < 0 && errno == EINTR) {
		}
		say("E %d", rec[1]);
		return -1;
	}
	close(ep[0]);
	return pid;
}

int
main(int argc, char **argv)
{
	sigset_t    set, none;
	struct stat st;
	int         status = 0, fd;
	bool        prog_done = false, end = false;

	if (argc < 4 || fstat(NODE_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr,
		    "usage: arbor-shim NODEPID CGROUP|- PROGRAM [ARG...] "
		    "(run by an arbor node, fd 3 its channel)\n");
		return 100;
	}
	node_pid = (pid_t) atoi(argv[1]);
	cgroup   = strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
	fcntl(NODE_FD, F_SETFD, FD_CLOEXEC);
	sigemptyset(&none);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		say("E %d", errno);
		return 127;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_PDEATHSIG, SIGTERM); // arrives on the signalfd
	if (getppid() != node_pid) {
		return 111; // the node died before we could notice
	}
	if ((prog_pid = start_program(argv + 3, &none)) < 0) {
		return 127;
	}
	say("X %d", (int) prog_pid);
	// PROGRAM has fds 0-2; the shim needs none of them (a descendant
	// that keeps the output pipes open must not wait on us).
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2) {
			close(fd);
		}
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = NODE_FD, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			end = true;
		}
		if (pfd[1].revents != 0) {
			char    b[64];
			ssize_t n = recv(NODE_FD, b, sizeof(b), MSG_DONTWAIT);
			if (n == 0
			    || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				end = true; // the node is gone
			}
		}
		if (pfd[0].revents != 0 && drain_signals(&end)) {
			reap(&status, &prog_done);
		}
		if (end) {
			kill_all(true, &status, &prog_done);
			break;
		}
		if (prog_done) {
			kill_all(false, &status, &prog_done);
			break;
		}
	}
	if (!prog_done) {
		return 111;
	}
	relay(status);
}
