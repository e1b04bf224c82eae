// SPDX-License-Identifier: MIT
// ctl_test.c -- unit tests for ctl.c: the control channel between a node
// and a process actor, in msgpack.
//
// Every op round-trips with its fields at their bounds; each direction
// refuses the other's ops; every kind of malformed field is rejected;
// every prefix of every message is rejected, and every byte of every
// message replaced by hostile values either is rejected or decodes to
// fields inside their ranges; a seeded garbage loop; the OOM path; and
// datagrams over a real socketpair (oversized ones discarded, EOF seen).
// Decoder inputs are heap copies of their exact size, so ASan catches
// any read past the end.

#include "arb_test.h"

#include "actor/ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// splitmix64: a small, seeded, deterministic generator.
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

// decode_exact decodes a heap copy of exactly n bytes.
static int
decode_exact(arb__ctl_msg *m, const void *p, size_t n, arb__ctl_dir dir)
{
	uint8_t *copy = malloc(n > 0 ? n : 1);
	int      rv;

	assert_non_null(copy);
	if (n > 0) {
		memcpy(copy, p, n);
	}
	rv = arb__ctl_decode(m, copy, n, dir);
	free(copy);
	return rv;
}

static void
fill(char *s, size_t cap, char c)
{
	memset(s, c, cap - 1);
	s[cap - 1] = '\0';
}

static uint8_t arg_max[ARB__REQ_ARG_MAX];
static uint8_t list_max[ARB_TOPIC_SUBS_MAX * 8];

