// SPDX-License-Identifier: MIT
// log.c -- leveled logging, one event per line, to stderr.
//
// Lines are "TIME arbor[PID]: LEVEL PATH key=value ..." so journald keeps
// them whole and tests can parse them.  TIME is RFC 3339 in UTC with
// milliseconds ("2025-01-06T05:13:00.123Z"), left out when stderr is the
// journal (which stamps every line itself): $JOURNAL_STREAM names the
// device and inode of the journal's stream, and when they are stderr's
// each line starts with its syslog priority ("<4>") instead, which
// journald turns into the entry's priority.  $ARB_LOG_TIME (auto, on,
// off) or arb__log_set_time force the timestamps either way.  One
// write(2) per line, so lines from several threads or processes sharing
// stderr never interleave (lines are kept under PIPE_BUF).  Repeated
// identical warnings and errors within one second are folded into one
// "event=repeated count=N" line.  What a line says goes through
// arb__escape (escape.c): control bytes and bytes that are not UTF-8
// become \xNN, so a line is one line of UTF-8 text, and a line cut to
// fit is cut between characters.  Never called from a signal handler.
// Thread: any.

#include "arb_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int      log_level = ARB_LOG_INFO;
static pthread_mutex_t log_mtx   = PTHREAD_MUTEX_INITIALIZER;
static char            log_last[512];
static int64_t         log_last_ms;
static unsigned        log_repeats;

static const char *const level_names[] = { "?", "error", "warn", "info",
	"debug" };
// syslog priorities of the levels (sd-daemon.h's SD_ERR, SD_WARNING...).
static const char *const level_prio[] = { "", "<3>", "<4>", "<6>", "<7>" };

// How lines start, decided at the first line (or arb__log_set_time):
// LOG_UNDECIDED, else a mask of LOG_STAMP (a timestamp) and LOG_PRIO (the
// priority prefix, stderr is the journal).
#define LOG_UNDECIDED (-1)
#define LOG_STAMP     1
#define LOG_PRIO      2
static atomic_int log_style = LOG_UNDECIDED;

int
arb__log_level_parse(const char *text)
{
	int i;

	for (i = ARB_LOG_ERROR; i <= ARB_LOG_DEBUG; i++) {
		if (strcmp(text, level_names[i]) == 0) {
			return i;
		}
	}
	if (text[0] >= '1' && text[0] <= '4' && text[1] == '\0') {
		return text[0] - '0';
	}
	return 0;
}

void
arb__log_set_level(int level)
{
	if (level < ARB_LOG_ERROR) {
		level = ARB_LOG_ERROR;
	}
	if (level > ARB_LOG_DEBUG) {
		level = ARB_LOG_DEBUG;
	}
	atomic_store(&log_level, level);
}

int
arb__log_level(void)
{
	return atomic_load(&log_level);
}

// stderr_is_journal is true when $JOURNAL_STREAM ("DEVICE:INODE", set by
// systemd for a service whose stderr is connected to the journal) names
// the file stderr is: a child that redirected its stderr elsewhere keeps
// the variable, so the variable alone proves nothing.
static bool
stderr_is_journal(void)
{
	const char        *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat        st;
	char               tail;

	return v != NULL && sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) == 2
	    && fstat(STDERR_FILENO, &st) == 0
	    && (unsigned long long) st.st_dev == dev
	    && (unsigned long long) st.st_ino == ino;
}

void
arb__log_set_time(int mode)
{
	const char *env;
	bool        journal = stderr_is_journal();
	int         style = journal ? LOG_PRIO : 0;

	if (mode == ARB_LOG_TIME_AUTO
	    && (env = getenv("ARB_LOG_TIME")) != NULL) {
		mode = strcmp(env, "on") == 0 ? ARB_LOG_TIME_ON
		    : strcmp(env, "off") == 0 ? ARB_LOG_TIME_OFF
		                              : ARB_LOG_TIME_AUTO;
	}
	if (mode == ARB_LOG_TIME_ON
	    || (mode != ARB_LOG_TIME_OFF && !journal)) {
		style |= LOG_STAMP;
	}
	atomic_store(&log_style, style);
}

static int
log_style_get(void)
{
	int style = atomic_load(&log_style);

	if (style == LOG_UNDECIDED) {
		arb__log_set_time(ARB_LOG_TIME_AUTO);
		style = atomic_load(&log_style);
	}
	return style;
}

