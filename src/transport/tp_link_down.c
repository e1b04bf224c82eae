// SPDX-License-Identifier: MIT
// tp_link_down.c -- a dialled link's (tp_link.c) stream failing: what
// its queue, its unacknowledged frames and its send in flight become,
// the freeing of its data stream and heartbeat channel (tp_hb.c) once
// their operations have ended, and what follows (redial, idle, gone).
//
// Threads: called from the link's aio callbacks (nng's threads) and its
// users (an actor loop), always under k->mtx.

#include "tp_int.h"

// arb__link_drop_queue counts every queued chunk as a dead letter.
void
arb__link_drop_queue(arb__link *k)
{
	arb__chunk *ch, *next;

	for (ch = k->q_head; ch != NULL; ch = next) {
		next = ch->next;
		arb__chunk_drop(ch, k->cfg.stats);
	}
	k->q_head = k->q_tail = NULL;
	k->q_bytes = 0;
}

// arb__link_count_lost counts what was written on the stream that died and
// was not acknowledged: possibly lost.  The chunks of a send still in
// progress are settled when that operation ends (arb__link_flight_settle):
// nng may still hold their iov, and until it ends nobody knows whether
// they left.
void
arb__link_count_lost(arb__link *k)
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

// arb__link_flight_settle ends a send operation that failed (or completed on
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
void
arb__link_flight_settle(arb__link *k, size_t written)
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

// arb__link_free_flight frees the chunks of the last send operation (ended).
void
arb__link_free_flight(arb__link *k)
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

static _Atomic uint64_t adopted; // arb__link_adopted

uint64_t
arb__link_adopted(void)
{
	return atomic_load(&adopted);
}

// link_adopt makes c, a proven duplex stream the peer dialled, this
// link's stream: the link writes on it (its reader, c, hands it the
// ACKs) as on a stream it dialled and greeted; the UP event comes with
// c's HELLO.  c is held (k->cand's hold moves to k->rd).  False: the
// watcher refused the peer.  Under k->mtx.
static bool
link_adopt(arb__link *k, arb__conn *c)
{
	const arb__hello *h = arb__conn_hello(c);

	// (A merge's adoption tells no UP: the peer, its incarnation
	// checked, was UP on the retired stream and stays UP; nor does the
	// adoption of a candidate told UP already: k->cand_up.)
	if (!k->quiet && !k->cand_up && k->watch != NULL
	    && !k->watch(k->watch_arg, ARB__LINK_EV_UP, h)) {
		return false;
	}
	k->cand_up = false; // the UP told is this stream's now
	if (k->state == L_WAIT) {
		nng_aio_cancel(k->taio); // its callback finds L_UP: no dial
	}
	k->peer = *h;
	k->s = arb__conn_stream(c);
	k->rd = c;
	k->adopted = true;
	k->state = L_UP;
	k->greeted = true;
	k->authed = true;
	k->auth_due = false;
	k->hello_sent = true; // the peer's HELLO, our reply: c's
	k->noted = false;
	k->elsewhere = false;
	k->next_seq = 1;
	k->next_env = 0;
	k->acked_seq = 0;
	k->rlen = 0;
	k->attempt = 0;
	k->heard_ms = arb__now_ms();
	k->peer_creation = h->creation;
	arb__conn_set_writer(c);
	stat_add(&adopted, 1);
	arb__log(ARB_LOG_INFO, NULL,
	    "event=link_adopted url=%s peer=%s creation=%u", k->url, h->name,
	    (unsigned) h->creation);
	return true;
}

bool
arb__link_adopt_cand(arb__link *k)
{
	arb__conn *c = k->cand;

	if (c == NULL) {
		return false;
	}
	k->cand = NULL;
	if (arb__conn_closing(c) || !link_adopt(k, c)) {
		arb__link_cand_down(k, c);
		arb__conn_unhold(c);
		return false;
	}
	return true;
}

void
arb__link_cand_down(arb__link *k, arb__conn *c)
{
	if (!k->cand_up) {
		return;
	}
	k->cand_up = false;
	if (k->watch != NULL) {
		k->watch(k->watch_arg, ARB__LINK_EV_DOWN, arb__conn_hello(c));
	}
}

