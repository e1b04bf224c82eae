// SPDX-License-Identifier: MIT
// 60_arbor_check_test.c -- `arbor check` and the command line of the arbor
// program, driven as a user would: tree files in a temp dir, the real
// binary run as a child, its exit code and messages read.  SPEC 10, 22.
//
// Every broken file must exit 78 with "FILE:LINE:" pointing at the line
// that is wrong and naming the field; several problems in one file are
// all reported; a valid file exits 0.  The binary is ARBOR_BIN (set by
// tests/CMakeLists.txt); the helper "arbor" execs it, so the harness sees
// its output and checks that nothing is left behind.

#include "arb_test.h"
#include "tools.h"
#include "probe.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

// --- helpers (run in the child) ---------------------------------------------

// h_arbor_nobody runs the arbor program as uid and gid 65534 (nobody).
static int
h_arbor_nobody(int argc, char **argv)
{
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0
	    || setuid(65534) != 0) {
		fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
		return 127;
	}
	return h_arbor(argc, argv);
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arbor_nobody", h_arbor_nobody },
};

// --- test support -----------------------------------------------------------

static char tmpdir[64];

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t60");
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

// write_file writes text as tmpdir/name and returns the path (static).
static const char *
write_file(const char *name, const char *text)
{
	static char path[4][160];
	static int  k;

	return arb_test_write_file(
	    tmpdir, name, text, path[k++ % 4], sizeof(path[0]));
}

// arbor runs the arbor program with args (env assignments first, then
// "--"), waits for it and returns its exit code; p keeps the output
// until arb_test_proc_fini.
static int
arbor(arb_test_proc *p, const char *const *args)
{
	arb_test_spawn(p, "arbor", args);
	return arb_test_exit_code(arb_test_wait_exit(p, 10000));
}

// has_problem is true when a line of out holds "<file>:<line>:" followed
// by the field, e.g. "x.yaml:12:7: shutdown: ...".
static bool
has_problem(const char *out, const char *file, int line, const char *field)
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
		if (f != NULL && f < eol) {
			return true;
		}
	}
	return false;
}

// need_arbor skips a test when the arbor program is not built.
static void
need_arbor(void)
{
#ifndef ARBOR_BIN
	skip();
#endif
}

// --- broken files -----------------------------------------------------------

typedef struct broken {
	const char *name;
	const char *yaml;
	int         line;  // where the problem must be reported
	const char *field; // and the field it must name
	const char *also;  // another text the message must hold, or NULL
} broken;

#define TREE_HEAD "root:\n  children:\n"

