// SPDX-License-Identifier: MIT
// producers.c -- the table behind exactly-once appends: for the last
// SLOG_PRODUCER_BATCHES appends of each of the last SLOG_PRODUCERS_MAX
// producers that named themselves (slog_key), how many of the batch's
// readings are stored and which sequence numbers they got.
//
// A producer whose store died before answering resends the same batch
// under the same key: a batch stored whole is answered with its numbers
// and not stored again; a batch cut by a torn tail gets only its missing
// readings.  The table is rebuilt at open from the batch records in the
// log (recover.c), and entries whose append failed go back to what was
// durable.  Bounded: SLOG_PRODUCERS_MAX x SLOG_PRODUCER_BATCHES entries,
// each with at most one run per reading.  Thread: owner.

#include "slog_int.h"

#include <stdlib.h>
#include <string.h>

static slog_producer *
producer_get(slog *s, uint64_t key, bool add)
{
	slog_producer *lru = NULL;
	size_t         i, j;

	if (s->producers == NULL) {
		if (!add) {
			return NULL;
		}
		s->producers
		    = calloc(SLOG_PRODUCERS_MAX, sizeof(*s->producers));
		if (s->producers == NULL) {
			return NULL;
		}
	}
	for (i = 0; i < SLOG_PRODUCERS_MAX; i++) {
		slog_producer *p = &s->producers[i];
		if (p->key == key) {
			p->used_at = ++s->lru_clock;
			return p;
		}
		if (lru == NULL || p->key == 0
		    || (lru->key != 0 && p->used_at < lru->used_at)) {
			lru = p;
		}
	}
	if (!add) {
		return NULL;
	}
	// The least recently used producer makes room (its batches go).
	for (j = 0; j < SLOG_PRODUCER_BATCHES; j++) {
		free(lru->b[j].runs);
	}
	memset(lru, 0, sizeof(*lru));
	lru->key     = key;
	lru->used_at = ++s->lru_clock;
	return lru;
}

slog_pbatch *
slog__pb_find(slog *s, uint64_t producer, uint64_t id)
{
	slog_producer *p = producer_get(s, producer, false);
	size_t         j;

	if (p == NULL) {
		return NULL;
	}
	for (j = 0; j < SLOG_PRODUCER_BATCHES; j++) {
		if (p->b[j].used && p->b[j].id == id) {
			return &p->b[j];
		}
	}
	return NULL;
}

slog_pbatch *
slog__pb_add(slog *s, uint64_t producer, uint64_t id, uint32_t total)
{
	slog_producer *p = producer_get(s, producer, true);
	slog_pbatch   *b;

	if (p == NULL) {
		return NULL;
	}
	b = &p->b[p->next];
	p->next = (p->next + 1) % SLOG_PRODUCER_BATCHES;
	free(b->runs);
	memset(b, 0, sizeof(*b));
	b->used  = true;
	b->id    = id;
	b->total = total;
	return b;
}

int
slog__pb_reserve(slog_pbatch *b, uint32_t more)
{
	uint32_t  cap;
	slog_run *r;

	if (b->nruns + more <= b->capruns) {
		return ARB_OK;
	}
	cap = b->capruns ? b->capruns : 4;
	while (cap < b->nruns + more) {
		cap *= 2;
	}
	if ((r = realloc(b->runs, cap * sizeof(*r))) == NULL) {
		return ARB_ENOMEM;
	}
	b->runs    = r;
	b->capruns = cap;
	return ARB_OK;
}

void
slog__pb_reading(slog_pbatch *b, uint32_t stream, uint64_t seq)
{
	slog_run *last = b->nruns > 0 ? &b->runs[b->nruns - 1] : NULL;

	b->stored++;
	if (last != NULL && last->stream == stream
	    && last->first_seq + last->count == seq) {
		last->count++;
		return;
	}
	if (slog__pb_reserve(b, 1) == ARB_OK) {
		b->runs[b->nruns++] = (slog_run) { stream, 1, seq };
	}
}

void
slog__pb_settle(slog *s, slog_pbatch *b)
{
	if (b->ticket <= s->durable_ticket) {
		b->stored_ok = b->stored;
		b->nruns_ok  = b->nruns;
	}
}

void
slog__pb_failed(slog *s)
{
	size_t i, j;

	if (s->producers == NULL) {
		return;
	}
	for (i = 0; i < SLOG_PRODUCERS_MAX; i++) {
		for (j = 0; j < SLOG_PRODUCER_BATCHES; j++) {
			slog_pbatch *b = &s->producers[i].b[j];
			if (!b->used || b->ticket <= s->durable_ticket) {
				continue;
			}
			// Back to what is durable.
			b->stored = b->stored_ok;
			b->nruns  = b->nruns_ok;
			b->ticket = 0;
			if (b->stored == 0) {
				free(b->runs);
				memset(b, 0, sizeof(*b));
			}
		}
	}
}

void
slog__pb_fini(slog *s)
{
	size_t i, j;

	if (s->producers == NULL) {
		return;
	}
	for (i = 0; i < SLOG_PRODUCERS_MAX; i++) {
		for (j = 0; j < SLOG_PRODUCER_BATCHES; j++) {
			free(s->producers[i].b[j].runs);
		}
	}
	free(s->producers);
	s->producers = NULL;
}
