// SPDX-License-Identifier: MIT
// consume.c -- the consumer side of the log: handing out durable records
// in log order, the in-flight window, acknowledgements, the cursor and
// the retirement of segments (and drop_oldest).
//
// In flight is a ring of positions in log order; an ack marks one, and
// the acknowledged prefix leaves the ring, moving low_pos (the first
// unacknowledged record: the cursor).  A segment wholly before low_pos
// that is no longer written is retired: the commit thread makes the
// cursor durable first, then unlinks the file.  Thread: owner.

#include "slog_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK (256u << 10)

int
slog__consumer_init(slog *s)
{
	s->window   = 1024;
	s->ring_cap = 1024;
	if ((s->ring = calloc(s->ring_cap, sizeof(*s->ring))) == NULL) {
		return ARB_ENOMEM;
	}
	return ARB_OK;
}

void
slog__consumer_fini(slog *s)
{
	free(s->ring);
	free(s->rbuf);
	s->ring = NULL;
	s->rbuf = NULL;
}

static slog_flight *
ring_at(slog *s, size_t i)
{
	return &s->ring[(s->ring_head + i) % s->ring_cap];
}

// normalize moves send_pos off the end of a finished segment to the
// start of the next durable one (and low_pos with it when nothing is in
// flight).
static void
normalize(slog *s)
{
	for (;;) {
		slog_seg *g = slog__seg_find(s, SLOG_POS_SEG(s->send_pos));
		size_t    i;

		if (g == NULL) {
			// Before every segment (they were retired): go to the
			// first one after send_pos.
			for (i = 0; i < s->nsegs; i++) {
				if (s->segs[i].no
				    > SLOG_POS_SEG(s->send_pos)) {
					s->send_pos = SLOG_POS(
					    s->segs[i].no, s->segs[i].hdr_len);
					break;
				}
			}
			if (i == s->nsegs) {
				break;
			}
			continue;
		}
		if (SLOG_POS_OFF(s->send_pos) < g->hdr_len) {
			s->send_pos = SLOG_POS(g->no, g->hdr_len);
		}
		i = (size_t) (g - s->segs);
		// Onto the next segment only once it exists on disk: the
		// cursor may follow send_pos, and a cursor naming a segment
		// that a power cut can still undo would let recovery take the
		// segment before it for acknowledged (and lose its sequence
		// numbers).
		if (i + 1 < s->nsegs && SLOG_POS_OFF(s->send_pos) >= g->end
		    && g->end == g->planned && s->segs[i + 1].durable) {
			s->send_pos = SLOG_POS(
			    s->segs[i + 1].no, s->segs[i + 1].hdr_len);
			continue;
		}
		break;
	}
	if (s->ring_count == 0) {
		s->low_pos = s->send_pos;
	}
}

// retire_front moves segs[0] to the retiring list and queues its unlink
// (after the cursor).  drop: it was not wholly acknowledged.  mu held.
static void
retire_front(slog *s, bool drop)
{
	slog_seg g = s->segs[0];

	if (drop) {
		uint64_t n = g.records - g.acked, b = g.bytes - g.acked_bytes;
		s->st.dropped_records += n;
		s->st.dropped_bytes += b;
		s->st.backlog_records -= n;
		s->st.backlog_bytes -= b;
		while (s->ring_count > 0
		    && SLOG_POS_SEG(ring_at(s, 0)->pos) == g.no) {
			s->ring_head = (s->ring_head + 1) % s->ring_cap;
			s->ring_count--;
		}
		if (SLOG_POS_SEG(s->send_pos) <= g.no && s->nsegs > 1) {
			s->send_pos
			    = SLOG_POS(s->segs[1].no, s->segs[1].hdr_len);
		}
		s->low_pos
		    = s->ring_count > 0 ? ring_at(s, 0)->pos : s->send_pos;
		slog__log(s, SLOG_LOG_WARN,
		    "event=drop_oldest segment=%016" PRIx64 " records=%" PRIu64
		    " bytes=%" PRIu64,
		    g.no, n, b);
	}
	if (s->nretiring == s->capretiring) {
		size_t    cap = s->capretiring ? s->capretiring * 2 : 8;
		slog_seg *a   = realloc(s->retiring, cap * sizeof(*a));
		if (a != NULL) {
			s->retiring    = a;
			s->capretiring = cap;
		}
	}
	if (s->nretire == s->capretire) {
		size_t    cap = s->capretire ? s->capretire * 2 : 8;
		uint64_t *a   = realloc(s->retire, cap * sizeof(*a));
		if (a != NULL) {
			s->retire    = a;
			s->capretire = cap;
		}
	}
	if (s->nretiring == s->capretiring || s->nretire == s->capretire) {
		return; // out of memory: retried at the next ack
	}
	g.rf                           = NULL;
	s->retiring[s->nretiring++]    = g;
	s->retire[s->nretire++]        = g.no;
	s->log_bytes -= g.end;
	s->freeing_bytes += g.end;
	slog__seg_remove(s, 0);
}

