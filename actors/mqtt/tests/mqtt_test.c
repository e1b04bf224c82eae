// SPDX-License-Identifier: MIT
// mqtt_test.c -- the `mqtt` actor in real nodes (helper processes), in
// thread and process isolation, against a real mosquitto the test starts
// on a free loopback port: publish and subscribe both ways at QoS 0 and
// 1, the broker restarted mid-stream (nothing acknowledged is lost), the
// broker absent at start, wrong credentials (the actor exits after
// `refusals`), a broker that accepts and never answers, TLS with MQTT 5,
// a stalled broker (no PUBACK: reconnect), a receive_window hold that
// is no stall, a full window, and publishing with arb_call.
//
// The node's actors of this file: `producer` publishes numbered readings
// to an mqtt actor with MQTT_PUBLISH and a ref, keeps its own window and
// sends again whatever did not come back with status 0 (as an uplink over
// a durable store does); `sink` takes MQTT_MESSAGE, counts distinct
// readings and acknowledges with MQTT_ACK; `watch` asks an mqtt actor
// for MQTT_STATUS and prints what changed.  They report with
// arb_test_emit; the test waits for those lines with deadlines.

#include "arb_test.h"
#include "probe.h"

#include "tools.h"

#include "broker.h"
#include "mqtt_actor.h"
#include "mqtt_body.h"
#include "mqtt_msgs.h"

#include <event2/event.h>
#include <inttypes.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXN 20000

// --- small pieces shared by the test actors --------------------------------

// kv returns the value of key in "k=v;k=v" (copied into out), or def.
static const char *
kv(const void *arg, size_t len, const char *key, const char *def, char *out,
    size_t n)
{
	const char *s = arg, *end = s + len, *p, *v, *e;
	size_t      kl = strlen(key);

	for (p = s; p < end; p = e + 1) {
		e = memchr(p, ';', (size_t) (end - p));
		if (e == NULL) {
			e = end;
		}
		v = memchr(p, '=', (size_t) (e - p));
		if (v != NULL && (size_t) (v - p) == kl
		    && memcmp(p, key, kl) == 0) {
			snprintf(out, n, "%.*s", (int) (e - v - 1), v + 1);
			return out;
		}
	}
	snprintf(out, n, "%s", def);
	return out;
}

static long
kvl(const void *arg, size_t len, const char *key, long def)
{
	char b[64];

	return kv(arg, len, key, "", b, sizeof(b))[0] ? atol(b) : def;
}

static void
arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

// --- producer --------------------------------------------------------------

typedef struct producer {
	arb_ctx *ctx;
	char     to[64];
	char     stream[32];
	arb_pid  pid;
	bool     have_pid;
	long     n, window, qos, sent_total, resent, acked, statuses;
	long     outstanding, next, progress_step, next_progress;
	long     overflow;
	long     pace, tick_sent; // pace > 0: at most that many sends a tick
	size_t   size; // payload bytes (padded), 0: as short as it gets
	char    *pad;
	bool     call; // publish with arb_call
	bool     done;
	char     wait[64]; // an mqtt actor whose subscriptions must be
	bool     ready;    // in place before the first publish
	bool     asking;
	uint8_t *state; // 0 to send, 1 out, 2 acked
	struct pcall {
		struct producer *p;
		long             ref;
	} * calls;           // the arg of each ref's arb_call
	long         *queue; // refs to send again
	long          nqueue;
	struct event *tick;
	mqtt_enc     *enc;
	mqtt_body    *body;
} producer;

static void producer_pump(producer *p);

// status_cb prints an mqtt actor's MQTT_STATUS reply as one line,
// "WHO event=status key=value...".
static void
status_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	const char *who = arg;
	char        err[100], line[400];
	mqtt_body  *b;
	uint64_t    v;
	size_t      i, o = 0;
	const char *keys[] = { "connects", "published", "done", "overflow",
		"received", "forwarded", "acks", "stalls", "forward_dropped",
		"rx_ack_max_us", "puback_max_us" };

	(void) ctx;
	if (r->status != ARB_OK || mqtt_body_alloc(&b) != 0) {
		arb_test_emit(
		    "%s event=status status=%s", who, arb_err_name(r->status));
		return;
	}
	if (mqtt_body_parse(b, arb_msg_body(r->reply), arb_msg_len(r->reply),
	        err, sizeof(err))
	    == 0) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			v = 0;
			mqtt_body_uint(b, keys[i], &v);
			o += (size_t) snprintf(line + o, sizeof(line) - o,
			    " %s=%" PRIu64, keys[i], v);
		}
		arb_test_emit("%s event=status%s", who, line);
	}
	mqtt_body_free(b);
}

static void
producer_outcome(producer *p, uint64_t ref, int64_t status)
{
	if (ref < 1 || (long) ref > p->n || p->state[ref] != 1) {
		return; // a duplicate outcome (sent twice)
	}
	p->outstanding--;
	p->statuses++;
	if (status == 0) {
		p->state[ref] = 2;
		p->acked++;
	} else {
		if (status == ARB_EAGAIN) {
			p->overflow++;
		}
		p->state[ref] = 0;
		p->queue[p->nqueue++] = (long) ref;
	}
	if (p->acked >= p->next_progress && p->next_progress <= p->n) {
		arb_test_emit("producer event=progress acked=%ld", p->acked);
		p->next_progress += p->progress_step;
	}
	if (p->acked == p->n && !p->done) {
		p->done = true;
		arb_test_emit("producer event=done n=%ld acked=%ld sent=%ld "
		              "resent=%ld overflow=%ld",
		    p->n, p->acked, p->sent_total, p->resent, p->overflow);
		arb_call(p->ctx, p->pid, MQTT_STATUS, NULL, 0, 2000, status_cb,
		    "producer");
	}
}

static void
producer_call_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	struct pcall *c = arg;

	(void) ctx;
	// The reply (MQTT_PUBACK) or the error (status in r->code for
	// ARB_EREMOTE: the mqtt actor's arb_reply_error).
	producer_outcome(c->p, (uint64_t) c->ref,
	    r->status == ARB_OK            ? 0
	        : r->status == ARB_EREMOTE ? r->code
	                                   : r->status);
	producer_pump(c->p);
}

static bool
producer_send(producer *p, long ref)
{
	char        payload[64];
	const void *body;

	size_t len;
	int    rv;

	snprintf(payload, sizeof(payload), "%s-%ld", p->stream, ref);
	if (p->size > strlen(payload)) {
		// Padded in front: the sink reads the number after the last
		// '-'.
		memmove(p->pad + p->size - strlen(payload), payload,
		    strlen(payload));
		memset(p->pad, 'x', p->size - strlen(payload));
	}
	mqtt_enc_map(p->enc, 4);
	mqtt_enc_kv_uint(p->enc, "ref", (uint64_t) ref);
	mqtt_enc_kv_str(p->enc, "stream", p->stream);
	if (p->size > strlen(payload)) {
		mqtt_enc_kv_strn(p->enc, "payload", p->pad, p->size);
	} else {
		mqtt_enc_kv_str(p->enc, "payload", payload);
	}
	mqtt_enc_kv_uint(p->enc, "qos", (uint64_t) p->qos);
	body = mqtt_enc_data(p->enc, &len);
	if (p->call) {
		p->calls[ref] = (struct pcall) { p, ref };
		rv = arb_call(p->ctx, p->pid, MQTT_PUBLISH, body, len, 5000,
		    producer_call_cb, &p->calls[ref]);
	} else {
		rv = arb_send_copy(p->ctx, p->pid, MQTT_PUBLISH, body, len);
	}
	if (rv != ARB_OK) {
		return false;
	}
	p->state[ref] = 1;
	p->outstanding++;
	p->sent_total++;
	p->tick_sent++;
	return true;
}

static void
producer_pump(producer *p)
{
	long ref;

	if (!p->have_pid) {
		return;
	}
	while (p->outstanding < p->window
	    && (p->pace == 0 || p->tick_sent < p->pace)) {
		if (p->nqueue > 0) {
			ref = p->queue[p->nqueue - 1];
			if (!producer_send(p, ref)) {
				return;
			}
			p->nqueue--;
			p->resent++;
		} else if (p->next <= p->n) {
			if (!producer_send(p, p->next)) {
				return;
			}
			p->next++;
		} else {
			return;
		}
	}
}

// producer_ready_cb: messages published before the subscriber's
// SUBSCRIBE reached the broker are not delivered to it (MQTT), so the
// producer starts once the subscriber is up and subscribed.
static void
producer_ready_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	producer *p = arg;
	char      err[100];
	uint64_t  subs = 0, subd = 0;
	bool      up = false;

	(void) ctx;
	p->asking = false;
	if (r->status == ARB_OK
	    && mqtt_body_parse(p->body, arb_msg_body(r->reply),
	           arb_msg_len(r->reply), err, sizeof(err))
	        == 0
	    && mqtt_body_bool(p->body, "connected", &up) == 1 && up
	    && mqtt_body_uint(p->body, "subscriptions", &subs) == 1
	    && mqtt_body_uint(p->body, "subscribed", &subd) == 1
	    && subd == subs) {
		p->ready = true;
		arb_test_emit("producer event=ready");
	}
}

