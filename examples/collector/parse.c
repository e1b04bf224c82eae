// SPDX-License-Identifier: MIT
// parse.c -- the actor type "collector_parse": the collector's
// parse/validate worker.
//
// It takes serial frames (ARB_SERIAL_TAG_FRAME, from `serial` actors)
// and MQTT messages (MQTT_MESSAGE, from an `mqtt` actor's
// subscriptions), turns each line into a reading (reading.h: stream,
// receive time, values) or rejects it with a counted reason, and hands
// the readings to the store (STORE_APPEND) in batches, one append in
// flight at a time, so the store keeps them in the order they came.
//
// A reading stays in this actor's bounded queue until the store
// answered STORE_APPENDED (the fdatasync covering it returned).  When
// the store refuses with back-pressure the batch is sent again after
// retry_ms; when the store goes DOWN (monitored) or does not answer
// within append_timeout, the batch in flight is sent again to the store
// that is found next.  Appends are exactly-once (docs/store.md,
// "Producers"): each carries (producer, id), the producer a random
// number of this incarnation, and a batch is sent again with the same
// key and readings, so a batch the store had made durable before it
// died is answered, not stored twice.  A full queue drops the new
// reading, counted.  MQTT messages that asked for it are confirmed with
// MQTT_ACK once this actor has them (queued, rejected or dropped), in one
// MQTT_ACK per turn of its loop: the mqtt actor's receive_window counts
// what is on the way here, which a kill of that actor would lose (this
// actor's queue outlives it).  At a stop the queue is flushed for at
// most `drain`.
//
// Thread: the actor's loop.

#include "clock.h"
#include "mpr.h"
#include "mqtt_msgs.h"
#include "reading.h"
#include "serial_msgs.h"
#include "start.h"
#include "store_msgs.h"

#include <arbor/actor.h>

#include <event2/event.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define LIMITS_MAX   32
#define REQUIRED_MAX 16
#define ACKS_MAX     256       // MQTT_ACK seqs per message
#define BATCH_BYTES  (256 << 10) // bytes of readings per STORE_APPEND

// --- settings ----------------------------------------------------------------

typedef struct settings {
	char          store[128];
	reading_rules rules;
	reading_limit limits[LIMITS_MAX];
	char          required[REQUIRED_MAX][READING_NAME_MAX + 1];
	const char   *required_p[REQUIRED_MAX];
	int64_t       queue;
	int64_t       batch;
	int64_t       append_timeout_ms;
	int64_t       drain_ms;
} settings;

static bool
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > READING_NAME_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c   = s[i];
		bool alp = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || c == '_';
		if (!alp && (i == 0 || c < '0' || c > '9')) {
			return false;
		}
	}
	return true;
}

// read_limit reads one entry of limits, NAME: [LOW, HIGH]; r covers
// the value alone.
static void
read_limit(arb_cfg *lim, settings *c, const void *kp, size_t kn, mpr *r)
{
	char     key[READING_NAME_MAX + 1];
	uint32_t n = 0;
	double   lo = 0, hi = 0;

	if (kn == 0 || kn > READING_NAME_MAX) {
		arb_cfg_err(lim, NULL, "a value name has 1 to 32 bytes");
		return;
	}
	memcpy(key, kp, kn);
	key[kn] = '\0';
	if (mpr_array(r, &n) != 0 || n != 2 || mpr_number(r, &lo) != 0
	    || mpr_number(r, &hi) != 0 || !(lo <= hi)) {
		arb_cfg_err(lim, key,
		    "a limit is [LOW, HIGH], two numbers with LOW <= HIGH");
	} else if (!name_ok(key)) {
		arb_cfg_err(
		    lim, key, "not a value name ([A-Za-z_][A-Za-z0-9_]*)");
	} else if (c->rules.nlimits == LIMITS_MAX) {
		arb_cfg_err(lim, key, "at most 32 limits");
	} else {
		reading_limit *l = &c->limits[c->rules.nlimits++];

		snprintf(l->name, sizeof(l->name), "%s", key);
		l->lo = lo;
		l->hi = hi;
	}
}

