// SPDX-License-Identifier: MIT
// registry_test.c -- unit tests for registry.c: names, monitors and links.
//
// The registry touches no loop or socket, so these tests give it an io
// that records every DOWN / EXIT it sends and every flush, and entry ops
// that record exit signals: OTP's rules for monitors, links, trap_exit
// and names, checked message by message.  Also: the entries of a lost
// peer go down together (DOWN noconnection), and running out of memory
// changes nothing.

#include "arb_test.h"

#include "registry/registry.h"

#include <string.h>

typedef struct sent {
	arb_pid  to;
	uint32_t tag;
	uint64_t ref;
	arb_pid  who;
	arb_exit why;
} sent;

typedef struct rec {
	sent     msgs[64];
	size_t   n;
	int      flushes;
	int      flushed_at; // n at the last flush
	arb_exit signals[16];
	arb_pid  signalled[16];
	size_t   nsig;
	uint64_t topics_gen; // the last generation the registry told
	int      topics_told;
} rec;

static rec r;

static void
rec_notify(void *arg, arb_pid to, uint32_t tag, uint64_t ref, arb_pid who,
    const arb_exit *why)
{
	(void) arg;
	assert_true(r.n < 64);
	r.msgs[r.n++] = (sent) { to, tag, ref, who, *why };
}

static void
rec_flush(void *arg)
{
	(void) arg;
	r.flushes++;
	r.flushed_at = (int) r.n;
}

static void
rec_topics(void *arg, uint64_t gen)
{
	(void) arg;
	assert_true(gen > r.topics_gen); // only ever grows
	r.topics_gen = gen;
	r.topics_told++;
}

static const arb__reg_io io = { rec_notify, rec_flush, rec_topics };

// An entry's arg is its pid (in a static slot), so the ops know who got
// the signal.
static arb_pid slots[16];

static void
rec_exit_signal(void *arg, const arb_exit *why)
{
	assert_true(r.nsig < 16);
	r.signalled[r.nsig] = *(const arb_pid *) arg;
	r.signals[r.nsig++] = *why;
}

static const arb__reg_ops ops = { rec_exit_signal };

static arb__reg *
reg_new(void)
{
	arb__reg *reg;

	memset(&r, 0, sizeof(r));
	ARB_PASS(arb__reg_open(&reg, &io, NULL));
	return reg;
}

// up brings pid (thread actor mbid, incarnation inc) up as path.
static arb_pid
up(arb__reg *reg, uint32_t mbid, uint32_t inc, const char *path)
{
	arb_pid pid = arb__pid_make(ARB__KIND_THREAD, mbid, inc);

	slots[mbid] = pid;
	ARB_PASS(arb__reg_up(reg, pid, path, &ops, &slots[mbid]));
	return pid;
}

static const arb_exit crashed = { .kind = ARB_EXIT_CRASHED, .code = 11 };
static const arb_exit normal  = { .kind = ARB_EXIT_NORMAL };

static void
test_paths_are_names_that_outlive_the_incarnation(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a1, a2, got;

	(void) state;
	a1 = up(reg, 1, 1, "root/a");
	// A path names the child's slot (whichever incarnation holds it),
	// a registered name the exact pid that registered it.
	ARB_PASS(arb__reg_whereis(reg, "root/a", &got));
	assert_true(arb_pid_is_slot(got));
	assert_true(arb_pid_eq(got, arb_pid_slot(a1)));
	assert_true(arb_pid_eq(arb__reg_current(reg, got), a1));
	assert_true(arb__reg_alive(reg, got));
	assert_true(arb__reg_alive(reg, a1));
	ARB_PASS(arb__reg_register(reg, "extra", a1));
	ARB_PASS(arb__reg_whereis(reg, "extra", &got));
	assert_true(arb_pid_eq(got, a1));
	arb__reg_down(reg, a1, &crashed);
	assert_false(arb__reg_alive(reg, a1));
	// The path still names the slot, held by no incarnation now;
	// other names died.
	ARB_PASS(arb__reg_whereis(reg, "root/a", &got));
	assert_true(arb_pid_eq(got, arb_pid_slot(a1)));
	assert_false(arb__reg_alive(reg, got));
	assert_true(arb_pid_eq(arb__reg_current(reg, got), got));
	ARB_FAIL(arb__reg_whereis(reg, "extra", &got), ARB_ENOENT);
	// The next incarnation takes its path back: the same address.
	a2 = up(reg, 1, 2, "root/a");
	ARB_PASS(arb__reg_whereis(reg, "root/a", &got));
	assert_true(arb_pid_eq(got, arb_pid_slot(a2)));
	assert_true(arb_pid_eq(arb__reg_current(reg, got), a2));
	assert_false(arb__reg_alive(reg, a1)); // a stale pid is not alive
	arb__reg_down(reg, a1, &crashed);      // nor taken down
	assert_true(arb__reg_alive(reg, a2));
	assert_int_equal(r.flushes, 0); // nothing was ever sent
	arb__reg_close(reg);
}