static void
producer_tick(evutil_socket_t fd, short what, void *arg)
{
	producer *p = arg;
	uint64_t  mref;
	arb_pid   w;

	(void) fd;
	(void) what;
	if (!p->ready) {
		if (!p->asking && arb_whereis(p->ctx, p->wait, &w) == ARB_OK
		    && arb_call(p->ctx, w, MQTT_STATUS, NULL, 0, 1000,
		           producer_ready_cb, p)
		        == ARB_OK) {
			p->asking = true;
		}
		arm(p->tick, 10);
		return;
	}
	if (!p->have_pid && arb_whereis(p->ctx, p->to, &p->pid) == ARB_OK) {
		p->have_pid = true;
		arb_monitor(p->ctx, p->pid, &mref);
	}
	p->tick_sent = 0;
	producer_pump(p);
	arm(p->tick, 20);
}

static int
producer_init(arb_ctx *ctx, void **st, const void *arg, size_t len)
{
	producer *p = calloc(1, sizeof(*p));

	p->ctx = ctx;
	kv(arg, len, "to", "root/up", p->to, sizeof(p->to));
	kv(arg, len, "stream", "s1", p->stream, sizeof(p->stream));
	kv(arg, len, "wait", "", p->wait, sizeof(p->wait));
	p->ready = p->wait[0] == '\0';
	p->n = kvl(arg, len, "n", 100);
	p->window = kvl(arg, len, "window", 16);
	p->qos = kvl(arg, len, "qos", 1);
	p->call = kvl(arg, len, "call", 0) != 0;
	p->size = (size_t) kvl(arg, len, "size", 0);
	p->pace = kvl(arg, len, "pace", 0);
	p->pad = calloc(p->size + 1, 1);
	p->progress_step = p->n / 10 > 0 ? p->n / 10 : 1;
	p->next_progress = p->progress_step;
	p->next = 1;
	p->state = calloc((size_t) p->n + 1, 1);
	p->queue = calloc((size_t) p->n + 1, sizeof(long));
	p->calls = calloc((size_t) p->n + 1, sizeof(*p->calls));
	mqtt_enc_alloc(&p->enc);
	mqtt_body_alloc(&p->body);
	p->tick = evtimer_new(arb_base(ctx), producer_tick, p);
	arm(p->tick, 0);
	*st = p;
	return ARB_OK;
}

static void
producer_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{
	producer *p = st;
	char      err[100];
	uint64_t  ref = 0;
	int64_t   status = 0;
	uint64_t  u;
	long      i;

	(void) ctx;
	if (arb_msg_tag(m) == ARB_TAG_DOWN) {
		// The mqtt actor died: its window died with it.  Send again.
		for (i = 1; i <= p->n; i++) {
			if (p->state[i] == 1) {
				p->state[i] = 0;
				p->queue[p->nqueue++] = i;
			}
		}
		p->outstanding = 0;
		p->have_pid = false;
		arb_test_emit("producer event=target_down");
		return;
	}
	if (arb_msg_tag(m) != MQTT_PUBACK
	    || mqtt_body_parse(
	           p->body, arb_msg_body(m), arb_msg_len(m), err, sizeof(err))
	        != 0
	    || mqtt_body_uint(p->body, "ref", &ref) != 1) {
		arb_test_emit("producer event=bad_message tag=0x%x",
		    (unsigned) arb_msg_tag(m));
		return;
	}
	// "status" is an int: a negative-free uint in msgpack.
	if (mqtt_body_uint(p->body, "status", &u) == 1) {
		status = (int64_t) u;
	}
	producer_outcome(p, ref, status);
	producer_pump(p);
}

static void
producer_terminate(arb_ctx *ctx, void *st, const arb_exit *why)
{
	producer *p = st;

	(void) ctx;
	(void) why;
	event_free(p->tick);
	mqtt_enc_free(p->enc);
	mqtt_body_free(p->body);
	free(p->state);
	free(p->queue);
	free(p->calls);
	free(p->pad);
	free(p);
}

static const arb_actor_ops producer_ops = {
	.type = "producer",
	.init = producer_init,
	.handle = producer_handle,
	.terminate = producer_terminate,
};

// --- sink ------------------------------------------------------------------

#define SINK_HELD 4096

typedef struct sink {
	arb_ctx   *ctx;
	long       n, unique, dups, msgs, bad;
	bool       ack, done;
	long       block_ms; // the first message blocks the loop this long
	// ack_ms > 0: MQTT_ACKs wait this long after the first of them (a
	// slow destination); out is what was received and not yet
	// confirmed, max_out its most (the mqtt actor's receive_window
	// bounds it).  slow > 0: only that many rounds wait ack_ms, each
	// told (event=unconfirmed at each new max_out, event=acking), then
	// every message is confirmed at once.
	long          ack_ms, out, max_out, slow;
	uint64_t      held[SINK_HELD];
	arb_pid       held_to;
	struct event *ack_ev;
	uint8_t   *seen;
	mqtt_body *body;
	mqtt_enc  *enc;
	char       path[64];
} sink;

static void
sink_send_ack(sink *s, arb_pid to, uint64_t seq)
{
	const void *body;
	size_t      len;

	mqtt_enc_map(s->enc, 1);
	mqtt_enc_kv_uint(s->enc, "seq", seq);
	body = mqtt_enc_data(s->enc, &len);
	arb_send_copy(s->ctx, to, MQTT_ACK, body, len);
}

static void
sink_ack_later(evutil_socket_t fd, short what, void *arg)
{
	sink *s = arg;
	long  i;

	(void) fd;
	(void) what;
	if (s->slow > 0) {
		arb_test_emit(
		    "sink path=%s event=acking out=%ld", s->path, s->out);
		if (--s->slow == 0) {
			s->ack_ms = 0;
		}
	}
	for (i = 0; i < s->out && i < SINK_HELD; i++) {
		sink_send_ack(s, s->held_to, s->held[i]);
	}
	s->out = 0;
}

static int
sink_init(arb_ctx *ctx, void **st, const void *arg, size_t len)
{
	sink *s = calloc(1, sizeof(*s));

	s->ctx = ctx;
	s->n = kvl(arg, len, "n", 100);
	s->ack = kvl(arg, len, "ack", 1) != 0;
	s->block_ms = kvl(arg, len, "block", 0);
	s->ack_ms = kvl(arg, len, "ack_ms", 0);
	s->slow = kvl(arg, len, "slow", 0);
	s->ack_ev = evtimer_new(arb_base(ctx), sink_ack_later, s);
	s->seen = calloc((size_t) s->n + 1, 1);
	snprintf(s->path, sizeof(s->path), "%s", arb_path(ctx));
	mqtt_body_alloc(&s->body);
	mqtt_enc_alloc(&s->enc);
	*st = s;
	return ARB_OK;
}

static void
sink_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{
	sink       *s = st;
	char        err[100], txt[64];
	const void *pl;
	const char *dash;
	size_t      n;
	uint64_t    seq;
	long        ref;
	bool        want_ack = false;

	(void) ctx;
	if (arb_msg_tag(m) != MQTT_MESSAGE
	    || mqtt_body_parse(
	           s->body, arb_msg_body(m), arb_msg_len(m), err, sizeof(err))
	        != 0
	    || mqtt_body_bytes(s->body, "payload", &pl, &n) != 1
	    || mqtt_body_uint(s->body, "seq", &seq) != 1) {
		s->bad++;
		arb_test_emit("sink path=%s event=bad_message", s->path);
		return;
	}
	mqtt_body_bool(s->body, "ack", &want_ack);
	if (s->block_ms > 0) {
		// A destination that stops draining (its loop is stuck): the
		// mqtt actor's sends towards it fill up and are refused.
		struct timespec ts
		    = { s->block_ms / 1000, (s->block_ms % 1000) * 1000000 };

		arb_test_emit("sink path=%s event=blocking", s->path);
		s->block_ms = 0;
		nanosleep(&ts, NULL);
	}
	s->msgs++;
	snprintf(txt, sizeof(txt), "%.*s", (int) (n < 60 ? n : 60),
	    (const char *) pl);
	dash = strrchr(txt, '-');
	ref = dash != NULL ? atol(dash + 1) : 0;
	if (ref >= 1 && ref <= s->n) {
		if (s->seen[ref]) {
			s->dups++;
		} else {
			s->seen[ref] = 1;
			s->unique++;
		}
	}
	if (s->ack && want_ack && s->ack_ms > 0) {
		if (s->out < SINK_HELD) {
			s->held[s->out] = seq;
		}
		s->held_to = arb_msg_from(m);
		if (++s->out > s->max_out) {
			s->max_out = s->out;
		}
		if (s->slow > 0) {
			arb_test_emit("sink path=%s event=unconfirmed out=%ld",
			    s->path, s->out);
		}
		if (s->out == 1) {
			arm(s->ack_ev, (int) s->ack_ms);
		}
	} else if (s->ack && want_ack) {
		sink_send_ack(s, arb_msg_from(m), seq);
	}
	if (s->unique == s->n && !s->done) {
		s->done = true;
		arb_test_emit("sink path=%s event=done unique=%ld dups=%ld "
		              "msgs=%ld max_out=%ld",
		    s->path, s->unique, s->dups, s->msgs, s->max_out);
		arb_call(s->ctx, arb_msg_from(m), MQTT_STATUS, NULL, 0, 2000,
		    status_cb, "sink");
	}
}

