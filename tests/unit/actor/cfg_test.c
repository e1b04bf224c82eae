// SPDX-License-Identifier: MIT
// cfg_test.c -- cfg.c: the public config reader (arb_cfg_*).  Getters
// leave defaults alone for absent keys, record every bad one with its key
// path, and one pass reports every problem.

#include "arb_test.h"

#include "actor/actor_int.h"

#include <msgpack.h>
#include <string.h>

typedef struct packed {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
} packed;

static void
pk_open(packed *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void
pk_str(packed *p, const char *s)
{
	msgpack_pack_str_with_body(&p->pk, s, strlen(s));
}

// sample packs
// { name: "gw", baud: 9600, neg: -3, log: true, every: "250ms", slow: 5,
//   max: "64KiB", parity: "even", exit: { after: "2s", code: 7 },
//   ports: [ "ttyS0", { dev: "ttyUSB0", baud: "fast" } ] }
static void
pack_sample(packed *p)
{
	pk_open(p);
	msgpack_pack_map(&p->pk, 10);
	pk_str(p, "name");
	pk_str(p, "gw");
	pk_str(p, "baud");
	msgpack_pack_int(&p->pk, 9600);
	pk_str(p, "neg");
	msgpack_pack_int(&p->pk, -3);
	pk_str(p, "log");
	msgpack_pack_true(&p->pk);
	pk_str(p, "every");
	pk_str(p, "250ms");
	pk_str(p, "slow");
	msgpack_pack_int(&p->pk, 5);
	pk_str(p, "max");
	pk_str(p, "64KiB");
	pk_str(p, "parity");
	pk_str(p, "even");
	pk_str(p, "exit");
	msgpack_pack_map(&p->pk, 2);
	pk_str(p, "after");
	pk_str(p, "2s");
	pk_str(p, "code");
	msgpack_pack_int(&p->pk, 7);
	pk_str(p, "ports");
	msgpack_pack_array(&p->pk, 2);
	pk_str(p, "ttyS0");
	msgpack_pack_map(&p->pk, 2);
	pk_str(p, "dev");
	pk_str(p, "ttyUSB0");
	pk_str(p, "baud");
	pk_str(p, "fast");
}

static const char *const parities[] = { "none", "even", "odd", NULL };

static void
test_getters_read_valid_values(void **state)
{
	packed      p;
	arb_cfg    *c, *ex, *ports;
	const char *s;
	bool        b = false;
	int64_t     i;
	uint64_t    u;
	int         e;
	size_t      n;

	(void) state;
	pack_sample(&p);
	ARB_PASS(arb_cfg_alloc(&c, p.sb.data, p.sb.size));
	ARB_PASS(arb_cfg_str(c, "name", 8, &s));
	assert_string_equal(s, "gw");
	ARB_PASS(arb_cfg_int(c, "baud", 50, 4000000, &i));
	assert_true(i == 9600);
	ARB_PASS(arb_cfg_int(c, "neg", -10, 10, &i));
	assert_true(i == -3);
	ARB_PASS(arb_cfg_bool(c, "log", &b));
	assert_true(b);
	ARB_PASS(arb_cfg_dur(c, "every", 1, 60000, &i));
	assert_true(i == 250);
	ARB_PASS(arb_cfg_dur(c, "slow", 0, 60000, &i)); // plain: ms
	assert_true(i == 5);
	ARB_PASS(arb_cfg_size(c, "max", 1, UINT64_MAX, &u));
	assert_true(u == 65536);
	ARB_PASS(arb_cfg_enum(c, "parity", parities, &e));
	assert_int_equal(e, 1);
	ex = arb_cfg_sub(c, "exit");
	ARB_PASS(arb_cfg_dur(ex, "after", 0, INT64_MAX, &i));
	assert_true(i == 2000);
	ports = arb_cfg_list(c, "ports", &n);
	assert_int_equal(n, 2);
	ARB_PASS(arb_cfg_str(arb_cfg_item(ports, 0), NULL, 0, &s));
	assert_string_equal(s, "ttyS0");
	ARB_PASS(arb_cfg_str(arb_cfg_item(ports, 1), "dev", 0, &s));
	assert_string_equal(s, "ttyUSB0");
	assert_int_equal(arb_cfg_type_of(c, "exit"), ARB_CFG_MAP);
	assert_int_equal(arb_cfg_type_of(c, "ports"), ARB_CFG_LIST);
	assert_int_equal(arb_cfg_type_of(c, "neg"), ARB_CFG_INT);
	assert_int_equal(arb_cfg_type_of(c, "nope"), ARB_CFG_ABSENT);
	assert_int_equal(arb_cfg_errors(c), 0);
	arb_cfg_free(c);
	msgpack_sbuffer_destroy(&p.sb);
}

static void
test_absent_keys_keep_defaults_and_record_nothing(void **state)
{
	arb_cfg    *c;
	const char *s = "default";
	int64_t     i = 42;
	size_t      n = 9;

	(void) state;
	ARB_PASS(arb_cfg_alloc(&c, NULL, 0)); // no config: at all
	ARB_FAIL(arb_cfg_str(c, "name", 0, &s), ARB_ENOENT);
	ARB_FAIL(arb_cfg_int(c, "baud", 0, 10, &i), ARB_ENOENT);
	ARB_FAIL(arb_cfg_dur(arb_cfg_sub(c, "exit"), "after", 0, 10, &i),
	    ARB_ENOENT);
	arb_cfg_list(c, "ports", &n);
	assert_int_equal(n, 0);
	assert_false(arb_cfg_has(c, "name"));
	ARB_PASS(arb_cfg_keys(c, (const char *const[]) { "x", NULL }));
	assert_string_equal(s, "default");
	assert_true(i == 42);
	assert_int_equal(arb_cfg_errors(c), 0);
	arb_cfg_free(c);
}

// want_problem fails unless the config recorded key with text holding
// needle.
static void
want_problem(const arb_cfg *c, const char *key, const char *needle)
{
	const char *k, *t;
	size_t      i;

	for (i = 0; arb_cfg_error(c, i, &k, &t) == ARB_OK; i++) {
		if (strcmp(k, key) == 0 && strstr(t, needle) != NULL) {
			return;
		}
	}
	fail_msg("no problem \"%s: ...%s...\" recorded", key, needle);
}

static void
test_one_pass_reports_every_problem_with_its_key_path(void **state)
{
	static const char *const keys[] = { "name", "baud", "log", "every",
		"max", "parity", "exit", "ports", NULL };
	packed                   p;
	arb_cfg                 *c, *ex, *ports, *item;
	const char              *s = "kept";
	int64_t                  i = 1;
	uint64_t                 u = 1;
	bool                     b = false;
	int                      e = -1;

	(void) state;
	pack_sample(&p);
	ARB_PASS(arb_cfg_alloc(&c, p.sb.data, p.sb.size));
	ARB_FAIL(arb_cfg_keys(c, keys), ARB_EINVAL); // neg, slow unknown
	ARB_FAIL(arb_cfg_str(c, "name", 1, &s), ARB_EINVAL); // too long
	ARB_FAIL(arb_cfg_int(c, "baud", 50, 1200, &i), ARB_EINVAL);
	ARB_FAIL(arb_cfg_bool(c, "baud", &b), ARB_EINVAL);
	ARB_FAIL(arb_cfg_dur(c, "every", 1000, 2000, &i), ARB_EINVAL);
	ARB_FAIL(arb_cfg_dur(c, "name", 0, 10, &i), ARB_EINVAL);
	ARB_FAIL(arb_cfg_size(c, "max", 0, 1024, &u), ARB_EINVAL);
	ARB_FAIL(arb_cfg_enum(c, "name", parities, &e), ARB_EINVAL);
	ARB_FAIL(arb_cfg_int(c, "neg", 0, 10, &i), ARB_EINVAL);
	ex = arb_cfg_sub(c, "exit");
	ARB_FAIL(arb_cfg_str(ex, "code", 0, &s), ARB_EINVAL);
	arb_cfg_err(ex, "after", "must come before %s", "the end");
	ports = arb_cfg_list(c, "ports", NULL);
	item = arb_cfg_item(ports, 1);
	ARB_FAIL(arb_cfg_int(item, "baud", 0, 10, &i), ARB_EINVAL);
	ARB_FAIL(
	    arb_cfg_int(arb_cfg_item(ports, 0), NULL, 0, 10, &i), ARB_EINVAL);
	arb_cfg_sub(c, "ports");       // a list, not a mapping
	arb_cfg_list(c, "exit", NULL); // a mapping, not a list
	// Defaults are untouched by bad values.
	assert_string_equal(s, "kept");
	assert_true(i == 1 && u == 1 && !b && e == -1);

	want_problem(c, "neg", "unknown key");
	want_problem(c, "slow", "expected one of: name, baud");
	want_problem(c, "name", "too long");
	want_problem(c, "baud", "out of range (50 to 1200)");
	want_problem(c, "baud", "true or false");
	want_problem(c, "every", "1000 ms to 2000 ms");
	want_problem(c, "name", "not a duration");
	want_problem(c, "max", "out of range");
	want_problem(
	    c, "name", "unknown value \"gw\" (expected none|even|odd)");
	want_problem(c, "neg", "out of range (0 to 10)");
	want_problem(c, "exit.code", "expected a string");
	want_problem(c, "exit.after", "must come before the end");
	want_problem(c, "ports[1].baud", "expected an integer");
	want_problem(c, "ports[0]", "expected an integer");
	want_problem(c, "ports", "expected a mapping");
	want_problem(c, "exit", "expected a list");
	assert_int_equal(arb_cfg_errors(c), 16);
	arb_cfg_free(c);
	msgpack_sbuffer_destroy(&p.sb);
}

static void
test_config_that_is_not_a_map_is_a_problem(void **state)
{
	static const uint8_t word[] = { 0xa2, 'h', 'i' };
	static const uint8_t junk[] = { 0xc1 };
	static const uint8_t nil[] = { 0xc0 };
	arb_cfg             *c;
	const char          *k, *t;

	(void) state;
	ARB_PASS(arb_cfg_alloc(&c, word, sizeof(word)));
	ARB_PASS(arb_cfg_error(c, 0, &k, &t));
	assert_string_equal(k, "");
	assert_non_null(strstr(t, "mapping"));
	arb_cfg_free(c);
	ARB_PASS(arb_cfg_alloc(&c, junk, sizeof(junk)));
	ARB_PASS(arb_cfg_error(c, 0, &k, &t));
	assert_non_null(strstr(t, "not a msgpack value"));
	arb_cfg_free(c);
	ARB_PASS(arb_cfg_alloc(&c, nil, sizeof(nil))); // config: ~
	assert_int_equal(arb_cfg_errors(c), 0);
	arb_cfg_free(c);
}

static void
test_raw_gives_the_value_bytes(void **state)
{
	packed      p;
	arb_cfg    *c;
	const void *raw;
	size_t      len;
	arb_cfg    *again;
	const char *s;

	(void) state;
	pack_sample(&p);
	ARB_PASS(arb_cfg_alloc(&c, p.sb.data, p.sb.size));
	ARB_PASS(arb_cfg_raw(c, "exit", &raw, &len));
	ARB_PASS(arb_cfg_alloc(&again, raw, len));
	ARB_PASS(arb_cfg_dur(again, "after", 0, 9999, &(int64_t) { 0 }));
	arb_cfg_free(again);
	ARB_FAIL(arb_cfg_raw(c, "nope", &raw, &len), ARB_ENOENT);
	ARB_PASS(arb_cfg_str(c, "parity", 0, &s));
	arb_cfg_free(c);
	msgpack_sbuffer_destroy(&p.sb);
}

static void
test_problems_past_the_cap_are_counted(void **state)
{
	arb_cfg *c;
	int      i;

	(void) state;
	ARB_PASS(arb_cfg_alloc(&c, NULL, 0));
	for (i = 0; i < 150; i++) {
		arb_cfg_err(c, "k", "problem %d", i);
	}
	assert_int_equal(arb_cfg_errors(c), 150);
	ARB_PASS(arb_cfg_error(c, 99, NULL, NULL));
	ARB_FAIL(arb_cfg_error(c, 100, NULL, NULL), ARB_ENOENT);
	arb_cfg_free(c);
	// Views are not configs: freeing one is a harmless no-op.
	ARB_PASS(arb_cfg_alloc(&c, NULL, 0));
	arb_cfg_free(arb_cfg_sub(c, "x"));
	arb_cfg_free(NULL);
	arb_cfg_free(c);
}

static void
test_report_logs_and_names_the_first_problem(void **state)
{
	arb_ctx  ctx;
	arb_cfg *c;

	(void) state;
	memset(&ctx, 0, sizeof(ctx));
	snprintf(ctx.path, sizeof(ctx.path), "root/t");
	ARB_PASS(arb_cfg_alloc(&c, NULL, 0));
	ARB_PASS(arb_cfg_report(&ctx, c));
	assert_string_equal(ctx.init_text, "");
	arb_cfg_err(arb_cfg_sub(c, "exit"), "after", "too late");
	arb__log_set_level(ARB_LOG_ERROR);
	ARB_FAIL(arb_cfg_report(&ctx, c), ARB_EINVAL);
	assert_string_equal(ctx.init_text, "config: exit.after: too late");
	arb_cfg_free(c);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getters_read_valid_values),
		cmocka_unit_test(
		    test_absent_keys_keep_defaults_and_record_nothing),
		cmocka_unit_test(
		    test_one_pass_reports_every_problem_with_its_key_path),
		cmocka_unit_test(test_config_that_is_not_a_map_is_a_problem),
		cmocka_unit_test(test_raw_gives_the_value_bytes),
		cmocka_unit_test(test_problems_past_the_cap_are_counted),
		cmocka_unit_test(test_report_logs_and_names_the_first_problem),
	};

	return ARB_TEST_RUN("actor.cfg", tests, argc, argv);
}
