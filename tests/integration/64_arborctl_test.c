// SPDX-License-Identifier: MIT
// 64_arborctl_test.c -- the operator's side of a running node, driven as
// a user would: `arbor run` on a tree file whose control socket lives in
// the test's temp dir, and the real `arborctl` (status, stop, start,
// restart, send, reload, log-level) run once per command.  Checks OS
// pids in `status --json` to see what was touched and what was not, the
// error messages and exit codes (1 refused, 64 usage, 69 no node, 77
// permission, 78 invalid file), and the socket's permissions.
// SPEC 23, 25.
//
// The binaries are ARBOR_BIN and ARBORCTL_BIN (tests/CMakeLists.txt).
// Helpers "arbor" and "arborctl" exec them with the environment
// assignments given before "--"; "nobody" runs arborctl as uid 65534
// (root only).  Waiting for an effect re-runs `arborctl status --json`
// in a bounded loop with a short poll() between runs; nothing sleeps.

#include "arb_test.h"
#include "tools.h"
#include "probe.h"
#include "httpc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 10000
#define NOBODY  65534

// --- helpers (run in the child) ---------------------------------------------

// h_nobody: arborctl as uid/gid 65534 (needs root).
static int
h_nobody(int argc, char **argv)
{
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0
	    || setuid(NOBODY) != 0) {
		fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
		return 126;
	}
	return h_arborctl(argc, argv);
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
	{ "nobody", h_nobody },
};

// --- test support -----------------------------------------------------------

static char tmpdir[64];
static char sock[160];       // the control socket of the running node
static char out[256 * 1024]; // the last arborctl's stdout and stderr

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t64");
	snprintf(sock, sizeof(sock), "%s/ctl/t64.sock", tmpdir);
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

// write_file writes text as tmpdir/name atomically and returns the path.
static const char *
write_file(char *buf, size_t len, const char *name, const char *text)
{
	return arb_test_write_file(tmpdir, name, text, buf, len);
}

// run_tree starts "arbor run FILE" with env assignments (NULL-ended).
static void
run_tree(arb_test_proc *p, const char *file, const char *const *env)
{
	const char *args[16];
	int         n = 0;

	while (env != NULL && *env != NULL && n < 12) {
		args[n++] = *env++;
	}
	args[n++] = "--";
	args[n++] = "run";
	args[n++] = file;
	args[n] = NULL;
	arb_test_spawn(p, "arbor", args);
}

static int
stop_tree(arb_test_proc *p)
{
	kill(p->pid, SIGTERM);
	return arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS));
}

// ctl_run runs helper with args (NULL-ended, env assignments first, then
// "--", then arborctl's arguments), leaves its output in `out` and
// returns its exit code.
static int
ctl_run(const char *helper, const char *const *args)
{
	arb_test_proc p;
	int           code;

	arb_test_spawn(&p, helper, args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS + 5000));
	snprintf(out, sizeof(out), "%s", p.out);
	arb_test_proc_fini(&p);
	return code;
}

// ctl runs arborctl --socket sock with up to 4 arguments (NULL ends
// them early).
static int
ctl(const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char *args[] = { "--", "--socket", sock, a0, a1, a2, a3, NULL };

	return ctl_run("arborctl", args);
}

static void
pause_ms(int ms)
{
	poll(NULL, 0, ms); // between two bounded polls of the node's state
}

// --- Reading `status --json` ------------------------------------------------

// entry returns the start of path's object in json, or NULL.  Every
// entry's own fields come before its children (docs/operations.md), so
// a field of path is found before the next "path".
static const char *
entry(const char *json, const char *path)
{
	char needle[200];

	snprintf(needle, sizeof(needle), "{\"path\":\"%s\",", path);
	return strstr(json, needle);
}

// field copies the raw JSON value of key in path's entry into buf ("" if
// absent) and returns buf.
static const char *
field(
    const char *json, const char *path, const char *key, char *buf, size_t len)
{
	const char *e = entry(json, path), *next, *v;
	char        needle[64];
	size_t      n;

	buf[0] = '\0';
	if (e == NULL) {
		return buf;
	}
	next = strstr(e + 1, "{\"path\":");
	snprintf(needle, sizeof(needle), "\"%s\":", key);
	v = strstr(e, needle);
	if (v == NULL || (next != NULL && v > next)) {
		return buf;
	}
	v += strlen(needle);
	if (*v == '"') {
		const char *end = v + 1;

		while (*end != '\0' && !(*end == '"' && end[-1] != '\\')) {
			end++;
		}
		n = (size_t) (end - v + 1);
	} else {
		n = strcspn(v, ",}]");
	}
	snprintf(buf, len, "%.*s", (int) n, v);
	return buf;
}

