// SPDX-License-Identifier: MIT
// actor_test.c -- the store actor end to end (SPEC 29): a
// producer actor appends and gets acknowledgements, a consumer actor
// drains and acknowledges, the store restarts under its supervisor and
// resumes.
//
// Two test actor types speak store_msgs.h the way a collector would:
//  - "producer" appends `n` readings in exactly-once batches, with at
//    most `window` batches waiting for an answer; prints "P stream first
//    count id" for every run of an STORE_APPENDED, retries a
//    STORE_REFUSED after its retry_ms, and when the store goes down (its
//    monitor) resends every unanswered batch, under the same key, to the
//    store's next incarnation;
//  - "consumer" subscribes, prints "C stream seq id" for every record of
//    its session, checks per-stream order within a session
//    ("order_violation"), and acknowledges (all, or only the first
//    `ack_limit` records it receives, as an uplink whose broker stopped
//    answering); when the store goes down it subscribes again.
// The test reads those lines: every (stream, seq) acknowledged to the
// producer reaches the consumer with its own payload.  Payloads describe
// themselves (slogt.h), so a damaged one fails.  Thread: the test; the
// node and its actors run in helper processes.

#include "arb_test.h"
#include "httpc.h"
#include "probe.h"
#include "tools.h"

#include "slogt.h"
#include "store_msgs.h"

#include <event2/event.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const arb_actor_ops *store_actor_ops(void);

// --- args: "key=value;key=value" ----------------------------------------

static long
arg_int(const void *arg, size_t len, const char *key, long def)
{
	char        buf[512];
	const char *p;
	size_t      k = strlen(key);

	if (arg == NULL || len == 0 || len >= sizeof(buf)) {
		return def;
	}
	memcpy(buf, arg, len);
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, key)) != NULL; p += k) {
		if ((p == buf || p[-1] == ';') && p[k] == '=') {
			return strtol(p + k + 1, NULL, 10);
		}
	}
	return def;
}

// --- producer -------------------------------------------------------------

#define P_BATCHES 256
#define P_KEY     0x70726f64u // the producer's exactly-once name

typedef struct pbatch {
	bool     used;
	bool     waiting; // sent, no answer yet
	int64_t  sent_ms;
	uint64_t id;
	long     first;   // index of its first reading
	int      n;
} pbatch;

typedef struct producer {
	arb_ctx      *ctx;
	arb_pid       store;
	uint64_t      mon;
	long          n, batch, window, next, acked;
	int           outstanding; // batches not answered with APPENDED
	uint64_t      next_id;
	pbatch        b[P_BATCHES];
	struct event *retry;
	struct event *check; // resends batches unanswered for a second
	bool          down;
	bool          done;
} producer;

static void p_pump(producer *p);

static void
p_send(producer *p, pbatch *b)
{
	store_reading r[64];
	uint8_t       data[64][80];
	store_body    body;
	int           i, rv;

	for (i = 0; i < b->n; i++) {
		long     k      = b->first + i;
		uint32_t stream = (uint32_t) ((k / 7) % 4);
		size_t   len    = 12 + (size_t) (k % 60);
		slogt_payload_make(data[i], stream, (uint64_t) k + 1, len);
		r[i] = (store_reading) { stream, -1, data[i], len };
	}
	// Exactly-once: a batch sent again (the store died before answering)
	// is stored once.
	if (store_msg_append_once(&body, P_KEY, b->id, r, (size_t) b->n)
	    != 0) {
		abort();
	}
	rv = arb_send_copy(p->ctx, p->store, STORE_TAG_APPEND, body.data,
	    body.len);
	store_body_free(&body);
	if (rv != ARB_OK) {
		// Not sent: resent by the retry timer.
		struct timeval tv = { 0, 50000 };
		arb_test_emit(
		    "producer send_failed error=%s", arb_err_name(rv));
		evtimer_add(p->retry, &tv);
		return;
	}
	b->waiting = true;
	b->sent_ms = arb_test_now_ms();
}

// p_check: messages between actors are at-most-once (SPEC 19), so a
// batch without an answer for a second is sent again.
static void
p_check(evutil_socket_t fd, short what, void *arg)
{
	producer *p   = arg;
	int64_t   now = arb_test_now_ms();
	int       i;

	(void) fd;
	(void) what;
	for (i = 0; i < P_BATCHES && !p->down; i++) {
		if (p->b[i].used && p->b[i].waiting
		    && now - p->b[i].sent_ms > 1000) {
			arb_test_emit("producer resend_unanswered id=%" PRIu64,
			    p->b[i].id);
			p_send(p, &p->b[i]);
		}
	}
}


