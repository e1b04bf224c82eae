// SPDX-License-Identifier: MIT
// node_int.h -- private header shared by src/node, src/supervisor and the
// node-side halves of src/actor (thread.c) and process spawning.
//
// Everything declared here runs on the node thread (the thread inside
// arb_node_run) unless it says "Thread: any.".  The whole supervision tree
// lives on that one loop: supervisors are state machines, not threads.

#ifndef ARB_NODE_INT_H
#define ARB_NODE_INT_H

#include "../actor/actor_int.h"
#include "../actor/ctl.h"
#include "../registry/registry.h"
#include "../supervisor/driver.h"
#include "../supervisor/sup_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

struct event;
struct event_base;

typedef struct arb__sup    arb__sup;
typedef struct arb__child  arb__child;
typedef struct arb__thr    arb__thr;
typedef struct arb__exec   arb__exec;
typedef struct arb__output arb__output;

// arb__started_fn delivers the outcome of a run-time child start once the
// child reported READY (ARB_OK), ignore (ARB_EIGNORE), failed (ARB_ECHILD)
// or was stopped first (ARB_ESHUTDOWN).  Called exactly once.
typedef void (*arb__started_fn)(void *arg, int rv, arb_pid pid);

// One child slot of a supervisor (or the root's slot in the node).
struct arb__child {
	arb__sup      *sup;   // parent (NULL for the root slot)
	arb_node      *node;
	arb_child_spec spec;  // own deep copy
	const arb__driver *drv; // how this kind of child is run
	char           path[256];
	arb__cstate    state;
	uint32_t       mbid;  // stable mailbox id
	arb_pid        pid;   // current incarnation
	bool           dynamic; // simple_one_for_one child (removed on exit)
	// Process and exec children.  ospid is the process the node forked
	// and reaps: an exec child's shim (its program is exec->pid).
	pid_t          ospid;
	int            pidfd;
	struct event  *pidfd_ev;
	int            ctl_fd;
	struct event  *ctl_ev;
	bool           reported;  // process actor reported its exit reason
	arb_exit       report;
	bool           stop_sent; // stop requested (exec: exit => shutdown)
	bool           killed;    // we sent SIGKILL (brutal / deadline)
	bool           hung;      // killed by the watchdog
	bool           brutal;    // stopped by a brutal stop (its stop
	                          // deadline is the grace, not its shutdown)
	arb__exec     *exec;      // exec children: program, shim, output
	// Thread children.
	arb__thr      *thr;
	// Nested supervisor.
	arb__sup      *child_sup;
	// Timers.
	struct event  *start_timer;
	struct event  *stop_timer;
	struct event  *backoff_timer;
	struct event  *watchdog_timer;
	int64_t        started_at_ms;
	int64_t        next_attempt_ms;
	unsigned       backoff_attempt;
	unsigned       restarts;
	arb_exit       last_exit;
	bool           has_last_exit;
	bool           restart_pending; // start failure: retry counted
	arb__started_fn started_fn;     // run-time start waiting for READY
	void          *started_arg;
	int64_t        last_hb_ms;   // process actors: last heartbeat
	arb_stats      stats;        // process actors: last heartbeat's stats
	arb__buf       metrics;      // process actors: their metrics as sent
	uint64_t       ctl_rejected; // malformed control messages (this run)
	uint64_t       exits[8];     // exits by arb_exit_kind
	bool           held;         // stopped by an operator: not restarted
	bool           removing;     // reload removes it: no restart decision
};

// The grace a thread actor gets to end when a stop turns brutal (a second
// SIGTERM/SIGINT): a thread cannot be killed, so it is asked, and
// abandoned only if it has not ended by then (SPEC 11).
#define ARB__BRUTAL_GRACE_MS 1000

// An exec child's running incarnation (spawn.c, drv_exec.c): its program
// runs under its own arbor-shim (src/shim/shim.c), which the node forked
// (c->ospid) and which reports on a SOCK_SEQPACKET channel.
struct arb__exec {
	pid_t         pid;     // the program (0 before exec, and once ended)
	int           pidfd;   // its pidfd (-1: signalled by pid)
	int           shim_fd; // the node's end of the shim's channel
	struct event *shim_ev;
	arb__output  *out;     // its stdout and stderr (output.c)
	int           out_fd;  // the read ends, until output.c takes them
	int           err_fd;
};

