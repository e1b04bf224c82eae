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
// "event=repeated count=N" line.  Never called from a signal handler.
// Thread: any.

#include "arb_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void
log_write(const char *line, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDERR_FILENO, line, n);
		if (w <= 0) {
			return; // nothing sensible to do
		}
		line += w;
		n -= (size_t) w;
	}
}

void
arb__logv(int level, const char *path, const char *event, const char *fmt,
    va_list ap)
{
	char    body[448];
	char    key[512];
	char    head[40];
	char    line[560];
	int     n;
	size_t  used = 0;
	int64_t now;

	if (level < ARB_LOG_ERROR || level > ARB_LOG_DEBUG ||
	    level > atomic_load(&log_level)) {
		return;
	}
	body[0] = '\0';
	if (event != NULL) {
		n    = snprintf(body, sizeof(body), "event=%s%s", event,
                    fmt != NULL && fmt[0] != '\0' ? " " : "");
		used = n < 0 ? 0 : ((size_t) n < sizeof(body) ? (size_t) n
		                                              : sizeof(body) - 1);
	}
	if (fmt != NULL) {
		vsnprintf(body + used, sizeof(body) - used, fmt, ap);
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
		n = snprintf(line, sizeof(line),
		    "%sarbor[%d]: info - event=repeated count=%u "
		    "last=\"%.200s\"\n",
		    head, (int) getpid(), log_repeats, log_last);
		log_write(line, (size_t) n < sizeof(line) ? (size_t) n
		                                          : sizeof(line) - 1);
		log_repeats = 0;
	}
	if (level <= ARB_LOG_WARN) {
		snprintf(log_last, sizeof(log_last), "%s", key);
		log_last_ms = now;
	}
	pthread_mutex_unlock(&log_mtx);

	log_head(head, sizeof(head), level);
	n = snprintf(line, sizeof(line), "%sarbor[%d]: %s %s %s\n", head,
	    (int) getpid(), level_names[level], path ? path : "-", body);
	if (n < 0) {
		return;
	}
	if ((size_t) n >= sizeof(line)) {
		n            = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_write(line, (size_t) n);
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

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = 0;
	}
	if ((size_t) n > sizeof(buf) - 2) {
		n = sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	log_write("arbor: panic: ", 14);
	log_write(buf, (size_t) n);
	abort();
}
