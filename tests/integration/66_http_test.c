// SPDX-License-Identifier: MIT
// 66_http_test.c -- the HTTP endpoint of `arbor run` (node.http), driven
// as a user and a monitoring system would: the real binary on a loopback
// port, a minimal HTTP client over a plain socket for /healthz, /readyz,
// /metrics, /api/tree and the page, and headless Chromium rendering the
// page's live tree (skipped, with a message, when Chromium is not
// installed).  A crash is caused through `arborctl send` and must show
// in the metrics and on the page; a crasher blocking its own loop must
// make /healthz fail with its path, and pass again afterwards.  SPEC 24.
//
// The binaries are ARBOR_BIN and ARBORCTL_BIN (tests/CMakeLists.txt).
// The port is one the kernel just gave to a probe socket; should another
// process take it before the node binds it, the node exits 70 and the
// test retries with another one.  Every wait is bounded; nothing sleeps.

#include "arb_test.h"
#include "httpc.h"
#include "tools.h"
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

// --- helpers (run in the child) ---------------------------------------------

static int
h_chromium(int argc, char **argv)
{
	return arb_test_exec("chromium", argc, argv);
}

static int
h_python3(int argc, char **argv)
{
	return arb_test_exec("/usr/bin/python3", argc, argv);
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
	{ "chromium", h_chromium },
	{ "python3", h_python3 },
};

// --- test support -----------------------------------------------------------

static char tmpdir[64];
static char sock[160];
static int  port;

typedef arb_test_http_resp http_resp;

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t66");
	snprintf(sock, sizeof(sock), "%s/ctl.d/t66.sock", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	if (tmpdir[0] != '\0') {
		assert_int_equal(arb_test_rmtree(tmpdir), 0);
		tmpdir[0] = '\0';
	}
	return 0;
}

static void
need_binaries(void)
{
#if !defined(ARBOR_BIN) || !defined(ARBORCTL_BIN)
	skip(); // the programs are not built
#endif
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(int ms)
{
	poll(NULL, 0, ms); // between two bounded polls of the node's state
}

static const char *
write_file(char *buf, size_t len, const char *name, const char *text)
{
	return arb_test_write_file(tmpdir, name, text, buf, len);
}

static const char tree_fmt[]
    = "node: {name: t66, control: ctl.d/t66.sock, http: \"127.0.0.1:%d\"}\n"
      "root:\n"
      "  intensity: 20\n"
      "  period: 10s\n"
      "  children:\n"
      "    - {name: e, type: echo}\n"
      "    - {name: pe, type: echo, isolation: process}\n"
      "    - name: sh\n"
      "      command: [/bin/sh, -c, \"exec sleep 1000\"]\n"
      "    - name: c\n"
      "      type: crasher\n"
      "      isolation: process\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 4, text: "
      "kaput}\n";

// start_node runs the tree of fmt (one %d: the port) on a free port,
// retrying if another process takes the port first, and waits until the
// tree is up.
static void
start_node(arb_test_proc *p, const char *fmt)
{
	char        file[160], yaml[1024];
	const char *args[] = { "--", "run", file, NULL };
	int         tries;

	for (tries = 0; tries < 5; tries++) {
		port = arb_test_free_port();
		snprintf(yaml, sizeof(yaml), fmt, port);
		write_file(file, sizeof(file), "tree.yaml", yaml);
		arb_test_spawn(p, "arbor", args);
		if (arb_test_try_expect(p, "event=http_listen", WAIT_MS)
		    != NULL) {
			arb_test_expect(p, "root event=tree_up", WAIT_MS);
			return;
		}
		assert_int_equal(
		    arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS)), 70);
		assert_non_null(strstr(p->out, "event=http_unavailable"));
		arb_test_proc_fini(p);
	}
	fail_msg("no free port after 5 tries");
}

static int
stop_node(arb_test_proc *p)
{
	kill(p->pid, SIGTERM);
	return arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS));
}

