// SPDX-License-Identifier: MIT
// recover.c -- opening the log: what is on disk becomes the engine's
// state, whatever a crash or the disk did to it.
//
//  - Segments wholly before the durable cursor were acknowledged: they
//    are unlinked (their sequence numbers harvested first).
//  - Every other segment is read record by record.  The last one may end
//    in a torn write: it is cut at the first bad record (every valid
//    record before it stays) and the cut is made durable before any new
//    byte is written.  Damage there (bit rot) looks the same, so the
//    sequence numbers of the valid records after the cut are harvested
//    first: the cut may take durable records, never their numbers.  A
//    segment in the middle with bad regions keeps its valid records (the
//    scan resynchronises), and a hard link to it goes to quarantine/ for
//    the operator.  A segment without a valid header is moved to
//    quarantine/ (after its sequence numbers were harvested), unless it
//    holds nothing but zeros (a segment whose creation a power cut
//    interrupted, never acknowledged), which is removed.
//  - Per-stream sequence numbers resume after the highest one seen in
//    any header table or record, or acknowledged by the consumer (the
//    file "acked" beside the cursor), whichever is higher: no (stream,
//    seq) is ever reused for a record that was durable or acknowledged.
// Nothing here refuses to start because of what it finds: only a
// directory that cannot be listed fails the open.  Thread: owner, before
// the commit thread starts.

#include "slog_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct nolist {
	uint64_t *v;
	size_t    n, cap;
} nolist;

static int
list_cb(void *arg, const char *name)
{
	nolist  *l = arg;
	uint64_t no;

	if (!slog__seg_parse_name(name, &no)) {
		return 0;
	}
	if (l->n == l->cap) {
		size_t    cap = l->cap ? l->cap * 2 : 16;
		uint64_t *a   = realloc(l->v, cap * sizeof(*a));
		if (a == NULL) {
			return ENOMEM;
		}
		l->v   = a;
		l->cap = cap;
	}
	l->v[l->n++] = no;
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

// What one segment's scan found.
typedef struct acc {
	slog    *s;
	uint64_t no;
	uint64_t cursor;
	bool     harvest_only; // only the sequence numbers count
	bool     no_batches;   // its batches were not delivered: forget them
	uint64_t records, bytes;
	uint64_t before, before_bytes; // acknowledged (before the cursor)
	uint64_t first_pos;            // first record at or after the cursor
	slog_pbatch *cur;              // the keyed batch whose readings follow
} acc;

// on_batch rebuilds the exactly-once table from a batch record: the
// readings that follow it belong to the batch.
static void
on_batch(acc *a, const slog_rec *r)
{
	slog_batchrec b;
	slog_pbatch  *pb;

	slog__batchrec_get(r->data, &b);
	a->cur = NULL;
	if (b.producer == 0 || b.total == 0 || b.index >= b.total) {
		return;
	}
	pb = slog__pb_find(a->s, b.producer, b.id);
	if (pb == NULL
	    && (pb = slog__pb_add(a->s, b.producer, b.id, b.total)) != NULL) {
		// A completion whose first readings were delivered and
		// deleted since: they count as stored, their numbers are gone.
		pb->stored = b.index;
		slog__pb_settle(a->s, pb);
	}
	if (pb != NULL && pb->total == b.total && pb->stored == b.index) {
		a->cur = pb; // (a completion of a cut batch continues it)
	}
}

static int
on_rec(void *arg, uint64_t off, const slog_rec *r)
{
	acc     *a    = arg;
	uint64_t pos  = SLOG_POS(a->no, off);
	uint64_t size = SLOG_REC_HDR + r->len;

	if (r->type == SLOG_REC_BATCH) {
		if (!a->no_batches) {
			on_batch(a, r);
		}
		return 0;
	}
	slog__streams_max(&a->s->streams, r->stream, r->seq);
	if (a->cur != NULL) {
		slog__pb_reading(a->cur, r->stream, r->seq);
		slog__pb_settle(a->s, a->cur);
		if (a->cur->stored >= a->cur->total) {
			a->cur = NULL;
		}
	}
	if (a->harvest_only) {
		if (pos >= a->cursor) {
			a->records++; // (harvest_cut: the valid ones cut off)
		}
		return 0;
	}
	a->records++;
	a->bytes += size;
	if (pos < a->cursor) {
		a->before++;
		a->before_bytes += size;
	} else if (a->first_pos == 0) {
		a->first_pos = pos;
	}
	return 0;
}

static void
table_max(slog *s, const slog_scan *sc)
{
	uint32_t i;

	for (i = 0; i < sc->hdr.nstreams; i++) {
		slog__streams_max(&s->streams, sc->streams[i], sc->seqs[i]);
	}
}

static bool
all_zero(slog *s, slog_file *f, uint64_t size)
{
	uint8_t  buf[16384];
	uint64_t off = 0;

	while (off < size) {
		size_t got, i;
		size_t n = size - off < sizeof(buf) ? (size_t) (size - off)
		                                    : sizeof(buf);
		if (s->vfs->read(f, buf, n, off, &got) != 0 || got == 0) {
			return false;
		}
		for (i = 0; i < got; i++) {
			if (buf[i] != 0) {
				return false;
			}
		}
		off += got;
	}
	return true;
}

// quarantine gives name a second name under quarantine/ and, unless
// keep, removes the first.  Returns true when it was set aside.
static bool
quarantine(slog *s, const char *name, bool keep, const char *why)
{
	char qname[SLOG_NAME_MAX + 32];
	int  k, rv = 0;

	rv = s->vfs->mkdir(s->vfs, "quarantine");
	if (rv != 0 && rv != EEXIST) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=quarantine_failed file=%s why=%s error=mkdir:%d",
		    name, why, rv);
		return false;
	}
	for (k = 0; k < 100; k++) {
		if (k == 0) {
			snprintf(qname, sizeof(qname), "quarantine/%s", name);
		} else {
			snprintf(
			    qname, sizeof(qname), "quarantine/%s.%d", name, k);
		}
		if ((rv = s->vfs->link(s->vfs, name, qname)) != EEXIST) {
			break;
		}
	}
	if (rv != 0) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=quarantine_failed file=%s why=%s error=link:%d",
		    name, why, rv);
		return false;
	}
	if (!keep && (rv = s->vfs->unlink(s->vfs, name)) != 0) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=quarantine_failed file=%s why=%s error=unlink:%d",
		    name, why, rv);
	}
	s->st.quarantined++;
	slog__log(s, SLOG_LOG_WARN, "event=quarantine file=%s as=%s why=%s%s",
	    name, qname, why, keep ? " kept=valid_records" : "");
	return true;
}

