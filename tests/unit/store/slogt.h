// SPDX-License-Identifier: MIT
// slogt.h -- helpers for the store engine's tests: open a log on a disk,
// wait for its commits, drain its consumer.  Thread: the test's (the
// log's owner); the wake callback is the commit thread's.

#ifndef ARBOR_TEST_SLOGT_H
#define ARBOR_TEST_SLOGT_H

#include "arb_test.h"

#include "slog.h"
#include "vfs_sim.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct slogt {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             wakes;
	slog_opts       o;
	slog           *s;
	int             pending; // appends whose callback has not run
	int             acked;   // callbacks with status 0
	int             failed;  // callbacks with an error
	int             last_status;
	char            log[8192]; // every log line, for asserts
	size_t          loglen;
} slogt;

static inline void
slogt_wake(void *arg)
{
	slogt *t = arg;

	pthread_mutex_lock(&t->mu);
	t->wakes++;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static inline void
slogt_logline(void *arg, int level, const char *line)
{
	slogt *t = arg;
	int    n;

	(void) level;
	pthread_mutex_lock(&t->mu);
	n = snprintf(t->log + t->loglen, sizeof(t->log) - t->loglen, "%s\n",
	    line);
	if (n > 0 && t->loglen + (size_t) n < sizeof(t->log)) {
		t->loglen += (size_t) n;
	}
	pthread_mutex_unlock(&t->mu);
	if (getenv("SLOGT_VERBOSE") != NULL) {
		fprintf(stderr, "slog: %s\n", line);
	}
}

// slogt_init prepares opts for vfs: 1 ms commits, no free-space floor.
static inline void
slogt_init(slogt *t, slog_vfs *vfs)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->o.gateway            = "gw-test";
	t->o.vfs                = vfs;
	t->o.commit_interval_ms = 1;
	t->o.min_free_bytes     = 1;
	t->o.wake               = slogt_wake;
	t->o.wake_arg           = t;
	t->o.log                = slogt_logline;
	t->o.log_arg            = t;
}

static inline void
slogt_fini(slogt *t)
{
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

static inline int
slogt_open(slogt *t)
{
	t->loglen = 0;
	t->log[0] = '\0';
	return slog_open(&t->s, &t->o);
}

static inline void
slogt_close(slogt *t)
{
	slog_close(t->s);
	t->s = NULL;
}

static inline void
slogt_done(void *arg, int status)
{
	slogt *t = arg;

	t->pending--;
	if (status == 0) {
		t->acked++;
	} else {
		t->failed++;
	}
	t->last_status = status;
}

// slogt_wait waits (at most ms) for a wake, then polls.  Returns what
// slog_poll returned.
static inline bool
slogt_wait(slogt *t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long) (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(&t->mu);
	if (t->wakes == 0) {
		pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	}
	t->wakes = 0;
	pthread_mutex_unlock(&t->mu);
	return slog_poll(t->s);
}

// slogt_settle polls until no append waits for its commit (5 s at most;
// fails the test after that).
static inline void
slogt_settle(slogt *t)
{
	int i;

	slog_poll(t->s);
	for (i = 0; i < 500 && t->pending > 0; i++) {
		slogt_wait(t, 10);
	}
	if (t->pending > 0) {
		fail_msg("%d appends still wait for their commit", t->pending);
	}
}

// slogt_append appends n readings of len bytes on stream, each payload
// filled with (byte) + index.  Returns slog_append's result.
static inline int
slogt_append(slogt *t, uint32_t stream, int n, size_t len, uint8_t byte,
    slog_run *runs, size_t *nruns)
{
	slog_reading r[64];
	uint8_t      data[64][256];
	slog_run     lruns[64];
	size_t       lnruns;
	slog_refusal why;
	int          i, rv;

	assert_true(n <= 64 && len <= 256);
	for (i = 0; i < n; i++) {
		memset(data[i], byte + i, len);
		r[i] = (slog_reading) { stream, -1, data[i], len };
	}
	rv = slog_append(t->s, r, (size_t) n, runs ? runs : lruns,
	    nruns ? nruns : &lnruns, slogt_done, t, &why);
	if (rv == 0) {
		t->pending++;
	}
	return rv;
}

// One record received by slogt_drain.
typedef struct slogt_rec {
	uint64_t pos;
	uint32_t stream;
	uint64_t seq;
	size_t   len;
	uint8_t  first; // first payload byte
} slogt_rec;

typedef struct slogt_sink {
	slogt_rec *v;
	size_t     n, cap;
} slogt_sink;

static inline void
slogt_sink_cb(void *arg, const slog_record *r)
{
	slogt_sink *k = arg;

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 256;
		k->v   = realloc(k->v, k->cap * sizeof(*k->v));
		assert_non_null(k->v);
	}
	k->v[k->n++] = (slogt_rec) { r->pos, r->stream, r->seq, r->len,
		r->len > 0 ? r->data[0] : 0 };
}

// slogt_drain consumes everything deliverable; ack: acknowledge each.
static inline size_t
slogt_drain(slogt *t, slogt_sink *k, bool ack)
{
	size_t total = 0, n, from;

	do {
		from = k->n;
		n    = slog_consume(t->s, 1000, SIZE_MAX, slogt_sink_cb, k);
		total += n;
		if (ack) {
			size_t i;
			for (i = from; i < k->n; i++) {
				assert_int_equal(slog_ack(t->s, k->v[i].pos), 0);
			}
		}
	} while (n > 0);
	return total;
}

#endif // ARBOR_TEST_SLOGT_H
