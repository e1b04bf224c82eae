// SPDX-License-Identifier: MIT
// commit.c -- group commit: the thread that writes and fdatasyncs.
//
// The owner copies encoded records into the pending batch (s->pend)
// under s->mu.  This thread takes the whole batch when it is due (the
// oldest append has waited commit_interval_ms, or commit_records are
// waiting, or the log closes), writes it with one write per segment,
// fdatasyncs, fsyncs the directory when the batch created a segment, and
// posts one result for the batch; then it calls opts.wake once.  It also
// writes the consumer's cursor (at most every cursor_interval_ms) and,
// once the cursor is durable, unlinks the segments the owner retired.
// A slow disk stalls only this thread: the owner keeps running, and
// refuses appends once max_pending_bytes wait.  Thread: the commit
// thread, except the batch helpers (owner, under mu).

#include "slog_int.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double slog_fsync_bounds_ms[SLOG_FSYNC_BUCKETS] = { 0.1, 0.25, 0.5, 1,
	2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000 };

int
slog__batch_reserve(slog_batch *b, size_t bytes)
{
	size_t   cap;
	uint8_t *nb;

	if (b->len + bytes <= b->cap) {
		return ARB_OK;
	}
	cap = b->cap ? b->cap : 64 * 1024;
	while (cap < b->len + bytes) {
		cap *= 2;
	}
	if ((nb = realloc(b->buf, cap)) == NULL) {
		return ARB_ENOMEM;
	}
	b->buf = nb;
	b->cap = cap;
	return ARB_OK;
}

// slog__batch_op describes the next len bytes of the buffer (from
// b->len, reserved by the caller): kind at (seg, off).  Contiguous data
// of one segment extends the previous op.
int
slog__batch_op(slog_batch *b, int kind, uint64_t seg, uint64_t off, size_t len)
{
	slog_op *last = b->nops > 0 ? &b->ops[b->nops - 1] : NULL;

	if (kind == SLOG_OP_DATA && last != NULL && last->seg == seg
	    && last->off + last->len == off
	    && last->boff + last->len == b->len) {
		last->len += len;
		return ARB_OK;
	}
	if (b->nops == b->capops) {
		size_t   cap = b->capops ? b->capops * 2 : 8;
		slog_op *n   = realloc(b->ops, cap * sizeof(*n));
		if (n == NULL) {
			return ARB_ENOMEM;
		}
		b->ops    = n;
		b->capops = cap;
	}
	b->ops[b->nops++] = (slog_op) { .kind = kind, .seg = seg, .off = off,
		.boff = b->len, .len = len };
	return ARB_OK;
}

void
slog__batch_fini(slog_batch *b)
{
	free(b->buf);
	free(b->ops);
	memset(b, 0, sizeof(*b));
}

static void
batch_clear(slog_batch *b)
{
	b->len     = 0;
	b->nops    = 0;
	b->records = 0;
}

