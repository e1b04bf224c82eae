// SPDX-License-Identifier: MIT
// plugin.h -- actor types from shared objects, and the question "does
// this actor type exist?".
//
// A plugin is a shared object that exports
//     int arbor_plugin_init(void);
// which registers its actor types with arb_actor_type_register and
// returns 0 (see examples/plugin/README.md).  Plugins named in a tree
// file are loaded by `arbor run` / `arbor check`; process actors re-run
// the arbor binary, which loads the same list from ARBOR_PLUGINS
// (absolute paths separated by ':') before arb_actor_main.  Plugins are
// never unloaded: the library keeps pointers to their ops.
// Thread: main (or the node thread, for a reload).

#ifndef ARBOR_TOOL_PLUGIN_H
#define ARBOR_TOOL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#define ARBOR_PLUGINS_ENV "ARBOR_PLUGINS"

// arbor_plugin_load loads the shared object at path (made absolute with
// realpath) and calls its arbor_plugin_init.  Loading the same file again
// is a harmless no-op.  Returns 0, or -1 with a reason in err.
int arbor_plugin_load(const char *path, char *err, size_t errlen);

// arbor_plugin_load_env loads every plugin listed in $ARBOR_PLUGINS.
// Returns 0, or -1 with the first failure in err (the others are still
// tried).
int arbor_plugin_load_env(char *err, size_t errlen);

// arbor_plugin_export_env sets $ARBOR_PLUGINS to every plugin loaded so
// far, for the process actors this node will start.  Must be called
// before the node starts threads.
void arbor_plugin_export_env(void);

// arbor_plugin_loaded returns the absolute path of the i-th loaded
// plugin, or NULL past the end.
const char *arbor_plugin_loaded(size_t i);

// arbor_plugin_type_known is true when type is registered in this
// process (a built-in type or one a plugin registered).
bool arbor_plugin_type_known(const char *type);

// arbor_plugin_fini frees the list of loaded paths (the objects stay
// loaded).
void arbor_plugin_fini(void);

#endif // ARBOR_TOOL_PLUGIN_H