static long
num(const char *json, const char *path, const char *key)
{
	char buf[64];

	field(json, path, key, buf, sizeof(buf));
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

static bool
state_is(const char *json, const char *path, const char *state)
{
	char buf[64], want[64];

	snprintf(want, sizeof(want), "\"%s\"", state);
	return strcmp(field(json, path, "state", buf, sizeof(buf)), want) == 0;
}

// status fetches `status --json` into `out`, failing on a non-zero exit.
static const char *
status(void)
{
	int code = ctl("status", "--json", NULL, NULL);

	if (code != 0) {
		fail_msg("arborctl status --json: exit %d: %s", code, out);
	}
	return out;
}

// await re-reads the tree until every path of the NULL-ended list is in
// state (or, with state NULL, absent), failing after WAIT_MS.
static void
await(const char *state, const char *const *paths)
{
	int64_t deadline = arb_test_now_ms() + WAIT_MS;
	size_t  i;

	for (;;) {
		const char *json = status();

		for (i = 0; paths[i] != NULL; i++) {
			if (state != NULL ? !state_is(json, paths[i], state)
			                  : entry(json, paths[i]) != NULL) {
				break;
			}
		}
		if (paths[i] == NULL) {
			return;
		}
		if (arb_test_now_ms() > deadline) {
			fail_msg("%s is not %s: %s", paths[i],
			    state ? state : "gone", json);
		}
		pause_ms(20);
	}
}

static void
expect_out(const char *needle)
{
	if (strstr(out, needle) == NULL) {
		fail_msg("expected \"%s\" in: %s", needle, out);
	}
}

// count_in is how often needle is in hay.
static int
count_in(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void
expect_mode(const char *path, mode_t type, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true((st.st_mode & S_IFMT) == type);
	if ((st.st_mode & 07777) != mode) {
		fail_msg("%s: mode %04o, expected %04o", path,
		    (unsigned) (st.st_mode & 07777), (unsigned) mode);
	}
}

// --- tests ------------------------------------------------------------------

static const char tree_v1[]
    = "node: {name: t64, control: ctl/t64.sock}\n"
      "root:\n"
      "  intensity: 20\n"
      "  period: 10s\n"
      "  children:\n"
      "    - {name: e, type: echo}\n"
      "    - {name: pe, type: echo, isolation: process, config: {log: true}}\n"
      "    - name: sh\n"
      "      command: [/bin/sh, -c, \"exec sleep 1000\"]\n"
      "    - name: c\n"
      "      type: crasher\n"
      "      isolation: process\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 7, text: "
      "poked}\n";

// v2: e removed, c changed, e2 added; pe and sh untouched.
static const char tree_v2[]
    = "node: {name: t64, control: ctl/t64.sock}\n"
      "root:\n"
      "  intensity: 20\n"
      "  period: 10s\n"
      "  children:\n"
      "    - {name: pe, type: echo, isolation: process, config: {log: true}}\n"
      "    - name: sh\n"
      "      command: [/bin/sh, -c, \"exec sleep 1000\"]\n"
      "    - name: c\n"
      "      type: crasher\n"
      "      isolation: process\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 8, text: again}\n"
      "    - {name: e2, type: echo}\n";

static const char tree_bad[]
    = "node: {name: t64, control: ctl/t64.sock}\n"
      "root:\n"
      "  children:\n"
      "    - {name: pe, type: echo, isolation: process}\n"
      "    - {name: x, type: nosuch}\n";

static const char tree_bad_config[]
    = "node: {name: t64, control: ctl/t64.sock}\n"
      "root:\n"
      "  children:\n"
      "    - {name: pe, type: echo, isolation: process}\n"
      "    - name: c2\n"
      "      config: {type: x, init: sometimes}\n"
      "      type: crasher\n";

static void
test_status_stop_start_restart_send(void **state)
{
	static const char *const all[]
	    = { "root/e", "root/pe", "root/sh", "root/c", NULL };
	static const char *const pe[] = { "root/pe", NULL };
	static const char *const c[] = { "root/c", NULL };
	arb_test_proc            p;
	char                     file[160], dir[200], buf[256];
	const char              *json;
	long                     pe0, sh0, c0, pe1, sh1;
	int64_t                  deadline;
	int                      started;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree_v1);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "event=control_listen", WAIT_MS);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);

	// Owner-only: a 0700 directory created by the node, a 0600 socket.
	snprintf(dir, sizeof(dir), "%s/ctl", tmpdir);
	expect_mode(dir, S_IFDIR, 0700);
	expect_mode(sock, S_IFSOCK, 0600);

	await("running", all);
	json = status();
	assert_non_null(strstr(json, "\"node\":\"t64\""));
	assert_int_equal(num(json, "root/e", "ospid"), 0); // a thread
	field(json, "root/e", "isolation", buf, sizeof(buf));
	assert_string_equal(buf, "\"thread\"");
	pe0 = num(json, "root/pe", "ospid");
	sh0 = num(json, "root/sh", "ospid");
	c0 = num(json, "root/c", "ospid");
	assert_true(pe0 > 0 && sh0 > 0 && c0 > 0);
	assert_int_not_equal(pe0, p.pid);
	assert_int_equal(num(json, "root/c", "restarts"), 0);

	// The text form: one line per child, indented by depth.
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	expect_out("node t64 ");
	expect_out("RESTARTS");
	expect_out("\n  root/pe ");
	expect_out(" thread ");

	// stop: pe is stopped and stays so; nothing else is touched.
	assert_int_equal(ctl("stop", "root/pe", NULL, NULL), 0);
	expect_out("root/pe: stopped");
	json = status();
	assert_true(state_is(json, "root/pe", "stopped"));
	assert_int_equal(num(json, "root/sh", "ospid"), sh0);
	assert_int_equal(num(json, "root/c", "ospid"), c0);
	// A send to what takes no messages says what it is, not "no such
	// running actor" (as for a path that is no child at all).
	assert_int_equal(ctl("send", "root/pe", "1", "{}"), 1);
	expect_out("root/pe is stopped, not running: nothing was sent");
	assert_int_equal(ctl("send", "root/sh", "1", "{}"), 1);
	expect_out("root/sh is an exec child (a program, not an actor): it "
	           "takes no messages");
	assert_int_equal(ctl("send", "root", "1", "{}"), 1);
	expect_out("root is a supervisor, not an actor: it takes no messages");
	assert_int_equal(ctl("send", "root/nope", "1", "{}"), 1);
	expect_out("no such running actor: root/nope");

	// start: a new process for pe.
	assert_int_equal(ctl("start", "root/pe", NULL, NULL), 0);
	expect_out("root/pe: running");
	json = status();
	pe1 = num(json, "root/pe", "ospid");
	assert_true(pe1 > 0);
	assert_int_not_equal(pe1, pe0);
	assert_int_equal(num(json, "root/sh", "ospid"), sh0);

	// restart the exec child: a new process for sh, pe untouched.
	assert_int_equal(ctl("restart", "root/sh", NULL, NULL), 0);
	json = status();
	sh1 = num(json, "root/sh", "ospid");
	assert_true(sh1 > 0);
	assert_int_not_equal(sh1, sh0);
	assert_int_equal(num(json, "root/pe", "ospid"), pe1);
	assert_int_equal(num(json, "root/c", "ospid"), c0);

	// send: JSON becomes a msgpack body the echo logs as it got it.
	assert_int_equal(ctl("send", "root/pe", "7",
	                     "{\"k\": [1, -2, 2.5, \"x\", true, "
	                     "null], \"s\": \"\\u00e9\"}"),
	    0);
	arb_test_expect(&p,
	    "event=msg tag=7 len=24 request=no "
	    "body={\"k\":[1,-2,2.5,\"x\",true,null],\"s\":\"\xc3\xa9\"}",
	    WAIT_MS);
	// Raw UTF-8 in a string goes as it is (2 and 4 bytes).
	assert_int_equal(
	    ctl("send", "root/pe", "8", "\"\xc3\xa9\xf0\x9f\x98\x80\""), 0);
	arb_test_expect(&p,
	    "event=msg tag=8 len=7 request=no "
	    "body=\"\xc3\xa9\xf0\x9f\x98\x80\"",
	    WAIT_MS);
	// ... and a message makes the crasher exit: it is restarted.
	assert_int_equal(ctl("send", "root/c", "1", "\"boom\""), 0);
	arb_test_expect(&p, "root/c event=exit reason=error{code=7", WAIT_MS);
	deadline = arb_test_now_ms() + WAIT_MS;
	for (;;) {
		json = status();
		if (num(json, "root/c", "restarts") == 1
		    && state_is(json, "root/c", "running")) {
			break;
		}
		if (arb_test_now_ms() > deadline) {
			fail_msg("root/c was not restarted: %s", json);
		}
		pause_ms(20);
	}
	assert_true(num(json, "root/c", "ospid") != c0);
	field(json, "root/c", "last_exit", buf, sizeof(buf));
	assert_non_null(strstr(buf, "poked"));
	assert_int_equal(num(json, "root/pe", "ospid"), pe1);
	await("running", c);

	// log-level: at warn the info line of a start is not printed.
	p.mark = 0;
	started = arb_test_count(&p, "root/e event=started");
	assert_int_equal(ctl("log-level", "warn", NULL, NULL), 0);
	expect_out("log level: warn");
	assert_int_equal(ctl("restart", "root/e", NULL, NULL), 0);
	assert_int_equal(ctl("log-level", "info", NULL, NULL), 0);
	// The control line is printed once the level is info again: a
	// marker that everything before it has been read.
	arb_test_expect(&p, "event=control op=log-level level=info", WAIT_MS);
	assert_int_equal(arb_test_count(&p, "root/e event=started"), started);
	assert_int_equal(ctl("restart", "root/e", NULL, NULL), 0);
	arb_test_expect(&p, "root/e event=started", WAIT_MS);
	assert_int_equal(ctl("log-level", "loud", NULL, NULL), 64);
	expect_out("expected error, warn, info or debug");

	// Errors the operator can make.
	assert_int_equal(ctl("stop", "root/x", NULL, NULL), 1);
	expect_out("arborctl: no such child: root/x");
	assert_int_equal(ctl("restart", "root/nope/x", NULL, NULL), 1);
	expect_out("no such child: root/nope/x");
	assert_int_equal(ctl("start", "root/pe", NULL, NULL), 1);
	expect_out("cannot start root/pe: it is running");
	assert_int_equal(ctl("send", "root/x", "1", "{}"), 1);
	expect_out("no such running actor: root/x");
	assert_int_equal(ctl("send", "root/pe", "1", "{\"a\": }"), 64);
	expect_out("JSON: offset 6: expected a JSON value");
	// JSON's strings are UTF-8: the offset is the first byte of the bad
	// sequence (a byte that starts none, an overlong '/' in a key, a
	// surrogate, a sequence cut short); nothing is sent.
	assert_int_equal(ctl("send", "root/pe", "1", "\"ab\xff\""), 64);
	expect_out("send: JSON: offset 3: not UTF-8 (byte 0xff in a string)");
	assert_int_equal(
	    ctl("send", "root/pe", "1", "{\"k\xc0\xaf\": 1}"), 64);
	expect_out("JSON: offset 3: not UTF-8 (byte 0xc0 in a string)");
	assert_int_equal(
	    ctl("send", "root/pe", "1", "[1, \"\xed\xa0\x80\"]"), 64);
	expect_out("JSON: offset 5: not UTF-8 (byte 0xed in a string)");
	assert_int_equal(ctl("send", "root/pe", "1", "\"\xe2\x82\""), 64);
	expect_out("JSON: offset 1: not UTF-8 (byte 0xe2 in a string)");
	assert_int_equal(ctl("send", "root/pe", "4294967295", "1"), 64);
	assert_int_equal(ctl("stop", NULL, NULL, NULL), 64);
	assert_int_equal(ctl("frobnicate", NULL, NULL, NULL), 64);
	expect_out("unknown command frobnicate");
	assert_int_equal(ctl("stop", "--help", NULL, NULL), 0);
	expect_out("usage: arborctl stop");
	await("running", pe);

	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);

	// The node removed its socket: nothing to connect to any more.
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(ctl("status", NULL, NULL, NULL), 69);
	snprintf(
	    buf, sizeof(buf), "cannot connect to %s: no node running", sock);
	expect_out(buf);
}

