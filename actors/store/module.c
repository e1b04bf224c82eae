// SPDX-License-Identifier: MIT
// module.c -- the module store.so: registers the actor type "store"
// (store_actor.c) in every process that loads it.

#include <arbor/actor.h>

const arb_actor_ops *store_actor_ops(void);

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(store_actor_ops());
}
