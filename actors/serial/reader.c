// SPDX-License-Identifier: MIT
// reader.c -- the serial port's lifecycle: open, read and frame, the gap
// timer, loss and reopen (full-jitter exponential backoff, plus inotify on
// the path: watch.c), and the stall detector.
//
// closed -> (open ok) open -> (read error, EOF, hang-up, stall) closed ->
// reopen timer, or the path (re)appearing -> open again.  The descriptor is
// non-blocking and reads are bounded per wakeup.  Thread: the actor's loop.

#include "backoff.h"
#include "serial_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void port_lost(serial *s, int err, const char *why);

static uint32_t
rng_next(serial *s)
{
	uint32_t x = s->rng; // xorshift32

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return s->rng = x != 0 ? x : 0x9e3779b9u;
}

// backoff_ms is the next reopen delay (backoff.h).
static int64_t
backoff_ms(serial *s)
{
	return serial_backoff_ms(serial_backoff_cap(s->cfg.reopen_min_ms,
	                             s->cfg.reopen_max_ms, s->attempt),
	    rng_next(s));
}

// arm_gap keeps the invariant: the gap timer is pending exactly while the
// framer wants a gap, counted from the last read.
static void
arm_gap(serial *s)
{
	if (serial_framer_wants_gap(&s->fr)) {
		ser_timer_ms(s->gap, s->cfg.gap_ms);
	} else {
		event_del(s->gap);
	}
}

// on_read reads and frames what the port has, then pauses reading until
// the end of the loop turn (on_resume): the frames of a read are handed on
// (the outbound queue's flush, which runs when nothing else is active)
// before the next read.  Without the pause a port that is readable at
// every turn -- a reader catching up with a backlog -- starved the flush,
// and the reader held up to a whole batch (64 KiB of frames, hundreds of
// lines) unsent, which a SIGKILL lost.  So a kill loses at most the frames
// of one read (docs/actors.md, "What a kill of a reader loses").
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;
	ssize_t n;
	int     i;
	bool    got = false;

	(void) what;
	s->now_ms = arb__now_ms();
	ser_dest_refresh(s); // may block (process actor): nothing unsent now
	if (s->rd == NULL) {
		return;
	}
	for (i = 0; i < READS_MAX; i++) {
		n = read(fd, s->rbuf, READ_BUF);
		if (n > 0) {
			s->rx_ns = arb__wall_ns();
			s->now_ms = arb__now_ms();
			got = true;
			ser_count(s, C_BYTES, (uint64_t) n);
			ser_count(s, C_READS, 1);
			serial_framer_feed(
			    &s->fr, s->rbuf, (size_t) n, ser_on_frame, s);
			ser_framer_sync(s);
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
	if (got && s->rd != NULL) {
		event_del(s->rd);
		event_active(s->resume, 0, 0);
	}
}

// on_resume runs at the end of the turn, after the outbound queue's flush
// (the same lowest priority, activated before it): reading goes on.
static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;

	(void) fd;
	(void) what;
	if (s->rd != NULL) {
		event_add(s->rd, NULL);
	}
}

static void
on_gap(evutil_socket_t fd, short what, void *arg)
{
	serial *s = arg;

	(void) fd;
	(void) what;
	if (s->port.fd < 0 || !serial_port_quiet(&s->port)) {
		// Not quiet after all: on_read runs next and re-arms.  (The
		// kernel may still hold bytes the line discipline has not got
		// yet: serial_port_quiet, not the line discipline's count.)
		return;
	}
	if (!serial_framer_wants_gap(&s->fr)) {
		// Armed while unsynced, and a delimiter (or a poll request)
		// synced the framer since: in line and delimiter modes a gap
		// must not cut the frame now in progress.
		return;
	}
	s->rx_ns = arb__wall_ns();
	s->now_ms = arb__now_ms();
	serial_framer_boundary(&s->fr, ser_on_frame, s);
	ser_framer_sync(s);
}

// schedule_reopen arms the reopen timer and the watch.  err is why the
// last open failed (0 after a loss): when it was ENOENT and the path exists
// now that the watch is armed, the device appeared in between (no event
// will tell), so the next attempt is at once (twice at most in a row, so
// that a path that exists and cannot be opened never spins).
static void
schedule_reopen(serial *s, int err)
{
	int64_t ms = backoff_ms(s);

	s->attempt++;
	if (s->watch_ev != NULL && serial_watch_arm(&s->watch) && err == ENOENT
	    && s->attempt <= 2) {
		ms = 0;
	}
	ser_timer_ms(s->reopen, ms);
}

// port_unhook cancels what waits on the open port (its events, the gap
// and stall timers, a poll request in flight) and resets the framer; the
// descriptor is left to the caller, to close or reopen.
static void
port_unhook(serial *s)
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
	ser_poll_abort(s);
	if (s->port.fd >= 0) {
		arb_metric_set(s->open_gauge, 0);
	}
	serial_framer_reset(&s->fr);
	ser_framer_sync(s);
}

void
ser_port_close(serial *s)
{
	port_unhook(s);
	serial_port_close(&s->port);
}

