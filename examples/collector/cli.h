// SPDX-License-Identifier: MIT
// cli.h -- what the collector's programs (collector-serial-sim,
// collector-mqtt-sim, collector-verify) share: the options they have
// alike, their signals, their MQTT client's start and loop.

#ifndef COLLECTOR_CLI_H
#define COLLECTOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mosquitto;

// The shared options' getopt_long codes (beyond any character).
enum {
	CLI_HOST = 256, // --host H
	CLI_PORT,       // --port P
	CLI_CLIENT_ID,  // --client-id ID
	CLI_SENSORS,    // --sensors N
	CLI_NAME,       // --name PREFIX
	CLI_RATE,       // --rate R
	CLI_COUNT,      // --count C
	CLI_LOG,        // --log FILE (opened for writing)
	CLI_QUIET,      // --quiet
};

// Where a program keeps the shared options it has (NULL: it has not).
typedef struct cli_vars {
	char     *host;
	size_t    host_cap;
	int      *port;
	char     *id;
	size_t    id_cap;
	int      *sensors;
	char     *prefix;
	size_t    prefix_cap;
	double   *rate;
	uint64_t *count;
	FILE    **log;
	bool     *quiet;
} cli_vars;

// cli_option takes option o (with its argument) when it is one of the
// shared ones the program has: 1 taken, 0 not one of them, -1 a file
// that could not be opened (said on stderr, after prog).
int cli_option(const cli_vars *v, const char *prog, int o, const char *arg);

// cli_signals makes SIGINT and SIGTERM call handler, and ignores SIGPIPE.
void cli_signals(void (*handler)(int));

// cli_mqtt makes a libmosquitto client (the library initialised) with
// client id `id` (NULL: a random one) and a clean or persistent session;
// NULL (said on stderr) when it cannot.
struct mosquitto *cli_mqtt(const char *prog, const char *id, bool clean);

// cli_mqtt_loop runs one turn of the client's loop (timeout_ms at most),
// and while the connection is down tries again every 200 ms
// (*last_try: monotonic ms of the last attempt).
void cli_mqtt_loop(struct mosquitto *mq, int timeout_ms, int64_t *last_try);

#endif // COLLECTOR_CLI_H
