// SPDX-License-Identifier: MIT
// childspec_test.c -- table-driven tests of spec defaults, the spec checker
// (one line per problem, naming the path and the field) and deep copies,
// including every allocation failing in turn.
//
// Leaks are caught by LeakSanitizer in the ASan build.

#include "arb_test.h"

#include "supervisor/sup_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define WORKER(nm) .name = (nm), .isolation = ARB_THREAD, .type = "echo"

static const char *const argv_none[] = { NULL };
static const char *const argv_blank[] = { "", NULL };
static const char *const argv_true[] = { "/bin/true", NULL };

// root/sub/n1 lacks a type.
static const arb_child_spec nested_notype_kids[] = {
	{ .name = "n1", .isolation = ARB_THREAD },
};
static const arb_sup_spec nested_notype = {
	.children = nested_notype_kids,
	.nchildren = 1,
};

// root/sub has intensity without a period.
static const arb_sup_spec nested_noperiod = { .intensity = 2 };

// root/a/b/w has an unknown restart type.
static const arb_child_spec deep_w[] = {
	{ WORKER("w"), .restart = (arb_restart) 7 },
};
static const arb_sup_spec deep_b_spec = { .children = deep_w, .nchildren = 1 };
static const arb_child_spec deep_b[] = {
	{ .name = "b", .isolation = ARB_SUPERVISOR, .sup = &deep_b_spec },
};
static const arb_sup_spec deep_a_spec = { .children = deep_b, .nchildren = 1 };

// A spec that contains itself.
static const arb_child_spec cycle_kids[1];
static const arb_sup_spec   cycle = { .children = cycle_kids, .nchildren = 1 };
static const arb_child_spec cycle_kids[1] = {
	{ .name = "loop", .isolation = ARB_SUPERVISOR, .sup = &cycle },
};

typedef struct bad_case {
	const char    *expect;    // substring of errbuf: path and field
	int            nproblems; // lines errbuf must hold (0 means 1)
	bool           null_spec; // check NULL
	bool           raw;       // sup.children/nchildren as written
	arb_sup_spec   sup;       // otherwise children = kids
	size_t         nkids;     // 0 means 1
	arb_child_spec kids[2];
} bad_case;

