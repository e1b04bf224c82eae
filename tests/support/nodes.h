// SPDX-License-Identifier: MIT
// nodes.h -- real nodes on loopback for integration tests: a helper
// process runs one node with its peers (its options, run dir and cookie
// in the helper's own ARB_TEST_DIR); the test gives it ports, starts it,
// waits until its peers are up and stops it.  A test that runs nodes is
// listed as ARB_TEST_TIDY(test) (arb_test.h): what it leaves when it
// fails part-way is cleaned up at once.
//
// Every wait has a deadline.  Thread: the test's main thread (the helper
// side: the helper's, before its node opens).

#ifndef ARB_TEST_NODES_H
#define ARB_TEST_NODES_H

#include "arb_test.h"

#include <arbor/arbor.h>

#include <event2/event.h>

#include <stdbool.h>

// --- in the helper: the node's options ------------------------------------

#define ARB_TEST_NODE_PEERS 4 // peers of one node, at most

// What arb_test_node_opts points o's strings at: keep it while o is used.
typedef struct arb_test_node_cfg {
	char          url[96];
	char          run[300];
	char          cookie[300];
	char          names[ARB_TEST_NODE_PEERS][16];
	char          urls[ARB_TEST_NODE_PEERS][96];
	arb_node_peer peers[ARB_TEST_NODE_PEERS];
} arb_test_node_cfg;

// arb_test_node_opts sets o's name, listen ("SCHEME://127.0.0.1:PORT";
// scheme NULL: "tcp"), peers (peers: "NAME:PORT[,NAME:PORT...]", each
// at 127.0.0.1 with the same scheme; "" or NULL: none), run_dir
// (ARB_TEST_DIR/run-NAME) and cookie_file (ARB_TEST_DIR/cookie, holding
// secret, mode 0600; secret "-": o.insecure instead, no cookie), into c,
// and leaves o's other fields alone.  Returns 0, 64 (a peer list that is
// not NAME:PORT pairs or holds more than ARB_TEST_NODE_PEERS: it says
// which on stderr) or 70 (the cookie could not be written): the exit
// codes of a helper that cannot start.
int arb_test_node_opts(arb_test_node_cfg *c, arb_node_opts *o,
    const char *scheme, const char *name, const char *port, const char *peers,
    const char *secret);

// arb_test_tick_new calls cb(-1, EV_TIMEOUT, arg) every ms milliseconds on
// the actor's loop from now on; NULL: no memory.  The actor frees the
// event (event_free) in its terminate.
struct event *arb_test_tick_new(
    arb_ctx *ctx, event_callback_fn cb, void *arg, int ms);

// A ticking actor's state begins with an arb_test_ticked: its context
// and its tick.
typedef struct arb_test_ticked {
	arb_ctx      *ctx;
	struct event *tick;
} arb_test_ticked;

// arb_test_ticked_init is the body of a ticking actor's init: it
// allocates size bytes of zeroed state, which must begin with an
// arb_test_ticked, sets its ctx and its tick (arb_test_tick_new: cb(-1,
// EV_TIMEOUT, state) every ms) and stores the state in *statep.  Returns
// ARB_OK, or ARB_ENOMEM (nothing allocated, *statep untouched).
int arb_test_ticked_init(
    arb_ctx *ctx, void **statep, size_t size, event_callback_fn cb, int ms);

// arb_test_ticked_terminate is a ticking actor's terminate (arb_actor_ops):
// it frees the tick and the state.
void arb_test_ticked_terminate(arb_ctx *ctx, void *state, const arb_exit *why);

// --- in the test: start, up, kill, stop (ports: httpc.h arb_test_free_port) -

// arb_test_node_start spawns the helper (arb_test_spawn) and waits at
// most ms for its node's listener (the line event=peer_listen), which it
// returns (valid until p's output is read again).
const char *arb_test_node_start(
    arb_test_proc *p, const char *helper, const char *const *args, int ms);

// arb_test_node_up waits at most ms until n lines of p say its node took
// peer up ("event=peer_up peer=PEER": each link that came up counts), and
// fails the test with p's output if they do not.
void arb_test_node_up(arb_test_proc *p, const char *peer, int n, int ms);

// arb_test_node_kill SIGKILLs node p (a node lost at once: the kernel
// closes its streams), waits at most ms for its exit and finalises it
// (arb_test_proc_fini).
void arb_test_node_kill(arb_test_proc *p, int ms);

// arb_test_node_stop sends SIGTERM to each of the n nodes first (they stop
// together), then waits at most ms for each to exit and finalises it
// (arb_test_proc_fini, in the order given).  With clean, a node that
// exits with a code other than 0 or whose output holds a sanitizer's
// report fails the test, its output printed.
void arb_test_node_stop(
    arb_test_proc *const *nodes, size_t n, bool clean, int ms);

#endif // ARB_TEST_NODES_H
