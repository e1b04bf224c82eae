// SPDX-License-Identifier: MIT
// actor_int.h -- private header of src/actor/: the actor context and the
// host interface that connects an actor to its node.
//
// An actor never calls the node directly: it calls its host.  The thread
// host (thread.c) hands work to the node loop through a locked queue; the
// process host (process.c) writes to the control channel.  So thread and
// process actors run the same code (actor.c) and obey the same spec.

#ifndef ARB_ACTOR_INT_H
#define ARB_ACTOR_INT_H

#include "../core/arb_impl.h"
#include "../transport/transport.h"

#include <sys/types.h>

struct event;
struct event_base;

// Node services an actor asks for synchronously (bounded).
typedef enum arb__req_op {
	ARB__REQ_REGISTER = 1,
	ARB__REQ_WHEREIS,
	ARB__REQ_MONITOR,
	ARB__REQ_DEMONITOR,
	ARB__REQ_LINK,
	ARB__REQ_UNLINK,
	ARB__REQ_TRAP_EXIT,
	ARB__REQ_START_CHILD,
	ARB__REQ_SUBSCRIBE,
	ARB__REQ_UNSUBSCRIBE,
	ARB__REQ_SUBSCRIBERS, // out: list, nlist, ref (the table's generation)
} arb__req_op;

// The largest argument of a run-time start (arb_start_child).
#define ARB__REQ_ARG_MAX ARB__ARG_MAX

typedef struct arb__req {
	arb__req_op op;
	arb_pid     self;
	arb_pid     target;
	uint64_t    ref;  // demonitor: in; monitor: out
	bool        flag; // trap_exit
	char        name[256];
	const void *arg; // start_child
	size_t      arg_len;
	arb_pid     pid; // out: whereis, start_child
	int         rv;  // out
	// out (subscribers): nlist pid ids, 8 bytes each, big-endian.  The
	// node's answer allocates it (arb__alloc) and the asker frees it; a
	// decoded REP borrows it from the datagram.
	uint8_t    *list;
	size_t      nlist;
} arb__req;

typedef struct arb__host_ops {
	arb_isolation isolation; // ARB_THREAD or ARB_PROCESS
	void (*ready)(arb_ctx *ctx);
	void (*ignore)(arb_ctx *ctx);
	void (*init_failed)(arb_ctx *ctx, int code, const char *text);
	// exited is the actor's last word: the host owns ctx afterwards.
	void (*exited)(arb_ctx *ctx, const arb_exit *why);
	int (*request)(arb_ctx *ctx, arb__req *req);
	void (*heartbeat)(arb_ctx *ctx); // may be NULL
} arb__host_ops;

// Call refs (actor.c ctx_new_ref) run from a random start up to
// ARB__CALL_REF_MAX, then from 1 again: never 0, never the top bit (a
// gather's monitor's key in the pending table, DOWN_KEY).
#define ARB__CALL_REF_MAX ((1ull << 63) - 1)

struct arb_ctx {
	const arb_actor_ops  *ops;
	void                 *state;
	const arb__host_ops  *host;
	void                 *host_arg;
	arb_pid               self;
	char                  path[256];
	struct event_base    *base;
	arb__mbox            *mbox;
	arb__mbox_att        *mbox_att;
	arb__outq            *outq;
	arb__addr             addr;
	bool                  own_loop; // base and outq are freed with ctx
	size_t                max_msg;
	struct event         *cmd_ev; // thread host: node -> actor commands
	struct event         *hb_ev;  // heartbeat timer (watchdog)
	int                   hb_ms;
	// Exit state (loop thread only).
	bool                  exiting;
	arb_exit              why;
	bool                  ready_sent;
	bool                  init_done;
	bool                  stop_requested;
	bool                  stop_deferred;
	int                   shield;
	bool                  trap_exit;
	// Calls and gathers in flight: ref -> pending (actor.c).
	arb__idmap            pending;
	struct gather        *gathers; // in flight (actor.c), freed with ctx
	uint64_t              next_ref; // the last call ref (ctx_new_ref)
	// Replies refused for coming from elsewhere (actor.c): the last log
	// line's time and how many were not logged since.
	int64_t               refused_log_ms;
	uint64_t              refused_suppressed;
	arb_stats            *st;   // its counters: &stats, or (a process
	arb_stats             stats; // actor) its slot record's (node sees)
	uint64_t              lost0; // the outbound queue's counters when
	uint64_t              dead0; // this incarnation began
	// The text of a failed init when arb_cfg_report set it.
	char                  init_text[ARB_EXIT_TEXT_MAX];
	// Metrics the actor declared (metric.c); NULL until the first.
	struct arb__metrics  *metrics;
	// Subscribers of the topics it published to (topic.c).
	struct arb__topics   *topics;
};

// Every actor's loop beats at least once a second (SPEC 16, /healthz); a
// watchdog makes it beat four times per watchdog period.
#define ARB__HB_MS 1000
static inline int
arb__hb_ms(int watchdog_ms)
{
	int w = watchdog_ms > 0 ? watchdog_ms / 4 : ARB__HB_MS;

	return w < 1 ? 1 : (w > ARB__HB_MS ? ARB__HB_MS : w);
}

// arb__loop_new creates an event_base with 3 priorities (1 default, 2 for
// end-of-turn work) after evthread_use_pthreads().  Only loop.c creates
// bases.  Returns NULL on failure.
struct event_base *arb__loop_new(void);
void               arb__loop_free(struct event_base *base); // NULL no-op

