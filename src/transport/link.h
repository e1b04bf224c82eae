// SPDX-License-Identifier: MIT
// link.h -- arbor's link protocol over nng streams (docs/wire.md, "Links").
//
// A link carries frames between two OS processes over one nng stream
// (ipc now; tcp and tls+tcp use the same code).  The side that dials
// sends HELLO first and then DATA frames, each naming the destination
// mailbox; the side that accepted answers with its own HELLO and sends
// back ACK, PAUSE and RESUME.  A node link with heartbeats has a second
// stream, its heartbeat channel, that carries only heartbeats and
// their echoes (ARB__ROLE_HB).  frame.c encodes and decodes frames (pure
// functions); on nng's aio callbacks, tp_lsn.c runs listeners, tp_conn.c
// accepted connections (arb__conn), tp_link.c dialled links (arb__link),
// tp_link_down.c their teardown and tp_hb.c their heartbeat channels
// (private declarations in tp_int.h).
//
// nng's callbacks run on nng's threads: they never block, never call
// nng_aio_stop, and hand work to actor loops only through mailboxes
// (whole batches, one wakeup per batch at most).  Every object here is
// shared between an actor loop and nng's threads and guards its state
// with its own mutex.  Only the tp_*.c files (through tp_int.h) include
// <nng/nng.h> (and tls.c, nng's TLS configuration).

#ifndef ARB_LINK_H
#define ARB_LINK_H

#include "../core/arb_impl.h"

#include <stdatomic.h>

struct event;
struct nng_tls_config;

// ---------------------------------------------------------------------------
// Frames (frame.c)
// ---------------------------------------------------------------------------
// Every frame starts with an 8-byte header: u32 length of the whole frame
// (header included), u8 type, u8 flags, u16 zero; integers are big-endian.
#define ARB__LINK_MAGIC    0x4152424Cu // "ARBL"
#define ARB__LINK_VERSION  4
#define ARB__FR_HDR        8
#define ARB__FR_DATA_HDR   32 // + u32 dst, u32 nenv, u64 seq, u64 env0
#define ARB__FR_ACK_LEN    16 // + u64 seq
#define ARB__FR_MBID_LEN   12 // PAUSE, RESUME: + u32 mbid
#define ARB__FR_AUTH_LEN   40 // + 32-byte proof
#define ARB__FR_HB_LEN     16 // + u64 the sender's clock (us)
#define ARB__HELLO_MAX     1024
#define ARB__HELLO_AUTH_MAX 64
#define ARB__NODE_NAME_MAX 64
// The smallest envelope (docs/wire.md): a fixarray of 7, six one-byte
// fields and an empty bin 8.  A DATA frame of n bytes holds at most
// n / ARB__ENV_MIN envelopes.
#define ARB__ENV_MIN       9
// The most frames a gap may miss: a larger jump in the sequence is a
// protocol error, not a loss (docs/wire.md).
#define ARB__LINK_GAP_MAX  65536u

typedef enum arb__fr_type {
	ARB__FR_HELLO = 1,
	ARB__FR_DATA = 2,
	ARB__FR_ACK = 3,
	ARB__FR_PAUSE = 4,
	ARB__FR_RESUME = 5,
	ARB__FR_CTL = 6, // control socket request / reply (msgpack)
	ARB__FR_SYNC   = 7, // dialer -> acceptor: acknowledge now
	ARB__FR_AUTH   = 8, // dialer -> acceptor: its proof (node links)
	ARB__FR_HB     = 9, // heartbeat (dialer), echoed (acceptor, reply):
	                    // on a heartbeat channel only (ARB__ROLE_HB)
} arb__fr_type;

// The largest heartbeat budget (hb_ms * hb_miss) a node may have: 60 s x
// 100 (peer.c checks both).  A heartbeat channel's HELLO announces its
// dialer's budget in `sender` (docs/wire.md).
#define ARB__HB_BUDGET_MAX_MS (60000 * 100)

#define ARB__HELLO_F_REPLY 0x1u // flags of the acceptor's HELLO
// A node link's data stream that carries DATA both ways (docs/wire.md,
// "Duplex streams"): in a dialer's HELLO, it reads DATA on this stream;
// in the acceptor's reply, the acceptor may send DATA on it.
#define ARB__HELLO_F_DUPLEX 0x2u
#define ARB__HB_F_REPLY    0x1u // flags of a heartbeat's echo
// A dialer's AUTH whose proof is good but that names the acceptor as not
// the node its link is for (another node answers at that URL): the
// dialer closes once it is written, and the acceptor knows that the
// cookie is not what failed (docs/wire.md, "Authentication").
#define ARB__AUTH_F_ELSEWHERE 0x1u

