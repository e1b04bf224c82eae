// SPDX-License-Identifier: MIT
// 62_arbor_run_test.c -- `arbor run` on tree files, driven as a user
// would: the real binary runs a tree of built-in diagnostic actors
// (thread and process isolation), exec children and plugin actors; the
// test reads its log, signals it and checks its exit code and that
// nothing is left behind.  SPEC 10, 11, 22, 25.
//
// The binary is ARBOR_BIN, the example plugin ARBOR_PLUGIN_SO (both set
// by tests/CMakeLists.txt).  The helper "arbor" execs the binary with the
// environment assignments given before "--".

#include "arb_test.h"
#include "tools.h"
#include "probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 10000

// --- helpers (run in the child) ---------------------------------------------

static int
h_sh(int argc, char **argv)
{
	return arb_test_exec("/bin/sh", argc, argv);
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "sh", h_sh },
};

// --- test support -----------------------------------------------------------

static char tmpdir[64];

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t62");
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
	skip(); // the arbor program is not built
#endif
}

// write_file writes text as tmpdir/name (atomically, so a running node
// never reads half a file) and returns the path in buf.
static const char *
write_file(char *buf, size_t len, const char *name, const char *text)
{
	return arb_test_write_file(tmpdir, name, text, buf, len);
}

// run_tree writes text as tmpdir/name (write_file: its path into file,
// len bytes) and starts "arbor run FILE" with env assignments
// (NULL-ended, may be NULL).
static void
run_tree(arb_test_proc *p, char *file, size_t len, const char *name,
    const char *text, const char *const *env)
{
	const char *args[16];
	int         n = 0;

	write_file(file, len, name, text);
	while (env != NULL && *env != NULL && n < 12) {
		args[n++] = *env++;
	}
	args[n++] = "--";
	args[n++] = "run";
	args[n++] = file;
	args[n] = NULL;
	arb_test_spawn(p, "arbor", args);
}

// wait_code waits for p's exit and returns its exit code.
static int
wait_code(arb_test_proc *p)
{
	return arb_test_exit_code(arb_test_wait_exit(p, WAIT_MS));
}

// stop_tree sends SIGTERM and returns the exit code.
static int
stop_tree(arb_test_proc *p)
{
	kill(p->pid, SIGTERM);
	return wait_code(p);
}

#ifdef ARBOR_PLUGIN_SO
// greeter_dir makes tmpdir/actors, an actor path directory holding the
// example plugin as greeter.so, and writes its path to dir.
static void
greeter_dir(char *dir, size_t len)
{
	char link[260];

	snprintf(dir, len, "%s/actors", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/greeter.so", dir);
	assert_int_equal(symlink(ARBOR_PLUGIN_SO, link), 0);
}
#endif

// --- tests ------------------------------------------------------------------

static void
test_thread_process_exec_tree_stops_cleanly(void **state)
{
	static const char yaml[]
	    = "node: {name: t62}\n"
	      "root:\n"
	      "  strategy: one_for_one\n"
	      "  intensity: 5\n"
	      "  period: 10s\n"
	      "  children:\n"
	      "    - {name: e, type: echo, isolation: thread}\n"
	      "    - {name: pe, type: echo, isolation: process}\n"
	      "    - name: c\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      config: {ready: late, ready_delay: 50ms}\n"
	      "    - name: sh\n"
	      "      command: [/bin/sh, -c, \"echo exec-up; exec sleep "
	      "1000\"]\n";
	arb_test_proc p;
	char          file[160];
	const char   *l;

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "tree.yaml", yaml, NULL);
	arb_test_expect(&p, "event=node_start node=t62", WAIT_MS);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "echo path=root/e ", WAIT_MS);
	assert_int_equal(arb_test_field(l, "ospid"), p.pid); // a thread
	l = arb_test_expect(&p, "echo path=root/pe ", WAIT_MS);
	assert_true(arb_test_field(l, "ospid") > 0);
	assert_int_not_equal(arb_test_field(l, "ospid"), p.pid); // a process
	arb_test_expect(&p, "crasher path=root/c ", WAIT_MS);
	arb_test_expect(&p, "event=ready late=yes", WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p, "exec-up", WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	assert_non_null(strstr(p.out, "root/sh event=stopped"));
	assert_non_null(strstr(p.out, "root/pe event=stopped"));
	assert_non_null(strstr(p.out, "exit_code=0"));
	arb_test_proc_fini(&p);
}

