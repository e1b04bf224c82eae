// SPDX-License-Identifier: MIT
// doc.h -- typed, position-aware access to one YAML document.
//
// doc.c wraps libyaml's document loader for config.c: every getter takes
// the field name it reads, expands ${VAR} / ${VAR:-default} in scalars,
// converts the value (string, bool, integer, duration, enum, or any value
// packed as msgpack) and, when something is wrong, records
// "FILE:LINE:COLUMN: field: what is wrong" with the YAML position of the
// offending node.  Getters return false after recording the problem, so
// callers simply carry on to find the next one.  It also holds the
// arena that a loaded configuration lives in.  Thread: the caller's.

#ifndef ARBOR_TOOL_DOC_H
#define ARBOR_TOOL_DOC_H

#include "config.h"

#include <yaml.h>

// --- Arena: everything of one configuration, freed at once ------------------

// arbor_arena_open returns an empty arena (exit 70 when out of memory).
arbor_arena *arbor_arena_open(void);
// arbor_arena_close frees the arena and everything allocated from it.
// Calling it with NULL is a harmless no-op.
void arbor_arena_close(arbor_arena *a);
// arbor_arena_alloc returns n zeroed bytes, aligned for any type.
void *arbor_arena_alloc(arbor_arena *a, size_t n);
char *arbor_arena_strdup(arbor_arena *a, const char *s);
char *arbor_arena_printf(arbor_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// --- Document ---------------------------------------------------------------

// DOC_PACK_BUDGET bounds the values doc_pack may emit for one file, so
// that aliases of aliases (a "billion laughs") end in an error.
#define DOC_PACK_BUDGET 1000000ul

typedef struct arbor_doc {
	const char     *file;
	yaml_document_t doc;
	bool            loaded;
	arbor_errs     *errs;
	arbor_arena    *arena;
	unsigned long   budget; // values doc_pack may still emit
	int             nerr;   // problems recorded through this document
} arbor_doc;

// doc_open parses file as one YAML document.  On a read or syntax error
// it records the problem (with the parser's line and column) and
// returns -1; otherwise 0.  doc_close must be called either way.
int doc_open(
    arbor_doc *d, const char *file, arbor_errs *errs, arbor_arena *arena);
void doc_close(arbor_doc *d);

// doc_root returns the document's root node (never NULL after doc_open
// succeeded: an empty document is an error there).
yaml_node_t *doc_root(arbor_doc *d);

// doc_err records a problem at node at (the whole file when NULL).
void doc_err(arbor_doc *d, const yaml_node_t *at, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

// doc_line returns the 1-based line of n (0 for NULL).
int doc_line(const yaml_node_t *n);

// doc_kind names a node's kind for messages: "a mapping", "a list", ...
const char *doc_kind(const yaml_node_t *n);

// --- Mappings ---------------------------------------------------------------

// doc_map_check checks that map is a mapping whose keys are plain
// strings, each at most once and each one of allowed (NULL-terminated;
// NULL allowed means any key).  Problems are recorded with field
// "<prefix>.<key>" (or "<key>" when prefix is NULL or "").  Returns false
// if map is not a mapping.
bool doc_map_check(arbor_doc *d, yaml_node_t *map, const char *prefix,
    const char *const *allowed);

// doc_get returns the value of key in map (NULL if absent or map is not
// a mapping) and, if keyp is not NULL, the key node.
yaml_node_t *doc_get(
    arbor_doc *d, yaml_node_t *map, const char *key, yaml_node_t **keyp);

// doc_item returns the i-th item of a list (NULL past the end).
yaml_node_t *doc_item(arbor_doc *d, yaml_node_t *seq, size_t i);
size_t       doc_len(const yaml_node_t *seq);

// --- Scalars ----------------------------------------------------------------

// doc_scalar returns the expanded text of scalar n (in the arena) and
// whether it was written plain (unquoted).
bool doc_scalar(arbor_doc *d, yaml_node_t *n, const char *field,
    const char **sp, bool *plainp);
bool doc_string(
    arbor_doc *d, yaml_node_t *n, const char *field, const char **sp);
bool doc_bool(arbor_doc *d, yaml_node_t *n, const char *field, bool *bp);
bool doc_int(arbor_doc *d, yaml_node_t *n, const char *field, long long lo,
    long long hi, long long *vp);
// doc_duration reads a duration (arbor_parse_duration) between lo and hi
// ms; specials (NULL-terminated, may be NULL) are extra words with their
// values, e.g. {"infinity", -2}.
typedef struct doc_word {
	const char *word;
	int         value;
} doc_word;
bool doc_duration(arbor_doc *d, yaml_node_t *n, const char *field, int lo,
    int hi, const doc_word *specials, int *msp);
// doc_enum maps a word onto its value (words is NULL-terminated).
bool doc_enum(arbor_doc *d, yaml_node_t *n, const char *field,
    const doc_word *words, int *vp);

// doc_pack encodes any value as one msgpack object (maps -> maps with
// string keys, lists -> arrays, plain scalars typed by the YAML 1.2 core
// schema, quoted scalars -> strings).  The bytes live in the arena.
bool doc_pack(arbor_doc *d, yaml_node_t *n, const char *field, void **bufp,
    size_t *lenp);

// Shared by doc.c and pack.c.
// doc_key returns a pair's key text (NULL when the key is not a scalar)
// and, if keyp is not NULL, the key node.
const char *doc_key(arbor_doc *d, yaml_node_pair_t *pair, yaml_node_t **keyp);
// doc_field writes "<prefix>.<key>" (or "<key>") into buf.
void doc_field(char *buf, size_t len, const char *prefix, const char *key);
// doc_word_in is true when s is one of words (NULL-terminated).
bool doc_word_in(const char *s, const char *const *words);
// doc_parse_int reads a YAML 1.2 core integer ([-+]?[0-9]+, 0x.., 0o..):
// false when s is not one; *rangep false when it does not fit.
bool doc_parse_int(const char *s, long long *vp, bool *rangep);
extern const char *const doc_true_words[];
extern const char *const doc_false_words[];
extern const char *const doc_null_words[];

// doc_find walks a key path ("exit.after", "ports[2].baud") from map and
// returns the deepest node found on the way: the key node of a mapping
// entry, the item itself of a list (map itself when nothing matches).
// *exact is true when the whole path was found.
yaml_node_t *doc_find(
    arbor_doc *d, yaml_node_t *map, const char *path, bool *exact);

#endif // ARBOR_TOOL_DOC_H
