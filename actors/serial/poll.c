// SPDX-License-Identifier: MIT
// poll.c -- polling mode (`poll:`): requests are queued when due, one queue
// per port, and served one at a time: flush stale input, write the request,
// wait for one frame (the reply, see ser_on_frame) or the timeout, rest for
// `turnaround`, next.  ser_on_frame, the framer's callback, is here: in
// polling mode a frame is a reply, else it goes to deliver.c as it is.  A
// failed write is the reader's to handle (s->lost_cb).
// Thread: the actor's loop.

#include "serial_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <arbor/actor.h>
#include <errno.h>
#include <unistd.h>

void
ser_poll_abort(serial *s)
{
	if (s->cfg.nreqs == 0) {
		return;
	}
	// A request in flight when the port closes is lost with it; the
	// device is asked again when its next turn is due.
	event_del(s->reply);
	s->cur = -1;
	s->pstate = P_IDLE;
	s->wr_off = 0;
}

static void
poll_write(serial *s)
{
	const serial_req_cfg *q = s->reqs[s->cur].cfg;
	ssize_t               n;

	while (s->wr_off < q->len) {
		n = write(s->port.fd, q->data + s->wr_off, q->len - s->wr_off);
		if (n > 0) {
			s->wr_off += (size_t) n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			event_add(s->wr, NULL); // flow control, a full buffer
			return;
		} else {
			s->lost_cb(s, n < 0 ? errno : EIO, NULL);
			return;
		}
	}
	ser_count(s, C_POLL_REQUESTS, 1);
	s->pstate = P_WAITING;
	ser_timer_ms(s->reply, s->cfg.poll_timeout_ms);
}

void
ser_on_write(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;

	(void) fd;
	(void) what;
	if (s->pstate == P_WRITING) {
		poll_write(s);
	}
}

// poll_next starts the next queued request if the port is open and the
// line is free.
void
ser_poll_next(serial *s)
{
	size_t i;

	if (s->cfg.nreqs == 0 || s->port.fd < 0 || s->qlen == 0) {
		s->pstate = P_IDLE;
		return;
	}
	i = s->queue[s->qhead];
	s->qhead = (s->qhead + 1) % SERIAL_REQS_MAX;
	s->qlen--;
	s->reqs[i].queued = false;
	// Whatever came since the last reply is stale: a late answer must
	// not pass for the answer to this request.
	ser_count(s, C_DROPPED_BYTES, serial_port_flush_input(&s->port));
	s->rx_ns = arb__wall_ns();
	event_del(s->gap); // the boundary is here: no gap is waited for
	serial_framer_boundary(&s->fr, ser_on_frame, s); // pstate: not WAITING
	ser_framer_sync(s);
	s->cur = (int) i;
	s->pstate = P_WRITING;
	s->wr_off = 0;
	poll_write(s);
}

// on_reply is the reply timeout (P_WAITING) or the end of the turnaround.
static void
on_reply(evutil_socket_t fd, short what, void *arg)
{
	serial     *s = arg;
	serial_req *q;

	(void) fd;
	(void) what;
	s->now_ms = arb__now_ms();
	if (s->pstate == P_WAITING && s->cur >= 0) {
		q = &s->reqs[s->cur];
		ser_count(s, C_POLL_TIMEOUTS, 1);
		arb_log(s->ctx, q->failing ? ARB_LOG_DEBUG : ARB_LOG_WARN,
		    "poll_timeout", "device=%s timeout_ms=%lld", q->cfg->name,
		    (long long) s->cfg.poll_timeout_ms);
		q->failing = true;
		s->cur = -1;
		s->pstate = P_TURNAROUND;
		ser_timer_ms(s->reply, s->cfg.poll_turnaround_ms);
		return;
	}
	if (s->pstate == P_TURNAROUND) {
		s->pstate = P_IDLE;
		ser_poll_next(s);
	}
}

