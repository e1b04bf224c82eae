// SPDX-License-Identifier: MIT
// mqtt_config.c -- reading an `mqtt` actor's config (mqtt_config.h):
// defaults, then every key, recording each problem with arb_cfg so that
// `arbor check` reports them all at their YAML positions and init, which
// runs the same code, cannot fail on a config that passed.
// Thread: the caller's.

#include "mqtt_config.h"

#include "mqtt_link.h"

#include <event2/util.h>
#include <stdio.h>
#include <string.h>

static void
cfg_copy(arb_cfg *cfg, const char *key, size_t max, char *out, bool *set)
{
	const char *s;

	if (arb_cfg_str(cfg, key, max, &s) == ARB_OK) {
		snprintf(out, max + 1, "%s", s);
		if (set != NULL) {
			*set = true;
		}
	}
}

static void
cfg_int(arb_cfg *cfg, const char *key, int64_t lo, int64_t hi, int *out)
{
	int64_t v;

	if (arb_cfg_int(cfg, key, lo, hi, &v) == ARB_OK) {
		*out = (int) v;
	}
}

static void
cfg_dur(arb_cfg *cfg, const char *key, int64_t lo, int64_t hi, int *out)
{
	int64_t v;

	if (arb_cfg_dur(cfg, key, lo, hi, &v) == ARB_OK) {
		*out = (int) v;
	}
}

static void
cfg_qos(arb_cfg *cfg, const char *key, int *out)
{
	cfg_int(cfg, key, 0, 1, out);
}

static void
cfg_protocol(arb_cfg *cfg, mqtt_config *c)
{
	const char *s;
	int64_t     v;

	switch (arb_cfg_type_of(cfg, "protocol")) {
	case ARB_CFG_ABSENT:
		return;
	case ARB_CFG_INT:
		if (arb_cfg_int(cfg, "protocol", 4, 5, &v) == ARB_OK) {
			c->protocol = (int) v;
		}
		return;
	case ARB_CFG_STR:
		arb_cfg_str(cfg, "protocol", 0, &s);
		if (strcmp(s, "3.1.1") == 0 || strcmp(s, "4") == 0) {
			c->protocol = 4;
			return;
		}
		if (strcmp(s, "5") == 0 || strcmp(s, "5.0") == 0) {
			c->protocol = 5;
			return;
		}
		break;
	default:
		break;
	}
	arb_cfg_err(cfg, "protocol", "expected \"3.1.1\" or 5");
}

static void
cfg_tls(arb_cfg *cfg, mqtt_config *c)
{
	static const char *const keys[]
	    = { "ca", "cert", "key", "server_name", NULL };
	arb_cfg *t;

	if (!arb_cfg_has(cfg, "tls")) {
		return;
	}
	t = arb_cfg_sub(cfg, "tls");
	arb_cfg_keys(t, keys);
	c->tls = true;
	cfg_copy(t, "ca", MQTT_PATH_MAX, c->tls_ca, NULL);
	cfg_copy(t, "cert", MQTT_PATH_MAX, c->tls_cert, NULL);
	cfg_copy(t, "key", MQTT_PATH_MAX, c->tls_key, NULL);
	cfg_copy(t, "server_name", MQTT_NAME_MAX, c->tls_name, NULL);
	if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0')) {
		arb_cfg_err(t, c->tls_cert[0] ? "key" : "cert",
		    "a client certificate needs both cert and key");
	}
}

static void
cfg_reconnect(arb_cfg *cfg, mqtt_config *c)
{
	static const char *const keys[] = { "min", "max", "stable", NULL };
	arb_cfg                 *r = arb_cfg_sub(cfg, "reconnect");

	arb_cfg_keys(r, keys);
	cfg_dur(r, "min", 1, 3600000, &c->backoff_min_ms);
	cfg_dur(r, "max", 1, 86400000, &c->backoff_max_ms);
	cfg_dur(r, "stable", 0, 86400000, &c->stable_ms);
	if (c->backoff_max_ms < c->backoff_min_ms) {
		arb_cfg_err(r, "max", "must not be below min");
	}
}

