// SPDX-License-Identifier: MIT
// slog.c -- the log engine's front: open and close, appends (sequence
// numbers, segment rolls, the quota), slog_poll and the numbers.
//
// Recovery is in recover.c, the consumer and retirement in consume.c,
// the commit thread in commit.c; below them all, the segment table
// (segments.c), the stream table (streams.c) and the error codes, log
// line and clocks (errlog.c).  Thread: owner, except where a function
// says otherwise.

#include "slog_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- small helpers ------------------------------------------------------

const char *
slog_refusal_name(slog_refusal r)
{
	switch (r) {
	case SLOG_FULL_QUOTA:
		return "quota";
	case SLOG_FULL_DISK:
		return "disk_full";
	case SLOG_FULL_PENDING:
		return "pending";
	case SLOG_DISK_ERROR:
		return "disk_error";
	default:
		return "ok";
	}
}

typedef struct kv {
	uint32_t k;
	uint64_t v;
} kv;

static int
kv_cmp(const void *a, const void *b)
{
	uint32_t x = ((const kv *) a)->k, y = ((const kv *) b)->k;

	return x < y ? -1 : x > y;
}

// --- open / close -------------------------------------------------------

static void
opts_defaults(slog_opts *o)
{
	if (o->commit_interval_ms <= 0) {
		o->commit_interval_ms = 10;
	}
	if (o->commit_records == 0) {
		o->commit_records = 4096;
	}
	if (o->segment_bytes == 0) {
		o->segment_bytes = 16u << 20;
	}
	if (o->segment_bytes < 512) {
		o->segment_bytes = 512;
	}
	if (o->segment_bytes > (1u << 30)) {
		o->segment_bytes = 1u << 30;
	}
	if (o->max_record == 0) {
		o->max_record = 64u << 10;
	}
	if (o->quota_bytes == 0) {
		o->quota_bytes = (uint64_t) 1 << 30;
	}
	if (o->min_free_bytes == 0) {
		o->min_free_bytes = 64u << 20;
	}
	if (o->max_pending_bytes == 0) {
		o->max_pending_bytes = 8u << 20;
	}
	if (o->max_pending_bytes > (256u << 20)) {
		o->max_pending_bytes = 256u << 20;
	}
	if (o->cursor_interval_ms <= 0) {
		o->cursor_interval_ms = 100;
	}
}