static void
test_reload_applies_a_diff_and_rejects_an_invalid_file(void **state)
{
	static const char *const v1[]
	    = { "root/e", "root/pe", "root/sh", "root/c", NULL };
	static const char *const v2[]
	    = { "root/pe", "root/sh", "root/c", "root/e2", NULL };
	static const char *const gone[] = { "root/e", NULL };
	arb_test_proc            p;
	char                     file[160], where[220];
	const char              *json;
	long                     pe0, sh0, c0, c1;
	int64_t                  deadline;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree_v1);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	await("running", v1);
	json = status();
	pe0 = num(json, "root/pe", "ospid");
	sh0 = num(json, "root/sh", "ospid");
	c0 = num(json, "root/c", "ospid");

	// A valid change: only the removed, added and changed children are
	// touched.
	write_file(file, sizeof(file), "tree.yaml", tree_v2);
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 0);
	expect_out("reloaded (1 reloads applied so far)");
	arb_test_expect(&p, "event=reload_applied", WAIT_MS);
	await(NULL, gone);
	deadline = arb_test_now_ms() + WAIT_MS;
	for (;;) {
		json = status();
		c1 = num(json, "root/c", "ospid");
		if (c1 > 0 && c1 != c0 && state_is(json, "root/c", "running")
		    && state_is(json, "root/e2", "running")) {
			break;
		}
		if (arb_test_now_ms() > deadline) {
			fail_msg("reload not applied: %s", json);
		}
		pause_ms(20);
	}
	await("running", v2);
	json = status();
	assert_int_equal(num(json, "root/pe", "ospid"), pe0);
	assert_int_equal(num(json, "root/sh", "ospid"), sh0);
	assert_int_equal(num(json, "root", "restarts"), 0);
	assert_non_null(strstr(json, "\"reloads\":1"));

	// node.* settings are read at start only: a reload that changes one
	// is applied but for it, and arborctl says so (it was only in the
	// node's log: `systemctl reload` showed a plain success).
	{
		char renamed[sizeof(tree_v2) + 8];

		snprintf(renamed, sizeof(renamed), "node: {name: t64b,%s",
		    tree_v2 + strlen("node: {name: t64,"));
		write_file(file, sizeof(file), "tree.yaml", renamed);
		assert_int_equal(ctl("reload", NULL, NULL, NULL), 0);
		expect_out("reloaded (2 reloads applied so far)");
		expect_out("arborctl: not applied: node.name changed, read at "
		           "start only (restart the node to apply)");
		write_file(file, sizeof(file), "tree.yaml", tree_v2);
		assert_int_equal(ctl("reload", NULL, NULL, NULL), 0);
		expect_out("reloaded (3 reloads applied so far)");
		assert_null(strstr(out, "not applied"));
	}

	// An invalid file: every problem with FILE:LINE, exit 78, and the
	// tree is exactly as it was.
	write_file(file, sizeof(file), "tree.yaml", tree_bad);
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 78);
	snprintf(where, sizeof(where), "%s:5:", file);
	expect_out(where);
	expect_out("reload rejected, the running tree is unchanged");
	arb_test_expect(&p, "event=reload_rejected", WAIT_MS);
	json = status();
	assert_int_equal(num(json, "root/pe", "ospid"), pe0);
	assert_int_equal(num(json, "root/sh", "ospid"), sh0);
	assert_int_equal(num(json, "root/c", "ospid"), c1);
	assert_true(state_is(json, "root/e2", "running"));
	assert_null(entry(json, "root/x"));
	assert_non_null(strstr(json, "\"reloads\":3"));

	// A config its type's check hook refuses is a problem of the file
	// too: every one, at its key's line and column.
	write_file(file, sizeof(file), "tree.yaml", tree_bad_config);
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 78);
	snprintf(where, sizeof(where),
	    "%s:6:25: config.init: crasher: unknown value \"sometimes\"", file);
	expect_out(where);
	snprintf(where, sizeof(where),
	    "%s:6:16: config.type: crasher: unknown key", file);
	expect_out(where);
	json = status();
	assert_int_equal(num(json, "root/c", "ospid"), c1);
	assert_null(entry(json, "root/c2"));

	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

static void
test_socket_security(void **state)
{
	static const char *const pe[] = { "root/pe", NULL };
	arb_test_proc            p;
	char                     file[160], dir[200], path[220], yaml[512];
	const char *nobody[] = { "--", "--socket", sock, "status", NULL };
	struct stat st;
	FILE       *f;
	const char   *l;
	int           i, refused, folded;
	arb_test_proc burst[21];
	int64_t       t0;
	bool          fast;

	(void) state;
	need_binaries();

	// A directory open to others is refused: exit 78, nothing started.
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(yaml, sizeof(yaml),
	    "node: {control: open/n.sock}\n"
	    "root:\n  children:\n    - {name: e, type: echo}\n");
	write_file(file, sizeof(file), "open.yaml", yaml);
	run_tree(&p, file, NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 78);
	assert_non_null(strstr(p.out, "group and others must have no access"));
	assert_null(strstr(p.out, "event=node_start"));
	arb_test_proc_fini(&p);

	// A path that is not a socket is never replaced.
	assert_int_equal(chmod(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/n.sock", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fclose(f), 0);
	run_tree(&p, file, NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 78);
	assert_non_null(strstr(p.out, "exists and is not a socket"));
	arb_test_proc_fini(&p);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	// Another user is kept out by the directory, and, should the
	// directory be opened up later, by the node's uid check.
	write_file(file, sizeof(file), "tree.yaml", tree_v1);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	await("running", pe);
	if (geteuid() == 0) {
		assert_int_equal(chmod(tmpdir, 0711), 0); // let nobody in
		assert_int_equal(ctl_run("nobody", nobody), 77);
		if (strstr(out, "exec ") != NULL) {
			fail_msg("arborctl can't run as nobody: %s", out);
		}
		expect_out("permission denied");
		snprintf(dir, sizeof(dir), "%s/ctl", tmpdir);
		assert_int_equal(chmod(dir, 0711), 0);
		assert_int_equal(chmod(sock, 0666), 0);
		assert_int_equal(ctl_run("nobody", nobody), 77);
		expect_out("permission denied: uid 65534 may not control this "
		           "node");
		arb_test_expect(
		    &p, "event=control_refused peer_uid=65534", WAIT_MS);
		// The refusal is an arb_log line: 21 more in a burst (at once,
		// in parallel) are folded into a count (they were 22 lines
		// once), printed before the next different line (a log-level
		// change).  Folding needs identical lines within a second: a
		// burst slower than that (a sanitizer on a loaded machine) can
		// only be checked for the sum.
		t0 = arb_test_now_ms();
		for (i = 0; i < 21; i++) {
			arb_test_spawn(&burst[i], "nobody", nobody);
		}
		for (i = 0; i < 21; i++) {
			assert_int_equal(arb_test_exit_code(arb_test_wait_exit(
			                     &burst[i], WAIT_MS + 5000)),
			    77);
			arb_test_proc_fini(&burst[i]);
		}
		fast = arb_test_now_ms() - t0 < 900;
		assert_int_equal(ctl("log-level", "info", NULL, NULL), 0);
		arb_test_expect(&p, "event=control op=log-level", WAIT_MS);
		refused = arb_test_count(&p, "]: warn - event=control_refused ");
		folded  = 0;
		for (l = p.out; (l = strstr(l, "event=repeated count=")) != NULL;
		     l++) {
			if (strstr(l, "control_refused") != NULL &&
			    strstr(l, "control_refused") < strchr(l, '\n')) {
				folded += atoi(l + strlen("event=repeated count="));
			}
		}
		if (!fast) {
			print_message("the burst took over 900 ms: folding not "
			              "checked, only the sum\n");
		}
		if (refused + folded != 22 || (fast && refused > 2)) {
			fail_msg("22 refusals: %d lines, %d folded:\n%s", refused,
			    folded, p.out);
		}
		assert_int_equal(chmod(sock, 0600), 0);
		assert_int_equal(chmod(dir, 0700), 0);
		assert_int_equal(chmod(tmpdir, 0700), 0);
	} else {
		print_message("not root: the other-uid checks are skipped\n");
	}
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);

	// A second node with the same control path can't take it over.
	{
		arb_test_proc p2;

		run_tree(&p2, file, NULL);
		assert_int_equal(
		    arb_test_exit_code(arb_test_wait_exit(&p2, WAIT_MS)), 70);
		assert_non_null(strstr(p2.out,
		    "in use by another running "
		    "node"));
		arb_test_proc_fini(&p2);
	}
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

static void
test_default_socket_path_is_shared(void **state)
{
	static const char yaml[]
	    = "node: {name: t64dflt}\n"
	      "root:\n  children:\n    - {name: e, type: echo}\n";
	arb_test_proc p;
	char          file[160], xdg[200], env[220], path[260];
	const char   *envs[] = { env, NULL };
	const char   *args[]
	    = { env, "--", "--node", "t64dflt", "status", "--json", NULL };

	(void) state;
	need_binaries();
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s", xdg);
	write_file(file, sizeof(file), "dflt.yaml", yaml);
	run_tree(&p, file, envs);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	snprintf(path, sizeof(path), "%s/arbor/t64dflt.sock", xdg);
	expect_mode(path, S_IFSOCK, 0600);
	snprintf(path, sizeof(path), "%s/arbor", xdg);
	expect_mode(path, S_IFDIR, 0700);
	// arborctl finds it from the node's name alone.
	assert_int_equal(ctl_run("arborctl", args), 0);
	expect_out("\"node\":\"t64dflt\"");
	expect_out("{\"path\":\"root/e\",");
	// ... and what is no node name is a usage error that says so, not
	// a look for a socket elsewhere ("no node running", 69).
	{
		static const char *const bad[] = { "", "../arbor/t64dflt",
			"a/b", "t64 dflt",
			"n123456789012345678901234567890123456789012345678901234567890123" };
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			args[3] = bad[i];
			if (ctl_run("arborctl", args) != 64
			    || strstr(out, "expected a node name") == NULL) {
				fail_msg("--node \"%s\": got %s", bad[i], out);
			}
		}
	}
	// --timeout outside 0.1 to 86400 s is a usage error that says so
	// (0.0001 was taken as 1 ms), and a --socket that is no socket (a
	// directory) says that, not "stale socket".
	{
		static const char *const bad[] = { "0.0001", "0.09", "0", "-1",
			"86401", "1x", "nan", "", "0x10", "1e1", " 5" };
		const char *targs[] = { env, "--", "--node", "t64dflt",
			"--timeout", NULL, "status", NULL };
		const char *sargs[] = { "--", "--socket", tmpdir, "status",
			NULL };
		size_t      i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			targs[5] = bad[i];
			if (ctl_run("arborctl", targs) != 64
			    || strstr(out, "expected seconds (0.1 to 86400)")
			        == NULL) {
				fail_msg("--timeout \"%s\": got %s", bad[i], out);
			}
		}
		targs[5] = "86400"; // the bound itself (0.1 could time out)
		assert_int_equal(ctl_run("arborctl", targs), 0);
		assert_int_equal(ctl_run("arborctl", sargs), 69);
		expect_out("not a socket");
	}
	// An empty --socket ("--socket $SOCK", SOCK unset) was taken as no
	// --socket: this node, the default one, answered (exit 0).  A path
	// too long to be a socket said "no node running" (69), and --socket
	// with --node took the later one silently.
	{
		char        lng[200];
		const char *eargs[] = { env, "--", "--socket", "", "status",
			NULL };
		const char *bargs[] = { env, "--", "--node", "t64dflt",
			"--socket", path, "status", NULL };

		assert_int_equal(ctl_run("arborctl", eargs), 64);
		expect_out("--socket \"\": expected the path of a node's "
		           "control socket");
		memset(lng, 'a', sizeof(lng) - 1);
		lng[0]               = '/';
		lng[sizeof(lng) - 1] = '\0';
		eargs[3]             = lng;
		assert_int_equal(ctl_run("arborctl", eargs), 64);
		expect_out("longer than 107 bytes, so no socket");
		snprintf(path, sizeof(path), "%s/arbor/t64dflt.sock", xdg);
		assert_int_equal(ctl_run("arborctl", bargs), 64);
		expect_out("--socket and --node both name the node: give one");
		bargs[2] = "--socket";
		bargs[3] = path;
		bargs[4] = "--node";
		bargs[5] = "t64dflt";
		assert_int_equal(ctl_run("arborctl", bargs), 64);
		expect_out("--socket and --node both name the node: give one");
	}
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// fifo_file replaces file by a FIFO and returns a descriptor that holds
// it open for writing (and reading: a FIFO with a writer that says
// nothing is a file whose read does not end).
static int
fifo_file(const char *file)
{
	char fifo[200];
	int  fd;

	snprintf(fifo, sizeof(fifo), "%s/new.fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(rename(fifo, file), 0);
	return fd;
}

// fd_open_at is true when process pid has path open.
static bool
fd_open_at(pid_t pid, const char *path)
{
	char dir[64], link[300], target[300];
	int  fd;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
	for (fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%d", dir, fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, path) == 0) {
				return true;
			}
		}
	}
	return false;
}