// scan_prep sets sc up to read f (size bytes) record by record into a.
static void
scan_prep(slog_scan *sc, slog *s, slog_file *f, uint64_t size, acc *a)
{
	memset(sc, 0, sizeof(*sc));
	sc->vfs    = s->vfs;
	sc->f      = f;
	sc->size   = size;
	sc->on_rec = on_rec;
	sc->arg    = a;
}

// harvest reads the sequence numbers of a segment about to go: its
// header table and its records (without a valid header: whatever valid
// records resynchronisation finds).  acked: the segment was delivered
// and acknowledged (its keyed batches count as stored); otherwise it goes
// to quarantine/, undelivered, and its batches must be stored again when
// their producer resends them.
static void
harvest(slog *s, slog_file *f, uint64_t size, uint64_t no, bool acked)
{
	slog_scan sc;
	acc       a = { .s = s, .no = no, .harvest_only = true,
		      .no_batches = !acked };

	scan_prep(&sc, s, f, size, &a);
	sc.resync = true;
	slog__scan(&sc);
	if (sc.hdr_status == SLOG_PARSE_OK) {
		table_max(s, &sc);
	} else {
		slog__scan_fini(&sc);
		scan_prep(&sc, s, f, size, &a);
		sc.no_header = true;
		slog__scan(&sc);
	}
	slog__scan_fini(&sc);
}

typedef struct rstate {
	uint64_t cursor;
	bool     moved;       // something went to quarantine/
	bool     cut_failed;  // the tail could not be cut
	uint64_t start;       // first record to hand out
} rstate;

