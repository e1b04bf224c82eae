// SPDX-License-Identifier: MIT
// mn_bulk.c -- arb-mn-bulk: one node of a bulk transfer between two nodes
// (issue 12: "bulk transfer at full speed with no false DOWN"), for
// tests/multinode/60_bulk.sh and bench/multinode_bulk.sh.
//
//   arb-mn-bulk NAME LISTEN PEER PEER_URL COOKIE sink
//   arb-mn-bulk NAME LISTEN PEER PEER_URL COOKIE source SLOT IDLE_S BULK_S
//   arb-mn-bulk NAME LISTEN PEER PEER_URL COOKIE both TARGET IDLE_S BULK_S
//
// The sink node runs one thread actor that counts what arrives and prints
// "sink slot=N" (its slot address on its node).  The source node's
// thread actor waits until the peer is up, lets the link idle IDLE_S
// seconds, then sends 64 B messages to the sink's slot as fast as the
// link takes them for BULK_S seconds (ARB_EAGAIN: again 200 us later,
// counted), one in 1,024 carrying its send time so the sink can tell how
// long data waits (queues and the stream, one way).  Both nodes run a
// watcher that reads arb_node_peers every 10 ms and keeps every heartbeat
// round trip (a new echo: the time since the last one went down), apart
// for the idle and the bulk span, and the longest silence seen during
// the bulk.  "both" runs a sink and a source, each way at once
// (tests/multinode/76_merge_traffic.sh); its TARGET is the peer's sink,
// a SLOT as for source or "same": the slot of this node's own sink (both
// nodes run the same tree; the script checks that both print the same
// slot).  By slot, not by name: a name's envelopes pass through the
// receiving node's names mailbox, which holds every name of that node
// back while one actor is busy (it no longer drops them: integration
// 74_peers test_flood_by_name_loses_nothing).  IDLE_S -1 starts the
// bulk at once, before the peer is up (the script makes sure the peer's
// sink runs before anything can reach it).  Lines on stdout (the scripts read them):
//
//   source start                         the bulk begins
//   source second=K sent=N full=F        each second of the bulk
//   source end sent=N secs=S rate=R saturated_seconds=K seconds=B
//       merged_at=M    (M: what it had sent when this node first merged
//       its link's stream into the peer's, arb_node_stats.link_merged;
//       -1: not during the bulk)
//   sink end got=N disorder=D lat_p50_us=.. lat_p99_us=..
//   watch phase=P downs=D ups=U hb_timeouts=T idle_n=.. idle_p50_us=..
//         idle_p99_us=.. bulk_n=.. bulk_p50_us=.. bulk_p99_us=..
//         bulk_max_us=.. silence_max_ms=.. lost=.. refused=..
//                                        (every second)
//
// The node logs to stderr (event=peer_up / event=peer_down).  It runs
// until SIGTERM.  Default heartbeats (500 ms x 4).

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include "transport/transport.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { T_DATA = 1, T_END = 2 };

#define RTT_MAX 4096

static const struct timeval tv_200us = { 0, 200 };
static const struct timeval tv_10ms = { 0, 10000 };
static const struct timeval tv_1s = { 1, 0 };
#define LAT_MAX 200000

static arb_node   *g_node;
static atomic_int  g_phase; // 0 idle, 1 bulk, 2 after

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

// pct: the p-th percentile of v[n] (sorts v); -1 when n is 0.
static long long
pct(int64_t *v, size_t n, int p)
{
	size_t i;

	if (n == 0) {
		return -1;
	}
	qsort(v, n, sizeof(*v), cmp_i64);
	i = (n * (size_t) p + 99) / 100;
	return (long long) v[i > 0 ? i - 1 : 0];
}

static void
out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// out prints one line on stdout, whole: the watch, source and sink actors
// run on threads of their own, and without the lock a watch line once
// landed inside "sink slot=N" (the script read the slot as "Nwatch" and
// the source's init refused it).
static void
out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flockfile(stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
	va_end(ap);
}

// --- watch: heartbeat round trips as arb_node_peers shows them ----------
typedef struct watch {
	struct event *tick;
	int64_t       prev_hb;
	int64_t       rtt[2][RTT_MAX]; // [0] idle, [1] bulk
	size_t        nrtt[2];
	int64_t       silence_max;
	int64_t       next_print;
} watch;

