// SPDX-License-Identifier: MIT
// serial.c -- the serial actor: a port, its framer and its destination,
// all on the actor's own libevent loop.
//
// Lifecycle of the port: closed -> (open ok) open -> (read error, EOF,
// hang-up, stall) closed -> reopen timer (full-jitter exponential backoff)
// or an inotify event on the path's directory -> open again.  Nothing
// blocks the loop: the descriptor is non-blocking, reads are bounded per
// wakeup, and every wait is a timer.  Frames become ARB_SERIAL_TAG_FRAME
// messages (serial_msgs.h) to the destination named by `to:`, resolved
// with arb_whereis and again whenever a send says ARB_ENOENT.
//
// Polling mode (`poll:`): requests are queued when due, one queue per
// port, and served one at a time: write the request, wait for one frame
// (the reply) or the timeout, wait `turnaround`, next.  Only a frame that
// answers the request in flight is delivered; any other is unsolicited
// (counted).
// Thread: the actor's loop.

#include "serial.h"

#include "config.h"
#include "framer.h"
#include "port.h"
#include "serial_msgs.h"
#include "stats.h"
#include "watch.h"

#include <arbor/actor.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF   65536
#define READS_MAX  16   // reads per wakeup, then the loop runs others
#define RESOLVE_MS 100  // at most one arb_whereis per this, while missing
#define REPORT_MS  1000 // drops of one cause are logged at most this often

// Counters: the STATS reply's name, the metric (Prometheus name and
// label) and its help, in the order of the STATS reply (docs/actors.md).
#define COUNTERS(X)                                                           \
	X(FRAMES, "frames", "serial_frames_total", NULL,                      \
	    "Frames sent to the destination.")                                \
	X(BYTES, "bytes", "serial_bytes_total", NULL,                         \
	    "Bytes read from the port.")                                      \
	X(DROP_PARTIAL, "dropped_partial", "serial_dropped_total",            \
	    "cause=partial", "Frames dropped, by cause.")                     \
	X(DROP_OVERSIZE, "dropped_oversize", "serial_dropped_total",          \
	    "cause=oversize", "Frames dropped, by cause.")                    \
	X(DROP_GARBAGE, "dropped_garbage", "serial_dropped_total",            \
	    "cause=garbage", "Frames dropped, by cause.")                     \
	X(DROP_QUEUE_FULL, "dropped_queue_full", "serial_dropped_total",      \
	    "cause=queue_full", "Frames dropped, by cause.")                  \
	X(DROP_NO_DEST, "dropped_no_destination", "serial_dropped_total",     \
	    "cause=no_destination", "Frames dropped, by cause.")              \
	X(DROP_UNSOLICITED, "dropped_unsolicited", "serial_dropped_total",    \
	    "cause=unsolicited", "Frames dropped, by cause.")                 \
	X(DROP_SEND_ERROR, "dropped_send_error", "serial_dropped_total",      \
	    "cause=send_error", "Frames dropped, by cause.")                  \
	X(DROPPED_BYTES, "dropped_bytes", "serial_dropped_bytes_total", NULL, \
	    "Bytes of dropped frames and of discarded input.")                \
	X(EMPTY, "empty_frames", "serial_empty_frames_total", NULL,           \
	    "Empty frames skipped (a delimiter right after another).")        \
	X(OPENS, "opens", "serial_opens_total", NULL, "Opens of the port.")   \
	X(REOPENS, "reopens", "serial_reopens_total", NULL,                   \
	    "Opens of the port after the first.")                             \
	X(OPEN_FAILURES, "open_failures", "serial_open_failures_total", NULL, \
	    "Failed attempts to open the port.")                              \
	X(LOST, "lost", "serial_lost_total", NULL,                            \
	    "Times the device went away (read error, end of file, hang-up).") \
	X(STALLS, "stalls", "serial_stalls_total", NULL,                      \
	    "Stalls: no frame within stall.timeout.")                         \
	X(POLL_REQUESTS, "poll_requests", "serial_poll_requests_total", NULL, \
	    "Poll requests written.")                                         \
	X(POLL_REPLIES, "poll_replies", "serial_poll_replies_total", NULL,    \
	    "Poll replies delivered.")                                        \
	X(POLL_TIMEOUTS, "poll_timeouts", "serial_poll_timeouts_total", NULL, \
	    "Poll requests that got no reply in time.")                       \
	X(POLL_OVERRUNS, "poll_overruns", "serial_poll_overruns_total", NULL, \
	    "Poll requests skipped: still waiting when due again.")

