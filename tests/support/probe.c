// SPDX-License-Identifier: MIT
// probe.c -- "probe", the configurable test actor (see probe.h).

#include "probe.h"

#include "arb_test.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct probe {
	arb_ctx      *ctx;
	char          cfg[512];
	struct event *exit_ev;
	struct event *late_ev;
	struct event *slow_ev;
	struct event *shield_ev;
	char          exit_kind[64];
	char          stop_kind[64];
} probe;

static const char *
cfg_get(const char *cfg, const char *key, char *out, size_t len)
{
	size_t      kl = strlen(key);
	const char *p  = cfg;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t      n = strcspn(v, ";");
			if (n >= len) {
				n = len - 1;
			}
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
		p = strchr(p, ';');
		if (p != NULL) {
			p++;
		}
	}
	return NULL;
}

void
probe_parse_exit(const char *s, arb_exit *e, int *raise_sig, int *exit_code)
{
	memset(e, 0, sizeof(*e));
	*raise_sig = 0;
	*exit_code = -1;
	if (strncmp(s, "error", 5) == 0) {
		e->kind = ARB_EXIT_ERROR;
		e->code = s[5] == ':' ? atoi(s + 6) : 1;
		snprintf(e->text, sizeof(e->text), "probe error");
	} else if (strcmp(s, "shutdown") == 0) {
		e->kind = ARB_EXIT_SHUTDOWN;
	} else if (strncmp(s, "crash:", 6) == 0) {
		*raise_sig = atoi(s + 6);
	} else if (strncmp(s, "code:", 5) == 0) {
		*exit_code = atoi(s + 5);
	} else {
		e->kind = ARB_EXIT_NORMAL;
	}
}

static void
probe_exit_with(probe *p, const char *kind)
{
	arb_exit e;
	int      sig, code;

	probe_parse_exit(kind, &e, &sig, &code);
	if (sig > 0) {
		arb_test_emit("probe path=%s event=raise signal=%d",
		    arb_path(p->ctx), sig);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	if (code >= 0) {
		_exit(code);
	}
	arb_actor_exit(p->ctx, &e);
}

// tick=MS: a timer the probe leaves armed when it ends, as a careless
// actor would.  It must die with its incarnation: arbor may run the next
// incarnation on the same thread, but never on a loop that still holds
// the old one's events.  The leaked timers stay reachable from here.
typedef struct probe_tick {
	struct event *ev;
	char          path[128];
	unsigned long long inc;
} probe_tick;

static probe_tick *probe_ticks[64];
static int         probe_nticks;

static void
probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	probe_tick *t = arg;

	(void) fd;
	(void) what;
	arb_test_emit("probe path=%s event=tick inc=%llu", t->path, t->inc);
}

static void
probe_tick_start(probe *p, int ms)
{
	probe_tick    *t;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (probe_nticks == 64 || (t = calloc(1, sizeof(*t))) == NULL) {
		return;
	}
	snprintf(t->path, sizeof(t->path), "%s", arb_path(p->ctx));
	t->inc = (unsigned long long) arb_self(p->ctx).id;
	t->ev  = event_new(arb_base(p->ctx), -1, EV_PERSIST, probe_tick_cb, t);
	if (t->ev == NULL) {
		free(t);
		return;
	}
	event_add(t->ev, &tv);
	probe_ticks[probe_nticks++] = t;
}

static void
probe_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	probe *p = arg;

	(void) fd;
	(void) what;
	probe_exit_with(p, p->exit_kind);
}

static void
probe_late_cb(evutil_socket_t fd, short what, void *arg)
{
	probe *p = arg;

	(void) fd;
	(void) what;
	arb_test_emit("probe path=%s event=late_ready", arb_path(p->ctx));
	arb_ready(p->ctx);
}

static void
probe_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	probe   *p = arg;
	arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

	(void) fd;
	(void) what;
	arb_actor_exit(p->ctx, &e);
}

static void
probe_shield_cb(evutil_socket_t fd, short what, void *arg)
{
	probe *p = arg;

	(void) fd;
	(void) what;
	arb_test_emit("probe path=%s event=shield_done", arb_path(p->ctx));
	arb_shield_end(p->ctx);
}

static void
probe_timer(probe *p, struct event **evp, event_callback_fn cb, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	*evp = evtimer_new(arb_base(p->ctx), cb, p);
	evtimer_add(*evp, &tv);
}

// probe_init_outcome decides init=fail|ignore|fail_if_file|
// fail_after_first.
static int
probe_init_outcome(arb_ctx *ctx, const char *v)
{
	struct stat st;

	if (strcmp(v, "fail") == 0) {
		return ARB_EINVAL;
	}
	if (strcmp(v, "ignore") == 0) {
		return ARB_EIGNORE;
	}
	if (strncmp(v, "fail_if_file:", 13) == 0) {
		return stat(v + 13, &st) == 0 ? ARB_EINVAL : ARB_OK;
	}
	if (strcmp(v, "fail_after_first") == 0) {
		char  mark[512];
		FILE *f;
		snprintf(mark, sizeof(mark), "%s/%s.started", arb_test_dir(),
		    strrchr(arb_path(ctx), '/') + 1);
		if (stat(mark, &st) == 0) {
			return ARB_EINVAL;
		}
		if ((f = fopen(mark, "w")) != NULL) {
			fclose(f);
		}
	}
	return ARB_OK;
}

