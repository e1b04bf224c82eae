// SPDX-License-Identifier: MIT
// intensity.c -- OTP's restart intensity: more than `intensity` restarts
// within `period` and the supervisor gives up.
//
// A ring keeps the last intensity + 1 restart times; older ones can never
// matter again, because the limit is exceeded exactly when intensity + 1
// restarts fall within the window (now - period, now].  A restart exactly
// period_ms old no longer counts.  Callers pass `now`; nothing here reads
// a clock.  Not thread-safe: a window belongs to one supervisor.

#include "sup_int.h"

#include <stdint.h>

int
arb__intensity_init(arb__intensity *w, int intensity, int64_t period_ms)
{
	size_t cap;

	assert(intensity >= 0 && period_ms > 0);
	if (intensity < 0 || period_ms <= 0) {
		return ARB_EINVAL;
	}
	cap = (size_t) intensity + 1;
	if (cap > SIZE_MAX / sizeof(int64_t)) {
		return ARB_ENOMEM;
	}
	w->stamps = arb__alloc(cap * sizeof(int64_t));
	if (w->stamps == NULL) {
		return ARB_ENOMEM;
	}
	w->intensity = intensity;
	w->period_ms = period_ms;
	w->n = 0;
	w->head = 0;
	return ARB_OK;
}

void
arb__intensity_fini(arb__intensity *w)
{
	arb__free(w->stamps);
	w->stamps = NULL;
	w->n = w->head = 0;
}

// in_window is true when a restart at t still counts at now: t lies in
// (now - period, now].  The difference is taken in unsigned arithmetic so
// that no pair of int64 values can overflow.
static bool
in_window(int64_t t, int64_t now, int64_t period)
{
	if (t > now) {
		return false;
	}
	return (uint64_t) now - (uint64_t) t < (uint64_t) period;
}

bool
arb__intensity_add(arb__intensity *w, int64_t now_ms)
{
	size_t cap = (size_t) w->intensity + 1;
	size_t i;
	size_t count = 0;

	assert(w->stamps != NULL);
	// head is the next slot to write; when the ring is full it is also
	// the oldest stamp, which the new one replaces.
	w->stamps[w->head] = now_ms;
	w->head = (w->head + 1) % cap;
	if (w->n < cap) {
		w->n++;
	}
	for (i = 0; i < w->n; i++) {
		if (in_window(w->stamps[i], now_ms, w->period_ms)) {
			count++;
		}
	}
	return count <= (size_t) w->intensity;
}
