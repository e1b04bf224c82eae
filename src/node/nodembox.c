// SPDX-License-Identifier: MIT
// nodembox.c -- a mailbox the node loop owns at a reserved mailbox id
// (names, relay, service, the agent): attached to the node's loop, its
// batches read envelope by envelope into the owner's callback, an
// unreadable rest of a batch counted as a dead letter of the node and
// logged (event=rejected_frame mailbox=NAME), and the node's outbound
// queue flushed when the wakeup's batches are drained (so what the
// callbacks sent leaves as one batch).  A callback that cannot take an
// envelope now holds it (arb__nodembox_hold): that envelope and what
// follows are kept in order (copies of the wakeup's batches, the
// mailbox paused, so it fills and pauses the links that fill it, as an
// actor's mailbox does) until arb__nodembox_retry took them all: the
// names mailbox while a named actor's queue is full (names.c).
// Thread: node.

#include "node_int.h"

#include <stdint.h>
#include <string.h>

// What the mailbox took while its cb could not take an envelope
// (arb__nodembox_hold): a copy of a batch from its first envelope not
// read yet.
struct arb__nodembox_held {
	arb__nodembox_held *next;
	size_t              len; // bytes in data
	size_t              off; // the first envelope not read yet
	uint8_t             data[];
};

static void
nodembox_rejected(arb__nodembox *nb, int rv, size_t len)
{
	nb->node->tree.dead_letters++; // the rest of the batch: unreadable
	arb__log(ARB_LOG_WARN, NULL,
	    "event=rejected_frame mailbox=%s error=%s batch_bytes=%zu",
	    nb->name, arb_err_name(rv), len);
}

// nodembox_read hands the envelopes of data from *off on to nb's cb.
// Returns false when cb held one (*off is then where it starts), true at
// the end of the batch (an unreadable rest counted and logged).
static bool
nodembox_read(arb__nodembox *nb, const uint8_t *data, size_t len, size_t *off)
{
	arb_node    *node = nb->node;
	arb__decoder d;
	arb_msg      m;
	size_t       at;
	int          rv;

	arb__decoder_init(&d, data + *off, len - *off, node->max_msg);
	for (;;) {
		at = (size_t) (d.p - data);
		if ((rv = arb__codec_next(&d, &m)) != ARB_OK) {
			break;
		}
		nb->cb(node, &m);
		if (nb->hold) {
			nb->hold = false;
			*off = at;
			return false;
		}
	}
	if (len == 0 || rv != ARB_ENOENT || d.failed) {
		nodembox_rejected(
		    nb, rv == ARB_ENOENT ? ARB_EBADMSG : rv, len);
	}
	return true;
}

// nodembox_keep queues a copy of data from off on behind what is held.
static void
nodembox_keep(arb__nodembox *nb, const uint8_t *data, size_t len, size_t off)
{
	arb__nodembox_held *h = arb__alloc(sizeof(*h) + (len - off));

	if (h == NULL) {
		nodembox_rejected(nb, ARB_ENOMEM, len);
		return;
	}
	memcpy(h->data, data + off, len - off);
	h->len = len - off;
	h->off = 0;
	h->next = NULL;
	if (nb->held_tail != NULL) {
		nb->held_tail->next = h;
	} else {
		nb->held = h;
	}
	nb->held_tail = h;
}

static void
nodembox_batch(void *arg, const void *data, size_t len)
{
	arb__nodembox *nb = arg;
	size_t         off = 0;

	// Behind what is held, in order: the rest of the wakeup's batches
	// (the mailbox is paused: no more come until the retry took all).
	if (nb->paused || !nodembox_read(nb, data, len, &off)) {
		if (!nb->paused) {
			nb->paused = true;
			arb__mbox_pause(nb->att);
		}
		nodembox_keep(nb, data, len, off);
	}
}

void
arb__nodembox_hold(arb__nodembox *nb)
{
	nb->hold = true;
}

void
arb__nodembox_retry(arb__nodembox *nb)
{
	arb__nodembox_held *h;

	if (!nb->paused) {
		return;
	}
	while ((h = nb->held) != NULL) {
		if (!nodembox_read(nb, h->data, h->len, &h->off)) {
			return; // held again
		}
		if ((nb->held = h->next) == NULL) {
			nb->held_tail = NULL;
		}
		arb__free(h);
	}
	nb->paused = false;
	arb__mbox_unpause(nb->att);
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
	nb->held = nb->held_tail = NULL;
	nb->hold = nb->paused = false;
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
	arb__nodembox_held *h;
	arb__decoder        d;
	arb_msg             m;

	// What it held is not read now: dead letters of the node, as what
	// its mailbox still queues is at the node's end.
	while ((h = nb->held) != NULL) {
		nb->held = h->next;
		arb__decoder_init(
		    &d, h->data + h->off, h->len - h->off, SIZE_MAX);
		while (arb__codec_next(&d, &m) == ARB_OK) {
			nb->node->tree.dead_letters++;
		}
		arb__free(h);
	}
	nb->held_tail = NULL;
	nb->paused = false;
	arb__mbox_detach(nb->att);
	nb->att = NULL;
	arb__mbox_rele(nb->mb);
	nb->mb = NULL;
}
