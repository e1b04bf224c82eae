// SPDX-License-Identifier: MIT
// tp_conn.c -- accepted connections (arb__conn, link.h): the acceptor's
// side of links (docs/wire.md): HELLO and its reply, authentication,
// DATA handed to mailboxes, ACK / PAUSE / RESUME back, and the binding
// of a heartbeat channel to its data stream (conn_hb_bind,
// conn_hb_frame; docs/multinode.md, "Failure detection"), and, on a
// node's listener, the timing of a data stream's silence by its channel's
// heartbeats (conn_hbw_*).  The listener that accepts them is tp_lsn.c.
// On a duplex node stream (docs/multinode.md, "One stream per pair") a
// connection is the stream's one reader and a link (tp_link.c) its one
// writer: the connection hands the link the ACK / PAUSE / RESUME it reads
// and queues its own for the link to write (arb__conn_out, poked through
// its timer); it is the reader of a stream the node dialled too
// (arb__lsn_attach).
//
// Threads: the aio callbacks run on nng's threads and the delayed-ACK
// timer on the timer thread (ttimer.c); arb__conn_* run on the caller's
// (an actor loop).  All under the connection's mutex (and the
// listener's, where they say so); tp_int.h has the rules.

#include "tp_int.h"

#include <stdarg.h>
#include <stdio.h>

#define STAGE_SIZE (64u * 1024u) // read-ahead buffer of a connection
// ... and of one that has not proven itself yet: nothing larger than a
// HELLO is read before (docs/wire.md), so a stranger that connects and
// holds costs 1 KiB of buffer, not 64 (conn_stage_grow).
#define STAGE_SMALL ARB__HELLO_MAX
#define BIG_FRAME  (16u * 1024u) // larger DATA frames are read in place
#define ACK_FRAMES 16            // acknowledge at once after this many
#define ACK_BYTES  (256u * 1024u)

#define LOG_BURST 20
// How often a listener with no heartbeats (a process's ipc listener)
// judges a connection's HELLO deadline, and the grace after a stall
// (conn_hlt_grace): the default heartbeat interval's.
#define HELLO_GRACE_MS 500

static void conn_recv_cb(void *arg);
static void conn_send_cb(void *arg);
static void conn_timer_cb(void *arg);
static void conn_hbw_cb(void *arg);
static void conn_hlt_cb(void *arg);

