// SPDX-License-Identifier: MIT
// slog_int.h -- private to the log engine (slog.c and the files under
// it): its structures and the functions the files share.
//
// Ownership: fields under "owner" are touched only on the owner thread;
// fields under "shared" only with mu held; fields under "commit" only on
// the commit thread (and by slog_open/slog_close while it does not run).

#ifndef ARBOR_STORE_SLOG_INT_H
#define ARBOR_STORE_SLOG_INT_H

#include "record.h"
#include "slog.h"

#include <arbor/arbor.h>

#include <pthread.h>
#include <stdarg.h>

#define SLOG_POS(seg, off) ((uint64_t) (seg) << 32 | (uint64_t) (off))
#define SLOG_POS_SEG(p)    ((p) >> 32)
#define SLOG_POS_OFF(p)    ((p) &0xffffffffu)

#define SLOG_NAME_MAX 48
#define SLOG_SAMPLES  256

// --- segments.c: segment file names -----------------------------------
// slog__seg_name writes "%016llx.seg" (or "quarantine/...").
void slog__seg_name(char *buf, size_t len, uint64_t no);
// slog__seg_parse_name: true for a segment file name, *nop its number.
bool slog__seg_parse_name(const char *name, uint64_t *nop);

// --- errlog.c: error codes, the log line, clocks -----------------------
int     slog__err(int e); // errno (never an arbor code) -> arbor code
// slog__strerror is arb_strerror for the codes the engine returns (the
// engine does not link libarbor).
const char *slog__strerror(int code);
// (The clocks are arbor's, src/core/arb_clock.h: arb__wall_ms,
// CLOCK_REALTIME, and arb__now_ms, CLOCK_MONOTONIC, in ms.)

// --- scan.c: reading a segment file -----------------------------------
typedef struct slog_scan {
	// in
	slog_vfs  *vfs;
	slog_file *f;
	uint64_t   size;     // file size
	bool       resync;   // skip corrupt regions (else stop at the first)
	bool       no_header; // the header is bad: look for records from 0
	int (*on_rec)(void *arg, uint64_t off, const slog_rec *r);
	void *arg;
	// out
	slog_parse  hdr_status;
	slog_seghdr hdr;      // table == NULL; see streams/seqs
	uint32_t   *streams;  // the header's table (malloc'd)
	uint64_t   *seqs;
	uint64_t    valid_end;  // end of the last valid record (or header)
	uint64_t    first_bad;  // first byte of the first bad region, or size
	uint64_t    records;
	uint64_t    bad_regions;
	uint64_t    bad_bytes;
	int         io_err;     // arbor code of a read error (scan stopped)
} slog_scan;

// slog__scan runs sc; sc->on_rec may be NULL, a non-zero return stops
// the scan.  Reads at most max(1 MiB, one record) at a time; a record
// length is checked against the header's max_record and the file size
// before any buffer grows.  Resynchronising spends at most 64 MiB of
// CRC work per segment, then gives the rest up as bad.
void slog__scan(slog_scan *sc);
void slog__scan_fini(slog_scan *sc);

// --- cursor.c: the durable consumer cursor ------------------------------
#define SLOG_CURSOR_NAME "cursor"
// slog__cursor_read reads the newest valid slot: *posp and *genp (0/0
// when the file is missing or no slot is valid; *corruptp tells the
// latter).
int slog__cursor_read(
    slog_vfs *v, uint64_t *posp, uint64_t *genp, bool *corruptp);
// slog__cursor_write writes gen's slot (gen % 2) and fdatasyncs it.
int slog__cursor_write(slog_vfs *v, slog_file *f, uint64_t pos, uint64_t gen);

