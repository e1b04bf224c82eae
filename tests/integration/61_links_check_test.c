// SPDX-License-Identifier: MIT
// 61_links_check_test.c -- `arbor check` on the node-link keys of a tree
// file (docs/config.md, "Node links"; SPEC 31, issue 12): node.listen,
// node.peers, node.cookie, node.insecure, node.tls, node.heartbeat.
//
// Each broken file must exit 78 with "FILE:LINE:" at the offending key or
// value and the field named.  Authentication is on by default: a file
// that opens a TCP listener (or dials a peer) over plain tcp:// without a
// cookie file that auth.c accepts (owner-only permissions, 16 bytes at
// least), or TLS, is refused unless it says `insecure: true`.  TLS files
// are checked as the node will load them (real certificates made with
// openssl by the test).  The real binary (ARBOR_BIN) runs as a
// child with HOME and XDG_CONFIG_HOME pointing into the test's own
// directory, so the default cookie file is the test's.

#include "arb_test.h"
#include "tools.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
};

static char tmpdir[64];
static char home_env[128]; // "HOME=<tmpdir>"

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t61");
	snprintf(home_env, sizeof(home_env), "HOME=%s", tmpdir);
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
need_arbor(void)
{
#ifndef ARBOR_BIN
	skip();
#endif
}

// write_file writes text as tmpdir/name with mode and returns the path.
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[8][160];
	static int  k;
	const char *p = arb_test_write_file(
	    tmpdir, name, text, path[k++ % 8], sizeof(path[0]));

	assert_int_equal(chmod(p, mode), 0);
	return p;
}

// check runs `arbor check file` (or `arbor run` when run) with HOME in
// tmpdir and XDG_CONFIG_HOME as given ("" = unset for arbor: not
// absolute), and returns its exit code; p keeps the output.
static int
check(arb_test_proc *p, const char *file, const char *xdg, bool run)
{
	char        xdg_env[160];
	const char *args[] = { home_env, xdg_env, "--", run ? "run" : "check",
		file, NULL };

	snprintf(xdg_env, sizeof(xdg_env), "XDG_CONFIG_HOME=%s", xdg);
	arb_test_spawn(p, "arbor", args);
	return arb_test_exit_code(arb_test_wait_exit(p, 10000));
}

// has_problem is true when a line of out holds "<file>:<line>:" followed
// by " <field>: " and, when also is not NULL, also.
static bool
has_problem(const char *out, const char *file, int line, const char *field,
    const char *also)
{
	char        where[256], what[96];
	const char *l, *eol, *f;

	snprintf(where, sizeof(where), "%s:%d:", file, line);
	snprintf(what, sizeof(what), " %s: ", field);
	for (l = out; (l = strstr(l, where)) != NULL; l = eol) {
		eol = strchr(l, '\n');
		if (eol == NULL) {
			eol = l + strlen(l);
		}
		f = strstr(l, what);
		if (f != NULL && f < eol
		    && (also == NULL
		        || (strstr(f, also) != NULL && strstr(f, also) < eol))) {
			return true;
		}
	}
	return false;
}

// problems returns N of "arbor: FILE: N problem(s)", 0 when absent.
static int
problems(const char *out)
{
	const char *s = strstr(out, " problem");
	int         n = 0;

	while (s != NULL && s > out && s[-1] >= '0' && s[-1] <= '9') {
		s--;
	}
	if (s != NULL && sscanf(s, "%d", &n) != 1) {
		n = 0;
	}
	return n;
}

// is_ok is true when `arbor check` said the file is valid.
static bool
is_ok(const char *out, const char *file)
{
	char want[256];

	snprintf(want, sizeof(want), "%s: ok\n", file);
	return strstr(out, want) != NULL && problems(out) == 0;
}

// want_ok runs `arbor check` on file (XDG_CONFIG_HOME xdg) and fails the
// test, naming what, unless it exits 0 saying "<file>: ok" with no
// problem.
static void
want_ok(const char *what, const char *file, const char *xdg)
{
	arb_test_proc p;
	char          out[8192];
	bool          ok;

	ok = check(&p, file, xdg, false) == 0 && is_ok(p.out, file);
	snprintf(out, sizeof(out), "%s", p.out);
	arb_test_proc_fini(&p);
	if (!ok) {
		fail_msg("%s: want exit 0 and \"%s: ok\"; got:\n%s", what,
		    file, out);
	}
}

