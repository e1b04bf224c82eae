// SPDX-License-Identifier: MIT
// arb_test.c -- the process harness behind arb_test.h.  It starts helper
// processes (the test binary re-executed as "<self> --arb-helper NAME"),
// collects their stdout and stderr through one pipe, waits for lines and
// for exits with deadlines, and proves afterwards that nothing a helper
// started is still around, by finding processes through the ARB_TEST_TAG
// entry in their environment; a helper also ends with the process that
// spawned it (PR_SET_PDEATHSIG), so a test that dies outright leaves no
// helper running.  It is test support, not part of libarbor,
// and calls no libarbor function.  Nothing here sleeps to synchronise:
// every wait is a poll() on a pipe or a pidfd with a deadline taken from
// CLOCK_MONOTONIC.  Where there is no fd to wait on (the /proc scans, and
// a new helper's environment becoming readable), it retries at a short
// interval, still against a deadline.
// Thread: the test's main thread only.  The harness keeps process-wide
// state (a list of live helpers, used to attribute zombies and to kill
// helpers that a failed test never finalised), and none of it is locked.

#include "arb_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TAG_ENV "ARB_TEST_TAG="
#define DIR_ENV "ARB_TEST_DIR="
// The pid that spawned a helper, in the helper's environment.
#define PARENT_NAME "ARB_TEST_PARENT"
#define PARENT_ENV  PARENT_NAME "="

// FINI_MS bounds each wait in arb_test_proc_fini (the header promises 3 s).
#define FINI_MS 3000
// DRAIN_MS bounds how long arb_test_wait_exit waits for EOF once the helper
// has exited: everything the helper itself wrote is already in the pipe by
// then, so only output from descendants that are still exiting is missed
// if a descendant keeps the pipe open.  arb_test_proc_fini reports those.
#define DRAIN_MS 500
// RETRY_MS is the retry interval of waits that have no fd to poll.
#define RETRY_MS 10
// READ_CHUNK is the least free space proc_read asks for before each read;
// READ_MAX_CHUNKS bounds one proc_read so a chatty helper can't hold a
// waiter past its deadline.
#define READ_CHUNK      4096
#define READ_MAX_CHUNKS 256
// MAX_LEFTOVERS bounds the number of leftover pids fini reports and kills
// in one round.
#define MAX_LEFTOVERS 64


#define TAIL_MAX 8000 // bytes of a helper's output shown on failure
// --- Time -----------------------------------------------------------------

int64_t
arb_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
now_ms(void)
{
	return arb_test_now_ms();
}

static int64_t
deadline_in(int timeout_ms)
{
	return (now_ms() + (timeout_ms > 0 ? timeout_ms : 0));
}

// ms_left is what is left until deadline, as a poll() timeout (0 if past).
static int
ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left <= 0) {
		return (0);
	}
	if (left > INT_MAX) {
		return (INT_MAX);
	}
	return ((int) left);
}

// nap waits up to ms (bounded by deadline) with nothing to watch: it is the
// retry step of the /proc scans, which have no event to wait for.
static void
nap(int64_t deadline, int ms)
{
	int left = ms_left(deadline);

	(void) poll(NULL, 0, left < ms ? left : ms);
}

// --- pidfd ------------------------------------------------------------------

// pidfd_open_ returns a pidfd for pid, or -1 (ENOSYS on kernels before 5.3
// and on libcs without the syscall number; callers then fall back to
// retrying waitpid every RETRY_MS).  The fd is always close-on-exec.
static int
pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return ((int) syscall(SYS_pidfd_open, pid, 0));
#else
	(void) pid;
	errno = ENOSYS;
	return (-1);
#endif
}

