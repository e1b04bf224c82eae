// SPDX-License-Identifier: MIT
// topic.c -- pub/sub topics of the actor API: subscribe, unsubscribe,
// publish (SPEC 21).
//
// The node's registry holds the topic table (registry.h): who subscribed
// to what, each subscription ending with its incarnation.  A publisher
// keeps, per topic it published to, a copy of the topic's subscribers
// with the table's generation that copy belongs to; the node writes the
// current generation where every process of the node reads it (the slot
// table, transport.h).  So a publish costs one arb_send per subscriber
// while nothing changed, and one round trip to the node after a change.
// A publish is then an ordinary envelope per subscriber through the
// actor's outbound queue: the same batching, the same at-most-once
// delivery and the same counting as arb_send.  A subscriber that ended
// after the copy was taken is refused by the slot table (its exact pid
// is stale) and that envelope is counted as a dead letter.  Thread: loop.

#include "actor_int.h"

#include <stdio.h>
#include <string.h>

// Topics a publisher keeps subscribers of; the least recently used copy
// makes room for another topic.
#define TOPIC_CACHE 16

typedef struct topic_copy {
	char     name[ARB_TOPIC_MAX];
	bool     valid;
	uint64_t gen;  // the table's generation of pids
	uint64_t used; // publish count when last used (LRU)
	arb_pid *pids;
	size_t   n;
} topic_copy;

struct arb__topics {
	topic_copy copies[TOPIC_CACHE];
	uint64_t   clock;
};

void
arb__topics_free(struct arb__topics *t)
{
	size_t i;

	if (t == NULL) {
		return;
	}
	for (i = 0; i < TOPIC_CACHE; i++) {
		arb__free(t->copies[i].pids);
	}
	arb__free(t);
}

static int
topic_name(arb__req *req, const char *topic)
{
	size_t n;

	if (topic == NULL || (n = strnlen(topic, ARB_TOPIC_MAX)) == 0
	    || n >= ARB_TOPIC_MAX) {
		return ARB_EINVAL;
	}
	memcpy(req->name, topic, n + 1);
	return ARB_OK;
}

static int
topic_req(arb_ctx *ctx, arb__req_op op, const char *topic, arb__req *req)
{
	int rv;

	memset(req, 0, sizeof(*req));
	req->op = op;
	if ((rv = topic_name(req, topic)) != 0) {
		return rv;
	}
	req->self = ctx->self;
	if ((rv = ctx->host->request(ctx, req)) != 0) {
		return rv;
	}
	if (req->rv != 0) {
		arb__free(req->list);
		req->list = NULL;
		req->nlist = 0;
	}
	return req->rv;
}

int
arb_subscribe(arb_ctx *ctx, const char *topic)
{
	arb__req req;

	return topic_req(ctx, ARB__REQ_SUBSCRIBE, topic, &req);
}

int
arb_unsubscribe(arb_ctx *ctx, const char *topic)
{
	arb__req req;

	return topic_req(ctx, ARB__REQ_UNSUBSCRIBE, topic, &req);
}

// topic_copy_of returns the publisher's copy of topic's subscribers,
// asking the node when it has none or the table changed since.
static int
topic_copy_of(arb_ctx *ctx, const char *topic, topic_copy **cp)
{
	struct arb__topics *ts = ctx->topics;
	topic_copy         *c = NULL, *lru = NULL;
	uint64_t            gen = arb__tp_topics_gen();
	arb__req            req;
	arb_pid            *pids = NULL;
	size_t              i;
	int                 rv;

	if (ts == NULL) {
		if ((ts = arb__alloc(sizeof(*ts))) == NULL) {
			return ARB_ENOMEM;
		}
		memset(ts, 0, sizeof(*ts));
		ctx->topics = ts;
	}
	ts->clock++;
	for (i = 0; i < TOPIC_CACHE; i++) {
		topic_copy *t = &ts->copies[i];

		if (t->valid && strcmp(t->name, topic) == 0) {
			c = t;
			break;
		}
		if (lru == NULL || !t->valid
		    || (lru->valid && t->used < lru->used)) {
			lru = t;
		}
	}
	if (c != NULL && gen != UINT64_MAX && c->gen == gen) {
		c->used = ts->clock;
		*cp = c;
		return ARB_OK;
	}
	if ((rv = topic_req(ctx, ARB__REQ_SUBSCRIBERS, topic, &req)) != 0) {
		return rv;
	}
	if (req.nlist > 0) {
		if ((pids = arb__alloc(req.nlist * sizeof(*pids))) == NULL) {
			arb__free(req.list);
			return ARB_ENOMEM;
		}
		for (i = 0; i < req.nlist; i++) {
			pids[i] = arb__pid_of(arb__get_be64(req.list + 8 * i));
		}
	}
	arb__free(req.list);
	if (c == NULL) {
		c = lru;
		snprintf(c->name, sizeof(c->name), "%s", topic);
	}
	arb__free(c->pids);
	c->pids = pids;
	c->n = req.nlist;
	c->gen = req.ref; // the generation this list belongs to
	c->valid = true;
	c->used = ts->clock;
	*cp = c;
	return ARB_OK;
}

int
arb_publish(arb_ctx *ctx, const char *topic, uint32_t tag, const void *body,
    size_t len)
{
	arb_msg     m = { 0 };
	topic_copy *c;
	arb__req    probe;
	size_t      i;
	int         rv;

	if ((len > 0 && body == NULL) || topic_name(&probe, topic) != 0) {
		return ARB_EINVAL;
	}
	if (len > ctx->max_msg) {
		return ARB_EMSGSIZE;
	}
	if ((rv = topic_copy_of(ctx, topic, &c)) != 0) {
		return rv;
	}
	ctx->st->published++;
	if (c->n == 0) {
		ctx->st->unheard++;
		return ARB_OK;
	}
	m.from = ctx->self;
	m.tag = tag;
	m.body = body;
	m.len = len;
	for (i = 0; i < c->n; i++) {
		m.to = c->pids[i];
		if (arb__outq_push(ctx->outq, &m) == 0) {
			ctx->st->msgs_out++;
		} else {
			// Full (ARB_EAGAIN), ended (ARB_ENOENT) or no memory
			// for the batch: this subscriber misses it, counted.
			ctx->st->dead_letters++;
		}
	}
	return ARB_OK;
}