// want_problem runs `arbor check` on file (XDG_CONFIG_HOME xdg): it must
// exit ARB_EXIT_CONFIG, and fails the test, naming what, unless a line
// says "<file>:<line>: ... <field>: ..." holding also (NULL: anything).
static void
want_problem(const char *what, const char *file, const char *xdg, int line,
    const char *field, const char *also)
{
	arb_test_proc p;
	char          out[8192];
	bool          ok;

	assert_int_equal(check(&p, file, xdg, false), ARB_EXIT_CONFIG);
	ok = has_problem(p.out, file, line, field, also);
	snprintf(out, sizeof(out), "%s", p.out);
	arb_test_proc_fini(&p);
	if (!ok) {
		fail_msg("%s: want %s:%d: %s: ...%s; got:\n%s", what, file,
		    line, field, also != NULL ? also : "", out);
	}
}

// --- broken files -----------------------------------------------------------

typedef struct broken {
	const char *name;
	const char *yaml;
	int         line;
	const char *field;
	const char *also;
} broken;

#define NODE_HEAD "node:\n  name: gw1\n  insecure: true\n"

static const broken cases[] = {
	{ "listen_scheme",
	    NODE_HEAD "  listen: udp://127.0.0.1:7400\nroot: {}\n", 4,
	    "node.listen", "expected tcp://HOST:PORT or tls+tcp://" },
	{ "listen_no_port", NODE_HEAD "  listen: tcp://127.0.0.1\nroot: {}\n",
	    4, "node.listen", "no :PORT" },
	{ "listen_port_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:70000\nroot: {}\n", 4,
	    "node.listen", "1 to 65535" },
	{ "listen_port_zero",
	    NODE_HEAD "  listen: tcp://127.0.0.1:0\nroot: {}\n", 4,
	    "node.listen", "1 to 65535" },
	{ "listen_bad_ipv4",
	    NODE_HEAD "  listen: tcp://300.0.0.1:7400\nroot: {}\n", 4,
	    "node.listen", "not an IPv4 address" },
	{ "listen_bad_ipv6",
	    NODE_HEAD "  listen: tcp://[::zz]:7400\nroot: {}\n", 4,
	    "node.listen", "not an IPv4 address" },
	{ "listen_not_this_machine", // TEST-NET-1: on no machine
	    NODE_HEAD "  listen: tcp://192.0.2.77:7400\nroot: {}\n", 4,
	    "node.listen", "not an address of this machine" },
	{ "listen_not_a_string", NODE_HEAD "  listen: [a]\nroot: {}\n", 4,
	    "node.listen", NULL },
	{ "peers_not_a_list", NODE_HEAD "  peers: {name: gw2}\nroot: {}\n", 4,
	    "node.peers", "expected a list of peers" },
	{ "peer_not_a_mapping", NODE_HEAD "  peers: [gw2]\nroot: {}\n", 4,
	    "node.peers[0]", "each peer is a mapping" },
	{ "peer_missing_url",
	    NODE_HEAD "  peers:\n    - name: gw2\nroot: {}\n", 5,
	    "node.peers[0].url", "missing" },
	{ "peer_missing_name",
	    NODE_HEAD "  peers:\n    - url: tcp://127.0.0.1:7401\nroot: {}\n",
	    5, "node.peers[0].name", "missing" },
	{ "peer_unknown_key",
	    NODE_HEAD "  peers:\n    - name: gw2\n      url: tcp://h:1\n"
	              "      port: 9\nroot: {}\n",
	    7, "node.peers[0].port", "unknown key" },
	{ "peer_bad_name",
	    NODE_HEAD "  peers:\n    - {name: gw@2, url: \"tcp://h:1\"}\n"
	              "root: {}\n",
	    5, "node.peers[0].name", "1 to 63 characters" },
	{ "peer_own_name",
	    NODE_HEAD "  peers:\n    - {name: gw1, url: \"tcp://h:1\"}\n"
	              "root: {}\n",
	    5, "node.peers[0].name", "this node's own name" },
	{ "peer_default_own_name",
	    "node:\n  insecure: true\n  peers:\n"
	    "    - {name: arbor, url: \"tcp://h:1\"}\nroot: {}\n",
	    4, "node.peers[0].name", "this node's own name" },
	{ "peer_duplicate",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "    - {name: gw2, url: \"tcp://h:2\"}\nroot: {}\n",
	    6, "node.peers[1].name",
	    "duplicate peer \"gw2\" (also at line 5)" },
	// A node that dials its own listener is refused by it for ever (its
	// name is no peer's there); two peers at one address: one is wrong.
	{ "peer_own_listener",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n  peers:\n"
	              "    - {name: gw2, url: \"tcp://127.0.0.1:7400\"}\n"
	              "root: {}\n",
	    6, "node.peers[0].url", "this node's own listener" },
	{ "peer_own_listener_any_address",
	    NODE_HEAD "  listen: tcp://0.0.0.0:7400\n  peers:\n"
	              "    - {name: gw2, url: \"tcp://127.0.0.1:7401\"}\n"
	              "    - {name: gw3, url: \"tcp://localhost:7400\"}\n"
	              "root: {}\n",
	    7, "node.peers[1].url", "this node's own listener" },
	// The listener under another name: localhost is 127.0.0.1 (or
	// [::1]); 127.0.0.2 is another address.
	{ "peer_own_listener_as_localhost",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n  peers:\n"
	              "    - {name: gw2, url: \"tcp://127.0.0.2:7400\"}\n"
	              "    - {name: gw3, url: \"tcp://LocalHost:7400\"}\n"
	              "root: {}\n",
	    7, "node.peers[1].url", "this node's own listener" },
	{ "peer_own_listener_as_address",
	    NODE_HEAD "  listen: tcp://localhost:7400\n  peers:\n"
	              "    - {name: gw2, url: \"tcp://[::1]:7400\"}\n"
	              "root: {}\n",
	    6, "node.peers[0].url", "this node's own listener" },
	// node.http on the listener's port: `arbor run` would stop at once
	// (its HTTP bind fails); the check names both.
	{ "listen_on_http_port",
	    NODE_HEAD
	    "  http: 127.0.0.1:7400\n  listen: tcp://127.0.0.1:7400\n"
	    "root: {}\n",
	    5, "node.listen", "node.http (line 4) serves on 127.0.0.1:7400" },
	{ "listen_any_on_http_port",
	    NODE_HEAD "  http: 7400\n  listen: tcp://:7400\n"
	              "root: {}\n",
	    5, "node.listen", "node.http (line 4) serves on 127.0.0.1:7400" },
	// A pair of nodes needs both directions: a peer sends on the
	// stream it dials here.
	{ "peers_without_listen",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "root: {}\n",
	    4, "node.peers", "needs node.listen" },
	{ "peer_url_twice",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "    - {name: gw3, url: \"tls+tcp://H:1\"}\n"
	              "root: {}\n",
	    6, "node.peers[1].url",
	    "peer \"gw2\" (line 5) listens there already" },
	{ "peer_url_twice_as_localhost",
	    NODE_HEAD
	    "  peers:\n    - {name: gw2, url: \"tcp://localhost:1\"}\n"
	    "    - {name: gw3, url: \"tcp://127.0.0.1:1\"}\n"
	    "root: {}\n",
	    6, "node.peers[1].url",
	    "peer \"gw2\" (line 5) listens there already" },
	{ "peer_url_no_host",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://:7400\"}\n"
	              "root: {}\n",
	    5, "node.peers[0].url", "no host" },
	{ "peer_url_scheme",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"ipc:///tmp/x\"}\n"
	              "root: {}\n",
	    5, "node.peers[0].url", "expected tcp://HOST:PORT" },
	{ "peer_url_bad_host",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://a_b:1\"}\n"
	              "root: {}\n",
	    5, "node.peers[0].url", "host name" },
	{ "heartbeat_interval_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  heartbeat: {interval: 1ms}\nroot: {}\n",
	    5, "node.heartbeat.interval", "out of range" },
	{ "heartbeat_misses_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  heartbeat:\n    misses: 0\nroot: {}\n",
	    6, "node.heartbeat.misses", "out of range" },
	{ "heartbeat_misses_above_100",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  heartbeat: {misses: 101}\nroot: {}\n",
	    5, "node.heartbeat.misses", "out of range (1 to 100)" },
	// A duration past INT_MAX ms is a duration out of range, not "not a
	// duration".
	{ "heartbeat_interval_huge",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  heartbeat: {interval: 100000h}\nroot: {}\n",
	    5, "node.heartbeat.interval",
	    "100000h is out of range (10 ms to 60000 ms)" },
	{ "heartbeat_unknown_key",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  heartbeat: {every: 1s}\nroot: {}\n",
	    5, "node.heartbeat.every", "unknown key" },
	// Remote children (docs/supervision.md, "Remote children").
	{ "remote_unknown_peer",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - {name: w, type: echo, node: gw3}\n",
	    8, "node", "unknown peer \"gw3\"" },
	// A peer refused at node.peers has no name in the loaded list: a
	// remote child's node: looked it up by strcmp(NULL) and arbor check
	// died of SIGSEGV instead of naming the problem (a peer line copied
	// and its name left unchanged, gw3 meant).
	{ "remote_child_with_duplicate_peer",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "    - {name: gw2, url: \"tcp://h:2\"}\n"
	              "root:\n  children:\n"
	              "    - {name: w, type: echo, node: gw3}\n",
	    6, "node.peers[1].name", "duplicate peer \"gw2\"" },
	{ "remote_child_after_nameless_peer",
	    NODE_HEAD "  peers:\n    - {url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - {name: w, type: echo, node: gw2}\n",
	    8, "node", "unknown peer \"gw2\"" },
	{ "remote_without_peers",
	    "root:\n  children:\n    - name: w\n      type: echo\n"
	    "      node: gw2\n",
	    5, "node", "unknown peer \"gw2\"" },
	{ "remote_alternatives",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "    - {name: gw3, url: \"tcp://h:2\"}\n"
	              "root:\n  children:\n"
	              "    - {name: w, type: echo, node: [gw2, gw3]}\n",
	    9, "node", "a list of alternative nodes is not supported" },
	{ "remote_exec",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - {name: x, command: [/bin/true], node: gw2}\n",
	    8, "node", "only thread and process actors" },
	// A remote subtree (a supervisor with node:): what is inside runs
	// on that node too, by the same rules.
	{ "remote_subtree_exec",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - name: s\n      node: gw2\n      supervisor:\n"
	              "        children:\n"
	              "          - {name: w, type: echo}\n"
	              "          - {name: x, command: [/bin/true]}\n",
	    13, "isolation",
	    "an exec child cannot run under a supervisor on another node "
	    "(gw2)" },
	{ "remote_subtree_other_node",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "    - {name: gw3, url: \"tcp://h:2\"}\n"
	              "root:\n  children:\n"
	              "    - name: s\n      node: gw2\n      supervisor:\n"
	              "        children:\n"
	              "          - name: deep\n            supervisor:\n"
	              "              children:\n"
	              "                - {name: w, type: echo, node: gw3}\n",
	    16, "node", "a child of a supervisor on gw2 runs on gw2" },
	{ "remote_template",
	    NODE_HEAD "  peers:\n    - {name: gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  strategy: simple_one_for_one\n  children:\n"
	              "    - {name: t, type: echo, node: gw2}\n",
	    9, "node", "simple_one_for_one template cannot be remote" },
	{ "orphan_grace_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  orphan_grace: 1ms\nroot: {}\n",
	    5, "node.orphan_grace", "out of range" },
	{ "watch_max_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  watch_max: 0\nroot: {}\n",
	    5, "node.watch_max", "out of range" },
	{ "watch_max_not_a_number",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  watch_max: many\nroot: {}\n",
	    5, "node.watch_max", "" },
	{ "watch_max_without_links", "node:\n  watch_max: 10\nroot: {}\n", 2,
	    "node.watch_max", "no node links use it" },
	{ "max_unproven_range",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  max_unproven: 0\nroot: {}\n",
	    5, "node.max_unproven", "out of range" },
	{ "max_unproven_too_many",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  max_unproven: 65537\nroot: {}\n",
	    5, "node.max_unproven", "out of range" },
	{ "max_unproven_not_a_number",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n"
	              "  max_unproven: many\nroot: {}\n",
	    5, "node.max_unproven", "" },
	{ "max_unproven_without_links",
	    "node:\n  max_unproven: 10\nroot: {}\n", 2, "node.max_unproven",
	    "no node links use it" },
	{ "orphan_grace_without_links",
	    "node:\n  orphan_grace: 1s\nroot: {}\n", 2, "node.orphan_grace",
	    "no node links use it" },
	{ "insecure_not_bool",
	    "node:\n  listen: tcp://127.0.0.1:7400\n  insecure: yes\nroot: "
	    "{}\n",
	    3, "node.insecure", "true or false" },
	{ "link_settings_without_links",
	    "node:\n  heartbeat: {interval: 1s}\nroot: {}\n", 2,
	    "node.heartbeat", "no node links use it" },
	{ "insecure_without_links", "node:\n  insecure: true\nroot: {}\n", 2,
	    "node.insecure", "no node links use it" },
	{ "tls_endpoint_without_tls",
	    NODE_HEAD "  listen: tls+tcp://127.0.0.1:7400\nroot: {}\n", 4,
	    "node.tls", "needs node.tls" },
	{ "tls_missing_ca",
	    NODE_HEAD
	    "  listen: tls+tcp://127.0.0.1:7400\n"
	    "  tls: {cert: /nonexistent/c.pem, key: /nonexistent/k}\n"
	    "root: {}\n",
	    5, "node.tls.ca", "missing" },
	{ "tls_without_tls_endpoint",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n  insecure: true\n"
	              "  tls: {cert: /nonexistent/c.pem, key: /nonexistent/k, "
	              "ca: /nonexistent/ca}\n"
	              "root: {}\n",
	    6, "node.tls", "no tls+tcp:// listener or peer uses it" },
	{ "tls_cert_missing_file",
	    NODE_HEAD "  listen: tls+tcp://127.0.0.1:7400\n"
	              "  tls:\n    cert: /nonexistent/c.pem\n"
	              "    key: /nonexistent/k\n    ca: /nonexistent/ca\n"
	              "root: {}\n",
	    6, "node.tls.cert", "No such file" },
};

