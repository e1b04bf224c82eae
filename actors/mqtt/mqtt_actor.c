// SPDX-License-Identifier: MIT
// mqtt_actor.c -- the `mqtt` actor type: one broker connection
// (mqtt_conn) on the actor's own loop, messages in and out
// (mqtt_msgs.h), the outgoing window (mqtt_window), the receive-to-ack
// tracker (mqtt_rxack) and the actor's metrics.
//
// Out: MQTT_PUBLISH (or any other user tag) -> a window entry -> libmosquitto
// -> PUBACK (QoS 1) or written (QoS 0) -> MQTT_PUBACK / reply to the
// producer.  A full window follows `overflow`.  An in-flight QoS 1 publish
// without PUBACK for puback_timeout while connected forces a reconnect
// (time reading was held by receive_window not counted: stall_clock_us).
// In: a message on a subscription -> MQTT_MESSAGE to the destinations of
// every matching subscription, at once (libmosquitto has already
// acknowledged a QoS 1 message to the broker), and MQTT_ACK back measures
// the time until the destination took it over.
// Stop: no new publishes, up to `drain` for the PUBACKs in flight, then
// DISCONNECT; producers of what is left get ARB_ECANCELED.
// Thread: loop (every function here runs on the actor's loop).

#include "mqtt_actor.h"

#include "mqtt_body.h"
#include "mqtt_config.h"
#include "mqtt_conn.h"
#include "mqtt_msgs.h"
#include "mqtt_rxack.h"
#include "mqtt_window.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RX_TRACK    4096 // messages waiting for MQTT_ACK that are timed
#define RX_EXPIRE_MS 30000 // receive_window: an MQTT_ACK this late never comes
#define ACKS_MAX    256  // seqs in one MQTT_ACK
#define RESOLVE_MS  100  // a missing destination: looked up at most this often
#define REFRESH_MS  1000 // every destination looked up again this often
#define TICK_MAX_MS 1000

// Counters (also in MQTT_STATUS) and their metric series.
enum {
	C_CONNECTS = 0,
	C_PUBLISHED,
	C_ACKED,
	C_REFUSED,
	C_OVERFLOW_REJECT,
	C_OVERFLOW_DROP,
	C_PUBFAIL_NOTCONN,
	C_PUBFAIL_LOST,
	C_PUBFAIL_INVALID,
	C_PUBFAIL_STOPPED,
	C_RECEIVED,
	C_FORWARDED,
	C_FWDDROP_FULL,
	C_FWDDROP_NODEST,
	C_FWDDROP_ERROR,
	C_FWDDROP_NOSUB,
	C_ACKS,
	C_ACKS_UNTRACKED,
	C_STALLS,
	C_SUBFAIL,
	C_UNDELIV_FULL,
	C_UNDELIV_GONE,
	C_DISC_FIRST, // + mqtt_cause
	C_COUNT = C_DISC_FIRST + MQTT_CAUSE_COUNT,
};

enum {
	G_INFLIGHT = 0,
	G_CONNECTED,
	G_RX_UNACKED,
	G_RX_OLDEST,
	G_RX_HELD,
	G_COUNT
};

typedef struct mdef {
	const char *name;
	const char *label;
	const char *help;
} mdef;

static const mdef cdefs[C_DISC_FIRST] = {
	[C_CONNECTS] = { "mqtt_connects_total", NULL,
	    "Connections the broker accepted (CONNACK)." },
	[C_PUBLISHED] = { "mqtt_publishes_total", NULL,
	    "Messages handed to the broker connection." },
	[C_ACKED] = { "mqtt_publish_done_total", NULL,
	    "Publishes completed: QoS 1 PUBACK received, QoS 0 written." },
	[C_REFUSED] = { "mqtt_publish_failed_total", "cause=refused",
	    "Publishes that failed, by cause." },
	[C_OVERFLOW_REJECT] = { "mqtt_overflow_total", "policy=reject",
	    "Publishes refused because the window was full." },
	[C_OVERFLOW_DROP] = { "mqtt_overflow_total", "policy=drop",
	    "Publishes refused because the window was full." },
	[C_PUBFAIL_NOTCONN] = { "mqtt_publish_failed_total",
	    "cause=not_connected", "Publishes that failed, by cause." },
	[C_PUBFAIL_LOST] = { "mqtt_publish_failed_total",
	    "cause=connection_lost", "Publishes that failed, by cause." },
	[C_PUBFAIL_INVALID] = { "mqtt_publish_failed_total", "cause=invalid",
	    "Publishes that failed, by cause." },
	[C_PUBFAIL_STOPPED] = { "mqtt_publish_failed_total", "cause=stopped",
	    "Publishes that failed, by cause." },
	[C_RECEIVED] = { "mqtt_received_total", NULL,
	    "Messages received on subscriptions." },
	[C_FORWARDED] = { "mqtt_forwarded_total", NULL,
	    "MQTT_MESSAGE messages sent to destinations." },
	[C_FWDDROP_FULL] = { "mqtt_forward_dropped_total",
	    "cause=destination_full", "Received messages lost, by cause." },
	[C_FWDDROP_NODEST] = { "mqtt_forward_dropped_total",
	    "cause=no_destination", "Received messages lost, by cause." },
	[C_FWDDROP_ERROR] = { "mqtt_forward_dropped_total", "cause=send_error",
	    "Received messages lost, by cause." },
	[C_FWDDROP_NOSUB] = { "mqtt_forward_dropped_total",
	    "cause=no_subscription", "Received messages lost, by cause." },
	[C_ACKS] = { "mqtt_acks_total", NULL,
	    "MQTT_ACK confirmations of received messages." },
	[C_ACKS_UNTRACKED] = { "mqtt_acks_untracked_total", NULL,
	    "MQTT_ACK of messages not (or no longer) tracked." },
	[C_STALLS] = { "mqtt_stalls_total", NULL,
	    "Reconnects forced by an overdue PUBACK." },
	[C_SUBFAIL] = { "mqtt_subscribe_refused_total", NULL,
	    "Subscriptions the broker refused." },
	[C_UNDELIV_FULL]
	= { "mqtt_puback_undelivered_total", "cause=producer_full",
	    "MQTT_PUBACK that could not be sent to the producer, by cause." },
	[C_UNDELIV_GONE]
	= { "mqtt_puback_undelivered_total", "cause=producer_gone",
	    "MQTT_PUBACK that could not be sent to the producer, by cause." },
};

static const mdef gdefs[G_COUNT] = {
	[G_INFLIGHT] = { "mqtt_inflight", NULL,
	    "Publishes held in the window (QoS 1 waiting for PUBACK, QoS 0 "
	    "for the socket)." },
	[G_CONNECTED]
	= { "mqtt_connected", NULL, "1 while the broker connection is up." },
	[G_RX_UNACKED] = { "mqtt_rx_unacked", NULL,
	    "Received messages waiting for MQTT_ACK." },
	[G_RX_OLDEST] = { "mqtt_rx_unacked_age_seconds", NULL,
	    "Age of the oldest received message waiting for MQTT_ACK." },
	[G_RX_HELD] = { "mqtt_receive_held", NULL,
	    "1 while reading from the broker waits for MQTT_ACKs "
	    "(receive_window)." },
};

