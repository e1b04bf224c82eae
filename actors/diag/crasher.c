// SPDX-License-Identifier: MIT
// crasher.c -- the diagnostic actor type "crasher": a child that fails
// the way its config says, to rehearse every failure of a tree.
//
// init can succeed, fail, answer ignore, fail on every start but the
// first (remembered in a marker file, so it works across process
// restarts), or fail while a file exists; READY can come at once, late
// or never; the actor can exit on its own after a delay or at the first
// message, with any reason, an exit status or a signal; and a stop
// request can be honoured at once, slowly, never, or with an exit
// reason.  In thread isolation a crasher never really _exits or raises a
// signal (that would take the whole node down): it reports the same
// reason instead.  Thread: the actor's loop.

#include "diag.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Exit reasons a crasher can be told to use
// ---------------------------------------------------------------------------
typedef struct reason {
	arb_exit e;
	int      status; // process: _exit(status); -1 when unset
	int      signal; // process: raise(signal); 0 when unset
} reason;

static const char *const reason_words[]
    = { "normal", "shutdown", "error", NULL };

// reason_parse reads {reason, code, text, status, signal} from c, or a
// bare word when the key holds a string.  def_kind applies when no
// reason is given.
static void
reason_parse(arb_cfg *c, reason *r, arb_exit_kind def_kind)
{
	const char *text;
	int64_t     v;
	int         k = -1;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->e.kind = def_kind;
	if (arb_cfg_enum(c, "reason", reason_words, &k) == ARB_OK) {
		r->e.kind = k == 0 ? ARB_EXIT_NORMAL
		    : k == 1       ? ARB_EXIT_SHUTDOWN
		                   : ARB_EXIT_ERROR;
	}
	r->e.code = r->e.kind == ARB_EXIT_ERROR ? 1 : 0;
	if (arb_cfg_int(c, "code", -2147483647LL, 2147483647LL, &v)
	    == ARB_OK) {
		r->e.code = (int) v;
		if (k < 0) {
			r->e.kind = ARB_EXIT_ERROR;
		}
	}
	if (r->e.kind == ARB_EXIT_ERROR) {
		snprintf(r->e.text, sizeof(r->e.text), "crasher");
	}
	if (arb_cfg_str(c, "text", sizeof(r->e.text) - 1, &text) == ARB_OK) {
		snprintf(r->e.text, sizeof(r->e.text), "%s", text);
	}
	if (arb_cfg_int(c, "status", 0, 255, &v) == ARB_OK) {
		r->status = (int) v;
	}
	diag_signal(c, "signal", &r->signal);
}

static void
reason_format(const reason *r, char *buf, size_t len)
{
	if (r->signal > 0) {
		snprintf(buf, len, "signal=SIG%s", sigabbrev_np(r->signal));
	} else if (r->status >= 0) {
		snprintf(buf, len, "status=%d", r->status);
	} else {
		arb_exit_format(&r->e, buf, len);
	}
}

// ---------------------------------------------------------------------------
// crasher
// ---------------------------------------------------------------------------
enum {
	INIT_OK,
	INIT_FAIL,
	INIT_IGNORE,
	INIT_FAIL_AFTER_FIRST,
	INIT_FAIL_IF_FILE
};
static const char *const init_words[]
    = { "ok", "fail", "ignore", "fail_after_first", "fail_if_file", NULL };
enum { READY_NOW, READY_LATE, READY_NEVER };
static const char *const ready_words[] = { "now", "late", "never", NULL };
enum { STOP_PROMPT, STOP_SLOW, STOP_NEVER, STOP_EXIT };
static const char *const stop_words[]
    = { "prompt", "slow", "never", "exit", NULL };

typedef struct crasher_cfg {
	int    init;
	char   file[256];
	char   state_dir[256];
	int    ready;
	int    ready_delay_ms;
	int    exit_after_ms; // -1: no timed exit
	bool   exit_on_message;
	reason exit;
	int    stop;
	int    stop_delay_ms;
	reason stop_reason;
	bool   log;
	int    hang_after_ms; // -1: never blocks its loop
	int    hang_for_ms;
} crasher_cfg;