static void
read_limits(arb_cfg *cfg, settings *c)
{
	static const char *const checks[]
	    = { "optional", "required", "ignore", NULL };
	arb_cfg    *req;
	const void *raw, *kp;
	size_t      n, i, kn, len;
	uint32_t    npairs, k;
	mpr         r;
	int         ck = 0;

	if (arb_cfg_enum(cfg, "checksum", checks, &ck) == ARB_OK) {
		c->rules.checksum = (reading_checksum) ck;
	}
	// limits: {t: [-40, 85], h: [0, 100]}; the keys are value names,
	// so the map is walked as it is.
	if (arb_cfg_type_of(cfg, "limits") == ARB_CFG_MAP
	    && arb_cfg_raw(cfg, "limits", &raw, &len) == ARB_OK) {
		arb_cfg *lim = arb_cfg_sub(cfg, "limits");

		mpr_init(&r, raw, len);
		if (mpr_map(&r, &npairs) == 0) {
			for (k = 0; k < npairs; k++) {
				const uint8_t *v0;
				mpr            one;

				if (mpr_bytes(&r, &kp, &kn) != 0) {
					break;
				}
				v0 = r.p;
				if (mpr_skip(&r) != 0) {
					break;
				}
				mpr_init(&one, v0, (size_t) (r.p - v0));
				read_limit(lim, c, kp, kn, &one);
			}
		}
	} else if (arb_cfg_has(cfg, "limits")) {
		arb_cfg_err(cfg, "limits",
		    "a mapping of value names to [LOW, HIGH]");
	}
	c->rules.limits = c->limits;
	// require: [n, t]
	req = arb_cfg_list(cfg, "require", &n);
	for (i = 0; i < n; i++) {
		const char *s;

		if (arb_cfg_str(arb_cfg_item(req, i), NULL, READING_NAME_MAX,
		        &s)
		    != ARB_OK) {
			continue;
		}
		if (!name_ok(s)) {
			arb_cfg_err(arb_cfg_item(req, i), NULL,
			    "not a value name ([A-Za-z_][A-Za-z0-9_]*)");
		} else if (c->rules.nrequired == REQUIRED_MAX) {
			arb_cfg_err(req, NULL, "at most 16 required values");
		} else {
			snprintf(c->required[c->rules.nrequired],
			    sizeof(c->required[0]), "%s", s);
			c->required_p[c->rules.nrequired]
			    = c->required[c->rules.nrequired];
			c->rules.nrequired++;
		}
	}
	c->rules.required = c->required_p;
}

// parse_read reads the settings; the check hook and init share it.
static void
parse_read(arb_cfg *cfg, void *out)
{
	settings *c = out;
	static const char *const keys[] = { "store", "max_line",
		"max_values", "checksum", "limits", "require", "queue", "batch",
		"append_timeout", "drain", NULL };
	const char *s;
	uint64_t    line;
	int64_t     maxv;

	memset(c, 0, sizeof(*c));
	snprintf(c->store, sizeof(c->store), "root/store");
	reading_rules_default(&c->rules);
	c->queue             = 50000;
	c->batch             = 1024;
	c->append_timeout_ms = 30000;
	c->drain_ms          = 2000;
	arb_cfg_keys(cfg, keys);
	if (arb_cfg_str(cfg, "store", sizeof(c->store) - 1, &s) == ARB_OK) {
		snprintf(c->store, sizeof(c->store), "%s", s);
	}
	line = c->rules.max_line;
	if (arb_cfg_size(cfg, "max_line", 16, READING_LINE_MAX, &line)
	    == ARB_OK) {
		c->rules.max_line = (size_t) line;
	}
	maxv = (int64_t) c->rules.max_values;
	if (arb_cfg_int(cfg, "max_values", 1, READING_VALUES_MAX, &maxv)
	    == ARB_OK) {
		c->rules.max_values = (size_t) maxv;
	}
	read_limits(cfg, c);
	arb_cfg_int(cfg, "queue", 16, 10000000, &c->queue);
	arb_cfg_int(cfg, "batch", 1, 4096, &c->batch);
	arb_cfg_dur(cfg, "append_timeout", 100, 600000, &c->append_timeout_ms);
	arb_cfg_dur(cfg, "drain", 0, 60000, &c->drain_ms);
}

static void
parse_check(arb_cfg *cfg)
{
	settings c;

	parse_read(cfg, &c);
}

// --- state ---------------------------------------------------------------

