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

arb__nodeid arb__local;

void
arb__local_set(uint32_t node, uint32_t creation)
{
	arb__local.node     = node;
	arb__local.creation = creation;
}

// pid_node_eq compares the nodes of two pids, 0 standing for this node.
static bool
pid_node_eq(arb_pid a, arb_pid b)
{
	if (arb__pid_local(a) || arb__pid_local(b)) {
		return arb__pid_local(a) && arb__pid_local(b);
	}
	return a.node == b.node && a.creation == b.creation;
}

bool
arb_pid_eq(arb_pid a, arb_pid b)
{
	return a.id == b.id && pid_node_eq(a, b);
}

bool
arb_pid_same_actor(arb_pid a, arb_pid b)
{
	return (a.id >> 32) == (b.id >> 32) && pid_node_eq(a, b);
}

arb_pid
arb_pid_slot(arb_pid p)
{
	p.id &= ~(uint64_t) 0xFFFFFFFFu;
	return p;
}

bool
arb_pid_is_slot(arb_pid p)
{
	return p.id != 0 && (uint32_t) p.id == 0;
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
