// SPDX-License-Identifier: MIT
// mqtt_body.c -- msgpack bodies of the mqtt actor's messages, with
// msgpack-c (the only file of the actor that includes <msgpack.h>).
//
// msgpack-c's unpacker allocates what a length field claims: a 5-byte
// body claiming 2^32 entries asks for tens of GB.  So every body is first
// checked by arbor's own bounded decoder (arb_cfg_alloc: each length
// against the bytes left, one allocation sized by the input); once it
// passed, every claim is bounded by the body's own size.
// Thread: loop.

#include "mqtt_body.h"

#include <arbor/actor.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mqtt_body {
	msgpack_unpacked u;
	const void      *data;
	size_t           len;
	bool             have;
};

int
mqtt_body_alloc(mqtt_body **bp)
{
	mqtt_body *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		return -1;
	}
	msgpack_unpacked_init(&b->u);
	*bp = b;
	return 0;
}

void
mqtt_body_free(mqtt_body *b)
{
	if (b == NULL) {
		return;
	}
	msgpack_unpacked_destroy(&b->u);
	free(b);
}

// body_well_formed is true when data holds msgpack that arbor's bounded
// decoder accepts (a map, or any other single value).
static bool
body_well_formed(const void *data, size_t len)
{
	arb_cfg    *c;
	const char *text = "";
	bool        ok;

	if (arb_cfg_alloc(&c, data, len) != ARB_OK) {
		return false;
	}
	// A value that is not a map is recorded as "expected a mapping": it
	// decoded fine.  Anything else recorded means it did not decode.
	ok = arb_cfg_errors(c) == 0
	    || (arb_cfg_error(c, 0, NULL, &text) == ARB_OK
	        && strstr(text, "not a msgpack value") == NULL);
	arb_cfg_free(c);
	return ok;
}

int
mqtt_body_parse(
    mqtt_body *b, const void *data, size_t len, char *err, size_t errlen)
{
	size_t                off = 0;
	msgpack_unpack_return r;

	msgpack_unpacked_destroy(&b->u);
	msgpack_unpacked_init(&b->u);
	b->have = false;
	b->data = data;
	b->len = len;
	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return -1;
	}
	if (!body_well_formed(data, len)) {
		snprintf(err, errlen, "malformed msgpack body");
		return -1;
	}
	r = msgpack_unpack_next(&b->u, data, len, &off);
	if (r == MSGPACK_UNPACK_CONTINUE) {
		snprintf(err, errlen, "truncated msgpack body");
		return -1;
	}
	if (r != MSGPACK_UNPACK_SUCCESS) {
		snprintf(err, errlen,
		    r == MSGPACK_UNPACK_NOMEM_ERROR
		        ? "msgpack body too large to decode"
		        : "malformed msgpack body");
		return -1;
	}
	if (off != len) {
		snprintf(err, errlen, "%zu bytes after the msgpack value",
		    len - off);
		return -1;
	}
	b->have = true;
	return 0;
}

bool
mqtt_body_is_map(const mqtt_body *b)
{
	return b->have && b->u.data.type == MSGPACK_OBJECT_MAP;
}

void
mqtt_body_raw(const mqtt_body *b, const void **p, size_t *n)
{
	const msgpack_object *o = &b->u.data;

	if (b->have && o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
	} else if (b->have && o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
	} else {
		*p = b->data;
		*n = b->len;
	}
}

static const msgpack_object *
body_get(const mqtt_body *b, const char *key, size_t klen)
{
	const msgpack_object_map *m;
	uint32_t                  i;

	if (!mqtt_body_is_map(b)) {
		return NULL;
	}
	m = &b->u.data.via.map;
	for (i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen
		    && memcmp(k->via.str.ptr, key, klen) == 0) {
			return m->ptr[i].val.type == MSGPACK_OBJECT_NIL
			    ? NULL
			    : &m->ptr[i].val;
		}
	}
	return NULL;
}

int
mqtt_body_bytes(const mqtt_body *b, const char *key, const void **p, size_t *n)
{
	const msgpack_object *o = body_get(b, key, strlen(key));

	if (o == NULL) {
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
		return 1;
	}
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
		return 1;
	}
	return -1;
}

int
mqtt_body_str(const mqtt_body *b, const char *key, const char **p, size_t *n)
{
	const msgpack_object *o = body_get(b, key, strlen(key));

	if (o == NULL) {
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		return -1;
	}
	*p = o->via.str.ptr;
	*n = o->via.str.size;
	return 1;
}

int
mqtt_body_uint(const mqtt_body *b, const char *key, uint64_t *v)
{
	const msgpack_object *o = body_get(b, key, strlen(key));

	if (o == NULL) {
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		return -1;
	}
	*v = o->via.u64;
	return 1;
}

