// SPDX-License-Identifier: MIT
// log.c -- leveled logging, one event per line, to stderr.
//
// Lines are "arbor[PID]: LEVEL PATH key=value ..." so journald keeps them
// whole and tests can parse them.  One write(2) per line, so lines from
// several threads or processes sharing stderr never interleave (lines are
// kept under PIPE_BUF).  Repeated identical lines within one second are
// folded into "(repeated N times)".  Never called from a signal handler.
// Thread: any.

#include "arb_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int      log_level = ARB_LOG_INFO;
static pthread_mutex_t log_mtx   = PTHREAD_MUTEX_INITIALIZER;
static char            log_last[512];
static int64_t         log_last_ms;
static unsigned        log_repeats;

static const char *const level_names[] = { "?", "error", "warn", "info",
	"debug" };

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
	char    line[512];
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
		n = snprintf(line, sizeof(line),
		    "arbor[%d]: info - event=repeated count=%u last=\"%.200s\"\n",
		    (int) getpid(), log_repeats, log_last);
		log_write(line, (size_t) n < sizeof(line) ? (size_t) n
		                                          : sizeof(line) - 1);
		log_repeats = 0;
	}
	if (level <= ARB_LOG_WARN) {
		snprintf(log_last, sizeof(log_last), "%s", key);
		log_last_ms = now;
	}
	pthread_mutex_unlock(&log_mtx);

	n = snprintf(line, sizeof(line), "arbor[%d]: %s %s %s\n",
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
