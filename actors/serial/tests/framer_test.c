// SPDX-License-Identifier: MIT
// framer_test.c -- the serial framer (actors/serial/framer.c): every mode,
// the same stream split at every byte boundary (and every pair of them)
// and merged into one read, the partial first frame, oversize frames,
// garbage, resets and boundaries, and a randomised comparison of the
// multi-byte delimiter matcher with a naive one.

#include "arb_test.h"

#include "framer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

// What a run of the framer delivered: frames joined with '|' (the test
// streams avoid '|' in frame bytes, or compare with `raw`).
typedef struct out {
	char   text[8192];
	size_t len;
	int    n;
	size_t maxlen; // longest frame delivered
} out;

static void
collect(void *arg, const uint8_t *p, size_t n)
{
	out *o = arg;

	assert_true(o->len + n + 1 < sizeof(o->text));
	if (o->n > 0) {
		o->text[o->len++] = '|';
	}
	memcpy(o->text + o->len, p, n);
	o->len += n;
	o->text[o->len] = '\0';
	o->n++;
	if (n > o->maxlen) {
		o->maxlen = n;
	}
}

static void
out_init(out *o)
{
	memset(o, 0, sizeof(*o));
}

// run feeds s (n bytes) in the pieces given by the sorted cut points
// (ncuts of them), then gives a boundary if `gap` is set.  The framer
// starts synced when `synced` is set (a quiet gap before the first byte).
static serial_framer_stats
run(const serial_framer_cfg *cfg, const void *s, size_t n, const size_t *cuts,
    size_t ncuts, bool synced, bool gap, out *o)
{
	serial_framer       f;
	serial_framer_stats st;
	size_t              at = 0, i;

	out_init(o);
	assert_int_equal(serial_framer_init(&f, cfg), 0);
	if (synced) {
		serial_framer_boundary(&f, collect, o);
	}
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		serial_framer_feed(
		    &f, (const uint8_t *) s + at, end - at, collect, o);
		at = end;
	}
	if (gap) {
		serial_framer_boundary(&f, collect, o);
	}
	st = f.st;
	serial_framer_fini(&f);
	return st;
}

// check_splits feeds s whole, then split at every byte boundary, then at
// every pair of boundaries and byte by byte: every run must deliver
// `want` with the same counters.
static void
same(const out *o, const char *want, size_t wlen, const char *how)
{
	if (o->len != wlen || memcmp(o->text, want, wlen) != 0) {
		fail_msg("%s: got %zu bytes \"%s\", want %zu bytes \"%s\"",
		    how, o->len, o->text, wlen, want);
	}
}

static void
check_splits(const serial_framer_cfg *cfg, const char *s, size_t n,
    bool synced, bool gap, const char *want, size_t wlen,
    serial_framer_stats wst)
{
	char how[64];

	serial_framer_stats st;
	out                 o;
	size_t              cuts[4096];
	size_t              i, j;

	st = run(cfg, s, n, NULL, 0, synced, gap, &o);
	same(&o, want, wlen, "whole");
	assert_memory_equal(&st, &wst, sizeof(st));
	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		st = run(cfg, s, n, cuts, 1, synced, gap, &o);
		snprintf(how, sizeof(how), "split at %zu", i);
		same(&o, want, wlen, how);
		assert_memory_equal(&st, &wst, sizeof(st));
	}
	for (i = 0; i <= n && n <= 200; i++) {
		for (j = i; j <= n; j++) {
			cuts[0] = i;
			cuts[1] = j;
			st = run(cfg, s, n, cuts, 2, synced, gap, &o);
			snprintf(
			    how, sizeof(how), "split at %zu and %zu", i, j);
			same(&o, want, wlen, how);
			assert_memory_equal(&st, &wst, sizeof(st));
		}
	}
	assert_true(n <= sizeof(cuts) / sizeof(cuts[0]));
	for (i = 0; i < n; i++) {
		cuts[i] = i;
	}
	st = run(cfg, s, n, cuts, n, synced, gap, &o);
	same(&o, want, wlen, "byte by byte");
	assert_memory_equal(&st, &wst, sizeof(st));
}

