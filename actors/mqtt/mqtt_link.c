// SPDX-License-Identifier: MIT
// mqtt_link.c -- libmosquitto on the actor's own libevent loop.  The only
// file of the mqtt actor that includes <mosquitto.h> and OpenSSL.
//
// How libmosquitto 2.0.11 is driven here (its external-loop API, never
// mosquitto_loop_forever or mosquitto_loop_start):
//  - The socket is watched through a dup(2) of mosquitto_socket(): one
//    level-triggered EV_READ event, and an EV_WRITE event armed only while
//    libmosquitto wants to write.  libmosquitto closes its socket inside
//    its own calls (read errors, keepalive, DISCONNECT written, TLS
//    failure); the dup keeps the file open, so the fd the loop watches is
//    never closed under it nor reused by another thread's socket.  After
//    every libmosquitto call link_sync compares mosquitto_socket() with
//    the socket it watches: when it changed, the events are deleted and
//    only then the dup is closed (event_del before close), and cbs.down
//    reports why.  Every connect registers the new socket afresh.
//  - EV_READ runs mosquitto_loop_read (up to 64 calls per wakeup; one
//    call reads one packet, or as many as QoS 1 publishes are in flight:
//    it ignores max_packets, and cb_message and cb_connect end it after a
//    hold),
//    EV_WRITE mosquitto_loop_write, a 1 s timer mosquitto_loop_misc
//    (keepalive PINGREQ, keepalive expiry).
//  - TLS: the SSL_CTX is ours (MOSQ_OPT_SSL_CTX without libmosquitto's
//    defaults): OpenSSL verifies the chain and the configured host name
//    (X509_VERIFY_PARAM), and an info callback sets the SNI to that name
//    when the handshake starts, because libmosquitto only knows the
//    numeric address it was given.  While the handshake runs, libmosquitto
//    drives it from mosquitto_loop_read only, and mosquitto_want_write
//    stays true after the one write it needed; so during the handshake
//    the write interest follows OpenSSL's own SSL_want_write, and a
//    writable socket runs mosquitto_loop_read.
//  - MQTT 5 sessions need a Session Expiry Interval in CONNECT, which
//    libmosquitto 2.0.11 takes only through the blocking
//    mosquitto_connect_bind_v5.  That function stores the properties
//    before it validates the port, so a call with port -1 stores them and
//    returns MOSQ_ERR_INVAL without connecting; mosquitto_connect_bind_
//    async then sends them (tests/integration/90_mqtt_test.c proves the
//    session survives).
//  - QoS 0 publishes are reported (cbs.written) once libmosquitto wrote
//    them; libmosquitto reports those writes and QoS 1 PUBACKs through the
//    same on_publish callback, told apart by the FIFO of QoS 0 message ids
//    not yet written (packets leave in order).
// Thread: loop.

#include "mqtt_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINK_READ_BURST 64 // mosquitto_loop_read calls per wakeup

struct mqtt_link {
	struct mosquitto  *mosq;
	struct event_base *base;
	struct event      *ev_read;
	struct event      *ev_write;
	struct event      *ev_misc;
	struct event      *ev_notify; // deferred cbs.written
	mqtt_link_cbs      cbs;
	void              *arg;
	int                protocol;
	int                keepalive;
	SSL_CTX           *ssl_ctx;
	char               tls_name[256];
	bool               tls_name_ip;

	int  sock;        // libmosquitto's socket while attached, else -1
	int  wfd;         // our dup of it, watched by the events
	bool attached;    // an attempt or connection is under way
	bool connected;   // CONNACK accepted
	bool write_armed; // ev_write is added
	bool held;        // reading stopped (mqtt_link_hold); until the
	                  // next socket
	int64_t held_since_us; // when the hold under way began (mono)
	int64_t held_total_us; // how long the holds that ended lasted
	bool    writes_queued; // cb_connect held reading: libmosquitto only
	                       // queues its writes until this read call ends

	// What the current attempt learnt, for cbs.down.
	mqtt_cause forced;
	bool       has_forced;
	bool       refused;
	int        refused_code;
	int        disc_rc; // rc of on_disconnect, -1 when none
	int        last_rc; // of the last libmosquitto loop call
	int        last_errno;
	char       tls_err[160];
	char       log_err[160]; // last error line libmosquitto logged

	// QoS 0 message ids handed over but not yet written (FIFO).
	int     *q0;
	size_t   q0_cap;
	size_t   q0_head;
	size_t   q0_len;
	uint64_t written;    // QoS 0 writes not yet reported
	int      pub_mid;    // the mid of the publish under way
	bool     pub_q0_now; // ...that was written inside the call
	bool     publishing_q0;
};

