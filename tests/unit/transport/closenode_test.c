// SPDX-License-Identifier: MIT
// closenode_test.c -- unit tests for arb__lsn_close_node (tp_lsn.c): a
// node that takes a peer DOWN closes the streams that peer dialled into
// it, so the two streams of a pair live and die as one link
// (docs/multinode.md, "Links between nodes"; peer.c calls it).  Real nng
// streams: TCP with a cookie, dialled links with their heartbeat
// channels.
//
// - It closes the data stream (and its heartbeat channel) of the node
//   and incarnation it names, whose dialer sees its link end at once,
//   far within the heartbeat budget; another node's stream, or a call
//   naming an older incarnation, closes nothing.  The dialer's redial is
//   a newer stream: it comes up and stays.
// - A listener that is not a node's (one_per_node false: the one a
//   node's own processes dial) closes nothing.

#include "arb_test.h"
#include "tpfix.h"

#include <stdlib.h>
#include <string.h>

typedef struct fix {
	arb__cookie   ck;
	arb__tp_stats lst;
	arb__tp_stats kst;
	arb__link_cfg lcfg;
	tpf_sink      s;
	arb__lsn     *l;
	char          url[64];
} fix;

// lsn_open opens f's TCP listener: a node's (one_per_node) or not.
static void
lsn_open(fix *f, bool one_per_node)
{
	f->lcfg.one_per_node = one_per_node;
	ARB_PASS(arb__lsn_open(
	    &f->l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &f->lcfg));
	assert_true(arb__lsn_port(f->l) > 0);
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d",
	    arb__lsn_port(f->l));
}

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset(f->ck.key, 0x5a, 32);
	f->ck.len = 32;
	arb__link_cfg_defaults(&f->lcfg);
	f->lcfg.stats = &f->lst;
	f->lcfg.cookie = &f->ck;
	tpf_self(&f->lcfg, "acceptor", 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	arb__lsn_close(f->l);
	free(f);
	return 0;
}

// dial opens a node link from node `name`, incarnation `creation`, to
// f's listener, with a node's heartbeats and redials (tpf_node_link).
static arb__link *
dial(fix *f, const char *name, uint32_t creation, tpf_watch *w)
{
	arb__link_cfg c;

	arb__link_cfg_defaults(&c);
	c.stats = &f->kst;
	c.cookie = &f->ck;
	tpf_self(&c, name, creation);
	tpf_node_link(&c);
	return tpf_dial(f->url, &c, w);
}

static void
test_closes_that_peers_streams(void **state)
{
	fix       *f = *state;
	tpf_watch  w2 = { 0 }, w3 = { 0 };
	arb__link *k2, *k3;
	int64_t    t0, ms;

	lsn_open(f, true);
	k2 = dial(f, "n2", 7, &w2);
	k3 = dial(f, "n3", 7, &w3);
	ARB_WAIT_UNTIL(atomic_load(&w2.ups) == 1, 5000);
	ARB_WAIT_UNTIL(atomic_load(&w3.ups) == 1, 5000);
	// Two data streams, two heartbeat channels.
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 4, 5000);
	// An older incarnation of n2 went down: not this one's streams.
	assert_int_equal(
	    arb__lsn_close_node(f->l, arb__node_id("n2"), "n2", 6), 0);
	// n2 (incarnation 7) went down: its stream and channel close, and
	// its link ends at once (the budget is 2 s).
	t0 = arb_test_now_ms();
	assert_int_equal(
	    arb__lsn_close_node(f->l, arb__node_id("n2"), "n2", 7), 1);
	ARB_WAIT_UNTIL(atomic_load(&w2.downs) == 1, 1000);
	ms = arb_test_now_ms() - t0;
	print_message("n2's link down %lld ms after the close\n",
	    (long long) ms);
	// Its redial is a newer stream: up, with its channel, and it stays.
	ARB_WAIT_UNTIL(atomic_load(&w2.ups) == 2, 5000);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 4, 5000);
	assert_int_equal(atomic_load(&w2.downs), 1);
	// n3's link never noticed.
	assert_int_equal(atomic_load(&w3.downs), 0);
	assert_int_equal(atomic_load(&w3.ups), 1);
	// Closing it again closes the new stream (the next DOWN's).
	assert_int_equal(
	    arb__lsn_close_node(f->l, arb__node_id("n2"), "n2", 7), 1);
	ARB_WAIT_UNTIL(atomic_load(&w2.downs) == 2, 1000);
	arb__link_rele(k2);
	arb__link_rele(k3);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

static void
test_process_listener_closes_nothing(void **state)
{
	fix       *f = *state;
	tpf_watch  w = { 0 };
	arb__link *k;

	lsn_open(f, false);
	k = dial(f, "n2", 7, &w);
	ARB_WAIT_UNTIL(atomic_load(&w.ups) == 1, 5000);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 2, 5000);
	assert_int_equal(
	    arb__lsn_close_node(f->l, arb__node_id("n2"), "n2", 7), 0);
	assert_int_equal(arb__lsn_conns(f->l), 2);
	assert_int_equal(atomic_load(&w.downs), 0);
	arb__link_rele(k);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_closes_that_peers_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_process_listener_closes_nothing, setup, teardown),
	};

	return ARB_TEST_RUN("transport.closenode", tests, argc, argv);
}
