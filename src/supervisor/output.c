// SPDX-License-Identifier: MIT
// output.c -- what an exec child writes to stdout and stderr, as log
// lines of its path.
//
// An exec child's stdout and stderr are pipes that the node reads on its
// loop; each line becomes one line of the node's log,
//   arbor[PID]: info root/x event=output stream=stdout | TEXT
// with control bytes written as \xNN (core/escape.c) and a line longer
// than ARB__OUT_PIECE bytes cut into pieces.  At most ARB__OUT_RATE lines
// a second (bursts of ARB__OUT_BURST) of one child are logged; the others
// are dropped and counted, and the count is logged (event=output_dropped,
// within a second of a drop, at most once a second, and when the child
// ends).  The node drains each pipe whenever it is readable, up to 64 KiB
// a turn, dropping rather than waiting, so a child that writes faster
// than that is slowed down at most by the pipe (1 MiB when the system
// allows) between two turns of the loop, never stopped.
//
// The line assembly and the rate limit are pure (tested in
// tests/unit/supervisor/output_test.c); the rest is the node loop's.
// Thread: node.

#include "sup_rt.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
arb__outrate_init(arb__outrate *r, int64_t now_ms)
{
	r->tokens_milli = (int64_t) ARB__OUT_BURST * 1000;
	r->last_ms      = now_ms;
}

bool
arb__outrate_take(arb__outrate *r, int64_t now_ms)
{
	int64_t cap = (int64_t) ARB__OUT_BURST * 1000;

	if (now_ms > r->last_ms) {
		// ARB__OUT_RATE lines a second = ARB__OUT_RATE milli-lines a
		// millisecond.
		r->tokens_milli += (now_ms - r->last_ms) * ARB__OUT_RATE;
		if (r->tokens_milli > cap) {
			r->tokens_milli = cap;
		}
		r->last_ms = now_ms;
	}
	if (r->tokens_milli < 1000) {
		return false;
	}
	r->tokens_milli -= 1000;
	return true;
}

void
arb__outline_feed(arb__outline *l, const char *p, size_t n,
    arb__outline_fn fn, void *arg)
{
	while (n > 0) {
		const char *nl   = memchr(p, '\n', n);
		size_t      take = nl != NULL ? (size_t) (nl - p) : n;
		size_t      room = sizeof(l->buf) - l->len;

		if (take >= room) {
			// No newline within the piece: emit what fills it, but
			// a character cut short at its end (UTF-8) starts the
			// next piece.
			size_t cut;

			memcpy(l->buf + l->len, p, room);
			cut = arb__utf8_cut(l->buf, sizeof(l->buf));
			fn(arg, l->buf, cut);
			l->len = sizeof(l->buf) - cut;
			memmove(l->buf, l->buf + cut, l->len);
			p += room;
			n -= room;
			continue;
		}
		memcpy(l->buf + l->len, p, take);
		l->len += take;
		p += take;
		n -= take;
		if (nl == NULL) {
			return; // the rest of the line comes later
		}
		p++; // the newline
		n--;
		if (l->len > 0 && l->buf[l->len - 1] == '\r') {
			l->len--; // CRLF
		}
		fn(arg, l->buf, l->len);
		l->len = 0;
	}
}

void
arb__outline_flush(arb__outline *l, arb__outline_fn fn, void *arg)
{
	if (l->len > 0) {
		fn(arg, l->buf, l->len);
		l->len = 0;
	}
}

// --- the node's side: pipes on the loop --------------------------------

typedef struct out_stream {
	struct arb__output *o;
	int                 fd;
	struct event       *ev;
	arb__outline        line;
	const char         *name; // "stdout" / "stderr"
} out_stream;

struct arb__output {
	arb__child  *c;
	out_stream   s[2];
	arb__outrate rate;
	uint64_t     lines;   // logged
	uint64_t     dropped; // over the rate, in all
	uint64_t     unsaid;  // dropped and not yet logged as dropped
	int64_t      said_ms; // when the last output_dropped was logged
	struct event *say_ev; // logs the drops not yet logged
};

