// SPDX-License-Identifier: MIT
// bench.h -- what arbor_bench.c shares with the cases of other files
// (bench_mqtt.c): the clock and the result line.

#ifndef ARBOR_BENCH_H
#define ARBOR_BENCH_H

#include <stdint.h>

// now_ns is CLOCK_MONOTONIC in nanoseconds.
int64_t now_ns(void);

// result prints one result line "R name value unit" (flushed); the parent
// pairs it with its baseline.
void result(const char *name, double value, const char *unit);

#endif // ARBOR_BENCH_H