// harvest_cut reads the sequence numbers of what a cut at from takes
// off the last segment, and returns how many valid records it takes.  A
// torn write leaves at most a few, never acknowledged; a record damaged
// later (bit rot) leaves every durable record after it, perhaps
// delivered upstream already: their numbers must never be given again
// (the upstream side would drop the new readings as duplicates).
static uint64_t
harvest_cut(slog *s, slog_file *f, uint64_t size, uint64_t no, uint64_t from)
{
	slog_scan sc;
	acc       a = { .s = s, .no = no, .harvest_only = true,
		      .no_batches = true, .cursor = SLOG_POS(no, from) };

	scan_prep(&sc, s, f, size, &a);
	sc.resync = true;
	slog__scan(&sc);
	slog__scan_fini(&sc);
	return a.records;
}

// recover_seg opens, scans and classifies segment no.
static void
recover_seg(slog *s, rstate *rs, uint64_t no, bool last)
{
	char       name[SLOG_NAME_MAX];
	slog_file *f;
	uint64_t   size;
	slog_scan  sc;
	acc        a = { .s = s, .no = no, .cursor = rs->cursor };
	slog_seg   g;
	int        rv;

	slog__seg_name(name, sizeof(name), no);
	if ((rv = s->vfs->open(s->vfs, name, SLOG_O_RDONLY, &f)) != 0) {
		if (rv != ENOENT) {
			slog__log(s, SLOG_LOG_ERROR,
			    "event=segment_unreadable file=%s error=%d", name,
			    rv);
			rs->moved |= quarantine(s, name, false, "unreadable");
		}
		return;
	}
	if ((rv = s->vfs->size(f, &size)) != 0) {
		s->vfs->close(f);
		rs->moved |= quarantine(s, name, false, "unreadable");
		return;
	}
	scan_prep(&sc, s, f, size, &a);
	sc.resync = !last;
	slog__scan(&sc);
	if (sc.io_err != 0) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=segment_unreadable file=%s error=\"%s\"", name,
		    slog__strerror(sc.io_err));
		slog__scan_fini(&sc);
		s->vfs->close(f);
		rs->moved |= quarantine(s, name, false, "unreadable");
		return;
	}
	if (sc.hdr_status != SLOG_PARSE_OK || sc.hdr.seg_no != no) {
		bool zero
		    = sc.hdr_status != SLOG_PARSE_OK && all_zero(s, f, size);
		slog__scan_fini(&sc);
		if (zero) {
			// Created, never written durably: nothing was ever
			// acknowledged from it.
			s->vfs->close(f);
			s->vfs->unlink(s->vfs, name);
			s->st.torn_tails++;
			s->st.torn_bytes += size;
			slog__log(s, SLOG_LOG_INFO,
			    "event=torn_segment_removed file=%s "
			    "bytes=%" PRIu64,
			    name, size);
			return;
		}
		harvest(s, f, size, no, false);
		s->vfs->close(f);
		rs->moved |= quarantine(s, name, false,
		    sc.hdr_status != SLOG_PARSE_OK ? "bad_header"
		                                   : "number_mismatch");
		return;
	}
	table_max(s, &sc);
	memset(&g, 0, sizeof(g));
	g.no         = no;
	g.hdr_len    = sc.hdr.hdr_len;
	g.max_record = sc.hdr.max_record;
	g.end        = sc.valid_end;
	memcpy(g.gateway, sc.hdr.gateway, sizeof(g.gateway));
	if (last && sc.first_bad < size) {
		uint64_t torn = size - sc.valid_end;
		uint64_t cut  = harvest_cut(s, f, size, no, sc.valid_end);
		s->vfs->close(f);
		f  = NULL;
		rv = s->vfs->open(s->vfs, name, SLOG_O_RDWR, &f);
		if (rv == 0) {
			rv = s->vfs->truncate(f, sc.valid_end);
		}
		if (rv == 0) {
			rv = s->vfs->datasync(f);
		}
		if (rv != 0) {
			rs->cut_failed = true;
			slog__log(s, SLOG_LOG_ERROR,
			    "event=torn_tail_not_cut file=%s error=%d", name,
			    rv);
		}
		s->st.torn_tails++;
		s->st.torn_bytes += torn;
		slog__log(s, cut > 0 ? SLOG_LOG_WARN : SLOG_LOG_INFO,
		    "event=torn_tail file=%s cut_at=%" PRIu64 " bytes=%" PRIu64
		    " valid_records_cut=%" PRIu64,
		    name, sc.valid_end, torn, cut);
	}
	if (!last && sc.bad_regions > 0) {
		s->st.corrupt_regions += sc.bad_regions;
		s->st.corrupt_bytes += sc.bad_bytes;
		g.corrupt = true;
		slog__log(s, SLOG_LOG_WARN,
		    "event=corrupt_segment file=%s regions=%" PRIu64
		    " bytes=%" PRIu64 " records_kept=%" PRIu64,
		    name, sc.bad_regions, sc.bad_bytes, a.records);
		rs->moved |= quarantine(s, name, true, "corrupt_regions");
	}
	if (f != NULL) {
		s->vfs->close(f);
	}
	g.planned     = g.end;
	g.records     = a.records;
	g.bytes       = a.bytes;
	g.acked       = a.before;
	g.acked_bytes = a.before_bytes;
	g.durable     = true;
	if (SLOG_POS_SEG(rs->cursor) == no) {
		rs->start
		    = a.first_pos != 0 ? a.first_pos : SLOG_POS(no, g.end);
	}
	s->st.backlog_records += a.records - a.before;
	s->st.backlog_bytes += a.bytes - a.before_bytes;
	slog__scan_fini(&sc);
	if (slog__seg_push(s, &g) != ARB_OK) {
		slog__log(
		    s, SLOG_LOG_ERROR, "event=out_of_memory file=%s", name);
	}
}

