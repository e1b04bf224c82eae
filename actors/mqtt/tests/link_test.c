// SPDX-License-Identifier: MIT
// link_test.c -- the broker connection (mqtt_conn over mqtt_link and
// mqtt_dns) on a libevent loop of the test, against a real mosquitto on
// a free loopback port: publish and subscribe at QoS 0 and 1, refused
// credentials (3.1.1 and 5), an absent broker, a broker that accepts
// and never answers, TLS (a test CA, the host name checked, a client
// certificate), giving up after refusals, the MQTT 5 persistent session,
// a forced reconnect, a drop while reading is held, and that no fd or
// event is left behind.  Every wait runs the loop until a condition holds
// or a deadline passes.

#include "arb_test.h"

#include "broker.h"
#include "mqtt_conn.h"
#include "mqtt_dns.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <arpa/inet.h>
#include <dirent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rec {
	struct event_base *base;
	mqtt_conn         *conn;
	int                ups, downs, give_ups, pubacks, written, msgs;
	int                subacks;
	bool               session_present;
	mqtt_cause         cause;
	int                code;
	char               text[200];
	int64_t            next_ms;
	char               topic[128];
	char               payload[128];
	int                qos;
	int                last_mid;
	bool               stopped;
} rec;

static void
r_up(void *arg, bool sp)
{
	rec *r = arg;

	r->ups++;
	r->session_present = sp;
}

static void
r_down(void *arg, mqtt_cause cause, int code, const char *text,
    const char *addr, int64_t next_ms)
{
	rec *r = arg;

	(void) addr;
	r->downs++;
	r->cause = cause;
	r->code = code;
	r->next_ms = next_ms;
	snprintf(r->text, sizeof(r->text), "%s", text);
}

static void
r_give_up(void *arg, mqtt_cause cause, const char *text, unsigned n)
{
	rec *r = arg;

	(void) n;
	r->give_ups++;
	r->cause = cause;
	snprintf(r->text, sizeof(r->text), "%s", text);
}

static void
r_puback(void *arg, int mid, int reason)
{
	rec *r = arg;

	(void) reason;
	r->pubacks++;
	r->last_mid = mid;
}

static void
r_message(void *arg, const mqtt_inmsg *m)
{
	rec *r = arg;

	r->msgs++;
	r->qos = m->qos;
	snprintf(r->topic, sizeof(r->topic), "%s", m->topic);
	snprintf(r->payload, sizeof(r->payload), "%.*s", (int) m->len,
	    (const char *) m->payload);
}

static void
r_written(void *arg, uint64_t n)
{
	rec *r = arg;

	r->written += (int) n;
}

static void
r_suback(void *arg, int mid, int n, const int *g)
{
	rec *r = arg;

	(void) mid;
	(void) n;
	(void) g;
	r->subacks++;
}

static const mqtt_conn_cbs rcbs = {
	.up = r_up,
	.down = r_down,
	.give_up = r_give_up,
	.puback = r_puback,
	.message = r_message,
	.written = r_written,
	.suback = r_suback,
};

// --- running the loop until something happened -----------------------------

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	*(bool *) arg = true;
}

// run_until runs the loop until *counter reaches want or timeout_ms passes.
static bool
run_until(rec *r, const int *counter, int want, int timeout_ms)
{
	bool           late = false;
	struct event  *ev = evtimer_new(r->base, on_deadline, &late);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
	while (*counter < want && !late) {
		event_base_loop(r->base, EVLOOP_ONCE);
	}
	event_free(ev);
	return *counter >= want;
}

static int
open_fds(void)
{
	DIR           *d = opendir("/proc/self/fd");
	struct dirent *e;
	int            n = 0;

	while ((e = readdir(d)) != NULL) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

static int
count_events(const struct event_base *b, const struct event *ev, void *arg)
{
	(void) b;
	(void) ev;
	(*(int *) arg)++;
	return 0;
}

static void
opts_plain(mqtt_conn_opts *o, int port, const char *id)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = port;
	o->connect_timeout_ms = 2000;
	o->backoff_min_ms = 20;
	o->backoff_max_ms = 200;
	o->stable_ms = 1000;
	o->refusals = 0;
	o->link.client_id = id;
	o->link.protocol = 4;
	o->link.keepalive_s = 30;
	o->link.max_inflight = 16;
	o->link.session_expiry_s = 3600;
}

