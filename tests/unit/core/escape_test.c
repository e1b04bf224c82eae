// SPDX-License-Identifier: MIT
// escape_test.c -- escape.c: the control bytes of outside text written as
// \xNN (a log line stays one line), everything else copied as it is, and
// a cut where the room ends, never inside an escape.  Single-threaded.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <string.h>

static void
test_controls_escaped(void **state)
{
	// A newline, a carriage return, ESC, NUL and DEL: each would end
	// or redraw a log line.
	static const char in[] = "a\nb\rc\x1b[2Jd\0e\x7f";
	char              out[64];

	(void) state;
	assert_int_equal(
	    arb__escape(in, sizeof(in) - 1, out, sizeof(out)), sizeof(in) - 1);
	assert_string_equal(out, "a\\x0ab\\x0dc\\x1b[2Jd\\x00e\\x7f");
	// Every byte below 0x20 but TAB.
	for (int c = 0; c < 0x20; c++) {
		char b = (char) c;

		arb__escape(&b, 1, out, sizeof(out));
		if (c == '\t') {
			assert_string_equal(out, "\t");
		} else {
			assert_int_equal(strlen(out), 4);
			assert_memory_equal(out, "\\x", 2);
		}
	}
}

static void
test_tab_and_high_bytes_kept(void **state)
{
	// TAB, UTF-8 ("é", "€"), invalid UTF-8 (a lone continuation byte,
	// a truncated sequence, 0xff) and a backslash: none ends a line.
	static const char in[]
	    = "k\tv \xc3\xa9\xe2\x82\xac \x80 \xe2\x82 \xff \\x";
	char out[64];

	(void) state;
	assert_int_equal(
	    arb__escape(in, sizeof(in) - 1, out, sizeof(out)), sizeof(in) - 1);
	assert_string_equal(out, in);
}

static void
test_cut_where_room_ends(void **state)
{
	char out[8];

	(void) state;
	// "ab" and then no room for the 4 bytes of \x01 and the NUL.
	assert_int_equal(arb__escape("ab\x01z", 4, out, 5), 2);
	assert_string_equal(out, "ab");
	// Room exactly: 4 bytes of escape and the NUL.
	assert_int_equal(arb__escape("\x01z", 2, out, 5), 1);
	assert_string_equal(out, "\\x01");
	assert_int_equal(arb__escape("abcdefghij", 10, out, sizeof(out)), 7);
	assert_string_equal(out, "abcdefg");
	// No room at all: nothing written, not even the NUL.
	out[0] = 'q';
	assert_int_equal(arb__escape("abc", 3, out, 0), 0);
	assert_int_equal(out[0], 'q');
	assert_int_equal(arb__escape("", 0, out, 1), 0);
	assert_string_equal(out, "");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_tab_and_high_bytes_kept),
		cmocka_unit_test(test_cut_where_room_ends),
	};

	return ARB_TEST_RUN("core.escape", tests, argc, argv);
}
