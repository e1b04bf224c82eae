// SPDX-License-Identifier: MIT
// mbox_test.c -- unit tests for emptying a mailbox (mbox.c), with no
// loop attached: arb__mbox_drop (an exiting process counts what it held
// as dead letters), arb__mbox_close, and arb__mbox_take (a slot nothing
// will read again hands its batches over to be answered).
//
// - Each empties the queue and gives back what it held (drop and close:
//   the envelopes; take: the batches), takes them off the published
//   count and wakes the producers refused for room; the mailbox takes
//   puts again, unless closed.
// - take also resumes a link that was told to PAUSE the mailbox; drop
//   does not.
// - A paused attachment delivers nothing (and resumes no link); unpaused
//   it delivers what came meanwhile and resumes the link as it drains.

#include "arb_test.h"

#include "transport/transport.h"

#include <event2/event.h>
#include <stdlib.h>

#define MBID  7
#define CHUNK (64 * 1024)
#define NENV  3

static int resumed; // the mbid the last resume named, 0: none

static void
on_resume(uint32_t mbid)
{
	resumed = (int) mbid;
}

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(*(int *) arg)++;
}

typedef struct fix {
	struct event_base *base;
	struct event      *waiter;
	int                woken;
	arb__mbox         *mb;
	_Atomic uint64_t   pub; // the published count of envelopes queued
} fix;

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	f->waiter = event_new(f->base, -1, 0, count_cb, &f->woken);
	assert_non_null(f->waiter);
	ARB_PASS(arb__mbox_new(&f->mb, MBID, on_resume));
	arb__mbox_publish(f->mb, &f->pub);
	resumed = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	arb__mbox_rele(f->mb); // frees what is still queued
	event_free(f->waiter);
	event_base_free(f->base);
	free(f);
	return 0;
}

static arb__chunk *
chunk(void)
{
	arb__chunk *ch = arb__chunk_alloc(CHUNK);

	assert_non_null(ch);
	ch->len = CHUNK;
	ch->nenv = NENV;
	return ch;
}

// fill puts chunks until the mailbox refuses one for room (f's waiter is
// then registered) and returns how many it took.
static int
fill(fix *f)
{
	arb__chunk *ch;
	int         n, rv;

	for (n = 0;; n++) {
		ch = chunk();
		if ((rv = arb__mbox_put(f->mb, ch, f->waiter)) != ARB_OK) {
			arb__chunk_free(ch);
			break;
		}
	}
	ARB_FAIL(rv, ARB_EAGAIN);
	assert_true(n > 0);
	assert_int_equal(atomic_load(&f->pub), (uint64_t) n * NENV);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->woken, 0);
	return n;
}

static void
test_drop_and_close_give_back_what_was_held(void **state)
{
	fix        *f = *state;
	int         n = fill(f);
	arb__chunk *ch;

	assert_int_equal(arb__mbox_drop(f->mb), (size_t) n * NENV);
	assert_int_equal(atomic_load(&f->pub), 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->woken, 1);
	assert_int_equal(arb__mbox_drop(f->mb), 0);
	assert_int_equal(resumed, 0);
	// Room again; a close then drops that one and refuses the next.
	ARB_PASS(arb__mbox_put(f->mb, chunk(), NULL));
	assert_int_equal(atomic_load(&f->pub), NENV);
	assert_int_equal(arb__mbox_close(f->mb), NENV);
	assert_int_equal(atomic_load(&f->pub), 0);
	ch = chunk();
	ARB_FAIL(arb__mbox_put(f->mb, ch, NULL), ARB_ENOENT);
	arb__chunk_free(ch);
}

