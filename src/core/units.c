// SPDX-License-Identifier: MIT
// units.c -- durations ("250ms", "1.5s") and sizes ("64KiB") as written
// in config files; and a listener's URL with the port it bound
// (arb__url_bound).
//
// A value is digits (the base unit: milliseconds, bytes) or a decimal
// number ("1", "1.5"; no sign, no exponent, no blanks) followed by exactly
// one unit.  Results are rounded to the nearest base unit and must fit an
// int64 (durations) or uint64 (sizes).  Thread: any.

#include "arb_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
	const char *name;
	double      mult;
} unit;

static const unit dur_units[]
    = { { "ms", 1 }, { "s", 1e3 }, { "m", 6e4 }, { "h", 3.6e6 }, { NULL, 0 } };

static const unit size_units[] = { { "B", 1 }, { "kB", 1e3 }, { "KB", 1e3 },
	{ "MB", 1e6 }, { "GB", 1e9 }, { "TB", 1e12 }, { "KiB", 1024.0 },
	{ "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
	{ "TiB", 1099511627776.0 }, { NULL, 0 } };

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

// units_parse reads number+unit into *vp (not yet truncated); *plain is
// set, and *vp left alone, when s is digits only.
static int
units_parse(
    const char *s, const unit *units, double max, double *vp, bool *plain)
{
	const char *p = s;
	char       *end;
	double      v;
	size_t      i;

	if (!is_digit(*p)) {
		return ARB_EINVAL;
	}
	while (is_digit(*p)) {
		p++;
	}
	*plain = *p == '\0';
	if (*plain) {
		return ARB_OK;
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p)) {
			return ARB_EINVAL;
		}
		while (is_digit(*p)) {
			p++;
		}
	}
	v = strtod(s, &end);
	if (end != p) {
		return ARB_EINVAL;
	}
	for (i = 0; units[i].name != NULL; i++) {
		if (strcmp(p, units[i].name) == 0) {
			v = v * units[i].mult
			    + 0.5; // rounded by the caller's cast
			if (!(v < max)) {
				return ARB_EINVAL;
			}
			*vp = v;
			return ARB_OK;
		}
	}
	return ARB_EINVAL;
}

// units_digits converts a string of digits, refusing overflow.
static int
units_digits(const char *s, uint64_t max, uint64_t *vp)
{
	uint64_t v = 0;

	for (; *s != '\0'; s++) {
		unsigned d = (unsigned) (*s - '0');
		if (v > (max - d) / 10) {
			return ARB_EINVAL;
		}
		v = v * 10 + d;
	}
	*vp = v;
	return ARB_OK;
}

int
arb__parse_dur_ms(const char *s, int64_t *msp)
{
	double   v;
	bool     plain;
	uint64_t u;
	int      rv;

	// 9.2e18 is exactly representable; anything at or above it is not
	// an int64.
	if ((rv = units_parse(s, dur_units, 9.2e18, &v, &plain)) != ARB_OK) {
		return rv;
	}
	if (plain) {
		if ((rv = units_digits(s, INT64_MAX, &u)) != ARB_OK) {
			return rv;
		}
		*msp = (int64_t) u;
		return ARB_OK;
	}
	*msp = (int64_t) v;
	return ARB_OK;
}

int
arb__parse_size(const char *s, uint64_t *bytesp)
{
	double v;
	bool   plain;
	int    rv;

	if ((rv = units_parse(s, size_units, 1.8e19, &v, &plain)) != ARB_OK) {
		return rv;
	}
	if (plain) {
		return units_digits(s, UINT64_MAX, bytesp);
	}
	*bytesp = (uint64_t) v;
	return ARB_OK;
}

const char *
arb__url_bound(const char *url, int port, char *buf, size_t len)
{
	const char *host, *colon;
	int         n;

	if (url == NULL || port <= 0 || port > 65535
	    || (strncmp(url, "tcp", 3) != 0 && strncmp(url, "tls+tcp", 7) != 0)
	    || (host = strstr(url, "://")) == NULL
	    || (colon = strrchr(url, ':')) < host + 3
	    || strcmp(colon, ":0") != 0) {
		return url;
	}
	n = snprintf(buf, len, "%.*s:%d", (int) (colon - url), url, port);
	return n > 0 && (size_t) n < len ? buf : url;
}
