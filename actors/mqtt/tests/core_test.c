// SPDX-License-Identifier: MIT
// core_test.c -- the pure pieces of the mqtt actor: the outgoing window
// (against a reference model), the receive-to-ack tracker, topic
// templates, the reconnect backoff and the message bodies.

#include "arb_test.h"

#include "mqtt_body.h"
#include "mqtt_conn.h"
#include "mqtt_rxack.h"
#include "mqtt_topic.h"
#include "mqtt_window.h"

#include <stdlib.h>
#include <string.h>

// --- window ----------------------------------------------------------------

static void
test_window_qos1_acks_in_any_order(void **state)
{
	mqtt_window w;
	mqtt_went  *e;
	int         i;

	(void) state;
	assert_int_equal(mqtt_win_init(&w, 8), 0);
	for (i = 0; i < 8; i++) {
		e = mqtt_win_add(&w, 1, 100 + i);
		assert_non_null(e);
		e->ref = (uint64_t) i;
		e->has_ref = true;
		mqtt_win_bind(&w, e, 1000 + i);
	}
	assert_true(mqtt_win_full(&w));
	assert_null(mqtt_win_add(&w, 1, 0));
	assert_int_equal(mqtt_win_oldest1(&w)->ref, 0);
	e = mqtt_win_acked(&w, 1003);
	assert_non_null(e);
	assert_int_equal(e->ref, 3);
	assert_null(mqtt_win_acked(&w, 1003)); // once
	assert_null(mqtt_win_acked(&w, 7));    // never published
	e = mqtt_win_acked(&w, 1000);
	assert_int_equal(e->ref, 0);
	assert_int_equal(mqtt_win_oldest1(&w)->ref, 1);
	assert_int_equal(mqtt_win_count(&w), 6);
	assert_false(mqtt_win_full(&w));
	mqtt_win_fini(&w);
}

static void
test_window_qos0_fifo_and_pop(void **state)
{
	mqtt_window w;
	mqtt_went  *e;

	(void) state;
	assert_int_equal(mqtt_win_init(&w, 4), 0);
	mqtt_win_add(&w, 0, 1)->ref = 10;
	mqtt_win_bind(&w, mqtt_win_add(&w, 1, 2), 5);
	mqtt_win_add(&w, 0, 3)->ref = 11;
	assert_int_equal(mqtt_win_count0(&w), 2);
	assert_int_equal(mqtt_win_count1(&w), 1);
	assert_int_equal(mqtt_win_written(&w)->ref, 10);
	// The connection is lost: QoS 0 entries go, QoS 1 stays.
	e = mqtt_win_pop_any(&w, true);
	assert_int_equal(e->ref, 11);
	assert_null(mqtt_win_pop_any(&w, true));
	assert_int_equal(mqtt_win_count1(&w), 1);
	e = mqtt_win_pop_any(&w, false);
	assert_int_equal(e->mid, 5);
	assert_int_equal(mqtt_win_count(&w), 0);
	assert_null(mqtt_win_acked(&w, 5)); // gone from the table too
	mqtt_win_fini(&w);
}

// A message id that wrapped around while an older one is still in
// flight: both are found, the older first.
static void
test_window_wrapped_mid(void **state)
{
	mqtt_window w;
	mqtt_went  *a, *b;

	(void) state;
	assert_int_equal(mqtt_win_init(&w, 4), 0);
	a = mqtt_win_add(&w, 1, 1);
	a->ref = 1;
	mqtt_win_bind(&w, a, 9);
	b = mqtt_win_add(&w, 1, 2);
	b->ref = 2;
	mqtt_win_bind(&w, b, 9);
	assert_int_equal(mqtt_win_acked(&w, 9)->ref, 1);
	assert_int_equal(mqtt_win_acked(&w, 9)->ref, 2);
	mqtt_win_fini(&w);
}

