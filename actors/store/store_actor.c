// SPDX-License-Identifier: MIT
// store_actor.c -- the actor type "store": the durable log (slog.h) on an
// actor's loop, speaking the messages of store_msgs.h.
//
// Producers' STORE_APPENDs go into the log at once (sequence numbers
// assigned); their STORE_APPENDED answers leave when the commit thread's
// fdatasync covering them returned, which it reports through one
// event_active per commit (batched: one cross-thread wakeup per commit,
// not per append).  The subscribed consumer gets STORE_RECORDS while it
// has room in its window, and each STORE_ACK may retire segments.  The
// loop never waits for the disk, except at the stop, when the last
// commit is awaited so every durable append gets its answer.  Thread:
// the actor's loop (the wake callback: the commit thread).

#include "slog.h"
#include "store_msgs.h"

#include <arbor/actor.h>

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

// --- settings ---------------------------------------------------------------

typedef struct settings {
	char     dir[PATH_MAX];
	char     gateway[STORE_GATEWAY_MAX + 1];
	int64_t  commit_interval_ms;
	int64_t  commit_records;
	uint64_t segment_size;
	uint64_t max_record;
	uint64_t quota;
	uint64_t min_free;
	uint64_t max_pending;
	int      on_full;
	int64_t  window;
	int64_t  batch;
	int64_t  cursor_interval_ms;
} settings;

static void
default_gateway(char *out, size_t cap)
{
	char   host[256];
	size_t i, n = 0;

	if (gethostname(host, sizeof(host)) != 0) {
		host[0] = '\0';
	}
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && n + 1 < cap && n < STORE_GATEWAY_MAX;
	     i++) {
		char c = host[i];
		out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '.' || c == '_'
		        || c == ':' || c == '-'
		    ? c
		    : '_';
	}
	out[n] = '\0';
	if (n == 0) {
		snprintf(out, cap, "gateway");
	}
}

// store_read reads the settings; the check hook and init share it.
static void
store_read(arb_cfg *cfg, settings *c)
{
	static const char *const keys[] = { "dir", "gateway",
		"commit_interval", "commit_records", "segment_size",
		"max_record", "quota", "min_free", "max_pending", "on_full",
		"window", "batch", "cursor_interval", NULL };
	static const char *const policies[]
	    = { "backpressure", "drop_oldest", NULL };
	const char *s;
	size_t      i;

	memset(c, 0, sizeof(*c));
	default_gateway(c->gateway, sizeof(c->gateway));
	c->commit_interval_ms = 10;
	c->commit_records     = 4096;
	c->segment_size       = 16u << 20;
	c->max_record         = 64u << 10;
	c->quota              = (uint64_t) 1 << 30;
	c->min_free           = 64u << 20;
	c->max_pending        = 8u << 20;
	c->window             = 1024;
	c->batch              = 256;
	c->cursor_interval_ms = 100;
	arb_cfg_keys(cfg, keys);
	if (arb_cfg_str(cfg, "dir", sizeof(c->dir) - 1, &s) == ARB_OK) {
		if (s[0] == '\0') {
			arb_cfg_err(cfg, "dir", "must not be empty");
		}
		snprintf(c->dir, sizeof(c->dir), "%s", s);
	} else if (!arb_cfg_has(cfg, "dir")) {
		arb_cfg_err(cfg, "dir",
		    "required: the directory of the log (created when "
		    "missing)");
	}
	if (arb_cfg_str(cfg, "gateway", STORE_GATEWAY_MAX, &s) == ARB_OK) {
		for (i = 0; s[i] != '\0'; i++) {
			char ch = s[i];
			if (!((ch >= 'a' && ch <= 'z')
			        || (ch >= 'A' && ch <= 'Z')
			        || (ch >= '0' && ch <= '9') || ch == '.'
			        || ch == '_' || ch == ':' || ch == '-')) {
				break;
			}
		}
		if (s[0] == '\0' || s[i] != '\0') {
			arb_cfg_err(cfg, "gateway",
			    "1 to 63 of A-Z a-z 0-9 . _ : - (it names this "
			    "gateway's readings downstream)");
		} else {
			snprintf(c->gateway, sizeof(c->gateway), "%s", s);
		}
	}
	arb_cfg_dur(cfg, "commit_interval", 1, 1000, &c->commit_interval_ms);
	arb_cfg_int(cfg, "commit_records", 1, 1000000, &c->commit_records);
	arb_cfg_size(
	    cfg, "segment_size", 64u << 10, 1u << 30, &c->segment_size);
	arb_cfg_size(cfg, "max_record", 1, 0xFFFFFF, &c->max_record);
	arb_cfg_size(cfg, "quota", 1u << 20, (uint64_t) 1 << 44, &c->quota);
	arb_cfg_size(cfg, "min_free", 0, (uint64_t) 1 << 44, &c->min_free);
	arb_cfg_size(
	    cfg, "max_pending", 64u << 10, 256u << 20, &c->max_pending);
	arb_cfg_enum(cfg, "on_full", policies, &c->on_full);
	arb_cfg_int(cfg, "window", 1, 65536, &c->window);
	arb_cfg_int(cfg, "batch", 1, 4096, &c->batch);
	arb_cfg_dur(cfg, "cursor_interval", 1, 60000, &c->cursor_interval_ms);
	if (c->max_record + 24 > c->max_pending) {
		arb_cfg_err(cfg, "max_record",
		    "larger than max_pending: such a reading could never be "
		    "stored");
	}
}

