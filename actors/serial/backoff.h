// SPDX-License-Identifier: MIT
// backoff.h -- the reopen delay: full-jitter exponential backoff
// (AWS's "full jitter"): attempt n waits a uniform random time in
// [0, min(max, min * 2^n)].  Pure: the caller brings the random number.
// Thread: any.

#ifndef ARBOR_SERIAL_BACKOFF_H
#define ARBOR_SERIAL_BACKOFF_H

#include <stdint.h>

// serial_backoff_cap is min * 2^attempt, capped at max (min <= max, both
// >= 1); it never overflows.
static inline int64_t
serial_backoff_cap(int64_t min, int64_t max, unsigned attempt)
{
	int64_t  cap = min;
	unsigned i;

	for (i = 0; i < attempt && cap < max; i++) {
		cap *= 2;
	}
	return cap < max ? cap : max;
}

// serial_backoff_ms maps the random number r onto [0, cap].
static inline int64_t
serial_backoff_ms(int64_t cap, uint32_t r)
{
	return (int64_t) (r % ((uint64_t) cap + 1));
}

#endif // ARBOR_SERIAL_BACKOFF_H