static const broken cases[] = {
	{ "syntax_tab", "root:\n\tchildren: []\n", 2, "yaml", NULL },
	{ "syntax_flow", TREE_HEAD "    - {name: a, type: echo\n", 4, "yaml",
	    NULL },
	{ "syntax_indent", TREE_HEAD "    - name: a\n   type: echo\n", 4,
	    "yaml", NULL },
	{ "unknown_top_key", "roots:\n  children: []\nroot: {}\n", 1, "roots",
	    "unknown key" },
	{ "unknown_node_key", "node:\n  name: gw\n  colour: red\nroot: {}\n",
	    3, "node.colour", "unknown key" },
	{ "unknown_sup_key", "root:\n  strategie: one_for_all\n", 2,
	    "strategie", "unknown key" },
	{ "unknown_child_key",
	    TREE_HEAD "    - name: a\n      tpye: echo\n      type: echo\n", 4,
	    "tpye", "unknown key" },
	{ "unknown_backoff_key",
	    TREE_HEAD "    - name: a\n      type: echo\n      backoff:\n"
	              "        mni: 1s\n",
	    6, "backoff.mni", "unknown key" },
	{ "unknown_nested_key",
	    TREE_HEAD "    - name: sub\n      supervisor:\n        children:\n"
	              "          - name: x\n            type: echo\n"
	              "            restrat: transient\n",
	    8, "restrat", "unknown key" },
	{ "duplicate_yaml_key",
	    TREE_HEAD "    - name: a\n      type: echo\n      type: crasher\n",
	    5, "type", "duplicate key" },
	{ "bad_type_intensity", "root:\n  intensity: three\n  period: 5s\n", 2,
	    "intensity", "integer" },
	{ "bad_type_children", "root:\n  children:\n    a: 1\n", 3, "children",
	    "list" },
	{ "bad_type_significant",
	    TREE_HEAD
	    "    - name: a\n      type: echo\n      significant: maybe\n",
	    5, "significant", "true or false" },
	{ "range_intensity", "root:\n  intensity: -1\n  period: 5s\n", 2,
	    "intensity", "out of range" },
	{ "range_http_port", "node:\n  http: \"127.0.0.1:70000\"\nroot: {}\n",
	    2, "node.http", "65535" },
	{ "http_not_loopback", "node:\n  http: 192.168.1.1:80\nroot: {}\n", 2,
	    "node.http", "loopback" },
	{ "range_max_msg_size", "node:\n  max_msg_size: 10\nroot: {}\n", 2,
	    "node.max_msg_size", "out of range" },
	{ "bad_log_level", "node:\n  log_level: loud\nroot: {}\n", 2,
	    "node.log_level", "loud" },
	{ "bad_log_time", "node:\n  log_time: yes\nroot: {}\n", 2,
	    "node.log_time", "auto, on, off" },
	{ "bad_duration_shutdown",
	    TREE_HEAD "    - name: a\n      type: echo\n"
	              "      shutdown: 5 parsecs\n",
	    5, "shutdown", "not a duration" },
	{ "bad_duration_period", "root:\n  intensity: 2\n  period: fast\n", 3,
	    "period", "not a duration" },
	{ "missing_period", "root:\n  intensity: 2\n", 2, "period",
	    "needs a period" },
	{ "bad_enum_strategy", "root:\n  strategy: one_for_some\n", 2,
	    "strategy", "one_for_some" },
	{ "bad_enum_restart",
	    TREE_HEAD
	    "    - name: a\n      type: echo\n      restart: sometimes\n",
	    5, "restart", "sometimes" },
	{ "bad_enum_isolation",
	    TREE_HEAD "    - name: a\n      type: echo\n"
	              "      isolation: container\n",
	    5, "isolation", "container" },
	{ "backoff_max_below_min",
	    TREE_HEAD "    - name: a\n      type: echo\n      backoff:\n"
	              "        min: 1s\n        max: 100ms\n",
	    7, "backoff.max",
	    "smaller than the backoff's min (100 ms < 1000 ms)" },
	{ "duplicate_names",
	    TREE_HEAD "    - name: a\n      type: echo\n    - name: a\n"
	              "      type: echo\n",
	    5, "name", "duplicate name" },
	{ "bad_name_chars", TREE_HEAD "    - name: a b\n      type: echo\n", 3,
	    "name", "invalid character" },
	{ "missing_name", TREE_HEAD "    - type: echo\n", 3, "name",
	    "missing" },
	{ "significant_permanent",
	    "root:\n  auto_shutdown: any_significant\n  children:\n"
	    "    - name: a\n      type: echo\n      significant: true\n",
	    6, "significant", "permanent" },
	{ "significant_auto_never",
	    TREE_HEAD
	    "    - name: a\n      type: echo\n      restart: transient\n"
	    "      significant: true\n",
	    6, "significant", "auto_shutdown" },
	{ "simple_one_for_one_two_children",
	    "root:\n  strategy: simple_one_for_one\n  children:\n"
	    "    - {name: a, type: echo}\n    - {name: b, type: echo}\n",
	    3, "children", "exactly one" },
	{ "simple_one_for_one_auto_shutdown",
	    "root:\n  strategy: simple_one_for_one\n"
	    "  auto_shutdown: all_significant\n  children:\n"
	    "    - {name: a, type: echo, restart: temporary}\n",
	    3, "auto_shutdown", "simple_one_for_one" },
	{ "simple_one_for_one_significant",
	    "root:\n  strategy: simple_one_for_one\n  children:\n"
	    "    - name: a\n      type: echo\n      restart: temporary\n"
	    "      significant: true\n",
	    7, "significant", "simple_one_for_one" },
	{ "exec_without_command",
	    TREE_HEAD "    - name: sh\n      isolation: exec\n", 3, "command",
	    "missing" },
	{ "command_not_in_path",
	    TREE_HEAD "    - name: sh\n      command: no-such-prog-t60 -x\n",
	    4, "command", "not found" },
	{ "command_on_thread",
	    TREE_HEAD
	    "    - name: a\n      type: echo\n      command: [/bin/true]\n",
	    5, "command", "only exec" },
	{ "config_on_exec",
	    TREE_HEAD "    - name: sh\n      command: [/bin/true]\n"
	              "      config: {a: 1}\n",
	    5, "config", "only thread and process" },
	{ "unknown_actor_type", TREE_HEAD "    - name: a\n      type: gizmo\n",
	    4, "type", "gizmo" },
	{ "missing_type",
	    TREE_HEAD "    - name: a\n      isolation: process\n", 3, "type",
	    "missing" },
	{ "missing_env_var",
	    TREE_HEAD "    - name: a\n      type: echo\n"
	              "      shutdown: ${ARBOR_T60_SURELY_UNSET}\n",
	    5, "shutdown", "ARBOR_T60_SURELY_UNSET" },
	{ "bad_substitution", "node:\n  name: ${1X}\nroot: {}\n", 2,
	    "node.name", "bad substitution" },
	{ "watchdog_on_thread",
	    TREE_HEAD "    - name: a\n      type: echo\n      watchdog: 2s\n",
	    5, "watchdog", "only process actors" },
	{ "crasher_bad_config",
	    TREE_HEAD "    - name: c\n      type: crasher\n      config:\n"
	              "        init: sometimes\n",
	    6, "config.init", "sometimes" },
	{ "crasher_bad_nested_duration",
	    TREE_HEAD "    - name: c\n      type: crasher\n      config:\n"
	              "        exit:\n          after: soon\n",
	    7, "config.exit.after", "not a duration" },
	{ "ticker_without_target",
	    TREE_HEAD "    - name: t\n      type: ticker\n      config:\n"
	              "        interval: 1s\n",
	    5, "config.target", "required" },
	{ "plugin_missing",
	    "plugins:\n  - /nonexistent/libnothing.so\nroot: {}\n", 2,
	    "plugins", "cannot load" },
	{ "nested_sup_bad_strategy",
	    TREE_HEAD "    - name: sub\n      supervisor:\n"
	              "        strategy: all_for_one\n",
	    5, "strategy", "all_for_one" },
	{ "root_missing", "node:\n  name: gw\n", 1, "root", "missing" },
	{ "isolation_with_supervisor",
	    TREE_HEAD "    - name: sub\n      isolation: thread\n"
	              "      supervisor: {}\n",
	    4, "isolation", "no isolation" },
};

static void
test_broken_files_exit_78_with_line_and_field(void **state)
{
	arb_test_proc p;
	size_t        i;
	int           code;
	const char   *file;
	const char   *args[4] = { "--", "check", NULL, NULL };
	char          out[4096];
	bool          ok;

	(void) state;
	need_arbor();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[80];
		snprintf(name, sizeof(name), "%s.yaml", cases[i].name);
		file = write_file(name, cases[i].yaml);
		args[2] = file;
		code = arbor(&p, args);
		ok = code == ARB_EXIT_CONFIG
		    && has_problem(p.out, file, cases[i].line, cases[i].field)
		    && (cases[i].also == NULL || strstr(p.out, cases[i].also));
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		if (!ok) {
			fail_msg(
			    "case %s: exit %d, want 78 and \"%s:%d: ... %s: "
			    "...%s\"; got:\n%s",
			    cases[i].name, code, file, cases[i].line,
			    cases[i].field, cases[i].also ? cases[i].also : "",
			    out);
		}
	}
}

