// SPDX-License-Identifier: MIT
// alloc.c -- the one path to the heap, with a fault-injection hook.
//
// Every allocation of libarbor goes through arb__alloc so that tests can
// make the n-th allocation fail (sqlite's *fault* tests).  Thread: any.

#include "arb_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long alloc_countdown; // 0 = off

static bool
alloc_should_fail(void)
{
	long n = atomic_load(&alloc_countdown);
	while (n > 0) {
		if (atomic_compare_exchange_weak(&alloc_countdown, &n, n - 1)) {
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