// probe_daemon leaves a process behind that escapes its actor: a double
// fork, a session of its own, SIGTERM ignored.  Returns its pid, or -1.
static pid_t
probe_daemon(void)
{
	int   fds[2];
	pid_t first, d = -1;

	if (pipe(fds) != 0) {
		return -1;
	}
	if ((first = fork()) == 0) {
		close(fds[0]);
		setsid();
		if ((d = fork()) == 0) {
			static char *const argv[] = { "sleep", "1000", NULL };
			close(fds[1]);
			signal(SIGTERM, SIG_IGN);
			execv("/bin/sleep", argv);
			_exit(127);
		}
		if (write(fds[1], &d, sizeof(d)) != (ssize_t) sizeof(d)) {
			_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	if (first > 0) {
		if (read(fds[0], &d, sizeof(d)) != (ssize_t) sizeof(d)) {
			d = -1;
		}
		while (waitpid(first, NULL, 0) < 0 && errno == EINTR) {
		}
	}
	close(fds[0]);
	return d;
}

static int
probe_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	probe *p = calloc(1, sizeof(*p));
	char   v[256];
	int    rv;

	if (p == NULL) {
		return ARB_ENOMEM;
	}
	p->ctx = ctx;
	if (arg != NULL && len > 0) {
		memcpy(p->cfg, arg, len < sizeof(p->cfg) ? len : sizeof(p->cfg) - 1);
	}
	*statep = p;
	arb_test_emit("probe path=%s event=init ospid=%d", arb_path(ctx),
	    (int) getpid());
	if (cfg_get(p->cfg, "trap", v, sizeof(v)) && atoi(v) == 1) {
		arb_trap_exit(ctx, true);
	}
	if (cfg_get(p->cfg, "link", v, sizeof(v)) != NULL) {
		arb_pid other;
		if (arb_whereis(ctx, v, &other) == ARB_OK) {
			arb_link(ctx, other);
		}
	}
	if (cfg_get(p->cfg, "exit", p->exit_kind, sizeof(p->exit_kind)) == NULL) {
		snprintf(p->exit_kind, sizeof(p->exit_kind), "normal");
	}
	if (cfg_get(p->cfg, "stop", p->stop_kind, sizeof(p->stop_kind)) == NULL) {
		snprintf(p->stop_kind, sizeof(p->stop_kind), "prompt");
	}
	if (cfg_get(p->cfg, "env", v, sizeof(v)) != NULL) {
		const char *e = getenv(v);
		arb_test_emit("probe path=%s event=env %s=%s ospid=%d",
		    arb_path(ctx), v, e != NULL ? e : "(unset)",
		    (int) getpid());
	}
	if (cfg_get(p->cfg, "ping", v, sizeof(v)) != NULL) {
		arb_pid other;
		rv = arb_whereis(ctx, v, &other);
		if (rv == ARB_OK) {
			rv = arb_send_copy(ctx, other, PROBE_ECHO, "ping", 4);
		}
		arb_test_emit("probe path=%s event=ping target=%s rv=%s",
		    arb_path(ctx), v, arb_err_name(rv));
	}
	if (cfg_get(p->cfg, "daemon", v, sizeof(v)) != NULL && atoi(v) == 1) {
		arb_test_emit("probe path=%s event=daemon daemon=%d",
		    arb_path(ctx), (int) probe_daemon());
	}
	if (cfg_get(p->cfg, "tick", v, sizeof(v)) != NULL) {
		probe_tick_start(p, atoi(v));
	}
	if (cfg_get(p->cfg, "exit_after", v, sizeof(v)) != NULL) {
		probe_timer(p, &p->exit_ev, probe_exit_cb, atoi(v));
	}
	if (cfg_get(p->cfg, "init", v, sizeof(v)) == NULL ||
	    strcmp(v, "ok") == 0) {
		return ARB_OK;
	}
	if (strcmp(v, "never") == 0) {
		return ARB_EPENDING;
	}
	if (strncmp(v, "late:", 5) == 0) {
		probe_timer(p, &p->late_ev, probe_late_cb, atoi(v + 5));
		return ARB_EPENDING;
	}
	rv = probe_init_outcome(ctx, v);
	if (rv != ARB_OK) {
		// terminate is not called after a failed or ignored init:
		// release everything here.
		if (p->exit_ev != NULL) {
			event_free(p->exit_ev);
		}
		free(p);
		*statep = NULL;
	}
	return rv;
}

static void
probe_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	probe   *p = state;
	char     body[128] = { 0 };
	size_t   n         = arb_msg_len(msg);
	arb_stats st;

	if (n >= sizeof(body)) {
		n = sizeof(body) - 1;
	}
	memcpy(body, arb_msg_body(msg), n);
	switch (arb_msg_tag(msg)) {
	case PROBE_ECHO:
		if (arb_msg_is_request(msg)) {
			arb_reply(ctx, msg, PROBE_ECHO, arb_msg_body(msg),
			    arb_msg_len(msg));
		} else {
			arb_test_emit("probe path=%s event=msg tag=echo body=%s",
			    arb_path(ctx), body);
		}
		break;
	case PROBE_FAIL: {
		char text[96];
		snprintf(text, sizeof(text), "probe failure at %s",
		    arb_path(ctx));
		arb_reply_error(ctx, msg, 7, text);
		break;
	}
	case PROBE_CRASH:
		probe_exit_with(p, body);
		break;
	case PROBE_SHIELD:
		arb_shield_begin(ctx);
		arb_test_emit("probe path=%s event=shield_begin", arb_path(ctx));
		probe_timer(p, &p->shield_ev, probe_shield_cb, atoi(body));
		break;
	case PROBE_HANG: {
		int64_t end;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		end = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atoi(body);
		arb_test_emit("probe path=%s event=hang ms=%d", arb_path(ctx),
		    atoi(body));
		do {
			clock_gettime(CLOCK_MONOTONIC, &ts);
		} while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < end);
		break;
	}
	case PROBE_SILENT:
		break;
	case PROBE_STATS:
		arb_stats_get(ctx, &st);
		arb_test_emit("probe path=%s event=stats msgs_in=%llu rejected=%llu "
		              "dead_letters=%llu late_replies=%llu",
		    arb_path(ctx), (unsigned long long) st.msgs_in,
		    (unsigned long long) st.rejected,
		    (unsigned long long) st.dead_letters,
		    (unsigned long long) st.late_replies);
		if (arb_msg_is_request(msg)) {
			arb_reply(ctx, msg, PROBE_STATS, &st, sizeof(st));
		}
		break;
	case PROBE_WHEREIS: {
		arb_pid pid = ARB_PID_NONE;
		int     rv  = arb_whereis(ctx, body, &pid);
		arb_test_emit("probe path=%s event=whereis name=%s rv=%s pid=%llu",
		    arb_path(ctx), body, arb_err_name(rv),
		    (unsigned long long) pid.id);
		break;
	}
	case ARB_TAG_EXIT:
	case ARB_TAG_DOWN: {
		arb_pid  who;
		arb_exit e;
		char     r[160];
		if (arb_decode_exit(msg, &who, &e) == ARB_OK) {
			arb_exit_format(&e, r, sizeof(r));
			arb_test_emit("probe path=%s event=%s reason=%s",
			    arb_path(ctx),
			    arb_msg_tag(msg) == ARB_TAG_EXIT ? "exit_msg" : "down",
			    r);
		}
		break;
	}
	default:
		break;
	}
}