static const double lat_bounds[] = { .0005, .001, .0025, .005, .01, .025, .05,
	.1, .25, .5, 1, 2.5, 5, 10, 30 };

typedef struct mqtt_dest {
	char    path[MQTT_PATH_MAX + 1];
	arb_pid pid;
	bool    known;
	int64_t next_try_ms;
	bool    warned;
} mqtt_dest;

typedef struct mqtt_actor {
	arb_ctx      *ctx;
	mqtt_config  *cfg;
	mqtt_conn    *conn;
	mqtt_window   win;
	mqtt_rxack    rx;
	mqtt_body    *body;
	mqtt_enc     *enc;
	struct event *ev_tick;
	struct event *ev_drain;
	struct event *ev_drained; // the window emptied while stopping
	// QoS 1 publishes held while the connection is not up (held_pub),
	// in the order they came; handed to libmosquitto the turn after
	// CONNACK (ev_held), behind the older ones it sends again then
	mqtt_went   **hq;
	uint32_t      hq_head, hq_n;
	struct event *ev_held;
	mqtt_dest     dests[MQTT_SUBS_MAX];
	size_t        ndests;
	int           sub_dest[MQTT_SUBS_MAX];
	int           sub_mid[MQTT_SUBS_MAX];
	size_t        subscribed;   // granted since the connection came up
	uint64_t      seq;          // next receive sequence number
	int64_t       up_us;        // when the connection came up (mono)
	int64_t       up_stall_us;  // ...on the stall clock (stall_clock_us)
	int64_t       refreshed_ms; // destinations last looked up again
	bool          stopping;     // no new publishes
	bool          exiting;      // the conn is being stopped
	arb_exit      why;          // the reason to exit with
	uint64_t      n[C_COUNT];
	arb_metric   *m[C_COUNT];
	arb_metric   *g[G_COUNT];
	arb_metric   *h_puback;
	arb_metric   *h_rxack;
	int64_t       puback_last_us, puback_max_us;
	int64_t       rxack_last_us, rxack_max_us;
} mqtt_actor;

// --- small pieces ----------------------------------------------------------

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// stall_clock_us is the clock of the stall check: mono_us() without the
// time reading from the broker was held (receive_window).  A PUBACK that
// waits unread behind the actor's own hold is not the broker's delay.
static int64_t
stall_clock_us(const mqtt_actor *a)
{
	return mono_us() - mqtt_link_held_us(mqtt_conn_link(a->conn));
}

static void
count(mqtt_actor *a, int c, uint64_t n)
{
	a->n[c] += n;
	arb_metric_add(a->m[c], n);
}

static void
gauges(mqtt_actor *a)
{
	int64_t oldest = mqtt_rxack_oldest_us(&a->rx);

	arb_metric_set(a->g[G_INFLIGHT], mqtt_win_count(&a->win));
	arb_metric_set(a->g[G_CONNECTED],
	    mqtt_conn_get_state(a->conn) == MQTT_CONN_UP ? 1 : 0);
	arb_metric_set(a->g[G_RX_UNACKED], a->rx.pending);
	arb_metric_set(
	    a->g[G_RX_HELD], mqtt_link_held(mqtt_conn_link(a->conn)) ? 1 : 0);
	arb_metric_set(a->g[G_RX_OLDEST],
	    oldest > 0 ? (double) (mono_us() - oldest) / 1e6 : 0);
}

static const char *
proto_name(const mqtt_actor *a)
{
	return a->cfg->protocol == 5 ? "5" : "3.1.1";
}

// --- replies to producers --------------------------------------------------

// reply_outcome tells the producer of e how its publish ended: the reply
// to its request, or MQTT_PUBACK when it gave a ref; nothing otherwise.
static void
reply_outcome(mqtt_actor *a, mqtt_went *e, int status, int reason, int64_t us,
    const char *text)
{
	const void *body;
	size_t      len, n;
	int         rv;

	free(e->held);
	e->held = NULL;
	if (e->req == NULL && !e->has_ref) {
		return;
	}
	if (e->req != NULL && status != 0) {
		arb_reply_error(a->ctx, e->req, status, text ? text : "");
		arb_msg_free(e->req);
		e->req = NULL;
		return;
	}
	n = 3 + (e->has_ref ? 1 : 0) + (text != NULL ? 1 : 0) + 1;
	mqtt_enc_map(a->enc, n);
	if (e->has_ref) {
		mqtt_enc_kv_uint(a->enc, "ref", e->ref);
	}
	mqtt_enc_kv_int(a->enc, "status", status);
	mqtt_enc_kv_int(a->enc, "reason", reason);
	mqtt_enc_kv_uint(a->enc, "us", us > 0 ? (uint64_t) us : 0);
	mqtt_enc_kv_int(a->enc, "qos", e->qos);
	if (text != NULL) {
		mqtt_enc_kv_str(a->enc, "text", text);
	}
	if ((body = mqtt_enc_data(a->enc, &len)) == NULL) {
		arb_log(a->ctx, ARB_LOG_ERROR, "reply_failed",
		    "reason=\"out of memory\"");
	} else if (e->req != NULL) {
		arb_reply(a->ctx, e->req, MQTT_PUBACK, body, len);
	} else if ((rv = arb_send_copy(
	                a->ctx, e->from, MQTT_PUBACK, body, len))
	    != ARB_OK) {
		// The producer is gone or full: it sends again after its own
		// timeout, or when it sees this actor DOWN (mqtt_msgs.h).
		count(
		    a, rv == ARB_EAGAIN ? C_UNDELIV_FULL : C_UNDELIV_GONE, 1);
		arb_log(a->ctx, ARB_LOG_WARN, "puback_undelivered", "cause=%s",
		    rv == ARB_EAGAIN ? "producer_full" : "producer_gone");
	}
	if (e->req != NULL) {
		arb_msg_free(e->req);
		e->req = NULL;
	}
}

// reply_early answers a publish that never entered the window.
static void
reply_early(mqtt_actor *a, const arb_msg *m, bool has_ref, uint64_t ref,
    int qos, int status, const char *text)
{
	mqtt_went e = { .from = arb_msg_from(m),
		.ref = ref,
		.has_ref = has_ref,
		.qos = qos };

	if (arb_msg_is_request(m)) {
		arb_reply_error(a->ctx, m, status, text);
		return;
	}
	reply_outcome(a, &e, status, 0, 0, text);
}

// drain_window answers every entry left (the actor ends).
static void
drain_window(mqtt_actor *a, const char *text)
{
	mqtt_went *e;

	while ((e = mqtt_win_pop_any(&a->win, false)) != NULL) {
		count(a, C_PUBFAIL_STOPPED, 1);
		reply_outcome(a, e, ARB_ECANCELED, 0, 0, text);
	}
}

// --- ending ----------------------------------------------------------------

static void
finish_done(void *arg)
{
	mqtt_actor *a = arg;

	drain_window(a, "the mqtt actor stopped before the outcome was known");
	arb_actor_exit(a->ctx, &a->why);
}