static const bad_case bad_cases[] = {
	{ .expect = "root: spec: ", .null_spec = true },
	{ .expect = "root: strategy: ",
	    .sup = { .strategy = (arb_strategy) 9 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: intensity: ",
	    .sup = { .intensity = -1, .period_ms = 1000 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: period: ",
	    .sup = { .intensity = 1, .period_ms = -1 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: period: must be > 0",
	    .sup = { .intensity = 3 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: period: must be > 0",
	    .nproblems = 2, // and intensity
	    .sup = { .intensity = -1 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: auto_shutdown: ",
	    .sup = { .auto_shutdown = (arb_auto_shutdown) 5 },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: children: ",
	    .raw = true,
	    .sup = { .children = NULL, .nchildren = 2 } },
	{ .expect = "root: children: simple_one_for_one",
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE },
	    .nkids = 2,
	    .kids = { { WORKER("t1") }, { WORKER("t2") } } },
	{ .expect = "root: children: simple_one_for_one",
	    .raw = true,
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE } },
	{ .expect = "root/#0: name: ", .kids = { { WORKER(NULL) } } },
	{ .expect = "root/#0: name: empty", .kids = { { WORKER("") } } },
	{ .expect = "root/#0: name: longer",
	    .kids = { { WORKER("a123456789b123456789c123456789d123456789"
	                       "e123456789f123456789g123") } } },
	{ .expect = "root/#0: name: invalid character",
	    .kids = { { WORKER("a/b") } } },
	{ .expect = "root/#0: name: invalid character",
	    .kids = { { WORKER("w 1") } } },
	{ .expect = "root/#1: name: invalid character",
	    .nkids = 2,
	    .kids = { { WORKER("ok") }, { WORKER("caf\xc3\xa9") } } },
	{ .expect = "root/w1: name: duplicate",
	    .nkids = 2,
	    .kids = { { WORKER("w1") }, { WORKER("w1") } } },
	{ .expect = "root/w1: isolation: ",
	    .kids = { { .name = "w1",
	        .isolation = (arb_isolation) 9,
	        .type = "echo" } } },
	{ .expect = "root/w1: type: ",
	    .kids = { { .name = "w1", .isolation = ARB_THREAD } } },
	{ .expect = "root/p1: type: ",
	    .kids
	    = { { .name = "p1", .isolation = ARB_PROCESS, .type = "" } } },
	{ .expect = "root/e1: argv: ",
	    .kids = { { .name = "e1", .isolation = ARB_EXEC } } },
	{ .expect = "root/e1: argv: ",
	    .kids
	    = { { .name = "e1", .isolation = ARB_EXEC, .argv = argv_none } } },
	{ .expect = "root/e1: argv: ",
	    .kids = { { .name = "e1",
	        .isolation = ARB_EXEC,
	        .argv = argv_blank } } },
	{ .expect = "root/s1: sup: ",
	    .kids = { { .name = "s1", .isolation = ARB_SUPERVISOR } } },
	{ .expect = "root/w1: sup: only supervisor",
	    .kids = { { WORKER("w1"), .sup = &nested_notype } } },
	{ .expect = "root/w1: restart: ",
	    .kids = { { WORKER("w1"), .restart = (arb_restart) 3 } } },
	{ .expect = "root/w1: shutdown: ",
	    .kids = { { WORKER("w1"), .shutdown_ms = -3 } } },
	{ .expect = "root/w1: start_timeout: ",
	    .kids = { { WORKER("w1"), .start_timeout_ms = -1 } } },
	{ .expect = "root/w1: backoff_min: ",
	    .kids = { { WORKER("w1"), .backoff_min_ms = -1 } } },
	{ .expect = "root/w1: backoff_max: ",
	    .kids = { { WORKER("w1"), .backoff_max_ms = -1 } } },
	{ .expect = "root/w1: backoff_max: ",
	    .kids = { { WORKER("w1"), .backoff_min_ms = 200,
	        .backoff_max_ms = 100 } } },
	{ .expect = "root/w1: stable: ",
	    .kids = { { WORKER("w1"), .stable_ms = -1 } } },
	{ .expect = "root/w1: watchdog: ",
	    .kids = { { WORKER("w1"), .watchdog_ms = INT_MIN } } },
	{ .expect = "root/w1: watchdog: only process actors have a watchdog",
	    .kids = { { WORKER("w1"), .watchdog_ms = 1000 } } },
	{ .expect = "root/e1: watchdog: only process actors have a watchdog",
	    .kids = { { .name = "e1",
	        .isolation = ARB_EXEC,
	        .argv = argv_true,
	        .watchdog_ms = 1000 } } },
	{ .expect = "root/s1: watchdog: only process actors have a watchdog",
	    .kids = { { .name = "s1",
	        .isolation = ARB_SUPERVISOR,
	        .sup = &nested_noperiod,
	        .watchdog_ms = 1 } },
	    .nproblems = 2 }, // and root/s1: period
	{ .expect = "root/w1: significant: a permanent child cannot be "
	            "significant",
	    .sup = { .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT },
	    .kids = { { WORKER("w1"), .significant = true } } },
	{ .expect = "root/w1: significant: requires auto_shutdown "
	            "any_significant or all_significant",
	    .kids = { { WORKER("w1"), .restart = ARB_TRANSIENT,
	        .significant = true } } },
	{ .expect = "root/w1: significant: a permanent child",
	    .nproblems = 2, // permanent, and auto_shutdown never
	    .kids = { { WORKER("w1"), .significant = true } } },
	// A pool has no auto_shutdown and no significant children
	// (erlang/otp#8230; Elixir's DynamicSupervisor).
	{ .expect = "root: auto_shutdown: a simple_one_for_one supervisor "
	            "takes no auto_shutdown",
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	        .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root: auto_shutdown: a simple_one_for_one supervisor",
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	        .auto_shutdown = ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT },
	    .kids = { { WORKER("w1") } } },
	{ .expect = "root/w1: significant: a simple_one_for_one child cannot "
	            "be significant",
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE },
	    .kids = { { WORKER("w1"), .restart = ARB_TEMPORARY,
	        .significant = true } } },
	{ .expect = "root/w1: significant: a simple_one_for_one child",
	    .nproblems = 2, // and the pool's auto_shutdown
	    .sup = { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	        .auto_shutdown = ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT },
	    .kids = { { WORKER("w1"), .restart = ARB_TRANSIENT,
	        .significant = true } } },
	{ .expect = "root/w1: arg: ",
	    .kids = { { WORKER("w1"), .arg_len = 4 } } },
	{ .expect = "root/sub/n1: type: ",
	    .kids = { { .name = "sub",
	        .isolation = ARB_SUPERVISOR,
	        .sup = &nested_notype } } },
	{ .expect = "root/sub: period: ",
	    .kids = { { .name = "sub",
	        .isolation = ARB_SUPERVISOR,
	        .sup = &nested_noperiod } } },
	{ .expect = "root/a/b/w: restart: ",
	    .kids = { { .name = "a",
	        .isolation = ARB_SUPERVISOR,
	        .sup = &deep_a_spec } } },
	{ .expect = "/loop/loop: sup: supervisors nested more than",
	    .kids = { { .name = "loop",
	        .isolation = ARB_SUPERVISOR,
	        .sup = &cycle } } },
};

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++) {
		n += *s == '\n';
	}
	return n;
}

