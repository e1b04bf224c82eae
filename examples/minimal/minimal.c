#include <arbor/actor.h>
#include <stdio.h>
#include <stdlib.h>

// An actor: init says READY, handle prints what arrives.
static int greeter_init(arb_ctx *ctx, void **st, const void *a, size_t n)
{ (void) a; (void) n; *st = NULL; printf("%s up\n", arb_path(ctx)); return ARB_OK; }
static void greeter_handle(arb_ctx *ctx, void *st, const arb_msg *m)
{ (void) ctx; (void) st; printf("got tag %u\n", (unsigned) arb_msg_tag(m)); }
static const arb_actor_ops greeter = { .type = "greeter",
	.init = greeter_init, .handle = greeter_handle };

int main(int argc, char **argv)
{
	arb_actor_type_register(&greeter);
	arb_actor_main(argc, argv); // serves ARB_PROCESS children
	const arb_child_spec kids[] = {
		{ .name = "in_a_thread", .isolation = ARB_THREAD, .type = "greeter" },
		{ .name = "in_a_process", .isolation = ARB_PROCESS, .type = "greeter",
		  .restart = ARB_TRANSIENT, .shutdown_ms = 2000 },
	};
	const arb_sup_spec root = { .strategy = ARB_ONE_FOR_ONE,
		.children = kids, .nchildren = 2 }; // OTP defaults: 1 restart / 5 s
	arb_node *node; int code;
	arb_node_open(&node, NULL);
	// arborctl, systemd's notify/watchdog, and /metrics when
	// GREETER_HTTP names a port ("8080"); none of it is needed to run.
	arb_node_serve(node, &(arb_serve_opts) { .http = getenv("GREETER_HTTP") });
	arb_node_run(node, &root, &code); // until SIGTERM/SIGINT or give-up
	arb_node_close(node);
	return code; // 0 clean stop, 70 gave up, 78 bad spec
}
