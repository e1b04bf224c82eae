// SPDX-License-Identifier: MIT
// linkc.h -- arborctl's side of the control socket: a blocking client of
// arbor's link protocol (docs/wire.md, "Links"; role 2, CTL frames) over
// one nng stream.  Thread: the caller's (one client, one thread).

#ifndef ARBORCTL_LINKC_H
#define ARBORCTL_LINKC_H

#include <stddef.h>
#include <stdint.h>

typedef struct linkc linkc;

// The largest reply accepted (a status of a very large tree).
#define LINKC_REPLY_MAX (64u * 1024u * 1024u)

// linkc_open dials url (ipc://PATH) and exchanges HELLOs within
// timeout_ms.  Returns 0 with *cp set, or an nng error (NNG_EPROTO: the
// peer does not speak the link protocol as a control socket: it sent
// something other than a HELLO, or part of one and closed;
// NNG_ECONNSHUT: it closed without sending anything).
int linkc_open(linkc **cp, const char *url, int timeout_ms);
// linkc_call sends one request (a CTL frame) and waits at most
// timeout_ms for its reply, returned in *repp (free() it) and *lenp.
// Returns 0 or an nng error (NNG_ECONNSHUT: the node closed the
// connection; NNG_EPROTO: not a CTL frame, or over LINKC_REPLY_MAX).
int linkc_call(linkc *c, const void *req, size_t len, uint8_t **repp,
    size_t *lenp, int timeout_ms);
// linkc_close closes the connection.  NULL is a harmless no-op.
void linkc_close(linkc *c);

#endif // ARBORCTL_LINKC_H
