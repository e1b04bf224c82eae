// SPDX-License-Identifier: MIT
// arbor_bench.c -- arbor-bench: speed and memory of arbor beside the floors
// measured in the same run (raw nng, posix_spawn, a bare thread+loop).
//
// Each case runs in a fresh child process (this program re-executed with
// --case NAME), because a node is one per process and because RSS must be
// measured in isolation.  Results are a table, or with --json one object
// per line: {"name","value","unit","baseline","ratio"} where ratio =
// value / baseline.  Not run by ctest: the machine is noisy, so compare
// ratios, not absolute figures (docs/performance.md).

#include "bench.h"
#include "bench_mqtt.h"
#include "bench_node.h"
#include "bench_serial.h"
#include "bench_store.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>


#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  kib = -1;

	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	return kib;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

// ---------------------------------------------------------------------------
// Raw nng floors
// ---------------------------------------------------------------------------
#define RAW_N 100000

typedef struct raw_arg {
	const char *url;
	int         n;
} raw_arg;

static void *
raw_pull_thread(void *arg)
{
	raw_arg   *a = arg;
	nng_socket s;
	nng_msg   *m;
	int        i;

	nng_pull0_open(&s);
	nng_listen(s, a->url, NULL, 0);
	for (i = 0; i < a->n; i++) {
		if (nng_recvmsg(s, &m, 0) != 0) {
			break;
		}
		nng_msg_free(m);
	}
	nng_close(s);
	return NULL;
}

static void
case_raw_push(const char *url, const char *name)
{
	raw_arg    a = { url, RAW_N };
	pthread_t  t;
	nng_socket s;
	char       body[64] = { 0 };
	int64_t    t0;
	int        i;

	pthread_create(&t, NULL, raw_pull_thread, &a);
	nng_push0_open(&s);
	nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 1);
	nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK);
	t0 = now_ns();
	for (i = 0; i < RAW_N; i++) {
		nng_send(s, body, sizeof(body), 0);
	}
	pthread_join(t, NULL);
	result(name, RAW_N / ((now_ns() - t0) / 1e9), "msgs/s");
	nng_close(s);
}

// The raw nng stream floor: what the byte pipe under arbor's links moves
// between two threads over ipc, 64 B messages written one per
// nng_stream_send (as raw PUSH sends them), or 1,024 per send (64 KiB: the
// pipe's ceiling, what a perfectly batching sender could reach).
typedef struct raw_stream {
	nng_stream_listener *l;
	long                 bytes;
} raw_stream;

static void
raw_stream_io(nng_stream *st, nng_aio *aio, bool send, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		nng_iov iov = { .iov_buf = p, .iov_len = len };

		nng_aio_set_iov(aio, 1, &iov);
		if (send) {
			nng_stream_send(st, aio);
		} else {
			nng_stream_recv(st, aio);
		}
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0) {
			return;
		}
		if (!send) {
			return; // a receiver takes whatever came
		}
		p += nng_aio_count(aio);
		len -= nng_aio_count(aio);
	}
}

static void *
raw_stream_reader(void *arg)
{
	raw_stream *r = arg;
	nng_aio    *aio;
	nng_stream *st;
	long        got = 0;
	static uint8_t buf[256 * 1024];

	nng_aio_alloc(&aio, NULL, NULL);
	nng_stream_listener_accept(r->l, aio);
	nng_aio_wait(aio);
	st = nng_aio_get_output(aio, 0);
	while (got < r->bytes) {
		raw_stream_io(st, aio, false, buf, sizeof(buf));
		if (nng_aio_result(aio) != 0) {
			break;
		}
		got += (long) nng_aio_count(aio);
	}
	nng_stream_free(st);
	nng_aio_free(aio);
	return NULL;
}

static void
case_raw_stream(const char *url, const char *name, int per_send)
{
	enum { N = 400000 };
	raw_stream          r = { .bytes = (long) N * 64 };
	nng_stream_dialer  *d;
	nng_stream         *st;
	nng_aio            *aio;
	pthread_t           t;
	static uint8_t      body[64 * 1024];
	int64_t             t0;
	int                 i;

	nng_stream_listener_alloc(&r.l, url);
	nng_stream_listener_listen(r.l);
	pthread_create(&t, NULL, raw_stream_reader, &r);
	nng_aio_alloc(&aio, NULL, NULL);
	nng_stream_dialer_alloc(&d, url);
	nng_stream_dialer_dial(d, aio);
	nng_aio_wait(aio);
	st = nng_aio_get_output(aio, 0);
	t0 = now_ns();
	for (i = 0; i < N; i += per_send) {
		raw_stream_io(st, aio, true, body, (size_t) per_send * 64);
	}
	pthread_join(t, NULL);
	result(name, N / ((now_ns() - t0) / 1e9), "msgs/s");
	nng_stream_free(st);
	nng_stream_dialer_free(d);
	nng_stream_listener_free(r.l);
	nng_aio_free(aio);
}

static void *
raw_pair_echo(void *arg)
{
	raw_arg   *a = arg;
	nng_socket s;
	nng_msg   *m;
	int        i;

	nng_pair1_open(&s);
	nng_listen(s, a->url, NULL, 0);
	for (i = 0; i < a->n; i++) {
		if (nng_recvmsg(s, &m, 0) != 0 || nng_sendmsg(s, m, 0) != 0) {
			break;
		}
	}
	nng_close(s);
	return NULL;
}

static void
case_raw_pingpong(const char *url, const char *prefix)
{
	enum { N = 5000 };
	raw_arg    a = { url, N };
	pthread_t  t;
	nng_socket s;
	nng_msg   *m;
	static int64_t lat[N];
	char       name[64];
	int        i;

	pthread_create(&t, NULL, raw_pair_echo, &a);
	nng_pair1_open(&s);
	nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 1);
	nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK);
	for (i = 0; i < N; i++) {
		int64_t t0 = now_ns();
		nng_msg_alloc(&m, 64);
		nng_sendmsg(s, m, 0);
		nng_recvmsg(s, &m, 0);
		nng_msg_free(m);
		lat[i] = now_ns() - t0;
	}
	pthread_join(t, NULL);
	nng_close(s);
	qsort(lat + N / 10, N - N / 10, sizeof(int64_t), cmp_i64); // warm-up
	snprintf(name, sizeof(name), "%s_median", prefix);
	result(name, lat[N / 10 + (N - N / 10) / 2] / 1e3, "us");
	snprintf(name, sizeof(name), "%s_p99", prefix);
	result(name, lat[N / 10 + (N - N / 10) * 99 / 100] / 1e3, "us");
}