static void
test_failing_crasher_makes_root_give_up_70(void **state)
{
	static const char yaml[] = "root:\n"
	                           "  intensity: 2\n"
	                           "  period: 10s\n"
	                           "  children:\n"
	                           "    - name: c\n"
	                           "      type: crasher\n"
	                           "      isolation: process\n"
	                           "      config:\n"
	                           "        exit: {after: 20ms, reason: "
	                           "error, code: 5, text: boom}\n";
	arb_test_proc     p;
	char              file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "crash.yaml", yaml, NULL);
	assert_int_equal(wait_code(&p), ARB_EXIT_SOFTWARE);
	assert_int_equal(arb_test_count(&p,
	                     "root/c event=exit reason=error{code=5,"
	                     "text=\"boom\"}"),
	    3); // the first run and two restarts, then the third is too many
	assert_non_null(strstr(p.out, "root event=give_up"));
	assert_non_null(strstr(p.out, "exit_code=70"));
	arb_test_proc_fini(&p);
}

static void
test_fail_after_first_is_remembered_across_restarts(void **state)
{
	static const char fmt[] = "root:\n"
	                          "  intensity: 3\n"
	                          "  period: 10s\n"
	                          "  children:\n"
	                          "    - name: c\n"
	                          "      type: crasher\n"
	                          "      isolation: process\n"
	                          "      config:\n"
	                          "        init: fail_after_first\n"
	                          "        state_dir: %s\n"
	                          "        exit: {after: 20ms}\n";
	arb_test_proc     p;
	char              file[160], yaml[512], marker[200];
	struct stat       st;

	(void) state;
	need_arbor();
	snprintf(yaml, sizeof(yaml), fmt, tmpdir);
	run_tree(&p, file, sizeof(file), "first.yaml", yaml, NULL);
	assert_int_equal(wait_code(&p), ARB_EXIT_SOFTWARE);
	// Every start is a new process, yet only the first one succeeded:
	// the marker file remembered it.
	assert_int_equal(arb_test_count(&p, "root/c event=started"), 1);
	assert_int_equal(arb_test_count(&p, " event=ready"), 1);
	assert_true(arb_test_count(&p, "crasher path=root/c ospid=") > 3);
	assert_true(arb_test_count(&p, "event=init_failed") >= 3);
	assert_non_null(strstr(p.out, "decision=give_up"));
	snprintf(
	    marker, sizeof(marker), "%s/arbor-crasher-root_c.started", tmpdir);
	assert_int_equal(stat(marker, &st), 0);
	arb_test_proc_fini(&p);
}

static void
test_init_ignore_leaves_the_tree_up(void **state)
{
	static const char yaml[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: skip, type: crasher, config: {init: ignore}}\n"
	      "    - {name: pskip, type: crasher, isolation: process,\n"
	      "       config: {init: ignore}}\n"
	      "    - {name: e, type: echo}\n";
	arb_test_proc p;
	char          file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "ignore.yaml", yaml, NULL);
	arb_test_expect(&p, "root/skip event=ignored", WAIT_MS);
	arb_test_expect(&p, "root/pskip event=ignored", WAIT_MS);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	assert_int_equal(arb_test_count(&p, "root/skip event=started"), 0);
	arb_test_proc_fini(&p);
}