static void
test_every_problem_is_reported(void **state)
{
	static const char yaml[] = "node:\n"                    // 1
	                           "  name: gw1\n"              // 2
	                           "  http: 8080\n"             // 3
	                           "root:\n"                    // 4
	                           "  strategy: one_for_one\n"  // 5
	                           "  intensity: 3\n"           // 6
	                           "  period: 5s\n"             // 7
	                           "  children:\n"              // 8
	                           "    - name: w1\n"           // 9
	                           "      type: echo\n"         // 10
	                           "      shutdown: soonish\n"  // 11
	                           "    - name: w2\n"           // 12
	                           "      type: crasher\n"      // 13
	                           "      restart: permanent\n" // 14
	                           "      significant: true\n"  // 15
	                           "    - name: w3\n"           // 16
	                           "      type: nosuch\n";      // 17
	arb_test_proc p;
	const char   *file = write_file("three.yaml", yaml);
	const char   *args[] = { "--", "check", file, NULL };

	(void) state;
	need_arbor();
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	assert_true(has_problem(p.out, file, 11, "shutdown"));
	assert_true(has_problem(p.out, file, 15, "significant"));
	assert_true(has_problem(p.out, file, 17, "type"));
	// significant is wrong twice (permanent, auto_shutdown never).
	assert_non_null(strstr(p.out, "4 problems"));
	arb_test_proc_fini(&p);
}

// An actor type from a plugin declares a check hook: `arbor check` runs it
// over each child's config and reports every problem at the YAML key it
// names (FILE:LINE:COLUMN), list items and nested maps included, as it
// does for the built-in types; `arbor run` refuses the file the same way.
// A check hook that crashes while `arbor check` reads a process actor's
// config: the check runs in a child of the program (src/actor/typecheck.c),
// so the crash is reported at the child's type: line, the other children
// are still checked, and arbor check exits 78 instead of dying with it.
// A thread child's type is checked in the program itself (it will run
// there), so a crash there is arbor check's own.
static void
test_crash_in_a_process_types_check_is_reported(void **state)
{
#ifdef ARBOR_TEST_ACTORS
	static const char yaml[] = "root:\n"                   // 1
	                           "  children:\n"             // 2
	                           "    - name: a\n"           // 3
	                           "      type: checkdie\n"    // 4
	                           "      isolation: process\n" // 5
	                           "      config: {die: true}\n" // 6
	                           "    - name: b\n"             // 7
	                           "      type: echo\n"          // 8
	                           "      isolation: process\n" // 9
	                           "      config: {colour: 1}\n"; // 10
	static const char fine[] = "root:\n"
	                           "  children:\n"
	                           "    - {name: a, type: checkdie,\n"
	                           "       isolation: process, config: {die: "
	                           "false}}\n";
	arb_test_proc p;
	char          env[300], want[512];
	const char   *file;
	const char   *args[] = { env, "--", "check", NULL, NULL };

	(void) state;
	need_arbor();
	snprintf(env, sizeof(env), "ARBOR_ACTOR_PATH=%s", ARBOR_TEST_ACTORS);
	file = write_file("die.yaml", yaml);
	args[3] = file;
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	snprintf(want, sizeof(want),
	    "%s:4:13: type: the check of type \"checkdie\" ended without an "
	    "answer",
	    file);
	assert_non_null(strstr(p.out, want));
	// Checked after the crash, in a new child: echo's config.
	assert_true(has_problem(p.out, file, 10, "config.colour"));
	arb_test_proc_fini(&p);
	file = write_file("fine.yaml", fine);
	args[3] = file;
	assert_int_equal(arbor(&p, args), 0);
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // the test module is not built
#endif
}

static void
test_plugin_check_hook_reports_file_line_column(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[] = "plugins: [%s]\n"        // 1
	                          "root:\n"                // 2
	                          "  children:\n"          // 3
	                          "    - name: g1\n"       // 4
	                          "      type: greeter\n"  // 5
	                          "      config:\n"        // 6
	                          "        greeting: 5\n"  // 7
	                          "        max_len: 9000\n" // 8
	                          "        colour: blue\n" // 9
	                          "    - name: g2\n"       // 10
	                          "      type: greeter\n"  // 11
	                          "      isolation: process\n" // 12
	                          "      config: {excited: maybe}\n"; // 13
	arb_test_proc p;
	char          yaml[1024], want[512];
	const char   *file;
	const char   *args[] = { "--", "check", NULL, NULL };
	const char   *run[] = { "--", "run", NULL, NULL };

	(void) state;
	need_arbor();
	snprintf(yaml, sizeof(yaml), fmt, ARBOR_PLUGIN_SO);
	file    = write_file("hook.yaml", yaml);
	args[2] = file;
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	snprintf(want, sizeof(want),
	    "%s:7:9: config.greeting: greeter: expected a string", file);
	assert_non_null(strstr(p.out, want));
	snprintf(want, sizeof(want),
	    "%s:8:9: config.max_len: greeter: out of range (16 to 1024)",
	    file);
	assert_non_null(strstr(p.out, want));
	snprintf(want, sizeof(want),
	    "%s:9:9: config.colour: greeter: unknown key (expected one of: "
	    "greeting, excited, max_len)",
	    file);
	assert_non_null(strstr(p.out, want));
	snprintf(want, sizeof(want),
	    "%s:13:16: config.excited: greeter: expected true or false", file);
	assert_non_null(strstr(p.out, want));
	assert_non_null(strstr(p.out, "4 problems"));
	arb_test_proc_fini(&p);
	run[2] = file;
	assert_int_equal(arbor(&p, run), ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out, "nothing was started"));
	assert_null(strstr(p.out, "event=init"));
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples are not built
#endif
}

