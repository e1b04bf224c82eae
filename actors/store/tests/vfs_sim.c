// SPDX-License-Identifier: MIT
// vfs_sim.c -- a disk that loses power (vfs_sim.h).
//
// A flat namespace of names ("x", "quarantine/x") over numbered inodes.
// Each inode has its visible content, its durable content and the list
// of changes in between; the directory has its visible entries, its
// durable entries and the list of entry changes in between.  A reboot
// replays a random selection of the pending changes onto the durable
// state.  Thread: any (one mutex).

#include "vfs_sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECTOR   512u
#define NAME_MAX_SIM 96

typedef struct buf {
	uint8_t *p;
	size_t   len, cap;
} buf;

enum { OP_WRITE = 1, OP_TRUNC };

typedef struct fop {
	int      kind;
	uint64_t off; // write offset, or truncate size
	uint8_t *data;
	size_t   len;
} fop;

typedef struct inode {
	buf   live;
	buf   dur;
	fop  *ops;
	size_t nops, capops;
	int   handles;
} inode;

typedef struct dent {
	char name[NAME_MAX_SIM];
	int  ino; // -1: a directory
} dent;

enum { DOP_ADD = 1, DOP_DEL };

typedef struct dop {
	int  kind;
	char dir[NAME_MAX_SIM]; // the directory whose sync makes it durable
	dent e;
} dop;

struct vfs_sim {
	slog_vfs        vfs;
	pthread_mutex_t mu;
	uint64_t        rng;
	inode         **inodes;
	size_t          ninodes;
	dent           *live;
	size_t          nlive, caplive;
	dent           *dur;
	size_t          ndur, capdur;
	dop            *dops;
	size_t          ndops, capdops;
	uint64_t        ops, crash_at;
	bool            crashed;
	uint64_t        space;
	int             fail_syncs, fail_err;
	int             slow_sync_ms, slow_space_ms;
	int             in_space;
	size_t          max_read;
	uint8_t        *peek;
};

struct slog_file {
	vfs_sim *v;
	int      ino;
};

static uint64_t
rnd(vfs_sim *v)
{
	uint64_t z = (v->rng += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void
die(void)
{
	abort(); // out of memory in a test helper
}

static void
buf_set_len(buf *b, size_t len)
{
	if (len > b->cap) {
		size_t   cap = b->cap ? b->cap : 4096;
		uint8_t *n;
		while (cap < len) {
			cap *= 2;
		}
		if ((n = realloc(b->p, cap)) == NULL) {
			die();
		}
		b->p   = n;
		b->cap = cap;
	}
	if (len > b->len) {
		memset(b->p + b->len, 0, len - b->len);
	}
	b->len = len;
}

static void
buf_write(buf *b, uint64_t off, const void *p, size_t n)
{
	if (off + n > b->len) {
		buf_set_len(b, (size_t) (off + n));
	}
	if (n > 0) {
		memcpy(b->p + off, p, n);
	}
}

static void
buf_copy(buf *dst, const buf *src)
{
	buf_set_len(dst, src->len);
	if (src->len > 0) {
		memcpy(dst->p, src->p, src->len);
	}
}

static void
ops_clear(inode *in)
{
	size_t i;

	for (i = 0; i < in->nops; i++) {
		free(in->ops[i].data);
	}
	in->nops = 0;
}

static void
op_push(inode *in, int kind, uint64_t off, const void *data, size_t len)
{
	fop *o;

	if (in->nops == in->capops) {
		in->capops = in->capops ? in->capops * 2 : 16;
		if ((in->ops = realloc(in->ops, in->capops * sizeof(fop)))
		    == NULL) {
			die();
		}
	}
	o       = &in->ops[in->nops++];
	o->kind = kind;
	o->off  = off;
	o->len  = len;
	o->data = NULL;
	if (len > 0) {
		if ((o->data = malloc(len)) == NULL) {
			die();
		}
		memcpy(o->data, data, len);
	}
}

static int
inode_new(vfs_sim *v)
{
	inode **a = realloc(v->inodes, (v->ninodes + 1) * sizeof(*a));

	if (a == NULL || (a[v->ninodes] = calloc(1, sizeof(inode))) == NULL) {
		die();
	}
	v->inodes = a;
	return (int) v->ninodes++;
}

static dent *
ent_find(dent *a, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(a[i].name, name) == 0) {
			return &a[i];
		}
	}
	return NULL;
}

