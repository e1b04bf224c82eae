// SPDX-License-Identifier: MIT
// route_test.c -- unit tests for route.c and mbox.c: one process's
// transport (its listener, its mailboxes, the table of child slots) over
// a real ipc listener, driven by a raw link peer (tests/support/linkpeer).
//
// Each test opens the transport as a process actor of a made-up node
// (slot table file prepared by the test, as the node would) or as the
// node itself, and closes it again: one transport per process at a time.

#include "arb_test.h"

#include "linkpeer.h"
#include "transport/transport.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SLOTS_LEN ((size_t) (1u << 20) * 8)
#define PEERS_OFF (SLOTS_LEN + (size_t) (1u << 20) * 256) // + records
#define FILE_LEN  (PEERS_OFF + 4096) // + the peers' words

typedef struct fix {
	char               dir[128];
	arb__addr          a;
	lp_node            n;
	uint64_t          *slots; // the node's view (read-write)
	uint64_t          *peers; // its peers' words (read-write)
	struct event_base *base;
	int                got;  // batches delivered
	int                envs; // envelopes in them
	char               last[64];
	uint32_t           flags; // the last envelope's
	uint64_t           ref;
	int                noproc; // requests the noproc mailbox got
	uint64_t           noproc_ref;
} fix;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));
	char path[200];
	int  fd;

	assert_non_null(f);
	arb_test_mkdtemp(f->dir, sizeof(f->dir), "route");
	snprintf(f->a.run_dir, sizeof(f->a.run_dir), "%s", f->dir);
	snprintf(f->a.node, sizeof(f->a.node), "rt");
	f->a.node_id = arb__node_id("rt");
	f->a.creation = 77;
	f->n.node_id = f->a.node_id;
	f->n.creation = f->a.creation;
	snprintf(f->n.name, sizeof(f->n.name), "rt");
	snprintf(f->n.run_dir, sizeof(f->n.run_dir), "%s", f->dir);
	// The node's table of child slots, as arb__tp_open makes it.
	snprintf(path, sizeof(path), "%s/slots", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t) FILE_LEN), 0);
	f->slots
	    = mmap(NULL, SLOTS_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	f->peers = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t) PEERS_OFF);
	close(fd);
	assert_true(f->slots != MAP_FAILED);
	assert_true(f->peers != MAP_FAILED);
	evthread_use_pthreads();
	f->base = event_base_new();
	arb__local_set(f->a.node_id, f->a.creation);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	arb__tp_close();
	munmap(f->slots, SLOTS_LEN);
	munmap(f->peers, 4096);
	event_base_free(f->base);
	assert_int_equal(arb_test_rmtree(f->dir), 0);
	arb__local_set(0, 0);
	free(f);
	return 0;
}

// slot_actor marks mbid as a process actor's slot run by incarnation inc
// (the node's word: state 1, kind, incarnation).
static void
slot_actor(fix *f, uint32_t mbid, unsigned kind, uint32_t inc)
{
	f->slots[mbid] = (1ull << 62) | ((uint64_t) kind << 60) | inc;
}

static void
on_batch(void *arg, const void *data, size_t len)
{
	fix         *f = arg;
	arb__decoder d;
	arb_msg      m;

	f->got++;
	arb__decoder_init(&d, data, len, 1 << 20);
	while (arb__codec_next(&d, &m) == ARB_OK) {
		f->envs++;
		f->flags = m.flags;
		f->ref = m.ref;
		snprintf(f->last, sizeof(f->last), "%.*s", (int) m.len,
		    (const char *) m.body);
	}
}

// one_env encodes one envelope to `to` with body text.
static size_t
one_env(uint8_t *buf, arb_pid to, const char *text)
{
	arb_msg m = { 0 };

	m.to = to;
	m.from = arb__pid_make(ARB__KIND_THREAD, 1, 1);
	m.tag = 5;
	m.body = (const uint8_t *) text;
	m.len = strlen(text);
	return arb__codec_put(buf, &m);
}