// A child removed from the tree (reload, delete, a pool's child that
// ended) releases its path: it stops resolving, unless another child
// took it over meanwhile (a changed child's new record).
static void
test_a_released_path_stops_resolving(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a1, a2, b1, got;

	(void) state;
	a1 = up(reg, 1, 1, "root/a");
	a2 = arb__pid_make(ARB__KIND_THREAD, 1, 2); // a later incarnation
	arb__reg_down(reg, a1, &normal);
	arb__reg_release(reg, "root/a", a2); // same mailbox: released
	ARB_FAIL(arb__reg_whereis(reg, "root/a", &got), ARB_ENOENT);
	// A new record (another mailbox) took the path over before the old
	// one was freed: its release leaves the name alone.
	a1 = up(reg, 1, 3, "root/b");
	arb__reg_down(reg, a1, &normal);
	b1 = up(reg, 2, 1, "root/b");
	arb__reg_release(reg, "root/b", a1);
	ARB_PASS(arb__reg_whereis(reg, "root/b", &got));
	assert_true(arb_pid_eq(got, arb_pid_slot(b1)));
	assert_true(arb_pid_eq(arb__reg_current(reg, got), b1));
	assert_true(arb__reg_alive(reg, b1));
	arb__reg_release(reg, "root/none", b1); // unknown: harmless
	// Released while its entry is up: the entry stays until it goes down.
	arb__reg_release(reg, "root/b", b1);
	ARB_FAIL(arb__reg_whereis(reg, "root/b", &got), ARB_ENOENT);
	assert_true(arb__reg_alive(reg, b1));
	arb__reg_down(reg, b1, &normal);
	ARB_FAIL(arb__reg_whereis(reg, "root/b", &got), ARB_ENOENT);
	arb__reg_close(reg);
}

static void
test_register_refuses_a_live_holder_only(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, got;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	ARB_PASS(arb__reg_register(reg, "svc", a));
	ARB_PASS(arb__reg_register(reg, "svc", a)); // again: harmless
	ARB_FAIL(arb__reg_register(reg, "svc", b), ARB_EEXIST);
	ARB_FAIL(arb__reg_register(reg, "root/a", b), ARB_EEXIST);
	arb__reg_down(reg, a, &normal);
	ARB_PASS(arb__reg_register(reg, "svc", b));
	ARB_PASS(arb__reg_whereis(reg, "svc", &got));
	assert_true(arb_pid_eq(got, b));
	// A dead actor's path can be taken over too.
	ARB_PASS(arb__reg_register(reg, "root/a", b));
	arb__reg_close(reg);
}

static void
test_monitors_fire_down_once_with_the_reason(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, c;
	uint64_t  r1, r2, r3;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	c = up(reg, 3, 1, "root/c");
	ARB_PASS(arb__reg_monitor(reg, b, a, &r1));
	ARB_PASS(arb__reg_monitor(reg, c, a, &r2));
	ARB_PASS(arb__reg_monitor(reg, c, a, &r3));
	assert_true(r1 != r2 && r2 != r3 && r1 != 0);
	arb__reg_demonitor(reg, c, r3);
	arb__reg_demonitor(reg, b, r2); // not b's: nothing happens
	arb__reg_demonitor(reg, c, 999); // unknown: harmless
	assert_int_equal(r.n, 0);
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.flushes, 1); // one flush for the whole down
	assert_int_equal(r.flushed_at, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(r.msgs[i].tag, ARB_TAG_DOWN);
		assert_true(arb_pid_eq(r.msgs[i].who, a));
		assert_int_equal(r.msgs[i].why.kind, ARB_EXIT_CRASHED);
		assert_int_equal(r.msgs[i].why.code, 11);
		assert_true((arb_pid_eq(r.msgs[i].to, b) && r.msgs[i].ref == r1) ||
		    (arb_pid_eq(r.msgs[i].to, c) && r.msgs[i].ref == r2));
	}
	assert_false(arb_pid_eq(r.msgs[0].to, r.msgs[1].to));
	// Fired monitors are gone: a second down sends nothing.
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.n, 2);
	arb__reg_close(reg);
}

static void
test_monitor_of_a_dead_actor_fires_noproc_at_once(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   b, ghost = arb__pid_make(ARB__KIND_PROCESS, 9, 1);
	uint64_t  ref;

	(void) state;
	b = up(reg, 2, 1, "root/b");
	ARB_PASS(arb__reg_monitor(reg, b, ghost, &ref));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.flushes, 1);
	assert_int_equal(r.msgs[0].tag, ARB_TAG_DOWN);
	assert_int_equal(r.msgs[0].ref, ref);
	assert_true(arb_pid_eq(r.msgs[0].who, ghost));
	assert_int_equal(r.msgs[0].why.kind, ARB_EXIT_NOPROC);
	arb__reg_close(reg);
}

static void
test_a_watcher_that_ends_drops_its_monitors(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b;
	uint64_t  ref;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	ARB_PASS(arb__reg_monitor(reg, b, a, &ref));
	arb__reg_down(reg, b, &normal);
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.n, 0);
	arb__reg_close(reg);
}