// pidfd_kill sends sig through pidfd, which can't hit a recycled pid.
static int
pidfd_kill(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return ((int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
#else
	(void) pidfd;
	(void) sig;
	errno = ENOSYS;
	return (-1);
#endif
}

// --- Registry of live helpers ----------------------------------------------

// The registry copies what cleanup needs out of each arb_test_proc, because
// a failed assertion longjmps out of the test and the struct (usually on
// the test's stack) is gone.  arb_test_spawn adds an entry and
// arb_test_proc_fini removes it; an atexit handler kills and cleans up
// whatever is left.  It also lets arb_test_tagged tell apart zombie helpers
// of different tags (a zombie's environment can't be read).
typedef struct live_proc {
	pid_t pid;
	bool  reaped;
	char *out; // p->out, kept current by out_reserve
	char  tag[64];
	char  dir[64];
} live_proc;

static live_proc *live;
static size_t     live_n;
static size_t     live_cap;
static pid_t      live_owner; // the process whose helpers these are

static live_proc *
live_find(pid_t pid)
{
	for (size_t i = 0; i < live_n; i++) {
		if (live[i].pid == pid) {
			return (&live[i]);
		}
	}
	return (NULL);
}

static void
live_remove(pid_t pid)
{
	live_proc *lp = live_find(pid);

	if (lp != NULL) {
		*lp = live[--live_n];
	}
}

static void
live_reaped(pid_t pid)
{
	live_proc *lp = live_find(pid);

	if (lp != NULL) {
		lp->reaped = true;
	}
}

static void cleanup_at_exit(void);

static bool
live_add(const arb_test_proc *p)
{
	static bool hooked;
	live_proc  *nl;

	if (!hooked) {
		if (atexit(cleanup_at_exit) != 0) {
			return (false);
		}
		hooked = true;
	}
	if (live_owner != getpid()) {
		// A helper that spawns helpers has its own, empty, list.
		live_n = 0;
		live_owner = getpid();
	}
	if (live_n == live_cap) {
		size_t ncap = live_cap == 0 ? 8 : live_cap * 2;

		nl = realloc(live, ncap * sizeof(*nl));
		if (nl == NULL) {
			return (false);
		}
		live = nl;
		live_cap = ncap;
	}
	memset(&live[live_n], 0, sizeof(live[live_n]));
	live[live_n].pid = p->pid;
	memcpy(live[live_n].tag, p->tag, sizeof(live[live_n].tag));
	memcpy(live[live_n].dir, p->dir, sizeof(live[live_n].dir));
	live[live_n].out = p->out;
	live_n++;
	return (true);
}

// --- /proc scanning ---------------------------------------------------------

typedef struct proc_info {
	pid_t pid;
	pid_t ppid;
	char  state;
	bool  tagged; // environ holds the exact tag entry
} proc_info;

// read_file reads all of path into *buf (grown as needed, NUL-terminated)
// and returns its length, or -1 if it can't be opened or read (the process
// may be gone, or not ours to read: ENOENT, ESRCH, EACCES are all normal).
static ssize_t
read_file(const char *path, char **buf, size_t *cap)
{
	size_t len = 0;
	int    fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return (-1);
	}
	for (;;) {
		ssize_t n;

		if (*cap - len < 1024) {
			size_t ncap = *cap < 4096 ? 4096 : *cap * 2;
			char  *nb = realloc(*buf, ncap);

			if (nb == NULL) {
				close(fd);
				return (-1);
			}
			*buf = nb;
			*cap = ncap;
		}
		n = read(fd, *buf + len, *cap - len - 1);
		if (n > 0) {
			len += (size_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		close(fd);
		if (n < 0) {
			return (-1);
		}
		(*buf)[len] = '\0';
		return ((ssize_t) len);
	}
}

// env_has reports whether the NUL-separated environment in buf[0..len)
// holds exactly entry.
static bool
env_has(const char *buf, size_t len, const char *entry)
{
	size_t elen = strlen(entry);

	for (size_t at = 0; at < len;) {
		size_t l = strnlen(buf + at, len - at);

		if (l == elen && memcmp(buf + at, entry, elen) == 0) {
			return (true);
		}
		at += l + 1;
	}
	return (false);
}

// pid_tagged reads /proc/pid/environ and looks for entry.
static bool
pid_tagged(pid_t pid, const char *entry, char **buf, size_t *cap)
{
	char    path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
	n = read_file(path, buf, cap);
	return (n > 0 && env_has(*buf, (size_t) n, entry));
}

// pid_stat reads the state and parent of pid from /proc/pid/stat.
static bool
pid_stat(pid_t pid, char *state, pid_t *ppid, char **buf, size_t *cap)
{
	char        path[64];
	const char *rp;
	int         pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if (read_file(path, buf, cap) <= 0) {
		return (false);
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	rp = strrchr(*buf, ')');
	if (rp == NULL || sscanf(rp + 1, " %c %d", state, &pp) != 2) {
		return (false);
	}
	*ppid = (pid_t) pp;
	return (true);
}

// scan_procs lists every process in /proc with its state, parent and
// whether it carries entry.  The caller frees *out.  Returns the count, or
// -1 if /proc can't be read.
static ssize_t
scan_procs(const char *entry, proc_info **out)
{
	DIR           *d;
	struct dirent *de;
	proc_info     *v = NULL;
	size_t         n = 0;
	size_t         cap = 0;
	char          *buf = NULL;
	size_t         bcap = 0;
	pid_t          self = getpid();

	*out = NULL;
	d = opendir("/proc");
	if (d == NULL) {
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		char     *end;
		long      pid = strtol(de->d_name, &end, 10);
		proc_info pi;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end != '\0'
		    || pid == self) {
			continue;
		}
		memset(&pi, 0, sizeof(pi));
		pi.pid = (pid_t) pid;
		if (!pid_stat(pi.pid, &pi.state, &pi.ppid, &buf, &bcap)) {
			continue; // gone since readdir
		}
		pi.tagged = pid_tagged(pi.pid, entry, &buf, &bcap);
		if (n == cap) {
			size_t     ncap = cap == 0 ? 256 : cap * 2;
			proc_info *nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				free(v);
				free(buf);
				closedir(d);
				return (-1);
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = pi;
	}
	closedir(d);
	free(buf);
	*out = v;
	return ((ssize_t) n);
}

static bool
is_dead_state(char state)
{
	return (state == 'Z' || state == 'X');
}

// counts_for decides whether v[i] counts as tagged with tag (see the
// comment on arb_test_tagged in arb_test.h for the rules).
static bool
counts_for(const proc_info *v, size_t n, size_t i, const char *tag)
{
	const proc_info *pi = &v[i];
	live_proc       *lp;

	if (pi->tagged) {
		return (true);
	}
	if (!is_dead_state(pi->state)) {
		return (false);
	}
	if (pi->ppid == getpid()) {
		// Our own unreaped child: a helper counts for its own tag
		// only, anything else for every tag.
		lp = live_owner == getpid() ? live_find(pi->pid) : NULL;
		return (lp == NULL || strcmp(lp->tag, tag) == 0);
	}
	for (size_t j = 0; j < n; j++) {
		if (v[j].pid == pi->ppid) {
			return (v[j].tagged);
		}
	}
	return (false);
}

// tagged_list is arb_test_tagged that also stores up to max of the pids.
static int
tagged_list(const char *tag, int *zombies, pid_t *pids, size_t max)
{
	char       entry[sizeof(TAG_ENV) + 64];
	proc_info *v;
	ssize_t    n;
	int        count = 0;
	int        dead = 0;

	snprintf(entry, sizeof(entry), "%s%s", TAG_ENV, tag);
	n = scan_procs(entry, &v);
	if (n < 0) {
		fail_msg(
		    "arb_test_tagged: can't scan /proc: %s", strerror(errno));
	}
	for (size_t i = 0; i < (size_t) n; i++) {
		if (!counts_for(v, (size_t) n, i, tag)) {
			continue;
		}
		if (pids != NULL && (size_t) count < max) {
			pids[count] = v[i].pid;
		}
		count++;
		if (is_dead_state(v[i].state)) {
			dead++;
		}
	}
	free(v);
	if (zombies != NULL) {
		*zombies = dead;
	}
	return (count);
}

int
arb_test_tagged(const char *tag, int *zombies)
{
	return (tagged_list(tag, zombies, NULL, 0));
}

int
arb_test_wait_tagged(const char *tag, int want, int timeout_ms)
{
	int64_t deadline = deadline_in(timeout_ms);
	int     n;

	for (;;) {
		n = arb_test_tagged(tag, NULL);
		if (n <= want || ms_left(deadline) == 0) {
			return (n);
		}
		nap(deadline, RETRY_MS);
	}
}

// describe_pid prints "pid N ppid P state S: cmdline" to stderr.
static void
describe_pid(pid_t pid)
{
	char    path[64];
	char   *buf = NULL;
	size_t  cap = 0;
	char    state = '?';
	pid_t   ppid = -1;
	ssize_t n;

	(void) pid_stat(pid, &state, &ppid, &buf, &cap);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
	n = read_file(path, &buf, &cap);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\0') {
			buf[i] = ' ';
		}
	}
	fprintf(stderr, "arb_test:   pid %d ppid %d state %c: %s\n", (int) pid,
	    (int) ppid, state, n > 0 ? buf : "(no cmdline)");
	free(buf);
}

// reap_child waits (until deadline) for our child pid to exit and reaps
// it.  Returns true once reaped, with the raw status in *status.
static bool
reap_child(pid_t pid, int *status, int64_t deadline)
{
	int  pidfd = pidfd_open_(pid);
	bool done = false;

	for (;;) {
		struct pollfd pfd;
		int           st;
		pid_t         r = waitpid(pid, &st, WNOHANG);
		int           left;

		if (r == pid) {
			*status = st;
			done = true;
			break;
		}
		if (r < 0 && errno != EINTR) {
			break; // not our child, or already reaped
		}
		left = ms_left(deadline);
		if (left == 0) {
			break;
		}
		if (pidfd >= 0) {
			pfd.fd = pidfd;
			pfd.events = POLLIN;
			(void) poll(&pfd, 1, left);
		} else {
			nap(deadline, RETRY_MS);
		}
	}
	if (pidfd >= 0) {
		close(pidfd);
	}
	return (done);
}

// kill_leftovers reports and SIGKILLs every process still tagged with tag
// and reaps those that are our children.  Returns how many it found.
static int
kill_leftovers(const char *tag)
{
	pid_t  pids[MAX_LEFTOVERS];
	char   entry[sizeof(TAG_ENV) + 64];
	char  *buf = NULL;
	size_t cap = 0;
	int    zombies;
	int    n;

	n = tagged_list(tag, &zombies, pids, MAX_LEFTOVERS);
	if (n == 0) {
		return (0);
	}
	fprintf(stderr,
	    "arb_test: %d process(es) tagged %s left behind (%d zombie(s)):\n",
	    n, tag, zombies);
	snprintf(entry, sizeof(entry), "%s%s", TAG_ENV, tag);
	for (int i = 0; i < n && i < MAX_LEFTOVERS; i++) {
		char  state;
		pid_t ppid;
		int   pidfd;
		int   st;

		describe_pid(pids[i]);
		if (!pid_stat(pids[i], &state, &ppid, &buf, &cap)) {
			continue;
		}
		// Through a pidfd, and only after checking the tag again on
		// that pidfd's process, so a recycled pid is never hit.
		pidfd = pidfd_open_(pids[i]);
		if (pid_tagged(pids[i], entry, &buf, &cap)) {
			if (pidfd >= 0) {
				(void) pidfd_kill(pidfd, SIGKILL);
			} else {
				(void) kill(pids[i], SIGKILL);
			}
		}
		if (pidfd >= 0) {
			close(pidfd);
		}
		if (ppid == getpid()) {
			(void) reap_child(pids[i], &st, deadline_in(1000));
		}
	}
	free(buf);
	return (n);
}

// --- Temp dir ---------------------------------------------------------------

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) ftw;
	if (flag == FTW_DP || flag == FTW_DNR) {
		return (rmdir(path) == 0 || errno == ENOENT ? 0 : -1);
	}
	return (unlink(path) == 0 || errno == ENOENT ? 0 : -1);
}

