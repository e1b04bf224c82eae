// SPDX-License-Identifier: MIT
// http.c -- the HTTP endpoint of `arbor run` (SPEC 24): libevent's evhttp
// on the node's own loop, bound to node.http on loopback, off unless
// configured.  It is read-only: probes for supervisors of the node
// (/healthz, /readyz), Prometheus metrics (/metrics), the live tree as
// JSON (/api/tree, the same document as `arborctl status --json`) and a
// self-contained page (/, src/ops/page.html: inline CSS and JS, no
// external assets) that draws the tree and refreshes itself every
// second.  Changing the tree is the control socket's job (control.c),
// which is owner-only; a loopback port is open to every local user.
//
// Requests whose Host header names anything but a loopback address or
// localhost are refused (403), so a web page elsewhere can't read the
// node through DNS rebinding.  Only GET and HEAD are served: evhttp
// passes every method here and http_cb answers the others (405, or 501
// for a method evhttp does not know).  Requests that evhttp answers
// itself, without calling http_cb (a request it cannot parse: 400;
// headers over the limit or a body: 413), are seen on their way out
// (http_out_cb).  Every refusal is counted (arbor_http_refused_total)
// and logged, at most one line every HTTP_SAY_MS (and one at the stop
// for the refusals since the last).
// Thread: node.

#include "http.h"

#include "../core/arb_impl.h"
#include "health.h"
#include "page.h"
#include "treejson.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

// What a request can be refused for (arbor_http_refused_total's reason).
typedef enum refusal {
	// Not GET or HEAD: 405 (501 for a method evhttp does not know).
	R_METHOD,
	// A Host header that is not loopback: 403.
	R_HOST,
	// Answered by evhttp itself (400, 413, ...): it never reached us.
	R_MALFORMED,
	R_COUNT,
} refusal;

static const char *const refusal_names[R_COUNT]
    = { "method", "host", "malformed" };

// At most one event=http_refused line in this many ms.
#define HTTP_SAY_MS 10000

typedef struct arb__http {
	arb__serve    *run;
	struct evhttp *http;
	bool           in_cb;            // http_cb is answering a request
	uint64_t       refused[R_COUNT]; // by reason, since the start
	bool           said;             // said_ms holds a time
	int64_t        said_ms;          // the last event=http_refused line
	uint64_t       unsaid;           // refusals since that line
} arb__http;

// refused counts a refusal of reason why and logs it with what (printf),
// unless a line was logged less than HTTP_SAY_MS ago: count= on a line
// is the number of refusals since the one before (this one included), so
// a flood of junk costs a line every HTTP_SAY_MS at most; those still
// unsaid at the stop are said then (arb__http_stop).  The counters in
// /metrics are exact.
static void refused(arb__http *h, refusal why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refused(arb__http *h, refusal why, const char *fmt, ...)
{
	int64_t now = arb__now_ms();
	char    what[256];
	va_list ap;

	h->refused[why]++;
	h->unsaid++;
	if (h->said && now - h->said_ms < HTTP_SAY_MS) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	arb_log(NULL, ARB_LOG_INFO, "http_refused", "reason=%s %s count=%llu",
	    refusal_names[why], what, (unsigned long long) h->unsaid);
	h->said = true;
	h->said_ms = now;
	h->unsaid = 0;
}

// --- Answers ----------------------------------------------------------------

// send_buf sends out (and frees it) with the headers every answer has.
// evhttp would send a body for HEAD too: HEAD gets the length only.
static void
send_buf(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *out)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char              len[32];

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(out));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(out, body, len);
	send_buf(req, code, reason, type, out);
}

static void
reply_text(
    struct evhttp_request *req, int code, const char *reason, const char *text)
{
	reply(req, code, reason, "text/plain; charset=utf-8", text,
	    strlen(text));
}

static void
get_healthz(arb__http *h, struct evhttp_request *req)
{
	char stuck[256] = "";
	char text[300];

	if (arb_node_live(h->run->node, stuck, sizeof(stuck))) {
		reply_text(req, 200, "OK", "ok\n");
	} else {
		snprintf(text, sizeof(text), "stuck: %s\n", stuck);
		reply_text(req, 503, "Service Unavailable", text);
	}
}

// get_readyz: 200 once the tree is up and while every permanent or
// significant child runs; 503 "degraded: PATH (STATE), ..." while one
// does not (health.c), 503 "not ready" before the tree is up and once a
// stop began.
static void
get_readyz(arb__http *h, struct evhttp_request *req)
{
	arb__health hl;
	arb__text   t = { 0 };

	arb__health_read(h->run->node, &hl);
	if (arb__health_ready(&hl)) {
		reply_text(req, 200, "OK", "ready\n");
	} else if (!hl.started) {
		reply_text(req, 503, "Service Unavailable", "not ready\n");
	} else {
		arb__text_add(&t, "degraded: ", 10);
		arb__health_text(&hl, &t, 20);
		arb__text_add(&t, "\n", 1);
		reply_text(req, 503, "Service Unavailable", t.p);
	}
	arb__text_fini(&t);
	arb__health_fini(&hl);
}

static void
get_tree(arb__http *h, struct evhttp_request *req)
{
	arb__text b = { 0 };

	arb__live_json(h->run, &b);
	arb__text_add(&b, "\n", 1);
	reply(req, 200, "OK", "application/json", b.p, b.len);
	arb__text_fini(&b);
}

