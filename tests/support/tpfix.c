// SPDX-License-Identifier: MIT
// tpfix.c -- the pieces the transport's unit tests share (tpfix.h).

#include "tpfix.h"

#include "arb_test.h"
#include "transport/transport.h"

#include <stdio.h>

static int
sink_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	tpf_sink *s = arg;

	(void) c;
	(void) h;
	atomic_fetch_add(&s->hellos, 1);
	return ARB_OK;
}

static bool
sink_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	tpf_sink *s = arg;

	(void) c;
	atomic_fetch_add(&s->bytes, ch->len);
	arb__chunk_free(ch);
	return false;
}

const arb__lsn_ops tpf_sink_ops = {
	.hello = sink_hello,
	.data = sink_data,
};

bool
tpf_watch_fn(void *arg, arb__link_ev ev, const arb__hello *peer)
{
	tpf_watch *w = arg;

	(void) peer;
	atomic_fetch_add(ev == ARB__LINK_EV_UP ? &w->ups : &w->downs, 1);
	return true;
}

void
tpf_self(arb__link_cfg *c, const char *name, uint32_t creation)
{
	snprintf(c->self.name, sizeof(c->self.name), "%s", name);
	c->self.node_id = arb__node_id(name);
	c->self.creation = creation;
	c->self.max_frame = (uint32_t) c->max_frame;
}

void
tpf_node_link(arb__link_cfg *c)
{
	c->hb_ms = ARB__HB_MS_DEFAULT;
	c->hb_miss = ARB__HB_MISS_DEFAULT;
	c->keep_up = true;
	c->backoff_min_ms = 50;
	c->backoff_max_ms = 500;
}

arb__link *
tpf_dial(const char *url, const arb__link_cfg *c, tpf_watch *w)
{
	arb__link *k;

	ARB_PASS(arb__link_open(&k, url, c, NULL, NULL));
	arb__link_watch(k, tpf_watch_fn, w);
	arb__link_start(k);
	return k;
}