static void
watch_tick(evutil_socket_t fd, short what, void *arg)
{
	watch           *w = arg;
	arb_peer_info    pi;
	arb__tp_totals   t;
	int              ph = atomic_load(&g_phase);
	int64_t          tmp[RTT_MAX];
	long long        ip50, ip99, bp50, bp99, bmax;

	(void) fd;
	(void) what;
	if (arb_node_peers(g_node, &pi, 1) != 1) {
		return;
	}
	if (pi.last_hb_ms >= 0 && w->prev_hb >= 0 && pi.last_hb_ms < w->prev_hb
	    && pi.rtt_us >= 0 && ph < 2 && w->nrtt[ph] < RTT_MAX) {
		w->rtt[ph][w->nrtt[ph]++] = pi.rtt_us;
	}
	w->prev_hb = pi.last_hb_ms;
	if (ph == 1 && pi.last_hb_ms > w->silence_max) {
		w->silence_max = pi.last_hb_ms;
	}
	if (now_ns() < w->next_print) {
		return;
	}
	w->next_print = now_ns() + 1000000000;
	arb__tp_stats_get(&t);
	memcpy(tmp, w->rtt[0], w->nrtt[0] * sizeof(int64_t));
	ip50 = pct(tmp, w->nrtt[0], 50);
	ip99 = pct(tmp, w->nrtt[0], 99);
	memcpy(tmp, w->rtt[1], w->nrtt[1] * sizeof(int64_t));
	bp50 = pct(tmp, w->nrtt[1], 50);
	bp99 = pct(tmp, w->nrtt[1], 99);
	bmax = pct(tmp, w->nrtt[1], 100);
	out("watch phase=%d state=%s downs=%llu ups=%llu hb_timeouts=%llu "
	    "idle_n=%zu idle_p50_us=%lld idle_p99_us=%lld bulk_n=%zu "
	    "bulk_p50_us=%lld bulk_p99_us=%lld bulk_max_us=%lld "
	    "silence_max_ms=%lld lost=%llu refused=%llu",
	    ph, arb_peer_state_name(pi.state), (unsigned long long) pi.downs,
	    (unsigned long long) pi.ups, (unsigned long long) t.hb_timeouts,
	    w->nrtt[0], ip50, ip99, w->nrtt[1], bp50, bp99, bmax,
	    (long long) w->silence_max, (unsigned long long) t.lost,
	    (unsigned long long) t.refused);
}

static int
watch_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	watch *w = calloc(1, sizeof(*w));

	(void) arg;
	(void) len;
	if (w == NULL) {
		return ARB_ENOMEM;
	}
	w->prev_hb = -1;
	w->tick = event_new(arb_base(ctx), -1, EV_PERSIST, watch_tick, w);
	event_add(w->tick, &tv_10ms);
	*statep = w;
	return ARB_OK;
}

static void
watch_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	watch *w = state;

	(void) ctx;
	(void) why;
	event_free(w->tick);
	free(w);
}

// --- source -----------------------------------------------------------------
typedef struct source {
	arb_ctx      *ctx;
	struct event *pump, *backoff, *tick, *second;
	arb_pid       sink;
	bool          same; // the sink's slot: our own sink's (to look up)
	int           idle_s, bulk_s, secs, saturated;
	long          sent, full, full_sec, merged_at;
	uint64_t      merged0;
	int64_t       t0, t_end;
	uint8_t       body[64];
} source;

static void
source_pump(evutil_socket_t fd, short what, void *arg)
{
	source *s = arg;
	int     i;

	(void) fd;
	(void) what;
	if (atomic_load(&g_phase) != 1) {
		return;
	}
	if (s->merged_at < 0 && arb__peers_merged() != s->merged0) {
		s->merged_at = s->sent;
	}
	for (i = 0; i < 1024; i++) {
		int64_t t = (s->sent & 1023) == 0 ? now_ns() : 0;

		memcpy(s->body, &s->sent, sizeof(s->sent));
		memcpy(s->body + 8, &t, sizeof(t));
		if (arb_send_copy(s->ctx, s->sink, T_DATA, s->body,
		        sizeof(s->body))
		    != ARB_OK) {
			s->full++;
			s->full_sec++;
			evtimer_add(s->backoff, &tv_200us);
			return;
		}
		s->sent++;
	}
	event_active(s->pump, 0, 0);
}

