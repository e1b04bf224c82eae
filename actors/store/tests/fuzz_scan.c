// SPDX-License-Identifier: MIT
// fuzz_scan.c -- fuzz target for the store's readers: any bytes as a
// segment file (scan.c), read as the tail of the log (stop at the first
// bad record), as a segment in the middle (resynchronise), and as a file
// without a header (harvesting); as the cursor file (cursor.c); as the
// acked file (cursor.c: the input is its first slot, and the input from
// its middle on is its second, SLOG_ACKED_STEP further); and as a message
// body (fuzz_msgs.c: store_msgs.c's check and readers).
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
// file holds (so a length field never makes it allocate or read more);
// the acked reader reports no table without a generation, no damage
// beside a table, never more streams than a table holds nor a seq past
// 48 bits, and every entry it reports is there.
// Thread: one.

#include "record.h"
#include "slog_int.h"

#include <stdlib.h>
#include <string.h>

// The engine maps errno values in errlog.c; the target links only
// record.c, crc32c.c, scan.c and cursor.c.
int
slog__err(int e)
{
	return e == 0 ? 0 : ARB_ESYSERR | e;
}

// A file in memory: n bytes at p from offset 0 and, when p2 is set, n2
// bytes at p2 from offset SLOG_ACKED_STEP (the acked file's second slot).
struct slog_file {
	const uint8_t *p;
	size_t         n;
	const uint8_t *p2;
	size_t         n2;
};

static size_t max_read;

static int
mem_read(slog_file *f, void *buf, size_t n, uint64_t off, size_t *got)
{
	if (n > max_read) {
		max_read = n;
	}
	const uint8_t *p   = f->p;
	size_t         len = f->n;

	if (f->p2 != NULL && off >= SLOG_ACKED_STEP) {
		p   = f->p2;
		len = f->n2;
		off -= SLOG_ACKED_STEP;
	}
	*got = 0;
	if (off < len) {
		*got = len - off < n ? (size_t) (len - off) : n;
		memcpy(buf, p + off, *got);
	}
	return 0;
}

// The cursor reader opens "cursor" and the acked reader "acked": they get
// the input too.
static slog_file cursor_file;
static slog_file acked_file;

static int
mem_open(slog_vfs *v, const char *name, int flags, slog_file **fp)
{
	(void) v;
	(void) flags;
	if (strcmp(name, SLOG_CURSOR_NAME) == 0) {
		*fp = &cursor_file;
	} else if (strcmp(name, SLOG_ACKED_NAME) == 0) {
		*fp = &acked_file;
	} else {
		return 2; // ENOENT
	}
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
	slog_file f = { data, size, NULL, 0 };
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

static volatile uint64_t acked_sum;

// acked_as reads the input as the acked file.
static void
acked_as(slog_vfs *vfs, const uint8_t *data, size_t size)
{
	slog_ackseq *a;
	uint32_t     n, i;
	uint64_t     gen, sum = 0;
	bool         bad;

	acked_file.p  = data;
	acked_file.n  = size;
	acked_file.p2 = data + size / 2;
	acked_file.n2 = size - size / 2;
	if (slog__acked_read(vfs, &a, &n, &gen, &bad) != 0
	    || (gen == 0) != (a == NULL) || (gen == 0 && n != 0)
	    || (gen != 0 && bad) || n > SLOG_SEG_STREAMS_MAX) {
		abort();
	}
	for (i = 0; i < n; i++) {
		if (a[i].seq > SLOG_U48_MAX) {
			abort(); // a seq that would wrap
		}
		sum += a[i].stream ^ a[i].seq; // every entry is there (ASan)
	}
	free(a);
	acked_sum = sum; // keeps the reads
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
	acked_as(&vfs, data, size);
	fuzz_msgs(data, size);
	return 0;
}