static void
test_links_signal_abnormal_exits_and_trap_gets_exit(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, c, d;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b"); // does not trap
	c = up(reg, 3, 1, "root/c"); // traps
	d = up(reg, 4, 1, "root/d"); // linked, then unlinked
	ARB_PASS(arb__reg_trap_exit(reg, c, true));
	ARB_PASS(arb__reg_link(reg, a, b));
	ARB_PASS(arb__reg_link(reg, c, a)); // either side may link
	ARB_PASS(arb__reg_link(reg, a, d));
	arb__reg_unlink(reg, d, a);
	arb__reg_down(reg, a, &crashed);
	// b dies too (exit signal); c gets an EXIT message; d nothing.
	assert_int_equal(r.nsig, 1);
	assert_true(arb_pid_eq(r.signalled[0], b));
	assert_int_equal(r.signals[0].kind, ARB_EXIT_CRASHED);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.msgs[0].tag, ARB_TAG_EXIT);
	assert_true(arb_pid_eq(r.msgs[0].to, c));
	assert_true(arb_pid_eq(r.msgs[0].who, a));
	assert_int_equal(r.msgs[0].ref, 0);
	// The links are gone with a.
	arb__reg_down(reg, b, &crashed);
	assert_int_equal(r.nsig, 1);
	arb__reg_close(reg);
}

static void
test_a_normal_exit_signals_nobody_but_trappers_hear_it(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, c;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	c = up(reg, 3, 1, "root/c");
	ARB_PASS(arb__reg_trap_exit(reg, c, true));
	ARB_PASS(arb__reg_link(reg, a, b));
	ARB_PASS(arb__reg_link(reg, a, c));
	arb__reg_down(reg, a, &normal);
	assert_int_equal(r.nsig, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.msgs[0].why.kind, ARB_EXIT_NORMAL);
	assert_true(arb_pid_eq(r.msgs[0].to, c));
	arb__reg_close(reg);
}

// A pair linked twice, from either end (a link across nodes is made on
// both nodes, and may be asked from both actors), is one link: the exit
// reaches the other once.
static void
test_linking_twice_is_one_link(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, c;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	c = up(reg, 3, 1, "root/c");
	ARB_PASS(arb__reg_trap_exit(reg, c, true));
	ARB_PASS(arb__reg_link(reg, a, b));
	ARB_PASS(arb__reg_link(reg, b, a));
	ARB_PASS(arb__reg_link(reg, a, c));
	ARB_PASS(arb__reg_link(reg, a, c));
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.nsig, 1); // b, once
	assert_int_equal(r.n, 1);    // c's EXIT, once
	assert_true(arb_pid_eq(r.msgs[0].to, c));
	arb__reg_close(reg);
}

static void
test_link_to_a_dead_actor(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   b, c, ghost = arb__pid_make(ARB__KIND_THREAD, 9, 1);

	(void) state;
	b = up(reg, 2, 1, "root/b");
	c = up(reg, 3, 1, "root/c");
	ARB_FAIL(arb__reg_link(reg, b, ghost), ARB_ENOENT);
	assert_int_equal(r.n, 0);
	ARB_PASS(arb__reg_trap_exit(reg, c, true));
	ARB_PASS(arb__reg_link(reg, c, ghost));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.flushes, 1);
	assert_int_equal(r.msgs[0].tag, ARB_TAG_EXIT);
	assert_int_equal(r.msgs[0].why.kind, ARB_EXIT_NOPROC);
	assert_true(arb_pid_eq(r.msgs[0].who, ghost));
	arb__reg_close(reg);
}

static void
test_trap_exit_asked_during_init_applies_once_up(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b = arb__pid_make(ARB__KIND_THREAD, 2, 1);
	arb_pid   c    = arb__pid_make(ARB__KIND_THREAD, 3, 1);

	(void) state;
	a = up(reg, 1, 1, "root/a");
	ARB_PASS(arb__reg_trap_exit(reg, b, true)); // b is still in init
	ARB_PASS(arb__reg_trap_exit(reg, c, true));
	ARB_PASS(arb__reg_trap_exit(reg, c, false)); // and changed its mind
	up(reg, 2, 1, "root/b");
	up(reg, 3, 1, "root/c");
	ARB_PASS(arb__reg_link(reg, a, b));
	ARB_PASS(arb__reg_link(reg, a, c));
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.n, 1); // b traps: EXIT
	assert_true(arb_pid_eq(r.msgs[0].to, b));
	assert_int_equal(r.nsig, 1); // c does not: signal
	assert_true(arb_pid_eq(r.signalled[0], c));
	arb__reg_close(reg);
}

// An entry nothing refers to any more is forgotten silently (the entry
// of another node's actor after its last demonitor or unlink); one still
// monitored or linked is kept.
static void
test_an_unbound_entry_is_forgotten(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a, b, c;
	uint64_t  m;

	(void) state;
	a = up(reg, 1, 1, "root/a");
	b = up(reg, 2, 1, "root/b");
	c = up(reg, 3, 1, "root/c");
	ARB_PASS(arb__reg_monitor(reg, a, b, &m));
	ARB_PASS(arb__reg_link(reg, a, c));
	assert_false(arb__reg_forget_unbound(reg, b)); // monitored
	assert_false(arb__reg_forget_unbound(reg, c)); // linked
	assert_true(arb_pid_eq(arb__reg_demonitor(reg, a, m), b));
	assert_true(arb_pid_eq(arb__reg_demonitor(reg, a, m), ARB_PID_NONE));
	arb__reg_unlink(reg, a, c);
	assert_true(arb__reg_forget_unbound(reg, b));
	assert_false(arb__reg_alive(reg, b));
	assert_false(arb__reg_forget_unbound(reg, b)); // no entry
	assert_true(arb__reg_forget_unbound(reg, c));
	assert_int_equal(r.n, 0); // nothing fired
	assert_int_equal(r.nsig, 0);
	arb__reg_close(reg);
}