// wait_open waits until process pid has file (a FIFO put there by
// fifo_file) open.
static void
wait_open(pid_t pid, const char *file)
{
	char    real[300];
	int64_t deadline = arb_test_now_ms() + WAIT_MS;

	assert_non_null(realpath(file, real));
	while (!fd_open_at(pid, real)) {
		assert_true(arb_test_now_ms() < deadline);
		pause_ms(10);
	}
}

// fifo_say writes text into the FIFO and closes it: the read ends.  It
// first waits until process reader has file open (reader 0: it is known
// to have it open already): closed before that, the FIFO has neither
// reader nor writer and the kernel drops what was written, so the
// node's read would find it empty (it did, under load, when the node's
// read began after the test had already said its text).
static void
fifo_say(pid_t reader, const char *file, int fd, const char *text)
{
	if (reader > 0) {
		wait_open(reader, file);
	}
	assert_int_equal(
	    write(fd, text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(close(fd), 0);
}

// A reload reads and checks the file on a thread of its own: while a
// read does not end (a FIFO whose writer is silent; an 80 KB file took
// 6 s to parse on the node's loop, long enough for systemd's watchdog),
// the node answers `arborctl status` at once, and a stop does not wait
// for it.  `arborctl reload` gets its answer when the read is done, and
// other arborctl commands are answered while it waits.
static void
test_reload_is_read_off_the_loop(void **state)
{
	static const char v1[] = "node: {name: t64r, control: ctl/t64.sock}\n"
	                         "root:\n  children:\n"
	                         "    - {name: e1, type: echo}\n";
	static const char v2[] = "node: {name: t64r, control: ctl/t64.sock}\n"
	                         "root:\n  children:\n"
	                         "    - {name: e1, type: echo}\n"
	                         "    - {name: e2, type: echo}\n";
	static const char v3[] = "node: {name: t64r, control: ctl/t64.sock}\n"
	                         "root:\n  children:\n"
	                         "    - {name: e1, type: echo}\n"
	                         "    - {name: e3, type: echo}\n";
	arb_test_proc     p, rl;
	const char *rl_args[] = { "--", "--socket", sock, "reload", NULL };
	char        file[160];
	int64_t     t0;
	int         fd;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", v1);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);

	// SIGHUP: the read waits for the FIFO; the node serves meanwhile.
	fd = fifo_file(file);
	kill(p.pid, SIGHUP);
	arb_test_expect(&p, "event=reload_started", WAIT_MS);
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("--timeout", "3", "status", NULL), 0);
	assert_true(arb_test_now_ms() - t0 < 3000);
	expect_out("root/e1");
	fifo_say(p.pid, file, fd, v2);
	arb_test_expect(&p, "event=reload_applied", WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p, "root/e2 event=started", WAIT_MS);

	// arborctl reload: answered once the read is done; other commands
	// are answered meanwhile.
	fd = fifo_file(file);
	arb_test_spawn(&rl, "arborctl", rl_args);
	arb_test_expect(&p, "event=reload_started file=", WAIT_MS);
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("--timeout", "3", "status", NULL), 0);
	assert_true(arb_test_now_ms() - t0 < 3000);
	expect_out("root/e2");
	assert_null(arb_test_try_expect(&rl, "reloaded", 300));
	fifo_say(p.pid, file, fd, v3);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&rl, WAIT_MS)), 0);
	assert_non_null(strstr(rl.out, "reloaded (2 reloads applied so far)"));
	arb_test_proc_fini(&rl);
	p.mark = 0;
	arb_test_expect(&p, "root/e3 event=started", WAIT_MS);

	// A stop while a read waits: the read is cancelled, the node ends.
	fd = fifo_file(file);
	kill(p.pid, SIGHUP);
	p.mark = 0;
	arb_test_expect(&p, "event=reload_started file=", WAIT_MS);
	t0 = arb_test_now_ms();
	assert_int_equal(stop_tree(&p), 0);
	assert_true(arb_test_now_ms() - t0 < 3000);
	assert_int_equal(close(fd), 0);
	arb_test_proc_fini(&p);
}

// reload_answered waits for `arborctl reload` rl to exit 0 with the line
// "reloaded (N reloads applied so far)".
static void
reload_answered(arb_test_proc *p, arb_test_proc *rl, int n)
{
	int  code = arb_test_exit_code(arb_test_wait_exit(rl, WAIT_MS));
	char want[64];

	snprintf(want, sizeof(want), "reloaded (%d reloads applied so far)", n);
	if (code != 0 || strstr(rl->out, want) == NULL) {
		(void) arb_test_try_expect(p, "no such line", 200);
		fail_msg("arborctl reload %d: exit %d: %s\nnode: ...%s", n, code,
		    rl->out, p->out + (p->len > 3000 ? p->len - 3000 : 0));
	}
}