static void
crasher_parse(arb_cfg *c, crasher_cfg *cfg)
{
	static const char *const keys[] = { "init", "file", "state_dir",
		"ready", "ready_delay", "exit", "stop", "stop_delay",
		"stop_reason", "log", "hang", NULL };
	static const char *const hang_keys[] = { "after", "for", NULL };
	static const char *const exit_keys[] = { "after", "on_message",
		"reason", "code", "text", "status", "signal", NULL };
	static const char *const reason_keys[]
	    = { "reason", "code", "text", "status", "signal", NULL };
	arb_cfg    *sub;
	const char *s;
	int         k, w = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ready_delay_ms = 500;
	cfg->exit_after_ms = -1;
	cfg->stop_delay_ms = 2000;
	cfg->hang_after_ms = -1;
	cfg->hang_for_ms   = 5000;
	arb_cfg_keys(c, keys);
	arb_cfg_enum(c, "init", init_words, &cfg->init);
	if (arb_cfg_str(c, "file", sizeof(cfg->file) - 1, &s) == ARB_OK) {
		snprintf(cfg->file, sizeof(cfg->file), "%s", s);
	}
	if (cfg->init == INIT_FAIL_IF_FILE && cfg->file[0] == '\0') {
		arb_cfg_err(c, "file", "init: fail_if_file needs file: PATH");
	}
	if (arb_cfg_str(c, "state_dir", sizeof(cfg->state_dir) - 1, &s)
	    == ARB_OK) {
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", s);
	}
	arb_cfg_enum(c, "ready", ready_words, &cfg->ready);
	diag_dur(c, "ready_delay", &cfg->ready_delay_ms);
	sub = arb_cfg_sub(c, "exit");
	arb_cfg_keys(sub, exit_keys);
	diag_dur(sub, "after", &cfg->exit_after_ms);
	arb_cfg_bool(sub, "on_message", &cfg->exit_on_message);
	reason_parse(sub, &cfg->exit, ARB_EXIT_ERROR);
	if (arb_cfg_enum(c, "stop", stop_words, &k) == ARB_OK) {
		cfg->stop = k;
	}
	diag_dur(c, "stop_delay", &cfg->stop_delay_ms);
	if (arb_cfg_type_of(c, "stop_reason") == ARB_CFG_STR) {
		// A bare word: stop_reason: error.
		memset(&cfg->stop_reason, 0, sizeof(cfg->stop_reason));
		cfg->stop_reason.status = -1;
		cfg->stop_reason.e.kind = ARB_EXIT_SHUTDOWN;
		if (arb_cfg_enum(c, "stop_reason", reason_words, &w)
		    == ARB_OK) {
			cfg->stop_reason.e.kind = w == 0 ? ARB_EXIT_NORMAL
			    : w == 1                     ? ARB_EXIT_SHUTDOWN
			                                 : ARB_EXIT_ERROR;
			if (w == 2) {
				cfg->stop_reason.e.code = 1;
				snprintf(cfg->stop_reason.e.text,
				    sizeof(cfg->stop_reason.e.text),
				    "crasher");
			}
		}
	} else {
		sub = arb_cfg_sub(c, "stop_reason");
		arb_cfg_keys(sub, reason_keys);
		reason_parse(sub, &cfg->stop_reason, ARB_EXIT_SHUTDOWN);
	}
	arb_cfg_bool(c, "log", &cfg->log);
	// hang: {after: 1s, for: 5s} blocks the actor's own loop (a stuck
	// handler): no heartbeat, so /healthz, the systemd watchdog and a
	// process actor's `watchdog` notice.
	sub = arb_cfg_sub(c, "hang");
	arb_cfg_keys(sub, hang_keys);
	diag_dur(sub, "after", &cfg->hang_after_ms);
	diag_dur(sub, "for", &cfg->hang_for_ms);
}

typedef struct crasher {
	arb_ctx      *ctx;
	crasher_cfg   cfg;
	struct event *ready_ev;
	struct event *exit_ev;
	struct event *stop_ev;
	struct event *hang_ev;
	bool          exiting;
} crasher;

#define CRASHER_FMT "crasher path=%s ospid=%d "