// Roles a dialer announces in its HELLO.
typedef enum arb__link_role {
	ARB__ROLE_PEER = 1,    // a process of this node (or, later, a node)
	ARB__ROLE_CONTROL = 2, // a control client (arborctl)
	// The heartbeat channel of a node link: a second stream the dialer
	// opens once its data stream is authenticated, carrying only
	// heartbeats and their echoes.  Its HELLO's resume field is the
	// token the acceptor's HELLO reply gave the data stream: it belongs
	// to that stream and closes with it (docs/multinode.md).
	ARB__ROLE_HB = 3,
} arb__link_role;

typedef struct arb__hello {
	uint16_t version;
	uint16_t role;
	uint32_t max_frame; // the largest frame the sender of HELLO accepts
	uint32_t node_id;   // hash of the node name (arb__node_id)
	uint32_t creation;  // the node's incarnation
	uint64_t sender;    // the sending process: its actor's pid.id, or
	                    // the node's pid.id for the node process; in a
	                    // heartbeat channel's HELLO, its dialer's
	                    // heartbeat budget in ms (hb_ms * hb_miss)
	uint64_t resume;    // a dialer's data HELLO: 0; the acceptor's reply
	                    // to it: the stream's token (random, not 0); a
	                    // heartbeat channel's HELLO: that token
	char     name[ARB__NODE_NAME_MAX];
	uint16_t auth_len;  // 0, ARB__AUTH_NONCE, or nonce + ARB__AUTH_MAC
	uint8_t  auth[ARB__HELLO_AUTH_MAX];
	bool     duplex;    // the frame's ARB__HELLO_F_DUPLEX flag
} arb__hello;

// arb__hello_encode writes a HELLO frame (reply: the acceptor's answer)
// into buf (at least ARB__HELLO_MAX bytes) and returns its length.
size_t arb__hello_encode(uint8_t *buf, const arb__hello *h, bool reply);
// arb__hello_decode parses a whole HELLO frame of len bytes.  Returns
// ARB_EBADMSG for a bad magic, size, name or an authentication field
// over ARB__HELLO_AUTH_MAX bytes, ARB_ENOTSUP for another protocol
// version.
int arb__hello_decode(
    const uint8_t *fr, size_t len, arb__hello *h, bool *reply);

// arb__frame_peek reads the header at p (avail bytes, at least
// ARB__FR_HDR) and checks it before anything is allocated: a known type,
// a length within [minimum for the type, max].  Returns ARB_OK,
// ARB_EBADMSG or ARB_EMSGSIZE.
int arb__frame_peek(
    const uint8_t *p, size_t max, uint32_t *lenp, uint8_t *typep);

void     arb__put_be16(uint8_t *p, uint16_t v);
void     arb__put_be32(uint8_t *p, uint32_t v);
void     arb__put_be64(uint8_t *p, uint64_t v);
uint16_t arb__get_be16(const uint8_t *p);
uint32_t arb__get_be32(const uint8_t *p);
uint64_t arb__get_be64(const uint8_t *p);

// arb__frame_hdr writes an 8-byte frame header.
void arb__frame_hdr(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags);

// arb__node_id hashes a node name to its 32-bit id (FNV-1a; never 0).
uint32_t arb__node_id(const char *name);

// ---------------------------------------------------------------------------
// Counters shared by the transport of one process (atomics: nng threads
// and actor loops update them).  docs/wire.md says what each one counts.
// ---------------------------------------------------------------------------
typedef struct arb__tp_stats {
	_Atomic uint64_t lost;       // envelopes sent on a link that died
	                             // before they were acknowledged
	_Atomic uint64_t dead;       // envelopes dropped, known undelivered,
	                             // that no actor's origin counts
	_Atomic uint64_t gaps;       // frames missing in a sequence
	_Atomic uint64_t gap_envs;   // envelopes of missing frames (also
	                             // counted in dead)
	_Atomic uint64_t conns;      // connections accepted
	_Atomic uint64_t refused;    // connections closed before or at HELLO
	_Atomic uint64_t bad_frames; // connections closed on a bad frame
	_Atomic uint64_t links_lost; // dialled links that died
	_Atomic uint64_t dials;      // dial attempts
	_Atomic uint64_t auth_failed; // handshakes refused: no or bad proof
	_Atomic uint64_t hb_timeouts; // links closed: heartbeats unanswered
	_Atomic uint64_t backoff_refused; // connections closed at once: their
	                                  // source was backed off (penalty.c)
	_Atomic uint64_t backoff_evicted; // backed-off sources dropped from a
	                                  // full table
	_Atomic uint64_t replaced; // accepted node data streams closed: a
	                           // newer one of that node authenticated
} arb__tp_stats;

