// SPDX-License-Identifier: MIT
// 66_http_test.c -- the HTTP endpoint of `arbor run` (node.http), driven
// as a user and a monitoring system would: the real binary on a loopback
// port, a minimal HTTP client over a plain socket for /healthz, /readyz,
// /metrics, /api/tree and the page, and headless Chromium rendering the
// page's live tree (skipped, with a message, when Chromium is not
// installed).  A crash is caused through `arborctl send` and must show
// in the metrics and on the page; a crasher blocking its own loop must
// make /healthz fail with its path, and pass again afterwards; an exit
// text that is not UTF-8 must leave /api/tree and `status --json` UTF-8
// JSON (Python parses them).  SPEC 24.
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
#include <fcntl.h>
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

// node is the running node.  Nothing reads its output (stdout and stderr,
// one pipe) while the test makes requests, and a child in a failing-restart
// loop logs some 10 KB a second: once the pipe is full, the node's loop
// blocks in write(2) and answers neither HTTP nor arborctl.  So every
// request first takes what the node printed so far (drain_node), and the
// pipe holds 1 MiB for the long steps between requests (Chromium, slow
// under a sanitizer).
static arb_test_proc *node;

static int
setup(void **state)
{
	(void) state;
	node = NULL;
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
	return arb_test_now_ms();
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

static void
drain_node(void)
{
	if (node != NULL) {
		(void) arb_test_try_expect(node, "\x01", 0); // reads, matches none
	}
}

// start_node_env runs the tree of fmt (one %d: the port) on a free port,
// with env ("VAR=value", or NULL) in its environment, retrying if another
// process takes the port first, and waits until the tree is up.
static void
start_node_env(arb_test_proc *p, const char *fmt, const char *env)
{
	char        file[160], yaml[2048];
	const char *with[] = { env, "--", "run", file, NULL };
	const char *const *args = env != NULL ? with : with + 1;
	int         tries;

	for (tries = 0; tries < 5; tries++) {
		port = arb_test_free_port();
		snprintf(yaml, sizeof(yaml), fmt, port);
		write_file(file, sizeof(file), "tree.yaml", yaml);
		arb_test_spawn(p, "arbor", args);
		(void) fcntl(p->fd, F_SETPIPE_SZ, 1 << 20); // best effort
		if (arb_test_try_expect(p, "event=http_listen", WAIT_MS)
		    != NULL) {
			arb_test_expect(p, "root event=tree_up", WAIT_MS);
			node = p;
			return;
		}
		assert_int_equal(
		    arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS)), 70);
		assert_non_null(strstr(p->out, "event=http_unavailable"));
		arb_test_proc_fini(p);
	}
	fail_msg("no free port after 5 tries");
}

static void
start_node(arb_test_proc *p, const char *fmt)
{
	start_node_env(p, fmt, NULL);
}

static int
stop_node(arb_test_proc *p)
{
	node = NULL;
	kill(p->pid, SIGTERM);
	return arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS));
}

// http performs one request to the node's port with the Host header
// host, and fills r (free r->body).
static void
http(const char *method, const char *path, const char *host, http_resp *r)
{
	drain_node();
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
// code; its output stays in ctl_out.
static char ctl_out[16384];

static int
ctl(const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char *args[] = { "--", "--socket", sock, a0, a1, a2, a3, NULL };
	arb_test_proc p;
	int           code;

	drain_node();
	arb_test_spawn(&p, "arborctl", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS + 5000));
	snprintf(ctl_out, sizeof(ctl_out), "%s", p.out);
	if (code != 0) {
		print_message("arborctl %s: %s", a0, p.out);
	}
	arb_test_proc_fini(&p);
	return code;
}

// raw writes bytes to a new connection to the node's port and copies
// what comes back until the node closes it (at most len - 1 bytes) into
// out.
static void
raw(const char *bytes, char *out, size_t len)
{
	struct sockaddr_in sin = { 0 };
	size_t             got = 0;
	int64_t            deadline = now_ms() + WAIT_MS;
	int                fd;
	ssize_t            n;

	drain_node();
	assert_true(
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(
	    connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)), strlen(bytes));
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t       left = deadline - now_ms();

		if (left <= 0) {
			fail_msg("no end of the answer to \"%s\": %.*s", bytes,
			    (int) got, out);
		}
		if (poll(&pfd, 1, (int) left) <= 0) {
			continue;
		}
		n = read(fd, out + got, len - 1 - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) { // the end (or a reset after the answer)
			break;
		}
		got += (size_t) n;
		if (got == len - 1) {
			break;
		}
	}
	close(fd);
	out[got] = '\0';
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
	static const char *const families[] = { "arbor_actor_up gauge",
		"arbor_actor_restarts_total counter",
		"arbor_actor_exits_total counter",
		"arbor_actor_messages_in_total counter",
		"arbor_actor_messages_out_total counter",
		"arbor_actor_dead_letters_total counter",
		"arbor_actor_rejected_total counter",
		"arbor_actor_heartbeat_age_seconds gauge",
		"arbor_node_uptime_seconds gauge",
		"arbor_node_give_ups_total counter", "arbor_node_ready gauge",
		"arbor_node_links_refused_total counter",
		"arbor_node_link_auth_failed_total counter",
		"arbor_node_link_hb_timeouts_total counter",
		"arbor_node_link_backoff_refused_total counter",
		"arbor_node_link_backoff_evicted_total counter",
		"arbor_node_link_replaced_total counter",
		"arbor_node_link_closed_with_peer_total counter",
		"arbor_node_link_adopted_total counter",
		"arbor_node_link_merged_total counter",
		"arbor_node_link_forged_total counter",
		"arbor_node_peer_watches_refused_total counter",
		"arbor_agent_children gauge",
		"arbor_agent_orphans_stopped_total counter",
		"arbor_agent_fenced_total counter",
		"arbor_agent_reports_pending gauge",
		"arbor_agent_reports_stale_total counter",
		"arbor_agent_reports_dropped_total counter", NULL };
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
	// The node's link counters, these two with the others.
	expect_in(r.body,
	    "\"link_replaced\":0,\"link_closed_with_peer\":0,"
	    "\"link_adopted\":0,\"link_merged\":0,"
	    "\"link_forged\":0,");
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
	assert_int_equal(r.status, 405);
	expect_in(r.head, "\r\nAllow: GET, HEAD");
	free(r.body);

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