// want_acked copies the acknowledged table for the commit thread (it
// writes it before the cursor that follows these acks).  mu held.
static void
want_acked(slog *s)
{
	size_t i;

	if (!s->acked_dirty) {
		return;
	}
	if (s->acked.count > s->capack_want) {
		size_t       cap = s->acked.count * 2;
		slog_ackseq *a   = realloc(s->ack_want, cap * sizeof(*a));
		if (a == NULL) {
			return; // out of memory: tried again at the next ack
		}
		s->ack_want    = a;
		s->capack_want = (uint32_t) cap;
	}
	s->nack_want = 0;
	for (i = 0; i < s->acked.cap; i++) {
		if (s->acked.used[i]) {
			s->ack_want[s->nack_want].stream = s->acked.keys[i];
			s->ack_want[s->nack_want].seq    = s->acked.seqs[i];
			s->nack_want++;
		}
	}
	s->ack_want_ver++;
	s->acked_dirty = false;
}

// want_cursor tells the commit thread about low_pos (and the acked
// table).  mu held.
static void
want_cursor(slog *s)
{
	want_acked(s);
	if (s->low_pos == s->cursor_want && s->nretire == 0) {
		return;
	}
	if (s->cursor_want == s->cursor_done) {
		s->cursor_since = arb__now_ms();
		pthread_cond_signal(&s->cv); // a new deadline to wait for
	}
	s->cursor_want = s->low_pos;
}

void
slog__cursor_update(slog *s)
{
	normalize(s);
	pthread_mutex_lock(&s->mu);
	while (s->nsegs > 1 && SLOG_POS_SEG(s->low_pos) > s->segs[0].no) {
		size_t before = s->nsegs;
		retire_front(s, false);
		if (s->nsegs == before) {
			break;
		}
	}
	want_cursor(s);
	pthread_mutex_unlock(&s->mu);
}

bool
slog__drop_oldest(slog *s)
{
	size_t before = s->nsegs;

	if (s->nsegs < 2) {
		s->need_roll = s->nsegs == 1 && s->woff > s->segs[0].hdr_len
		    && s->segs[0].end == s->segs[0].planned;
		return false;
	}
	if (s->segs[0].end != s->segs[0].planned) {
		return false; // still being committed
	}
	retire_front(s, true);
	want_cursor(s);
	return s->nsegs < before;
}

void
slog__retired(slog *s, uint64_t no)
{
	size_t i;

	for (i = 0; i < s->nretiring; i++) {
		slog_seg *g = &s->retiring[i];
		if (g->no != no) {
			continue;
		}
		s->st.deleted_records += g->records;
		s->st.deleted_bytes += g->bytes;
		s->freeing_bytes -= g->end;
		memmove(g, g + 1, (s->nretiring - i - 1) * sizeof(*g));
		s->nretiring--;
		return;
	}
}

