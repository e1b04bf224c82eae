// SPDX-License-Identifier: MIT
// frame.c -- link frames: headers and HELLO.
//
// Pure functions over bytes (no nng, no loop, no allocation), so the wire
// format of docs/wire.md is tested byte by byte
// (tests/unit/transport/frame_test.c) and `arborctl` compiles this file
// to speak the link protocol to the control socket.
// Thread: any.

#include "link.h"

#include <string.h>

void
arb__put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

void
arb__put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

void
arb__put_be64(uint8_t *p, uint64_t v)
{
	arb__put_be32(p, (uint32_t) (v >> 32));
	arb__put_be32(p + 4, (uint32_t) v);
}

uint16_t
arb__get_be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

uint32_t
arb__get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | p[3];
}

uint64_t
arb__get_be64(const uint8_t *p)
{
	return ((uint64_t) arb__get_be32(p) << 32) | arb__get_be32(p + 4);
}

void
arb__frame_hdr(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags)
{
	arb__put_be32(p, len);
	p[4] = type;
	p[5] = flags;
	p[6] = 0;
	p[7] = 0;
}

uint32_t
arb__node_id(const char *name)
{
	return arb__name_hash(name);
}

// HELLO body, after the frame header:
//   u32 magic "ARBL", u16 version, u16 role, u32 max_frame, u32 node_id,
//   u32 creation, u64 sender, u64 resume, u8 name_len, name bytes,
//   u16 auth_len, auth bytes (protocol 3: empty, a dialer's 16-byte
//   nonce, or an acceptor's nonce and 32-byte proof)
#define HELLO_FIXED (ARB__FR_HDR + 4 + 2 + 2 + 4 + 4 + 4 + 8 + 8 + 1)

size_t
arb__hello_encode(uint8_t *buf, const arb__hello *h, bool reply)
{
	size_t   nl = strnlen(h->name, ARB__NODE_NAME_MAX - 1);
	uint8_t *p = buf + ARB__FR_HDR;
	size_t   len;

	arb__put_be32(p, ARB__LINK_MAGIC);
	arb__put_be16(p + 4, h->version);
	arb__put_be16(p + 6, h->role);
	arb__put_be32(p + 8, h->max_frame);
	arb__put_be32(p + 12, h->node_id);
	arb__put_be32(p + 16, h->creation);
	arb__put_be64(p + 20, h->sender);
	arb__put_be64(p + 28, h->resume);
	p[36] = (uint8_t) nl;
	memcpy(p + 37, h->name, nl);
	arb__put_be16(p + 37 + nl, h->auth_len);
	memcpy(p + 39 + nl, h->auth, h->auth_len);
	len = HELLO_FIXED + nl + 2 + h->auth_len;
	arb__frame_hdr(buf, (uint32_t) len, ARB__FR_HELLO,
	    (uint8_t) ((reply ? ARB__HELLO_F_REPLY : 0)
	        | (h->duplex ? ARB__HELLO_F_DUPLEX : 0)));
	return len;
}

int
arb__hello_decode(const uint8_t *fr, size_t len, arb__hello *h, bool *reply)
{
	const uint8_t *p = fr + ARB__FR_HDR;
	size_t         nl;
	unsigned       i;

	if (len < HELLO_FIXED + 2 || len > ARB__HELLO_MAX
	    || arb__get_be32(fr) != len || fr[4] != ARB__FR_HELLO) {
		return ARB_EBADMSG;
	}
	if (arb__get_be32(p) != ARB__LINK_MAGIC) {
		return ARB_EBADMSG;
	}
	memset(h, 0, sizeof(*h));
	h->version = arb__get_be16(p + 4);
	if (h->version != ARB__LINK_VERSION) {
		return ARB_ENOTSUP;
	}
	h->role = arb__get_be16(p + 6);
	h->max_frame = arb__get_be32(p + 8);
	h->node_id = arb__get_be32(p + 12);
	h->creation = arb__get_be32(p + 16);
	h->sender = arb__get_be64(p + 20);
	h->resume = arb__get_be64(p + 28);
	nl = p[36];
	if (nl >= ARB__NODE_NAME_MAX || HELLO_FIXED + nl + 2 > len) {
		return ARB_EBADMSG;
	}
	h->auth_len = arb__get_be16(p + 37 + nl);
	if (h->auth_len > ARB__HELLO_AUTH_MAX
	    || HELLO_FIXED + nl + 2 + h->auth_len != len) {
		return ARB_EBADMSG;
	}
	memcpy(h->auth, p + 39 + nl, h->auth_len);
	for (i = 0; i < nl; i++) {
		if (p[37 + i] < 0x21 || p[37 + i] > 0x7e) {
			return ARB_EBADMSG; // printable, no spaces
		}
	}
	memcpy(h->name, p + 37, nl);
	// A control client need not know the node's name: node id 0.
	if (h->max_frame < ARB__FR_DATA_HDR
	    || (h->node_id == 0 && h->role != ARB__ROLE_CONTROL)) {
		return ARB_EBADMSG;
	}
	*reply = (fr[5] & ARB__HELLO_F_REPLY) != 0;
	h->duplex = (fr[5] & ARB__HELLO_F_DUPLEX) != 0;
	return ARB_OK;
}

int
arb__frame_peek(const uint8_t *p, size_t max, uint32_t *lenp, uint8_t *typep)
{
	uint32_t len = arb__get_be32(p);
	size_t   min, top;

	switch (p[4]) {
	case ARB__FR_HELLO:
		min = HELLO_FIXED + 2;
		top = ARB__HELLO_MAX;
		break;
	case ARB__FR_DATA:
		min = ARB__FR_DATA_HDR + 1; // at least one byte of envelope
		top = max;
		break;
	case ARB__FR_ACK:
		min = top = ARB__FR_ACK_LEN;
		break;
	case ARB__FR_PAUSE:
	case ARB__FR_RESUME:
		min = top = ARB__FR_MBID_LEN;
		break;
	case ARB__FR_CTL:
		min = ARB__FR_HDR;
		top = max;
		break;
	case ARB__FR_SYNC:
		min = top = ARB__FR_HDR;
		break;
	case ARB__FR_AUTH:
		min = top = ARB__FR_AUTH_LEN;
		break;
	case ARB__FR_HB:
		min = top = ARB__FR_HB_LEN;
		break;
	default:
		return ARB_EBADMSG;
	}
	if (p[6] != 0 || p[7] != 0 || len < min) {
		return ARB_EBADMSG;
	}
	if (len > top) {
		return ARB_EMSGSIZE;
	}
	*lenp = len;
	*typep = p[4];
	return ARB_OK;
}
