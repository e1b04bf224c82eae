// SPDX-License-Identifier: MIT
// bench_serial.c -- arbor-bench cases of the serial actor (actors/serial):
// line frames written into a pty, read by the serial actor, framed and
// sent as ARB_SERIAL_TAG_FRAME messages to a sink actor; beside the floor
// of the same run, a bare blocking read loop on a pty that only counts
// the newlines.  Each case runs in its own process (arbor_bench.c).

#include "bench_serial.h"

#include "serial.h"
#include "serial_msgs.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LINE_LEN  64      // bytes per frame, '\n' included
#define LINES_BUF 1024    // lines per write(2)
#define SERIAL_N  1000000 // frames per case

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
out(const char *name, double value, const char *unit)
{
	printf("R %s %.3f %s\n", name, value, unit);
	fflush(stdout);
}

// --- the device: a writer thread on the pty master ----------------------

typedef struct writer {
	arb_node       *node; // stopped if the last frame never arrives
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	bool            finished; // arb_node_run returned
	int             master;
	long            n;
	int64_t         t0;
	_Atomic int64_t t_written; // the last write(2) returned
	pthread_t       th;
	bool            started;
} writer;

// line_fmt writes line number seq (LINE_LEN bytes, '\n' included).
static void
line_fmt(char *p, long seq)
{
	char tmp[LINE_LEN + 1];

	snprintf(
	    tmp, sizeof(tmp), "t=21.5 h=40 seq=%-*ld", LINE_LEN - 17, seq);
	memcpy(p, tmp, LINE_LEN - 1);
	p[LINE_LEN - 1] = '\n';
}

static void *
writer_main(void *arg)
{
	writer *w = arg;
	char   *buf = malloc((size_t) LINE_LEN * LINES_BUF + 1);
	long    sent = 0;
	size_t  i, len, off;
	ssize_t k;

	if (buf == NULL) {
		return NULL;
	}
	// A leading '\n' marks where the first frame starts: the actor
	// drops nothing as partial.
	if (write(w->master, "\n", 1) != 1) {
		free(buf);
		return NULL;
	}
	// The lines are formatted once: the device costs a write(2) per
	// LINES_BUF lines, not a printf per line.  Only the last line of the
	// run differs (it carries the last number: the sink looks for it).
	for (i = 0; i < LINES_BUF; i++) {
		line_fmt(buf + i * LINE_LEN, 0);
	}
	w->t0 = mono_ns();
	while (sent < w->n) {
		len = 0;
		for (i = 0; i < LINES_BUF && sent < w->n; i++, sent++) {
			if (sent == w->n - 1) {
				line_fmt(buf + len, sent);
			}
			len += LINE_LEN;
		}
		for (off = 0; off < len; off += (size_t) k) {
			k = write(w->master, buf + off, len - off);
			if (k < 0 && errno == EINTR) {
				k = 0;
			} else if (k <= 0) {
				free(buf);
				return NULL;
			}
		}
	}
	free(buf);
	atomic_store(&w->t_written, mono_ns());
	if (w->node != NULL) {
		// Bounded: the last frame may have been dropped (a full queue
		// towards the sink); the node is then stopped after 5 s and
		// the sink reports what it got.
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		pthread_mutex_lock(&w->mtx);
		while (!w->finished
		    && pthread_cond_timedwait(&w->cv, &w->mtx, &ts) == 0) { }
		if (!w->finished) {
			arb_node_stop(w->node);
		}
		pthread_mutex_unlock(&w->mtx);
	}
	return NULL;
}

// pty_raw opens a pty whose slave is in raw mode (as the actor sets it),
// closes the slave and returns its name.
static int
pty_raw(int *master, char *name, size_t len)
{
	struct termios t;
	int            m, s;

	if (openpty(&m, &s, NULL, NULL, NULL) != 0) {
		return -1;
	}
	tcgetattr(s, &t);
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	snprintf(name, len, "%s", ttyname(s));
	fcntl(m, F_SETFD, FD_CLOEXEC);
	*master = m;
	close(s);
	return 0;
}

// --- the floor: a bare read loop ------------------------------------------

static void
case_bare(void)
{
	writer  w = { .n = SERIAL_N };
	char    name[64], buf[65536];
	long    lines = -1; // the leading '\n'
	int     fd;
	ssize_t k;
	int64_t t1;
	char   *p, *end;

	if (pty_raw(&w.master, name, sizeof(name)) != 0
	    || (fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "serial_bare: pty: %s\n", strerror(errno));
		return;
	}
	pthread_create(&w.th, NULL, writer_main, &w);
	while (lines < SERIAL_N && (k = read(fd, buf, sizeof(buf))) > 0) {
		for (p = buf, end = buf + k;
		     (p = memchr(p, '\n', (size_t) (end - p))) != NULL; p++) {
			lines++;
		}
	}
	t1 = mono_ns();
	pthread_join(w.th, NULL);
	out("serial_bare_read", (double) SERIAL_N / ((t1 - w.t0) / 1e9),
	    "frames/s");
	close(fd);
	close(w.master);
}

// --- through the actor ----------------------------------------------------

static char           bench_iso[16];
static struct writer *bench_writer; // in the node's process

// The sink counts frames and ends the node (it is significant) when the
// last line written arrives: the frame is the tail of the message body
// (docs/actors.md), so no decoding is needed to see it.  A sample is
// decoded to check the format and the seq.  Frames the actor had to drop
// (its queue towards the sink full: ARB_EAGAIN) are reported as
// serial_ISO_dropped; the rate counts delivered frames only.
typedef struct fsink {
	long    got;
	long    bad;
	int64_t t_last;
	bool    done;
	char    last[LINE_LEN];
} fsink;