static void
p_pump(producer *p)
{
	int i;

	while (!p->down && p->outstanding < p->window && p->next < p->n) {
		pbatch *b = NULL;
		for (i = 0; i < P_BATCHES && b == NULL; i++) {
			b = p->b[i].used ? NULL : &p->b[i];
		}
		if (b == NULL) {
			return;
		}
		b->used  = true;
		b->id    = ++p->next_id;
		b->first = p->next;
		b->n     = (int) (p->n - p->next < p->batch ? p->n - p->next
		                                             : p->batch);
		p->next += b->n;
		p->outstanding++;
		p_send(p, b);
	}
}

static pbatch *
p_find(producer *p, uint64_t id)
{
	int i;

	for (i = 0; i < P_BATCHES; i++) {
		if (p->b[i].used && p->b[i].id == id) {
			return &p->b[i];
		}
	}
	return NULL;
}

static void
p_retry(evutil_socket_t fd, short what, void *arg)
{
	producer *p = arg;
	int       i;

	(void) fd;
	(void) what;
	if (p->down) {
		// The store went down: find its next incarnation.
		if (arb_whereis(p->ctx, "root/store", &p->store) != ARB_OK
		    || arb_monitor(p->ctx, p->store, &p->mon) != ARB_OK) {
			struct timeval tv = { 0, 20000 };
			evtimer_add(p->retry, &tv);
			return;
		}
		p->down = false;
		arb_test_emit("producer resend store=%llu",
		    (unsigned long long) p->store.id);
	}
	for (i = 0; i < P_BATCHES; i++) {
		if (p->b[i].used && !p->b[i].waiting) {
			p_send(p, &p->b[i]);
		}
	}
	p_pump(p);
}

static int
p_init(arb_ctx *ctx, void **sp, const void *arg, size_t len)
{
	producer *p = calloc(1, sizeof(*p));

	p->ctx    = ctx;
	p->n      = arg_int(arg, len, "n", 1000);
	p->batch  = arg_int(arg, len, "batch", 40);
	p->window = arg_int(arg, len, "window", 8);
	p->retry  = evtimer_new(arb_base(ctx), p_retry, p);
	p->check  = event_new(arb_base(ctx), -1, EV_PERSIST, p_check, p);
	{
		struct timeval tv = { 0, 100000 };
		event_add(p->check, &tv);
	}
	if (arb_whereis(ctx, "root/store", &p->store) != ARB_OK
	    || arb_monitor(ctx, p->store, &p->mon) != ARB_OK) {
		return ARB_ENOENT;
	}
	*sp = p;
	p_pump(p);
	return ARB_OK;
}

static void
p_handle(arb_ctx *ctx, void *sp, const arb_msg *m)
{
	producer *p = sp;
	pbatch   *b;
	store_run runs[64];
	size_t    nruns, i;
	uint64_t  id;
	int       code, retry_ms;
	char      cause[32];

	(void) ctx;
	if (arb_msg_tag(m) == ARB_TAG_DOWN && arb_msg_ref(m) == p->mon) {
		struct timeval tv = { 0, 20000 };
		arb_test_emit("producer store_down store=%llu",
		    (unsigned long long) p->store.id);
		p->down = true;
		for (i = 0; i < P_BATCHES; i++) {
			p->b[i].waiting = false; // every unanswered one again
		}
		evtimer_add(p->retry, &tv);
		return;
	}
	if (arb_msg_tag(m) == STORE_TAG_APPENDED
	    && store_msg_appended_read(arb_msg_body(m), arb_msg_len(m), &id,
	           runs, 64, &nruns)
	        == 0) {
		uint64_t pid;
		if ((b = p_find(p, id)) == NULL) {
			arb_test_emit("producer stale_answer id=%" PRIu64, id);
			return;
		}
		pid = (uint64_t) b->first + 1;
		for (i = 0; i < nruns; i++) {
			arb_test_emit("P %u %" PRIu64 " %u %" PRIu64,
			    runs[i].stream, runs[i].first_seq, runs[i].count,
			    pid);
			pid += runs[i].count;
		}
		p->acked += b->n;
		p->outstanding--;
		memset(b, 0, sizeof(*b));
		if (p->acked == p->n && !p->done) {
			p->done = true;
			arb_test_emit("producer done acked=%ld", p->acked);
		}
		p_pump(p);
		return;
	}
	if (arb_msg_tag(m) == STORE_TAG_REFUSED
	    && store_msg_refused_read(arb_msg_body(m), arb_msg_len(m), &id,
	           &code, &retry_ms, cause, sizeof(cause))
	        == 0) {
		struct timeval tv;
		arb_test_emit("producer refused id=%" PRIu64
		              " code=%s cause=%s",
		    id, arb_err_name(code), cause);
		if ((b = p_find(p, id)) != NULL && code == ARB_EAGAIN) {
			b->waiting = false;
			tv.tv_sec  = retry_ms / 1000;
			tv.tv_usec = (retry_ms % 1000) * 1000 + 1000;
			evtimer_add(p->retry, &tv);
		}
		return;
	}
	arb_test_emit("producer unexpected tag=0x%x", arb_msg_tag(m));
}