// py_last_exit runs Python's JSON parser on text (a tree document) and
// returns what it prints: root/c's last_exit as ascii() writes it.
static const char *
py_last_exit(const char *text, char *out, size_t len)
{
	char          file[160];
	const char   *args[] = { "--", "-c",
		  "import json,sys; t=json.load(open(sys.argv[1],'rb'));"
		    "c=[k for k in t['tree']['children'] if k['name']=='c'];"
		    "print(ascii(c[0]['last_exit']))",
		  file, NULL };
	arb_test_proc py;

	arb_test_write_file(tmpdir, "doc.json", text, file, sizeof(file));
	arb_test_spawn(&py, "python3", args);
	if (arb_test_exit_code(arb_test_wait_exit(&py, WAIT_MS)) != 0) {
		fail_msg("not JSON to Python: %s\n%.2000s", py.out, text);
	}
	snprintf(out, len, "%s", py.out);
	arb_test_proc_fini(&py);
	return out;
}

// An actor's exit text that is not UTF-8 (a byte that starts no
// sequence, a sequence cut short): the tree document, of HTTP and of
// arborctl, is still UTF-8 JSON, each bad byte U+FFFD (\ufffd); UTF-8
// stays; arborctl's table shows it; the log line has the bytes as \xNN.
static const char tree_utf8_fmt[]
    = "node: {name: t66, control: ctl.d/t66.sock, http: \"127.0.0.1:%d\"}\n"
      "root:\n"
      "  children:\n"
      "    - name: c\n"
      "      type: crasher\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 5,\n"
      "               text: \"${T66_TEXT}\"}\n";

static void
test_json_is_utf8_whatever_the_exit_text(void **state)
{
	static const char want_py[]
	    = "'error{code=5,text=\"ok\\xe9 bad\\ufffd cut\\ufffd\\ufffd\"}'";
	arb_test_proc p;
	http_resp     r;
	char          got[512];

	(void) state;
	need_binaries();
	if (access("/usr/bin/python3", X_OK) != 0) {
		skip(); // no JSON parser to ask
	}
	start_node_env(
	    &p, tree_utf8_fmt, "T66_TEXT=ok\xc3\xa9 bad\xff cut\xe2\x82");
	crash_c(1);
	arb_test_expect(&p,
	    "root/c event=exit reason=error{code=5,text=\"ok\xc3\xa9 "
	    "bad\\xff cut\\xe2\\x82\"}",
	    WAIT_MS);

	get("/api/tree", &r);
	assert_int_equal(r.status, 200);
	expect_in(r.body,
	    "\"last_exit\":\"error{code=5,text=\\\"ok\xc3\xa9 bad\\ufffd "
	    "cut\\ufffd\\ufffd\\\"}\"");
	expect_in(py_last_exit(r.body, got, sizeof(got)), want_py);
	free(r.body);

	assert_int_equal(ctl("status", "--json", NULL, NULL), 0);
	expect_in(py_last_exit(ctl_out, got, sizeof(got)), want_py);
	// The table: arborctl reads the document as UTF-8 JSON.
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	expect_in(ctl_out,
	    "error{code=5,text=\"ok\xc3\xa9 bad\xef\xbf\xbd "
	    "cut\xef\xbf\xbd\xef\xbf\xbd\"}");

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

static void valid_exposition(const char *body);

// Outside text that is not UTF-8 in an actor's metric label (a greeting
// from the environment): /metrics stays UTF-8, each bad byte U+FFFD (the
// text format has no other escape); the diag ticker's own stderr line
// (the greeter's answer as its body) has the bytes as \xNN, as the log.
static void
test_metrics_and_diag_lines_are_utf8(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[]
	    = "node: {name: t66, control: ctl.d/t66.sock, http: "
	      "\"127.0.0.1:%%d\"}\n"
	      "plugins: [%s]\n"
	      "root:\n"
	      "  children:\n"
	      "    - name: g\n"
	      "      type: greeter\n"
	      "      config: {greeting: \"${T66_TEXT}\"}\n"
	      "    - name: t\n"
	      "      type: ticker\n"
	      "      config: {target: root/g, interval: 10ms, call: true}\n";
	static const char want[]
	    = "greeter_greetings_total{path=\"root/g\",greeting=\"ok\xc3\xa9 "
	      "bad\xef\xbf\xbd cut\xef\xbf\xbd\xef\xbf\xbd\"} ";
	arb_test_proc p;
	http_resp     r;
	char          tree[1024];
	int64_t       deadline;

	(void) state;
	need_binaries();
	snprintf(tree, sizeof(tree), fmt, ARBOR_PLUGIN_SO);
	start_node_env(&p, tree, "T66_TEXT=ok\xc3\xa9 bad\xff cut\xe2\x82");
	arb_test_expect(&p,
	    "event=reply seq=1 tag=1 body=\"ok\xc3\xa9 bad\\xff "
	    "cut\\xe2\\x82, pid ",
	    WAIT_MS);
	// Values reach the node with the heartbeat (at least once a second).
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		get("/metrics", &r);
		if (strstr(r.body, want) != NULL) {
			break;
		}
		if (now_ms() > deadline) {
			fail_msg("no %s in:\n%s", want, r.body);
		}
		free(r.body);
		pause_ms(50);
	}
	assert_null(strchr(r.body, '\xff'));
	valid_exposition(r.body);
	free(r.body);
	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip();
#endif
}

