// SPDX-License-Identifier: MIT
// ctl_link.c -- the control socket's transport (ctl_sock.h): a link
// listener (src/transport, docs/wire.md "Links") on ipc://PATH that
// accepts control clients only (HELLO role 2); each CTL frame is one
// request, answered by one CTL frame on the same connection.
//
// No nng SP socket: an SP REP listener on ipc is made deaf for good by
// one peer that connects and closes during the SP handshake
// (nanomsg/nng#1518), which cut arborctl off until the node restarted.
// Over the link protocol a bad peer (probe, stranger, garbage, half a
// HELLO, an oversized length) costs only its own connection; it is
// counted in the node's links_refused / link_bad_frames and logged with
// its reason (event=link_refused).
//
// The listener's callbacks run on nng's threads: a request is copied into
// a queue and the node's loop is woken (event_active); the loop calls the
// protocol's handler (control.c) one request at a time, in arrival order.
// A reply the handler defers (a reload, read off the loop) is kept in one
// of ARB__CTLSOCK_LATER slots while the next requests are handled; with
// every slot taken the queue waits for arb__ctlsock_reply.  A connection
// that goes away takes its queued requests with it, and a reply owed to
// it is dropped.  A client whose replies pile up unread (more than
// ARB__CTLSOCK_UNREAD bytes) is closed with a logged reason
// (event=control_client_closed).  Thread: node
// (the loop), except the callbacks named.

#include "ctl_sock.h"

#include "../transport/link.h"
#include "../transport/transport.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ctl_req {
	struct ctl_req *next;
	arb__conn      *conn; // NULL once the connection went away
	uint64_t        uid;
	bool            uid_known;
	size_t          len;
	uint8_t         data[];
} ctl_req;

struct arb__ctlsock {
	arb__lsn       *lsn;
	struct event   *ev;
	arb__ctlsock_fn fn;
	void           *arg;
	arb__buf        reply;
	char            path[ARB__SOCK_PATH_MAX];
	pthread_mutex_t mtx;
	ctl_req        *head, *tail; // requests not yet handled (under mtx)
	ctl_req        *cur;         // the one being handled (under mtx)
	ctl_req        *later[ARB__CTLSOCK_LATER]; // answered later (mtx)
};

// --- listener callbacks (nng's threads) -------------------------------------

static int
ctl_on_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	ARB_UNUSED(arg);
	ARB_UNUSED(c);
	// The socket file's mode and directory, and the peer's uid on every
	// request (control.c), say who may talk here; the HELLO says only
	// that it is a control client.
	return h->role == ARB__ROLE_CONTROL ? ARB_OK : ARB_EPERM;
}

static bool
ctl_on_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	ARB_UNUSED(arg);
	ARB_UNUSED(c);
	arb__chunk_free(ch); // never called: DATA needs role 1
	return false;
}

static void
ctl_on_ctl(void *arg, arb__conn *c, const uint8_t *p, size_t len)
{
	arb__ctlsock *s = arg;
	ctl_req      *r = arb__alloc(sizeof(*r) + len);

	if (r == NULL) {
		arb__conn_close(c); // out of memory: this client only
		return;
	}
	r->conn = c;
	r->uid_known = arb__conn_peer_uid(c, &r->uid) == ARB_OK;
	r->len = len;
	memcpy(r->data, p, len);
	pthread_mutex_lock(&s->mtx);
	if (s->tail != NULL) {
		s->tail->next = r;
	} else {
		s->head = r;
	}
	s->tail = r;
	pthread_mutex_unlock(&s->mtx);
	event_active(s->ev, EV_READ, 0);
}

// ctl_forget drops c's queued requests and the replies owed to it.
// Under s->mtx.
static void
ctl_forget(arb__ctlsock *s, arb__conn *c)
{
	ctl_req **rp, *r;
	int       i;

	for (rp = &s->head; (r = *rp) != NULL;) {
		if (r->conn == c) {
			*rp = r->next;
			arb__free(r);
			continue;
		}
		rp = &r->next;
	}
	s->tail = NULL;
	for (r = s->head; r != NULL; r = r->next) {
		s->tail = r;
	}
	if (s->cur != NULL && s->cur->conn == c) {
		s->cur->conn = NULL; // its reply has nowhere to go
	}
	for (i = 0; i < ARB__CTLSOCK_LATER; i++) {
		if (s->later[i] != NULL && s->later[i]->conn == c) {
			s->later[i]->conn = NULL;
		}
	}
}

static void
ctl_on_gone(void *arg, arb__conn *c)
{
	arb__ctlsock *s = arg;

	pthread_mutex_lock(&s->mtx);
	ctl_forget(s, c);
	pthread_mutex_unlock(&s->mtx);
}

static const arb__lsn_ops ctl_lsn_ops = {
	.hello = ctl_on_hello,
	.data = ctl_on_data,
	.ctl = ctl_on_ctl,
	.gone = ctl_on_gone,
};

// --- the node's loop --------------------------------------------------------