enum {
#define X(id, name, metric, label, help) C_##id,
	COUNTERS(X)
#undef X
	    C_COUNT
};

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

typedef enum poll_state {
	P_IDLE = 0,   // nothing in flight
	P_WRITING,    // the request is being written
	P_WAITING,    // written; waiting for the reply or the timeout
	P_TURNAROUND, // reply (or timeout) seen; the line must rest
} poll_state;

typedef struct serial_req {
	const serial_req_cfg *cfg;
	int64_t               due_ms; // monotonic
	bool                  queued;
	bool                  failing; // in a series of timeouts
} serial_req;

typedef struct serial {
	arb_ctx            *ctx;
	struct event_base  *base;
	serial_cfg          cfg;
	const char         *stream;
	size_t              stream_len;
	serial_port         port;
	serial_framer       fr;
	serial_framer_stats fr_seen; // framer counts already added
	serial_watch        watch;
	struct event       *rd;  // port readable (while open)
	struct event       *wr;  // port writable (a request is half written)
	struct event       *gap; // the line was quiet for gap_ms
	struct event       *reopen;
	struct event       *stall;
	struct event       *watch_ev;
	struct event       *sched; // the next poll request is due
	struct event       *reply; // the reply timeout, then the turnaround
	uint8_t            *rbuf;
	uint8_t            *body;
	size_t              body_cap;
	uint64_t            session;
	uint64_t            seq;
	uint64_t            rx_ns;  // realtime of the read being framed
	int64_t             now_ms; // monotonic, at the last read or timer
	arb_pid             dest;
	bool                have_dest;
	arb_pid             stale; // the pid that last said ARB_ENOENT
	bool                have_stale;
	bool                dest_missing_logged;
	int64_t             resolve_after_ms;
	unsigned            attempt;  // reopen attempts since the last open
	int                 last_err; // of the last failed open (logging)
	int64_t             last_frame_ms;
	bool                synced; // the framer synced since the open
	int64_t             stalls_in_row;
	uint32_t            rng;
	uint64_t            c[C_COUNT];
	arb_metric         *m[C_COUNT]; // NULL when a declaration failed
	arb_metric         *open_gauge;
	uint64_t            reported[C_COUNT]; // drops already logged
	int64_t             report_ms[C_COUNT];
	// polling
	serial_req reqs[SERIAL_REQS_MAX];
	size_t     queue[SERIAL_REQS_MAX];
	size_t     qhead, qlen;
	int        cur; // request in flight, -1 when none
	poll_state pstate;
	size_t     wr_off;
} serial;

static void port_lost(serial *s, int err, const char *why);
static void poll_next(serial *s);
static void poll_abort(serial *s);

// --- small helpers ------------------------------------------------------

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0) {
		ms = 0;
	}
	tv.tv_sec = (time_t) (ms / 1000);
	tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
	event_add(ev, &tv);
}

static uint32_t
rng_next(serial *s)
{
	uint32_t x = s->rng; // xorshift32

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return s->rng = x != 0 ? x : 0x9e3779b9u;
}

// backoff_ms is full-jitter exponential backoff: a uniform delay in
// [0, min(max, min * 2^attempt)].
static int64_t
backoff_ms(serial *s)
{
	int64_t  cap = s->cfg.reopen_min_ms;
	unsigned i;

	for (i = 0; i < s->attempt && cap < s->cfg.reopen_max_ms; i++) {
		cap *= 2;
	}
	if (cap > s->cfg.reopen_max_ms) {
		cap = s->cfg.reopen_max_ms;
	}
	return (int64_t) (rng_next(s) % (uint64_t) (cap + 1));
}

static bool
is_drop(int c)
{
	return c >= C_DROP_PARTIAL && c <= C_DROP_SEND_ERROR;
}