// sample_msgs builds one message of every op, fields at their bounds.
// Returns how many; to[i] tells the direction of each.
static size_t
sample_msgs(arb__ctl_msg *m, arb__ctl_dir *to, size_t cap)
{
	size_t k = 0;
	size_t i;

	assert_true(cap >= 24);
	for (i = 0; i < sizeof(arg_max); i++) {
		arg_max[i] = (uint8_t) i;
	}
	for (i = 0; i < sizeof(list_max); i++) {
		list_max[i] = (uint8_t) (i * 7);
	}
	memset(m, 0, cap * sizeof(*m));
	// INIT with everything at its largest.
	m[k].op           = ARB__CTL_INIT;
	m[k].init.pid     = arb__pid_make(ARB__KIND_PROCESS, 0x3FFFFFFF,
	        UINT32_MAX);
	m[k].init.max_msg = UINT32_MAX;
	m[k].init.hb_ms   = ARB__HB_MS;
	m[k].init.log_level = ARB_LOG_DEBUG;
	fill(m[k].init.path, sizeof(m[k].init.path), 'p');
	fill(m[k].init.type, sizeof(m[k].init.type), 't');
	fill(m[k].init.addr.run_dir, sizeof(m[k].init.addr.run_dir), 'r');
	fill(m[k].init.addr.node, sizeof(m[k].init.addr.node), 'k');
	m[k].init.addr.node_id  = UINT32_MAX;
	m[k].init.addr.creation = UINT32_MAX;
	m[k].init.arg     = arg_max;
	m[k].init.arg_len = sizeof(arg_max);
	to[k++]           = ARB__CTL_TO_ACTOR;
	// INIT at its smallest.
	m[k].op           = ARB__CTL_INIT;
	m[k].init.pid     = arb__pid_make(ARB__KIND_PROCESS, 1, 1);
	m[k].init.max_msg = 1;
	m[k].init.hb_ms   = 1;
	m[k].init.log_level = ARB_LOG_ERROR;
	strcpy(m[k].init.path, "r");
	strcpy(m[k].init.type, "t");
	strcpy(m[k].init.addr.run_dir, "/");
	strcpy(m[k].init.addr.node, "n");
	m[k].init.addr.node_id  = 1;
	m[k].init.addr.creation = 1;
	to[k++] = ARB__CTL_TO_ACTOR;
	m[k].op = ARB__CTL_STOP;
	to[k++] = ARB__CTL_TO_ACTOR;
	m[k].op        = ARB__CTL_KILLSIG;
	m[k].exit.kind = ARB_EXIT_NOPROC;
	m[k].exit.code = INT_MIN;
	fill(m[k].exit.text, sizeof(m[k].exit.text), 'x');
	to[k++]       = ARB__CTL_TO_ACTOR;
	m[k].op       = ARB__CTL_REP;
	m[k].req.rv   = INT_MAX;
	m[k].req.pid  = (arb_pid) { .id = UINT64_MAX };
	m[k].req.ref  = UINT64_MAX;
	to[k++]       = ARB__CTL_TO_ACTOR;
	m[k].op       = ARB__CTL_REP;
	to[k++]       = ARB__CTL_TO_ACTOR;
	// A list of subscribers, at its largest.
	m[k].op       = ARB__CTL_REP;
	m[k].req.ref  = 7;
	m[k].req.list = list_max;
	m[k].req.nlist = ARB_TOPIC_SUBS_MAX;
	to[k++]       = ARB__CTL_TO_ACTOR;
	m[k].op       = ARB__CTL_READY;
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_IGNORE;
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op        = ARB__CTL_FAIL;
	m[k].exit.kind = ARB_EXIT_ERROR;
	m[k].exit.code = -1;
	strcpy(m[k].exit.text, "init: boom");
	to[k++]        = ARB__CTL_TO_NODE;
	m[k].op        = ARB__CTL_EXIT;
	m[k].exit.kind = ARB_EXIT_CRASHED;
	m[k].exit.code = INT_MAX;
	to[k++]        = ARB__CTL_TO_NODE;
	m[k].op        = ARB__CTL_HB;
	m[k].stats     = (arb_stats) { 1, UINT64_MAX, 3, 4, 5, 6, 7, 8, 9, 10,
		11, 12 };
	to[k++]        = ARB__CTL_TO_NODE;
	m[k].op          = ARB__CTL_HB;
	m[k].stats       = (arb_stats) { 0 };
	m[k].metrics     = "\x91\x90"; // any bytes: the node decodes later
	m[k].metrics_len = 2;
	to[k++]          = ARB__CTL_TO_NODE;
	// One request of every op.
	m[k].op     = ARB__CTL_REQ;
	m[k].req.op = ARB__REQ_REGISTER;
	fill(m[k].req.name, sizeof(m[k].req.name), 'n');
	to[k++]     = ARB__CTL_TO_NODE;
	m[k].op     = ARB__CTL_REQ;
	m[k].req.op = ARB__REQ_WHEREIS;
	strcpy(m[k].req.name, "root/a");
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_MONITOR;
	m[k].req.target = (arb_pid) { .id = UINT64_MAX };
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_DEMONITOR;
	m[k].req.ref  = 1ull << 40;
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_LINK;
	m[k].req.target = arb__pid_make(ARB__KIND_THREAD, 3, 4);
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_UNLINK;
	m[k].req.target = arb__pid_make(ARB__KIND_PROCESS, 3, 4);
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_TRAP_EXIT;
	m[k].req.flag = true;
	to[k++]       = ARB__CTL_TO_NODE;
	m[k].op       = ARB__CTL_REQ;
	m[k].req.op   = ARB__REQ_START_CHILD;
	strcpy(m[k].req.name, "root/pool");
	m[k].req.arg     = arg_max;
	m[k].req.arg_len = sizeof(arg_max);
	to[k++]          = ARB__CTL_TO_NODE;
	m[k].op          = ARB__CTL_REQ;
	m[k].req.op      = ARB__REQ_START_CHILD;
	strcpy(m[k].req.name, "root/pool");
	to[k++] = ARB__CTL_TO_NODE;
	m[k].op     = ARB__CTL_REQ;
	m[k].req.op = ARB__REQ_SUBSCRIBE;
	fill(m[k].req.name, ARB_TOPIC_MAX, 's');
	to[k++]     = ARB__CTL_TO_NODE;
	m[k].op     = ARB__CTL_REQ;
	m[k].req.op = ARB__REQ_UNSUBSCRIBE;
	strcpy(m[k].req.name, "t");
	to[k++]     = ARB__CTL_TO_NODE;
	m[k].op     = ARB__CTL_REQ;
	m[k].req.op = ARB__REQ_SUBSCRIBERS;
	strcpy(m[k].req.name, "sensors/temp");
	to[k++] = ARB__CTL_TO_NODE;
	return k;
}

