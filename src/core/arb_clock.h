// SPDX-License-Identifier: MIT
// arb_clock.h -- the clocks, header only: CLOCK_MONOTONIC for deadlines
// and intervals (arb__now_ms, arb__now_us), CLOCK_REALTIME for times that
// leave the process, in records and messages (arb__wall_ms,
// arb__wall_ns).  libarbor includes it through arb_impl.h; the actor
// types of actors/, which see only libarbor's public API (their modules
// link libarbor, whose internal names are hidden), include it too:
// static inline, so one definition serves both and nothing is exported
// (docs/api/README.md, "ABI and versions").  libc only.  Thread: any.

#ifndef ARB_CLOCK_H
#define ARB_CLOCK_H

#include <stdint.h>
#include <time.h>

// arb__clock_ns reads the clock id in nanoseconds.
static inline int64_t
arb__clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// arb__now_ms, arb__now_us: CLOCK_MONOTONIC in ms, in µs.
static inline int64_t
arb__now_ms(void)
{
	return arb__clock_ns(CLOCK_MONOTONIC) / 1000000;
}

static inline int64_t
arb__now_us(void)
{
	return arb__clock_ns(CLOCK_MONOTONIC) / 1000;
}

// arb__wall_ms, arb__wall_ns: CLOCK_REALTIME in ms, in ns since the
// epoch.
static inline int64_t
arb__wall_ms(void)
{
	return arb__clock_ns(CLOCK_REALTIME) / 1000000;
}

static inline uint64_t
arb__wall_ns(void)
{
	return (uint64_t) arb__clock_ns(CLOCK_REALTIME);
}

#endif // ARB_CLOCK_H
