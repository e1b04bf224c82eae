// SPDX-License-Identifier: MIT
// cli.c -- the collector's programs' shared options, signals and MQTT
// client (cli.h).

#include "cli.h"

#include "clock.h"

#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int
cli_option(const cli_vars *v, const char *prog, int o, const char *arg)
{
	switch (o) {
	case CLI_HOST:
		if (v->host == NULL) {
			return 0;
		}
		snprintf(v->host, v->host_cap, "%s", arg);
		return 1;
	case CLI_PORT:
		if (v->port == NULL) {
			return 0;
		}
		*v->port = atoi(arg);
		return 1;
	case CLI_CLIENT_ID:
		if (v->id == NULL) {
			return 0;
		}
		snprintf(v->id, v->id_cap, "%s", arg);
		return 1;
	case CLI_SENSORS:
		if (v->sensors == NULL) {
			return 0;
		}
		*v->sensors = atoi(arg);
		return 1;
	case CLI_NAME:
		if (v->prefix == NULL) {
			return 0;
		}
		snprintf(v->prefix, v->prefix_cap, "%s", arg);
		return 1;
	case CLI_RATE:
		if (v->rate == NULL) {
			return 0;
		}
		*v->rate = atof(arg);
		return 1;
	case CLI_COUNT:
		if (v->count == NULL) {
			return 0;
		}
		*v->count = strtoull(arg, NULL, 10);
		return 1;
	case CLI_LOG:
		if (v->log == NULL) {
			return 0;
		}
		if ((*v->log = fopen(arg, "w")) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", prog, arg, strerror(errno));
			return -1;
		}
		return 1;
	case CLI_QUIET:
		if (v->quiet == NULL) {
			return 0;
		}
		*v->quiet = true;
		return 1;
	default:
		return 0;
	}
}

void
cli_signals(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct mosquitto *
cli_mqtt(const char *prog, const char *id, bool clean)
{
	struct mosquitto *mq;

	mosquitto_lib_init();
	if ((mq = mosquitto_new(id, clean, NULL)) == NULL) {
		fprintf(stderr, "%s: mosquitto_new failed\n", prog);
	}
	return mq;
}

void
cli_mqtt_loop(struct mosquitto *mq, int timeout_ms, int64_t *last_try)
{
	int64_t now = clk_mono_ms();

	if (mosquitto_loop(mq, timeout_ms, 1) != MOSQ_ERR_SUCCESS
	    && now - *last_try >= 200) {
		*last_try = now;
		mosquitto_reconnect(mq);
	}
}
