// SPDX-License-Identifier: MIT
// cgroup.c -- cgroup v2 for the exec children: one directory per node
// under the node's own cgroup, one sub-cgroup per exec child slot, whose
// whole subtree its shim kills with one write to cgroup.kill (SPEC 12).
//
// The node uses cgroups when it can: cgroup2 is mounted (found in
// /proc/self/mountinfo, wherever it is: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified beside v1 controllers), the node may create a
// directory in its own cgroup (root, or a delegated subtree: systemd's
// Delegate=yes), the kernel has cgroup.kill (5.14), and $ARBOR_CGROUP is
// not "off".  Otherwise the shims find descendants through /proc; nothing
// else changes.  The node's directory is "arbor.PID.START" (START: the
// node's start time in clock ticks, so a reused pid is never taken for
// the node): a node started later removes those of nodes that are gone
// (a SIGKILLed node cannot), never one of a live node.  This file is the
// only one that knows cgroupfs.  Thread: node.

#include "sup_rt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// cg_write writes text to dir/file; 0 or an errno value.
static int
cg_write(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 32];
	int  fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		return errno;
	}
	if (write(fd, text, strlen(text)) < 0) {
		e = errno;
	}
	close(fd);
	return e;
}

// cg_populated reads "populated N" from dir/cgroup.events (false when it
// cannot: the directory is gone).
static bool
cg_populated(const char *dir)
{
	char    path[PATH_MAX + 32], buf[256], *p;
	int     fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return false;
	}
	buf[n] = '\0';
	return (p = strstr(buf, "populated ")) != NULL && p[10] == '1';
}

// cg_mount finds where cgroup2 is mounted (mountinfo: "ID PARENT MAJ:MIN
// ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPER"), with the root
// of the hierarchy it shows.
static bool
cg_mount(char *mnt, size_t mlen, char *root, size_t rlen)
{
	FILE *f;
	char  line[4096];
	bool  found = false;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL) {
		return false;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *dash = strstr(line, " - ");
		char  r[PATH_MAX], m[PATH_MAX], type[32];

		if (dash == NULL || sscanf(dash + 3, "%31s", type) != 1 ||
		    strcmp(type, "cgroup2") != 0 ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2) {
			continue;
		}
		// (Paths with spaces are escaped as \040: a cgroup2 mount
		// with one is not used.)
		found = strchr(m, '\\') == NULL &&
		    snprintf(mnt, mlen, "%s", m) < (int) mlen &&
		    snprintf(root, rlen, "%s", r) < (int) rlen;
	}
	fclose(f);
	return found;
}

// cg_self finds the node's own cgroup ("0::PATH" in /proc/self/cgroup).
static bool
cg_self(char *buf, size_t len)
{
	FILE *f;
	char  line[PATH_MAX + 16];
	bool  found = false;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL) {
		return false;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			found = snprintf(buf, len, "%s", line + 3) < (int) len;
		}
	}
	fclose(f);
	return found;
}

// proc_start reads the start time (clock ticks since boot, field 22 of
// /proc/PID/stat) of pid; 0 when it is gone.
static unsigned long long
proc_start(pid_t pid)
{
	char               path[64], buf[1024], *p;
	int                fd, i;
	ssize_t            n;
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = '\0';
	// The fields after the command name (which may hold spaces and
	// parentheses) start after the last ')': p is at the space before
	// field 3 (state), and each step moves it one field on.
	if ((p = strrchr(buf, ')')) == NULL) {
		return 0;
	}
	p++;
	for (i = 3; i < 22 && p != NULL; i++) {
		p = strchr(p + 1, ' ');
	}
	if (p != NULL) {
		start = strtoull(p, NULL, 10);
	}
	return start;
}

// cg_remove empties (cgroup.kill) and removes dir and its sub-cgroups,
// waiting at most wait_ms for their processes to be gone.  A directory
// still populated after that is left (the next start tries again).
static void
cg_remove(const char *dir, int wait_ms)
{
	DIR           *d;
	struct dirent *de;
	int64_t        dl = arb__now_ms() + wait_ms;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[PATH_MAX + 8];
			if (de->d_type != DT_DIR || de->d_name[0] == '.') {
				continue;
			}
			if (snprintf(
			        sub, sizeof(sub), "%s/%s", dir, de->d_name)
			    < (int) sizeof(sub)) {
				cg_remove(sub, wait_ms);
			}
		}
		closedir(d);
	}
	if (cg_populated(dir)) {
		cg_write(dir, "cgroup.kill", "1");
		while (cg_populated(dir) && arb__now_ms() < dl) {
			poll(NULL, 0, 5);
		}
	}
	rmdir(dir);
}