// CHECK is check_splits with the stream and the result as literals (their
// sizes taken from the literals, so NUL bytes count).
#define CHECK(cfg, s, synced, gap, want, st)                                  \
	check_splits((cfg), (s), sizeof(s) - 1, (synced), (gap), (want),      \
	    sizeof(want) - 1, (st))

#define STATS(fr, em, pa, ov, ga, by)                                         \
	((serial_framer_stats) { .frames = (fr),                              \
	    .empty = (em),                                                    \
	    .partial = (pa),                                                  \
	    .oversize = (ov),                                                 \
	    .garbage = (ga),                                                  \
	    .dropped_bytes = (by) })

static serial_framer_cfg
cfg_line(size_t max)
{
	return (serial_framer_cfg) { .mode = SERIAL_FRAMING_LINE,
		.max_frame = max };
}

static serial_framer_cfg
cfg_delim(const char *d, size_t max)
{
	serial_framer_cfg c = { .mode = SERIAL_FRAMING_DELIM,
		.max_frame = max,
		.delim_len = strlen(d) };

	memcpy(c.delim, d, c.delim_len);
	return c;
}

static serial_framer_cfg
cfg_length(
    unsigned size, bool big, size_t off, long adj, bool keep, size_t max)
{
	return (serial_framer_cfg) { .mode = SERIAL_FRAMING_LENGTH,
		.max_frame = max,
		.len_size = size,
		.len_big = big,
		.len_offset = off,
		.len_adjust = adj,
		.keep_header = keep };
}

// --- line
// --------------------------------------------------------------------

static void
test_line_lf_and_crlf(void **state)
{
	serial_framer_cfg c = cfg_line(64);
	const char        s[] = "t=21.5\nh=40\r\nbinary\x01\x00\xff\n";

	(void) state;
	// Synced (quiet before the first byte): every line is delivered,
	// the '\r' of "\r\n" removed, NUL and 0xff kept (binary-safe).
	CHECK(&c, s, true, false, "t=21.5|h=40|binary\x01\x00\xff",
	    STATS(3, 0, 0, 0, 0, 0));
}

static void
test_line_binary_payload(void **state)
{
	serial_framer_cfg   c = cfg_line(64);
	const char          s[] = "a\x00"
	                          "b\n\x00\n";
	serial_framer_stats st;
	out                 o;

	(void) state;
	st = run(&c, s, sizeof(s) - 1, NULL, 0, true, false, &o);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.len, 3 + 1 + 1); // "a\0b" '|' "\0"
	assert_memory_equal(o.text,
	    "a\x00"
	    "b|\x00",
	    5);
	assert_int_equal(st.frames, 2);
}

static void
test_line_partial_first_frame(void **state)
{
	serial_framer_cfg c = cfg_line(64);
	const char        s[] = "25.1\nt=21.6\nt=21.7\n";

	(void) state;
	// Opened in the middle of "t=25.1\n": "25.1" is never delivered,
	// counted as one partial frame of 5 bytes (with its '\n').
	CHECK(&c, s, false, false, "t=21.6|t=21.7", STATS(2, 0, 1, 0, 0, 5));
}

static void
test_line_open_at_boundary(void **state)
{
	serial_framer_cfg c = cfg_line(64);
	const char        s[] = "\nt=1\n";

	(void) state;
	// Unsynced, but the first byte is a delimiter: nothing was lost.
	CHECK(&c, s, false, false, "t=1", STATS(1, 0, 0, 0, 0, 0));
}

static void
test_line_oversize(void **state)
{
	serial_framer_cfg c = cfg_line(8);
	const char        s[] = "12345678\n123456789\nok\r\n12345678\r\n"
	                        "0123456789abcdef0123456789\nend\n";

	(void) state;
	// 8 bytes fit (a '\r' after them too); 9 and 26 do not: each is
	// dropped up to its '\n' and counted once.
	CHECK(&c, s, true, false, "12345678|ok|12345678|end",
	    STATS(4, 0, 0, 2, 0, 10 + 27));
}

static void
test_line_empty_lines(void **state)
{
	serial_framer_cfg c = cfg_line(8);
	const char        s[] = "a\n\n\r\nb\n";

	(void) state;
	CHECK(&c, s, true, false, "a|b", STATS(2, 2, 0, 0, 0, 0));
}

// --- delimiter
// -----------------------------------------------------------------

