// SPDX-License-Identifier: MIT
// alloc_test.c -- unit tests for alloc.c's heap trim: free pages below a
// block in use go back to the system, at most once a period per process.
// Single-threaded.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// What a sanitizer's allocator holds, glibc's trim does not see.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)                      \
    && !defined(__SANITIZE_THREAD__)
#define TRIM_MEASURABLE 1
#endif

#ifdef TRIM_MEASURABLE
// heap_rss_kb: the resident KiB of the main arena ([heap]).
static long
heap_rss_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char  line[512];
	bool  heap = false;
	long  kb = 0, v;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] < 'A' || line[0] > 'Z') { // a mapping's first line
			heap = strstr(line, "[heap]") != NULL;
		} else if (heap && sscanf(line, "Rss: %ld", &v) == 1) {
			kb += v;
		}
	}
	fclose(f);
	return kb;
}
#endif

// 2 MiB freed below a block still in use: glibc keeps those pages (it
// trims only the top); arb__heap_trim gives them back.
static void
test_trim_returns_free_pages_below_a_block_in_use(void **state)
{
	(void) state;
#ifdef TRIM_MEASURABLE
	static void *blk[512];
	void        *pin;
	long         freed, trimmed;
	size_t       i;

	for (i = 0; i < ARB_ARRAY_SIZE(blk); i++) {
		blk[i] = malloc(4000);
		assert_non_null(blk[i]);
		memset(blk[i], 0x5a, 4000); // resident
	}
	pin = malloc(64); // above them: the top cannot shrink past it
	assert_non_null(pin);
	for (i = 0; i < ARB_ARRAY_SIZE(blk); i++) {
		free(blk[i]);
	}
	freed = heap_rss_kb();
	assert_true(arb__heap_trim(arb__now_ms() + 10 * ARB__HEAP_TRIM_MS));
	trimmed = heap_rss_kb();
	free(pin);
	if (freed - trimmed < 1024) {
		fail_msg("heap RSS %ld KiB after freeing 2 MiB, %ld after the "
		         "trim: less than 1 MiB given back",
		    freed, trimmed);
	}
#endif
}

// Whichever actor comes first after the period trims, once.
static void
test_trim_once_a_period(void **state)
{
	int64_t t = arb__now_ms() + 100 * ARB__HEAP_TRIM_MS;

	(void) state;
#ifdef TRIM_MEASURABLE
	assert_true(arb__heap_trim(t));
	assert_false(arb__heap_trim(t + 1));
	assert_false(arb__heap_trim(t + ARB__HEAP_TRIM_MS - 1));
	assert_true(arb__heap_trim(t + ARB__HEAP_TRIM_MS));
#else
	assert_false(arb__heap_trim(t)); // not glibc's allocator: no trim
#endif
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_trim_returns_free_pages_below_a_block_in_use),
		cmocka_unit_test(test_trim_once_a_period),
	};

	return ARB_TEST_RUN("core.alloc", tests, argc, argv);
}