// rm_tree removes dir and everything under it; a missing dir is success.
static int
rm_tree(const char *dir)
{
	struct stat sb;

	if (lstat(dir, &sb) != 0) {
		return (errno == ENOENT ? 0 : -1);
	}
	return (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT));
}

// --- Output -----------------------------------------------------------------

// out_reserve makes room for at least want more bytes plus the NUL.
static void
out_reserve(arb_test_proc *p, size_t want)
{
	size_t ncap;
	char  *nb;

	if (p->out != NULL && p->cap - p->len > want) {
		return;
	}
	ncap = p->cap < READ_CHUNK ? READ_CHUNK * 2 : p->cap;
	while (ncap - p->len <= want) {
		ncap *= 2;
	}
	nb = realloc(p->out, ncap);
	if (nb == NULL) {
		fail_msg("arb_test: out of memory for helper output");
	}
	if (p->out == NULL) {
		nb[0] = '\0';
	}
	p->out = nb;
	p->cap = ncap;
	if (p->pid > 0 && live_owner == getpid()
	    && live_find(p->pid) != NULL) {
		live_find(p->pid)->out = nb;
	}
}

// proc_read waits at most timeout_ms for output and appends what the pipe
// holds to p->out, without ever blocking in read(2) (the fd is
// non-blocking).  At EOF it closes the fd and sets it to -1.  Returns true
// if it made progress (bytes or EOF).
static bool
proc_read(arb_test_proc *p, int timeout_ms)
{
	struct pollfd pfd;
	bool          progress = false;
	int           rv;

	if (p->fd < 0) {
		return (false);
	}
	pfd.fd = p->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	rv = poll(&pfd, 1, timeout_ms);
	if (rv < 0 && errno != EINTR) {
		fail_msg(
		    "arb_test: poll on helper output: %s", strerror(errno));
	}
	if (rv <= 0) {
		return (false);
	}
	for (int i = 0; i < READ_MAX_CHUNKS; i++) {
		ssize_t n;

		out_reserve(p, READ_CHUNK);
		n = read(p->fd, p->out + p->len, p->cap - p->len - 1);
		if (n > 0) {
			p->len += (size_t) n;
			p->out[p->len] = '\0';
			progress = true;
			continue;
		}
		if (n == 0) {
			close(p->fd);
			p->fd = -1;
			return (true);
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		}
		fail_msg("arb_test: read helper output: %s", strerror(errno));
	}
	return (progress);
}