// While one reload reads the file and a second waits for the next read,
// a third is answered ARB_EAGAIN at once ("another reload waits"; arborctl
// retries it until its timeout, then exits 75); the first two are
// answered when their reads are done.
static void
test_third_reload_is_refused(void **state)
{
	static const char v1[] = "node: {name: t64t, control: ctl/t64.sock}\n"
	                         "root:\n  children:\n"
	                         "    - {name: e1, type: echo}\n";
	static const char v2[] = "node: {name: t64t, control: ctl/t64.sock}\n"
	                         "root:\n  children:\n"
	                         "    - {name: e1, type: echo}\n"
	                         "    - {name: e2, type: echo}\n";
	arb_test_proc     p, a, b;
	const char *args[] = { "--", "--socket", sock, "--timeout", "20",
		"reload", NULL };
	char        file[160];
	int64_t     t0;
	int         fd1, fd2;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", v1);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);

	// a: its read waits for a FIFO; b waits for the next read.
	fd1 = fifo_file(file);
	arb_test_spawn(&a, "arborctl", args);
	arb_test_expect(&p, "event=reload_started file=", WAIT_MS);
	wait_open(p.pid, file);
	arb_test_spawn(&b, "arborctl", args);
	arb_test_expect(&p, "event=reload_waits by=control", WAIT_MS);
	// The third: refused, retried by arborctl until its timeout.
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("--timeout", "1", "reload", NULL), 75);
	assert_true(arb_test_now_ms() - t0 < 5000);
	expect_out("another reload waits");
	// b's read will wait for a FIFO of its own.
	fd2 = fifo_file(file);
	fifo_say(0, NULL, fd1, v1); // a's read has it open (above)
	reload_answered(&p, &a, 1);
	fifo_say(p.pid, file, fd2, v2);
	reload_answered(&p, &b, 2);
	arb_test_proc_fini(&a);
	arb_test_proc_fini(&b);
	p.mark = 0;
	arb_test_expect(&p, "root/e2 event=started", WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// --- issue 8: operator actions never take the node down ---------------------

// A tree for the operator's start failures: f fails its init while
// tmpdir/block exists, t is temporary and ends when poked, ti is a
// temporary child that answers ignore.  intensity 1: a second counted
// failure would take the node down.
static const char tree_op[]
    = "node: {name: t64o, control: ctl/t64.sock}\n"
      "root:\n"
      "  intensity: 1\n"
      "  period: 60s\n"
      "  children:\n"
      "    - {name: e, type: echo, isolation: process}\n"
      "    - name: f\n"
      "      type: crasher\n"
      "      isolation: process\n"
      "      config: {init: fail_if_file, file: %s/block}\n"
      "    - name: t\n"
      "      type: crasher\n"
      "      restart: temporary\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 3, text: bye}\n"
      "    - {name: ti, type: crasher, restart: temporary, config: {init: "
      "ignore}}\n"
      "%s";

// The same tree plus g, added by a reload, which fails its init too.
static const char tree_op_g[]
    = "    - name: g\n"
      "      type: crasher\n"
      "      config: {init: fail_if_file, file: %s/block}\n";

static void
write_op_tree(char *file, size_t len, bool with_g)
{
	char g[256] = "", text[2048];

	if (with_g) {
		snprintf(g, sizeof(g), tree_op_g, tmpdir);
	}
	snprintf(text, sizeof(text), tree_op, tmpdir, g);
	write_file(file, len, "tree.yaml", text);
}

static void
block(bool on)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/block", tmpdir);
	if (on) {
		char buf[200];
		arb_test_write_file(tmpdir, "block", "", buf, sizeof(buf));
	} else {
		assert_int_equal(unlink(path), 0);
	}
}

static void
test_operator_start_failure_is_reported(void **state)
{
	static const char *const run[] = { "root/e", "root/f", "root/t", NULL };
	static const char *const t[] = { "root/t", NULL };
	static const char *const g[] = { "root/g", NULL };
	static const char *const ti[] = { "root/ti", NULL };
	arb_test_proc            p;
	char                     file[160];
	const char              *json;
	long                     e0;
	int64_t                  t0;
	int                      i;

	(void) state;
	need_binaries();
	write_op_tree(file, sizeof(file), false);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	await("running", run);
	// A temporary child that answers ignore is dropped (OTP).
	await(NULL, ti);
	e0 = num(status(), "root/e", "ospid");

	// stop is idempotent (OTP's terminate_child answers ok).
	assert_int_equal(ctl("stop", "root/f", NULL, NULL), 0);
	expect_out("root/f: stopped");
	assert_int_equal(ctl("stop", "root/f", NULL, NULL), 0);
	expect_out("root/f: stopped");

	// An operator start that fails: the caller gets the child's reason
	// at once (exit 1, long before the timeout), the tree stays as it
	// was, nothing counts toward intensity (1: a second counted failure
	// would end the node).
	block(true);
	for (i = 0; i < 3; i++) {
		t0 = arb_test_now_ms();
		assert_int_equal(ctl("--timeout", "8", "start", "root/f"), 1);
		assert_true(arb_test_now_ms() - t0 < 6000);
		expect_out("cannot start root/f: its start failed: root/f: ");
		expect_out("init failed on purpose");
		expect_out("it is left stopped");
		json = status();
		assert_true(state_is(json, "root/f", "stopped"));
		assert_int_equal(num(json, "root/f", "restarts"), 0);
		assert_int_equal(num(json, "root/e", "ospid"), e0);
	}
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("--timeout", "8", "restart", "root/f"), 1);
	assert_true(arb_test_now_ms() - t0 < 6000);
	expect_out("cannot restart root/f: its start failed");
	expect_out("init failed on purpose");
	arb_test_expect(&p, "op=restart path=root/f result=ARB_ECHILD", WAIT_MS);
	// --no-wait: queued, answered at once; the failure shows in the log.
	assert_int_equal(ctl("start", "--no-wait", "root/f", NULL), 0);
	expect_out("root/f: start requested");
	arb_test_expect(&p, "root/f event=start_failed", WAIT_MS);
	assert_true(state_is(status(), "root/f", "stopped"));
	assert_int_equal(arb_test_count(&p, "event=give_up"), 0);
	block(false);
	assert_int_equal(ctl("start", "root/f", NULL, NULL), 0);
	expect_out("root/f: running");

	// A temporary child that ended cannot be started: said at once.
	assert_int_equal(ctl("send", "root/t", "1", "\"x\""), 0);
	await("stopped", t);
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("--timeout", "5", "start", "root/t"), 1);
	assert_true(arb_test_now_ms() - t0 < 2000);
	expect_out("cannot start root/t: a temporary child that ended");

	// A reload that adds a child whose start fails: the caller gets the
	// child's reason, the child is not added, the node stays up.
	block(true);
	write_op_tree(file, sizeof(file), true);
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 1);
	expect_out("root/g");
	expect_out("init failed on purpose");
	// The rest of it was applied: arborctl said "not applied".
	expect_out("reload of ");
	expect_out(" applied (1 reloads applied so far), but a child it added "
	           "or changed failed to start");
	assert_null(strstr(out, "not applied"));
	json = status();
	assert_null(entry(json, "root/g"));
	assert_true(state_is(json, "root/f", "running"));
	assert_int_equal(num(json, "root/e", "ospid"), e0);
	// ... SIGHUP alike: nobody to answer, the node logs it and lives.
	p.mark = 0;
	kill(p.pid, SIGHUP);
	arb_test_expect(&p, "root/g event=start_failed", WAIT_MS);
	arb_test_expect(&p, "event=reload_applied", WAIT_MS);
	await(NULL, g);
	assert_int_equal(arb_test_count(&p, "event=give_up"), 0);
	// Once it can start, the reload adds it.
	block(false);
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 0);
	await("running", g);
	assert_int_equal(num(status(), "root/e", "ospid"), e0);

	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// --- issue 8: group restarts follow OTP -------------------------------------

// b fails its init while tmpdir/block exists; a and b end when poked.
static const char tree_group[]
    = "node: {name: t64g, control: ctl/t64.sock}\n"
      "root:\n"
      "  strategy: %s\n"
      "  intensity: 50\n"
      "  period: 60s\n"
      "  children:\n"
      "    - name: a\n"
      "      type: crasher\n"
      "      config:\n"
      "        exit: {on_message: true, reason: error, code: 3, text: a}\n"
      "    - name: b\n"
      "      type: crasher\n"
      "      isolation: process\n"
      "      backoff: {min: %s, max: %s}\n"
      "      config:\n"
      "        init: fail_if_file\n"
      "        file: %s/block\n"
      "        exit: {on_message: true, reason: error, code: 4, text: b}\n"
      "    - {name: c, type: echo, isolation: process}\n";