// Random adds, binds, acks and cancels against a plain model: the table's
// deletion (backward shift) keeps every entry reachable.
static void
test_window_model(void **state)
{
	enum { CAP = 37, ROUNDS = 200000 };
	mqtt_window w;
	mqtt_went  *live[CAP];
	int         mids[CAP];
	int         n = 0, i, k, next_mid = 1;
	unsigned    rnd = 12345;

	(void) state;
	assert_int_equal(mqtt_win_init(&w, CAP), 0);
	for (i = 0; i < ROUNDS; i++) {
		rnd = rnd * 1103515245u + 12345u;
		if (n < CAP && (rnd >> 16) % 3 != 0) {
			mqtt_went *e = mqtt_win_add(&w, 1, i);
			assert_non_null(e);
			// Ids cluster: sequential, wrapping at 65535.
			mids[n] = next_mid;
			next_mid = next_mid % 65535 + 1;
			e->ref = (uint64_t) mids[n];
			mqtt_win_bind(&w, e, mids[n]);
			live[n++] = e;
		} else if (n > 0) {
			mqtt_went *e;

			k = (int) ((rnd >> 8) % (unsigned) n);
			if ((rnd & 7) == 0) {
				mqtt_win_cancel(&w, live[k]);
			} else {
				e = mqtt_win_acked(&w, mids[k]);
				assert_ptr_equal(e, live[k]);
				assert_int_equal(e->ref, mids[k]);
			}
			live[k] = live[n - 1];
			mids[k] = mids[n - 1];
			n--;
		}
		assert_int_equal(mqtt_win_count(&w), n);
	}
	for (k = 0; k < n; k++) {
		assert_ptr_equal(mqtt_win_acked(&w, mids[k]), live[k]);
	}
	mqtt_win_fini(&w);
}

// --- receive-to-ack --------------------------------------------------------

static void
test_rxack(void **state)
{
	mqtt_rxack r;
	int64_t    lat;

	(void) state;
	assert_int_equal(mqtt_rxack_init(&r, 4), 0);
	mqtt_rxack_track(&r, 100, 1000);
	mqtt_rxack_track(&r, 101, 1500);
	assert_int_equal(mqtt_rxack_oldest_us(&r), 1000);
	assert_true(mqtt_rxack_ack(&r, 100, 4000, &lat));
	assert_int_equal(lat, 3000);
	assert_false(mqtt_rxack_ack(&r, 100, 4000, &lat)); // twice
	assert_false(mqtt_rxack_ack(&r, 7, 4000, &lat));   // never seen
	mqtt_rxack_track(&r, 105, 2000);                   // reuses 101's slot
	assert_int_equal(r.expired, 1);
	assert_false(mqtt_rxack_ack(&r, 101, 4000, &lat));
	assert_int_equal(r.pending, 1);
	// Forgetting what is older than a time: receive_window's way out of
	// an MQTT_ACK that never comes.
	mqtt_rxack_track(&r, 106, 3000);
	assert_int_equal(mqtt_rxack_expire(&r, 2500), 1); // 105 (t 2000)
	assert_int_equal(r.pending, 1);
	assert_int_equal(r.expired, 2);
	assert_false(mqtt_rxack_ack(&r, 105, 4000, &lat));
	assert_true(mqtt_rxack_ack(&r, 106, 4000, &lat));
	assert_int_equal(mqtt_rxack_expire(&r, 9999), 0);
	mqtt_rxack_fini(&r);
	assert_int_equal(mqtt_rxack_init(&r, 3), -1); // not a power of two
}

// --- topic templates -------------------------------------------------------

static const char *
fake_lookup(void *arg, const char *name, size_t nlen, size_t *vlen)
{
	static const char *const kv[][2] = { { "stream", "t1" },
		{ "bad", "a+b" }, { "slash", "x/y" }, { NULL, NULL } };
	int                      i;

	(void) arg;
	for (i = 0; kv[i][0] != NULL; i++) {
		if (strlen(kv[i][0]) == nlen
		    && memcmp(kv[i][0], name, nlen) == 0) {
			*vlen = strlen(kv[i][1]);
			return kv[i][1];
		}
	}
	return NULL;
}

