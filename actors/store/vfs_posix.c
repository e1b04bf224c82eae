// SPDX-License-Identifier: MIT
// vfs_posix.c -- the store's file-system interface on POSIX (vfs.h).
//
// Every name is resolved against one directory fd (openat & co), so the
// store never builds paths and a renamed parent does not matter.  All fds
// are O_CLOEXEC.  Thread: any (no shared mutable state besides the fds).

#include "vfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

typedef struct posix_vfs {
	slog_vfs vfs;
	int      dirfd;
} posix_vfs;

struct slog_file {
	int fd;
};

static int
err(void)
{
	return errno != 0 ? errno : EIO;
}

static int
px_open(slog_vfs *v, const char *name, int flags, slog_file **fp)
{
	posix_vfs *p  = (posix_vfs *) v;
	int        of = O_CLOEXEC;
	int        fd;
	slog_file *f;

	of |= (flags & SLOG_O_RDWR) ? O_RDWR : O_RDONLY;
	if (flags & SLOG_O_CREATE) {
		of |= O_CREAT;
		if (flags & SLOG_O_EXCL) {
			of |= O_EXCL;
		}
	}
	do {
		fd = openat(p->dirfd, name, of, 0644);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		return err();
	}
	if ((f = malloc(sizeof(*f))) == NULL) {
		close(fd);
		return ENOMEM;
	}
	f->fd = fd;
	*fp   = f;
	return 0;
}

static void
px_close(slog_file *f)
{
	if (f != NULL) {
		close(f->fd);
		free(f);
	}
}

static int
px_read(slog_file *f, void *buf, size_t n, uint64_t off, size_t *got)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(f->fd, (char *) buf + done, n - done,
		    (off_t) (off + done));
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			return err();
		}
		if (r == 0) {
			break;
		}
		done += (size_t) r;
	}
	*got = done;
	return 0;
}

static int
px_write(slog_file *f, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r;

		errno = 0;
		r     = pwrite(f->fd, (const char *) buf + done, n - done,
		        (off_t) (off + done));
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			return err();
		}
		if (r == 0) {
			// No progress and no errno: the disk is full.
			return ENOSPC;
		}
		done += (size_t) r;
	}
	return 0;
}

static int
px_datasync(slog_file *f)
{
	return fdatasync(f->fd) == 0 ? 0 : err();
}

static int
px_truncate(slog_file *f, uint64_t size)
{
	int rv;

	do {
		rv = ftruncate(f->fd, (off_t) size);
	} while (rv < 0 && errno == EINTR);
	return rv == 0 ? 0 : err();
}

static int
px_size(slog_file *f, uint64_t *sizep)
{
	struct stat st;

	if (fstat(f->fd, &st) != 0) {
		return err();
	}
	*sizep = (uint64_t) st.st_size;
	return 0;
}

static int
px_opendir(posix_vfs *p, const char *dir)
{
	return openat(p->dirfd, dir[0] != '\0' ? dir : ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int
px_sync_dir(slog_vfs *v, const char *dir)
{
	int fd = px_opendir((posix_vfs *) v, dir);
	int rv = 0;

	if (fd < 0) {
		return err();
	}
	if (fsync(fd) != 0) {
		rv = err();
	}
	close(fd);
	return rv;
}

static int
px_rename(slog_vfs *v, const char *from, const char *to)
{
	posix_vfs *p = (posix_vfs *) v;

	return renameat(p->dirfd, from, p->dirfd, to) == 0 ? 0 : err();
}

static int
px_link(slog_vfs *v, const char *from, const char *to)
{
	posix_vfs *p = (posix_vfs *) v;

	return linkat(p->dirfd, from, p->dirfd, to, 0) == 0 ? 0 : err();
}

static int
px_unlink(slog_vfs *v, const char *name)
{
	posix_vfs *p = (posix_vfs *) v;

	return unlinkat(p->dirfd, name, 0) == 0 ? 0 : err();
}

static int
px_mkdir(slog_vfs *v, const char *name)
{
	posix_vfs *p = (posix_vfs *) v;

	return mkdirat(p->dirfd, name, 0755) == 0 ? 0 : err();
}

static int
px_list(slog_vfs *v, const char *dir, int (*cb)(void *, const char *),
    void *arg)
{
	int            fd = px_opendir((posix_vfs *) v, dir);
	DIR           *d;
	struct dirent *e;
	int            rv = 0;

	if (fd < 0) {
		return err();
	}
	if ((d = fdopendir(fd)) == NULL) {
		rv = err();
		close(fd);
		return rv;
	}
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			rv = errno;
			break;
		}
		if (strcmp(e->d_name, ".") == 0
		    || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		if ((rv = cb(arg, e->d_name)) != 0) {
			break;
		}
	}
	closedir(d);
	return rv;
}

static int
px_space(slog_vfs *v, uint64_t *availp, uint64_t *totalp)
{
	posix_vfs     *p = (posix_vfs *) v;
	struct statvfs s;

	if (fstatvfs(p->dirfd, &s) != 0) {
		return err();
	}
	*availp = (uint64_t) s.f_bavail * s.f_frsize;
	*totalp = (uint64_t) s.f_blocks * s.f_frsize;
	return 0;
}

static void
px_destroy(slog_vfs *v)
{
	posix_vfs *p = (posix_vfs *) v;

	close(p->dirfd);
	free(p);
}

// mkdir_p creates dir and its missing parents.
static int
mkdir_p(const char *dir)
{
	char   path[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		return ENAMETOOLONG;
	}
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0') {
			continue;
		}
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			return err();
		}
		path[i] = i < n ? '/' : '\0';
	}
	return 0;
}

int
slog_vfs_posix_new(const char *dir, slog_vfs **vp)
{
	posix_vfs *p;
	int        rv, fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) {
			return err();
		}
		if ((rv = mkdir_p(dir)) != 0) {
			return rv;
		}
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			return err();
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return ENOMEM;
	}
	p->dirfd        = fd;
	p->vfs.open     = px_open;
	p->vfs.close    = px_close;
	p->vfs.read     = px_read;
	p->vfs.write    = px_write;
	p->vfs.datasync = px_datasync;
	p->vfs.truncate = px_truncate;
	p->vfs.size     = px_size;
	p->vfs.sync_dir = px_sync_dir;
	p->vfs.rename   = px_rename;
	p->vfs.link     = px_link;
	p->vfs.unlink   = px_unlink;
	p->vfs.mkdir    = px_mkdir;
	p->vfs.list     = px_list;
	p->vfs.space    = px_space;
	p->vfs.destroy  = px_destroy;
	*vp             = &p->vfs;
	return 0;
}

void
slog_vfs_destroy(slog_vfs *v)
{
	if (v != NULL) {
		v->destroy(v);
	}
}
