// SPDX-License-Identifier: MIT
// collector_mqtt_floor.c -- collector-mqtt-floor: the MQTT-only floor of
// the collector's end-to-end bench (bench/collector_e2e.sh).
//
// One bare libmosquitto client publishes COUNT readings at QoS 1 to a
// broker, WINDOW of them waiting for their PUBACK at most (the uplink's
// `window` and its mqtt actor's `max_inflight`), with the payload and
// topic the collector's uplink publishes -- its JSON, a gateway of its
// own, round-robin over STREAMS streams, seq from 1 -- driven by
// mosquitto_loop as mosquitto_pub is.  No arbor: what the broker and one
// client cost, the floor the uplink is compared with.  Prints
//
//     floor msgs=N seconds=S rate=R cpu_us_per_msg=C
//
// (C: this process's user + system time per message).  Exit 0, 64 for a
// usage error, 1 when the broker failed.  Built with -DARB_BUILD_BENCH=ON;
// not run by ctest.

#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static long acked;

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec * 1e3 + (double) (ts.tv_nsec / 1000000);
}

static double
cpu_us(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double) (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6
	    + (double) (r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void) m;
	(void) arg;
	(void) mid;
	acked++;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collector-mqtt-floor --port P [--host H] [--count N] "
	    "[--window W] [--streams S] [--gateway G]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "host", 1, NULL, 'H' },
		{ "port", 1, NULL, 'P' }, { "count", 1, NULL, 'c' },
		{ "window", 1, NULL, 'w' }, { "streams", 1, NULL, 's' },
		{ "gateway", 1, NULL, 'g' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	char              host[256] = "127.0.0.1", gw[64] = "floor";
	char              topic[256], payload[512];
	long              count = 100000, window = 256, streams = 4, sent = 0;
	int               port = 0, o, rc, len;
	double            t0, t1, c0;
	struct mosquitto *m;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'H':
			snprintf(host, sizeof(host), "%s", optarg);
			break;
		case 'P':
			port = atoi(optarg);
			break;
		case 'c':
			count = atol(optarg);
			break;
		case 'w':
			window = atol(optarg);
			break;
		case 's':
			streams = atol(optarg);
			break;
		case 'g':
			snprintf(gw, sizeof(gw), "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc || port < 1 || port > 65535 || count < 1
	    || window < 1 || window > 65535 || streams < 1 || streams > 1000) {
		usage(stderr);
		return 64;
	}
	mosquitto_lib_init();
	if ((m = mosquitto_new(NULL, true, NULL)) == NULL) {
		fprintf(stderr, "collector-mqtt-floor: mosquitto_new failed\n");
		return 1;
	}
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, (unsigned) window);
	mosquitto_publish_callback_set(m, on_publish);
	if ((rc = mosquitto_connect(m, host, port, 30)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "collector-mqtt-floor: %s:%d: %s\n", host, port,
		    mosquitto_strerror(rc));
		return 1;
	}
	// The CONNACK.
	for (o = 0; o < 100 && mosquitto_want_write(m); o++) {
		mosquitto_loop(m, 10, 1);
	}
	mosquitto_loop(m, 10, 1);
	c0 = cpu_us();
	t0 = mono_s();
	while (acked < count) {
		while (sent - acked < window && sent < count) {
			long s = sent % streams, seq = sent / streams + 1;

			snprintf(topic, sizeof(topic), "collector/%s/serial/s%ld",
			    gw, s);
			len = snprintf(payload, sizeof(payload),
			    "{\"gw\":\"%s\",\"stream\":\"serial/s%ld\",\"sid\":%ld,"
			    "\"seq\":%ld,\"ts\":%.0f,\"values\":{\"n\":%ld,"
			    "\"t\":21.53,\"h\":40.2}}",
			    gw, s, s + 1, seq, real_ms(), seq);
			rc = mosquitto_publish(m, NULL, topic, len, payload, 1, false);
			if (rc != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "collector-mqtt-floor: %s\n",
				    mosquitto_strerror(rc));
				return 1;
			}
			sent++;
		}
		if ((rc = mosquitto_loop(m, 100, 1)) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "collector-mqtt-floor: %s\n",
			    mosquitto_strerror(rc));
			return 1;
		}
	}
	t1 = mono_s();
	printf("floor msgs=%ld seconds=%.3f rate=%.0f cpu_us_per_msg=%.2f\n",
	    count, t1 - t0, (double) count / (t1 - t0),
	    (cpu_us() - c0) / (double) count);
	mosquitto_disconnect(m);
	mosquitto_loop(m, 10, 1);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