static void
rec_open(rec *r, const mqtt_conn_opts *o)
{
	char err[200];

	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	assert_non_null(r->base);
	if (mqtt_conn_open(&r->conn, r->base, o, &rcbs, r, err, sizeof(err))
	    != 0) {
		fail_msg("mqtt_conn_open: %s", err);
	}
}

static void
stopped(void *arg)
{
	((rec *) arg)->stopped = true;
}

// rec_close stops the conn, checks that nothing is left on the loop, and
// frees everything.
static void
rec_close(rec *r)
{
	int n = 0, done = 0;

	mqtt_conn_stop(r->conn, stopped, r);
	if (!r->stopped) {
		done = 0;
		while (!r->stopped && done++ < 1000) {
			event_base_loop(
			    r->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		}
	}
	assert_true(r->stopped);
	mqtt_conn_close(r->conn);
	event_base_foreach_event(r->base, count_events, &n);
	assert_int_equal(n, 0);
	event_base_free(r->base);
}

static void
publish(rec *r, const char *topic, const char *text, int qos, int *mid)
{
	char err[160];

	if (mqtt_link_publish(mqtt_conn_link(r->conn), mid, topic, text,
	        strlen(text), qos, false, err, sizeof(err))
	    != 0) {
		fail_msg("publish: %s", err);
	}
}

static void
subscribe(rec *r, const char *filter, int qos)
{
	char err[160];
	int  mid;

	if (mqtt_link_subscribe(
	        mqtt_conn_link(r->conn), &mid, filter, qos, err, sizeof(err))
	    != 0) {
		fail_msg("subscribe: %s", err);
	}
	assert_true(run_until(r, &r->subacks, r->subacks + 1, 3000));
}

// --- tests -----------------------------------------------------------------

static void
test_publish_subscribe_qos0_qos1(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;
	int            mid, fds;

	(void) state;
	fds = open_fds();
	assert_int_equal(tbroker_init(&b, NULL), 0);
	assert_int_equal(tbroker_start(&b), 0);
	opts_plain(&o, b.port, "lt-pubsub");
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	assert_int_equal(mqtt_conn_get_state(r.conn), MQTT_CONN_UP);
	subscribe(&r, "t/#", 1);
	publish(&r, "t/one", "hello", 1, &mid);
	assert_true(run_until(&r, &r.pubacks, 1, 3000));
	assert_int_equal(r.last_mid, mid);
	assert_true(run_until(&r, &r.msgs, 1, 3000));
	assert_string_equal(r.topic, "t/one");
	assert_string_equal(r.payload, "hello");
	assert_int_equal(r.qos, 1);
	publish(&r, "t/two", "zero", 0, &mid);
	assert_true(run_until(&r, &r.written, 1, 3000));
	assert_int_equal(r.pubacks, 1); // a QoS 0 write is no PUBACK
	assert_true(run_until(&r, &r.msgs, 2, 3000));
	assert_string_equal(r.payload, "zero");
	rec_close(&r);
	assert_int_equal(r.cause, MQTT_CAUSE_STOP);
	tbroker_fini(&b);
	assert_int_equal(open_fds(), fds);
}

static void
test_absent_broker_then_present(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;

	(void) state;
	assert_int_equal(tbroker_init(&b, NULL), 0);
	opts_plain(&o, b.port, "lt-absent");
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.downs, 2, 3000));
	assert_int_equal(r.cause, MQTT_CAUSE_CONNECT);
	assert_non_null(strstr(r.text, "refused"));
	assert_true(r.next_ms >= 0 && r.next_ms <= 200);
	assert_int_equal(r.ups, 0);
	assert_int_equal(tbroker_start(&b), 0);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	rec_close(&r);
	tbroker_fini(&b);
}

