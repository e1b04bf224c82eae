// SPDX-License-Identifier: MIT
// buf.c -- growable byte buffer used by the codec and the outbound queues.
//
// Not thread-safe: a buffer belongs to one loop.

#include "arb_impl.h"

#include <string.h>

int
arb__buf_reserve(arb__buf *b, size_t extra)
{
	size_t   need = b->len + extra;
	size_t   cap;
	uint8_t *p;

	if (need < b->len) {
		return ARB_ENOMEM; // overflow
	}
	if (need <= b->cap) {
		return ARB_OK;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		cap *= 2;
	}
	if ((p = arb__realloc(b->data, cap)) == NULL) {
		return ARB_ENOMEM;
	}
	b->data = p;
	b->cap  = cap;
	return ARB_OK;
}

int
arb__buf_append(arb__buf *b, const void *p, size_t n)
{
	int rv;

	if ((rv = arb__buf_reserve(b, n)) != 0) {
		return rv;
	}
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	return ARB_OK;
}

void
arb__buf_reset(arb__buf *b)
{
	b->len = 0;
}

void
arb__buf_fini(arb__buf *b)
{
	arb__free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