// arb__ctx_open prepares a context (loop, mailbox, outbound queue) on the
// calling thread, which becomes the actor's loop thread.  The mailbox is
// the child slot's (arb__mbox_open): a thread actor's next incarnation
// finds what was queued meanwhile.  base and
// outq, when not NULL, are a loop and an outbound queue the host keeps
// from one incarnation to the next (thread actors reuse their thread):
// the context uses them and arb__ctx_free leaves them to the host.
// With base NULL the context makes its own and frees them.
int arb__ctx_open(arb_ctx **ctxp, const arb_actor_ops *ops,
    const arb__host_ops *host, void *host_arg, arb_pid self,
    const char *path, const arb__addr *addr, size_t max_msg, int hb_ms,
    struct event_base *base, arb__outq *outq);
// arb__ctx_take_mailbox detaches the mailbox from the loop and leaves it
// to the slot (for the next incarnation).  Thread: loop.
void arb__ctx_take_mailbox(arb_ctx *ctx);

// arb__ctx_run runs init, reports READY/ignore/failure to the host, runs
// the loop until the actor exits, runs terminate, flushes, closes the
// mailbox and finally calls host->exited (unless init failed or ignored).
// Thread: loop.
void arb__ctx_run(arb_ctx *ctx, const void *arg, size_t arg_len);

// arb__ctx_free releases what arb__ctx_open made.  NULL is a no-op.
void arb__ctx_free(arb_ctx *ctx);
// arb__ctx_release_mailbox empties the mailbox (counting what was still
// queued as dead letters) and lets it go: the process ends.
void arb__ctx_release_mailbox(arb_ctx *ctx);

// Commands from the node, run on the loop thread.
void arb__ctx_on_stop(arb_ctx *ctx);
void arb__ctx_on_exit_signal(arb_ctx *ctx, const arb_exit *why);

// Metrics (metric.c).  arb__metrics_dirty is true when a value or a
// declaration changed since the last arb__metrics_encode, which writes
// every series as one msgpack value (docs/design.md, "Metrics") and
// clears the flag.  arb__metrics_free releases them (NULL is a no-op).
// Thread: loop.
bool arb__metrics_dirty(const struct arb__metrics *ms);
int  arb__metrics_encode(struct arb__metrics *ms, arb__buf *out);
void arb__metrics_free(struct arb__metrics *ms);

// An actor's metrics decoded on the node for a walk (arb_child_info):
// the encoding is untrusted (a process actor sent it), so every series is
// checked as arb_metric_* checks a declaration, and one that fails is
// left out.  Thread: node.
typedef struct arb__mview {
	arb__buf        copy; // a thread actor's snapshot, copied under lock
	arb__val       *tree; // the decoded encoding; infos point into it
	arb_metric_info info[ARB_METRIC_MAX];
	double          bounds[ARB_METRIC_MAX][ARB_METRIC_BUCKETS_MAX];
	uint64_t        buckets[ARB_METRIC_MAX][ARB_METRIC_BUCKETS_MAX + 1];
} arb__mview;

// arb__mview_copy keeps a copy of an encoding (a failure leaves none).
void arb__mview_copy(arb__mview *v, const void *blob, size_t len);
// arb__mview_decode decodes blob (NULL: the copy) into v, replacing what
// it held, and returns the number of valid series in v->info.
size_t arb__mview_decode(arb__mview *v, const void *blob, size_t len);
// arb__mview_free releases v (NULL is a harmless no-op).
void arb__mview_free(arb__mview *v);

// arb__topics_free releases an actor's cache of topic subscribers
// (topic.c).  NULL is a harmless no-op.
void arb__topics_free(struct arb__topics *t);

// Actor types (types.c).  arb__actor_type_find also loads the type's
// module from the actor path (module.c) when it is not registered yet;
// arb__actor_type_registered only looks in the registry.
const arb_actor_ops *arb__actor_type_find(const char *type);
const arb_actor_ops *arb__actor_type_registered(const char *type);

// arb__modules_load_env loads every module of $ARBOR_PLUGINS (absolute
// paths separated by ':', set by a node that loaded modules by path for
// its process actors); a failure is logged (module.c).
#define ARB__PLUGINS_ENV "ARBOR_PLUGINS"
void arb__modules_load_env(void);

// Process actor entry (process.c) is arb_actor_main, run as
// "EXE --arb-actor TYPE NODEPID".
#define ARB__ACTOR_ARGV_FLAG "--arb-actor"
// The type argument of a standby process: it waits for its INIT, which
// names the real type (spawn.c).  ARB__STANDBY_ROOM empty arguments
// follow its NODEPID: the room its argv takes to read "--arb-actor TYPE
// NODEPID" once the INIT came, as a process spawned for its type does
// (process.c; a type is at most 63 bytes, ctl.h).
#define ARB__STANDBY_TYPE "-"
#define ARB__STANDBY_ROOM 64

// The guard of a process actor (guard.c).  arb__guard_start starts the
// thread that waits for the node's end (a pidfd of node); -1 when it
// cannot (no pidfd: the caller falls back to PDEATHSIG).  arb__guard_fire
// kills every descendant of the actor, then the actor: called by the guard
// when the node is gone, and by the actor when its control channel says so
// first.
int            arb__guard_start(pid_t node);
_Noreturn void arb__guard_fire(void);

#endif // ARB_ACTOR_INT_H
