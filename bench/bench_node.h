// SPDX-License-Identifier: MIT
// bench_node.h -- arbor-bench between two nodes (bench_node.c).

#ifndef ARBOR_BENCH_NODE_H
#define ARBOR_BENCH_NODE_H

// bench_node_register registers the cases' actor types (and reads
// ARB_BENCH_NODE_N).
void bench_node_register(void);

// bench_node_case runs case name when it is one of node_*: its exit
// code; -1 when name is not one of them.
int bench_node_case(const char *name);

#endif // ARBOR_BENCH_NODE_H