// --- /metrics ---------------------------------------------------------------

// Each family is written by one walk over the tree: HELP and TYPE once,
// then a sample per entry.
typedef enum metric {
	M_UP,
	M_UPTIME,
	M_RESTARTS,
	M_EXITS,
	M_MSGS_IN,
	M_MSGS_OUT,
	M_DEAD_LETTERS,
	M_REJECTED,
	M_SEND_EAGAIN,
	M_LOST,
	M_STALE,
	M_PUBLISHED,
	M_UNHEARD,
	M_HEARTBEAT_AGE,
	M_REMOTE_UP,
	M_COUNT,
} metric;

static const struct {
	const char *name;
	const char *type;
	const char *help;
} metrics[M_COUNT] = {
	[M_UP] = { "arbor_actor_up", "gauge",
	    "1 while the child is running, else 0." },
	[M_UPTIME] = { "arbor_actor_uptime_seconds", "gauge",
	    "Time since the child reported READY (0 when not running)." },
	[M_RESTARTS] = { "arbor_actor_restarts_total", "counter",
	    "Restarts of the child by its supervisor." },
	[M_EXITS] = { "arbor_actor_exits_total", "counter",
	    "Exits of the child by reason." },
	[M_MSGS_IN] = { "arbor_actor_messages_in_total", "counter",
	    "Messages delivered to the actor (last heartbeat snapshot)." },
	[M_MSGS_OUT] = { "arbor_actor_messages_out_total", "counter",
	    "Messages the actor sent (last heartbeat snapshot)." },
	[M_DEAD_LETTERS] = { "arbor_actor_dead_letters_total", "counter",
	    "Messages known undelivered: their mailbox closed, the actor was "
	    "exiting, another incarnation, or their destination went away." },
	[M_REJECTED] = { "arbor_actor_rejected_total", "counter",
	    "Malformed, truncated or oversized frames refused." },
	[M_SEND_EAGAIN] = { "arbor_actor_send_eagain_total", "counter",
	    "Sends refused because the destination mailbox was full." },
	[M_LOST] = { "arbor_actor_lost_total", "counter",
	    "Messages the actor sent on a link that died before they were "
	    "acknowledged (possibly lost)." },
	[M_STALE] = { "arbor_actor_stale_total", "counter",
	    "Messages addressed to an earlier incarnation, dropped (also in "
	    "dead letters)." },
	[M_PUBLISHED] = { "arbor_actor_published_total", "counter",
	    "Publishes on a topic (arb_publish), heard or not." },
	[M_UNHEARD] = { "arbor_actor_unheard_total", "counter",
	    "Of its publishes: those the topic had no subscriber for." },
	[M_HEARTBEAT_AGE] = { "arbor_actor_heartbeat_age_seconds", "gauge",
	    "Time since the actor's loop last ticked (actors only)." },
	[M_REMOTE_UP] = { "arbor_remote_child_up", "gauge",
	    "A remote child (its spec names another node): 1 while it runs "
	    "there, else 0; node is where." },
};

typedef struct metric_walk {
	struct evbuffer *out;
	metric           m;
} metric_walk;

// prom_text writes s escaped for the text format: a backslash and a
// newline (and, in a label value, a double quote) as \\, \n and \".  The
// format is UTF-8, and its parsers take no other escape: each byte that
// is not part of a UTF-8 sequence (arb__utf8_len; an actor's label value
// or help text, a help text cut short) is written U+FFFD, the
// replacement character, as the node's JSON does.
static void
prom_text(struct evbuffer *out, const char *s, bool label)
{
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		if (s[i] == '\\' || (label && s[i] == '"')) {
			evbuffer_add_printf(out, "\\%c", s[i]);
			k = 1;
		} else if (s[i] == '\n') {
			evbuffer_add(out, "\\n", 2);
			k = 1;
		} else if ((k = arb__utf8_len(s + i, n - i)) == 0) {
			evbuffer_add(out, "\xef\xbf\xbd", 3);
			k = 1;
		} else {
			evbuffer_add(out, s + i, k);
		}
		i += k;
	}
}

// label_path writes s escaped for a Prometheus label value.
static void
label_path(struct evbuffer *out, const char *s)
{
	prom_text(out, s, true);
}

static void
sample(struct evbuffer *out, const char *name, const char *path,
    const char *reason, const char *value)
{
	evbuffer_add_printf(out, "%s{path=\"", name);
	label_path(out, path);
	if (reason != NULL) {
		evbuffer_add_printf(out, "\",reason=\"%s", reason);
	}
	evbuffer_add_printf(out, "\"} %s\n", value);
}

