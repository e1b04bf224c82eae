// SPDX-License-Identifier: MIT
// uplink.c -- the actor type "collector_uplink": the store's consumer,
// publishing its backlog upstream through an `mqtt` actor at QoS 1.
//
// It subscribes to the store (STORE_SUBSCRIBE), publishes every record
// it is handed (STORE_RECORDS, in log order, so per-stream order) as one
// MQTT_PUBLISH to the mqtt actor with a `ref`, and acknowledges the
// record to the store (STORE_ACK) when its MQTT_PUBACK says status 0:
// the upstream broker has it.  The payload is JSON and carries the
// reading's identity, (gateway, stream, seq), so the upstream side can
// drop duplicates:
//
//     {"gw":"gw1","stream":"serial/s1","sid":2166136261,"seq":42,
//      "ts":1733500000123,"values":{"n":42,"t":21.50}}
//
// Anything else than a clean PUBACK (the mqtt actor went DOWN, a publish
// failed, a send was refused) makes the uplink *rewind*: it subscribes
// again, the store starts over at its first unacknowledged record, and
// what was in flight is published again, in order, behind whatever the
// mqtt actor still holds (duplicates upstream, never a gap, never a
// reordering of first deliveries).  A record whose data is not a
// collector reading is published with its bytes as "raw".
//
// Thread: the actor's loop.

#include "clock.h"
#include "mpr.h"
#include "mqtt_msgs.h"
#include "reading.h"
#include "start.h"
#include "store_msgs.h"

#include <arbor/actor.h>

#include <event2/event.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// --- settings ----------------------------------------------------------------

typedef struct settings {
	char    store[128];
	char    mqtt[128];
	char    topic[256];
	int64_t window;
	int64_t batch;
	int64_t retry_ms;
	int64_t timeout_ms;
	int64_t ack_batch;
	int64_t ack_delay_ms;
	int64_t stall_ms;
} settings;

// topic_ok checks a topic template: text and {gateway} {stream} {sid}.
static const char *
topic_ok(const char *t)
{
	static const char *const names[] = { "{gateway}", "{stream}", "{sid}" };
	size_t                   i;

	if (t[0] == '\0') {
		return "must not be empty";
	}
	while (*t != '\0') {
		if (*t == '+' || *t == '#') {
			return "a published topic holds no wildcard (+ or #)";
		}
		if (*t == '{') {
			for (i = 0; i < 3; i++) {
				if (strncmp(t, names[i], strlen(names[i])) == 0) {
					break;
				}
			}
			if (i == 3) {
				return "placeholders are {gateway}, {stream} and "
				       "{sid}";
			}
			t += strlen(names[i]);
			continue;
		}
		t++;
	}
	return NULL;
}

static void
uplink_read(arb_cfg *cfg, void *out)
{
	settings *c = out;
	static const char *const keys[]
	    = { "store", "mqtt", "topic", "window", "batch", "retry",
		      "timeout", "ack_batch", "ack_delay", "stall", NULL };
	const char *s, *why;

	memset(c, 0, sizeof(*c));
	snprintf(c->store, sizeof(c->store), "root/store");
	snprintf(c->topic, sizeof(c->topic), "collector/{gateway}/{stream}");
	c->window   = 256;
	c->batch    = 64;
	c->retry_ms   = 200;
	c->timeout_ms = 60000;
	c->ack_batch    = 64;
	c->ack_delay_ms = 20;
	c->stall_ms     = 5000;
	arb_cfg_keys(cfg, keys);
	if (arb_cfg_str(cfg, "store", sizeof(c->store) - 1, &s) == ARB_OK) {
		snprintf(c->store, sizeof(c->store), "%s", s);
	}
	if (arb_cfg_str(cfg, "mqtt", sizeof(c->mqtt) - 1, &s) == ARB_OK) {
		snprintf(c->mqtt, sizeof(c->mqtt), "%s", s);
	} else if (!arb_cfg_has(cfg, "mqtt")) {
		arb_cfg_err(cfg, "mqtt",
		    "required: the mqtt actor that publishes upstream (a "
		    "child path such as root/uplink/mqtt)");
	}
	if (arb_cfg_str(cfg, "topic", sizeof(c->topic) - 1, &s) == ARB_OK) {
		if ((why = topic_ok(s)) != NULL) {
			arb_cfg_err(cfg, "topic", "%s", why);
		} else {
			snprintf(c->topic, sizeof(c->topic), "%s", s);
		}
	}
	arb_cfg_int(cfg, "window", 1, 65535, &c->window);
	arb_cfg_int(cfg, "batch", 1, 4096, &c->batch);
	arb_cfg_dur(cfg, "retry", 1, 60000, &c->retry_ms);
	arb_cfg_dur(cfg, "timeout", 1000, 3600000, &c->timeout_ms);
	arb_cfg_int(cfg, "ack_batch", 1, 65535, &c->ack_batch);
	arb_cfg_dur(cfg, "ack_delay", 0, 1000, &c->ack_delay_ms);
	arb_cfg_dur(cfg, "stall", 1000, 3600000, &c->stall_ms);
	if (c->ack_batch > c->window) {
		c->ack_batch = c->window; // a full window is always acknowledged
	}
}