// One reading waiting for the store.
typedef struct entry {
	uint32_t sid;
	int64_t  ts_ms;
	uint32_t len;
	uint8_t  data[]; // [1, stream, values_json]
} entry;

enum { IN_SERIAL, IN_MQTT, IN_COUNT };
enum { DROP_QUEUE_FULL, DROP_STORE_REFUSED, DROP_STOPPED, DROP_COUNT };
enum { RESEND_DOWN, RESEND_TIMEOUT, RESEND_COUNT };

typedef struct metrics {
	arb_metric *readings[IN_COUNT];
	arb_metric *rejected[READING_ERR_COUNT];
	arb_metric *stored;
	arb_metric *dropped[DROP_COUNT];
	arb_metric *resent[RESEND_COUNT];
	arb_metric *refusals;
	arb_metric *queue;
	arb_metric *store_up;
	arb_metric *append_s;
} metrics;

typedef struct acks {
	arb_pid  to;
	size_t   n;
	uint64_t seq[ACKS_MAX];
} acks;

typedef struct parse {
	arb_ctx *ctx;
	settings c;
	metrics  m;
	// the queue: a ring of entries; the first `infl` are the batch of
	// the append (producer, infl_id), sent when `sent`, sent again with
	// the same key and readings until the store answers it
	entry  **q;
	size_t   qcap, qhead, qn;
	size_t   infl;
	bool     sent;
	uint64_t producer; // random, non-zero: the store's exactly-once key
	uint64_t infl_id, next_id;
	int64_t  infl_t0; // monotonic us at the first send
	// the store
	arb_pid  store;
	bool     have_store;
	uint64_t mon_ref;
	int      lookup_ms; // next look-up delay (grows to 1 s)
	bool     retry_wait; // a refusal's retry_ms runs
	// timers
	struct event *retry_ev;   // look-up / refusal retry / EAGAIN
	struct event *timeout_ev; // append_timeout
	struct event *drain_ev;   // the stop's deadline
	struct event *ack_ev;     // end of the turn: MQTT_ACK what came
	acks          rx;         // MQTT_ACKs of this turn
	bool          stopping;
	// scratch
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char           *json;
	store_reading  *rd;   // the batch, for store_msg_append_once
	store_run      *runs; // an answer's runs (`batch` at most)
	// rate limit of the rejection log: once a second per cause
	int64_t  rej_logged[READING_ERR_COUNT];
	uint64_t rej_since[READING_ERR_COUNT];
} parse;

static void pump(parse *p);

static entry *
q_at(parse *p, size_t i)
{
	return p->q[(p->qhead + i) % p->qcap];
}

static bool
q_push(parse *p, entry *e)
{
	if (p->qn == p->qcap) {
		size_t  ncap = p->qcap * 2, i;
		entry **nq;

		if (ncap > (size_t) p->c.queue) {
			ncap = (size_t) p->c.queue;
		}
		if (ncap <= p->qcap || (nq = malloc(ncap * sizeof(*nq))) == NULL) {
			return false;
		}
		for (i = 0; i < p->qn; i++) {
			nq[i] = q_at(p, i);
		}
		free(p->q);
		p->q     = nq;
		p->qcap  = ncap;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qn) % p->qcap] = e;
	p->qn++;
	arb_metric_set(p->m.queue, (double) p->qn);
	return true;
}

static entry *
q_pop(parse *p)
{
	entry *e = p->q[p->qhead];

	p->qhead = (p->qhead + 1) % p->qcap;
	p->qn--;
	return e;
}

// --- MQTT_ACK ------------------------------------------------------------------

static void
acks_flush(parse *p, acks *a)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	size_t          i;

	if (a->n == 0) {
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "seq", 3);
	msgpack_pack_array(&pk, (uint32_t) a->n);
	for (i = 0; i < a->n; i++) {
		msgpack_pack_uint64(&pk, a->seq[i]);
	}
	// A confirmation only measures (mqtt_msgs.h): one that cannot be
	// sent (the mqtt actor restarted) changes nothing.
	(void) arb_send_copy(p->ctx, a->to, MQTT_ACK, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	a->n = 0;
}

static void
acks_add(parse *p, acks *a, arb_pid to, uint64_t seq)
{
	if (a->n > 0 && (!arb_pid_eq(a->to, to) || a->n == ACKS_MAX)) {
		acks_flush(p, a);
	}
	a->to          = to;
	a->seq[a->n++] = seq;
}

