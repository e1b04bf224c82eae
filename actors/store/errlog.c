// SPDX-License-Identifier: MIT
// errlog.c -- the engine's plumbing: errno to arbor codes and their
// text and the log line handed to opts.log.
//
// The engine does not link libarbor, so it carries its own strerror
// (its clocks are arbor's header-only ones, src/core/arb_clock.h).
// Thread: any (slog__log reads only s->opts).

#include "slog_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
slog__err(int e)
{
	switch (e) {
	case 0:
		return ARB_OK;
	case ENOMEM:
		return ARB_ENOMEM;
	case ENOENT:
		return ARB_ENOENT;
	case EEXIST:
		return ARB_EEXIST;
	case EPERM:
	case EACCES:
		return ARB_EPERM;
	case ENOSPC:
	case EDQUOT:
		return ARB_ENOSPC;
	default:
		return ARB_ESYSERR | e;
	}
}

const char *
slog__strerror(int code)
{
	if (code & ARB_ESYSERR) {
		return strerror(code & ~ARB_ESYSERR);
	}
	switch (code) {
	case ARB_OK:
		return "no error";
	case ARB_ENOMEM:
		return "out of memory";
	case ARB_ENOENT:
		return "no such file";
	case ARB_EEXIST:
		return "file exists";
	case ARB_EPERM:
		return "permission denied";
	case ARB_ENOSPC:
		return "no space left on device";
	default:
		return "error";
	}
}

void
slog__log(slog *s, int level, const char *fmt, ...)
{
	char    line[512];
	va_list ap;

	if (s->opts.log == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->opts.log(s->opts.log_arg, level, line);
}