static void
sink_terminate(arb_ctx *ctx, void *st, const arb_exit *why)
{
	sink *s = st;

	(void) ctx;
	(void) why;
	event_free(s->ack_ev);
	mqtt_body_free(s->body);
	mqtt_enc_free(s->enc);
	free(s->seen);
	free(s);
}

static const arb_actor_ops sink_ops = {
	.type = "sink",
	.init = sink_init,
	.handle = sink_handle,
	.terminate = sink_terminate,
};

// --- watch -----------------------------------------------------------------

typedef struct watch {
	arb_ctx      *ctx;
	char          to[64];
	char          last[200];
	struct event *tick;
	mqtt_body    *body;
	bool          asking;
} watch;

static void
watch_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	watch      *w = arg;
	char        line[200], err[100], state[24] = "?";
	const char *s;
	size_t      n;
	uint64_t    connects = 0, refusals = 0, received = 0, forwarded = 0;
	uint64_t    inflight = 0, dropped = 0, unacked = 0;

	(void) ctx;
	w->asking = false;
	if (r->status != ARB_OK) {
		snprintf(
		    line, sizeof(line), "status=%s", arb_err_name(r->status));
	} else {
		mqtt_body_parse(w->body, arb_msg_body(r->reply),
		    arb_msg_len(r->reply), err, sizeof(err));
		if (mqtt_body_str(w->body, "state", &s, &n) == 1) {
			snprintf(state, sizeof(state), "%.*s", (int) n, s);
		}
		mqtt_body_uint(w->body, "connects", &connects);
		mqtt_body_uint(w->body, "refusals", &refusals);
		mqtt_body_uint(w->body, "received", &received);
		mqtt_body_uint(w->body, "forwarded", &forwarded);
		mqtt_body_uint(w->body, "inflight", &inflight);
		mqtt_body_uint(w->body, "forward_dropped", &dropped);
		mqtt_body_uint(w->body, "rx_unacked", &unacked);
		snprintf(line, sizeof(line),
		    "state=%s connects=%" PRIu64 " received=%" PRIu64
		    " forwarded=%" PRIu64 " dropped=%" PRIu64
		    " inflight=%" PRIu64 " unacked=%" PRIu64,
		    state, connects, received, forwarded, dropped, inflight,
		    unacked);
	}
	if (strcmp(line, w->last) != 0) {
		snprintf(w->last, sizeof(w->last), "%s", line);
		arb_test_emit("watch event=status %s", line);
	}
}

static void
watch_tick(evutil_socket_t fd, short what, void *arg)
{
	watch  *w = arg;
	arb_pid pid;

	(void) fd;
	(void) what;
	if (!w->asking && arb_whereis(w->ctx, w->to, &pid) == ARB_OK
	    && arb_call(w->ctx, pid, MQTT_STATUS, NULL, 0, 1000, watch_cb, w)
	        == ARB_OK) {
		w->asking = true;
	}
	arm(w->tick, 20);
}

static int
watch_init(arb_ctx *ctx, void **st, const void *arg, size_t len)
{
	watch *w = calloc(1, sizeof(*w));

	w->ctx = ctx;
	kv(arg, len, "to", "root/up", w->to, sizeof(w->to));
	mqtt_body_alloc(&w->body);
	w->tick = evtimer_new(arb_base(ctx), watch_tick, w);
	arm(w->tick, 0);
	*st = w;
	return ARB_OK;
}

static void
watch_terminate(arb_ctx *ctx, void *st, const arb_exit *why)
{
	watch *w = st;

	(void) ctx;
	(void) why;
	event_free(w->tick);
	mqtt_body_free(w->body);
	free(w);
}

static const arb_actor_ops watch_ops = {
	.type = "watch",
	.init = watch_init,
	.terminate = watch_terminate,
};

// --- the mqtt actor's config -----------------------------------------------

typedef struct mcfg {
	int         port;
	const char *id;
	int         qos;   // of subscriptions and publish
	const char *sub;   // filter, or NULL
	const char *to;    // destination of the subscription
	const char *topic; // publish template, or NULL
	const char *user, *pass;
	const char *tls_ca; // enables TLS
	const char *host;
	int         protocol; // 0: default
	int         refusals; // -1: default
	int         max_inflight;
	int         puback_timeout_ms;
	int         connect_timeout_ms;
	int         receive_window;
} mcfg;

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

// mcfg_pack builds the msgpack config the tree file's `config:` would.
static void
mcfg_pack(const mcfg *c, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	int            n = 4;

	n += c->sub != NULL;
	n += c->topic != NULL;
	n += c->user != NULL ? 2 : 0;
	n += c->tls_ca != NULL;
	n += c->protocol != 0;
	n += c->refusals >= 0;
	n += c->max_inflight > 0;
	n += c->puback_timeout_ms > 0;
	n += c->connect_timeout_ms > 0;
	n += c->receive_window > 0;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t) n);
	pk_str(&pk, "host");
	pk_str(&pk, c->host != NULL ? c->host : "127.0.0.1");
	pk_str(&pk, "port");
	msgpack_pack_int(&pk, c->port);
	pk_str(&pk, "client_id");
	pk_str(&pk, c->id);
	pk_str(&pk, "reconnect");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "min");
	pk_str(&pk, "20ms");
	pk_str(&pk, "max");
	pk_str(&pk, "200ms");
	if (c->sub != NULL) {
		pk_str(&pk, "subscribe");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 4);
		pk_str(&pk, "topic");
		pk_str(&pk, c->sub);
		pk_str(&pk, "qos");
		msgpack_pack_int(&pk, c->qos);
		pk_str(&pk, "to");
		pk_str(&pk, c->to);
		pk_str(&pk, "ack");
		msgpack_pack_true(&pk);
	}
	if (c->topic != NULL) {
		pk_str(&pk, "publish");
		msgpack_pack_map(&pk, 2);
		pk_str(&pk, "topic");
		pk_str(&pk, c->topic);
		pk_str(&pk, "qos");
		msgpack_pack_int(&pk, c->qos);
	}
	if (c->user != NULL) {
		pk_str(&pk, "username");
		pk_str(&pk, c->user);
		pk_str(&pk, "password");
		pk_str(&pk, c->pass);
	}
	if (c->tls_ca != NULL) {
		pk_str(&pk, "tls");
		msgpack_pack_map(&pk, 1);
		pk_str(&pk, "ca");
		pk_str(&pk, c->tls_ca);
	}
	if (c->protocol != 0) {
		pk_str(&pk, "protocol");
		msgpack_pack_int(&pk, c->protocol);
	}
	if (c->refusals >= 0) {
		pk_str(&pk, "refusals");
		msgpack_pack_int(&pk, c->refusals);
	}
	if (c->receive_window > 0) {
		pk_str(&pk, "receive_window");
		msgpack_pack_int(&pk, c->receive_window);
	}
	if (c->max_inflight > 0) {
		pk_str(&pk, "max_inflight");
		msgpack_pack_int(&pk, c->max_inflight);
	}
	if (c->puback_timeout_ms > 0) {
		pk_str(&pk, "puback_timeout");
		msgpack_pack_int(&pk, c->puback_timeout_ms);
	}
	if (c->connect_timeout_ms > 0) {
		pk_str(&pk, "connect_timeout");
		msgpack_pack_int(&pk, c->connect_timeout_ms);
	}
}

#define MQTT_CHILD(n, iso, sb)                                                \
	{                                                                     \
		.name = (n), .isolation = (iso), .type = "mqtt",              \
		.arg = (sb).data, .arg_len = (sb).size, .shutdown_ms = 5000   \
	}

#define CHILD(n, iso, t, a)                                                   \
	{                                                                     \
		.name = (n), .isolation = (iso), .type = (t), .arg = (a),     \
		.arg_len = strlen(a)                                          \
	}

static arb_isolation
iso_of(const char *s)
{
	return s[0] == 'p' ? ARB_PROCESS : ARB_THREAD;
}

// --- helpers (nodes) -------------------------------------------------------