// arb__link_after_down decides what follows a failed stream once its
// operations have ended: a delayed redial when something waits, idle
// otherwise, gone when the destination is.  Under k->mtx.
void
arb__link_after_down(arb__link *k)
{
	unsigned shift = k->attempt < 16 ? k->attempt : 16;
	uint64_t top;
	bool     quiet = k->quiet;

	if (arb__link_adopt_cand(k)) { // (quiet: without an UP)
		// The peer's stream, open and proven: no redial.  Its reader
		// starts the send (link_send is the link's own file's).
		k->quiet = false;
		arb__conn_poke(k->rd);
		return;
	}
	k->quiet = false;
	if (quiet && k->watch != NULL) {
		// A merge whose candidate closed meanwhile: the peer is DOWN
		// after all (its UP was told on the retired stream).
		stat_add(&k->cfg.stats->links_lost, 1);
		k->watch(k->watch_arg, ARB__LINK_EV_DOWN, &k->peer);
	}
	if (k->gone != NULL && k->gone(k->gone_arg)) {
		k->state = L_GONE;
		if (k->cfg.unreached != NULL && k->q_head != NULL) {
			arb__chunk *list = k->q_head;

			k->q_head = k->q_tail = NULL;
			k->q_bytes = 0;
			k->cfg.unreached(list); // its requests are answered
		}
		arb__link_drop_queue(k);
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

// arb__link_streams_done: once a failed link's data stream and heartbeat
// channel have no operation left, both are freed and the link moves on
// (a redial makes both anew).  Under k->mtx.
void
arb__link_streams_done(arb__link *k)
{
	if (k->state != L_DOWN || k->sops != 0 || k->hops != 0) {
		return;
	}
	arb__link_free_flight(k);
	if (k->rd != NULL) {
		// A duplex stream: its reader owns it and frees it when its
		// own operations end; this link's hold ends here.
		arb__conn *c = k->rd;

		k->rd = NULL;
		arb__conn_unhold(c);
	} else {
		nng_stream_free(k->s);
	}
	k->s = NULL;
	k->adopted = false;
	nng_stream_free(k->hs);
	k->hs = NULL;
	arb__link_after_down(k);
}

// arb__link_down ends the stream after an error.  Under k->mtx.
void
arb__link_down(arb__link *k)
{
	if (k->state != L_UP) {
		return;
	}
	if (!k->quiet) {
		// A stream the peer dialled and replaced with a newer one
		// (it redialled: it knows this one is gone) is REDIALLED.
		bool redialled = k->rd != NULL && arb__conn_replaced(k->rd);

		stat_add(&k->cfg.stats->links_lost, 1);
		if (k->greeted && k->authed && k->watch != NULL) {
			k->watch(k->watch_arg,
			    redialled ? ARB__LINK_EV_REDIALLED
			              : ARB__LINK_EV_DOWN,
			    &k->peer);
		}
	}
	k->merging = false;
	k->state     = L_DOWN;
	k->greeted   = false;
	k->authed    = false;
	k->auth_due  = false;
	k->hb_due    = false;
	k->sync_due  = false;
	k->sync_sent = false;
	k->hgreeted  = false;
	k->hauth_due = false;
	if (k->rd != NULL) {
		// Through its reader: a receive it re-arms on a stream closed
		// under it could wait for good (nng 1.5.2's TCP streams take a
		// receive after their close and never end it); closed, it arms
		// none.
		arb__conn_close(k->rd);
	} else {
		nng_stream_close(k->s);
	}
	// Its heartbeat channel goes with it: a new stream gets its own.
	if (k->hs != NULL) {
		nng_stream_close(k->hs);
	}
	if (k->hdialing) {
		nng_aio_cancel(k->hdaio);
	}
	arb__link_count_lost(k);
	k->npaused = 0; // a new connection starts with nothing paused
	waitset_wake(&k->waiters);
	arb__link_streams_done(k);
}

// arb__link_sop_done ends one stream operation; the last one after a failure
// frees the stream and moves on.  Under k->mtx.
void
arb__link_sop_done(arb__link *k)
{
	k->sops--;
	arb__link_streams_done(k);
}

// arb__link_op_done ends one operation; a closed link's last one wakes the
// closer.  Under k->mtx; releases it.
void
arb__link_op_done(arb__link *k)
{
	if (--k->ops == 0 && k->state == L_CLOSED) {
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mtx);
}