static int
check_case(const bad_case *c, char *buf, size_t len, bool public_api)
{
	arb_sup_spec spec = c->sup;

	if (!c->raw) {
		spec.children = c->kids;
		spec.nchildren = c->nkids != 0 ? c->nkids : 1;
	}
	if (public_api) {
		return arb_sup_spec_check(
		    c->null_spec ? NULL : &spec, buf, len);
	}
	return arb__sup_spec_check(
	    c->null_spec ? NULL : &spec, "root", buf, len);
}

static void
test_invalid_specs_name_path_and_field(void **state)
{
	char   buf[4096];
	char   pub[4096];
	size_t i;

	(void) state;
	assert_true(ARB_ARRAY_SIZE(bad_cases) >= 25);
	for (i = 0; i < ARB_ARRAY_SIZE(bad_cases); i++) {
		const bad_case *c = &bad_cases[i];
		int             want = c->nproblems != 0 ? c->nproblems : 1;
		int             rv = check_case(c, buf, sizeof(buf), false);

		if (rv != ARB_ESPEC || strstr(buf, c->expect) == NULL) {
			fail_msg("case %zu: rv %d, want \"%s\" in:\n%s", i, rv,
			    c->expect, buf);
		}
		if (count_lines(buf) != want) {
			fail_msg("case %zu: want %d problem(s), got:\n%s", i,
			    want, buf);
		}
		// The public checker says the same.
		ARB_FAIL(check_case(c, pub, sizeof(pub), true), ARB_ESPEC);
		assert_string_equal(pub, buf);
	}
}

// --- Valid specs --------------------------------------------------------

static const arb_child_spec tpl_kids[] = {
	{ WORKER("conn"), .restart = ARB_TEMPORARY, .arg = "xy",
	    .arg_len = 2 },
};
static const arb_sup_spec pool_spec = {
	.strategy = ARB_SIMPLE_ONE_FOR_ONE,
	.intensity = 10,
	.period_ms = 1000,
	.children = tpl_kids,
	.nchildren = 1,
};
static const arb_child_spec mixed_kids[] = {
	{ WORKER("w1") },
	{ .name = "p-1.x_y",
	    .isolation = ARB_PROCESS,
	    .type = "sensor",
	    .exe = "/usr/bin/sensor",
	    .watchdog_ms = 500 },
	{ .name = "e1",
	    .isolation = ARB_EXEC,
	    .argv = argv_true,
	    .shutdown_ms = ARB_SHUTDOWN_BRUTAL_KILL },
	{ .name = "pool",
	    .isolation = ARB_SUPERVISOR,
	    .sup = &pool_spec,
	    .shutdown_ms = ARB_SHUTDOWN_INFINITY },
	{ WORKER("w2"), .restart = ARB_TRANSIENT, .backoff_min_ms = 100,
	    .backoff_max_ms = 100, .stable_ms = 1, .start_timeout_ms = 1 },
	{ WORKER("w3"), .backoff_min_ms = 100 }, // backoff_max: default cap
};
static const arb_child_spec any_sig_kids[] = {
	{ WORKER("main"), .restart = ARB_TRANSIENT, .significant = true },
	{ WORKER("helper") },
};
static const arb_child_spec all_sig_kids[] = {
	{ WORKER("a"), .restart = ARB_TEMPORARY, .significant = true },
	{ WORKER("b"), .restart = ARB_TRANSIENT, .significant = true },
};
static const arb_sup_spec sig_nested = {
	.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
	.children = any_sig_kids,
	.nchildren = 2,
};
static const arb_child_spec nested_sig_kids[] = {
	{ .name = "job",
	    .isolation = ARB_SUPERVISOR,
	    .sup = &sig_nested,
	    .restart = ARB_TRANSIENT },
};

static const arb_sup_spec good_specs[] = {
	{ 0 }, // an empty one_for_one supervisor, OTP defaults
	{ .strategy = ARB_ONE_FOR_ALL,
	    .children = mixed_kids,
	    .nchildren = ARB_ARRAY_SIZE(mixed_kids) },
	{ .strategy = ARB_REST_FOR_ONE,
	    .intensity = 0,
	    .period_ms = 1000,
	    .children = mixed_kids,
	    .nchildren = 2 },
	{ .strategy = ARB_SIMPLE_ONE_FOR_ONE,
	    .children = tpl_kids,
	    .nchildren = 1 },
	{ .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
	    .children = any_sig_kids,
	    .nchildren = 2 },
	{ .auto_shutdown = ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
	    .children = all_sig_kids,
	    .nchildren = 2 },
	{ .children = nested_sig_kids, .nchildren = 1 },
	{ .children = deep_b, .nchildren = 0 }, // nchildren rules
};

static void
test_valid_specs_pass(void **state)
{
	char   buf[256];
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(good_specs); i++) {
		memset(buf, 'X', sizeof(buf));
		if (arb__sup_spec_check(
		        &good_specs[i], "root", buf, sizeof(buf))
		    != ARB_OK) {
			fail_msg("good spec %zu rejected:\n%s", i, buf);
		}
		assert_string_equal(buf, ""); // cleared on success
		ARB_PASS(arb_sup_spec_check(&good_specs[i], NULL, 0));
	}
}

