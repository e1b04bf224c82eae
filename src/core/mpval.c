// SPDX-License-Identifier: MIT
// mpval.c -- a bounded msgpack value tree, and a small msgpack writer, for
// the data that is not on the message path: an actor's config (arb_cfg),
// the metrics a process actor ships to its node, and the control channel
// (src/actor/ctl.c, which reads with codec.c's bounded readers).
//
// The decoder reads untrusted bytes in two passes: the first checks the
// whole value (every length against the bytes left, depth at most
// ARB__VAL_DEPTH) and counts nodes and string bytes; the second fills ONE
// allocation sized from those counts.  Every node takes at least one input
// byte, so the allocation is linear in the input and a huge length field
// is rejected before anything is allocated.  Strings are copied with a
// NUL; bins are copied too.  This file does not use msgpack-c: its
// unpacker allocates what a length field claims.  The envelope codec
// (codec.c) has its own zero-copy reader on the hot path.
// Thread: any (no shared state).

#include "arb_impl.h"

#include <string.h>

typedef struct mp_rd {
	const uint8_t *p;
	size_t         left;
} mp_rd;

// One decoding pass: with out NULL it only counts (nodes, bytes).
typedef struct mp_pass {
	size_t    nodes;
	size_t    bytes;
	arb__val *nodebuf; // second pass: where nodes go
	char     *strbuf;  // second pass: where string bytes go
} mp_pass;

static uint64_t
mp_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t   i;

	for (i = 0; i < n; i++) {
		v = (v << 8) | p[i];
	}
	return v;
}

static bool
mp_take(mp_rd *r, size_t n, const uint8_t **pp)
{
	if (r->left < n) {
		return false;
	}
	*pp = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

// mp_header reads one value header: its type, its immediate value (ints,
// floats, bools) or its length (str, bin, ext, array, map pairs).
static bool
mp_header(mp_rd *r, arb__val *v, uint64_t *len)
{
	const uint8_t *p;
	uint8_t        b;
	size_t         w = 0;
	union {
		uint32_t u;
		float    f;
	} f32;
	union {
		uint64_t u;
		double   f;
	} f64;

	if (!mp_take(r, 1, &p)) {
		return false;
	}
	b = p[0];
	*len = 0;
	if (b <= 0x7f) {
		v->type = ARB__V_UINT;
		v->via.u = b;
		return true;
	}
	if (b >= 0xe0) {
		v->type = ARB__V_INT;
		v->via.i = (int8_t) b;
		return true;
	}
	if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
		v->type = (b & 0xf0) == 0x80 ? ARB__V_MAP : ARB__V_ARRAY;
		*len = b & 0x0f;
		return true;
	}
	if ((b & 0xe0) == 0xa0) {
		v->type = ARB__V_STR;
		*len = b & 0x1f;
		return true;
	}
	switch (b) {
	case 0xc0:
		v->type = ARB__V_NIL;
		return true;
	case 0xc2:
	case 0xc3:
		v->type = ARB__V_BOOL;
		v->via.b = b == 0xc3;
		return true;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		w = (size_t) 1 << (b - 0xcc);
		if (!mp_take(r, w, &p)) {
			return false;
		}
		v->type = ARB__V_UINT;
		v->via.u = mp_be(p, w);
		return true;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		uint64_t u;
		w = (size_t) 1 << (b - 0xd0);
		if (!mp_take(r, w, &p)) {
			return false;
		}
		u = mp_be(p, w);
		if (w < 8 && (u >> (w * 8 - 1)) != 0) {
			u |= ~(uint64_t) 0 << (w * 8); // sign-extend
		}
		if ((int64_t) u >= 0) {
			v->type = ARB__V_UINT;
			v->via.u = u;
		} else {
			v->type = ARB__V_INT;
			v->via.i = (int64_t) u;
		}
		return true;
	}
	case 0xca:
		if (!mp_take(r, 4, &p)) {
			return false;
		}
		f32.u = (uint32_t) mp_be(p, 4);
		v->type = ARB__V_FLOAT;
		v->via.f = f32.f;
		return true;
	case 0xcb:
		if (!mp_take(r, 8, &p)) {
			return false;
		}
		f64.u = mp_be(p, 8);
		v->type = ARB__V_FLOAT;
		v->via.f = f64.f;
		return true;
	case 0xd9:
	case 0xda:
	case 0xdb:
		v->type = ARB__V_STR;
		w = (size_t) 1 << (b - 0xd9);
		break;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		v->type = ARB__V_BIN;
		w = (size_t) 1 << (b - 0xc4);
		break;
	case 0xdc:
	case 0xdd:
		v->type = ARB__V_ARRAY;
		w = b == 0xdc ? 2 : 4;
		break;
	case 0xde:
	case 0xdf:
		v->type = ARB__V_MAP;
		w = b == 0xde ? 2 : 4;
		break;
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		v->type = ARB__V_EXT; // fixext: type byte + 1..16 bytes
		*len = ((uint64_t) 1 << (b - 0xd4)) + 1;
		return true;
	case 0xc7:
	case 0xc8:
	case 0xc9:
		v->type = ARB__V_EXT;
		if (!mp_take(r, (size_t) 1 << (b - 0xc7), &p)) {
			return false;
		}
		*len = mp_be(p, (size_t) 1 << (b - 0xc7)) + 1;
		return true;
	default:
		return false; // 0xc1: never used
	}
	if (!mp_take(r, w, &p)) {
		return false;
	}
	*len = mp_be(p, w);
	return true;
}

