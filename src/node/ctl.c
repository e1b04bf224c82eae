// SPDX-License-Identifier: MIT
// ctl.c -- the control channel between the node and a process actor.
//
// A SOCK_SEQPACKET socketpair keeps message boundaries, so each message is
// one datagram: an 8-byte header (op, version, 6 bytes zero) and the
// payload.  Both ends run the same arbor build (the actor program is the
// node's own binary or one linked with the same libarbor): payloads are
// plain C structs and the version byte guards against mixing builds.
// EOF on the channel means the other side is gone.  Thread: the loop that
// owns the fd.

#include "node_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int
arb__ctl_send(int fd, arb__ctl_op op, const void *p, size_t n,
    const void *p2, size_t n2)
{
	uint8_t       hdr[8] = { (uint8_t) op, ARB__CTL_VERSION };
	struct iovec  iov[3];
	struct msghdr mh;
	ssize_t       w;

	if (8 + n + n2 > ARB__CTL_MAX) {
		return ARB_EMSGSIZE;
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len  = sizeof(hdr);
	iov[1].iov_base = (void *) p;
	iov[1].iov_len  = n;
	iov[2].iov_base = (void *) p2;
	iov[2].iov_len  = n2;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov    = iov;
	mh.msg_iovlen = 3;
	do {
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		return arb__err_from_errno(errno);
	}
	return ARB_OK;
}

ssize_t
arb__ctl_recv(int fd, void *buf, size_t len)
{
	ssize_t r;

	do {
		r = recv(fd, buf, len, MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r > 0 && (r < 8 || ((uint8_t *) buf)[1] != ARB__CTL_VERSION)) {
		errno = EPROTO;
		return -1;
	}
	return r;
}