// find_line finds the first complete line at or after from that contains
// needle.  On a match it stores the offset just past the line's '\n' in
// *next and returns the line's start.
static const char *
find_line(
    const arb_test_proc *p, size_t from, const char *needle, size_t *next)
{
	size_t nlen = strlen(needle);

	while (from < p->len) {
		const char *s = p->out + from;
		const char *nl = memchr(s, '\n', p->len - from);

		if (nl == NULL) {
			return (NULL); // the last line isn't complete yet
		}
		if (memmem(s, (size_t) (nl - s), needle, nlen) != NULL) {
			*next = (size_t) (nl - p->out) + 1;
			return (s);
		}
		from = (size_t) (nl - p->out) + 1;
	}
	return (NULL);
}

// proc_kill_reap SIGKILLs the helper's process group and the helper and
// reaps it (until deadline), reading output meanwhile.
static bool proc_reap(arb_test_proc *p, int64_t deadline);

static bool
proc_kill_reap(arb_test_proc *p, int64_t deadline)
{
	if (p->pid <= 0 || p->exited) {
		return (true);
	}
	// The group id is the helper's pid, which can't be recycled while
	// the helper is unreaped, so this can't hit a stranger.
	(void) kill(-p->pid, SIGKILL);
	(void) kill(p->pid, SIGKILL);
	return (proc_reap(p, deadline));
}

// proc_fail ends the test: it kills and cleans up p (the test's own
// arb_test_proc_fini won't run after the longjmp), then fails with why
// and everything the helper printed.
static void proc_fail(arb_test_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
proc_fail(arb_test_proc *p, const char *fmt, ...)
{
	char        why[1024];
	va_list     ap;
	char       *out;
	size_t      len;
	const char *mode;
	size_t      tail;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	(void) proc_kill_reap(p, deadline_in(FINI_MS));
	(void) proc_read(p, 0);
	out = p->out;
	len = p->len;
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->tag[0] != '\0') {
		(void) kill_leftovers(p->tag);
	}
	if (p->dir[0] != '\0') {
		(void) rm_tree(p->dir);
	}
	live_remove(p->pid);
	p->out = NULL;
	p->len = p->cap = p->mark = 0;

	// cmocka's print_error keeps only its first ~2 KB and, outside its
	// default output mode, puts the text into the report: write the
	// output to stderr ourselves, where a human will look.  Its end is
	// where what went wrong is.
	mode = getenv("CMOCKA_MESSAGE_OUTPUT");
	tail = mode != NULL && strcasecmp(mode, "stdout") != 0
	    ? 0
	    : (len > TAIL_MAX ? len - TAIL_MAX : 0);
	fprintf(stderr, "arb_test: %s\n--- helper output (%zu bytes, from %zu) "
	                "---\n%s%s--- end of helper output ---\n",
	    why, len, tail, out != NULL ? out + tail : "",
	    len > 0 && out[len - 1] != '\n' ? "\n" : "");
	fflush(stderr);
	print_error("ERROR: %s (the helper's output is above)\n", why);
	free(out);
	fail();
	abort(); // fail() longjmps; this keeps the noreturn promise
}

// --- Public functions -------------------------------------------------------

int
arb_test_run(const char *group, const struct CMUnitTest *tests, size_t n,
    int argc, char **argv)
{
	const char        *f = argc > 1 ? argv[1] : getenv("ARB_TEST_FILTER");
	struct CMUnitTest *sel;
	size_t             k = 0;
	int                rv;

	if (f == NULL || *f == '\0') {
		return (_cmocka_run_group_tests(group, tests, n, NULL, NULL));
	}
	// The selection is made here rather than by cmocka_set_test_filter,
	// so that the tests counted are the tests run.
	sel = calloc(n > 0 ? n : 1, sizeof(*sel));
	if (sel == NULL) {
		fprintf(stderr, "arb_test: out of memory\n");
		return (1);
	}
	for (size_t i = 0; i < n; i++) {
		if (fnmatch(f, tests[i].name, 0) == 0) {
			sel[k++] = tests[i];
		}
	}
	if (k == 0) {
		fprintf(stderr,
		    "arb_test: the filter '%s' (%s) selects none of the %zu "
		    "tests of %s:\n",
		    f, argc > 1 ? "argument" : "ARB_TEST_FILTER", n, group);
		for (size_t i = 0; i < n; i++) {
			fprintf(stderr, "  %s\n", tests[i].name);
		}
		free(sel);
		return (1);
	}
	rv = _cmocka_run_group_tests(group, sel, k, NULL, NULL);
	free(sel);
	return (rv);
}

