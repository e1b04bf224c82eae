// SPDX-License-Identifier: MIT
// mqtt_link.h -- one connection to an MQTT broker, driven by a libevent
// loop.  mqtt_link.c is the only file of the mqtt actor that includes
// <mosquitto.h> or OpenSSL: everything libmosquitto does happens inside
// the calls declared here, on the caller's loop thread.
//
// A link is a libmosquitto client object (its persistent session state,
// in-flight QoS 1 messages included, lives as long as the link) plus the
// events that watch its socket.  It never resolves names and never blocks:
// mqtt_link_connect takes a numeric address.  It does not reconnect on its
// own either; the owner (mqtt_conn.c) decides when to try again.
//
// Lifecycle of one attempt: mqtt_link_connect returns 0, then cbs.up runs
// at most once (CONNACK accepted), then cbs.down runs exactly once (the
// socket is gone, for whatever reason), unless mqtt_link_close comes
// first.  Callbacks run inside mqtt_link_* calls or the link's own events;
// they may publish and subscribe, and must not close the link.
// Thread: loop (one link belongs to one loop thread).

#ifndef MQTT_LINK_H
#define MQTT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct mqtt_link mqtt_link;

// Why a connection attempt or a connection ended (cbs.down).
typedef enum mqtt_cause {
	MQTT_CAUSE_CONNECT = 0, // TCP connect failed (refused, unreachable)
	MQTT_CAUSE_TLS,         // TLS handshake failed (certificate, name)
	MQTT_CAUSE_REFUSED,     // CONNACK with a refusal (credentials...)
	MQTT_CAUSE_CLOSED,      // the broker closed or reset the connection
	MQTT_CAUSE_KEEPALIVE,   // no traffic from the broker within keepalive
	MQTT_CAUSE_PROTOCOL,    // a protocol error (malformed packet...)
	MQTT_CAUSE_TIMEOUT,     // no CONNACK within connect_timeout (owner)
	MQTT_CAUSE_STALL,       // a PUBACK overdue: forced reconnect (owner)
	MQTT_CAUSE_RESOLVE,     // the broker's name did not resolve (owner)
	MQTT_CAUSE_STOP,        // we disconnected (stop)
	MQTT_CAUSE_COUNT,
} mqtt_cause;

// mqtt_cause_name returns "connect", "tls", "refused", "closed",
// "keepalive", "protocol", "timeout", "stall", "resolve" or "stop".
const char *mqtt_cause_name(mqtt_cause c);

typedef struct mqtt_link_opts {
	const char *client_id;        // required when !clean_session
	bool        clean_session;    // false: persistent session
	int         protocol;         // 4 (MQTT 3.1.1) or 5
	int         keepalive_s;      // 0 off, else 5..65535
	uint32_t    session_expiry_s; // MQTT 5: session expiry interval
	const char *username;         // NULL: none
	const char *password;         // NULL: none
	int         max_inflight;     // QoS 1 publishes libmosquitto may hold
	// TLS: on when tls is true.  ca: file of trusted CAs (NULL: the
	// system's); cert/key: client certificate and key (both or none).
	bool        tls;
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	// The name the broker's certificate must carry and the TLS SNI: the
	// configured host (not the address it resolved to).
	const char *tls_name;
} mqtt_link_opts;

// An incoming message; valid during the callback only.
typedef struct mqtt_inmsg {
	const char *topic;
	const void *payload;
	size_t      len;
	int         qos;
	bool        retain;
} mqtt_inmsg;

typedef struct mqtt_link_cbs {
	// up: the broker accepted the connection.
	void (*up)(void *arg, bool session_present);
	// down: the attempt or the connection is over.  code is the CONNACK
	// refusal code (REFUSED), an errno (CONNECT, CLOSED) or 0; text says
	// why in words ("not authorised", "Connection refused",
	// "certificate verify failed: Hostname mismatch").
	void (*down)(void *arg, mqtt_cause cause, int code, const char *text);
	// puback: the PUBACK of QoS 1 publish mid; reason is the MQTT 5
	// reason code (0 on 3.1.1; >= 0x80 is a refusal).
	void (*puback)(void *arg, int mid, int reason);
	// message: a message arrived on a subscription.  For QoS 1,
	// libmosquitto has already sent its PUBACK (see docs/actors.md).
	void (*message)(void *arg, const mqtt_inmsg *m);
	// written: n more QoS 0 publishes were written to the socket, in the
	// order they were published (the others are lost with the
	// connection: after cbs.down none of them will be reported).
	void (*written)(void *arg, uint64_t n);
	// suback: granted[i] is the QoS granted for filter i of subscribe
	// mid, or >= 0x80 for a refusal.
	void (*suback)(void *arg, int mid, int n, const int *granted);
} mqtt_link_cbs;

