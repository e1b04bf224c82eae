// SPDX-License-Identifier: MIT
// actor.h -- the contract for writing an arbor actor.
//
// An actor is a set of callbacks (arb_actor_ops) run on the actor's own
// libevent loop, in its own thread (ARB_THREAD) or its own OS process
// (ARB_PROCESS).  All callbacks of one actor run on that loop thread, one
// at a time; the actor's state is touched nowhere else.

#ifndef ARBOR_ACTOR_H
#define ARBOR_ACTOR_H

#include <arbor/arbor.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base; // libevent; the actor may add its own events to it

typedef struct arb_ctx arb_ctx;

typedef struct arb_actor_ops {
	const char *type; // the name child specs use

	// init runs on the new loop before the actor counts as started.
	// Return ARB_OK to report READY, ARB_EPENDING to report it later
	// with arb_ready(), ARB_EIGNORE for OTP's `ignore`, or any other
	// code for a start failure (reported as error{code, "init: <the
	// code's text>"}; terminate is not called).  *statep is the actor's
	// private state.
	int (*init)(arb_ctx *ctx, void **statep, const void *arg,
	    size_t arg_len);

	// handle is called for each message; msg is borrowed (valid until
	// handle returns).  May be NULL (messages are dropped).
	void (*handle)(arb_ctx *ctx, void *state, const arb_msg *msg);

	// stop is the stop request (supervisor shutdown, SIGTERM cascade).
	// NULL means exit with `shutdown` at once.  An actor that needs time
	// calls arb_exit() later; its supervisor's shutdown timeout bounds
	// the wait.
	void (*stop)(arb_ctx *ctx, void *state);

	// terminate runs once, after the loop has stopped for any reason the
	// actor can observe (arb_exit, stop, link exit).  May be NULL.
	void (*terminate)(arb_ctx *ctx, void *state, const arb_exit *why);
} arb_actor_ops;

// arb_actor_type_register makes ops known under ops->type, for thread and
// process children of this program.  ops must stay valid for the life of
// the process (it is not copied).  Returns ARB_EEXIST for a duplicate
// type, ARB_EINVAL for a NULL type or init.  Thread: any (call it before
// arb_node_open / arb_actor_main).
ARB_DECL int arb_actor_type_register(const arb_actor_ops *ops);

// arb_actor_type_find returns the ops registered under type, or NULL.
// Thread: any.
ARB_DECL const arb_actor_ops *arb_actor_type_find(const char *type);

// arb_actor_main must be called early in main() by every program that
// hosts ARB_PROCESS actors (the program re-executes itself).  When argv
// says this process is an actor child, it runs the actor and never
// returns; otherwise it returns 0 and main continues.  Thread: main.
ARB_DECL int arb_actor_main(int argc, char **argv);

// arb_node_base returns the node's own loop, where tools (control socket,
// HTTP) add their events; they then run on the node thread.  Thread: any.
ARB_DECL struct event_base *arb_node_base(arb_node *node);

// --- Identity and loop ---------------------------------------------------
ARB_DECL arb_pid            arb_self(arb_ctx *ctx);
ARB_DECL const char        *arb_path(arb_ctx *ctx); // "root/sensors/s1"
ARB_DECL struct event_base *arb_base(arb_ctx *ctx);

// arb_ready reports READY after init returned ARB_EPENDING.  Repeated
// calls are harmless no-ops.  Thread: loop.
ARB_DECL void arb_ready(arb_ctx *ctx);

// arb_actor_exit ends the actor with reason *why (copied) once the current
// callback returns; terminate runs, then the supervisor sees the reason.
// Thread: loop.
ARB_DECL void arb_actor_exit(arb_ctx *ctx, const arb_exit *why);
// arb_actor_exit_error is arb_actor_exit with error{code,text}.  Thread: loop.
ARB_DECL void arb_actor_exit_error(arb_ctx *ctx, int code, const char *text);

// --- Sending (SPEC 18-21) ------------------------------------------------

// arb_send queues msg for the actor identified by to.  On success (0) the
// message belongs to arbor and the caller must not touch it again; on any
// error the caller still owns msg.  Never blocks: a full queue towards the
// destination gives ARB_EAGAIN, an unknown pid gives ARB_ENOENT, a body
// over the node's maximum ARB_EMSGSIZE.  Messages to one destination in
// one loop turn travel as one nng message, flushed at the end of the turn.
// Thread: loop.
ARB_DECL int arb_send(arb_ctx *ctx, arb_pid to, arb_msg *msg);

// arb_send_copy is arb_send with a fresh message built from tag and body
// bytes; the caller keeps body.  Thread: loop.
ARB_DECL int arb_send_copy(arb_ctx *ctx, arb_pid to, uint32_t tag,
    const void *body, size_t len);

// arb_reply answers a request (arb_msg_is_request) with tag and body.
// arb_reply_error answers it with an error (code, text) that the caller
// sees as ARB_EREMOTE with the text.  Thread: loop.
ARB_DECL int arb_reply(arb_ctx *ctx, const arb_msg *req, uint32_t tag,
    const void *body, size_t len);
