// SPDX-License-Identifier: MIT
// tsan_race.c -- a data race on purpose, between an nng aio callback and
// the main thread, for tests/ci/tsan_supp.sh (ThreadSanitizer builds
// only).  The callback writes `shared` on nng's task thread and raises a
// relaxed flag, which orders nothing; main then reads `shared`.  The
// callback's stack has libnng frames below it, as every arbor aio
// callback's has: tests/tsan.supp must leave this race reported.
//
// Exits 0 once main has read the value (TSan turns that into its exit
// status, 66, when it reported), 2 when nng fails, 3 when the callback
// never ran within 10 s.

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

static int        shared; // the racing variable
static atomic_int done;   // relaxed only: no happens-before

static void
cb_write(void *arg)
{
	(void) arg;
	shared = 1;
	atomic_store_explicit(&done, 1, memory_order_relaxed);
}

int
main(void)
{
	nng_aio *aio;
	nng_time deadline;
	int      seen;

	if (nng_aio_alloc(&aio, cb_write, NULL) != 0) {
		fprintf(stderr, "tsan_race: nng_aio_alloc failed\n");
		return 2;
	}
	nng_sleep_aio(0, aio);
	deadline = nng_clock() + 10000;
	while (atomic_load_explicit(&done, memory_order_relaxed) == 0) {
		if (nng_clock() > deadline) {
			fprintf(stderr, "tsan_race: the callback never ran\n");
			nng_aio_free(aio);
			return 3;
		}
		sched_yield();
	}
	seen = shared; // races with cb_write's store
	nng_aio_free(aio);
	printf("tsan_race: read %d\n", seen);
	return 0;
}