// ack_later confirms an MQTT message at the end of this turn (with the
// others of the turn, in one MQTT_ACK per mqtt actor).
static void
ack_later(parse *p, arb_pid to, uint64_t seq)
{
	acks_add(p, &p->rx, to, seq);
	if (!event_pending(p->ack_ev, EV_TIMEOUT, NULL)) {
		event_active(p->ack_ev, EV_TIMEOUT, 1);
	}
}

static void
on_ack(evutil_socket_t fd, short what, void *arg)
{
	parse *p = arg;

	(void) fd;
	(void) what;
	acks_flush(p, &p->rx);
}

// --- the store -----------------------------------------------------------------

static void
maybe_done(parse *p)
{
	if (p->stopping && p->qn == 0) {
		arb_log(p->ctx, ARB_LOG_INFO, "drained", NULL);
		arb_actor_exit(p->ctx,
		    &(arb_exit) { .kind = ARB_EXIT_SHUTDOWN });
	}
}

static void
store_lost(parse *p, const char *why)
{
	if (p->have_store) {
		arb_log(p->ctx, ARB_LOG_WARN, "store_down",
		    "store=%s reason=%s inflight=%zu", p->c.store, why,
		    p->infl);
		if (p->mon_ref != 0) {
			arb_demonitor(p->ctx, p->mon_ref);
			p->mon_ref = 0;
		}
	}
	p->have_store = false;
	arb_metric_set(p->m.store_up, 0);
	if (p->sent) {
		arb_metric_add(p->m.resent[RESEND_DOWN], p->infl);
		p->sent = false; // the same batch, to the next store
		event_del(p->timeout_ev);
	}
	p->retry_wait = false;
	col_arm(p->retry_ev, p->lookup_ms);
	p->lookup_ms = p->lookup_ms * 2 > 1000 ? 1000 : p->lookup_ms * 2;
}

static void
store_lookup(parse *p)
{
	if (p->have_store) {
		return;
	}
	// The path resolves to the store's slot address: appends reach
	// whichever incarnation holds it.  The monitor binds to the one
	// holding it now; while the store restarts, that is the dead one
	// (or none) and its DOWN (noproc) comes at once: a look-up later.
	if (col_find(p->ctx, "store", p->c.store, &p->store, &p->mon_ref)
	    != ARB_OK) {
		col_arm(p->retry_ev, p->lookup_ms);
		p->lookup_ms
		    = p->lookup_ms * 2 > 1000 ? 1000 : p->lookup_ms * 2;
		return;
	}
	p->have_store = true;
	// lookup_ms is reset by the store's first answer: while the store
	// restarts, each look-up ends in a DOWN (noproc) and the next one
	// waits twice as long (10 ms doubling to 1 s, not one every 10 ms).
	arb_metric_set(p->m.store_up, 1);
	pump(p);
}

// send_append sends the batch: the first entries of the queue (a new
// batch when none is pending) as one exactly-once STORE_APPEND,
// [[producer, id], [stream, ts, data]...].  A batch sent again has the
// same key and readings, so the store stores it once whatever happened
// to the first send (docs/store.md, "Producers").
static void
send_append(parse *p)
{
	size_t     k, bytes = 0, i;
	store_body body;
	int        rv;

	if (p->infl == 0) {
		for (k = 0; k < p->qn && k < (size_t) p->c.batch; k++) {
			bytes += q_at(p, k)->len;
			if (bytes > BATCH_BYTES && k > 0) {
				break;
			}
		}
		p->infl    = k;
		p->infl_id = ++p->next_id;
		p->infl_t0 = clk_mono_us();
	}
	for (i = 0; i < p->infl; i++) {
		entry *e = q_at(p, i);

		p->rd[i] = (store_reading) { .stream = e->sid,
			.ts_ms = e->ts_ms, .data = e->data, .len = e->len };
	}
	if (store_msg_append_once(&body, p->producer, p->infl_id, p->rd, p->infl)
	    != 0) {
		p->retry_wait = true; // out of memory: try again shortly
		col_arm(p->retry_ev, 10);
		return;
	}
	rv = arb_send_copy(
	    p->ctx, p->store, STORE_TAG_APPEND, body.data, body.len);
	store_body_free(&body);
	if (rv == ARB_EAGAIN) {
		// The store's mailbox is full: try again shortly.
		p->retry_wait = true;
		col_arm(p->retry_ev, 10);
		return;
	}
	if (rv != ARB_OK) {
		store_lost(p, arb_err_name(rv));
		return;
	}
	p->sent = true;
	col_arm(p->timeout_ev, p->c.append_timeout_ms);
}

