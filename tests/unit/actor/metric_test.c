// SPDX-License-Identifier: MIT
// metric_test.c -- metric.c: an actor's own counters, gauges and
// histograms: declaration rules, bounds, updates and the encoding the
// node receives.

#include "arb_test.h"

#include "actor/actor_int.h"

#include <string.h>

static void
test_declaration_rules(void **state)
{
	arb_ctx     ctx;
	arb_metric *m, *m2;
	char        name[16];
	int         i;

	(void) state;
	memset(&ctx, 0, sizeof(ctx));
	ARB_PASS(
	    arb_metric_counter(&ctx, "frames_total", NULL, "Frames.", &m));
	ARB_PASS(arb_metric_counter(
	    &ctx, "drops_total", "cause=crc", "Drops by cause.", &m));
	ARB_PASS(arb_metric_counter(
	    &ctx, "drops_total", "cause=over\"size\\\n", "Drops.", &m2));
	assert_true(m != m2);
	ARB_FAIL(arb_metric_counter(&ctx, "drops_total", "cause=crc", "", &m),
	    ARB_EEXIST);
	ARB_FAIL(arb_metric_counter(&ctx, "frames_total", NULL, "", &m),
	    ARB_EEXIST);
	// One family, one type.
	ARB_FAIL(
	    arb_metric_gauge(&ctx, "frames_total", "x=y", "", &m), ARB_EINVAL);
	// Names and labels.
	ARB_FAIL(arb_metric_gauge(&ctx, "9lives", NULL, "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "a-b", NULL, "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "", NULL, "", &m), ARB_EINVAL);
	ARB_FAIL(
	    arb_metric_gauge(&ctx, "arbor_mine", NULL, "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "g", "path=x", "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "g", "le=1", "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "g", "__x=1", "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "g", "novalue", "", &m), ARB_EINVAL);
	ARB_FAIL(arb_metric_gauge(&ctx, "g", "a:b=1", "", &m), ARB_EINVAL);
	ARB_PASS(arb_metric_gauge(&ctx, "ns:queue_depth", "q=a b", "", &m));
	ARB_FAIL(arb_metric_histogram(
	             &ctx, "h", NULL, "", (const double[]) { 1, 1 }, 2, &m),
	    ARB_EINVAL);
	ARB_FAIL(arb_metric_histogram(
	             &ctx, "h", NULL, "", (const double[]) { 2, 1 }, 2, &m),
	    ARB_EINVAL);
	ARB_FAIL(arb_metric_histogram(
	             &ctx, "h", NULL, "", (const double[17]) { 0 }, 17, &m),
	    ARB_EINVAL);
	// The cap.
	for (i = 4; i < ARB_METRIC_MAX; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ARB_PASS(arb_metric_gauge(&ctx, name, NULL, "", &m));
	}
	ARB_FAIL(arb_metric_gauge(&ctx, "one_more", NULL, "", &m), ARB_ENOSPC);
	// NULL series (a failed declaration): harmless.
	arb_metric_add(NULL, 1);
	arb_metric_set(NULL, 1);
	arb_metric_observe(NULL, 1);
	arb__metrics_free(ctx.metrics);
}

