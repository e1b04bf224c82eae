// SPDX-License-Identifier: MIT
// main.c -- the arbor program: `arbor run FILE` runs the supervision tree
// a YAML file describes, `arbor check FILE` validates it (docs/config.md).
//
// The same binary is also every process actor of the tree (the library
// re-executes it), so main loads the plugins of $ARBOR_PLUGINS before
// arb_actor_main, which never returns in an actor process; the project's
// actor types (actors/) load by name from the actor path.  Exit codes are the node's (0, 70, 71),
// 64 for a bad command line and 78 for a bad file (docs/supervision.md).
// Thread: main; the node thread once arb_node_run runs (hooks, services).

#include "config.h"
#include "control.h"
#include "http.h"
#include "notify.h"
#include "plugin.h"
#include "services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[]
    = "usage: arbor run FILE      run the supervision tree described in FILE\n"
      "       arbor check FILE... check tree files without running anything\n"
      "       arbor --help | --version\n"
      "\n"
      "FILE is YAML (docs/config.md).  Exit status: 0 stopped on request,\n"
      "64 usage error, 70 the tree gave up or failed to start, 71 stopped\n"
      "but a thread actor had to be abandoned, 78 invalid file.\n";

static const char run_usage[]
    = "usage: arbor run FILE\n"
      "\n"
      "Starts a node with the tree in FILE and runs it until SIGTERM or\n"
      "SIGINT (a second one makes the stop brutal).  SIGHUP re-reads FILE\n"
      "and applies the differences; an invalid file is rejected and the\n"
      "tree keeps running.  An invalid FILE exits 78 before anything runs.\n"
      "\n"
      "`arborctl` controls the node through its socket: node.control, by\n"
      "default $XDG_RUNTIME_DIR/arbor/NAME.sock or /tmp/arbor-UID/NAME.sock\n"
      "in a 0700 directory.  node.http adds read-only HTTP on loopback\n"
      "(/healthz, /readyz, /metrics, /api/tree, /): docs/operations.md.\n";

static const char check_usage[]
    = "usage: arbor check FILE...\n"
      "\n"
      "Validates tree files without running them: prints every problem as\n"
      "FILE:LINE:COLUMN: field: what is wrong, and exits 78 if there is\n"
      "any, 0 if every file is valid.\n";

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "arbor: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return ARB_EXIT_USAGE;
}

static void
print_errs(const arbor_errs *errs, const char *file, size_t from)
{
	size_t i;

	for (i = from; i < errs->n; i++) {
		fprintf(stderr, "%s\n", errs->v[i].text);
	}
	fprintf(stderr, "arbor: %s: %zu problem%s\n", file, errs->n - from,
	    errs->n - from == 1 ? "" : "s");
}

// --- arbor check ------------------------------------------------------------