// dir_problem writes why the store could not use dir (absolute) as its
// log's directory, as init would find it, or returns false: an existing
// path must be a directory this user can create files in; a missing one
// is created with its parents, so its nearest existing ancestor must be
// such a directory, in which a directory can be made (tried, and
// removed again).
static bool
dir_problem(const char *dir, char *why, size_t len)
{
	char        up[sizeof(((settings *) 0)->dir)];
	struct stat st;
	char       *slash;

	snprintf(up, sizeof(up), "%s", dir);
	while (stat(up, &st) != 0) {
		if (errno != ENOENT || (slash = strrchr(up, '/')) == NULL) {
			snprintf(why, len, "%s: %s", up, strerror(errno));
			return true;
		}
		// Missing: its parent will hold it ("/x": the root).
		slash[slash == up ? 1 : 0] = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s is not a directory", up);
		return true;
	}
	if (access(up, W_OK | X_OK) != 0) {
		if (strcmp(up, dir) == 0) {
			snprintf(why, len, "%s: cannot create files in it: %s",
			    up, strerror(errno));
		} else {
			snprintf(why, len,
			    "cannot create %.1024s in %.1024s: %s", dir, up,
			    strerror(errno));
		}
		return true;
	}
	// Missing: permissions say yes, the file system may still say no
	// (/proc, a full inode table): a directory is made in the ancestor
	// and removed again (never inside the log's own directory, which a
	// running store reads).
	if (strcmp(up, dir) != 0) {
		char probe[sizeof(up) + 32];

		errno = ENAMETOOLONG;
		if (snprintf(probe, sizeof(probe), "%s/.arbor-check-XXXXXX",
		        strcmp(up, "/") == 0 ? "" : up)
		        >= (int) sizeof(probe)
		    || mkdtemp(probe) == NULL) {
			snprintf(why, len, "cannot create %.1024s in %.1024s: %s",
			    dir, up, strerror(errno));
			return true;
		}
		(void) rmdir(probe);
	}
	return false;
}

// store_check is store_read, and the log's directory as init will find
// it (`arbor check` runs as the node will): a file or a read-only place
// there failed the start (exit 70) after check said ok.  A relative dir
// (the node's working directory's) is left to init.
static void
store_check(arb_cfg *cfg)
{
	settings c;
	char     why[sizeof(c.dir) + 160];

	store_read(cfg, &c);
	if (c.dir[0] == '/' && arb_cfg_errors(cfg) == 0
	    && dir_problem(c.dir, why, sizeof(why))) {
		arb_cfg_err(cfg, "dir", "%s", why);
	}
}

// --- the actor's state ---------------------------------------------------

enum {
	R_QUOTA,
	R_DISK_FULL,
	R_PENDING,
	R_DISK_ERROR,
	R_COMMIT_FAILED,
	R_STOPPING,
	R_TOO_LARGE,
	R_BAD_READING,
	R_BAD_MESSAGE,
	R_COUNT,
};

static const char *const refusal_names[R_COUNT] = { "quota", "disk_full",
	"pending", "disk_error", "commit_failed", "stopping", "too_large",
	"bad_reading", "bad_message" };

