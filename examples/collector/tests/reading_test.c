// SPDX-License-Identifier: MIT
// reading_test.c -- the collector's line format and its msgpack reader
// (reading.c, mpr.c): every rejection cause, the JSON the store keeps,
// the checksum, limits and required values; a bounded reader that never
// reads outside a body nor believes a count the bytes cannot hold; and
// 200,000 random inputs through both (the parser sees bytes from anyone
// on a serial line or a sensor broker).

#include "arb_test.h"
#include "mpr.h"
#include "reading.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static reading_err
parse(const char *line, const reading_rules *r, char *json)
{
	size_t jlen = 0;

	return reading_parse(line, strlen(line), r, json,
	    READING_JSON_CAP(strlen(line)), &jlen, NULL, NULL);
}

static void
test_valid_lines(void **state)
{
	static const struct {
		const char *line, *json;
	} ok[] = {
		{ "n=42 t=21.50 h=48.1", "{\"n\":42,\"t\":21.50,\"h\":48.1}" },
		{ "  t=-0.5,h=1e3\r", "{\"t\":-0.5,\"h\":1e3}" },
		{ "a_1=0\tB=-12.25E-2", "{\"a_1\":0,\"B\":-12.25E-2}" },
		{ "x=1,, ,y=2", "{\"x\":1,\"y\":2}" },
		{ "_=7", "{\"_\":7}" },
	};
	reading_rules r;
	char          json[256];
	size_t        i;

	(void) state;
	reading_rules_default(&r);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ok[i].line, &r, json), READING_OK);
		assert_string_equal(json, ok[i].json);
	}
}

static void
test_rejections(void **state)
{
	static const struct {
		const char *line;
		reading_err why;
	} bad[] = {
		{ "", READING_EMPTY },
		{ " \t,\r", READING_EMPTY },
		{ "*00", READING_EMPTY },
		{ "n", READING_BAD_FIELD },
		{ "=5", READING_BAD_FIELD },
		{ "1n=5", READING_BAD_FIELD },
		{ "n-x=5", READING_BAD_FIELD },
		{ "n=", READING_BAD_NUMBER },
		{ "n=+5", READING_BAD_NUMBER },
		{ "n=.5", READING_BAD_NUMBER },
		{ "n=5.", READING_BAD_NUMBER },
		{ "n=05", READING_BAD_NUMBER },
		{ "n=1e", READING_BAD_NUMBER },
		{ "n=0x10", READING_BAD_NUMBER },
		{ "n=nan", READING_BAD_NUMBER },
		{ "n=1e999", READING_BAD_NUMBER },
		{ "n=123456789012345678901234567890123", READING_BAD_NUMBER },
		{ "n=1 n=2", READING_DUPLICATE },
		{ "n=1 *zz", READING_BAD_CHECKSUM },
		{ "n=1 *0", READING_BAD_CHECKSUM },
		{ "n=1 *000", READING_BAD_CHECKSUM },
		{ "n=1*00", READING_BAD_CHECKSUM },
		{ "n=1 *00", READING_BAD_CHECKSUM },
		{ "n=1 *00 m=2", READING_BAD_CHECKSUM },
	};
	reading_rules r;
	char          json[256];
	size_t        i;

	(void) state;
	reading_rules_default(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reading_err e = parse(bad[i].line, &r, json);

		if (e != bad[i].why) {
			fail_msg("\"%s\": %s, expected %s", bad[i].line,
			    reading_err_name(e), reading_err_name(bad[i].why));
		}
	}
	assert_string_equal(reading_err_name(READING_BAD_CHECKSUM),
	    "bad_checksum");
	assert_string_equal(reading_err_name(READING_ERR_COUNT), "unknown");
}

