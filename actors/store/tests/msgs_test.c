// SPDX-License-Identifier: MIT
// msgs_test.c -- the store's message bodies (store_msgs.c): every helper
// builds what its reader reads back, the readers refuse other layouts,
// and store_msg_valid refuses every body whose counts or lengths claim
// more than the body holds (a 5-byte body claiming 2^32 items made
// msgpack-c ask for 100 GB), every cut of a valid body, and trailing
// bytes.  Single-threaded.

#include "arb_test.h"

#include "store_msgs.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static void
test_roundtrips(void **state)
{
	store_reading r[3] = { { 3, 1733500000123, "\x01\x02", 2 },
		{ 3, -1, "\x01\x03", 2 }, { 9, -1, "21.5C", 5 } };
	store_body    b;
	store_run     runs[4];
	size_t        n;
	uint64_t      id, session, pos[2] = { 4294967428u, 4294967516u };
	msgpack_unpacked u;
	size_t           off = 0;

	(void) state;
	assert_int_equal(store_msg_append(&b, 17, r, 3), 0);
	assert_true(store_msg_valid(b.data, b.len));
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, b.data, b.len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.via.array.size, 4);
	assert_true(u.data.via.array.ptr[0].via.u64 == 17);
	assert_int_equal(u.data.via.array.ptr[2].via.array.ptr[1].type,
	    MSGPACK_OBJECT_NIL);
	msgpack_unpacked_destroy(&u);
	// An APPEND is not an APPENDED.
	assert_int_equal(store_msg_appended_read(b.data, b.len, &id, runs, 4,
	                     &n),
	    EBADMSG);
	store_body_free(&b);
	assert_int_equal(store_msg_ack(&b, 77, pos, 2), 0);
	assert_true(store_msg_valid(b.data, b.len));
	store_body_free(&b);
	assert_int_equal(store_msg_subscribe(&b, 256, 64), 0);
	assert_true(store_msg_valid(b.data, b.len));
	// A SUBSCRIBE is not a SUBSCRIBED.
	{
		char     gw[STORE_GATEWAY_MAX + 1];
		uint64_t bl, bb;
		assert_int_equal(store_msg_subscribed_read(b.data, b.len,
		                     &session, gw, &bl, &bb),
		    EBADMSG);
	}
	store_body_free(&b);
	store_body_free(NULL);
}

// pack builds a body with msgpack-c.
typedef struct packed {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
} packed;

static void
packed_init(packed *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void
test_readers(void **state)
{
	packed       p;
	store_run    runs[4];
	store_record recs[4];
	size_t       n;
	uint64_t     id, session;
	int          code, retry;
	char         cause[16], gw[STORE_GATEWAY_MAX + 1];

	(void) state;
	packed_init(&p);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 17);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint32(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 118);
	msgpack_pack_uint32(&p.pk, 2);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint32(&p.pk, 9);
	msgpack_pack_uint64(&p.pk, 4);
	msgpack_pack_uint32(&p.pk, 1);
	assert_int_equal(store_msg_appended_read(p.sb.data, p.sb.size, &id,
	                     runs, 4, &n),
	    0);
	assert_true(id == 17 && n == 2);
	assert_true(runs[0].stream == 3 && runs[0].first_seq == 118
	    && runs[0].count == 2);
	assert_true(runs[1].stream == 9 && runs[1].first_seq == 4);
	// More runs than room: refused.
	assert_int_equal(store_msg_appended_read(p.sb.data, p.sb.size, &id,
	                     runs, 1, &n),
	    EBADMSG);
	msgpack_sbuffer_destroy(&p.sb);

	packed_init(&p);
	msgpack_pack_array(&p.pk, 4);
	msgpack_pack_uint64(&p.pk, 18);
	msgpack_pack_int(&p.pk, 3);
	msgpack_pack_int(&p.pk, 1000);
	msgpack_pack_str_with_body(&p.pk, "quota", 5);
	assert_int_equal(store_msg_refused_read(p.sb.data, p.sb.size, &id,
	                     &code, &retry, cause, sizeof(cause)),
	    0);
	assert_true(id == 18 && code == 3 && retry == 1000);
	assert_string_equal(cause, "quota");
	msgpack_sbuffer_destroy(&p.sb);

	packed_init(&p);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 77);
	msgpack_pack_str_with_body(&p.pk, "gw1", 3);
	msgpack_pack_array(&p.pk, 5);
	msgpack_pack_uint64(&p.pk, 4294967428u);
	msgpack_pack_uint32(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 118);
	msgpack_pack_int64(&p.pk, 1733500000123);
	msgpack_pack_bin_with_body(&p.pk, "\x01\x02", 2);
	assert_int_equal(store_msg_records_read(p.sb.data, p.sb.size, &session,
	                     gw, recs, 4, &n),
	    0);
	assert_true(session == 77 && n == 1);
	assert_string_equal(gw, "gw1");
	assert_true(recs[0].pos == 4294967428u && recs[0].stream == 3
	    && recs[0].seq == 118 && recs[0].ts_ms == 1733500000123
	    && recs[0].len == 2
	    && memcmp(recs[0].data, "\x01\x02", 2) == 0);
	msgpack_sbuffer_destroy(&p.sb);
}

