// SPDX-License-Identifier: MIT
// tp_hb.c -- the heartbeat channel of a dialled link (tp_link.c; hb_ms >
// 0; docs/multinode.md, "Failure detection").  Once the data stream is
// authenticated, a second stream to the same URL says HELLO with role
// ARB__ROLE_HB and the token the acceptor's reply gave the data stream,
// authenticates as the data stream did (cookie both ways, TLS), and then
// carries only heartbeats one way and their echoes the other: what the
// data stream has queued or unacknowledged, however slow its path, is
// never ahead of them.  The channel lives and dies with its data stream:
// arb__link_down closes both, either one failing is the peer's DOWN, and
// the link redials both once every operation of both has ended
// (arb__link_streams_done, tp_link_down.c), so an old channel never
// answers for a new stream.  The acceptor's side is tp_conn.c
// (conn_hb_bind).
//
// Threads: the aio callbacks run on nng's threads; all under k->mtx.

#include "tp_int.h"

#include <stdio.h>

// arb__hb_open dials the heartbeat channel of a data stream just proven.
void
arb__hb_open(arb__link *k)
{
	if (k->hd == NULL) {
		return;
	}
	k->token = k->peer.resume;
	k->hgreeted = false;
	k->hauth_due = false;
	k->hhello_sent = false;
	k->hecho_due = false;
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
	arb__link_down(k);
}

// arb__hb_send writes what the channel has to say: its HELLO, its AUTH, a
// heartbeat that is due.  One send at a time (a heartbeat due meanwhile
// goes right after it).
void
arb__hb_send(arb__link *k)
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
		// A node link echoes the acceptor's heartbeats too: a node
		// that sends on our stream (it cannot dial us) learns its
		// round trip from them (docs/wire.md, "Heartbeat channel").
		h.duplex = k->rx != NULL;
		// Our budget: the acceptor times our heartbeats' silence by
		// it (tp_conn.c, conn_hb_heard).
		h.sender = (uint64_t) k->cfg.hb_ms * (uint64_t) k->cfg.hb_miss;
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
	if (k->hecho_due && k->hgreeted) {
		memcpy(k->hsbuf + n, k->hecho, ARB__FR_HB_LEN);
		n += ARB__FR_HB_LEN;
		k->hecho_due = false;
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
	arb__link_streams_done(k);
	arb__link_op_done(k);
}

void
arb__hb_dial_cb(void *arg)
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
		arb__hb_send(k);
	}
	hb_op_done(k);
}

void
arb__hb_send_cb(void *arg)
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
			arb__hb_send(k);
			if (k->merging) {
				// Out of its handshake, maybe: a merge waiting
				// for that goes on now, not at the next
				// heartbeat (hb_ms later).
				k->merge_check(k);
			}
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
	arb__hb_send(k);
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
		} else if (type == ARB__FR_HB && k->rx != NULL) {
			// The acceptor's heartbeat: echoed at once (the latest
			// one, if two wait behind a send).
			memcpy(k->hecho, p, ARB__FR_HB_LEN);
			k->hecho[5] = ARB__HB_F_REPLY;
			k->hecho_due = true;
			arb__hb_send(k);
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

void
arb__hb_recv_cb(void *arg)
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
