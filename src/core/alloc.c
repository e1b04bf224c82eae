// SPDX-License-Identifier: MIT
// alloc.c -- the one path to the heap, with a fault-injection hook, and
// the heap's trim (the one place that knows the allocator is glibc's).
//
// Every allocation of libarbor goes through arb__alloc so that tests can
// make the n-th allocation fail (sqlite's *fault* tests).  Thread: any.

#include "arb_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
// The trim is glibc's: a sanitizer brings its own allocator, which
// malloc_trim does not serve.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)                      \
    && !defined(__SANITIZE_THREAD__)
#define HEAP_TRIM 1
#include <malloc.h>

static _Atomic int64_t trim_next_ms; // the process's next trim, 0: now
#endif

static atomic_long alloc_countdown; // 0 = off

static bool
alloc_should_fail(void)
{
	long n = atomic_load(&alloc_countdown);
	while (n > 0) {
		if (atomic_compare_exchange_weak(
		        &alloc_countdown, &n, n - 1)) {
			return n == 1;
		}
	}
	return false;
}

void
arb__alloc_fail_after(long n)
{
	atomic_store(&alloc_countdown, n);
}

void *
arb__alloc(size_t n)
{
	if (alloc_should_fail()) {
		return NULL;
	}
	return calloc(1, n == 0 ? 1 : n);
}

void *
arb__realloc(void *p, size_t n)
{
	if (alloc_should_fail()) {
		return NULL;
	}
	return realloc(p, n == 0 ? 1 : n);
}

void
arb__free(void *p)
{
	free(p);
}

char *
arb__strdup(const char *s)
{
	size_t n;
	char  *d;

	if (s == NULL) {
		return NULL;
	}
	n = strlen(s) + 1;
	if ((d = arb__alloc(n)) != NULL) {
		memcpy(d, s, n);
	}
	return d;
}

// glibc gives memory back only from the top of an arena, and only when
// more than M_TRIM_THRESHOLD (128 KiB) is free there; pages of free
// blocks below a block in use stay resident.  An actor process's heap
// holds a few hundred KiB, in use or free, whose free blocks the next
// batches touch one after another: without a trim its RSS crept up to
// the arena's whole size over many minutes, in every process
// (docs/performance.md, "Through an upstream outage").  malloc_trim(0)
// returns every free whole page (madvise), in every arena: tens of
// microseconds for such a heap, twice a minute.
bool
arb__heap_trim(int64_t now_ms)
{
#ifdef HEAP_TRIM
	int64_t next = atomic_load(&trim_next_ms);

	if (now_ms < next
	    || !atomic_compare_exchange_strong(
	        &trim_next_ms, &next, now_ms + ARB__HEAP_TRIM_MS)) {
		return false; // not yet, or another thread trims now
	}
	malloc_trim(0);
	return true;
#else
	ARB_UNUSED(now_ms);
	return false;
#endif
}
