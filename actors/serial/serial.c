// SPDX-License-Identifier: MIT
// serial.c -- the serial actor: its ops (init, handle, terminate), its
// counters, and its destination (frames become ARB_SERIAL_TAG_FRAME
// messages to `to:`, resolved with arb_whereis and again whenever a send
// says ARB_ENOENT).  The port's lifecycle is in reader.c, polling in
// poll.c.  Nothing blocks the loop: every wait is an event.
// Thread: the actor's loop.

#include "serial.h"

#include "serial_int.h"
#include "serial_msgs.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

// --- small helpers ------------------------------------------------------

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

// --- the destination ----------------------------------------------------

// resolve_failed: no destination; the next look-up waits RESOLVE_MS.
static void
resolve_failed(serial *s, int rv)
{
	s->have_dest = false;
	s->resolve_after_ms = s->now_ms + RESOLVE_MS;
	if (!s->dest_missing_logged) {
		arb_log(s->ctx, ARB_LOG_WARN, "no_destination",
		    "to=%s error=%s (frames are dropped and counted until it "
		    "exists)",
		    s->cfg.to, arb_err_name(rv));
		s->dest_missing_logged = true;
	}
}

static bool
resolve(serial *s)
{
	arb_pid pid;
	int     rv;

	if (s->now_ms < s->resolve_after_ms) {
		return false;
	}
	if ((rv = arb_whereis(s->ctx, s->cfg.to, &pid)) != ARB_OK) {
		resolve_failed(s, rv);
		return false;
	}
	if (s->have_stale && arb_pid_eq(pid, s->stale)) {
		// The name still points at the pid that just said ENOENT (a
		// removed child's path): missing, not moved.
		resolve_failed(s, ARB_ENOENT);
		return false;
	}
	s->have_stale = false;
	s->resolved_ms = s->now_ms;
	if (s->have_dest && arb_pid_eq(pid, s->dest)) {
		return true; // a refresh that found the same actor
	}
	arb_log(s->ctx, ARB_LOG_DEBUG, "resolved", "to=%s pid=%llu", s->cfg.to,
	    (unsigned long long) pid.id);
	if (s->dest_missing_logged) {
		arb_log(
		    s->ctx, ARB_LOG_INFO, "destination", "to=%s", s->cfg.to);
	}
	s->dest_missing_logged = false;
	s->dest = pid;
	s->have_dest = true;
	return true;
}

// ser_dest_refresh looks the destination up again now and then: a process
// actor is not told that its destination was replaced (a send to the old
// actor still succeeds; docs/design.md), so a new actor under the same
// name is found this way within REFRESH_MS.  In a process actor the
// look-up is a blocking round trip to the node: the reader makes it
// before a read, when it holds no frame unsent (reader.c), never between
// framing and the end of the loop turn.
void
ser_dest_refresh(serial *s)
{
	if (s->have_dest && s->now_ms - s->resolved_ms >= REFRESH_MS) {
		resolve(s);
	}
}

// deliver sends one frame.  Every frame takes a sequence number, so a
// consumer sees a gap where one was dropped here.
void
ser_deliver(serial *s, const uint8_t *p, size_t n, const char *device)
{
	arb_serial_frame f = { .stream = s->stream,
		.stream_len = s->stream_len,
		.session = s->session,
		.seq = ++s->seq,
		.ts_ns = s->rx_ns,
		.device = device,
		.device_len = device != NULL ? strlen(device) : 0,
		.data = p,
		.len = n };
	size_t           len;
	int              rv;

	s->last_frame_ms = s->now_ms;
	s->stalls_in_row = 0;
	len = arb_serial_frame_encode(s->body, s->body_cap, &f);
	if (len == 0) { // cannot happen: body_cap covers max_frame
		ser_count(s, C_DROP_SEND_ERROR, 1);
		return;
	}
	if (!s->have_dest && !resolve(s)) {
		ser_count(s, C_DROP_NO_DEST, 1);
		return;
	}
	rv = arb_send_copy(
	    s->ctx, s->dest, ARB_SERIAL_TAG_FRAME, s->body, len);
	if (rv == ARB_ENOENT) {
		// The destination was replaced (restarted, reloaded):
		// look it up again once, now.
		s->stale = s->dest;
		s->have_stale = true;
		s->have_dest = false;
		s->resolve_after_ms = 0;
		if (resolve(s)) {
			rv = arb_send_copy(s->ctx, s->dest,
			    ARB_SERIAL_TAG_FRAME, s->body, len);
		}
	}
	switch (rv) {
	case ARB_OK:
		ser_count(s, C_FRAMES, 1);
		break;
	case ARB_EAGAIN:
		ser_count(s, C_DROP_QUEUE_FULL, 1);
		break;
	case ARB_ENOENT:
		s->have_dest = false;
		ser_count(s, C_DROP_NO_DEST, 1);
		break;
	default:
		ser_count(s, C_DROP_SEND_ERROR, 1);
		break;
	}
}