static void
test_wrong_credentials_v311_and_v5(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;

	(void) state;
	assert_int_equal(tbroker_init(&b, NULL), 0);
	b.auth = true;
	assert_int_equal(tbroker_passwd(&b, "gw", "right"), 0);
	assert_int_equal(tbroker_start(&b), 0);

	opts_plain(&o, b.port, "lt-cred");
	o.link.username = "gw";
	o.link.password = "wrong";
	o.refusals = 3;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.give_ups, 1, 5000));
	assert_int_equal(r.downs, 2); // refusals 1 and 2 backed off
	assert_int_equal(r.cause, MQTT_CAUSE_REFUSED);
	assert_int_equal(r.code, 5); // 3.1.1: not authorised
	assert_non_null(strstr(r.text, "not authorised"));
	assert_int_equal(mqtt_conn_get_state(r.conn), MQTT_CONN_GAVE_UP);
	rec_close(&r);

	o.link.protocol = 5;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.give_ups, 1, 5000));
	assert_int_equal(r.cause, MQTT_CAUSE_REFUSED);
	assert_true(r.code >= 0x80); // 0x86/0x87
	rec_close(&r);

	o.link.protocol = 4;
	o.link.password = "right";
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	rec_close(&r);
	tbroker_fini(&b);
}

static void
test_silent_broker_times_out(void **state)
{
	mqtt_conn_opts o;
	rec            r;
	int            port, fd;

	(void) state;
	fd = tsilent_open(&port);
	assert_true(fd >= 0);
	opts_plain(&o, port, "lt-silent");
	o.connect_timeout_ms = 300;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.downs, 2, 3000));
	assert_int_equal(r.cause, MQTT_CAUSE_TIMEOUT);
	assert_int_equal(r.ups, 0);
	rec_close(&r);
	close(fd);
}

static void
test_tls(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;
	char           ca[200], other[200], cert[200], key[200];
	int            mid;

	(void) state;
	assert_int_equal(tbroker_init(&b, NULL), 0);
	assert_int_equal(tbroker_make_ca(&b), 0);
	b.tls = true;
	assert_int_equal(tbroker_start(&b), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", b.dir);
	snprintf(other, sizeof(other), "%s/other-ca.pem", b.dir);
	snprintf(cert, sizeof(cert), "%s/client.pem", b.dir);
	snprintf(key, sizeof(key), "%s/client.key", b.dir);

	// The name "localhost", resolved by evdns from /etc/hosts, checked
	// against the certificate.
	opts_plain(&o, b.port, "lt-tls");
	o.host = "localhost";
	o.link.tls = true;
	o.link.tls_ca = ca;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 5000));
	subscribe(&r, "tls/x", 1);
	publish(&r, "tls/x", "secret", 1, &mid);
	assert_true(run_until(&r, &r.msgs, 1, 3000));
	assert_string_equal(r.payload, "secret");
	rec_close(&r);

	// A burst of small QoS 0 messages arrives in a few TLS records: what
	// OpenSSL decrypted ahead is read too, not stranded until the next
	// bytes arrive on the socket.
	{
		mqtt_conn_opts po = o;
		rec            p;
		int            i;
		char           txt[16];

		rec_open(&r, &o);
		mqtt_conn_start(r.conn);
		assert_true(run_until(&r, &r.ups, 1, 5000));
		subscribe(&r, "burst/#", 0);
		po.link.client_id = "lt-tls-pub";
		po.link.max_inflight = 4096;
		rec_open(&p, &po);
		mqtt_conn_start(p.conn);
		assert_true(run_until(&p, &p.ups, 1, 5000));
		for (i = 0; i < 2000; i++) {
			snprintf(txt, sizeof(txt), "%d", i);
			publish(&p, "burst/x", txt, 0, &mid);
		}
		assert_true(run_until(&p, &p.written, 2000, 5000));
		if (!run_until(&r, &r.msgs, 2000, 5000)) {
			fail_msg("burst: %d of 2000 received", r.msgs);
		}
		rec_close(&p);
		rec_close(&r);
	}

	// A name the certificate does not carry.
	o.host = "127.0.0.1";
	o.link.tls_name = "broker.example";
	o.refusals = 1;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.give_ups, 1, 5000));
	assert_int_equal(r.cause, MQTT_CAUSE_TLS);
	if (strstr(r.text, "mismatch") == NULL) {
		fail_msg("text: %s", r.text);
	}
	rec_close(&r);

	// A CA that did not sign the broker's certificate.
	o.link.tls_name = NULL;
	o.link.tls_ca = other;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.give_ups, 1, 5000));
	assert_int_equal(r.cause, MQTT_CAUSE_TLS);
	if (strstr(r.text, "certificate verify failed") == NULL) {
		fail_msg("text: %s", r.text);
	}
	rec_close(&r);
	tbroker_fini(&b);

	// A broker that requires a client certificate.
	assert_int_equal(tbroker_init(&b, NULL), 0);
	assert_int_equal(tbroker_make_ca(&b), 0);
	b.tls = true;
	b.tls_require_cert = true;
	assert_int_equal(tbroker_start(&b), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", b.dir);
	snprintf(cert, sizeof(cert), "%s/client.pem", b.dir);
	snprintf(key, sizeof(key), "%s/client.key", b.dir);
	opts_plain(&o, b.port, "lt-tls-cert");
	o.link.tls = true;
	o.link.tls_ca = ca;
	o.link.tls_name = "localhost";
	o.refusals = 1;
	rec_open(&r, &o); // without a certificate: refused
	mqtt_conn_start(r.conn);
	if (!run_until(&r, &r.give_ups, 1, 5000)
	    || r.cause != MQTT_CAUSE_TLS) {
		fail_msg("no TLS refusal: downs=%d cause=%s text=%s", r.downs,
		    mqtt_cause_name(r.cause), r.text);
	}
	// The reason is said: the broker's alert when it was read (TLS 1.3
	// sends it after the client's handshake ended), else the handshake's
	// own error.
	if (strstr(r.text, "TLS alert 116") == NULL
	    && strstr(r.text, "TLS handshake failed") == NULL
	    && strstr(r.text, "OpenSSL Error") == NULL) {
		fail_msg("text: %s", r.text);
	}
	rec_close(&r);
	o.link.tls_cert = cert;
	o.link.tls_key = key;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 5000));
	rec_close(&r);
	tbroker_fini(&b);
}

