// SPDX-License-Identifier: MIT
// 69_embed_test.c -- the operator surface embedded in a program of one's
// own: examples/minimal, the README's example, builds its spec in C and
// calls arb_node_serve once.  It must then answer `arborctl status` on
// its default control socket, serve /metrics and /healthz over HTTP, say
// why a reload is refused (it has no tree file and no reload callback),
// and remove its socket when it stops on SIGTERM with exit 0.
//
// The binaries are MINIMAL_BIN and ARBORCTL_BIN (tests/CMakeLists.txt).
// The node's default socket is under its $XDG_RUNTIME_DIR, which the
// harness points at the helper's private directory.

#include "arb_test.h"
#include "httpc.h"
#include "probe.h"
#include "tools.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WAIT_MS 10000

static int
h_minimal(int argc, char **argv)
{
#ifdef MINIMAL_BIN
	return arb_test_exec(MINIMAL_BIN, argc, argv);
#else
	(void) argc;
	(void) argv;
	return 127;
#endif
}

static const arb_test_helper helpers[] = {
	{ "minimal", h_minimal },
	{ "arborctl", h_arborctl },
};

// ctl runs arborctl --socket sock cmd, returns its exit code and keeps
// its output in out.
static int
ctl(const char *sock, const char *cmd, char *out, size_t len)
{
	const char   *args[] = { "--", "--socket", sock, cmd, NULL };
	arb_test_proc p;
	int           code;

	arb_test_spawn(&p, "arborctl", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS));
	snprintf(out, len, "%s", p.out);
	arb_test_proc_fini(&p);
	return code;
}

static void
expect_in(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL) {
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
	}
}

static void
test_one_call_serves_arborctl_metrics_and_refuses_reload(void **state)
{
#if defined(MINIMAL_BIN) && defined(ARBORCTL_BIN)
	arb_test_proc      p;
	arb_test_http_resp r;
	char               env[64], sock[200], out[8192], host[32];
	const char        *args[] = { env, "--", NULL };
	struct stat        st;
	int                port = 0, tries;

	(void) state;
	for (tries = 0; tries < 5; tries++) {
		port = arb_test_free_port();
		snprintf(env, sizeof(env), "GREETER_HTTP=127.0.0.1:%d", port);
		arb_test_spawn(&p, "minimal", args);
		if (arb_test_try_expect(&p, "event=http_listen", WAIT_MS)
		    != NULL) {
			break;
		}
		arb_test_wait_exit(&p, WAIT_MS); // the port was taken
		arb_test_proc_fini(&p);
	}
	assert_true(tries < 5);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	snprintf(sock, sizeof(sock), "%s/arbor/arbor.sock", p.dir);

	// arborctl finds the tree the program built in C.
	assert_int_equal(ctl(sock, "status", out, sizeof(out)), 0);
	expect_in(out, "root/in_a_thread");
	expect_in(out, "root/in_a_process");
	expect_in(out, "running");

	// Prometheus text and health, on the port the program asked for.
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	arb_test_http(port, "GET", "/metrics", host, WAIT_MS, &r);
	assert_int_equal(r.status, 200);
	expect_in(r.body, "arbor_actor_up{path=\"root/in_a_process\"} 1\n");
	expect_in(r.body, "arbor_node_ready 1\n");
	free(r.body);
	arb_test_http(port, "GET", "/healthz", host, WAIT_MS, &r);
	assert_int_equal(r.status, 200);
	free(r.body);

	// No tree file and no reload callback: a reload says so.
	assert_int_not_equal(ctl(sock, "reload", out, sizeof(out)), 0);
	expect_in(out, "no tree file and no reload callback");
	arb_test_expect(&p, "event=reload_rejected", WAIT_MS);

	kill(p.pid, SIGTERM);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 0);
	assert_int_not_equal(stat(sock, &st), 0); // removed at close
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples or arborctl are not built
#endif
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(
	    test_one_call_serves_arborctl_metrics_and_refuses_reload),
};

ARB_TEST_MAIN("integration.embed", tests, helpers)
