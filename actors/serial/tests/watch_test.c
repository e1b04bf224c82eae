// SPDX-License-Identifier: MIT
// watch_test.c -- noticing a device path (actors/serial/watch.c): the
// watch follows missing directories down as they appear and back up as
// they go, reports the path's last component appearing (created or moved
// in, as udev does with by-id links), ignores other names, and keeps
// quiet while disarmed.  Every wait is a poll(2) with a deadline.

#include "arb_test.h"

#include "watch.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64], d1[128], d2[128], d3[128], link_[200], tmp[200];

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(root, sizeof(root), "watch");
	snprintf(d1, sizeof(d1), "%s/dev", root);
	snprintf(d2, sizeof(d2), "%s/dev/serial", root);
	snprintf(d3, sizeof(d3), "%s/dev/serial/by-id", root);
	snprintf(link_, sizeof(link_), "%s/usb-X-if00", d3);
	snprintf(tmp, sizeof(tmp), "%s/.tmp", d3);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	assert_int_equal(arb_test_rmtree(root), 0);
	return 0;
}

// readable waits at most ms for an event on the watch.
static bool
readable(serial_watch *w, int ms)
{
	struct pollfd pf = { w->fd, POLLIN, 0 };

	return poll(&pf, 1, ms) == 1;
}

// settle reads every event until none comes for 50 ms and tells whether
// any read said the path is there.
static bool
settle(serial_watch *w)
{
	bool seen = false;
	int  i;

	for (i = 0; i < 100 && readable(w, 50); i++) {
		seen = serial_watch_read(w) || seen;
	}
	return seen;
}

static void
test_follows_directories_down_and_up(void **state)
{
	serial_watch w;
	int          round;

	(void) state;
	assert_int_equal(serial_watch_open(&w, link_), 0);
	assert_false(serial_watch_arm(&w)); // nothing there yet
	for (round = 0; round < 2; round++) {
		assert_int_equal(mkdir(d1, 0755), 0);
		assert_false(settle(&w));
		assert_int_equal(mkdir(d2, 0755), 0);
		assert_int_equal(mkdir(d3, 0755), 0);
		assert_false(settle(&w));
		// Another device's link is no news.
		assert_int_equal(symlink("/dev/null", tmp), 0);
		assert_false(settle(&w));
		// Ours, moved into place as udev does.
		assert_int_equal(rename(tmp, link_), 0);
		assert_true(readable(&w, 2000));
		assert_true(settle(&w));
		// Unplug: the link and the directories go.
		assert_int_equal(unlink(link_), 0);
		assert_int_equal(rmdir(d3), 0);
		assert_int_equal(rmdir(d2), 0);
		assert_int_equal(rmdir(d1), 0);
		assert_false(settle(&w));
	}
	serial_watch_close(&w);
	serial_watch_close(&w); // a harmless no-op
}

static void
test_created_at_once_and_disarmed(void **state)
{
	serial_watch w;

	(void) state;
	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	assert_int_equal(mkdir(d3, 0755), 0);
	assert_int_equal(serial_watch_open(&w, link_), 0);
	assert_false(serial_watch_arm(&w));
	assert_int_equal(symlink("/dev/null", link_), 0);
	assert_true(readable(&w, 2000));
	assert_true(settle(&w));
	// Armed again with the path there: it says so at once.
	assert_true(serial_watch_arm(&w));
	// Disarmed (the port is open): no events.
	serial_watch_disarm(&w);
	assert_int_equal(unlink(link_), 0);
	assert_int_equal(symlink("/dev/null", link_), 0);
	assert_false(readable(&w, 100));
	serial_watch_close(&w);
	assert_int_equal(unlink(link_), 0);
	assert_int_equal(rmdir(d3), 0);
	assert_int_equal(rmdir(d2), 0);
	assert_int_equal(rmdir(d1), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_follows_directories_down_and_up, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_created_at_once_and_disarmed, setup, teardown),
	};

	return ARB_TEST_RUN("serial.watch", tests, argc, argv);
}