// An origin is the sender's share of the counters: every chunk carries a
// reference to the origin (the outbound queue of one actor) that made it,
// so a loss on a link is counted for that actor too.  Refcounted: a chunk
// can outlive its actor.
typedef struct arb__origin {
	_Atomic int      refs;
	_Atomic uint64_t lost;
	_Atomic uint64_t dead;
	// Envelopes accepted by arb_send and not yet settled: delivered to
	// a mailbox of this process, acknowledged by a link's peer, or
	// counted lost or dead.  What a crashed process leaves here is
	// counted as lost by the node.
	_Atomic int64_t pending;
} arb__origin;

// arb__origin_settle notes n envelopes of o settled (o may be NULL).
void arb__origin_settle(arb__origin *o, uint32_t n);

arb__origin *arb__origin_new(void); // refs 1; NULL on ENOMEM
void         arb__origin_ref(arb__origin *o);
void         arb__origin_rele(arb__origin *o); // NULL is a no-op

// ---------------------------------------------------------------------------
// Chunks: the unit of hand-over.  An outbound queue encodes envelopes
// into a chunk; the chunk then moves, without a copy, into a local
// mailbox or onto a link (which writes hdr and data with one iov and frees
// it once written).  The receiving side makes chunks of the frames it
// reads and queues them in mailboxes.
// ---------------------------------------------------------------------------
typedef struct arb__chunk {
	struct arb__chunk *next;
	arb__origin       *origin; // a reference, or NULL (received chunks)
	uint32_t           dst;    // destination mailbox id
	uint32_t           nenv;   // envelopes in data
	size_t             len;    // bytes used in data
	size_t             cap;    // bytes available in data
	uint64_t           seq;    // link sequence number once sent
	uint64_t           env0;   // envelopes sent on the connection before
	uint8_t            hdr[ARB__FR_DATA_HDR]; // just before data: one iov
	uint8_t            data[];
} arb__chunk;

// arb__chunk_alloc returns a chunk with room for cap bytes, or NULL.
arb__chunk *arb__chunk_alloc(size_t cap);
// arb__chunk_grow makes room for extra more bytes (the chunk may move).
int arb__chunk_grow(arb__chunk **chp, size_t extra);
// arb__chunk_free releases the chunk and its origin reference (NULL ok).
void arb__chunk_free(arb__chunk *ch);
// arb__chunk_drop counts the chunk's envelopes as dead letters, in its
// origin (the sending actor's share) or, without one, in st, and frees it.
void arb__chunk_drop(arb__chunk *ch, arb__tp_stats *st);

// ---------------------------------------------------------------------------
// Configuration and identity of one process's transport.
// ---------------------------------------------------------------------------
typedef struct arb__link_cfg {
	arb__hello     self;         // what this process says in HELLO
	size_t         max_frame;    // largest DATA frame accepted
	int            hello_ms;     // an accepted peer must say HELLO by then
	int            ack_delay_ms; // an ACK waits at most this long
	int            backoff_min_ms; // first redial within [0, min]
	int            backoff_max_ms; // full-jitter cap
	arb__tp_stats *stats;
	// Node links (docs/multinode.md).  cookie: both ends prove they
	// know it (HELLO nonces, the acceptor's proof in its reply, the
	// dialer's in an AUTH frame) before any other frame; NULL: no
	// authentication (a node's own processes, or `insecure`).  The
	// cookie must outlive every link and listener using it.
	const struct arb__cookie *cookie;
	// tls: tls+tcp:// only (arb__tls_config: the listener's server side,
	// or the dialer's client side naming the node it dials); the
	// listener or dialer takes its own hold.  NULL otherwise.
	struct nng_tls_config *tls;
	int  hb_ms;   // dialer: a heartbeat every hb_ms on the link's
	              // heartbeat channel (0: none, and no channel)
	int  hb_miss; // dialer: down when none answered for hb_ms * hb_miss;
	              // node listener (one_per_node, hb_ms > 0): closes a
	              // data stream whose channel brought no heartbeat for
	              // the budget its dialer announced (tp_conn.c)
	bool keep_up; // dialer: dial at once and after every loss, idle or not
	// dialer: what its queue held when its destination went for good
	// (gone, below), the caller's to answer (route.c: its requests
	// answered noproc); NULL: dropped, counted as dead letters.  Called
	// under the link's lock.
	void (*unreached)(arb__chunk *list);
	// TCP listener (a source address known): at most max_unproven
	// accepted connections that have not proved themselves yet (HELLO
	// and, with a cookie, AUTH) at once, at most max_unproven_src of
	// them from one source address (docs/multinode.md, "Bad input from
	// peers"); 0: no bound (max_unproven_src 0: max_unproven).  Each
	// connection closed for it is counted in *unproven_refused (NULL:
	// not counted; not in stats: a process's arb__tp_stats has no room
	// left in its slot record, and only the node's listener has one).
	int               max_unproven;
	int               max_unproven_src;
	_Atomic uint64_t *unproven_refused;
	// listener of node links (peer.c): a node's data stream, once
	// proven, closes the older ones of that node (a node dials one at
	// a time; a node's own processes dial many, each its own).
	bool one_per_node;
	// dialer of a node link (docs/multinode.md, "One stream per pair"):
	// when both nodes dialled, the one with the higher name retires its
	// own stream for the peer's (tp_link.c, link_merge_check).  On for
	// a node's peer links (peer.c).
	bool merge;
} arb__link_cfg;