static void
cfg_publish(arb_cfg *cfg, mqtt_config *c)
{
	static const char *const keys[] = { "topic", "qos", "retain", NULL };
	arb_cfg                 *p = arb_cfg_sub(cfg, "publish");
	const char              *s;
	char                     err[160];

	arb_cfg_keys(p, keys);
	if (arb_cfg_str(p, "topic", MQTT_TOPIC_MAX, &s) == ARB_OK) {
		if (mqtt_tpl_parse(&c->topic, s, err, sizeof(err)) != 0) {
			arb_cfg_err(p, "topic", "%s", err);
		} else {
			c->has_topic = true;
		}
	}
	cfg_qos(p, "qos", &c->pub_qos);
	arb_cfg_bool(p, "retain", &c->pub_retain);
}

static void
cfg_subscribe(arb_cfg *cfg, mqtt_config *c, const char *to)
{
	static const char *const keys[]
	    = { "topic", "qos", "to", "ack", NULL };
	arb_cfg      *l, *it;
	size_t        n, i, j;
	mqtt_sub_cfg *s;

	l = arb_cfg_list(cfg, "subscribe", &n);
	if (n > MQTT_SUBS_MAX) {
		arb_cfg_err(cfg, "subscribe", "more than %d subscriptions",
		    MQTT_SUBS_MAX);
		n = MQTT_SUBS_MAX;
	}
	for (i = 0; i < n; i++) {
		it = arb_cfg_item(l, i);
		s = &c->subs[c->nsubs];
		memset(s, 0, sizeof(*s));
		s->qos = 1;
		arb_cfg_keys(it, keys);
		cfg_copy(it, "topic", MQTT_TOPIC_MAX, s->filter, NULL);
		if (s->filter[0] == '\0') {
			if (!arb_cfg_has(it, "topic")) {
				arb_cfg_err(it, "topic",
				    "required: the topic filter to subscribe "
				    "to");
			} else if (arb_cfg_type_of(it, "topic")
			    == ARB_CFG_STR) {
				arb_cfg_err(it, "topic",
				    "must not be empty (MQTT has no empty "
				    "topic filter)");
			}
		} else if (!mqtt_filter_valid(s->filter)) {
			arb_cfg_err(it, "topic",
			    "not a valid topic filter (+ and # must fill a "
			    "whole "
			    "level, # only at the end)");
		}
		for (j = 0; j < c->nsubs && s->filter[0] != '\0'; j++) {
			if (strcmp(c->subs[j].filter, s->filter) == 0) {
				arb_cfg_err(it, "topic",
				    "subscribed twice (also subscribe[%zu])",
				    j);
			}
		}
		cfg_qos(it, "qos", &s->qos);
		snprintf(s->to, sizeof(s->to), "%s", to);
		cfg_copy(it, "to", MQTT_PATH_MAX, s->to, NULL);
		if (s->to[0] == '\0') {
			arb_cfg_err(it, "to",
			    "required (here or as the config's `to`): the "
			    "actor "
			    "that gets the messages");
		}
		arb_cfg_bool(it, "ack", &s->ack);
		c->nsubs++;
	}
}