static void
run_group(arb_test_proc *p, const char *strategy, const char *backoff)
{
	static const char *const all[] = { "root/a", "root/b", "root/c", NULL };
	char text[2048], file[160];

	snprintf(text, sizeof(text), tree_group, strategy, backoff, backoff,
	    tmpdir);
	write_file(file, sizeof(file), "tree.yaml", text);
	run_tree(p, file, NULL);
	arb_test_expect(p, "root event=tree_up", WAIT_MS);
	await("running", all);
	assert_int_equal(arb_test_count(p, "root/c event=started"), 1);
}

// A group restart stops at the first child whose start fails: the ones
// after it are not started (OTP's start_children), not even for a moment.
static void
test_group_restart_stops_at_a_failed_start(void **state)
{
	static const char *const all[] = { "root/a", "root/b", "root/c", NULL };
	arb_test_proc            p;

	(void) state;
	need_binaries();
	run_group(&p, "one_for_all", "300ms");
	block(true);
	assert_int_equal(ctl("send", "root/a", "1", "\"x\""), 0);
	// Three failed starts of b, each retried after its backoff.
	arb_test_expect(&p, "root/b event=start_failed", WAIT_MS);
	arb_test_expect(&p, "root/b event=start_failed", WAIT_MS);
	arb_test_expect(&p, "root/b event=start_failed", WAIT_MS);
	// b waits for its retry (restarting, or starting again once its
	// backoff ran out), never shown stopped; c is down, waiting in the
	// group's restart (restarting; stopped at the moment between a
	// failed start and its retry job).
	assert_false(state_is(status(), "root/b", "stopped"));
	assert_false(state_is(out, "root/b", "running"));
	assert_true(state_is(out, "root/c", "restarting") ||
	    state_is(out, "root/c", "stopped"));
	block(false);
	await("running", all);
	assert_int_equal(stop_tree(&p), 0);
	// c was started once more, after b: never while b was failing.
	assert_int_equal(arb_test_count(&p, "root/c event=started"), 2);
	arb_test_proc_fini(&p);
}

// rest_for_one: an operator's stop of a child in a restart loop ends the
// loop; the children after it are not started.
static void
test_rest_for_one_stop_ends_the_restart_loop(void **state)
{
	static const char *const b[] = { "root/b", NULL };
	arb_test_proc            p;
	int64_t                  deadline;

	(void) state;
	need_binaries();
	run_group(&p, "rest_for_one", "300ms");
	block(true);
	assert_int_equal(ctl("send", "root/b", "1", "\"x\""), 0);
	arb_test_expect(&p, "root/b event=start_failed", WAIT_MS);
	assert_int_equal(ctl("stop", "root/b", NULL, NULL), 0);
	await("stopped", b);
	// Three backoffs' time: no retry of b, no start of c.
	deadline = arb_test_now_ms() + 1000;
	while (arb_test_now_ms() < deadline) {
		const char *json = status();
		if (!state_is(json, "root/b", "stopped") ||
		    state_is(json, "root/c", "running")) {
			fail_msg("after the stop of root/b: %s\nnode: ...%s",
			    json, p.out + (p.len > 3000 ? p.len - 3000 : 0));
		}
		pause_ms(50);
	}
	assert_int_equal(stop_tree(&p), 0);
	assert_int_equal(arb_test_count(&p, "root/c event=started"), 1);
	arb_test_proc_fini(&p);
}

