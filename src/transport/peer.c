// SPDX-License-Identifier: MIT
// peer.c -- links between nodes (SPEC 31, docs/multinode.md).
//
// The node process listens for its peers on a TCP URL and keeps one
// dialled link to every peer it lists (static membership).  A pair of
// nodes talks over one link and ONE data stream (docs/multinode.md, "One
// stream per pair"): the streams are duplex -- the listener reads the
// streams our links dial (arb__link_set_reader) and the link writes on
// them for both -- so each node sends its DATA on the pair's one stream,
// whichever node dialled it.  Both nodes dialling at once is the normal
// case, not a race: the node with the higher name retires its own stream
// for the one the lower name dialled (the merge: arb__link_cfg merge,
// on here), and a link with no stream of its own (this node cannot dial
// the peer, or its dial failed) adopts the peer's (peer_on_proven,
// arb__link_offer); while its own dial is under way the peer's proven
// stream is its candidate, and the peer is UP with it.  The pair's
// stream has its heartbeat channel (tp_hb.c), a second connection its
// dialer opens that carries only heartbeats and echoes: a pair holds two
// TCP connections.
//
// The pair's streams live and die together, seen the same on both sides:
// a node's view of a peer (UP, DOWN, incarnation) comes from the stream
// its link sends on (dialled, adopted, or the candidate), and when it
// takes the peer DOWN it closes the streams that peer dialled into it
// before the DOWN (peer_close_accepted), so the peer sees its own stream
// end and takes this node DOWN at once too.  A stream the peer redials
// afterwards is newer and stays open.
//
// Both directions authenticate: with the cookie (link.h, auth.c) on
// tcp://, with certificates on tls+tcp:// (tls.c; and the cookie too when
// there is one), unless the node is explicitly insecure.  The dialled
// link sends a heartbeat every hb_ms on its heartbeat channel, never
// behind its data; no echo for hb_ms * hb_miss, or either connection
// closing, makes the peer DOWN for the node (event), which then
// takes down what it knew of the peer's actors.  The listener times the
// peer's heartbeats on the streams it accepted too (tp_conn.c): a silent
// one is closed unless our own link to that peer is up and times it
// (peer_on_silent).  The link redials with
// full-jitter backoff (50 ms doubling to 500 ms), so a peer that comes
// back is UP again within about half a second of its listener; a dial
// that connects but has no HELLO reply within hello_ms (5 s, the
// listener's own deadline for a dialer's HELLO) is given up too, and
// the link adopts its candidate or redials (tp_link.c).
//
// Thread: any (a mutex guards the table; link callbacks take it after
// their link's lock, never the other way round; P.lsn_mtx guards the
// listener's use against its close: peer_close_accepted).

#include "transport.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct peer {
	char       name[ARB__NODE_NAME_MAX];
	char       url[300];
	uint32_t   node_id;
	arb__link *link;
	// Under peers.mtx.
	bool     up;
	uint32_t creation;
	uint64_t ups;
	uint64_t downs;
	// The last refusal of a stream that named this peer in its HELLO,
	// by our listener (peer_on_refused): brief, a string constant, and
	// when (arb__now_ms).  NULL: none.
	const char *refusal;
	int64_t     refusal_ms;
	// Two running nodes with this name (peer_clash): the incarnation
	// before `creation`, the flips back to it since the last line, and
	// when that line was logged.
	uint32_t prev_creation;
	uint64_t clash_flips;
	int64_t  clash_ms;
} peer;

// At most one event=peer_name_clash line per peer in so long.
#define PEER_CLASH_LOG_MS 10000

static struct {
	pthread_mutex_t mtx;
	bool            open;
	arb__cookie     cookie;
	arb__link_cfg   cfg;
	struct nng_tls_config *tls_server; // a tls+tcp:// listener's
	// The listener: lsn_mtx guards its use from the links' callbacks
	// and senders against its close (arb__peers_close).
	pthread_mutex_t lsn_mtx;
	arb__lsn       *lsn;
	peer           *peers;
	size_t          npeers;
	void (*event)(void *arg, size_t idx, bool up, uint32_t creation);
	void *arg;
} P = { .mtx = PTHREAD_MUTEX_INITIALIZER,
	.lsn_mtx = PTHREAD_MUTEX_INITIALIZER };