static void
uplink_check(arb_cfg *cfg)
{
	settings c;

	uplink_read(cfg, &c);
}

// --- state ---------------------------------------------------------------------

typedef struct slot {
	uint64_t ref; // 0: free
	uint64_t pos;
	int64_t  ts_ms;
	int64_t  sent_ms; // monotonic
} slot;

enum {
	RW_MQTT_DOWN,
	RW_STORE_DOWN,
	RW_FAILED,
	RW_SEND,
	RW_TIMEOUT,
	RW_STALLED,
	RW_COUNT
};
enum {
	F_EAGAIN,
	F_CANCELED,
	F_REMOTE,
	F_INVALID,
	F_SHUTDOWN,
	F_OTHER,
	F_COUNT
};

typedef struct metrics {
	arb_metric *published, *acked, *stale, *raw;
	arb_metric *rec_msgs, *ack_msgs;
	arb_metric *failed[F_COUNT];
	arb_metric *rewinds[RW_COUNT];
	arb_metric *inflight, *subscribed, *backlog, *oldest, *connected;
	arb_metric *delivery;
} metrics;

typedef struct uplink {
	arb_ctx *ctx;
	settings c;
	metrics  m;
	// peers
	arb_pid  store, mqtt;
	bool     have_store, have_mqtt;
	uint64_t mon_store, mon_mqtt;
	// the subscription
	bool     subscribed, asked;
	uint64_t session;
	unsigned sub_calls; // STORE_SUBSCRIBE calls not answered yet
	// the stall check: the last word from the store or the mqtt actor
	// about records (STORE_RECORDS, STORE_SUBSCRIBED, MQTT_PUBACK), and a
	// STORE_STATUS call under way
	int64_t  heard_ms;
	bool     probing;
	uint64_t probe_session;
	int64_t  probe_heard;
	char     gateway[STORE_GATEWAY_MAX + 1];
	// publishes in flight: slot ref % cap
	slot    *slots;
	store_record *recs; // a STORE_RECORDS' records (`batch` at most)
	size_t   cap, inflight;
	uint64_t next_ref, floor;
	// acknowledgements held back (ack_batch, ack_delay): one STORE_ACK
	// for many PUBACKs, so the store answers with one STORE_RECORDS of
	// as many records, not a message each way per few readings
	uint64_t     *acks;
	size_t        nacks;
	bool          flush_armed;
	struct event *flush_ev;
	struct event *retry_ev;
	struct event *tick_ev; // once a second: the oldest publish's age
	// the mqtt actor's connection (MQTT_STATUS once a second)
	int      up;       // -1 unknown, 0 down, 1 up
	int64_t  up_since; // monotonic ms of the last connect seen
	uint64_t connects;
	bool     asking;
	bool     finding; // the MQTT_STATUS that learns the exact pid
	// publishes of an earlier round may still be in the mqtt actor's
	// window (set by publish, cleared when its window was seen empty by
	// an MQTT_STATUS asked after the last publish)
	bool     used;
	uint64_t pubs;        // publishes sent to the mqtt actor
	uint64_t status_pubs; // `pubs` when the MQTT_STATUS under way was asked
	bool          rewind_due;
	// scratch
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char           *buf;
	size_t          bufcap;
	char            topic[1024];
} uplink;

// --- the store and the mqtt actor ------------------------------------------------

static void
flush_acks(uplink *u)
{
	store_body b;

	if (u->flush_armed) {
		event_del(u->flush_ev);
		u->flush_armed = false;
	}
	if (u->nacks == 0) {
		return;
	}
	if (u->subscribed && u->have_store
	    && store_msg_ack(&b, u->session, u->acks, u->nacks) == 0) {
		// A lost ack costs a duplicate upstream, never a reading:
		// the store delivers again what it did not hear about.
		(void) arb_send_copy(
		    u->ctx, u->store, STORE_TAG_ACK, b.data, b.len);
		store_body_free(&b);
		arb_metric_add(u->m.acked, u->nacks);
		arb_metric_add(u->m.ack_msgs, 1);
	}
	u->nacks = 0;
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	flush_acks(arg);
}

static void
clear_window(uplink *u)
{
	memset(u->slots, 0, u->cap * sizeof(*u->slots));
	u->inflight = 0;
	u->floor    = u->next_ref;
	arb_metric_set(u->m.inflight, 0);
}