// --- output.c: exec children's output as log lines -----------------------
#define ARB__OUT_RATE  100     // lines a second logged per child, sustained
#define ARB__OUT_BURST 1000    // lines logged in a burst
#define ARB__OUT_PIECE 256     // longer lines are cut into pieces this long
#define ARB__OUT_PIPE  (1 << 20) // pipe size asked for (F_SETPIPE_SZ)

// arb__outrate: the token bucket of one child's lines (pure).
typedef struct arb__outrate {
	int64_t tokens_milli; // thousandths of a line
	int64_t last_ms;
} arb__outrate;
void arb__outrate_init(arb__outrate *r, int64_t now_ms);
// arb__outrate_take takes one line's token at now_ms: false when the rate
// is exceeded (the line is dropped).  This function can't fail.
bool arb__outrate_take(arb__outrate *r, int64_t now_ms);

// arb__outline assembles lines from a stream's bytes (pure).
typedef struct arb__outline {
	char   buf[ARB__OUT_PIECE];
	size_t len;
} arb__outline;
typedef void (*arb__outline_fn)(void *arg, const char *text, size_t n);
// arb__outline_feed calls fn once per complete line in l's pending bytes
// plus p[0..n) (without its "\n" or "\r\n"), and once per
// ARB__OUT_PIECE bytes of a longer line; the rest waits in l.
void arb__outline_feed(arb__outline *l, const char *p, size_t n,
    arb__outline_fn fn, void *arg);
// arb__outline_flush emits what waits in l (a last line without "\n").
void arb__outline_flush(arb__outline *l, arb__outline_fn fn, void *arg);
// arb__out_escape copies in[0..n) to out (NUL-terminated, at most len
// bytes) with bytes below 0x20 (but tab) and 0x7f as \xNN; returns how
// many input bytes fit.
size_t arb__out_escape(const char *in, size_t n, char *out, size_t len);

// arb__output_open logs c's output from the read ends outfd and errfd
// (taken: closed on failure too).  ARB_ENOMEM.
int  arb__output_open(arb__output **op, arb__child *c, int outfd, int errfd);
// arb__output_close reads what is left in the pipes, logs it and the
// drops not yet logged, and frees o.  NULL is a harmless no-op.
void arb__output_close(arb__output *o);

// A service of the node (the operator layer, src/ops/): hooks of its own
// beside the program's (arb_node_set_hooks), and a close callback that
// arb_node_close runs first, while the loop and the tree still exist.
#define ARB__SERVICES_MAX 4
typedef struct arb__service {
	arb_node_hooks hooks;
	void          *arg;
	void (*close)(arb_node *node, void *arg);
} arb__service;

// arb__node_mview returns the node's scratch for decoding an actor's
// metrics during a walk (made on first use; NULL when out of memory: the
// walk then shows no metrics).  Thread: node.
arb__mview *arb__node_mview(arb_node *node);

// arb__node_service_add registers svc (copied).  ARB_ENOSPC when
// ARB__SERVICES_MAX are registered.  Thread: node (before arb_node_run).
int arb__node_service_add(arb_node *node, const arb__service *svc);

// The node.
struct arb_node {
	struct event_base *base;
	arb__addr          addr;
	size_t             max_msg;
	char               name[64];
	char               self_exe[PATH_MAX];
	bool               own_run_dir;
	bool               signals;
	struct event      *sig_ev[4];
	struct event      *inbox_ev;
	struct event      *stop_ev;
	pthread_mutex_t    mtx;
	pthread_cond_t     cv;
	struct arb__item  *inbox_head;
	struct arb__item  *inbox_tail;
	atomic_int         stop_requests;
	int                stops_handled;
	arb__sup          *root;
	arb__child        *root_slot;
	bool               running;
	bool               stopping;
	bool               brutal;
	bool               done;
	bool               gave_up;
	int                abandoned;
	int                exit_code;
	uint32_t           next_mbid;
	uint32_t           next_inc;
	arb__idmap         by_ospid; // ospid -> child
	arb__idmap         slots;    // mbid + 1 -> child (every child slot)
	arb__reg          *reg;      // names, monitors, links (running actors)
	arb__outq         *outq;
	uint64_t           dead_letters; // queued in removed slots' mailboxes
	arb_stats          ended;        // counters of incarnations that ended
	arb__tp_totals     ended_tp;     // and their processes' links'
	unsigned           orphans_reaped;
	uint64_t           give_ups;
	int64_t            started_ms;
	bool               tree_ready;
	bool               stop_begun; // the tree began to stop (any cause)
	arb_node_hooks     hooks;
	void              *hook_arg;
	arb__service       services[ARB__SERVICES_MAX]; // the operator layer
	int                nservices;
	arb__mview        *mview; // scratch of arb_node_walk (lazily made)
	char               shim_path[PATH_MAX]; // arbor-shim ("" not found)
	char               cg_dir[PATH_MAX];    // cgroup.c ("" no cgroups)
	pid_t             *foreign;  // the process's children before the node
	size_t             nforeign; // (never swept: arb__proc_sweep)
	int                run_lock;  // flock'd node.lock in the run dir
	struct event      *tick_ev;
	int                threads; // thread actors not yet joined
	arb__thr          *spare_thr; // while an EXIT is handled: its thread
	arb__thr          *ready_thr; // made ahead for the next thread start
	pid_t              standby_pid;   // > 0: a standby process (spawn.c)
	int                standby_pidfd;
	int                standby_ctl;
	uint64_t           standby_env; // env_hash() when it was spawned
};

