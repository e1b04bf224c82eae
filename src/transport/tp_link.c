// SPDX-License-Identifier: MIT
// tp_link.c -- dialled links (arb__link, link.h; the protocol is in
// docs/wire.md): dials, says HELLO (and AUTH), writes DATA in order and
// keeps it until acknowledged, takes ACK / PAUSE / RESUME and the HELLO
// reply, times heartbeats, and redials with backoff.  A failing stream's
// teardown is tp_link_down.c; the heartbeat channel is tp_hb.c.  A node
// link's streams are duplex (docs/multinode.md, "One stream per pair"):
// after the HELLO reply a connection of the node's listener reads them
// (k->rd) and the link writes for both; a link with no stream of its own
// adopts one its peer dialled (arb__link_offer).
//
// Threads: the aio callbacks run on nng's threads and the heartbeat
// timer on the timer thread (ttimer.c); arb__link_* run on the caller's
// (an actor loop, or any thread where they say so).  All under k->mtx.

#include "tp_int.h"

#include <stdio.h>

static void link_dial_cb(void *arg);
static bool link_rx(
    arb__link *k, arb__conn *c, uint8_t type, const uint8_t *fr);
static void link_detach(arb__link *k, arb__conn *c);
static void link_poke(arb__link *k);
static void link_merge_check(arb__link *k);

// What the connection that reads a duplex stream (tp_conn.c) calls of its
// link.
static const arb__conn_link_ops link_conn_ops = {
	.rx = link_rx,
	.detach = link_detach,
	.poke = link_poke,
	.ref = arb__link_ref,
	.rele = arb__link_rele,
};
static void link_send_cb(void *arg);
static void link_recv_cb(void *arg);
static void link_timer_cb(void *arg);
static void link_hb_cb(void *arg);

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

