// SPDX-License-Identifier: MIT
// stats.h -- encoding the reply to ARB_SERIAL_TAG_STATS (serial_msgs.c,
// private to the serial actor).  Thread: any.

#ifndef ARBOR_SERIAL_STATS_H
#define ARBOR_SERIAL_STATS_H

#include <stddef.h>
#include <stdint.h>

// serial_stats_encode writes a msgpack map of n names (str) to values
// (uint) into out and returns its length, or 0 when cap is too small.
size_t serial_stats_encode(void *out, size_t cap, const char *const *names,
    const uint64_t *vals, size_t n);

#endif // ARBOR_SERIAL_STATS_H