// helper_end_with_parent makes the helper end with the process that
// spawned it: a test that dies outright (an abort, ctest's SIGKILL at its
// timeout) runs no cleanup, and its helpers -- nodes that wait for
// SIGTERM -- would run on.  The kernel sends SIGTERM when the spawning
// thread ends (the test's main thread: the harness runs nowhere else).
// posix_spawn runs no code of ours between fork and exec, so this runs
// first thing after the exec; a parent that died before the prctl took
// effect left the helper to another parent, which getppid() shows
// against ARB_TEST_PARENT, and the helper ends as the signal would have
// ended it.  The setting lasts across the exec of another program
// (arb_test_exec: arbor, arborctl) but not into the helper's own
// children: a node's process actors end with the node by its own means.
static void
helper_end_with_parent(void)
{
	const char *parent = getenv(PARENT_NAME);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
		fprintf(stderr, "arb_test: PR_SET_PDEATHSIG: %s\n",
		    strerror(errno));
		exit(99);
	}
	if (parent != NULL && strtol(parent, NULL, 10) != (long) getppid()) {
		(void) raise(SIGTERM); // SIG_DFL: arb_test_spawn set it
		_exit(128 + SIGTERM);
	}
}

void
arb_test_helper_main(
    int argc, char **argv, const arb_test_helper *helpers, size_t n)
{
	if (argc < 2 || strcmp(argv[1], "--arb-helper") != 0) {
		return;
	}
	if (argc < 3) {
		fprintf(
		    stderr, "arb_test: --arb-helper needs a helper name\n");
		exit(99);
	}
	helper_end_with_parent();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(helpers[i].name, argv[2]) == 0) {
			int rv = helpers[i].fn(argc - 2, argv + 2);

			fflush(NULL);
			exit(rv);
		}
	}
	fprintf(stderr, "arb_test: unknown helper \"%s\"\n", argv[2]);
	exit(99);
}

// wait_exec waits (at most FINI_MS) until pid's environ shows entry, or
// pid has exited.  posix_spawn returns once the child has replaced its
// memory, but the kernel fills in the new environment's location a little
// later, and until then /proc/PID/environ reads as empty: without this,
// arb_test_tagged could miss a helper that was just spawned.  There is no
// event for that, so it re-reads every millisecond; it takes well under
// one.
static bool
wait_exec(pid_t pid, const char *entry)
{
	int64_t deadline = deadline_in(FINI_MS);
	char   *buf = NULL;
	size_t  cap = 0;
	char    state;
	pid_t   ppid;
	bool    ok;

	for (;;) {
		if (pid_tagged(pid, entry, &buf, &cap)
		    || !pid_stat(pid, &state, &ppid, &buf, &cap)
		    || is_dead_state(state)) {
			ok = true;
			break;
		}
		if (ms_left(deadline) == 0) {
			ok = false;
			break;
		}
		nap(deadline, 1);
	}
	free(buf);
	return (ok);
}