// finish ends the actor with why: DISCONNECT, wait until nothing of the
// connection runs on the loop, answer what is left, exit.
static void
finish(mqtt_actor *a, const arb_exit *why)
{
	if (a->exiting) {
		return;
	}
	a->exiting = true;
	a->stopping = true;
	a->why = *why;
	event_del(a->ev_drain);
	event_del(a->ev_drained);
	event_del(a->ev_tick);
	mqtt_conn_stop(a->conn, finish_done, a);
}

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	mqtt_actor *a = arg;
	arb_exit    ex = { .kind = ARB_EXIT_SHUTDOWN };

	(void) fd;
	(void) what;
	arb_log(a->ctx, ARB_LOG_WARN, "drain_timeout", "inflight=%" PRIu32,
	    mqtt_win_count1(&a->win));
	finish(a, &ex);
}

static void
on_drained(evutil_socket_t fd, short what, void *arg)
{
	mqtt_actor *a = arg;
	arb_exit    ex = { .kind = ARB_EXIT_SHUTDOWN };

	(void) fd;
	(void) what;
	if (a->stopping && !a->exiting && mqtt_win_count(&a->win) == 0) {
		finish(a, &ex);
	}
}

// maybe_drained ends a stopping actor once its window is empty, on the
// next turn of the loop: it may run inside a libmosquitto callback (the
// last PUBACK), where finish's DISCONNECT and mqtt_link_drop's read
// would call libmosquitto again under its own callback lock -- a
// deadlock (the thread was abandoned at its shutdown timeout, a process
// killed).
static void
maybe_drained(mqtt_actor *a)
{
	if (a->stopping && !a->exiting && mqtt_win_count(&a->win) == 0) {
		event_active(a->ev_drained, EV_TIMEOUT, 1);
	}
}

// --- destinations ----------------------------------------------------------

// dest_lookup looks d up (arb_whereis) and logs the changes: once when it
// is missing (event=no_destination), and when it is found again or is
// another actor now (event=destination).  True when it is known.
static bool
dest_lookup(mqtt_actor *a, mqtt_dest *d)
{
	arb_pid pid;
	int     rv = arb_whereis(a->ctx, d->path, &pid);

	if (rv != ARB_OK) {
		d->known = false;
		if (!d->warned) {
			d->warned = true;
			arb_log(a->ctx, ARB_LOG_WARN, "no_destination",
			    "to=%s reason=\"%s\"", d->path, arb_strerror(rv));
		}
		return false;
	}
	if (d->warned || (d->known && !arb_pid_eq(pid, d->pid))) {
		arb_log(a->ctx, ARB_LOG_INFO, "destination", "to=%s", d->path);
	}
	d->pid = pid;
	d->known = true;
	d->warned = false;
	return true;
}

// dest_pid gives d's pid: the one known, or (again: the known one said
// ARB_ENOENT) a fresh look-up, at most every RESOLVE_MS.
static bool
dest_pid(mqtt_actor *a, mqtt_dest *d, bool again, arb_pid *pid)
{
	int64_t now = arb__now_ms();

	if (d->known && !again) {
		*pid = d->pid;
		return true;
	}
	if (now < d->next_try_ms) {
		return false;
	}
	d->next_try_ms = now + RESOLVE_MS;
	if (!dest_lookup(a, d)) {
		return false;
	}
	*pid = d->pid;
	return true;
}

// forward sends one MQTT_MESSAGE to d; true when it was accepted.
static bool
forward(mqtt_actor *a, mqtt_dest *d, const void *body, size_t len)
{
	arb_pid pid;
	int     rv = ARB_ENOENT;

	if (dest_pid(a, d, false, &pid)) {
		rv = arb_send_copy(a->ctx, pid, MQTT_MESSAGE, body, len);
		if (rv == ARB_ENOENT && dest_pid(a, d, true, &pid)) {
			// The destination was replaced: its new pid.
			rv = arb_send_copy(
			    a->ctx, pid, MQTT_MESSAGE, body, len);
		}
	}
	switch (rv) {
	case ARB_OK:
		count(a, C_FORWARDED, 1);
		return true;
	case ARB_EAGAIN:
		count(a, C_FWDDROP_FULL, 1);
		arb_log(a->ctx, ARB_LOG_WARN, "forward_dropped",
		    "to=%s cause=destination_full", d->path);
		return false;
	case ARB_ENOENT:
		count(a, C_FWDDROP_NODEST, 1);
		arb_log(a->ctx, ARB_LOG_WARN, "forward_dropped",
		    "to=%s cause=no_destination", d->path);
		return false;
	default:
		count(a, C_FWDDROP_ERROR, 1);
		arb_log(a->ctx, ARB_LOG_WARN, "forward_dropped",
		    "to=%s cause=send_error reason=\"%s\"", d->path,
		    arb_strerror(rv));
		return false;
	}
}

// --- the connection's callbacks --------------------------------------------

static void rx_window(mqtt_actor *a);

static void
on_up(void *arg, bool session_present)
{
	mqtt_actor *a = arg;
	char        err[160];
	size_t      i;

	a->up_us = mono_us();
	a->up_stall_us = stall_clock_us(a);
	a->subscribed = 0;
	// The socket's end cleared the hold; messages still unconfirmed
	// from the last connection fill the window all the same: a full one
	// holds reading from here, the CONNACK (the link ends this read).
	rx_window(a);
	count(a, C_CONNECTS, 1);
	if (a->hq_n > 0) {
		// After this read: libmosquitto sends its own again first.
		event_active(a->ev_held, EV_TIMEOUT, 1);
	}
	arb_log(a->ctx, ARB_LOG_INFO, "connected",
	    "broker=%s session_present=%s protocol=%s tls=%s "
	    "inflight=%" PRIu32,
	    mqtt_conn_broker(a->conn), session_present ? "yes" : "no",
	    proto_name(a), a->cfg->tls ? "yes" : "no",
	    mqtt_win_count1(&a->win));
	// Subscriptions again at every connect: a session the broker lost
	// (or never had) gets them back; in a kept one it is a no-op.
	for (i = 0; i < a->cfg->nsubs; i++) {
		if (mqtt_link_subscribe(mqtt_conn_link(a->conn),
		        &a->sub_mid[i], a->cfg->subs[i].filter,
		        a->cfg->subs[i].qos, err, sizeof(err))
		    != 0) {
			a->sub_mid[i] = -1;
			arb_log(a->ctx, ARB_LOG_ERROR, "subscribe_failed",
			    "topic=\"%s\" reason=\"%s\"",
			    a->cfg->subs[i].filter, err);
		}
	}
	gauges(a);
}

