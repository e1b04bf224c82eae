// SPDX-License-Identifier: MIT
// tp_stream.c -- links over nng streams: listener, accepted connections,
// dialled links (link.h; the protocol is in docs/wire.md).
//
// The one file that includes <nng/nng.h>.  arbor uses nng's stream API
// only (nng_stream_listener / nng_stream_dialer / nng_stream_send /
// nng_stream_recv with aios): no SP socket, so none of nng 1.5.2's SP
// defects (a listener or dialer made deaf by a peer that closes during
// the SP handshake, nng#1518; a PUSH pipe freed while still queued,
// nng#1653) can reach arbor; an error reaches only its own stream.
//
// Threads: every aio callback runs on one of nng's threads.  Callbacks
// never block, never call nng_aio_stop (objects are freed with
// nng_aio_reap / nng_stream_free, which nng defers to its reaper) and hand
// frames to mailboxes through the listener's ops.  Each object counts
// its outstanding aio operations under its own mutex; the callback that
// ends the last one of a closed object frees it.

#include "link.h"

#include <event2/event.h>
#include <nng/nng.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
arb__err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return ARB_OK;
	case NNG_ENOMEM:
		return ARB_ENOMEM;
	case NNG_EAGAIN:
		return ARB_EAGAIN;
	case NNG_ETIMEDOUT:
		return ARB_ETIMEDOUT;
	case NNG_ECLOSED:
		return ARB_ECLOSED;
	case NNG_ECANCELED:
		return ARB_ECANCELED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return ARB_EINVAL;
	case NNG_EMSGSIZE:
		return ARB_EMSGSIZE;
	case NNG_ENOENT:
	case NNG_ECONNREFUSED:
		return ARB_ENOENT;
	case NNG_EPERM:
		return ARB_EPERM;
	case NNG_EADDRINUSE:
		return ARB_EEXIST;
	case NNG_ENOTSUP:
		return ARB_ENOTSUP;
	default:
		if (rv & NNG_ESYSERR) {
			return ARB_ESYSERR | (rv & ~NNG_ESYSERR);
		}
		return ARB_EINVAL;
	}
}

void
arb__stream_warm(void)
{
	nng_aio *aio;

	// nng starts its threads with its first aio.
	if (nng_aio_alloc(&aio, NULL, NULL) == 0) {
		nng_aio_free(aio);
	}
}

void
arb__link_cfg_defaults(arb__link_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->self.version = ARB__LINK_VERSION;
	cfg->self.role = ARB__ROLE_PEER;
	cfg->max_frame = ARB__FR_DATA_HDR + 2u * 1024u * 1024u;
	cfg->hello_ms = 5000;
	cfg->ack_delay_ms = 5;
	// A peer process restarts in about a millisecond: the first redial
	// comes within 2 ms, then full-jitter doubling up to 100 ms.
	cfg->backoff_min_ms = 2;
	cfg->backoff_max_ms = 100;
}

static void
stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// Waiters: events made active when a full queue may take more.
// ---------------------------------------------------------------------------
typedef struct waitset {
	struct event **ev;
	size_t         n;
	size_t         cap;
} waitset;

static void
waitset_add(waitset *w, struct event *ev)
{
	size_t i;

	if (ev == NULL) {
		return;
	}
	for (i = 0; i < w->n; i++) {
		if (w->ev[i] == ev) {
			return;
		}
	}
	if (w->n == w->cap) {
		size_t         cap = w->cap ? w->cap * 2 : 4;
		struct event **n = arb__realloc(w->ev, cap * sizeof(*n));
		if (n == NULL) {
			return; // the waiter retries on its own next flush
		}
		w->ev = n;
		w->cap = cap;
	}
	w->ev[w->n++] = ev;
}

static void
waitset_del(waitset *w, struct event *ev)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->ev[i] == ev) {
			w->ev[i] = w->ev[--w->n];
			return;
		}
	}
}

// waitset_wake activates every waiter and forgets them (under the
// owner's mutex, so a waiter cannot be freed meanwhile).
static void
waitset_wake(waitset *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		event_active(w->ev[i], 0, 0);
	}
	w->n = 0;
}

static void
waitset_fini(waitset *w)
{
	arb__free(w->ev);
	memset(w, 0, sizeof(*w));
}

// ---------------------------------------------------------------------------
// Accepted connections
// ---------------------------------------------------------------------------
#define STAGE_SIZE (64u * 1024u) // read-ahead buffer of a connection
#define BIG_FRAME  (16u * 1024u) // larger DATA frames are read in place
#define ACK_FRAMES 16            // acknowledge at once after this many
#define ACK_BYTES  (256u * 1024u)

struct arb__conn {
	arb__lsn       *lsn;
	pthread_mutex_t mtx;
	nng_stream     *s;
	nng_aio        *raio;
	nng_aio        *saio;
	arb__ttimer     timer; // delayed ACKs (ttimer.c, not an nng aio)
	int             ops;  // operations outstanding (under mtx)
	bool            closed;
	bool            hello_done;
	bool            authed; // the peer proved the cookie (or none needed)
	bool            timer_armed;
	arb__hello      peer;
	// The peer's IP address (a TCP listener's connections only): what
	// its failures back off (penalty.c).
	bool            has_src;
	uint8_t         src[ARB__PENALTY_ADDR];
	char            src_str[INET6_ADDRSTRLEN];
	uint8_t         nonce[ARB__AUTH_NONCE]; // our challenge (cookie)
	uint8_t         reply_auth[ARB__AUTH_NONCE + ARB__AUTH_MAC];
	uint16_t        reply_auth_len;
	void           *data;
	// Heartbeat channels (under lsn->mtx): a data stream's token (0
	// until its HELLO is taken; our reply tells the dialer), its
	// heartbeat channel, or the data stream a heartbeat channel
	// belongs to.
	uint64_t   token;
	arb__conn *hb;
	arb__conn *data_of;
	// Receive state: touched only by the receive callback (one
	// receive is outstanding at a time), so it needs no lock.
	uint8_t    *stage;
	size_t      stage_len; // bytes read into stage
	arb__chunk *big;       // a large DATA or CTL frame read in place
	uint8_t     big_type;
	size_t      big_have; // bytes of big->data already read
	uint64_t    expect;   // next DATA seq
	uint64_t    expect_env; // envelopes received in sequence so far
	int64_t     hello_deadline;
	// Send state (under mtx).
	uint64_t   delivered; // last DATA seq handed on
	uint64_t   acked;     // last seq acknowledged
	size_t     ack_bytes; // delivered since the last ACK
	bool       reply_due; // HELLO reply not yet sent
	uint32_t  *paused;    // mailboxes we asked the peer to pause
	size_t     npaused;
	size_t     cap_paused;
	arb__buf   ctlq; // RESUME/PAUSE/CTL frames waiting
	arb__buf   sbuf; // bytes being sent
	size_t     soff; // of sbuf, already written
	bool       sending;
	arb__conn *next;
	arb__conn *prev;
};

struct arb__lsn {
	pthread_mutex_t      mtx;
	pthread_cond_t       cv;
	nng_stream_listener *l;
	nng_aio             *aio;
	char                 url[300];
	int                  perms;
	const arb__lsn_ops  *ops;
	void                *arg;
	arb__link_cfg        cfg;
	arb__conn           *conns;
	size_t               nconns;
	bool                 closing;
	bool                 sleeping; // aio is a delay before re-accepting
	bool                 broken;   // the listener died: make it anew
	bool                 pending;  // an accept (or delay) is outstanding
	// The log of refused peers is bounded: LOG_BURST lines a second,
	// the rest counted in the next line's suppressed=.
	int64_t  log_sec;
	unsigned log_lines;
	uint64_t log_suppressed;
	// Sources backed off (TCP listeners only; pen.tab NULL otherwise),
	// and the log of connections closed for it: one line a second.
	arb__penalty pen;
	int64_t      pen_log_sec;
	uint64_t     pen_suppressed;
};

#define LOG_BURST 20

static void conn_recv_cb(void *arg);
static void conn_send_cb(void *arg);
static void conn_timer_cb(void *arg);
static void conn_kick_send(arb__conn *c);
static void conn_close_locked(arb__conn *c);

// conn_destroy frees a closed connection whose last aio operation just
// ended.  Called without c->mtx, from an aio callback of c.
static void
conn_destroy(arb__conn *c)
{
	arb__lsn *l = c->lsn;

	if (l->ops->gone != NULL && c->hello_done
	    && c->peer.role != ARB__ROLE_HB) {
		l->ops->gone(l->arg, c);
	}
	pthread_mutex_lock(&l->mtx);
	if (c->hb != NULL) {
		// A data stream's heartbeat channel closes with it: an old
		// channel never answers for a newer stream.
		pthread_mutex_lock(&c->hb->mtx);
		conn_close_locked(c->hb);
		pthread_mutex_unlock(&c->hb->mtx);
		c->hb->data_of = NULL;
	}
	if (c->data_of != NULL) {
		c->data_of->hb = NULL;
	}
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		l->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	l->nconns--;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mtx);
	nng_stream_free(c->s); // nng frees it on its reaper thread
	nng_aio_reap(c->raio);
	nng_aio_reap(c->saio);
	arb__chunk_free(c->big);
	arb__free(c->stage);
	arb__free(c->paused);
	arb__buf_fini(&c->ctlq);
	arb__buf_fini(&c->sbuf);
	pthread_mutex_destroy(&c->mtx);
	arb__free(c);
}

// conn_close_locked starts closing c: the stream's operations end with
// NNG_ECLOSED, the timer is cancelled.  Idempotent.
static void
conn_close_locked(arb__conn *c)
{
	if (!c->closed) {
		c->closed = true;
		nng_stream_close(c->s);
		if (c->timer_armed) {
			arb__ttimer_cancel(&c->timer);
		}
	}
}

// conn_op_done ends one aio operation of c; the last one of a closed
// connection frees it.  Called with c->mtx held; releases it.
static void
conn_op_done(arb__conn *c)
{
	bool last = --c->ops == 0 && c->closed;

	pthread_mutex_unlock(&c->mtx);
	if (last) {
		conn_destroy(c);
	}
}

size_t
arb__conn_backlog(arb__conn *c)
{
	size_t n;

	pthread_mutex_lock(&c->mtx);
	n = c->ctlq.len + (c->sending ? c->sbuf.len - c->soff : 0);
	pthread_mutex_unlock(&c->mtx);
	return n;
}

void
arb__conn_close(arb__conn *c)
{
	pthread_mutex_lock(&c->mtx);
	conn_close_locked(c);
	pthread_mutex_unlock(&c->mtx);
}

const arb__hello *
arb__conn_hello(arb__conn *c)
{
	return &c->peer;
}

void *
arb__conn_data(arb__conn *c)
{
	return c->data;
}

void
arb__conn_set_data(arb__conn *c, void *p)
{
	c->data = p;
}

int
arb__conn_peer_uid(arb__conn *c, uint64_t *uidp)
{
	return arb__err_from_nng(
	    nng_stream_get_uint64(c->s, NNG_OPT_IPC_PEER_UID, uidp));
}

// conn_fill_send assembles what c has to say (HELLO reply, queued
// control frames, an ACK) into sbuf.  Under c->mtx.
static void
conn_fill_send(arb__conn *c)
{
	uint8_t fr[ARB__HELLO_MAX];
	size_t  n;

	arb__buf_reset(&c->sbuf);
	c->soff = 0;
	if (c->reply_due) {
		arb__hello h = c->lsn->cfg.self;

		h.auth_len = c->reply_auth_len;
		memcpy(h.auth, c->reply_auth, c->reply_auth_len);
		h.resume = c->token;
		n = arb__hello_encode(fr, &h, true);
		if (arb__buf_append(&c->sbuf, fr, n) != 0) {
			return;
		}
		c->reply_due = false;
	}
	if (c->ctlq.len > 0
	    && arb__buf_append(&c->sbuf, c->ctlq.data, c->ctlq.len) == 0) {
		arb__buf_reset(&c->ctlq);
	}
	if (c->delivered > c->acked) {
		arb__frame_hdr(fr, ARB__FR_ACK_LEN, ARB__FR_ACK, 0);
		arb__put_be64(fr + ARB__FR_HDR, c->delivered);
		if (arb__buf_append(&c->sbuf, fr, ARB__FR_ACK_LEN) == 0) {
			c->acked = c->delivered;
			c->ack_bytes = 0;
		}
	}
}

// conn_kick_send starts a send if one is due and none is running.  Under
// c->mtx.
static void
conn_kick_send(arb__conn *c)
{
	nng_iov iov;

	if (c->sending || c->closed) {
		return;
	}
	conn_fill_send(c);
	if (c->sbuf.len == 0) {
		return;
	}
	iov.iov_buf = c->sbuf.data;
	iov.iov_len = c->sbuf.len;
	nng_aio_set_iov(c->saio, 1, &iov);
	c->sending = true;
	c->ops++;
	nng_stream_send(c->s, c->saio);
}

