// SPDX-License-Identifier: MIT
// bench_store.h -- the store's arbor-bench cases (bench_store.c), each
// with its floor measured in the same process and run:
//   store_append        group-committed appends of 64-byte readings
//                       (saturated, and paced at 200,000/s for the
//                       acknowledgement latency), beside raw write +
//                       fdatasync of the same batch size;
//   store_reopen        opening a 100 MB log with a torn tail, warm and
//                       cold, beside a raw read of the same files;
//   store_replay        a 1-hour backlog (3.6 M readings at 1,000/s)
//                       drained by a consumer actor through the store
//                       actor while a producer keeps appending 1,000/s,
//                       beside a raw read of the backlog;
//   store_actor_append  a producer actor appending through the store
//                       actor (the collector's path).
// The logs live in $ARB_BENCH_DIR (default /var/tmp: the machine's disk,
// not a tmpfs) and are removed at the end.

#ifndef ARBOR_BENCH_STORE_H
#define ARBOR_BENCH_STORE_H

// bench_store_register registers the actor types the cases use; call it
// before arb_actor_main (process actors re-execute the bench).
void bench_store_register(void);

// bench_store_case runs case `name` in this process and returns its exit
// code, or -1 when name is not one of the store cases.
int bench_store_case(const char *name);

#endif // ARBOR_BENCH_STORE_H