static void
test_delim_single_byte(void **state)
{
	serial_framer_cfg c = cfg_delim("~", 16);
	const char        s[] = "xx~frame1~~frame2\n\r~";

	(void) state;
	CHECK(
	    &c, s, false, false, "frame1|frame2\n\r", STATS(2, 1, 1, 0, 0, 3));
}

static void
test_delim_multi_byte(void **state)
{
	serial_framer_cfg c = cfg_delim("\r\n", 16);
	const char        s[] = "\r\nA\rB\nC\r\n\r\r\nDD\r\n";

	(void) state;
	// Strict "\r\n": a lone '\r' or '\n' is data.
	CHECK(&c, s, false, false, "A\rB\nC|\r|DD", STATS(3, 0, 0, 0, 0, 0));
}

static void
test_delim_self_overlapping(void **state)
{
	serial_framer_cfg c = cfg_delim("aab", 16);
	const char        s[] = "xaabAAaaabBaaaabC1aab";

	(void) state;
	// "aaab" ends with "aab": the frame is "Aa"... KMP must not skip it.
	CHECK(&c, s, false, false, "AAa|Baa|C1", STATS(3, 0, 1, 0, 0, 4));
}

static void
test_delim_oversize_and_partial(void **state)
{
	serial_framer_cfg c = cfg_delim("END", 4);
	const char        s[] = "tailEND1234END12345ENDabENENDx";

	(void) state;
	// "tail" before the first END is partial; 12345 is oversize
	// (max 4); "abEN" fits (4 bytes); "x" stays pending.
	CHECK(&c, s, false, false, "1234|abEN", STATS(2, 0, 1, 1, 0, 7 + 8));
}

// naive_split is the reference: frames of s between occurrences of d
// (leftmost, non-overlapping), after the first occurrence (unsynced
// start), empty ones skipped, longer than max dropped.
static void
naive_split(const uint8_t *s, size_t n, const uint8_t *d, size_t dl,
    size_t max, out *o)
{
	size_t i = 0, start = 0;
	bool   synced = false;

	out_init(o);
	while (i + dl <= n) {
		if (memcmp(s + i, d, dl) == 0) {
			if (synced && i - start > 0 && i - start <= max) {
				collect(o, s + start, i - start);
			}
			synced = true;
			i += dl;
			start = i;
		} else {
			i++;
		}
	}
}

static void
test_delim_random_against_naive(void **state)
{
	static const char *const delims[]
	    = { "ab", "aab", "abab", "aaa", "abcab", "\r\n" };
	uint8_t  s[600];
	unsigned seed = 12345;
	size_t   k, t, i, cuts[8];

	(void) state;
	for (k = 0; k < sizeof(delims) / sizeof(delims[0]); k++) {
		serial_framer_cfg c = cfg_delim(delims[k], 12);
		for (t = 0; t < 300; t++) {
			out    want, got;
			size_t n = 100 + (size_t) (rand_r(&seed) % 500);
			size_t nc = (size_t) (rand_r(&seed) % 8);
			for (i = 0; i < n; i++) {
				// a small alphabet makes delimiters frequent
				s[i] = "abc\r\n"[rand_r(&seed) % 5];
			}
			for (i = 0; i < nc; i++) {
				cuts[i] = (size_t) (rand_r(&seed) % (n + 1));
			}
			for (i = 1; i < nc; i++) { // insertion sort
				size_t v = cuts[i], j = i;
				while (j > 0 && cuts[j - 1] > v) {
					cuts[j] = cuts[j - 1];
					j--;
				}
				cuts[j] = v;
			}
			naive_split(s, n, c.delim, c.delim_len, 12, &want);
			run(&c, s, n, cuts, nc, false, false, &got);
			assert_int_equal(got.n, want.n);
			assert_memory_equal(got.text, want.text, want.len);
		}
	}
}

// --- length-prefixed
// -----------------------------------------------------------