static void
pump(parse *p)
{
	if (!p->sent && (p->infl > 0 || p->qn > 0) && p->have_store
	    && !p->retry_wait) {
		send_append(p);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	parse *p = arg;

	(void) fd;
	(void) what;
	p->retry_wait = false;
	if (!p->have_store) {
		store_lookup(p);
	} else {
		pump(p);
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	parse *p = arg;

	(void) fd;
	(void) what;
	if (!p->sent) {
		return;
	}
	arb_log(p->ctx, ARB_LOG_WARN, "resend",
	    "cause=timeout readings=%zu timeout_ms=%" PRId64, p->infl,
	    p->c.append_timeout_ms);
	arb_metric_add(p->m.resent[RESEND_TIMEOUT], p->infl);
	p->sent = false;
	pump(p);
}

// batch_done ends the batch in flight (stored, or refused for good): its
// readings leave the queue, and the next batch goes.
static void
batch_done(parse *p)
{
	size_t i;

	for (i = 0; i < p->infl; i++) {
		free(q_pop(p));
	}
	p->infl = 0;
	p->sent = false;
	arb_metric_set(p->m.queue, (double) p->qn);
	pump(p);
	maybe_done(p);
}

static void
on_appended(parse *p, const arb_msg *m)
{
	uint64_t id;
	size_t   nruns;

	if (store_msg_appended_read(arb_msg_body(m), arb_msg_len(m), &id,
	        p->runs, (size_t) p->c.batch, &nruns)
	    != 0) {
		arb_log(p->ctx, ARB_LOG_WARN, "bad_answer", "tag=0x%08x",
		    STORE_TAG_APPENDED);
		return;
	}
	if (p->infl == 0 || id != p->infl_id) {
		return; // the answer to a batch already answered
	}
	event_del(p->timeout_ev);
	p->lookup_ms = 10; // the store answers
	arb_metric_observe(
	    p->m.append_s, (double) (clk_mono_us() - p->infl_t0) / 1e6);
	arb_metric_add(p->m.stored, p->infl);
	batch_done(p);
}

static void
on_refused(parse *p, const arb_msg *m)
{
	uint64_t id;
	int      code, retry;
	char     cause[64];

	if (store_msg_refused_read(arb_msg_body(m), arb_msg_len(m), &id, &code,
	        &retry, cause, sizeof(cause))
	    != 0) {
		arb_log(p->ctx, ARB_LOG_WARN, "bad_answer", "tag=0x%08x",
		    STORE_TAG_REFUSED);
		return;
	}
	if (p->infl == 0 || id != p->infl_id) {
		return;
	}
	event_del(p->timeout_ev);
	if (code == ARB_EAGAIN) {
		// Back-pressure: nothing was stored; the same batch again.
		arb_metric_add(p->m.refusals, 1);
		arb_log(p->ctx, ARB_LOG_WARN, "refused",
		    "cause=%s retry_ms=%d readings=%zu", cause, retry, p->infl);
		p->sent       = false;
		p->retry_wait = true;
		col_arm(p->retry_ev, retry < 10 ? 10 : retry > 5000 ? 5000 : retry);
		return;
	}
	// The message itself is wrong for this store (a reading over its
	// max_record): sending it again would fail again.
	arb_log(p->ctx, ARB_LOG_ERROR, "dropped",
	    "cause=store_refused reason=%s code=%s readings=%zu", cause,
	    arb_err_name(code), p->infl);
	arb_metric_add(p->m.dropped[DROP_STORE_REFUSED], p->infl);
	batch_done(p);
}

// --- readings ------------------------------------------------------------------

static void
reject(parse *p, reading_err why, const char *stream, size_t slen,
    const void *line, size_t len)
{
	int64_t now = clk_mono_us() / 1000;
	char    shown[96];
	size_t  i, n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;

	arb_metric_add(p->m.rejected[why], 1);
	p->rej_since[why]++;
	if (now - p->rej_logged[why] < 1000 && p->rej_logged[why] != 0) {
		return;
	}
	// The line as text for the log: what is not printable becomes '.'.
	for (i = 0; i < n; i++) {
		unsigned char ch = ((const unsigned char *) line)[i];
		shown[i] = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\'
		    ? (char) ch
		    : '.';
	}
	shown[n] = '\0';
	arb_log(p->ctx, ARB_LOG_WARN, "rejected",
	    "cause=%s stream=\"%.*s\" count=%" PRIu64 " line=\"%s%s\"",
	    reading_err_name(why), (int) (slen > 64 ? 64 : slen), stream,
	    p->rej_since[why], shown, len > n ? "..." : "");
	p->rej_logged[why] = now;
	p->rej_since[why]  = 0;
}

// take parses one line and queues its reading.  Returns true when it was
// queued.
static bool
take(parse *p, int input, const char *stream, size_t slen, int64_t ts_ms,
    const void *line, size_t len)
{
	size_t      jlen;
	reading_err why;
	entry      *e;

	if (slen == 0 || slen > READING_STREAM_MAX) {
		reject(p, READING_BAD_STREAM, stream, slen, line, len);
		return false;
	}
	why = reading_parse(line, len, &p->c.rules, p->json,
	    READING_JSON_CAP(READING_LINE_MAX), &jlen, NULL, NULL);
	if (why != READING_OK) {
		reject(p, why, stream, slen, line, len);
		return false;
	}
	if (p->stopping || p->qn >= (size_t) p->c.queue) {
		int cause = p->stopping ? DROP_STOPPED : DROP_QUEUE_FULL;

		arb_metric_add(p->m.dropped[cause], 1);
		arb_log(p->ctx, ARB_LOG_WARN, "dropped", "cause=%s queue=%zu",
		    cause == DROP_STOPPED ? "stopped" : "queue_full", p->qn);
		return false;
	}
	p->sb.size = 0;
	msgpack_pack_array(&p->pk, 3);
	msgpack_pack_uint8(&p->pk, 1);
	msgpack_pack_str_with_body(&p->pk, stream, slen);
	msgpack_pack_str_with_body(&p->pk, p->json, jlen);
	if ((e = malloc(sizeof(*e) + p->sb.size)) == NULL) {
		arb_metric_add(p->m.dropped[DROP_QUEUE_FULL], 1);
		return false;
	}
	e->sid   = reading_stream_id(stream, slen);
	e->ts_ms = ts_ms > 0 ? ts_ms : clk_real_ms();
	e->len   = (uint32_t) p->sb.size;
	memcpy(e->data, p->sb.data, p->sb.size);
	if (!q_push(p, e)) {
		free(e);
		arb_metric_add(p->m.dropped[DROP_QUEUE_FULL], 1);
		return false;
	}
	arb_metric_add(p->m.readings[input], 1);
	pump(p);
	return true;
}

static void
on_frame(parse *p, const arb_msg *m)
{
	arb_serial_frame f;

	if (arb_serial_frame_decode(arb_msg_body(m), arb_msg_len(m), &f) != 0) {
		reject(p, READING_BAD_MESSAGE, "-", 1, arb_msg_body(m),
		    arb_msg_len(m));
		return;
	}
	take(p, IN_SERIAL, f.stream, f.stream_len,
	    (int64_t) (f.ts_ns / 1000000), f.data, f.len);
}

static void
on_message(parse *p, const arb_msg *m)
{
	const void *topic = NULL, *payload = NULL;
	size_t      tlen = 0, plen = 0;
	uint64_t    seq = 0, ts_us = 0;
	bool        ack = false, has_seq = false;
	uint32_t    n, i;
	mpr         r;

	mpr_init(&r, arb_msg_body(m), arb_msg_len(m));
	if (mpr_map(&r, &n) == 0) {
		for (i = 0; i < n && !r.bad; i++) {
			const void *k;
			size_t      kn;

			if (mpr_bytes(&r, &k, &kn) != 0) {
				break;
			}
			if (mpr_is(k, kn, "topic")) {
				mpr_bytes(&r, &topic, &tlen);
			} else if (mpr_is(k, kn, "payload")) {
				mpr_bytes(&r, &payload, &plen);
			} else if (mpr_is(k, kn, "seq")) {
				has_seq = mpr_uint(&r, &seq) == 0;
			} else if (mpr_is(k, kn, "ts")) {
				mpr_uint(&r, &ts_us);
			} else if (mpr_is(k, kn, "ack")) {
				mpr_bool(&r, &ack);
			} else {
				mpr_skip(&r); // keys added later are ignored
			}
		}
	}
	if (!mpr_done(&r) || topic == NULL || payload == NULL) {
		reject(p, READING_BAD_MESSAGE, "-", 1, arb_msg_body(m),
		    arb_msg_len(m));
	} else {
		(void) take(p, IN_MQTT, topic, tlen, (int64_t) (ts_us / 1000),
		    payload, plen);
	}
	if (ack && has_seq) {
		ack_later(p, arb_msg_from(m), seq); // queued, rejected or dropped
	}
}

// --- the actor -------------------------------------------------------------------

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	parse *p = arg;

	(void) fd;
	(void) what;
	arb_log(p->ctx, ARB_LOG_WARN, "drain_timeout",
	    "readings=%zu drain_ms=%" PRId64, p->qn, p->c.drain_ms);
	arb_metric_add(p->m.dropped[DROP_STOPPED], p->qn);
	arb_actor_exit(p->ctx, &(arb_exit) { .kind = ARB_EXIT_SHUTDOWN });
}

static void
parse_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	parse *p = state;

	(void) ctx;
	switch (arb_msg_tag(m)) {
	case ARB_SERIAL_TAG_FRAME:
		on_frame(p, m);
		break;
	case MQTT_MESSAGE:
		on_message(p, m);
		break;
	case STORE_TAG_APPENDED:
		on_appended(p, m);
		break;
	case STORE_TAG_REFUSED:
		on_refused(p, m);
		break;
	case ARB_TAG_DOWN:
		if (p->have_store && arb_msg_ref(m) == p->mon_ref) {
			p->mon_ref = 0;
			store_lost(p, "down");
		}
		break;
	default:
		break;
	}
}

