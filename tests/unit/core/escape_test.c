// SPDX-License-Identifier: MIT
// escape_test.c -- escape.c: the control bytes of outside text and the
// bytes that are not UTF-8 written as \xNN (a log line stays one line of
// UTF-8 text), everything else copied as it is, and a cut where the room
// ends, never inside an escape or a character.  Single-threaded.

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
test_tab_and_utf8_kept(void **state)
{
	// TAB, UTF-8 of 2, 3 and 4 bytes ("é", "€", U+10FFFF) and a
	// backslash: none ends a line, all are text.
	static const char in[]
	    = "k\tv \xc3\xa9\xe2\x82\xac \xf4\x8f\xbf\xbf \\x";
	char out[64];

	(void) state;
	assert_int_equal(
	    arb__escape(in, sizeof(in) - 1, out, sizeof(out)), sizeof(in) - 1);
	assert_string_equal(out, in);
}

// Each byte of a sequence that is not UTF-8 is escaped (journald shows
// a line that is not UTF-8 as a blob); what follows it is read afresh.
static void
test_bytes_not_utf8_escaped(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a\xff" "b", "a\\xffb" },           // starts no sequence
		{ "\x80z", "\\x80z" },                // a lone continuation
		{ "\xe2\x82", "\\xe2\\x82" },         // cut short by the end
		{ "\xe2\x82z\xc3\xa9", "\\xe2\\x82z\xc3\xa9" }, // ... by 'z'
		{ "\xc0\xaf", "\\xc0\\xaf" },         // an overlong '/'
		{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" }, // overlong, 3 bytes
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" }, // a surrogate
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, // > U+10FFFF
		{ "\xf5\x80", "\\xf5\\x80" },
	};
	char   out[64];
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);

		assert_int_equal(
		    arb__escape(cases[i].in, n, out, sizeof(out)), n);
		if (strcmp(out, cases[i].out) != 0) {
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, out,
			    cases[i].out);
		}
	}
}

static void
test_utf8_len_and_cut(void **state)
{
	(void) state;
	assert_int_equal(arb__utf8_len("a", 1), 1);
	assert_int_equal(arb__utf8_len("\xc3\xa9", 2), 2);
	assert_int_equal(arb__utf8_len("\xe2\x82\xac", 3), 3);
	assert_int_equal(arb__utf8_len("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(arb__utf8_len("\xe2\x82\xac", 2), 0); // n too short
	assert_int_equal(arb__utf8_len("", 0), 0);
	assert_int_equal(arb__utf8_len("\xc1\xbf", 2), 0);
	assert_int_equal(arb__utf8_len("\xef\xbf\xbd", 3), 3); // U+FFFD
	// A cut inside the last character moves before it; a cut after a
	// whole one, or inside text that was not UTF-8, stays.
	assert_int_equal(arb__utf8_cut("ab\xe2\x82\xac", 5), 5);
	assert_int_equal(arb__utf8_cut("ab\xe2\x82\xac", 4), 2);
	assert_int_equal(arb__utf8_cut("ab\xe2\x82\xac", 3), 2);
	assert_int_equal(arb__utf8_cut("a\xf0\x9f\x98\x80", 4), 1);
	assert_int_equal(arb__utf8_cut("a\xc3\xa9", 2), 1);
	assert_int_equal(arb__utf8_cut("ab", 2), 2);
	assert_int_equal(arb__utf8_cut("", 0), 0);
	assert_int_equal(arb__utf8_cut("a\x80\x80\x80\x80", 5), 5);
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
	// A character is never cut: "a", then no room for the 2 bytes of
	// "é" and the NUL.
	assert_int_equal(arb__escape("a\xc3\xa9", 3, out, 3), 1);
	assert_string_equal(out, "a");
	assert_int_equal(arb__escape("a\xc3\xa9", 3, out, 4), 3);
	assert_string_equal(out, "a\xc3\xa9");
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
		cmocka_unit_test(test_tab_and_utf8_kept),
		cmocka_unit_test(test_bytes_not_utf8_escaped),
		cmocka_unit_test(test_utf8_len_and_cut),
		cmocka_unit_test(test_cut_where_room_ends),
	};

	return ARB_TEST_RUN("core.escape", tests, argc, argv);
}