static void
crasher_fire(crasher *cr, const reason *r, const char *why)
{
	char     text[160];
	arb_exit e = r->e;

	if (cr->exiting) {
		return;
	}
	cr->exiting = true;
	reason_format(r, text, sizeof(text));
	diag_emit(CRASHER_FMT "event=exit why=%s reason=%s", arb_path(cr->ctx),
	    (int) getpid(), why, text);
	if (diag_in_process(cr->ctx)) {
		if (r->signal > 0) {
			// A rehearsed crash, not a real one: no core file.
			struct rlimit none = { 0, 0 };
			setrlimit(RLIMIT_CORE, &none);
			signal(r->signal, SIG_DFL);
			raise(r->signal);
		}
		if (r->status >= 0) {
			_exit(r->status);
		}
	} else if (r->signal > 0) {
		memset(&e, 0, sizeof(e));
		e.kind = ARB_EXIT_CRASHED;
		e.code = r->signal;
	} else if (r->status >= 0) {
		memset(&e, 0, sizeof(e));
		e.kind = ARB_EXIT_ERROR;
		e.code = r->status;
		snprintf(e.text, sizeof(e.text), "exit status %d (thread)",
		    r->status);
	}
	arb_actor_exit(cr->ctx, &e);
}

static void
crasher_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	crasher *cr = arg;

	(void) fd;
	(void) what;
	diag_emit(CRASHER_FMT "event=ready late=yes", arb_path(cr->ctx),
	    (int) getpid());
	arb_ready(cr->ctx);
}

static void
crasher_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	crasher *cr = arg;

	(void) fd;
	(void) what;
	crasher_fire(cr, &cr->cfg.exit, "after");
}

static void
crasher_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	crasher *cr = arg;
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	(void) fd;
	(void) what;
	diag_emit(CRASHER_FMT "event=stopping_done", arb_path(cr->ctx),
	    (int) getpid());
	arb_actor_exit(cr->ctx, &e);
}

// marker_path names the fail_after_first marker of this child: under
// state_dir, $ARBOR_STATE_DIR or /tmp, with the path's '/' made '_'.
static void
marker_path(crasher *cr, char *buf, size_t len)
{
	const char *dir = cr->cfg.state_dir;
	char        name[128];
	size_t      i;

	if (dir[0] == '\0') {
		dir = getenv("ARBOR_STATE_DIR");
	}
	if (dir == NULL || dir[0] == '\0') {
		dir = "/tmp";
	}
	snprintf(name, sizeof(name), "%s", arb_path(cr->ctx));
	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '/') {
			name[i] = '_';
		}
	}
	snprintf(buf, len, "%s/arbor-crasher-%s.started", dir, name);
}

// init_fails applies the init mode; true when this start must fail.
static bool
init_fails(crasher *cr)
{
	char path[512];
	int  fd;

	switch (cr->cfg.init) {
	case INIT_FAIL:
		return true;
	case INIT_FAIL_IF_FILE:
		return access(cr->cfg.file, F_OK) == 0;
	case INIT_FAIL_AFTER_FIRST:
		marker_path(cr, path, sizeof(path));
		if (access(path, F_OK) == 0) {
			return true;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
		}
		return false;
	default:
		return false;
	}
}

static void
crasher_hang_cb(evutil_socket_t fd, short what, void *arg)
{
	crasher        *cr = arg;
	struct timespec ts;
	int64_t         end;

	(void) fd;
	(void) what;
	diag_emit(CRASHER_FMT "event=hang ms=%d", arb_path(cr->ctx),
	    (int) getpid(), cr->cfg.hang_for_ms);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    cr->cfg.hang_for_ms;
	do { // deliberately stuck: nothing else runs on this loop
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < end);
	diag_emit(CRASHER_FMT "event=unhung", arb_path(cr->ctx),
	    (int) getpid());
}

