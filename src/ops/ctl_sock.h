// SPDX-License-Identifier: MIT
// ctl_sock.h -- the transport of the control socket (ctl_link.c), kept
// apart from its protocol (control.c).  Thread: node.

#ifndef ARB_OPS_CTL_SOCK_H
#define ARB_OPS_CTL_SOCK_H

#include "../core/arb_impl.h"
#include "paths.h"

struct event_base;

typedef struct arb__ctlsock arb__ctlsock;

// ARB__CTLSOCK_LATER is how many requests may wait for a later answer;
// while that many wait, no more are read.
#define ARB__CTLSOCK_LATER 4

// ARB__CTLSOCK_UNREAD bounds the replies a client may leave unread on its
// connection (bytes): one more closes it (ctl_link.c).  Far above what
// arborctl or any client that reads its answers leaves.
#define ARB__CTLSOCK_UNREAD (1024 * 1024)

// arb__ctlsock_fn handles one request (req/len borrowed for the call):
// peer_uid is the uid of the process that sent it when uid_known.  The
// handler writes the whole reply into reply (empty on entry) and returns
// true, or returns false to answer later with arb__ctlsock_reply and
// ticket (0 to ARB__CTLSOCK_LATER - 1); other requests are read and
// answered meanwhile.
typedef bool (*arb__ctlsock_fn)(void *arg, const void *req, size_t len,
    uint64_t peer_uid, bool uid_known, arb__buf *reply, unsigned ticket);

// arb__ctlsock_open listens on the socket file path (made 0600, and
// checked) and calls fn on base's thread for each request of at most
// max_req bytes.  The caller has made sure the directory is private and
// removed a stale socket file.  Returns ARB_OK with *sp set, or an error
// with the reason in err: ARB_EEXIST the address is in use, ARB_EPERM the
// socket can't be made 0600, ARB_EINVAL or ARB_ENOMEM otherwise.
int arb__ctlsock_open(arb__ctlsock **sp, struct event_base *base,
    const char *path, size_t max_req, arb__ctlsock_fn fn, void *arg,
    char *err, size_t errlen);

// arb__ctlsock_reply sends the reply (len bytes, copied) to the request
// whose handler returned false with ticket.  A reply that can't be sent
// at once is dropped (the client times out).
void arb__ctlsock_reply(
    arb__ctlsock *s, unsigned ticket, const void *data, size_t len);

// arb__ctlsock_close stops serving and removes the socket file; a reply
// still owed is never sent.  NULL is a harmless no-op.
void arb__ctlsock_close(arb__ctlsock *s);

#endif // ARB_OPS_CTL_SOCK_H