static pthread_once_t link_once = PTHREAD_ONCE_INIT;
static char           link_version[32];

static const char *const cause_names[MQTT_CAUSE_COUNT] = {
	[MQTT_CAUSE_CONNECT] = "connect",
	[MQTT_CAUSE_TLS] = "tls",
	[MQTT_CAUSE_REFUSED] = "refused",
	[MQTT_CAUSE_CLOSED] = "closed",
	[MQTT_CAUSE_KEEPALIVE] = "keepalive",
	[MQTT_CAUSE_PROTOCOL] = "protocol",
	[MQTT_CAUSE_TIMEOUT] = "timeout",
	[MQTT_CAUSE_STALL] = "stall",
	[MQTT_CAUSE_RESOLVE] = "resolve",
	[MQTT_CAUSE_STOP] = "stop",
};

const char *
mqtt_cause_name(mqtt_cause c)
{
	if ((unsigned) c >= MQTT_CAUSE_COUNT) {
		return "unknown";
	}
	return cause_names[c];
}

// mosquitto_lib_init keeps an unlocked refcount: several mqtt actors may
// start at once in one process, so it runs once, and is never undone.
static void
link_lib_init(void)
{
	int maj, min, rev;

	mosquitto_lib_init();
	mosquitto_lib_version(&maj, &min, &rev);
	snprintf(
	    link_version, sizeof(link_version), "%d.%d.%d", maj, min, rev);
}

const char *
mqtt_lib_version(void)
{
	pthread_once(&link_once, link_lib_init);
	return link_version;
}

bool
mqtt_filter_valid(const char *filter)
{
	return filter != NULL && *filter != '\0'
	    && mosquitto_sub_topic_check(filter) == MOSQ_ERR_SUCCESS
	    && mosquitto_validate_utf8(filter, (int) strlen(filter))
	    == MOSQ_ERR_SUCCESS;
}

bool
mqtt_topic_valid(const char *topic)
{
	return topic != NULL && *topic != '\0'
	    && mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS
	    && mosquitto_validate_utf8(topic, (int) strlen(topic))
	    == MOSQ_ERR_SUCCESS;
}

bool
mqtt_filter_match(const char *filter, const char *topic)
{
	bool match = false;

	return mosquitto_topic_matches_sub(filter, topic, &match)
	    == MOSQ_ERR_SUCCESS
	    && match;
}

static void
link_err(char *err, size_t len, const char *fmt, const char *what)
{
	if (err != NULL && len > 0) {
		snprintf(err, len, fmt, what);
	}
}

// --- TLS (OpenSSL) ---------------------------------------------------------

static mqtt_link *
tls_link_of(SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

// tls_verify_cb keeps OpenSSL's verdict and remembers why a certificate
// was rejected, for the error line.
static int
tls_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL       *ssl;
	mqtt_link *l;
	int        e;

	if (ok) {
		return ok;
	}
	ssl = X509_STORE_CTX_get_ex_data(
	    sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && (l = tls_link_of(ssl)) != NULL
	    && l->tls_err[0] == '\0') {
		e = X509_STORE_CTX_get_error(sctx);
		snprintf(l->tls_err, sizeof(l->tls_err),
		    "certificate verify failed: %s (depth %d)",
		    X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(sctx));
	}
	return ok;
}

// tls_info_cb sets the SNI to the configured host name as the handshake
// starts (libmosquitto set it to the numeric address; none for an
// address literal, RFC 6066), and keeps the first fatal alert the broker
// sent.  With TLS 1.3 a broker refuses a client certificate (or its
// absence) only after the client's handshake has ended: the alert then
// ends the first read after it, which libmosquitto may report as a lost
// connection rather than a TLS error; the alert says what it was.
static void
tls_info_cb(const SSL *cssl, int where, int ret)
{
	SSL       *ssl = (SSL *) cssl;
	mqtt_link *l;

	if ((where & (SSL_CB_HANDSHAKE_START | SSL_CB_READ_ALERT)) == 0) {
		return;
	}
	if ((l = tls_link_of(ssl)) == NULL) {
		return;
	}
	if ((where & SSL_CB_READ_ALERT) != 0) {
		// ret: the alert level in the high byte, its code in the low.
		if ((ret >> 8) == SSL3_AL_FATAL && l->tls_err[0] == '\0') {
			snprintf(l->tls_err, sizeof(l->tls_err),
			    "the broker sent TLS alert %d: %s", ret & 0xff,
			    SSL_alert_desc_string_long(ret));
		}
		return;
	}
	SSL_set_tlsext_host_name(ssl, l->tls_name_ip ? NULL : l->tls_name);
}

