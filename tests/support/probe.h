// SPDX-License-Identifier: MIT
// probe.h -- "probe", a configurable actor for integration tests.
//
// Its arg is a string of key=value pairs separated by ';':
//   init=ok|fail|ignore|never|late:MS|fail_if_file:PATH|fail_after_first
//   exit_after=MS      exit on its own after MS with `exit`
//   exit=normal|shutdown|error:CODE|crash:SIGNUM|code:N
//   stop=prompt|slow:MS|never|exit:KIND   (KIND as for exit=)
//   trap=1             trap exits
//   link=PATH          link to the actor registered as PATH at init
//   ready_file=PATH    (unused by probe; reserved)
//   env=NAME           at init, print "event=env NAME=<value or (unset)>"
//   ping=PATH          at init, send PROBE_ECHO "ping" to the actor at PATH
//   tick=MS            print "event=tick inc=PID" every MS from a timer it
//                      never frees (left armed when the actor ends)
//   daemon=1           at init, leave a daemon behind (double fork, setsid,
//                      SIGTERM ignored, sleep 1000) and print
//                      "event=daemon daemon=PID"
// It prints one line per lifecycle event to stderr:
//   probe path=P event=init|ready|stop_requested|terminate|msg ... ospid=N
// Messages (tags): PROBE_ECHO replies/echoes, PROBE_FAIL answers with
// arb_reply_error, PROBE_CRASH exits with the body's KIND string,
// PROBE_SHIELD shields for body-ms then prints shield_done, PROBE_HANG busy
// loops body-ms, PROBE_SILENT never answers, PROBE_STATS prints stats,
// PROBE_WHEREIS resolves the body (a name or path) with arb_whereis and
// prints "event=whereis name=N rv=ERR pid=ID".

#ifndef ARB_PROBE_H
#define ARB_PROBE_H

#include <arbor/actor.h>

enum {
	PROBE_ECHO = 1,
	PROBE_FAIL,
	PROBE_CRASH,
	PROBE_SHIELD,
	PROBE_HANG,
	PROBE_SILENT,
	PROBE_STATS,
	PROBE_WHEREIS,
};

extern const arb_actor_ops probe_ops;

// probe_parse_exit turns "error:3", "crash:11", "normal"... into a reason;
// crash and code kinds set *raise_sig / *exit_code instead (>0).
void probe_parse_exit(const char *s, arb_exit *e, int *raise_sig,
    int *exit_code);

// probe_child is a convenience child spec initializer.
#define PROBE_CHILD(n, iso, a)                                                \
	{ .name = (n), .isolation = (iso), .type = "probe", .arg = (a),      \
		.arg_len = sizeof(a) }



// arb_test_node_main runs a node with spec in a helper process: it opens
// the node, runs the tree, prints "node exit_code=N" and returns N.  Log
// lines go to stderr (ARB_LOG_LEVEL from the environment, info default).
int arb_test_node_main(const arb_sup_spec *spec);

// ARB_TEST_MAIN registers probe, serves process actors (re-exec) and
// helpers, then runs the cmocka group (ARB_TEST_RUN: argv[1] or
// ARB_TEST_FILTER selects tests).
#define ARB_TEST_MAIN(group, tests, helpers)                                  \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		arb_actor_type_register(&probe_ops);                          \
		arb_actor_main(argc, argv);                                   \
		arb_test_helper_main(argc, argv, helpers,                     \
		    sizeof(helpers) / sizeof(helpers[0]));                    \
		return ARB_TEST_RUN(group, tests, argc, argv);                \
	}
// ARB_TEST_MAIN_TYPES is ARB_TEST_MAIN that also registers the
// NULL-terminated array `types` of the test file's own actor types (they
// must be registered before arb_actor_main so process actors find them).
#define ARB_TEST_MAIN_TYPES(group, tests, helpers, types)                     \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		const arb_actor_ops *const *t;                                \
		arb_actor_type_register(&probe_ops);                          \
		for (t = (types); *t != NULL; t++) {                          \
			arb_actor_type_register(*t);                          \
		}                                                             \
		arb_actor_main(argc, argv);                                   \
		arb_test_helper_main(argc, argv, helpers,                     \
		    sizeof(helpers) / sizeof(helpers[0]));                    \
		return ARB_TEST_RUN(group, tests, argc, argv);                \
	}

#endif // ARB_PROBE_H
