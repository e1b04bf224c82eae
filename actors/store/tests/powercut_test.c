// SPDX-License-Identifier: MIT
// powercut_test.c -- the store's log through hundreds of simulated power
// cuts (vfs_sim.h): 0 acknowledged records lost, no undetected
// corruption, per-stream order kept.
//
// Each run is one disk through GENS generations.  A generation opens the
// log (recovery), checks everything it delivers, then appends batches on
// four streams while a consumer takes records and acknowledges some of
// them (in and out of order) -- until the power fails after a random
// number of disk operations (sometimes during recovery itself).  The
// disk then comes back with every unsynced write dropped, kept or torn
// sector by sector, and every unsynced directory change applied or not.
//
// Checked after every cut, on the records the new generation delivers:
//  - every record the producer had been told was durable, and that the
//    consumer had not acknowledged, is delivered (none lost);
//  - each delivered payload is exactly one the test appended (payloads
//    describe themselves: a torn or foreign record would fail), and an
//    acknowledged (stream, seq) always carries the same payload (a
//    sequence number is never given twice once durable);
//  - per stream, sequence numbers strictly increase (order, no
//    duplicates);
//  - no corrupt region appears in a segment that is not the last (the
//    commit thread makes a segment durable before creating the next).
// The seed of a failing run is printed.  Thread: the test and the log's
// commit thread.

#include "arb_test.h"

#include "slog_int.h"
#include "slogt.h"
#include "vfs_sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RUNS     24
#define GENS     10 // 240 power cuts
#define NSTREAMS 4

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t tot_checked, tot_acked, tot_torn, tot_quarantined,
    tot_retired;

// An append in flight: its readings' keys and ids, until the callback.
typedef struct batch {
	struct gen *g;
	int         n;
	uint64_t    keys[8];
	uint64_t    ids[8];
} batch;

typedef struct gen {
	slogt_model *m;
	uint64_t    seed;
	int         cut;
	int         acked_batches;
	uint64_t    inflight[4096];
	uint64_t    inflight_key[4096];
	size_t      ninflight;
} gen;

static void
batch_done(void *arg, int status)
{
	batch *b = arg;
	int    i;

	if (status == 0) {
		for (i = 0; i < b->n; i++) {
			slogt_known *k = slogt_model_get(b->g->m, b->keys[i], true);
			k->id    = b->ids[i];
		}
		b->g->acked_batches++;
	}
	free(b);
}

// verify drains everything deliverable and checks it against the model.
static void
verify(slogt *t, gen *g)
{
	char       ctx[64];
	slog_stats st;

	snprintf(ctx, sizeof(ctx), "seed %" PRIu64 " cut %d", g->seed, g->cut);
	tot_checked += slogt_model_verify(t, g->m, ctx);
	slog_stats_get(t->s, &st);
	tot_torn += st.torn_tails;
	tot_quarantined += st.quarantined;
}

static void
take_cb(void *arg, const slog_record *r)
{
	gen *g = arg;

	if (g->ninflight < 4096) {
		g->inflight[g->ninflight]     = r->pos;
		g->inflight_key[g->ninflight] = SLOGT_KEY(r->stream, r->seq);
		g->ninflight++;
	}
}

// consumer_step takes some records and acknowledges some of those in
// flight, sometimes out of order.
static void
consumer_step(slogt *t, gen *g, uint64_t *rng)
{
	size_t i, n;

	if (rng_next(rng) % 2 == 0) {
		slog_consume(t->s, rng_next(rng) % 20, SIZE_MAX, take_cb, g);
	}
	n = g->ninflight == 0 ? 0 : rng_next(rng) % (g->ninflight + 1);
	for (i = 0; i < n; i++) {
		size_t j = rng_next(rng) % 4 == 0 ? rng_next(rng) % g->ninflight
		                                  : 0;
		slogt_known *k = slogt_model_get(g->m, g->inflight_key[j], false);
		if (slog_ack(t->s, g->inflight[j]) == ARB_OK && k != NULL) {
			k->consumed = true;
		}
		memmove(g->inflight + j, g->inflight + j + 1,
		    (g->ninflight - j - 1) * sizeof(uint64_t));
		memmove(g->inflight_key + j, g->inflight_key + j + 1,
		    (g->ninflight - j - 1) * sizeof(uint64_t));
		g->ninflight--;
	}
}

