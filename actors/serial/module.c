// SPDX-License-Identifier: MIT
// module.c -- the serial actor type as a module (serial.so) for the
// `arbor` program: `plugins: [.../serial.so]` in a tree file makes
// `type: serial` known.  The program calls arbor_plugin_init once per
// process (the node and every process actor).  Thread: main.

#include "serial.h"

__attribute__((visibility("default"))) int arbor_plugin_init(void);

int
arbor_plugin_init(void)
{
	return arb_actor_type_register(&arb_serial_ops);
}
