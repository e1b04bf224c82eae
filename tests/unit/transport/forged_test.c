// SPDX-License-Identifier: MIT
// forged_test.c -- unit tests for arb__forged_strip (forged.c): what a
// peer node may send in the batches its link brings.
//
// - Envelopes from a pid of the peer (its node id and the incarnation of
//   its HELLO) with ordinary tags, or the agent's and service's reserved
//   tags, are kept, in order, and nothing moves.
// - A `from` written as a bare id (read as this node's pid), as this
//   node's name, as a third node, or as another incarnation of the peer
//   is refused; so is a tag only this node sends (DOWN, EXIT,
//   PEER_LOST, the rest of the in-node range, and past the service's).
//   The envelopes around them stay, in order, and the count shrinks.
// - Bytes the envelope decoder cannot read stay as they are (their
//   reader rejects them as before), after the envelopes kept.
// - A batch of forged envelopes only is emptied.

#include "arb_test.h"

#include "transport/transport.h"

#include <stdlib.h>
#include <string.h>

#define SELF_NODE 0x1111u
#define SELF_CRE  0x2222u
#define PEER_NODE 0x3333u
#define PEER_CRE  0x4444u

static int
setup(void **state)
{
	(void) state;
	arb__local_set(SELF_NODE, SELF_CRE);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	arb__local_set(0, 0);
	return 0;
}

static arb_pid
peer_pid(uint64_t id)
{
	arb_pid p = { .id = id, .node = PEER_NODE, .creation = PEER_CRE };

	return p;
}

// put appends to ch one envelope from `from` to a thread actor of this
// node with tag and a body naming seq, and returns its length.
static size_t
put(arb__chunk **chp, arb_pid from, uint32_t tag, uint8_t seq)
{
	arb_msg m = { 0 };
	size_t  n;

	m.from = from;
	m.to = arb__pid_make(ARB__KIND_THREAD, 5, 1);
	m.tag = tag;
	m.body = &seq;
	m.len = 1;
	ARB_PASS(arb__chunk_grow(chp, arb__codec_size(&m)));
	n = arb__codec_put((*chp)->data + (*chp)->len, &m);
	(*chp)->len += n;
	(*chp)->nenv++;
	return n;
}

// put_wide appends the envelope put would, in another shape the decoder
// takes: an array 16 header and flags as an int 8 (arbor's encoder never
// writes them; a peer may).
static void
put_wide(arb__chunk **chp, arb_pid from, uint32_t tag, uint8_t seq)
{
	arb__chunk *ch = arb__chunk_alloc(16);
	uint8_t     e[4] = { 0xdc, 0x00, 0x07, 0x02 };
	size_t      n;

	assert_non_null(ch);
	n = put(&ch, from, tag, seq);
	assert_int_equal(ch->data[0], 0x97);
	assert_int_equal(ch->data[2], 0x00); // flags 0
	ARB_PASS(arb__chunk_grow(chp, n + 4));
	memcpy((*chp)->data + (*chp)->len, e, 4);
	(*chp)->data[(*chp)->len + 4] = 0xd0;
	memcpy((*chp)->data + (*chp)->len + 5, ch->data + 2, n - 2);
	(*chp)->len += n + 3;
	(*chp)->nenv++;
	arb__chunk_free(ch);
}

// put_bare appends an envelope whose `from` is the bare id (the form of
// a pid of the node the envelope travels in).
static void
put_bare(arb__chunk **chp, uint64_t id, uint8_t seq)
{
	arb__chunk *ch;
	uint8_t     e[64];
	size_t      n = 0;
	int         i;

	e[n++] = 0x97;
	e[n++] = 2;
	e[n++] = 0;
	e[n++] = 0xcf; // from: uint 64
	for (i = 7; i >= 0; i--) {
		e[n++] = (uint8_t) (id >> (8 * i));
	}
	e[n++] = 0x05; // to: a bare id too
	e[n++] = 0x07; // tag
	e[n++] = 0x00; // ref
	e[n++] = 0xc4;
	e[n++] = 1;
	e[n++] = seq;
	ARB_PASS(arb__chunk_grow(chp, n));
	ch = *chp;
	memcpy(ch->data + ch->len, e, n);
	ch->len += n;
	ch->nenv++;
}

