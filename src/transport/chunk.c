// SPDX-License-Identifier: MIT
// chunk.c -- chunks (the unit of hand-over of batches) and origins (the
// sender's share of the loss counters), link.h.  Thread: any.

#include "link.h"

#include <string.h>

// ---------------------------------------------------------------------------
// Chunks and origins
// ---------------------------------------------------------------------------
// A chunk is allocated on one thread and freed on another: filled on an
// actor's loop and freed by the nng thread that wrote it, or received on
// an nng thread and freed by the loop that took it.  glibc keeps up to 7
// freed blocks of every size class up to 1,032 bytes in the freeing
// thread's cache (tcache), for that thread's next allocation of the same
// size -- which never comes: that thread allocates no chunks.  With batch
// sizes spread over every class, each such thread slowly filled its cache
// with 7 blocks of every class it freed (up to ~240 KB a thread), and
// the heap of every process grew for many minutes (docs/performance.md,
// "Through an upstream outage").  No chunk is that small: a block over
// the cache's largest class goes back to the arena, where the next chunk
// of any thread reuses it.
#define CHUNK_BLOCK_MIN 1088u // bytes, header included: over tcache's 1,032

arb__chunk *
arb__chunk_alloc(size_t cap)
{
	arb__chunk *ch;

	if (sizeof(*ch) + cap < CHUNK_BLOCK_MIN) {
		cap = CHUNK_BLOCK_MIN - sizeof(*ch);
	}
	ch = arb__alloc(sizeof(*ch) + cap);

	if (ch != NULL) {
		ch->cap = cap;
	}
	return ch;
}

int
arb__chunk_grow(arb__chunk **chp, size_t extra)
{
	arb__chunk *ch = *chp;
	size_t      cap;

	if (ch->len + extra <= ch->cap) {
		return ARB_OK;
	}
	cap = ch->cap * 2;
	if (cap < ch->len + extra) {
		cap = ch->len + extra;
	}
	if ((ch = arb__realloc(ch, sizeof(*ch) + cap)) == NULL) {
		return ARB_ENOMEM;
	}
	ch->cap = cap;
	*chp = ch;
	return ARB_OK;
}

void
arb__chunk_free(arb__chunk *ch)
{
	if (ch != NULL) {
		arb__origin_rele(ch->origin);
		arb__free(ch);
	}
}

void
arb__chunk_drop(arb__chunk *ch, arb__tp_stats *st)
{
	if (ch == NULL) {
		return;
	}
	// Counted once: in the sending actor's share when it has one, else
	// in the process's own count (batches that came from elsewhere).
	if (ch->origin != NULL) {
		atomic_fetch_add(&ch->origin->dead, ch->nenv);
		arb__origin_settle(ch->origin, ch->nenv);
	} else if (st != NULL) {
		atomic_fetch_add(&st->dead, ch->nenv);
	}
	arb__chunk_free(ch);
}

arb__origin *
arb__origin_new(void)
{
	arb__origin *o = arb__alloc(sizeof(*o));

	if (o != NULL) {
		atomic_init(&o->refs, 1);
	}
	return o;
}

void
arb__origin_ref(arb__origin *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void
arb__origin_rele(arb__origin *o)
{
	if (o != NULL
	    && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel)
	        == 1) {
		arb__free(o);
	}
}

void
arb__origin_settle(arb__origin *o, uint32_t n)
{
	if (o != NULL) {
		atomic_fetch_sub_explicit(&o->pending, (int64_t) n,
		    memory_order_relaxed);
	}
}