static void
test_updates_and_encoding(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	arb_ctx             ctx;
	arb_metric         *c, *g, *h;
	arb__buf            b = { 0 };
	arb__val           *v;
	const arb__val     *s;

	(void) state;
	memset(&ctx, 0, sizeof(ctx));
	assert_false(arb__metrics_dirty(ctx.metrics));
	ARB_PASS(
	    arb_metric_counter(&ctx, "frames_total", "port=a", "F\nx", &c));
	ARB_PASS(arb_metric_gauge(&ctx, "depth", NULL, "Depth.", &g));
	ARB_PASS(arb_metric_histogram(
	    &ctx, "fsync_seconds", NULL, "Fsync.", bounds, 3, &h));
	assert_true(arb__metrics_dirty(ctx.metrics));
	arb_metric_add(c, 5);
	arb_metric_add(c, 2);
	arb_metric_set(g, 2.5);
	arb_metric_add(g, 1);
	arb_metric_observe(h, 0.0005);
	arb_metric_observe(h, 0.01); // le is inclusive
	arb_metric_observe(h, 3);
	// The wrong kind: ignored.
	arb_metric_set(c, 100);
	arb_metric_observe(c, 100);
	arb_metric_add(h, 100);
	ARB_PASS(arb__metrics_encode(ctx.metrics, &b));
	assert_false(arb__metrics_dirty(ctx.metrics));
	ARB_PASS(arb__val_decode(b.data, b.len, &v));
	assert_int_equal(v->n, 3);
	s = &v->via.v[0];
	assert_int_equal(s->n, 9);
	assert_true(s->via.v[0].via.u == ARB_METRIC_COUNTER);
	assert_string_equal(s->via.v[1].via.s, "frames_total");
	assert_string_equal(s->via.v[2].via.s, "port");
	assert_string_equal(s->via.v[3].via.s, "a");
	assert_string_equal(s->via.v[4].via.s, "F x"); // one line
	assert_true(s->via.v[5].via.u == 7);
	s = &v->via.v[1];
	assert_int_equal(s->via.v[2].type, ARB__V_NIL);
	assert_true(s->via.v[5].via.f == 3.5);
	s = &v->via.v[2];
	assert_true(s->via.v[5].via.f == 0.0005 + 0.01 + 3);
	assert_true(s->via.v[6].via.u == 3);
	assert_int_equal(s->via.v[7].n, 3);
	assert_int_equal(s->via.v[8].n, 4); // cumulative, +Inf last
	assert_true(s->via.v[8].via.v[0].via.u == 1);
	assert_true(s->via.v[8].via.v[1].via.u == 2);
	assert_true(s->via.v[8].via.v[2].via.u == 2);
	assert_true(s->via.v[8].via.v[3].via.u == 3);
	arb__free(v);
	arb_metric_add(c, 1);
	assert_true(arb__metrics_dirty(ctx.metrics));
	arb__buf_fini(&b);
	arb__metrics_free(ctx.metrics);
}

// A help text longer than ARB_METRIC_HELP_MAX is cut between UTF-8
// characters: a character across the limit goes whole.
static void
test_help_is_cut_between_characters(void **state)
{
	arb_ctx         ctx;
	arb_metric     *m;
	arb__buf        b = { 0 };
	arb__val       *v;
	char            help[ARB_METRIC_HELP_MAX + 8];
	const arb__val *h;

	(void) state;
	memset(&ctx, 0, sizeof(ctx));
	memset(help, 'a', ARB_METRIC_HELP_MAX - 1);
	// U+00E9 (2 bytes) at bytes 126-127: the cut at 127 would halve it.
	memcpy(help + ARB_METRIC_HELP_MAX - 1, "\xc3\xa9 more", 8);
	ARB_PASS(arb_metric_gauge(&ctx, "g", NULL, help, &m));
	ARB_PASS(arb__metrics_encode(ctx.metrics, &b));
	ARB_PASS(arb__val_decode(b.data, b.len, &v));
	h = &v->via.v[0].via.v[4];
	assert_int_equal(h->n, ARB_METRIC_HELP_MAX - 1);
	assert_int_equal(h->via.s[h->n - 1], 'a');
	arb__free(v);
	arb__buf_fini(&b);
	arb__metrics_free(ctx.metrics);
}

// put_series writes one series in the layout of metric.c's encoding.
static void
put_series(arb__buf *b, unsigned type, const char *name, const char *lk,
    const char *lv, const char *help, uint64_t value, uint64_t count,
    const double *bounds, size_t nb, const uint64_t *buckets, size_t nk)
{
	size_t i;

	ARB_PASS(arb__mp_put_array(b, 9));
	ARB_PASS(arb__mp_put_uint(b, type));
	ARB_PASS(arb__mp_put_str(b, name, strlen(name)));
	if (lk != NULL) {
		ARB_PASS(arb__mp_put_str(b, lk, strlen(lk)));
		ARB_PASS(arb__mp_put_str(b, lv, strlen(lv)));
	} else {
		ARB_PASS(arb__mp_put_nil(b));
		ARB_PASS(arb__mp_put_nil(b));
	}
	ARB_PASS(arb__mp_put_str(b, help, strlen(help)));
	ARB_PASS(arb__mp_put_uint(b, value));
	ARB_PASS(arb__mp_put_uint(b, count));
	ARB_PASS(arb__mp_put_array(b, (uint32_t) nb));
	for (i = 0; i < nb; i++) {
		ARB_PASS(arb__mp_put_double(b, bounds[i]));
	}
	ARB_PASS(arb__mp_put_array(b, (uint32_t) nk));
	for (i = 0; i < nk; i++) {
		ARB_PASS(arb__mp_put_uint(b, buckets[i]));
	}
}