static bool
name_ok(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n >= ARB__NODE_NAME_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

static bool
is_tls(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp://", 10) == 0;
}

static bool
is_tcp(const char *url)
{
	return url != NULL && strncmp(url, "tcp://", 6) == 0;
}

int
arb__peers_check(const arb__peers_cfg *cfg, const char *self_name, char *err,
    size_t errlen)
{
	size_t i, j;
	bool   plain = false, tls = false;

	if (cfg->listen == NULL && cfg->npeers == 0) {
		return ARB_OK;
	}
	if (cfg->listen != NULL) {
		if ((!is_tcp(cfg->listen) && !is_tls(cfg->listen))
		    || strlen(cfg->listen) >= sizeof(P.peers[0].url)) {
			snprintf(err, errlen,
			    "listen %s: not a tcp://HOST:PORT or "
			    "tls+tcp://HOST:PORT URL",
			    cfg->listen);
			return ARB_EINVAL;
		}
		*(is_tls(cfg->listen) ? &tls : &plain) = true;
	}
	if (cfg->npeers > ARB_NODE_PEERS_MAX
	    || (cfg->npeers > 0 && cfg->peers == NULL)) {
		snprintf(err, errlen, "%zu peers: at most %d", cfg->npeers,
		    ARB_NODE_PEERS_MAX);
		return ARB_EINVAL;
	}
	for (i = 0; i < cfg->npeers; i++) {
		const arb_node_peer *p = &cfg->peers[i];

		if (!name_ok(p->name)) {
			snprintf(err, errlen,
			    "peer %zu: its name must be 1-63 printable "
			    "characters without spaces",
			    i + 1);
			return ARB_EINVAL;
		}
		if (strcmp(p->name, self_name) == 0) {
			snprintf(err, errlen,
			    "peer %s: that is this node's own name", p->name);
			return ARB_EINVAL;
		}
		if ((!is_tcp(p->url) && !is_tls(p->url))
		    || strlen(p->url) >= sizeof(P.peers[0].url)) {
			snprintf(err, errlen,
			    "peer %s: url must be tcp://HOST:PORT or "
			    "tls+tcp://HOST:PORT",
			    p->name);
			return ARB_EINVAL;
		}
		*(is_tls(p->url) ? &tls : &plain) = true;
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->peers[j].name, p->name) == 0
			    || arb__node_id(cfg->peers[j].name)
			        == arb__node_id(p->name)) {
				snprintf(err, errlen, "peer %s is listed twice",
				    p->name);
				return ARB_EINVAL;
			}
		}
	}
	if (cfg->hb_ms != 0 && (cfg->hb_ms < 10 || cfg->hb_ms > 60000)) {
		snprintf(err, errlen,
		    "heartbeat interval %d ms: must be 10-60000", cfg->hb_ms);
		return ARB_EINVAL;
	}
	if (cfg->hb_miss != 0 && (cfg->hb_miss < 1 || cfg->hb_miss > 100)) {
		snprintf(err, errlen, "heartbeat miss count %d: must be 1-100",
		    cfg->hb_miss);
		return ARB_EINVAL;
	}
	if (tls
	    && (cfg->tls.cert == NULL || cfg->tls.key == NULL
	        || cfg->tls.ca == NULL)) {
		snprintf(err, errlen,
		    "tls+tcp:// links need the TLS files: this node's "
		    "certificate, its key and the CA (tls_cert, tls_key, "
		    "tls_ca)");
		return ARB_EINVAL;
	}
	if (!tls && (cfg->tls.cert != NULL || cfg->tls.key != NULL
	        || cfg->tls.ca != NULL)) {
		snprintf(err, errlen,
		    "TLS files given but no tls+tcp:// listener or peer "
		    "uses them");
		return ARB_EINVAL;
	}
	if (plain && cfg->cookie_file == NULL && !cfg->insecure) {
		snprintf(err, errlen,
		    "tcp:// links need a cookie file, or an explicit "
		    "insecure: true (or use tls+tcp:// with certificates)");
		return ARB_EINVAL;
	}
	if (cfg->cookie_file != NULL && cfg->insecure) {
		snprintf(err, errlen,
		    "a cookie file and insecure: true contradict each other");
		return ARB_EINVAL;
	}
	if (tls) {
		// The files load as the links would load them.
		struct nng_tls_config *t;
		int rv = arb__tls_config(&t, &cfg->tls, NULL, err, errlen);

		arb__tls_free(t);
		if (rv != ARB_OK) {
			return rv;
		}
	}
	if (cfg->cookie_file != NULL) {
		arb__cookie ck;
		int         rv = arb__cookie_load(&ck, cfg->cookie_file, err,
		            errlen);

		arb__cookie_clear(&ck);
		return rv;
	}
	return ARB_OK;
}