// The engine's counters (slog_stats), exported as they grow.
static const struct engine_counter {
	const char *name;
	const char *label;
	const char *help;
	size_t      stat; // offsetof(slog_stats, ...), a uint64_t
} engine_counters[] = {
	{ "store_appended_records_total", NULL,
	    "Records made durable and acknowledged to their producer.",
	    offsetof(slog_stats, appended_records) },
	{ "store_appended_bytes_total", NULL,
	    "Bytes of those records on disk (headers included).",
	    offsetof(slog_stats, appended_bytes) },
	{ "store_acked_records_total", NULL,
	    "Records acknowledged by the consumer.",
	    offsetof(slog_stats, acked_records) },
	{ "store_acked_bytes_total", NULL,
	    "Bytes of records acknowledged by the consumer.",
	    offsetof(slog_stats, acked_bytes) },
	{ "store_deleted_records_total", NULL,
	    "Records deleted with their retired segment.",
	    offsetof(slog_stats, deleted_records) },
	{ "store_deleted_bytes_total", NULL,
	    "Bytes of records deleted with their retired segment.",
	    offsetof(slog_stats, deleted_bytes) },
	{ "store_dropped_records_total", "cause=drop_oldest",
	    "Durable records deleted before the consumer acknowledged them.",
	    offsetof(slog_stats, dropped_records) },
	{ "store_torn_tails_total", NULL,
	    "Torn tails cut when the log was opened.",
	    offsetof(slog_stats, torn_tails) },
	{ "store_torn_bytes_total", NULL,
	    "Bytes of torn tails cut when the log was opened.",
	    offsetof(slog_stats, torn_bytes) },
	{ "store_corrupt_bytes_total", NULL,
	    "Bytes of corrupt regions skipped inside segments.",
	    offsetof(slog_stats, corrupt_bytes) },
	{ "store_quarantined_segments_total", NULL,
	    "Segments set aside in quarantine/.",
	    offsetof(slog_stats, quarantined) },
	{ "store_acked_damaged_total", NULL,
	    "Openings that found the acked file missing beside the cursor, "
	    "unreadable or damaged (no floor for sequence numbers).",
	    offsetof(slog_stats, acked_damaged) },
	{ "store_acked_write_errors_total", NULL,
	    "Writes of the acked file that failed.",
	    offsetof(slog_stats, acked_write_errors) },
	{ "store_log_shortened_bytes_total", NULL,
	    "Bytes of durable records found gone when the log was opened "
	    "(its last segment shorter than at the last stop).",
	    offsetof(slog_stats, shortened_bytes) },
	{ "store_commits_total", NULL,
	    "Group commits (write + fdatasync rounds).",
	    offsetof(slog_stats, commits) },
};

#define N_ENGINE_COUNTERS \
	(sizeof(engine_counters) / sizeof(engine_counters[0]))

typedef struct metrics {
	arb_metric *engine[N_ENGINE_COUNTERS];
	arb_metric *refused[R_COUNT];
	arb_metric *answers_lost, *stale_acks, *repeats;
	arb_metric *backlog_records, *backlog_bytes, *oldest_age;
	arb_metric *segments, *log_bytes, *disk_avail, *full, *inflight;
	arb_metric *streams, *consumer;
	arb_metric *fsync;
} metrics;

typedef struct store {
	arb_ctx      *ctx;
	settings      c;
	slog_vfs     *vfs;
	slog         *log;
	struct event *wake_ev;
	struct event *tick_ev;
	struct event *retry_ev;
	// the consumer
	bool     subscribed;
	arb_pid  consumer;
	uint64_t session;
	uint64_t session_base;
	uint64_t mon_ref;
	uint32_t batch;
	// numbers
	metrics    m;
	slog_stats last; // the engine's counters as last exported
	// STORE_RECORDS being built
	store_recs *recs;
	char        batch_gw[STORE_GATEWAY_MAX + 1];
} store;

// An append waiting for its commit.  runs: the engine's numbers; out:
// the same as the message's (room for them is taken with the append, so
// a durable append always gets its answer).
typedef struct pending {
	store     *st;
	arb_pid    to;
	uint64_t   id;
	arb_msg   *req; // a request's copy (for arb_reply), or NULL
	size_t     nruns;
	slog_run  *runs;
	store_run *out;
} pending;

static void push_records(store *st);

// --- answers ----------------------------------------------------------------

static void
answer(store *st, arb_pid to, const arb_msg *req, uint32_t tag,
    const void *body, size_t len)
{
	int rv = req != NULL ? arb_reply(st->ctx, req, tag, body, len)
	                     : arb_send_copy(st->ctx, to, tag, body, len);

	if (rv != ARB_OK) {
		arb_metric_add(st->m.answers_lost, 1);
		arb_log(st->ctx, ARB_LOG_WARN, "answer_lost",
		    "tag=0x%x to=%llu error=%s", tag,
		    (unsigned long long) to.id, arb_err_name(rv));
	}
}

// answer_body sends a body built by a store_msg_* helper (rv its
// outcome) and frees it.
static void
answer_body(store *st, arb_pid to, const arb_msg *req, uint32_t tag,
    store_body *b, int rv)
{
	if (rv != 0) {
		arb_metric_add(st->m.answers_lost, 1);
		arb_log(st->ctx, ARB_LOG_WARN, "answer_lost",
		    "tag=0x%x to=%llu error=ENOMEM", tag,
		    (unsigned long long) to.id);
		return;
	}
	answer(st, to, req, tag, b->data, b->len);
	store_body_free(b);
}

static void
refuse(store *st, arb_pid to, const arb_msg *req, uint64_t id, int code,
    int retry_ms, int why)
{
	store_body b;

	answer_body(st, to, req, STORE_TAG_REFUSED, &b,
	    store_msg_refused(&b, id, code, retry_ms, refusal_names[why]));
	arb_metric_add(st->m.refused[why], 1);
}