static void
metric_cb(const arb_child_info *in, void *arg)
{
	metric_walk *w = arg;
	const char  *name = metrics[w->m].name;
	char         v[64];
	int          k;
	uint64_t     n = 0;
	bool         actor = in->isolation != ARB_SUPERVISOR;

	switch (w->m) {
	case M_UP:
		n = in->state == ARB_STATE_RUNNING;
		break;
	case M_UPTIME:
		snprintf(
		    v, sizeof(v), "%.3f", (double) in->uptime_ms / 1000.0);
		sample(w->out, name, in->path, NULL, v);
		return;
	case M_RESTARTS:
		n = in->restarts;
		break;
	case M_EXITS:
		for (k = 0; k <= ARB_EXIT_NOPROC; k++) {
			snprintf(v, sizeof(v), "%llu",
			    (unsigned long long) in->exits[k]);
			sample(w->out, name, in->path,
			    arb_exit_kind_name((arb_exit_kind) k), v);
		}
		return;
	case M_MSGS_IN:
		n = in->stats.msgs_in;
		break;
	case M_MSGS_OUT:
		n = in->stats.msgs_out;
		break;
	case M_DEAD_LETTERS:
		n = in->stats.dead_letters;
		break;
	case M_REJECTED:
		n = in->stats.rejected;
		break;
	case M_SEND_EAGAIN:
		n = in->stats.send_eagain;
		break;
	case M_LOST:
		n = in->stats.lost;
		break;
	case M_STALE:
		n = in->stats.stale;
		break;
	case M_PUBLISHED:
		n = in->stats.published;
		break;
	case M_UNHEARD:
		n = in->stats.unheard;
		break;
	case M_HEARTBEAT_AGE:
		if (!actor || in->heartbeat_age_ms < 0) {
			return; // unknown: no sample rather than a made-up one
		}
		snprintf(v, sizeof(v), "%.3f",
		    (double) in->heartbeat_age_ms / 1000.0);
		sample(w->out, name, in->path, NULL, v);
		return;
	case M_REMOTE_UP:
		if (in->node == NULL) {
			return;
		}
		evbuffer_add_printf(w->out, "%s{path=\"", name);
		label_path(w->out, in->path);
		evbuffer_add_printf(w->out, "\",node=\"");
		label_path(w->out, in->node);
		evbuffer_add_printf(w->out, "\"} %d\n",
		    in->state == ARB_STATE_RUNNING);
		return;
	case M_COUNT:
		return;
	}
	if (!actor && w->m >= M_MSGS_IN) {
		return; // supervisors have no mailbox statistics
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long) n);
	sample(w->out, name, in->path, NULL, v);
}

// --- The actors' own metrics ------------------------------------------------
//
// Series of every actor are gathered by one walk (copied: the walk's data
// lives during its callback only), then written family by family: all
// series of one name together, with the HELP and TYPE of the first one
// (series of another type under the same name are left out, and counted
// in arbor_actor_metrics_dropped_total).

typedef struct aseries {
	char           *path;
	arb_metric_info m; // strings and arrays copied (owned)
	size_t          seq;
} aseries;

typedef struct acollect {
	aseries *v;
	size_t   n;
	size_t   cap;
	bool     oom;
} acollect;

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
collect_cb(const arb_child_info *in, void *arg)
{
	acollect *c = arg;
	size_t    i;

	for (i = 0; i < in->nmetrics && !c->oom; i++) {
		const arb_metric_info *m = &in->metrics[i];
		aseries               *a;
		double                *bounds;
		uint64_t              *buckets;

		if (c->n == c->cap) {
			size_t   cap = c->cap ? c->cap * 2 : 64;
			aseries *v   = realloc(c->v, cap * sizeof(*v));
			if (v == NULL) {
				c->oom = true;
				return;
			}
			c->v   = v;
			c->cap = cap;
		}
		a = &c->v[c->n];
		memset(a, 0, sizeof(*a));
		a->m           = *m;
		a->seq         = c->n;
		a->path        = strdup(in->path);
		a->m.name      = dup_or_null(m->name);
		a->m.help      = dup_or_null(m->help);
		a->m.label_key = dup_or_null(m->label_key);
		a->m.label_value = dup_or_null(m->label_value);
		bounds  = calloc(m->nbounds + 1, sizeof(*bounds));
		buckets = calloc(m->nbounds + 1, sizeof(*buckets));
		if (bounds != NULL && m->nbounds > 0) {
			memcpy(
			    bounds, m->bounds, m->nbounds * sizeof(*bounds));
		}
		if (buckets != NULL && m->type == ARB_METRIC_HISTOGRAM) {
			memcpy(buckets, m->buckets,
			    (m->nbounds + 1) * sizeof(*buckets));
		}
		a->m.bounds  = bounds;
		a->m.buckets = buckets;
		c->n++;
		if (a->path == NULL || a->m.name == NULL || a->m.help == NULL
		    || (m->label_key != NULL
		        && (a->m.label_key == NULL
		            || a->m.label_value == NULL))
		    || bounds == NULL || buckets == NULL) {
			c->oom = true;
		}
	}
}

static void
collect_fini(acollect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free((char *) c->v[i].m.name);
		free((char *) c->v[i].m.help);
		free((char *) c->v[i].m.label_key);
		free((char *) c->v[i].m.label_value);
		free((double *) c->v[i].m.bounds);
		free((uint64_t *) c->v[i].m.buckets);
	}
	free(c->v);
}

