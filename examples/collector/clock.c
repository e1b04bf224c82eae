// SPDX-License-Identifier: MIT
// clock.c -- the collector's clocks (clock.h).

#define _POSIX_C_SOURCE 200809L // clock_gettime, CLOCK_MONOTONIC

#include "clock.h"

#include <time.h>

static int64_t
read_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clk_mono_ms(void)
{
	return read_us(CLOCK_MONOTONIC) / 1000;
}

int64_t
clk_mono_us(void)
{
	return read_us(CLOCK_MONOTONIC);
}

int64_t
clk_real_ms(void)
{
	return read_us(CLOCK_REALTIME) / 1000;
}
