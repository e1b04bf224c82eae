// SPDX-License-Identifier: MIT
// nodes.c -- real nodes on loopback for integration tests (nodes.h).

#include "nodes.h"

#include <arbor/actor.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// --- in the helper --------------------------------------------------------

// write_cookie writes secret as the cookie file c->cookie (0600).
static int
write_cookie(arb_test_node_cfg *c, const char *secret)
{
	FILE *f;
	int   ok;

	snprintf(c->cookie, sizeof(c->cookie), "%s/cookie", arb_test_dir());
	if ((f = fopen(c->cookie, "w")) == NULL) {
		return 70;
	}
	ok = fprintf(f, "%s\n", secret) > 0;
	ok = fclose(f) == 0 && ok;
	return ok && chmod(c->cookie, 0600) == 0 ? 0 : 70;
}

int
arb_test_node_opts(arb_test_node_cfg *c, arb_node_opts *o, const char *scheme,
    const char *name, const char *port, const char *peers, const char *secret)
{
	const char *s = peers != NULL ? peers : "", *colon, *end;
	size_t      n = 0;

	if (scheme == NULL) {
		scheme = "tcp";
	}
	while (*s != '\0') {
		end = strchr(s, ',');
		end = end != NULL ? end : s + strlen(s);
		colon = memchr(s, ':', (size_t) (end - s));
		if (n == ARB_TEST_NODE_PEERS || colon == NULL || colon == s
		    || colon + 1 == end
		    || (size_t) (colon - s) >= sizeof(c->names[0])) {
			fprintf(stderr,
			    "arb_test_node_opts: peers \"%s\": %s\n", peers,
			    n == ARB_TEST_NODE_PEERS
			        ? "too many (4 at most)"
			        : "not NAME:PORT[,NAME:PORT...]");
			return 64;
		}
		snprintf(c->names[n], sizeof(c->names[n]), "%.*s",
		    (int) (colon - s), s);
		snprintf(c->urls[n], sizeof(c->urls[n]), "%s://127.0.0.1:%.*s",
		    scheme, (int) (end - colon - 1), colon + 1);
		c->peers[n].name = c->names[n];
		c->peers[n].url = c->urls[n];
		n++;
		s = *end == ',' ? end + 1 : end;
	}
	snprintf(c->url, sizeof(c->url), "%s://127.0.0.1:%s", scheme, port);
	snprintf(c->run, sizeof(c->run), "%s/run-%s", arb_test_dir(), name);
	o->name = name;
	o->listen = c->url;
	o->run_dir = c->run;
	o->peers = n > 0 ? c->peers : NULL;
	o->npeers = n;
	if (strcmp(secret, "-") == 0) {
		o->insecure = true;
		return 0;
	}
	o->cookie_file = c->cookie;
	return write_cookie(c, secret);
}

struct event *
arb_test_tick_new(arb_ctx *ctx, event_callback_fn cb, void *arg, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event  *ev = event_new(arb_base(ctx), -1, EV_PERSIST, cb, arg);

	if (ev != NULL) {
		event_add(ev, &tv);
	}
	return ev;
}

int
arb_test_ticked_init(
    arb_ctx *ctx, void **statep, size_t size, event_callback_fn cb, int ms)
{
	arb_test_ticked *t = calloc(1, size);

	if (t == NULL) {
		return ARB_ENOMEM;
	}
	t->ctx = ctx;
	if ((t->tick = arb_test_tick_new(ctx, cb, t, ms)) == NULL) {
		free(t);
		return ARB_ENOMEM;
	}
	*statep = t;
	return ARB_OK;
}

void
arb_test_ticked_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	arb_test_ticked *t = state;

	(void) ctx;
	(void) why;
	event_free(t->tick);
	free(t);
}

// --- in the test ----------------------------------------------------------

const char *
arb_test_node_start(
    arb_test_proc *p, const char *helper, const char *const *args, int ms)
{
	arb_test_spawn(p, helper, args);
	return arb_test_expect(p, "event=peer_listen", ms);
}

void
arb_test_node_up(arb_test_proc *p, const char *peer, int n, int ms)
{
	char    needle[64];
	int64_t end = arb_test_now_ms() + ms;

	snprintf(needle, sizeof(needle), "event=peer_up peer=%s", peer);
	while (arb_test_count(p, needle) < n) {
		if (arb_test_now_ms() >= end) {
			fprintf(stderr, "%s\n", p->out);
			fail_msg(
			    "no %d lines with \"%s\" within %d ms (output "
			    "above)",
			    n, needle, ms);
		}
		arb_test_try_expect(p, "", 20);
	}
}

void
arb_test_node_kill(arb_test_proc *p, int ms)
{
	kill(p->pid, SIGKILL);
	arb_test_wait_exit(p, ms);
	arb_test_proc_fini(p);
}

void
arb_test_node_stop(arb_test_proc *const *nodes, size_t n, bool clean, int ms)
{
	size_t i;
	int    code;

	for (i = 0; i < n; i++) {
		kill(nodes[i]->pid, SIGTERM);
	}
	for (i = 0; i < n; i++) {
		code = arb_test_exit_code(arb_test_wait_exit(nodes[i], ms));
		if (clean
		    && (code != 0 || strstr(nodes[i]->out, "Sanitizer")
		        || strstr(nodes[i]->out, "runtime error"))) {
			fprintf(stderr, "%s\n", nodes[i]->out);
			fail_msg("node exit %d (output above)", code);
		}
		arb_test_proc_fini(nodes[i]);
	}
}
