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

// arb__arena_open returns an empty arena (exit 70 when out of memory).
arb__arena *arb__arena_open(void);
// arb__arena_close frees the arena and everything allocated from it.
// Calling it with NULL is a harmless no-op.
void arb__arena_close(arb__arena *a);
// arb__arena_alloc returns n zeroed bytes, aligned for any type.
void *arb__arena_alloc(arb__arena *a, size_t n);
char *arb__arena_strdup(arb__arena *a, const char *s);
char *arb__arena_printf(arb__arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// --- Document ---------------------------------------------------------------

// DOC_PACK_BUDGET bounds the values arb__doc_pack may emit for one file, so
// that aliases of aliases (a "billion laughs") end in an error.
#define DOC_PACK_BUDGET 1000000ul

// Bounds of one file, checked while it is read (doc.c), so that no file
// costs more than time and memory linear in these: its size, the nesting
// of its collections (libyaml's scanner pays the depth for every token),
// its number of values, and how long reading it (a pipe) may take.
#define DOC_FILE_MAX  (4 << 20) // bytes
#define DOC_DEPTH_MAX 256       // nested mappings and lists
#define DOC_NODES_MAX 200000    // scalars, mappings and lists (~45 MB)
#define DOC_READ_MS   10000
// DOC_ERRS_MAX problems of one file are listed; the others are counted.
#define DOC_ERRS_MAX 1000

typedef struct arb__doc {
	const char     *file;
	yaml_document_t doc;
	bool            loaded;
	arb__errs     *errs;
	arb__arena    *arena;
	unsigned long   budget; // values arb__doc_pack may still emit
	int             nerr;   // problems recorded through this document
	uint64_t       *seen;   // hashes of their texts (doc.c: doc_first)
	size_t          nseen;
	size_t          capseen;
} arb__doc;

// arb__doc_open reads file (at most DOC_FILE_MAX bytes within DOC_READ_MS;
// a cancel_fd other than -1 that becomes readable stops the read) and
// parses it as one YAML document of at most DOC_DEPTH_MAX levels and
// DOC_NODES_MAX values.  On a read or syntax error, or past a bound, it
// records the problem (with the parser's line and column) and returns
// -1; otherwise 0.  arb__doc_close must be called either way.
int  arb__doc_open(arb__doc *d, const char *file, int cancel_fd,
     arb__errs *errs, arb__arena *arena);
void arb__doc_close(arb__doc *d);

// arb__doc_root returns the document's root node (never NULL after
// arb__doc_open succeeded: an empty document is an error there).
yaml_node_t *arb__doc_root(arb__doc *d);

// arb__doc_err records a problem at node at (the whole file when NULL):
// once (the same text again is dropped), and listed among the first
// DOC_ERRS_MAX of the file or only counted.
void arb__doc_err(arb__doc *d, const yaml_node_t *at, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

// arb__doc_line returns the 1-based line of n (0 for NULL).
int arb__doc_line(const yaml_node_t *n);

// arb__doc_kind names a node's kind for messages: "a mapping", "a list", ...
const char *arb__doc_kind(const yaml_node_t *n);

// --- Mappings ---------------------------------------------------------------

// arb__doc_map_check checks that map is a mapping whose keys are plain
// strings, each at most once and each one of allowed (NULL-terminated;
// NULL allowed means any key).  Problems are recorded with field
// "<prefix>.<key>" (or "<key>" when prefix is NULL or "").  Returns false
// if map is not a mapping.
bool arb__doc_map_check(arb__doc *d, yaml_node_t *map, const char *prefix,
    const char *const *allowed);

// arb__doc_get returns the value of key in map (NULL if absent or map is not
// a mapping) and, if keyp is not NULL, the key node.
yaml_node_t *arb__doc_get(
    arb__doc *d, yaml_node_t *map, const char *key, yaml_node_t **keyp);

// arb__doc_item returns the i-th item of a list (NULL past the end).
yaml_node_t *arb__doc_item(arb__doc *d, yaml_node_t *seq, size_t i);
size_t       arb__doc_len(const yaml_node_t *seq);

// --- Scalars ----------------------------------------------------------------

// arb__doc_scalar returns the expanded text of scalar n (in the arena) and
// whether it was written plain (unquoted).
bool arb__doc_scalar(arb__doc *d, yaml_node_t *n, const char *field,
    const char **sp, bool *plainp);
bool arb__doc_string(
    arb__doc *d, yaml_node_t *n, const char *field, const char **sp);
bool arb__doc_bool(arb__doc *d, yaml_node_t *n, const char *field, bool *bp);
bool arb__doc_int(arb__doc *d, yaml_node_t *n, const char *field, long long lo,
    long long hi, long long *vp);
// arb__doc_duration reads a duration (arb__doc_parse_duration) between lo and
// hi ms; specials (NULL-terminated, may be NULL) are extra words with their
// values, e.g. {"infinity", -2}.
typedef struct arb__doc_word {
	const char *word;
	int         value;
} arb__doc_word;
bool arb__doc_duration(arb__doc *d, yaml_node_t *n, const char *field, int lo,
    int hi, const arb__doc_word *specials, int *msp);
// arb__doc_enum maps a word onto its value (words is NULL-terminated).
bool arb__doc_enum(arb__doc *d, yaml_node_t *n, const char *field,
    const arb__doc_word *words, int *vp);

// arb__doc_pack encodes any value as one msgpack object (maps -> maps with
// string keys, lists -> arrays, plain scalars typed by the YAML 1.2 core
// schema, quoted scalars -> strings).  The bytes live in the arena.
bool arb__doc_pack(arb__doc *d, yaml_node_t *n, const char *field, void **bufp,
    size_t *lenp);

// Shared by doc.c and pack.c.
// arb__doc_key returns a pair's key text (NULL when the key is not a scalar)
// and, if keyp is not NULL, the key node.
const char *arb__doc_key(
    arb__doc *d, yaml_node_pair_t *pair, yaml_node_t **keyp);
// arb__doc_field writes "<prefix>.<key>" (or "<key>") into buf.
void arb__doc_field(
    char *buf, size_t len, const char *prefix, const char *key);
// arb__doc_word_in is true when s is one of words (NULL-terminated).
bool arb__doc_word_in(const char *s, const char *const *words);
// arb__doc_parse_int reads a YAML 1.2 core integer ([-+]?[0-9]+, 0x.., 0o..):
// false when s is not one; *rangep false when it does not fit.
bool arb__doc_parse_int(const char *s, long long *vp, bool *rangep);
extern const char *const arb__doc_true_words[];
extern const char *const arb__doc_false_words[];
extern const char *const arb__doc_null_words[];

// arb__doc_find walks a key path ("exit.after", "ports[2].baud") from map and
// returns the deepest node found on the way: the key node of a mapping
// entry, the item itself of a list (map itself when nothing matches).
// *exact is true when the whole path was found.
yaml_node_t *arb__doc_find(
    arb__doc *d, yaml_node_t *map, const char *path, bool *exact);

#endif // ARBOR_TOOL_DOC_H