static peer *
peer_by_id(uint32_t node_id, const char *name)
{
	size_t i;

	for (i = 0; i < P.npeers; i++) {
		if (P.peers[i].node_id == node_id
		    && strcmp(P.peers[i].name, name) == 0) {
			return &P.peers[i];
		}
	}
	return NULL;
}

// Data streams closed by peer_close_accepted (arb__peers_closed_with_peer).
static _Atomic uint64_t closed_with_peer;
// Connections the listener closed for its bound on unproven ones
// (arb__peers_unproven_refused).
static _Atomic uint64_t unproven_refused;

// peer_close_accepted: the node took p DOWN, so the streams p dialled
// into it (incarnation `creation`, HELLO taken before now) end too,
// with their heartbeat channels: p's own dialled link then ends (EOF)
// and p takes this node DOWN at once, instead of keeping it UP on a link
// whose other half is gone.  A stream p dials after this is newer and
// stays; another incarnation's streams are not touched.
//
// Called with p's link's lock held.  Lock order: that link's lock, then
// P.lsn_mtx, then the listener's lock, then a connection's
// (arb__lsn_close_node).  Nothing takes them the other way round: the
// listener and its connections call their ops (peer_on_hello, which
// kicks a link) with none of their locks held, and P.lsn_mtx is held
// only here, in peer_resume and in arb__peers_close, around listener
// calls that call nothing of ours.
static void
peer_close_accepted(peer *p, uint32_t creation)
{
	size_t n = 0;

	pthread_mutex_lock(&P.lsn_mtx);
	if (P.lsn != NULL) {
		n = arb__lsn_close_node(P.lsn, p->node_id, p->name, creation);
	}
	pthread_mutex_unlock(&P.lsn_mtx);
	if (n > 0) {
		atomic_fetch_add(&closed_with_peer, n);
		arb__log(ARB_LOG_INFO, NULL,
		    "event=link_closed_with_peer peer=%s creation=%u "
		    "closed=%zu reason=peer_down",
		    p->name, (unsigned) creation, n);
	}
}

// peer_clash notes that p comes up as incarnation creation: an
// incarnation of a node never comes back once another replaced it (a
// restart is a new one), so the one before the last coming back is a
// second running node with p's name (a copied tree file): its link and
// the other's replace each other for ever.  Logged at most once per
// PEER_CLASH_LOG_MS, with the flips since the last line.  True when a
// line is due (into line).  Under P.mtx.
static bool
peer_clash(peer *p, uint32_t creation, char *line, size_t len)
{
	int64_t now = arb__now_ms();
	bool    due = false;

	if (p->creation == 0 || creation == p->creation) {
		return false;
	}
	if (creation == p->prev_creation) {
		p->clash_flips++;
		if (p->clash_ms == 0 || now - p->clash_ms >= PEER_CLASH_LOG_MS) {
			snprintf(line, len,
			    "event=peer_name_clash peer=%s url=%s "
			    "incarnations=%u,%u flips=%llu reason=\"two "
			    "running nodes are named %s (their incarnations "
			    "take turns): node.name must differ on every node "
			    "(a copied tree file?)\"",
			    p->name, p->url, (unsigned) creation,
			    (unsigned) p->creation,
			    (unsigned long long) p->clash_flips, p->name);
			p->clash_ms = now;
			p->clash_flips = 0;
			due = true;
		}
	}
	p->prev_creation = p->creation;
	return due;
}

