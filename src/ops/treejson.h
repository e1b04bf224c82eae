// SPDX-License-Identifier: MIT
// treejson.h -- the live tree as JSON, shared by the control socket
// (`arborctl status --json`) and HTTP (/api/tree), plus the small text
// buffer both build their answers in.  See treejson.c and
// docs/operations.md for the document.  Thread: node.

#ifndef ARBOR_TOOL_TREEJSON_H
#define ARBOR_TOOL_TREEJSON_H

#include "serve.h"

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
// other bytes (UTF-8) are copied as they are.
void arb__text_json_str(arb__text *b, const char *s);
// arb__text_fini releases the text and leaves b zeroed.  Calling it on a
// zeroed buffer is a harmless no-op.
void arb__text_fini(arb__text *b);

// arb__isolation_word, arb__restart_word and arb__strategy_word give
// the words of the tree file ("thread", "permanent", "one_for_one"...).
// They can't fail.
const char *arb__isolation_word(arb_isolation i);
const char *arb__restart_word(arb_restart r);
const char *arb__strategy_word(arb_strategy s);
// arb__metric_type_word gives "counter", "gauge" or "histogram".
const char *arb__metric_type_word(arb_metric_type t);

// arb__live_json appends the node and its whole live tree (from
// arb_node_walk) to b as one JSON object.  This function can't fail.
// Thread: node.
void arb__live_json(arb__serve *run, arb__text *b);

#endif // ARBOR_TOOL_TREEJSON_H
