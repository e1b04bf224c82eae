// SPDX-License-Identifier: MIT
// text.h -- a growing, NUL-terminated text buffer: the answers of the
// control socket, HTTP, the tree document and the health texts are built
// in it.  See text.c.

#ifndef ARBOR_TOOL_TEXT_H
#define ARBOR_TOOL_TEXT_H

#include <stddef.h>

// arb__text is a growing, always NUL-terminated text buffer.  A zeroed
// arb__text is empty and ready; arb__text_fini releases it.  Out of
// memory ends the program (exit 70), like arb__xalloc.
typedef struct arb__text {
	char  *p;
	size_t len;
	size_t cap;
} arb__text;

// arb__text_printf appends formatted text.
void arb__text_printf(arb__text *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// arb__text_add appends n bytes of s.
void arb__text_add(arb__text *b, const char *s, size_t n);
// arb__text_json_str appends s as a JSON string (quotes included); NULL
// gives null.  Quotes, backslashes and control characters are escaped;
// UTF-8 sequences are copied as they are, and each byte that is not
// part of one (arb__utf8_len) is written \ufffd (U+FFFD, the
// replacement character): the JSON is UTF-8 whatever s holds.
void arb__text_json_str(arb__text *b, const char *s);
// arb__text_fini releases the text and leaves b zeroed.  Calling it on a
// zeroed buffer is a harmless no-op.
void arb__text_fini(arb__text *b);

#endif // ARBOR_TOOL_TEXT_H
