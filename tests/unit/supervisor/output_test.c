// SPDX-License-Identifier: MIT
// output_test.c -- the pure parts of exec children's output capture
// (src/supervisor/output.c): lines assembled from any cut of the bytes,
// CRLF, long lines in pieces (never cutting a UTF-8 character), and the
// rate limit (a burst, then ARB__OUT_RATE lines a second, never more).

#include "arb_test.h"

#include "node/node_int.h"

#include <string.h>

typedef struct got {
	char   lines[16][ARB__OUT_PIECE + 1];
	size_t len[16];
	int    n;
} got;

static void
collect(void *arg, const char *text, size_t n)
{
	got *g = arg;

	assert_true(g->n < 16);
	assert_true(n <= ARB__OUT_PIECE);
	memcpy(g->lines[g->n], text, n);
	g->lines[g->n][n] = '\0';
	g->len[g->n++]    = n;
}

static void
test_lines_from_any_cut(void **state)
{
	static const char in[] = "one\ntwo\r\n\nthree";
	size_t            cut;

	(void) state;
	// However the bytes arrive (every split point), the same lines.
	for (cut = 0; cut <= sizeof(in) - 1; cut++) {
		arb__outline l = { .len = 0 };
		got          g = { .n = 0 };

		arb__outline_feed(&l, in, cut, collect, &g);
		arb__outline_feed(&l, in + cut, sizeof(in) - 1 - cut, collect, &g);
		assert_int_equal(g.n, 3);
		arb__outline_flush(&l, collect, &g); // the last, without "\n"
		arb__outline_flush(&l, collect, &g); // (nothing more)
		assert_int_equal(g.n, 4);
		assert_string_equal(g.lines[0], "one");
		assert_string_equal(g.lines[1], "two"); // CRLF
		assert_string_equal(g.lines[2], "");    // an empty line is one
		assert_string_equal(g.lines[3], "three");
	}
}

static void
test_long_line_in_pieces(void **state)
{
	char         in[ARB__OUT_PIECE * 2 + 11];
	arb__outline l = { .len = 0 };
	got          g = { .n = 0 };

	(void) state;
	memset(in, 'x', sizeof(in));
	in[sizeof(in) - 1] = '\n';
	arb__outline_feed(&l, in, sizeof(in), collect, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.len[0], ARB__OUT_PIECE);
	assert_int_equal(g.len[1], ARB__OUT_PIECE);
	assert_int_equal(g.len[2], 10);
	assert_int_equal(l.len, 0);
}

// A piece never ends inside a UTF-8 character: "a" and then "é"s put a
// character across the 256th byte; it starts the next piece.
static void
test_pieces_keep_characters_whole(void **state)
{
	char         in[1 + 2 * ARB__OUT_PIECE + 1];
	arb__outline l = { .len = 0 };
	got          g = { .n = 0 };
	size_t       i;

	(void) state;
	in[0] = 'a';
	for (i = 1; i + 2 <= sizeof(in) - 1; i += 2) {
		memcpy(in + i, "\xc3\xa9", 2);
	}
	in[i] = '\n';
	arb__outline_feed(&l, in, i + 1, collect, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.len[0], ARB__OUT_PIECE - 1);
	assert_memory_equal(g.lines[0] + ARB__OUT_PIECE - 3, "\xc3\xa9", 2);
	assert_memory_equal(g.lines[1], "\xc3\xa9", 2);
	assert_int_equal(g.len[1], ARB__OUT_PIECE);
	assert_int_equal(g.len[0] + g.len[1] + g.len[2], i);
	assert_int_equal(l.len, 0);
}

static void
test_rate_burst_then_steady(void **state)
{
	arb__outrate r;
	int64_t      t = 5000;
	int          i, ok = 0;

	(void) state;
	arb__outrate_init(&r, t);
	// A burst of ARB__OUT_BURST at once, then nothing more.
	for (i = 0; i < ARB__OUT_BURST + 500; i++) {
		ok += arb__outrate_take(&r, t);
	}
	assert_int_equal(ok, ARB__OUT_BURST);
	// Then ARB__OUT_RATE a second, however many are offered: 10 s of a
	// line every millisecond gives 10 * ARB__OUT_RATE.
	ok = 0;
	for (i = 1; i <= 10000; i++) {
		ok += arb__outrate_take(&r, t + i);
	}
	assert_int_equal(ok, 10 * ARB__OUT_RATE);
	// A quiet minute refills the burst, not more.
	t += 10000 + 60000;
	ok = 0;
	for (i = 0; i < 3 * ARB__OUT_BURST; i++) {
		ok += arb__outrate_take(&r, t);
	}
	assert_int_equal(ok, ARB__OUT_BURST);
	// The clock going back takes nothing and gives nothing.
	assert_false(arb__outrate_take(&r, t - 1000));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_from_any_cut),
		cmocka_unit_test(test_long_line_in_pieces),
		cmocka_unit_test(test_pieces_keep_characters_whole),
		cmocka_unit_test(test_rate_burst_then_steady),
	};

	return ARB_TEST_RUN("supervisor.output", tests, argc, argv);
}