static void
test_ticker_echo_traffic_with_env_values(void **state)
{
	static const char yaml[]
	    = "root:\n"
	      "  children:\n"
	      "    - name: e\n"
	      "      type: echo\n"
	      "      isolation: process\n"
	      "      config: {log: true}\n"
	      "    - name: t\n"
	      "      type: ticker\n"
	      "      config:\n"
	      "        target: root/e\n"
	      "        interval: ${T62_INTERVAL:-20ms}\n"
	      "        tag: ${T62_TAG}\n"
	      "        body: ${T62_TEXT}\n"
	      "        log: true\n"
	      "    - name: q\n"
	      "      type: ticker\n"
	      "      config: {target: root/e, interval: 20ms, call: true,\n"
	      "               tag: 5, body: {n: 1}, log: true}\n"
	      "    - name: c\n"
	      "      type: crasher\n"
	      "      restart: temporary\n"
	      "      config:\n"
	      "        exit: {on_message: true, reason: error, code: 9,\n"
	      "               text: got-one}\n"
	      "    - name: tc\n"
	      "      type: ticker\n"
	      "      config: {target: root/c, interval: 20ms}\n";
	static const char *const env[]
	    = { "T62_TAG=77", "T62_TEXT=hello-env", NULL };
	arb_test_proc p;
	char          file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "traffic.yaml", yaml, env);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	// ticker -> echo (a process) -> back to the ticker, tag from $T62_TAG.
	arb_test_expect(&p,
	    "event=msg tag=77 len=10 request=no body=\"hello-env\"", WAIT_MS);
	arb_test_expect(&p, "event=msg tag=77 body=\"hello-env\"", WAIT_MS);
	p.mark = 0;
	// A request: echo replies with the same body.
	arb_test_expect(&p, "ticker path=root/q", WAIT_MS);
	arb_test_expect(&p, "event=reply seq=", WAIT_MS);
	assert_true(arb_test_count(&p, "tag=5 body={\"n\":1}") > 0);
	p.mark = 0;
	// A crasher told to exit on any message.
	arb_test_expect(&p,
	    "root/c event=exit reason=error{code=9,text=\"got-one\"} "
	    "decision=remove",
	    WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
}

static void
test_invalid_file_exits_78_before_starting(void **state)
{
	static const char yaml[] = "root:\n"
	                           "  children:\n"
	                           "    - name: e\n"
	                           "      type: echo\n"
	                           "      shutdown: whenever\n";
	arb_test_proc     p;
	char              file[160], where[200];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "bad.yaml", yaml, NULL);
	assert_int_equal(wait_code(&p), ARB_EXIT_CONFIG);
	snprintf(where, sizeof(where), "%s:5:", file);
	assert_non_null(strstr(p.out, where));
	assert_non_null(strstr(p.out, "nothing was started"));
	assert_null(strstr(p.out, "event=node_start"));
	assert_null(strstr(p.out, "echo path="));
	arb_test_proc_fini(&p);
}

static void
test_plugin_type_in_thread_and_process(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[]
	    = "plugins: [%s]\n"
	      "root:\n"
	      "  children:\n"
	      "    - {name: gt, type: greeter, config: {greeting: "
	      "hi-thread}}\n"
	      "    - name: gp\n"
	      "      type: greeter\n"
	      "      isolation: process\n"
	      "      config: {greeting: hi-process, excited: true}\n"
	      "    - name: q\n"
	      "      type: ticker\n"
	      "      config: {target: root/gp, interval: 20ms, call: true,\n"
	      "               log: true}\n";
	arb_test_proc p;
	char          file[160], yaml[1024];
	const char   *l;

	(void) state;
	need_arbor();
	snprintf(yaml, sizeof(yaml), fmt, ARBOR_PLUGIN_SO);
	run_tree(&p, file, sizeof(file), "plugin.yaml", yaml, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "info root/gt event=init", WAIT_MS);
	assert_int_equal(arb_test_field(l, "ospid"), p.pid);
	l = arb_test_expect(&p, "info root/gp event=init", WAIT_MS);
	assert_true(arb_test_field(l, "ospid") > 0);
	assert_int_not_equal(arb_test_field(l, "ospid"), p.pid);
	arb_test_expect(&p, "body=\"hi-process, pid ", WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples are not built
#endif
}

// An actor module found by its type name in $ARBOR_ACTOR_PATH (no
// plugins:): the node loads it, and so does each process actor, which
// re-executes the arbor binary and looks its type up the same way.  A
// file there that is not a module is reported with dlopen's reason.
static void
test_actor_path_finds_a_module_by_type_name(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char yaml[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: gt, type: greeter}\n"
	      "    - {name: gp, type: greeter, isolation: process}\n";
	static const char broken[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: b, type: broken}\n";
	arb_test_proc p;
	char          dir[200], env[260], file[160], so[260];
	const char   *envs[] = { env, NULL };
	const char   *args[] = { env, "--", "check", file, NULL };
	const char   *l;

	(void) state;
	need_arbor();
	greeter_dir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/broken.so", dir);
	write_file(file, sizeof(file), "actors/broken.so", "not an ELF\n");
	snprintf(env, sizeof(env), "ARBOR_ACTOR_PATH=/nonexistent:%s", dir);
	run_tree(&p, file, sizeof(file), "bypath.yaml", yaml, envs);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "info root/gt event=init", WAIT_MS);
	assert_int_equal(arb_test_field(l, "ospid"), p.pid);
	l = arb_test_expect(&p, "info root/gp event=init", WAIT_MS);
	assert_int_not_equal(arb_test_field(l, "ospid"), p.pid);
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);

	write_file(file, sizeof(file), "broken.yaml", broken);
	arb_test_spawn(&p, "arbor", args);
	assert_int_equal(wait_code(&p), ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out, "broken.yaml:3:"));
	assert_non_null(strstr(p.out, so));
	arb_test_proc_fini(&p);
	// Without the path the type is unknown, and the message says where
	// arbor looked.
	snprintf(env, sizeof(env), "ARBOR_ACTOR_PATH=");
	write_file(file, sizeof(file), "bypath.yaml", yaml);
	arb_test_spawn(&p, "arbor", args);
	assert_int_equal(wait_code(&p), ARB_EXIT_CONFIG);
	assert_non_null(strstr(p.out, "unknown actor type \"greeter\" (no "
	                              "greeter.so in the actor path"));
	assert_non_null(strstr(p.out, "arbor/actors)"));
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples are not built
#endif
}