// refusals_said adds up count= of the event=http_refused lines in out.
static long
refusals_said(const char *out)
{
	const char *l = out;
	long        sum = 0;

	while ((l = strstr(l, "event=http_refused")) != NULL) {
		const char *eol = strchr(l, '\n'), *c = strstr(l, " count=");

		if (c != NULL && (eol == NULL || c < eol)) {
			sum += strtol(c + 7, NULL, 10);
		}
		l++;
	}
	return sum;
}

// Junk on the HTTP port: a method that is not served, one evhttp does
// not know, bytes that are no request, a bad header, a body.  Each is
// answered, counted by reason in /metrics and logged, at most one line
// every 10 s (the first at once), and those not logged yet at the stop.
static void
test_junk_is_answered_counted_and_logged(void **state)
{
	arb_test_proc p;
	http_resp     r;
	char          got[4096];
	int64_t       t0, took;
	int           lines;

	(void) state;
	need_binaries();
	start_node(&p, tree_fmt);
	t0 = now_ms();
	raw("BREW /pot HTTP/1.0\r\nHost: localhost\r\n\r\n", got, sizeof(got));
	expect_in(got, "HTTP/1.0 501 Not Implemented\r\n");
	raw("DELETE /api/tree HTTP/1.0\r\n\r\n", got, sizeof(got));
	expect_in(got, "HTTP/1.0 405 Method Not Allowed\r\n");
	expect_in(got, "\r\nAllow: GET, HEAD\r\n");
	raw("garbage\r\n\r\n", got, sizeof(got));
	expect_in(got, " 400 Bad Request\r\n");
	raw("GET /healthz HTTP/1.0\r\nno colon\r\n\r\n", got, sizeof(got));
	expect_in(got, " 400 Bad Request\r\n");
	raw("GET /healthz HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", got,
	    sizeof(got));
	expect_in(got, " 413 ");
	took = now_ms() - t0;

	get("/metrics", &r);
	expect_in(r.body, "# TYPE arbor_http_refused_total counter\n");
	expect_in(r.body, "arbor_http_refused_total{reason=\"method\"} 2\n");
	expect_in(r.body, "arbor_http_refused_total{reason=\"host\"} 0\n");
	expect_in(
	    r.body, "arbor_http_refused_total{reason=\"malformed\"} 3\n");
	free(r.body);
	arb_test_expect(&p,
	    "event=http_refused reason=method method=unknown target=\"/pot\" "
	    "peer=127.0.0.1:",
	    WAIT_MS);
	lines = arb_test_count(&p, "event=http_refused");
	if (lines < 1 || lines > 1 + took / 10000) {
		fail_msg("%d event=http_refused lines for 5 refusals in %lld "
		         "ms, from the first:\n%.2000s",
		    lines, (long long) took,
		    strstr(p.out, "event=http_refused"));
	}

	assert_int_equal(stop_node(&p), 0);
	// The refusals after the first line (within its 10 s) are said at
	// the stop: the lines' counts add up to the 5.
	if (refusals_said(p.out) != 5) {
		fail_msg("the event=http_refused lines count %ld refusals, "
		         "not 5:\n%.2000s",
		    refusals_said(p.out), strstr(p.out, "event=http_refused"));
	}
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

// count_in counts the occurrences of needle in hay.
static int
count_in(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

// family_of writes the family a sample line belongs to: its name, less
// a histogram's _bucket, _sum or _count when that family was TYPEd.
static void
family_of(const char *line, size_t n, const char *typed, char *fam,
    size_t len)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	size_t                   k = strcspn(line, "{ ");
	size_t                   i, l;

	snprintf(fam, len, "%.*s", (int) (k < n ? k : n), line);
	for (i = 0; i < 3; i++) {
		l = strlen(sfx[i]);
		if (strlen(fam) > l && strcmp(fam + strlen(fam) - l, sfx[i]) == 0
		    && strncmp(typed, fam, strlen(fam) - l) == 0
		    && typed[strlen(fam) - l] == '\0') {
			fam[strlen(fam) - l] = '\0';
		}
	}
}

// valid_exposition checks the Prometheus text format strictly enough
// for a scraper: every sample is NAME{labels} VALUE with well-formed,
// escaped label values; every family is TYPEd once, before its samples,
// and its samples are contiguous.  Fails the test with the bad line.
static void
valid_exposition(const char *body)
{
	char        typed[128] = "", fam[128 + 2], seen[8192] = "|";
	const char *l, *e, *p;
	size_t      n;

	for (l = body; *l != '\0'; l = e + 1) {
		assert_non_null(e = strchr(l, '\n'));
		n = (size_t) (e - l);
		if (strncmp(l, "# HELP ", 7) == 0) {
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			snprintf(typed, sizeof(typed), "%.*s",
			    (int) strcspn(l + 7, " "), l + 7);
			snprintf(fam, sizeof(fam), "|%s|", typed);
			if (strstr(seen, fam) != NULL) {
				fail_msg("family %s TYPEd twice", typed);
			}
			strncat(seen, fam + 1, sizeof(seen) - strlen(seen) - 1);
			continue;
		}
		family_of(l, n, typed, fam, sizeof(fam));
		if (strcmp(fam, typed) != 0) {
			fail_msg("sample of %s outside its family block (%s): "
			         "%.*s",
			    fam, typed, (int) n, l);
		}
		p = l + strcspn(l, "{ ");
		if (*p == '{') {
			// name="value" pairs; inside values only \\, \" and
			// \n escapes.
			for (p++; *p != '}';) {
				while (*p == '_' || (*p >= 'a' && *p <= 'z') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9')) {
					p++;
				}
				if (p[0] != '=' || p[1] != '"') {
					fail_msg("bad label in: %.*s", (int) n, l);
				}
				for (p += 2; *p != '"'; p++) {
					if (*p == '\n' || *p == '\0') {
						fail_msg("unterminated label: %.*s",
						    (int) n, l);
					}
					if (*p == '\\' && strchr("\\\"n", p[1]) ==
					        NULL) {
						fail_msg("bad escape in: %.*s",
						    (int) n, l);
					}
					if (*p == '\\') {
						p++;
					}
				}
				p++;
				if (*p == ',') {
					p++;
				} else if (*p != '}') {
					fail_msg("bad label list: %.*s", (int) n,
					    l);
				}
			}
			p++;
		}
		if (*p != ' ' || p + 1 >= e) {
			fail_msg("no value: %.*s", (int) n, l);
		}
	}
}

// A thread and a process actor declare their own metrics (the greeter of
// examples/plugin: a labelled counter, a gauge, a histogram); they reach
// /metrics with the actor's path, one TYPE and HELP per family, label
// values escaped; `arborctl status` lists them per actor; /api/tree has
// them under each actor.
static void
test_actor_metrics_on_metrics_status_and_tree(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[]
	    = "node: {name: t66, control: ctl.d/t66.sock, http: \"127.0.0.1:%%d\"}\n"
	      "plugins: [%s]\n"
	      "root:\n"
	      "  children:\n"
	      "    - name: g\n"
	      "      type: greeter\n"
	      "      config:\n"
	      "        greeting: 'say \"hi\" \\ now'\n"
	      "    - {name: gp, type: greeter, isolation: process}\n"
	      "    - name: t\n"
	      "      type: ticker\n"
	      "      config: {target: root/g, interval: 10ms, call: true}\n"
	      "    - name: tp\n"
	      "      type: ticker\n"
	      "      config: {target: root/gp, interval: 10ms, call: true}\n";
	arb_test_proc p;
	http_resp     r;
	char          tree_fmt2[1024];
	int64_t       deadline;
	const char   *want[] = {
		  "greeter_greetings_total{path=\"root/g\",greeting=\"say "
		  "\\\"hi\\\" \\\\ now\"} ",
		  "greeter_greetings_total{path=\"root/gp\",greeting=\"hello\"} ",
		  "greeter_answer_bytes_bucket{path=\"root/gp\",le=\"+Inf\"} ",
		  "greeter_answer_bytes_count{path=\"root/g\"} ",
		  "greeter_last_length_bytes{path=\"root/gp\"} ",
	};
	size_t        i;
	bool          all;

	(void) state;
	need_binaries();
	snprintf(tree_fmt2, sizeof(tree_fmt2), fmt, ARBOR_PLUGIN_SO);
	start_node(&p, tree_fmt2);
	// Values reach the node with the heartbeat (at least once a second).
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		get("/metrics", &r);
		for (i = 0, all = true; i < sizeof(want) / sizeof(want[0]); i++) {
			const char *at = strstr(r.body, want[i]);
			all = all && at != NULL &&
			    strncmp(at + strlen(want[i]), "0\n", 2) != 0;
		}
		if (all) {
			break;
		}
		if (now_ms() > deadline) {
			fail_msg("actor metrics missing or zero:\n%s", r.body);
		}
		free(r.body);
		pause_ms(50);
	}
	assert_int_equal(
	    count_in(r.body, "# TYPE greeter_greetings_total counter\n"), 1);
	assert_int_equal(
	    count_in(r.body, "# TYPE greeter_answer_bytes histogram\n"), 1);
	assert_int_equal(
	    count_in(r.body, "# TYPE greeter_last_length_bytes gauge\n"), 1);
	expect_in(r.body,
	    "# HELP greeter_greetings_total Greetings sent, by greeting.\n");
	expect_in(r.body, "greeter_answer_bytes_bucket{path=\"root/g\",le=\"16\"} ");
	expect_in(r.body, "greeter_answer_bytes_sum{path=\"root/gp\"} ");
	expect_in(r.body, "arbor_actor_metrics_clashing 0\n");
	valid_exposition(r.body);
	free(r.body);

	// arborctl status: one line per series, under the tree.
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	expect_in(ctl_out, "METRIC");
	expect_in(ctl_out, "greeter_greetings_total{greeting=\"hello\"}  ");
	expect_in(ctl_out, "greeter_answer_bytes");
	expect_in(ctl_out, "  count ");
	assert_true(count_in(ctl_out, "\nroot/g ") >= 3);
	assert_true(count_in(ctl_out, "\nroot/gp ") >= 3);
	get("/api/tree", &r);
	expect_in(r.body, "\"metrics\":[{\"name\":\"greeter_greetings_total\","
	                  "\"type\":\"counter\"");
	expect_in(r.body, "\"label\":{\"greeting\":\"hello\"}");
	expect_in(r.body, "[\"+Inf\",");
	free(r.body);
	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples are not built
#endif
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

// wait_out waits until the node's whole output so far has needle.
static void
wait_out(arb_test_proc *p, const char *needle)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (strstr(p->out, needle) == NULL) {
		if (now_ms() > deadline) {
			fail_msg("no \"%s\" from the node:\n%s", needle, p->out);
		}
		(void) arb_test_try_expect(p, "\x01", 20); // reads more
	}
}

