// SPDX-License-Identifier: MIT
// escape.c -- the control bytes of text from outside written as \xNN, so
// that the text cannot end a log line and forge the next one.
//
// Text that comes from outside (an exec child's output, a path given to
// arborctl, a topic, a peer's name) goes into a log line through here:
// the bytes below 0x20 but TAB, and DEL (0x7f), become "\xNN"; every other
// byte is copied as it is (UTF-8 or not: the bytes 0x80-0xff end no
// line).  Pure, no allocation.
// Thread: any.

#include "arb_impl.h"

#include <string.h>

size_t
arb__escape(const char *in, size_t n, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t            i, k = 0;

	if (len == 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) in[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			if (k + 4 >= len) {
				break;
			}
			out[k++] = '\\';
			out[k++] = 'x';
			out[k++] = hex[ch >> 4];
			out[k++] = hex[ch & 15];
		} else {
			if (k + 1 >= len) {
				break;
			}
			out[k++] = (char) ch;
		}
	}
	out[k] = '\0';
	return i;
}