static void
parse_stop(arb_ctx *ctx, void *state)
{
	parse *p = state;

	p->stopping = true;
	if (p->qn == 0 || p->c.drain_ms == 0) {
		arb_metric_add(p->m.dropped[DROP_STOPPED], p->qn);
		arb_actor_exit(ctx, &(arb_exit) { .kind = ARB_EXIT_SHUTDOWN });
		return;
	}
	arb_log(ctx, ARB_LOG_INFO, "draining", "readings=%zu drain_ms=%" PRId64,
	    p->qn, p->c.drain_ms);
	col_arm(p->drain_ev, p->c.drain_ms);
}

static void
parse_free(parse *p)
{
	size_t i;

	if (p == NULL) {
		return;
	}
	for (i = 0; i < p->qn; i++) {
		free(q_at(p, i));
	}
	free(p->q);
	if (p->retry_ev != NULL) {
		event_free(p->retry_ev);
	}
	if (p->timeout_ev != NULL) {
		event_free(p->timeout_ev);
	}
	if (p->drain_ev != NULL) {
		event_free(p->drain_ev);
	}
	if (p->ack_ev != NULL) {
		event_free(p->ack_ev);
	}
	msgpack_sbuffer_destroy(&p->sb);
	free(p->json);
	free(p->rd);
	free(p->runs);
	free(p);
}

