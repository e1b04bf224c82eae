// SPDX-License-Identifier: MIT
// codec_test.c -- unit tests for codec.c: the wire format v2 envelope,
// exit and error bodies, the bounded readers (arb__mp_get_*) and the
// short reader of the encoder's own shape (arb__codec_peek).
//
// Round trips, interop with msgpack-c's own unpacker, every kind of
// malformed input the decoder must reject, truncation at every byte, a
// seeded garbage fuzz loop and the OOM path through arb__alloc.  Inputs
// handed to the decoder are copied into heap blocks of their exact size so
// that ASan catches any read past the end.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#define MAX_BODY ARB_MSG_BODY_MAX

// splitmix64: a small, seeded, deterministic generator.
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

// dup_exact copies n bytes into a heap block of exactly n bytes (1 when n
// is 0, but then the decoder is told the length is 0).
static uint8_t *
dup_exact(const void *p, size_t n)
{
	uint8_t *d = malloc(n > 0 ? n : 1);

	assert_non_null(d);
	if (n > 0) {
		memcpy(d, p, n);
	}
	return d;
}

// decode_one decodes bytes that must hold exactly one envelope; on
// success view->body points into p.
static int
decode_one(const void *p, size_t n, size_t max_body, arb_msg *view)
{
	arb__decoder d;
	uint8_t     *copy = dup_exact(p, n);
	int          rv;

	arb__decoder_init(&d, copy, n, max_body);
	rv = arb__codec_next(&d, view);
	if (rv == ARB_OK) {
		arb_msg rest;

		assert_true(view->body >= copy);
		assert_true(view->body + view->len <= copy + n);
		ARB_FAIL(arb__codec_next(&d, &rest), ARB_ENOENT);
		// Point the view into the caller's bytes: copy is freed.
		view->body = (const uint8_t *) p + (view->body - copy);
	} else {
		// After an error everything else is ARB_ENOENT.
		assert_true(d.failed);
		ARB_FAIL(arb__codec_next(&d, view), ARB_ENOENT);
	}
	free(copy);
	return rv;
}

static void
assert_msg_equal(const arb_msg *want, const arb_msg *got)
{
	assert_int_equal(want->from.id, got->from.id);
	assert_int_equal(want->to.id, got->to.id);
	assert_int_equal(want->tag, got->tag);
	assert_int_equal(want->flags, got->flags);
	assert_int_equal(want->ref, got->ref);
	assert_int_equal(want->len, got->len);
	if (want->len > 0) {
		assert_memory_equal(want->body, got->body, want->len);
	}
}

static void
test_round_trip_one(void **state)
{
	arb__buf     b = { 0 };
	arb__decoder d;
	arb_msg      m = { 0 };
	arb_msg      v;
	uint8_t      body[] = { 0x92, 0x01, 0xa2, 'h', 'i' }; // [1, "hi"]

	ARB_UNUSED(state);
	m.from  = (arb_pid) { .id = 0x0000000100000002u };
	m.to    = (arb_pid) { .id = 0x0000000300000004u };
	m.tag   = 42;
	m.flags = ARB__F_REQUEST;
	m.ref   = 77;
	m.body  = body;
	m.len   = sizeof(body);
	ARB_PASS(arb__codec_encode(&b, &m));
	arb__decoder_init(&d, b.data, b.len, MAX_BODY);
	ARB_PASS(arb__codec_next(&d, &v));
	assert_msg_equal(&m, &v);
	// Zero copy: the body is a view into the batch.
	assert_ptr_equal(v.body, b.data + b.len - sizeof(body));
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	assert_false(d.failed);
	arb__buf_fini(&b);
}

static void
test_round_trip_many(void **state)
{
	enum { N = 1000 };
	arb__buf     b = { 0 };
	arb__decoder d;
	arb_msg     *want;
	uint8_t     *bodies;
	size_t       off = 0;
	uint64_t     seed = 1;
	arb_msg      v;
	unsigned     sh;
	int          i;
	size_t       j;

	ARB_UNUSED(state);
	want   = calloc(N, sizeof(*want));
	bodies = malloc(N * 400 + 70000);
	assert_non_null(want);
	assert_non_null(bodies);
	for (i = 0; i < N; i++) {
		arb_msg *m = &want[i];

		switch (i % 5) {
		case 0: // extremes
			m->from  = (arb_pid) { .id = UINT64_MAX };
			m->to    = (arb_pid) { .id = UINT64_MAX - (uint64_t) i };
			m->tag   = UINT32_MAX;
			m->flags = UINT32_MAX;
			m->ref   = UINT64_MAX;
			break;
		case 1: // zeros
			m->from  = ARB_PID_NONE;
			m->to    = ARB_PID_NONE;
			m->tag   = 0;
			m->flags = 0;
			m->ref   = 0;
			break;
		default: // every integer width somewhere
			m->from  = (arb_pid) { .id = rng_next(&seed) >> (i % 64) };
			m->to    = (arb_pid) { .id = rng_next(&seed) >> (i % 61) };
			sh       = 32 + (unsigned) (i % 32);
			m->tag   = (uint32_t) (rng_next(&seed) >> sh);
			m->flags = (uint32_t) (i & 7);
			m->ref   = (uint64_t) i << (i % 56);
			break;
		}
		if (i % 7 == 0) {
			m->len = 0; // empty body
		} else if (i == 500) {
			m->len = 70000; // bin32
		} else {
			m->len = (size_t) (i * 13) % 400; // bin8 and bin16
		}
		for (j = 0; j < m->len; j++) {
			bodies[off + j] = (uint8_t) (i * 31 + (int) j);
		}
		m->body = m->len > 0 ? bodies + off : NULL;
		off += m->len;
		ARB_PASS(arb__codec_encode(&b, m));
	}
	arb__decoder_init(&d, b.data, b.len, MAX_BODY);
	for (i = 0; i < N; i++) {
		ARB_PASS(arb__codec_next(&d, &v));
		assert_msg_equal(&want[i], &v);
		assert_true(v.body >= b.data);
		assert_true(v.body + v.len <= b.data + b.len);
	}
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	arb__buf_fini(&b);
	free(bodies);
	free(want);
}

static void
test_encode_appends_after_existing_bytes(void **state)
{
	arb__buf b = { 0 };
	arb_msg  m = { 0 };
	arb_msg  v;

	ARB_UNUSED(state);
	ARB_PASS(arb__buf_append(&b, "xyz", 3));
	m.tag = 5;
	ARB_PASS(arb__codec_encode(&b, &m));
	assert_memory_equal(b.data, "xyz", 3);
	ARB_PASS(decode_one(b.data + 3, b.len - 3, MAX_BODY, &v));
	assert_msg_equal(&m, &v);
	arb__buf_fini(&b);
}

static void
test_encode_is_minimal_msgpack(void **state)
{
	static const uint8_t want[] = { 0x97, 0x02, 0x00, 0x7f, 0xcc, 0x80,
		0xcd, 0x01, 0x00, 0xce, 0x00, 0x01, 0x00, 0x00, 0xc4, 0x00 };
	arb__buf b = { 0 };
	arb_msg  m = { 0 };

	ARB_UNUSED(state);
	m.from = (arb_pid) { .id = 0x7f };
	m.to   = (arb_pid) { .id = 0x80 };
	m.tag  = 0x100;
	m.ref  = 0x10000;
	ARB_PASS(arb__codec_encode(&b, &m));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	arb__buf_fini(&b);
}