static void
test_broken_link_settings_exit_78_with_line_and_field(void **state)
{
	arb_test_proc p;
	size_t        i;
	int           code;
	const char   *file;
	char          out[4096];
	bool          ok;

	(void) state;
	need_arbor();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[80];
		snprintf(name, sizeof(name), "%s.yaml", cases[i].name);
		file = write_file(name, cases[i].yaml, 0600);
		code = check(&p, file, "", false);
		ok = code == ARB_EXIT_CONFIG
		    && has_problem(p.out, file, cases[i].line, cases[i].field,
		        cases[i].also);
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		if (!ok) {
			fail_msg("case %s: exit %d, want 78 and \"%s:%d: ... %s: "
			         "...%s\"; got:\n%s",
			    cases[i].name, code, file, cases[i].line,
			    cases[i].field, cases[i].also ? cases[i].also : "",
			    out);
		}
	}
}

// A node dials at most 64 peers: the 65th is the problem, at its line.
static void
test_at_most_64_peers(void **state)
{
	char        yaml[8192];
	size_t      used;
	const char *file;
	int         i;

	(void) state;
	need_arbor();
	used = (size_t) snprintf(yaml, sizeof(yaml), NODE_HEAD "  peers:\n");
	for (i = 0; i < 65; i++) { // peer i on line 5 + i
		used += (size_t) snprintf(yaml + used, sizeof(yaml) - used,
		    "    - {name: p%d, url: \"tcp://h:%d\"}\n", i, 1000 + i);
	}
	snprintf(yaml + used, sizeof(yaml) - used, "root: {}\n");
	file = write_file("many.yaml", yaml, 0600);
	want_problem("65 peers", file, "", 69, "node.peers",
	    "more than 64 peers");
}