static void
test_length_sizes_and_endianness(void **state)
{
	serial_framer_cfg c1 = cfg_length(1, true, 0, 0, false, 64);
	serial_framer_cfg c2b = cfg_length(2, true, 0, 0, false, 64);
	serial_framer_cfg c2l = cfg_length(2, false, 0, 0, false, 64);
	serial_framer_cfg c4b = cfg_length(4, true, 0, 0, false, 64);
	serial_framer_cfg c4l = cfg_length(4, false, 0, 0, false, 64);
	const char        s1[] = "\x03"
	                         "abc"
	                         "\x01"
	                         "|"
	                         "\x02"
	                         "\n\x00";
	const char        s2b[] = "\x00\x03"
	                          "abc"
	                          "\x00\x01"
	                          "d";
	const char        s2l[] = "\x03\x00"
	                          "abc"
	                          "\x01\x00"
	                          "d";
	const char        s4b[] = "\x00\x00\x00\x03"
	                          "abc"
	                          "\x00\x00\x00\x02"
	                          "de";
	const char        s4l[] = "\x03\x00\x00\x00"
	                          "abc"
	                          "\x02\x00\x00\x00"
	                          "de";

	(void) state;
	CHECK(&c1, s1, true, false, "abc|||\n\x00", STATS(3, 0, 0, 0, 0, 0));
	CHECK(&c2b, s2b, true, false, "abc|d", STATS(2, 0, 0, 0, 0, 0));
	CHECK(&c2l, s2l, true, false, "abc|d", STATS(2, 0, 0, 0, 0, 0));
	CHECK(&c4b, s4b, true, false, "abc|de", STATS(2, 0, 0, 0, 0, 0));
	CHECK(&c4l, s4l, true, false, "abc|de", STATS(2, 0, 0, 0, 0, 0));
}

static void
test_length_offset_adjust_header(void **state)
{
	// [0xAA sync][len=2, counts the payload only][payload][2-byte crc]:
	// adjust +2 takes the crc along; keep_header delivers it all.
	serial_framer_cfg keep = cfg_length(1, true, 1, 2, true, 64);
	serial_framer_cfg body = cfg_length(1, true, 1, 2, false, 64);
	// The length counts itself and the header: adjust -2.
	serial_framer_cfg self = cfg_length(2, true, 0, -2, false, 64);
	const char        s[] = "\xaa\x02"
	                        "hiCC"
	                        "\xaa\x00"
	                        "CC";
	const char        t[] = "\x00\x05"
	                        "abc"
	                        "\x00\x02";

	(void) state;
	CHECK(&keep, s, true, false,
	    "\xaa\x02hiCC|\xaa\x00"
	    "CC",
	    STATS(2, 0, 0, 0, 0, 0));
	CHECK(&body, s, true, false, "hiCC|CC", STATS(2, 0, 0, 0, 0, 0));
	// The second frame is empty: delivered (the protocol says there is
	// a frame), unlike an empty line.
	CHECK(&self, t, true, false, "abc|", STATS(2, 0, 0, 0, 0, 0));
}

static void
test_length_garbage_and_oversize_resync(void **state)
{
	serial_framer_cfg c = cfg_length(2, true, 0, -2, false, 8);
	// 0x0001 - 2 < 0: garbage; the rest is dropped up to the gap.
	const char g[] = "\x00\x01"
	                 "zzzz";
	// 0x0100 - 2 > 8: oversize.
	const char          o[] = "\x01\x00"
	                          "zzzz";
	const char          good[] = "\x00\x05"
	                             "abc";
	serial_framer       f;
	serial_framer_stats want;
	out                 r;
	size_t              i;

	(void) state;
	out_init(&r);
	assert_int_equal(serial_framer_init(&f, &c), 0);
	serial_framer_boundary(&f, collect, &r);
	for (i = 0; i < 2; i++) {
		serial_framer_feed(
		    &f, (const uint8_t *) (i ? o : g), 6, collect, &r);
		assert_false(serial_framer_synced(&f));
		assert_true(serial_framer_wants_gap(&f));
		// More bytes before the gap belong to the bad frame.
		serial_framer_feed(&f, (const uint8_t *) good, 5, collect, &r);
		assert_int_equal(r.n, (int) i);
		serial_framer_boundary(&f, collect, &r);
		serial_framer_feed(&f, (const uint8_t *) good, 5, collect, &r);
		assert_int_equal(r.n, (int) i + 1);
	}
	want = STATS(2, 0, 0, 1, 1, 2 * (6 + 5));
	assert_memory_equal(&f.st, &want, sizeof(want));
	serial_framer_fini(&f);
}