static void
test_topic_template(void **state)
{
	mqtt_tpl t;
	char     err[160], out[MQTT_TOPIC_MAX + 1];

	(void) state;
	assert_int_equal(
	    mqtt_tpl_parse(&t, "gw/{stream}/{slash}/{{x}}", err, sizeof(err)),
	    0);
	assert_int_equal(mqtt_tpl_expand(&t, fake_lookup, NULL, out,
	                     sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "gw/t1/x/y/{x}");
	assert_int_equal(mqtt_tpl_parse(&t, "gw/{nope}", err, sizeof(err)), 0);
	assert_int_equal(mqtt_tpl_expand(&t, fake_lookup, NULL, out,
	                     sizeof(out), err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no field nope"));
	assert_int_equal(mqtt_tpl_parse(&t, "gw/{bad}", err, sizeof(err)), 0);
	assert_int_equal(mqtt_tpl_expand(&t, fake_lookup, NULL, out,
	                     sizeof(out), err, sizeof(err)),
	    -1);
	assert_int_equal(mqtt_tpl_parse(&t, "gw/+", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wildcard"));
	assert_int_equal(mqtt_tpl_parse(&t, "gw/{a b}", err, sizeof(err)), -1);
	assert_int_equal(mqtt_tpl_parse(&t, "gw/}", err, sizeof(err)), -1);
	assert_int_equal(mqtt_tpl_parse(&t, "", err, sizeof(err)), -1);
}

// --- backoff ---------------------------------------------------------------

static void
test_backoff_full_jitter(void **state)
{
	uint64_t r;
	unsigned n;
	int64_t  d, seen_max = 0;

	(void) state;
	for (n = 0; n < 40; n++) {
		for (r = 0; r < 2000; r += 7) {
			d = mqtt_backoff_delay(100, 30000, n, r * 2654435761u);
			assert_true(d >= 0);
			assert_true(d <= (n > 8 ? 30000 : (100LL << n)));
			if (d > seen_max) {
				seen_max = d;
			}
		}
	}
	assert_true(seen_max > 20000); // the cap is reached
	assert_int_equal(mqtt_backoff_delay(0, 1000, 3, 99), 0);
	assert_int_equal(mqtt_backoff_delay(100, 30000, 0, 100), 100);
	assert_int_equal(mqtt_backoff_delay(100, 30000, 0, 101), 0);
}

// --- bodies ----------------------------------------------------------------

static void
test_body_roundtrip_and_garbage(void **state)
{
	mqtt_enc            *e;
	mqtt_body           *b;
	const void          *p;
	const char          *s;
	size_t               len, n;
	uint64_t             u, seqs[4];
	bool                 v;
	char                 err[120], scratch[32];
	static const uint8_t trunc[] = { 0x82, 0xa3, 'r', 'e', 'f' };
	static const uint8_t trail[] = { 0xc0, 0xc0 };
	static const uint8_t huge[] = { 0xdd, 0x7f, 0xff, 0xff, 0xff };

	(void) state;
	assert_int_equal(mqtt_enc_alloc(&e), 0);
	assert_int_equal(mqtt_body_alloc(&b), 0);
	mqtt_enc_map(e, 5);
	mqtt_enc_kv_uint(e, "ref", 42);
	mqtt_enc_kv_bin(e, "payload", "\0\1\2", 3);
	mqtt_enc_kv_bool(e, "retain", true);
	mqtt_enc_kv_int(e, "n", -5);
	mqtt_enc_kv_map(e, "seq", 0); // wrong type for uints below
	p = mqtt_enc_data(e, &len);
	assert_non_null(p);
	assert_int_equal(mqtt_body_parse(b, p, len, err, sizeof(err)), 0);
	assert_true(mqtt_body_is_map(b));
	assert_int_equal(mqtt_body_uint(b, "ref", &u), 1);
	assert_int_equal(u, 42);
	assert_int_equal(mqtt_body_bytes(b, "payload", &p, &n), 1);
	assert_int_equal(n, 3);
	assert_int_equal(mqtt_body_bool(b, "retain", &v), 1);
	assert_true(v);
	assert_int_equal(mqtt_body_uint(b, "nope", &u), 0);
	assert_int_equal(mqtt_body_uint(b, "retain", &u), -1);
	assert_int_equal(
	    mqtt_body_text(b, "n", 1, scratch, sizeof(scratch), &s, &n), 1);
	assert_int_equal(n, 2);
	assert_memory_equal(s, "-5", 2);
	assert_int_equal(mqtt_body_uints(b, "seq", seqs, 4, &n), -1);
	assert_int_equal(
	    mqtt_body_parse(b, trunc, sizeof(trunc), err, sizeof(err)), -1);
	assert_int_equal(
	    mqtt_body_parse(b, trail, sizeof(trail), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed"));
	// A 5-byte body claiming 2^31 map entries: refused, nothing grows.
	assert_int_equal(
	    mqtt_body_parse(b, huge, sizeof(huge), err, sizeof(err)), -1);
	assert_int_equal(mqtt_body_parse(b, "", 0, err, sizeof(err)), -1);
	mqtt_body_free(b);
	mqtt_enc_free(e);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_qos1_acks_in_any_order),
		cmocka_unit_test(test_window_qos0_fifo_and_pop),
		cmocka_unit_test(test_window_wrapped_mid),
		cmocka_unit_test(test_window_model),
		cmocka_unit_test(test_rxack),
		cmocka_unit_test(test_topic_template),
		cmocka_unit_test(test_backoff_full_jitter),
		cmocka_unit_test(test_body_roundtrip_and_garbage),
	};

	return ARB_TEST_RUN("mqtt.core", tests, argc, argv);
}