// count adds n to counter c.  Drops after framing are logged (warn), at
// most once per REPORT_MS per cause, with how many since the last line:
// never silent, never a flood.
static void
count(serial *s, int c, uint64_t n)
{
	s->c[c] += n;
	arb_metric_add(s->m[c], n);
	if (!is_drop(c) || c <= C_DROP_GARBAGE || c == C_DROP_UNSOLICITED) {
		return; // the framer's drops are expected at open: counted
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
static void
framer_sync(serial *s)
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
		count(s, C_DROP_PARTIAL, n->partial - o->partial);
	}
	if (n->oversize != o->oversize) {
		count(s, C_DROP_OVERSIZE, n->oversize - o->oversize);
	}
	if (n->garbage != o->garbage) {
		count(s, C_DROP_GARBAGE, n->garbage - o->garbage);
	}
	if (n->dropped_bytes != o->dropped_bytes) {
		count(s, C_DROPPED_BYTES, n->dropped_bytes - o->dropped_bytes);
	}
	if (n->empty != o->empty) {
		count(s, C_EMPTY, n->empty - o->empty);
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

// deliver sends one frame.  Every frame takes a sequence number, so a
// consumer sees a gap where one was dropped here.
static void
deliver(serial *s, const uint8_t *p, size_t n, const char *device)
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
		count(s, C_DROP_SEND_ERROR, 1);
		return;
	}
	if (!s->have_dest && !resolve(s)) {
		count(s, C_DROP_NO_DEST, 1);
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
		count(s, C_FRAMES, 1);
		break;
	case ARB_EAGAIN:
		count(s, C_DROP_QUEUE_FULL, 1);
		break;
	case ARB_ENOENT:
		s->have_dest = false;
		count(s, C_DROP_NO_DEST, 1);
		break;
	default:
		count(s, C_DROP_SEND_ERROR, 1);
		break;
	}
}

// on_frame is the framer's callback.
static void
on_frame(void *arg, const uint8_t *p, size_t n)
{
	serial *s = arg;

	if (s->cfg.nreqs == 0) {
		deliver(s, p, n, NULL);
		return;
	}
	if (s->pstate != P_WAITING || s->cur < 0) {
		s->last_frame_ms = s->now_ms; // the line is alive
		s->stalls_in_row = 0;
		count(s, C_DROP_UNSOLICITED, 1);
		return;
	}
	// The reply.  The framer must not be called back from here: the
	// next request starts from a timer.
	serial_req *q = &s->reqs[s->cur];
	deliver(s, p, n, q->cfg->name);
	count(s, C_POLL_REPLIES, 1);
	if (q->failing) {
		arb_log(s->ctx, ARB_LOG_INFO, "poll_answering", "device=%s",
		    q->cfg->name);
		q->failing = false;
	}
	s->cur = -1;
	s->pstate = P_TURNAROUND;
	timer_ms(s->reply, s->cfg.poll_turnaround_ms);
}

// --- the port -----------------------------------------------------------

static void
arm_gap(serial *s)
{
	if (serial_framer_wants_gap(&s->fr)) {
		timer_ms(s->gap, s->cfg.gap_ms);
	}
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;
	ssize_t n;
	int     i;

	(void) what;
	for (i = 0; i < READS_MAX; i++) {
		n = read(fd, s->rbuf, READ_BUF);
		if (n > 0) {
			s->rx_ns = real_ns();
			s->now_ms = mono_ms();
			count(s, C_BYTES, (uint64_t) n);
			serial_framer_feed(
			    &s->fr, s->rbuf, (size_t) n, on_frame, s);
			framer_sync(s);
			if ((size_t) n < READ_BUF) {
				break;
			}
		} else if (n == 0) {
			port_lost(s, 0, "end of file");
			return;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN) {
			break;
		} else {
			port_lost(s, errno, NULL);
			return;
		}
	}
	arm_gap(s);
}

static void
on_gap(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;

	(void) fd;
	(void) what;
	if (s->port.fd < 0 || serial_port_pending(&s->port) > 0) {
		return; // not quiet after all: on_read runs next and re-arms
	}
	s->rx_ns = real_ns();
	s->now_ms = mono_ms();
	serial_framer_boundary(&s->fr, on_frame, s);
	framer_sync(s);
}

static void
schedule_reopen(serial *s)
{
	int64_t ms = backoff_ms(s);

	s->attempt++;
	timer_ms(s->reopen, ms);
	if (s->watch_ev != NULL) {
		serial_watch_arm(&s->watch); // the timer covers a race
	}
}

static void
port_close(serial *s)
{
	if (s->rd != NULL) {
		event_free(s->rd);
		s->rd = NULL;
	}
	if (s->wr != NULL) {
		event_free(s->wr);
		s->wr = NULL;
	}
	event_del(s->gap);
	event_del(s->stall);
	poll_abort(s);
	if (s->port.fd >= 0) {
		arb_metric_set(s->open_gauge, 0);
	}
	serial_port_close(&s->port);
	serial_framer_reset(&s->fr);
	framer_sync(s);
}

static void on_write(evutil_socket_t fd, short what, void *arg);