// --- authentication ---------------------------------------------------------

#define COOKIE "0123456789abcdef0123456789abcdef\n"
#define LISTEN "node:\n  name: gw1\n  listen: tcp://127.0.0.1:7400\n"

// A TCP listener without a cookie (none given, no default file) is refused
// at node.listen's line, naming the default file and the three ways out.
static void
test_listener_without_authentication_is_refused(void **state)
{
	arb_test_proc p;
	const char   *file = write_file("noauth.yaml", LISTEN "root: {}\n", 0600);
	char          want[256];

	(void) state;
	need_arbor();
	assert_int_equal(check(&p, file, "", false), ARB_EXIT_CONFIG);
	snprintf(want, sizeof(want), "%s/.arbor.cookie", tmpdir);
	if (!has_problem(p.out, file, 3, "node.cookie", "must authenticate")
	    || strstr(p.out, want) == NULL
	    || strstr(p.out, "node.insecure: true") == NULL
	    || strstr(p.out, "tls+tcp://") == NULL) {
		fail_msg("want %s:3: node.cookie: ... must authenticate ... %s "
		         "...; got:\n%s",
		    file, want, p.out);
	}
	arb_test_proc_fini(&p);

	// Dialling a peer without a listener needs authentication too.
	file = write_file("dialer.yaml",
	    "node:\n  name: gw1\n  peers:\n"
	    "    - {name: c, url: \"tcp://127.0.0.1:7401\"}\nroot: {}\n",
	    0600);
	want_problem("dialer", file, "", 4, "node.cookie",
	    "must authenticate");

	// `insecure: true` says so explicitly: valid.
	file = write_file("insecure.yaml",
	    LISTEN "  insecure: true\nroot: {}\n", 0600);
	want_ok("insecure", file, "");
}