static void
test_take_hands_over_the_batches_and_resumes_a_paused_link(void **state)
{
	fix          *f = *state;
	int           n = fill(f), got = 0;
	arb__tp_stats st = { 0 };
	arb__chunk   *list, *ch, *next;
	uint64_t      nenv = 0;

	// A link's batch over the high-water mark: that link is PAUSEd.
	assert_true(arb__mbox_put_link(f->mb, chunk(), &st, NULL));
	n++;
	list = arb__mbox_take(f->mb, false);
	for (ch = list; ch != NULL; ch = next) {
		next = ch->next;
		got++;
		nenv += ch->nenv;
		arb__chunk_free(ch);
	}
	assert_int_equal(got, n);
	assert_int_equal(nenv, (uint64_t) n * NENV);
	assert_int_equal(atomic_load(&f->pub), 0);
	assert_int_equal(resumed, MBID);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->woken, 1);
	assert_null(arb__mbox_take(f->mb, false));
	// Not closed: it takes puts; with close, no more.
	ARB_PASS(arb__mbox_put(f->mb, chunk(), NULL));
	list = arb__mbox_take(f->mb, true);
	assert_non_null(list);
	assert_null(list->next);
	arb__chunk_free(list);
	ch = chunk();
	ARB_FAIL(arb__mbox_put(f->mb, ch, NULL), ARB_ENOENT);
	arb__chunk_free(ch);
	assert_int_equal(atomic_load(&f->pub), 0);
}

// A sealed mailbox (its slot closed, arb__slot_close) gives back what
// it held, wakes the producers refused for room, and refuses every later
// put: a sender's with ARB_ENOENT (its outbound queue answers a request
// noproc), a link's is not taken (route.c hands it to the noproc
// mailbox); unsealed (a new incarnation), it takes puts again.
static void
test_seal_refuses_puts_until_unsealed(void **state)
{
	fix          *f = *state;
	int           n = fill(f), got = 0;
	arb__tp_stats st = { 0 };
	arb__chunk   *list, *ch, *next;
	bool          sealed = false;

	list = arb__mbox_seal(f->mb, true);
	for (ch = list; ch != NULL; ch = next) {
		next = ch->next;
		got++;
		arb__chunk_free(ch);
	}
	assert_int_equal(got, n);
	assert_int_equal(atomic_load(&f->pub), 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->woken, 1);
	ch = chunk();
	ARB_FAIL(arb__mbox_put(f->mb, ch, f->waiter), ARB_ENOENT);
	assert_false(arb__mbox_put_link(f->mb, ch, &st, &sealed));
	assert_true(sealed);
	assert_int_equal(atomic_load(&st.dead), 0); // not taken, not counted
	assert_int_equal(atomic_load(&f->pub), 0);
	assert_null(arb__mbox_seal(f->mb, false));
	ARB_PASS(arb__mbox_put(f->mb, ch, NULL));
	assert_false(arb__mbox_put_link(f->mb, chunk(), &st, &sealed));
	assert_false(sealed);
	assert_int_equal(atomic_load(&f->pub), 2 * NENV);
}

static void
batch_cb(void *arg, const void *data, size_t len)
{
	(void) data;
	(void) len;
	(*(int *) arg)++;
}

// A paused attachment delivers nothing and resumes no link however full
// its mailbox; unpaused (the node's names mailbox once everything it held
// for a busy actor was taken, nodembox.c), it delivers what came
// meanwhile and resumes the link it paused as it drains.
static void
test_unpause_delivers_what_came_and_resumes_the_link(void **state)
{
	fix           *f = *state;
	arb__mbox_att *att;
	arb__tp_stats  st = { 0 };
	int            got = 0, n = 1, i;

	ARB_PASS(arb__mbox_attach(f->mb, f->base, batch_cb, NULL, &got, &att));
	arb__mbox_pause(att);
	// Links' batches until one passes the high-water mark (PAUSE).
	while (!arb__mbox_put_link(f->mb, chunk(), &st, NULL)) {
		n++;
	}
	for (i = 0; i < 3; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(got, 0);
	assert_int_equal(resumed, 0);
	arb__mbox_unpause(att);
	for (i = 0; i < 10 && got < n; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(got, n);
	assert_int_equal(resumed, MBID);
	assert_int_equal(atomic_load(&f->pub), 0);
	arb__mbox_detach(att);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_drop_and_close_give_back_what_was_held, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_take_hands_over_the_batches_and_resumes_a_paused_link,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_seal_refuses_puts_until_unsealed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unpause_delivers_what_came_and_resumes_the_link,
		    setup, teardown),
	};

	return ARB_TEST_RUN("transport.mbox", tests, argc, argv);
}
