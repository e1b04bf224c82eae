// SPDX-License-Identifier: MIT
// msg_test.c -- unit tests for msg.c, err.c and exit.c: messages, error
// codes and exit reasons, the plain data of the public API.
//
// arb_msg_alloc/dup/free and the accessors, the size and argument limits,
// the OOM path through arb__alloc; arb_strerror and arb_err_name for every
// code of ARB_ERRNO_MAP and for wrapped OS errors; arb_exit_format,
// arb_exit_kind_name and arb_exit_abnormal for every kind.  Single-threaded.

#include "arb_test.h"

#include "core/arb_impl.h"
#include "transport/link.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void
test_alloc_copies_body(void **state)
{
	static const char body[] = "\x92\x01\xa2hi"; // msgpack [1, "hi"]
	char              buf[sizeof(body)];
	arb_msg          *m;

	ARB_UNUSED(state);
	memcpy(buf, body, sizeof(buf));
	ARB_PASS(arb_msg_alloc(&m, 42, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf)); // the message has its own copy
	assert_int_equal(arb_msg_tag(m), 42);
	assert_int_equal(arb_msg_len(m), sizeof(body));
	assert_memory_equal(arb_msg_body(m), body, sizeof(body));
	assert_int_equal(arb_msg_from(m).id, 0);
	assert_int_equal(arb_msg_to(m).id, 0);
	assert_int_equal(arb_msg_ref(m), 0);
	assert_false(arb_msg_is_request(m));
	arb_msg_free(m);
}

static void
test_alloc_empty_body(void **state)
{
	arb_msg *m;
	char     one = 'x';

	ARB_UNUSED(state);
	ARB_PASS(arb_msg_alloc(&m, 1, NULL, 0));
	assert_int_equal(arb_msg_len(m), 0);
	assert_int_equal(arb_msg_tag(m), 1);
	arb_msg_free(m);
	// A body pointer with len 0 is fine too.
	ARB_PASS(arb_msg_alloc(&m, ARB_TAG_SYSTEM - 1, &one, 0));
	assert_int_equal(arb_msg_len(m), 0);
	assert_int_equal(arb_msg_tag(m), ARB_TAG_SYSTEM - 1);
	arb_msg_free(m);
}

static void
test_dup_is_independent(void **state)
{
	arb_msg *m, *d;

	ARB_UNUSED(state);
	ARB_PASS(arb_msg_alloc(&m, 9, "abcdef", 6));
	// Envelope fields travel with the copy (handlers dup what they
	// keep, e.g. a request to answer later).
	m->from  = (arb_pid) { .id = 0x4000000100000002ull };
	m->to    = (arb_pid) { .id = 0x8000000300000004ull };
	m->ref   = 77;
	m->flags = ARB__F_REQUEST;
	ARB_PASS(arb_msg_dup(&d, m));
	assert_ptr_not_equal(d, m);
	assert_ptr_not_equal(arb_msg_body(d), arb_msg_body(m));
	assert_int_equal(arb_msg_tag(d), 9);
	assert_int_equal(arb_msg_len(d), 6);
	assert_memory_equal(arb_msg_body(d), "abcdef", 6);
	assert_int_equal(arb_msg_from(d).id, 0x4000000100000002ull);
	assert_int_equal(arb_msg_to(d).id, 0x8000000300000004ull);
	assert_int_equal(arb_msg_ref(d), 77);
	assert_true(arb_msg_is_request(d));
	arb_msg_free(m); // the copy outlives the original
	assert_memory_equal(arb_msg_body(d), "abcdef", 6);
	arb_msg_free(d);

	// A view (body borrowed from elsewhere, as handlers get) dups too.
	{
		arb_msg view = { .tag = 3, .len = 2,
			.body = (const uint8_t *) "ok" };
		ARB_PASS(arb_msg_dup(&d, &view));
		assert_memory_equal(arb_msg_body(d), "ok", 2);
		assert_ptr_not_equal(arb_msg_body(d), view.body);
		arb_msg_free(d);
	}
	ARB_FAIL(arb_msg_dup(&d, NULL), ARB_EINVAL);
}

