// SPDX-License-Identifier: MIT
// verify.c -- collector-verify: what arrived upstream, checked.
//
// It subscribes to the collector's topics on the upstream broker (QoS 1,
// a persistent session under a fixed client id, so nothing is missed
// while it reconnects) and reads every payload the uplink publishes:
//
//     {"gw":"gw1","stream":"serial/s1","sid":2166136261,"seq":42,
//      "ts":1733500000123,"values":{"n":42,"t":21.50}}
//
// Readings are keyed by (gw, sid, seq): a key seen before is a
// duplicate (QoS 1 is at-least-once) and is dropped.  Per stream
// (gw, sid) it reports how many arrived, the duplicates, the gaps (seq
// numbers never seen between the first and the highest, or from 1 with
// --from-one) and the order violations (a new key below the highest one
// seen: the stream's readings arrived out of order).  Run it against
// your own broker:
//
//     collector-verify --host broker.example.com --port 1883
//         --topic 'collector/#' --client-id my-verifier
//
// It prints a progress line every second and, when it ends (SIGINT,
// SIGTERM, --duration, or --idle with nothing new for that long), one
// line per stream and a total.  --dump FILE writes every first arrival
// as "GW SID SEQ TS STREAM VALUES" (tab-separated).  Exit 0 when no
// stream has a gap or an order violation, every payload was readable
// and every seq could be tracked (below 2^31), 1 otherwise, 64 for a usage error, 69 when the broker was
// never reached.

#include "cli.h"
#include "clock.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct stream {
	char     gw[64];
	uint32_t sid;
	char     name[128];
	uint8_t *seen; // bit per seq
	uint64_t cap;  // bits
	uint64_t first, max;
	uint64_t unique, dups, order;
	struct stream *next;
} stream;

static volatile sig_atomic_t stop_sig;
static stream               *streams;
static uint64_t              total, unique, dups, malformed, order, untracked;
static FILE                 *dumpf;
static bool                  connected, ever, subscribed;
static int64_t               last_new;
static char                  topic[256] = "collector/#";
static int                   qos        = 1;

static void
on_signal(int sig)
{
	stop_sig = sig;
}

// --- a small JSON reader for the uplink's flat objects ------------------------

typedef struct jv {
	const char *p; // the value's text (a string without its quotes)
	size_t      n;
	bool        str;
	bool        found;
} jv;

static const char *
ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
	}
	return p;
}

// skip_value returns the end of the JSON value at p (bounded nesting),
// or NULL when it is malformed.
static const char *
skip_value(const char *p, const char *e, int depth)
{
	if (depth > 32 || p >= e) {
		return NULL;
	}
	if (*p == '"') {
		for (p++; p < e && *p != '"'; p++) {
			if (*p == '\\' && ++p >= e) {
				return NULL;
			}
		}
		return p < e ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = ws(p + 1, e);
		if (p < e && *p == close) {
			return p + 1;
		}
		for (;;) {
			if (close == '}') {
				if ((p = skip_value(ws(p, e), e, depth + 1)) == NULL) {
					return NULL;
				}
				p = ws(p, e);
				if (p >= e || *p != ':') {
					return NULL;
				}
				p++;
			}
			if ((p = skip_value(ws(p, e), e, depth + 1)) == NULL) {
				return NULL;
			}
			p = ws(p, e);
			if (p < e && *p == ',') {
				p++;
				continue;
			}
			return p < e && *p == close ? p + 1 : NULL;
		}
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ') {
		p++;
	}
	return p;
}

// json_fields reads the top-level members named in keys into out.
static bool
json_fields(const char *p, size_t n, const char *const *keys, jv *out,
    size_t nkeys)
{
	const char *e = p + n, *k, *v, *ve;
	size_t      i, kn;

	memset(out, 0, nkeys * sizeof(*out));
	p = ws(p, e);
	if (p >= e || *p != '{') {
		return false;
	}
	p = ws(p + 1, e);
	if (p < e && *p == '}') {
		return true;
	}
	for (;;) {
		if (p >= e || *p != '"') {
			return false;
		}
		k = p + 1;
		if ((p = skip_value(p, e, 0)) == NULL) {
			return false;
		}
		kn = (size_t) (p - 1 - k);
		p  = ws(p, e);
		if (p >= e || *p != ':') {
			return false;
		}
		v = ws(p + 1, e);
		if ((ve = skip_value(v, e, 0)) == NULL) {
			return false;
		}
		for (i = 0; i < nkeys; i++) {
			if (strlen(keys[i]) == kn && memcmp(keys[i], k, kn) == 0) {
				out[i].found = true;
				out[i].str   = *v == '"';
				out[i].p     = out[i].str ? v + 1 : v;
				out[i].n     = (size_t) (ve - v) - (out[i].str ? 2 : 0);
			}
		}
		p = ws(ve, e);
		if (p < e && *p == ',') {
			p = ws(p + 1, e);
			continue;
		}
		return p < e && *p == '}';
	}
}