static void
case_spawn_floor(void)
{
	enum { N = 200 };
	static int64_t lat[N];
	char *const    argv[] = { (char *) "/bin/true", NULL };
	int            i, st;
	pid_t          pid;

	for (i = 0; i < N; i++) {
		int64_t t0 = now_ns();
		posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
		waitpid(pid, &st, 0);
		lat[i] = now_ns() - t0;
	}
	qsort(lat, N, sizeof(int64_t), cmp_i64);
	result("posix_spawn_wait_median", lat[N / 2] / 1e3, "us");
}

// A bare thread + event_base + nng PULL socket per "actor", idle: the
// floor for per-actor memory.
static atomic_int bare_ready;
static atomic_int bare_stop;

static void *
bare_thread(void *arg)
{
	struct event_base *b = event_base_new();
	nng_socket         s;
	char               url[64];

	snprintf(url, sizeof(url), "inproc://bare-%ld", (long) (intptr_t) arg);
	nng_pull0_open(&s);
	nng_listen(s, url, NULL, 0);
	atomic_fetch_add(&bare_ready, 1);
	while (!atomic_load(&bare_stop)) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(b, &tv);
		event_base_dispatch(b);
	}
	nng_close(s);
	event_base_free(b);
	return NULL;
}

static void
case_bare(int n)
{
	pthread_t     *t = calloc((size_t) n, sizeof(*t));
	pthread_attr_t attr;
	long           r0 = rss_kib();
	char           name[64];
	int            i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < n; i++) {
		pthread_create(&t[i], &attr, bare_thread, (void *) (intptr_t) i);
	}
	while (atomic_load(&bare_ready) < n) {
		sched_yield();
	}
	snprintf(name, sizeof(name), "bare_rss_per_actor_%d", n);
	result(name, (double) (rss_kib() - r0) / n, "KiB");
	atomic_store(&bare_stop, 1);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
	}
	free(t);
}

// ---------------------------------------------------------------------------
// arbor cases
// ---------------------------------------------------------------------------
enum { T_DATA = 1, T_DONE, T_PING, T_CRASH, T_HELLO, T_T0, T_ACK };

static arb_node *bench_node;
static long      stream_n = 2000000;
static char      stream_iso[16];

// source: pumps stream_n 64-byte messages to root/sink, 1024 per turn.
typedef struct source {
	arb_ctx      *ctx;
	struct event *pump;
	struct event *backoff;
	arb_pid       sink;
	long          sent;
	uint8_t       body[64];
} source;

static void
source_pump(evutil_socket_t fd, short what, void *arg)
{
	source *s = arg;
	int     i;

	(void) fd;
	(void) what;
	for (i = 0; i < 1024 && s->sent < stream_n; i++) {
		memcpy(s->body, &s->sent, sizeof(s->sent));
		if (arb_send_copy(s->ctx, s->sink, T_DATA, s->body,
		        sizeof(s->body)) != ARB_OK) {
			// Full (ARB_EAGAIN): back off briefly instead of
			// spinning; the queue drains meanwhile.
			struct timeval tv = { 0, 200 };
			evtimer_add(s->backoff, &tv);
			return;
		}
		s->sent++;
	}
	if (s->sent < stream_n) {
		event_active(s->pump, 0, 0);
	}
}

static int
source_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	source *s = calloc(1, sizeof(*s));
	int64_t t0;

	(void) arg;
	(void) len;
	s->ctx = ctx;
	if (arb_whereis(ctx, "root/sink", &s->sink) != ARB_OK) {
		return ARB_ENOENT;
	}
	s->pump    = event_new(arb_base(ctx), -1, 0, source_pump, s);
	s->backoff = evtimer_new(arb_base(ctx), source_pump, s);
	// Same (lowest) priority as the end-of-turn flush, so batches go
	// out between pumps.
	event_priority_set(s->pump, event_base_get_npriorities(arb_base(ctx)) - 1);
	t0 = now_ns();
	arb_send_copy(ctx, s->sink, T_T0, &t0, sizeof(t0));
	event_active(s->pump, 0, 0);
	*statep = s;
	return ARB_OK;
}

static void
source_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	source *s = state;

	(void) ctx;
	(void) why;
	event_free(s->pump);
	event_free(s->backoff);
	free(s);
}

typedef struct sink_state {
	int64_t t0;
	long    got;
	long    bad_order;
} sink_state;

static int
sink_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	// The isolation's name comes in arg: a process sink does not share
	// this program's globals.
	snprintf(stream_iso, sizeof(stream_iso), "%.*s", (int) len,
	    (const char *) arg);
	*statep = calloc(1, sizeof(sink_state));
	return ARB_OK;
}

static void
sink_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	sink_state *k = state;
	long        seq;

	if (arb_msg_tag(m) == T_T0) {
		memcpy(&k->t0, arb_msg_body(m), sizeof(k->t0));
		return;
	}
	if (arb_msg_tag(m) != T_DATA) {
		return;
	}
	memcpy(&seq, arb_msg_body(m), sizeof(seq));
	if (seq != k->got) {
		k->bad_order++;
	}
	if (++k->got == stream_n) {
		char     name[64];
		arb_exit e = { .kind = ARB_EXIT_NORMAL };
		double   s = (now_ns() - k->t0) / 1e9;
		arb_stats st;

		arb_stats_get(ctx, &st);
		snprintf(name, sizeof(name), "stream_%s", stream_iso);
		result(name, stream_n / s, "msgs/s");
		snprintf(name, sizeof(name), "stream_%s_envelopes_per_batch",
		    stream_iso);
		result(name, (double) st.msgs_in / (double) st.batches_in, "env");
		if (k->bad_order != 0) {
			fprintf(stderr, "order violated %ld times\n", k->bad_order);
		}
		arb_actor_exit(ctx, &e); // significant: ends the node
	}
}

// Link churn: a thread source streams to a process sink that ends itself
// every CHURN_LIFE_MS (an error exit: restarted at once), for CHURN_MS.
// What arrived is every actor's msgs_in, what was lost and counted the
// node's dead letters, lost and stale (arb_node_stats_get once the node
// has stopped; the source stops sending 500 ms before it ends the node,
// so that little is still queued when the node stops).
#define CHURN_MS      3000
#define CHURN_LIFE_MS 100