static void
p_terminate(arb_ctx *ctx, void *sp, const arb_exit *why)
{
	producer *p = sp;

	(void) ctx;
	(void) why;
	event_free(p->retry);
	event_free(p->check);
	free(p);
}

static const arb_actor_ops producer_ops = { .type = "producer",
	.init = p_init, .handle = p_handle, .terminate = p_terminate };

// --- consumer -------------------------------------------------------------

typedef struct consumer {
	arb_ctx      *ctx;
	arb_pid       store;
	uint64_t      mon;
	uint64_t      session;
	long          ack_limit, acked, got;
	uint64_t      last[4];
	struct event *resub;
	bool          down;
	// Not on the stack: thread actors have 256 KiB stacks.
	store_record recs[4096];
	uint64_t     pos[4096];
} consumer;

static void
c_subscribe(consumer *c)
{
	store_body b;

	if (store_msg_subscribe(&b, 256, 64) != 0) {
		abort();
	}
	if (arb_send_copy(c->ctx, c->store, STORE_TAG_SUBSCRIBE, b.data, b.len)
	    != ARB_OK) {
		struct timeval tv = { 0, 20000 };
		evtimer_add(c->resub, &tv);
	}
	store_body_free(&b);
}

static void
c_resub(evutil_socket_t fd, short what, void *arg)
{
	consumer *c = arg;

	(void) fd;
	(void) what;
	if (arb_whereis(c->ctx, "root/store", &c->store) != ARB_OK
	    || arb_monitor(c->ctx, c->store, &c->mon) != ARB_OK) {
		struct timeval tv = { 0, 20000 };
		evtimer_add(c->resub, &tv);
		return;
	}
	c->down = false;
	c_subscribe(c);
}

static int
c_init(arb_ctx *ctx, void **sp, const void *arg, size_t len)
{
	consumer *c = calloc(1, sizeof(*c));

	c->ctx       = ctx;
	c->ack_limit = arg_int(arg, len, "ack_limit", -1);
	c->resub     = evtimer_new(arb_base(ctx), c_resub, c);
	if (arb_whereis(ctx, "root/store", &c->store) != ARB_OK
	    || arb_monitor(ctx, c->store, &c->mon) != ARB_OK) {
		return ARB_ENOENT;
	}
	*sp = c;
	c_subscribe(c);
	return ARB_OK;
}

static void
c_handle(arb_ctx *ctx, void *sp, const arb_msg *m)
{
	consumer     *c    = sp;
	store_record *recs = c->recs;
	uint64_t     *pos  = c->pos, session, bl, bb;
	size_t        n, i, nack = 0;
	char         gw[STORE_GATEWAY_MAX + 1];

	(void) ctx;
	if (arb_msg_tag(m) == ARB_TAG_DOWN && arb_msg_ref(m) == c->mon) {
		struct timeval tv = { 0, 20000 };
		arb_test_emit("consumer store_down");
		c->session = 0;
		c->down    = true;
		evtimer_add(c->resub, &tv);
		return;
	}
	if (arb_msg_tag(m) == STORE_TAG_SUBSCRIBED
	    && store_msg_subscribed_read(arb_msg_body(m), arb_msg_len(m),
	           &session, gw, &bl, &bb)
	        == 0) {
		c->session = session;
		memset(c->last, 0, sizeof(c->last));
		arb_test_emit(
		    "consumer subscribed gateway=%s backlog=%" PRIu64, gw, bl);
		return;
	}
	if (arb_msg_tag(m) != STORE_TAG_RECORDS
	    || store_msg_records_read(arb_msg_body(m), arb_msg_len(m),
	           &session, gw, recs, 4096, &n)
	        != 0) {
		arb_test_emit("consumer unexpected tag=0x%x", arb_msg_tag(m));
		return;
	}
	if (session != c->session) {
		return; // an earlier session's records
	}
	for (i = 0; i < n; i++) {
		slog_record r = { .pos = recs[i].pos, .stream = recs[i].stream,
			.seq = recs[i].seq, .data = recs[i].data,
			.len = recs[i].len };
		uint64_t id = 0;
		if (!slogt_payload_check(&r, &id)) {
			arb_test_emit(
			    "consumer bad_payload stream=%u seq=%" PRIu64,
			    r.stream, r.seq);
		}
		if (r.stream >= 4 || r.seq <= c->last[r.stream]) {
			arb_test_emit(
			    "consumer order_violation stream=%u seq=%" PRIu64,
			    r.stream, r.seq);
		} else {
			c->last[r.stream] = r.seq;
		}
		arb_test_emit(
		    "C %u %" PRIu64 " %" PRIu64, r.stream, r.seq, id);
		c->got++;
		if (c->ack_limit < 0 || c->acked < c->ack_limit) {
			pos[nack++] = r.pos;
			c->acked++;
		}
	}
	if (nack > 0) {
		store_body b;
		if (store_msg_ack(&b, c->session, pos, nack) != 0) {
			abort();
		}
		arb_send_copy(c->ctx, c->store, STORE_TAG_ACK, b.data, b.len);
		store_body_free(&b);
	}
}

