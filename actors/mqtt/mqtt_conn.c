// SPDX-License-Identifier: MIT
// mqtt_conn.c -- the reconnect state machine over mqtt_dns and mqtt_link.
//
//   IDLE -start-> RESOLVING -addr-> CONNECTING -CONNACK-> UP
//   any failure or loss -> WAIT (backoff timer) -> RESOLVING ...
//   `refusals` CONNACK refusals / TLS failures in a row -> GAVE_UP
//
// One deadline (connect_timeout) covers the name query, the TCP connect,
// the TLS handshake and the wait for CONNACK: a broker that accepts the
// connection and never answers is dropped when it passes.  Each attempt
// resolves the name again (addresses change) and takes the next of its
// addresses.  Thread: loop.

#include "mqtt_conn.h"

#include "mqtt_dns.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct mqtt_conn {
	struct event_base *base;
	mqtt_link         *link;
	mqtt_dns          *dns;
	struct event      *ev_retry;
	struct event      *ev_deadline;
	mqtt_conn_cbs      cbs;
	void              *arg;
	mqtt_conn_state    state;
	char               host[256];
	char               broker[280]; // "host:port"
	char               addr[MQTT_ADDR_MAX];
	int                port;
	int                timeout_ms;
	int                min_ms, max_ms, stable_ms;
	unsigned           refusals_max;
	unsigned           attempts; // since the backoff last started over
	unsigned           refusals; // in a row
	unsigned           tries;    // all attempts (address rotation)
	int64_t            up_since;
	uint64_t           rnd;
	bool               attempt_when_idle; // dns still busy cancelling
	bool               stopping;
	void (*stop_done)(void *arg);
	void *stop_arg;
};

static const char *const state_names[] = {
	[MQTT_CONN_IDLE] = "idle",
	[MQTT_CONN_WAIT] = "backoff",
	[MQTT_CONN_RESOLVING] = "resolving",
	[MQTT_CONN_CONNECTING] = "connecting",
	[MQTT_CONN_UP] = "up",
	[MQTT_CONN_GAVE_UP] = "gave_up",
};

const char *
mqtt_conn_state_name(mqtt_conn_state s)
{
	if ((size_t) s >= sizeof(state_names) / sizeof(state_names[0])) {
		return "unknown";
	}
	return state_names[s];
}

int64_t
mqtt_backoff_delay(int min_ms, int max_ms, unsigned n, uint64_t rnd)
{
	int64_t ceil;

	if (min_ms <= 0) {
		return 0;
	}
	if (max_ms < min_ms) {
		max_ms = min_ms;
	}
	// min_ms < 2^31: a shift by at most 31 stays below 2^62.
	ceil = n > 31 ? max_ms : (int64_t) min_ms << n;
	if (ceil > max_ms) {
		ceil = max_ms;
	}
	return (int64_t) (rnd % ((uint64_t) ceil + 1));
}

// conn_rand is xorshift64*: jitter needs spread, not secrecy.
static uint64_t
conn_rand(mqtt_conn *c)
{
	c->rnd ^= c->rnd >> 12;
	c->rnd ^= c->rnd << 25;
	c->rnd ^= c->rnd >> 27;
	return c->rnd * 0x2545F4914F6CDD1DULL;
}

static void
conn_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t) (ms / 1000);
	tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
	event_add(ev, &tv);
}

static void conn_attempt(mqtt_conn *c);

// conn_fail ends an attempt or a connection: count a refusal, give up
// after too many, else back off.
static void
conn_fail(mqtt_conn *c, mqtt_cause cause, int code, const char *text)
{
	int64_t next;

	event_del(c->ev_deadline);
	if (c->state == MQTT_CONN_UP
	    && arb__now_ms() - c->up_since >= c->stable_ms) {
		c->attempts = 0; // it was stable: start over
	}
	c->up_since = 0;
	if (c->stopping || cause == MQTT_CAUSE_STOP) {
		c->state = MQTT_CONN_IDLE;
		if (c->cbs.down != NULL) {
			c->cbs.down(c->arg, cause, code, text, c->addr, -1);
		}
		return;
	}
	if (cause == MQTT_CAUSE_REFUSED || cause == MQTT_CAUSE_TLS) {
		c->refusals++;
		if (c->refusals_max > 0 && c->refusals >= c->refusals_max) {
			c->state = MQTT_CONN_GAVE_UP;
			if (c->cbs.give_up != NULL) {
				c->cbs.give_up(
				    c->arg, cause, text, c->refusals);
			}
			return;
		}
	}
	next = mqtt_backoff_delay(
	    c->min_ms, c->max_ms, c->attempts, conn_rand(c));
	if (c->attempts < 64) {
		c->attempts++;
	}
	c->state = MQTT_CONN_WAIT;
	conn_arm(c->ev_retry, next);
	if (c->cbs.down != NULL) {
		c->cbs.down(c->arg, cause, code, text, c->addr, next);
	}
}

