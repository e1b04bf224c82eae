// SPDX-License-Identifier: MIT
// exit.c -- structured exit reasons (SPEC 9): names and text form.
//
// Thread: any.

#include "arb_impl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {
	[ARB_EXIT_NORMAL] = "normal",
	[ARB_EXIT_SHUTDOWN] = "shutdown",
	[ARB_EXIT_ERROR] = "error",
	[ARB_EXIT_CRASHED] = "crashed",
	[ARB_EXIT_KILLED] = "killed",
	[ARB_EXIT_HUNG] = "hung",
	[ARB_EXIT_NOCONNECTION] = "noconnection",
	[ARB_EXIT_NOPROC] = "noproc",
};

const char *
arb_exit_kind_name(arb_exit_kind k)
{
	if ((unsigned) k >= ARB_ARRAY_SIZE(kind_names)) {
		return "unknown";
	}
	return kind_names[k];
}

bool
arb_exit_abnormal(const arb_exit *e)
{
	return e->kind != ARB_EXIT_NORMAL && e->kind != ARB_EXIT_SHUTDOWN;
}

bool
arb_pid_eq(arb_pid a, arb_pid b)
{
	return a.id == b.id;
}

bool
arb_pid_same_actor(arb_pid a, arb_pid b)
{
	return (a.id >> 32) == (b.id >> 32);
}

int
arb_exit_format(const arb_exit *e, char *buf, size_t len)
{
	const char *name = arb_exit_kind_name(e->kind);

	switch (e->kind) {
	case ARB_EXIT_ERROR:
		return snprintf(buf, len, "error{code=%d,text=\"%s\"}",
		    e->code, e->text);
	case ARB_EXIT_CRASHED: {
		const char *s = sigabbrev_np(e->code);
		return snprintf(buf, len, "crashed{signal=SIG%s}",
		    s ? s : "?");
	}
	default:
		if (e->text[0] != '\0') {
			return snprintf(
			    buf, len, "%s{text=\"%s\"}", name, e->text);
		}
		return snprintf(buf, len, "%s", name);
	}
}