// Inbox items: thread actors -> node loop.
typedef enum arb__item_kind {
	ARB__IT_READY = 1,
	ARB__IT_IGNORE,
	ARB__IT_FAIL,
	ARB__IT_EXIT, // the actor ended and released its mailbox address
	ARB__IT_REQ,
	ARB__IT_DONE, // the thread finished tearing down: join it
} arb__item_kind;

typedef struct arb__item {
	arb__item_kind    kind;
	arb__thr         *thr;
	arb_exit          why;
	arb__req         *req;
	bool              done; // REQ answered (under node->mtx)
	struct arb__item *next;
} arb__item;

// A thread actor: shared by the node thread and the actor thread.
struct arb__thr {
	arb_node       *node;
	arb__child     *child; // NULL once abandoned
	arb_ctx        *ctx;   // set by the actor thread
	pthread_t       tid;
	pthread_mutex_t mtx;   // guards cmd_* and cmd_ev
	struct event   *cmd_ev;
	bool            cmd_stop;
	bool            cmd_exit;
	arb_exit        cmd_why;
	const arb_actor_ops *ops;
	arb_pid         pid;
	char            path[256];
	void           *arg;
	size_t          arg_len;
	bool            exited;
	bool            abandoned; // the node gave up on it (node thread)
	arb_stats       snap;    // last heartbeat's stats (under mtx)
	arb__buf        msnap;   // the actor's metrics (metric.c encoding),
	                         // as of the last heartbeat (under mtx)
	int64_t         last_hb; // ms, under mtx
	// One thread runs successive incarnations (thread.c): after its
	// EXIT report it parks until the node orders the next run or its end.
	pthread_cond_t  cv;        // with mtx: the parked thread waits
	_Atomic int     order;     // under mtx; read spinning by the thread
	bool            tid_set;   // the pthread exists (node thread)
	bool            prepared;  // made ahead: set up, then park first
	struct event_base *base;   // kept from one incarnation to the next
	arb__outq      *outq;      // (actor thread only)
};

// --- node.c --------------------------------------------------------------
uint32_t arb__node_new_mbid(arb_node *node);
arb_pid  arb__node_new_pid(arb_node *node, unsigned kind, uint32_t mbid);
// arb__node_post queues item for the node loop (Thread: any).  For
// ARB__IT_REQ it waits (bounded) until the node answered.
int  arb__node_post(arb_node *node, arb__item *item);
// arb__node_service answers req.  It returns true when the answer is
// deferred (ARB__REQ_START_CHILD waits for READY): then fn(fnarg, rv, pid)
// delivers it later, exactly once.
bool arb__node_service(
    arb_node *node, arb__req *req, arb__started_fn fn, void *fnarg);
// arb__node_reply_ctl sends a deferred answer to the process actor
// requester (found by OS pid: it may still be starting), if it is still
// the same incarnation.
void arb__node_reply_ctl(
    arb_node *node, pid_t ospid, arb_pid requester, arb__req *req);
// arb__node_actor_up/down keep the registry, monitors and links in step
// with the actors' lives.  down sends DOWN / EXIT messages and exit
// signals to linked actors.
void arb__node_actor_up(arb_node *node, arb__child *c);
void arb__node_actor_down(arb_node *node, arb__child *c, const arb_exit *why);
// arb__node_root_exited is called when the root supervisor has stopped.
void arb__node_root_exited(arb_node *node, const arb_exit *why);
void arb__node_reap(arb_node *node);