static long    churn_sent;
static int64_t churn_t0, churn_t1;

static void
csource_pump(evutil_socket_t fd, short what, void *arg)
{
	source *s = arg;
	int     i;

	(void) fd;
	(void) what;
	if (churn_t1 != 0) {
		arb_exit e = { .kind = ARB_EXIT_NORMAL };

		arb_actor_exit(s->ctx, &e); // significant: ends the node
		return;
	}
	if (now_ns() - churn_t0 >= (int64_t) CHURN_MS * 1000000) {
		// Stop sending; what is queued reaches the sink's next
		// incarnations (or is counted) before the node stops.
		struct timeval tv = { 0, 500000 };

		churn_t1 = now_ns();
		evtimer_add(s->backoff, &tv);
		return;
	}
	for (i = 0; i < 1024; i++) {
		memcpy(s->body, &churn_sent, sizeof(churn_sent));
		if (arb_send_copy(s->ctx, s->sink, T_DATA, s->body,
		        sizeof(s->body)) != ARB_OK) {
			struct timeval tv = { 0, 200 };
			evtimer_add(s->backoff, &tv);
			return;
		}
		churn_sent++;
	}
	event_active(s->pump, 0, 0);
}

static int
csource_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	source *s = calloc(1, sizeof(*s));

	(void) arg;
	(void) len;
	s->ctx = ctx;
	if (arb_whereis(ctx, "root/sink", &s->sink) != ARB_OK) {
		return ARB_ENOENT;
	}
	s->pump    = event_new(arb_base(ctx), -1, 0, csource_pump, s);
	s->backoff = evtimer_new(arb_base(ctx), csource_pump, s);
	event_priority_set(s->pump, event_base_get_npriorities(arb_base(ctx)) - 1);
	churn_t0 = now_ns();
	event_active(s->pump, 0, 0);
	*statep = s;
	return ARB_OK;
}

static void
flaky_end(evutil_socket_t fd, short what, void *arg)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = 1 };

	(void) fd;
	(void) what;
	arb_actor_exit(arg, &e);
}

static int
flaky_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	struct timeval tv = { 0, CHURN_LIFE_MS * 1000 };
	struct event  *ev = evtimer_new(arb_base(ctx), flaky_end, ctx);

	(void) arg;
	(void) len;
	evtimer_add(ev, &tv);
	*statep = ev;
	return ARB_OK;
}

static void
flaky_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	event_free(state);
}

// Publish fan-out: a thread publisher publishes stream_n / PUB_SUBS
// 64-byte messages on one topic that PUB_SUBS subscribers (all thread or
// all process actors) subscribed to in init, so as many envelopes are
// delivered as in the stream cases.  arb_publish never refuses (a full
// subscriber costs a dead letter), so the publisher keeps at most
// PUB_WINDOW publishes beyond what the slowest subscriber acknowledged
// (every PUB_ACK_EVERY).  Result: deliveries/s, beside stream_* (one
// sender, one receiver) from the same run.
#define PUB_SUBS      4
#define PUB_WINDOW    8192
#define PUB_ACK_EVERY 1024

typedef struct publisher {
	arb_ctx      *ctx;
	struct event *pump;
	long          n, sent;
	long          acked[PUB_SUBS]; // by subscriber index
	int           done;
	int64_t       t0;
	uint8_t       body[64];
} publisher;

static long
pub_min_acked(const publisher *p)
{
	long m = p->acked[0];
	int  i;

	for (i = 1; i < PUB_SUBS; i++) {
		m = p->acked[i] < m ? p->acked[i] : m;
	}
	return m;
}

static void
pub_pump(evutil_socket_t fd, short what, void *arg)
{
	publisher *p = arg;
	int        i;

	(void) fd;
	(void) what;
	for (i = 0; i < 1024 && p->sent < p->n &&
	     p->sent - pub_min_acked(p) < PUB_WINDOW;
	     i++) {
		memcpy(p->body, &p->sent, sizeof(p->sent));
		arb_publish(p->ctx, "bench", T_DATA, p->body, sizeof(p->body));
		p->sent++;
	}
	if (p->sent < p->n && p->sent - pub_min_acked(p) < PUB_WINDOW) {
		event_active(p->pump, 0, 0);
	}
}

static int
pub_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	publisher *p = calloc(1, sizeof(*p));

	(void) arg;
	(void) len;
	p->ctx  = ctx;
	p->n    = stream_n / PUB_SUBS;
	p->pump = event_new(arb_base(ctx), -1, 0, pub_pump, p);
	event_priority_set(
	    p->pump, event_base_get_npriorities(arb_base(ctx)) - 1);
	p->t0 = now_ns();
	event_active(p->pump, 0, 0);
	*statep = p;
	return ARB_OK;
}

static void
pub_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	publisher *p = state;
	long       v[2]; // subscriber index, count received

	if (arb_msg_len(m) != sizeof(v)) {
		return;
	}
	memcpy(v, arb_msg_body(m), sizeof(v));
	if (v[0] < 0 || v[0] >= PUB_SUBS) {
		return;
	}
	if (arb_msg_tag(m) == T_ACK) {
		bool stalled = p->sent - pub_min_acked(p) >= PUB_WINDOW;

		p->acked[v[0]] = v[1];
		if (stalled && p->sent - pub_min_acked(p) < PUB_WINDOW) {
			event_active(p->pump, 0, 0);
		}
	} else if (arb_msg_tag(m) == T_DONE && ++p->done == PUB_SUBS) {
		char      name[64];
		double    secs = (now_ns() - p->t0) / 1e9;
		arb_exit  e = { .kind = ARB_EXIT_NORMAL };
		arb_stats st;

		arb_stats_get(ctx, &st);
		snprintf(name, sizeof(name), "pubsub_%s_%dsubs", stream_iso,
		    PUB_SUBS);
		result(name, (double) p->n * PUB_SUBS / secs, "msgs/s");
		snprintf(name, sizeof(name), "pubsub_%s_publishes", stream_iso);
		result(name, (double) p->n / secs, "pub/s");
		snprintf(name, sizeof(name), "pubsub_%s_dead", stream_iso);
		result(name, (double) st.dead_letters, "msgs");
		arb_actor_exit(ctx, &e); // significant: ends the node
	}
}