static void ask_status(uplink *u);
static void on_found(arb_ctx *ctx, void *arg, const arb_result *r);
static void on_subscribe_reply(arb_ctx *ctx, void *arg, const arb_result *r);
static void check_stall(uplink *u, int64_t now);

// How long a STORE_SUBSCRIBE or STORE_STATUS call waits for its answer.
#define SUBSCRIBE_TIMEOUT_MS 5000

static void
subscribe(uplink *u)
{
	store_body b;
	int        rv = ARB_ENOMEM;

	if (!u->have_store || !u->have_mqtt) {
		return;
	}
	flush_acks(u);
	clear_window(u);
	u->subscribed = false;
	if (u->up == 0) {
		// Disconnected: the mqtt actor's window may still be full of
		// publishes waiting for the broker.  Start when it is back.
		u->rewind_due = true;
		return;
	}
	if (u->used) {
		// The mqtt actor may still hold publishes of the round that
		// ended.  A new round on top of them could overflow its window
		// (max_inflight): a publish it rejected would be sent again
		// after later ones had gone, out of order upstream.  Start
		// when its window is empty (on_status).
		u->rewind_due = true;
		ask_status(u);
		return;
	}
	// A call: an answer that never comes (lost, or its store died
	// before it left) ends in a timeout, and the uplink starts over
	// instead of waiting for ever.
	if (store_msg_subscribe(&b, (uint32_t) u->c.window, (uint32_t) u->c.batch)
	    == 0) {
		rv = arb_call(u->ctx, u->store, STORE_TAG_SUBSCRIBE, b.data,
		    b.len, SUBSCRIBE_TIMEOUT_MS, on_subscribe_reply, u);
		store_body_free(&b);
	}
	if (rv == ARB_OK) {
		u->sub_calls++;
	}
	if (rv != ARB_OK) {
		u->rewind_due = true;
		col_arm(u->retry_ev, u->c.retry_ms);
		return;
	}
	u->asked      = true;
	u->rewind_due = false;
}

// rewind starts the subscription over (after `retry`): the store then
// delivers again from its first unacknowledged record.
static void
rewind_later(uplink *u, int cause, const char *why)
{
	arb_metric_add(u->m.rewinds[cause], 1);
	flush_acks(u);
	clear_window(u);
	u->subscribed = false;
	if (!u->rewind_due) {
		arb_log(u->ctx, ARB_LOG_WARN, "rewind", "cause=%s retry_ms=%" PRId64,
		    why, u->c.retry_ms);
	}
	u->rewind_due = true;
	col_arm(u->retry_ev, u->c.retry_ms);
}