// acked_floor reads the acknowledged numbers kept beside the cursor and
// resumes every stream after max(the highest seq in the segments, the
// highest acknowledged one).  Above the segments' means the disk lost
// records the store had (a last segment truncated behind its back):
// upstream acknowledged them, so no reading is lost, but giving their
// numbers again would make upstream drop the new readings as duplicates.
// A file that is unreadable, damaged, or missing beside a cursor (the
// store made both at its first open) gives no floor: said (an error
// naming what happened, store_acked_damaged_total), never silent, since
// a last segment shortened meanwhile would then give numbers again.
// have_cursor: the cursor file had a valid slot.
static void
acked_floor(slog *s, bool have_cursor)
{
	slog_ackseq *a = NULL;
	uint32_t     n = 0, i;
	uint64_t     gen = 0;
	bool         bad = false;
	int          rv;

	rv = slog__acked_read(s->vfs, &a, &n, &gen, &bad);
	if (rv == ARB_ENOENT) {
		if (have_cursor) {
			s->st.acked_damaged++;
			slog__log(s, SLOG_LOG_ERROR,
			    "event=acked_missing file=%s (the cursor is "
			    "there; numbers resume after the log's highest, "
			    "not the acknowledged ones)",
			    SLOG_ACKED_NAME);
		}
	} else if (rv != 0) {
		s->st.acked_damaged++;
		slog__log(s, SLOG_LOG_ERROR,
		    "event=acked_unreadable file=%s error=\"%s\" (numbers "
		    "resume after the log's highest, not the acknowledged "
		    "ones)",
		    SLOG_ACKED_NAME, slog__strerror(rv));
	} else if (bad) {
		s->st.acked_damaged++;
		slog__log(s, SLOG_LOG_ERROR,
		    "event=acked_corrupt file=%s (no valid slot; numbers "
		    "resume after the log's highest, not the acknowledged "
		    "ones)",
		    SLOG_ACKED_NAME);
	}
	s->acked_gen = gen;
	for (i = 0; i < n; i++) {
		uint64_t *have
		    = slog__streams_get(&s->streams, a[i].stream, false);
		uint64_t  log  = have != NULL ? *have : 0;

		if (a[i].seq > log) {
			slog__log(s, SLOG_LOG_WARN,
			    "event=acked_seq_above_log stream=%" PRIu32
			    " log_seq=%" PRIu64 " acked_seq=%" PRIu64
			    " (the disk lost acknowledged records; numbers "
			    "resume after the acknowledged one)",
			    a[i].stream, log, a[i].seq);
			slog__streams_max(&s->streams, a[i].stream, a[i].seq);
		}
		slog__streams_max(&s->acked, a[i].stream, a[i].seq);
	}
	free(a);
	// The file exists from the start (its name made durable by the
	// directory sync that follows), so later updates are only a slot
	// write and an fdatasync.
	rv = s->vfs->open(
	    s->vfs, SLOG_ACKED_NAME, SLOG_O_RDWR | SLOG_O_CREATE, &s->af);
	if (rv != 0) {
		s->af = NULL;
		slog__log(s, SLOG_LOG_ERROR,
		    "event=acked_open_failed file=%s error=\"%s\"",
		    SLOG_ACKED_NAME, slog__strerror(slog__err(rv)));
	}
}

