// SPDX-License-Identifier: MIT
// log_test.c -- log.c: one line per event, levels, and repeated identical
// errors from one actor folded into a count (SPEC 26).

#include "arb_test.h"

#include "core/arb_impl.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// capture runs fn with stderr redirected to a pipe and returns what was
// written (NUL-terminated, in buf).
static void
capture(void (*fn)(void), char *buf, size_t len)
{
	int     p[2], saved;
	ssize_t n, got = 0;

	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	while (got < (ssize_t) len - 1 &&
	    (n = read(p[0], buf + got, len - 1 - (size_t) got)) > 0) {
		got += n;
	}
	buf[got] = '\0';
	close(p[0]);
}

static int
count_lines(const char *s, const char *needle)
{
	int         n = 0;
	const char *l = s;

	while (l != NULL && *l != '\0') {
		const char *e = strchr(l, '\n');
		size_t      ll = e ? (size_t) (e - l) : strlen(l);
		char        line[600];

		snprintf(line, sizeof(line), "%.*s", (int) ll, l);
		if (strstr(line, needle) != NULL) {
			n++;
		}
		l = e ? e + 1 : NULL;
	}
	return n;
}

static void
log_storm(void)
{
	int i;

	arb__log_set_level(ARB_LOG_INFO);
	for (i = 0; i < 100; i++) {
		arb__log(ARB_LOG_ERROR, "root/a", "event=exit reason=boom");
	}
	// Another actor saying the same thing is not a repeat.
	arb__log(ARB_LOG_ERROR, "root/b", "event=exit reason=boom");
	arb__log(ARB_LOG_INFO, "root/c", "event=started");
	arb__log(ARB_LOG_DEBUG, "root/c", "event=hidden");
}

static void
test_repeated_errors_are_folded_with_a_count(void **state)
{
	char out[8192];

	(void) state;
	capture(log_storm, out, sizeof(out));
	// The first line is written, the 99 repeats are folded into one
	// count, printed before the next different line.
	assert_int_equal(count_lines(out, "error root/a event=exit reason=boom"), 1);
	assert_int_equal(count_lines(out, "event=repeated count=99"), 1);
	assert_int_equal(count_lines(out, "error root/b event=exit reason=boom"), 1);
	assert_int_equal(count_lines(out, "info root/c event=started"), 1);
	// Below the level: nothing.
	assert_int_equal(count_lines(out, "event=hidden"), 0);
	// One event per line, level and path first.
	assert_non_null(strstr(out, "]: error root/a event=exit"));
}

static void
log_long(void)
{
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	arb__log(ARB_LOG_WARN, "root/long", "event=big text=%s", big);
	arb__log(ARB_LOG_WARN, "root/after", "event=next");
}

static void
test_long_lines_stay_one_line(void **state)
{
	char out[8192];

	(void) state;
	capture(log_long, out, sizeof(out));
	// A line is cut to fit (one write under PIPE_BUF), never split.
	assert_int_equal(count_lines(out, "root/long event=big"), 1);
	assert_int_equal(count_lines(out, "root/after event=next"), 1);
	assert_true(strchr(out, '\n') != NULL);
	assert_true(strchr(out, '\n') - out < 512);
}

static void
log_public(void)
{
	int i;

	arb__log_set_level(ARB_LOG_INFO);
	// The node's own lines (ctx NULL), as the control socket writes
	// them: 22 identical refusals fold into one line and a count.
	for (i = 0; i < 22; i++) {
		arb_log(NULL, ARB_LOG_WARN, "control_refused", "peer_uid=%d",
		    1234);
	}
	arb_log(NULL, ARB_LOG_INFO, "control_listen", "path=%s", "/x.sock");
	arb_log(NULL, ARB_LOG_DEBUG, "hidden", NULL);
	arb_log(NULL, ARB_LOG_INFO, "bare", NULL);
	arb_log(NULL, 9, "bad_level", NULL);
}

static void
test_arb_log_has_the_layout_level_and_rate_limit(void **state)
{
	char out[8192];

	(void) state;
	capture(log_public, out, sizeof(out));
	assert_int_equal(
	    count_lines(out, "]: warn - event=control_refused peer_uid=1234"),
	    1);
	assert_int_equal(count_lines(out, "event=repeated count=21"), 1);
	assert_int_equal(
	    count_lines(out, "]: info - event=control_listen path=/x.sock"), 1);
	assert_int_equal(count_lines(out, "event=hidden"), 0);
	assert_int_equal(count_lines(out, "]: info - event=bare\n"), 0);
	assert_int_equal(count_lines(out, "]: info - event=bare"), 1);
	assert_int_equal(count_lines(out, "bad_level"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arb_log_has_the_layout_level_and_rate_limit),
		cmocka_unit_test(test_repeated_errors_are_folded_with_a_count),
		cmocka_unit_test(test_long_lines_stay_one_line),
	};

	return cmocka_run_group_tests_name("core.log", tests, NULL, NULL);
}