static void
test_length_partial_first_frame_needs_gap(void **state)
{
	serial_framer_cfg c = cfg_length(1, true, 0, 0, false, 64);
	const char        s[] = "xyz\x02"
	                        "ab";
	serial_framer     f;
	out               r;

	(void) state;
	out_init(&r);
	assert_int_equal(serial_framer_init(&f, &c), 0);
	// Unsynced after open: nothing is trusted until the line was quiet.
	serial_framer_feed(&f, (const uint8_t *) s, 6, collect, &r);
	assert_int_equal(r.n, 0);
	serial_framer_boundary(&f, collect, &r);
	serial_framer_feed(&f,
	    (const uint8_t *) "\x02"
	                      "ab",
	    3, collect, &r);
	assert_string_equal(r.text, "ab");
	assert_int_equal(f.st.partial, 1);
	assert_int_equal(f.st.dropped_bytes, 6);
	serial_framer_fini(&f);
}

// --- fixed
// ---------------------------------------------------------------------

static void
test_fixed(void **state)
{
	serial_framer_cfg c
	    = { .mode = SERIAL_FRAMING_FIXED, .max_frame = 16, .fixed = 3 };
	const char s[] = "abc\x00\n\xff"
	                 "defgh";

	(void) state;
	CHECK(
	    &c, s, true, false, "abc|\x00\n\xff|def", STATS(3, 0, 0, 0, 0, 0));
	// A gap in the middle of a frame drops what was held.
	CHECK(
	    &c, s, true, true, "abc|\x00\n\xff|def", STATS(3, 0, 1, 0, 0, 2));
}

// --- gap
// -----------------------------------------------------------------------

static void
test_gap_mode(void **state)
{
	serial_framer_cfg c = { .mode = SERIAL_FRAMING_GAP, .max_frame = 4 };
	serial_framer     f;
	out               r;

	(void) state;
	out_init(&r);
	assert_int_equal(serial_framer_init(&f, &c), 0);
	serial_framer_feed(&f, (const uint8_t *) "zz", 2, collect, &r);
	serial_framer_boundary(&f, collect, &r); // partial first frame
	serial_framer_feed(&f, (const uint8_t *) "ab", 2, collect, &r);
	serial_framer_feed(&f, (const uint8_t *) "\n\0", 2, collect, &r);
	assert_true(serial_framer_wants_gap(&f));
	serial_framer_boundary(&f, collect, &r);
	assert_false(serial_framer_wants_gap(&f));
	serial_framer_boundary(&f, collect, &r); // nothing held: no frame
	serial_framer_feed(&f, (const uint8_t *) "toolong", 7, collect, &r);
	serial_framer_boundary(&f, collect, &r);
	serial_framer_feed(&f, (const uint8_t *) "ok", 2, collect, &r);
	serial_framer_reset(&f); // unplugged before the gap: partial
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.text, "ab\n\0", 4);
	assert_int_equal(f.st.frames, 1);
	assert_int_equal(f.st.partial, 2);
	assert_int_equal(f.st.oversize, 1);
	assert_int_equal(f.st.dropped_bytes, 2 + 7 + 2);
	serial_framer_fini(&f);
}

// --- resets, garbage, limits
// -----------------------------------------------------

static void
test_reset_counts_what_is_held(void **state)
{
	serial_framer_cfg c = cfg_line(4);
	serial_framer     f;
	out               r;

	(void) state;
	out_init(&r);
	assert_int_equal(serial_framer_init(&f, &c), 0);
	serial_framer_feed(&f, (const uint8_t *) "x\nab", 4, collect, &r);
	serial_framer_reset(&f); // unplug in the middle of "ab"
	assert_false(serial_framer_synced(&f));
	serial_framer_feed(&f, (const uint8_t *) "cd\nok\n", 6, collect, &r);
	serial_framer_feed(&f, (const uint8_t *) "123456", 6, collect, &r);
	serial_framer_reset(&f); // unplug while dropping an oversize line
	serial_framer_reset(&f); // nothing held: nothing counted
	assert_string_equal(r.text, "ok");
	assert_int_equal(f.st.partial, 1 + 1 + 1); // "x", "ab", "cd"
	assert_int_equal(f.st.oversize, 1);
	assert_int_equal(f.st.dropped_bytes, 2 + 2 + 3 + 6);
	serial_framer_fini(&f);
}