static void
on_down(void *arg, mqtt_cause cause, int code, const char *text,
    const char *addr, int64_t next_ms)
{
	mqtt_actor *a = arg;
	bool        was = a->up_us != 0;
	mqtt_went  *e;
	int         lvl;

	a->up_us = 0;
	count(a, C_DISC_FIRST + (int) cause, 1);
	// QoS 0 messages not written are gone with the connection.
	while ((e = mqtt_win_pop_any(&a->win, true)) != NULL) {
		count(a, C_PUBFAIL_LOST, 1);
		reply_outcome(a, e, ARB_ECANCELED, 0, 0,
		    "the connection was lost before the message was written");
	}
	if (cause == MQTT_CAUSE_STOP) {
		arb_log(a->ctx, ARB_LOG_INFO, "disconnected",
		    "broker=%s cause=stop", mqtt_conn_broker(a->conn));
	} else {
		lvl = cause == MQTT_CAUSE_REFUSED || cause == MQTT_CAUSE_TLS
		    ? ARB_LOG_ERROR
		    : ARB_LOG_WARN;
		arb_log(a->ctx, lvl, was ? "disconnected" : "connect_failed",
		    "broker=%s addr=%s cause=%s code=%d reason=\"%s\" "
		    "refusals=%u retry_in=%" PRId64 "ms",
		    mqtt_conn_broker(a->conn), addr[0] ? addr : "-",
		    mqtt_cause_name(cause), code, text,
		    mqtt_conn_refusals(a->conn), next_ms);
	}
	gauges(a);
	maybe_drained(a);
}

static void
on_give_up(void *arg, mqtt_cause cause, const char *text, unsigned refusals)
{
	mqtt_actor *a = arg;
	arb_exit    ex = { .kind = ARB_EXIT_ERROR, .code = ARB_EPERM };

	count(a, C_DISC_FIRST + (int) cause, 1);
	snprintf(ex.text, sizeof(ex.text), "mqtt: %s refused %u times: %s",
	    mqtt_conn_broker(a->conn), refusals, text);
	arb_log(a->ctx, ARB_LOG_ERROR, "gave_up",
	    "broker=%s cause=%s refusals=%u reason=\"%s\"",
	    mqtt_conn_broker(a->conn), mqtt_cause_name(cause), refusals, text);
	finish(a, &ex);
}

static void
on_puback(void *arg, int mid, int reason)
{
	mqtt_actor *a = arg;
	mqtt_went  *e = mqtt_win_acked(&a->win, mid);
	int64_t     us;
	char        text[96];

	if (e == NULL) {
		return; // not ours (a wrapped-around id already answered)
	}
	us = mono_us() - e->t_pub_us;
	a->puback_last_us = us;
	if (us > a->puback_max_us) {
		a->puback_max_us = us;
	}
	arb_metric_observe(a->h_puback, (double) us / 1e6);
	if (reason >= 0x80) {
		count(a, C_REFUSED, 1);
		snprintf(text, sizeof(text),
		    "the broker refused it: reason 0x%02x", reason);
		reply_outcome(a, e, ARB_EREMOTE, reason, us, text);
	} else {
		count(a, C_ACKED, 1);
		reply_outcome(a, e, 0, reason, us, NULL);
	}
	maybe_drained(a);
}

static void
on_written(void *arg, uint64_t n)
{
	mqtt_actor *a = arg;
	mqtt_went  *e;
	int64_t     now = mono_us();

	while (n-- > 0 && (e = mqtt_win_written(&a->win)) != NULL) {
		count(a, C_ACKED, 1);
		reply_outcome(a, e, 0, 0, now - e->t_pub_us, NULL);
	}
	maybe_drained(a);
}

static void
on_suback(void *arg, int mid, int n, const int *granted)
{
	mqtt_actor *a = arg;
	size_t      i;

	for (i = 0; i < a->cfg->nsubs; i++) {
		if (a->sub_mid[i] != mid || n < 1) {
			continue;
		}
		a->sub_mid[i] = -1;
		if (granted[0] >= 0x80) {
			count(a, C_SUBFAIL, 1);
			arb_log(a->ctx, ARB_LOG_ERROR, "subscribe_refused",
			    "broker=%s topic=\"%s\" code=0x%02x",
			    mqtt_conn_broker(a->conn), a->cfg->subs[i].filter,
			    granted[0]);
		} else {
			a->subscribed++;
			arb_log(a->ctx, ARB_LOG_INFO, "subscribed",
			    "topic=\"%s\" qos=%d", a->cfg->subs[i].filter,
			    granted[0]);
		}
	}
}

// rx_window stops reading from the broker while receive_window received
// messages wait for their MQTT_ACK, and reads on below that.  libmosquitto
// acknowledges a QoS 1 message to the broker when it reads it, before
// the actor sees it: from then until the destination has it (its
// MQTT_ACK), a kill of this actor loses it.  What is not read stays the
// broker's, and a persistent session keeps it while the actor is away:
// so a kill loses at most receive_window messages, however long the
// actor was away and however fast the broker hands over what it kept.
static void
rx_window(mqtt_actor *a)
{
	if (a->cfg->receive_window > 0) {
		mqtt_link_hold(mqtt_conn_link(a->conn),
		    a->rx.pending >= (uint32_t) a->cfg->receive_window);
	}
}

static void
on_message(void *arg, const mqtt_inmsg *m)
{
	mqtt_actor *a = arg;
	bool        sent[MQTT_SUBS_MAX] = { false };
	bool        ack = false, any = false, delivered = false;
	const void *body;
	size_t      i, len;
	uint64_t    seq;
	int64_t     t_us = mono_us();

	count(a, C_RECEIVED, 1);
	for (i = 0; i < a->cfg->nsubs; i++) {
		if (mqtt_filter_match(a->cfg->subs[i].filter, m->topic)) {
			any = true;
			ack = ack || a->cfg->subs[i].ack;
		}
	}
	if (!any) {
		count(a, C_FWDDROP_NOSUB, 1);
		arb_log(a->ctx, ARB_LOG_WARN, "forward_dropped",
		    "cause=no_subscription");
		return;
	}
	seq = a->seq++;
	mqtt_enc_map(a->enc, 7);
	mqtt_enc_kv_str(a->enc, "topic", m->topic);
	mqtt_enc_kv_bin(a->enc, "payload", m->payload, m->len);
	mqtt_enc_kv_int(a->enc, "qos", m->qos);
	mqtt_enc_kv_bool(a->enc, "retain", m->retain);
	mqtt_enc_kv_uint(a->enc, "seq", seq);
	mqtt_enc_kv_uint(a->enc, "ts", (uint64_t) real_us());
	mqtt_enc_kv_bool(a->enc, "ack", ack);
	if ((body = mqtt_enc_data(a->enc, &len)) == NULL) {
		count(a, C_FWDDROP_ERROR, 1);
		arb_log(a->ctx, ARB_LOG_ERROR, "forward_dropped",
		    "cause=send_error reason=\"out of memory\"");
		return;
	}
	for (i = 0; i < a->cfg->nsubs; i++) {
		int d = a->sub_dest[i];

		if (!sent[d]
		    && mqtt_filter_match(a->cfg->subs[i].filter, m->topic)) {
			sent[d] = true;
			delivered
			    = forward(a, &a->dests[d], body, len) || delivered;
		}
	}
	// Timed until its MQTT_ACK only when someone has it (a message that
	// went nowhere is counted as dropped, and nobody will confirm it).
	if (ack && delivered) {
		mqtt_rxack_track(&a->rx, seq, t_us);
		rx_window(a);
	}
}

// --- publishing ------------------------------------------------------------

typedef struct tpl_ctx {
	mqtt_actor *a;
	uint32_t    tag;
	char        scratch[MQTT_TPL_VARS][32];
	int         used;
} tpl_ctx;

