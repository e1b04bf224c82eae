// SPDX-License-Identifier: MIT
// checkdie_actor.c -- an actor module for tests: the type `checkdie`,
// whose check hook aborts when its config says die: true (a crash in a
// type's module while a tree file is read: src/actor/typecheck.c) and
// otherwise reads its one key.  Built as tests/actors/checkdie.so, found
// through $ARBOR_ACTOR_PATH (60_arbor_check).

#include <arbor/actor.h>

#include <stdbool.h>
#include <stdlib.h>

static void
checkdie_check(arb_cfg *cfg)
{
	static const char *const keys[] = { "die", NULL };
	bool                     die = false;

	arb_cfg_keys(cfg, keys);
	arb_cfg_bool(cfg, "die", &die);
	if (die) {
		abort();
	}
}

static int
checkdie_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) arg;
	(void) len;
	*statep = NULL;
	return ARB_OK;
}

static const arb_actor_ops checkdie_ops
    = { .type = "checkdie", .init = checkdie_init, .check = checkdie_check };

// arbor_plugin_init is declared (exported) in arbor/actor.h.
int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&checkdie_ops);
}