void
arb_test_spawn(arb_test_proc *p, const char *helper, const char *const *args)
{
	static unsigned            counter;
	char                       exe[PATH_MAX];
	char                       tag_env[sizeof(TAG_ENV) + sizeof(p->tag)];
	char                       dir_env[sizeof(DIR_ENV) + sizeof(p->dir)];
	char                       parent_env[sizeof(PARENT_ENV) + 24];
	char                       xdg_env[32 + sizeof(p->dir)];
	char                       err[512] = "";
	const char                *base;
	const char                *parent;
	char                     **argv = NULL;
	char                     **envp = NULL;
	size_t                     nargs = 0;
	size_t                     nenv = 0;
	size_t                     k;
	posix_spawnattr_t          attr;
	posix_spawn_file_actions_t fa;
	bool                       attr_ok = false;
	bool                       fa_ok = false;
	sigset_t                   none;
	sigset_t                   dfl;
	struct timespec            ts;
	int                        pfd[2] = { -1, -1 };
	ssize_t                    n;
	int                        rv;

	memset(p, 0, sizeof(*p));
	p->fd = -1;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		fail_msg("arb_test_spawn: readlink /proc/self/exe: %s",
		    strerror(errno));
	}
	exe[n] = '\0';
	base = strrchr(exe, '/') != NULL ? strrchr(exe, '/') + 1 : exe;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(p->tag, sizeof(p->tag), "%.16s-%ld-%u-%lld", base,
	    (long) getpid(), ++counter,
	    (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
	// In a helper, under its own ARB_TEST_DIR if the name fits, so the
	// outer fini removes what a nested helper leaves; else under /tmp.
	parent = getenv("ARB_TEST_DIR");
	if (parent == NULL || parent[0] != '/'
	    || (size_t) snprintf(
	           p->dir, sizeof(p->dir), "%s/arb-%.16s-XXXXXX", parent, base)
	        >= sizeof(p->dir)) {
		snprintf(
		    p->dir, sizeof(p->dir), "/tmp/arb-%.16s-XXXXXX", base);
	}
	if (mkdtemp(p->dir) == NULL) { // mode 0700
		fail_msg(
		    "arb_test_spawn: mkdtemp %s: %s", p->dir, strerror(errno));
	}
	snprintf(tag_env, sizeof(tag_env), "%s%s", TAG_ENV, p->tag);
	snprintf(dir_env, sizeof(dir_env), "%s%s", DIR_ENV, p->dir);
	snprintf(xdg_env, sizeof(xdg_env), "XDG_RUNTIME_DIR=%s", p->dir);
	snprintf(parent_env, sizeof(parent_env), "%s%ld", PARENT_ENV,
	    (long) getpid());

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, sizeof(err), "pipe2: %s", strerror(errno));
		goto out;
	}
	// If the test closed its stdout or stderr the write end could be
	// fd 1 or 2, and the dup2 file actions would clobber it.
	if (pfd[1] <= STDERR_FILENO) {
		int fd = fcntl(pfd[1], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

		if (fd < 0) {
			snprintf(
			    err, sizeof(err), "F_DUPFD: %s", strerror(errno));
			goto out;
		}
		close(pfd[1]);
		pfd[1] = fd;
	}
	if (fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK) != 0) {
		snprintf(err, sizeof(err), "O_NONBLOCK: %s", strerror(errno));
		goto out;
	}

	// argv: self --arb-helper helper args... NULL
	while (args != NULL && args[nargs] != NULL) {
		nargs++;
	}
	argv = calloc(nargs + 4, sizeof(*argv));
	// envp: our tag and dir first, where getenv finds them, then the
	// current environment without any inherited dir.  An inherited tag
	// (a helper that spawns helpers) stays, as a second ARB_TEST_TAG
	// entry, so the outer test's leak check still sees these processes.
	while (environ[nenv] != NULL) {
		nenv++;
	}
	envp = calloc(nenv + 5, sizeof(*envp));
	if (argv == NULL || envp == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	argv[0] = exe;
	argv[1] = (char *) "--arb-helper";
	argv[2] = (char *) helper;
	for (size_t i = 0; i < nargs; i++) {
		argv[3 + i] = (char *) args[i];
	}
	k = 0;
	envp[k++] = tag_env;
	envp[k++] = dir_env;
	// Nodes put their run directory (mailbox sockets) and default
	// control socket under $XDG_RUNTIME_DIR: inside the helper's private
	// dir, removed by arb_test_proc_fini even when the node was killed.
	envp[k++] = xdg_env;
	// The helper checks that this process is still its parent once it
	// has asked to end with it (helper_end_with_parent).
	envp[k++] = parent_env;
	for (size_t i = 0; i < nenv; i++) {
		if (strncmp(environ[i], DIR_ENV, strlen(DIR_ENV)) != 0 &&
		    strncmp(environ[i], PARENT_ENV, strlen(PARENT_ENV)) != 0 &&
		    strncmp(environ[i], "XDG_RUNTIME_DIR=", 16) != 0) {
			envp[k++] = environ[i];
		}
	}

	// Own process group, empty mask, default dispositions for the
	// signals a test may have ignored or caught (exec resets caught
	// ones, but not ignored ones).
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	if ((rv = posix_spawnattr_init(&attr)) != 0) {
		snprintf(err, sizeof(err), "spawnattr: %s", strerror(rv));
		goto out;
	}
	attr_ok = true;
	if ((rv = posix_spawn_file_actions_init(&fa)) != 0) {
		snprintf(err, sizeof(err), "file_actions: %s", strerror(rv));
		goto out;
	}
	fa_ok = true;
	rv = posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
	        | POSIX_SPAWN_SETSIGDEF);
	if (rv == 0) {
		rv = posix_spawnattr_setpgroup(&attr, 0);
	}
	if (rv == 0) {
		rv = posix_spawnattr_setsigmask(&attr, &none);
	}
	if (rv == 0) {
		rv = posix_spawnattr_setsigdefault(&attr, &dfl);
	}
	if (rv == 0) {
		rv = posix_spawn_file_actions_addopen(
		    &fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	}
	if (rv == 0) {
		rv = posix_spawn_file_actions_adddup2(
		    &fa, pfd[1], STDOUT_FILENO);
	}
	if (rv == 0) {
		rv = posix_spawn_file_actions_adddup2(
		    &fa, pfd[1], STDERR_FILENO);
	}
#if defined(__GLIBC__)                                                        \
    && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	// The helper gets only the fds it is meant to have, even if the test
	// process holds some that aren't close-on-exec.
	if (rv == 0) {
		rv = posix_spawn_file_actions_addclosefrom_np(
		    &fa, STDERR_FILENO + 1);
	}
#endif
	if (rv != 0) {
		snprintf(err, sizeof(err), "spawn setup: %s", strerror(rv));
		goto out;
	}
	// POSIX_SPAWN_SETPGROUP makes the child call setpgid(0, 0) before
	// exec, and glibc's posix_spawn returns only after the exec, so the
	// group exists on return.  The parent's setpgid closes the same race
	// on other libcs; after the exec it fails with EACCES, harmlessly.
	rv = posix_spawn(&p->pid, exe, &fa, &attr, argv, envp);
	if (rv != 0) {
		p->pid = 0;
		snprintf(err, sizeof(err), "posix_spawn %.400s: %s", exe,
		    strerror(rv));
		goto out;
	}
	(void) setpgid(p->pid, p->pid);

	p->fd = pfd[0];
	pfd[0] = -1;
	out_reserve(p, 0);
	if (!live_add(p)) {
		snprintf(err, sizeof(err), "out of memory");
	} else if (!wait_exec(p->pid, tag_env)) {
		snprintf(err, sizeof(err),
		    "helper pid %d didn't show its tag within %d ms",
		    (int) p->pid, FINI_MS);
	}

out:
	if (fa_ok) {
		posix_spawn_file_actions_destroy(&fa);
	}
	if (attr_ok) {
		posix_spawnattr_destroy(&attr);
	}
	free(argv);
	free(envp);
	if (pfd[0] >= 0) {
		close(pfd[0]);
	}
	if (pfd[1] >= 0) {
		close(pfd[1]);
	}
	if (err[0] != '\0') {
		if (p->pid > 0) {
			proc_fail(p, "arb_test_spawn(%s): %s", helper, err);
		}
		(void) rm_tree(p->dir);
		fail_msg("arb_test_spawn(%s): %s", helper, err);
	}
}