static int
series_cmp(const void *a, const void *b)
{
	const aseries *x = a, *y = b;
	int            d = strcmp(x->m.name, y->m.name);

	if (d != 0) {
		return d;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

// prom_num writes a sample value in Prometheus text form.
static void
prom_num(struct evbuffer *out, double v)
{
	if (v != v) {
		evbuffer_add(out, "NaN", 3);
	} else if (v - v != 0) {
		evbuffer_add_printf(out, "%cInf", v > 0 ? '+' : '-');
	} else {
		evbuffer_add_printf(out, "%.15g", v);
	}
}

// help_text writes a HELP text escaped (it is one line).
static void
help_text(struct evbuffer *out, const char *s)
{
	prom_text(out, s, false);
}

// series_labels writes {path="...",key="value"[,le="..."]}.
static void
series_labels(struct evbuffer *out, const aseries *a, const char *le)
{
	evbuffer_add(out, "{path=\"", 7);
	label_path(out, a->path);
	evbuffer_add(out, "\"", 1);
	if (a->m.label_key != NULL) {
		evbuffer_add_printf(out, ",%s=\"", a->m.label_key);
		label_path(out, a->m.label_value);
		evbuffer_add(out, "\"", 1);
	}
	if (le != NULL) {
		evbuffer_add_printf(out, ",le=\"%s\"", le);
	}
	evbuffer_add(out, "} ", 2);
}

static void
series_write(struct evbuffer *out, const aseries *a)
{
	const arb_metric_info *m = &a->m;
	char                   le[64];
	size_t                 k;

	if (m->type != ARB_METRIC_HISTOGRAM) {
		evbuffer_add_printf(out, "%s", m->name);
		series_labels(out, a, NULL);
		prom_num(out, m->value);
		evbuffer_add(out, "\n", 1);
		return;
	}
	for (k = 0; k <= m->nbounds; k++) {
		if (k < m->nbounds) {
			snprintf(le, sizeof(le), "%.15g", m->bounds[k]);
		} else {
			snprintf(le, sizeof(le), "+Inf");
		}
		evbuffer_add_printf(out, "%s_bucket", m->name);
		series_labels(out, a, le);
		evbuffer_add_printf(
		    out, "%llu\n", (unsigned long long) m->buckets[k]);
	}
	evbuffer_add_printf(out, "%s_sum", m->name);
	series_labels(out, a, NULL);
	prom_num(out, m->value);
	evbuffer_add_printf(out, "\n%s_count", m->name);
	series_labels(out, a, NULL);
	evbuffer_add_printf(out, "%llu\n", (unsigned long long) m->count);
}

// actor_metrics writes every actor's own metrics, and returns how many
// series were left out (a type clash within a family).
static uint64_t
actor_metrics(struct evbuffer *out, arb_node *node, bool *oom)
{
	acollect    c = { NULL, 0, 0, false };
	size_t      i;
	uint64_t    dropped = 0;
	const char *family  = NULL;
	arb_metric_type type = ARB_METRIC_COUNTER;

	arb_node_walk(node, collect_cb, &c);
	*oom = c.oom;
	if (!c.oom && c.n > 0) {
		qsort(c.v, c.n, sizeof(*c.v), series_cmp);
		for (i = 0; i < c.n; i++) {
			const arb_metric_info *m = &c.v[i].m;
			if (family == NULL || strcmp(family, m->name) != 0) {
				family = m->name;
				type   = m->type;
				evbuffer_add_printf(
				    out, "# HELP %s ", m->name);
				help_text(out, m->help);
				evbuffer_add_printf(out, "\n# TYPE %s %s\n",
				    m->name, arb__metric_type_word(m->type));
			} else if (m->type != type) {
				dropped++;
				continue;
			}
			series_write(out, &c.v[i]);
		}
	}
	collect_fini(&c);
	return dropped;
}

static void
node_metric(struct evbuffer *out, const char *name, const char *type,
    const char *help, const char *value)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name,
	    help, name, type, name, value);
}

// agent_by_node_metrics writes arbor_agent_children_by_node: how many
// children the agent runs (starting or running) for each supervisor's
// node that has any.
static void
agent_by_node_metrics(struct evbuffer *out, arb_node *node)
{
	enum { MAX = 256 };
	arb_agent_child *v = calloc(MAX, sizeof(*v));
	size_t           i, j, n;

	evbuffer_add_printf(out,
	    "# HELP arbor_agent_children_by_node Children the agent runs "
	    "(starting or running) for the supervisors of node sup_node.\n"
	    "# TYPE arbor_agent_children_by_node gauge\n");
	n = v != NULL ? arb_node_agent_children(node, v, MAX) : 0;
	n = n < MAX ? n : MAX;
	for (i = 0; i < n; i++) {
		unsigned k = 0;

		for (j = 0; j < i && strcmp(v[j].sup_node, v[i].sup_node) != 0;
		     j++) { }
		if (j < i) {
			continue; // counted with its first
		}
		for (j = i; j < n; j++) {
			k += strcmp(v[j].sup_node, v[i].sup_node) == 0
			    && (strcmp(v[j].state, "starting") == 0
			        || strcmp(v[j].state, "running") == 0);
		}
		evbuffer_add_printf(
		    out, "arbor_agent_children_by_node{sup_node=\"");
		label_path(out, v[i].sup_node);
		evbuffer_add_printf(out, "\"} %u\n", k);
	}
	free(v);
}