// log_head writes the start of a line, before "arbor[PID]:": the
// priority and the time, as the style says.  Returns its length.
static size_t
log_head(char *buf, size_t len, int level)
{
	struct timespec ts;
	struct tm       tm;
	int             style = log_style_get();
	int             n = 0, m;

	if ((style & LOG_PRIO) != 0) {
		n = snprintf(buf, len, "%s", level_prio[level]);
	}
	if ((style & LOG_STAMP) != 0 && clock_gettime(CLOCK_REALTIME, &ts) == 0
	    && gmtime_r(&ts.tv_sec, &tm) != NULL) {
		m = snprintf(buf + n, len - (size_t) n,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, (int) (ts.tv_nsec / 1000000));
		n += m > 0 ? m : 0;
	}
	buf[n] = '\0';
	return (size_t) n;
}

// --- The writer ------------------------------------------------------------
//
// A line is written at once when that cannot block (the direct path,
// below); when it would, the line goes into a bounded ring (log_mtx) and
// one writer thread of the process writes it to stderr, so a reader of
// stderr that stops reading (a stalled journal, `arbor run | less` left
// alone) blocks that thread, never the thread that logs: the node's loop
// keeps answering arborctl and /healthz.  stderr's own file description
// is left as it is (no O_NONBLOCK: it is shared with the shell and the
// children), and the writer's blocking write(2) works the same on a
// pipe, a tty, a file or the journal's socket.  The writer takes whole
// lines, at most PIPE_BUF bytes per write(2), so lines of other
// processes sharing the pipe never land inside them.  While the ring is
// full new lines are dropped and counted (arb__log_dropped); one
// "event=log_dropped count=N" line says so where the gap is, once there
// is room again.  The writer is started when first needed, woken only
// when it sleeps (a backlog is written in batches of PIPE_BUF); at exit
// the ring is written with a bounded wait (ARB__LOG_EXIT_MS) so a dead
// reader cannot hang it.  The ring holds $ARB_LOG_BUFFER bytes (4 KiB to
// 64 MiB), 256 KiB by default.

#define LOG_RING_DEF (256 * 1024) // $ARB_LOG_BUFFER bytes, else this
#define LOG_RING_MIN 4096
#define LOG_RING_MAX (64 * 1024 * 1024)
#define LOG_BATCH    4096 // PIPE_BUF: one write(2) lands whole in a pipe

static char           *log_ring;
static size_t          log_ring_len;
static size_t          log_head_at; // first unwritten byte
static size_t          log_used;    // bytes waiting
static pthread_cond_t  log_wake;    // the writer waits here
static pthread_cond_t  log_idle;    // arb__log_flush waits here
static pthread_once_t  log_once = PTHREAD_ONCE_INIT;
static bool            log_writer_on;   // a writer thread runs
static bool            log_writer_bad;  // none could start: write inline
static bool            log_writer_wait; // it sleeps in log_wake
static bool            log_writer_busy; // it writes a batch
static uint64_t        log_unsaid;      // dropped, not yet reported
static _Atomic uint64_t log_dropped;    // dropped since the start

static void
log_write_fd(const char *line, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDERR_FILENO, line, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return; // nothing sensible to do
		}
		line += w;
		n -= (size_t) w;
	}
}

// ring_put copies n bytes to the ring's end (there is room).  Locked.
static void
ring_put(const char *p, size_t n)
{
	size_t at = (log_head_at + log_used) % log_ring_len;
	size_t k = n < log_ring_len - at ? n : log_ring_len - at;

	memcpy(log_ring + at, p, k);
	memcpy(log_ring, p + k, n - k);
	log_used += n;
}

// dropped_line formats the line that reports n dropped lines.
static size_t
dropped_line(char *buf, size_t len, uint64_t n)
{
	char head[40];
	int  m;

	log_head(head, sizeof(head), ARB_LOG_WARN);
	m = snprintf(buf, len,
	    "%sarbor[%d]: warn - event=log_dropped count=%llu (%llu log "
	    "lines dropped: stderr was not read)\n",
	    head, (int) getpid(), (unsigned long long) n,
	    (unsigned long long) n);
	return m < 0 ? 0 : (size_t) m < len ? (size_t) m : len - 1;
}

