// SPDX-License-Identifier: MIT
// slog_test.c -- the store's log engine (slog.c, recover.c, consume.c,
// commit.c, cursor.c) on the simulated disk, and once on a real
// directory.
//
// Appends and their acknowledgements, per-stream sequence numbers across
// restarts and segment retirement, the consumer's window, out-of-order
// acks, rewind and the durable cursor, the quota (backpressure and
// drop_oldest), a full disk and failing fdatasyncs, recovery of torn
// tails, corrupt and headerless segments, configuration changes that
// must not cost the backlog, and a backlog kept on disk, not in memory.  Each
// test owns its disk.  Thread: the test and each log's commit thread.

#include "arb_test.h"

#include "slog_int.h"
#include "slogt.h"
#include "vfs_sim.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

// seg_names lists the segment files of v, oldest first.
static int
seg_names(vfs_sim *v, char names[][32], int max)
{
	int      n = 0;
	uint64_t no;

	for (no = 1; no < 200 && n < max; no++) {
		size_t len;
		char   name[32];
		slog__seg_name(name, sizeof(name), no);
		if (vfs_sim_file(v, name, &len) != NULL) {
			strcpy(names[n++], name);
		}
	}
	return n;
}

// one_segment opens the store of t, appends counts[i] records of 20
// bytes to stream i + 1 for each of the nstreams streams, waits for
// their commits, consumes and acknowledges them all when ack, closes the
// store and checks that its log is one segment, whose name it writes to
// name: the disk the recovery tests then damage behind the store's back.
static void
one_segment(slogt *t, vfs_sim *v, const int *counts, size_t nstreams,
    bool ack, char name[32])
{
	char   names[16][32];
	int    total = 0;
	size_t i;

	ARB_PASS(slogt_open(t));
	for (i = 0; i < nstreams; i++) {
		ARB_PASS(slogt_append(
		    t, (uint32_t) i + 1, counts[i], 20, 0, NULL, NULL));
		total += counts[i];
	}
	slogt_settle(t);
	if (ack) {
		slogt_sink k = { 0 };

		assert_int_equal(slogt_drain(t, &k, true), total);
		free(k.v);
	}
	slogt_close(t);
	assert_int_equal(seg_names(v, names, 16), 1);
	strcpy(name, names[0]);
}

// segment_copy returns a copy of segment name (its length in *len) with
// room bytes more after it, for a test to change and put back with
// vfs_sim_put.  The caller frees it.
static uint8_t *
segment_copy(vfs_sim *v, const char *name, size_t room, size_t *len)
{
	const uint8_t *p = vfs_sim_file(v, name, len);
	uint8_t       *img;

	assert_non_null(p);
	img = malloc(*len + room);
	assert_non_null(img);
	memcpy(img, p, *len);
	return img;
}