static void
run_until(fix *f, int want, int ms)
{
	int64_t dl = mono_ms() + ms;

	while (f->got < want) {
		assert_true(mono_ms() < dl);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
}

// A process listens before its actor opens the mailbox: a sender that is
// already there (it reconnects to a restarted process at once) must not
// lose what it sends in between.
static void
test_frames_before_the_mailbox_opens_are_kept(void **state)
{
	fix           *f = *state;
	arb_pid        self = arb__pid_make(ARB__KIND_PROCESS, 9, 3);
	arb__mbox     *mb;
	arb__mbox_att *att;
	arb__tp_totals t;
	char           sock[300];
	uint8_t        b[512], env[256];
	size_t         n;
	int            fd;

	slot_actor(f, 9, ARB__KIND_PROCESS, 3);
	ARB_PASS(arb__tp_open(&f->a, self, 1 << 20));
	snprintf(sock, sizeof(sock), "%s/9.link", f->dir);
	fd = lp_connect(sock);
	assert_true(fd >= 0);
	n = lp_hello(b, &f->n, 1);
	assert_true(lp_write(fd, b, n));
	n = one_env(env, arb_pid_slot(self), "early");
	assert_true(lp_send_data(fd, 9, 1, 1, 0, env, n));
	// Wait for the HELLO reply and the ACK of that frame: it was taken.
	{
		long r = lp_read_frame(fd, b, sizeof(b), 5000);
		assert_true(r > 0 && b[4] == 1);
		r = lp_read_frame(fd, b, sizeof(b), 5000);
		assert_true(r == 16 && b[4] == 3);
		assert_int_equal(lp_get64(b + 8), 1);
	}
	arb__tp_stats_get(&t);
	assert_int_equal(t.dead, 0);
	// Only now does the actor open its mailbox: the batch waits there.
	ARB_PASS(arb__mbox_open(&mb, 9));
	ARB_PASS(arb__mbox_attach(mb, f->base, on_batch, NULL, f, &att));
	run_until(f, 1, 5000);
	assert_int_equal(f->envs, 1);
	assert_string_equal(f->last, "early");
	close(fd);
	arb__mbox_detach(att);
	arb__mbox_rele(mb);
}

// Frames for a mailbox this process does not host are dead letters of
// the receiving side, counted; the link stays up.
static void
test_frames_for_another_mailbox_are_counted(void **state)
{
	fix           *f = *state;
	arb_pid        self = arb__pid_make(ARB__KIND_PROCESS, 9, 3);
	arb__tp_totals t;
	char           sock[300];
	uint8_t        b[512], env[256];
	size_t         n;
	int            fd;
	int64_t        dl;

	slot_actor(f, 9, ARB__KIND_PROCESS, 3);
	ARB_PASS(arb__tp_open(&f->a, self, 1 << 20));
	snprintf(sock, sizeof(sock), "%s/9.link", f->dir);
	fd = lp_connect(sock);
	assert_true(fd >= 0);
	n = lp_hello(b, &f->n, 1);
	assert_true(lp_write(fd, b, n));
	n = one_env(env, arb__pid_make(ARB__KIND_PROCESS, 12, 1), "stray");
	assert_true(lp_send_data(fd, 12, 1, 1, 0, env, n));
	dl = mono_ms() + 5000;
	do {
		arb__tp_stats_get(&t);
		assert_true(mono_ms() < dl);
		poll(NULL, 0, 1);
	} while (t.dead == 0);
	assert_int_equal(t.dead, 1);
	assert_int_equal(t.bad_frames, 0);
	close(fd);
}

// A peer of another node (or of an earlier run of this one) is refused
// at its HELLO and counted.
static void
test_hello_of_another_node_is_refused(void **state)
{
	fix           *f = *state;
	arb_pid        self = arb__pid_make(ARB__KIND_PROCESS, 9, 3);
	arb__tp_totals t;
	lp_node        other = f->n;
	char           sock[300];
	uint8_t        b[512];
	size_t         n;
	int            fd;

	slot_actor(f, 9, ARB__KIND_PROCESS, 3);
	ARB_PASS(arb__tp_open(&f->a, self, 1 << 20));
	snprintf(sock, sizeof(sock), "%s/9.link", f->dir);
	other.creation = f->n.creation + 1; // the node restarted since
	fd = lp_connect(sock);
	assert_true(fd >= 0);
	n = lp_hello(b, &other, 1);
	assert_true(lp_write(fd, b, n));
	assert_true(lp_wait_eof(fd, 5000));
	close(fd);
	arb__tp_stats_get(&t);
	assert_int_equal(t.refused, 1);
	assert_int_equal(t.conns, 0);
}

// ARB_ENOENT from the table of child slots: never existed, removed,
// another kind, an incarnation that has ended; a slot address while no
// incarnation runs is fine (it waits for the next).
static void
test_slot_checks(void **state)
{
	fix    *f = *state;
	arb_pid self = arb__pid_make(ARB__KIND_PROCESS, 9, 3);
	arb_pid t5 = arb__pid_make(ARB__KIND_THREAD, 5, 4);

	slot_actor(f, 9, ARB__KIND_PROCESS, 3);
	ARB_PASS(arb__tp_open(&f->a, self, 1 << 20));
	ARB_FAIL(arb__slot_check(t5), ARB_ENOENT); // never existed
	slot_actor(f, 5, ARB__KIND_THREAD, 4);
	ARB_PASS(arb__slot_check(t5));
	ARB_PASS(arb__slot_check(arb_pid_slot(t5)));
	ARB_FAIL(arb__slot_check(arb__pid_make(ARB__KIND_PROCESS, 5, 4)),
	    ARB_ENOENT);                       // the slot holds a thread actor
	slot_actor(f, 5, ARB__KIND_THREAD, 0); // it exited
	ARB_FAIL(arb__slot_check(t5), ARB_ENOENT);
	ARB_PASS(arb__slot_check(arb_pid_slot(t5)));
	slot_actor(f, 5, ARB__KIND_THREAD, 6); // restarted
	ARB_FAIL(arb__slot_check(t5), ARB_ENOENT);
	ARB_PASS(arb__slot_check(arb__pid_make(ARB__KIND_THREAD, 5, 6)));
	f->slots[5] = 2ull << 62; // removed
	ARB_FAIL(arb__slot_check(arb_pid_slot(t5)), ARB_ENOENT);
	f->slots[6] = (3ull << 62) | ((uint64_t) ARB__KIND_EXEC << 60);
	ARB_FAIL(arb__slot_check(arb__pid_make(ARB__KIND_EXEC, 6, 1)),
	    ARB_ENOENT); // an exec child has no mailbox
	ARB_FAIL(arb__slot_check(arb__pid_make(ARB__KIND_NODE, 0, 0)),
	    ARB_ENOENT); // nor has the node
	// Another node's pid, in a process actor: accepted while the node's
	// word for that peer says it is up in that incarnation (or creation
	// 0), its batches going to the node's relay mailbox; a node that is
	// no peer, one that is down or an ended incarnation: ARB_ENOENT.  A
	// pid of this node names its own mailbox.
	{
		arb_pid  remote = arb__pid_make(ARB__KIND_THREAD, 5, 6);
		uint64_t id = arb__node_id("elsewhere");

		remote.node = (uint32_t) id;
		remote.creation = 41;
		ARB_FAIL(arb__slot_check(remote), ARB_ENOENT); // no peer
		f->peers[3] = id << 32; // a peer, down
		ARB_FAIL(arb__slot_check(remote), ARB_ENOENT);
		f->peers[3] = (id << 32) | 41; // up
		ARB_PASS(arb__slot_check(remote));
		f->peers[3] = (id << 32) | 42; // up again, restarted
		ARB_FAIL(arb__slot_check(remote), ARB_ENOENT);
		remote.creation = 0; // whichever incarnation runs
		ARB_PASS(arb__slot_check(remote));
		assert_int_equal(arb__route_dst(remote), ARB__MBID_RELAY);
		assert_int_equal(arb__route_dst(t5), 5);
	}
}

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(*(int *) arg)++;
}