static void
test_a_lost_peer_takes_its_entries_down_with_noconnection(void **state)
{
	static int peer_a, peer_b;
	arb__reg  *reg = reg_new();
	arb_pid    local, r1, r2, other;
	arb_exit   lost = { .kind = ARB_EXIT_NOCONNECTION };
	uint64_t   m1, m2, m3;

	(void) state;
	local = up(reg, 1, 1, "root/local");
	r1    = arb__pid_make(ARB__KIND_PROCESS, 5, 1);
	r2    = arb__pid_make(ARB__KIND_PROCESS, 6, 1);
	other = arb__pid_make(ARB__KIND_PROCESS, 7, 1);
	ARB_PASS(arb__reg_up(reg, r1, "gw2/a", &ops, &peer_a));
	ARB_PASS(arb__reg_up(reg, r2, "gw2/b", &ops, &peer_a));
	ARB_PASS(arb__reg_up(reg, other, "gw3/a", &ops, &peer_b));
	ARB_PASS(arb__reg_monitor(reg, local, r1, &m1));
	ARB_PASS(arb__reg_monitor(reg, local, r2, &m2));
	ARB_PASS(arb__reg_monitor(reg, local, other, &m3));
	assert_int_equal(arb__reg_lost(reg, &peer_a, &lost), 2);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.flushes, 1);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(r.msgs[i].tag, ARB_TAG_DOWN);
		assert_int_equal(r.msgs[i].why.kind, ARB_EXIT_NOCONNECTION);
		assert_true(r.msgs[i].ref == m1 || r.msgs[i].ref == m2);
	}
	assert_false(arb__reg_alive(reg, r1));
	assert_false(arb__reg_alive(reg, r2));
	assert_true(arb__reg_alive(reg, other));
	assert_true(arb__reg_alive(reg, local));
	assert_int_equal(arb__reg_lost(reg, &peer_a, &lost), 0);
	assert_int_equal(r.flushes, 1);
	arb__reg_close(reg);
}

static void
actors_cb(void *arg, arb_pid pid)
{
	arb_pid *seen = arg;
	size_t   i;

	for (i = 0; !arb_pid_eq(seen[i], ARB_PID_NONE); i++) {
	}
	seen[i] = pid;
}

// arb__reg_actors names the running thread and process actors of this
// node, nothing else (the node's notice that a peer is down goes to
// each: docs/multinode.md, "Calls to a node that goes down").
static void
test_the_running_actors_are_listed(void **state)
{
	static int peer;
	arb__reg  *reg = reg_new();
	arb_pid    t, pr, ex, sup, remote, ended, seen[8];
	size_t     i;

	(void) state;
	memset(seen, 0, sizeof(seen));
	t      = up(reg, 1, 1, "root/t");
	pr     = arb__pid_make(ARB__KIND_PROCESS, 2, 1);
	ex     = arb__pid_make(ARB__KIND_EXEC, 3, 1);
	sup    = arb__pid_make(ARB__KIND_NODE, 4, 1);
	ended  = up(reg, 5, 1, "root/ended");
	remote = arb__pid_make(ARB__KIND_THREAD, 6, 1);
	remote.node = arb__local.node + 1;
	remote.creation = 7;
	ARB_PASS(arb__reg_up(reg, pr, "root/p", &ops, &slots[2]));
	ARB_PASS(arb__reg_up(reg, ex, "root/x", &ops, &slots[3]));
	ARB_PASS(arb__reg_up(reg, sup, "root/s", &ops, &slots[4]));
	ARB_PASS(arb__reg_up(reg, remote, "", &ops, &peer));
	arb__reg_down(reg, ended, &normal);
	assert_int_equal(arb__reg_actors(reg, actors_cb, seen), 2);
	for (i = 0; i < 2; i++) {
		assert_true(arb_pid_eq(seen[i], t) || arb_pid_eq(seen[i], pr));
	}
	assert_false(arb_pid_eq(seen[0], seen[1]));
	assert_true(arb_pid_eq(seen[2], ARB_PID_NONE));
	arb__reg_close(reg);
}

static void
test_out_of_memory_changes_nothing(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a = arb__pid_make(ARB__KIND_THREAD, 1, 1), b, got;
	uint64_t  ref;
	long      n;

	(void) state;
	// Every allocation of an up, failing in turn: nothing is left.
	for (n = 1; n <= 10; n++) {
		arb__alloc_fail_after(n);
		if (arb__reg_up(reg, a, "root/a", &ops, &slots[1]) == ARB_OK) {
			arb__alloc_fail_after(0);
			break;
		}
		arb__alloc_fail_after(0);
		assert_false(arb__reg_alive(reg, a));
		ARB_FAIL(arb__reg_whereis(reg, "root/a", &got), ARB_ENOENT);
	}
	assert_true(arb__reg_alive(reg, a));
	b = up(reg, 2, 1, "root/b");
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__reg_monitor(reg, b, a, &ref), ARB_ENOMEM);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__reg_link(reg, b, a), ARB_ENOMEM);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb__reg_register(reg, "x", b), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	arb__reg_down(reg, a, &crashed);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.nsig, 0);
	arb__reg_close(reg);
	arb__reg_close(NULL); // harmless
}