static void
pub_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	publisher *p = state;

	(void) ctx;
	(void) why;
	event_free(p->pump);
	free(p);
}

typedef struct subscriber {
	long    idx, got, n;
	arb_pid pub;
} subscriber;

static int
subscriber_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	subscriber *k = calloc(1, sizeof(*k));
	char        buf[16];

	snprintf(buf, sizeof(buf), "%.*s", (int) len, (const char *) arg);
	k->idx = atol(buf);
	// A process subscriber runs before main reads the environment.
	k->n = (getenv("ARB_BENCH_STREAM_N") != NULL
	           ? atol(getenv("ARB_BENCH_STREAM_N"))
	           : stream_n) /
	    PUB_SUBS;
	if (arb_subscribe(ctx, "bench") != ARB_OK) {
		free(k);
		return ARB_ENOENT;
	}
	*statep = k;
	return ARB_OK;
}

static void
subscriber_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	subscriber *k = state;
	long        v[2];

	if (arb_msg_tag(m) != T_DATA) {
		return;
	}
	k->pub = arb_msg_from(m); // acknowledged to the publisher
	k->got++;
	v[0] = k->idx;
	v[1] = k->got;
	if (k->got % PUB_ACK_EVERY == 0) {
		arb_send_copy(ctx, k->pub, T_ACK, v, sizeof(v));
	}
	if (k->got == k->n) {
		arb_send_copy(ctx, k->pub, T_DONE, v, sizeof(v));
	}
}

static void
subscriber_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	free(state);
}

static const arb_actor_ops publisher_ops = { .type = "publisher",
	.init = pub_init, .handle = pub_handle, .terminate = pub_terminate };
static const arb_actor_ops subscriber_ops = { .type = "subscriber",
	.init = subscriber_init, .handle = subscriber_handle,
	.terminate = subscriber_terminate };

static const arb_actor_ops csource_ops = { .type = "csource",
	.init = csource_init, .terminate = source_terminate };
static const arb_actor_ops flaky_ops = { .type = "flaky",
	.init = flaky_init, .terminate = flaky_terminate };

static const arb_actor_ops source_ops = { .type = "source",
	.init = source_init, .terminate = source_terminate };
static const arb_actor_ops sink_ops = { .type = "sink", .init = sink_init,
	.handle = sink_handle };

// echo: replies to every request; caller: sequential calls.
static void
echo_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	(void) state;
	if (arb_msg_is_request(m)) {
		arb_reply(ctx, m, T_PING, arb_msg_body(m), arb_msg_len(m));
	}
}

static int
nop_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*statep = NULL;
	return ARB_OK;
}

#define CALL_N 5000
typedef struct caller {
	arb_pid echo;
	int     i;
	int64_t t0;
	int64_t lat[CALL_N];
	char    prefix[32];
} caller;

static void caller_next(arb_ctx *ctx, caller *c);

static void
caller_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	caller *c = arg;

	if (r->status != ARB_OK) {
		fprintf(stderr, "call: %s\n", arb_strerror(r->status));
	}
	c->lat[c->i++] = now_ns() - c->t0;
	caller_next(ctx, c);
}

static void
caller_next(arb_ctx *ctx, caller *c)
{
	uint8_t body[64] = { 0 };

	if (c->i == CALL_N) {
		char     name[64];
		int      w = CALL_N / 10;
		arb_exit e = { .kind = ARB_EXIT_NORMAL };

		qsort(c->lat + w, CALL_N - w, sizeof(int64_t), cmp_i64);
		snprintf(name, sizeof(name), "%s_median", c->prefix);
		result(name, c->lat[w + (CALL_N - w) / 2] / 1e3, "us");
		snprintf(name, sizeof(name), "%s_p99", c->prefix);
		result(name, c->lat[w + (CALL_N - w) * 99 / 100] / 1e3, "us");
		arb_actor_exit(ctx, &e);
		return;
	}
	c->t0 = now_ns();
	arb_call(ctx, c->echo, T_PING, body, sizeof(body), 5000, caller_cb, c);
}

static int
caller_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	caller *c = calloc(1, sizeof(*c));

	snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int) len, (const char *) arg);
	if (arb_whereis(ctx, "root/echo", &c->echo) != ARB_OK) {
		return ARB_ENOENT;
	}
	*statep = c;
	caller_next(ctx, c);
	return ARB_OK;
}

static const arb_actor_ops echo_ops = { .type = "echo", .init = nop_init,
	.handle = echo_handle };
static const arb_actor_ops caller_ops = { .type = "caller",
	.init = caller_init };

// Restart latency: the driver asks the victim to crash; the victim sends
// its crash time, the new incarnation its init time.
#define RESTART_N 300
typedef struct driver {
	arb_ctx      *ctx;
	arb_pid       victim;
	struct event *retry_ev; // a kick lost in flight is sent again
	int           lost;
	int      i;
	int      n;
	int64_t  t_crash; // the victim's crash time, 0 until it arrives
	int64_t  t_hello; // its successor's init time, 0 until it arrives
	int64_t  lat[RESTART_N];
	char     prefix[48];
	// restart_process_spaced*: each kick 20 ms after the previous
	// restart's init, as restarts after a backoff come (a standby has
	// loaded by then); the others kick at once.
	bool          spaced;
	struct event *kick_ev;
} driver;

static void
driver_kick(driver *d)
{
	struct timeval tv = { 0, 200000 };

	arb_send_copy(d->ctx, d->victim, T_CRASH, NULL, 0);
	evtimer_add(d->retry_ev, &tv);
}

// Delivery is at-most-once (SPEC 19): a kick handed to nng just as the
// previous incarnation's connection dies is lost.  Count it and kick again.
static void
driver_retry(evutil_socket_t fd, short what, void *arg)
{
	driver *d = arg;

	(void) fd;
	(void) what;
	d->lost++;
	driver_kick(d);
}

static void
driver_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	driver_kick(arg);
}