// A mailbox over its high-water mark refuses a local batch and wakes the
// refused producer once it drains; an attachment that was replaced
// neither receives nor pauses the new one.
static void
test_mailbox_full_then_drained_wakes_the_producer(void **state)
{
	fix               *f = *state;
	arb_pid            node = arb__pid_make(ARB__KIND_NODE, 0, 0);
	arb__mbox         *mb;
	arb__mbox_att     *old, *att;
	struct event_base *other = event_base_new();
	struct event      *waiter;
	arb__chunk        *ch;
	int                woken = 0, i, rv = ARB_OK;

	f->a.in_node = true;
	ARB_PASS(arb__tp_open(&f->a, node, 1 << 20));
	arb__slot_new(4, ARB__KIND_THREAD);
	ARB_PASS(arb__mbox_open(&mb, 4));
	waiter = event_new(f->base, -1, 0, count_cb, &woken);
	assert_non_null(waiter);
	for (i = 0; i < 100; i++) {
		ch = arb__chunk_alloc(64 * 1024);
		ch->len = 64 * 1024;
		ch->nenv = 1;
		if ((rv = arb__mbox_put(mb, ch, waiter)) != ARB_OK) {
			arb__chunk_free(ch);
			break;
		}
	}
	ARB_FAIL(rv, ARB_EAGAIN);
	assert_int_equal(i, 16); // 1 MiB queued, then refused
	// An old attachment replaced by a new one: only the new delivers.
	ARB_PASS(arb__mbox_attach(mb, other, on_batch, NULL, f, &old));
	ARB_PASS(arb__mbox_attach(mb, f->base, on_batch, NULL, f, &att));
	arb__mbox_pause(old); // the old holder pausing changes nothing
	event_base_loop(other, EVLOOP_NONBLOCK);
	assert_int_equal(f->got, 0);
	run_until(f, i, 5000);
	// Drained below the low-water mark: the refused producer was woken.
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(woken, 1);
	arb__mbox_detach(old);
	assert_int_equal(arb__mbox_drop(mb), 0);
	// Removing the slot closes its mailbox: puts then give ENOENT.
	ch = arb__chunk_alloc(8);
	ch->len = 8;
	assert_int_equal(arb__slot_remove(4), 0);
	ARB_FAIL(arb__mbox_put(mb, ch, NULL), ARB_ENOENT);
	arb__chunk_free(ch);
	arb__mbox_detach(att);
	arb__mbox_rele(mb);
	event_free(waiter);
	event_base_free(other);
}

