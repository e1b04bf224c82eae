// SPDX-License-Identifier: MIT
// serial.h -- the serial actor type, for programs that link it in rather
// than load it as a module (tests, the bench, a user's own gateway).
//
// The `arbor` program loads the type from its module; a program of its
// own registers it before arb_actor_main:
//     arb_actor_type_register(&arb_serial_ops);
// Its messages are in serial_msgs.h; its settings, behaviour and metrics
// in docs/actors.md ("serial").

#ifndef ARBOR_SERIAL_H
#define ARBOR_SERIAL_H

#include <arbor/actor.h>

// The ops of the actor type "serial".
extern const arb_actor_ops arb_serial_ops;

#endif // ARBOR_SERIAL_H
