// SPDX-License-Identifier: MIT
// drv_exec.c -- the child driver of exec children (driver.h): any
// program, supervised as an opaque process (s6, systemd style).
//
// The program runs under its own arbor-shim (src/shim/shim.c), which
// kills whatever the program leaves behind when it ends, and everything
// when the node dies, however it dies (SPEC 12; cgroup.c when the node
// has cgroups).  It is READY once exec succeeded, stopped with SIGTERM
// to the program, killed with SIGKILL to the program (the shim does the
// rest), and its exit reason is the program's wait status (the shim ends
// the same way).  Its stdout and stderr become log lines (output.c).  It
// speaks no arbor: no heartbeat, no links.  Thread: node.

#include "sup_rt.h"

#include <event2/event.h>
#include <signal.h>

static void
exec_shim_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__proc_exec_reports(arg);
}

static int
exec_start(arb__child *c)
{
	arb__exec *x;
	int        rv;

	if ((rv = arb__proc_spawn_exec(c)) != 0) {
		if (rv == ARB_ENOENT && c->tree->shim_path[0] == '\0') {
			arb__log(ARB_LOG_ERROR, c->path,
			    "event=no_shim reason=\"arbor-shim not found: not "
			    "in $ARBOR_SHIM, nor in arbor/ beside libarbor, "
			    "nor at %s\"",
			    ARB_SHIM_PATH);
		}
		return rv;
	}
	x = c->exec;
	arb__proc_watch(c->tree, c); // the shim: it ends as the program
	x->shim_ev = event_new(c->tree->base, x->shim_fd, EV_READ | EV_PERSIST,
	    exec_shim_cb, c);
	if (x->shim_ev == NULL || event_add(x->shim_ev, NULL) != 0) {
		arb__proc_close(c);
		return ARB_ENOMEM;
	}
	rv        = arb__output_open(&x->out, c, x->out_fd, x->err_fd);
	x->out_fd = x->err_fd = -1; // output.c took them
	if (rv != 0) {
		arb__proc_close(c);
		return rv;
	}
	// READY once exec succeeded.
	arb__child_event(c, ARB__CE_READY, NULL);
	return ARB_OK;
}

static void
exec_stop(arb__child *c)
{
	arb__proc_exec_signal(c, SIGTERM);
}

static void
exec_kill(arb__child *c)
{
	arb__proc_exec_signal(c, SIGKILL);
}

static void
exec_reaped(arb__child *c, int status)
{
	arb__proc_ended(c, status);
}

static void
exec_close(arb__child *c)
{
	arb__proc_close(c);
	if (c->tree != NULL) { // (never started: no tree)
		arb__cg_child_release(c->tree, c->mbid);
	}
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
	.kill        = exec_kill,
	.close       = exec_close,
	.reaped      = exec_reaped,
	.info        = exec_info,
};