// port_open opens the port, or with reopen closes and opens it again
// keeping its settings in between (port.h: serial_port_reopen), and
// reads on it, or schedules the next attempt.
static void
port_open(serial *s, bool reopen)
{
	char     err[128];
	int      rv;
	unsigned attempt;

	s->now_ms = arb__now_ms();
	if (reopen) {
		port_unhook(s);
		rv = serial_port_reopen(
		    &s->port, s->cfg.path, &s->cfg.line, err, sizeof(err));
	} else {
		rv = serial_port_open(
		    &s->port, s->cfg.path, &s->cfg.line, err, sizeof(err));
	}
	if (rv != 0) {
		ser_count(s, C_OPEN_FAILURES, 1);
		// The first failure of a series, or a new reason, is a
		// warning; the same failure again is only debug.
		// The line is written once the watch is armed, so whoever
		// reads it may plug the device at once.
		attempt = s->attempt;
		schedule_reopen(s, rv);
		arb_log(s->ctx,
		    attempt == 0 || rv != s->last_err ? ARB_LOG_WARN
		                                      : ARB_LOG_DEBUG,
		    "open_failed", "dev=%s error=\"%s\" attempt=%u",
		    s->cfg.path, err, attempt + 1);
		s->last_err = rv;
		return;
	}
	s->rd
	    = event_new(s->base, s->port.fd, EV_READ | EV_PERSIST, on_read, s);
	s->wr = event_new(s->base, s->port.fd, EV_WRITE, ser_on_write, s);
	if (s->rd == NULL || s->wr == NULL || event_add(s->rd, NULL) != 0) {
		ser_port_close(s);
		arb_actor_exit_error(s->ctx, ARB_ENOMEM, "serial: event_new");
		return;
	}
	event_del(s->reopen);
	if (s->watch_ev != NULL) {
		serial_watch_disarm(&s->watch);
	}
	if (s->c[C_OPENS] > 0) {
		ser_count(s, C_REOPENS, 1);
	}
	ser_count(s, C_OPENS, 1);
	arb_metric_set(s->open_gauge, 1);
	arb_log(s->ctx, ARB_LOG_INFO, "open", "dev=%s baud=%u attempts=%u",
	    s->cfg.path, s->cfg.line.baud, s->attempt + 1);
	s->attempt = 0;
	s->last_err = 0;
	s->last_frame_ms = s->now_ms;
	s->synced = false;
	arm_gap(s); // unsynced: the first quiet gap syncs
	if (s->cfg.stall_ms > 0) {
		ser_timer_ms(s->stall, s->cfg.stall_ms);
	}
	if (s->pstate == P_IDLE) {
		ser_poll_next(s);
	}
}

void
ser_try_open(serial *s)
{
	port_open(s, false);
}

// port_lost: the device went away (or broke).  The line is logged once
// the watch is armed, so whoever reads it may replug at once.
static void
port_lost(serial *s, int err, const char *why)
{
	ser_count(s, C_LOST, 1);
	ser_port_close(s);
	schedule_reopen(s, 0);
	arb_log(s->ctx, ARB_LOG_WARN, "lost", "dev=%s error=\"%s\"",
	    s->cfg.path, why != NULL ? why : strerror(err));
}

static void
on_reopen(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	ser_try_open(arg);
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
		ser_try_open(s);
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
	s->now_ms = arb__now_ms();
	idle = s->now_ms - s->last_frame_ms;
	if (idle < s->cfg.stall_ms) {
		ser_timer_ms(s->stall, s->cfg.stall_ms - idle);
		return;
	}
	s->stalls_in_row++;
	ser_count(s, C_STALLS, 1);
	if (s->cfg.stall_max > 0 && s->stalls_in_row >= s->cfg.stall_max) {
		snprintf(text, sizeof(text),
		    "%lld stalls in a row on %.40s (no frame for %lld ms)",
		    (long long) s->stalls_in_row, s->cfg.path,
		    (long long) s->cfg.stall_ms);
		arb_log(s->ctx, ARB_LOG_ERROR, "stall",
		    "dev=%s idle_ms=%lld in_a_row=%lld action=exit",
		    s->cfg.path, (long long) idle,
		    (long long) s->stalls_in_row);
		ser_port_close(s);
		arb_actor_exit_error(s->ctx, ARB_ETIMEDOUT, text);
		return;
	}
	arb_log(s->ctx, ARB_LOG_WARN, "stall",
	    "dev=%s idle_ms=%lld in_a_row=%lld action=reopen", s->cfg.path,
	    (long long) idle, (long long) s->stalls_in_row);
	// The port's settings stay as they are until it is open again: put
	// back in between, they would handle what the device sends meanwhile
	// (serial_port_reopen).
	s->attempt = 0;
	port_open(s, true);
}

int
ser_reader_init(serial *s)
{
	s->lost_cb = port_lost; // poll.c: a request's write failed
	s->watch.fd = -1;
	s->gap = evtimer_new(s->base, on_gap, s);
	s->reopen = evtimer_new(s->base, on_reopen, s);
	s->stall = evtimer_new(s->base, on_stall, s);
	s->resume = event_new(s->base, -1, 0, on_resume, s);
	if (s->gap == NULL || s->reopen == NULL || s->stall == NULL
	    || s->resume == NULL) {
		return ARB_ENOMEM;
	}
	// The lowest priority, as the outbound queue's flush (actor loop:
	// it runs when nothing else is active, after the flush).
	event_priority_set(s->resume, event_base_get_npriorities(s->base) - 1);
	// Without inotify the backoff timer alone finds the device again.
	if (serial_watch_open(&s->watch, s->cfg.path) == 0) {
		s->watch_ev = event_new(
		    s->base, s->watch.fd, EV_READ | EV_PERSIST, on_watch, s);
		if (s->watch_ev == NULL || event_add(s->watch_ev, NULL) != 0) {
			return ARB_ENOMEM;
		}
	} else {
		arb_log(s->ctx, ARB_LOG_WARN, "no_inotify",
		    "dev=%s (a replugged device is found by the reopen "
		    "timer only)",
		    s->cfg.path);
	}
	return ARB_OK;
}

void
ser_reader_fini(serial *s)
{
	struct event **evs[]
	    = { &s->gap, &s->reopen, &s->stall, &s->watch_ev, &s->resume };
	size_t i;

	ser_port_close(s);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
	serial_watch_close(&s->watch);
}
