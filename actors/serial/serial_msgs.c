// SPDX-License-Identifier: MIT
// serial_msgs.c -- encoding and decoding the serial actor's frame message
// (serial_msgs.h), with msgpack-c.  The only file of the serial actor
// type that packs or unpacks msgpack bodies (settings are read in
// config.c).  Thread: any.

#include "serial_msgs.h"

#include "stats.h"

#include <errno.h>
#include <msgpack.h>
#include <string.h>

// A msgpack-c writer into a caller's fixed buffer: no allocation.
typedef struct fixbuf {
	char  *p;
	size_t cap;
	size_t len;
	bool   full;
} fixbuf;

static int
fixbuf_write(void *data, const char *buf, size_t len)
{
	fixbuf *b = data;

	if (b->full || len > b->cap - b->len) {
		b->full = true;
		return -1;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return 0;
}

size_t
arb_serial_frame_encode(void *out, size_t cap, const arb_serial_frame *f)
{
	fixbuf         b = { out, cap, 0, false };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &b, fixbuf_write);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_unsigned_int(&pk, ARB_SERIAL_FRAME_VERSION);
	msgpack_pack_str_with_body(&pk, f->stream, f->stream_len);
	msgpack_pack_uint64(&pk, f->session);
	msgpack_pack_uint64(&pk, f->seq);
	msgpack_pack_uint64(&pk, f->ts_ns);
	if (f->device != NULL) {
		msgpack_pack_str_with_body(&pk, f->device, f->device_len);
	} else {
		msgpack_pack_nil(&pk);
	}
	msgpack_pack_bin_with_body(&pk, f->data, f->len);
	return b.full ? 0 : b.len;
}

static bool
get_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		return false;
	}
	*v = o->via.u64;
	return true;
}

int
arb_serial_frame_decode(const void *body, size_t len, arb_serial_frame *f)
{
	msgpack_unpacked      u;
	const msgpack_object *a;
	size_t                off = 0;
	uint64_t              version;
	int                   rv = EINVAL;

	memset(f, 0, sizeof(*f));
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off) != MSGPACK_UNPACK_SUCCESS
	    || off != len || u.data.type != MSGPACK_OBJECT_ARRAY
	    || u.data.via.array.size != 7) {
		goto out;
	}
	a = u.data.via.array.ptr;
	if (!get_u64(&a[0], &version) || version != ARB_SERIAL_FRAME_VERSION
	    || a[1].type != MSGPACK_OBJECT_STR || !get_u64(&a[2], &f->session)
	    || !get_u64(&a[3], &f->seq) || !get_u64(&a[4], &f->ts_ns)
	    || (a[5].type != MSGPACK_OBJECT_STR
	        && a[5].type != MSGPACK_OBJECT_NIL)
	    || a[6].type != MSGPACK_OBJECT_BIN) {
		goto out;
	}
	// msgpack_unpack_next leaves str and bin pointing into body.
	f->stream = a[1].via.str.ptr;
	f->stream_len = a[1].via.str.size;
	if (a[5].type == MSGPACK_OBJECT_STR) {
		f->device = a[5].via.str.ptr;
		f->device_len = a[5].via.str.size;
	}
	f->data = (const uint8_t *) a[6].via.bin.ptr;
	f->len = a[6].via.bin.size;
	rv = 0;
out:
	if (rv != 0) {
		memset(f, 0, sizeof(*f));
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

size_t
serial_stats_encode(void *out, size_t cap, const char *const *names,
    const uint64_t *vals, size_t n)
{
	fixbuf         b = { out, cap, 0, false };
	msgpack_packer pk;
	size_t         i;

	msgpack_packer_init(&pk, &b, fixbuf_write);
	msgpack_pack_map(&pk, (uint32_t) n);
	for (i = 0; i < n; i++) {
		msgpack_pack_str_with_body(&pk, names[i], strlen(names[i]));
		msgpack_pack_uint64(&pk, vals[i]);
	}
	return b.full ? 0 : b.len;
}
