// SPDX-License-Identifier: MIT
// tp_int.h -- transport-private header of the links over nng streams
// (link.h; the protocol is in docs/wire.md): the objects that the
// accepting side (tp_lsn.c, tp_conn.c) and the dialling side (tp_link.c,
// tp_link_down.c, tp_hb.c) share among their own files.  Only those
// files include it.
//
// arbor uses nng's stream API only (nng_stream_listener /
// nng_stream_dialer / nng_stream_send / nng_stream_recv with aios): no SP
// socket, so none of nng 1.5.2's SP defects (a listener or dialer made
// deaf by a peer that closes during the SP handshake, nng#1518; a PUSH
// pipe freed while still queued, nng#1653) can reach arbor; an error
// reaches only its own stream.  The tp_*.c files (through this header)
// are the ones that include <nng/nng.h>.
//
// Threads: every aio callback runs on one of nng's threads.  Callbacks
// never block, never call nng_aio_stop (objects are freed with
// nng_aio_reap / nng_stream_free, which nng defers to its reaper) and hand
// frames to mailboxes through the listener's ops.  Each object counts
// its outstanding aio operations under its own mutex; the callback that
// ends the last one of a closed object frees it.
//
// Layers, each calling only downwards: tp_lsn.c -> tp_conn.c;
// tp_link.c -> tp_hb.c -> tp_link_down.c.

#ifndef ARB_TP_INT_H
#define ARB_TP_INT_H

#include "link.h"

#include <event2/event.h>
#include <nng/nng.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>

static inline void
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

static inline void
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

static inline void
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
static inline void
waitset_wake(waitset *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		event_active(w->ev[i], 0, 0);
	}
	w->n = 0;
}

static inline void
waitset_fini(waitset *w)
{
	arb__free(w->ev);
	memset(w, 0, sizeof(*w));
}

// stream_nodelay turns Nagle's algorithm off on a TCP stream (nng's
// streams leave it on; an ipc stream has no such option; a tls+tcp one
// hands it to its TCP connection: nng 1.5.2's tls_set passes options it
// does not know down).  With it on, a small frame written while an
// earlier one waits for its TCP ACK is held until that ACK, which the
// peer sends with its delayed link ACK (ack_delay_ms): every call
// between nodes took 5 ms, over tcp:// and tls+tcp:// alike.
static inline void
stream_nodelay(nng_stream *s)
{
	(void) nng_stream_set_bool(s, NNG_OPT_TCP_NODELAY, true);
}