// run_tree runs a node with children k in this helper process and frees
// the config buffers given (NULL: none).
static int
run_tree(const arb_child_spec *k, size_t n, msgpack_sbuffer *sb1,
    msgpack_sbuffer *sb2)
{
	const arb_sup_spec s = { .children = k,
		.nchildren = n,
		.intensity = 20,
		.period_ms = 5000 };
	int                rc = arb_test_node_main(&s);

	if (sb1 != NULL) {
		msgpack_sbuffer_destroy(sb1);
	}
	if (sb2 != NULL) {
		msgpack_sbuffer_destroy(sb2);
	}
	return rc;
}

// pubsub PORT ISO QOS N [WINDOW MAX_INFLIGHT CALL]: one mqtt actor that
// publishes the producer's readings and subscribes to them for the sink.
static int
h_pubsub(int argc, char **argv)
{
	char            pa[160], sa[64];
	msgpack_sbuffer sb;
	int             qos = atoi(argv[3]);
	long            n = atol(argv[4]);
	mcfg            c = { .port = atoi(argv[1]),
		           .id = "ps-up",
		           .qos = qos,
		           .sub = "ps/#",
		           .to = "root/sink",
		           .topic = "ps/{stream}",
		           .refusals = -1 };

	if (argc > 6) {
		c.max_inflight = atoi(argv[6]);
	}
	mcfg_pack(&c, &sb);
	snprintf(pa, sizeof(pa),
	    "to=root/up;wait=root/up;n=%ld;qos=%d;window=%s;call=%s", n, qos,
	    argc > 5 ? argv[5] : "16", argc > 7 ? argv[7] : "0");
	snprintf(sa, sizeof(sa), "n=%ld", n);
	{
		const arb_child_spec k[] = {
			CHILD("sink", ARB_THREAD, "sink", sa),
			MQTT_CHILD("up", iso_of(argv[2]), sb),
			CHILD("producer", ARB_THREAD, "producer", pa),
			CHILD("watch", ARB_THREAD, "watch", "to=root/up"),
		};
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

// rxwin PORT ISO N WINDOW ACK_MS [PUBACK_TIMEOUT CONNECT_TIMEOUT [SLOW
// PACE]]: as pubsub (one client publishes at QoS 1 and receives what it
// published), with receive_window WINDOW and a sink that confirms ACK_MS
// after the first unconfirmed message (0: at once), for SLOW rounds (0:
// all), then at once; the producer sends at most PACE a tick (20 ms; 0:
// no limit).
static int
h_rxwin(int argc, char **argv)
{
	char            pa[160], sa[64];
	msgpack_sbuffer sb;
	long            n = atol(argv[3]);
	mcfg            c = { .port = atoi(argv[1]),
		           .id = "rw-up",
		           .qos = 1,
		           .sub = "rw/#",
		           .to = "root/sink",
		           .topic = "rw/{stream}",
		           .refusals = -1,
		           .receive_window = atoi(argv[4]) };

	if (argc > 7) {
		c.puback_timeout_ms = atoi(argv[6]);
		c.connect_timeout_ms = atoi(argv[7]);
	}
	mcfg_pack(&c, &sb);
	snprintf(pa, sizeof(pa),
	    "to=root/up;wait=root/up;n=%ld;qos=1;window=64;pace=%s", n,
	    argc > 9 ? argv[9] : "0");
	snprintf(sa, sizeof(sa), "n=%ld;ack_ms=%s;slow=%s", n, argv[5],
	    argc > 8 ? argv[8] : "0");
	{
		const arb_child_spec k[] = {
			CHILD("sink", ARB_THREAD, "sink", sa),
			MQTT_CHILD("up", iso_of(argv[2]), sb),
			CHILD("producer", ARB_THREAD, "producer", pa),
		};
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

// twoclients PORT ISO N PUBACK_TIMEOUT: "up" publishes, "down" (another
// client, a persistent session) subscribes for the sink: an independent
// subscriber, so what the broker acknowledged to "up" is checked at the
// other end.
static int
h_twoclients(int argc, char **argv)
{
	char            pa[160], sa[64];
	msgpack_sbuffer su, sd;
	long            n = atol(argv[3]);
	mcfg            up = { .port = atoi(argv[1]),
		           .id = "tc-up",
		           .qos = 1,
		           .topic = "tc/{stream}",
		           .refusals = -1,
		           .max_inflight = 32,
		           .puback_timeout_ms = argc > 4 ? atoi(argv[4]) : 0,
		           .connect_timeout_ms = 500 };
	mcfg            dn = { .port = atoi(argv[1]),
		           .id = "tc-down",
		           .qos = 1,
		           .sub = "tc/#",
		           .to = "root/sink",
		           .refusals = -1,
		           .connect_timeout_ms = 500 };

	mcfg_pack(&up, &su);
	mcfg_pack(&dn, &sd);
	snprintf(pa, sizeof(pa),
	    "to=root/up;wait=root/down;n=%ld;qos=1;window=32", n);
	snprintf(sa, sizeof(sa), "n=%ld", n);
	{
		const arb_child_spec k[] = {
			CHILD("sink", ARB_THREAD, "sink", sa),
			MQTT_CHILD("down", ARB_PROCESS, sd),
			MQTT_CHILD("up", iso_of(argv[2]), su),
			CHILD("producer", ARB_THREAD, "producer", pa),
			CHILD("watch", ARB_THREAD, "watch", "to=root/down"),
		};
		return run_tree(k, sizeof(k) / sizeof(k[0]), &su, &sd);
	}
}

// watched PORT ISO [USER PASS REFUSALS]: an mqtt actor (temporary: an exit
// is final) and a watch on it.
static int
h_watched(int argc, char **argv)
{
	msgpack_sbuffer sb;
	mcfg            c = { .port = atoi(argv[1]),
		           .id = "w-up",
		           .refusals = -1,
		           .connect_timeout_ms = 300 };

	if (argc > 5) {
		c.user = argv[3];
		c.pass = argv[4];
		c.refusals = atoi(argv[5]);
	}
	mcfg_pack(&c, &sb);
	{
		arb_child_spec k[] = {
			MQTT_CHILD("up", iso_of(argv[2]), sb),
			CHILD("watch", ARB_THREAD, "watch", "to=root/up"),
		};
		k[0].restart = ARB_TEMPORARY;
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

// tls PORT ISO CA N: MQTT 5 over TLS to "localhost", both ways.
static int
h_tls(int argc, char **argv)
{
	char            pa[160], sa[64];
	msgpack_sbuffer sb;
	long            n = atol(argv[4]);
	mcfg            c = { .port = atoi(argv[1]),
		           .id = "tls-up",
		           .qos = 1,
		           .sub = "tls/#",
		           .to = "root/sink",
		           .topic = "tls/{stream}",
		           .tls_ca = argv[3],
		           .host = "localhost",
		           .protocol = 5,
		           .refusals = -1 };

	(void) argc;
	mcfg_pack(&c, &sb);
	snprintf(pa, sizeof(pa),
	    "to=root/up;wait=root/up;n=%ld;qos=1;window=16", n);
	snprintf(sa, sizeof(sa), "n=%ld", n);
	{
		const arb_child_spec k[] = {
			CHILD("sink", ARB_THREAD, "sink", sa),
			MQTT_CHILD("up", iso_of(argv[2]), sb),
			CHILD("producer", ARB_THREAD, "producer", pa),
		};
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

// tlsbad: an mqtt actor whose CA file does not exist: its start fails
// with the key and the reason.
static int
h_tlsbad(int argc, char **argv)
{
	msgpack_sbuffer sb;
	mcfg            c = { .port = 8883,
		           .id = "bad-tls",
		           .refusals = -1,
		           .tls_ca = "/nonexistent/ca.pem" };

	(void) argc;
	(void) argv;
	mcfg_pack(&c, &sb);
	{
		arb_child_spec k[] = {
			MQTT_CHILD("up", ARB_THREAD, sb),
			CHILD("watch", ARB_THREAD, "watch", "to=root/nobody"),
		};
		k[0].restart = ARB_TEMPORARY;
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

// drops PORT nodest|full: what arrives on a subscription cannot be handed
// on: the destination does not exist, or its queue is full (it blocks
// its loop); every such message is counted.
static int
h_drops(int argc, char **argv)
{
	msgpack_sbuffer sb;
	bool            full = strcmp(argv[2], "full") == 0;
	mcfg            c = { .port = atoi(argv[1]),
		           .id = "drops-up",
		           .qos = 0,
		           .sub = "dr/#",
		           .to = full ? "root/sink" : "root/nobody",
		           .topic = "dr/{stream}",
		           .refusals = -1 };

	(void) argc;
	mcfg_pack(&c, &sb);
	{
		const arb_child_spec k[] = {
			CHILD("sink", ARB_THREAD, "sink",
			    full ? "n=4000;block=1500" : "n=4000"),
			MQTT_CHILD("up", ARB_THREAD, sb),
			CHILD("producer", ARB_THREAD, "producer",
			    full ? "to=root/up;wait=root/up;n=4000;qos=0;"
			           "window=64;size=1000"
			         : "to=root/up;wait=root/"
			           "up;n=50;qos=0;window=8"),
			CHILD("watch", ARB_THREAD, "watch", "to=root/up"),
		};
		return run_tree(k, sizeof(k) / sizeof(k[0]), &sb, NULL);
	}
}

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
	{ "drops", h_drops },
	{ "tlsbad", h_tlsbad },
	{ "pubsub", h_pubsub },
	{ "rxwin", h_rxwin },
	{ "twoclients", h_twoclients },
	{ "watched", h_watched },
	{ "tls", h_tls },
};

// --- the tests' side -------------------------------------------------------

// The helper and the broker of the running test live here, not on its
// stack: a failed assertion leaves the test function, and the teardown
// still finds both to stop them (no process is left behind).
static arb_test_proc tp;
static tbroker       tb;

static int
teardown(void **state)
{
	(void) state;
	if (tp.pid > 0) {
		arb_test_proc_fini(&tp);
	}
	memset(&tp, 0, sizeof(tp));
	tbroker_fini(&tb);
	memset(&tb, 0, sizeof(tb));
	return 0;
}

static void
stop_node(arb_test_proc *p)
{
	int code;

	kill(p->pid, SIGTERM);
	code = arb_test_exit_code(arb_test_wait_exit(p, 15000));
	if (code != 0) {
		fail_msg("the node exited %d: %s", code, p->out);
	}
	assert_int_equal(arb_test_count(p, "reason=crashed"), 0);
}

static void
broker_up(tbroker *b, bool persist)
{
	assert_int_equal(tbroker_init(b, NULL), 0);
	b->persist = persist;
	if (tbroker_start(b) != 0) {
		fail_msg("mosquitto did not start: %s", b->log);
	}
}

static void
pubsub(const char *iso, int qos, long n, const char *window,
    const char *max_inflight, const char *call)
{
	char        port[16], qs[4], ns[16], l[512];
	const char *args[]
	    = { port, iso, qs, ns, window, max_inflight, call, NULL };

	broker_up(&tb, false);
	snprintf(port, sizeof(port), "%d", tb.port);
	snprintf(qs, sizeof(qs), "%d", qos);
	snprintf(ns, sizeof(ns), "%ld", n);
	arb_test_spawn(&tp, "pubsub", args);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 20000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "unique"), n);
	arb_test_line(&tp, "producer event=done", 20000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), n);
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "connects"), 1);
	assert_true(arb_test_need_field(l, "published") >= n);
	if (strcmp(max_inflight, "0") == 0) {
		assert_int_equal(arb_test_need_field(l, "overflow"), 0);
	}
	arb_test_line(&tp, "sink event=status", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "received") >= n);
	assert_true(arb_test_need_field(l, "forwarded") >= n);
	assert_int_equal(arb_test_need_field(l, "forward_dropped"), 0);
	// The sink confirmed each message before asking: the receipt-to-ack
	// time was measured for all of them.
	assert_true(arb_test_need_field(l, "acks") >= n);
	assert_true(arb_test_need_field(l, "rx_ack_max_us") > 0);
	stop_node(&tp);
	assert_non_null(strstr(tp.out, "event=connected broker=127.0.0.1:"));
	assert_non_null(strstr(tp.out, "event=disconnected"));
	assert_int_equal(arb_test_count(&tp, "event=publish_invalid"), 0);
	assert_int_equal(arb_test_count(&tp, "event=forward_dropped"), 0);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

static void
test_pubsub_qos1_thread(void **state)
{
	(void) state;
	pubsub("thread", 1, 2000, "64", "0", "0");
}

static void
test_pubsub_qos1_process(void **state)
{
	(void) state;
	pubsub("process", 1, 2000, "64", "0", "0");
}

static void
test_pubsub_qos0_thread(void **state)
{
	(void) state;
	pubsub("thread", 0, 500, "16", "0", "0");
}

static void
test_pubsub_qos0_process(void **state)
{
	(void) state;
	pubsub("process", 0, 500, "16", "0", "0");
}

// rxwin_start starts the broker (keeping sessions when persist) and the
// rxwin helper on it; args are the helper's arguments after PORT
// (NULL-terminated).
static void
rxwin_start(bool persist, const char *const *args)
{
	char        port[16];
	const char *a[12] = { port };
	size_t      i;

	broker_up(&tb, persist);
	snprintf(port, sizeof(port), "%d", tb.port);
	for (i = 0; args[i] != NULL; i++) {
		assert_true(i + 2 < sizeof(a) / sizeof(a[0]));
		a[i + 1] = args[i];
	}
	arb_test_spawn(&tp, "rxwin", a);
}

// rxwin_done waits (ms each) until the producer has all n acknowledged
// and the sink is done, having never had more than window messages
// unconfirmed (exactly window when full), and returns how many unique
// messages the sink got.
static long
rxwin_done(long n, long window, bool full, int ms)
{
	char l[512];

	arb_test_line(&tp, "producer event=done", ms, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), n);
	arb_test_line(&tp, "sink path=root/sink event=done", ms, l, sizeof(l));
	printf("# %s\n", l);
	if (full) {
		assert_int_equal(arb_test_need_field(l, "max_out"), window);
	} else {
		assert_true(arb_test_need_field(l, "max_out") <= window);
	}
	return arb_test_need_field(l, "unique");
}

// rxwin_stop stops the node and the broker.  Unless stalls, the actor
// saw no stall and did not reconnect for one.
static void
rxwin_stop(bool stalls)
{
	stop_node(&tp);
	if (!stalls) {
		assert_int_equal(arb_test_count(&tp, "event=stalled"), 0);
		assert_int_equal(arb_test_count(&tp, "cause=stall"), 0);
	}
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// receive_window under a client that also publishes at QoS 1: the sink
// confirms 30 ms late, so reading stops at the window again and again
// while 64 publishes are in flight; it never has more than the window
// unconfirmed.
static void
rxwin(const char *iso)
{
	const char *args[] = { iso, "1000", "4", "30", NULL };

	rxwin_start(false, args);
	assert_int_equal(rxwin_done(1000, 4, false, 30000), 1000);
	rxwin_stop(false);
}

static void
test_receive_window_publishing_thread(void **state)
{
	(void) state;
	rxwin("thread");
}

static void
test_receive_window_publishing_process(void **state)
{
	(void) state;
	rxwin("process");
}

// receive_window 1 under a client that also publishes at QoS 1, with
// puback_timeout 300 ms and a sink that confirms 1 s late: each received
// message holds reading for 1 s, and the PUBACKs of the publishes behind
// it wait unread that long.  The actor's own hold is not the broker's
// stall: no event=stalled, no reconnect (the stall clock leaves the held
// time out; counted from the publish, the first hold was taken for a
// stall).
static void
test_receive_window_hold_is_no_stall(void **state)
{
	char        l[512];
	const char *args[]
	    = { "thread", "4", "1", "1000", "300", "500", NULL };

	(void) state;
	rxwin_start(false, args);
	assert_int_equal(rxwin_done(4, 1, true, 20000), 4);
	arb_test_line(&tp, "sink event=status", 5000, l, sizeof(l));
	printf("# %s\n", l);
	// Reading was held about 1 s at a time, and a PUBACK waited unread
	// behind the holds: both over 3 times puback_timeout.
	assert_true(arb_test_need_field(l, "rx_ack_max_us") >= 900000);
	assert_true(arb_test_need_field(l, "puback_max_us") >= 900000);
	assert_int_equal(arb_test_need_field(l, "stalls"), 0);
	assert_int_equal(arb_test_need_field(l, "connects"), 1);
	assert_int_equal(arb_test_count(&tp, "event=connected"), 1);
	rxwin_stop(false);
}

// The same under load: receive_window 4, the sink confirms 30 ms late,
// 64 publishes in flight.  Each PUBACK waits behind some 60 received
// messages, read 4 per hold: over puback_timeout (300 ms), nearly all of
// it held.  Still no stall (with the held time counted, one reconnect
// after another; with the check only skipped while held, a check that
// falls between two holds still sees the held time: stalls too).
static void
test_receive_window_hold_is_no_stall_busy(void **state)
{
	char        l[512];
	const char *args[]
	    = { "thread", "1000", "4", "30", "300", "500", NULL };

	(void) state;
	rxwin_start(false, args);
	assert_int_equal(rxwin_done(1000, 4, false, 30000), 1000);
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	printf("# %s\n", l);
	assert_true(arb_test_need_field(l, "puback_max_us") > 300000);
	assert_int_equal(arb_test_need_field(l, "stalls"), 0);
	assert_int_equal(arb_test_need_field(l, "connects"), 1);
	rxwin_stop(false);
}

// The same actor (receive_window, puback_timeout 300 ms) under a broker
// that stops answering (SIGSTOP) while the sink confirms at once, so
// reading is not held: still a stall, and a reconnect.
static void
test_receive_window_broker_stall_detected(void **state)
{
	char        l[512];
	const char *args[]
	    = { "process", "2000", "4", "0", "300", "500", NULL };

	(void) state;
	rxwin_start(true, args);
	arb_test_expect(&tp, "producer event=progress acked=400", 20000);
	kill(tb.pid, SIGSTOP);
	arb_test_line(&tp, "event=stalled", 5000, l, sizeof(l));
	assert_non_null(strstr(l, "action=reconnect"));
	kill(tb.pid, SIGCONT);
	rxwin_done(2000, 4, false, 30000);
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "stalls") >= 1);
	assert_true(arb_test_need_field(l, "connects") >= 2);
	rxwin_stop(true);
}

// receive_window 2 with a persistent session, a sink that confirms its
// first messages only 4 s after the first of them (then at once), and
// the broker restarted (its persistence kept) while the window is full.
// The producer publishes one message a tick, so a write finds the
// connection gone while reading is held (a held actor reads no EOF) and
// the actor reconnects with the window still full and QoS 1 publishes
// in flight (sent again at the CONNACK).  The new connection holds
// reading from its CONNACK on: nothing past the window is read (and
// acknowledged to the broker) until the MQTT_ACKs come; then all
// arrive.  Before, reading went on unheld after a reconnect and the
// next message read took the window to 3.
static void
test_receive_window_full_at_reconnect(void **state)
{
	char        l[512];
	const char *args[]
	    = { "thread", "100", "2", "4000", "20000", "500", "1", "1", NULL };
	const char *up2, *acking;

	(void) state;
	rxwin_start(true, args);
	arb_test_expect(
	    &tp, "sink path=root/sink event=unconfirmed out=2", 20000);
	tbroker_stop(&tb);
	assert_int_equal(tbroker_start(&tb), 0);
	arb_test_line(
	    &tp, "sink path=root/sink event=acking", 20000, l, sizeof(l));
	printf("# %s\n", l);
	assert_int_equal(arb_test_need_field(l, "out"), 2);
	// The reconnect came while the window was full (before the acks).
	up2 = strstr(tp.out, "event=connected ");
	up2 = up2 != NULL ? strstr(up2 + 1, "event=connected ") : NULL;
	acking = strstr(tp.out, "event=acking");
	assert_non_null(up2);
	assert_non_null(acking);
	assert_true(up2 < acking);
	assert_non_null(strstr(up2, "session_present=yes"));
	assert_int_equal(rxwin_done(100, 2, true, 30000), 100);
	rxwin_stop(false);
}

// A window of 4 under a producer that keeps 64 in flight: the rest is
// refused (ARB_EAGAIN, counted) and sent again; all arrive.
static void
test_overflow_reject(void **state)
{
	char        port[16], l[512];
	const char *args[]
	    = { port, "thread", "1", "300", "64", "4", "0", NULL };

	(void) state;
	broker_up(&tb, false);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "pubsub", args);
	arb_test_line(&tp, "producer event=done", 20000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), 300);
	assert_true(arb_test_need_field(l, "overflow") > 0);
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "overflow") > 0);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 20000, l, sizeof(l));
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// Publishing with arb_call: the reply is MQTT_PUBACK once acknowledged.
static void
test_publish_by_call(void **state)
{
	(void) state;
	pubsub("process", 1, 200, "8", "0", "1");
}