static const char *
tpl_lookup(void *arg, const char *name, size_t nlen, size_t *vlen)
{
	tpl_ctx    *t = arg;
	const char *v;
	char       *s;

	if (t->used >= MQTT_TPL_VARS) {
		return NULL;
	}
	s = t->scratch[t->used++];
	if (nlen == 3 && memcmp(name, "tag", 3) == 0
	    && t->tag != MQTT_PUBLISH) {
		*vlen = (size_t) snprintf(s, 32, "%" PRIu32, t->tag);
		return s;
	}
	if (mqtt_body_text(t->a->body, name, nlen, s, 32, &v, vlen) == 1) {
		return v;
	}
	return NULL;
}

// A QoS 1 publish made while the connection is not up waits here, not in
// libmosquitto: libmosquitto 2.0 sends the publishes it holds again only
// when CONNACK comes, but writes a new one at once once it has sent
// CONNECT, so a publish made while it waits for CONNACK would reach the
// broker before older ones (out of order upstream).  They go to
// libmosquitto in the order they came, the turn after CONNACK, after its
// own.
typedef struct held_pub {
	size_t plen;
	bool   retain;
	char   data[]; // topic, NUL, payload
} held_pub;

static int
hold(mqtt_actor *a, mqtt_went *e, const char *topic, const void *payload,
    size_t plen, bool retain)
{
	size_t    tlen = strlen(topic);
	held_pub *h    = malloc(sizeof(*h) + tlen + 1 + plen);

	if (h == NULL) {
		return -1;
	}
	h->plen = plen;
	h->retain = retain;
	memcpy(h->data, topic, tlen + 1);
	if (plen > 0) {
		memcpy(h->data + tlen + 1, payload, plen);
	}
	e->held = h;
	a->hq[(a->hq_head + a->hq_n) % a->win.cap] = e;
	a->hq_n++;
	return 0;
}

// on_held hands the held publishes to libmosquitto, oldest first, while
// the connection is up.
static void
on_held(evutil_socket_t fd, short what, void *arg)
{
	mqtt_actor *a = arg;
	mqtt_link  *l = mqtt_conn_link(a->conn);
	char        err[200];
	int         mid;

	(void) fd;
	(void) what;
	while (a->hq_n > 0 && mqtt_link_connected(l)) {
		mqtt_went *e = a->hq[a->hq_head];
		held_pub  *h = e->held;
		size_t     tlen = strlen(h->data);

		a->hq_head = (a->hq_head + 1) % a->win.cap;
		a->hq_n--;
		e->held = NULL;
		if (mqtt_link_publish(l, &mid, h->data, h->data + tlen + 1,
		        h->plen, 1, h->retain, err, sizeof(err))
		    != 0) {
			mqtt_went copy = *e;

			free(h);
			mqtt_win_cancel(&a->win, e);
			count(a, C_PUBFAIL_INVALID, 1);
			reply_outcome(a, &copy, ARB_EINVAL, 0, 0, err);
			continue;
		}
		free(h);
		e->t_pub_us = mono_us();
		e->t_stall_us = stall_clock_us(a);
		mqtt_win_bind(&a->win, e, mid);
		count(a, C_PUBLISHED, 1);
	}
	maybe_drained(a);
}

static void
publish(mqtt_actor *a, const arb_msg *m)
{
	uint32_t    tag = arb_msg_tag(m);
	char        err[200], topic[MQTT_TOPIC_MAX + 1];
	const void *payload = NULL;
	const char *tp;
	size_t      plen = 0, tlen;
	uint64_t    ref = 0;
	bool        has_ref = false, retain = a->cfg->pub_retain, b;
	int         qos = a->cfg->pub_qos, mid, r;
	uint64_t    u;
	mqtt_went  *e;
	tpl_ctx     tc = { .a = a, .tag = tag };

	if (mqtt_body_parse(
	        a->body, arb_msg_body(m), arb_msg_len(m), err, sizeof(err))
	        != 0
	    && (tag == MQTT_PUBLISH || arb_msg_len(m) > 0)) {
		goto invalid;
	}
	if (tag == MQTT_PUBLISH) {
		if (!mqtt_body_is_map(a->body)) {
			snprintf(err, sizeof(err),
			    "MQTT_PUBLISH: the body is not a map");
			goto invalid;
		}
		if ((r = mqtt_body_uint(a->body, "ref", &ref)) < 0) {
			snprintf(
			    err, sizeof(err), "ref: not an unsigned integer");
			goto invalid;
		}
		has_ref = r == 1;
		if (mqtt_body_bytes(a->body, "payload", &payload, &plen)
		    != 1) {
			snprintf(err, sizeof(err),
			    "payload: required, a str or bin");
			goto invalid;
		}
		if ((r = mqtt_body_uint(a->body, "qos", &u)) < 0
		    || (r == 1 && u > 1)) {
			snprintf(err, sizeof(err), "qos: 0 or 1");
			goto invalid;
		}
		if (r == 1) {
			qos = (int) u;
		}
		if ((r = mqtt_body_bool(a->body, "retain", &b)) < 0) {
			snprintf(err, sizeof(err), "retain: true or false");
			goto invalid;
		}
		if (r == 1) {
			retain = b;
		}
	} else if (arb_msg_len(m) > 0) {
		mqtt_body_raw(a->body, &payload, &plen);
	}
	// The topic: the message's own, or the template filled from it.
	if ((r = mqtt_body_str(a->body, "topic", &tp, &tlen)) == 1) {
		if (tlen > MQTT_TOPIC_MAX) {
			snprintf(err, sizeof(err), "topic: too long");
			goto invalid;
		}
		memcpy(topic, tp, tlen);
		topic[tlen] = '\0';
	} else if (r < 0) {
		snprintf(err, sizeof(err), "topic: not a string");
		goto invalid;
	} else if (!a->cfg->has_topic) {
		snprintf(err, sizeof(err),
		    "no topic: the message has none and publish.topic is not "
		    "set");
		goto invalid;
	} else if (mqtt_tpl_expand(&a->cfg->topic, tpl_lookup, &tc, topic,
	               sizeof(topic), err, sizeof(err))
	    != 0) {
		goto invalid;
	}
	if (!mqtt_topic_valid(topic)) {
		snprintf(err, sizeof(err), "\"%.100s\" is not a valid topic",
		    topic);
		goto invalid;
	}
	if (a->stopping) {
		count(a, C_PUBFAIL_STOPPED, 1);
		reply_early(a, m, has_ref, ref, qos, ARB_ESHUTDOWN,
		    "the mqtt actor is stopping");
		return;
	}
	if (mqtt_win_full(&a->win)) {
		if (a->cfg->overflow == MQTT_OVERFLOW_DROP) {
			count(a, C_OVERFLOW_DROP, 1);
			return;
		}
		count(a, C_OVERFLOW_REJECT, 1);
		reply_early(a, m, has_ref, ref, qos, ARB_EAGAIN,
		    "the window is full (max_inflight): try again later");
		return;
	}
	e = mqtt_win_add(&a->win, qos, mono_us());
	e->t_stall_us = stall_clock_us(a);
	e->from = arb_msg_from(m);
	e->ref = ref;
	e->has_ref = has_ref;
	e->held = NULL;
	if (arb_msg_is_request(m) && arb_msg_dup(&e->req, m) != ARB_OK) {
		mqtt_win_cancel(&a->win, e);
		snprintf(err, sizeof(err), "out of memory");
		goto invalid;
	}
	if (qos == 1
	    && (!mqtt_link_connected(mqtt_conn_link(a->conn))
	        || a->hq_n > 0)) {
		if (hold(a, e, topic, payload, plen, retain) != 0) {
			mqtt_went copy = *e;

			mqtt_win_cancel(&a->win, e);
			count(a, C_PUBFAIL_INVALID, 1);
			reply_outcome(
			    a, &copy, ARB_ENOMEM, 0, 0, "out of memory");
		}
		return;
	}
	if (mqtt_link_publish(mqtt_conn_link(a->conn), &mid, topic, payload,
	        plen, qos, retain, err, sizeof(err))
	    != 0) {
		bool notconn = qos == 0
		    && !mqtt_link_connected(mqtt_conn_link(a->conn));
		mqtt_went copy = *e;

		mqtt_win_cancel(&a->win, e);
		count(a, notconn ? C_PUBFAIL_NOTCONN : C_PUBFAIL_INVALID, 1);
		reply_outcome(a, &copy, notconn ? ARB_ENOENT : ARB_EINVAL, 0,
		    0, notconn ? "not connected (QoS 0 is not kept)" : err);
		return;
	}
	if (qos == 1) {
		mqtt_win_bind(&a->win, e, mid);
	}
	count(a, C_PUBLISHED, 1);
	return;
invalid:
	count(a, C_PUBFAIL_INVALID, 1);
	arb_log(a->ctx, ARB_LOG_WARN, "publish_invalid",
	    "tag=0x%08" PRIx32 " reason=\"%s\"", tag, err);
	reply_early(a, m, has_ref, ref, qos, ARB_EINVAL, err);
}