// peer_row returns the <tr ...> of peer name in dom (up to its </tr>) in
// buf, or fails.
static const char *
peer_row(const char *dom, const char *name, char *buf, size_t len)
{
	char        key[96];
	const char *a, *b;

	snprintf(key, sizeof(key), "data-peer=\"%s\"", name);
	if ((a = strstr(dom, key)) == NULL
	    || (b = strstr(a, "</tr>")) == NULL) {
		fail_msg("no row of peer %s on the page:\n%s", name, dom);
	}
	snprintf(buf, len, "%.*s", (int) (b - a), a);
	return buf;
}

// peer_cookie writes the cookie file (0600) that the nodes of a peers
// test share.
static void
peer_cookie(char *cookie, size_t len, const char *secret)
{
	write_file(cookie, len, "cookie", secret);
	assert_int_equal(chmod(cookie, 0600), 0);
}

// node_yaml writes into buf the tree file of node name: its control
// socket ctl.d/NAME.sock, the line http ("" or "  http: ...\n"), its
// listener on lport with cookie, the node lines extra ("" or "  KEY:
// VALUE\n"...), its peers ("NAME:PORT[,NAME:PORT]", at 127.0.0.1) and its
// root's children (YAML list items, one a line).
static void
node_yaml(char *buf, size_t len, const char *name, const char *http,
    int lport, const char *cookie, const char *extra, const char *peers,
    const char *children)
{
	char        list[512];
	const char *s, *c, *e;
	size_t      n = 0;

	for (s = peers; *s != '\0'; s = *e == ',' ? e + 1 : e) {
		e = s + strcspn(s, ",");
		assert_non_null(c = memchr(s, ':', (size_t) (e - s)));
		n += (size_t) snprintf(list + n, sizeof(list) - n,
		    "    - {name: %.*s, url: \"tcp://127.0.0.1:%.*s\"}\n",
		    (int) (c - s), s, (int) (e - c - 1), c + 1);
		assert_true(n < sizeof(list));
	}
	assert_true((size_t) snprintf(buf, len,
	                "node:\n  name: %s\n  control: ctl.d/%s.sock\n%s"
	                "  listen: tcp://127.0.0.1:%d\n  cookie: %s\n%s"
	                "  peers:\n%sroot:\n  children:\n%s",
	                name, name, http, lport, cookie, extra, list, children)
	    < len);
}