// --- Several problems at once, truncation ---------------------------------

static const arb_child_spec many_kids[] = {
	{ WORKER("w1"), .significant = true },
	{ WORKER("bad name") },
	{ .name = "e1", .isolation = ARB_EXEC },
};
static const arb_sup_spec many = {
	.intensity = -1,
	.period_ms = 1000,
	.children = many_kids,
	.nchildren = ARB_ARRAY_SIZE(many_kids),
};

static void
test_all_problems_reported(void **state)
{
	static const char *const expect[] = {
		"top: intensity: ",
		"top/w1: significant: a permanent child cannot be significant",
		"top/w1: significant: requires auto_shutdown",
		"top/#1: name: invalid character",
		"top/e1: argv: ",
	};
	char   buf[2048];
	size_t i;

	(void) state;
	ARB_FAIL(
	    arb__sup_spec_check(&many, "top", buf, sizeof(buf)), ARB_ESPEC);
	for (i = 0; i < ARB_ARRAY_SIZE(expect); i++) {
		if (strstr(buf, expect[i]) == NULL) {
			fail_msg("want \"%s\" in:\n%s", expect[i], buf);
		}
	}
	assert_int_equal(count_lines(buf), ARB_ARRAY_SIZE(expect));
	assert_int_equal(buf[strlen(buf) - 1], '\n');
}

static void
test_errbuf_truncation_is_safe(void **state)
{
	char   full[2048];
	char   buf[2100];
	size_t flen;
	size_t len;

	(void) state;
	ARB_FAIL(
	    arb__sup_spec_check(&many, "root", full, sizeof(full)), ARB_ESPEC);
	flen = strlen(full);
	assert_true(flen > 100 && flen < sizeof(full) - 1);
	for (len = 0; len <= flen + 2; len++) {
		size_t want = len == 0 ? 0 : (len - 1 < flen ? len - 1 : flen);
		size_t j;

		memset(buf, 'X', sizeof(buf));
		ARB_FAIL(
		    arb__sup_spec_check(&many, "root", buf, len), ARB_ESPEC);
		if (len == 0) {
			assert_int_equal(buf[0], 'X'); // untouched
			continue;
		}
		assert_int_equal(strlen(buf), want);
		assert_memory_equal(buf, full, want);
		for (j = len; j < sizeof(buf); j++) {
			assert_int_equal(buf[j], 'X'); // no overrun
		}
	}
	ARB_FAIL(arb__sup_spec_check(&many, "root", NULL, 0), ARB_ESPEC);
	ARB_FAIL(arb__sup_spec_check(&many, "root", NULL, 100), ARB_ESPEC);
	ARB_FAIL(arb_sup_spec_check(NULL, NULL, 0), ARB_ESPEC);
	ARB_FAIL(arb_sup_spec_check(&many, NULL, 55), ARB_ESPEC);
}

// --- Defaults --------------------------------------------------------------

static void
test_child_defaults(void **state)
{
	static const struct {
		arb_child_spec c;
		int            shutdown, start_timeout, backoff_max, stable;
	} cases[] = {
		{ { WORKER("w") }, 5000, 5000, 30000, 10000 },
		{ { .name = "p", .isolation = ARB_PROCESS }, 5000, 5000, 30000,
		    10000 },
		{ { .name = "e", .isolation = ARB_EXEC }, 5000, 5000, 30000,
		    10000 },
		{ { .name = "s", .isolation = ARB_SUPERVISOR },
		    ARB_SHUTDOWN_INFINITY, 5000, 30000, 10000 },
		{ { .name = "s",
		      .isolation = ARB_SUPERVISOR,
		      .shutdown_ms = 200 },
		    200, 5000, 30000, 10000 },
		{ { WORKER("w"), .shutdown_ms = ARB_SHUTDOWN_BRUTAL_KILL,
		      .start_timeout_ms = 7, .backoff_max_ms = 8,
		      .stable_ms = 9 },
		    ARB_SHUTDOWN_BRUTAL_KILL, 7, 8, 9 },
		{ { WORKER("w"), .shutdown_ms = ARB_SHUTDOWN_INFINITY },
		    ARB_SHUTDOWN_INFINITY, 5000, 30000, 10000 },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		assert_int_equal(
		    arb__child_shutdown_ms(&cases[i].c), cases[i].shutdown);
		assert_int_equal(arb__child_start_timeout_ms(&cases[i].c),
		    cases[i].start_timeout);
		assert_int_equal(arb__child_backoff_max_ms(&cases[i].c),
		    cases[i].backoff_max);
		assert_int_equal(
		    arb__child_stable_ms(&cases[i].c), cases[i].stable);
	}
}