// --- link callbacks --------------------------------------------------------

static void
conn_link_up(void *arg, bool session_present)
{
	mqtt_conn *c = arg;

	event_del(c->ev_deadline);
	c->state = MQTT_CONN_UP;
	c->up_since = arb__now_ms();
	c->refusals = 0;
	if (c->cbs.up != NULL) {
		c->cbs.up(c->arg, session_present);
	}
}

static void
conn_link_down(void *arg, mqtt_cause cause, int code, const char *text)
{
	conn_fail(arg, cause, code, text);
	{
		mqtt_conn *c = arg;

		if (c->stopping && c->state == MQTT_CONN_IDLE
		    && !mqtt_dns_busy(c->dns) && c->stop_done != NULL) {
			void (*done)(void *) = c->stop_done;

			c->stop_done = NULL;
			done(c->stop_arg);
		}
	}
}

static void
conn_link_puback(void *arg, int mid, int reason)
{
	mqtt_conn *c = arg;

	c->cbs.puback(c->arg, mid, reason);
}

static void
conn_link_message(void *arg, const mqtt_inmsg *m)
{
	mqtt_conn *c = arg;

	c->cbs.message(c->arg, m);
}

static void
conn_link_written(void *arg, uint64_t n)
{
	mqtt_conn *c = arg;

	if (c->cbs.written != NULL) {
		c->cbs.written(c->arg, n);
	}
}

static void
conn_link_suback(void *arg, int mid, int n, const int *granted)
{
	mqtt_conn *c = arg;

	if (c->cbs.suback != NULL) {
		c->cbs.suback(c->arg, mid, n, granted);
	}
}

// --- the attempt -----------------------------------------------------------

static void
conn_resolved(
    void *arg, const char *err, char addrs[][MQTT_ADDR_MAX], size_t n)
{
	mqtt_conn *c = arg;
	mqtt_cause cause;
	char       text[400];
	int        code;

	if (c->state != MQTT_CONN_RESOLVING) {
		return;
	}
	if (err != NULL) {
		c->addr[0] = '\0';
		snprintf(
		    text, sizeof(text), "cannot resolve %s: %s", c->host, err);
		conn_fail(c, MQTT_CAUSE_RESOLVE, 0, text);
		return;
	}
	snprintf(c->addr, sizeof(c->addr), "%s", addrs[c->tries % n]);
	c->state = MQTT_CONN_CONNECTING;
	if (mqtt_link_connect(
	        c->link, c->addr, c->port, &cause, &code, text, sizeof(text))
	    != 0) {
		conn_fail(c, cause, code, text);
	}
}

static void
conn_dns_idle(void *arg)
{
	mqtt_conn *c = arg;

	if (c->stopping) {
		if (c->state == MQTT_CONN_IDLE && c->stop_done != NULL) {
			void (*done)(void *) = c->stop_done;

			c->stop_done = NULL;
			done(c->stop_arg);
		}
		return;
	}
	if (c->attempt_when_idle) {
		c->attempt_when_idle = false;
		conn_attempt(c);
	}
}

static void
conn_attempt(mqtt_conn *c)
{
	if (c->stopping) {
		return;
	}
	c->state = MQTT_CONN_RESOLVING;
	c->tries++;
	if (mqtt_dns_busy(c->dns)) {
		// A cancelled query is still inside evdns: go on once it left.
		c->attempt_when_idle = true;
		mqtt_dns_cancel(c->dns, conn_dns_idle, c);
		return;
	}
	conn_arm(c->ev_deadline, c->timeout_ms);
	if (mqtt_dns_resolve(c->dns, c->host, conn_resolved, c) != 0) {
		c->addr[0] = '\0';
		conn_fail(c, MQTT_CAUSE_RESOLVE, 0,
		    "cannot start a name query (resolver setup failed)");
	}
}

static void
conn_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	conn_attempt(arg);
}

static void
conn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	mqtt_conn *c = arg;
	char       text[300];

	(void) fd;
	(void) what;
	if (c->state == MQTT_CONN_RESOLVING) {
		mqtt_dns_cancel(c->dns, NULL, NULL);
		c->addr[0] = '\0';
		snprintf(text, sizeof(text),
		    "resolving %s took longer than connect_timeout", c->host);
		conn_fail(c, MQTT_CAUSE_TIMEOUT, 0, text);
	} else if (c->state == MQTT_CONN_CONNECTING) {
		mqtt_link_drop(c->link, MQTT_CAUSE_TIMEOUT);
	}
}

// --- the API ---------------------------------------------------------------

