// SPDX-License-Identifier: MIT
// mqtt_conn.h -- keeping one broker connection up: resolve the host
// (mqtt_dns), connect (mqtt_link), and after every failure or loss try
// again after a full-jitter exponential backoff that resets only once a
// connection stayed up `stable` long.  CONNACK refusals and TLS failures
// are counted; after `refusals` of them in a row the owner is told to
// give up.  Thread: loop.

#ifndef MQTT_CONN_H
#define MQTT_CONN_H

#include "mqtt_link.h"

#include <stdint.h>

typedef struct mqtt_conn mqtt_conn;

typedef enum mqtt_conn_state {
	MQTT_CONN_IDLE = 0,   // not started, or stopped
	MQTT_CONN_WAIT,       // backing off before the next attempt
	MQTT_CONN_RESOLVING,  // looking up the broker's name
	MQTT_CONN_CONNECTING, // TCP / TLS / waiting for CONNACK
	MQTT_CONN_UP,         // CONNACK accepted
	MQTT_CONN_GAVE_UP,    // too many refusals in a row
} mqtt_conn_state;

// mqtt_conn_state_name returns "idle", "backoff", "resolving",
// "connecting", "up" or "gave_up".
const char *mqtt_conn_state_name(mqtt_conn_state s);

typedef struct mqtt_conn_opts {
	const char    *host; // name or address literal
	int            port;
	const char    *nameserver;         // NULL: /etc/resolv.conf
	int            connect_timeout_ms; // resolve + connect + CONNACK
	int            backoff_min_ms;
	int            backoff_max_ms;
	int            stable_ms; // up this long: the backoff starts over
	unsigned       refusals;  // give up after this many; 0: never
	mqtt_link_opts link;
} mqtt_conn_opts;

typedef struct mqtt_conn_cbs {
	void (*up)(void *arg, bool session_present);
	// down: an attempt failed or the connection was lost; the next
	// attempt starts in next_ms.  addr is the address tried ("" when the
	// name did not resolve).
	void (*down)(void *arg, mqtt_cause cause, int code, const char *text,
	    const char *addr, int64_t next_ms);
	// give_up: `refusals` refusals in a row; the conn is GAVE_UP and
	// tries no more.
	void (*give_up)(
	    void *arg, mqtt_cause cause, const char *text, unsigned refusals);
	// As in mqtt_link_cbs.
	void (*puback)(void *arg, int mid, int reason);
	void (*message)(void *arg, const mqtt_inmsg *m);
	void (*written)(void *arg, uint64_t n);
	void (*suback)(void *arg, int mid, int n, const int *granted);
} mqtt_conn_cbs;

// mqtt_conn_open prepares the connection (opts' strings are copied;
// TLS files are loaded now).  Returns 0 or -1 with the reason in err.
int mqtt_conn_open(mqtt_conn **cp, struct event_base *base,
    const mqtt_conn_opts *opts, const mqtt_conn_cbs *cbs, void *arg, char *err,
    size_t errlen);

// mqtt_conn_close releases everything at once (no DISCONNECT).  NULL is a
// harmless no-op.  Must not be called from a callback of the conn.
void mqtt_conn_close(mqtt_conn *c);

// mqtt_conn_start makes the first attempt (on the loop, not inside the
// call).
void mqtt_conn_start(mqtt_conn *c);

// mqtt_conn_drop ends the current connection or attempt with cause (a
// PUBACK overdue, for instance) and backs off as after any loss.
void mqtt_conn_drop(mqtt_conn *c, mqtt_cause cause);

// mqtt_conn_stop ends everything: DISCONNECT when connected, the pending
// name query cancelled; done runs once nothing of the conn is left
// running on the loop (later, or inside the call when nothing was).
// cbs.down reports MQTT_CAUSE_STOP with next_ms -1.
void mqtt_conn_stop(mqtt_conn *c, void (*done)(void *arg), void *arg);

mqtt_conn_state mqtt_conn_get_state(const mqtt_conn *c);
mqtt_link      *mqtt_conn_link(mqtt_conn *c);
// mqtt_conn_up_ms is how long the connection has been up (0 if down).
int64_t mqtt_conn_up_ms(const mqtt_conn *c);
// mqtt_conn_refusals is the number of refusals in a row so far.
unsigned mqtt_conn_refusals(const mqtt_conn *c);
// mqtt_conn_attempt is n of the next backoff delay: 0 right after a
// connection that stayed up `stable` long ended.
unsigned mqtt_conn_attempt(const mqtt_conn *c);
// mqtt_conn_broker is "host:port" for log lines.
const char *mqtt_conn_broker(const mqtt_conn *c);

// mqtt_backoff_delay is the delay before attempt n: a random value in
// [0, min(max_ms, min_ms << n)] (full jitter), drawn from rnd.  Pure.
// Thread: any.
int64_t mqtt_backoff_delay(int min_ms, int max_ms, unsigned n, uint64_t rnd);

#endif // MQTT_CONN_H
