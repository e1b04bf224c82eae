// SPDX-License-Identifier: MIT
// treejson.c -- the live supervision tree as one JSON document, built
// from arb_node_walk: the same bytes answer `arborctl status --json`
// (through the control socket) and GET /api/tree (HTTP), so the two can
// never disagree.
//
// The walk is depth first in start order and gives each entry's depth;
// the document nests children inside their supervisor, so the builder
// keeps the depths of the entries still open.  Every entry's own fields
// come before its "children", which the page and the tests rely on.
// Thread: node.

#include "treejson.h"

#include "health.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TREE_DEPTH_MAX 64

// --- Names ------------------------------------------------------------------

const char *
arb__isolation_word(arb_isolation i)
{
	switch (i) {
	case ARB_THREAD:
		return "thread";
	case ARB_PROCESS:
		return "process";
	case ARB_EXEC:
		return "exec";
	case ARB_SUPERVISOR:
		return "supervisor";
	}
	return "unknown";
}

const char *
arb__restart_word(arb_restart r)
{
	switch (r) {
	case ARB_PERMANENT:
		return "permanent";
	case ARB_TRANSIENT:
		return "transient";
	case ARB_TEMPORARY:
		return "temporary";
	}
	return "unknown";
}

const char *
arb__strategy_word(arb_strategy s)
{
	switch (s) {
	case ARB_ONE_FOR_ONE:
		return "one_for_one";
	case ARB_ONE_FOR_ALL:
		return "one_for_all";
	case ARB_REST_FOR_ONE:
		return "rest_for_one";
	case ARB_SIMPLE_ONE_FOR_ONE:
		return "simple_one_for_one";
	}
	return "unknown";
}

// --- The tree ---------------------------------------------------------------

