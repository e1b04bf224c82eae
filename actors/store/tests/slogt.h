// SPDX-License-Identifier: MIT
// slogt.h -- helpers for the store engine's tests: open a log on a disk,
// wait for its commits, drain its consumer.  Thread: the test's (the
// log's owner); the wake callback is the commit thread's.

#ifndef ARBOR_TEST_SLOGT_H
#define ARBOR_TEST_SLOGT_H

#include "arb_test.h"

#include "record.h"
#include "slog.h"
#include "vfs_sim.h"

#include <pthread.h>
#include <stdbool.h>
#include <inttypes.h>
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

// slogt_rand is splitmix64: a small seeded generator for the tests.
static inline uint64_t
slogt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
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

// slogt_append_key appends n readings of len bytes on stream, each
// payload filled with (byte) + index, with key (NULL: none).  Returns
// slog_append's result; pending counts the callbacks to come.
static inline int
slogt_append_key(slogt *t, const slog_key *key, uint32_t stream, int n,
    size_t len, uint8_t byte, slog_run *runs, size_t *nruns);

// slogt_append is slogt_append_key without a key.
static inline int
slogt_append(slogt *t, uint32_t stream, int n, size_t len, uint8_t byte,
    slog_run *runs, size_t *nruns)
{
	return slogt_append_key(t, NULL, stream, n, len, byte, runs, nruns);
}

static inline int
slogt_append_key(slogt *t, const slog_key *key, uint32_t stream, int n,
    size_t len, uint8_t byte, slog_run *runs, size_t *nruns)
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
	rv = slog_append(t->s, key, r, (size_t) n, runs ? runs : lruns,
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
				assert_int_equal(
				    slog_ack(t->s, k->v[i].pos), 0);
			}
		}
	} while (n > 0);
	return total;
}

// --- payloads that describe themselves --------------------------------
// [u32 stream][u64 id][filler: byte i = (id * 31 + i) & 0xff], at least
// 12 bytes: a torn, shifted or foreign payload fails the check.

static inline size_t
slogt_payload_make(uint8_t *p, uint32_t stream, uint64_t id, size_t len)
{
	size_t i;

	memcpy(p, &stream, 4);
	memcpy(p + 4, &id, 8);
	for (i = 12; i < len; i++) {
		p[i] = (uint8_t) (id * 31 + i);
	}
	return len;
}

static inline bool
slogt_payload_check(const slog_record *r, uint64_t *idp)
{
	uint32_t stream;
	uint64_t id;
	size_t   i;

	if (r->len < 12) {
		return false;
	}
	memcpy(&stream, r->data, 4);
	memcpy(&id, r->data + 4, 8);
	if (stream != r->stream) {
		return false;
	}
	for (i = 12; i < r->len; i++) {
		if (r->data[i] != (uint8_t) (id * 31 + i)) {
			return false;
		}
	}
	*idp = id;
	return true;
}

// --- what a test knows about a log ---------------------------------------
// Per (stream, seq) acknowledged to the producer: its payload id, and
// whether the consumer acknowledged it since (then it may be gone).

#define SLOGT_STREAMS    16
#define SLOGT_KEY(st, q) ((uint64_t) (st) << 48 | (q))

typedef struct slogt_known {
	uint64_t key; // SLOGT_KEY; 0 = empty slot
	uint64_t id;
	bool     consumed;
	bool     seen; // delivered in the current check
} slogt_known;

typedef struct slogt_map {
	slogt_known *v;
	size_t       cap, count;
} slogt_map;

typedef struct slogt_model {
	slogt_map acked;
	slogt_map ids;   // payload ids delivered in the current check
	slogt_map where; // payload id + 1 -> the (stream, seq) it came with
	uint64_t  last_seq[SLOGT_STREAMS];
} slogt_model;

static inline slogt_known *
slogt_map_get(slogt_map *m, uint64_t key, bool add)
{
	size_t i;

	if (add && (m->count + 1) * 2 > m->cap) {
		slogt_known *old = m->v;
		size_t       cap = m->cap, j;
		m->cap           = cap ? cap * 2 : 4096;
		m->v             = calloc(m->cap, sizeof(*m->v));
		assert_non_null(m->v);
		m->count = 0;
		for (j = 0; j < cap; j++) {
			if (old[j].key != 0) {
				*slogt_map_get(m, old[j].key, true) = old[j];
			}
		}
		free(old);
	}
	if (m->cap == 0) {
		return NULL;
	}
	for (i = (size_t) (key * 0x9E3779B97F4A7C15u >> 20) & (m->cap - 1);
	     m->v[i].key != 0; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].key == key) {
			return &m->v[i];
		}
	}
	if (!add) {
		return NULL;
	}
	memset(&m->v[i], 0, sizeof(m->v[i]));
	m->v[i].key = key;
	m->count++;
	return &m->v[i];
}

static inline slogt_known *
slogt_model_get(slogt_model *m, uint64_t key, bool add)
{
	return slogt_map_get(&m->acked, key, add);
}

static inline void
slogt_model_fini(slogt_model *m)
{
	free(m->acked.v);
	free(m->ids.v);
	free(m->where.v);
	memset(m, 0, sizeof(*m));
}