static int
driver_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	driver *d = calloc(1, sizeof(*d));

	d->ctx = ctx;
	d->n   = strncmp(arg, "restart_process", 15) == 0 ? 100 : RESTART_N;
	snprintf(d->prefix, sizeof(d->prefix), "%.*s", (int) len, (const char *) arg);
	arb_register(ctx, "driver");
	if (arb_whereis(ctx, "root/victim", &d->victim) != ARB_OK) {
		return ARB_ENOENT;
	}
	*statep = d;
	d->retry_ev = evtimer_new(arb_base(ctx), driver_retry, d);
	d->spaced   = strstr(d->prefix, "_spaced") != NULL;
	d->kick_ev  = evtimer_new(arb_base(ctx), driver_kick_cb, d);
	driver_kick(d);
	return ARB_OK;
}

static void
driver_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	driver *d = state;
	int64_t t;

	memcpy(&t, arb_msg_body(m), sizeof(t));
	// The two come from different senders (the old and the new
	// incarnation), so either may arrive first.
	if (arb_msg_tag(m) == T_CRASH) {
		d->t_crash = t;
	} else if (arb_msg_tag(m) == T_HELLO) {
		d->t_hello = t; // (the first incarnation finds no driver yet)
	}
	if (d->t_crash == 0 || d->t_hello == 0) {
		return;
	}
	d->lat[d->i++] = d->t_hello - d->t_crash;
	d->t_crash     = 0;
	d->t_hello     = 0;
	if (d->i == d->n) {
		char     name[64];
		arb_exit e = { .kind = ARB_EXIT_NORMAL };

		qsort(d->lat, (size_t) d->n, sizeof(int64_t), cmp_i64);
		snprintf(name, sizeof(name), "%s_median", d->prefix);
		result(name, d->lat[d->n / 2] / 1e3, "us");
		snprintf(name, sizeof(name), "%s_p99", d->prefix);
		result(name, d->lat[d->n * 99 / 100] / 1e3, "us");
		snprintf(name, sizeof(name), "%s_lost_kicks", d->prefix);
		result(name, d->lost, "msgs");
		event_free(d->retry_ev);
		event_free(d->kick_ev);
		arb_actor_exit(ctx, &e);
		return;
	}
	if (d->spaced) {
		struct timeval tv = { 0, 20000 };

		evtimer_add(d->kick_ev, &tv);
		return;
	}
	driver_kick(d);
}

static int
victim_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	arb_pid d;
	int64_t t = now_ns();

	(void) arg;
	(void) len;
	*statep = NULL;
	if (arb_whereis(ctx, "driver", &d) == ARB_OK) {
		arb_send_copy(ctx, d, T_HELLO, &t, sizeof(t));
	}
	return ARB_OK;
}

static void
victim_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	arb_pid d;
	int64_t t;

	(void) state;
	if (arb_msg_tag(m) == T_CRASH && arb_whereis(ctx, "driver", &d) == 0) {
		t = now_ns();
		arb_send_copy(ctx, d, T_CRASH, &t, sizeof(t));
		arb_actor_exit_error(ctx, 1, "bench crash");
	}
}

static const arb_actor_ops driver_ops = { .type = "driver",
	.init = driver_init, .handle = driver_handle };
static const arb_actor_ops victim_ops = { .type = "victim",
	.init = victim_init, .handle = victim_handle };

// scale: N idle thread actors, then a "marker" that measures.
static int64_t scale_t0;
static int     scale_n;
static long    scale_rss0;

static int
marker_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	char name[64];

	(void) ctx;
	(void) arg;
	(void) len;
	*statep = NULL;
	snprintf(name, sizeof(name), "start_%d_thread_actors", scale_n);
	result(name, (now_ns() - scale_t0) / 1e6, "ms");
	snprintf(name, sizeof(name), "rss_per_actor_%d", scale_n);
	result(name, (double) (rss_kib() - scale_rss0) / scale_n, "KiB");
	scale_t0 = now_ns();
	arb_node_stop(bench_node);
	return ARB_OK;
}

static const arb_actor_ops idle_ops = { .type = "idle", .init = nop_init };
static const arb_actor_ops marker_ops = { .type = "marker",
	.init = marker_init };

// restart_process*_nostandby: the node keeps no standby process.
static bool bench_no_standby;

static int
run_tree(const arb_child_spec *c, size_t n)
{
	arb_sup_spec  s = { .children = c, .nchildren = n,
		 .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
		 .intensity = 1000000, .period_ms = 1000 };
	arb_node_opts o = { .log_level = ARB_LOG_ERROR,
		.no_standby = bench_no_standby };
	int           code;

	if (arb_node_open(&bench_node, &o) != 0) {
		return 1;
	}
	arb_node_run(bench_node, &s, &code);
	arb_node_close(bench_node);
	return code;
}

// --- The log: what a line costs the thread that logs ------------------------

static atomic_bool log_reader_stop;

// log_reader drains the pipe until told to stop (no EOF to wait for: the
// log keeps a second file description of stderr's pipe, log.c).
static void *
log_reader(void *arg)
{
	int           fd = *(int *) arg;
	char          buf[65536];
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	while (!atomic_load(&log_reader_stop)) {
		if (poll(&pf, 1, 20) > 0 && read(fd, buf, sizeof(buf)) <= 0) {
			break;
		}
	}
	return NULL;
}

// case_log times lines logged in bursts of 100 (a restart loop's worth),
// the time inside the call only, with stderr a pipe that a thread
// drains: arb_log (into the log's buffer, written by its writer thread)
// beside the floor of one snprintf + write(2) per line on the same pipe
// (what a synchronous log costs at least).  The pauses between bursts
// let the writer catch up, so no line is dropped.
static void
case_log(void)
{
	enum { BURSTS = 200, PER = 100 };
	int       p[2], saved, b, i, round;
	pthread_t rd;
	int64_t   t0, ns[2] = { 0, 0 };
	char      line[200];

	if (pipe(p) != 0) {
		return;
	}
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	pthread_create(&rd, NULL, log_reader, &p[0]);
	arb_log(NULL, ARB_LOG_INFO, "bench_start", NULL); // starts the writer
	for (round = 0; round < 2; round++) {
		for (b = 0; b < BURSTS; b++) {
			for (i = 0; i < PER; i++) {
				t0 = now_ns();
				if (round == 0) {
					arb_log(NULL, ARB_LOG_INFO, "bench_line",
					    "burst=%d line=%d path=root/uplink/x", b, i);
				} else {
					int n = snprintf(line, sizeof(line),
					    "2026-01-01T00:00:00.000Z arbor[%d]: info - "
					    "event=bench_line burst=%d line=%d "
					    "path=root/uplink/x\n",
					    (int) getpid(), b, i);
					if (write(STDERR_FILENO, line, (size_t) n) < 0) {
						return;
					}
				}
				ns[round] += now_ns() - t0;
			}
			poll(NULL, 0, 2);
		}
	}
	poll(NULL, 0, 100); // the last lines drained
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	atomic_store(&log_reader_stop, true);
	pthread_join(rd, NULL);
	close(p[0]);
	result("log_line_ns", (double) ns[0] / (BURSTS * PER), "ns");
	result("log_floor_write_ns", (double) ns[1] / (BURSTS * PER), "ns");
}