// node.cookie must pass auth.c's checks: owner-only permissions, at least
// 16 bytes; with it, the file is valid (but for links not being built).
static void
test_cookie_file_is_checked(void **state)
{
	const char *file;
	char        yaml[512];

	(void) state;
	need_arbor();
	write_file("good.cookie", COOKIE, 0600);
	write_file("open.cookie", COOKIE, 0644);
	write_file("short.cookie", "tiny\n", 0600);

	snprintf(yaml, sizeof(yaml), LISTEN "  cookie: good.cookie\nroot: {}\n");
	file = write_file("good.yaml", yaml, 0600);
	want_ok("good cookie", file, "");

	snprintf(yaml, sizeof(yaml), LISTEN "  cookie: open.cookie\nroot: {}\n");
	file = write_file("open.yaml", yaml, 0600);
	want_problem("cookie 0644", file, "", 4, "node.cookie",
	    "chmod 600");

	snprintf(yaml, sizeof(yaml), LISTEN "  cookie: short.cookie\nroot: {}\n");
	file = write_file("short.yaml", yaml, 0600);
	want_problem("short cookie", file, "", 4, "node.cookie",
	    "at least 16");

	snprintf(yaml, sizeof(yaml),
	    LISTEN "  cookie: nope.cookie\nroot: {}\n");
	file = write_file("nope.yaml", yaml, 0600);
	want_problem("missing cookie", file, "", 4, "node.cookie",
	    "No such file");

	// Both a cookie and insecure: which one is meant?
	snprintf(yaml, sizeof(yaml),
	    LISTEN "  cookie: good.cookie\n  insecure: true\nroot: {}\n");
	file = write_file("both.yaml", yaml, 0600);
	want_problem("cookie and insecure", file, "", 5, "node.insecure",
	    "remove one");
}