static void
append_done(void *arg, int status)
{
	pending   *p  = arg;
	store     *st = p->st;
	store_body b;
	size_t     i;

	if (status != ARB_OK) {
		refuse(st, p->to, p->req, p->id, ARB_EAGAIN,
		    slog_retry_ms(st->log), R_COMMIT_FAILED);
	} else {
		for (i = 0; i < p->nruns; i++) {
			p->out[i] = (store_run) { .stream = p->runs[i].stream,
				.count = p->runs[i].count,
				.first_seq = p->runs[i].first_seq };
		}
		answer_body(st, p->to, p->req, STORE_TAG_APPENDED, &b,
		    store_msg_appended(&b, p->id, p->out, p->nruns));
	}
	arb_msg_free(p->req);
	free(p);
}

// --- producers --------------------------------------------------------------

// pending_new allocates an append's pending entry with room for n runs.
static pending *
pending_new(store *st, const arb_msg *msg, uint64_t id, size_t n)
{
	pending *p = malloc(
	    sizeof(*p) + n * (sizeof(slog_run) + sizeof(store_run)));

	if (p == NULL) {
		return NULL;
	}
	p->st    = st;
	p->to    = arb_msg_from(msg);
	p->id    = id;
	p->req   = NULL;
	p->nruns = 0;
	p->runs  = (slog_run *) (p + 1);
	p->out   = (store_run *) (p->runs + n);
	if (arb_msg_is_request(msg) && arb_msg_dup(&p->req, msg) != ARB_OK) {
		free(p);
		return NULL;
	}
	return p;
}

// refuse_stopping answers an append that arrives after the stop began.
static void
refuse_stopping(store *st, const arb_msg *msg)
{
	uint64_t       producer, id = 0;
	store_reading *r = NULL;
	size_t         n;

	store_msg_append_read(
	    arb_msg_body(msg), arb_msg_len(msg), &producer, &id, &r, &n);
	free(r);
	refuse(st, arb_msg_from(msg), arb_msg_is_request(msg) ? msg : NULL, id,
	    ARB_EAGAIN, 1000, R_STOPPING);
}

static void
on_append(store *st, const arb_msg *msg)
{
	size_t         n  = 0, i;
	uint64_t       id = 0;
	slog_key       key = { 0, 0 };
	store_reading *r   = NULL;
	slog_reading  *rd  = NULL;
	pending       *p   = NULL;
	const arb_msg *req = arb_msg_is_request(msg) ? msg : NULL;
	slog_refusal   why;
	int            rv;

	rv = store_msg_append_read(
	    arb_msg_body(msg), arb_msg_len(msg), &key.producer, &id, &r, &n);
	if (rv == EBADMSG || rv == EINVAL) {
		arb_log(st->ctx, ARB_LOG_WARN, "bad_append",
		    "from=%llu len=%zu",
		    (unsigned long long) arb_msg_from(msg).id,
		    arb_msg_len(msg));
		refuse(st, arb_msg_from(msg), req, id,
		    rv == EBADMSG ? ARB_EBADMSG : ARB_EINVAL, 0,
		    rv == EBADMSG ? R_BAD_MESSAGE : R_BAD_READING);
		return;
	}
	key.id = id;
	if (rv != 0 || (rd = malloc(n * sizeof(*rd))) == NULL
	    || (p = pending_new(st, msg, id, n)) == NULL) {
		free(r);
		free(rd);
		refuse(st, arb_msg_from(msg), req, id, ARB_EAGAIN, 100,
		    R_PENDING);
		return;
	}
	for (i = 0; i < n; i++) {
		rd[i] = (slog_reading) { .stream = r[i].stream,
			.ts_ms                   = r[i].ts_ms,
			.data                    = r[i].data,
			.len                     = r[i].len };
	}
	free(r);
	rv = slog_append(st->log, key.producer != 0 ? &key : NULL, rd, n,
	    p->runs, &p->nruns, append_done, p, &why);
	free(rd);
	if (rv == ARB_OK) {
		return;
	}
	if (rv == ARB_EEXIST) {
		// Stored and durable before (a producer resending what it was
		// not answered): answered with the same numbers.
		arb_metric_add(st->m.repeats, 1);
		arb_log(st->ctx, ARB_LOG_INFO, "repeated_append",
		    "producer=%llu id=%llu readings=%zu",
		    (unsigned long long) key.producer, (unsigned long long) id,
		    n);
		append_done(p, ARB_OK);
		return;
	}
	arb_msg_free(p->req);
	free(p);
	if (rv == ARB_EAGAIN) {
		refuse(st, arb_msg_from(msg), req, id, ARB_EAGAIN,
		    slog_retry_ms(st->log),
		    why == SLOG_FULL_QUOTA     ? R_QUOTA
		        : why == SLOG_FULL_DISK ? R_DISK_FULL
		        : why == SLOG_FULL_PENDING ? R_PENDING
		                                   : R_DISK_ERROR);
	} else if (rv == ARB_EMSGSIZE) {
		refuse(st, arb_msg_from(msg), req, id, ARB_EMSGSIZE, 0,
		    R_TOO_LARGE);
	} else if (rv == ARB_ENOMEM) {
		refuse(st, arb_msg_from(msg), req, id, ARB_EAGAIN, 100,
		    R_PENDING);
	} else {
		refuse(st, arb_msg_from(msg), req, id, rv, 0, R_BAD_READING);
	}
}