// lookup finds the store and the mqtt actor (again) and monitors them.
static void
lookup(uplink *u)
{
	arb_pid pid;

	// Paths resolve to slot addresses; a monitor binds to the
	// incarnation holding the slot now: while one restarts, its DOWN
	// (noproc) comes at once and the look-up runs again.
	if (!u->have_store
	    && col_find(u->ctx, "store", u->c.store, &u->store, &u->mon_store)
	        == ARB_OK) {
		u->have_store = true;
	}
	// The mqtt actor is published to at its exact pid, learnt from its
	// answer to MQTT_STATUS (on_found): publishes of a round that were
	// still on their way when it died must not reach its successor,
	// which would send them before the next round's replay of earlier
	// readings (out of order upstream).
	if (!u->have_mqtt && !u->finding
	    && arb_whereis(u->ctx, u->c.mqtt, &pid) == ARB_OK
	    && arb_call(u->ctx, pid, MQTT_STATUS, NULL, 0, 1000, on_found, u)
	        == ARB_OK) {
		u->finding = true;
	}
	if (u->have_store && u->have_mqtt) {
		subscribe(u);
	} else {
		col_arm(u->retry_ev, u->c.retry_ms);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	uplink *u = arg;

	(void) fd;
	(void) what;
	if (!u->have_store || !u->have_mqtt) {
		lookup(u);
	} else if (u->rewind_due) {
		subscribe(u);
	}
}

// status_take reads the mqtt actor's MQTT_STATUS reply: its connection
// and how many publishes its window holds.  `fresh`: no publish was sent
// after the question, so an empty window means every publish sent so far
// has left it (the mqtt actor takes messages from one sender in the order
// sent).  An answer to a question asked before some publish says nothing
// about that publish: the mqtt actor may have answered before it arrived
// and take it now, after the answer left (held in its mailbox while it
// was busy or stopped), so the next round would land on top of it.
static void
status_take(uplink *u, const arb_result *r, bool fresh)
{
	uint64_t  connects = u->connects;
	uint64_t  inflight  = UINT64_MAX;
	bool      connected = false;
	mpr_field f[]      = { { "connected", MPR_BOOL, &connected, false },
		     { "connects", MPR_UINT, &connects, false },
		     { "inflight", MPR_UINT, &inflight, false } };

	if (r->status != ARB_OK || r->reply == NULL
	    || mpr_fields(arb_msg_body(r->reply), arb_msg_len(r->reply), f, 3)
	        != 0
	    || !f[0].seen) {
		return; // unknown: nothing changes
	}
	if (connected && (u->up != 1 || connects != u->connects)) {
		u->up_since = clk_mono_ms(); // what waited is sent again now
	}
	if (connected != (u->up == 1)) {
		arb_log(u->ctx, ARB_LOG_INFO, "upstream", "state=%s",
		    connected ? "up" : "down");
	}
	u->up       = connected ? 1 : 0;
	u->connects = connects;
	arb_metric_set(u->m.connected, connected ? 1 : 0);
	if (inflight == 0 && fresh && u->have_mqtt
	    && arb_pid_eq(arb_msg_from(r->reply), u->mqtt)) {
		u->used = false;
	}
	if (connected && u->rewind_due && u->have_store && u->have_mqtt) {
		if (u->used) {
			col_arm(u->retry_ev, u->c.retry_ms); // asks again
		} else {
			subscribe(u);
		}
	}
}

// on_status takes the answer to the once-a-second MQTT_STATUS.
static void
on_status(arb_ctx *ctx, void *arg, const arb_result *r)
{
	uplink *u = arg;

	(void) ctx;
	u->asking = false;
	status_take(u, r, u->pubs == u->status_pubs);
}

// on_found takes the first answer of an mqtt incarnation: its exact pid
// is the one published to and monitored.
static void
on_found(arb_ctx *ctx, void *arg, const arb_result *r)
{
	uplink *u = arg;
	arb_pid pid;

	u->finding = false;
	if (u->have_mqtt || r->status != ARB_OK || r->reply == NULL) {
		col_arm(u->retry_ev, u->c.retry_ms); // looks up again
		return;
	}
	pid = arb_msg_from(r->reply);
	if (arb_monitor(ctx, pid, &u->mon_mqtt) != ARB_OK) {
		col_arm(u->retry_ev, u->c.retry_ms);
		return;
	}
	u->mqtt      = pid;
	u->have_mqtt = true;
	u->used      = false; // a new incarnation's window is empty
	arb_log(u->ctx, ARB_LOG_INFO, "mqtt_found", "mqtt=%s pid=%" PRIu64,
	    u->c.mqtt, pid.id);
	status_take(u, r, true); // nothing was published to it yet
	if (u->have_store && !u->subscribed && !u->asked) {
		subscribe(u);
	}
}

// ask_status asks the mqtt actor for its MQTT_STATUS (on_status).
static void
ask_status(uplink *u)
{
	if (u->have_mqtt && !u->asking
	    && arb_call(u->ctx, u->mqtt, MQTT_STATUS, NULL, 0, 1000, on_status,
	           u)
	        == ARB_OK) {
		u->asking      = true;
		u->status_pubs = u->pubs;
	}
}

// on_tick, once a second: asks the mqtt actor how its connection is,
// and starts over when a publish has had no outcome for `timeout` while
// connected (a PUBACK the mqtt actor could not deliver would otherwise
// hold its place in the store's window for ever).
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	uplink *u   = arg;
	int64_t now = clk_mono_ms(), oldest = now;
	size_t  i;

	(void) fd;
	(void) what;
	ask_status(u);
	check_stall(u, now);
	if (u->inflight == 0) {
		arb_metric_set(u->m.oldest, 0);
		return;
	}
	for (i = 0; i < u->cap; i++) {
		if (u->slots[i].ref != 0 && u->slots[i].sent_ms < oldest) {
			oldest = u->slots[i].sent_ms;
		}
	}
	arb_metric_set(u->m.oldest, (double) (now - oldest) / 1e3);
	// Only time spent connected counts: a broker that is away holds
	// every publish, and they leave when it is back.
	if (u->up != 0 && now - (oldest > u->up_since ? oldest : u->up_since)
	        > u->c.timeout_ms
	    && !u->rewind_due) {
		rewind_later(u, RW_TIMEOUT, "timeout");
	}
}

// --- publishing ------------------------------------------------------------------

static char *
grow(uplink *u, size_t need)
{
	char *nb;

	if (need <= u->bufcap) {
		return u->buf;
	}
	if ((nb = realloc(u->buf, need)) == NULL) {
		return NULL;
	}
	u->buf    = nb;
	u->bufcap = need;
	return nb;
}

