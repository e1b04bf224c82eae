// SPDX-License-Identifier: MIT
// main.c -- the arbor program: `arbor run FILE` runs the supervision tree
// a YAML file describes, `arbor check FILE` validates it (docs/config.md).
//
// A thin main over the library: the tree file's loader and checker
// (arb_tree_*) and the operator surface (arb_node_serve: control socket,
// HTTP, reload, systemd) are the library's operator layer, which any
// program can embed.  The same binary is also every process actor of the
// tree (the library re-executes it): arb_actor_main never returns in an
// actor process, where the library loads the plugins of $ARBOR_PLUGINS
// and the project's actor types by name.  Exit codes are the node's (0,
// 70, 71), 64 for a bad command line and 78 for a bad file
// (docs/supervision.md).  Thread: main; the node thread once arb_node_run
// runs.

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <stdio.h>
#include <string.h>

static const char usage_text[]
    = "usage: arbor run [--log-time=auto|on|off] FILE\n"
      "                           run the supervision tree described in FILE\n"
      "       arbor check FILE... check tree files without running anything\n"
      "       arbor --help | --version\n"
      "\n"
      "FILE is YAML (docs/config.md).  Exit status: 0 stopped on request,\n"
      "64 usage error, 70 the tree gave up or failed to start, 71 stopped\n"
      "but a thread actor had to be abandoned, 78 invalid file.\n";

static const char run_usage[]
    = "usage: arbor run [--log-time=auto|on|off] FILE\n"
      "\n"
      "Starts a node with the tree in FILE and runs it until SIGTERM or\n"
      "SIGINT (a second one makes the stop brutal).  SIGHUP re-reads FILE\n"
      "and applies the differences; an invalid file is rejected and the\n"
      "tree keeps running.  An invalid FILE exits 78 before anything runs.\n"
      "\n"
      "`arborctl` controls the node through its socket: node.control, by\n"
      "default $XDG_RUNTIME_DIR/arbor/NAME.sock or /tmp/arbor-UID/NAME.sock\n"
      "in a 0700 directory.  node.http adds read-only HTTP on loopback\n"
      "(/healthz, /readyz, /metrics, /api/tree, /): docs/operations.md.\n"
      "\n"
      "Log lines go to stderr, each starting with its time (RFC 3339, UTC)\n"
      "unless stderr is the systemd journal, which stamps them itself.\n"
      "--log-time=on or off forces timestamps either way (node.log_time,\n"
      "$ARB_LOG_TIME); auto is the default.\n";

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
print_errs(const arb_tree *tree, const char *file)
{
	size_t      i, n = arb_tree_errors(tree);
	const char *e;

	for (i = 0; i < n && (e = arb_tree_error(tree, i)) != NULL; i++) {
		fprintf(stderr, "%s\n", e);
	}
	fprintf(stderr, "arbor: %s: %zu problem%s%s\n", file, n,
	    n == 1 ? "" : "s", i < n ? " (the first ones are listed)" : "");
}

// load reads file; on a problem it prints them and returns the exit code
// (78, or 70 out of memory), else 0.
static int
load(const char *file, arb_tree **treep)
{
	int rv = arb_tree_load(file, treep);

	if (rv == ARB_ENOMEM) {
		fprintf(stderr, "arbor: out of memory\n");
		return ARB_EXIT_SOFTWARE;
	}
	if (rv != ARB_OK) {
		print_errs(*treep, file);
		arb_tree_free(*treep);
		*treep = NULL;
		return ARB_EXIT_CONFIG;
	}
	return 0;
}

// --- arbor check ------------------------------------------------------------