// The broker is restarted twice while readings flow: every reading the
// producer saw acknowledged reaches the independent subscriber.
static void
test_broker_restart_midstream(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "thread", "3000", NULL };

	(void) state;
	broker_up(&tb, true);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "twoclients", args);
	arb_test_expect(&tp, "producer event=progress acked=600", 20000);
	tbroker_stop(&tb);
	assert_int_equal(tbroker_start(&tb), 0);
	arb_test_expect(&tp, "producer event=progress acked=1800", 20000);
	tbroker_stop(&tb);
	assert_int_equal(tbroker_start(&tb), 0);
	arb_test_line(&tp, "producer event=done", 30000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), 3000);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 30000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "unique"), 3000);
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "connects") >= 3);
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// The publishing mqtt actor (a process) is killed mid-stream: its window
// dies with it, the producer sees it DOWN and sends again whatever was
// not acknowledged, to the restarted incarnation; every reading arrives.
static void
test_actor_killed_midstream(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "process", "3000", NULL };
	long        ospid;

	(void) state;
	broker_up(&tb, true);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "twoclients", args);
	arb_test_line(&tp, "root/up event=started isolation=process", 10000, l,
	    sizeof(l));
	ospid = arb_test_need_field(l, "ospid");
	arb_test_expect(&tp, "producer event=progress acked=900", 20000);
	assert_int_equal(kill((pid_t) ospid, SIGKILL), 0);
	arb_test_expect(&tp, "producer event=target_down", 5000);
	arb_test_line(&tp, "producer event=done", 30000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), 3000);
	assert_true(arb_test_need_field(l, "resent") > 0);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 30000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "unique"), 3000);
	assert_int_equal(arb_test_count(&tp, "root/up event=started"), 2);
	assert_int_equal(arb_test_count(&tp, "reason=crashed"), 1);
	kill(tp.pid, SIGTERM);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 15000)), 0);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// The broker takes the connection and stops answering (SIGSTOP): no