// The highest acknowledged sequence number of each stream, in the file
// "acked" beside the cursor (same durability: two slots, one pwrite and
// one fdatasync each).  Recovery resumes every stream above it, so a
// number upstream acknowledged is never given again, even when the
// records holding it are gone (a last segment truncated behind the
// store's back).
#define SLOG_ACKED_NAME "acked"
#define SLOG_ACKED_STEP (1u << 20) // second slot (> 24 + 12 * 65536)
typedef struct slog_ackseq {
	uint32_t stream;
	uint64_t seq;
} slog_ackseq;
// slog__acked_read reads the newest valid slot into *ap (malloc'd, *np
// entries; NULL/0/0 when no slot is valid, and then *badp says whether
// the file holds damage rather than nothing).  ARB_ENOENT: no file.
int slog__acked_read(slog_vfs *v, slog_ackseq **ap, uint32_t *np,
    uint64_t *genp, bool *badp);
// The log's end at the last clean stop, in the file "closed": the last
// segment, its durable size, and each stream's last seq given.  Written
// by slog_close, read at open: a last segment found shorter (or gone)
// lost records the store had made durable, behind its back.
#define SLOG_CLOSED_NAME "closed"
typedef struct slog_closed {
	uint64_t     seg;  // the last segment's number
	uint64_t     size; // its durable size
	slog_ackseq *seqs; // malloc'd: per stream, the last seq given
	uint32_t     n;
} slog_closed;
// slog__closed_read fills *c (free c->seqs).  ARB_ENOENT: no file, or no
// valid content (then nothing is known).
int slog__closed_read(slog_vfs *v, slog_closed *c);
// slog__closed_write writes the file and fdatasyncs it (and the
// directory when it is new).
int slog__closed_write(slog_vfs *v, uint64_t seg, uint64_t size,
    const slog_ackseq *a, uint32_t n);
// slog__acked_write writes gen's slot (gen % 2) and fdatasyncs it.
int slog__acked_write(slog_vfs *v, slog_file *f, const slog_ackseq *a,
    uint32_t n, uint64_t gen);

// --- streams.c: the stream table (owner) -------------------------------
typedef struct slog_streams {
	uint32_t *keys;
	uint64_t *seqs; // last sequence number used
	uint8_t  *used;
	size_t    cap;
	size_t    count;
} slog_streams;

uint64_t *slog__streams_get(slog_streams *t, uint32_t stream, bool add);
void      slog__streams_max(slog_streams *t, uint32_t stream, uint64_t seq);
void      slog__streams_fini(slog_streams *t);

// --- segments.c: the segment table (owner) -----------------------------
typedef struct slog_seg {
	uint64_t   no;
	uint32_t   hdr_len;
	uint32_t   max_record;
	uint64_t   end;     // durable end: records below it can be read
	uint64_t   planned; // end once every append to it is durable
	uint64_t   records; // durable records in it
	uint64_t   bytes;
	uint64_t   acked;   // of them, acknowledged by the consumer
	uint64_t   acked_bytes;
	bool       durable; // its file and header are durable
	bool       corrupt; // read with resync (corrupt regions at open)
	char       gateway[SLOG_GATEWAY_MAX + 1];
	slog_file *rf;      // read handle, opened on demand
} slog_seg;

// --- the commit queue (shared) ------------------------------------------
enum { SLOG_OP_DATA = 1, SLOG_OP_NEWSEG };

typedef struct slog_op {
	int      kind;
	uint64_t seg;
	uint64_t off;  // file offset of the first byte
	size_t   boff; // offset in the batch buffer
	size_t   len;
} slog_op;

typedef struct slog_batch {
	uint8_t *buf;
	size_t   len, cap;
	slog_op *ops;
	size_t   nops, capops;
	uint64_t ticket;   // tickets <= this are in the batch
	uint32_t records;
	int64_t  first_ms; // monotonic time of the first append in it
} slog_batch;

typedef struct slog_result {
	uint64_t ticket; // appends up to this ticket are decided
	int      status;
} slog_result;

