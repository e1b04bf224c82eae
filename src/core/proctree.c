// SPDX-License-Identifier: MIT
// proctree.c -- the descendants of a process, read from /proc
// (proctree.h).  libc only: arbor-shim is built from this file too.
// Thread: any.

#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pid_t
arb__proctree_ppid(pid_t pid)
{
	char    path[64], buf[512], *p;
	int     fd, ppid;
	ssize_t n;
	char    state;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return -1;
	}
	buf[n] = '\0';
	// The command name may hold spaces and parentheses: the fields
	// (state, ppid, ...) follow the last ')'.
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d", &state, &ppid) != 2) {
		return -1;
	}
	return (pid_t) ppid;
}

void
arb__proctree_comm(pid_t pid, char *buf, size_t len)
{
	char    path[64];
	int     fd;
	ssize_t n = -1;

	if (len == 0) {
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n]                  = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

typedef struct proc {
	pid_t pid, ppid;
	int   mark; // 0 unknown, 1 descendant, 2 skipped
} proc;

int
arb__proctree_list(pid_t root, const pid_t *skip, size_t nskip,
    pid_t **pidsp, size_t *np)
{
	proc          *v = NULL, *nv;
	pid_t         *out;
	size_t         n = 0, cap = 0, i, j, k = 0;
	DIR           *d;
	struct dirent *de;
	int            more;

	*pidsp = NULL;
	*np    = 0;
	if ((d = opendir("/proc")) == NULL) {
		return errno;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long  pid = strtol(de->d_name, &end, 10);
		pid_t pp;

		if (*end != '\0' || pid <= 0 || pid == root ||
		    (pp = arb__proctree_ppid((pid_t) pid)) < 0) {
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 512;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				closedir(d);
				free(v);
				return ENOMEM;
			}
			v = nv;
		}
		v[n].pid  = (pid_t) pid;
		v[n].ppid = pp;
		v[n].mark = 0;
		for (j = 0; j < nskip; j++) {
			if (skip[j] == (pid_t) pid) {
				v[n].mark = 2;
			}
		}
		if (v[n].mark == 0 && pp == root) {
			v[n].mark = 1;
		}
		n++;
	}
	closedir(d);
	// A process takes its parent's mark; /proc's order does not put
	// parents first, so spread until nothing changes (the depth of the
	// tree bounds the rounds).
	do {
		more = 0;
		for (i = 0; i < n; i++) {
			if (v[i].mark != 0) {
				continue;
			}
			for (j = 0; j < n; j++) {
				if (v[j].mark != 0 && v[j].pid == v[i].ppid) {
					v[i].mark = v[j].mark;
					more      = 1;
					break;
				}
			}
		}
	} while (more);
	if ((out = malloc((n ? n : 1) * sizeof(*out))) == NULL) {
		free(v);
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (v[i].mark == 1) {
			out[k++] = v[i].pid;
		}
	}
	free(v);
	*pidsp = out;
	*np    = k;
	return 0;
}
