// SPDX-License-Identifier: MIT
// render.c -- a message body as text for a log line (render.h).
// Thread: any.

#include "render.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct rbuf {
	char  *p;
	size_t len;
	size_t used;
	bool   full;
} rbuf;

static void rb_printf(rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rb_printf(rbuf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (b->full) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= b->len - b->used) {
		b->full = true;
		b->used = b->len - 1;
		return;
	}
	b->used += (size_t) n;
}

static void
rb_str(rbuf *b, const char *s, size_t n)
{
	size_t i;

	rb_printf(b, "\"");
	for (i = 0; i < n && !b->full; i++) {
		unsigned char ch = (unsigned char) s[i];
		if (ch == '"' || ch == '\\') {
			rb_printf(b, "\\%c", ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			rb_printf(b, "\\x%02x", ch);
		} else {
			rb_printf(b, "%c", ch);
		}
	}
	rb_printf(b, "\"");
}

static void
rb_obj(rbuf *b, const msgpack_object *o, int depth)
{
	uint32_t i;

	if (depth > 8) {
		rb_printf(b, "...");
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		rb_printf(b, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		rb_printf(b, "%s", o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		rb_printf(b, "%llu", (unsigned long long) o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		rb_printf(b, "%lld", (long long) o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		rb_printf(b, "%g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		rb_str(b, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		rb_printf(b, "<%u bytes>", o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		rb_printf(b, "[");
		for (i = 0; i < o->via.array.size && !b->full; i++) {
			rb_printf(b, i ? "," : "");
			rb_obj(b, &o->via.array.ptr[i], depth + 1);
		}
		rb_printf(b, "]");
		break;
	case MSGPACK_OBJECT_MAP:
		rb_printf(b, "{");
		for (i = 0; i < o->via.map.size && !b->full; i++) {
			rb_printf(b, i ? "," : "");
			rb_obj(b, &o->via.map.ptr[i].key, depth + 1);
			rb_printf(b, ":");
			rb_obj(b, &o->via.map.ptr[i].val, depth + 1);
		}
		rb_printf(b, "}");
		break;
	default:
		rb_printf(b, "<ext>");
		break;
	}
}

void
diag_render(const void *body, size_t len, char *out, size_t outlen)
{
	msgpack_unpacked u;
	size_t           off = 0;
	rbuf             b = { out, outlen, 0, false };

	if (outlen < 8) {
		if (outlen > 0) {
			out[0] = '\0';
		}
		return;
	}
	out[0] = '\0';
	if (len == 0) {
		rb_printf(&b, "-");
		return;
	}
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off)
	    == MSGPACK_UNPACK_SUCCESS) {
		b.len = outlen - 4; // room for "..."
		rb_obj(&b, &u.data, 0);
		if (b.full) {
			memcpy(out + b.used, "...", 4);
		}
	} else {
		rb_printf(&b, "<%zu bytes, not msgpack>", len);
	}
	msgpack_unpacked_destroy(&u);
}