static void
test_free_null_is_noop(void **state)
{
	ARB_UNUSED(state);
	arb_msg_free(NULL);
}

static void
test_size_limit(void **state)
{
	size_t   max = ARB_MSG_BODY_MAX;
	uint8_t *big = malloc(max + 1);
	arb_msg *m   = NULL;

	ARB_UNUSED(state);
	assert_non_null(big);
	memset(big, 0xa5, max + 1);
	ARB_FAIL(arb_msg_alloc(&m, 1, big, max + 1), ARB_EMSGSIZE);
	assert_null(m); // untouched on failure
	ARB_FAIL(arb_msg_alloc(&m, 1, big, SIZE_MAX), ARB_EMSGSIZE);
	assert_null(m);
	// Exactly the limit is allowed.
	ARB_PASS(arb_msg_alloc(&m, 1, big, max));
	assert_int_equal(arb_msg_len(m), max);
	assert_memory_equal(arb_msg_body(m), big, max);
	arb_msg_free(m);
	free(big);
}

static void
test_invalid_arguments(void **state)
{
	arb_msg *m = NULL;

	ARB_UNUSED(state);
	ARB_FAIL(arb_msg_alloc(&m, 1, NULL, 1), ARB_EINVAL);
	ARB_FAIL(arb_msg_alloc(&m, 1, NULL, 100), ARB_EINVAL);
	assert_null(m);
	ARB_FAIL(arb_msg_alloc(NULL, 1, "x", 1), ARB_EINVAL);
}

static void
test_alloc_oom(void **state)
{
	arb_msg *m = NULL, *d = NULL;

	ARB_UNUSED(state);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb_msg_alloc(&m, 1, "x", 1), ARB_ENOMEM);
	assert_null(m);
	arb__alloc_fail_after(1);
	ARB_FAIL(arb_msg_alloc(&m, 1, NULL, 0), ARB_ENOMEM);
	assert_null(m);
	arb__alloc_fail_after(0);

	ARB_PASS(arb_msg_alloc(&m, 1, "xyz", 3));
	arb__alloc_fail_after(1);
	ARB_FAIL(arb_msg_dup(&d, m), ARB_ENOMEM);
	arb__alloc_fail_after(0);
	assert_null(d);
	ARB_PASS(arb_msg_dup(&d, m)); // memory is back
	arb_msg_free(d);
	arb_msg_free(m);
}

static void
test_error_texts_and_names(void **state)
{
	static const struct {
		int         code;
		const char *name;
		const char *text;
	} map[] = {
#define XX(name, val, text) { val, "ARB_" #name, text },
		ARB_ERRNO_MAP(XX)
#undef XX
	};
	size_t i, j;

	ARB_UNUSED(state);
	assert_int_equal(ARB_ARRAY_SIZE(map), 21);
	for (i = 0; i < ARB_ARRAY_SIZE(map); i++) {
		// Codes are ABI: dense from 1, in table order.
		assert_int_equal(map[i].code, (int) i + 1);
		assert_string_equal(arb_strerror(map[i].code), map[i].text);
		assert_string_equal(arb_err_name(map[i].code), map[i].name);
		for (j = 0; j < i; j++) {
			assert_string_not_equal(arb_err_name(map[i].code),
			    arb_err_name(map[j].code));
		}
	}
	assert_string_equal(arb_err_name(ARB_EAGAIN), "ARB_EAGAIN");
	assert_string_equal(arb_strerror(ARB_ETIMEDOUT), "timed out");
	assert_string_equal(arb_err_name(ARB_OK), "ARB_OK");
	assert_string_equal(arb_strerror(ARB_OK), "no error");
	// Unknown codes.
	assert_string_equal(arb_strerror(22), "unknown error");
	assert_string_equal(arb_strerror(-1), "unknown error");
	assert_string_equal(arb_strerror(12345), "unknown error");
	assert_string_equal(arb_err_name(22), "ARB_E?");
	assert_string_equal(arb_err_name(12345), "ARB_E?");
	assert_string_equal(arb_err_name(-1), "ARB_E?");
}

