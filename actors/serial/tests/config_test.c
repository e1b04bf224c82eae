// SPDX-License-Identifier: MIT
// config_test.c -- the serial actor's settings (actors/serial/config.c):
// defaults, every key read, and each mistake reported with its key path.

#include "arb_test.h"

#include "config.h"
#include "mp.h"

#include <msgpack.h>
#include <string.h>

// read_cfg reads m's config into c and returns the problems as
// "key: text\n" lines.
static const char *
read_cfg(mp *m, serial_cfg *c)
{
	static char out[4096];
	arb_cfg    *cfg;
	size_t      i, o = 0;
	const char *k, *t;

	ARB_PASS(arb_cfg_alloc(&cfg, m->sb.data, m->sb.size));
	serial_cfg_read(cfg, c);
	out[0] = '\0';
	for (i = 0; arb_cfg_error(cfg, i, &k, &t) == ARB_OK; i++) {
		o += (size_t) snprintf(
		    out + o, sizeof(out) - o, "%s: %s\n", k, t);
	}
	assert_int_equal(arb_cfg_errors(cfg), i);
	arb_cfg_free(cfg);
	msgpack_sbuffer_destroy(&m->sb);
	return out;
}

// port_begin starts a config with path and to, and room for `extra`
// more keys.
static msgpack_packer *
port_begin(mp *m, size_t extra)
{
	msgpack_packer *pk = mp_begin(m);

	msgpack_pack_map(pk, (uint32_t) (2 + extra));
	mp_kstr(pk, "path", "/dev/ttyS0");
	mp_kstr(pk, "to", "x");
	return pk;
}

static void
has(const char *errs, const char *want)
{
	if (strstr(errs, want) == NULL) {
		fail_msg("no \"%s\" in:\n%s", want, errs);
	}
}

static serial_cfg c; // large: not on the stack

static void
test_defaults(void **state)
{
	mp              m;
	msgpack_packer *pk = mp_begin(&m);

	(void) state;
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "path", "/dev/serial/by-id/usb-x");
	mp_kstr(pk, "to", "root/parser");
	assert_string_equal(read_cfg(&m, &c), "");
	assert_string_equal(c.path, "/dev/serial/by-id/usb-x");
	assert_string_equal(c.to, "root/parser");
	assert_string_equal(c.stream, "");
	assert_int_equal(c.line.baud, 9600);
	assert_int_equal(c.line.data_bits, 8);
	assert_int_equal(c.line.parity, SERIAL_PARITY_NONE);
	assert_int_equal(c.line.stop_bits, 1);
	assert_int_equal(c.line.flow, SERIAL_FLOW_NONE);
	assert_true(c.line.exclusive);
	assert_int_equal(c.framer.mode, SERIAL_FRAMING_LINE);
	assert_int_equal(c.framer.max_frame, 4096);
	assert_int_equal(c.gap_ms, 50);
	assert_int_equal(c.reopen_min_ms, 100);
	assert_int_equal(c.reopen_max_ms, 5000);
	assert_int_equal(c.stall_ms, 0);
	assert_int_equal(c.nreqs, 0);
}