// seqs decodes ch (as a mailbox reader does) into the bodies' seq bytes;
// returns how many envelopes it read, *tail whether it met bytes it
// could not read.
static size_t
seqs(const arb__chunk *ch, uint8_t *out, size_t max, bool *tail)
{
	arb__decoder d;
	arb_msg      m;
	size_t       n = 0;
	int          rv;

	arb__decoder_init(&d, ch->data, ch->len, 1 << 20);
	while ((rv = arb__codec_next(&d, &m)) == ARB_OK && n < max) {
		assert_int_equal(m.len, 1);
		out[n++] = m.body[0];
		// Whatever is kept names the peer.
		assert_int_equal(m.from.node, PEER_NODE);
		assert_int_equal(m.from.creation, PEER_CRE);
	}
	*tail = d.failed;
	return n;
}

static void
test_the_peers_own_envelopes_are_kept(void **state)
{
	arb__chunk *ch = arb__chunk_alloc(16);
	arb__forged f = { 0 };
	uint8_t     got[8];
	size_t      len;
	bool        tail;

	(void) state;
	assert_non_null(ch);
	put(&ch, peer_pid(((uint64_t) 1 << 62) | ((uint64_t) 9 << 32) | 3), 7,
	    1);
	put(&ch, peer_pid(((uint64_t) 1 << 62) | ((uint64_t) 1 << 32) | 2),
	    0xFFFF0100u, 2); // the agent's START
	put(&ch, peer_pid((uint64_t) 0x3FFFFFFD << 32), 0xFFFF0205u,
	    3); // the service's SLOT_DOWN
	put(&ch, peer_pid(1), ARB_TAG_SYSTEM - 1, 4);
	len = ch->len;
	assert_int_equal(arb__forged_strip(ch, PEER_NODE, PEER_CRE, &f), 0);
	assert_int_equal(ch->len, len);
	assert_int_equal(ch->nenv, 4);
	assert_int_equal(seqs(ch, got, 8, &tail), 4);
	assert_false(tail);
	assert_memory_equal(got, ((uint8_t[]) { 1, 2, 3, 4 }), 4);
	arb__chunk_free(ch);
}

static void
test_forged_envelopes_are_refused_and_the_rest_kept(void **state)
{
	arb__chunk *ch = arb__chunk_alloc(16);
	arb__forged f = { 0 };
	arb_pid     p;
	uint8_t     got[16];
	bool        tail;

	(void) state;
	assert_non_null(ch);
	put(&ch, peer_pid(1), 7, 1);
	// The node's PEER_LOST notice, from its pid as a bare id: what a
	// `from` of this node looks like inside it.
	put_bare(&ch, 0, 100);
	put(&ch, peer_pid(2), 7, 2);
	// This node's own pid, its name hash and incarnation.
	p.id = ((uint64_t) 1 << 62) | ((uint64_t) 5 << 32) | 1;
	p.node = SELF_NODE;
	p.creation = SELF_CRE;
	put(&ch, p, 7, 101);
	p.creation = 0; // this node, whichever incarnation
	put(&ch, p, ARB__TAG_PEER_LOST, 102);
	p.node = 0x5555u; // a third node
	p.creation = 9;
	put(&ch, p, 7, 103);
	p = peer_pid(3);
	p.creation = PEER_CRE + 1; // another incarnation of the peer
	put(&ch, p, 7, 104);
	p.creation = 0;
	put(&ch, p, 7, 105);
	// Tags only this node sends, from the peer's own pid.
	put(&ch, peer_pid(4), ARB_TAG_DOWN, 106);
	put(&ch, peer_pid(4), ARB_TAG_EXIT, 107);
	put(&ch, peer_pid(4), ARB__TAG_PEER_LOST, 108);
	put(&ch, peer_pid(4), ARB_TAG_SYSTEM, 109);
	put(&ch, peer_pid(4), 0xFFFF00FFu, 110);
	put(&ch, peer_pid(4), 0xFFFF0300u, 111);
	put(&ch, peer_pid(5), 7, 3);
	// Shapes arbor does not write are read as the decoder reads them.
	p.node = SELF_NODE;
	p.creation = SELF_CRE;
	put_wide(&ch, p, 7, 112);
	put_wide(&ch, peer_pid(6), ARB__TAG_PEER_LOST, 113);
	put_wide(&ch, peer_pid(6), 7, 4);
	assert_int_equal(ch->nenv, 18);
	assert_int_equal(arb__forged_strip(ch, PEER_NODE, PEER_CRE, &f), 14);
	assert_int_equal(ch->nenv, 4);
	assert_int_equal(seqs(ch, got, 16, &tail), 4);
	assert_false(tail);
	assert_memory_equal(got, ((uint8_t[]) { 1, 2, 3, 4 }), 4);
	// The first one refused: the bare id, read as this node's pid.
	assert_int_equal(f.from.id, 0);
	assert_int_equal(f.from.node, SELF_NODE);
	assert_int_equal(f.tag, 7);
	assert_string_equal(f.why, "from is not a pid of the peer");
	arb__chunk_free(ch);

	// A batch of forged envelopes only is emptied.
	assert_non_null(ch = arb__chunk_alloc(16));
	put(&ch, peer_pid(4), ARB__TAG_PEER_LOST, 1);
	assert_int_equal(arb__forged_strip(ch, PEER_NODE, PEER_CRE, &f), 1);
	assert_string_equal(f.why, "a tag only this node sends");
	assert_int_equal(f.tag, ARB__TAG_PEER_LOST);
	assert_int_equal(ch->len, 0);
	assert_int_equal(ch->nenv, 0);
	arb__chunk_free(ch);
}

