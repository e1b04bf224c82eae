// SPDX-License-Identifier: MIT
// mpval_test.c -- mpval.c: the bounded msgpack value tree (configs,
// metrics) and units.c: durations and sizes.  Untrusted input: every
// truncation is refused, a huge length field is refused before anything
// is allocated, nesting is bounded.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <msgpack.h>
#include <string.h>

static void
pack_sample(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "name", 4);
	msgpack_pack_str_with_body(&pk, "gw", 2);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_int64(&pk, -70000);
	msgpack_pack_str_with_body(&pk, "big", 3);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_str_with_body(&pk, "list", 4);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
}

static void
test_decodes_every_type_with_raw_bytes(void **state)
{
	msgpack_sbuffer sb;
	arb__val       *v;
	const arb__val *x;

	(void) state;
	pack_sample(&sb);
	ARB_PASS(arb__val_decode(sb.data, sb.size, &v));
	assert_int_equal(v->type, ARB__V_MAP);
	assert_int_equal(v->n, 4);
	x = arb__val_get(v, "name");
	assert_non_null(x);
	assert_int_equal(x->type, ARB__V_STR);
	assert_string_equal(x->via.s, "gw");
	x = arb__val_get(v, "n");
	assert_int_equal(x->type, ARB__V_INT);
	assert_true(x->via.i == -70000);
	x = arb__val_get(v, "big");
	assert_int_equal(x->type, ARB__V_UINT);
	assert_true(x->via.u == UINT64_MAX);
	x = arb__val_get(v, "list");
	assert_int_equal(x->type, ARB__V_ARRAY);
	assert_int_equal(x->n, 3);
	assert_true(
	    x->via.v[0].type == ARB__V_FLOAT && x->via.v[0].via.f == 1.5);
	assert_true(x->via.v[1].type == ARB__V_BOOL && x->via.v[1].via.b);
	assert_int_equal(x->via.v[2].type, ARB__V_NIL);
	// raw is the value's own encoding: re-decoding it gives the list.
	assert_int_equal(x->rawlen, 1 + 9 + 1 + 1);
	assert_null(arb__val_get(v, "absent"));
	assert_true(v->rawlen == sb.size);
	arb__free(v);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_every_truncation_is_refused(void **state)
{
	msgpack_sbuffer sb;
	arb__val       *v;
	size_t          n;

	(void) state;
	pack_sample(&sb);
	for (n = 0; n < sb.size; n++) {
		ARB_FAIL(arb__val_decode(sb.data, n, &v), ARB_EBADMSG);
		assert_null(v);
	}
	// Trailing bytes are refused too: one value fills the buffer.
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	ARB_FAIL(arb__val_decode(sb.data, sb.size, &v), ARB_EBADMSG);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_huge_lengths_are_refused_before_allocating(void **state)
{
	// array32, map32, str32, bin32 claiming 4 G elements or bytes.
	static const uint8_t lies[][6] = {
		{ 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 },
		{ 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 },
		{ 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41 },
		{ 0xc6, 0xff, 0xff, 0xff, 0xff, 0x41 },
	};
	arb__val *v;
	size_t    i;

	(void) state;
	// The allocator would fail the first allocation: none is tried.
	for (i = 0; i < ARB_ARRAY_SIZE(lies); i++) {
		arb__alloc_fail_after(1);
		ARB_FAIL(arb__val_decode(lies[i], sizeof(lies[i]), &v),
		    ARB_EBADMSG);
		arb__alloc_fail_after(0);
	}
}

static void
test_nesting_is_bounded(void **state)
{
	uint8_t   deep[ARB__VAL_DEPTH + 2];
	arb__val *v;

	(void) state;
	memset(deep, 0x91, sizeof(deep)); // [[[[...
	deep[sizeof(deep) - 1] = 0xc0;
	ARB_FAIL(arb__val_decode(deep, sizeof(deep), &v), ARB_EBADMSG);
	ARB_PASS(arb__val_decode(deep + 1, sizeof(deep) - 1, &v));
	arb__free(v);
}

static void
test_writer_round_trips(void **state)
{
	arb__buf  b = { 0 };
	arb__val *v;

	(void) state;
	ARB_PASS(arb__mp_put_array(&b, 5));
	ARB_PASS(arb__mp_put_uint(&b, 300));
	ARB_PASS(arb__mp_put_uint(&b, 1ull << 40));
	ARB_PASS(arb__mp_put_double(&b, -0.25));
	ARB_PASS(
	    arb__mp_put_str(&b, "0123456789012345678901234567890123", 34));
	ARB_PASS(arb__mp_put_nil(&b));
	ARB_PASS(arb__val_decode(b.data, b.len, &v));
	assert_int_equal(v->n, 5);
	assert_true(v->via.v[0].via.u == 300);
	assert_true(v->via.v[1].via.u == 1ull << 40);
	assert_true(v->via.v[2].via.f == -0.25);
	assert_int_equal(v->via.v[3].n, 34);
	assert_int_equal(v->via.v[4].type, ARB__V_NIL);
	arb__free(v);
	arb__buf_fini(&b);
}

static void
test_int_bool_bin_writers_are_smallest_msgpack(void **state)
{
	static const int64_t vals[] = { 0, 127, 128, 65536, INT64_MAX, -1, -32,
		-33, -128, -129, -32768, -32769, INT32_MIN,
		(int64_t) INT32_MIN - 1, INT64_MIN };
	static const size_t  sizes[] = { 1, 1, 2, 5, 9, 1, 1, 2, 2, 3, 3, 5, 5,
		 9, 9 };
	static const size_t  lens[]  = { 0, 255, 256, 65535, 65536 };
	static uint8_t       bytes[65536];
	size_t               i, off;

	(void) state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		arb__buf         b = { 0 };
		msgpack_unpacked u;

		off = 0;
		ARB_PASS(arb__mp_put_int(&b, vals[i]));
		assert_int_equal(b.len, sizes[i]);
		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, (const char *) b.data,
		                     b.len, &off),
		    MSGPACK_UNPACK_SUCCESS);
		if (vals[i] < 0) {
			assert_int_equal(u.data.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
			assert_true(u.data.via.i64 == vals[i]);
		} else {
			assert_int_equal(u.data.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_true(u.data.via.u64 == (uint64_t) vals[i]);
		}
		msgpack_unpacked_destroy(&u);
		arb__buf_fini(&b);
	}
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		arb__buf         b = { 0 };
		msgpack_unpacked u;

		off = 0;
		ARB_PASS(arb__mp_put_bin(&b, bytes, lens[i]));
		ARB_PASS(arb__mp_put_bool(&b, true));
		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, (const char *) b.data,
		                     b.len, &off),
		    MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(u.data.type, MSGPACK_OBJECT_BIN);
		assert_int_equal(u.data.via.bin.size, lens[i]);
		assert_int_equal(msgpack_unpack_next(&u, (const char *) b.data,
		                     b.len, &off),
		    MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(u.data.type, MSGPACK_OBJECT_BOOLEAN);
		assert_true(u.data.via.boolean);
		assert_int_equal(off, b.len);
		msgpack_unpacked_destroy(&u);
		arb__buf_fini(&b);
	}
}