// make_topic fills the template; a stream's + # and NUL become '_'.
static size_t
make_topic(uplink *u, const char *stream, size_t slen, uint32_t sid)
{
	const char *t = u->c.topic;
	size_t      o = 0, cap = sizeof(u->topic) - 1, i, n;
	char        num[16];
	const char *v;

	while (*t != '\0' && o < cap) {
		if (strncmp(t, "{gateway}", 9) == 0) {
			v = u->gateway;
			n = strlen(v);
			t += 9;
		} else if (strncmp(t, "{stream}", 8) == 0) {
			v = stream;
			n = slen;
			t += 8;
		} else if (strncmp(t, "{sid}", 5) == 0) {
			n = (size_t) snprintf(num, sizeof(num), "%" PRIu32, sid);
			v = num;
			t += 5;
		} else {
			u->topic[o++] = *t++;
			continue;
		}
		for (i = 0; i < n && o < cap; i++) {
			char ch       = v[i];
			u->topic[o++] = ch == '+' || ch == '#' || ch == '\0' ? '_'
			                                                      : ch;
		}
	}
	u->topic[o] = '\0';
	return o;
}

// publish sends one record to the mqtt actor.  Returns ARB_OK or the
// send's error.
static int
publish(uplink *u, const store_record *rec)
{
	const void *stream = NULL, *values = NULL;
	size_t      slen = 0, vlen = 0, o, tlen, need;
	uint32_t    n;
	uint64_t    ver;
	bool        ours;
	slot       *s;
	mpr         r;
	char       *b;
	int         rv;

	mpr_init(&r, rec->data, rec->len);
	ours = mpr_array(&r, &n) == 0 && n == 3 && mpr_uint(&r, &ver) == 0
	    && ver == 1 && mpr_bytes(&r, &stream, &slen) == 0
	    && mpr_bytes(&r, &values, &vlen) == 0 && mpr_done(&r);
	if (!ours) {
		stream = "-";
		slen   = 1;
		arb_metric_add(u->m.raw, 1);
	}
	need = 192 + STORE_GATEWAY_MAX + 6 * slen + 6 * rec->len;
	if ((b = grow(u, need)) == NULL) {
		return ARB_ENOMEM;
	}
	o = (size_t) snprintf(b, need, "{\"gw\":\"%s\",\"stream\":", u->gateway);
	o += reading_json_str(b + o, need - o, stream, slen);
	o += (size_t) snprintf(b + o, need - o,
	    ",\"sid\":%" PRIu32 ",\"seq\":%" PRIu64 ",\"ts\":%" PRId64 ",%s",
	    rec->stream, rec->seq, rec->ts_ms, ours ? "\"values\":" : "\"raw\":");
	if (ours) {
		memcpy(b + o, values, vlen);
		o += vlen;
	} else {
		o += reading_json_str(b + o, need - o, rec->data, rec->len);
	}
	b[o++] = '}';
	tlen   = make_topic(u, stream, slen, rec->stream);
	u->sb.size = 0;
	msgpack_pack_map(&u->pk, 4);
	msgpack_pack_str_with_body(&u->pk, "topic", 5);
	msgpack_pack_str_with_body(&u->pk, u->topic, tlen);
	msgpack_pack_str_with_body(&u->pk, "payload", 7);
	msgpack_pack_bin_with_body(&u->pk, b, o);
	msgpack_pack_str_with_body(&u->pk, "qos", 3);
	msgpack_pack_uint8(&u->pk, 1);
	msgpack_pack_str_with_body(&u->pk, "ref", 3);
	msgpack_pack_uint64(&u->pk, u->next_ref);
	rv = arb_send_copy(u->ctx, u->mqtt, MQTT_PUBLISH, u->sb.data, u->sb.size);
	if (rv != ARB_OK) {
		return rv;
	}
	s = &u->slots[u->next_ref % u->cap];
	if (s->ref != 0) {
		// Only when the store pushes more than the window it was
		// asked for: the older publish's outcome will be stale.
		u->inflight--;
	}
	s->ref     = u->next_ref++;
	s->pos     = rec->pos;
	s->ts_ms   = rec->ts_ms;
	s->sent_ms = clk_mono_ms();
	u->inflight++;
	u->used = true;
	u->pubs++;
	arb_metric_add(u->m.published, 1);
	return ARB_OK;
}

static void
on_records(uplink *u, const arb_msg *m)
{
	uint64_t session;
	char     gw[STORE_GATEWAY_MAX + 1];
	size_t   n, i;
	int      rv;

	if (store_msg_records_read(arb_msg_body(m), arb_msg_len(m), &session,
	        gw, u->recs, (size_t) u->c.batch, &n)
	    != 0) {
		arb_log(u->ctx, ARB_LOG_WARN, "bad_records", NULL);
		if (u->subscribed) {
			rewind_later(u, RW_FAILED, "bad_records");
		}
		return;
	}
	if (!u->subscribed || session != u->session) {
		return; // another subscription's: it will come again
	}
	snprintf(u->gateway, sizeof(u->gateway), "%s", gw);
	u->heard_ms = clk_mono_ms();
	arb_metric_add(u->m.rec_msgs, 1);
	for (i = 0; i < n; i++) {
		if ((rv = publish(u, &u->recs[i])) != ARB_OK) {
			rewind_later(u, RW_SEND, arb_err_name(rv));
			return;
		}
	}
	arb_metric_set(u->m.inflight, (double) u->inflight);
}

