// SPDX-License-Identifier: MIT
// idmap.c -- uint64 -> pointer hash map with linear probing.
//
// Used for pending calls (ref -> call), outbound peers (mailbox -> peer)
// and children by OS pid.  Key 0 is reserved (empty slot).  Deletion uses
// backward-shift, so there are no tombstones.  Not thread-safe: a map
// belongs to one loop.

#include "arb_impl.h"

static size_t
idmap_slot(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t) key & (cap - 1);
}

void
arb__idmap_fini(arb__idmap *m)
{
	arb__free(m->keys);
	arb__free(m->vals);
	m->keys  = NULL;
	m->vals  = NULL;
	m->cap   = 0;
	m->count = 0;
}

void *
arb__idmap_get(const arb__idmap *m, uint64_t key)
{
	size_t i;

	if (m->cap == 0 || key == 0) {
		return NULL;
	}
	for (i = idmap_slot(key, m->cap); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			return m->vals[i];
		}
	}
	return NULL;
}

static int
idmap_grow(arb__idmap *m)
{
	arb__idmap n = { 0 };
	size_t     i;

	n.cap  = m->cap ? m->cap * 2 : 16;
	n.keys = arb__alloc(n.cap * sizeof(uint64_t));
	n.vals = arb__alloc(n.cap * sizeof(void *));
	if (n.keys == NULL || n.vals == NULL) {
		arb__idmap_fini(&n);
		return ARB_ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] != 0) {
			size_t j = idmap_slot(m->keys[i], n.cap);
			while (n.keys[j] != 0) {
				j = (j + 1) & (n.cap - 1);
			}
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
			n.count++;
		}
	}
	arb__idmap_fini(m);
	*m = n;
	return ARB_OK;
}

int
arb__idmap_set(arb__idmap *m, uint64_t key, void *val)
{
	size_t i;

	assert(key != 0);
	if ((m->count + 1) * 4 > m->cap * 3) {
		if (idmap_grow(m) != 0) {
			return ARB_ENOMEM;
		}
	}
	for (i = idmap_slot(key, m->cap); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return ARB_OK;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->count++;
	return ARB_OK;
}

void *
arb__idmap_del(arb__idmap *m, uint64_t key)
{
	size_t i, j, k;
	void  *old;

	if (m->cap == 0 || key == 0) {
		return NULL;
	}
	for (i = idmap_slot(key, m->cap); m->keys[i] != key;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0) {
			return NULL;
		}
	}
	old = m->vals[i];
	// Backward-shift deletion keeps probe chains intact.
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0;
	     j = (j + 1) & (m->cap - 1)) {
		k = idmap_slot(m->keys[j], m->cap);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i          = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->count--;
	return old;
}

void
arb__idmap_each(const arb__idmap *m,
    void (*fn)(uint64_t key, void *val, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] != 0) {
			fn(m->keys[i], m->vals[i], arg);
		}
	}
}