static int
cmd_check(int argc, char **argv)
{
	arb_tree *tree;
	int       i, code = ARB_EXIT_OK, c;

	for (i = 0; i < argc; i++) {
		if ((c = load(argv[i], &tree)) != 0) {
			code = c;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		arb_tree_free(tree);
	}
	return code;
}

// --- arbor run --------------------------------------------------------------

static int
cmd_run(const char *file, int log_time)
{
	arb_tree      *tree;
	arb_node      *node;
	arb_node_opts  opts;
	arb_serve_opts serve = { 0 };
	int            code, rv;

	if ((code = load(file, &tree)) != 0) {
		fprintf(stderr, "arbor: %s: nothing was started\n", file);
		return code;
	}
	arb_tree_node_opts(tree, &opts);
	if (log_time >= 0) {
		opts.log_time = log_time; // the command line wins
	}
	if ((rv = arb_node_open(&node, &opts)) != ARB_OK) {
		fprintf(stderr, "arbor: cannot open the node: %s\n",
		    arb_strerror(rv));
		arb_tree_free(tree);
		return ARB_EXIT_SOFTWARE;
	}
	// The control socket, HTTP, reload (SIGHUP, arborctl reload) and
	// systemd, from the tree's node.* settings; the reasons of a
	// failure are logged.
	serve.tree = tree;
	if ((rv = arb_node_serve(node, &serve)) != ARB_OK) {
		arb_node_close(node);
		arb_tree_free(tree);
		return rv == ARB_ESPEC ? ARB_EXIT_CONFIG : ARB_EXIT_SOFTWARE;
	}
	rv = arb_node_run(node, arb_tree_spec(tree), &code);
	if (rv != ARB_OK && rv != ARB_ESPEC) {
		fprintf(stderr, "arbor: cannot run the tree: %s\n",
		    arb_strerror(rv));
		code = ARB_EXIT_SOFTWARE;
	}
	arb_node_close(node); // stops the services first
	arb_tree_free(tree);
	return code;
}

// --- Command line -----------------------------------------------------------

// log_time_word reads the value of --log-time: ARB_LOG_TIME_*, or -1.
static int
log_time_word(const char *s)
{
	return strcmp(s, "auto") == 0 ? ARB_LOG_TIME_AUTO
	    : strcmp(s, "on") == 0    ? ARB_LOG_TIME_ON
	    : strcmp(s, "off") == 0   ? ARB_LOG_TIME_OFF
	                              : -1;
}

// command_args checks the options of a subcommand: --help prints help,
// "--" ends the options, --log-time=WORD (or --log-time WORD) sets
// *log_time when log_time is not NULL (`run` only), anything else
// starting with '-' is an error.  Returns -1 to go on with
// argv[*first..], or an exit code.
static int
command_args(
    int argc, char **argv, const char *help, int *first, int *log_time)
{
	const char *v;
	int         i;

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
		if (log_time != NULL && strncmp(argv[i], "--log-time", 10) == 0
		    && (argv[i][10] == '=' || argv[i][10] == '\0')) {
			v = argv[i][10] == '=' ? argv[i] + 11
			    : i + 1 < argc     ? argv[++i]
			                       : "";
			if ((*log_time = log_time_word(v)) < 0) {
				return usage_error("--log-time: \"%s\": "
				                   "expected auto, on or off",
				    v);
			}
			continue;
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
	int rv, first, log_time = -1;

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
		if ((rv = command_args(
		         argc, argv, run_usage, &first, &log_time))
		    >= 0) {
			return rv;
		}
		if (argc - first != 1) {
			return usage_error("%s", "run needs exactly one FILE");
		}
		rv = cmd_run(argv[first], log_time);
	} else if (strcmp(argv[1], "check") == 0) {
		if ((rv = command_args(argc, argv, check_usage, &first, NULL))
		    >= 0) {
			return rv;
		}
		if (argc - first < 1) {
			return usage_error("%s", "check needs a FILE");
		}
		rv = cmd_check(argc - first, argv + first);
	} else if (argv[1][0] == '-') {
		return usage_error("unknown option %s", argv[1]);
	} else {
		return usage_error("unknown command %s", argv[1]);
	}
	return rv;
}