static bool
jv_u64(const jv *v, uint64_t *out)
{
	char  b[24], *end;
	size_t i;

	if (!v->found || v->str || v->n == 0 || v->n >= sizeof(b)) {
		return false;
	}
	for (i = 0; i < v->n; i++) {
		if (v->p[i] < '0' || v->p[i] > '9') {
			return false;
		}
	}
	memcpy(b, v->p, v->n);
	b[v->n] = '\0';
	errno   = 0;
	*out    = strtoull(b, &end, 10);
	return errno == 0 && *end == '\0';
}

// --- streams ----------------------------------------------------------------------

static stream *
stream_get(const jv *gw, uint32_t sid, const jv *name)
{
	stream *s;

	for (s = streams; s != NULL; s = s->next) {
		if (s->sid == sid && strlen(s->gw) == gw->n
		    && memcmp(s->gw, gw->p, gw->n) == 0) {
			return s;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return NULL;
	}
	snprintf(s->gw, sizeof(s->gw), "%.*s", (int) gw->n, gw->p);
	snprintf(s->name, sizeof(s->name), "%.*s", (int) name->n, name->p);
	s->sid  = sid;
	s->next = streams;
	streams = s;
	return s;
}

// mark records seq as seen in s's bitmap: 1 when it is new, 0 when it
// was seen before (a duplicate), -1 when it cannot be tracked: at or
// above TRACK_MAX (the bitmap starts at seq 0; a seq beyond years of
// readings is damage, and its bitmap, and the gap count up to it, would
// take gigabytes and hours) or no memory for the bitmap.  Such a seq is
// neither a duplicate nor silently dropped: it is counted as untracked
// and fails the result.
#define TRACK_MAX ((uint64_t) 1 << 31)

static int
mark(stream *s, uint64_t seq)
{
	if (seq >= TRACK_MAX) {
		return -1;
	}
	if (seq >= s->cap) {
		uint64_t ncap = s->cap == 0 ? 65536 : s->cap;
		uint8_t *nb;

		while (ncap <= seq) {
			ncap *= 2;
		}
		if ((nb = realloc(s->seen, ncap / 8)) == NULL) {
			return -1;
		}
		memset(nb + s->cap / 8, 0, (ncap - s->cap) / 8);
		s->seen = nb;
		s->cap  = ncap;
	}
	if (s->seen[seq / 8] & (1u << (seq % 8))) {
		return 0;
	}
	s->seen[seq / 8] |= (uint8_t) (1u << (seq % 8));
	return 1;
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	static const char *const keys[]
	    = { "gw", "stream", "sid", "seq", "ts", "values" };
	jv       f[6];
	uint64_t sid, seq, ts = 0;
	stream  *s;
	int      seen;

	(void) m;
	(void) arg;
	total++;
	if (!json_fields(msg->payload, (size_t) msg->payloadlen, keys, f, 6)
	    || !f[0].found || !f[0].str || f[0].n == 0 || f[0].n > 63
	    || !f[1].found || !f[1].str || !jv_u64(&f[2], &sid)
	    || sid > UINT32_MAX || !jv_u64(&f[3], &seq) || seq == 0
	    || seq > ((uint64_t) 1 << 48)) {
		if (malformed++ < 5) {
			fprintf(stderr,
			    "collector-verify: unreadable payload on %s: %.*s\n",
			    msg->topic, msg->payloadlen > 200 ? 200 : msg->payloadlen,
			    (const char *) msg->payload);
		}
		return;
	}
	jv_u64(&f[4], &ts);
	if ((s = stream_get(&f[0], (uint32_t) sid, &f[1])) == NULL) {
		return;
	}
	if ((seen = mark(s, seq)) < 0) {
		if (untracked++ < 5) {
			fprintf(stderr,
			    "collector-verify: seq %" PRIu64 " on stream %" PRIu32
			    " cannot be tracked (at most %" PRIu64
			    "): counted as untracked\n",
			    seq, s->sid, TRACK_MAX - 1);
		}
		return;
	}
	if (seen == 0) {
		s->dups++;
		dups++;
		return;
	}
	if (seq < s->max) {
		if (order < 5) {
			fprintf(stderr,
			    "collector-verify: out of order on stream %" PRIu32
			    ": seq %" PRIu64 " after %" PRIu64 "\n",
			    s->sid, seq, s->max);
		}
		s->order++;
		order++;
	}
	if (s->unique == 0 || seq < s->first) {
		s->first = seq;
	}
	if (seq > s->max) {
		s->max = seq;
	}
	s->unique++;
	unique++;
	last_new = clk_mono_ms();
	if (dumpf != NULL) {
		fprintf(dumpf, "%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s\t%.*s\n",
		    s->gw, sid, seq, ts, s->name, (int) f[5].n, f[5].p);
	}
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void) arg;
	if (rc != 0) {
		fprintf(stderr, "collector-verify: refused: %s\n",
		    mosquitto_connack_string(rc));
		return;
	}
	connected = ever = true;
	mosquitto_subscribe(m, NULL, topic, qos);
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *g)
{
	(void) m;
	(void) arg;
	(void) mid;
	if (n > 0 && g[0] <= 2 && !subscribed) {
		subscribed = true;
		printf("verify event=subscribed topic=%s qos=%d\n", topic, g[0]);
		fflush(stdout);
	}
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	(void) m;
	(void) arg;
	(void) rc;
	connected = false;
}