static void
probe_stop(arb_ctx *ctx, void *state)
{
	probe *p = state;

	arb_test_emit("probe path=%s event=stop_requested stop=%s",
	    arb_path(ctx), p->stop_kind);
	if (strcmp(p->stop_kind, "never") == 0) {
		return;
	}
	if (strncmp(p->stop_kind, "slow:", 5) == 0) {
		probe_timer(p, &p->slow_ev, probe_slow_cb, atoi(p->stop_kind + 5));
		return;
	}
	if (strncmp(p->stop_kind, "exit:", 5) == 0) {
		probe_exit_with(p, p->stop_kind + 5);
		return;
	}
	probe_exit_with(p, "shutdown");
}

static void
probe_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	probe *p = state;
	char   r[160];

	arb_exit_format(why, r, sizeof(r));
	arb_test_emit("probe path=%s event=terminate reason=%s", arb_path(ctx),
	    r);
	if (p->exit_ev) {
		event_free(p->exit_ev);
	}
	if (p->late_ev) {
		event_free(p->late_ev);
	}
	if (p->slow_ev) {
		event_free(p->slow_ev);
	}
	if (p->shield_ev) {
		event_free(p->shield_ev);
	}
	free(p);
}

const arb_actor_ops probe_ops = {
	.type      = "probe",
	.init      = probe_init,
	.handle    = probe_handle,
	.stop      = probe_stop,
	.terminate = probe_terminate,
};

int
arb_test_node_main(const arb_sup_spec *spec)
{
	arb_node     *node;
	arb_node_opts o    = { .name = "test" };
	int           code = -1;
	int           rv;

	if ((rv = arb_node_open(&node, &o)) != ARB_OK) {
		fprintf(stderr, "node open: %s\n", arb_strerror(rv));
		return 99;
	}
	rv = arb_node_run(node, spec, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d rv=%s", code, arb_err_name(rv));
	return code;
}