void
mqtt_config_read(arb_cfg *cfg, mqtt_config *c)
{
	static const char *const keys[] = { "host", "port", "client_id",
		"clean_session", "protocol", "keepalive", "session_expiry",
		"username", "password", "tls", "resolver", "connect_timeout",
		"reconnect", "refusals", "puback_timeout", "max_inflight",
		"overflow", "drain", "publish", "subscribe", "to",
		"receive_window", NULL };
	static const char *const overflows[] = { "reject", "drop", NULL };
	char                     to[MQTT_PATH_MAX + 1] = "";
	int64_t                  v;

	memset(c, 0, sizeof(*c));
	c->protocol = 4;
	c->keepalive_s = 30;
	c->session_expiry_s = UINT32_MAX; // MQTT 5: never expires
	c->connect_timeout_ms = 10000;
	c->backoff_min_ms = 100;
	c->backoff_max_ms = 30000;
	c->stable_ms = 10000;
	c->refusals = 10;
	c->puback_timeout_ms = 20000;
	c->max_inflight = 64;
	c->overflow = MQTT_OVERFLOW_REJECT;
	c->drain_ms = 2000;
	c->pub_qos = 1;

	arb_cfg_keys(cfg, keys);
	cfg_copy(cfg, "host", MQTT_NAME_MAX, c->host, NULL);
	if (c->host[0] == '\0' && !arb_cfg_has(cfg, "host")) {
		arb_cfg_err(cfg, "host",
		    "required: the broker's host name or address");
	} else if (c->host[0] == '\0'
	    && arb_cfg_type_of(cfg, "host") == ARB_CFG_STR) {
		// `host: ${BROKER}` with BROKER empty: it connected nowhere,
		// for ever.
		arb_cfg_err(cfg, "host",
		    "must not be empty: the broker's host name or address");
	}
	cfg_tls(cfg, c);
	c->port = c->tls ? 8883 : 1883;
	cfg_int(cfg, "port", 1, 65535, &c->port);
	cfg_copy(cfg, "client_id", MQTT_NAME_MAX, c->client_id, NULL);
	arb_cfg_bool(cfg, "clean_session", &c->clean_session);
	if (c->client_id[0] == '\0' && !c->clean_session
	    && !arb_cfg_has(cfg, "client_id")) {
		arb_cfg_err(cfg, "client_id",
		    "required for a persistent session (clean_session: "
		    "false): "
		    "a fixed id the broker keeps the session under");
	} else if (c->client_id[0] == '\0' && !c->clean_session
	    && arb_cfg_type_of(cfg, "client_id") == ARB_CFG_STR) {
		// The broker refuses it (CONNACK: identifier rejected),
		// `refusals` times, then the actor exits.
		arb_cfg_err(cfg, "client_id",
		    "must not be empty for a persistent session "
		    "(clean_session: false): a fixed id the broker keeps the "
		    "session under");
	}
	cfg_protocol(cfg, c);
	if (arb_cfg_dur(cfg, "keepalive", 0, 65535000, &v) == ARB_OK) {
		if (v != 0 && v < 5000) {
			arb_cfg_err(
			    cfg, "keepalive", "0 (off) or at least 5s");
		}
		c->keepalive_s = (int) (v / 1000);
	}
	if (arb_cfg_dur(cfg, "session_expiry", 0, 4294967294000LL, &v)
	    == ARB_OK) {
		c->session_expiry_s = (uint32_t) (v / 1000);
		if (c->protocol != 5) {
			arb_cfg_err(cfg, "session_expiry",
			    "an MQTT 5 setting (protocol: 5)");
		}
	}
	cfg_copy(cfg, "username", MQTT_NAME_MAX, c->username, &c->has_user);
	cfg_copy(cfg, "password", MQTT_NAME_MAX, c->password, &c->has_pass);
	if (c->has_pass && !c->has_user && c->protocol != 5) {
		arb_cfg_err(cfg, "password",
		    "MQTT 3.1.1 sends a password only with a username");
	}
	cfg_copy(cfg, "resolver", sizeof(c->resolver) - 1, c->resolver, NULL);
	if (c->resolver[0] != '\0') {
		struct sockaddr_storage ss;
		int                     sl = (int) sizeof(ss);

		if (evutil_parse_sockaddr_port(
		        c->resolver, (struct sockaddr *) &ss, &sl)
		    != 0) {
			arb_cfg_err(cfg, "resolver",
			    "\"%s\" is not IP or IP:PORT (a nameserver's "
			    "address)",
			    c->resolver);
		}
	}
	cfg_dur(cfg, "connect_timeout", 100, 600000, &c->connect_timeout_ms);
	cfg_reconnect(cfg, c);
	if (arb_cfg_int(cfg, "refusals", 0, 1000000, &v) == ARB_OK) {
		c->refusals = (unsigned) v;
	}
	cfg_dur(cfg, "puback_timeout", 100, 3600000, &c->puback_timeout_ms);
	cfg_int(cfg, "max_inflight", 1, 65535, &c->max_inflight);
	arb_cfg_enum(cfg, "overflow", overflows, &c->overflow);
	cfg_dur(cfg, "drain", 0, 600000, &c->drain_ms);
	cfg_publish(cfg, c);
	cfg_copy(cfg, "to", MQTT_PATH_MAX, to, NULL);
	cfg_subscribe(cfg, c, to);
	if (arb_cfg_int(cfg, "receive_window", 0, MQTT_RX_WINDOW_MAX, &v)
	    == ARB_OK) {
		size_t i;

		c->receive_window = (int) v;
		for (i = 0; i < c->nsubs && !c->subs[i].ack; i++) {
		}
		if (v > 0 && i == c->nsubs) {
			arb_cfg_err(cfg, "receive_window",
			    "counts messages until their destination confirms "
			    "them: needs a subscription with ack: true");
		}
	}
}
