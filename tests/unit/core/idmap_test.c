// SPDX-License-Identifier: MIT
// idmap_test.c -- unit tests for idmap.c: the uint64 -> pointer hash map
// with linear probing and backward-shift deletion.
//
// set/get/del/each on small maps, growth from empty to thousands of keys,
// the OOM path through arb__alloc, and long seeded pseudo-random sequences
// of operations checked after every step against a plain reference array.
// One sequence keeps the table tiny and nearly full so that probe chains
// wrap around the end of the table, where backward-shift deletion is
// easiest to get wrong.  Single-threaded.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <stdlib.h>
#include <string.h>

#define NOPS 100000

// splitmix64: a small, seeded, deterministic generator.
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

// val_of makes a distinct, recognisable, non-NULL pointer value for key
// k (1 <= k < 2^31) and a version v (the map never dereferences values).
static void *
val_of(uint64_t k, uint64_t v)
{
	return (void *) (uintptr_t) ((k << 32) | (v & 0xffffffffu));
}

typedef struct each_ck {
	void *const *ref; // expected value per key (NULL = absent)
	size_t       nkeys;
	size_t       seen;
	bool         bad;
} each_ck;

static void
each_check(uint64_t key, void *val, void *arg)
{
	each_ck *ck = arg;

	ck->seen++;
	if (key == 0 || key > ck->nkeys || ck->ref[key] != val) {
		ck->bad = true;
	}
}

// check_all compares every key of the reference with the map, including
// absent keys, and walks the map with arb__idmap_each.
static void
check_all(const arb__idmap *m, void *const *ref, size_t nkeys, size_t count)
{
	each_ck ck = { .ref = ref, .nkeys = nkeys };
	size_t  k;

	assert_int_equal(m->count, count);
	for (k = 1; k <= nkeys; k++) {
		assert_ptr_equal(arb__idmap_get(m, k), ref[k]);
	}
	arb__idmap_each(m, each_check, &ck);
	assert_false(ck.bad);
	assert_int_equal(ck.seen, count);
	// Load factor stays at or under 3/4, capacity a power of two.
	if (m->cap > 0) {
		assert_int_equal(m->cap & (m->cap - 1), 0);
		assert_true(m->count * 4 <= m->cap * 3);
	}
}

// run_random applies nops pseudo-random set/get/del operations on keys
// 1..nkeys (plus keys absent from the map, and key 0 for get/del) and
// checks each step against a reference array; every `full` steps it
// checks the whole map.
static void
run_random(uint64_t seed, size_t nkeys, size_t nops, size_t full)
{
	arb__idmap m   = { 0 };
	void     **ref = calloc(nkeys + 1, sizeof(void *));
	uint64_t   s   = seed;
	size_t     count = 0, i, sets = 0, dels = 0, hits = 0;

	assert_non_null(ref);
	for (i = 0; i < nops; i++) {
		uint64_t r  = rng_next(&s);
		uint64_t k  = 1 + (r >> 8) % nkeys;
		unsigned op = (unsigned) (r & 0xff);

		if (op < 110) { // set (insert or overwrite)
			void *v = val_of(k, i);
			ARB_PASS(arb__idmap_set(&m, k, v));
			if (ref[k] == NULL) {
				count++;
			}
			ref[k] = v;
			sets++;
		} else if (op < 200) { // del
			void *old = arb__idmap_del(&m, k);
			assert_ptr_equal(old, ref[k]);
			if (ref[k] != NULL) {
				count--;
				dels++;
			}
			ref[k] = NULL;
		} else if (op < 250) { // get
			assert_ptr_equal(arb__idmap_get(&m, k), ref[k]);
			hits += ref[k] != NULL;
		} else { // keys never stored, and the reserved key 0
			uint64_t absent = nkeys + 1 + (r >> 16);
			assert_null(arb__idmap_get(&m, absent));
			assert_null(arb__idmap_del(&m, absent));
			assert_null(arb__idmap_get(&m, 0));
			assert_null(arb__idmap_del(&m, 0));
		}
		assert_int_equal(m.count, count);
		if (full != 0 && i % full == 0) {
			check_all(&m, ref, nkeys, count);
		}
	}
	check_all(&m, ref, nkeys, count);
	// The sequence really exercised both paths.
	assert_true(sets > nops / 4);
	assert_true(dels > nops / 8);
	assert_true(hits > 0);
	// Empty it through del: every key comes back exactly once.
	for (i = 1; i <= nkeys; i++) {
		assert_ptr_equal(arb__idmap_del(&m, i), ref[i]);
		assert_null(arb__idmap_get(&m, i));
		ref[i] = NULL;
	}
	assert_int_equal(m.count, 0);
	check_all(&m, ref, nkeys, 0);
	arb__idmap_fini(&m);
	free(ref);
}

