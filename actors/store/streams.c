// SPDX-License-Identifier: MIT
// streams.c -- the stream table: for each stream, a sequence number
// (the last one used, or the highest acknowledged).
//
// Open addressing on (stream + 1), so that stream 0 is a valid id.
// Thread: owner.

#include "slog_int.h"

#include <stdlib.h>
#include <string.h>

static size_t
stream_slot(uint32_t k, size_t cap)
{
	uint64_t h = (uint64_t) k * 0x9E3779B97F4A7C15u;

	return (size_t) (h >> 32) & (cap - 1);
}

static int
streams_grow(slog_streams *t)
{
	size_t    cap  = t->cap ? t->cap * 2 : 64;
	uint32_t *keys = calloc(cap, sizeof(*keys));
	uint64_t *seqs = calloc(cap, sizeof(*seqs));
	uint8_t  *used = calloc(cap, 1);
	size_t    i;

	if (keys == NULL || seqs == NULL || used == NULL) {
		free(keys);
		free(seqs);
		free(used);
		return ARB_ENOMEM;
	}
	for (i = 0; i < t->cap; i++) {
		size_t j;
		if (!t->used[i]) {
			continue;
		}
		for (j = stream_slot(t->keys[i], cap); used[j];
		     j = (j + 1) & (cap - 1)) {
		}
		used[j] = 1;
		keys[j] = t->keys[i];
		seqs[j] = t->seqs[i];
	}
	free(t->keys);
	free(t->seqs);
	free(t->used);
	t->keys = keys;
	t->seqs = seqs;
	t->used = used;
	t->cap  = cap;
	return ARB_OK;
}

uint64_t *
slog__streams_get(slog_streams *t, uint32_t stream, bool add)
{
	size_t i;

	if (t->cap > 0) {
		for (i = stream_slot(stream, t->cap); t->used[i];
		     i = (i + 1) & (t->cap - 1)) {
			if (t->keys[i] == stream) {
				return &t->seqs[i];
			}
		}
	}
	if (!add) {
		return NULL;
	}
	if ((t->count + 1) * 2 > t->cap && streams_grow(t) != ARB_OK) {
		return NULL;
	}
	for (i = stream_slot(stream, t->cap); t->used[i];
	     i = (i + 1) & (t->cap - 1)) {
	}
	t->used[i] = 1;
	t->keys[i] = stream;
	t->seqs[i] = 0;
	t->count++;
	return &t->seqs[i];
}

void
slog__streams_max(slog_streams *t, uint32_t stream, uint64_t seq)
{
	uint64_t *p = slog__streams_get(t, stream, true);

	if (p != NULL && *p < seq) {
		*p = seq;
	}
}

void
slog__streams_fini(slog_streams *t)
{
	free(t->keys);
	free(t->seqs);
	free(t->used);
	memset(t, 0, sizeof(*t));
}
