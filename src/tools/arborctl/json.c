// SPDX-License-Identifier: MIT
// json.c -- a small JSON reader that writes msgpack (json.h).
//
// msgpack needs the number of entries of a map or array before them, so
// each container is read twice: once to count and validate (nothing is
// written), then again to write.  Deep documents cost depth x size, which
// is nothing for command-line values and the node's tree document.  No
// dependency beyond msgpack-c, which arborctl links anyway.  No shared
// state.  Thread: any.

#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_MAX 64

typedef struct jp {
	const char     *s;
	size_t          i;
	size_t          n;
	int             depth;
	msgpack_packer *pk; // NULL: validate and count only
	int             flags;
	char           *err;
	size_t          errlen;
	bool            failed;
} jp;

static int j_value(jp *p);

static int
j_fail(jp *p, const char *what)
{
	if (!p->failed && p->errlen > 0) {
		snprintf(p->err, p->errlen, "offset %zu: %s", p->i, what);
	}
	p->failed = true;
	return -1;
}

static void
j_ws(jp *p)
{
	while (p->i < p->n
	    && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n'
	        || p->s[p->i] == '\r')) {
		p->i++;
	}
}

static int
j_hex4(jp *p, unsigned *u)
{
	int k;

	*u = 0;
	for (k = 0; k < 4; k++) {
		char c = p->i < p->n ? p->s[p->i] : '\0';

		*u <<= 4;
		if (c >= '0' && c <= '9') {
			*u |= (unsigned) (c - '0');
		} else if (c >= 'a' && c <= 'f') {
			*u |= (unsigned) (c - 'a' + 10);
		} else if (c >= 'A' && c <= 'F') {
			*u |= (unsigned) (c - 'A' + 10);
		} else {
			return j_fail(p, "\\u needs four hex digits");
		}
		p->i++;
	}
	return 0;
}

static size_t
utf8_put(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char) (0xc0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char) (0xe0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char) (0xf0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char) (0x80 | (cp & 0x3f));
	return 4;
}

// utf8_seq is the length of the UTF-8 sequence at s (n bytes there, n >
// 0, s[0] >= 0x80), or 0 when it is not one (RFC 3629: a lone or
// missing continuation byte, an overlong form, a surrogate, above
// U+10FFFF, 0xc0, 0xc1, 0xf5-0xff).
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t   len, k;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0u) != 0x80u) {
			return 0;
		}
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
	    || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return len;
}

size_t
utf8_invalid_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t               i = 0, k;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
		} else if ((k = utf8_seq(u + i, n - i)) != 0) {
			i += k;
		} else {
			return i;
		}
	}
	return n;
}

// j_string reads a string at p->i (the opening quote) and packs it.  The
// decoded text is never longer than the source, so one buffer of the
// source's size holds it.
static int
j_string(jp *p)
{
	size_t   start = ++p->i, used = 0;
	char    *buf = NULL;
	unsigned u, lo;

	if (p->pk != NULL) {
		if ((buf = malloc(p->n - start + 1)) == NULL) {
			return j_fail(p, "out of memory");
		}
	}
	for (;;) {
		unsigned char c;

		if (p->i >= p->n) {
			free(buf);
			return j_fail(p, "unterminated string");
		}
		c = (unsigned char) p->s[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20) {
			free(buf);
			return j_fail(p,
			    "control character in a string (write "
			    "\\n, \\t, \\u00XX)");
		}
		if (c >= 0x80 && (p->flags & JSON_UTF8) != 0) {
			const unsigned char *at
			    = (const unsigned char *) p->s + p->i;
			size_t k = utf8_seq(at, p->n - p->i);

			if (k == 0) {
				char what[80];

				free(buf);
				snprintf(what, sizeof(what),
				    "not UTF-8 (byte 0x%02x in a string)", c);
				return j_fail(p, what);
			}
			if (buf != NULL) {
				memcpy(buf + used, at, k);
				used += k;
			}
			p->i += k;
			continue;
		}
		if (c != '\\') {
			if (buf != NULL) {
				buf[used++] = (char) c;
			}
			p->i++;
			continue;
		}
		p->i++;
		c = p->i < p->n ? (unsigned char) p->s[p->i++] : '\0';
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (j_hex4(p, &u) != 0) {
				free(buf);
				return -1;
			}
			if (u >= 0xd800 && u < 0xdc00) {
				if (p->i + 1 >= p->n || p->s[p->i] != '\\'
				    || p->s[p->i + 1] != 'u') {
					free(buf);
					return j_fail(
					    p, "lone surrogate in \\u");
				}
				p->i += 2;
				if (j_hex4(p, &lo) != 0) {
					free(buf);
					return -1;
				}
				if (lo < 0xdc00 || lo > 0xdfff) {
					free(buf);
					return j_fail(
					    p, "lone surrogate in \\u");
				}
				u = 0x10000 + ((u - 0xd800) << 10)
				    + (lo - 0xdc00);
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				free(buf);
				return j_fail(p, "lone surrogate in \\u");
			}
			if (buf != NULL) {
				used += utf8_put(buf + used, u);
			}
			continue;
		default:
			free(buf);
			return j_fail(p, "unknown escape in a string");
		}
		if (buf != NULL) {
			buf[used++] = (char) c;
		}
	}
	if (buf != NULL) {
		msgpack_pack_str(p->pk, used);
		msgpack_pack_str_body(p->pk, buf, used);
		free(buf);
	}
	return 0;
}