void arb__link_cfg_defaults(arb__link_cfg *cfg);

// ---------------------------------------------------------------------------
// Listener and accepted connections (tp_lsn.c, tp_conn.c)
// ---------------------------------------------------------------------------
typedef struct arb__lsn  arb__lsn;
typedef struct arb__conn arb__conn;

typedef struct arb__lsn_ops {
	// hello decides about a peer's HELLO (called once per connection):
	// ARB_OK accepts it; anything else closes the connection (counted
	// as refused).
	int (*hello)(void *arg, arb__conn *c, const arb__hello *h);
	// data takes a DATA frame's chunk (ownership passes).  It returns
	// true when the destination is over its high-water mark: the
	// connection then sends PAUSE for it, and RESUME when
	// arb__lsn_resume names it.
	bool (*data)(void *arg, arb__conn *c, arb__chunk *ch);
	// full is asked right after a PAUSE for mbid was recorded: false
	// means it drained meanwhile (a RESUME may have been missed), and
	// the connection resumes it at once.  May be NULL.
	bool (*full)(void *arg, uint32_t mbid);
	// ctl takes a CTL frame's payload (borrowed); may be NULL.
	void (*ctl)(void *arg, arb__conn *c, const uint8_t *p, size_t len);
	// gone: the connection closed (no callback of it follows).  May be
	// NULL.
	void (*gone)(void *arg, arb__conn *c);
	// silent: a node listener's data stream (cfg.one_per_node, hb_ms >
	// 0) brought no heartbeat on its channel for its budget: true
	// closes it (counted in hb_timeouts, logged), false keeps it (asked
	// again a budget later).  Called on the timer thread with no lock
	// of the listener held.  May be NULL (close).
	bool (*silent)(void *arg, arb__conn *c);
	// proven: a node listener's data stream whose dialer reads DATA on
	// it (a duplex HELLO) proved itself: the owner may offer it to its
	// link to that node (arb__link_offer).  Called on nng's thread with
	// no lock of the listener held.  NULL: the listener answers no HELLO
	// as duplex.
	void (*proven)(void *arg, arb__conn *c);
	// refused: a node's data stream was refused for its authentication
	// (brief: "wrong cookie", "no cookie", "cookie, none here"; a
	// string constant) after its HELLO named node h->name -- a name
	// not proven, so the owner records it only against a node it
	// lists.  Called with no lock of the listener held.  May be NULL.
	void (*refused)(void *arg, const arb__hello *h, const char *brief);
} arb__lsn_ops;

// arb__lsn_open listens on url (ipc://, tcp://, tls+tcp://) and accepts
// connections until arb__lsn_close.  perms (ipc only, 0 = default) sets
// the socket file's mode.  Every outcome of an accept re-arms it; every
// error of a connection closes only that connection.
int arb__lsn_open(arb__lsn **lp, const char *url, int perms,
    const arb__lsn_ops *ops, void *arg, const arb__link_cfg *cfg);
// arb__lsn_why: arb__lsn_open of url failed with rv: why, in buf -- for a
// tcp:// or tls+tcp:// URL whose host does not resolve, that it could
// not be resolved and the resolver's reason (nng says only "invalid
// address"); else arb_strerror(rv).  Blocks on the resolver.  Returns
// buf.
const char *arb__lsn_why(const char *url, int rv, char *buf, size_t len);
// arb__lsn_resume sends RESUME for mailbox mbid on every connection that
// paused it.  Thread: any.
void arb__lsn_resume(arb__lsn *l, uint32_t mbid);
// arb__lsn_ack_all sends every pending ACK now (an exiting process
// acknowledges what it received).  Thread: any.
void arb__lsn_ack_all(arb__lsn *l);
// arb__lsn_close_node closes the accepted data streams of node (node_id,
// name) and incarnation `creation` whose HELLO was taken -- every one
// that exists when it runs: a stream of that node accepted later is newer
// -- with their heartbeat channels (its caller counts them).
// Node listeners only (cfg.one_per_node; 0 otherwise): the node took that
// peer DOWN, and the streams the peer dialled into it are part of the
// link that went down (src/transport/peer.c, docs/multinode.md "Links
// between nodes").  Returns how many data streams it closed.  Takes
// l's lock, then each connection's; calls nothing of the listener's
// owner, so it may be called with a dialled link's lock held.  Thread:
// any, not from a callback of l.
size_t arb__lsn_close_node(
    arb__lsn *l, uint32_t node_id, const char *name, uint32_t creation);
