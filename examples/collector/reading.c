// SPDX-License-Identifier: MIT
// reading.c -- parsing and validating sensor lines (reading.h).  Pure
// functions: no allocation, no global state.  Thread: any.

#include "reading.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_names[READING_ERR_COUNT] = { "ok", "empty",
	"too_long", "bad_field", "bad_number", "duplicate", "too_many",
	"bad_checksum", "no_checksum", "out_of_range", "missing",
	"bad_message", "bad_stream" };

const char *
reading_err_name(reading_err e)
{
	return (unsigned) e < READING_ERR_COUNT ? err_names[e] : "unknown";
}

void
reading_rules_default(reading_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->max_line   = 512;
	r->max_values = 16;
	r->checksum   = READING_CHECKSUM_OPTIONAL;
}

uint8_t
reading_checksum_of(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t        x = 0;

	while (n-- > 0) {
		x ^= *b++;
	}
	return x;
}

uint32_t
reading_stream_id(const void *name, size_t n)
{
	const uint8_t *b = name;
	uint32_t       h = 2166136261u;

	while (n-- > 0) {
		h ^= *b++;
		h *= 16777619u;
	}
	return h;
}

size_t
reading_json_str(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t            o     = 0, i;

	if (cap < 2) {
		return 0;
	}
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\') {
			if (o + 2 >= cap) {
				return 0;
			}
			out[o++] = '\\';
			out[o++] = (char) c;
		} else if (c < 0x20 || c == 0x7f) {
			if (o + 6 >= cap) {
				return 0;
			}
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else {
			if (o + 1 >= cap) {
				return 0;
			}
			out[o++] = (char) c;
		}
	}
	if (o + 1 >= cap) {
		return 0;
	}
	out[o++] = '"';
	out[o]   = '\0';
	return o;
}

static bool
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static bool
is_blank(char c)
{
	return is_sep(c) || c == '\r' || c == '\n';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static bool
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > READING_NAME_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alpha
		    = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

		if (!alpha && (i == 0 || c < '0' || c > '9')) {
			return false;
		}
	}
	return true;
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
	}
	return i;
}

// number_ok checks the JSON number grammar and reads the value.
static bool
number_ok(const char *s, size_t n, double *v)
{
	char   buf[READING_NUMBER_MAX + 1];
	size_t i = 0, j;

	if (n == 0 || n > READING_NUMBER_MAX) {
		return false;
	}
	if (s[i] == '-') {
		i++;
	}
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		i = digits(s, i, n);
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		j = digits(s, i + 1, n);
		if (j == i + 1) {
			return false;
		}
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-')) {
			i++;
		}
		j = digits(s, i, n);
		if (j == i) {
			return false;
		}
		i = j;
	}
	if (i != n) {
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v     = strtod(buf, NULL);
	return isfinite(*v);
}

typedef struct field {
	const char *name;
	size_t      nlen;
	const char *num;
	size_t      vlen;
	double      v;
} field;