static int
tls_setup(mqtt_link *l, const mqtt_link_opts *o, char *err, size_t errlen)
{
	SSL_CTX           *ctx;
	X509_VERIFY_PARAM *param;
	struct in6_addr    a6;
	struct in_addr     a4;
	unsigned long      e;
	char               why[160];
	const char        *what = NULL;

	if (o->tls_name == NULL
	    || strlen(o->tls_name) >= sizeof(l->tls_name)) {
		link_err(err, errlen, "tls: %s", "no host name to verify");
		return -1;
	}
	snprintf(l->tls_name, sizeof(l->tls_name), "%s", o->tls_name);
	l->tls_name_ip = inet_pton(AF_INET, l->tls_name, &a4) == 1
	    || inet_pton(AF_INET6, l->tls_name, &a6) == 1;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		link_err(
		    err, errlen, "tls: %s", "cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (o->tls_ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
			what = "tls.ca";
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		what = "tls.ca (system default)";
	}
	if (what == NULL && o->tls_cert != NULL
	    && SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
		what = "tls.cert";
	}
	if (what == NULL && o->tls_key != NULL
	    && SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM)
	        != 1) {
		what = "tls.key";
	}
	if (what == NULL && o->tls_key != NULL
	    && SSL_CTX_check_private_key(ctx) != 1) {
		what = "tls.key (does not match tls.cert)";
	}
	if (what != NULL) {
		e = ERR_get_error();
		snprintf(why, sizeof(why), "%s: %s", what,
		    e ? ERR_reason_error_string(e) : "cannot load");
		ERR_clear_error();
		link_err(err, errlen, "%s", why);
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(
	    param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (l->tls_name_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(param, l->tls_name);
	} else {
		X509_VERIFY_PARAM_set1_host(param, l->tls_name, 0);
	}
	SSL_CTX_set_info_callback(ctx, tls_info_cb);
	SSL_CTX_set_app_data(ctx, l);
	// libmosquitto takes its own reference; ours is kept for tls_link_of
	// and dropped in mqtt_link_close.
	if (mosquitto_int_option(l->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0)
	        != MOSQ_ERR_SUCCESS
	    || mosquitto_opts_set(l->mosq, MOSQ_OPT_SSL_CTX, ctx)
	        != MOSQ_ERR_SUCCESS) {
		SSL_CTX_free(ctx);
		link_err(err, errlen, "tls: %s",
		    "libmosquitto was built without TLS");
		return -1;
	}
	l->ssl_ctx = ctx;
	return 0;
}

// tls_handshaking is true while a TLS handshake is under way.
static bool
tls_handshaking(mqtt_link *l)
{
	SSL *ssl;

	if (l->ssl_ctx == NULL) {
		return false;
	}
	ssl = mosquitto_ssl_get(l->mosq);
	return ssl != NULL && !SSL_is_init_finished(ssl);
}

static bool
link_want_write(mqtt_link *l)
{
	SSL *ssl;

	if (tls_handshaking(l)) {
		ssl = mosquitto_ssl_get(l->mosq);
		return SSL_want_write(ssl);
	}
	return mosquitto_want_write(l->mosq);
}

// --- watching the socket ---------------------------------------------------

static int64_t
link_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// link_unhold ends a hold: its time goes into held_total_us
// (mqtt_link_held_us).
static void
link_unhold(mqtt_link *l)
{
	if (l->held) {
		l->held_total_us += link_mono_us() - l->held_since_us;
		l->held = false;
	}
}

static void link_on_read(evutil_socket_t fd, short what, void *arg);
static void link_on_write(evutil_socket_t fd, short what, void *arg);

static void
link_unwatch(mqtt_link *l)
{
	// event_del before close: the dup goes only after the events.
	if (l->ev_read != NULL) {
		event_free(l->ev_read);
		l->ev_read = NULL;
	}
	if (l->ev_write != NULL) {
		event_free(l->ev_write);
		l->ev_write = NULL;
	}
	event_del(l->ev_misc);
	if (l->wfd >= 0) {
		close(l->wfd);
		l->wfd = -1;
	}
	l->write_armed = false;
	link_unhold(l);
	l->sock = -1;
}

static int
link_watch(mqtt_link *l)
{
	struct timeval one = { 1, 0 };

	l->sock = mosquitto_socket(l->mosq);
	if (l->sock < 0) {
		return -1;
	}
	if ((l->wfd = fcntl(l->sock, F_DUPFD_CLOEXEC, 3)) < 0) {
		l->sock = -1;
		return -1;
	}
	l->ev_read = event_new(
	    l->base, l->wfd, EV_READ | EV_PERSIST, link_on_read, l);
	l->ev_write = event_new(
	    l->base, l->wfd, EV_WRITE | EV_PERSIST, link_on_write, l);
	if (l->ev_read == NULL || l->ev_write == NULL
	    || event_add(l->ev_read, NULL) != 0) {
		link_unwatch(l);
		return -1;
	}
	event_add(l->ev_misc, &one);
	return 0;
}

static void
link_reset_attempt(mqtt_link *l)
{
	l->connected = false;
	l->has_forced = false;
	l->refused = false;
	l->refused_code = 0;
	l->disc_rc = -1;
	l->last_rc = 0;
	l->last_errno = 0;
	l->tls_err[0] = '\0';
	l->log_err[0] = '\0';
}

// link_tls_failed is true when an attempt ended in TLS: the handshake
// failed (MOSQ_ERR_TLS, or our verify callback objected), or a TLS alert
// (a client certificate refused, say) ended the first read or write after
// it, which libmosquitto reports as EPROTO (its log says why).
static bool
link_tls_failed(mqtt_link *l, int rc, int e)
{
	return rc == MOSQ_ERR_TLS || l->tls_err[0] != '\0'
	    || (l->ssl_ctx != NULL && rc == MOSQ_ERR_ERRNO && e == EPROTO);
}

static void
link_tls_text(mqtt_link *l, char *text, size_t len)
{
	snprintf(text, len, "%s",
	    l->tls_err[0]       ? l->tls_err
	        : l->log_err[0] ? l->log_err
	                        : "TLS handshake failed");
}

static bool
errno_is_connect(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH
	    || e == ETIMEDOUT || e == EADDRNOTAVAIL || e == EHOSTDOWN;
}

// link_verdict decides why the socket went away.
static mqtt_cause
link_verdict(mqtt_link *l, int *code, char *text, size_t len)
{
	int rc = l->last_rc;

	*code = 0;
	if (l->has_forced) {
		snprintf(text, len, "%s",
		    l->forced == MQTT_CAUSE_STOP ? "disconnected"
		        : l->forced == MQTT_CAUSE_TIMEOUT
		        ? "no CONNACK within connect_timeout"
		        : "a PUBACK is overdue (connected but not "
		          "delivering)");
		return l->forced;
	}
	if (l->refused) {
		*code = l->refused_code;
		snprintf(text, len, "%s",
		    l->protocol == 5
		        ? mosquitto_reason_string(l->refused_code)
		        : mosquitto_connack_string(l->refused_code));
		return MQTT_CAUSE_REFUSED;
	}
	if (!l->connected && link_tls_failed(l, rc, l->last_errno)) {
		link_tls_text(l, text, len);
		return MQTT_CAUSE_TLS;
	}
	if (rc == MOSQ_ERR_KEEPALIVE || l->disc_rc == MOSQ_ERR_KEEPALIVE) {
		snprintf(
		    text, len, "no answer from the broker within keepalive");
		return MQTT_CAUSE_KEEPALIVE;
	}
	if (rc == MOSQ_ERR_PROTOCOL || rc == MOSQ_ERR_MALFORMED_PACKET
	    || rc == MOSQ_ERR_MALFORMED_UTF8
	    || rc == MOSQ_ERR_DUPLICATE_PROPERTY
	    || rc == MOSQ_ERR_OVERSIZE_PACKET) {
		snprintf(text, len, "%s", mosquitto_strerror(rc));
		return MQTT_CAUSE_PROTOCOL;
	}
	if (rc == MOSQ_ERR_ERRNO && !l->connected
	    && errno_is_connect(l->last_errno)) {
		*code = l->last_errno;
		snprintf(text, len, "%s", strerror(l->last_errno));
		return MQTT_CAUSE_CONNECT;
	}
	if (rc == MOSQ_ERR_SUCCESS && l->disc_rc > 0 && l->protocol == 5) {
		*code = l->disc_rc;
		snprintf(text, len, "the broker sent DISCONNECT: %s",
		    mosquitto_reason_string(l->disc_rc));
		return MQTT_CAUSE_CLOSED;
	}
	if (rc == MOSQ_ERR_ERRNO && l->last_errno != 0) {
		*code = l->last_errno;
		snprintf(text, len, "%s", strerror(l->last_errno));
	} else if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_SUCCESS) {
		snprintf(text, len, "the broker closed the connection");
	} else {
		snprintf(text, len, "%s", mosquitto_strerror(rc));
	}
	return MQTT_CAUSE_CLOSED;
}