static int
crasher_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	crasher    *cr;
	const char *path = arb_path(ctx);
	int         pid = (int) getpid();
	arb_cfg    *c;
	int         rv;

	if ((cr = calloc(1, sizeof(*cr))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&c, arg, len)) != ARB_OK) {
		free(cr);
		return rv;
	}
	crasher_parse(c, &cr->cfg);
	rv = arb_cfg_report(ctx, c);
	arb_cfg_free(c);
	if (rv != ARB_OK) {
		free(cr);
		return rv;
	}
	cr->ctx = ctx;
	diag_emit(CRASHER_FMT "event=init isolation=%s init=%s ready=%s", path,
	    pid, diag_in_process(cr->ctx) ? "process" : "thread",
	    init_words[cr->cfg.init], ready_words[cr->cfg.ready]);
	if (cr->cfg.init == INIT_IGNORE) {
		diag_emit(CRASHER_FMT "event=init_ignore", path, pid);
		free(cr);
		return ARB_EIGNORE;
	}
	cr->ready_ev = evtimer_new(arb_base(ctx), crasher_ready_cb, cr);
	cr->exit_ev = evtimer_new(arb_base(ctx), crasher_exit_cb, cr);
	cr->stop_ev = evtimer_new(arb_base(ctx), crasher_stop_cb, cr);
	cr->hang_ev = evtimer_new(arb_base(ctx), crasher_hang_cb, cr);
	if (cr->ready_ev == NULL || cr->exit_ev == NULL
	    || cr->stop_ev == NULL || cr->hang_ev == NULL) {
		// terminate is not called after an init error: free here.
		diag_timer_free(&cr->ready_ev);
		diag_timer_free(&cr->exit_ev);
		diag_timer_free(&cr->stop_ev);
		diag_timer_free(&cr->hang_ev);
		free(cr);
		return ARB_ENOMEM;
	}
	*statep = cr;
	if (init_fails(cr)) {
		// Exiting from init is a start failure with this reason (and
		// terminate runs).
		diag_emit(CRASHER_FMT "event=init_failed", path, pid);
		cr->exiting = true;
		arb_actor_exit_error(
		    ctx, 1, "crasher: init failed on purpose");
		return ARB_OK;
	}
	if (cr->cfg.exit_after_ms >= 0) {
		diag_timer_arm(cr->exit_ev, cr->cfg.exit_after_ms);
	}
	if (cr->cfg.hang_after_ms >= 0) {
		diag_timer_arm(cr->hang_ev, cr->cfg.hang_after_ms);
	}
	switch (cr->cfg.ready) {
	case READY_LATE:
		diag_timer_arm(cr->ready_ev, cr->cfg.ready_delay_ms);
		return ARB_EPENDING;
	case READY_NEVER:
		return ARB_EPENDING;
	default:
		diag_emit(CRASHER_FMT "event=ready", path, pid);
		return ARB_OK;
	}
}

static void
crasher_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	crasher *cr = state;

	if (cr->cfg.log || cr->cfg.exit_on_message) {
		diag_emit(CRASHER_FMT "event=msg tag=%u len=%zu",
		    arb_path(ctx), (int) getpid(), arb_msg_tag(msg),
		    arb_msg_len(msg));
	}
	if (cr->cfg.exit_on_message && arb_msg_tag(msg) < ARB_TAG_SYSTEM) {
		crasher_fire(cr, &cr->cfg.exit, "on_message");
		return;
	}
	if (arb_msg_is_request(msg)) {
		arb_reply(ctx, msg, arb_msg_tag(msg), arb_msg_body(msg),
		    arb_msg_len(msg));
	}
}

static void
crasher_stop(arb_ctx *ctx, void *state)
{
	crasher *cr = state;
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	diag_emit(CRASHER_FMT "event=stop_requested stop=%s", arb_path(ctx),
	    (int) getpid(), stop_words[cr->cfg.stop]);
	switch (cr->cfg.stop) {
	case STOP_SLOW:
		diag_timer_arm(cr->stop_ev, cr->cfg.stop_delay_ms);
		break;
	case STOP_NEVER:
		break;
	case STOP_EXIT:
		crasher_fire(cr, &cr->cfg.stop_reason, "stop");
		break;
	default:
		arb_actor_exit(ctx, &e);
		break;
	}
}

static void
crasher_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	crasher *cr = state;
	char     text[160];

	arb_exit_format(why, text, sizeof(text));
	diag_emit(CRASHER_FMT "event=terminate reason=%s", arb_path(ctx),
	    (int) getpid(), text);
	diag_timer_free(&cr->ready_ev);
	diag_timer_free(&cr->exit_ev);
	diag_timer_free(&cr->stop_ev);
	diag_timer_free(&cr->hang_ev);
	free(cr);
}

static void
crasher_check(arb_cfg *c)
{
	crasher_cfg cfg;

	crasher_parse(c, &cfg);
}

static const arb_actor_ops crasher_ops = {
	.type = "crasher",
	.init = crasher_init,
	.handle = crasher_handle,
	.stop = crasher_stop,
	.terminate = crasher_terminate,
	.check = crasher_check,
};

// arbor_plugin_init registers the type when the module is loaded.
int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&crasher_ops);
}