static void
conn_send_cb(void *arg)
{
	arb__conn *c = arg;
	int        rv = nng_aio_result(c->saio);
	nng_iov    iov;

	pthread_mutex_lock(&c->mtx);
	c->sending = false;
	if (rv != 0) {
		conn_close_locked(c);
	} else if (!c->closed) {
		c->soff += nng_aio_count(c->saio);
		if (c->soff < c->sbuf.len) {
			// A short write: send the rest.
			iov.iov_buf = c->sbuf.data + c->soff;
			iov.iov_len = c->sbuf.len - c->soff;
			nng_aio_set_iov(c->saio, 1, &iov);
			c->sending = true;
			c->ops++;
			nng_stream_send(c->s, c->saio);
		} else {
			conn_kick_send(c);
		}
	}
	conn_op_done(c);
}

// conn_queue_locked appends one frame to the control queue and sends.
static int
conn_queue_locked(arb__conn *c, const uint8_t *fr, size_t len)
{
	int rv;

	if (c->closed) {
		return ARB_ECLOSED;
	}
	if ((rv = arb__buf_append(&c->ctlq, fr, len)) != 0) {
		return rv;
	}
	conn_kick_send(c);
	return ARB_OK;
}

int
arb__conn_send_ctl(arb__conn *c, const void *p, size_t len)
{
	uint8_t hdr[ARB__FR_HDR];
	int     rv;

	if (len + ARB__FR_HDR > c->lsn->cfg.max_frame) {
		return ARB_EMSGSIZE;
	}
	arb__frame_hdr(hdr, (uint32_t) (len + ARB__FR_HDR), ARB__FR_CTL, 0);
	pthread_mutex_lock(&c->mtx);
	if (c->closed) {
		rv = ARB_ECLOSED;
	} else if ((rv = arb__buf_append(&c->ctlq, hdr, sizeof(hdr))) == 0
	    && (rv = arb__buf_append(&c->ctlq, p, len)) == 0) {
		conn_kick_send(c);
	}
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

// conn_pause_locked records that the peer is asked to pause mbid.
static void
conn_pause_locked(arb__conn *c, uint32_t mbid)
{
	uint8_t fr[ARB__FR_MBID_LEN];
	size_t  i;

	for (i = 0; i < c->npaused; i++) {
		if (c->paused[i] == mbid) {
			return;
		}
	}
	if (c->npaused == c->cap_paused) {
		size_t    cap = c->cap_paused ? c->cap_paused * 2 : 4;
		uint32_t *n = arb__realloc(c->paused, cap * sizeof(*n));
		if (n == NULL) {
			return; // not paused: the mailbox just grows
		}
		c->paused = n;
		c->cap_paused = cap;
	}
	c->paused[c->npaused++] = mbid;
	arb__frame_hdr(fr, ARB__FR_MBID_LEN, ARB__FR_PAUSE, 0);
	arb__put_be32(fr + ARB__FR_HDR, mbid);
	conn_queue_locked(c, fr, sizeof(fr));
}

// conn_resume_locked sends RESUME for mbid if c paused it.
static void
conn_resume_locked(arb__conn *c, uint32_t mbid)
{
	uint8_t fr[ARB__FR_MBID_LEN];
	size_t  i;

	for (i = 0; i < c->npaused; i++) {
		if (c->paused[i] == mbid) {
			c->paused[i] = c->paused[--c->npaused];
			arb__frame_hdr(
			    fr, ARB__FR_MBID_LEN, ARB__FR_RESUME, 0);
			arb__put_be32(fr + ARB__FR_HDR, mbid);
			conn_queue_locked(c, fr, sizeof(fr));
			return;
		}
	}
}

// conn_delivered notes a DATA frame handed on and acknowledges when
// enough is pending; otherwise a timer acknowledges within ack_delay_ms.
static void
conn_delivered(
    arb__conn *c, uint64_t seq, size_t bytes, bool pause, uint32_t dst)
{
	pthread_mutex_lock(&c->mtx);
	c->delivered = seq;
	c->ack_bytes += bytes;
	if (pause) {
		conn_pause_locked(c, dst);
	}
	if (c->delivered - c->acked >= ACK_FRAMES
	    || c->ack_bytes >= ACK_BYTES) {
		conn_kick_send(c);
	} else if (!c->timer_armed && !c->closed) {
		c->timer_armed = true;
		c->ops++;
		arb__ttimer_arm(&c->timer, c->lsn->cfg.ack_delay_ms);
	}
	pthread_mutex_unlock(&c->mtx);
	// The mailbox may have drained between the delivery and the record
	// of the pause, its RESUME then finding nothing to resume: ask again
	// now that the pause is recorded.
	if (pause && c->lsn->ops->full != NULL &&
	    !c->lsn->ops->full(c->lsn->arg, dst)) {
		pthread_mutex_lock(&c->mtx);
		conn_resume_locked(c, dst);
		pthread_mutex_unlock(&c->mtx);
	}
}

static void
conn_timer_cb(void *arg)
{
	arb__conn *c = arg;

	pthread_mutex_lock(&c->mtx);
	c->timer_armed = false;
	if (!c->closed) {
		conn_kick_send(c);
	}
	conn_op_done(c);
}

// lsn_note logs why a peer of l was refused (before or at its HELLO) or
// cut off (a bad frame after it): one line each, at most LOG_BURST a
// second per listener (a probe storm must not flood the log; the lines
// left out are counted in the next one).  Thread: any.
static void
lsn_vnote(arb__lsn *l, bool refused, const char *extra, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static void
lsn_vnote(arb__lsn *l, bool refused, const char *extra, const char *fmt,
    va_list ap)
{
	int64_t  sec = arb__now_ms() / 1000;
	uint64_t suppressed;
	char     why[160];

	pthread_mutex_lock(&l->mtx);
	if (sec != l->log_sec) {
		l->log_sec = sec;
		l->log_lines = 0;
	}
	if (l->log_lines >= LOG_BURST) {
		l->log_suppressed++;
		pthread_mutex_unlock(&l->mtx);
		return;
	}
	l->log_lines++;
	suppressed = l->log_suppressed;
	l->log_suppressed = 0;
	pthread_mutex_unlock(&l->mtx);
	vsnprintf(why, sizeof(why), fmt, ap);
	arb__log(ARB_LOG_WARN, NULL,
	    "event=%s listener=%s reason=\"%s\"%s suppressed=%llu",
	    refused ? "link_refused" : "link_bad_frame", l->url, why, extra,
	    (unsigned long long) suppressed);
}

static void
lsn_note(arb__lsn *l, bool refused, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lsn_note(arb__lsn *l, bool refused, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lsn_vnote(l, refused, "", fmt, ap);
	va_end(ap);
}

// conn_penalize backs c's source off for its failure (a TCP listener's
// connection) and says so in extra (" source=ADDR backoff_ms=N", or "").
static void
conn_penalize(arb__conn *c, char *extra, size_t len)
{
	arb__lsn *l = c->lsn;
	int64_t   ms;
	bool      evicted;

	extra[0] = '\0';
	if (!c->has_src) {
		return;
	}
	pthread_mutex_lock(&l->mtx);
	ms = arb__penalty_fail(&l->pen, c->src, arb__now_ms(), &evicted);
	pthread_mutex_unlock(&l->mtx);
	if (evicted) {
		stat_add(&l->cfg.stats->backoff_evicted, 1);
	}
	snprintf(extra, len, " source=%s backoff_ms=%lld", c->src_str,
	    (long long) ms);
}

// conn_proven clears c's source: a peer proved itself from it.
static void
conn_proven(arb__conn *c)
{
	if (c->has_src) {
		pthread_mutex_lock(&c->lsn->mtx);
		arb__penalty_clear(&c->lsn->pen, c->src);
		pthread_mutex_unlock(&c->lsn->mtx);
	}
}

// conn_note logs c's refusal (or bad frame) with its source, which it
// backs off.
static void
conn_note(arb__conn *c, bool refused, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_note(arb__conn *c, bool refused, const char *fmt, ...)
{
	char    extra[96];
	va_list ap;

	conn_penalize(c, extra, sizeof(extra));
	va_start(ap, fmt);
	lsn_vnote(c->lsn, refused, extra, fmt, ap);
	va_end(ap);
}

// conn_fail closes c for a protocol error, counted in *counter and
// logged with its reason (NULL: out of memory, neither).
static void
conn_fail(arb__conn *c, _Atomic uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_fail(arb__conn *c, _Atomic uint64_t *counter, const char *fmt, ...)
{
	char    why[128];
	va_list ap;

	if (counter != NULL) {
		stat_add(counter, 1);
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		conn_note(c, counter == &c->lsn->cfg.stats->refused, "%s",
		    why);
	}
	arb__conn_close(c);
}

// hello_refusal describes why a HELLO frame (len bytes) was refused.
static void
hello_refusal(
    const uint8_t *fr, size_t len, int rv, char *buf, size_t buflen)
{
	if (len >= ARB__FR_HDR + 4
	    && arb__get_be32(fr + ARB__FR_HDR) != ARB__LINK_MAGIC) {
		snprintf(buf, buflen, "bad magic 0x%08x in HELLO",
		    (unsigned) arb__get_be32(fr + ARB__FR_HDR));
	} else if (rv == ARB_ENOTSUP) {
		snprintf(buf, buflen,
		    "link protocol version %u not supported (this side "
		    "speaks %u)",
		    (unsigned) arb__get_be16(fr + ARB__FR_HDR + 4),
		    ARB__LINK_VERSION);
	} else {
		snprintf(buf, buflen,
		    "malformed HELLO of %zu bytes (length, name or "
		    "authentication field)",
		    len);
	}
}

// conn_auth_begin answers a dialer's HELLO h on a listener with a cookie:
// it must offer a nonce; our reply carries our nonce and our proof, and
// nothing but the dialer's AUTH frame is taken until it proved the cookie
// too.  Without a cookie the dialer must offer none.  False: refused.
static bool
conn_auth_begin(arb__conn *c, const arb__hello *h)
{
	arb__lsn      *l = c->lsn;
	arb__tp_stats *st = l->cfg.stats;

	if (l->cfg.cookie == NULL) {
		if (h->auth_len != 0) {
			stat_add(&st->auth_failed, 1);
			conn_fail(c, &st->refused,
			    "node %s offers authentication, this listener has "
			    "no cookie (insecure)",
			    h->name);
			return false;
		}
		c->authed = true;
		conn_proven(c);
		return true;
	}
	if (h->auth_len != ARB__AUTH_NONCE) {
		stat_add(&st->auth_failed, 1);
		conn_fail(c, &st->refused,
		    "node %s offers no authentication, this listener needs "
		    "the cookie",
		    h->name[0] ? h->name : "-");
		return false;
	}
	if (arb__auth_nonce(c->nonce) != ARB_OK) {
		conn_fail(c, &st->refused, "no random nonce for node %s",
		    h->name);
		return false;
	}
	memcpy(c->reply_auth, c->nonce, ARB__AUTH_NONCE);
	arb__auth_proof(l->cfg.cookie, true, c->nonce, h->auth, l->cfg.self.name,
	    h->name, c->reply_auth + ARB__AUTH_NONCE);
	c->reply_auth_len = ARB__AUTH_NONCE + ARB__AUTH_MAC;
	return true;
}

// conn_auth_end takes the frame after the HELLO of a dialer that has yet
// to prove the cookie: only its AUTH frame, with a good proof, is taken.
static bool
conn_auth_end(arb__conn *c, const uint8_t *fr, uint8_t type)
{
	arb__lsn      *l = c->lsn;
	arb__tp_stats *st = l->cfg.stats;

	if (type != ARB__FR_AUTH) {
		stat_add(&st->auth_failed, 1);
		conn_fail(c, &st->refused,
		    "frame type %u from node %s before its AUTH",
		    (unsigned) type, c->peer.name);
		return false;
	}
	if (!arb__auth_check(l->cfg.cookie, false, c->nonce, c->peer.auth,
	        l->cfg.self.name, c->peer.name, fr + ARB__FR_HDR)) {
		stat_add(&st->auth_failed, 1);
		conn_fail(c, &st->refused,
		    "node %s failed authentication (wrong cookie?)",
		    c->peer.name);
		return false;
	}
	c->authed = true;
	conn_proven(c);
	return true;
}

// conn_token makes a data stream's token: random (not guessable: a
// stranger naming another's stream would take its one heartbeat
// channel), never 0.
static uint64_t
conn_token(void)
{
	uint8_t  n[ARB__AUTH_NONCE];
	uint64_t tok = 0;

	if (arb__auth_nonce(n) == ARB_OK) {
		tok = arb__get_be64(n);
	}
	while (tok == 0) {
		tok = arb__random();
	}
	return tok;
}

// conn_hb_bind ties a heartbeat channel c (HELLO h) to the data stream
// whose token it names: one of the same node and incarnation, open, with
// no heartbeat channel yet.  A stranger cannot make a channel without a
// data stream of its own (itself held to the same authentication), nor
// more than one per stream; a channel naming a stream that closed (an
// old one) is refused.  False: refused, counted, logged, backed off.
static bool
conn_hb_bind(arb__conn *c, const arb__hello *h)
{
	arb__lsn   *l = c->lsn;
	arb__conn  *d;
	const char *why = "names no open link of that node";

	pthread_mutex_lock(&l->mtx);
	for (d = l->conns; d != NULL; d = d->next) {
		bool closed;

		if (d == c || d->token == 0 || d->token != h->resume
		    || d->peer.node_id != h->node_id
		    || d->peer.creation != h->creation
		    || strcmp(d->peer.name, h->name) != 0) {
			continue;
		}
		pthread_mutex_lock(&d->mtx);
		closed = d->closed;
		pthread_mutex_unlock(&d->mtx);
		if (closed) {
			break;
		}
		if (d->hb != NULL) {
			why = "is a second one for its link";
			break;
		}
		d->hb = c;
		c->data_of = d;
		pthread_mutex_unlock(&l->mtx);
		return true;
	}
	pthread_mutex_unlock(&l->mtx);
	conn_fail(c, &l->cfg.stats->refused,
	    "heartbeat channel of node %s (creation %u) %s",
	    h->name[0] ? h->name : "-", (unsigned) h->creation, why);
	return false;
}

// conn_hb_frame takes a frame on an authenticated heartbeat channel: a
// heartbeat is echoed at once (the channel carries nothing else, so the
// echo waits behind nothing); any other frame closes the channel.
static bool
conn_hb_frame(arb__conn *c, const uint8_t *fr, uint8_t type)
{
	uint8_t echo[ARB__FR_HB_LEN];

	if (type != ARB__FR_HB || (fr[5] & ARB__HB_F_REPLY) != 0) {
		conn_fail(c, &c->lsn->cfg.stats->bad_frames,
		    "frame type %u on the heartbeat channel of node %s (it "
		    "carries heartbeats only)",
		    (unsigned) type, c->peer.name);
		return false;
	}
	memcpy(echo, fr, ARB__FR_HB_LEN);
	echo[5] = ARB__HB_F_REPLY;
	pthread_mutex_lock(&c->mtx);
	conn_queue_locked(c, echo, sizeof(echo));
	pthread_mutex_unlock(&c->mtx);
	return true;
}

// gap_possible says whether m missing frames can have held n envelopes:
// each at least one, and at most what a frame of the largest size the
// listener takes can hold; at most ARB__LINK_GAP_MAX frames.
static bool
gap_possible(const arb__lsn *l, uint64_t m, uint64_t n)
{
	uint64_t per = (l->cfg.max_frame - ARB__FR_DATA_HDR) / ARB__ENV_MIN;

	return m <= ARB__LINK_GAP_MAX && n >= m && n <= m * (per > 0 ? per : 1);
}

// conn_hand_on checks a DATA frame's sequence number and envelope count
// and hands its chunk to the listener's owner.  A stream loses nothing
// by itself, so frames missing before this one (a gap) mean a broken or
// hostile peer: what they held is counted and this frame is delivered,
// if the claim is possible.  A claim that is not (a repeated or earlier
// number, a count that goes back or disagrees with what arrived, a gap
// too long or with too few or too many envelopes) is a protocol error:
// counted in bad_frames, logged, the connection closed; its envelopes
// are not believed, so nothing is counted dead on its word.  Returns
// false then.
static bool
conn_hand_on(arb__conn *c, arb__chunk *ch)
{
	arb__lsn *l = c->lsn;
	uint64_t  seq = ch->seq;
	uint64_t  env0 = ch->env0;
	uint32_t  dst = ch->dst;
	size_t    len = ch->len;
	bool      pause;

	if (seq < c->expect || env0 < c->expect_env
	    || (seq == c->expect && env0 != c->expect_env)
	    || (seq > c->expect
	        && !gap_possible(l, seq - c->expect, env0 - c->expect_env))) {
		conn_fail(c, &l->cfg.stats->bad_frames,
		    "DATA frame %llu after %llu envelopes where frame %llu "
		    "after %llu was due",
		    (unsigned long long) seq, (unsigned long long) env0,
		    (unsigned long long) c->expect,
		    (unsigned long long) c->expect_env);
		arb__chunk_free(ch);
		return false;
	}
	if (seq > c->expect) {
		// The envelopes the missing frames held (the sender's count
		// before this frame, less what arrived) will never be
		// delivered: dead letters of this process, where the node's
		// dead_letters and /metrics show them, and gap_envs.
		uint64_t n = env0 - c->expect_env;

		stat_add(&l->cfg.stats->gaps, seq - c->expect);
		stat_add(&l->cfg.stats->gap_envs, n);
		stat_add(&l->cfg.stats->dead, n);
	}
	c->expect = seq + 1;
	c->expect_env = env0 + ch->nenv;
	pause = l->ops->data(l->arg, c, ch);
	conn_delivered(c, seq, len, pause, dst);
	return true;
}

// conn_frame handles one whole frame (not DATA read in place).  Returns
// false when the connection must close.
static bool
conn_frame(arb__conn *c, const uint8_t *fr, uint32_t len, uint8_t type)
{
	arb__lsn      *l = c->lsn;
	arb__tp_stats *st = l->cfg.stats;
	arb__chunk    *ch;
	arb__hello     h;
	bool           reply;

	if (!c->hello_done) {
		char why[128];
		int  rv;

		if ((rv = arb__hello_decode(fr, len, &h, &reply)) != ARB_OK) {
			hello_refusal(fr, len, rv, why, sizeof(why));
			conn_fail(c, &st->refused, "%s", why);
			return false;
		}
		if (reply) {
			conn_fail(c, &st->refused,
			    "a HELLO reply where a HELLO was due");
			return false;
		}
		if (l->ops->hello(l->arg, c, &h) != ARB_OK) {
			conn_fail(c, &st->refused,
			    "HELLO not accepted here: role %u, node %s (id %u, "
			    "creation %u)",
			    (unsigned) h.role, h.name[0] ? h.name : "-",
			    (unsigned) h.node_id, (unsigned) h.creation);
			return false;
		}
		if (h.role == ARB__ROLE_HB && !conn_hb_bind(c, &h)) {
			return false;
		}
		if (!conn_auth_begin(c, &h)) {
			return false;
		}
		c->peer = h;
		c->hello_done = true;
		if (h.role != ARB__ROLE_HB) {
			// A data stream: its token names it to its heartbeat
			// channel (which is not a link: not counted).
			uint64_t tok = conn_token();

			pthread_mutex_lock(&l->mtx);
			c->token = tok;
			pthread_mutex_unlock(&l->mtx);
			stat_add(&st->conns, 1);
		}
		pthread_mutex_lock(&c->mtx);
		c->reply_due = true;
		conn_kick_send(c);
		pthread_mutex_unlock(&c->mtx);
		return true;
	}
	if (!c->authed) {
		return conn_auth_end(c, fr, type);
	}
	if (c->peer.role == ARB__ROLE_HB) {
		return conn_hb_frame(c, fr, type);
	}
	switch (type) {
	case ARB__FR_HB:
		// Heartbeats queued behind a link's DATA were what a
		// saturated slow link turned into a false DOWN.
		conn_fail(c, &st->bad_frames,
		    "heartbeat on the data stream of node %s (they go on "
		    "its heartbeat channel)",
		    c->peer.name[0] ? c->peer.name : "-");
		return false;
	case ARB__FR_DATA:
		if (c->peer.role != ARB__ROLE_PEER) {
			conn_fail(c, &st->bad_frames,
			    "DATA frame from a control client");
			return false;
		}
		if ((ch = arb__chunk_alloc(len - ARB__FR_DATA_HDR)) == NULL) {
			conn_fail(c, NULL, "-"); // out of memory: this link only
			return false;
		}
		ch->dst = arb__get_be32(fr + 8);
		ch->nenv = arb__get_be32(fr + 12);
		ch->seq = arb__get_be64(fr + 16);
		ch->env0 = arb__get_be64(fr + 24);
		ch->len = len - ARB__FR_DATA_HDR;
		memcpy(ch->data, fr + ARB__FR_DATA_HDR, ch->len);
		break;
	case ARB__FR_CTL:
		if (c->peer.role != ARB__ROLE_CONTROL || l->ops->ctl == NULL) {
			conn_fail(c, &st->bad_frames,
			    "CTL frame where control is not served");
			return false;
		}
		l->ops->ctl(l->arg, c, fr + ARB__FR_HDR, len - ARB__FR_HDR);
		return true;
	case ARB__FR_SYNC:
		// The dialer is about to go: acknowledge what arrived now.
		pthread_mutex_lock(&c->mtx);
		conn_kick_send(c);
		pthread_mutex_unlock(&c->mtx);
		return true;
	default: // HELLO again, or frames only an acceptor sends
		conn_fail(c, &st->bad_frames,
		    "frame type %u is not sent to an acceptor",
		    (unsigned) type);
		return false;
	}
	return conn_hand_on(c, ch);
}

// conn_big_done hands on a frame read in place.
static bool
conn_big_done(arb__conn *c)
{
	arb__lsn   *l = c->lsn;
	arb__chunk *ch = c->big;

	c->big = NULL;
	if (c->big_type == ARB__FR_CTL) {
		l->ops->ctl(l->arg, c, ch->data, ch->len);
		arb__chunk_free(ch);
		return true;
	}
	return conn_hand_on(c, ch);
}

// conn_max_frame is the largest frame c may send now: nothing larger than
// a HELLO before the peer is proven, nor ever on a heartbeat channel.
static size_t
conn_max_frame(const arb__conn *c)
{
	return c->hello_done && c->authed && c->peer.role != ARB__ROLE_HB
	    ? c->lsn->cfg.max_frame
	    : ARB__HELLO_MAX;
}

// conn_parse handles every whole frame in the stage buffer; a large DATA
// frame that is only partly there continues in place (c->big).  Returns
// false when the connection must close.
static bool
conn_parse(arb__conn *c)
{
	arb__tp_stats *st = c->lsn->cfg.stats;
	size_t         off = 0, max;
	uint32_t       len;
	uint8_t        type;
	int            rv;

	max = conn_max_frame(c);
	while (c->stage_len - off >= ARB__FR_HDR) {
		const uint8_t *p = c->stage + off;

		if (!c->hello_done && p[4] != ARB__FR_HELLO) {
			conn_fail(c, &st->refused,
			    "frame type %u before HELLO (not a link peer)",
			    (unsigned) p[4]);
			return false;
		}
		// The length is checked before anything is allocated.
		if ((rv = arb__frame_peek(p, max, &len, &type)) != 0) {
			_Atomic uint64_t *ctr
			    = c->hello_done ? &st->bad_frames : &st->refused;

			if (rv == ARB_EMSGSIZE) {
				conn_fail(c, ctr,
				    "frame of %u bytes over the limit of %zu",
				    (unsigned) arb__get_be32(p), max);
			} else {
				conn_fail(c, ctr,
				    "bad frame header (type %u, length %u)",
				    (unsigned) p[4],
				    (unsigned) arb__get_be32(p));
			}
			return false;
		}
		if (c->stage_len - off >= len) {
			if (!conn_frame(c, p, len, type)) {
				return false;
			}
			off += len;
			max = conn_max_frame(c);
			continue;
		}
		if (len > BIG_FRAME) {
			// Read the rest straight into its own buffer: DATA
			// frames then reach the mailbox without a copy, and
			// control replies may exceed the stage buffer.
			size_t hl = type == ARB__FR_DATA ? ARB__FR_DATA_HDR
			                                 : ARB__FR_HDR;
			arb__chunk *ch;

			if (c->stage_len - off < hl) {
				break; // the rest of the header first
			}
			if ((type != ARB__FR_DATA && type != ARB__FR_CTL)
			    || (type == ARB__FR_DATA
			        && c->peer.role != ARB__ROLE_PEER)
			    || (type == ARB__FR_CTL
			        && (c->peer.role != ARB__ROLE_CONTROL
			            || c->lsn->ops->ctl == NULL))) {
				conn_fail(c, &st->bad_frames,
				    "frame type %u not allowed from role %u",
				    (unsigned) type, (unsigned) c->peer.role);
				return false;
			}
			if ((ch = arb__chunk_alloc(len - hl)) == NULL) {
				conn_fail(c, NULL, "-");
				return false;
			}
			if (type == ARB__FR_DATA) {
				ch->dst = arb__get_be32(p + 8);
				ch->nenv = arb__get_be32(p + 12);
				ch->seq = arb__get_be64(p + 16);
				ch->env0 = arb__get_be64(p + 24);
			}
			ch->len = len - hl;
			c->big_have = c->stage_len - off - hl;
			memcpy(ch->data, p + hl, c->big_have);
			c->big = ch;
			c->big_type = type;
			off = c->stage_len;
		}
		break;
	}
	if (off > 0) {
		memmove(c->stage, c->stage + off, c->stage_len - off);
		c->stage_len -= off;
	}
	return true;
}

// conn_recv arms the next receive: into the chunk of a frame read in
// place, else into the free end of the stage buffer.  Under c->mtx.
static void
conn_recv(arb__conn *c)
{
	nng_iov iov;

	if (c->closed) {
		return;
	}
	if (c->big != NULL) {
		iov.iov_buf = c->big->data + c->big_have;
		iov.iov_len = c->big->len - c->big_have;
	} else {
		iov.iov_buf = c->stage + c->stage_len;
		iov.iov_len = STAGE_SIZE - c->stage_len;
	}
	nng_aio_set_iov(c->raio, 1, &iov);
	if (!c->hello_done || !c->authed) {
		// HELLO and, with a cookie, AUTH by the deadline: a peer
		// that never proves itself holds nothing for long.
		int64_t left = c->hello_deadline - arb__now_ms();
		nng_aio_set_timeout(
		    c->raio, left > 0 ? (nng_duration) left : 1);
	} else {
		nng_aio_set_timeout(c->raio, NNG_DURATION_INFINITE);
	}
	c->ops++;
	nng_stream_recv(c->s, c->raio);
}

// conn_closed is true once we closed c ourselves.
static bool
conn_closed(arb__conn *c)
{
	bool closed;

	pthread_mutex_lock(&c->mtx);
	closed = c->closed;
	pthread_mutex_unlock(&c->mtx);
	return closed;
}

static void
conn_recv_cb(void *arg)
{
	arb__conn *c = arg;
	int        rv = nng_aio_result(c->raio);
	size_t     n = nng_aio_count(c->raio);
	bool       ok = rv == 0;

	if (ok) {
		if (c->big != NULL) {
			c->big_have += n;
			if (c->big_have == c->big->len) {
				ok = conn_big_done(c);
			}
		} else {
			c->stage_len += n;
		}
		if (ok && c->big == NULL) {
			ok = conn_parse(c);
		}
	} else if (c->hello_done && !c->authed && !conn_closed(c)) {
		// A dialer that hangs up after our HELLO reply: it did not
		// take our proof (another cookie), or it died.
		stat_add(&c->lsn->cfg.stats->refused, 1);
		if (rv == NNG_ETIMEDOUT) {
			conn_note(c, true,
			    "node %s sent no AUTH within %d ms of connecting",
			    c->peer.name, c->lsn->cfg.hello_ms);
		} else {
			conn_note(c, true,
			    "node %s closed after our HELLO reply, before its "
			    "AUTH (does it have another cookie?)",
			    c->peer.name);
		}
	} else if (!c->hello_done && !conn_closed(c)) {
		// Closed, reset or silent before its HELLO (not closed by
		// us: the listener is closing).
		stat_add(&c->lsn->cfg.stats->refused, 1);
		if (rv == NNG_ETIMEDOUT) {
			conn_note(c, true, "no HELLO within %d ms",
			    c->lsn->cfg.hello_ms);
		} else if (rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO) {
			stat_add(&c->lsn->cfg.stats->auth_failed, 1);
			conn_note(c, true,
			    "TLS handshake failed: %s (no certificate, or one "
			    "the CA did not sign?)",
			    nng_strerror(rv));
		} else {
			conn_note(c, true,
			    "%s after %zu bytes, before a whole HELLO",
			    rv == NNG_ECONNRESET ? "reset" : "closed",
			    c->stage_len);
		}
	}
	pthread_mutex_lock(&c->mtx);
	if (!ok) {
		conn_close_locked(c);
	} else {
		conn_recv(c);
	}
	conn_op_done(c);
}

// stream_nodelay turns Nagle's algorithm off on a TCP stream (nng's
// streams leave it on; an ipc stream has no such option; a tls+tcp one
// hands it to its TCP connection: nng 1.5.2's tls_set passes options it
// does not know down).  With it on, a small frame written while an
// earlier one waits for its TCP ACK is held until that ACK, which the
// peer sends with its delayed link ACK (ack_delay_ms): every call
// between nodes took 5 ms, over tcp:// and tls+tcp:// alike.
static void
stream_nodelay(nng_stream *s)
{
	(void) nng_stream_set_bool(s, NNG_OPT_TCP_NODELAY, true);
}

// stream_source reads a TCP stream's peer address: its IP address as
// the 16 bytes penalty.c keys (IPv4 as ::ffff:a.b.c.d) and as text.
// False for other streams (ipc).
static bool
stream_source(nng_stream *s, uint8_t a[ARB__PENALTY_ADDR], char *str,
    size_t len)
{
	nng_sockaddr sa;

	if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) != 0) {
		return false;
	}
	if (sa.s_family == NNG_AF_INET) {
		memset(a, 0, ARB__PENALTY_ADDR);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &sa.s_in.sa_addr, 4);
		return inet_ntop(
		           AF_INET, &sa.s_in.sa_addr, str, (socklen_t) len)
		    != NULL;
	}
	if (sa.s_family == NNG_AF_INET6) {
		memcpy(a, sa.s_in6.sa_addr, ARB__PENALTY_ADDR);
		return inet_ntop(
		           AF_INET6, sa.s_in6.sa_addr, str, (socklen_t) len)
		    != NULL;
	}
	return false;
}

// conn_start makes a connection of an accepted stream from source src
// (NULL: not a TCP listener's).  Under l->mtx.
static void
conn_start(arb__lsn *l, nng_stream *s, const uint8_t *src, const char *str)
{
	arb__conn *c = arb__alloc(sizeof(*c));

	if (c == NULL) {
		nng_stream_free(s);
		return;
	}
	c->lsn = l;
	c->s = s;
	if (src != NULL) {
		c->has_src = true;
		memcpy(c->src, src, ARB__PENALTY_ADDR);
		snprintf(c->src_str, sizeof(c->src_str), "%s", str);
	}
	stream_nodelay(s);
	c->expect = 1;
	c->stage = arb__alloc(STAGE_SIZE);
	if (c->stage == NULL || nng_aio_alloc(&c->raio, conn_recv_cb, c) != 0
	    || nng_aio_alloc(&c->saio, conn_send_cb, c) != 0
	    || arb__ttimer_init(&c->timer, conn_timer_cb, c) != ARB_OK) {
		nng_aio_free(c->raio);
		nng_aio_free(c->saio);
		arb__free(c->stage);
		arb__free(c);
		nng_stream_free(s);
		return;
	}
	pthread_mutex_init(&c->mtx, NULL);
	c->hello_deadline = arb__now_ms() + l->cfg.hello_ms;
	c->next = l->conns;
	if (l->conns != NULL) {
		l->conns->prev = c;
	}
	l->conns = c;
	l->nconns++;
	pthread_mutex_lock(&c->mtx);
	conn_recv(c);
	pthread_mutex_unlock(&c->mtx);
}

// ---------------------------------------------------------------------------
// Listener
// ---------------------------------------------------------------------------
static int
lsn_listen(arb__lsn *l)
{
	int rv;

	if ((rv = nng_stream_listener_alloc(&l->l, l->url)) != 0) {
		l->l = NULL;
		return rv;
	}
	if (l->cfg.tls != NULL
	    && (rv = nng_stream_listener_set_ptr(
	            l->l, NNG_OPT_TLS_CONFIG, l->cfg.tls))
	        != 0) {
		goto fail;
	}
	if (l->perms != 0 && strncmp(l->url, "ipc://", 6) == 0
	    && (rv = nng_stream_listener_set_int(
	            l->l, NNG_OPT_IPC_PERMISSIONS, l->perms))
	        != 0) {
		goto fail;
	}
	if ((rv = nng_stream_listener_listen(l->l)) != 0) {
		goto fail;
	}
	return 0;
fail:
	nng_stream_listener_free(l->l);
	l->l = NULL;
	return rv;
}

// lsn_accept arms the accept (or, after an error that is not the
// stream's own, a short delay first).  Under l->mtx.
static void
lsn_accept(arb__lsn *l, int delay_ms)
{
	l->pending = true;
	l->sleeping = delay_ms > 0;
	if (l->sleeping) {
		nng_sleep_aio(delay_ms, l->aio);
	} else {
		nng_stream_listener_accept(l->l, l->aio);
	}
}

// lsn_backoff_note logs a connection closed because its source is
// backed off: at most one line a second per listener, with the number of
// such connections since the last line.
static void
lsn_backoff_note(arb__lsn *l, const char *src, int64_t left_ms)
{
	int64_t  sec = arb__now_ms() / 1000;
	uint64_t n;

	pthread_mutex_lock(&l->mtx);
	l->pen_suppressed++;
	if (sec == l->pen_log_sec) {
		pthread_mutex_unlock(&l->mtx);
		return;
	}
	l->pen_log_sec = sec;
	n = l->pen_suppressed;
	l->pen_suppressed = 0;
	pthread_mutex_unlock(&l->mtx);
	arb__log(ARB_LOG_WARN, NULL,
	    "event=link_backoff listener=%s source=%s left_ms=%lld "
	    "closed=%llu",
	    l->url, src, (long long) left_ms, (unsigned long long) n);
}

static void
lsn_accept_cb(void *arg)
{
	arb__lsn *l = arg;
	int       rv = nng_aio_result(l->aio);

	pthread_mutex_lock(&l->mtx);
	l->pending = false;
	if (l->closing) {
		if (rv == 0 && !l->sleeping) {
			nng_stream_free(nng_aio_get_output(l->aio, 0));
		}
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mtx);
		return;
	}
	if (l->sleeping) {
		if (l->broken) {
			// The listener itself failed (nng closed it): make it
			// anew on the same address, or try again later.
			nng_stream_listener_free(l->l);
			l->l = NULL;
			if (lsn_listen(l) != 0) {
				lsn_accept(l, 100);
				pthread_mutex_unlock(&l->mtx);
				return;
			}
			l->broken = false;
		}
		lsn_accept(l, 0);
	} else if (rv == 0) {
		nng_stream *s = nng_aio_get_output(l->aio, 0);
		uint8_t     a[ARB__PENALTY_ADDR];
		char        str[INET6_ADDRSTRLEN];
		bool        src = l->pen.tab != NULL
		    && stream_source(s, a, str, sizeof(str));
		int64_t     left
		    = src ? arb__penalty_left(&l->pen, a, arb__now_ms()) : 0;

		if (left > 0) {
			// Its source sent garbage or failed to prove itself:
			// closed before anything is read or sent (no TLS or
			// link handshake), until its backoff ends.
			nng_stream_free(s);
			stat_add(&l->cfg.stats->backoff_refused, 1);
			lsn_accept(l, 0);
			pthread_mutex_unlock(&l->mtx);
			lsn_backoff_note(l, str, left);
			return;
		}
		conn_start(l, s, src ? a : NULL, str);
		lsn_accept(l, 0);
	} else if (rv == NNG_ECONNABORTED || rv == NNG_ECONNRESET
	    || rv == NNG_ECONNSHUT || rv == NNG_ETIMEDOUT) {
		stat_add(&l->cfg.stats->refused, 1);
		lsn_accept(l, 0); // that peer's problem only
		pthread_mutex_unlock(&l->mtx);
		lsn_note(l, true, "accept failed: %s", nng_strerror(rv));
		return;
	} else {
		// Out of fds or memory, or the listener closed under us:
		// wait a little and accept again.
		l->broken = rv == NNG_ECLOSED;
		lsn_accept(l, 10);
	}
	pthread_mutex_unlock(&l->mtx);
}

int
arb__lsn_open(arb__lsn **lp, const char *url, int perms,
    const arb__lsn_ops *ops, void *arg, const arb__link_cfg *cfg)
{
	arb__lsn *l;
	int       rv;

	if ((l = arb__alloc(sizeof(*l))) == NULL) {
		return ARB_ENOMEM;
	}
	if (strlen(url) >= sizeof(l->url)) {
		arb__free(l);
		return ARB_EINVAL;
	}
	snprintf(l->url, sizeof(l->url), "%s", url);
	l->perms = perms;
	l->ops = ops;
	l->arg = arg;
	l->cfg = *cfg;
	if ((strncmp(url, "tcp://", 6) == 0
	        || strncmp(url, "tls+tcp://", 10) == 0)
	    && arb__penalty_init(&l->pen, ARB__PENALTY_CAP) != ARB_OK) {
		arb__free(l);
		return ARB_ENOMEM;
	}
	pthread_mutex_init(&l->mtx, NULL);
	pthread_cond_init(&l->cv, NULL);
	if ((rv = nng_aio_alloc(&l->aio, lsn_accept_cb, l)) != 0
	    || (rv = lsn_listen(l)) != 0) {
		arb__penalty_fini(&l->pen);
		nng_aio_free(l->aio);
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mtx);
		arb__free(l);
		return arb__err_from_nng(rv);
	}
	pthread_mutex_lock(&l->mtx);
	lsn_accept(l, 0);
	pthread_mutex_unlock(&l->mtx);
	*lp = l;
	return ARB_OK;
}

