// SPDX-License-Identifier: MIT
// bench_store.c -- arbor-bench cases of the store (bench_store.h).
//
// The engine cases drive the log (slog.h) from this thread, as the store
// actor's loop does, with the POSIX files in $ARB_BENCH_DIR; the actor
// cases run a node with the store actor and bench actors that speak
// store_msgs.h.  Every case prints "R name value unit" lines, its floor
// included (measured in the same process, right after), and removes its
// files.  Each case runs in its own process (arbor_bench.c).

#include "bench_store.h"

#include "slog.h"
#include "store_msgs.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD   64 // bytes per reading
#define PER_BATCH 64 // readings per append (one message's worth)
#define RECSIZE   (24 + PAYLOAD)

const arb_actor_ops *store_actor_ops(void);

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
out(const char *name, double value, const char *unit)
{
	printf("R %s %.3f %s\n", name, value, unit);
	fflush(stdout);
}

static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0) {
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t) (p * (double) (n - 1));
	return v[i];
}

// --- the directory ------------------------------------------------------

static char bench_dir[256];

static void
dir_make(const char *tag)
{
	const char *base = getenv("ARB_BENCH_DIR");

	snprintf(bench_dir, sizeof(bench_dir), "%s/arbor-bench-%s-%d",
	    base != NULL ? base : "/var/tmp", tag, (int) getpid());
	mkdir(bench_dir, 0700);
}

