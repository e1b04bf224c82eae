// SPDX-License-Identifier: MIT
// bench_mqtt.c -- arbor-bench cases of the mqtt actor (actors/mqtt):
// QoS 1 publishes per second to a mosquitto on loopback, started by the
// case itself on a free port.
//
//   mqtt_bare      the floor: a bare libmosquitto client publishing in a
//                  loop (what mosquitto_pub does), driven by
//                  mosquitto_loop, keeping WINDOW publishes in flight;
//   mqtt_thread,   a producer actor sends MQTT_PUBLISH with a ref to an
//   mqtt_process   mqtt actor (thread or process) and keeps WINDOW of them
//                  waiting for their MQTT_PUBACK, as an uplink does.
//
// Same broker settings, payload, window and count in the three; the time
// runs from the first publish to the last PUBACK.  Each case runs in its
// own process (arbor_bench.c).

#include "bench_mqtt.h"

#include "bench.h"

#include "broker.h"
#include "mqtt_actor.h"
#include "mqtt_msgs.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <event2/event.h>
#include <mosquitto.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MQTT_N      100000 // publishes per case
#define WINDOW      64     // in flight (the actor's max_inflight too)
#define PAYLOAD_LEN 64

// cpu_us is the CPU time (user + system) of this process and of its
// children that were reaped (a process actor, once its node stopped).
static double
cpu_us(void)
{
	struct rusage s, c;

	getrusage(RUSAGE_SELF, &s);
	getrusage(RUSAGE_CHILDREN, &c);
	return (s.ru_utime.tv_sec + c.ru_utime.tv_sec + s.ru_stime.tv_sec
	           + c.ru_stime.tv_sec)
	    * 1e6
	    + (s.ru_utime.tv_usec + c.ru_utime.tv_usec + s.ru_stime.tv_usec
	        + c.ru_stime.tv_usec);
}

static void
payload(char *buf, long i)
{
	snprintf(buf, PAYLOAD_LEN + 1, "t=21.5 h=40 seq=%-*ld",
	    PAYLOAD_LEN - 16, i);
}

// --- the floor: a bare libmosquitto publish loop ---------------------------

typedef struct bare {
	long acked;
} bare;

static void
bare_on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void) m;
	(void) mid;
	((bare *) arg)->acked++;
}

static int
case_bare(int port)
{
	struct mosquitto *m;
	bare              b = { 0 };
	char              buf[PAYLOAD_LEN + 1];
	long              sent = 0;
	int64_t           t0, t1;
	double            c0;
	int               rc;

	mosquitto_lib_init();
	m = mosquitto_new("bench-bare", true, &b);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, WINDOW);
	mosquitto_publish_callback_set(m, bare_on_publish);
	if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bare: connect failed\n");
		return 1;
	}
	// Wait for CONNACK.
	while (mosquitto_loop(m, 10, 1) == MOSQ_ERR_SUCCESS
	    && mosquitto_want_write(m)) { }
	mosquitto_loop(m, 10, 1);
	c0 = cpu_us();
	t0 = now_ns();
	while (b.acked < MQTT_N) {
		while (sent - b.acked < WINDOW && sent < MQTT_N) {
			payload(buf, sent);
			rc = mosquitto_publish(
			    m, NULL, "bench/bare", PAYLOAD_LEN, buf, 1, false);
			if (rc != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "bare: %s\n",
				    mosquitto_strerror(rc));
				return 1;
			}
			sent++;
		}
		if ((rc = mosquitto_loop(m, 100, 1)) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bare: %s\n", mosquitto_strerror(rc));
			return 1;
		}
	}
	t1 = now_ns();
	result("mqtt_bare_libmosquitto_qos1", MQTT_N / ((t1 - t0) / 1e9),
	    "msg/s");
	result("mqtt_bare_cpu_per_msg", (cpu_us() - c0) / MQTT_N, "us");
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	return 0;
}

// --- through the actor -----------------------------------------------------

typedef struct producer {
	arb_ctx        *ctx;
	arb_pid         pid;
	long            sent, acked, failed;
	int64_t         t0;
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	const char     *result;
	struct event   *start;
	bool            ready;
} producer;