// peer_metrics writes, for each peer of node.peers, its link as
// `arborctl peers` shows it (docs/operations.md, "Metrics"): up (1 while
// authenticated and answering heartbeats), the times it came up and was
// lost, and the last heartbeat round trip (none before the first echo).
// Without them a scraper saw the refusals but not which peer was down.
static void
peer_metrics(struct evbuffer *out, arb_node *node)
{
	static const char *const head[] = {
		"arbor_node_peer_up", "gauge",
		"1 while the link to the peer is up (authenticated, its "
		"heartbeats answered); 0 while it is down or connecting.",
		"arbor_node_peer_ups_total", "counter",
		"Times the link to the peer came up.",
		"arbor_node_peer_downs_total", "counter",
		"Times the link to the peer was lost (DOWN noconnection).",
		"arbor_node_peer_rtt_seconds", "gauge",
		"The last heartbeat round trip to the peer (no sample while "
		"the link is not up, or before its first echo).",
	};
	arb_peer_info *v = calloc(ARB_NODE_PEERS_MAX, sizeof(*v));
	size_t         i, n, k;

	n = v != NULL ? arb_node_peers(node, v, ARB_NODE_PEERS_MAX) : 0;
	n = n < ARB_NODE_PEERS_MAX ? n : ARB_NODE_PEERS_MAX;
	for (k = 0; k < 4 && n > 0; k++) {
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
		    head[3 * k], head[3 * k + 2], head[3 * k],
		    head[3 * k + 1]);
		for (i = 0; i < n; i++) {
			if (k == 3 && v[i].rtt_us < 0) {
				continue;
			}
			evbuffer_add_printf(out, "%s{peer=\"", head[3 * k]);
			label_path(out, v[i].name);
			evbuffer_add_printf(out, "\"} ");
			if (k == 0) {
				evbuffer_add_printf(out, "%d\n",
				    v[i].state == ARB_PEER_UP);
			} else if (k == 3) {
				evbuffer_add_printf(out, "%.6f\n",
				    (double) v[i].rtt_us / 1e6);
			} else {
				evbuffer_add_printf(out, "%llu\n",
				    (unsigned long long) (k == 1 ? v[i].ups
				                                 : v[i].downs));
			}
		}
	}
	free(v);
}

// node_stats_metrics writes the node's message and link totals
// (arb_node_stats_get; docs/wire.md says what each counts).
static void
node_stats_metrics(struct evbuffer *out, arb_node *node)
{
	static const struct {
		const char *name;
		const char *help;
		size_t      off;
	} m[] = {
		{ "arbor_node_messages_in_total",
		    "Messages handed to actors, running or ended.",
		    offsetof(arb_node_stats, msgs_in) },
		{ "arbor_node_messages_out_total",
		    "Messages accepted by actors' sends, running or ended.",
		    offsetof(arb_node_stats, msgs_out) },
		{ "arbor_node_dead_letters_total",
		    "Messages known undelivered, all actors and the node's "
		    "own.",
		    offsetof(arb_node_stats, dead_letters) },
		{ "arbor_node_lost_total",
		    "Messages possibly lost on links that died, or with a "
		    "crashed process.",
		    offsetof(arb_node_stats, lost) },
		{ "arbor_node_stale_total",
		    "Messages dropped: addressed to an earlier incarnation.",
		    offsetof(arb_node_stats, stale) },
		{ "arbor_node_link_gaps_total",
		    "Frames missing from a link's sequence.",
		    offsetof(arb_node_stats, link_gaps) },
		{ "arbor_node_links_accepted_total",
		    "Link connections accepted.",
		    offsetof(arb_node_stats, links_accepted) },
		{ "arbor_node_links_refused_total",
		    "Connections refused before or at their HELLO.",
		    offsetof(arb_node_stats, links_refused) },
		{ "arbor_node_link_bad_frames_total",
		    "Link connections closed on a malformed frame.",
		    offsetof(arb_node_stats, link_bad_frames) },
		{ "arbor_node_links_lost_total", "Dialled links that died.",
		    offsetof(arb_node_stats, links_lost) },
		{ "arbor_node_link_auth_failed_total",
		    "Node link handshakes refused for a missing or bad proof.",
		    offsetof(arb_node_stats, link_auth_failed) },
		{ "arbor_node_link_hb_timeouts_total",
		    "Node links closed because heartbeats went unanswered.",
		    offsetof(arb_node_stats, link_hb_timeouts) },
		{ "arbor_node_link_backoff_refused_total",
		    "Connections to the node's listener closed at once: their "
		    "source is backed off.",
		    offsetof(arb_node_stats, link_backoff_refused) },
		{ "arbor_node_link_backoff_evicted_total",
		    "Backed-off sources dropped from the listener's full "
		    "table.",
		    offsetof(arb_node_stats, link_backoff_evicted) },
		{ "arbor_node_link_unproven_refused_total",
		    "Connections to the node's listener closed at once: it "
		    "held as many unproven ones as it may.",
		    offsetof(arb_node_stats, link_unproven_refused) },
		{ "arbor_node_link_replaced_total",
		    "Peers' data streams closed: a newer one of that peer "
		    "proved itself.",
		    offsetof(arb_node_stats, link_replaced) },
		{ "arbor_node_link_closed_with_peer_total",
		    "Peers' data streams closed: this node took that peer "
		    "down (one link).",
		    offsetof(arb_node_stats, link_closed_with_peer) },
		{ "arbor_node_link_adopted_total",
		    "Streams peers dialled that this node sends on (it could "
		    "not dial them, or a merge kept theirs).",
		    offsetof(arb_node_stats, link_adopted) },
		{ "arbor_node_link_merged_total",
		    "Dialled streams retired for the peer's (both dialled).",
		    offsetof(arb_node_stats, link_merged) },
		{ "arbor_node_link_forged_total",
		    "Envelopes refused from peers: a sender that is not the "
		    "peer, or a tag only this node sends.",
		    offsetof(arb_node_stats, link_forged) },
		{ "arbor_node_peer_watches_refused_total",
		    "Watches of this node's actors refused: a peer at its "
		    "limit.",
		    offsetof(arb_node_stats, peer_watches_refused) },
		{ "arbor_node_log_dropped_total",
		    "Lines of the node's log dropped: stderr was not read.",
		    offsetof(arb_node_stats, log_dropped) },
		{ "arbor_agent_children",
		    "Children this node's agent runs for other nodes' "
		    "supervisors (starting or running).",
		    offsetof(arb_node_stats, agent_children) },
		{ "arbor_agent_orphans_stopped_total",
		    "Remote children stopped after the orphan grace.",
		    offsetof(arb_node_stats, agent_orphans_stopped) },
		{ "arbor_agent_orphans_reclaimed_total",
		    "Orphans kept: their supervisor still wanted them when "
		    "the link came back within the grace.",
		    offsetof(arb_node_stats, agent_orphans_reclaimed) },
		{ "arbor_remote_lost_dropped_total",
		    "STOPs of remote children counted lost, dropped before "
		    "their node came back (too many waiting).",
		    offsetof(arb_node_stats, remote_lost_dropped) },
		{ "arbor_agent_fenced_total",
		    "STARTs the agent refused: an older fence.",
		    offsetof(arb_node_stats, agent_fenced) },
		{ "arbor_agent_reports_pending",
		    "The agent's reports not yet acknowledged by the "
		    "supervisor's node.",
		    offsetof(arb_node_stats, agent_reports_pending) },
		{ "arbor_agent_reports_resent_total",
		    "The agent's reports sent again (not acknowledged).",
		    offsetof(arb_node_stats, agent_reports_resent) },
		{ "arbor_agent_reports_stale_total",
		    "The agent's reports dropped: superseded, or for an ended "
		    "incarnation of the supervisor's node.",
		    offsetof(arb_node_stats, agent_reports_stale) },
		{ "arbor_agent_reports_dropped_total",
		    "The agent's reports dropped: too many waiting for one "
		    "node.",
		    offsetof(arb_node_stats, agent_reports_dropped) },
	};
	arb_node_stats st;
	char           v[32];
	size_t         i;

	agent_by_node_metrics(out, node);
	peer_metrics(out, node);
	arb_node_stats_get(node, &st);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		snprintf(v, sizeof(v), "%llu",
		    (unsigned long long) *(const uint64_t *) (const void *) ((
		        const char *) &st + m[i].off));
		node_metric(out, m[i].name,
		    strstr(m[i].name, "_total") != NULL ? "counter" : "gauge",
		    m[i].help, v);
	}
}