// log_enqueue puts one whole line into the ring, or counts it dropped.
// A report of earlier drops goes first when both fit.  Locked.
static void
log_enqueue(const char *line, size_t n)
{
	char   said[160];
	size_t sn = 0;

	if (log_unsaid > 0) {
		sn = dropped_line(said, sizeof(said), log_unsaid);
	}
	if (log_ring_len - log_used < n + sn) {
		log_unsaid++;
		atomic_fetch_add(&log_dropped, 1);
		return;
	}
	if (sn > 0) {
		ring_put(said, sn);
		log_unsaid = 0;
	}
	ring_put(line, n);
	if (log_writer_wait) {
		pthread_cond_signal(&log_wake);
	}
}

// writer_batch copies whole lines (at most LOG_BATCH bytes) out of the
// ring into buf, or the report of dropped lines when the ring is empty.
// Returns the bytes, 0 when there is nothing to write.  Locked.
static size_t
writer_batch(char *buf)
{
	size_t n = log_used < LOG_BATCH ? log_used : LOG_BATCH;
	size_t k, i;

	if (n == 0) {
		if (log_unsaid == 0) {
			return 0;
		}
		n = dropped_line(buf, LOG_BATCH, log_unsaid);
		log_unsaid = 0;
		return n;
	}
	k = n < log_ring_len - log_head_at ? n : log_ring_len - log_head_at;
	memcpy(buf, log_ring + log_head_at, k);
	memcpy(buf + k, log_ring, n - k);
	// Whole lines only (every line ends in '\n' and is under LOG_BATCH).
	for (i = n; i > 0 && buf[i - 1] != '\n'; i--) {
	}
	n = i > 0 ? i : n;
	log_head_at = (log_head_at + n) % log_ring_len;
	log_used -= n;
	return n;
}

static void *
writer_main(void *arg)
{
	static char buf[LOG_BATCH];
	size_t      n;

	(void) arg;
	pthread_mutex_lock(&log_mtx);
	for (;;) {
		while ((n = writer_batch(buf)) == 0) {
			pthread_cond_broadcast(&log_idle);
			log_writer_wait = true;
			pthread_cond_wait(&log_wake, &log_mtx);
			log_writer_wait = false;
		}
		log_writer_busy = true;
		pthread_mutex_unlock(&log_mtx);
		log_write_fd(buf, n); // may block: nobody waits for it
		pthread_mutex_lock(&log_mtx);
		log_writer_busy = false;
	}
	return NULL;
}

static void
log_at_exit(void)
{
	arb__log_flush(ARB__LOG_EXIT_MS);
}

// A child of fork(2) has no writer thread and the ring's lines are the
// parent's to write: it starts afresh (with a writer of its own once it
// logs).
static void
log_fork_prepare(void)
{
	pthread_mutex_lock(&log_mtx);
}

static void
log_fork_parent(void)
{
	pthread_mutex_unlock(&log_mtx);
}

static void
log_fork_child(void)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&log_mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log_wake, &ca);
	pthread_cond_init(&log_idle, &ca);
	pthread_condattr_destroy(&ca);
	log_head_at = log_used = 0;
	log_unsaid = 0;
	log_writer_on = log_writer_wait = log_writer_busy = false;
}

static void
log_init_once(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log_wake, &ca);
	pthread_cond_init(&log_idle, &ca);
	pthread_condattr_destroy(&ca);
	pthread_atfork(log_fork_prepare, log_fork_parent, log_fork_child);
	atexit(log_at_exit);
}