// same_fields checks that b (decoded) carries a's fields (encoded).
static void
same_fields(const arb__ctl_msg *a, const arb__ctl_msg *b)
{
	assert_int_equal(a->op, b->op);
	switch (a->op) {
	case ARB__CTL_INIT:
		assert_true(a->init.pid.id == b->init.pid.id);
		assert_int_equal(a->init.max_msg, b->init.max_msg);
		assert_int_equal(a->init.hb_ms, b->init.hb_ms);
		assert_int_equal(a->init.log_level, b->init.log_level);
		assert_string_equal(a->init.path, b->init.path);
		assert_string_equal(a->init.type, b->init.type);
		assert_string_equal(a->init.addr.run_dir, b->init.addr.run_dir);
		assert_string_equal(a->init.addr.node, b->init.addr.node);
		assert_int_equal(a->init.addr.node_id, b->init.addr.node_id);
		assert_int_equal(a->init.addr.creation, b->init.addr.creation);
		assert_false(b->init.addr.in_node);
		assert_int_equal(a->init.arg_len, b->init.arg_len);
		if (a->init.arg_len > 0) {
			assert_memory_equal(
			    a->init.arg, b->init.arg, a->init.arg_len);
		} else {
			assert_null(b->init.arg);
		}
		break;
	case ARB__CTL_KILLSIG:
	case ARB__CTL_FAIL:
	case ARB__CTL_EXIT:
		assert_int_equal(a->exit.kind, b->exit.kind);
		assert_int_equal(a->exit.code, b->exit.code);
		assert_string_equal(a->exit.text, b->exit.text);
		break;
	case ARB__CTL_REP:
		assert_int_equal(a->req.rv, b->req.rv);
		assert_true(a->req.pid.id == b->req.pid.id);
		assert_true(a->req.ref == b->req.ref);
		assert_int_equal(a->req.nlist, b->req.nlist);
		if (a->req.nlist > 0) {
			assert_memory_equal(a->req.list, b->req.list, a->req.nlist * 8);
		} else {
			assert_null(b->req.list);
		}
		break;
	case ARB__CTL_HB:
		assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
		assert_int_equal(a->metrics_len, b->metrics_len);
		if (a->metrics_len > 0) {
			assert_memory_equal(a->metrics, b->metrics, a->metrics_len);
		} else {
			assert_null(b->metrics);
		}
		break;
	case ARB__CTL_REQ:
		assert_int_equal(a->req.op, b->req.op);
		assert_string_equal(a->req.name, b->req.name);
		assert_true(a->req.target.id == b->req.target.id);
		assert_true(a->req.ref == b->req.ref);
		assert_int_equal(a->req.flag, b->req.flag);
		assert_int_equal(a->req.arg_len, b->req.arg_len);
		if (a->req.arg_len > 0) {
			assert_memory_equal(a->req.arg, b->req.arg, a->req.arg_len);
		}
		assert_true(b->req.self.id == 0); // never on the wire
		break;
	default:
		break;
	}
}

// in_range checks what the decoder promises of any message it accepts.
static void
in_range(const arb__ctl_msg *m, const uint8_t *buf, size_t n)
{
	assert_true(m->op >= ARB__CTL_INIT && m->op < ARB__CTL_OP_END);
	switch (m->op) {
	case ARB__CTL_INIT:
		assert_int_equal(arb__pid_kind(m->init.pid), ARB__KIND_PROCESS);
		assert_true(m->init.max_msg > 0);
		assert_in_range(m->init.hb_ms, 1, ARB__HB_MS);
		assert_in_range(m->init.log_level, ARB_LOG_ERROR, ARB_LOG_DEBUG);
		assert_in_range(strlen(m->init.path), 1, 255);
		assert_in_range(strlen(m->init.type), 1, 63);
		assert_in_range(strlen(m->init.addr.run_dir), 1, 159);
		assert_in_range(strlen(m->init.addr.node), 1, 63);
		assert_true(m->init.addr.node_id != 0);
		assert_true(m->init.addr.creation != 0);
		if (m->init.arg_len > 0) {
			const uint8_t *a = m->init.arg;
			assert_true(a >= buf && a + m->init.arg_len <= buf + n);
		}
		break;
	case ARB__CTL_KILLSIG:
	case ARB__CTL_FAIL:
	case ARB__CTL_EXIT:
		assert_in_range(m->exit.kind, 0, ARB_EXIT_NOPROC);
		assert_true(strlen(m->exit.text) < sizeof(m->exit.text));
		break;
	case ARB__CTL_REP:
		assert_true(m->req.rv >= 0);
		assert_true(m->req.nlist <= ARB_TOPIC_SUBS_MAX);
		if (m->req.nlist > 0) {
			assert_true(m->req.list >= buf &&
			    m->req.list + m->req.nlist * 8 <= buf + n);
		}
		break;
	case ARB__CTL_REQ:
		assert_in_range(m->req.op, ARB__REQ_REGISTER, ARB__REQ_SUBSCRIBERS);
		assert_true(strlen(m->req.name) < sizeof(m->req.name));
		assert_true(m->req.arg_len <= ARB__REQ_ARG_MAX);
		if (m->req.arg_len > 0) {
			const uint8_t *a = m->req.arg;
			assert_true(a >= buf && a + m->req.arg_len <= buf + n);
		}
		break;
	default:
		break;
	}
}