static void
metrics_setup(parse *p)
{
	static const char *const inputs[IN_COUNT] = { "serial", "mqtt" };
	static const char *const drops[DROP_COUNT]
	    = { "queue_full", "store_refused", "stopped" };
	static const char *const resends[RESEND_COUNT]
	    = { "store_down", "timeout" };
	static const double bounds[] = { .005, .01, .02, .05, .1, .25, .5, 1,
		2.5, 5 };
	char label[64];
	int  i;

	for (i = 0; i < IN_COUNT; i++) {
		snprintf(label, sizeof(label), "input=%s", inputs[i]);
		arb_metric_counter(p->ctx, "collector_readings_total", label,
		    "Readings accepted (parsed and valid), by input.",
		    &p->m.readings[i]);
	}
	for (i = 1; i < READING_ERR_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s",
		    reading_err_name((reading_err) i));
		arb_metric_counter(p->ctx, "collector_rejected_total", label,
		    "Lines rejected, by cause.", &p->m.rejected[i]);
	}
	arb_metric_counter(p->ctx, "collector_stored_total", NULL,
	    "Readings the store acknowledged (durable).", &p->m.stored);
	for (i = 0; i < DROP_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s", drops[i]);
		arb_metric_counter(p->ctx, "collector_dropped_total", label,
		    "Valid readings lost before the store, by cause.",
		    &p->m.dropped[i]);
	}
	for (i = 0; i < RESEND_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s", resends[i]);
		arb_metric_counter(p->ctx, "collector_resent_total", label,
		    "Readings sent to the store again, by cause.",
		    &p->m.resent[i]);
	}
	arb_metric_counter(p->ctx, "collector_store_refusals_total", NULL,
	    "Appends the store refused with back-pressure.", &p->m.refusals);
	arb_metric_gauge(p->ctx, "collector_queue_readings", NULL,
	    "Readings waiting for the store (in flight included).",
	    &p->m.queue);
	arb_metric_gauge(p->ctx, "collector_store_up", NULL,
	    "1 while the store is known and monitored.", &p->m.store_up);
	arb_metric_histogram(p->ctx, "collector_append_seconds", NULL,
	    "STORE_APPEND to STORE_APPENDED.", bounds,
	    sizeof(bounds) / sizeof(bounds[0]), &p->m.append_s);
}

