// SPDX-License-Identifier: MIT
// mqtt_topic.c -- publish topic templates (mqtt_topic.h).  Thread: any.

#include "mqtt_topic.h"

#include <stdio.h>
#include <string.h>

static bool
tpl_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_';
}

int
mqtt_tpl_parse(mqtt_tpl *t, const char *text, char *err, size_t errlen)
{
	const char *p;
	size_t      n;

	memset(t, 0, sizeof(*t));
	if (text == NULL || *text == '\0') {
		snprintf(err, errlen, "empty topic");
		return -1;
	}
	if (strlen(text) > MQTT_TOPIC_MAX) {
		snprintf(err, errlen, "longer than %d bytes", MQTT_TOPIC_MAX);
		return -1;
	}
	for (p = text; *p != '\0'; p++) {
		if ((p[0] == '{' && p[1] == '{')
		    || (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if (*p == '}') {
			snprintf(err, errlen,
			    "'}' without '{' (write }} for a brace)");
			return -1;
		}
		if (*p == '+' || *p == '#') {
			snprintf(err, errlen,
			    "'%c' is a wildcard: a publish topic cannot hold "
			    "one",
			    *p);
			return -1;
		}
		if (*p != '{') {
			continue;
		}
		for (n = 0; tpl_name_char(p[1 + n]); n++) { }
		if (p[1 + n] != '}' || n == 0 || n > 63) {
			snprintf(err, errlen,
			    "bad placeholder at byte %zu: expected {NAME} "
			    "with "
			    "NAME of letters, digits and _",
			    (size_t) (p - text));
			return -1;
		}
		if (++t->nvars > MQTT_TPL_VARS) {
			snprintf(err, errlen, "more than %d placeholders",
			    MQTT_TPL_VARS);
			return -1;
		}
		p += n + 1;
	}
	memcpy(t->text, text, strlen(text) + 1);
	return 0;
}

int
mqtt_tpl_expand(const mqtt_tpl *t, mqtt_tpl_lookup_fn get, void *arg,
    char *out, size_t outlen, char *err, size_t errlen)
{
	const char *p, *v;
	size_t      o = 0, n, vlen, i;

	for (p = t->text; *p != '\0'; p++) {
		if ((p[0] == '{' && p[1] == '{')
		    || (p[0] == '}' && p[1] == '}')) {
			p++;
		} else if (*p == '{') {
			for (n = 0; p[1 + n] != '}'; n++) { }
			v = get(arg, p + 1, n, &vlen);
			if (v == NULL) {
				snprintf(err, errlen,
				    "the message has no field %.*s for the "
				    "topic "
				    "template",
				    (int) n, p + 1);
				return -1;
			}
			for (i = 0; i < vlen; i++) {
				if (v[i] == '+' || v[i] == '#'
				    || v[i] == '\0') {
					snprintf(err, errlen,
					    "field %.*s holds '%s', not "
					    "allowed in "
					    "a topic",
					    (int) n, p + 1,
					    v[i] == '\0'      ? "\\0"
					        : v[i] == '+' ? "+"
					                      : "#");
					return -1;
				}
			}
			if (o + vlen > MQTT_TOPIC_MAX || o + vlen >= outlen) {
				goto toolong;
			}
			memcpy(out + o, v, vlen);
			o += vlen;
			p += n + 1;
			continue;
		}
		if (o + 1 > MQTT_TOPIC_MAX || o + 1 >= outlen) {
			goto toolong;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return 0;
toolong:
	snprintf(
	    err, errlen, "the topic is longer than %d bytes", MQTT_TOPIC_MAX);
	return -1;
}