static void
test_empty_map(void **state)
{
	arb__idmap m  = { 0 };
	each_ck    ck = { 0 };

	ARB_UNUSED(state);
	assert_null(arb__idmap_get(&m, 1));
	assert_null(arb__idmap_del(&m, 1));
	assert_null(arb__idmap_get(&m, 0));
	assert_null(arb__idmap_del(&m, 0));
	arb__idmap_each(&m, each_check, &ck); // never called
	assert_int_equal(ck.seen, 0);
	arb__idmap_fini(&m);
	arb__idmap_fini(&m); // safe twice, and on zeroed memory
	assert_int_equal(m.cap, 0);
}

static void
test_set_get_del(void **state)
{
	arb__idmap m = { 0 };
	int        a, b, c;

	ARB_UNUSED(state);
	ARB_PASS(arb__idmap_set(&m, 7, &a));
	ARB_PASS(arb__idmap_set(&m, 8, &b));
	ARB_PASS(arb__idmap_set(&m, UINT64_MAX, &c));
	assert_int_equal(m.count, 3);
	assert_ptr_equal(arb__idmap_get(&m, 7), &a);
	assert_ptr_equal(arb__idmap_get(&m, 8), &b);
	assert_ptr_equal(arb__idmap_get(&m, UINT64_MAX), &c);
	assert_null(arb__idmap_get(&m, 9));

	// Overwrite keeps the count.
	ARB_PASS(arb__idmap_set(&m, 7, &c));
	assert_int_equal(m.count, 3);
	assert_ptr_equal(arb__idmap_get(&m, 7), &c);

	// del returns the old value once; a second del finds nothing.
	assert_ptr_equal(arb__idmap_del(&m, 7), &c);
	assert_null(arb__idmap_del(&m, 7));
	assert_null(arb__idmap_get(&m, 7));
	assert_int_equal(m.count, 2);
	assert_ptr_equal(arb__idmap_get(&m, 8), &b);

	// A NULL value is stored, but reads like an absent key.
	ARB_PASS(arb__idmap_set(&m, 42, NULL));
	assert_int_equal(m.count, 3);
	assert_null(arb__idmap_get(&m, 42));
	assert_null(arb__idmap_del(&m, 42));
	assert_int_equal(m.count, 2);

	arb__idmap_fini(&m);
	assert_int_equal(m.count, 0);
	assert_null(m.keys);
	assert_null(m.vals);
}

static void
test_grow_keeps_every_entry(void **state)
{
	enum { N = 20000 };
	arb__idmap m = { 0 };
	size_t     i, caps = 0, last_cap = 0;

	ARB_UNUSED(state);
	for (i = 1; i <= N; i++) {
		// Spread-out and clustered keys alike.
		uint64_t k = (i % 2) ? i : i * 0x100000001ull;
		ARB_PASS(arb__idmap_set(&m, k, val_of(k, 0)));
		if (m.cap != last_cap) {
			caps++;
			last_cap = m.cap;
			assert_int_equal(m.cap & (m.cap - 1), 0);
		}
		assert_true(m.count * 4 <= m.cap * 3);
	}
	assert_int_equal(m.count, N);
	assert_true(caps > 8); // grew many times from 16
	for (i = 1; i <= N; i++) {
		uint64_t k = (i % 2) ? i : i * 0x100000001ull;
		assert_ptr_equal(arb__idmap_get(&m, k), val_of(k, 0));
	}
	// Delete every other key, the rest stays reachable.
	for (i = 1; i <= N; i += 2) {
		assert_ptr_equal(arb__idmap_del(&m, i), val_of(i, 0));
	}
	assert_int_equal(m.count, N / 2);
	for (i = 1; i <= N; i++) {
		uint64_t k = (i % 2) ? i : i * 0x100000001ull;
		if (i % 2) {
			assert_null(arb__idmap_get(&m, k));
		} else {
			assert_ptr_equal(arb__idmap_get(&m, k), val_of(k, 0));
		}
	}
	arb__idmap_fini(&m);
}