static void
test_everything(void **state)
{
	mp              m;
	msgpack_packer *pk = mp_begin(&m);

	(void) state;
	msgpack_pack_map(pk, 15);
	mp_kstr(pk, "path", "/dev/ttyUSB0");
	mp_kstr(pk, "to", "sensors");
	mp_kstr(pk, "stream", "meter-1");
	mp_kint(pk, "baud", 19200);
	mp_kint(pk, "data_bits", 7);
	mp_kstr(pk, "parity", "even");
	mp_kint(pk, "stop_bits", 2);
	mp_kstr(pk, "flow", "rtscts");
	mp_str(pk, "exclusive");
	msgpack_pack_false(pk);
	mp_str(pk, "framing");
	msgpack_pack_map(pk, 6);
	mp_kstr(pk, "mode", "length");
	mp_kint(pk, "field", 4);
	mp_kstr(pk, "endian", "little");
	mp_kint(pk, "offset", 2);
	mp_kint(pk, "adjust", -4);
	mp_str(pk, "keep_header");
	msgpack_pack_true(pk);
	mp_kint(pk, "max_frame", 512);
	mp_kstr(pk, "gap", "5ms");
	mp_str(pk, "reopen");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "min", "1s");
	mp_kstr(pk, "max", "1m");
	mp_str(pk, "stall");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "timeout", "30s");
	mp_kint(pk, "max", 5);
	mp_str(pk, "poll");
	msgpack_pack_map(pk, 3);
	mp_kstr(pk, "timeout", "200ms");
	mp_kstr(pk, "turnaround", "4ms");
	mp_str(pk, "requests");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 3);
	mp_kstr(pk, "name", "m1");
	mp_str(pk, "send");
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, 1);
	msgpack_pack_int(pk, 0);
	msgpack_pack_int(pk, 255);
	mp_kstr(pk, "every", "2s");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "name", "m2");
	mp_kstr(pk, "send", "READ\r\n");
	assert_string_equal(read_cfg(&m, &c), "");
	assert_string_equal(c.stream, "meter-1");
	assert_int_equal(c.line.baud, 19200);
	assert_int_equal(c.line.data_bits, 7);
	assert_int_equal(c.line.parity, SERIAL_PARITY_EVEN);
	assert_int_equal(c.line.stop_bits, 2);
	assert_int_equal(c.line.flow, SERIAL_FLOW_RTSCTS);
	assert_false(c.line.exclusive);
	assert_int_equal(c.framer.mode, SERIAL_FRAMING_LENGTH);
	assert_int_equal(c.framer.len_size, 4);
	assert_false(c.framer.len_big);
	assert_int_equal(c.framer.len_offset, 2);
	assert_int_equal(c.framer.len_adjust, -4);
	assert_true(c.framer.keep_header);
	assert_int_equal(c.framer.max_frame, 512);
	assert_int_equal(c.gap_ms, 5);
	assert_int_equal(c.reopen_min_ms, 1000);
	assert_int_equal(c.reopen_max_ms, 60000);
	assert_int_equal(c.stall_ms, 30000);
	assert_int_equal(c.stall_max, 5);
	assert_int_equal(c.poll_timeout_ms, 200);
	assert_int_equal(c.poll_turnaround_ms, 4);
	assert_int_equal(c.nreqs, 2);
	assert_string_equal(c.reqs[0].name, "m1");
	assert_int_equal(c.reqs[0].len, 3);
	assert_memory_equal(c.reqs[0].data, "\x01\x00\xff", 3);
	assert_int_equal(c.reqs[0].every_ms, 2000);
	assert_int_equal(c.reqs[1].len, 6);
	assert_int_equal(c.reqs[1].every_ms, 1000);
}

static void
test_short_forms(void **state)
{
	mp              m;
	msgpack_packer *pk = mp_begin(&m);

	(void) state;
	msgpack_pack_map(pk, 4);
	mp_kstr(pk, "path", "/dev/ttyS0");
	mp_kstr(pk, "to", "x");
	mp_kstr(pk, "framing", "gap");
	mp_kstr(pk, "stall", "off");
	assert_string_equal(read_cfg(&m, &c), "");
	assert_int_equal(c.framer.mode, SERIAL_FRAMING_GAP);
	assert_int_equal(c.stall_ms, 0);
}