static void
get_metrics(arb__http *h, struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();
	arb_node        *node = h->run->node;
	metric_walk      w;
	arb__health      hl;
	char             v[64];
	uint64_t         dropped;
	bool             oom;
	int              i;

	if (out == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	w.out = out;
	for (w.m = 0; w.m < M_COUNT; w.m++) {
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
		    metrics[w.m].name, metrics[w.m].help, metrics[w.m].name,
		    metrics[w.m].type);
		arb_node_walk(node, metric_cb, &w);
	}
	snprintf(
	    v, sizeof(v), "%.3f", (double) arb_node_uptime_ms(node) / 1000.0);
	node_metric(out, "arbor_node_uptime_seconds", "gauge",
	    "Time since the node started its tree.", v);
	snprintf(v, sizeof(v), "%llu",
	    (unsigned long long) arb_node_give_ups(node));
	node_metric(out, "arbor_node_give_ups_total", "counter",
	    "Supervisors that gave up (restart intensity exceeded).", v);
	arb__health_read(node, &hl);
	node_metric(out, "arbor_node_ready", "gauge",
	    "1 while /readyz answers 200: the tree is up and no permanent or "
	    "significant child is down.",
	    arb__health_ready(&hl) ? "1" : "0");
	snprintf(v, sizeof(v), "%zu", hl.ndown);
	node_metric(out, "arbor_node_degraded", "gauge",
	    "Permanent or significant children that are not running (0: not "
	    "degraded).",
	    v);
	arb__health_fini(&hl);
	node_metric(out, "arbor_node_live", "gauge",
	    "1 while every running actor's loop ticks.",
	    arb_node_live(node, NULL, 0) ? "1" : "0");
	snprintf(v, sizeof(v), "%u", h->run->reloads);
	node_metric(out, "arbor_node_reloads_total", "counter",
	    "Reloads of the tree file applied.", v);
	evbuffer_add_printf(out,
	    "# HELP arbor_http_refused_total HTTP requests refused: "
	    "method (not GET or HEAD), host (not a loopback Host header), "
	    "malformed (answered by the HTTP parser itself: a request it "
	    "could not parse, headers too large, a body).\n"
	    "# TYPE arbor_http_refused_total counter\n");
	for (i = 0; i < R_COUNT; i++) {
		evbuffer_add_printf(out,
		    "arbor_http_refused_total{reason=\"%s\"} %llu\n",
		    refusal_names[i], (unsigned long long) h->refused[i]);
	}
	node_stats_metrics(out, node);
	dropped = actor_metrics(out, node, &oom);
	if (oom) {
		evbuffer_free(out);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long) dropped);
	node_metric(out, "arbor_actor_metrics_clashing", "gauge",
	    "Actor series left out of this page: another series of the same "
	    "name has another type.",
	    v);
	send_buf(
	    req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out);
}

