// SPDX-License-Identifier: MIT
// ctl.h -- the control channel between a node and a process actor.
//
// A SOCK_SEQPACKET socketpair (the actor's fd 3) carries one message per
// datagram, each a msgpack array [version, op, fields...] (docs/wire.md,
// "Control channel").  Both directions are decoded as untrusted input:
// every field is checked for type and range and a message that fails is
// rejected whole, never partly applied.  Nothing here touches a loop;
// the fd belongs to whoever calls.  Thread: any (one fd, one thread).

#ifndef ARB_CTL_H
#define ARB_CTL_H

#include "actor_int.h"

#include <sys/types.h>

#define ARB__CTL_VERSION 3 // 1 was C structs; 2 had no topics

// The largest datagram: a 64 KiB argument and the fields around it.
#define ARB__CTL_MAX (64 * 1024 + 1024)

typedef enum arb__ctl_op {
	ARB__CTL_INIT = 1, // node -> actor: who it is, where, its argument
	ARB__CTL_STOP,     // node -> actor: stop (ops->stop, shields apply)
	ARB__CTL_KILLSIG,  // node -> actor: exit signal of a link
	ARB__CTL_REP,      // node -> actor: answer to the pending REQ
	ARB__CTL_READY,    // actor -> node
	ARB__CTL_IGNORE,   // actor -> node: init answered ignore
	ARB__CTL_FAIL,     // actor -> node: init failed (the reason)
	ARB__CTL_EXIT,     // actor -> node: the exit reason, its last word
	ARB__CTL_HB,       // actor -> node: heartbeat with its stats
	ARB__CTL_REQ,      // actor -> node: a service request (arb__req)
	ARB__CTL_OP_END
} arb__ctl_op;

// Which side reads: a node accepts only what actors send, an actor only
// what nodes send.
typedef enum arb__ctl_dir {
	ARB__CTL_TO_ACTOR = 0,
	ARB__CTL_TO_NODE,
} arb__ctl_dir;

typedef struct arb__ctl_init {
	arb_pid     pid; // a process actor's pid
	uint32_t    max_msg;
	int         hb_ms;     // 1..ARB__HB_MS
	int         log_level; // ARB_LOG_ERROR..ARB_LOG_DEBUG
	char        path[256];
	char        type[64];
	arb__addr   addr;      // in_node is always false in an actor
	const void *arg;       // borrowed (the caller's, or the datagram's)
	size_t      arg_len;
} arb__ctl_init;

// One control message.  Only the fields of its op are encoded or set by
// the decoder; the others are left as they were.
typedef struct arb__ctl_msg {
	arb__ctl_op   op;
	arb__ctl_init init;  // INIT
	arb_exit      exit;  // KILLSIG, FAIL, EXIT
	arb_stats     stats; // HB
	const void   *metrics; // HB, may be NULL: the actor's metrics
	size_t        metrics_len; // (arb__metrics_encode), borrowed
	arb__req      req;   // REQ: op and that op's fields (arg borrowed,
	                     // self never sent: the node knows who asks);
	                     // REP: rv, pid, ref, and list/nlist
	                     // (subscribers; borrowed when decoded)
} arb__ctl_msg;

// arb__ctl_encode appends m to out as one datagram's bytes.  Strings are
// cut to their field's bound, so whatever it writes decodes.  Returns
// ARB_OK, ARB_ENOMEM (out is then unchanged), ARB_EMSGSIZE (longer than
// ARB__CTL_MAX) or ARB_EINVAL (an op that does not exist).
int arb__ctl_encode(arb__buf *out, const arb__ctl_msg *m);

// arb__ctl_decode reads one datagram of len bytes sent towards dir.
// Returns ARB_OK or ARB_EBADMSG: another version, an op that does not
// travel that way, a missing or extra field, a wrong type, a value out
// of its range, a string too long or holding a NUL, or trailing bytes.
// Never reads outside [buf, buf+len); borrowed fields point into buf.
int arb__ctl_decode(
    arb__ctl_msg *m, const void *buf, size_t len, arb__ctl_dir dir);

// arb__ctl_send encodes m and writes it as one datagram (never blocks on
// a signal: EINTR is retried; the fd's own mode decides the rest).
// Returns ARB_OK, an encoding error, or the system error of the write
// (the peer gone: EPIPE).
int arb__ctl_send(int fd, const arb__ctl_msg *m);

// arb__ctl_send_op sends a message that has no fields (STOP, READY,
// IGNORE).
int arb__ctl_send_op(int fd, arb__ctl_op op);

// arb__ctl_recv reads one datagram into buf without blocking: its length,
// 0 on EOF, -1 with errno set (EAGAIN: nothing queued; EMSGSIZE: a
// datagram larger than len, discarded).
ssize_t arb__ctl_recv(int fd, void *buf, size_t len);

#endif // ARB_CTL_H
