// SPDX-License-Identifier: MIT
// mqtt_actor.h -- the `mqtt` actor type's ops (mqtt_actor.c), for the
// module's arbor_plugin_init and for programs that register the type
// themselves (tests, the bench).  Its messages are in mqtt_msgs.h.

#ifndef MQTT_ACTOR_H
#define MQTT_ACTOR_H

#include <arbor/actor.h>

extern const arb_actor_ops mqtt_actor_ops;

#endif // MQTT_ACTOR_H