void
arb__lsn_resume(arb__lsn *l, uint32_t mbid)
{
	arb__conn *c;

	pthread_mutex_lock(&l->mtx);
	for (c = l->conns; c != NULL; c = c->next) {
		pthread_mutex_lock(&c->mtx);
		conn_resume_locked(c, mbid);
		pthread_mutex_unlock(&c->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
}

void
arb__lsn_ack_all(arb__lsn *l)
{
	arb__conn *c;

	pthread_mutex_lock(&l->mtx);
	for (c = l->conns; c != NULL; c = c->next) {
		pthread_mutex_lock(&c->mtx);
		conn_kick_send(c);
		pthread_mutex_unlock(&c->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
}

int
arb__lsn_port(arb__lsn *l)
{
	int port = 0;

	pthread_mutex_lock(&l->mtx);
	if (l->l == NULL
	    || nng_stream_listener_get_int(l->l, NNG_OPT_TCP_BOUND_PORT, &port)
	        != 0) {
		port = 0;
	}
	pthread_mutex_unlock(&l->mtx);
	return port;
}

size_t
arb__lsn_conns(arb__lsn *l)
{
	size_t n;

	pthread_mutex_lock(&l->mtx);
	n = l->nconns;
	pthread_mutex_unlock(&l->mtx);
	return n;
}

void
arb__lsn_close(arb__lsn *l)
{
	arb__conn *c;

	if (l == NULL) {
		return;
	}
	pthread_mutex_lock(&l->mtx);
	l->closing = true;
	if (l->l != NULL) {
		nng_stream_listener_close(l->l);
	}
	if (l->pending && l->sleeping) {
		nng_aio_cancel(l->aio);
	}
	for (c = l->conns; c != NULL; c = c->next) {
		pthread_mutex_lock(&c->mtx);
		conn_close_locked(c);
		pthread_mutex_unlock(&c->mtx);
	}
	// Closing ends every outstanding operation; their callbacks free
	// the connections.
	while (l->nconns > 0 || l->pending) {
		pthread_cond_wait(&l->cv, &l->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
	nng_aio_free(l->aio);
	if (l->l != NULL) {
		nng_stream_listener_free(l->l);
	}
	arb__penalty_fini(&l->pen);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mtx);
	arb__free(l);
}

// ---------------------------------------------------------------------------
// Dialled links
// ---------------------------------------------------------------------------
typedef enum link_state {
	L_IDLE = 0, // no stream; dials at the next put
	L_DIAL,     // a dial is outstanding
	L_UP,       // connected (HELLO sent, maybe not yet answered)
	L_DOWN,     // the stream failed; its operations are still ending
	L_WAIT,     // backoff delay before the next dial
	L_GONE,     // the destination is gone for good
	L_CLOSED,   // closed by its last user
} link_state;

typedef struct unacked {
	uint64_t     seq;
	uint32_t     nenv;
	uint32_t     bytes; // the frame's, counted in ring_bytes
	arb__origin *origin;
} unacked;

#define LINK_IOV      8
#define LINK_SEND_MAX (512u * 1024u) // bytes per send operation
#define LINK_RBUF     4096

struct arb__link {
	pthread_mutex_t    mtx;
	pthread_cond_t     cv; // close waits for the last operation
	_Atomic int        refs;
	char               url[300];
	arb__link_cfg      cfg;
	arb__link_gone_fn  gone;
	void              *gone_arg;
	nng_stream_dialer *d;
	nng_stream        *s;
	nng_aio           *daio;
	nng_aio           *saio;
	nng_aio           *raio;
	nng_aio           *taio;
	int                ops;  // outstanding operations
	int                sops; // of them, on the stream (send, recv)
	link_state         state;
	bool               greeted; // the peer's HELLO reply arrived
	unsigned           attempt;
	// Send.
	arb__chunk *q_head; // queued, not yet written
	arb__chunk *q_tail;
	size_t      q_bytes;
	arb__chunk *f_head; // in the current send operation
	nng_iov     iov[LINK_IOV];
	unsigned    niov;
	size_t      f_bytes; // left to write of the current flight
	size_t      f_done;  // written of it by earlier (short) writes
	size_t      f_pre;   // bytes of HELLO, AUTH heading the flight
	bool        sending;
	uint8_t     hello[ARB__HELLO_MAX];
	size_t      hello_len;
	bool        hello_sent;
	bool        sync_due;  // send SYNC (an ACK is wanted now)
	bool        sync_sent; // in the current send operation
	uint8_t     sync[ARB__FR_HDR];
	uint64_t    next_seq;
	uint64_t    next_env; // envelopes written on this connection
	unacked    *ring;
	size_t      ring_cap;
	size_t      ring_head;
	size_t      ring_n;
	uint64_t    ring_envs;
	size_t      ring_bytes; // DATA written, not acknowledged
	uint32_t   *paused;
	size_t      npaused;
	size_t      cap_paused;
	waitset     waiters;
	// Receive (ACK, PAUSE, RESUME, the HELLO reply).
	uint8_t    rbuf[LINK_RBUF];
	size_t     rlen;
	arb__hello peer;
	// Node links: authentication and heartbeats (cfg.cookie, hb_ms).
	uint8_t            nonce[ARB__AUTH_NONCE]; // this connection's
	bool               authed;   // DATA may go: proven, or no cookie
	bool               auth_due; // our AUTH frame waits to be written
	uint8_t            authfr[ARB__FR_AUTH_LEN];
	bool               hb_due;
	arb__ttimer        hbt;
	bool               hbt_ok;    // hbt initialised
	bool               tls_noted; // this connection's TLS failure logged
	bool               hbt_armed; // its callback is owed (one op)
	int64_t            heard_ms;  // greeting or last echo
	int64_t            hb_next_ms; // when the next heartbeat is due
	int64_t            last_hb_ms;
	int64_t            rtt_us;
	uint32_t           peer_creation;
	arb__link_watch_fn watch;
	void              *watch_arg;
	int64_t            log_sec; // refusals logged: one a second
	uint64_t           log_suppressed;
	// The heartbeat channel (hb_ms > 0): a second stream to the same URL,
	// dialled once the data stream is authenticated and closed with it
	// (hd NULL without heartbeats).  Heartbeats go only there, so they
	// never wait behind DATA; heard_ms counts its echoes only.
	nng_stream_dialer *hd;
	nng_stream        *hs;
	nng_aio           *hdaio;
	nng_aio           *hsaio;
	nng_aio           *hraio;
	int                hops;     // its operations outstanding (in ops)
	bool               hdialing; // its dial is outstanding
	bool               hgreeted; // its HELLO reply arrived, proven
	bool               hsending;
	bool               hhello_sent;
	bool               hauth_due;
	uint64_t           token; // the data stream's, from the peer's reply
	uint8_t            hnonce[ARB__AUTH_NONCE];
	uint8_t            hsbuf[ARB__HELLO_MAX + ARB__FR_AUTH_LEN
	                        + ARB__FR_HB_LEN];
	size_t             hslen; // of hsbuf, the send under way
	size_t             hsoff; // of it, written
	uint8_t            hauth[ARB__FR_AUTH_LEN];
	uint8_t            hrbuf[LINK_RBUF];
	size_t             hrlen;
	arb__hello         hpeer; // its HELLO reply
};

static void link_dial_cb(void *arg);
static void link_send_cb(void *arg);
static void link_recv_cb(void *arg);
static void link_timer_cb(void *arg);
static void link_hb_cb(void *arg);
static void hb_dial_cb(void *arg);
static void hb_send_cb(void *arg);
static void hb_recv_cb(void *arg);

static bool
link_paused(const arb__link *k, uint32_t mbid)
{
	size_t i;

	for (i = 0; i < k->npaused; i++) {
		if (k->paused[i] == mbid) {
			return true;
		}
	}
	return false;
}

// link_drop_queue counts every queued chunk as a dead letter.
static void
link_drop_queue(arb__link *k)
{
	arb__chunk *ch, *next;

	for (ch = k->q_head; ch != NULL; ch = next) {
		next = ch->next;
		arb__chunk_drop(ch, k->cfg.stats);
	}
	k->q_head = k->q_tail = NULL;
	k->q_bytes = 0;
}

// link_count_lost counts what was written on the stream that died and
// was not acknowledged: possibly lost.  The chunks of a send still in
// progress are settled when that operation ends (link_flight_settle):
// nng may still hold their iov, and until it ends nobody knows whether
// they left.
static void
link_count_lost(arb__link *k)
{
	uint64_t n = 0;

	while (k->ring_n > 0) {
		unacked *u = &k->ring[k->ring_head];
		if (u->origin != NULL) {
			stat_add(&u->origin->lost, u->nenv);
			arb__origin_settle(u->origin, u->nenv);
			arb__origin_rele(u->origin);
		}
		n += u->nenv;
		k->ring_head = (k->ring_head + 1) % k->ring_cap;
		k->ring_n--;
	}
	k->ring_envs = 0;
	k->ring_bytes = 0;
	stat_add(&k->cfg.stats->lost, n);
}

// link_flight_settle ends a send operation that failed (or completed on
// a stream already failed), `written` bytes of the flight having left:
// a frame that left in whole or in part is possibly lost; one that never
// left goes back to the head of the queue, in order, for whoever listens
// next (SPEC 19).  A failed nng stream send writes nothing (nng 1.5.2's
// ipc and tcp streams finish a send either with what one sendmsg took or
// with an error and nothing), so `written` is what earlier short writes
// of the flight took plus what this one took.  Without this a message
// sent just after the receiver's DOWN, while the link to its dead
// process was being torn down, was counted lost and never reached the
// restarted actor.  Under k->mtx.
static void
link_flight_settle(arb__link *k, size_t written)
{
	arb__chunk *ch, *next;
	arb__chunk *back = NULL, *last = NULL;
	size_t      bytes = 0;
	uint64_t    n = 0;

	written -= written < k->f_pre ? written : k->f_pre;
	for (ch = k->f_head; ch != NULL; ch = next) {
		size_t flen = ARB__FR_DATA_HDR + ch->len;

		next = ch->next;
		if (written > 0) {
			written -= written < flen ? written : flen;
			if (ch->origin != NULL) {
				stat_add(&ch->origin->lost, ch->nenv);
				arb__origin_settle(ch->origin, ch->nenv);
			}
			n += ch->nenv;
			arb__chunk_free(ch);
			continue;
		}
		ch->next = NULL;
		if (last != NULL) {
			last->next = ch;
		} else {
			back = ch;
		}
		last = ch;
		bytes += ch->len;
	}
	stat_add(&k->cfg.stats->lost, n);
	k->f_head = NULL;
	k->niov = 0;
	k->f_bytes = 0;
	k->f_done = 0;
	if (back != NULL) {
		last->next = k->q_head;
		if (k->q_head == NULL) {
			k->q_tail = last;
		}
		k->q_head = back;
		k->q_bytes += bytes;
	}
}

// link_free_flight frees the chunks of the last send operation (ended).
static void
link_free_flight(arb__link *k)
{
	arb__chunk *ch, *next;

	for (ch = k->f_head; ch != NULL; ch = next) {
		next = ch->next;
		arb__chunk_free(ch);
	}
	k->f_head = NULL;
	k->niov = 0;
	k->f_bytes = 0;
}

// link_after_down decides what follows a failed stream once its
// operations have ended: a delayed redial when something waits, idle
// otherwise, gone when the destination is.  Under k->mtx.
static void
link_after_down(arb__link *k)
{
	unsigned shift = k->attempt < 16 ? k->attempt : 16;
	uint64_t top;

	if (k->gone != NULL && k->gone(k->gone_arg)) {
		k->state = L_GONE;
		link_drop_queue(k);
		waitset_wake(&k->waiters); // they learn ENOENT
		return;
	}
	if (k->q_head == NULL && !k->cfg.keep_up) {
		k->state = L_IDLE;
		return;
	}
	// Full jitter: uniform in [0, min(cap, min << attempt)].
	top = (uint64_t) k->cfg.backoff_min_ms << shift;
	if (top > (uint64_t) k->cfg.backoff_max_ms) {
		top = (uint64_t) k->cfg.backoff_max_ms;
	}
	k->attempt++;
	k->state = L_WAIT;
	k->ops++;
	nng_sleep_aio((nng_duration) (arb__random() % (top + 1)), k->taio);
}

// link_streams_done: once a failed link's data stream and heartbeat
// channel have no operation left, both are freed and the link moves on
// (a redial makes both anew).  Under k->mtx.
static void
link_streams_done(arb__link *k)
{
	if (k->state != L_DOWN || k->sops != 0 || k->hops != 0) {
		return;
	}
	link_free_flight(k);
	nng_stream_free(k->s);
	k->s = NULL;
	nng_stream_free(k->hs);
	k->hs = NULL;
	link_after_down(k);
}

// link_down ends the stream after an error.  Under k->mtx.
static void
link_down(arb__link *k)
{
	if (k->state != L_UP) {
		return;
	}
	stat_add(&k->cfg.stats->links_lost, 1);
	if (k->greeted && k->authed && k->watch != NULL) {
		k->watch(k->watch_arg, ARB__LINK_EV_DOWN, &k->peer);
	}
	k->state     = L_DOWN;
	k->greeted   = false;
	k->authed    = false;
	k->auth_due  = false;
	k->hb_due    = false;
	k->sync_due  = false;
	k->sync_sent = false;
	k->hgreeted  = false;
	k->hauth_due = false;
	nng_stream_close(k->s);
	// Its heartbeat channel goes with it: a new stream gets its own.
	if (k->hs != NULL) {
		nng_stream_close(k->hs);
	}
	if (k->hdialing) {
		nng_aio_cancel(k->hdaio);
	}
	link_count_lost(k);
	k->npaused = 0; // a new connection starts with nothing paused
	waitset_wake(&k->waiters);
	link_streams_done(k);
}

// link_sop_done ends one stream operation; the last one after a failure
// frees the stream and moves on.  Under k->mtx.
static void
link_sop_done(arb__link *k)
{
	k->sops--;
	link_streams_done(k);
}

// link_op_done ends one operation; a closed link's last one wakes the
// closer.  Under k->mtx; releases it.
static void
link_op_done(arb__link *k)
{
	if (--k->ops == 0 && k->state == L_CLOSED) {
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mtx);
}

static void
link_dial(arb__link *k)
{
	k->state = L_DIAL;
	k->ops++;
	stat_add(&k->cfg.stats->dials, 1);
	nng_stream_dialer_dial(k->d, k->daio);
}

// link_ring_push records a written frame until it is acknowledged.
static bool
link_ring_push(arb__link *k, arb__chunk *ch)
{
	unacked *u;

	if (k->ring_n == k->ring_cap) {
		size_t   cap = k->ring_cap ? k->ring_cap * 2 : 64;
		unacked *n = arb__alloc(cap * sizeof(*n));
		size_t   i;

		if (n == NULL) {
			return false;
		}
		for (i = 0; i < k->ring_n; i++) {
			n[i] = k->ring[(k->ring_head + i) % k->ring_cap];
		}
		arb__free(k->ring);
		k->ring = n;
		k->ring_cap = cap;
		k->ring_head = 0;
	}
	u = &k->ring[(k->ring_head + k->ring_n) % k->ring_cap];
	u->seq = ch->seq;
	u->nenv = ch->nenv;
	u->bytes = (uint32_t) (ARB__FR_DATA_HDR + ch->len);
	u->origin = ch->origin; // the reference moves to the ring
	ch->origin = NULL;
	k->ring_n++;
	k->ring_envs += ch->nenv;
	k->ring_bytes += u->bytes;
	return true;
}

static void
link_ack(arb__link *k, uint64_t seq)
{
	while (k->ring_n > 0 && k->ring[k->ring_head].seq <= seq) {
		unacked *u = &k->ring[k->ring_head];
		k->ring_envs -= u->nenv;
		k->ring_bytes -= u->bytes;
		arb__origin_settle(u->origin, u->nenv);
		arb__origin_rele(u->origin);
		k->ring_head = (k->ring_head + 1) % k->ring_cap;
		k->ring_n--;
	}
}

// link_send starts writing queued chunks (after the HELLO on a new
// stream).  Under k->mtx.
static void
link_send(arb__link *k)
{
	arb__chunk **tail = &k->f_head;
	arb__chunk  *ch;

	if (k->state != L_UP || k->sending) {
		return;
	}
	k->niov = 0;
	k->f_bytes = 0;
	k->f_done = 0;
	if (!k->hello_sent) {
		k->iov[k->niov].iov_buf = k->hello;
		k->iov[k->niov++].iov_len = k->hello_len;
		k->f_bytes += k->hello_len;
	}
	if (k->auth_due) {
		k->iov[k->niov].iov_buf = k->authfr;
		k->iov[k->niov++].iov_len = ARB__FR_AUTH_LEN;
		k->f_bytes += ARB__FR_AUTH_LEN;
		k->auth_due = false;
	}
	k->f_pre = k->f_bytes;
	while (k->authed && (ch = k->q_head) != NULL && k->niov < LINK_IOV
	    && (k->f_bytes == 0 || k->f_bytes + ch->len <= LINK_SEND_MAX)) {
		size_t flen = ARB__FR_DATA_HDR + ch->len;
		size_t inflight = k->ring_bytes + (k->f_bytes - k->f_pre);

		// At most ARB__LINK_INFLIGHT_MAX unacknowledged (but always one
		// frame when nothing is: a frame may be larger); the ACK
		// that opens the window calls link_send again.
		if (inflight > 0 && inflight + flen > ARB__LINK_INFLIGHT_MAX) {
			break;
		}

		k->q_head = ch->next;
		if (k->q_head == NULL) {
			k->q_tail = NULL;
		}
		k->q_bytes -= ch->len;
		ch->next = NULL;
		ch->seq = k->next_seq++;
		arb__frame_hdr(ch->hdr, (uint32_t) flen, ARB__FR_DATA, 0);
		arb__put_be32(ch->hdr + 8, ch->dst);
		arb__put_be32(ch->hdr + 12, ch->nenv);
		arb__put_be64(ch->hdr + 16, ch->seq);
		arb__put_be64(ch->hdr + 24, k->next_env);
		k->next_env += ch->nenv;
		*tail = ch;
		tail = &ch->next;
		k->iov[k->niov].iov_buf = ch->hdr;
		k->iov[k->niov++].iov_len = flen;
		k->f_bytes += flen;
	}
	if (k->sync_due && k->authed && k->niov < LINK_IOV) {
		arb__frame_hdr(k->sync, ARB__FR_HDR, ARB__FR_SYNC, 0);
		k->iov[k->niov].iov_buf   = k->sync;
		k->iov[k->niov++].iov_len = ARB__FR_HDR;
		k->f_bytes += ARB__FR_HDR;
		k->sync_due  = false;
		k->sync_sent = true;
	}
	if (k->niov == 0) {
		return;
	}
	nng_aio_set_iov(k->saio, k->niov, k->iov);
	k->sending = true;
	k->ops++;
	k->sops++;
	nng_stream_send(k->s, k->saio);
}

static void link_tls_note(arb__link *k, int rv);

static void
link_send_cb(void *arg)
{
	arb__link  *k = arg;
	int         rv = nng_aio_result(k->saio);
	size_t      n = nng_aio_count(k->saio);
	arb__chunk *ch, *next;
	unsigned    i;

	pthread_mutex_lock(&k->mtx);
	k->sending = false;
	link_tls_note(k, rv);
	if (rv != 0 || k->state != L_UP) {
		link_flight_settle(k, k->f_done + (rv == 0 ? n : 0));
		link_down(k);
	} else if (n < k->f_bytes) {
		// A short write: send what is left of the same iov.
		k->f_bytes -= n;
		k->f_done += n;
		for (i = 0; n > 0 && i < k->niov;) {
			if (k->iov[i].iov_len <= n) {
				n -= k->iov[i].iov_len;
				i++;
			} else {
				k->iov[i].iov_buf
				    = (uint8_t *) k->iov[i].iov_buf + n;
				k->iov[i].iov_len -= n;
				n = 0;
			}
		}
		memmove(k->iov, k->iov + i, (k->niov - i) * sizeof(nng_iov));
		k->niov -= i;
		nng_aio_set_iov(k->saio, k->niov, k->iov);
		k->sending = true;
		k->ops++;
		k->sops++;
		nng_stream_send(k->s, k->saio);
	} else {
		// Written: keep only what the ACK needs.
		k->hello_sent = true;
		for (ch = k->f_head; ch != NULL; ch = next) {
			next = ch->next;
			if (!link_ring_push(k, ch)) {
				// No memory to remember it: count it as
				// possibly lost now rather than never.
				if (ch->origin != NULL) {
					stat_add(&ch->origin->lost, ch->nenv);
					arb__origin_settle(ch->origin, ch->nenv);
				}
				stat_add(&k->cfg.stats->lost, ch->nenv);
			}
			arb__chunk_free(ch);
		}
		k->f_head = NULL;
		k->niov = 0;
		if (k->q_bytes < ARB__LINK_QMAX / 2) {
			waitset_wake(&k->waiters);
		}
		link_send(k);
		pthread_cond_broadcast(&k->cv); // lingerers
	}
	link_sop_done(k);
	link_op_done(k);
}

static void
link_recv_arm(arb__link *k)
{
	nng_iov iov;

	iov.iov_buf = k->rbuf + k->rlen;
	iov.iov_len = sizeof(k->rbuf) - k->rlen;
	nng_aio_set_iov(k->raio, 1, &iov);
	k->ops++;
	k->sops++;
	nng_stream_recv(k->s, k->raio);
}

// link_note logs why a node link's peer was refused, at most once a
// second per link (the lines left out are counted in the next one).
// Under k->mtx.
static void
link_note(arb__link *k, const char *why)
{
	int64_t sec = arb__now_ms() / 1000;

	if (sec == k->log_sec) {
		k->log_suppressed++;
		return;
	}
	k->log_sec = sec;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=link_refused url=%s peer=%s reason=\"%s\" suppressed=%llu",
	    k->url, k->peer.name[0] ? k->peer.name : "-", why,
	    (unsigned long long) k->log_suppressed);
	k->log_suppressed = 0;
}

// link_tls_note: a tls+tcp:// link's handshake failed (nng reports it on
// the first send or receive): the listener's certificate is not the CA's
// or does not name the node dialled, or the listener refused ours.
// Counted and logged once per connection.  Under k->mtx.
static void
link_tls_note(arb__link *k, int rv)
{
	if ((rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO) && k->state == L_UP
	    && !k->greeted && !k->tls_noted) {
		k->tls_noted = true;
		stat_add(&k->cfg.stats->auth_failed, 1);
		link_note(k,
		    "TLS handshake failed: its certificate is not our CA's "
		    "or does not name the node dialled, or it refused ours");
	}
}

// ---------------------------------------------------------------------------
// The heartbeat channel of a dialled link (hb_ms > 0; docs/multinode.md,
// "Failure detection").  Once the data stream is authenticated, a second
// stream to the same URL says HELLO with role ARB__ROLE_HB and the token
// the acceptor's reply gave the data stream, authenticates as the data
// stream did (cookie both ways, TLS), and then carries only heartbeats
// one way and their echoes the other: what the data stream has queued or
// unacknowledged, however slow its path, is never ahead of them.  The
// channel lives and dies with its data stream: link_down closes both,
// either one failing is the peer's DOWN, and the link redials both once
// every operation of both has ended (link_streams_done), so an old
// channel never answers for a new stream.  All under k->mtx.
// ---------------------------------------------------------------------------

// hb_open dials the heartbeat channel of a data stream just proven.
static void
hb_open(arb__link *k)
{
	if (k->hd == NULL) {
		return;
	}
	k->token = k->peer.resume;
	k->hgreeted = false;
	k->hauth_due = false;
	k->hhello_sent = false;
	k->hrlen = 0;
	k->hdialing = true;
	k->hops++;
	k->ops++;
	nng_stream_dialer_dial(k->hd, k->hdaio);
}

// hb_lost: the heartbeat channel failed (why): the peer is DOWN as if
// its data stream had closed, and the link redials both.
static void
hb_lost(arb__link *k, bool bad, const char *why, int rv)
{
	char buf[160];

	if (k->state != L_UP) {
		return; // the link is already down (it closed the channel)
	}
	if (bad) {
		stat_add(&k->cfg.stats->bad_frames, 1);
	}
	snprintf(buf, sizeof(buf), "heartbeat channel: %s%s%s", why,
	    rv != 0 ? ": " : "", rv != 0 ? nng_strerror(rv) : "");
	arb__log(ARB_LOG_WARN, NULL,
	    "event=heartbeat_channel_lost url=%s peer=%s reason=\"%s\"",
	    k->url, k->peer.name[0] ? k->peer.name : "-", buf);
	link_down(k);
}

// hb_send writes what the channel has to say: its HELLO, its AUTH, a
// heartbeat that is due.  One send at a time (a heartbeat due meanwhile
// goes right after it).
static void
hb_send(arb__link *k)
{
	nng_iov iov;
	size_t  n = 0;

	if (k->hs == NULL || k->state != L_UP || k->hsending) {
		return;
	}
	if (!k->hhello_sent) {
		arb__hello h = k->cfg.self;

		h.role = ARB__ROLE_HB;
		h.resume = k->token;
		if (k->cfg.cookie != NULL) {
			if (arb__auth_nonce(k->hnonce) != ARB_OK) {
				memset(k->hnonce, 0, sizeof(k->hnonce));
			}
			h.auth_len = ARB__AUTH_NONCE;
			memcpy(h.auth, k->hnonce, ARB__AUTH_NONCE);
		}
		n = arb__hello_encode(k->hsbuf, &h, false);
		k->hhello_sent = true;
	}
	if (k->hauth_due) {
		memcpy(k->hsbuf + n, k->hauth, ARB__FR_AUTH_LEN);
		n += ARB__FR_AUTH_LEN;
		k->hauth_due = false;
	}
	if (k->hb_due && k->hgreeted) {
		arb__frame_hdr(k->hsbuf + n, ARB__FR_HB_LEN, ARB__FR_HB, 0);
		arb__put_be64(k->hsbuf + n + ARB__FR_HDR,
		    (uint64_t) arb__now_us());
		n += ARB__FR_HB_LEN;
		k->hb_due = false;
	}
	if (n == 0) {
		return;
	}
	k->hslen = n;
	k->hsoff = 0;
	iov.iov_buf = k->hsbuf;
	iov.iov_len = n;
	nng_aio_set_iov(k->hsaio, 1, &iov);
	k->hsending = true;
	k->hops++;
	k->ops++;
	nng_stream_send(k->hs, k->hsaio);
}

static void
hb_recv_arm(arb__link *k)
{
	nng_iov iov;

	iov.iov_buf = k->hrbuf + k->hrlen;
	iov.iov_len = sizeof(k->hrbuf) - k->hrlen;
	nng_aio_set_iov(k->hraio, 1, &iov);
	k->hops++;
	k->ops++;
	nng_stream_recv(k->hs, k->hraio);
}

// hb_op_done ends one operation of the heartbeat channel.  Releases
// k->mtx.
static void
hb_op_done(arb__link *k)
{
	k->hops--;
	link_streams_done(k);
	link_op_done(k);
}

static void
hb_dial_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->hdaio);

	pthread_mutex_lock(&k->mtx);
	k->hdialing = false;
	if (rv != 0) {
		hb_lost(k, false, "dial failed", rv);
	} else if (k->state != L_UP) {
		nng_stream_free(nng_aio_get_output(k->hdaio, 0));
	} else {
		k->hs = nng_aio_get_output(k->hdaio, 0);
		stream_nodelay(k->hs);
		hb_recv_arm(k);
		hb_send(k);
	}
	hb_op_done(k);
}

static void
hb_send_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->hsaio);
	nng_iov    iov;

	pthread_mutex_lock(&k->mtx);
	k->hsending = false;
	if (rv != 0) {
		hb_lost(k, false, "send failed", rv);
	} else if (k->state == L_UP) {
		k->hsoff += nng_aio_count(k->hsaio);
		if (k->hsoff < k->hslen) {
			iov.iov_buf = k->hsbuf + k->hsoff;
			iov.iov_len = k->hslen - k->hsoff;
			nng_aio_set_iov(k->hsaio, 1, &iov);
			k->hsending = true;
			k->hops++;
			k->ops++;
			nng_stream_send(k->hs, k->hsaio);
		} else {
			hb_send(k);
		}
	}
	hb_op_done(k);
}