// has_sub is true when topic's subscribers include pid.
static bool
has_sub(arb__reg *reg, const char *topic, arb_pid pid)
{
	arb_pid got[8];
	size_t  n = arb__reg_subscribers(reg, topic, got, 8), i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		if (arb_pid_eq(got[i], pid)) {
			return true;
		}
	}
	return false;
}

static void
test_topics_subscribe_once_and_unsubscribe(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a = up(reg, 1, 1, "root/a"), b = up(reg, 2, 1, "root/b");
	arb_pid   got[2];
	uint64_t  g0 = arb__reg_topics_gen(reg);

	(void) state;
	assert_int_equal(arb__reg_subscribers(reg, "t", got, 2), 0);
	ARB_PASS(arb__reg_subscribe(reg, "t", a));
	ARB_PASS(arb__reg_subscribe(reg, "t", b));
	ARB_PASS(arb__reg_subscribe(reg, "t", a)); // again: one entry
	ARB_PASS(arb__reg_subscribe(reg, "u", a));
	assert_int_equal(arb__reg_subscribers(reg, "t", got, 2), 2);
	assert_true(has_sub(reg, "t", a) && has_sub(reg, "t", b));
	assert_int_equal(arb__reg_subscribers(reg, "u", got, 2), 1);
	assert_int_equal(arb__reg_subscribers(reg, "v", got, 2), 0);
	// Each change told once, the repeat not at all.
	assert_int_equal(r.topics_told, 3);
	assert_true(arb__reg_topics_gen(reg) == g0 + 3);
	assert_true(r.topics_gen == arb__reg_topics_gen(reg));
	arb__reg_unsubscribe(reg, "t", a);
	arb__reg_unsubscribe(reg, "t", a); // none: harmless, not a change
	arb__reg_unsubscribe(reg, "nope", a);
	assert_int_equal(r.topics_told, 4);
	assert_false(has_sub(reg, "t", a));
	assert_true(has_sub(reg, "t", b) && has_sub(reg, "u", a));
	// A count larger than the room given: the count, room filled.
	ARB_PASS(arb__reg_subscribe(reg, "t", a));
	assert_int_equal(arb__reg_subscribers(reg, "t", got, 1), 2);
	assert_int_equal(r.n, 0); // topics send nothing
	arb__reg_close(reg);
}

static void
test_subscriptions_die_with_their_incarnation(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a1 = up(reg, 1, 1, "root/a"), a2, b = up(reg, 2, 1, "b");
	arb_pid   early, next;
	int       told;

	(void) state;
	ARB_PASS(arb__reg_subscribe(reg, "t", a1));
	ARB_PASS(arb__reg_subscribe(reg, "t", b));
	// A crash ends the incarnation's subscriptions, and only its.
	told = r.topics_told;
	arb__reg_down(reg, a1, &crashed);
	assert_false(has_sub(reg, "t", a1));
	assert_true(has_sub(reg, "t", b));
	assert_int_equal(r.topics_told, told + 1);
	// The restarted actor is not subscribed until it asks.
	a2 = up(reg, 1, 2, "root/a");
	assert_false(has_sub(reg, "t", a2));
	ARB_PASS(arb__reg_subscribe(reg, "t", a2));
	// A normal stop ends them as well.
	arb__reg_down(reg, a2, &normal);
	assert_false(has_sub(reg, "t", a2));
	// One that subscribed during an init that failed (it never came
	// up, so never goes down): gone when the next incarnation comes up.
	early = arb__pid_make(ARB__KIND_THREAD, 1, 3);
	ARB_PASS(arb__reg_subscribe(reg, "t", early));
	assert_true(has_sub(reg, "t", early));
	next = up(reg, 1, 4, "root/a");
	assert_false(has_sub(reg, "t", early));
	ARB_PASS(arb__reg_subscribe(reg, "t", next));
	// A released mailbox (its child removed) takes them all.
	arb__reg_release(reg, "root/a", next);
	assert_false(has_sub(reg, "t", next));
	assert_true(has_sub(reg, "t", b));
	// An entry for another node's actor in the same mailbox id (a
	// monitor of it) leaves this node's subscribers alone.
	{
		static int peer;
		arb_pid    rem = arb__pid_make(ARB__KIND_THREAD, 2, 9);

		rem.node = 0x5eed;
		rem.creation = 3;
		ARB_PASS(arb__reg_up(reg, rem, "", &ops, &peer));
		assert_true(has_sub(reg, "t", b));
		arb__reg_down(reg, rem, &crashed);
		assert_true(has_sub(reg, "t", b));
	}
	// A lost peer's entries take theirs down with them.
	arb__reg_lost(reg, &slots[2], &crashed);
	assert_int_equal(arb__reg_subscribers(reg, "t", &b, 1), 0);
	arb__reg_close(reg);
}

// remote makes a pid of another node's actor: mailbox mbid, incarnation
// inc (0: its slot address).
static arb_pid
remote(uint32_t mbid, uint32_t inc)
{
	arb_pid p = arb__pid_make(ARB__KIND_THREAD, mbid, inc);

	p.node = 0x5eed;
	p.creation = 3;
	return p;
}