static void
test_interop_msgpack_unpack(void **state)
{
	enum { N = 50 };
	arb__buf         b = { 0 };
	arb_msg          m = { 0 };
	uint8_t          body[300];
	msgpack_unpacked u;
	size_t           off = 0;
	int              i;

	ARB_UNUSED(state);
	memset(body, 0xab, sizeof(body));
	for (i = 0; i < N; i++) {
		m.from  = (arb_pid) { .id = (uint64_t) i << (i % 60) };
		m.to    = (arb_pid) { .id = i == 0 ? UINT64_MAX : (uint64_t) i };
		m.tag   = i == 1 ? UINT32_MAX : (uint32_t) i * 1000;
		m.flags = (uint32_t) i % 4;
		m.ref   = (uint64_t) i * 0x100000001u;
		m.len   = (size_t) (i * 7) % sizeof(body);
		m.body  = body;
		ARB_PASS(arb__codec_encode(&b, &m));
	}
	msgpack_unpacked_init(&u);
	for (i = 0; i < N; i++) {
		msgpack_object *a;

		assert_int_equal(msgpack_unpack_next(&u, (const char *) b.data,
		                     b.len, &off),
		    MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(u.data.via.array.size, 7);
		a = u.data.via.array.ptr;
		assert_int_equal(a[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		assert_int_equal(a[0].via.u64, 2);
		assert_int_equal(a[1].via.u64, (uint64_t) i % 4);
		assert_int_equal(a[2].via.u64, (uint64_t) i << (i % 60));
		assert_int_equal(
		    a[3].via.u64, i == 0 ? UINT64_MAX : (uint64_t) i);
		assert_int_equal(
		    a[4].via.u64, i == 1 ? UINT32_MAX : (uint64_t) i * 1000);
		assert_int_equal(a[5].via.u64, (uint64_t) i * 0x100000001u);
		assert_int_equal(a[6].type, MSGPACK_OBJECT_BIN);
		assert_int_equal(a[6].via.bin.size, (size_t) (i * 7) % 300);
	}
	assert_int_equal(off, b.len);
	msgpack_unpacked_destroy(&u);
	arb__buf_fini(&b);
}

static void
test_decodes_msgpack_c_packer_output(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	arb_msg         v;

	ARB_UNUSED(state);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_uint8(&pk, 2);
	msgpack_pack_uint32(&pk, 3);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_int64(&pk, 12345); // packed as an unsigned form
	msgpack_pack_uint32(&pk, UINT32_MAX);
	msgpack_pack_uint64(&pk, 9);
	msgpack_pack_bin_with_body(&pk, "\xc3", 1);
	ARB_PASS(decode_one(sb.data, sb.size, MAX_BODY, &v));
	assert_int_equal(v.flags, 3);
	assert_int_equal(v.from.id, UINT64_MAX);
	assert_int_equal(v.to.id, 12345);
	assert_int_equal(v.tag, UINT32_MAX);
	assert_int_equal(v.ref, 9);
	assert_int_equal(v.len, 1);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_accepts_any_integer_width(void **state)
{
	// Non-minimal and signed forms of non-negative values.
	static const uint8_t in[] = { 0xdc, 0x00, 0x07, // array16 of 7
		0xcf, 0, 0, 0, 0, 0, 0, 0, 2,                         // ver
		0xd0, 0x05,                                           // flags
		0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // from
		0xcd, 0x00, 0x01,                                     // to
		0xd2, 0x7f, 0xff, 0xff, 0xff,                         // tag
		0xd1, 0x00, 0x10,                                     // ref
		0xc5, 0x00, 0x02, 0xc3, 0xc2 };                       // bin16
	static const uint8_t in32[] = { 0xdd, 0x00, 0x00, 0x00, 0x07, // 7
		0xcc, 0x02,                     // version
		0xce, 0xff, 0xff, 0xff, 0xff,   // flags
		0x00, 0x00,                     // from, to
		0xd2, 0x00, 0x00, 0x00, 0x00,   // tag
		0x00,                           // ref
		0xc6, 0x00, 0x00, 0x00, 0x00 }; // empty bin32
	arb_msg v;

	ARB_UNUSED(state);
	ARB_PASS(decode_one(in, sizeof(in), MAX_BODY, &v));
	assert_int_equal(v.flags, 5);
	assert_int_equal(v.from.id, INT64_MAX);
	assert_int_equal(v.to.id, 1);
	assert_int_equal(v.tag, INT32_MAX);
	assert_int_equal(v.ref, 16);
	assert_int_equal(v.len, 2);
	ARB_PASS(decode_one(in32, sizeof(in32), MAX_BODY, &v));
	assert_int_equal(v.flags, UINT32_MAX);
	assert_int_equal(v.len, 0);
}

// A minimal valid envelope to mutate: flags 0, from 1, to 2, tag 3,
// ref 4, body [nil].
static const uint8_t valid_env[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
	0x04, 0xc4, 0x01, 0xc0 };

static void
test_minimal_envelope_decodes(void **state)
{
	arb_msg v;

	ARB_UNUSED(state);
	ARB_PASS(decode_one(valid_env, sizeof(valid_env), MAX_BODY, &v));
	assert_int_equal(v.from.id, 1);
	assert_int_equal(v.to.id, 2);
	assert_int_equal(v.tag, 3);
	assert_int_equal(v.ref, 4);
	assert_int_equal(v.len, 1);
	assert_int_equal(v.body[0], 0xc0);
}

static void
test_wrong_version(void **state)
{
	uint8_t e[sizeof(valid_env)];
	uint8_t big[] = { 0x97, 0xcf, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 2, 3,
		4, 0xc4, 0x00 };
	arb_msg v;

	ARB_UNUSED(state);
	ARB_PASS(decode_one(big, sizeof(big), MAX_BODY, &v));
	memcpy(e, valid_env, sizeof(e));
	e[1] = 0x00;
	ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	e[1] = 0x01; // version 1: pids were never arrays
	ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	e[1] = 0x03;
	ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	e[1] = 0xa2; // "2" as a str
	ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	e[1] = 0xff; // -1
	ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	// 2^32 + 2 must not pass as 2 by truncation.
	big[5] = 1;
	ARB_FAIL(decode_one(big, sizeof(big), MAX_BODY, &v), ARB_EBADMSG);
}

static void
test_wrong_array_length(void **state)
{
	static const uint8_t six[] = { 0x96, 0x02, 0x00, 0x01, 0x02, 0x03,
		0xc4, 0x00 };
	static const uint8_t eight[] = { 0x98, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xc4, 0x00, 0xc0 };
	static const uint8_t a16[] = { 0xdc, 0x00, 0x08, 0x02, 0x00, 0x01,
		0x02, 0x03, 0x04, 0xc4, 0x00, 0xc0 };
	static const uint8_t map[] = { 0x87, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xc4, 0x00 };
	static const uint8_t nil[] = { 0xc0 };
	static const uint8_t empty_arr[] = { 0x90 };
	arb_msg v;

	ARB_UNUSED(state);
	ARB_FAIL(decode_one(six, sizeof(six), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(eight, sizeof(eight), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(a16, sizeof(a16), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(map, sizeof(map), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(nil, sizeof(nil), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(empty_arr, sizeof(empty_arr), MAX_BODY, &v),
	    ARB_EBADMSG);
}

static void
test_negative_int_rejected(void **state)
{
	uint8_t e[sizeof(valid_env)];
	uint8_t i8[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03, 0xd0, 0x80,
		0xc4, 0x00 };
	uint8_t i64[] = { 0x97, 0x02, 0x00, 0xd3, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0x02, 0x03, 0x04, 0xc4, 0x00 };
	arb_msg v;
	size_t  pos;

	ARB_UNUSED(state);
	// -1 as negative fixint in each integer field in turn.
	for (pos = 2; pos <= 6; pos++) {
		memcpy(e, valid_env, sizeof(e));
		e[pos] = 0xff;
		ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
		e[pos] = 0xe0; // -32
		ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v), ARB_EBADMSG);
	}
	ARB_FAIL(decode_one(i8, sizeof(i8), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(i64, sizeof(i64), MAX_BODY, &v), ARB_EBADMSG);
}

static void
test_tag_and_flags_over_uint32(void **state)
{
	// tag = 2^32 as uint64.
	static const uint8_t tag[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0xcf,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc4,
		0x00 };
	// flags = 2^32 as int64.
	static const uint8_t flags[] = { 0x97, 0x02, 0xd3, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0xc4,
		0x00 };
	// tag = UINT32_MAX as uint64 is fine.
	static const uint8_t ok[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0xcf,
		0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x04, 0xc4,
		0x00 };
	arb_msg v;

	ARB_UNUSED(state);
	ARB_FAIL(decode_one(tag, sizeof(tag), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(flags, sizeof(flags), MAX_BODY, &v), ARB_EBADMSG);
	ARB_PASS(decode_one(ok, sizeof(ok), MAX_BODY, &v));
	assert_int_equal(v.tag, UINT32_MAX);
}

static void
test_non_integer_fields_rejected(void **state)
{
	static const uint8_t bad[] = { 0xc0, 0xc2, 0xc3, 0xca, 0xcb, 0xa0,
		0x90, 0x80, 0xc4, 0xd4, 0xc1 };
	uint8_t e[sizeof(valid_env)];
	arb_msg v;
	size_t  pos, i;

	ARB_UNUSED(state);
	for (pos = 2; pos <= 6; pos++) {
		for (i = 0; i < sizeof(bad); i++) {
			memcpy(e, valid_env, sizeof(e));
			e[pos] = bad[i];
			ARB_FAIL(decode_one(e, sizeof(e), MAX_BODY, &v),
			    ARB_EBADMSG);
		}
	}
}

static void
test_body_not_bin(void **state)
{
	static const uint8_t str[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xa1, 'x' };
	static const uint8_t nil[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xc0 };
	static const uint8_t fix[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0x05 };
	static const uint8_t ext[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xd4, 0x01, 0x00 };
	static const uint8_t none[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04 };
	arb_msg v;

	ARB_UNUSED(state);
	ARB_FAIL(decode_one(str, sizeof(str), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(nil, sizeof(nil), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(fix, sizeof(fix), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(ext, sizeof(ext), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(none, sizeof(none), MAX_BODY, &v), ARB_EBADMSG);
}

static void
test_oversize_body(void **state)
{
	arb__buf b = { 0 };
	arb_msg  m = { 0 };
	arb_msg  v;
	uint8_t  body[1000];
	// bin32 announcing 4 GiB - 1 with no bytes behind it.
	static const uint8_t huge[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03,
		0x04, 0xc6, 0xff, 0xff, 0xff, 0xff };

	ARB_UNUSED(state);
	memset(body, 7, sizeof(body));
	m.body = body;
	m.len  = sizeof(body);
	ARB_PASS(arb__codec_encode(&b, &m));
	ARB_PASS(decode_one(b.data, b.len, sizeof(body), &v));
	assert_int_equal(v.len, sizeof(body));
	ARB_FAIL(decode_one(b.data, b.len, sizeof(body) - 1, &v),
	    ARB_EMSGSIZE);
	ARB_FAIL(decode_one(huge, sizeof(huge), MAX_BODY, &v), ARB_EMSGSIZE);
	ARB_FAIL(decode_one(huge, sizeof(huge), SIZE_MAX, &v), ARB_EBADMSG);
	arb__buf_fini(&b);
}

static void
test_enoent_after_error(void **state)
{
	arb__buf     b = { 0 };
	arb__decoder d;
	arb_msg      m = { 0 };
	arb_msg      v;
	uint8_t      bad = 0xc1; // never used in msgpack

	ARB_UNUSED(state);
	m.tag = 1;
	ARB_PASS(arb__codec_encode(&b, &m));
	ARB_PASS(arb__buf_append(&b, &bad, 1));
	m.tag = 2;
	ARB_PASS(arb__codec_encode(&b, &m)); // valid, but after garbage
	arb__decoder_init(&d, b.data, b.len, MAX_BODY);
	ARB_PASS(arb__codec_next(&d, &v));
	assert_int_equal(v.tag, 1);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_EBADMSG);
	assert_true(d.failed);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	// The same for EMSGSIZE: the valid envelope behind it is lost too.
	arb__buf_reset(&b);
	m.body = (const uint8_t *) "12345";
	m.len  = 5;
	ARB_PASS(arb__codec_encode(&b, &m));
	m.len = 0;
	ARB_PASS(arb__codec_encode(&b, &m));
	arb__decoder_init(&d, b.data, b.len, 4);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_EMSGSIZE);
	assert_true(d.failed);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	arb__buf_fini(&b);
}

static void
test_empty_batch(void **state)
{
	arb__decoder d;
	arb_msg      v;

	ARB_UNUSED(state);
	arb__decoder_init(&d, NULL, 0, MAX_BODY);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	assert_false(d.failed);
}

static void
test_truncation_at_every_offset(void **state)
{
	arb__buf     b = { 0 };
	arb__decoder d;
	arb_msg      want[3];
	size_t       end[3];
	uint8_t      body[300];
	arb_msg      v;
	size_t       cut, whole, k;
	uint8_t     *copy;

	ARB_UNUSED(state);
	memset(want, 0, sizeof(want));
	for (k = 0; k < sizeof(body); k++) {
		body[k] = (uint8_t) k;
	}
	want[0].from = (arb_pid) { .id = UINT64_MAX };
	want[0].tag  = 9;
	want[1].to   = (arb_pid) { .id = 0x123456789u };
	want[1].body = body;
	want[1].len  = 5;
	want[2].ref  = UINT64_MAX;
	want[2].tag  = UINT32_MAX;
	want[2].body = body;
	want[2].len  = sizeof(body); // bin16
	for (k = 0; k < 3; k++) {
		ARB_PASS(arb__codec_encode(&b, &want[k]));
		end[k] = b.len;
	}
	for (cut = 0; cut <= b.len; cut++) {
		copy = dup_exact(b.data, cut);
		arb__decoder_init(&d, copy, cut, MAX_BODY);
		whole = 0;
		while (whole < 3 && end[whole] <= cut) {
			whole++;
		}
		for (k = 0; k < whole; k++) {
			ARB_PASS(arb__codec_next(&d, &v));
			assert_msg_equal(&want[k], &v);
		}
		if (cut == 0 || (whole > 0 && end[whole - 1] == cut)) {
			ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
			assert_false(d.failed);
		} else {
			ARB_FAIL(arb__codec_next(&d, &v), ARB_EBADMSG);
			assert_true(d.failed);
		}
		ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
		free(copy);
	}
	arb__buf_fini(&b);
}

// fuzz_check decodes a heap copy of p[0..n) to the end and checks that
// every envelope lies within the batch and that the decoder stops.
static void
fuzz_check(const uint8_t *p, size_t n, size_t max_body)
{
	arb__decoder d;
	arb_msg      v;
	uint8_t     *copy = dup_exact(p, n);
	size_t       count = 0;
	int          rv;

	arb__decoder_init(&d, copy, n, max_body);
	while ((rv = arb__codec_next(&d, &v)) == ARB_OK) {
		// Each envelope takes at least 9 bytes.
		assert_true(++count <= n / 9);
		assert_true(v.body >= copy);
		assert_true(v.len <= max_body);
		assert_true(v.len <= (size_t) (copy + n - v.body));
	}
	assert_true(rv == ARB_ENOENT || rv == ARB_EBADMSG ||
	    rv == ARB_EMSGSIZE);
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
	free(copy);
}

static void
test_fuzz_garbage(void **state)
{
	enum { ITER = 100000 };
	arb__buf b = { 0 };
	arb_msg  m = { 0 };
	uint8_t  body[40];
	uint8_t  tmp[512];
	uint64_t seed = 0x5eed;
	size_t   n, k, flips;
	unsigned bit;
	int      i;

	ARB_UNUSED(state);
	// A valid batch of four envelopes, every integer width and bin8.
	for (i = 0; i < 4; i++) {
		memset(body, i, sizeof(body));
		m.from  = (arb_pid) { .id = (uint64_t) 1 << (i * 16) };
		m.to    = (arb_pid) { .id = UINT64_MAX >> (i * 8) };
		m.tag   = (uint32_t) 1 << (i * 10);
		m.flags = (uint32_t) i;
		m.ref   = (uint64_t) i * 0x01010101u;
		m.body  = body;
		m.len   = (size_t) i * 13;
		ARB_PASS(arb__codec_encode(&b, &m));
	}
	assert_true(b.len <= sizeof(tmp));
	// Pure random bytes; half start like an envelope to get deeper.
	for (i = 0; i < ITER; i++) {
		n = (size_t) (rng_next(&seed) % 64);
		for (k = 0; k < n; k++) {
			tmp[k] = (uint8_t) rng_next(&seed);
		}
		if (n >= 2 && (i & 1) != 0) {
			tmp[0] = 0x97;
			tmp[1] = 0x02;
		}
		fuzz_check(tmp, n, (i & 2) != 0 ? 16 : MAX_BODY);
	}
	// Random mutations of the valid batch, sometimes cut short.
	for (i = 0; i < ITER; i++) {
		memcpy(tmp, b.data, b.len);
		n     = b.len;
		flips = 1 + (size_t) (rng_next(&seed) % 4);
		for (k = 0; k < flips; k++) {
			size_t at = (size_t) (rng_next(&seed) % n);

			if ((rng_next(&seed) & 1) != 0) {
				tmp[at] = (uint8_t) rng_next(&seed);
			} else {
				bit = (unsigned) (rng_next(&seed) % 8);
				tmp[at] ^= (uint8_t) (1u << bit);
			}
		}
		if ((i & 3) == 0) {
			n = (size_t) (rng_next(&seed) % (n + 1));
		}
		fuzz_check(tmp, n, (i & 4) != 0 ? 20 : MAX_BODY);
	}
	arb__buf_fini(&b);
}

static void
test_exit_round_trip(void **state)
{
	static const struct {
		uint64_t      who;
		arb_exit_kind kind;
		int           code;
		const char   *text;
	} cases[] = {
		{ 0, ARB_EXIT_NORMAL, 0, "" },
		{ 1, ARB_EXIT_SHUTDOWN, 0, "" },
		{ 42, ARB_EXIT_ERROR, ARB_EAGAIN, "boom" },
		{ UINT64_MAX, ARB_EXIT_CRASHED, 11, "" },
		{ 7, ARB_EXIT_KILLED, -1, "stop deadline" },
		{ 8, ARB_EXIT_HUNG, INT_MIN, "stuck" },
		{ 9, ARB_EXIT_NOCONNECTION, INT_MAX, "node lost" },
		{ 10, ARB_EXIT_NOPROC, -200000, "gone" },
	};
	arb__buf b = { 0 };
	arb_exit e, got;
	arb_pid  who;
	size_t   i;

	ARB_UNUSED(state);
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		memset(&e, 0, sizeof(e));
		e.kind = cases[i].kind;
		e.code = cases[i].code;
		strcpy(e.text, cases[i].text);
		arb__buf_reset(&b);
		ARB_PASS(arb__codec_encode_exit(
		    &b, (arb_pid) { .id = cases[i].who }, &e));
		memset(&got, 0x55, sizeof(got));
		ARB_PASS(arb__codec_decode_exit(b.data, b.len, &who, &got));
		assert_int_equal(who.id, cases[i].who);
		assert_int_equal(got.kind, e.kind);
		assert_int_equal(got.code, e.code);
		assert_string_equal(got.text, e.text);
	}
	// A text filling the whole array without a NUL is sent as 120
	// bytes and comes back truncated to 119 and terminated.
	memset(e.text, 'y', sizeof(e.text));
	arb__buf_reset(&b);
	ARB_PASS(arb__codec_encode_exit(&b, (arb_pid) { .id = 3 }, &e));
	ARB_PASS(arb__codec_decode_exit(b.data, b.len, &who, &got));
	assert_int_equal(strlen(got.text), ARB_EXIT_TEXT_MAX - 1);
	assert_int_equal(got.text[0], 'y');
	arb__buf_fini(&b);
}

// pack_begin starts a test body in sb.
static void
pack_begin(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
}

// exit_body packs [who, kind, code, text] with the given kind and code
// as int64 and a text of tlen 'x's, and decodes it.
static int
exit_body(int64_t kind, int64_t code, size_t tlen, arb_exit *e)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            text[400];
	arb_pid         who;
	uint8_t        *copy;
	int             rv;

	assert_true(tlen <= sizeof(text));
	memset(text, 'x', sizeof(text));
	pack_begin(&sb, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, 5);
	msgpack_pack_int64(&pk, kind);
	msgpack_pack_int64(&pk, code);
	msgpack_pack_str_with_body(&pk, text, tlen);
	copy = dup_exact(sb.data, sb.size);
	rv   = arb__codec_decode_exit(copy, sb.size, &who, e);
	free(copy);
	msgpack_sbuffer_destroy(&sb);
	return rv;
}

static void
test_exit_text_too_long_truncated(void **state)
{
	arb_exit e;
	size_t   i;

	ARB_UNUSED(state);
	ARB_PASS(exit_body(ARB_EXIT_ERROR, 3, 300, &e)); // str16
	assert_int_equal(strlen(e.text), ARB_EXIT_TEXT_MAX - 1);
	for (i = 0; i < ARB_EXIT_TEXT_MAX - 1; i++) {
		assert_int_equal(e.text[i], 'x');
	}
	ARB_PASS(exit_body(ARB_EXIT_ERROR, 3, ARB_EXIT_TEXT_MAX - 1, &e));
	assert_int_equal(strlen(e.text), ARB_EXIT_TEXT_MAX - 1);
	ARB_PASS(exit_body(ARB_EXIT_ERROR, 3, 31, &e)); // fixstr
	assert_int_equal(strlen(e.text), 31);
}

static void
test_exit_malformed(void **state)
{
	static const uint8_t who_str[] = { 0x94, 0xa1, 'x', 0x00, 0x00, 0xa0 };
	static const uint8_t who_neg[] = { 0x94, 0xff, 0x00, 0x00, 0xa0 };
	static const uint8_t code_f[] = { 0x94, 0x01, 0x00, 0xca, 0, 0, 0, 0,
		0xa0 };
	static const uint8_t text_bin[] = { 0x94, 0x01, 0x00, 0x00, 0xc4,
		0x00 };
	static const uint8_t text_nil[] = { 0x94, 0x01, 0x00, 0x00, 0xc0 };
	static const uint8_t three[] = { 0x93, 0x01, 0x00, 0x00 };
	static const uint8_t five[] = { 0x95, 0x01, 0x00, 0x00, 0xa0, 0xc0 };
	static const uint8_t map[] = { 0x84, 0x01, 0x00, 0x00, 0xa0, 0x00,
		0x00, 0x00, 0x00 };
	static const uint8_t trail[] = { 0x94, 0x01, 0x00, 0x00, 0xa0, 0xc0 };
	static const uint8_t trunc_text[] = { 0x94, 0x01, 0x00, 0x00, 0xa5,
		'a', 'b' };
	static const uint8_t trunc_str8[] = { 0x94, 0x01, 0x00, 0x00, 0xd9 };
	static const uint8_t ok[] = { 0x94, 0x01, 0x02, 0xff, 0xa2, 'h',
		'i' };
	static const struct {
		const uint8_t *p;
		size_t         n;
	} bad[] = {
		{ who_str, sizeof(who_str) },
		{ who_neg, sizeof(who_neg) },
		{ code_f, sizeof(code_f) },
		{ text_bin, sizeof(text_bin) },
		{ text_nil, sizeof(text_nil) },
		{ three, sizeof(three) },
		{ five, sizeof(five) },
		{ map, sizeof(map) },
		{ trail, sizeof(trail) },
		{ trunc_text, sizeof(trunc_text) },
		{ trunc_str8, sizeof(trunc_str8) },
	};
	arb_exit e;
	arb_pid  who;
	uint8_t *copy;
	size_t   i, cut;

	ARB_UNUSED(state);
	// Kind outside the enum, or negative.
	ARB_FAIL(exit_body(ARB_EXIT_NOPROC + 1, 0, 0, &e), ARB_EBADMSG);
	ARB_FAIL(exit_body(255, 0, 0, &e), ARB_EBADMSG);
	ARB_FAIL(exit_body(-1, 0, 0, &e), ARB_EBADMSG);
	ARB_FAIL(exit_body(INT64_MIN, 0, 0, &e), ARB_EBADMSG);
	ARB_PASS(exit_body(ARB_EXIT_NOPROC, 0, 0, &e));
	// Code outside int.
	ARB_FAIL(exit_body(0, (int64_t) INT_MAX + 1, 0, &e), ARB_EBADMSG);
	ARB_FAIL(exit_body(0, (int64_t) INT_MIN - 1, 0, &e), ARB_EBADMSG);
	for (i = 0; i < ARB_ARRAY_SIZE(bad); i++) {
		copy = dup_exact(bad[i].p, bad[i].n);
		ARB_FAIL(arb__codec_decode_exit(copy, bad[i].n, &who, &e),
		    ARB_EBADMSG);
		free(copy);
	}
	ARB_FAIL(arb__codec_decode_exit(NULL, 0, &who, &e), ARB_EBADMSG);
	// Every strict prefix of a valid body is rejected.
	for (cut = 0; cut <= sizeof(ok); cut++) {
		copy = dup_exact(ok, cut);
		if (cut < sizeof(ok)) {
			ARB_FAIL(arb__codec_decode_exit(copy, cut, &who, &e),
			    ARB_EBADMSG);
		} else {
			ARB_PASS(arb__codec_decode_exit(copy, cut, &who, &e));
			assert_int_equal(who.id, 1);
			assert_int_equal(e.kind, ARB_EXIT_ERROR);
			assert_int_equal(e.code, -1);
			assert_string_equal(e.text, "hi");
		}
		free(copy);
	}
}

static void
test_error_round_trip(void **state)
{
	arb__buf b = { 0 };
	char     text[64];
	char     small[4];
	int      code;

	ARB_UNUSED(state);
	ARB_PASS(arb__codec_encode_error(&b, ARB_EINVAL, "bad sensor id"));
	ARB_PASS(arb__codec_decode_error(
	    b.data, b.len, &code, text, sizeof(text)));
	assert_int_equal(code, ARB_EINVAL);
	assert_string_equal(text, "bad sensor id");
	// Truncated into a small buffer, always terminated.
	memset(small, 'z', sizeof(small));
	ARB_PASS(arb__codec_decode_error(
	    b.data, b.len, &code, small, sizeof(small)));
	assert_string_equal(small, "bad");
	// A zero-length buffer is left alone.
	ARB_PASS(arb__codec_decode_error(b.data, b.len, &code, small, 0));
	assert_string_equal(small, "bad");
	arb__buf_reset(&b);
	ARB_PASS(arb__codec_encode_error(&b, -5, NULL));
	ARB_PASS(arb__codec_decode_error(
	    b.data, b.len, &code, text, sizeof(text)));
	assert_int_equal(code, -5);
	assert_string_equal(text, "");
	arb__buf_reset(&b);
	ARB_PASS(arb__codec_encode_error(&b, INT_MIN, "min"));
	ARB_PASS(arb__codec_decode_error(
	    b.data, b.len, &code, text, sizeof(text)));
	assert_int_equal(code, INT_MIN);
	assert_string_equal(text, "min");
	arb__buf_fini(&b);
}

static void
test_error_malformed(void **state)
{
	static const uint8_t ok[] = { 0x92, 0x03, 0xa2, 'n', 'o' };
	static const uint8_t one[] = { 0x91, 0x03 };
	static const uint8_t three[] = { 0x93, 0x03, 0xa0, 0xc0 };
	static const uint8_t code_str[] = { 0x92, 0xa1, '3', 0xa0 };
	static const uint8_t code_big[] = { 0x92, 0xce, 0x80, 0x00, 0x00,
		0x00, 0xa0 };
	static const uint8_t text_int[] = { 0x92, 0x03, 0x04 };
	static const uint8_t text_bin[] = { 0x92, 0x03, 0xc4, 0x00 };
	static const uint8_t trail[] = { 0x92, 0x03, 0xa0, 0x00 };
	static const uint8_t long_str[] = { 0x92, 0x03, 0xdb, 0xff, 0xff,
		0xff, 0xff, 'a' };
	static const struct {
		const uint8_t *p;
		size_t         n;
	} bad[] = {
		{ one, sizeof(one) },
		{ three, sizeof(three) },
		{ code_str, sizeof(code_str) },
		{ code_big, sizeof(code_big) },
		{ text_int, sizeof(text_int) },
		{ text_bin, sizeof(text_bin) },
		{ trail, sizeof(trail) },
		{ long_str, sizeof(long_str) },
	};
	char     text[16];
	int      code;
	uint8_t *copy;
	size_t   i, cut;

	ARB_UNUSED(state);
	for (i = 0; i < ARB_ARRAY_SIZE(bad); i++) {
		copy = dup_exact(bad[i].p, bad[i].n);
		ARB_FAIL(arb__codec_decode_error(
		             copy, bad[i].n, &code, text, sizeof(text)),
		    ARB_EBADMSG);
		free(copy);
	}
	for (cut = 0; cut < sizeof(ok); cut++) {
		copy = dup_exact(ok, cut);
		ARB_FAIL(arb__codec_decode_error(
		             copy, cut, &code, text, sizeof(text)),
		    ARB_EBADMSG);
		free(copy);
	}
	ARB_PASS(arb__codec_decode_error(
	    ok, sizeof(ok), &code, text, sizeof(text)));
	assert_int_equal(code, 3);
	assert_string_equal(text, "no");
}

static void
test_enomem_leaves_buffer_unchanged(void **state)
{
	arb__buf b = { 0 };
	arb_msg  m = { 0 };
	arb_exit e = { 0 };
	uint8_t  body[64];
	uint8_t  saved[256];
	size_t   len;

	ARB_UNUSED(state);
	memset(body, 1, sizeof(body));
	m.body = body;
	m.len  = sizeof(body);
	strcpy(e.text, "why");

	// Empty buffer: the first allocation fails.
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode(&b, &m), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode_exit(&b, (arb_pid) { .id = 1 }, &e), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(b.len, 0);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode_error(&b, 1, "no"), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(b.len, 0);

	// Full buffer: growing fails, bytes and length stay as they were.
	ARB_PASS(arb__codec_encode(&b, &m));
	memset(saved, 0x3c, sizeof(saved));
	ARB_PASS(arb__buf_append(&b, saved, b.cap - b.len));
	assert_int_equal(b.len, b.cap);
	assert_true(b.len <= sizeof(saved));
	len = b.len;
	memcpy(saved, b.data, len);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode(&b, &m), ARB_ENOMEM);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode_exit(&b, (arb_pid) { .id = 1 }, &e), ARB_ENOMEM);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__codec_encode_error(&b, 1, "no"), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, saved, len);

	// And once memory is back, it works.
	ARB_PASS(arb__codec_encode(&b, &m));
	assert_true(b.len > len);
	arb__buf_fini(&b);
}


// --- arb__mp_get_*: bounded readers for formats built on msgpack ----------
// (written with mpval.c's arb__mp_put_*, checked there against msgpack-c)

static void
test_mp_get_int_in_every_width_and_range(void **state)
{
	static const int64_t vals[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
		4294967295LL, 4294967296LL, INT64_MAX, -1, -32, -33, -128, -129,
		-32768, -32769, INT32_MIN, (int64_t) INT32_MIN - 1, INT64_MIN };
	size_t i;

	ARB_UNUSED(state);
	for (i = 0; i < ARB_ARRAY_SIZE(vals); i++) {
		arb__buf   b = { 0 };
		arb__mp_rd r;
		int64_t    v;

		ARB_PASS(arb__mp_put_int(&b, vals[i]));
		r = (arb__mp_rd) { b.data, b.len };
		assert_true(arb__mp_get_int(&r, INT64_MIN, INT64_MAX, &v));
		assert_true(v == vals[i]);
		assert_int_equal(r.left, 0);
		// Out of the asked range: refused.
		r = (arb__mp_rd) { b.data, b.len };
		if (vals[i] != INT64_MAX) {
			assert_false(arb__mp_get_int(&r, vals[i] + 1, INT64_MAX, &v));
		}
		r = (arb__mp_rd) { b.data, b.len };
		if (vals[i] != INT64_MIN) {
			assert_false(arb__mp_get_int(&r, INT64_MIN, vals[i] - 1, &v));
		}
		arb__buf_fini(&b);
	}
}

static void
test_mp_get_uint_above_int64_is_not_an_int(void **state)
{
	arb__buf   b = { 0 };
	arb__mp_rd r;
	int64_t    v;
	uint64_t   u;

	ARB_UNUSED(state);
	ARB_PASS(arb__mp_put_uint(&b, UINT64_MAX));
	r = (arb__mp_rd) { b.data, b.len };
	assert_false(arb__mp_get_int(&r, INT64_MIN, INT64_MAX, &v));
	r = (arb__mp_rd) { b.data, b.len };
	assert_true(arb__mp_get_uint(&r, UINT64_MAX, &u));
	assert_true(u == UINT64_MAX);
	r = (arb__mp_rd) { b.data, b.len };
	assert_false(arb__mp_get_uint(&r, UINT64_MAX - 1, &u));
	arb__buf_fini(&b);
}

static void
test_mp_get_str_bin_array_bool_at_length_bounds(void **state)
{
	static const size_t lens[] = { 0, 31, 32, 255, 256, 65535, 65536 };
	static char         bytes[65536];
	size_t              i;

	ARB_UNUSED(state);
	memset(bytes, 'q', sizeof(bytes));
	for (i = 0; i < ARB_ARRAY_SIZE(lens); i++) {
		arb__buf       b = { 0 };
		arb__mp_rd     r;
		const uint8_t *p;
		size_t         n;
		uint32_t       an;
		bool           f;

		ARB_PASS(arb__mp_put_array(&b, (uint32_t) lens[i] + 1));
		ARB_PASS(arb__mp_put_str(&b, bytes, lens[i]));
		ARB_PASS(arb__mp_put_bin(&b, bytes, lens[i]));
		ARB_PASS(arb__mp_put_bool(&b, i & 1));
		r = (arb__mp_rd) { b.data, b.len };
		assert_true(arb__mp_get_array(&r, &an));
		assert_int_equal(an, lens[i] + 1);
		assert_true(arb__mp_get_str(&r, &p, &n));
		assert_int_equal(n, lens[i]);
		assert_true(n == 0 || (p > b.data && p[0] == 'q')); // a view
		assert_false(arb__mp_get_str(&r, &p, &n)); // a bin is no str
		r = (arb__mp_rd) { b.data, b.len };
		assert_true(arb__mp_get_array(&r, &an) &&
		    arb__mp_get_str(&r, &p, &n) && arb__mp_get_bin(&r, &p, &n) &&
		    arb__mp_get_bool(&r, &f));
		assert_int_equal(n, lens[i]);
		assert_int_equal(f, (bool) (i & 1));
		assert_int_equal(r.left, 0);
		assert_false(arb__mp_get_bool(&r, &f)); // nothing left
		arb__buf_fini(&b);
	}
}

static void
test_mp_readers_never_read_past_the_end(void **state)
{
	arb__buf b = { 0 };
	size_t   cut;

	ARB_UNUSED(state);
	ARB_PASS(arb__mp_put_array(&b, 70000));
	ARB_PASS(arb__mp_put_int(&b, INT64_MIN));
	ARB_PASS(arb__mp_put_str(&b, "hello", 5));
	ARB_PASS(arb__mp_put_bin(&b, "\1\2\3", 3));
	ARB_PASS(arb__mp_put_bool(&b, false));
	for (cut = 0; cut < b.len; cut++) {
		uint8_t       *copy = dup_exact(b.data, cut);
		arb__mp_rd     r    = { copy, cut };
		uint32_t       n;
		int64_t        v;
		const uint8_t *p;
		size_t         len;
		bool           f;

		assert_false(arb__mp_get_array(&r, &n) &&
		    arb__mp_get_int(&r, INT64_MIN, INT64_MAX, &v) &&
		    arb__mp_get_str(&r, &p, &len) &&
		    arb__mp_get_bin(&r, &p, &len) && arb__mp_get_bool(&r, &f));
		free(copy);
	}
	arb__buf_fini(&b);
}

// A pid of another node travels as [id, node, creation]; one of this
// node as its id alone.
static void
test_remote_pids_round_trip(void **state)
{
	arb__buf     b = { 0 };
	arb_msg      m = { 0 }, v;
	arb__decoder d;
	arb_exit     e = { .kind = ARB_EXIT_NOCONNECTION }, x;
	arb_pid      who;

	ARB_UNUSED(state);
	m.from = (arb_pid) { .id = 0x4000000100000002u, .node = 77,
		.creation = 5 };
	m.to   = (arb_pid) { .id = 0x8000000300000004u };
	m.tag  = 9;
	ARB_PASS(arb__codec_encode(&b, &m));
	assert_int_equal(b.data[3], 0x93); // from is an array
	arb__decoder_init(&d, b.data, b.len, MAX_BODY);
	ARB_PASS(arb__codec_next(&d, &v));
	assert_true(arb_pid_eq(v.from, m.from));
	assert_int_equal(v.from.node, 77);
	assert_int_equal(v.from.creation, 5);
	assert_true(arb_pid_eq(v.to, m.to));
	assert_false(arb_pid_eq(v.from, (arb_pid) { .id = m.from.id }));
	arb__buf_fini(&b);
	ARB_PASS(arb__codec_encode_exit(&b, m.from, &e));
	ARB_PASS(arb__codec_decode_exit(b.data, b.len, &who, &x));
	assert_true(arb_pid_eq(who, m.from));
	assert_int_equal(x.kind, ARB_EXIT_NOCONNECTION);
	arb__buf_fini(&b);
}

static void
test_bad_remote_pids_rejected(void **state)
{
	// from = [1, 0, 0]: node 0 is never written as an array.
	static const uint8_t node0[] = { 0x97, 0x02, 0x00, 0x93, 0x01, 0x00,
		0x00, 0x02, 0x03, 0x04, 0xc4, 0x00 };
	// from = [1, 7]: two elements.
	static const uint8_t two[] = { 0x97, 0x02, 0x00, 0x92, 0x01, 0x07,
		0x02, 0x03, 0x04, 0xc4, 0x00 };
	// from = [1, 2^32, 1]: the node does not fit 32 bits.
	static const uint8_t wide[] = { 0x97, 0x02, 0x00, 0x93, 0x01, 0xcf,
		0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0xc4, 0x00 };
	static const uint8_t ok[] = { 0x97, 0x02, 0x00, 0x93, 0x01, 0x07,
		0x01, 0x02, 0x03, 0x04, 0xc4, 0x00 };
	arb_msg v;

	ARB_UNUSED(state);
	ARB_FAIL(decode_one(node0, sizeof(node0), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(two, sizeof(two), MAX_BODY, &v), ARB_EBADMSG);
	ARB_FAIL(decode_one(wide, sizeof(wide), MAX_BODY, &v), ARB_EBADMSG);
	ARB_PASS(decode_one(ok, sizeof(ok), MAX_BODY, &v));
	assert_int_equal(v.from.node, 7);
}

// --- arb__codec_peek, the short reader of arbor's own encoding --------

// peek_exact runs arb__codec_peek over a heap copy of exactly n bytes
// (ASan catches a read past them).
static bool
peek_exact(const void *p, size_t n, arb_pid *from, uint32_t *tag, size_t *len)
{
	uint8_t *copy = dup_exact(p, n);
	bool     ok = arb__codec_peek(copy, n, from, tag, len);

	free(copy);
	return ok;
}

// assert_peek_is_decoder's: at p (left bytes) the short reader reads the
// envelope the decoder reads there, with the same from, tag and length.
static void
assert_peek_is_decoders(const uint8_t *p, size_t left)
{
	arb__decoder d;
	arb_msg      v;
	arb_pid      from = { 0 };
	uint32_t     tag = 0;
	size_t       len = 0;

	assert_true(peek_exact(p, left, &from, &tag, &len));
	arb__decoder_init(&d, p, left, SIZE_MAX);
	ARB_PASS(arb__codec_next(&d, &v));
	assert_true(arb_pid_eq(from, v.from));
	assert_int_equal(from.node, v.from.node);
	assert_int_equal(from.creation, v.from.creation);
	assert_int_equal(tag, v.tag);
	assert_int_equal(len, (size_t) (d.p - p));
}

// Every envelope the encoder writes, the short reader reads as the
// decoder does: each integer at the edges of its msgpack forms, pids of
// this node (bare ids) and of others ([id, node, creation]), bodies at
// the edges of bin 8/16/32; one at a time, cut short at every length
// (declined, never read past), and as one batch walked by both.
static void
test_peek_reads_what_the_decoder_reads(void **state)
{
	enum { N = 400 };
	static const uint64_t u64s[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff,
		0x10000, 0xffffffffu, 0x100000000u, UINT64_MAX };
	static const uint32_t u32s[]
	    = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, UINT32_MAX };
	static const size_t lens[] = { 0, 1, 0xff, 0x100, 0xffff, 0x10000 };
	arb__buf            one = { 0 }, batch = { 0 };
	arb__decoder        d;
	arb_msg             m, v;
	uint8_t            *body;
	uint64_t            seed = 7;
	size_t              at, cut;
	arb_pid             from;
	uint32_t            tag;
	size_t              len;
	arb__nodeid         saved = arb__local;

#define PICK(a) (a)[rng_next(&seed) % (sizeof(a) / sizeof((a)[0]))]
	ARB_UNUSED(state);
	// A node's identity, as a node has: its own pids go wide to
	// another node with it.
	arb__local_set(0x5eed, 3);
	body = calloc(1, 0x10000);
	assert_non_null(body);
	for (int i = 0; i < N; i++) {
		memset(&m, 0, sizeof(m));
		m.flags = PICK(u32s);
		m.tag = PICK(u32s);
		m.ref = PICK(u64s);
		m.from.id = PICK(u64s);
		m.to.id = PICK(u64s);
		// A quarter each: both pids this node's, from another node's,
		// to another node's (every pid written wide), both.
		if (i % 4 == 1 || i % 4 == 3) {
			m.from.node = (uint32_t) (PICK(u32s) | 1);
			m.from.creation = PICK(u32s);
		}
		if (i % 4 >= 2) {
			m.to.node = (uint32_t) (PICK(u32s) | 1);
			m.to.creation = PICK(u32s);
		}
		// The large bodies now and then: the batch stays small.
		m.len = i % 16 == 0 ? lens[(i / 16) % 6] : PICK(lens) % 0x101;
		m.body = body;
		one.len = 0;
		ARB_PASS(arb__codec_encode(&one, &m));
		ARB_PASS(arb__codec_encode(&batch, &m));
		assert_peek_is_decoders(one.data, one.len);
		// Cut short: declined, at every length of its header and
		// a few of its body.
		for (cut = 0; cut < one.len; cut++) {
			if (cut > 64 && cut + 4 < one.len) {
				cut = one.len - 4;
			}
			assert_false(
			    peek_exact(one.data, cut, &from, &tag, &len));
		}
	}
	// The batch: both cut it at the same places.
	arb__decoder_init(&d, batch.data, batch.len, SIZE_MAX);
	for (at = 0; at < batch.len; at += len) {
		assert_true(arb__codec_peek(
		    batch.data + at, batch.len - at, &from, &tag, &len));
		ARB_PASS(arb__codec_next(&d, &v));
		assert_true(arb_pid_eq(from, v.from));
		assert_int_equal(tag, v.tag);
		assert_ptr_equal(batch.data + at + len, d.p);
	}
	ARB_FAIL(arb__codec_next(&d, &v), ARB_ENOENT);
#undef PICK
	arb__local = saved;
	free(body);
	arb__buf_fini(&one);
	arb__buf_fini(&batch);
}

// What the encoder does not write, the short reader declines: valid
// envelopes of other shapes (the decoder reads them, for forged.c's
// fallback) and bytes that are no envelope.  Where it reads anything
// in bytes mangled at random, the decoder reads the same.
static void
test_peek_declines_other_shapes(void **state)
{
	// Valid, in shapes the encoder does not write.
	static const uint8_t array16[] = { 0xdc, 0x00, 0x07, 0x02, 0x00, 0x01,
		0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t array32[] = { 0xdd, 0x00, 0x00, 0x00, 0x07, 0x02,
		0x00, 0x01, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t ver8[] = { 0x97, 0xcc, 0x02, 0x00, 0x01, 0x02,
		0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t flags_int8[] = { 0x97, 0x02, 0xd0, 0x05, 0x01,
		0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t from_int64[]
	    = { 0x97, 0x02, 0x00, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
		      0xff, 0xff, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t node_int16[] = { 0x97, 0x02, 0x00, 0x93, 0x01,
		0xd1, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t to_int32[] = { 0x97, 0x02, 0x00, 0x01, 0xd2, 0x00,
		0x00, 0x00, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t tag_int8[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0xd0,
		0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t ref_int16[] = { 0x97, 0x02, 0x00, 0x01, 0x02,
		0x03, 0xd1, 0x00, 0x04, 0xc4, 0x01, 0xc0 };
	// No envelope at all (the decoder refuses them too).
	static const uint8_t ver1[]
	    = { 0x97, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t six[]
	    = { 0x96, 0x02, 0x00, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t neg_flags[]
	    = { 0x97, 0x02, 0xff, 0x01, 0x02, 0x03, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t tag_wide[] = { 0x97, 0x02, 0x00, 0x01, 0x02, 0xcf,
		0, 0, 0, 1, 0, 0, 0, 0, 0x04, 0xc4, 0x01, 0xc0 };
	static const uint8_t node0[] = { 0x97, 0x02, 0x00, 0x93, 0x01, 0x00,
		0x00, 0x02, 0x03, 0x04, 0xc4, 0x00 };
	static const uint8_t pid_two[] = { 0x97, 0x02, 0x00, 0x92, 0x01, 0x07,
		0x02, 0x03, 0x04, 0xc4, 0x00 };
	static const uint8_t body_str[]
	    = { 0x97, 0x02, 0x00, 0x01, 0x02, 0x03, 0x04, 0xa1, 0xc0 };
	static const uint8_t nil[] = { 0xc0 };
	static const struct {
		const uint8_t *p;
		size_t         n;
		bool           valid;
	} cases[] = {
#define CASE(a, valid) { a, sizeof(a), valid }
		CASE(array16, true),
		CASE(array32, true),
		CASE(ver8, true),
		CASE(flags_int8, true),
		CASE(from_int64, true),
		CASE(node_int16, true),
		CASE(to_int32, true),
		CASE(tag_int8, true),
		CASE(ref_int16, true),
		CASE(ver1, false),
		CASE(six, false),
		CASE(neg_flags, false),
		CASE(tag_wide, false),
		CASE(node0, false),
		CASE(pid_two, false),
		CASE(body_str, false),
		CASE(nil, false),
#undef CASE
	};
	arb__buf b = { 0 };
	arb_msg  m = { 0 }, v;
	arb_pid  from;
	uint32_t tag;
	size_t   len;
	uint64_t seed = 11;
	uint8_t *copy;
	int      read = 0;

	ARB_UNUSED(state);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_false(
		    peek_exact(cases[i].p, cases[i].n, &from, &tag, &len));
		assert_int_equal(
		    decode_one(cases[i].p, cases[i].n, MAX_BODY, &v) == ARB_OK,
		    cases[i].valid);
	}
	assert_false(arb__codec_peek(valid_env, 0, &from, &tag, &len));
	// Mangled encodings: one to three bytes of an envelope with a
	// remote from replaced at random.
	m.from = (arb_pid) { .id = 300, .node = 0x10203, .creation = 9 };
	m.to = (arb_pid) { .id = 70000 };
	m.tag = 0x1234;
	m.ref = 1u << 20;
	m.body = (const uint8_t *) "abc";
	m.len = 3;
	ARB_PASS(arb__codec_encode(&b, &m));
	copy = malloc(b.len);
	assert_non_null(copy);
	for (int i = 0; i < 20000; i++) {
		memcpy(copy, b.data, b.len);
		for (int k = 0; k <= i % 3; k++) {
			copy[rng_next(&seed) % b.len]
			    = (uint8_t) rng_next(&seed);
		}
		if (arb__codec_peek(copy, b.len, &from, &tag, &len)) {
			assert_peek_is_decoders(copy, b.len);
			read++;
		}
	}
	assert_true(read > 0);
	free(copy);
	arb__buf_fini(&b);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_one),
		cmocka_unit_test(test_round_trip_many),
		cmocka_unit_test(test_encode_appends_after_existing_bytes),
		cmocka_unit_test(test_encode_is_minimal_msgpack),
		cmocka_unit_test(test_interop_msgpack_unpack),
		cmocka_unit_test(test_decodes_msgpack_c_packer_output),
		cmocka_unit_test(test_accepts_any_integer_width),
		cmocka_unit_test(test_minimal_envelope_decodes),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_wrong_array_length),
		cmocka_unit_test(test_negative_int_rejected),
		cmocka_unit_test(test_tag_and_flags_over_uint32),
		cmocka_unit_test(test_non_integer_fields_rejected),
		cmocka_unit_test(test_body_not_bin),
		cmocka_unit_test(test_oversize_body),
		cmocka_unit_test(test_enoent_after_error),
		cmocka_unit_test(test_empty_batch),
		cmocka_unit_test(test_truncation_at_every_offset),
		cmocka_unit_test(test_fuzz_garbage),
		cmocka_unit_test(test_exit_round_trip),
		cmocka_unit_test(test_exit_text_too_long_truncated),
		cmocka_unit_test(test_exit_malformed),
		cmocka_unit_test(test_error_round_trip),
		cmocka_unit_test(test_error_malformed),
		cmocka_unit_test(test_enomem_leaves_buffer_unchanged),
		cmocka_unit_test(test_mp_get_int_in_every_width_and_range),
		cmocka_unit_test(test_mp_get_uint_above_int64_is_not_an_int),
		cmocka_unit_test(test_mp_get_str_bin_array_bool_at_length_bounds),
		cmocka_unit_test(test_mp_readers_never_read_past_the_end),
		cmocka_unit_test(test_remote_pids_round_trip),
		cmocka_unit_test(test_bad_remote_pids_rejected),
		cmocka_unit_test(test_peek_reads_what_the_decoder_reads),
		cmocka_unit_test(test_peek_declines_other_shapes),
	};

	return ARB_TEST_RUN("core.codec", tests, argc, argv);
}