// The node decodes what a process actor sent as untrusted: every series
// that a declaration could not have made is left out, the others kept.
static void
test_node_side_decoding_refuses_what_a_declaration_could_not_make(
    void **state)
{
	static const double   bd[]  = { 1, 2 };
	static const double   bad[] = { 2, 1 };
	static const uint64_t cum[] = { 1, 3, 4 };
	static const uint64_t dec[] = { 3, 1, 4 };
	arb__buf              b = { 0 };
	arb__mview           *v;
	size_t                n, i;
	uint8_t               junk[64];

	(void) state;
	assert_non_null(v = arb__alloc(sizeof(*v)));
	ARB_PASS(arb__mp_put_array(&b, 11));
	put_series(&b, 1, "ok_total", "cause", "a\"b", "Fine.", 7, 0, NULL,
	    0, NULL, 0);
	put_series(&b, 3, "h_seconds", NULL, NULL, "H.", 0, 4, bd, 2, cum, 3);
	put_series(&b, 1, "arbor_up", NULL, NULL, "", 1, 0, NULL, 0, NULL, 0);
	put_series(&b, 1, "a b", NULL, NULL, "", 1, 0, NULL, 0, NULL, 0);
	put_series(&b, 1, "x", "path", "p", "", 1, 0, NULL, 0, NULL, 0);
	put_series(&b, 1, "x", "le", "p", "", 1, 0, NULL, 0, NULL, 0);
	put_series(&b, 1, "x", NULL, NULL, "two\nlines", 1, 0, NULL, 0, NULL,
	    0);
	put_series(&b, 9, "x", NULL, NULL, "", 1, 0, NULL, 0, NULL, 0);
	put_series(&b, 3, "h", NULL, NULL, "", 0, 4, bad, 2, cum, 3);
	put_series(&b, 3, "h", NULL, NULL, "", 0, 4, bd, 2, dec, 3);
	put_series(&b, 3, "h", NULL, NULL, "", 0, 5, bd, 2, cum, 3);
	n = arb__mview_decode(v, b.data, b.len);
	assert_int_equal(n, 2);
	assert_string_equal(v->info[0].name, "ok_total");
	assert_string_equal(v->info[0].label_value, "a\"b");
	assert_true(v->info[0].value == 7);
	assert_string_equal(v->info[1].name, "h_seconds");
	assert_int_equal(v->info[1].nbounds, 2);
	assert_true(v->info[1].buckets[2] == 4 && v->info[1].count == 4);
	// Garbage never decodes into anything, and never crashes.
	for (i = 0; i < 2000; i++) {
		size_t k;
		for (k = 0; k < sizeof(junk); k++) {
			junk[k] = (uint8_t) arb__random();
		}
		junk[0] = 0x91; // an array of one series
		assert_true(arb__mview_decode(v, junk, sizeof(junk)) <= 1);
	}
	// Every truncation of a valid encoding is refused whole.
	for (i = 0; i < b.len; i++) {
		assert_int_equal(arb__mview_decode(v, b.data, i), 0);
	}
	arb__buf_fini(&b);
	arb__mview_free(v);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_declaration_rules),
		cmocka_unit_test(test_updates_and_encoding),
		cmocka_unit_test(test_help_is_cut_between_characters),
		cmocka_unit_test(
		    test_node_side_decoding_refuses_what_a_declaration_could_not_make),
	};

	return ARB_TEST_RUN("actor.metric", tests, argc, argv);
}
