// SPDX-License-Identifier: MIT
// penalty.c -- the sources a node's TCP listener backs off (issue 12,
// docs/multinode.md "Bad input from peers").
//
// A source is an IP address (an IPv4 address as its IPv6-mapped form; the
// port is not part of it: a stranger's every connection comes from a new
// one).  Each failure of a connection from it (garbage, a failed or
// missing proof, no HELLO in time, a bad frame after the handshake)
// doubles the time its next connections are closed at once, from
// ARB__PENALTY_FIRST_MS up to ARB__PENALTY_MAX_MS; a peer that proves
// itself from the address clears it; an entry with no failure for
// ARB__PENALTY_FORGET_MS starts again from the first step.  The table is
// bounded: when it is full, the entry whose last failure is oldest makes
// room (the caller counts it).  Not thread-safe: the listener's lock
// guards it.

#include "link.h"

#include <string.h>

static arb__penalty_src *
penalty_find(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR])
{
	size_t i;

	for (i = 0; i < p->cap; i++) {
		if (p->tab[i].fails > 0
		    && memcmp(p->tab[i].addr, addr, ARB__PENALTY_ADDR) == 0) {
			return &p->tab[i];
		}
	}
	return NULL;
}

int
arb__penalty_init(arb__penalty *p, size_t cap)
{
	memset(p, 0, sizeof(*p));
	if ((p->tab = arb__alloc(cap * sizeof(*p->tab))) == NULL) {
		return ARB_ENOMEM;
	}
	p->cap = cap;
	return ARB_OK;
}

void
arb__penalty_fini(arb__penalty *p)
{
	arb__free(p->tab);
	memset(p, 0, sizeof(*p));
}

int64_t
arb__penalty_left(
    arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR], int64_t now_ms)
{
	arb__penalty_src *s = p->tab != NULL ? penalty_find(p, addr) : NULL;

	return s != NULL && s->until_ms > now_ms ? s->until_ms - now_ms : 0;
}

int64_t
arb__penalty_fail(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR],
    int64_t now_ms, bool *evicted)
{
	arb__penalty_src *s, *old = NULL;
	int64_t           ms;
	size_t            i;

	*evicted = false;
	if (p->tab == NULL) {
		return 0;
	}
	if ((s = penalty_find(p, addr)) == NULL) {
		for (i = 0; i < p->cap && s == NULL; i++) {
			if (p->tab[i].fails == 0) {
				s = &p->tab[i];
			} else if (old == NULL
			    || p->tab[i].last_ms < old->last_ms) {
				old = &p->tab[i];
			}
		}
		if (s == NULL) {
			s = old;
			*evicted = true;
		}
		memset(s, 0, sizeof(*s));
		memcpy(s->addr, addr, ARB__PENALTY_ADDR);
	} else if (now_ms - s->last_ms > ARB__PENALTY_FORGET_MS) {
		s->fails = 0;
	}
	if (s->fails < 30) {
		s->fails++;
	}
	ms = ARB__PENALTY_FIRST_MS;
	for (i = 1; i < s->fails && ms < ARB__PENALTY_MAX_MS; i++) {
		ms *= 2;
	}
	if (ms > ARB__PENALTY_MAX_MS) {
		ms = ARB__PENALTY_MAX_MS;
	}
	s->last_ms = now_ms;
	s->until_ms = now_ms + ms;
	return ms;
}

void
arb__penalty_clear(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR])
{
	arb__penalty_src *s = p->tab != NULL ? penalty_find(p, addr) : NULL;

	if (s != NULL) {
		memset(s, 0, sizeof(*s));
	}
}

size_t
arb__penalty_count(arb__penalty *p, int64_t now_ms)
{
	size_t i, n = 0;

	for (i = 0; i < p->cap; i++) {
		n += p->tab[i].fails > 0 && p->tab[i].until_ms > now_ms;
	}
	return n;
}