// A peer's dialled link came up or went down (link's lock held).
static bool
peer_watch(void *arg, arb__link_ev ev, const arb__hello *h)
{
	peer    *p = arg;
	size_t   idx = (size_t) (p - P.peers);
	bool     tell = false, clash = false;
	uint32_t gone = 0;
	char     line[ARB__NODE_NAME_MAX * 2 + 520];

	if (ev == ARB__LINK_EV_UP
	    && (h->node_id != p->node_id || strcmp(h->name, p->name) != 0
	        || h->role != ARB__ROLE_PEER)) {
		return false; // someone else listens at that URL
	}
	pthread_mutex_lock(&P.mtx);
	if (ev == ARB__LINK_EV_UP && !p->up) {
		clash = peer_clash(p, h->creation, line, sizeof(line));
		p->up = true;
		p->creation = h->creation;
		p->ups++;
		tell = true;
	} else if (ev != ARB__LINK_EV_UP && p->up) {
		p->up = false;
		p->downs++;
		// (REDIALLED: p replaced the stream we sent on after it took
		// us DOWN; its newer stream is our link's next, kept open.)
		gone = ev == ARB__LINK_EV_DOWN ? p->creation : 0;
		tell = true;
	}
	arb__slot_peer_set(idx, p->node_id, p->up ? p->creation : 0);
	pthread_mutex_unlock(&P.mtx);
	if (clash) {
		arb__log(ARB_LOG_WARN, NULL, "%s", line);
	}
	if (gone != 0) {
		peer_close_accepted(p, gone);
	}
	if (tell && P.event != NULL) {
		P.event(P.arg, idx, ev == ARB__LINK_EV_UP, h->creation);
	}
	return true;
}

// A peer dialled us: only the nodes we list may.  Our own link to it, if
// it waits out a backoff delay, dials now: the peer's listener is up (it
// is dialling, so it has started), and our replies to it travel on that
// link, so they wait for it a dial instead of up to 500 ms.
static int
peer_on_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	peer *p;
	bool  kick;

	ARB_UNUSED(arg);
	ARB_UNUSED(c);
	if ((h->role != ARB__ROLE_PEER && h->role != ARB__ROLE_HB)
	    || (p = peer_by_id(h->node_id, h->name)) == NULL
	    || h->creation == 0) {
		return ARB_EPERM;
	}
	if (h->role == ARB__ROLE_HB) {
		// The heartbeat channel of a link of that node: the listener
		// ties it to that link's data stream (or refuses it); it
		// changes nothing about the peer.
		return ARB_OK;
	}
	pthread_mutex_lock(&P.mtx);
	kick = P.open && (!p->up || p->creation != h->creation);
	pthread_mutex_unlock(&P.mtx);
	if (kick) {
		arb__link_kick(p->link);
	}
	return ARB_OK;
}

// Envelopes refused from peers (arb__peers_forged), and their log's
// rate limit: a line a second at most, the others counted in the next
// one's suppressed=.
static _Atomic uint64_t forged;
static struct {
	pthread_mutex_t mtx;
	int64_t         last_ms;
	uint64_t        suppressed;
} forged_log = { .mtx = PTHREAD_MUTEX_INITIALIZER };

// peer_forged counts the n envelopes refused from a batch of peer h for
// mailbox dst and logs the first (f), rate-limited.
static void
peer_forged(
    const arb__hello *h, uint32_t dst, uint32_t n, const arb__forged *f)
{
	uint64_t total = atomic_fetch_add(&forged, n) + n, suppressed;
	int64_t  now = arb__now_ms();

	pthread_mutex_lock(&forged_log.mtx);
	if (forged_log.last_ms != 0 && now - forged_log.last_ms < 1000) {
		forged_log.suppressed++;
		pthread_mutex_unlock(&forged_log.mtx);
		return;
	}
	forged_log.last_ms = now;
	suppressed = forged_log.suppressed;
	forged_log.suppressed = 0;
	pthread_mutex_unlock(&forged_log.mtx);
	arb__log(ARB_LOG_WARN, NULL,
	    "event=forged_envelope peer=%s creation=%u why=\"%s\" "
	    "from=[%llu,%u,%u] tag=0x%08x mailbox=%u refused=%u forged=%llu "
	    "suppressed=%llu",
	    h->name, (unsigned) h->creation, f->why,
	    (unsigned long long) f->from.id, (unsigned) f->from.node,
	    (unsigned) f->from.creation, (unsigned) f->tag, (unsigned) dst,
	    (unsigned) n, (unsigned long long) total,
	    (unsigned long long) suppressed);
}