static int
run_case(const char *name)
{
	int rv;

	if ((rv = bench_serial_case(name)) >= 0) {
		return rv;
	}
	if ((rv = bench_mqtt_case(name)) >= 0) {
		return rv;
	}
	if ((rv = bench_store_case(name)) >= 0) {
		return rv;
	}
	if ((rv = bench_node_case(name)) >= 0) {
		return rv;
	}
	if (strcmp(name, "log") == 0) {
		case_log();
	} else if (strcmp(name, "raw_inproc") == 0) {
		case_raw_push("inproc://bench-raw", "raw_nng_push_pull_inproc");
	} else if (strcmp(name, "raw_ipc") == 0) {
		char url[128];
		snprintf(url, sizeof(url), "ipc:///tmp/arbor-bench-%d.sock",
		    (int) getpid());
		case_raw_push(url, "raw_nng_push_pull_ipc");
		unlink(url + 6);
	} else if (strcmp(name, "raw_pair_inproc") == 0) {
		case_raw_pingpong("inproc://bench-pair", "raw_nng_pair_rtt_inproc");
	} else if (strcmp(name, "raw_pair_ipc") == 0) {
		char url[128];
		snprintf(url, sizeof(url), "ipc:///tmp/arbor-bench-p%d.sock",
		    (int) getpid());
		case_raw_pingpong(url, "raw_nng_pair_rtt_ipc");
		unlink(url + 6);
	} else if (strcmp(name, "raw_stream_ipc") == 0
	    || strcmp(name, "raw_stream_ipc_64k") == 0) {
		bool batched = name[14] != '\0';
		char url[128];

		snprintf(url, sizeof(url), "ipc:///tmp/arbor-bench-s%d.sock",
		    (int) getpid());
		case_raw_stream(url,
		    batched ? "raw_nng_stream_ipc_64k_writes"
		            : "raw_nng_stream_ipc",
		    batched ? 1024 : 1);
		unlink(url + 6);
	} else if (strcmp(name, "churn_process") == 0) {
		arb_child_spec c[] = {
			{ .name = "sink", .isolation = ARB_PROCESS, .type = "flaky" },
			{ .name = "source", .isolation = ARB_THREAD,
			    .type = "csource", .restart = ARB_TEMPORARY,
			    .significant = true },
		};
		arb_sup_spec   sp = { .children = c, .nchildren = 2,
			  .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
			  .intensity = 1000000, .period_ms = 1000 };
		arb_node_opts  o = { .log_level = ARB_LOG_ERROR };
		arb_node_stats st;
		double         secs, counted;
		int            code;

		if (arb_node_open(&bench_node, &o) != 0) {
			return 1;
		}
		arb_node_run(bench_node, &sp, &code);
		arb_node_stats_get(bench_node, &st);
		arb_node_close(bench_node);
		secs = (churn_t1 - churn_t0) / 1e9;
		counted = (double) (st.dead_letters + st.lost + st.stale);
		result("churn_process_msgs_per_s", st.msgs_in / secs, "msgs/s");
		result("churn_process_sent", (double) st.msgs_out, "msgs");
		result("churn_process_delivered", (double) st.msgs_in, "msgs");
		result("churn_process_lost_counted", counted, "msgs");
		result("churn_process_uncounted",
		    (double) st.msgs_out - (double) st.msgs_in - counted, "msgs");
		return code;
	} else if (strcmp(name, "spawn") == 0) {
		case_spawn_floor();
	} else if (strncmp(name, "stream_", 7) == 0) {
		arb_isolation iso = strcmp(name, "stream_thread") == 0
		    ? ARB_THREAD : ARB_PROCESS;
		arb_child_spec c[] = {
			{ .name = "sink", .isolation = iso, .type = "sink",
			    .arg = name + 7, .arg_len = strlen(name + 7),
			    .restart = ARB_TEMPORARY, .significant = true },
			{ .name = "source", .isolation = iso, .type = "source",
			    .restart = ARB_TEMPORARY },
		};
		snprintf(stream_iso, sizeof(stream_iso), "%s", name + 7);
		return run_tree(c, 2);
	} else if (strncmp(name, "pubsub_", 7) == 0) {
		arb_isolation  iso = strcmp(name, "pubsub_thread") == 0
		     ? ARB_THREAD : ARB_PROCESS;
		arb_child_spec c[PUB_SUBS + 1];
		char           names[PUB_SUBS][8], args[PUB_SUBS][4];
		int            i;

		memset(c, 0, sizeof(c));
		for (i = 0; i < PUB_SUBS; i++) {
			snprintf(names[i], sizeof(names[i]), "s%d", i);
			snprintf(args[i], sizeof(args[i]), "%d", i);
			c[i].name      = names[i];
			c[i].isolation = iso;
			c[i].type      = "subscriber";
			c[i].arg       = args[i];
			c[i].arg_len   = strlen(args[i]);
			c[i].restart   = ARB_TEMPORARY;
		}
		c[PUB_SUBS].name        = "publisher";
		c[PUB_SUBS].isolation   = ARB_THREAD;
		c[PUB_SUBS].type        = "publisher";
		c[PUB_SUBS].restart     = ARB_TEMPORARY;
		c[PUB_SUBS].significant = true;
		snprintf(stream_iso, sizeof(stream_iso), "%s", name + 7);
		return run_tree(c, PUB_SUBS + 1);
	} else if (strncmp(name, "call_", 5) == 0) {
		arb_isolation iso = strcmp(name, "call_thread") == 0
		    ? ARB_THREAD : ARB_PROCESS;
		arb_child_spec c[] = {
			{ .name = "echo", .isolation = iso, .type = "echo" },
			{ .name = "caller", .isolation = ARB_THREAD,
			    .type = "caller", .arg = name, .arg_len = strlen(name),
			    .restart = ARB_TEMPORARY, .significant = true },
		};
		return run_tree(c, 2);
	} else if (strncmp(name, "restart_", 8) == 0) {
		arb_isolation iso = strcmp(name, "restart_thread") == 0
		    ? ARB_THREAD : ARB_PROCESS;
		arb_child_spec c[] = {
			{ .name = "victim", .isolation = iso, .type = "victim" },
			{ .name = "driver", .isolation = ARB_THREAD,
			    .type = "driver", .arg = name, .arg_len = strlen(name),
			    .restart = ARB_TEMPORARY, .significant = true },
		};
		bench_no_standby = strstr(name, "_nostandby") != NULL;
		return run_tree(c, 2);
	} else if (strncmp(name, "scale_", 6) == 0) {
		int             n = atoi(name + 6), i, code;
		arb_child_spec *c = calloc((size_t) n + 1, sizeof(*c));
		char          (*names)[16] = calloc((size_t) n, 16);
		arb_sup_spec    s;
		arb_node_opts   o = { .log_level = ARB_LOG_ERROR };
		int64_t         t_stop;

		for (i = 0; i < n; i++) {
			snprintf(names[i], 16, "a%d", i);
			c[i].name = names[i];
			c[i].type = "idle";
		}
		c[n].name = "marker";
		c[n].type = "marker";
		memset(&s, 0, sizeof(s));
		s.children  = c;
		s.nchildren = (size_t) n + 1;
		scale_n     = n;
		arb_node_open(&bench_node, &o);
		scale_rss0 = rss_kib();
		scale_t0   = now_ns();
		arb_node_run(bench_node, &s, &code);
		t_stop = now_ns();
		{
			char rn[64];
			snprintf(rn, sizeof(rn), "stop_%d_thread_actors", n);
			result(rn, (t_stop - scale_t0) / 1e6, "ms");
		}
		arb_node_close(bench_node);
		free(c);
		free(names);
		return code;
	} else if (strncmp(name, "bare_", 5) == 0) {
		case_bare(atoi(name + 5));
	} else {
		fprintf(stderr, "unknown case %s\n", name);
		return 64;
	}
	return 0;
}