// maps_has is true when the memory map of process pid names needle (a
// file mapped in it).
static bool
maps_has(pid_t pid, const char *needle)
{
	char  path[64], line[1024];
	FILE *f;
	bool  found = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int) pid);
	assert_non_null(f = fopen(path, "r"));
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, needle) != NULL;
	}
	fclose(f);
	return found;
}

// The node loads the module of a type it runs itself (a thread child)
// and no other: the configs of process actors' types are checked in a
// child of the program (src/actor/typecheck.c), so their modules, and
// the libraries they link (the MQTT actor's OpenSSL, which never
// unloads), are never mapped in the node.  A reload still checks a
// process actor's changed config, and loads the module when it adds a
// thread child of the type.
static void
test_node_maps_only_the_modules_it_runs(void **state)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: e, type: echo}\n"
	      "    - name: gp\n"
	      "      type: greeter\n"
	      "      isolation: process\n"
	      "      config: {greeting: hi, max_len: %d}\n"
	      "%s"
	      "%s";
	static const char mqtt[]
	    = "    - {name: m, type: mqtt, isolation: process,\n"
	      "       config: {host: 127.0.0.1, port: 1, client_id: t62}}\n";
	static const char gt[] = "    - {name: gt, type: greeter}\n";
	arb_test_proc p;
	char          dir[200], env[260], file[160], yaml[1024];
	char          where[200];
	const char   *envs[] = { env, NULL };
	const char   *l;
	const char   *m = "";

	(void) state;
	need_arbor();
#ifdef ARBOR_MQTT_MODULE
	m = mqtt;
#endif
	greeter_dir(dir, sizeof(dir));
	snprintf(env, sizeof(env), "ARBOR_ACTOR_PATH=%s", dir);
	snprintf(yaml, sizeof(yaml), fmt, 64, m, "");
	run_tree(&p, file, sizeof(file), "maps.yaml", yaml, envs);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "info root/gp event=init", WAIT_MS);
	assert_int_not_equal(arb_test_field(l, "ospid"), p.pid);
	assert_true(maps_has(p.pid, "/echo.so"));
	assert_false(maps_has(p.pid, "/greeter.so"));
	assert_false(maps_has(p.pid, "/mqtt.so"));
	assert_false(maps_has(p.pid, "libcrypto"));
	assert_false(maps_has(p.pid, "libmosquitto"));

	// A changed process actor's config is checked: 5 is below max_len's
	// 16, at line 7 of the file.
	snprintf(yaml, sizeof(yaml), fmt, 5, m, "");
	write_file(file, sizeof(file), "maps.yaml", yaml);
	kill(p.pid, SIGHUP);
	snprintf(where, sizeof(where), "event=reload_error %s:7:", file);
	l = arb_test_expect(&p, where, WAIT_MS);
	assert_non_null(strstr(l, "config.max_len: greeter: "));
	arb_test_expect(&p, "event=reload_rejected", WAIT_MS);
	assert_false(maps_has(p.pid, "/greeter.so"));

	// A thread child of the type: the node loads it now, and runs it.
	snprintf(yaml, sizeof(yaml), fmt, 64, m, gt);
	write_file(file, sizeof(file), "maps.yaml", yaml);
	kill(p.pid, SIGHUP);
	arb_test_expect(&p, "event=reload_applied", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "info root/gt event=init", WAIT_MS);
	assert_int_equal(arb_test_field(l, "ospid"), p.pid);
	assert_true(maps_has(p.pid, "/greeter.so"));
	assert_false(maps_has(p.pid, "libcrypto"));
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
#else
	(void) state;
	skip(); // examples are not built