static void
c_terminate(arb_ctx *ctx, void *sp, const arb_exit *why)
{
	consumer *c = sp;

	(void) ctx;
	(void) why;
	event_free(c->resub);
	free(c);
}

static const arb_actor_ops consumer_ops = { .type = "consumer",
	.init = c_init, .handle = c_handle, .terminate = c_terminate };

// --- poker: malformed bodies ------------------------------------------------

// "poker" sends the store bodies that claim more than they hold (a 5-byte
// msgpack array claiming 2^32 items: msgpack-c would ask for 100 GB and
// an ASan build aborts), garbage, then one good append.  It prints every
// answer.
static int
poker_init(arb_ctx *ctx, void **sp, const void *arg, size_t len)
{
	static const char big_array[] = "\xdd\xff\xff\xff\xff";
	static const char big_map[]   = "\xdf\xff\xff\xff\xff";
	static const char junk[]      = "\xc1\x00";
	store_reading     r           = { 1, -1, "ok", 2 };
	store_body        b;
	arb_pid           store;

	(void) arg;
	(void) len;
	if (arb_whereis(ctx, "root/store", &store) != ARB_OK
	    || store_msg_append(&b, 5, &r, 1) != 0) {
		return ARB_ENOENT;
	}
	arb_send_copy(ctx, store, STORE_TAG_APPEND, big_array, 5);
	arb_send_copy(ctx, store, STORE_TAG_ACK, big_array, 5);
	arb_send_copy(ctx, store, STORE_TAG_SUBSCRIBE, big_map, 5);
	arb_send_copy(ctx, store, STORE_TAG_UNSUBSCRIBE, big_map, 5);
	arb_send_copy(ctx, store, STORE_TAG_APPEND, junk, 2);
	arb_send_copy(ctx, store, STORE_TAG_APPEND, b.data, b.len);
	store_body_free(&b);
	*sp = NULL;
	return ARB_OK;
}

static void
poker_handle(arb_ctx *ctx, void *sp, const arb_msg *m)
{
	store_run runs[4];
	size_t    n;
	uint64_t  id;
	int       code, retry;
	char      cause[32];

	(void) ctx;
	(void) sp;
	if (arb_msg_tag(m) == STORE_TAG_REFUSED
	    && store_msg_refused_read(arb_msg_body(m), arb_msg_len(m), &id,
	           &code, &retry, cause, sizeof(cause))
	        == 0) {
		arb_test_emit("poker refused id=%" PRIu64 " code=%s cause=%s",
		    id, arb_err_name(code), cause);
	} else if (arb_msg_tag(m) == STORE_TAG_APPENDED
	    && store_msg_appended_read(arb_msg_body(m), arb_msg_len(m), &id,
	           runs, 4, &n)
	        == 0) {
		arb_test_emit("poker appended id=%" PRIu64 " seq=%" PRIu64, id,
		    runs[0].first_seq);
	}
}

static const arb_actor_ops poker_ops = { .type = "poker",
	.init = poker_init, .handle = poker_handle };

// --- the trees (helpers) ----------------------------------------------------

// store_config packs the store's config: its log in dir.
static void
store_config(msgpack_sbuffer *sb, const char *dir, const char *extra_key,
    int extra_val)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, extra_key ? 4 : 3);
	msgpack_pack_str_with_body(&pk, "dir", 3);
	msgpack_pack_str_with_body(&pk, dir, strlen(dir));
	msgpack_pack_str_with_body(&pk, "gateway", 7);
	msgpack_pack_str_with_body(&pk, "gw-test", 7);
	msgpack_pack_str_with_body(&pk, "commit_interval", 15);
	msgpack_pack_str_with_body(&pk, "5ms", 3);
	if (extra_key != NULL) {
		msgpack_pack_str_with_body(&pk, extra_key, strlen(extra_key));
		msgpack_pack_int(&pk, extra_val);
	}
}

// h_tree runs a node: argv[1] the store's directory, argv[2] its
// isolation ("thread" or "process"), argv[3] the producer's arg ("-":
// none), argv[4] the consumer's arg ("-": none).
static int
h_tree(int argc, char **argv)
{
	msgpack_sbuffer sb;
	arb_child_spec  c[3];
	size_t          n = 0;
	int             rv;

	if (argc != 5) {
		return 64;
	}
	argv++;
	store_config(&sb, argv[0], NULL, 0);
	memset(c, 0, sizeof(c));
	c[n++] = (arb_child_spec) { .name = "store", .type = "store",
		.isolation = strcmp(argv[1], "process") == 0 ? ARB_PROCESS
		                                             : ARB_THREAD,
		.arg = sb.data, .arg_len = sb.size };
	if (strcmp(argv[2], "poke") == 0) {
		c[n++] = (arb_child_spec) { .name = "poker", .type = "poker",
			.restart = ARB_TEMPORARY };
	} else if (strcmp(argv[2], "-") != 0) {
		c[n++] = (arb_child_spec) { .name = "producer",
			.type = "producer", .arg = argv[2],
			.arg_len = strlen(argv[2]), .restart = ARB_TEMPORARY };
	}
	if (strcmp(argv[3], "-") != 0) {
		c[n++] = (arb_child_spec) { .name = "consumer",
			.type = "consumer", .arg = argv[3],
			.arg_len = strlen(argv[3]), .restart = ARB_TEMPORARY };
	}
	{
		const arb_sup_spec s = { .strategy = ARB_ONE_FOR_ONE,
			.intensity = 10, .period_ms = 10000, .children = c,
			.nchildren = n };
		rv = arb_test_node_main(&s);
	}
	msgpack_sbuffer_destroy(&sb);
	return rv;
}

