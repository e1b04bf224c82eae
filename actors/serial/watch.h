// SPDX-License-Identifier: MIT
// watch.h -- noticing that a device path has (re)appeared, with inotify.
//
// A stable path such as /dev/serial/by-id/usb-FTDI_...-if00-port0 is a
// symlink that udev removes at unplug and creates again at replug; udev
// also removes /dev/serial/by-id (and /dev/serial) when the last serial
// device goes.  So the watch is on the deepest directory of the path that
// exists: when a missing directory appears the watch moves down to it, and
// when the watched directory itself goes it moves up.  An event naming the
// path's last component (created, moved in, attributes changed) is what
// the actor waits for; any event makes serial_watch_read look again.
// Thread: the caller's (no shared state).

#ifndef ARBOR_SERIAL_WATCH_H
#define ARBOR_SERIAL_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct serial_watch {
	int    fd;  // inotify descriptor, -1 when closed
	int    wd;  // current watch, -1 when none
	size_t dir; // length of the prefix of path watched
	char   path[PATH_MAX];
} serial_watch;

// serial_watch_open makes an inotify instance (non-blocking, CLOEXEC) for
// path (copied; absolute or relative).  Returns 0 or an errno value.
// Nothing is watched until serial_watch_arm.
int serial_watch_open(serial_watch *w, const char *path);

// serial_watch_close releases everything; a harmless no-op when closed.
void serial_watch_close(serial_watch *w);

// serial_watch_arm starts watching the deepest existing directory of the
// path and returns true when the path exists already (the caller should
// try it now).  Errors leave the watch unarmed and return false: the
// caller's retry timer still runs.
bool serial_watch_arm(serial_watch *w);

// serial_watch_disarm stops watching (the port is open: directory events
// are of no interest meanwhile).  Events already queued are discarded.
void serial_watch_disarm(serial_watch *w);

// serial_watch_read drains the events (call it when w->fd is readable),
// moves the watch up or down as directories come and go, and returns true
// when the path exists now and something happened to it or to a
// directory on its way.
bool serial_watch_read(serial_watch *w);

#endif // ARBOR_SERIAL_WATCH_H