static void
test_valid_file_exits_0(void **state)
{
	static const char yaml[]
	    = "# every feature of the schema, valid\n"
	      "node:\n"
	      "  name: ${ARBOR_T60_NODE:-gw1}\n"
	      "  control: ctl.sock\n"
	      "  http: \"127.0.0.1:8080\"\n"
	      "  max_msg_size: 1048576\n"
	      "  log_level: info\n"
	      "  log_time: auto\n"
	      "root:\n"
	      "  strategy: one_for_one\n"
	      "  intensity: 3\n"
	      "  period: 5s\n"
	      "  auto_shutdown: never\n"
	      "  children:\n"
	      "    - name: w1\n"
	      "      type: echo\n"
	      "      isolation: thread\n"
	      "      restart: permanent\n"
	      "      shutdown: 5s\n"
	      "      start_timeout: 5000\n"
	      "      backoff: {min: 100ms, max: 30s, stable: 10s}\n"
	      "      config: {log: true}\n"
	      "    - name: p1\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      watchdog: 2s\n"
	      "      shutdown: brutal_kill\n"
	      "      config:\n"
	      "        init: fail_if_file\n"
	      "        file: /nonexistent\n"
	      "        exit: {after: 1.5s, reason: error, code: 3, text: "
	      "boom}\n"
	      "        stop: slow\n"
	      "        stop_delay: 100ms\n"
	      "    - name: t\n"
	      "      type: ticker\n"
	      "      config: {target: root/w1, interval: 100ms, body: {a: [1, "
	      "2.5, null, \"x\"]}}\n"
	      "    - name: sh\n"
	      "      command: sleep 1000\n"
	      "      restart: transient\n"
	      "    - name: sub\n"
	      "      shutdown: infinity\n"
	      "      supervisor:\n"
	      "        strategy: rest_for_one\n"
	      "        auto_shutdown: any_significant\n"
	      "        children:\n"
	      "          - name: x\n"
	      "            type: echo\n"
	      "            restart: transient\n"
	      "            significant: true\n"
	      "    - name: pool\n"
	      "      supervisor:\n"
	      "        strategy: simple_one_for_one\n"
	      "        children: [{name: worker, type: echo, restart: "
	      "temporary}]\n";
	arb_test_proc p;
	const char   *file = write_file("valid.yaml", yaml);
	const char   *args[] = { "--", "check", file, NULL };

	(void) state;
	need_arbor();
	assert_int_equal(arbor(&p, args), 0);
	assert_non_null(strstr(p.out, "valid.yaml: ok"));
	assert_null(strstr(p.out, "problem"));
	assert_null(strstr(p.out, "error"));
	assert_null(strstr(p.out, "warn"));
	arb_test_proc_fini(&p);
}

static void
test_missing_file_exits_78_with_strerror(void **state)
{
	arb_test_proc p;
	char          file[128];
	const char   *args[] = { "--", "check", file, NULL };

	(void) state;
	need_arbor();
	snprintf(file, sizeof(file), "%s/nope.yaml", tmpdir);
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out, file));
	assert_non_null(strstr(p.out, strerror(ENOENT)));
	arb_test_proc_fini(&p);
}

static void
test_help_version_and_usage_errors(void **state)
{
	static const struct {
		const char *args[4];
		int         code;
		const char *needle;
	} runs[] = {
		{ { "--help" }, 0,
		    "usage: arbor run [--log-time=auto|on|off] FILE" },
		{ { "-h" }, 0,
		    "usage: arbor run [--log-time=auto|on|off] FILE" },
		{ { "run", "--help" }, 0, "SIGHUP" },
		{ { "check", "--help" }, 0, "FILE:LINE:COLUMN" },
		{ { "--version" }, 0, "arbor " },
		{ { NULL }, ARB_EXIT_USAGE, "usage:" },
		{ { "frobnicate" }, ARB_EXIT_USAGE,
		    "unknown command frobnicate" },
		{ { "--frob" }, ARB_EXIT_USAGE, "unknown option --frob" },
		{ { "run", "-x", "f" }, ARB_EXIT_USAGE, "unknown option -x" },
		{ { "run" }, ARB_EXIT_USAGE, "exactly one FILE" },
		{ { "run", "a", "b" }, ARB_EXIT_USAGE, "exactly one FILE" },
		{ { "check" }, ARB_EXIT_USAGE, "check needs a FILE" },
	};
	arb_test_proc p;
	const char   *args[6];
	char          out[4096];
	size_t        i, j;
	int           code;
	bool          ok;

	(void) state;
	need_arbor();
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		args[0] = "--";
		for (j = 0; j < 4 && runs[i].args[j] != NULL; j++) {
			args[j + 1] = runs[i].args[j];
		}
		args[j + 1] = NULL;
		code = arbor(&p, args);
		ok = code == runs[i].code && strstr(p.out, runs[i].needle);
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		if (!ok) {
			fail_msg(
			    "run %zu: want exit %d and \"%s\", got %d:\n%s", i,
			    runs[i].code, runs[i].needle, code, out);
		}
	}
	// --version prints the library's version.
	args[0] = "--";
	args[1] = "--version";
	args[2] = NULL;
	assert_int_equal(arbor(&p, args), 0);
	snprintf(out, sizeof(out), "arbor %s\n", arb_version());
	assert_non_null(strstr(p.out, out));
	arb_test_proc_fini(&p);
}