static const char *result_name;

static void
pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static bool
producer_send(producer *p)
{
	char buf[PAYLOAD_LEN + 1];

	payload(buf, p->sent);
	msgpack_sbuffer_clear(&p->sb);
	msgpack_pack_map(&p->pk, 2);
	pk_str(&p->pk, "ref", 3);
	msgpack_pack_uint64(&p->pk, (uint64_t) p->sent);
	pk_str(&p->pk, "payload", 7);
	msgpack_pack_bin(&p->pk, PAYLOAD_LEN);
	msgpack_pack_bin_body(&p->pk, buf, PAYLOAD_LEN);
	if (arb_send_copy(p->ctx, p->pid, MQTT_PUBLISH, p->sb.data, p->sb.size)
	    != ARB_OK) {
		return false;
	}
	p->sent++;
	return true;
}

static void
producer_fill(producer *p)
{
	while (p->sent - p->acked - p->failed < WINDOW && p->sent < MQTT_N
	    && producer_send(p)) { }
}

// body_get unpacks a reply body (from our own mqtt actor) into u and
// returns the value under key, or NULL.
static const msgpack_object *
body_get(msgpack_unpacked *u, const arb_msg *m, const char *key)
{
	const msgpack_object_map *map;
	size_t                    off = 0, kl = strlen(key);
	uint32_t                  i;

	if (msgpack_unpack_next(u, arb_msg_body(m), arb_msg_len(m), &off)
	        != MSGPACK_UNPACK_SUCCESS
	    || u->data.type != MSGPACK_OBJECT_MAP) {
		return NULL;
	}
	map = &u->data.via.map;
	for (i = 0; i < map->size; i++) {
		if (map->ptr[i].key.type == MSGPACK_OBJECT_STR
		    && map->ptr[i].key.via.str.size == kl
		    && memcmp(map->ptr[i].key.via.str.ptr, key, kl) == 0) {
			return &map->ptr[i].val;
		}
	}
	return NULL;
}

static void
producer_ready_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	producer             *p = arg;
	struct timeval        tv = { 0, 1000 };
	msgpack_unpacked      u;
	const msgpack_object *v;

	(void) ctx;
	msgpack_unpacked_init(&u);
	if (r->status == ARB_OK
	    && (v = body_get(&u, r->reply, "connected")) != NULL
	    && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean) {
		p->ready = true;
		p->t0 = now_ns();
		producer_fill(p);
	} else {
		event_add(p->start, &tv);
	}
	msgpack_unpacked_destroy(&u);
}

static void
producer_start(evutil_socket_t fd, short what, void *arg)
{
	producer *p = arg;

	(void) fd;
	(void) what;
	if (arb_whereis(p->ctx, "root/up", &p->pid) != ARB_OK
	    || arb_call(p->ctx, p->pid, MQTT_STATUS, NULL, 0, 1000,
	           producer_ready_cb, p)
	        != ARB_OK) {
		struct timeval tv = { 0, 1000 };
		event_add(p->start, &tv);
	}
}

static int
producer_init(arb_ctx *ctx, void **st, const void *arg, size_t len)
{
	producer      *p = calloc(1, sizeof(*p));
	struct timeval tv = { 0, 0 };

	(void) arg;
	(void) len;
	p->ctx = ctx;
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
	p->start = evtimer_new(arb_base(ctx), producer_start, p);
	event_add(p->start, &tv);
	*st = p;
	return ARB_OK;
}

static void
producer_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{
	producer             *p = st;
	arb_exit              ex = { .kind = ARB_EXIT_NORMAL };
	msgpack_unpacked      u;
	const msgpack_object *v;
	bool                  ok;

	if (arb_msg_tag(m) != MQTT_PUBACK) {
		return;
	}
	msgpack_unpacked_init(&u);
	v = body_get(&u, m, "status");
	ok = v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	    && v->via.u64 == 0;
	msgpack_unpacked_destroy(&u);
	if (ok) {
		p->acked++;
	} else {
		p->failed++;
	}
	if (p->acked + p->failed == MQTT_N) {
		result(
		    result_name, MQTT_N / ((now_ns() - p->t0) / 1e9), "msg/s");
		if (p->failed > 0) {
			char name[64];
			snprintf(name, sizeof(name), "%s_failed", result_name);
			result(name, (double) p->failed, "msgs");
		}
		arb_actor_exit(ctx, &ex);
		return;
	}
	producer_fill(p);
}

