// SPDX-License-Identifier: MIT
// escape.c -- outside text made safe for one log line: its control bytes
// and the bytes that are not UTF-8 written as \xNN, so that the text
// cannot end the line and forge the next one, and journald keeps the
// line as text (it shows a line that is not UTF-8 as a blob).
//
// Text that comes from outside (an exec child's output, a path given to
// arborctl, a topic, a peer's name) goes into a log line through here:
// the bytes below 0x20 but TAB, DEL (0x7f), and each byte of a sequence
// that is not UTF-8 (RFC 3629) become "\xNN"; every other byte, UTF-8
// sequences whole, is copied as it is.  The UTF-8 rules themselves
// (arb__utf8_len, arb__utf8_cut) serve the JSON the node writes too.
// Pure, no allocation.
// Thread: any.

#include "arb_impl.h"

#include <string.h>

size_t
arb__utf8_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t               len, k;
	unsigned             cp;

	if (n == 0) {
		return 0;
	}
	if (u[0] < 0x80) {
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		cp = u[0] & 0x1fu;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		cp = u[0] & 0x0fu;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		cp = u[0] & 0x07u;
	} else {
		return 0; // a continuation byte, 0xc0, 0xc1, 0xf5-0xff
	}
	if (n < len) {
		return 0;
	}
	for (k = 1; k < len; k++) {
		if ((u[k] & 0xc0u) != 0x80u) {
			return 0;
		}
		cp = cp << 6 | (u[k] & 0x3fu);
	}
	// No overlong form, no surrogate, nothing above U+10FFFF.
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
	    || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return len;
}

size_t
arb__utf8_cut(const char *s, size_t n)
{
	size_t        i = n;
	unsigned char lead;
	size_t        want;

	// Back over at most 3 continuation bytes to the byte that starts
	// the last sequence; cut before it if it announces more bytes than
	// are there.
	while (i > 0 && n - i < 3
	    && ((unsigned char) s[i - 1] & 0xc0u) == 0x80u) {
		i--;
	}
	if (i == 0) {
		return n;
	}
	lead = (unsigned char) s[i - 1];
	want = lead >= 0xf0 && lead <= 0xf4 ? 4
	    : lead >= 0xe0 && lead <= 0xef  ? 3
	    : lead >= 0xc2 && lead <= 0xdf  ? 2
	                                    : 0;
	return want > n - (i - 1) ? i - 1 : n;
}

size_t
arb__escape(const char *in, size_t n, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t            i, k = 0, seq;

	if (len == 0) {
		return 0;
	}
	for (i = 0; i < n; i += seq) {
		unsigned char ch = (unsigned char) in[i];

		seq = (ch < 0x20 && ch != '\t') || ch == 0x7f
		    ? 0
		    : arb__utf8_len(in + i, n - i);
		if (seq == 0) {
			if (k + 4 >= len) {
				break;
			}
			out[k++] = '\\';
			out[k++] = 'x';
			out[k++] = hex[ch >> 4];
			out[k++] = hex[ch & 15];
			seq = 1;
		} else {
			if (k + seq >= len) {
				break; // a sequence is never cut
			}
			memcpy(out + k, in + i, seq);
			k += seq;
		}
	}
	out[k] = '\0';
	return i;
}