// check_big writes text (len bytes) as tmpdir/name, runs `arbor check` on
// it and checks that it exits 78 within limit_ms with needle in its
// output.  Returns the milliseconds it took.
static long
check_big(const char *name, const char *text, size_t len, const char *needle,
    long limit_ms)
{
	arb_test_proc p;
	char          file[160];
	const char   *args[] = { "--", "check", file, NULL };
	FILE         *f;
	int64_t       t0;
	long          took;
	int           code;

	snprintf(file, sizeof(file), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(file, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	t0 = arb_test_now_ms();
	arb_test_spawn(&p, "arbor", args);
	code = arb_test_exit_code(arb_test_wait_exit(&p, 60000));
	took = (long) (arb_test_now_ms() - t0);
	if (code != ARB_EXIT_CONFIG || strstr(p.out, needle) == NULL
	    || took > limit_ms) {
		fail_msg("%s: want exit 78 within %ld ms and \"%s\"; got %d "
		         "after %ld ms:\n%.2000s",
		    name, limit_ms, needle, code, took, p.out);
	}
	arb_test_proc_fini(&p);
	return took;
}

// Parsing is bounded: a file costs time and memory linear in its size.
// 100,000 nested lists (200 KB) took libyaml 45 s; a supervisor that is
// an alias of its ancestor recursed until the stack overflowed (SIGSEGV);
// aliases of supervisors multiplied children exponentially; a file over
// 4 MiB, a directory, and a thousand times the same problem (an alias)
// get one clear line each; duplicate keys of a big mapping are found in
// n log n; a file holds at most 200,000 values.
static void
test_parsing_is_bounded(void **state)
{
	static const char rec[] = "root: &r\n"
	                          "  children:\n"
	                          "    - name: x\n"
	                          "      supervisor: *r\n";
	static const char same[]
	    = "root:\n"
	      "  children:\n"
	      "    - name: a\n"
	      "      type: crasher\n"
	      "      config: &bad {init: often}\n"
	      "    - {name: b, type: crasher, config: *bad}\n"
	      "    - {name: c, type: crasher, config: *bad}\n";
	arb_test_proc p;
	const char   *args[] = { "--", "check", tmpdir, NULL };
	char         *big, want[256];
	size_t        n = 100000, i, len;

	(void) state;
	need_arbor();
	big = malloc(8 << 20);
	assert_non_null(big);

	// 100,000 levels of "[": stopped at the limit, at once.
	len = (size_t) sprintf(big, "root: {children: ");
	memset(big + len, '[', n);
	memset(big + len + n, ']', n);
	len += 2 * n;
	len += (size_t) sprintf(big + len, "}\n");
	check_big("deep.yaml", big, len,
	    ":1:272: yaml: nested deeper than 256 "
	    "levels",
	    10000);

	// A supervisor inside itself.
	check_big("rec.yaml", rec, strlen(rec),
	    "rec.yaml:1:7: supervisor: supervisors nested more than 32 deep",
	    10000);

	// Each level two aliases of the one before: 2^22 children.
	len = (size_t) sprintf(
	    big, "root:\n  children:\n    - &c0 {name: a0, type: echo}\n");
	for (i = 1; i <= 22; i++) {
		len += (size_t) sprintf(big + len,
		    "    - &c%zu {name: a%zu, supervisor: {children: [*c%zu, "
		    "*c%zu]}}\n",
		    i, i, i - 1, i - 1);
	}
	check_big("fan.yaml", big, len,
	    "children: more than 10000 children in one file", 10000);

	// A mapping of 50,000 keys: duplicates are looked for by sorting
	// (comparing each key with those before it took 25 s).
	len = (size_t) sprintf(big,
	    "root:\n  children:\n    - name: e\n"
	    "      type: echo\n      config:\n");
	for (i = 0; i < 50000; i++) {
		len += (size_t) sprintf(
		    big + len, "        k%zu: %zu\n", i, i);
	}
	len += (size_t) sprintf(big + len, "        k7: 7\n");
	check_big("wide.yaml", big, len,
	    "wide.yaml:50006:9: config.k7: duplicate key (first at line 13)",
	    10000);

	// 200,000 values at most (each costs the loader some 220 bytes: a
	// million of them, 2.7 MB of text, took 200 MB and 5 s).
	len = (size_t) sprintf(big,
	    "root:\n  children:\n    - name: e\n      type: echo\n"
	    "      config: [");
	for (i = 0; i < 200000; i++) {
		memcpy(big + len, "1,", 2);
		len += 2;
	}
	len += (size_t) sprintf(big + len, "1]\n");
	check_big("many.yaml", big, len,
	    "many.yaml:5:399992: yaml: more than 200000 values in one file",
	    10000);

	// Too big.
	len = (size_t) sprintf(big, "root:\n  children: []\n");
	memset(big + len, '#', (5 << 20) - len);
	big[(5 << 20) - 1] = '\n';
	check_big(
	    "huge.yaml", big, 5 << 20, "a tree file has at most 4 MiB", 10000);
	free(big);

	// The same problem, through an alias, is one problem.
	check_big(
	    "same.yaml", same, strlen(same), "same.yaml: 1 problem\n", 10000);

	// A directory.
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	snprintf(
	    want, sizeof(want), "%s: is a directory, not a tree file", tmpdir);
	assert_non_null(strstr(p.out, want));
	assert_null(strstr(p.out, "input error"));
	arb_test_proc_fini(&p);
}

// YAML merge keys (`<<: *defaults`) merge the aliased mapping's keys,
// or a list of mappings' (the first one winning), the mapping's own keys
// winning; they were "unknown key".  A merge of something else is a
// problem at its line and column.
static void
test_merge_keys(void **state)
{
	static const char ok[]
	    = "root:\n"
	      "  children:\n"
	      "    - &w {name: a, type: echo, restart: transient}\n"
	      "    - <<: *w\n"
	      "      name: b\n"
	      "    - {<<: [*w, {restart: never, name: zz}], name: c}\n"
	      "    - <<: {type: echo, restart: never}\n"
	      "      name: d\n"
	      "      restart: permanent\n";
	static const char bad[] = "root:\n"
	                          "  children:\n"
	                          "    - name: a\n"
	                          "      <<: 5\n"
	                          "      type: echo\n";
	static const char merged_bad[]
	    = "root:\n"
	      "  children:\n"
	      "    - {<<: [{restart: never}, {name: q}], type: echo}\n";
	arb_test_proc p;
	const char   *file;
	const char   *args[] = { "--", "check", NULL, NULL };
	char         *big;
	size_t        len, i;

	(void) state;
	need_arbor();
	// b, c and d are echo actors named b, c and d (their own names win:
	// no duplicate "a"); c's restart is w's (transient), not the next
	// mapping's (never, which is invalid); d's restart is its own.
	args[2] = file = write_file("merge.yaml", ok);
	assert_int_equal(arbor(&p, args), 0);
	assert_non_null(strstr(p.out, "merge.yaml: ok"));
	arb_test_proc_fini(&p);

	args[2] = file = write_file("merge_bad.yaml", bad);
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out,
	    "merge_bad.yaml:4:11: <<: a merge key takes a mapping or a "
	    "list of mappings, not a scalar"));
	arb_test_proc_fini(&p);

	// Merges add at most 200,000 keys in all, said once.
	big = malloc(1 << 20);
	assert_non_null(big);
	len = (size_t) sprintf(big,
	    "root:\n  children:\n    - name: e\n      type: echo\n"
	    "      config: &c\n");
	for (i = 0; i < 300; i++) {
		len += (size_t) sprintf(big + len, "        k%zu: 1\n", i);
	}
	for (i = 0; i < 1000; i++) {
		len += (size_t) sprintf(big + len,
		    "    - {name: n%zu, type: echo, config: {<<: *c}}\n", i);
	}
	check_big("merge_many.yaml", big, len,
	    "merge_many.yaml:972:41: <<: merge keys add more than 200000 "
	    "keys in one file\narbor: ",
	    10000);
	free(big);

	// A merged key's problem is at the merged mapping's line.
	args[2] = file = write_file("merge_at.yaml", merged_bad);
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	assert_true(has_problem(p.out, file, 3, "restart"));
	assert_null(strstr(p.out, "unknown key"));
	arb_test_proc_fini(&p);
}