// Without node.cookie the default file is used: $XDG_CONFIG_HOME/arbor/
// cookie when XDG_CONFIG_HOME is set, else ~/.arbor.cookie; each must
// pass the same checks.
static void
test_default_cookie_file(void **state)
{
	const char *file = write_file("dflt.yaml", LISTEN "root: {}\n", 0600);
	char        xdg[128], dir[160];

	(void) state;
	need_arbor();
	write_file(".arbor.cookie", COOKIE, 0640);
	want_problem("~/.arbor.cookie 0640", file, "", 3, "node.cookie",
	    "mode 640");
	assert_int_equal(chmod(write_file(".arbor.cookie", COOKIE, 0600), 0600), 0);
	want_ok("~/.arbor.cookie", file, "");

	// XDG_CONFIG_HOME wins over HOME: its directory has no cookie yet.
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	want_problem("XDG", file, xdg, 3, "node.cookie",
	    "/xdg/arbor/cookie");
	snprintf(dir, sizeof(dir), "%s/arbor", xdg);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(write_file("xdg/arbor/cookie", COOKIE, 0600), 0600),
	    0);
	want_ok("XDG cookie", file, xdg);
}

// make_pki makes, in the test's directory, a CA (ca.pem) and gw1's key
// and certificate signed by it (gw1.key, mode 0600, gw1.pem), and
// other.key / other.pem, a second key pair, with openssl.  False (the
// test skips) without openssl.
static bool
make_pki(void)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && E='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes' && { openssl req -x509 $E -keyout ca.key -out ca.pem "
	    "-days 2 -subj /CN=test-ca && openssl req $E -keyout gw1.key "
	    "-out gw1.csr -subj /CN=gw1 && openssl x509 -req -in gw1.csr "
	    "-CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out gw1.pem "
	    "&& openssl req -x509 $E -keyout other.key -out other.pem "
	    "-days 2 -subj /CN=other && chmod 600 gw1.key other.key; } "
	    ">openssl.log 2>&1",
	    tmpdir);
	return system(cmd) == 0;
}