// http performs one request to the node's port with the Host header
// host, and fills r (free r->body).
static void
http(const char *method, const char *path, const char *host, http_resp *r)
{
	arb_test_http(port, method, path, host, WAIT_MS, r);
}

static void
get(const char *path, http_resp *r)
{
	char host[64];

	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	http("GET", path, host, r);
}

static void
expect_in(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL) {
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
	}
}

// ctl runs arborctl --socket sock with arguments and returns its exit
// code.
static int
ctl(const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char *args[] = { "--", "--socket", sock, a0, a1, a2, a3, NULL };
	arb_test_proc p;
	int           code;

	arb_test_spawn(&p, "arborctl", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS + 5000));
	if (code != 0) {
		print_message("arborctl %s: %s", a0, p.out);
	}
	arb_test_proc_fini(&p);
	return code;
}

// crash_c makes root/c exit (a message to a crasher told to exit on one)
// and waits until /metrics shows restart number `n` with c running.
static void
crash_c(int n)
{
	char      want[128], running[] = "arbor_actor_up{path=\"root/c\"} 1\n";
	http_resp r;
	int64_t   deadline = now_ms() + WAIT_MS;

	assert_int_equal(ctl("send", "root/c", "1", "\"die\""), 0);
	snprintf(want, sizeof(want),
	    "arbor_actor_restarts_total{path=\"root/c\"} %d\n", n);
	for (;;) {
		get("/metrics", &r);
		if (strstr(r.body, want) != NULL && strstr(r.body, running)) {
			free(r.body);
			return;
		}
		if (now_ms() > deadline) {
			fail_msg("no restart %d of root/c: %s", n, r.body);
		}
		free(r.body);
		pause_ms(20);
	}
}

// --- tests ------------------------------------------------------------------