// --- orchestration ------------------------------------------------------
typedef struct res {
	char   name[64];
	double value;
	char   unit[16];
} res;

static res    results[256];
static size_t nresults;

static void
run_child(const char *self, const char *cname)
{
	char  cmd[4200];
	FILE *p;
	char  line[256];

	snprintf(cmd, sizeof(cmd), "'%s' --case %s", self, cname);
	if ((p = popen(cmd, "r")) == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), p) != NULL && nresults < 256) {
		res *r = &results[nresults];
		if (sscanf(line, "R %63s %lf %15s", r->name, &r->value, r->unit) ==
		    3) {
			nresults++;
		}
	}
	pclose(p);
}

static double
find(const char *name)
{
	size_t i;

	for (i = 0; i < nresults; i++) {
		if (strcmp(results[i].name, name) == 0) {
			return results[i].value;
		}
	}
	return 0;
}

static void
emit(bool json, const char *name, const char *base)
{
	size_t i;
	double b = base ? find(base) : 0;

	for (i = 0; i < nresults; i++) {
		res *r = &results[i];
		if (strcmp(r->name, name) != 0) {
			continue;
		}
		if (json) {
			printf("{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\","
			       "\"baseline\":%.3f,\"baseline_name\":\"%s\","
			       "\"ratio\":%.3f}\n",
			    r->name, r->value, r->unit, b, base ? base : "",
			    b > 0 ? r->value / b : 0);
		} else {
			printf("%-36s %14.1f %-7s  %-32s %12.1f  x%.2f\n", r->name,
			    r->value, r->unit, base ? base : "-", b,
			    b > 0 ? r->value / b : 0);
		}
	}
}

