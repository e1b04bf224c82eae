// SPDX-License-Identifier: MIT
// sim_mqtt.c -- collector-mqtt-sim: MQTT sensors without hardware.
//
// Each simulated sensor publishes numbered readings ("n=1 t=21.53
// h=40.2 *5A", the line format of reading.h) at a chosen rate on its own
// topic (default sensors/<name>/reading) of a broker, at QoS 1 by
// default, and counts the broker's PUBACKs.  --garbage-every N adds a
// malformed payload after every N readings (the collector rejects and
// counts them).  --log FILE writes one line per reading when the broker
// acknowledged it: "SENSOR N T_MS acked".
//
// libmosquitto runs on this program's own loop (mosquitto_loop); a lost
// connection is retried every 200 ms, and what was not acknowledged is
// sent again by libmosquitto.  With --count it stops after that many
// readings per sensor once all are acknowledged (at most 10 s more).
// SIGINT and SIGTERM end it.  Exit 0, 64 for a usage error, 1 when the
// broker never answered (whether or not anything was published: a
// simulator that reached no broker did not do its job).

#include "cli.h"
#include "clock.h"
#include "reading.h"

#include <getopt.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SENSORS_MAX 64

typedef struct pending {
	int      sensor; // 0: free
	uint64_t n;
} pending;

static volatile sig_atomic_t stop_sig;
static pending               pend[65536]; // by mid
static uint64_t              published, acked, garbage_sent;
static FILE                 *logfile;
static bool                  connected;

static void
on_signal(int sig)
{
	stop_sig = sig;
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void) m;
	(void) arg;
	if (rc == 0) {
		connected = true;
		printf("mqtt-sim event=connected\n");
		fflush(stdout);
	}
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	(void) m;
	(void) arg;
	connected = false;
	printf("mqtt-sim event=disconnected rc=%d\n", rc);
	fflush(stdout);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	pending *p = &pend[mid & 0xffff];

	(void) m;
	(void) arg;
	if (p->sensor == 0) {
		return; // QoS 0, or garbage
	}
	acked++;
	if (logfile != NULL) {
		fprintf(logfile, "%d %llu %lld acked\n", p->sensor,
		    (unsigned long long) p->n, (long long) clk_real_ms());
	}
	p->sensor = 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collector-mqtt-sim --port PORT [options]\n"
	    "  --host HOST          the broker (default 127.0.0.1)\n"
	    "  --port PORT          its port\n"
	    "  --sensors N          how many sensors (default 2, at most 64)\n"
	    "  --name PREFIX        sensor names PREFIX1, PREFIX2... (default m)\n"
	    "  --topic T            topic, {name} replaced (default "
	    "sensors/{name}/reading)\n"
	    "  --rate R             readings per second per sensor (default 10)\n"
	    "  --count N            readings per sensor, then stop\n"
	    "  --qos Q              0 or 1 (default 1)\n"
	    "  --client-id ID       (default collector-mqtt-sim-<pid>)\n"
	    "  --garbage-every N    a malformed payload after every N readings\n"
	    "  --log FILE           one line per acknowledged reading\n"
	    "  --quiet              no progress line\n");
}