// Each second of the bulk: a line; at its end, T_END (until taken).
static void
source_second(evutil_socket_t fd, short what, void *arg)
{
	source *s = arg;
	long    v[2];

	(void) fd;
	(void) what;
	if (atomic_load(&g_phase) == 1) {
		s->secs++;
		s->saturated += s->full_sec > 0;
		out("source second=%d sent=%ld full=%ld", s->secs, s->sent,
		    s->full_sec);
		s->full_sec = 0;
		if (s->secs < s->bulk_s) {
			return;
		}
		s->t_end = now_ns();
		atomic_store(&g_phase, 2);
		if (s->merged_at < 0 && arb__peers_merged() != s->merged0) {
			s->merged_at = s->sent;
		}
		out("source end sent=%ld secs=%.3f rate=%.0f "
		    "saturated_seconds=%d seconds=%d merged_at=%ld",
		    s->sent, (s->t_end - s->t0) / 1e9,
		    s->sent / ((s->t_end - s->t0) / 1e9), s->saturated,
		    s->secs, s->merged_at);
	}
	v[0] = s->sent;
	v[1] = 0;
	if (atomic_load(&g_phase) == 2
	    && arb_send_copy(s->ctx, s->sink, T_END, v, sizeof(v)) == ARB_OK) {
		event_del(s->second);
	}
}

// Until the peer is up, then IDLE_S seconds, then the bulk; IDLE_S -1:
// the bulk at once (what the link cannot take yet waits in its queue, or
// is refused and tried again).  TARGET "same": our own sink's slot is
// looked up first.
static void
source_tick(evutil_socket_t fd, short what, void *arg)
{
	source       *s = arg;
	arb_peer_info pi;

	(void) fd;
	(void) what;
	if (s->same) {
		arb_pid p;

		if (arb_whereis(s->ctx, "root/w", &p) == ARB_OK) {
			s->sink.id = arb_pid_slot(p).id;
			s->same = false;
		}
	} else if (s->t0 == 0 && s->idle_s < 0) {
		s->t0 = now_ns();
	} else if (s->t0 == 0) {
		if (arb_node_peers(g_node, &pi, 1) == 1 && pi.state == ARB_PEER_UP) {
			s->t0 = now_ns() + (int64_t) s->idle_s * 1000000000;
		}
	} else if (now_ns() >= s->t0) {
		s->t0 = now_ns();
		s->merged0 = arb__peers_merged();
		atomic_store(&g_phase, 1);
		out("source start");
		event_add(s->second, &tv_1s);
		event_active(s->pump, 0, 0);
		return;
	}
	evtimer_add(s->tick, &tv_10ms);
}

static int
source_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	source            *s = calloc(1, sizeof(*s));
	char               a[96], to[32], peer[64], *end;
	unsigned long long slot;

	snprintf(a, sizeof(a), "%.*s", (int) len, (const char *) arg);
	if (s == NULL
	    || sscanf(a, "%31s %63s %d %d", to, peer, &s->idle_s, &s->bulk_s)
	        != 4) {
		free(s);
		return ARB_EINVAL;
	}
	s->ctx = ctx;
	s->merged_at = -1;
	slot = strtoull(to, &end, 10);
	s->sink.id = slot;
	s->sink.node = arb__node_id(peer);
	if (*end != '\0' && !(s->same = strcmp(to, "same") == 0)) {
		free(s);
		return ARB_EINVAL;
	}
	s->pump = event_new(arb_base(ctx), -1, 0, source_pump, s);
	s->backoff = evtimer_new(arb_base(ctx), source_pump, s);
	s->tick = evtimer_new(arb_base(ctx), source_tick, s);
	s->second = event_new(arb_base(ctx), -1, EV_PERSIST, source_second, s);
	event_priority_set(s->pump,
	    event_base_get_npriorities(arb_base(ctx)) - 1);
	event_active(s->tick, 0, 0);
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
	event_free(s->tick);
	event_free(s->second);
	free(s);
}

// --- sink -------------------------------------------------------------------
typedef struct sink {
	long    got, disorder;
	size_t  nlat;
	int64_t lat[LAT_MAX];
} sink;