// mp_value reads one value into *v (second pass) or only counts (first).
static bool
mp_value(mp_rd *r, mp_pass *ps, arb__val *v, int depth)
{
	const uint8_t *start = r->p;
	const uint8_t *p;
	uint64_t       len, i, n;
	arb__val       tmp;

	if (depth > ARB__VAL_DEPTH) {
		return false;
	}
	if (v == NULL) {
		v = &tmp;
	}
	memset(v, 0, sizeof(*v));
	if (!mp_header(r, v, &len)) {
		return false;
	}
	switch (v->type) {
	case ARB__V_STR:
	case ARB__V_BIN:
	case ARB__V_EXT:
		if (len > r->left || len > UINT32_MAX) {
			return false;
		}
		mp_take(r, (size_t) len, &p);
		v->n = (uint32_t) len;
		if (v->type != ARB__V_EXT) {
			if (ps->strbuf != NULL) {
				memcpy(
				    ps->strbuf + ps->bytes, p, (size_t) len);
				ps->strbuf[ps->bytes + len] = '\0';
				v->via.s = ps->strbuf + ps->bytes;
			}
			ps->bytes += (size_t) len + 1;
		}
		break;
	case ARB__V_ARRAY:
	case ARB__V_MAP:
		n = v->type == ARB__V_MAP ? len * 2 : len;
		// Each element takes at least one byte: a length beyond the
		// bytes left is a lie, refused before anything is reserved.
		if (n > r->left || len > UINT32_MAX) {
			return false;
		}
		v->n = (uint32_t) len;
		if (ps->nodebuf != NULL) {
			v->via.v = ps->nodebuf + ps->nodes;
		}
		ps->nodes += (size_t) n;
		for (i = 0; i < n; i++) {
			if (!mp_value(r, ps,
			        ps->nodebuf != NULL ? &v->via.v[i] : NULL,
			        depth + 1)) {
				return false;
			}
		}
		break;
	default:
		break;
	}
	v->raw = start;
	v->rawlen = (size_t) (r->p - start);
	return true;
}

int
arb__val_decode(const void *buf, size_t len, arb__val **rootp)
{
	mp_rd     r = { buf, len };
	mp_pass   ps = { 1, 0, NULL, NULL };
	arb__val *all;

	*rootp = NULL;
	if (len == 0 || !mp_value(&r, &ps, NULL, 0) || r.left != 0) {
		return ARB_EBADMSG;
	}
	all = arb__alloc(ps.nodes * sizeof(arb__val) + ps.bytes);
	if (all == NULL) {
		return ARB_ENOMEM;
	}
	r = (mp_rd) { buf, len };
	ps.nodebuf = all;
	ps.strbuf = (char *) (all + ps.nodes);
	ps.nodes = 1;
	ps.bytes = 0;
	if (!mp_value(&r, &ps, all, 0)) {
		arb__free(all); // cannot happen: the first pass succeeded
		return ARB_EBADMSG;
	}
	*rootp = all;
	return ARB_OK;
}

