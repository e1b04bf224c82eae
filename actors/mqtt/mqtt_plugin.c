// SPDX-License-Identifier: MIT
// mqtt_plugin.c -- the entry point of the mqtt module (mqtt.so): registers
// the `mqtt` actor type when arbor loads the module.

#include "mqtt_actor.h"

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&mqtt_actor_ops);
}
