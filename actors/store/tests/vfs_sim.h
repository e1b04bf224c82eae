// SPDX-License-Identifier: MIT
// vfs_sim.h -- a disk that loses power: an in-memory slog_vfs for the
// store's tests.
//
// Every file keeps two contents: what reads see, and what is durable
// (as of its last datasync).  Writes and truncations since the last
// datasync are remembered in order, and so are directory changes
// (create, rename, link, unlink) since the directory's last sync.  A
// power cut (vfs_sim_crash_after, or vfs_sim_crash) makes every later
// operation fail with EIO.  vfs_sim_reboot then builds the disk the
// machine finds at power-up: each remembered write is dropped, kept, or
// kept torn -- each of its 512-byte sectors kept or not, independently,
// so sectors land in any order --, each truncation and each directory
// change is applied or not, all from a seeded generator.  Thread: any
// (one mutex).

#ifndef ARBOR_TEST_VFS_SIM_H
#define ARBOR_TEST_VFS_SIM_H

#include "vfs.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct vfs_sim vfs_sim;

typedef enum vfs_sim_cut {
	VFS_SIM_RANDOM = 0, // drop / keep / tear each pending change
	VFS_SIM_LOSE_ALL,   // keep only what was synced
	VFS_SIM_KEEP_ALL,   // keep everything written (a SIGKILL)
} vfs_sim_cut;

// vfs_sim_new makes an empty disk; seed drives every random choice.
vfs_sim  *vfs_sim_new(uint64_t seed);
slog_vfs *vfs_sim_vfs(vfs_sim *v);
// vfs_sim_free releases the disk (after slog_close).
void vfs_sim_free(vfs_sim *v);

// vfs_sim_crash_after cuts the power when n more changing operations
// have started (write, datasync, truncate, create, rename, link, unlink,
// sync_dir): the n-th fails with EIO, and so does everything after it.
void vfs_sim_crash_after(vfs_sim *v, uint64_t n);
// vfs_sim_disarm cancels a vfs_sim_crash_after that has not fired.
void vfs_sim_disarm(vfs_sim *v);
void vfs_sim_crash(vfs_sim *v);
bool vfs_sim_crashed(vfs_sim *v);
// vfs_sim_ops counts changing operations so far (since the last reboot).
uint64_t vfs_sim_ops(vfs_sim *v);

// vfs_sim_reboot builds the disk after the power cut (see above) and
// powers it up again.  Every file handle must have been closed.
void vfs_sim_reboot(vfs_sim *v, vfs_sim_cut how);

// vfs_sim_set_space sets what space() reports and makes writes fail
// with ENOSPC once the files would hold more than limit bytes
// (UINT64_MAX: no limit, the default).
void vfs_sim_set_space(vfs_sim *v, uint64_t limit);
// vfs_sim_slow makes every datasync take sync_ms and every space() take
// space_ms milliseconds (a slow SD card).
void vfs_sim_slow(vfs_sim *v, int sync_ms, int space_ms);
// vfs_sim_in_space is how many threads are inside space() right now.
int vfs_sim_in_space(vfs_sim *v);
// vfs_sim_fail_syncs makes the next n datasyncs fail with err (EIO).
void vfs_sim_fail_syncs(vfs_sim *v, int n, int err);

// Direct access to files, for tests that corrupt the disk on purpose.
// vfs_sim_file returns the durable content of name (NULL if missing),
// *lenp its length; the pointer stays valid until the next call.
uint8_t *vfs_sim_file(vfs_sim *v, const char *name, size_t *lenp);
// vfs_sim_put replaces name's content (durably, creating it).
void vfs_sim_put(vfs_sim *v, const char *name, const void *data, size_t len);
// vfs_sim_count counts the files under dir ("" or "quarantine").
int vfs_sim_count(vfs_sim *v, const char *dir);
// vfs_sim_max_read is the largest read request seen.
size_t vfs_sim_max_read(vfs_sim *v);

#endif // ARBOR_TEST_VFS_SIM_H