// writer_start starts the writer thread, with every signal blocked (the
// process's signals are its other threads' business).  Locked.
static void
writer_start(void)
{
	pthread_attr_t at;
	pthread_t      t;
	sigset_t       all, old;
	const char    *env = getenv("ARB_LOG_BUFFER");
	char          *end;
	unsigned long  len = LOG_RING_DEF;

	if (env != NULL && env[0] != '\0') {
		len = strtoul(env, &end, 10);
		len = *end != '\0' ? LOG_RING_DEF
		    : len < LOG_RING_MIN ? LOG_RING_MIN
		    : len > LOG_RING_MAX ? LOG_RING_MAX
		                         : len;
	}
	if (log_ring == NULL) { // a child of fork(2) keeps the parent's
		if ((log_ring = malloc(len)) == NULL) {
			log_writer_bad = true;
			return;
		}
		log_ring_len = len;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	if (pthread_create(&t, &at, writer_main, NULL) == 0) {
		log_writer_on = true;
	} else {
		log_writer_bad = true;
	}
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

// --- The direct path --------------------------------------------------------
//
// While nothing waits in the ring, a line is written at once by the
// thread that logs, with a write(2) that cannot block: lines keep their
// order with what other threads and processes write to the same stderr,
// and no thread is woken.  Only when that write would block does the line
// go to the ring (and every line after it, until the ring is empty
// again).  What cannot block depends on what stderr is, looked at with
// fstat(2) at every line (a program may dup2 another file onto it):
//   - a pipe, FIFO, terminal or other character device: stderr reopened
//     through /proc/self/fd/2 with O_NONBLOCK, which gives a file
//     description of our own (stderr's, shared with the shell and the
//     children, keeps its flags);
//   - a socket (the journal's stream): send(2) with MSG_DONTWAIT on
//     stderr itself, a flag of the call, not of the description;
//   - a regular file or block device: write(2) itself (it does not wait
//     for a reader);
//   - anything else, or a reopen that failed: the ring only.

enum { NB_RING, NB_FD, NB_SOCK, NB_FILE };
static int   log_nb_kind = NB_RING;
static int   log_nb_fd = -1;   // NB_FD: stderr reopened O_NONBLOCK
static dev_t log_nb_dev;       // the stderr log_nb_kind is for
static ino_t log_nb_ino;
static bool  log_nb_known;

// nb_check sets the direct path up for what stderr is now.  Locked.
static void
nb_check(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) != 0) {
		log_nb_known = false;
		log_nb_kind  = NB_RING;
		return;
	}
	if (log_nb_known && st.st_dev == log_nb_dev
	    && st.st_ino == log_nb_ino) {
		return;
	}
	if (log_nb_fd >= 0) {
		close(log_nb_fd);
		log_nb_fd = -1;
	}
	log_nb_known = true;
	log_nb_dev   = st.st_dev;
	log_nb_ino   = st.st_ino;
	log_nb_kind  = NB_RING;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		log_nb_kind = NB_FILE;
	} else if (S_ISSOCK(st.st_mode)) {
		log_nb_kind = NB_SOCK;
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		log_nb_fd = open("/proc/self/fd/2",
		    O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		log_nb_kind = log_nb_fd >= 0 ? NB_FD : NB_RING;
	}
}

