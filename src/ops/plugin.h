// SPDX-License-Identifier: MIT
// plugin.h -- the `plugins:` of a tree file: actor modules named by path.
//
// A plugin is an actor module (docs/actors.md) loaded with
// arb_actor_module_load.  Modules found by type name in the actor path
// need nothing here: the library loads them, in the node and in every
// process actor alike.  Modules named by path are loaded by `arbor run` /
// `arbor check`; process actors re-run the arbor binary, which loads the
// same list from $ARBOR_PLUGINS (absolute paths separated by ':') in
// arb_actor_main.  Thread: main (or the node thread, for a reload).

#ifndef ARBOR_TOOL_PLUGIN_H
#define ARBOR_TOOL_PLUGIN_H

#include <stddef.h>

// arb__plugins_load loads the module at path and remembers it for
// arb__plugins_export_env.  Loading the same file again is a harmless
// no-op.  Returns 0, or -1 with a reason in err.
int arb__plugins_load(const char *path, char *err, size_t errlen);

// arb__plugins_export_env sets $ARBOR_PLUGINS to every plugin loaded so
// far, for the process actors this node will start.  Must be called
// before the node starts threads.
void arb__plugins_export_env(void);

// arb__plugins_fini frees the list of loaded paths (the modules stay
// loaded).
void arb__plugins_fini(void);

#endif // ARBOR_TOOL_PLUGIN_H