// A peer's batch: what that peer may not send is refused first (forged.c:
// a `from` that is not its pid would read as this node's own).  The
// peer stays connected: it proved the cookie, and a disconnect would
// take down what it sends rightly for no gain (it redials at once); the
// count and the log tell the operator (docs/multinode.md).
static bool
peer_on_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	const arb__hello *h = arb__conn_hello(c);
	arb__forged       f;
	uint32_t          n;

	ARB_UNUSED(arg);
	if ((n = arb__forged_strip(ch, h->node_id, h->creation, &f)) > 0) {
		peer_forged(h, ch->dst, n, &f);
		if (ch->len == 0) {
			arb__chunk_free(ch);
			return false;
		}
	}
	return arb__tp_deliver_remote(ch);
}

// A peer's accepted data stream brought no heartbeat for its budget
// (tp_conn.c, conn_hbw_cb): closed, unless our own dialled link to that
// incarnation of the peer is up -- that link times the peer's silence
// itself and, when it takes the peer DOWN, closes this stream with the
// others (peer_close_accepted): one DOWN, one count.  So it is the node
// that cannot dial the peer (only the peer reaches it) that closes a
// silent peer's stream here; before, it kept it until the peer's next
// stream replaced it.
static bool
peer_on_silent(void *arg, arb__conn *c)
{
	const arb__hello *h = arb__conn_hello(c);
	peer             *p;
	bool              keep;

	arb__link_info   li;

	ARB_UNUSED(arg);
	pthread_mutex_lock(&P.mtx);
	p = peer_by_id(h->node_id, h->name);
	keep = p != NULL && p->up && p->creation == h->creation;
	pthread_mutex_unlock(&P.mtx);
	if (keep) {
		// Only a stream of our own times the peer: when our link
		// sends on a stream the peer dialled (this one), nothing
		// else would take the peer DOWN.
		arb__link_get_info(p->link, &li);
		keep = li.up && !li.adopted;
	}
	return !keep;
}

// A peer's duplex data stream proved itself: our link to that peer may
// send on it (docs/multinode.md, "One stream per pair") -- at once when
// it has no stream of its own (it cannot dial the peer), else when its
// own one goes.  Called with no lock of the listener held.
static void
peer_on_proven(void *arg, arb__conn *c)
{
	const arb__hello *h = arb__conn_hello(c);
	peer             *p;

	ARB_UNUSED(arg);
	// (P.peers is set before the listener opens and freed after it
	// closed: no callback of it runs then.)
	pthread_mutex_lock(&P.mtx);
	p = peer_by_id(h->node_id, h->name);
	pthread_mutex_unlock(&P.mtx);
	if (p != NULL && h->creation != 0) {
		arb__link_offer(p->link, c);
	}
}

// Our listener refused a stream whose HELLO named node h->name for its
// authentication: kept as that peer's last refusal when we list it (the
// name is not proven: a stranger can claim a listed name, and its
// refusal then shows against that peer -- as it is logged).
static void
peer_on_refused(void *arg, const arb__hello *h, const char *brief)
{
	peer *p;

	ARB_UNUSED(arg);
	pthread_mutex_lock(&P.mtx);
	if ((p = peer_by_id(h->node_id, h->name)) != NULL) {
		p->refusal = brief;
		p->refusal_ms = arb__now_ms();
	}
	pthread_mutex_unlock(&P.mtx);
}

static int  peer_reachable(arb_pid to);
static int  peer_link(arb_pid to, arb__link **kp);
static void peer_resume(uint32_t mbid);

static const arb__tp_remote peer_remote = {
	.reachable = peer_reachable,
	.link = peer_link,
	.resume = peer_resume,
};

// A thread actor's mailbox filled by a peer pauses that peer's link
// (PAUSE); the mailbox's drain resumes it (route.c's tp_resume calls
// peer_resume through peer_remote).
static bool
peer_on_full(void *arg, uint32_t mbid)
{
	ARB_UNUSED(arg);
	return arb__tp_mbox_full(mbid);
}