static void
swap_batches(slog_batch *a, slog_batch *b)
{
	slog_batch t = *a;

	*a = *b;
	*b = t;
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// Latencies measured during one round, merged under mu.
typedef struct lat {
	double ms[8];
	int    n;
} lat;

static int
timed_datasync(slog *s, slog_file *f, lat *l)
{
	int64_t t0 = mono_us();
	int     rv = s->vfs->datasync(f);

	if (l->n < (int) (sizeof(l->ms) / sizeof(l->ms[0]))) {
		l->ms[l->n++] = (double) (mono_us() - t0) / 1000.0;
	}
	return rv;
}

// wf_close ends writing the current segment.  After a failure the file
// is cut back to its durable size (best effort: what stays beyond it is
// never acknowledged, and recovery treats it as a torn region).
static void
wf_close(slog *s, bool failed)
{
	if (s->wf == NULL) {
		return;
	}
	if (failed) {
		if (s->wf_durable == 0) {
			char name[SLOG_NAME_MAX];
			slog__seg_name(name, sizeof(name), s->wf_no);
			s->vfs->close(s->wf);
			s->vfs->unlink(s->vfs, name); // never held a record
			s->wf = NULL;
			return;
		}
		s->vfs->truncate(s->wf, s->wf_durable);
	}
	s->vfs->close(s->wf);
	s->wf       = NULL;
	s->wf_dirty = false;
}

// commit_batch writes s->work and makes it durable.  Returns 0 or an
// errno.
static int
commit_batch(slog *s, lat *l)
{
	slog_batch *b      = &s->work;
	bool        newseg = false;
	uint64_t    end    = 0;
	size_t      i;
	int         rv = 0;

	for (i = 0; i < b->nops; i++) {
		slog_op *op = &b->ops[i];
		char     name[SLOG_NAME_MAX];

		if (op->kind == SLOG_OP_NEWSEG || s->wf == NULL
		    || s->wf_no != op->seg) {
			if (s->wf != NULL && s->wf_dirty) {
				// The old segment is durable before the new
				// one exists: only the last segment can ever
				// be torn.
				if ((rv = timed_datasync(s, s->wf, l)) != 0) {
					goto fail;
				}
				s->wf_durable = end;
			}
			wf_close(s, false);
			slog__seg_name(name, sizeof(name), op->seg);
			if (op->kind == SLOG_OP_NEWSEG) {
				rv = s->vfs->open(s->vfs, name,
				    SLOG_O_RDWR | SLOG_O_CREATE | SLOG_O_EXCL,
				    &s->wf);
				newseg        = true;
				s->wf_durable = 0;
			} else {
				rv = s->vfs->open(
				    s->vfs, name, SLOG_O_RDWR, &s->wf);
				s->wf_durable = op->off;
			}
			if (rv != 0) {
				s->wf = NULL;
				goto fail;
			}
			s->wf_no = op->seg;
		}
		if ((rv = s->vfs->write(s->wf, b->buf + op->boff, op->len,
		         op->off))
		    != 0) {
			goto fail;
		}
		s->wf_dirty = true;
		end         = op->off + op->len;
	}
	if (s->wf != NULL && s->wf_dirty) {
		if ((rv = timed_datasync(s, s->wf, l)) != 0) {
			goto fail;
		}
		s->wf_dirty   = false;
		s->wf_durable = end;
	}
	if (newseg && (rv = s->vfs->sync_dir(s->vfs, "")) != 0) {
		goto fail;
	}
	return 0;
fail:
	wf_close(s, true);
	return rv;
}

// acked_round writes the acknowledged numbers' table.  Returns 0 or an
// arbor code.
static int
acked_round(slog *s)
{
	int rv;

	if (s->af == NULL) {
		rv = s->vfs->open(s->vfs, SLOG_ACKED_NAME,
		    SLOG_O_RDWR | SLOG_O_CREATE, &s->af);
		if (rv != 0) {
			s->af = NULL;
			return slog__err(rv);
		}
	}
	rv = slog__acked_write(
	    s->vfs, s->af, s->ack_work, s->nack_work, s->acked_gen + 1);
	if (rv != 0) {
		return rv;
	}
	s->acked_gen++;
	s->acked_ver = s->ack_want_ver_taken;
	return 0;
}

// cursor_round makes want durable, then unlinks the retired segments.
// Returns 0 or an error (arbor code or errno: only compared with 0);
// *ackerrp: 0, or the arbor code of a failed write of the acked table.
static int
cursor_round(slog *s, uint64_t want, const uint64_t *retire, size_t n,
    size_t *unlinkedp, int *ackerrp)
{
	size_t i;
	int    rv;

	*unlinkedp = 0;
	*ackerrp   = 0;
	if (s->acked_ver != s->ack_want_ver_taken) {
		// The acknowledged numbers first: a crash between the two
		// writes leaves them ahead of the cursor, which is safe.  A
		// table that cannot be written does not hold the cursor back
		// (nothing would retire and the log would fill the disk): the
		// owner logs and counts the failure, and the next round
		// tries again.
		*ackerrp = acked_round(s);
	}
	if (want != s->cursor_cur) {
		if (s->cf == NULL) {
			rv = s->vfs->open(s->vfs, SLOG_CURSOR_NAME,
			    SLOG_O_RDWR | SLOG_O_CREATE, &s->cf);
			if (rv != 0) {
				s->cf = NULL;
				return rv;
			}
		}
		rv = slog__cursor_write(
		    s->vfs, s->cf, want, s->cursor_gen + 1);
		if (rv != 0) {
			return rv; // retried next round
		}
		s->cursor_gen++;
		s->cursor_cur = want;
	}
	for (i = 0; i < n; i++) {
		char name[SLOG_NAME_MAX];
		slog__seg_name(name, sizeof(name), retire[i]);
		rv = s->vfs->unlink(s->vfs, name);
		if (rv != 0 && rv != ENOENT) {
			break; // retried next round
		}
		(*unlinkedp)++;
	}
	return 0;
}

static int
push_result(slog *s, uint64_t ticket, int status)
{
	if (s->nresults == s->capresults) {
		size_t       cap = s->capresults ? s->capresults * 2 : 16;
		slog_result *n   = realloc(s->results, cap * sizeof(*n));
		if (n == NULL) {
			return ARB_ENOMEM;
		}
		s->results    = n;
		s->capresults = cap;
	}
	s->results[s->nresults++] = (slog_result) { ticket, status };
	return ARB_OK;
}

static int
push_retired(slog *s, const uint64_t *nos, size_t n)
{
	if (n == 0) {
		return ARB_OK;
	}
	if (s->nretired + n > s->capretired) {
		size_t    cap = s->capretired ? s->capretired : 8;
		uint64_t *a;
		while (cap < s->nretired + n) {
			cap *= 2;
		}
		if ((a = realloc(s->retired, cap * sizeof(*a))) == NULL) {
			return ARB_ENOMEM;
		}
		s->retired    = a;
		s->capretired = cap;
	}
	if (n > 0) {
		memcpy(s->retired + s->nretired, nos, n * sizeof(*nos));
	}
	s->nretired += n;
	return ARB_OK;
}

static void
add_latencies(slog *s, const lat *l)
{
	int i, k;

	for (i = 0; i < l->n; i++) {
		for (k = 0; k < SLOG_FSYNC_BUCKETS; k++) {
			if (l->ms[i] <= slog_fsync_bounds_ms[k]) {
				break;
			}
		}
		s->fsync_buckets[k]++;
		s->fsync_count++;
		s->fsync_sum_ms += l->ms[i];
		s->samples[s->sample_next] = l->ms[i];
		s->sample_next = (s->sample_next + 1) % SLOG_SAMPLES;
		if (s->nsamples < SLOG_SAMPLES) {
			s->nsamples++;
		}
	}
}

static void
deadline_wait(slog *s, int64_t deadline_ms)
{
	struct timespec ts;

	if (deadline_ms == INT64_MAX) {
		pthread_cond_wait(&s->cv, &s->mu);
		return;
	}
	ts.tv_sec  = deadline_ms / 1000;
	ts.tv_nsec = (long) (deadline_ms % 1000) * 1000000;
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *
commit_main(void *arg)
{
	slog     *s       = arg;
	uint64_t *retire  = NULL;
	size_t    nretire = 0, capretire = 0;
	bool      gave_up = false; // a cursor round failed while stopping
	int64_t   space_at = 0;    // when to read the free space again

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int64_t  now = arb__now_ms();
		int64_t  data_at = INT64_MAX, cursor_at = INT64_MAX;
		bool     data_due, cursor_due, wrote;
		uint64_t want, avail = 0, total = 0;
		size_t   unlinked = 0;
		int      status = 0, crv = 0, ackerr = 0;
		lat      l = { .n = 0 };

		if (s->pend.len > 0) {
			data_at = s->pend.records >= s->opts.commit_records
			        || s->stop
			    ? now
			    : s->pend.first_ms + s->opts.commit_interval_ms;
		}
		if ((s->cursor_want != s->cursor_cur || s->nretire > 0)
		    && !gave_up) {
			cursor_at = s->stop ? now
			                    : s->cursor_since
			        + s->opts.cursor_interval_ms;
		}
		data_due   = data_at <= now;
		cursor_due = cursor_at <= now;
		if (!data_due && !cursor_due) {
			int64_t at = data_at < cursor_at ? data_at : cursor_at;
			if (s->stop) {
				break;
			}
			if (now >= space_at) {
				// The free space is read at least every
				// second: a full disk may get room without any
				// commit.
				pthread_mutex_unlock(&s->mu);
				if (s->vfs->space(s->vfs, &avail, &total)
				    != 0) {
					avail = UINT64_MAX;
				}
				pthread_mutex_lock(&s->mu);
				s->disk_avail = avail;
				space_at      = now + 1000;
				// An append may have come while mu was
				// released (its signal found nobody waiting):
				// look again.
				continue;
			}
			deadline_wait(s, at < space_at ? at : space_at);
			continue;
		}
		if (data_due) {
			swap_batches(&s->pend, &s->work);
			batch_clear(&s->pend);
			s->pend.ticket = s->work.ticket;
		}
		want = s->cursor_want;
		if (cursor_due && s->ack_want_ver != s->ack_want_ver_taken) {
			if (s->nack_want > s->capack_work) {
				slog_ackseq *a = realloc(s->ack_work,
				    s->capack_want * sizeof(*a));
				if (a != NULL) {
					s->ack_work    = a;
					s->capack_work = s->capack_want;
				}
			}
			if (s->nack_want <= s->capack_work) {
				memcpy(s->ack_work, s->ack_want,
				    s->nack_want * sizeof(*s->ack_work));
				s->nack_work          = s->nack_want;
				s->ack_want_ver_taken = s->ack_want_ver;
			}
		}
		if (cursor_due) {
			// Take the retire list; it is handed back if the round
			// fails.
			uint64_t *t = retire;
			size_t    c = capretire;
			retire      = s->retire;
			nretire     = s->nretire;
			capretire   = s->capretire;
			s->retire   = t;
			s->nretire  = 0;
			s->capretire = c;
		}
		pthread_mutex_unlock(&s->mu);

		if (data_due) {
			status = commit_batch(s, &l);
		}
		wrote = false;
		if (cursor_due) {
			crv = cursor_round(
			    s, want, retire, nretire, &unlinked, &ackerr);
			wrote = crv == 0;
		}
		pthread_mutex_lock(&s->mu);
		add_latencies(s, &l);
		if (data_due) {
			s->commits++;
			push_result(s, s->work.ticket, slog__err(status));
			if (status != 0) {
				// What was appended meanwhile was planned
				// after the failed bytes: it fails too, and
				// the owner refuses appends until it has seen
				// the failure.
				if (s->pend.len > 0) {
					push_result(s, s->pend.ticket,
					    slog__err(status));
					batch_clear(&s->pend);
				}
				s->broken = true;
			}
			batch_clear(&s->work);
		}
		if (cursor_due) {
			if (wrote) {
				s->cursor_done = want;
			}
			if (ackerr != 0) {
				s->acked_werr = ackerr;
				s->acked_werrors++;
			} else if (s->acked_ver == s->ack_want_ver_taken) {
				s->acked_werr = 0;
			}
			push_retired(s, retire, unlinked);
			if (unlinked < nretire) {
				// Not unlinked (yet): back to the front of the
				// list for the next round.
				size_t k = nretire - unlinked;
				size_t j;
				for (j = 0; j < k; j++) {
					uint64_t no = retire[unlinked + j];
					if (s->nretire == s->capretire) {
						size_t cap = s->capretire
						    ? s->capretire * 2
						    : 8;
						uint64_t *a
						    = realloc(s->retire,
						        cap * sizeof(*a));
						if (a == NULL) {
							break;
						}
						s->retire    = a;
						s->capretire = cap;
					}
					s->retire[s->nretire++] = no;
				}
				s->cursor_since = arb__now_ms();
			}
			if (crv != 0) {
				s->cursor_since = arb__now_ms();
			}
			gave_up = s->stop && (crv != 0 || unlinked < nretire);
			nretire = 0;
		}
		pthread_mutex_unlock(&s->mu);
		if (s->opts.wake != NULL) {
			s->opts.wake(s->opts.wake_arg);
		}
		// The free space after the results are out: a slow statvfs
		// must not delay the acknowledgements.
		if (s->vfs->space(s->vfs, &avail, &total) != 0) {
			avail = UINT64_MAX;
		}
		pthread_mutex_lock(&s->mu);
		s->disk_avail = avail;
		space_at      = arb__now_ms() + 1000;
	}
	pthread_mutex_unlock(&s->mu);
	free(retire);
	wf_close(s, false);
	return NULL;
}

int
slog__commit_start(slog *s)
{
	int rv;

	if ((rv = pthread_create(&s->thread, NULL, commit_main, s)) != 0) {
		return slog__err(rv);
	}
	s->thread_started = true;
	return ARB_OK;
}

void
slog__commit_stop(slog *s)
{
	if (!s->thread_started) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->thread_started = false;
}
