// SPDX-License-Identifier: MIT
// greeter.c -- a plugin for the arbor program: the actor type "greeter".
//
// Built as a shared object and named under `plugins:` in a tree file,
// it makes "greeter" usable as `type: greeter` in thread and process
// isolation.  The arbor program calls arbor_plugin_init once per process
// (the node and every process actor), which registers the type.
//
// A greeter reads its settings from its `config:` (one msgpack map):
//     config: { greeting: "hello", excited: true }
// It answers every request with "<greeting>, <sender path or pid>" and
// greets back whoever sends it a plain message.  It prints one line per
// event to stderr ("greeter path=root/g event=init ...").

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct greeter {
	char greeting[64];
	bool excited;
	int  greeted;
} greeter;

// config_read fills g from the msgpack map in arg (len 0: defaults).
static int
config_read(greeter *g, const void *arg, size_t len)
{
	msgpack_unpacked u;
	size_t           off = 0;
	uint32_t         i;
	int              rv = ARB_OK;

	snprintf(g->greeting, sizeof(g->greeting), "hello");
	if (len == 0) {
		return ARB_OK;
	}
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, arg, len, &off) != MSGPACK_UNPACK_SUCCESS
	    || u.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&u);
		return ARB_EINVAL;
	}
	for (i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object *k = &u.data.via.map.ptr[i].key;
		const msgpack_object *v = &u.data.via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR) {
			rv = ARB_EINVAL;
		} else if (k->via.str.size == 8
		    && memcmp(k->via.str.ptr, "greeting", 8) == 0
		    && v->type == MSGPACK_OBJECT_STR
		    && v->via.str.size < sizeof(g->greeting)) {
			memcpy(g->greeting, v->via.str.ptr, v->via.str.size);
			g->greeting[v->via.str.size] = '\0';
		} else if (k->via.str.size == 7
		    && memcmp(k->via.str.ptr, "excited", 7) == 0
		    && v->type == MSGPACK_OBJECT_BOOLEAN) {
			g->excited = v->via.boolean;
		} else {
			rv = ARB_EINVAL; // unknown key or wrong type
		}
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

static int
greeter_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	greeter *g = calloc(1, sizeof(*g));
	int      rv;

	if (g == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = config_read(g, arg, len)) != ARB_OK) {
		fprintf(stderr, "greeter path=%s event=bad_config\n",
		    arb_path(ctx));
		free(g);
		return rv; // a start failure: error{code=2} (ARB_EINVAL)
	}
	fprintf(stderr, "greeter path=%s event=init ospid=%d greeting=%s\n",
	    arb_path(ctx), (int) getpid(), g->greeting);
	*statep = g;
	return ARB_OK;
}

static void
greeter_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	greeter        *g = state;
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            text[128];
	int             n;

	if (arb_msg_tag(msg) >= ARB_TAG_SYSTEM) {
		return;
	}
	n = snprintf(text, sizeof(text), "%s, pid %llu%s", g->greeting,
	    (unsigned long long) arb_msg_from(msg).id, g->excited ? "!" : "");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str(&pk, (size_t) n);
	msgpack_pack_str_body(&pk, text, (size_t) n);
	if (arb_msg_is_request(msg)) {
		arb_reply(ctx, msg, arb_msg_tag(msg), sb.data, sb.size);
	} else {
		arb_send_copy(ctx, arb_msg_from(msg), arb_msg_tag(msg),
		    sb.data, sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	fprintf(stderr, "greeter path=%s event=greeted ospid=%d count=%d\n",
	    arb_path(ctx), (int) getpid(), ++g->greeted);
}

static void
greeter_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) why;
	fprintf(stderr, "greeter path=%s event=terminate ospid=%d\n",
	    arb_path(ctx), (int) getpid());
	free(state);
}

static const arb_actor_ops greeter_ops = {
	.type = "greeter",
	.init = greeter_init,
	.handle = greeter_handle,
	.terminate = greeter_terminate,
};

// arbor_plugin_init is the one symbol the arbor program looks for.  It
// registers this plugin's actor types and returns 0, or an error code
// that makes `arbor check` / `arbor run` reject the tree file.
__attribute__((visibility("default"))) int arbor_plugin_init(void);

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&greeter_ops);
}