static void
test_mistakes_named_by_key(void **state)
{
	mp              m;
	msgpack_packer *pk = mp_begin(&m);
	const char     *e;

	(void) state;
	msgpack_pack_map(pk, 11);
	mp_kstr(pk, "paht", "/dev/ttyS0"); // typo: path is then missing too
	mp_kint(pk, "baud", 12345);
	mp_kstr(pk, "parity", "purple");
	mp_kint(pk, "stop_bits", 3);
	mp_str(pk, "framing");
	msgpack_pack_map(pk, 3);
	mp_kstr(pk, "mode", "length");
	mp_kint(pk, "field", 3);
	mp_kint(pk, "size", 9);
	mp_kstr(pk, "gap", "soon");
	mp_str(pk, "reopen");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "min", "10s");
	mp_kstr(pk, "max", "1s");
	mp_str(pk, "stall");
	msgpack_pack_map(pk, 1);
	mp_kint(pk, "max", 2);
	mp_str(pk, "poll");
	msgpack_pack_map(pk, 1);
	mp_str(pk, "requests");
	msgpack_pack_array(pk, 3);
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "name", "a");
	mp_kstr(pk, "send", "x");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "name", "a");
	mp_str(pk, "send");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, 256);
	msgpack_pack_map(pk, 1);
	mp_kstr(pk, "every", "1s");
	mp_kint(pk, "max_frame", 0);
	mp_str(pk, "exclusive");
	msgpack_pack_int(pk, 1);
	e = read_cfg(&m, &c);
	has(e, "paht: unknown key (expected one of: path, to,");
	has(e, "path: required");
	has(e, "to: required");
	has(e, "baud: 12345 is not a standard rate");
	has(e,
	    "parity: unknown value \"purple\" (expected "
	    "none|even|odd|mark|space)");
	has(e, "stop_bits: out of range (1 to 2)");
	has(e, "framing.field: the length field has 1, 2 or 4 bytes");
	has(e, "framing.size: only for mode: fixed");
	has(e, "gap: \"soon\" is not a duration");
	has(e, "reopen.max: must not be below min");
	has(e, "stall.timeout: required");
	has(e, "poll.requests[1].name: duplicate name \"a\"");
	has(e, "poll.requests[1].send[0]: out of range (0 to 255)");
	has(e, "poll.requests[2].name: required");
	has(e, "poll.requests[2].send: required");
	has(e, "max_frame: out of range");
	has(e, "exclusive: expected true or false");
}

static void
test_framing_mistakes(void **state)
{
	static const char *const cases[][2] = {
		{ "delimiter", "framing.delimiter: required" },
		{ "fixed", "framing.size: required" },
		{ "", "framing.mode: required" },
	};
	mp              m;
	msgpack_packer *pk;
	size_t          i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pk = port_begin(&m, 1);
		mp_str(pk, "framing");
		if (cases[i][0][0] != '\0') {
			msgpack_pack_map(pk, 1);
			mp_kstr(pk, "mode", cases[i][0]);
		} else {
			msgpack_pack_map(pk, 1);
			mp_kint(pk, "size", 4);
		}
		has(read_cfg(&m, &c), cases[i][1]);
	}
	// The short form only for modes without settings.
	pk = port_begin(&m, 1);
	mp_kstr(pk, "framing", "fixed");
	has(read_cfg(&m, &c), "framing: fixed framing needs settings");
	// A fixed size over max_frame.
	pk = port_begin(&m, 2);
	mp_kint(pk, "max_frame", 8);
	mp_str(pk, "framing");
	msgpack_pack_map(pk, 2);
	mp_kstr(pk, "mode", "fixed");
	mp_kint(pk, "size", 9);
	has(read_cfg(&m, &c), "framing.size: exceeds max_frame (8)");
	// A kept header that leaves no room for a body.
	pk = port_begin(&m, 2);
	mp_kint(pk, "max_frame", 3);
	mp_str(pk, "framing");
	msgpack_pack_map(pk, 4);
	mp_kstr(pk, "mode", "length");
	mp_kint(pk, "field", 2);
	mp_kint(pk, "offset", 1);
	mp_str(pk, "keep_header");
	msgpack_pack_true(pk);
	has(read_cfg(&m, &c),
	    "framing.keep_header: max_frame (3) must exceed the header");
}

static void
test_not_a_map(void **state)
{
	mp              m;
	msgpack_packer *pk = mp_begin(&m);

	(void) state;
	mp_str(pk, "serial please");
	has(read_cfg(&m, &c), ": expected a mapping of settings");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_everything),
		cmocka_unit_test(test_short_forms),
		cmocka_unit_test(test_mistakes_named_by_key),
		cmocka_unit_test(test_framing_mistakes),
		cmocka_unit_test(test_not_a_map),
	};

	return ARB_TEST_RUN("serial.config", tests, argc, argv);
}
