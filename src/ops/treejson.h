// SPDX-License-Identifier: MIT
// treejson.h -- the live tree as JSON, shared by the control socket
// (`arborctl status --json`) and HTTP (/api/tree).  See treejson.c and
// docs/operations.md for the document.  Thread: node.

#ifndef ARBOR_TOOL_TREEJSON_H
#define ARBOR_TOOL_TREEJSON_H

#include "serve.h"
#include "text.h"

#include <stddef.h>

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