// What is not a tree file's text says what it is: a FIFO without a
// writer read as empty ("the file is empty"), and UTF-16 text was
// decoded by libyaml when it had a byte-order mark and was "control
// characters" or "expected a mapping ... got a scalar" otherwise.
static void
test_fifo_and_utf16_say_what_they_are(void **state)
{
	static const char u16[] = "\xff\xfer\0o\0o\0t\0:\0 \0{\0}\0\n\0";
	static const char u16be[] = "\xfe\xff\0r\0o\0o\0t\0:\0 \0{\0}\0\n";
	static const char u32[] = "\xff\xfe\0\0r\0\0\0\n\0\0\0";
	arb_test_proc     p;
	char              file[160], want[256];
	const char       *args[] = { "--", "check", file, NULL };

	(void) state;
	need_arbor();
	snprintf(file, sizeof(file), "%s/fifo.yaml", tmpdir);
	assert_int_equal(mkfifo(file, 0600), 0);
	assert_int_equal(arbor(&p, args), ARB_EXIT_CONFIG);
	snprintf(want, sizeof(want),
	    "%s: not a regular file, and nothing was read from it (a FIFO "
	    "without a writer?)",
	    file);
	assert_non_null(strstr(p.out, want));
	assert_null(strstr(p.out, "empty"));
	arb_test_proc_fini(&p);

	check_big("u16.yaml", u16, sizeof(u16) - 1,
	    "u16.yaml: UTF-16 text: tree files are UTF-8", 10000);
	check_big("u16be.yaml", u16be, sizeof(u16be) - 1,
	    "u16be.yaml: UTF-16 text: tree files are UTF-8", 10000);
	check_big("u32.yaml", u32, sizeof(u32) - 1,
	    "u32.yaml: UTF-32 text: tree files are UTF-8", 10000);
	check_big("u16le.yaml", u16 + 2, sizeof(u16) - 3,
	    "u16le.yaml: UTF-16 text (no byte-order mark): tree files are "
	    "UTF-8",
	    10000);
}

// --- the checker agrees with the runner
// ---------------------------------------

typedef struct refusal {
	const char *name;
	const char *yaml;  // %s: tmpdir
	int         line;  // where the problem must be reported
	const char *field; // and the field it must name
	const char *also;  // a text the message must hold
	const char *env;   // an environment assignment for both runs, or NULL
} refusal;