// proc_reap waits (until deadline) for the helper to exit and reaps it,
// reading its output meanwhile so a helper blocked on a full pipe can
// finish.  With a pidfd it polls the pidfd and the pipe; without one it
// retries waitpid every RETRY_MS.  Returns p->exited.
static bool
proc_reap(arb_test_proc *p, int64_t deadline)
{
	int pidfd;

	if (p->pid <= 0 || p->exited) {
		return (p->exited);
	}
	pidfd = pidfd_open_(p->pid);
	for (;;) {
		struct pollfd pfd[2];
		nfds_t        nfd = 0;
		int           st;
		int           left;
		int           rv;
		pid_t         r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			p->exited = true;
			p->status = st;
			live_reaped(p->pid);
			break;
		}
		if (r < 0 && errno != EINTR) {
			int e = errno;

			if (pidfd >= 0) {
				close(pidfd);
			}
			fail_msg("arb_test: waitpid(%d): %s (is SIGCHLD "
			         "ignored, or did someone else reap it?)",
			    (int) p->pid, strerror(e));
		}
		left = ms_left(deadline);
		if (left == 0) {
			break;
		}
		if (p->fd >= 0) {
			pfd[nfd].fd = p->fd;
			pfd[nfd].events = POLLIN;
			pfd[nfd].revents = 0;
			nfd++;
		}
		if (pidfd >= 0) {
			pfd[nfd].fd = pidfd;
			pfd[nfd].events = POLLIN;
			pfd[nfd].revents = 0;
			nfd++;
		}
		rv = poll(pfd, nfd,
		    pidfd >= 0 ? left : (left < RETRY_MS ? left : RETRY_MS));
		if (rv > 0 && p->fd >= 0 && pfd[0].revents != 0) {
			(void) proc_read(p, 0);
		}
	}
	if (pidfd >= 0) {
		close(pidfd);
	}
	return (p->exited);
}

static const char *
expect(arb_test_proc *p, const char *needle, int timeout_ms)
{
	int64_t deadline = deadline_in(timeout_ms);
	bool    last = false;

	for (;;) {
		size_t      next;
		const char *line = find_line(p, p->mark, needle, &next);
		int         left;

		if (line != NULL) {
			p->mark = next;
			return (line);
		}
		if (p->fd < 0 || last) {
			return (NULL);
		}
		left = ms_left(deadline);
		last = left == 0; // one last look at what is in the pipe
		(void) proc_read(p, left);
	}
}

const char *
arb_test_try_expect(arb_test_proc *p, const char *needle, int timeout_ms)
{
	return (expect(p, needle, timeout_ms));
}

const char *
arb_test_expect(arb_test_proc *p, const char *needle, int timeout_ms)
{
	const char *line = expect(p, needle, timeout_ms);

	if (line == NULL) {
		proc_fail(p,
		    "arb_test_expect: no line containing \"%s\" from helper "
		    "pid %d %s",
		    needle, (int) p->pid,
		    p->fd < 0 ? "before its output ended"
		              : "within the timeout");
	}
	return (line);
}

int
arb_test_count(arb_test_proc *p, const char *needle)
{
	size_t at = 0;
	size_t next;
	int    n = 0;

	while (find_line(p, at, needle, &next) != NULL) {
		n++;
		at = next;
	}
	return (n);
}

int
arb_test_wait_exit(arb_test_proc *p, int timeout_ms)
{
	int64_t deadline = deadline_in(timeout_ms);
	int64_t drain;

	if (!proc_reap(p, deadline)) {
		proc_fail(p,
		    "arb_test_wait_exit: helper pid %d still running "
		    "after %d ms",
		    (int) p->pid, timeout_ms);
	}
	drain = deadline_in(DRAIN_MS);
	if (drain > deadline) {
		drain = deadline;
	}
	while (p->fd >= 0) {
		int left = ms_left(drain);

		(void) proc_read(p, left);
		if (left == 0) {
			break;
		}
	}
	return (p->status);
}

int
arb_test_exit_code(int status)
{
	if (WIFEXITED(status)) {
		return (WEXITSTATUS(status));
	}
	if (WIFSIGNALED(status)) {
		return (128 + WTERMSIG(status));
	}
	return (-1);
}

void
arb_test_proc_fini(arb_test_proc *p)
{
	char why[512] = "";
	int  left;

	if (p->pid > 0 && !proc_kill_reap(p, deadline_in(FINI_MS))) {
		snprintf(why, sizeof(why),
		    "helper pid %d survived SIGKILL for %d ms", (int) p->pid,
		    FINI_MS);
	}
	if (p->fd >= 0) {
		(void) proc_read(p, 0); // for the report below
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
	}
	if (p->tag[0] != '\0') {
		left = arb_test_wait_tagged(p->tag, 0, FINI_MS);
		if (left > 0) {
			(void) kill_leftovers(p->tag);
			if (why[0] == '\0') {
				snprintf(why, sizeof(why),
				    "%d process(es) tagged %s still there "
				    "%d ms after the helper was reaped "
				    "(listed above, now killed)",
				    left, p->tag, FINI_MS);
			}
		}
	}
	if (p->dir[0] != '\0' && rm_tree(p->dir) != 0 && why[0] == '\0') {
		snprintf(why, sizeof(why), "can't remove %s: %s", p->dir,
		    strerror(errno));
	}
	if (p->pid > 0) {
		live_remove(p->pid);
	}
	if (why[0] != '\0') {
		proc_fail(p, "arb_test_proc_fini: %s", why);
	}
	free(p->out);
	p->out = NULL;
	p->len = p->cap = p->mark = 0;
}

long
arb_test_field(const char *line, const char *key)
{
	size_t      klen = strlen(key);
	const char *eol = strchr(line, '\n');
	const char *end = eol != NULL ? eol : line + strlen(line);
	const char *s = line;

	if (klen == 0) {
		return (-1);
	}
	while (s < end) {
		const char *hit = memmem(s, (size_t) (end - s), key, klen);
		const char *v;
		char        prev;

		if (hit == NULL) {
			return (-1);
		}
		s = hit + 1;
		v = hit + klen;
		prev = hit > line ? hit[-1] : ' ';
		if (v >= end || *v != '=' || prev == '_'
		    || (prev >= '0' && prev <= '9')
		    || (prev >= 'a' && prev <= 'z')
		    || (prev >= 'A' && prev <= 'Z')) {
			continue;
		}
		v++;
		if (v < end && *v >= '0' && *v <= '9') {
			return (strtol(v, NULL, 10));
		}
	}
	return (-1);
}