static int
sink_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	if ((*statep = calloc(1, sizeof(sink))) == NULL) {
		return ARB_ENOMEM;
	}
	out("sink slot=%llu", (unsigned long long) arb_pid_slot(arb_self(ctx)).id);
	return ARB_OK;
}

static void
sink_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	sink   *k = state;
	long    seq, v[2];
	int64_t t;

	(void) ctx;
	if (arb_msg_tag(m) == T_DATA && arb_msg_len(m) == 64) {
		memcpy(&seq, arb_msg_body(m), sizeof(seq));
		memcpy(&t, (const uint8_t *) arb_msg_body(m) + 8, sizeof(t));
		k->disorder += seq != k->got;
		k->got = seq + 1;
		if (t != 0 && k->nlat < LAT_MAX) {
			k->lat[k->nlat++] = (now_ns() - t) / 1000;
		}
	} else if (arb_msg_tag(m) == T_END && arb_msg_len(m) == sizeof(v)) {
		long long p50 = pct(k->lat, k->nlat, 50);
		long long p99 = pct(k->lat, k->nlat, 99);

		memcpy(v, arb_msg_body(m), sizeof(v));
		out("sink end got=%ld sent=%ld disorder=%ld lat_n=%zu "
		    "lat_p50_us=%lld lat_p99_us=%lld",
		    k->got, v[0], k->disorder, k->nlat, p50, p99);
	}
}

static void
sink_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	free(state);
}

static const arb_actor_ops watch_ops = { .type = "watch",
	.init = watch_init, .terminate = watch_terminate };
static const arb_actor_ops source_ops = { .type = "source",
	.init = source_init, .terminate = source_terminate };
static const arb_actor_ops sink_ops = { .type = "sink", .init = sink_init,
	.handle = sink_handle, .terminate = sink_terminate };

int
main(int argc, char **argv)
{
	arb_node_peer  peer;
	arb_node_opts  o = { 0 };
	arb_child_spec c[3] = { { .name = "watch", .type = "watch" },
		{ .name = "w", .isolation = ARB_THREAD },
		{ .name = "s", .type = "source", .isolation = ARB_THREAD } };
	arb_sup_spec   sp = { .children = c, .nchildren = 2 };
	char           arg[96];
	int            code = 0, rv;
	arb_child_spec *src = &c[1];

	arb_actor_main(argc, argv);
	if (argc < 7
	    || (strcmp(argv[6], "sink") == 0
	            ? argc != 7
	            : (strcmp(argv[6], "source") != 0
	                  && strcmp(argv[6], "both") != 0)
	                || argc != 10)) {
		fprintf(stderr,
		    "usage: %s NAME LISTEN PEER PEER_URL COOKIE sink\n"
		    "       %s NAME LISTEN PEER PEER_URL COOKIE source SLOT "
		    "IDLE_S BULK_S\n"
		    "       %s NAME LISTEN PEER PEER_URL COOKIE both "
		    "SLOT|same IDLE_S BULK_S\n",
		    argv[0], argv[0], argv[0]);
		return 64;
	}
	arb_actor_type_register(&watch_ops);
	arb_actor_type_register(&source_ops);
	arb_actor_type_register(&sink_ops);
	peer.name = argv[3];
	peer.url = argv[4];
	o.name = argv[1];
	o.listen = argv[2];
	o.peers = &peer;
	o.npeers = 1;
	o.cookie_file = argv[5];
	c[1].type = argv[6];
	if (strcmp(argv[6], "both") == 0) {
		c[1].type = "sink";
		src = &c[2];
		sp.nchildren = 3;
	}
	if (strcmp(argv[6], "sink") != 0) {
		snprintf(arg, sizeof(arg), "%s %s %s %s", argv[7], argv[3],
		    argv[8], argv[9]);
		src->arg = arg;
		src->arg_len = strlen(arg);
	}
	if ((rv = arb_node_open(&g_node, &o)) != 0) {
		fprintf(stderr, "arb_node_open: %s\n", arb_strerror(rv));
		return 1;
	}
	rv = arb_node_run(g_node, &sp, &code);
	arb_node_close(g_node);
	return rv != 0 ? 1 : code;
}
