// SPDX-License-Identifier: MIT
// backoff.c -- restart backoff: exponential with full jitter and a cap.
//
// Beyond OTP (SPEC 1.6): before restart attempt n the supervisor waits a
// random delay in [0, min(max, min << n)] ("full jitter", so a crowd of
// children failing together does not restart in lockstep).  The caller
// passes the random number in, so the function is pure.  Thread: any.

#include "sup_int.h"

// BACKOFF_MAX_DEFAULT is the cap when backoff is on and no cap is given
// (arb_child_spec.backoff_max_ms 0).
#define BACKOFF_MAX_DEFAULT 30000

int64_t
arb__backoff_delay(int min_ms, int max_ms, unsigned attempt, uint64_t rnd)
{
	int64_t ceil;

	if (min_ms <= 0) {
		return 0; // backoff off: restart at once
	}
	if (max_ms <= 0) {
		max_ms = BACKOFF_MAX_DEFAULT;
	}
	// min_ms < 2^31, so shifting by at most 31 stays below 2^62; any
	// larger attempt is past every possible int cap.
	if (attempt > 31) {
		ceil = max_ms;
	} else {
		ceil = (int64_t) min_ms << attempt;
		if (ceil > max_ms) {
			ceil = max_ms;
		}
	}
	return (int64_t) (rnd % ((uint64_t) ceil + 1));
}