// Everything `arbor run` refused before starting (78: a control socket
// that is a file or in a directory others can open), or failed on at
// once (70: an exec program that cannot run; a process actor's config
// too big for its start; a run directory it cannot use), `arbor check`
// finds too, at the line of the setting; and `arbor run` now refuses the
// same file with 78 before starting anything (Restart=on-failure with
// RestartPreventExitStatus=78 no longer loops on it).
static const refusal refusals[] = {
	{ "control_is_a_file", "node: {control: %s/ctl/file.sock}\nroot: {}\n",
	    1, "node.control",
	    "file.sock: the path exists and is not a socket", NULL },
	{ "control_dir_open", "node: {control: %s/open/c.sock}\nroot: {}\n", 1,
	    "node.control",
	    "open has mode 0755: group and others must have no access", NULL },
	// A directory named as the socket: said as such, not as the mode
	// of the directory above it (open, 0755, would be said first).
	{ "control_is_a_dir", "node: {control: %s/open/sub}\nroot: {}\n", 1,
	    "node.control",
	    "sub: the path exists and is not a socket (a directory: "
	    "node.control names the socket file itself",
	    NULL },
	// A directory shared by every user (1777, as /tmp): never "chmod
	// 700" it, a private directory of its own is the fix.
	{ "control_dir_shared", "node: {control: %s/shared/c.sock}\nroot: {}\n",
	    1, "node.control",
	    "shared has mode 1777, a directory shared with other users: the "
	    "socket needs a private directory of its own",
	    NULL },
	{ "control_dir_symlink",
	    "node:\n  name: x\n  control: %s/link/c.sock\nroot: {}\n", 3,
	    "node.control", "link is not a directory (a symbolic link", NULL },
	{ "control_dir_other_owner",
	    "node: {control: %s/nobodys/c.sock}\nroot: {}\n", 1,
	    "node.control", "nobodys belongs to uid 65534", NULL },
	{ "control_lock_is_a_dir",
	    "node: {control: %s/ctl/locked.sock}\nroot: {}\n", 1,
	    "node.control",
	    "locked.sock.lock exists and is not a regular file", NULL },
	{ "control_default_dir_open", "node:\n  name: t60d\nroot: {}\n", 2,
	    "node.control", "the default control socket", "XDG_RUNTIME_DIR" },
	{ "run_dir_is_a_file",
	    "node: {control: %s/ctl/r.sock, run_dir: %s/ctl/file.sock}\n"
	    "root: {}\n",
	    1, "node.run_dir", "is not a directory", NULL },
	{ "run_dir_cannot_be_made",
	    "node:\n  control: %s/ctl/r.sock\n  run_dir: %s/nope/run\n"
	    "root: {}\n",
	    3, "node.run_dir", "cannot create", NULL },
	{ "run_dir_file_system_says_no",
	    "node:\n  control: %s/ctl/r.sock\n  run_dir: /proc/t60-run\n"
	    "root: {}\n",
	    3, "node.run_dir", "cannot create /proc/t60-run: No such file",
	    NULL },
	{ "run_dir_too_long",
	    "node:\n  control: %s/ctl/r.sock\n  run_dir: %s/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "a"
	    "aaaaaaaaaaaaaaaa\nroot: {}\n",
	    3, "node.run_dir", "longer than 91 bytes", NULL },
	{ "exec_not_executable",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: [./script.sh]}\n",
	    4, "command", "script.sh\" is not executable (mode 0644", NULL },
	{ "exec_a_directory",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: %s/ctl}\n",
	    4, "command", "is a directory, not a program", NULL },
	{ "exec_missing",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: [/nonexistent/t60/prog]}\n",
	    4, "command", "No such file or directory", NULL },
	{ "exec_bad_interpreter",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: [./interp.sh]}\n",
	    4, "command", "interpreter /nonexistent/t60-sh does not exist",
	    NULL },
	{ "exec_no_shebang",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: [./noshebang.sh]}\n",
	    4, "command",
	    "noshebang.sh\" is neither a program (ELF) nor a "
	    "script starting with #! (execve: Exec format error)",
	    NULL },
	{ "exec_truncated_elf",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: [./short.elf]}\n",
	    4, "command", "short.elf\" is a truncated ELF file (21 bytes)",
	    NULL },
	{ "exec_path_entry_is_a_dir",
	    "node: {control: %s/ctl/e.sock}\nroot:\n  children:\n"
	    "    - {name: s, command: t60prog}\n",
	    4, "command", "\"t60prog\" not found in $PATH", "PATH" },
	// The log's directory of a store, and a serial device's path, as
	// the actors' init will find them (check hooks): a file there
	// failed the start (70), a serial port that is a directory was
	// retried for ever.
	{ "store_dir_is_a_file",
	    "node: {control: %s/ctl/sd.sock}\nroot:\n  children:\n"
	    "    - {name: s, type: store, config: {dir: %s/ctl/file.sock}}\n",
	    4, "config.dir", "ctl/file.sock is not a directory", NULL },
	{ "store_dir_cannot_be_made",
	    "node: {control: %s/ctl/sd.sock}\nroot:\n  children:\n"
	    "    - {name: s, type: store, config: {dir: /proc/t60-s/log}}\n",
	    4, "config.dir", "cannot create /proc/t60-s/log in /proc", NULL },
	{ "serial_path_is_a_dir",
	    "node: {control: %s/ctl/sp.sock}\nroot:\n  children:\n"
	    "    - {name: s, type: serial, config: {path: %s/ctl, to: x}}\n",
	    4, "config.path", "ctl is a directory, not a serial device",
	    NULL },
	{ "process_config_too_big",
	    "node: {control: %s/ctl/p.sock}\nroot:\n  children:\n"
	    "    - name: t\n      type: ticker\n      isolation: process\n"
	    "      config: {target: root/t, body: !!binary %s}\n",
	    7, "config", "a process actor's argument is at most 61440 bytes",
	    NULL },
};