static void
test_tls_bad_files(void **state)
{
	mqtt_conn_opts     o;
	mqtt_conn         *c;
	char               err[200];
	struct event_base *base = event_base_new();

	(void) state;
	opts_plain(&o, 1883, "lt-tls-files");
	o.link.tls = true;
	o.link.tls_ca = "/nonexistent/ca.pem";
	assert_int_equal(
	    mqtt_conn_open(&c, base, &o, &rcbs, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls.ca"));
	event_base_free(base);
}

// MQTT 5 with clean_session false: the Session Expiry Interval goes out
// in CONNECT, so the broker keeps the session and queues QoS 1 messages
// published while the client is away.
static void
test_v5_persistent_session(void **state)
{
	tbroker        b;
	mqtt_conn_opts o, po;
	rec            r, p;
	int            mid;

	(void) state;
	assert_int_equal(tbroker_init(&b, NULL), 0);
	assert_int_equal(tbroker_start(&b), 0);
	opts_plain(&o, b.port, "lt-v5-session");
	o.link.protocol = 5;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	assert_false(r.session_present);
	subscribe(&r, "v5/q", 1);
	rec_close(&r);

	opts_plain(&po, b.port, "lt-v5-pub");
	rec_open(&p, &po);
	mqtt_conn_start(p.conn);
	assert_true(run_until(&p, &p.ups, 1, 3000));
	publish(&p, "v5/q", "kept", 1, &mid);
	assert_true(run_until(&p, &p.pubacks, 1, 3000));
	rec_close(&p);

	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	assert_true(r.session_present);
	assert_true(run_until(&r, &r.msgs, 1, 3000));
	assert_string_equal(r.payload, "kept");
	rec_close(&r);
	tbroker_fini(&b);
}

// A QoS 1 publish made while the broker is down is held by libmosquitto
// and sent after the reconnect; a forced drop (the stall path) backs off
// and comes back; the fds after all of it are the fds before.
static void
test_reconnect_resends_and_drop(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;
	int            mid, fds;

	(void) state;
	fds = open_fds();
	assert_int_equal(tbroker_init(&b, NULL), 0);
	b.persist = true;
	assert_int_equal(tbroker_start(&b), 0);
	opts_plain(&o, b.port, "lt-resend");
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	subscribe(&r, "rs/#", 1);
	tbroker_stop(&b);
	assert_true(run_until(&r, &r.downs, 1, 3000));
	publish(&r, "rs/while-down", "held", 1, &mid);
	assert_int_equal(tbroker_start(&b), 0);
	assert_true(run_until(&r, &r.pubacks, 1, 5000));
	assert_int_equal(r.last_mid, mid);
	assert_true(run_until(&r, &r.msgs, 1, 3000));
	assert_string_equal(r.payload, "held");
	mqtt_conn_drop(r.conn, MQTT_CAUSE_STALL);
	assert_int_equal(r.cause, MQTT_CAUSE_STALL);
	assert_true(run_until(&r, &r.ups, 3, 3000));
	rec_close(&r);
	tbroker_fini(&b);
	assert_int_equal(open_fds(), fds);
}

// broker_sock returns a descriptor of this process's TCP connection to
// port on 127.0.0.1 (libmosquitto's socket, or the link's dup of it).
static int
broker_sock(int port)
{
	DIR               *d = opendir("/proc/self/fd");
	struct dirent     *e;
	struct sockaddr_in a;
	socklen_t          alen;
	struct stat        st;
	int                fd, found = -1;

	assert_non_null(d);
	while (found < 0 && (e = readdir(d)) != NULL) {
		fd = atoi(e->d_name);
		alen = sizeof(a);
		if (e->d_name[0] != '.' && fd != dirfd(d)
		    && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)
		    && getpeername(fd, (struct sockaddr *) &a, &alen) == 0
		    && a.sin_family == AF_INET && ntohs(a.sin_port) == port) {
			found = fd;
		}
	}
	closedir(d);
	return found;
}

// A drop while reading is held (receive_window) on a plain connection:
// the PUBACK of a publish waits unread, so the drop's read takes it and
// stops there (held: one call), before the end of the stream, and the
// link reports the drop itself.  It said "dropped during the TLS
// handshake" for a connection without TLS; the reason is now the cause's,
// and says that reading was held.  (A QoS 1 message waiting instead would
// not do: libmosquitto answers it with a PUBACK, and that write on the
// shut socket closes it, the usual way.)  The time reading was held
// (mqtt_link_held_us, the mqtt actor's stall clock leaves it out) grows
// while held, keeps the hold the drop ended, and stands still after.
static void
test_drop_while_held_plain(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;
	int            mid, fds, fd, n = 0;
	int64_t        end, t0, t1, t2, h1, h2;

	(void) state;
	fds = open_fds();
	assert_int_equal(tbroker_init(&b, NULL), 0);
	assert_int_equal(tbroker_start(&b), 0);
	opts_plain(&o, b.port, "lt-held");
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.ups, 1, 3000));
	assert_int_equal(mqtt_link_held_us(mqtt_conn_link(r.conn)), 0);
	t0 = arb__now_ms();
	mqtt_link_hold(mqtt_conn_link(r.conn), true);
	publish(&r, "hd/1", "one", 1, &mid);
	// The broker's PUBACK (4 bytes) waits in the socket.
	fd = broker_sock(b.port);
	assert_true(fd >= 0);
	end = arb__now_ms() + 3000;
	while (ioctl(fd, FIONREAD, &n) == 0 && n < 4) {
		struct pollfd pf = { fd, POLLIN, 0 };
		assert_true(arb__now_ms() < end);
		poll(&pf, 1, 10);
	}
	assert_int_equal(n, 4);
	h1 = mqtt_link_held_us(mqtt_conn_link(r.conn));
	t1 = arb__now_ms();
	assert_true(h1 > 0 && h1 <= (t1 - t0 + 1) * 1000);
	mqtt_conn_drop(r.conn, MQTT_CAUSE_STALL);
	t2 = arb__now_ms();
	assert_int_equal(r.downs, 1);
	assert_int_equal(r.cause, MQTT_CAUSE_STALL);
	assert_null(strstr(r.text, "TLS"));
	assert_string_equal(r.text,
	    "a PUBACK is overdue (connected but not delivering); dropped "
	    "while reading was held (receive_window), with input unread");
	// It comes back, reading again.
	assert_true(run_until(&r, &r.ups, 2, 3000));
	assert_false(mqtt_link_held(mqtt_conn_link(r.conn)));
	h2 = mqtt_link_held_us(mqtt_conn_link(r.conn));
	assert_true(h2 >= h1 && h2 <= (t2 - t0 + 1) * 1000);
	rec_close(&r);
	tbroker_fini(&b);
	assert_int_equal(open_fds(), fds);
}

