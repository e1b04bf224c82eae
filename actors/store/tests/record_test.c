// SPDX-License-Identifier: MIT
// record_test.c -- the store's record and segment formats (record.c,
// crc32c.c) and the segment reader (scan.c).
//
// CRC-32C against its check value and the table version; every single
// bit flip in records and headers detected; a record or header cut at
// every byte offset never accepted, and the reader cuts a segment right
// after its last whole record; lengths beyond the limits rejected
// without reading (so without allocating) them; the reader's
// resynchronisation over a damaged region.  Single-threaded.

#include "arb_test.h"

#include "record.h"
#include "slog_int.h"
#include "slogt.h"
#include "vfs_sim.h"

#include <stdlib.h>
#include <string.h>

static void
test_crc32c_check_value(void **state)
{
	uint8_t  buf[4096 + 8];
	uint64_t r = 7;
	int      i;

	(void) state;
	assert_int_equal(slog__crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(slog__crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(slog__crc32c(0, "", 0), 0);
	for (i = 0; i < (int) sizeof(buf); i++) {
		buf[i] = (uint8_t) slogt_rand(&r);
	}
	// Every length and alignment the hardware path splits differently.
	for (i = 0; i < 300; i++) {
		size_t off = slogt_rand(&r) % 8, len = slogt_rand(&r) % 4096;
		assert_int_equal(slog__crc32c(0, buf + off, len),
		    slog__crc32c_sw(0, buf + off, len));
	}
	// Extending equals computing at once.
	assert_int_equal(
	    slog__crc32c(slog__crc32c(0, buf, 100), buf + 100, 50),
	    slog__crc32c(0, buf, 150));
}

static void
test_record_roundtrip(void **state)
{
	uint8_t  rec[SLOG_REC_HDR + 64];
	uint8_t  data[64];
	slog_rec r;
	size_t   size;

	(void) state;
	memset(data, 0xab, sizeof(data));
	slog__rec_put(rec, SLOG_REC_READING, 0xfeedbeef, SLOG_U48_MAX,
	    1700000000123, data, sizeof(data));
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), 64, sizeof(rec),
	                     &r, &size),
	    SLOG_PARSE_OK);
	assert_int_equal(size, sizeof(rec));
	assert_int_equal(r.stream, 0xfeedbeef);
	assert_true(r.seq == SLOG_U48_MAX);
	assert_true(r.ts_ms == 1700000000123);
	assert_int_equal(r.len, 64);
	assert_memory_equal(r.data, data, 64);
	// 24 bytes of overhead, no more.
	assert_int_equal(SLOG_REC_HDR, 24);
	// A payload over max_len is refused even with a good CRC.
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), 63, sizeof(rec),
	                     &r, &size),
	    SLOG_PARSE_BAD);
	// Sequence 0 is never written, so it is never read.
	slog__rec_put(rec, SLOG_REC_READING, 1, 0, 0, data, 0);
	assert_int_equal(slog__rec_parse(rec, SLOG_REC_HDR, 64, SLOG_REC_HDR,
	                     &r, &size),
	    SLOG_PARSE_BAD);
}

static void
test_record_every_bit_flip_detected(void **state)
{
	static const size_t lens[] = { 0, 1, 7, 64, 301 };
	uint8_t             rec[SLOG_REC_HDR + 301];
	uint8_t             data[301];
	size_t              k, bit, size, flips = 0;
	uint64_t            r = 11;
	slog_rec            out;

	(void) state;
	for (k = 0; k < sizeof(data); k++) {
		data[k] = (uint8_t) slogt_rand(&r);
	}
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = SLOG_REC_HDR + lens[k];
		slog__rec_put(rec, SLOG_REC_READING, 42, 1000 + k,
		    1700000000000, data, (uint32_t) lens[k]);
		assert_int_equal(slog__rec_parse(rec, n, 4096, n, &out, &size),
		    SLOG_PARSE_OK);
		for (bit = 0; bit < n * 8; bit++) {
			rec[bit / 8] ^= (uint8_t) (1u << (bit % 8));
			if (slog__rec_parse(rec, n, 4096, n, &out, &size)
			    == SLOG_PARSE_OK) {
				fail_msg("len %zu: flip of bit %zu accepted",
				    lens[k], bit);
			}
			rec[bit / 8] ^= (uint8_t) (1u << (bit % 8));
			flips++;
		}
	}
	assert_true(flips > 3000);
}

