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
// walks the batch with the codec's readers (core/codec.c), the short one
// of arbor's own encoding (arb__codec_peek) and, for any other shape, the
// envelope decoder the node's readers use, so both cut the batch at the
// same places.  Thread: any (the listener's callbacks).

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
		if (!arb__codec_peek(
		        at, (size_t) (end - at), &from, &tag, &len)) {
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
