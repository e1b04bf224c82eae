// SPDX-License-Identifier: MIT
// remote.c -- children of another node (issue 12, docs/supervision.md
// "Remote children", docs/multinode.md "The agent"): the node's entry
// points to the remote-child driver of a supervisor (remote_driver.c)
// and to the agent that runs such children for the supervisors of other
// nodes (remote_agent.c), and the agent's mailbox, whose envelopes it
// hands to the one or the other.
//
// Both ends are the node's agent: a mailbox at a reserved child slot
// (ARB__AGENT_MBID, the same on every node, so the agent of node N is the
// slot address {mbid 1, node N, creation 0}) drained on the node loop.
// Between nodes they speak ordinary envelopes over the node links (no
// frame of their own): the driver sends START / STOP, the agent answers
// READY / FAIL / EXIT (tags TAG_*, remote_int.h); a start_child of a pool
// that runs there is START_CHILD, answered CHILD ("Remote pools").
// Any other tag is refused: a dead letter, logged, a request answered
// ARB_ENOTSUP (agent_unknown; docs/wire.md).
//
// Thread: node (everything here runs on the node loop).

#include "remote_int.h"

#include "../transport/transport.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

static struct {
	arb_node     *node;
	arb__nodembox nb;
	struct event *resend_ev;  // STARTs not answered yet, again
	uint64_t      rejected;   // envelopes of a tag not the agent's
	uint64_t      suppressed; // their log lines not written since
	int64_t       rejected_log_ms;
} R;

// agent_refuse answers a request the agent does not take (a tag it does
// not know) at once with an error reply, code ARB_ENOTSUP, from the pid
// it was sent to (the agent's slot: a caller takes an answer only from
// where its call went, actor.c); what cannot leave is a dead letter too
// and its caller gets its timeout.
static void
agent_refuse(arb_node *node, const arb_msg *m)
{
	arb__buf b = { 0 };
	arb_msg  ans;
	char     text[128];

	snprintf(text, sizeof(text),
	    "the agent of node %s takes no tag 0x%08x", node->name,
	    (unsigned) m->tag);
	if (arb__codec_error_reply(m, ARB_ENOTSUP, text, 0, &b, &ans)
	    == ARB_OK) {
		ans.from = m->to;
		if (arb__outq_push(node->outq, &ans) != ARB_OK) {
			node->tree.dead_letters++;
		}
	}
	arb__buf_fini(&b);
}

// agent_unknown takes an envelope whose tag the agent does not know (a
// newer node's, or anything else sent to the agent's slot), as the
// service mailbox takes one (watch.c): a dead letter of the node, logged
// at most once a second (suppressed=N: how many since the last line;
// dead_letters=N: how many the agent refused so far), and a request is
// answered ARB_ENOTSUP at once (agent_refuse) rather than left to its
// caller's timeout.
static void
agent_unknown(arb_node *node, const arb_msg *m)
{
	int64_t now = arb__now_ms();
	bool    req = (m->flags & ARB__F_REQUEST) != 0;

	node->tree.dead_letters++;
	R.rejected++;
	if (req) {
		agent_refuse(node, m);
	}
	if (R.rejected_log_ms != 0 && now - R.rejected_log_ms < 1000) {
		R.suppressed++;
		return;
	}
	R.rejected_log_ms = now;
	arb__log(ARB_LOG_WARN, NULL,
	    "event=rejected_message mailbox=agent from=[%llu,%u,%u] "
	    "tag=0x%08x ref=%llu request=%s error=\"unknown tag\" "
	    "dead_letters=%llu suppressed=%llu",
	    (unsigned long long) m->from.id, (unsigned) m->from.node,
	    (unsigned) m->from.creation, (unsigned) m->tag,
	    (unsigned long long) m->ref, req ? "yes" : "no",
	    (unsigned long long) R.rejected,
	    (unsigned long long) R.suppressed);
	R.suppressed = 0;
}