// slogt_model_where checks that payload id was never delivered under
// another (stream, seq) than key: a reading stored twice would be.
static inline void
slogt_model_where(slogt_model *m, uint64_t id, uint64_t key, const char *ctx)
{
	slogt_known *w = slogt_map_get(&m->where, id + 1, false);

	if (w == NULL) {
		slogt_map_get(&m->where, id + 1, true)->id = key;
	} else if (w->id != key) {
		fail_msg("%s: payload %" PRIu64 " stored twice: stream %u seq "
		         "%" PRIu64 " and stream %u seq %" PRIu64,
		    ctx, id, (unsigned) (w->id >> 48), w->id & SLOG_U48_MAX,
		    (unsigned) (key >> 48), key & SLOG_U48_MAX);
	}
}

typedef struct slogt_check {
	slogt_model *m;
	const char  *ctx;
	size_t       n;
	uint64_t    *pos, *key; // what this window delivered
	size_t       nwin, cap;
} slogt_check;

static inline void
slogt_check_cb(void *arg, const slog_record *r)
{
	slogt_check *c = arg;
	slogt_model *m = c->m;
	uint64_t     id = 0;
	slogt_known *k;

	if (!slogt_payload_check(r, &id)) {
		fail_msg("%s: undetected corruption at %" PRIx64
		         " (stream %u seq %" PRIu64 ")",
		    c->ctx, r->pos, r->stream, r->seq);
	}
	if (r->stream >= SLOGT_STREAMS || r->seq <= m->last_seq[r->stream]) {
		fail_msg("%s: stream %u: seq %" PRIu64 " after %" PRIu64,
		    c->ctx, r->stream, r->seq,
		    r->stream < SLOGT_STREAMS ? m->last_seq[r->stream] : 0);
	}
	m->last_seq[r->stream] = r->seq;
	if (slogt_map_get(&m->ids, id + 1, false) != NULL) {
		fail_msg("%s: payload %" PRIu64 " delivered twice (stream %u "
		         "seq %" PRIu64 ")",
		    c->ctx, id, r->stream, r->seq);
	}
	slogt_map_get(&m->ids, id + 1, true);
	slogt_model_where(m, id, SLOGT_KEY(r->stream, r->seq), c->ctx);
	k = slogt_map_get(&m->acked, SLOGT_KEY(r->stream, r->seq), false);
	if (k != NULL) {
		if (k->id != id) {
			fail_msg("%s: stream %u seq %" PRIu64 " holds payload "
			         "%" PRIu64 ", acknowledged with %" PRIu64,
			    c->ctx, r->stream, r->seq, id, k->id);
		}
		k->seen = true;
	}
	if (c->nwin == c->cap) {
		size_t    cap = c->cap ? 2 * c->cap : 4096;
		uint64_t *p = realloc(c->pos, cap * sizeof(*p));
		uint64_t *q = p ? realloc(c->key, cap * sizeof(*q)) : NULL;
		if (p == NULL || q == NULL) {
			fail_msg("%s: out of memory", c->ctx);
		}
		c->pos = p;
		c->key = q;
		c->cap = cap;
	}
	c->pos[c->nwin]   = r->pos;
	c->key[c->nwin++] = SLOGT_KEY(r->stream, r->seq);
	c->n++;
}

// slogt_model_verify drains everything t's log delivers (then rewinds)
// and checks it against m: each payload intact and delivered once,
// per-stream order, acknowledged (stream, seq) with their payloads, and
// every acknowledged record the consumer did not acknowledge present.
// Returns how many records it checked.  ctx prefixes failures.  Beyond
// one window (65,536 records) it acknowledges what it checked and reads
// on: those are consumed from then on, as if a consumer took them.
static inline size_t
slogt_model_verify(slogt *t, slogt_model *m, const char *ctx)
{
	slogt_check c = { m, ctx, 0, NULL, NULL, 0, 0 };
	size_t      i, n;

	memset(m->last_seq, 0, sizeof(m->last_seq));
	for (i = 0; i < m->acked.cap; i++) {
		m->acked.v[i].seen = false;
	}
	free(m->ids.v);
	memset(&m->ids, 0, sizeof(m->ids));
	slog_set_window(t->s, 65536);
	do {
		n = slog_consume(t->s, 100000, SIZE_MAX, slogt_check_cb, &c);
		if (slog_inflight(t->s) >= 65536) {
			// More than one window to read (after a helper lived
			// long on a loaded machine): acknowledge what was
			// checked, which the model then counts consumed, and
			// read on.
			for (i = 0; i < c.nwin; i++) {
				slogt_known *k = slogt_map_get(
				    &m->acked, c.key[i], false);
				if (k != NULL) {
					k->consumed = true;
				}
				(void) slog_ack(t->s, c.pos[i]);
			}
			c.nwin = 0;
		}
	} while (n > 0);
	free(c.pos);
	free(c.key);
	if (strstr(t->log, "event=read_failed") != NULL) {
		fail_msg(
		    "%s: the check could not read the log:\n%s", ctx, t->log);
	}
	for (i = 0; i < m->acked.cap; i++) {
		slogt_known *k = &m->acked.v[i];
		if (k->key != 0 && !k->consumed && !k->seen) {
			fail_msg(
			    "%s: acknowledged record stream %u seq %" PRIu64
			    " (payload %" PRIu64 ") lost",
			    ctx, (unsigned) (k->key >> 48),
			    k->key & SLOG_U48_MAX, k->id);
		}
	}
	slog_rewind(t->s);
	slog_set_window(t->s, 1024);
	return c.n;
}

#endif // ARBOR_TEST_SLOGT_H