// tls+tcp:// needs node.tls: PEM files, the private key closed to others,
// and files the node's TLS takes (a key that is its certificate's); TLS
// alone authenticates (no cookie needed).
static void
test_tls_files_are_checked(void **state)
{
	arb_test_proc p;
	const char   *file;
	char          tls[512];
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	                          "-----END CERTIFICATE-----\n";
	static const char yaml[] = "node:\n  name: gw1\n"
	                           "  listen: tls+tcp://127.0.0.1:7400\n"
	                           "  tls:\n"
	                           "    cert: node.pem\n"
	                           "    key: node.key\n"
	                           "    ca: fake-ca.pem\n"
	                           "root: {}\n";

	(void) state;
	need_arbor();
	if (!make_pki()) {
		skip();
	}
	write_file("node.pem", pem, 0644);
	write_file("bad-ca.pem", "not a certificate\n", 0644);
	write_file("node.key", pem, 0644);
	file = write_file("tls.yaml",
	    "node:\n  name: gw1\n  listen: tls+tcp://127.0.0.1:7400\n"
	    "  tls:\n    cert: node.pem\n    key: node.key\n"
	    "    ca: bad-ca.pem\nroot: {}\n",
	    0600);
	assert_int_equal(check(&p, file, "", false), ARB_EXIT_CONFIG);
	if (!has_problem(p.out, file, 6, "node.tls.key", "chmod 600")
	    || !has_problem(p.out, file, 7, "node.tls.ca", "not a PEM file")
	    || problems(p.out) != 2) {
		fail_msg("want node.tls.key (mode) and node.tls.ca (not PEM); "
		         "got:\n%s",
		    p.out);
	}
	arb_test_proc_fini(&p);
	// PEM-shaped files nng cannot take: refused at node.tls.
	write_file("node.key", pem, 0600);
	write_file("fake-ca.pem", pem, 0644);
	file = write_file("tls.yaml", yaml, 0600);
	assert_int_equal(check(&p, file, "", false), ARB_EXIT_CONFIG);
	if (!has_problem(p.out, file, 5, "node.tls",
	        "node.pem: not a certificate")
	    || problems(p.out) != 1) {
		fail_msg("PEM-shaped garbage: want node.tls refused; got:\n%s",
		    p.out);
	}
	arb_test_proc_fini(&p);
	// A certificate and a key that are not a pair: refused, named.
	snprintf(tls, sizeof(tls),
	    "node:\n  name: gw1\n  listen: tls+tcp://127.0.0.1:7400\n"
	    "  tls:\n    cert: gw1.pem\n    key: other.key\n"
	    "    ca: ca.pem\nroot: {}\n");
	file = write_file("pair.yaml", tls, 0600);
	assert_int_equal(check(&p, file, "", false), ARB_EXIT_CONFIG);
	if (!has_problem(p.out, file, 5, "node.tls",
	        "other.key is not the key of the certificate")
	    || problems(p.out) != 1) {
		fail_msg("key of another certificate: want node.tls refused, "
		         "naming the pair; got:\n%s",
		    p.out);
	}
	arb_test_proc_fini(&p);
	// The real thing: accepted, no cookie needed.
	snprintf(tls, sizeof(tls),
	    "node:\n  name: gw1\n  listen: tls+tcp://127.0.0.1:7400\n"
	    "  tls:\n    cert: gw1.pem\n    key: gw1.key\n"
	    "    ca: ca.pem\nroot: {}\n");
	file = write_file("good.yaml", tls, 0600);
	if (check(&p, file, "", false) != 0) {
		fail_msg("good TLS files: want ok; got:\n%s", p.out);
	}
	arb_test_proc_fini(&p);
}