static const arb_test_helper helpers[] = {
	{ "tree", h_tree },
	{ "arbor", h_arbor },
};

// --- checking what the actors printed ---------------------------------------

typedef struct seen {
	slogt_model acked; // P lines: (stream, seq) -> id
	slogt_map   got;   // C lines: (stream, seq) -> id
	long        nacked, ngot, dup_payloads;
} seen;

static void
seen_read(seen *s, const char *out)
{
	const char *p = out;

	while (p != NULL && *p != '\0') {
		unsigned     stream, count, i;
		uint64_t     seq, id;
		const char  *line = strstr(p, "\n");
		const char  *body = p;
		slogt_known *k;

		// Lines come as "... P ..." or "... C ..." after a prefix?
		// arb_test_emit writes them bare.
		if (sscanf(body, "P %u %" SCNu64 " %u %" SCNu64, &stream, &seq,
		        &count, &id)
		    == 4) {
			for (i = 0; i < count; i++) {
				k = slogt_model_get(&s->acked,
				    SLOGT_KEY(stream, seq + i), true);
				if (k->id != 0 && k->id != id + i) {
					fail_msg(
					    "stream %u seq %" PRIu64
					    " acknowledged twice with two "
					    "payloads",
					    stream, seq + i);
				}
				k->id = id + i;
				s->nacked++;
			}
		} else if (sscanf(body, "C %u %" SCNu64 " %" SCNu64, &stream,
		               &seq, &id)
		    == 3) {
			k = slogt_map_get(
			    &s->got, SLOGT_KEY(stream, seq), true);
			if (k->id != 0 && k->id != id) {
				fail_msg("stream %u seq %" PRIu64
				         " delivered with two payloads",
				    stream, seq);
			}
			k->id = id;
			s->ngot++;
		}
		p = line != NULL ? line + 1 : NULL;
	}
}

// seen_missing counts the acknowledged records not delivered (yet).
static size_t
seen_missing(seen *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->acked.acked.cap; i++) {
		slogt_known *a = &s->acked.acked.v[i];
		if (a->key != 0
		    && slogt_map_get(&s->got, a->key, false) == NULL) {
			n++;
		}
	}
	return n;
}

// seen_check: every acknowledged (stream, seq) reached the consumer with
// its payload.  Returns how many distinct records the consumer got.
static size_t
seen_check(seen *s)
{
	size_t i;

	for (i = 0; i < s->acked.acked.cap; i++) {
		slogt_known *a = &s->acked.acked.v[i];
		slogt_known *g;
		if (a->key == 0) {
			continue;
		}
		g = slogt_map_get(&s->got, a->key, false);
		if (g == NULL) {
			fail_msg("stream %u seq %" PRIu64 " (payload %" PRIu64
			         ") acknowledged, never delivered",
			    (unsigned) (a->key >> 48), a->key & SLOG_U48_MAX,
			    a->id);
		}
		if (g->id != a->id) {
			fail_msg("stream %u seq %" PRIu64 ": payload %" PRIu64
			         " delivered, %" PRIu64 " acknowledged",
			    (unsigned) (a->key >> 48), a->key & SLOG_U48_MAX,
			    g->id, a->id);
		}
	}
	return s->got.count;
}

static void
seen_fini(seen *s)
{
	slogt_model_fini(&s->acked);
	free(s->got.v);
}

// count_payloads counts the distinct payload ids the consumer got.
static size_t
count_payloads(seen *s)
{
	slogt_map ids = { 0 };
	size_t    i, n;

	for (i = 0; i < s->got.cap; i++) {
		if (s->got.v[i].key != 0) {
			slogt_map_get(&ids, s->got.v[i].id + 1, true);
		}
	}
	n = ids.count;
	free(ids.v);
	return n;
}

// --- the tests --------------------------------------------------------------

