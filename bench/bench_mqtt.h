// SPDX-License-Identifier: MIT
// bench_mqtt.h -- the mqtt actor's arbor-bench cases (bench_mqtt.c):
// mqtt_bare (the floor: a bare libmosquitto QoS 1 publish loop),
// mqtt_thread and mqtt_process (QoS 1 publishes through the mqtt actor),
// each against its own mosquitto on loopback.

#ifndef ARBOR_BENCH_MQTT_H
#define ARBOR_BENCH_MQTT_H

// bench_mqtt_register registers the actor types the cases use; call it
// before arb_actor_main (process actors re-execute the bench).
void bench_mqtt_register(void);

// bench_mqtt_case runs case `name` in this process and returns its exit
// code, or -1 when name is not one of the mqtt cases.
int bench_mqtt_case(const char *name);

#endif // ARBOR_BENCH_MQTT_H