// hb_greeted checks the heartbeat channel's HELLO reply (k->hpeer): the
// same node and incarnation as the data stream's, and with a cookie its
// proof for our challenge; our AUTH then goes before the first
// heartbeat.  False: refused.
static bool
hb_greeted(arb__link *k)
{
	const arb__cookie *ck = k->cfg.cookie;

	if (k->hpeer.node_id != k->peer.node_id
	    || k->hpeer.creation != k->peer.creation
	    || strcmp(k->hpeer.name, k->peer.name) != 0) {
		hb_lost(k, false, "answered by another node or incarnation",
		    0);
		return false;
	}
	if (ck != NULL) {
		if (k->hpeer.auth_len != ARB__AUTH_NONCE + ARB__AUTH_MAC
		    || !arb__auth_check(ck, true, k->hnonce, k->hpeer.auth,
		        k->cfg.self.name, k->hpeer.name,
		        k->hpeer.auth + ARB__AUTH_NONCE)) {
			stat_add(&k->cfg.stats->auth_failed, 1);
			hb_lost(k, false, "it failed authentication", 0);
			return false;
		}
		arb__frame_hdr(k->hauth, ARB__FR_AUTH_LEN, ARB__FR_AUTH, 0);
		arb__auth_proof(ck, false, k->hnonce, k->hpeer.auth,
		    k->cfg.self.name, k->hpeer.name, k->hauth + ARB__FR_HDR);
		k->hauth_due = true;
	}
	k->hgreeted = true;
	k->hb_due = true; // the first round trip at once
	hb_send(k);
	return true;
}

