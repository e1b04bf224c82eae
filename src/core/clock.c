// SPDX-License-Identifier: MIT
// clock.c -- a cheap thread-safe random source, seeded from the clock
// (the clocks themselves are arb_clock.h's, header only).
//
// Thread: any.

#include "arb_impl.h"

#include <stdatomic.h>
#include <unistd.h>

// splitmix64 over an atomic counter seeded from the clock and pid: good
// enough for jitter, not for secrets.
uint64_t
arb__random(void)
{
	static atomic_uint_fast64_t state;
	uint64_t                    z;

	if (atomic_load(&state) == 0) {
		uint64_t seed = (uint64_t) arb__now_us() ^
		    ((uint64_t) getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
		uint_fast64_t zero = 0;
		atomic_compare_exchange_strong(&state, &zero, seed);
	}
	z = atomic_fetch_add(&state, 0x9E3779B97F4A7C15ull) +
	    0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