static void
test_valid_refuses_claims(void **state)
{
	// Containers and strings that claim more than the body holds.
	static const struct {
		const char *what;
		const char *bytes;
		size_t      len;
	} bad[] = {
		{ "array32 of 2^32-1", "\xdd\xff\xff\xff\xff", 5 },
		{ "map32 of 2^32-1", "\xdf\xff\xff\xff\xff", 5 },
		{ "array16 of 65535", "\xdc\xff\xff", 3 },
		{ "array of 2 inside array32", "\x92\xdd\x7f\xff\xff\xff", 6 },
		{ "str32 of 2^32-1", "\xdb\xff\xff\xff\xff", 5 },
		{ "bin32 of 2^32-1", "\xc6\xff\xff\xff\xff", 5 },
		{ "ext32 of 2^32-1", "\xc9\xff\xff\xff\xff\x01", 6 },
		{ "fixarray of 3 with 2", "\x93\x01\x02", 3 },
		{ "never used 0xc1", "\xc1", 1 },
		{ "trailing byte", "\x01\x02", 2 },
		{ "uint64 cut", "\xcf\x00\x00", 3 },
		{ "17 arrays deep", "\x91\x91\x91\x91\x91\x91\x91\x91\x91"
		                    "\x91\x91\x91\x91\x91\x91\x91\x91\x01",
		    18 },
		{ "empty", "", 0 },
	};
	store_reading r = { 7, -1, "hello", 5 };
	store_body    b;
	size_t        i, cut;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_msg_valid(bad[i].bytes, bad[i].len)) {
			fail_msg("%s: accepted", bad[i].what);
		}
	}
	assert_false(store_msg_valid(NULL, 0));
	// Every cut of a valid body is refused, the body itself accepted.
	assert_int_equal(store_msg_append(&b, 1, &r, 1), 0);
	for (cut = 0; cut < b.len; cut++) {
		assert_false(store_msg_valid(b.data, cut));
	}
	assert_true(store_msg_valid(b.data, b.len));
	store_body_free(&b);
	// Scalars of every width, nested containers, nil and booleans.
	assert_true(store_msg_valid("\x94\xc0\xc2\xc3\xe0", 5));
	assert_true(store_msg_valid("\x82\xa1k\xcd\x01\x02\xa1l\x91\x90", 10));
	assert_true(store_msg_valid("\xd8\x01" "0123456789abcdef", 18));
	assert_true(store_msg_valid("\x91\x91\x91\x91\x91\x91\x91\x91\x91"
	                            "\x91\x91\x91\x91\x91\x91\x91\x01",
	    17)); // 16 deep
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_valid_refuses_claims),
	};

	return cmocka_run_group_tests_name("store.msgs", tests, NULL, NULL);
}