static void
test_record_cut_at_every_offset(void **state)
{
	uint8_t  rec[SLOG_REC_HDR + 100], data[100];
	size_t   cut, size;
	slog_rec out;

	(void) state;
	memset(data, 0x5a, sizeof(data));
	slog__rec_put(rec, SLOG_REC_READING, 3, 9, 5, data, sizeof(data));
	for (cut = 0; cut < sizeof(rec); cut++) {
		// The segment ends at the cut: bad at once, never short.
		assert_int_equal(
		    slog__rec_parse(rec, cut, 4096, cut, &out, &size),
		    SLOG_PARSE_BAD);
		// More bytes may follow: short, asking for the header first
		// and then the whole record, never more.
		assert_int_equal(slog__rec_parse(rec, cut, 4096, UINT64_MAX,
		                     &out, &size),
		    SLOG_PARSE_SHORT);
		assert_true(size == (cut < SLOG_REC_HDR ? SLOG_REC_HDR
		                                        : sizeof(rec)));
	}
}

static void
test_record_huge_length_rejected(void **state)
{
	uint8_t  rec[SLOG_REC_HDR];
	size_t   size = 0;
	slog_rec out;

	(void) state;
	slog__rec_put(rec, SLOG_REC_READING, 1, 1, 0, NULL, 0);
	// Claim 16 MiB - 1 of payload (the field's maximum).
	rec[4] = rec[5] = rec[6] = 0xff;
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), SLOG_REC_LEN_MAX,
	                     4096, &out, &size),
	    SLOG_PARSE_BAD); // beyond the segment: not even asked for
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), 65536, UINT64_MAX,
	                     &out, &size),
	    SLOG_PARSE_BAD); // beyond max_record
	// An unknown type is bad too, and so is a batch record of another
	// length than 24.
	slog__rec_put(rec, SLOG_REC_READING, 1, 1, 0, NULL, 0);
	rec[7] = 3;
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), 65536, UINT64_MAX,
	                     &out, &size),
	    SLOG_PARSE_BAD);
	slog__rec_put(rec, SLOG_REC_BATCH, 0, 1, 0, NULL, 0);
	assert_int_equal(slog__rec_parse(rec, sizeof(rec), 65536, UINT64_MAX,
	                     &out, &size),
	    SLOG_PARSE_BAD);
}

