// SPDX-License-Identifier: MIT
// common.c -- what the diagnostic actor types (echo, crasher, ticker)
// share: their one-line lifecycle output, timers, and the config readers
// of durations and signals (diag.h).  Thread: the actor's loop, except
// diag_emit (any).

#include "diag.h"

#include "arb_impl.h" // arb__escape (src/core/escape.c, compiled in)

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
diag_in_process(arb_ctx *ctx)
{
	return arb_actor_isolation(ctx) == ARB_PROCESS;
}

void
diag_emit(const char *fmt, ...)
{
	char    raw[4096], line[1024];
	va_list ap;
	int     n;
	ssize_t w;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t) n >= sizeof(raw)) {
		n = (int) sizeof(raw) - 1;
	}
	// Outside text (a body's strings, an exit text, a call's error
	// text) is in the line: its control bytes and bytes that are not
	// UTF-8 become \xNN (core/escape.c, as the node's log lines), so
	// the line is one line of UTF-8; a line too long is cut between
	// characters.
	arb__escape(raw, (size_t) n, line, sizeof(line) - 1);
	n = (int) strlen(line);
	line[n++] = '\n';
	do {
		w = write(STDERR_FILENO, line, (size_t) n);
	} while (w < 0 && errno == EINTR);
}

void
diag_timer_arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

void
diag_timer_free(struct event **evp)
{
	if (*evp != NULL) {
		event_free(*evp);
		*evp = NULL;
	}
}

void
diag_dur(arb_cfg *c, const char *key, int *ms)
{
	int64_t v;

	if (arb_cfg_dur(c, key, 0, INT_MAX, &v) == ARB_OK) {
		*ms = (int) v;
	}
}

static const struct {
	const char *name;
	int         sig;
} signals[] = {
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },
	{ "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },
	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
	{ "SYS", SIGSYS },
};

void
diag_signal(arb_cfg *c, const char *key, int *sig)
{
	const char *s, *p;
	int64_t     v;
	size_t      i;

	if (arb_cfg_type_of(c, key) == ARB_CFG_INT) {
		if (arb_cfg_int(c, key, 1, 31, &v) == ARB_OK) {
			*sig = (int) v;
		}
		return;
	}
	if (arb_cfg_str(c, key, 0, &s) != ARB_OK) {
		return; // absent, or recorded
	}
	p = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(p, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return;
		}
	}
	arb_cfg_err(c, key,
	    "unknown signal \"%.20s\" (SIGSEGV, SIGABRT, SIGKILL, "
	    "SIGTERM, ... or a number)",
	    s);
}