// ---------------------------------------------------------------------------
// Accepted connections (tp_conn.c) and their listener (tp_lsn.c)
// ---------------------------------------------------------------------------
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
	// Duplex node streams (docs/multinode.md, "One stream per pair"):
	// the dialer reads DATA on it (its HELLO said so and our reply
	// agreed), so our node's link to that peer may send on it.  wr (one
	// reference; set once, under mtx): the link that writes on this
	// stream from then on -- every frame of ours (ACK, PAUSE, RESUME) is
	// queued for it (arb__conn_out) and it is poked through `timer`;
	// the ACK, PAUSE and RESUME we read are handed to it
	// (arb__link_rx).  dialled: this connection is the receiving half of
	// a stream our link dialled (arb__lsn_attach), not an accepted one:
	// no token, never proven, no heartbeat watch.
	bool       duplex;
	bool       dialled;
	arb__link *lk;       // the link holding c (offered or writing), one
	                     // reference; set once, under mtx
	const struct arb__conn_link_ops *lops; // lk's, set with it
	bool       wr;       // lk writes on c's stream (under mtx)
	bool       detached; // lk was told c is closing
	bool       replaced; // closed for a newer proven stream of its node
	                     // (conn_replace_older; under mtx)
	// A heartbeat channel whose dialer echoes our heartbeats (its HELLO's
	// duplex flag): we send one every hb_ms on `timer` once it proved
	// itself, and its echoes give its data stream's round trip (rtt_us,
	// -1 none yet; under the data stream's mtx): what a link that
	// adopted that stream shows (docs/wire.md, "Heartbeat channel").
	bool       hbdup;
	int64_t    rtt_us;
	// The peer's IP address (a TCP listener's connections only): what
	// its failures back off (penalty.c), with the node name its HELLO
	// claimed once one came (pen_name; "" before).
	bool            has_src;
	uint8_t         src[ARB__PENALTY_ADDR];
	char            src_str[INET6_ADDRSTRLEN];
	char            pen_name[64];
	// The source's share of the listener's unproven connections while
	// c counts in it (accepted, not yet proved: tp_lsn.c; NULL else).
	// Under lsn->mtx.
	struct arb__unp_src *unp;
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
	// The order in which data streams' HELLOs were taken (with token,
	// under lsn->mtx): which of two streams of one node is the newer.
	uint64_t born;
	// A node listener's data stream that proved itself (under
	// lsn->mtx, set by conn_replace_older): only those replace, and
	// are replaced by, one another.
	bool proven;
	// The acceptor's own failure detection of a node listener's data
	// stream (conn_hb_watch; docs/multinode.md, "Failure detection"):
	// closed when its heartbeat channel brought nothing for hbw_budget
	// ms.  Under mtx; hbw_heard is set by the channel's receive callback
	// (with lsn->mtx, which holds data_of).
	arb__ttimer  hbw;
	bool         hbw_ok;    // hbw initialised (a node listener's)
	bool         hbw_armed; // its callback is owed (one op)
	int64_t      hbw_heard; // proof, the channel's HELLO, its last HB
	int64_t      hbw_budget;
	int64_t      hbw_due; // when hbw was armed to run
	arb__silence hbw_sil; // hbw_heard's silence, less stalls
	// The HELLO deadline of an accepted connection (conn_hlt_cb): HELLO
	// and, with a cookie, AUTH within cfg.hello_ms of hello_from, of the
	// time this process ran (hlt_sil), judged on `hlt` every grace ms
	// (conn_hlt_grace); late, the receive in hand ends with NNG_ETIMEDOUT
	// (nng_aio_abort) and the next one at once.  Under mtx; hlt_open is
	// set by conn_recv (not yet HELLO and AUTH: the deadline holds).
	arb__ttimer  hlt;
	bool         hlt_ok;     // hlt initialised (an accepted connection)
	bool         hlt_armed;  // its callback is owed (one op)
	bool         hlt_open;   // the receive under way is the handshake's
	bool         hello_late; // the deadline passed
	int64_t      hello_from; // accepted (arb__now_ms)
	int64_t      hlt_due;    // when hlt was armed to run
	arb__silence hlt_sil;    // hello_from's wait, less stalls
	// Receive state: touched only by the receive callback (one
	// receive is outstanding at a time), so it needs no lock.
	uint8_t    *stage;
	size_t      stage_cap; // its size: STAGE_SMALL until proven
	size_t      stage_len; // bytes read into stage
	arb__chunk *big;       // a large DATA or CTL frame read in place
	uint8_t     big_type;
	size_t      big_have; // bytes of big->data already read
	uint64_t    expect;   // next DATA seq
	uint64_t    expect_env; // envelopes received in sequence so far
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

// A source address's unproven connections on a listener (tp_lsn.c): one
// entry of a pool of cfg.max_unproven, free while n is 0.
typedef struct arb__unp_src {
	uint8_t  addr[ARB__PENALTY_ADDR];
	uint32_t n;
} arb__unp_src;

struct arb__lsn {
	pthread_mutex_t      mtx;
	pthread_cond_t       cv;
	nng_stream_listener *l;
	nng_aio             *aio;
	char                 url[300]; // its port 0 made the bound one
	int                  perms;
	const arb__lsn_ops  *ops;
	void                *arg;
	arb__link_cfg        cfg;
	arb__conn           *conns;
	size_t               nconns;
	// Bytes of the connections' stage buffers (arb__lsn_stage_bytes).
	_Atomic size_t stage_bytes;
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
	uint64_t     born; // data streams whose HELLO was taken (under mtx)
	// The bound on unproven connections (cfg.max_unproven; TCP only):
	// how many count now, their sources (a pool of max_unproven), and
	// the log of connections closed for it: one line a second.
	size_t        unproven;
	arb__unp_src *unp;
	int           unp_src_max; // cfg.max_unproven_src, or max_unproven
	int64_t       unp_log_sec;
	uint64_t      unp_suppressed;
};

// tp_conn.c, for the listener (tp_lsn.c).  arb__conn_start returns the
// connection (NULL: no memory; s is freed).
arb__conn *arb__conn_start(
    arb__lsn *l, nng_stream *s, const uint8_t *src, const char *str);
