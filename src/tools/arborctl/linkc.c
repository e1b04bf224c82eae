// SPDX-License-Identifier: MIT
// linkc.c -- a blocking control client of the link protocol (linkc.h):
// nng_stream_dialer to connect, nng_stream_send / nng_stream_recv with a
// waited aio for every read and write, each bounded by the caller's
// deadline.  Frames are encoded and checked by the library's own frame.c
// (compiled in), so client and node can't disagree about the format.

#include "linkc.h"

#include "link.h" // src/transport: frames, HELLO

#include <nng/nng.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct linkc {
	nng_stream *s;
	nng_aio    *aio;
	size_t      got; // bytes received so far
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// io moves len bytes of buf (send or receive) by the deadline.
static int
io(linkc *c, bool send, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	int      rv;

	while (len > 0) {
		nng_iov iov = { .iov_buf = p, .iov_len = len };
		int64_t left = deadline - now_ms();
		size_t  n;

		if (left <= 0) {
			return NNG_ETIMEDOUT;
		}
		nng_aio_set_timeout(c->aio, (nng_duration) left);
		if ((rv = nng_aio_set_iov(c->aio, 1, &iov)) != 0) {
			return rv;
		}
		if (send) {
			nng_stream_send(c->s, c->aio);
		} else {
			nng_stream_recv(c->s, c->aio);
		}
		nng_aio_wait(c->aio);
		if ((rv = nng_aio_result(c->aio)) != 0) {
			return rv;
		}
		if ((n = nng_aio_count(c->aio)) == 0) {
			return NNG_ECONNSHUT;
		}
		p += n;
		len -= n;
		c->got += send ? 0 : n;
	}
	return 0;
}

// read_frame reads one frame's header and body (at most max bytes in
// all, checked before allocating) into *frp (free() it).
static int
read_frame(linkc *c, size_t max, uint8_t **frp, uint32_t *lenp,
    uint8_t *typep, int64_t deadline)
{
	uint8_t  hdr[ARB__FR_HDR];
	uint8_t *fr;
	int      rv;

	if ((rv = io(c, false, hdr, sizeof(hdr), deadline)) != 0) {
		return rv;
	}
	if (arb__frame_peek(hdr, max, lenp, typep) != 0) {
		return NNG_EPROTO;
	}
	if ((fr = malloc(*lenp)) == NULL) {
		return NNG_ENOMEM;
	}
	memcpy(fr, hdr, sizeof(hdr));
	if ((rv = io(c, false, fr + sizeof(hdr), *lenp - sizeof(hdr),
	         deadline))
	    != 0) {
		free(fr);
		return rv;
	}
	*frp = fr;
	return 0;
}

int
linkc_open(linkc **cp, const char *url, int timeout_ms)
{
	int64_t            deadline = now_ms() + timeout_ms;
	nng_stream_dialer *d = NULL;
	linkc             *c;
	arb__hello         h;
	uint8_t            buf[ARB__HELLO_MAX], *fr = NULL;
	uint32_t           len;
	uint8_t            type;
	bool               reply;
	int                rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return NNG_ENOMEM;
	}
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0
	    || (rv = nng_stream_dialer_alloc(&d, url)) != 0) {
		goto fail;
	}
	nng_aio_set_timeout(c->aio, timeout_ms);
	nng_stream_dialer_dial(d, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0) {
		goto fail;
	}
	c->s = nng_aio_get_output(c->aio, 0);
	nng_stream_dialer_free(d);
	d = NULL;
	// A control client says only its role: the node knows who it is
	// from the socket's peer credentials.
	memset(&h, 0, sizeof(h));
	h.version = ARB__LINK_VERSION;
	h.role = ARB__ROLE_CONTROL;
	h.max_frame = LINKC_REPLY_MAX;
	len = (uint32_t) arb__hello_encode(buf, &h, false);
	if ((rv = io(c, true, buf, len, deadline)) != 0
	    || (rv = read_frame(c, ARB__HELLO_MAX, &fr, &len, &type, deadline))
	        != 0) {
		// Some bytes, then the end: what came was no HELLO (a node
		// closes only after a whole frame).
		if (c->got > 0 && rv != NNG_ETIMEDOUT && rv != NNG_ENOMEM) {
			rv = NNG_EPROTO;
		}
		goto fail;
	}
	if (type != ARB__FR_HELLO
	    || arb__hello_decode(fr, len, &h, &reply) != 0 || !reply) {
		rv = NNG_EPROTO;
		goto fail;
	}
	free(fr);
	*cp = c;
	return 0;
fail:
	free(fr);
	if (d != NULL) {
		nng_stream_dialer_free(d);
	}
	linkc_close(c);
	return rv;
}

int
linkc_call(linkc *c, const void *req, size_t len, uint8_t **repp,
    size_t *lenp, int timeout_ms)
{
	int64_t  deadline = now_ms() + timeout_ms;
	uint8_t  hdr[ARB__FR_HDR], *fr;
	uint32_t flen;
	uint8_t  type;
	int      rv;

	if (len > UINT32_MAX - ARB__FR_HDR) {
		return NNG_EMSGSIZE;
	}
	arb__frame_hdr(hdr, (uint32_t) (len + ARB__FR_HDR), ARB__FR_CTL, 0);
	if ((rv = io(c, true, hdr, sizeof(hdr), deadline)) != 0
	    || (rv = io(c, true, (void *) (uintptr_t) req, len, deadline))
	        != 0
	    || (rv = read_frame(
	            c, LINKC_REPLY_MAX, &fr, &flen, &type, deadline))
	        != 0) {
		return rv;
	}
	if (type != ARB__FR_CTL) {
		free(fr);
		return NNG_EPROTO;
	}
	*lenp = flen - ARB__FR_HDR;
	memmove(fr, fr + ARB__FR_HDR, *lenp);
	*repp = fr;
	return 0;
}

void
linkc_close(linkc *c)
{
	if (c == NULL) {
		return;
	}
	if (c->s != NULL) {
		nng_stream_close(c->s);
		nng_stream_free(c->s);
	}
	nng_aio_free(c->aio);
	free(c);
}