// watch_remote brings up an entry standing for p, another node's actor
// (its arg: that node's peer), and monitors it from w, as
// supervisor/service.c does; returns the monitor's ref.
static uint64_t
watch_remote(arb__reg *reg, arb_pid w, arb_pid p, void *peer)
{
	uint64_t ref;

	ARB_PASS(arb__reg_up(reg, p, "", &ops, peer));
	ARB_PASS(arb__reg_monitor(reg, w, p, &ref));
	return ref;
}

// unwatch ends w's monitor ref of p and forgets p's entry, bound to no
// monitor or link now.
static void
unwatch(arb__reg *reg, arb_pid w, uint64_t ref, arb_pid p)
{
	assert_true(arb_pid_eq(arb__reg_demonitor(reg, w, ref), p));
	assert_true(arb__reg_forget_unbound(reg, p));
}

// fired checks that n messages have been sent, the last firing the
// monitor ref and naming who, and returns that message.
static const sent *
fired(size_t n, uint64_t ref, arb_pid who)
{
	assert_int_equal(r.n, n);
	assert_int_equal(r.msgs[n - 1].ref, ref);
	assert_true(arb_pid_eq(r.msgs[n - 1].who, who));
	return &r.msgs[n - 1];
}

// Another node's actor is monitored through an entry standing for the
// pid asked (supervisor/service.c); its slot address and each of its
// incarnations have entries of their own, monitored at the same time:
// one made never takes the place of another (it used to, by mailbox id,
// and the replaced entry's monitors never fired), and each DOWN fires
// the monitors of its own.  Its node's answer to the watch of the slot
// address (arb__reg_slot_down) names the incarnation it watched and takes
// the slot's entry down, after or before that incarnation's own DOWN.
static void
test_incarnations_of_another_nodes_actor_have_their_own_entries(void **state)
{
	static int peer;
	arb__reg  *reg = reg_new();
	arb_pid    w = up(reg, 1, 1, "root/w");
	arb_pid    s = remote(5, 0), p1 = remote(5, 1), p2 = remote(5, 2);
	uint64_t   ref_s, ref_p1, ref_p2;
	arb_exit   gone = { .kind = ARB_EXIT_NOPROC };

	(void) state;
	ref_s = watch_remote(reg, w, s, &peer);
	ref_p2 = watch_remote(reg, w, p2, &peer);
	ref_p1 = watch_remote(reg, w, p1, &peer);
	assert_true(arb__reg_alive(reg, s));
	assert_true(arb__reg_alive(reg, p1));
	assert_true(arb__reg_alive(reg, p2));
	assert_true(arb_pid_eq(arb__reg_current(reg, s), s));
	assert_int_equal(r.n, 0);
	// p1 had ended: noproc, for its monitor only.
	arb__reg_down(reg, p1, &gone);
	fired(1, ref_p1, p1);
	// p2 ends: its own monitor, then (the slot's watch) the slot's.
	arb__reg_down(reg, p2, &crashed);
	fired(2, ref_p2, p2);
	assert_true(arb__reg_alive(reg, s));
	arb__reg_slot_down(reg, p2, 0, &crashed);
	assert_int_equal(fired(3, ref_s, p2)->why.kind, ARB_EXIT_CRASHED);
	assert_false(arb__reg_alive(reg, s));
	arb__reg_down(reg, p2, &crashed); // nothing left to fire
	arb__reg_slot_down(reg, p2, 0, &crashed);
	assert_int_equal(r.n, 3);
	// The other order: the slot's answer first fires the slot's
	// monitor only, the incarnation's own DOWN its own.
	ref_s = watch_remote(reg, w, s, &peer);
	p2 = remote(5, 3);
	ref_p2 = watch_remote(reg, w, p2, &peer);
	arb__reg_slot_down(reg, p2, 0, &crashed);
	fired(4, ref_s, p2);
	assert_true(arb__reg_alive(reg, p2));
	arb__reg_down(reg, p2, &crashed);
	fired(5, ref_p2, p2);
	arb__reg_close(reg);
}