// arb__conn_unp_release: c no longer counts among l's unproven
// connections (it proved itself, is being freed, or was closed to make
// room: tp_lsn.c).  Under l->mtx; idempotent.
void arb__conn_unp_release(arb__lsn *l, arb__conn *c);
void arb__conn_resume_locked(arb__conn *c, uint32_t mbid);
void arb__conn_kick_send(arb__conn *c);
void arb__conn_close_locked(arb__conn *c);
// What a connection asks of the link that holds it (tp_link.c gives them
// with the link: the connection's files call no function of the link's
// by name, since the link's call the connection's).  rx takes an ACK,
// PAUSE or RESUME frame c read for k (false: k has no memory for it; c
// closes); a frame read by a connection that is no longer k's reader is
// ignored.  detach: c is closing (its reader's receive failed, or it was
// closed): k's stream on it goes down, and a candidate c is dropped.
// poke: c has something to send.  ref, rele: k's references.  All but
// ref take k's lock: called with no lock of c or its listener held
// (rele too: it is never the last).
typedef struct arb__conn_link_ops {
	bool (*rx)(
	    arb__link *k, arb__conn *c, uint8_t type, const uint8_t *fr);
	void (*detach)(arb__link *k, arb__conn *c);
	void (*poke)(arb__link *k);
	void (*ref)(arb__link *k);
	void (*rele)(arb__link *k);
} arb__conn_link_ops;

// Duplex streams: the link side of a connection (tp_conn.c).  hold takes
// one operation of c (false: c is closing); unhold gives it back (c may
// be freed then: called with no lock of c's listener or of c held; a
// link's lock may be held).  hold ties c to k for good (one reference of
// k): false when c is closing or another link holds it.  set_writer
// makes k c's one writer.  out appends what c has to send (ACK, PAUSE, RESUME)
// to b: false while c's own send is still under way (its HELLO reply or
// an ACK before k took over), and c pokes k when it ends.
bool arb__conn_hold(
    arb__conn *c, arb__link *k, const arb__conn_link_ops *ops);
void arb__conn_unhold(arb__conn *c);
void arb__conn_set_writer(arb__conn *c);
bool arb__conn_out(arb__conn *c, arb__buf *b);
nng_stream *arb__conn_stream(arb__conn *c);
bool        arb__conn_closing(arb__conn *c);
// arb__conn_send starts the send aio of c's writer (its link) on c's
// stream, unless c is closing: false then (c's detach follows).  nng
// 1.5.2's TCP streams take a send after their close and never end it
// (tcp_dowrite returns at once on a closed connection): the link's
// stream would never finish, c never be given back, and the listener's
// close would wait for it for good (a node hung at its exit).  Under c's
// lock, so c cannot close between the check and the send; called with
// the link's lock held.
bool arb__conn_send(arb__conn *c, nng_aio *aio);
// arb__conn_replaced: c was closed because a newer stream of its node
// proved itself (conn_replace_older): the node redialled, it knows the
// old stream is gone.
bool        arb__conn_replaced(arb__conn *c);
// arb__conn_poke has c's writer take what c has to send, on the timer
// thread (a link that adopted c and has DATA queued: tp_link_down.c).
void arb__conn_poke(arb__conn *c);
// arb__conn_heard: arb__now_ms() of c's proof or of the last heartbeat
// on its channel (a node listener's data stream; 0 otherwise).
int64_t arb__conn_heard(arb__conn *c);
// arb__conn_rtt: the round trip of the heartbeats our listener sends on
// c's channel (-1: none yet, or its dialer does not echo them).
int64_t arb__conn_rtt(arb__conn *c);
// arb__lsn_attach makes a connection of l the reader of stream s that
// link k dialled (peer: the acceptor's HELLO reply, proven), held once
// for k, with k its writer.  NULL: l is closing, or no memory.  Takes
// l's lock, then c's; called with k's lock held.
arb__conn *arb__lsn_attach(arb__lsn *l, arb__link *k,
    const arb__conn_link_ops *ops, nng_stream *s, const arb__hello *peer);
