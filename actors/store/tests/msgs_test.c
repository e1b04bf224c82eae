// SPDX-License-Identifier: MIT
// msgs_test.c -- the store's message bodies (store_msgs.c): every helper
// builds what its reader reads back, the readers refuse other layouts,
// and store_msg_valid refuses every body whose counts or lengths claim
// more than the body holds (a 5-byte body claiming 2^32 items made
// msgpack-c ask for 100 GB), every cut of a valid body, and trailing
// bytes.  The store's own readers and builders (test_store_side) pair
// with the producers' and consumers' helpers.  Single-threaded.

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

// The store's side: its readers read what the producers' and consumers'
// helpers build, say which part is wrong, and its builders make what
// the producers' and consumers' readers read.
static void
test_store_side(void **state)
{
	store_reading  r[2] = { { 3, 1733500000123, "\x01\x02", 2 },
		 { 4294967295u, -1, "21.5C", 5 } };
	store_reading *rp;
	store_run      runs[2] = { { 3, 2, 118 }, { 9, 1, 4 } }, got[2];
	store_record   recs[2];
	store_status   st = { 12, 3400, 5600, 78, 66, true, false };
	store_body     b;
	store_recs    *w;
	packed         p;
	const void    *data;
	size_t         n, bad, len;
	uint64_t       producer, id, session, window, batch, bl, bb, *pos;
	uint64_t       ack[2] = { 4294967428u, 4294967516u };
	int            code, retry;
	char           cause[16], gw[STORE_GATEWAY_MAX + 1];

	(void) state;
	assert_int_equal(store_msg_append(&b, 17, r, 2), 0);
	assert_int_equal(
	    store_msg_append_read(b.data, b.len, &producer, &id, &rp, &n), 0);
	assert_true(producer == 0 && id == 17 && n == 2);
	assert_true(rp[0].stream == 3 && rp[0].ts_ms == 1733500000123
	    && rp[0].len == 2 && memcmp(rp[0].data, "\x01\x02", 2) == 0);
	assert_true(rp[1].stream == 4294967295u && rp[1].ts_ms == -1
	    && rp[1].len == 5 && memcmp(rp[1].data, "21.5C", 5) == 0);
	free(rp);
	store_body_free(&b);
	assert_int_equal(store_msg_append_once(&b, 991, 18, r, 1), 0);
	assert_int_equal(
	    store_msg_append_read(b.data, b.len, &producer, &id, &rp, &n), 0);
	assert_true(producer == 991 && id == 18 && n == 1);
	free(rp);
	store_body_free(&b);

	// Wrong appends: the id is read when it can be, for the refusal.
	packed_init(&p);
	msgpack_pack_array(&p.pk, 2);
	msgpack_pack_uint64(&p.pk, 19);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, (uint64_t) 1 << 32); // stream too large
	msgpack_pack_nil(&p.pk);
	msgpack_pack_bin_with_body(&p.pk, "x", 1);
	assert_int_equal(store_msg_append_read(p.sb.data, p.sb.size, &producer,
	                     &id, &rp, &n),
	    EINVAL);
	assert_true(id == 19 && rp == NULL && n == 0);
	msgpack_sbuffer_destroy(&p.sb);
	packed_init(&p);
	msgpack_pack_array(&p.pk, 2);
	msgpack_pack_uint64(&p.pk, 20);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 1);
	msgpack_pack_uint64(&p.pk, (uint64_t) 1 << 48); // ts too large
	msgpack_pack_bin_with_body(&p.pk, "x", 1);
	assert_int_equal(store_msg_append_read(p.sb.data, p.sb.size, &producer,
	                     &id, &rp, &n),
	    EINVAL);
	msgpack_sbuffer_destroy(&p.sb);
	packed_init(&p);
	msgpack_pack_array(&p.pk, 2);
	msgpack_pack_array(&p.pk, 2);
	msgpack_pack_uint64(&p.pk, 0); // producer 0
	msgpack_pack_uint64(&p.pk, 21);
	msgpack_pack_array(&p.pk, 3);
	msgpack_pack_uint64(&p.pk, 1);
	msgpack_pack_nil(&p.pk);
	msgpack_pack_bin_with_body(&p.pk, "x", 1);
	assert_int_equal(store_msg_append_read(p.sb.data, p.sb.size, &producer,
	                     &id, &rp, &n),
	    EBADMSG);
	msgpack_sbuffer_destroy(&p.sb);
	id = 5;
	assert_int_equal(
	    store_msg_append_read("\x91\x05", 2, &producer, &id, &rp, &n),
	    EBADMSG); // no reading
	assert_int_equal(
	    store_msg_append_read("\x92\xa1x\x90", 4, &producer, &id, &rp, &n),
	    EBADMSG); // the id a string

	window = batch = 99;
	assert_int_equal(store_msg_subscribe_read("", 0, &window, &batch), 0);
	assert_true(window == 99 && batch == 99);
	assert_int_equal(
	    store_msg_subscribe_read("\x90", 1, &window, &batch), 0);
	assert_true(window == 99 && batch == 99);
	assert_int_equal(
	    store_msg_subscribe_read("\x91\x10", 2, &window, &batch), 0);
	assert_true(window == 16 && batch == 99);
	assert_int_equal(store_msg_subscribe(&b, 256, 64), 0);
	assert_int_equal(
	    store_msg_subscribe_read(b.data, b.len, &window, &batch), 0);
	assert_true(window == 256 && batch == 64);
	store_body_free(&b);
	assert_int_equal(
	    store_msg_subscribe_read("\x91\xff", 2, &window, &batch), EBADMSG);

	assert_int_equal(store_msg_ack(&b, 77, ack, 2), 0);
	assert_int_equal(
	    store_msg_ack_read(b.data, b.len, &session, &pos, &n, &bad), 0);
	assert_true(session == 77 && n == 2 && bad == 0 && pos[0] == ack[0]
	    && pos[1] == ack[1]);
	free(pos);
	store_body_free(&b);
	assert_int_equal(store_msg_ack_read(
	                     "\x93\x4d\xa1x\x05", 5, &session, &pos, &n, &bad),
	    0);
	assert_true(session == 77 && n == 1 && bad == 1 && pos[0] == 5);
	free(pos);
	assert_int_equal(
	    store_msg_ack_read("\x90", 1, &session, &pos, &n, &bad), EBADMSG);
	assert_int_equal(store_msg_unsubscribe(&b, 78), 0);
	assert_int_equal(
	    store_msg_unsubscribe_read(b.data, b.len, &session), 0);
	assert_true(session == 78);
	store_body_free(&b);
	assert_int_equal(store_msg_unsubscribe_read("\x91\xc0", 2, &session),
	    EBADMSG);

	assert_int_equal(store_msg_appended(&b, 17, runs, 2), 0);
	assert_int_equal(
	    store_msg_appended_read(b.data, b.len, &id, got, 2, &n), 0);
	assert_true(id == 17 && n == 2 && got[0].stream == 3
	    && got[0].count == 2 && got[0].first_seq == 118
	    && got[1].stream == 9 && got[1].first_seq == 4);
	store_body_free(&b);
	assert_int_equal(store_msg_refused(&b, 18, 3, 250, "quota"), 0);
	assert_int_equal(store_msg_refused_read(b.data, b.len, &id, &code,
	                     &retry, cause, sizeof(cause)),
	    0);
	assert_true(id == 18 && code == 3 && retry == 250);
	assert_string_equal(cause, "quota");
	store_body_free(&b);
	assert_int_equal(store_msg_subscribed(&b, 79, "gw-1", 12, 3400), 0);
	assert_int_equal(store_msg_subscribed_read(b.data, b.len, &session, gw,
	                     &bl, &bb),
	    0);
	assert_true(session == 79 && bl == 12 && bb == 3400);
	assert_string_equal(gw, "gw-1");
	store_body_free(&b);
	// Empty strings: msgpack-c gives them no pointer (memchr and memcpy
	// of NULL are undefined even for 0 bytes: UBSan stops the reader).
	assert_int_equal(store_msg_subscribed(&b, 80, "", 0, 0), 0);
	assert_int_equal(store_msg_subscribed_read(b.data, b.len, &session, gw,
	                     &bl, &bb),
	    0);
	assert_string_equal(gw, "");
	store_body_free(&b);
	assert_int_equal(store_msg_refused(&b, 19, 3, 250, ""), 0);
	assert_int_equal(store_msg_refused_read(b.data, b.len, &id, &code,
	                     &retry, cause, sizeof(cause)),
	    0);
	assert_string_equal(cause, "");
	store_body_free(&b);

	assert_int_equal(store_recs_new(&w), 0);
	assert_int_equal(
	    store_recs_add(w, 9, 3, 118, 1733500000123, "ab", 2), 0);
	assert_int_equal(store_recs_add(w, 10, 4, 1, 1733500000124, "", 0), 0);
	assert_int_equal(store_recs_finish(w, 80, "gw-1", &data, &len), 0);
	assert_int_equal(
	    store_msg_records_read(data, len, &session, gw, recs, 2, &n), 0);
	assert_true(session == 80 && n == 2 && recs[0].pos == 9
	    && recs[0].stream == 3 && recs[0].seq == 118
	    && recs[0].ts_ms == 1733500000123 && recs[0].len == 2
	    && memcmp(recs[0].data, "ab", 2) == 0 && recs[1].pos == 10
	    && recs[1].len == 0);
	assert_string_equal(gw, "gw-1");
	// After a reset the next body holds only what came after it.
	store_recs_reset(w);
	assert_int_equal(store_recs_add(w, 11, 5, 2, 1, "c", 1), 0);
	assert_int_equal(store_recs_finish(w, 81, "gw-2", &data, &len), 0);
	assert_int_equal(
	    store_msg_records_read(data, len, &session, gw, recs, 2, &n), 0);
	assert_true(session == 81 && n == 1 && recs[0].pos == 11);
	store_recs_free(w);
	store_recs_free(NULL);

	assert_int_equal(store_msg_status_reply(&b, &st), 0);
	{
		msgpack_unpacked u;
		size_t           off = 0;
		msgpack_object_kv *kv;

		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, b.data, b.len, &off),
		    MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
		assert_int_equal(u.data.via.map.size, 7);
		kv = u.data.via.map.ptr;
		assert_true(kv[0].key.via.str.size == 15
		    && memcmp(kv[0].key.via.str.ptr, "backlog_records", 15)
		        == 0
		    && kv[0].val.via.u64 == 12);
		assert_true(kv[2].val.via.u64 == 5600);
		assert_true(kv[5].val.type == MSGPACK_OBJECT_BOOLEAN
		    && kv[5].val.via.boolean);
		assert_true(kv[6].val.type == MSGPACK_OBJECT_BOOLEAN
		    && !kv[6].val.via.boolean);
		msgpack_unpacked_destroy(&u);
	}
	store_body_free(&b);
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
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_store_side),
		cmocka_unit_test(test_valid_refuses_claims),
	};

	return ARB_TEST_RUN("store.msgs", tests, argc, argv);
}
