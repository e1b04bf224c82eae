// SPDX-License-Identifier: MIT
// mqtt_topic.h -- publish topic templates: "gw1/{stream}/data" with
// placeholders filled from each message ("{stream}" takes the message's
// `stream` field).  Pure.  Thread: any.

#ifndef MQTT_TOPIC_H
#define MQTT_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define MQTT_TOPIC_MAX 1024 // bytes of an expanded topic, NUL excluded
#define MQTT_TPL_VARS  16

typedef struct mqtt_tpl {
	char   text[MQTT_TOPIC_MAX + 1];
	size_t nvars; // placeholders in text
} mqtt_tpl;

// mqtt_tpl_parse checks and keeps a template: placeholders are
// {NAME} with NAME of [A-Za-z0-9_] (1-63 bytes), at most MQTT_TPL_VARS;
// "{{" and "}}" stand for literal braces; no wildcard (+ #) outside
// placeholders.  Returns 0, or -1 with the reason in err.
int mqtt_tpl_parse(mqtt_tpl *t, const char *text, char *err, size_t errlen);

// mqtt_tpl_lookup_fn returns the value of placeholder name (not
// NUL-terminated, nlen bytes) and its length, or NULL when the message
// has none.
typedef const char *(*mqtt_tpl_lookup_fn)(
    void *arg, const char *name, size_t nlen, size_t *vlen);

// mqtt_tpl_expand writes the topic for one message into out (outlen >
// MQTT_TOPIC_MAX).  A missing value, a value holding '+', '#' or a NUL,
// or a topic over MQTT_TOPIC_MAX is an error: -1 with the reason in err.
int mqtt_tpl_expand(const mqtt_tpl *t, mqtt_tpl_lookup_fn get, void *arg,
    char *out, size_t outlen, char *err, size_t errlen);

#endif // MQTT_TOPIC_H