// --- the consumer -----------------------------------------------------------

static void
unsubscribe(store *st, const char *why)
{
	if (!st->subscribed) {
		return;
	}
	arb_demonitor(st->ctx, st->mon_ref);
	st->subscribed = false;
	slog_rewind(st->log);
	arb_log(st->ctx, ARB_LOG_INFO, "unsubscribed",
	    "consumer=%llu session=%llu why=%s inflight_rewound=yes",
	    (unsigned long long) st->consumer.id,
	    (unsigned long long) st->session, why);
}

static void
rec_cb(void *arg, const slog_record *r)
{
	store *st = arg;

	if (st->batch_gw[0] == '\0') {
		snprintf(st->batch_gw, sizeof(st->batch_gw), "%s", r->gateway);
	}
	store_recs_add(
	    st->recs, r->pos, r->stream, r->seq, r->ts_ms, r->data, r->len);
}

// push_records sends STORE_RECORDS while the window has room.
static void
push_records(store *st)
{
	while (st->subscribed) {
		const void *body;
		size_t      n, len;
		int         rv;

		store_recs_reset(st->recs);
		st->batch_gw[0] = '\0';
		n = slog_consume(st->log, st->batch, 192u << 10, rec_cb, st);
		if (n == 0) {
			return;
		}
		rv = store_recs_finish(
		         st->recs, st->session, st->batch_gw, &body, &len)
		        == 0
		    ? arb_send_copy(
		          st->ctx, st->consumer, STORE_TAG_RECORDS, body, len)
		    : ARB_ENOMEM;
		if (rv == ARB_EAGAIN || rv == ARB_ENOMEM) {
			// The consumer's queue is full (or memory short): try
			// again shortly.
			struct timeval tv = { 0, 20000 };
			slog_unconsume(st->log, n);
			evtimer_add(st->retry_ev, &tv);
			return;
		}
		if (rv != ARB_OK) {
			slog_unconsume(st->log, n);
			unsubscribe(st, arb_err_name(rv));
			return;
		}
	}
}

static void
on_subscribe(store *st, const arb_msg *msg)
{
	uint64_t   window = (uint64_t) st->c.window;
	uint64_t   batch  = (uint64_t) st->c.batch;
	store_body b;
	slog_stats s;

	// An empty body subscribes with the defaults.
	if (store_msg_subscribe_read(
	        arb_msg_body(msg), arb_msg_len(msg), &window, &batch)
	    != 0) {
		arb_log(st->ctx, ARB_LOG_WARN, "bad_subscribe", "from=%llu",
		    (unsigned long long) arb_msg_from(msg).id);
		if (arb_msg_is_request(msg)) {
			arb_reply_error(st->ctx, msg, ARB_EBADMSG,
			    "STORE_SUBSCRIBE: [window, batch]");
		}
		return;
	}
	unsubscribe(st, "replaced");
	if (window < 1 || window > (uint64_t) st->c.window) {
		window = (uint64_t) st->c.window;
	}
	if (batch < 1 || batch > 4096) {
		batch = (uint64_t) st->c.batch;
	}
	st->consumer   = arb_msg_from(msg);
	st->session    = ++st->session_base;
	st->batch      = (uint32_t) batch;
	st->subscribed = true;
	if (arb_monitor(st->ctx, st->consumer, &st->mon_ref) != ARB_OK) {
		st->mon_ref = 0;
	}
	slog_rewind(st->log);
	slog_set_window(st->log, (uint32_t) window);
	slog_stats_get(st->log, &s);
	answer_body(st, st->consumer, arb_msg_is_request(msg) ? msg : NULL,
	    STORE_TAG_SUBSCRIBED, &b,
	    store_msg_subscribed(&b, st->session, st->c.gateway,
	        s.backlog_records, s.backlog_bytes));
	arb_log(st->ctx, ARB_LOG_INFO, "subscribed",
	    "consumer=%llu session=%llu window=%llu batch=%llu "
	    "backlog_records=%llu",
	    (unsigned long long) st->consumer.id,
	    (unsigned long long) st->session, (unsigned long long) window,
	    (unsigned long long) batch,
	    (unsigned long long) s.backlog_records);
	push_records(st);
}

