// SPDX-License-Identifier: MIT
// vfs.h -- the store's file-system interface (sqlite's VFS, smaller).
//
// Every byte the store reads or writes and every directory change goes
// through one slog_vfs, so the tests can run the store on a simulated
// disk that loses power (vfs_sim.c in tests/unit/store) and the real
// store runs on POSIX (vfs_posix.c).  Names are relative to the store's
// directory; a name may contain one '/' for the subdirectory
// "quarantine".  Functions return 0 or a positive errno value (ENOSPC,
// EIO, ENOENT, EEXIST...).  An implementation must be safe to call from
// two threads at once (the owner's loop reads, the commit thread writes).

#ifndef ARBOR_STORE_VFS_H
#define ARBOR_STORE_VFS_H

#include <stddef.h>
#include <stdint.h>

typedef struct slog_vfs  slog_vfs;
typedef struct slog_file slog_file; // defined by each implementation

#define SLOG_O_RDONLY 0x0
#define SLOG_O_RDWR   0x1
#define SLOG_O_CREATE 0x2 // create when missing (0644)
#define SLOG_O_EXCL   0x4 // with SLOG_O_CREATE: EEXIST when present

struct slog_vfs {
	// open opens name with SLOG_O_* flags.  On success *fp must be
	// released with close.
	int (*open)(slog_vfs *v, const char *name, int flags, slog_file **fp);
	// close releases f (NULL is a harmless no-op).  Unsynced data stays
	// as unsynced as it was.
	void (*close)(slog_file *f);
	// read reads up to n bytes at off; *got < n only at end of file.
	int (*read)(slog_file *f, void *buf, size_t n, uint64_t off,
	    size_t *got);
	// write writes all n bytes at off, or fails (a short write is
	// reported as its errno, ENOSPC when the kernel gave none).
	int (*write)(slog_file *f, const void *buf, size_t n, uint64_t off);
	// datasync makes the file's data and size durable (fdatasync).
	int (*datasync)(slog_file *f);
	int (*truncate)(slog_file *f, uint64_t size);
	int (*size)(slog_file *f, uint64_t *sizep);
	// sync_dir makes the directory's entries durable ("" = the store's
	// directory).
	int (*sync_dir)(slog_vfs *v, const char *dir);
	int (*rename)(slog_vfs *v, const char *from, const char *to);
	// link gives the file `from` a second name `to` (quarantine copies
	// of segments that stay in use).
	int (*link)(slog_vfs *v, const char *from, const char *to);
	int (*unlink)(slog_vfs *v, const char *name);
	// mkdir creates a subdirectory (EEXIST when present).
	int (*mkdir)(slog_vfs *v, const char *name);
	// list calls cb for every entry of dir ("" = the store's directory)
	// but "." and ".."; a non-zero return of cb stops the walk and is
	// returned.
	int (*list)(slog_vfs *v, const char *dir,
	    int (*cb)(void *arg, const char *name), void *arg);
	// space reports the bytes available to the store on its file
	// system and the file system's size (statvfs).
	int (*space)(slog_vfs *v, uint64_t *availp, uint64_t *totalp);
	// destroy releases v itself (NULL-safe through slog_vfs_destroy).
	void (*destroy)(slog_vfs *v);
};

// slog_vfs_posix_new makes the POSIX implementation rooted at dir, which
// is created (with missing parents, 0755) when absent.  On success *vp
// must be released with slog_vfs_destroy.  Returns 0 or an errno.
int slog_vfs_posix_new(const char *dir, slog_vfs **vp);

// slog_vfs_destroy releases v; NULL is a harmless no-op.
void slog_vfs_destroy(slog_vfs *v);

#endif // ARBOR_STORE_VFS_H