// An append waiting for its commit (owner).
typedef struct slog_wait {
	uint64_t     ticket;
	uint64_t     seg;
	uint64_t     end;     // the segment's end after this append
	uint32_t     records;
	uint32_t     bytes;
	uint32_t     hdr;     // header and batch record bytes
	bool         dup;     // a repeated batch waiting for the original
	int64_t      ts_ms;   // of its first record
	slog_done_cb cb;
	void        *arg;
} slog_wait;

// --- exactly-once appends (producers.c, owner) --------------------------
#define SLOG_PRODUCERS_MAX    64
#define SLOG_PRODUCER_BATCHES 64

typedef struct slog_pbatch {
	bool      used;
	uint64_t  id;
	uint32_t  total;     // readings of the batch
	uint32_t  stored;    // of them stored (pending included)
	uint32_t  stored_ok; // ... as of its last durable change
	uint32_t  nruns, nruns_ok, capruns;
	slog_run *runs;      // their sequence numbers, in reading order
	uint64_t  ticket;    // the append that last changed it (0: at open)
} slog_pbatch;

typedef struct slog_producer {
	uint64_t    key; // 0: a free slot
	uint64_t    used_at;
	uint32_t    next; // the slot the next batch takes
	slog_pbatch b[SLOG_PRODUCER_BATCHES];
} slog_producer;

slog_pbatch *slog__pb_find(slog *s, uint64_t producer, uint64_t id);
// slog__pb_add takes a slot for a new batch (the producer's oldest goes);
// NULL when out of memory.
slog_pbatch *slog__pb_add(
    slog *s, uint64_t producer, uint64_t id, uint32_t total);
int  slog__pb_reserve(slog_pbatch *b, uint32_t more_runs);
// slog__pb_reading counts one more stored reading of b.
void slog__pb_reading(slog_pbatch *b, uint32_t stream, uint64_t seq);
// slog__pb_settle remembers b as durable when its last change is.
void slog__pb_settle(slog *s, slog_pbatch *b);
// slog__pb_failed takes every change not durable back (a commit failed).
void slog__pb_failed(slog *s);
void slog__pb_fini(slog *s);

// A record in flight to the consumer (owner).
typedef struct slog_flight {
	uint64_t pos;
	uint64_t seq;
	uint32_t stream;
	uint32_t size;
	bool     acked;
	int64_t  ts_ms;
} slog_flight;

struct slog {
	slog_opts opts;
	char      gateway[SLOG_GATEWAY_MAX + 1];
	slog_vfs *vfs;

	// --- owner ---
	slog_streams streams;
	slog_seg    *segs; // ascending by number
	size_t       nsegs, capsegs;
	uint64_t     next_seg_no;  // for the next roll
	bool         need_roll;    // the write segment takes no more
	uint64_t     woff;         // next offset in the write segment
	uint64_t     ticket;       // appends, ever
	uint64_t     durable_ticket; // the last append made durable
	slog_producer *producers;  // SLOG_PRODUCERS_MAX, made on first use
	uint64_t     lru_clock;
	slog_wait   *waits;        // FIFO ring
	size_t       wait_head, wait_count, wait_cap;
	uint64_t     pending_bytes; // appended, not yet decided
	int64_t      retry_at_ms;  // after a failed commit (monotonic)
	int          retry_backoff_ms;
	bool         drop_armed;   // drop_oldest allowed (the log fit once)
	bool         full;         // alarm raised
	uint64_t     log_bytes;    // segment bytes, appended or planned
	uint64_t     freeing_bytes; // retired, not yet unlinked
	slog_seg    *retiring;     // retired, waiting for their unlink
	size_t       nretiring, capretiring;
	// consumer
	slog_flight *ring;
	size_t       ring_head, ring_count, ring_cap;
	uint32_t     window;
	uint64_t     send_pos;     // next record to hand out
	uint64_t     low_pos;      // first unacknowledged record
	uint64_t     cursor_sent;  // last cursor handed to the commit thread
	slog_streams acked;        // highest acknowledged seq per stream
	bool         acked_dirty;  // changed since handed to the commit thread
	bool         acked_failing; // its write failure was logged
	bool         seq_exhausted_told; // event=seq_exhausted logged
	uint8_t     *rbuf;         // consumer read window
	size_t       rcap;
	uint64_t     rseg, roff, rlen;
	slog_stats   st;