void arb__lsn_note(arb__lsn *l, bool refused, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// arb__lsn_backoff_note logs a connection of l closed because its source
// (src, text; and the node its HELLO named, name, or NULL when it was
// closed as accepted) is backed off for left_ms more: at most one line a
// second per listener, with the number of such connections since the
// last line.  Not under l's lock.
void arb__lsn_backoff_note(
    arb__lsn *l, const char *src, const char *name, int64_t left_ms);

// ---------------------------------------------------------------------------
// Dialled links (tp_link.c), their teardown (tp_link_down.c) and their
// heartbeat channel (tp_hb.c)
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
	// The highest seq the peer acknowledged on this stream (never past
	// the last one numbered): an ACK can overtake the end of the send
	// that wrote its frames -- the peer read them before nng's send
	// callback ran here -- and counts for them when it ends.
	uint64_t    acked_seq;
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
	bool               noted;     // this connection's refusal noted
	bool               hbt_armed; // its callback is owed (one op)
	int64_t            heard_ms;  // greeting or last echo
	int64_t            hbt_due;   // when hbt was armed to run
	arb__silence       hbsil;     // heard_ms's silence, less stalls
	int64_t            hb_next_ms; // when the next heartbeat is due
	int64_t            last_hb_ms;
	int64_t            rtt_us;
	uint32_t           peer_creation;
	arb__link_watch_fn watch;
	void              *watch_arg;
	// A node link's connection must have the peer's HELLO reply within
	// cfg.hello_ms of hello_from (when it connected, arb__now_ms), of
	// the time this process ran: link_hb_cb judges it (hellosil), as
	// the listener holds an accepted one to its HELLO.
	int64_t            hello_from;
	arb__silence       hellosil;
	// A node link's dial must connect within cfg.hello_ms of dial_from
	// (link_dial, arb__now_ms), of the time this process ran: link_hb_cb
	// judges it (dialsil) and aborts the dial (NNG_ETIMEDOUT), not an
	// nng aio timeout, which counts the process's stalls too.
	int64_t            dial_from;
	arb__silence       dialsil;
	// A node link: the node it dials (arb__link_name), named in its
	// refusal lines; "" otherwise.
	char               name[ARB__NODE_NAME_MAX];
	// Its last refusal (link_note): a brief reason, a string constant
	// (NULL: none yet), and when (arb__now_ms).
	const char        *refusal;
	int64_t            refusal_ms;
	int64_t            log_sec; // refusals logged: one a second
	uint64_t           log_suppressed;
	// This stream reached another node than k->name: its AUTH, flagged
	// ARB__AUTH_F_ELSEWHERE, is due or written, then the stream closes.
	bool               elsewhere;
	// The last reason a dial failed, logged once per change
	// (link_dial_note; a string constant; NULL: none since the link was
	// last up).
	const char        *dial_brief;
	// Its URL's host, looked up off nng's threads when a dial fails in
	// the resolver (link_dial_failed, tp_resolve.c); NULL until then.
	struct arb__resolve *res;
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
	                        + 2 * ARB__FR_HB_LEN];
	// The acceptor's last heartbeat on the channel, to echo (a node
	// link's channel: the listener reads its streams, k->rx).
	bool               hecho_due;
	uint8_t            hecho[ARB__FR_HB_LEN];
	size_t             hslen; // of hsbuf, the send under way
	size_t             hsoff; // of it, written
	uint8_t            hauth[ARB__FR_AUTH_LEN];
	uint8_t            hrbuf[LINK_RBUF];
	size_t             hrlen;
	arb__hello         hpeer; // its HELLO reply
	// Duplex node streams (docs/multinode.md, "One stream per pair"):
	// the link is the one writer of its stream and a connection of the
	// node's listener its one reader.  rx: the listener that reads the
	// streams this link dials (NULL: the link reads its own, as a
	// process link does).  rd: the connection that reads k->s, held (one
	// operation of it) until the stream's operations have ended; it owns
	// k->s.  adopted: k->s is a stream the peer dialled (rd accepted it):
	// no heartbeats of ours on it (the listener times the peer's).  cand:
	// a proven duplex stream of the peer, held, adopted when this link
	// has no stream of its own (arb__link_offer).  cbuf: rd's frames in
	// the flight under way.
	arb__lsn  *rx;
	arb__conn *rd;
	arb__conn *cand;
	bool       adopted;
	arb__buf   cbuf;
	// Both nodes dialled (docs/multinode.md, "One stream per pair"): the
	// node with the higher name retires its own stream for the peer's
	// candidate.  merging: no more DATA goes on k->s, which waits for the
	// ACK of every frame written (SYNC), then closes quietly: no DOWN
	// event, not counted lost (link_merge_check).  quiet: that close is
	// under way; the candidate is adopted once its operations ended (a
	// DOWN is told then if it cannot be).
	bool    merging;
	bool    quiet;
	int64_t merge_ms; // when merging began: it ends by hb_ms * hb_miss
	// merge_check is tp_link.c's link_merge_check, for tp_hb.c to look
	// again when the heartbeat channel is out of its handshake (a
	// pointer, as link_conn_ops: tp_link.c calls tp_hb.c, not the other
	// way round; docs.calls).  Under k->mtx.
	void (*merge_check)(arb__link *k);
	// cand_up: the watcher was told UP with the candidate's HELLO while
	// the link has no greeted stream of its own (it dials, or its dial
	// is in its handshake): the peer proved itself on a stream into this
	// node, which already delivers its DATA, so the node may answer it
	// now -- what is put waits for the link's own stream or for the
	// candidate's adoption.  The greeting of the same node and
	// incarnation, or that adoption, tells no second UP; the candidate
	// lost first tells its DOWN (link_cand_down).  Set only with cand.
	bool    cand_up;
	// The merge's budget is of the time this process ran (link_hb_cb
	// judges it as the peer's silence, arb__silence_judge): merge_late
	// once it is over.
	arb__silence mergesil;
	bool         merge_late;
};

