// SPDX-License-Identifier: MIT
// loader.h -- state shared by config.c (the file, node settings, the
// spec checker's lines) and tree.c (supervisors and children) while one
// tree file is loaded, and its bookkeeping (loader.c).  Private to those
// files.  Thread: the caller's.

#ifndef ARBOR_TOOL_LOADER_H
#define ARBOR_TOOL_LOADER_H

#include "config.h"
#include "doc.h"

// Values that make the library's spec checker reject a field that the
// schema already reported (its own line for that field is then dropped).
#define BAD_ENUM     99 // an unknown enum value
#define BAD_SHUTDOWN (-99)
#define BAD_MS       (-1)
#define NAME_MAX_LEN 63 // the library's limit for child names
// Supervisors nest at most this deep (the library's own limit, which an
// alias of a supervisor inside itself would otherwise turn into endless
// recursion), and a file has at most LOADER_CHILDREN_MAX children (aliases
// of supervisors could otherwise multiply them exponentially).
#define LOADER_SUP_DEPTH    32
#define LOADER_CHILDREN_MAX 10000

// A site is a child (or the root) by the path the spec checker uses:
// "root/x" for a valid name, "root/#2" (its index) otherwise.
typedef struct site {
	const char  *path;
	yaml_node_t *child;   // the child's mapping; NULL for the root
	yaml_node_t *sup;     // its supervisor mapping; NULL for workers
	bool         retired; // an earlier sibling of the same name
} site;

// A field of a site that the schema reported.
typedef struct seen {
	size_t      site;
	const char *field;
} seen;

// A child whose config its type's check hook reads once the whole file is
// loaded (tree.c, arb__loader_checks).
typedef struct pending_check {
	size_t          site;
	yaml_node_t    *map;    // the child's mapping
	yaml_node_t    *config; // its config: (NULL: none)
	arb_child_spec *spec;   // type, isolation, node, arg (in the arena)
} pending_check;

// How long a check in a child may take before its answer (a hook that
// hangs must not hang `arbor check` nor a reload).
#define CHECK_TIMEOUT_MS 10000

typedef struct loader {
	arb__doc     d;
	arb_tree *cfg;
	site         *sites;
	size_t        nsites, capsites; // grown by doubling
	seen         *seen;
	size_t        nseen, capseen;
	int           depth;     // of the supervisor being loaded (root: 0)
	size_t        nchildren; // loaded so far
	bool          too_many;  // LOADER_CHILDREN_MAX was reported
	pending_check *checks;   // children of a type, in file order
	size_t        nchecks, capchecks;
} loader;

// arb__loader_site_add records a site and returns its index.
size_t arb__loader_site_add(
    loader *ld, const char *path, yaml_node_t *child, yaml_node_t *sup);
// arb__loader_mark_seen records that field of site si was reported.
void arb__loader_mark_seen(loader *ld, size_t si, const char *field);
bool arb__loader_was_seen(loader *ld, size_t si, const char *field);
// arb__loader_got returns ok, marking field of si as reported when false.
bool arb__loader_got(loader *ld, size_t si, const char *field, bool ok);
// arb__loader_resolve makes a path relative to the file's directory absolute.
const char *arb__loader_resolve(loader *ld, const char *p);
// arb__loader_name_ok mirrors the library's rule for child names.
bool arb__loader_name_ok(const char *s);

// arb__loader_links reads and checks the node-link keys of the node:
// mapping (listen, peers, cookie, insecure, tls, heartbeat) into ld->cfg
// (links.c).
void arb__loader_links(loader *ld, yaml_node_t *node);

// arb__loader_checks runs the check hooks of every typed child's config
// and reports their problems: types this process will run (registered,
// or a thread child of this node) here, the others in a child process
// (src/actor/typecheck.c), so their modules are never loaded here.
void arb__loader_checks(loader *ld);

// arb__loader_sup builds the supervisor spec of mapping map at path, whose
// site is si (tree.c).  Returns NULL when map is not a mapping.
arb_sup_spec *arb__loader_sup(
    loader *ld, yaml_node_t *map, const char *path, size_t si);

#endif // ARBOR_TOOL_LOADER_H