static arb__ctl_msg samples[32];
static arb__ctl_dir sample_to[32];

static void
test_every_op_round_trips_at_its_bounds(void **state)
{
	size_t       n = sample_msgs(samples, sample_to, 32), i;
	arb__ctl_msg got;

	(void) state;
	for (i = 0; i < n; i++) {
		arb__buf b = { 0 };

		uint8_t *copy;

		ARB_PASS(arb__ctl_encode(&b, &samples[i]));
		assert_true(b.len <= ARB__CTL_MAX);
		// Borrowed fields point into the datagram: keep it until
		// they are compared.
		copy = malloc(b.len);
		assert_non_null(copy);
		memcpy(copy, b.data, b.len);
		memset(&got, 0xa5, sizeof(got));
		ARB_PASS(arb__ctl_decode(&got, copy, b.len, sample_to[i]));
		same_fields(&samples[i], &got);
		free(copy);
		arb__buf_fini(&b);
	}
}

static void
test_each_side_refuses_the_other_sides_ops(void **state)
{
	size_t       n = sample_msgs(samples, sample_to, 32), i;
	arb__ctl_msg got;

	(void) state;
	for (i = 0; i < n; i++) {
		arb__buf     b     = { 0 };
		arb__ctl_dir other = sample_to[i] == ARB__CTL_TO_NODE
		    ? ARB__CTL_TO_ACTOR
		    : ARB__CTL_TO_NODE;

		ARB_PASS(arb__ctl_encode(&b, &samples[i]));
		ARB_FAIL(decode_exact(&got, b.data, b.len, other), ARB_EBADMSG);
		arb__buf_fini(&b);
	}
}

static void
test_encoder_cuts_strings_to_their_field(void **state)
{
	arb__ctl_msg m = { .op = ARB__CTL_EXIT }, got;
	arb__buf     b = { 0 };

	(void) state;
	memset(m.exit.text, 'z', sizeof(m.exit.text)); // no NUL at all
	ARB_PASS(arb__ctl_encode(&b, &m));
	ARB_PASS(decode_exact(&got, b.data, b.len, ARB__CTL_TO_NODE));
	assert_int_equal(strlen(got.exit.text), sizeof(m.exit.text) - 1);
	arb__buf_fini(&b);
}

static void
test_encoder_refuses_unknown_ops_and_oversize(void **state)
{
	arb__ctl_msg m = { .op = ARB__CTL_OP_END };
	arb__buf     b = { 0 };
	static uint8_t big[ARB__CTL_MAX];

	(void) state;
	ARB_FAIL(arb__ctl_encode(&b, &m), ARB_EINVAL);
	m.op     = ARB__CTL_REQ;
	m.req.op = (arb__req_op) 99;
	ARB_FAIL(arb__ctl_encode(&b, &m), ARB_EINVAL);
	memset(&m, 0, sizeof(m));
	m.op = ARB__CTL_INIT;
	strcpy(m.init.path, "p");
	m.init.arg     = big;
	m.init.arg_len = sizeof(big);
	ARB_FAIL(arb__ctl_encode(&b, &m), ARB_EMSGSIZE);
	assert_int_equal(b.len, 0); // nothing left behind
	arb__buf_fini(&b);
}

static void
test_encoder_out_of_memory_leaves_buffer_as_it_was(void **state)
{
	size_t n = sample_msgs(samples, sample_to, 32), i;

	(void) state;
	for (i = 0; i < n; i++) {
		arb__buf b = { 0 };

		ARB_PASS(arb__buf_append(&b, "x", 1)); // 256 bytes reserved
		arb__alloc_fail_after(1);
		if (arb__ctl_encode(&b, &samples[i]) == ARB_OK) {
			// Small enough for the reserve: no allocation needed.
			assert_true(b.len <= 256);
		} else {
			assert_int_equal(b.len, 1);
		}
		arb__alloc_fail_after(0);
		arb__buf_fini(&b);
	}
}