static void
topic_of(char *out, size_t cap, const char *tpl, const char *name)
{
	const char *p = strstr(tpl, "{name}");

	if (p == NULL) {
		snprintf(out, cap, "%s", tpl);
		return;
	}
	snprintf(out, cap, "%.*s%s%s", (int) (p - tpl), tpl, name, p + 6);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "host", 1, NULL, CLI_HOST },
		{ "port", 1, NULL, CLI_PORT }, { "sensors", 1, NULL, CLI_SENSORS },
		{ "name", 1, NULL, CLI_NAME }, { "topic", 1, NULL, 't' },
		{ "rate", 1, NULL, CLI_RATE }, { "count", 1, NULL, CLI_COUNT },
		{ "qos", 1, NULL, 'Q' }, { "client-id", 1, NULL, CLI_CLIENT_ID },
		{ "garbage-every", 1, NULL, 'g' }, { "log", 1, NULL, CLI_LOG },
		{ "quiet", 0, NULL, CLI_QUIET }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	char              host[256] = "127.0.0.1", prefix[32] = "m";
	char              tpl[256] = "sensors/{name}/reading", id[128] = "";
	char              topics[SENSORS_MAX][300];
	uint64_t          next_n[SENSORS_MAX], produced = 0, count = 0;
	uint64_t          garbage_every = 0;
	int               port = 0, n = 2, qos = 1, o, i, rc;
	double            rate = 10;
	bool              quiet = false, ever = false;
	int64_t           t0, last_progress, end_at = 0, last_try = 0;
	struct mosquitto *mq;
	const cli_vars    cv = { .host = host, .host_cap = sizeof(host),
		   .port = &port, .id = id, .id_cap = sizeof(id), .sensors = &n,
		   .prefix = prefix, .prefix_cap = sizeof(prefix), .rate = &rate,
		   .count = &count, .log = &logfile, .quiet = &quiet };

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			snprintf(tpl, sizeof(tpl), "%s", optarg);
			break;
		case 'Q':
			qos = atoi(optarg);
			break;
		case 'g':
			garbage_every = strtoull(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if ((rc = cli_option(&cv, "collector-mqtt-sim", o, optarg))
			    < 0) {
				return 1;
			}
			if (rc == 0) {
				usage(stderr);
				return 64;
			}
			break;
		}
	}
	if (optind != argc || port < 1 || port > 65535 || n < 1
	    || n > SENSORS_MAX || !(rate > 0) || rate > 1e6 || qos < 0
	    || qos > 1) {
		usage(stderr);
		return 64;
	}
	if (id[0] == '\0') {
		snprintf(id, sizeof(id), "collector-mqtt-sim-%d", (int) getpid());
	}
	cli_signals(on_signal);
	for (i = 0; i < n; i++) {
		char name[48];

		snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
		topic_of(topics[i], sizeof(topics[i]), tpl, name);
		next_n[i] = 1;
	}
	if ((mq = cli_mqtt("collector-mqtt-sim", id, true)) == NULL) {
		return 1;
	}
	mosquitto_connect_callback_set(mq, on_connect);
	mosquitto_disconnect_callback_set(mq, on_disconnect);
	mosquitto_publish_callback_set(mq, on_publish);
	mosquitto_max_inflight_messages_set(mq, 100);
	rc = mosquitto_connect(mq, host, port, 30);
	printf("mqtt-sim event=ready sensors=%d rate=%g count=%llu broker=%s:%d "
	       "connect=%s\n",
	    n, rate, (unsigned long long) count, host, port,
	    mosquitto_strerror(rc));
	fflush(stdout);
	t0 = last_progress = clk_mono_ms();
	while (stop_sig == 0) {
		int64_t  now = clk_mono_ms();
		uint64_t due = (uint64_t) ((double) (now - t0) * rate / 1000.0);

		if (connected) {
			ever = true;
		}
		// Publish what is due, each sensor in turn.
		while (produced < due && (count == 0 || produced < count)) {
			for (i = 0; i < n; i++) {
				char  b[128];
				int   k, mid = 0;

				k = snprintf(b, sizeof(b), "n=%llu t=%.2f h=%.1f ",
				    (unsigned long long) next_n[i],
				    20.0 + (double) (next_n[i] * 41 % 1000) / 100,
				    40.0 + (double) (next_n[i] * 29 % 400) / 10);
				k += snprintf(b + k, sizeof(b) - (size_t) k, "*%02X",
				    reading_checksum_of(b, (size_t) k));
				if (mosquitto_publish(mq, &mid, topics[i], k, b, qos,
				        false)
				    != MOSQ_ERR_SUCCESS) {
					break;
				}
				if (qos == 1) {
					pend[mid & 0xffff] = (pending) { .sensor = i + 1,
						.n = next_n[i] };
				}
				next_n[i]++;
				published++;
				if (garbage_every > 0
				    && next_n[i] % garbage_every == 0) {
					static const char junk[] = "n=oops t=?? *ZZ";
					mosquitto_publish(mq, NULL, topics[i],
					    (int) sizeof(junk) - 1, junk, qos, false);
					garbage_sent++;
				}
			}
			produced++;
		}
		if (count > 0 && produced >= count && end_at == 0) {
			end_at = now + 10000;
		}
		if (end_at != 0 && (acked >= published || qos == 0 || now >= end_at)) {
			break;
		}
		cli_mqtt_loop(mq, 5, &last_try);
		if (!quiet && now - last_progress >= 1000) {
			printf("mqtt-sim event=progress published=%llu acked=%llu\n",
			    (unsigned long long) published,
			    (unsigned long long) acked);
			fflush(stdout);
			last_progress = now;
		}
	}
	printf("mqtt-sim event=done published=%llu acked=%llu garbage=%llu\n",
	    (unsigned long long) published, (unsigned long long) acked,
	    (unsigned long long) garbage_sent);
	fflush(stdout);
	if (logfile != NULL) {
		fclose(logfile);
	}
	mosquitto_disconnect(mq);
	mosquitto_loop(mq, 50, 1);
	mosquitto_destroy(mq);
	mosquitto_lib_cleanup();
	return ever ? 0 : 1;
}