// refusal_env sets up, in tmpdir, what the refusals point at.
static void
refusal_env(char *big, size_t len)
{
	char path[256], link[256];

	snprintf(path, sizeof(path), "%s/ctl", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file("ctl/file.sock", "not a socket\n");
	snprintf(path, sizeof(path), "%s/ctl/locked.sock.lock", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/open", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0); // whatever the umask
	snprintf(path, sizeof(path), "%s/open/sub", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/shared", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 01777), 0);
	snprintf(path, sizeof(path), "%s/nobodys", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/ctl", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	// $XDG_RUNTIME_DIR/arbor, the default directory, open to others.
	snprintf(path, sizeof(path), "%s/xdg", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/xdg/arbor", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	write_file("script.sh", "#!/bin/sh\nexit 0\n"); // 0644 (umask)
	snprintf(path, sizeof(path), "%s/script.sh", tmpdir);
	assert_int_equal(chmod(path, 0644), 0);
	write_file("noshebang.sh", "echo hello\nexit 0\n");
	snprintf(path, sizeof(path), "%s/noshebang.sh", tmpdir);
	assert_int_equal(chmod(path, 0755), 0);
	write_file("short.elf", "\177ELF\002\001\001\001garbagegarbag");
	snprintf(path, sizeof(path), "%s/short.elf", tmpdir);
	assert_int_equal(chmod(path, 0755), 0);
	write_file("interp.sh", "#!/nonexistent/t60-sh -e\nexit 0\n");
	snprintf(path, sizeof(path), "%s/interp.sh", tmpdir);
	assert_int_equal(chmod(path, 0755), 0);
	// A $PATH entry holding a directory of the program's name.
	snprintf(path, sizeof(path), "%s/bin", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/bin/t60prog", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	// 61,441 bytes of config for a process actor, as base64.
	{
		static const char b64[]
		    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		      "klmnopqrstuvwxyz0123456789+/";
		size_t i, n = (61441 + 2) / 3 * 4;

		assert_true(n < len);
		for (i = 0; i < n; i++) {
			big[i] = b64[i % 64];
		}
		big[n] = '\0';
	}
}

static void
test_check_finds_what_run_refuses(void **state)
{
	arb_test_proc p;
	char         *yaml, *big, name[80], env[300], out[4096];
	const char   *file, *args[6];
	size_t        i, k;
	int           code, run_code;
	bool          ok;

	(void) state;
	need_arbor();
	big = malloc(128 * 1024);
	yaml = malloc(160 * 1024);
	assert_non_null(big);
	assert_non_null(yaml);
	refusal_env(big, 128 * 1024);
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const refusal *r = &refusals[i];

		snprintf(yaml, 160 * 1024, r->yaml, tmpdir,
		    strstr(r->name, "config") != NULL ? big : tmpdir);
		snprintf(name, sizeof(name), "%s.yaml", r->name);
		file = write_file(name, yaml);
		k = 0;
		if (r->env != NULL && strcmp(r->env, "PATH") == 0) {
			snprintf(env, sizeof(env), "PATH=%s/bin:/usr/bin:/bin",
			    tmpdir);
			args[k++] = env;
		} else if (r->env != NULL) {
			snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s/xdg",
			    tmpdir);
			args[k++] = env;
		}
		args[k++] = "--";
		args[k++] = "check";
		args[k++] = file;
		args[k] = NULL;
		code = arbor(&p, args);
		ok = code == ARB_EXIT_CONFIG
		    && has_problem(p.out, file, r->line, r->field)
		    && strstr(p.out, r->also) != NULL;
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		if (!ok) {
			fail_msg(
			    "check %s: exit %d, want 78 and \"%s:%d: ... %s: "
			    "...%s\"; got:\n%s",
			    r->name, code, file, r->line, r->field, r->also,
			    out);
		}
		// `arbor run` refuses it the same way, before starting.
		args[k - 2] = "run";
		run_code = arbor(&p, args);
		ok = run_code == ARB_EXIT_CONFIG
		    && strstr(p.out, "nothing was started") != NULL
		    && strstr(p.out, "event=node_start") == NULL;
		snprintf(out, sizeof(out), "%s", p.out);
		arb_test_proc_fini(&p);
		if (!ok) {
			fail_msg("run %s: exit %d, want 78 before starting; "
			         "got:\n%s",
			    r->name, run_code, out);
		}
	}
	free(big);
	free(yaml);
}

// node.http on a port this user may not bind: `arbor run` exited 70
// (http_unavailable); `arbor check` says so at its line.  Run as nobody,
// the port just below the first unprivileged one.
static void
test_check_finds_an_http_port_it_may_not_bind(void **state)
{
	arb_test_proc p;
	char          yaml[256], dir[128], file[192];
	const char *args[] = { "XDG_RUNTIME_DIR=", "--", "check", file, NULL };
	FILE       *f;
	int         start = 1024;

	(void) state;
	need_arbor();
	if ((f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r"))
	    != NULL) {
		if (fscanf(f, "%d", &start) != 1) {
			start = 1024;
		}
		fclose(f);
	}
	if (start <= 1) {
		print_message("every port is unprivileged here: skipped\n");
		skip();
	}
	// nobody must reach the file: tmpdir is 0700.
	assert_int_equal(chmod(tmpdir, 0711), 0);
	snprintf(dir, sizeof(dir), "%s/pub", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(yaml, sizeof(yaml),
	    "node:\n  name: t60n\n  http: \"127.0.0.1:%d\"\nroot: {}\n",
	    start - 1);
	arb_test_write_file(dir, "http.yaml", yaml, file, sizeof(file));
	assert_int_equal(chmod(file, 0644), 0);
	arb_test_spawn(&p, "arbor_nobody", args);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)),
	    ARB_EXIT_CONFIG);
	if (!has_problem(p.out, file, 3, "node.http")
	    || strstr(p.out, "Permission denied (a port below 1024 needs root")
	        == NULL) {
		fail_msg("want %s:3: node.http: cannot bind ...; got:\n%s",
		    file, p.out);
	}
	arb_test_proc_fini(&p);
	assert_int_equal(chmod(tmpdir, 0700), 0);
}

// A missing control directory is checked without making it: `arbor
// check` beside a node that starts at the same moment (two units whose
// ExecStartPre is `arbor check`, one fresh $XDG_RUNTIME_DIR) must neither
// remove the directory that node just made nor fail with "File exists"
// because it made it first.  inotify sees every directory made in
// $XDG_RUNTIME_DIR: never "arbor", and nothing is left.
static void
test_check_never_makes_the_control_directory(void **state)
{
	static const char yaml[] = "node:\n  name: t60d\nroot: {}\n";
	arb_test_proc p;
	char          xdg[128], env[160], ev[4096], arbor_dir[160];
	const char   *file = write_file("d.yaml", yaml);
	const char   *args[] = { env, "--", "check", file, NULL };
	struct stat   st;
	ssize_t       n;
	int           fd, made = 0;

	(void) state;
	need_arbor();
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s", xdg);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(inotify_add_watch(fd, xdg, IN_CREATE) >= 0);
	assert_int_equal(arbor(&p, args), 0);
	arb_test_proc_fini(&p);
	// The check has exited: every event it caused is queued.
	while ((n = read(fd, ev, sizeof(ev))) > 0) {
		size_t off = 0;

		while (off < (size_t) n) {
			const struct inotify_event *e
			    = (const struct inotify_event *) (ev + off);

			if (e->len > 0 && strcmp(e->name, "arbor") == 0) {
				fail_msg("arbor check made %s/arbor", xdg);
			}
			made++;
			off += sizeof(*e) + e->len;
		}
	}
	close(fd);
	assert_int_equal(made, 1); // its probe beside it, and only that
	snprintf(arbor_dir, sizeof(arbor_dir), "%s/arbor", xdg);
	assert_int_equal(lstat(arbor_dir, &st), -1);
	assert_int_equal(rmdir(xdg), 0); // empty: the probe is gone too
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_broken_files_exit_78_with_line_and_field, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_every_problem_is_reported, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_plugin_check_hook_reports_file_line_column, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_crash_in_a_process_types_check_is_reported, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_valid_file_exits_0, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_missing_file_exits_78_with_strerror, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_help_version_and_usage_errors, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_parsing_is_bounded, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_fifo_and_utf16_say_what_they_are, setup, teardown),
	cmocka_unit_test_setup_teardown(test_merge_keys, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_check_finds_what_run_refuses, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_check_finds_an_http_port_it_may_not_bind, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_check_never_makes_the_control_directory, setup, teardown),
};

ARB_TEST_MAIN("integration.arbor_check", tests, helpers)