static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t     ms;
	} good[] = { { "0", 0 }, { "250", 250 }, { "250ms", 250 },
		{ "5s", 5000 }, { "1.5s", 1500 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "0.0004s", 0 }, { "0.25s", 250 } };
	static const char *const bad[]
	    = { "", "s", "-1", "1.5", "1e3s", " 5s", "5 s", "5S", ".5s", "5.s",
		      "5sec", "99999999999999999999", "9999999999999999h" };
	int64_t ms;
	size_t  i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(good); i++) {
		ARB_PASS(arb__parse_dur_ms(good[i].s, &ms));
		assert_true(ms == good[i].ms);
	}
	for (i = 0; i < ARB_ARRAY_SIZE(bad); i++) {
		if (arb__parse_dur_ms(bad[i], &ms) != ARB_EINVAL) {
			fail_msg("\"%s\" was taken as a duration", bad[i]);
		}
	}
}

// arb__url_bound: a TCP (or TLS) URL's port 0 becomes the bound port;
// anything else, or a port out of range or a buffer too small, is the
// URL as given.
static void
test_url_bound(void **state)
{
	static const struct {
		const char *url;
		int         port;
		const char *want;
	} cases[] = {
		{ "tcp://127.0.0.1:0", 4242, "tcp://127.0.0.1:4242" },
		{ "tls+tcp://[::1]:0", 65535, "tls+tcp://[::1]:65535" },
		{ "tcp4://gw.local:0", 1, "tcp4://gw.local:1" },
		{ "tcp://127.0.0.1:10", 4242, "tcp://127.0.0.1:10" },
		{ "tcp://127.0.0.1:0", 0, "tcp://127.0.0.1:0" },
		{ "tcp://127.0.0.1:0", 65536, "tcp://127.0.0.1:0" },
		{ "tcp://[::0]", 4242, "tcp://[::0]" },
		{ "ipc:///tmp/x:0", 4242, "ipc:///tmp/x:0" },
	};
	char   buf[64];
	size_t i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		const char *got = arb__url_bound(
		    cases[i].url, cases[i].port, buf, sizeof(buf));

		if (strcmp(got, cases[i].want) != 0) {
			fail_msg("%s port %d: \"%s\", want \"%s\"",
			    cases[i].url, cases[i].port, got, cases[i].want);
		}
	}
	// Too small for the bound URL: the URL as given.
	assert_string_equal(
	    arb__url_bound("tcp://127.0.0.1:0", 4242, buf, 20),
	    "tcp://127.0.0.1:0");
	assert_null(arb__url_bound(NULL, 4242, buf, sizeof(buf)));
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t    n;
	} good[] = { { "0", 0 }, { "512", 512 }, { "512B", 512 },
		{ "64KiB", 65536 }, { "1.5MiB", 1572864 }, { "10kB", 10000 },
		{ "2GB", 2000000000ull }, { "1TiB", 1099511627776ull },
		{ "18446744073709551615", UINT64_MAX } };
	static const char *const bad[] = { "", "KiB", "-1", "1.5", "64kib",
		"64 KiB", "18446744073709551616", "99999999TiB", "1e3B" };
	uint64_t                 n;
	size_t                   i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(good); i++) {
		ARB_PASS(arb__parse_size(good[i].s, &n));
		assert_true(n == good[i].n);
	}
	for (i = 0; i < ARB_ARRAY_SIZE(bad); i++) {
		if (arb__parse_size(bad[i], &n) != ARB_EINVAL) {
			fail_msg("\"%s\" was taken as a size", bad[i]);
		}
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decodes_every_type_with_raw_bytes),
		cmocka_unit_test(test_every_truncation_is_refused),
		cmocka_unit_test(
		    test_huge_lengths_are_refused_before_allocating),
		cmocka_unit_test(test_nesting_is_bounded),
		cmocka_unit_test(test_writer_round_trips),
		cmocka_unit_test(test_int_bool_bin_writers_are_smallest_msgpack),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_url_bound),
	};

	return ARB_TEST_RUN("core.mpval", tests, argc, argv);
}
