// SPDX-License-Identifier: MIT
// tp_lsn.c -- the listener of links (arb__lsn, link.h): listens on its
// URL, accepts streams (backing off TCP sources that failed, penalty.c;
// bounding the connections that have yet to prove themselves, in all and
// per source) and makes each an accepted connection (tp_conn.c).
//
// Threads: the accept callback runs on nng's threads; arb__lsn_* run on
// the caller's (an actor loop), under the listener's mutex.

#include "tp_int.h"

#include <stdio.h>

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

// --- The bound on unproven connections --------------------------------
// A stranger that connects and says nothing holds an fd (and ~3 KiB)
// until the HELLO deadline: without a bound, enough of them take every
// fd of the process.  A TCP listener with cfg.max_unproven counts its
// accepted connections that have yet to prove themselves (HELLO and,
// with a cookie, AUTH), per source address too (a pool of entries, one
// per source holding any), and at accept:
// - a source that holds unp_src_max already: the new connection is
//   closed at once (the source's own are older, and its failures back
//   it off: penalty.c);
// - a listener that holds max_unproven: the oldest unproven connection
//   of the source that holds the most is closed to make room, if that
//   source holds more than the new one's does; else the new one is
//   closed.  Refusing the new one always would let whoever filled the
//   listener first keep it full (each slot refilled as its HELLO
//   deadline closes it): strangers from enough addresses would keep
//   every good peer out.  This way a source that holds fewer than the
//   busiest always gets in, and a good peer's connection, the newest,
//   is the last of its share to go.
// Each closed connection is counted (unproven_refused) and logged at
// most once a second per listener.

static void
lsn_unp_count(arb__lsn *l)
{
	if (l->cfg.unproven_refused != NULL) {
		stat_add(l->cfg.unproven_refused, 1);
	}
}

// lsn_unp_find: the pool's entry of source a (NULL: none holds any).
static arb__unp_src *
lsn_unp_find(arb__lsn *l, const uint8_t a[ARB__PENALTY_ADDR])
{
	int i;

	for (i = 0; i < l->cfg.max_unproven; i++) {
		if (l->unp[i].n > 0
		    && memcmp(l->unp[i].addr, a, ARB__PENALTY_ADDR) == 0) {
			return &l->unp[i];
		}
	}
	return NULL;
}

// lsn_unp_victim: the oldest unproven connection of a source that holds
// the most (more than `own`, what the new connection's source holds);
// NULL: none holds more.
static arb__conn *
lsn_unp_victim(arb__lsn *l, uint32_t own)
{
	uint32_t   most = own;
	arb__conn *c, *v = NULL;
	int        i;

	for (i = 0; i < l->cfg.max_unproven; i++) {
		if (l->unp[i].n > most) {
			most = l->unp[i].n;
		}
	}
	if (most == own) {
		return NULL;
	}
	// The list is newest first: the last match is the oldest.
	for (c = l->conns; c != NULL; c = c->next) {
		if (c->unp != NULL && c->unp->n == most) {
			v = c;
		}
	}
	return v;
}

// lsn_unp_note logs a connection closed for the bound: at most one line
// a second per listener, with the number closed since the last line.
// Not under l->mtx.
static void
lsn_unp_note(arb__lsn *l, const char *src, const char *evicted, size_t held,
    uint32_t src_held)
{
	int64_t  sec = arb__now_ms() / 1000;
	uint64_t n;

	pthread_mutex_lock(&l->mtx);
	l->unp_suppressed++;
	if (sec == l->unp_log_sec) {
		pthread_mutex_unlock(&l->mtx);
		return;
	}
	l->unp_log_sec = sec;
	n = l->unp_suppressed;
	l->unp_suppressed = 0;
	pthread_mutex_unlock(&l->mtx);
	if (evicted != NULL) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=link_unproven_full listener=%s source=%s "
		    "closed=%llu reason=\"%d unproven connections, the "
		    "most (max_unproven): the oldest of %s, the source "
		    "holding the most, closed to make room\"",
		    l->url, src, (unsigned long long) n, l->cfg.max_unproven,
		    evicted);
	} else if (src_held >= (uint32_t) l->unp_src_max) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=link_unproven_full listener=%s source=%s "
		    "closed=%llu reason=\"the source holds %u unproven "
		    "connections, the most one may\"",
		    l->url, src, (unsigned long long) n, src_held);
	} else {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=link_unproven_full listener=%s source=%s "
		    "closed=%llu reason=\"%zu unproven connections, the "
		    "most (max_unproven %d), none of a source holding more "
		    "than this one's %u\"",
		    l->url, src, (unsigned long long) n, held,
		    l->cfg.max_unproven, src_held);
	}
}