static void
test_sup_defaults(void **state)
{
	static const struct {
		int intensity, period_ms;
		int want_intensity, want_period;
	} cases[] = {
		{ 0, 0, 1, 5000 },    // OTP's 1 restart in 5 s
		{ 0, 1000, 0, 1000 }, // intensity 0 on purpose
		{ 3, 2000, 3, 2000 },
		{ 100, 1, 100, 1 },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		arb_sup_spec s = { .intensity = cases[i].intensity,
			.period_ms = cases[i].period_ms };

		assert_int_equal(
		    arb__sup_intensity(&s), cases[i].want_intensity);
		assert_int_equal(arb__sup_period_ms(&s), cases[i].want_period);
	}
}

// --- Deep copies -----------------------------------------------------------

// A spec whose every string and byte lives in this struct, so the test
// can overwrite all of it after copying.
typedef struct rich {
	char           name[5][16];
	char           type[2][16];
	char           exe[32];
	char           argv_s[3][16];
	const char    *argv[4];
	uint8_t        arg[2][8];
	arb_child_spec inner_kids[1];
	arb_sup_spec   inner;
	arb_child_spec kids[4];
	arb_sup_spec   root;
} rich;

static void
rich_build(rich *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->name[0], "w1");
	strcpy(r->name[1], "p1");
	strcpy(r->name[2], "e1");
	strcpy(r->name[3], "pool");
	strcpy(r->name[4], "conn");
	strcpy(r->type[0], "echo");
	strcpy(r->type[1], "sensor");
	strcpy(r->exe, "/usr/lib/arbor/sensor");
	strcpy(r->argv_s[0], "/bin/sh");
	strcpy(r->argv_s[1], "-c");
	strcpy(r->argv_s[2], "exit 3");
	r->argv[0] = r->argv_s[0];
	r->argv[1] = r->argv_s[1];
	r->argv[2] = r->argv_s[2];
	r->argv[3] = NULL;
	memcpy(r->arg[0], "\x01\x00\x02\x03\xff", 5);
	memcpy(r->arg[1], "\x93\x01\x02\x03", 4);

	r->inner_kids[0] = (arb_child_spec) { .name = r->name[4],
		.isolation = ARB_THREAD,
		.type = r->type[0],
		.arg = r->arg[1],
		.arg_len = 4,
		.restart = ARB_TEMPORARY };
	r->inner = (arb_sup_spec) { .strategy = ARB_SIMPLE_ONE_FOR_ONE,
		.intensity = 5,
		.period_ms = 100,
		.children = r->inner_kids,
		.nchildren = 1 };
	r->kids[0] = (arb_child_spec) { .name = r->name[0],
		.isolation = ARB_THREAD,
		.type = r->type[0],
		.arg = r->arg[0],
		.arg_len = 5,
		.restart = ARB_TRANSIENT,
		.shutdown_ms = ARB_SHUTDOWN_BRUTAL_KILL,
		.start_timeout_ms = 100,
		.backoff_min_ms = 10,
		.backoff_max_ms = 1000,
		.stable_ms = 50,
		.significant = true };
	r->kids[1] = (arb_child_spec) { .name = r->name[1],
		.isolation = ARB_PROCESS,
		.type = r->type[1],
		.exe = r->exe,
		.watchdog_ms = 500 };
	r->kids[2] = (arb_child_spec) { .name = r->name[2],
		.isolation = ARB_EXEC,
		.argv = r->argv,
		.restart = ARB_TEMPORARY };
	r->kids[3] = (arb_child_spec) { .name = r->name[3],
		.isolation = ARB_SUPERVISOR,
		.sup = &r->inner };
	r->root = (arb_sup_spec) { .strategy = ARB_REST_FOR_ONE,
		.intensity = 3,
		.period_ms = 2000,
		.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		.children = r->kids,
		.nchildren = 4 };
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

static bool sup_eq(const arb_sup_spec *a, const arb_sup_spec *b);

static bool
child_eq(const arb_child_spec *a, const arb_child_spec *b)
{
	size_t i;

	if (!str_eq(a->name, b->name) || a->isolation != b->isolation
	    || !str_eq(a->type, b->type) || a->arg_len != b->arg_len
	    || !str_eq(a->exe, b->exe) || a->restart != b->restart
	    || a->shutdown_ms != b->shutdown_ms
	    || a->start_timeout_ms != b->start_timeout_ms
	    || a->backoff_min_ms != b->backoff_min_ms
	    || a->backoff_max_ms != b->backoff_max_ms
	    || a->stable_ms != b->stable_ms || a->watchdog_ms != b->watchdog_ms
	    || a->significant != b->significant) {
		return false;
	}
	if (a->arg_len > 0 && memcmp(a->arg, b->arg, a->arg_len) != 0) {
		return false;
	}
	if ((a->argv == NULL) != (b->argv == NULL)) {
		return false;
	}
	for (i = 0; a->argv != NULL; i++) {
		if (!str_eq(a->argv[i], b->argv[i])) {
			return false;
		}
		if (a->argv[i] == NULL) {
			break;
		}
	}
	if ((a->sup == NULL) != (b->sup == NULL)) {
		return false;
	}
	return a->sup == NULL || sup_eq(a->sup, b->sup);
}