static void
link_flush_written(mqtt_link *l)
{
	uint64_t n = l->written;

	if (n > 0) {
		l->written = 0;
		if (l->cbs.written != NULL) {
			l->cbs.written(l->arg, n);
		}
	}
}

static void link_arm_write(mqtt_link *l);

// link_sync runs after every libmosquitto call: it notices a socket that
// libmosquitto closed (unwatch, then cbs.down) and keeps the write
// interest in step with what libmosquitto wants.
static void
link_sync(mqtt_link *l)
{
	mqtt_cause cause;
	char       text[200];
	int        code;

	if (!l->attached) {
		return;
	}
	if (mosquitto_socket(l->mosq) != l->sock) {
		cause = link_verdict(l, &code, text, sizeof(text));
		link_unwatch(l);
		l->attached = false;
		l->connected = false;
		// QoS 0 messages not written are gone with the socket.
		l->q0_len = 0;
		l->q0_head = 0;
		link_flush_written(l);
		if (l->cbs.down != NULL) {
			l->cbs.down(l->arg, cause, code, text);
		}
		return;
	}
	link_arm_write(l);
}

// link_arm_write keeps the write interest in step with libmosquitto.
static void
link_arm_write(mqtt_link *l)
{
	bool ww = link_want_write(l);

	if (ww && !l->write_armed) {
		event_add(l->ev_write, NULL);
		l->write_armed = true;
	} else if (!ww && l->write_armed) {
		event_del(l->ev_write);
		l->write_armed = false;
	}
}