// wait_lines reads p's output until at least want lines hold needle
// (counting everything printed so far), failing after timeout_ms.
static void
wait_lines(arb_test_proc *p, const char *needle, long want, int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		if (arb_test_count(p, needle) >= want) {
			return;
		}
		// Reads whatever comes for 20 ms (the needle never matches).
		arb_test_try_expect(p, "\001", 20);
	}
	fail_msg("%ld lines with \"%s\" expected, %d seen:\n%s", want, needle,
	    arb_test_count(p, needle), p->out);
}

// last_field is arb_test_field of the last line holding needle.
static long
last_field(arb_test_proc *p, const char *needle, const char *key)
{
	const char *at = NULL, *q = p->out;

	while (q != NULL && (q = strstr(q, needle)) != NULL) {
		at = q;
		q += strlen(needle);
	}
	return at != NULL ? arb_test_field(at, key) : -1;
}

typedef struct tree_args {
	char        dir[160];
	const char *argv[5];
} tree_args;

static void
tree_args_set(tree_args *a, const char *dir, const char *iso,
    const char *parg, const char *carg)
{
	snprintf(a->dir, sizeof(a->dir), "%s/store", dir);
	a->argv[0] = a->dir;
	a->argv[1] = iso;
	a->argv[2] = parg;
	a->argv[3] = carg;
	a->argv[4] = NULL;
}

