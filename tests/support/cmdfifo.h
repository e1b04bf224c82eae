// SPDX-License-Identifier: MIT
// cmdfifo.h -- a command FIFO read by a loop in a test helper.
//
// A test drives the node it spawned by writing lines to a FIFO in the
// helper's private directory (arb_test_cmdfifo_write); an actor or a node
// hook in the helper reads them on its loop, one callback per line.  No
// sleeps: the test writes when it decides, the helper acts at once.

#ifndef ARB_TEST_CMDFIFO_H
#define ARB_TEST_CMDFIFO_H

struct event_base;

typedef void (*arb_test_line_fn)(void *arg, const char *line);
typedef struct arb_test_cmdfifo arb_test_cmdfifo;

// arb_test_cmdfifo_open makes path a FIFO (unless it is one already) and
// calls fn(arg, line) on base's loop for every line written to it (without
// its '\n'; a line longer than 1 KiB is dropped).  It is opened O_RDWR, so
// it never reads EOF between two writers and a writer's open never blocks.
// Returns 0 or an errno value.
int arb_test_cmdfifo_open(arb_test_cmdfifo **fp, struct event_base *base,
    const char *path, arb_test_line_fn fn, void *arg);

// arb_test_cmdfifo_close stops reading, closes and removes the FIFO.  NULL
// is a no-op.  Call it on the loop's thread, before the loop is freed.
void arb_test_cmdfifo_close(arb_test_cmdfifo *f);

#endif // ARB_TEST_CMDFIFO_H