static void
on_noproc(void *arg, const void *data, size_t len)
{
	fix         *f = arg;
	arb__decoder d;
	arb_msg      m;

	arb__decoder_init(&d, data, len, 1 << 20);
	while (arb__codec_next(&d, &m) == ARB_OK) {
		if ((m.flags & ARB__F_REQUEST) != 0) {
			f->noproc++;
			f->noproc_ref = m.ref;
		}
	}
}

// push_request queues a request from `from` to `to` with ref on q.
static void
push_request(arb__outq *q, arb_pid from, arb_pid to, uint64_t ref)
{
	arb_msg m = { 0 };

	m.to = to;
	m.from = from;
	m.tag = 5;
	m.ref = ref;
	m.flags = ARB__F_REQUEST;
	m.body = (const uint8_t *) "hi";
	m.len = 2;
	ARB_PASS(arb__outq_push(q, &m));
}

// wait_answer runs the loop until the caller's mailbox got the answer to
// request ref: a noproc reply (ARB_ENOENT, exit noproc for the caller).
static void
wait_answer(fix *f, uint64_t ref)
{
	int64_t dl = mono_ms() + 2000;

	while (f->ref != ref) {
		assert_true(mono_ms() < dl);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	assert_int_equal(
	    f->flags, ARB__F_REPLY | ARB__F_ERROR | ARB__F_NOPROC);
}

// wait_noproc runs the loop until the node's noproc mailbox got request
// ref.
static void
wait_noproc(fix *f, uint64_t ref)
{
	int64_t dl = mono_ms() + 2000;

	while (f->noproc_ref != ref) {
		assert_true(mono_ms() < dl);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
}

// Requests that a sender's outbound queue or a link's queue holds when
// their destination goes for good are answered at once, not left to the
// caller's timeout: a removed thread actor's mailbox, a slot closed
// after the request passed its sender's check (the mailbox is sealed),
// both answered by the sender's queue (outq.c); a removed or closed
// process actor's link hands what it held to the node's noproc mailbox
// (route.c), which answers it.
static void
test_requests_that_reach_no_actor_are_answered(void **state)
{
	fix           *f = *state;
	arb_pid        node = arb__pid_make(ARB__KIND_NODE, 0, 0);
	arb_pid        caller = arb__pid_make(ARB__KIND_THREAD, 3, 1);
	arb__mbox     *mb3, *mb4, *nb;
	arb__mbox_att *a3, *an;
	arb__outq     *q;
	arb__chunk    *ch;
	int            i, rv = ARB_OK;

	f->a.in_node = true;
	ARB_PASS(arb__tp_open(&f->a, node, 1 << 20));
	for (i = 3; i <= 5; i++) {
		arb__slot_new((uint32_t) i, ARB__KIND_THREAD);
		arb__slot_run((uint32_t) i, 1);
	}
	arb__slot_new(9, ARB__KIND_PROCESS);
	arb__slot_run(9, 1);
	ARB_PASS(arb__mbox_open(&mb3, 3));
	ARB_PASS(arb__mbox_attach(mb3, f->base, on_batch, NULL, f, &a3));
	ARB_PASS(arb__mbox_open(&nb, ARB__MBID_NOPROC));
	ARB_PASS(arb__mbox_attach(nb, f->base, on_noproc, NULL, f, &an));
	ARB_PASS(arb__outq_open(&q, f->base, 1 << 20));
	// Removed while the request waits in the sender's queue (the
	// mailbox full): answered by that queue.
	ARB_PASS(arb__mbox_open(&mb4, 4));
	for (i = 0; i < 100 && rv == ARB_OK; i++) {
		ch = arb__chunk_alloc(64 * 1024);
		ch->len = 64 * 1024;
		if ((rv = arb__mbox_put(mb4, ch, NULL)) != ARB_OK) {
			arb__chunk_free(ch);
		}
	}
	ARB_FAIL(rv, ARB_EAGAIN);
	push_request(q, caller, arb__pid_make(ARB__KIND_THREAD, 4, 0), 11);
	arb__outq_flush(q);
	assert_false(arb__outq_idle(q)); // refused: it waits
	(void) arb__slot_remove(4);
	wait_answer(f, 11);
	// Its check passed, then the slot closed (no incarnation will run
	// there) before the queue handed it on: the sealed mailbox refuses
	// it and the queue answers it.
	push_request(q, caller, arb__pid_make(ARB__KIND_THREAD, 5, 0), 12);
	arb__slot_close(5);
	wait_answer(f, 12);
	// Reopened by a new incarnation: it takes requests again.
	arb__slot_run(5, 2);
	push_request(q, caller, arb__pid_make(ARB__KIND_THREAD, 5, 0), 14);
	arb__outq_flush(q);
	assert_true(arb__outq_idle(q));
	// Queued on the link to a process actor (nobody listens) that is
	// removed: the node's noproc mailbox gets it to answer.
	push_request(q, caller, arb__pid_make(ARB__KIND_PROCESS, 9, 0), 13);
	arb__outq_flush(q);
	(void) arb__slot_remove(9);
	wait_noproc(f, 13);
	// The same when its slot is closed (a transient process child that
	// ended normally): its link gives up what it queued.  Once an
	// incarnation runs there again the link takes requests again: the
	// next one is queued there, not answered by the sender's queue (a
	// second close hands it to the noproc mailbox too).
	arb__slot_new(10, ARB__KIND_PROCESS);
	arb__slot_run(10, 1);
	push_request(q, caller, arb__pid_make(ARB__KIND_PROCESS, 10, 0), 15);
	arb__outq_flush(q);
	arb__slot_close(10);
	wait_noproc(f, 15);
	arb__slot_run(10, 2);
	push_request(q, caller, arb__pid_make(ARB__KIND_PROCESS, 10, 0), 16);
	arb__outq_flush(q);
	assert_true(arb__outq_idle(q));
	arb__slot_close(10);
	wait_noproc(f, 16);
	assert_int_not_equal(f->ref, 16);
	arb__outq_close(q);
	arb__mbox_detach(a3);
	arb__mbox_detach(an);
	arb__mbox_rele(mb3);
	arb__mbox_rele(mb4);
	arb__mbox_rele(nb);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_frames_before_the_mailbox_opens_are_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_frames_for_another_mailbox_are_counted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_hello_of_another_node_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_slot_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mailbox_full_then_drained_wakes_the_producer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_requests_that_reach_no_actor_are_answered, setup,
		    teardown),
	};

	return ARB_TEST_RUN("transport.route", tests, argc, argv);
}