// A DOWN of one incarnation of another node's actor (its node's answer
// to a watch of that incarnation) never fires a monitor of its slot
// address: a gather of the ended incarnation p1, settled and demonitored
// before its node's DOWN noproc arrives, while a monitor of the slot
// address waits for the incarnation holding the slot (CI,
// integration.74_peers: the slot's monitor fired naming p1, noproc,
// because the late DOWN found the slot's entry in place of p1's).  Only
// the slot watch's own answer (arb__reg_slot_down) takes the slot's
// entry down: of pid's node incarnation, else of creation 0 (whichever
// incarnation of that node); one naming no incarnation of another
// node's actor does nothing; node loss names the slot address itself.
static void
test_a_late_down_of_an_ended_incarnation_spares_its_slot(void **state)
{
	static int peer;
	arb__reg  *reg = reg_new();
	arb_pid    w = up(reg, 1, 1, "root/w");
	arb_pid    s = remote(5, 0), p1 = remote(5, 1), p2 = remote(5, 2);
	arb_pid    any = s, name;
	uint64_t   ref_s, ref_p1, ref_any;
	arb_exit   noproc = { .kind = ARB_EXIT_NOPROC };
	arb_exit   lost = { .kind = ARB_EXIT_NOCONNECTION };

	(void) state;
	ref_s = watch_remote(reg, w, s, &peer);
	// The gather's monitor of p1, gone before its node's answer.
	ref_p1 = watch_remote(reg, w, p1, &peer);
	unwatch(reg, w, ref_p1, p1);
	// Its DOWN noproc, late: nothing fires, the slot's entry stays.
	arb__reg_down(reg, p1, &noproc);
	arb__reg_down(reg, p2, &crashed); // never monitored exactly
	assert_int_equal(r.n, 0);
	assert_true(arb__reg_alive(reg, s));
	// Nor does a slot answer naming no incarnation of another node's.
	name = s;
	name.id = (uint64_t) ARB__MBID_NAMES << 32 | 1234u;
	arb__reg_slot_down(reg, s, 0, &crashed);
	arb__reg_slot_down(reg, name, 0, &crashed);
	arb__reg_slot_down(
	    reg, arb__pid_make(ARB__KIND_THREAD, 5, 2), 0, &crashed);
	assert_int_equal(r.n, 0);
	assert_true(arb__reg_alive(reg, s));
	// The slot's watch answers: p2 held it.
	arb__reg_slot_down(reg, p2, 0, &crashed);
	assert_int_equal(fired(1, ref_s, p2)->why.kind, ARB_EXIT_CRASHED);
	assert_false(arb__reg_alive(reg, s));
	// A slot address of whichever incarnation of that node (creation
	// 0): its watch's answer names p2 of the node's creation.
	any.creation = 0;
	ref_any = watch_remote(reg, w, any, &peer);
	arb__reg_down(reg, p2, &crashed);
	assert_int_equal(r.n, 1);
	arb__reg_slot_down(reg, p2, 0, &crashed);
	fired(2, ref_any, p2);
	// Node loss: the slot's monitor names the slot address (which
	// incarnation held it, that node did not say).
	ref_s = watch_remote(reg, w, s, &peer);
	assert_int_equal(arb__reg_lost(reg, &peer, &lost), 1);
	assert_int_equal(fired(3, ref_s, s)->why.kind, ARB_EXIT_NOCONNECTION);
	arb__reg_close(reg);
}

// Another node's answer names the watch it answers (the WATCH's ref:
// arb__reg_watch_id, the ref of the entry's first monitor; an entry made
// for a link has a ref of its own).  A slot address monitored,
// demonitored and monitored again is a new entry with a new watch: the
// first watch's answer, still on its way (naming the incarnation that
// watch bound to), is stale and fires nothing, the entry stays; the new
// watch's answer fires the new monitor.  The same for an exact pid.  An
// answer naming no watch (0: a node that does not echo it) is taken as
// before.
static void
test_an_answer_to_an_earlier_watch_is_stale(void **state)
{
	static int peer;
	arb__reg  *reg = reg_new();
	arb_pid    w = up(reg, 1, 1, "root/w");
	arb_pid    s = remote(5, 0), p1 = remote(5, 1), p2 = remote(5, 2);
	uint64_t   ref1, ref2, id1, id2, ref_l;
	arb_exit   noproc = { .kind = ARB_EXIT_NOPROC };

	(void) state;
	// The slot address, watched (bound to p1 there), demonitored...
	ref1 = watch_remote(reg, w, s, &peer);
	id1 = arb__reg_watch_id(reg, s);
	assert_int_equal(id1, ref1);
	unwatch(reg, w, ref1, s);
	assert_int_equal(arb__reg_watch_id(reg, s), 0);
	// ... and monitored again (bound to p2 there): a new watch.
	ref2 = watch_remote(reg, w, s, &peer);
	id2 = arb__reg_watch_id(reg, s);
	assert_int_equal(id2, ref2);
	assert_true(id2 != id1);
	// The first watch's answer arrives now: p1's end, not the new
	// monitor's.
	assert_int_equal(
	    arb__reg_slot_down(reg, p1, id1, &crashed), ARB__REG_ANSWER_STALE);
	assert_int_equal(r.n, 0);
	assert_true(arb__reg_alive(reg, s));
	// The new watch's answer: p2's end fires it, once.
	assert_int_equal(
	    arb__reg_slot_down(reg, p2, id2, &crashed), ARB__REG_ANSWER_DOWN);
	assert_int_equal(fired(1, ref2, p2)->why.kind, ARB_EXIT_CRASHED);
	assert_false(arb__reg_alive(reg, s));
	assert_int_equal(
	    arb__reg_slot_down(reg, p2, id2, &crashed), ARB__REG_ANSWER_NONE);
	// An exact pid: the earlier watch's DOWN is stale too; the new
	// watch's answer (noproc: p2 has ended) fires.
	ref1 = watch_remote(reg, w, p2, &peer);
	id1 = arb__reg_watch_id(reg, p2);
	unwatch(reg, w, ref1, p2);
	ref2 = watch_remote(reg, w, p2, &peer);
	id2 = arb__reg_watch_id(reg, p2);
	assert_true(id1 != 0 && id2 != 0 && id1 != id2);
	assert_int_equal(arb__reg_watch_down(reg, p2, id1, &crashed),
	    ARB__REG_ANSWER_STALE);
	assert_int_equal(r.n, 1);
	assert_int_equal(
	    arb__reg_watch_down(reg, p2, id2, &noproc), ARB__REG_ANSWER_DOWN);
	assert_int_equal(fired(2, ref2, p2)->why.kind, ARB_EXIT_NOPROC);
	// An answer naming no watch: taken as before.
	ref1 = watch_remote(reg, w, s, &peer);
	assert_int_equal(
	    arb__reg_slot_down(reg, p2, 0, &crashed), ARB__REG_ANSWER_DOWN);
	fired(3, ref1, p2);
	// An entry made for a link: a watch id of its own (a ref no monitor
	// gets), kept by a later monitor; only its answer takes it down.
	ARB_PASS(arb__reg_up(reg, p1, "", &ops, &peer));
	ARB_PASS(arb__reg_link(reg, w, p1));
	id1 = arb__reg_watch_id(reg, p1);
	assert_true(id1 != 0 && id1 != ref1 && id1 != ref2);
	ARB_PASS(arb__reg_monitor(reg, w, p1, &ref_l));
	assert_true(ref_l != id1);
	assert_int_equal(arb__reg_watch_id(reg, p1), id1);
	assert_int_equal(arb__reg_watch_down(reg, p1, ref_l, &normal),
	    ARB__REG_ANSWER_STALE);
	assert_int_equal(r.n, 3);
	assert_int_equal(
	    arb__reg_watch_down(reg, p1, id1, &normal), ARB__REG_ANSWER_DOWN);
	fired(4, ref_l, p1);
	// No entry: no watch, nothing to take down.
	assert_int_equal(arb__reg_watch_id(reg, p1), 0);
	assert_int_equal(
	    arb__reg_watch_down(reg, p1, id1, &normal), ARB__REG_ANSWER_NONE);
	arb__reg_close(reg);
}