const arb__val *
arb__val_get(const arb__val *map, const char *key)
{
	size_t   n = strlen(key);
	uint32_t i;

	if (map == NULL || map->type != ARB__V_MAP) {
		return NULL;
	}
	for (i = 0; i < map->n; i++) {
		const arb__val *k = &map->via.v[2 * i];
		if (k->type == ARB__V_STR && k->n == n
		    && memcmp(k->via.s, key, n) == 0) {
			return &map->via.v[2 * i + 1];
		}
	}
	return NULL;
}

// --- writing ---------------------------------------------------------------

static int
mp_put(arb__buf *b, uint8_t code, uint64_t v, size_t w)
{
	uint8_t p[9];
	size_t  i;

	p[0] = code;
	for (i = 0; i < w; i++) {
		p[1 + i] = (uint8_t) (v >> (8 * (w - 1 - i)));
	}
	return arb__buf_append(b, p, 1 + w);
}

int
arb__mp_put_nil(arb__buf *b)
{
	return mp_put(b, 0xc0, 0, 0);
}

int
arb__mp_put_uint(arb__buf *b, uint64_t v)
{
	if (v <= 0x7f) {
		return mp_put(b, (uint8_t) v, 0, 0);
	}
	if (v <= 0xff) {
		return mp_put(b, 0xcc, v, 1);
	}
	if (v <= 0xffff) {
		return mp_put(b, 0xcd, v, 2);
	}
	if (v <= 0xffffffffu) {
		return mp_put(b, 0xce, v, 4);
	}
	return mp_put(b, 0xcf, v, 8);
}

int
arb__mp_put_double(arb__buf *b, double v)
{
	union {
		double   f;
		uint64_t u;
	} x;

	x.f = v;
	return mp_put(b, 0xcb, x.u, 8);
}

int
arb__mp_put_str(arb__buf *b, const char *s, size_t n)
{
	int rv;

	if (n <= 31) {
		rv = mp_put(b, (uint8_t) (0xa0 | n), 0, 0);
	} else if (n <= 0xff) {
		rv = mp_put(b, 0xd9, n, 1);
	} else if (n <= 0xffff) {
		rv = mp_put(b, 0xda, n, 2);
	} else {
		rv = mp_put(b, 0xdb, n, 4);
	}
	return rv != 0 ? rv : arb__buf_append(b, s, n);
}

int
arb__mp_put_array(arb__buf *b, uint32_t n)
{
	if (n <= 15) {
		return mp_put(b, (uint8_t) (0x90 | n), 0, 0);
	}
	return n <= 0xffff ? mp_put(b, 0xdc, n, 2) : mp_put(b, 0xdd, n, 4);
}

int
arb__mp_put_int(arb__buf *b, int64_t v)
{
	if (v >= 0) {
		return arb__mp_put_uint(b, (uint64_t) v);
	}
	if (v >= -32) {
		// A negative fixint.
		return mp_put(b, (uint8_t) (int8_t) v, 0, 0);
	}
	if (v >= INT8_MIN) {
		return mp_put(b, 0xd0, (uint8_t) (int8_t) v, 1);
	}
	if (v >= INT16_MIN) {
		return mp_put(b, 0xd1, (uint16_t) (int16_t) v, 2);
	}
	if (v >= INT32_MIN) {
		return mp_put(b, 0xd2, (uint32_t) (int32_t) v, 4);
	}
	return mp_put(b, 0xd3, (uint64_t) v, 8);
}

int
arb__mp_put_bool(arb__buf *b, bool v)
{
	return mp_put(b, v ? 0xc3 : 0xc2, 0, 0);
}

int
arb__mp_put_bin(arb__buf *b, const void *p, size_t n)
{
	int rv;

	if ((uint64_t) n > UINT32_MAX) {
		return ARB_EMSGSIZE;
	}
	if (n <= 0xff) {
		rv = mp_put(b, 0xc4, n, 1);
	} else if (n <= 0xffff) {
		rv = mp_put(b, 0xc5, n, 2);
	} else {
		rv = mp_put(b, 0xc6, n, 4);
	}
	return rv != 0 ? rv : arb__buf_append(b, p, n);
}

int
arb__mp_put_map(arb__buf *b, uint32_t n)
{
	if (n <= 15) {
		return mp_put(b, (uint8_t) (0x80 | n), 0, 0);
	}
	return n <= 0xffff ? mp_put(b, 0xde, n, 2) : mp_put(b, 0xdf, n, 4);
}