// link_read_burst reads what arrived, at most LINK_READ_BURST rounds.
// Bytes left in the socket wake the level-triggered event again; TLS
// records OpenSSL already decrypted are drained by mosquitto_loop_read
// itself (it reads on while SSL_pending), so nothing is stranded there.
static void
link_read_burst(mqtt_link *l)
{
	int i, rc;

	for (i = 0; i < LINK_READ_BURST; i++) {
		errno = 0;
		rc = mosquitto_loop_read(l->mosq, 1);
		l->last_rc = rc;
		l->last_errno = errno;
		if (l->writes_queued) {
			mosquitto_threaded_set(l->mosq, false);
			l->writes_queued = false;
		}
		// loop_read returns after some packets, or when the socket had
		// no more (EAGAIN); keep reading only while it may hold more
		// and nobody said to stop (a message callback may).
		if (rc != MOSQ_ERR_SUCCESS || l->held
		    || mosquitto_socket(l->mosq) != l->sock
		    || l->last_errno == EAGAIN || l->last_errno == EWOULDBLOCK
		    || tls_handshaking(l)) {
			break;
		}
	}
}

// link_after runs after every event of the link: notice a closed socket,
// follow the write interest, report QoS 0 writes.
static void
link_after(mqtt_link *l)
{
	link_sync(l);
	link_flush_written(l);
}

static void
link_on_read(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	link_read_burst(arg);
	link_after(arg);
}

static void
link_on_write(evutil_socket_t fd, short what, void *arg)
{
	mqtt_link *l = arg;

	(void) fd;
	(void) what;
	if (tls_handshaking(l)) {
		// Only mosquitto_loop_read drives the handshake.
		link_read_burst(l);
	} else {
		errno = 0;
		l->last_rc = mosquitto_loop_write(l->mosq, 1);
		l->last_errno = errno;
	}
	link_after(l);
}

static void
link_on_misc(evutil_socket_t fd, short what, void *arg)
{
	mqtt_link *l = arg;
	int        rc;

	(void) fd;
	(void) what;
	if (!l->attached) {
		return;
	}
	errno = 0;
	if ((rc = mosquitto_loop_misc(l->mosq)) != MOSQ_ERR_SUCCESS) {
		l->last_rc = rc;
		l->last_errno = errno;
	}
	link_after(l);
}

static void
link_on_notify(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	link_flush_written(arg);
}

// --- libmosquitto callbacks ------------------------------------------------

static void
cb_connect(struct mosquitto *m, void *arg, int rc, int flags,
    const mosquitto_property *props)
{
	mqtt_link *l = arg;

	(void) m;
	(void) props;
	if (rc != 0) {
		l->refused = true;
		l->refused_code = rc;
		return;
	}
	l->connected = true;
	if (l->cbs.up != NULL) {
		l->cbs.up(l->arg, (flags & 1) != 0);
	}
	if (l->held) {
		// The callback held reading (a receive_window still full from
		// the last connection): end this mosquitto_loop_read at the
		// CONNACK, as cb_message does after a message.  After this
		// callback libmosquitto sends again the QoS 1 publishes in
		// flight, and each write sets errno to 0 first: so it only
		// queues them until the call ends (a "threaded" client leaves
		// the writing to its loop; link_read_burst clears it), and the
		// write event sends them.  Nothing else between here and the
		// check sets errno on success (mqtt_test.c
		// receive_window_full_at_reconnect).
		mosquitto_threaded_set(l->mosq, true);
		l->writes_queued = true;
		errno = EAGAIN;
	}
}