int
mqtt_conn_open(mqtt_conn **cp, struct event_base *base,
    const mqtt_conn_opts *o, const mqtt_conn_cbs *cbs, void *arg, char *err,
    size_t errlen)
{
	static const mqtt_link_cbs lcbs = {
		.up = conn_link_up,
		.down = conn_link_down,
		.puback = conn_link_puback,
		.message = conn_link_message,
		.written = conn_link_written,
		.suback = conn_link_suback,
	};
	mqtt_conn     *c;
	mqtt_link_opts lo;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->base = base;
	c->cbs = *cbs;
	c->arg = arg;
	c->port = o->port;
	c->timeout_ms = o->connect_timeout_ms;
	c->min_ms = o->backoff_min_ms;
	c->max_ms = o->backoff_max_ms;
	c->stable_ms = o->stable_ms;
	c->refusals_max = o->refusals;
	snprintf(c->host, sizeof(c->host), "%s", o->host);
	snprintf(c->broker, sizeof(c->broker),
	    strchr(c->host, ':') != NULL ? "[%s]:%d" : "%s:%d", c->host,
	    c->port);
	if (getrandom(&c->rnd, sizeof(c->rnd), GRND_NONBLOCK)
	    != (ssize_t) sizeof(c->rnd)) {
		c->rnd = (uint64_t) arb__now_ms() * 0x9E3779B97F4A7C15ULL;
	}
	c->rnd |= 1;
	lo = o->link;
	if (lo.tls && lo.tls_name == NULL) {
		lo.tls_name = c->host;
	}
	c->ev_retry = event_new(base, -1, 0, conn_on_retry, c);
	c->ev_deadline = event_new(base, -1, 0, conn_on_deadline, c);
	if (c->ev_retry == NULL || c->ev_deadline == NULL) {
		snprintf(err, errlen, "out of memory");
		mqtt_conn_close(c);
		return -1;
	}
	if (mqtt_dns_open(&c->dns, base, o->nameserver, err, errlen) != 0
	    || mqtt_link_open(&c->link, base, &lo, &lcbs, c, err, errlen)
	        != 0) {
		mqtt_conn_close(c);
		return -1;
	}
	*cp = c;
	return 0;
}

void
mqtt_conn_close(mqtt_conn *c)
{
	if (c == NULL) {
		return;
	}
	mqtt_link_close(c->link);
	mqtt_dns_close(c->dns);
	if (c->ev_retry != NULL) {
		event_free(c->ev_retry);
	}
	if (c->ev_deadline != NULL) {
		event_free(c->ev_deadline);
	}
	free(c);
}

void
mqtt_conn_start(mqtt_conn *c)
{
	c->state = MQTT_CONN_WAIT;
	conn_arm(c->ev_retry, 0);
}

void
mqtt_conn_drop(mqtt_conn *c, mqtt_cause cause)
{
	if (c->state == MQTT_CONN_UP || c->state == MQTT_CONN_CONNECTING) {
		mqtt_link_drop(c->link, cause);
	}
}

void
mqtt_conn_stop(mqtt_conn *c, void (*done)(void *arg), void *arg)
{
	c->stopping = true;
	c->stop_done = done;
	c->stop_arg = arg;
	event_del(c->ev_retry);
	event_del(c->ev_deadline);
	if (c->state == MQTT_CONN_RESOLVING) {
		c->state = MQTT_CONN_IDLE;
	}
	c->attempt_when_idle = false;
	if (mqtt_link_attached(c->link)) {
		// cbs.down (cause stop) follows, and with it done.
		mqtt_link_disconnect(c->link);
		if (mqtt_link_attached(c->link)) {
			// DISCONNECT could not leave yet: do not wait for it.
			mqtt_link_drop(c->link, MQTT_CAUSE_STOP);
		}
	} else {
		c->state = MQTT_CONN_IDLE;
	}
	if (mqtt_dns_busy(c->dns)) {
		mqtt_dns_cancel(c->dns, conn_dns_idle, c);
		return;
	}
	if (c->stop_done != NULL) {
		c->stop_done = NULL;
		done(arg);
	}
}

mqtt_conn_state
mqtt_conn_get_state(const mqtt_conn *c)
{
	return c->state;
}

mqtt_link *
mqtt_conn_link(mqtt_conn *c)
{
	return c->link;
}

int64_t
mqtt_conn_up_ms(const mqtt_conn *c)
{
	return c->state == MQTT_CONN_UP ? arb__now_ms() - c->up_since : 0;
}

unsigned
mqtt_conn_refusals(const mqtt_conn *c)
{
	return c->refusals;
}

unsigned
mqtt_conn_attempt(const mqtt_conn *c)
{
	return c->attempts;
}

const char *
mqtt_conn_broker(const mqtt_conn *c)
{
	return c->broker;
}