static int
j_number(jp *p)
{
	size_t start = p->i;
	bool   is_float = false;
	char   tmp[64], *end;

	if (p->s[p->i] == '-') {
		p->i++;
	}
	if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') {
		return j_fail(p, "expected a digit");
	}
	if (p->s[p->i] == '0') {
		p->i++;
	} else {
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
			p->i++;
		}
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		is_float = true;
		p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') {
			return j_fail(p, "expected a digit after '.'");
		}
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
			p->i++;
		}
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		is_float = true;
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) {
			p->i++;
		}
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') {
			return j_fail(p, "expected a digit in the exponent");
		}
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
			p->i++;
		}
	}
	if (p->i - start >= sizeof(tmp)) {
		is_float = true; // too many digits for an integer anyway
	}
	if (p->pk == NULL) {
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int) (p->i - start), p->s + start);
	errno = 0;
	if (!is_float && tmp[0] == '-') {
		long long v = strtoll(tmp, &end, 10);

		if (errno == 0) {
			msgpack_pack_int64(p->pk, v);
			return 0;
		}
	} else if (!is_float) {
		unsigned long long v = strtoull(tmp, &end, 10);

		if (errno == 0) {
			msgpack_pack_uint64(p->pk, v);
			return 0;
		}
	}
	// A float, or an integer beyond 64 bits: strtod reads the source
	// itself (tmp may be cut short).
	{
		char  *num = strndup(p->s + start, p->i - start);
		double d;

		if (num == NULL) {
			return j_fail(p, "out of memory");
		}
		d = strtod(num, NULL);
		free(num);
		if (isinf(d)) {
			return j_fail(p, "number out of range");
		}
		msgpack_pack_double(p->pk, d);
	}
	return 0;
}

static int
j_word(jp *p, const char *w)
{
	size_t n = strlen(w);

	if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0) {
		return j_fail(p, "expected a JSON value");
	}
	p->i += n;
	return 0;
}

// j_items reads the entries of an array or object after its opening
// bracket, counting them in *count and packing them when p->pk is set.
static int
j_items(jp *p, bool object, uint32_t *count)
{
	char close = object ? '}' : ']';

	*count = 0;
	j_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		j_ws(p);
		if (object) {
			if (p->i >= p->n || p->s[p->i] != '"') {
				return j_fail(p, "expected a string key");
			}
			if (j_string(p) != 0) {
				return -1;
			}
			j_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':') {
				return j_fail(p, "expected ':' after a key");
			}
			p->i++;
		}
		if (j_value(p) != 0) {
			return -1;
		}
		if (*count == UINT32_MAX) {
			return j_fail(p, "too many entries");
		}
		(*count)++;
		j_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			return 0;
		}
		return j_fail(
		    p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int
j_container(jp *p, bool object)
{
	uint32_t count;
	int      rv;

	if (++p->depth > JSON_DEPTH_MAX) {
		return j_fail(p, "nested too deeply (64 levels at most)");
	}
	p->i++; // the bracket
	if (p->pk != NULL) {
		jp q = *p; // count first: msgpack wants the size up front

		q.pk = NULL;
		if (j_items(&q, object, &count) != 0) {
			p->failed = q.failed;
			p->i = q.i;
			return -1;
		}
		if (object) {
			msgpack_pack_map(p->pk, count);
		} else {
			msgpack_pack_array(p->pk, count);
		}
	}
	rv = j_items(p, object, &count);
	p->depth--;
	return rv;
}

static int
j_value(jp *p)
{
	j_ws(p);
	if (p->i >= p->n) {
		return j_fail(p, "expected a JSON value, got the end");
	}
	switch (p->s[p->i]) {
	case '{':
		return j_container(p, true);
	case '[':
		return j_container(p, false);
	case '"':
		return j_string(p);
	case 't':
		if (j_word(p, "true") == 0 && p->pk != NULL) {
			msgpack_pack_true(p->pk);
		}
		return p->failed ? -1 : 0;
	case 'f':
		if (j_word(p, "false") == 0 && p->pk != NULL) {
			msgpack_pack_false(p->pk);
		}
		return p->failed ? -1 : 0;
	case 'n':
		if (j_word(p, "null") == 0 && p->pk != NULL) {
			msgpack_pack_nil(p->pk);
		}
		return p->failed ? -1 : 0;
	default:
		if (p->s[p->i] == '-'
		    || (p->s[p->i] >= '0' && p->s[p->i] <= '9')) {
			return j_number(p);
		}
		return j_fail(p, "expected a JSON value");
	}
}

int
json_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out, int flags,
    char *err, size_t errlen)
{
	msgpack_packer pk;
	jp             p = { .s = text, .n = len, .flags = flags };

	p.err = err;
	p.errlen = errlen;
	if (errlen > 0) {
		err[0] = '\0';
	}
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	p.pk = &pk;
	if (j_value(&p) != 0) {
		return -1;
	}
	j_ws(&p);
	if (p.i != p.n) {
		return j_fail(&p, "text after the JSON value");
	}
	return 0;
}