// lsn_unp_admit: may a connection from source a count among the
// unproven ones (true: *us, its source's entry, to count it in)?  A
// victim closed to make room is counted and its source left in vsrc.
// Under l->mtx.
static bool
lsn_unp_admit(arb__lsn *l, const uint8_t a[ARB__PENALTY_ADDR],
    arb__unp_src **us, char *vsrc, size_t vlen, uint32_t *own)
{
	arb__unp_src *e = lsn_unp_find(l, a);
	arb__conn    *v;

	*own = e != NULL ? e->n : 0;
	if (*own >= (uint32_t) l->unp_src_max) {
		return false;
	}
	if (l->unproven >= (size_t) l->cfg.max_unproven) {
		if ((v = lsn_unp_victim(l, *own)) == NULL) {
			return false;
		}
		snprintf(vsrc, vlen, "%s", v->src_str);
		arb__conn_unp_release(l, v); // its slot is the new one's
		lsn_unp_count(l);      // before its peer can see it closed
		pthread_mutex_lock(&v->mtx);
		arb__conn_close_locked(v);
		pthread_mutex_unlock(&v->mtx);
	}
	if (e == NULL) {
		// A free entry: fewer than max_unproven count, so one is.
		for (e = l->unp; e->n > 0; e++) { }
		memcpy(e->addr, a, ARB__PENALTY_ADDR);
	}
	*us = e;
	return true;
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
		int64_t left = src
		    ? arb__penalty_left(&l->pen, a, NULL, arb__now_ms())
		    : 0;
		arb__unp_src *us = NULL;
		arb__conn    *c;
		char          vsrc[INET6_ADDRSTRLEN] = "";
		uint32_t      own = 0;
		size_t        held;

		if (left > 0) {
			// Its source sent garbage or failed to prove itself:
			// closed before anything is read or sent (no TLS or
			// link handshake), until its backoff ends.
			nng_stream_free(s);
			stat_add(&l->cfg.stats->backoff_refused, 1);
			lsn_accept(l, 0);
			pthread_mutex_unlock(&l->mtx);
			arb__lsn_backoff_note(l, str, NULL, left);
			return;
		}
		if (src && l->unp != NULL
		    && !lsn_unp_admit(l, a, &us, vsrc, sizeof(vsrc), &own)) {
			// At the bound on unproven connections: closed
			// before anything is read or sent.
			lsn_unp_count(l); // before its peer can see it closed
			nng_stream_free(s);
			held = l->unproven;
			lsn_accept(l, 0);
			pthread_mutex_unlock(&l->mtx);
			lsn_unp_note(l, str, NULL, held, own);
			return;
		}
		held = l->unproven;
		if ((c = arb__conn_start(l, s, src ? a : NULL, str)) != NULL
		    && us != NULL) {
			c->unp = us;
			us->n++;
			l->unproven++;
		}
		lsn_accept(l, 0);
		if (vsrc[0] != '\0') {
			pthread_mutex_unlock(&l->mtx);
			lsn_unp_note(l, str, vsrc, held, own);
			return;
		}
	} else if (rv == NNG_ECONNABORTED || rv == NNG_ECONNRESET
	    || rv == NNG_ECONNSHUT || rv == NNG_ETIMEDOUT) {
		stat_add(&l->cfg.stats->refused, 1);
		lsn_accept(l, 0); // that peer's problem only
		pthread_mutex_unlock(&l->mtx);
		arb__lsn_note(l, true, "accept failed: %s", nng_strerror(rv));
		return;
	} else {
		// Out of fds or memory, or the listener closed under us:
		// wait a little and accept again.
		l->broken = rv == NNG_ECLOSED;
		lsn_accept(l, 10);
	}
	pthread_mutex_unlock(&l->mtx);
}