#endif
}

// standby_children counts the node's child processes spawned as a standby
// ("EXE --arb-actor - NODEPID", waiting, or a process actor since it took
// its INIT), from every task's children list.
static int
standby_children(pid_t node)
{
	char  path[320], buf[4096], cmd[512];
	FILE *f;
	DIR  *d;
	struct dirent *e;
	int   n = 0;
	long  kid;
	char *p, *q, *end;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/task", (int) node);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
		    (int) node, e->d_name);
		if ((f = fopen(path, "r")) == NULL) {
			continue; // the thread ended
		}
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		for (p = buf; (kid = strtol(p, &end, 10)) > 0; p = end) {
			snprintf(path, sizeof(path), "/proc/%ld/cmdline", kid);
			if ((f = fopen(path, "r")) == NULL) {
				continue;
			}
			len = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
			cmd[len] = '\0';
			// argv[1] "--arb-actor", argv[2] "-"
			q = cmd + strlen(cmd) + 1;
			if (q < cmd + len && strcmp(q, "--arb-actor") == 0
			    && strcmp(q + strlen(q) + 1, "-") == 0) {
				n++;
			}
		}
	}
	closedir(d);
	return n;
}

// node.standby: false keeps no standby process (a spare process actor
// spawned ahead, docs/design.md), and process actors still start and
// restart, each spawned afresh.  The default keeps one, seen the same
// way.
static void
test_standby_false_keeps_no_spare_process(void **state)
{
	static const char fmt[]
	    = "node: {standby: %s}\n"
	      "root:\n"
	      "  intensity: 1000\n"
	      "  period: 10s\n"
	      "  children:\n"
	      "    - name: c\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      config: {exit: {after: 20ms, reason: error, code: 3}}\n"
	      "      backoff: {min: 1ms, max: 5ms}\n";
	static const char *const modes[] = { "true", "false" };
	arb_test_proc p;
	char          file[160], yaml[512];
	int64_t       deadline;
	int           i, m, seen;

	(void) state;
	need_arbor();
	for (m = 0; m < 2; m++) {
		snprintf(yaml, sizeof(yaml), fmt, modes[m]);
		run_tree(&p, file, sizeof(file), "standby.yaml", yaml, NULL);
		arb_test_expect(&p, "root event=tree_up", WAIT_MS);
		// Five incarnations: four restarts.
		for (i = 0; i < 5; i++) {
			arb_test_expect(&p, "root/c event=started ", WAIT_MS);
		}
		if (m == 0) {
			// A standby exists between a start's INIT and the next
			// start that takes it (and keeps its argv once taken:
			// the real type is in its INIT): look until one is seen.
			deadline = arb_test_now_ms() + WAIT_MS;
			seen = 0;
			while (seen == 0 && arb_test_now_ms() < deadline) {
				seen = standby_children(p.pid);
			}
			assert_true(seen >= 1);
			assert_true(arb_test_count(&p, "event=standby ") > 0);
		} else {
			assert_int_equal(standby_children(p.pid), 0);
			assert_int_equal(arb_test_count(&p, "event=standby "), 0);
		}
		assert_int_equal(stop_tree(&p), 0);
		arb_test_proc_fini(&p);
	}
}