// peer_node_start writes NAME.yaml into file (a node NAME listening on
// lport with cookie, whose one peer PEER listens on peer_port, and whose
// root runs child) and runs it as q.
static void
peer_node_start(arb_test_proc *q, char *file, size_t flen, const char *name,
    int lport, const char *cookie, const char *peer, int peer_port,
    const char *child)
{
	char        yaml[1024], fname[64], peers[64], kids[256];
	const char *args[] = { "--", "run", file, NULL };

	snprintf(peers, sizeof(peers), "%s:%d", peer, peer_port);
	snprintf(kids, sizeof(kids), "    - %s\n", child);
	node_yaml(
	    yaml, sizeof(yaml), name, "", lport, cookie, "", peers, kids);
	snprintf(fname, sizeof(fname), "%s.yaml", name);
	write_file(file, flen, fname, yaml);
	arb_test_spawn(q, "arbor", args);
}

// http_peer_node starts node name as p (start_node: HTTP on a free
// port, its tree up), listening on lport with cookie, with the node lines
// extra, its peers and its root's children (as node_yaml).
static void
http_peer_node(arb_test_proc *p, const char *name, int lport,
    const char *cookie, const char *extra, const char *peers,
    const char *children)
{
	char fmt[1536];

	// (start_node's format: its "%d" is the HTTP port)
	node_yaml(fmt, sizeof(fmt), name, "  http: \"127.0.0.1:%d\"\n", lport,
	    cookie, extra, peers, children);
	start_node(p, fmt);
}

// wait_peer_rtt waits until /api/tree gives peer name a heartbeat round
// trip ("rtt_us" not -1).
static void
wait_peer_rtt(const char *name)
{
	char        key[96];
	const char *at;
	int64_t     deadline = now_ms() + WAIT_MS;
	http_resp   r;

	snprintf(key, sizeof(key), "{\"name\":\"%s\",", name);
	for (;;) {
		get("/api/tree", &r);
		if ((at = strstr(r.body, key)) != NULL
		    && (at = strstr(at, "\"rtt_us\":")) != NULL
		    && at[9] != '-') {
			free(r.body);
			return;
		}
		if (now_ms() > deadline) {
			fail_msg("no heartbeat round trip of peer %s: %s", name,
			    r.body);
		}
		free(r.body);
		pause_ms(20);
	}
}