// hb_parse takes the heartbeat channel's frames: its HELLO reply, then
// echoes only.  False: the channel failed (and the link is down).
static bool
hb_parse(arb__link *k)
{
	size_t   off = 0;
	uint32_t len;
	uint8_t  type;
	bool     reply;

	while (k->hrlen - off >= ARB__FR_HDR) {
		const uint8_t *p = k->hrbuf + off;

		if (arb__frame_peek(p, ARB__HELLO_MAX, &len, &type) != 0) {
			hb_lost(k, true, "bad frame header", 0);
			return false;
		}
		if (k->hrlen - off < len) {
			break;
		}
		if (!k->hgreeted) {
			if (type != ARB__FR_HELLO
			    || arb__hello_decode(p, len, &k->hpeer, &reply)
			        != 0
			    || !reply) {
				hb_lost(k, true, "no HELLO reply", 0);
				return false;
			}
			if (!hb_greeted(k)) {
				return false;
			}
		} else if (type == ARB__FR_HB
		    && (p[5] & ARB__HB_F_REPLY) != 0) {
			int64_t now = arb__now_us();
			int64_t then
			    = (int64_t) arb__get_be64(p + ARB__FR_HDR);

			k->rtt_us = then <= now ? now - then : 0;
			k->heard_ms = k->last_hb_ms = arb__now_ms();
		} else {
			hb_lost(k, true, "a frame that is not an echo", 0);
			return false;
		}
		off += len;
	}
	memmove(k->hrbuf, k->hrbuf + off, k->hrlen - off);
	k->hrlen -= off;
	return true;
}

