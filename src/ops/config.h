// SPDX-License-Identifier: MIT
// config.h -- the tree file of the `arbor` program (docs/config.md).
//
// arb__tree_load reads one YAML file into a struct arb_tree: the
// node's own settings (name, control socket, HTTP endpoint, limits), the
// plugins it loaded and the supervision tree as an arb_sup_spec ready for
// arb_node_run / arb_node_reload.  Every problem is collected, not just
// the first, as "FILE:LINE:COLUMN: field: what is wrong", and the spec is
// also run through arb_sup_spec_check, whose lines are mapped back to the
// YAML line of the child they name.  This is the tool, not the library:
// it may use libyaml and msgpack-c directly.  Thread: the caller's (the
// main thread, or the node thread for a reload).

#ifndef ARBOR_TOOL_CONFIG_H
#define ARBOR_TOOL_CONFIG_H

#include <arbor/arbor.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct arb__arena arb__arena;


// arb_tree is everything the file says, resolved and validated.
// Strings and the spec tree live in the config's arena and stay valid
// until arb__tree_free.  Services (control socket, HTTP) read their
// settings from here.
typedef struct arb_tree {
	const char *file;           // the path as given on the command line
	const char *dir;            // its directory, absolute
	const char *name;           // node.name (default "arbor")
	const char *control;        // node.control: absolute socket path, or
	                            // NULL: the default (common/paths.h)
	const char *http_host;      // node.http host ("127.0.0.1"), or NULL
	int         http_port;      // node.http port (1-65535), 0 when off
	size_t      max_msg_size;   // node.max_msg_size, 0 = library default
	int         log_level;      // ARB_LOG_*, ARB_LOG_DEFAULT when absent
	int         log_time;       // ARB_LOG_TIME_*, AUTO when absent
	const char *run_dir;        // node.run_dir, NULL = library default
	// Node links (links.c; docs/config.md "Node links").
	const char *listen;         // node.listen URL, NULL: no listener
	const arb_node_peer *peers; // node.peers: the nodes this one dials
	size_t               npeers;
	const char *cookie;         // the cookie file (node.cookie or the
	                            // default), absolute, checked; NULL when
	                            // no link needs one
	bool        insecure;       // node.insecure: links without proof
	const char *tls_cert;       // node.tls: absolute paths, or NULL
	const char *tls_key;
	const char *tls_ca;
	int         heartbeat_ms;     // node.heartbeat.interval, 0: default
	int         heartbeat_misses; // node.heartbeat.misses, 0: default
	int         orphan_grace_ms;  // node.orphan_grace, 0: default
	int         watch_max;        // node.watch_max, 0: default
	int         max_unproven;     // node.max_unproven, 0: default
	bool        no_standby;       // node.standby: false
	const char *const *plugins; // absolute paths, all loaded
	size_t             nplugins;
	arb_sup_spec      *root;  // the supervision tree
	arb__arena       *arena; // owns all of the above
	struct arb__errs  *errs;  // arb_tree_load: the problems, or NULL
} arb_tree;

// One problem found in a file.  line and col are 1-based, 0 when the
// problem is about the whole file (unreadable, empty).
typedef struct arb__err {
	int   line;
	int   col;
	char *text; // "FILE:LINE:COLUMN: field: what is wrong"
} arb__err;

typedef struct arb__errs {
	arb__err *v;
	size_t     n;
	size_t     cap;
	size_t     more; // problems counted but not listed (past DOC_ERRS_MAX)
} arb__errs;

// arb__tree_load reads, validates and builds file.  It returns 0 with
// *cfgp set (release it with arb__tree_free) when the file is valid,
// or ARB_ESPEC with every problem appended to errs (sorted by position)
// and *cfgp NULL.  Plugins named in the file are loaded (plugin.c) so
// that their actor types can be checked.  cancel_fd, when not -1, stops
// the read of the file once it becomes readable (a reload's thread at
// the node's stop).  errs must be zeroed or previously used with
// arb__errs_fini.  Time and memory are linear in the file's size (doc.h
// gives the bounds).
int arb__tree_load(
    const char *file, int cancel_fd, arb_tree **cfgp, arb__errs *errs);

// arb__tree_load_in is arb__tree_load with the relative paths of the file
// read against dir instead of the file's own directory (a child spec sent
// to the control socket, read from a private file elsewhere, is the tree
// file's).
int arb__tree_load_in(const char *file, const char *dir, int cancel_fd,
    arb_tree **cfgp, arb__errs *errs);

// arb__tree_free releases cfg.  Calling it with NULL is a harmless
// no-op.
void arb__tree_free(arb_tree *cfg);

// arb__errs_fini releases the texts and leaves errs zeroed.
void arb__errs_fini(arb__errs *errs);

// arb__errs_add appends one problem (the text is formatted by the
// caller, copied here).  Out of memory ends the program (exit 70).
void arb__errs_add(arb__errs *errs, int line, int col, const char *text);

// arb__doc_parse_duration parses a duration: digits (milliseconds) or a
// number with one unit "ms", "s", "m", "h" ("250ms", "1.5s", "2m").  It
// returns 0 and *msp (0 to INT_MAX), or -1 when s is not a duration or is
// too long.  This function can't fail otherwise.
int arb__doc_parse_duration(const char *s, int *msp);

// arb__oom ends the program with exit 70 and "arbor: out of memory" on
// stderr: the tree-file loader and the services treat an exhausted heap
// as fatal (a supervised node is restarted; half a configuration is
// worse).  Async-signal-safe.
_Noreturn void arb__oom(void);

// arb__xalloc is calloc that ends the program with exit 70 and a message
// when memory is exhausted (a command-line tool has nothing better to
// do).  arb__xstrdup likewise.
void *arb__xalloc(size_t n);
char *arb__xstrdup(const char *s);

#endif // ARBOR_TOOL_CONFIG_H
