// SPDX-License-Identifier: MIT
// watch.c -- inotify on the deepest existing directory of a path
// (watch.h).  Thread: the caller's.

#include "watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                            \
	(IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF  \
	    | IN_ONLYDIR)

// parent_len is the length of the directory part of path[0..len): the
// prefix before the last '/' ("/" itself is kept as 1), or 0 for none
// (a relative name: the current directory).
static size_t
parent_len(const char *path, size_t len)
{
	while (len > 0 && path[len - 1] == '/') { // trailing slashes
		len--;
	}
	while (len > 0 && path[len - 1] != '/') {
		len--;
	}
	while (len > 1 && path[len - 1] == '/') {
		len--;
	}
	return len;
}

static int
add_dir(serial_watch *w, size_t len)
{
	char d[PATH_MAX];

	if (len == 0) {
		snprintf(d, sizeof(d), ".");
	} else {
		memcpy(d, w->path, len);
		d[len] = '\0';
	}
	return inotify_add_watch(w->fd, d, WATCH_MASK);
}

int
serial_watch_open(serial_watch *w, const char *path)
{
	memset(w, 0, sizeof(*w));
	w->wd = -1;
	if (strlen(path) >= sizeof(w->path) || path[0] == '\0') {
		w->fd = -1;
		return ENAMETOOLONG;
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		return errno;
	}
	return 0;
}

void
serial_watch_close(serial_watch *w)
{
	if (w->fd >= 0) {
		close(w->fd); // drops every watch
	}
	w->fd = -1;
	w->wd = -1;
}

static bool
path_exists(const serial_watch *w)
{
	return access(w->path, F_OK) == 0; // follows a symlink
}

// arm watches the deepest existing directory, then drops the previous
// watch if it was another directory.  A directory that appears between
// two tries is picked up by the bounded retry.
static void
arm(serial_watch *w)
{
	size_t deepest = parent_len(w->path, strlen(w->path));
	int    old = w->wd, wd = -1, tries;
	size_t len = deepest, next;
	char   d[PATH_MAX];

	for (tries = 0; tries < 8; tries++) {
		len = deepest;
		for (;;) {
			if ((wd = add_dir(w, len)) >= 0) {
				break;
			}
			if ((errno != ENOENT && errno != ENOTDIR)
			    || len <= 1) {
				break;
			}
			len = parent_len(w->path, len);
		}
		if (wd < 0 || len == deepest) {
			break;
		}
		// An ancestor: did the next directory appear meanwhile?
		next = deepest;
		while (parent_len(w->path, next) > len) {
			next = parent_len(w->path, next);
		}
		memcpy(d, w->path, next);
		d[next] = '\0';
		if (access(d, F_OK) != 0) {
			break;
		}
		if (wd != old) {
			inotify_rm_watch(w->fd, wd);
		}
		wd = -1;
	}
	if (old >= 0 && old != wd) {
		inotify_rm_watch(w->fd, old); // its IN_IGNORED is skipped
	}
	w->wd = wd;
	w->dir = wd >= 0 ? len : 0;
}

bool
serial_watch_arm(serial_watch *w)
{
	if (w->fd < 0) {
		return false;
	}
	arm(w);
	return path_exists(w);
}

void
serial_watch_disarm(serial_watch *w)
{
	char buf[4096];

	if (w->fd < 0) {
		return;
	}
	if (w->wd >= 0) {
		inotify_rm_watch(w->fd, w->wd);
		w->wd = -1;
	}
	while (read(w->fd, buf, sizeof(buf)) > 0) { }
}

// next_name returns the component of path that follows the watched
// directory (the last component when the deepest directory is watched).
static const char *
next_name(const serial_watch *w, size_t *lenp)
{
	const char *p = w->path + w->dir;
	size_t      n;

	while (*p == '/') {
		p++;
	}
	n = strcspn(p, "/");
	*lenp = n;
	return p;
}

bool
serial_watch_read(serial_watch *w)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t     n;
	bool        rearm = false, hit = false;
	size_t      deepest, nl;
	const char *name;

	if (w->fd < 0) {
		return false;
	}
	deepest = parent_len(w->path, strlen(w->path));
	name = next_name(w, &nl);
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;
		while (p < buf + n) {
			const struct inotify_event *ev = (const void *) p;
			p += sizeof(*ev) + ev->len;
			if (ev->wd != w->wd || w->wd < 0) {
				continue; // a watch dropped earlier
			}
			if (ev->mask
			    & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				rearm = true;
				if (ev->mask & IN_IGNORED) {
					w->wd = -1; // already gone
				}
				continue;
			}
			if (ev->len == 0 || strlen(ev->name) != nl
			    || memcmp(ev->name, name, nl) != 0) {
				continue;
			}
			if (w->dir == deepest) {
				hit = true;
			} else {
				rearm = true; // the next directory appeared
			}
		}
	}
	if (rearm) {
		arm(w);
	}
	return (hit || rearm) && path_exists(w);
}