static bool
sup_eq(const arb_sup_spec *a, const arb_sup_spec *b)
{
	size_t i;

	if (a->strategy != b->strategy || a->intensity != b->intensity
	    || a->period_ms != b->period_ms
	    || a->auto_shutdown != b->auto_shutdown
	    || a->nchildren != b->nchildren) {
		return false;
	}
	for (i = 0; i < a->nchildren; i++) {
		if (!child_eq(&a->children[i], &b->children[i])) {
			return false;
		}
	}
	return true;
}

// in_rich is true when p points into the original's storage.
static bool
in_rich(const rich *r, const void *p)
{
	const char *c = p;

	return c >= (const char *) r && c < (const char *) (r + 1);
}

static void
assert_no_alias(const rich *r, const arb_sup_spec *s)
{
	size_t i;
	size_t j;

	assert_false(in_rich(r, s));
	assert_false(in_rich(r, s->children));
	for (i = 0; i < s->nchildren; i++) {
		const arb_child_spec *c = &s->children[i];

		assert_false(in_rich(r, c->name));
		assert_false(in_rich(r, c->type));
		assert_false(in_rich(r, c->arg));
		assert_false(in_rich(r, c->exe));
		assert_false(in_rich(r, c->argv));
		for (j = 0; c->argv != NULL && c->argv[j] != NULL; j++) {
			assert_false(in_rich(r, c->argv[j]));
		}
		if (c->sup != NULL) {
			assert_no_alias(r, c->sup);
		}
	}
}

static void
test_deep_copy_survives_the_original(void **state)
{
	static rich   orig;
	static rich   pristine;
	arb_sup_spec *copy = NULL;
	char          buf[512];

	(void) state;
	rich_build(&orig);
	rich_build(&pristine);
	if (arb__sup_spec_check(&orig.root, "root", buf, sizeof(buf)) != 0) {
		fail_msg("the rich spec is invalid:\n%s", buf);
	}
	ARB_PASS(arb__sup_spec_copy(&orig.root, &copy));
	assert_true(sup_eq(copy, &orig.root));
	assert_no_alias(&orig, copy);
	memset(&orig, 0x5a, sizeof(orig)); // scribble over every byte
	assert_true(sup_eq(copy, &pristine.root));
	ARB_PASS(arb__sup_spec_check(copy, "root", NULL, 0));
	arb__sup_spec_free(copy);
}

static void
test_child_copy_and_fini(void **state)
{
	static rich    orig;
	arb_child_spec out;
	size_t         i;

	(void) state;
	rich_build(&orig);
	for (i = 0; i < ARB_ARRAY_SIZE(orig.kids); i++) {
		memset(&out, 0, sizeof(out));
		ARB_PASS(arb__child_spec_copy(&orig.kids[i], &out));
		assert_true(child_eq(&out, &orig.kids[i]));
		arb__child_spec_fini(&out);
		assert_null(out.name);
		arb__child_spec_fini(&out); // zeroed after fini: harmless
	}
	// An arg pointer with arg_len 0 copies as no arg at all.
	{
		arb_child_spec c = { WORKER("w"), .arg = "abc" };

		ARB_PASS(arb__child_spec_copy(&c, &out));
		assert_null(out.arg);
		assert_int_equal(out.arg_len, 0);
		arb__child_spec_fini(&out);
	}
	memset(&out, 0, sizeof(out));
	arb__child_spec_fini(&out);
	arb__child_spec_fini(NULL);
	arb__sup_spec_free(NULL);
}

static void
test_copy_empty_spec(void **state)
{
	arb_sup_spec  empty = { .strategy = ARB_ONE_FOR_ALL };
	arb_sup_spec *copy = NULL;

	(void) state;
	ARB_PASS(arb__sup_spec_copy(&empty, &copy));
	assert_true(sup_eq(copy, &empty));
	assert_null(copy->children);
	arb__sup_spec_free(copy);
}

// A spec that contains itself is refused instead of copied forever.
static void
test_copy_refuses_cycle(void **state)
{
	arb_sup_spec *copy = NULL;

	(void) state;
	ARB_FAIL(arb__sup_spec_copy(&cycle, &copy), ARB_ESPEC);
	assert_null(copy);
}