// cread makes n bytes at off of segment g present in the read window.
static const uint8_t *
cread(slog *s, slog_seg *g, uint64_t off, size_t n, size_t *availp)
{
	size_t want, got;
	int    rv;

	if (s->rseg == g->no && off >= s->roff
	    && off + n <= s->roff + s->rlen) {
		*availp = (size_t) (s->roff + s->rlen - off);
		return s->rbuf + (off - s->roff);
	}
	if (g->rf == NULL) {
		char name[SLOG_NAME_MAX];
		slog__seg_name(name, sizeof(name), g->no);
		if ((rv = s->vfs->open(s->vfs, name, SLOG_O_RDONLY, &g->rf))
		    != 0) {
			g->rf = NULL;
			slog__log(s, SLOG_LOG_ERROR,
			    "event=read_failed segment=%016" PRIx64
			    " error=%d",
			    g->no, rv);
			return NULL;
		}
	}
	want = n > READ_CHUNK ? n : READ_CHUNK;
	if (off + want > g->end) {
		want = (size_t) (g->end - off);
	}
	if (want > s->rcap) {
		uint8_t *nb = realloc(s->rbuf, want);
		if (nb == NULL) {
			return NULL;
		}
		s->rbuf = nb;
		s->rcap = want;
	}
	s->rlen = 0;
	if ((rv = s->vfs->read(g->rf, s->rbuf, want, off, &got)) != 0) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=read_failed segment=%016" PRIx64 " error=%d", g->no,
		    rv);
		return NULL;
	}
	s->rseg = g->no;
	s->roff = off;
	s->rlen = got;
	*availp = got;
	return s->rbuf;
}

// read_rec parses the record at off of g (limit: g->end).
static slog_parse
read_rec(slog *s, slog_seg *g, uint64_t off, slog_rec *r, size_t *sizep)
{
	const uint8_t *p;
	size_t         avail, need;
	uint64_t       limit = g->end - off;
	slog_parse     st;

	if ((p = cread(s, g, off, limit < SLOG_REC_HDR ? (size_t) limit
	                                               : SLOG_REC_HDR,
	         &avail))
	    == NULL) {
		return SLOG_PARSE_SHORT;
	}
	st = slog__rec_parse(p, avail, g->max_record, limit, r, &need);
	if (st == SLOG_PARSE_SHORT) {
		if ((p = cread(s, g, off, need, &avail)) == NULL) {
			return SLOG_PARSE_SHORT;
		}
		st = slog__rec_parse(p, avail, g->max_record, limit, r, &need);
	}
	*sizep = need;
	return st;
}

// skip_bad finds the next valid record after a bad one at off (the disk
// changed under a durable record): counted and logged.
static uint64_t
skip_bad(slog *s, slog_seg *g, uint64_t off)
{
	uint64_t c;
	slog_rec r;
	size_t   size;

	for (c = off + 1; c + SLOG_REC_HDR <= g->end; c++) {
		if (read_rec(s, g, c, &r, &size) == SLOG_PARSE_OK) {
			break;
		}
	}
	if (c + SLOG_REC_HDR > g->end) {
		c = g->end;
	}
	s->st.corrupt_regions++;
	s->st.corrupt_bytes += c - off;
	slog__log(s, SLOG_LOG_ERROR,
	    "event=corrupt_record segment=%016" PRIx64 " offset=%" PRIu64
	    " skipped=%" PRIu64,
	    g->no, off, c - off);
	return c;
}

size_t
slog_consume(
    slog *s, size_t max_n, size_t max_bytes, slog_record_cb cb, void *arg)
{
	size_t      n = 0, bytes = 0;
	const char *gw = NULL;

	while (n < max_n && s->ring_count < s->window && bytes < max_bytes) {
		slog_seg   *g;
		uint64_t    off;
		slog_rec    r;
		size_t      size;
		slog_parse  st;
		slog_record out;
		slog_flight *f;

		normalize(s);
		g = slog__seg_find(s, SLOG_POS_SEG(s->send_pos));
		if (g == NULL || SLOG_POS_OFF(s->send_pos) >= g->end) {
			break;
		}
		if (gw != NULL && strcmp(gw, g->gateway) != 0) {
			break; // one gateway id per call
		}
		gw  = g->gateway;
		off = SLOG_POS_OFF(s->send_pos);
		st  = read_rec(s, g, off, &r, &size);
		if (st == SLOG_PARSE_SHORT) {
			break; // a read error, logged; tried again later
		}
		if (st == SLOG_PARSE_BAD) {
			s->send_pos = SLOG_POS(g->no, skip_bad(s, g, off));
			continue;
		}
		if (r.type == SLOG_REC_BATCH) {
			// Exactly-once bookkeeping, never delivered.
			s->send_pos += size;
			if (s->ring_count == 0) {
				s->low_pos = s->send_pos;
			}
			continue;
		}
		out.pos     = s->send_pos;
		out.stream  = r.stream;
		out.seq     = r.seq;
		out.ts_ms   = r.ts_ms;
		out.data    = r.data;
		out.len     = r.len;
		out.gateway = g->gateway;
		f           = ring_at(s, s->ring_count++);
		f->pos      = s->send_pos;
		f->size     = (uint32_t) size;
		f->stream   = r.stream;
		f->seq      = r.seq;
		f->acked    = false;
		f->ts_ms    = r.ts_ms;
		s->send_pos += size;
		n++;
		bytes += r.len;
		cb(arg, &out);
	}
	return n;
}