static void
test_append_ack_consume(void **state)
{
	vfs_sim   *v = vfs_sim_new(1);
	slogt      t;
	slog_run   runs[8];
	size_t     nruns, i;
	slogt_sink k = { 0 };
	slog_stats st;
	slog_reading r[3];
	slog_refusal why;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	r[0] = (slog_reading) { 1, 1000, "a", 1 };
	r[1] = (slog_reading) { 1, 1001, "bb", 2 };
	r[2] = (slog_reading) { 2, -1, "ccc", 3 };
	ARB_PASS(
	    slog_append(t.s, NULL, r, 3, runs, &nruns, slogt_done, &t, &why));
	t.pending++;
	assert_int_equal(nruns, 2);
	assert_true(runs[0].stream == 1 && runs[0].first_seq == 1
	    && runs[0].count == 2);
	assert_true(runs[1].stream == 2 && runs[1].first_seq == 1
	    && runs[1].count == 1);
	// Nothing is deliverable before the commit.
	assert_int_equal(slogt_drain(&t, &k, false), 0);
	slogt_settle(&t);
	assert_int_equal(t.acked, 1);
	assert_int_equal(slogt_drain(&t, &k, true), 3);
	assert_true(k.v[0].stream == 1 && k.v[0].seq == 1 && k.v[0].len == 1);
	assert_true(k.v[1].stream == 1 && k.v[1].seq == 2 && k.v[1].len == 2);
	assert_true(k.v[2].stream == 2 && k.v[2].seq == 1 && k.v[2].len == 3);
	slog_stats_get(t.s, &st);
	assert_true(st.appended_records == 3 && st.acked_records == 3);
	assert_true(st.backlog_records == 0 && st.backlog_bytes == 0);
	assert_true(st.appended_bytes == 3 * 24 + 6);
	assert_true(st.fsync_count >= 1 && st.commits >= 1);
	// Bad input: too long, empty.
	{
		static uint8_t big[70000];
		slog_reading   b = { 1, -1, big, sizeof(big) };
		ARB_FAIL(slog_append(t.s, NULL, &b, 1, runs, &nruns,
		             slogt_done, &t, &why),
		    ARB_EMSGSIZE);
		ARB_FAIL(slog_append(t.s, NULL, &b, 0, runs, &nruns,
		             slogt_done, &t, &why),
		    ARB_EINVAL);
	}
	slogt_close(&t);
	for (i = 0; i < k.n; i++) {
		assert_true(k.v[i].pos != 0);
	}
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_seqs_survive_restart_and_retirement(void **state)
{
	vfs_sim   *v = vfs_sim_new(2);
	slogt      t;
	slog_run   runs[64];
	size_t     nruns;
	slogt_sink k = { 0 };
	slog_stats st;
	int        round;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes = 1024; // a few records per segment
	for (round = 0; round < 4; round++) {
		ARB_PASS(slogt_open(&t));
		ARB_PASS(slogt_append(&t, 9, 10, 100, 0, runs, &nruns));
		assert_int_equal(nruns, 1);
		assert_true(runs[0].first_seq == (uint64_t) round * 10 + 1);
		slogt_settle(&t);
		// Consume and acknowledge everything: old segments retire.
		k.n = 0;
		assert_int_equal(slogt_drain(&t, &k, true), 10);
		assert_true(k.v[0].seq == (uint64_t) round * 10 + 1);
		slogt_close(&t);
		// Only the last segment survives: its header carries seqs.
		// + cursor, acked, closed
		assert_int_equal(vfs_sim_count(v, ""), 4);
	}
	// Another stream fills new segments; stream 9's records all retire,
	// only segment headers still know its numbers.
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 10, 20, 100, 0, runs, &nruns));
	slogt_settle(&t);
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, true), 20);
	slogt_close(&t);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.backlog_records == 0);
	ARB_PASS(slogt_append(&t, 9, 1, 10, 0, runs, &nruns));
	assert_true(runs[0].first_seq == 41);
	slogt_settle(&t);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_cursor_survives_restart(void **state)
{
	vfs_sim   *v = vfs_sim_new(3);
	slogt      t;
	slogt_sink k = { 0 };
	size_t     i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes = 2048;
	ARB_PASS(slogt_open(&t));
	for (i = 0; i < 10; i++) {
		ARB_PASS(slogt_append(&t, 1, 10, 50, (uint8_t) (i * 10), NULL,
		    NULL));
	}
	slogt_settle(&t);
	assert_int_equal(
	    slog_consume(t.s, 40, SIZE_MAX, slogt_sink_cb, &k), 40);
	for (i = 0; i < 40; i++) {
		ARB_PASS(slog_ack(t.s, k.v[i].pos));
	}
	slogt_close(&t); // the cursor is written on close
	ARB_PASS(slogt_open(&t));
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 60);
	assert_true(k.v[0].seq == 41 && k.v[59].seq == 100);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_window_rewind_and_out_of_order_acks(void **state)
{
	vfs_sim   *v = vfs_sim_new(4);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 5, 20, 10, 0, NULL, NULL));
	slogt_settle(&t);
	slog_set_window(t.s, 8);
	assert_int_equal(
	    slog_consume(t.s, 100, SIZE_MAX, slogt_sink_cb, &k), 8);
	assert_int_equal(
	    slog_consume(t.s, 100, SIZE_MAX, slogt_sink_cb, &k), 0);
	assert_int_equal(slog_inflight(t.s), 8);
	// Acks out of order: the cursor waits for the first.
	ARB_PASS(slog_ack(t.s, k.v[3].pos));
	ARB_PASS(slog_ack(t.s, k.v[1].pos));
	ARB_FAIL(slog_ack(t.s, k.v[1].pos), ARB_ENOENT); // repeated
	ARB_FAIL(slog_ack(t.s, 12345), ARB_ENOENT);      // never sent
	slog_stats_get(t.s, &st);
	assert_true(st.acked_records == 0);
	ARB_PASS(slog_ack(t.s, k.v[0].pos));
	slog_stats_get(t.s, &st);
	assert_true(st.acked_records == 2); // 0 and 1; 3 waits for 2
	assert_int_equal(slog_inflight(t.s), 6);
	// Records that could not be sent are taken back.
	slog_set_window(t.s, 12);
	assert_int_equal(slog_consume(t.s, 3, SIZE_MAX, slogt_sink_cb, &k), 3);
	assert_true(k.v[10].seq == 11);
	slog_unconsume(t.s, 2);
	assert_int_equal(slog_inflight(t.s), 7);
	assert_int_equal(slog_consume(t.s, 1, SIZE_MAX, slogt_sink_cb, &k), 1);
	assert_true(k.v[11].seq == 10);
	slog_set_window(t.s, 8);
	// The consumer restarts: what is not acknowledged comes again,
	// 3 included (acknowledged out of order, not yet covered).
	slog_rewind(t.s);
	k.n = 0;
	assert_int_equal(
	    slog_consume(t.s, 100, SIZE_MAX, slogt_sink_cb, &k), 8);
	assert_true(k.v[0].seq == 3 && k.v[7].seq == 10);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_quota_backpressure(void **state)
{
	vfs_sim     *v = vfs_sim_new(5);
	slogt        t;
	slogt_sink   k = { 0 };
	slog_stats   st;
	slog_reading r = { 1, -1, "0123456789", 10 };
	slog_run     run;
	size_t       nruns;
	slog_refusal why = SLOG_OK;
	int          i, rv = 0, ok = 0;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.quota_bytes   = 8192;
	t.o.segment_bytes = 2048;
	ARB_PASS(slogt_open(&t));
	for (i = 0; i < 1000; i++) {
		rv = slog_append(
		    t.s, NULL, &r, 1, &run, &nruns, slogt_done, &t, &why);
		if (rv != 0) {
			break;
		}
		t.pending++;
		ok++;
	}
	assert_int_equal(rv, ARB_EAGAIN);
	assert_int_equal(why, SLOG_FULL_QUOTA);
	assert_true(ok > 100 && ok < 300);
	assert_true(slog_retry_ms(t.s) > 0);
	slogt_settle(&t);
	slog_stats_get(t.s, &st);
	assert_true(st.full);
	assert_true(st.refused[SLOG_FULL_QUOTA] == 1);
	assert_true(st.dropped_records == 0);
	assert_non_null(strstr(t.log, "event=full cause=quota"));
	// The consumer catches up: segments retire, appends resume.
	assert_int_equal(slogt_drain(&t, &k, true), (size_t) ok);
	slog_close(t.s); // the retirement needs the cursor written
	ARB_PASS(slogt_open(&t));
	ARB_PASS(
	    slog_append(t.s, NULL, &r, 1, &run, &nruns, slogt_done, &t, &why));
	t.pending++;
	slogt_settle(&t);
	slog_stats_get(t.s, &st);
	assert_false(st.full);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_drop_oldest(void **state)
{
	vfs_sim     *v = vfs_sim_new(6);
	slogt        t;
	slogt_sink   k = { 0 };
	slog_stats   st;
	size_t       i;
	int          n;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.quota_bytes   = 8192;
	t.o.segment_bytes = 2048;
	t.o.on_full       = SLOG_DROP_OLDEST;
	ARB_PASS(slogt_open(&t));
	for (n = 0; n < 100; n++) {
		ARB_PASS(slogt_append(&t, 3, 4, 40, 0, NULL, NULL));
		slogt_settle(&t); // each commit lands before the next
	}
	slog_stats_get(t.s, &st);
	assert_true(st.dropped_records > 0);
	assert_true(st.appended_records == 400);
	assert_true(st.log_bytes <= 8192);
	assert_true(st.backlog_records + st.dropped_records == 400);
	assert_non_null(strstr(t.log, "event=drop_oldest"));
	// What is left is the newest, in order, without gaps.
	assert_true(slogt_drain(&t, &k, false) == st.backlog_records);
	assert_true(k.v[k.n - 1].seq == 400);
	for (i = 1; i < k.n; i++) {
		assert_true(k.v[i].seq == k.v[i - 1].seq + 1);
	}
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_disk_full_and_failing_sync(void **state)
{
	vfs_sim     *v = vfs_sim_new(7);
	slogt        t;
	slogt_sink   k = { 0 };
	slog_stats   st;
	slog_reading r = { 1, -1, "0123456789", 10 };
	slog_run     run;
	size_t       nruns;
	slog_refusal why;
	int          i, rv;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 1, 10, 10, 0, NULL, NULL));
	slogt_settle(&t);
	// The disk fills up: the commit fails (ENOSPC), its appends are
	// refused, the next appends are told to wait, nothing crashes.
	vfs_sim_set_space(v, 1);
	ARB_PASS(slogt_append(&t, 1, 10, 10, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.last_status, ARB_ENOSPC);
	rv = slog_append(t.s, NULL, &r, 1, &run, &nruns, slogt_done, &t, &why);
	assert_int_equal(rv, ARB_EAGAIN);
	assert_true(why == SLOG_DISK_ERROR || why == SLOG_FULL_DISK);
	assert_true(slog_retry_ms(t.s) > 0);
	assert_non_null(strstr(t.log, "event=commit_failed"));
	// Space again: appends are accepted after the retry delay.
	vfs_sim_set_space(v, UINT64_MAX);
	for (i = 0; i < 200; i++) { // the free space is read every second
		rv = slog_append(
		    t.s, NULL, &r, 1, &run, &nruns, slogt_done, &t, &why);
		if (rv == 0) {
			t.pending++;
			break;
		}
		slogt_wait(&t, 20);
	}
	ARB_PASS(rv);
	slogt_settle(&t);
	// A failing fdatasync: the same.
	vfs_sim_fail_syncs(v, 1, EIO);
	ARB_PASS(slogt_append(&t, 1, 5, 10, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(t.failed, 2);
	slog_stats_get(t.s, &st);
	assert_true(st.failed_records == 15);
	// Only acknowledged records are deliverable, in order (a failed
	// commit leaves a gap in the numbers, never a duplicate).
	assert_int_equal(slogt_drain(&t, &k, false), 11);
	assert_true(k.v[9].seq == 10 && k.v[10].seq > 20);
	slogt_close(&t);
	// And after a restart the same.
	ARB_PASS(slogt_open(&t));
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 11);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// An append that comes while the commit thread reads the free space (a
// slow statvfs, 300 ms) is committed right after it, not at the next
// free-space reading a second later (a lost wakeup once made it wait).
static void
test_append_during_space_reading(void **state)
{
	vfs_sim *v = vfs_sim_new(13);
	slogt    t;
	int64_t  t0, dt;
	int      i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	vfs_sim_slow(v, 0, 300);
	ARB_PASS(slogt_open(&t));
	// The thread reads the free space when it starts, then each second.
	for (i = 0; i < 300 && vfs_sim_in_space(v) == 0; i++) {
		slogt_wait(&t, 10);
	}
	assert_int_equal(vfs_sim_in_space(v), 1);
	t0 = arb_test_now_ms();
	ARB_PASS(slogt_append(&t, 1, 1, 8, 0, NULL, NULL));
	slogt_settle(&t);
	dt = arb_test_now_ms() - t0;
	printf(
	    "acknowledged %lld ms after an append during a 300 ms statvfs\n",
	    (long long) dt);
	assert_true(dt < 900);
	slogt_close(&t);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// The cursor never names a segment that is not on disk yet: here the
// consumer acknowledged everything of segment 1 while segment 2 waits for
// its first commit.  Then the power fails before that commit.  Recovery
// must not take segment 1 for acknowledged-and-gone while its streams'
// numbers live only in it.
static void
test_cursor_never_ahead_of_the_disk(void **state)
{
	vfs_sim   *v = vfs_sim_new(14);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	slog_run   runs[8];
	size_t     nruns;
	uint64_t   before;
	int        i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes      = 600;
	t.o.commit_interval_ms = 300; // the roll's commit waits...
	t.o.commit_records     = 1000;
	t.o.cursor_interval_ms = 1;   // ...the cursor does not
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 2, 5, 20, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(
	    slog_consume(t.s, 10, SIZE_MAX, slogt_sink_cb, &k), 5);
	slog_stats_get(t.s, &st);
	before = st.cursor;
	// Stream 3 rolls into segment 2, not yet durable.
	ARB_PASS(slogt_append(&t, 3, 5, 100, 0, NULL, NULL));
	for (i = 0; i < 5; i++) {
		ARB_PASS(slog_ack(t.s, k.v[i].pos));
	}
	for (i = 0; i < 100 && st.cursor == before; i++) {
		slogt_wait(&t, 10);
		slog_stats_get(t.s, &st);
	}
	assert_true(st.cursor != before);    // the new cursor is durable...
	assert_true((st.cursor >> 32) == 1); // ...and still in segment 1
	vfs_sim_crash(v);
	slogt_close(&t);
	vfs_sim_reboot(v, VFS_SIM_LOSE_ALL);
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 2, 1, 20, 0, runs, &nruns));
	assert_true(runs[0].first_seq == 6); // never 1 again
	slogt_settle(&t);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// Segments before the cursor are unlinked at open, but their records'
// sequence numbers are read first: here a cursor names a segment after
// the only one, whose header does not know stream 2 (its records do).
static void
test_acknowledged_segments_harvested(void **state)
{
	vfs_sim   *v = vfs_sim_new(15);
	slogt      t;
	slog_run   runs[8];
	size_t     nruns;
	slog_file *f;
	slog_vfs  *vfs = vfs_sim_vfs(v);

	(void) state;
	slogt_init(&t, vfs);
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 2, 7, 20, 0, NULL, NULL));
	slogt_settle(&t);
	slogt_close(&t);
	// A cursor past segment 1 (generation 9 wins over what is there).
	assert_int_equal(vfs->open(vfs, "cursor", SLOG_O_RDWR, &f), 0);
	ARB_PASS(slog__cursor_write(vfs, f, (uint64_t) 2 << 32, 9));
	vfs->close(f);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acknowledged_segments_removed"));
	// Acknowledged, not lost: the end kept at the stop says nothing.
	assert_null(strstr(t.log, "event=log_shortened"));
	ARB_PASS(slogt_append(&t, 2, 1, 20, 0, runs, &nruns));
	assert_true(runs[0].first_seq == 8);
	slogt_settle(&t);
	slogt_close(&t);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// Exactly-once appends: the same key again is answered with the same
// numbers and stored once -- durable (ARB_EEXIST at once), pending (the
// original's outcome), after a restart (the table is rebuilt from the
// log), and after a torn tail cut the batch (only the rest is stored).
static void
test_exactly_once_appends(void **state)
{
	vfs_sim   *v = vfs_sim_new(16);
	slogt      t;
	slogt_sink k = { 0 };
	slog_key   key = { 0xfeedbeef, 1 };
	slog_run   a[16], b[16];
	size_t     na, nb, len, i;
	char       names[16][32];
	uint8_t   *p;
	slog_stats st;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	// Pending: the second one waits for the first one's commit.
	ARB_PASS(slogt_append_key(&t, &key, 3, 10, 20, 0, a, &na));
	ARB_PASS(slogt_append_key(&t, &key, 3, 10, 20, 0, b, &nb));
	assert_int_equal(na, 1);
	assert_int_equal(nb, 1);
	assert_true(a[0].first_seq == 1 && a[0].count == 10);
	assert_memory_equal(a, b, sizeof(a[0]));
	slogt_settle(&t);
	assert_int_equal(t.acked, 2);
	// Durable: answered at once.
	ARB_FAIL(slogt_append_key(&t, &key, 3, 10, 20, 0, b, &nb),
	    ARB_EEXIST);
	assert_memory_equal(a, b, sizeof(a[0]));
	// The same key for another batch is refused.
	ARB_FAIL(slogt_append_key(&t, &key, 3, 9, 20, 0, b, &nb), ARB_EINVAL);
	assert_int_equal(slogt_drain(&t, &k, false), 10);
	slogt_close(&t);
	// After a restart, from the batch records in the log.
	ARB_PASS(slogt_open(&t));
	ARB_FAIL(slogt_append_key(&t, &key, 3, 10, 20, 0, b, &nb),
	    ARB_EEXIST);
	assert_memory_equal(a, b, sizeof(a[0]));
	// A second batch, cut by a torn tail after 6 of its 10 readings.
	key.id = 2;
	ARB_PASS(slogt_append_key(&t, &key, 4, 10, 30, 100, a, &na));
	slogt_settle(&t);
	slogt_close(&t);
	// A torn tail is a crash's: no clean stop was recorded after it.
	assert_int_equal(
	    vfs_sim_vfs(v)->unlink(vfs_sim_vfs(v), SLOG_CLOSED_NAME), 0);
	assert_int_equal(seg_names(v, names, 16), 1);
	p = vfs_sim_file(v, names[0], &len);
	vfs_sim_put(v, names[0], p, len - 4 * (24 + 30) + 7);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.torn_tails == 1);
	ARB_PASS(slogt_append_key(&t, &key, 4, 10, 30, 100, b, &nb));
	slogt_settle(&t);
	assert_int_equal(nb, 1);
	assert_true(b[0].stream == 4 && b[0].first_seq == 1
	    && b[0].count == 10);
	// Every reading once, in order, the payloads of the batch's readings
	// 0..9 (byte + index): 6 from the first try, 4 from the second.
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 20);
	for (i = 0; i < 10; i++) {
		assert_true(
		    k.v[10 + i].stream == 4 && k.v[10 + i].seq == i + 1);
		assert_int_equal(k.v[10 + i].first, 100 + i);
	}
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// A keyed append whose commit failed is not remembered: sent again, it is
// stored (once).
static void
test_exactly_once_after_a_failed_commit(void **state)
{
	vfs_sim   *v = vfs_sim_new(17);
	slogt      t;
	slogt_sink k = { 0 };
	slog_key   key = { 7, 1 };
	slog_run   a[4];
	size_t     na;
	int        i, rv = 0;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	vfs_sim_fail_syncs(v, 1, EIO);
	ARB_PASS(slogt_append_key(&t, &key, 1, 5, 10, 0, a, &na));
	slogt_settle(&t);
	assert_int_equal(t.failed, 1);
	for (i = 0; i < 200; i++) { // past the retry delay
		rv = slogt_append_key(&t, &key, 1, 5, 10, 0, a, &na);
		if (rv != ARB_EAGAIN) {
			break;
		}
		slogt_wait(&t, 10);
	}
	ARB_PASS(rv);
	slogt_settle(&t);
	assert_int_equal(t.acked, 1);
	assert_int_equal(slogt_drain(&t, &k, false), 5);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_min_free_refuses(void **state)
{
	vfs_sim     *v = vfs_sim_new(8);
	slogt        t;
	slog_reading r = { 1, -1, "x", 1 };
	slog_run     run;
	size_t       nruns;
	slog_refusal why;
	int          i, rv = 0;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.min_free_bytes = 1u << 20;
	vfs_sim_set_space(v, 1u << 19); // 512 KiB in all
	ARB_PASS(slogt_open(&t));
	// The commit thread reads the free space at once and every second
	// (and after each commit): appends are refused once it is known.
	for (i = 0; i < 200; i++) {
		rv = slog_append(
		    t.s, NULL, &r, 1, &run, &nruns, slogt_done, &t, &why);
		if (rv != 0) {
			break;
		}
		t.pending++;
		slogt_wait(&t, 10);
	}
	assert_int_equal(rv, ARB_EAGAIN);
	assert_int_equal(why, SLOG_FULL_DISK);
	assert_non_null(strstr(t.log, "cause=disk_full"));
	// The line names the threshold: "disk_full" with half a MiB
	// available is a puzzle without it.
	assert_non_null(strstr(t.log, " min_free=1048576 "));
	slogt_settle(&t);
	slogt_close(&t);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// A record damaged in the middle of the last segment (bit rot, not a
// torn write) cuts it there like a torn tail -- recovery cannot tell
// them apart -- but the sequence numbers of the valid records the cut
// took are never given again: they may have reached upstream, which
// would drop new readings under them as duplicates.  The cut says how
// many valid records it took, as a warning.
static void
test_damage_in_last_segment(void **state)
{
	vfs_sim   *v = vfs_sim_new(11);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       name[32];
	uint8_t   *img;
	size_t     len, got;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	one_segment(&t, v, (const int[]) { 30 }, 1, false, name);
	// 30 records of 44 bytes: damage one about the 15th.
	img = segment_copy(v, name, 0, &len);
	img[len - 15 * 44 - 30] ^= 0x40;
	vfs_sim_put(v, name, img, len);
	free(img);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.torn_tails == 1);
	assert_true(st.backlog_records == 14); // the 15th is damaged
	assert_non_null(strstr(t.log, "valid_records_cut=15"));
	ARB_PASS(slogt_append(&t, 1, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	got = slogt_drain(&t, &k, false);
	assert_int_equal(got, st.backlog_records + 1);
	assert_true(k.v[got - 1].seq == 31); // not the number of a cut one
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// Everything delivered and acknowledged, then the last segment loses its
// second half behind the store's back (truncate -s half): the records
// are gone, their numbers were acknowledged upstream, so the next
// readings must be numbered above every acknowledged one (upstream would
// drop them as duplicates) and the recovery says the disk lost records.
static void
test_truncated_after_ack_keeps_numbers(void **state)
{
	vfs_sim   *v = vfs_sim_new(12);
	slogt      t;
	slogt_sink k = { 0 };
	char       name[32];
	uint8_t   *img;
	size_t     len, got, i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	one_segment(&t, v, (const int[]) { 30, 10 }, 2, true, name);
	img = segment_copy(v, name, 0, &len);
	vfs_sim_put(v, name, img, len / 2);
	free(img);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_seq_above_log stream=1 "));
	assert_non_null(strstr(t.log, "acked_seq=30"));
	// Everything lost was acknowledged: not a shortened backlog.
	assert_null(strstr(t.log, "event=log_shortened"));
	assert_non_null(strstr(t.log, "event=acked_seq_above_log stream=2 "));
	assert_non_null(strstr(t.log, "acked_seq=10"));
	ARB_PASS(slogt_append(&t, 1, 2, 20, 0, NULL, NULL));
	ARB_PASS(slogt_append(&t, 2, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	k.n = 0;
	got = slogt_drain(&t, &k, true);
	assert_int_equal(got, 3);
	for (i = 0; i < got; i++) {
		assert_true(k.v[i].seq > (k.v[i].stream == 1 ? 30u : 10u));
	}
	// A second restart (nothing lost this time) says nothing and the
	// numbers go on.
	slogt_close(&t);
	ARB_PASS(slogt_open(&t));
	assert_null(strstr(t.log, "event=acked_seq_above_log"));
	ARB_PASS(slogt_append(&t, 1, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	k.n = 0;
	got = slogt_drain(&t, &k, true);
	assert_int_equal(got, 1);
	assert_true(k.v[0].seq == 33);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// put_acked writes a valid acked file on v: stream -> seq (one slot).
static void
put_acked(vfs_sim *v, uint32_t stream, uint64_t seq)
{
	slog_vfs   *vfs = vfs_sim_vfs(v);
	slog_file  *f;
	slog_ackseq a = { stream, seq };

	assert_int_equal(vfs->open(vfs, SLOG_ACKED_NAME,
	                     SLOG_O_RDWR | SLOG_O_CREATE, &f),
	    0);
	ARB_PASS(slog__acked_write(vfs, f, &a, 1, 100));
	vfs->close(f);
}

// reopen_damaged reopens t's log and returns its acked_damaged count.
static uint64_t
reopen_damaged(slogt *t)
{
	slog_stats st;

	slogt_close(t);
	ARB_PASS(slogt_open(t));
	slog_stats_get(t->s, &st);
	return st.acked_damaged;
}

// An acked file that is missing beside the cursor, damaged, or claims a
// seq no record can carry gives no floor: the store says so (an error
// naming what happened, counted), it never goes on silently.  A clean
// reopen says nothing.  A cursor deleted while segments remain makes
// the store deliver everything again: said too (event=cursor_missing).
static void
test_acked_damage_is_said(void **state)
{
	vfs_sim   *v   = vfs_sim_new(14);
	slog_vfs  *vfs = vfs_sim_vfs(v);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	uint8_t    junk[64];

	(void) state;
	slogt_init(&t, vfs);
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 1, 30, 20, 0, NULL, NULL));
	slogt_settle(&t);
	assert_null(strstr(t.log, "event=cursor_missing")); // a new store
	assert_int_equal(slogt_drain(&t, &k, true), 30);
	// A clean reopen: nothing to say.
	assert_int_equal(reopen_damaged(&t), 0);
	assert_null(strstr(t.log, "event=acked_"));
	assert_null(strstr(t.log, "event=cursor_missing"));
	// Both slots damaged.
	slogt_close(&t);
	memset(junk, 0x5a, sizeof(junk));
	vfs_sim_put(v, SLOG_ACKED_NAME, junk, sizeof(junk));
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_corrupt file=acked"));
	slog_stats_get(t.s, &st);
	assert_int_equal(st.acked_damaged, 1);
	slogt_close(&t);
	// Deleted, with the cursor still there.
	assert_int_equal(vfs->unlink(vfs, SLOG_ACKED_NAME), 0);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_missing file=acked"));
	assert_null(strstr(t.log, "event=cursor_missing"));
	slogt_close(&t);
	// The cursor deleted: everything comes again, and that is said.
	assert_int_equal(vfs->unlink(vfs, SLOG_CURSOR_NAME), 0);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(
	    t.log, "event=cursor_missing file=cursor segments=1 replay=all"));
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 30);
	slogt_close(&t);
	// A valid slot whose seq no record can carry (over 48 bits).
	put_acked(v, 1, SLOG_U48_MAX + 1);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_corrupt file=acked"));
	assert_null(strstr(t.log, "event=acked_seq_above_log"));
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// A stream whose numbers reach 2^48 - 1 (an acked file says so) refuses
// appends with an error: its seq is never wrapped to 0 and on to numbers
// upstream has seen, and what was stored survives a reopen.
static void
test_seq_exhausted_refused(void **state)
{
	vfs_sim   *v = vfs_sim_new(15);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	size_t     i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 1, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, true), 1);
	slogt_close(&t);
	put_acked(v, 1, SLOG_U48_MAX - 3);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_seq_above_log stream=1 "));
	ARB_PASS(slogt_append(&t, 1, 3, 20, 0, NULL, NULL));
	assert_int_equal(
	    slogt_append(&t, 1, 1, 20, 0, NULL, NULL), ARB_ENOSPC);
	assert_non_null(strstr(t.log, "event=seq_exhausted stream=1 "));
	ARB_PASS(slogt_append(&t, 2, 1, 20, 0, NULL, NULL)); // others go on
	slogt_settle(&t);
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 4);
	for (i = 0; i < 3; i++) {
		assert_true(k.v[i].seq == SLOG_U48_MAX - 2 + i);
	}
	slogt_close(&t);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.torn_tails == 0 && st.backlog_records == 4);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

// count_segs counts the segment files in dir.
static int
count_segs(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	int            n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		n += l > 4 && strcmp(e->d_name + l - 4, ".seg") == 0;
	}
	closedir(d);
	return n;
}

// An acked file that cannot be written (here a directory in its place)
// does not hold the cursor back: acknowledged segments still retire,
// the failure is logged once and counted, and the recovery is said.
static void
test_acked_unwritable_cursor_goes_on(void **state)
{
	char       dir[128], path[160];
	slog_vfs  *vfs;
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	int        i;
	const char *p;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store");
	snprintf(path, sizeof(path), "%s/acked", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(slog_vfs_posix_new(dir, &vfs), 0);
	slogt_init(&t, vfs);
	t.o.segment_bytes      = 4096;
	t.o.cursor_interval_ms = 1;
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=acked_unreadable file=acked"));
	for (i = 0; i < 10; i++) {
		ARB_PASS(slogt_append(&t, 1, 10, 100, 0, NULL, NULL));
	}
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, true), 100);
	// The durable cursor passes the last record and the acknowledged
	// segments' files go (5 s at most).
	for (i = 0; i < 500; i++) {
		slog_stats_get(t.s, &st);
		if (st.cursor > k.v[99].pos && count_segs(dir) == 1
		    && strstr(t.log, "event=acked_write_failed") != NULL) {
			break;
		}
		slogt_wait(&t, 10);
	}
	slog_stats_get(t.s, &st);
	assert_true(st.cursor > k.v[99].pos);
	assert_int_equal(count_segs(dir), 1);
	assert_true(st.acked_write_errors > 0);
	p = strstr(t.log, "event=acked_write_failed file=acked");
	assert_non_null(p);
	assert_null(strstr(p + 1, "event=acked_write_failed")); // once
	// The directory goes: the next acknowledgements are written.
	assert_int_equal(rmdir(path), 0);
	ARB_PASS(slogt_append(&t, 1, 10, 100, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, true), 10);
	for (i = 0; i < 500 && strstr(t.log, "event=acked_write_recovered")
	     == NULL; i++) {
		slogt_wait(&t, 10);
	}
	assert_non_null(
	    strstr(t.log, "event=acked_write_recovered file=acked"));
	slogt_close(&t);
	slog_vfs_destroy(vfs);
	assert_int_equal(arb_test_rmtree(dir), 0);
	free(k.v);
	slogt_fini(&t);
}

// A last segment shortened behind the store's back after a clean stop
// (truncated, or its end lost by the disk) lost records that were never
// acknowledged by the consumer, perhaps never delivered: the store finds
// it against the end it wrote at the stop ("closed"), says so with the
// bytes, and gives new readings numbers after the lost ones (a gap
// upstream, not numbers upstream never saw reused in silence).
static void
test_shortened_since_stop_is_said(void **state)
{
	vfs_sim   *v = vfs_sim_new(16);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       names[16][32];
	uint8_t   *p, *img;
	size_t     len;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 1, 30, 20, 0, NULL, NULL));
	ARB_PASS(slogt_append(&t, 2, 10, 20, 0, NULL, NULL));
	slogt_settle(&t);
	slogt_close(&t);
	// A clean reopen says nothing.
	ARB_PASS(slogt_open(&t));
	assert_null(strstr(t.log, "event=log_shortened"));
	slogt_close(&t);
	assert_int_equal(seg_names(v, names, 16), 1);
	p   = vfs_sim_file(v, names[0], &len);
	img = malloc(len / 2);
	memcpy(img, p, len / 2);
	vfs_sim_put(v, names[0], img, len / 2);
	free(img);
	ARB_PASS(slogt_open(&t));
	assert_non_null(strstr(t.log, "event=log_shortened segment="));
	slog_stats_get(t.s, &st);
	assert_true(st.shortened_bytes >= len - len / 2);
	assert_true(st.shortened_bytes < len - len / 2 + 44);
	assert_true(st.backlog_records < 40);
	// The next numbers come after the lost ones.
	ARB_PASS(slogt_append(&t, 1, 1, 20, 0, NULL, NULL));
	ARB_PASS(slogt_append(&t, 2, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	assert_true(slogt_drain(&t, &k, false) == st.backlog_records + 2);
	assert_true(k.v[k.n - 2].stream == 1 && k.v[k.n - 2].seq == 31);
	assert_true(k.v[k.n - 1].stream == 2 && k.v[k.n - 1].seq == 11);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_torn_tail_cut(void **state)
{
	vfs_sim   *v = vfs_sim_new(9);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       name[32];
	uint8_t   *img;
	size_t     len, cut;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	one_segment(&t, v, (const int[]) { 30 }, 1, false, name);
	// A torn write after the last record: half a record of junk.
	img = segment_copy(v, name, 30, &len);
	memcpy(img + len, img + len - 44, 30);
	img[len + 10] ^= 0x40;
	vfs_sim_put(v, name, img, len + 30);
	free(img);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.torn_tails == 1 && st.torn_bytes == 30);
	assert_true(st.backlog_records == 30);
	assert_non_null(strstr(t.log, "event=torn_tail"));
	// The cut is durable and appends go on after the last record.
	assert_non_null(vfs_sim_file(v, name, &cut));
	assert_int_equal(cut, len);
	ARB_PASS(slogt_append(&t, 1, 1, 20, 0, NULL, NULL));
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, false), 31);
	assert_true(k.v[30].seq == 31);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_corrupt_middle_segment(void **state)
{
	vfs_sim   *v = vfs_sim_new(10);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       names[64][32];
	uint8_t   *p;
	size_t     len, i;
	int        n;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes = 1024;
	ARB_PASS(slogt_open(&t));
	for (i = 0; i < 10; i++) {
		ARB_PASS(slogt_append(&t, 4, 5, 40, 0, NULL, NULL));
	}
	slogt_settle(&t);
	slogt_close(&t);
	n = seg_names(v, names, 64);
	assert_true(n >= 4);
	// Bit rot in the middle of the second segment.
	p = vfs_sim_file(v, names[1], &len);
	p[len - 70] ^= 0x01;
	vfs_sim_put(v, names[1], p, len);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.quarantined == 1 && st.corrupt_regions == 1);
	assert_true(st.backlog_records == 49); // one record lost, not 5
	assert_int_equal(vfs_sim_count(v, "quarantine"), 1);
	assert_non_null(strstr(t.log, "event=corrupt_segment"));
	assert_int_equal(slogt_drain(&t, &k, true), 49);
	for (i = 1; i < k.n; i++) {
		assert_true(k.v[i].seq > k.v[i - 1].seq);
	}
	slogt_close(&t);
	// Retired, the segment stays in quarantine/ for the operator.
	assert_int_equal(vfs_sim_count(v, "quarantine"), 1);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_bad_header_quarantined(void **state)
{
	vfs_sim   *v = vfs_sim_new(11);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       names[64][32];
	uint8_t   *p;
	size_t     len;
	slog_run   runs[4];
	size_t     nruns;
	int        n;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes = 1024;
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 4, 10, 40, 0, NULL, NULL));
	ARB_PASS(slogt_append(&t, 4, 10, 40, 0, NULL, NULL));
	ARB_PASS(slogt_append(&t, 4, 10, 40, 0, NULL, NULL));
	slogt_settle(&t);
	slogt_close(&t);
	n = seg_names(v, names, 64);
	assert_int_equal(n, 3);
	// The last segment's header is destroyed: it is set aside, and the
	// stream's numbers still go on after the highest one in it.
	p = vfs_sim_file(v, names[2], &len);
	memset(p, 'X', 8);
	vfs_sim_put(v, names[2], p, len);
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.quarantined == 1);
	assert_true(st.backlog_records == 20);
	assert_non_null(strstr(t.log, "why=bad_header"));
	ARB_PASS(slogt_append(&t, 4, 1, 40, 0, runs, &nruns));
	assert_true(runs[0].first_seq == 31);
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, false), 21);
	slogt_close(&t);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_config_change_keeps_backlog(void **state)
{
	vfs_sim   *v = vfs_sim_new(12);
	slogt      t;
	slogt_sink k = { 0 };
	slog_stats st;
	char       names[64][32];
	size_t     i;

	(void) state;
	slogt_init(&t, vfs_sim_vfs(v));
	t.o.segment_bytes = 2048;
	ARB_PASS(slogt_open(&t));
	for (i = 0; i < 10; i++) {
		ARB_PASS(slogt_append(&t, 2, 10, 30, 0, NULL, NULL));
	}
	slogt_settle(&t);
	slogt_close(&t);
	// Another gateway id, a quota far below the backlog, drop_oldest,
	// another record limit: the backlog stays, appends wait.
	t.o.gateway     = "renamed";
	t.o.quota_bytes = 1024;
	t.o.on_full     = SLOG_DROP_OLDEST;
	t.o.max_record  = 100;
	ARB_PASS(slogt_open(&t));
	slog_stats_get(t.s, &st);
	assert_true(st.backlog_records == 100 && st.dropped_records == 0);
	assert_non_null(strstr(t.log, "event=over_quota_at_open"));
	assert_int_equal(
	    slogt_append(&t, 2, 1, 30, 0, NULL, NULL), ARB_EAGAIN);
	slog_stats_get(t.s, &st);
	assert_true(st.dropped_records == 0);
	slogt_close(&t);
	t.o.quota_bytes = 0; // default
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 2, 1, 30, 0, NULL, NULL));
	slogt_settle(&t);
	// One gateway id per batch: the old records, then the new one.
	assert_int_equal(slog_consume(t.s, 1000, SIZE_MAX, slogt_sink_cb, &k),
	    100);
	assert_int_equal(slog_consume(t.s, 1000, SIZE_MAX, slogt_sink_cb, &k),
	    1);
	assert_true(k.v[100].seq == 101);
	slogt_close(&t);
	assert_true(seg_names(v, names, 64) >= 2);
	free(k.v);
	slogt_fini(&t);
	vfs_sim_free(v);
}