// ctl_answer sends the reply to r's connection (if it is still there)
// and frees r, which the caller took out of s->cur or s->later.
static void
ctl_answer(arb__ctlsock *s, ctl_req *r, const void *data, size_t len)
{
	size_t unread;

	pthread_mutex_lock(&s->mtx);
	if (r->conn != NULL
	    && (unread = arb__conn_backlog(r->conn)) + len
	        > ARB__CTLSOCK_UNREAD) {
		// A client that sends requests and reads no reply would
		// grow this queue without end: it is closed (its requests
		// still queued go with it).
		arb_log(NULL, ARB_LOG_WARN, "control_client_closed",
		    "reason=\"%zu bytes of replies unread, more than %d\"",
		    unread, ARB__CTLSOCK_UNREAD);
		arb__conn_close(r->conn);
		ctl_forget(s, r->conn);
	} else if (r->conn != NULL
	    && arb__conn_send_ctl(r->conn, data, len) != ARB_OK) {
		arb_log(NULL, ARB_LOG_WARN, "control_error",
		    "op=reply error=\"the client went away\"");
	}
	pthread_mutex_unlock(&s->mtx);
	arb__free(r);
}

// ctl_free_slot returns a free later slot, or -1.  Called under mtx.
static int
ctl_free_slot(const arb__ctlsock *s)
{
	int i;

	for (i = 0; i < ARB__CTLSOCK_LATER; i++) {
		if (s->later[i] == NULL) {
			return i;
		}
	}
	return -1;
}

static void
ctlsock_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__ctlsock *s = arg;
	ctl_req      *r;
	int           slot;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	for (;;) {
		pthread_mutex_lock(&s->mtx);
		if ((slot = ctl_free_slot(s)) < 0 || (r = s->head) == NULL) {
			pthread_mutex_unlock(&s->mtx);
			return; // a slot is freed first, or nothing to do
		}
		if ((s->head = r->next) == NULL) {
			s->tail = NULL;
		}
		r->next = NULL;
		s->cur = r;
		pthread_mutex_unlock(&s->mtx);
		arb__buf_reset(&s->reply);
		if (!s->fn(s->arg, r->data, r->len, r->uid, r->uid_known,
		        &s->reply, (unsigned) slot)) {
			// Answered by arb__ctlsock_reply; the next requests
			// are handled meanwhile.
			pthread_mutex_lock(&s->mtx);
			s->later[slot] = r;
			s->cur = NULL;
			pthread_mutex_unlock(&s->mtx);
			continue;
		}
		pthread_mutex_lock(&s->mtx);
		s->cur = NULL;
		pthread_mutex_unlock(&s->mtx);
		ctl_answer(s, r, s->reply.data, s->reply.len);
	}
}

void
arb__ctlsock_reply(
    arb__ctlsock *s, unsigned ticket, const void *data, size_t len)
{
	ctl_req *r;

	if (ticket >= ARB__CTLSOCK_LATER) {
		return;
	}
	pthread_mutex_lock(&s->mtx);
	r = s->later[ticket];
	s->later[ticket] = NULL;
	pthread_mutex_unlock(&s->mtx);
	if (r == NULL) {
		return;
	}
	ctl_answer(s, r, data, len);
	event_active(s->ev, EV_READ, 0); // requests that waited
}

int
arb__ctlsock_open(arb__ctlsock **sp, struct event_base *base, const char *path,
    size_t max_req, arb__ctlsock_fn fn, void *arg, char *err, size_t errlen)
{
	arb__ctlsock *s;
	arb__link_cfg cfg;
	struct stat   st;
	char          url[ARB__SOCK_PATH_MAX + 8];
	int           rv;

	if ((s = arb__alloc(sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ARB_ENOMEM;
	}
	s->fn = fn;
	s->arg = arg;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->mtx, NULL);
	snprintf(url, sizeof(url), "ipc://%s", path);
	arb__link_cfg_defaults(&cfg);
	cfg.max_frame = max_req + ARB__FR_HDR;
	// The reply HELLO is a control socket's (role 2), naming no node:
	// the socket's path already says which node it is.
	cfg.self.role = ARB__ROLE_CONTROL;
	cfg.self.node_id = 0;
	cfg.self.max_frame = (uint32_t) cfg.max_frame;
	// Refused peers and bad frames count with the node's links
	// (arb_node_stats: links_refused, link_bad_frames).
	cfg.stats = arb__tp_side_counters();
	if ((s->ev = event_new(base, -1, 0, ctlsock_cb, s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = ARB_ENOMEM;
		goto fail;
	}
	if ((rv = arb__lsn_open(&s->lsn, url, 0600, &ctl_lsn_ops, s, &cfg))
	    != ARB_OK) {
		snprintf(err, errlen, "%s", arb_strerror(rv));
		rv = rv == ARB_EEXIST ? ARB_EEXIST : ARB_EINVAL;
		goto fail;
	}
	// nng made it 0600 between bind and listen; the directory kept
	// everybody else out meanwhile.  Check rather than trust.
	if (chmod(path, 0600) != 0 || stat(path, &st) != 0
	    || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "cannot make the socket 0600");
		rv = ARB_EPERM;
		goto fail;
	}
	*sp = s;
	return ARB_OK;
fail:
	arb__lsn_close(s->lsn);
	if (s->ev != NULL) {
		event_free(s->ev);
	}
	pthread_mutex_destroy(&s->mtx);
	arb__free(s);
	return rv;
}

void
arb__ctlsock_close(arb__ctlsock *s)
{
	ctl_req *r;
	int      i;

	if (s == NULL) {
		return;
	}
	arb__lsn_close(s->lsn); // no callback runs after this
	event_free(s->ev);
	arb__free(s->cur);
	for (i = 0; i < ARB__CTLSOCK_LATER; i++) {
		arb__free(s->later[i]);
	}
	while ((r = s->head) != NULL) {
		s->head = r->next;
		arb__free(r);
	}
	(void) unlink(s->path); // nng removes it too; gone either way
	arb__buf_fini(&s->reply);
	pthread_mutex_destroy(&s->mtx);
	arb__free(s);
}