// --- other messages --------------------------------------------------------

static void
handle_ack(mqtt_actor *a, const arb_msg *m)
{
	uint64_t seqs[ACKS_MAX];
	char     err[120];
	size_t   n = 0, i;
	int64_t  now = mono_us(), lat;

	if (mqtt_body_parse(
	        a->body, arb_msg_body(m), arb_msg_len(m), err, sizeof(err))
	        != 0
	    || mqtt_body_uints(a->body, "seq", seqs, ACKS_MAX, &n) != 1) {
		arb_log(a->ctx, ARB_LOG_WARN, "bad_ack",
		    "reason=\"expected {seq: uint or [uint...]}\"");
		return;
	}
	for (i = 0; i < n; i++) {
		if (mqtt_rxack_ack(&a->rx, seqs[i], now, &lat)) {
			count(a, C_ACKS, 1);
			a->rxack_last_us = lat;
			if (lat > a->rxack_max_us) {
				a->rxack_max_us = lat;
			}
			arb_metric_observe(a->h_rxack, (double) lat / 1e6);
		} else {
			count(a, C_ACKS_UNTRACKED, 1);
		}
	}
	rx_window(a);
}

static void
handle_status(mqtt_actor *a, const arb_msg *m)
{
	const void *body;
	size_t      len, i, nd = 0;

	for (i = 0; i < MQTT_CAUSE_COUNT; i++) {
		nd += a->n[C_DISC_FIRST + i] > 0;
	}
	mqtt_enc_map(a->enc, 31);
	mqtt_enc_kv_str(a->enc, "state",
	    mqtt_conn_state_name(mqtt_conn_get_state(a->conn)));
	mqtt_enc_kv_str(a->enc, "broker", mqtt_conn_broker(a->conn));
	mqtt_enc_kv_bool(
	    a->enc, "connected", mqtt_conn_get_state(a->conn) == MQTT_CONN_UP);
	mqtt_enc_kv_int(a->enc, "up_ms", mqtt_conn_up_ms(a->conn));
	mqtt_enc_kv_uint(a->enc, "refusals", mqtt_conn_refusals(a->conn));
	mqtt_enc_kv_uint(a->enc, "connects", a->n[C_CONNECTS]);
	mqtt_enc_kv_uint(a->enc, "subscriptions", a->cfg->nsubs);
	mqtt_enc_kv_uint(a->enc, "subscribed",
	    mqtt_conn_get_state(a->conn) == MQTT_CONN_UP ? a->subscribed : 0);
	mqtt_enc_kv_map(a->enc, "disconnects", nd);
	for (i = 0; i < MQTT_CAUSE_COUNT; i++) {
		if (a->n[C_DISC_FIRST + i] > 0) {
			mqtt_enc_kv_uint(a->enc,
			    mqtt_cause_name((mqtt_cause) i),
			    a->n[C_DISC_FIRST + i]);
		}
	}
	mqtt_enc_kv_uint(a->enc, "inflight", mqtt_win_count(&a->win));
	mqtt_enc_kv_uint(a->enc, "inflight_qos1", mqtt_win_count1(&a->win));
	mqtt_enc_kv_uint(a->enc, "published", a->n[C_PUBLISHED]);
	mqtt_enc_kv_uint(a->enc, "done", a->n[C_ACKED]);
	mqtt_enc_kv_uint(a->enc, "refused", a->n[C_REFUSED]);
	mqtt_enc_kv_uint(a->enc, "overflow",
	    a->n[C_OVERFLOW_REJECT] + a->n[C_OVERFLOW_DROP]);
	mqtt_enc_kv_uint(
	    a->enc, "failed_not_connected", a->n[C_PUBFAIL_NOTCONN]);
	mqtt_enc_kv_uint(
	    a->enc, "failed_connection_lost", a->n[C_PUBFAIL_LOST]);
	mqtt_enc_kv_uint(a->enc, "failed_invalid", a->n[C_PUBFAIL_INVALID]);
	mqtt_enc_kv_uint(a->enc, "received", a->n[C_RECEIVED]);
	mqtt_enc_kv_uint(a->enc, "forwarded", a->n[C_FORWARDED]);
	mqtt_enc_kv_uint(a->enc, "forward_dropped",
	    a->n[C_FWDDROP_FULL] + a->n[C_FWDDROP_NODEST]
	        + a->n[C_FWDDROP_ERROR] + a->n[C_FWDDROP_NOSUB]);
	mqtt_enc_kv_uint(a->enc, "acks", a->n[C_ACKS]);
	mqtt_enc_kv_uint(a->enc, "acks_untracked", a->n[C_ACKS_UNTRACKED]);
	mqtt_enc_kv_uint(a->enc, "rx_unacked", a->rx.pending);
	mqtt_enc_kv_uint(a->enc, "stalls", a->n[C_STALLS]);
	mqtt_enc_kv_uint(a->enc, "subscribe_refused", a->n[C_SUBFAIL]);
	mqtt_enc_kv_uint(a->enc, "puback_undelivered",
	    a->n[C_UNDELIV_FULL] + a->n[C_UNDELIV_GONE]);
	mqtt_enc_kv_int(a->enc, "puback_last_us", a->puback_last_us);
	mqtt_enc_kv_int(a->enc, "puback_max_us", a->puback_max_us);
	mqtt_enc_kv_int(a->enc, "rx_ack_last_us", a->rxack_last_us);
	mqtt_enc_kv_int(a->enc, "rx_ack_max_us", a->rxack_max_us);
	if ((body = mqtt_enc_data(a->enc, &len)) != NULL) {
		arb_reply(a->ctx, m, MQTT_STATUS, body, len);
	} else {
		arb_reply_error(a->ctx, m, ARB_ENOMEM, "out of memory");
	}
}

