// SPDX-License-Identifier: MIT
// sanitizer.c -- a ThreadSanitizer report in a process actor fails the
// node's process, as a report in the node itself does (docs/design.md,
// "Known limitations").
//
// TSan ends a process that reported with its exitcode (66) instead of 0,
// also through _exit, which a process actor ends with (actor/process.c
// makes its status 0 once the node has its exit reason, so an abnormal
// end shows the report too).  The node sees that status when it reaps the
// actor (supervisor/drv_process.c) and here makes its own exit status 66:
// a test whose process actor raced fails, whichever process raced.
// Nothing of this is compiled outside a TSan build.
//
// Thread: node (arb__san_child_ended); the exit hook runs on the thread
// that calls exit.

#include "arb_impl.h"

#if ARB__TSAN
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_bool san_reported;

// san_on_exit (on_exit: it sees the status) keeps a failing status and
// turns 0 into TSan's exitcode.  The log lines and stdio buffers are
// written first: _exit skips the handlers that would.
static void
san_on_exit(int status, void *arg)
{
	ARB_UNUSED(arg);
	if (status != 0 || !atomic_load(&san_reported)) {
		return;
	}
	arb__log_flush(ARB__LOG_EXIT_MS);
	fflush(NULL);
	_exit(ARB__TSAN_EXITCODE);
}

bool
arb__san_child_ended(const char *path, int ospid, int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != ARB__TSAN_EXITCODE) {
		return false;
	}
	arb__log(ARB_LOG_ERROR, path,
	    "event=sanitizer_report ospid=%d status=%d (ThreadSanitizer "
	    "reported in this process actor, on its stderr: this process "
	    "will exit %d)",
	    ospid, ARB__TSAN_EXITCODE, ARB__TSAN_EXITCODE);
	if (!atomic_exchange(&san_reported, true)
	    && on_exit(san_on_exit, NULL) != 0) {
		arb__log(ARB_LOG_ERROR, path,
		    "event=sanitizer_report error=on_exit_failed");
	}
	return true;
}

#else

bool
arb__san_child_ended(const char *path, int ospid, int status)
{
	ARB_UNUSED(path);
	ARB_UNUSED(ospid);
	ARB_UNUSED(status);
	return false;
}

#endif