const char *
arb__metric_type_word(arb_metric_type t)
{
	switch (t) {
	case ARB_METRIC_COUNTER:
		return "counter";
	case ARB_METRIC_GAUGE:
		return "gauge";
	case ARB_METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

// json_num appends v as a JSON number (null for NaN and infinities,
// which JSON cannot say).
static void
json_num(arb__text *b, double v)
{
	if (v != v || v - v != 0) {
		arb__text_add(b, "null", 4);
	} else {
		arb__text_printf(b, "%.15g", v);
	}
}

// metrics_json appends the actor's own metrics: "metrics":[{...}].
static void
metrics_json(arb__text *b, const arb_child_info *in)
{
	size_t i, k;

	arb__text_add(b, ",\"metrics\":[", 12);
	for (i = 0; i < in->nmetrics; i++) {
		const arb_metric_info *m = &in->metrics[i];

		arb__text_add(b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
		arb__text_json_str(b, m->name);
		arb__text_printf(b, ",\"type\":\"%s\",\"help\":",
		    arb__metric_type_word(m->type));
		arb__text_json_str(b, m->help);
		arb__text_add(b, ",\"label\":", 9);
		if (m->label_key != NULL) {
			arb__text_add(b, "{", 1);
			arb__text_json_str(b, m->label_key);
			arb__text_add(b, ":", 1);
			arb__text_json_str(b, m->label_value);
			arb__text_add(b, "}", 1);
		} else {
			arb__text_add(b, "null", 4);
		}
		arb__text_add(b, ",\"value\":", 9);
		json_num(b, m->value);
		if (m->type == ARB_METRIC_HISTOGRAM) {
			arb__text_printf(b, ",\"count\":%llu,\"buckets\":[",
			    (unsigned long long) m->count);
			for (k = 0; k <= m->nbounds; k++) {
				arb__text_add(b, k ? ",[" : "[", k ? 2 : 1);
				if (k < m->nbounds) {
					json_num(b, m->bounds[k]);
				} else {
					arb__text_add(b, "\"+Inf\"", 6);
				}
				arb__text_printf(b, ",%llu]",
				    (unsigned long long) m->buckets[k]);
			}
			arb__text_add(b, "]", 1);
		}
		arb__text_add(b, "}", 1);
	}
	arb__text_add(b, "]", 1);
}

typedef struct tree_walk {
	arb__text *b;
	int        open[TREE_DEPTH_MAX]; // depths of entries still open
	int        nopen;
	bool       first; // the next entry is the first of its array
} tree_walk;

static void
tree_close_to(tree_walk *w, int depth)
{
	while (w->nopen > 0 && w->open[w->nopen - 1] >= depth) {
		arb__text_add(w->b, "]}", 2);
		w->nopen--;
		w->first = false;
	}
}

static void
tree_entry(const arb_child_info *in, void *arg)
{
	tree_walk *w = arg;
	arb__text *b = w->b;
	char       text[256];
	int        k;

	tree_close_to(w, in->depth);
	if (w->nopen >= TREE_DEPTH_MAX) {
		return; // deeper than any tree file can nest
	}
	if (w->nopen > 0 && !w->first) {
		arb__text_add(b, ",", 1);
	}
	arb__text_add(b, "{\"path\":", 8);
	arb__text_json_str(b, in->path);
	arb__text_add(b, ",\"name\":", 8);
	arb__text_json_str(b, in->name);
	arb__text_add(b, ",\"type\":", 8);
	arb__text_json_str(b, in->type);
	arb__text_printf(b,
	    ",\"isolation\":\"%s\",\"restart\":\"%s\",\"state\":\"%s\"",
	    arb__isolation_word(in->isolation),
	    arb__restart_word(in->restart), arb_child_state_name(in->state));
	if (in->node != NULL) { // a remote child: the node it runs on
		arb__text_add(b, ",\"node\":", 8);
		arb__text_json_str(b, in->node);
	}
	if (in->isolation == ARB_SUPERVISOR) {
		arb__text_printf(b, ",\"strategy\":\"%s\"",
		    arb__strategy_word(in->strategy));
	}
	arb__text_printf(b,
	    ",\"depth\":%d,\"ospid\":%d,\"pid\":\"%llu\",\"uptime_ms\":%lld,"
	    "\"restarts\":%u,\"next_attempt_in_ms\":%lld",
	    in->depth, in->ospid, (unsigned long long) in->pid.id,
	    (long long) in->uptime_ms, in->restarts,
	    (long long) (in->state == ARB_STATE_RESTARTING
	            ? in->next_attempt_in_ms
	            : 0));
	arb__text_add(b, ",\"last_exit\":", 13);
	if (in->has_last_exit) {
		arb_exit_format(&in->last_exit, text, sizeof(text));
		arb__text_json_str(b, text);
		arb__text_printf(b, ",\"last_exit_kind\":\"%s\"",
		    arb_exit_kind_name(in->last_exit.kind));
	} else {
		arb__text_add(b, "null,\"last_exit_kind\":null", 26);
	}
	arb__text_printf(b, ",\"live\":%s,\"heartbeat_age_ms\":%lld",
	    in->live ? "true" : "false", (long long) in->heartbeat_age_ms);
	arb__text_add(b, ",\"exits\":{", 10);
	for (k = 0; k <= ARB_EXIT_NOPROC; k++) {
		arb__text_printf(b, "%s\"%s\":%llu", k ? "," : "",
		    arb_exit_kind_name((arb_exit_kind) k),
		    (unsigned long long) in->exits[k]);
	}
	arb__text_printf(b,
	    "},\"stats\":{\"msgs_in\":%llu,\"msgs_out\":%llu,\"dead_letters\":"
	    "%llu,\"rejected\":%llu,\"send_eagain\":%llu,"
	    "\"late_replies\":%llu,\"batches_in\":%llu,\"batches_out\":%llu,"
	    "\"published\":%llu,\"unheard\":%llu}",
	    (unsigned long long) in->stats.msgs_in,
	    (unsigned long long) in->stats.msgs_out,
	    (unsigned long long) in->stats.dead_letters,
	    (unsigned long long) in->stats.rejected,
	    (unsigned long long) in->stats.send_eagain,
	    (unsigned long long) in->stats.late_replies,
	    (unsigned long long) in->stats.batches_in,
	    (unsigned long long) in->stats.batches_out,
	    (unsigned long long) in->stats.published,
	    (unsigned long long) in->stats.unheard);
	metrics_json(b, in);
	arb__text_add(b, ",\"children\":[", 13);
	w->open[w->nopen++] = in->depth;
	w->first = true;
}

// peers_json appends ,"listen":...,"peers":[...]: where the node accepts
// peers (NULL: nowhere) and each peer's link as arb_node_peers reports
// it (docs/operations.md, "Peers").
static void
peers_json(arb__serve *run, arb__text *b)
{
	arb_peer_info peers[ARB_NODE_PEERS_MAX];
	size_t        i, n;

	arb__text_add(b, ",\"listen\":", 10);
	arb__text_json_str(b, run->cfg != NULL ? run->cfg->listen : NULL);
	n = arb_node_peers(run->node, peers, ARB_NODE_PEERS_MAX);
	if (n > ARB_NODE_PEERS_MAX) {
		n = ARB_NODE_PEERS_MAX;
	}
	arb__text_add(b, ",\"peers\":[", 10);
	for (i = 0; i < n; i++) {
		if (i > 0) {
			arb__text_add(b, ",", 1);
		}
		arb__text_add(b, "{\"name\":", 8);
		arb__text_json_str(b, peers[i].name);
		arb__text_add(b, ",\"url\":", 7);
		arb__text_json_str(b, peers[i].url);
		arb__text_printf(b,
		    ",\"state\":\"%s\",\"incarnation\":%u,\"rtt_us\":%lld,"
		    "\"last_heartbeat_ms\":%lld,\"ups\":%llu,\"downs\":%llu,"
		    "\"dialled\":%s,\"accepted\":%u,\"last_refusal\":",
		    arb_peer_state_name(peers[i].state),
		    (unsigned) peers[i].incarnation,
		    (long long) peers[i].rtt_us,
		    (long long) peers[i].last_hb_ms,
		    (unsigned long long) peers[i].ups,
		    (unsigned long long) peers[i].downs,
		    peers[i].dialled ? "true" : "false",
		    (unsigned) peers[i].accepted);
		arb__text_json_str(b, peers[i].last_refusal);
		arb__text_printf(b, ",\"last_refusal_ms\":%lld}",
		    (long long) peers[i].last_refusal_ms);
	}
	arb__text_add(b, "]", 1);
}

// agent_runs_json appends ,"runs":[...]: the children this node's agent
// runs for other nodes' supervisors (at most 256 listed).
static void
agent_runs_json(arb__serve *run, arb__text *b)
{
	enum { MAX = 256 };
	arb_agent_child *v = calloc(MAX, sizeof(*v));
	size_t           i, n = v != NULL
	              ? arb_node_agent_children(run->node, v, MAX)
	              : 0;

	arb__text_add(b, ",\"runs\":[", 9);
	for (i = 0; i < n && i < MAX; i++) {
		if (i > 0) {
			arb__text_add(b, ",", 1);
		}
		arb__text_add(b, "{\"path\":", 8);
		arb__text_json_str(b, v[i].path);
		arb__text_add(b, ",\"sup_node\":", 12);
		arb__text_json_str(b, v[i].sup_node);
		arb__text_add(b, ",\"child\":", 9);
		arb__text_json_str(b, v[i].child);
		arb__text_printf(b,
		    ",\"generation\":%u,\"state\":\"%s\",\"orphan\":%s}",
		    (unsigned) v[i].generation, v[i].state,
		    v[i].orphan ? "true" : "false");
	}
	arb__text_add(b, "]", 1);
	free(v);
}

void
arb__live_json(arb__serve *run, arb__text *b)
{
	tree_walk      w = { .b = b, .nopen = 0, .first = true };
	arb__health    h;
	arb_node_stats st;
	char        stuck[256] = "";
	bool        live;
	size_t      i;

	live = arb_node_live(run->node, stuck, sizeof(stuck));
	arb__health_read(run->node, &h);
	arb__text_add(b, "{\"node\":", 8);
	arb__text_json_str(b, run->name);
	arb__text_printf(b,
	    ",\"pid\":%d,\"version\":\"%s\",\"uptime_ms\":%lld,"
	    "\"ready\":%s,\"live\":%s,\"stuck\":",
	    (int) getpid(), arb_version(),
	    (long long) arb_node_uptime_ms(run->node),
	    arb__health_ready(&h) ? "true" : "false", live ? "true" : "false");
	arb__text_json_str(b, live ? NULL : stuck);
	arb__text_add(b, ",\"degraded\":[", 13);
	for (i = 0; i < h.ndown; i++) {
		if (i > 0) {
			arb__text_add(b, ",", 1);
		}
		arb__text_json_str(b, h.down[i].path);
	}
	arb__text_add(b, "]", 1);
	arb__health_fini(&h);
	arb_node_stats_get(run->node, &st);
	arb__text_printf(b,
	    ",\"give_ups\":%llu,\"reloads\":%u,\"log_dropped\":%llu,"
	    "\"node_dead_letters\":%llu,"
	    "\"links_refused\":%llu,\"link_auth_failed\":%llu,"
	    "\"link_hb_timeouts\":%llu,\"link_backoff_refused\":%llu,"
	    "\"link_backoff_evicted\":%llu,\"link_unproven_refused\":%llu,"
	    "\"link_replaced\":%llu,"
	    "\"link_closed_with_peer\":%llu,\"link_adopted\":%llu,"
	    "\"link_merged\":%llu,\"link_forged\":%llu,"
	    "\"agent\":{\"children\":%llu,"
	    "\"orphans_stopped\":%llu,\"fenced\":%llu,"
	    "\"reports_pending\":%llu,\"reports_resent\":%llu,"
	    "\"reports_stale\":%llu,\"reports_dropped\":%llu,"
	    "\"orphans_reclaimed\":%llu,\"remote_lost_dropped\":%llu",
	    (unsigned long long) arb_node_give_ups(run->node), run->reloads,
	    (unsigned long long) st.log_dropped,
	    (unsigned long long) st.dead_letters,
	    (unsigned long long) st.links_refused,
	    (unsigned long long) st.link_auth_failed,
	    (unsigned long long) st.link_hb_timeouts,
	    (unsigned long long) st.link_backoff_refused,
	    (unsigned long long) st.link_backoff_evicted,
	    (unsigned long long) st.link_unproven_refused,
	    (unsigned long long) st.link_replaced,
	    (unsigned long long) st.link_closed_with_peer,
	    (unsigned long long) st.link_adopted,
	    (unsigned long long) st.link_merged,
	    (unsigned long long) st.link_forged,
	    (unsigned long long) st.agent_children,
	    (unsigned long long) st.agent_orphans_stopped,
	    (unsigned long long) st.agent_fenced,
	    (unsigned long long) st.agent_reports_pending,
	    (unsigned long long) st.agent_reports_resent,
	    (unsigned long long) st.agent_reports_stale,
	    (unsigned long long) st.agent_reports_dropped,
	    (unsigned long long) st.agent_orphans_reclaimed,
	    (unsigned long long) st.remote_lost_dropped);
	agent_runs_json(run, b);
	arb__text_add(b, "},\"file\":", 9);
	arb__text_json_str(b, run->file);
	peers_json(run, b);
	arb__text_add(b, ",\"tree\":", 8);
	arb_node_walk(run->node, tree_entry, &w);
	if (w.nopen == 0 && w.first) {
		arb__text_add(b, "null", 4); // the tree is not there (yet)
	}
	tree_close_to(&w, 0);
	arb__text_add(b, "}", 1);
}