static void
test_probes_metrics_and_tree(void **state)
{
	static const char *const families[]
	    = { "arbor_actor_up gauge", "arbor_actor_restarts_total counter",
		      "arbor_actor_exits_total counter",
		      "arbor_actor_messages_in_total counter",
		      "arbor_actor_messages_out_total counter",
		      "arbor_actor_dead_letters_total counter",
		      "arbor_actor_rejected_total counter",
		      "arbor_actor_heartbeat_age_seconds gauge",
		      "arbor_node_uptime_seconds gauge",
		      "arbor_node_give_ups_total counter",
		      "arbor_node_ready gauge", NULL };
	arb_test_proc p;
	http_resp     r;
	char          host[64], json[200];
	size_t        i;

	(void) state;
	need_binaries();
	start_node(&p, tree_fmt);

	get("/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	free(r.body);
	get("/readyz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready\n");
	free(r.body);

	get("/metrics", &r);
	assert_int_equal(r.status, 200);
	expect_in(r.head, "Content-Type: text/plain; version=0.0.4");
	for (i = 0; families[i] != NULL; i++) {
		char line[128];

		snprintf(line, sizeof(line), "# TYPE %s\n", families[i]);
		expect_in(r.body, line);
	}
	expect_in(r.body, "# HELP arbor_actor_restarts_total ");
	expect_in(r.body, "arbor_actor_up{path=\"root/pe\"} 1\n");
	expect_in(r.body, "arbor_actor_up{path=\"root/sh\"} 1\n");
	expect_in(r.body, "arbor_actor_restarts_total{path=\"root/c\"} 0\n");
	expect_in(r.body, "arbor_node_ready 1\n");
	expect_in(r.body, "arbor_node_give_ups_total 0\n");
	free(r.body);

	// A crash shows as a restart and an exit by reason.
	crash_c(1);
	get("/metrics", &r);
	expect_in(r.body, "arbor_actor_restarts_total{path=\"root/c\"} 1\n");
	expect_in(r.body,
	    "arbor_actor_exits_total{path=\"root/c\",reason=\"error\"} 1\n");
	expect_in(r.body, "arbor_actor_restarts_total{path=\"root/pe\"} 0\n");
	free(r.body);

	// The tree as JSON: every actor, the crash's reason.
	get("/api/tree", &r);
	assert_int_equal(r.status, 200);
	expect_in(r.head, "Content-Type: application/json");
	assert_true(r.body[0] == '{');
	expect_in(r.body, "\"node\":\"t66\"");
	expect_in(r.body, "{\"path\":\"root/e\",");
	expect_in(r.body, "{\"path\":\"root/pe\",");
	expect_in(r.body, "{\"path\":\"root/sh\",");
	expect_in(r.body, "{\"path\":\"root/c\",");
	expect_in(r.body, "error{code=4,text=\\\"kaput\\\"}");
	if (access("/usr/bin/python3", X_OK) == 0) {
		// A real JSON parser agrees that it is JSON.
		const char   *args[] = { "--", "-c",
			  "import json,sys; t=json.load(open(sys.argv[1]));"
			    "print('kids', len(t['tree']['children']))",
			  json, NULL };
		arb_test_proc py;
		FILE         *f;

		snprintf(json, sizeof(json), "%s/tree.json", tmpdir);
		assert_non_null(f = fopen(json, "w"));
		assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
		assert_int_equal(fclose(f), 0);
		arb_test_spawn(&py, "python3", args);
		assert_int_equal(
		    arb_test_exit_code(arb_test_wait_exit(&py, WAIT_MS)), 0);
		expect_in(py.out, "kids 4");
		arb_test_proc_fini(&py);
	} else {
		print_message("no python3: the JSON is checked by substrings "
		              "only\n");
	}
	free(r.body);

	// The page: self-contained HTML with its script.
	get("/", &r);
	assert_int_equal(r.status, 200);
	expect_in(r.head, "Content-Type: text/html");
	expect_in(r.body, "<script>");
	expect_in(r.body, "fetch(\"/api/tree\"");
	assert_null(strstr(r.body, "src=\"http"));
	free(r.body);

	// What is not served.
	get("/nope", &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	snprintf(host, sizeof(host), "evil.example:%d", port);
	http("GET", "/api/tree", host, &r);
	assert_int_equal(r.status, 403);
	free(r.body);
	snprintf(host, sizeof(host), "localhost:%d", port);
	http("HEAD", "/healthz", host, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	free(r.body);
	http("POST", "/api/tree", host, &r);
	assert_true(r.status == 405 || r.status == 501);
	free(r.body);

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

// chromium_path is Chromium's path in $PATH, or NULL.
static bool
have_chromium(void)
{
	const char *path = getenv("PATH");
	char        buf[4096], file[4200], *dir, *save = NULL;

	snprintf(buf, sizeof(buf), "%s",
	    path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(buf, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/chromium", dir);
		if (access(file, X_OK) == 0) {
			return true;
		}
	}
	return false;
}

// dump_dom renders the page in headless Chromium with a fresh profile
// and returns the DOM after 3 s of virtual time (the page has fetched
// /api/tree, and refreshed, by then).  Free the result.
static char *
dump_dom(int n)
{
	char        home[128], url[64], ud[160], env_home[160], env_tmp[160];
	char        env_cfg[160], env_cache[160];
	const char *args[]
	    = { env_home, env_tmp, env_cfg, env_cache, "--", "--headless",
		      "--no-sandbox", "--disable-gpu", "--disable-quic",
		      "--no-first-run", "--disable-background-networking",
		      "--disable-component-update", "--disable-sync",
		      "--disable-crash-reporter", "--disable-breakpad",
		      "--no-zygote", ud, "--virtual-time-budget=3000",
		      "--dump-dom", url, NULL };
	arb_test_proc p;
	char         *dom;
	int           code;

	snprintf(home, sizeof(home), "%s/chromium-%d", tmpdir, n);
	assert_int_equal(mkdir(home, 0700), 0);
	snprintf(env_home, sizeof(env_home), "HOME=%s", home);
	snprintf(env_tmp, sizeof(env_tmp), "TMPDIR=%s", home);
	snprintf(env_cfg, sizeof(env_cfg), "XDG_CONFIG_HOME=%s", home);
	snprintf(env_cache, sizeof(env_cache), "XDG_CACHE_HOME=%s", home);
	snprintf(ud, sizeof(ud), "--user-data-dir=%s/profile", home);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	arb_test_spawn(&p, "chromium", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, 40000));
	if (code != 0) {
		fail_msg("chromium exited %d: %s", code, p.out);
	}
	assert_non_null(dom = strdup(p.out));
	arb_test_proc_fini(&p); // Chromium and its helpers are all gone
	return dom;
}

static void
test_page_draws_the_live_tree_in_chromium(void **state)
{
	arb_test_proc p;
	char         *dom;

	(void) state;
	need_binaries();
	if (!have_chromium()) {
		print_message("chromium is not installed (Debian package "
		              "`chromium`, see .ci/deps): skipping the page "
		              "test\n");
		skip();
	}
	start_node(&p, tree_fmt);

	dom = dump_dom(1);
	expect_in(dom, "arbor node t66");
	expect_in(dom, "data-path=\"root\" data-state=\"running\"");
	expect_in(dom, "data-path=\"root/e\" data-state=\"running\"");
	expect_in(dom, "data-path=\"root/pe\" data-state=\"running\"");
	expect_in(dom, "data-path=\"root/sh\" data-state=\"running\"");
	expect_in(dom,
	    "data-path=\"root/c\" data-state=\"running\" "
	    "data-restarts=\"0\"");
	free(dom);

	// A crash: the page shows the new restart count and the reason.
	crash_c(1);
	dom = dump_dom(2);
	expect_in(dom,
	    "data-path=\"root/c\" data-state=\"running\" "
	    "data-restarts=\"1\"");
	expect_in(dom, "error{code=4,text=\"kaput\"}");
	expect_in(dom,
	    "data-path=\"root/pe\" data-state=\"running\" "
	    "data-restarts=\"0\"");
	free(dom);

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

static void
test_healthz_reports_a_stuck_loop(void **state)
{
	static const char fmt[]
	    = "node: {name: t66h, control: ctl.d/t66.sock, http: "
	      "\"127.0.0.1:%d\"}\n"
	      "root:\n"
	      "  children:\n"
	      "    - {name: e, type: echo}\n"
	      "    - name: h\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      config: {hang: {after: 300ms, for: 5s}}\n";
	arb_test_proc p;
	http_resp     r;
	int64_t       deadline;

	(void) state;
	need_binaries();
	start_node(&p, fmt);
	arb_test_expect(&p, "event=hang", WAIT_MS);
	// No heartbeat for 3 s: the node is no longer live.
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		get("/healthz", &r);
		if (r.status == 503) {
			break;
		}
		assert_int_equal(r.status, 200);
		if (now_ms() > deadline) {
			fail_msg("/healthz never reported the stuck loop");
		}
		free(r.body);
		pause_ms(50);
	}
	assert_string_equal(r.body, "stuck: root/h\n");
	free(r.body);
	get("/metrics", &r);
	expect_in(r.body, "arbor_node_live 0\n");
	free(r.body);
	get("/readyz", &r); // stuck is not unready
	assert_int_equal(r.status, 200);
	free(r.body);
	// The loop runs again: healthy again.
	arb_test_expect(&p, "event=unhung", WAIT_MS);
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		get("/healthz", &r);
		if (r.status == 200) {
			break;
		}
		if (now_ms() > deadline) {
			fail_msg("/healthz stayed %d: %s", r.status, r.body);
		}
		free(r.body);
		pause_ms(50);
	}
	free(r.body);
	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_probes_metrics_and_tree, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_page_draws_the_live_tree_in_chromium, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_healthz_reports_a_stuck_loop, setup, teardown),
};

ARB_TEST_MAIN("integration.http", tests, helpers)