static void
sched_arm(serial *s)
{
	int64_t next = INT64_MAX;
	size_t  i;

	for (i = 0; i < s->cfg.nreqs; i++) {
		if (s->reqs[i].due_ms < next) {
			next = s->reqs[i].due_ms;
		}
	}
	ser_timer_ms(s->sched, next - arb__now_ms());
}

static void
on_sched(evutil_socket_t fd, short what, void *arg)
{
	serial     *s = arg;
	serial_req *q;
	size_t      i;

	(void) fd;
	(void) what;
	s->now_ms = arb__now_ms();
	for (i = 0; i < s->cfg.nreqs; i++) {
		q = &s->reqs[i];
		if (q->due_ms > s->now_ms) {
			continue;
		}
		q->due_ms += q->cfg->every_ms;
		if (q->due_ms <= s->now_ms) { // fell behind: no burst
			q->due_ms = s->now_ms + q->cfg->every_ms;
		}
		if (s->port.fd < 0) {
			continue; // nothing is asked of a closed port
		}
		if (q->queued || s->cur == (int) i) {
			ser_count(
			    s, C_POLL_OVERRUNS, 1); // still waiting its turn
			continue;
		}
		s->queue[(s->qhead + s->qlen) % SERIAL_REQS_MAX] = i;
		s->qlen++;
		q->queued = true;
	}
	sched_arm(s);
	if (s->pstate == P_IDLE) {
		ser_poll_next(s);
	}
}

int
ser_poll_init(serial *s)
{
	size_t i;

	if (s->cfg.nreqs == 0) {
		return ARB_OK;
	}
	s->sched = evtimer_new(s->base, on_sched, s);
	s->reply = evtimer_new(s->base, on_reply, s);
	if (s->sched == NULL || s->reply == NULL) {
		return ARB_ENOMEM;
	}
	for (i = 0; i < s->cfg.nreqs; i++) {
		s->reqs[i].cfg = &s->cfg.reqs[i];
	}
	return ARB_OK;
}

void
ser_poll_fini(serial *s)
{
	if (s->sched != NULL) {
		event_free(s->sched);
		s->sched = NULL;
	}
	if (s->reply != NULL) {
		event_free(s->reply);
		s->reply = NULL;
	}
}

void
ser_poll_start(serial *s)
{
	int64_t now = arb__now_ms();
	size_t  i;

	if (s->cfg.nreqs == 0) {
		return;
	}
	for (i = 0; i < s->cfg.nreqs; i++) {
		s->reqs[i].due_ms = now; // everyone is asked once at start
	}
	sched_arm(s);
}

// poll_frame takes a frame in polling mode: the reply to the request in
// flight is delivered with its name; any other frame is unsolicited.
static void
poll_frame(serial *s, const uint8_t *p, size_t n)
{
	serial_req *q;

	if (s->pstate != P_WAITING || s->cur < 0) {
		s->last_frame_ms = s->now_ms; // the line is alive
		s->stalls_in_row = 0;
		ser_count(s, C_DROP_UNSOLICITED, 1);
		return;
	}
	// The reply.  The framer must not be called back from here: the
	// next request starts from a timer.
	q = &s->reqs[s->cur];
	ser_deliver(s, p, n, q->cfg->name);
	ser_count(s, C_POLL_REPLIES, 1);
	if (q->failing) {
		arb_log(s->ctx, ARB_LOG_INFO, "poll_answering", "device=%s",
		    q->cfg->name);
		q->failing = false;
	}
	s->cur = -1;
	s->pstate = P_TURNAROUND;
	ser_timer_ms(s->reply, s->cfg.poll_turnaround_ms);
}

// ser_on_frame is the framer's callback.
void
ser_on_frame(void *arg, const uint8_t *p, size_t n)
{
	serial *s = arg;

	if (s->cfg.nreqs == 0) {
		ser_deliver(s, p, n, NULL);
	} else {
		poll_frame(s, p, n);
	}
}
