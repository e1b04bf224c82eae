// SPDX-License-Identifier: MIT
// bench_serial.h -- the serial actor's arbor-bench cases (bench_serial.c):
// serial_bare (the floor: a bare read loop on a pty), serial_thread and
// serial_process (frames through the serial actor to a sink actor).

#ifndef ARBOR_BENCH_SERIAL_H
#define ARBOR_BENCH_SERIAL_H

// bench_serial_register registers the actor types the cases use; call it
// before arb_actor_main (process actors re-execute the bench).
void bench_serial_register(void);

// bench_serial_case runs case `name` in this process and returns its exit
// code, or -1 when name is not one of the serial cases.
int bench_serial_case(const char *name);

#endif // ARBOR_BENCH_SERIAL_H