static void
ent_set(dent **a, size_t *n, size_t *cap, const char *name, int ino)
{
	dent *e = ent_find(*a, *n, name);

	if (e == NULL) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			if ((*a = realloc(*a, *cap * sizeof(dent))) == NULL) {
				die();
			}
		}
		e = &(*a)[(*n)++];
		memset(e, 0, sizeof(*e));
		strncpy(e->name, name, sizeof(e->name) - 1);
	}
	e->ino = ino;
}

static void
ent_del(dent *a, size_t *n, const char *name)
{
	dent *e = ent_find(a, *n, name);

	if (e != NULL) {
		*e = a[--(*n)];
	}
}

static void
dir_of(const char *name, char *dir)
{
	const char *slash = strrchr(name, '/');
	size_t      n     = slash ? (size_t) (slash - name) : 0;

	memcpy(dir, name, n);
	dir[n] = '\0';
}

static void
dop_push(vfs_sim *v, int kind, const char *name, int ino)
{
	dop *d;

	if (v->ndops == v->capdops) {
		v->capdops = v->capdops ? v->capdops * 2 : 16;
		if ((v->dops = realloc(v->dops, v->capdops * sizeof(dop)))
		    == NULL) {
			die();
		}
	}
	d = &v->dops[v->ndops++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	dir_of(name, d->dir);
	strncpy(d->e.name, name, sizeof(d->e.name) - 1);
	d->e.ino = ino;
}

// step counts a changing operation; true means the power is (now) off.
static bool
step(vfs_sim *v)
{
	if (v->crashed) {
		return true;
	}
	v->ops++;
	if (v->crash_at != 0 && v->ops >= v->crash_at) {
		v->crashed = true;
		return true;
	}
	return false;
}

static uint64_t
used_bytes(vfs_sim *v)
{
	uint64_t sum = 0;
	size_t   i;

	for (i = 0; i < v->ninodes; i++) {
		sum += v->inodes[i]->live.len;
	}
	return sum;
}

// --- the slog_vfs operations ---------------------------------------------

static int
sim_open(slog_vfs *vv, const char *name, int flags, slog_file **fp)
{
	vfs_sim   *v = (vfs_sim *) vv;
	dent      *e;
	slog_file *f;
	int        ino;

	pthread_mutex_lock(&v->mu);
	e = ent_find(v->live, v->nlive, name);
	if (e != NULL && e->ino < 0) {
		pthread_mutex_unlock(&v->mu);
		return EISDIR;
	}
	if (e != NULL && (flags & SLOG_O_CREATE) && (flags & SLOG_O_EXCL)) {
		pthread_mutex_unlock(&v->mu);
		return EEXIST;
	}
	if (e == NULL) {
		if (!(flags & SLOG_O_CREATE)) {
			pthread_mutex_unlock(&v->mu);
			return ENOENT;
		}
		if (step(v)) {
			pthread_mutex_unlock(&v->mu);
			return EIO;
		}
		ino = inode_new(v);
		ent_set(&v->live, &v->nlive, &v->caplive, name, ino);
		dop_push(v, DOP_ADD, name, ino);
	} else {
		ino = e->ino;
	}
	if ((f = malloc(sizeof(*f))) == NULL) {
		die();
	}
	f->v   = v;
	f->ino = ino;
	v->inodes[ino]->handles++;
	*fp = f;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static void
sim_close(slog_file *f)
{
	if (f == NULL) {
		return;
	}
	pthread_mutex_lock(&f->v->mu);
	f->v->inodes[f->ino]->handles--;
	pthread_mutex_unlock(&f->v->mu);
	free(f);
}

static int
sim_read(slog_file *f, void *p, size_t n, uint64_t off, size_t *got)
{
	vfs_sim *v = f->v;
	inode   *in;

	pthread_mutex_lock(&v->mu);
	if (v->crashed) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	in = v->inodes[f->ino];
	if (n > v->max_read) {
		v->max_read = n;
	}
	*got = 0;
	if (off < in->live.len) {
		*got = in->live.len - off < n ? (size_t) (in->live.len - off)
		                              : n;
		memcpy(p, in->live.p + off, *got);
	}
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static int
sim_write(slog_file *f, const void *p, size_t n, uint64_t off)
{
	vfs_sim *v = f->v;
	inode   *in;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	in = v->inodes[f->ino];
	if (v->space != UINT64_MAX && off + n > in->live.len
	    && used_bytes(v) + (off + n - in->live.len) > v->space) {
		pthread_mutex_unlock(&v->mu);
		return ENOSPC;
	}
	buf_write(&in->live, off, p, n);
	op_push(in, OP_WRITE, off, p, n);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

// slow sleeps as a slow disk would (outside the mutex).
static void
slow(vfs_sim *v, bool space)
{
	int ms;

	pthread_mutex_lock(&v->mu);
	ms = space ? v->slow_space_ms : v->slow_sync_ms;
	pthread_mutex_unlock(&v->mu);
	if (ms > 0) {
		struct timespec ts
		    = { ms / 1000, (long) (ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

static int
sim_datasync(slog_file *f)
{
	vfs_sim *v = f->v;
	inode   *in;

	slow(v, false);
	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	if (v->fail_syncs > 0) {
		int e = v->fail_err;
		v->fail_syncs--;
		pthread_mutex_unlock(&v->mu);
		return e;
	}
	in = v->inodes[f->ino];
	buf_copy(&in->dur, &in->live);
	ops_clear(in);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static int
sim_truncate(slog_file *f, uint64_t size)
{
	vfs_sim *v = f->v;
	inode   *in;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	in = v->inodes[f->ino];
	buf_set_len(&in->live, (size_t) size);
	op_push(in, OP_TRUNC, size, NULL, 0);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static int
sim_size(slog_file *f, uint64_t *sizep)
{
	vfs_sim *v = f->v;

	pthread_mutex_lock(&v->mu);
	*sizep = v->inodes[f->ino]->live.len;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static void
dop_apply(vfs_sim *v, const dop *d)
{
	if (d->kind == DOP_ADD) {
		ent_set(&v->dur, &v->ndur, &v->capdur, d->e.name, d->e.ino);
	} else {
		ent_del(v->dur, &v->ndur, d->e.name);
	}
}

static int
sim_sync_dir(slog_vfs *vv, const char *dir)
{
	vfs_sim *v = (vfs_sim *) vv;
	size_t   i, k = 0;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	for (i = 0; i < v->ndops; i++) {
		if (strcmp(v->dops[i].dir, dir) == 0) {
			dop_apply(v, &v->dops[i]);
		} else {
			v->dops[k++] = v->dops[i];
		}
	}
	v->ndops = k;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static int
sim_link_locked(vfs_sim *v, const char *from, const char *to, bool excl)
{
	dent *e = ent_find(v->live, v->nlive, from);
	int   ino;

	if (e == NULL) {
		return ENOENT;
	}
	if (excl && ent_find(v->live, v->nlive, to) != NULL) {
		return EEXIST;
	}
	ino = e->ino;
	ent_set(&v->live, &v->nlive, &v->caplive, to, ino);
	dop_push(v, DOP_ADD, to, ino);
	return 0;
}

static int
sim_rename(slog_vfs *vv, const char *from, const char *to)
{
	vfs_sim *v = (vfs_sim *) vv;
	int      rv;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	if ((rv = sim_link_locked(v, from, to, false)) == 0) {
		ent_del(v->live, &v->nlive, from);
		dop_push(v, DOP_DEL, from, 0);
	}
	pthread_mutex_unlock(&v->mu);
	return rv;
}

static int
sim_link(slog_vfs *vv, const char *from, const char *to)
{
	vfs_sim *v = (vfs_sim *) vv;
	int      rv;

	pthread_mutex_lock(&v->mu);
	rv = step(v) ? EIO : sim_link_locked(v, from, to, true);
	pthread_mutex_unlock(&v->mu);
	return rv;
}

static int
sim_unlink(slog_vfs *vv, const char *name)
{
	vfs_sim *v = (vfs_sim *) vv;
	int      rv = 0;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		rv = EIO;
	} else if (ent_find(v->live, v->nlive, name) == NULL) {
		rv = ENOENT;
	} else {
		ent_del(v->live, &v->nlive, name);
		dop_push(v, DOP_DEL, name, 0);
	}
	pthread_mutex_unlock(&v->mu);
	return rv;
}

static int
sim_mkdir(slog_vfs *vv, const char *name)
{
	vfs_sim *v = (vfs_sim *) vv;
	int      rv = 0;

	pthread_mutex_lock(&v->mu);
	if (step(v)) {
		rv = EIO;
	} else if (ent_find(v->live, v->nlive, name) != NULL) {
		rv = EEXIST;
	} else {
		// Directories are durable at once (a simplification: the
		// store recreates quarantine/ whenever it needs it).
		ent_set(&v->live, &v->nlive, &v->caplive, name, -1);
		ent_set(&v->dur, &v->ndur, &v->capdur, name, -1);
	}
	pthread_mutex_unlock(&v->mu);
	return rv;
}

static bool
in_dir(const char *name, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0) {
		return strchr(name, '/') == NULL;
	}
	return strncmp(name, dir, n) == 0 && name[n] == '/'
	    && strchr(name + n + 1, '/') == NULL;
}

static int
sim_list(slog_vfs *vv, const char *dir, int (*cb)(void *, const char *),
    void *arg)
{
	vfs_sim *v = (vfs_sim *) vv;
	char   (*names)[NAME_MAX_SIM];
	size_t   i, n = 0;
	int      rv = 0;

	pthread_mutex_lock(&v->mu);
	if (v->crashed) {
		pthread_mutex_unlock(&v->mu);
		return EIO;
	}
	if ((names = calloc(v->nlive + 1, NAME_MAX_SIM)) == NULL) {
		die();
	}
	for (i = 0; i < v->nlive; i++) {
		if (in_dir(v->live[i].name, dir)) {
			const char *base = strrchr(v->live[i].name, '/');
			strcpy(names[n++], base ? base + 1 : v->live[i].name);
		}
	}
	pthread_mutex_unlock(&v->mu);
	for (i = 0; i < n && rv == 0; i++) {
		rv = cb(arg, names[i]);
	}
	free(names);
	return rv;
}

static int
sim_space(slog_vfs *vv, uint64_t *availp, uint64_t *totalp)
{
	vfs_sim *v = (vfs_sim *) vv;
	uint64_t used;

	pthread_mutex_lock(&v->mu);
	v->in_space++;
	pthread_mutex_unlock(&v->mu);
	slow(v, true);
	pthread_mutex_lock(&v->mu);
	v->in_space--;
	used = used_bytes(v);
	if (v->space == UINT64_MAX) {
		*availp = (uint64_t) 1 << 40;
		*totalp = (uint64_t) 1 << 41;
	} else {
		*availp = used < v->space ? v->space - used : 0;
		*totalp = v->space;
	}
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static void
sim_destroy(slog_vfs *vv)
{
	(void) vv; // the test owns the disk: vfs_sim_free
}

// --- the test's controls -----------------------------------------------

vfs_sim *
vfs_sim_new(uint64_t seed)
{
	vfs_sim *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		die();
	}
	pthread_mutex_init(&v->mu, NULL);
	v->rng          = seed;
	v->space        = UINT64_MAX;
	v->vfs.open     = sim_open;
	v->vfs.close    = sim_close;
	v->vfs.read     = sim_read;
	v->vfs.write    = sim_write;
	v->vfs.datasync = sim_datasync;
	v->vfs.truncate = sim_truncate;
	v->vfs.size     = sim_size;
	v->vfs.sync_dir = sim_sync_dir;
	v->vfs.rename   = sim_rename;
	v->vfs.link     = sim_link;
	v->vfs.unlink   = sim_unlink;
	v->vfs.mkdir    = sim_mkdir;
	v->vfs.list     = sim_list;
	v->vfs.space    = sim_space;
	v->vfs.destroy  = sim_destroy;
	return v;
}

slog_vfs *
vfs_sim_vfs(vfs_sim *v)
{
	return &v->vfs;
}

void
vfs_sim_free(vfs_sim *v)
{
	size_t i;

	if (v == NULL) {
		return;
	}
	for (i = 0; i < v->ninodes; i++) {
		ops_clear(v->inodes[i]);
		free(v->inodes[i]->ops);
		free(v->inodes[i]->live.p);
		free(v->inodes[i]->dur.p);
		free(v->inodes[i]);
	}
	free(v->inodes);
	free(v->live);
	free(v->dur);
	free(v->dops);
	free(v->peek);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

void
vfs_sim_crash_after(vfs_sim *v, uint64_t n)
{
	pthread_mutex_lock(&v->mu);
	v->crash_at = v->ops + (n == 0 ? 1 : n);
	pthread_mutex_unlock(&v->mu);
}

void
vfs_sim_disarm(vfs_sim *v)
{
	pthread_mutex_lock(&v->mu);
	v->crash_at = 0;
	pthread_mutex_unlock(&v->mu);
}

void
vfs_sim_crash(vfs_sim *v)
{
	pthread_mutex_lock(&v->mu);
	v->crashed = true;
	pthread_mutex_unlock(&v->mu);
}

bool
vfs_sim_crashed(vfs_sim *v)
{
	bool c;

	pthread_mutex_lock(&v->mu);
	c = v->crashed;
	pthread_mutex_unlock(&v->mu);
	return c;
}

uint64_t
vfs_sim_ops(vfs_sim *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->mu);
	n = v->ops;
	pthread_mutex_unlock(&v->mu);
	return n;
}

// apply_write replays write o onto b: whole, or (torn) sector by sector.
static void
apply_write(vfs_sim *v, buf *b, const fop *o, bool torn)
{
	uint64_t pos = o->off, end = o->off + o->len;

	if (!torn) {
		buf_write(b, o->off, o->data, o->len);
		return;
	}
	while (pos < end) {
		uint64_t next = (pos / SECTOR + 1) * SECTOR;
		if (next > end) {
			next = end;
		}
		if (rnd(v) & 1) {
			buf_write(b, pos, o->data + (pos - o->off),
			    (size_t) (next - pos));
		}
		pos = next;
	}
}

void
vfs_sim_reboot(vfs_sim *v, vfs_sim_cut how)
{
	size_t i, j;

	pthread_mutex_lock(&v->mu);
	for (i = 0; i < v->ninodes; i++) {
		inode *in = v->inodes[i];
		for (j = 0; j < in->nops && how != VFS_SIM_LOSE_ALL; j++) {
			const fop *o = &in->ops[j];
			uint64_t r = how == VFS_SIM_KEEP_ALL ? 1 : rnd(v) % 3;
			if (r == 0) {
				continue;
			}
			if (o->kind == OP_TRUNC) {
				buf_set_len(&in->dur, (size_t) o->off);
			} else {
				apply_write(v, &in->dur, o, r == 2);
			}
		}
		ops_clear(in);
		buf_copy(&in->live, &in->dur);
		in->handles = 0;
	}
	for (i = 0; i < v->ndops; i++) {
		if (how == VFS_SIM_KEEP_ALL
		    || (how == VFS_SIM_RANDOM && (rnd(v) & 1))) {
			dop_apply(v, &v->dops[i]);
		}
	}
	v->ndops = 0;
	v->nlive = 0;
	for (i = 0; i < v->ndur; i++) {
		ent_set(&v->live, &v->nlive, &v->caplive, v->dur[i].name,
		    v->dur[i].ino);
	}
	v->crashed  = false;
	v->crash_at = 0;
	v->ops      = 0;
	pthread_mutex_unlock(&v->mu);
}

void
vfs_sim_set_space(vfs_sim *v, uint64_t limit)
{
	pthread_mutex_lock(&v->mu);
	v->space = limit;
	pthread_mutex_unlock(&v->mu);
}

void
vfs_sim_slow(vfs_sim *v, int sync_ms, int space_ms)
{
	pthread_mutex_lock(&v->mu);
	v->slow_sync_ms  = sync_ms;
	v->slow_space_ms = space_ms;
	pthread_mutex_unlock(&v->mu);
}

int
vfs_sim_in_space(vfs_sim *v)
{
	int n;

	pthread_mutex_lock(&v->mu);
	n = v->in_space;
	pthread_mutex_unlock(&v->mu);
	return n;
}

void
vfs_sim_fail_syncs(vfs_sim *v, int n, int err)
{
	pthread_mutex_lock(&v->mu);
	v->fail_syncs = n;
	v->fail_err   = err;
	pthread_mutex_unlock(&v->mu);
}

uint8_t *
vfs_sim_file(vfs_sim *v, const char *name, size_t *lenp)
{
	dent    *e;
	uint8_t *p = NULL;

	pthread_mutex_lock(&v->mu);
	e = ent_find(v->live, v->nlive, name);
	if (e != NULL && e->ino >= 0) {
		inode *in = v->inodes[e->ino];
		free(v->peek);
		v->peek = malloc(in->live.len + 1);
		if (v->peek == NULL) {
			die();
		}
		if (in->live.len > 0) {
			memcpy(v->peek, in->live.p, in->live.len);
		}
		*lenp = in->live.len;
		p     = v->peek;
	}
	pthread_mutex_unlock(&v->mu);
	return p;
}

void
vfs_sim_put(vfs_sim *v, const char *name, const void *data, size_t len)
{
	dent *e;
	int   ino;

	pthread_mutex_lock(&v->mu);
	e = ent_find(v->live, v->nlive, name);
	if (e == NULL) {
		ino = inode_new(v);
		ent_set(&v->live, &v->nlive, &v->caplive, name, ino);
		ent_set(&v->dur, &v->ndur, &v->capdur, name, ino);
	} else {
		ino = e->ino;
	}
	buf_set_len(&v->inodes[ino]->live, 0);
	buf_write(&v->inodes[ino]->live, 0, data, len);
	buf_copy(&v->inodes[ino]->dur, &v->inodes[ino]->live);
	ops_clear(v->inodes[ino]);
	pthread_mutex_unlock(&v->mu);
}

int
vfs_sim_count(vfs_sim *v, const char *dir)
{
	size_t i;
	int    n = 0;

	pthread_mutex_lock(&v->mu);
	for (i = 0; i < v->nlive; i++) {
		if (v->live[i].ino >= 0 && in_dir(v->live[i].name, dir)) {
			n++;
		}
	}
	pthread_mutex_unlock(&v->mu);
	return n;
}

size_t
vfs_sim_max_read(vfs_sim *v)
{
	size_t n;

	pthread_mutex_lock(&v->mu);
	n = v->max_read;
	pthread_mutex_unlock(&v->mu);
	return n;
}