static void
dir_remove(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char           path[512];

	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			dir_remove(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

// evict drops the page cache of every file in dir (posix_fadvise):
// "cold" without touching the rest of the machine.
static void
evict(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char           path[512];

	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		int fd;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			fdatasync(fd);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
	closedir(d);
}

// raw_read reads every segment file of dir once, 1 MiB at a time: the
// floor of opening and of replaying.  Returns the bytes read.
static uint64_t
raw_read(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char           path[512];
	static char    buf[1 << 20];
	uint64_t       total = 0;

	if (d == NULL) {
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		int     fd;
		ssize_t n;
		if (strstr(e->d_name, ".seg") == NULL) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			continue;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			total += (uint64_t) n;
		}
		close(fd);
	}
	closedir(d);
	return total;
}

// --- driving the engine from this thread ---------------------------------

typedef struct drv {
	slog           *s;
	slog_vfs       *vfs;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             wakes;
	int64_t        *sent_ns; // per batch
	double         *lat_ms;  // per acknowledged batch
	size_t          nlat;
	uint64_t        acked;   // batches
	uint64_t        failed;
	double          fsync_ms[1 << 16]; // fdatasync latencies seen
	size_t          nfsync;
} drv;

typedef struct slot_arg {
	drv     *d;
	uint32_t i;
} slot_arg;

static slot_arg *slot_args;

static void
drv_wake(void *arg)
{
	drv *d = arg;

	pthread_mutex_lock(&d->mu);
	d->wakes++;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void
drv_done(void *arg, int status)
{
	slot_arg *a = arg;
	drv      *d = a->d;

	if (status != 0) {
		d->failed++;
		return;
	}
	d->lat_ms[d->nlat++] = (double) (mono_ns() - d->sent_ns[a->i]) / 1e6;
	d->acked++;
}

static void
drv_wait(drv *d, int64_t until_ns)
{
	struct timespec ts;
	int64_t         now = mono_ns(), wait = until_ns - now;

	if (wait > 1000000 || until_ns == 0) {
		wait = 1000000; // poll at least every millisecond
	}
	if (wait <= 0) {
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += wait;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(&d->mu);
	if (d->wakes == 0) {
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	d->wakes = 0;
	pthread_mutex_unlock(&d->mu);
}

static int
drv_open(drv *d, const char *dir, uint32_t commit_records, size_t pending)
{
	pthread_condattr_t ca;
	slog_opts          o;
	int                rv;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rv = slog_vfs_posix_new(dir, &d->vfs)) != 0) {
		fprintf(stderr, "store bench: %s: %s\n", dir, strerror(rv));
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.gateway           = "bench";
	o.vfs               = d->vfs;
	o.commit_records    = commit_records;
	o.max_pending_bytes = pending;
	o.quota_bytes       = (uint64_t) 64 << 30;
	o.min_free_bytes    = 1;
	o.wake              = drv_wake;
	o.wake_arg          = d;
	if ((rv = slog_open(&d->s, &o)) != 0) {
		fprintf(stderr, "store bench: open: %s\n", arb_strerror(rv));
		return -1;
	}
	return 0;
}

static void
drv_close(drv *d)
{
	slog_close(d->s);
	slog_vfs_destroy(d->vfs);
	free(d->sent_ns);
	free(d->lat_ms);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

// drv_run appends nb batches of PER_BATCH readings, at rate readings/s
// (0: as fast as the log takes them), and waits for every ack.  Returns
// the seconds from the first append to the last ack.
static double
drv_run(drv *d, uint32_t nb, double rate)
{
	static uint8_t payload[PAYLOAD];
	slog_reading   r[PER_BATCH];
	slog_run       runs[PER_BATCH];
	uint32_t       i = 0, k;
	int64_t        t0 = mono_ns(), period = 0;

	d->sent_ns = calloc(nb, sizeof(int64_t));
	d->lat_ms  = calloc(nb, sizeof(double));
	free(slot_args);
	slot_args = calloc(nb, sizeof(slot_arg));
	if (d->sent_ns == NULL || d->lat_ms == NULL || slot_args == NULL) {
		abort();
	}
	if (rate > 0) {
		period = (int64_t) (1e9 * PER_BATCH / rate);
	}
	memset(payload, 0x5a, sizeof(payload));
	while (d->acked + d->failed < nb) {
		int64_t now = mono_ns();
		while (i < nb && (period == 0 || now >= t0 + (int64_t) i * period)) {
			size_t       nr;
			slog_refusal why;
			for (k = 0; k < PER_BATCH; k++) {
				r[k] = (slog_reading) { (i * PER_BATCH + k) % 16, -1,
					payload, PAYLOAD };
			}
			slot_args[i] = (slot_arg) { d, i };
			d->sent_ns[i] = now;
			if (slog_append(d->s, NULL, r, PER_BATCH, runs, &nr, drv_done,
			        &slot_args[i], &why)
			    != ARB_OK) {
				break; // pending is full: wait for commits
			}
			i++;
		}
		slog_poll(d->s);
		if (d->acked + d->failed < nb) {
			drv_wait(d, period > 0 && i < nb ? t0 + (int64_t) i * period
			                                 : 0);
			slog_poll(d->s);
		}
		if (d->nfsync < sizeof(d->fsync_ms) / sizeof(d->fsync_ms[0])) {
			d->nfsync += slog_fsync_samples(d->s, d->fsync_ms + d->nfsync,
			    sizeof(d->fsync_ms) / sizeof(d->fsync_ms[0]) - d->nfsync);
		}
	}
	return (double) (mono_ns() - t0) / 1e9;
}

// raw_fdatasync is the floor: n rounds of one write of bytes and one
// fdatasync, in a fresh file of dir.  Fills lat (ms per round); returns
// the seconds.
static double
raw_fdatasync(const char *dir, size_t bytes, int n, double *lat)
{
	char     path[512];
	uint8_t *buf = calloc(1, bytes);
	int      fd, i;
	int64_t  t0;

	snprintf(path, sizeof(path), "%s/raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || buf == NULL) {
		abort();
	}
	t0 = mono_ns();
	for (i = 0; i < n; i++) {
		int64_t t = mono_ns();
		if (write(fd, buf, bytes) != (ssize_t) bytes || fdatasync(fd) != 0) {
			abort();
		}
		lat[i] = (double) (mono_ns() - t) / 1e6;
	}
	t0 = mono_ns() - t0;
	close(fd);
	unlink(path);
	free(buf);
	return (double) t0 / 1e9;
}

static void
case_append(void)
{
	drv        d;
	slog_stats st;
	uint32_t   nb = (uint32_t) (env_long("ARB_BENCH_STORE_N", 2000000)
	                  / PER_BATCH);
	double     secs, per_commit, raw_secs, *lat;
	uint64_t   commits;
	int        rounds = 400;

	dir_make("store");
	// Saturated: as fast as group commit takes them.
	if (drv_open(&d, bench_dir, 0, 0) != 0) {
		return;
	}
	secs = drv_run(&d, nb, 0);
	slog_stats_get(d.s, &st);
	commits    = st.commits;
	per_commit = commits > 0 ? (double) st.appended_records / commits : 0;
	out("store_append_saturated", (double) nb * PER_BATCH / secs,
	    "rec/s");
	out("store_append_saturated_records_per_commit", per_commit, "rec");
	out("store_append_saturated_ack_p50", pct(d.lat_ms, d.nlat, .5), "ms");
	out("store_append_saturated_ack_p99", pct(d.lat_ms, d.nlat, .99),
	    "ms");
	drv_close(&d);
	dir_remove(bench_dir);
	mkdir(bench_dir, 0700);
	// The floor: raw write + fdatasync of the same batch size.
	lat      = calloc((size_t) rounds, sizeof(double));
	raw_secs = raw_fdatasync(bench_dir, (size_t) (per_commit * RECSIZE),
	    rounds, lat);
	out("raw_fdatasync_same_batch", per_commit * rounds / raw_secs,
	    "rec/s");
	out("raw_fdatasync_same_batch_p50", pct(lat, (size_t) rounds, .5),
	    "ms");

	// Paced at 200,000 readings/s: the acknowledgement latency.
	if (drv_open(&d, bench_dir, 0, 0) != 0) {
		return;
	}
	secs = drv_run(&d, (uint32_t) (env_long("ARB_BENCH_STORE_PACED_N",
	                                    600000)
	                   / PER_BATCH),
	    200000);
	slog_stats_get(d.s, &st);
	per_commit = st.commits > 0 ? (double) st.appended_records / st.commits
	                            : 0;
	out("store_append_paced_200k", (double) d.acked * PER_BATCH / secs,
	    "rec/s");
	out("store_append_paced_records_per_commit", per_commit, "rec");
	out("store_append_paced_ack_p50", pct(d.lat_ms, d.nlat, .5), "ms");
	out("store_append_paced_ack_p99", pct(d.lat_ms, d.nlat, .99), "ms");
	out("store_append_paced_ack_max", pct(d.lat_ms, d.nlat, 1), "ms");
	out("store_commit_interval", 10, "ms");
	out("store_fsync_p50", pct(d.fsync_ms, d.nfsync, .5), "ms");
	out("store_fsync_p99", pct(d.fsync_ms, d.nfsync, .99), "ms");
	drv_close(&d);
	raw_fdatasync(bench_dir, (size_t) (per_commit * RECSIZE), rounds, lat);
	out("raw_fdatasync_paced_batch_p50", pct(lat, (size_t) rounds, .5),
	    "ms");
	out("raw_fdatasync_paced_batch_p99", pct(lat, (size_t) rounds, .99),
	    "ms");
	free(lat);
	free(slot_args);
	slot_args = NULL;
	dir_remove(bench_dir);
}

// fill writes `records` readings into the log in dir, fast (large
// commits), and closes it.
static void
fill(const char *dir, uint64_t records)
{
	drv d;

	if (drv_open(&d, dir, 65536, 64u << 20) != 0) {
		abort();
	}
	drv_run(&d, (uint32_t) (records / PER_BATCH), 0);
	drv_close(&d);
	free(slot_args);
	slot_args = NULL;
}

static void
case_reopen(void)
{
	uint64_t   bytes = (uint64_t) env_long("ARB_BENCH_STORE_MB", 100) << 20;
	char       last[512] = "";
	DIR       *dd;
	struct dirent *e;
	drv        d;
	int64_t    t0;
	slog_stats st;
	int        fd;

	dir_make("store");
	fill(bench_dir, bytes / RECSIZE);
	// A torn tail: half a record after the last one (segment names
	// are fixed-width hex: the greatest name is the last segment).
	if ((dd = opendir(bench_dir)) != NULL) {
		char name[256] = "";
		while ((e = readdir(dd)) != NULL) {
			if (strstr(e->d_name, ".seg") != NULL
			    && strcmp(e->d_name, name) > 0) {
				snprintf(name, sizeof(name), "%s", e->d_name);
			}
		}
		closedir(dd);
		snprintf(last, sizeof(last), "%s/%s", bench_dir, name);
	}
	if ((fd = open(last, O_WRONLY | O_APPEND | O_CLOEXEC)) >= 0) {
		static uint8_t junk[RECSIZE / 2];
		memset(junk, 0xa5, sizeof(junk));
		if (write(fd, junk, sizeof(junk)) < 0) {
			abort();
		}
		close(fd);
	}
	// Cold: the files out of the page cache.
	evict(bench_dir);
	t0 = mono_ns();
	if (drv_open(&d, bench_dir, 0, 0) != 0) {
		return;
	}
	out("store_reopen_cold", (double) (mono_ns() - t0) / 1e6, "ms");
	slog_stats_get(d.s, &st);
	out("store_reopen_backlog", (double) st.backlog_bytes / 1048576.0,
	    "MiB");
	out("store_reopen_torn_tails", (double) st.torn_tails, "n");
	drv_close(&d);
	// Warm: again, the files in the page cache now.
	t0 = mono_ns();
	if (drv_open(&d, bench_dir, 0, 0) != 0) {
		return;
	}
	out("store_reopen_warm", (double) (mono_ns() - t0) / 1e6, "ms");
	drv_close(&d);
	// The floors: reading the same files, cold and warm.
	evict(bench_dir);
	t0 = mono_ns();
	raw_read(bench_dir);
	out("raw_read_log_cold", (double) (mono_ns() - t0) / 1e6, "ms");
	t0 = mono_ns();
	raw_read(bench_dir);
	out("raw_read_log_warm", (double) (mono_ns() - t0) / 1e6, "ms");
	dir_remove(bench_dir);
}

// --- actors for the actor cases -------------------------------------------

static int64_t t_drain_start, t_drain_end;
static long    drain_target;

// "bfeed": appends `n` readings (0: until the node stops) in messages of
// `batch`, at most `window` messages unanswered, at `rate` readings/s
// (0: as fast as answers come).  Prints its numbers when it ends.
typedef struct bfeed {
	arb_ctx      *ctx;
	arb_pid       store;
	long          n, batch, window, rate, sent, acked, outstanding;
	int64_t       t0, t_end;
	int64_t      *sent_ns; // per message id
	long          cap;
	double       *lat;
	long          nlat;
	struct event *tick;
	const char   *name;
} bfeed;

// The feeder's settings travel as the child's arg bytes (its actors are
// threads of this process).
typedef struct feed_args {
	long n, batch, window, rate;
	bool replay;
} feed_args;

static void
bfeed_send(bfeed *f)
{
	static uint8_t payload[PAYLOAD];
	store_reading  r[256];
	store_body     b;
	long           k, n = f->batch;

	if (f->n > 0 && f->sent + n > f->n) {
		n = f->n - f->sent;
	}
	for (k = 0; k < n; k++) {
		r[k] = (store_reading) { (uint32_t) ((f->sent + k) % 16), -1,
			payload, PAYLOAD };
	}
	if (store_msg_append(&b, (uint64_t) (f->sent / f->batch), r,
	        (size_t) n)
	    != 0) {
		abort();
	}
	if (arb_send_copy(f->ctx, f->store, STORE_TAG_APPEND, b.data, b.len)
	    == ARB_OK) {
		long id = f->sent / f->batch;
		if (id >= f->cap) {
			f->cap     = f->cap ? f->cap * 2 : 4096;
			f->sent_ns = realloc(f->sent_ns, (size_t) f->cap
			        * sizeof(int64_t));
		}
		f->sent_ns[id] = mono_ns();
		f->sent += n;
		f->outstanding++;
	}
	store_body_free(&b);
}

static void
bfeed_pump(bfeed *f)
{
	while (f->outstanding < f->window && (f->n == 0 || f->sent < f->n)) {
		if (f->rate > 0) {
			int64_t due = f->t0
			    + (int64_t) ((double) f->sent * 1e9 / (double) f->rate);
			if (mono_ns() < due) {
				return; // the tick sends it
			}
		}
		bfeed_send(f);
	}
}

static void
bfeed_tick(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	bfeed_pump(arg);
}

static int
bfeed_init(arb_ctx *ctx, void **sp, const void *arg, size_t len)
{
	bfeed          *f = calloc(1, sizeof(*f));
	struct timeval  tv = { 0, 1000 };
	const feed_args *a = arg;

	if (len != sizeof(*a)) {
		return ARB_EINVAL;
	}
	f->ctx    = ctx;
	f->n      = a->n;
	f->batch  = a->batch;
	f->window = a->window;
	f->rate   = a->rate;
	f->name   = a->replay ? "store_replay_feed" : "store_actor_append";
	f->lat    = calloc(1 << 20, sizeof(double));
	if (arb_whereis(ctx, "root/store", &f->store) != ARB_OK) {
		return ARB_ENOENT;
	}
	f->tick = event_new(arb_base(ctx), -1, EV_PERSIST, bfeed_tick, f);
	event_add(f->tick, &tv);
	f->t0 = mono_ns();
	*sp   = f;
	bfeed_pump(f);
	return ARB_OK;
}

static void
bfeed_handle(arb_ctx *ctx, void *sp, const arb_msg *m)
{
	bfeed    *f = sp;
	store_run runs[256];
	size_t    nruns, i;
	uint64_t  id;

	if (arb_msg_tag(m) != STORE_TAG_APPENDED
	    || store_msg_appended_read(arb_msg_body(m), arb_msg_len(m), &id,
	           runs, 256, &nruns)
	        != 0) {
		return;
	}
	for (i = 0; i < nruns; i++) {
		f->acked += runs[i].count;
	}
	if (f->nlat < (1 << 20) && (long) id < f->cap) {
		f->lat[f->nlat++] = (double) (mono_ns() - f->sent_ns[id]) / 1e6;
	}
	f->outstanding--;
	if (f->n > 0 && f->acked >= f->n) {
		f->t_end = mono_ns();
		arb_actor_exit(ctx, &(arb_exit) { .kind = ARB_EXIT_NORMAL });
		return;
	}
	bfeed_pump(f);
}

static void
bfeed_terminate(arb_ctx *ctx, void *sp, const arb_exit *why)
{
	bfeed *f = sp;
	char   name[96];
	double secs;

	(void) ctx;
	(void) why;
	if (f->t_end == 0) {
		f->t_end = mono_ns();
	}
	secs = (double) (f->t_end - f->t0) / 1e9;
	snprintf(name, sizeof(name), "%s", f->name);
	out(name, (double) f->acked / secs, "rec/s");
	snprintf(name, sizeof(name), "%s_ack_p50", f->name);
	out(name, pct(f->lat, (size_t) f->nlat, .5), "ms");
	snprintf(name, sizeof(name), "%s_ack_p99", f->name);
	out(name, pct(f->lat, (size_t) f->nlat, .99), "ms");
	event_free(f->tick);
	free(f->sent_ns);
	free(f->lat);
	free(f);
}

static const arb_actor_ops bfeed_ops = { .type = "bench_store_feed",
	.init = bfeed_init, .handle = bfeed_handle,
	.terminate = bfeed_terminate };

// "bdrain": subscribes and acknowledges everything at once; ends (the
// node stops) after `target` records.
typedef struct bdrain {
	arb_ctx *ctx;
	arb_pid  store;
	uint64_t session;
	long     got;
	store_record recs[4096];
	uint64_t pos[4096];
} bdrain;

static int
bdrain_init(arb_ctx *ctx, void **sp, const void *arg, size_t len)
{
	bdrain    *d = calloc(1, sizeof(*d));
	store_body b;

	(void) arg;
	(void) len;
	d->ctx = ctx;
	if (arb_whereis(ctx, "root/store", &d->store) != ARB_OK) {
		return ARB_ENOENT;
	}
	store_msg_subscribe(&b, 8192, 512);
	arb_send_copy(ctx, d->store, STORE_TAG_SUBSCRIBE, b.data, b.len);
	store_body_free(&b);
	t_drain_start = mono_ns();
	*sp           = d;
	return ARB_OK;
}

static void
bdrain_handle(arb_ctx *ctx, void *sp, const arb_msg *m)
{
	bdrain    *d = sp;
	uint64_t   session, bl, bb;
	char       gw[STORE_GATEWAY_MAX + 1];
	size_t     n, i;
	store_body b;

	if (arb_msg_tag(m) == STORE_TAG_SUBSCRIBED
	    && store_msg_subscribed_read(arb_msg_body(m), arb_msg_len(m),
	           &session, gw, &bl, &bb)
	        == 0) {
		d->session = session;
		return;
	}
	if (arb_msg_tag(m) != STORE_TAG_RECORDS
	    || store_msg_records_read(arb_msg_body(m), arb_msg_len(m),
	           &session, gw, d->recs, 4096, &n)
	        != 0
	    || session != d->session) {
		return;
	}
	for (i = 0; i < n; i++) {
		d->pos[i] = d->recs[i].pos;
	}
	store_msg_ack(&b, session, d->pos, n);
	arb_send_copy(ctx, d->store, STORE_TAG_ACK, b.data, b.len);
	store_body_free(&b);
	d->got += (long) n;
	if (d->got >= drain_target && t_drain_end == 0) {
		t_drain_end = mono_ns();
		out("store_replay_drain",
		    (double) d->got / ((double) (t_drain_end - t_drain_start) / 1e9),
		    "rec/s");
		arb_actor_exit(ctx, &(arb_exit) { .kind = ARB_EXIT_NORMAL });
	}
}

static void
bdrain_terminate(arb_ctx *ctx, void *sp, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	free(sp);
}

static const arb_actor_ops bdrain_ops = { .type = "bench_store_drain",
	.init = bdrain_init, .handle = bdrain_handle,
	.terminate = bdrain_terminate };

void
bench_store_register(void)
{
	arb_actor_type_register(store_actor_ops());
	arb_actor_type_register(&bfeed_ops);
	arb_actor_type_register(&bdrain_ops);
}

// store_config packs {dir: bench_dir, gateway: bench} into sb.
static void
store_config(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "dir", 3);
	msgpack_pack_str_with_body(&pk, bench_dir, strlen(bench_dir));
	msgpack_pack_str_with_body(&pk, "gateway", 7);
	msgpack_pack_str_with_body(&pk, "bench", 5);
}

static int
run_node(arb_child_spec *c, size_t n)
{
	arb_sup_spec  s = { .children = c, .nchildren = n,
		 .auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT };
	arb_node_opts o = { .log_level = ARB_LOG_ERROR };
	arb_node     *node;
	int           code = 1;

	if (arb_node_open(&node, &o) != 0) {
		return 1;
	}
	arb_node_run(node, &s, &code);
	arb_node_close(node);
	return code;
}

static int
case_actor_append(void)
{
	msgpack_sbuffer cfg;
	feed_args       feed = { .n = env_long("ARB_BENCH_STORE_ACTOR_N",
	                       1000000),
		      .batch = PER_BATCH, .window = 32 };
	arb_child_spec  c[2];
	int             code;

	dir_make("store");
	store_config(&cfg);
	memset(c, 0, sizeof(c));
	c[0] = (arb_child_spec) { .name = "store", .type = "store",
		.arg = cfg.data, .arg_len = cfg.size };
	c[1] = (arb_child_spec) { .name = "feed", .type = "bench_store_feed",
		.arg = &feed, .arg_len = sizeof(feed), .restart = ARB_TEMPORARY,
		.significant = true };
	code = run_node(c, 2);
	msgpack_sbuffer_destroy(&cfg);
	dir_remove(bench_dir);
	return code;
}

static int
case_replay(void)
{
	msgpack_sbuffer cfg;
	feed_args       feed = { .n = 0, .batch = 10, .window = 8, .rate = 1000,
		      .replay = true };
	arb_child_spec  c[3];
	uint64_t       backlog = (uint64_t) env_long("ARB_BENCH_STORE_BACKLOG",
	          3600000);
	int64_t        t0;
	int            code;

	dir_make("store");
	fill(bench_dir, backlog);
	evict(bench_dir);
	// The floor: reading the backlog's files once (cold).
	t0 = mono_ns();
	out("raw_read_backlog",
	    (double) raw_read(bench_dir) / RECSIZE
	        / ((double) (mono_ns() - t0) / 1e9),
	    "rec/s");
	evict(bench_dir);
	drain_target = (long) backlog;
	store_config(&cfg);
	memset(c, 0, sizeof(c));
	c[0] = (arb_child_spec) { .name = "store", .type = "store",
		.arg = cfg.data, .arg_len = cfg.size };
	c[1] = (arb_child_spec) { .name = "feed", .type = "bench_store_feed",
		.arg = &feed, .arg_len = sizeof(feed), .restart = ARB_TEMPORARY };
	c[2] = (arb_child_spec) { .name = "drain",
		.type = "bench_store_drain", .restart = ARB_TEMPORARY,
		.significant = true };
	code = run_node(c, 3);
	msgpack_sbuffer_destroy(&cfg);
	if (t_drain_end > 0) {
		double secs = (double) (t_drain_end - t_drain_start) / 1e9;
		out("store_replay_1h_backlog_drain", secs, "s");
	}
	dir_remove(bench_dir);
	return code;
}

int
bench_store_case(const char *name)
{
	if (strcmp(name, "store_append") == 0) {
		case_append();
		return 0;
	}
	if (strcmp(name, "store_reopen") == 0) {
		case_reopen();
		return 0;
	}
	if (strcmp(name, "store_replay") == 0) {
		return case_replay();
	}
	if (strcmp(name, "store_actor_append") == 0) {
		return case_actor_append();
	}
	return -1;
}
