// SPDX-License-Identifier: MIT
// tpfix.h -- the pieces the transport's unit tests share
// (tests/unit/transport): a listener's ops that take every link and count
// what arrives, a dialled link's watcher that counts UP and DOWN, the
// identity and configuration of a node's link (src/transport/peer.c), the
// tests' cookie and URLs, a stall of the transport's timer thread, and a
// capture of the log.
//
// White-box: it uses src/transport/link.h, so a test using it links
// arbor_testing (the arb_test_tpfix library does).
// Thread: the counters are atomic (nng's task threads bump them); the
// rest is the test's thread.

#ifndef ARB_TPFIX_H
#define ARB_TPFIX_H

#include "transport/link.h"

#include <stdbool.h>
#include <stddef.h>
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

// tpf_cookie gives ck the tests' cookie: 32 bytes of 0x5a.
void tpf_cookie(arb__cookie *ck);

// tpf_url writes "tcp://127.0.0.1:PORT" into buf (len bytes) and returns
// buf.
char *tpf_url(char *buf, size_t len, int port);

// A stall of this process: tpf_stall_start blocks the transport's timer
// thread -- every link's heartbeat and merge timers and every listener's
// silence timers of this process -- for ms from now, as when the process
// is starved of a CPU or its machine is paused (the stall is the thing
// tested: its length is fixed, not waited for).  until is when it ends,
// done is set once it has; st must stay until then.  Fails the test on
// error.
typedef struct tpf_stall {
	arb__ttimer t;
	int64_t     until;
	_Atomic int done;
} tpf_stall;

void tpf_stall_start(tpf_stall *st, int ms);

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
