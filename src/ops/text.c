// SPDX-License-Identifier: MIT
// text.c -- arb__text, the growing text buffer the operator layer builds
// its answers in (text.h).  Thread: any (one buffer, one thread).

#include "text.h"

#include "../core/arb_impl.h"
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
buf_reserve(arb__text *b, size_t more)
{
	size_t cap;
	char  *p;

	if (b->len + more + 1 <= b->cap) {
		return;
	}
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1) {
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL) {
		arb__oom();
	}
	b->p = p;
	b->cap = cap;
}

void
arb__text_add(arb__text *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
arb__text_printf(arb__text *b, const char *fmt, ...)
{
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0) {
		return;
	}
	buf_reserve(b, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

void
arb__text_json_str(arb__text *b, const char *s)
{
	size_t i, n, seq;

	if (s == NULL) {
		arb__text_add(b, "null", 4);
		return;
	}
	arb__text_add(b, "\"", 1);
	n = strlen(s);
	for (i = 0; i < n; i += seq) {
		unsigned char c = (unsigned char) s[i];

		seq = 1;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char) c };
			arb__text_add(b, esc, 2);
		} else if (c == '\n') {
			arb__text_add(b, "\\n", 2);
		} else if (c < 0x20 || c == 0x7f) {
			arb__text_printf(b, "\\u%04x", c);
		} else if ((seq = arb__utf8_len(s + i, n - i)) != 0) {
			arb__text_add(b, s + i, seq); // ASCII or UTF-8
		} else {
			// JSON is UTF-8 (RFC 8259): a byte that is not part
			// of a UTF-8 sequence is U+FFFD, the replacement
			// character.
			arb__text_add(b, "\\ufffd", 6);
			seq = 1;
		}
	}
	arb__text_add(b, "\"", 1);
}

void
arb__text_fini(arb__text *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}