reading_err
reading_parse(const void *line, size_t len, const reading_rules *rules,
    char *json, size_t cap, size_t *jlen, const char **bad_name,
    size_t *bad_len)
{
	const char *s = line, *star;
	field       f[READING_VALUES_MAX];
	size_t      a = 0, b = len, nf = 0, i, j, o;
	size_t      maxv = rules->max_values;

	if (maxv == 0 || maxv > READING_VALUES_MAX) {
		maxv = READING_VALUES_MAX;
	}
	if (bad_name != NULL) {
		*bad_name = NULL;
		*bad_len  = 0;
	}
	if (len > rules->max_line || len > READING_LINE_MAX) {
		return READING_TOO_LONG;
	}
	while (a < b && is_blank(s[a])) {
		a++;
	}
	while (b > a && is_blank(s[b - 1])) {
		b--;
	}
	if (a == b) {
		return READING_EMPTY;
	}
	// The checksum token: a '*' can be nothing else.
	if ((star = memchr(s + a, '*', b - a)) != NULL) {
		size_t k = (size_t) (star - s);
		int    hi, lo;

		if (b - k != 3 || (k > a && !is_sep(s[k - 1]))
		    || (hi = hexval(s[k + 1])) < 0
		    || (lo = hexval(s[k + 2])) < 0) {
			return READING_BAD_CHECKSUM;
		}
		if (rules->checksum != READING_CHECKSUM_IGNORE
		    && reading_checksum_of(s, k) != (uint8_t) (hi << 4 | lo)) {
			return READING_BAD_CHECKSUM;
		}
		b = k;
		while (b > a && is_blank(s[b - 1])) {
			b--;
		}
		if (a == b) {
			return READING_EMPTY;
		}
	} else if (rules->checksum == READING_CHECKSUM_REQUIRED) {
		return READING_NO_CHECKSUM;
	}
	// Fields.
	i = a;
	while (i < b) {
		const char *eq;
		size_t      end = i;

		while (end < b && !is_sep(s[end])) {
			end++;
		}
		if (nf == maxv) {
			return READING_TOO_MANY;
		}
		eq = memchr(s + i, '=', end - i);
		if (eq == NULL || !name_ok(s + i, (size_t) (eq - (s + i)))) {
			return READING_BAD_FIELD;
		}
		f[nf].name = s + i;
		f[nf].nlen = (size_t) (eq - (s + i));
		f[nf].num  = eq + 1;
		f[nf].vlen = (size_t) (s + end - (eq + 1));
		if (!number_ok(f[nf].num, f[nf].vlen, &f[nf].v)) {
			if (bad_name != NULL) {
				*bad_name = f[nf].name;
				*bad_len  = f[nf].nlen;
			}
			return READING_BAD_NUMBER;
		}
		for (j = 0; j < nf; j++) {
			if (f[j].nlen == f[nf].nlen
			    && memcmp(f[j].name, f[nf].name, f[nf].nlen) == 0) {
				return READING_DUPLICATE;
			}
		}
		nf++;
		i = end;
		while (i < b && is_sep(s[i])) {
			i++;
		}
	}
	// Rules.
	for (i = 0; i < rules->nlimits; i++) {
		const reading_limit *l = &rules->limits[i];
		size_t               ln = strlen(l->name);

		for (j = 0; j < nf; j++) {
			if (f[j].nlen == ln && memcmp(f[j].name, l->name, ln) == 0
			    && (f[j].v < l->lo || f[j].v > l->hi)) {
				if (bad_name != NULL) {
					*bad_name = f[j].name;
					*bad_len  = f[j].nlen;
				}
				return READING_OUT_OF_RANGE;
			}
		}
	}
	for (i = 0; i < rules->nrequired; i++) {
		size_t ln = strlen(rules->required[i]);

		for (j = 0; j < nf; j++) {
			if (f[j].nlen == ln
			    && memcmp(f[j].name, rules->required[i], ln) == 0) {
				break;
			}
		}
		if (j == nf) {
			return READING_MISSING;
		}
	}
	// {"name":number,...}: at most 4 bytes more per field than the line.
	o = 0;
	if (cap < 3) {
		return READING_TOO_LONG;
	}
	json[o++] = '{';
	for (j = 0; j < nf; j++) {
		if (o + f[j].nlen + f[j].vlen + 5 >= cap) {
			return READING_TOO_LONG;
		}
		if (j > 0) {
			json[o++] = ',';
		}
		json[o++] = '"';
		memcpy(json + o, f[j].name, f[j].nlen);
		o += f[j].nlen;
		json[o++] = '"';
		json[o++] = ':';
		memcpy(json + o, f[j].num, f[j].vlen);
		o += f[j].vlen;
	}
	json[o++] = '}';
	json[o]   = '\0';
	*jlen     = o;
	return READING_OK;
}