static void
cb_disconnect(
    struct mosquitto *m, void *arg, int rc, const mosquitto_property *props)
{
	mqtt_link *l = arg;

	(void) m;
	(void) props;
	l->disc_rc = rc;
}

static void
cb_publish(struct mosquitto *m, void *arg, int mid, int reason,
    const mosquitto_property *props)
{
	mqtt_link *l = arg;

	(void) m;
	(void) props;
	// QoS 0 packets leave in order: the oldest one not yet written is
	// the one libmosquitto reports.  Inside mqtt_link_publish the new
	// message itself may be written before its id is queued.
	if (l->q0_len > 0 && l->q0[l->q0_head] == mid) {
		l->q0_head = (l->q0_head + 1) % l->q0_cap;
		l->q0_len--;
		l->written++;
		event_active(l->ev_notify, EV_TIMEOUT, 1);
		return;
	}
	if (l->publishing_q0 && mid == l->pub_mid) {
		l->pub_q0_now = true;
		l->written++;
		event_active(l->ev_notify, EV_TIMEOUT, 1);
		return;
	}
	if (l->cbs.puback != NULL) {
		l->cbs.puback(l->arg, mid, reason);
	}
}

static void
cb_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg,
    const mosquitto_property *props)
{
	mqtt_link *l = arg;
	mqtt_inmsg in;

	(void) m;
	(void) props;
	if (l->cbs.message == NULL) {
		return;
	}
	in.topic = msg->topic;
	in.payload = msg->payload;
	in.len = msg->payloadlen > 0 ? (size_t) msg->payloadlen : 0;
	in.qos = msg->qos;
	in.retain = msg->retain;
	l->cbs.message(l->arg, &in);
	if (l->held) {
		// The callback held reading: end this mosquitto_loop_read
		// here.  libmosquitto 2.0 ignores its max_packets: it reads
		// as many packets as it has QoS 1 publishes in flight (up to
		// max_inflight), and acknowledges each PUBLISH as it reads it,
		// so a hold seen only after the call let it read and
		// acknowledge past the window.  It ends the call after a
		// packet that leaves errno at EAGAIN (a socket with nothing
		// more), and nothing between this callback and that check
		// sets errno on success (mqtt_test.c
		// receive_window_publishing).
		errno = EAGAIN;
	}
}

static void
cb_subscribe(struct mosquitto *m, void *arg, int mid, int n,
    const int *granted, const mosquitto_property *props)
{
	mqtt_link *l = arg;

	(void) m;
	(void) props;
	if (l->cbs.suback != NULL) {
		l->cbs.suback(l->arg, mid, n, granted);
	}
}

static void
cb_log(struct mosquitto *m, void *arg, int level, const char *text)
{
	mqtt_link *l = arg;

	(void) m;
	if (level == MOSQ_LOG_ERR && text != NULL) {
		snprintf(l->log_err, sizeof(l->log_err), "%s", text);
	}
}

// --- the API ---------------------------------------------------------------