// one_for_one: a child whose restart waits behind another child's restart
// (s, whose READY comes 2 s after its init) shows as restarting, not
// stopped.
static void
test_queued_retry_shows_restarting(void **state)
{
	static const char tree[]
	    = "node: {name: t64q, control: ctl/t64.sock}\n"
	      "root:\n"
	      "  intensity: 10\n"
	      "  period: 60s\n"
	      "  children:\n"
	      "    - name: a\n"
	      "      type: crasher\n"
	      "      config:\n"
	      "        exit: {on_message: true, reason: error, code: 3, text: "
	      "a}\n"
	      "    - name: s\n"
	      "      type: crasher\n"
	      "      config:\n"
	      "        ready: late\n"
	      "        ready_delay: 3s\n"
	      "        exit: {on_message: true, reason: error, code: 4, text: "
	      "s}\n";
	static const char *const all[] = { "root/a", "root/s", NULL };
	static const char *const s[] = { "root/s", NULL };
	arb_test_proc            p;
	char                     file[160];

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	await("running", all);
	assert_int_equal(ctl("send", "root/s", "1", "\"x\""), 0);
	arb_test_expect(&p, "root/s event=exit", WAIT_MS);
	// s's restart is a job that waits 2 s for its READY; a ends
	// meanwhile: its restart is queued behind that job.
	assert_int_equal(ctl("send", "root/a", "1", "\"x\""), 0);
	arb_test_expect(&p, "root/a event=exit", WAIT_MS);
	if (!state_is(status(), "root/s", "running")) {
		assert_true(state_is(out, "root/a", "restarting"));
	}
	await("running", s);
	await("running", all);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// Arguments are checked before the node is asked: bad JSON, a TAG that
// is no tag, a LEVEL that is none are usage errors (64) with no node
// running too, not "no node running" (69); and --timeout does not wait
// for a node to tell a usage error.
static void
test_usage_errors_need_no_node(void **state)
{
	static const char *const waiting[] = { "--", "--socket", sock,
		"--timeout", "60", "send", "root/e", "1", "{", NULL };
	int64_t t0;

	(void) state;
	need_binaries();
	// No node: a command that could run says so.
	assert_int_equal(ctl("send", "root/e", "1", "{}"), 69);
	expect_out("no node running");
	assert_int_equal(ctl("log-level", "warn", NULL, NULL), 69);
	// An empty PATH ("$CHILD" unset) is none: the node is not asked.
	assert_int_equal(ctl("stop", "", NULL, NULL), 64);
	expect_out("stop: PATH \"\": expected a child's path (root/...)");
	assert_int_equal(ctl("start-child", "", "{}", NULL), 64);
	expect_out("start-child: PATH \"\": expected a child's path");
	// A child spec that is not JSON is the node's to judge.
	assert_int_equal(
	    ctl("start-child", "root", "{name: e2, type: echo}", NULL), 69);

	assert_int_equal(ctl("send", "root/e", "1", "{\"a\": }"), 64);
	expect_out("arborctl: send: JSON: offset 6: expected a JSON value");
	assert_int_equal(ctl("send", "root/e", "1", "\"ab\xff\""), 64);
	expect_out("send: JSON: offset 3: not UTF-8 (byte 0xff in a string)");
	assert_int_equal(ctl("send", "root/e", "x1", "1"), 64);
	expect_out("send: TAG \"x1\": expected an integer");
	assert_int_equal(ctl("send", "root/e", "4294901760", "1"), 64);
	// PATH@NODE with a part empty, or NODE no node name: the node is
	// not asked (it would refuse it, exit 1).
	assert_int_equal(ctl("send", "root/e@", "1", "{}"), 64);
	expect_out("send: PATH \"root/e@\": expected PATH or PATH@NODE with "
	           "neither part empty");
	assert_int_equal(ctl("send", "@far", "1", "{}"), 64);
	expect_out("send: PATH \"@far\": expected PATH or PATH@NODE");
	assert_int_equal(ctl("send", "", "1", "{}"), 64);
	expect_out("send: PATH \"\": expected PATH or PATH@NODE");
	assert_int_equal(ctl("send", "root/e@a/b", "1", "{}"), 64);
	expect_out("send: PATH \"root/e@a/b\": NODE after the '@' is not a "
	           "node name");
	assert_int_equal(
	    ctl("start-child", "root/pool", "\"\xff\"", NULL), 64);
	expect_out("start-child: JSON: offset 1: not UTF-8");
	assert_int_equal(ctl("start-child", "root", "{name: \xff}", NULL), 64);
	expect_out("start-child: ARG: offset 7: not UTF-8 (byte 0xff;");
	assert_int_equal(ctl("log-level", "loud", NULL, NULL), 64);
	expect_out("log-level: \"loud\": expected error, warn, info or debug");
	assert_null(strstr(out, "no node running"));

	// --timeout 60 waits for a node that is starting up, but not to
	// say that its JSON is bad (ctl_run gives it 15 s).
	t0 = arb_test_now_ms();
	assert_int_equal(ctl_run("arborctl", waiting), 64);
	expect_out("arborctl: send: JSON: offset 1: ");
	assert_null(strstr(out, "waiting for it"));
	assert_true(arb_test_now_ms() - t0 < WAIT_MS + 5000);
}

// start-child adds a child to a simple_one_for_one pool, answered once it
// runs (its path) or with its start's reason (nothing added, nothing
// counted toward intensity: 1 here); stop of a pool's child deletes it
// (OTP's terminate_child of a simple_one_for_one child).
static void
test_start_child_of_a_pool(void **state)
{
	static const char tree[]
	    = "node: {name: t64p, control: ctl/t64.sock}\n"
	      "root:\n"
	      "  children:\n"
	      "    - name: pool\n"
	      "      supervisor:\n"
	      "        strategy: simple_one_for_one\n"
	      "        intensity: 1\n"
	      "        period: 60s\n"
	      "        children:\n"
	      "          - {name: w, type: crasher, isolation: process}\n"
	      "    - {name: e, type: echo}\n";
	static const char *const w1[] = { "root/pool/w.1", NULL };
	arb_test_proc            p;
	char                     file[160];
	const char              *json;
	int                      i, kids;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);

	assert_int_equal(ctl("start-child", "root/pool", NULL, NULL), 0);
	expect_out("root/pool/w.1: running");
	assert_true(state_is(status(), "root/pool/w.1", "running"));
	// The JSON is the new child's init argument: this one fails, three
	// times (a counted failure would be over the pool's intensity).
	for (i = 0; i < 3; i++) {
		assert_int_equal(ctl("start-child", "root/pool",
		                     "{\"init\": \"fail\"}", NULL),
		    1);
		expect_out("cannot start a child of root/pool: its start "
		           "failed: root/pool/w.");
		expect_out("init failed on purpose");
		expect_out("it is not added");
	}
	json = status();
	assert_null(entry(json, "root/pool/w.2"));
	assert_true(state_is(json, "root/pool", "running"));
	assert_true(state_is(json, "root/pool/w.1", "running"));
	// ignore: not kept.
	assert_int_equal(
	    ctl("start-child", "root/pool", "{\"init\": \"ignore\"}", NULL), 1);
	expect_out("answered ignore: it is not kept");
	assert_null(entry(status(), "root/pool/w.5"));
	// Refusals: a static supervisor, no such path, bad JSON.
	assert_int_equal(ctl("start-child", "root/nope", NULL, NULL), 1);
	expect_out("no such supervisor: root/nope");
	assert_int_equal(ctl("start-child", "root/pool", "{\"a\": }", NULL), 64);
	expect_out("start-child: JSON");
	assert_int_equal(ctl("start-child", NULL, NULL, NULL), 64);
	// ARG is UTF-8 text: JSON is refused as send refuses it, other text
	// (a child spec) at the offset of its first bad byte; nothing is
	// asked of the node, nothing started.
	kids = count_in(status(), "{\"path\":\"root/pool/w.");
	assert_int_equal(
	    ctl("start-child", "root/pool", "{\"k\": \"ab\xff\"}", NULL), 64);
	expect_out("arborctl: start-child: JSON: offset 9: not UTF-8 (byte "
	           "0xff in a string)");
	assert_int_equal(ctl("start-child", "root/pool",
	                     "{name: e\xc0\xaf, type: echo}", NULL),
	    64);
	expect_out("arborctl: start-child: ARG: offset 8: not UTF-8 (byte "
	           "0xc0;");
	assert_int_equal(
	    count_in(status(), "{\"path\":\"root/pool/w."), kids);

	// restart of a pool's child is refused (OTP): it stopped it, which
	// deleted it, and said "answered ignore (not kept)", exit 0.
	assert_int_equal(ctl("restart", "root/pool/w.1", NULL, NULL), 1);
	expect_out("cannot restart root/pool/w.1: a simple_one_for_one child "
	           "is not restarted on its own");
	assert_true(state_is(status(), "root/pool/w.1", "running"));

	// stop deletes a pool's child, by its name.
	assert_int_equal(ctl("stop", "root/pool/w.1", NULL, NULL), 0);
	expect_out("root/pool/w.1: stopped and deleted");
	await(NULL, w1);
	assert_int_equal(ctl("start", "root/pool/w.1", NULL, NULL), 1);
	expect_out("no such child: root/pool/w.1");
	assert_int_equal(arb_test_count(&p, "event=give_up"), 0);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// A static supervisor: start-child with a child spec (YAML or JSON,
// checked as the tree file's children are) adds and starts the child, or
// answers with its start's reason and adds nothing; delete-child removes
// a stopped child (OTP's start_child / delete_child).
static void
test_start_and_delete_child_of_a_static_supervisor(void **state)
{
	static const char tree[]
	    = "node: {name: t64s, control: ctl/t64.sock}\n"
	      "root:\n"
	      "  intensity: 1\n"
	      "  period: 60s\n"
	      "  children:\n"
	      "    - {name: e, type: echo}\n"
	      "    - name: pool\n"
	      "      supervisor:\n"
	      "        strategy: simple_one_for_one\n"
	      "        children:\n"
	      "          - {name: w, type: echo}\n";
	static const char *const x[] = { "root/x", NULL };
	arb_test_proc            p;
	char                     file[160], prog[160];
	const char              *json;
	long                     e0;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	e0 = num(status(), "root/e", "ospid");

	// JSON, then YAML (block style): added at the end, running.
	assert_int_equal(ctl("start-child", "root",
	                     "{\"name\": \"x\", \"type\": \"echo\", "
	                     "\"isolation\": \"process\"}",
	                     NULL),
	    0);
	expect_out("root/x: running");
	assert_int_equal(ctl("start-child", "root",
	                     "name: y\ntype: crasher\nconfig:\n  exit: "
	                     "{on_message: true, reason: error, code: 3}\n",
	                     NULL),
	    0);
	expect_out("root/y: running");
	json = status();
	assert_true(state_is(json, "root/x", "running"));
	assert_true(state_is(json, "root/y", "running"));
	assert_int_equal(num(json, "root/e", "ospid"), e0);
	// Checked as the file's children: problems at spec:LINE:COLUMN.
	assert_int_equal(ctl("start-child", "root",
	                     "name: z\ntype: nosuch\n", NULL),
	    78);
	expect_out("spec:2:");
	expect_out("nosuch");
	assert_int_equal(ctl("start-child", "root",
	                     "{\"name\": \"x\", \"type\": \"echo\"}", NULL),
	    78);
	expect_out("root/x");
	// A start that fails: its reason, nothing added, nothing counted.
	assert_int_equal(ctl("start-child", "root",
	                     "{name: f, type: crasher, config: {init: fail}}",
	                     NULL),
	    1);
	expect_out("cannot start root/f: its start failed");
	expect_out("init failed on purpose");
	assert_null(entry(status(), "root/f"));
	assert_int_equal(ctl("start-child", "root", NULL, NULL), 1);
	expect_out("needs the child's spec");
	assert_int_equal(ctl("start-child", "root/pool", "name: w", NULL), 64);
	expect_out("start-child: JSON");
	// A relative path in the spec is the tree file's directory's (as
	// in the file), not the control socket's (ctl/).
	write_file(prog, sizeof(prog), "run.sh", "#!/bin/sh\nexec sleep 60\n");
	assert_int_equal(chmod(prog, 0700), 0);
	if (ctl("start-child", "root",
	        "{name: r, isolation: exec, command: ./run.sh}", NULL)
	    != 0) {
		fail_msg("start-child of ./run.sh: %s", out);
	}
	expect_out("root/r: running");
	// f was not added: its name is free, its failure is not the next
	// start-child's answer (the supervisor's spec kept it, and each
	// start-child started it again).
	assert_int_equal(ctl("start-child", "root", "{name: f, type: echo}",
	                     NULL),
	    0);
	expect_out("root/f: running");
	arb_test_expect(&p, "root/f event=started", WAIT_MS);
	assert_int_equal(arb_test_count(&p, "root/f event=start_failed"), 1);

	// delete-child: only a stopped child; not a pool's.
	assert_int_equal(ctl("delete-child", "root/x", NULL, NULL), 1);
	expect_out("it is not stopped");
	assert_int_equal(ctl("stop", "root/x", NULL, NULL), 0);
	assert_int_equal(ctl("delete-child", "root/x", NULL, NULL), 0);
	expect_out("root/x: deleted");
	await(NULL, x);
	assert_int_equal(ctl("start-child", "root/pool", NULL, NULL), 0);
	assert_int_equal(ctl("delete-child", "root/pool/w.1", NULL, NULL), 1);
	expect_out("simple_one_for_one child");
	assert_int_equal(ctl("delete-child", "root/nope", NULL, NULL), 1);
	expect_out("no such child: root/nope");
	// A reload applies the file again: y, not in it, goes.
	assert_int_equal(ctl("reload", NULL, NULL, NULL), 0);
	assert_null(entry(status(), "root/y"));
	assert_int_equal(num(out, "root/e", "ospid"), e0);
	assert_int_equal(arb_test_count(&p, "event=give_up"), 0);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// --timeout bounds the whole command: a restart answered ARB_EAGAIN while
// s's restart is under way (about 2 s here), then accepted and waited for
// (b's READY comes 10 s after its init), ends at --timeout (5 s) with exit
// 75, not at the retries' time plus a whole timeout more (7 s).  What
// arborctl costs around its command (its start, its end: 1-1.5 s under
// TSan) is measured in the same run with a status and taken off.
static void
test_timeout_bounds_the_whole_command(void **state)
{
	static const char tree[]
	    = "node: {name: t64w, control: ctl/t64.sock}\n"
	      "root:\n"
	      "  intensity: 10\n"
	      "  period: 60s\n"
	      "  children:\n"
	      "    - name: s\n"
	      "      type: crasher\n"
	      "      config:\n"
	      "        ready: late\n"
	      "        ready_delay: 2s\n"
	      "        exit: {on_message: true, reason: error, code: 4, text: "
	      "s}\n"
	      "    - name: b\n"
	      "      type: crasher\n"
	      "      start_timeout: 20s\n"
	      "      config: {ready: late, ready_delay: 10s}\n";
	static const char *const all[] = { "root/s", "root/b", NULL };
	arb_test_proc            p;
	char                     file[160];
	int64_t                  t0, took, cost;
	int                      code;

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", tree);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", 2 * WAIT_MS); // 3 + 10 s
	await("running", all);
	t0 = arb_test_now_ms();
	assert_int_equal(ctl("status", NULL, NULL, NULL), 0);
	cost = arb_test_now_ms() - t0;
	assert_int_equal(ctl("send", "root/s", "1", "\"x\""), 0);
	arb_test_expect(&p, "root/s event=exit", WAIT_MS);
	t0 = arb_test_now_ms();
	code = ctl("--timeout", "5", "restart", "root/b");
	took = arb_test_now_ms() - t0;
	if (code != 75 || took - cost >= 6000) {
		fail_msg("arborctl --timeout 5 restart: exit %d after %lld ms "
		         "(a status took %lld ms): %s",
		    code, (long long) took, (long long) cost, out);
	}
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// arborctl send NAME@NODE says why nothing was sent: an empty part, a
// node that is not a peer, a peer whose link is down (SPEC 31).
static void
test_send_to_another_node_says_why(void **state)
{
	static const char *const w[] = { "root/w", NULL };
	arb_test_proc            p;
	char                     tree[512], file[160];

	(void) state;
	need_binaries();
	// "far" is listed but never runs: its port has no listener.
	snprintf(tree, sizeof(tree),
	    "node: {name: t64n, control: ctl/t64.sock, insecure: true,\n"
	    "       listen: \"tcp://127.0.0.1:%d\",\n"
	    "       peers: [{name: far, url: \"tcp://127.0.0.1:%d\"}]}\n"
	    "root:\n"
	    "  children:\n"
	    "    - {name: w, type: echo}\n",
	    arb_test_free_port(), arb_test_free_port());
	write_file(file, sizeof(file), "tree.yaml", tree);
	run_tree(&p, file, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	await("running", w);
	assert_int_equal(ctl("send", "root/w@t64n", "1", "{}"), 0);
	assert_int_equal(ctl("send", "root/w@far", "1", "{}"), 1);
	expect_out("root/w@far: node far is ");
	expect_out("nothing was sent");
	assert_int_equal(ctl("send", "root/w@gw9", "1", "{}"), 1);
	expect_out("root/w@gw9: gw9 is not a peer of node t64n");
	assert_int_equal(ctl("send", "root/x@t64n", "1", "{}"), 1);
	expect_out("no such running actor: root/x@t64n");
	// The node's error text quotes the path: its control bytes and
	// bytes that are not UTF-8 come back as \xNN, one line of UTF-8.
	assert_int_equal(
	    ctl("send", "root/\xff\nx\xe2\x82@t64n", "1", "{}"), 1);
	expect_out(
	    "arborctl: no such running actor: root/\\xff\\x0ax\\xe2\\x82"
	    "@t64n\n");
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

// arborctl --timeout waits for a node that is starting up (its control
// socket not there yet) within the timeout; without --timeout, no node
// is an error at once, as is a node that never came within the timeout.
static void
test_timeout_waits_for_a_starting_node(void **state)
{
	static const char yaml[]
	    = "node: {name: t64w, control: ctl/t64.sock}\n"
	      "root:\n"
	      "  children:\n"
	      "    - {name: e, type: echo}\n";
	const char *args[]
	    = { "--", "--socket", sock, "--timeout", "5", "status", NULL };
	arb_test_proc c, p;
	char          file[160];

	(void) state;
	need_binaries();
	write_file(file, sizeof(file), "tree.yaml", yaml);
	// No --timeout: no node running, at once.
	assert_int_equal(ctl("status", NULL, NULL, NULL), 69);
	expect_out("no node running");
	assert_null(strstr(out, "waiting"));
	// Started before the node, arborctl waits for it.
	arb_test_spawn(&c, "arborctl", args);
	arb_test_expect(&c, "yet: waiting for it (--timeout 5 s)", WAIT_MS);
	run_tree(&p, file, NULL);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&c, WAIT_MS)), 0);
	if (strstr(c.out, "root/e") == NULL) {
		fail_msg("no root/e in: %s", c.out);
	}
	arb_test_proc_fini(&c);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
	// A node that does not come: 69 at the timeout, saying so.
	assert_int_equal(ctl("--timeout", "1", "status", NULL), 69);
	expect_out("no node running (none came up within the timeout)");
}

// A socket that takes the connection but never answers (a node stopped
// with SIGSTOP, or hung) is said as such within --timeout, not as
// "cannot connect to ...: Timed out".
static void
test_a_node_that_does_not_answer(void **state)
{
	struct sockaddr_un a;
	char               path[160];
	int                fd;
	int64_t            t0;
	const char        *args[] = { "--", "--socket", path, "--timeout",
		       "0.5", "status", NULL };

	(void) state;
	need_binaries();
	snprintf(path, sizeof(path), "%s/hung.sock", tmpdir);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0); // never accepted, never answered
	t0 = arb_test_now_ms();
	assert_int_equal(ctl_run("arborctl", args), 69);
	expect_out("hung.sock: the node took the connection but did not "
	           "answer within 0.5 s (is it stopped or hung?)");
	assert_true(arb_test_now_ms() - t0 < WAIT_MS);
	close(fd);
}