int
slog_open(slog **sp, const slog_opts *opts)
{
	slog              *s;
	pthread_condattr_t ca;
	uint64_t           cursor;
	int                rv;

	if (sp == NULL || opts == NULL || opts->vfs == NULL
	    || opts->gateway == NULL || !slog__gateway_valid(opts->gateway)
	    || opts->max_record > SLOG_REC_LEN_MAX) {
		return ARB_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	s->opts = *opts;
	opts_defaults(&s->opts);
	snprintf(s->gateway, sizeof(s->gateway), "%s", opts->gateway);
	s->opts.gateway = s->gateway;
	s->vfs          = opts->vfs;
	s->disk_avail   = UINT64_MAX;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (s->opts.segment_bytes > s->opts.quota_bytes / 4) {
		// Drop-oldest and retirement work in whole segments: keep
		// several of them inside the quota.
		s->opts.segment_bytes = s->opts.quota_bytes / 4 < 512
		    ? 512
		    : s->opts.quota_bytes / 4;
	}
	if ((rv = slog__consumer_init(s)) != ARB_OK
	    || (rv = slog__recover(s, &cursor)) != ARB_OK
	    || (rv = slog__commit_start(s)) != ARB_OK) {
		slog_close(s);
		return rv;
	}
	*sp = s;
	return ARB_OK;
}

// closed_write keeps the log's end and the streams' last numbers for
// the next open (slog__closed_read): a last segment shortened meanwhile
// is then found, said, and its numbers are not given again.
static void
closed_write(slog *s)
{
	slog_ackseq *a;
	uint32_t     n = 0;
	size_t       i;
	int          rv;

	if (s->nsegs == 0) {
		return;
	}
	if ((a = calloc(s->streams.count ? s->streams.count : 1, sizeof(*a)))
	    == NULL) {
		return;
	}
	for (i = 0; i < s->streams.cap; i++) {
		if (s->streams.used[i]) {
			a[n].stream = s->streams.keys[i];
			a[n].seq    = s->streams.seqs[i];
			n++;
		}
	}
	rv = slog__closed_write(s->vfs, s->segs[s->nsegs - 1].no,
	    s->segs[s->nsegs - 1].end, a, n);
	if (rv != ARB_OK) {
		slog__log(s, SLOG_LOG_ERROR,
		    "event=closed_write_failed file=%s error=\"%s\"",
		    SLOG_CLOSED_NAME, slog__strerror(rv));
	}
	free(a);
}

void
slog_close(slog *s)
{
	size_t i;

	if (s == NULL) {
		return;
	}
	if (s->thread_started) {
		slog__cursor_update(s);
		slog__commit_stop(s);
		slog_poll(s); // the last results: every callback runs
		// What the log keeps for the next open (a stop while
		// upstream is away leaves a backlog): the operator reads it
		// here, not only at the next start's event=open.
		slog__log(s, SLOG_LOG_INFO,
		    "event=closed segments=%zu backlog_records=%" PRIu64
		    " backlog_bytes=%" PRIu64,
		    s->nsegs, s->st.backlog_records, s->st.backlog_bytes);
		closed_write(s);
	}
	for (i = 0; i < s->nsegs; i++) {
		if (s->segs[i].rf != NULL) {
			s->vfs->close(s->segs[i].rf);
		}
	}
	if (s->cf != NULL) {
		s->vfs->close(s->cf);
	}
	if (s->af != NULL) {
		s->vfs->close(s->af);
	}
	free(s->ack_want);
	free(s->ack_work);
	slog__streams_fini(&s->acked);
	free(s->segs);
	free(s->waits);
	free(s->results);
	free(s->retire);
	free(s->retired);
	free(s->retiring);
	slog__batch_fini(&s->pend);
	slog__batch_fini(&s->work);
	slog__streams_fini(&s->streams);
	slog__pb_fini(s);
	slog__consumer_fini(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *
slog_gateway(slog *s)
{
	return s->gateway;
}

// --- appends ------------------------------------------------------------

// full_check decides whether bytes more fit (quota, free space).  Under
// drop_oldest it retires old segments to make room.  Called with mu held
// (it reads disk_avail).
static slog_refusal
full_check(slog *s, uint64_t bytes)
{
	for (;;) {
		uint64_t avail = s->disk_avail;
		bool     quota = s->log_bytes + bytes > s->opts.quota_bytes;
		bool     disk  = avail != UINT64_MAX
		    && avail + s->freeing_bytes
		        < s->opts.min_free_bytes + bytes;

		if (!quota && !disk) {
			if (s->full) {
				s->full = false;
				slog__log(s, SLOG_LOG_INFO,
				    "event=full_cleared log_bytes=%" PRIu64,
				    s->log_bytes);
			}
			if (!s->drop_armed
			    && s->log_bytes <= s->opts.quota_bytes) {
				s->drop_armed = true;
			}
			return SLOG_OK;
		}
		if (s->opts.on_full == SLOG_DROP_OLDEST && s->drop_armed
		    && slog__drop_oldest(s)) {
			continue;
		}
		if (!s->full) {
			s->full = true;
			slog__log(s, SLOG_LOG_WARN,
			    "event=full cause=%s log_bytes=%" PRIu64
			    " quota=%" PRIu64 " disk_avail=%" PRIu64
			    " min_free=%" PRIu64 " policy=%s",
			    quota ? "quota" : "disk_full", s->log_bytes,
			    s->opts.quota_bytes, avail, s->opts.min_free_bytes,
			    s->opts.on_full == SLOG_DROP_OLDEST
			        ? "drop_oldest"
			        : "backpressure");
		}
		return quota ? SLOG_FULL_QUOTA : SLOG_FULL_DISK;
	}
}

// roll plans a new segment: its header, with the stream table as it is
// now, goes into the batch.  Called with mu held.
static int
roll(slog *s)
{
	kv         *t = NULL;
	uint32_t   *ks = NULL;
	uint64_t   *vs = NULL;
	size_t      i, n = 0, size;
	slog_seghdr h;
	slog_seg    seg;
	int         rv = ARB_ENOMEM;

	if (s->streams.count > 0) {
		t  = malloc(s->streams.count * sizeof(*t));
		ks = malloc(s->streams.count * sizeof(*ks));
		vs = malloc(s->streams.count * sizeof(*vs));
		if (t == NULL || ks == NULL || vs == NULL) {
			goto out;
		}
		for (i = 0; i < s->streams.cap; i++) {
			if (s->streams.used[i]) {
				t[n++] = (kv) { s->streams.keys[i],
					s->streams.seqs[i] };
			}
		}
		qsort(t, n, sizeof(*t), kv_cmp);
		for (i = 0; i < n; i++) {
			ks[i] = t[i].k;
			vs[i] = t[i].v;
		}
	}
	memset(&h, 0, sizeof(h));
	h.seg_no     = s->next_seg_no;
	h.created_ms = arb__wall_ms();
	h.max_record = s->opts.max_record;
	h.nstreams   = (uint32_t) n;
	snprintf(h.gateway, sizeof(h.gateway), "%s", s->gateway);
	size = slog__seghdr_size(h.nstreams);
	if ((rv = slog__batch_reserve(&s->pend, size)) != ARB_OK
	    || (rv = slog__batch_op(
	            &s->pend, SLOG_OP_NEWSEG, h.seg_no, 0, size))
	        != ARB_OK) {
		goto out;
	}
	memset(&seg, 0, sizeof(seg));
	seg.no         = h.seg_no;
	seg.hdr_len    = (uint32_t) size;
	seg.max_record = h.max_record;
	seg.end        = size;
	seg.planned    = size;
	memcpy(seg.gateway, s->gateway, sizeof(seg.gateway));
	if ((rv = slog__seg_push(s, &seg)) != ARB_OK) {
		s->pend.nops--; // the NEWSEG op stays unused
		goto out;
	}
	slog__seghdr_put(s->pend.buf + s->pend.len, &h, ks, vs);
	s->pend.len += size;
	s->next_seg_no++;
	s->woff      = size;
	s->need_roll = false;
	s->log_bytes += size;
	s->pending_bytes += size;
	rv = ARB_OK;
out:
	free(t);
	free(ks);
	free(vs);
	return rv;
}

static int
waits_reserve(slog *s)
{
	size_t     cap, i;
	slog_wait *n;

	if (s->wait_count < s->wait_cap) {
		return ARB_OK;
	}
	cap = s->wait_cap ? s->wait_cap * 2 : 64;
	if ((n = malloc(cap * sizeof(*n))) == NULL) {
		return ARB_ENOMEM;
	}
	for (i = 0; i < s->wait_count; i++) {
		n[i] = s->waits[(s->wait_head + i) % s->wait_cap];
	}
	free(s->waits);
	s->waits     = n;
	s->wait_cap  = cap;
	s->wait_head = 0;
	return ARB_OK;
}

// push_wait queues an append's callback behind ticket.
static slog_wait *
push_wait(slog *s, slog_done_cb cb, void *arg)
{
	slog_wait *w
	    = &s->waits[(s->wait_head + s->wait_count++) % s->wait_cap];

	memset(w, 0, sizeof(*w));
	w->ticket = s->ticket;
	w->cb     = cb;
	w->arg    = arg;
	return w;
}

// keyed_lookup handles a key seen before.  Returns ARB_OK with *skipp
// readings already stored (the rest is to append) or with *waitp set
// (all stored, their commit pending: a wait was queued, runs filled),
// ARB_EEXIST (all stored and durable: runs filled), or ARB_EINVAL (the
// same key with another n).
static int
keyed_lookup(slog *s, const slog_key *key, size_t n, slog_run *runs,
    size_t *nrunsp, slog_done_cb cb, void *arg, slog_pbatch **pbp,
    size_t *skipp, bool *waitp)
{
	slog_pbatch *pb = slog__pb_find(s, key->producer, key->id);

	*pbp   = pb;
	*skipp = 0;
	*waitp = false;
	if (pb == NULL) {
		return ARB_OK;
	}
	if (pb->total != n) {
		return ARB_EINVAL; // the same key for another batch
	}
	slog__pb_settle(s, pb);
	if (pb->stored < pb->total) {
		*skipp = pb->stored; // cut by a torn tail: complete it
		return ARB_OK;
	}
	memcpy(runs, pb->runs, pb->nruns * sizeof(*runs));
	*nrunsp = pb->nruns;
	if (pb->ticket <= s->durable_ticket) {
		return ARB_EEXIST;
	}
	// Its commit is pending: answer with it (a wait behind everything
	// appended so far covers it).
	push_wait(s, cb, arg)->dup = true;
	*waitp = true;
	return ARB_OK;
}

int
slog_append(slog *s, const slog_key *key, const slog_reading *r, size_t n,
    slog_run *runs, size_t *nrunsp, slog_done_cb cb, void *arg,
    slog_refusal *whyp)
{
	uint64_t     bytes = 0, hdr = 0, extra = 0;
	size_t       i, newstreams = 0, nruns = 0, skip = 0;
	slog_refusal why;
	slog_wait   *w;
	slog_pbatch *pb = NULL;
	bool         was_empty, waiting;
	int64_t      now = arb__wall_ms();
	int          rv;

	*whyp = SLOG_OK;
	if (n == 0 || r == NULL || n > UINT32_MAX
	    || (key != NULL && key->producer == 0)) {
		return ARB_EINVAL;
	}
	if ((rv = waits_reserve(s)) != ARB_OK) {
		return rv;
	}
	if (key != NULL) {
		rv = keyed_lookup(
		    s, key, n, runs, nrunsp, cb, arg, &pb, &skip, &waiting);
		if (rv != ARB_OK || waiting) {
			return rv;
		}
		extra = SLOG_REC_HDR + SLOG_BATCH_LEN; // the batch record
	}
	for (i = skip; i < n; i++) {
		if (r[i].len > s->opts.max_record) {
			return ARB_EMSGSIZE;
		}
		const uint64_t *have =
		    slog__streams_get(&s->streams, r[i].stream, false);

		bytes += SLOG_REC_HDR + r[i].len;
		if (have == NULL) {
			newstreams++;
		} else if (*have > SLOG_U48_MAX - (n - skip)) {
			// The record's seq has 48 bits: a wrap would write
			// seq 0 (a record recovery rejects) and then numbers
			// upstream has seen.
			if (!s->seq_exhausted_told) {
				s->seq_exhausted_told = true;
				slog__log(s, SLOG_LOG_ERROR,
				    "event=seq_exhausted stream=%" PRIu32
				    " seq=%" PRIu64 " max=%" PRIu64
				    " (appends to this stream are refused)",
				    r[i].stream, *have, SLOG_U48_MAX);
			}
			return ARB_ENOSPC;
		}
	}
	if (s->streams.count + newstreams > SLOG_SEG_STREAMS_MAX) {
		return ARB_EINVAL;
	}
	if (key != NULL) {
		// Room for the entry's runs before anything is stored.
		if (pb == NULL
		    && (pb = slog__pb_add(s, key->producer, key->id,
		            (uint32_t) n))
		        == NULL) {
			return ARB_ENOMEM;
		}
		if ((rv = slog__pb_reserve(pb, (uint32_t) (n - skip)))
		    != ARB_OK) {
			return rv;
		}
	}
	if (s->retry_at_ms != 0 && arb__now_ms() < s->retry_at_ms) {
		why = SLOG_DISK_ERROR;
		goto refuse;
	}
	s->retry_at_ms = 0;
	pthread_mutex_lock(&s->mu);
	if (s->broken) {
		pthread_mutex_unlock(&s->mu);
		why = SLOG_DISK_ERROR;
		goto refuse;
	}
	if (s->pending_bytes + bytes + extra > s->opts.max_pending_bytes) {
		pthread_mutex_unlock(&s->mu);
		why = SLOG_FULL_PENDING;
		goto refuse;
	}
	if ((why = full_check(s, bytes + extra)) != SLOG_OK) {
		pthread_mutex_unlock(&s->mu);
		goto refuse;
	}
	was_empty = s->pend.len == 0;
	if (s->need_roll || s->nsegs == 0
	    || (s->woff + bytes + extra > s->opts.segment_bytes
	        && s->woff > s->segs[s->nsegs - 1].hdr_len)) {
		uint64_t before = s->log_bytes;
		if ((rv = roll(s)) != ARB_OK) {
			pthread_mutex_unlock(&s->mu);
			goto undo;
		}
		hdr = s->log_bytes - before;
	}
	if ((rv = slog__batch_reserve(&s->pend, bytes + extra)) != ARB_OK
	    || (rv = slog__batch_op(&s->pend, SLOG_OP_DATA,
	            s->segs[s->nsegs - 1].no, s->woff, bytes + extra))
	        != ARB_OK) {
		// Only an allocation failed; a planned header stays planned.
		pthread_mutex_unlock(&s->mu);
		goto undo;
	}
	if (key != NULL) {
		uint8_t       payload[SLOG_BATCH_LEN];
		slog_batchrec b = { key->producer, key->id, (uint32_t) n,
			(uint32_t) skip };

		slog__batchrec_put(payload, &b);
		slog__rec_put(s->pend.buf + s->pend.len, SLOG_REC_BATCH, 0, 1,
		    now, payload, SLOG_BATCH_LEN);
		s->pend.len += extra;
	}
	for (i = skip; i < n; i++) {
		uint64_t *seq
		    = slog__streams_get(&s->streams, r[i].stream, true);
		int64_t   ts  = r[i].ts_ms < 0 ? now : r[i].ts_ms;

		++*seq;
		slog__rec_put(s->pend.buf + s->pend.len, SLOG_REC_READING,
		    r[i].stream, *seq, ts, r[i].data, (uint32_t) r[i].len);
		s->pend.len += SLOG_REC_HDR + r[i].len;
		if (pb != NULL) {
			slog__pb_reading(pb, r[i].stream, *seq);
		} else if (nruns > 0 && runs[nruns - 1].stream == r[i].stream
		    && runs[nruns - 1].first_seq + runs[nruns - 1].count
		        == *seq) {
			runs[nruns - 1].count++;
		} else {
			runs[nruns++] = (slog_run) { r[i].stream, 1, *seq };
		}
	}
	if (was_empty) {
		s->pend.first_ms = arb__now_ms();
	}
	s->pend.records += (uint32_t) (n - skip);
	s->pend.ticket = ++s->ticket;
	if (was_empty
	    || (s->pend.records >= s->opts.commit_records
	        && s->pend.records - (n - skip) < s->opts.commit_records)) {
		pthread_cond_signal(&s->cv);
	}
	s->log_bytes += bytes + extra;
	s->pending_bytes += bytes + extra;
	pthread_mutex_unlock(&s->mu);

	w          = push_wait(s, cb, arg);
	w->seg     = s->segs[s->nsegs - 1].no;
	w->end     = s->woff + bytes + extra;
	w->records = (uint32_t) (n - skip);
	w->bytes   = (uint32_t) bytes;
	w->hdr     = (uint32_t) (hdr + extra);
	w->ts_ms   = r[skip].ts_ms < 0 ? now : r[skip].ts_ms;
	s->woff += bytes + extra;
	s->segs[s->nsegs - 1].planned = s->woff;
	if (pb != NULL) {
		pb->ticket = s->ticket;
		memcpy(runs, pb->runs, pb->nruns * sizeof(*runs));
		nruns = pb->nruns;
	}
	*nrunsp = nruns;
	return ARB_OK;
undo:
	if (pb != NULL && pb->stored == 0) {
		pb->used = false; // a new entry that holds nothing
	}
	return rv;
refuse:
	if (pb != NULL && pb->stored == 0) {
		pb->used = false;
	}
	s->st.refused[why] += n - skip;
	*whyp = why;
	return ARB_EAGAIN;
}

int
slog_retry_ms(slog *s)
{
	int64_t now = arb__now_ms();

	if (s->retry_at_ms != 0 && now < s->retry_at_ms) {
		return (int) (s->retry_at_ms - now);
	}
	if (s->full) {
		return 1000;
	}
	return s->pending_bytes > s->opts.max_pending_bytes / 2
	    ? s->opts.commit_interval_ms
	    : 0;
}

// --- results --------------------------------------------------------------

// commit_failed handles a failed commit: what was planned after the last
// durable byte is forgotten and the next append starts a new segment.
static void
commit_failed(slog *s, int status)
{
	size_t i;

	s->need_roll = true;
	if (s->retry_backoff_ms == 0) {
		s->retry_backoff_ms = 100;
	} else if (s->retry_backoff_ms >= 5000) {
		s->retry_backoff_ms = 5000;
	} else {
		s->retry_backoff_ms *= 2;
	}
	s->retry_at_ms = arb__now_ms() + s->retry_backoff_ms;
	for (i = s->nsegs; i-- > 0;) {
		slog_seg *g = &s->segs[i];
		g->planned  = g->end;
		if (!g->durable && g->records == 0) {
			// Its file was removed with the batch.
			slog__seg_remove(s, i);
		}
	}
	slog__log(s, SLOG_LOG_ERROR,
	    "event=commit_failed error=\"%s\" retry_ms=%d",
	    slog__strerror(status), s->retry_backoff_ms);
}

bool
slog_poll(slog *s)
{
	slog_result *res;
	size_t       nres, i;
	uint64_t    *ret;
	size_t       nret;
	bool         fresh = false, failed = false;
	int          ackerr;

	pthread_mutex_lock(&s->mu);
	res           = s->results;
	nres          = s->nresults;
	s->results    = NULL;
	s->nresults   = 0;
	s->capresults = 0;
	ret           = s->retired;
	nret          = s->nretired;
	s->retired    = NULL;
	s->nretired   = 0;
	s->capretired = 0;
	s->st.cursor  = s->cursor_done;
	ackerr        = s->acked_werr;
	s->st.acked_write_errors = s->acked_werrors;
	pthread_mutex_unlock(&s->mu);

	// The acked file: one error when its writes start failing (the
	// cursor goes on without it), one line when they work again.
	if (ackerr != 0 && !s->acked_failing) {
		s->acked_failing = true;
		slog__log(s, SLOG_LOG_ERROR,
		    "event=acked_write_failed file=%s error=\"%s\" (the "
		    "cursor goes on; until a write works, a last segment "
		    "shortened behind the store's back would give numbers "
		    "again)",
		    SLOG_ACKED_NAME, slog__strerror(ackerr));
	} else if (ackerr == 0 && s->acked_failing
	    && s->st.acked_write_errors > 0) {
		s->acked_failing = false;
		slog__log(s, SLOG_LOG_INFO,
		    "event=acked_write_recovered file=%s failures=%" PRIu64,
		    SLOG_ACKED_NAME, s->st.acked_write_errors);
	}

	for (i = 0; i < nres; i++) {
		// Before the callbacks: one of them may append a key again.
		if (res[i].status == ARB_OK
		    && res[i].ticket > s->durable_ticket) {
			s->durable_ticket = res[i].ticket;
		}
		while (s->wait_count > 0
		    && s->waits[s->wait_head].ticket <= res[i].ticket) {
			slog_wait w = s->waits[s->wait_head];
			slog_seg *g = w.dup ? NULL : slog__seg_find(s, w.seg);

			s->wait_head = (s->wait_head + 1) % s->wait_cap;
			s->wait_count--;
			if (w.dup) {
				// A repeated batch: its original's outcome.
				if (w.cb != NULL) {
					w.cb(w.arg, res[i].status);
				}
				continue;
			}
			s->pending_bytes -= w.bytes + w.hdr;
			if (res[i].status == ARB_OK && g != NULL) {
				g->durable = true;
				g->end     = w.end;
				g->records += w.records;
				g->bytes += w.bytes;
				s->st.appended_records += w.records;
				s->st.appended_bytes += w.bytes;
				s->st.backlog_records += w.records;
				s->st.backlog_bytes += w.bytes;
				s->retry_backoff_ms = 0;
				fresh               = true;
			} else {
				s->st.failed_records += w.records;
				s->log_bytes -= w.bytes + w.hdr;
				failed = true;
			}
			if (w.cb != NULL) {
				int st = res[i].status;

				if (st == ARB_OK && g == NULL) {
					st = ARB_ESTATE;
				}
				w.cb(w.arg, st);
			}
		}
		if (res[i].status != ARB_OK) {
			failed = true;
		}
	}
	if (failed) {
		int status = ARB_ESYSERR | EIO;
		for (i = 0; i < nres; i++) {
			if (res[i].status != ARB_OK) {
				status = res[i].status;
			}
		}
		commit_failed(s, status);
		slog__pb_failed(s);
		pthread_mutex_lock(&s->mu);
		s->broken = false;
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; i < nret; i++) {
		slog__retired(s, ret[i]);
	}
	free(res);
	free(ret);
	return fresh;
}

// --- numbers ----------------------------------------------------------------

void
slog_stats_get(slog *s, slog_stats *st)
{
	size_t i;

	*st = s->st;
	pthread_mutex_lock(&s->mu);
	st->fsync_count  = s->fsync_count;
	st->fsync_sum_ms = s->fsync_sum_ms;
	memcpy(st->fsync_buckets, s->fsync_buckets, sizeof(st->fsync_buckets));
	st->commits    = s->commits;
	st->disk_avail = s->disk_avail == UINT64_MAX ? 0 : s->disk_avail;
	st->cursor     = s->cursor_done;
	st->acked_write_errors = s->acked_werrors;
	pthread_mutex_unlock(&s->mu);
	st->segments  = s->nsegs;
	st->log_bytes = 0;
	for (i = 0; i < s->nsegs; i++) {
		st->log_bytes += s->segs[i].end;
	}
	st->full         = s->full;
	st->streams      = s->streams.count;
	st->oldest_ts_ms = slog__oldest_ts(s);
}

size_t
slog_fsync_samples(slog *s, double *ms, size_t max)
{
	size_t i, n;

	pthread_mutex_lock(&s->mu);
	n = s->nsamples < max ? s->nsamples : max;
	for (i = 0; i < n; i++) {
		// Oldest first.
		size_t k = (s->sample_next + SLOG_SAMPLES - s->nsamples + i)
		    % SLOG_SAMPLES;
		ms[i] = s->samples[k];
	}
	s->nsamples -= n;
	pthread_mutex_unlock(&s->mu);
	return n;
}
