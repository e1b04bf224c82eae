// SPDX-License-Identifier: MIT
// greeter.c -- an actor module for the arbor program: the actor type
// "greeter", written with the actor kit (docs/actors.md).
//
// Built as a shared object (arbor_add_actor in CMakeLists.txt) and named
// under `plugins:` in a tree file, it makes "greeter" usable as
// `type: greeter` in thread and process isolation.  The arbor program
// calls arbor_plugin_init once per process (the node and every process
// actor), which registers the type.
//
// A greeter reads its settings from its `config:`:
//     config: { greeting: "hello", excited: true, max_len: 64 }
// It answers every request with "<greeting>, pid <sender>" and greets
// back whoever sends it a plain message.  It logs with arb_log, keeps
// metrics (on /metrics and in `arborctl status`): a counter of greetings
// labelled with the greeting, a gauge of the last answer's length and a
// histogram of answer lengths; and its check hook lets `arbor check`
// report a bad config with FILE:LINE:COLUMN before anything runs.

#include <arbor/actor.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct greeter {
	char        greeting[64];
	bool        excited;
	int64_t     max_len;   // longest answer, in bytes
	arb_metric *greetings; // greeter_greetings_total{greeting="..."}
	arb_metric *last_len;  // greeter_last_length_bytes
	arb_metric *lengths;   // greeter_answer_bytes (histogram)
} greeter;

// greeter_read reads the settings: the same code serves the check hook
// (nothing runs yet) and init.  Every problem is recorded by the reader,
// with its key, so one pass reports them all.
static void
greeter_read(arb_cfg *cfg, greeter *g)
{
	static const char *const keys[]
	    = { "greeting", "excited", "max_len", NULL };
	const char *s;

	snprintf(g->greeting, sizeof(g->greeting), "hello");
	g->max_len = 128;
	arb_cfg_keys(cfg, keys);
	if (arb_cfg_str(cfg, "greeting", sizeof(g->greeting) - 1, &s)
	    == ARB_OK) {
		snprintf(g->greeting, sizeof(g->greeting), "%s", s);
	}
	arb_cfg_bool(cfg, "excited", &g->excited);
	arb_cfg_int(cfg, "max_len", 16, 1024, &g->max_len);
}

static void
greeter_check(arb_cfg *cfg)
{
	greeter g;

	greeter_read(cfg, &g);
}

static int
greeter_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	static const double bounds[] = { 16, 32, 64, 128 };
	greeter            *g;
	arb_cfg            *cfg;
	char                label[80];
	int                 rv;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&cfg, arg, len)) != ARB_OK) {
		free(g);
		return rv;
	}
	greeter_read(cfg, g);
	// Logs each problem; the start fails with the first one as reason.
	rv = arb_cfg_report(ctx, cfg);
	arb_cfg_free(cfg);
	if (rv != ARB_OK) {
		free(g);
		return rv;
	}
	// A failed declaration leaves NULL, which the updates ignore.
	snprintf(label, sizeof(label), "greeting=%s", g->greeting);
	arb_metric_counter(ctx, "greeter_greetings_total", label,
	    "Greetings sent, by greeting.", &g->greetings);
	arb_metric_gauge(ctx, "greeter_last_length_bytes", NULL,
	    "Length of the last answer.", &g->last_len);
	arb_metric_histogram(ctx, "greeter_answer_bytes", NULL,
	    "Lengths of the answers.", bounds, 4, &g->lengths);
	arb_log(ctx, ARB_LOG_INFO, "init", "ospid=%d greeting=%s",
	    (int) getpid(), g->greeting);
	*statep = g;
	return ARB_OK;
}

static void
greeter_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	greeter        *g = state;
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            text[1100];
	int             n;

	if (arb_msg_tag(msg) >= ARB_TAG_SYSTEM) {
		return;
	}
	n = snprintf(text, (size_t) g->max_len + 1, "%s, pid %llu%s",
	    g->greeting, (unsigned long long) arb_msg_from(msg).id,
	    g->excited ? "!" : "");
	if (n > g->max_len) {
		n = (int) g->max_len;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str_with_body(&pk, text, (size_t) n);
	if (arb_msg_is_request(msg)) {
		arb_reply(ctx, msg, arb_msg_tag(msg), sb.data, sb.size);
	} else {
		arb_send_copy(ctx, arb_msg_from(msg), arb_msg_tag(msg),
		    sb.data, sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	arb_metric_add(g->greetings, 1);
	arb_metric_set(g->last_len, n);
	arb_metric_observe(g->lengths, n);
	arb_log(ctx, ARB_LOG_DEBUG, "greeted", "len=%d", n);
}

static void
greeter_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	char reason[160];

	arb_exit_format(why, reason, sizeof(reason));
	arb_log(ctx, ARB_LOG_INFO, "terminate", "ospid=%d reason=%s",
	    (int) getpid(), reason);
	free(state);
}

static const arb_actor_ops greeter_ops = {
	.type = "greeter",
	.init = greeter_init,
	.handle = greeter_handle,
	.terminate = greeter_terminate,
	.check = greeter_check,
};

// arbor_plugin_init (declared in arbor/actor.h) is the one symbol the
// arbor program looks for.  It registers this module's actor types and
// returns 0, or an error code that makes `arbor check` / `arbor run`
// reject the tree file.
int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&greeter_ops);
}