static void
test_grow_oom_leaves_map_unchanged(void **state)
{
	arb__idmap m = { 0 };
	size_t     i, cap;

	ARB_UNUSED(state);
	// The first set allocates: make it fail (keys, then vals).
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__idmap_set(&m, 1, &m), ARB_ENOMEM);
	arb__alloc_fail_after(2);
	ARB_FAIL(arb__idmap_set(&m, 1, &m), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(m.count, 0);
	assert_int_equal(m.cap, 0);
	assert_null(arb__idmap_get(&m, 1));

	// Fill up to the growth threshold (12 of 16 slots, load 3/4),
	// then fail the growth.
	for (i = 1; i <= 12; i++) {
		ARB_PASS(arb__idmap_set(&m, i, val_of(i, 0)));
	}
	cap = m.cap;
	assert_int_equal(cap, 16);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__idmap_set(&m, 1000, &m), ARB_ENOMEM);
	arb__alloc_fail_after(2);
	ARB_FAIL(arb__idmap_set(&m, 1000, &m), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_int_equal(m.cap, cap);
	assert_int_equal(m.count, 12);
	assert_null(arb__idmap_get(&m, 1000));
	for (i = 1; i <= m.count; i++) {
		assert_ptr_equal(arb__idmap_get(&m, i), val_of(i, 0));
	}
	// Memory is back: it grows.
	ARB_PASS(arb__idmap_set(&m, 1000, &m));
	assert_int_equal(m.cap, 32);
	assert_ptr_equal(arb__idmap_get(&m, 1000), &m);
	arb__idmap_fini(&m);
}

static void
test_delete_in_wrapping_clusters(void **state)
{
	// 11 keys never grow the table past 16 slots (growth happens at
	// the 12th), so it runs nearly full: long clusters that wrap
	// around the end, and every deletion shifts entries backwards.
	ARB_UNUSED(state);
	run_random(1, 11, NOPS, 1);
}

static void
test_random_ops_medium(void **state)
{
	// About a thousand live keys: many growths, mixed chain lengths.
	ARB_UNUSED(state);
	run_random(0x5eed, 2000, NOPS, 997);
}

static void
test_random_ops_small_key_space(void **state)
{
	// Tables of 16..64 slots that grow and empty over and over.
	ARB_UNUSED(state);
	run_random(0xfeedbeef, 40, NOPS, 1);
}

static void
test_random_ops_large_keys(void **state)
{
	// 512 random keys over the whole uint64 range (one with the top bit
	// set), against a reference indexed by key number.
	arb__idmap m    = { 0 };
	uint64_t  *keys = calloc(512, sizeof(uint64_t));
	void     **ref  = calloc(512, sizeof(void *));
	uint64_t   s    = 99;
	size_t     i, count = 0;

	ARB_UNUSED(state);
	assert_non_null(keys);
	assert_non_null(ref);
	for (i = 0; i < 512; i++) {
		do {
			keys[i] = rng_next(&s) | (i == 0 ? (1ull << 63) : 0);
		} while (keys[i] == 0);
	}
	for (i = 0; i < NOPS; i++) {
		uint64_t r = rng_next(&s);
		size_t   j = (size_t) ((r >> 8) % 512);

		if ((r & 3) != 0) {
			void *v = val_of(j + 1, i);
			ARB_PASS(arb__idmap_set(&m, keys[j], v));
			count += ref[j] == NULL;
			ref[j] = v;
		} else {
			assert_ptr_equal(arb__idmap_del(&m, keys[j]), ref[j]);
			count -= ref[j] != NULL;
			ref[j] = NULL;
		}
		assert_int_equal(m.count, count);
		if (i % 1000 == 0) {
			size_t k;
			for (k = 0; k < 512; k++) {
				assert_ptr_equal(
				    arb__idmap_get(&m, keys[k]), ref[k]);
			}
		}
	}
	for (i = 0; i < 512; i++) {
		assert_ptr_equal(arb__idmap_get(&m, keys[i]), ref[i]);
	}
	arb__idmap_fini(&m);
	free(keys);
	free(ref);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_set_get_del),
		cmocka_unit_test(test_grow_keeps_every_entry),
		cmocka_unit_test(test_grow_oom_leaves_map_unchanged),
		cmocka_unit_test(test_delete_in_wrapping_clusters),
		cmocka_unit_test(test_random_ops_medium),
		cmocka_unit_test(test_random_ops_small_key_space),
		cmocka_unit_test(test_random_ops_large_keys),
	};

	return ARB_TEST_RUN("core.idmap", tests, argc, argv);
}
