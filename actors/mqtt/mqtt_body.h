// SPDX-License-Identifier: MIT
// mqtt_body.h -- reading and writing the msgpack bodies of the mqtt
// actor's messages (mqtt_msgs.h).  mqtt_body.c is the only file of the
// actor that includes <msgpack.h>.  Thread: loop (one reader and one
// writer per actor, reused from message to message).

#ifndef MQTT_BODY_H
#define MQTT_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mqtt_body mqtt_body;

int  mqtt_body_alloc(mqtt_body **bp);
void mqtt_body_free(mqtt_body *b);

// mqtt_body_parse reads one msgpack value (the whole body; trailing
// bytes, truncation and malformed input are errors: -1 with the reason
// in err).  Pointers handed out by the getters stay valid until the next
// parse.
int mqtt_body_parse(
    mqtt_body *b, const void *data, size_t len, char *err, size_t errlen);

// mqtt_body_is_map is true when the value is a map.
bool mqtt_body_is_map(const mqtt_body *b);

// mqtt_body_raw gives what a body published as is carries: the bytes of
// a str or bin value, else the msgpack bytes themselves.
void mqtt_body_raw(const mqtt_body *b, const void **p, size_t *n);

// Map getters: 1 when key is present with the right type (out set), 0
// when absent or nil, -1 when present with another type.
int mqtt_body_bytes(const mqtt_body *b, const char *key, const void **p,
    size_t *n); // str or bin
int mqtt_body_str(const mqtt_body *b, const char *key, const char **p,
    size_t *n); // str only
int mqtt_body_uint(const mqtt_body *b, const char *key, uint64_t *v);
int mqtt_body_bool(const mqtt_body *b, const char *key, bool *v);
// mqtt_body_text gives a str value, or an integer as decimal text
// (written into scratch), for a key of klen bytes.
int mqtt_body_text(const mqtt_body *b, const char *key, size_t klen,
    char *scratch, size_t slen, const char **p, size_t *n);
// mqtt_body_uints reads a uint or an array of uints (at most max).
int mqtt_body_uints(
    const mqtt_body *b, const char *key, uint64_t *out, size_t max, size_t *n);

// --- writing ---------------------------------------------------------------

typedef struct mqtt_enc mqtt_enc;

int  mqtt_enc_alloc(mqtt_enc **ep);
void mqtt_enc_free(mqtt_enc *e);

// mqtt_enc_map starts a fresh body: a map of n pairs, then n calls of the
// kv_* writers.  Writers can't fail; out of memory shows at mqtt_enc_data
// (NULL).
void mqtt_enc_map(mqtt_enc *e, size_t n);
void mqtt_enc_kv_uint(mqtt_enc *e, const char *k, uint64_t v);
void mqtt_enc_kv_int(mqtt_enc *e, const char *k, int64_t v);
void mqtt_enc_kv_bool(mqtt_enc *e, const char *k, bool v);
void mqtt_enc_kv_double(mqtt_enc *e, const char *k, double v);
void mqtt_enc_kv_str(mqtt_enc *e, const char *k, const char *v);
void mqtt_enc_kv_strn(mqtt_enc *e, const char *k, const char *v, size_t n);
void mqtt_enc_kv_bin(mqtt_enc *e, const char *k, const void *v, size_t n);
// mqtt_enc_kv_map starts a nested map of n pairs under k.
void mqtt_enc_kv_map(mqtt_enc *e, const char *k, size_t n);

// mqtt_enc_data returns the body written so far, or NULL after an
// allocation failure.
const void *mqtt_enc_data(const mqtt_enc *e, size_t *len);

#endif // MQTT_BODY_H