static void
test_syserr_wraps_errno(void **state)
{
	int e = ARB_ESYSERR | ENOENT;

	ARB_UNUSED(state);
	assert_string_equal(arb_err_name(e), "ARB_ESYSERR");
	assert_string_equal(arb_strerror(e), strerror(ENOENT));
	assert_string_equal(arb_strerror(ARB_ESYSERR | EBADF), strerror(EBADF));
	// Never a NULL or empty text, even for an errno nobody knows.
	assert_non_null(arb_strerror(ARB_ESYSERR | 4000));
	assert_true(arb_strerror(ARB_ESYSERR | 4000)[0] != '\0');
	// errno values map to the closest ARB_E code, else they are wrapped.
	assert_int_equal(arb__err_from_errno(0), ARB_OK);
	assert_int_equal(arb__err_from_errno(ENOENT), ARB_ENOENT);
	assert_int_equal(arb__err_from_errno(ENOMEM), ARB_ENOMEM);
	assert_int_equal(arb__err_from_errno(EACCES), ARB_EPERM);
	assert_int_equal(arb__err_from_errno(EBADF), ARB_ESYSERR | EBADF);
}

static void
test_exit_format_every_kind(void **state)
{
	static const struct {
		arb_exit    e;
		const char *name;
		const char *text;
		bool        abnormal;
	} cases[] = {
		{ { ARB_EXIT_NORMAL, 0, "" }, "normal", "normal", false },
		{ { ARB_EXIT_SHUTDOWN, 0, "" }, "shutdown", "shutdown", false },
		{ { ARB_EXIT_SHUTDOWN, 0, "intensity" }, "shutdown",
		    "shutdown{text=\"intensity\"}", false },
		{ { ARB_EXIT_ERROR, 3, "boom" }, "error",
		    "error{code=3,text=\"boom\"}", true },
		{ { ARB_EXIT_ERROR, -2, "" }, "error",
		    "error{code=-2,text=\"\"}", true },
		{ { ARB_EXIT_CRASHED, SIGSEGV, "" }, "crashed",
		    "crashed{signal=SIGSEGV}", true },
		{ { ARB_EXIT_CRASHED, SIGABRT, "" }, "crashed",
		    "crashed{signal=SIGABRT}", true },
		{ { ARB_EXIT_CRASHED, 0, "" }, "crashed",
		    "crashed{signal=SIG?}", true },
		{ { ARB_EXIT_KILLED, 0, "" }, "killed", "killed", true },
		{ { ARB_EXIT_KILLED, 0, "abandoned thread" }, "killed",
		    "killed{text=\"abandoned thread\"}", true },
		{ { ARB_EXIT_HUNG, 0, "" }, "hung", "hung", true },
		{ { ARB_EXIT_NOCONNECTION, 0, "" }, "noconnection",
		    "noconnection", true },
		{ { ARB_EXIT_NOPROC, 0, "" }, "noproc", "noproc", true },
	};
	char   buf[200];
	size_t i;
	int    n;

	ARB_UNUSED(state);
	for (i = 0; i < ARB_ARRAY_SIZE(cases); i++) {
		memset(buf, 'Z', sizeof(buf));
		n = arb_exit_format(&cases[i].e, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(n, (int) strlen(cases[i].text));
		assert_string_equal(
		    arb_exit_kind_name(cases[i].e.kind), cases[i].name);
		assert_int_equal(
		    arb_exit_abnormal(&cases[i].e), cases[i].abnormal);
	}
	assert_string_equal(arb_exit_kind_name((arb_exit_kind) 99), "unknown");
	assert_string_equal(arb_exit_kind_name((arb_exit_kind) -1), "unknown");
}

static void
test_exit_format_truncates(void **state)
{
	arb_exit e = { .kind = ARB_EXIT_ERROR, .code = 12 };
	char     buf[8];
	char     full[300];
	int      want;

	ARB_UNUSED(state);
	memset(e.text, 'x', sizeof(e.text) - 1);
	e.text[sizeof(e.text) - 1] = '\0';
	want = arb_exit_format(&e, full, sizeof(full));
	assert_int_equal(want, (int) strlen(full));
	// As snprintf: the length it wanted, and always NUL-terminated.
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(arb_exit_format(&e, buf, sizeof(buf)), want);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, full, sizeof(buf) - 1);
	assert_int_equal(arb_exit_format(&e, buf, 1), want);
	assert_string_equal(buf, "");
	// len 0 writes nothing at all.
	buf[0] = 'Z';
	assert_int_equal(arb_exit_format(&e, buf, 0), want);
	assert_int_equal(buf[0], 'Z');
}