// A name that does not resolve is a failure like any other (backoff); a
// nameserver that never answers is bounded by connect_timeout and the
// loop keeps running meanwhile.
static void
test_resolve_failures(void **state)
{
	mqtt_conn_opts o;
	rec            r;
	int            port, fd;

	(void) state;
	opts_plain(&o, 1883, "lt-dns");
	o.host = "no-such-host.invalid";
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.downs, 1, 8000));
	assert_true(
	    r.cause == MQTT_CAUSE_RESOLVE || r.cause == MQTT_CAUSE_TIMEOUT);
	rec_close(&r);

	// A "nameserver" on loopback UDP that never answers.
	fd = tsilent_open(&port); // any free port number; UDP to it is lost
	close(fd);
	{
		char ns[32];

		snprintf(ns, sizeof(ns), "127.0.0.1:%d", port);
		o.nameserver = ns;
		o.host = "broker.example";
		o.connect_timeout_ms = 300;
		rec_open(&r, &o);
		mqtt_conn_start(r.conn);
		assert_true(run_until(&r, &r.downs, 2, 3000));
		assert_int_equal(r.cause, MQTT_CAUSE_TIMEOUT);
		assert_non_null(strstr(r.text, "resolving"));
		rec_close(&r);
	}
}

// The backoff starts over only after a connection stayed up `stable`:
// failed attempts raise n; a connection lost before `stable` keeps it; one
// lost after `stable` resets it (its delay is then at most min).
static void
test_backoff_resets_only_after_stable(void **state)
{
	tbroker        b;
	mqtt_conn_opts o;
	rec            r;
	unsigned       before;

	(void) state;
	assert_int_equal(tbroker_init(&b, NULL), 0);
	opts_plain(&o, b.port, "lt-stable");
	o.stable_ms = 400;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	assert_true(run_until(&r, &r.downs, 4, 5000)); // broker absent
	assert_int_equal(mqtt_conn_attempt(r.conn), 4);
	assert_int_equal(tbroker_start(&b), 0);
	assert_true(run_until(&r, &r.ups, 1, 5000));
	before = mqtt_conn_attempt(r.conn);
	tbroker_stop(&b); // lost at once: not stable
	assert_true(run_until(&r, &r.downs, r.downs + 1, 3000));
	assert_int_equal(mqtt_conn_attempt(r.conn), before + 1);
	assert_int_equal(tbroker_start(&b), 0);
	assert_true(run_until(&r, &r.ups, 2, 5000));
	{
		// Stay up past `stable` (the loop runs meanwhile).
		int never = 0;

		run_until(&r, &never, 1, 600);
	}
	tbroker_stop(&b);
	assert_true(run_until(&r, &r.downs, r.downs + 1, 3000));
	assert_int_equal(mqtt_conn_attempt(r.conn), 1); // 0 used, now 1
	assert_true(r.next_ms <= o.backoff_min_ms);
	rec_close(&r);
	tbroker_fini(&b);
}