static void
test_checksum(void **state)
{
	reading_rules r;
	char          line[64], json[128];
	int           k;

	(void) state;
	reading_rules_default(&r);
	k = snprintf(line, sizeof(line), "n=7 t=1.5 ");
	snprintf(line + k, sizeof(line) - (size_t) k, "*%02X",
	    reading_checksum_of(line, (size_t) k));
	assert_int_equal(parse(line, &r, json), READING_OK);
	assert_string_equal(json, "{\"n\":7,\"t\":1.5}");
	// lower-case hex too
	snprintf(line + k, sizeof(line) - (size_t) k, "*%02x",
	    reading_checksum_of(line, (size_t) k));
	assert_int_equal(parse(line, &r, json), READING_OK);
	line[0] = 'm'; // damaged: the checksum says so
	assert_int_equal(parse(line, &r, json), READING_BAD_CHECKSUM);
	r.checksum = READING_CHECKSUM_IGNORE;
	assert_int_equal(parse(line, &r, json), READING_OK);
	assert_string_equal(json, "{\"m\":7,\"t\":1.5}");
	r.checksum = READING_CHECKSUM_REQUIRED;
	assert_int_equal(parse("n=7", &r, json), READING_NO_CHECKSUM);
	line[0] = 'n';
	assert_int_equal(parse(line, &r, json), READING_OK);
}

static void
test_rules(void **state)
{
	static const reading_limit limits[]
	    = { { "t", -40, 85 }, { "h", 0, 100 } };
	static const char *const required[] = { "n" };
	reading_rules            r;
	char                     json[READING_JSON_CAP(600)], line[600];
	const char              *bad;
	size_t                   bad_len, jlen, i;

	(void) state;
	reading_rules_default(&r);
	r.limits    = limits;
	r.nlimits   = 2;
	r.required  = required;
	r.nrequired = 1;
	assert_int_equal(parse("n=1 t=85 h=0", &r, json), READING_OK);
	assert_int_equal(parse("n=1 t=85.01", &r, json), READING_OUT_OF_RANGE);
	assert_int_equal(parse("n=1 h=-1e-9", &r, json), READING_OUT_OF_RANGE);
	assert_int_equal(parse("t=20", &r, json), READING_MISSING);
	assert_int_equal(reading_parse("n=1 h=101", 9, &r, json, sizeof(json),
	                     &jlen, &bad, &bad_len),
	    READING_OUT_OF_RANGE);
	assert_int_equal(bad_len, 1);
	assert_memory_equal(bad, "h", 1);
	// max_values and max_line
	r.nrequired  = 0;
	r.max_values = 3;
	assert_int_equal(parse("a=1 b=2 c=3", &r, json), READING_OK);
	assert_int_equal(parse("a=1 b=2 c=3 d=4", &r, json), READING_TOO_MANY);
	r.max_line = 10;
	assert_int_equal(parse("a=1 b=2 c=3", &r, json), READING_TOO_LONG);
	// The JSON of the longest line with the most values fits the cap.
	reading_rules_default(&r);
	r.max_values = READING_VALUES_MAX;
	r.max_line   = sizeof(line);
	for (i = 0; i < READING_VALUES_MAX; i++) {
		line[i * 4]     = (char) ('a' + i % 26);
		line[i * 4 + 1] = (char) ('a' + i / 26);
		line[i * 4 + 2] = '=';
		line[i * 4 + 3] = i + 1 < READING_VALUES_MAX ? '1' : '2';
	}
	memset(line + READING_VALUES_MAX * 4, ' ', 1);
	line[READING_VALUES_MAX * 4 - 1] = '9';
	line[READING_VALUES_MAX * 4]     = '\0';
	for (i = 0; i + 1 < READING_VALUES_MAX; i++) {
		line[i * 4 + 3] = '1';
	}
	// a=1b=1... has no separators: put one after each value
	{
		char   spaced[600];
		size_t o = 0;

		for (i = 0; i < READING_VALUES_MAX; i++) {
			memcpy(spaced + o, line + i * 4, 4);
			o += 4;
			spaced[o++] = ',';
		}
		spaced[o - 1] = '\0';
		assert_int_equal(reading_parse(spaced, o - 1, &r, json,
		                     READING_JSON_CAP(o - 1), &jlen, NULL, NULL),
		    READING_OK);
		assert_true(jlen < READING_JSON_CAP(o - 1));
	}
	// a cap too small is an error, never an overflow
	assert_int_equal(reading_parse("n=1", 3, &r, json, 5, &jlen, NULL, NULL),
	    READING_TOO_LONG);
}

