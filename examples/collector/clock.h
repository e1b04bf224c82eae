// SPDX-License-Identifier: MIT
// clock.h -- the collector's clocks: monotonic time for intervals and
// deadlines, real time for receive times and identities.  Thread: any.

#ifndef COLLECTOR_CLOCK_H
#define COLLECTOR_CLOCK_H

#include <stdint.h>

int64_t clk_mono_ms(void); // CLOCK_MONOTONIC, milliseconds
int64_t clk_mono_us(void); // CLOCK_MONOTONIC, microseconds
int64_t clk_real_ms(void); // CLOCK_REALTIME, ms since the Unix epoch

#endif // COLLECTOR_CLOCK_H