// arb__node_count_ended adds the counters of an incarnation that ended
// (a child's slot keeps them until its next start or its removal) to the
// node's totals (arb_node_stats_get).
void arb__node_count_ended(arb_node *node, const arb_stats *st);

// arb__node_changed runs the `changed` hook (a child changed state).
void arb__node_changed(arb_node *node);
// arb__node_tree_ready is called when the root reported READY.
void arb__node_tree_ready(arb_node *node);
// arb__node_stop_began is called when the tree begins to stop, whatever
// the cause (a requested stop, the root giving up, its auto_shutdown or a
// failed start): from then on the node is not ready, control operations
// answer ARB_ESHUTDOWN, and the `stopping` hook runs (once per node).
void arb__node_stop_began(arb_node *node);

// --- supervisor.c ---------------------------------------------------------
int  arb__sup_open(arb__sup **supp, arb_node *node, arb__child *slot,
     const arb_sup_spec *spec, const char *path);
void arb__sup_free(arb__sup *sup);
void arb__sup_start(arb__sup *sup);        // async: slot gets READY/FAIL
void arb__sup_stop(arb__sup *sup);         // async: slot gets EXIT
// arb__sup_brutal makes sup's stop brutal (starting it if need be), its
// nested supervisors' too: every process is SIGKILLed at once, every
// thread actor asked to stop at once and abandoned if it has not ended
// after ARB__BRUTAL_GRACE_MS (or its shutdown, if shorter); nothing waits
// for the stop order any more.  Idempotent.
void arb__sup_brutal(arb__sup *sup);
// arb__child_stop_ms is the stop deadline c got when its stop was asked
// for: its shutdown, or the grace of a brutal stop (ms; <= 0: none).
int  arb__child_stop_ms(const arb__child *c);
bool arb__sup_stopping(const arb__sup *sup);
arb__sup *arb__sup_find(arb__sup *root, const char *path);
// arb__sup_start_dynamic adds and starts a simple_one_for_one child.  With
// fn NULL it returns once spawned; otherwise fn gets the outcome (READY or
// failure) unless an error is returned at once.
int  arb__sup_start_dynamic(arb__sup *sup, const void *arg, size_t len,
     arb_pid *pidp, arb__started_fn fn, void *fnarg);
// arb__sup_walk reports sup and its subtree to cb (arb_node_walk).
void arb__sup_walk(arb__sup *sup, arb__child *slot, int depth,
    arb_walk_cb cb, void *arg);
// arb__sup_lookup finds the child record at path ("root/a/b").
arb__child *arb__sup_lookup(arb__sup *root, const char *path);
// arb__sup_child_op: 0 stop, 1 start, 2 restart (arb_node_child_*).
int arb__sup_child_op(arb__child *c, int op);
// arb__sup_reload applies a validated spec to a running supervisor.
int arb__sup_reload(arb__sup *sup, const arb_sup_spec *spec);
// arb__sup_drivers_idle: no start follows now (a job ended, the node
// stops): every driver lets go of what it prepared ahead.
void arb__sup_drivers_idle(arb_node *node);
// arb__sup_busy is true when sup or a nested supervisor runs a job.
bool arb__sup_busy(const arb__sup *sup);

// arb__child_event feeds an event of child c (from a thread, a process, a
// nested supervisor or a timer) into its supervisor.
void arb__child_event(arb__child *c, arb__cevent ev, const arb_exit *why);

// --- child drivers: thread.c / spawn.c ------------------------------------
int  arb__thread_start(arb_node *node, arb__child *c);
void arb__thread_stop(arb__thr *t);
void arb__thread_exit_signal(arb__thr *t, const arb_exit *why);
void arb__thread_inbox(arb_node *node, arb__item *item);
// arb__thread_prepare readies, while a start is under way, what the next
// thread start will need: a parked thread with its loop set up.
// arb__thread_unprepare lets that thread go when no start follows.
void arb__thread_prepare(arb_node *node, arb__child *next);
void arb__thread_unprepare(arb_node *node);
// arb__thread_abandon detaches t from its child for good: a thread cannot
// be killed, so it runs on, its reports are dropped, and the node counts
// it back when it ends (ARB__IT_EXIT).
void arb__thread_abandon(arb__thr *t);
// arb__thread_snapshot reads what t's last heartbeat left (under t's
// lock): stats, time (ms, 0 none) and, into v (may be NULL), metrics.
void arb__thread_snapshot(
    arb__thr *t, arb_stats *st, int64_t *hb, arb__mview *v);

