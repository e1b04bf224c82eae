// SPDX-License-Identifier: MIT
// log_test.c -- log.c: one line per event, levels, and repeated identical
// errors from one actor folded into a count (SPEC 26); the time at the
// start of each line, except on the journal.

#include "arb_test.h"

#include "core/arb_impl.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
	assert_true(arb__log_flush(5000)); // written by the writer thread
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
log_forged(void)
{
	arb__log_set_level(ARB_LOG_INFO);
	// A value from outside (a path an operator gave arborctl) with a
	// newline and a forged line after it, and an escape sequence.
	arb_log(NULL, ARB_LOG_WARN, "control", "op=stop path=%s result=x",
	    "root/x\n2026-12-07T09:39:20.194Z arbor[1]: error - event=FAKE\r\x1b[2J\tend");
	arb__log(ARB_LOG_WARN, "root/after", "event=next");
}

static void
test_control_bytes_cannot_forge_lines(void **state)
{
	char out[4096];

	(void) state;
	capture(log_forged, out, sizeof(out));
	assert_int_equal(count_lines(out, "event=control op=stop"), 1);
	assert_int_equal(count_lines(out, "event=FAKE"), 1); // in that line
	assert_int_equal(count_lines(out, "event=control op=stop path=root/x"
	                                  "\\x0a2026-12-07"),
	    1);
	// A TAB stays (as in exec children's output): it ends no line.
	assert_non_null(strstr(out, "event=FAKE\\x0d\\x1b[2J\tend result=x\n"));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x1b'));
	assert_int_equal(count_lines(out, "root/after event=next"), 1);
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

// --- The start of a line: time, or the journal's priority -------------------

// stamp_ms parses an RFC 3339 UTC time with milliseconds at the start of
// s ("2025-01-06T05:13:00.123Z ") into ms since the epoch, or -1.
static long long
stamp_ms(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	struct tm         tm;
	size_t            i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char) s[i])
		                    : s[i] != shape[i]) {
			return -1;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	return (long long) timegm(&tm) * 1000 + atoi(s + 20);
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
log_one_forced_on(void)
{
	arb__log_set_level(ARB_LOG_INFO);
	arb__log_set_time(ARB_LOG_TIME_ON);
	arb__log(ARB_LOG_INFO, "root/t", "event=stamped");
}

static void
log_one_forced_off(void)
{
	arb__log_set_time(ARB_LOG_TIME_OFF);
	arb__log(ARB_LOG_INFO, "root/t", "event=bare_line");
}

static void
test_lines_start_with_an_rfc3339_time(void **state)
{
	char      out[1024];
	long long before, t, after;

	(void) state;
	unsetenv("JOURNAL_STREAM");
	before = wall_ms();
	capture(log_one_forced_on, out, sizeof(out));
	after = wall_ms();
	t = stamp_ms(out);
	if (t < 0) {
		fail_msg("no RFC 3339 time at the start of: %s", out);
	}
	// Milliseconds of the wall clock, in UTC.
	assert_true(t >= before - 1 && t <= after + 1);
	assert_non_null(strstr(out, "Z arbor["));
	assert_non_null(strstr(out, "]: info root/t event=stamped\n"));
	capture(log_one_forced_off, out, sizeof(out));
	assert_int_equal(strncmp(out, "arbor[", 6), 0);
	arb__log_set_time(ARB_LOG_TIME_AUTO);
}

// journal_env sets $JOURNAL_STREAM to stderr's device and inode (the
// journal's stream, as systemd sets it) or to other numbers.
static void
journal_env(bool ours)
{
	struct stat st;
	char        v[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long) st.st_dev,
	    (unsigned long long) st.st_ino + (ours ? 0 : 1));
	setenv("JOURNAL_STREAM", v, 1);
}

static void
log_on_journal(void)
{
	journal_env(true);
	arb__log_set_time(ARB_LOG_TIME_AUTO);
	arb__log(ARB_LOG_WARN, "root/j", "event=to_journal");
	arb__log(ARB_LOG_ERROR, "root/j", "event=err_journal");
}

static void
log_on_other_stream(void)
{
	journal_env(false);
	arb__log_set_time(ARB_LOG_TIME_AUTO);
	arb__log(ARB_LOG_WARN, "root/j", "event=not_journal");
}

static void
log_on_journal_forced(void)
{
	journal_env(true);
	setenv("ARB_LOG_TIME", "on", 1);
	arb__log_set_time(ARB_LOG_TIME_AUTO);
	arb__log(ARB_LOG_INFO, "root/j", "event=forced");
	unsetenv("ARB_LOG_TIME");
}

static void
log_off_by_env(void)
{
	unsetenv("JOURNAL_STREAM");
	setenv("ARB_LOG_TIME", "off", 1);
	arb__log_set_time(ARB_LOG_TIME_AUTO);
	arb__log(ARB_LOG_INFO, "root/j", "event=env_off");
	unsetenv("ARB_LOG_TIME");
}

