// SPDX-License-Identifier: MIT
// clock.c -- the serial actor's clocks (monotonic ms, realtime ns) and
// the one way its files arm a timer.  Thread: any.

#include "serial_int.h"

#include <time.h>

int64_t
ser_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
ser_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void
ser_timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0) {
		ms = 0;
	}
	tv.tv_sec = (time_t) (ms / 1000);
	tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
	event_add(ev, &tv);
}
