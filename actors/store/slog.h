// SPDX-License-Identifier: MIT
// slog.h -- the store's durable log engine: append-only segments, group
// commit, per-stream sequence numbers, one consumer with a durable
// cursor, retention and a disk quota (docs/store.md).
//
// Plain C with no actor runtime: the store actor (store_actor.c) and the
// tests drive it.  A log has an owner thread (the actor's loop) that
// makes every call below, and one commit thread of its own that writes
// and fdatasyncs.  The commit thread reports through opts.wake; the
// owner then calls slog_poll, which runs the append callbacks.  All file
// I/O goes through a slog_vfs (vfs.h).  Errors are arbor codes
// (<arbor/arbor.h>); an OS error without a closer code is
// ARB_ESYSERR | errno.

#ifndef ARBOR_STORE_SLOG_H
#define ARBOR_STORE_SLOG_H

#include "vfs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct slog slog;

typedef enum slog_full_policy {
	SLOG_BACKPRESSURE = 0, // refuse appends while full (default)
	SLOG_DROP_OLDEST,      // retire the oldest segment, counted
} slog_full_policy;

// Log levels of opts.log (the values of ARB_LOG_*).
#define SLOG_LOG_ERROR 1
#define SLOG_LOG_WARN  2
#define SLOG_LOG_INFO  3

typedef struct slog_opts {
	const char *gateway;   // gateway id (record.h: 1-63 of
	                       // [A-Za-z0-9._:-])
	slog_vfs   *vfs;       // the directory, through its vfs (not owned)
	int      commit_interval_ms; // an append waits at most this long
	                             // before its fdatasync starts (10)
	uint32_t commit_records;     // ... or until this many wait (4096)
	uint64_t segment_bytes;      // roll segments at this size (16 MiB)
	uint32_t max_record;         // payload limit (64 KiB)
	uint64_t quota_bytes;        // segments may use this much (1 GiB)
	uint64_t min_free_bytes;     // leave this much free (64 MiB)
	size_t   max_pending_bytes;  // appends not yet durable (8 MiB)
	int      cursor_interval_ms; // write the cursor at most this often
	                             // (100)
	slog_full_policy on_full;
	// wake is called on the commit thread when slog_poll has work.
	void (*wake)(void *arg);
	void *wake_arg;
	// log receives one line per event the operator should know about
	// (recovery cuts, quarantine, disk errors, the quota alarm), as
	// "event=NAME key=value...".  Thread: owner (from slog_open,
	// slog_append, slog_poll, slog_consume, slog_ack, slog_close).
	void (*log)(void *arg, int level, const char *line);
	void *log_arg;
} slog_opts;

// slog_open opens (creating when empty) the log in opts->vfs and
// recovers it: a torn tail is cut, a corrupt segment in the middle is
// set aside in quarantine/ (and its valid records kept), recovery never
// deletes a record that was not acknowledged by the consumer (see
// docs/store.md, "Opening").  Fails only when the directory cannot be
// used at all (ARB_ESYSERR|errno), for invalid opts (ARB_EINVAL) or
// memory (ARB_ENOMEM).  On success *sp must be released with
// slog_close.  Thread: becomes the owner.
int slog_open(slog **sp, const slog_opts *opts);

// slog_close commits what is pending (the callbacks run with its
// outcome), writes the cursor, stops the commit thread and frees s.
// NULL is a harmless no-op.  Thread: owner.
void slog_close(slog *s);

// --- Producers ----------------------------------------------------------

typedef struct slog_reading {
	uint32_t    stream;
	int64_t     ts_ms; // receive time (ms since the epoch); < 0 = now
	const void *data;
	size_t      len;
} slog_reading;

// A run of sequence numbers: `count` consecutive readings of the append
// for `stream` got first_seq .. first_seq+count-1.
typedef struct slog_run {
	uint32_t stream;
	uint32_t count;
	uint64_t first_seq;
} slog_run;

typedef void (*slog_done_cb)(void *arg, int status);

// Why the log refuses appends (slog_append's ARB_EAGAIN).
typedef enum slog_refusal {
	SLOG_OK = 0,
	SLOG_FULL_QUOTA,   // segments reached quota_bytes
	SLOG_FULL_DISK,    // the file system is below min_free_bytes
	SLOG_FULL_PENDING, // max_pending_bytes wait for their fdatasync
	SLOG_DISK_ERROR,   // the last commit failed; retrying later
	SLOG_REFUSAL_COUNT,
} slog_refusal;

// A producer's name for one append, for exactly-once appends: producer
// is a non-zero number the producer picks once (at random), id numbers
// its appends.
typedef struct slog_key {
	uint64_t producer;
	uint64_t id;
} slog_key;

// slog_append stores n readings as one unit: each gets its stream's next
// sequence number at once (runs[] receives them in reading order, one
// run per stretch of the same stream; it needs room for n entries,
// *nrunsp is set), and cb(arg, 0) runs from slog_poll once the
// fdatasync covering all n has returned (or cb(arg, code) if that
// commit failed: then none of them is acknowledged).
//
// With a key (else NULL), the append is exactly-once: when the same key
// comes again with the same n (the producer resends what it was not
// answered), the readings already stored are not stored again.  If all
// of them are durable, slog_append returns ARB_EEXIST with their runs
// and cb is not called; if their commit is pending, cb runs with its
// outcome; if a torn tail cut the batch at recovery, only its missing
// readings are appended.  The runs then cover the batch's readings, or
// only its last ones when the records of its first ones were delivered
// and deleted meanwhile.  The last SLOG_PRODUCER_BATCHES (64) keys of
// each of SLOG_PRODUCERS_MAX (64) producers are remembered, across
// restarts too (each keyed append writes a 48-byte batch record): a
// producer keeps fewer than 64 batches unanswered.
//
// Returns ARB_OK (cb will run exactly once), ARB_EEXIST (above),
// ARB_EMSGSIZE (a reading over max_record), ARB_EINVAL (n is 0, a key
// with producer 0 or with another n than before, or a new stream beyond
// 65536 streams), ARB_ENOSPC (a stream's seq would pass 2^48 - 1; never
// wrapped), or ARB_EAGAIN with *whyp saying why (nothing stored; retry
// later).  On an error cb is never called.  Thread: owner.
int slog_append(slog *s, const slog_key *key, const slog_reading *r,
    size_t n, slog_run *runs, size_t *nrunsp, slog_done_cb cb, void *arg,
    slog_refusal *whyp);

