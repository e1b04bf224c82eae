// SPDX-License-Identifier: MIT
// forged.c -- what a peer node may send: every envelope of a batch that
// arrives on the link of peer P must come from a pid of P (its node id
// and the incarnation its HELLO named), and must not carry a tag only
// this node sends (DOWN, EXIT, PEER_LOST and the rest of the in-node
// range).  A peer is trusted once it proved the cookie, as in Erlang, but
// without this check it could speak as this node: a `from` written as a
// bare id (or as this node's name hash) is read as a local pid, so an
// envelope could pass for the node's own PEER_LOST notice, for a reply,
// EXIT or DOWN of a local actor, or for this node's own agent or service
// (docs/wire.md, "Envelopes from peers").  Not a parser of its own: it
// walks the batch with the envelope decoder its readers use, so both cut
// the batch at the same places.  Thread: any (the listener's callbacks).

#include "transport.h"

#include <string.h>

// forged_why says why a peer (node, creation) may not send an envelope
// from `from` with tag, or NULL.
static const char *
forged_why(arb_pid from, uint32_t tag, uint32_t node, uint32_t creation)
{
	if (from.node != node || from.creation != creation) {
		return "from is not a pid of the peer";
	}
	// The node-to-node protocols (the agent's, the service mailbox's)
	// are the only reserved tags that cross a link.
	if (tag >= ARB_TAG_SYSTEM
	    && (tag < ARB__TAG_PEER_FIRST || tag > ARB__TAG_PEER_LAST)) {
		return "a tag only this node sends";
	}
	return NULL;
}

static inline uint32_t
fast_be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3];
}

// fast_uint reads an unsigned msgpack integer of at most max in the
// forms arbor's encoder writes (positive fixint, uint 8/16/32/64).
static inline bool
fast_uint(const uint8_t **pp, const uint8_t *end, uint64_t max, uint64_t *v)
{
	const uint8_t *p = *pp;
	size_t         left = (size_t) (end - p);
	uint64_t       x;

	if (left < 1) {
		return false;
	}
	if (p[0] < 0x80) {
		*v = p[0];
		*pp = p + 1;
		return true;
	}
	switch (p[0]) {
	case 0xcc:
		if (left < 2) {
			return false;
		}
		x = p[1];
		*pp = p + 2;
		break;
	case 0xcd:
		if (left < 3) {
			return false;
		}
		x = (uint64_t) p[1] << 8 | p[2];
		*pp = p + 3;
		break;
	case 0xce:
		if (left < 5) {
			return false;
		}
		x = fast_be32(p + 1);
		*pp = p + 5;
		break;
	case 0xcf:
		if (left < 9) {
			return false;
		}
		x = (uint64_t) fast_be32(p + 1) << 32 | fast_be32(p + 5);
		*pp = p + 9;
		break;
	default:
		return false;
	}
	*v = x;
	return x <= max;
}

// fast_pid reads a pid as arbor's encoder writes it: [id, node (not 0),
// creation] as a fixarray, or a bare id (a pid of the node it is read
// in).
static inline bool
fast_pid(const uint8_t **pp, const uint8_t *end, arb_pid *pid)
{
	uint64_t id, node, creation;

	if (*pp < end && **pp == 0x93) {
		(*pp)++;
		if (!fast_uint(pp, end, UINT64_MAX, &id)
		    || !fast_uint(pp, end, UINT32_MAX, &node) || node == 0
		    || !fast_uint(pp, end, UINT32_MAX, &creation)) {
			return false;
		}
		pid->id = id;
		pid->node = (uint32_t) node;
		pid->creation = (uint32_t) creation;
		return true;
	}
	if (!fast_uint(pp, end, UINT64_MAX, &id)) {
		return false;
	}
	*pid = arb__pid_of(id);
	return true;
}

// forged_fast reads the envelope at p (before end) in the shape arbor's
// encoder writes (docs/wire.md: 0x97, 0x02, the smallest integer forms,
// a bin) for its from and tag, and gives its length.  false: another
// shape -- valid msgpack the envelope decoder takes (wider forms, array
// 16/32) or not an envelope at all; the decoder tells which.  Where it
// reads an envelope it reads exactly what the decoder would (a msgpack
// value has one length), for less than half the decoder's time: this is
// on every message a peer sends.
static inline bool
forged_fast(const uint8_t *p, const uint8_t *end, arb_pid *from, uint32_t *tag,
    size_t *len)
{
	const uint8_t *q = p + 2;
	uint64_t       v;
	arb_pid        to;
	size_t         n, w;

	if (end - p < 2 || p[0] != 0x97 || p[1] != ARB__WIRE_VERSION
	    || !fast_uint(&q, end, UINT32_MAX, &v) || !fast_pid(&q, end, from)
	    || !fast_pid(&q, end, &to)
	    || !fast_uint(&q, end, UINT32_MAX, &v)) {
		return false;
	}
	*tag = (uint32_t) v;
	if (!fast_uint(&q, end, UINT64_MAX, &v) || q >= end) {
		return false;
	}
	switch (q[0]) {
	case 0xc4:
		w = 1;
		break;
	case 0xc5:
		w = 2;
		break;
	case 0xc6:
		w = 4;
		break;
	default:
		return false;
	}
	if ((size_t) (end - q) < 1 + w) {
		return false;
	}
	for (n = 0, v = 1; v <= w; v++) {
		n = n << 8 | q[v];
	}
	q += 1 + w;
	if ((size_t) (end - q) < n) {
		return false;
	}
	*len = (size_t) (q + n - p);
	return true;
}

uint32_t
arb__forged_strip(
    arb__chunk *ch, uint32_t node, uint32_t creation, arb__forged *first)
{
	arb__decoder d;
	arb_msg      m;
	uint8_t    *at = ch->data, *keep = ch->data, *end = ch->data + ch->len;
	const char *why;
	arb_pid     from;
	uint32_t    tag, n = 0;
	size_t      len;

	while (at < end) {
		if (!forged_fast(at, end, &from, &tag, &len)) {
			// Another shape: the readers' decoder decides.  No
			// body limit here: the reader's own (max_msg)
			// rejects an oversized body where it stands; a
			// smaller one here would leave what follows it
			// unchecked.
			arb__decoder_init(
			    &d, at, (size_t) (end - at), SIZE_MAX);
			if (arb__codec_next(&d, &m) != ARB_OK) {
				break;
			}
			from = m.from;
			tag = m.tag;
			len = (size_t) (d.p - at);
		}
		if ((why = forged_why(from, tag, node, creation)) != NULL) {
			if (n++ == 0 && first != NULL) {
				first->from = from;
				first->tag = tag;
				first->why = why;
			}
		} else {
			if (keep != at) {
				memmove(keep, at, len);
			}
			keep += len;
		}
		at += len;
	}
	if (n == 0) {
		return 0; // the usual case: nothing moved
	}
	// What the decoder could not read stays for the reader, which
	// rejects it and counts it as it always did.
	len = (size_t) (end - at);
	if (len > 0) {
		memmove(keep, at, len);
	}
	ch->len = (size_t) (keep - ch->data) + len;
	ch->nenv = ch->nenv > n ? ch->nenv - n : 0;
	return n;
}