// arb__lsn_node_streams counts the open data streams of node (node_id,
// name), any incarnation, that proved themselves: what that node dialled
// into this node (a node listener's; 0 otherwise).  Takes l's lock, then
// each connection's.  Thread: any, not from a callback of l.
size_t arb__lsn_node_streams(arb__lsn *l, uint32_t node_id, const char *name);
// arb__lsn_close stops accepting, closes every connection and waits for
// their callbacks to end.  Must not be called from a callback.  NULL is a
// harmless no-op.
void arb__lsn_close(arb__lsn *l);

// ---------------------------------------------------------------------------
// Sources a TCP listener backs off (penalty.c): an IP address whose
// connection sent garbage or failed to prove itself -- or the address
// and the node name its HELLO claimed, when it failed after that HELLO
// -- has its next connections closed at once, for 100 ms doubling up to
// 5 s; a peer that proves itself from it clears it (docs/multinode.md).
// The listener's lock guards the table.
// ---------------------------------------------------------------------------
#define ARB__PENALTY_ADDR      16 // IPv6, or IPv4 as ::ffff:a.b.c.d
#define ARB__PENALTY_CAP       256
#define ARB__PENALTY_FIRST_MS  100
#define ARB__PENALTY_MAX_MS    5000
#define ARB__PENALTY_FORGET_MS 30000 // no failure for so long: first step
#define ARB__PENALTY_NAMES     4     // names of one address: all of it

typedef struct arb__penalty_src {
	uint8_t  addr[ARB__PENALTY_ADDR];
	char     name[64]; // the node its HELLO claimed ("": the address)
	uint32_t fails;    // failures in a row (0: the entry is free)
	int64_t  last_ms;  // the last one
	int64_t  until_ms; // connections before this are closed at once
} arb__penalty_src;

typedef struct arb__penalty {
	arb__penalty_src *tab;
	size_t            cap;
} arb__penalty;

int  arb__penalty_init(arb__penalty *p, size_t cap);
void arb__penalty_fini(arb__penalty *p);
// arb__penalty_left: ms left at now_ms of the backoff of addr (name NULL:
// its own entry, what a connection is checked against when accepted) or
// of addr claiming to be node name (the longer of that entry's and the
// address's own: a HELLO's check); 0: admitted.
int64_t arb__penalty_left(arb__penalty *p,
    const uint8_t addr[ARB__PENALTY_ADDR], const char *name, int64_t now_ms);
// arb__penalty_fail notes a failure of addr at now_ms -- of the node name
// its HELLO claimed, or (NULL, "") before any -- and returns the new
// backoff (ms).  The failure of a name while ARB__PENALTY_NAMES - 1 other
// names of addr are backed off is the whole address's.  *evicted: a full
// table dropped the entry whose last failure was oldest to make room.
int64_t arb__penalty_fail(arb__penalty *p,
    const uint8_t addr[ARB__PENALTY_ADDR], const char *name, int64_t now_ms,
    bool *evicted);
// arb__penalty_clear forgets addr's own entry and that of node name (NULL:
// none) at addr: that peer proved itself from it.
void arb__penalty_clear(
    arb__penalty *p, const uint8_t addr[ARB__PENALTY_ADDR], const char *name);
// arb__penalty_count: sources backed off at now_ms.
size_t arb__penalty_count(arb__penalty *p, int64_t now_ms);
// arb__lsn_port returns the TCP port l is bound to (0: not TCP).
int arb__lsn_port(arb__lsn *l);
// arb__lsn_conns returns the number of live connections.
size_t arb__lsn_conns(arb__lsn *l);
// arb__lsn_stage_bytes returns the bytes of read buffer its connections
// hold: ARB__HELLO_MAX each until a connection has said its HELLO (and,
// with a cookie, its AUTH), 64 KiB once it has (heartbeat channels keep
// the small one).
size_t arb__lsn_stage_bytes(arb__lsn *l);

// arb__conn_send_ctl queues a CTL frame with payload p (copied) on
// connection c.  Returns ARB_ECLOSED once c is closing.  Thread: any
// (from ops->ctl too).
int arb__conn_send_ctl(arb__conn *c, const void *p, size_t len);
// arb__conn_backlog is how many bytes c has queued that the peer has not
// taken yet (control frames waiting, and the rest of a send under way):
// a peer that does not read makes it grow.  Thread: any.
size_t arb__conn_backlog(arb__conn *c);
// arb__conn_peer_uid gives the uid of the peer of an ipc connection.
int arb__conn_peer_uid(arb__conn *c, uint64_t *uidp);
// arb__conn_close closes c (its gone callback follows).
void              arb__conn_close(arb__conn *c);
const arb__hello *arb__conn_hello(arb__conn *c);
void             *arb__conn_data(arb__conn *c); // user pointer (set_data)
void              arb__conn_set_data(arb__conn *c, void *p);

