// SPDX-License-Identifier: MIT
// fuzz_scan.c -- fuzz target for the store's readers: any bytes as a
// segment file (scan.c), read as the tail of the log (stop at the first
// bad record), as a segment in the middle (resynchronise), and as a file
// without a header (harvesting); as the cursor file (cursor.c); and as a
// message body (fuzz_msgs.c: store_msgs.c's check and readers).
//
// Built twice: with clang and libFuzzer (-fsanitize=fuzzer; the test
// fuzz.store_scan runs it for a bounded time over the corpus in
// tests/fuzz_corpus/), and with the project's compiler and
// fuzz_replay.c's main, which replays the corpus in every build
// (unit.store.fuzz_replay, so ASan and TSan see it too).
//
// Besides "no crash, no leak, no read out of bounds", the target checks
// what the reader promises: every record it reports lies inside the file
// and has a matching CRC, the valid end never passes the file's end or
// the first bad byte (tail mode), and no read asks for more than the
// file holds (so a length field never makes it allocate or read more).
// Thread: one.

#include "record.h"
#include "slog_int.h"

#include <stdlib.h>
#include <string.h>

// The engine maps errno values in slog.c; the target links only
// record.c, crc32c.c, scan.c and cursor.c.
int
slog__err(int e)
{
	return e == 0 ? 0 : ARB_ESYSERR | e;
}

struct slog_file {
	const uint8_t *p;
	size_t         n;
};

static size_t max_read;

static int
mem_read(slog_file *f, void *buf, size_t n, uint64_t off, size_t *got)
{
	if (n > max_read) {
		max_read = n;
	}
	*got = 0;
	if (off < f->n) {
		*got = f->n - off < n ? (size_t) (f->n - off) : n;
		memcpy(buf, f->p + off, *got);
	}
	return 0;
}

// The cursor reader opens "cursor": it gets the input too.
static slog_file cursor_file;

static int
mem_open(slog_vfs *v, const char *name, int flags, slog_file **fp)
{
	(void) v;
	(void) flags;
	if (strcmp(name, SLOG_CURSOR_NAME) != 0) {
		return 2; // ENOENT
	}
	*fp = &cursor_file;
	return 0;
}

static void
mem_close(slog_file *f)
{
	(void) f;
}

typedef struct check {
	const uint8_t *p;
	size_t         n;
	uint64_t       last;
	bool           first;
} check;

static int
on_rec(void *arg, uint64_t off, const slog_rec *r)
{
	check   *c    = arg;
	uint64_t size = SLOG_REC_HDR + (uint64_t) r->len;
	uint32_t crc;

	if (off + size > c->n || (!c->first && off < c->last)) {
		abort(); // a record outside the file, or out of order
	}
	crc = (uint32_t) c->p[off] | (uint32_t) c->p[off + 1] << 8
	    | (uint32_t) c->p[off + 2] << 16 | (uint32_t) c->p[off + 3] << 24;
	if (crc != slog__crc32c(0, c->p + off + 4, (size_t) size - 4)
	    || memcmp(r->data, c->p + off + SLOG_REC_HDR, r->len) != 0) {
		abort(); // reported, but not what the file holds
	}
	c->last  = off + size;
	c->first = false;
	return 0;
}

static void
scan_as(const uint8_t *data, size_t size, bool resync, bool no_header)
{
	slog_vfs  vfs;
	slog_file f = { data, size };
	slog_scan sc;
	check     c = { data, size, 0, true };

	memset(&vfs, 0, sizeof(vfs));
	vfs.open = mem_open;
	vfs.read = mem_read;
	memset(&sc, 0, sizeof(sc));
	sc.vfs       = &vfs;
	sc.f         = &f;
	sc.size      = size;
	sc.resync    = resync;
	sc.no_header = no_header;
	sc.on_rec    = on_rec;
	sc.arg       = &c;
	max_read     = 0;
	slog__scan(&sc);
	if (sc.valid_end > size || sc.first_bad > size
	    || (!resync && !no_header && sc.valid_end > sc.first_bad)
	    || max_read > size) {
		abort();
	}
	if (sc.hdr_status == SLOG_PARSE_OK
	    && (sc.hdr.hdr_len > size || sc.valid_end < sc.hdr.hdr_len)) {
		abort();
	}
	slog__scan_fini(&sc);
}

int  LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_msgs(const uint8_t *data, size_t size); // fuzz_msgs.c

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slog_vfs vfs;
	uint64_t pos, gen;
	bool     corrupt;

	scan_as(data, size, false, false);
	scan_as(data, size, true, false);
	scan_as(data, size, true, true);
	memset(&vfs, 0, sizeof(vfs));
	vfs.open          = mem_open;
	vfs.close         = mem_close;
	vfs.read          = mem_read;
	cursor_file.p     = data;
	cursor_file.n     = size;
	if (slog__cursor_read(&vfs, &pos, &gen, &corrupt) != 0
	    || (gen == 0 && pos != 0)) {
		abort();
	}
	fuzz_msgs(data, size);
	return 0;
}