// mqtt_link_open creates a link on base.  opts' strings are copied.  On
// failure it returns -1 and writes the reason to err; nothing is left.
int mqtt_link_open(mqtt_link **lp, struct event_base *base,
    const mqtt_link_opts *opts, const mqtt_link_cbs *cbs, void *arg, char *err,
    size_t errlen);

// mqtt_link_close releases the link: its events are removed before its
// socket is closed (nothing is sent, no callback runs).  NULL is a
// harmless no-op.  Must not be called from a link callback.
void mqtt_link_close(mqtt_link *l);

// mqtt_link_connect starts an attempt to the numeric address addr
// ("192.0.2.7", "::1") and port.  It never resolves and never blocks.
// Returns 0, and then cbs.down follows exactly once (never from inside
// this call); or -1 with the reason in err and *cause, *code set (no
// callback: a failure found at once, such as a refused TCP connection on
// loopback).  Only when not attached.
int mqtt_link_connect(mqtt_link *l, const char *addr, int port,
    mqtt_cause *cause, int *code, char *err, size_t errlen);

// mqtt_link_drop ends the connection now, without DISCONNECT, reporting
// cause through cbs.down before it returns.  A harmless no-op when there
// is no connection.
void mqtt_link_drop(mqtt_link *l, mqtt_cause cause);

// mqtt_link_disconnect sends DISCONNECT (the broker then drops the will)
// and ends the connection; cbs.down reports MQTT_CAUSE_STOP once the
// packet left (usually before this returns).
void mqtt_link_disconnect(mqtt_link *l);

// mqtt_link_publish hands one message to libmosquitto.  QoS 1 messages
// stay in the link (resent after a reconnect) until their PUBACK; *mid
// identifies it.  While disconnected a QoS 0 publish fails; QoS 0
// messages are reported by cbs.written once written.  Returns 0 or -1 with
// the reason in err.  Never calls a callback of the link.
int mqtt_link_publish(mqtt_link *l, int *mid, const char *topic,
    const void *payload, size_t len, int qos, bool retain, char *err,
    size_t errlen);

// mqtt_link_subscribe subscribes to one filter (while connected).
int mqtt_link_subscribe(mqtt_link *l, int *mid, const char *filter, int qos,
    char *err, size_t errlen);

// mqtt_link_unwritten is the number of QoS 0 publishes handed over and
// not yet written.
size_t mqtt_link_unwritten(const mqtt_link *l);

// mqtt_link_hold stops reading from the broker (hold) or starts again:
// libmosquitto acknowledges a QoS 1 message to the broker as it reads it,
// so what is not read stays the broker's (a persistent session keeps it
// over a reconnect).  A message callback may hold: the read ends after
// that message.  Reading starts again by itself on the next socket (a
// reconnect must read its CONNACK); a hold longer than the keepalive
// may lose the connection (no PINGRESP is read: docs/actors.md, the
// receive_window paragraph).  mqtt_link_held tells; mqtt_link_held_us is
// how long reading has been held in all since the link was opened (the
// hold under way included), for a stall clock that leaves the holds out.
void    mqtt_link_hold(mqtt_link *l, bool hold);
bool    mqtt_link_held(const mqtt_link *l);
int64_t mqtt_link_held_us(const mqtt_link *l);

// mqtt_link_connected is true between cbs.up and cbs.down.
bool mqtt_link_connected(const mqtt_link *l);

// mqtt_link_attached is true between a successful mqtt_link_connect and
// cbs.down (the socket is watched).
bool mqtt_link_attached(const mqtt_link *l);

// mqtt_filter_valid / mqtt_topic_valid check a subscription filter and a
// publish topic (UTF-8, wildcards).  Thread: any.
bool mqtt_filter_valid(const char *filter);
bool mqtt_topic_valid(const char *topic);

// mqtt_filter_match is true when topic matches the subscription filter.
// Thread: any.
bool mqtt_filter_match(const char *filter, const char *topic);

// mqtt_lib_version returns libmosquitto's version, e.g. "2.0.11".
// Thread: any.
const char *mqtt_lib_version(void);

#endif // MQTT_LINK_H