static void
on_ack(store *st, const arb_msg *msg)
{
	uint64_t  session, *pos;
	size_t    n, bad, i;

	if (store_msg_ack_read(arb_msg_body(msg), arb_msg_len(msg), &session,
	        &pos, &n, &bad)
	    != 0) {
		arb_log(st->ctx, ARB_LOG_WARN, "bad_ack", "from=%llu",
		    (unsigned long long) arb_msg_from(msg).id);
		return;
	}
	arb_metric_add(st->m.stale_acks, bad);
	for (i = 0; i < n; i++) {
		if (!st->subscribed || session != st->session
		    || slog_ack(st->log, pos[i]) != ARB_OK) {
			arb_metric_add(st->m.stale_acks, 1);
		}
	}
	free(pos);
	push_records(st);
}

static void
on_unsubscribe(store *st, const arb_msg *msg)
{
	uint64_t session;

	if (store_msg_unsubscribe_read(
	        arb_msg_body(msg), arb_msg_len(msg), &session)
	        == 0
	    && session == st->session) {
		unsubscribe(st, "asked");
	}
}

static void
on_status(store *st, const arb_msg *msg)
{
	slog_stats      s;
	store_status    ss;
	store_body      b;
	int64_t         age = 0;
	struct timespec ts;

	slog_stats_get(st->log, &s);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (s.oldest_ts_ms > 0) {
		age = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000
		    - s.oldest_ts_ms;
	}
	ss = (store_status) { .backlog_records = s.backlog_records,
		.backlog_bytes                 = s.backlog_bytes,
		.oldest_age_ms                 = age > 0 ? age : 0,
		.appended_records              = s.appended_records,
		.acked_records                 = s.acked_records,
		.full                          = s.full,
		.consumer                      = st->subscribed };
	answer_body(st, arb_msg_from(msg),
	    arb_msg_is_request(msg) ? msg : NULL, STORE_TAG_STATUS_REPLY, &b,
	    store_msg_status_reply(&b, &ss));
}

// --- numbers ----------------------------------------------------------------

static void
metrics_declare(store *st)
{
	static const double fsync_bounds[] = { .0001, .00025, .0005, .001,
		.0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5 };
	arb_ctx  *x = st->ctx;
	metrics  *m = &st->m;
	char      label[32];
	int       i;

	for (i = 0; i < (int) N_ENGINE_COUNTERS; i++) {
		const struct engine_counter *c = &engine_counters[i];
		arb_metric_counter(
		    x, c->name, c->label, c->help, &m->engine[i]);
	}
	for (i = 0; i < R_COUNT; i++) {
		snprintf(label, sizeof(label), "cause=%s", refusal_names[i]);
		arb_metric_counter(x, "store_refused_readings_total", label,
		    "Appends refused (nothing stored; the producer keeps the "
		    "readings), by cause.",
		    &m->refused[i]);
	}
	arb_metric_counter(x, "store_answers_lost_total", NULL,
	    "Answers to producers that could not be sent.", &m->answers_lost);
	arb_metric_counter(x, "store_stale_acks_total", NULL,
	    "Consumer acks of another session or of records not in flight.",
	    &m->stale_acks);
	arb_metric_counter(x, "store_repeated_appends_total", NULL,
	    "Exactly-once appends sent again and answered without storing "
	    "them twice.",
	    &m->repeats);
	arb_metric_gauge(x, "store_backlog_records", NULL,
	    "Durable records the consumer has not acknowledged.",
	    &m->backlog_records);
	arb_metric_gauge(x, "store_backlog_bytes", NULL,
	    "Bytes of those records.", &m->backlog_bytes);
	arb_metric_gauge(x, "store_oldest_unacked_age_seconds", NULL,
	    "Age (receive time) of the oldest unacknowledged record.",
	    &m->oldest_age);
	arb_metric_gauge(x, "store_segments", NULL, "Segment files in use.",
	    &m->segments);
	arb_metric_gauge(x, "store_log_bytes", NULL,
	    "Bytes of the segment files.", &m->log_bytes);
	arb_metric_gauge(x, "store_disk_available_bytes", NULL,
	    "Bytes available on the log's file system.", &m->disk_avail);
	arb_metric_gauge(x, "store_full", NULL,
	    "1 while the quota or free-space alarm is raised.", &m->full);
	arb_metric_gauge(x, "store_inflight_records", NULL,
	    "Records sent to the consumer, not yet acknowledged.",
	    &m->inflight);
	arb_metric_gauge(x, "store_streams", NULL, "Streams known.",
	    &m->streams);
	arb_metric_gauge(x, "store_consumer_subscribed", NULL,
	    "1 while a consumer is subscribed.", &m->consumer);
	arb_metric_histogram(x, "store_fsync_seconds", NULL,
	    "fdatasync latency of group commits.", fsync_bounds,
	    sizeof(fsync_bounds) / sizeof(fsync_bounds[0]), &m->fsync);
}