static void
test_sighup_applies_a_valid_file_and_rejects_an_invalid_one(void **state)
{
	static const char v1[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: e1, type: echo, isolation: process}\n";
	static const char v2[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: e1, type: echo, isolation: process}\n"
	      "    - {name: e2, type: echo}\n";
	static const char bad[]
	    = "root:\n"
	      "  children:\n"
	      "    - {name: e1, type: echo, isolation: process}\n"
	      "    - {name: e2, type: nosuch}\n";
	arb_test_proc p;
	char          file[160], where[200];
	const char   *l;
	long          e1;

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "reload.yaml", v1, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	l = arb_test_expect(&p, "echo path=root/e1 ", WAIT_MS);
	e1 = arb_test_field(l, "ospid");
	write_file(file, sizeof(file), "reload.yaml", v2);
	kill(p.pid, SIGHUP);
	arb_test_expect(&p, "root/e2 event=reload action=add", WAIT_MS);
	p.mark = 0; // the new thread may print before or after this line
	arb_test_expect(&p, "event=reload_applied", WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p, "echo path=root/e2 ", WAIT_MS);
	write_file(file, sizeof(file), "reload.yaml", bad);
	kill(p.pid, SIGHUP);
	snprintf(where, sizeof(where), "event=reload_error %s:4:", file);
	arb_test_expect(&p, where, WAIT_MS);
	arb_test_expect(&p, "event=reload_rejected", WAIT_MS);
	// The tree is untouched: e1 is the same process, e2 still runs.
	assert_int_equal(arb_test_count(&p, "event=stopped"), 0);
	assert_int_equal(arb_test_count(&p, "echo path=root/e1 "), 1);
	assert_true(e1 > 0);
	assert_int_equal(stop_tree(&p), 0);
	assert_non_null(strstr(p.out, "root/e2 event=stopped"));
	arb_test_proc_fini(&p);
}

static void
test_crashes_in_both_isolations_and_a_stuck_thread(void **state)
{
	static const char yaml[]
	    = "root:\n"
	      "  children:\n"
	      "    - name: tcrash\n"
	      "      type: crasher\n"
	      "      restart: temporary\n"
	      "      config: {exit: {after: 10ms, signal: SIGSEGV}}\n"
	      "    - name: pcrash\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      restart: temporary\n"
	      "      config: {exit: {after: 10ms, signal: SIGSEGV}}\n"
	      "    - name: pstatus\n"
	      "      type: crasher\n"
	      "      isolation: process\n"
	      "      restart: temporary\n"
	      "      config: {exit: {after: 10ms, status: 3}}\n"
	      "    - name: stuck\n"
	      "      type: crasher\n"
	      "      shutdown: 100ms\n"
	      "      config: {stop: never}\n";
	arb_test_proc p;
	char          file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "crashes.yaml", yaml, NULL);
	arb_test_expect(&p, "root event=tree_up", WAIT_MS);
	p.mark = 0;
	// A thread reports the crash without taking the node down; a
	// process really dies of the signal or exits with the status.
	arb_test_expect(&p,
	    "root/tcrash event=exit reason=crashed{signal=SIGSEGV}", WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p,
	    "root/pcrash event=exit reason=crashed{signal=SIGSEGV}", WAIT_MS);
	p.mark = 0;
	arb_test_expect(
	    &p, "root/pstatus event=exit reason=error{code=3", WAIT_MS);
	// A thread that ignores the stop is abandoned: exit 71.
	assert_int_equal(stop_tree(&p), ARB_EXIT_UNCLEAN);
	assert_non_null(strstr(p.out, "root/stuck event=abandoned"));
	arb_test_proc_fini(&p);
}

// --- the log ----------------------------------------------------------------

// stamped is true when line starts with an RFC 3339 UTC time with
// milliseconds and a blank ("2025-01-06T05:13:00.123Z ").
static bool
stamped(const char *line)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	size_t            i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? line[i] < '0' || line[i] > '9'
		                    : line[i] != shape[i]) {
			return false;
		}
	}
	return true;
}