static void
test_an_unreadable_rest_stays_for_the_reader(void **state)
{
	static const uint8_t junk[] = { 0x97, 0x07, 0xc1, 0xc1 };
	arb__chunk          *ch = arb__chunk_alloc(16);
	uint8_t              got[8];
	size_t               at, bare, len;
	bool                 tail;

	(void) state;
	assert_non_null(ch);
	put(&ch, peer_pid(1), 7, 1);
	at = ch->len;
	put_bare(&ch, 0, 100);
	bare = ch->len - at;
	put(&ch, peer_pid(2), 7, 2);
	at = ch->len;
	ARB_PASS(arb__chunk_grow(&ch, sizeof(junk)));
	memcpy(ch->data + ch->len, junk, sizeof(junk));
	ch->len += sizeof(junk);
	// A forged envelope after the junk: no reader ever gets to it.
	put_bare(&ch, 0, 101);
	len = ch->len;
	assert_int_equal(arb__forged_strip(ch, PEER_NODE, PEER_CRE, NULL), 1);
	assert_int_equal(seqs(ch, got, 8, &tail), 2);
	assert_true(tail);
	assert_memory_equal(got, ((uint8_t[]) { 1, 2 }), 2);
	// The junk and what follows it are all still there, moved up by
	// the envelope refused before them.
	assert_int_equal(ch->len, len - bare);
	assert_memory_equal(ch->data + at - bare, junk, sizeof(junk));
	arb__chunk_free(ch);
}

// Every cut of a batch of kept and forged envelopes (the decoder's
// shapes too): the strip reads nothing outside the batch (ASan), keeps
// every whole envelope of the peer before the cut, and leaves the cut
// one for the reader to reject.
static void
test_a_batch_cut_anywhere(void **state)
{
	arb__chunk *full = arb__chunk_alloc(16), *ch;
	size_t      ends[8], k, i, whole;
	bool        peer[8], tail;
	uint8_t     got[8];
	arb_pid     self = arb__pid_make(ARB__KIND_THREAD, 5, 1);
	int         e = 0;

	(void) state;
	assert_non_null(full);
	put(&full, peer_pid(1), 7, 1);
	peer[e] = true, ends[e++] = full->len;
	put_bare(&full, 0, 100);
	peer[e] = false, ends[e++] = full->len;
	put_wide(&full, peer_pid(2), 7, 2);
	peer[e] = true, ends[e++] = full->len;
	put_wide(&full, self, 7, 101);
	peer[e] = false, ends[e++] = full->len;
	put(&full, peer_pid(3), 7, 3);
	peer[e] = true, ends[e++] = full->len;
	for (k = 0; k <= full->len; k++) {
		assert_non_null(ch = arb__chunk_alloc(k > 0 ? k : 1));
		memcpy(ch->data, full->data, k);
		ch->len = k;
		ch->nenv = (uint32_t) e;
		(void) arb__forged_strip(ch, PEER_NODE, PEER_CRE, NULL);
		for (i = 0, whole = 0; i < (size_t) e && ends[i] <= k; i++) {
			whole += peer[i];
		}
		assert_int_equal(seqs(ch, got, 8, &tail), whole);
		assert_int_equal(
		    tail, i < (size_t) e && k > (i > 0 ? ends[i - 1] : 0));
		arb__chunk_free(ch);
	}
	arb__chunk_free(full);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_the_peers_own_envelopes_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forged_envelopes_are_refused_and_the_rest_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_unreadable_rest_stays_for_the_reader, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_batch_cut_anywhere, setup, teardown),
	};

	return ARB_TEST_RUN("transport.forged", tests, argc, argv);
}
