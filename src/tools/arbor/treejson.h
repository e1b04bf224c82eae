// SPDX-License-Identifier: MIT
// treejson.h -- the live tree as JSON, shared by the control socket
// (`arborctl status --json`) and HTTP (/api/tree), plus the small text
// buffer both build their answers in.  See treejson.c and
// docs/operations.md for the document.  Thread: node.

#ifndef ARBOR_TOOL_TREEJSON_H
#define ARBOR_TOOL_TREEJSON_H

#include "services.h"

#include <stddef.h>

// arbor_buf is a growing, always NUL-terminated text buffer.  A zeroed
// arbor_buf is empty and ready; arbor_buf_fini releases it.  Out of
// memory ends the program (exit 70), like arbor_xalloc.
typedef struct arbor_buf {
	char  *p;
	size_t len;
	size_t cap;
} arbor_buf;

// arbor_buf_printf appends formatted text.
void arbor_buf_printf(arbor_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// arbor_buf_add appends n bytes of s.
void arbor_buf_add(arbor_buf *b, const char *s, size_t n);
// arbor_buf_json_str appends s as a JSON string (quotes included); NULL
// gives null.  Quotes, backslashes and control characters are escaped;
// other bytes (UTF-8) are copied as they are.
void arbor_buf_json_str(arbor_buf *b, const char *s);
// arbor_buf_fini releases the text and leaves b zeroed.  Calling it on a
// zeroed buffer is a harmless no-op.
void arbor_buf_fini(arbor_buf *b);

// arbor_isolation_name, arbor_restart_name and arbor_strategy_name give
// the words of the tree file ("thread", "permanent", "one_for_one"...).
// They can't fail.
const char *arbor_isolation_name(arb_isolation i);
const char *arbor_restart_name(arb_restart r);
const char *arbor_strategy_name(arb_strategy s);

// arbor_tree_json appends the node and its whole live tree (from
// arb_node_walk) to b as one JSON object.  This function can't fail.
// Thread: node.
void arbor_tree_json(arbor_run *run, arbor_buf *b);

#endif // ARBOR_TOOL_TREEJSON_H