// log_run runs a node with the greeter plugin as a process actor, either
// through "arbor run ARGS... FILE" or, when journal is set, through a
// shell that sets $JOURNAL_STREAM to the device and inode of its stderr
// (the pipe the harness reads), as systemd does for a service logging to
// the journal.  It checks how the node's own line and the process actor's
// line start (want_prefix, then a time when want_stamp), then stops the
// node.
static void
log_run(const char *name, const char *node_extra, const char *flag,
    bool journal, const char *want_prefix, bool want_stamp)
{
#ifdef ARBOR_PLUGIN_SO
	static const char fmt[] = "plugins: [%s]\n"
	                          "node: {name: %s, control: %s.sock%s}\n"
	                          "root:\n"
	                          "  children:\n"
	                          "    - {name: g, type: greeter, isolation: "
	                          "process}\n";
	arb_test_proc     p;
	char              yaml[1024], file[160], what[64];
	const char       *args[12], *lines[2], *l;
	size_t            n = 0, i, k;

	snprintf(
	    yaml, sizeof(yaml), fmt, ARBOR_PLUGIN_SO, name, name, node_extra);
	snprintf(what, sizeof(what), "%s.yaml", name);
	write_file(file, sizeof(file), what, yaml);
	args[n++] = "--";
	if (journal) {
		args[n++] = "-c";
		args[n++]
		    = "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) "
		      "exec \"$0\" run \"$1\"";
		args[n++] = ARBOR_BIN;
		args[n++] = file;
		args[n] = NULL;
		arb_test_spawn(&p, "sh", args);
	} else {
		args[n++] = "run";
		if (flag != NULL) {
			args[n++] = flag;
		}
		args[n++] = file;
		args[n] = NULL;
		arb_test_spawn(&p, "arbor", args);
	}
	lines[0] = "event=node_start";
	lines[1] = "root/g event=init"; // arb_log in the process actor
	for (i = 0; i < 2; i++) {
		p.mark = 0;
		l = arb_test_expect(&p, lines[i], WAIT_MS);
		k = strlen(want_prefix);
		if (strncmp(l, want_prefix, k) != 0
		    || stamped(l + k) != want_stamp
		    || strncmp(l + k + (want_stamp ? 25 : 0), "arbor[", 6)
		        != 0) {
			fail_msg("%s: the line of \"%s\" should start with "
			         "\"%s\"%s then \"arbor[\":\n%s",
			    name, lines[i], want_prefix,
			    want_stamp ? ", a time" : "", p.out);
		}
	}
	assert_int_equal(stop_tree(&p), 0);
	arb_test_proc_fini(&p);
#else
	(void) name;
	(void) node_extra;
	(void) flag;
	(void) journal;
	(void) want_prefix;
	(void) want_stamp;
	skip(); // the example plugin is not built
#endif
}

// Log lines start with their time (RFC 3339, UTC, milliseconds) unless
// stderr is the journal, which stamps lines itself and takes the syslog
// priority instead; --log-time and node.log_time force either way, for
// the node and for its process actors alike.
static void
test_log_lines_carry_their_time_unless_on_the_journal(void **state)
{
	(void) state;
	need_arbor();
	log_run("t62a", "", NULL, false, "", true);
	log_run("t62b", "", "--log-time=off", false, "", false);
	log_run("t62c", ", log_time: off", NULL, false, "", false);
	log_run("t62d", "", NULL, true, "<6>", false);
	log_run("t62e", ", log_time: on", NULL, true, "<6>", true);
}

static void
test_log_time_flag_is_checked(void **state)
{
	arb_test_proc p;
	const char   *args[]
	    = { "--", "run", "--log-time=sometimes", "x.yaml", NULL };

	(void) state;
	need_arbor();
	arb_test_spawn(&p, "arbor", args);
	assert_int_equal(wait_code(&p), ARB_EXIT_USAGE);
	assert_non_null(
	    strstr(p.out, "\"sometimes\": expected auto, on or off"));
	arb_test_proc_fini(&p);
}

// A listener whose host does not resolve: `arbor check` passes it (host
// names are not resolved then, deliberately), `arbor run` stops before
// starting and says which host could not be resolved -- not nng's
// "invalid argument".  (.invalid never resolves: RFC 6761.)
static void
test_unresolvable_listen_host_is_named(void **state)
{
	static const char yaml[] = "node:\n"
	                           "  name: t62r\n"
	                           "  control: t62r.sock\n"
	                           "  listen: tcp://nonexistent.invalid:7\n"
	                           "  insecure: true\n"
	                           "root:\n"
	                           "  children:\n"
	                           "    - {name: e, type: echo}\n";
	arb_test_proc p;
	char          file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "unresolved.yaml", yaml, NULL);
	assert_int_not_equal(wait_code(&p), 0);
	if (strstr(p.out, "listen tcp://nonexistent.invalid:7: host "
	                  "nonexistent.invalid could not be resolved (")
	    == NULL) {
		fail_msg("not named: %s", p.out);
	}
	assert_null(strstr(p.out, "echo path="));
	arb_test_proc_fini(&p);
}