static int
fail_cause(int64_t status)
{
	switch (status) {
	case ARB_EAGAIN:
		return F_EAGAIN;
	case ARB_ECANCELED:
		return F_CANCELED;
	case ARB_EREMOTE:
		return F_REMOTE;
	case ARB_EINVAL:
		return F_INVALID;
	case ARB_ESHUTDOWN:
		return F_SHUTDOWN;
	default:
		return F_OTHER;
	}
}

static void
on_puback(uplink *u, const arb_msg *m)
{
	uint64_t  ref    = 0;
	int64_t   status = -1;
	mpr_field f[]    = { { "ref", MPR_UINT, &ref, false },
		     { "status", MPR_NINT, &status, false } };
	slot     *s;

	if (mpr_fields(arb_msg_body(m), arb_msg_len(m), f, 2) != 0 || !f[0].seen
	    || ref < u->floor || ref >= u->next_ref
	    || (s = &u->slots[ref % u->cap])->ref != ref) {
		arb_metric_add(u->m.stale, 1);
		return;
	}
	s->ref = 0;
	u->inflight--;
	u->heard_ms = clk_mono_ms();
	arb_metric_set(u->m.inflight, (double) u->inflight);
	if (status != 0) {
		arb_metric_add(u->m.failed[fail_cause(status)], 1);
		rewind_later(u, RW_FAILED, arb_err_name((int) status));
		return;
	}
	arb_metric_observe(u->m.delivery, (double) (clk_real_ms() - s->ts_ms) / 1e3);
	u->acks[u->nacks++] = s->pos;
	// Acknowledged when ack_batch wait, else ack_delay after the first:
	// one STORE_ACK, and one STORE_RECORDS back, for many PUBACKs.  Held
	// acks only delay the store's deletes and its next records (what the
	// store delivers again after a restart is bounded by its own
	// cursor_interval, 100 ms, anyway).
	if (u->nacks >= (size_t) u->c.ack_batch) {
		flush_acks(u);
	} else if (!u->flush_armed) {
		u->flush_armed = true;
		if (u->c.ack_delay_ms == 0) {
			event_active(u->flush_ev, EV_TIMEOUT, 1);
		} else {
			col_arm(u->flush_ev, u->c.ack_delay_ms);
		}
	}
}

static void
on_subscribed(uplink *u, const arb_msg *m)
{
	uint64_t session, recs, bytes;
	char     gw[STORE_GATEWAY_MAX + 1];

	if (store_msg_subscribed_read(arb_msg_body(m), arb_msg_len(m), &session,
	        gw, &recs, &bytes)
	    != 0) {
		arb_log(u->ctx, ARB_LOG_WARN, "bad_subscribed", NULL);
		return;
	}
	u->asked      = false;
	u->subscribed = true;
	u->session    = session;
	u->heard_ms   = clk_mono_ms();
	snprintf(u->gateway, sizeof(u->gateway), "%s", gw);
	clear_window(u);
	arb_metric_set(u->m.subscribed, 1);
	arb_metric_set(u->m.backlog, (double) recs);
	arb_log(u->ctx, ARB_LOG_INFO, "subscribed",
	    "session=%" PRIu64 " gateway=%s backlog_records=%" PRIu64
	    " backlog_bytes=%" PRIu64,
	    session, u->gateway, recs, bytes);
}

// on_subscribe_reply takes the answer to a STORE_SUBSCRIBE call.  Only
// the last call's answer counts (answers come in the order asked); no
// answer within SUBSCRIBE_TIMEOUT_MS starts over.
static void
on_subscribe_reply(arb_ctx *ctx, void *arg, const arb_result *r)
{
	uplink *u = arg;

	(void) ctx;
	if (u->sub_calls > 0) {
		u->sub_calls--;
	}
	if (u->sub_calls > 0 || !u->asked) {
		return; // an earlier call's, or a rewind came meanwhile
	}
	if (r->status != ARB_OK || r->reply == NULL) {
		u->asked = false;
		arb_log(u->ctx, ARB_LOG_WARN, "subscribe_failed", "error=%s",
		    arb_err_name(r->status));
		rewind_later(u, RW_STALLED, "subscribe_unanswered");
		return;
	}
	on_subscribed(u, r->reply);
}