// ---------------------------------------------------------------------------
// Dialled links (tp_link.c, tp_link_down.c, tp_hb.c)
// ---------------------------------------------------------------------------
typedef struct arb__link arb__link;

// gone(arg) is asked before each redial: true means the destination is
// gone (its child slot was removed, or closed): queued chunks go to the
// configuration's unreached (or are dropped and counted as dead
// letters), and puts fail with ARB_ENOENT while gone(arg) stays true
// (a put asks again: a closed slot may run again).
typedef bool (*arb__link_gone_fn)(void *arg);

#define ARB__LINK_QMAX (1024u * 1024u) // bytes queued before ARB_EAGAIN
// ARB__LINK_INFLIGHT_MAX bounds the DATA a link has written and the peer
// has not acknowledged (at least one frame may always be): what the
// kernel's socket buffers would otherwise hold (several MiB on loopback
// once autotuned), which a SYNC, a PAUSE's effect or a lost link's
// count all wait behind.  (Heartbeats waited behind it too, until they
// got their own connection: a slow link kept full gave false DOWNs.)
// The acceptor ACKs every 16 frames or 256 KiB it delivers, so the
// window stays open while the peer reads.
#define ARB__LINK_INFLIGHT_MAX (1024u * 1024u)

// arb__link_open prepares a link to url; it dials when the first chunk
// is put.  Returns ARB_EINVAL for a URL nng cannot dial.
int arb__link_open(arb__link **lp, const char *url, const arb__link_cfg *cfg,
    arb__link_gone_fn gone, void *gone_arg);
// arb__link_put queues ch (ownership passes on ARB_OK).  ARB_EAGAIN: the
// queue is full or the peer paused ch->dst; waiter (if not NULL) is made
// active once that may have changed (event_active, any thread).
// ARB_ENOENT: the destination is gone for good.  Thread: any.
int arb__link_put(arb__link *l, arb__chunk *ch, struct event *waiter);
// arb__link_unwait forgets waiter (before its event is freed).
void arb__link_unwait(arb__link *l, struct event *waiter);
// arb__link_idle is true when nothing is queued, in flight or waiting
// for its write to end.  Thread: any.
bool arb__link_idle(arb__link *l);
// arb__link_wait_idle waits until the link is idle (with acked: and
// every frame it wrote acknowledged, asking the peer with SYNC) or the
// monotonic deadline (arb__now_ms) passes; returns whether it got there.
// Blocks: not from a callback.
bool arb__link_wait_idle(arb__link *l, int64_t deadline_ms, bool acked);
// arb__link_up is true while connected and greeted.
bool arb__link_up(arb__link *l);
// arb__link_ref / arb__link_rele count users; the last rele closes the
// link (not from a callback).  arb__link_open returns one reference.
void arb__link_ref(arb__link *l);
void arb__link_rele(arb__link *l);
// arb__link_unacked returns the envelopes sent and not yet acknowledged.
uint64_t arb__link_unacked(arb__link *l);
// arb__link_kick redials now if the link waits for a backoff delay.
void arb__link_kick(arb__link *l);

// Node links: what the owner of a link learns about its peer.  The watch
// function is called on nng's or the timer's thread with the link's lock
// held: it must only record and wake (no call into the link).  UP (the
// peer's HELLO reply arrived and, with a cookie, its proof was good) may
// refuse the peer by returning false (the link then drops the stream and
// redials later); DOWN (or REDIALLED) follows every UP once.  REDIALLED is
// a DOWN the peer knows of already: it replaced the stream the link sent
// on (one it dialled, the link adopted) with a newer one, after it took
// this node DOWN itself -- nothing of the peer's needs closing for it
// (peer.c), and the newer stream is the link's next.
typedef enum arb__link_ev {
	ARB__LINK_EV_UP = 1,
	ARB__LINK_EV_DOWN = 2,
	ARB__LINK_EV_REDIALLED = 3,
} arb__link_ev;
typedef bool (*arb__link_watch_fn)(
    void *arg, arb__link_ev ev, const arb__hello *peer);