static const arb__lsn_ops peer_lsn_ops = {
	.hello = peer_on_hello,
	.data = peer_on_data,
	.full = peer_on_full,
	.silent = peer_on_silent,
	.proven = peer_on_proven,
	.refused = peer_on_refused,
};

// peer_dialer makes p's link: over TLS, with a client configuration of
// its own that requires p's certificate to name p.
static int
peer_dialer(peer *p, const arb__peers_cfg *cfg, char *err, size_t errlen)
{
	arb__link_cfg lc = P.cfg;
	int           rv;

	if (is_tls(p->url)
	    && (rv = arb__tls_config(&lc.tls, &cfg->tls, p->name, err, errlen))
	        != ARB_OK) {
		return rv;
	}
	rv = arb__link_open(&p->link, p->url, &lc, NULL, NULL);
	arb__tls_free(lc.tls); // the dialer holds its own
	if (rv != ARB_OK) {
		snprintf(err, errlen, "peer %s: cannot dial %s: %s", p->name,
		    p->url, arb_strerror(rv));
	}
	return rv;
}

static void
peer_resume(uint32_t mbid)
{
	arb__lsn *l;

	// Under P.lsn_mtx, which arb__peers_close takes before it closes
	// the listener (not P.mtx: see peer_close_accepted).
	pthread_mutex_lock(&P.lsn_mtx);
	l = P.lsn;
	if (l != NULL) {
		arb__lsn_resume(l, mbid);
	}
	pthread_mutex_unlock(&P.lsn_mtx);
}

void
arb__peers_unproven(int max, int *total, int *per_src)
{
	struct rlimit rl;

	if (max <= 0) {
		// A quarter of the fds the node runs with (it lifts its soft
		// limit to the hard one), at most 256: strangers that hold
		// connections never take the fds the store, the control
		// socket and the peers need.
		max = ARB__UNPROVEN_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0
		    && rl.rlim_max != RLIM_INFINITY
		    && rl.rlim_max / 4 < (rlim_t) max) {
			max = rl.rlim_max >= 4 ? (int) (rl.rlim_max / 4) : 1;
		}
	}
	// One source: an eighth, but at least 4 (a few nodes behind one
	// NAT, each with a data stream and a heartbeat channel to prove).
	*total = max;
	*per_src = max / 8 > 4 ? max / 8 : (max < 4 ? max : 4);
}

