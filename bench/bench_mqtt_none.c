// SPDX-License-Identifier: MIT
// bench_mqtt_none.c -- bench_mqtt.h when the mqtt actor is not built
// (no libmosquitto, -DARB_ACTOR_MQTT=OFF): there are no mqtt cases.

#include "bench_mqtt.h"

void
bench_mqtt_register(void)
{
}

int
bench_mqtt_case(const char *name)
{
	(void) name;
	return -1;
}
