// SPDX-License-Identifier: MIT
// pathcheck.c -- the checks of pathcheck.h: the control socket's
// directory must be private (a directory, not a symbolic link, this
// user's, no access for group or others) or creatable, the socket path a
// socket or missing, and the run directory short enough for the
// mailboxes' socket addresses and writable.  They only look (lstat,
// faccessat; for a missing directory, one is made beside it and removed
// again, to see that `arbor run` could make it).  No state.  Thread: any.

#include "pathcheck.h"

#include <arbor/arbor.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// dir_problem writes why dir (the directory of a control socket, or a
// node's run directory) cannot be used as it is, or returns false: it
// must be a directory, not a symbolic link, owned by this user, in which
// this user can create files; a private one (the control socket's)
// also gives group and others no access.  Missing, it must be creatable
// (its parent a directory this user can write to).
static bool
dir_problem(const char *dir, bool private, char *why, size_t len)
{
	struct stat st;
	char        copy[PATH_MAX], probe[PATH_MAX + 32];
	const char *parent;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(why, len, "%s: %s", dir, strerror(errno));
			return true;
		}
		snprintf(copy, sizeof(copy), "%s", dir);
		parent = dirname(copy);
		if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, len,
			    "cannot create %s: %s is not a directory", dir,
			    parent);
			return true;
		}
		if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS)
		    != 0) {
			snprintf(why, len, "cannot create %s: %s: %s", dir,
			    parent, strerror(errno));
			return true;
		}
		// Permissions say yes, the file system may still say no
		// (/proc, /sys, a full inode table, root's own limits): a
		// directory is made beside it and removed again.  Never dir
		// itself: a node starting at the same moment (another unit
		// whose ExecStartPre is `arbor check`) would find the
		// directory it just made gone, or make it between our lstat
		// and mkdir and have this check say "File exists".
		errno = ENAMETOOLONG;
		if (snprintf(probe, sizeof(probe), "%s/.arbor-check-XXXXXX",
		        parent)
		        >= (int) sizeof(probe)
		    || mkdtemp(probe) == NULL) {
			snprintf(why, len, "cannot create %s: %s", dir,
			    strerror(errno));
			return true;
		}
		(void) rmdir(probe);
		return false; // `arbor run` creates it (0700)
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len,
		    "%s is not a directory (a symbolic link is refused)", dir);
		return true;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, len,
		    "%s belongs to uid %u, not to this node's uid %u", dir,
		    (unsigned) st.st_uid, (unsigned) geteuid());
		return true;
	}
	// A directory every user shares (/tmp, /) is never to be closed:
	// that would break the others, so no chmod is suggested for it.
	if (private && (st.st_mode & 077) != 0
	    && ((st.st_mode & (S_ISVTX | S_IWOTH)) != 0
	        || strcmp(dir, "/") == 0)) {
		snprintf(why, len,
		    "%s has mode %04o, a directory shared with other users: "
		    "the socket needs a private directory of its own (mode "
		    "0700, e.g. %s%sarbor-%u/NAME.sock)",
		    dir, (unsigned) (st.st_mode & 07777), dir,
		    strcmp(dir, "/") == 0 ? "" : "/", (unsigned) geteuid());
		return true;
	}
	if (private && (st.st_mode & 077) != 0) {
		snprintf(why, len,
		    "%s has mode %04o: group and others must have no access "
		    "(chmod 700 %s, or use a private directory)",
		    dir, (unsigned) (st.st_mode & 07777), dir);
		return true;
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		snprintf(why, len, "%s: cannot create files in it: %s", dir,
		    strerror(errno));
		return true;
	}
	return false;
}

// kind_of names the kind of file of mode.
static const char *
kind_of(mode_t mode)
{
	return S_ISREG(mode)    ? "a regular file"
	    : S_ISLNK(mode)     ? "a symbolic link"
	    : S_ISCHR(mode)     ? "a character device"
	    : S_ISBLK(mode)     ? "a block device"
	    : S_ISFIFO(mode)    ? "a FIFO"
	                        : "a file of another kind";
}

int
arb__control_path_check(const char *path, char *why, size_t len)
{
	char        copy[ARB__SOCK_PATH_MAX], lock[ARB__SOCK_PATH_MAX + 8];
	struct stat st;

	// Never remove a file that is not a socket (a typo in node.control).
	// Said first: `control: /run/arbor` (a directory, not the socket in
	// it) is that mistake, whatever the mode of the directory above.
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(why, len,
			    "the path exists and is not a socket (a "
			    "directory: node.control names the socket file "
			    "itself, not its directory)");
		} else {
			snprintf(why, len,
			    "the path exists and is not a socket (%s)",
			    kind_of(st.st_mode));
		}
		return ARB_EXIT_CONFIG;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	if (dir_problem(dirname(copy), true, why, len)) {
		return ARB_EXIT_CONFIG;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (lstat(lock, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(
		    why, len, "%s exists and is not a regular file", lock);
		return ARB_EXIT_CONFIG;
	}
	return 0;
}

int
arb__run_dir_check(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (strlen(dir) > ARB__RUN_DIR_MAX) {
		snprintf(why, len,
		    "longer than %d bytes: the node's sockets in it "
		    "(RUN_DIR/N.mbox) would not fit in a socket address",
		    ARB__RUN_DIR_MAX);
		return ARB_EXIT_CONFIG;
	}
	// A symbolic link to a directory is used as the directory.
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
			snprintf(why, len, "%s: cannot create files in it: %s",
			    dir, strerror(errno));
			return ARB_EXIT_CONFIG;
		}
		return 0;
	}
	return dir_problem(dir, false, why, len) ? ARB_EXIT_CONFIG : 0;
}
