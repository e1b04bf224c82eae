// SPDX-License-Identifier: MIT
// duplex_test.c -- unit tests for duplex node streams (tp_link.c,
// tp_conn.c; docs/multinode.md, "One stream per pair"), over real nng TCP
// streams with a cookie: two "nodes" in one process, each a listener of
// peers and a link to the other, as peer.c makes them.
//
// - One-way reachability: central's link dials a port where nothing
//   listens; gw's link reaches central.  central's link adopts gw's stream
//   and both are UP; DATA crosses both ways on that one stream and is
//   acknowledged both ways (every frame written is settled); when gw goes,
//   central's link is DOWN once.

#include "arb_test.h"
#include "tpfix.h"

#include "transport/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// A node of the test: its listener's sink and the link its proven duplex
// streams are offered to (peer.c's peer_on_proven).
typedef struct tnode {
	tpf_sink      s; // first: tpf_sink_ops take a tnode as their sink
	arb__tp_stats st;
	arb__link_cfg cfg;
	arb__lsn     *l;
	arb__link    *k;
	tpf_watch     w;
	_Atomic int   proven;
} tnode;

static void
tnode_proven(void *arg, arb__conn *c)
{
	tnode *n = arg;

	atomic_fetch_add(&n->proven, 1);
	arb__link_offer(n->k, c);
}

static arb__lsn_ops node_ops;

// tnode_open starts node `name`: its listener, and its link to url,
// whose streams the listener reads.
static void
tnode_open(tnode *n, const arb__cookie *ck, const char *name)
{
	memset(n, 0, sizeof(*n));
	arb__link_cfg_defaults(&n->cfg);
	n->cfg.stats = &n->st;
	n->cfg.cookie = ck;
	tpf_self(&n->cfg, name, 7);
	tpf_node_link(&n->cfg);
	n->cfg.one_per_node = true;
	node_ops = tpf_sink_ops;
	node_ops.proven = tnode_proven;
	ARB_PASS(arb__lsn_open(
	    &n->l, "tcp://127.0.0.1:0", 0, &node_ops, n, &n->cfg));
}

static void
tnode_dial(tnode *n, const char *url)
{
	ARB_PASS(arb__link_open(&n->k, url, &n->cfg, NULL, NULL));
	arb__link_watch(n->k, tpf_watch_fn, &n->w);
	arb__link_set_reader(n->k, n->l);
	arb__link_start(n->k);
}

// tnode_close closes n as peer.c does: the reader first, then the
// listener (its connections give the link back its holds), then the link.
static void
tnode_close(tnode *n)
{
	arb__link_set_reader(n->k, NULL);
	arb__lsn_close(n->l);
	arb__link_rele(n->k);
}

static int
dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t          len = sizeof(a);
	int                fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd); // nothing listens there: a dial is refused at once
	return port;
}

// put_n puts n chunks of len bytes each for mailbox 1 on k.
static void
put_n(arb__link *k, int n, size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		arb__chunk *ch = arb__chunk_alloc(len);

		assert_non_null(ch);
		ch->dst = 1;
		ch->nenv = 1;
		ch->len = len;
		memset(ch->data, 0x42, len);
		ARB_PASS(arb__link_put(k, ch, NULL));
	}
}

static void
test_one_way_reachability(void **state)
{
	arb__cookie    ck;
	tnode         *c = calloc(1, sizeof(*c)), *g = calloc(1, sizeof(*g));
	arb__link_info li;
	char           url[64];

	(void) state;
	assert_non_null(c);
	assert_non_null(g);
	memset(ck.key, 0x5a, 32);
	ck.len = 32;
	tnode_open(c, &ck, "central");
	tnode_open(g, &ck, "gw");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", dead_port());
	tnode_dial(c, url);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", arb__lsn_port(c->l));
	tnode_dial(g, url);
	// gw's link is up on its own stream; central's adopts that stream.
	ARB_WAIT_UNTIL(atomic_load(&g->w.ups) == 1, 5000);
	ARB_WAIT_UNTIL(atomic_load(&c->w.ups) == 1, 5000);
	assert_int_equal(atomic_load(&c->proven), 1);
	arb__link_get_info(c->k, &li);
	assert_true(li.up && li.adopted);
	arb__link_get_info(g->k, &li);
	assert_true(li.up && !li.adopted);
	// DATA both ways on the one stream, acknowledged both ways.
	put_n(c->k, 100, 1000);
	put_n(g->k, 100, 1000);
	ARB_WAIT_UNTIL(atomic_load(&g->s.bytes) == 100 * 1000, 5000);
	ARB_WAIT_UNTIL(atomic_load(&c->s.bytes) == 100 * 1000, 5000);
	assert_true(arb__link_wait_idle(c->k, arb_test_now_ms() + 5000, true));
	assert_true(arb__link_wait_idle(g->k, arb_test_now_ms() + 5000, true));
	assert_int_equal(arb__link_unacked(c->k), 0);
	assert_int_equal(arb__link_unacked(g->k), 0);
	// One data stream: gw's; each listener holds one connection of it
	// (central accepted it, gw reads what it dialled) and central holds
	// gw's heartbeat channel.
	assert_int_equal(arb__lsn_conns(g->l), 1);
	assert_int_equal(arb__lsn_conns(c->l), 2);
	assert_int_equal(atomic_load(&c->st.bad_frames), 0);
	assert_int_equal(atomic_load(&g->st.bad_frames), 0);
	assert_int_equal(atomic_load(&c->st.lost), 0);
	assert_int_equal(atomic_load(&g->st.lost), 0);
	// gw goes: central's link is DOWN once, its stream given back.
	tnode_close(g);
	ARB_WAIT_UNTIL(atomic_load(&c->w.downs) == 1, 5000);
	ARB_WAIT_UNTIL(arb__lsn_conns(c->l) == 0, 5000);
	assert_int_equal(atomic_load(&c->w.ups), 1);
	tnode_close(c);
	free(c);
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_way_reachability),
	};

	arb_test_filter();
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name(
	    "transport.duplex", tests, NULL, NULL);
}