// ser_on_frame is the framer's callback.
void
ser_on_frame(void *arg, const uint8_t *p, size_t n)
{
	serial *s = arg;

	if (s->cfg.nreqs == 0) {
		ser_deliver(s, p, n, NULL);
	} else {
		ser_poll_frame(s, p, n);
	}
}

// --- the actor ----------------------------------------------------------

static void
serial_free(serial *s)
{
	ser_reader_fini(s); // closes the port: its settings are restored
	ser_poll_fini(s);
	serial_framer_fini(&s->fr);
	free(s->rbuf);
	free(s->body);
	free(s);
}

static int
serial_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	serial  *s;
	arb_cfg *cfg;
	int      rv;
	size_t   i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&cfg, arg, len)) != ARB_OK) {
		free(s);
		return rv;
	}
	serial_cfg_read(cfg, &s->cfg);
	rv = arb_cfg_report(ctx, cfg);
	arb_cfg_free(cfg);
	if (rv != ARB_OK) {
		free(s);
		return rv;
	}
	s->ctx = ctx;
	s->base = arb_base(ctx);
	s->cur = -1;
	for (i = 0; i < C_COUNT; i++) {
		// A failed declaration leaves NULL: its updates do nothing.
		arb_metric_counter(ctx, counter_metrics[i].name,
		    counter_metrics[i].label, counter_metrics[i].help,
		    &s->m[i]);
	}
	arb_metric_gauge(ctx, "serial_open", NULL,
	    "1 while the port is open, 0 while it is closed.", &s->open_gauge);
	serial_port_init(&s->port);
	s->watch.fd = -1;
	s->stream = s->cfg.stream[0] != '\0' ? s->cfg.stream : arb_path(ctx);
	s->stream_len = strlen(s->stream);
	s->session = ser_real_ns() / 1000;
	s->rng = (uint32_t) (s->session ^ (s->session >> 32))
	    ^ ((uint32_t) getpid() << 16) ^ 0x2545f491u;
	s->body_cap = ARB_SERIAL_FRAME_OVERHEAD + s->stream_len
	    + SERIAL_NAME_MAX + s->cfg.framer.max_frame;
	s->rbuf = malloc(READ_BUF);
	s->body = malloc(s->body_cap);
	if (s->rbuf == NULL || s->body == NULL
	    || serial_framer_init(&s->fr, &s->cfg.framer) != 0
	    || ser_reader_init(s) != ARB_OK || ser_poll_init(s) != ARB_OK) {
		serial_free(s);
		return ARB_ENOMEM;
	}
	s->now_ms = ser_mono_ms();
	resolve(s); // the destination may start later: not an error
	ser_try_open(s);
	ser_poll_start(s);
	*statep = s;
	return ARB_OK;
}

static void
serial_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	serial *s = state;
	uint8_t buf[1024];
	size_t  len;

	if (arb_msg_tag(msg) != ARB_SERIAL_TAG_STATS
	    || !arb_msg_is_request(msg)) {
		return;
	}
	ser_framer_sync(s);
	len = serial_stats_encode(
	    buf, sizeof(buf), counter_names, s->c, C_COUNT);
	arb_reply(ctx, msg, ARB_SERIAL_TAG_STATS, buf, len);
}

static void
serial_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	serial_free(state); // restores the port's settings
}

const arb_actor_ops arb_serial_ops = {
	.type = "serial",
	.init = serial_init,
	.handle = serial_handle,
	.terminate = serial_terminate,
	.check = serial_cfg_check,
};