// PUBACK within puback_timeout forces a reconnect; once it answers
// again, everything in flight is sent again and acknowledged.
static void
test_stalled_broker_forces_reconnect(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "process", "2000", "300", NULL };

	(void) state;
	broker_up(&tb, true);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "twoclients", args);
	arb_test_expect(&tp, "producer event=progress acked=400", 20000);
	kill(tb.pid, SIGSTOP);
	arb_test_line(&tp, "event=stalled", 5000, l, sizeof(l));
	assert_non_null(strstr(l, "action=reconnect"));
	kill(tb.pid, SIGCONT);
	arb_test_line(&tp, "producer event=done", 30000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), 2000);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 30000, l, sizeof(l));
	arb_test_line(&tp, "producer event=status", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "stalls") >= 1);
	assert_true(arb_test_need_field(l, "connects") >= 2);
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// stop_while_draining starts a node whose producer publishes 20,000
// readings (window 60,000) through a thread actor, and once 2,000 are
// acknowledged stops the broker (SIGSTOP) and then the node (SIGTERM):
// returns when the actor says it drains, with publishes in flight.
static void
stop_while_draining(void)
{
	char        port[16], l[512];
	const char *args[] = { port, "thread", "20000", "60000", NULL };

	broker_up(&tb, false);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "twoclients", args);
	arb_test_expect(&tp, "producer event=progress acked=2000", 20000);
	kill(tb.pid, SIGSTOP);
	kill(tp.pid, SIGTERM);
	arb_test_line(&tp, "root/up event=draining", 5000, l, sizeof(l));
	assert_true(arb_test_need_field(l, "inflight") > 0);
}

// A stop while publishes wait for a PUBACK that will not come (the broker
// is stopped): the actor waits `drain` (2 s), logs it, and ends; the
// node's stop stays within the child's shutdown (5 s) and exits 0.
static void
test_stop_drains_then_ends(void **state)
{
	(void) state;
	stop_while_draining();
	arb_test_expect(&tp, "root/up event=drain_timeout", 5000);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 10000)), 0);
	assert_non_null(
	    strstr(tp.out, "root/up event=stopped reason=shutdown"));
	kill(tb.pid, SIGCONT);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// A stop while publishes wait for their PUBACK, which the broker sends
// once it goes on (it was stopped): the last PUBACK empties the window
// inside libmosquitto's read, and the actor ends on the next turn of its
// loop -- not from that callback, where its DISCONNECT and last read
// called libmosquitto again under libmosquitto's own callback lock and
// the thread hung until the node abandoned it (exit 71).
static void
test_stop_drains_pubacks_come(void **state)
{
	(void) state;
	stop_while_draining();
	kill(tb.pid, SIGCONT);
	if (arb_test_exit_code(arb_test_wait_exit(&tp, 10000)) != 0) {
		fail_msg("the node did not end well: %s", tp.out);
	}
	assert_non_null(
	    strstr(tp.out, "root/up event=stopped reason=shutdown"));
	assert_int_equal(arb_test_count(&tp, "event=drain_timeout"), 0);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// No broker when the node starts: the actor is READY, logs each failed
// attempt with the broker and the reason, and connects once it is there.
static void
test_broker_absent_at_start(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "process", NULL };

	(void) state;
	assert_int_equal(tbroker_init(&tb, NULL), 0);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "watched", args);
	arb_test_line(&tp, "event=connect_failed", 5000, l, sizeof(l));
	assert_non_null(strstr(l, "broker=127.0.0.1:"));
	assert_non_null(strstr(l, "cause=connect"));
	assert_non_null(strstr(l, "Connection refused"));
	assert_int_equal(tbroker_start(&tb), 0);
	arb_test_expect(&tp, "watch event=status state=up connects=1", 5000);
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// Wrong credentials: an error line per refusal naming the broker and the
// reason, backoff in between, and after `refusals` of them the actor
// exits with a reason its supervisor logs.
static void
test_wrong_credentials_exit(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "thread", "gw", "wrong", "3", NULL };

	(void) state;
	assert_int_equal(tbroker_init(&tb, NULL), 0);
	tb.auth = true;
	assert_int_equal(tbroker_passwd(&tb, "gw", "right"), 0);
	assert_int_equal(tbroker_start(&tb), 0);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "watched", args);
	arb_test_line(&tp, "event=gave_up", 10000, l, sizeof(l));
	assert_non_null(strstr(l, "refusals=3"));
	assert_non_null(strstr(l, "not authorised"));
	arb_test_line(&tp, "root/up event=exit reason=error{code=15,", 5000, l,
	    sizeof(l));
	assert_non_null(strstr(l,
	    "refused 3 times: Connection Refused: not "
	    "authorised"));
	assert_int_equal(arb_test_count(&tp, "event=connect_failed"), 2);
	assert_true(arb_test_count(&tp, "cause=refused") >= 2);
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