static void
mqtt_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{
	mqtt_actor *a = st;
	uint32_t    tag = arb_msg_tag(m);

	(void) ctx;
	switch (tag) {
	case MQTT_PUBLISH:
		publish(a, m);
		return;
	case MQTT_ACK:
		handle_ack(a, m);
		return;
	case MQTT_STATUS:
		if (arb_msg_is_request(m)) {
			handle_status(a, m);
		}
		return;
	default:
		break;
	}
	if (tag >= ARB_TAG_SYSTEM) {
		return; // DOWN, EXIT: nothing of ours
	}
	if (tag >= MQTT_TAG_FIRST && tag <= MQTT_TAG_LAST) {
		arb_log(a->ctx, ARB_LOG_WARN, "unexpected_message",
		    "tag=0x%08" PRIx32, tag);
		return;
	}
	publish(a, m); // any other tag: its body is the payload
}

// dests_refresh looks every destination up again.  A process actor is not
// told when the actor behind a pid went away for good (its sends still
// succeed: docs/design.md), so a destination removed and added again (a
// reload) is found here, within REFRESH_MS; a thread actor also learns it
// from ARB_ENOENT at its next send.
static void
dests_refresh(mqtt_actor *a)
{
	size_t i;

	for (i = 0; i < a->ndests; i++) {
		dest_lookup(a, &a->dests[i]);
	}
}

// --- the stall check and gauges --------------------------------------------

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	mqtt_actor      *a = arg;
	const mqtt_went *e;
	int64_t          since, age;

	(void) fd;
	(void) what;
	// An MQTT_ACK can be lost (messages are at most once) or never
	// sent (a destination that lost what it had): a message unconfirmed
	// for RX_EXPIRE_MS no longer holds reading.
	if (a->cfg->receive_window > 0 && a->rx.pending > 0) {
		uint32_t n = mqtt_rxack_expire(
		    &a->rx, mono_us() - (int64_t) RX_EXPIRE_MS * 1000);

		if (n > 0) {
			arb_log(a->ctx, ARB_LOG_WARN, "unconfirmed",
			    "messages=%" PRIu32 " waited_ms=%d", n,
			    RX_EXPIRE_MS);
			rx_window(a);
		}
	}
	gauges(a);
	if (a->ndests > 0 && arb__now_ms() - a->refreshed_ms >= REFRESH_MS) {
		a->refreshed_ms = arb__now_ms();
		dests_refresh(a);
	}
	// While reading is held (receive_window) the PUBACKs wait unread:
	// that is the actor's doing, not the broker's, so the check waits
	// until reading goes on, and its clock leaves the held time out
	// (stall_clock_us).  A broker silent while reading goes on is still
	// a stall after puback_timeout.
	if (mqtt_conn_get_state(a->conn) != MQTT_CONN_UP
	    || mqtt_link_held(mqtt_conn_link(a->conn))
	    || (e = mqtt_win_oldest1(&a->win)) == NULL) {
		return;
	}
	// Resent at the reconnect: count from then.
	since
	    = e->t_stall_us > a->up_stall_us ? e->t_stall_us : a->up_stall_us;
	age = (stall_clock_us(a) - since) / 1000;
	if (age < a->cfg->puback_timeout_ms) {
		return;
	}
	count(a, C_STALLS, 1);
	arb_log(a->ctx, ARB_LOG_WARN, "stalled",
	    "broker=%s oldest_ms=%" PRId64 " inflight=%" PRIu32
	    " action=reconnect",
	    mqtt_conn_broker(a->conn), age, mqtt_win_count1(&a->win));
	mqtt_conn_drop(a->conn, MQTT_CAUSE_STALL);
}

// --- lifecycle -------------------------------------------------------------

static int
dests_setup(mqtt_actor *a)
{
	size_t i, j;

	for (i = 0; i < a->cfg->nsubs; i++) {
		for (j = 0; j < a->ndests; j++) {
			if (strcmp(a->dests[j].path, a->cfg->subs[i].to)
			    == 0) {
				break;
			}
		}
		if (j == a->ndests) {
			snprintf(a->dests[j].path, sizeof(a->dests[j].path),
			    "%s", a->cfg->subs[i].to);
			a->ndests++;
		}
		a->sub_dest[i] = (int) j;
		a->sub_mid[i] = -1;
	}
	return 0;
}

static void
metrics_setup(mqtt_actor *a)
{
	int i;

	for (i = 0; i < C_DISC_FIRST; i++) {
		arb_metric_counter(a->ctx, cdefs[i].name, cdefs[i].label,
		    cdefs[i].help, &a->m[i]);
	}
	for (i = 0; i < MQTT_CAUSE_COUNT; i++) {
		char label[64];

		snprintf(label, sizeof(label), "cause=%s",
		    mqtt_cause_name((mqtt_cause) i));
		arb_metric_counter(a->ctx, "mqtt_disconnects_total", label,
		    "Connections and attempts that ended, by cause.",
		    &a->m[C_DISC_FIRST + i]);
	}
	for (i = 0; i < G_COUNT; i++) {
		arb_metric_gauge(a->ctx, gdefs[i].name, gdefs[i].label,
		    gdefs[i].help, &a->g[i]);
	}
	arb_metric_histogram(a->ctx, "mqtt_puback_seconds", NULL,
	    "Time from a publish to its PUBACK (QoS 1) or write (QoS 0).",
	    lat_bounds, sizeof(lat_bounds) / sizeof(lat_bounds[0]),
	    &a->h_puback);
	arb_metric_histogram(a->ctx, "mqtt_rx_ack_seconds", NULL,
	    "Time from receiving a message to its MQTT_ACK.", lat_bounds,
	    sizeof(lat_bounds) / sizeof(lat_bounds[0]), &a->h_rxack);
}

static void
actor_free(mqtt_actor *a)
{
	mqtt_went *e;

	mqtt_conn_close(a->conn);
	while ((e = mqtt_win_pop_any(&a->win, false)) != NULL) {
		arb_msg_free(e->req);
		free(e->held);
	}
	mqtt_win_fini(&a->win);
	free(a->hq);
	mqtt_rxack_fini(&a->rx);
	mqtt_body_free(a->body);
	mqtt_enc_free(a->enc);
	if (a->ev_tick != NULL) {
		event_free(a->ev_tick);
	}
	if (a->ev_drain != NULL) {
		event_free(a->ev_drain);
	}
	if (a->ev_drained != NULL) {
		event_free(a->ev_drained);
	}
	if (a->ev_held != NULL) {
		event_free(a->ev_held);
	}
	free(a->cfg);
	free(a);
}

