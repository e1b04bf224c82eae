// SPDX-License-Identifier: MIT
// mpr.c -- the bounded msgpack reader (mpr.h).  Thread: the caller's.

#include "mpr.h"

#include <string.h>

#define MPR_DEPTH_MAX 16

void
mpr_init(mpr *r, const void *body, size_t len)
{
	r->p   = body;
	r->end = r->p + len;
	r->bad = body == NULL && len > 0;
}

static int
fail(mpr *r)
{
	r->bad = true;
	return -1;
}

static size_t
left(const mpr *r)
{
	return (size_t) (r->end - r->p);
}

// be reads an n-byte big-endian unsigned integer at p.
static uint64_t
be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t   i;

	for (i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

// take consumes the type byte and an n-byte length or value after it.
static int
take(mpr *r, size_t n, uint64_t *v)
{
	if (left(r) < 1 + n) {
		return fail(r);
	}
	*v = be(r->p + 1, n);
	r->p += 1 + n;
	return 0;
}

mpr_kind
mpr_peek(const mpr *r)
{
	uint8_t b;

	if (r->bad || r->p >= r->end) {
		return MPR_NONE;
	}
	b = *r->p;
	if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
		return MPR_UINT;
	}
	if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3)) {
		return MPR_NINT; // or a non-negative value in a signed format
	}
	if (b <= 0x8f || b == 0xde || b == 0xdf) {
		return MPR_MAP;
	}
	if (b <= 0x9f || b == 0xdc || b == 0xdd) {
		return MPR_ARRAY;
	}
	if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb)) {
		return MPR_STR;
	}
	switch (b) {
	case 0xc0:
		return MPR_NIL;
	case 0xc2:
	case 0xc3:
		return MPR_BOOL;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return MPR_BIN;
	case 0xca:
	case 0xcb:
		return MPR_FLOAT;
	case 0xc1:
		return MPR_NONE;
	default:
		return MPR_EXT; // c7-c9, d4-d8
	}
}

bool
mpr_done(const mpr *r)
{
	return !r->bad && r->p == r->end;
}

// container reads an array (pair 1) or map (pair 2) header.
static int
container(mpr *r, uint32_t *n, uint8_t fix, uint8_t b16, size_t pair)
{
	uint64_t v;
	uint8_t  b;

	if (r->bad || r->p >= r->end) {
		return fail(r);
	}
	b = *r->p;
	if ((b & 0xf0) == fix) {
		v = b & 0x0f;
		r->p++;
	} else if (b == b16) {
		if (take(r, 2, &v) != 0) {
			return -1;
		}
	} else if (b == b16 + 1) {
		if (take(r, 4, &v) != 0) {
			return -1;
		}
	} else {
		return fail(r);
	}
	// Every value takes at least one byte.
	if (v > left(r) / pair) {
		return fail(r);
	}
	*n = (uint32_t) v;
	return 0;
}

int
mpr_array(mpr *r, uint32_t *n)
{
	return container(r, n, 0x90, 0xdc, 1);
}

int
mpr_map(mpr *r, uint32_t *n)
{
	return container(r, n, 0x80, 0xde, 2);
}

int
mpr_int(mpr *r, int64_t *v)
{
	uint64_t u;
	uint8_t  b;

	if (r->bad || r->p >= r->end) {
		return fail(r);
	}
	b = *r->p;
	if (b <= 0x7f) {
		*v = b;
		r->p++;
		return 0;
	}
	if (b >= 0xe0) {
		*v = (int8_t) b;
		r->p++;
		return 0;
	}
	if (b >= 0xcc && b <= 0xcf) {
		if (take(r, (size_t) 1 << (b - 0xcc), &u) != 0) {
			return -1;
		}
		if (u > INT64_MAX) {
			return fail(r);
		}
		*v = (int64_t) u;
		return 0;
	}
	if (b >= 0xd0 && b <= 0xd3) {
		size_t n = (size_t) 1 << (b - 0xd0);

		if (take(r, n, &u) != 0) {
			return -1;
		}
		// Sign-extend from n bytes.
		if (n < 8 && (u >> (n * 8 - 1)) != 0) {
			u |= ~(uint64_t) 0 << (n * 8);
		}
		*v = (int64_t) u;
		return 0;
	}
	return fail(r);
}

int
mpr_uint(mpr *r, uint64_t *v)
{
	const uint8_t *p = r->p;
	uint64_t       u;
	int64_t        s;

	if (r->bad || r->p >= r->end) {
		return fail(r);
	}
	if (*p >= 0xcc && *p <= 0xcf) {
		return take(r, (size_t) 1 << (*p - 0xcc), v);
	}
	if (mpr_int(r, &s) != 0) {
		return -1;
	}
	if (s < 0) {
		r->p = p;
		return fail(r);
	}
	u  = (uint64_t) s;
	*v = u;
	return 0;
}

int
mpr_bool(mpr *r, bool *v)
{
	if (r->bad || r->p >= r->end || (*r->p != 0xc2 && *r->p != 0xc3)) {
		return fail(r);
	}
	*v = *r->p++ == 0xc3;
	return 0;
}