static void
link_dial(arb__link *k)
{
	k->state = L_DIAL;
	k->ops++;
	stat_add(&k->cfg.stats->dials, 1);
	k->dial_from = arb__now_ms();
	memset(&k->dialsil, 0, sizeof(k->dialsil));
	if (k->rx != NULL && !k->hbt_ok && k->cfg.hello_ms > 0) {
		// (No heartbeat timer to judge the connect: wall time.)
		nng_aio_set_timeout(k->daio, k->cfg.hello_ms);
	}
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
	if (seq >= k->next_seq) {
		seq = k->next_seq - 1; // no frame of ours has a later one
	}
	if (seq > k->acked_seq) {
		k->acked_seq = seq; // (frames of a send still under way too)
	}
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
	if (k->rd != NULL) {
		// The reader's frames (ACK, PAUSE, RESUME) on a duplex
		// stream: this link is its one writer.  Nothing is written
		// while the reader's own send (before this link took over)
		// still runs; it pokes the link when it ends.
		arb__buf_reset(&k->cbuf);
		if (!arb__conn_out(k->rd, &k->cbuf)) {
			return;
		}
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
	if (k->rd != NULL && k->cbuf.len > 0) {
		k->iov[k->niov].iov_buf = k->cbuf.data;
		k->iov[k->niov++].iov_len = k->cbuf.len;
		k->f_bytes += k->cbuf.len;
	}
	k->f_pre = k->f_bytes;
	while (k->authed && !k->merging && (ch = k->q_head) != NULL
	    && k->niov < LINK_IOV
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
	if (k->rd != NULL && !arb__conn_send(k->rd, k->saio)) {
		// Its reader closed the stream (the listener closes, or the
		// peer's newer stream replaced it): its detach takes the link
		// down next; the flight goes back to the queue.
		arb__link_flight_settle(k, 0);
		return;
	}
	k->sending = true;
	k->ops++;
	k->sops++;
	if (k->rd == NULL) {
		nng_stream_send(k->s, k->saio);
	}
}

static void link_tls_note(arb__link *k, int rv);
static void link_early_close(arb__link *k, int rv);

static _Atomic uint64_t merged; // arb__link_merged

uint64_t
arb__link_merged(void)
{
	return atomic_load(&merged);
}

// link_hb_settled: the heartbeat channel is not in its handshake: none
// dialled, or its HELLO and AUTH written.  Closed in its handshake, the
// acceptor would count it refused and back our address off (penalty.c).
// Under k->mtx.
static bool
link_hb_settled(const arb__link *k)
{
	return !k->hdialing
	    && (k->hs == NULL
	        || (k->hgreeted && !k->hauth_due && !k->hsending));
}

// link_merge_check: both nodes dialled, and this node's name is the
// higher: its own stream is retired for the peer's, the candidate
// (docs/multinode.md, "One stream per pair").  Once merging, it stops
// adding DATA to its stream and asks for an ACK now (SYNC); when every
// frame written is acknowledged (delivered, in order, before anything
// goes on the peer's stream) and its heartbeat channel is out of its
// handshake, the stream closes quietly and the link adopts the
// candidate: no DOWN, nothing lost, the peer UP throughout.  A merge
// waits at most the heartbeat budget (hb_ms * hb_miss, from when it
// began; link_hb_cb looks again every hb_ms): the stream then closes
// all the same, what it wrote and the peer did not acknowledge counted
// lost (as on any stream that closes), what it had not written yet sent
// on the candidate.  The budget is of the time this process ran, as the
// heartbeats' (link_hb_cb judges it, merge_late): a stall of this node
// (a paused VM, a starved CPU) is not the peer's delay, and once it
// runs again the ACK gets hb_ms to come (docs/multinode.md, "A stall of
// this node").  Before, a stall over the budget ended the merge the
// moment this node ran again, what the peer had read but not yet
// acknowledged counted lost.  Under k->mtx.
static void
link_merge_check(arb__link *k)
{
	const arb__hello *h;
	bool              late;

	if (!k->cfg.merge || k->state != L_UP || !k->greeted || k->adopted
	    || k->rd == NULL || k->cand == NULL) {
		return;
	}
	if (!k->merging) {
		h = arb__conn_hello(k->cand);
		if (h->creation != k->peer.creation
		    || strcmp(h->name, k->cfg.self.name) >= 0) {
			return; // the lower name's stream is ours: kept
		}
		k->merging = true;
		k->merge_ms = arb__now_ms();
		memset(&k->mergesil, 0, sizeof(k->mergesil));
		k->merge_late = false;
		k->sync_due = true;
		link_send(k);
	}
	late = k->merge_late;
	if (!late
	    && (k->ring_n > 0 || k->sending || k->f_head != NULL
	        || !link_hb_settled(k))) {
		return;
	}
	stat_add(&merged, 1);
	arb__log(late && k->ring_envs > 0 ? ARB_LOG_WARN : ARB_LOG_INFO,
	    NULL,
	    "event=link_merged url=%s peer=%s creation=%u kept=peer "
	    "unacked=%llu",
	    k->url, k->peer.name, (unsigned) k->peer.creation,
	    (unsigned long long) k->ring_envs);
	k->quiet = true;
	arb__link_down(k); // then after_down adopts the candidate
}

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
	link_early_close(k, rv);
	if (rv != 0 || k->state != L_UP) {
		arb__link_flight_settle(k, k->f_done + (rv == 0 ? n : 0));
		arb__link_down(k);
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
		if (k->rd != NULL && !arb__conn_send(k->rd, k->saio)) {
			// (Closed by its reader meanwhile: as a failed send.)
			arb__link_flight_settle(k, k->f_done);
			arb__link_down(k);
		} else {
			k->sending = true;
			k->ops++;
			k->sops++;
			if (k->rd == NULL) {
				nng_stream_send(k->s, k->saio);
			}
		}
	} else if (k->elsewhere && !k->auth_due) {
		// Our AUTH flagged "not the node this link is for" is out
		// (link_elsewhere): the stream has served its purpose.
		k->hello_sent = true;
		k->niov = 0;
		arb__link_flight_settle(k, k->f_done + n);
		arb__link_down(k);
	} else {
		// Written: keep only what the ACK needs.
		k->hello_sent = true;
		for (ch = k->f_head; ch != NULL; ch = next) {
			next = ch->next;
			if (ch->seq <= k->acked_seq) {
				// Acknowledged before this callback ran.
				arb__origin_settle(ch->origin, ch->nenv);
			} else if (!link_ring_push(k, ch)) {
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
		if (k->merging) {
			link_merge_check(k);
		}
	}
	arb__link_sop_done(k);
	arb__link_op_done(k);
}

static void
link_recv_arm(arb__link *k)
{
	nng_iov iov;

	iov.iov_buf = k->rbuf + k->rlen;
	iov.iov_len = sizeof(k->rbuf) - k->rlen;
	if (k->rx != NULL && !k->greeted) {
		// A duplex stream's reader takes over after the HELLO reply:
		// read not a byte past it (its header, then the rest).
		size_t want = k->rlen < ARB__FR_HDR
		    ? ARB__FR_HDR
		    : arb__get_be32(k->rbuf);

		if (want > sizeof(k->rbuf) || want <= k->rlen) {
			want = k->rlen + 1; // link_parse refuses it
		}
		iov.iov_len = want - k->rlen;
	}
	nng_aio_set_iov(k->raio, 1, &iov);
	k->ops++;
	k->sops++;
	nng_stream_recv(k->s, k->raio);
}

// A refusal without a word: the listener closed before its HELLO reply
// (link_early_close).
static const char closed_brief[] = "closed before HELLO";

// link_note logs why a node link's peer was refused, at most once a
// second per link (the lines left out are counted in the next one): peer=
// is the node the link dials (a node link), else the one that answered,
// else "-".  The refusal becomes the link's last (brief, a string
// constant: arb__link_info, `arborctl peers`) unless it is one without a
// word within ARB__REFUSAL_KEEP_MS of one that said why (a failed dial's
// did not: nothing answered).  Under k->mtx.
static void
link_note(arb__link *k, const char *brief, const char *why)
{
	int64_t now = arb__now_ms(), sec = now / 1000;

	if (brief != closed_brief || k->refusal == NULL
	    || k->refusal == closed_brief || k->refusal == k->dial_brief
	    || now - k->refusal_ms >= ARB__REFUSAL_KEEP_MS) {
		k->refusal = brief;
		k->refusal_ms = now;
	}
	if (sec == k->log_sec) {
		k->log_suppressed++;
		return;
	}
	k->log_sec = sec;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=link_refused url=%s peer=%s reason=\"%s\" suppressed=%llu",
	    k->url,
	    k->name[0]            ? k->name
	        : k->peer.name[0] ? k->peer.name
	                          : "-",
	    why, (unsigned long long) k->log_suppressed);
	k->log_suppressed = 0;
}

// link_tls_note: a tls+tcp:// link's handshake failed (nng reports it on
// the first send or receive): the listener's certificate is not the CA's,
// has expired or does not name the node dialled, or the listener refused
// ours -- named when ours (or our CA's) is out of its validity period
// (nng says no more than NNG_ECRYPTO: arb__tls_validity).  Counted and
// logged once per connection.  Under k->mtx.
static void
link_tls_note(arb__link *k, int rv)
{
	if ((rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO) && k->state == L_UP
	    && !k->greeted && !k->noted) {
		char v[112], why[160];

		k->noted = true;
		stat_add(&k->cfg.stats->auth_failed, 1);
		if (arb__tls_validity(v, sizeof(v))) {
			snprintf(
			    why, sizeof(why), "TLS handshake failed: %s", v);
		} else {
			snprintf(why, sizeof(why), "%s",
			    "TLS handshake failed: its certificate is not our "
			    "CA's, has expired or does not name the node "
			    "dialled, or it refused ours");
		}
		link_note(k, "TLS handshake failed", why);
	}
}

// link_early_close: a node link's stream ended (rv) before the peer's
// HELLO reply, and not in a TLS handshake that failed (link_tls_note) or
// by our own close (the state is then no longer L_UP): the listener
// refused us without a word -- a tls+tcp:// listener that a tcp:// link
// reached (its TLS handshake fails on our plain HELLO: it says so only
// in its own log), a tcp:// listener that a tls+tcp:// link reached, a
// node that does not list this one or has no cookie, or our address
// backed off.  Counted (refused) and logged once per connection.  Under
// k->mtx.
static void
link_early_close(arb__link *k, int rv)
{
	if (rv == 0 || rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO
	    || k->state != L_UP || k->greeted || k->noted
	    || k->name[0] == '\0') {
		return;
	}
	k->noted = true;
	stat_add(&k->cfg.stats->refused, 1);
	link_note(k, closed_brief,
	    strncmp(k->url, "tls+tcp://", 10) == 0
	        ? "it closed before its HELLO reply (is it a tcp:// "
	          "listener? does it list this node?)"
	        : "it closed before its HELLO reply (is it a tls+tcp:// "
	          "listener? does it list this node?)");
}

// A refusal by silence: no HELLO reply in time (link_hello_late); or a
// connect nng called done that never was.
static const char late_brief[] = "no HELLO reply";
static const char unconnected_brief[] = "connect did not complete";

// link_hello_late: a node link's connection had no HELLO reply within
// hello_ms of connecting, of the time this process ran (link_hb_cb
// judges it): the listener accepted and says nothing (a hung or hostile
// peer, a stopped node whose kernel still accepts, a middlebox holding a
// half-open connection, a TLS handshake that never ends).  Counted
// (refused) and logged once per connection; the stream goes down (no
// DOWN: it was never greeted), and the link adopts its candidate or
// redials with backoff (arb__link_after_down).  nng 1.5.2's TCP dialer
// now and then calls a connect done that never was (a peer or firewall
// that drops our SYNs; docs/multinode.md, "Links between nodes"): such a
// stream has no peer address -- NNG_OPT_REMADDR is getpeername(2) there,
// ENOTCONN while the SYN is unanswered -- and is said as such ("connect
// did not complete"), not as a listener that accepted and said nothing.
// Counted (refused) as before.  Under k->mtx.
static void
link_hello_late(arb__link *k)
{
	char         why[160];
	nng_sockaddr sa;

	if (!k->noted) {
		k->noted = true;
		stat_add(&k->cfg.stats->refused, 1);
		if (k->s != NULL
		    && nng_stream_get_addr(k->s, NNG_OPT_REMADDR, &sa) != 0) {
			snprintf(why, sizeof(why),
			    "connect did not complete within %d ms (nng "
			    "said it did; a peer or firewall that drops our "
			    "SYNs?)",
			    k->cfg.hello_ms);
			link_note(k, unconnected_brief, why);
		} else {
			snprintf(why, sizeof(why),
			    "no HELLO reply within %d ms (it accepted the "
			    "connection and said nothing: a hung peer, or a "
			    "middlebox holding it?)",
			    k->cfg.hello_ms);
			link_note(k, late_brief, why);
		}
	}
	arb__link_down(k);
}

// link_tls_answer: what the peer sent where its HELLO reply was due
// begins with a TLS record (a handshake or an alert: 0x16 or 0x15, then
// version 3.x): a tls+tcp:// listener that a tcp:// link reached.
// Counted (refused) and logged once per connection.  Under k->mtx.
static bool
link_tls_answer(arb__link *k)
{
	if (k->greeted || k->rlen < 2
	    || (k->rbuf[0] != 0x15 && k->rbuf[0] != 0x16)
	    || k->rbuf[1] != 0x03) {
		return false;
	}
	if (!k->noted) {
		k->noted = true;
		stat_add(&k->cfg.stats->refused, 1);
		link_note(k, "a tls+tcp:// listener",
		    "it answered with TLS: it is a tls+tcp:// listener, this "
		    "link is tcp://");
	}
	return true;
}

// link_same_peer: a and b are HELLOs of the same node and incarnation,
// in the same role (what the watcher judges).
static bool
link_same_peer(const arb__hello *a, const arb__hello *b)
{
	return a->node_id == b->node_id && a->creation == b->creation
	    && a->role == b->role && strcmp(a->name, b->name) == 0;
}

// link_cand_up: the link keeps a proven stream of its peer as its
// candidate while it has no greeted stream of its own (it dials, its
// dial is in its handshake, or it has not started): the watcher is told
// UP now, with the candidate's HELLO (k->cand_up).  The peer is UP for
// itself already (it sends DATA on that stream, which this node
// delivers); before, this node counted it UP only once its own dial was
// greeted, and meanwhile refused its answers to the peer (ARB_ENOENT at
// arb_reply: the peer's call waited out its timeout).  A candidate the
// watcher refuses is given back.  Under k->mtx.
static void
link_cand_up(arb__link *k)
{
	arb__conn *c = k->cand;

	if (c == NULL || k->cand_up || k->quiet || k->watch == NULL
	    || (k->state == L_UP && k->greeted) || k->state == L_CLOSED
	    || k->state == L_GONE) {
		return;
	}
	if (!k->watch(k->watch_arg, ARB__LINK_EV_UP, arb__conn_hello(c))) {
		k->cand = NULL;
		arb__conn_unhold(c);
		return;
	}
	k->cand_up = true;
}

// link_elsewhere: the acceptor, whose proof of the cookie was good,
// names another node than the one this node link is for (k->name): a
// URL of node.peers that is another peer's (two entries swapped).  Said
// as such ("expected node X at URL, found Y"), and said to the acceptor
// too: our AUTH, flagged ARB__AUTH_F_ELSEWHERE, proves that the cookie is
// shared, so that its side does not read our hanging up as another
// cookie; the stream closes once it is written (link_send_cb) and
// nothing else goes on it (not authed).  Under k->mtx.
static bool
link_elsewhere(arb__link *k)
{
	char why[ARB__NODE_NAME_MAX * 3 + 600];

	if (k->name[0] == '\0' || strcmp(k->peer.name, k->name) == 0) {
		return false;
	}
	snprintf(why, sizeof(why),
	    "expected node %s at %s, found node %s (it has the cookie: is "
	    "this the URL of %s? two peers' URLs swapped?)",
	    k->name, k->url, k->peer.name, k->peer.name);
	stat_add(&k->cfg.stats->refused, 1);
	link_note(k, "another node answers", why);
	arb__frame_hdr(
	    k->authfr, ARB__FR_AUTH_LEN, ARB__FR_AUTH, ARB__AUTH_F_ELSEWHERE);
	arb__auth_proof(k->cfg.cookie, false, k->nonce, k->peer.auth,
	    k->cfg.self.name, k->peer.name, k->authfr + ARB__FR_HDR);
	k->auth_due = true;
	k->elsewhere = true;
	link_send(k);
	return true;
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
			    k->peer.auth_len == 0 ? "no cookie"
			                          : "wrong cookie",
			    k->peer.auth_len == 0
			        ? "it offers no authentication (insecure)"
			        : "it failed authentication (wrong cookie?)");
			return false;
		}
		if (link_elsewhere(k)) {
			return true; // closes once its AUTH is written
		}
		arb__frame_hdr(k->authfr, ARB__FR_AUTH_LEN, ARB__FR_AUTH, 0);
		arb__auth_proof(ck, false, k->nonce, k->peer.auth,
		    k->cfg.self.name, k->peer.name, k->authfr + ARB__FR_HDR);
		k->auth_due = true;
	}
	if (k->rx != NULL && k->peer.duplex) {
		// A duplex stream: a connection of the node's listener reads
		// it from here on (the link read nothing past the reply) and
		// the link writes for both.
		if ((k->rd = arb__lsn_attach(
		         k->rx, k, &link_conn_ops, k->s, &k->peer))
		    == NULL) {
			return false; // the listener closes, or no memory
		}
	}
	if (k->cand_up
	    && !link_same_peer(arb__conn_hello(k->cand), &k->peer)) {
		// Told UP with its candidate, another node or incarnation
		// answers: that UP ends, this one is told (or refused).
		arb__link_cand_down(k, k->cand);
	}
	if (!k->cand_up && k->watch != NULL
	    && !k->watch(k->watch_arg, ARB__LINK_EV_UP, &k->peer)) {
		char why[ARB__NODE_NAME_MAX * 2 + 400];

		// (With a cookie, another name is link_elsewhere's first.)
		snprintf(why, sizeof(why),
		    "expected node %s at %s, found node %s",
		    k->name[0] ? k->name : "-", k->url, k->peer.name);
		link_note(k, "another node answers", why);
		return false;
	}
	k->cand_up = false; // the UP told is this stream's now
	k->greeted = true;
	k->dial_brief = NULL; // up: a dial failing again is news
	k->authed = true;
	k->attempt = 0; // a good connection resets the backoff
	k->heard_ms = arb__now_ms();
	k->peer_creation = k->peer.creation;
	// The peer's stream proved itself first: ours is retired for it
	// (only AUTH and SYNC go on it), else AUTH and whatever waited.
	link_merge_check(k);
	if (!k->merging && k->state == L_UP) {
		link_send(k);
		arb__hb_open(k);
	}
	return true;
}