// On the journal ($JOURNAL_STREAM is stderr's device:inode) the journal
// stamps lines: no time, and the syslog priority first, which journald
// turns into the entry's priority.  A $JOURNAL_STREAM inherited by a
// process whose stderr goes elsewhere changes nothing.  $ARB_LOG_TIME
// forces either way.
static void
test_the_journal_gets_no_time_and_a_priority(void **state)
{
	char out[1024];

	(void) state;
	arb__log_set_level(ARB_LOG_INFO);
	capture(log_on_journal, out, sizeof(out));
	assert_int_equal(
	    strncmp(out, "<4>arbor[", 9), 0); // warn is LOG_WARNING
	assert_non_null(strstr(out, "\n<3>arbor["));
	assert_non_null(strstr(out, "]: warn root/j event=to_journal\n"));
	capture(log_on_other_stream, out, sizeof(out));
	assert_true(stamp_ms(out) > 0);
	assert_non_null(strstr(out, "Z arbor["));
	capture(log_on_journal_forced, out, sizeof(out));
	assert_int_equal(strncmp(out, "<6>", 3), 0);
	assert_true(stamp_ms(out + 3) > 0);
	capture(log_off_by_env, out, sizeof(out));
	assert_int_equal(strncmp(out, "arbor[", 6), 0);
	unsetenv("JOURNAL_STREAM");
	arb__log_set_time(ARB_LOG_TIME_AUTO);
}

static void
test_level_names_and_numbers(void **state)
{
	(void) state;
	assert_int_equal(arb__log_level_parse("error"), ARB_LOG_ERROR);
	assert_int_equal(arb__log_level_parse("warn"), ARB_LOG_WARN);
	assert_int_equal(arb__log_level_parse("info"), ARB_LOG_INFO);
	assert_int_equal(arb__log_level_parse("debug"), ARB_LOG_DEBUG);
	assert_int_equal(arb__log_level_parse("1"), ARB_LOG_ERROR);
	assert_int_equal(arb__log_level_parse("4"), ARB_LOG_DEBUG);
	// Anything else is not a level (it was read as 0 = errors only).
	assert_int_equal(arb__log_level_parse("DEBUG"), 0);
	assert_int_equal(arb__log_level_parse("5"), 0);
	assert_int_equal(arb__log_level_parse("0"), 0);
	assert_int_equal(arb__log_level_parse("42"), 0);
	assert_int_equal(arb__log_level_parse(""), 0);
	assert_int_equal(arb__log_level_parse("verbose"), 0);
}

static void
log_utf8(void)
{
	char big[1000], path[2][128];
	int  i;

	arb__log_set_level(ARB_LOG_INFO);
	for (i = 0; i + 2 < (int) sizeof(big); i += 2) {
		memcpy(big + i, "\xc3\xa9", 2); // "é" after "é"
	}
	big[i] = '\0';
	// An exec child's Latin-1, a character cut short.
	arb__log(ARB_LOG_INFO, "root/u", "event=odd text=%s",
	    "ok\xc3\xa9 \xff\xe2\x82 end");
	// 435 bytes of "é" fit the line's text: an odd number.
	arb__log(ARB_LOG_INFO, "root/u", "event=cut x=%s", big);
	// Paths of 100 and 101 bytes: the line is cut to fit, one of the
	// two inside a character whatever the length of the pid.
	for (i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "root/%0*d", 95 + i, 0);
		arb__log(ARB_LOG_INFO, path[i], "event=long x=%s", big);
	}
	// A warning said twice: the repeat line quotes 200 bytes of it.
	arb__log(ARB_LOG_WARN, "root/u", "event=twice x=%s", big);
	arb__log(ARB_LOG_WARN, "root/u", "event=twice x=%s", big);
	arb__log(ARB_LOG_INFO, "root/u", "event=last");
}

// utf8_whole: every byte that starts a UTF-8 sequence is followed by the
// continuation bytes it announces (no character cut short).
static bool
utf8_whole(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p != '\0') {
		int want = *p >= 0xf0 ? 3
		    : *p >= 0xe0      ? 2
		    : *p >= 0xc0      ? 1
		                      : 0;

		if (*p >= 0x80 && *p < 0xc0) {
			return false; // continues nothing
		}
		for (p++; want > 0; want--, p++) {
			if ((*p & 0xc0) != 0x80) {
				return false;
			}
		}
	}
	return true;
}

// Log lines are UTF-8 text: a byte that is not UTF-8 is written as \xNN
// (journald would keep the line as a blob), and a line cut to fit is
// cut between two characters.
static void
test_lines_are_utf8(void **state)
{
	char out[8192];

	(void) state;
	capture(log_utf8, out, sizeof(out));
	assert_non_null(strstr(out,
	    "info root/u event=odd text=ok\xc3\xa9 \\xff\\xe2\\x82 end\n"));
	assert_int_equal(count_lines(out, "event=cut x=\xc3\xa9"), 1);
	assert_int_equal(count_lines(out, "event=long x=\xc3\xa9"), 2);
	assert_int_equal(count_lines(out, "event=repeated count=1 last="), 1);
	assert_int_equal(count_lines(out, "event=last"), 1);
	// Only the Latin-1 line has escapes; the others were cut whole.
	assert_int_equal(count_lines(out, "\\x"), 1);
	if (!utf8_whole(out)) {
		fail_msg("a character cut short in:\n%s", out);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names_and_numbers),
		cmocka_unit_test(test_lines_start_with_an_rfc3339_time),
		cmocka_unit_test(test_the_journal_gets_no_time_and_a_priority),
		cmocka_unit_test(
		    test_arb_log_has_the_layout_level_and_rate_limit),
		cmocka_unit_test(test_repeated_errors_are_folded_with_a_count),
		cmocka_unit_test(test_long_lines_stay_one_line),
		cmocka_unit_test(test_control_bytes_cannot_forge_lines),
		cmocka_unit_test(test_lines_are_utf8),
	};

	return ARB_TEST_RUN("core.log", tests, argc, argv);
}
