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
// Thread: the caller's (recovery on the owner, writes on the commit
// thread).

#include "slog_int.h"

#include <errno.h>
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