static void
metrics_sync(store *st)
{
	metrics        *m = &st->m;
	slog_stats      s, *l = &st->last;
	double          ms[256];
	size_t          i, n;
	struct timespec ts;

	slog_stats_get(st->log, &s);
	for (i = 0; i < N_ENGINE_COUNTERS; i++) {
		size_t off = engine_counters[i].stat;
		arb_metric_add(m->engine[i],
		    *(const uint64_t *) ((const char *) &s + off)
		        - *(const uint64_t *) ((const char *) l + off));
	}
	*l = s;
	arb_metric_set(m->backlog_records, (double) s.backlog_records);
	arb_metric_set(m->backlog_bytes, (double) s.backlog_bytes);
	clock_gettime(CLOCK_REALTIME, &ts);
	arb_metric_set(m->oldest_age, s.oldest_ts_ms > 0
	        ? ((double) ts.tv_sec + ts.tv_nsec / 1e9)
	            - (double) s.oldest_ts_ms / 1000.0
	        : 0);
	arb_metric_set(m->segments, (double) s.segments);
	arb_metric_set(m->log_bytes, (double) s.log_bytes);
	arb_metric_set(m->disk_avail, (double) s.disk_avail);
	arb_metric_set(m->full, s.full ? 1 : 0);
	arb_metric_set(m->inflight, (double) slog_inflight(st->log));
	arb_metric_set(m->streams, (double) s.streams);
	arb_metric_set(m->consumer, st->subscribed ? 1 : 0);
	n = slog_fsync_samples(st->log, ms, sizeof(ms) / sizeof(ms[0]));
	for (i = 0; i < n; i++) {
		arb_metric_observe(m->fsync, ms[i] / 1000.0);
	}
}

// --- loop events ------------------------------------------------------------

// wake runs on the commit thread: one event_active per commit.
static void
wake(void *arg)
{
	store *st = arg;

	event_active(st->wake_ev, EV_READ, 0);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	store *st = arg;

	(void) fd;
	(void) what;
	if (st->log == NULL) {
		return; // stopped
	}
	if (slog_poll(st->log)) {
		push_records(st);
	}
	metrics_sync(st);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	store *st = arg;

	(void) fd;
	(void) what;
	if (st->log == NULL) {
		return;
	}
	slog_poll(st->log);
	push_records(st);
	metrics_sync(st);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	if (((store *) arg)->log != NULL) {
		push_records(arg);
	}
}

// log_line passes the engine's "event=NAME rest" lines to arb_log.
static void
log_line(void *arg, int level, const char *line)
{
	store      *st = arg;
	char        event[48];
	const char *rest = line;
	size_t      n    = 0;

	snprintf(event, sizeof(event), "log");
	if (strncmp(line, "event=", 6) == 0) {
		const char *sp = strchr(line + 6, ' ');
		n = sp != NULL ? (size_t) (sp - line - 6) : strlen(line + 6);
		if (n < sizeof(event)) {
			memcpy(event, line + 6, n);
			event[n] = '\0';
			rest     = sp != NULL ? sp + 1 : "";
		}
	}
	arb_log(st->ctx, level, event, "%s", rest);
}

// --- callbacks --------------------------------------------------------------

static void
store_free(store *st)
{
	if (st->log != NULL) {
		slog_close(st->log);
		st->log = NULL;
	}
	if (st->wake_ev != NULL) {
		event_free(st->wake_ev);
	}
	if (st->tick_ev != NULL) {
		event_free(st->tick_ev);
	}
	if (st->retry_ev != NULL) {
		event_free(st->retry_ev);
	}
	slog_vfs_destroy(st->vfs);
	store_recs_free(st->recs);
	free(st);
}

