// SPDX-License-Identifier: MIT
// mqtt_config.h -- the settings of an `mqtt` actor (docs/actors.md,
// section "mqtt"), read from its config with arb_cfg by the one function
// that both the check hook and init call.  Thread: the caller's.

#ifndef MQTT_CONFIG_H
#define MQTT_CONFIG_H

#include "mqtt_topic.h"

#include <arbor/actor.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_SUBS_MAX 32
#define MQTT_RX_WINDOW_MAX 4096 // receive_window (the MQTT_ACK tracker's ring)
#define MQTT_PATH_MAX 255 // a destination path, a file name
#define MQTT_NAME_MAX 255 // host, client id, user name, password

enum mqtt_overflow { MQTT_OVERFLOW_REJECT = 0, MQTT_OVERFLOW_DROP };

typedef struct mqtt_sub_cfg {
	char filter[MQTT_TOPIC_MAX + 1];
	int  qos;
	char to[MQTT_PATH_MAX + 1]; // destination: a child path or a name
	bool ack;                   // the destination sends MQTT_ACK
} mqtt_sub_cfg;

typedef struct mqtt_config {
	char         host[MQTT_NAME_MAX + 1];
	int          port;
	char         client_id[MQTT_NAME_MAX + 1];
	bool         clean_session;
	int          protocol; // 4 (3.1.1) or 5
	int          keepalive_s;
	uint32_t     session_expiry_s;
	bool         has_user, has_pass;
	char         username[MQTT_NAME_MAX + 1];
	char         password[MQTT_NAME_MAX + 1];
	bool         tls;
	char         tls_ca[MQTT_PATH_MAX + 1]; // "" = the system's CAs
	char         tls_cert[MQTT_PATH_MAX + 1];
	char         tls_key[MQTT_PATH_MAX + 1];
	char         tls_name[MQTT_NAME_MAX + 1]; // "" = host
	char         resolver[64];                // "" = /etc/resolv.conf
	int          connect_timeout_ms;
	int          backoff_min_ms, backoff_max_ms, stable_ms;
	unsigned     refusals;
	int          puback_timeout_ms;
	int          max_inflight;
	int          overflow; // enum mqtt_overflow
	int          drain_ms; // stop: wait this long for PUBACKs in flight
	// received messages forwarded and not yet confirmed (MQTT_ACK) at
	// most: reading from the broker stops there (0: no limit)
	int          receive_window;
	bool         has_topic;
	mqtt_tpl     topic;
	int          pub_qos;
	bool         pub_retain;
	size_t       nsubs;
	mqtt_sub_cfg subs[MQTT_SUBS_MAX];
} mqtt_config;

// mqtt_config_read fills *c (defaults first) from cfg, recording every
// problem in cfg.  c is large: give it static or heap storage.
void mqtt_config_read(arb_cfg *cfg, mqtt_config *c);

#endif // MQTT_CONFIG_H