// sqlite-style fault injection: make the 1st, 2nd, ... allocation fail
// until the copy needs fewer allocations than that and succeeds.  Every
// failure must return ARB_ENOMEM, leave the out-param alone and leak
// nothing (LeakSanitizer).
static void
test_copy_out_of_memory_at_every_step(void **state)
{
	static rich   orig;
	arb_sup_spec *copy = NULL;
	long          k;
	int           rv = ARB_ENOMEM;

	(void) state;
	rich_build(&orig);
	for (k = 1; k < 1000 && rv != ARB_OK; k++) {
		arb__alloc_fail_after(k);
		rv = arb__sup_spec_copy(&orig.root, &copy);
		arb__alloc_fail_after(0);
		if (rv != ARB_OK) {
			ARB_FAIL(rv, ARB_ENOMEM);
			assert_null(copy);
		}
	}
	ARB_PASS(rv);
	assert_true(k > 10); // the rich spec needs many allocations
	assert_true(sup_eq(copy, &orig.root));
	arb__sup_spec_free(copy);
}

static void
test_child_copy_out_of_memory_at_every_step(void **state)
{
	static rich                 orig;
	static const arb_child_spec zero;
	size_t                      i;

	(void) state;
	rich_build(&orig);
	for (i = 0; i < ARB_ARRAY_SIZE(orig.kids); i++) {
		arb_child_spec out;
		long           k;
		int            rv = ARB_ENOMEM;

		for (k = 1; k < 1000 && rv != ARB_OK; k++) {
			memset(&out, 0, sizeof(out));
			arb__alloc_fail_after(k);
			rv = arb__child_spec_copy(&orig.kids[i], &out);
			arb__alloc_fail_after(0);
			if (rv != ARB_OK) {
				ARB_FAIL(rv, ARB_ENOMEM);
				assert_memory_equal(&out, &zero, sizeof(out));
			}
		}
		ARB_PASS(rv);
		assert_true(child_eq(&out, &orig.kids[i]));
		arb__child_spec_fini(&out);
	}
}

// --- The wire form of a remote subtree (arb__sup_spec_encode/decode) -------

// subtree_build: a supervisor (rest_for_one, 3 in 10 s) of a thread actor
// with config bytes, a process actor with every timing field set, and a
// nested one_for_all supervisor of one transient thread actor.
typedef struct subtree {
	arb_child_spec inner_kids[1], kids[3];
	arb_sup_spec   inner, root;
} subtree;

static void
subtree_build(subtree *t)
{
	memset(t, 0, sizeof(*t));
	t->inner_kids[0] = (arb_child_spec) { .name = "i1",
		.isolation = ARB_THREAD,
		.type = "echo",
		.restart = ARB_TRANSIENT };
	t->inner = (arb_sup_spec) { .strategy = ARB_ONE_FOR_ALL,
		.children = t->inner_kids,
		.nchildren = 1 };
	t->kids[0] = (arb_child_spec) { .name = "w",
		.isolation = ARB_THREAD,
		.type = "echo",
		.arg = "\x93\x01\x00\x03",
		.arg_len = 4,
		.shutdown_ms = ARB_SHUTDOWN_BRUTAL_KILL };
	t->kids[1] = (arb_child_spec) { .name = "p",
		.isolation = ARB_PROCESS,
		.type = "sensor",
		.restart = ARB_TEMPORARY,
		.shutdown_ms = 250,
		.start_timeout_ms = 900,
		.backoff_min_ms = 10,
		.backoff_max_ms = 2000,
		.stable_ms = 4000,
		.watchdog_ms = 800 };
	t->kids[2] = (arb_child_spec) { .name = "sub",
		.isolation = ARB_SUPERVISOR,
		.sup = &t->inner,
		.significant = false };
	t->root = (arb_sup_spec) { .strategy = ARB_REST_FOR_ONE,
		.intensity = 3,
		.period_ms = 10000,
		.children = t->kids,
		.nchildren = 3 };
}

// A subtree read back is the same tree, field for field; it passes the
// checker; encoded again it is the same bytes.
static void
test_subtree_wire_round_trip(void **state)
{
	subtree       t;
	arb__buf      a = { 0 }, b = { 0 };
	arb_sup_spec *back = NULL;
	char          err[256];
	size_t        i;

	(void) state;
	subtree_build(&t);
	ARB_PASS(arb__sup_spec_encode(&a, &t.root));
	ARB_PASS(arb__sup_spec_decode(a.data, a.len, &back, err, sizeof(err)));
	assert_int_equal(back->strategy, ARB_REST_FOR_ONE);
	assert_int_equal(back->intensity, 3);
	assert_int_equal(back->period_ms, 10000);
	assert_int_equal(back->nchildren, 3);
	for (i = 0; i < 2; i++) {
		assert_true(child_eq(&back->children[i], &t.kids[i]));
	}
	assert_int_equal(back->children[2].isolation, ARB_SUPERVISOR);
	assert_int_equal(back->children[2].sup->strategy, ARB_ONE_FOR_ALL);
	assert_true(
	    child_eq(&back->children[2].sup->children[0], &t.inner_kids[0]));
	ARB_PASS(arb__sup_spec_check(back, "root", NULL, 0));
	ARB_PASS(arb__sup_spec_encode(&b, back));
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	arb__sup_spec_free(back);
	arb__buf_fini(&a);
	arb__buf_fini(&b);
}

