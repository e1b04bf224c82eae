// SPDX-License-Identifier: MIT
// drv_exec.c -- the child driver of exec children (driver.h): any
// program, supervised as an opaque process (s6, systemd style).
//
// It is READY once exec succeeded, stopped with SIGTERM, killed with its
// process group, and its exit reason is its wait status.  It speaks no
// arbor: no heartbeat, no links.  Thread: node.

#include "../node/node_int.h"

#include <signal.h>

static int
exec_start(arb__child *c)
{
	int rv;

	if ((rv = arb__proc_spawn_exec(c)) != 0) {
		return rv;
	}
	arb__proc_watch(c->node, c);
	// READY once exec succeeded.
	arb__child_event(c, ARB__CE_READY, NULL);
	return ARB_OK;
}

static void
exec_stop(arb__child *c)
{
	arb__proc_signal(c, SIGTERM);
}

static void
exec_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	ARB_UNUSED(hb);
	in->type = c->spec.argv != NULL ? c->spec.argv[0] : "exec";
}

const arb__driver arb__drv_exec = {
	.name        = "exec",
	.pid_kind    = ARB__KIND_EXEC,
	.timed_start = true,
	.start       = exec_start,
	.stop        = exec_stop,
	.kill        = arb__proc_kill,
	.close       = arb__proc_close,
	.reaped      = arb__proc_ended,
	.info        = exec_info,
};