// A stop while the name query is still with the nameserver: the query is
// cancelled, and the stop completes once evdns has let go of it; nothing
// is left on the loop (rec_close checks).
static void
test_stop_while_resolving(void **state)
{
	mqtt_conn_opts o;
	rec            r;
	int            port, fd, n;
	char           ns[32];

	(void) state;
	fd = tsilent_open(&port);
	close(fd);
	snprintf(ns, sizeof(ns), "127.0.0.1:%d", port);
	opts_plain(&o, 1883, "lt-stop-dns");
	o.nameserver = ns;
	o.host = "broker.example";
	o.connect_timeout_ms = 5000;
	rec_open(&r, &o);
	mqtt_conn_start(r.conn);
	for (n = 0;
	     n < 100 && mqtt_conn_get_state(r.conn) != MQTT_CONN_RESOLVING;
	     n++) {
		event_base_loop(r.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	assert_int_equal(mqtt_conn_get_state(r.conn), MQTT_CONN_RESOLVING);
	rec_close(&r);
	assert_int_equal(r.downs, 0); // nothing was attempted
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_subscribe_qos0_qos1),
		cmocka_unit_test(test_absent_broker_then_present),
		cmocka_unit_test(test_wrong_credentials_v311_and_v5),
		cmocka_unit_test(test_silent_broker_times_out),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_bad_files),
		cmocka_unit_test(test_v5_persistent_session),
		cmocka_unit_test(test_reconnect_resends_and_drop),
		cmocka_unit_test(test_drop_while_held_plain),
		cmocka_unit_test(test_resolve_failures),
		cmocka_unit_test(test_backoff_resets_only_after_stable),
		cmocka_unit_test(test_stop_while_resolving),
	};

	return ARB_TEST_RUN("mqtt.link", tests, argc, argv);
}