// tp_link_down.c: a dialled link's stream failing, and what it leaves.
void arb__link_drop_queue(arb__link *k);
void arb__link_count_lost(arb__link *k);
void arb__link_flight_settle(arb__link *k, size_t written);
void arb__link_free_flight(arb__link *k);
void arb__link_after_down(arb__link *k);
// arb__link_adopt_cand makes the candidate stream (k->cand, if it is
// still open) the link's stream instead of a redial: the peer dialled
// it, this node sends on it (docs/multinode.md, "One stream per pair").
// False: none, or the watcher refused it (given back).  Its caller
// starts the send (link_send; after_down has its reader poke the link).
// Under k->mtx.
bool arb__link_adopt_cand(arb__link *k);
// arb__link_cand_down: c, the candidate the watcher was told UP with
// (k->cand_up), is no longer the link's candidate (it closed, or another
// incarnation's stream replaced it) before the link had a stream of its
// own or adopted it: the watcher is told DOWN.  Else nothing.  Under
// k->mtx.
void arb__link_cand_down(arb__link *k, arb__conn *c);
void arb__link_streams_done(arb__link *k);
void arb__link_down(arb__link *k);
void arb__link_sop_done(arb__link *k);
void arb__link_op_done(arb__link *k);

// tp_resolve.c: why a host does not resolve (nng 1.5.2 says no more than
// NNG_EADDRINVAL, no such name, or NNG_EAGAIN, no answer).  arb__host_why
// looks url's host up (tcp:// or tls+tcp://, or their 4 / 6 forms;
// passive for a listener, as nng asks) and, when it does not resolve,
// says so in buf with the resolver's reason: "host H could not be
// resolved (REASON)"; false when it resolves or url names no such host.
// Blocks on the resolver.  Thread: any.
bool arb__host_why(const char *url, bool passive, char *buf, size_t len);
// arb__resolve: the same for a link's failed dials, never blocking.
// arb__resolve_why(r, rv, ...) answers from the last lookup that followed
// a dial failing with rv (for 30 s) and, when there is none, starts one
// on a thread of its own; false: nothing to say yet, or the host
// resolved.  arb__resolve_alloc gives ARB_EINVAL for a url without a
// host to look up, ARB_ENOMEM.  arb__resolve_free drops the link's hold
// (a lookup under way ends on its own, then frees it); NULL is a
// harmless no-op.  Thread: any.
typedef struct arb__resolve arb__resolve;
int  arb__resolve_alloc(arb__resolve **rp, const char *url);
bool arb__resolve_why(arb__resolve *r, int rv, char *buf, size_t len);
void arb__resolve_free(arb__resolve *r);
// arb__resolve_timed: a dial of r's URL failed with NNG_ETIMEDOUT after
// limit_ms, its whole budget -- nng 1.5.2 resolves the host within it and
// says no more.  Whether the resolver is what it waited for, from the
// last lookup that followed such a dial (started here when there is
// none, as arb__resolve_why does): ARB__TIMED_RESOLVER, that lookup has
// not answered in limit_ms or took longer; ARB__TIMED_UNRESOLVED, the
// host does not resolve (both said in buf); ARB__TIMED_CONNECT, the
// connect itself timed out (the host is an address, or resolved in
// time); ARB__TIMED_UNKNOWN, not known yet.  Thread: any.
typedef enum {
	ARB__TIMED_UNKNOWN,
	ARB__TIMED_CONNECT,
	ARB__TIMED_RESOLVER,
	ARB__TIMED_UNRESOLVED,
} arb__timed;
arb__timed arb__resolve_timed(
    arb__resolve *r, int64_t limit_ms, char *buf, size_t len);

// tp_hb.c: the heartbeat channel of a dialled link.
void arb__hb_open(arb__link *k);
void arb__hb_send(arb__link *k);
void arb__hb_dial_cb(void *arg);
void arb__hb_send_cb(void *arg);
void arb__hb_recv_cb(void *arg);

#endif
