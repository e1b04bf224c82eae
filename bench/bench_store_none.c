// SPDX-License-Identifier: MIT
// bench_store_none.c -- bench_store.h when actors/ is not built
// (-DARB_BUILD_ACTORS=OFF): there are no store cases.

#include "bench_store.h"

void
bench_store_register(void)
{
}

int
bench_store_case(const char *name)
{
	(void) name;
	return -1;
}