static void
test_a_topic_is_bounded_and_out_of_memory_changes_nothing(void **state)
{
	arb__reg *reg = reg_new();
	arb_pid   a = up(reg, 1, 1, "root/a"), got;
	uint32_t  i;
	long      n;
	int       told;

	(void) state;
	for (i = 0; i < ARB_TOPIC_SUBS_MAX; i++) {
		ARB_PASS(arb__reg_subscribe(
		    reg, "full", arb__pid_make(ARB__KIND_THREAD, 100 + i, 1)));
	}
	told = r.topics_told;
	ARB_FAIL(arb__reg_subscribe(reg, "full", a), ARB_ENOSPC);
	assert_int_equal(r.topics_told, told);
	assert_int_equal(
	    arb__reg_subscribers(reg, "full", &got, 1), ARB_TOPIC_SUBS_MAX);
	// A new topic whose allocations fail in turn: nothing is left.
	for (n = 1; n <= 3; n++) {
		arb__alloc_fail_after(n);
		if (arb__reg_subscribe(reg, "new", a) == ARB_OK) {
			arb__alloc_fail_after(0);
			break;
		}
		arb__alloc_fail_after(0);
		assert_int_equal(arb__reg_subscribers(reg, "new", &got, 1), 0);
		assert_int_equal(r.topics_told, told);
	}
	assert_true(n <= 3);
	assert_true(has_sub(reg, "new", a));
	arb__reg_close(reg); // frees the topics (ASan: no leak)
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_paths_are_names_that_outlive_the_incarnation),
		cmocka_unit_test(test_a_released_path_stops_resolving),
		cmocka_unit_test(test_register_refuses_a_live_holder_only),
		cmocka_unit_test(test_monitors_fire_down_once_with_the_reason),
		cmocka_unit_test(test_linking_twice_is_one_link),
		cmocka_unit_test(test_an_unbound_entry_is_forgotten),
		cmocka_unit_test(
		    test_monitor_of_a_dead_actor_fires_noproc_at_once),
		cmocka_unit_test(test_a_watcher_that_ends_drops_its_monitors),
		cmocka_unit_test(
		    test_links_signal_abnormal_exits_and_trap_gets_exit),
		cmocka_unit_test(
		    test_a_normal_exit_signals_nobody_but_trappers_hear_it),
		cmocka_unit_test(test_link_to_a_dead_actor),
		cmocka_unit_test(
		    test_trap_exit_asked_during_init_applies_once_up),
		cmocka_unit_test(
		    test_a_lost_peer_takes_its_entries_down_with_noconnection),
		cmocka_unit_test(test_the_running_actors_are_listed),
		cmocka_unit_test(test_out_of_memory_changes_nothing),
		cmocka_unit_test(test_topics_subscribe_once_and_unsubscribe),
		cmocka_unit_test(
		    test_subscriptions_die_with_their_incarnation),
		cmocka_unit_test(
		    test_incarnations_of_another_nodes_actor_have_their_own_entries),
		cmocka_unit_test(
		    test_a_late_down_of_an_ended_incarnation_spares_its_slot),
		cmocka_unit_test(test_an_answer_to_an_earlier_watch_is_stale),
		cmocka_unit_test(
		    test_a_topic_is_bounded_and_out_of_memory_changes_nothing),
	};

	return ARB_TEST_RUN("registry.registry", tests, argc, argv);
}