// arb__child_ospid is the OS pid shown for c (logs, status): its process,
// or an exec child's program (not its shim); 0 when none runs.
static inline pid_t
arb__child_ospid(const arb__child *c)
{
	return c->exec != NULL && c->exec->pid > 0 ? c->exec->pid : c->ospid;
}

// --- spawn.c: the OS processes of process and exec children ------------
// arb__proc_spawn_actor starts c's process actor: the standby when it can
// (not for spec.exe), else posix_spawn; sets c->ospid (and c->pidfd from
// the standby) and *ctlp, the node's end of its control channel.
int  arb__proc_spawn_actor(arb_node *node, arb__child *c, int *ctlp);
// arb__proc_spawn_exec forks and execs c's program; sets c->ospid.  An
// exec failure is that errno (the child is already reaped).
int  arb__proc_spawn_exec(arb__child *c);
// arb__proc_watch has the reap loop watch c's process (pidfd, by_ospid).
void arb__proc_watch(arb_node *node, arb__child *c);
// arb__proc_signal sends sig to c's process (if any).
void arb__proc_signal(arb__child *c, int sig);
// arb__proc_kill SIGKILLs c's process and its group (c->killed).
void arb__proc_kill(arb__child *c);
// arb__proc_ended turns c's wait status into its exit reason and reports
// the EXIT (whatever watched the process is released first).
void arb__proc_ended(arb__child *c, int status);
// arb__proc_close kills and reaps what is left of c's process, reporting
// nothing (idempotent).
void arb__proc_close(arb__child *c);
// arb__proc_exec_signal sends sig to c's program (SIGKILL: c->killed);
// its shim kills the rest of the subtree once the program has ended.
void arb__proc_exec_signal(arb__child *c, int sig);
// arb__proc_exec_close ends what is left of c's exec incarnation, without
// reporting: its program is SIGKILLed, its shim told (EOF) and reaped
// (it kills the rest), its output read and closed.  Idempotent.
void arb__proc_exec_close(arb__child *c);
// arb__proc_exec_reports logs what c's shim said ("K PID COMM": a
// leftover descendant it killed).
void arb__proc_exec_reports(arb__child *c);
// arb__proc_shim_find sets node->shim_path: $ARBOR_SHIM, else
// arbor/arbor-shim beside the library, else the compiled-in path.
void arb__proc_shim_find(arb_node *node);
// arb__proc_foreign_note records the process's children when the node
// opens (arb__proc_sweep leaves them and their descendants alone).
void arb__proc_foreign_note(arb_node *node);
// arb__proc_sweep kills and reaps every descendant of the node still
// alive once the tree has stopped (the process's own children from before
// the node excepted), logging each (event=killed_leftover).  Returns how
// many are still alive after its deadline (event=leftover_alive).
int  arb__proc_sweep(arb_node *node);

// --- rundir.c: run directories of live and dead nodes ---------------------
// arb__rundir_clean_stale removes the run directories that nodes now gone
// made in base (their lock free and their pid dead), logging each.
void arb__rundir_clean_stale(const char *base);
// arb__rundir_lock locks node's run directory for the node's life (in
// node->run_lock; a given one is first cleared of a dead node's socket
// files).  ARB_EEXIST when a live node holds it.
int  arb__rundir_lock(arb_node *node);

// --- cgroup.c: cgroup v2 for exec children ----------------------------------
// arb__cg_open makes the node's cgroup directory (node->cg_dir) when it
// can, after removing those of nodes that are gone; logs the mode.
void arb__cg_open(arb_node *node);
// arb__cg_child makes (if need be) exec child mbid's cgroup and writes
// its path to buf.  ARB_ENOENT when the node has no cgroups.
int  arb__cg_child(arb_node *node, uint32_t mbid, char *buf, size_t len);
// arb__cg_child_kill kills whatever is in child mbid's cgroup.
void arb__cg_child_kill(arb_node *node, uint32_t mbid);
// arb__cg_child_release removes child mbid's cgroup (if empty).
void arb__cg_child_release(arb_node *node, uint32_t mbid);
// arb__cg_close kills what is left in the node's cgroups and removes them.
void arb__cg_close(arb_node *node);

// arb__proc_standby_spawn spawns the standby if there is none;
// arb__proc_standby_end ends it, if any (reaped: the reap loop already
// collected it).
void arb__proc_standby_spawn(arb_node *node);
void arb__proc_standby_end(arb_node *node, bool reaped);

#endif // ARB_NODE_INT_H