// lsn_bound names l by the address it is bound to: a TCP listener opened
// on port 0 has its url's port replaced by the one it got
// (arb__url_bound), so its log lines name where it listens, and a
// listener made anew after a failure (lsn_accept_cb) binds that same
// port, the one peers were told.  Before its first accept: no other
// thread reads l->url yet.
static void
lsn_bound(arb__lsn *l)
{
	char        buf[sizeof(l->url)];
	const char *u
	    = arb__url_bound(l->url, arb__lsn_port(l), buf, sizeof(buf));

	if (u == buf) {
		memcpy(l->url, buf, sizeof(l->url));
	}
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
	if (cfg->max_unproven < 0 || cfg->max_unproven_src < 0) {
		arb__free(l);
		return ARB_EINVAL;
	}
	if ((strncmp(url, "tcp://", 6) == 0
	        || strncmp(url, "tls+tcp://", 10) == 0)
	    && arb__penalty_init(&l->pen, ARB__PENALTY_CAP) != ARB_OK) {
		arb__free(l);
		return ARB_ENOMEM;
	}
	if (l->pen.tab != NULL && cfg->max_unproven > 0) {
		// The bound on unproven connections (TCP: their sources
		// are known).
		l->unp_src_max = cfg->max_unproven_src > 0
		        && cfg->max_unproven_src < cfg->max_unproven
		    ? cfg->max_unproven_src
		    : cfg->max_unproven;
		l->unp
		    = arb__alloc((size_t) cfg->max_unproven * sizeof(*l->unp));
		if (l->unp == NULL) {
			arb__penalty_fini(&l->pen);
			arb__free(l);
			return ARB_ENOMEM;
		}
	}
	pthread_mutex_init(&l->mtx, NULL);
	pthread_cond_init(&l->cv, NULL);
	if ((rv = nng_aio_alloc(&l->aio, lsn_accept_cb, l)) != 0
	    || (rv = lsn_listen(l)) != 0) {
		arb__penalty_fini(&l->pen);
		arb__free(l->unp);
		nng_aio_free(l->aio);
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mtx);
		arb__free(l);
		return arb__err_from_nng(rv);
	}
	lsn_bound(l);
	pthread_mutex_lock(&l->mtx);
	lsn_accept(l, 0);
	pthread_mutex_unlock(&l->mtx);
	*lp = l;
	return ARB_OK;
}

const char *
arb__lsn_why(const char *url, int rv, char *buf, size_t len)
{
	if (rv == ARB_EEXIST) {
		// nng's "address in use", which arb_strerror says as a name
		// "already registered".
		snprintf(buf, len,
		    "address in use (another process listens there: another "
		    "node, or this one still running?)");
		return buf;
	}
	if ((rv != ARB_EINVAL && rv != ARB_EAGAIN)
	    || !arb__host_why(url, true, buf, len)) {
		snprintf(buf, len, "%s", arb_strerror(rv));
	}
	return buf;
}

void
arb__lsn_resume(arb__lsn *l, uint32_t mbid)
{
	arb__conn *c;

	pthread_mutex_lock(&l->mtx);
	for (c = l->conns; c != NULL; c = c->next) {
		pthread_mutex_lock(&c->mtx);
		arb__conn_resume_locked(c, mbid);
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
		arb__conn_kick_send(c);
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

size_t
arb__lsn_stage_bytes(arb__lsn *l)
{
	return atomic_load(&l->stage_bytes);
}

size_t
arb__lsn_close_node(
    arb__lsn *l, uint32_t node_id, const char *name, uint32_t creation)
{
	arb__conn *c;
	size_t     n = 0;

	if (l == NULL || !l->cfg.one_per_node) {
		return 0;
	}
	pthread_mutex_lock(&l->mtx);
	for (c = l->conns; c != NULL; c = c->next) {
		// token != 0: a data stream whose HELLO was taken; all of
		// them were taken before now (born), so none is newer than
		// the DOWN that asks for this.
		if (c->token == 0 || c->peer.role != ARB__ROLE_PEER
		    || c->peer.node_id != node_id
		    || c->peer.creation != creation
		    || strcmp(c->peer.name, name) != 0) {
			continue;
		}
		pthread_mutex_lock(&c->mtx);
		if (!c->closed) {
			arb__conn_close_locked(c);
			n++;
		}
		pthread_mutex_unlock(&c->mtx);
		if (c->hb != NULL) {
			// Its heartbeat channel now, not when the stream's
			// last operation ends (conn_destroy closes it then too).
			pthread_mutex_lock(&c->hb->mtx);
			arb__conn_close_locked(c->hb);
			pthread_mutex_unlock(&c->hb->mtx);
		}
	}
	pthread_mutex_unlock(&l->mtx);
	return n;
}

size_t
arb__lsn_node_streams(arb__lsn *l, uint32_t node_id, const char *name)
{
	arb__conn *c;
	size_t     n = 0;

	if (l == NULL || !l->cfg.one_per_node) {
		return 0;
	}
	pthread_mutex_lock(&l->mtx);
	for (c = l->conns; c != NULL; c = c->next) {
		if (!c->proven || c->peer.role != ARB__ROLE_PEER
		    || c->peer.node_id != node_id
		    || strcmp(c->peer.name, name) != 0) {
			continue;
		}
		pthread_mutex_lock(&c->mtx);
		n += !c->closed;
		pthread_mutex_unlock(&c->mtx);
	}
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
		arb__conn_close_locked(c);
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
	arb__free(l->unp);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mtx);
	arb__free(l);
}
