// SPDX-License-Identifier: MIT
// scan.c -- reading a whole segment file: its header, then every record,
// stopping at the first bad one (the tail of the log: a torn write) or
// skipping bad regions by looking for the next valid record (a segment
// in the middle: bit rot must not cost the records after it).
//
// Used by recovery and by the fuzz target.  Memory: one window of at
// least 1 MiB, grown only to hold one header or record whose length was
// already checked against the header's max_record and the file size.
// Thread: any (one scan per thread).

#include "slog_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK         (1u << 20)
#define RESYNC_BUDGET (64u << 20)

typedef struct rd {
	slog_scan *sc;
	uint8_t   *buf;
	size_t     cap;
	uint64_t   wpos;
	size_t     wlen;
} rd;

// rd_at makes at least n bytes at off present (n <= size - off) and
// returns a pointer to off; *availp is how many bytes follow it.  NULL on
// a read error (sc->io_err is set).
static const uint8_t *
rd_at(rd *r, uint64_t off, size_t n, size_t *availp)
{
	slog_scan *sc = r->sc;
	size_t     want, got;
	int        rv;

	if (off >= r->wpos && off + n <= r->wpos + r->wlen) {
		*availp = (size_t) (r->wpos + r->wlen - off);
		return r->buf + (off - r->wpos);
	}
	want = n > CHUNK ? n : CHUNK;
	if (want > sc->size - off) {
		want = (size_t) (sc->size - off);
	}
	if (want > r->cap) {
		uint8_t *nb = realloc(r->buf, want);
		if (nb == NULL) {
			sc->io_err = ARB_ENOMEM;
			return NULL;
		}
		r->buf = nb;
		r->cap = want;
	}
	if ((rv = sc->vfs->read(sc->f, r->buf, want, off, &got)) != 0) {
		sc->io_err = slog__err(rv);
		return NULL;
	}
	r->wpos = off;
	r->wlen = got;
	*availp = got;
	return r->buf;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
	    | (uint32_t) p[3] << 24;
}

// rec_at parses the record at off; SHORT only when the file ended early
// (a short read), which the caller treats as bad.
static slog_parse
rec_at(rd *r, uint64_t off, uint32_t max_len, slog_rec *rec, size_t *sizep)
{
	slog_scan     *sc = r->sc;
	const uint8_t *p;
	size_t         avail, need;
	slog_parse     st;
	uint64_t       limit = sc->size - off;

	if ((p = rd_at(r, off, limit < SLOG_REC_HDR ? (size_t) limit
	                                            : SLOG_REC_HDR,
	         &avail))
	    == NULL) {
		return SLOG_PARSE_SHORT;
	}
	st = slog__rec_parse(p, avail, max_len, limit, rec, &need);
	if (st != SLOG_PARSE_SHORT) {
		*sizep = need;
		return st;
	}
	if ((p = rd_at(r, off, need, &avail)) == NULL) {
		return SLOG_PARSE_SHORT;
	}
	st     = slog__rec_parse(p, avail, max_len, limit, rec, &need);
	*sizep = need;
	return st;
}

// resync_next looks for the next valid record after off; returns its offset
// or sc->size.  Candidates must pass the cheap header checks before any
// CRC is computed, and the CRC work is bounded by *budgetp.
static uint64_t
resync_next(rd *r, uint64_t off, uint32_t max_len, uint64_t *budgetp)
{
	slog_scan *sc = r->sc;
	uint64_t   c;

	for (c = off + 1; c + SLOG_REC_HDR <= sc->size; c++) {
		const uint8_t *p;
		size_t         avail, size;
		uint32_t       lt, len;
		slog_rec       rec;

		if ((p = rd_at(r, c, SLOG_REC_HDR, &avail)) == NULL
		    || avail < SLOG_REC_HDR) {
			return sc->size;
		}
		lt  = get32(p + 4);
		len = lt & SLOG_REC_LEN_MAX;
		if (!slog__rec_type_ok(lt >> 24, len)
		    || ((lt >> 24) == SLOG_REC_READING && len > max_len)
		    || SLOG_REC_HDR + (uint64_t) len > sc->size - c) {
			continue;
		}
		if (SLOG_REC_HDR + (uint64_t) len > *budgetp) {
			return sc->size;
		}
		*budgetp -= SLOG_REC_HDR + len;
		if (rec_at(r, c, max_len, &rec, &size) == SLOG_PARSE_OK) {
			return c;
		}
		if (sc->io_err != 0) {
			return sc->size;
		}
	}
	return sc->size;
}