int
mpr_nil(mpr *r)
{
	if (r->bad || r->p >= r->end || *r->p != 0xc0) {
		return fail(r);
	}
	r->p++;
	return 0;
}

int
mpr_bytes(mpr *r, const void **p, size_t *n)
{
	uint64_t len;
	uint8_t  b;

	if (r->bad || r->p >= r->end) {
		return fail(r);
	}
	b = *r->p;
	if (b >= 0xa0 && b <= 0xbf) {
		len = b & 0x1f;
		r->p++;
	} else if (b >= 0xd9 && b <= 0xdb) {
		if (take(r, (size_t) 1 << (b - 0xd9), &len) != 0) {
			return -1;
		}
	} else if (b >= 0xc4 && b <= 0xc6) {
		if (take(r, (size_t) 1 << (b - 0xc4), &len) != 0) {
			return -1;
		}
	} else {
		return fail(r);
	}
	if (len > left(r)) {
		return fail(r);
	}
	*p = r->p;
	*n = (size_t) len;
	r->p += len;
	return 0;
}

bool
mpr_is(const void *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

int
mpr_number(mpr *r, double *v)
{
	uint64_t u;
	int64_t  s;
	uint32_t f32;
	float    f;

	if (mpr_peek(r) == MPR_FLOAT) {
		if (*r->p == 0xca) {
			if (take(r, 4, &u) != 0) {
				return -1;
			}
			f32 = (uint32_t) u;
			memcpy(&f, &f32, sizeof(f));
			*v = f;
			return 0;
		}
		if (take(r, 8, &u) != 0) {
			return -1;
		}
		memcpy(v, &u, sizeof(*v));
		return 0;
	}
	if (mpr_peek(r) == MPR_UINT && *r->p == 0xcf) {
		if (mpr_uint(r, &u) != 0) {
			return -1;
		}
		*v = (double) u;
		return 0;
	}
	if (mpr_int(r, &s) != 0) {
		return -1;
	}
	*v = (double) s;
	return 0;
}

static int
skip(mpr *r, int depth)
{
	uint64_t    v;
	uint32_t    n, i;
	const void *p;
	size_t      len;
	uint8_t     b;

	if (depth > MPR_DEPTH_MAX || r->bad || r->p >= r->end) {
		return fail(r);
	}
	b = *r->p;
	switch (mpr_peek(r)) {
	case MPR_NIL:
	case MPR_BOOL:
		r->p++;
		return 0;
	case MPR_UINT:
	case MPR_NINT: {
		int64_t s;

		if (b == 0xcf) {
			return take(r, 8, &v);
		}
		return mpr_int(r, &s);
	}
	case MPR_FLOAT:
		return take(r, b == 0xca ? 4 : 8, &v);
	case MPR_STR:
	case MPR_BIN:
		return mpr_bytes(r, &p, &len);
	case MPR_ARRAY:
		if (mpr_array(r, &n) != 0) {
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (skip(r, depth + 1) != 0) {
				return -1;
			}
		}
		return 0;
	case MPR_MAP:
		if (mpr_map(r, &n) != 0) {
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (skip(r, depth + 1) != 0 || skip(r, depth + 1) != 0) {
				return -1;
			}
		}
		return 0;
	case MPR_EXT:
		if (b >= 0xd4 && b <= 0xd8) {
			len = (size_t) 1 << (b - 0xd4);
			if (left(r) < 2 + len) {
				return fail(r);
			}
			r->p += 2 + len;
			return 0;
		}
		if (take(r, (size_t) 1 << (b - 0xc7), &v) != 0) {
			return -1;
		}
		if (left(r) < 1 || v > left(r) - 1) {
			return fail(r);
		}
		r->p += 1 + v;
		return 0;
	default:
		return fail(r);
	}
}

int
mpr_skip(mpr *r)
{
	return skip(r, 0);
}

int
mpr_fields(const void *body, size_t len, mpr_field *f, size_t nf)
{
	uint32_t n, i;
	size_t   j;
	mpr      r;

	for (j = 0; j < nf; j++) {
		f[j].seen = false;
	}
	mpr_init(&r, body, len);
	if (mpr_map(&r, &n) != 0) {
		return -1;
	}
	for (i = 0; i < n && !r.bad; i++) {
		const void *k;
		size_t      kn;

		if (mpr_bytes(&r, &k, &kn) != 0) {
			return -1;
		}
		for (j = 0; j < nf && !mpr_is(k, kn, f[j].name); j++) { }
		if (j == nf) {
			mpr_skip(&r);
			continue;
		}
		switch (f[j].kind) {
		case MPR_UINT:
			f[j].seen = mpr_uint(&r, f[j].to) == 0;
			break;
		case MPR_NINT:
			f[j].seen = mpr_int(&r, f[j].to) == 0;
			break;
		default:
			f[j].seen = mpr_bool(&r, f[j].to) == 0;
			break;
		}
	}
	return mpr_done(&r) ? 0 : -1;
}