// nb_write writes what it can of p at once: the bytes written, 0 when
// the line must wait in the ring, -1 when it is lost (a reader that is
// gone: nothing sensible to do, as before).  Locked.
static ssize_t
nb_write(const char *p, size_t n)
{
	ssize_t w;

	do {
		switch (log_nb_kind) {
		case NB_FD:
			w = write(log_nb_fd, p, n);
			break;
		case NB_SOCK:
			w = send(
			    STDERR_FILENO, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case NB_FILE:
			w = write(STDERR_FILENO, p, n);
			break;
		default:
			return 0;
		}
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return w;
}

// log_emit_one writes one line at once when nothing waits before it,
// else (or for what the write left) hands it to the writer thread; with
// no writer thread (it could not start) it is written blocking, as
// before there was one.  Locked.
static void
log_emit_one(const char *line, size_t n)
{
	ssize_t w = 0;

	if (n == 0) {
		return;
	}
	if (log_used == 0 && log_unsaid == 0 && !log_writer_busy) {
		if ((w = nb_write(line, n)) < 0 || (size_t) w == n) {
			return;
		}
	}
	if (!log_writer_on && !log_writer_bad) {
		writer_start();
	}
	if (log_writer_on) {
		log_enqueue(line + w, n - (size_t) w);
	} else {
		log_write_fd(line + w, n - (size_t) w);
	}
}

// log_emit writes the line that folds repeats (rn > 0), then the line.
// Locked on entry, unlocked on return.
static void
log_emit(const char *line, size_t n, const char *rep, size_t rn)
{
	nb_check();
	log_emit_one(rep, rn);
	log_emit_one(line, n);
	pthread_mutex_unlock(&log_mtx);
}

bool
arb__log_flush(int timeout_ms)
{
	struct timespec dl;
	bool            done;

	pthread_once(&log_once, log_init_once);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&log_mtx);
	for (;;) {
		done = !log_writer_on || (log_used == 0 && log_unsaid == 0
		                             && !log_writer_busy);
		if (done) {
			break;
		}
		if (log_writer_wait) {
			pthread_cond_signal(&log_wake);
		}
		if (pthread_cond_timedwait(&log_idle, &log_mtx, &dl) != 0) {
			done = log_used == 0 && log_unsaid == 0
			    && !log_writer_busy;
			break;
		}
	}
	pthread_mutex_unlock(&log_mtx);
	return done;
}

uint64_t
arb__log_dropped(void)
{
	return atomic_load(&log_dropped);
}

void
arb__logv(int level, const char *path, const char *event, const char *fmt,
    va_list ap)
{
	char    raw[448];
	char    body[448];
	char    key[512];
	char    head[40];
	char    line[560];
	char    rep[320];
	int     n, rn = 0;
	size_t  used = 0;
	int64_t now;

	if (level < ARB_LOG_ERROR || level > ARB_LOG_DEBUG ||
	    level > atomic_load(&log_level)) {
		return;
	}
	pthread_once(&log_once, log_init_once);
	raw[0] = '\0';
	if (event != NULL) {
		n    = snprintf(raw, sizeof(raw), "event=%s%s", event,
                    fmt != NULL && fmt[0] != '\0' ? " " : "");
		used = n < 0 ? 0
		             : ((size_t) n < sizeof(raw) ? (size_t) n
		                                         : sizeof(raw) - 1);
	}
	if (fmt != NULL) {
		vsnprintf(raw + used, sizeof(raw) - used, fmt, ap);
	}
	// A value that came from outside (a path given to arborctl, a
	// topic, a peer's name) cannot end the line and forge the next one,
	// nor make it something else than UTF-8 text.  (A character cut
	// short where raw is full is not escaped: its escape would not fit
	// in body either.)
	arb__escape(raw, strlen(raw), body, sizeof(body));
	log_head(head, sizeof(head), level);
	n = snprintf(line, sizeof(line), "%sarbor[%d]: %s %s %s\n", head,
	    (int) getpid(), level_names[level], path ? path : "-", body);
	if (n < 0) {
		return;
	}
	if ((size_t) n >= sizeof(line)) {
		// Cut to fit, not inside a character.
		n           = (int) arb__utf8_cut(line, sizeof(line) - 2) + 1;
		line[n - 1] = '\n';
		line[n]     = '\0';
	}

	// Repeats are identical lines from the same actor, never two
	// actors saying the same thing.
	snprintf(key, sizeof(key), "%s %s", path ? path : "-", body);
	now = arb__now_ms();
	pthread_mutex_lock(&log_mtx);
	// Rate-limit repeated identical errors/warnings (SPEC 26).
	if (level <= ARB_LOG_WARN && strcmp(key, log_last) == 0 &&
	    now - log_last_ms < 1000) {
		log_repeats++;
		pthread_mutex_unlock(&log_mtx);
		return;
	}
	if (log_repeats > 0) {
		log_head(head, sizeof(head), ARB_LOG_INFO);
		rn = snprintf(rep, sizeof(rep),
		    "%sarbor[%d]: info - event=repeated count=%u "
		    "last=\"%.*s\"\n",
		    head, (int) getpid(), log_repeats,
		    (int) arb__utf8_cut(log_last, strnlen(log_last, 200)),
		    log_last);
		rn = rn < 0                     ? 0
		    : (size_t) rn < sizeof(rep) ? rn
		                                : (int) sizeof(rep) - 1;
		log_repeats = 0;
	}
	if (level <= ARB_LOG_WARN) {
		snprintf(log_last, sizeof(log_last), "%s", key);
		log_last_ms = now;
	}
	log_emit(line, (size_t) n, rep, (size_t) rn);
}

void
arb__log(int level, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	arb__logv(level, path, NULL, fmt, ap);
	va_end(ap);
}

_Noreturn void
arb__panic(const char *fmt, ...)
{
	char    buf[256];
	va_list ap;
	int     n;

	memcpy(buf, "arbor: panic: ", 14);
	va_start(ap, fmt);
	n = vsnprintf(buf + 14, sizeof(buf) - 15, fmt, ap);
	va_end(ap);
	n = (n < 0 ? 0 : n) + 14;
	if ((size_t) n > sizeof(buf) - 2) {
		n = sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	// After the lines before it, with a bounded wait: a dead reader of
	// stderr must not keep the process from aborting.
	pthread_once(&log_once, log_init_once);
	pthread_mutex_lock(&log_mtx);
	log_emit(buf, (size_t) n, NULL, 0);
	arb__log_flush(ARB__LOG_EXIT_MS);
	abort();
}
