// SPDX-License-Identifier: MIT
// penalty.c -- the sources a node's TCP listener backs off (issue 12,
// docs/multinode.md "Bad input from peers").
//
// A source is an IP address (an IPv4 address as its IPv6-mapped form; the
// port is not part of it: a stranger's every connection comes from a new
// one), and, for a failure after a HELLO that named a node, that claimed
// name too: a peer with a wrong cookie on a machine (or behind a NAT)
// that other peers share backs off itself, not them.  Each failure of a
// connection from a source (garbage, a failed or missing proof, no HELLO
// in time, a bad frame after the handshake) doubles the time its next
// connections are closed at once, from ARB__PENALTY_FIRST_MS up to
// ARB__PENALTY_MAX_MS: an address's own entry (failures before a HELLO)
// closes them when accepted, before a byte is read; an (address, name)
// entry closes them once their HELLO names that node, before anything is
// sent.  An address whose connections fail under ARB__PENALTY_NAMES
// names at once is backed off as a whole (a stranger trying names).  A
// peer that proves itself from the address clears its name's entry and
// the address's own; an entry with no failure for ARB__PENALTY_FORGET_MS
// starts again from the first step.  The table is bounded: when it is
// full, the entry whose last failure is oldest makes room (the caller
// counts it).  Not thread-safe: the listener's lock guards it.

#include "link.h"

#include <stdio.h>
#include <string.h>

// penalty_key: name NULL or "" is the address's own entry.
static const char *
penalty_key(const char *name)
{
	return name != NULL ? name : "";
}

static arb__penalty_src *
penalty_find(
    arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR], const char *name)
{
	size_t i;

	for (i = 0; i < p->cap; i++) {
		if (p->tab[i].fails > 0
		    && memcmp(p->tab[i].addr, addr, ARB__PENALTY_ADDR) == 0
		    && strcmp(p->tab[i].name, name) == 0) {
			return &p->tab[i];
		}
	}
	return NULL;
}

// penalty_names counts addr's entries of other names than name that are
// backed off at now_ms.
static size_t
penalty_names(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR],
    const char *name, int64_t now_ms)
{
	size_t i, n = 0;

	for (i = 0; i < p->cap; i++) {
		n += p->tab[i].fails > 0 && p->tab[i].name[0] != '\0'
		    && p->tab[i].until_ms > now_ms
		    && memcmp(p->tab[i].addr, addr, ARB__PENALTY_ADDR) == 0
		    && strcmp(p->tab[i].name, name) != 0;
	}
	return n;
}

static int64_t
penalty_src_left(const arb__penalty_src *s, int64_t now_ms)
{
	return s != NULL && s->until_ms > now_ms ? s->until_ms - now_ms : 0;
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
arb__penalty_left(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR],
    const char *name, int64_t now_ms)
{
	int64_t own, named;

	if (p->tab == NULL) {
		return 0;
	}
	own = penalty_src_left(penalty_find(p, addr, ""), now_ms);
	named = name != NULL && name[0] != '\0'
	    ? penalty_src_left(penalty_find(p, addr, name), now_ms)
	    : 0;
	return own > named ? own : named;
}

int64_t
arb__penalty_fail(arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR],
    const char *name, int64_t now_ms, bool *evicted)
{
	arb__penalty_src *s, *old = NULL;
	int64_t           ms;
	size_t            i;

	*evicted = false;
	if (p->tab == NULL) {
		return 0;
	}
	name = penalty_key(name);
	if (name[0] != '\0'
	    && penalty_names(p, addr, name, now_ms) + 1
	        >= ARB__PENALTY_NAMES) {
		name = ""; // names tried in turn: the whole address
	}
	if ((s = penalty_find(p, addr, name)) == NULL) {
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
		snprintf(s->name, sizeof(s->name), "%s", name);
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
arb__penalty_clear(
    arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR], const char *name)
{
	arb__penalty_src *s;

	if (p->tab == NULL) {
		return;
	}
	if ((s = penalty_find(p, addr, "")) != NULL) {
		memset(s, 0, sizeof(*s));
	}
	if (name != NULL && name[0] != '\0'
	    && (s = penalty_find(p, addr, name)) != NULL) {
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