// closed_check compares the log with its end at the last clean stop
// (slog__closed_read).  A last segment shorter than it was then, or gone
// with no later one, lost records the store had made durable: behind
// its back (truncated, or the disk lost them), so nothing else tells --
// they may never have reached upstream.  Said (a warning with the bytes,
// store_log_shortened_bytes_total), and every stream resumes after the
// last seq given before the stop, so the lost numbers leave a gap
// upstream instead of being given to new readings.  A file left by an
// older stop is safe: its numbers and size are at most what the log had
// since; one naming a segment with later ones after it is not compared.
// Only what lies at or after the cursor counts: acknowledged records
// gone are acked_floor's to tell.  last: the highest segment number
// listed; cursor: the durable cursor.
static void
closed_check(slog *s, uint64_t last, uint64_t cursor)
{
	slog_closed c;
	slog_seg   *g;
	uint64_t    have, lost = 0;
	uint32_t    i;

	if (slog__closed_read(s->vfs, &c) != ARB_OK) {
		return;
	}
	for (i = 0; i < c.n; i++) {
		slog__streams_max(
		    &s->streams, c.seqs[i].stream, c.seqs[i].seq);
	}
	free(c.seqs);
	if (c.seg < last || c.seg < SLOG_POS_SEG(cursor)) {
		return;
	}
	g    = c.seg == last ? slog__seg_find(s, c.seg) : NULL;
	have = g != NULL ? g->end : 0;
	if (c.seg == SLOG_POS_SEG(cursor) && have < SLOG_POS_OFF(cursor)) {
		have = SLOG_POS_OFF(cursor);
	}
	if (have < c.size) {
		lost = c.size - have;
		s->st.shortened_bytes += lost;
		slog__log(s, SLOG_LOG_WARN,
		    "event=log_shortened segment=%016" PRIx64
		    " size_at_stop=%" PRIu64 " size=%" PRIu64
		    " lost_bytes=%" PRIu64 " (records the consumer had not "
		    "acknowledged are gone from the log since the last stop; "
		    "numbers resume after the ones given)",
		    c.seg, c.size, have, lost);
	}
}