// `arbor run` refuses TLS files the node could not use as `arbor check`
// does, at node.tls, before anything starts -- never run without the
// link it asks for.
static void
test_run_refuses_bad_tls(void **state)
{
	arb_test_proc p;
	const char   *file;

	(void) state;
	need_arbor();
	if (!make_pki()) {
		skip();
	}
	file = write_file("run.yaml",
	    "node:\n  name: gw1\n  listen: tcp://127.0.0.1:7400\n" // 1-3
	    "  insecure: true\n"                                     // 4
	    "  tls: {cert: gw1.pem, key: other.key, ca: ca.pem}\n"   // 5
	    "  peers:\n    - {name: central, url: \"tcp://localhost:7401\"}\n"
	    "    - {name: gw2, url: \"tls+tcp://[::1]:7402\"}\n" // 8
	    "root:\n  children:\n    - {name: e, type: echo}\n",
	    0600);
	assert_int_equal(check(&p, file, "", true), ARB_EXIT_CONFIG);
	if (!has_problem(p.out, file, 5, "node.tls",
	        "other.key is not the key of the certificate")
	    || problems(p.out) != 1
	    || strstr(p.out, "nothing was started") == NULL
	    || strstr(p.out, "event=") != NULL) {
		fail_msg("want node.tls refused, nothing started; got:\n%s",
		    p.out);
	}
	arb_test_proc_fini(&p);
}

// A nested supervisor with node: (a remote subtree, docs/supervision.md)
// is valid, with nested supervisors of its own and a child naming the
// same node again (redundant, allowed).
static void
test_remote_subtree_is_valid(void **state)
{
	const char *file;

	(void) state;
	need_arbor();
	file = write_file("subtree.yaml",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n  peers:\n    - {name: "
	              "gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - name: s\n      node: gw2\n      supervisor:\n"
	              "        strategy: rest_for_one\n"
	              "        intensity: 3\n        period: 10s\n"
	              "        children:\n"
	              "          - {name: w, type: echo, isolation: process}\n"
	              "          - {name: v, type: echo, node: gw2}\n"
	              "          - name: deep\n            supervisor:\n"
	              "              children:\n"
	              "                - {name: t, type: echo}\n",
	    0600);
	want_ok("subtree", file, "");
}

// A simple_one_for_one pool may be remote (issue 12, docs/multinode.md
// "Remote pools"): the remote child itself, or one inside a remote
// subtree; its children are started by start_child calls its node's agent
// relays.  (Its template still cannot name a node: remote_template.)
static void
test_remote_pool_is_valid(void **state)
{
	const char *file;

	(void) state;
	need_arbor();
	file = write_file("pool.yaml",
	    NODE_HEAD "  listen: tcp://127.0.0.1:7400\n  peers:\n    - {name: "
	              "gw2, url: \"tcp://h:1\"}\n"
	              "root:\n  children:\n"
	              "    - name: pool\n      node: gw2\n      supervisor:\n"
	              "        strategy: simple_one_for_one\n"
	              "        children:\n"
	              "          - {name: w, type: echo, isolation: process}\n"
	              "    - name: s\n      node: gw2\n      supervisor:\n"
	              "        children:\n"
	              "          - name: inner\n            supervisor:\n"
	              "              strategy: simple_one_for_one\n"
	              "              children:\n"
	              "                - {name: t, type: echo}\n",
	    0600);
	want_ok("pool", file, "");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_remote_subtree_is_valid, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_remote_pool_is_valid, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_broken_link_settings_exit_78_with_line_and_field, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_at_most_64_peers, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_listener_without_authentication_is_refused, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_cookie_file_is_checked, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_default_cookie_file, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_tls_files_are_checked, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_run_refuses_bad_tls, setup, teardown),
};

ARB_TEST_MAIN("integration.links_check", tests, helpers)