int
arb__peers_open(const arb__peers_cfg *cfg, const arb__addr *self,
    size_t max_msg, char *err, size_t errlen)
{
	arb__link_cfg lc;
	size_t        i;
	int           rv;

	if ((rv = arb__peers_check(cfg, self->node, err, errlen)) != ARB_OK) {
		return rv;
	}
	if (cfg->listen == NULL && cfg->npeers == 0) {
		return ARB_OK;
	}
	if (P.open || arb__tp_counters() == NULL) {
		snprintf(err, errlen, "peers: already open, or no transport");
		return ARB_ESTATE;
	}
	memset(&P.cookie, 0, sizeof(P.cookie));
	if (cfg->cookie_file != NULL
	    && (rv = arb__cookie_load(&P.cookie, cfg->cookie_file, err, errlen))
	        != ARB_OK) {
		return rv;
	}
	arb__link_cfg_defaults(&P.cfg);
	P.cfg.stats = arb__tp_counters();
	P.cfg.max_frame = ARB__FR_DATA_HDR + ARB__BATCH_MAX(max_msg);
	P.cfg.self.max_frame = (uint32_t) P.cfg.max_frame;
	P.cfg.self.node_id = self->node_id;
	P.cfg.self.creation = self->creation;
	P.cfg.self.sender = arb__pid_make(ARB__KIND_NODE, 0, 0).id;
	snprintf(P.cfg.self.name, sizeof(P.cfg.self.name), "%s", self->node);
	P.cfg.cookie = cfg->cookie_file != NULL ? &P.cookie : NULL;
	P.cfg.hb_ms = cfg->hb_ms ? cfg->hb_ms : ARB__HB_MS_DEFAULT;
	P.cfg.hb_miss = cfg->hb_miss ? cfg->hb_miss : ARB__HB_MISS_DEFAULT;
	P.cfg.keep_up = true;
	P.cfg.merge = true; // one stream per pair (docs/multinode.md)
	P.cfg.backoff_min_ms = 50;
	P.cfg.backoff_max_ms = 500;
	P.event = cfg->event;
	P.arg = cfg->arg;
	if (cfg->npeers > 0
	    && (P.peers = arb__alloc(cfg->npeers * sizeof(*P.peers))) == NULL) {
		arb__cookie_clear(&P.cookie);
		return ARB_ENOMEM;
	}
	P.npeers = cfg->npeers;
	for (i = 0; i < P.npeers; i++) {
		peer *p = &P.peers[i];

		snprintf(p->name, sizeof(p->name), "%s", cfg->peers[i].name);
		snprintf(p->url, sizeof(p->url), "%s", cfg->peers[i].url);
		p->node_id = arb__node_id(p->name);
		if ((rv = peer_dialer(p, cfg, err, errlen)) != ARB_OK) {
			P.open = true;
			arb__peers_close();
			return rv;
		}
		arb__link_watch(p->link, peer_watch, p);
		arb__link_name(p->link, p->name);
	}
	if (is_tls(cfg->listen)
	    && (rv = arb__tls_config(&P.tls_server, &cfg->tls, NULL, err,
	            errlen))
	        != ARB_OK) {
		P.open = true;
		arb__peers_close();
		return rv;
	}
	lc = P.cfg;
	lc.tls = P.tls_server; // the listener keeps its hold until closed
	lc.one_per_node = true;
	arb__peers_unproven(
	    cfg->max_unproven, &lc.max_unproven, &lc.max_unproven_src);
	lc.unproven_refused = &unproven_refused;
	pthread_mutex_lock(&P.lsn_mtx);
	rv = cfg->listen != NULL
	    ? arb__lsn_open(&P.lsn, cfg->listen, 0, &peer_lsn_ops, NULL, &lc)
	    : ARB_OK;
	pthread_mutex_unlock(&P.lsn_mtx);
	if (rv != ARB_OK) {
		char why[160];

		snprintf(err, errlen, "listen %s: %s", cfg->listen,
		    arb__lsn_why(cfg->listen, rv, why, sizeof(why)));
		P.open = true;
		arb__peers_close();
		return rv;
	}
	P.open = true;
	for (i = 0; i < P.npeers; i++) {
		// The streams a link dials are read by the listener (duplex):
		// the peer may send on them.
		arb__link_set_reader(P.peers[i].link, P.lsn);
		arb__link_start(P.peers[i].link);
	}
	arb__tp_set_remote(&peer_remote);
	return ARB_OK;
}

void
arb__peers_close(void)
{
	arb__lsn *l;
	size_t    i;

	if (!P.open) {
		return;
	}
	arb__tp_set_remote(NULL);
	for (i = 0; i < P.npeers; i++) {
		// (before the listener's close)
		arb__link_set_reader(P.peers[i].link, NULL);
	}
	// The links may still go DOWN meanwhile (peer_close_accepted): they
	// find no listener once it is taken out here.
	pthread_mutex_lock(&P.lsn_mtx);
	l = P.lsn;
	P.lsn = NULL;
	pthread_mutex_unlock(&P.lsn_mtx);
	arb__lsn_close(l);
	arb__tls_free(P.tls_server);
	P.tls_server = NULL;
	for (i = 0; i < P.npeers; i++) {
		arb__link_rele(P.peers[i].link); // DOWN events may follow
	}
	pthread_mutex_lock(&P.mtx);
	for (i = 0; i < P.npeers; i++) {
		arb__slot_peer_set(i, 0, 0);
	}
	arb__free(P.peers);
	P.peers = NULL;
	P.npeers = 0;
	P.open = false;
	pthread_mutex_unlock(&P.mtx);
	arb__cookie_clear(&P.cookie);
}