static void
test_garbage_every_mode(void **state)
{
	serial_framer_cfg cfgs[] = {
		cfg_line(32),
		cfg_delim("\x7e", 32),
		cfg_delim("\xde\xad\xbe", 32),
		cfg_length(1, true, 0, 0, false, 32),
		cfg_length(2, false, 3, -1, true, 32),
		cfg_length(4, true, 0, 0, false, 32),
		{ .mode = SERIAL_FRAMING_FIXED, .max_frame = 32, .fixed = 7 },
		{ .mode = SERIAL_FRAMING_GAP, .max_frame = 32 },
	};
	uint8_t  buf[4096];
	unsigned seed = 99;
	size_t   k, i, t;

	(void) state;
	for (k = 0; k < sizeof(cfgs) / sizeof(cfgs[0]); k++) {
		serial_framer f;
		out           r;
		uint64_t      total = 0;

		assert_int_equal(serial_framer_init(&f, &cfgs[k]), 0);
		for (t = 0; t < 400; t++) {
			size_t n = (size_t) (rand_r(&seed) % sizeof(buf));
			for (i = 0; i < n; i++) {
				buf[i] = (uint8_t) rand_r(&seed);
			}
			out_init(&r);
			serial_framer_feed(&f, buf, n, collect, &r);
			total += n;
			// Nothing over max_frame is ever delivered, and the
			// framer never holds more than its buffer.
			assert_true(r.maxlen <= 32);
			assert_true(f.used <= f.cap);
			switch (rand_r(&seed) % 8) {
			case 0:
				serial_framer_boundary(&f, collect, &r);
				break;
			case 1:
				serial_framer_reset(&f);
				break;
			default:
				break;
			}
			if (r.len >= sizeof(r.text) - 64) {
				out_init(&r);
			}
		}
		// Every byte is accounted for: in a frame, a delimiter or
		// header, dropped, or still held.
		assert_true(f.st.dropped_bytes <= total);
		serial_framer_fini(&f);
	}
}

static void
test_cfg_check(void **state)
{
	serial_framer_cfg c;
	serial_framer     f;

	(void) state;
	c = cfg_line(0);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_line(SERIAL_FRAME_MAX_CAP + 1);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_delim("", 8);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_length(3, true, 0, 0, false, 8);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_length(2, true, 65, 0, false, 8);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_length(2, true, 0, 70000, false, 8);
	assert_non_null(serial_framer_cfg_check(&c));
	c = cfg_length(2, true, 2, 0, true, 4);
	assert_non_null(serial_framer_cfg_check(&c));
	c = (serial_framer_cfg) {
		.mode = SERIAL_FRAMING_FIXED, .max_frame = 4, .fixed = 5
	};
	assert_non_null(serial_framer_cfg_check(&c));
	assert_int_equal(serial_framer_init(&f, &c), EINVAL);
	serial_framer_fini(&f); // harmless on a framer that failed init
	c = cfg_length(4, false, 64, -65536, true, 69);
	assert_null(serial_framer_cfg_check(&c));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_lf_and_crlf),
		cmocka_unit_test(test_line_binary_payload),
		cmocka_unit_test(test_line_partial_first_frame),
		cmocka_unit_test(test_line_open_at_boundary),
		cmocka_unit_test(test_line_oversize),
		cmocka_unit_test(test_line_empty_lines),
		cmocka_unit_test(test_delim_single_byte),
		cmocka_unit_test(test_delim_multi_byte),
		cmocka_unit_test(test_delim_self_overlapping),
		cmocka_unit_test(test_delim_oversize_and_partial),
		cmocka_unit_test(test_delim_random_against_naive),
		cmocka_unit_test(test_length_sizes_and_endianness),
		cmocka_unit_test(test_length_offset_adjust_header),
		cmocka_unit_test(test_length_garbage_and_oversize_resync),
		cmocka_unit_test(test_length_partial_first_frame_needs_gap),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_gap_mode),
		cmocka_unit_test(test_reset_counts_what_is_held),
		cmocka_unit_test(test_garbage_every_mode),
		cmocka_unit_test(test_cfg_check),
	};

	return ARB_TEST_RUN("serial.framer", tests, argc, argv);
}