// config_err records a problem found when the connection was set up: a
// "tls.ca: reason" goes to the key it names.
static void
config_err(arb_cfg *cfg, const char *err)
{
	char        key[32];
	const char *sep = strstr(err, ": ");
	size_t      n = sep != NULL ? (size_t) (sep - err) : 0;

	if (n > 4 && n < sizeof(key) && strncmp(err, "tls.", 4) == 0
	    && strcspn(err, " ") >= n) {
		memcpy(key, err, n);
		key[n] = '\0';
		arb_cfg_err(cfg, key, "%s", sep + 2);
		return;
	}
	arb_cfg_err(cfg, NULL, "%s", err);
}

static void
conn_opts(const mqtt_config *c, mqtt_conn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = c->host;
	o->port = c->port;
	o->nameserver = c->resolver[0] ? c->resolver : NULL;
	o->connect_timeout_ms = c->connect_timeout_ms;
	o->backoff_min_ms = c->backoff_min_ms;
	o->backoff_max_ms = c->backoff_max_ms;
	o->stable_ms = c->stable_ms;
	o->refusals = c->refusals;
	o->link.client_id = c->client_id[0] ? c->client_id : NULL;
	o->link.clean_session = c->clean_session;
	o->link.protocol = c->protocol;
	o->link.keepalive_s = c->keepalive_s;
	o->link.session_expiry_s = c->session_expiry_s;
	o->link.username = c->has_user ? c->username : NULL;
	o->link.password = c->has_pass ? c->password : NULL;
	o->link.max_inflight = c->max_inflight;
	o->link.tls = c->tls;
	o->link.tls_ca = c->tls_ca[0] ? c->tls_ca : NULL;
	o->link.tls_cert = c->tls_cert[0] ? c->tls_cert : NULL;
	o->link.tls_key = c->tls_key[0] ? c->tls_key : NULL;
	o->link.tls_name = c->tls_name[0] ? c->tls_name : c->host;
}

static int
mqtt_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	static const mqtt_conn_cbs cbs = {
		.up = on_up,
		.down = on_down,
		.give_up = on_give_up,
		.puback = on_puback,
		.message = on_message,
		.written = on_written,
		.suback = on_suback,
	};
	mqtt_actor    *a;
	arb_cfg       *cfg = NULL;
	mqtt_conn_opts o;
	char           err[200];
	struct timeval tick;
	int            rv, tick_ms;

	if ((a = calloc(1, sizeof(*a))) == NULL
	    || (a->cfg = malloc(sizeof(*a->cfg))) == NULL
	    || arb_cfg_alloc(&cfg, arg, len) != ARB_OK) {
		if (a != NULL) {
			free(a->cfg);
		}
		free(a);
		return ARB_ENOMEM;
	}
	a->ctx = ctx;
	mqtt_config_read(cfg, a->cfg);
	if (arb_cfg_errors(cfg) == 0) {
		conn_opts(a->cfg, &o);
		// The TLS files are loaded here: a problem with one is a
		// problem of its key.
		if (mqtt_conn_open(
		        &a->conn, arb_base(ctx), &o, &cbs, a, err, sizeof(err))
		    != 0) {
			config_err(cfg, err);
		}
	}
	if ((rv = arb_cfg_report(ctx, cfg)) != ARB_OK) {
		arb_cfg_free(cfg);
		actor_free(a);
		return rv;
	}
	arb_cfg_free(cfg);
	a->seq = (uint64_t) real_us();
	if (mqtt_win_init(&a->win, (uint32_t) a->cfg->max_inflight) != 0
	    || mqtt_rxack_init(&a->rx, RX_TRACK) != 0
	    || mqtt_body_alloc(&a->body) != 0 || mqtt_enc_alloc(&a->enc) != 0
	    || (a->ev_tick
	           = event_new(arb_base(ctx), -1, EV_PERSIST, on_tick, a))
	        == NULL
	    || (a->ev_drain = event_new(arb_base(ctx), -1, 0, on_drain, a))
	        == NULL
	    || (a->ev_drained
	           = event_new(arb_base(ctx), -1, 0, on_drained, a))
	        == NULL
	    || (a->hq = calloc((size_t) a->cfg->max_inflight, sizeof(*a->hq)))
	        == NULL
	    || (a->ev_held = event_new(arb_base(ctx), -1, 0, on_held, a))
	        == NULL) {
		actor_free(a);
		return ARB_ENOMEM;
	}
	dests_setup(a);
	metrics_setup(a);
	tick_ms = a->cfg->puback_timeout_ms / 4;
	if (tick_ms > TICK_MAX_MS) {
		tick_ms = TICK_MAX_MS;
	}
	if (tick_ms < 25) {
		tick_ms = 25;
	}
	tick.tv_sec = tick_ms / 1000;
	tick.tv_usec = (tick_ms % 1000) * 1000;
	event_add(a->ev_tick, &tick);
	gauges(a);
	arb_log(ctx, ARB_LOG_INFO, "init",
	    "broker=%s client_id=%s protocol=%s tls=%s max_inflight=%d "
	    "subscriptions=%zu receive_window=%d libmosquitto=%s",
	    mqtt_conn_broker(a->conn),
	    a->cfg->client_id[0] ? a->cfg->client_id : "-", proto_name(a),
	    a->cfg->tls ? "yes" : "no", a->cfg->max_inflight, a->cfg->nsubs,
	    a->cfg->receive_window, mqtt_lib_version());
	mqtt_conn_start(a->conn);
	*statep = a;
	return ARB_OK;
}

static void
mqtt_stop(arb_ctx *ctx, void *st)
{
	mqtt_actor    *a = st;
	arb_exit       ex = { .kind = ARB_EXIT_SHUTDOWN };
	struct timeval tv;

	(void) ctx;
	if (a->stopping) {
		return;
	}
	a->stopping = true;
	if (mqtt_conn_get_state(a->conn) == MQTT_CONN_UP
	    && mqtt_win_count(&a->win) > 0 && a->cfg->drain_ms > 0) {
		arb_log(a->ctx, ARB_LOG_INFO, "draining",
		    "inflight=%" PRIu32 " drain=%dms", mqtt_win_count(&a->win),
		    a->cfg->drain_ms);
		tv.tv_sec = a->cfg->drain_ms / 1000;
		tv.tv_usec = (a->cfg->drain_ms % 1000) * 1000;
		event_add(a->ev_drain, &tv);
		return;
	}
	finish(a, &ex);
}

static void
mqtt_terminate(arb_ctx *ctx, void *st, const arb_exit *why)
{
	mqtt_actor *a = st;

	(void) ctx;
	(void) why;
	actor_free(a);
}

static void
mqtt_check(arb_cfg *cfg)
{
	mqtt_config *c = malloc(sizeof(*c));

	if (c == NULL) {
		arb_cfg_err(cfg, NULL, "out of memory");
		return;
	}
	mqtt_config_read(cfg, c);
	free(c);
}

const arb_actor_ops mqtt_actor_ops = {
	.type = "mqtt",
	.init = mqtt_init,
	.handle = mqtt_handle,
	.stop = mqtt_stop,
	.terminate = mqtt_terminate,
	.check = mqtt_check,
};