// on_store_status takes the store's answer to the stall check's
// STORE_STATUS: subscribed, with nothing in flight and nothing heard of
// for `stall`, while the store keeps a backlog (or has no consumer),
// something was lost on the way -- a STORE_RECORDS, a STORE_ACK, the
// subscription itself (the store drops a consumer it could not send to)
// -- and the store waits for acks that will never come: start over from
// its durable cursor.
static void
on_store_status(arb_ctx *ctx, void *arg, const arb_result *r)
{
	uplink   *u        = arg;
	uint64_t  backlog  = 0;
	bool      consumer = true;
	mpr_field f[]      = { { "backlog_records", MPR_UINT, &backlog, false },
		     { "consumer", MPR_BOOL, &consumer, false } };

	(void) ctx;
	u->probing = false;
	if (!u->subscribed || u->session != u->probe_session
	    || u->heard_ms != u->probe_heard || u->inflight != 0
	    || u->nacks != 0 || u->rewind_due) {
		return; // things moved meanwhile
	}
	if (r->status != ARB_OK || r->reply == NULL) {
		// No answer: if it died, its DOWN starts over too.
		rewind_later(u, RW_STALLED, "store_unanswered");
		return;
	}
	if (mpr_fields(arb_msg_body(r->reply), arb_msg_len(r->reply), f, 2)
	    != 0) {
		return;
	}
	if (backlog > 0 || !consumer) {
		arb_log(u->ctx, ARB_LOG_WARN, "stalled",
		    "session=%" PRIu64 " store_backlog=%" PRIu64
		    " store_consumer=%s idle_ms=%" PRId64,
		    u->session, backlog, consumer ? "yes" : "no",
		    clk_mono_ms() - u->heard_ms);
		rewind_later(u, RW_STALLED, "stalled");
		return;
	}
	u->heard_ms = clk_mono_ms(); // all quiet: ask again after `stall`
}

// check_stall (once a second) asks the store for its status when the
// uplink is subscribed, has nothing in flight and has heard nothing
// for `stall`.
static void
check_stall(uplink *u, int64_t now)
{
	if (!u->subscribed || u->probing || u->rewind_due || u->inflight != 0
	    || u->nacks != 0 || now - u->heard_ms < u->c.stall_ms) {
		return;
	}
	if (arb_call(u->ctx, u->store, STORE_TAG_STATUS, NULL, 0,
	        SUBSCRIBE_TIMEOUT_MS, on_store_status, u)
	    == ARB_OK) {
		u->probing       = true;
		u->probe_session = u->session;
		u->probe_heard   = u->heard_ms;
	}
}

static void
on_down(uplink *u, const arb_msg *m)
{
	uint64_t ref = arb_msg_ref(m);

	if (u->have_store && ref == u->mon_store) {
		u->have_store = false;
		u->mon_store  = 0;
		arb_metric_set(u->m.subscribed, 0);
		rewind_later(u, RW_STORE_DOWN, "store_down");
	} else if (u->have_mqtt && ref == u->mon_mqtt) {
		u->have_mqtt = false;
		u->up        = -1; // the next incarnation's is not known yet
		u->mon_mqtt  = 0;
		rewind_later(u, RW_MQTT_DOWN, "mqtt_down");
	}
}

// --- the actor ---------------------------------------------------------------------

static void
uplink_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	uplink *u = state;

	(void) ctx;
	switch (arb_msg_tag(m)) {
	case STORE_TAG_RECORDS:
		on_records(u, m);
		break;
	case MQTT_PUBACK:
		on_puback(u, m);
		break;
	case ARB_TAG_DOWN:
		on_down(u, m);
		break;
	default:
		break;
	}
}

static void
uplink_free(uplink *u)
{
	if (u == NULL) {
		return;
	}
	if (u->flush_ev != NULL) {
		event_free(u->flush_ev);
	}
	if (u->retry_ev != NULL) {
		event_free(u->retry_ev);
	}
	if (u->tick_ev != NULL) {
		event_free(u->tick_ev);
	}
	msgpack_sbuffer_destroy(&u->sb);
	free(u->slots);
	free(u->recs);
	free(u->acks);
	free(u->buf);
	free(u);
}

