// SPDX-License-Identifier: MIT
// ctl_nng.c -- the control socket's transport (ctl_sock.h): an nng REP
// socket on ipc://PATH, one request and one reply per exchange.
//
// This is the only file of the operator layer that includes <nng/nng.h>;
// the protocol (control.c) sees request bytes, the peer's uid and a reply
// buffer, so the transport can change (to arbor's own link protocol)
// without touching it.  The socket's receive fd (NNG_OPT_RECVFD) is
// watched on the node's loop and drained without blocking; a reply that
// can't be sent at once is dropped (the client times out rather than the
// node thread blocking).  A reply may also come later (a reload is read
// off the loop): the request is kept and nothing more is read until its
// reply is sent.  Thread: node.

#include "ctl_sock.h"

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

struct arb__ctlsock {
	nng_socket      sock;
	struct event   *ev;
	arb__ctlsock_fn fn;
	void           *arg;
	arb__buf        reply;
	nng_msg        *pending; // a request answered later; ev is off
};

// ctlsock_send sends data as the reply in msg (the request, reused).
static void
ctlsock_send(arb__ctlsock *s, nng_msg *msg, const void *data, size_t len)
{
	int rv;

	nng_msg_clear(msg);
	if ((rv = nng_msg_append(msg, data, len)) != 0
	    || (rv = nng_sendmsg(s->sock, msg, NNG_FLAG_NONBLOCK)) != 0) {
		arb_log(NULL, ARB_LOG_WARN, "control_error",
		    "op=reply error=\"%s\"", nng_strerror(rv));
		nng_msg_free(msg);
	}
}

static void
ctlsock_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__ctlsock *s = arg;
	nng_msg      *msg;
	nng_pipe      p;
	uint64_t      uid;
	bool          known;
	int           rv;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	while (s->pending == NULL) {
		rv = nng_recvmsg(s->sock, &msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN) {
			return;
		}
		if (rv != 0) {
			arb_log(NULL, ARB_LOG_ERROR, "control_error",
			    "op=recv error=\"%s\"", nng_strerror(rv));
			return;
		}
		p = nng_msg_get_pipe(msg);
		known
		    = nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0;
		arb__buf_reset(&s->reply);
		if (!s->fn(s->arg, nng_msg_body(msg), nng_msg_len(msg),
		        known ? uid : 0, known, &s->reply)) {
			// Answered later: read nothing more until then (the
			// REP socket keeps this request's way back).
			s->pending = msg;
			event_del(s->ev);
			return;
		}
		ctlsock_send(s, msg, s->reply.data, s->reply.len);
	}
}

void
arb__ctlsock_reply(arb__ctlsock *s, const void *data, size_t len)
{
	nng_msg *msg = s->pending;

	if (msg == NULL) {
		return;
	}
	s->pending = NULL;
	ctlsock_send(s, msg, data, len);
	if (event_add(s->ev, NULL) == 0) {
		event_active(s->ev, EV_READ, 0); // requests that waited
	}
}

int
arb__ctlsock_open(arb__ctlsock **sp, struct event_base *base, const char *path,
    size_t max_req, arb__ctlsock_fn fn, void *arg, char *err, size_t errlen)
{
	arb__ctlsock *s;
	nng_listener  l;
	struct stat   st;
	char          url[ARB__SOCK_PATH_MAX + 8];
	int           rv, fd;

	if ((s = arb__alloc(sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ARB_ENOMEM;
	}
	s->fn = fn;
	s->arg = arg;
	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		snprintf(err, errlen, "%s", nng_strerror(rv));
		arb__free(s);
		return ARB_ENOMEM;
	}
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_req))
	        != 0
	    || (rv = nng_listener_create(&l, s->sock, url)) != 0
	    || (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600))
	        != 0
	    || (rv = nng_listener_start(l, 0)) != 0) {
		snprintf(err, errlen, "%s", nng_strerror(rv));
		nng_close(s->sock);
		arb__free(s);
		return rv == NNG_EADDRINUSE ? ARB_EEXIST : ARB_EINVAL;
	}
	// nng made it 0600 between bind and listen; the directory kept
	// everybody else out meanwhile.  Check rather than trust.
	if (chmod(path, 0600) != 0 || stat(path, &st) != 0
	    || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "cannot make the socket 0600");
		nng_close(s->sock);
		arb__free(s);
		return ARB_EPERM;
	}
	if ((rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &fd)) != 0
	    || (s->ev
	           = event_new(base, fd, EV_READ | EV_PERSIST, ctlsock_cb, s))
	        == NULL
	    || event_add(s->ev, NULL) != 0) {
		snprintf(err, errlen, "cannot watch the socket");
		if (s->ev != NULL) {
			event_free(s->ev);
		}
		nng_close(s->sock);
		arb__free(s);
		return ARB_ENOMEM;
	}
	*sp = s;
	return ARB_OK;
}

void
arb__ctlsock_close(arb__ctlsock *s)
{
	if (s == NULL) {
		return;
	}
	event_free(s->ev);
	if (s->pending != NULL) {
		nng_msg_free(s->pending);
	}
	nng_close(s->sock); // also removes the socket file
	arb__buf_fini(&s->reply);
	arb__free(s);
}