// A socket that is not a control socket and sends junk (part of a
// frame, or a whole wrong one), or closes at once, is said as such, not
// "Connection shutdown".
static void
test_a_socket_that_is_not_a_control_socket(void **state)
{
	static const struct {
		const char *junk;
		const char *want;
	} cases[] = {
		{ "hi\n",
		    "junk.sock: not an arbor control socket (unexpected "
		    "reply; or another version of its protocol)" },
		{ "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
		    "junk.sock: not an arbor control socket (unexpected "
		    "reply; or another version of its protocol)" },
		{ "",
		    "junk.sock: took the connection and closed it without a "
		    "reply (not an arbor control socket, or a node that is "
		    "stopping?)" },
	};
	struct sockaddr_un a;
	struct pollfd      pf;
	arb_test_proc      p;
	char               path[160], hello[512];
	int                fd, cfd, code;
	size_t             i;
	const char        *args[]
	    = { "--", "--socket", path, "--timeout", "5", "status", NULL };

	(void) state;
	need_binaries();
	snprintf(path, sizeof(path), "%s/junk.sock", tmpdir);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		arb_test_spawn(&p, "arborctl", args);
		pf = (struct pollfd) { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		assert_true(cfd >= 0);
		// Its HELLO read first: a close with unread data is a reset.
		pf = (struct pollfd) { .fd = cfd, .events = POLLIN };
		assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
		assert_true(read(cfd, hello, sizeof(hello)) > 0);
		assert_int_equal(
		    write(cfd, cases[i].junk, strlen(cases[i].junk)),
		    (ssize_t) strlen(cases[i].junk));
		close(cfd);
		code = arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS));
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		assert_int_equal(code, 69);
		if (strstr(out, cases[i].want) == NULL
		    || strstr(out, "Connection shutdown") != NULL) {
			fail_msg("case %zu: want \"%s\", got:\n%s", i,
			    cases[i].want, out);
		}
	}
	close(fd);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_start_and_delete_child_of_a_static_supervisor, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_start_child_of_a_pool, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_usage_errors_need_no_node, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_operator_start_failure_is_reported, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_group_restart_stops_at_a_failed_start, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_rest_for_one_stop_ends_the_restart_loop, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_queued_retry_shows_restarting, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_timeout_bounds_the_whole_command, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_status_stop_start_restart_send, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_reload_is_read_off_the_loop, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_third_reload_is_refused, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_reload_applies_a_diff_and_rejects_an_invalid_file, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(test_socket_security, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_default_socket_path_is_shared, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_send_to_another_node_says_why, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_timeout_waits_for_a_starting_node, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_a_node_that_does_not_answer, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_a_socket_that_is_not_a_control_socket, setup, teardown),
};

ARB_TEST_MAIN("integration.arborctl", tests, helpers)