	// --- shared (mu) ---
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	slog_batch      pend;
	slog_result    *results;
	size_t          nresults, capresults;
	bool            stop;
	bool            broken;      // a commit failed: refuse until polled
	uint64_t        cursor_want; // position to make durable
	int64_t         cursor_since; // monotonic ms the want changed
	uint64_t       *retire;      // segments to unlink once cursor_want
	size_t          nretire, capretire; // is durable
	uint64_t        cursor_done; // durable cursor
	slog_ackseq    *ack_want;    // the acked table to make durable
	uint32_t        nack_want, capack_want;
	uint64_t        ack_want_ver; // bumped at each new ack_want
	int             acked_werr;   // the last write of the acked file
	uint64_t        acked_werrors; // its failed writes, ever
	uint64_t       *retired;     // unlinked, for the owner to forget
	size_t          nretired, capretired;
	uint64_t        disk_avail;
	uint64_t        fsync_count;
	double          fsync_sum_ms;
	uint64_t        fsync_buckets[SLOG_FSYNC_BUCKETS + 1];
	double          samples[SLOG_SAMPLES]; // fdatasync ms, a ring
	size_t          nsamples, sample_next;
	uint64_t        commits;

	// --- commit thread ---
	pthread_t  thread;
	bool       thread_started;
	slog_batch work;
	slog_file *wf;        // segment being written
	uint64_t   wf_no;
	uint64_t   wf_durable; // its durable size
	bool       wf_dirty;
	slog_file *cf;        // the cursor file
	uint64_t   cursor_gen;
	uint64_t   cursor_cur; // the cursor in the file
	slog_file *af;        // the acked file
	uint64_t   acked_gen;
	uint64_t   acked_ver; // the ack_want_ver in the file
	uint64_t   ack_want_ver_taken; // the ack_want_ver in ack_work
	slog_ackseq *ack_work; // copy of ack_want being written
	uint32_t   nack_work, capack_work;
};

// errlog.c: slog__log formats a line for opts.log (nothing without one).
void slog__log(slog *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// commit.c
int  slog__commit_start(slog *s);
void slog__commit_stop(slog *s);
int  slog__batch_reserve(slog_batch *b, size_t bytes);
int  slog__batch_op(slog_batch *b, int kind, uint64_t seg, uint64_t off,
     size_t len);
void slog__batch_fini(slog_batch *b);

// recover.c: slog_open's recovery (owner, before the commit thread).
int slog__recover(slog *s, uint64_t *cursorp);

// consume.c
int     slog__consumer_init(slog *s);
void    slog__consumer_fini(slog *s);
// slog__cursor_update hands the first unacknowledged position and the
// segments wholly before it to the commit thread.
void    slog__cursor_update(slog *s);
// slog__drop_oldest retires the oldest segment although the consumer
// has not acknowledged it (drop_oldest policy); false when only the
// segment being written is left.  Called with mu held.
bool    slog__drop_oldest(slog *s);
// slog__retired: the commit thread unlinked segment no.
void    slog__retired(slog *s, uint64_t no);
int64_t slog__oldest_ts(slog *s);

// segments.c: the table
slog_seg *slog__seg_find(slog *s, uint64_t no);
int       slog__seg_push(slog *s, const slog_seg *seg);
// slog__seg_remove forgets the segment at index i (closing its read
// handle); its file is the commit thread's business.
void      slog__seg_remove(slog *s, size_t i);

#endif // ARBOR_STORE_SLOG_INT_H