// What no agent runs never travels: an exec child, an exe.  A node is not
// sent (the whole subtree runs on one node).
static void
test_subtree_encode_refuses_commands(void **state)
{
	subtree           t;
	arb__buf          a = { 0 };
	arb_sup_spec     *back = NULL;
	const char *const argv[] = { "/bin/true", NULL };

	(void) state;
	subtree_build(&t);
	t.kids[0].node = "gw2";
	ARB_PASS(arb__sup_spec_encode(&a, &t.root));
	ARB_PASS(arb__sup_spec_decode(a.data, a.len, &back, NULL, 0));
	assert_null(back->children[0].node);
	arb__sup_spec_free(back);
	arb__buf_fini(&a);
	t.kids[0].node = NULL;

	t.inner_kids[0].isolation = ARB_EXEC;
	t.inner_kids[0].type = NULL;
	t.inner_kids[0].argv = argv;
	ARB_FAIL(arb__sup_spec_encode(&a, &t.root), ARB_ESPEC);
	arb__buf_fini(&a);
	subtree_build(&t);
	t.kids[1].exe = "/usr/bin/sensor";
	ARB_FAIL(arb__sup_spec_encode(&a, &t.root), ARB_ESPEC);
	arb__buf_fini(&a);
}

// Every truncation of a valid subtree, a byte after it, and an exec child
// (isolation 2, as a hostile peer would send it) are refused, with a
// reason and nothing left allocated (ASan); so is every allocation that
// fails on the way.
static void
test_subtree_decode_refuses_bad_input(void **state)
{
	subtree       t;
	arb__buf      a = { 0 };
	arb_sup_spec *back = NULL;
	char          err[256];
	size_t        n, at;
	long          k;
	int           rv;
	uint8_t      *x;

	(void) state;
	subtree_build(&t);
	ARB_PASS(arb__sup_spec_encode(&a, &t.root));
	for (n = 0; n < a.len; n++) {
		ARB_FAIL(
		    arb__sup_spec_decode(a.data, n, &back, err, sizeof(err)),
		    ARB_EBADMSG);
		assert_null(back);
		assert_non_null(strstr(err, "malformed"));
	}
	x = malloc(a.len + 1);
	assert_non_null(x);
	memcpy(x, a.data, a.len);
	x[a.len] = 0xc0; // nil
	ARB_FAIL(arb__sup_spec_decode(x, a.len + 1, &back, err, sizeof(err)),
	    ARB_EBADMSG);
	// w's isolation (a positive fixint after "w"'s fixstr) becomes 2.
	memcpy(x, a.data, a.len);
	for (at = 0; at + 2 < a.len; at++) {
		if (x[at] == 0xa1 && x[at + 1] == 'w'
		    && x[at + 2] == ARB_THREAD) {
			break;
		}
	}
	assert_true(at + 2 < a.len);
	x[at + 2] = ARB_EXEC;
	ARB_FAIL(arb__sup_spec_decode(x, a.len, &back, err, sizeof(err)),
	    ARB_EPERM);
	assert_null(back);
	assert_string_equal(err,
	    "w: an exec child cannot run under a remote supervisor (an agent "
	    "runs only the types its node installed)");
	free(x);
	for (k = 1;; k++) {
		arb__alloc_fail_after(k);
		rv = arb__sup_spec_decode(
		    a.data, a.len, &back, err, sizeof(err));
		arb__alloc_fail_after(0);
		if (rv == ARB_OK) {
			break;
		}
		ARB_FAIL(rv, ARB_ENOMEM);
		assert_null(back);
	}
	assert_true(k > 5);
	arb__sup_spec_free(back);
	arb__buf_fini(&a);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_specs_name_path_and_field),
		cmocka_unit_test(test_valid_specs_pass),
		cmocka_unit_test(test_all_problems_reported),
		cmocka_unit_test(test_errbuf_truncation_is_safe),
		cmocka_unit_test(test_child_defaults),
		cmocka_unit_test(test_sup_defaults),
		cmocka_unit_test(test_deep_copy_survives_the_original),
		cmocka_unit_test(test_child_copy_and_fini),
		cmocka_unit_test(test_copy_empty_spec),
		cmocka_unit_test(test_copy_refuses_cycle),
		cmocka_unit_test(test_copy_out_of_memory_at_every_step),
		cmocka_unit_test(test_child_copy_out_of_memory_at_every_step),
		cmocka_unit_test(test_subtree_wire_round_trip),
		cmocka_unit_test(test_subtree_encode_refuses_commands),
		cmocka_unit_test(test_subtree_decode_refuses_bad_input),
	};

	return ARB_TEST_RUN("supervisor.childspec", tests, argc, argv);
}
