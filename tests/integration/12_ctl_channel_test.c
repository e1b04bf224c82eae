// SPDX-License-Identifier: MIT
// 12_ctl_channel_test.c -- the control channel between the node and a
// process actor takes nothing on trust (docs/wire.md, "Control channel").
//
// A "forger" process actor writes malformed datagrams on its fd 3 before
// and after it is READY: garbage, the old struct form (a FAIL that the
// old node would have taken as a start failure), a field out of range, a
// NUL in a string, an op that only nodes send, a datagram larger than
// any control message.  The node rejects each one, counts it in the
// actor's `rejected` statistic and logs it, and acts on none of them:
// the start succeeds, the actor keeps running, and its real exit reason
// (not a forged one) is what the supervisor sees.  Each test runs a node
// in a helper process (this binary re-executed).

#include "arb_test.h"
#include "probe.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CTL_FD 3

enum {
	T_FORGE = 100, // forger: write the bad datagrams again, then exit
	               // normally
};

// The malformed datagrams, in msgpack unless said otherwise.
typedef struct forged {
	size_t        len;
	const uint8_t bytes[64];
} forged;

static const forged forgeries[] = {
	// Not msgpack at all.
	{ 3, { 0xc1, 0xc1, 0xc1 } },
	// The version 1 form: an 8-byte header [op=FAIL, 1, 0...] and an
	// arb_exit struct (kind=error, code=7, text "forged").
	{ 20, { 0x07, 0x01, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x07, 0, 0, 0, 'f',
	          'o', 'r', 'g' } },
	// EXIT with kind 99.
	{ 8, { 0x93, 0x02, 0x08, 0x93, 0x63, 0x00, 0xa1, 'x' } },
	// FAIL whose text holds a NUL.
	{ 9, { 0x93, 0x02, 0x07, 0x93, 0x02, 0x05, 0xa2, 'x', 0x00 } },
	// STOP: an op that only a node sends.
	{ 3, { 0x92, 0x02, 0x02 } },
	// A register request with an empty name.
	{ 5, { 0x94, 0x02, 0x0a, 0x01, 0xa0 } },
	// LISTEN for a process actor's pid (only thread actors listen).
	{ 12, { 0x93, 0x02, 0x0b, 0xcf, 0x80, 0, 0, 0x01, 0, 0, 0, 0x01 } },
};
#define NFORGED (sizeof(forgeries) / sizeof(forgeries[0]))
#define NBAD    (NFORGED + 1) // and one oversized datagram

static void
forge_all(void)
{
	static uint8_t big[80 * 1024];
	size_t         i;

	for (i = 0; i < NFORGED; i++) {
		if (send(CTL_FD, forgeries[i].bytes, forgeries[i].len,
		        MSG_NOSIGNAL) != (ssize_t) forgeries[i].len) {
			arb_test_emit("forger send failed");
		}
	}
	memset(big, 0x90, sizeof(big));
	if (send(CTL_FD, big, sizeof(big), MSG_NOSIGNAL) != (ssize_t) sizeof(big)) {
		arb_test_emit("forger send failed");
	}
}

static int
forger_init(arb_ctx *ctx, void **st, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*st = NULL;
	forge_all(); // before READY: none of it may fail the start
	return ARB_OK;
}

static void
forger_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{
	arb_exit e = { .kind = ARB_EXIT_NORMAL };

	(void) st;
	if (arb_msg_tag(m) == T_FORGE) {
		forge_all();
		arb_actor_exit(ctx, &e);
	}
}

static const arb_actor_ops forger_ops = {
	.type   = "forger",
	.init   = forger_init,
	.handle = forger_handle,
};

static const arb_actor_ops *const types[] = { &forger_ops, NULL };

// --- helper (runs the node) -------------------------------------------------

static void
walk_cb(const arb_child_info *in, void *arg)
{
	(void) arg;
	if (strcmp(in->name, "forger") == 0) {
		arb_test_emit("walk path=%s state=%s restarts=%u rejected=%llu",
		    in->path, arb_child_state_name(in->state), in->restarts,
		    (unsigned long long) in->stats.rejected);
	}
}

static void
hook_ready(arb_node *node, void *arg)
{
	(void) arg;
	arb_node_walk(node, walk_cb, NULL);
	// Make it forge again while it runs, then end on its own.
	if (arb_node_send(node, "root/forger", T_FORGE, NULL, 0) != 0) {
		arb_test_emit("send failed");
	}
}

static int
h_forger(int argc, char **argv)
{
	const arb_child_spec c[] = {
		{ .name = "forger", .isolation = ARB_PROCESS, .type = "forger",
		    .restart = ARB_TRANSIENT, .significant = true },
	};
	const arb_sup_spec s = { .children = c, .nchildren = 1,
		.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT };
	arb_node_hooks     hooks = { .ready = hook_ready };
	arb_node_opts      o     = { .name = "test" };
	arb_node          *node;
	int                code = -1;

	(void) argc;
	(void) argv;
	if (arb_node_open(&node, &o) != 0) {
		return 99;
	}
	arb_node_set_hooks(node, &hooks, NULL);
	arb_node_run(node, &s, &code);
	arb_node_close(node);
	arb_test_emit("node exit_code=%d", code);
	return code;
}

static const arb_test_helper helpers[] = {
	{ "forger", h_forger },
};

// --- tests -----------------------------------------------------------------

static void
test_malformed_control_messages_are_rejected_counted_and_ignored(
    void **state)
{
	arb_test_proc p;
	const char   *l;

	(void) state;
	arb_test_spawn(&p, "forger", NULL);
	// Started despite a forged FAIL in the old form, with every bad
	// datagram sent before READY counted.
	l = arb_test_expect(&p, "walk path=root/forger state=running", 10000);
	assert_int_equal(arb_test_field(l, "restarts"), 0);
	assert_int_equal(arb_test_field(l, "rejected"), NBAD);
	// Forged again while running, then a normal exit: the forged EXIT
	// (kind 99) and FAILs are not its exit reason.
	arb_test_expect(&p, "root/forger event=exit reason=normal", 10000);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, 10000)), 0);
	assert_int_equal(
	    arb_test_count(&p, "event=bad_control_message"), 2 * NBAD);
	assert_null(strstr(p.out, "forged"));
	assert_null(strstr(p.out, "event=start_failed"));
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(
	    test_malformed_control_messages_are_rejected_counted_and_ignored),
};

ARB_TEST_MAIN_TYPES("integration.ctl_channel", tests, helpers, types)