// cg_clean_stale removes the directories of nodes that are gone.
static void
cg_clean_stale(const char *base)
{
	DIR           *d;
	struct dirent *de;

	if ((d = opendir(base)) == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int                pid;
		unsigned long long start;
		char               tail, path[PATH_MAX + 80];

		if (de->d_type != DT_DIR
		    || sscanf(
		           de->d_name, "arbor.%d.%llu%c", &pid, &start, &tail)
		        != 2
		    || pid <= 0 || proc_start((pid_t) pid) == start) {
			continue; // not ours, or its node lives
		}
		if (snprintf(path, sizeof(path), "%s/%s", base, de->d_name) <
		    (int) sizeof(path)) {
			arb__log(ARB_LOG_INFO, NULL,
			    "event=cgroup_cleaned dir=%s (its node is gone)",
			    path);
			cg_remove(path, 200);
		}
	}
	closedir(d);
}

void
arb__cg_open(arb__stree *tree)
{
	char        mnt[PATH_MAX], root[PATH_MAX], self[PATH_MAX];
	char        base[PATH_MAX * 2], dir[sizeof(base) + 64];
	const char *env = getenv("ARBOR_CGROUP");
	const char *why = NULL;
	const char *rel;
	struct stat st;
	size_t      rl;

	tree->cg_dir[0] = '\0';
	if (env != NULL && strcmp(env, "off") == 0) {
		why = "ARBOR_CGROUP=off";
	} else if (!cg_mount(mnt, sizeof(mnt), root, sizeof(root))) {
		why = "no cgroup2 mount";
	} else if (!cg_self(self, sizeof(self))) {
		why = "no cgroup v2 line in /proc/self/cgroup";
	}
	if (why != NULL) {
		goto off;
	}
	// /proc/self/cgroup names the cgroup from the hierarchy's root; the
	// mount may show a subtree of it.
	rl  = strcmp(root, "/") == 0 ? 0 : strlen(root);
	rel = self;
	if (rl > 0) {
		if (strncmp(self, root, rl) != 0 ||
		    (self[rl] != '/' && self[rl] != '\0')) {
			why = "the node's cgroup is outside the cgroup2 mount";
			goto off;
		}
		rel = self + rl;
	}
	snprintf(base, sizeof(base), "%s%s", mnt,
	    strcmp(rel, "/") == 0 ? "" : rel);
	cg_clean_stale(base);
	snprintf(dir, sizeof(dir), "%s/arbor.%d.%llu", base, (int) getpid(),
	    proc_start(getpid()));
	if (strlen(dir) >= sizeof(tree->cg_dir) - 16) {
		why = "cgroup path too long";
		goto off;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		arb__log(ARB_LOG_INFO, NULL,
		    "event=cgroup mode=off reason=\"mkdir %s: %s\" "
		    "(descendants of children are found through /proc)",
		    dir, strerror(errno));
		return;
	}
	{
		char kill_path[sizeof(dir) + 16];
		snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", dir);
		if (stat(kill_path, &st) != 0) {
			rmdir(dir);
			why = "no cgroup.kill (Linux before 5.14)";
			goto off;
		}
	}
	memcpy(tree->cg_dir, dir, strlen(dir) + 1); // (its length: above)
	arb__log(ARB_LOG_INFO, NULL, "event=cgroup mode=on dir=%s", dir);
	return;
off:
	arb__log(ARB_LOG_INFO, NULL,
	    "event=cgroup mode=off reason=\"%s\" (descendants of children are "
	    "found through /proc)",
	    why);
}

int
arb__cg_child(arb__stree *tree, uint32_t mbid, char *buf, size_t len)
{
	if (tree->cg_dir[0] == '\0') {
		return ARB_ENOENT;
	}
	if (snprintf(buf, len, "%s/c%u", tree->cg_dir, mbid) >= (int) len) {
		return ARB_ENOSPC;
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
		return arb__err_from_errno(errno);
	}
	return ARB_OK;
}

// arb__cg_join_failed logs, once per node, that a process could not be
// moved into the cgroup made for it (it goes on without: its descendants
// are found through /proc).
void
arb__cg_join_failed(arb__stree *tree, const char *dir, int e)
{
	if (tree->cg_join_failed++ == 0) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=cgroup_join_failed dir=%s error=\"%s\" (the child "
		    "runs without its cgroup: its descendants are found "
		    "through /proc; said once)",
		    dir, strerror(e));
	}
}

void
arb__cg_child_kill(arb__stree *tree, uint32_t mbid)
{
	char dir[PATH_MAX];

	if (tree->cg_dir[0] != '\0' &&
	    snprintf(dir, sizeof(dir), "%s/c%u", tree->cg_dir, mbid) <
	        (int) sizeof(dir) &&
	    cg_populated(dir)) {
		cg_write(dir, "cgroup.kill", "1");
	}
}

void
arb__cg_child_release(arb__stree *tree, uint32_t mbid)
{
	char dir[PATH_MAX];

	if (tree->cg_dir[0] != '\0' &&
	    snprintf(dir, sizeof(dir), "%s/c%u", tree->cg_dir, mbid) <
	        (int) sizeof(dir)) {
		rmdir(dir); // EBUSY while populated: arb__cg_close takes it
	}
}

void
arb__cg_close(arb__stree *tree)
{
	if (tree->cg_dir[0] != '\0') {
		cg_remove(tree->cg_dir, 1000);
		tree->cg_dir[0] = '\0';
	}
}