void
arb_test_cmdfifo_write(
    const arb_test_proc *p, const char *name, const char *line)
{
	char   path[512];
	char   buf[1024];
	size_t n = strlen(line);
	int    fd;

	assert_true(n > 0 && n < sizeof(buf) - 1);
	memcpy(buf, line, n);
	if (buf[n - 1] != '\n') {
		buf[n++] = '\n';
	}
	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fail_msg("open %s: errno %d", path, errno);
	}
	assert_int_equal(write(fd, buf, n), (ssize_t) n);
	close(fd);
}

char *
arb_test_line(arb_test_proc *p, const char *needle, int timeout_ms,
    char *buf, size_t n)
{
	const char *l;
	size_t      k;

	p->mark = 0;
	l       = arb_test_expect(p, needle, timeout_ms);
	k       = strcspn(l, "\n");
	if (k >= n) {
		k = n - 1;
	}
	memcpy(buf, l, k);
	buf[k] = '\0';
	return buf;
}

long
arb_test_need_field(const char *line, const char *key)
{
	long v = arb_test_field(line, key);

	if (v < 0) {
		fail_msg("no %s= in: %s", key, line);
	}
	return v;
}

void
arb_test_emit(const char *fmt, ...)
{
	char    buf[PIPE_BUF]; // one write of at most PIPE_BUF is atomic
	va_list ap;
	int     n;
	size_t  len;
	int     saved = errno;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = 0;
	}
	len = (size_t) n < sizeof(buf) - 2 ? (size_t) n : sizeof(buf) - 2;
	buf[len++] = '\n';
	while (write(STDERR_FILENO, buf, len) < 0 && errno == EINTR) { }
	errno = saved;
}

const char *
arb_test_dir(void)
{
	const char *d = getenv("ARB_TEST_DIR");

	return (d != NULL && d[0] != '\0' ? d : "/tmp");
}

// cleanup_live kills and cleans up the helpers that were never finalised,
// typically because a failed assertion longjmped out of their test, saying
// so on stderr with `when`; returns how many.
static int
cleanup_live(const char *when)
{
	int n = (int) live_n;

	if (live_owner != getpid()) {
		return (0); // a fork of the test process: not our helpers
	}
	for (size_t i = 0; i < live_n; i++) {
		live_proc *lp = &live[i];
		int        st;

		fprintf(stderr,
		    "arb_test: helper pid %d (tag %s) was not finalised; "
		    "killing it %s\n",
		    (int) lp->pid, lp->tag, when);
		if (!lp->reaped) {
			(void) kill(-lp->pid, SIGKILL);
			(void) kill(lp->pid, SIGKILL);
			(void) reap_child(lp->pid, &st, deadline_in(1000));
		}
		if (arb_test_wait_tagged(lp->tag, 0, 1000) > 0) {
			(void) kill_leftovers(lp->tag);
		}
		(void) rm_tree(lp->dir);
		free(lp->out);
	}
	live_n = 0;
	return (n);
}

int
arb_test_cleanup(void)
{
	return (cleanup_live("after its test"));
}

static void
cleanup_at_exit(void)
{
	if (live_owner != getpid()) {
		return;
	}
	(void) cleanup_live("at exit");
	free(live);
	live = NULL;
	live_cap = 0;
}

// What a tidy test's *state points to.
typedef struct tidy {
	char dir[64]; // arb_test_tidy_dir's, or ""
} tidy;

int
arb_test_tidy_setup(void **state)
{
	*state = calloc(1, sizeof(tidy));
	return (*state != NULL ? 0 : -1);
}

int
arb_test_tidy_teardown(void **state)
{
	tidy *t = *state;
	int   rv = 0;

	(void) arb_test_cleanup();
	if (t != NULL && t->dir[0] != '\0' && access(t->dir, F_OK) == 0) {
		fprintf(stderr, "arb_test: removing %s, left by its test\n",
		    t->dir);
		rv = rm_tree(t->dir);
	}
	free(t);
	*state = NULL;
	return (rv);
}

const char *
arb_test_tidy_dir(void **state, const char *tag)
{
	tidy *t = *state;

	if (t == NULL || t->dir[0] != '\0') {
		fail_msg("arb_test_tidy_dir: %s",
		    t == NULL ? "not a tidy test (ARB_TEST_TIDY)"
		              : "one directory a test");
	}
	arb_test_mkdtemp(t->dir, sizeof(t->dir), tag);
	return (t->dir);
}

int
arb_test_exec(const char *bin, int argc, char **argv)
{
	char *args[32];
	int   i = 1, n = 0;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		putenv(argv[i]);
	}
	args[n++] = (char *) bin;
	for (i++; i < argc && n < 31; i++) {
		args[n++] = argv[i];
	}
	args[n] = NULL;
	if (strchr(bin, '/') != NULL) {
		execv(bin, args);
	} else {
		execvp(bin, args); // a bare name (chromium) is found in PATH
	}
	fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
	return 127;
}

void
arb_test_mkdtemp(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/arbor-%s-XXXXXX", tag);
	if (mkdtemp(buf) == NULL) {
		fail_msg("arb_test_mkdtemp %s: %s", buf, strerror(errno));
	}
}

int
arb_test_rmtree(const char *dir)
{
	return rm_tree(dir) == 0 ? 0 : -1;
}

const char *
arb_test_write_file(const char *dir, const char *name, const char *text,
    char *buf, size_t len)
{
	char  tmp[PATH_MAX];
	FILE *f;

	snprintf(buf, len, "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", buf);
	if ((f = fopen(tmp, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || rename(tmp, buf) != 0) {
		fail_msg("arb_test_write_file %s: %s", buf, strerror(errno));
	}
	return buf;
}