static void
hb_recv_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->hraio);

	pthread_mutex_lock(&k->mtx);
	if (rv != 0) {
		hb_lost(k, false,
		    k->hgreeted ? "closed" : "closed before its HELLO reply",
		    rv);
	} else if (k->state == L_UP) {
		k->hrlen += nng_aio_count(k->hraio);
		if (hb_parse(k)) {
			hb_recv_arm(k);
		}
	}
	hb_op_done(k);
}

// link_greeted takes the acceptor's HELLO reply (in k->peer): with a
// cookie, its proof must be good, and ours (the AUTH frame) goes before
// anything else; then the watcher may still refuse the peer.  False
// closes the stream.  Under k->mtx.
static bool
link_greeted(arb__link *k)
{
	const arb__cookie *ck = k->cfg.cookie;

	if (ck != NULL) {
		if (k->peer.auth_len != ARB__AUTH_NONCE + ARB__AUTH_MAC
		    || !arb__auth_check(ck, true, k->nonce, k->peer.auth,
		        k->cfg.self.name, k->peer.name,
		        k->peer.auth + ARB__AUTH_NONCE)) {
			stat_add(&k->cfg.stats->auth_failed, 1);
			link_note(k,
			    k->peer.auth_len == 0
			        ? "it offers no authentication (insecure)"
			        : "it failed authentication (wrong cookie?)");
			return false;
		}
		arb__frame_hdr(k->authfr, ARB__FR_AUTH_LEN, ARB__FR_AUTH, 0);
		arb__auth_proof(ck, false, k->nonce, k->peer.auth,
		    k->cfg.self.name, k->peer.name, k->authfr + ARB__FR_HDR);
		k->auth_due = true;
	}
	if (k->watch != NULL
	    && !k->watch(k->watch_arg, ARB__LINK_EV_UP, &k->peer)) {
		link_note(k, "not the node this link is for");
		return false;
	}
	k->greeted = true;
	k->authed = true;
	k->attempt = 0; // a good connection resets the backoff
	k->heard_ms = arb__now_ms();
	k->peer_creation = k->peer.creation;
	link_send(k); // AUTH, then whatever waited for it
	hb_open(k);
	return true;
}