static void
scan_header(rd *r)
{
	slog_scan     *sc = r->sc;
	const uint8_t *p;
	size_t         avail, need = SLOG_SEG_FIXED;
	slog_parse     st;
	uint32_t       i;

	for (;;) {
		if (need > sc->size) {
			st = SLOG_PARSE_BAD;
			break;
		}
		if ((p = rd_at(r, 0, need, &avail)) == NULL) {
			st = SLOG_PARSE_BAD;
			break;
		}
		st = slog__seghdr_parse(p, avail, &sc->hdr, &need);
		if (st != SLOG_PARSE_SHORT) {
			break;
		}
	}
	sc->hdr_status = st;
	if (st != SLOG_PARSE_OK) {
		return;
	}
	if (sc->hdr.nstreams > 0) {
		sc->streams = malloc(sc->hdr.nstreams * sizeof(uint32_t));
		sc->seqs    = malloc(sc->hdr.nstreams * sizeof(uint64_t));
		if (sc->streams == NULL || sc->seqs == NULL) {
			sc->io_err     = ARB_ENOMEM;
			sc->hdr_status = SLOG_PARSE_BAD;
			return;
		}
		for (i = 0; i < sc->hdr.nstreams; i++) {
			slog__seghdr_entry(
			    &sc->hdr, i, &sc->streams[i], &sc->seqs[i]);
		}
	}
	sc->hdr.table = NULL; // pointed into the window
}

void
slog__scan(slog_scan *sc)
{
	rd       r      = { .sc = sc };
	uint64_t off    = 0;
	uint64_t budget = RESYNC_BUDGET;
	uint32_t max_len;
	bool     resync = sc->resync;

	sc->streams     = NULL;
	sc->seqs        = NULL;
	sc->valid_end   = 0;
	sc->first_bad   = sc->size;
	sc->records     = 0;
	sc->bad_regions = 0;
	sc->bad_bytes   = 0;
	sc->io_err      = 0;
	memset(&sc->hdr, 0, sizeof(sc->hdr));
	if (sc->no_header) {
		sc->hdr_status = SLOG_PARSE_BAD;
		max_len        = SLOG_REC_LEN_MAX;
		resync         = true;
		off            = 0;
		// Offset 0 may hold a record only if the header is gone
		// entirely; otherwise the resync below finds the first one.
	} else {
		scan_header(&r);
		if (sc->hdr_status != SLOG_PARSE_OK) {
			sc->first_bad = 0;
			free(r.buf);
			return;
		}
		off     = sc->hdr.hdr_len;
		max_len = sc->hdr.max_record;
	}
	sc->valid_end = off;
	while (off < sc->size && sc->io_err == 0) {
		slog_rec   rec;
		size_t     size;
		slog_parse st = rec_at(&r, off, max_len, &rec, &size);
		uint64_t   next;

		if (st == SLOG_PARSE_OK) {
			sc->records++;
			if (sc->on_rec != NULL
			    && sc->on_rec(sc->arg, off, &rec)) {
				break;
			}
			off += size;
			sc->valid_end = off;
			continue;
		}
		if (sc->io_err != 0) {
			break;
		}
		if (sc->first_bad == sc->size) {
			sc->first_bad = off;
		}
		if (!resync) {
			break;
		}
		next = resync_next(&r, off, max_len, &budget);
		sc->bad_regions++;
		sc->bad_bytes += next - off;
		off = next;
	}
	free(r.buf);
}

void
slog__scan_fini(slog_scan *sc)
{
	free(sc->streams);
	free(sc->seqs);
	sc->streams = NULL;
	sc->seqs    = NULL;
}