static void
test_batch_record(void **state)
{
	uint8_t       rec[SLOG_REC_HDR + SLOG_BATCH_LEN], pl[SLOG_BATCH_LEN];
	slog_batchrec b = { 0xfeedbeefcafe, 42, 100, 60 }, got;
	slog_rec      out;
	size_t        size, bit;

	(void) state;
	slog__batchrec_put(pl, &b);
	slog__rec_put(rec, SLOG_REC_BATCH, 0, 1, 5, pl, SLOG_BATCH_LEN);
	// Whatever the segment's max_record: it is not a reading.
	assert_int_equal(
	    slog__rec_parse(rec, sizeof(rec), 1, sizeof(rec), &out, &size),
	    SLOG_PARSE_OK);
	assert_int_equal(out.type, SLOG_REC_BATCH);
	slog__batchrec_get(out.data, &got);
	assert_memory_equal(&b, &got, sizeof(b));
	for (bit = 0; bit < sizeof(rec) * 8; bit++) {
		rec[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		assert_int_not_equal(slog__rec_parse(rec, sizeof(rec), 1,
		                         sizeof(rec), &out, &size),
		    SLOG_PARSE_OK);
		rec[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	}
}

// seg_build writes a segment image: header (two streams), then n
// records with payloads of len bytes; offs[i] receives record i's offset.
static size_t
seg_build(uint8_t *out, uint32_t max_record, int n, size_t len,
    uint64_t *offs)
{
	slog_seghdr h;
	uint32_t    ks[2] = { 1, 7 };
	uint64_t    vs[2] = { 10, 70 };
	size_t      off;
	uint8_t     data[256];
	int         i;

	memset(&h, 0, sizeof(h));
	h.seg_no     = 5;
	h.created_ms = 1700000000000;
	h.max_record = max_record;
	h.nstreams   = 2;
	strcpy(h.gateway, "gw-1");
	slog__seghdr_put(out, &h, ks, vs);
	off = slog__seghdr_size(2);
	for (i = 0; i < n; i++) {
		memset(data, i, sizeof(data));
		if (offs != NULL) {
			offs[i] = off;
		}
		slog__rec_put(out + off, SLOG_REC_READING, (uint32_t) (i % 3),
		    (uint64_t) i + 1, 1700000000000 + i, data, (uint32_t) len);
		off += SLOG_REC_HDR + len;
	}
	return off;
}

static void
test_seghdr_roundtrip_and_flips(void **state)
{
	uint8_t     img[4096];
	size_t      n = seg_build(img, 1000, 0, 0, NULL), size, bit;
	slog_seghdr h;
	uint32_t    k;
	uint64_t    v;

	(void) state;
	assert_int_equal(n, 132 + 24);
	assert_int_equal(slog__seghdr_parse(img, n, &h, &size), SLOG_PARSE_OK);
	assert_int_equal(h.hdr_len, n);
	assert_true(h.seg_no == 5);
	assert_string_equal(h.gateway, "gw-1");
	assert_int_equal(h.max_record, 1000);
	assert_int_equal(h.nstreams, 2);
	slog__seghdr_entry(&h, 1, &k, &v);
	assert_int_equal(k, 7);
	assert_true(v == 70);
	for (bit = 0; bit < n * 8; bit++) {
		img[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		if (slog__seghdr_parse(img, n, &h, &size) == SLOG_PARSE_OK) {
			fail_msg("header: flip of bit %zu accepted", bit);
		}
		img[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	}
	for (bit = 0; bit < n; bit++) {
		assert_int_not_equal(
		    slog__seghdr_parse(img, bit, &h, &size), SLOG_PARSE_OK);
	}
	assert_false(slog__gateway_valid(""));
	assert_false(slog__gateway_valid("has space"));
	assert_true(slog__gateway_valid("gw.1:a_b-c"));
}

// scan_image runs the reader over img (n bytes) through the simulator.
static void
scan_image(const uint8_t *img, size_t n, bool resync, slog_scan *sc,
    size_t *max_readp)
{
	vfs_sim   *v = vfs_sim_new(1);
	slog_vfs  *vfs = vfs_sim_vfs(v);
	slog_file *f;

	vfs_sim_put(v, "x.seg", img, n);
	assert_int_equal(vfs->open(vfs, "x.seg", SLOG_O_RDONLY, &f), 0);
	memset(sc, 0, sizeof(*sc));
	sc->vfs    = vfs;
	sc->f      = f;
	sc->size   = n;
	sc->resync = resync;
	slog__scan(sc);
	vfs->close(f);
	if (max_readp != NULL) {
		*max_readp = vfs_sim_max_read(v);
	}
	vfs_sim_free(v);
}

static void
test_scan_cut_at_every_offset(void **state)
{
	static uint8_t img[8192];
	uint64_t       offs[20];
	size_t         n = seg_build(img, 200, 20, 100, offs), cut;
	slog_scan      sc;

	(void) state;
	scan_image(img, n, false, &sc, NULL);
	assert_int_equal(sc.hdr_status, SLOG_PARSE_OK);
	assert_int_equal(sc.records, 20);
	assert_true(sc.valid_end == n && sc.first_bad == n);
	slog__scan_fini(&sc);
	for (cut = 0; cut < n; cut++) {
		uint64_t whole = 0;
		int      i;
		scan_image(img, cut, false, &sc, NULL);
		if (cut < offs[0]) {
			assert_int_not_equal(sc.hdr_status, SLOG_PARSE_OK);
			slog__scan_fini(&sc);
			continue;
		}
		for (i = 0; i < 20 && offs[i] + SLOG_REC_HDR + 100 <= cut;
		     i++) {
			whole++;
		}
		assert_true(sc.records == whole);
		assert_true(
		    sc.valid_end == offs[0] + whole * (SLOG_REC_HDR + 100));
		assert_true(
		    sc.first_bad == (sc.valid_end < cut ? sc.valid_end : cut));
		slog__scan_fini(&sc);
	}
}

static void
test_scan_huge_length_not_read(void **state)
{
	static uint8_t img[8192];
	uint64_t       offs[10];
	size_t         n = seg_build(img, SLOG_REC_LEN_MAX, 10, 50, offs);
	size_t         max_read;
	slog_scan      sc;

	(void) state;
	// Record 3 claims 16 MiB - 1 bytes; the file has 8 KiB.
	img[offs[3] + 4] = img[offs[3] + 5] = img[offs[3] + 6] = 0xff;
	scan_image(img, n, false, &sc, &max_read);
	assert_int_equal(sc.records, 3);
	assert_true(sc.valid_end == offs[3]);
	assert_true(max_read <= n); // nothing was read (or allocated) for it
	slog__scan_fini(&sc);
	// Resynchronising finds record 4 and everything after it.
	scan_image(img, n, true, &sc, &max_read);
	assert_int_equal(sc.records, 9);
	assert_int_equal(sc.bad_regions, 1);
	assert_true(sc.bad_bytes == offs[4] - offs[3]);
	assert_true(max_read <= n);
	slog__scan_fini(&sc);
}

static void
test_scan_resync_over_flips(void **state)
{
	static uint8_t img[8192];
	uint64_t       offs[30], r = 5;
	size_t         n = seg_build(img, 200, 30, 60, offs);
	int            trial;
	slog_scan      sc;

	(void) state;
	for (trial = 0; trial < 200; trial++) {
		int    rec = 1 + (int) (slogt_rand(&r) % 28);
		size_t bit
		    = (size_t) (slogt_rand(&r) % ((SLOG_REC_HDR + 60) * 8));
		img[offs[rec] + bit / 8] ^= (uint8_t) (1u << (bit % 8));
		// Tail mode: everything before the flipped record, nothing
		// after it.
		scan_image(img, n, false, &sc, NULL);
		assert_int_equal(sc.records, rec);
		slog__scan_fini(&sc);
		// Middle mode: only the flipped record is lost.
		scan_image(img, n, true, &sc, NULL);
		assert_int_equal(sc.records, 29);
		assert_int_equal(sc.bad_regions, 1);
		assert_true(sc.bad_bytes == SLOG_REC_HDR + 60);
		slog__scan_fini(&sc);
		img[offs[rec] + bit / 8] ^= (uint8_t) (1u << (bit % 8));
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_every_bit_flip_detected),
		cmocka_unit_test(test_record_cut_at_every_offset),
		cmocka_unit_test(test_record_huge_length_rejected),
		cmocka_unit_test(test_batch_record),
		cmocka_unit_test(test_seghdr_roundtrip_and_flips),
		cmocka_unit_test(test_scan_cut_at_every_offset),
		cmocka_unit_test(test_scan_huge_length_not_read),
		cmocka_unit_test(test_scan_resync_over_flips),
	};

	return ARB_TEST_RUN("store.record", tests, argc, argv);
}
