// SPDX-License-Identifier: MIT
// timer.c -- the one way the serial actor's files arm a timer (its
// clocks are arbor's, src/core/arb_clock.h).  Thread: any.

#include "serial_int.h"

#include <time.h>

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