static void
test_pid_compare(void **state)
{
	arb_pid a = arb__pid_make(ARB__KIND_THREAD, 5, 1);
	arb_pid b = arb__pid_make(ARB__KIND_THREAD, 5, 2);
	arb_pid c = arb__pid_make(ARB__KIND_THREAD, 6, 1);

	ARB_UNUSED(state);
	assert_true(arb_pid_eq(a, a));
	assert_false(arb_pid_eq(a, b));
	assert_true(arb_pid_same_actor(a, b)); // two incarnations
	assert_false(arb_pid_same_actor(a, c));
	assert_int_equal(arb__pid_kind(a), ARB__KIND_THREAD);
	assert_int_equal(arb__pid_mbid(c), 6);
	assert_true(arb_pid_eq(ARB_PID_NONE, (arb_pid) { 0, 0, 0 }));
}

// Pids carry the node: the same id on another node (or another
// incarnation of this node) is another actor; node 0 stands for this one.
static void
test_pid_node_and_slot(void **state)
{
	arb_pid a, remote, old_node, slot;

	ARB_UNUSED(state);
	arb__local_set(arb__node_id("here"), 1234);
	a = arb__pid_make(ARB__KIND_PROCESS, 9, 3);
	assert_int_equal(a.node, arb__node_id("here"));
	assert_int_equal(a.creation, 1234);
	assert_true(arb_pid_eq(a, (arb_pid) { .id = a.id })); // node 0: here
	remote = a;
	remote.node = arb__node_id("there");
	assert_false(arb_pid_eq(a, remote));
	assert_false(arb_pid_same_actor(a, remote));
	old_node = a;
	old_node.creation = 1233; // an earlier run of this node
	assert_false(arb_pid_eq(a, old_node));
	slot = arb_pid_slot(a);
	assert_true(arb_pid_is_slot(slot));
	assert_false(arb_pid_is_slot(a));
	assert_false(arb_pid_is_slot(ARB_PID_NONE));
	assert_false(arb_pid_eq(slot, a));
	assert_true(arb_pid_same_actor(slot, a));
	assert_true(arb_pid_eq(arb_pid_slot(slot), slot));
	assert_true(arb_pid_eq(arb_pid_slot(ARB_PID_NONE), ARB_PID_NONE));
	arb__local_set(0, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_copies_body),
		cmocka_unit_test(test_alloc_empty_body),
		cmocka_unit_test(test_dup_is_independent),
		cmocka_unit_test(test_free_null_is_noop),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_alloc_oom),
		cmocka_unit_test(test_error_texts_and_names),
		cmocka_unit_test(test_syserr_wraps_errno),
		cmocka_unit_test(test_exit_format_every_kind),
		cmocka_unit_test(test_exit_format_truncates),
		cmocka_unit_test(test_pid_compare),
		cmocka_unit_test(test_pid_node_and_slot),
	};

	return ARB_TEST_RUN("core.msg", tests, argc, argv);
}