static void
try_open(serial *s)
{
	char err[128];
	int  rv;

	s->now_ms = mono_ms();
	rv = serial_port_open(
	    &s->port, s->cfg.path, &s->cfg.line, err, sizeof(err));
	if (rv != 0) {
		count(s, C_OPEN_FAILURES, 1);
		// The first failure of a series, or a new reason, is a
		// warning; the same failure again is only debug.
		arb_log(s->ctx,
		    s->attempt == 0 || rv != s->last_err ? ARB_LOG_WARN
		                                         : ARB_LOG_DEBUG,
		    "open_failed", "dev=%s error=\"%s\" attempt=%u",
		    s->cfg.path, err, s->attempt + 1);
		s->last_err = rv;
		schedule_reopen(s);
		return;
	}
	s->rd
	    = event_new(s->base, s->port.fd, EV_READ | EV_PERSIST, on_read, s);
	s->wr = event_new(s->base, s->port.fd, EV_WRITE, on_write, s);
	if (s->rd == NULL || s->wr == NULL || event_add(s->rd, NULL) != 0) {
		port_close(s);
		arb_actor_exit_error(s->ctx, ARB_ENOMEM, "serial: event_new");
		return;
	}
	event_del(s->reopen);
	if (s->watch_ev != NULL) {
		serial_watch_disarm(&s->watch);
	}
	if (s->c[C_OPENS] > 0) {
		count(s, C_REOPENS, 1);
	}
	count(s, C_OPENS, 1);
	arb_metric_set(s->open_gauge, 1);
	arb_log(s->ctx, ARB_LOG_INFO, "open", "dev=%s baud=%u attempts=%u",
	    s->cfg.path, s->cfg.line.baud, s->attempt + 1);
	s->attempt = 0;
	s->last_err = 0;
	s->last_frame_ms = s->now_ms;
	s->synced = false;
	arm_gap(s); // unsynced: the first quiet gap syncs
	if (s->cfg.stall_ms > 0) {
		timer_ms(s->stall, s->cfg.stall_ms);
	}
	if (s->pstate == P_IDLE) {
		poll_next(s);
	}
}

// port_lost: the device went away (or broke).  The line is logged once
// the watch is armed, so whoever reads it may replug at once.
static void
port_lost(serial *s, int err, const char *why)
{
	count(s, C_LOST, 1);
	port_close(s);
	schedule_reopen(s);
	arb_log(s->ctx, ARB_LOG_WARN, "lost", "dev=%s error=\"%s\"",
	    s->cfg.path, why != NULL ? why : strerror(err));
}

static void
on_reopen(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	try_open(arg);
}

static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;

	(void) fd;
	(void) what;
	if (serial_watch_read(&s->watch) && s->port.fd < 0) {
		// The path is back: try now, and back off from the start
		// if it is not usable yet (udev may still set its mode).
		s->attempt = 0;
		try_open(s);
	}
}

static void
on_stall(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;
	int64_t idle;
	char    text[ARB_EXIT_TEXT_MAX];

	(void) fd;
	(void) what;
	s->now_ms = mono_ms();
	idle = s->now_ms - s->last_frame_ms;
	if (idle < s->cfg.stall_ms) {
		timer_ms(s->stall, s->cfg.stall_ms - idle);
		return;
	}
	s->stalls_in_row++;
	count(s, C_STALLS, 1);
	if (s->cfg.stall_max > 0 && s->stalls_in_row >= s->cfg.stall_max) {
		snprintf(text, sizeof(text),
		    "%lld stalls in a row on %.40s (no frame for %lld ms)",
		    (long long) s->stalls_in_row, s->cfg.path,
		    (long long) s->cfg.stall_ms);
		arb_log(s->ctx, ARB_LOG_ERROR, "stall",
		    "dev=%s idle_ms=%lld in_a_row=%lld action=exit",
		    s->cfg.path, (long long) idle,
		    (long long) s->stalls_in_row);
		port_close(s);
		arb_actor_exit_error(s->ctx, ARB_ETIMEDOUT, text);
		return;
	}
	arb_log(s->ctx, ARB_LOG_WARN, "stall",
	    "dev=%s idle_ms=%lld in_a_row=%lld action=reopen", s->cfg.path,
	    (long long) idle, (long long) s->stalls_in_row);
	port_close(s);
	s->attempt = 0;
	try_open(s);
}

// --- polling ------------------------------------------------------------