static int
parse_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	parse   *p;
	int      rv;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		return ARB_ENOMEM;
	}
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
	if ((rv = col_settings(ctx, arg, len, parse_read, &p->c)) != ARB_OK) {
		parse_free(p);
		return rv;
	}
	p->ctx = ctx;
	// The store's exactly-once key: this incarnation's own number.
	while (p->producer == 0) {
		if (getrandom(&p->producer, sizeof(p->producer), 0)
		    != (ssize_t) sizeof(p->producer)) {
			p->producer = (uint64_t) clk_mono_us() ^ (uint64_t) getpid() << 40;
		}
	}
	// Append ids start at the start time (us << 8): an answer addressed
	// to an earlier incarnation (a thread's mailbox outlives it) never
	// matches one of this one's.
	p->next_id   = (uint64_t) clk_real_ms() * 1000 << 8;
	p->qcap      = 1024 < p->c.queue ? 1024 : (size_t) p->c.queue;
	p->q         = malloc(p->qcap * sizeof(*p->q));
	p->json      = malloc(READING_JSON_CAP(READING_LINE_MAX));
	p->rd        = malloc((size_t) p->c.batch * sizeof(*p->rd));
	p->runs      = malloc((size_t) p->c.batch * sizeof(*p->runs));
	p->lookup_ms = 10;
	p->retry_ev  = evtimer_new(arb_base(ctx), on_retry, p);
	p->timeout_ev = evtimer_new(arb_base(ctx), on_timeout, p);
	p->drain_ev  = evtimer_new(arb_base(ctx), on_drain, p);
	p->ack_ev    = evtimer_new(arb_base(ctx), on_ack, p);
	if (p->q == NULL || p->json == NULL || p->rd == NULL || p->runs == NULL
	    || p->retry_ev == NULL || p->timeout_ev == NULL
	    || p->drain_ev == NULL || p->ack_ev == NULL) {
		parse_free(p);
		return ARB_ENOMEM;
	}
	event_priority_set(p->ack_ev, 2); // after the turn's messages
	metrics_setup(p);
	arb_log(ctx, ARB_LOG_INFO, "init",
	    "store=%s queue=%" PRId64 " batch=%" PRId64
	    " checksum=%d limits=%zu required=%zu",
	    p->c.store, p->c.queue, p->c.batch, (int) p->c.rules.checksum,
	    p->c.rules.nlimits, p->c.rules.nrequired);
	*statep = p;
	store_lookup(p); // or later, from the retry timer
	return ARB_OK;
}

static void
parse_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	parse_free(state);
}

static const arb_actor_ops parse_ops = {
	.type      = "collector_parse",
	.init      = parse_init,
	.handle    = parse_handle,
	.stop      = parse_stop,
	.terminate = parse_terminate,
	.check     = parse_check,
};

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&parse_ops);
}
