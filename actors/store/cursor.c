// SPDX-License-Identifier: MIT
// cursor.c -- the consumer's durable cursor: the position of the first
// record it has not acknowledged, in the file "cursor".
//
// The file has two 32-byte slots, at offsets 0 and 512, written in turn
// (generation g goes to slot g % 2) with one pwrite and one fdatasync:
// a write torn by a power cut damages only the slot being written, whose
// CRC then fails, and the other slot still holds the previous cursor.
// Reading takes the valid slot with the higher generation.
//   0  8  magic "ARBCURS1"
//   8  u64 generation (from 1)
//  16  u64 position (segment << 32 | offset)
//  24  u32 reserved, zero
//  28  u32 crc32c of bytes 0..27
// Beside it, the files "acked" and "closed" (below).  Thread: the
// caller's (recovery on the owner, cursor and acked writes on the commit
// thread, the closed file's write on the owner at slog_close).

#include "slog_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT      32u
#define SLOT_STEP 512u

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = (uint8_t) (v >> (8 * i));
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int      i;

	for (i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

static bool
slot_parse(const uint8_t *p, uint64_t *genp, uint64_t *posp)
{
	uint32_t crc = slog__crc32c(0, p, 28);

	if (memcmp(p, "ARBCURS1", 8) != 0
	    || ((uint32_t) p[28] | (uint32_t) p[29] << 8
	           | (uint32_t) p[30] << 16 | (uint32_t) p[31] << 24)
	        != crc) {
		return false;
	}
	*genp = get64(p + 8);
	*posp = get64(p + 16);
	return *genp != 0;
}

int
slog__cursor_read(slog_vfs *v, uint64_t *posp, uint64_t *genp, bool *corruptp)
{
	slog_file *f;
	uint8_t    buf[SLOT_STEP + SLOT];
	size_t     got;
	uint64_t   g0 = 0, p0 = 0, g1 = 0, p1 = 0;
	bool       ok0, ok1;
	int        rv;

	*posp     = 0;
	*genp     = 0;
	*corruptp = false;
	if ((rv = v->open(v, SLOG_CURSOR_NAME, SLOG_O_RDONLY, &f)) != 0) {
		return rv == ENOENT ? 0 : slog__err(rv);
	}
	memset(buf, 0, sizeof(buf));
	rv = v->read(f, buf, sizeof(buf), 0, &got);
	v->close(f);
	if (rv != 0) {
		return slog__err(rv);
	}
	ok0 = got >= SLOT && slot_parse(buf, &g0, &p0);
	ok1 = got >= SLOT_STEP + SLOT && slot_parse(buf + SLOT_STEP, &g1, &p1);
	if (ok0 && (!ok1 || g0 > g1)) {
		*posp = p0;
		*genp = g0;
	} else if (ok1) {
		*posp = p1;
		*genp = g1;
	} else {
		*corruptp = got > 0;
	}
	return 0;
}

int
slog__cursor_write(slog_vfs *v, slog_file *f, uint64_t pos, uint64_t gen)
{
	uint8_t  slot[SLOT];
	uint32_t crc;
	int      rv;

	memset(slot, 0, sizeof(slot));
	memcpy(slot, "ARBCURS1", 8);
	put64(slot + 8, gen);
	put64(slot + 16, pos);
	crc      = slog__crc32c(0, slot, 28);
	slot[28] = (uint8_t) crc;
	slot[29] = (uint8_t) (crc >> 8);
	slot[30] = (uint8_t) (crc >> 16);
	slot[31] = (uint8_t) (crc >> 24);
	if ((rv = v->write(f, slot, SLOT, (gen % 2) * SLOT_STEP)) != 0
	    || (rv = v->datasync(f)) != 0) {
		return slog__err(rv);
	}
	return 0;
}

// --- the acknowledged sequence numbers, in the file "acked" -------------
// Beside the cursor, with the same durability: two slots, at offsets 0
// and SLOG_ACKED_STEP, written in turn (generation g to slot g % 2) with
// one pwrite and one fdatasync, each
//   0  8  magic "ARBACKS1"
//   8  u64 generation (from 1)
//  16  u32 n, the streams that follow (at most SLOG_SEG_STREAMS_MAX)
//  20  u32 crc32c of bytes 0..19 and the n entries
//  24  n x { u32 stream, u64 highest acknowledged seq }
// Reading takes the valid slot with the higher generation.

#define ACK_HDR 24u

// acked_slot reads the slot at `at`: *genp its generation when it is
// valid (else 0), *badp true when it holds something that is not a valid
// slot (an empty or all-zero header is no slot, not damage).  A slot is
// valid when its magic, length and CRC are right and every seq fits in
// 48 bits (the store never gives a higher one).
static int
acked_slot(slog_vfs *v, slog_file *f, uint64_t at, uint64_t *genp,
    slog_ackseq **ap, uint32_t *np, bool *badp)
{
	static const uint8_t zero[ACK_HDR];
	uint8_t              h[ACK_HDR];
	uint8_t             *buf;
	size_t               got, len;
	uint32_t             n, crc, i;
	int                  rv;

	*genp = 0;
	*badp = false;
	if ((rv = v->read(f, h, sizeof(h), at, &got)) != 0) {
		return rv;
	}
	if (got == 0 || (got == ACK_HDR && memcmp(h, zero, ACK_HDR) == 0)) {
		return 0; // never written
	}
	*badp = true;
	if (got < ACK_HDR || memcmp(h, "ARBACKS1", 8) != 0) {
		return 0;
	}
	n = (uint32_t) h[16] | (uint32_t) h[17] << 8 | (uint32_t) h[18] << 16
	    | (uint32_t) h[19] << 24;
	if (n > SLOG_SEG_STREAMS_MAX) {
		return 0;
	}
	len = (size_t) n * 12u;
	if ((buf = malloc(len ? len : 1)) == NULL) {
		return ENOMEM;
	}
	if ((rv = v->read(f, buf, len, at + ACK_HDR, &got)) != 0
	    || got < len) {
		free(buf);
		return rv;
	}
	crc = slog__crc32c(0, h, 20);
	crc = slog__crc32c(crc, buf, len);
	if (((uint32_t) h[20] | (uint32_t) h[21] << 8 | (uint32_t) h[22] << 16
	        | (uint32_t) h[23] << 24)
	    != crc) {
		free(buf);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (get64(buf + 12u * i + 4) > SLOG_U48_MAX) {
			free(buf);
			return 0;
		}
	}
	free(*ap);
	*ap = calloc(n ? n : 1, sizeof(**ap));
	if (*ap == NULL) {
		free(buf);
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *p = buf + 12u * i;
		(*ap)[i].stream  = (uint32_t) p[0] | (uint32_t) p[1] << 8
		    | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
		(*ap)[i].seq = get64(p + 4);
	}
	free(buf);
	*np   = n;
	*genp = get64(h + 8);
	*badp = *genp == 0;
	return 0;
}

int
slog__acked_read(
    slog_vfs *v, slog_ackseq **ap, uint32_t *np, uint64_t *genp, bool *badp)
{
	slog_file   *f;
	slog_ackseq *a0 = NULL, *a1 = NULL;
	uint32_t     n0 = 0, n1 = 0;
	uint64_t     g0 = 0, g1 = 0;
	bool         b0 = false, b1 = false;
	int          rv;

	*ap   = NULL;
	*np   = 0;
	*genp = 0;
	*badp = false;
	if ((rv = v->open(v, SLOG_ACKED_NAME, SLOG_O_RDONLY, &f)) != 0) {
		return slog__err(rv); // ARB_ENOENT: no file
	}
	rv = acked_slot(v, f, 0, &g0, &a0, &n0, &b0);
	if (rv == 0) {
		rv = acked_slot(v, f, SLOG_ACKED_STEP, &g1, &a1, &n1, &b1);
	}
	v->close(f);
	if (rv != 0) {
		free(a0);
		free(a1);
		return slog__err(rv);
	}
	if (g0 != 0 && g0 > g1) {
		*ap = a0, *np = n0, *genp = g0;
		free(a1);
	} else if (g1 != 0) {
		*ap = a1, *np = n1, *genp = g1;
		free(a0);
	} else {
		// No valid slot.  One damaged slot beside a valid one is a
		// torn write of that slot (the other holds the previous
		// generation), and slot 1 damaged beside a slot 0 never
		// written is a torn first write (generation 1 goes to slot
		// 1; the cursor it came before was not written): only the
		// rest is damage.
		*badp = b0;
		free(a0);
		free(a1);
	}
	return 0;
}

int
slog__acked_write(slog_vfs *v, slog_file *f, const slog_ackseq *a,
    uint32_t n, uint64_t gen)
{
	size_t   len = ACK_HDR + (size_t) n * 12u;
	uint8_t *buf = malloc(len);
	uint32_t crc, i;
	int      rv;

	if (buf == NULL) {
		return ARB_ENOMEM;
	}
	memcpy(buf, "ARBACKS1", 8);
	put64(buf + 8, gen);
	buf[16] = (uint8_t) n;
	buf[17] = (uint8_t) (n >> 8);
	buf[18] = (uint8_t) (n >> 16);
	buf[19] = (uint8_t) (n >> 24);
	for (i = 0; i < n; i++) {
		uint8_t *p = buf + ACK_HDR + 12u * i;
		p[0]       = (uint8_t) a[i].stream;
		p[1]       = (uint8_t) (a[i].stream >> 8);
		p[2]       = (uint8_t) (a[i].stream >> 16);
		p[3]       = (uint8_t) (a[i].stream >> 24);
		put64(p + 4, a[i].seq);
	}
	crc     = slog__crc32c(0, buf, 20);
	crc     = slog__crc32c(crc, buf + ACK_HDR, len - ACK_HDR);
	buf[20] = (uint8_t) crc;
	buf[21] = (uint8_t) (crc >> 8);
	buf[22] = (uint8_t) (crc >> 16);
	buf[23] = (uint8_t) (crc >> 24);
	rv      = v->write(f, buf, len, (gen % 2) * SLOG_ACKED_STEP);
	free(buf);
	if (rv != 0 || (rv = v->datasync(f)) != 0) {
		return slog__err(rv);
	}
	return 0;
}

// --- the log's end at the last clean stop, in the file "closed" ---------
//   0  8 magic "ARBCLOS1"
//   8  u64 the last segment's number
//  16  u64 its durable size
//  24  u32 n, the streams that follow (at most SLOG_SEG_STREAMS_MAX)
//  28  u32 crc32c of bytes 0..27 and the n entries
//  32  n x { u32 stream, u64 last seq given }

#define CLOSED_HDR 32u

int
slog__closed_read(slog_vfs *v, slog_closed *c)
{
	slog_file *f;
	uint8_t    h[CLOSED_HDR];
	uint8_t   *buf = NULL;
	size_t     got, len;
	uint32_t   n, crc, i;
	int        rv;

	memset(c, 0, sizeof(*c));
	if ((rv = v->open(v, SLOG_CLOSED_NAME, SLOG_O_RDONLY, &f)) != 0) {
		return slog__err(rv);
	}
	rv = v->read(f, h, sizeof(h), 0, &got);
	if (rv != 0 || got < CLOSED_HDR || memcmp(h, "ARBCLOS1", 8) != 0) {
		v->close(f);
		return rv != 0 ? slog__err(rv) : ARB_ENOENT;
	}
	n = (uint32_t) h[24] | (uint32_t) h[25] << 8 | (uint32_t) h[26] << 16
	    | (uint32_t) h[27] << 24;
	len = (size_t) n * 12u;
	if (n > SLOG_SEG_STREAMS_MAX
	    || (buf = malloc(len ? len : 1)) == NULL) {
		v->close(f);
		return n > SLOG_SEG_STREAMS_MAX ? ARB_ENOENT : ARB_ENOMEM;
	}
	rv = v->read(f, buf, len, CLOSED_HDR, &got);
	v->close(f);
	crc = slog__crc32c(0, h, 28);
	crc = slog__crc32c(crc, buf, len);
	if (rv != 0 || got < len
	    || ((uint32_t) h[28] | (uint32_t) h[29] << 8
	           | (uint32_t) h[30] << 16 | (uint32_t) h[31] << 24)
	        != crc
	    || (c->seqs = calloc(n ? n : 1, sizeof(*c->seqs))) == NULL) {
		free(buf);
		return rv != 0 ? slog__err(rv) : ARB_ENOENT;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *p = buf + 12u * i;
		c->seqs[i].stream = (uint32_t) p[0] | (uint32_t) p[1] << 8
		    | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
		c->seqs[i].seq = get64(p + 4) & SLOG_U48_MAX;
	}
	free(buf);
	c->n    = n;
	c->seg  = get64(h + 8);
	c->size = get64(h + 16);
	return 0;
}

int
slog__closed_write(slog_vfs *v, uint64_t seg, uint64_t size,
    const slog_ackseq *a, uint32_t n)
{
	size_t     len = CLOSED_HDR + (size_t) n * 12u;
	uint8_t   *buf = malloc(len);
	slog_file *f;
	uint32_t   crc, i;
	int        rv;

	if (buf == NULL) {
		return ARB_ENOMEM;
	}
	memcpy(buf, "ARBCLOS1", 8);
	put64(buf + 8, seg);
	put64(buf + 16, size);
	buf[24] = (uint8_t) n;
	buf[25] = (uint8_t) (n >> 8);
	buf[26] = (uint8_t) (n >> 16);
	buf[27] = (uint8_t) (n >> 24);
	for (i = 0; i < n; i++) {
		uint8_t *p = buf + CLOSED_HDR + 12u * i;
		p[0]       = (uint8_t) a[i].stream;
		p[1]       = (uint8_t) (a[i].stream >> 8);
		p[2]       = (uint8_t) (a[i].stream >> 16);
		p[3]       = (uint8_t) (a[i].stream >> 24);
		put64(p + 4, a[i].seq);
	}
	crc     = slog__crc32c(0, buf, 28);
	crc     = slog__crc32c(crc, buf + CLOSED_HDR, len - CLOSED_HDR);
	buf[28] = (uint8_t) crc;
	buf[29] = (uint8_t) (crc >> 8);
	buf[30] = (uint8_t) (crc >> 16);
	buf[31] = (uint8_t) (crc >> 24);
	rv = v->open(v, SLOG_CLOSED_NAME, SLOG_O_RDWR | SLOG_O_CREATE, &f);
	if (rv == 0) {
		rv = v->write(f, buf, len, 0);
		if (rv == 0) {
			rv = v->datasync(f);
		}
		v->close(f);
	}
	if (rv == 0) {
		rv = v->sync_dir(v, "");
	}
	free(buf);
	return slog__err(rv);
}
