// SPDX-License-Identifier: MIT
// rundir.c -- the node's run directory: a live node holds a lock on it,
// and a starting node removes what dead nodes left behind.
//
// A node that made its own run directory ("arbor-PID-XXXXXX" under
// $XDG_RUNTIME_DIR or /tmp) removes it when it closes; a SIGKILLed node,
// or one that exits 71 (abandoned threads may still use it), cannot, and
// its socket files stay.  So every node holds flock(LOCK_EX) on its run
// directory for as long as it lives (the kernel drops it when the process
// dies, however it dies), and a starting node removes each such directory
// of its base that belongs to its user and whose node is gone: its lock
// is free AND its pid (from the name) is not alive.  Either sign of life
// keeps a directory: a node of an older arbor (no lock) while its pid
// lives, a node in another pid namespace (its pid looks dead here) while
// it holds the lock, a node between mkdtemp and its lock.  A run
// directory given in arb_node_opts is only locked; when no other node
// holds it, the socket files a dead node left in it are removed.
// Thread: node (arb_node_open).

#include "node_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	ARB_UNUSED(sb);
	ARB_UNUSED(flag);
	ARB_UNUSED(f);
	remove(path);
	return 0;
}

// pid_alive: kill(pid, 0) finds a process (EPERM: one of another user).
static bool
pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

// lock_dir opens dir and takes its lock without waiting: the fd, -1 with
// errno EWOULDBLOCK when a live node holds it, -1 on another error.
static int
lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

// rm_sockets removes the socket files directly in dir.
static void
rm_sockets(const char *dir)
{
	DIR           *d;
	struct dirent *de;
	struct stat    st;
	int            n = 0;

	if ((d = opendir(dir)) == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)
		        == 0
		    && S_ISSOCK(st.st_mode)
		    && unlinkat(dirfd(d), de->d_name, 0) == 0) {
			n++;
		}
	}
	closedir(d);
	if (n > 0) {
		arb__log(ARB_LOG_INFO, NULL,
		    "event=run_dir_cleaned dir=%s sockets=%d (left by a node "
		    "that is gone)",
		    dir, n);
	}
}

void
arb__rundir_clean_stale(const char *base)
{
	DIR           *d;
	struct dirent *de;
	struct stat    st;
	uid_t          uid = geteuid();

	if ((d = opendir(base)) == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		int  pid, end = 0, fd;

		// "arbor-PID-XXXXXX", ours, a directory (not a symlink).
		if (sscanf(de->d_name, "arbor-%d-%*6[A-Za-z0-9]%n", &pid, &end)
		        != 1
		    || end == 0 || de->d_name[end] != '\0' || pid <= 0
		    || pid == (int) getpid()
		    || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)
		        != 0
		    || !S_ISDIR(st.st_mode) || st.st_uid != uid
		    || snprintf(path, sizeof(path), "%s/%s", base, de->d_name)
		        >= (int) sizeof(path)) {
			continue;
		}
		if (pid_alive((pid_t) pid) || (fd = lock_dir(path)) < 0) {
			continue; // its node lives (or we cannot tell)
		}
		arb__log(ARB_LOG_INFO, NULL,
		    "event=run_dir_cleaned dir=%s (its node %d is gone)", path,
		    pid);
		nftw(path, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
		close(fd);
	}
	closedir(d);
}

int
arb__rundir_lock(arb_node *node)
{
	const char *dir = node->addr.run_dir;

	if ((node->run_lock = lock_dir(dir)) >= 0) {
		if (!node->own_run_dir) {
			rm_sockets(dir);
		}
		return ARB_OK;
	}
	if (errno == EWOULDBLOCK) {
		arb__log(ARB_LOG_ERROR, NULL,
		    "event=run_dir_busy dir=%s (another live node uses it)",
		    dir);
		return ARB_EEXIST;
	}
	return arb__err_from_errno(errno);
}