// slog_retry_ms is how long a refused producer should wait before
// trying again (0 when appends are accepted).  Thread: owner.
int slog_retry_ms(slog *s);

// slog_refusal_name: "quota", "disk_full", "pending", "disk_error".
const char *slog_refusal_name(slog_refusal r);

// slog_poll runs the callbacks of finished commits and applies the
// cursor writes and segment retirements the commit thread completed.
// Returns true when records became deliverable to the consumer.
// Thread: owner.
bool slog_poll(slog *s);

// --- The consumer -------------------------------------------------------

typedef struct slog_record {
	uint64_t       pos;     // (segment << 32 | offset): the ack key
	uint32_t       stream;
	uint64_t       seq;
	int64_t        ts_ms;
	const uint8_t *data;    // valid until the next call on s
	size_t         len;
	const char    *gateway; // of the record's segment
} slog_record;

typedef void (*slog_record_cb)(void *arg, const slog_record *r);

// slog_consume hands durable records not yet handed out, in log order
// (so in per-stream order), to cb: at most max_n of them and about
// max_bytes of payload, never more than the window leaves room for, and
// all with the same gateway id (it stops before a record of another
// one).  Each one is then in flight until slog_ack.  Returns how many
// were handed out.  Thread: owner.
size_t slog_consume(
    slog *s, size_t max_n, size_t max_bytes, slog_record_cb cb, void *arg);

// slog_unconsume takes back the last n records handed out (they could
// not be sent): the next slog_consume hands them out again.
// Thread: owner.
void slog_unconsume(slog *s, size_t n);

// slog_ack marks the in-flight record at pos acknowledged.  Records are
// deleted (their segment retired) once every record before them is
// acknowledged too.  Returns ARB_ENOENT when pos is not in flight (a
// stale or repeated ack; nothing changes).  Thread: owner.
int slog_ack(slog *s, uint64_t pos);

// slog_rewind forgets what is in flight: the next slog_consume starts
// again at the first unacknowledged record (a consumer restarted).
// Thread: owner.
void slog_rewind(slog *s);

// slog_set_window sets how many records may be in flight (1 ..
// 65536; the default is 1024).  Shrinking below what is in flight
// rewinds.  Thread: owner.
void slog_set_window(slog *s, uint32_t records);

// slog_inflight is how many records are in flight.  Thread: owner.
size_t slog_inflight(slog *s);

// --- Numbers -------------------------------------------------------------

#define SLOG_FSYNC_BUCKETS 14
// Upper bounds (ms) of the fdatasync latency histogram's buckets; the
// last bucket is +Inf.
extern const double slog_fsync_bounds_ms[SLOG_FSYNC_BUCKETS];

typedef struct slog_stats {
	uint64_t appended_records; // durable, acknowledged to producers
	uint64_t appended_bytes;   // record bytes on disk (header included)
	uint64_t acked_records;    // acknowledged by the consumer
	uint64_t acked_bytes;
	uint64_t deleted_records;  // retired with their segment
	uint64_t deleted_bytes;
	uint64_t backlog_records;  // durable, not acknowledged by the consumer
	uint64_t backlog_bytes;
	int64_t  oldest_ts_ms;     // receive time of the oldest of them (0)
	uint64_t refused[SLOG_REFUSAL_COUNT]; // appends refused (readings)
	uint64_t failed_records;   // accepted, then their commit failed
	uint64_t dropped_records;  // unacknowledged, retired by drop_oldest
	uint64_t dropped_bytes;
	uint64_t torn_tails;       // recovery cut a torn tail
	uint64_t torn_bytes;
	uint64_t corrupt_regions;  // skipped inside segments (open or read)
	uint64_t corrupt_bytes;
	uint64_t quarantined;      // segments set aside in quarantine/
	uint64_t acked_damaged;    // opened with "acked" missing, unreadable
	                           // or bad
	uint64_t acked_write_errors; // writes of "acked" that failed
	uint64_t shortened_bytes;  // durable bytes gone since the last stop
	uint64_t commits;          // fdatasync rounds
	uint64_t fsync_count;
	double   fsync_sum_ms;
	uint64_t fsync_buckets[SLOG_FSYNC_BUCKETS + 1]; // not cumulative
	uint64_t segments;         // segment files in use
	uint64_t log_bytes;        // their size
	uint64_t disk_avail;       // bytes free on the file system
	bool     full;             // the quota alarm is raised
	uint64_t streams;
	uint64_t cursor;           // durable cursor position
} slog_stats;

// slog_stats_get fills *st.  Thread: owner.
void slog_stats_get(slog *s, slog_stats *st);

// slog_fsync_samples moves up to max fdatasync latencies (ms) measured
// since the last call into ms[] and returns how many (the newest 256 are
// kept between calls).  Thread: owner.
size_t slog_fsync_samples(slog *s, double *ms, size_t max);

// slog_gateway is the gateway id new records are written with.
const char *slog_gateway(slog *s);

#endif // ARBOR_STORE_SLOG_H