static void
test_posix_directory(void **state)
{
	char       dir[128];
	slog_vfs  *vfs;
	slogt      t;
	slogt_sink k = { 0 };
	int        i;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store");
	strcat(dir, "/log/deeper");
	assert_int_equal(slog_vfs_posix_new(dir, &vfs), 0);
	slogt_init(&t, vfs);
	t.o.segment_bytes = 4096;
	ARB_PASS(slogt_open(&t));
	for (i = 0; i < 20; i++) {
		ARB_PASS(slogt_append(&t, (uint32_t) i % 3, 10, 100, 0, NULL,
		    NULL));
	}
	slogt_settle(&t);
	assert_int_equal(slogt_drain(&t, &k, true), 200);
	slogt_close(&t);
	ARB_PASS(slogt_open(&t));
	ARB_PASS(slogt_append(&t, 0, 1, 100, 0, NULL, NULL));
	slogt_settle(&t);
	k.n = 0;
	assert_int_equal(slogt_drain(&t, &k, false), 1);
	assert_true(k.v[0].seq == 71); // 7 appends of 10 on stream 0
	slogt_close(&t);
	slog_vfs_destroy(vfs);
	dir[strlen(dir) - strlen("/log/deeper")] = '\0';
	assert_int_equal(arb_test_rmtree(dir), 0);
	free(k.v);
	slogt_fini(&t);
}