// arb__link_watch sets the watcher (before arb__link_start).
void arb__link_watch(arb__link *l, arb__link_watch_fn fn, void *arg);
// arb__link_name: l is a node link to the node called name, which its
// refusal lines name (peer=) and whose closing before its HELLO reply is
// a refusal (counted in refused, logged: tp_link.c, link_early_close).
// Before arb__link_start.
void arb__link_name(arb__link *l, const char *name);
// arb__link_start dials now (a keep_up link keeps itself connected from
// then on).  Thread: any.
void arb__link_start(arb__link *l);

// Duplex node streams (docs/multinode.md, "One stream per pair").
// arb__link_set_reader: the streams l dials from now on are read by a
// connection of listener lsn (a node's listener of peers) and carry DATA
// both ways: l's HELLO says so, and the peer may send on them.  NULL:
// l reads its own streams.  lsn must stay open until this is set back
// to NULL.  Thread: any, not from a callback.
void arb__link_set_reader(arb__link *l, arb__lsn *lsn);
// arb__link_offer offers l a proven duplex stream c of its peer (lsn
// ops' proven): l sends on it when it has no stream of its own (it dials
// none, or its dial fails) -- the peer can reach this node and this node
// cannot reach the peer -- and keeps it as its candidate meanwhile (a
// newer offer replaces it; a kept-up link not started yet dials first).
// Its UP event then comes with c's HELLO.
// Thread: any, with no lock of the listener or of c held.
void arb__link_offer(arb__link *l, arb__conn *c);

typedef struct arb__link_info {
	bool     up;          // connected, greeted (and proven)
	bool     connecting;  // a dial or handshake is under way
	uint32_t creation;    // the peer's, from its last HELLO (0: none)
	int64_t  rtt_us;      // last heartbeat round trip (-1: none yet),
	                      // on the heartbeat channel
	int64_t  last_hb_ms;  // arb__now_ms() of the last echo (0: none)
	bool     adopted;     // up on a stream the peer dialled
	// The last refusal of the peer on a stream the link dialled (each
	// also logged, rate-limited, as event=link_refused): a brief reason
	// ("wrong cookie", "TLS handshake failed", "closed before HELLO",
	// ...; a string constant) and when (arb__now_ms()).  NULL: none.
	const char *refusal;
	int64_t     refusal_ms;
	bool        refusal_bare; // no word of the peer's: it closed without
	                          // one, or a dial failed (link_dial_note)
} arb__link_info;
// How long a refusal that said why (a wrong cookie, a failed TLS
// handshake) stays a peer's last against refusals without a word: a
// listener that refused us backs our address off, up to 5 s (penalty.c),
// closing our next dials at once, and a peer with a wrong cookie should
// not read as one that closes for no reason most of the time.
#define ARB__REFUSAL_KEEP_MS 10000
// arb__link_merged counts this process's dialled node data streams
// retired for their peer's (both nodes dialled: the stream the lower
// node name dialled is kept; docs/multinode.md, "One stream per pair").
// Not in arb__tp_stats: that struct's size is fixed by the slot record.
// Thread: any.
uint64_t arb__link_merged(void);
// arb__link_adopted counts the streams this process's links adopted: the
// peer dialled them, the link sends on them (arb__link_offer, merges
// too).  Thread: any.
uint64_t arb__link_adopted(void);
// arb__link_get_info copies what the link knows now.  Thread: any.
void arb__link_get_info(arb__link *l, arb__link_info *info);

// arb__stream_warm starts nng's threads ahead of the first link.
void arb__stream_warm(void);

// ---------------------------------------------------------------------------
// Authentication of node links (auth.c): a shared cookie and an
// HMAC-SHA256 challenge-response in both directions (docs/wire.md).
// ---------------------------------------------------------------------------
#define ARB__COOKIE_MIN 16
#define ARB__COOKIE_MAX 256
#define ARB__AUTH_NONCE 16
#define ARB__AUTH_MAC   32

typedef struct arb__cookie {
	uint8_t key[ARB__COOKIE_MAX];
	size_t  len;
} arb__cookie;

// arb__cookie_load reads the secret from path (one line; a trailing
// newline is not part of it).  It refuses, with a sentence in err naming
// the file and what is wrong: a file that is not regular (or a symbolic
// link), not owned by this process's uid, readable or writable by group
// or others, shorter than ARB__COOKIE_MIN or longer than ARB__COOKIE_MAX
// bytes.
int arb__cookie_load(
    arb__cookie *ck, const char *path, char *err, size_t errlen);
// arb__cookie_clear wipes the secret from memory.
void arb__cookie_clear(arb__cookie *ck);
// arb__auth_nonce fills a fresh random challenge.
int arb__auth_nonce(uint8_t nonce[ARB__AUTH_NONCE]);
// arb__auth_proof computes the proof that the prover (the acceptor when
// `acceptor`) knows the cookie, for the challenge `theirs` it was given,
// its own nonce `mine`, its node name `me` and its peer's `peer`.
void arb__auth_proof(const arb__cookie *ck, bool acceptor,
    const uint8_t mine[ARB__AUTH_NONCE], const uint8_t theirs[ARB__AUTH_NONCE],
    const char *me, const char *peer, uint8_t out[ARB__AUTH_MAC]);