ARB_DECL int arb_reply_error(
    arb_ctx *ctx, const arb_msg *req, int code, const char *text);

// Result of one request of a call or gather.  status is ARB_OK (reply is
// set, borrowed for the callback), ARB_EREMOTE (code/text from
// arb_reply_error), ARB_ETIMEDOUT, ARB_EEXITED (the actor died: exit holds
// the reason), ARB_ECANCELED (FIRST_EXCEPTION cancelled it), or a send
// error (ARB_EAGAIN, ARB_ENOENT).
typedef struct arb_result {
	arb_pid        pid;
	int            status;
	const arb_msg *reply;
	int            code;
	char           text[ARB_EXIT_TEXT_MAX];
	arb_exit       exit;
} arb_result;

typedef void (*arb_call_cb)(arb_ctx *ctx, void *arg, const arb_result *r);

// arb_call sends a request and calls cb exactly once on this loop with the
// outcome, within timeout_ms.  A late reply is dropped and counted.  If
// arb_call returns an error, cb is never called.  Thread: loop.
ARB_DECL int arb_call(arb_ctx *ctx, arb_pid to, uint32_t tag,
    const void *body, size_t len, int timeout_ms, arb_call_cb cb, void *arg);

typedef enum arb_gather_mode {
	ARB_ALL_COMPLETED = 0,
	ARB_FIRST_EXCEPTION,
} arb_gather_mode;

typedef void (*arb_gather_cb)(arb_ctx *ctx, void *arg,
    const arb_result *results, size_t n, size_t nerrors);

// arb_gather asks the n actors in pids the same request and calls cb
// exactly once with one result per pid (same order) and the number of
// errors.  ARB_FIRST_EXCEPTION completes at the first error: the
// outstanding requests are cancelled (ARB_ECANCELED), their late replies
// dropped and counted.  Errors that arrive in the same loop turn are all
// reported.  Each target is monitored, so a crash gives ARB_EEXITED with
// its reason.  Thread: loop.
ARB_DECL int arb_gather(arb_ctx *ctx, const arb_pid *pids, size_t n,
    uint32_t tag, const void *body, size_t len, int timeout_ms,
    arb_gather_mode mode, arb_gather_cb cb, void *arg);

// --- Names, links, monitors (SPEC 8) -------------------------------------

// arb_register names the calling actor (node-wide); arb_whereis resolves
// a registered name or a child path ("root/w1").  Every child is
// registered under its path automatically.  Thread: loop.
ARB_DECL int arb_register(arb_ctx *ctx, const char *name);
ARB_DECL int arb_whereis(arb_ctx *ctx, const char *name, arb_pid *pidp);

// arb_monitor watches target: when it exits (or if it is already gone,
// with reason noproc) the caller receives one ARB_TAG_DOWN message whose
// ref is *refp and whose body is the msgpack-encoded reason.  Thread: loop.
ARB_DECL int arb_monitor(arb_ctx *ctx, arb_pid target, uint64_t *refp);
ARB_DECL int arb_demonitor(arb_ctx *ctx, uint64_t ref);

// arb_link links the caller and target both ways: when one exits
// abnormally the other exits with the same reason unless it traps exits,
// in which case it receives ARB_TAG_EXIT instead.  Thread: loop.
ARB_DECL int  arb_link(arb_ctx *ctx, arb_pid target);
ARB_DECL int  arb_unlink(arb_ctx *ctx, arb_pid target);
ARB_DECL void arb_trap_exit(arb_ctx *ctx, bool on);

// arb_decode_exit decodes the body of ARB_TAG_DOWN / ARB_TAG_EXIT.
ARB_DECL int arb_decode_exit(const arb_msg *msg, arb_pid *who, arb_exit *e);

// --- Shield (SPEC 14) ------------------------------------------------------

// arb_shield_begin/end bracket a critical section: a stop request that
// arrives inside it waits for arb_shield_end (the supervisor's shutdown
// timeout still bounds the wait).  Sections nest.  Thread: loop.
ARB_DECL void arb_shield_begin(arb_ctx *ctx);
ARB_DECL void arb_shield_end(arb_ctx *ctx);

// --- Children at run time (SPEC 1, 13) -----------------------------------

// arb_start_child adds a child to the simple_one_for_one supervisor at
// sup_path.  Returns ARB_ESHUTDOWN when that supervisor is stopping.
// Blocks the caller's loop for the round trip to the node (bounded).
// Thread: loop.
ARB_DECL int arb_start_child(arb_ctx *ctx, const char *sup_path,
    const void *arg, size_t arg_len, arb_pid *pidp);

// arb_stats_get copies this actor's counters.  Thread: loop.
ARB_DECL void arb_stats_get(arb_ctx *ctx, arb_stats *st);

#ifdef __cplusplus
}
#endif

#endif // ARBOR_ACTOR_H