static void
out_say_dropped(arb__output *o, int64_t now)
{
	if (o->unsaid == 0) {
		return;
	}
	arb__log(ARB_LOG_WARN, o->c->path,
	    "event=output_dropped lines=%llu total=%llu limit=%d/s "
	    "burst=%d",
	    (unsigned long long) o->unsaid, (unsigned long long) o->dropped,
	    ARB__OUT_RATE, ARB__OUT_BURST);
	o->unsaid  = 0;
	o->said_ms = now;
}

static void
out_say_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	out_say_dropped(arg, arb__now_ms());
}

static void
out_line(void *arg, const char *text, size_t n)
{
	out_stream  *s = arg;
	arb__output *o = s->o;
	int64_t      now = arb__now_ms();
	char         esc[ARB__OUT_PIECE * 4 + 1];

	if (!arb__outrate_take(&o->rate, now)) {
		o->dropped++;
		if (o->unsaid++ == 0) {
			// Said within a second, at most once a second.
			int64_t        wait = o->said_ms + 1000 - now;
			struct timeval tv;
			wait = wait < 0 ? 0 : wait > 1000 ? 1000 : wait;
			tv.tv_sec  = 0;
			tv.tv_usec = (suseconds_t) (wait * 1000);
			event_add(o->say_ev, &tv);
		}
		return;
	}
	arb__escape(text, n, esc, sizeof(esc));
	o->lines++;
	arb__log(ARB_LOG_INFO, o->c->path, "event=output stream=%s | %s",
	    s->name, esc);
}

// out_read reads what s's pipe holds, up to limit bytes; false at EOF or
// on an error (the stream is then closed).
static bool
out_read(out_stream *s, size_t limit)
{
	char    buf[4096];
	size_t  total = 0;
	ssize_t n;

	while (total < limit) {
		n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			arb__outline_feed(
			    &s->line, buf, (size_t) n, out_line, s);
			total += (size_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return true;
		}
		return false; // EOF (every writer closed) or an error
	}
	return true; // more may wait: the next turn of the loop
}

static void
out_stream_close(out_stream *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->fd >= 0) {
		arb__outline_flush(&s->line, out_line, s);
		close(s->fd);
		s->fd = -1;
	}
}

static void
out_cb(evutil_socket_t fd, short what, void *arg)
{
	out_stream *s = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	if (!out_read(s, 64 * 1024)) {
		out_stream_close(s);
	}
}

int
arb__output_open(arb__output **op, arb__child *c, int outfd, int errfd)
{
	arb__output *o;
	int          i, fds[2] = { outfd, errfd };

	if ((o = arb__alloc(sizeof(*o))) == NULL) {
		close(outfd);
		close(errfd);
		return ARB_ENOMEM;
	}
	o->c = c;
	arb__outrate_init(&o->rate, arb__now_ms());
	o->said_ms = arb__now_ms() - 1000;
	if ((o->say_ev = evtimer_new(c->tree->base, out_say_cb, o)) == NULL) {
		close(outfd);
		close(errfd);
		arb__free(o);
		return ARB_ENOMEM;
	}
	for (i = 0; i < 2; i++) {
		o->s[i].o    = o;
		o->s[i].fd   = fds[i];
		o->s[i].name = i == 0 ? "stdout" : "stderr";
	}
	for (i = 0; i < 2; i++) {
		out_stream *s = &o->s[i];

		fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
		s->ev = event_new(
		    c->tree->base, s->fd, EV_READ | EV_PERSIST, out_cb, s);
		if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
			arb__output_close(o);
			return ARB_ENOMEM;
		}
	}
	*op = o;
	return ARB_OK;
}

void
arb__output_close(arb__output *o)
{
	int i;

	if (o == NULL) {
		return;
	}
	for (i = 0; i < 2; i++) {
		// What the child wrote before it ended is still in the pipe
		// (at most its size: the writers are gone).
		if (o->s[i].fd >= 0) {
			out_read(&o->s[i], ARB__OUT_PIPE);
		}
		out_stream_close(&o->s[i]);
	}
	out_say_dropped(o, arb__now_ms());
	event_free(o->say_ev);
	arb__free(o);
}
