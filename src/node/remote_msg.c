// SPDX-License-Identifier: MIT
// remote_msg.c -- what the remote-child driver (remote_driver.c) and the
// agent (remote_agent.c) both send and read: an envelope from the
// agent's slot over the node's links, an exit reason, and the [key, gen,
// n] triple of ACK, CLAIM and KEEP, in msgpack.  Its one state is the
// agent's pid, the sender of every such envelope (set by
// arb__remote_open).  It knows nothing of children, reports or orphans.
//
// Thread: node (everything here runs on the node loop).

#include "remote_int.h"

#include "../transport/transport.h"

#include <stdio.h>
#include <string.h>

static arb_pid self; // the agent's pid (arb__remote_msg_open)

void
arb__remote_msg_open(arb_pid pid)
{
	self = pid;
}

void
arb__remote_msg_close(void)
{
	memset(&self, 0, sizeof(self));
}

arb_pid
arb__remote_self(void)
{
	return self;
}

int
arb__remote_send(arb_node *node, arb_pid to, uint32_t tag, const arb__buf *b)
{
	arb_msg m = { 0 };
	int     rv;

	m.from = self;
	m.to   = to;
	m.tag  = tag;
	m.body = b->data;
	m.len  = b->len;
	rv     = arb__outq_push(node->outq, &m);
	arb__outq_flush(node->outq);
	return rv;
}

int
arb__remote_put_exit(arb__buf *b, const arb_exit *why)
{
	return arb__mp_put_uint(b, (uint64_t) why->kind)
	    | arb__mp_put_int(b, why->code)
	    | arb__mp_put_str(b, why->text, strlen(why->text));
}

bool
arb__remote_get_exit(arb__mp_rd *r, arb_exit *why)
{
	uint64_t       k;
	int64_t        code;
	const uint8_t *s;
	size_t         n;

	if (!arb__mp_get_uint(r, ARB_EXIT_NOPROC, &k)
	    || !arb__mp_get_int(r, INT32_MIN, INT32_MAX, &code)
	    || !arb__mp_get_str(r, &s, &n)) {
		return false;
	}
	memset(why, 0, sizeof(*why));
	why->kind = (arb_exit_kind) k;
	why->code = (int) code;
	snprintf(
	    why->text, sizeof(why->text), "%.*s", (int) n, (const char *) s);
	return true;
}

void
arb__remote_noconnection(arb_exit *why, const char *node, const char *text)
{
	memset(why, 0, sizeof(*why));
	why->kind = ARB_EXIT_NOCONNECTION;
	snprintf(why->text, sizeof(why->text), "node %.60s %s", node, text);
}

// arb__remote_send_triple sends [key, gen, n] (ACK: n the report's tag; CLAIM
// and KEEP: n the orphan grace) to an agent or a supervisor's node.
void
arb__remote_send_triple(arb_node *node, arb_pid to, uint32_t tag,
    const char *key, size_t nk, uint64_t gen, uint64_t n)
{
	arb__buf b = { 0 };

	if ((arb__mp_put_array(&b, 3) | arb__mp_put_str(&b, key, nk)
	        | arb__mp_put_uint(&b, gen) | arb__mp_put_uint(&b, n))
	    == 0) {
		arb__remote_send(node, to, tag, &b);
	}
	arb__buf_fini(&b);
}

// arb__remote_get_triple reads what arb__remote_send_triple sent: *key (nk
// bytes, not terminated) points into m.  false: malformed.
bool
arb__remote_get_triple(const arb_msg *m, const uint8_t **key, size_t *nk,
    uint64_t *gen, uint64_t *n)
{
	arb__mp_rd r = { m->body, m->len };
	uint32_t   na;

	return arb__mp_get_array(&r, &na) && na >= 3
	    && arb__mp_get_str(&r, key, nk)
	    && arb__mp_get_uint(&r, UINT32_MAX, gen)
	    && arb__mp_get_uint(&r, UINT32_MAX, n);
}