// A "broker" that accepts the TCP connection and never answers: each
// attempt ends at connect_timeout, and the actor keeps answering meanwhile.
static void
test_silent_broker(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "thread", NULL };
	int         fd, pn;

	(void) state;
	fd = tsilent_open(&pn);
	assert_true(fd >= 0);
	snprintf(port, sizeof(port), "%d", pn);
	arb_test_spawn(&tp, "watched", args);
	arb_test_line(&tp, "cause=timeout", 5000, l, sizeof(l));
	assert_non_null(strstr(l, "no CONNACK within connect_timeout"));
	arb_test_expect(&tp, "watch event=status state=", 2000);
	stop_node(&tp);
	assert_int_equal(arb_test_count(&tp, "state=up"), 0);
	arb_test_proc_fini(&tp);
	close(fd);
}

static void
test_tls_v5_both_ways(void **state)
{
	char        port[16], ca[200], l[512];
	const char *args[] = { port, "process", ca, "300", NULL };

	(void) state;
	assert_int_equal(tbroker_init(&tb, NULL), 0);
	assert_int_equal(tbroker_make_ca(&tb), 0);
	tb.tls = true;
	assert_int_equal(tbroker_start(&tb), 0);
	snprintf(port, sizeof(port), "%d", tb.port);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tb.dir);
	arb_test_spawn(&tp, "tls", args);
	arb_test_line(&tp, "event=connected", 10000, l, sizeof(l));
	assert_non_null(strstr(l, "protocol=5 tls=yes"));
	arb_test_line(&tp, "producer event=done", 20000, l, sizeof(l));
	assert_int_equal(arb_test_need_field(l, "acked"), 300);
	arb_test_line(
	    &tp, "sink path=root/sink event=done", 20000, l, sizeof(l));
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

static void
test_forward_no_destination(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "nodest", NULL };

	(void) state;
	broker_up(&tb, false);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "drops", args);
	arb_test_line(&tp, "producer event=done", 10000, l, sizeof(l));
	arb_test_expect(&tp, "received=50 forwarded=0 dropped=50", 5000);
	arb_test_line(&tp, "event=no_destination", 1000, l, sizeof(l));
	assert_non_null(strstr(l, "to=root/nobody"));
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

static void
test_forward_destination_full(void **state)
{
	char        port[16], l[512];
	const char *args[] = { port, "full", NULL };
	long        rx, fw, dr;

	(void) state;
	broker_up(&tb, false);
	snprintf(port, sizeof(port), "%d", tb.port);
	arb_test_spawn(&tp, "drops", args);
	arb_test_line(&tp, "producer event=done", 20000, l, sizeof(l));
	arb_test_line(&tp, "event=forward_dropped", 10000, l, sizeof(l));
	assert_non_null(strstr(l, "cause=destination_full"));
	// Every message received is accounted for: handed on or counted.
	arb_test_line(&tp,
	    "watch event=status state=up connects=1 received=4000 ", 10000, l,
	    sizeof(l));
	rx = arb_test_need_field(l, "received");
	fw = arb_test_need_field(l, "forwarded");
	dr = arb_test_need_field(l, "dropped");
	assert_true(dr > 0);
	assert_int_equal(fw + dr, rx);
	// What was dropped is not waited for: once the sink confirmed what
	// it got, nothing is left unacknowledged.
	arb_test_expect(&tp, "inflight=0 unacked=0", 10000);
	stop_node(&tp);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
}

static void
test_tls_file_missing(void **state)
{
	char l[512];

	(void) state;
	arb_test_spawn(&tp, "tlsbad", NULL);
	arb_test_line(&tp, "root/up event=start_failed", 5000, l, sizeof(l));
	assert_non_null(strstr(l, "config: tls.ca: "));
	// A start that fails at the node's start aborts it (SPEC 4): 70.
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 10000)), 70);
	arb_test_proc_fini(&tp);
}

// --- the arbor program with the module -------------------------------------

#ifdef ARBOR_BIN
// http_get fetches path from 127.0.0.1:port into buf (the whole answer),
// within timeout_ms.  Returns the bytes read, or -1.
static long
http_get(int port, const char *path, char *buf, size_t n, int timeout_ms)
{
	struct sockaddr_in sa
	    = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	struct pollfd pf;
	char          req[128];
	size_t        got = 0;
	ssize_t       k;
	int           fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || write(fd, req, strlen(req)) != (ssize_t) strlen(req)) {
		close(fd);
		return -1;
	}
	pf = (struct pollfd) { .fd = fd, .events = POLLIN };
	while (got + 1 < n && poll(&pf, 1, timeout_ms) > 0) {
		if ((k = read(fd, buf + got, n - 1 - got)) <= 0) {
			break;
		}
		got += (size_t) k;
	}
	buf[got] = '\0';
	close(fd);
	return (long) got;
}
#endif

// `arbor check` reads the mqtt settings through the type's check hook and
// names each problem by FILE:LINE:COLUMN; `arbor run` finds the module by
// its name, the actor (a process) publishes a ticker's messages and gets
// them back on its subscription, and its metrics show on /metrics and in
// `arborctl status`.
static void
test_arbor_check_run_metrics(void **state)
{
#ifdef ARBOR_BIN
	static char body[65536];
	char        dir[64], file[256], sock[200], text[2048], l[512];
	const char *args[8];
	int         http = tbroker_free_port(), i;
	bool        seen = false;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "mqttrun");
	snprintf(text, sizeof(text),
	    "root:\n"
	    "  children:\n"
	    "    - name: up\n"
	    "      type: mqtt\n"
	    "      config:\n"
	    "        host: 127.0.0.1\n"
	    "        prot: 1883\n"
	    "        protocol: 4.1\n"
	    "        reconnect: {min: 2s, max: 1s}\n"
	    "        subscribe:\n"
	    "          - {topic: \"a/#/b\", to: root/x, qos: 2}\n"
	    "        resolver: nope\n"
	    "        receive_window: 8\n");
	arb_test_write_file(dir, "bad.yaml", text, file, sizeof(file));
	args[0] = "--";
	args[1] = "check";
	args[2] = file;
	args[3] = NULL;
	arb_test_spawn(&tp, "arbor", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 10000)), 78);
	assert_non_null(strstr(tp.out,
	    "bad.yaml:5:7: config.client_id: mqtt: required for a persistent "
	    "session"));
	assert_non_null(
	    strstr(tp.out, "bad.yaml:7:9: config.prot: mqtt: unknown key"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:8:9: config.protocol: mqtt: expected \"3.1.1\" or 5"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:9:30: config.reconnect.max: mqtt: must not be below "
	    "min"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:11:14: config.subscribe[0].topic: mqtt: not a valid "
	    "topic filter"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:11:42: config.subscribe[0].qos: mqtt: out of range"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:12:9: config.resolver: mqtt: \"nope\" is not IP or "
	    "IP:PORT"));
	assert_non_null(strstr(tp.out,
	    "bad.yaml:13:9: config.receive_window: mqtt: counts messages "
	    "until their destination confirms them: needs a subscription "
	    "with ack: true"));
	arb_test_proc_fini(&tp);
	memset(&tp, 0, sizeof(tp));
	// Empty where a value is needed (`host: ${BROKER}`, BROKER empty):
	// both were taken, the host connected nowhere for ever, the id was
	// refused by the broker `refusals` times.
	snprintf(text, sizeof(text),
	    "root:\n"
	    "  children:\n"
	    "    - name: up\n"
	    "      type: mqtt\n"
	    "      config: {host: \"\", client_id: \"\", to: root/up,\n"
	    "               subscribe: [{topic: \"\"}]}\n");
	arb_test_write_file(dir, "empty.yaml", text, file, sizeof(file));
	args[2] = file;
	arb_test_spawn(&tp, "arbor", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 10000)), 78);
	assert_non_null(strstr(tp.out,
	    "empty.yaml:5:16: config.host: mqtt: must not be empty"));
	assert_non_null(strstr(tp.out,
	    "empty.yaml:5:26: config.client_id: mqtt: must not be empty for "
	    "a persistent session"));
	assert_non_null(strstr(tp.out,
	    "empty.yaml:6:29: config.subscribe[0].topic: mqtt: must not be "
	    "empty"));
	arb_test_proc_fini(&tp);
	memset(&tp, 0, sizeof(tp));

	broker_up(&tb, false);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(text, sizeof(text),
	    "node: {name: mqttrun, control: %s, http: \"%d\"}\n"
	    "root:\n"
	    "  children:\n"
	    "    - {name: sink, type: crasher}\n"
	    "    - name: up\n"
	    "      type: mqtt\n"
	    "      isolation: process\n"
	    "      config:\n"
	    "        host: localhost\n"
	    "        port: %d\n"
	    "        client_id: arbor-run\n"
	    "        publish: {topic: \"run/{tag}\", qos: 1}\n"
	    "        subscribe: [{topic: \"run/#\", to: root/sink}]\n"
	    "    - name: tick\n"
	    "      type: ticker\n"
	    "      config: {target: root/up, interval: 20ms, tag: 7, body: "
	    "ping}\n",
	    sock, http, tb.port);
	arb_test_write_file(dir, "run.yaml", text, file, sizeof(file));
	args[0] = "--";
	args[1] = "run";
	args[2] = file;
	args[3] = NULL;
	arb_test_spawn(&tp, "arbor", args);
	arb_test_line(&tp, "root/up event=connected", 10000, l, sizeof(l));
	// Published by the ticker, back through the subscription: counted.
	for (i = 0; i < 200 && !seen; i++) {
		struct pollfd none = { .fd = -1 };

		if (http_get(http, "/metrics", body, sizeof(body), 2000) > 0
		    && strstr(body, "mqtt_received_total{path=\"root/up\"} ")
		    && !strstr(
		        body, "mqtt_received_total{path=\"root/up\"} 0\n")) {
			seen = true;
			break;
		}
		poll(&none, 0, 25); // the heartbeat carries them: next one
	}
	if (!seen) {
		fail_msg("no mqtt metrics on /metrics: %.2000s", body);
	}
	assert_non_null(
	    strstr(body, "mqtt_connects_total{path=\"root/up\"} 1"));
	assert_non_null(strstr(body, "mqtt_connected{path=\"root/up\"} 1"));
	assert_non_null(
	    strstr(body, "mqtt_puback_seconds_count{path=\"root/up\"}"));
	assert_non_null(strstr(body,
	    "mqtt_disconnects_total{path=\"root/up\",cause=\"stall\"} 0"));
	{
		arb_test_proc ctl;
		const char   *cargs[]
		    = { "--", "--socket", sock, "status", NULL };

		arb_test_spawn(&ctl, "arborctl", cargs);
		assert_int_equal(
		    arb_test_exit_code(arb_test_wait_exit(&ctl, 10000)), 0);
		assert_non_null(strstr(ctl.out, "mqtt_connects_total"));
		assert_non_null(strstr(ctl.out, "mqtt_publishes_total"));
		assert_non_null(strstr(ctl.out, "root/up"));
		arb_test_proc_fini(&ctl);
	}
	kill(tp.pid, SIGTERM);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 15000)), 0);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
	assert_int_equal(arb_test_rmtree(dir), 0);