static void
fsink_report(fsink *k)
{
	char name[64];

	if (k->done) {
		return;
	}
	k->done = true;
	snprintf(name, sizeof(name), "serial_%s", bench_iso);
	out(name, (double) k->got / ((k->t_last - bench_writer->t0) / 1e9),
	    "frames/s");
	snprintf(name, sizeof(name), "serial_%s_dropped", bench_iso);
	out(name, (double) (SERIAL_N - k->got), "frames");
	// How fast the actor took the bytes off the pty (the writer blocks
	// while the pty is full), comparable with serial_bare_read.
	snprintf(name, sizeof(name), "serial_%s_read", bench_iso);
	out(name,
	    (double) SERIAL_N
	        / ((atomic_load(&bench_writer->t_written) - bench_writer->t0)
	            / 1e9),
	    "frames/s");
	if (k->bad != 0) {
		fprintf(stderr, "serial bench: %ld bad frames\n", k->bad);
	}
}

static int
fsink_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	fsink *k = calloc(1, sizeof(*k));

	(void) ctx;
	if (k == NULL) {
		return ARB_ENOMEM;
	}
	snprintf(bench_iso, sizeof(bench_iso), "%.*s", (int) len,
	    (const char *) arg);
	snprintf(k->last, sizeof(k->last), "t=21.5 h=40 seq=%-*ld",
	    LINE_LEN - 17, (long) SERIAL_N - 1);
	*statep = k;
	return ARB_OK;
}

static void
fsink_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	fsink           *k = state;
	arb_serial_frame f;
	const uint8_t   *body = arb_msg_body(m);
	size_t           len = arb_msg_len(m);
	arb_exit         e = { .kind = ARB_EXIT_NORMAL };

	if (arb_msg_tag(m) != ARB_SERIAL_TAG_FRAME) {
		return;
	}
	if (k->got % 1000 == 0) { // decode a sample: the format holds
		if (arb_serial_frame_decode(body, len, &f) != 0
		    || f.len != LINE_LEN - 1
		    || f.seq < (uint64_t) k->got + 1) {
			k->bad++;
		}
	}
	// The clock is read every 256 frames (it costs as much as the rest
	// of this function) and at the last one.
	if (++k->got % 256 == 0) {
		k->t_last = mono_ns();
	}
	if (len >= LINE_LEN - 1
	    && memcmp(body + len - (LINE_LEN - 1), k->last, LINE_LEN - 1)
	        == 0) {
		k->t_last = mono_ns();
		fsink_report(k);
		arb_actor_exit(ctx, &e); // significant: ends the node
	}
}

static void
fsink_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	fsink_report(state); // also when the node was stopped early
	free(state);
}

static const arb_actor_ops fsink_ops = { .type = "serial_sink",
	.init = fsink_init,
	.handle = fsink_handle,
	.terminate = fsink_terminate };

// hook_ready starts the device once the tree (the port open) is up.
static void
hook_ready(arb_node *node, void *arg)
{
	writer *w = arg;

	(void) node;
	if (!w->started) {
		w->started = pthread_create(&w->th, NULL, writer_main, w) == 0;
	}
}

static int
case_actor(arb_isolation iso, const char *isoname)
{
	writer          w = { .n = SERIAL_N,
		         .mtx = PTHREAD_MUTEX_INITIALIZER,
		         .cv = PTHREAD_COND_INITIALIZER };
	char            path[64];
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	arb_node       *node;
	arb_node_hooks  h = { .ready = hook_ready };
	arb_node_opts   o = { .log_level = ARB_LOG_ERROR };
	int             code = 1;

	if (pty_raw(&w.master, path, sizeof(path)) != 0) {
		return 1;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "path", 4);
	msgpack_pack_str_with_body(&pk, path, strlen(path));
	msgpack_pack_str_with_body(&pk, "to", 2);
	msgpack_pack_str_with_body(&pk, "root/sink", 9);
	{
		arb_child_spec c[] = {
			{ .name = "sink",
			    .type = "serial_sink",
			    .isolation = ARB_THREAD,
			    .arg = isoname,
			    .arg_len = strlen(isoname),
			    .restart = ARB_TEMPORARY,
			    .significant = true },
			{ .name = "serial",
			    .type = "serial",
			    .isolation = iso,
			    .arg = sb.data,
			    .arg_len = sb.size,
			    .restart = ARB_TEMPORARY },
		};
		arb_sup_spec s = { .children = c,
			.nchildren = 2,
			.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT };

		bench_writer = &w;
		if (arb_node_open(&node, &o) == 0) {
			w.node = node;
			arb_node_set_hooks(node, &h, &w);
			arb_node_run(node, &s, &code);
			pthread_mutex_lock(&w.mtx);
			w.finished = true;
			pthread_cond_signal(&w.cv);
			pthread_mutex_unlock(&w.mtx);
			arb_node_close(node);
		}
	}
	if (w.started) {
		close(w.master); // unblocks a writer still writing
		w.master = -1;
		pthread_join(w.th, NULL);
	}
	if (w.master >= 0) {
		close(w.master);
	}
	msgpack_sbuffer_destroy(&sb);
	return code;
}

void
bench_serial_register(void)
{
	arb_actor_type_register(&arb_serial_ops);
	arb_actor_type_register(&fsink_ops);
}

int
bench_serial_case(const char *name)
{
	if (strcmp(name, "serial_bare") == 0) {
		case_bare();
		return 0;
	}
	if (strcmp(name, "serial_thread") == 0) {
		return case_actor(ARB_THREAD, "thread");
	}
	if (strcmp(name, "serial_process") == 0) {
		return case_actor(ARB_PROCESS, "process");
	}
	return -1;
}