// --- Addresses --------------------------------------------------------------

int
arb__http_addr(const char *s, char *host, size_t hostlen, int *portp,
    char *why, size_t whylen)
{
	const char    *colon = strrchr(s, ':');
	const char    *port  = colon != NULL ? colon + 1 : s;
	struct in_addr a;
	long long      p;
	char          *end;

	snprintf(host, hostlen, "%.*s", colon != NULL ? (int) (colon - s) : 9,
	    colon != NULL ? s : "127.0.0.1");
	p = strtoll(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || p < 1 ||
	    p > 65535) {
		snprintf(why, whylen,
		    "\"%s\": expected \"PORT\" or \"127.0.0.1:PORT\" with a "
		    "port from 1 to 65535",
		    s);
		return ARB_EINVAL;
	}
	if (strcmp(host, "localhost") == 0) {
		snprintf(host, hostlen, "127.0.0.1");
	}
	if (inet_pton(AF_INET, host, &a) != 1) {
		snprintf(why, whylen,
		    "\"%s\": the host must be an IPv4 address such as "
		    "127.0.0.1",
		    host);
		return ARB_EINVAL;
	}
	if ((ntohl(a.s_addr) >> 24) != 127) {
		snprintf(why, whylen,
		    "\"%s\": HTTP is served on loopback only (127.0.0.0/8)",
		    host);
		return ARB_EINVAL;
	}
	*portp = (int) p;
	return ARB_OK;
}

// --- Dispatch ---------------------------------------------------------------

// host_ok is true when the Host header is absent (HTTP/1.0) or names
// localhost or a loopback address, with any port.
static bool
host_ok(struct evhttp_request *req)
{
	const char *host = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Host");
	char           name[64];
	const char    *end;
	struct in_addr a;
	size_t         n;

	if (host == NULL) {
		return true;
	}
	if (strncmp(host, "[::1]", 5) == 0) {
		return host[5] == '\0' || host[5] == ':';
	}
	end = strchr(host, ':');
	n = end != NULL ? (size_t) (end - host) : strlen(host);
	if (n == 0 || n >= sizeof(name)) {
		return false;
	}
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0) {
		return true;
	}
	return inet_pton(AF_INET, name, &a) == 1
	    && (ntohl(a.s_addr) >> 24) == 127;
}

// method_name is the name of a method evhttp knows, or NULL.
static const char *
method_name(enum evhttp_cmd_type cmd)
{
	static const struct {
		enum evhttp_cmd_type cmd;
		const char          *name;
	} names[] = { { EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_POST, "POST" },
		{ EVHTTP_REQ_HEAD, "HEAD" }, { EVHTTP_REQ_PUT, "PUT" },
		{ EVHTTP_REQ_DELETE, "DELETE" },
		{ EVHTTP_REQ_OPTIONS, "OPTIONS" },
		{ EVHTTP_REQ_TRACE, "TRACE" },
		{ EVHTTP_REQ_CONNECT, "CONNECT" },
		{ EVHTTP_REQ_PATCH, "PATCH" } };
	size_t i;

	for (i = 0; i < ARB_ARRAY_SIZE(names); i++) {
		if (names[i].cmd == cmd) {
			return names[i].name;
		}
	}
	return NULL;
}

// refuse_request counts and logs why req is refused, with its method,
// target and peer.
static void
refuse_request(arb__http *h, struct evhttp_request *req, refusal why)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *m = method_name(evhttp_request_get_command(req));
	const char *target = evhttp_request_get_uri(req);
	char       *addr = NULL;
	ev_uint16_t port = 0;

	if (c != NULL) {
		evhttp_connection_get_peer(c, &addr, &port);
	}
	refused(h, why, "method=%s target=\"%.100s\" peer=%s:%u",
	    m != NULL ? m : "unknown", target != NULL ? target : "",
	    addr != NULL ? addr : "?", (unsigned) port);
}

// http_out_cb watches what is written to a connection (every added
// byte): evhttp answers some requests itself, without calling http_cb (a
// request line or header it cannot parse: 400; headers over the limit or
// a body: 413; an Expect it does not know: 417), and writes those answers
// like any other, the status line first, in one piece.  A status line of
// 400 or more written while http_cb is not answering is one of those.
static void
http_out_cb(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	arb__http          *h = arg;
	struct evbuffer_ptr at;
	char                line[13];
	int                 code;

	// "HTTP/1.1 400 ": the status line starts a piece of its own.
	if (info->n_added < 13 || h->in_cb
	    || evbuffer_ptr_set(buf, &at, info->orig_size, EVBUFFER_PTR_SET)
	        != 0
	    || evbuffer_copyout_from(buf, &at, line, 13) != 13) {
		return;
	}
	if (memcmp(line, "HTTP/", 5) != 0 || !isdigit((unsigned char) line[5])
	    || line[6] != '.' || !isdigit((unsigned char) line[7])
	    || line[8] != ' ' || !isdigit((unsigned char) line[9])
	    || !isdigit((unsigned char) line[10])
	    || !isdigit((unsigned char) line[11]) || line[12] != ' ') {
		return;
	}
	code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + line[11] - '0';
	if (code >= 400) { // not 100 Continue
		refused(h, R_MALFORMED, "status=%d", code);
	}
}