// link_ctl_frame takes an ACK, PAUSE or RESUME frame p about the DATA
// this link wrote.  False: another type, or no memory.  Under k->mtx.
static bool
link_ctl_frame(arb__link *k, uint8_t type, const uint8_t *p)
{
	size_t i;

	if (type == ARB__FR_ACK) {
		link_ack(k, arb__get_be64(p + ARB__FR_HDR));
		k->sync_sent = false;
		pthread_cond_broadcast(&k->cv);
		if (k->merging) {
			link_merge_check(k);
		} else if (k->q_head != NULL) {
			link_send(k); // the window may have opened
		}
	} else if (type == ARB__FR_PAUSE) {
		uint32_t mbid = arb__get_be32(p + ARB__FR_HDR);
		if (!link_paused(k, mbid)) {
			if (k->npaused == k->cap_paused) {
				size_t    cap = k->cap_paused
				       ? k->cap_paused * 2
				       : 4;
				uint32_t *n = arb__realloc(k->paused, cap * 4);
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
		} else if (!link_ctl_frame(k, type, p)) {
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
	link_early_close(k, rv);
	if (rv == 0 && k->state == L_UP) {
		k->rlen += nng_aio_count(k->raio);
		if (link_parse(k)) {
			if (k->rd == NULL) {
				link_recv_arm(k); // else the reader reads on
			}
		} else {
			if (!link_tls_answer(k)) {
				stat_add(&k->cfg.stats->bad_frames, 1);
			}
			arb__link_down(k);
		}
	} else {
		arb__link_down(k);
	}
	arb__link_sop_done(k);
	arb__link_op_done(k);
}

// link_dial_note: a node link's dial failed for a reason (brief, a
// string constant; why, in whole): the peer's last refusal from now
// (arborctl peers' LAST REFUSAL), and a line when the reason is not the
// last failed dial's -- one per change, not one per redial (a peer that
// is down is redialled every 50-500 ms; once the link was up, the next
// failure is news again).  Not counted in links_refused: no peer
// refused anything.
// Under k->mtx.
static void
link_dial_note(arb__link *k, const char *brief, const char *why)
{
	k->refusal = brief;
	k->refusal_ms = arb__now_ms();
	if (brief == k->dial_brief) {
		return;
	}
	k->dial_brief = brief;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=link_dial_failed url=%s peer=%s reason=\"%s\"", k->url,
	    k->name, why);
}

// link_dial_failed: a node link's dial failed (rv).  In nng 1.5.2 a host
// that does not resolve fails it with NNG_EADDRINVAL (no such name) or
// NNG_EAGAIN (the resolver did not answer) and no more, and the link was
// redialled in silence for ever.  The link looks the host up itself, off
// nng's threads (tp_resolve.c), and from the next failed dial on names
// it with the resolver's reason, as a refusal (link_note: at most a line
// a second; the peer's last refusal).  A dial that times out (the dial's
// budget, hello_ms, holds the host's lookup and the connect) is the
// resolver's fault or the connect's: the same lookup tells which
// (arb__resolve_timed).  Those and a dial refused (nothing listens) or
// failing otherwise are said once per change of reason (link_dial_note).
// Under k->mtx.
static void
link_dial_failed(arb__link *k, int rv)
{
	static const char unresolved[] = "host not resolved";
	char              why[400];

	if (k->name[0] == '\0' || rv == NNG_ECANCELED || rv == NNG_ECLOSED) {
		return;
	}
	if (rv == NNG_EADDRINVAL || rv == NNG_EAGAIN || rv == NNG_ETIMEDOUT) {
		if (k->res == NULL
		    && arb__resolve_alloc(&k->res, k->url) != ARB_OK) {
			return; // no host to look up (or no memory: next time)
		}
	}
	if (rv == NNG_EADDRINVAL || rv == NNG_EAGAIN) {
		if (arb__resolve_why(k->res, rv, why, sizeof(why))) {
			link_note(k, unresolved, why);
			k->dial_brief = unresolved;
		}
		return;
	}
	if (rv == NNG_ETIMEDOUT) {
		switch (arb__resolve_timed(
		    k->res, k->cfg.hello_ms, why, sizeof(why))) {
		case ARB__TIMED_RESOLVER:
			link_dial_note(k, "resolver timed out", why);
			return;
		case ARB__TIMED_UNRESOLVED:
			link_dial_note(k, unresolved, why);
			return;
		case ARB__TIMED_CONNECT:
			snprintf(why, sizeof(why),
			    "no answer to the connect within %d ms (packets "
			    "dropped: a firewall, a host that is off, a "
			    "wrong address?)",
			    k->cfg.hello_ms);
			link_dial_note(k, "connect timed out", why);
			return;
		default:
			return; // the lookup says which at a next dial
		}
	}
	if (rv == NNG_ECONNREFUSED) {
		link_dial_note(k, "connection refused",
		    "connection refused: nothing listens there (the peer "
		    "not running, or another port?)");
		return;
	}
	snprintf(why, sizeof(why), "dial failed: %s", nng_strerror(rv));
	link_dial_note(k, "dial failed", why);
}

static void
link_dial_cb(void *arg)
{
	arb__link *k = arg;
	int        rv = nng_aio_result(k->daio);

	pthread_mutex_lock(&k->mtx);
	if (k->state != L_DIAL) {
		// Closed, or the link adopted a stream of its peer meanwhile
		// (arb__link_offer cancelled this dial).
		if (rv == 0) {
			nng_stream_free(nng_aio_get_output(k->daio, 0));
		}
	} else if (rv != 0) {
		link_dial_failed(k, rv);
		k->state = L_DOWN;
		arb__link_after_down(k);
	} else {
		k->s = nng_aio_get_output(k->daio, 0);
		stream_nodelay(k->s);
		k->state = L_UP;
		k->greeted = false;
		k->noted = false;
		k->elsewhere = false;
		k->authed = k->cfg.cookie == NULL;
		k->hello_sent = false;
		k->adopted = false;
		k->hello_from = arb__now_ms();
		memset(&k->hellosil, 0, sizeof(k->hellosil));
		{
			arb__hello h = k->cfg.self;

			if (k->cfg.cookie != NULL) {
				// A fresh challenge for each connection.
				if (arb__auth_nonce(k->nonce) != ARB_OK) {
					memset(k->nonce, 0, sizeof(k->nonce));
				}
				h.auth_len = ARB__AUTH_NONCE;
				memcpy(h.auth, k->nonce, ARB__AUTH_NONCE);
			}
			h.duplex = k->rx != NULL; // the listener reads it
			k->hello_len = arb__hello_encode(k->hello, &h, false);
		}
		k->next_seq = 1;
		k->next_env = 0;
		k->acked_seq = 0;
		k->rlen = 0;
		link_recv_arm(k);
		link_send(k);
	}
	arb__link_op_done(k);
}

// link_hb_arm owes the heartbeat timer's callback (one operation) in
// ms.  Under k->mtx.
static void
link_hb_arm(arb__link *k, int64_t ms)
{
	if (k->hbt_ok && !k->hbt_armed && k->state != L_CLOSED) {
		k->hbt_armed = true;
		k->hbt_due = arb__now_ms() + (ms > 1 ? ms : 1);
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
// A run well after its time means this process did not run: that time
// is not the peer's silence (arb__silence_judge), and a heartbeat goes
// at once, so the peer is heard again within a round trip.  Before, a
// node back from a stall of over the budget (a machine at load 5 on 2
// cores, a paused VM) took a live peer DOWN before it read the echo
// waiting in its socket -- and when both had stalled, both did.
static void
link_hb_cb(void *arg)
{
	arb__link *k = arg;
	int64_t    budget = (int64_t) k->cfg.hb_ms * k->cfg.hb_miss;
	int64_t    now = arb__now_ms();
	int64_t    next = now + k->cfg.hb_ms;
	int64_t    judge, merge_judge = INT64_MAX, hello_judge = INT64_MAX;
	int64_t    dial_judge = INT64_MAX;

	pthread_mutex_lock(&k->mtx);
	k->hbt_armed = false;
	if (k->merging) {
		// Its time up: the budget of the time this process ran.
		if (!k->merge_late && budget > 0
		    && arb__silence_judge(&k->mergesil, now, k->hbt_due,
		        k->merge_ms, budget, k->cfg.hb_ms, &merge_judge)) {
			k->merge_late = true;
		}
		link_merge_check(k); // its channel settled, or its time up
	}
	if (k->state == L_DIAL && k->rx != NULL && k->cfg.hello_ms > 0
	    && arb__silence_judge(&k->dialsil, now, k->hbt_due, k->dial_from,
	        k->cfg.hello_ms, k->cfg.hb_ms, &dial_judge)) {
		// A node link's connect by hello_ms of the time this process
		// ran: a peer behind NAT or a firewall that drops our SYNs
		// would hold it for the kernel's retries (minutes), and a
		// stream the peer dialled into us waits for it to fail
		// (arb__link_offer).  The dial ends with NNG_ETIMEDOUT, as
		// with an nng timeout (link_dial_cb: down, then redialled).
		// Before, that timeout was nng's, of wall time: a stall of
		// this process over hello_ms ended the dial as it ended.
		nng_aio_abort(k->daio, NNG_ETIMEDOUT);
		dial_judge = INT64_MAX; // (again each run until it ends)
	}
	if (k->state == L_UP && !k->greeted && k->rx != NULL
	    && k->cfg.hello_ms > 0) {
		// A node link's dial in its handshake: the HELLO reply by
		// hello_ms of the time this process ran, as the listener
		// holds a dialer to its HELLO (link_hello_late).  Before, a
		// listener that accepted and never answered held the dial
		// in its handshake for good.
		if (arb__silence_judge(&k->hellosil, now, k->hbt_due,
		        k->hello_from, k->cfg.hello_ms, k->cfg.hb_ms,
		        &hello_judge)) {
			link_hello_late(k);
			hello_judge = INT64_MAX;
		}
	}
	// (On a stream the peer dialled, the peer sends the heartbeats and
	// this node's listener times them: conn_hbw_cb, peer.c.)
	if (k->state == L_UP && k->greeted && !k->adopted) {
		int64_t silent = now - k->heard_ms;

		if (arb__silence_judge(&k->hbsil, now, k->hbt_due,
		        k->heard_ms, budget, k->cfg.hb_ms, &judge)) {
			stat_add(&k->cfg.stats->hb_timeouts, 1);
			arb__log(ARB_LOG_WARN, NULL,
			    "event=heartbeat_timeout url=%s peer=%s "
			    "silent_ms=%lld stalled_ms=%lld",
			    k->url, k->peer.name, (long long) silent,
			    (long long) k->hbsil.stalled);
			arb__link_down(k);
		} else {
			bool woke = k->hbsil.woke == now;

			if (woke && silent > budget) {
				arb__log(ARB_LOG_INFO, NULL,
				    "event=heartbeat_stall url=%s peer=%s "
				    "silent_ms=%lld stalled_ms=%lld",
				    k->url, k->peer.name, (long long) silent,
				    (long long) k->hbsil.stalled);
			}
			if (now >= k->hb_next_ms || woke) {
				k->hb_due = true;
				k->hb_next_ms = now + k->cfg.hb_ms;
				arb__hb_send(k);
			}
			next = k->hb_next_ms;
			if (judge < next) {
				next = judge;
			}
		}
	}
	if (k->merging && merge_judge < next) {
		next = merge_judge;
	}
	if (hello_judge < next) {
		next = hello_judge;
	}
	if (dial_judge < next) {
		next = dial_judge;
	}
	link_hb_arm(k, next - now);
	arb__link_op_done(k);
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
arb__link_name(arb__link *k, const char *name)
{
	pthread_mutex_lock(&k->mtx);
	snprintf(k->name, sizeof(k->name), "%s", name);
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
	info->adopted = k->state == L_UP && k->adopted;
	info->refusal = k->refusal;
	info->refusal_ms = k->refusal_ms;
	// (A failed dial's is no word of the peer's either: it does not
	// hide the listener's refusal of a stream the peer dialled.)
	info->refusal_bare = k->refusal == closed_brief
	    || (k->refusal != NULL && k->refusal == k->dial_brief);
	if (info->adopted && k->rd != NULL) {
		// No heartbeats of ours: the peer's, as the listener heard
		// them (no round trip).
		info->last_hb_ms = arb__conn_heard(k->rd);
		info->rtt_us = arb__conn_rtt(k->rd);
	}
	if (k->cand_up) {
		// Told UP with the peer's stream while its own dial is under
		// way: up on a stream the peer dialled, as when adopted (the
		// node's view of the peer, arb__peers_info, says UP as its
		// watcher was told; the listener times that stream).
		info->up = true;
		info->adopted = true;
		info->last_hb_ms = arb__conn_heard(k->cand);
		info->rtt_us = arb__conn_rtt(k->cand);
	}
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
			arb__link_after_down(k);
		} else {
			link_dial(k);
		}
	}
	arb__link_op_done(k);
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
	k->merge_check = link_merge_check;
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
	        && ((rv = nng_aio_alloc(&k->hdaio, arb__hb_dial_cb, k)) != 0
	            || (rv = nng_aio_alloc(&k->hsaio, arb__hb_send_cb, k)) != 0
	            || (rv = nng_aio_alloc(&k->hraio, arb__hb_recv_cb, k))
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
	case L_CLOSED:
		rv = ARB_ENOENT;
		break;
	case L_GONE:
		if (k->gone == NULL || k->gone(k->gone_arg)) {
			rv = ARB_ENOENT;
			break;
		}
		// Back: its closed slot runs again (a new incarnation).
		k->state = L_IDLE;
		// fall through
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
arb__link_set_reader(arb__link *k, arb__lsn *lsn)
{
	pthread_mutex_lock(&k->mtx);
	k->rx = lsn;
	pthread_mutex_unlock(&k->mtx);
}

void
arb__link_offer(arb__link *k, arb__conn *c)
{
	arb__conn *old = NULL;

	if (!arb__conn_hold(c, k, &link_conn_ops)) {
		return; // closing already, or another link's
	}
	pthread_mutex_lock(&k->mtx);
	if (k->state == L_CLOSED || k->state == L_GONE || k->rd == c
	    || k->cand == c) {
		old = c; // (an offer is made once per stream)
	} else {
		old = k->cand;
		k->cand = c;
		if (old != NULL && k->cand_up
		    && !link_same_peer(
		        arb__conn_hello(old), arb__conn_hello(c))) {
			// Another incarnation's: the UP told with old ends.
			arb__link_cand_down(k, old);
		}
		if (k->state == L_WAIT
		    || (k->state == L_IDLE && !k->cfg.keep_up)) {
			// No stream of our own (none dialled, or our dials
			// fail): the peer's is the one this node sends on.
			// (A dial under way keeps c as its candidate: c is
			// adopted if it fails; so does a kept-up link not
			// started yet, which dials first.)
			if (arb__link_adopt_cand(k)) {
				link_send(k);
			}
		} else {
			link_cand_up(k); // (no stream of its own greeted yet)
			link_merge_check(k); // both dialled: one is kept
		}
	}
	if (old != NULL) {
		arb__conn_unhold(old);
	}
	pthread_mutex_unlock(&k->mtx);
}

static bool
link_rx(arb__link *k, arb__conn *c, uint8_t type, const uint8_t *fr)
{
	bool ok = true;

	pthread_mutex_lock(&k->mtx);
	if (k->rd == c && k->state == L_UP) {
		ok = link_ctl_frame(k, type, fr);
	}
	pthread_mutex_unlock(&k->mtx);
	return ok;
}

static void
link_detach(arb__link *k, arb__conn *c)
{
	pthread_mutex_lock(&k->mtx);
	if (k->cand == c) {
		k->cand = NULL;
		arb__link_cand_down(k, c);
		arb__conn_unhold(c);
	}
	if (k->rd == c) {
		arb__link_down(k); // rd is given back once sops end
	}
	pthread_mutex_unlock(&k->mtx);
}

static void
link_poke(arb__link *k)
{
	pthread_mutex_lock(&k->mtx);
	if (k->rd != NULL) {
		link_send(k);
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
	arb__link_drop_queue(k);
	arb__link_count_lost(k);
	arb__link_free_flight(k);
	// (No reader or candidate is left: each holds a reference of the
	// link until its connection ends.)
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
	arb__resolve_free(k->res);
	waitset_fini(&k->waiters);
	arb__buf_fini(&k->cbuf);
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