int
main(int argc, char **argv)
{
	static const char *cases[] = { "raw_inproc", "raw_ipc",
		"raw_stream_ipc", "raw_stream_ipc_64k", "churn_process",
		"raw_pair_inproc", "raw_pair_ipc", "spawn", "stream_thread",
		"stream_process", "pubsub_thread", "pubsub_process",
		"call_thread", "call_process",
		"restart_thread", "restart_process",
		"restart_process_nostandby", "restart_process_spaced",
		"restart_process_spaced_nostandby", "bare_100", "bare_1000",
				"bare_2500", "scale_100", "scale_1000", "scale_2500",
		"serial_bare", "serial_thread", "serial_process", "mqtt_bare",
		"mqtt_thread", "mqtt_process", "store_append", "store_reopen",
		"store_replay", "store_actor_append", "log", "node_raw_tcp",
		"node_stream_tcp", "node_call_tcp" };
	bool   json = false;
	size_t i;
	char   self[4096];
	ssize_t n;

	arb_actor_type_register(&source_ops);
	arb_actor_type_register(&csource_ops);
	arb_actor_type_register(&flaky_ops);
	arb_actor_type_register(&sink_ops);
	arb_actor_type_register(&publisher_ops);
	arb_actor_type_register(&subscriber_ops);
	arb_actor_type_register(&echo_ops);
	arb_actor_type_register(&caller_ops);
	arb_actor_type_register(&driver_ops);
	arb_actor_type_register(&victim_ops);
	arb_actor_type_register(&idle_ops);
		arb_actor_type_register(&marker_ops);
	bench_serial_register();
	bench_mqtt_register();
	bench_store_register();
	bench_node_register();
	arb_actor_main(argc, argv);
	{
		// Thousands of actors hold a few fds each: lift the limit when
		// allowed (root); the node lifts soft to hard by itself.
		struct rlimit rl = { 65536, 65536 };
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getenv("ARB_BENCH_STREAM_N") != NULL) {
		stream_n = atol(getenv("ARB_BENCH_STREAM_N"));
	}
	if (argc == 3 && strcmp(argv[1], "--case") == 0) {
		return run_case(argv[2]);
	}
	for (i = 1; i < (size_t) argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			fprintf(stderr, "usage: %s [--json]\n", argv[0]);
			return 64;
		}
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_child(self, cases[i]);
	}
	if (!json) {
		printf("%-36s %14s %-7s  %-32s %12s  %s\n", "name", "value", "unit",
		    "baseline (same run)", "baseline", "ratio");
	}
	emit(json, "log_line_ns", "log_floor_write_ns");
	emit(json, "stream_thread", "raw_nng_push_pull_inproc");
	emit(json, "stream_thread_envelopes_per_batch", NULL);
	emit(json, "stream_process", "raw_nng_push_pull_ipc");
	emit(json, "stream_process", "raw_nng_stream_ipc");
	emit(json, "stream_process", "raw_nng_stream_ipc_64k_writes");
	emit(json, "churn_process_msgs_per_s", "stream_process");
	emit(json, "churn_process_sent", NULL);
	emit(json, "churn_process_delivered", NULL);
	emit(json, "churn_process_lost_counted", NULL);
	emit(json, "churn_process_uncounted", NULL);
	emit(json, "stream_process_envelopes_per_batch", NULL);
	emit(json, "pubsub_thread_4subs", "stream_thread");
	emit(json, "pubsub_thread_publishes", NULL);
	emit(json, "pubsub_thread_dead", NULL);
	emit(json, "pubsub_process_4subs", "stream_process");
	emit(json, "pubsub_process_publishes", NULL);
	emit(json, "pubsub_process_dead", NULL);
	emit(json, "node_stream_tcp", "raw_nng_stream_tcp");
	emit(json, "node_stream_tcp", "raw_nng_pair_tcp");
	emit(json, "node_stream_tcp_per_core", "raw_nng_stream_tcp_per_core");
	emit(json, "node_stream_tcp_per_core", "raw_nng_pair_tcp_per_core");
	emit(json, "node_stream_tcp_cpu", "raw_nng_pair_tcp_cpu");
	emit(json, "node_stream_tcp_full_backlog", NULL);
	emit(json, "node_call_tcp_median", "raw_nng_pair_rtt_tcp_median");
	emit(json, "node_call_tcp_p99", "raw_nng_pair_rtt_tcp_p99");
	emit(json, "node_call_tcp_failed", NULL);
	emit(json, "call_thread_median", "raw_nng_pair_rtt_inproc_median");
	emit(json, "call_thread_p99", "raw_nng_pair_rtt_inproc_p99");
	emit(json, "call_process_median", "raw_nng_pair_rtt_ipc_median");
	emit(json, "call_process_p99", "raw_nng_pair_rtt_ipc_p99");
	emit(json, "restart_thread_median", "posix_spawn_wait_median");
	emit(json, "restart_thread_p99", "posix_spawn_wait_median");
	emit(json, "restart_thread_lost_kicks", NULL);
	emit(json, "restart_process_median", "posix_spawn_wait_median");
	emit(json, "restart_process_p99", "posix_spawn_wait_median");
	emit(json, "restart_process_lost_kicks", NULL);
	emit(json, "restart_process_nostandby_median",
	    "posix_spawn_wait_median");
	emit(json, "restart_process_nostandby_p99", "posix_spawn_wait_median");
	emit(json, "restart_process_nostandby_lost_kicks", NULL);
	emit(json, "restart_process_spaced_median", "posix_spawn_wait_median");
	emit(json, "restart_process_spaced_p99", "posix_spawn_wait_median");
	emit(json, "restart_process_spaced_nostandby_median",
	    "posix_spawn_wait_median");
	emit(json, "restart_process_spaced_nostandby_p99",
	    "posix_spawn_wait_median");
	emit(json, "start_100_thread_actors", NULL);
	emit(json, "stop_100_thread_actors", NULL);
	emit(json, "start_1000_thread_actors", NULL);
	emit(json, "stop_1000_thread_actors", NULL);
	emit(json, "start_2500_thread_actors", NULL);
	emit(json, "stop_2500_thread_actors", NULL);
	emit(json, "rss_per_actor_100", "bare_rss_per_actor_100");
	emit(json, "rss_per_actor_1000", "bare_rss_per_actor_1000");
		emit(json, "rss_per_actor_2500", "bare_rss_per_actor_2500");
			emit(json, "serial_thread_read", "serial_bare_read");
	emit(json, "serial_thread", "serial_bare_read");
	emit(json, "serial_thread_dropped", NULL);
	emit(json, "serial_process_read", "serial_bare_read");
	emit(json, "serial_process", "serial_bare_read");
	emit(json, "serial_process_dropped", NULL);
	emit(json, "mqtt_thread_qos1", "mqtt_bare_libmosquitto_qos1");
	emit(json, "mqtt_process_qos1", "mqtt_bare_libmosquitto_qos1");
	emit(json, "mqtt_thread_qos1_cpu_per_msg", "mqtt_bare_cpu_per_msg");
	emit(json, "mqtt_process_qos1_cpu_per_msg", "mqtt_bare_cpu_per_msg");
	emit(json, "mqtt_thread_qos1_failed", NULL);
	emit(json, "mqtt_process_qos1_failed", NULL);
	emit(json, "store_append_saturated", "raw_fdatasync_same_batch");
	emit(json, "store_append_saturated_records_per_commit", NULL);
	emit(json, "store_append_saturated_ack_p50", NULL);
	emit(json, "store_append_saturated_ack_p99", NULL);
	emit(json, "store_append_paced_200k", NULL);
	emit(json, "store_append_paced_records_per_commit", NULL);
	emit(json, "store_append_paced_ack_p50", "store_commit_interval");
	emit(json, "store_append_paced_ack_p99", "store_commit_interval");
	emit(json, "store_append_paced_ack_max", "store_commit_interval");
	emit(json, "store_fsync_p50", "raw_fdatasync_paced_batch_p50");
	emit(json, "store_fsync_p99", "raw_fdatasync_paced_batch_p99");
	emit(json, "store_reopen_cold", "raw_read_log_cold");
	emit(json, "store_reopen_warm", "raw_read_log_warm");
	emit(json, "store_reopen_backlog", NULL);
	emit(json, "store_reopen_torn_tails", NULL);
	emit(json, "store_replay_drain", "raw_read_backlog");
	emit(json, "store_replay_1h_backlog_drain", NULL);
	emit(json, "store_replay_feed", NULL);
	emit(json, "store_replay_feed_ack_p99", NULL);
	emit(json, "store_actor_append", "store_append_saturated");
	emit(json, "store_actor_append_ack_p50", NULL);
	emit(json, "store_actor_append_ack_p99", NULL);
	return 0;
}