#else
	(void) state;
	skip();
#endif
}

#ifdef ARBOR_BIN
// dest_tree writes the tree of the destination test: an mqtt actor (iso)
// that publishes a ticker's messages and subscribes to them for root/sink,
// an echo that logs them, present or not.
static void
dest_tree(const char *dir, int port, const char *iso, bool with_sink,
    char *file, size_t len)
{
	char text[1024];

	snprintf(text, sizeof(text),
	    "node: {name: mqttdest}\n"
	    "root:\n"
	    "  children:\n"
	    "%s"
	    "    - name: up\n"
	    "      type: mqtt\n"
	    "      isolation: %s\n"
	    "      config:\n"
	    "        host: 127.0.0.1\n"
	    "        port: %d\n"
	    "        client_id: dest-%s\n"
	    "        publish: {topic: \"dest/{tag}\", qos: 1}\n"
	    "        subscribe: [{topic: \"dest/#\", to: root/sink}]\n"
	    "    - name: tick\n"
	    "      type: ticker\n"
	    "      config: {target: root/up, interval: 20ms, tag: 7, body: "
	    "ping}\n",
	    with_sink ? "    - {name: sink, type: echo, config: {log: true}}\n"
	              : "",
	    iso, port, iso);
	arb_test_write_file(dir, "dest.yaml", text, file, len);
}
#endif

// The destination goes away and comes back (a reload removes it, another
// adds it again: a new actor with a new pid).  A thread actor learns it
// from ARB_ENOENT (dropped and counted as no_destination meanwhile); a
// process actor is not told (its sends succeed: docs/design.md) and finds
// the new one at its periodic look-up.  Either way the messages reach the
// new actor within about a second.
static void
destination_goes_and_comes_back(const char *iso)
{
#ifdef ARBOR_BIN
	char        dir[64], file[256];
	const char *args[] = { "--", "run", file, NULL };

	arb_test_mkdtemp(dir, sizeof(dir), "mqttdest");
	broker_up(&tb, false);
	dest_tree(dir, tb.port, iso, true, file, sizeof(file));
	arb_test_spawn(&tp, "arbor", args);
	arb_test_expect(&tp, "event=tree_up", 10000);
	arb_test_expect(&tp, "echo path=root/sink", 10000);

	dest_tree(dir, tb.port, iso, false, file, sizeof(file));
	kill(tp.pid, SIGHUP);
	arb_test_expect(&tp, "root/sink event=stopped", 10000);
	if (strcmp(iso, "thread") == 0) {
		arb_test_expect(&tp,
		    "event=forward_dropped to=root/sink cause=no_dest", 5000);
	}
	dest_tree(dir, tb.port, iso, true, file, sizeof(file));
	kill(tp.pid, SIGHUP);
	arb_test_expect(&tp, "event=reload_applied", 10000);
	arb_test_expect(&tp, "root/up event=destination to=root/sink", 5000);
	arb_test_expect(&tp, "echo path=root/sink", 5000);
	kill(tp.pid, SIGTERM);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&tp, 15000)), 0);
	arb_test_proc_fini(&tp);
	tbroker_fini(&tb);
	assert_int_equal(arb_test_rmtree(dir), 0);
#else
	(void) iso;
	skip();
#endif
}

static void
test_destination_comes_back_thread(void **state)
{
	(void) state;
	destination_goes_and_comes_back("thread");
}

static void
test_destination_comes_back_process(void **state)
{
	(void) state;
	destination_goes_and_comes_back("process");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pubsub_qos1_thread, teardown),
		cmocka_unit_test_teardown(test_pubsub_qos1_process, teardown),
		cmocka_unit_test_teardown(test_pubsub_qos0_thread, teardown),
		cmocka_unit_test_teardown(test_pubsub_qos0_process, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_publishing_thread, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_publishing_process, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_hold_is_no_stall, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_hold_is_no_stall_busy, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_broker_stall_detected, teardown),
		cmocka_unit_test_teardown(
		    test_receive_window_full_at_reconnect, teardown),
		cmocka_unit_test_teardown(test_overflow_reject, teardown),
		cmocka_unit_test_teardown(test_publish_by_call, teardown),
		cmocka_unit_test_teardown(
		    test_broker_restart_midstream, teardown),
		cmocka_unit_test_teardown(
		    test_stalled_broker_forces_reconnect, teardown),
		cmocka_unit_test_teardown(
		    test_actor_killed_midstream, teardown),
		cmocka_unit_test_teardown(
		    test_stop_drains_then_ends, teardown),
		cmocka_unit_test_teardown(
		    test_stop_drains_pubacks_come, teardown),
		cmocka_unit_test_teardown(
		    test_broker_absent_at_start, teardown),
		cmocka_unit_test_teardown(
		    test_wrong_credentials_exit, teardown),
		cmocka_unit_test_teardown(test_silent_broker, teardown),
		cmocka_unit_test_teardown(test_tls_v5_both_ways, teardown),
		cmocka_unit_test_teardown(test_tls_file_missing, teardown),
		cmocka_unit_test_teardown(
		    test_arbor_check_run_metrics, teardown),
		cmocka_unit_test_teardown(
		    test_destination_comes_back_thread, teardown),
		cmocka_unit_test_teardown(
		    test_destination_comes_back_process, teardown),
		cmocka_unit_test_teardown(
		    test_forward_no_destination, teardown),
		cmocka_unit_test_teardown(
		    test_forward_destination_full, teardown),
	};

	arb_actor_type_register(&probe_ops);
	arb_actor_type_register(&mqtt_actor_ops);
	arb_actor_type_register(&producer_ops);
	arb_actor_type_register(&sink_ops);
	arb_actor_type_register(&watch_ops);
	arb_actor_main(argc, argv);
	arb_test_helper_main(
	    argc, argv, helpers, sizeof(helpers) / sizeof(helpers[0]));
	return ARB_TEST_RUN("integration.mqtt", tests, argc, argv);
}