int
mqtt_body_bool(const mqtt_body *b, const char *key, bool *v)
{
	const msgpack_object *o = body_get(b, key, strlen(key));

	if (o == NULL) {
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		return -1;
	}
	*v = o->via.boolean;
	return 1;
}

int
mqtt_body_text(const mqtt_body *b, const char *key, size_t klen, char *scratch,
    size_t slen, const char **p, size_t *n)
{
	const msgpack_object *o = body_get(b, key, klen);
	int                   w;

	if (o == NULL) {
		return 0;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		*p = o->via.str.ptr;
		*n = o->via.str.size;
		return 1;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		w = snprintf(
		    scratch, slen, "%llu", (unsigned long long) o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		w = snprintf(scratch, slen, "%lld", (long long) o->via.i64);
		break;
	default:
		return -1;
	}
	if (w < 0 || (size_t) w >= slen) {
		return -1;
	}
	*p = scratch;
	*n = (size_t) w;
	return 1;
}

int
mqtt_body_uints(
    const mqtt_body *b, const char *key, uint64_t *out, size_t max, size_t *n)
{
	const msgpack_object *o = body_get(b, key, strlen(key));
	uint32_t              i;

	*n = 0;
	if (o == NULL) {
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && max > 0) {
		out[0] = o->via.u64;
		*n = 1;
		return 1;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY) {
		return -1;
	}
	for (i = 0; i < o->via.array.size && *n < max; i++) {
		if (o->via.array.ptr[i].type
		    != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			return -1;
		}
		out[(*n)++] = o->via.array.ptr[i].via.u64;
	}
	return 1;
}

// --- writing ---------------------------------------------------------------

struct mqtt_enc {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	bool            failed;
};

// enc_write is msgpack_sbuffer_write that remembers a failed allocation
// instead of leaving a half-written body behind unnoticed.
static int
enc_write(void *data, const char *buf, size_t len)
{
	mqtt_enc *e = data;

	if (msgpack_sbuffer_write(&e->sb, buf, len) != 0) {
		e->failed = true;
		return -1;
	}
	return 0;
}

int
mqtt_enc_alloc(mqtt_enc **ep)
{
	mqtt_enc *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		return -1;
	}
	msgpack_sbuffer_init(&e->sb);
	msgpack_packer_init(&e->pk, e, enc_write);
	*ep = e;
	return 0;
}

void
mqtt_enc_free(mqtt_enc *e)
{
	if (e == NULL) {
		return;
	}
	msgpack_sbuffer_destroy(&e->sb);
	free(e);
}

void
mqtt_enc_map(mqtt_enc *e, size_t n)
{
	msgpack_sbuffer_clear(&e->sb);
	e->failed = false;
	msgpack_pack_map(&e->pk, n);
}

static void
enc_key(mqtt_enc *e, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(&e->pk, n);
	msgpack_pack_str_body(&e->pk, k, n);
}

void
mqtt_enc_kv_uint(mqtt_enc *e, const char *k, uint64_t v)
{
	enc_key(e, k);
	msgpack_pack_uint64(&e->pk, v);
}

void
mqtt_enc_kv_int(mqtt_enc *e, const char *k, int64_t v)
{
	enc_key(e, k);
	msgpack_pack_int64(&e->pk, v);
}

void
mqtt_enc_kv_bool(mqtt_enc *e, const char *k, bool v)
{
	enc_key(e, k);
	if (v) {
		msgpack_pack_true(&e->pk);
	} else {
		msgpack_pack_false(&e->pk);
	}
}

void
mqtt_enc_kv_double(mqtt_enc *e, const char *k, double v)
{
	enc_key(e, k);
	msgpack_pack_double(&e->pk, v);
}

void
mqtt_enc_kv_str(mqtt_enc *e, const char *k, const char *v)
{
	mqtt_enc_kv_strn(e, k, v, strlen(v));
}

void
mqtt_enc_kv_strn(mqtt_enc *e, const char *k, const char *v, size_t n)
{
	enc_key(e, k);
	msgpack_pack_str(&e->pk, n);
	msgpack_pack_str_body(&e->pk, v, n);
}

void
mqtt_enc_kv_bin(mqtt_enc *e, const char *k, const void *v, size_t n)
{
	enc_key(e, k);
	msgpack_pack_bin(&e->pk, n);
	msgpack_pack_bin_body(&e->pk, v, n);
}

void
mqtt_enc_kv_map(mqtt_enc *e, const char *k, size_t n)
{
	enc_key(e, k);
	msgpack_pack_map(&e->pk, n);
}

const void *
mqtt_enc_data(const mqtt_enc *e, size_t *len)
{
	if (e->failed) {
		*len = 0;
		return NULL;
	}
	*len = e->sb.size;
	return e->sb.data;
}