static void
pop_acked(slog *s)
{
	while (s->ring_count > 0 && ring_at(s, 0)->acked) {
		slog_flight *f = ring_at(s, 0);
		slog_seg    *g = slog__seg_find(s, SLOG_POS_SEG(f->pos));

		s->st.acked_records++;
		s->st.acked_bytes += f->size;
		s->st.backlog_records--;
		s->st.backlog_bytes -= f->size;
		if (g != NULL) {
			g->acked++;
			g->acked_bytes += f->size;
		}
		slog__streams_max(&s->acked, f->stream, f->seq);
		s->acked_dirty = true;
		s->ring_head = (s->ring_head + 1) % s->ring_cap;
		s->ring_count--;
	}
	s->low_pos = s->ring_count > 0 ? ring_at(s, 0)->pos : s->send_pos;
}

int
slog_ack(slog *s, uint64_t pos)
{
	size_t lo = 0, hi = s->ring_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ring_at(s, mid)->pos < pos) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == s->ring_count || ring_at(s, lo)->pos != pos
	    || ring_at(s, lo)->acked) {
		return ARB_ENOENT;
	}
	ring_at(s, lo)->acked = true;
	if (lo == 0) {
		pop_acked(s);
		slog__cursor_update(s);
	}
	return ARB_OK;
}

void
slog_unconsume(slog *s, size_t n)
{
	if (n > s->ring_count) {
		n = s->ring_count;
	}
	if (n == 0) {
		return;
	}
	s->ring_count -= n;
	s->send_pos = ring_at(s, s->ring_count)->pos;
	if (s->ring_count == 0) {
		s->low_pos = s->send_pos;
	}
}

void
slog_rewind(slog *s)
{
	s->ring_count = 0;
	s->send_pos   = s->low_pos;
}

size_t
slog_inflight(slog *s)
{
	return s->ring_count;
}

void
slog_set_window(slog *s, uint32_t records)
{
	slog_flight *n;
	size_t       i;

	if (records == 0) {
		records = 1;
	}
	if (records > 65536) {
		records = 65536;
	}
	if (records > s->ring_cap) {
		if ((n = calloc(records, sizeof(*n))) == NULL) {
			return; // keeps the old window
		}
		for (i = 0; i < s->ring_count; i++) {
			n[i] = *ring_at(s, i);
		}
		free(s->ring);
		s->ring      = n;
		s->ring_cap  = records;
		s->ring_head = 0;
	}
	if (records < s->ring_count) {
		slog_rewind(s);
	}
	s->window = records;
}

int64_t
slog__oldest_ts(slog *s)
{
	slog_seg *g;
	slog_rec  r;
	size_t    size;
	uint64_t  off;
	int       i;

	if (s->ring_count > 0) {
		return ring_at(s, 0)->ts_ms;
	}
	normalize(s);
	g = slog__seg_find(s, SLOG_POS_SEG(s->send_pos));
	if (g == NULL) {
		return 0;
	}
	off = SLOG_POS_OFF(s->send_pos);
	// A batch record comes before its readings: look one further.
	for (i = 0; i < 2 && off < g->end; i++) {
		if (read_rec(s, g, off, &r, &size) != SLOG_PARSE_OK) {
			return 0;
		}
		if (r.type == SLOG_REC_READING) {
			return r.ts_ms;
		}
		off += size;
	}
	return 0;
}