// The page draws the node's peers as `arborctl peers` does: a peer that
// is up with its incarnation (the peer's creation), its streams, its
// heartbeat round
// trip and the time since the last answer; a peer that never came up
// with none of them; and after the first is SIGKILLed, it is lost and
// its downs count 1.
static void
test_page_draws_the_peers_in_chromium(void **state)
{
	arb_test_proc p, q;
	char          cookie[160], peers[64], file[160], row[2048];
	char          want[128];
	const char   *line;
	int           pa = arb_test_free_port(), pb = arb_test_free_port();
	int           pg = arb_test_free_port();
	long          creation;
	char         *dom;

	(void) state;
	need_binaries();
	if (!have_chromium()) {
		print_message("chromium is not installed: skipping\n");
		skip();
	}
	peer_cookie(cookie, sizeof(cookie), "t66-t67-shared-secret-0123456789\n");
	peer_node_start(&q, file, sizeof(file), "t67", pb, cookie, "t66", pa,
	    "{name: e, type: echo}");
	line = arb_test_expect(&q, "event=node_start", WAIT_MS);
	creation = arb_test_need_field(line, "creation");
	snprintf(peers, sizeof(peers), "t67:%d,gone:%d", pb, pg);
	http_peer_node(&p, "t66", pa, cookie, "", peers,
	    "    - {name: e, type: echo}\n");
	wait_out(&p, "event=peer_up peer=t67");
	// The link is up at its HELLO; its round trip is known at the first
	// heartbeat's echo, up to one interval later.
	wait_peer_rtt("t67");

	dom = dump_dom(1);
	expect_in(dom, "listen tcp://127.0.0.1:");
	peer_row(dom, "t67", row, sizeof(row));
	snprintf(want, sizeof(want),
	    "data-peer-state=\"up\" data-incarnation=\"%ld\" "
	    "data-ups=\"1\" data-downs=\"0\"", creation);
	expect_in(row, want);
	expect_in(row, "ms</td><td>"); // the round trip
	expect_in(row, " ago</td>");   // the last heartbeat
	// Its own link is up (t67's into it may be proven a moment later).
	expect_in(row, "data-streams=\"dialled");
	peer_row(dom, "gone", row, sizeof(row));
	expect_in(row, "data-incarnation=\"0\" data-ups=\"0\"");
	expect_in(row, "data-streams=\"-\"");
	expect_in(row, "<td>-</td><td>-</td><td>-</td><td>never</td>");
	free(dom);

	// t67 is lost: the page says so, once.
	kill(q.pid, SIGKILL);
	arb_test_wait_exit(&q, WAIT_MS);
	arb_test_proc_fini(&q);
	wait_out(&p, "event=peer_down peer=t67");
	dom = dump_dom(2);
	peer_row(dom, "t67", row, sizeof(row));
	expect_in(row, "data-downs=\"1\"");
	assert_null(strstr(row, "data-peer-state=\"up\""));
	free(dom);

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

// /metrics tells each peer's link (docs/operations.md, "Metrics"), as
// `arborctl peers` does: a scraper can alert on a peer that is down or
// never came up (before, /metrics had the refusals but no peer at all).
// t72 up: arbor_node_peer_up 1, ups 1, downs 0, a round trip; "gone",
// never up: 0, 0, 0 and no round trip; t72 SIGKILLed: up 0, downs 1.
static void
test_peers_on_metrics(void **state)
{
	arb_test_proc p, q;
	char          cookie[160], peers[64], file[160];
	int           pa = arb_test_free_port(), pb = arb_test_free_port();
	int           pg = arb_test_free_port();
	http_resp     r;

	(void) state;
	need_binaries();
	peer_cookie(
	    cookie, sizeof(cookie), "t71-t72-shared-secret-0123456789\n");
	peer_node_start(&q, file, sizeof(file), "t72", pb, cookie, "t71", pa,
	    "{name: e, type: echo}");
	arb_test_expect(&q, "event=node_start", WAIT_MS);
	snprintf(peers, sizeof(peers), "t72:%d,gone:%d", pb, pg);
	http_peer_node(&p, "t71", pa, cookie, "", peers,
	    "    - {name: e, type: echo}\n");
	wait_out(&p, "event=peer_up peer=t72");
	wait_peer_rtt("t72");

	get("/metrics", &r);
	expect_in(r.body, "# TYPE arbor_node_peer_up gauge\n");
	expect_in(r.body, "\narbor_node_peer_up{peer=\"t72\"} 1\n");
	expect_in(r.body, "\narbor_node_peer_up{peer=\"gone\"} 0\n");
	expect_in(r.body, "# TYPE arbor_node_peer_ups_total counter\n");
	expect_in(r.body, "\narbor_node_peer_ups_total{peer=\"t72\"} 1\n");
	expect_in(r.body, "\narbor_node_peer_ups_total{peer=\"gone\"} 0\n");
	expect_in(r.body, "# TYPE arbor_node_peer_downs_total counter\n");
	expect_in(r.body, "\narbor_node_peer_downs_total{peer=\"t72\"} 0\n");
	expect_in(r.body, "# TYPE arbor_node_peer_rtt_seconds gauge\n");
	expect_in(r.body, "\narbor_node_peer_rtt_seconds{peer=\"t72\"} 0.");
	assert_null(
	    strstr(r.body, "arbor_node_peer_rtt_seconds{peer=\"gone\"}"));
	free(r.body);

	kill(q.pid, SIGKILL);
	arb_test_wait_exit(&q, WAIT_MS);
	arb_test_proc_fini(&q);
	wait_out(&p, "event=peer_down peer=t72");
	get("/metrics", &r);
	expect_in(r.body, "\narbor_node_peer_up{peer=\"t72\"} 0\n");
	expect_in(r.body, "\narbor_node_peer_downs_total{peer=\"t72\"} 1\n");
	free(r.body);

	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

// row_of returns the <tr ...> holding key in dom (up to its </tr>) in
// buf, or fails.
static const char *
row_of(const char *dom, const char *key, char *buf, size_t len)
{
	const char *a, *b;

	if ((a = strstr(dom, key)) == NULL
	    || (b = strstr(a, "</tr>")) == NULL) {
		fail_msg("no row with %s on the page:\n%s", key, dom);
	}
	snprintf(buf, len, "%.*s", (int) (b - a), a);
	return buf;
}

// Remote children on the page and on /metrics (docs/supervision.md,
// "Remote children"): t68 supervises w on t69, and its agent runs v for
// t70's supervisor (three nodes: two roots that each wait for a child on
// the other while they start would wait for each other).  The
// supervisor's view: w's row (its node, running, restarts) and
// arbor_remote_child_up 1; the agent's view: v's row (for t70, its path
// there, running) and arbor_agent_children_by_node.  t69 and t70
// SIGKILLed: w is no longer running (noconnection), and v is stopped after
// t68's orphan grace: no row, orphans stopped 1.
static void
test_page_draws_remote_children_in_chromium(void **state)
{
	arb_test_proc p, q, q2;
	char          cookie[160], peers[64], file[160], file2[160];
	char          row[2048];
	int           pa = arb_test_free_port(), pb = arb_test_free_port();
	int           pc = arb_test_free_port();
	http_resp     r;
	char         *dom;

	(void) state;
	need_binaries();
	if (!have_chromium()) {
		print_message("chromium is not installed: skipping\n");
		skip();
	}
	peer_cookie(cookie, sizeof(cookie), "t68-t69-shared-secret-0123456789\n");
	peer_node_start(&q, file, sizeof(file), "t69", pb, cookie, "t68", pa,
	    "{name: e, type: echo}");
	arb_test_expect(&q, "event=tree_up", WAIT_MS);
	snprintf(peers, sizeof(peers), "t69:%d,t70:%d", pb, pc);
	http_peer_node(&p, "t68", pa, cookie, "  orphan_grace: 200ms\n",
	    peers, "    - {name: w, type: echo, node: t69}\n");
	wait_out(&p, "root/w event=started");
	peer_node_start(&q2, file2, sizeof(file2), "t70", pc, cookie, "t68",
	    pa, "{name: v, type: echo, node: t68}");
	arb_test_expect(&q2, "root/v event=started", WAIT_MS);

	dom = dump_dom(1);
	row_of(dom, "data-remote-child=\"root/w\"", row, sizeof(row));
	expect_in(row, "data-node=\"t69\" data-state=\"running\" "
	               "data-restarts=\"0\"");
	row_of(dom, "data-sup-node=\"t70\"", row, sizeof(row));
	expect_in(row, "data-child=\"root/v\" data-state=\"running\"");
	expect_in(dom, "data-orphans-stopped=\"0\"");
	free(dom);
	get("/metrics", &r);
	expect_in(r.body,
	    "arbor_remote_child_up{path=\"root/w\",node=\"t69\"} 1");
	expect_in(r.body, "arbor_agent_children_by_node{sup_node=\"t70\"} 1");
	expect_in(r.body, "arbor_agent_children 1");
	free(r.body);

	kill(q.pid, SIGKILL);
	kill(q2.pid, SIGKILL);
	arb_test_wait_exit(&q, WAIT_MS);
	arb_test_wait_exit(&q2, WAIT_MS);
	arb_test_proc_fini(&q);
	arb_test_proc_fini(&q2);
	wait_out(&p, "root/w event=exit reason=noconnection");
	wait_out(&p, "event=agent_exit sup_node=t70 child=root/v");
	dom = dump_dom(2);
	row_of(dom, "data-remote-child=\"root/w\"", row, sizeof(row));
	assert_null(strstr(row, "data-state=\"running\""));
	assert_null(strstr(dom, "data-sup-node=\"t70\""));
	expect_in(dom, "data-orphans-stopped=\"1\"");
	free(dom);
	get("/metrics", &r);
	expect_in(r.body,
	    "arbor_remote_child_up{path=\"root/w\",node=\"t69\"} 0");
	expect_in(r.body, "arbor_agent_orphans_stopped_total 1");
	expect_in(r.body, "arbor_agent_children 0");
	free(r.body);

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

// wait_readyz polls /readyz until its status is want and its body holds
// needle; returns the body (free it).
static char *
wait_readyz(int want, const char *needle)
{
	http_resp r;
	int64_t   deadline = now_ms() + WAIT_MS;

	for (;;) {
		get("/readyz", &r);
		if (r.status == want && strstr(r.body, needle) != NULL) {
			return r.body;
		}
		if (now_ms() > deadline) {
			fail_msg(
			    "/readyz never answered %d \"%s\"; last: %d %s",
			    want, needle, r.status, r.body);
		}
		free(r.body);
		pause_ms(20);
	}
}

// A permanent child down in backoff, or stopped by an operator, makes the
// node degraded: /readyz 503 with the paths, /api/tree and `arborctl
// status` say so, arbor_node_degraded counts them, the page shows it;
// /healthz (liveness) stays 200; so does a significant child that
// crashed and waits out its backoff.  Temporary and transient children
// that ended are no reason, and a node whose permanent children all run again
// is ready again.
static void
test_readiness_says_degraded_with_the_paths(void **state)
{
	static const char fmt[]
	    = "node: {name: t66d, control: ctl.d/t66.sock, http: "
	      "\"127.0.0.1:%%d\"}\n"
	      "root:\n"
	      "  intensity: 1000\n"
	      "  period: 10s\n"
	      "  children:\n"
	      "    - {name: e, type: echo}\n"
	      "    - name: c\n"
	      "      type: crasher\n"
	      "      backoff: {min: 50ms, max: 100ms}\n"
	      "      config:\n"
	      "        init: fail_if_file\n"
	      "        file: %s\n"
	      "        exit: {on_message: true, reason: error, code: 4}\n"
	      "    - name: t\n"
	      "      type: crasher\n"
	      "      restart: temporary\n"
	      "      config: {exit: {after: 10ms, reason: error}}\n"
	      "    - name: tr\n"
	      "      type: crasher\n"
	      "      restart: transient\n"
	      "      config: {exit: {after: 10ms, reason: normal}}\n"
	      "    - name: s\n"
	      "      supervisor:\n"
	      "        auto_shutdown: any_significant\n"
	      "        intensity: 1000\n"
	      "        period: 10s\n"
	      "        children:\n"
	      "          - name: sc\n"
	      "            type: crasher\n"
	      "            restart: transient\n"
	      "            significant: true\n"
	      "            backoff: {min: 50ms, max: 100ms}\n"
	      "            config:\n"
	      "              init: fail_if_file\n"
	      "              file: %s\n"
	      "              exit: {on_message: true, reason: error}\n";
	arb_test_proc p;
	http_resp     r;
	char          yaml[2048], fail[160], sfail[160], *body;
	FILE         *f;

	(void) state;
	need_binaries();
	snprintf(fail, sizeof(fail), "%s/c.fail", tmpdir);
	snprintf(sfail, sizeof(sfail), "%s/sc.fail", tmpdir);
	snprintf(yaml, sizeof(yaml), fmt, fail, sfail);
	start_node(&p, yaml);
	p.mark = 0;
	arb_test_expect(&p, "root/t event=exit", WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p, "root/tr event=exit reason=normal", WAIT_MS);

	// Every permanent child runs: ready, though two children ended.
	body = wait_readyz(200, "ready\n");
	free(body);
	get("/metrics", &r);
	expect_in(r.body, "arbor_node_ready 1\n");
	expect_in(r.body, "arbor_node_degraded 0\n");
	free(r.body);
	get("/api/tree", &r);
	expect_in(r.body, "\"ready\":true,");
	expect_in(r.body, "\"degraded\":[]");
	free(r.body);

	// root/c crashes and cannot start again (its init fails while the
	// file exists): it waits out its backoff, again and again.
	assert_non_null(f = fopen(fail, "w"));
	fclose(f);
	assert_int_equal(ctl("send", "root/c", "1", "\"die\""), 0);
	body = wait_readyz(503, "degraded: root/c (");
	free(body);
	get("/healthz", &r); // liveness is another question
	assert_int_equal(r.status, 200);
	free(r.body);
	get("/metrics", &r);
	expect_in(r.body, "arbor_node_ready 0\n");
	expect_in(r.body, "arbor_node_degraded 1\n");
	free(r.body);
	get("/api/tree", &r);
	expect_in(r.body, "\"ready\":false,");
	expect_in(r.body, "\"degraded\":[\"root/c\"]");
	free(r.body);
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	expect_in(ctl_out, "  degraded: root/c  live");

	// An operator stops root/e: two down, in start order.
	assert_int_equal(ctl("stop", "root/e", NULL, NULL), 0);
	body = wait_readyz(503, "degraded: root/e (stopped), root/c (");
	free(body);
	get("/metrics", &r);
	expect_in(r.body, "arbor_node_degraded 2\n");
	free(r.body);
	if (have_chromium()) {
		char *dom = dump_dom(3);

		expect_in(dom, "id=\"degraded\"");
		expect_in(dom, "degraded: root/e, root/c</span>");
		free(dom);
	} else {
		print_message("chromium is not installed: the page's "
		              "degraded badge is not rendered\n");
	}

	// Both run again: ready again.
	assert_int_equal(unlink(fail), 0);
	assert_int_equal(ctl("start", "root/e", NULL, NULL), 0);
	body = wait_readyz(200, "ready\n");
	free(body);
	get("/api/tree", &r);
	expect_in(r.body, "\"degraded\":[]");
	free(r.body);

	// A significant child is what its supervisor lives for: transient
	// root/s/sc crashed and cannot start again, the node is degraded.
	assert_non_null(f = fopen(sfail, "w"));
	fclose(f);
	assert_int_equal(ctl("send", "root/s/sc", "1", "\"die\""), 0);
	body = wait_readyz(503, "degraded: root/s/sc (");
	free(body);
	assert_int_equal(unlink(sfail), 0);
	body = wait_readyz(200, "ready\n");
	free(body);
	assert_int_equal(stop_node(&p), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_probes_metrics_and_tree, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_actor_metrics_on_metrics_status_and_tree, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_json_is_utf8_whatever_the_exit_text, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_metrics_and_diag_lines_are_utf8, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_junk_is_answered_counted_and_logged, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_page_draws_the_live_tree_in_chromium, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_page_draws_the_peers_in_chromium, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_page_draws_remote_children_in_chromium, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_peers_on_metrics, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_healthz_reports_a_stuck_loop, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_readiness_says_degraded_with_the_paths, setup, teardown),
};

ARB_TEST_MAIN("integration.http", tests, helpers)