static void
metrics_setup(uplink *u)
{
	static const char *const fails[F_COUNT] = { "eagain", "canceled",
		"remote", "invalid", "shutdown", "other" };
	static const char *const rewinds[RW_COUNT]
	    = { "mqtt_down", "store_down", "failed", "send", "timeout",
		      "stalled" };
	static const double bounds[] = { .005, .01, .025, .05, .1, .25, .5, 1,
		5, 30, 300 };
	char label[64];
	int  i;

	arb_metric_counter(u->ctx, "uplink_published_total", NULL,
	    "Records handed to the mqtt actor.", &u->m.published);
	arb_metric_counter(u->ctx, "uplink_acked_total", NULL,
	    "Records acknowledged to the store (PUBACK received).",
	    &u->m.acked);
	arb_metric_counter(u->ctx, "uplink_store_records_messages_total", NULL,
	    "STORE_RECORDS messages taken (records per message: "
	    "uplink_published_total over this).",
	    &u->m.rec_msgs);
	arb_metric_counter(u->ctx, "uplink_store_ack_messages_total", NULL,
	    "STORE_ACK messages sent (acks per message: uplink_acked_total "
	    "over this).",
	    &u->m.ack_msgs);
	arb_metric_counter(u->ctx, "uplink_stale_total", NULL,
	    "Outcomes of publishes made before a rewind.", &u->m.stale);
	arb_metric_counter(u->ctx, "uplink_raw_total", NULL,
	    "Records that were not collector readings (sent as raw).",
	    &u->m.raw);
	for (i = 0; i < F_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s", fails[i]);
		arb_metric_counter(u->ctx, "uplink_failed_total", label,
		    "Publishes that failed, by status.", &u->m.failed[i]);
	}
	for (i = 0; i < RW_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s", rewinds[i]);
		arb_metric_counter(u->ctx, "uplink_rewinds_total", label,
		    "Subscriptions started over, by cause.", &u->m.rewinds[i]);
	}
	arb_metric_gauge(u->ctx, "uplink_inflight", NULL,
	    "Publishes waiting for their PUBACK.", &u->m.inflight);
	arb_metric_gauge(u->ctx, "uplink_subscribed", NULL,
	    "1 while subscribed to the store.", &u->m.subscribed);
	arb_metric_gauge(u->ctx, "uplink_upstream_connected", NULL,
	    "1 while the mqtt actor is connected upstream (MQTT_STATUS).",
	    &u->m.connected);
	arb_metric_gauge(u->ctx, "uplink_oldest_inflight_seconds", NULL,
	    "How long the oldest publish has waited for its PUBACK.",
	    &u->m.oldest);
	arb_metric_gauge(u->ctx, "uplink_backlog_at_subscribe", NULL,
	    "The store's backlog when the subscription started.",
	    &u->m.backlog);
	arb_metric_histogram(u->ctx, "uplink_delivery_seconds", NULL,
	    "Receive time to PUBACK.", bounds,
	    sizeof(bounds) / sizeof(bounds[0]), &u->m.delivery);
}

static int
uplink_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	uplink  *u;
	int      rv;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		return ARB_ENOMEM;
	}
	msgpack_sbuffer_init(&u->sb);
	msgpack_packer_init(&u->pk, &u->sb, msgpack_sbuffer_write);
	if ((rv = col_settings(ctx, arg, len, uplink_read, &u->c)) != ARB_OK) {
		uplink_free(u);
		return rv;
	}
	u->ctx      = ctx;
	u->cap      = (size_t) u->c.window;
	u->slots    = calloc(u->cap, sizeof(*u->slots));
	u->recs     = malloc((size_t) u->c.batch * sizeof(*u->recs));
	u->acks     = malloc(u->cap * sizeof(*u->acks));
	// Refs start at this incarnation's start time (us << 8): an outcome
	// addressed to an earlier incarnation (a thread's mailbox outlives
	// it) is below the floor, never taken for one of this one's.
	u->next_ref = (uint64_t) clk_real_ms() * 1000 << 8;
	u->floor    = u->next_ref;
	u->up       = -1;
	u->flush_ev = evtimer_new(arb_base(ctx), on_flush, u);
	u->retry_ev = evtimer_new(arb_base(ctx), on_retry, u);
	u->tick_ev  = event_new(arb_base(ctx), -1, EV_PERSIST, on_tick, u);
	if (u->slots == NULL || u->recs == NULL || u->acks == NULL
	    || u->flush_ev == NULL
	    || u->retry_ev == NULL || u->tick_ev == NULL) {
		uplink_free(u);
		return ARB_ENOMEM;
	}
	// ack_delay 0: at the end of the turn (the acks of the PUBACKs of
	// one turn leave as one STORE_ACK).
	event_priority_set(u->flush_ev, 2);
	col_arm(u->tick_ev, 1000);
	metrics_setup(u);
	arb_log(ctx, ARB_LOG_INFO, "init",
	    "store=%s mqtt=%s topic=\"%s\" window=%" PRId64 " batch=%" PRId64
	    " timeout_ms=%" PRId64 " ack_batch=%" PRId64 " ack_delay_ms=%" PRId64,
	    u->c.store, u->c.mqtt, u->c.topic, u->c.window, u->c.batch,
	    u->c.timeout_ms, u->c.ack_batch, u->c.ack_delay_ms);
	*statep = u;
	lookup(u);
	return ARB_OK;
}

static void
uplink_stop(arb_ctx *ctx, void *state)
{
	uplink *u = state;

	flush_acks(u);
	arb_actor_exit(ctx, &(arb_exit) { .kind = ARB_EXIT_SHUTDOWN });
}

static void
uplink_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	uplink_free(state);
}

static const arb_actor_ops uplink_ops = {
	.type      = "collector_uplink",
	.init      = uplink_init,
	.handle    = uplink_handle,
	.stop      = uplink_stop,
	.terminate = uplink_terminate,
	.check     = uplink_check,
};

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&uplink_ops);
}