static int
cmd_check(int argc, char **argv)
{
	arbor_errs    errs = { 0 };
	arbor_config *cfg;
	size_t        before;
	int           i, code = ARB_EXIT_OK;

	for (i = 0; i < argc; i++) {
		before = errs.n;
		if (arbor_config_load(argv[i], &cfg, &errs) != ARB_OK) {
			print_errs(&errs, argv[i], before);
			code = ARB_EXIT_CONFIG;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		arbor_config_free(cfg);
	}
	arbor_errs_fini(&errs);
	return code;
}

// --- arbor run --------------------------------------------------------------

// on_sighup is the node's reload hook: it logs every problem of an
// invalid file (the lines `arbor check` prints) and keeps the tree.
// `arborctl reload` takes the same path through the control socket.
static void
on_sighup(arb_node *node, void *arg)
{
	arbor_run *run = arg;
	arbor_errs errs = { 0 };

	(void) node;
	arbor_run_reload_logged(run, &errs, "sighup");
	arbor_errs_fini(&errs);
}

// systemd (notify.c): READY=1 once the whole tree is up, STOPPING=1, a
// STATUS= line on changes, WATCHDOG=1 while every loop is live.  All are
// harmless no-ops outside a Type=notify unit.
static void
on_ready(arb_node *node, void *arg)
{
	(void) arg;
	arbor_notify_ready(node);
}

static void
on_stopping(arb_node *node, void *arg)
{
	(void) arg;
	arbor_notify_stopping(node);
}

static void
on_changed(arb_node *node, void *arg)
{
	(void) arg;
	arbor_notify_changed(node);
}

// ---------------------------------------------------------------------------
// Services: the control socket (control.c: node.control, or the default
// path) and the HTTP endpoint (http.c: node.http, off unless
// configured).  They start on the node's own loop, arb_node_base, after
// arb_node_open and before arb_node_run, so they run on the node thread
// and may call every arb_node_* function and arbor_run_reload
// (services.h).  services_stop runs after arb_node_run has returned and
// before arb_node_close.
// ---------------------------------------------------------------------------

// services_start returns 0, or the exit code of a service that could
// not start (it logged why).
static int
services_start(arbor_run *run)
{
	int code;

	if ((code = arbor_control_start(run)) != 0) {
		return code;
	}
	if ((code = arbor_http_start(run)) != 0) {
		arbor_control_stop(run);
		return code;
	}
	return 0;
}

static void
services_stop(arbor_run *run)
{
	arbor_http_stop(run);
	arbor_control_stop(run);
}

static int
cmd_run(const char *file)
{
	arbor_errs     errs = { 0 };
	arbor_run      run = { 0 };
	arb_node_opts  opts = { 0 };
	arb_node_hooks hooks = { 0 };
	int            code = ARB_EXIT_SOFTWARE;
	int            rv;

	if (arbor_config_load(file, &run.cfg, &errs) != ARB_OK) {
		print_errs(&errs, file, 0);
		fprintf(stderr, "arbor: %s: nothing was started\n", file);
		arbor_errs_fini(&errs);
		return ARB_EXIT_CONFIG;
	}
	run.file = file;
	// Process actors re-execute this binary: they load the same plugins.
	arbor_plugin_export_env();
	opts.name = run.cfg->name;
	opts.run_dir = run.cfg->run_dir;
	opts.max_msg_size = run.cfg->max_msg_size;
	opts.log_level = run.cfg->log_level;
	if ((rv = arb_node_open(&run.node, &opts)) != ARB_OK) {
		fprintf(stderr, "arbor: cannot open the node: %s\n",
		    arb_strerror(rv));
		arbor_config_free(run.cfg);
		return ARB_EXIT_SOFTWARE;
	}
	hooks.reload = on_sighup;
	hooks.ready = on_ready;
	hooks.stopping = on_stopping;
	hooks.changed = on_changed;
	arb_node_set_hooks(run.node, &hooks, &run);
	if ((code = services_start(&run)) != 0) {
		arb_node_close(run.node);
		arbor_config_free(run.cfg);
		return code;
	}
	arbor_notify_init(run.node);
	rv = arb_node_run(run.node, run.cfg->root, &code);
	if (rv != ARB_OK && rv != ARB_ESPEC) {
		fprintf(stderr, "arbor: cannot run the tree: %s\n",
		    arb_strerror(rv));
		code = ARB_EXIT_SOFTWARE;
	}
	arbor_notify_fini();
	services_stop(&run);
	arb_node_close(run.node);
	arbor_config_free(run.cfg);
	return code;
}

// --- Command line -----------------------------------------------------------

// command_args checks the options of a subcommand: --help prints help,
// "--" ends the options, anything else starting with '-' is an error.
// Returns -1 to go on with argv[*first..], or an exit code.
static int
command_args(int argc, char **argv, const char *help, int *first)
{
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0
		    || strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			return ARB_EXIT_OK;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return usage_error("unknown option %s", argv[i]);
		}
		break;
	}
	*first = i;
	return -1;
}

int
main(int argc, char **argv)
{
	char errbuf[1024];
	int  plugins_ok, rv, first;

	// Before arb_actor_main: a process actor of type T must find T.
	// Types found by name in the actor path (the project's, in
	// actors/) are loaded by the library when asked for; plugins named
	// by path come from $ARBOR_PLUGINS.
	plugins_ok = arbor_plugin_load_env(errbuf, sizeof(errbuf)) == 0;
	if (!plugins_ok) {
		fprintf(stderr, "arbor: %s: %s\n", ARBOR_PLUGINS_ENV, errbuf);
	}
	arb_actor_main(argc, argv); // returns unless this is an actor

	if (argc < 2) {
		fputs(usage_text, stderr);
		return ARB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return ARB_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("arbor %s\n", arb_version());
		return ARB_EXIT_OK;
	}
	if (strcmp(argv[1], "run") == 0) {
		if ((rv = command_args(argc, argv, run_usage, &first)) >= 0) {
			return rv;
		}
		if (argc - first != 1) {
			return usage_error("%s", "run needs exactly one FILE");
		}
		rv = plugins_ok ? cmd_run(argv[first]) : ARB_EXIT_CONFIG;
	} else if (strcmp(argv[1], "check") == 0) {
		if ((rv = command_args(argc, argv, check_usage, &first))
		    >= 0) {
			return rv;
		}
		if (argc - first < 1) {
			return usage_error("%s", "check needs a FILE");
		}
		rv = plugins_ok ? cmd_check(argc - first, argv + first)
		                : ARB_EXIT_CONFIG;
	} else if (argv[1][0] == '-') {
		return usage_error("unknown option %s", argv[1]);
	} else {
		return usage_error("unknown command %s", argv[1]);
	}
	arbor_plugin_fini();
	return rv;
}