static int
store_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	store         *st;
	arb_cfg       *cfg;
	slog_opts      o;
	struct timeval tick = { 1, 0 };
	int            rv;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		return ARB_ENOMEM;
	}
	st->ctx = ctx;
	if (store_recs_new(&st->recs) != 0) {
		free(st);
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&cfg, arg, len)) != ARB_OK) {
		store_free(st);
		return rv;
	}
	store_read(cfg, &st->c);
	rv = arb_cfg_report(ctx, cfg);
	arb_cfg_free(cfg);
	if (rv != ARB_OK) {
		store_free(st);
		return rv;
	}
	st->wake_ev  = event_new(arb_base(ctx), -1, 0, on_wake, st);
	st->tick_ev  = event_new(arb_base(ctx), -1, EV_PERSIST, on_tick, st);
	st->retry_ev = evtimer_new(arb_base(ctx), on_retry, st);
	if (st->wake_ev == NULL || st->tick_ev == NULL
	    || st->retry_ev == NULL) {
		store_free(st);
		return ARB_ENOMEM;
	}
	if ((rv = slog_vfs_posix_new(st->c.dir, &st->vfs)) != 0) {
		arb_log(ctx, ARB_LOG_ERROR, "open_failed",
		    "dir=\"%s\" error=\"%s\"", st->c.dir, strerror(rv));
		store_free(st);
		return rv == EACCES || rv == EPERM ? ARB_EPERM
		                                   : ARB_ESYSERR | rv;
	}
	memset(&o, 0, sizeof(o));
	o.gateway            = st->c.gateway;
	o.vfs                = st->vfs;
	o.commit_interval_ms = (int) st->c.commit_interval_ms;
	o.commit_records     = (uint32_t) st->c.commit_records;
	o.segment_bytes      = st->c.segment_size;
	o.max_record         = (uint32_t) st->c.max_record;
	o.quota_bytes        = st->c.quota;
	o.min_free_bytes     = st->c.min_free == 0 ? 1 : st->c.min_free;
	o.max_pending_bytes  = st->c.max_pending;
	o.cursor_interval_ms = (int) st->c.cursor_interval_ms;
	o.on_full = st->c.on_full == 1 ? SLOG_DROP_OLDEST : SLOG_BACKPRESSURE;
	o.wake    = wake;
	o.wake_arg = st;
	o.log      = log_line;
	o.log_arg  = st;
	if ((rv = slog_open(&st->log, &o)) != ARB_OK) {
		arb_log(ctx, ARB_LOG_ERROR, "open_failed",
		    "dir=\"%s\" error=%s", st->c.dir, arb_err_name(rv));
		st->log = NULL;
		store_free(st);
		return rv;
	}
	if (getrandom(&st->session_base, sizeof(st->session_base), 0)
	    != (ssize_t) sizeof(st->session_base)) {
		st->session_base = (uint64_t) getpid() << 32;
	}
	st->session_base &= ~(uint64_t) 0xffffffff; // then counts up
	metrics_declare(st);
	metrics_sync(st);
	event_add(st->tick_ev, &tick);
	arb_log(ctx, ARB_LOG_INFO, "ready",
	    "dir=\"%s\" gateway=%s ospid=%d commit_interval_ms=%lld "
	    "policy=%s",
	    st->c.dir, st->c.gateway, (int) getpid(),
	    (long long) st->c.commit_interval_ms,
	    st->c.on_full == 1 ? "drop_oldest" : "backpressure");
	*statep = st;
	return ARB_OK;
}

static void
store_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	store *st = state;

	(void) ctx;
	if (st->log == NULL) {
		if (arb_msg_tag(msg) == STORE_TAG_APPEND) {
			refuse_stopping(st, msg);
		}
		return;
	}
	switch (arb_msg_tag(msg)) {
	case STORE_TAG_APPEND:
		on_append(st, msg);
		break;
	case STORE_TAG_SUBSCRIBE:
		on_subscribe(st, msg);
		break;
	case STORE_TAG_ACK:
		on_ack(st, msg);
		break;
	case STORE_TAG_UNSUBSCRIBE:
		on_unsubscribe(st, msg);
		break;
	case STORE_TAG_STATUS:
		on_status(st, msg);
		break;
	case ARB_TAG_DOWN:
		if (st->subscribed && arb_msg_ref(msg) == st->mon_ref) {
			st->subscribed = false; // the monitor is gone with it
			slog_rewind(st->log);
			arb_log(st->ctx, ARB_LOG_INFO, "unsubscribed",
			    "consumer=%llu session=%llu why=down",
			    (unsigned long long) st->consumer.id,
			    (unsigned long long) st->session);
		}
		break;
	default:
		if (arb_msg_is_request(msg)) {
			arb_reply_error(st->ctx, msg, ARB_ENOTSUP,
			    "store: unknown tag");
		}
		arb_log(st->ctx, ARB_LOG_WARN, "unknown_tag",
		    "tag=0x%x from=%llu", arb_msg_tag(msg),
		    (unsigned long long) arb_msg_from(msg).id);
		break;
	}
}

// store_stop: the last commit is awaited, so that every durable append
// gets its answer before the actor ends.
static void
store_stop(arb_ctx *ctx, void *state)
{
	store *st = state;

	if (st->log != NULL) {
		slog_close(st->log);
		st->log = NULL;
	}
	arb_actor_exit(ctx, &(arb_exit) { .kind = ARB_EXIT_SHUTDOWN });
}

static void
store_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	store_free(state);
}

static const arb_actor_ops store_ops = {
	.type      = "store",
	.init      = store_init,
	.handle    = store_handle,
	.stop      = store_stop,
	.terminate = store_terminate,
	.check     = store_check,
};

// store_actor_ops is the type: module.c registers it, and programs that
// link the type in (tests) do the same.
const arb_actor_ops *store_actor_ops(void);

const arb_actor_ops *
store_actor_ops(void)
{
	return &store_ops;
}