static void
test_thread_store_end_to_end(void **state)
{
	arb_test_proc p;
	tree_args     a;
	char          dir[128];
	seen          s = { 0 };

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store84");
	tree_args_set(&a, dir, "thread", "n=3000;batch=40;window=8", "x=1");
	arb_test_spawn(&p, "tree", a.argv);
	arb_test_expect(&p, "producer done acked=3000", 20000);
	wait_lines(&p, "C ", 3000, 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	seen_read(&s, p.out);
	assert_int_equal(s.nacked, 3000);
	assert_int_equal(seen_check(&s), 3000);
	assert_int_equal(count_payloads(&s), 3000);
	assert_int_equal(arb_test_count(&p, "order_violation"), 0);
	assert_int_equal(arb_test_count(&p, "bad_payload"), 0);
	assert_int_equal(arb_test_count(&p, "producer refused"), 0);
	assert_non_null(strstr(p.out, "root/store event=ready"));
	arb_test_proc_fini(&p);
	seen_fini(&s);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

static void
test_process_store_sigkilled_resumes(void **state)
{
	arb_test_proc p;
	tree_args     a;
	char          dir[128];
	seen          s = { 0 };
	int           k;
	size_t        got;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store84");
	tree_args_set(&a, dir, "process", "n=6000;batch=30;window=6", "x=1");
	arb_test_spawn(&p, "tree", a.argv);
	for (k = 0; k < 3; k++) {
		long ospid;
		int  i;

		// The store's k-th incarnation is up (its line may come before
		// or after the producer's store_down of the previous one).
		wait_lines(&p, "root/store event=ready", k + 1, 20000);
		ospid = last_field(&p, "root/store event=ready", "ospid");
		assert_true(ospid > 0);
		// Kill it in the middle of the flow, after some answers.
		for (i = 0; i < 20 + k * 15; i++) {
			arb_test_expect(&p, "P ", 20000);
		}
		kill((pid_t) ospid, SIGKILL);
	}
	wait_lines(&p, "root/store event=ready", 4, 20000);
	arb_test_expect(&p, "producer done acked=6000", 30000);
	// Everything acknowledged reaches the consumer.
	for (k = 0; k < 500; k++) {
		seen_fini(&s);
		memset(&s, 0, sizeof(s));
		seen_read(&s, p.out);
		if (seen_missing(&s) == 0) {
			break;
		}
		arb_test_try_expect(&p, "\001", 20);
	}
	got = seen_check(&s);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_int_equal(arb_test_count(&p, "order_violation"), 0);
	assert_int_equal(arb_test_count(&p, "bad_payload"), 0);
	assert_true(arb_test_count(&p, "root/store event=open ") >= 4);
	// Batches unanswered when the store died were sent again: the ones
	// it had stored were answered with their numbers, not stored twice.
	// So the consumer got every reading exactly once in the log (some
	// more than once on the wire: what was in flight came again).
	printf("records delivered %zu, acknowledged %ld, readings %zu of "
	       "6000, deliveries %ld, batches answered from the store's "
	       "table %d\n",
	    got, s.nacked, count_payloads(&s), s.ngot,
	    arb_test_count(&p, "event=repeated_append"));
	assert_int_equal(count_payloads(&s), 6000);
	assert_int_equal(got, 6000);
	assert_int_equal(s.nacked, 6000);
	arb_test_proc_fini(&p);
	seen_fini(&s);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

static void
test_node_restart_resumes_at_the_cursor(void **state)
{
	arb_test_proc p, q;
	tree_args     a;
	char          dir[128];
	seen          s = { 0 }, t = { 0 };
	size_t        i, fresh = 0;
	uint64_t      lowest = UINT64_MAX;
	long          closed;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store84");
	// First node: 1000 readings; the consumer acknowledges only the
	// first 400 records it receives.
	tree_args_set(&a, dir, "thread", "n=1000;batch=25;window=4",
	    "ack_limit=400");
	arb_test_spawn(&p, "tree", a.argv);
	arb_test_expect(&p, "producer done acked=1000", 20000);
	wait_lines(&p, "C ", 400 + 256, 10000); // acked + a full window
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	seen_read(&s, p.out);
	assert_int_equal(s.nacked, 1000);
	// Its stop says what the log keeps: at least what was never
	// acknowledged (600), and no more than it holds.
	closed = last_field(&p, "root/store event=closed ", "backlog_records");
	assert_true(closed >= 600 && closed <= 1000);
	arb_test_proc_fini(&p);
	// Second node on the same log, a consumer only: it resumes at the
	// cursor, so it gets a suffix of the log in order: every record
	// not acknowledged (ids 401..1000) and perhaps a few acknowledged
	// just before the stop whose STORE_ACK did not reach the store
	// before its own stop (messages are at-most-once, SPEC 19).
	tree_args_set(&a, dir, "thread", "-", "x=1");
	arb_test_spawn(&q, "tree", a.argv);
	wait_lines(&q, "C ", 600, 10000);
	arb_test_try_expect(&q, "\001", 100); // a little more, if any
	// ... and the next open finds exactly that.
	assert_int_equal(last_field(&q, "root/store event=open ",
	                     "backlog_records"),
	    closed);
	kill(q.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&q, 10000)), 0);
	seen_read(&t, q.out);
	for (i = 0; i < t.got.cap; i++) {
		slogt_known *g = &t.got.v[i], *k;
		if (g->key == 0) {
			continue;
		}
		k = slogt_model_get(&s.acked, g->key, false);
		assert_non_null(k);
		assert_true(k->id == g->id);
		lowest = g->id < lowest ? g->id : lowest;
		fresh++;
	}
	printf("the second node resumed at reading %" PRIu64 " (400 were "
	       "acknowledged)\n",
	    lowest);
	assert_true(lowest <= 401 && lowest > 256);
	assert_int_equal(fresh, 1000 - lowest + 1); // a suffix, no gaps
	assert_int_equal(t.ngot, (long) fresh);      // and nothing twice
	assert_int_equal(arb_test_count(&q, "order_violation"), 0);
	arb_test_proc_fini(&q);
	seen_fini(&s);
	seen_fini(&t);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

// Malformed bodies (counts claiming more than the body holds, garbage)
// are refused and logged; the store, and the node, carry on (SPEC 20).
static void
test_malformed_bodies_refused(void **state)
{
	arb_test_proc p;
	tree_args     a;
	char          dir[128];

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store84");
	tree_args_set(&a, dir, "thread", "poke", "-");
	arb_test_spawn(&p, "tree", a.argv);
	arb_test_expect(&p, "poker appended id=5 seq=1", 10000);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_int_equal(arb_test_count(&p,
	                     "poker refused id=0 "
	                     "code=ARB_EBADMSG cause=bad_message"),
	    2);
	assert_int_equal(arb_test_count(&p, "event=bad_append"), 2);
	assert_int_equal(arb_test_count(&p, "event=bad_ack"), 1);
	assert_int_equal(arb_test_count(&p, "event=bad_subscribe"), 1);
	arb_test_proc_fini(&p);
	assert_int_equal(arb_test_rmtree(dir), 0);
}

// --- the arbor program with the module ------------------------------------

// reading_cb collects what a reopened log holds.
static void
reading_cb(void *arg, const slog_record *r)
{
	char *out = arg;
	char  one[96];

	snprintf(one, sizeof(one), "%s %u/%" PRIu64 "=%.*s;", r->gateway,
	    r->stream, r->seq, (int) r->len, (const char *) r->data);
	strncat(out, one, 1023 - strlen(out));
}

// `arbor check` reads the store's settings through its check hook and
// names each problem by FILE:LINE:COLUMN; `arbor run` finds the type by
// name (store.so), runs it in a process, and a built-in ticker appends
// readings with arb_call: each answer is STORE_APPENDED with its
// sequence number, /metrics shows the store's numbers, and the log holds
// the readings after the node stopped.
static void
test_arbor_check_and_run(void **state)
{
#ifdef ARBOR_BIN
	arb_test_proc      p;
	char               dir[128], file[512], text[2048], got[1024];
	const char        *args[4];
	slog_vfs          *vfs;
	slogt              t;
	int                i, port;
	arb_test_http_resp resp = { .body = NULL };

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store84");
	snprintf(text, sizeof(text),
	    "root:\n"
	    "  children:\n"
	    "    - name: store\n"
	    "      type: store\n"
	    "      config:\n"
	    "        quota: 5\n"
	    "        on_full: sometimes\n"
	    "        gateway: \"has space\"\n"
	    "        bogus: 1\n");
	arb_test_write_file(dir, "bad.yaml", text, file, sizeof(file));
	args[0] = "--";
	args[1] = "check";
	args[2] = file;
	args[3] = NULL;
	arb_test_spawn(&p, "arbor", args);
	assert_int_equal(
	    arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 78);
	assert_non_null(strstr(p.out, "bad.yaml:5:7: config.dir: store: "
	                              "required"));
	assert_non_null(strstr(p.out, "bad.yaml:6:9: config.quota: store: "
	                              "out of range"));
	assert_non_null(strstr(p.out, "bad.yaml:7:9: config.on_full: store: "
	                              "unknown value \"sometimes\""));
	assert_non_null(strstr(p.out, "bad.yaml:8:9: config.gateway: store:"));
	assert_non_null(strstr(p.out, "bad.yaml:9:9: config.bogus: store: "
	                              "unknown key"));
	arb_test_proc_fini(&p);

	port = arb_test_free_port();
	snprintf(text, sizeof(text),
	    "node: {name: t84, http: \"127.0.0.1:%d\"}\n"
	    "root:\n"
	    "  children:\n"
	    "    - name: store\n"
	    "      type: store\n"
	    "      isolation: process\n"
	    "      config: {dir: %s/log, gateway: gw1}\n"
	    "    - name: feeder\n"
	    "      type: ticker\n"
	    "      config: {target: root/store, interval: 20ms, tag: 65537,\n"
	    "        body: [1, [7, null, \"21.5C\"]], call: true, log: true,\n"
	    "        count: 5}\n",
	    port, dir);
	arb_test_write_file(dir, "good.yaml", text, file, sizeof(file));
	args[1] = "run";
	arb_test_spawn(&p, "arbor", args);
	for (i = 1; i <= 5; i++) {
		char want[64];
		snprintf(want, sizeof(want), "tag=65538 body=[1,[7,%d,1]]", i);
		arb_test_expect(&p, want, 10000);
	}
	// The store's numbers on /metrics (they reach the node with the
	// process actor's heartbeat: within a second or so).
	for (i = 0; i < 100; i++) {
		arb_test_http(
		    port, "GET", "/metrics", "127.0.0.1", 5000, &resp);
		if (strstr(resp.body,
		        "store_appended_records_total{path=\"root/"
		        "store\"} 5\n")
		    != NULL) {
			break;
		}
		free(resp.body);
		resp.body = NULL;
		arb_test_try_expect(&p, "\001", 50);
	}
	assert_non_null(resp.body);
	assert_non_null(strstr(resp.body,
	    "store_backlog_records{path=\"root/store\"} 5\n"));
	assert_non_null(strstr(resp.body,
	    "store_fsync_seconds_count{path=\"root/store\"}"));
	assert_non_null(
	    strstr(resp.body, "store_oldest_unacked_age_seconds{"));
	assert_non_null(strstr(resp.body,
	    "store_refused_readings_total{path=\""
	    "root/store\",cause=\"quota\"} 0\n"));
	assert_non_null(strstr(resp.body,
	    "store_dropped_records_total{path=\""
	    "root/store\",cause=\"drop_oldest\"} "
	    "0\n"));
	free(resp.body);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_non_null(strstr(p.out, "root/store event=ready"));
	arb_test_proc_fini(&p);
	// The log holds the five readings.
	snprintf(file, sizeof(file), "%s/log", dir);
	assert_int_equal(slog_vfs_posix_new(file, &vfs), 0);
	slogt_init(&t, vfs);
	t.o.gateway = "gw1";
	ARB_PASS(slogt_open(&t));
	got[0] = '\0';
	assert_int_equal(slog_consume(t.s, 100, SIZE_MAX, reading_cb, got), 5);
	assert_string_equal(got, "gw1 7/1=21.5C;gw1 7/2=21.5C;gw1 7/3=21.5C;"
	                         "gw1 7/4=21.5C;gw1 7/5=21.5C;");
	slogt_close(&t);
	slogt_fini(&t);
	slog_vfs_destroy(vfs);
	assert_int_equal(arb_test_rmtree(dir), 0);
#else
	(void) state;
	skip();
#endif
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_thread_store_end_to_end),
	cmocka_unit_test(test_process_store_sigkilled_resumes),
	cmocka_unit_test(test_node_restart_resumes_at_the_cursor),
	cmocka_unit_test(test_malformed_bodies_refused),
	cmocka_unit_test(test_arbor_check_and_run),
};

int
main(int argc, char **argv)
{
	arb_actor_type_register(&probe_ops);
	arb_actor_type_register(store_actor_ops());
	arb_actor_type_register(&producer_ops);
	arb_actor_type_register(&consumer_ops);
	arb_actor_type_register(&poker_ops);
	arb_actor_main(argc, argv);
	arb_test_helper_main(
	    argc, argv, helpers, sizeof(helpers) / sizeof(helpers[0]));
	return ARB_TEST_RUN("integration.store_actor", tests, argc, argv);
}
