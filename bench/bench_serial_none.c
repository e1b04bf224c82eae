// SPDX-License-Identifier: MIT
// bench_serial_none.c -- bench_serial.h when actors/ is not built
// (-DARB_BUILD_ACTORS=OFF): there are no serial cases.

#include "bench_serial.h"

void
bench_serial_register(void)
{
}

int
bench_serial_case(const char *name)
{
	(void) name;
	return -1;
}