// A few hand-made datagrams, one malformed field each.
typedef struct bad {
	const char   *what;
	arb__ctl_dir  to;
	size_t        len;
	const uint8_t bytes[48];
} bad;

static const bad bads[] = {
	{ "empty", ARB__CTL_TO_NODE, 0, { 0 } },
	{ "not an array", ARB__CTL_TO_NODE, 1, { 0x05 } },
	{ "a map", ARB__CTL_TO_NODE, 5, { 0x82, 0x00, 0x02, 0x01, 0x05 } },
	{ "version 1", ARB__CTL_TO_NODE, 3, { 0x92, 0x01, 0x05 } },
	{ "version 2", ARB__CTL_TO_NODE, 3, { 0x92, 0x02, 0x05 } },
	{ "version negative", ARB__CTL_TO_NODE, 3, { 0x92, 0xff, 0x05 } },
	{ "op 0", ARB__CTL_TO_NODE, 3, { 0x92, 0x03, 0x00 } },
	{ "op 11 (LISTEN, gone)", ARB__CTL_TO_NODE, 3, { 0x92, 0x03, 0x0b } },
	{ "op 12", ARB__CTL_TO_NODE, 3, { 0x92, 0x03, 0x0c } },
	{ "op as a string", ARB__CTL_TO_NODE, 4, { 0x92, 0x03, 0xa1, 'x' } },
	{ "READY with a field", ARB__CTL_TO_NODE, 4,
	    { 0x93, 0x03, 0x05, 0x00 } },
	{ "one element", ARB__CTL_TO_NODE, 2, { 0x91, 0x03 } },
	{ "trailing byte", ARB__CTL_TO_NODE, 4, { 0x92, 0x03, 0x05, 0x00 } },
	{ "EXIT without reason", ARB__CTL_TO_NODE, 3, { 0x92, 0x03, 0x08 } },
	{ "EXIT kind 8", ARB__CTL_TO_NODE, 8,
	    { 0x93, 0x03, 0x08, 0x93, 0x08, 0x00, 0xa1, 'x' } },
	{ "EXIT kind negative", ARB__CTL_TO_NODE, 8,
	    { 0x93, 0x03, 0x08, 0x93, 0xff, 0x00, 0xa1, 'x' } },
	{ "EXIT code > INT_MAX", ARB__CTL_TO_NODE, 12,
	    { 0x93, 0x03, 0x08, 0x93, 0x02, 0xce, 0x80, 0x00, 0x00, 0x00,
	        0xa0 } },
	{ "EXIT text with NUL", ARB__CTL_TO_NODE, 9,
	    { 0x93, 0x03, 0x08, 0x93, 0x02, 0x00, 0xa2, 'x', 0x00 } },
	{ "EXIT text as bin", ARB__CTL_TO_NODE, 9,
	    { 0x93, 0x03, 0x08, 0x93, 0x02, 0x00, 0xc4, 0x01, 'x' } },
	{ "EXIT reason of 2", ARB__CTL_TO_NODE, 6,
	    { 0x93, 0x03, 0x08, 0x92, 0x02, 0x00 } },
	{ "HB with 11 stats", ARB__CTL_TO_NODE, 15,
	    { 0x93, 0x03, 0x09, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "HB stat negative", ARB__CTL_TO_NODE, 16,
	    { 0x93, 0x03, 0x09, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff } },
	{ "HB with empty metrics", ARB__CTL_TO_NODE, 18,
	    { 0x94, 0x03, 0x09, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4,
	        0x00 } },
	{ "HB metrics as str", ARB__CTL_TO_NODE, 18,
	    { 0x94, 0x03, 0x09, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1,
	        'x' } },
	{ "HB with 5 elements", ARB__CTL_TO_NODE, 21,
	    { 0x95, 0x03, 0x09, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4,
	        0x01, 'x', 0xc0 } },
	{ "REQ without op", ARB__CTL_TO_NODE, 3, { 0x92, 0x03, 0x0a } },
	{ "REQ op 0", ARB__CTL_TO_NODE, 5, { 0x94, 0x03, 0x0a, 0x00, 0x00 } },
	{ "REQ op 12", ARB__CTL_TO_NODE, 5, { 0x94, 0x03, 0x0a, 0x0c, 0x00 } },
	{ "REQ subscribe empty topic", ARB__CTL_TO_NODE, 5,
	    { 0x94, 0x03, 0x0a, 0x09, 0xa0 } },
	{ "REQ subscribers topic as bin", ARB__CTL_TO_NODE, 7,
	    { 0x94, 0x03, 0x0a, 0x0b, 0xc4, 0x01, 't' } },
	{ "REP empty list", ARB__CTL_TO_ACTOR, 8,
	    { 0x96, 0x03, 0x04, 0x00, 0x00, 0x00, 0xc4, 0x00 } },
	{ "REP list of 3 bytes", ARB__CTL_TO_ACTOR, 11,
	    { 0x96, 0x03, 0x04, 0x00, 0x00, 0x00, 0xc4, 0x03, 'a', 'b', 'c' } },
	{ "REP list as str", ARB__CTL_TO_ACTOR, 16,
	    { 0x96, 0x03, 0x04, 0x00, 0x00, 0x00, 0xa8, 1, 2, 3, 4, 5, 6, 7,
	        8 } },
	{ "REP with 7 elements", ARB__CTL_TO_ACTOR, 17,
	    { 0x97, 0x03, 0x04, 0x00, 0x00, 0x00, 0xc4, 0x08, 1, 2, 3, 4, 5,
	        6, 7, 8, 0x00 } },
	{ "REQ register without name", ARB__CTL_TO_NODE, 4,
	    { 0x93, 0x03, 0x0a, 0x01 } },
	{ "REQ register empty name", ARB__CTL_TO_NODE, 5,
	    { 0x94, 0x03, 0x0a, 0x01, 0xa0 } },
	{ "REQ register name with NUL", ARB__CTL_TO_NODE, 7,
	    { 0x94, 0x03, 0x0a, 0x01, 0xa2, 'a', 0x00 } },
	{ "REQ register two names", ARB__CTL_TO_NODE, 8,
	    { 0x95, 0x03, 0x0a, 0x01, 0xa1, 'a', 0xa1, 'b' } },
	{ "REQ trap_exit as int", ARB__CTL_TO_NODE, 5,
	    { 0x94, 0x03, 0x0a, 0x07, 0x01 } },
	{ "REQ start_child without arg", ARB__CTL_TO_NODE, 6,
	    { 0x94, 0x03, 0x0a, 0x08, 0xa1, 'p' } },
	{ "REQ start_child arg > 60 KiB", ARB__CTL_TO_NODE, 12,
	    { 0x95, 0x03, 0x0a, 0x08, 0xa1, 'p', 0xc6, 0x00, 0x00, 0xf0,
	        0x01 } },
	{ "REQ monitor target as str", ARB__CTL_TO_NODE, 6,
	    { 0x94, 0x03, 0x0a, 0x03, 0xa1, 'x' } },
	{ "REP rv negative", ARB__CTL_TO_ACTOR, 6,
	    { 0x95, 0x03, 0x04, 0xff, 0x00, 0x00 } },
	{ "REP missing ref", ARB__CTL_TO_ACTOR, 5,
	    { 0x94, 0x03, 0x04, 0x00, 0x00 } },
	{ "KILLSIG text as int", ARB__CTL_TO_ACTOR, 7,
	    { 0x93, 0x03, 0x03, 0x93, 0x04, 0x00, 0x00 } },
	// The version 1 form: an 8-byte header [op, 1, 0...] and a struct.
	{ "a v1 READY", ARB__CTL_TO_NODE, 8, { 0x05, 0x01, 0, 0, 0, 0, 0, 0 } },
	{ "a v1 STOP", ARB__CTL_TO_ACTOR, 8, { 0x02, 0x01, 0, 0, 0, 0, 0, 0 } },
};

static void
test_malformed_fields_are_rejected(void **state)
{
	arb__ctl_msg m;
	size_t       i;

	(void) state;
	for (i = 0; i < ARB_ARRAY_SIZE(bads); i++) {
		int rv = decode_exact(&m, bads[i].bytes, bads[i].len, bads[i].to);
		if (rv != ARB_EBADMSG) {
			fail_msg("%s: expected ARB_EBADMSG, got %s", bads[i].what,
			    arb_err_name(rv));
		}
	}
}

// Hand-made INIT fields one at a time out of range.
static void
test_init_fields_out_of_range_are_rejected(void **state)
{
	arb__ctl_msg base = { .op = ARB__CTL_INIT }, m, got;
	arb__buf     b    = { 0 };
	int          k;

	(void) state;
	base.init.pid       = arb__pid_make(ARB__KIND_PROCESS, 1, 1);
	base.init.max_msg   = 1024;
	base.init.hb_ms     = 1000;
	base.init.log_level = ARB_LOG_INFO;
	strcpy(base.init.path, "root/p");
	strcpy(base.init.type, "probe");
	strcpy(base.init.addr.run_dir, "/run/x");
	strcpy(base.init.addr.node, "gw1");
	base.init.addr.node_id  = 7;
	base.init.addr.creation = 9;
	ARB_PASS(arb__ctl_encode(&b, &base));
	ARB_PASS(decode_exact(&got, b.data, b.len, ARB__CTL_TO_ACTOR));
	for (k = 0; k < 11; k++) {
		m = base;
		switch (k) {
		case 0: m.init.pid = arb__pid_make(ARB__KIND_THREAD, 1, 1); break;
		case 1: m.init.max_msg = 0; break;
		case 2: m.init.hb_ms = 0; break;
		case 3: m.init.hb_ms = ARB__HB_MS + 1; break;
		case 4: m.init.log_level = 0; break;
		case 5: m.init.log_level = ARB_LOG_DEBUG + 1; break;
		case 6: m.init.path[0] = '\0'; break;
		case 7: m.init.type[0] = '\0'; break;
		case 8: m.init.addr.node[0] = '\0'; break;
		case 9: m.init.addr.node_id = 0; break;
		case 10: m.init.addr.creation = 0; break;
		}
		b.len = 0;
		ARB_PASS(arb__ctl_encode(&b, &m));
		if (decode_exact(&got, b.data, b.len, ARB__CTL_TO_ACTOR) !=
		    ARB_EBADMSG) {
			fail_msg("INIT case %d was accepted", k);
		}
	}
	arb__buf_fini(&b);
}

static void
test_every_prefix_is_rejected(void **state)
{
	size_t       n = sample_msgs(samples, sample_to, 32), i, cut;
	arb__ctl_msg got;

	(void) state;
	for (i = 0; i < n; i++) {
		arb__buf b = { 0 };

		ARB_PASS(arb__ctl_encode(&b, &samples[i]));
		// Big arguments: every cut in the header, a sample of the rest.
		for (cut = 0; cut < b.len; cut += cut < 700 ? 1 : 997) {
			if (decode_exact(&got, b.data, cut, sample_to[i]) !=
			    ARB_EBADMSG) {
				fail_msg("op %d: a prefix of %zu of %zu bytes was "
				         "accepted",
				    samples[i].op, cut, b.len);
			}
		}
		arb__buf_fini(&b);
	}
}

static void
test_every_byte_replaced_is_rejected_or_in_range(void **state)
{
	static const uint8_t hostile[] = { 0x00, 0x7f, 0x80, 0x90, 0x9f, 0xa0,
		0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc6, 0xcf, 0xd3, 0xdb, 0xdd, 0xe0,
		0xff };
	size_t       n = sample_msgs(samples, sample_to, 32), i, off, h;
	arb__ctl_msg got;

	(void) state;
	for (i = 0; i < n; i++) {
		arb__buf b = { 0 };
		uint8_t *copy;

		ARB_PASS(arb__ctl_encode(&b, &samples[i]));
		copy = malloc(b.len); // exact size: ASan sees any overread
		assert_non_null(copy);
		memcpy(copy, b.data, b.len);
		// Every byte before the bulk of an argument (its payload is
		// opaque bytes).
		for (off = 0; off < b.len && off < 700; off++) {
			for (h = 0; h < sizeof(hostile); h++) {
				int rv;

				copy[off] = hostile[h];
				rv = arb__ctl_decode(&got, copy, b.len, sample_to[i]);
				if (rv == ARB_OK) {
					in_range(&got, copy, b.len);
					// The version byte is never ignored.
					assert_true(off != 1);
				} else {
					assert_int_equal(rv, ARB_EBADMSG);
				}
			}
			copy[off] = b.data[off];
		}
		free(copy);
		arb__buf_fini(&b);
	}
}

static void
test_seeded_garbage_never_escapes(void **state)
{
	uint64_t     seed = 0x5eed;
	uint8_t      buf[96];
	arb__ctl_msg got;
	int          iter;
	size_t       i, len;

	(void) state;
	for (iter = 0; iter < 100000; iter++) {
		len = (size_t) (rng_next(&seed) % sizeof(buf));
		for (i = 0; i < len; i++) {
			buf[i] = (uint8_t) rng_next(&seed);
		}
		// Half of them start like a real datagram.
		if (len >= 3 && (iter & 1)) {
			buf[0] = (uint8_t) (0x90 | (rng_next(&seed) % 12));
			buf[1] = ARB__CTL_VERSION;
			buf[2] = (uint8_t) (1 + rng_next(&seed) % 11);
		}
		if (decode_exact(&got, buf, len,
		        (iter & 2) ? ARB__CTL_TO_NODE : ARB__CTL_TO_ACTOR) ==
		    ARB_OK) {
			in_range(&got, buf, len);
		}
	}
}

// --- over a real socketpair ----------------------------------------------

static void
test_datagrams_over_a_socketpair(void **state)
{
	int            sv[2];
	static uint8_t buf[ARB__CTL_MAX];
	size_t         n = sample_msgs(samples, sample_to, 32), i;
	arb__ctl_msg   got;
	ssize_t        r;

	(void) state;
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	for (i = 0; i < n; i++) {
		ARB_PASS(arb__ctl_send(sv[0], &samples[i]));
		r = arb__ctl_recv(sv[1], buf, sizeof(buf));
		assert_true(r > 0);
		ARB_PASS(arb__ctl_decode(&got, buf, (size_t) r, sample_to[i]));
		same_fields(&samples[i], &got);
	}
	ARB_PASS(arb__ctl_send_op(sv[0], ARB__CTL_READY));
	r = arb__ctl_recv(sv[1], buf, sizeof(buf));
	ARB_PASS(arb__ctl_decode(&got, buf, (size_t) r, ARB__CTL_TO_NODE));
	assert_int_equal(got.op, ARB__CTL_READY);
	// Nothing queued: EAGAIN, not a block.
	r = arb__ctl_recv(sv[1], buf, sizeof(buf));
	assert_int_equal(r, -1);
	assert_int_equal(errno, EAGAIN);
	// A datagram larger than the buffer is discarded whole and named;
	// the next one reads intact.
	{
		static uint8_t big[ARB__CTL_MAX + 100];
		memset(big, 0x90, sizeof(big));
		assert_int_equal(
		    send(sv[0], big, sizeof(big), 0), (ssize_t) sizeof(big));
		ARB_PASS(arb__ctl_send_op(sv[0], ARB__CTL_IGNORE));
		r = arb__ctl_recv(sv[1], buf, sizeof(buf));
		assert_int_equal(r, -1);
		assert_int_equal(errno, EMSGSIZE);
		r = arb__ctl_recv(sv[1], buf, sizeof(buf));
		ARB_PASS(arb__ctl_decode(&got, buf, (size_t) r, ARB__CTL_TO_NODE));
		assert_int_equal(got.op, ARB__CTL_IGNORE);
	}
	close(sv[0]);
	assert_int_equal(arb__ctl_recv(sv[1], buf, sizeof(buf)), 0); // EOF
	assert_true(arb__ctl_send_op(sv[1], ARB__CTL_READY) != ARB_OK);
	close(sv[1]);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_round_trips_at_its_bounds),
		cmocka_unit_test(test_each_side_refuses_the_other_sides_ops),
		cmocka_unit_test(test_encoder_cuts_strings_to_their_field),
		cmocka_unit_test(test_encoder_refuses_unknown_ops_and_oversize),
		cmocka_unit_test(
		    test_encoder_out_of_memory_leaves_buffer_as_it_was),
		cmocka_unit_test(test_malformed_fields_are_rejected),
		cmocka_unit_test(test_init_fields_out_of_range_are_rejected),
		cmocka_unit_test(test_every_prefix_is_rejected),
		cmocka_unit_test(
		    test_every_byte_replaced_is_rejected_or_in_range),
		cmocka_unit_test(test_seeded_garbage_never_escapes),
		cmocka_unit_test(test_datagrams_over_a_socketpair),
	};

	return ARB_TEST_RUN("actor.ctl", tests, argc, argv);
}
