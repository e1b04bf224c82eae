// SPDX-License-Identifier: MIT
// deliver.c -- the delivery path: a frame becomes an ARB_SERIAL_TAG_FRAME
// message to the destination `to:`, resolved with arb_whereis and again
// whenever a send says ARB_ENOENT, or is counted as dropped.
// Thread: the actor's loop.

#include "serial_int.h"
#include "serial_msgs.h"

#include <string.h>

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

bool
ser_dest_resolve(serial *s)
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
		ser_dest_resolve(s);
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
	if (!s->have_dest && !ser_dest_resolve(s)) {
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
		if (ser_dest_resolve(s)) {
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
