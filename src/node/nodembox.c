// SPDX-License-Identifier: MIT
// nodembox.c -- a mailbox the node loop owns at a reserved mailbox id
// (names, relay, service, the agent): attached to the node's loop, its
// batches read envelope by envelope into the owner's callback, an
// unreadable rest of a batch counted as a dead letter of the node and
// logged (event=rejected_frame mailbox=NAME), and the node's outbound
// queue flushed when the wakeup's batches are drained (so what the
// callbacks sent leaves as one batch).  Thread: node.

#include "node_int.h"

static void
nodembox_batch(void *arg, const void *data, size_t len)
{
	arb__nodembox *nb = arg;
	arb_node      *node = nb->node;
	arb__decoder   d;
	arb_msg        m;
	int            rv;

	arb__decoder_init(&d, data, len, node->max_msg);
	while ((rv = arb__codec_next(&d, &m)) == ARB_OK) {
		nb->cb(node, &m);
	}
	if (len == 0 || rv != ARB_ENOENT || d.failed) {
		node->tree.dead_letters++; // the rest of the batch: unreadable
		arb__log(ARB_LOG_WARN, NULL,
		    "event=rejected_frame mailbox=%s error=%s batch_bytes=%zu",
		    nb->name,
		    arb_err_name(rv == ARB_ENOENT ? ARB_EBADMSG : rv), len);
	}
}

static void
nodembox_drained(void *arg)
{
	arb__nodembox *nb = arg;

	arb__outq_flush(nb->node->outq);
}

int
arb__nodembox_open(arb__nodembox *nb, arb_node *node, uint32_t mbid,
    const char *name, arb__nodembox_cb cb)
{
	int rv;

	nb->node = node;
	nb->name = name;
	nb->cb   = cb;
	nb->att  = NULL;
	if ((rv = arb__mbox_open(&nb->mb, mbid)) != ARB_OK) {
		nb->mb = NULL;
		return rv;
	}
	if ((rv = arb__mbox_attach(nb->mb, node->base, nodembox_batch,
	         nodembox_drained, nb, &nb->att))
	    != ARB_OK) {
		arb__mbox_rele(nb->mb);
		nb->mb = NULL;
	}
	return rv;
}

void
arb__nodembox_close(arb__nodembox *nb)
{
	arb__mbox_detach(nb->att);
	nb->att = NULL;
	arb__mbox_rele(nb->mb);
	nb->mb = NULL;
}