static void
workload(slogt *t, vfs_sim *v, gen *g, uint64_t *rng, uint64_t *next_id)
{
	int round;

	for (round = 0; round < 2000 && !vfs_sim_crashed(v); round++) {
		slog_reading r[8];
		uint8_t      data[8][160];
		slog_run     runs[8];
		size_t       nruns, i, pos = 0;
		slog_refusal why;
		batch       *b = calloc(1, sizeof(*b));
		int          k, n = 1 + (int) (rng_next(rng) % 8);
		uint32_t     stream = (uint32_t) (rng_next(rng) % NSTREAMS);

		assert_non_null(b);
		b->g = g;
		b->n = n;
		for (k = 0; k < n; k++) {
			size_t len = 12 + rng_next(rng) % 140;
			if (rng_next(rng) % 3 == 0) {
				stream = (uint32_t) (rng_next(rng) % NSTREAMS);
			}
			b->ids[k] = (*next_id)++;
			slogt_payload_make(data[k], stream, b->ids[k], len);
			r[k] = (slog_reading) { stream, -1, data[k], len };
		}
		if (slog_append(t->s, r, (size_t) n, runs, &nruns, batch_done, b,
		        &why)
		    != ARB_OK) {
			free(b);
			slogt_wait(t, 2);
			continue;
		}
		for (i = 0; i < nruns; i++) {
			uint32_t c;
			for (c = 0; c < runs[i].count; c++) {
				uint64_t key
				    = SLOGT_KEY(runs[i].stream, runs[i].first_seq + c);
				slogt_known *kn = slogt_model_get(g->m, key, false);
				if (kn != NULL) {
					fail_msg("seed %" PRIu64 " cut %d: stream "
					         "%u seq %" PRIu64 " given again "
					         "after it was acknowledged",
					    g->seed, g->cut, runs[i].stream,
					    runs[i].first_seq + c);
				}
				b->keys[pos++] = key;
			}
		}
		if (rng_next(rng) % 4 == 0) {
			slogt_wait(t, 2);
		} else {
			slog_poll(t->s);
		}
		consumer_step(t, g, rng);
	}
	if (!vfs_sim_crashed(v)) {
		vfs_sim_crash(v);
	}
}

static void
test_power_cuts(void **state)
{
	int      run, cuts = 0, opened = 0;
	uint64_t base = (uint64_t) time(NULL);

	(void) state;
	if (getenv("POWERCUT_SEED") != NULL) {
		base = strtoull(getenv("POWERCUT_SEED"), NULL, 10);
	}
	for (run = 0; run < RUNS; run++) {
		uint64_t seed = base * 1000 + (uint64_t) run;
		uint64_t rng  = seed, next_id = 1;
		vfs_sim *v    = vfs_sim_new(seed);
		slogt_model m = { 0 };
		gen      g    = { .m = &m, .seed = seed };
		slogt    t;
		int      cut;

		slogt_init(&t, vfs_sim_vfs(v));
		t.o.segment_bytes  = 300 + rng_next(&rng) % 3000;
		t.o.commit_records = 1 + (uint32_t) (rng_next(&rng) % 64);
		t.o.cursor_interval_ms = 1;
		for (cut = 0; cut < GENS; cut++) {
			slog_stats st;
			int        rv;

			g.cut       = cut;
			if (getenv("SLOGT_VERBOSE") != NULL) {
				fprintf(stderr, "=== seed %" PRIu64 " cut %d\n", seed,
				    cut);
			}
			g.ninflight = 0;
			if (rng_next(&rng) % 8 == 0) {
				// The power fails again during recovery.
				vfs_sim_crash_after(v, 1 + rng_next(&rng) % 6);
			}
			rv = slogt_open(&t);
			// A cut meant for the recovery that did not come during
			// it must not come during the check either (the commit
			// thread's first operations would reach it).
			vfs_sim_disarm(v);
			if (rv != 0 || vfs_sim_crashed(v)) {
				if (rv == 0) {
					slogt_close(&t);
				}
				vfs_sim_reboot(v, VFS_SIM_RANDOM);
				cuts++;
				continue;
			}
			opened++;
			verify(&t, &g);
			slog_stats_get(t.s, &st);
			if (st.corrupt_regions != 0) {
				fail_msg("seed %" PRIu64 " cut %d: %" PRIu64
				         " corrupt regions in the middle of the log"
				         "\n%s",
				    seed, cut, st.corrupt_regions, t.log);
			}
			vfs_sim_crash_after(v, 1 + rng_next(&rng) % 120);
			workload(&t, v, &g, &rng, &next_id);
			slog_stats_get(t.s, &st);
			tot_retired += st.deleted_records;
			slogt_close(&t);
			vfs_sim_reboot(v, VFS_SIM_RANDOM);
			cuts++;
		}
		// A last open checks the last cut.
		g.cut = cut;
		ARB_PASS(slogt_open(&t));
		verify(&t, &g);
		slogt_close(&t);
		slogt_fini(&t);
		tot_acked += m.acked.count;
		slogt_model_fini(&m);
		vfs_sim_free(v);
	}
	assert_true(cuts >= 200);
	assert_true(opened >= 150);
	printf("power cuts: %d (%d opened to check), base seed %" PRIu64
	       "\nrecords acknowledged %" PRIu64 ", checked %" PRIu64
	       ", retired %" PRIu64 "; torn tails %" PRIu64
	       ", quarantined %" PRIu64 "\n",
	    cuts, opened, base, tot_acked, tot_checked, tot_retired, tot_torn,
	    tot_quarantined);
	// The cuts did cut: torn tails were found and segments retired.
	assert_true(tot_acked > 1000 && tot_torn >= 5 && tot_retired > 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_cuts),
	};

	return cmocka_run_group_tests_name("store.powercut", tests, NULL, NULL);
}
