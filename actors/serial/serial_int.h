// SPDX-License-Identifier: MIT
// serial_int.h -- the serial actor's state and what its files share,
// from the top down (each calls only the files under it): serial.c, the
// actor's ops; reader.c, the port's lifecycle, reading and the stall
// detector; poll.c, polling and the framer's callback; deliver.c, the
// destination and sending; counters.c; timer.c.
// Private to actors/serial.  Everything here runs on the actor's loop.

#ifndef ARBOR_SERIAL_INT_H
#define ARBOR_SERIAL_INT_H

#include "config.h"
#include "framer.h"
#include "port.h"
#include "watch.h"

#include <arbor/actor.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READ_BUF   65536
#define READS_MAX  16   // reads per wakeup, then the loop runs others
#define RESOLVE_MS 100  // at most one arb_whereis per this, while missing
#define REFRESH_MS 1000 // the destination is looked up again this often
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
	    "Poll requests skipped: still waiting when due again.")           \
	X(READS, "reads", "serial_reads_total", NULL,                         \
	    "Reads from the port that returned bytes.")

enum {
#define X(id, name, metric, label, help) C_##id,
	COUNTERS(X)
#undef X
	    C_COUNT
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
	struct event       *rd;     // port readable (while open)
	struct event       *resume; // end of the turn: reading resumes
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
	int64_t     resolved_ms; // when the destination was last looked up
	unsigned    attempt;     // reopen attempts since the last open
	int         last_err;    // of the last failed open (logging)
	int64_t     last_frame_ms;
	bool        synced; // the framer synced since the open
	int64_t     stalls_in_row;
	uint32_t    rng;
	uint64_t    c[C_COUNT];
	arb_metric *m[C_COUNT]; // NULL when a declaration failed
	arb_metric *open_gauge;
	uint64_t    reported[C_COUNT]; // drops already logged
	int64_t     report_ms[C_COUNT];
	// polling
	serial_req reqs[SERIAL_REQS_MAX];
	size_t     queue[SERIAL_REQS_MAX];
	size_t     qhead, qlen;
	int        cur; // request in flight, -1 when none
	poll_state pstate;
	size_t     wr_off;
	// set by ser_reader_init: the device went away (err, or why when
	// err is 0); poll.c calls it when a request's write fails
	void (*lost_cb)(struct serial *s, int err, const char *why);
} serial;

// --- reader.c ---------------------------------------------------------------

// ser_reader_init sets s->lost_cb and makes the reader's timers and the
// inotify watch (a warning, not an error, when inotify is missing).
// ARB_OK or ARB_ENOMEM.
int ser_reader_init(serial *s);

// ser_reader_fini closes the port and frees what ser_reader_init made.
// Safe on a half-made reader.
void ser_reader_fini(serial *s);

// ser_try_open opens the port now, or schedules the next attempt.
void ser_try_open(serial *s);

// ser_port_close closes the port (restoring it), cancels what waits on it
// and resets the framer.  A harmless no-op when closed.
void ser_port_close(serial *s);

// --- poll.c -----------------------------------------------------------------

// ser_poll_init makes the polling timers (nothing without requests).
// ARB_OK or ARB_ENOMEM.  ser_poll_fini frees them.
int  ser_poll_init(serial *s);
void ser_poll_fini(serial *s);

// ser_poll_start arms the schedule: every request is due at once.
void ser_poll_start(serial *s);

// ser_poll_next starts the next queued request if the port is open and
// the line is free; ser_poll_abort forgets the request in flight (the
// port closed).
void ser_poll_next(serial *s);
void ser_poll_abort(serial *s);

// ser_on_frame is the framer's callback (serial_frame_fn): in polling
// mode the reply to the request in flight is delivered with its name and
// any other frame is unsolicited; else every frame is delivered.
void ser_on_frame(void *arg, const uint8_t *p, size_t n);

// ser_on_write is the port's EV_WRITE callback (a request half written).
void ser_on_write(evutil_socket_t fd, short what, void *arg);

// --- deliver.c --------------------------------------------------------------

// ser_dest_resolve looks the destination up (at most once per
// RESOLVE_MS while it is missing); false when there is none.
bool ser_dest_resolve(serial *s);

// ser_dest_refresh looks the destination up again when REFRESH_MS passed
// since the last look-up (blocking in a process actor: called before a
// read, never while frames wait to be handed on).
void ser_dest_refresh(serial *s);

// ser_deliver sends one frame to the destination (device: the poll
// request answered, or NULL); every frame takes the next seq.
void ser_deliver(serial *s, const uint8_t *p, size_t n, const char *device);

// --- counters.c -------------------------------------------------------------

// ser_counters_declare declares the counters' metrics and the open gauge
// (a failed declaration leaves NULL: its updates do nothing).
void ser_counters_declare(serial *s);

// ser_count adds n to counter c (and its metric); drops after framing are
// logged at most once per REPORT_MS per cause.
void ser_count(serial *s, int c, uint64_t n);

// ser_framer_sync adds what the framer counted since the last call.
void ser_framer_sync(serial *s);

// ser_counters_encode syncs the framer's counts and writes the STATS
// reply into buf: its length, 0 when cap is too small.
size_t ser_counters_encode(serial *s, void *buf, size_t cap);

// --- timer.c ----------------------------------------------------------------
// (The clocks are arbor's: arb__now_ms, CLOCK_MONOTONIC in ms, and
// arb__wall_ns, CLOCK_REALTIME in ns, of src/core/arb_clock.h.)

// ser_timer_ms (re)arms a timer event for ms (< 0 counts as 0).
void ser_timer_ms(struct event *ev, int64_t ms);

#endif // ARBOR_SERIAL_INT_H