// A listener whose port another process holds: `arbor run` stops before
// starting and says the address is in use -- not "name already
// registered" (ARB_EEXIST's text, what nng's EADDRINUSE maps to).
static void
test_listen_address_in_use_is_named(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t          alen = sizeof(a);
	arb_test_proc      p;
	char               yaml[512], file[160], want[96];
	int                fd;

	(void) state;
	need_arbor();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
	snprintf(yaml, sizeof(yaml),
	    "node:\n"
	    "  name: t62u\n"
	    "  control: t62u.sock\n"
	    "  listen: tcp://127.0.0.1:%d\n"
	    "  insecure: true\n"
	    "root:\n"
	    "  children:\n"
	    "    - {name: e, type: echo}\n",
	    ntohs(a.sin_port));
	run_tree(&p, file, sizeof(file), "inuse.yaml", yaml, NULL);
	assert_int_not_equal(wait_code(&p), 0);
	snprintf(want, sizeof(want),
	    "listen tcp://127.0.0.1:%d: address in use (", ntohs(a.sin_port));
	if (strstr(p.out, want) == NULL) {
		fail_msg("not named: %s", p.out);
	}
	// (arbor's own summary line: errno's text, not ARB_EEXIST's)
	if (strstr(p.out, "already registered") != NULL
	    || strstr(p.out, "cannot open the node: Address already in use")
	        == NULL) {
		fail_msg("summary: %s", p.out);
	}
	assert_null(strstr(p.out, "echo path="));
	arb_test_proc_fini(&p);
	close(fd);
}

// A permanent child is never meant to end: one that exits 0 and is
// restarted, again and again, is logged at warn (a transient one that
// exits 0 is done, at info).
static void
test_permanent_child_exiting_0_in_a_loop_is_a_warning(void **state)
{
	static const char yaml[] = "node: {control: loop.sock}\n"
	                           "root:\n"
	                           "  intensity: 1000\n"
	                           "  period: 10s\n"
	                           "  children:\n"
	                           "    - name: once\n"
	                           "      command: [/bin/true]\n"
	                           "      restart: transient\n"
	                           "    - name: loop\n"
	                           "      command: [/bin/true]\n"
	                           "      backoff: {min: 50ms, max: 50ms}\n";
	arb_test_proc     p;
	char              file[160];

	(void) state;
	need_arbor();
	run_tree(&p, file, sizeof(file), "loop.yaml", yaml, NULL);
	arb_test_expect(&p,
	    "]: info root/once event=exit reason=normal decision=none",
	    WAIT_MS);
	p.mark = 0;
	arb_test_expect(&p,
	    "]: warn root/loop event=exit reason=normal "
	    "decision=restart(backoff) restarts=0",
	    WAIT_MS);
	arb_test_expect(&p,
	    "]: warn root/loop event=exit reason=normal "
	    "decision=restart(backoff) restarts=1",
	    WAIT_MS);
	assert_int_equal(stop_tree(&p), 0);
	assert_int_equal(
	    arb_test_count(&p, "]: info root/loop event=exit"), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_thread_process_exec_tree_stops_cleanly, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_failing_crasher_makes_root_give_up_70, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_fail_after_first_is_remembered_across_restarts, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_init_ignore_leaves_the_tree_up, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_ticker_echo_traffic_with_env_values, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_invalid_file_exits_78_before_starting, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_plugin_type_in_thread_and_process, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_actor_path_finds_a_module_by_type_name, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_node_maps_only_the_modules_it_runs, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_standby_false_keeps_no_spare_process, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_sighup_applies_a_valid_file_and_rejects_an_invalid_one, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_crashes_in_both_isolations_and_a_stuck_thread, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_log_lines_carry_their_time_unless_on_the_journal, setup,
	    teardown),
	cmocka_unit_test_setup_teardown(
	    test_log_time_flag_is_checked, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_unresolvable_listen_host_is_named, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_listen_address_in_use_is_named, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_permanent_child_exiting_0_in_a_loop_is_a_warning, setup,
	    teardown),
};

ARB_TEST_MAIN("integration.arbor_run", tests, helpers)