// gaps counts the missing seqs of s from `from` to its max and prints
// the first ranges.
static uint64_t
gaps(const stream *s, uint64_t from, char *ranges, size_t cap)
{
	uint64_t missing = 0, q, start = 0;
	size_t   o = 0;
	int      shown = 0;

	ranges[0] = '\0';
	for (q = from; q <= s->max; q++) {
		bool have = q < s->cap && (s->seen[q / 8] & (1u << (q % 8)));

		if (!have) {
			if (start == 0) {
				start = q;
			}
			missing++;
		}
		if ((have || q == s->max) && start != 0) {
			uint64_t end = have ? q - 1 : q;

			if (shown++ < 5 && o < cap) {
				if (end > start) {
					o += (size_t) snprintf(ranges + o, cap - o,
					    "%s%" PRIu64 "-%" PRIu64, o > 0 ? "," : "",
					    start, end);
				} else {
					o += (size_t) snprintf(ranges + o, cap - o,
					    "%s%" PRIu64, o > 0 ? "," : "", start);
				}
			}
			start = 0;
		}
	}
	return missing;
}

static int
report(bool from_one)
{
	stream  *s;
	uint64_t gap_total = 0;
	char     ranges[200], extra[48] = "";
	bool     ok;

	for (s = streams; s != NULL; s = s->next) {
		uint64_t g = gaps(s, from_one ? 1 : s->first, ranges, sizeof(ranges));

		gap_total += g;
		printf("verify event=stream gw=%s sid=%" PRIu32 " stream=\"%s\" "
		       "unique=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64
		       " duplicates=%" PRIu64 " gaps=%" PRIu64 "%s%s%s"
		       " order_violations=%" PRIu64 "\n",
		    s->gw, s->sid, s->name, s->unique, s->first, s->max, s->dups,
		    g, g > 0 ? " missing=" : "", g > 0 ? ranges : "",
		    "", s->order);
	}
	ok = gap_total == 0 && order == 0 && malformed == 0 && untracked == 0;
	if (untracked > 0) {
		snprintf(extra, sizeof(extra), " untracked=%" PRIu64, untracked);
	}
	printf("verify event=total received=%" PRIu64 " unique=%" PRIu64
	       " duplicates=%" PRIu64 " gaps=%" PRIu64
	       " order_violations=%" PRIu64 " malformed=%" PRIu64 "%s"
	       " result=%s\n",
	    total, unique, dups, gap_total, order, malformed, extra,
	    ok ? "ok" : "FAILED");
	fflush(stdout);
	return ok ? 0 : 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collector-verify --port PORT [options]\n"
	    "  --host HOST        the upstream broker (default 127.0.0.1)\n"
	    "  --port PORT        its port\n"
	    "  --topic FILTER     what to subscribe to (default collector/#)\n"
	    "  --client-id ID     the persistent session's id (default "
	    "collector-verify)\n"
	    "  --username U, --password P\n"
	    "  --clean            a clean session instead of a persistent one\n"
	    "  --from-one         count gaps from seq 1 (a fresh store)\n"
	    "  --duration S       end after S seconds\n"
	    "  --idle S           end after S seconds with nothing new\n"
	    "  --dump FILE        every first arrival, one line each\n"
	    "  --quiet            no progress lines\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "host", 1, NULL, CLI_HOST },
		{ "port", 1, NULL, CLI_PORT }, { "topic", 1, NULL, 't' },
		{ "client-id", 1, NULL, CLI_CLIENT_ID },
		{ "username", 1, NULL, 'u' }, { "password", 1, NULL, 'w' },
		{ "clean", 0, NULL, 'c' }, { "from-one", 0, NULL, '1' },
		{ "duration", 1, NULL, 'd' }, { "idle", 1, NULL, 'I' },
		{ "dump", 1, NULL, CLI_LOG }, { "quiet", 0, NULL, CLI_QUIET },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char              host[256] = "127.0.0.1", id[128] = "collector-verify";
	char              user[128] = "", pass[128] = "";
	int               port = 0, o, rc;
	bool              clean = false, from_one = false, quiet = false;
	double            duration = 0, idle = 0;
	int64_t           t0, last_print, last_try = 0;
	uint64_t          printed = (uint64_t) -1;
	struct mosquitto *mq;
	const cli_vars    cv = { .host = host, .host_cap = sizeof(host),
		   .port = &port, .id = id, .id_cap = sizeof(id), .log = &dumpf,
		   .quiet = &quiet };

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			snprintf(topic, sizeof(topic), "%s", optarg);
			break;
		case 'u':
			snprintf(user, sizeof(user), "%s", optarg);
			break;
		case 'w':
			snprintf(pass, sizeof(pass), "%s", optarg);
			break;
		case 'c':
			clean = true;
			break;
		case '1':
			from_one = true;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'I':
			idle = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if ((rc = cli_option(&cv, "collector-verify", o, optarg)) < 0) {
				return 1;
			}
			if (rc == 0) {
				usage(stderr);
				return 64;
			}
			break;
		}
	}
	if (optind != argc || port < 1 || port > 65535) {
		usage(stderr);
		return 64;
	}
	cli_signals(on_signal);
	if ((mq = cli_mqtt("collector-verify", id, clean)) == NULL) {
		return 1;
	}
	if (user[0] != '\0') {
		mosquitto_username_pw_set(mq, user, pass[0] != '\0' ? pass : NULL);
	}
	mosquitto_connect_callback_set(mq, on_connect);
	mosquitto_disconnect_callback_set(mq, on_disconnect);
	mosquitto_message_callback_set(mq, on_message);
	mosquitto_subscribe_callback_set(mq, on_subscribe);
	mosquitto_max_inflight_messages_set(mq, 1000);
	rc = mosquitto_connect(mq, host, port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "collector-verify: %s:%d: %s (retrying)\n", host,
		    port, mosquitto_strerror(rc));
	}
	t0 = last_print = last_new = clk_mono_ms();
	while (stop_sig == 0) {
		int64_t now = clk_mono_ms();

		if (duration > 0 && now - t0 >= (int64_t) (duration * 1000)) {
			break;
		}
		if (idle > 0 && ever && now - last_new >= (int64_t) (idle * 1000)) {
			break;
		}
		cli_mqtt_loop(mq, 50, &last_try);
		if (!quiet && now - last_print >= 1000 && unique != printed) {
			printf("verify event=progress unique=%" PRIu64
			       " duplicates=%" PRIu64 " order_violations=%" PRIu64
			       " malformed=%" PRIu64 " connected=%s\n",
			    unique, dups, order, malformed, connected ? "yes" : "no");
			fflush(stdout);
			printed    = unique;
			last_print = now;
		}
	}
	if (dumpf != NULL) {
		fclose(dumpf);
	}
	rc = ever ? report(from_one) : 69;
	if (!ever) {
		fprintf(stderr, "collector-verify: %s:%d was never reached\n",
		    host, port);
	}
	mosquitto_disconnect(mq);
	mosquitto_destroy(mq);
	mosquitto_lib_cleanup();
	while (streams != NULL) {
		stream *s = streams;

		streams = s->next;
		free(s->seen);
		free(s);
	}
	return rc;
}
