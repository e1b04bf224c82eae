// SPDX-License-Identifier: MIT
// counters.c -- the serial actor's counters (serial_int.h, COUNTERS):
// their metrics, the drops' log lines, the framer's counts added in, and
// the STATS reply.  Thread: the actor's loop.

#include "serial_int.h"
#include "stats.h"

#include <string.h>

static const char *const counter_names[] = {
#define X(id, name, metric, label, help) name,
	COUNTERS(X)
#undef X
};

static const struct {
	const char *name, *label, *help;
} counter_metrics[] = {
#define X(id, name, metric, label, help) { metric, label, help },
	COUNTERS(X)
#undef X
};

static bool
is_drop(int c)
{
	return c >= C_DROP_PARTIAL && c <= C_DROP_SEND_ERROR;
}

// count adds n to counter c.  Drops are logged (warn), at most once per
// REPORT_MS per cause, with how many since the last line: never silent,
// never a flood.  Partial frames are only counted: one at most is
// expected at every open.
void
ser_count(serial *s, int c, uint64_t n)
{
	s->c[c] += n;
	arb_metric_add(s->m[c], n);
	if (!is_drop(c) || c == C_DROP_PARTIAL) {
		return;
	}
	if (s->now_ms - s->report_ms[c] >= REPORT_MS) {
		arb_log(s->ctx, ARB_LOG_WARN, "dropped",
		    "cause=%s count=%llu total=%llu to=%s",
		    counter_names[c] + strlen("dropped_"),
		    (unsigned long long) (s->c[c] - s->reported[c]),
		    (unsigned long long) s->c[c], s->cfg.to);
		s->reported[c] = s->c[c];
		s->report_ms[c] = s->now_ms;
	}
}

// framer_sync adds what the framer counted since the last call, and
// notes the first sync after an open.
void
ser_framer_sync(serial *s)
{
	const serial_framer_stats *n = &s->fr.st;
	serial_framer_stats       *o = &s->fr_seen;

	if (!s->synced && serial_framer_synced(&s->fr) && s->port.fd >= 0) {
		s->synced = true;
		arb_log(s->ctx, ARB_LOG_DEBUG, "synced",
		    "dev=%s dropped_bytes=%llu", s->cfg.path,
		    (unsigned long long) (n->dropped_bytes
		        - o->dropped_bytes));
	}

	if (n->partial != o->partial) {
		ser_count(s, C_DROP_PARTIAL, n->partial - o->partial);
	}
	if (n->oversize != o->oversize) {
		ser_count(s, C_DROP_OVERSIZE, n->oversize - o->oversize);
	}
	if (n->garbage != o->garbage) {
		ser_count(s, C_DROP_GARBAGE, n->garbage - o->garbage);
	}
	if (n->dropped_bytes != o->dropped_bytes) {
		ser_count(
		    s, C_DROPPED_BYTES, n->dropped_bytes - o->dropped_bytes);
	}
	if (n->empty != o->empty) {
		ser_count(s, C_EMPTY, n->empty - o->empty);
	}
	*o = *n;
}

void
ser_counters_declare(serial *s)
{
	size_t i;

	for (i = 0; i < C_COUNT; i++) {
		// A failed declaration leaves NULL: its updates do nothing.
		arb_metric_counter(s->ctx, counter_metrics[i].name,
		    counter_metrics[i].label, counter_metrics[i].help,
		    &s->m[i]);
	}
	arb_metric_gauge(s->ctx, "serial_open", NULL,
	    "1 while the port is open, 0 while it is closed.", &s->open_gauge);
}

size_t
ser_counters_encode(serial *s, void *buf, size_t cap)
{
	ser_framer_sync(s);
	return serial_stats_encode(buf, cap, counter_names, s->c, C_COUNT);
}