// agent_one hands an envelope of the agent's mailbox to the driver (what
// other nodes' agents answer) or to the agent (what other nodes'
// supervisors ask, and the DOWN of a child the agent monitors).
static void
agent_one(arb_node *node, arb_msg *m)
{
	switch (m->tag) {
	case TAG_START:
		arb__agent_start(m);
		break;
	case TAG_STOP:
		arb__agent_stop_msg(m);
		break;
	case TAG_ACK:
		arb__agent_ack(m);
		break;
	case TAG_KEEP:
		arb__agent_keep(m);
		break;
	case TAG_START_CHILD:
		arb__agent_start_child(m);
		break;
	case TAG_CHILD:
		arb__drv_remote_child(m);
		break;
	case TAG_CLAIM:
		arb__drv_remote_claim(node, m);
		break;
	case TAG_READY:
	case TAG_FAIL:
	case TAG_EXIT:
		arb__drv_remote_report(node, m);
		break;
	case ARB_TAG_DOWN:
		arb__agent_down(m);
		break;
	default:
		agent_unknown(node, m);
		break;
	}
}

// resend_cb, every RESEND_MS: the STARTs, reports and CLAIMs not
// answered yet go again.
static void
resend_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__drv_remote_resend_starts(arg, 0);
	arb__agent_reports_flush(0, false);
	arb__agent_claims_send(0);
}

int
arb__remote_open(arb_node *node, int orphan_grace_ms)
{
	uint32_t mbid = arb__stree_new_mbid(&node->tree);
	int      rv;

	if (mbid != ARB__AGENT_MBID) {
		arb__panic("the agent's slot is not the first");
	}
	R.node = node;
	arb__drv_remote_open(node);
	arb__slot_new(mbid, ARB__KIND_THREAD);
	arb__remote_msg_open(
	    arb__stree_new_pid(&node->tree, ARB__KIND_THREAD, mbid));
	if ((rv = arb__agent_open(node, orphan_grace_ms)) != ARB_OK) {
		return rv;
	}
	R.resend_ev = event_new(node->base, -1, EV_PERSIST, resend_cb, node);
	if (R.resend_ev == NULL) {
		return ARB_ENOMEM;
	}
	{
		struct timeval tv = { 0, RESEND_MS * 1000 };

		event_add(R.resend_ev, &tv);
	}
	return arb__nodembox_open(&R.nb, node, mbid, "agent", agent_one);
}

void
arb__remote_close(arb_node *node)
{
	if (R.node != node) {
		return;
	}
	arb__agent_close();
	arb__drv_remote_close();
	if (R.resend_ev != NULL) {
		event_free(R.resend_ev);
	}
	arb__nodembox_close(&R.nb);
	arb__remote_msg_close();
	memset(&R, 0, sizeof(R));
}

void
arb__remote_peer_down(arb_node *node, uint32_t node_id, const char *name)
{
	if (R.node != node) {
		return;
	}
	arb__drv_remote_pends_fail(node_id, NULL, ARB_ECHILD, "lost");
	arb__drv_remote_lost(node, node_id, name);
	arb__agent_peer_down(node, node_id);
}

void
arb__remote_peer_up(arb_node *node, uint32_t node_id)
{
	if (R.node != node) {
		return;
	}
	// what we counted lost there ends
	arb__drv_remote_lost_flush(node, node_id);
	// starts that waited for this node
	arb__drv_remote_resend_starts(node, node_id);
	arb__agent_reports_flush(node_id, true); // reports that waited for it
	arb__agent_claims_send(node_id);         // orphans of its that we kept
	arb__agent_pump(); // what waited for a way to answer
}

void
arb__remote_stats(arb_node *node, arb_node_stats *st)
{
	if (R.node != node) {
		return;
	}
	arb__agent_stats(st);
	arb__drv_remote_stats(st);
}