// heap_in_use is what malloc holds for the program (0 when a sanitizer
// replaces malloc and does not count).
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

// append_many appends n x 64 readings of 64 bytes on 8 streams and
// waits for their commits (every 32 appends: the engine's buffers stay
// below 200 KB, a size the first round reaches).
static void
append_many(slogt *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ARB_PASS(slogt_append(t, (uint32_t) i % 8, 64, 64, (uint8_t) i,
		    NULL, NULL));
		if (i % 32 == 31) {
			slogt_settle(t);
		}
	}
	slogt_settle(t);
}

// The backlog is on disk, not in memory (issue 11: the collector's RSS
// stays flat through an upstream outage): 5 times the records, with a
// consumer whose window is full and never acknowledged, and after a
// reopen, hold the same heap.
static void
test_backlog_stays_on_disk(void **state)
{
	char       dir[128];
	slog_vfs  *vfs;
	slogt      t;
	slogt_sink k = { 0 };
	size_t     h0, h1, h2;

	(void) state;
	arb_test_mkdtemp(dir, sizeof(dir), "store");
	assert_int_equal(slog_vfs_posix_new(dir, &vfs), 0);
	slogt_init(&t, vfs);
	t.o.segment_bytes = 256u << 10;
	ARB_PASS(slogt_open(&t));
	slog_set_window(t.s, 256);
	append_many(&t, 500); // 32,000 records
	assert_int_equal(slogt_drain(&t, &k, false), 256);
	h0 = heap_in_use();
	append_many(&t, 2000); // 128,000 more, 11 MB on disk
	assert_int_equal(slogt_drain(&t, &k, false), 0);
	h1 = heap_in_use();
	slogt_close(&t);
	ARB_PASS(slogt_open(&t));
	h2 = heap_in_use();
	print_message("heap %zu, %zu after 4x more records, %zu reopened\n",
	    h0, h1, h2);
	// 128,000 records more: 8 bytes each would be 1 MB.
	assert_true(h1 < h0 + (256u << 10));
	assert_true(h2 < h0 + (256u << 10));
	slogt_close(&t);
	slog_vfs_destroy(vfs);
	assert_int_equal(arb_test_rmtree(dir), 0);
	free(k.v);
	slogt_fini(&t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_ack_consume),
		cmocka_unit_test(test_seqs_survive_restart_and_retirement),
		cmocka_unit_test(test_cursor_survives_restart),
		cmocka_unit_test(test_window_rewind_and_out_of_order_acks),
		cmocka_unit_test(test_quota_backpressure),
		cmocka_unit_test(test_drop_oldest),
		cmocka_unit_test(test_disk_full_and_failing_sync),
		cmocka_unit_test(test_append_during_space_reading),
		cmocka_unit_test(test_cursor_never_ahead_of_the_disk),
		cmocka_unit_test(test_acknowledged_segments_harvested),
		cmocka_unit_test(test_exactly_once_appends),
		cmocka_unit_test(test_exactly_once_after_a_failed_commit),
		cmocka_unit_test(test_min_free_refuses),
		cmocka_unit_test(test_torn_tail_cut),
		cmocka_unit_test(test_damage_in_last_segment),
		cmocka_unit_test(test_truncated_after_ack_keeps_numbers),
		cmocka_unit_test(test_corrupt_middle_segment),
		cmocka_unit_test(test_bad_header_quarantined),
		cmocka_unit_test(test_config_change_keeps_backlog),
		cmocka_unit_test(test_posix_directory),
		cmocka_unit_test(test_acked_damage_is_said),
		cmocka_unit_test(test_seq_exhausted_refused),
		cmocka_unit_test(test_acked_unwritable_cursor_goes_on),
		cmocka_unit_test(test_shortened_since_stop_is_said),
		cmocka_unit_test(test_backlog_stays_on_disk),
	};

	return ARB_TEST_RUN("store.slog", tests, argc, argv);
}
