// SPDX-License-Identifier: MIT
// backoff.c -- restart backoff: exponential, jittered above a floor, capped.
//
// Beyond OTP (SPEC 1.6): before restart attempt n the supervisor waits a
// random delay in [min, min(max, min << (n + 1))]: `min` is a floor (full
// jitter over [0, ceiling] let a child with min 50 ms retry 20 or more
// times a second), and the spread above it, which doubles with every
// attempt, keeps a crowd of children failing together from restarting in
// lockstep.  A cap below min wins: every delay is the cap.  The caller
// passes the random number in, so the function is pure.  Thread: any.

#include "sup_int.h"

// BACKOFF_MAX_DEFAULT is the cap when backoff is on and no cap is given
// (arb_child_spec.backoff_max_ms 0).
#define BACKOFF_MAX_DEFAULT 30000

int64_t
arb__backoff_delay(int min_ms, int max_ms, unsigned attempt, uint64_t rnd)
{
	int64_t floor, ceil;

	if (min_ms <= 0) {
		return 0; // backoff off: restart at once
	}
	if (max_ms <= 0) {
		max_ms = BACKOFF_MAX_DEFAULT;
	}
	floor = min_ms < max_ms ? min_ms : max_ms;
	// min_ms < 2^31, so shifting by at most 31 stays below 2^62; any
	// larger attempt is past every possible int cap.
	if (attempt >= 31) {
		ceil = max_ms;
	} else {
		ceil = (int64_t) min_ms << (attempt + 1);
		if (ceil > max_ms) {
			ceil = max_ms;
		}
	}
	return floor + (int64_t) (rnd % ((uint64_t) (ceil - floor) + 1));
}
