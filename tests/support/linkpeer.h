// SPDX-License-Identifier: MIT
// linkpeer.h -- a raw peer of arbor's link protocol for tests.
//
// Written from docs/wire.md with plain sockets (AF_UNIX, or TCP from a
// chosen 127.0.0.x), not with arbor's own encoder, so a test that uses it
// checks the documented format as well as the node's behaviour towards a
// peer that gets it wrong.  Every call that waits has a deadline.
// Thread: the caller's.

#ifndef ARB_LINKPEER_H
#define ARB_LINKPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The node's identity a peer must present in its HELLO, read from the
// node's "event=node_start ... node_id=N creation=C" log line.
typedef struct lp_node {
	char     name[64];
	uint32_t node_id;
	uint32_t creation;
	char     run_dir[256];
} lp_node;

// lp_parse_start fills n from a node_start log line (0, or -1).
int lp_parse_start(lp_node *n, const char *line);

// lp_connect connects to the unix socket at path; -1 on failure.
int lp_connect(const char *path);
// lp_connect_from connects to 127.0.0.1:port over TCP from the address
// src (another 127.0.0.x: a node backs off the source address of a peer
// that fails its handshake, so each stranger a test plays needs its own,
// and the nodes themselves dial from 127.0.0.1).  Returns the socket, or
// -1 after printing to stderr which step failed and why.
int lp_connect_from(const char *src, int port);
// lp_write writes all of buf (false on error).
bool lp_write(int fd, const void *buf, size_t len);
// lp_hello builds a dialer's HELLO (role 1 peer, 2 control) into b (at
// least 512 bytes) and returns its length.
size_t lp_hello(uint8_t *b, const lp_node *n, uint16_t role);
// lp_data builds a DATA frame header (LP_DATA_HDR bytes) for a batch of
// len bytes, nenv envelopes, after env0 envelopes on the connection (the
// receiver checks it against what arrived: docs/wire.md).
#define LP_DATA_HDR 32
void lp_data_hdr(uint8_t *b, uint32_t dst, uint32_t nenv, uint64_t seq,
    uint64_t env0, size_t len);
// lp_send_data writes a DATA frame with the batch at p.
bool lp_send_data(int fd, uint32_t dst, uint32_t nenv, uint64_t seq,
    uint64_t env0, const void *p, size_t len);
// lp_read_frame reads one frame into buf (len bytes at most) within ms;
// returns its length, 0 at EOF, -1 on timeout or error.
long lp_read_frame(int fd, uint8_t *buf, size_t len, int ms);
// lp_wait_eof reads and discards until the other side closes (true) or
// ms pass (false).
bool lp_wait_eof(int fd, int ms);

// Big-endian helpers.
void     lp_be32(uint8_t *p, uint32_t v);
void     lp_be64(uint8_t *p, uint64_t v);
uint32_t lp_get32(const uint8_t *p);
uint64_t lp_get64(const uint8_t *p);

#endif // ARB_LINKPEER_H
