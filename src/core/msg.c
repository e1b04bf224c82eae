// SPDX-License-Identifier: MIT
// msg.c -- arb_msg: an envelope plus body bytes in one allocation.
//
// Heap messages keep their body right after the struct.  Messages given to
// handlers are views into a received batch (see codec.c) and are never
// freed by the handler.  Thread: any (a message has one owner at a time).

#include "arb_impl.h"

#include <string.h>

int
arb_msg_alloc(arb_msg **msgp, uint32_t tag, const void *body, size_t len)
{
	arb_msg *m;

	if (msgp == NULL || (len > 0 && body == NULL)) {
		return ARB_EINVAL;
	}
	if (len > ARB_MSG_BODY_MAX) {
		return ARB_EMSGSIZE;
	}
	if ((m = arb__alloc(sizeof(*m) + len)) == NULL) {
		return ARB_ENOMEM;
	}
	m->tag  = tag;
	m->len  = len;
	m->body = (const uint8_t *) (m + 1);
	if (len > 0) {
		memcpy(m + 1, body, len);
	}
	*msgp = m;
	return ARB_OK;
}

void
arb_msg_free(arb_msg *msg)
{
	arb__free(msg);
}

int
arb_msg_dup(arb_msg **dupp, const arb_msg *msg)
{
	int rv;

	if (msg == NULL) {
		return ARB_EINVAL;
	}
	if ((rv = arb_msg_alloc(dupp, msg->tag, msg->body, msg->len)) != 0) {
		return rv;
	}
	(*dupp)->from  = msg->from;
	(*dupp)->to    = msg->to;
	(*dupp)->ref   = msg->ref;
	(*dupp)->flags = msg->flags;
	return ARB_OK;
}

uint32_t
arb_msg_tag(const arb_msg *msg)
{
	return msg->tag;
}

arb_pid
arb_msg_from(const arb_msg *msg)
{
	return msg->from;
}

arb_pid
arb_msg_to(const arb_msg *msg)
{
	return msg->to;
}

uint64_t
arb_msg_ref(const arb_msg *msg)
{
	return msg->ref;
}

const void *
arb_msg_body(const arb_msg *msg)
{
	return msg->body;
}

size_t
arb_msg_len(const arb_msg *msg)
{
	return msg->len;
}

bool
arb_msg_is_request(const arb_msg *msg)
{
	return (msg->flags & ARB__F_REQUEST) != 0;
}