static int
link_v5_props(mqtt_link *l, uint32_t expiry, char *err, size_t errlen)
{
	mosquitto_property *props = NULL;
	int                 rc;

	if (mosquitto_property_add_int32(
	        &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry)
	    != MOSQ_ERR_SUCCESS) {
		link_err(err, errlen, "%s", "out of memory");
		return -1;
	}
	// Stores the properties and stops at the port check (see the top of
	// this file): nothing connects.
	rc = mosquitto_connect_bind_v5(l->mosq, "", -1, 60, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_INVAL) {
		link_err(err, errlen, "mqtt 5 session properties: %s",
		    mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

int
mqtt_link_open(mqtt_link **lp, struct event_base *base,
    const mqtt_link_opts *o, const mqtt_link_cbs *cbs, void *arg, char *err,
    size_t errlen)
{
	mqtt_link *l;
	int        rc;

	pthread_once(&link_once, link_lib_init);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		link_err(err, errlen, "%s", "out of memory");
		return -1;
	}
	l->base = base;
	l->cbs = *cbs;
	l->arg = arg;
	l->protocol = o->protocol == 5 ? 5 : 4;
	l->sock = -1;
	l->wfd = -1;
	l->q0_cap = (size_t) (o->max_inflight > 0 ? o->max_inflight : 1) + 1;
	l->q0 = calloc(l->q0_cap, sizeof(*l->q0));
	l->mosq = mosquitto_new(o->client_id, o->clean_session, l);
	l->ev_misc = event_new(base, -1, EV_PERSIST, link_on_misc, l);
	l->ev_notify = event_new(base, -1, 0, link_on_notify, l);
	if (l->q0 == NULL || l->mosq == NULL || l->ev_misc == NULL
	    || l->ev_notify == NULL) {
		link_err(err, errlen, "%s",
		    errno == EINVAL ? "a persistent session needs a client_id"
		                    : "out of memory");
		mqtt_link_close(l);
		return -1;
	}
	mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	    l->protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(
	    l->mosq, (unsigned) (o->max_inflight > 0 ? o->max_inflight : 0));
	mosquitto_connect_v5_callback_set(l->mosq, cb_connect);
	mosquitto_disconnect_v5_callback_set(l->mosq, cb_disconnect);
	mosquitto_publish_v5_callback_set(l->mosq, cb_publish);
	mosquitto_message_v5_callback_set(l->mosq, cb_message);
	mosquitto_subscribe_v5_callback_set(l->mosq, cb_subscribe);
	mosquitto_log_callback_set(l->mosq, cb_log);
	if (o->username != NULL || o->password != NULL) {
		rc = mosquitto_username_pw_set(
		    l->mosq, o->username, o->password);
		if (rc != MOSQ_ERR_SUCCESS) {
			link_err(err, errlen, "username/password: %s",
			    mosquitto_strerror(rc));
			mqtt_link_close(l);
			return -1;
		}
	}
	if (o->tls && tls_setup(l, o, err, errlen) != 0) {
		mqtt_link_close(l);
		return -1;
	}
	if (l->protocol == 5 && !o->clean_session
	    && link_v5_props(l, o->session_expiry_s, err, errlen) != 0) {
		mqtt_link_close(l);
		return -1;
	}
	l->keepalive = o->keepalive_s;
	*lp = l;
	return 0;
}

void
mqtt_link_close(mqtt_link *l)
{
	if (l == NULL) {
		return;
	}
	if (l->attached) {
		link_unwatch(l); // events first, then our dup
		l->attached = false;
	}
	if (l->ev_misc != NULL) {
		event_free(l->ev_misc);
	}
	if (l->ev_notify != NULL) {
		event_free(l->ev_notify);
	}
	// mosquitto_destroy closes libmosquitto's socket; nothing watches it.
	if (l->mosq != NULL) {
		mosquitto_destroy(l->mosq);
	}
	if (l->ssl_ctx != NULL) {
		SSL_CTX_free(l->ssl_ctx);
	}
	free(l->q0);
	free(l);
}

int
mqtt_link_connect(mqtt_link *l, const char *addr, int port, mqtt_cause *cause,
    int *code, char *err, size_t errlen)
{
	int rc, e;

	*cause = MQTT_CAUSE_CONNECT;
	*code = 0;
	if (l->attached) {
		link_err(err, errlen, "%s", "already connecting");
		return -1;
	}
	link_reset_attempt(l);
	l->q0_len = 0;
	l->q0_head = 0;
	errno = 0;
	// A numeric address: getaddrinfo inside only parses it.
	rc = mosquitto_connect_bind_async(
	    l->mosq, addr, port, l->keepalive, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		e = errno;
		if (link_tls_failed(l, rc, e)) {
			// The handshake can end inside the call: a broker on
			// loopback answers at once.
			*cause = MQTT_CAUSE_TLS;
			link_tls_text(l, err, errlen);
		} else if (rc == MOSQ_ERR_ERRNO) {
			*code = e;
			link_err(err, errlen, "%s", strerror(e));
		} else {
			link_err(err, errlen, "%s", mosquitto_strerror(rc));
		}
		return -1;
	}
	if (link_watch(l) != 0) {
		*code = errno;
		link_err(
		    err, errlen, "watching the socket: %s", strerror(errno));
		// Let libmosquitto close its socket; nothing watches it.
		mosquitto_disconnect(l->mosq);
		return -1;
	}
	l->attached = true;
	link_sync(l);
	return 0;
}

void
mqtt_link_drop(mqtt_link *l, mqtt_cause cause)
{
	char text[200], why[300];
	int  code;
	bool tls, held;

	if (!l->attached) {
		return;
	}
	l->forced = cause;
	l->has_forced = true;
	// Shut the shared socket down through our dup: libmosquitto reads
	// EOF and closes it on its normal error path, which link_sync sees.
	shutdown(l->wfd, SHUT_RDWR);
	link_read_burst(l);
	link_sync(l);
	if (l->attached) {
		// Still there: libmosquitto has not read the end of the
		// stream.  During a TLS handshake it takes some errors for
		// "try again"; while reading is held (receive_window) the
		// burst stops after the first call, which reads what was
		// still unread (queued data stays readable after the
		// shutdown), not the end.  Stop watching and report the
		// cause now; the next connect (or close) lets libmosquitto
		// close the socket.
		tls = tls_handshaking(l);
		held = l->held;
		link_verdict(l, &code, text, sizeof(text));
		snprintf(why, sizeof(why), "%s; dropped %s", text,
		    tls        ? "during the TLS handshake"
		        : held ? "while reading was held (receive_window), "
		                 "with input unread"
		               : "with input unread");
		link_unwatch(l);
		l->attached = false;
		l->connected = false;
		l->q0_len = 0;
		l->q0_head = 0;
		link_flush_written(l);
		if (l->cbs.down != NULL) {
			l->cbs.down(l->arg, cause, 0, why);
		}
		return;
	}
	link_flush_written(l);
}

void
mqtt_link_disconnect(mqtt_link *l)
{
	if (!l->attached) {
		return;
	}
	l->forced = MQTT_CAUSE_STOP;
	l->has_forced = true;
	errno = 0;
	l->last_rc = mosquitto_disconnect(l->mosq);
	l->last_errno = errno;
	link_sync(l);
	link_flush_written(l);
}

int
mqtt_link_publish(mqtt_link *l, int *mid, const char *topic,
    const void *payload, size_t len, int qos, bool retain, char *err,
    size_t errlen)
{
	int rc;

	if (len > (size_t) MQTT_MAX_PAYLOAD) {
		link_err(err, errlen, "%s", "payload too large for MQTT");
		return -1;
	}
	if (qos == 0) {
		if (!l->connected) {
			link_err(err, errlen, "%s", "not connected");
			return -1;
		}
		if (l->q0_len + 1 >= l->q0_cap) {
			link_err(err, errlen, "%s",
			    "too many QoS 0 messages queued");
			return -1;
		}
	}
	l->pub_mid = -1;
	l->pub_q0_now = false;
	l->publishing_q0 = qos == 0;
	rc = mosquitto_publish(
	    l->mosq, &l->pub_mid, topic, (int) len, payload, qos, retain);
	l->publishing_q0 = false;
	// A QoS 1 message is queued before libmosquitto tries to send it:
	// no connection, or a write error (the connection just broke), still
	// leaves it queued, to be sent after the (re)connect.
	if (rc != MOSQ_ERR_SUCCESS
	    && !(qos == 1 && l->pub_mid >= 0
	        && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST
	            || rc == MOSQ_ERR_ERRNO))) {
		link_err(err, errlen, "%s",
		    rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                         : mosquitto_strerror(rc));
		return -1;
	}
	*mid = l->pub_mid;
	if (qos == 0 && !l->pub_q0_now) {
		l->q0[(l->q0_head + l->q0_len) % l->q0_cap] = l->pub_mid;
		l->q0_len++;
	}
	if (l->attached) {
		link_arm_write(l);
	}
	return 0;
}

int
mqtt_link_subscribe(mqtt_link *l, int *mid, const char *filter, int qos,
    char *err, size_t errlen)
{
	int rc;

	rc = mosquitto_subscribe(l->mosq, mid, filter, qos);
	if (rc != MOSQ_ERR_SUCCESS) {
		link_err(err, errlen, "%s", mosquitto_strerror(rc));
		return -1;
	}
	if (l->attached) {
		link_arm_write(l);
	}
	return 0;
}

void
mqtt_link_hold(mqtt_link *l, bool hold)
{
	if (hold == l->held || l->ev_read == NULL) {
		return;
	}
	if (hold) {
		l->held = true;
		l->held_since_us = link_mono_us();
		event_del(l->ev_read);
		return;
	}
	link_unhold(l);
	// What arrived meanwhile may already be in libmosquitto's (or
	// OpenSSL's) buffers, where the socket's readiness does not say so:
	// read once now.
	event_add(l->ev_read, NULL);
	event_active(l->ev_read, EV_READ, 1);
}

bool
mqtt_link_held(const mqtt_link *l)
{
	return l->held;
}

int64_t
mqtt_link_held_us(const mqtt_link *l)
{
	return l->held_total_us
	    + (l->held ? link_mono_us() - l->held_since_us : 0);
}

size_t
mqtt_link_unwritten(const mqtt_link *l)
{
	return l->q0_len;
}

bool
mqtt_link_connected(const mqtt_link *l)
{
	return l->connected;
}

bool
mqtt_link_attached(const mqtt_link *l)
{
	return l->attached;
}