static void
test_stream_id_and_json_str(void **state)
{
	char out[64];

	(void) state;
	// FNV-1a 32: the published reference values
	assert_int_equal(reading_stream_id("", 0), 2166136261u);
	assert_int_equal(reading_stream_id("a", 1), 0xe40c292cu);
	assert_int_equal(reading_stream_id("foobar", 6), 0xbf9cf968u);
	assert_int_equal(reading_json_str(out, sizeof(out), "a\"b\\c\n\x01", 7),
	    strlen("\"a\\\"b\\\\c\\u000a\\u0001\""));
	assert_string_equal(out, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	assert_int_equal(reading_json_str(out, 4, "abc", 3), 0);
	assert_int_equal(reading_json_str(out, 5, "abc", 3), 0); // no NUL room
	assert_int_equal(reading_json_str(out, 6, "abc", 3), 5);
}

// --- mpr ------------------------------------------------------------------------

static void
test_mpr_reads(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	mpr             r;
	uint32_t        n;
	uint64_t        u;
	int64_t         s;
	double          d;
	bool            b;
	const void     *p;
	size_t          len;

	(void) state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 9);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_int8(&pk, -3);
	msgpack_pack_double(&pk, 2.5);
	msgpack_pack_float(&pk, 0.25f);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
	msgpack_pack_bin_with_body(&pk, "xy", 2);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_ext_with_body(&pk, "abc", 3, 7);
	msgpack_pack_str_with_body(&pk, "long string over 31 bytes, str8!", 33);
	mpr_init(&r, sb.data, sb.size);
	assert_int_equal(mpr_peek(&r), MPR_ARRAY);
	assert_int_equal(mpr_array(&r, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(mpr_uint(&r, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(mpr_int(&r, &s), 0);
	assert_true(s == INT64_MIN);
	assert_int_equal(mpr_peek(&r), MPR_NINT);
	assert_int_equal(mpr_number(&r, &d), 0);
	assert_true(d == -3);
	assert_int_equal(mpr_number(&r, &d), 0);
	assert_true(d == 2.5);
	assert_int_equal(mpr_number(&r, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(mpr_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(mpr_nil(&r), 0);
	assert_int_equal(mpr_bytes(&r, &p, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "xy", 2);
	assert_int_equal(mpr_map(&r, &n), 0);
	assert_int_equal(mpr_bytes(&r, &p, &len), 0);
	assert_true(mpr_is(p, len, "k"));
	assert_false(mpr_is(p, len, "kk"));
	assert_int_equal(mpr_skip(&r), 0); // [ext, str8]
	assert_true(mpr_done(&r));
	assert_int_equal(mpr_peek(&r), MPR_NONE);
	// A negative number is no uint, and the cursor then stays failed.
	mpr_init(&r, "\xff", 1);
	assert_int_equal(mpr_uint(&r, &u), -1);
	assert_int_equal(mpr_nil(&r), -1);
	assert_false(mpr_done(&r));
	msgpack_sbuffer_destroy(&sb);
}

static void
test_mpr_refuses_lies(void **state)
{
	static const struct {
		const char *bytes;
		size_t      len;
	} lies[] = {
		{ "\xdd\xff\xff\xff\xff\x01", 6 }, // array of 2^32-1, 1 byte
		{ "\xdf\x00\x00\x00\x02\x01\x01\x01", 8 }, // map of 2: 3 bytes
		{ "\xdb\x7f\xff\xff\xff" "abc", 8 },       // str32 past the end
		{ "\xc6\x00\x00\x01\x00", 5 },             // bin32 of 256, none
		{ "\xcd\x01", 2 },                         // uint16 cut
		{ "\xc9\xff\xff\xff\xff\x01", 6 },         // ext32 past the end
		{ "\xc1", 1 },                             // never used
		{ "", 0 },
	};
	char   deep[64];
	mpr    r;
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		mpr_init(&r, lies[i].bytes, lies[i].len);
		if (mpr_skip(&r) == 0 && mpr_done(&r)) {
			fail_msg("lie %zu was believed", i);
		}
	}
	// Nesting deeper than 16 is refused (no recursion bomb).
	memset(deep, 0x91, sizeof(deep)); // [[[[...
	deep[sizeof(deep) - 1] = 0x01;
	mpr_init(&r, deep, sizeof(deep));
	assert_int_equal(mpr_skip(&r), -1);
	memset(deep, 0x91, 10);
	deep[10] = 0x01;
	mpr_init(&r, deep, 11);
	assert_int_equal(mpr_skip(&r), 0);
	assert_true(mpr_done(&r));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) rng_state;
}

// 200,000 random inputs: lines built from the format's own alphabet
// (so many are almost valid) and raw bytes through mpr.  Under ASan an
// overflow anywhere fails; an accepted line's JSON starts and ends as an
// object and fits its cap.
static void
test_fuzz(void **state)
{
	static const char alphabet[] = "nth_=.-+e0123456789 ,*\t\rAF\x01\xff";
	reading_rules     r;
	char              line[300], json[READING_JSON_CAP(300)];
	size_t            jlen, n, i, k, accepted = 0;
	uint8_t           bytes[64];
	mpr               m;

	(void) state;
	reading_rules_default(&r);
	r.max_line = sizeof(line);
	for (i = 0; i < 100000; i++) {
		n = rng() % sizeof(line);
		for (k = 0; k < n; k++) {
			line[k] = alphabet[rng() % (sizeof(alphabet) - 1)];
		}
		if (i % 2 == 0) {
			// Half are valid lines with 0-2 bytes changed.
			int v = (int) (rng() % 20), o = 0, j;

			for (j = 0; j < v && o < 250; j++) {
				o += snprintf(line + o, sizeof(line) - (size_t) o,
				    "%s%c%u=%s%u.%u", j > 0 ? " " : "",
				    (char) ('a' + j), rng() % 10,
				    rng() % 2 ? "-" : "", rng() % 1000, rng() % 100);
			}
			n = (size_t) o;
			for (j = (int) (rng() % 3); j > 0 && n > 0; j--) {
				line[rng() % n] = alphabet[rng() % (sizeof(alphabet) - 1)];
			}
		}
		if (reading_parse(line, n, &r, json, READING_JSON_CAP(n), &jlen,
		        NULL, NULL)
		    == READING_OK) {
			accepted++;
			assert_true(jlen >= 2 && json[0] == '{'
			    && json[jlen - 1] == '}' && jlen < READING_JSON_CAP(n));
		}
	}
	for (i = 0; i < 100000; i++) {
		n = rng() % sizeof(bytes);
		for (k = 0; k < n; k++) {
			bytes[k] = (uint8_t) rng();
		}
		mpr_init(&m, bytes, n);
		while (mpr_skip(&m) == 0) {
		}
		assert_true(m.p <= m.end);
	}
	printf("# %zu of 100000 random lines were valid readings\n", accepted);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_lines),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_stream_id_and_json_str),
		cmocka_unit_test(test_mpr_reads),
		cmocka_unit_test(test_mpr_refuses_lies),
		cmocka_unit_test(test_fuzz),
	};

	return ARB_TEST_RUN("unit.collector.reading", tests, argc, argv);
}