static void
producer_terminate(arb_ctx *ctx, void *st, const arb_exit *why)
{
	producer *p = st;

	(void) ctx;
	(void) why;
	event_free(p->start);
	msgpack_sbuffer_destroy(&p->sb);
	free(p);
}

static const arb_actor_ops bproducer_ops = {
	.type = "bench_mqtt_producer",
	.init = producer_init,
	.handle = producer_handle,
	.terminate = producer_terminate,
};

static int
case_actor(int port, arb_isolation iso, const char *name)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	arb_node       *node;
	arb_node_opts   o = { .log_level = ARB_LOG_ERROR };
	int             code = 1;
	double          c0 = cpu_us();
	char            cpu_name[64];

	result_name = name;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	pk_str(&pk, "host", 4);
	pk_str(&pk, "127.0.0.1", 9);
	pk_str(&pk, "port", 4);
	msgpack_pack_int(&pk, port);
	pk_str(&pk, "client_id", 9);
	pk_str(&pk, "bench-actor", 11);
	pk_str(&pk, "clean_session", 13);
	msgpack_pack_true(&pk);
	pk_str(&pk, "max_inflight", 12);
	msgpack_pack_int(&pk, WINDOW);
	pk_str(&pk, "publish", 7);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "topic", 5);
	pk_str(&pk, "bench/actor", 11);
	pk_str(&pk, "qos", 3);
	msgpack_pack_int(&pk, 1);
	{
		arb_child_spec c[] = {
			{ .name = "up",
			    .isolation = iso,
			    .type = "mqtt",
			    .arg = sb.data,
			    .arg_len = sb.size },
			{ .name = "producer",
			    .isolation = ARB_THREAD,
			    .type = "bench_mqtt_producer",
			    .restart = ARB_TEMPORARY,
			    .significant = true },
		};
		arb_sup_spec s = { .children = c,
			.nchildren = 2,
			.auto_shutdown = ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT };

		if (arb_node_open(&node, &o) == ARB_OK) {
			arb_node_run(node, &s, &code);
			arb_node_close(node);
		}
	}
	// The node's start and stop included (a few ms against 100,000
	// messages); the broker is not (it is reaped afterwards).
	snprintf(cpu_name, sizeof(cpu_name), "%s_cpu_per_msg", name);
	result(cpu_name, (cpu_us() - c0) / MQTT_N, "us");
	msgpack_sbuffer_destroy(&sb);
	return code;
}

void
bench_mqtt_register(void)
{
	arb_actor_type_register(&mqtt_actor_ops);
	arb_actor_type_register(&bproducer_ops);
}

int
bench_mqtt_case(const char *name)
{
	tbroker b;
	int     rv;

	if (strncmp(name, "mqtt_", 5) != 0) {
		return -1;
	}
	if (tbroker_init(&b, NULL) != 0 || tbroker_start(&b) != 0) {
		fprintf(stderr, "%s: mosquitto did not start\n", name);
		tbroker_fini(&b);
		return 1;
	}
	if (strcmp(name, "mqtt_bare") == 0) {
		rv = case_bare(b.port);
	} else if (strcmp(name, "mqtt_thread") == 0) {
		rv = case_actor(b.port, ARB_THREAD, "mqtt_thread_qos1");
	} else if (strcmp(name, "mqtt_process") == 0) {
		rv = case_actor(b.port, ARB_PROCESS, "mqtt_process_qos1");
	} else {
		fprintf(stderr, "unknown case %s\n", name);
		rv = 64;
	}
	tbroker_fini(&b);
	return rv;
}