// arb__auth_check verifies, in constant time, a proof made by the peer
// (the acceptor when `peer_acceptor`) for our challenge `mine`, with its
// nonce `theirs`; `me` / `peer` are our / its node names.
bool arb__auth_check(const arb__cookie *ck, bool peer_acceptor,
    const uint8_t mine[ARB__AUTH_NONCE], const uint8_t theirs[ARB__AUTH_NONCE],
    const char *me, const char *peer, const uint8_t proof[ARB__AUTH_MAC]);

// ---------------------------------------------------------------------------
// TLS of node links (tls.c): nng's tls+tcp:// with certificates, both
// directions authenticated (docs/multinode.md, "TLS").
// ---------------------------------------------------------------------------
typedef struct arb__tls_files {
	const char *cert; // PEM: this node's certificate
	const char *key;  // PEM: its private key (unencrypted)
	const char *ca;   // PEM: the CA that signs every node's certificate
} arb__tls_files;

// arb__tls_config makes a TLS configuration from the files: a server's
// (server_name NULL: it requires the dialer's certificate) or a client's
// (the listener's certificate must name server_name).  It refuses, with
// a sentence in err naming the file and what is wrong, a file that
// cannot be read or is not PEM nng takes, or a key that does not match
// the certificate.
int arb__tls_config(struct nng_tls_config **out, const arb__tls_files *files,
    const char *server_name, char *err, size_t errlen);
// arb__tls_validity: this node's certificate (or its CA's) last loaded
// by arb__tls_config is out of its validity period now (expired, or not
// valid yet): a sentence in buf saying which and since or until when
// ("our certificate expired at 2026-12-06T14:20:26Z").  False: both
// valid now, or none loaded.  Thread: any.
bool arb__tls_validity(char *buf, size_t len);
// arb__tls_free drops our hold (NULL: no-op).
void arb__tls_free(struct nng_tls_config *cfg);

// ---------------------------------------------------------------------------
// Timers (ttimer.c): one thread per process calls fn(arg) when a deadline
// passes; nng's own timers spin for about 0.7 ms of CPU each time one
// fires (nng 1.5.2), which a delayed ACK per connection made expensive.
// ---------------------------------------------------------------------------
typedef void (*arb__ttimer_fn)(void *arg);

typedef struct arb__ttimer {
	struct arb__ttimer *next;
	int64_t             due_ms;
	arb__ttimer_fn      fn;
	void               *arg;
	bool                queued;
} arb__ttimer;

// arb__ttimer_init readies t (the timer thread starts with the first).
int arb__ttimer_init(arb__ttimer *t, arb__ttimer_fn fn, void *arg);
// arb__ttimer_arm calls fn(arg) on the timer thread in ms milliseconds,
// once; a timer already armed is left as it is.
void arb__ttimer_arm(arb__ttimer *t, int ms);
// arb__ttimer_cancel makes an armed timer's fn run at once (so whoever
// counts on its call gets it); an unarmed timer is left alone.  t must
// stay valid until fn has run.
void arb__ttimer_cancel(arb__ttimer *t);

// A peer's silence as a process that may not have run can tell it
// (docs/multinode.md, "Failure detection", "A stall of this node").  A
// heartbeat timer that runs well after it was due means this process
// did not run meanwhile (starved of a CPU, stopped, or the whole machine
// paused by its host): the peer's heartbeats may wait unread in our
// socket, and a peer that stalled with us sent none.  That time is not
// the peer's silence: it is left out, and once the process runs again the
// peer gets `grace` ms to be heard before its silence can take it DOWN
// (when it was not due already by the time this process did run: at
// most budget + grace of that time).  One per link or stream; zeroed,
// it has seen no stall.
typedef struct arb__silence {
	int64_t heard;   // the heard time the two below count from
	int64_t stalled; // ms the timer ran late since then
	int64_t woke;    // when it last ran late (0: not since heard)
} arb__silence;

// arb__silence_judge judges, at a timer run at now that was due at due,
// a peer last heard at heard: true when it was silent for more than
// budget ms of the time this process ran (DOWN); else false and *next is
// when to judge again.  A run more than grace / 4 ms late is a stall.
// Thread: the caller's (s under its lock).
bool arb__silence_judge(arb__silence *s, int64_t now, int64_t due,
    int64_t heard, int64_t budget, int64_t grace, int64_t *next);
// arb__err_from_nng translates an nng error (the one place that does).
int arb__err_from_nng(int rv);

#endif // ARB_LINK_H