// link_parse handles the acceptor's frames.  Returns false on a
// protocol error.
static bool
link_parse(arb__link *k)
{
	size_t   off = 0;
	uint32_t len;
	uint8_t  type;
	bool     reply;
	size_t   i;

	while (k->rlen - off >= ARB__FR_HDR) {
		const uint8_t *p = k->rbuf + off;

		if (arb__frame_peek(p, ARB__HELLO_MAX, &len, &type) != 0) {
			return false;
		}
		if (k->rlen - off < len) {
			break;
		}
		if (!k->greeted) {
			if (type != ARB__FR_HELLO
			    || arb__hello_decode(p, len, &k->peer, &reply) != 0
			    || !reply) {
				return false;
			}
			if (!link_greeted(k)) {
				return false;
			}
		} else if (type == ARB__FR_ACK) {
			link_ack(k, arb__get_be64(p + ARB__FR_HDR));
			k->sync_sent = false;
			pthread_cond_broadcast(&k->cv);
			if (k->q_head != NULL) {
				link_send(k); // the window may have opened
			}
		} else if (type == ARB__FR_PAUSE) {
			uint32_t mbid = arb__get_be32(p + ARB__FR_HDR);
			if (!link_paused(k, mbid)) {
				if (k->npaused == k->cap_paused) {
					size_t    cap = k->cap_paused
					       ? k->cap_paused * 2
					       : 4;
					uint32_t *n
					    = arb__realloc(k->paused, cap * 4);
					if (n == NULL) {
						return false;
					}
					k->paused = n;
					k->cap_paused = cap;
				}
				k->paused[k->npaused++] = mbid;
			}
		} else if (type == ARB__FR_RESUME) {
			uint32_t mbid = arb__get_be32(p + ARB__FR_HDR);
			for (i = 0; i < k->npaused; i++) {
				if (k->paused[i] == mbid) {
					k->paused[i] = k->paused[--k->npaused];
					break;
				}
			}
			waitset_wake(&k->waiters);
		} else {
			return false;
		}
		off += len;
	}
	memmove(k->rbuf, k->rbuf + off, k->rlen - off);
	k->rlen -= off;
	return true;
}

static void
link_recv_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->raio);

	pthread_mutex_lock(&k->mtx);
	link_tls_note(k, rv);
	if (rv == 0 && k->state == L_UP) {
		k->rlen += nng_aio_count(k->raio);
		if (link_parse(k)) {
			link_recv_arm(k);
		} else {
			stat_add(&k->cfg.stats->bad_frames, 1);
			link_down(k);
		}
	} else {
		link_down(k);
	}
	link_sop_done(k);
	link_op_done(k);
}

