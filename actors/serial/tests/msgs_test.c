// SPDX-License-Identifier: MIT
// msgs_test.c -- the serial actor's frame message (serial_msgs.h): round
// trips, the documented layout byte for byte, and rejection of anything
// else (every truncation, trailing bytes, wrong version or types).

#include "arb_test.h"

#include "serial_msgs.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static void
test_round_trip(void **state)
{
	uint8_t          body[256], data[100];
	arb_serial_frame f = { .stream = "root/s1",
		.stream_len = 7,
		.session = 1700000000123456ull,
		.seq = 42,
		.ts_ns = 1700000000123456789ull,
		.device = "meter",
		.device_len = 5,
		.data = data,
		.len = sizeof(data) };
	arb_serial_frame g;
	size_t           n, i;

	(void) state;
	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t) (i * 37); // NUL and high bytes included
	}
	n = arb_serial_frame_encode(body, sizeof(body), &f);
	assert_true(n > 0);
	assert_true(n <= ARB_SERIAL_FRAME_OVERHEAD + 7 + 5 + sizeof(data));
	assert_int_equal(arb_serial_frame_decode(body, n, &g), 0);
	assert_int_equal(g.stream_len, 7);
	assert_memory_equal(g.stream, "root/s1", 7);
	assert_int_equal(g.session, f.session);
	assert_int_equal(g.seq, 42);
	assert_int_equal(g.ts_ns, f.ts_ns);
	assert_int_equal(g.device_len, 5);
	assert_memory_equal(g.device, "meter", 5);
	assert_int_equal(g.len, sizeof(data));
	assert_memory_equal(g.data, data, sizeof(data));
	// The decoded view points into the body.
	assert_true(g.data > body && g.data < body + n);

	f.device = NULL;
	f.len = 0;
	n = arb_serial_frame_encode(body, sizeof(body), &f);
	assert_int_equal(arb_serial_frame_decode(body, n, &g), 0);
	assert_null(g.device);
	assert_int_equal(g.len, 0);
	// Too small a buffer: 0, never a partial body.
	assert_int_equal(arb_serial_frame_encode(body, n - 1, &f), 0);
}

static void
test_layout_is_a_plain_msgpack_array(void **state)
{
	uint8_t          body[128];
	arb_serial_frame f = { .stream = "s",
		.stream_len = 1,
		.session = 7,
		.seq = 1,
		.ts_ns = 9,
		.data = (const uint8_t *) "hi",
		.len = 2 };
	msgpack_unpacked u;
	size_t           n, off = 0;
	msgpack_object  *a;

	(void) state;
	n = arb_serial_frame_encode(body, sizeof(body), &f);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (char *) body, n, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, n);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.size, 7);
	a = u.data.via.array.ptr;
	assert_int_equal(a[0].via.u64, 1);
	assert_int_equal(a[1].type, MSGPACK_OBJECT_STR);
	assert_int_equal(a[2].via.u64, 7);
	assert_int_equal(a[3].via.u64, 1);
	assert_int_equal(a[4].via.u64, 9);
	assert_int_equal(a[5].type, MSGPACK_OBJECT_NIL);
	assert_int_equal(a[6].type, MSGPACK_OBJECT_BIN);
	assert_memory_equal(a[6].via.bin.ptr, "hi", 2);
	msgpack_unpacked_destroy(&u);
}

static size_t
pack(uint8_t *out, size_t cap, int version, int n, bool str_data)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	size_t          len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, (size_t) n);
	msgpack_pack_int(&pk, version);
	msgpack_pack_str_with_body(&pk, "s", 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_nil(&pk);
	if (str_data) {
		msgpack_pack_str_with_body(&pk, "x", 1);
	} else {
		msgpack_pack_bin_with_body(&pk, "x", 1);
	}
	len = sb.size < cap ? sb.size : cap;
	memcpy(out, sb.data, len);
	msgpack_sbuffer_destroy(&sb);
	return len;
}

static void
test_rejects_everything_else(void **state)
{
	uint8_t          body[128], *copy;
	arb_serial_frame g;
	size_t           n, i;

	(void) state;
	n = pack(body, sizeof(body), 1, 7, false);
	assert_int_equal(arb_serial_frame_decode(body, n, &g), 0);
	// Every truncation, each in a buffer of exactly that size (ASan
	// sees any read past it).
	for (i = 0; i < n; i++) {
		copy = malloc(i + 1);
		memcpy(copy, body, i);
		assert_int_equal(arb_serial_frame_decode(copy, i, &g), EINVAL);
		free(copy);
	}
	body[n] = 0xc0; // a trailing nil
	assert_int_equal(arb_serial_frame_decode(body, n + 1, &g), EINVAL);
	n = pack(body, sizeof(body), 2, 7, false);
	assert_int_equal(arb_serial_frame_decode(body, n, &g), EINVAL);
	n = pack(body, sizeof(body), 1, 6, false);
	assert_int_equal(arb_serial_frame_decode(body, n, &g), EINVAL);
	n = pack(body, sizeof(body), 1, 7, true);
	assert_int_equal(arb_serial_frame_decode(body, n, &g), EINVAL);
	assert_null(g.data); // nothing half-filled on failure
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout_is_a_plain_msgpack_array),
		cmocka_unit_test(test_rejects_everything_else),
	};

	return ARB_TEST_RUN("serial.msgs", tests, argc, argv);
}