int
slog__recover(slog *s, uint64_t *cursorp)
{
	nolist   l = { 0 };
	rstate   rs;
	uint64_t cpos = 0, cgen = 0, max_no, cseg;
	bool     corrupt = false;
	size_t   i, first;
	int      rv, crv;

	memset(&rs, 0, sizeof(rs));
	if ((crv = slog__cursor_read(s->vfs, &cpos, &cgen, &corrupt)) != 0) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=cursor_unreadable error=\"%s\" replay=all",
		    slog__strerror(crv));
		cpos = cgen = 0;
	} else if (corrupt) {
		slog__log(s, SLOG_LOG_WARN, "event=cursor_corrupt replay=all");
	}
	if ((rv = s->vfs->list(s->vfs, "", list_cb, &l)) != 0) {
		free(l.v);
		slog__log(s, SLOG_LOG_ERROR, "event=open_failed error=list:%d",
		    rv);
		return rv == ENOMEM ? ARB_ENOMEM : slog__err(rv);
	}
	if (l.n > 1) {
		qsort(l.v, l.n, sizeof(*l.v), u64_cmp);
	}
	if (crv == 0 && cgen == 0 && !corrupt && l.n > 0) {
		// The store makes the cursor at its first open, before any
		// segment: segments without one mean it was deleted (or
		// emptied).  Everything is delivered again: duplicates
		// upstream, which the operator should be able to explain.
		slog__log(s, SLOG_LOG_WARN,
		    "event=cursor_missing file=%s segments=%zu replay=all",
		    SLOG_CURSOR_NAME, l.n);
	}
	cseg   = SLOG_POS_SEG(cpos);
	max_no = cseg;
	for (i = 0; i < l.n; i++) {
		max_no = l.v[i] > max_no ? l.v[i] : max_no;
	}
	rs.cursor = cpos;
	for (first = 0; first < l.n && l.v[first] < cseg; first++) {
	}
	for (i = first; i < l.n; i++) {
		recover_seg(s, &rs, l.v[i], i + 1 == l.n);
	}
	// Acknowledged segments whose unlink a crash undid.
	for (i = 0; i < first; i++) {
		char       name[SLOG_NAME_MAX];
		slog_file *f;
		uint64_t   size;

		slog__seg_name(name, sizeof(name), l.v[i]);
		if (s->vfs->open(s->vfs, name, SLOG_O_RDONLY, &f) == 0) {
			if (s->vfs->size(f, &size) == 0) {
				// Its records too: no later header may know
				// where its streams stopped.
				harvest(s, f, size, l.v[i], true);
			}
			s->vfs->close(f);
		}
		s->vfs->unlink(s->vfs, name);
	}
	if (first > 0) {
		slog__log(s, SLOG_LOG_INFO,
		    "event=acknowledged_segments_removed count=%zu", first);
	}
	acked_floor(s, cgen > 0);
	closed_check(s, l.n > 0 ? l.v[l.n - 1] : 0, cpos);
	if (rs.moved) {
		s->vfs->sync_dir(s->vfs, "quarantine");
	}
	s->vfs->sync_dir(s->vfs, "");
	free(l.v);

	s->next_seg_no = max_no + 1;
	s->need_roll   = true;
	if (s->nsegs > 0) {
		slog_seg *g = &s->segs[s->nsegs - 1];
		if (g->no == max_no && !rs.cut_failed
		    && strcmp(g->gateway, s->gateway) == 0
		    && g->max_record == s->opts.max_record
		    && g->end < s->opts.segment_bytes) {
			s->woff      = g->end;
			s->need_roll = false;
		}
	}
	if (s->nsegs == 0) {
		s->send_pos = SLOG_POS(s->next_seg_no, 0);
	} else if (cseg < s->segs[0].no || rs.start == 0) {
		s->send_pos = SLOG_POS(s->segs[0].no, s->segs[0].hdr_len);
	} else {
		s->send_pos = rs.start;
	}
	s->low_pos   = s->send_pos;
	s->log_bytes = 0;
	for (i = 0; i < s->nsegs; i++) {
		s->log_bytes += s->segs[i].end;
	}
	s->drop_armed = s->log_bytes <= s->opts.quota_bytes;
	if (!s->drop_armed) {
		slog__log(s, SLOG_LOG_WARN,
		    "event=over_quota_at_open log_bytes=%" PRIu64
		    " quota=%" PRIu64 " (appends wait; nothing is dropped "
		    "until the log fits)",
		    s->log_bytes, s->opts.quota_bytes);
	}

	// The cursor file exists from the start, so later updates are
	// only a slot write and an fdatasync.
	rv = s->vfs->open(
	    s->vfs, SLOG_CURSOR_NAME, SLOG_O_RDWR | SLOG_O_CREATE, &s->cf);
	if (rv != 0) {
		s->cf = NULL;
		slog__log(s, SLOG_LOG_ERROR,
		    "event=cursor_open_failed error=%d", rv);
	} else if (cgen == 0) {
		if (slog__cursor_write(s->vfs, s->cf, s->send_pos, 1) == ARB_OK
		    && s->vfs->sync_dir(s->vfs, "") == 0) {
			cgen = 1;
			cpos = s->send_pos;
		}
	}
	s->cursor_gen   = cgen;
	s->cursor_cur   = cpos;
	s->cursor_done  = cpos;
	s->cursor_want  = s->send_pos;
	s->cursor_since = arb__now_ms();
	*cursorp        = s->send_pos;
	slog__log(s, SLOG_LOG_INFO,
	    "event=open segments=%zu backlog_records=%" PRIu64
	    " backlog_bytes=%" PRIu64 " streams=%zu next_segment=%016" PRIx64,
	    s->nsegs, s->st.backlog_records, s->st.backlog_bytes,
	    s->streams.count, s->next_seg_no);
	return ARB_OK;
}