static void
link_dial_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->daio);

	pthread_mutex_lock(&k->mtx);
	if (k->state == L_CLOSED) {
		if (rv == 0) {
			nng_stream_free(nng_aio_get_output(k->daio, 0));
		}
	} else if (rv != 0) {
		k->state = L_DOWN;
		link_after_down(k);
	} else {
		k->s = nng_aio_get_output(k->daio, 0);
		stream_nodelay(k->s);
		k->state = L_UP;
		k->greeted = false;
		k->tls_noted = false;
		k->authed = k->cfg.cookie == NULL;
		k->hello_sent = false;
		if (k->cfg.cookie != NULL) {
			// A fresh challenge for each connection.
			arb__hello h = k->cfg.self;

			if (arb__auth_nonce(k->nonce) != ARB_OK) {
				memset(k->nonce, 0, sizeof(k->nonce));
			}
			h.auth_len = ARB__AUTH_NONCE;
			memcpy(h.auth, k->nonce, ARB__AUTH_NONCE);
			k->hello_len = arb__hello_encode(k->hello, &h, false);
		}
		k->next_seq = 1;
		k->next_env = 0;
		k->rlen = 0;
		link_recv_arm(k);
		link_send(k);
	}
	link_op_done(k);
}

// link_hb_arm owes the heartbeat timer's callback (one operation) in
// ms.  Under k->mtx.
static void
link_hb_arm(arb__link *k, int64_t ms)
{
	if (k->hbt_ok && !k->hbt_armed && k->state != L_CLOSED) {
		k->hbt_armed = true;
		k->ops++;
		arb__ttimer_arm(&k->hbt, (int) (ms > 1 ? ms : 1));
	}
}

// link_hb_cb runs on the timer thread when a heartbeat is due or when
// the peer's silence reaches hb_ms * hb_miss, whichever comes first: a
// link whose peer answered nothing (no echo, no greeting) for that long
// is closed (DOWN for its watcher, then redialled); otherwise a
// heartbeat goes out on the heartbeat channel when due.  (Checked only
// every hb_ms, the silence was seen up to hb_ms late: a stopped peer was
// DOWN 2.5 s after its last echo instead of 2.0 s with the defaults.)
static void
link_hb_cb(void *arg)
{
	arb__link *k = arg;
	int64_t    budget = (int64_t) k->cfg.hb_ms * k->cfg.hb_miss;
	int64_t    now = arb__now_ms();
	int64_t    next = now + k->cfg.hb_ms;

	pthread_mutex_lock(&k->mtx);
	k->hbt_armed = false;
	if (k->state == L_UP && k->greeted) {
		int64_t silent = now - k->heard_ms;

		if (silent > budget) {
			stat_add(&k->cfg.stats->hb_timeouts, 1);
			arb__log(ARB_LOG_WARN, NULL,
			    "event=heartbeat_timeout url=%s peer=%s "
			    "silent_ms=%lld",
			    k->url, k->peer.name, (long long) silent);
			link_down(k);
		} else {
			if (now >= k->hb_next_ms) {
				k->hb_due = true;
				k->hb_next_ms = now + k->cfg.hb_ms;
				hb_send(k);
			}
			next = k->hb_next_ms;
			if (k->heard_ms + budget + 1 < next) {
				next = k->heard_ms + budget + 1;
			}
		}
	}
	link_hb_arm(k, next - now);
	link_op_done(k);
}

void
arb__link_watch(arb__link *k, arb__link_watch_fn fn, void *arg)
{
	pthread_mutex_lock(&k->mtx);
	k->watch = fn;
	k->watch_arg = arg;
	pthread_mutex_unlock(&k->mtx);
}

void
arb__link_start(arb__link *k)
{
	pthread_mutex_lock(&k->mtx);
	if (k->state == L_IDLE) {
		link_dial(k);
	}
	link_hb_arm(k, k->cfg.hb_ms);
	pthread_mutex_unlock(&k->mtx);
}

void
arb__link_get_info(arb__link *k, arb__link_info *info)
{
	pthread_mutex_lock(&k->mtx);
	info->up = k->state == L_UP && k->greeted;
	info->connecting = k->state == L_DIAL
	    || (k->state == L_UP && !k->greeted);
	info->creation = k->peer_creation;
	info->rtt_us = k->rtt_us;
	info->last_hb_ms = k->last_hb_ms;
	pthread_mutex_unlock(&k->mtx);
}

static void
link_timer_cb(void *arg)
{
	arb__link *k = arg;

	pthread_mutex_lock(&k->mtx);
	if (k->state == L_WAIT) {
		if (k->gone != NULL && k->gone(k->gone_arg)) {
			k->state = L_DOWN;
			link_after_down(k);
		} else {
			link_dial(k);
		}
	}
	link_op_done(k);
}

int
arb__link_open(arb__link **kp, const char *url, const arb__link_cfg *cfg,
    arb__link_gone_fn gone, void *gone_arg)
{
	arb__link *k;
	int        rv;

	if ((k = arb__alloc(sizeof(*k))) == NULL) {
		return ARB_ENOMEM;
	}
	if (strlen(url) >= sizeof(k->url)) {
		arb__free(k);
		return ARB_EINVAL;
	}
	snprintf(k->url, sizeof(k->url), "%s", url);
	k->cfg = *cfg;
	k->gone = gone;
	k->gone_arg = gone_arg;
	k->hello_len = arb__hello_encode(k->hello, &cfg->self, false);
	k->rtt_us = -1;
	atomic_init(&k->refs, 1);
	if (cfg->hb_ms > 0) {
		if (arb__ttimer_init(&k->hbt, link_hb_cb, k) != ARB_OK) {
			arb__free(k);
			return ARB_ENOMEM;
		}
		k->hbt_ok = true;
	}
	if ((rv = nng_stream_dialer_alloc(&k->d, url)) != 0) {
		arb__free(k);
		return arb__err_from_nng(rv);
	}
	if (cfg->tls != NULL
	    && (rv = nng_stream_dialer_set_ptr(k->d, NNG_OPT_TLS_CONFIG,
	            cfg->tls))
	        != 0) {
		nng_stream_dialer_free(k->d);
		arb__free(k);
		return arb__err_from_nng(rv);
	}
	// The heartbeat channel's own dialer (the same URL and TLS
	// configuration).
	if (cfg->hb_ms > 0
	    && ((rv = nng_stream_dialer_alloc(&k->hd, url)) != 0
	        || (cfg->tls != NULL
	            && (rv = nng_stream_dialer_set_ptr(
	                    k->hd, NNG_OPT_TLS_CONFIG, cfg->tls))
	                != 0))) {
		nng_stream_dialer_free(k->hd);
		nng_stream_dialer_free(k->d);
		arb__free(k);
		return arb__err_from_nng(rv);
	}
	k->cfg.tls = NULL; // the dialers hold it now; not ours to keep
	if ((rv = nng_aio_alloc(&k->daio, link_dial_cb, k)) != 0
	    || (rv = nng_aio_alloc(&k->saio, link_send_cb, k)) != 0
	    || (rv = nng_aio_alloc(&k->raio, link_recv_cb, k)) != 0
	    || (rv = nng_aio_alloc(&k->taio, link_timer_cb, k)) != 0
	    || (k->hd != NULL
	        && ((rv = nng_aio_alloc(&k->hdaio, hb_dial_cb, k)) != 0
	            || (rv = nng_aio_alloc(&k->hsaio, hb_send_cb, k)) != 0
	            || (rv = nng_aio_alloc(&k->hraio, hb_recv_cb, k))
	                != 0))) {
		nng_aio_free(k->daio);
		nng_aio_free(k->saio);
		nng_aio_free(k->raio);
		nng_aio_free(k->taio);
		nng_aio_free(k->hdaio);
		nng_aio_free(k->hsaio);
		nng_stream_dialer_free(k->hd);
		nng_stream_dialer_free(k->d);
		arb__free(k);
		return arb__err_from_nng(rv);
	}
	pthread_mutex_init(&k->mtx, NULL);
	pthread_cond_init(&k->cv, NULL);
	*kp = k;
	return ARB_OK;
}

int
arb__link_put(arb__link *k, arb__chunk *ch, struct event *waiter)
{
	int rv = ARB_OK;

	pthread_mutex_lock(&k->mtx);
	switch (k->state) {
	case L_GONE:
	case L_CLOSED:
		rv = ARB_ENOENT;
		break;
	default:
		if (k->q_bytes >= ARB__LINK_QMAX
		    || (k->greeted && link_paused(k, ch->dst))) {
			waitset_add(&k->waiters, waiter);
			rv = ARB_EAGAIN;
			break;
		}
		ch->next = NULL;
		if (k->q_tail != NULL) {
			k->q_tail->next = ch;
		} else {
			k->q_head = ch;
		}
		k->q_tail = ch;
		k->q_bytes += ch->len;
		if (k->state == L_IDLE) {
			link_dial(k);
		} else if (k->state == L_UP) {
			link_send(k);
		}
	}
	pthread_mutex_unlock(&k->mtx);
	return rv;
}

void
arb__link_unwait(arb__link *k, struct event *waiter)
{
	pthread_mutex_lock(&k->mtx);
	waitset_del(&k->waiters, waiter);
	pthread_mutex_unlock(&k->mtx);
}

bool
arb__link_idle(arb__link *k)
{
	bool idle;

	pthread_mutex_lock(&k->mtx);
	idle = k->q_head == NULL && k->f_head == NULL && !k->sending
	    && (k->state != L_UP || k->hello_sent);
	pthread_mutex_unlock(&k->mtx);
	return idle;
}

bool
arb__link_wait_idle(arb__link *k, int64_t deadline_ms, bool acked)
{
	struct timespec ts;
	int64_t         left;
	bool            idle;

	pthread_mutex_lock(&k->mtx);
	if (acked && k->state == L_UP && k->ring_n > 0) {
		k->sync_due = true; // ask the peer to acknowledge at once
		link_send(k);
	}
	for (;;) {
		idle = k->q_head == NULL && k->f_head == NULL && !k->sending &&
		    (k->state != L_UP || k->hello_sent) &&
		    (!acked || k->ring_n == 0 || k->state != L_UP);
		if (idle || (left = deadline_ms - arb__now_ms()) <= 0) {
			break;
		}
		if (acked && k->state == L_UP && k->ring_n > 0 &&
		    !k->sending && !k->sync_due && !k->sync_sent) {
			k->sync_due = true; // frames written since the last SYNC
			link_send(k);
		}
		// Every completed write and ACK broadcasts cv; wake at least
		// every 10 ms anyway (a state change that empties nothing).
		clock_gettime(CLOCK_REALTIME, &ts);
		left = left > 10 ? 10 : left;
		ts.tv_nsec += (long) left * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&k->cv, &k->mtx, &ts);
	}
	pthread_mutex_unlock(&k->mtx);
	return idle;
}

bool
arb__link_up(arb__link *k)
{
	bool up;

	pthread_mutex_lock(&k->mtx);
	up = k->state == L_UP && k->greeted;
	pthread_mutex_unlock(&k->mtx);
	return up;
}

uint64_t
arb__link_unacked(arb__link *k)
{
	uint64_t n;

	pthread_mutex_lock(&k->mtx);
	n = k->ring_envs;
	pthread_mutex_unlock(&k->mtx);
	return n;
}

void
arb__link_kick(arb__link *k)
{
	pthread_mutex_lock(&k->mtx);
	if (k->state == L_WAIT) {
		nng_aio_cancel(k->taio); // the timer callback dials
	}
	pthread_mutex_unlock(&k->mtx);
}

void
arb__link_ref(arb__link *k)
{
	atomic_fetch_add(&k->refs, 1);
}

static void
link_close(arb__link *k)
{
	pthread_mutex_lock(&k->mtx);
	if (k->s != NULL) {
		nng_stream_close(k->s);
	}
	if (k->hs != NULL) {
		nng_stream_close(k->hs);
	}
	k->state = L_CLOSED;
	nng_stream_dialer_close(k->d);
	if (k->hd != NULL) {
		nng_stream_dialer_close(k->hd);
		nng_aio_cancel(k->hdaio);
	}
	nng_aio_cancel(k->taio);
	if (k->hbt_armed) {
		arb__ttimer_cancel(&k->hbt); // its callback ends at once
	}
	while (k->ops > 0) {
		pthread_cond_wait(&k->cv, &k->mtx);
	}
	// What never left is a dead letter; what left and was never
	// acknowledged is possibly lost.
	link_drop_queue(k);
	link_count_lost(k);
	link_free_flight(k);
	pthread_mutex_unlock(&k->mtx);
	nng_aio_free(k->daio);
	nng_aio_free(k->saio);
	nng_aio_free(k->raio);
	nng_aio_free(k->taio);
	nng_aio_free(k->hdaio);
	nng_aio_free(k->hsaio);
	nng_aio_free(k->hraio);
	nng_stream_free(k->s);
	nng_stream_free(k->hs);
	nng_stream_dialer_free(k->d);
	nng_stream_dialer_free(k->hd);
	waitset_fini(&k->waiters);
	arb__free(k->ring);
	arb__free(k->paused);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mtx);
	arb__free(k);
}

void
arb__link_rele(arb__link *k)
{
	if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
		link_close(k);
	}
}