// http_bev_cb makes each new connection's bufferevent (evhttp's own
// kind) with http_out_cb on its output.  Without it (out of memory) the
// connection is served all the same, uncounted.
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev
	    = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev != NULL) {
		(void) evbuffer_add_cb(
		    bufferevent_get_output(bev), http_out_cb, arg);
	}
	return bev;
}

static void
http_serve(arb__http *h, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char              *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type     cmd = evhttp_request_get_command(req);

	if (!host_ok(req)) {
		refuse_request(h, req, R_HOST);
		reply_text(req, 403, "Forbidden",
		    "forbidden: this endpoint answers loopback host names "
		    "only\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		refuse_request(h, req, R_METHOD);
		if (method_name(cmd) != NULL) {
			evhttp_add_header(
			    evhttp_request_get_output_headers(req), "Allow",
			    "GET, HEAD");
			reply_text(req, 405, "Method Not Allowed",
			    "method not allowed: GET and HEAD only\n");
		} else {
			reply_text(req, 501, "Not Implemented",
			    "method not implemented: GET and HEAD only\n");
		}
		return;
	}
	if (path == NULL || path[0] == '\0') {
		path = "/";
	}
	if (strcmp(path, "/healthz") == 0) {
		get_healthz(h, req);
	} else if (strcmp(path, "/readyz") == 0) {
		get_readyz(h, req);
	} else if (strcmp(path, "/metrics") == 0) {
		get_metrics(h, req);
	} else if (strcmp(path, "/api/tree") == 0) {
		get_tree(h, req);
	} else if (strcmp(path, "/") == 0
	    || strcmp(path, "/index.html") == 0) {
		reply(req, 200, "OK", "text/html; charset=utf-8",
		    (const char *) arb__page_html, arb__page_html_len);
	} else {
		reply_text(req, 404, "Not Found",
		    "not found: try /, /healthz, /readyz, /metrics or "
		    "/api/tree\n");
	}
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	arb__http *h = arg;

	h->in_cb = true;
	http_serve(h, req);
	h->in_cb = false;
}

// --- Start and stop ---------------------------------------------------------

int
arb__http_start(arb__serve *run)
{
	arb__http            *h;
	struct evconnlistener *lev;
	struct sockaddr_in     sin;

	if (run->http_port == 0) {
		return 0;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) run->http_port);
	if (inet_pton(AF_INET, run->http_host, &sin.sin_addr) != 1) {
		arb_log(NULL, ARB_LOG_ERROR, "http_unavailable",
		    "addr=%s:%d reason=\"not an IPv4 address\"",
		    run->http_host, run->http_port);
		return ARB_EXIT_CONFIG;
	}
	h = arb__xalloc(sizeof(*h));
	h->run = run;
	if ((h->http = evhttp_new(arb_node_base(run->node))) == NULL) {
		arb_log(NULL, ARB_LOG_ERROR, "http_unavailable",
		    "reason=\"evhttp\"");
		free(h);
		return ARB_EXIT_SOFTWARE;
	}
	// Our own listener, so that its fd and every accepted one are
	// close-on-exec: process actors must not inherit them.
	lev = evconnlistener_new_bind(arb_node_base(run->node), NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    64, (struct sockaddr *) &sin, sizeof(sin));
	if (lev == NULL) {
		arb_log(NULL, ARB_LOG_ERROR, "http_unavailable",
		    "addr=%s:%d reason=\"%s\"", run->http_host, run->http_port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		evhttp_free(h->http);
		free(h);
		return ARB_EXIT_SOFTWARE;
	}
	if (evhttp_bind_listener(h->http, lev) == NULL) {
		arb_log(NULL, ARB_LOG_ERROR, "http_unavailable",
		    "reason=\"evhttp\"");
		evconnlistener_free(lev);
		evhttp_free(h->http);
		free(h);
		return ARB_EXIT_SOFTWARE;
	}
	// Every method, even one evhttp does not know (a bit of its own,
	// above the named ones), reaches http_cb: the refusals are ours to
	// count.
	evhttp_set_allowed_methods(h->http, 0xffff);
	evhttp_set_bevcb(h->http, http_bev_cb, h);
	evhttp_set_timeout(h->http, 10);
	evhttp_set_max_headers_size(h->http, 16 * 1024);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_gencb(h->http, http_cb, h);
	arb_log(NULL, ARB_LOG_INFO, "http_listen", "addr=%s:%d",
	    run->http_host, run->http_port);
	run->http = h;
	return 0;
}

void
arb__http_stop(arb__serve *run)
{
	arb__http *h = run->http;

	if (h == NULL) {
		return;
	}
	evhttp_free(h->http); // frees the listener and open connections
	if (h->unsaid > 0) {
		// The refusals since the last line would be said no more.
		arb_log(NULL, ARB_LOG_INFO, "http_refused",
		    "count=%llu (since the line before; the node is stopping)",
		    (unsigned long long) h->unsaid);
	}
	free(h);
	run->http = NULL;
}
