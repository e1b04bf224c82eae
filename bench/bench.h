// SPDX-License-Identifier: MIT
// bench.h -- what every case of arbor-bench shares (bench.c): the clock
// and the result line.  The cases' files (arbor_bench.c, bench_node.c,
// bench_mqtt.c, ...) call it; it calls none of them.

#ifndef ARBOR_BENCH_H
#define ARBOR_BENCH_H

#include <stdint.h>

// now_ns is CLOCK_MONOTONIC in nanoseconds.
int64_t now_ns(void);

// result prints one result line "R name value unit" (flushed); the parent
// pairs it with its baseline.
void result(const char *name, double value, const char *unit);

#endif // ARBOR_BENCH_H