// conn_destroy frees a closed connection whose last aio operation just
// ended.  Called without c->mtx, from an aio callback of c.
static void
conn_destroy(arb__conn *c)
{
	arb__lsn *l = c->lsn;

	if (c->lk != NULL) {
		// Before the listener can see this connection gone: its
		// owner closes the listener before it lets go of the link
		// (peer.c), so this is never the link's last reference --
		// which, dropped here (an nng or timer thread: the timer
		// thread's own callbacks would wait for it), would hang in
		// the link's close.
		c->lops->rele(c->lk);
	}
	if (l->ops->gone != NULL && c->hello_done
	    && c->peer.role != ARB__ROLE_HB) {
		l->ops->gone(l->arg, c);
	}
	pthread_mutex_lock(&l->mtx);
	arb__conn_unp_release(l, c); // its unproven slot, if it still held one
	if (c->hb != NULL) {
		// A data stream's heartbeat channel closes with it: an old
		// channel never answers for a newer stream.
		pthread_mutex_lock(&c->hb->mtx);
		arb__conn_close_locked(c->hb);
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
	// Before the listener can see no connection left: arb__lsn_close
	// frees l once nconns is 0.
	atomic_fetch_sub(&l->stage_bytes, c->stage_cap);
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

// arb__conn_close_locked starts closing c: the stream's operations end with
// NNG_ECLOSED, the timer is cancelled.  Idempotent.
void
arb__conn_close_locked(arb__conn *c)
{
	if (!c->closed) {
		c->closed = true;
		nng_stream_close(c->s);
		if (c->timer_armed) {
			arb__ttimer_cancel(&c->timer);
		}
		if (c->hbw_armed) {
			arb__ttimer_cancel(&c->hbw);
		}
		if (c->hlt_armed) {
			arb__ttimer_cancel(&c->hlt);
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
	arb__conn_close_locked(c);
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

// conn_fill_out appends what c has to say (HELLO reply, queued control
// frames, an ACK) to b.  Under c->mtx.
static void
conn_fill_out(arb__conn *c, arb__buf *b)
{
	uint8_t fr[ARB__HELLO_MAX];
	size_t  n;

	if (c->reply_due) {
		arb__hello h = c->lsn->cfg.self;

		h.auth_len = c->reply_auth_len;
		memcpy(h.auth, c->reply_auth, c->reply_auth_len);
		h.resume = c->token;
		h.duplex = c->duplex;
		n = arb__hello_encode(fr, &h, true);
		if (arb__buf_append(b, fr, n) != 0) {
			return;
		}
		c->reply_due = false;
	}
	if (c->ctlq.len > 0
	    && arb__buf_append(b, c->ctlq.data, c->ctlq.len) == 0) {
		arb__buf_reset(&c->ctlq);
	}
	if (c->delivered > c->acked) {
		arb__frame_hdr(fr, ARB__FR_ACK_LEN, ARB__FR_ACK, 0);
		arb__put_be64(fr + ARB__FR_HDR, c->delivered);
		if (arb__buf_append(b, fr, ARB__FR_ACK_LEN) == 0) {
			c->acked = c->delivered;
			c->ack_bytes = 0;
		}
	}
}

// conn_fill_send assembles what c has to say into sbuf.  Under c->mtx.
static void
conn_fill_send(arb__conn *c)
{
	arb__buf_reset(&c->sbuf);
	c->soff = 0;
	conn_fill_out(c, &c->sbuf);
}

// conn_poke_locked has c's writer (its link) take what c has to send:
// on the timer thread (conn_timer_cb), since the link's lock comes before
// c's.  An armed delayed ACK is due at once instead.  Under c->mtx.
static void
conn_poke_locked(arb__conn *c)
{
	if (c->closed) {
		return;
	}
	if (c->timer_armed) {
		arb__ttimer_cancel(&c->timer);
		return;
	}
	c->timer_armed = true;
	c->ops++;
	arb__ttimer_arm(&c->timer, 0);
}

bool
arb__conn_hold(arb__conn *c, arb__link *k, const arb__conn_link_ops *ops)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = !c->closed && (c->lk == NULL || c->lk == k);
	if (ok) {
		c->ops++;
		if (c->lk == NULL) {
			c->lk = k;
			c->lops = ops;
			ops->ref(k);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

void
arb__conn_unhold(arb__conn *c)
{
	pthread_mutex_lock(&c->mtx);
	conn_op_done(c);
}

void
arb__conn_poke(arb__conn *c)
{
	pthread_mutex_lock(&c->mtx);
	conn_poke_locked(c);
	pthread_mutex_unlock(&c->mtx);
}

void
arb__conn_set_writer(arb__conn *c)
{
	pthread_mutex_lock(&c->mtx);
	c->wr = true;
	pthread_mutex_unlock(&c->mtx);
}

nng_stream *
arb__conn_stream(arb__conn *c)
{
	return c->s; // set at its start, never changed
}

int64_t
arb__conn_rtt(arb__conn *c)
{
	int64_t t;

	pthread_mutex_lock(&c->mtx);
	t = c->rtt_us;
	pthread_mutex_unlock(&c->mtx);
	return t;
}

int64_t
arb__conn_heard(arb__conn *c)
{
	int64_t t;

	pthread_mutex_lock(&c->mtx);
	t = c->hbw_heard;
	pthread_mutex_unlock(&c->mtx);
	return t;
}

// arb__conn_closing is true once c is closing (closed by us).
bool
arb__conn_closing(arb__conn *c)
{
	bool closed;

	pthread_mutex_lock(&c->mtx);
	closed = c->closed;
	pthread_mutex_unlock(&c->mtx);
	return closed;
}

bool
arb__conn_send(arb__conn *c, nng_aio *aio)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = !c->closed;
	if (ok) {
		nng_stream_send(c->s, aio);
	}
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

bool
arb__conn_replaced(arb__conn *c)
{
	bool r;

	pthread_mutex_lock(&c->mtx);
	r = c->replaced;
	pthread_mutex_unlock(&c->mtx);
	return r;
}

bool
arb__conn_out(arb__conn *c, arb__buf *b)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = !c->sending;
	if (ok && !c->closed) {
		conn_fill_out(c, b);
	}
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

// arb__conn_kick_send starts a send if one is due and none is running.  Under
// c->mtx.
void
arb__conn_kick_send(arb__conn *c)
{
	nng_iov iov;

	if (c->sending || c->closed) {
		return;
	}
	if (c->wr) {
		// One writer per stream: the link (nng may write short, and
		// two writers would interleave frames).
		conn_poke_locked(c);
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
		arb__conn_close_locked(c);
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
			arb__conn_kick_send(c);
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
	arb__conn_kick_send(c);
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
		arb__conn_kick_send(c);
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

// arb__conn_resume_locked sends RESUME for mbid if c paused it.
void
arb__conn_resume_locked(arb__conn *c, uint32_t mbid)
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
		arb__conn_kick_send(c);
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
		arb__conn_resume_locked(c, dst);
		pthread_mutex_unlock(&c->mtx);
	}
}

static void
conn_timer_cb(void *arg)
{
	arb__conn *c = arg;
	arb__link *k = NULL;

	pthread_mutex_lock(&c->mtx);
	c->timer_armed = false;
	if (!c->closed && c->hbdup) {
		// A heartbeat channel whose dialer echoes: our heartbeat.
		uint8_t fr[ARB__FR_HB_LEN];

		arb__frame_hdr(fr, ARB__FR_HB_LEN, ARB__FR_HB, 0);
		arb__put_be64(fr + ARB__FR_HDR, (uint64_t) arb__now_us());
		conn_queue_locked(c, fr, sizeof(fr));
		c->timer_armed = true;
		c->ops++;
		arb__ttimer_arm(&c->timer, c->lsn->cfg.hb_ms);
	} else if (!c->closed && c->wr) {
		k = c->lk; // the link takes it, with none of c's locks held
	} else if (!c->closed) {
		arb__conn_kick_send(c);
	}
	pthread_mutex_unlock(&c->mtx);
	if (k != NULL) {
		c->lops->poke(k);
	}
	pthread_mutex_lock(&c->mtx);
	conn_op_done(c);
}

// arb__lsn_note logs why a peer of l was refused (before or at its HELLO) or
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
	char     why[256];

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

void
arb__lsn_backoff_note(
    arb__lsn *l, const char *src, const char *name, int64_t left_ms)
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
	    "closed=%llu%s%s",
	    l->url, src, (long long) left_ms, (unsigned long long) n,
	    name != NULL ? " node=" : "", name != NULL ? name : "");
}

void
arb__lsn_note(arb__lsn *l, bool refused, const char *fmt, ...)
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
	ms = arb__penalty_fail(
	    &l->pen, c->src, c->pen_name, arb__now_ms(), &evicted);
	pthread_mutex_unlock(&l->mtx);
	if (evicted) {
		stat_add(&l->cfg.stats->backoff_evicted, 1);
	}
	snprintf(extra, len, " source=%s backoff_ms=%lld%s%s", c->src_str,
	    (long long) ms, c->pen_name[0] != '\0' ? " backoff_node=" : "",
	    c->pen_name);
}

// conn_named_admitted: h, the HELLO c just read, names its node (its
// failures from now on back that name off at c's source), and c's source
// is not backed off under that name (penalty.c): a node that failed
// after its HELLO is backed off itself, not the other nodes at its
// address (one machine, a NAT).  Else c is closed at once, before
// anything is sent, counted and logged as a connection closed when
// accepted is.
static bool
conn_named_admitted(arb__conn *c, const arb__hello *h)
{
	arb__lsn *l = c->lsn;
	int64_t   left;

	if (!c->has_src) {
		return true;
	}
	snprintf(c->pen_name, sizeof(c->pen_name), "%s", h->name);
	pthread_mutex_lock(&l->mtx);
	left = arb__penalty_left(&l->pen, c->src, c->pen_name, arb__now_ms());
	pthread_mutex_unlock(&l->mtx);
	if (left == 0) {
		return true;
	}
	stat_add(&l->cfg.stats->backoff_refused, 1);
	arb__lsn_backoff_note(l, c->src_str, c->pen_name, left);
	arb__conn_close(c);
	return false;
}

void
arb__conn_unp_release(arb__lsn *l, arb__conn *c)
{
	if (c->unp != NULL) {
		c->unp->n--;
		c->unp = NULL;
		l->unproven--;
	}
}

// conn_proven clears c's source: a peer proved itself from it; and c no
// longer counts among the listener's unproven connections.
static void
conn_proven(arb__conn *c)
{
	if (c->has_src) {
		pthread_mutex_lock(&c->lsn->mtx);
		arb__penalty_clear(&c->lsn->pen, c->src, c->pen_name);
		arb__conn_unp_release(c->lsn, c);
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
	char    extra[192];
	va_list ap;

	conn_penalize(c, extra, sizeof(extra));
	va_start(ap, fmt);
	lsn_vnote(c->lsn, refused, extra, fmt, ap);
	va_end(ap);
}

// conn_say logs a refusal of c with its source (" source=ADDR"), which it
// does not back off: the peer proved itself.
static void
conn_say(arb__conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_say(arb__conn *c, const char *fmt, ...)
{
	char    extra[INET6_ADDRSTRLEN + 16];
	va_list ap;

	extra[0] = '\0';
	if (c->has_src) {
		snprintf(extra, sizeof(extra), " source=%s", c->src_str);
	}
	va_start(ap, fmt);
	lsn_vnote(c->lsn, true, extra, fmt, ap);
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

// conn_refused tells the listener's owner that c's node (its HELLO, role
// PEER) was refused for its authentication (brief: a string constant).
static void
conn_refused(arb__conn *c, const arb__hello *h, const char *brief)
{
	if (h->role == ARB__ROLE_PEER && c->lsn->ops->refused != NULL) {
		c->lsn->ops->refused(c->lsn->arg, h, brief);
	}
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

// conn_hbw_arm owes the heartbeat watch's callback (one operation) in
// ms.  Under c->mtx.
static void
conn_hbw_arm(arb__conn *c, int64_t ms)
{
	if (c->hbw_ok && !c->hbw_armed && !c->closed) {
		c->hbw_armed = true;
		c->hbw_due = arb__now_ms() + (ms > 1 ? ms : 1);
		c->ops++;
		arb__ttimer_arm(&c->hbw, (int) (ms > 1 ? ms : 1));
	}
}

// conn_hbw_start starts the acceptor's failure detection of a node's
// data stream that just proved itself (docs/multinode.md, "Failure
// detection"): its dialer opens the heartbeat channel now, which must say
// HELLO and AUTH within the hello timeout and then send its first
// heartbeat at once, so until that heartbeat the stream has this
// listener's own budget (hb_ms * hb_miss) plus the hello timeout; from
// it on, the budget the channel announced (conn_hb_frame).
static void
conn_hbw_start(arb__conn *c)
{
	const arb__link_cfg *cfg = &c->lsn->cfg;

	pthread_mutex_lock(&c->mtx);
	if (c->hbw_ok) {
		c->hbw_heard = arb__now_ms();
		c->hbw_budget = (int64_t) cfg->hb_ms * cfg->hb_miss
		    + cfg->hello_ms;
		conn_hbw_arm(c, c->hbw_budget + 1);
	}
	pthread_mutex_unlock(&c->mtx);
}

// conn_hbw_cb runs on the timer thread when a node's data stream may
// have been silent for its budget.  No heartbeat on its channel for that
// long closes the stream (and, with it, the channel), as its dialer does
// when the echoes stop, unless the listener's owner keeps it (ops->silent
// false: its own dialled link to that node is up and times that node's
// silence itself, and closes this stream when it takes the node DOWN --
// peer.c's peer_close_accepted; the stream is looked at again a budget
// later).  So a node that only accepted a peer's stream (it cannot dial
// that peer) does not keep the stream of a peer gone silent.  A run well
// after its time means this process did not run: that time is not the
// peer's silence, and the peer gets the listener's hb_ms after it to be
// heard (arb__silence_judge; a dialer that stalled with us sends its
// next heartbeat at once).
static void
conn_hbw_cb(void *arg)
{
	arb__conn *c = arg;
	arb__lsn  *l = c->lsn;
	int64_t    now = arb__now_ms();
	int64_t    silent = 0, judge;
	bool       fire = false, close;

	pthread_mutex_lock(&c->mtx);
	c->hbw_armed = false;
	if (!c->closed) {
		silent = now - c->hbw_heard;
		fire = arb__silence_judge(&c->hbw_sil, now, c->hbw_due,
		    c->hbw_heard, c->hbw_budget, l->cfg.hb_ms, &judge);
		if (!fire) {
			conn_hbw_arm(c, judge - now);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	// (The owner is asked with no lock of c held; c stays: its op is
	// owed until conn_op_done below.)
	close = fire && (l->ops->silent == NULL || l->ops->silent(l->arg, c));
	pthread_mutex_lock(&c->mtx);
	if (close && !c->closed) {
		stat_add(&l->cfg.stats->hb_timeouts, 1);
		arb__log(ARB_LOG_WARN, NULL,
		    "event=heartbeat_timeout listener=%s peer=%s creation=%u "
		    "silent_ms=%lld side=acceptor",
		    l->url, c->peer.name, (unsigned) c->peer.creation,
		    (long long) silent);
		arb__conn_close_locked(c);
	} else if (fire) {
		conn_hbw_arm(c, c->hbw_budget);
	}
	conn_op_done(c);
}

// conn_replace_older closes the older data streams of the node whose
// data stream c just proved itself (docs/multinode.md, "Failure
// detection", "Partitions"): a node dials one data stream to us at a
// time, and dials a new one only after it closed the old one, so an older
// stream of that node is dead at its end.  When its FIN never reached us
// (a partition), nothing else would close it: the acceptor sends nothing
// on an idle stream and sets no TCP keepalive, so each partition left a
// stream, its heartbeat channel (which closes with it, conn_destroy) and
// their buffers behind.  What the old stream handed on stays delivered;
// what it still held unread its dialer already counted as possibly lost
// (link_count_lost) when it closed it.  Node listeners only
// (cfg.one_per_node): the processes of a node each dial their own stream
// to the node's listener, all with that node's name.
//
// Only proven streams count, on both sides: a stranger naming a node
// closes nothing, and a stream still in its handshake when the node's
// newer one proves itself is not closed for it (a stranger's is refused
// for its own failed proof, counted as such).  An older stream that
// proves itself only after a newer one did (its AUTH was late) is the
// stale one: c itself is closed, and true returned.
static bool
conn_replace_older(arb__conn *c)
{
	arb__lsn  *l = c->lsn;
	arb__conn *d;
	unsigned   n = 0;
	bool       stale = false;

	if (!l->cfg.one_per_node || c->peer.role != ARB__ROLE_PEER) {
		return false;
	}
	pthread_mutex_lock(&l->mtx);
	c->proven = true;
	for (d = l->conns; d != NULL; d = d->next) {
		if (d == c || d->token == 0 || !d->proven
		    || d->peer.role != ARB__ROLE_PEER
		    || d->peer.node_id != c->peer.node_id
		    || strcmp(d->peer.name, c->peer.name) != 0) {
			continue;
		}
		if (d->born > c->born) {
			stale = true; // a newer stream of the node proved first
			continue;
		}
		pthread_mutex_lock(&d->mtx);
		if (!d->closed) {
			d->replaced = true;
			arb__conn_close_locked(d);
			n++;
		}
		pthread_mutex_unlock(&d->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
	if (stale) {
		arb__conn_close(c);
		n++;
	} else {
		conn_hbw_start(c);
	}
	if (n > 0) {
		stat_add(&l->cfg.stats->replaced, n);
		arb__log(ARB_LOG_INFO, NULL,
		    "event=link_replaced listener=%s node=%s creation=%u "
		    "closed=%u%s%s%s",
		    l->url, c->peer.name, (unsigned) c->peer.creation, n,
		    stale ? " stale=this" : "", c->has_src ? " source=" : "",
		    c->has_src ? c->src_str : "");
	}
	return stale;
}

// conn_hb_begin starts our heartbeats on a heartbeat channel that proved
// itself, when its dialer echoes them (its HELLO's duplex flag) and the
// listener is a node's with heartbeats: the first at once, then every
// hb_ms (conn_timer_cb).
static void
conn_hb_begin(arb__conn *c)
{
	const arb__link_cfg *cfg = &c->lsn->cfg;

	if (c->peer.role != ARB__ROLE_HB || !c->peer.duplex
	    || !cfg->one_per_node || cfg->hb_ms <= 0) {
		return;
	}
	pthread_mutex_lock(&c->mtx);
	c->hbdup = true;
	if (!c->timer_armed && !c->closed) {
		c->timer_armed = true;
		c->ops++;
		arb__ttimer_arm(&c->timer, 0);
	}
	pthread_mutex_unlock(&c->mtx);
}

// conn_offer hands a proven duplex data stream to the listener's owner,
// which may offer it to its link to that node (arb__link_offer): the
// link may then write on it.  Called on the receive callback with no
// lock held, once the HELLO reply is due (it goes first).
static void
conn_offer(arb__conn *c)
{
	arb__lsn *l = c->lsn;

	if (c->duplex && l->ops->proven != NULL) {
		l->ops->proven(l->arg, c);
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
			conn_refused(c, h, "cookie, none here");
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
		conn_refused(c, h, "no cookie");
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
		conn_refused(c, &c->peer, "wrong cookie");
		conn_fail(c, &st->refused,
		    "node %s failed authentication (wrong cookie?)",
		    c->peer.name);
		return false;
	}
	if ((fr[5] & ARB__AUTH_F_ELSEWHERE) != 0) {
		// The dialer has the cookie, and meant to reach another node
		// at our address (its peer URLs are wrong): it hangs up now.
		// Not its cookie, and no failure of its source: it proved
		// itself.
		conn_proven(c);
		stat_add(&st->refused, 1);
		conn_refused(c, &c->peer, "dials here for another node");
		conn_say(c,
		    "node %s has the cookie but dialled this address for "
		    "another node (its URL for that node is ours: URLs "
		    "swapped?)",
		    c->peer.name);
		arb__conn_close(c);
		return false;
	}
	c->authed = true;
	conn_proven(c);
	if (c->peer.role != ARB__ROLE_HB && conn_replace_older(c)) {
		return false; // stale: closed
	}
	conn_offer(c);
	conn_hb_begin(c);
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

// conn_hb_heard notes a heartbeat of channel c on its data stream: the
// stream's silence starts again, and its budget is now the one the
// channel announced in its HELLO (`sender`: the dialer's hb_ms * hb_miss;
// this listener's own when it announced none or more than the largest a
// node may have), so two nodes with other heartbeat settings each time
// the other's heartbeats by the other's own budget.
static void
conn_hb_heard(arb__conn *c)
{
	arb__lsn  *l = c->lsn;
	arb__conn *d;
	uint64_t   b = c->peer.sender;

	if (b == 0 || b > (uint64_t) ARB__HB_BUDGET_MAX_MS) {
		b = (uint64_t) l->cfg.hb_ms * (uint64_t) l->cfg.hb_miss;
	}
	pthread_mutex_lock(&l->mtx);
	if ((d = c->data_of) != NULL) {
		pthread_mutex_lock(&d->mtx);
		d->hbw_heard = arb__now_ms();
		if (d->hbw_budget != (int64_t) b) {
			// The first heartbeat: the timer, armed for the longer
			// wait before it, is due at once and re-armed for this
			// budget (conn_hbw_cb).  Due now, so a run of it much
			// later is a stall of this process, not the peer's
			// silence: with its old due time (the longer wait's
			// end) it was not, and a first heartbeat that came
			// during a stall closed the stream when the stall
			// ended (duplex_test, a merge during a stall).
			d->hbw_budget = (int64_t) b;
			if (d->hbw_armed) {
				d->hbw_due = d->hbw_heard;
				arb__ttimer_cancel(&d->hbw);
			}
		}
		pthread_mutex_unlock(&d->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
}

// conn_hb_echoed takes the echo of one of our heartbeats on channel c:
// its data stream's round trip.
static void
conn_hb_echoed(arb__conn *c, const uint8_t *fr)
{
	arb__lsn  *l = c->lsn;
	arb__conn *d;
	int64_t    now = arb__now_us();
	int64_t    then = (int64_t) arb__get_be64(fr + ARB__FR_HDR);

	pthread_mutex_lock(&l->mtx);
	if ((d = c->data_of) != NULL) {
		pthread_mutex_lock(&d->mtx);
		d->rtt_us = then <= now ? now - then : 0;
		pthread_mutex_unlock(&d->mtx);
	}
	pthread_mutex_unlock(&l->mtx);
}

// conn_hb_frame takes a frame on an authenticated heartbeat channel: a
// heartbeat is echoed at once (the channel carries nothing else, so the
// echo waits behind nothing); the echo of ours, when its dialer echoes,
// gives the round trip; any other frame closes the channel.
static bool
conn_hb_frame(arb__conn *c, const uint8_t *fr, uint8_t type)
{
	uint8_t echo[ARB__FR_HB_LEN];

	if (type == ARB__FR_HB && (fr[5] & ARB__HB_F_REPLY) != 0 && c->hbdup) {
		conn_hb_echoed(c, fr);
		return true;
	}
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
	conn_hb_heard(c);
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
		if (!conn_named_admitted(c, &h)) {
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
		// A node's data stream that its dialer reads too: our reply
		// says we may send on it (docs/wire.md, "Duplex streams").
		// Not with TLS alone: nng 1.5.2 tells an acceptor nothing of
		// the name in its client's certificate (no
		// NNG_OPT_TLS_PEER_CN), so the node name in that HELLO is
		// unproven, and a node must not take a peer UP on it
		// (multinode.15_tls: a node with another's certificate).  The
		// cookie's proof binds the names.
		c->duplex = h.duplex && h.role == ARB__ROLE_PEER
		    && l->cfg.one_per_node && l->ops->proven != NULL
		    && (l->cfg.cookie != NULL || l->cfg.tls == NULL);
		if (h.role != ARB__ROLE_HB) {
			// A data stream: its token names it to its heartbeat
			// channel (which is not a link: not counted).
			uint64_t tok = conn_token();

			pthread_mutex_lock(&l->mtx);
			c->token = tok;
			c->born = ++l->born;
			pthread_mutex_unlock(&l->mtx);
			stat_add(&st->conns, 1);
			if (c->authed && conn_replace_older(c)) {
				return false; // no cookie: proven; stale: closed
			}
		}
		pthread_mutex_lock(&c->mtx);
		c->reply_due = true;
		arb__conn_kick_send(c);
		pthread_mutex_unlock(&c->mtx);
		if (c->authed && h.role != ARB__ROLE_HB) {
			conn_offer(c); // no cookie: proven by its HELLO
		} else if (c->authed) {
			conn_hb_begin(c);
		}
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
		arb__conn_kick_send(c);
		pthread_mutex_unlock(&c->mtx);
		return true;
	case ARB__FR_ACK:
	case ARB__FR_PAUSE:
	case ARB__FR_RESUME: {
		// On a duplex stream, what the peer says about the DATA our
		// link wrote on it: the link's.
		arb__link *k;

		pthread_mutex_lock(&c->mtx);
		k = c->wr ? c->lk : NULL;
		pthread_mutex_unlock(&c->mtx);
		if (k == NULL) {
			conn_fail(c, &st->bad_frames,
			    "frame type %u on a stream this node sends "
			    "no DATA on",
			    (unsigned) type);
			return false;
		}
		if (!c->lops->rx(k, c, type, fr)) {
			conn_fail(c, NULL, "-"); // out of memory
			return false;
		}
		return true;
	}
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

// conn_stage_grow gives a connection that has proven itself (its HELLO
// and, with a cookie, its AUTH taken: it may now send frames up to the
// largest) the full stage buffer.  False when there is no memory for it
// (the connection closes).
static bool
conn_stage_grow(arb__conn *c)
{
	uint8_t *b;

	if (c->stage_cap >= STAGE_SIZE || conn_max_frame(c) <= STAGE_SMALL) {
		return true;
	}
	if ((b = arb__realloc(c->stage, STAGE_SIZE)) == NULL) {
		conn_fail(c, NULL, "-");
		return false;
	}
	c->stage = b;
	atomic_fetch_add(&c->lsn->stage_bytes, STAGE_SIZE - c->stage_cap);
	c->stage_cap = STAGE_SIZE;
	return true;
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

		if (!c->hello_done && p[0] == 0x16 && p[1] == 0x03) {
			// A TLS record (a handshake: 0x16, version 3.x) where
			// a frame's length was due: a tls+tcp:// dialer.
			conn_fail(c, &st->refused,
			    "a TLS ClientHello: this listener is %.*s://",
			    (int) strcspn(c->lsn->url, ":"), c->lsn->url);
			return false;
		}
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
	return conn_stage_grow(c);
}

// conn_hlt_grace: how often an accepted connection's HELLO deadline is
// judged, and the grace a dialer gets to be read once this process runs
// again after a stall (arb__silence_judge): the listener's hb_ms, as
// its heartbeat watch (conn_hbw_cb) has, or HELLO_GRACE_MS on one with
// no heartbeats.
static int64_t
conn_hlt_grace(const arb__lsn *l)
{
	return l->cfg.hb_ms > 0 ? l->cfg.hb_ms : HELLO_GRACE_MS;
}

// conn_hlt_arm owes the HELLO deadline's callback (one operation) in ms.
// Under c->mtx.
static void
conn_hlt_arm(arb__conn *c, int64_t ms)
{
	if (c->hlt_ok && !c->hlt_armed && !c->closed) {
		c->hlt_armed = true;
		c->hlt_due = arb__now_ms() + (ms > 1 ? ms : 1);
		c->ops++;
		arb__ttimer_arm(&c->hlt, (int) (ms > 1 ? ms : 1));
	}
}

// conn_hlt_cb runs on the timer thread every grace ms (conn_hlt_grace)
// while an accepted connection has not said HELLO (and, with a cookie,
// AUTH): past hello_ms of the time this process ran since it was
// accepted (arb__silence_judge, as the heartbeats' silence is judged:
// docs/multinode.md, "A stall of this node"), its receive ends with
// NNG_ETIMEDOUT, and conn_recv_cb refuses it ("no HELLO within", "sent
// no AUTH within": counted, logged, its source backed off).  A run well
// after its time means this process did not run: the dialer's HELLO may
// wait unread in the socket, so that time is left out, and the dialer
// gets the grace to be read once this process runs again.  Before, an
// nng timeout on the receive counted wall time: a stall of the node
// over hello_ms refused, and backed off, a dialer whose HELLO was there.
static void
conn_hlt_cb(void *arg)
{
	arb__conn *c = arg;
	arb__lsn  *l = c->lsn;
	int64_t    now = arb__now_ms();
	int64_t    grace = conn_hlt_grace(l), judge;

	pthread_mutex_lock(&c->mtx);
	c->hlt_armed = false;
	if (!c->closed && c->hlt_open) {
		if (arb__silence_judge(&c->hlt_sil, now, c->hlt_due,
		        c->hello_from, l->cfg.hello_ms, grace, &judge)) {
			// (The receive under way ends; if its callback runs
			// already, the next receive ends at once: conn_recv.)
			c->hello_late = true;
			nng_aio_abort(c->raio, NNG_ETIMEDOUT);
		} else {
			if (judge > now + grace) {
				judge = now + grace; // (judged every grace)
			}
			conn_hlt_arm(c, judge - now);
		}
	}
	conn_op_done(c);
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
		iov.iov_len = c->stage_cap - c->stage_len;
	}
	nng_aio_set_iov(c->raio, 1, &iov);
	// HELLO and, with a cookie, AUTH by the deadline: a peer that never
	// proves itself holds nothing for long.  conn_hlt_cb judges it (no
	// nng timeout: that counts this process's stalls) and ends the
	// receive it finds under way; one armed after that ends at once.
	c->hlt_open = !c->hello_done || !c->authed;
	nng_aio_set_timeout(c->raio,
	    c->hlt_open && c->hello_late ? NNG_DURATION_ZERO
	                                 : NNG_DURATION_INFINITE);
	c->ops++;
	nng_stream_recv(c->s, c->raio);
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
	} else if (c->hello_done && !c->authed && !arb__conn_closing(c)) {
		// A dialer that hangs up after our HELLO reply: it did not
		// take our proof (another cookie), or it died.
		stat_add(&c->lsn->cfg.stats->refused, 1);
		if (rv == NNG_ETIMEDOUT) {
			conn_note(c, true,
			    "node %s sent no AUTH within %d ms of connecting",
			    c->peer.name, c->lsn->cfg.hello_ms);
		} else {
			conn_refused(c, &c->peer, "wrong cookie");
			conn_note(c, true,
			    "node %s closed after our HELLO reply, before its "
			    "AUTH (does it have another cookie?)",
			    c->peer.name);
		}
	} else if (!c->hello_done && !arb__conn_closing(c)) {
		// Closed, reset or silent before its HELLO (not closed by
		// us: the listener is closing).
		stat_add(&c->lsn->cfg.stats->refused, 1);
		if (rv == NNG_ETIMEDOUT) {
			conn_note(c, true, "no HELLO within %d ms",
			    c->lsn->cfg.hello_ms);
		} else if (rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO) {
			// (nng 1.5.2 says no more: neither mbedTLS's verify
			// flags nor the bytes that failed -- a plain HELLO
			// fails it as a bad certificate does.  Our own
			// certificate out of its validity period is named.)
			char v[112];

			stat_add(&c->lsn->cfg.stats->auth_failed, 1);
			if (arb__tls_validity(v, sizeof(v))) {
				conn_note(
				    c, true, "TLS handshake failed: %s", v);
			} else {
				conn_note(c, true,
				    "TLS handshake failed: %s (a plain tcp:// "
				    "peer, or no certificate, an expired one "
				    "or one the CA did not sign?)",
				    nng_strerror(rv));
			}
		} else {
			conn_note(c, true,
			    "%s after %zu bytes, before a whole HELLO",
			    rv == NNG_ECONNRESET ? "reset" : "closed",
			    c->stage_len);
		}
	}
	pthread_mutex_lock(&c->mtx);
	if (!ok) {
		arb__conn_close_locked(c);
	} else {
		conn_recv(c);
	}
	if (c->closed && c->lk != NULL && !c->detached) {
		// The link that writes on c's stream, or holds c as its
		// candidate, learns that the stream is going (its receive
		// failed, or c was closed while it ran: no receive follows).
		arb__link *k = c->lk;

		c->detached = true;
		pthread_mutex_unlock(&c->mtx);
		c->lops->detach(k, c);
		pthread_mutex_lock(&c->mtx);
	}
	conn_op_done(c);
}

// arb__conn_start makes a connection of an accepted stream from source src
// (NULL: not a TCP listener's).  Under l->mtx.
arb__conn *
arb__conn_start(
    arb__lsn *l, nng_stream *s, const uint8_t *src, const char *str)
{
	arb__conn *c = arb__alloc(sizeof(*c));

	if (c == NULL) {
		nng_stream_free(s);
		return NULL;
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
	c->rtt_us = -1;
	c->stage = arb__alloc(STAGE_SMALL);
	if (c->stage == NULL || nng_aio_alloc(&c->raio, conn_recv_cb, c) != 0
	    || nng_aio_alloc(&c->saio, conn_send_cb, c) != 0
	    || arb__ttimer_init(&c->timer, conn_timer_cb, c) != ARB_OK
	    || arb__ttimer_init(&c->hlt, conn_hlt_cb, c) != ARB_OK
	    || (l->cfg.one_per_node && l->cfg.hb_ms > 0
	        && arb__ttimer_init(&c->hbw, conn_hbw_cb, c) != ARB_OK)) {
		nng_aio_free(c->raio);
		nng_aio_free(c->saio);
		arb__free(c->stage);
		arb__free(c);
		nng_stream_free(s);
		return NULL;
	}
	c->stage_cap = STAGE_SMALL;
	c->hbw_ok = l->cfg.one_per_node && l->cfg.hb_ms > 0;
	atomic_fetch_add(&l->stage_bytes, STAGE_SMALL);
	pthread_mutex_init(&c->mtx, NULL);
	c->hlt_ok = true;
	c->hello_from = arb__now_ms();
	c->next = l->conns;
	if (l->conns != NULL) {
		l->conns->prev = c;
	}
	l->conns = c;
	l->nconns++;
	pthread_mutex_lock(&c->mtx);
	conn_recv(c);
	if (l->cfg.hello_ms > 0) {
		int64_t first = conn_hlt_grace(l);

		// (At the deadline when it comes before a grace: conn_hlt_cb
		// arms the next runs.)
		if (first > (int64_t) l->cfg.hello_ms + 1) {
			first = (int64_t) l->cfg.hello_ms + 1;
		}
		conn_hlt_arm(c, first);
	}
	pthread_mutex_unlock(&c->mtx);
	return c;
}

// arb__lsn_attach makes c, a connection of l, the reader of a stream
// link k dialled and greeted (docs/multinode.md, "One stream per pair"):
// the acceptor's HELLO reply (peer) said it sends DATA on it too.  It
// reads from where the link stopped (the link read no byte past the
// reply), hands DATA on as an accepted stream's, and gives k the ACK,
// PAUSE and RESUME it reads; k writes c's frames.  No token (no heartbeat
// channel binds to it: the link has its own), never proven (it neither
// replaces nor is replaced by the peer's streams, nor counts in them),
// no heartbeat watch (the link times its peer).  Held once for k.
arb__conn *
arb__lsn_attach(arb__lsn *l, arb__link *k, const arb__conn_link_ops *ops,
    nng_stream *s, const arb__hello *peer)
{
	arb__conn *c;

	if ((c = arb__alloc(sizeof(*c))) == NULL) {
		return NULL;
	}
	c->lsn = l;
	c->s = s;
	c->expect = 1;
	c->rtt_us = -1;
	c->hello_done = true;
	c->authed = true;
	c->duplex = true;
	c->dialled = true;
	c->wr = true;
	c->lk = k;
	c->lops = ops;
	c->peer = *peer;
	if ((c->stage = arb__alloc(STAGE_SIZE)) == NULL
	    || nng_aio_alloc(&c->raio, conn_recv_cb, c) != 0
	    || nng_aio_alloc(&c->saio, conn_send_cb, c) != 0
	    || arb__ttimer_init(&c->timer, conn_timer_cb, c) != ARB_OK) {
		nng_aio_free(c->raio);
		nng_aio_free(c->saio);
		arb__free(c->stage);
		arb__free(c);
		return NULL;
	}
	c->stage_cap = STAGE_SIZE;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_lock(&l->mtx);
	if (l->closing) {
		pthread_mutex_unlock(&l->mtx);
		nng_aio_free(c->raio);
		nng_aio_free(c->saio);
		arb__free(c->stage);
		pthread_mutex_destroy(&c->mtx);
		arb__free(c);
		return NULL;
	}
	ops->ref(k);
	atomic_fetch_add(&l->stage_bytes, STAGE_SIZE);
	c->next = l->conns;
	if (l->conns != NULL) {
		l->conns->prev = c;
	}
	l->conns = c;
	l->nconns++;
	pthread_mutex_lock(&c->mtx);
	c->ops++; // k's hold
	conn_recv(c);
	pthread_mutex_unlock(&c->mtx);
	pthread_mutex_unlock(&l->mtx);
	return c;
}