size_t
arb__peers_info(arb_peer_info *out, size_t max)
{
	size_t i, n;

	n = P.open ? P.npeers : 0;
	for (i = 0; i < n && i < max; i++) {
		peer          *p = &P.peers[i];
		arb_peer_info *o = &out[i];
		arb__link_info li;

		arb__link_get_info(p->link, &li);
		memset(o, 0, sizeof(*o));
		pthread_mutex_lock(&P.lsn_mtx);
		o->accepted = P.lsn != NULL ? (uint32_t) arb__lsn_node_streams(
		                  P.lsn, p->node_id, p->name)
		                            : 0;
		pthread_mutex_unlock(&P.lsn_mtx);
		o->dialled = li.up && !li.adopted;
		snprintf(o->name, sizeof(o->name), "%s", p->name);
		snprintf(o->url, sizeof(o->url), "%s", p->url);
		pthread_mutex_lock(&P.mtx);
		o->state = p->up && li.up ? ARB_PEER_UP
		    : li.connecting || li.up ? ARB_PEER_CONNECTING
		                             : ARB_PEER_DOWN;
		o->incarnation = p->creation;
		o->ups = p->ups;
		o->downs = p->downs;
		// The last refusal: our link's (it dialled the peer) or our
		// listener's (the peer dialled us), the later -- a link's
		// refusal without a word (its address backed off by the
		// peer) does not hide one that said why shortly before.
		if (p->refusal != NULL
		    && (li.refusal == NULL || p->refusal_ms > li.refusal_ms
		        || (li.refusal_bare
		            && li.refusal_ms - p->refusal_ms
		                < ARB__REFUSAL_KEEP_MS))) {
			li.refusal = p->refusal;
			li.refusal_ms = p->refusal_ms;
		}
		pthread_mutex_unlock(&P.mtx);
		// A link that is not up has no round trip: its last one
		// belongs to a connection that is gone (OTP and Akka show
		// nothing of a node not connected).
		o->rtt_us = o->state == ARB_PEER_UP ? li.rtt_us : -1;
		o->last_hb_ms
		    = li.last_hb_ms > 0 ? arb__now_ms() - li.last_hb_ms : -1;
		snprintf(o->last_refusal, sizeof(o->last_refusal), "%s",
		    li.refusal != NULL ? li.refusal : "");
		o->last_refusal_ms
		    = li.refusal != NULL ? arb__now_ms() - li.refusal_ms : -1;
	}
	return n;
}

uint64_t
arb__peers_closed_with_peer(void)
{
	return atomic_load(&closed_with_peer);
}

uint64_t
arb__peers_unproven_refused(void)
{
	return atomic_load(&unproven_refused);
}

uint64_t
arb__peers_adopted(void)
{
	return arb__link_adopted();
}

uint64_t
arb__peers_forged(void)
{
	return atomic_load(&forged);
}

uint64_t
arb__peers_merged(void)
{
	return arb__link_merged();
}

int
arb__peers_port(void)
{
	return P.open && P.lsn != NULL ? arb__lsn_port(P.lsn) : 0;
}

uint32_t
arb__peers_node_id(size_t idx)
{
	return P.open && idx < P.npeers ? P.peers[idx].node_id : 0;
}

uint32_t
arb__peers_find(const char *name)
{
	uint32_t id = arb__node_id(name);
	uint32_t rv = 0;

	pthread_mutex_lock(&P.mtx);
	if (P.open && peer_by_id(id, name) != NULL) {
		rv = id;
	}
	pthread_mutex_unlock(&P.mtx);
	return rv;
}

static peer *
peer_of_node(uint32_t node_id)
{
	size_t i;

	for (i = 0; i < P.npeers; i++) {
		if (P.peers[i].node_id == node_id) {
			return &P.peers[i];
		}
	}
	return NULL;
}

static int
peer_reachable(arb_pid to)
{
	peer *p;
	int   rv = ARB_ENOENT;

	pthread_mutex_lock(&P.mtx);
	if (P.open && (p = peer_of_node(to.node)) != NULL && p->up
	    && (to.creation == 0 || to.creation == p->creation)) {
		rv = ARB_OK;
	}
	pthread_mutex_unlock(&P.mtx);
	return rv;
}

static int
peer_link(arb_pid to, arb__link **kp)
{
	peer *p;
	int   rv = ARB_ENOENT;

	pthread_mutex_lock(&P.mtx);
	if (P.open && (p = peer_of_node(to.node)) != NULL) {
		arb__link_ref(p->link);
		*kp = p->link;
		rv = ARB_OK;
	}
	pthread_mutex_unlock(&P.mtx);
	return rv;
}
