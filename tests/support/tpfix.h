// SPDX-License-Identifier: MIT
// tpfix.h -- the pieces the transport's unit tests share
// (tests/unit/transport): a listener's ops that take every link and count
// what arrives, a dialled link's watcher that counts UP and DOWN, the
// identity and configuration of a node's link (src/transport/peer.c), and
// a capture of the log.
//
// White-box: it uses src/transport/link.h, so a test using it links
// arbor_testing (the arb_test_tpfix library does).
// Thread: the counters are atomic (nng's task threads bump them); the
// rest is the test's thread.

#ifndef ARB_TPFIX_H
#define ARB_TPFIX_H

#include "transport/link.h"

#include <stdbool.h>
#include <stdint.h>

// What a listener opened with tpf_sink_ops and a tpf_sink as its arg took:
// every HELLO is accepted and counted, every DATA chunk's bytes counted
// and the chunk freed (never over its high-water mark).
typedef struct tpf_sink {
	_Atomic uint64_t bytes;
	_Atomic int      hellos;
} tpf_sink;

extern const arb__lsn_ops tpf_sink_ops;

// What a dialled link's watcher (tpf_watch_fn, with a tpf_watch as its
// arg) saw.
typedef struct tpf_watch {
	_Atomic int ups;
	_Atomic int downs;
} tpf_watch;

bool tpf_watch_fn(void *arg, arb__link_ev ev, const arb__hello *peer);

// tpf_self names c's process: node `name` (its node id from the name),
// incarnation `creation`, and c's max_frame.
void tpf_self(arb__link_cfg *c, const char *name, uint32_t creation);

// tpf_node_link gives c what peer.c gives a node's link: heartbeats every
// 500 ms, DOWN after 4 unanswered (the defaults), kept up, redials after
// 50 to 500 ms.
void tpf_node_link(arb__link_cfg *c);

// tpf_dial opens a link to url with c, watched by tpf_watch_fn with w,
// and starts it (a kept-up link dials at once).  Fails the test on error.
arb__link *tpf_dial(const char *url, const arb__link_cfg *c, tpf_watch *w);

// A capture of the log (stderr) while a test runs: tpf_logcap_start
// sends fd 2 through a pipe that a thread reads (the lines still reach
// stderr, a failing test's message too; up to 32 KiB kept);
// tpf_logcap_stop gives fd 2 back and frees it.  tpf_logcap_wait fails
// the test unless a line with needle comes within 5 s;
// tpf_logcap_count: how often needle occurs so far.
typedef struct tpf_logcap tpf_logcap;

tpf_logcap *tpf_logcap_start(void);
void        tpf_logcap_stop(tpf_logcap *lc);
void        tpf_logcap_wait(tpf_logcap *lc, const char *needle);
int         tpf_logcap_count(tpf_logcap *lc, const char *needle);

#endif // ARB_TPFIX_H