static void
poll_abort(serial *s)
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
			port_lost(s, n < 0 ? errno : EIO, NULL);
			return;
		}
	}
	count(s, C_POLL_REQUESTS, 1);
	s->pstate = P_WAITING;
	timer_ms(s->reply, s->cfg.poll_timeout_ms);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
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
static void
poll_next(serial *s)
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
	count(s, C_DROPPED_BYTES, serial_port_flush_input(&s->port));
	s->rx_ns = real_ns();
	serial_framer_boundary(&s->fr, on_frame, s); // pstate: not WAITING
	framer_sync(s);
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
	s->now_ms = mono_ms();
	if (s->pstate == P_WAITING && s->cur >= 0) {
		q = &s->reqs[s->cur];
		count(s, C_POLL_TIMEOUTS, 1);
		arb_log(s->ctx, q->failing ? ARB_LOG_DEBUG : ARB_LOG_WARN,
		    "poll_timeout", "device=%s timeout_ms=%lld", q->cfg->name,
		    (long long) s->cfg.poll_timeout_ms);
		q->failing = true;
		s->cur = -1;
		s->pstate = P_TURNAROUND;
		timer_ms(s->reply, s->cfg.poll_turnaround_ms);
		return;
	}
	if (s->pstate == P_TURNAROUND) {
		s->pstate = P_IDLE;
		poll_next(s);
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
	timer_ms(s->sched, next - mono_ms());
}

static void
on_sched(evutil_socket_t fd, short what, void *arg)
{
	serial     *s = arg;
	serial_req *q;
	size_t      i;

	(void) fd;
	(void) what;
	s->now_ms = mono_ms();
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
			count(s, C_POLL_OVERRUNS, 1); // still waiting its turn
			continue;
		}
		s->queue[(s->qhead + s->qlen) % SERIAL_REQS_MAX] = i;
		s->qlen++;
		q->queued = true;
	}
	sched_arm(s);
	if (s->pstate == P_IDLE) {
		poll_next(s);
	}
}

// --- the actor ----------------------------------------------------------

static void
serial_free(serial *s)
{
	struct event **evs[] = { &s->gap, &s->reopen, &s->stall, &s->watch_ev,
		&s->sched, &s->reply };
	size_t         i;

	port_close(s);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
	serial_watch_close(&s->watch);
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
	int64_t  now;

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
	s->session = real_ns() / 1000;
	s->rng = (uint32_t) (s->session ^ (s->session >> 32))
	    ^ ((uint32_t) getpid() << 16) ^ 0x2545f491u;
	s->body_cap = ARB_SERIAL_FRAME_OVERHEAD + s->stream_len
	    + SERIAL_NAME_MAX + s->cfg.framer.max_frame;
	s->rbuf = malloc(READ_BUF);
	s->body = malloc(s->body_cap);
	s->gap = evtimer_new(s->base, on_gap, s);
	s->reopen = evtimer_new(s->base, on_reopen, s);
	s->stall = evtimer_new(s->base, on_stall, s);
	s->sched = evtimer_new(s->base, on_sched, s);
	s->reply = evtimer_new(s->base, on_reply, s);
	if (s->rbuf == NULL || s->body == NULL || s->gap == NULL
	    || s->reopen == NULL || s->stall == NULL || s->sched == NULL
	    || s->reply == NULL
	    || serial_framer_init(&s->fr, &s->cfg.framer) != 0) {
		serial_free(s);
		return ARB_ENOMEM;
	}
	// Without inotify the backoff timer alone finds the device again.
	if (serial_watch_open(&s->watch, s->cfg.path) == 0) {
		s->watch_ev = event_new(
		    s->base, s->watch.fd, EV_READ | EV_PERSIST, on_watch, s);
		if (s->watch_ev == NULL || event_add(s->watch_ev, NULL) != 0) {
			serial_free(s);
			return ARB_ENOMEM;
		}
	} else {
		arb_log(ctx, ARB_LOG_WARN, "no_inotify",
		    "dev=%s (a replugged device is found by the reopen "
		    "timer only)",
		    s->cfg.path);
	}
	now = mono_ms();
	for (i = 0; i < s->cfg.nreqs; i++) {
		s->reqs[i].cfg = &s->cfg.reqs[i];
		s->reqs[i].due_ms = now; // everyone is asked once at start
	}
	s->now_ms = now;
	resolve(s); // the destination may start later: not an error
	try_open(s);
	if (s->cfg.nreqs > 0) {
		sched_arm(s);
	}
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
	framer_sync(s);
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
