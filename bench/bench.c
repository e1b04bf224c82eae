// SPDX-License-Identifier: MIT
// bench.c -- what every case of arbor-bench shares (bench.h): the clock
// and the result line.  Thread: any.

#include "bench.h"

#include <stdio.h>
#include <time.h>

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Every case prints lines "R name value unit" to stdout; the parent pairs
// them with baselines.
void
result(const char *name, double value, const char *unit)
{
	printf("R %s %.3f %s\n", name, value, unit);
	fflush(stdout);
}
